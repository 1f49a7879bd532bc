//! The real binary driven inside tmux, as a person would: search, a bad
//! learning rate and its fix, a training run, a prediction, quitting. The
//! terminal must come back in cooked mode and the run dir hold a checkpoint.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "tb"];
        args.extend_from_slice(keys);
        self.run(&args);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "tb", "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Type a sentence in the playground and wait for its probabilities.
    fn predict(&self, sentence: &str) {
        // The playground types after Enter (Esc first: a second sentence).
        self.keys(&["Escape", "4", "Enter"]);
        self.text(sentence);
        self.keys(&["Enter"]);
        self.wait_for(
            "probabilities",
            |s| s.contains("latency") && s.contains('%'),
            30,
        );
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "tb"])
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool, secs: u64) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(secs) {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn step_of(screen: &str) -> Option<usize> {
    // Status bar: "… │ 12/69 │ …" on narrow terminals, "│ step 12/69 │" on wide ones.
    let line = screen.lines().rev().find(|l| l.contains(" ep"))?;
    line.split('│').find_map(|cell| {
        let cell = cell.trim();
        let cell = cell.strip_prefix("step ").unwrap_or(cell);
        let (done, total) = cell.split_once('/')?;
        total.parse::<usize>().ok()?;
        done.parse().ok()
    })
}

fn have_tmux() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required in CI (.ci/run installs it)"
        );
        eprintln!("skipping: tmux is not installed");
        return false;
    }
    true
}

fn start(socket: &str, size: (u16, u16), cmd: &str) -> Tmux {
    let t = Tmux {
        socket: format!("{socket}-{}", std::process::id()),
    };
    let (w, h) = (size.0.to_string(), size.1.to_string());
    t.run(&["new-session", "-d", "-s", "tb", "-x", &w, "-y", &h, cmd]);
    t
}

#[test]
fn a_person_can_explore_configure_train_predict_and_quit() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (train, heldout) = reviews();
    let bin = env!("CARGO_BIN_EXE_tunebench");
    let cmd = format!(
        "cd {} && {bin} tui --data {} --val {} ; echo TUNEBENCH_EXIT=$? ; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon' ; echo STTY_DONE ; sleep 60",
        dir.path().display(),
        train.display(),
        heldout.display()
    );
    let t = start("tunebench-test", (100, 30), &cmd);
    t.wait_for(
        "the dataset pane",
        |s| s.contains("1 Dataset") && s.contains("Avoid this tent"),
        30,
    );

    // Search the dataset.
    t.keys(&["/"]);
    t.text("ZIPS");
    t.keys(&["Enter"]);
    t.wait_for(
        "search results",
        |s| s.contains("rows match 'zips'") || s.contains("rows match 'ZIPS'"),
        10,
    );
    let s = t.screen();
    assert!(
        s.lines()
            .any(|l| l.contains('▶') && l.to_lowercase().contains("zips")),
        "selection on a match:\n{s}"
    );

    // An invalid learning rate, then its fix.
    t.keys(&["2", "/"]);
    t.text("lr");
    t.keys(&["Enter", "Enter", "C-u"]);
    t.text("fast");
    t.keys(&["Enter"]);
    t.wait_for(
        "the inline error",
        |s| s.contains("lr") && s.contains("not a number"),
        10,
    );
    t.keys(&["s"]);
    t.wait_for("start refused", |s| s.contains("cannot start"), 10);
    t.keys(&["Enter", "C-u"]);
    t.text("5e-4");
    t.keys(&["Enter"]);
    t.wait_for(
        "a valid form",
        |s| s.contains("ready: s starts the run"),
        10,
    );

    // Train and watch the counter and chart move.
    t.keys(&["s"]);
    t.keys(&["3"]);
    let first = t.wait_for("training steps", |s| step_of(s).is_some_and(|n| n > 0), 60);
    let n1 = step_of(&first).unwrap();
    let later = t.wait_for("more steps", |s| step_of(s).is_some_and(|n| n > n1), 60);
    assert!(
        later
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "the loss chart draws:\n{later}"
    );

    // Predict in the playground with the live weights.
    t.predict("The tent is superb");

    // Quit (confirming if the run is still going); the terminal comes back.
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(400));
    t.keys(&["q"]);
    let end = t.wait_for(
        "the exit and the terminal mode",
        |s| {
            if s.contains("stop it, writing a checkpoint") {
                t.keys(&["s"]);
            }
            s.contains("STTY_DONE")
        },
        90,
    );
    assert!(end.contains("TUNEBENCH_EXIT=0"), "{end}");
    assert!(
        end.lines().any(|l| l.trim() == "icanon"),
        "terminal back in cooked mode:\n{end}"
    );
    assert!(
        !end.contains("Hyperparameters"),
        "alternate screen left:\n{end}"
    );

    let runs: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].path();
    assert!(has_checkpoint(&run), "a checkpoint in {}", run.display());
    assert!(run.join("train.log").is_file());
}

fn has_checkpoint(run: &Path) -> bool {
    tunebench::run_dir::RunDir::checkpoints(run)
        .iter()
        .any(|(_, p)| p.join("model.safetensors").is_file())
}

#[test]
fn a_run_outlives_its_terminal_and_is_attached_from_another_with_full_control() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (train, heldout) = reviews();
    let config = dir.path().join("long.toml");
    std::fs::write(
        &config,
        format!(
            "model = \"scratch:tiny\"\ntrain_file = {:?}\nval_file = {:?}\nepochs = 400\nbatch_size = 16\nmax_len = 32\nlr = 5e-4\neval_every = 10\nkeep_checkpoints = 1\n",
            train, heldout
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_tunebench");
    let runs_dir = dir.path().join("runs");
    let first = start(
        "tunebench-detach-a",
        (120, 36),
        &format!(
            "cd {} && {bin} tui --config {} --runs-dir {}",
            dir.path().display(),
            config.display(),
            runs_dir.display()
        ),
    );
    first.wait_for("the dataset pane", |s| s.contains("Dataset"), 30);
    first.keys(&["s"]);
    first.wait_for("an evaluation", |s| s.contains("val macro-F1"), 60);

    // The terminal goes away (SIGHUP); the run does not.
    first.run(&["kill-server"]);
    let run = std::fs::read_dir(&runs_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a run dir");
    let lines = || {
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    std::thread::sleep(Duration::from_millis(500));
    let n1 = lines();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(lines() > n1, "metrics.jsonl keeps growing after the hangup");

    // Another terminal attaches: the history (an earlier evaluation), then live steps.
    let second = start(
        "tunebench-detach-b",
        (120, 36),
        &format!(
            "cd {} && {bin} attach --runs-dir {} ; echo TUNEBENCH_EXIT=$? ; sleep 60",
            dir.path().display(),
            runs_dir.display()
        ),
    );
    let s = second.wait_for(
        "the attached run",
        |s| s.contains("RUNNING") && s.contains("val macro-F1") && step_of(s).is_some(),
        30,
    );
    let n = step_of(&s).unwrap();
    second.keys(&["3"]);
    let later = second.wait_for("live steps", |s| step_of(s).is_some_and(|m| m > n), 30);
    assert!(
        later
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "the loss curve, rebuilt from the history:\n{later}"
    );
    // Pause and resume from here.
    second.keys(&["p"]);
    second.wait_for("paused", |s| s.contains("PAUSED"), 30);
    second.keys(&["p"]);
    second.wait_for("running again", |s| s.contains("RUNNING"), 30);
    // The playground answers with the live weights.
    second.predict("The tent is superb");
    // Quit, leaving the run going.
    second.keys(&["Escape"]);
    second.keys(&["q"]);
    second.wait_for("the quit choice", |s| s.contains("leave it running"), 10);
    second.keys(&["d"]);
    let end = second.wait_for("the exit", |s| s.contains("TUNEBENCH_EXIT="), 20);
    assert!(end.contains("TUNEBENCH_EXIT=0"), "{end}");
    let n2 = lines();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(lines() > n2, "the run goes on after leaving");

    // `tunebench stop` from a shell ends it with a checkpoint.
    let out = Command::new(bin).arg("stop").arg(&run).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("checkpoint") && stdout.contains("Stopped"),
        "{stdout}"
    );
    assert!(has_checkpoint(&run));
    let summary = tunebench::runs::summarize(&run);
    assert_eq!(summary.status, tunebench::runs::RunStatus::Stopped);
}

/// Suspect labels from `inspect --label-issues` are listed by `i`; a
/// person relabels one (and keeps another): the edits land in a
/// corrections file beside the corpus, which the next run applies.
#[test]
fn a_person_relabels_a_suspect_row_into_a_corrections_file() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (train, _) = reviews();
    let corpus = dir.path().join("reviews.csv");
    std::fs::copy(&train, &corpus).unwrap();
    // Line 2 says negative; pretend the detector doubts it, and line 3.
    let suspects = dir.path().join("issues.csv");
    std::fs::write(
        &suspects,
        "line,text,given,suggested,confidence,p_suggested\n\
         2,Avoid this tent if you care at all about poles.,negative,neutral,0.02,0.97\n\
         3,Adequate blender. The jug is neither good nor bad.,neutral,positive,0.10,0.85\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_tunebench");
    let cmd = format!(
        "cd {} && {bin} tui --data reviews.csv --suspects issues.csv ; sleep 60",
        dir.path().display()
    );
    let t = start("tunebench-relabel", (100, 30), &cmd);
    t.wait_for("the dataset pane", |s| s.contains("1 Dataset"), 30);
    t.keys(&["i"]);
    let s = t.wait_for("the suspect filter", |s| s.contains("suspect labels"), 10);
    assert!(s.contains("Avoid this tent"), "{s}");
    // Relabel the first suspect as positive (labels: negative, neutral,
    // positive), keep the second.
    t.keys(&["r"]);
    t.wait_for("the label picker", |s| s.contains("relabel line 2 as"), 10);
    t.keys(&["3"]);
    t.wait_for("the saved note", |s| s.contains("corrections in"), 10);
    t.keys(&["j", "K"]);
    let file = dir.path().join("reviews.corrections.csv");
    let start_wait = Instant::now();
    let body = loop {
        let body = std::fs::read_to_string(&file).unwrap_or_default();
        if body.lines().count() == 3 || start_wait.elapsed() > Duration::from_secs(10) {
            break body;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        body,
        "line,action,given,label,text\n\
         2,relabel,negative,positive,Avoid this tent if you care at all about poles.\n\
         3,keep,neutral,,Adequate blender. The jug is neither good nor bad.\n"
    );
    // The file is written before the screen is drawn again: wait for it.
    let s = t.wait_for("the keep mark", |s| s.contains("✓"), 10);
    assert!(s.contains("✎") && s.contains("✓"), "{s}");
    // The form now names the file, so the next run applies it.
    assert!(s.contains("reviews.corrections"), "{s}");
    t.keys(&["q"]);
}

/// An installed binary (`cargo install --path .` copies this one) opens the
/// workbench from any directory: the sample corpus and the demo config are
/// compiled in, the corpus written once to the user's data directory.
#[test]
fn the_binary_opens_the_demo_from_any_directory() {
    if !have_tmux() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let installed = home.path().join("tunebench");
    std::fs::copy(env!("CARGO_BIN_EXE_tunebench"), &installed).unwrap();
    let cmd = format!(
        "cd {} && HOME={} XDG_DATA_HOME={}/data {} ; sleep 60",
        elsewhere.path().display(),
        home.path().display(),
        home.path().display(),
        installed.display()
    );
    let t = start("tunebench-anywhere", (100, 30), &cmd);
    let s = t.wait_for(
        "the demo on the embedded corpus",
        |s| s.contains("1 Dataset") && s.contains("Avoid this tent"),
        30,
    );
    assert!(!s.contains("error"), "{s}");
    t.keys(&["2"]);
    t.wait_for("the demo config", |s| s.contains("scratch:mini"), 10);
    assert!(home
        .path()
        .join("data/tunebench/sample-data/reviews/train.csv")
        .is_file());
    t.keys(&["q"]);
}

#[test]
fn a_person_starts_a_sweep_from_the_form_and_opens_its_best_trial() {
    if !have_tmux() {
        return;
    }
    let runs = tempfile::tempdir().unwrap();
    let (train, heldout) = reviews();
    let bin = env!("CARGO_BIN_EXE_tunebench");
    let cmd = format!(
        "TUNEBENCH_RUNS_DIR={} {bin} tui --data {} --val {} ; sleep 60",
        runs.path().display(),
        train.display(),
        heldout.display()
    );
    let t = start("tunebench-sweep", (120, 36), &cmd);
    t.wait_for("the form", |s| s.contains("2 Hyperparameters"), 30);
    // As a person: find lr, change it, search it with +; epochs 1 keeps
    // the trials short; then the search space's rows: 4 trials, S.
    t.keys(&["2", "/"]);
    t.text("lr");
    t.keys(&["Enter", "Enter", "C-u"]);
    t.text("1e-3");
    t.keys(&["Enter", "+"]);
    t.wait_for(
        "lr in the search space",
        |s| s.contains("lr searched: log-uniform"),
        10,
    );
    t.keys(&["/"]);
    t.text("epochs");
    t.keys(&["Enter", "Enter", "C-u", "1", "Enter"]);
    t.keys(&["G", "Enter"]);
    t.wait_for(
        "the search space's rows",
        |s| s.contains("Search space"),
        10,
    );
    t.keys(&["j", "Enter", "C-u", "4", "Enter"]);
    t.wait_for(
        "4 trials",
        |s| s.lines().any(|l| l.contains("trials") && l.contains(" 4 ")),
        10,
    );
    t.keys(&["S"]);
    let s = t.wait_for(
        "four trials done",
        |s| s.contains("4/4 trials · 0 running · 4 complete"),
        240,
    );
    assert!(s.contains("best accuracy"), "{s}");
    assert!(s.contains("Leaderboard") && s.contains("lr="), "{s}");
    // Enter opens the best trial (the leaderboard's first row) as a run.
    t.keys(&["Enter"]);
    t.wait_for(
        "the trial's run",
        |s| s.contains("DONE") && s.contains("val acc"),
        30,
    );
    // S brings the sweep back.
    t.keys(&["S"]);
    t.wait_for("the sweep view again", |s| s.contains("Leaderboard"), 10);
    t.keys(&["Escape", "q"]);
    let sweeps: Vec<_> = std::fs::read_dir(runs.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("sweep.toml").is_file())
        .collect();
    assert_eq!(sweeps.len(), 1, "one sweep: {sweeps:?}");
    assert!(sweeps[0].path().join("best").exists());
}

/// Give the row on the labelling screen its true label with its key;
/// (its line, the label).
fn label_shown(t: &Tmux, truth: &std::collections::HashMap<String, String>) -> (u64, String) {
    let s = t.wait_for(
        "a row to label",
        |s| s.contains("│") && s.contains(" line "),
        10,
    );
    let lines: Vec<&str> = s.lines().collect();
    let title = lines.iter().find(|l| l.contains(" line ")).unwrap();
    let line: u64 = title
        .split(" line ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let at = lines.iter().position(|l| l.contains(" line ")).unwrap();
    let text = lines[at + 1].trim_matches(|c| c == '│' || c == ' ');
    let label = truth
        .iter()
        .find(|(t, _)| t.starts_with(&text[..text.len().min(50)]))
        .map(|(_, l)| l.clone())
        .unwrap_or_else(|| panic!("no pool text starts {text:?}"));
    // The label keys as the screen lists them: " 1   negative", or
    // " 2/p positive" for a label with its own letter, which is typed then.
    let key = lines
        .iter()
        .find_map(|l| {
            let cells: Vec<&str> = l.trim_matches(|c| c == '│').split_whitespace().collect();
            (cells.get(1) == Some(&label.as_str()))
                .then(|| cells[0].rsplit('/').next().unwrap_or(cells[0]).to_string())
        })
        .unwrap();
    let before = t.screen();
    t.keys(&[&key]);
    t.wait_for("the next row", |s| s != before, 10);
    (line, label)
}

#[test]
fn a_person_labels_a_pool_while_the_model_retrains_and_resumes_another_day() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pool = dir.path().join("pool.csv");
    let truth: std::collections::HashMap<String, String> =
        reviews_pool(&pool).into_iter().collect();
    let (_, heldout) = reviews();
    let session = dir.path().join("session");
    let bin = env!("CARGO_BIN_EXE_tunebench");
    let recipe = "--set epochs=4 --set max_len=32 --set scratch_vocab=500";
    let cmd = format!(
        "RAYON_NUM_THREADS=1 {bin} label --data {} --val {} --model scratch:tiny --batch 10 {recipe} --out {}; echo EXIT $?; sleep 60",
        pool.display(),
        heldout.display(),
        session.display()
    );
    let t = start("tunebench-label", (100, 30), &cmd);
    t.wait_for("the labelling screen", |s| s.contains("no model yet"), 30);
    let mut typed: Vec<(u64, String)> = (0..10).map(|_| label_shown(&t, &truth)).collect();
    // The tenth label starts a round in the background; the queue is
    // re-ranked when it lands, while labelling goes on.
    typed.push(label_shown(&t, &truth));
    t.wait_for(
        "the round and the re-ranked queue",
        |s| {
            s.contains("10 labels ")
                && s.lines()
                    .any(|l| l.contains(" line ") && l.contains("breaking_ties 0."))
        },
        90,
    );
    // The round was an ordinary run process: its own run dir, evaluated
    // once at its end.
    let round = session.join("rounds").join("round-1");
    let events = std::fs::read_to_string(round.join("metrics.jsonl")).unwrap();
    assert_eq!(events.matches("\"event\":\"eval\"").count(), 1, "{events}");
    assert!(events.contains("\"event\":\"finished\""), "{events}");
    assert!(std::fs::read_to_string(round.join("config.toml"))
        .unwrap()
        .contains("eval_only_at_end = true"));
    t.keys(&["u"]);
    let undone = typed.pop().unwrap();
    t.wait_for(
        "the undo",
        |s| s.contains(&format!("took back line {}", undone.0)),
        10,
    );
    t.keys(&["q"]);
    t.wait_for("the exit", |s| s.contains("EXIT 0"), 10);
    drop(t);
    // Another day: the same session, one more label.
    let cmd = format!(
        "RAYON_NUM_THREADS=1 {bin} label --resume {} {recipe}; echo EXIT $?; sleep 60",
        session.display()
    );
    let t = start("tunebench-label-2", (100, 30), &cmd);
    t.wait_for("the session again", |s| s.contains("10 labeled"), 30);
    typed.push(label_shown(&t, &truth));
    t.keys(&["q"]);
    t.wait_for("the exit", |s| s.contains("EXIT 0"), 10);
    // labels.csv holds exactly what was typed, and trains.
    let saved: Vec<(u64, String)> =
        tunebench::data::given_labels::read(&session.join("labels.csv"))
            .unwrap()
            .into_iter()
            .map(|g| (g.line, g.label))
            .collect();
    assert_eq!(saved, typed);
    let out = std::process::Command::new(bin)
        .args([
            "train",
            "--model",
            "scratch:tiny",
            "--epochs",
            "1",
            "--set",
            "max_len=32",
        ])
        .arg("--data")
        .arg(&pool)
        .arg("--labels")
        .arg(session.join("labels.csv"))
        .arg("--out")
        .arg(dir.path().join("run"))
        .env_remove("TUNEBENCH_RUNS_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
