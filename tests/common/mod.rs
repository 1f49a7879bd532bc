#![allow(dead_code)]

use std::path::PathBuf;
use tunebench::config::RunConfig;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn reviews() -> (PathBuf, PathBuf) {
    let d = root().join("sample-data/reviews");
    (d.join("train.csv"), d.join("heldout.csv"))
}

pub fn tickets() -> (PathBuf, PathBuf) {
    let d = root().join("sample-data/tickets");
    (d.join("train.jsonl"), d.join("heldout.jsonl"))
}

pub fn fixture(arch: &str) -> PathBuf {
    root().join("tests/fixtures").join(arch)
}

/// A small, quick run config on the reviews corpus.
pub fn quick_config(model: &str) -> RunConfig {
    let (train, _) = reviews();
    RunConfig {
        model: model.into(),
        train_file: Some(train),
        max_len: 48,
        batch_size: 16,
        epochs: 1,
        lr: 5e-4,
        seed: 7,
        ..Default::default()
    }
}

/// Copy a directory (flat) to a new temp dir.
pub fn copy_dir(src: &std::path::Path) -> tempfile::TempDir {
    let dst = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        std::fs::copy(e.path(), dst.path().join(e.file_name())).unwrap();
    }
    dst
}

/// Largest elementwise |a − b|.
pub fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}
