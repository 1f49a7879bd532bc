//! The README's screenshots are drawn by the real renderer: the TUI on
//! ratatui's TestBackend at 120×36, fed a real recorded run
//! (assets/screenshots/demo-run.jsonl: `tunebench train` of the demo config
//! on the bundled reviews) and a real prediction with its explanation
//! (demo-prediction.json: `predict --explain` on that run's checkpoint),
//! written as SVG. A committed screenshot that no longer matches what the
//! renderer draws, or that Chromium or librsvg draws wrong
//! (`common::engines`), fails this test; regenerate them all with
//!
//!     TUNEBENCH_UPDATE_SCREENSHOTS=1 cargo test --release --test screenshots

mod common;

use common::root;
use common::tui::key;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use tunebench::config::RunConfig;
use tunebench::protocol::Event;
use tunebench::protocol::Explanation;
use tunebench::protocol::Prediction;
use tunebench::protocol::WordScore;
use tunebench::tui::app::{Action, App};
use tunebench::tui::load_dataset;
use tunebench::tui::theme::Theme;

const SIZE: (u16, u16) = (120, 36);

/// The screen as the renderer draws it.
fn svg(app: &App) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
    t.draw(|f| tunebench::tui::render::draw(app, f)).unwrap();
    t.backend().buffer().clone()
}

/// The app on the sample reviews, with paths as a user in the repository
/// types them (cargo runs tests there), in colour whatever NO_COLOR says,
/// so the pictures are the same on every machine.
fn coloured_app() -> App {
    let cfg = RunConfig {
        train_file: Some("sample-data/reviews/train.csv".into()),
        val_file: Some("sample-data/reviews/heldout.csv".into()),
        ..Default::default()
    };
    let mut a = App::new(cfg.clone(), load_dataset(&cfg), "run.toml".into());
    a.theme = Theme { color: true };
    a
}

fn replay_demo_run(app: &mut App) {
    let body = std::fs::read_to_string(root().join("assets/screenshots/demo-run.jsonl")).unwrap();
    for line in body.lines() {
        let event: Event = serde_json::from_str(line).unwrap();
        app.on_engine(&event);
    }
}

/// The recorded `predict --explain` answer as the engine would send it.
fn demo_prediction() -> (String, Prediction) {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/screenshots/demo-prediction.json")).unwrap(),
    )
    .unwrap();
    let labels = ["negative", "neutral", "positive"];
    let probs: Vec<(String, f32)> = labels
        .iter()
        .map(|l| (l.to_string(), v["probs"][l].as_f64().unwrap() as f32))
        .collect();
    let words: Vec<WordScore> = serde_json::from_value(v["words"].clone()).unwrap();
    let prob = v["score"].as_f64().unwrap() as f32;
    let delta = v["delta"].as_f64().unwrap() as f32;
    let prediction = Prediction {
        label: v["label"].as_str().unwrap().into(),
        score: prob,
        probs,
        logits: serde_json::from_value(v["logits"].clone()).unwrap(),
        chosen: None,
        thresholds: None,
        value: None,
        explanation: Some(Explanation {
            target: v["explained"].as_str().unwrap().into(),
            prob,
            // The integral's completeness: Σ scores = prob − baseline + delta.
            baseline_prob: prob - words.iter().map(|w| w.score).sum::<f32>() + delta,
            tokens: serde_json::from_value(v["attributions"].clone()).unwrap(),
            words,
            delta,
            steps: v["steps"].as_u64().unwrap() as usize,
        }),
        entities: None,
    };
    (v["text"].as_str().unwrap().into(), prediction)
}

/// The committed picture is this screen's SVG, and it reads right in the
/// SVG engines installed here (`common::engines`).
fn check(name: &str, buf: Buffer, engines: &[&str], failures: &mut Vec<String>) {
    let svg = tunebench::tui::svg::buffer_to_svg(&buf);
    let path = root()
        .join("assets/screenshots")
        .join(format!("{name}.svg"));
    if std::env::var_os("TUNEBENCH_UPDATE_SCREENSHOTS").is_some() {
        std::fs::write(&path, &svg).unwrap();
    }
    if std::fs::read_to_string(&path).ok() != Some(svg) {
        failures.push(format!(
            "{} differs from what the renderer draws",
            path.display()
        ));
        return;
    }
    failures.extend(common::engines::check_picture(&path, &buf, engines));
}

#[test]
fn committed_screenshots_match_the_renderer() {
    let mut failures = Vec::new();
    let engines = common::engines::engines();

    // 1. Browsing the corpus.
    let mut a = coloured_app();
    for _ in 0..3 {
        a.on_key(key('j'));
    }
    check("dataset", svg(&a), &engines, &mut failures);

    // 2. The recorded run: curves, confusion matrix, status bar.
    let mut a = coloured_app();
    replay_demo_run(&mut a);
    a.on_key(key('3'));
    check("training", svg(&a), &engines, &mut failures);

    // 3. The playground: a sentence scored and explained word by word.
    let (text, prediction) = demo_prediction();
    a.on_key(key('4'));
    a.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let mut id = None;
    for c in text.chars() {
        a.on_key(key(c));
    }
    for action in a.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)) {
        if let Action::Predict { id: i, .. } = action {
            id = Some(i);
        }
    }
    a.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    a.on_engine(&Event::Prediction {
        id: id.expect("typing a sentence asks for a prediction"),
        text,
        prediction,
        // As the playground showed it for this checkpoint (AMD EPYC, 2 cores).
        latency_ms: 8.6,
    });
    check("playground", svg(&a), &engines, &mut failures);

    // 4. The runs view over the recorded run: three real runs of the demo
    //    config at three learning rates (assets/screenshots/runs), two
    //    marked for comparison.
    let mut a = coloured_app();
    replay_demo_run(&mut a);
    a.on_key(key('3'));
    assert_eq!(a.on_key(key('R')), vec![Action::ListRuns]);
    let runs_dir = std::path::Path::new("assets/screenshots/runs");
    let runs: Vec<_> = ["demo-lr5e-4", "demo-lr2e-4", "demo-lr5e-5"]
        .iter()
        .map(|name| tunebench::runs::registry::summarize(&runs_dir.join(name)))
        .collect();
    a.runs_view.set_runs(runs);
    a.on_key(key(' '));
    a.on_key(key('k'));
    a.on_key(key(' '));
    check("runs", svg(&a), &engines, &mut failures);

    // 5. Their curves compared with the shown run's.
    let dirs = match a.on_key(key('c')).as_slice() {
        [Action::CompareRuns(dirs)] => dirs.clone(),
        other => panic!("c compares the marked runs: {other:?}"),
    };
    tunebench::tui::compare_runs(&mut a, &dirs);
    check("compare", svg(&a), &engines, &mut failures);

    assert!(
        failures.is_empty(),
        "{failures:#?}; regenerate with TUNEBENCH_UPDATE_SCREENSHOTS=1 cargo test --release --test screenshots"
    );
}
