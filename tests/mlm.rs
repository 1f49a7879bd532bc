//! Masked-LM heads against transformers (tests/fixtures/mlm from
//! `make_fixtures.py --only mlm`): BertForMaskedLM, RobertaForMaskedLM and
//! DistilBertForMaskedLM load with every tensor used and none made up, give
//! transformers' logits at every piece and at the masked ones, its loss, and
//! every gradient — the word embeddings' gathering both uses, as the decoder
//! is tied to them.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use tunebench::model::checkpoint::ModelDir;
use tunebench::model::config::HeadKind;
use tunebench::model::{Classifier, Mode};
use tunebench::rng::Rng;
use tunebench::train::optim::Grads;

fn trainable(arch: &str) -> Classifier {
    let md = ModelDir::open(&fixture("mlm").join(arch).join("model")).unwrap();
    let labels = md
        .labels
        .clone()
        .unwrap_or_else(|| tunebench::data::Labels::new(vec!["a".into(), "b".into()]));
    let spec = md.build_spec(labels, md.read_weights().unwrap(), true);
    Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap()
}

/// transformers' MLM labels (B, L), -100 where not masked → the masked
/// pieces' flat positions (M,) u32 and their targets (M,) u32.
fn masked_pieces(labels: &Tensor) -> (Tensor, Tensor) {
    let labels: Vec<i64> = labels.flatten_all().unwrap().to_vec1().unwrap();
    let (positions, targets): (Vec<u32>, Vec<u32>) = labels
        .iter()
        .enumerate()
        .filter(|(_, &l)| l >= 0)
        .map(|(i, &l)| (i as u32, l as u32))
        .unzip();
    (
        Tensor::new(positions.as_slice(), &Device::Cpu).unwrap(),
        Tensor::new(targets.as_slice(), &Device::Cpu).unwrap(),
    )
}

#[test]
fn masked_lm_heads_match_transformers() {
    for arch in ["bert", "roberta", "distilbert"] {
        let dir = fixture("mlm").join(arch);
        let exp =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let model = trainable(arch);
        assert_eq!(model.config.head, HeadKind::MaskedLm, "{arch}");
        assert!(model.fresh.is_empty(), "{arch}: made up {:?}", model.fresh);
        assert!(model.unused.is_empty(), "{arch}: left {:?}", model.unused);
        let ids = exp["input_ids"].to_dtype(DType::U32).unwrap();
        let mask = exp["attention_mask"].to_dtype(DType::F32).unwrap();
        // Every piece's logits, on the real pieces.
        let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
        assert_eq!(logits.dims(), exp["logits"].dims(), "{arch}");
        let real = mask.unsqueeze(2).unwrap();
        let d = max_abs_diff(
            &logits.broadcast_mul(&real).unwrap(),
            &exp["logits"].broadcast_mul(&real).unwrap(),
        );
        assert!(d < 1e-4, "{arch}: logits differ by {d}");
        // The masked pieces alone, and transformers' loss on them.
        let (positions, targets) = masked_pieces(&exp["labels"]);
        let picked = model
            .masked_lm_logits(&ids, &mask, &positions, &mut Mode::Eval)
            .unwrap();
        let v = exp["logits"].dim(2).unwrap();
        let want_picked = exp["logits"]
            .reshape(((), v))
            .unwrap()
            .index_select(&positions, 0)
            .unwrap();
        let d = max_abs_diff(&picked, &want_picked);
        assert!(d < 1e-4, "{arch}: masked logits differ by {d}");
        let loss = candle_nn::loss::cross_entropy(&picked, &targets).unwrap();
        let got = f64::from(loss.to_scalar::<f32>().unwrap());
        let want_loss = want["loss"].as_f64().unwrap();
        assert!(
            (got - want_loss).abs() < 1e-5,
            "{arch}: loss {got} vs {want_loss}"
        );
        let grads = Grads::collect(&model.params, &loss.backward().unwrap());
        assert_grads_match(arch, &model.params, &grads, &exp);
    }
}

/// A base without a masked-LM head (an encoder fine-tuned for classes, or
/// a sentence-transformers one) gets one as transformers initialises it:
/// LayerNorm 1/0, bias 0, dense N(0, initializer_range); the decoder is the
/// word embeddings.
#[test]
fn a_base_without_a_masked_lm_head_gets_a_fresh_one() {
    let md = ModelDir::open(&fixture("bert").join("model")).unwrap();
    let labels = md.labels.clone().unwrap();
    let mut spec = md.build_spec(labels, md.read_weights().unwrap(), true);
    spec.config.head = HeadKind::MaskedLm;
    let model = Classifier::build(spec, &mut Rng::seeded(1), &Device::Cpu).unwrap();
    let mut fresh = model.fresh.clone();
    fresh.sort();
    assert_eq!(
        fresh,
        [
            "cls.predictions.bias",
            "cls.predictions.transform.LayerNorm.bias",
            "cls.predictions.transform.LayerNorm.weight",
            "cls.predictions.transform.dense.bias",
            "cls.predictions.transform.dense.weight",
        ]
    );
    let get = |n: &str| model.params.get(n).unwrap().as_tensor().clone();
    assert_eq!(max_abs(&get("cls.predictions.bias")), 0.0);
    let norm: Vec<f32> = get("cls.predictions.transform.LayerNorm.weight")
        .to_vec1()
        .unwrap();
    assert!(norm.iter().all(|&x| x == 1.0));
    let dense: Vec<f32> = get("cls.predictions.transform.dense.weight")
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let std = (dense.iter().map(|x| x * x).sum::<f32>() / dense.len() as f32).sqrt();
    let range = model.config.init_range as f32;
    assert!((std - range).abs() < 0.1 * range, "{std} vs {range}");
    // The classifier's own head and pooler are not part of it.
    assert!(model.unused.iter().any(|n| n.starts_with("classifier.")));
    let ids = Tensor::new(&[[2u32, 7, 4, 9, 3]], &Device::Cpu).unwrap();
    let mask = Tensor::ones((1, 5), DType::F32, &Device::Cpu).unwrap();
    let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
    assert_eq!(logits.dims(), [1, 5, model.config.vocab_size]);
}

/// `predict` on a masked-LM checkpoint gives transformers' fill-mask
/// pipeline answers: the same top-5 pieces per mask, in order, with their
/// text and probabilities (1e-4), for BERT, RoBERTa and DistilBERT.
#[test]
fn fill_mask_equals_transformers_pipeline() {
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("mlm").join("fill_mask.json")).unwrap(),
    )
    .unwrap();
    for arch in ["bert", "roberta", "distilbert"] {
        let dir = fixture("mlm").join(arch).join("model");
        let p = tunebench::predict::Predictor::load(&dir, &Device::Cpu).unwrap();
        let texts: Vec<String> = serde_json::from_value(fx[arch]["texts"].clone()).unwrap();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let got = tunebench::fill_mask::fill_mask(&p.model, &p.text, &refs, 5).unwrap();
        let want = fx[arch]["fill_mask"].as_array().unwrap();
        assert_eq!(got.len(), want.len());
        for (t, (g, w)) in got.iter().zip(want).enumerate() {
            let w = w.as_array().unwrap();
            assert_eq!(g.len(), w.len(), "{arch} text {t}: masks");
            for (m, (gm, wm)) in g.iter().zip(w).enumerate() {
                for (k, (c, e)) in gm.iter().zip(wm.as_array().unwrap()).enumerate() {
                    let at = format!("{arch} text {t} mask {m} rank {k}");
                    assert_eq!(c.token, e["token"].as_u64().unwrap() as u32, "{at}");
                    assert_eq!(c.token_str, e["token_str"].as_str().unwrap(), "{at}");
                    let d = (f64::from(c.score) - e["score"].as_f64().unwrap()).abs();
                    assert!(d < 1e-4, "{at}: score off by {d}");
                }
            }
        }
    }
}

/// Fill-mask's bad inputs, exit 2 naming what is wrong: a text without the
/// model's mask token (the other family's counts as none), a tokenizer
/// without one, a classifier asked to fill masks.
#[test]
fn fill_mask_refuses_what_it_cannot_answer() {
    use common::cli::bad_input;
    let bert = fixture("mlm").join("bert/model");
    bad_input(
        &[
            "predict",
            "--checkpoint",
            bert.to_str().unwrap(),
            "the movie was [MASK] .",
            "the movie was <mask> .",
        ],
        &["text 2", "holds no [MASK]"],
    );
    let p = tunebench::predict::Predictor::load(&bert, &Device::Cpu).unwrap();
    let json = std::fs::read_to_string(bert.join("tokenizer.json"))
        .unwrap()
        .replace("[MASK]", "[MSK]");
    let no_mask = tunebench::text::TextEncoder::from_json(&json, 40).unwrap();
    let e = tunebench::fill_mask::fill_mask(&p.model, &no_mask, &["a [MSK] b"], 5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no mask token"), "{e}");
    let classifier =
        tunebench::predict::Predictor::load(&fixture("bert").join("model"), &Device::Cpu).unwrap();
    let e = tunebench::fill_mask::fill_mask(&classifier.model, &p.text, &["a [MASK] b"], 5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs a masked-LM model"), "{e}");
}

/// Masked-LM steps as a pretrain run takes them: the reviews packed into
/// blocks, each batch masked afresh (whole words), the objective's loss at
/// the picked pieces. On a scratch model the held-out masked loss falls
/// well below a uniform guess over the vocabulary.
#[test]
fn masked_lm_steps_learn_the_text() {
    use tunebench::data::Labels;
    use tunebench::model::classifier::BuildSpec;
    use tunebench::model::config::scratch_config;
    use tunebench::text::masking::MaskingSpec;
    use tunebench::text::pretraining::{sequences, Packing, Sequence};
    use tunebench::text::TextEncoder;
    use tunebench::train::objective::Objective;
    use tunebench::train::optim::{AdamW, AdamWConfig};
    use tunebench::train::step::{train_step, StepPlan};
    let rows = common::reviews_pool(&tempfile::tempdir().unwrap().path().join("p.csv"));
    let texts: Vec<String> = rows.into_iter().map(|(t, _)| t).collect();
    let text = TextEncoder::train_wordpiece(&texts, 400, 512).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let seqs = sequences(&text, &refs, Packing::Blocks(32)).unwrap();
    let (train, held) = seqs.split_at(seqs.len() - 16);
    let mut cfg = scratch_config("tiny", text.vocab_size()).unwrap();
    cfg.head = HeadKind::MaskedLm;
    let spec = BuildSpec::scratch(cfg, Labels::new(vec!["a".into()]), "test");
    let model = Classifier::build(spec, &mut Rng::seeded(2), &Device::Cpu).unwrap();
    let mut opt = AdamW::new(
        &model.params,
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )
    .unwrap();
    let masking = MaskingSpec {
        probability: 0.15,
        whole_word: true,
        mask_id: text.mask_token().unwrap().1,
        vocab_size: text.vocab_size(),
        special: vec![text.pad_id()],
    };
    let plan = StepPlan {
        objective: Objective::MaskedLm,
        lr: 2e-3,
        max_grad_norm: 1.0,
    };
    // The held-out blocks under one fixed masking draw.
    let held_refs: Vec<&Sequence> = held.iter().collect();
    let held_batch = masking
        .batch(&held_refs, text.pad_id(), &mut Rng::seeded(9), &Device::Cpu)
        .unwrap();
    let held_loss = |model: &Classifier| -> f32 {
        let logits = Objective::MaskedLm
            .logits(model, &held_batch, &mut Mode::Eval)
            .unwrap();
        Objective::MaskedLm
            .loss(&logits, held_batch.labels.as_ref().unwrap())
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    let before = held_loss(&model);
    let uniform = (text.vocab_size() as f32).ln();
    assert!((before - uniform).abs() < 1.0, "{before} vs ln V {uniform}");
    let mut rng = Rng::seeded(4);
    for step in 0..60 {
        let picked: Vec<&Sequence> = (0..16)
            .map(|i| &train[(step * 16 + i) % train.len()])
            .collect();
        let batch = masking
            .batch(&picked, text.pad_id(), &mut rng, &Device::Cpu)
            .unwrap();
        train_step(&model, &mut opt, &mut rng, &[batch], plan, None)
            .unwrap()
            .unwrap();
    }
    let after = held_loss(&model);
    assert!(
        after < before - 1.0,
        "held-out masked loss {before} → {after}"
    );
    let scores = tunebench::train::metrics::Scores {
        accuracy: 0.25,
        macro_f1: 0.0,
        per_class: vec![],
        confusion: vec![],
        task: None,
    };
    let metrics = Objective::MaskedLm.metrics(f64::from(after), &scores);
    assert_eq!(metrics["masked_accuracy"], 0.25);
    assert!((metrics["perplexity"] - f64::from(after).exp()).abs() < 1e-9);
}

/// A masked-LM model saved after a training step is a transformers
/// `…ForMaskedLM` directory: `architectures` says so, the word embeddings
/// are stored once (the decoder is tied to them, as transformers saves it),
/// and it loads back with the same logits. (transformers' own load of such
/// a directory: `make_fixtures.py --check-mlm DIR`.)
#[test]
fn a_trained_masked_lm_saves_as_transformers_layout_and_reloads() {
    use tunebench::model::checkpoint::write_plain_model_files;
    use tunebench::text::TextEncoder;
    use tunebench::train::objective::Objective;
    use tunebench::train::optim::{AdamW, AdamWConfig};
    use tunebench::train::step::{train_step, StepPlan};
    for arch in ["bert", "roberta", "distilbert"] {
        let dir = fixture("mlm").join(arch);
        let exp =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
        let model = trainable(arch);
        let text = TextEncoder::from_file(&dir.join("model/tokenizer.json"), 40).unwrap();
        let ids = exp["input_ids"].to_dtype(DType::U32).unwrap();
        let mask = exp["attention_mask"].to_dtype(DType::F32).unwrap();
        let (positions, targets) = masked_pieces(&exp["labels"]);
        let mut batch = tunebench::text::batch::make_batch(
            &ids.to_vec2::<u32>()
                .unwrap()
                .iter()
                .map(Vec::as_slice)
                .collect::<Vec<_>>(),
            None,
            text.pad_id(),
            &Device::Cpu,
        )
        .unwrap();
        batch.attention_mask = mask.clone();
        batch.positions = Some(positions);
        batch.labels = Some(targets);
        let word = |m: &Classifier| {
            let name = m
                .params
                .vars
                .iter()
                .map(|(n, _)| n.clone())
                .find(|n| n.ends_with("embeddings.word_embeddings.weight"))
                .unwrap();
            m.params.get(&name).unwrap().as_tensor().clone()
        };
        let before = word(&model).detach().copy().unwrap();
        let mut opt = AdamW::new(
            &model.params,
            AdamWConfig {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
            },
        )
        .unwrap();
        let plan = StepPlan {
            objective: Objective::MaskedLm,
            lr: 1e-2,
            max_grad_norm: 1.0,
        };
        train_step(&model, &mut opt, &mut Rng::seeded(0), &[batch], plan, None)
            .unwrap()
            .unwrap();
        assert!(
            max_abs_diff(&word(&model), &before) > 0.0,
            "{arch}: trained"
        );
        let out = tempfile::tempdir().unwrap();
        write_plain_model_files(out.path(), &model, &text).unwrap();
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.path().join("config.json")).unwrap())
                .unwrap();
        let class = config["architectures"][0].as_str().unwrap();
        assert!(class.ends_with("ForMaskedLM"), "{arch}: {class}");
        assert!(config.get("problem_type").is_none());
        let saved =
            candle_core::safetensors::load(out.path().join("model.safetensors"), &Device::Cpu)
                .unwrap();
        assert!(
            !saved
                .keys()
                .any(|k| k.contains("decoder.weight") || k == "vocab_projector.weight"),
            "{arch}: the tied decoder is the word embeddings, stored once"
        );
        assert!(config.get("id2label").is_none(), "{arch}: no labels");
        let md = ModelDir::open(out.path()).unwrap();
        assert_eq!(md.config.head, HeadKind::MaskedLm);
        let labels = tunebench::data::Labels::new(vec!["a".into(), "b".into()]);
        let spec = md.build_spec(labels, md.read_weights().unwrap(), true);
        let again = Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu).unwrap();
        assert!(again.fresh.is_empty() && again.unused.is_empty(), "{arch}");
        let a = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
        let b = again.forward(&ids, &mask, &mut Mode::Eval).unwrap();
        let real = mask.unsqueeze(2).unwrap();
        let d = max_abs_diff(
            &a.broadcast_mul(&real).unwrap(),
            &b.broadcast_mul(&real).unwrap(),
        );
        assert!(d < 1e-5, "{arch}: reloaded logits differ by {d}");
        if let Ok(keep) = std::env::var("TUNEBENCH_KEEP_MLM") {
            let dest = std::path::Path::new(&keep).join(arch);
            let _ = std::fs::remove_dir_all(&dest);
            std::fs::create_dir_all(&dest).unwrap();
            for f in std::fs::read_dir(out.path()).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, dest.join(f.file_name().unwrap())).unwrap();
            }
        }
    }
}

/// `train --model` on a masked-LM directory fine-tunes a classifier from
/// its encoder: the masked-LM head is left out (said so), pooler and
/// classifier start fresh, and the result predicts.
#[test]
fn train_fine_tunes_a_classifier_from_a_masked_lm_checkpoint() {
    use common::cli::{run, tunebench};
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ft");
    let (ok, stdout, stderr) = run(tunebench().env("RAYON_NUM_THREADS", "1").args([
        "train",
        "--data",
        reviews().0.to_str().unwrap(),
        "--model",
        fixture("mlm").join("bert/model").to_str().unwrap(),
        "--set",
        "epochs=1",
        "--set",
        "max_len=32",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(ok, "{stdout}{stderr}");
    let said = format!("{stdout}{stderr}");
    assert!(said.contains("cls.predictions"), "{said}");
    assert!(said.contains("classifier.weight"), "{said}");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("best/config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "BertForSequenceClassification");
    let (ok, stdout, stderr) = run(tunebench().args([
        "predict",
        "--checkpoint",
        out.join("best").to_str().unwrap(),
        "the movie was great",
    ]));
    assert!(ok && stdout.contains("\"label\""), "{stdout}{stderr}");
}
