//! What the TUI asks the world to do: every side effect of a key or an
//! engine event (start a run, send a command, read or write a file) is an
//! `Action` the event loop carries out, so the state code stays pure and
//! tests call it directly.

use crate::config::RunConfig;
use crate::protocol::{Command, ExplainRequest};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    StartRun(Box<RunConfig>),
    Engine(Command),
    Predict {
        id: u64,
        text: String,
        explain: Option<ExplainRequest>,
    },
    /// Read predictions.csv of the run into the dataset pane.
    LoadPredictions(PathBuf),
    /// List the runs directory for the runs view.
    ListRuns,
    /// Leave the current run (it goes on) and show this one.
    OpenRun(PathBuf),
    /// Overlay these runs' curves (empty: clear the overlay).
    CompareRuns(Vec<PathBuf>),
    /// Load a run's config into the form.
    ConfigFrom(PathBuf),
    /// Write the dataset pane's label corrections to this file.
    SaveCorrections {
        path: PathBuf,
        corrections: crate::data::corrections::Corrections,
    },
    /// Write the form's config (TOML text) to this file.
    SaveConfig {
        path: PathBuf,
        toml: String,
    },
    /// Write the form's command line as an executable shell script.
    SaveScript {
        path: PathBuf,
        text: String,
    },
    /// Read a config file into the form.
    LoadConfig(PathBuf),
    /// Start `tunebench sweep` on this config (its `[search]`) in the
    /// background and show it.
    StartSweep(Box<RunConfig>),
    /// Show the sweep in this directory (and keep it current).
    OpenSweep(PathBuf),
}
