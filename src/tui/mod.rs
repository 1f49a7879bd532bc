//! The workbench TUI. It sends `Command`s to a run process over its socket
//! and renders the `Event`s it streams back; it never touches a tensor. A
//! run outlives the TUI: quitting may leave it running, and a hangup only
//! detaches. One tokio loop multiplexes the
//! terminal's input, engine events and a tick; all queued events are
//! handled before drawing once, at most 10 frames a second and only when
//! something changed (4 frames a second for streamed events).

pub mod action;
pub mod app;
pub mod curves;
pub mod dataset;
pub mod hparams;
pub mod input;
pub mod keymap;
pub mod label_round;
pub mod label_view;
mod logfile;
pub mod pane;
pub mod playground;
pub mod render;
pub mod runs_view;
pub mod svg;
pub mod sweep_view;
pub mod theme;

use crate::config::RunConfig;
use crate::explain::label_issues::HeldOut;
use crate::protocol::{Command, Event};
use app::{Action, App, RunState};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use dataset::{DatasetPane, RowPrediction};
use futures_util::StreamExt;
use pane::Pane;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, BorderType, Borders};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

pub use logfile::LogSwitch;

/// Redraw pace after a key: the screen answers typing at once.
const FRAME: Duration = Duration::from_millis(100);
/// Redraw pace for streamed run events: every frame preempts a training
/// thread on a busy machine. bench/attach_overhead.py on 2 cores: attached
/// at 10 frames/s the run kept 0.91x of its detached throughput (median of
/// 3, noisy), at 4/s 1.02x (median of 5); 4/s reads as well.
const DATA_FRAME: Duration = Duration::from_millis(250);

/// A pane's frame: focus shows as a thick border, a bold title and a `●`.
/// `title` (spaces around it kept) within `width` columns, shortened by
/// whole words: a trailing "(...)" goes first, then words from the end
/// (with a dangling "·" or ":"), never a cut inside one.
pub fn fit_title(title: &str, width: usize) -> String {
    use crate::data::display_width;
    let mut t = title.trim().to_string();
    let fits = |t: &str| display_width(t) + 2 <= width;
    while !t.is_empty() && !fits(&t) {
        if t.ends_with(')') {
            if let Some(open) = t.rfind(" (") {
                t.truncate(open);
                continue;
            }
        }
        match t.rfind(' ') {
            Some(i) => t.truncate(i),
            None => t.clear(),
        }
        while t.ends_with(['·', ':', ',', '/', ' ']) {
            t.pop();
        }
    }
    if t.is_empty() {
        String::new()
    } else {
        format!(" {t} ")
    }
}

pub fn pane_block<'a>(title: &str, area: Rect, focused: bool, theme: &theme::Theme) -> Block<'a> {
    // Two columns of corner, one of focus mark.
    let title = fit_title(title, (area.width as usize).saturating_sub(3));
    let title = if focused {
        format!("●{title}")
    } else {
        format!(" {title}")
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(title)
        .title_style(if focused { theme.header() } else { theme.dim() })
}

pub struct TuiOptions {
    pub cfg: RunConfig,
    /// Where `w`/`L` save and load the hyperparameters.
    pub config_path: PathBuf,
    /// Checkpoint for the playground when no run is active.
    pub checkpoint: Option<PathBuf>,
    /// Base model when `checkpoint` is a peft adapter directory.
    pub base: Option<PathBuf>,
    pub plain_markers: bool,
    /// Parent of new run directories.
    pub runs_dir: PathBuf,
    /// Open on this run (`tunebench attach`): live when its process
    /// answers, otherwise read-only from its history.
    pub attach: Option<PathBuf>,
    /// Suspect labels for the dataset pane (`inspect --label-issues` CSV).
    pub suspects: Option<PathBuf>,
    /// The playground's precision (None: the run's training precision).
    pub playground_precision: Option<crate::config::InferencePrecision>,
}

type TokenizerResult = Result<(crate::text::TextEncoder, Vec<usize>, Vec<usize>), String>;

/// Messages into the event loop from worker threads.
/// Run messages carry the generation of the connection they came from, so
/// a run the user left (it goes on) cannot leak into the one shown now.
enum AppEvent {
    Engine(u64, Event),
    EngineStarted(u64, crate::remote::Commander),
    EngineGone(u64),
    Runs(Vec<crate::runs::RunSummary>),
    StartFailed(String),
    Sweep(PathBuf, Result<crate::sweep::summary::SweepSummary, String>),
    Tokenizer {
        key: String,
        result: Box<TokenizerResult>,
    },
}

/// The data fields of a config (`DATA_KEYS`): the dataset pane reloads
/// when any of them changes.
fn data_key(cfg: &RunConfig) -> String {
    cfg.data_key()
}

/// What the token lengths depend on: the data, the model (its tokenizer, or
/// the vocabulary a scratch model learns) and the length limit.
fn tokenizer_key(cfg: &RunConfig) -> String {
    format!(
        "{}|{}|{}|{}",
        data_key(cfg),
        cfg.model,
        cfg.max_len,
        cfg.scratch_vocab
    )
}

/// Overlay the curves of the runs in `dirs` (read from their
/// metrics.jsonl) on the curves pane; none clears the overlay.
pub fn compare_runs(app: &mut App, dirs: &[PathBuf]) {
    app.curves.compare = dirs
        .iter()
        .map(|d| {
            let name = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            curves::ComparedRun::from_events(name, &crate::runs::read_events(d))
        })
        .collect();
    app.message = Some(app::Message {
        text: if dirs.is_empty() {
            "comparison cleared".into()
        } else {
            format!(
                "comparing with {} run(s); R, c with none marked clears",
                dirs.len()
            )
        },
        error: false,
    });
}

pub fn load_dataset(cfg: &RunConfig) -> Result<DatasetPane, String> {
    let corpus = crate::train::prepare::load_corpus(cfg).map_err(|e| e.to_string())?;
    let mut pane = DatasetPane::for_task(
        &corpus.train,
        &corpus.val,
        corpus.empty_dropped,
        cfg.max_len,
        corpus.task.task,
    );
    pane.val_is_separate = cfg.val_file.is_some();
    // Edits go to the configured file (already applied to the rows), or
    // to a new one beside the corpus.
    pane.corrections_path = match (&cfg.corrections, &cfg.train_file) {
        (Some(c), _) => {
            pane.corrections =
                crate::data::corrections::Corrections::read(c).map_err(|e| e.to_string())?;
            Some(c.clone())
        }
        (None, Some(t)) => Some(crate::data::corrections::Corrections::default_path(t)),
        (None, None) => None,
    };
    Ok(pane)
}

/// Write the pane's corrections. A file beside the corpus that the run
/// does not use yet is merged into, never overwritten.
fn save_corrections(
    cfg: &RunConfig,
    path: &Path,
    corrections: crate::data::corrections::Corrections,
) -> crate::Result<usize> {
    use crate::data::corrections::Corrections;
    let mut out = corrections;
    if cfg.corrections.as_deref() != Some(path) && path.is_file() {
        let mut merged = Corrections::read(path)?;
        merged.entries.append(&mut out.entries);
        out = merged;
    }
    out.write(path)?;
    Ok(out.entries.len())
}

/// Build the model's tokenizer (learned for scratch models, exactly as
/// training will) and measure every row, off the UI thread.
fn spawn_tokenizer(cfg: RunConfig, tx: UnboundedSender<AppEvent>) {
    std::thread::spawn(move || {
        let key = tokenizer_key(&cfg);
        let result = (|| -> crate::Result<_> {
            let corpus = crate::train::prepare::load_corpus(&cfg)?;
            let texts: Vec<String> = corpus.train.iter().map(|r| r.text.clone()).collect();
            let enc = crate::train::prepare::tokenizer_for(
                &cfg.model,
                cfg.scratch_vocab,
                cfg.max_len,
                &texts,
            )?;
            let lens = |rows: &[crate::data::Row]| {
                let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
                enc.full_lengths(&texts)
            };
            let (t, v) = (lens(&corpus.train)?, lens(&corpus.val)?);
            Ok((enc, t, v))
        })()
        .map_err(|e| e.to_string());
        let _ = tx.send(AppEvent::Tokenizer {
            key,
            result: Box::new(result),
        });
    });
}

/// line → the model's label and its probability, from a run's held-out
/// predictions (the dataset pane's model column).
pub fn row_predictions(held_out: &HeldOut) -> HashMap<u64, RowPrediction> {
    held_out
        .rows
        .iter()
        .filter_map(|r| {
            let best = crate::model::probs::argmax(&r.probs);
            Some((
                r.line,
                RowPrediction {
                    label: held_out.labels.get(best)?.clone(),
                    score: *r.probs.get(best)? as f32,
                    wrong: None,
                    detail: None,
                },
            ))
        })
        .collect()
}

struct Loop {
    app: App,
    opts: TuiOptions,
    tx: UnboundedSender<AppEvent>,
    engine: Option<crate::remote::Commander>,
    predictor: Option<std::sync::mpsc::Sender<Command>>,
    data_key: String,
    tokenizer_key: String,
    /// Generation of the run connection (see `AppEvent`).
    generation: u64,
    last_runs_listing: Option<Instant>,
    last_sweep_load: Option<Instant>,
}

impl Loop {
    fn apply(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::StartRun(cfg) => self.start_run(*cfg),
                Action::Engine(cmd) => match &self.engine {
                    Some(tx) if tx.send(&cmd).is_ok() => {}
                    _ => self.app.on_start_failed("the engine is not running".into()),
                },
                Action::Predict { id, text, explain } => self.predict(id, text, explain),
                Action::LoadPredictions(path) => self.load_predictions(&path),
                Action::SaveCorrections { path, corrections } => {
                    let written = save_corrections(&self.app.hparams.cfg, &path, corrections)
                        .map_err(|e| e.to_string());
                    let new_file = self.app.hparams.cfg.corrections.as_deref() != Some(&path);
                    self.app.on_corrections_saved(&path, written);
                    if new_file {
                        // The rows shown already carry the edits: no reload.
                        self.data_key = data_key(&self.app.hparams.cfg);
                    }
                }
                Action::SaveConfig { path, toml } => {
                    let written =
                        crate::disk::write_atomic(&path, toml.as_bytes()).map_err(|e| match e {
                            // The hparams status already names the path.
                            crate::disk::DiskError::Io { source, .. } => source.to_string(),
                            other => other.to_string(),
                        });
                    self.app.hparams.config_saved(&path, written);
                }
                Action::SaveScript { path, text } => {
                    let written = crate::disk::write_atomic(&path, text.as_bytes())
                        .map_err(|e| e.to_string())
                        .and_then(|()| {
                            use std::os::unix::fs::PermissionsExt;
                            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                                .map_err(|e| e.to_string())
                        });
                    self.app.hparams.config_saved(&path, written);
                }
                Action::LoadConfig(path) => {
                    let loaded = RunConfig::from_toml_file(&path).map_err(|e| e.to_string());
                    // The key loop syncs the data after every key's actions.
                    self.app.hparams.config_loaded(&path, loaded);
                }
                Action::ListRuns => self.list_runs(),
                Action::StartSweep(cfg) => self.start_sweep(*cfg),
                Action::OpenSweep(dir) => {
                    self.app.sweep_view.open(dir.clone());
                    self.load_sweep(dir);
                }
                Action::OpenRun(dir) if crate::sweep::is_sweep_dir(&dir) => {
                    self.app.sweep_view.open(dir.clone());
                    self.load_sweep(dir);
                }
                Action::OpenRun(dir) => self.open_run(&dir),
                Action::CompareRuns(dirs) => compare_runs(&mut self.app, &dirs),
                Action::ConfigFrom(dir) => match crate::run_dir::RunDir::read_config(&dir) {
                    Ok(r) => {
                        self.app.on_run_config(&dir, r.config);
                        self.sync_data();
                    }
                    Err(e) => self.app.on_start_failed(e.to_string()),
                },
            }
        }
    }

    /// Read a sweep's study off the loop (the journal may be long).
    fn load_sweep(&mut self, dir: PathBuf) {
        self.last_sweep_load = Some(Instant::now());
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let s = crate::sweep::summary::SweepSummary::load(&dir);
            let _ = tx.send(AppEvent::Sweep(dir, s));
        });
    }

    /// `tunebench sweep` in the background (its own session: it goes on
    /// when the TUI closes), then its view.
    fn start_sweep(&mut self, cfg: RunConfig) {
        let dir = self.opts.runs_dir.join(crate::run_dir::run_name(&format!(
            "sweep-{}",
            cfg.model.rsplit(['/', ':']).next().unwrap_or("model")
        )));
        match spawn_sweep(&cfg, &dir) {
            Ok(()) => {
                self.app.info(format!("sweep started: {}", dir.display()));
                self.app.sweep_view.open(dir.clone());
                self.load_sweep(dir);
            }
            Err(e) => self
                .app
                .on_start_failed(format!("cannot start the sweep: {e}")),
        }
    }

    fn list_runs(&mut self) {
        self.last_runs_listing = Some(Instant::now());
        let dir = self.opts.runs_dir.clone();
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(AppEvent::Runs(crate::runs::list(&dir)));
        });
    }

    /// Show another run; the one shown until now goes on in its process.
    fn open_run(&mut self, dir: &Path) {
        self.generation += 1;
        self.engine = None;
        self.predictor = None;
        let cfg = crate::run_dir::RunDir::read_config(dir)
            .map(|r| r.config)
            .unwrap_or_else(|_| self.app.hparams.cfg.clone());
        self.app.show_run(cfg);
        self.attach(dir);
        self.sync_data();
    }

    fn start_run(&mut self, cfg: RunConfig) {
        let out = self
            .opts
            .runs_dir
            .join(crate::run_dir::run_name(&cfg.model));
        self.generation += 1;
        let generation = self.generation;
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let spec = crate::remote::LaunchSpec {
                resume: false,
                config: cfg,
                threads: None,
            };
            let launched = crate::remote::launch::current_exe()
                .and_then(|exe| crate::remote::launch(&exe, &out, &spec));
            match launched {
                Ok(client) => stream_run(client, tx, generation),
                Err(e) => {
                    let _ = tx.send(AppEvent::StartFailed(e.to_string()));
                }
            }
        });
    }

    /// Open `dir`: stream it when its process answers, else replay its
    /// history read-only.
    fn attach(&mut self, dir: &Path) {
        match crate::remote::Client::connect(dir) {
            Ok(client) => {
                self.app.on_attached();
                let tx = self.tx.clone();
                let generation = self.generation;
                std::thread::spawn(move || stream_run(client, tx, generation));
            }
            Err(e) => {
                tracing::info!("{e}; opening read-only");
                // Every evaluation asks for predictions.csv; only the
                // file as it is now matters, so it is read once.
                let mut predictions = None;
                for event in crate::runs::read_events(dir) {
                    if matches!(event, Event::Prediction { .. }) {
                        continue;
                    }
                    for action in self.app.on_engine(&event) {
                        if let Action::LoadPredictions(p) = action {
                            predictions = Some(p);
                        }
                    }
                }
                if let Some(p) = predictions {
                    self.load_predictions(&p);
                }
                let summary = crate::runs::summarize(dir);
                self.app.on_history_end(dir, summary.resume_command);
            }
        }
    }

    fn predict(&mut self, id: u64, text: String, explain: Option<crate::protocol::ExplainRequest>) {
        let live = matches!(self.app.run.state(), RunState::Running | RunState::Paused);
        // "first || second" is a sentence pair.
        let (text, text_pair) = playground::split_pair(&text);
        if let (true, Some(engine)) = (live, &self.engine) {
            if engine
                .send(&Command::Predict {
                    id,
                    text: text.clone(),
                    text_pair: text_pair.clone(),
                    explain: explain.clone(),
                })
                .is_ok()
            {
                return;
            }
        }
        if self.predictor.is_none() {
            let dir = self.opts.checkpoint.clone().or_else(|| {
                self.app
                    .run
                    .run_dir
                    .as_ref()
                    .map(|d| d.join("best"))
                    .filter(|d| d.is_dir())
            });
            let Some(dir) = dir else {
                self.app.on_no_predictor(
                    "no model yet: start a run (s), or open the TUI with --checkpoint DIR".into(),
                );
                return;
            };
            let cfg = &self.app.hparams.cfg;
            let (cmd_tx, ev_rx) = crate::predict::spawn_predictor(
                dir,
                self.opts.base.clone(),
                cfg.device.clone(),
                self.opts
                    .playground_precision
                    .unwrap_or(cfg.precision.into()),
            );
            let tx = self.tx.clone();
            let generation = self.generation;
            std::thread::spawn(move || {
                for e in ev_rx {
                    if tx.send(AppEvent::Engine(generation, e)).is_err() {
                        break;
                    }
                }
            });
            self.predictor = Some(cmd_tx);
        }
        if let Some(p) = &self.predictor {
            if p.send(Command::Predict {
                id,
                text,
                text_pair,
                explain,
            })
            .is_err()
            {
                self.predictor = None;
                self.app
                    .on_no_predictor("the checkpoint could not be loaded".into());
            }
        }
    }

    fn on_app_event(&mut self, event: AppEvent) {
        match event {
            AppEvent::Engine(g, _) | AppEvent::EngineStarted(g, _) | AppEvent::EngineGone(g)
                if g != self.generation => {}
            AppEvent::Runs(runs) => self.app.runs_view.set_runs(runs),
            AppEvent::Sweep(dir, s) => {
                if self.app.sweep_view.dir.as_ref() == Some(&dir) {
                    self.app.sweep_view.set_summary(s);
                }
            }
            AppEvent::Engine(_, e) => {
                if matches!(e, Event::Finished { .. } | Event::Failed { .. }) {
                    // The next playground request loads the new best/.
                    self.predictor = None;
                }
                let actions = self.app.on_engine(&e);
                self.apply(actions);
            }
            AppEvent::EngineStarted(_, tx) => self.engine = Some(tx),
            AppEvent::EngineGone(_) => {
                self.engine = None;
                self.app.on_run_process_lost();
            }
            AppEvent::StartFailed(e) => self.app.on_start_failed(e),
            AppEvent::Tokenizer { key, result } => {
                if key != self.tokenizer_key {
                    return; // stale: the config changed meanwhile
                }
                match (*result, &mut self.app.dataset) {
                    (Ok((enc, t, v)), Some(d)) => {
                        d.set_tokenizer(enc, t, v);
                        d.update_pieces();
                    }
                    (Err(e), Some(d)) => d.status = Some(format!("tokenizer: {e}")),
                    _ => {}
                }
            }
        }
    }

    /// A run's held-out predictions: the dataset pane's model column and
    /// its suspect labels.
    fn load_predictions(&mut self, path: &Path) {
        // Read once: a run mid-write is caught whole or not at all (the
        // file is replaced atomically), so both views agree.
        // Multi-label and regression files have layouts of their own.
        if let Some(p) = dataset::predictions::read_task_predictions(path) {
            self.app.set_predictions(p);
            // Multi-label files also give suspects (cleanlab's multilabel rule).
            self.app.run_suspects = HeldOut::read(path)
                .map(|h| h.suspects())
                .unwrap_or_default();
            self.app.refresh_suspects();
            return;
        }
        let held_out = HeldOut::read(path).ok();
        self.app
            .set_predictions(held_out.as_ref().map(row_predictions).unwrap_or_default());
        self.app.run_suspects = held_out.map(|h| h.suspects()).unwrap_or_default();
        self.app.refresh_suspects();
    }

    /// Reload the dataset or tokenizer when their settings changed.
    fn sync_data(&mut self) {
        let cfg = &self.app.hparams.cfg.clone();
        if !self.app.hparams.pending.is_empty() || self.app.hparams.is_typing() {
            return;
        }
        if reload_dataset_if_changed(&mut self.app, &mut self.data_key) {
            self.tokenizer_key.clear();
        }
        let tk = tokenizer_key(cfg);
        if tk != self.tokenizer_key && self.app.dataset.is_some() {
            self.tokenizer_key = tk;
            spawn_tokenizer(cfg.clone(), self.tx.clone());
        }
        if let Some(d) = &mut self.app.dataset {
            d.update_pieces();
        }
    }
}

/// Reload the Dataset pane when the form's data keys (`DATA_KEYS`) differ
/// from `last` (what it was loaded with); whether it reloaded.
pub fn reload_dataset_if_changed(app: &mut App, last: &mut String) -> bool {
    let cfg = app.hparams.cfg.clone();
    let key = data_key(&cfg);
    if key == *last {
        return false;
    }
    *last = key;
    match load_dataset(&cfg) {
        Ok(d) => {
            app.playground.value_range = d.score_bins.as_ref().map(|b| (b.min, b.max));
            app.hparams.data_task = Some(d.task);
            app.dataset = Some(d);
            app.data_error = None;
            app.refresh_suspects();
        }
        Err(e) => {
            app.dataset = None;
            app.hparams.data_task = None;
            app.data_error = Some(e);
        }
    }
    true
}

/// Start `tunebench sweep --config DIR/request.toml --out DIR` detached
/// from this terminal, its output in DIR/sweep.log.
fn spawn_sweep(cfg: &RunConfig, dir: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let request = dir.join("request.toml");
    crate::disk::write_atomic(&request, cfg.to_toml().as_bytes()).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("sweep.log")).map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let exe = crate::remote::launch::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("sweep")
        .arg("--config")
        .arg(&request)
        .arg("--out")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid only detaches the child from our session.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// Forward a run process's history and live events to the event loop.
fn stream_run(mut client: crate::remote::Client, tx: UnboundedSender<AppEvent>, generation: u64) {
    let _ = tx.send(AppEvent::EngineStarted(generation, client.commander()));
    if client.subscribe(0).is_err() {
        let _ = tx.send(AppEvent::EngineGone(generation));
        return;
    }
    for (_, event) in client.events() {
        if tx.send(AppEvent::Engine(generation, event)).is_err() {
            return;
        }
    }
    let _ = tx.send(AppEvent::EngineGone(generation));
}

/// Run the TUI until the user quits. The terminal is restored on return,
/// on error and on panic (ratatui's hook).
pub fn run(opts: TuiOptions) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Without a terminal (a pipe, cron, CI) say so rather than panic in
    // ratatui's init.
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        anyhow::anyhow!(
            "the TUI needs a terminal ({e}); for scripts use `tunebench train`, `eval` or `predict`, or `tunebench attach --plain RUN`"
        )
    })?;
    let result = rt.block_on(event_loop(&mut terminal, opts));
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    opts: TuiOptions,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let dataset = load_dataset(&opts.cfg);
    let mut app = App::new(opts.cfg.clone(), dataset, opts.config_path.clone());
    app.curves.plain_markers = opts.plain_markers;
    app.sweep_view.plain_markers = opts.plain_markers;
    let mut lp = Loop {
        data_key: data_key(&opts.cfg),
        tokenizer_key: String::new(),
        app,
        opts,
        tx,
        engine: None,
        predictor: None,
        generation: 0,
        last_runs_listing: None,
        last_sweep_load: None,
    };
    if let Some(path) = lp.opts.suspects.clone() {
        match crate::explain::label_issues::read_suspects(&path) {
            Ok(s) => {
                lp.app.info(format!(
                    "{} suspect labels from {}: key i in the dataset pane lists them",
                    s.len(),
                    path.display()
                ));
                lp.app.file_suspects = s;
                lp.app.refresh_suspects();
            }
            Err(e) => lp.app.error(e.to_string()),
        }
    }
    lp.sync_data();
    if let Some(dir) = lp.opts.attach.clone() {
        if crate::sweep::is_sweep_dir(&dir) {
            lp.app.sweep_view.open(dir.clone());
            lp.load_sweep(dir);
        } else {
            lp.attach(&dir);
        }
    }
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(FRAME);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut dirty = true;
    let mut typed = true;
    let mut last_draw: Option<Instant> = None;
    let mut signalled = false;
    loop {
        tokio::select! {
            Some(ev) = keys.next() => {
                match ev? {
                    TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
                        let actions = lp.app.on_key(k);
                        lp.apply(actions);
                        lp.sync_data();
                    }
                    _ => {}
                }
                dirty = true;
                typed = true;
            }
            Some(e) = rx.recv() => {
                lp.on_app_event(e);
                dirty = true;
            }
            _ = tick.tick() => {
                // Keep the runs view current while it is open.
                if lp.app.runs_view.visible
                    && lp.last_runs_listing.is_none_or(|t| t.elapsed() >= Duration::from_secs(2))
                {
                    lp.list_runs();
                }
                // And the sweep view (a trial reports every few seconds).
                if lp.app.sweep_view.visible
                    && lp.last_sweep_load.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
                {
                    if let Some(dir) = lp.app.sweep_view.dir.clone() {
                        lp.load_sweep(dir);
                    }
                }
            }
            _ = sigterm.recv() => signalled = true,
            _ = sighup.recv() => signalled = true,
            _ = sigint.recv() => signalled = true,
        }
        // Drain whatever else is queued, then draw once.
        while let Ok(e) = rx.try_recv() {
            lp.on_app_event(e);
            dirty = true;
        }
        if signalled {
            break;
        }
        if lp.app.should_quit {
            return Ok(());
        }
        let pace = if typed { FRAME } else { DATA_FRAME };
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= pace) {
            terminal.draw(|f| render::draw(&lp.app, f))?;
            dirty = false;
            typed = false;
            last_draw = Some(Instant::now());
        }
    }
    // A signal (hangup, terminal closed, kill): only this window goes; the
    // run process goes on and `tunebench attach` comes back to it.
    if lp.app.is_active() {
        if let Some(dir) = &lp.app.run.run_dir {
            tracing::info!("detached from {} on a signal", dir.display());
        }
    }
    Ok(())
}
