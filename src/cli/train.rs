//! `tunebench train`: the engine with line-based or progress-bar output.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tunebench::train::{self, Command, Event};

fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Run the engine and print its progress: a bar on a terminal, plain lines
/// otherwise (no `\r` in logs).
pub(crate) fn headless_train(trainer: train::Trainer) -> anyhow::Result<ExitCode> {
    let log_every = trainer.cfg.log_every;
    let handle = train::spawn(trainer);
    let stopper = handle.commands.clone();
    let hits = std::sync::atomic::AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        if hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            eprintln!("\nstopping: writing a checkpoint (Ctrl-C again to quit at once)");
            let _ = stopper.send(Command::Stop { save: true });
        } else {
            std::process::exit(130);
        }
    });
    let tty = std::io::stdout().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut total = 0;
    let mut failed = false;
    let say = |bar: &Option<indicatif::ProgressBar>, line: String| match bar {
        Some(b) => b.println(line),
        None => {
            println!("{line}");
            let _ = std::io::stdout().flush();
        }
    };
    for event in handle.events.iter() {
        match &event {
            Event::Started {
                run_dir,
                total_steps,
                start_step,
                params,
                device,
                precision,
                labels,
                train_rows,
                val_rows,
                ..
            } => {
                total = *total_steps;
                say(&bar, format!(
                    "run {} | {} params on {device}, {precision} | labels: {} | train {train_rows} rows, val {val_rows} | {total_steps} steps{}",
                    run_dir.display(),
                    params,
                    labels.join(", "),
                    if *start_step > 0 { format!(" (resuming at {start_step})") } else { String::new() }
                ));
                if tty {
                    let b = indicatif::ProgressBar::new(*total_steps as u64);
                    b.set_style(
                        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    b.set_position(*start_step as u64);
                    bar = Some(b);
                }
            }
            Event::Step {
                step,
                epoch,
                loss,
                lr,
                samples_per_s,
                eta_s,
                device_mem_mib,
                ..
            } => {
                let mem = device_mem_mib
                    .map(|m| format!(" gpu mem {:.0} MiB", m))
                    .unwrap_or_default();
                let line = format!(
                    "step {step}/{total} epoch {epoch:.2} loss {loss:.4} lr {lr:.2e} {samples_per_s:.1} samples/s eta {}{mem}",
                    fmt_secs(*eta_s)
                );
                match &bar {
                    Some(b) => {
                        b.set_position(*step as u64);
                        b.set_message(line);
                    }
                    None if step % log_every == 0 || *step == total => say(&bar, line),
                    None => {}
                }
            }
            Event::Eval {
                step,
                loss,
                accuracy,
                macro_f1,
                since_best,
                ..
            } => say(
                &bar,
                format!(
                    "eval step {step}: loss {loss:.4} accuracy {:.2}% macro-F1 {:.2}%{}",
                    accuracy * 100.0,
                    macro_f1 * 100.0,
                    if *since_best == 0 {
                        " (best)".to_string()
                    } else {
                        format!(" ({since_best} evals since best)")
                    }
                ),
            ),
            Event::Checkpoint { path, best, .. } => say(
                &bar,
                format!(
                    "checkpoint {}{}",
                    path.display(),
                    if *best { " (best)" } else { "" }
                ),
            ),
            Event::Log { message, .. } => say(&bar, message.clone()),
            Event::Finished {
                reason,
                step,
                best_step,
                best_metric,
            } => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                let best = match (best_step, best_metric) {
                    (Some(s), Some(m)) => format!("; best at step {s} ({m:.4})"),
                    _ => String::new(),
                };
                say(&None, format!("finished ({reason:?}) at step {step}{best}"));
            }
            Event::Failed { error, .. } => {
                if let Some(b) = &bar {
                    b.abandon();
                }
                eprintln!("error: {error}");
                failed = true;
            }
            _ => {}
        }
    }
    let _ = handle.thread.join();
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
