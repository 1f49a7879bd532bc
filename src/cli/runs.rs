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
    let (year, month, day, h, m, _) = tunebench::run_dir::utc_fields(unix);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}")
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

pub(crate) fn runs_cmd(runs_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let runs = tunebench::runs::list(runs_dir);
    if json {
        for r in &runs {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no runs in {}", runs_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 8]> = runs
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                if r.sweep {
                    format!("sweep, {}", r.status.name())
                } else {
                    r.status.name().to_string()
                },
                if r.sweep {
                    format!("{}/{} trials", r.step, r.total_steps)
                } else {
                    format!("{}/{}", r.step, r.total_steps)
                },
                r.model.clone(),
                r.data
                    .as_ref()
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
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
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header.to_vec()));
    for (row, r) in rows.iter().zip(&runs) {
        println!("{}", line(row.iter().map(|s| s.as_str()).collect()));
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
    Ok(ExitCode::SUCCESS)
}

/// Send one command to a live run and wait for its effect.
pub(crate) fn send_cmd(run_dir: &Path, cmd: Command) -> anyhow::Result<ExitCode> {
    if !run_dir.join("config.toml").is_file() && !run_dir.join("engine.json").is_file() {
        anyhow::bail!(
            "{} is not a run directory (no config.toml); `tunebench runs` lists the runs",
            run_dir.display()
        );
    }
    let mut client = match Client::connect(run_dir) {
        Ok(c) => c,
        Err(e) => {
            let summary = tunebench::runs::summarize(run_dir);
            let hint = match (&cmd, &summary.resume_command) {
                (Command::Resume, Some(c)) => {
                    format!("; to continue it from its last checkpoint: {c}")
                }
                _ => String::new(),
            };
            anyhow::bail!(
                "{} is {}, not live{hint} ({e})",
                run_dir.display(),
                summary.status.name()
            );
        }
    };
    let status = client.hello.progress.status;
    match (&cmd, status) {
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
