//! A checkpoint as a plain HuggingFace classifier directory (what
//! `tunebench export` writes): adapters merged (LoRA, DoRA, (IA)³), no
//! training state.

use super::checkpoint::{publish_dir, write_plain_model_files, ModelDir, PLAIN_MODEL_FILES};
use super::peft;
use crate::error::{Error, Result};
use std::path::Path;

/// What an export did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exported {
    /// The checkpoint's files copied; `adapter`: they hold LoRA weights
    /// already merged (a tunebench LoRA checkpoint).
    Copied { adapter: bool },
    /// A peft adapter built on its base and its merged weights written.
    Merged,
}

impl Exported {
    pub fn lora_merged(self) -> bool {
        !matches!(self, Exported::Copied { adapter: false })
    }
}

/// Write `checkpoint` to `out` as a plain classifier directory. A LoRA
/// checkpoint needs `merge`; `base` puts an adapter on another base model.
pub fn export(checkpoint: &Path, merge: bool, base: Option<&Path>, out: &Path) -> Result<Exported> {
    let adapter = peft::is_adapter_dir(checkpoint);
    let merged_here = checkpoint.join("model.safetensors").is_file();
    if !adapter || (merged_here && base.is_none()) {
        // Refuses what is not a checkpoint, naming the missing file.
        ModelDir::open(checkpoint)?;
    }
    if adapter {
        if let peft::Method::Prefix { .. } = peft::read_config(checkpoint)?.method {
            return Err(Error::Run(format!(
                "{} is a prefix-tuning adapter: its virtual tokens are not weights, so it cannot be merged into a plain classifier; predict, eval and serve take the adapter directory as it is",
                checkpoint.display()
            )));
        }
    }
    if adapter && !merge {
        return Err(Error::Run(format!(
            "{} is an adapter checkpoint (peft): pass --merge to export it with the adapters merged into the weights",
            checkpoint.display()
        )));
    }
    if out.join("model.safetensors").exists() {
        return Err(Error::Run(format!(
            "{} already holds a model; choose another --out",
            out.display()
        )));
    }
    if adapter && (!merged_here || base.is_some()) {
        // A peft adapter on its base (made in Python, or --base given):
        // build it and write the merged weights.
        let (model, text) = peft::build(checkpoint, base, &candle_core::Device::Cpu)?;
        let tmp = out.with_file_name(format!(
            ".tmp-{}",
            out.file_name().and_then(|n| n.to_str()).unwrap_or("export")
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        write_plain_model_files(&tmp, &model, &text)?;
        publish_dir(&tmp, out)?;
        return Ok(Exported::Merged);
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out.display().to_string(), e))?;
    for f in PLAIN_MODEL_FILES {
        let src = checkpoint.join(f);
        if src.is_file() {
            let bytes = std::fs::read(&src).map_err(|e| Error::io(src.display().to_string(), e))?;
            crate::disk::write_atomic(&out.join(f), &bytes)?;
        }
    }
    Ok(Exported::Copied { adapter })
}
