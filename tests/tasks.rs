//! Task heads beyond one label a text: multi-label and regression metrics
//! against scikit-learn and SciPy (tests/fixtures/tasks/metrics.json from
//! make_fixtures.py), and every data layout end to end from the shell —
//! label lists, separated strings, ids with declared names, 0/1 columns,
//! numbers and sentence pairs — with the bad inputs of each.

mod common;

use common::cli::*;
use common::*;
use std::path::Path;
use tunebench::protocol::TaskScores;
use tunebench::train::task_metrics::{multi_label_scores, regression_scores};

fn write(dir: &Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_string()
}

/// Exit code 2, every needle in stderr, no panic.
fn bad_input(args: &[&str], needles: &[&str]) {
    let runs = tempfile::tempdir().unwrap();
    let out = tunebench()
        .env("TUNEBENCH_RUNS_DIR", runs.path())
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "args {args:?}: stderr {err}");
    for n in needles {
        assert!(err.contains(n), "args {args:?}: stderr lacks {n:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

fn metrics_fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("tasks").join("metrics.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f32_rows(v: &serde_json::Value) -> Vec<Vec<f32>> {
    common::json_rows(v)
        .into_iter()
        .map(|r| r.into_iter().map(|x| x as f32).collect())
        .collect()
}

fn f32s(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn close(got: f64, want: &serde_json::Value, what: &str) {
    let want = want.as_f64().unwrap();
    assert!((got - want).abs() < 1e-9, "{what}: {got} vs sklearn {want}");
}

#[test]
fn multi_label_metrics_equal_scikit_learn() {
    let fx = &metrics_fixture()["multi_label"];
    let truth = f32_rows(&fx["truth"]);
    let probs = f32_rows(&fx["probs"]);
    let thresholds = f32s(&fx["thresholds"]);
    let names: Vec<String> = (0..thresholds.len()).map(|i| format!("l{i}")).collect();
    let s = multi_label_scores(&names, &truth, &probs, &thresholds);
    let Some(TaskScores::MultiLabel {
        micro_f1,
        macro_f1,
        weighted_f1,
        subset_accuracy,
        hamming_loss,
        lrap,
        ..
    }) = s.task
    else {
        panic!("multi-label scores")
    };
    close(micro_f1, &fx["micro_f1"], "micro-F1");
    close(macro_f1, &fx["macro_f1"], "macro-F1");
    close(weighted_f1, &fx["weighted_f1"], "weighted-F1");
    close(subset_accuracy, &fx["subset_accuracy"], "subset accuracy");
    close(hamming_loss, &fx["hamming_loss"], "Hamming loss");
    close(lrap, &fx["lrap"], "LRAP");
    for (i, c) in s.per_class.iter().enumerate() {
        close(c.precision, &fx["precision"][i], "precision");
        close(c.recall, &fx["recall"][i], "recall");
        close(c.f1, &fx["f1"][i], "f1");
        assert_eq!(c.support as u64, fx["support"][i].as_u64().unwrap());
    }
}

fn thresholds_fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("tasks").join("thresholds.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn thresholds_equal_a_brute_force_search_with_scikit_learn_and_beat_half() {
    use tunebench::config::BestMetric;
    use tunebench::protocol::metric_value;
    let fx = thresholds_fixture();
    for (n, table) in fx["tables"].as_array().unwrap().iter().enumerate() {
        let truth = f32_rows(&table["truth"]);
        let probs = f32_rows(&table["probs"]);
        let labels = truth[0].len();
        let names: Vec<String> = (0..labels).map(|i| format!("l{i}")).collect();
        for (metric, want) in table["metrics"].as_object().unwrap() {
            let m: BestMetric = metric.parse().unwrap();
            let got = tunebench::train::thresholds::tune_for(m, &truth, &probs, labels);
            let python = f32s(&want["thresholds"]);
            assert_eq!(got, python, "table {n}, {metric}");
            let value = |t: &[f32]| {
                let s = multi_label_scores(&names, &truth, &probs, t);
                metric_value(metric, 0.0, s.accuracy, s.macro_f1, &[], s.task.as_ref()).unwrap()
            };
            let (tuned, half) = (value(&got), value(&vec![0.5; labels]));
            // scikit-learn's values of the same decisions.
            assert!(
                (tuned - want["tuned"].as_f64().unwrap()).abs() < 1e-9,
                "table {n}, {metric}"
            );
            assert!(
                (half - want["at_half"].as_f64().unwrap()).abs() < 1e-9,
                "table {n}, {metric}"
            );
            let no_worse = if m.lower_is_better() {
                tuned <= half
            } else {
                tuned >= half
            };
            assert!(no_worse, "table {n}, {metric}: tuned {tuned} vs 0.5 {half}");
        }
        let s = multi_label_scores(&names, &truth, &probs, &vec![0.5; labels]);
        let Some(TaskScores::MultiLabel { jaccard, .. }) = s.task else {
            panic!()
        };
        close(jaccard, &table["jaccard_at_half"], "samples Jaccard");
    }
}

#[test]
fn multilabel_label_issues_equal_cleanlab() {
    let fx = &thresholds_fixture()["cleanlab"];
    let probs: Vec<Vec<f64>> = fx["probs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let k = probs[0].len();
    let given: Vec<Vec<bool>> = fx["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let set: Vec<u64> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            (0..k as u64).map(|j| set.contains(&j)).collect()
        })
        .collect();
    let want: Vec<usize> = fx["ranked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let got = tunebench::explain::multilabel_issues::find_multilabel_issues(&given, &probs);
    assert_eq!(got, want, "the same rows in cleanlab's order");
}

#[test]
fn regression_metrics_equal_scipy() {
    let fx = &metrics_fixture()["regression"];
    let s = regression_scores(&f32s(&fx["gold"]), &f32s(&fx["predicted"]));
    let Some(TaskScores::Regression {
        mse,
        mae,
        pearson,
        spearman,
        ..
    }) = s.task
    else {
        panic!("regression scores")
    };
    // The inputs are f32 here and f64 in numpy: 3-decimal values round
    // to within 1e-7 relative, so compare at 1e-6.
    let near = |got: f64, want: &serde_json::Value, what: &str| {
        let want = want.as_f64().unwrap();
        assert!((got - want).abs() < 1e-6, "{what}: {got} vs {want}");
    };
    near(mse, &fx["mse"], "MSE");
    near(mae, &fx["mae"], "MAE");
    near(pearson, &fx["pearson"], "Pearson");
    // Ranks of equal f32 and f64 values are equal: exact.
    close(spearman, &fx["spearman"], "Spearman");
}

/// Rows whose labels follow keywords, so a scratch model learns them.
fn ticket_rows(n: usize) -> Vec<(String, Vec<&'static str>)> {
    let topics = [
        ("billing", "my invoice charge is wrong"),
        ("refund", "i want my money back"),
        ("shipping", "the parcel delivery is late"),
    ];
    (0..n)
        .map(|i| {
            let mut text = format!("ticket {i}");
            let mut labels = Vec::new();
            for (k, (label, words)) in topics.iter().enumerate() {
                if (i >> k) & 1 == 1 || (i % 7 == k) {
                    text.push_str(&format!(" {words}"));
                    labels.push(*label);
                }
            }
            (text, labels)
        })
        .collect()
}

fn train(data: &str, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "train",
        "--data",
        data,
        "--model",
        "scratch:tiny",
        "--set",
        "batch_size=16",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = tunebench().args(&args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    text
}

fn config_json(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("best/config.json")).unwrap()).unwrap()
}

#[test]
fn multi_label_lists_train_evaluate_predict_and_keep_thresholds() {
    let d = tempfile::tempdir().unwrap();
    let mut jsonl = String::new();
    for (text, labels) in ticket_rows(160) {
        jsonl.push_str(&serde_json::json!({"text": text, "labels": labels}).to_string());
        jsonl.push('\n');
    }
    let data = write(d.path(), "tickets.jsonl", &jsonl);
    let run = d.path().join("run");
    let log = train(&data, &run, &["--epochs", "4"]);
    assert!(
        log.contains("task: multi_label (the labels are lists"),
        "{log}"
    );
    assert!(log.contains("micro-F1"), "{log}");
    // Judged by micro-F1 unless told otherwise, thresholds tuned for it.
    assert!(
        log.contains("best_metric: micro_f1 (the multi_label default"),
        "{log}"
    );
    assert!(
        log.contains(
            "thresholds: tuned for micro_f1 on the validation rows (one threshold for all labels"
        ),
        "{log}"
    );
    // transformers' layout: problem_type, num_labels, id2label; and ours.
    let c = config_json(&run);
    assert_eq!(c["problem_type"], "multi_label_classification");
    assert_eq!(c["num_labels"], 3);
    assert_eq!(c["id2label"]["1"], "refund");
    let thresholds = c["tunebench_thresholds"].as_object().unwrap();
    assert_eq!(thresholds.len(), 3);
    // It learned the keywords.
    let eval = succeed(tunebench().args([
        "eval",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--data",
        &data,
        "--format",
        "json",
    ]));
    let e: serde_json::Value = serde_json::from_str(eval.trim()).unwrap();
    assert_eq!(e["task"], "multi_label");
    assert!(e["micro_f1"].as_f64().unwrap() > 0.8, "{e}");
    for key in [
        "macro_f1",
        "weighted_f1",
        "subset_accuracy",
        "hamming_loss",
        "lrap",
        "jaccard",
    ] {
        assert!(e[key].is_number(), "{key} in {e}");
    }
    // The trade: the same metrics decided at 0.5.
    for key in ["micro_f1", "macro_f1", "jaccard", "subset_accuracy"] {
        assert!(e["at_0_5"][key].is_number(), "at_0_5.{key} in {e}");
    }
    let table = succeed(tunebench().args([
        "eval",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--data",
        &data,
    ]));
    assert!(table.contains("thresholds     at 0.5"), "{table}");
    let jaccard_row = table
        .lines()
        .find(|l| l.starts_with("Jaccard (samples) %"))
        .unwrap();
    let cells: Vec<f64> = jaccard_row
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect();
    assert!(
        (cells[0] - e["jaccard"].as_f64().unwrap() * 100.0).abs() < 0.01,
        "{table}"
    );
    assert!(
        (cells[1] - e["at_0_5"]["jaccard"].as_f64().unwrap() * 100.0).abs() < 0.01,
        "{table}"
    );
    assert_eq!(e["per_label"].as_array().unwrap().len(), 3);
    // predict: sigmoid probabilities, the labels over threshold.
    let out = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--format",
        "jsonl",
        "i want my money back and the parcel delivery is late",
    ]));
    let p: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let labels: Vec<&str> = p["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(labels, ["refund", "shipping"], "{p}");
    let sum: f64 = p["probs"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!(sum > 1.2, "sigmoids, not a softmax: {p}");
    // The run's held-out predictions hold label sets.
    let csv = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    assert!(
        csv.starts_with("line,text,labels,predicted,exact,p_billing"),
        "{csv}"
    );

    // A fixed threshold: no tuning, every label at 0.5.
    let fixed = d.path().join("fixed");
    let log = train(&data, &fixed, &["--epochs", "1", "--set", "threshold=0.5"]);
    assert!(log.contains("thresholds: fixed at 0.5"), "{log}");
    let c = config_json(&fixed);
    for t in c["tunebench_thresholds"].as_object().unwrap().values() {
        assert_eq!(t.as_f64(), Some(0.5), "{c}");
    }

    // Label issues by cleanlab's multilabel rule, from two folds.
    let work = d.path().join("issues");
    let out = succeed(tunebench().args([
        "inspect",
        "--data",
        &data,
        "--label-issues",
        "--folds",
        "2",
        "--model",
        "scratch:tiny",
        "--set",
        "epochs=2",
        "--work-dir",
        work.to_str().unwrap(),
    ]));
    assert!(out.contains("rows look mislabeled"), "{out}");
    let held = std::fs::read_to_string(work.join("predictions.csv")).unwrap();
    assert!(
        held.starts_with("line,text,labels,predicted,exact,p_billing"),
        "{held}"
    );
    assert_eq!(held.lines().count(), 161, "every row predicted once");
}

#[test]
fn separated_ids_with_declared_names_and_wide_columns_read_as_label_sets() {
    let d = tempfile::tempdir().unwrap();
    let rows = ticket_rows(64);
    // GoEmotions' layout: no header, ids separated by commas.
    let mut tsv = String::new();
    let id = |l: &str| {
        ["billing", "refund", "shipping"]
            .iter()
            .position(|x| *x == l)
            .unwrap()
    };
    for (text, labels) in &rows {
        let ids: Vec<String> = labels.iter().map(|l| id(l).to_string()).collect();
        tsv.push_str(&format!("{text}\t{}\tx{}\n", ids.join(","), text.len()));
    }
    let data = write(d.path(), "ids.tsv", &tsv);
    let names = write(d.path(), "names.txt", "billing\nrefund\nshipping\nwarranty");
    let run = d.path().join("ids");
    let log = train(
        &data,
        &run,
        &[
            "--no-header",
            "--text-col",
            "0",
            "--label-col",
            "1",
            "--label-names",
            &names,
            "--max-steps",
            "2",
            "--task",
            "multi_label",
        ],
    );
    assert!(log.contains("separated by ','"), "{log}");
    let c = config_json(&run);
    // The declared set, in its order, a label absent from the data included.
    assert_eq!(c["id2label"]["3"], "warranty");
    assert_eq!(c["num_labels"], 4);

    // The wide layout: one 0/1 column per label, by prefix.
    let mut csv = String::from("text,is_billing,is_refund,is_shipping\n");
    for (text, labels) in &rows {
        let cell = |l| u8::from(labels.contains(&l));
        csv.push_str(&format!(
            "{text},{},{},{}\n",
            cell("billing"),
            cell("refund"),
            cell("shipping")
        ));
    }
    let wide = write(d.path(), "wide.csv", &csv);
    let run = d.path().join("wide");
    let log = train(&wide, &run, &["--label-cols", "is_*", "--max-steps", "2"]);
    assert!(log.contains("task: multi_label"), "{log}");
    assert_eq!(config_json(&run)["id2label"]["0"], "is_billing");
    // A pipe-separated CSV evaluates against that model after renaming.
    let mut piped = String::from("text,labels\n");
    for (text, labels) in &rows {
        let l: Vec<String> = labels.iter().map(|l| format!("is_{l}")).collect();
        piped.push_str(&format!("{text},{}\n", l.join("|")));
    }
    let piped = write(d.path(), "piped.csv", &piped);
    succeed(tunebench().args([
        "eval",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--data",
        &piped,
    ]));
    // Bad input, each naming file and line.
    let bad = write(
        d.path(),
        "bad-wide.csv",
        "text,is_a,is_b\nhello,1,0\nworld,2,0\n",
    );
    bad_input(
        &[
            "train",
            "--data",
            &bad,
            "--label-cols",
            "is_a,is_b",
            "--model",
            "scratch:tiny",
        ],
        &["bad-wide.csv:3", "column 'is_a' must hold 0 or 1", "'2'"],
    );
    // An empty cell is a missing label unless the task is declared.
    bad_input(
        &[
            "train",
            "--data",
            &data,
            "--no-header",
            "--text-col",
            "0",
            "--label-col",
            "1",
            "--model",
            "scratch:tiny",
        ],
        &[
            "ids.tsv:25: missing or empty label",
            "set task = \"multi_label\"",
        ],
    );
    let stranger = write(d.path(), "stranger.tsv", "hello there\t0,7\n");
    bad_input(
        &[
            "train",
            "--data",
            &stranger,
            "--no-header",
            "--text-col",
            "0",
            "--label-col",
            "1",
            "--label-names",
            &names,
            "--model",
            "scratch:tiny",
        ],
        &[
            "stranger.tsv:1",
            "label '7' is not in the declared label set",
            "names.txt",
        ],
    );
    bad_input(
        &[
            "train",
            "--data",
            &wide,
            "--label-cols",
            "is_*",
            "--label-col",
            "text",
        ],
        &["label_cols", "replaces label_col"],
    );
    // Settings a multi-label run cannot take, each named.
    for (setting, needles) in [
        (
            "best_metric=pearson",
            &[
                "best_metric",
                "pearson is not reported for a multi_label task",
            ],
        ),
        (
            "threshold=1.5",
            &["threshold", "\"tuned\" or a number in (0, 1)"],
        ),
    ] {
        bad_input(
            &[
                "train",
                "--data",
                &wide,
                "--label-cols",
                "is_*",
                "--set",
                setting,
                "--model",
                "scratch:tiny",
            ],
            needles,
        );
    }
    let floats = write(
        d.path(),
        "floats.jsonl",
        "{\"text\": \"a b\", \"labels\": [\"x\", 1.5]}\n",
    );
    bad_input(
        &["train", "--data", &floats, "--model", "scratch:tiny"],
        &["floats.jsonl:1", "labels[]", "a non-integer number"],
    );
}

#[test]
fn regression_on_numbers_and_sentence_pairs() {
    let d = tempfile::tempdir().unwrap();
    let words = ["good", "great", "fine", "superb"];
    let mut csv = String::from("text,score\n");
    let mut pairs = String::from("sentence1\tsentence2\tscore\n");
    for i in 0..96 {
        let k = i % 5;
        let text: Vec<&str> = (0..k).map(|j| words[(i + j) % 4]).collect();
        csv.push_str(&format!("item {},{:.2}\n", text.join(" "), k as f64 * 1.25));
        pairs.push_str(&format!(
            "a man plays {}\ta man plays {}\t{:.3}\n",
            words[i % 4],
            words[(i + k) % 4],
            if k % 4 == 0 { 5.0 } else { 1.5 }
        ));
    }
    let data = write(d.path(), "scores.csv", &csv);
    let run = d.path().join("run");
    let log = train(&data, &run, &["--epochs", "6"]);
    assert!(
        log.contains("task: regression (every label is a number"),
        "{log}"
    );
    assert!(log.contains("best_metric: pearson"), "{log}");
    let c = config_json(&run);
    assert_eq!(c["problem_type"], "regression");
    assert_eq!(c["num_labels"], 1);
    let eval = succeed(tunebench().args([
        "eval",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--data",
        &data,
        "--format",
        "json",
    ]));
    let e: serde_json::Value = serde_json::from_str(eval.trim()).unwrap();
    assert_eq!(e["task"], "regression");
    assert!(e["pearson"].as_f64().unwrap() > 0.8, "{e}");
    assert!(e["spearman"].is_number() && e["mae"].is_number() && e["mse"].is_number());
    let out = succeed(tunebench().args([
        "predict",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--format",
        "jsonl",
        "item good great fine superb",
        "item",
    ]));
    let values: Vec<f64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["value"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(values[0] > values[1], "{values:?}");

    // STS-B's layout: a pair of sentences and a float score.
    let pairs = write(d.path(), "pairs.tsv", &pairs);
    let run = d.path().join("pairs");
    let log = train(&pairs, &run, &["--max-steps", "3"]);
    assert!(log.contains("task: regression"), "{log}");
    assert_eq!(config_json(&run)["tunebench_input"], "sentence_pairs");

    // Bad input: strings under a declared regression; NaN; a list.
    let words_file = write(
        d.path(),
        "words.csv",
        "text,label\nhello,1.5\nworld,positive\n",
    );
    bad_input(
        &[
            "train",
            "--data",
            &words_file,
            "--task",
            "regression",
            "--model",
            "scratch:tiny",
        ],
        &[
            "words.csv:3",
            "'positive' is not a number",
            "task = \"regression\"",
        ],
    );
    let nan = write(d.path(), "nan.csv", "text,score\nhello,1.5\nworld,NaN\n");
    bad_input(
        &[
            "train",
            "--data",
            &nan,
            "--task",
            "regression",
            "--model",
            "scratch:tiny",
        ],
        &["nan.csv:3", "not a finite number"],
    );
    let lists = write(
        d.path(),
        "lists.jsonl",
        "{\"text\": \"a\", \"label\": [\"x\"]}\n",
    );
    bad_input(
        &[
            "train",
            "--data",
            &lists,
            "--task",
            "regression",
            "--model",
            "scratch:tiny",
        ],
        &["lists.jsonl:1", "the labels are lists"],
    );
    // A regression model evaluated on class names.
    let classes = write(d.path(), "classes.csv", "text,label\nhello,pos\n");
    bad_input(
        &[
            "eval",
            "--checkpoint",
            run.join("best").to_str().unwrap(),
            "--data",
            &classes,
        ],
        &["classes.csv:2", "'pos' is not a finite number"],
    );
}

/// LoRA and freezing train either head: the adapter directory says its
/// task, and a frozen encoder stays bit-identical.
#[test]
fn lora_and_freezing_work_with_both_heads() {
    let d = tempfile::tempdir().unwrap();
    let model = fixture("bert").join("model");
    let mut csv = String::from("text,score\n");
    let mut jsonl = String::new();
    for i in 0..32 {
        let (t, y) = if i % 2 == 0 {
            ("the movie was great", 4.5)
        } else {
            ("a very boring and slow film", 0.5)
        };
        csv.push_str(&format!("{t} {i},{y}\n"));
        let labels = if i % 2 == 0 {
            vec!["fun", "good"]
        } else {
            vec!["dull"]
        };
        jsonl.push_str(&serde_json::json!({"text": t, "labels": labels}).to_string());
        jsonl.push('\n');
    }
    let scores = write(d.path(), "scores.csv", &csv);
    let lists = write(d.path(), "lists.jsonl", &jsonl);
    let lora = d.path().join("lora");
    succeed(tunebench().args([
        "train",
        "--data",
        &scores,
        "--model",
        model.to_str().unwrap(),
        "--max-steps",
        "2",
        "--set",
        "peft=lora",
        "--out",
        lora.to_str().unwrap(),
    ]));
    let best = lora.join("best");
    assert!(best.join("adapter_config.json").is_file());
    assert_eq!(config_json(&lora)["problem_type"], "regression");
    // The adapter alone, on its base model, predicts the run's value.
    let adapter = d.path().join("adapter");
    std::fs::create_dir(&adapter).unwrap();
    for f in [
        "adapter_config.json",
        "adapter_model.safetensors",
        "config.json",
    ] {
        std::fs::copy(best.join(f), adapter.join(f)).unwrap();
    }
    let value = |dir: &Path, base: Option<&Path>| -> f64 {
        let mut cmd = tunebench();
        cmd.args([
            "predict",
            "--checkpoint",
            dir.to_str().unwrap(),
            "--format",
            "jsonl",
        ]);
        if let Some(b) = base {
            cmd.args(["--base", b.to_str().unwrap()]);
        }
        let out = succeed(cmd.arg("the movie was great"));
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    let merged = value(&best, None);
    let from_adapter = value(&adapter, Some(&model));
    assert!(
        (merged - from_adapter).abs() < 1e-4,
        "{merged} vs {from_adapter}"
    );

    let frozen = d.path().join("frozen");
    succeed(tunebench().args([
        "train",
        "--data",
        &lists,
        "--model",
        model.to_str().unwrap(),
        "--max-steps",
        "2",
        "--set",
        "freeze=encoder",
        "--out",
        frozen.to_str().unwrap(),
    ]));
    assert_eq!(
        config_json(&frozen)["problem_type"],
        "multi_label_classification"
    );
    let load = |p: &Path| candle_core::safetensors::load(p, &candle_core::Device::Cpu).unwrap();
    let before = load(&model.join("model.safetensors"));
    let after = load(&frozen.join("best/model.safetensors"));
    let name = "bert.encoder.layer.1.output.dense.weight";
    let diff = max_abs_diff(&before[name], &after[name]);
    assert_eq!(diff, 0.0, "the frozen encoder moved");
    // The head (fresh: other labels) trained.
    assert!(max_abs_diff(&before["classifier.weight"], &after["classifier.weight"]) > 0.0);
}
