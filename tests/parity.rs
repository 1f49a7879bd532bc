//! Parity with PyTorch + transformers: logits, loss, gradient norm and one
//! clipped AdamW step, against values made by tests/fixtures/make_fixtures.py.
//! On CPU by default; scripts/gpu-check.sh runs the same tests on CUDA in f32
//! and bf16 (TUNEBENCH_TEST_DEVICE / TUNEBENCH_TEST_PRECISION), with the
//! tolerances of `Tolerance::for_precision`.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{fixture, max_abs, max_abs_diff, test_device};
use std::collections::HashMap;
use tunebench::config::Precision;
use tunebench::data::Task;
use tunebench::model::checkpoint::ModelDir;
use tunebench::model::{Classifier, Mode};
use tunebench::predict::Predictor;
use tunebench::rng::Rng;
use tunebench::train::optim::{clip_coefficient, AdamW, AdamWConfig, Grads};
use tunebench::train::step::task_loss;

struct Expected {
    tensors: HashMap<String, Tensor>,
    json: serde_json::Value,
}

fn expected(arch: &str) -> Expected {
    let dir = fixture(arch);
    Expected {
        tensors: candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu)
            .unwrap(),
        json: serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
            .unwrap(),
    }
}

/// How close to PyTorch's f32 numbers each precision must come.
struct Tolerance {
    logits_abs: f32,
    loss_abs: f64,
    grad_norm_rel: f64,
    /// Updated weights, relative to the tensor's largest entry. None: not
    /// compared (a first AdamW step moves each weight by ±lr whatever the
    /// gradient's size, so half precision flips the sign of tiny gradients).
    weights_rel: Option<f32>,
}

impl Tolerance {
    fn for_precision(p: Precision) -> Self {
        match p {
            Precision::F32 => Tolerance {
                logits_abs: 1e-4,
                loss_abs: 1e-5,
                grad_norm_rel: 1e-4,
                weights_rel: Some(1e-5),
            },
            // 8 mantissa bits: ~0.4% per rounding, through a few layers.
            Precision::Bf16 => Tolerance {
                logits_abs: 5e-2,
                loss_abs: 2e-2,
                grad_norm_rel: 5e-2,
                weights_rel: None,
            },
            Precision::F16 => Tolerance {
                logits_abs: 1e-2,
                loss_abs: 5e-3,
                grad_norm_rel: 1e-2,
                weights_rel: None,
            },
        }
    }
}

fn load_classifier(dir: &std::path::Path) -> Classifier {
    let md = ModelDir::open(dir).unwrap();
    let labels = md.labels.clone().expect("fixture has id2label");
    let spec = md.build_spec(labels, md.read_weights().unwrap(), true);
    Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap()
}

/// `precision`: None for the test device's own (TUNEBENCH_TEST_PRECISION).
fn check_training_step(arch: &str, precision: Option<Precision>) {
    let exp = expected(arch);
    let (device, default_precision) = test_device();
    let precision = precision.unwrap_or(default_precision);
    let tol = Tolerance::for_precision(precision);
    let md = ModelDir::open(&fixture(arch).join("model")).unwrap();
    let labels = md.labels.clone().expect("fixture has id2label");
    let spec = md.build_spec(labels, md.read_weights().unwrap(), true);
    let model = Classifier::build(spec, &mut Rng::seeded(0), &device)
        .unwrap()
        .with_compute_dtype(precision.dtype())
        .with_task(md.task, Vec::new());
    assert!(
        model.fresh.is_empty(),
        "all weights loaded: {:?}",
        model.fresh
    );
    let on_device = |name: &str, dtype: DType| {
        exp.tensors[name]
            .to_dtype(dtype)
            .unwrap()
            .to_device(&device)
            .unwrap()
    };
    let ids = on_device("input_ids", DType::U32);
    let mask = on_device("attention_mask", DType::F32);
    let label_dtype = match model.task {
        Task::SingleLabel => DType::U32,
        Task::MultiLabel | Task::Regression => DType::F32,
        Task::TokenClassification => DType::I64,
    };
    let labels = on_device("labels", label_dtype);
    let what = format!("{arch} on {device:?} in {}", precision.name());

    let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
    let d = max_abs_diff(&logits, &exp.tensors["logits"]);
    eprintln!("{what}: logits max |diff| {d:.3e}");
    assert!(d < tol.logits_abs, "{what}: logits differ by {d}");

    let loss = task_loss(model.task, &logits, &labels).unwrap();
    let want_loss = exp.json["loss"].as_f64().unwrap();
    let got_loss = loss.to_scalar::<f32>().unwrap() as f64;
    eprintln!("{what}: loss {got_loss:.6} vs {want_loss:.6}");
    assert!(
        (got_loss - want_loss).abs() < tol.loss_abs,
        "{what}: loss {got_loss} vs {want_loss}"
    );

    let grads = Grads::collect(&model.params, &loss.backward().unwrap());
    assert!(
        grads.0.iter().all(Option::is_some),
        "{arch}: every tensor gets a gradient"
    );
    // Every gradient, where the fixture keeps them (the task heads').
    for (i, (name, _)) in model.params.vars.iter().enumerate() {
        let Some(want) = exp.tensors.get(&format!("grad.{name}")) else {
            continue;
        };
        // Zero in exact arithmetic (see below): both sides hold noise.
        if name.ends_with("key.bias") {
            continue;
        }
        let got = grads.0[i].as_ref().unwrap();
        let rel = max_abs_diff(got, want) / max_abs(want).max(1e-6);
        assert!(rel < 1e-3, "{what}: gradient of {name} differs, rel {rel}");
    }
    let norm = grads.global_norm().unwrap();
    let want_norm = exp.json["grad_norm"].as_f64().unwrap();
    eprintln!("{what}: grad norm {norm:.6} vs {want_norm:.6}");
    assert!(
        ((norm - want_norm) / want_norm).abs() < tol.grad_norm_rel,
        "{what}: grad norm {norm} vs {want_norm}"
    );
    let Some(weights_rel) = tol.weights_rel else {
        return;
    };

    let max_norm = exp.json["max_grad_norm"].as_f64().unwrap();
    let mut opt = AdamW::new(
        &model.params,
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: exp.json["weight_decay"].as_f64().unwrap(),
        },
    )
    .unwrap();
    opt.step(
        &grads,
        exp.json["lr"].as_f64().unwrap(),
        clip_coefficient(norm, max_norm),
    )
    .unwrap();
    let mut worst = (0f32, String::new());
    for (name, var) in &model.params.vars {
        // The key bias has a zero gradient in exact arithmetic (softmax is
        // shift-invariant), so both sides update it by noise/(noise + eps).
        if name.ends_with("key.bias") || name.ends_with("k_lin.bias") {
            continue;
        }
        let want = &exp.tensors[&format!("updated.{name}")];
        let scale = max_abs(want).max(1e-3);
        let rel = max_abs_diff(var.as_tensor(), want) / scale;
        if rel > worst.0 {
            worst = (rel, name.clone());
        }
    }
    eprintln!(
        "{what}: updated weights worst rel {:.3e} ({})",
        worst.0, worst.1
    );
    assert!(
        worst.0 < weights_rel,
        "{what}: updated weights differ, worst {} rel {}",
        worst.1,
        worst.0
    );
}

#[test]
fn bert_logits_loss_grad_norm_and_adamw_step_match_pytorch() {
    check_training_step("bert", None);
}

#[test]
fn distilbert_logits_loss_grad_norm_and_adamw_step_match_pytorch() {
    check_training_step("distilbert", None);
}

/// RoBERTa: positions from pad_token_id + 1, one token type, the two-layer
/// head; byte-level BPE tokenizer.
#[test]
fn roberta_logits_loss_grad_norm_and_adamw_step_match_pytorch() {
    check_training_step("roberta", None);
}

/// XLM-RoBERTa: RoBERTa's network with a SentencePiece-Unigram tokenizer.
#[test]
fn xlm_roberta_logits_loss_grad_norm_and_adamw_step_match_pytorch() {
    check_training_step("xlm-roberta", None);
}

/// A multi-label head (`problem_type` multi_label_classification): BCE
/// with logits over every (row, label), as transformers computes it.
#[test]
fn multi_label_logits_bce_loss_gradients_and_adamw_step_match_pytorch() {
    check_training_step("tasks/multi_label", None);
}

/// A regression head (`problem_type` regression, one output): MSE.
#[test]
fn regression_logits_mse_loss_gradients_and_adamw_step_match_pytorch() {
    check_training_step("tasks/regression", None);
}

/// Mixed precision against the same f32 reference, at bf16's tolerances.
#[test]
fn bf16_logits_loss_and_grad_norm_stay_near_pytorch_f32() {
    check_training_step("bert", Some(Precision::Bf16));
    check_training_step("distilbert", Some(Precision::Bf16));
}

#[test]
fn hf_checkpoint_with_tokenizer_predicts_like_transformers() {
    for arch in ["bert", "distilbert", "roberta", "xlm-roberta"] {
        let exp = expected(arch);
        let (device, precision) = test_device();
        let tol = Tolerance::for_precision(precision);
        let p = Predictor::load(&fixture(arch).join("model"), &device)
            .unwrap()
            .with_precision(precision)
            .unwrap();
        let texts: Vec<String> = serde_json::from_value(exp.json["texts"].clone()).unwrap();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let preds = p.predict(&refs).unwrap();
        let want = exp.tensors["text_logits"].to_vec2::<f32>().unwrap();
        for (pred, w) in preds.iter().zip(want) {
            for (a, b) in pred.logits.iter().zip(w) {
                assert!((a - b).abs() < tol.logits_abs, "{arch}: {:?}", pred.logits);
            }
        }
        assert_eq!(p.model.labels.names(), &["neg", "neutral", "pos"]);
    }
}

/// Sentence pairs: [CLS] a [SEP] b [SEP] with token type ids 0 then 1,
/// as transformers runs GLUE/CLUE pair tasks.
#[test]
fn sentence_pairs_use_token_types_as_transformers() {
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("bert").join("pairs.json")).unwrap())
            .unwrap();
    let p = Predictor::load(&fixture("bert").join("model"), &Device::Cpu).unwrap();
    let rows: Vec<tunebench::data::Row> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| tunebench::data::Row {
            text: pair[0].as_str().unwrap().into(),
            text_b: Some(pair[1].as_str().unwrap().into()),
            label: None,
            line: 0,
            words: None,
        })
        .collect();
    let ids = p.text.encode_rows(&rows).unwrap();
    let want_ids: Vec<Vec<u32>> = serde_json::from_value(fx["input_ids"].clone()).unwrap();
    for (got, want) in ids.iter().zip(&want_ids) {
        assert_eq!(got[..], want[..got.len()], "pair encoding");
    }
    let want: Vec<Vec<f32>> = serde_json::from_value(fx["logits"].clone()).unwrap();
    let preds = p.predict_rows(&rows).unwrap();
    for (pred, w) in preds.iter().zip(&want) {
        for (a, b) in pred.logits.iter().zip(w) {
            assert!((a - b).abs() < 1e-4, "{:?} vs {w:?}", pred.logits);
        }
    }
    // The types matter: all-zero types give other logits.
    let untyped: Vec<Vec<f32>> =
        serde_json::from_value(fx["logits_without_types"].clone()).unwrap();
    assert!(untyped
        .iter()
        .zip(&want)
        .any(|(u, w)| (u[0] - w[0]).abs() > 1e-3));
}

#[test]
fn bare_encoder_gets_fresh_head_and_keeps_encoder_weights() {
    let md = ModelDir::open(&fixture("bert").join("encoder")).unwrap();
    assert!(
        md.labels.is_none(),
        "a bare encoder's LABEL_n defaults are not labels"
    );
    let weights = md.read_weights().unwrap();
    assert!(weights.contains_key("bert.embeddings.word_embeddings.weight"));
    let labels = tunebench::data::Labels::new(vec!["a".into(), "b".into()]);
    let spec = md.build_spec(labels, weights, false);
    let model = Classifier::build(spec, &mut Rng::seeded(3), &Device::Cpu).unwrap();
    assert_eq!(model.fresh, vec!["classifier.weight", "classifier.bias"]);
    let full = load_classifier(&fixture("bert").join("model"));
    let name = "bert.encoder.layer.1.output.dense.weight";
    let d = max_abs_diff(
        model.params.get(name).unwrap().as_tensor(),
        full.params.get(name).unwrap().as_tensor(),
    );
    assert_eq!(d, 0.0);
    // BERT init for the fresh head: N(0, initializer_range) weights.
    let w = model.params.get("classifier.weight").unwrap().as_tensor();
    let std = w
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
        .sqrt();
    let want = md.config.init_range as f32;
    assert!(std > 0.7 * want && std < 1.3 * want, "{std} vs {want}");
}

/// The optimizer the test device uses (fused host pass on CPU, one NVRTC
/// kernel per parameter on CUDA) against the plain tensor formula.
#[test]
fn fused_adamw_matches_the_tensor_formula_on_the_test_device() {
    use candle_core::Var;
    use tunebench::model::params::Params;
    let (device, _) = test_device();
    let mut rng = Rng::seeded(9);
    let init: Vec<f32> = (0..3000).map(|_| rng.normal()).collect();
    let make = || Params {
        vars: vec![(
            "w.weight".into(),
            Var::from_slice(&init, (30, 100), &device).unwrap(),
        )],
        frozen: vec![],
    };
    let cfg = AdamWConfig {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    };
    let (pa, pb) = (make(), make());
    let mut fused = AdamW::new(&pa, cfg.clone()).unwrap();
    let mut plain = AdamW::with_tensor_moments(&pb, cfg).unwrap();
    for step in 0..4 {
        let g: Vec<f32> = (0..3000).map(|_| rng.normal()).collect();
        let g = Tensor::from_vec(g, (30, 100), &device).unwrap();
        let grads = || Grads(vec![Some(g.clone())]);
        fused.step(&grads(), 1e-2, 0.5).unwrap();
        plain.step(&grads(), 1e-2, 0.5).unwrap();
        let d = max_abs_diff(pa.vars[0].1.as_tensor(), pb.vars[0].1.as_tensor());
        assert!(d < 1e-6, "{device:?} step {step}: weights differ by {d}");
    }
    for ((na, ta), (nb, tb)) in fused
        .state_tensors()
        .unwrap()
        .iter()
        .zip(&plain.state_tensors().unwrap())
    {
        assert_eq!(na, nb);
        let d = max_abs_diff(ta, tb);
        assert!(d < 1e-6, "{device:?}: {na} differs by {d}");
    }
}

/// Fused ops (CPU passes, or the CUDA kernels on a GPU) against candle's
/// compositions in f32 on the same device: outputs and the gradients of
/// Σ(out · noise), in f32 and in the half dtypes the GPU runs them in.
#[test]
fn fused_ops_match_compositions_on_the_test_device() {
    use candle_core::{Var, D};
    use tunebench::model::fused;
    let (device, _) = test_device();
    let mut rng = Rng::seeded(5);
    let mut randn = |shape: &[usize]| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        Tensor::from_vec(v, shape, &device).unwrap()
    };
    let var = |t: Tensor| Var::from_tensor(&t).unwrap();
    // Forward outputs, then the gradients of Σ(out · noise) for each var.
    let check = |what: &str,
                 dtype: DType,
                 fused: &Tensor,
                 slow: &Tensor,
                 noise: &Tensor,
                 vars: &[(&str, &Var)]| {
        let (fwd_tol, bwd_tol) = match dtype {
            DType::F32 => (1e-4, 1e-3),
            DType::BF16 => (5e-2, 1e-1),
            _ => (1e-2, 2e-2),
        };
        let d = max_abs_diff(fused, slow);
        eprintln!("{what} {dtype:?}: forward max |diff| {d:.2e}");
        assert!(d < fwd_tol, "{what} {dtype:?}: forward differs by {d}");
        let backward = |out: &Tensor| {
            (out.to_dtype(DType::F32).unwrap() * noise)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        };
        let (gf, gs) = (backward(fused), backward(slow));
        for (name, v) in vars {
            let (a, b) = (
                gf.get(v.as_tensor()).unwrap(),
                gs.get(v.as_tensor()).unwrap(),
            );
            let scale = max_abs(b).max(1.0);
            let d = max_abs_diff(a, b) / scale;
            eprintln!("{what} {dtype:?}: d{name} max rel diff {d:.2e}");
            assert!(
                d < bwd_tol,
                "{what} {dtype:?}: d{name} differs by {d} (rel)"
            );
        }
    };
    for dtype in [DType::F32, DType::BF16, DType::F16] {
        if dtype != DType::F32 && device.is_cpu() {
            continue; // the CPU computes half precision through f32
        }
        // Layer norm over 384 (MiniLM's width), 3 × 5 rows.
        let x = var(randn(&[3, 5, 384]));
        let g = var(randn(&[384]).affine(0.1, 1.0).unwrap());
        let b = var(randn(&[384]));
        let xd = x.as_tensor().to_dtype(dtype).unwrap();
        let fused = fused::layer_norm(&xd, g.as_tensor(), b.as_tensor(), 1e-12).unwrap();
        let slow =
            candle_nn::ops::layer_norm_slow(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-12)
                .unwrap();
        let noise = randn(&[3, 5, 384]);
        let vars = [("x", &x), ("gamma", &g), ("beta", &b)];
        check("layer norm", dtype, &fused, &slow, &noise, &vars);

        // Attention softmax: (B 2, H 3, Lq 7, Lk 7), padding masked in batch 1.
        let s = var(randn(&[2, 3, 7, 7]));
        let mut m = vec![0f32; 14];
        m[12] = -1e9;
        m[13] = -1e9;
        let mask = Tensor::from_vec(m, (2, 1, 1, 7), &device).unwrap();
        let sd = s.as_tensor().to_dtype(dtype).unwrap();
        let fused = fused::attention_softmax(&sd, &mask, 0.125).unwrap();
        let scaled = (s.as_tensor() * 0.125).unwrap();
        let slow =
            candle_nn::ops::softmax(&scaled.broadcast_add(&mask).unwrap(), D::Minus1).unwrap();
        let noise = randn(&[2, 3, 7, 7]);
        check(
            "attention softmax",
            dtype,
            &fused,
            &slow,
            &noise,
            &[("scores", &s)],
        );

        // GELU (erf).
        let x = var((randn(&[4, 1000]) * 3.0).unwrap());
        let fused = fused::gelu_erf(&x.as_tensor().to_dtype(dtype).unwrap()).unwrap();
        let slow = x.as_tensor().gelu_erf().unwrap();
        let noise = randn(&[4, 1000]);
        check("gelu", dtype, &fused, &slow, &noise, &[("x", &x)]);
    }

    // Embedding with repeated ids: gather and scatter-add.
    let table = var(randn(&[50, 16]));
    let ids = Tensor::new(&[3u32, 7, 3, 49, 0, 3], &device).unwrap();
    let fused = fused::embedding(table.as_tensor(), &ids).unwrap();
    let slow = table.as_tensor().index_select(&ids, 0).unwrap();
    let noise = randn(&[6, 16]);
    check(
        "embedding",
        DType::F32,
        &fused,
        &slow,
        &noise,
        &[("table", &table)],
    );

    // Hash dropout: the same mask forward and backward, about p dropped,
    // survivors scaled by 1/(1-p), the same seed giving the same mask.
    let x = Var::from_tensor(&randn(&[64, 1000]).abs().unwrap().affine(1.0, 0.1).unwrap()).unwrap();
    if let Some(y) = fused::hash_dropout(x.as_tensor(), 0.1, 1234).unwrap() {
        let y = y.to_device(&Device::Cpu).unwrap();
        let again = fused::hash_dropout(x.as_tensor(), 0.1, 1234)
            .unwrap()
            .unwrap();
        assert_eq!(max_abs_diff(&y, &again), 0.0, "same seed, same mask");
        let xs = x
            .as_tensor()
            .to_device(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let ys = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let dropped = ys.iter().filter(|v| **v == 0.0).count() as f64 / ys.len() as f64;
        assert!((dropped - 0.1).abs() < 0.01, "dropped {dropped}");
        assert!(xs
            .iter()
            .zip(&ys)
            .all(|(a, b)| *b == 0.0 || (b / a - 1.0 / 0.9).abs() < 1e-5));
        let g = fused::hash_dropout(x.as_tensor(), 0.1, 1234)
            .unwrap()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gx = g
            .get(x.as_tensor())
            .unwrap()
            .to_device(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(
            gx.iter().zip(&ys).all(|(g, y)| (*g == 0.0) == (*y == 0.0)),
            "backward uses the forward's mask"
        );
    }
}

/// A LoRA adapter made by Python peft on the BERT fixture: loaded through
/// its recorded (relative) base, our logits, loss and the gradient of every
/// trainable tensor (lora_A/lora_B, classifier, pooler) match peft's.
#[test]
fn peft_lora_adapter_logits_loss_and_gradients_match_peft() {
    peft_adapter_matches("lora");
}

/// The same for DoRA (peft's `use_dora`): magnitudes moved off their
/// initial row norms, so the per-row scale is not 1; their gradients too.
#[test]
fn peft_dora_adapter_logits_loss_and_gradients_match_peft() {
    peft_adapter_matches("dora");
}

/// The same for (IA)³ with peft's BERT defaults (key and value scaled at
/// the output, both output denses at the input).
#[test]
fn peft_ia3_adapter_logits_loss_and_gradients_match_peft() {
    peft_adapter_matches("ia3");
}

fn peft_adapter_matches(kind: &str) {
    use tunebench::model::peft;
    let dir = fixture("bert").join(kind);
    let exp =
        candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let (spec, _tokenizer) = peft::load_spec(&dir.join("adapter"), None).unwrap();
    let model = Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap();
    peft::check_complete(&model, &dir).unwrap();
    assert!(model.unused.is_empty(), "{kind}: unused {:?}", model.unused);
    let ids = exp["input_ids"].to_dtype(DType::U32).unwrap();
    let mask = exp["attention_mask"].to_dtype(DType::F32).unwrap();
    let labels = exp["labels"].to_dtype(DType::U32).unwrap();

    let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
    let d = max_abs_diff(&logits, &exp["logits"]);
    eprintln!("peft {kind}: logits max |diff| {d:.3e}");
    assert!(d < 1e-4, "{kind}: logits differ by {d}");
    let loss = task_loss(model.task, &logits, &labels).unwrap();
    let (got, want) = (
        loss.to_scalar::<f32>().unwrap() as f64,
        json["loss"].as_f64().unwrap(),
    );
    assert!((got - want).abs() < 1e-5, "{kind}: loss {got} vs {want}");

    let grads = Grads::collect(&model.params, &loss.backward().unwrap());
    let mut trained: Vec<&str> = model.params.vars.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected: Vec<&str> = exp.keys().filter_map(|k| k.strip_prefix("grad.")).collect();
    trained.sort();
    expected.sort();
    assert_eq!(
        trained, expected,
        "{kind}: the same tensors train as in peft"
    );
    for ((name, _), grad) in model.params.vars.iter().zip(&grads.0) {
        let want = &exp[&format!("grad.{name}")];
        let grad = grad
            .as_ref()
            .unwrap_or_else(|| panic!("{kind} {name}: no gradient"));
        let rel = max_abs_diff(grad, want) / max_abs(want).max(1e-6);
        eprintln!("peft {kind}: d{name} rel diff {rel:.2e}");
        assert!(rel < 1e-4, "{kind} {name}: gradient differs by {rel} (rel)");
    }

    // The merged weights (export --merge) compute the same logits.
    let merged = model.rebuilt(tunebench::config::Freeze::Encoder).unwrap();
    let d = max_abs_diff(
        &merged.forward(&ids, &mask, &mut Mode::Eval).unwrap(),
        &exp["logits"],
    );
    eprintln!("peft {kind}: merged logits max |diff| {d:.3e}");
    assert!(d < 1e-4, "{kind}: merged logits differ by {d}");
}

/// Integrated Gradients against Captum's LayerIntegratedGradients on the
/// word embeddings (same baseline, 32 Gauss-Legendre steps, softmax
/// probability of the target): per-token scores within 1e-4, and
/// completeness (|delta| < 1e-3).
#[test]
fn integrated_gradients_match_captum() {
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("bert").join("explain.json")).unwrap(),
    )
    .unwrap();
    let p = Predictor::load(&fixture("bert").join("model"), &Device::Cpu).unwrap();
    for case in want["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let target = p.model.labels.id(case["target"].as_str().unwrap());
        let e =
            tunebench::explain::integrated_gradients(&p.model, &p.text, text, target, 32).unwrap();
        let tokens: Vec<&str> = e.tokens.iter().map(|t| t.token.as_str()).collect();
        let want_tokens: Vec<&str> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(tokens, want_tokens);
        assert_eq!(e.target, case["target"].as_str().unwrap());
        for (got, want) in e.tokens.iter().zip(case["scores"].as_array().unwrap()) {
            let d = (got.score as f64 - want.as_f64().unwrap()).abs();
            assert!(d < 1e-4, "{text}: {} {} vs {want}", got.token, got.score);
        }
        assert!(e.delta.abs() < 1e-3, "{text}: delta {}", e.delta);
        let sum: f32 = e.words.iter().map(|w| w.score).sum();
        assert!((sum - (e.prob - e.baseline_prob)).abs() < 1e-3);
        eprintln!("{text} → {}: delta {:.2e}", e.target, e.delta);
    }
}

/// Confident learning against cleanlab's `find_label_issues(labels,
/// pred_probs, return_indices_ranked_by="self_confidence")` on seeded
/// noisy cases: the same rows, in the same order.
#[test]
fn label_issues_match_cleanlab() {
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/label_issues.json")).unwrap(),
    )
    .unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let labels: Vec<usize> = serde_json::from_value(case["labels"].clone()).unwrap();
        let probs: Vec<Vec<f64>> = serde_json::from_value(case["probs"].clone()).unwrap();
        let want: Vec<usize> = serde_json::from_value(case["issues"].clone()).unwrap();
        let flipped: Vec<usize> = serde_json::from_value(case["flipped"].clone()).unwrap();
        let got = tunebench::explain::label_issues::find_label_issues(&labels, &probs);
        assert_eq!(got, want, "{} rows", labels.len());
        let hits = got.iter().filter(|i| flipped.contains(i)).count();
        eprintln!(
            "{} rows, {} flipped: {} found, precision {:.2}, recall {:.2}",
            labels.len(),
            flipped.len(),
            got.len(),
            hits as f64 / got.len().max(1) as f64,
            hits as f64 / flipped.len().max(1) as f64
        );
    }
}

/// AdaLoRA on the BERT fixture with peft's full-rank A, E, B: logits, the
/// loss with the orthogonality penalty, and every trainable gradient.
#[test]
fn adalora_logits_penalty_and_gradients_match_peft() {
    let dir = fixture("bert").join("adalora");
    let exp =
        candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let model = full_rank_adalora(&exp);
    let ids = exp["input_ids"].to_dtype(DType::U32).unwrap();
    let mask = exp["attention_mask"].to_dtype(DType::F32).unwrap();
    let labels = exp["labels"].to_dtype(DType::U32).unwrap();
    let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
    let d = max_abs_diff(&logits, &exp["logits"]);
    eprintln!("adalora: logits max |diff| {d:.3e}");
    assert!(d < 1e-4, "logits differ by {d}");
    let penalty = model.peft_penalty().unwrap().expect("a penalty");
    let loss = (task_loss(model.task, &logits, &labels).unwrap() + penalty).unwrap();
    let (got, want) = (
        loss.to_scalar::<f32>().unwrap() as f64,
        json["loss"].as_f64().unwrap(),
    );
    assert!((got - want).abs() < 1e-5, "loss {got} vs {want}");
    let grads = Grads::collect(&model.params, &loss.backward().unwrap());
    let mut trained: Vec<&str> = model.params.vars.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected: Vec<&str> = exp.keys().filter_map(|k| k.strip_prefix("grad.")).collect();
    trained.sort();
    expected.sort();
    assert_eq!(trained, expected, "the same tensors train as in peft");
    for ((name, _), grad) in model.params.vars.iter().zip(&grads.0) {
        let want = &exp[&format!("grad.{name}")];
        let grad = grad
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        let rel = max_abs_diff(grad, want) / max_abs(want).max(1e-6);
        assert!(rel < 1e-4, "{name}: gradient differs by {rel} (rel)");
    }
}

/// The rank allocator on a fixed sequence of 10 steps (values and
/// gradients of every A, E, B given): the budget schedule and, after each
/// step, which singular values are zeroed, equal peft's RankAllocator
/// (tinit 2: nothing masked before step 3; tfinal 3: the pattern of step 7
/// is applied from then on). Plain LoRA would mask nothing.
#[test]
fn adalora_rank_allocator_masks_what_peft_masks() {
    use tunebench::model::peft::adalora::RankAllocator;
    let dir = fixture("bert").join("adalora");
    let exp =
        candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let model = full_rank_adalora(&exp);
    let spec = match &model.peft {
        Some((tunebench::model::peft::PeftSpec::AdaLora(a), _)) => a.clone(),
        _ => unreachable!(),
    };
    let budgets: Vec<usize> = (1..=10).map(|s| spec.budget(s, 8, 48).0).collect();
    let want: Vec<usize> = json["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(budgets, want);
    let mut allocator = RankAllocator::new(spec, &model.params.vars);
    let mut fixed = None;
    let mut masked_steps = 0;
    for step in 1..=10 {
        for (name, var) in &model.params.vars {
            if let Some(t) = exp.get(&format!("seq.{step}.{name}")) {
                var.set(t).unwrap();
            }
        }
        let grad = |name: &str| exp.get(&format!("seqgrad.{step}.{name}")).cloned();
        if let Some(p) = allocator
            .update_and_allocate(step, &model.params.vars, &grad, fixed.as_ref())
            .unwrap()
        {
            if step == 7 {
                fixed = Some(p);
            }
        }
        for (name, var) in &model.params.vars {
            let Some(module) = name.strip_suffix(".lora_E") else {
                continue;
            };
            let kept: Vec<f32> = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|x| if *x != 0.0 { 1.0 } else { 0.0 })
                .collect();
            match exp.get(&format!("mask.{step}.{module}")) {
                Some(m) => {
                    assert_eq!(kept, m.to_vec1::<f32>().unwrap(), "step {step} {module}");
                    masked_steps += 1;
                }
                None => assert!(kept.iter().all(|k| *k == 1.0), "step {step}: masked early"),
            }
        }
    }
    assert_eq!(masked_steps, 8 * 8, "steps 3..=10 mask all 8 modules");
}

/// A peft AdaLoRA adapter saved after allocation (ranks cut per module,
/// rank_pattern in its config) loads with the logits peft gets from it.
#[test]
fn a_peft_adalora_adapter_with_cut_ranks_loads_with_peft_logits() {
    use tunebench::model::peft;
    let dir = fixture("bert").join("adalora");
    let exp =
        candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
    let (spec, _) = peft::load_spec(&dir.join("adapter"), None).unwrap();
    let model = Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap();
    peft::check_complete(&model, &dir).unwrap();
    assert!(model.unused.is_empty(), "{:?}", model.unused);
    let ids = exp["input_ids"].to_dtype(DType::U32).unwrap();
    let mask = exp["attention_mask"].to_dtype(DType::F32).unwrap();
    let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
    let d = max_abs_diff(&logits, &exp["loaded_logits"]);
    assert!(d < 1e-4, "logits differ by {d}");
    let merged = model.rebuilt(tunebench::config::Freeze::Encoder).unwrap();
    let d = max_abs_diff(
        &merged.forward(&ids, &mask, &mut Mode::Eval).unwrap(),
        &exp["loaded_logits"],
    );
    assert!(d < 1e-4, "merged logits differ by {d}");
}

/// bert/model with AdaLoRA (init_r 6, target_r 3, α 8, query/value/
/// output.dense, tinit 2, tfinal 3, 10 steps) and the fixture's A, E, B.
fn full_rank_adalora(exp: &std::collections::HashMap<String, Tensor>) -> Classifier {
    use tunebench::model::peft::{adalora::AdaLoraSpec, PeftSpec};
    let md = ModelDir::open(&fixture("bert").join("model")).unwrap();
    let labels = md.labels.clone().unwrap();
    let mut spec = md.build_spec(labels, md.read_weights().unwrap(), true);
    spec.peft = Some(PeftSpec::AdaLora(AdaLoraSpec {
        init_r: 6,
        target_r: 3,
        alpha: 8.0,
        dropout: 0.0,
        targets: ["query", "value", "output.dense"]
            .map(String::from)
            .to_vec(),
        tinit: 2,
        tfinal: 3,
        delta_t: 1,
        beta1: 0.85,
        beta2: 0.85,
        orth_reg: 0.5,
        total_step: 10,
        rank_pattern: None,
    }));
    spec.overrides = exp
        .iter()
        .filter_map(|(k, t)| k.strip_prefix("param.").map(|n| (n.to_string(), t.clone())))
        .collect();
    let model = Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap();
    assert!(model.fresh.is_empty(), "{:?}", model.fresh);
    model
}

/// Prefix tuning against peft (transformers 4.57, which still passes past
/// keys and values to BERT): the plain table and the MLP-projected one,
/// logits, loss and every trainable gradient; then the adapter peft saved
/// (the projected table) loads with the same logits.
#[test]
fn prefix_tuning_matches_peft() {
    use tunebench::model::peft::{self, prefix::PrefixSpec, PeftSpec};
    for (kind, projection) in [("prefix", None), ("prefix-mlp", Some(16))] {
        let dir = fixture("bert").join(kind);
        let exp =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let md = ModelDir::open(&fixture("bert").join("model")).unwrap();
        let mut spec = md.build_spec(md.labels.clone().unwrap(), md.read_weights().unwrap(), true);
        spec.peft = Some(PeftSpec::Prefix(PrefixSpec {
            tokens: 3,
            projection,
        }));
        spec.overrides = exp
            .iter()
            .filter_map(|(k, t)| k.strip_prefix("param.").map(|n| (n.to_string(), t.clone())))
            .collect();
        let model = Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap();
        assert!(model.fresh.is_empty(), "{kind}: fresh {:?}", model.fresh);
        let ids = exp["input_ids"].to_dtype(DType::U32).unwrap();
        let mask = exp["attention_mask"].to_dtype(DType::F32).unwrap();
        let labels = exp["labels"].to_dtype(DType::U32).unwrap();
        let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
        let d = max_abs_diff(&logits, &exp["logits"]);
        eprintln!("{kind}: logits max |diff| {d:.3e}");
        assert!(d < 1e-4, "{kind}: logits differ by {d}");
        let loss = task_loss(model.task, &logits, &labels).unwrap();
        let got = loss.to_scalar::<f32>().unwrap() as f64;
        let want = json["loss"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-5, "{kind}: loss {got} vs {want}");
        let grads = Grads::collect(&model.params, &loss.backward().unwrap());
        let mut trained: Vec<&str> = model.params.vars.iter().map(|(n, _)| n.as_str()).collect();
        let mut expected: Vec<&str> = exp.keys().filter_map(|k| k.strip_prefix("grad.")).collect();
        trained.sort();
        expected.sort();
        assert_eq!(
            trained, expected,
            "{kind}: the same tensors train as in peft"
        );
        for ((name, _), grad) in model.params.vars.iter().zip(&grads.0) {
            let want = &exp[&format!("grad.{name}")];
            let grad = grad
                .as_ref()
                .unwrap_or_else(|| panic!("{kind} {name}: no gradient"));
            let rel = max_abs_diff(grad, want) / max_abs(want).max(1e-6);
            assert!(rel < 1e-4, "{kind} {name}: gradient differs by {rel} (rel)");
        }
        // peft's saved adapter: the projected table, the head.
        let (spec, _) = peft::load_spec(&dir.join("adapter"), None).unwrap();
        let loaded = Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap();
        peft::check_complete(&loaded, &dir).unwrap();
        assert!(
            loaded.unused.is_empty(),
            "{kind}: unused {:?}",
            loaded.unused
        );
        let d = max_abs_diff(
            &loaded.forward(&ids, &mask, &mut Mode::Eval).unwrap(),
            &exp["logits"],
        );
        assert!(d < 1e-4, "{kind}: the saved adapter's logits differ by {d}");
    }
}
