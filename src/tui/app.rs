//! The whole TUI state and how keys and engine events change it. Pure:
//! every side effect (starting a run, sending a command, reading a file)
//! is returned as an [`Action`] for the event loop to carry out.

use super::curves::{ema, CurvesPane};
use super::dataset::{DatasetPane, RowPrediction};
use super::hparams::HyperPane;
use super::playground::PlaygroundPane;
use super::runs_view::{RunsAction, RunsView};
use super::theme::Theme;
use crate::config::RunConfig;
use crate::protocol::{Command, Event, FinishReason};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Dataset,
    Hyper,
    Curves,
    Playground,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Dataset, Pane::Hyper, Pane::Curves, Pane::Playground];

    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn title(self) -> &'static str {
        ["Dataset", "Hyperparameters", "Curves", "Playground"][self.index()]
    }
}

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

#[derive(Clone, Debug, PartialEq)]
pub struct RunStatus {
    pub state: RunState,
    pub step: usize,
    pub total: usize,
    pub epoch: f64,
    pub val_acc: Option<f64>,
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
            state: RunState::Idle,
            step: 0,
            total: 0,
            epoch: 0.0,
            val_acc: None,
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
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    StartRun(Box<RunConfig>),
    Engine(Command),
    Predict {
        id: u64,
        text: String,
        explain: Option<crate::protocol::ExplainRequest>,
    },
    /// Read predictions.csv of the run into the dataset pane.
    LoadPredictions(PathBuf),
    /// List the runs directory for the runs view.
    ListRuns,
    /// Leave the current run (it goes on) and show this one.
    OpenRun(PathBuf),
    /// Overlay these runs' curves (empty: clear the overlay).
    CompareRuns(Vec<PathBuf>),
    /// Load a run's config into the form.
    ConfigFrom(PathBuf),
    /// Write the dataset pane's label corrections to this file.
    SaveCorrections {
        path: PathBuf,
        corrections: crate::data::corrections::Corrections,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

pub struct App {
    pub focus: Pane,
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
        App {
            focus: Pane::Dataset,
            message: data_error.clone().map(|text| Message { text, error: true }),
            dataset,
            data_error,
            run: RunStatus::idle(&cfg),
            hparams: HyperPane::new(cfg, config_path),
            curves: CurvesPane {
                smoothing: 0.6,
                ..Default::default()
            },
            playground: PlaygroundPane::default(),
            help: false,
            help_scroll: std::cell::Cell::new(0),
            runs_view: RunsView::default(),
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
            self.run.state,
            RunState::Starting | RunState::Running | RunState::Paused | RunState::Stopping
        )
    }

    /// The training-loss EMA the status bar shows.
    pub fn loss_ema(&self) -> Option<f64> {
        ema(&self.curves.train_loss, self.curves.smoothing)
            .last()
            .map(|p| p.1)
    }

    fn typing(&self) -> bool {
        match self.focus {
            Pane::Dataset => self.dataset.as_ref().is_some_and(|d| d.is_typing()),
            Pane::Hyper => self.hparams.is_typing(),
            Pane::Playground => self.playground.is_typing(),
            Pane::Curves => false,
        }
    }

    fn focus_on(&mut self, pane: Pane) {
        self.focus = pane;
        // The playground is for typing: focusing it opens the input.
        if pane == Pane::Playground {
            self.playground.editing = true;
        }
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
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if self.confirm_quit {
            self.confirm_quit = false;
            match key.code {
                // Leave: the run process goes on; `tunebench attach` returns to it.
                KeyCode::Char('d') | KeyCode::Char('D') => self.should_quit = true,
                KeyCode::Char('s') | KeyCode::Char('S') => {
                    self.quit_after_stop = true;
                    self.run.state = RunState::Stopping;
                    self.info("stopping the run and saving a checkpoint…");
                    return vec![Action::Engine(Command::Stop { save: true })];
                }
                _ => {}
            }
            return vec![];
        }
        if ctrl_c {
            return self.request_quit();
        }
        if self.help {
            // j/k (↓/↑) scroll a help taller than the screen; any other
            // key closes it.
            let scroll = self.help_scroll.get();
            match key.code {
                KeyCode::Char('j') | KeyCode::Down => self.help_scroll.set(scroll + 1),
                KeyCode::Char('k') | KeyCode::Up => self.help_scroll.set(scroll.saturating_sub(1)),
                _ => {
                    self.help = false;
                    self.help_scroll.set(0);
                }
            }
            return vec![];
        }
        if self.runs_view.visible {
            return match self.runs_view.on_key(key) {
                Some(RunsAction::Open(dir)) => vec![Action::OpenRun(dir)],
                Some(RunsAction::Compare(dirs)) => {
                    self.focus = Pane::Curves;
                    vec![Action::CompareRuns(dirs)]
                }
                Some(RunsAction::NewFrom(dir)) => {
                    if self.is_active() {
                        self.error(
                            "a run is active here: leave or stop it before starting another",
                        );
                        vec![]
                    } else {
                        vec![Action::ConfigFrom(dir)]
                    }
                }
                Some(RunsAction::Refresh) => vec![Action::ListRuns],
                None => vec![],
            };
        }
        let tab = matches!(key.code, KeyCode::Tab | KeyCode::BackTab);
        if self.typing() && !tab {
            return self.pane_key(key);
        }
        if self.typing() && tab {
            // Leave the input and move on.
            self.playground.editing = false;
        }
        self.message = None;
        match key.code {
            KeyCode::Char(c @ '1'..='4') => {
                self.focus_on(Pane::ALL[c as usize - '1' as usize]);
                vec![]
            }
            KeyCode::Tab => {
                self.focus_on(Pane::ALL[(self.focus.index() + 1) % 4]);
                vec![]
            }
            KeyCode::BackTab => {
                self.focus_on(Pane::ALL[(self.focus.index() + 3) % 4]);
                vec![]
            }
            KeyCode::Char('?') => {
                self.help = true;
                vec![]
            }
            KeyCode::Char('R') => {
                self.runs_view.open();
                vec![Action::ListRuns]
            }
            KeyCode::Char('q') => self.request_quit(),
            KeyCode::Char('s') => self.start(),
            KeyCode::Char('p') => match self.run.state {
                RunState::Running => vec![Action::Engine(Command::Pause)],
                RunState::Paused => vec![Action::Engine(Command::Resume)],
                _ => {
                    self.info("no active run to pause");
                    vec![]
                }
            },
            KeyCode::Char('x')
                if matches!(self.run.state, RunState::Running | RunState::Paused) =>
            {
                self.run.state = RunState::Stopping;
                self.info("stopping: writing a checkpoint…");
                vec![Action::Engine(Command::Stop { save: true })]
            }
            KeyCode::Char('c')
                if matches!(self.run.state, RunState::Running | RunState::Paused) =>
            {
                vec![Action::Engine(Command::SaveCheckpoint)]
            }
            _ => self.pane_key(key),
        }
    }

    fn pane_key(&mut self, key: KeyEvent) -> Vec<Action> {
        match self.focus {
            Pane::Dataset => match &mut self.dataset {
                Some(d) => {
                    d.on_key(key);
                    d.take_changed_corrections()
                        .map(|(path, corrections)| Action::SaveCorrections { path, corrections })
                        .into_iter()
                        .collect()
                }
                None => vec![],
            },
            Pane::Hyper => {
                self.hparams.on_key(key);
                vec![]
            }
            Pane::Curves => {
                self.curves.on_key(key);
                vec![]
            }
            Pane::Playground => {
                self.playground.status = None;
                self.playground
                    .on_key(key)
                    .into_iter()
                    .map(|(id, text, explain)| Action::Predict { id, text, explain })
                    .collect()
            }
        }
    }

    fn start(&mut self) -> Vec<Action> {
        if self.is_active() {
            self.info("a run is already active");
            return vec![];
        }
        if !self.hparams.can_start() {
            let errors = self.hparams.errors();
            let first = errors
                .iter()
                .next()
                .map(|(k, v)| format!("{k}: {v}"))
                .unwrap_or_default();
            self.error(format!(
                "cannot start: {} invalid field(s), e.g. {first}",
                errors.len()
            ));
            self.focus = Pane::Hyper;
            return vec![];
        }
        self.run.state = RunState::Starting;
        self.hparams.locked = true;
        self.info("preparing the run (loading data and model)…");
        vec![Action::StartRun(Box::new(self.hparams.cfg.clone()))]
    }

    /// The run could not be prepared (bad data, model, config).
    pub fn on_start_failed(&mut self, error: String) {
        self.run.state = RunState::Idle;
        self.hparams.locked = false;
        self.error(format!("cannot start: {error}"));
    }

    pub fn on_engine(&mut self, event: &Event) -> Vec<Action> {
        self.curves.on_event(event);
        let mut actions = Vec::new();
        match event {
            Event::Started {
                run_dir,
                total_steps,
                start_step,
                device,
                precision,
                params,
                trainable,
                ..
            } => {
                self.run.trainable =
                    Some((if *trainable > 0 { *trainable } else { *params }, *params));
                self.run.state = RunState::Running;
                self.run.total = *total_steps;
                self.run.step = *start_step;
                self.run.device = device.clone();
                self.run.precision = precision.clone();
                self.run.run_dir = Some(run_dir.clone());
                self.hparams.locked = true;
                self.info(format!("training: {}", run_dir.display()));
            }
            Event::Step {
                step,
                epoch,
                samples_per_s,
                eta_s,
                device_mem_mib,
                ..
            } => {
                self.run.device_mem_mib = *device_mem_mib;
                self.run.step = *step;
                self.run.epoch = *epoch;
                self.run.samples_per_s = *samples_per_s;
                self.run.eta_s = *eta_s;
            }
            Event::Eval { step, accuracy, .. } => {
                self.run.val_acc = Some(*accuracy);
                self.run.last_eval_step = Some(*step);
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
            Event::Paused { .. } => self.run.state = RunState::Paused,
            Event::Resumed { .. } => self.run.state = RunState::Running,
            Event::Prediction {
                id,
                prediction,
                latency_ms,
                ..
            } => {
                self.playground.on_prediction(*id, prediction, *latency_ms);
            }
            Event::Finished { reason, step, .. } => {
                self.run.state = RunState::Finished(*reason);
                self.run.step = *step;
                self.hparams.locked = false;
                self.info(format!("run finished ({reason:?}) at step {step}"));
                if self.quit_after_stop {
                    self.should_quit = true;
                }
            }
            Event::Failed { error, .. } => {
                self.run.state = RunState::Failed;
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
    pub fn on_history_end(&mut self, run_dir: &std::path::Path, resume_command: Option<String>) {
        if self.is_active() {
            self.run.state = RunState::Crashed;
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
            self.run.state = RunState::Crashed;
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
}
