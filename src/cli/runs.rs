//! `tunebench runs` (the run history) and `stop|pause|resume RUN_DIR`
//! (commands to a live run from a shell).

use std::path::Path;
use std::process::ExitCode;
use tunebench::protocol::{Command, Event};
use tunebench::remote::wire::ServerMsg;
use tunebench::remote::Client;
use tunebench::runs::{RunStatus, RunSummary};

fn fmt_duration(s: u64) -> String {
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// `YYYY-MM-DD HH:MM` (UTC) of Unix seconds.
fn fmt_time(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn best_cell(r: &RunSummary) -> String {
    match &r.best {
        Some(b) => {
            let v = b.metric(&r.best_metric);
            // A token run's micro-F1 is its entity F1 (seqeval's headline).
            let tokens = matches!(b.task, Some(tunebench::protocol::TaskScores::Tokens { .. }));
            let name = match r.best_metric.as_str() {
                "micro_f1" | "f1" if tokens => "entity_f1",
                m => m,
            };
            if r.sweep {
                format!("{name} {v:.4}")
            } else {
                format!("{name} {v:.4} @{}", b.step)
            }
        }
        None => "-".into(),
    }
}

pub(crate) fn runs_cmd(
    runs_dir: &Path,
    json: bool,
    all: bool,
    wide: bool,
) -> anyhow::Result<ExitCode> {
    let everything = tunebench::runs::list(runs_dir);
    let (runs, hidden): (Vec<RunSummary>, Vec<RunSummary>) = everything
        .into_iter()
        .partition(|r| all || !is_failed_or_empty(r));
    if json {
        for r in &runs {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() && hidden.is_empty() {
        println!("no runs in {}", runs_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.status.name().to_string(),
                if r.sweep {
                    format!("{}/{} trials", r.step, r.total_steps)
                } else {
                    format!("{}/{}", r.step, r.total_steps)
                },
                if wide {
                    r.model.clone()
                } else {
                    short_model(&r.model)
                },
                r.data
                    .as_ref()
                    .map(|d| {
                        if wide || tunebench::data::samples::is_sample(d) {
                            d.display().to_string()
                        } else {
                            d.file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default()
                        }
                    })
                    .unwrap_or_else(|| "-".into()),
                best_cell(r),
                r.started_unix.map(fmt_time).unwrap_or_else(|| "-".into()),
                r.duration_s.map(fmt_duration).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = [
        "NAME", "STATUS", "STEP", "MODEL", "DATA", "BEST", "STARTED", "DURATION",
    ];
    let max = if wide { usize::MAX } else { LIST_WIDTH };
    let table = Table::fit(&header, &rows, max);
    println!("{}", table.line(&header.map(String::from)));
    for (row, r) in rows.iter().zip(&runs) {
        println!("{}", table.line(row));
        match r.status {
            RunStatus::Crashed => println!(
                "  crashed: its process is gone; last complete checkpoint: {}{}",
                r.last_checkpoint
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "none".into()),
                r.resume_command
                    .as_ref()
                    .map(|c| format!("\n  resume:  {c}"))
                    .unwrap_or_default()
            ),
            RunStatus::Failed => {
                println!(
                    "  failed: {}",
                    r.error.as_deref().unwrap_or("see train.log")
                )
            }
            _ => {}
        }
    }
    if !hidden.is_empty() {
        println!(
            "({} failed or empty run{} hidden: `tunebench runs --all` lists them, `tunebench rm --failed` removes them)",
            hidden.len(),
            if hidden.len() == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The width the listing keeps to without `--wide`.
const LIST_WIDTH: usize = 100;

/// A run that left nothing worth listing: it failed, or it is over with
/// no step and no checkpoint (its process died while preparing).
pub(crate) fn is_failed_or_empty(r: &RunSummary) -> bool {
    if r.status.is_live() || r.sweep {
        return false;
    }
    r.status == RunStatus::Failed && r.last_checkpoint.is_none()
        || (r.step == 0 && r.last_checkpoint.is_none() && r.best.is_none())
}

/// A model as people name it: a local directory's last component, a hub
/// id or `scratch:SIZE` as it is.
fn short_model(model: &str) -> String {
    let path = Path::new(model);
    if model.starts_with('/') || model.starts_with('.') || path.is_dir() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| model.to_string())
    } else {
        model.to_string()
    }
}

/// Column widths that fit a maximum line width: MODEL and DATA are cut
/// (with `…`), STARTED, MODEL and DURATION left out, as needed.
struct Table {
    widths: Vec<usize>,
    shown: Vec<bool>,
}

impl Table {
    const GAP: usize = 2;

    fn fit(header: &[&str], rows: &[Vec<String>], max: usize) -> Table {
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(tunebench::data::display_width(cell));
            }
        }
        let mut shown = vec![true; widths.len()];
        let total = |widths: &[usize], shown: &[bool]| {
            let cols: Vec<usize> = widths
                .iter()
                .zip(shown)
                .filter(|(_, s)| **s)
                .map(|(w, _)| *w)
                .collect();
            cols.iter().sum::<usize>() + Self::GAP * cols.len().saturating_sub(1)
        };
        // STARTED first (a run's default name starts with its time), then
        // MODEL (3) and DATA (4) cut, the widest first, then MODEL and
        // DURATION left out, DATA cut further.
        if total(&widths, &shown) > max {
            shown[6] = false;
        }
        while total(&widths, &shown) > max {
            let (i, w) = [3, 4]
                .into_iter()
                .map(|i| (i, widths[i]))
                .max_by_key(|(_, w)| *w)
                .expect("two columns");
            if w <= 12 {
                break;
            }
            widths[i] -= 1;
        }
        // A run's default name carries its model too.
        for drop in [3, 7] {
            if total(&widths, &shown) > max {
                shown[drop] = false;
            }
        }
        while total(&widths, &shown) > max && widths[4] > 6 {
            widths[4] -= 1;
        }
        Table { widths, shown }
    }

    fn line(&self, cells: &[String]) -> String {
        cells
            .iter()
            .zip(&self.widths)
            .zip(&self.shown)
            .filter(|(_, s)| **s)
            .map(|((c, w), _)| tunebench::data::fit_width(c, *w))
            .collect::<Vec<_>>()
            .join(&" ".repeat(Self::GAP))
            .trim_end()
            .to_string()
    }
}

/// Send one command to a live run and wait for its effect.
pub(crate) fn send_cmd(run_dir: &Path, cmd: Command) -> anyhow::Result<ExitCode> {
    if !run_dir.join("config.toml").is_file() && !run_dir.join("engine.json").is_file() {
        anyhow::bail!(
            "{} is not a run directory (no config.toml); `tunebench runs` lists the runs",
            run_dir.display()
        );
    }
    // A run that is over, whether its process is gone or still saying
    // goodbye to its clients, in plain words.
    let not_running = |status: RunStatus| {
        let summary = tunebench::runs::summarize(run_dir);
        let verb = match cmd {
            Command::Stop { .. } => "stop",
            Command::Pause => "pause",
            Command::Resume => "resume",
            _ => "send it",
        };
        let then = summary
            .resume_command
            .as_ref()
            .map(|c| format!("; to continue it from its last checkpoint: {c}"))
            .unwrap_or_default();
        anyhow::anyhow!(
            "{} is {}: it is not running, so there is nothing to {verb}{then}",
            summary.name,
            status.name()
        )
    };
    let mut client = match Client::connect(run_dir) {
        Ok(c) => c,
        Err(_) => return Err(not_running(tunebench::runs::summarize(run_dir).status)),
    };
    let status = client.hello.progress.status;
    match (&cmd, status) {
        (_, s) if !s.is_live() => return Err(not_running(s)),
        (Command::Pause, RunStatus::Paused) => {
            println!("{} is already paused", run_dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        (Command::Resume, s) if s != RunStatus::Paused => {
            println!("{} is not paused ({})", run_dir.display(), s.name());
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    client.subscribe(client.hello.next_seq)?;
    client.send(&cmd)?;
    while let Some(msg) = client.recv()? {
        let event = match msg {
            ServerMsg::Event { event, .. } => event,
            ServerMsg::Error { message } => anyhow::bail!("the run process refused: {message}"),
            ServerMsg::Hello(_) => continue,
        };
        match (&cmd, &event) {
            (Command::Pause, Event::Paused { step }) => {
                println!(
                    "paused at step {step}; `tunebench resume {}` continues",
                    run_dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            (Command::Resume, Event::Resumed { step }) => {
                println!("resumed at step {step}");
                return Ok(ExitCode::SUCCESS);
            }
            (_, Event::Checkpoint { path, .. }) => println!("checkpoint {}", path.display()),
            (_, Event::Finished { reason, step, .. }) => {
                println!("run ended ({reason:?}) at step {step}");
                return Ok(ExitCode::SUCCESS);
            }
            (_, Event::Failed { error, .. }) => anyhow::bail!("the run failed: {error}"),
            _ => {}
        }
    }
    anyhow::bail!("the run process closed the connection before confirming")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_naturally() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00");
        assert_eq!(fmt_time(1_796_083_200 + 3_660), "2026-12-01 01:01");
        assert_eq!(fmt_duration(59), "59s");
        assert_eq!(fmt_duration(61), "1m01s");
        assert_eq!(fmt_duration(7_260), "2h01m");
    }
}
