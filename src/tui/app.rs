//! The whole TUI state and how keys and engine events change it. Pure:
//! every side effect (starting a run, sending a command, reading a file)
//! is returned as an [`Action`] for the event loop to carry out.

pub use super::action::Action;
use super::curves::{ema, CurvesPane};
use super::dataset::{DatasetPane, RowPrediction};
use super::hparams::HyperPane;
use super::keymap::{command, Cmd, Scope};
use super::pane::Pane;
use super::playground::PlaygroundPane;
use super::runs_view::{RunsAction, RunsView};
use super::theme::Theme;
use crate::config::RunConfig;
use crate::protocol::{Command, Event, FinishReason, RunProgress};
use crossterm::event::KeyEvent;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The four panes, by place (focus, tabs, the grid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaneId {
    Dataset,
    Hyper,
    Curves,
    Playground,
}

impl PaneId {
    pub const ALL: [PaneId; 4] = [
        PaneId::Dataset,
        PaneId::Hyper,
        PaneId::Curves,
        PaneId::Playground,
    ];

    pub fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn title(self) -> &'static str {
        ["Dataset", "Hyperparameters", "Curves", "Playground"][self.index()]
    }
}

/// What the status bar says of the shown run.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    Idle,
    Starting,
    Running,
    Paused,
    Stopping,
    Finished(FinishReason),
    Failed,
    /// The run process is gone without finishing (read-only).
    Crashed,
}

/// The shown run: the engine's own fold of its events (`RunProgress`, as
/// the run process and `tunebench runs` keep it) plus what only the screen
/// shows.
#[derive(Clone, Debug, PartialEq)]
pub struct RunStatus {
    /// None: no run started or shown yet.
    pub progress: Option<RunProgress>,
    /// A stop was asked for and the run has not ended yet.
    pub stopping: bool,
    /// Why the run ended, when it did.
    pub finish: Option<FinishReason>,
    pub epoch: f64,
    pub val_acc: Option<f64>,
    /// The metric the run is judged by, and its value at the last
    /// evaluation (the status bar's headline).
    pub best_metric: String,
    pub headline: Option<f64>,
    pub samples_per_s: f64,
    pub eta_s: f64,
    pub device: String,
    /// Compute dtype of the run (f32, bf16, f16).
    pub precision: String,
    /// GPU memory in use (MiB), from the last step; None on CPU.
    pub device_mem_mib: Option<f64>,
    /// (trainable, total) parameters of the run.
    pub trainable: Option<(usize, usize)>,
    pub run_dir: Option<PathBuf>,
    last_eval_step: Option<usize>,
}

impl RunStatus {
    /// No run yet, on the config's device.
    pub fn idle(cfg: &RunConfig) -> Self {
        RunStatus {
            progress: None,
            stopping: false,
            finish: None,
            epoch: 0.0,
            val_acc: None,
            best_metric: String::new(),
            headline: None,
            samples_per_s: 0.0,
            eta_s: 0.0,
            device: cfg.device.clone(),
            precision: cfg.precision.name().into(),
            device_mem_mib: None,
            trainable: None,
            run_dir: None,
            last_eval_step: None,
        }
    }

    pub fn state(&self) -> RunState {
        use crate::protocol::RunStatus as S;
        let Some(p) = &self.progress else {
            return RunState::Idle;
        };
        match p.status {
            S::Preparing => RunState::Starting,
            S::Running | S::Paused if self.stopping => RunState::Stopping,
            S::Running => RunState::Running,
            S::Paused => RunState::Paused,
            S::Finished => RunState::Finished(self.finish.unwrap_or(FinishReason::Completed)),
            S::Stopped => RunState::Finished(FinishReason::Stopped),
            S::Failed => RunState::Failed,
            S::Crashed => RunState::Crashed,
        }
    }

    pub fn step(&self) -> usize {
        self.progress.as_ref().map_or(0, |p| p.step)
    }

    pub fn total(&self) -> usize {
        self.progress.as_ref().map_or(0, |p| p.total_steps)
    }

    /// A run is starting or being shown; its events will follow.
    fn begin(&mut self) {
        self.progress = Some(RunProgress::default());
        self.stopping = false;
        self.finish = None;
    }

    /// The run is gone without ending (its process died).
    fn crash(&mut self) {
        if let Some(p) = &mut self.progress {
            p.status = crate::protocol::RunStatus::Crashed;
        }
    }

    /// Fold one event: the engine's progress, then the screen's fields.
    fn observe(&mut self, event: &Event) {
        // A checkpoint's playground answers and logs without a run: they
        // must not make one look as if it were starting (q would then ask
        // to stop it).
        let no_run = matches!(event, Event::Log { .. } | Event::Prediction { .. });
        if self.progress.is_none() && no_run {
            return;
        }
        self.progress
            .get_or_insert_with(RunProgress::default)
            .observe(event);
        match event {
            Event::Started {
                run_dir,
                device,
                precision,
                params,
                trainable,
                best_metric,
                ..
            } => {
                self.best_metric = best_metric.clone();
                self.trainable = Some((if *trainable > 0 { *trainable } else { *params }, *params));
                self.device = device.clone();
                self.precision = precision.clone();
                self.run_dir = Some(run_dir.clone());
            }
            Event::Step {
                epoch,
                samples_per_s,
                eta_s,
                device_mem_mib,
                ..
            } => {
                self.device_mem_mib = *device_mem_mib;
                self.epoch = *epoch;
                self.samples_per_s = *samples_per_s;
                self.eta_s = *eta_s;
            }
            Event::Eval { step, accuracy, .. } => {
                self.val_acc = Some(*accuracy);
                self.headline = (!self.best_metric.is_empty())
                    .then(|| event.eval_metric(&self.best_metric))
                    .flatten();
                self.last_eval_step = Some(*step);
            }
            Event::Finished { reason, .. } => {
                self.finish = Some(*reason);
                self.stopping = false;
            }
            Event::Failed { .. } => self.stopping = false,
            _ => {}
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

pub struct App {
    pub focus: PaneId,
    pub dataset: Option<DatasetPane>,
    pub data_error: Option<String>,
    pub hparams: HyperPane,
    pub curves: CurvesPane,
    pub playground: PlaygroundPane,
    pub run: RunStatus,
    pub message: Option<Message>,
    pub help: bool,
    /// Lines the help overlay is scrolled by; the renderer clamps it to
    /// what overflows the screen (hence a Cell: drawing takes `&App`).
    pub help_scroll: std::cell::Cell<u16>,
    pub runs_view: RunsView,
    pub sweep_view: super::sweep_view::SweepView,
    pub confirm_quit: bool,
    quit_after_stop: bool,
    pub should_quit: bool,
    pub theme: Theme,
    /// Suspect labels from `--suspects FILE` (K-fold, every training row).
    pub file_suspects: Vec<crate::explain::label_issues::Suspect>,
    /// Suspect labels from the shown run's held-out predictions.
    pub run_suspects: Vec<crate::explain::label_issues::Suspect>,
}

impl App {
    pub fn new(cfg: RunConfig, dataset: Result<DatasetPane, String>, config_path: PathBuf) -> Self {
        let (dataset, data_error) = match dataset {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e)),
        };
        let value_range = dataset
            .as_ref()
            .and_then(|d| d.score_bins.as_ref())
            .map(|b| (b.min, b.max));
        let mut hparams = HyperPane::new(cfg.clone(), config_path);
        hparams.data_task = dataset.as_ref().map(|d| d.task);
        App {
            focus: PaneId::Dataset,
            message: data_error.clone().map(|text| Message { text, error: true }),
            dataset,
            data_error,
            run: RunStatus::idle(&cfg),
            hparams,
            curves: CurvesPane {
                smoothing: 0.6,
                ..Default::default()
            },
            playground: PlaygroundPane::with_value_range(value_range),
            help: false,
            help_scroll: std::cell::Cell::new(0),
            runs_view: RunsView::default(),
            sweep_view: Default::default(),
            confirm_quit: false,
            quit_after_stop: false,
            should_quit: false,
            theme: Theme::from_env(),
            file_suspects: Vec::new(),
            run_suspects: Vec::new(),
        }
    }

    /// Give the dataset pane the suspects: the file's, then the run's for
    /// lines the file does not name.
    pub fn refresh_suspects(&mut self) {
        let Some(d) = &mut self.dataset else { return };
        let mut all = self.file_suspects.clone();
        let named: std::collections::HashSet<u64> = all.iter().map(|s| s.line).collect();
        all.extend(
            self.run_suspects
                .iter()
                .filter(|s| !named.contains(&s.line))
                .cloned(),
        );
        d.set_suspects(all);
    }

    pub fn is_active(&self) -> bool {
        matches!(
            self.run.state(),
            RunState::Starting | RunState::Running | RunState::Paused | RunState::Stopping
        )
    }

    /// The pane in a place (None: the dataset could not be loaded).
    pub fn pane(&self, id: PaneId) -> Option<&dyn Pane> {
        match id {
            PaneId::Dataset => self.dataset.as_ref().map(|d| d as &dyn Pane),
            PaneId::Hyper => Some(&self.hparams),
            PaneId::Curves => Some(&self.curves),
            PaneId::Playground => Some(&self.playground),
        }
    }

    fn pane_mut(&mut self, id: PaneId) -> Option<&mut dyn Pane> {
        match id {
            PaneId::Dataset => self.dataset.as_mut().map(|d| d as &mut dyn Pane),
            PaneId::Hyper => Some(&mut self.hparams),
            PaneId::Curves => Some(&mut self.curves),
            PaneId::Playground => Some(&mut self.playground),
        }
    }

    /// The training-loss EMA the status bar shows.
    pub fn loss_ema(&self) -> Option<f64> {
        ema(&self.curves.train_loss, self.curves.smoothing)
            .last()
            .map(|p| p.1)
    }

    /// Whether the focused pane takes typed text.
    pub fn typing(&self) -> bool {
        self.pane(self.focus).is_some_and(|p| p.is_typing())
    }

    fn focus_on(&mut self, pane: PaneId) {
        // Typing starts with Enter (or i): until then `?`, `q`, Tab and
        // the pane keys are commands, not text.
        self.focus = pane;
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        // The hint line is one line: a multi-line error (a failed run's
        // cause and its last good checkpoint) reads as clauses.
        self.message = Some(Message {
            text: text.into().replace('\n', "; "),
            error: true,
        });
    }

    fn request_quit(&mut self) -> Vec<Action> {
        if self.is_active() {
            self.confirm_quit = true;
        } else {
            self.should_quit = true;
        }
        Vec::new()
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let global = command(Scope::Global, &key);
        if self.confirm_quit {
            self.confirm_quit = false;
            match command(Scope::ConfirmQuit, &key) {
                // Leave: the run process goes on; `tunebench attach` returns to it.
                Some(Cmd::Leave) => self.should_quit = true,
                Some(Cmd::StopAndQuit) => {
                    self.quit_after_stop = true;
                    self.run.stopping = true;
                    self.info("stopping the run and saving a checkpoint…");
                    return vec![Action::Engine(Command::Stop { save: true })];
                }
                _ => {}
            }
            return vec![];
        }
        if global == Some(Cmd::Interrupt) {
            return self.request_quit();
        }
        if self.help {
            // j/k (↓/↑) scroll a help taller than the screen; any other
            // key closes it.
            let scroll = self.help_scroll.get();
            match command(Scope::Help, &key) {
                Some(Cmd::Down) => self.help_scroll.set(scroll + 1),
                Some(Cmd::Up) => self.help_scroll.set(scroll.saturating_sub(1)),
                _ => {
                    self.help = false;
                    self.help_scroll.set(0);
                }
            }
            return vec![];
        }
        if self.runs_view.visible {
            return self.runs_key(key);
        }
        if self.sweep_view.visible {
            return match self.sweep_view.on_key(key) {
                Some(super::sweep_view::SweepAction::Open(dir)) => vec![Action::OpenRun(dir)],
                Some(super::sweep_view::SweepAction::Refresh) => self
                    .sweep_view
                    .dir
                    .clone()
                    .map(Action::OpenSweep)
                    .into_iter()
                    .collect(),
                None => vec![],
            };
        }
        let switch_pane = matches!(global, Some(Cmd::NextPane | Cmd::PrevPane));
        if self.typing() {
            if !switch_pane {
                return self.pane_key(key);
            }
            // Leave the input and move on.
            self.playground.editing = false;
        }
        self.message = None;
        let Some(cmd) = global else {
            return self.pane_key(key);
        };
        match cmd {
            Cmd::Focus => {
                if let crossterm::event::KeyCode::Char(c) = key.code {
                    let i = (c as usize).saturating_sub('1' as usize);
                    if let Some(&pane) = PaneId::ALL.get(i) {
                        self.focus_on(pane);
                    }
                }
                vec![]
            }
            Cmd::NextPane => {
                self.focus_on(PaneId::ALL[(self.focus.index() + 1) % 4]);
                vec![]
            }
            Cmd::PrevPane => {
                self.focus_on(PaneId::ALL[(self.focus.index() + 3) % 4]);
                vec![]
            }
            Cmd::Help => {
                self.help = true;
                vec![]
            }
            Cmd::Runs => {
                self.runs_view.open();
                vec![Action::ListRuns]
            }
            Cmd::Quit => self.request_quit(),
            Cmd::Start => self.start(),
            Cmd::Sweep => self.sweep(),
            Cmd::Pause => match self.run.state() {
                RunState::Running => vec![Action::Engine(Command::Pause)],
                RunState::Paused => vec![Action::Engine(Command::Resume)],
                _ => {
                    self.info("no active run to pause");
                    vec![]
                }
            },
            Cmd::Stop if matches!(self.run.state(), RunState::Running | RunState::Paused) => {
                self.run.stopping = true;
                self.info("stopping: writing a checkpoint…");
                vec![Action::Engine(Command::Stop { save: true })]
            }
            Cmd::Checkpoint if matches!(self.run.state(), RunState::Running | RunState::Paused) => {
                vec![Action::Engine(Command::SaveCheckpoint)]
            }
            _ => self.pane_key(key),
        }
    }

    fn runs_key(&mut self, key: KeyEvent) -> Vec<Action> {
        match self.runs_view.on_key(key) {
            Some(RunsAction::Open(dir)) => vec![Action::OpenRun(dir)],
            Some(RunsAction::Compare(dirs)) => {
                self.focus = PaneId::Curves;
                vec![Action::CompareRuns(dirs)]
            }
            Some(RunsAction::NewFrom(dir)) => {
                if self.is_active() {
                    self.error("a run is active here: leave or stop it before starting another");
                    vec![]
                } else {
                    vec![Action::ConfigFrom(dir)]
                }
            }
            Some(RunsAction::Refresh) => vec![Action::ListRuns],
            None => vec![],
        }
    }

    fn pane_key(&mut self, key: KeyEvent) -> Vec<Action> {
        match self.pane_mut(self.focus) {
            Some(pane) => pane.on_key(key),
            None => vec![],
        }
    }

    /// `S`: start a sweep from the form when it has a search space, else
    /// show the sweep last opened.
    fn sweep(&mut self) -> Vec<Action> {
        // The sweep shown last still runs: S shows it (never a second one).
        let unfinished = self
            .sweep_view
            .summary
            .as_ref()
            .is_some_and(|s| s.running() > 0 || s.trials.len() < s.budget);
        // So does the one this search started: a new search starts anew.
        let same = self.sweep_view.started_from.as_ref() == Some(&self.hparams.cfg.search);
        if let (true, Some(dir)) = (unfinished || same, self.sweep_view.dir.clone()) {
            return vec![Action::OpenSweep(dir)];
        }
        if !self.hparams.cfg.search.params.is_empty() {
            if !self.hparams.can_start() {
                let first = self.first_form_error();
                self.error(format!("fix the hyperparameters first: {first}"));
                return vec![];
            }
            if let Err(e) = self.hparams.cfg.validate() {
                self.error(e.to_string().replace('\n', " "));
                return vec![];
            }
            self.sweep_view.started_from = Some(self.hparams.cfg.search.clone());
            return vec![Action::StartSweep(Box::new(self.hparams.cfg.clone()))];
        }
        match self.sweep_view.dir.clone() {
            Some(dir) => vec![Action::OpenSweep(dir)],
            None => {
                self.error(
                    "no search space: + on a key in the form searches it (Enter on `search` \
                     edits the space), or load a config with [search] (L)",
                );
                vec![]
            }
        }
    }

    /// The form's first invalid field, as `key: why`.
    fn first_form_error(&self) -> String {
        self.hparams
            .errors()
            .iter()
            .next()
            .map(|(k, v)| format!("{k}: {v}"))
            .unwrap_or_default()
    }

    fn start(&mut self) -> Vec<Action> {
        if self.is_active() {
            self.info("a run is already active");
            return vec![];
        }
        if !self.hparams.can_start() {
            let first = self.first_form_error();
            self.error(format!(
                "cannot start: {} invalid field(s), e.g. {first}",
                self.hparams.errors().len()
            ));
            self.focus = PaneId::Hyper;
            return vec![];
        }
        self.run.begin();
        self.hparams.locked = true;
        self.info("preparing the run (loading data and model)…");
        vec![Action::StartRun(Box::new(self.hparams.cfg.clone()))]
    }

    /// The run could not be prepared (bad data, model, config).
    pub fn on_start_failed(&mut self, error: String) {
        self.run.progress = None;
        self.hparams.locked = false;
        self.error(format!("cannot start: {error}"));
    }

    pub fn on_engine(&mut self, event: &Event) -> Vec<Action> {
        self.curves.on_event(event);
        self.run.observe(event);
        let mut actions = Vec::new();
        match event {
            Event::Started { run_dir, .. } => {
                self.hparams.locked = true;
                self.info(format!("training: {}", run_dir.display()));
            }
            Event::Eval { .. } => {
                if let Some(dir) = &self.run.run_dir {
                    actions.push(Action::LoadPredictions(dir.join("predictions.csv")));
                }
                actions.extend(self.rescore());
            }
            Event::Checkpoint { step, path, best } => {
                self.info(format!(
                    "checkpoint {}{}",
                    path.display(),
                    if *best { " (best)" } else { "" }
                ));
                if self.run.last_eval_step != Some(*step) {
                    actions.extend(self.rescore());
                }
            }
            Event::Prediction {
                id,
                prediction,
                latency_ms,
                ..
            } => {
                self.playground.on_prediction(*id, prediction, *latency_ms);
            }
            Event::Finished { reason, step, .. } => {
                self.hparams.locked = false;
                self.info(format!("run finished ({reason:?}) at step {step}"));
                if self.quit_after_stop {
                    self.should_quit = true;
                }
            }
            Event::Failed { error, .. } => {
                self.hparams.locked = false;
                self.playground.clear_pending();
                self.error(format!("run failed: {error}"));
                if self.quit_after_stop {
                    self.should_quit = true;
                }
            }
            Event::Log { level, message } => {
                if level == "error" {
                    self.playground.clear_pending();
                    self.playground.status = Some(message.clone());
                    self.error(message.clone());
                } else {
                    self.info(message.clone());
                }
            }
            Event::Step { .. } | Event::Paused { .. } | Event::Resumed { .. } => {}
        }
        actions
    }

    fn rescore(&mut self) -> Vec<Action> {
        self.playground
            .rescore_all()
            .into_iter()
            .map(|(id, text, explain)| Action::Predict { id, text, explain })
            .collect()
    }

    pub fn set_predictions(&mut self, predictions: HashMap<u64, RowPrediction>) {
        if let Some(d) = &mut self.dataset {
            d.predictions = predictions;
            if d.misclassified_only {
                d.refresh();
            }
        }
    }

    /// A run with no process behind it has had its history replayed: show
    /// it read-only, as crashed when the history does not end the run.
    pub fn on_history_end(&mut self, run_dir: &Path, resume_command: Option<String>) {
        self.run.run_dir = Some(run_dir.to_path_buf());
        if self.is_active() {
            self.run.crash();
            self.hparams.locked = false;
            self.error(format!(
                "read-only: the run process of {} is gone (crashed){}",
                run_dir.display(),
                resume_command
                    .map(|c| format!("; continue it with: {c}"))
                    .unwrap_or_default()
            ));
        } else {
            self.info(format!("read-only: {} is over", run_dir.display()));
        }
    }

    /// Forget the shown run (its process goes on) before showing another.
    pub fn clear_run(&mut self, cfg: RunConfig) {
        self.run = RunStatus::idle(&cfg);
        self.curves = CurvesPane {
            smoothing: self.curves.smoothing,
            log_scale: self.curves.log_scale,
            plain_markers: self.curves.plain_markers,
            compare: std::mem::take(&mut self.curves.compare),
            ..Default::default()
        };
        self.playground.clear_pending();
        self.quit_after_stop = false;
        self.hparams.locked = false;
        self.hparams.cfg = cfg;
    }

    /// The connection to a live run closed before the run ended.
    pub fn on_run_process_lost(&mut self) {
        if self.is_active() {
            self.run.crash();
            self.hparams.locked = false;
            self.playground.clear_pending();
            self.error("the run process is gone without finishing; `tunebench runs` shows where it can resume");
        }
    }

    /// Nothing can answer a prediction request.
    pub fn on_no_predictor(&mut self, why: String) {
        self.playground.clear_pending();
        self.playground.status = Some(why);
    }

    /// Show another run (its process goes on, or its history is read):
    /// the form holds that run's config, read-only.
    pub fn show_run(&mut self, cfg: RunConfig) {
        self.clear_run(cfg);
        self.hparams.locked = true;
    }

    /// The shown run's process answered; its events follow.
    pub fn on_attached(&mut self) {
        self.run.begin();
    }

    /// The corrections file was written (`Ok(number of corrections)`); the
    /// next run applies it.
    pub fn on_corrections_saved(&mut self, path: &Path, written: Result<usize, String>) {
        match written {
            Ok(n) => {
                // The rows shown already carry the edits: no reload.
                self.hparams.cfg.corrections = Some(path.to_path_buf());
                self.info(format!(
                    "{n} corrections in {}; the next run applies them",
                    path.display()
                ));
            }
            Err(e) => self.error(format!("corrections not saved: {e}")),
        }
    }

    /// A run's config arrived for a new run: into the form, focused.
    pub fn on_run_config(&mut self, dir: &Path, cfg: RunConfig) {
        self.hparams.config_from_run(dir, cfg);
        self.focus = PaneId::Hyper;
    }
}
