//! The bundled sample corpus and the demo config `tunebench` opens with.

use anyhow::Context;
use std::path::PathBuf;
use tunebench::config::RunConfig;

/// The bundled sample corpus: the repository's copy when run from its root,
/// otherwise `sample:reviews` (the copy compiled into the binary, installed
/// in the user's data directory).
fn sample_corpus() -> anyhow::Result<(PathBuf, PathBuf)> {
    let local = PathBuf::from("sample-data/reviews");
    if local.join("train.csv").is_file() && local.join("heldout.csv").is_file() {
        return Ok((local.join("train.csv"), local.join("heldout.csv")));
    }
    // By name: installed on first read, and the form's command line stays
    // one that works from any directory.
    tunebench::data::samples::resolve(std::path::Path::new("sample:reviews"))?;
    Ok((
        PathBuf::from("sample:reviews"),
        PathBuf::from("sample:reviews/heldout"),
    ))
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
