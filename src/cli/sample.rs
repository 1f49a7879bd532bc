//! The bundled sample corpus and the demo config `tunebench` opens with.

use anyhow::Context;
use std::path::PathBuf;
use tunebench::config::RunConfig;

/// The bundled sample corpus: the repository's copy when run from its root,
/// otherwise the copy compiled into the binary, written to the user's data
/// directory once.
fn sample_corpus() -> anyhow::Result<(PathBuf, PathBuf)> {
    let local = PathBuf::from("sample-data/reviews");
    if local.join("train.csv").is_file() && local.join("heldout.csv").is_file() {
        return Ok((local.join("train.csv"), local.join("heldout.csv")));
    }
    let base = directories::ProjectDirs::from("", "", "tunebench")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(std::env::temp_dir)
        .join("sample-data/reviews");
    std::fs::create_dir_all(&base).with_context(|| base.display().to_string())?;
    for (name, body) in [
        (
            "train.csv",
            include_str!("../../sample-data/reviews/train.csv"),
        ),
        (
            "heldout.csv",
            include_str!("../../sample-data/reviews/heldout.csv"),
        ),
    ] {
        let path = base.join(name);
        if !path.is_file() {
            std::fs::write(&path, body).with_context(|| path.display().to_string())?;
        }
    }
    Ok((base.join("train.csv"), base.join("heldout.csv")))
}

/// What `tunebench` opens with: scratch:mini on the sample reviews, with the
/// TUI's "quick look" preset stretched to three epochs.
pub(crate) fn demo_config() -> anyhow::Result<RunConfig> {
    let (train, heldout) = sample_corpus()?;
    let demo: RunConfig = toml::from_str(DEMO_CONFIG).context("assets/presets/demo.toml")?;
    Ok(RunConfig {
        train_file: Some(train),
        val_file: Some(heldout),
        ..demo
    })
}

/// The demo's settings (compiled in, so the binary works anywhere).
const DEMO_CONFIG: &str = include_str!("../../assets/presets/demo.toml");
