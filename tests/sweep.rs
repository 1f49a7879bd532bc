//! Sweeps: TPE's Parzen estimators and the pruners against Optuna's own
//! numbers (tests/fixtures/sweep, from make_sweep_fixtures.py), the
//! journal both ways, and `tunebench sweep` end to end: pruning, the best
//! kept, two workers on one study, a killed sweep resumed.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tunebench::config::PrunerKind;
use tunebench::sweep::distribution::Distribution;
use tunebench::sweep::journal::{Journal, Param, Trial, TrialState};
use tunebench::sweep::pruner::Pruner;
use tunebench::sweep::sampler::{default_gamma, split, ParzenEstimator};

fn fixture_json(name: &str) -> Value {
    let path = root().join("tests/fixtures/sweep").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn trial(number: usize, state: TrialState) -> Trial {
    Trial {
        id: number,
        number,
        state,
        params: Vec::new(),
        values: None,
        intermediate: Default::default(),
        user_attrs: Default::default(),
        system_attrs: Default::default(),
        datetime_start: None,
        datetime_complete: None,
    }
}

#[test]
fn tpe_parzen_estimators_equal_optunas() {
    let cases = fixture_json("tpe.json");
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let maximize = case["direction"] == "maximize";
        let space: Vec<(String, Distribution)> = case["space"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                let k = kv[0].as_str().unwrap().to_string();
                (k, Distribution::from_json(kv[1].as_str().unwrap()).unwrap())
            })
            .collect();
        let trials: Vec<Trial> = case["trials"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let complete = t["state"] == "complete";
                let mut tr = trial(
                    i,
                    if complete {
                        TrialState::Complete
                    } else {
                        TrialState::Pruned
                    },
                );
                tr.values = t["value"].as_f64().map(|v| vec![v]);
                for (k, d) in &space {
                    tr.params.push(Param {
                        name: k.clone(),
                        internal: t["params"][k].as_f64().unwrap(),
                        distribution: d.clone(),
                    });
                }
                for (s, v) in t["intermediate"].as_object().unwrap() {
                    tr.intermediate
                        .insert(s.parse().unwrap(), v.as_f64().unwrap());
                }
                tr
            })
            .collect();
        let refs: Vec<&Trial> = trials.iter().collect();
        let (below, above) = split(&refs, default_gamma(trials.len()), maximize);
        let numbers = |ts: &[&Trial]| -> Vec<u64> { ts.iter().map(|t| t.number as u64).collect() };
        let want = |k: &str| -> Vec<u64> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect()
        };
        assert_eq!(numbers(&below), want("below"), "{name}: below");
        assert_eq!(numbers(&above), want("above"), "{name}: above");
        let dists: Vec<Distribution> = space.iter().map(|(_, d)| d.clone()).collect();
        let obs = |ts: &[&Trial]| -> Vec<Vec<f64>> {
            ts.iter()
                .map(|t| t.params.iter().map(|p| p.internal).collect())
                .collect()
        };
        let l = ParzenEstimator::new(&obs(&below), &dists);
        let g = ParzenEstimator::new(&obs(&above), &dists);
        for (i, point) in case["points"].as_array().unwrap().iter().enumerate() {
            let x: Vec<f64> = point
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            for (pe, key) in [(&l, "log_pdf_below"), (&g, "log_pdf_above")] {
                let want = case[key][i].as_f64().unwrap();
                let got = pe.log_pdf(&x);
                assert!(
                    (got - want).abs() < 1e-6,
                    "{name} {key} point {i}: {got} vs Optuna {want}"
                );
            }
        }
    }
}

#[test]
fn pruner_decisions_equal_optunas() {
    let fx = fixture_json("pruners.json");
    let table: Vec<Vec<(i64, f64)>> = fx["table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rows| {
            rows.as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_i64().unwrap(), r[1].as_f64().unwrap()))
                .collect()
        })
        .collect();
    for (kind, name) in [(PrunerKind::Asha, "asha"), (PrunerKind::Median, "median")] {
        for maximize in [true, false] {
            let key = format!("{name}-{}", if maximize { "maximize" } else { "minimize" });
            let want: Vec<Option<i64>> = fx[&key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64())
                .collect();
            let mut pruner = Pruner::new(kind);
            let mut study: Vec<Trial> = Vec::new();
            let mut got = Vec::new();
            for (i, rows) in table.iter().enumerate() {
                study.push(trial(i, TrialState::Running));
                let mut pruned_at = None;
                for &(step, v) in rows {
                    let v = if maximize { v } else { -v };
                    study[i].intermediate.insert(step, v);
                    let me = study[i].clone();
                    let refs: Vec<&Trial> = study.iter().collect();
                    let d = pruner.decide(&me, &refs, maximize);
                    for (k, rv) in d.rungs {
                        study[i].system_attrs.insert(k, rv.into());
                    }
                    if d.prune {
                        pruned_at = Some(step);
                        break;
                    }
                }
                let t = &mut study[i];
                match pruned_at {
                    Some(_) => t.state = TrialState::Pruned,
                    None => {
                        t.state = TrialState::Complete;
                        let vals = t.intermediate.values().copied();
                        let best = if maximize {
                            vals.fold(f64::NEG_INFINITY, f64::max)
                        } else {
                            vals.fold(f64::INFINITY, f64::min)
                        };
                        t.values = Some(vec![best]);
                    }
                }
                got.push(pruned_at);
            }
            assert_eq!(got, want, "{key}");
        }
    }
}

#[test]
fn a_study_optuna_wrote_replays() {
    let j = Journal::open(&copy_fixture().1).unwrap();
    let study = j.replay.study_by_name("python-study").unwrap();
    assert!(study.maximize());
    let trials = j.replay.trials_of(study.id);
    let states: Vec<_> = trials.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [TrialState::Complete, TrialState::Pruned, TrialState::Fail]
    );
    assert_eq!(trials[0].value(), Some(0.8));
    assert_eq!(trials[0].intermediate.len(), 2);
    assert_eq!(
        trials[1].value(),
        Some(0.4),
        "a pruned trial keeps its last value"
    );
    assert!(trials[0].param("lr").is_some());
}

#[test]
fn every_operation_optuna_writes_replays() {
    // Attributes, a trial added whole from a template, a NaN report.
    let path = root().join("tests/fixtures/sweep/optuna-added.journal");
    let j = Journal::open(&path).unwrap();
    let study = j.replay.study_by_name("added").unwrap();
    assert!(!study.maximize());
    assert_eq!(study.user_attrs["owner"], "python");
    assert_eq!(study.system_attrs["origin"], "fixture");
    let trials = j.replay.trials_of(study.id);
    let added = trials[0];
    assert_eq!(added.state, TrialState::Complete);
    assert_eq!(added.value(), Some(0.25));
    assert_eq!(added.param("batch_size").unwrap().internal, 1.0);
    assert_eq!(added.param("lr").unwrap().internal, 1e-3);
    assert_eq!(added.intermediate.get(&10), Some(&0.25));
    assert_eq!(added.intermediate.len(), 2);
    assert_eq!(added.user_attrs["note"], "hand");
    assert_eq!(added.system_attrs["run"], "a");
    assert!(added.datetime_complete.is_some());
    let asked = trials[1];
    assert_eq!(asked.state, TrialState::Fail);
    assert_eq!(asked.number, 1);
    assert_eq!(asked.user_attrs["note"], "asked");
    assert!(asked.intermediate[&5].is_nan(), "Python's NaN reads as NaN");
    assert_eq!(asked.value(), None);
}

/// The Optuna-written journal, copied to a temp dir: (dir, journal path).
fn copy_fixture() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("study.journal");
    std::fs::copy(root().join("tests/fixtures/sweep/optuna.journal"), &p).unwrap();
    (d, p)
}

/// The tests' binary on one thread (trials run side by side).
fn tunebench() -> Command {
    let mut c = common::cli::tunebench();
    c.env("RAYON_NUM_THREADS", "1");
    c
}

/// A quick sweep config on the bundled reviews (scratch:tiny).
fn write_config(dir: &Path, search: &str) -> PathBuf {
    let (train, _) = reviews();
    let text = format!(
        "model = \"scratch:tiny\"\ntrain_file = \"{}\"\nepochs = 1\nmax_len = 32\n\
         eval_every = 5\nscratch_vocab = 500\n\n[search]\n{search}\n",
        train.display()
    );
    let p = dir.join("sweep.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `tunebench sweep --config CFG --out OUT EXTRA...`
fn sweep_cmd(cfg: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = tunebench();
    c.arg("sweep")
        .arg("--config")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

fn study_trials(journal: &Path, name: &str) -> Vec<Trial> {
    let j = Journal::open(journal).unwrap();
    let s = j.replay.study_by_name(name).unwrap();
    j.replay.trials_of(s.id).into_iter().cloned().collect()
}

#[test]
fn a_sweep_prunes_losers_and_keeps_the_best() {
    let d = tempfile::tempdir().unwrap();
    // Grid order: the good rate with three seeds, then a rate that stays
    // at chance — which the halving pruner must stop at its first rung.
    let cfg = write_config(
        d.path(),
        "sampler = \"grid\"\npruner = \"asha\"\nlr = { choice = [2e-3, 1e-7] }\nseed = { choice = [1, 2, 3] }",
    );
    // Three epochs: the good rate leaves chance before the last rung.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("epochs = 1", "epochs = 3")).unwrap();
    let out = d.path().join("sw");
    let text = run_ok(&mut sweep_cmd(&cfg, &out, &[]));
    let trials = study_trials(&out.join("study.journal"), "sw");
    assert_eq!(trials.len(), 6, "{text}");
    let pruned = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .count();
    assert!(pruned >= 1, "ASHA pruned nothing:\n{text}");
    assert!(text.contains("pruned at step"), "{text}");
    // A pruned trial keeps its curve.
    let p = trials
        .iter()
        .find(|t| t.state == TrialState::Pruned)
        .unwrap();
    let pdir = PathBuf::from(p.system_str("tunebench:run_dir").unwrap());
    assert!(std::fs::read_to_string(pdir.join("metrics.jsonl"))
        .unwrap()
        .contains("\"eval\""));
    assert!(!pdir.join("best").exists(), "non-best weights are removed");
    // best/ is the best trial's best checkpoint, and predicts like it.
    let best = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .max_by(|a, b| a.value().unwrap().total_cmp(&b.value().unwrap()))
        .unwrap();
    let bdir = PathBuf::from(best.system_str("tunebench:run_dir").unwrap());
    let link = std::fs::canonicalize(out.join("best")).unwrap();
    assert_eq!(link, std::fs::canonicalize(bdir.join("best")).unwrap());
    let predict = |ckpt: &Path| {
        let o = tunebench()
            .args([
                "predict",
                "--checkpoint",
                ckpt.to_str().unwrap(),
                "great product, works well",
            ])
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .unwrap()
            .to_string()
    };
    assert_eq!(predict(&out), predict(&bdir.join("best")));
    // `runs` gives the sweep's row its best trial's score.
    let listing = run_ok(tunebench().args(["runs", "--runs-dir", d.path().to_str().unwrap()]));
    let row = listing.lines().find(|l| l.starts_with("sw ")).unwrap();
    let want = format!("accuracy {:.4}", best.value().unwrap());
    assert!(row.contains(&want), "{want} in {listing}");
    // best.toml trains as is.
    let best_cfg = tunebench::config::RunConfig::from_toml_file(&out.join("best.toml")).unwrap();
    assert!(best_cfg.search.is_empty());
    assert_eq!(best_cfg.lr, Some(2e-3));
}

#[test]
fn a_sweep_continues_a_study_optuna_wrote() {
    let (d, journal) = copy_fixture();
    let cfg = write_config(
        d.path(),
        "trials = 5\nsampler = \"random\"\npruner = \"none\"\n\
         lr = { log_uniform = [1e-4, 3e-3] }\nbatch_size = { choice = [16, 32] }",
    );
    let out = d.path().join("sw");
    run_ok(&mut sweep_cmd(
        &cfg,
        &out,
        &[
            "--storage",
            journal.to_str().unwrap(),
            "--study",
            "python-study",
        ],
    ));
    let trials = study_trials(&journal, "python-study");
    assert_eq!(trials.len(), 5);
    assert_eq!(
        trials[0].state,
        TrialState::Complete,
        "Python's trials stay"
    );
    assert!(trials[3..]
        .iter()
        .all(|t| t.state == TrialState::Complete && t.param("lr").is_some()));
    // Another layout is refused, naming what differs.
    let other = write_config(d.path(), "lr = { uniform = [0.1, 0.2] }");
    let storage = [
        "--storage",
        journal.to_str().unwrap(),
        "--study",
        "python-study",
    ];
    let o = sweep_cmd(&other, &d.path().join("sw2"), &storage)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another layout") && err.contains("lr"),
        "{err}"
    );
}

#[test]
fn two_workers_share_one_study() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(
        d.path(),
        "trials = 6\nsampler = \"random\"\npruner = \"none\"\nlr = { log_uniform = [1e-4, 3e-3] }",
    );
    let out = d.path().join("sw");
    let (mut a, mut b) = (spawn_std(&cfg, &out), spawn_std(&cfg, &out));
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let trials = study_trials(&out.join("study.journal"), "sw");
    assert_eq!(trials.len(), 6);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let mut dirs: Vec<&str> = trials
        .iter()
        .map(|t| t.system_str("tunebench:run_dir").unwrap())
        .collect();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), 6, "no trial twice");
}

fn spawn_std(cfg: &Path, out: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("tunebench"))
        .args(["sweep", "--config"])
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .env("RAYON_NUM_THREADS", "1")
        .env_remove("TUNEBENCH_RUNS_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_killed_sweep_resumes_with_the_dead_trial_failed() {
    let d = tempfile::tempdir().unwrap();
    let (train, _) = reviews();
    // Slow enough trials to kill one mid-run.
    let text = format!(
        "model = \"scratch:tiny\"\ntrain_file = \"{}\"\nepochs = 30\nmax_len = 32\n\
         eval_every = 20\nscratch_vocab = 500\n\n[search]\ntrials = 2\npruner = \"none\"\n\
         sampler = \"random\"\nlr = {{ log_uniform = [1e-4, 3e-3] }}\n",
        train.display()
    );
    let cfg = d.path().join("sweep.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = d.path().join("sw");
    let mut sweep = spawn_std(&cfg, &out);
    let trial0 = out.join("trial-000");
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        let events = std::fs::read_to_string(trial0.join("metrics.jsonl")).unwrap_or_default();
        if events.contains("\"step\"") {
            let info: Value =
                serde_json::from_str(&std::fs::read_to_string(trial0.join("engine.json")).unwrap())
                    .unwrap();
            break info["pid"].as_i64().unwrap() as i32;
        }
        assert!(Instant::now() < deadline, "trial 0 never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    // kill -9 the sweep, then its trial.
    sweep.kill().unwrap();
    sweep.wait().unwrap();
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(300));
    // Make the resumed trial short.
    let text = run_ok(tunebench().args([
        "sweep",
        "--resume",
        out.to_str().unwrap(),
        "--set",
        "epochs=1",
    ]));
    let trials = study_trials(&out.join("study.journal"), "sw");
    assert_eq!(trials.len(), 2, "{text}");
    assert_eq!(trials[0].state, TrialState::Fail, "{text}");
    assert!(trials[0]
        .system_str("fail_reason")
        .unwrap()
        .contains("died"));
    assert_eq!(trials[1].state, TrialState::Complete, "{text}");
}

#[test]
fn bad_search_input_exits_2_naming_the_key() {
    let d = tempfile::tempdir().unwrap();
    for (search, needle) in [
        (
            "warmup = { uniform = [0.0, 0.2] }",
            "did you mean 'warmup_ratio'",
        ),
        ("lr = { uniform = [1e-3, 1e-5] }", "empty or reversed range"),
        (
            "lr = { log_uniform = [0.0, 1e-3] }",
            "log range needs low > 0",
        ),
        ("batch_size = { choice = [] }", "no options"),
        ("batch_size = { int = [0, 8] }", "batch_size = 0"),
        ("trials = 3", "names no parameter"),
        (
            "sampler = \"grid\"\nlr = { uniform = [0.1, 0.2] }",
            "a grid needs",
        ),
    ] {
        let cfg = write_config(d.path(), search);
        let o = sweep_cmd(&cfg, &d.path().join("never"), &[])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{search}: {err}");
        assert!(err.contains(needle), "{search}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A journal that is not Optuna's.
    let cfg = write_config(d.path(), "lr = { log_uniform = [1e-4, 3e-3] }");
    let junk = d.path().join("junk.journal");
    std::fs::write(&junk, "not json\n").unwrap();
    let o = sweep_cmd(
        &cfg,
        &d.path().join("x"),
        &["--storage", junk.to_str().unwrap()],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("junk.journal:1: not an Optuna journal"),
        "{err}"
    );
}

#[test]
fn tensorboard_reads_our_event_files() {
    use tunebench::protocol::{ClassMetrics, Event};
    use tunebench::run_dir::tensorboard::{encode_file, scalars_of};
    let events: Vec<Event> = (1..=3)
        .flat_map(|s| {
            let step = Event::Step {
                step: s * 10,
                epoch: s as f64 / 3.0,
                loss: 1.0 / s as f64,
                lr: 1e-4 * s as f64,
                grad_norm: 0.5,
                samples_per_s: 100.0 + s as f64,
                tokens_per_s: 1000.0,
                elapsed_s: s as f64,
                eta_s: 1.0,
                device_mem_mib: None,
            };
            let eval = Event::Eval {
                step: s * 10,
                epoch: s as f64 / 3.0,
                split: "val".into(),
                loss: 0.9 / s as f64,
                accuracy: 0.5 + 0.1 * s as f64,
                macro_f1: 0.4 + 0.1 * s as f64,
                per_class: vec![ClassMetrics {
                    label: "pos".into(),
                    precision: 0.5,
                    recall: 0.5,
                    f1: 0.25 * s as f64,
                    support: 3,
                }],
                confusion: vec![],
                task: None,
                since_best: 0,
                metrics: Default::default(),
            };
            [step, eval]
        })
        .collect();
    let bytes = encode_file(&events, 1.7e9);
    let dir = root().join("tests/fixtures/sweep/tensorboard");
    let file = dir.join("events.out.tfevents.1700000000.tunebench");
    if std::env::var_os("TUNEBENCH_WRITE_FIXTURES").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&file, &bytes).unwrap();
    }
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "the encoding changed");
    // What tensorboard's EventAccumulator read from that file
    // (make_sweep_fixtures.py --tensorboard).
    let read = fixture_json("tensorboard.json");
    let mut want: std::collections::BTreeMap<String, Vec<(u64, f32)>> = Default::default();
    for e in &events {
        if let Some((step, scalars)) = scalars_of(e) {
            for (tag, v) in scalars {
                want.entry(tag).or_default().push((step as u64, v));
            }
        }
    }
    let got: std::collections::BTreeMap<String, Vec<(u64, f32)>> = read
        .as_object()
        .unwrap()
        .iter()
        .map(|(tag, rows)| {
            let rows = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_u64().unwrap(), r[1].as_f64().unwrap() as f32))
                .collect();
            (tag.clone(), rows)
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn parallel_trials_split_the_threads_and_a_timeout_stops_new_ones() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(
        d.path(),
        "trials = 4\nparallel = 2\nsampler = \"random\"\npruner = \"none\"\n\
         lr = { log_uniform = [1e-4, 3e-3] }",
    );
    let out = d.path().join("par");
    run_ok(&mut sweep_cmd(&cfg, &out, &[]));
    let trials = study_trials(&out.join("study.journal"), "par");
    assert_eq!(trials.len(), 4);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let launch: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trial-000/launch.json")).unwrap())
            .unwrap();
    assert_eq!(launch["threads"].as_u64(), Some((cores / 2).max(1) as u64));
    // Two at once: some trial started before another ended.
    let span = |t: &Trial| {
        let s = tunebench::sweep::journal::iso_seconds(t.datetime_start.as_deref().unwrap());
        let e = tunebench::sweep::journal::iso_seconds(t.datetime_complete.as_deref().unwrap());
        (s.unwrap(), e.unwrap())
    };
    let (a, b) = (span(&trials[0]), span(&trials[1]));
    assert!(
        b.0 < a.1 && a.0 < b.1,
        "trials 0 and 1 overlap: {a:?} {b:?}"
    );

    // A timeout: no trial starts after it (the running one finishes).
    let cfg = write_config(
        d.path(),
        "trials = 50\ntimeout = 0.01\nsampler = \"random\"\npruner = \"none\"\n\
         lr = { log_uniform = [1e-4, 3e-3] }",
    );
    let out = d.path().join("timeout");
    run_ok(&mut sweep_cmd(&cfg, &out, &[]));
    let trials = study_trials(&out.join("study.journal"), "timeout");
    assert_eq!(trials.len(), 1, "one trial, then the timeout");
    assert_eq!(trials[0].state, TrialState::Complete);
}
