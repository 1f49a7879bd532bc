//! The served checkpoint: which directory (a checkpoint, or a run's best
//! one), loading it, and swapping in a newer one (`--watch`) while
//! requests are in flight — each batch holds the `Arc` it started with.

use crate::config::InferencePrecision;
use crate::predict::Predictor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

/// A loaded checkpoint and where it came from.
pub struct Loaded {
    pub predictor: Predictor,
    pub dir: PathBuf,
    pub version: Version,
    pub load_seconds: f64,
}

impl Loaded {
    pub fn labels(&self) -> &[String] {
        self.predictor.model.labels.names()
    }
}

/// What identifies a published checkpoint: its directory, its training
/// step (trainer_state.json) and its weights file's mtime and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub step: Option<u64>,
    modified: Option<SystemTime>,
    size: u64,
}

/// How to find and load the checkpoint to serve.
#[derive(Clone)]
pub struct Source {
    /// What the user named: a checkpoint dir, a peft adapter dir or a run dir.
    pub path: PathBuf,
    pub base: Option<PathBuf>,
    pub device: String,
    pub precision: InferencePrecision,
}

impl Source {
    /// The checkpoint directory `path` means now: itself when it holds a
    /// model (or adapter), else a run's `best/`, else its newest checkpoint.
    pub fn checkpoint_dir(&self) -> Option<PathBuf> {
        use crate::runs::reference::{is_model_dir, pick_checkpoint, Pick};
        if is_model_dir(&self.path) {
            return Some(self.path.clone());
        }
        pick_checkpoint(&self.path, Pick::Default)
    }

    pub fn load(&self) -> crate::Result<Loaded> {
        let dir = self.checkpoint_dir().ok_or_else(|| {
            crate::Error::Model(crate::model::ModelError::NotFound {
                spec: self.path.display().to_string(),
                hint: "no checkpoint here: give a checkpoint directory, or a run directory that has written one".into(),
            })
        })?;
        let t0 = Instant::now();
        let before = version_of(&dir);
        let device = crate::device::open(&self.device, 0)?;
        let predictor = Predictor::load_with_base(&dir, self.base.as_deref(), &device)?
            .with_precision(self.precision)?;
        let version = version_of(&dir);
        if version != before {
            return Err(crate::Error::Run(format!(
                "{} changed while loading; retrying",
                dir.display()
            )));
        }
        Ok(Loaded {
            predictor,
            dir,
            version,
            load_seconds: t0.elapsed().as_secs_f64(),
        })
    }
}

pub fn version_of(dir: &Path) -> Version {
    let weights = ["model.safetensors", "adapter_model.safetensors"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let meta = weights.and_then(|w| std::fs::metadata(w).ok());
    let step = std::fs::read_to_string(dir.join("trainer_state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
        .or_else(|| {
            dir.file_name()?
                .to_str()?
                .strip_prefix("step-")?
                .parse()
                .ok()
        });
    Version {
        step,
        modified: meta.as_ref().and_then(|m| m.modified().ok()),
        size: meta.map(|m| m.len()).unwrap_or(0),
    }
}

/// The model requests are served with; replaced whole on reload.
pub struct Current(RwLock<Arc<Loaded>>);

impl Current {
    pub fn new(loaded: Loaded) -> Self {
        Current(RwLock::new(Arc::new(loaded)))
    }

    pub fn get(&self) -> Arc<Loaded> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn swap(&self, loaded: Loaded) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
    }
}

/// Whether the checkpoint `source` names now differs from `current`'s.
pub fn changed(source: &Source, current: &Loaded) -> bool {
    match source.checkpoint_dir() {
        Some(dir) => dir != current.dir || version_of(&dir) != current.version,
        None => false,
    }
}
