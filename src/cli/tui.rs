//! `tunebench tui` (and `tunebench` alone): the workbench, on the bundled
//! sample corpus unless told otherwise.

use super::{logging, sample, DataFlags, SourceFlags};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct TuiArgs {
    #[command(flatten)]
    source: SourceFlags,
    /// Checkpoint the playground uses when no run is active
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Base model of a peft adapter directory (default: the
    /// adapter's base_model_name_or_path)
    #[arg(long)]
    base: Option<PathBuf>,
    /// Plain chart markers for fonts without braille
    #[arg(long)]
    plain_markers: bool,
    /// The playground's precision: f32, bf16, f16 or int8 (CPU: int8 and
    /// bf16 pack the encoder's weights; default: the run's precision)
    #[arg(long)]
    precision: Option<tunebench::config::InferencePrecision>,
    /// Where new runs go ($TUNEBENCH_RUNS_DIR, else runs)
    #[arg(long, default_value_os_t = tunebench::run_dir::default_runs_dir())]
    runs_dir: PathBuf,
    /// Suspect labels for the dataset pane (key i), from
    /// `inspect --label-issues` (its label-issues.csv)
    #[arg(long, value_name = "CSV")]
    suspects: Option<PathBuf>,
    #[command(flatten)]
    data_flags: DataFlags,
}

impl Default for TuiArgs {
    /// `tunebench` with no subcommand.
    fn default() -> Self {
        TuiArgs {
            source: SourceFlags::default(),
            checkpoint: None,
            base: None,
            plain_markers: false,
            precision: None,
            runs_dir: tunebench::run_dir::default_runs_dir(),
            suspects: None,
            data_flags: DataFlags::default(),
        }
    }
}

pub(crate) fn tui_cmd(args: TuiArgs) -> anyhow::Result<ExitCode> {
    let TuiArgs {
        source,
        checkpoint,
        base,
        plain_markers,
        precision,
        runs_dir,
        suspects,
        data_flags,
    } = args;
    let config = source.config.clone();
    let mut cfg = match &config {
        Some(p) => super::config_file(p)?,
        None => sample::demo_config()?,
    };
    source.apply(&mut cfg, &data_flags, true);
    let logs = tunebench::tui::LogSwitch::default();
    logs.switch_to(&runs_dir.join("tui.log"));
    logging::init(logs, false);
    tunebench::tui::run(tunebench::tui::TuiOptions {
        cfg,
        config_path: config.unwrap_or_else(|| PathBuf::from("run.toml")),
        checkpoint,
        base,
        plain_markers,
        runs_dir,
        attach: None,
        suspects,
        playground_precision: precision,
    })?;
    Ok(ExitCode::SUCCESS)
}
