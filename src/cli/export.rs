//! `tunebench export`: a checkpoint as a plain HuggingFace classifier
//! directory, LoRA adapters merged (W + α/r·B·A), no training state.

use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn export_cmd(
    checkpoint: &Path,
    merge: bool,
    base: Option<&Path>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let adapter = tunebench::model::peft::is_adapter_dir(checkpoint);
    let merged_here = checkpoint.join("model.safetensors").is_file();
    if !adapter || (merged_here && base.is_none()) {
        // Refuses what is not a checkpoint, naming the missing file.
        tunebench::model::checkpoint::ModelDir::open(checkpoint)?;
    }
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
    if adapter && (!merged_here || base.is_some()) {
        // A peft adapter on its base (made in Python, or --base given):
        // build it and write the merged weights.
        let p = tunebench::predict::Predictor::load_with_base(
            checkpoint,
            base,
            &candle_core::Device::Cpu,
        )?;
        let tmp = out.with_file_name(format!(
            ".tmp-{}",
            out.file_name().and_then(|n| n.to_str()).unwrap_or("export")
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        tunebench::model::checkpoint::write_plain_model_files(&tmp, &p.model, &p.text)?;
        tunebench::model::checkpoint::publish_dir(&tmp, out)?;
        println!(
            "exported {} to {} (LoRA merged)",
            checkpoint.display(),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    for f in tunebench::model::checkpoint::PLAIN_MODEL_FILES {
        let src = checkpoint.join(f);
        if src.is_file() {
            let bytes = std::fs::read(&src).with_context(|| src.display().to_string())?;
            tunebench::disk::write_atomic(&out.join(f), &bytes)?;
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
