//! Starting a run process: the same binary's hidden `run-engine RUN_DIR`,
//! in a new session (no controlling terminal, so no SIGHUP when the
//! terminal goes), stdin closed, output appended to the run's train.log.
//! The caller waits until it listens (or reports why it could not start).

use super::client::Client;
use super::endpoint::EngineInfo;
use crate::config::RunConfig;
use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// What the run process is asked to do, written to the run dir.
pub const LAUNCH_FILE: &str = "launch.json";
/// Why preparation failed, written by the run process before it exits.
pub const LAUNCH_ERROR_FILE: &str = "launch-error.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaunchSpec {
    /// Continue the run in the dir from its newest checkpoint.
    pub resume: bool,
    pub config: RunConfig,
    /// Threads for the run (RAYON_NUM_THREADS); None: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

/// A run that could not start: bad data, model or config (`bad_input`), or
/// the process itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct LaunchError {
    pub message: String,
    pub bad_input: bool,
}

impl LaunchError {
    /// A failure that is not the user's input.
    pub fn other(message: impl Into<String>) -> Self {
        LaunchError {
            message: message.into(),
            bad_input: false,
        }
    }

    pub fn write(&self, run_dir: &Path) {
        if let Ok(json) = serde_json::to_vec(self) {
            let _ = crate::disk::write_atomic(&run_dir.join(LAUNCH_ERROR_FILE), &json);
        }
    }
}

impl LaunchSpec {
    pub fn read(run_dir: &Path) -> Result<LaunchSpec, LaunchError> {
        let path = run_dir.join(LAUNCH_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| LaunchError::other(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| LaunchError::other(format!("{}: {e}", path.display())))
    }
}

/// Start the run process for `run_dir` (`exe` is this program) and connect
/// to it once it listens. A new run's dir is created here and removed again
/// when the run cannot start.
pub fn launch(exe: &Path, run_dir: &Path, spec: &LaunchSpec) -> Result<Client, LaunchError> {
    // `default_run_dir` makes the directory (to claim its name): an empty
    // one is still ours to remove when the run cannot start.
    let created = !spec.resume && is_empty_or_missing(run_dir);
    if !spec.resume && run_dir.join("config.toml").exists() {
        return Err(LaunchError {
            message: format!(
                "{} already holds a run; resume it with --resume or choose another --out",
                run_dir.display()
            ),
            bad_input: true,
        });
    }
    if spec.resume {
        if let Some(info) = EngineInfo::read(run_dir) {
            if let Ok(client) = Client::connect(run_dir) {
                // A run that has just ended lets its last clients read
                // before it exits: wait for that, it is not "running".
                let over = client.hello.progress.is_over();
                drop(client);
                if over && wait_for_exit(info.pid) {
                    return launch_new_process(exe, run_dir, spec, false);
                }
                return Err(LaunchError {
                    message: format!(
                        "{} is still running (pid {}); attach to it with `tunebench attach {}`",
                        run_dir.display(),
                        info.pid,
                        run_dir.display()
                    ),
                    bad_input: true,
                });
            }
        }
    }
    launch_new_process(exe, run_dir, spec, created)
}

fn is_empty_or_missing(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Whether the process `pid` exits within a few seconds.
fn wait_for_exit(pid: u32) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while super::endpoint::pid_alive(pid) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn launch_new_process(
    exe: &Path,
    run_dir: &Path,
    spec: &LaunchSpec,
    created: bool,
) -> Result<Client, LaunchError> {
    std::fs::create_dir_all(run_dir)
        .map_err(|e| LaunchError::other(format!("{}: {e}", run_dir.display())))?;
    let spec = LaunchSpec {
        resume: spec.resume,
        config: with_absolute_paths(spec.config.clone()),
        threads: spec.threads,
    };
    let result = start(exe, run_dir, &spec);
    if result.is_err() && created && !run_dir.join("config.toml").exists() {
        let _ = std::fs::remove_dir_all(run_dir);
    }
    result
}

/// The run process may be attached to from any directory, and a resumed
/// run started from another: data files and a local model dir are recorded
/// as absolute paths.
fn with_absolute_paths(mut cfg: RunConfig) -> RunConfig {
    // An hf: dataset spec is a name, not a path.
    let abs = |p: &Path| {
        if p.to_string_lossy().starts_with("hf:") || crate::data::samples::is_sample(p) {
            return p.to_path_buf();
        }
        std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
    };
    cfg.train_file = cfg.train_file.as_deref().map(abs);
    cfg.val_file = cfg.val_file.as_deref().map(abs);
    cfg.corrections = cfg.corrections.as_deref().map(abs);
    if !cfg.model.starts_with("scratch:") && Path::new(&cfg.model).is_dir() {
        cfg.model = abs(Path::new(&cfg.model)).display().to_string();
    }
    cfg
}

fn start(exe: &Path, run_dir: &Path, spec: &LaunchSpec) -> Result<Client, LaunchError> {
    let io_err =
        |what: &Path, e: std::io::Error| LaunchError::other(format!("{}: {e}", what.display()));
    let json = serde_json::to_vec_pretty(spec).map_err(|e| LaunchError::other(e.to_string()))?;
    crate::disk::write_atomic(&run_dir.join(LAUNCH_FILE), &json)
        .map_err(|e| LaunchError::other(e.to_string()))?;
    let _ = std::fs::remove_file(run_dir.join(LAUNCH_ERROR_FILE));
    let _ = std::fs::remove_file(run_dir.join(super::endpoint::ENGINE_FILE));
    let log_path = run_dir.join("train.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io_err(&log_path, e))?;
    let log2 = log.try_clone().map_err(|e| io_err(&log_path, e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("run-engine")
        .arg(run_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    if let Some(t) = spec.threads {
        cmd.env("RAYON_NUM_THREADS", t.to_string());
    }
    // SAFETY: setsid is async-signal-safe; it only detaches the child from
    // our session and controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| io_err(exe, e))?;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| io_err(exe, e))? {
            let path = run_dir.join(LAUNCH_ERROR_FILE);
            let err = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<LaunchError>(&t).ok())
                .unwrap_or_else(|| {
                    LaunchError::other(format!(
                        "the run process exited ({status}) before it was ready; see {}",
                        log_path.display()
                    ))
                });
            // Kept: `tunebench runs` lists a run dir that stays as failed
            // with this reason (an empty new one is removed by the caller).
            return Err(err);
        }
        if EngineInfo::read(run_dir).is_some_and(|i| i.pid == child.id()) {
            if let Ok(client) = Client::connect(run_dir) {
                // Reap it when it ends (we may live longer: the TUI).
                std::thread::spawn(move || {
                    let _ = child.wait();
                });
                return Ok(client);
            }
        }
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// This program, for spawning run processes.
pub fn current_exe() -> Result<PathBuf, LaunchError> {
    std::env::current_exe()
        .map_err(|e| LaunchError::other(format!("cannot find this program: {e}")))
}
