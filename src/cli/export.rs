//! `tunebench export`: a checkpoint as a plain HuggingFace classifier
//! directory, LoRA adapters merged (W + α/r·B·A), no training state.

use std::path::Path;
use std::process::ExitCode;

pub(crate) fn export_cmd(
    checkpoint: &Path,
    merge: bool,
    base: Option<&Path>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let done = tunebench::model::export::export(checkpoint, merge, base, out)?;
    println!(
        "exported {} to {}{}",
        checkpoint.display(),
        out.display(),
        if done.lora_merged() {
            " (adapters merged)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}
