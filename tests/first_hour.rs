//! A newcomer's first hour, end to end from the shell: bad input leaves no
//! run behind, runs are removed with `rm`, a model is named the same way in
//! every command, the bundled corpora train from any directory,
//! transformers' key names are understood, `--max-rows` keeps the label
//! shares, and `runs` fits 100 columns.

mod common;

use common::cli::{succeed as ok, tunebench_in as tunebench};
use std::path::Path;
use std::process::Command;

/// (exit code, stderr) of a run that must fail.
fn fails(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "{cmd:?} succeeded");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code(), err)
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bad_input_leaves_no_run_directory() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(
        h.join("t.csv"),
        "text,label\na good one,pos\na bad one,neg\n",
    )
    .unwrap();
    std::fs::write(h.join("v.csv"), "text,label\nfine,pos\nodd,weird\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--data", "missing.csv"], "missing.csv: cannot read"),
        (
            vec!["--data", "sample:movies"],
            "unknown bundled corpus 'sample:movies'",
        ),
        (
            vec!["--data", "t.csv", "--label-col", "nope"],
            "no label column",
        ),
        (vec!["--data", "t.csv", "--val", "v.csv"], "weird"),
        (
            vec!["--data", "t.csv", "--model", "/no/such/model"],
            "not found",
        ),
        (
            vec!["--data", "t.csv", "--set", "lr=-1"],
            "lr: must be in (0, 1)",
        ),
    ];
    for (args, needle) in cases {
        let mut cmd = tunebench(h);
        cmd.args(["train", "--max-steps", "1"]).args(&args);
        if !args.contains(&"--model") {
            cmd.args(["--model", "scratch:tiny"]);
        }
        let (code, err) = fails(&mut cmd);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            entries(&h.join("runs")).is_empty(),
            "{args:?} left {:?}",
            entries(&h.join("runs"))
        );
    }
    // A config error names the value given.
    let (_, err) = fails(tunebench(h).args(["train", "--data", "t.csv", "--set", "lr=-1"]));
    assert!(err.contains("(given -1"), "{err}");
}

#[test]
fn rm_removes_failed_and_named_runs_and_refuses_a_live_one() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let runs = h.join("runs");
    ok(tunebench(h).args([
        "train",
        "--data",
        "sample:reviews",
        "--model",
        "scratch:tiny",
        "--max-steps",
        "2",
        "--out",
        "runs/done",
    ]));
    // A run that failed once its directory existed, as the run process
    // records it.
    let failed = runs.join("broken");
    std::fs::create_dir_all(&failed).unwrap();
    std::fs::write(failed.join("launch.json"), "{}").unwrap();
    std::fs::write(
        failed.join("launch-error.json"),
        r#"{"message":"the disk is full","bad_input":false}"#,
    )
    .unwrap();
    let listing = ok(tunebench(h).arg("runs"));
    assert!(
        listing.contains("done") && !listing.contains("broken"),
        "{listing}"
    );
    assert!(
        listing.contains("1 failed or empty run hidden"),
        "{listing}"
    );
    let all = ok(tunebench(h).args(["runs", "--all"]));
    assert!(
        all.contains("broken") && all.contains("failed: the disk is full"),
        "{all}"
    );

    // A live run is refused, by name and by selection.
    ok(tunebench(h).args([
        "train",
        "--data",
        "sample:reviews",
        "--model",
        "scratch:tiny",
        "--epochs",
        "200",
        "--out",
        "runs/live",
        "--detach",
    ]));
    let (_, err) = fails(tunebench(h).args(["rm", "live"]));
    assert!(
        err.contains("live is running") && err.contains("stop it first"),
        "{err}"
    );
    assert!(runs.join("live").is_dir());
    let dry = ok(tunebench(h).args(["rm", "--failed", "--dry-run"]));
    assert_eq!(dry.trim(), "would remove broken (failed)");
    let removed = ok(tunebench(h).args(["rm", "--failed"]));
    assert_eq!(removed.trim(), "removed broken (failed)");
    assert!(!failed.exists() && runs.join("live").is_dir() && runs.join("done").is_dir());
    ok(tunebench(h).args(["stop", "live", "--no-save"]));
    // Over now: stop says so in words, rm takes it.
    let (_, err) = fails(tunebench(h).args(["pause", "live"]));
    assert!(
        err.contains("it is not running, so there is nothing to pause"),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
    ok(tunebench(h).args(["rm", "live", "done"]));
    assert!(entries(&runs).is_empty(), "{:?}", entries(&runs));
    let (_, err) = fails(tunebench(h).arg("rm"));
    assert!(err.contains("--failed or --older-than"), "{err}");
}

#[test]
fn a_model_is_named_the_same_way_in_every_command() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(tunebench(h).args([
        "train",
        "--data",
        "sample:reviews",
        "--model",
        "scratch:tiny",
        "--max-steps",
        "2",
        "--out",
        "runs/m",
    ]));
    let text = ["a lovely little film", "dull"];
    let by_position = ok(tunebench(h).args(["predict", "m"]).args(text));
    let by_flag = ok(tunebench(h)
        .args(["predict", "--checkpoint", "m"])
        .args(text));
    assert_eq!(by_position, by_flag);
    assert_eq!(by_position.lines().count(), 2, "{by_position}");
    let eval = |args: &[&str]| {
        ok(tunebench(h)
            .args([
                "eval",
                "--data",
                "sample:reviews/heldout",
                "--format",
                "json",
            ])
            .args(args))
    };
    assert_eq!(eval(&["m"]), eval(&["--checkpoint", "m"]));
    ok(tunebench(h).args(["export", "m", "--out", "a"]));
    ok(tunebench(h).args(["export", "--checkpoint", "m", "--out", "b"]));
    for f in ["model.safetensors", "config.json", "tokenizer.json"] {
        assert_eq!(
            std::fs::read(h.join("a").join(f)).unwrap(),
            std::fs::read(h.join("b").join(f)).unwrap(),
            "{f}"
        );
    }
    let (_, err) = fails(
        tunebench(h)
            .args(["predict", "m", "x", "--checkpoint", "m"])
            .arg("--format=bogus"),
    );
    assert!(err.contains("bogus"), "{err}");
    // Flag rules are clap's: --steps and --target need --explain.
    let (code, err) = fails(tunebench(h).args(["predict", "m", "x", "--steps", "3"]));
    assert_eq!(code, Some(2));
    assert!(err.contains("--explain"), "{err}");
    let (_, err) = fails(tunebench(h).args(["predict", "nosuch", "x"]));
    assert!(!err.contains("invalid configuration"), "{err}");
    assert!(err.contains("'nosuch'"), "{err}");
}

#[test]
fn the_bundled_corpora_train_from_any_directory() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = ok(tunebench(h).args([
        "train",
        "--data",
        "sample:reviews",
        "--model",
        "scratch:tiny",
        "--max-steps",
        "1",
    ]));
    // Its held-out file validates: 720 + 180 rows.
    assert!(out.contains("train 720 rows, val 180"), "{out}");
    let installed = h.join("xdg/tunebench/sample-data/reviews");
    for f in ["train.csv", "heldout.csv", "demo.toml"] {
        assert!(installed.join(f).is_file(), "{f}");
    }
    // The installed demo config and the repository's one, from elsewhere.
    for config in [
        installed.join("demo.toml"),
        common::root().join("sample-data/reviews/demo.toml"),
    ] {
        let out = ok(tunebench(h)
            .arg("train")
            .arg("--config")
            .arg(&config)
            .args(["--set", "model=scratch:tiny", "--set", "max_steps=1"]));
        assert!(out.contains("train 720 rows, val 180"), "{out}");
    }
    let out = ok(tunebench(h).args(["inspect", "--data", "sample:tickets"]));
    assert!(out.contains("rows: 512"), "{out}");
}

#[test]
fn transformers_key_names_are_taken_and_unknown_ones_get_the_nearest() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(
        h.join("hf.toml"),
        "model = \"scratch:tiny\"\ntrain_file = \"sample:reviews\"\nlearning_rate = 3e-4\nmax_steps = 1\n",
    )
    .unwrap();
    let out = tunebench(h)
        .args([
            "train",
            "--config",
            "hf.toml",
            "--set",
            "per_device_train_batch_size=8",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("'learning_rate' (transformers' name) is tunebench's 'lr'"),
        "{err}"
    );
    assert!(
        err.contains(
            "'per_device_train_batch_size' (transformers' name) is tunebench's 'batch_size'"
        ),
        "{err}"
    );
    let resolved = std::fs::read_to_string(
        std::fs::read_dir(h.join("runs"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
            .join("config.toml"),
    )
    .unwrap();
    assert!(
        resolved.contains("lr = 0.0003") && resolved.contains("batch_size = 8"),
        "{resolved}"
    );

    let (code, err) =
        fails(tunebench(h).args(["train", "--data", "sample:reviews", "--set", "epoch=3"]));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("unknown key 'epoch'; did you mean 'epochs'"),
        "{err}"
    );
    std::fs::write(h.join("bad.toml"), "model = \"scratch:tiny\"\n\nlr = -1\n").unwrap();
    let (code, err) = fails(tunebench(h).args(["train", "--config", "bad.toml"]));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad.toml: line 3: lr = -1: must be in (0, 1)"),
        "{err}"
    );
    // A bad value under transformers' name is named as the file wrote it.
    std::fs::write(h.join("alias.toml"), "\nlearning_rate = -1\n").unwrap();
    let (_, err) = fails(tunebench(h).args(["train", "--config", "alias.toml"]));
    assert!(
        err.contains("alias.toml: line 2: learning_rate = -1: must be in (0, 1)"),
        "{err}"
    );
    std::fs::write(h.join("typo.toml"), "batchsize = 8\n").unwrap();
    let (_, err) = fails(tunebench(h).args(["train", "--config", "typo.toml"]));
    assert!(
        err.contains("typo.toml: line 1: unknown key 'batchsize'; did you mean 'batch_size'"),
        "{err}"
    );
}

/// Label shares of `inspect --json` on the reviews (`--max-rows`).
fn label_counts(h: &Path, max_rows: Option<&str>) -> Vec<(String, f64)> {
    let mut cmd = tunebench(h);
    cmd.args(["inspect", "--data", "sample:reviews", "--json"]);
    if let Some(n) = max_rows {
        cmd.args(["--max-rows", n]);
    }
    let v: serde_json::Value = serde_json::from_str(&ok(&mut cmd)).unwrap();
    let rows = v["rows"].as_f64().unwrap();
    v["label_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l[0].as_str().unwrap().to_string(),
                l[1].as_f64().unwrap() / rows,
            )
        })
        .collect()
}

#[test]
fn max_rows_keeps_the_label_shares() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let all = label_counts(h, None);
    let some = label_counts(h, Some("90"));
    assert_eq!(all.len(), some.len());
    for ((l, p), (m, q)) in all.iter().zip(&some) {
        assert_eq!(l, m);
        assert!((p - q).abs() <= 1.0 / 90.0 + 1e-9, "{l}: {p} vs {q}");
    }
    let out = ok(tunebench(h).args([
        "train",
        "--data",
        "sample:reviews",
        "--model",
        "scratch:tiny",
        "--max-steps",
        "1",
        "--max-rows",
        "90",
    ]));
    assert!(out.contains("train 90 rows"), "{out}");
}

#[test]
fn runs_fits_100_columns_and_wide_shows_paths() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let deep = h.join(
        "models/a-rather-long-directory-name/for-the-encoder-weights/bert-tiny-finetuned-fixture",
    );
    std::fs::create_dir_all(&deep).unwrap();
    for e in std::fs::read_dir(common::fixture("bert").join("model"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), deep.join(e.file_name())).unwrap();
    }
    ok(tunebench(h)
        .args([
            "train",
            "--data",
            "sample:reviews",
            "--max-steps",
            "1",
            "--model",
        ])
        .arg(&deep));
    let listing = ok(tunebench(h).arg("runs"));
    for line in listing.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(listing.contains("bert-tiny-finetuned-fixture"), "{listing}");
    let wide = ok(tunebench(h).args(["runs", "--wide"]));
    assert!(wide.contains(deep.to_str().unwrap()), "{wide}");
}
