//! `tunebench export`: a checkpoint as a plain HuggingFace classifier
//! directory, LoRA adapters merged (W + α/r·B·A), no training state.

use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

/// The files of a plain HF classifier directory.
const PLAIN: &[&str] = &[
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
];

pub(crate) fn export_cmd(checkpoint: &Path, merge: bool, out: &Path) -> anyhow::Result<ExitCode> {
    // Refuses what is not a checkpoint, naming the missing file.
    tunebench::model::checkpoint::ModelDir::open(checkpoint)?;
    let adapter = checkpoint.join("adapter_model.safetensors").is_file();
    if adapter && !merge {
        anyhow::bail!(
            "{} is a LoRA checkpoint: pass --merge to export it with the adapters merged into the weights",
            checkpoint.display()
        );
    }
    if out.join("model.safetensors").exists() {
        anyhow::bail!(
            "{} already holds a model; choose another --out",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    for f in PLAIN {
        let src = checkpoint.join(f);
        if src.is_file() {
            let bytes = std::fs::read(&src).with_context(|| src.display().to_string())?;
            tunebench::model::checkpoint::write_atomic(&out.join(f), &bytes)?;
        }
    }
    println!(
        "exported {} to {}{}",
        checkpoint.display(),
        out.display(),
        if adapter { " (LoRA merged)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}
