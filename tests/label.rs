//! Active learning: the query strategies and the stopping rule against
//! small-text (tests/fixtures/make_label_fixtures.py), and `label
//! simulate` end to end on the bundled reviews with a scratch model.

mod common;

use common::cli::{bad_input, run, tunebench};
use common::{reviews, root};
use tunebench::label::session::{RoundReport, Scores};
use tunebench::label::stopping::{cohen_kappa, KappaAverage};
use tunebench::label::strategy::Strategy;
use tunebench::rng::Rng;

fn fixture() -> serde_json::Value {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/label/strategies.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn strategies_score_and_pick_small_texts_rows() {
    let f = fixture();
    for case in f["queries"].as_array().unwrap() {
        let strategy: Strategy = case["strategy"].as_str().unwrap().parse().unwrap();
        let n = case["n"].as_u64().unwrap() as usize;
        let probs = common::json_rows(&case["proba"]);
        let scores = strategy.scores(&probs).unwrap();
        let want: Vec<f64> = case["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (got, want) in scores.iter().zip(&want) {
            assert!(
                (got - want).abs() < 1e-12,
                "{strategy} scores: {scores:?} vs {want:?}"
            );
        }
        let mut picked = strategy.query(&probs, n, &mut Rng::seeded(0));
        picked.sort_unstable();
        let theirs: Vec<usize> = case["picked"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        // small-text takes the n best with np.argpartition, which picks
        // among rows tied at the cut in an order of numpy's own; every row
        // better than the cut is the same, and the rest tie with it.
        let key = |i: usize| match strategy {
            Strategy::Entropy => -scores[i],
            _ => scores[i],
        };
        let cut = theirs
            .iter()
            .map(|&i| key(i))
            .fold(f64::NEG_INFINITY, f64::max);
        for i in 0..probs.len() {
            if key(i) < cut - 1e-12 {
                assert!(
                    picked.contains(&i) && theirs.contains(&i),
                    "{strategy} n={n}: row {i}"
                );
            }
        }
        for i in picked.iter().chain(&theirs) {
            assert!(
                key(*i) <= cut + 1e-12,
                "{strategy} n={n}: row {i} past the cut"
            );
        }
        assert_eq!(picked.len(), theirs.len());
        if picked != theirs {
            // Only a tie at the cut may differ.
            let differing: Vec<_> = picked.iter().filter(|i| !theirs.contains(i)).collect();
            assert!(differing.iter().all(|&&i| (key(i) - cut).abs() < 1e-12));
        }
    }
}

#[test]
fn kappa_equals_scikit_learns_and_the_stop_rule_fires_where_small_texts_does() {
    let f = fixture();
    for case in f["kappa"].as_array().unwrap() {
        let seq = |k: &str| -> Vec<usize> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        };
        let classes = case["classes"].as_u64().unwrap() as usize;
        let got = cohen_kappa(&seq("a"), &seq("b"), classes);
        let want = case["kappa"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    let s = &f["stopping"];
    let mut rule = KappaAverage::new(s["classes"].as_u64().unwrap() as usize);
    for (p, want) in s["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(s["stop"].as_array().unwrap())
    {
        let p: Vec<usize> = p
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(rule.stop(&p), want.as_bool().unwrap(), "{:?}", rule.history);
    }
}

fn simulate_args(out: &std::path::Path) -> Vec<String> {
    let (train, heldout) = reviews();
    [
        "label",
        "simulate",
        "--model",
        "scratch:tiny",
        "--strategies",
        "breaking_ties,random,diverse",
        "--seed-size",
        "20",
        "--query",
        "20",
        "--rounds",
        "2",
        "--seeds",
        "2",
        "--pool-sample",
        "200",
        "--set",
        "epochs=2",
        "--set",
        "max_len=32",
        "--set",
        "scratch_vocab=500",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        "--data".into(),
        train.display().to_string(),
        "--val".into(),
        heldout.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ])
    .collect()
}

#[test]
fn the_simulator_writes_every_round_and_repeats_itself() {
    let d = tempfile::tempdir().unwrap();
    let mut csvs = Vec::new();
    for name in ["a", "b"] {
        let out = d.path().join(name);
        let (ok, stdout, stderr) = if name == "a" {
            run(tunebench()
                .env("RAYON_NUM_THREADS", "1")
                .args(simulate_args(&out)))
        } else {
            // Stopped with Ctrl-C after a few rounds, then resumed: the
            // same curves as a run that was never stopped.
            let mut child = tunebench()
                .env("RAYON_NUM_THREADS", "1")
                .args(simulate_args(&out))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let csv = out.join("learning_curve.csv");
            let t0 = std::time::Instant::now();
            while std::fs::read_to_string(&csv).map_or(0, |c| c.lines().count()) < 5 {
                assert!(t0.elapsed().as_secs() < 300, "no rounds");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let pid = child.id().to_string();
            std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap();
            child.wait().unwrap();
            let kept = std::fs::read_to_string(&csv).unwrap().lines().count();
            assert!(kept < 1 + 3 * 2 * 3, "stopped early: {kept} lines");
            let resumed = run(tunebench()
                .env("RAYON_NUM_THREADS", "1")
                .args(["label", "simulate", "--resume"])
                .arg(&out));
            assert!(resumed.1.contains("going on simulating"), "{}", resumed.1);
            resumed
        };
        assert!(ok, "{stdout}{stderr}");
        let csv = std::fs::read_to_string(out.join("learning_curve.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "strategy,seed,round,labels,metric,seconds");
        // 3 strategies × 2 seeds × (round 0 + 2 rounds).
        assert_eq!(lines.len(), 1 + 3 * 2 * 3, "{csv}");
        for l in &lines[1..] {
            let cells: Vec<&str> = l.split(',').collect();
            let (round, labels): (usize, usize) =
                (cells[2].parse().unwrap(), cells[3].parse().unwrap());
            assert_eq!(labels, 20 + 20 * round, "{l}");
            let metric: f64 = cells[4].parse().unwrap();
            assert!((0.0..=1.0).contains(&metric), "{l}");
        }
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary.as_array().unwrap().len(), 3);
        assert_eq!(summary[1]["strategy"], "random");
        assert!(summary[0]["normalised_auc"].as_f64().is_some());
        assert!(!out.join("rounds").exists(), "round runs are cleaned up");
        // Everything but the timing repeats.
        let without_time: Vec<String> = lines
            .iter()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect();
        csvs.push(without_time);
    }
    assert_eq!(csvs[0], csvs[1], "the same seeds give the same rows");
    // A new simulation does not write over one.
    let (ok, _, stderr) = run(tunebench().args(simulate_args(&d.path().join("a"))));
    assert!(!ok && stderr.contains("--resume"), "{stderr}");
}

#[test]
fn a_warm_started_simulation_trains_each_round_on_the_last_rounds_weights() {
    let d = tempfile::tempdir().unwrap();
    let curve = |name: &str, extra: &[&str]| -> Vec<String> {
        let out = d.path().join(name);
        let mut args = simulate_args(&out);
        let i = args.iter().position(|a| a == "--strategies").unwrap();
        args[i + 1] = "breaking_ties".into();
        args.extend(extra.iter().map(|s| s.to_string()));
        let (ok, stdout, stderr) = run(tunebench().env("RAYON_NUM_THREADS", "1").args(&args));
        assert!(ok, "{stdout}{stderr}");
        assert!(!out.join("rounds").exists(), "round runs are cleaned up");
        std::fs::read_to_string(out.join("learning_curve.csv"))
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    let fresh = curve("fresh", &[]);
    let warm = curve("warm", &["--warm-start", "1"]);
    assert_eq!(warm.len(), fresh.len());
    // Round 0 is the same fresh model; later rounds start elsewhere.
    assert_eq!(warm[1], fresh[1]);
    assert_ne!(warm[2..], fresh[2..]);
}

#[test]
fn bad_simulator_input_is_refused_naming_the_flag() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("x");
    let mut args = simulate_args(&out);
    let set = |args: &mut Vec<String>, flag: &str, value: &str| {
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1] = value.into();
    };
    let mut a = args.clone();
    set(&mut a, "--query", "0");
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    bad_input(&refs, &["query", "at least one row"]);
    let mut a = args.clone();
    set(&mut a, "--seed-size", "100000");
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    bad_input(&refs, &["100000 seed labels from a pool of"]);
    set(&mut args, "--strategies", "coin_flip");
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run(tunebench().args(&refs));
    assert!(
        !ok && stderr.contains("unknown strategy 'coin_flip'"),
        "{stderr}"
    );
}

/// A pool of the reviews' texts with no label column, and a labels.csv
/// giving `given` of them their true labels: (dir, pool, labels file).
fn pool_and_labels(given: usize) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    use tunebench::data::given_labels::{write, GivenLabel, Source};
    let d = tempfile::tempdir().unwrap();
    let pool = d.path().join("pool.csv");
    let rows = common::reviews_pool(&pool);
    let labels: Vec<GivenLabel> = rows
        .iter()
        .enumerate()
        .take(given)
        .map(|(i, (text, label))| GivenLabel {
            line: i as u64 + 2,
            text: text.clone(),
            label: label.clone(),
            round: i / 20,
            strategy: "random".into(),
            score: None,
            seconds: 3.0,
            source: Source::Person,
        })
        .collect();
    let file = d.path().join("labels.csv");
    write(&file, &labels).unwrap();
    (d, pool, file)
}

#[test]
fn train_reads_a_pool_with_the_labels_given_to_it() {
    let (d, pool, labels) = pool_and_labels(120);
    let (_, heldout) = reviews();
    let out = d.path().join("run");
    let (ok, stdout, stderr) = run(tunebench()
        .env("RAYON_NUM_THREADS", "1")
        .arg("train")
        .arg("--data")
        .arg(&pool)
        .arg("--labels")
        .arg(&labels)
        .arg("--val")
        .arg(&heldout)
        .args([
            "--model",
            "scratch:tiny",
            "--epochs",
            "1",
            "--set",
            "max_len=32",
        ])
        .arg("--out")
        .arg(&out));
    assert!(ok, "{stdout}{stderr}");
    let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(cfg.contains("labels = "), "{cfg}");
    // 120 labeled rows of the pool's 720: 4 steps of 32 in one epoch.
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"total_steps\":4"), "{metrics}");
}

#[test]
fn a_labels_file_that_no_longer_fits_its_pool_is_refused() {
    let (_d, pool, labels) = pool_and_labels(5);
    let text = std::fs::read_to_string(&labels).unwrap();
    // Line 3 of the labels file names another text than the pool's row.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let cells: Vec<&str> = lines[2].splitn(3, ',').collect();
    lines[2] = format!(
        "{},\"a text the pool never had\",{}",
        cells[0], "positive,0,random,,3.0,person"
    );
    std::fs::write(&labels, lines.join("\n") + "\n").unwrap();
    bad_input(
        &[
            "train",
            "--data",
            pool.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
            "--model",
            "scratch:tiny",
            "--out",
            _d.path().join("run").to_str().unwrap(),
        ],
        &[
            "labels.csv:3: line 3 of",
            "the pool changed since it was labeled",
        ],
    );
}

#[test]
fn a_labelling_session_saves_each_label_retrains_and_ranks_the_pool() {
    use tunebench::data::given_labels::Source;
    use tunebench::label::session::{Session, SessionSpec};
    let (d, pool, _) = pool_and_labels(0);
    let (_, heldout) = reviews();
    let truth: std::collections::HashMap<String, String> =
        common::reviews_pool(&d.path().join("pool-again.csv"))
            .into_iter()
            .collect();
    let dir = d.path().join("session");
    let spec = SessionSpec {
        pool: pool.clone(),
        val: Some(heldout),
        model: "scratch:tiny".into(),
        labels: vec!["negative".into(), "neutral".into(), "positive".into()],
        multi_label: false,
        strategy: "breaking_ties".into(),
        batch: 30,
        pool_sample: 300,
        seed: 7,
        pseudo_label: None,
        warm_epochs: None,
        labeled: None,
    };
    let mut s = Session::create(&dir, spec.clone()).unwrap();
    // Before a model: a seeded order, no scores.
    let first = s.queue(60);
    assert_eq!(first.len(), 60);
    assert!(first.iter().all(|o| o.score.is_none() && o.top.is_empty()));
    for o in &first {
        s.give(o.line, &truth[&o.text], 2.0).unwrap();
    }
    assert!(s.batch_done());
    let e = s.give(first[0].line, "meh", 1.0).unwrap_err().to_string();
    assert!(e.contains("unknown label 'meh'"), "{e}");
    let undone = s.undo().unwrap().unwrap();
    assert_eq!(undone.line, first[59].line);
    assert_eq!(
        s.queue(1)[0].line,
        first[59].line,
        "an undone row is offered again"
    );
    s.give(undone.line, &undone.label, 2.0).unwrap();
    // Saved at once, in the file train --labels reads.
    let saved = tunebench::data::given_labels::read(&s.labels_path()).unwrap();
    assert_eq!(saved.len(), 60);
    assert_eq!(saved[0].strategy, "random");
    // A round: an ordinary run on the session's labels, then the ranking.
    let cfg = s
        .round_config(&tunebench::config::RunConfig {
            epochs: 8,
            max_len: 32,
            scratch_vocab: 500,
            tensorboard: false,
            ..Default::default()
        })
        .unwrap();
    let run = dir.join("round-1");
    let events = tunebench::train::prepare(cfg, &run).unwrap().run_to_end();
    assert!(events
        .iter()
        .any(|e| matches!(e, tunebench::protocol::Event::Finished { .. })));
    let device = candle_core::Device::Cpu;
    s.rescore(&run.join("best"), 1, &device).unwrap();
    assert_eq!(s.scores.probs.len(), 300, "a sub-pool of 300 scored");
    assert_eq!(
        s.scores.stop_predictions.len(),
        200,
        "and the fixed stop set"
    );
    assert_eq!(s.stop_set(), Session::open(&dir).unwrap().stop_set());
    let ranked = s.queue(10);
    let margins: Vec<f64> = ranked.iter().map(|o| o.score.unwrap()).collect();
    assert!(
        margins.windows(2).all(|w| w[0] <= w[1]),
        "smallest margin first: {margins:?}"
    );
    assert_eq!(ranked[0].top.len(), 3);
    assert!(ranked[0].top[0].1 >= ranked[0].top[1].1);
    // Another day: the same labels and ranking.
    let again = Session::open(&dir).unwrap();
    assert_eq!(again.given, s.given);
    assert_eq!(again.queue(10), ranked);
    let e = Session::create(&dir, spec).err().unwrap().to_string();
    assert!(e.contains("already holds a labelling session"), "{e}");
    // Self-training: the model's confident rows train the next round as
    // pseudo-labels, kept apart from the person's labels.
    let person = std::fs::read(s.labels_path()).unwrap();
    let threshold = {
        // A threshold some scored rows pass and some do not.
        let mut top: Vec<f32> = s
            .scores
            .probs
            .values()
            .map(|p| p.iter().copied().fold(0.0, f32::max))
            .collect();
        top.sort_by(|a, b| a.total_cmp(b));
        f64::from(top[top.len() / 2])
    };
    s.spec.pseudo_label = Some(threshold);
    let pseudo = s.pseudo_labels(threshold);
    let passing = s
        .scores
        .probs
        .values()
        .filter(|p| f64::from(p.iter().copied().fold(0.0, f32::max)) >= threshold)
        .count();
    assert_eq!(pseudo.len(), passing);
    assert!(
        pseudo.len() >= 150 && pseudo.len() < 300,
        "{}",
        pseudo.len()
    );
    assert!(pseudo.iter().all(|g| g.source == Source::Pseudo
        && g.score.unwrap() >= threshold
        && !s.given.iter().any(|h| h.line == g.line)));
    let cfg = s
        .round_config(&tunebench::config::RunConfig {
            epochs: 2,
            max_len: 32,
            scratch_vocab: 500,
            tensorboard: false,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        std::fs::read(s.labels_path()).unwrap(),
        person,
        "labels.csv untouched"
    );
    let apart = tunebench::data::given_labels::read(&dir.join("pseudo.csv")).unwrap();
    assert_eq!(apart, pseudo);
    let report = s.train_round(2, cfg.clone()).unwrap();
    assert_eq!(report.pseudo, pseudo.len());
    assert_eq!(report.scores.round, 2);
    // A warm start: the next round trains on round 2's weights, briefly.
    let labels = s.labeled();
    s.record_round(labels, report).unwrap();
    s.spec.warm_epochs = Some(1);
    let warm = s.round_config(&cfg).unwrap();
    assert_eq!(warm.epochs, 1);
    let latest = s.latest_checkpoint().unwrap();
    assert!(latest.starts_with(s.round_dir(2)), "{}", latest.display());
    assert_eq!(std::path::PathBuf::from(&warm.model), latest);
    // Round 3 lands: round 2's weights go, its curves stay.
    let report = s.train_round(3, warm).unwrap();
    let labels = s.labeled();
    s.record_round(labels, report).unwrap();
    let old = s.round_dir(2);
    assert!(!old.join("checkpoints").exists() && !old.join("best").exists());
    assert!(old.join("metrics.jsonl").exists());
    assert!(s.latest_checkpoint().unwrap().starts_with(s.round_dir(3)));
    s.spec.warm_epochs = None;
    assert_eq!(s.round_config(&cfg).unwrap().model, "scratch:tiny");
}

#[test]
fn a_session_refuses_a_pool_with_nothing_left_to_label() {
    use tunebench::label::session::{Session, SessionSpec};
    let d = tempfile::tempdir().unwrap();
    let (train, _) = reviews();
    let spec = SessionSpec {
        pool: train,
        val: None,
        model: "scratch:tiny".into(),
        labels: vec!["negative".into(), "positive".into()],
        multi_label: false,
        strategy: "breaking_ties".into(),
        batch: 25,
        pool_sample: 0,
        seed: 1,
        pseudo_label: None,
        warm_epochs: None,
        labeled: None,
    };
    let e = Session::create(&d.path().join("s"), spec.clone())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("every row of") && e.contains("has a label"),
        "{e}"
    );
    let e = Session::create(
        &d.path().join("s"),
        SessionSpec {
            batch: 0,
            ..spec.clone()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("batch"), "{e}");
    let e = Session::create(
        &d.path().join("s"),
        SessionSpec {
            strategy: "coin_flip".into(),
            ..spec
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("unknown strategy 'coin_flip'"), "{e}");
}

#[test]
fn the_labelling_screen_shows_the_row_its_keys_and_asks_for_a_round_per_batch() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use tunebench::label::session::Session;
    use tunebench::tui::label_view::{LabelAction, LabelView};
    let (d, pool, _) = pool_and_labels(0);
    let spec = three_labels(pool, 3);
    let session = Session::create(&d.path().join("s"), spec).unwrap();
    let mut view = LabelView::new(session, tunebench::config::RunConfig::default());
    let draw = |view: &LabelView| {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let theme = tunebench::tui::theme::Theme::from_env();
        t.draw(|f| view.draw(f, &theme)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..24)
            .map(|y| {
                (0..80)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let s = draw(&view);
    let shown = view.current.clone().unwrap();
    assert!(s.contains(&shown.text[..30]), "{s}");
    assert!(s.contains("no model yet"), "{s}");
    // negative and neutral share a letter; positive has its own.
    for key in [" 1   negative", " 2   neutral", " 3/p positive"] {
        assert!(s.contains(key), "{s}");
    }
    let press = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(view.on_key(press('1')), None);
    assert_eq!(view.on_key(press('3')), None);
    // The third label completes the batch: a round on the labels so far.
    let Some(LabelAction::Retrain { round, cfg }) = view.on_key(press('2')) else {
        panic!("a round after the batch")
    };
    assert_eq!(round, 1);
    assert_eq!(
        cfg.labels.as_deref(),
        Some(view.session.labels_path().as_path())
    );
    assert!(draw(&view).contains("round 1 training in the background"));
    // A key past the label set does nothing; u takes the last one back.
    assert_eq!(view.on_key(press('7')), None);
    assert_eq!(view.session.labeled(), 3);
    view.on_key(press('u'));
    assert_eq!(view.session.labeled(), 2);
    assert!(draw(&view).contains("took back line"));
    // The undone row comes back first; labelled again while the round
    // still trains, no second round starts.
    assert_eq!(view.on_key(press('2')), None);
    assert_eq!(view.session.labeled(), 3);
    // The round lands: the queue is ranked and the curve has its point.
    let open: Vec<u64> = view.session.queue(1000).iter().map(|o| o.line).collect();
    let probs = open
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            (
                l,
                if i == 5 {
                    vec![0.5, 0.49, 0.01]
                } else {
                    vec![0.9, 0.05, 0.05]
                },
            )
        })
        .collect();
    let stop_predictions = vec![0, 1, 2, 0];
    view.round_finished(
        1,
        Ok(report(
            Scores {
                round: 1,
                probs,
                stop_predictions: stop_predictions.clone(),
                picked: Vec::new(),
            },
            Some(0.5),
        )),
    );
    assert_eq!(
        view.current.as_ref().unwrap().line,
        open[5],
        "the smallest margin first"
    );
    let s = draw(&view);
    assert!(s.contains("3 labels 50.0%"), "{s}");
    assert!(s.contains("breaking_ties 0.010"), "{s}");
    // Three more rounds whose stop-set predictions do not move: κ 1.00
    // each time, and small-text's rule (mean of 3 ≥ 0.99) says stop.
    for round in 2..=4 {
        assert!(!view.stop_signal);
        view.round_finished(
            round,
            Ok(report(
                Scores {
                    round,
                    probs: Default::default(),
                    stop_predictions: stop_predictions.clone(),
                    picked: Vec::new(),
                },
                None,
            )),
        );
    }
    assert!(view.stop_signal);
    let s = draw(&view);
    assert!(s.contains("κ 1.00") && s.contains("STOP"), "{s}");
    assert_eq!(view.on_key(press('q')), Some(LabelAction::Quit));
    // Another day: the curve and the stop signal are still there.
    let again = LabelView::new(
        Session::open(&view.session.dir).unwrap(),
        tunebench::config::RunConfig::default(),
    );
    assert_eq!(again.session.rounds, view.session.rounds);
    assert_eq!(again.session.rounds.len(), 4);
    assert!(again.stop_signal);
    let s = draw(&again);
    assert!(s.contains("3 labels 50.0%") && s.contains("STOP"), "{s}");
}

fn report(scores: Scores, accuracy: Option<f64>) -> RoundReport {
    RoundReport {
        scores,
        accuracy,
        train_s: 1.0,
        pseudo: 0,
        score_s: 0.5,
        pool_precision: "int8",
    }
}

/// A person's other keys: a label's letter, `?` unsure (kept apart, saved,
/// never offered again), `/` to find rows by keyword (labels given there
/// say so), Esc back to the queue.
#[test]
fn letters_unsure_and_keyword_search_in_the_labelling_screen() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use tunebench::label::session::Session;
    use tunebench::tui::label_view::{LabelAction, LabelView};
    let (d, pool, _) = pool_and_labels(0);
    let spec = three_labels(pool, 25);
    let dir = d.path().join("s");
    let session = Session::create(&dir, spec).unwrap();
    let mut view = LabelView::new(session, tunebench::config::RunConfig::default());
    assert_eq!(view.letters(), vec![None, None, Some('p')]);
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    let press = |c: char| key(KeyCode::Char(c));
    // p labels positive; n (shared by two labels) does nothing.
    let first = view.current.clone().unwrap();
    assert_eq!(view.on_key(press('n')), None);
    assert_eq!(view.session.labeled(), 0);
    view.on_key(press('p'));
    assert_eq!(view.session.given[0].line, first.line);
    assert_eq!(view.session.given[0].label, "positive");
    // ? sets the row aside: not labeled, not offered again.
    let doubtful = view.current.clone().unwrap();
    view.on_key(press('?'));
    assert_ne!(view.current.as_ref().unwrap().line, doubtful.line);
    assert!(view.session.unsure.contains(&doubtful.line));
    assert!(view
        .session
        .queue(10_000)
        .iter()
        .all(|o| o.line != doubtful.line));
    // / finds rows by keyword; every row offered holds it.
    let word = "waste";
    let holding: Vec<u64> = view
        .session
        .queue(10_000)
        .iter()
        .filter(|o| o.text.to_lowercase().contains(word))
        .map(|o| o.line)
        .collect();
    assert!(holding.len() >= 2, "the reviews mention waste");
    view.on_key(press('/'));
    for c in word.chars() {
        assert_eq!(view.on_key(press(c)), None, "typed, not a command");
    }
    view.on_key(key(KeyCode::Enter));
    assert_eq!(view.keyword.as_deref(), Some(word));
    assert!(view
        .status
        .contains(&format!("{} open rows hold", holding.len())));
    for _ in 0..2 {
        let shown = view.current.clone().unwrap();
        assert!(shown.text.to_lowercase().contains(word), "{}", shown.text);
        view.on_key(press('1'));
    }
    let found: Vec<&str> = view.session.given[1..]
        .iter()
        .map(|g| g.strategy.as_str())
        .collect();
    assert_eq!(found, ["keyword", "keyword"]);
    // Esc leaves the search, a second Esc quits.
    assert_eq!(view.on_key(key(KeyCode::Esc)), None);
    assert!(view.keyword.is_none());
    assert_eq!(view.on_key(key(KeyCode::Esc)), Some(LabelAction::Quit));
    // Another day: the unsure row is still set aside.
    let again = Session::open(&dir).unwrap();
    assert!(again.unsure.contains(&doubtful.line));
    assert_eq!(again.labeled(), 3);
    let csv = std::fs::read_to_string(dir.join("labels.csv")).unwrap();
    assert_eq!(csv.matches(",keyword,").count(), 2, "{csv}");
}

/// `diverse` asks for uncertain rows, one per cluster: where breaking ties
/// takes three near-copies (the smallest margins), it takes one of each
/// kind, all from the uncertain rows.
#[test]
fn the_diverse_strategy_spreads_its_batch_over_the_uncertain_rows() {
    // Rows 0-19: one text's copies, the smallest margins; 20-24 and 25-29:
    // two other kinds, still uncertain; 30-99: confident.
    let probs: Vec<Vec<f64>> = (0..100)
        .map(|i| match i {
            0..=19 => vec![0.50, 0.49, 0.01],
            20..=29 => vec![0.55, 0.40, 0.05],
            _ => vec![0.98, 0.01, 0.01],
        })
        .collect();
    let kind = |i: usize| match i {
        0..=19 => 0,
        20..=24 => 1,
        25..=29 => 2,
        _ => 3,
    };
    let vector = |i: usize| {
        let mut v = vec![0.0f32; 4];
        v[kind(i)] = 1.0;
        v[3] += 0.01 * (i % 3) as f32;
        v
    };
    let mut rng = Rng::seeded(5);
    let ties = Strategy::BreakingTies.query(&probs, 3, &mut rng);
    assert!(ties.iter().all(|&i| kind(i) == 0), "{ties:?}");
    let mut asked = Vec::new();
    let picked = Strategy::Diverse
        .pick(&probs, 3, &mut rng, |idx: &[usize]| {
            asked = idx.to_vec();
            Ok::<_, ()>(idx.iter().map(|&i| vector(i)).collect())
        })
        .unwrap();
    assert_eq!(asked.len(), 30, "ten times the batch, the most uncertain");
    assert!(asked.iter().all(|&i| i < 30), "{asked:?}");
    let mut kinds: Vec<usize> = picked.iter().map(|&i| kind(i)).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec![0, 1, 2], "{picked:?}");
}

/// Before any label, a pretrained encoder picks the first batch for
/// diversity; a `scratch:` model (meaningless vectors) does not.
#[test]
fn a_cold_start_picks_the_first_batch_from_the_encoders_vectors() {
    use tunebench::label::session::{Session, SessionSpec};
    let (d, pool, _) = pool_and_labels(0);
    let spec = |model: &str| SessionSpec {
        model: model.into(),
        ..three_labels(pool.clone(), 6)
    };
    let device = candle_core::Device::Cpu;
    let scratch = Session::create(&d.path().join("scratch"), spec("scratch:tiny")).unwrap();
    assert_eq!(scratch.cold_start(&device).unwrap(), None);
    let encoder = root().join("tests/fixtures/bert/encoder");
    let mut s = Session::create(&d.path().join("s"), spec(encoder.to_str().unwrap())).unwrap();
    let scores = s
        .cold_start(&device)
        .unwrap()
        .expect("a pretrained encoder");
    assert_eq!(scores.picked.len(), 6);
    let mut distinct = scores.picked.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 6, "{:?}", scores.picked);
    // The same seed picks the same rows.
    assert_eq!(s.cold_start(&device).unwrap().unwrap(), scores);
    s.set_scores(scores.clone()).unwrap();
    let offered: Vec<u64> = s.queue(6).iter().map(|o| o.line).collect();
    assert_eq!(
        offered, scores.picked,
        "the batch is offered first, in order"
    );
    s.give(offered[0], "positive", 1.0).unwrap();
    assert_eq!(s.given[0].strategy, "cold_start");
    // With a label given, no second cold start.
    assert_eq!(s.cold_start(&device).unwrap(), None);
}

/// A pool whose labeled rows are scores or tagged words is refused before
/// the screen opens, saying why (exit 2).
#[test]
fn a_session_on_scores_or_tags_is_refused_saying_why() {
    let d = tempfile::tempdir().unwrap();
    let pool = d.path().join("pool.csv");
    std::fs::write(
        &pool,
        "text,label\nfine food,\nslow service,\ngreat view,\n",
    )
    .unwrap();
    let tags = common::conll(4);
    let cases = [
        (
            "text,label\ngood,4.5\nbad,0.5\nok,2.25\nmeh,1.75\nwow,4.75\n",
            vec!["regression", "no uncertainty"],
        ),
        (tags.as_str(), vec!["token_classification", "whole texts"]),
    ];
    for (i, (val, needles)) in cases.into_iter().enumerate() {
        let v = d.path().join(["val.csv", "val.conll"][i]);
        std::fs::write(&v, val).unwrap();
        let mut needles = needles;
        needles.push("val.c");
        bad_input(
            &[
                "label",
                "--data",
                pool.to_str().unwrap(),
                "--val",
                v.to_str().unwrap(),
                "--out",
                d.path().join("s").to_str().unwrap(),
            ],
            &needles,
        );
    }
    assert!(!d.path().join("s").exists(), "nothing written");
}

/// The sentence vectors the diverse strategy and the cold start cluster
/// are transformers' mean pooling of the last hidden state.
#[test]
fn sentence_vectors_equal_transformers_mean_pooling() {
    let fixture: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/label/mean_pooled.json")).unwrap(),
    )
    .unwrap();
    let texts: Vec<String> = serde_json::from_value(fixture["texts"].clone()).unwrap();
    let want: Vec<Vec<f32>> = serde_json::from_value(fixture["vectors"].clone()).unwrap();
    let encoder = tunebench::predict::Predictor::load_encoder(
        &root().join("tests/fixtures/bert/encoder"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let rows: Vec<tunebench::data::Row> = texts
        .iter()
        .map(|t| tunebench::data::Row::unlabelled(t.clone()))
        .collect();
    let got = encoder.embed_rows(&rows).unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.len(), w.len());
        let worst = g
            .iter()
            .zip(w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "off by {worst}");
    }
}

/// A multi-label corpus: `binary_entropy` (and random) play it, scored by
/// micro-F1; a one-label strategy is refused naming the one that fits.
#[test]
fn the_simulator_plays_a_multi_label_corpus_by_micro_f1() {
    let d = tempfile::tempdir().unwrap();
    let (train, heldout) = reviews();
    let mut files = Vec::new();
    for (from, name) in [(train, "train.csv"), (heldout, "val.csv")] {
        let mut w = csv::Writer::from_path(d.path().join(name)).unwrap();
        w.write_record(["text", "label"]).unwrap();
        let mut r = csv::Reader::from_path(from).unwrap();
        for row in r.records() {
            let row = row.unwrap();
            let (text, label) = (&row[0], &row[1]);
            // Its sentiment, and `short` for a short text.
            let labels = if text.split_whitespace().count() < 10 {
                format!("{label}|short")
            } else {
                label.to_string()
            };
            w.write_record([text, labels.as_str()]).unwrap();
        }
        w.flush().unwrap();
        files.push(d.path().join(name));
    }
    let out = d.path().join("sim");
    let args = |strategies: &str| -> Vec<String> {
        [
            "label",
            "simulate",
            "--model",
            "scratch:tiny",
            "--strategies",
            strategies,
            "--seed-size",
            "20",
            "--query",
            "20",
            "--rounds",
            "2",
            "--seeds",
            "1",
            "--set",
            "epochs=2",
            "--set",
            "max_len=32",
            "--set",
            "scratch_vocab=500",
            "--data",
            files[0].to_str().unwrap(),
            "--val",
            files[1].to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let (ok, stdout, stderr) = run(tunebench()
        .env("RAYON_NUM_THREADS", "1")
        .args(args("binary_entropy,random")));
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("micro_f1"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("learning_curve.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 3, "{csv}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary[0]["strategy"], "binary_entropy");
    assert_eq!(summary[0]["metric"], "micro_f1");
    let refused = args("breaking_ties");
    let refs: Vec<&str> = refused.iter().map(String::as_str).collect();
    bad_input(&refs, &["breaking_ties", "binary_entropy"]);
}

/// A session on `pool` with the reviews' three labels, `scratch:tiny`,
/// breaking ties, seed 3.
fn three_labels(pool: std::path::PathBuf, batch: usize) -> tunebench::label::session::SessionSpec {
    tunebench::label::session::SessionSpec {
        pool,
        val: None,
        model: "scratch:tiny".into(),
        labels: vec!["negative".into(), "neutral".into(), "positive".into()],
        multi_label: false,
        strategy: "breaking_ties".into(),
        batch,
        pool_sample: 0,
        seed: 3,
        pseudo_label: None,
        warm_epochs: None,
        labeled: None,
    }
}

#[test]
fn the_simulator_plays_a_token_corpus_by_entity_f1() {
    let d = tempfile::tempdir().unwrap();
    let train = d.path().join("train.conll");
    std::fs::write(&train, common::conll(120)).unwrap();
    let dev = d.path().join("dev.conll");
    std::fs::write(&dev, common::conll(20)).unwrap();
    let out = d.path().join("sim");
    let (ok, stdout, stderr) = run(tunebench().env("RAYON_NUM_THREADS", "1").args([
        "label",
        "simulate",
        "--model",
        "scratch:tiny",
        "--strategies",
        "mean_token_entropy,max_token_entropy,random",
        "--seed-size",
        "10",
        "--query",
        "10",
        "--rounds",
        "2",
        "--seeds",
        "1",
        "--set",
        "epochs=3",
        "--set",
        "max_len=16",
        "--set",
        "scratch_vocab=200",
        "--set",
        "lr=1e-2",
        "--data",
        train.to_str().unwrap(),
        "--val",
        dev.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("entity_f1"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("learning_curve.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 3, "{csv}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary[0]["metric"], "entity_f1");
    // The easy synthetic tags are learned: the last round finds entities.
    let last: f64 = csv
        .lines()
        .nth(3)
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    assert!(last > 0.3, "{csv}");
    // A sentence-level strategy on tags is refused, saying which fit.
    let (ok, _, stderr) = run(tunebench().args([
        "label",
        "simulate",
        "--model",
        "scratch:tiny",
        "--strategies",
        "breaking_ties",
        "--data",
        train.to_str().unwrap(),
        "--val",
        dev.to_str().unwrap(),
        "--out",
        d.path().join("no").to_str().unwrap(),
    ]));
    assert!(!ok && stderr.contains("mean_token_entropy"), "{stderr}");
}

#[test]
fn a_resumed_session_adopts_the_round_it_left_training() {
    use tunebench::label::session::{LaunchedRound, Session};
    use tunebench::tui::label_round::{RoundUpdate, RoundWatch};
    let (d, pool, _) = pool_and_labels(0);
    let dir = d.path().join("session");
    let s = Session::create(&dir, three_labels(pool, 10)).unwrap();
    assert!(RoundWatch::adopt(&s).is_none(), "no round was started");
    // Round 1's run as its process leaves it: config, events, checkpoint.
    let run = s.round_dir(1);
    std::fs::create_dir_all(run.join("checkpoints/step-2")).unwrap();
    std::fs::write(run.join("config.toml"), "").unwrap();
    let step = |n: usize, elapsed: f64| {
        format!(
            "{{\"event\":\"step\",\"step\":{n},\"epoch\":1.0,\"loss\":0.5,\"lr\":1e-5,\"grad_norm\":1.0,\"samples_per_s\":9.0,\"tokens_per_s\":90.0,\"elapsed_s\":{elapsed},\"eta_s\":0.0}}\n"
        )
    };
    std::fs::write(run.join("metrics.jsonl"), step(1, 2.0) + &step(2, 4.5)).unwrap();
    let launched = LaunchedRound {
        round: 1,
        labels: 10,
        pseudo: 0,
        validated: false,
    };
    std::fs::write(
        dir.join("rounds/round-1.json"),
        serde_json::to_string(&launched).unwrap(),
    )
    .unwrap();
    let mut watch = RoundWatch::adopt(&s).expect("round 1 adopted");
    assert_eq!(watch.launched, launched);
    assert_eq!(
        watch.poll(),
        RoundUpdate::Progress("step 2 · loss 0.500".into())
    );
    let finished = "{\"event\":\"finished\",\"reason\":\"completed\",\"step\":2,\"best_step\":2,\"best_metric\":0.5}\n";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("metrics.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, finished.as_bytes()).unwrap();
    // Its training time is the run's own clock, not the time since it was
    // found.
    assert_eq!(
        watch.poll(),
        RoundUpdate::Trained {
            checkpoint: run.join("checkpoints/step-2"),
            accuracy: None,
            train_s: 4.5,
        }
    );
    // A run whose process is gone before it finished fails, saying where
    // its log is.
    std::fs::write(run.join("metrics.jsonl"), step(1, 2.0)).unwrap();
    let mut watch = RoundWatch::adopt(&s).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    match watch.poll() {
        RoundUpdate::Failed(e) => assert!(e.contains("train.log"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rows_labeled_before_the_session_train_round_zero_and_every_round() {
    use tunebench::label::session::Session;
    let (d, pool, _) = pool_and_labels(0);
    // Labeled rows from elsewhere: the reviews' held-out file.
    let (_, heldout) = reviews();
    let dir = d.path().join("session");
    let spec = tunebench::label::session::SessionSpec {
        labeled: Some(heldout.clone()),
        ..three_labels(pool.clone(), 10)
    };
    let s = Session::create(&dir, spec.clone()).unwrap();
    assert!(s.wants_first_round() && !s.wants_cold_start());
    assert_eq!(s.first_round(), 0);
    let base = tunebench::config::RunConfig {
        epochs: 1,
        max_len: 32,
        scratch_vocab: 500,
        tensorboard: false,
        ..Default::default()
    };
    let cfg = s.round_config(&base).unwrap();
    assert_eq!(cfg.labeled_file.as_deref(), Some(heldout.as_path()));
    // No label of the person's yet: round 0 trains on those rows alone.
    let report = s.train_round(0, cfg).unwrap();
    assert_eq!(report.scores.round, 0);
    assert!(!report.scores.probs.is_empty(), "the pool ranked");
    // A row of another label set is refused naming its file and line.
    let odd = d.path().join("odd.csv");
    std::fs::write(&odd, "text,label\nfine,positive\nmeh,lukewarm\n").unwrap();
    let e = Session::create(
        &d.path().join("other"),
        tunebench::label::session::SessionSpec {
            labeled: Some(odd),
            ..spec
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("odd.csv") && e.contains("3") && e.contains("lukewarm"),
        "{e}"
    );
}

/// The reviews with a set of labels a text: its sentiment, and `short`
/// for a text under ten words (the simulator's multi-label test's rule).
fn with_short(label: &str, text: &str) -> String {
    if text.split_whitespace().count() < 10 {
        format!("{label}|short")
    } else {
        label.to_string()
    }
}

/// A multi-label session: labels read as sets from --val, keys toggle
/// labels and Enter gives the set, labels.csv holds the sets, a round
/// trains a multi-label model ranked by binary entropy and judged by
/// micro-F1, κ over the yes/no decisions, pseudo-labels as sets, and
/// `train --labels` trains on them.
#[test]
fn a_multi_label_session_gives_sets_of_labels_and_trains_on_them() {
    use crossterm::event::{KeyCode, KeyEvent};
    use tunebench::label::session::{labels_in, Session, SessionSpec};
    use tunebench::tui::label_view::LabelView;
    let (d, pool, _) = pool_and_labels(0);
    let truth: std::collections::HashMap<String, String> =
        common::reviews_pool(&d.path().join("pool-again.csv"))
            .into_iter()
            .map(|(t, l)| {
                let set = with_short(&l, &t);
                (t, set)
            })
            .collect();
    // The validation rows separate their labels with ';': read as sets.
    let val = d.path().join("val.csv");
    let mut w = csv::Writer::from_path(&val).unwrap();
    w.write_record(["text", "label"]).unwrap();
    let mut r = csv::Reader::from_path(reviews().1).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        w.write_record([&row[0], &with_short(&row[1], &row[0]).replace('|', ";")])
            .unwrap();
    }
    w.flush().unwrap();
    let found = labels_in(&val).unwrap();
    assert!(found.multi_label);
    let mut names = found.names.clone();
    names.sort();
    assert_eq!(names, ["negative", "neutral", "positive", "short"]);
    let spec = SessionSpec {
        pool,
        val: Some(val),
        model: "scratch:tiny".into(),
        labels: vec![
            "negative".into(),
            "neutral".into(),
            "positive".into(),
            "short".into(),
        ],
        multi_label: true,
        strategy: "breaking_ties".into(),
        batch: 40,
        pool_sample: 0,
        seed: 5,
        pseudo_label: None,
        warm_epochs: None,
        labeled: None,
    };
    let dir = d.path().join("session");
    let e = Session::create(&dir, spec.clone())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("breaking_ties") && e.contains("binary_entropy"),
        "{e}"
    );
    let spec = SessionSpec {
        strategy: "binary_entropy".into(),
        ..spec
    };
    let mut s = Session::create(&dir, spec).unwrap();
    let first = s.queue(40);
    let e = s.give(first[0].line, "", 1.0).unwrap_err().to_string();
    assert!(e.contains("at least one"), "{e}");
    let e = s
        .give(first[0].line, "short|meh", 1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown label 'meh'"), "{e}");
    // The screen: keys toggle labels, Enter gives the set.
    let mut view = LabelView::new(s, tunebench::config::RunConfig::default());
    let on_screen = view.current.clone().unwrap();
    let key = |view: &mut LabelView, c: KeyCode| view.on_key(KeyEvent::from(c));
    key(&mut view, KeyCode::Enter);
    assert!(
        view.session.given.is_empty(),
        "nothing chosen, nothing given"
    );
    assert!(view.status.contains("no label chosen"), "{}", view.status);
    for c in ['1', '4', '3', '1'] {
        key(&mut view, KeyCode::Char(c));
    }
    assert_eq!(view.chosen, [2, 3].into_iter().collect());
    // Tab and a name: a label with no key of its own (many labels).
    for c in [
        KeyCode::Tab,
        KeyCode::Char('n'),
        KeyCode::Char('e'),
        KeyCode::Enter,
    ] {
        key(&mut view, c);
    }
    assert!(
        view.status.contains("negative, neutral: type more"),
        "{}",
        view.status
    );
    for c in [KeyCode::Char('u'), KeyCode::Enter] {
        key(&mut view, c);
    }
    assert_eq!(view.chosen, [1, 2, 3].into_iter().collect());
    assert!(view.naming.is_none());
    for c in [
        KeyCode::Tab,
        KeyCode::Char('N'),
        KeyCode::Char('E'),
        KeyCode::Char('U'),
    ] {
        key(&mut view, c);
    }
    key(&mut view, KeyCode::Enter);
    assert_eq!(
        view.chosen,
        [2, 3].into_iter().collect(),
        "toggled off again"
    );
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 24)).unwrap();
    let theme = tunebench::tui::theme::Theme::from_env();
    t.draw(|f| view.draw(f, &theme)).unwrap();
    let screen: String = t
        .backend()
        .buffer()
        .content
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        screen.contains("[x] positive") && screen.contains("[ ] negative"),
        "{screen}"
    );
    assert!(screen.contains("Enter gives the set"), "{screen}");
    key(&mut view, KeyCode::Enter);
    let given = view.session.given.last().unwrap();
    assert_eq!(
        (given.line, given.label.as_str()),
        (on_screen.line, "positive|short")
    );
    assert!(view.chosen.is_empty(), "the next row starts with no label");
    let mut s = view.session;
    s.undo().unwrap();
    for o in s.queue(40) {
        s.give(o.line, &truth[&o.text], 2.0).unwrap();
    }
    assert!(s.batch_done());
    let saved = tunebench::data::given_labels::read(&s.labels_path()).unwrap();
    assert!(saved.iter().any(|g| g.label.ends_with("|short")));
    // A round: a multi-label model, judged by micro-F1 on the sets.
    let base = tunebench::config::RunConfig {
        epochs: 4,
        max_len: 32,
        scratch_vocab: 500,
        tensorboard: false,
        ..Default::default()
    };
    let cfg = s.round_config(&base).unwrap();
    assert_eq!(cfg.task, Some(tunebench::data::Task::MultiLabel));
    let report = s.train_round(1, cfg).unwrap();
    let f1 = report.accuracy.unwrap();
    assert!((0.0..=1.0).contains(&f1), "{f1}");
    assert!(report.scores.probs.values().all(|p| p.len() == 4));
    let stop = s.stop_set().len();
    assert_eq!(report.scores.stop_predictions.len(), stop * 4);
    assert!(report.scores.stop_predictions.iter().all(|&a| a <= 1));
    s.record_round(40, report).unwrap();
    let ranked = s.queue(10);
    let entropies: Vec<f64> = ranked.iter().map(|o| o.score.unwrap()).collect();
    assert!(
        entropies.windows(2).all(|w| w[0] >= w[1]),
        "the largest mean binary entropy first: {entropies:?}"
    );
    // Pseudo-labels are sets of the labels at 0.5 or more.
    for p in s.pseudo_labels(0.0) {
        let probs = &s.scores.probs[&p.line];
        let expected: Vec<&str> = s
            .spec
            .labels
            .iter()
            .zip(probs)
            .filter(|(_, &x)| x >= 0.5)
            .map(|(l, _)| l.as_str())
            .collect();
        assert_eq!(p.label, expected.join("|"));
    }
    // `train --labels` reads the sets.
    let (ok, stdout, stderr) = run(tunebench().env("RAYON_NUM_THREADS", "1").args([
        "train",
        "--data",
        s.spec.pool.to_str().unwrap(),
        "--labels",
        s.labels_path().to_str().unwrap(),
        "--model",
        "scratch:tiny",
        "--set",
        "epochs=1",
        "--set",
        "max_len=32",
        "--set",
        "scratch_vocab=500",
        "--out",
        d.path().join("trained").to_str().unwrap(),
    ]));
    assert!(ok, "{stdout}{stderr}");
    let config = std::fs::read_to_string(d.path().join("trained/best/config.json")).unwrap();
    assert!(config.contains("multi_label_classification"), "{config}");
}

/// Sets from files that separate labels differently merge: a `--labeled`
/// file's `a;b` beside the session's `a|b` train one multi-label round; a
/// set holding an unknown label is refused naming its line.
#[test]
fn a_multi_label_session_merges_labeled_sets_of_any_separator() {
    use tunebench::label::session::{Session, SessionSpec};
    let (d, pool, _) = pool_and_labels(0);
    let labeled = d.path().join("earlier.csv");
    let mut w = csv::Writer::from_path(&labeled).unwrap();
    w.write_record(["text", "label"]).unwrap();
    let mut r = csv::Reader::from_path(reviews().1).unwrap();
    for row in r.records().take(40) {
        let row = row.unwrap();
        w.write_record([&row[0], &with_short(&row[1], &row[0]).replace('|', ";")])
            .unwrap();
    }
    w.flush().unwrap();
    let spec = SessionSpec {
        pool,
        val: None,
        model: "scratch:tiny".into(),
        labels: vec![
            "negative".into(),
            "neutral".into(),
            "positive".into(),
            "short".into(),
        ],
        multi_label: true,
        strategy: "binary_entropy".into(),
        batch: 10,
        pool_sample: 0,
        seed: 5,
        pseudo_label: None,
        warm_epochs: None,
        labeled: Some(labeled.clone()),
    };
    let mut s = Session::create(&d.path().join("s"), spec.clone()).unwrap();
    for o in s.queue(10) {
        s.give(o.line, "positive|short", 1.0).unwrap();
    }
    let base = tunebench::config::RunConfig {
        epochs: 1,
        max_len: 32,
        scratch_vocab: 500,
        tensorboard: false,
        ..Default::default()
    };
    let report = s.train_round(1, s.round_config(&base).unwrap()).unwrap();
    assert!(report.scores.probs.values().all(|p| p.len() == 4));
    // An unknown label inside a set: refused, naming the file and line.
    let bad = d.path().join("bad.csv");
    std::fs::write(
        &bad,
        "text,label\ngood food,positive;short\nfine,positive;spicy\n",
    )
    .unwrap();
    let e = Session::create(
        &d.path().join("s2"),
        SessionSpec {
            labeled: Some(bad),
            ..spec
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("spicy") && e.contains("bad.csv"), "{e}");
}
