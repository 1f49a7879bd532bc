//! Runs that outlive their terminal: a run process started by `train
//! --detach`, steered over its socket by several clients at once; a run
//! killed with -9 is reported crashed and resumes with the losses of an
//! uninterrupted run.

mod common;

use common::cli::{ok, tunebench};
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};
use tunebench::protocol::{Command as Cmd, Event, FinishReason};
use tunebench::remote::client::socket_of;
use tunebench::remote::{Client, Commander};

/// Run `tunebench ARGS` and expect success; its stdout.
fn run_ok(args: &[&str]) -> String {
    ok(tunebench().args(args).output().unwrap())
}

fn detach(out: &Path, model: &str, extra: &[&str]) -> String {
    let (train, _) = reviews();
    let mut c = tunebench();
    c.args(["train", "--data", train.to_str().unwrap(), "--model", model])
        .args(["--out", out.to_str().unwrap(), "--detach"])
        .args(extra);
    ok(c.output().unwrap())
}

/// A client read on its own thread, so tests can wait on several at once.
struct Watcher {
    rx: Receiver<(u64, Event)>,
    seen: Vec<(u64, Event)>,
    commands: Commander,
}

impl Watcher {
    fn new(run: &Path) -> Watcher {
        let mut client = Client::connect(run).expect("the run process answers");
        client.subscribe(0).unwrap();
        let commands = client.commander();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for e in client.events() {
                if tx.send(e).is_err() {
                    return;
                }
            }
        });
        Watcher {
            rx,
            seen: Vec::new(),
            commands,
        }
    }

    fn send(&self, cmd: Cmd) {
        self.commands.send(&cmd).unwrap();
    }

    fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((seq, e)) => {
                    self.seen.push((seq, e.clone()));
                    if pred(&e) {
                        return e;
                    }
                }
                Err(_) => panic!(
                    "no {what}; last events: {:?}",
                    &self.seen[self.seen.len().saturating_sub(3)..]
                ),
            }
        }
    }

    fn last_step(&self) -> usize {
        self.seen
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                Event::Step { step, .. } => Some(*step),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Read until the connection closes.
    fn drain(&mut self) {
        while let Ok(e) = self.rx.recv_timeout(Duration::from_secs(30)) {
            self.seen.push(e);
        }
    }
}

fn step_at_least(n: usize) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Step { step, .. } if *step >= n)
}

/// Whether the server closed this connection, without reading from it.
fn hung_up(stream: &UnixStream) -> bool {
    use std::os::unix::io::AsRawFd;
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n > 0 && fd.revents & (libc::POLLRDHUP | libc::POLLHUP) != 0
}

fn raw_line(r: &mut impl BufRead) -> String {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    line
}

#[test]
fn clients_get_history_then_live_events_and_steer_the_run() {
    let d = tempfile::tempdir().unwrap();
    // Deeper than a Unix socket path may be: the socket goes elsewhere.
    let run = d
        .path()
        .join("a".repeat(60))
        .join("b".repeat(60))
        .join("run");
    let (train, _) = reviews();
    let mut c = tunebench();
    c.env("TUNEBENCH_CLIENT_QUEUE", "128")
        .args([
            "train",
            "--data",
            train.to_str().unwrap(),
            "--model",
            "scratch:tiny",
        ])
        .args([
            "--epochs",
            "400",
            "--set",
            "batch_size=4",
            "--set",
            "max_len=16",
        ])
        .args([
            "--set",
            "keep_checkpoints=1",
            "--out",
            run.to_str().unwrap(),
            "--detach",
        ]);
    let stdout = ok(c.output().unwrap());
    assert!(stdout.contains("tunebench attach"), "{stdout}");
    let socket = socket_of(&run);
    assert!(!socket.starts_with(&run), "{}", socket.display());
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");

    let mut a = Watcher::new(&run);
    a.wait_for("step 20", step_at_least(20));
    // A client that subscribes and never reads.
    let mut silent = UnixStream::connect(&socket).unwrap();
    silent
        .write_all(b"{\"command\":\"subscribe\",\"from_seq\":0}\n")
        .unwrap();
    let mut b = Watcher::new(&run);
    b.wait_for("B's history", step_at_least(20));

    // Pause: both see it, and no step follows until resumed.
    a.send(Cmd::Pause);
    let paused = a.wait_for("paused", |e| matches!(e, Event::Paused { .. }));
    b.wait_for("paused at B", |e| matches!(e, Event::Paused { .. }));
    std::thread::sleep(Duration::from_millis(800));
    let during: Vec<_> = a.rx.try_iter().collect();
    assert!(
        !during.iter().any(|(_, e)| matches!(e, Event::Step { .. })),
        "steps while paused: {during:?}"
    );
    a.seen.extend(during);
    b.send(Cmd::Resume);
    a.wait_for("resumed", |e| matches!(e, Event::Resumed { .. }));
    b.wait_for("resumed at B", |e| matches!(e, Event::Resumed { .. }));
    let Event::Paused { step: paused_at } = paused else {
        unreachable!()
    };

    a.send(Cmd::SaveCheckpoint);
    a.wait_for("checkpoint", |e| matches!(e, Event::Checkpoint { .. }));
    a.send(Cmd::Predict {
        id: 42,
        text: "great tent, love it".into(),
        text_pair: None,
        explain: None,
    });
    let answer = a.wait_for("prediction", |e| matches!(e, Event::Prediction { .. }));
    assert!(
        matches!(answer, Event::Prediction { id: 42, .. }),
        "{answer:?}"
    );

    // Bad input on the socket gets error replies; the run goes on.
    let mut raw = UnixStream::connect(&socket).unwrap();
    let mut raw_reader = BufReader::new(raw.try_clone().unwrap());
    assert!(raw_line(&mut raw_reader).contains("\"hello\""));
    raw.write_all(b"{not json\n").unwrap();
    assert!(raw_line(&mut raw_reader).contains("malformed JSON"));
    raw.write_all(b"{\"command\":\"explode\"}\n").unwrap();
    assert!(raw_line(&mut raw_reader).contains("bad command 'explode'"));
    let mut big = vec![b'x'; 10 << 20];
    big.push(b'\n');
    raw.write_all(&big).unwrap();
    assert!(raw_line(&mut raw_reader).contains("over the limit"));
    let mut cut = UnixStream::connect(&socket).unwrap();
    cut.write_all(b"{\"command\":\"pau").unwrap();
    drop(cut);

    // The silent client is dropped (once the kernel's socket buffer and its
    // queue are full); the run is not held back by it meanwhile.
    let mut target = paused_at;
    while !hung_up(&silent) {
        target += 100;
        assert!(
            target < paused_at + 8000,
            "the silent client was never dropped"
        );
        a.wait_for("more steps", step_at_least(target));
    }
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut sink = Vec::new();
    silent
        .read_to_end(&mut sink)
        .expect("the silent client's connection ends");
    assert!(a.last_step() > paused_at, "steps went on meanwhile");

    a.send(Cmd::Stop { save: true });
    let end = a.wait_for("finished", |e| e.is_terminal());
    assert!(
        matches!(
            end,
            Event::Finished {
                reason: FinishReason::Stopped,
                ..
            }
        ),
        "{end:?}"
    );
    a.drain();
    b.drain();
    assert!(
        a.seen
            .iter()
            .any(|(_, e)| matches!(e, Event::Checkpoint { .. })),
        "a checkpoint before stopping"
    );
    // Every event once, in order, from the first: A saw them all; B the
    // same ones except A's prediction.
    let seqs = |w: &Watcher| w.seen.iter().map(|(s, _)| *s).collect::<Vec<_>>();
    let a_seqs = seqs(&a);
    assert_eq!(a_seqs, (0..a_seqs.len() as u64).collect::<Vec<_>>());
    let b_seqs = seqs(&b);
    let pred_seq = a
        .seen
        .iter()
        .find(|(_, e)| matches!(e, Event::Prediction { .. }))
        .unwrap()
        .0;
    let expected: Vec<u64> = a_seqs.iter().copied().filter(|s| *s != pred_seq).collect();
    assert_eq!(b_seqs, expected);
    for ((_, ea), (_, eb)) in a.seen.iter().filter(|(s, _)| *s != pred_seq).zip(&b.seen) {
        assert_eq!(ea, eb);
    }
    // The process ends and removes its socket.
    let deadline = Instant::now() + Duration::from_secs(20);
    while socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!socket.exists(), "socket left behind");
}

/// kill -9 the run process and wait until it is gone.
fn kill9(pid: u32) {
    assert!(Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while tunebench::remote::endpoint::pid_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn losses(run: &Path) -> Vec<(usize, f64)> {
    tunebench::runs::read_events(run)
        .into_iter()
        .filter_map(|e| match e {
            Event::Step { step, loss, .. } => Some((step, loss)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_killed_run_is_reported_crashed_and_resumes_with_the_same_losses() {
    let d = tempfile::tempdir().unwrap();
    let runs = d.path().join("runs");
    let args = [
        "--epochs",
        "5",
        "--set",
        "batch_size=16",
        "--set",
        "max_len=32",
        "--set",
        "eval_every=10",
        "--set",
        "keep_checkpoints=3",
        "--seed",
        "3",
    ];
    // The reference: the same run, uninterrupted, in the foreground.
    let (train, _) = reviews();
    let reference = runs.join("reference");
    ok(tunebench()
        .args([
            "train",
            "--data",
            train.to_str().unwrap(),
            "--model",
            "scratch:tiny",
        ])
        .args(["--out", reference.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap());

    let run = runs.join("victim");
    detach(&run, "scratch:tiny", &args);
    // Kill it -9 once it has a checkpoint and is past it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_after = loop {
        let events = tunebench::runs::read_events(&run);
        let ckpt = events.iter().rev().find_map(|e| match e {
            Event::Checkpoint { step, .. } => Some(*step),
            _ => None,
        });
        let step = losses(&run).last().map(|l| l.0).unwrap_or(0);
        if let Some(c) = ckpt {
            if step > c + 2 {
                break c;
            }
        }
        assert!(Instant::now() < deadline, "no checkpoint yet");
        std::thread::sleep(Duration::from_millis(10));
    };
    let info = tunebench::remote::endpoint::EngineInfo::read(&run).unwrap();
    let socket = socket_of(&run);
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );
    kill9(info.pid);
    // What a kill during a checkpoint write leaves: a temp dir, never a
    // half-written checkpoints/step-N.
    let partial = run.join("checkpoints/.tmp-step-9999");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("model.safetensors"), b"\x10\x00").unwrap();

    let listing = ok(tunebench()
        .args(["runs", "--runs-dir", runs.to_str().unwrap(), "--json"])
        .output()
        .unwrap());
    let victim: serde_json::Value = listing
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["name"] == "victim")
        .unwrap();
    assert_eq!(victim["status"], "crashed", "{victim}");
    let last = victim["last_checkpoint"].as_str().unwrap();
    assert!(
        last.ends_with(&format!("step-{killed_after}")) || {
            // A later checkpoint may have landed between the poll and the kill.
            let n: usize = last.rsplit("step-").next().unwrap().parse().unwrap();
            n > killed_after && Path::new(last).join("trainer_state.json").is_file()
        },
        "{victim}"
    );
    assert_eq!(
        victim["resume_command"],
        format!("tunebench train --resume {}", run.display())
    );
    assert!(!socket.exists(), "the stale socket is cleaned");
    let table = run_ok(&["runs", "--runs-dir", runs.to_str().unwrap()]);
    assert!(
        table.contains("crashed") && table.contains("--resume"),
        "{table}"
    );

    // attach opens it read-only: the history, then the verdict.
    let out = tunebench()
        .args(["attach", "--plain", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("eval step 10"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ended without finishing"));
    let out = tunebench()
        .args(["stop", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("is crashed: it is not running"));

    let resumed = run_ok(&["train", "--resume", run.to_str().unwrap()]);
    assert!(resumed.contains("resuming at"), "{resumed}");
    assert!(resumed.contains("finished (Completed)"), "{resumed}");
    let (want, got) = (losses(&reference), losses(&run));
    assert_eq!(got.len(), want.len(), "one loss per step, no duplicates");
    for ((s1, l1), (s2, l2)) in want.iter().zip(&got) {
        assert_eq!(s1, s2);
        assert!(
            (l1 - l2).abs() <= 1e-5 * l1.abs().max(1.0),
            "step {s1}: {l1} vs {l2}"
        );
    }
    let listing = run_ok(&["runs", "--runs-dir", runs.to_str().unwrap()]);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("victim") && l.contains("finished")),
        "{listing}"
    );
}

#[test]
fn a_kill_during_a_checkpoint_write_leaves_the_last_complete_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    // scratch:small writes ~350 MB a checkpoint (weights + AdamW moments):
    // long enough to be caught in the act.
    detach(
        &run,
        "scratch:small",
        &[
            "--max-steps",
            "6",
            "--set",
            "eval_every=2",
            "--set",
            "batch_size=8",
            "--set",
            "max_len=16",
            "--set",
            "keep_checkpoints=5",
        ],
    );
    let checkpoints = run.join("checkpoints");
    let deadline = Instant::now() + Duration::from_secs(180);
    let writing = loop {
        let tmp = std::fs::read_dir(&checkpoints)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(".tmp-step-") && n != ".tmp-step-2");
        if let Some(t) = tmp {
            break t;
        }
        assert!(Instant::now() < deadline, "no second checkpoint write seen");
        std::thread::sleep(Duration::from_millis(2));
    };
    let info = tunebench::remote::endpoint::EngineInfo::read(&run).unwrap();
    kill9(info.pid);
    let summary = tunebench::runs::summarize(&run);
    assert_eq!(summary.status, tunebench::runs::RunStatus::Crashed);
    let last = summary.last_checkpoint.expect("a complete checkpoint");
    for f in [
        "config.json",
        "model.safetensors",
        "training_state.safetensors",
        "trainer_state.json",
    ] {
        assert!(
            last.join(f).is_file(),
            "{} lacks {f} (killed while writing {writing})",
            last.display()
        );
    }
    let resumed = run_ok(&["train", "--resume", run.to_str().unwrap()]);
    assert!(
        resumed.contains("resuming at") && resumed.contains("finished"),
        "{resumed}"
    );
    assert_eq!(
        tunebench::runs::summarize(&run).status,
        tunebench::runs::RunStatus::Finished
    );
}

#[test]
fn a_run_dir_that_cannot_hold_a_socket_listens_in_the_private_dir() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    // What stands in for a file system without sockets: the name is taken.
    std::fs::create_dir_all(run.join("engine.sock")).unwrap();
    let (train, _) = reviews();
    let out = ok(tunebench()
        .args([
            "train",
            "--data",
            train.to_str().unwrap(),
            "--model",
            "scratch:tiny",
        ])
        .args(["--max-steps", "3", "--out", run.to_str().unwrap()])
        .output()
        .unwrap());
    assert!(out.contains("finished"), "{out}");
    let info = tunebench::remote::endpoint::EngineInfo::read(&run).unwrap();
    assert!(!info.socket.starts_with(&run), "{}", info.socket.display());
    let log = std::fs::read_to_string(run.join("train.log")).unwrap();
    assert!(log.contains("listening on"), "{log}");
    let out = tunebench()
        .args(["stop", d.path().join("nothing").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a run directory"));
}
