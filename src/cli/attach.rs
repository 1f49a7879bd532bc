//! `tunebench attach [RUN_DIR]`: the TUI (or, with --plain, progress lines)
//! on a run from any shell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tunebench::config::RunConfig;

pub(crate) fn attach_cmd(
    run_dir: Option<PathBuf>,
    plain: bool,
    runs_dir: &Path,
    plain_markers: bool,
) -> anyhow::Result<ExitCode> {
    let dir = match run_dir {
        Some(d) => tunebench::runs::reference::resolve_run(&d.to_string_lossy(), runs_dir)?,
        None => tunebench::runs::newest_live(runs_dir).ok_or_else(|| {
            anyhow::anyhow!(
                "no live run in {}; `tunebench runs` lists them, and `tunebench attach RUN_DIR` opens a finished one",
                runs_dir.display()
            )
        })?,
    };
    if tunebench::sweep::is_sweep_dir(&dir) {
        return attach_sweep(&dir, plain, plain_markers);
    }
    let resolved = tunebench::run_dir::RunDir::read_config(&dir)
        .map_err(|e| anyhow::anyhow!("{} is not a run directory ({e})", dir.display()))?;
    if plain {
        return match tunebench::remote::Client::connect(&dir) {
            Ok(client) => super::train::follow(client, &dir, false),
            Err(_) => Ok(super::train::replay(&dir, resolved.config.log_every)),
        };
    }
    let runs_dir = dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| runs_dir.to_path_buf());
    open_tui(resolved.config, runs_dir, dir, plain_markers)
}

/// A sweep: its leaderboard (--plain) or the TUI on its Sweep view.
fn attach_sweep(dir: &Path, plain: bool, plain_markers: bool) -> anyhow::Result<ExitCode> {
    let cfg = RunConfig::from_toml_file(&dir.join(tunebench::sweep::driver::SWEEP_FILE))?;
    if plain {
        let s = tunebench::sweep::summary::SweepSummary::load(dir).map_err(anyhow::Error::msg)?;
        super::sweep::print_leaderboard(&s);
        return Ok(ExitCode::SUCCESS);
    }
    open_tui(cfg, dir.to_path_buf(), dir.to_path_buf(), plain_markers)
}

/// The TUI on `target` (a run, or a sweep's view), logging to
/// `runs_dir/tui.log`.
fn open_tui(
    cfg: RunConfig,
    runs_dir: PathBuf,
    target: PathBuf,
    plain_markers: bool,
) -> anyhow::Result<ExitCode> {
    let logs = tunebench::tui::LogSwitch::default();
    logs.switch_to(&runs_dir.join("tui.log"));
    super::logging::init(logs, false);
    tunebench::tui::run(tunebench::tui::TuiOptions {
        playground_precision: None,
        cfg,
        config_path: PathBuf::from("run.toml"),
        checkpoint: None,
        base: None,
        plain_markers,
        runs_dir,
        attach: Some(target),
        suspects: None,
    })?;
    Ok(ExitCode::SUCCESS)
}
