//! Where the log goes: a file while a screen is in use (the TUI, attach, a
//! run process: nothing may print over it), stderr for serve. The level is
//! `TUNEBENCH_LOG` (an env-filter directive), else info.

use std::path::Path;
use tracing_subscriber::fmt::MakeWriter;

/// Send the log to `writer` (colour codes only when `ansi`).
pub(crate) fn init<W>(writer: W, ansi: bool)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(ansi)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TUNEBENCH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init();
}

/// Append the log to `path` (nothing is logged when it cannot be opened).
pub(crate) fn to_file(path: &Path) {
    if let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        init(std::sync::Mutex::new(file), false);
    }
}

/// The log on stderr, coloured when it is a terminal.
pub(crate) fn to_stderr() {
    init(
        std::io::stderr,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
}
