//! The TUI drawn on ratatui's TestBackend with engine events injected, at
//! the smallest supported size (80×24, tabs) and a large one (160×48, grid).

mod common;

use common::tui::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tunebench::protocol::Event;
use tunebench::protocol::Prediction;
use tunebench::tui::app::{Action, App, PaneId};

#[test]
fn status_bar_chart_and_confusion_show_injected_values_at_80x24() {
    let mut app = app();
    inject_run(&mut app);
    app.on_key(key('3'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("RUNNING"), "{s}");
    assert!(s.contains("12/40"), "{s}");
    assert!(s.contains("acc 81.2%"), "{s}");
    assert!(s.contains("123.4/s"), "{s}");
    assert!(s.contains("ETA 1m35s │ cuda:0 bf16 3.5G"), "{s}");
    assert!(
        s.contains("loss 0.5000"),
        "latest raw loss in the chart title: {s}"
    );
    let squashed: Vec<String> = s
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        squashed
            .iter()
            .any(|l| l.contains("negative neutral positive")),
        "{s}"
    );
    assert!(
        squashed.iter().any(|l| l.contains("negative 51 7 2")),
        "{s}"
    );
    assert!(
        squashed.iter().any(|l| l.contains("positive 0 12 48")),
        "{s}"
    );
    assert!(
        s.contains("1 Dataset │ 2 Hyperparameters │ 3 Curves │ 4 Playground"),
        "tabs at 80x24: {s}"
    );
    // The chart drew something: braille cells in the loss area.
    assert!(
        s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "{s}"
    );
}

#[test]
fn grid_layout_shows_all_four_panes_at_160x48() {
    let mut app = app();
    inject_run(&mut app);
    let s = screen(&app, 160, 48);
    for title in ["1 Dataset", "2 Hyperparameters", "3 Curves", "4 Playground"] {
        assert!(s.contains(title), "{title} missing: {s}");
    }
    assert!(s.contains("read-only: run active"), "{s}");
    assert!(
        s.contains("Avoid this tent if you care at all about poles."),
        "{s}"
    );
    assert!(
        s.contains("step 12/40") && s.contains("val acc 81.2%") && s.contains("123.4 samples/s"),
        "{s}"
    );
    assert!(
        s.contains("cuda:0 (NVIDIA H200, 140 GiB) bf16 3.5G"),
        "wide status names the GPU, precision and memory: {s}"
    );
    assert!(s.contains("val • acc 81.2%  ▄ macro-F1 80.0%"), "{s}");
}

#[test]
fn plain_markers_and_log_scale_render_without_braille() {
    let mut app = app();
    inject_run(&mut app);
    app.on_key(key('3'));
    app.on_key(key('b'));
    app.on_key(key('l'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("log10 loss"), "{s}");
    assert!(
        !s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "{s}"
    );
}

#[test]
fn invalid_hyperparameter_is_shown_inline_and_blocks_start() {
    let mut app = app();
    app.on_key(key('2'));
    find_key(&mut app, "lr");
    assert_eq!(app.hparams.field(), "lr");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    for c in "0.0.1".chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.on_key(key('s')).is_empty(), "no run starts");
    let s = screen(&app, 80, 24);
    assert!(s.contains("✗ not a number"), "{s}");
    assert!(s.contains("cannot start: 1 invalid field(s)"), "{s}");
}

/// A live run, the playground focused, `text` typed and entered: the
/// actions that produced.
/// A confident "positive" over three labels.
fn positive_prediction() -> Prediction {
    Prediction {
        label: "positive".into(),
        score: 0.7,
        probs: vec![
            ("negative".into(), 0.1),
            ("neutral".into(), 0.2),
            ("positive".into(), 0.7),
        ],
        logits: vec![0.0, 0.7, 1.9],
        chosen: None,
        thresholds: None,
        value: None,
        explanation: None,
        entities: None,
    }
}

fn type_in_playground(app: &mut App, text: &str) -> Vec<Action> {
    inject_run(app);
    app.on_key(key('4'));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let mut actions = Vec::new();
    for c in text.chars() {
        actions.extend(app.on_key(key(c)));
    }
    actions.extend(app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    actions
}

#[test]
fn playground_shows_live_probabilities_sorted() {
    let mut app = app();
    let mut actions = type_in_playground(&mut app, "The tent is superb");
    let Some(Action::Predict { id, text, explain }) = actions.pop() else {
        panic!("a predict action")
    };
    assert_eq!(
        explain, None,
        "typing a sentence predicts, it does not explain"
    );
    assert_eq!(text, "The tent is superb");
    app.on_engine(&Event::Prediction {
        id,
        text,
        prediction: positive_prediction(),
        latency_ms: 4.2,
    });
    let s = screen(&app, 80, 24);
    let pos = s.find("70.0%").expect("positive prob shown");
    let neu = s.find("20.0%").expect("neutral prob shown");
    assert!(pos < neu, "sorted by probability: {s}");
    assert!(s.contains("latency 4.2 ms"), "{s}");
    assert!(s.contains("positive 70%"), "tested list: {s}");
    // A new evaluation re-scores the tested sentence.
    let rescore = app.on_engine(&Event::Eval {
        step: 20,
        epoch: 1.0,
        split: "val".into(),
        loss: 0.5,
        accuracy: 0.9,
        macro_f1: 0.9,
        per_class: vec![],
        confusion: vec![vec![1, 0, 0], vec![0, 1, 0], vec![0, 0, 1]],
        since_best: 0,
        task: None,
        metrics: Default::default(),
    });
    assert!(rescore
        .iter()
        .any(|a| matches!(a, Action::Predict { text, .. } if text == "The tent is superb")));
}

#[test]
fn playground_explains_a_sentence_word_by_word() {
    use tunebench::protocol::Explanation;
    use tunebench::protocol::WordScore;
    let mut app = app();
    type_in_playground(&mut app, "The tent is superb");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    let prediction = positive_prediction();
    app.on_engine(&Event::Prediction {
        id: 1,
        text: "The tent is superb".into(),
        prediction: prediction.clone(),
        latency_ms: 4.0,
    });
    assert!(screen(&app, 100, 30).contains("e: why"));
    let asked = app.on_key(key('e'));
    let Some(Action::Predict {
        id,
        explain: Some(req),
        ..
    }) = asked.first().cloned()
    else {
        panic!("e asks for an explanation: {asked:?}")
    };
    assert_eq!(req.target, None);
    let words = [
        ("The", 0.01),
        ("tent", 0.05),
        ("is", -0.12),
        ("superb", 0.4),
    ];
    app.on_engine(&Event::Prediction {
        id,
        text: "The tent is superb".into(),
        prediction: Prediction {
            explanation: Some(Explanation {
                target: "positive".into(),
                prob: 0.7,
                baseline_prob: 0.36,
                tokens: vec![],
                words: words
                    .iter()
                    .map(|(w, s)| WordScore {
                        word: w.to_string(),
                        score: *s,
                    })
                    .collect(),
                delta: 1e-6,
                steps: 32,
            }),
            entities: None,
            ..prediction
        },
        latency_ms: 300.0,
    });
    let s = screen(&app, 100, 30);
    assert!(s.contains("why positive"), "{s}");
    assert!(s.contains("superb▲▲▲") && s.contains("is▼"), "{s}");
    // t explains the next label.
    let asked = app.on_key(key('t'));
    assert!(
        matches!(
            asked.first(),
            Some(Action::Predict { explain: Some(r), .. }) if r.target.as_deref() == Some("negative")
        ),
        "{asked:?}"
    );
}

#[test]
fn help_lists_keys_and_quit_asks_to_leave_or_stop_a_running_run() {
    let mut app = app();
    app.on_key(key('?'));
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("Help") && s.contains("pause / resume the run"),
        "{s}"
    );
    app.on_key(key('x'));
    assert!(!app.help);
    inject_run(&mut app);
    app.on_key(key('q'));
    assert!(app.confirm_quit && !app.should_quit);
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("leave it running") && s.contains("stop it, writing a checkpoint"),
        "{s}"
    );
    // Esc cancels; d leaves the run going and quits at once.
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(!app.confirm_quit && !app.should_quit);
    app.on_key(key('q'));
    let actions = app.on_key(key('d'));
    assert!(
        actions.is_empty() && app.should_quit,
        "detach sends nothing"
    );
    app.should_quit = false;
    app.on_key(key('q'));
    let actions = app.on_key(key('s'));
    assert_eq!(
        actions,
        vec![Action::Engine(tunebench::protocol::Command::Stop {
            save: true
        })]
    );
    assert!(!app.should_quit, "waits for the engine to finish");
    app.on_engine(&Event::Finished {
        reason: tunebench::protocol::FinishReason::Stopped,
        step: 12,
        best_step: Some(12),
        best_metric: Some(0.8),
    });
    assert!(app.should_quit);
    assert_eq!(app.focus, PaneId::Dataset);
}

#[test]
fn runs_view_lists_runs_and_compared_curves_are_told_apart_without_colour() {
    use tunebench::runs::{RunStatus, RunSummary};
    use tunebench::tui::curves::ComparedRun;
    let mut app = app();
    app.theme = tunebench::tui::theme::Theme { color: false };
    let actions = app.on_key(key('R'));
    assert_eq!(actions, vec![Action::ListRuns]);
    let summary = |name: &str, status| RunSummary {
        model: "scratch:tiny".into(),
        status,
        step: 7,
        total_steps: 40,
        ..RunSummary::unknown(name, format!("runs/{name}").into())
    };
    app.runs_view.set_runs(vec![
        summary("old-run", RunStatus::Crashed),
        summary("new-run", RunStatus::Running),
    ]);
    let s = screen(&app, 100, 30);
    assert!(
        s.contains("Runs") && s.contains("old-run") && s.contains("crashed"),
        "{s}"
    );
    assert!(s.contains("▶ new-run") && s.contains("running"), "{s}");
    app.on_key(key(' '));
    let actions = app.on_key(key('c'));
    assert_eq!(
        actions,
        vec![Action::CompareRuns(vec!["runs/new-run".into()])]
    );
    assert_eq!(app.focus, PaneId::Curves);

    // The overlay: each compared run has its own marker, named in the title.
    inject_run(&mut app);
    let steps = |scale: f64| -> Vec<Event> {
        (1..=20)
            .map(|step| Event::Step {
                step,
                epoch: 0.0,
                loss: scale / step as f64,
                lr: 1e-4,
                grad_norm: 1.0,
                samples_per_s: 1.0,
                tokens_per_s: 1.0,
                elapsed_s: 1.0,
                eta_s: 1.0,
                device_mem_mib: None,
            })
            .collect()
    };
    app.curves.compare = vec![
        ComparedRun::from_events("lr-high".into(), &steps(2.0)),
        ComparedRun::from_events("lr-low".into(), &steps(0.5)),
    ];
    assert_eq!(app.curves.compare[0].train_loss.len(), 20);
    let s = screen(&app, 160, 48);
    assert!(s.contains("vs █ lr-high ▄ lr-low"), "{s}");
    assert!(s.contains('█') && s.contains('▄'), "{s}");
}

/// Chinese labels take two columns each: the confusion matrix's counts
/// stay right under their labels.
#[test]
fn cjk_labels_keep_the_confusion_matrix_and_bars_aligned() {
    let mut app = app();
    inject_run_labelled(&mut app, &["负面", "中性", "正面评价"]);
    app.on_key(key('3'));
    let s = screen(&app, 120, 36);
    // In the screen text every cell is one char (a wide char's second
    // cell is a blank), so char positions are columns.
    let lines: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    let find = |line: &[char], needle: &str| -> Option<usize> {
        let n: Vec<char> = needle.chars().collect();
        line.windows(n.len()).position(|w| w == n.as_slice())
    };
    let header = lines
        .iter()
        .find(|l| find(l, "负 面").is_some() && find(l, "中 性").is_some())
        .unwrap_or_else(|| panic!("no confusion header: {s}"));
    // The header's label columns end where each row's counts end.
    let end_of =
        |line: &[char], needle: &str| find(line, needle).map(|i| i + needle.chars().count());
    let col_ends = [
        end_of(header, "负 面 ").unwrap(),
        end_of(header, "中 性 ").unwrap(),
    ];
    for (name, counts) in [("负 面", ["51", "7"]), ("中 性", ["4", "47"])] {
        let row = lines
            .iter()
            .find(|l| find(l, name).is_some_and(|i| i < col_ends[0] - 6))
            .unwrap_or_else(|| panic!("no row {name}: {s}"));
        for (count, end) in counts.iter().zip(col_ends) {
            let cell: String = row[end - count.len()..end].iter().collect();
            assert_eq!(&cell, count, "{name}: {s}");
        }
    }
}

/// The help overlay shows every description whole, wrapped under its own
/// column, at the screenshot size; and it still draws on a small screen.
#[test]
fn help_wraps_descriptions_instead_of_cutting_them() {
    let mut app = app();
    app.on_key(key('?'));
    let s = screen(&app, 120, 36);
    let help = &tunebench::tui::keymap::keymap().help;
    for k in help {
        // Every description's last word ends a line inside the box (a cut
        // line loses it at the border).
        let last = k.does.split_whitespace().last().unwrap();
        let ends_a_line = s.lines().any(|l| {
            l.rfind(&format!(" {last} "))
                .is_some_and(|i| l[i + last.len() + 1..].trim_start().starts_with('│'))
        });
        assert!(
            ends_a_line,
            "{:?}: no line ends with {last:?}:\n{s}",
            k.keys
        );
    }
    assert!(s.contains("any key closes this help"), "{s}");
    // On 80×24 it does not fit: j scrolls to the end, any other key closes.
    let small = screen(&app, 80, 24);
    assert!(
        small.contains("j/k scroll (") && !small.contains("Integrated"),
        "{small}"
    );
    for _ in 0..40 {
        app.on_key(key('j'));
    }
    let end = screen(&app, 80, 24);
    assert!(
        end.contains("(0 more below,") && end.contains("Integrated"),
        "{end}"
    );
    app.on_key(key('k'));
    assert!(screen(&app, 80, 24).contains("(1 more below,"));
    app.on_key(key('x'));
    assert!(!app.help && app.help_scroll.get() == 0);
}

/// The confusion matrix fits the Curves pane at the README's size and at
/// 80×24, with 3 and with 6 labels: every count is on screen, under a
/// header (names or numbers) it lines up with.
#[test]
fn every_count_of_the_confusion_matrix_is_on_screen() {
    let three = ["negative", "neutral", "positive"];
    let six = [
        "billing",
        "refund",
        "shipping",
        "account",
        "technical",
        "complaint",
    ];
    for names in [&three[..], &six[..]] {
        for (w, h) in [(120, 36), (80, 24)] {
            let mut app = app();
            inject_steps(&mut app, names);
            let n = names.len();
            // 100 + 10·true + predicted: each count is its own word.
            let cm: Vec<Vec<usize>> = (0..n)
                .map(|i| (0..n).map(|j| 100 + 10 * i + j).collect())
                .collect();
            inject_eval(&mut app, names, cm.clone());
            app.on_key(key('3'));
            let s = screen(&app, w, h);
            let words: Vec<&str> = s
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            for row in &cm {
                for c in row {
                    assert!(
                        words.contains(&c.to_string().as_str()),
                        "{n} labels at {w}x{h}: count {c} is not on screen:\n{s}"
                    );
                }
            }
        }
    }
}

/// Before the first evaluation the two placeholders read as two texts.
#[test]
fn curves_placeholders_do_not_run_together() {
    for (w, h) in [(120, 36), (80, 24)] {
        let mut app = app();
        inject_steps(&mut app, &["negative", "neutral", "positive"]);
        app.on_key(key('3'));
        let s = screen(&app, w, h);
        let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("val metrics after the first"), "{s}");
        assert!(flat.contains("confusion matrix after the first"), "{s}");
        for line in s.lines() {
            if let Some(i) = line.find("confusion") {
                let before = line[..i].chars().last().unwrap_or(' ');
                assert!(
                    before == ' ' || "│┃".contains(before),
                    "{w}x{h}: placeholder glued to its neighbour: {line:?}"
                );
            }
        }
    }
}

/// Many labels: a note says how to see the matrix, and z shows it whole.
#[test]
fn a_matrix_too_big_for_the_pane_is_one_key_away() {
    let names: Vec<String> = (0..14).map(|i| format!("topic-{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut app = app();
    inject_steps(&mut app, &names);
    let cm: Vec<Vec<usize>> = (0..14)
        .map(|i| (0..14).map(|j| usize::from(i == j) * (500 + i)).collect())
        .collect();
    inject_eval(&mut app, &names, cm);
    app.on_key(key('3'));
    let s = screen(&app, 120, 36);
    assert!(s.contains("z shows it"), "{s}");
    app.on_key(key('z'));
    let s = screen(&app, 120, 36);
    for i in 0..14 {
        assert!(s.contains(&format!("{}", 500 + i)), "{s}");
    }
    // Numbered columns; each row names its label (cut to the room left).
    assert!(s.contains("14 topi"), "{s}");
    app.on_key(key('z'));
    assert!(screen(&app, 120, 36).contains("z shows it"));
}

/// The playground types only after Enter: until then `?` opens the help
/// and the hint line offers the pane's commands, not typing.
#[test]
fn the_playground_types_only_after_enter() {
    let mut app = app();
    app.on_key(key('4'));
    let hint = screen(&app, 120, 36).lines().last().unwrap().to_string();
    assert!(hint.contains("type") && hint.contains("why"), "{hint}");
    app.on_key(key('?'));
    assert!(screen(&app, 120, 36).contains(" Help "), "? opens the help");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    app.on_key(key('e'));
    assert!(!app.playground.editing, "e is a command, not text");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.playground.editing, "Enter starts typing");
    app.on_key(key('?'));
    assert!(
        !screen(&app, 120, 36).contains(" Help "),
        "typing: ? is text"
    );
}

/// Typing in the playground, the hint line says how to type a pair.
#[test]
fn the_playground_hint_line_shows_the_pair_separator_while_typing() {
    let mut app = app();
    app.on_key(key('4'));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let s = screen(&app, 120, 36);
    let hint = s.lines().last().unwrap();
    assert!(hint.contains("a || b sentence pair"), "{hint}");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    let hint = screen(&app, 120, 36).lines().last().unwrap().to_string();
    assert!(!hint.contains("||") && hint.contains("why"), "{hint}");
}

/// A sweep directory over the study Optuna wrote (tests/fixtures/sweep).
fn sweep_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let journal = d.path().join("study.journal");
    std::fs::copy(
        common::root().join("tests/fixtures/sweep/optuna.journal"),
        &journal,
    )
    .unwrap();
    std::fs::write(
        d.path().join("sweep.toml"),
        "[search]\ntrials = 5\nlr = { log_uniform = [1e-4, 3e-3] }\nbatch_size = { choice = [16, 32] }\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("study.json"),
        serde_json::json!({"storage": journal, "study": "python-study"}).to_string(),
    )
    .unwrap();
    d
}

#[test]
fn the_sweep_view_shows_the_leaderboard_and_its_charts() {
    let d = sweep_dir();
    let mut app = app();
    app.sweep_view.open(d.path().to_path_buf());
    app.sweep_view
        .set_summary(tunebench::sweep::summary::SweepSummary::load(d.path()));
    for (w, h) in [(80, 24), (160, 48)] {
        let s = screen(&app, w, h);
        assert!(s.contains("3/5 trials"), "{w}x{h}: {s}");
        assert!(s.contains("best accuracy 0.8000 (trial 0)"), "{s}");
        assert!(
            s.contains("complete") && s.contains("pruned") && s.contains("failed"),
            "{s}"
        );
        assert!(s.contains("bs=16") || s.contains("bs=32"), "{s}");
        assert!(s.contains("Leaderboard"), "{s}");
        if w >= 120 {
            assert!(s.contains("best accuracy so far"), "{s}");
            assert!(s.contains("accuracy by batch_size"), "{s}");
        }
    }
    // batch_size is a choice: its axis reads 16 and 32, not 0 and 1.
    let s = screen(&app, 160, 48);
    let title_row = s
        .lines()
        .position(|l| l.contains("accuracy by batch_size"))
        .unwrap();
    let row = s.lines().nth(title_row).unwrap();
    let col = row[..row.find("accuracy by batch_size").unwrap()]
        .chars()
        .count();
    let chart: Vec<String> = s
        .lines()
        .skip(title_row)
        .take(20)
        .map(|l| l.chars().skip(col.saturating_sub(2)).collect())
        .collect();
    assert!(
        chart.iter().any(|l| {
            let l = l.replace('│', " ");
            let words: Vec<&str> = l.split_whitespace().collect();
            words.windows(2).any(|w| w == ["16", "32"])
        }),
        "choices label the axis: {}",
        chart.join("\n")
    );
    // The best trial leads the board; p moves the scatter to the next parameter.
    let s = screen(&app, 160, 48);
    let first_row = s.lines().find(|l| l.contains("▶")).unwrap();
    assert!(first_row.contains("*  0 complete"), "{first_row}");
    app.on_key(key('p'));
    assert!(screen(&app, 160, 48).contains("accuracy by lr"));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(!app.sweep_view.visible);
}

#[test]
fn s_without_a_search_space_says_how_to_give_one() {
    let mut app = app();
    let actions = app.on_key(key('S'));
    assert!(actions.is_empty());
    let s = screen(&app, 120, 30);
    assert!(s.contains("no search space"), "{s}");
    app.hparams
        .cfg
        .set("search={ lr = { log_uniform = [1e-5, 1e-3] } }")
        .unwrap();
    let actions = app.on_key(key('S'));
    assert!(
        matches!(actions.as_slice(), [Action::StartSweep(cfg)] if cfg.search.param("lr").is_some()),
        "{actions:?}"
    );
}

/// A loss chart never reads below zero, every series is named in its
/// chart's key (at 80×24 too), and the metrics chart tells accuracy from
/// macro-F1 by marker as well as colour.
#[test]
fn the_loss_axis_starts_at_zero_and_every_series_is_named() {
    let mut app = app();
    inject_run(&mut app);
    // A loss of zero: the 5% padding below it would go negative.
    app.on_engine(&Event::Step {
        step: 13,
        epoch: 0.65,
        loss: 0.0,
        lr: 1e-4,
        grad_norm: 1.0,
        samples_per_s: 123.4,
        tokens_per_s: 2000.0,
        elapsed_s: 13.0,
        eta_s: 90.0,
        device_mem_mib: None,
    });
    app.on_key(key('3'));
    let s = screen(&app, 160, 48);
    assert!(!s.contains("-0.0"), "no negative loss label: {s}");
    // The charts' keys: train loss, its EMA, validation loss, lr; the
    // metrics by marker.
    for name in [
        "loss 0.0000 · ema",
        "• val 0.6100 · lr 1.00e-4",
        "• acc 81.2%",
        "▄ macro-F1 80.0%",
    ] {
        assert!(s.contains(name), "key {name}: {s}");
    }
    let small = screen(&app, 80, 24);
    assert!(small.contains("loss 0.0000 · ema"), "{small}");
    assert!(small.contains("• val 0.6100"), "{small}");
}

/// At 80×24 the hint line leaves whole entries out (help and quit stay),
/// and offers pause and stop only while a run is live.
#[test]
fn hints_fit_80_columns_whole_and_follow_the_run_state() {
    let mut app = app();
    app.on_key(key('3'));
    let hint = screen(&app, 80, 24).lines().last().unwrap().to_string();
    assert!(!hint.contains("pause") && !hint.contains("stop"), "{hint}");
    assert!(hint.trim_end().ends_with("? help q quit"), "{hint}");
    inject_run(&mut app);
    app.on_key(key('3')); // clears the "training: ..." message
    let hint = screen(&app, 80, 24).lines().last().unwrap().to_string();
    assert!(hint.contains("p pause"), "{hint}");
    assert!(hint.trim_end().ends_with("? help q quit"), "{hint}");
    app.on_engine(&Event::Paused { step: 12 });
    let hint = screen(&app, 80, 24).lines().last().unwrap().to_string();
    assert!(hint.contains("p resume"), "{hint}");
}

/// Pane titles are shortened by whole words, never cut mid-word.
#[test]
fn titles_are_shortened_by_words() {
    use tunebench::tui::fit_title;
    assert_eq!(
        fit_title(" accuracy by batch_size (p: next) ", 30),
        " accuracy by batch_size "
    );
    assert_eq!(
        fit_title(" 3 Curves · smoothing 0.60 · log10 loss ", 30),
        " 3 Curves · smoothing 0.60 "
    );
    assert_eq!(fit_title(" a b ", 2), "");
}

/// The form's command line is never cut without a mark.
#[test]
fn the_form_command_line_wraps_or_ends_in_an_ellipsis() {
    let mut app = app();
    for set in [
        "lr=0.0003",
        "epochs=7",
        "weight_decay=0.05",
        "warmup_ratio=0.2",
        "patience=3",
        "seed=1234",
        "dropout=0.2",
        "grad_accum=2",
    ] {
        app.hparams.cfg.set(set).unwrap();
    }
    app.on_key(key('2'));
    let cmd = app.hparams.command_line();
    for (w, h) in [(80, 24), (100, 30), (160, 45)] {
        let s = screen(&app, w, h);
        let squashed: String = s
            .lines()
            .map(|l| l.trim_matches(|c| c == '│' || c == '┃' || c == ' '))
            .collect::<Vec<_>>()
            .join(" ");
        let last_word = cmd.split(' ').next_back().unwrap();
        assert!(
            squashed.contains(last_word) || s.contains('…'),
            "{w}x{h}: the command's end or a mark: {s}"
        );
    }
}

/// Find `name` in the form with `/` as a person does (the first key whose
/// name holds it), Enter.
fn find_key(app: &mut App, name: &str) {
    app.on_key(key('/'));
    for c in name.chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

/// Edit `field` in the form as a person does: pick it, Enter, clear,
/// type, Enter.
fn edit_field(app: &mut App, field: &str, value: &str) {
    app.on_key(key('2'));
    find_key(app, field);
    assert_eq!(app.hparams.field(), field);
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    for c in value.chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

/// Every family of data keys, edited in the form, reloads the Dataset
/// pane (the TUI's loop calls this after each key).
#[test]
fn a_data_key_edited_in_the_form_reloads_the_dataset_pane() {
    use tunebench::tui::reload_dataset_if_changed;
    let mut app = app();
    let mut loaded = app.hparams.cfg.data_key();
    assert!(!reload_dataset_if_changed(&mut app, &mut loaded));
    // Rows: a subset, then the split's seed.
    edit_field(&mut app, "max_rows", "90");
    assert!(reload_dataset_if_changed(&mut app, &mut loaded));
    assert!(
        screen(&app, 160, 48).contains("90/90"),
        "{}",
        screen(&app, 160, 48)
    );
    edit_field(&mut app, "seed", "7");
    assert!(reload_dataset_if_changed(&mut app, &mut loaded));
    // Columns, labels and cleaning: each read again (a bad one says why).
    for (field, value, says) in [
        ("text_col", "body", "no text column"),
        ("text_col", "", ""),
        ("label_col", "stars", "no label column"),
        ("label_col", "", ""),
        ("task", "regression", "not a number"),
        ("task", "", ""),
        ("label_sep", ";", ""),
        ("lossy_utf8", "true", ""),
        ("skip_empty", "true", ""),
        ("tag_scheme", "bioes", ""),
    ] {
        // A key hidden for this corpus (label_sep, tag_scheme) comes in as
        // a loaded config would set it; every other one is typed.
        if app.hparams.select(field) {
            edit_field(&mut app, field, value);
        } else {
            app.hparams.cfg.set(&format!("{field}={value}")).unwrap();
        }
        assert!(
            reload_dataset_if_changed(&mut app, &mut loaded),
            "{field}={value}"
        );
        match says {
            "" => assert!(app.data_error.is_none(), "{field}: {:?}", app.data_error),
            s => assert!(
                app.data_error.as_deref().is_some_and(|e| e.contains(s)),
                "{field}={value}: {:?}",
                app.data_error
            ),
        }
    }
}

/// Every row of the form, scrolled from the top to the bottom with `j`.
fn all_form_rows(app: &mut App, w: u16, h: u16) -> String {
    app.on_key(key('2'));
    app.on_key(key('g'));
    let mut seen = String::new();
    for _ in 0..120 {
        seen.push_str(&screen(app, w, h));
        app.on_key(key('j'));
    }
    seen
}

#[test]
fn the_form_groups_its_keys_and_shows_only_those_that_apply() {
    for (w, h) in [(80, 24), (120, 36)] {
        let mut app = app();
        let rows = all_form_rows(&mut app, w, h);
        for header in [
            "▾ Data",
            "▾ Model",
            "▾ Training",
            "▾ Schedule & regularization",
            "▾ Parameter-efficient",
            "▾ Task",
            "▾ Precision & device",
            "▾ Output & tracking",
            "▾ Search",
        ] {
            assert!(rows.contains(header), "{w}x{h}: {header}");
        }
        for hidden in [
            "adalora_",
            "prefix_",
            "ia3_",
            "lora_r",
            "tag_scheme",
            "label_sep",
        ] {
            assert!(!rows.contains(hidden), "{w}x{h}: {hidden} is hidden");
        }
        assert!(rows.contains("16 hidden: peft = none"), "{w}x{h}");
        // peft = adalora brings its keys (and LoRA's shared ones) in.
        edit_field(&mut app, "peft", "adalora");
        let rows = all_form_rows(&mut app, w, h);
        for shown in ["adalora_init_r", "adalora_orth_reg", "lora_alpha"] {
            assert!(rows.contains(shown), "{w}x{h}: {shown}");
        }
        assert!(!rows.contains("prefix_tokens"), "{w}x{h}");
    }
}

#[test]
fn a_conll_corpus_shows_the_tag_keys_and_a_csv_one_does_not() {
    let d = tempfile::tempdir().unwrap();
    let train = d.path().join("train.conll");
    let mut text = String::new();
    for i in 0..30 {
        let name = ["Anna", "Bo", "Cy"][i % 3];
        text.push_str(&format!("{name} B-PER\nvisited O\nParis B-LOC\n\n"));
    }
    std::fs::write(&train, text).unwrap();
    let cfg = tunebench::config::RunConfig {
        train_file: Some(train),
        ..Default::default()
    };
    let data = tunebench::tui::load_dataset(&cfg);
    assert!(data.is_ok(), "{:?}", data.err());
    let mut conll = App::new(cfg, data, "run.toml".into());
    let rows = all_form_rows(&mut conll, 120, 36);
    for tag_key in ["tag_col", "tag_scheme", "lenient_tags", "label_all_tokens"] {
        assert!(rows.contains(tag_key), "{tag_key}");
    }
    assert!(!rows.contains("label_sep"), "not a multi-label corpus");
    let rows = all_form_rows(&mut app(), 120, 36);
    assert!(!rows.contains("tag_scheme") && !rows.contains("lenient_tags"));
}

#[test]
fn find_help_marks_and_reset_in_the_form() {
    let mut app = app();
    app.on_key(key('2'));
    find_key(&mut app, "warm");
    assert_eq!(app.hparams.field(), "warmup_ratio");
    // The help line under the rows is the key's doc text (as --help and
    // the README print it), and its default.
    for k in ["epochs", "batch_size", "max_steps"] {
        find_key(&mut app, k);
        let doc = tunebench::config::KEY_DOCS
            .iter()
            .find(|d| d.key == k)
            .unwrap()
            .help();
        // At 80×24 the form has the whole width (tabs).
        let s = screen(&app, 80, 24);
        let squashed: String = s
            .lines()
            .map(|l| l.trim_matches(|c| c == '│' || c == '┃' || c == ' '))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(squashed.contains(&format!("{k}: {doc}")), "{k}: {s}");
    }
    // A changed key carries the mark (not a colour); D takes it back.
    let marked = |app: &App| screen(app, 80, 24).lines().any(|l| l.contains("● epochs"));
    assert!(!marked(&app));
    edit_field(&mut app, "epochs", "7");
    assert!(marked(&app), "{}", screen(&app, 80, 24));
    app.on_key(key('D'));
    assert_eq!(app.hparams.cfg.epochs, 3);
    assert!(!marked(&app));
}
