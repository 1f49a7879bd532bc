//! Quantized and bf16 inference: int8 logits against PyTorch's
//! `quantize_dynamic` (tests/fixtures/bert/quant, from make_fixtures.py),
//! weight codes, agreement with f32 on the bundled held-out set, and the
//! CLI's check against f32.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{fixture, quick_config, reviews};
use tunebench::config::InferencePrecision;
use tunebench::model::quant::Int8Weight;
use tunebench::model::Mode;
use tunebench::predict::Predictor;

fn expected() -> std::collections::HashMap<String, Tensor> {
    candle_core::safetensors::load(
        fixture("bert").join("quant/expected.safetensors"),
        &Device::Cpu,
    )
    .unwrap()
}

fn logits(p: &Predictor, e: &std::collections::HashMap<String, Tensor>) -> Tensor {
    let ids = e["input_ids"].to_dtype(DType::U32).unwrap();
    let mask = e["attention_mask"].to_dtype(DType::F32).unwrap();
    p.model.forward(&ids, &mask, &mut Mode::Eval).unwrap()
}

fn load(precision: InferencePrecision) -> Predictor {
    Predictor::load(&fixture("bert").join("model"), &Device::Cpu)
        .unwrap()
        .with_precision(precision)
        .unwrap()
}

#[test]
fn int8_logits_match_pytorch_quantize_dynamic_row_by_row() {
    let e = expected();
    let got = logits(&load(InferencePrecision::Int8), &e);
    let want = &e["logits_int8_per_row"];
    let diff = common::max_abs_diff(&got, want);
    assert!(diff < 1e-4, "int8 logits {diff} from PyTorch's");
    // It is quantized: f32's logits are much further away.
    let from_f32 = common::max_abs_diff(&got, &e["logits_f32"]);
    assert!(from_f32 > 100.0 * diff.max(1e-6), "{from_f32} vs {diff}");
}

#[test]
fn int8_weight_codes_and_scales_are_pytorchs() {
    let e = expected();
    let weights = candle_core::safetensors::load(
        fixture("bert").join("model/model.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let w = &weights["bert.encoder.layer.0.attention.self.query.weight"];
    let (n, k) = w.dims2().unwrap();
    let q = Int8Weight::quantize(&w.flatten_all().unwrap().to_vec1().unwrap(), n, k);
    let codes = e["query0.codes"].to_vec2::<i32>().unwrap();
    for (c, row) in codes.iter().enumerate() {
        for (i, &want) in row.iter().enumerate() {
            assert_eq!(q.code(c, i) as i32, want, "output {c} input {i}");
        }
    }
    let scales = e["query0.scales"].to_vec1::<f32>().unwrap();
    assert_eq!(&q.scale[..n], &scales[..]);
}

#[test]
fn bf16_weights_stay_close_to_f32() {
    let e = expected();
    let got = logits(&load(InferencePrecision::Bf16), &e);
    let diff = common::max_abs_diff(&got, &e["logits_f32"]);
    assert!(diff > 0.0 && diff < 2e-2, "bf16 logits {diff} from f32's");
}

#[test]
fn int8_agrees_with_f32_on_the_bundled_heldout_set() {
    let out = tempfile::tempdir().unwrap();
    let cfg = tunebench::config::RunConfig {
        epochs: 3,
        lr: Some(1e-3),
        ..quick_config("scratch:mini")
    };
    tunebench::train::prepare(cfg, out.path())
        .unwrap()
        .run_to_end();
    let best = out.path().join("best");
    let (_, heldout) = reviews();
    let ds = tunebench::data::load_file(&heldout, &Default::default()).unwrap();
    let predict = |p: InferencePrecision| -> Vec<String> {
        Predictor::load(&best, &Device::Cpu)
            .unwrap()
            .with_precision(p)
            .unwrap()
            .predict_rows(&ds.rows)
            .unwrap()
            .into_iter()
            .map(|p| p.label)
            .collect()
    };
    let f32_labels = predict(InferencePrecision::F32);
    for p in [InferencePrecision::Int8, InferencePrecision::Bf16] {
        let agree = predict(p)
            .iter()
            .zip(&f32_labels)
            .filter(|(a, b)| a == b)
            .count();
        let share = agree as f64 / f32_labels.len() as f64;
        eprintln!("{}: {agree}/{} agree with f32", p.name(), f32_labels.len());
        assert!(share >= 0.99, "{}: {share}", p.name());
    }
}

#[test]
fn eval_in_int8_reports_agreement_with_f32() {
    let dir = tempfile::tempdir().unwrap();
    let heldout = dir.path().join("heldout.csv");
    std::fs::write(
        &heldout,
        "text,label\nthe movie was great,pos\na very boring and slow film,neg\n\
         i loved the ending !,pos\nit was fine i guess,neutral\nthe worst plot,neg\n",
    )
    .unwrap();
    let run = |format: &str| {
        let out = common::cli::tunebench()
            .args([
                "eval",
                "--precision",
                "int8",
                "--format",
                format,
                "--checkpoint",
            ])
            .arg(fixture("bert").join("model"))
            .arg("--data")
            .arg(&heldout)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let table = run("table");
    assert!(table.contains("int8 vs f32: agreement"), "{table}");
    let json: serde_json::Value = serde_json::from_str(run("json").trim()).unwrap();
    let check = &json["precision_check"];
    assert_eq!(check["precision"], "int8");
    assert_eq!(check["metric"], "accuracy");
    let agreement = check["agreement"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&agreement));
    assert_eq!(check["f32_value"].as_f64().unwrap(), {
        // The f32 accuracy is the plain eval's.
        let out = common::cli::tunebench()
            .args(["eval", "--format", "json", "--checkpoint"])
            .arg(fixture("bert").join("model"))
            .arg("--data")
            .arg(&heldout)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["accuracy"].as_f64().unwrap()
    });
}

#[test]
fn int8_on_a_gpu_and_in_training_are_refused_clearly() {
    let out = common::cli::tunebench()
        .args([
            "train",
            "--precision",
            "int8",
            "--model",
            "scratch:tiny",
            "--data",
        ])
        .arg(reviews().0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("int8 is for inference"), "{err}");
}

/// The TUI playground's predictor thread (`--checkpoint DIR --precision
/// int8`) answers with int8 scores: the same as a Predictor in int8.
#[test]
fn the_playground_predictor_scores_in_int8() {
    use tunebench::protocol::{Command as Cmd, Event};
    let dir = fixture("bert").join("model");
    let (tx, rx) =
        tunebench::predict::spawn_predictor(dir, None, "cpu".into(), InferencePrecision::Int8);
    tx.send(Cmd::Predict {
        id: 3,
        text: "the movie was great".into(),
        text_pair: None,
        explain: None,
    })
    .unwrap();
    let got = rx
        .iter()
        .find_map(|e| match e {
            Event::Prediction {
                id: 3, prediction, ..
            } => Some(prediction),
            _ => None,
        })
        .unwrap();
    let want = load(InferencePrecision::Int8)
        .predict(&["the movie was great"])
        .unwrap();
    let f32_answer = load(InferencePrecision::F32)
        .predict(&["the movie was great"])
        .unwrap();
    assert_eq!(got.logits, want[0].logits);
    assert_ne!(got.logits, f32_answer[0].logits);
}

/// A metric drop over a point makes the check name the layer whose
/// outputs moved most, found by running the quantized model again.
#[test]
fn a_large_drop_names_the_layer_furthest_from_f32() {
    let p = load(InferencePrecision::Int8);
    let ids: Vec<Vec<u32>> = vec![vec![2, 7, 12, 9, 15, 3], vec![2, 40, 41, 42, 3]];
    let targets = tunebench::data::Targets::Classes(vec![2, 0]);
    let right = vec![vec![0.0, 0.0, 1.0], vec![1.0, 0.0, 0.0]];
    let wrong = vec![vec![1.0, 0.0, 0.0], vec![1.0, 0.0, 0.0]];
    let check =
        tunebench::precision_check::compare(&p.model, "int8", 0, &ids, &targets, &wrong, &right)
            .unwrap();
    assert_eq!(check.agreement, 0.5);
    assert_eq!((check.f32_value, check.value), (1.0, 0.5));
    let (layer, err) = check.worst_layer.expect("a layer is named");
    assert!(layer.starts_with("bert.encoder.layer."), "{layer}");
    assert!(err > 0.0 && err < 0.5, "{err}");
    // No drop, no probe.
    let fine =
        tunebench::precision_check::compare(&p.model, "int8", 0, &ids, &targets, &right, &right)
            .unwrap();
    assert!(fine.worst_layer.is_none() && fine.agreement == 1.0);
}

/// A peft LoRA adapter is merged into the weights before they are
/// quantized: int8 scores the adapted model, not its base.
#[test]
fn a_lora_adapter_is_merged_before_quantizing() {
    let adapter = fixture("bert").join("lora/adapter");
    let base = fixture("bert").join("model");
    let logits = |dir: &std::path::Path, base: Option<&std::path::Path>, p| {
        Predictor::load_with_base(dir, base, &Device::Cpu)
            .unwrap()
            .with_precision(p)
            .unwrap()
            .predict(&["the movie was great"])
            .unwrap()[0]
            .logits
            .clone()
    };
    let lora_f32 = logits(&adapter, Some(&base), InferencePrecision::F32);
    let lora_int8 = logits(&adapter, Some(&base), InferencePrecision::Int8);
    let base_f32 = logits(&base, None, InferencePrecision::F32);
    let dist = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    assert!(
        dist(&lora_int8, &lora_f32) < 0.05,
        "{lora_int8:?} vs {lora_f32:?}"
    );
    assert!(dist(&lora_f32, &base_f32) > 0.5);
    assert!(dist(&lora_int8, &lora_f32) > 0.0);
}
