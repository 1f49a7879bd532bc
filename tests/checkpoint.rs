//! Checkpoints: HF layout, bit-identical reload, atomic publishing.

mod common;

use candle_core::Device;
use common::*;
use tunebench::model::checkpoint::{publish_dir, write_model_files};
use tunebench::predict::Predictor;
use tunebench::train;

#[test]
fn written_checkpoint_reloads_bit_identically_with_hf_fields() {
    let out = tempfile::tempdir().unwrap();
    let trainer = train::prepare(quick_config("scratch:tiny"), out.path()).unwrap();
    let dir = out.path().join("export");
    write_model_files(&dir, &trainer.model, &trainer.text).unwrap();

    // A loaded checkpoint keeps its encoder frozen (nothing trains there):
    // compare every tensor by name, trained or frozen.
    let back = Predictor::load(&dir, &Device::Cpu).unwrap();
    let written = trainer.model.named_tensors().unwrap();
    let loaded: std::collections::HashMap<String, candle_core::Tensor> =
        back.model.named_tensors().unwrap().into_iter().collect();
    assert_eq!(written.len(), loaded.len());
    for (name, t) in &written {
        let bits = |t: &candle_core::Tensor| {
            t.flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
                .into_iter()
                .map(f32::to_bits)
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(t), bits(&loaded[name]), "{name} differs");
    }

    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["architectures"][0], "BertForSequenceClassification");
    assert_eq!(cfg["model_type"], "bert");
    assert_eq!(cfg["id2label"]["0"], "negative");
    assert_eq!(cfg["label2id"]["positive"], 2);
    assert_eq!(cfg["num_labels"], 3);
    assert_eq!(
        cfg["vocab_size"].as_u64().unwrap() as usize,
        trainer.text.vocab_size()
    );
    for f in [
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
        "layer_norm_eps",
        "hidden_act",
    ] {
        assert!(!cfg[f].is_null(), "config.json lacks {f}");
    }
    assert!(dir.join("tokenizer_config.json").is_file());

    // safetensors metadata transformers expects, and HF tensor names.
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(
        meta.metadata()
            .as_ref()
            .and_then(|m| m.get("format"))
            .map(String::as_str),
        Some("pt")
    );
    let names: Vec<String> = meta.tensors().keys().cloned().collect();
    for want in [
        "bert.embeddings.word_embeddings.weight",
        "bert.encoder.layer.1.attention.self.query.weight",
        "bert.pooler.dense.weight",
        "classifier.weight",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    assert!(!dir
        .read_dir()
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".tmp")));
}

#[test]
fn training_writes_the_run_directory_layout() {
    let out = tempfile::tempdir().unwrap();
    let cfg = tunebench::config::RunConfig {
        max_steps: 5,
        eval_every: 2,
        keep_checkpoints: 2,
        ..quick_config("scratch:tiny")
    };
    let events = train::prepare(cfg, out.path()).unwrap().run_to_end();
    assert!(events.last().unwrap().is_terminal());
    let root = out.path();
    for f in [
        "config.toml",
        "metrics.jsonl",
        "predictions.csv",
        "best/config.json",
        "best/model.safetensors",
        "best/tokenizer.json",
    ] {
        assert!(root.join(f).is_file(), "{f} missing");
    }
    // eval at 2, 4 and the final step 5; only the newest two are kept.
    let steps: Vec<usize> = tunebench::run_dir::RunDir::checkpoints(root)
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(steps, vec![4, 5]);
    let ck = root.join("checkpoints/step-5");
    for f in [
        "training_state.safetensors",
        "trainer_state.json",
        "config.json",
        "model.safetensors",
    ] {
        assert!(ck.join(f).is_file(), "{f} missing");
    }
    let resolved = tunebench::run_dir::RunDir::read_config(root).unwrap();
    assert_eq!(resolved.train.sha256.len(), 64);
    assert_eq!(resolved.labels, vec!["negative", "neutral", "positive"]);
    // No temp directories left behind.
    let leftovers: Vec<_> = std::fs::read_dir(root.join("checkpoints"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
    let lines = std::fs::read_to_string(root.join("metrics.jsonl")).unwrap();
    assert_eq!(
        lines.lines().count(),
        events.len(),
        "every event is in metrics.jsonl"
    );
}

#[test]
fn publishing_replaces_a_directory_whole() {
    let d = tempfile::tempdir().unwrap();
    let dest = d.path().join("best");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("old.txt"), "old").unwrap();
    let tmp = d.path().join(".tmp-best");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join("new.txt"), "new").unwrap();
    publish_dir(&tmp, &dest).unwrap();
    assert!(dest.join("new.txt").is_file() && !dest.join("old.txt").exists());
    assert!(!tmp.exists() && !d.path().join(".old-best").exists());
}

/// A sentence pair asked of a checkpoint (the playground's "a || b", the
/// engine's `Command::Predict` with `text_pair`) scores as the same pair
/// read from a file; attributions are refused for pairs, not faked.
#[test]
fn a_pair_prediction_scores_as_the_same_pair_from_a_file() {
    let p = Predictor::load(&fixture("bert").join("model"), &Device::Cpu).unwrap();
    let (a, b) = ("the movie was great", "i loved the ending !");
    let asked = tunebench::predict::answer(&p.model, &p.text, a, Some(b), None).unwrap();
    let from_file = p
        .predict_rows(&[tunebench::data::Row {
            text: a.into(),
            text_b: Some(b.into()),
            label: None,
            line: 1,
            words: None,
        }])
        .unwrap()
        .remove(0);
    assert_eq!(asked.logits, from_file.logits);
    let single = tunebench::predict::answer(&p.model, &p.text, a, None, None).unwrap();
    assert_ne!(single.logits, asked.logits);
    let explain = tunebench::protocol::ExplainRequest {
        target: None,
        steps: 4,
    };
    let e = tunebench::predict::answer(&p.model, &p.text, a, Some(b), Some(&explain))
        .unwrap_err()
        .to_string();
    assert!(e.contains("single texts"), "{e}");
    assert_eq!(
        tunebench::tui::playground::split_pair(" premise || hypothesis "),
        ("premise".to_string(), Some("hypothesis".to_string()))
    );
    assert_eq!(
        tunebench::tui::playground::split_pair("a || "),
        ("a || ".to_string(), None)
    );
}
