//! The panes of a multi-label and a regression corpus, drawn with
//! ratatui's TestBackend: the dataset's label-set and score views with
//! their filters, per-label F1 bars and the predicted-vs-gold scatter in
//! Curves, thresholds and values in the playground.

mod common;

use common::tui::{inject_steps, key, screen};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;
use tunebench::config::RunConfig;
use tunebench::protocol::{ClassMetrics, Event, Prediction, TaskScores};
use tunebench::tui::action::Action;
use tunebench::tui::app::App;
use tunebench::tui::load_dataset;

fn app_on(dir: &Path, name: &str, body: &str) -> App {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    let cfg = RunConfig {
        train_file: Some(path),
        val_split: 0.2,
        ..Default::default()
    };
    App::new(cfg.clone(), load_dataset(&cfg), "run.toml".into())
}

fn tickets() -> String {
    let mut body = String::from("text,labels\n");
    let sets = [
        "billing|tech",
        "refund",
        "billing|refund|tech",
        "tech",
        "billing|tech",
    ];
    for i in 0..40 {
        let set = sets[i % sets.len()];
        body.push_str(&format!(
            "ticket {i} about {},{set}\n",
            set.replace('|', " ")
        ));
    }
    body
}

fn scores() -> String {
    let mut body = String::from("sentence1,sentence2,score\n");
    for i in 0..40 {
        body.push_str(&format!(
            "a man {i},a woman {i},{:.2}\n",
            (i % 11) as f64 * 0.5
        ));
    }
    body
}

fn per_label(names: &[&str], f1: &[f64], support: &[usize]) -> Vec<ClassMetrics> {
    names
        .iter()
        .zip(f1)
        .zip(support)
        .map(|((l, &f1), &support)| ClassMetrics {
            label: l.to_string(),
            precision: f1,
            recall: f1,
            f1,
            support,
        })
        .collect()
}

fn eval(task: TaskScores, per_class: Vec<ClassMetrics>) -> Event {
    Event::Eval {
        step: 12,
        epoch: 0.6,
        split: "val".into(),
        loss: 0.3,
        accuracy: 0.25,
        macro_f1: 0.5,
        per_class,
        confusion: vec![],
        since_best: 0,
        task: Some(task),
        metrics: Default::default(),
    }
}

/// Type a sentence into the playground and answer it with `prediction`.
fn predict(app: &mut App, text: &str, prediction: Prediction) {
    app.on_key(key('4'));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let mut actions = Vec::new();
    for c in text.chars() {
        actions.extend(app.on_key(key(c)));
    }
    actions.extend(app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let Some(Action::Predict { id, text, .. }) = actions.pop() else {
        panic!("a predict action")
    };
    app.on_engine(&Event::Prediction {
        id,
        text,
        prediction,
        latency_ms: 3.0,
    });
}

#[test]
fn a_multi_label_corpus_shows_label_sets_and_filters_by_label_and_count() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app_on(d.path(), "tickets.csv", &tickets());
    let s = screen(&app, 160, 48);
    assert!(s.contains("billing, tech"), "sets read as lists: {s}");
    assert!(s.contains("labels/row 0:0 1:"), "cardinality: {s}");
    assert!(s.contains("billing + tech:"), "pairs: {s}");
    // The balance bars count each label, not each set.
    assert!(s.contains("refund "), "{s}");
    assert!(!s.contains("billing|tech "), "{s}");
    app.on_key(key('1'));
    app.on_key(key('f'));
    let s = screen(&app, 160, 48);
    assert!(s.contains("label=billing"), "{s}");
    let title = s.lines().next().unwrap();
    // billing is in 3 of every 5 label sets; the split keeps each set's
    // share (31 training rows, 19 with billing).
    assert!(title.contains("19/31 label=billing"), "{title}");
    app.on_key(key('#'));
    app.on_key(key('#'));
    app.on_key(key('#'));
    let s = screen(&app, 160, 48);
    assert!(s.contains("labels/row=2"), "{s}");
    assert!(
        !s.contains("refund, tech"),
        "a 3-label row is filtered out: {s}"
    );
    // Label corrections are for single-label corpora.
    app.on_key(key('r'));
    let s = screen(&app, 160, 48);
    assert!(
        s.contains("label corrections are for single-label corpora"),
        "{s}"
    );
    // 80x24 keeps working.
    let s = screen(&app, 80, 24);
    assert!(s.contains("Dataset"), "{s}");
}

#[test]
fn curves_show_per_label_f1_most_frequent_first_and_the_status_bar_micro_f1() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app_on(d.path(), "tickets.csv", &tickets());
    let names = ["billing", "refund", "tech"];
    inject_steps(&mut app, &names);
    app.on_engine(&eval(
        TaskScores::MultiLabel {
            micro_f1: 0.71,
            macro_f1: 0.62,
            weighted_f1: 0.7,
            subset_accuracy: 0.25,
            hamming_loss: 0.1,
            lrap: 0.8,
            jaccard: 0.55,
            thresholds: vec![0.35, 0.5, 0.45],
        },
        per_label(&names, &[0.66, 0.31, 0.89], &[12, 4, 20]),
    ));
    let s = screen(&app, 160, 48);
    assert!(s.contains("F1 by label"), "{s}");
    assert!(s.contains("val micro-F1 71.0%"), "status bar: {s}");
    assert!(
        s.contains("• micro-F1 71.0%  ▄ macro-F1 62.0%"),
        "Curves: {s}"
    );
    // Jaccard joins the metrics chart's key where there is room for it.
    let wide = screen(&app, 240, 60);
    assert!(wide.contains("▄ macro-F1 62.0% · Jaccard 55.0%"), "{wide}");
    let tech = s.find("tech     ").unwrap();
    let billing = s.find("billing  ").unwrap();
    let refund_bar = s.find(" 0.31    4 0.50").expect("f1, rows, threshold");
    assert!(tech < billing && billing < refund_bar, "by support: {s}");
    assert!(!s.contains("confusion"), "no confusion matrix: {s}");
}

#[test]
fn a_regression_corpus_shows_score_ranges_and_a_scatter() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app_on(d.path(), "pairs.csv", &scores());
    let s = screen(&app, 160, 48);
    assert!(s.contains("0.00–1.00"), "score bins: {s}");
    assert!(s.contains("scores 0.00 … 5.00"), "{s}");
    app.on_key(key('1'));
    app.on_key(key('F'));
    let s = screen(&app, 160, 48);
    assert!(s.contains("score=4.00–5.00"), "{s}");
    inject_steps(&mut app, &["score"]);
    app.on_engine(&eval(
        TaskScores::Regression {
            mse: 0.4,
            mae: 0.5,
            pearson: 0.873,
            spearman: 0.85,
            points: vec![(0.0, 0.4), (2.5, 2.2), (5.0, 4.1)],
        },
        vec![],
    ));
    let s = screen(&app, 160, 48);
    assert!(s.contains("predicted vs gold"), "{s}");
    assert!(s.contains("val Pearson 0.873"), "{s}");
    assert!(s.contains("• Pearson") && s.contains("▄ Spearman"), "{s}");
}

#[test]
fn the_playground_marks_thresholds_and_places_a_value_on_the_training_range() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app_on(d.path(), "tickets.csv", &tickets());
    inject_steps(&mut app, &["billing", "refund", "tech"]);
    predict(
        &mut app,
        "my invoice is wrong",
        Prediction {
            label: "billing".into(),
            score: 0.9,
            probs: vec![
                ("billing".into(), 0.9),
                ("refund".into(), 0.4),
                ("tech".into(), 0.2),
            ],
            logits: vec![2.2, -0.4, -1.4],
            chosen: Some(vec!["billing".into(), "refund".into()]),
            thresholds: Some(vec![0.5, 0.3, 0.5]),
            value: None,
            explanation: None,
            entities: None,
        },
    );
    let s = screen(&app, 160, 48);
    assert!(s.contains("90.0% ✓"), "{s}");
    assert!(s.contains("40.0% ✓"), "over its own threshold 0.3: {s}");
    assert!(s.contains("20.0%  "), "{s}");
    assert!(s.contains("│ the label's threshold"), "{s}");
    assert!(s.contains("billing, refund"), "tested list: {s}");

    let mut app = app_on(d.path(), "pairs.csv", &scores());
    inject_steps(&mut app, &["score"]);
    predict(
        &mut app,
        "a man plays",
        Prediction {
            label: "score".into(),
            score: 3.75,
            probs: vec![("score".into(), 3.75)],
            logits: vec![3.75],
            chosen: None,
            thresholds: None,
            value: Some(3.75),
            explanation: None,
            entities: None,
        },
    );
    let s = screen(&app, 160, 48);
    assert!(s.contains("score 3.750"), "{s}");
    assert!(s.contains("on the training scores' range"), "{s}");
    assert!(s.contains("●"), "{s}");
}

/// The validation rows' lines, as a run splits the file (its
/// predictions.csv holds these).
fn val_lines(dir: &Path, name: &str) -> Vec<u64> {
    let cfg = RunConfig {
        train_file: Some(dir.join(name)),
        val_split: 0.2,
        ..Default::default()
    };
    let corpus = tunebench::train::prepare::load_corpus(&cfg).unwrap();
    corpus.val.iter().map(|r| r.line).collect()
}

/// The dataset pane's misclassified filter (`m`) on a task's own
/// predictions.csv, read as the TUI reads a run's.
fn filter_misclassified(app: &mut App, csv: &str) -> String {
    let path = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(path.path(), csv).unwrap();
    let predictions =
        tunebench::tui::dataset::predictions::read_task_predictions(path.path()).unwrap();
    app.set_predictions(predictions);
    app.on_key(key('1'));
    app.on_key(key('m'));
    screen(app, 160, 48)
}

#[test]
fn the_misclassified_filter_shows_multi_label_rows_with_a_wrong_label_and_says_which() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app_on(d.path(), "tickets.csv", &tickets());
    // The first validation row misses `refund`; the others are right.
    let lines = val_lines(d.path(), "tickets.csv");
    let mut csv = String::from("line,text,labels,predicted,exact,p_billing,p_refund,p_tech\n");
    for &line in &lines {
        let wrong = line == lines[0];
        let (given, said) = if wrong {
            ("billing|refund", "billing")
        } else {
            ("tech", "tech")
        };
        csv.push_str(&format!("{line},t,{given},{said},{},0.9,0.1,0.2\n", !wrong));
    }
    let s = filter_misclassified(&mut app, &csv);
    let title = s.lines().next().unwrap();
    assert!(title.contains("misclassified"), "{title}");
    assert!(s.contains("model: billing ·"), "{s}");
    assert!(s.contains("missed refund ✗ wrong"), "{s}");
    assert!(
        !s.contains("model: tech"),
        "right rows are filtered out: {s}"
    );
}

#[test]
fn the_misclassified_filter_shows_the_regression_rows_farthest_from_gold() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app_on(d.path(), "scores.csv", &scores());
    // Every validation row within 0.1 of gold but one.
    let lines = val_lines(d.path(), "scores.csv");
    let mut csv = String::from("line,text,label,predicted,error\n");
    for &line in &lines {
        let e = if line == lines[0] {
            2.0 + line as f64 / 100.0
        } else {
            0.05
        };
        csv.push_str(&format!("{line},t,1.0,{},{e}\n", 1.0 + e));
    }
    let s = filter_misclassified(&mut app, &csv);
    assert!(s.lines().next().unwrap().contains("misclassified"), "{s}");
    assert!(s.contains("(error +2."), "the far rows: {s}");
    assert!(
        !s.contains("(error +0.050)"),
        "close rows are filtered out: {s}"
    );
}
