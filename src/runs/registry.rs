//! Listing runs and telling live ones from crashed ones. A run whose
//! events do not end in finished/failed and whose socket has no process
//! behind it crashed; its stale socket is removed and the newest complete
//! checkpoint is where `train --resume` continues.

use crate::protocol::Event;
use crate::protocol::{BestEval, RunProgress, RunStatus};
use crate::remote::client::{socket_of, Client};
use crate::remote::endpoint::{now_unix, pid_alive, EngineInfo};
use crate::run_dir::RunDir;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub name: String,
    pub dir: PathBuf,
    pub model: String,
    pub data: Option<PathBuf>,
    pub status: RunStatus,
    pub step: usize,
    pub total_steps: usize,
    /// Which metric picks best/ (macro_f1, accuracy, loss).
    pub best_metric: String,
    pub best: Option<BestEval>,
    pub started_unix: Option<u64>,
    pub duration_s: Option<u64>,
    /// The run process, while it lives.
    pub pid: Option<u32>,
    /// The newest checkpoint with its trainer state (a resume point).
    pub last_checkpoint: Option<PathBuf>,
    /// How to continue a crashed or stopped run.
    pub resume_command: Option<String>,
    pub error: Option<String>,
    /// A sweep (`tunebench sweep`): step and total count its trials.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sweep: bool,
}

impl RunSummary {
    /// A run that has told nothing yet: only its name and directory.
    pub fn unknown(name: &str, dir: PathBuf) -> Self {
        RunSummary {
            name: name.into(),
            dir,
            model: String::new(),
            data: None,
            status: RunStatus::Preparing,
            step: 0,
            total_steps: 0,
            best_metric: "macro_f1".into(),
            best: None,
            started_unix: None,
            duration_s: None,
            pid: None,
            last_checkpoint: None,
            resume_command: None,
            error: None,
            sweep: false,
        }
    }
}

/// Every event of a run (metrics.jsonl), skipping lines that do not parse
/// (a line cut by a crash).
pub fn read_events(run_dir: &Path) -> Vec<Event> {
    std::fs::read_to_string(run_dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Why the run process could not start, as it wrote it.
fn launch_error(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(crate::remote::launch::LAUNCH_ERROR_FILE)).ok()?;
    serde_json::from_str::<crate::remote::LaunchError>(&text)
        .ok()
        .map(|e| e.message)
}

fn modified_unix(path: &Path) -> Option<u64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// Where the run in `dir` stands.
pub fn summarize(dir: &Path) -> RunSummary {
    let events = read_events(dir);
    let mut progress = RunProgress::from_events(&events);
    let info = EngineInfo::read(dir);
    let live = !progress.is_over() && Client::connect(dir).is_ok();
    let mut pid = None;
    if !progress.is_over() {
        let alive = info.as_ref().is_some_and(|i| pid_alive(i.pid));
        if live {
            pid = info.as_ref().map(|i| i.pid);
            if progress.status == RunStatus::Preparing {
                progress.status = RunStatus::Running;
            }
        } else if alive && events.is_empty() {
            pid = info.as_ref().map(|i| i.pid);
            progress.status = RunStatus::Preparing;
        } else if let Some(err) = launch_error(dir) {
            // It stopped before training, and said why.
            progress.status = RunStatus::Failed;
            progress.error = Some(err);
        } else {
            progress.status = RunStatus::Crashed;
            // Nothing listens: the socket file is stale.
            let socket = socket_of(dir);
            if std::fs::symlink_metadata(&socket).is_ok() && !alive {
                let _ = std::fs::remove_file(&socket);
            }
        }
    }
    let resolved = RunDir::read_config(dir).ok();
    let last_checkpoint = RunDir::checkpoints(dir)
        .into_iter()
        .rev()
        .find(|(_, p)| p.join("trainer_state.json").is_file())
        .map(|(_, p)| p);
    let resume_command = (matches!(progress.status, RunStatus::Crashed | RunStatus::Stopped)
        && last_checkpoint.is_some())
    .then(|| format!("tunebench train --resume {}", dir.display()));
    let started_unix = info
        .as_ref()
        .map(|i| i.started_unix)
        .or_else(|| modified_unix(&dir.join("config.toml")));
    let ended = if live {
        Some(now_unix())
    } else {
        modified_unix(&dir.join("metrics.jsonl"))
    };
    RunSummary {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dir: dir.to_path_buf(),
        model: resolved
            .as_ref()
            .map(|r| r.config.model.clone())
            .unwrap_or_default(),
        data: resolved.as_ref().map(|r| r.train.path.clone()),
        best_metric: resolved
            .as_ref()
            .and_then(|r| r.config.best_metric)
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "macro_f1".into()),
        status: progress.status,
        step: progress.step,
        total_steps: progress.total_steps,
        best: progress.best,
        started_unix,
        duration_s: match (started_unix, ended) {
            (Some(s), Some(e)) => Some(e.saturating_sub(s)),
            _ => None,
        },
        pid,
        last_checkpoint,
        resume_command,
        error: progress.error,
        sweep: false,
    }
}

/// A sweep's directory holds this (sweep/driver.rs writes it; named here
/// because the sweep layer builds on this one, not the other way).
const SWEEP_FILE: &str = "sweep.toml";

fn is_run(p: &Path) -> bool {
    p.is_dir()
        && (p.join("metrics.jsonl").is_file()
            || p.join("config.toml").is_file()
            || p.join(crate::remote::launch::LAUNCH_FILE).is_file())
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// A sweep as one line: its trials' states added up (step = trials over,
/// total = its trial budget), then each trial as `SWEEP/trial-NNN`.
fn sweep_rows(dir: &Path) -> Vec<RunSummary> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trials: Vec<RunSummary> = subdirs(dir)
        .into_iter()
        .filter(|p| is_run(p))
        .map(|p| {
            let mut s = summarize(&p);
            s.name = format!("{name}/{}", s.name);
            s
        })
        .collect();
    let cfg = crate::config::RunConfig::from_toml_file(&dir.join(SWEEP_FILE)).ok();
    let live = trials.iter().any(|t| t.status.is_live());
    let mut row = RunSummary::unknown(&name, dir.to_path_buf());
    row.model = cfg.as_ref().map(|c| c.model.clone()).unwrap_or_default();
    row.data = cfg.as_ref().and_then(|c| c.train_file.clone());
    row.status = if live {
        RunStatus::Running
    } else {
        RunStatus::Finished
    };
    row.step = trials.iter().filter(|t| !t.status.is_live()).count();
    row.total_steps = cfg
        .as_ref()
        .map(|c| c.search.settings.trials)
        .unwrap_or(trials.len());
    row.started_unix = trials.iter().filter_map(|t| t.started_unix).min();
    row.duration_s = trials
        .iter()
        .filter_map(|t| Some(t.started_unix? + t.duration_s?))
        .max()
        .zip(row.started_unix)
        .map(|(end, start)| end.saturating_sub(start));
    row.sweep = true;
    // The sweep's best: its best trial's best evaluation by the sweep's
    // metric and direction.
    if let Some(c) = &cfg {
        let metric = c.search.settings.metric.clone();
        let sign = match c.search.settings.direction() {
            crate::config::Direction::Minimize => -1.0,
            crate::config::Direction::Maximize => 1.0,
        };
        row.best = trials
            .iter()
            .filter_map(|t| t.best.as_ref())
            .map(|b| (sign * b.metric(&metric), b))
            .filter(|(v, _)| !v.is_nan())
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, b)| b.clone());
        row.best_metric = metric;
    }
    std::iter::once(row).chain(trials).collect()
}

/// The runs under `runs_dir`, oldest first (run names start with a
/// sortable timestamp; others sort by start time); a sweep is listed with
/// its trials after it.
pub fn list(runs_dir: &Path) -> Vec<RunSummary> {
    let mut groups: Vec<Vec<RunSummary>> = subdirs(runs_dir)
        .into_iter()
        .filter_map(|p| {
            if p.join(SWEEP_FILE).is_file() {
                Some(sweep_rows(&p))
            } else if is_run(&p) {
                Some(vec![summarize(&p)])
            } else {
                None
            }
        })
        .collect();
    groups.sort_by(|a, b| (a[0].started_unix, &a[0].name).cmp(&(b[0].started_unix, &b[0].name)));
    groups.into_iter().flatten().collect()
}

/// The newest run under `runs_dir` that has a live process.
pub fn newest_live(runs_dir: &Path) -> Option<PathBuf> {
    list(runs_dir)
        .into_iter()
        .rev()
        .find(|r| r.status.is_live())
        .map(|r| r.dir)
}
