//! Building TUI states as a user meets them, for the render tests and the
//! screenshots: the app on the sample reviews, a run's events injected.

use super::reviews;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tunebench::config::RunConfig;
use tunebench::protocol::Event;
use tunebench::train::metrics::ClassMetrics;
use tunebench::tui::app::App;
use tunebench::tui::{load_dataset, render};

pub fn app() -> App {
    let (train, heldout) = reviews();
    let cfg = RunConfig {
        train_file: Some(train),
        val_file: Some(heldout),
        ..Default::default()
    };
    let data = load_dataset(&cfg);
    App::new(cfg, data, "run.toml".into())
}

pub fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

pub fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render::draw(app, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn inject_run(app: &mut App) {
    inject_run_labelled(app, &["negative", "neutral", "positive"]);
}

/// A run with three labels of the caller's: 12 steps and one evaluation.
pub fn inject_run_labelled(app: &mut App, names: &[&str; 3]) {
    inject_steps(app, names);
    inject_eval(
        app,
        names,
        vec![vec![51, 7, 2], vec![4, 47, 9], vec![0, 12, 48]],
    );
}

/// A run's start and 12 steps (no evaluation yet).
pub fn inject_steps(app: &mut App, names: &[&str]) {
    let labels: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    app.on_engine(&Event::Started {
        run_dir: "runs/test".into(),
        total_steps: 40,
        steps_per_epoch: 20,
        start_step: 0,
        params: 1000,
        trainable: 1000,
        device: "cuda:0 (NVIDIA H200, 140 GiB)".into(),
        precision: "bf16".into(),
        labels: labels.clone(),
        train_rows: 720,
        val_rows: 180,
        best_metric: String::new(),
    });
    for step in 1..=12 {
        app.on_engine(&Event::Step {
            step,
            epoch: step as f64 / 20.0,
            loss: 1.1 - step as f64 * 0.05,
            lr: 1e-4,
            grad_norm: 1.0,
            samples_per_s: 123.4,
            tokens_per_s: 2000.0,
            elapsed_s: step as f64,
            eta_s: 95.0,
            device_mem_mib: Some(3584.0),
        });
    }
}

/// One evaluation with this confusion matrix.
pub fn inject_eval(app: &mut App, names: &[&str], confusion: Vec<Vec<usize>>) {
    let labels: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let per_class = labels
        .iter()
        .map(|l| ClassMetrics {
            label: l.clone(),
            precision: 0.8,
            recall: 0.8,
            f1: 0.8,
            support: 60,
        })
        .collect();
    app.on_engine(&Event::Eval {
        step: 12,
        epoch: 0.6,
        split: "val".into(),
        loss: 0.61,
        accuracy: 0.8125,
        macro_f1: 0.8,
        per_class,
        confusion,
        since_best: 0,
        task: None,
        metrics: Default::default(),
    });
}
