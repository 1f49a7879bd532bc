//! The run process (`tunebench run-engine RUN_DIR`): prepare the run the
//! launcher described, listen on the run's socket, run the engine thread
//! and bridge its events to the clients until the run ends.

use super::bridge::{Bridge, Hub};
use super::endpoint::{now_unix, own_uid, socket_path_for, EngineInfo};
use super::launch::{LaunchError, LaunchSpec};
use crate::protocol::{Command, Event};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How long clients get to read the last events once the run is over.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Run the process to the end; the exit code: 0 finished or stopped,
/// 1 failed, 2 bad input at preparation.
pub fn run_engine(run_dir: &Path) -> i32 {
    ignore_hangup();
    let signals = block_stop_signals();
    let run_dir = match run_dir.canonicalize() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {}: {e}", run_dir.display());
            return 1;
        }
    };
    let socket = match socket_path_for(&run_dir) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                &run_dir,
                LaunchError::other(format!("socket directory: {e}")),
            )
        }
    };
    let mut info = EngineInfo {
        pid: std::process::id(),
        socket: socket.clone(),
        started_unix: now_unix(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    if let Err(e) = info.write(&run_dir) {
        return fail(&run_dir, LaunchError::other(e.to_string()));
    }
    let spec = match LaunchSpec::read(&run_dir) {
        Ok(s) => s,
        Err(e) => return fail(&run_dir, e),
    };
    let prepared = if spec.resume {
        let cfg = spec.config.clone();
        crate::train::prepare::resume(&run_dir, move |c| {
            *c = cfg;
            Ok(())
        })
    } else {
        crate::train::prepare(spec.config, &run_dir)
    };
    let trainer = match prepared {
        Ok(t) => t,
        Err(e) => {
            return fail(
                &run_dir,
                LaunchError {
                    message: e.to_string(),
                    bad_input: e.is_bad_input(),
                },
            )
        }
    };
    let hub = Hub::load(&run_dir);
    let bound = bind_private(&socket).or_else(|e| {
        // A file system without sockets (NFS, some FUSE): the private dir.
        let fallback = super::endpoint::short_socket_path(&run_dir)?;
        if e.kind() == std::io::ErrorKind::AddrInUse || fallback == socket {
            return Err(e);
        }
        tracing::warn!(
            "{}: {e}; listening on {}",
            socket.display(),
            fallback.display()
        );
        let listener = bind_private(&fallback)?;
        info.socket = fallback.clone();
        info.write(&run_dir).map_err(std::io::Error::other)?;
        Ok(listener)
    });
    let socket = info.socket.clone();
    let listener = match bound {
        Ok(l) => l,
        Err(e) => {
            return fail(
                &run_dir,
                LaunchError::other(format!("{}: {e}", socket.display())),
            )
        }
    };
    let handle = crate::train::spawn(trainer);
    if let Some(set) = signals {
        stop_on_signals(set, handle.commands.clone());
    }
    let bridge = Bridge::serve(hub, listener, handle.commands.clone(), own_uid());
    let mut failed = false;
    for event in handle.events.iter() {
        failed |= matches!(event, Event::Failed { .. });
        bridge.publish(&event);
    }
    let _ = handle.thread.join();
    if let Some(peak) = peak_rss() {
        tracing::info!("run process peak RSS {peak}");
    }
    bridge.close(CLOSE_GRACE);
    let _ = std::fs::remove_file(&socket);
    i32::from(failed)
}

/// The process's peak resident memory, as /proc reports it ("812345 kB").
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_string())
}

fn fail(run_dir: &Path, err: LaunchError) -> i32 {
    eprintln!("error: {}", err.message);
    err.write(run_dir);
    if err.bad_input {
        2
    } else {
        1
    }
}

/// Bind `path` with mode 0600 from the start (umask), replacing a stale
/// socket file a crashed process left.
fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    if std::fs::symlink_metadata(path).is_ok() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another process is serving this run",
            ));
        }
        std::fs::remove_file(path)?;
    }
    // SAFETY: umask only changes this process's file-creation mask; no
    // other thread creates files while it is narrowed.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let listener = listener?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// The run goes on when the terminal that started it closes.
fn ignore_hangup() {
    // SAFETY: setting a signal's disposition to SIG_IGN.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

/// Block SIGINT and SIGTERM in every thread (before any is spawned) so one
/// thread can wait for them and stop the run cleanly.
fn block_stop_signals() -> Option<libc::sigset_t> {
    // SAFETY: sigset operations on a local set; pthread_sigmask on this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        (libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) == 0).then_some(set)
    }
}

/// SIGINT/SIGTERM: stop with a checkpoint (a second one: exit at once).
fn stop_on_signals(set: libc::sigset_t, engine: Sender<Command>) {
    std::thread::spawn(move || {
        let mut count = 0;
        loop {
            let mut sig = 0;
            // SAFETY: `set` is a valid signal set; `sig` is written by sigwait.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                return;
            }
            count += 1;
            if count > 1 {
                std::process::exit(130);
            }
            tracing::info!("signal {sig}: stopping with a checkpoint");
            let _ = engine.send(Command::Stop { save: true });
        }
    });
}
