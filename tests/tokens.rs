//! Token classification (NER) against its Python references
//! (tests/fixtures/tokens from `make_fixtures.py --only tokens`): the BERT
//! and RoBERTa token heads' logits, loss with −100 pieces and every
//! gradient; word alignment equal to a fast tokenizer's `word_ids()`;
//! seqeval's scores in both modes; the pipeline's aggregated entities; and
//! CoNLL and span JSONL files end to end from the shell, with bad inputs.

mod common;

use candle_core::{DType, Device};
use common::cli::*;
use common::*;
use std::path::{Path, PathBuf};
use tunebench::model::checkpoint::ModelDir;
use tunebench::model::{Classifier, Mode};
use tunebench::protocol::TaskScores;
use tunebench::rng::Rng;
use tunebench::text::TextEncoder;
use tunebench::train::optim::Grads;
use tunebench::train::step::task_loss;

fn tokens_fixture() -> PathBuf {
    fixture("tokens")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The token model of `arch` with every weight trainable.
fn trainable(arch: &str) -> Classifier {
    let md = ModelDir::open(&tokens_fixture().join(arch).join("model")).unwrap();
    let labels = md.labels.clone().unwrap();
    let spec = md.build_spec(labels, md.read_weights().unwrap(), true);
    Classifier::build(spec, &mut Rng::seeded(0), &Device::Cpu)
        .unwrap()
        .with_task(md.task, Vec::new())
}

#[test]
fn bert_and_roberta_token_heads_match_transformers() {
    for arch in ["bert", "roberta"] {
        let dir = tokens_fixture().join(arch);
        let exp =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
        let want_loss = json(&dir.join("expected.json"))["loss"].as_f64().unwrap();
        let model = trainable(arch);
        assert_eq!(model.task, tunebench::data::Task::TokenClassification);
        let ids = exp["input_ids"].to_dtype(DType::U32).unwrap();
        let mask = exp["attention_mask"].to_dtype(DType::F32).unwrap();
        let labels = &exp["labels"];
        let logits = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
        assert_eq!(logits.dims(), exp["logits"].dims());
        // Padding's logits are never used (RoBERTa numbers pad positions
        // differently); compare the real tokens'.
        let real = mask.unsqueeze(2).unwrap();
        let d = max_abs_diff(
            &logits.broadcast_mul(&real).unwrap(),
            &exp["logits"].broadcast_mul(&real).unwrap(),
        );
        eprintln!("{arch}: token logits max |diff| {d:.3e}");
        assert!(d < 1e-4, "{arch}: logits differ by {d}");
        let loss = task_loss(model.task, &logits, labels).unwrap();
        let got = loss.to_scalar::<f32>().unwrap() as f64;
        assert!(
            (got - want_loss).abs() < 1e-5,
            "{arch}: loss {got} vs {want_loss}"
        );
        let grads = Grads::collect(&model.params, &loss.backward().unwrap());
        assert_grads_match(arch, &model.params, &grads, &exp);
    }
}

#[test]
fn word_alignment_equals_fast_tokenizers_word_ids() {
    let fx = json(&tokens_fixture().join("alignment.json"));
    for arch in ["bert", "roberta"] {
        let text = TextEncoder::from_file(
            &tokens_fixture().join(arch).join("model/tokenizer.json"),
            40,
        )
        .unwrap();
        let words: Vec<Vec<String>> = serde_json::from_value(fx[arch]["words"].clone()).unwrap();
        let refs: Vec<Vec<&str>> = words
            .iter()
            .map(|w| w.iter().map(String::as_str).collect())
            .collect();
        let got = text.encode_words(&refs).unwrap();
        let want_ids: Vec<Vec<u32>> =
            serde_json::from_value(fx[arch]["input_ids"].clone()).unwrap();
        let want_words: Vec<Vec<Option<u32>>> =
            serde_json::from_value(fx[arch]["word_ids"].clone()).unwrap();
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g.ids, want_ids[i], "{arch} sentence {i} ids");
            assert_eq!(g.word_ids, want_words[i], "{arch} sentence {i} word_ids");
            assert_eq!(g.cut_words, 0);
        }
    }
}

fn close(got: f64, want: &serde_json::Value, what: &str) {
    let w = want.as_f64().unwrap();
    assert!((got - w).abs() < 1e-12, "{what}: {got} vs seqeval {w}");
}

#[test]
fn entity_scores_equal_seqeval_in_both_modes() {
    use tunebench::train::entity_metrics::entity_scores;
    let fx = json(&tokens_fixture().join("seqeval.json"));
    let gold: Vec<Vec<String>> = serde_json::from_value(fx["gold"].clone()).unwrap();
    let pred: Vec<Vec<String>> = serde_json::from_value(fx["pred"].clone()).unwrap();
    for (mode, strict) in [("default", false), ("strict", true)] {
        let want = &fx[mode];
        let s = entity_scores(&gold, &pred, strict);
        let Some(TaskScores::Tokens {
            precision,
            recall,
            micro_f1,
            macro_f1,
            weighted_f1,
            ..
        }) = s.task
        else {
            panic!("token scores")
        };
        close(precision, &want["micro avg"]["precision"], mode);
        close(recall, &want["micro avg"]["recall"], mode);
        close(micro_f1, &want["micro avg"]["f1-score"], mode);
        close(macro_f1, &want["macro avg"]["f1-score"], mode);
        close(weighted_f1, &want["weighted avg"]["f1-score"], mode);
        let types: Vec<&str> = want
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !k.contains("avg"))
            .map(String::as_str)
            .collect();
        assert_eq!(s.per_class.len(), types.len(), "{mode}: types {types:?}");
        for c in &s.per_class {
            let w = &want[&c.label];
            close(c.precision, &w["precision"], &c.label);
            close(c.recall, &w["recall"], &c.label);
            close(c.f1, &w["f1-score"], &c.label);
            assert_eq!(c.support as f64, w["support"].as_f64().unwrap());
        }
        eprintln!("{mode}: micro F1 {micro_f1:.4} equals seqeval");
    }
}

#[test]
fn pipeline_entities_equal_transformers_for_every_aggregation() {
    use tunebench::entities::Aggregation;
    use tunebench::predict::predict_entities;
    let fx = json(&tokens_fixture().join("pipeline.json"));
    let p = tunebench::predict::Predictor::load(&tokens_fixture().join("bert/model"), &Device::Cpu)
        .unwrap();
    let texts: Vec<String> = serde_json::from_value(fx["texts"].clone()).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut worst = 0f32;
    for strategy in Aggregation::ALL {
        let got = predict_entities(&p.model, &p.text, &refs, strategy).unwrap();
        let want = fx[strategy.name()].as_array().unwrap();
        for (g, w) in got.iter().zip(want) {
            let w = w.as_array().unwrap();
            assert_eq!(g.len(), w.len(), "{}: {g:?} vs {w:?}", strategy.name());
            for (e, x) in g.iter().zip(w) {
                assert_eq!(e.entity_group, x["entity_group"].as_str().unwrap());
                assert_eq!(e.word, x["word"].as_str().unwrap(), "{}", strategy.name());
                assert_eq!(e.start as u64, x["start"].as_u64().unwrap());
                assert_eq!(e.end as u64, x["end"].as_u64().unwrap());
                worst = worst.max((e.score - x["score"].as_f64().unwrap() as f32).abs());
            }
        }
    }
    eprintln!("pipeline: largest score difference {worst:.2e}");
    assert!(worst < 1e-5, "scores differ by {worst}");
}

#[test]
fn conll_and_span_files_train_evaluate_and_predict_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.conll");
    std::fs::write(&train, conll(48)).unwrap();
    let dev = dir.path().join("eng.testa");
    std::fs::write(&dev, conll(12)).unwrap();
    let model = tokens_fixture().join("bert/model");
    let out = dir.path().join("run");
    let (ok, stdout, stderr) = run(tunebench().args([
        "train",
        "--data",
        train.to_str().unwrap(),
        "--val",
        dev.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "epochs=6",
        "--set",
        "batch_size=8",
        "--set",
        "lr=2e-2",
    ]));
    assert!(ok, "{stdout}\n{stderr}");
    let log = format!("{stdout}{stderr}");
    assert!(log.contains("task: token_classification"), "{log}");
    // Judged by entity F1 unless told otherwise, and listed by that name.
    assert!(
        log.contains("best_metric: micro_f1 (the token_classification default"),
        "{log}"
    );
    let (ok, listing, err) =
        run(tunebench().args(["runs", "--runs-dir", dir.path().to_str().unwrap()]));
    assert!(ok, "{err}");
    let row = listing
        .lines()
        .find(|l| l.starts_with("run "))
        .unwrap_or_default();
    assert!(
        row.contains("entity_f1 0.") || row.contains("entity_f1 1."),
        "{listing}"
    );
    assert!(log.contains("IO (found)"), "{log}");
    assert!(log.contains("entity F1"), "{log}");
    let cfg = json(&out.join("best/config.json"));
    assert_eq!(cfg["architectures"][0], "BertForTokenClassification");
    assert!(
        cfg.get("problem_type").is_none(),
        "transformers refuses other problem types"
    );

    // eval: a table, JSON, strict mode; the trained model finds the
    // fixture's two entity types.
    let best = out.join("best");
    let (ok, table, err) = run(tunebench().args([
        "eval",
        "--checkpoint",
        best.to_str().unwrap(),
        "--data",
        dev.to_str().unwrap(),
    ]));
    assert!(ok, "{err}");
    assert!(table.contains("entity F1"), "{table}");
    assert!(table.contains("seqeval default mode"), "{table}");
    let eval_json = |extra: &[&str]| {
        let (ok, j, err) = run(tunebench()
            .args([
                "eval",
                "--checkpoint",
                best.to_str().unwrap(),
                "--data",
                dev.to_str().unwrap(),
                "--format",
                "json",
            ])
            .args(extra));
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(j.trim()).unwrap()
    };
    let j = eval_json(&[]);
    assert_eq!(j["task"], "token_classification");
    assert_eq!(j["strict"], false);
    let f1 = j["micro_f1"].as_f64().unwrap();
    assert!(f1 > 0.9, "a learnable toy task: entity F1 {f1}");
    // Strict IOB2 counts no mention that opens with I-: never higher.
    let strict = eval_json(&["--strict"]);
    assert_eq!(strict["strict"], true);
    assert!(strict["micro_f1"].as_f64().unwrap() <= f1);
    let types: Vec<&str> = j["per_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["LOC", "PER"]);

    // predict: the pipeline's shape, each aggregation.
    for agg in ["simple", "first", "average", "max"] {
        let (ok, p, err) = run(tunebench().args([
            "predict",
            "--checkpoint",
            best.to_str().unwrap(),
            "--aggregation",
            agg,
            "i loved the music",
        ]));
        assert!(ok, "{err}");
        let p: serde_json::Value = serde_json::from_str(p.trim()).unwrap();
        let groups: Vec<(&str, &str)> = p["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["entity_group"].as_str().unwrap(),
                    e["word"].as_str().unwrap(),
                )
            })
            .collect();
        // "i" and "loved" are never adjacent in training: two B-PER.
        assert_eq!(
            groups,
            [("PER", "i"), ("PER", "loved"), ("LOC", "music")],
            "{agg}"
        );
    }
    let (ok, t, _) = run(tunebench().args([
        "predict",
        "--checkpoint",
        best.to_str().unwrap(),
        "--format",
        "table",
        "i loved the music",
    ]));
    assert!(ok);
    assert!(t.contains("[i|PER] [loved|PER] the [music|LOC]"), "{t}");

    // Span JSONL trains the same way.
    let spans = dir.path().join("spans.jsonl");
    let rows: String = (0..24)
        .map(|i| {
            let text = if i % 2 == 0 {
                "i loved the music"
            } else {
                "the story was great"
            };
            let ents = if i % 2 == 0 {
                r#"[{"start": 0, "end": 7, "label": "PER"}, {"start": 12, "end": 17, "label": "LOC"}]"#
            } else {
                r#"[{"start": 4, "end": 9, "label": "LOC"}]"#
            };
            format!("{{\"text\": \"{text}\", \"entities\": {ents}}}\n")
        })
        .collect();
    std::fs::write(&spans, rows).unwrap();
    let out2 = dir.path().join("run2");
    let (ok, stdout, stderr) = run(tunebench().args([
        "train",
        "--data",
        spans.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--set",
        "epochs=1",
        "--set",
        "val_split=0.25",
    ]));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(format!("{stdout}{stderr}").contains("task: token_classification"));
}

/// Exit code 2, every needle in stderr, no panic.
fn bad_input<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], needles: &[&str]) {
    let (ok, _, err) = run(tunebench().args(args));
    assert!(!ok, "args {args:?} should fail");
    for n in needles {
        assert!(err.contains(n), "args {args:?}: stderr lacks {n:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_tagged_inputs_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    let model = tokens_fixture().join("bert/model");
    let model = model.to_str().unwrap();
    let train = |data: &str, extra: &[&str]| {
        let mut a = vec!["train", "--data", data, "--model", model];
        if !extra.contains(&"--out") {
            a.extend_from_slice(&["--out", out]);
        }
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };

    // An I- that opens a mention in declared IOB2.
    let iob = w("x.conll", "the O\nmusic I-LOC\n\nthe O\nstory B-LOC\n");
    let a = train(&iob, &["--set", "tag_scheme=\"iob2\""]);
    bad_input(&a, &["x.conll:2", "I-LOC", "lenient_tags"]);
    // Lenient: repaired and counted, the run goes on.
    let lenient_out = dir.path().join("lenient");
    let (ok, so, se) = run(tunebench().args(train(
        &iob,
        &[
            "--out",
            lenient_out.to_str().unwrap(),
            "--set",
            "tag_scheme=\"iob2\"",
            "--set",
            "lenient_tags=true",
            "--set",
            "epochs=1",
        ],
    )));
    assert!(ok, "{se}");
    assert!(format!("{so}{se}").contains("1 I- tags that opened a mention were made B-"));

    // Ragged columns, a one-column line, a tag that is not a tag.
    let ragged = w("r.conll", "the DT O\nmusic NN I-LOC\nstory B-LOC\n");
    bad_input(&train(&ragged, &[]), &["r.conll:3", "2 columns"]);
    let one = w("one.conll", "the O\nmusic\n");
    bad_input(&train(&one, &[]), &["one.conll:2", "one column"]);
    let notag = w("n.conll", "the O\nmusic LOCATION\n");
    bad_input(&train(&notag, &[]), &["n.conll:2", "not a tag"]);

    // Span JSONL: overlapping spans, an offset past the end.
    let overlap = w(
        "o.jsonl",
        "{\"text\": \"the music\", \"entities\": [{\"start\": 0, \"end\": 9, \"label\": \"A\"}, {\"start\": 4, \"end\": 9, \"label\": \"B\"}]}\n",
    );
    bad_input(&train(&overlap, &[]), &["o.jsonl:1", "overlap"]);
    let outside = w(
        "s.jsonl",
        "{\"text\": \"ok\", \"entities\": []}\n{\"text\": \"the music\", \"entities\": [{\"start\": 4, \"end\": 30, \"label\": \"A\"}]}\n",
    );
    bad_input(&train(&outside, &[]), &["s.jsonl:2", "outside the text"]);

    // The task declared against the data, both ways.
    let csv = w("c.csv", "text,label\ngood,pos\nbad,neg\n");
    bad_input(
        &train(&csv, &["--set", "task=\"token_classification\""]),
        &["c.csv", "CoNLL file"],
    );
    let tagged = w("t.conll", "the O\nmusic I-LOC\n");
    bad_input(
        &train(&tagged, &["--set", "task=\"single_label\""]),
        &["t.conll", "tags words"],
    );
    // A token model evaluated on a text-classification file.
    bad_input(
        &["eval", "--checkpoint", model, "--data", &csv],
        &["c.csv", "tags words"],
    );
}

/// The panes of a CoNLL corpus, drawn with ratatui's TestBackend: mentions
/// marked inline (readable without colour), mentions counted by type,
/// the type filter; entity F1 in Curves and the status bar; the
/// playground's entities.
#[test]
fn the_panes_show_entities() {
    use common::tui::{inject_steps, key, screen};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use tunebench::protocol::{ClassMetrics, EntityGroup, Event};
    use tunebench::tui::action::Action;
    use tunebench::tui::app::App;
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("news.conll");
    let mut body = String::new();
    for i in 0..30 {
        body.push_str(&format!(
            "EU I-ORG\nrejects O\nGerman I-MISC\ncall{i} O\n\nPeter I-PER\nBlackburn I-PER\n\n"
        ));
    }
    std::fs::write(&path, body).unwrap();
    let cfg = tunebench::config::RunConfig {
        train_file: Some(path),
        val_split: 0.2,
        ..Default::default()
    };
    let mut app = App::new(
        cfg.clone(),
        tunebench::tui::load_dataset(&cfg),
        "run.toml".into(),
    );
    let s = screen(&app, 160, 48);
    assert!(s.contains("[EU|ORG] rejects [German|MISC] call"), "{s}");
    assert!(s.contains("[Peter Blackburn|PER]"), "{s}");
    // Balance bars count mentions by type, not tag sequences.
    assert!(!s.contains("B-ORG O B-MISC"), "{s}");
    assert!(s.contains("ORG") && s.contains("MISC"), "{s}");
    assert!(s.contains("entity length (words)"), "{s}");
    // Filter by type: PER leaves only the name sentences.
    app.on_key(key('1'));
    for _ in 0..3 {
        app.on_key(key('f'));
    }
    let s = screen(&app, 160, 48);
    assert!(s.contains("label=PER"), "{s}");
    assert!(!s.contains("[EU|ORG]"), "{s}");

    // Curves: entity F1 and per-type bars; the status bar's entity F1.
    inject_steps(&mut app, &["B-MISC", "B-ORG", "B-PER", "I-PER", "O"]);
    let per_type = |l: &str, f1: f64, support: usize| ClassMetrics {
        label: l.into(),
        precision: f1,
        recall: f1,
        f1,
        support,
    };
    app.on_engine(&Event::Eval {
        step: 12,
        epoch: 0.6,
        split: "val".into(),
        loss: 0.3,
        accuracy: 0.95,
        macro_f1: 0.8,
        per_class: vec![
            per_type("MISC", 0.61, 6),
            per_type("ORG", 0.93, 6),
            per_type("PER", 0.88, 6),
        ],
        confusion: vec![],
        since_best: 0,
        task: Some(TaskScores::Tokens {
            precision: 0.9,
            recall: 0.8,
            micro_f1: 0.847,
            macro_f1: 0.807,
            weighted_f1: 0.81,
            token_accuracy: 0.95,
            strict: false,
            errors: tunebench::protocol::SpanErrors {
                types: vec!["MISC".into(), "ORG".into(), "PER".into()],
                wrong_type: vec![vec![0, 2, 0], vec![0, 0, 0], vec![0, 0, 0]],
                boundary: vec![1, 0, 3],
                missed: vec![0, 4, 0],
                spurious: vec![5, 0, 0],
            },
        }),
        metrics: Default::default(),
    });
    let s = screen(&app, 160, 48);
    assert!(s.contains("val entity F1 84.7%"), "status bar: {s}");
    // The metrics chart's title is its key (marker, name, value).
    assert!(s.contains("• entity F1 84.7%"), "{s}");
    assert!(s.contains(" 0.61 "), "per-type bars: {s}");
    assert!(s.contains("span errors"), "{s}");
    assert!(s.contains("MISC    1    0    5  ORG 2"), "{s}");

    // The playground: the sentence with its entities and their scores.
    app.on_key(key('4'));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let mut actions = Vec::new();
    for c in "EU rejects German call".chars() {
        actions.extend(app.on_key(key(c)));
    }
    actions.extend(app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let Some(Action::Predict { id, text, .. }) = actions.pop() else {
        panic!("a predict action")
    };
    let entity = |g: &str, score: f32, word: &str, start, end| EntityGroup {
        entity_group: g.into(),
        score,
        word: word.into(),
        start,
        end,
    };
    let prediction = tunebench::predict::token_prediction(vec![
        entity("ORG", 0.991, "EU", 0, 2),
        entity("MISC", 0.874, "German", 11, 17),
    ]);
    app.on_engine(&Event::Prediction {
        id,
        text,
        prediction,
        latency_ms: 3.0,
    });
    let s = screen(&app, 160, 48);
    assert!(s.contains("[EU|ORG] rejects [German|MISC] call"), "{s}");
    assert!(s.contains("MISC      87.4%  German"), "{s}");
    // No label to explain: e does nothing, and nothing panics.
    app.on_key(key('e'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("Playground"), "{s}");
}

/// LoRA and freezing train a token head: the adapter is saved as peft's
/// TOKEN_CLS with the classifier in full, the adapter directory predicts
/// the entities the merged checkpoint predicts, and a frozen encoder
/// trains only the head.
#[test]
fn lora_and_freezing_train_a_token_head() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.conll");
    std::fs::write(&train, conll(48)).unwrap();
    let model = tokens_fixture().join("bert/model");
    let out = dir.path().join("lora");
    let (ok, so, se) = run(tunebench().args([
        "train",
        "--data",
        train.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "peft=\"lora\"",
        "--set",
        "lora_targets=\"query,value\"",
        "--set",
        "epochs=2",
        "--set",
        "lr=1e-2",
    ]));
    assert!(ok, "{so}\n{se}");
    let best = out.join("best");
    let cfg = json(&best.join("adapter_config.json"));
    assert_eq!(cfg["task_type"], "TOKEN_CLS");
    assert_eq!(cfg["modules_to_save"], serde_json::json!(["classifier"]));
    // The adapter alone (on its base) and the merged weights agree.
    let adapter_only = dir.path().join("adapter");
    std::fs::create_dir(&adapter_only).unwrap();
    for f in [
        "adapter_config.json",
        "adapter_model.safetensors",
        "config.json",
    ] {
        std::fs::copy(best.join(f), adapter_only.join(f)).unwrap();
    }
    let text = "i loved the music";
    let entities = |ckpt: &Path| {
        let (ok, o, e) = run(tunebench().args([
            "predict",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--base",
            model.to_str().unwrap(),
            text,
        ]));
        assert!(ok, "{e}");
        let v: serde_json::Value = serde_json::from_str(o.trim()).unwrap();
        v["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["entity_group"].as_str().unwrap().to_string(),
                    e["start"].as_u64().unwrap(),
                    (e["score"].as_f64().unwrap() * 1e3).round(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(entities(&best), entities(&adapter_only));

    let frozen = dir.path().join("frozen");
    let (ok, so, se) = run(tunebench().args([
        "train",
        "--data",
        train.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        frozen.to_str().unwrap(),
        "--set",
        "freeze=\"encoder\"",
        "--set",
        "epochs=1",
    ]));
    assert!(ok, "{so}\n{se}");
    // Only the head's 2 tensors train: 32×5 + 5 parameters.
    assert!(format!("{so}{se}").contains("(165)"), "{so}{se}");
}

/// A checkpoint's playground logs and answers without a run: the app
/// stays idle and q quits at once (it used to think a run was starting
/// and ask to stop it).
#[test]
fn a_checkpoint_playground_leaves_the_app_idle() {
    use common::tui::key;
    use tunebench::protocol::Event;
    use tunebench::tui::app::{App, RunState};
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("news.conll");
    std::fs::write(&path, "EU I-ORG\nrejects O\n\nPeter I-PER\nsaid O\n").unwrap();
    let cfg = tunebench::config::RunConfig {
        train_file: Some(path),
        ..Default::default()
    };
    let mut app = App::new(
        cfg.clone(),
        tunebench::tui::load_dataset(&cfg),
        "run.toml".into(),
    );
    app.on_engine(&Event::Log {
        level: "info".into(),
        message: "playground uses ckpt (f32)".into(),
    });
    app.on_engine(&Event::Prediction {
        id: 1,
        text: "EU".into(),
        prediction: tunebench::predict::token_prediction(vec![]),
        latency_ms: 2.0,
    });
    assert_eq!(app.run.state(), RunState::Idle);
    app.on_key(key('q'));
    assert!(app.should_quit);
}

/// `inspect` on a tagged corpus counts mentions by type (as CoNLL's own
/// tables count them), not whole tag sequences, and names conflicting
/// tags of one sentence.
#[test]
fn inspect_counts_mentions_by_type() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("news.conll");
    std::fs::write(
        &data,
        "EU I-ORG\nrejects O\nGerman I-MISC\ncall O\n\nPeter I-PER\nBlackburn I-PER\n\nBRUSSELS I-LOC\n\nBRUSSELS I-ORG\n\n",
    )
    .unwrap();
    let (ok, out, err) = run(tunebench().args(["inspect", "--data", data.to_str().unwrap()]));
    assert!(ok, "{err}");
    assert!(out.contains("mentions by entity type:"), "{out}");
    for (t, n) in [("LOC", 1), ("MISC", 1), ("ORG", 2), ("PER", 1)] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(t))
            .unwrap_or_else(|| panic!("{t}: {out}"));
        assert!(line.contains(&format!(" {n} ")), "{line}");
    }
    assert!(out.contains("texts with conflicting tags: 1"), "{out}");
    assert!(
        !out.contains("B-ORG O B-MISC O "),
        "no tag-sequence bars: {out}"
    );
}
