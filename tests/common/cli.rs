//! Running the `tunebench` binary in tests, one way: offline, no HF cache
//! and no runs directory inherited from the shell that runs the tests.

use std::path::Path;
use std::process::{Command, Output};

/// The binary in the tests' environment.
pub fn tunebench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tunebench"));
    c.env("HF_HUB_OFFLINE", "1")
        .env_remove("HF_HOME")
        .env("HF_HUB_CACHE", "/nonexistent-hf-cache")
        .env_remove("TUNEBENCH_RUNS_DIR");
    c
}

/// `tunebench()` working in `home`: runs in `home/runs`, the bundled
/// corpora installed under `home/xdg`.
pub fn tunebench_in(home: &Path) -> Command {
    let mut c = tunebench();
    c.env("XDG_DATA_HOME", home.join("xdg"))
        .env("TUNEBENCH_RUNS_DIR", home.join("runs"))
        .current_dir(home);
    c
}

/// stdout of a finished run that must have succeeded (stderr shown when
/// it did not).
pub fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Run and expect success; returns stdout.
pub fn succeed(cmd: &mut Command) -> String {
    ok(cmd.output().unwrap())
}

/// Run; (success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run `cmd` and expect bad-input's exit code 2, no panic, and every
/// `needles` in stderr; returns stderr.
pub fn bad_input_cmd(cmd: &mut Command, needles: &[&str]) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{cmd:?}: stderr {err}");
    for n in needles {
        assert!(err.contains(n), "{cmd:?}: stderr lacks {n:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// `tunebench ARGS` must be refused as bad input naming every `needles`.
pub fn bad_input(args: &[&str], needles: &[&str]) -> String {
    bad_input_cmd(tunebench().args(args), needles)
}
