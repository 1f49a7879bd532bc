#![allow(dead_code)]

use std::path::PathBuf;

pub mod cli;
pub mod engines;
pub mod tui;
use tunebench::config::RunConfig;

/// The repository root: where the test was built, unless TUNEBENCH_ROOT
/// points elsewhere (a test binary carried to a GPU machine).
pub fn root() -> PathBuf {
    std::env::var_os("TUNEBENCH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub fn reviews() -> (PathBuf, PathBuf) {
    let d = root().join("sample-data/reviews");
    (d.join("train.csv"), d.join("heldout.csv"))
}

pub fn tickets() -> (PathBuf, PathBuf) {
    let d = root().join("sample-data/tickets");
    (d.join("train.jsonl"), d.join("heldout.jsonl"))
}

/// The device and precision the numeric tests run on: CPU f32 unless
/// TUNEBENCH_TEST_DEVICE (cuda, cuda:N) and TUNEBENCH_TEST_PRECISION (bf16,
/// f16) say otherwise; scripts/gpu-check.sh sets them.
pub fn test_device() -> (candle_core::Device, tunebench::config::Precision) {
    let spec = std::env::var("TUNEBENCH_TEST_DEVICE").unwrap_or_else(|_| "cpu".into());
    let precision = std::env::var("TUNEBENCH_TEST_PRECISION")
        .ok()
        .map(|p| {
            p.parse()
                .expect("TUNEBENCH_TEST_PRECISION: f32, bf16 or f16")
        })
        .unwrap_or_default();
    (tunebench::device::open(&spec, 0).unwrap(), precision)
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
        lr: Some(5e-4),
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

/// A tensor on the host in f32 (it may live on a GPU, in any float dtype).
fn host(t: &candle_core::Tensor) -> candle_core::Tensor {
    t.to_device(&candle_core::Device::Cpu)
        .unwrap()
        .to_dtype(candle_core::DType::F32)
        .unwrap()
}

/// Largest |x| of a tensor.
pub fn max_abs(t: &candle_core::Tensor) -> f32 {
    host(t)
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Largest elementwise |a − b|.
pub fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    max_abs(&(host(a) - host(b)).unwrap())
}

/// A JSON array of number arrays (a fixture's table), as f64 rows.
pub fn json_rows(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// The bundled reviews' training texts written to `path` as a pool with no
/// label column; (text, true label) in file order, line 2 first.
pub fn reviews_pool(path: &std::path::Path) -> Vec<(String, String)> {
    let (train, _) = reviews();
    let rows: Vec<(String, String)> = csv::Reader::from_path(&train)
        .unwrap()
        .deserialize::<std::collections::HashMap<String, String>>()
        .map(|r| {
            let r = r.unwrap();
            (r["text"].clone(), r["label"].clone())
        })
        .collect();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["text"]).unwrap();
    for (text, _) in &rows {
        w.write_record([text]).unwrap();
    }
    w.flush().unwrap();
    rows
}

/// Sentences in the fixture's vocabulary, IOB1 as CoNLL-2003 writes them:
/// `loved`/`hated` mark a person, `music`/`story` a place.
pub fn conll(n: usize) -> String {
    let words = [
        "the", "movie", "was", "great", "i", "loved", "it", "story", "music", "film",
    ];
    let mut s = String::from("-DOCSTART- -X- O O\n\n");
    for i in 0..n {
        for j in 0..6 {
            let w = words[(i * 3 + j * 7) % words.len()];
            let tag = match w {
                "loved" | "i" => "I-PER",
                "music" | "story" => "I-LOC",
                _ => "O",
            };
            s.push_str(&format!("{w} NN I-NP {tag}\n"));
        }
        s.push('\n');
    }
    s
}

/// Every trainable tensor's gradient against transformers' (`grad.NAME`
/// in `expected`), relative 1e-4; the same tensors must train on both
/// sides. Attention's key bias has a zero gradient in exact arithmetic
/// (softmax is shift-invariant): both sides hold float noise, whose size
/// depends on the CPU's kernels, so it only has to stay noise.
pub fn assert_grads_match(
    what: &str,
    params: &tunebench::model::params::Params,
    grads: &tunebench::train::optim::Grads,
    expected: &std::collections::HashMap<String, candle_core::Tensor>,
) {
    let mut checked = 0;
    for ((name, _), grad) in params.vars.iter().zip(&grads.0) {
        let Some(want) = expected.get(&format!("grad.{name}")) else {
            panic!("{what}: {name} trains here but not in transformers");
        };
        let grad = grad.as_ref().unwrap_or_else(|| panic!("{name}: no grad"));
        let diff = max_abs_diff(grad, want);
        let rel = diff / max_abs(want).max(1e-6);
        let noise = if name.ends_with("key.bias") || name.ends_with("k_lin.bias") {
            1e-5
        } else {
            1e-7
        };
        assert!(
            rel < 1e-4 || diff < noise,
            "{what} {name}: gradient differs by {rel} (rel)"
        );
        checked += 1;
    }
    let want = expected.keys().filter(|k| k.starts_with("grad.")).count();
    assert_eq!(checked, want, "{what}: the same tensors train");
}
