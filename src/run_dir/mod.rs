//! The run directory: resolved config, the event log (metrics.jsonl),
//! train.log and checkpoints (see DESIGN.md for the layout).

pub mod tensorboard;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::protocol::Event;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: PathBuf,
    pub sha256: String,
    pub rows: usize,
}

/// What config.toml holds: the config plus what it resolved to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedConfig {
    pub tunebench_version: String,
    pub model_source: String,
    pub labels: Vec<String>,
    pub train: FileInfo,
    pub val: Option<FileInfo>,
    pub config: RunConfig,
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

pub struct RunDir {
    pub root: PathBuf,
    metrics: std::fs::File,
    /// TensorBoard's copy of the scalars (`tensorboard = true`).
    tensorboard: Option<tensorboard::EventWriter>,
}

/// A sortable UTC timestamp, `YYYYMMDD-HHMMSS`, for run names.
pub fn timestamp() -> String {
    chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string()
}

const RUNS_DIR_ENV: &str = "TUNEBENCH_RUNS_DIR";

/// Where runs go unless a flag says otherwise: `$TUNEBENCH_RUNS_DIR` (set
/// and not empty), else `runs` in the working directory (so `train`,
/// `attach` and `runs` agree when started from different directories).
pub fn default_runs_dir() -> PathBuf {
    std::env::var_os(RUNS_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("runs"))
}

/// A new run's directory name: timestamp and the model's last path part.
pub fn run_name(model: &str) -> String {
    let slug: String = model
        .rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or("model")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{}-{slug}", timestamp())
}

impl RunDir {
    /// Create `dir` (which must not already hold a run).
    pub fn create(dir: &Path) -> Result<Self> {
        if dir.join("config.toml").exists() {
            return Err(Error::Run(format!(
                "{} already holds a run; resume it with --resume or choose another --out",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir.join("checkpoints"))
            .map_err(|e| Error::io(dir.display().to_string(), e))?;
        Self::open(dir)
    }

    /// Open an existing run directory to append to it.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join("metrics.jsonl");
        let metrics = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(path.display().to_string(), e))?;
        Ok(RunDir {
            root: dir.to_path_buf(),
            metrics,
            tensorboard: None,
        })
    }

    pub fn write_config(&self, resolved: &ResolvedConfig) -> Result<()> {
        let text = toml::to_string_pretty(resolved)
            .map_err(|e| Error::Run(format!("config.toml: {e}")))?;
        Ok(crate::disk::write_atomic(
            &self.root.join("config.toml"),
            text.as_bytes(),
        )?)
    }

    pub fn read_config(dir: &Path) -> Result<ResolvedConfig> {
        let path = dir.join("config.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Config(crate::config::ConfigError::Io {
                path: path.clone(),
                source: e,
            })
        })?;
        toml::from_str(&text).map_err(|e| {
            Error::Config(crate::config::ConfigError::Parse {
                path,
                message: e.to_string(),
            })
        })
    }

    /// Also write TensorBoard event files from here on.
    pub fn enable_tensorboard(&mut self) -> Result<()> {
        let w = tensorboard::EventWriter::create(&self.root)
            .map_err(|e| Error::io(self.root.display().to_string(), e))?;
        self.tensorboard = Some(w);
        Ok(())
    }

    /// Append one event to metrics.jsonl (and TensorBoard's file) and
    /// flush it.
    pub fn append_event(&mut self, event: &Event) -> Result<()> {
        if let Some(tb) = &mut self.tensorboard {
            if let Err(e) = tb.write(event) {
                // TensorBoard's copy is a convenience: say so, keep training.
                tracing::warn!("{}: {e}; TensorBoard file stopped", tb.path.display());
                self.tensorboard = None;
            }
        }
        let mut line = serde_json::to_vec(event).map_err(|e| Error::Run(e.to_string()))?;
        line.push(b'\n');
        self.metrics
            .write_all(&line)
            .and_then(|_| self.metrics.flush())
            .map_err(|e| {
                crate::disk::write_error(&self.root.join("metrics.jsonl"), line.len() as u64, e)
                    .into()
            })
    }

    /// Keep only the events up to `step` (used on resume, so the curve
    /// history continues from the checkpoint without duplicated steps).
    pub fn truncate_events_after(&mut self, step: usize) -> Result<()> {
        let path = self.root.join("metrics.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let kept: String = text
            .lines()
            .filter(|l| {
                // A line cut by a crash (kill -9 mid-write) is dropped, so
                // the next event starts on a line of its own.
                let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
                    return false;
                };
                let terminal = matches!(
                    v.get("event").and_then(|e| e.as_str()),
                    Some("finished" | "failed")
                );
                let after = v
                    .get("step")
                    .and_then(|s| s.as_u64())
                    .is_some_and(|s| s as usize > step);
                !terminal && !after
            })
            .map(|l| format!("{l}\n"))
            .collect();
        crate::disk::write_atomic(&path, kept.as_bytes())?;
        let tensorboard = self.tensorboard.take();
        *self = Self::open(&self.root)?;
        self.tensorboard = tensorboard;
        Ok(())
    }

    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    pub fn best_dir(&self) -> PathBuf {
        self.root.join("best")
    }

    /// Checkpoints as (step, dir), oldest first.
    pub fn checkpoints(dir: &Path) -> Vec<(usize, PathBuf)> {
        let mut out: Vec<(usize, PathBuf)> = std::fs::read_dir(dir.join("checkpoints"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let step = name.strip_prefix("step-")?.parse().ok()?;
                Some((step, e.path()))
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_the_sortable_shape() {
        let t = timestamp();
        assert_eq!(t.len(), 15);
        assert!(t.starts_with("20"), "{t}");
        assert_eq!(&t[8..9], "-");
    }

    #[test]
    fn truncation_keeps_events_up_to_the_checkpoint() {
        let d = tempfile::tempdir().unwrap();
        let mut run = RunDir::create(d.path()).unwrap();
        for step in 1..=4 {
            run.append_event(&Event::Paused { step }).unwrap();
        }
        run.append_event(&Event::Failed {
            step: 4,
            error: "x".into(),
        })
        .unwrap();
        // What a kill -9 in the middle of a write leaves.
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("metrics.jsonl"))
            .unwrap()
            .write_all(b"{\"event\":\"ste")
            .unwrap();
        run.truncate_events_after(2).unwrap();
        run.append_event(&Event::Resumed { step: 2 }).unwrap();
        let text = std::fs::read_to_string(d.path().join("metrics.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text
            .lines()
            .all(|l| serde_json::from_str::<Event>(l).is_ok()));
    }
}
