//! A run outlives its terminal: each run is its own process (`launch`
//! starts one, `process` is its main), which bridges the engine thread to
//! a Unix socket in the run dir (`bridge`); front ends connect as clients
//! (`client`). The wire format is newline-delimited JSON of the engine's
//! own `Command`/`Event` types (`wire`).

pub mod bridge;
pub mod client;
pub mod endpoint;
pub mod launch;
pub mod process;
pub mod watch;
pub mod wire;

pub use client::{Client, Commander};
pub use launch::{launch, LaunchError, LaunchSpec};
pub use watch::WatchedRun;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{}: no live run process ({reason})", run_dir.display())]
    NotLive { run_dir: PathBuf, reason: String },
    #[error("{0}")]
    Refused(String),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected message from the run process: {0}")]
    Protocol(String),
}
