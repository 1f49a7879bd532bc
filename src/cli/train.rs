//! `tunebench train` and `attach --plain`: a run's progress as a bar on a
//! terminal or plain lines otherwise, read from its run process.

use super::{default_run_dir, DataFlags, SourceFlags};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;
use tunebench::config::RunConfig;
use tunebench::protocol::{Command, Event};
use tunebench::remote::{Client, Commander, LaunchSpec};

#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    source: SourceFlags,
    /// Override one hyperparameter, e.g. --set lr=3e-5 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run directory (default: runs/<timestamp>-<model>, under $TUNEBENCH_RUNS_DIR if set)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passes over the training data
    #[arg(long)]
    epochs: Option<usize>,
    /// Stop after this many optimizer steps (0: no limit)
    #[arg(long)]
    max_steps: Option<usize>,
    /// Share of --data held out for validation when no --val is given
    /// (e.g. 0.1), or the split of an hf: dataset to validate on
    /// (e.g. validation)
    #[arg(long)]
    val_split: Option<String>,
    /// Seed for init, dropout, data order and the split
    #[arg(long)]
    seed: Option<u64>,
    /// cpu, cuda or cuda:N (same as --set device=...)
    #[arg(long)]
    device: Option<String>,
    /// f32, bf16 or f16 mixed precision (same as --set precision=...)
    #[arg(long)]
    precision: Option<tunebench::config::Precision>,
    /// Continue this run (its directory, or its name as `tunebench runs`
    /// lists it) from its latest checkpoint
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["data", "val", "model", "config", "corrections", "out"])]
    resume: Option<PathBuf>,
    /// Start the run process and return at once (watch it with `attach`)
    #[arg(long)]
    detach: bool,
    /// Check the settings and print those that differ from the defaults
    /// (and any that have no effect), without training
    #[arg(long, conflicts_with = "detach")]
    dry_run: bool,
    #[command(flatten)]
    data_flags: DataFlags,
}

/// `tunebench train`: start a run process (or resume one) and follow it.
pub(crate) fn train_cmd(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let TrainArgs {
        source,
        set,
        out,
        epochs,
        max_steps,
        val_split,
        seed,
        device,
        precision,
        resume,
        detach,
        dry_run,
        data_flags,
    } = args;
    let overrides = |cfg: &mut RunConfig| -> tunebench::Result<()> {
        if let Some(e) = epochs {
            cfg.epochs = e;
        }
        if let Some(m) = max_steps {
            cfg.max_steps = m;
        }
        if let Some(v) = &val_split {
            match v.parse::<f64>() {
                Ok(share) => cfg.val_split = share,
                Err(_) => cfg.hf_val_split = Some(v.clone()),
            }
        }
        if let Some(s) = seed {
            cfg.seed = s;
        }
        if let Some(d) = &device {
            cfg.device = d.clone();
        }
        if let Some(p) = precision {
            cfg.precision = p;
        }
        for s in &set {
            cfg.set(s)?;
        }
        Ok(())
    };
    super::note_aliases(&set);
    let (run_dir, spec) = match resume {
        Some(dir) => {
            let dir = super::run_dir_of(&dir)?;
            let mut cfg = tunebench::run_dir::RunDir::read_config(&dir)?.config;
            overrides(&mut cfg)?;
            cfg.validate()?;
            if say_settings(&cfg, dry_run) {
                return Ok(ExitCode::SUCCESS);
            }
            (
                dir,
                LaunchSpec {
                    resume: true,
                    config: cfg,
                    threads: None,
                },
            )
        }
        None => {
            let mut cfg = match &source.config {
                Some(p) => super::config_file(p)?,
                None => RunConfig::default(),
            };
            source.apply(&mut cfg, &data_flags, false);
            if !cfg.search.is_empty() {
                eprintln!(
                    "note: [search] is for `tunebench sweep`; this run trains the fixed values"
                );
                cfg.search = Default::default();
            }
            overrides(&mut cfg)?;
            cfg.validate()?;
            // Before the run directory is claimed: a dry run leaves nothing.
            if say_settings(&cfg, dry_run) {
                return Ok(ExitCode::SUCCESS);
            }
            let out = out.unwrap_or_else(|| default_run_dir(&cfg.model));
            (
                out,
                LaunchSpec {
                    resume: false,
                    config: cfg,
                    threads: None,
                },
            )
        }
    };
    let exe = tunebench::remote::launch::current_exe()?;
    let client = tunebench::remote::launch(&exe, &run_dir, &spec)?;
    if detach {
        println!(
            "run {} started (pid {})",
            run_dir.display(),
            client.hello.pid
        );
        println!("watch it:  tunebench attach {}", run_dir.display());
        println!("stop it:   tunebench stop {}", run_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    follow(client, &run_dir, true)
}

fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Ctrl-C sends a stop (with a checkpoint) to the run process; a second
/// one leaves at once, the run process finishing its checkpoint alone.
/// Returns the count of Ctrl-C presses (0: not interrupted).
fn stop_on_ctrl_c(commands: Commander) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pressed = hits.clone();
    let _ = ctrlc::set_handler(move || {
        if hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            eprintln!("\nstopping: writing a checkpoint (Ctrl-C again to leave; the run process finishes it)");
            let _ = commands.send(&Command::Stop { save: true });
        } else {
            std::process::exit(130);
        }
    });
    pressed
}

/// Follow a run from its first event: print its progress until it ends.
/// With `control`, Ctrl-C stops the run (foreground `train`); without,
/// Ctrl-C only leaves (`attach --plain`).
pub(crate) fn follow(
    mut client: Client,
    run_dir: &Path,
    control: bool,
) -> anyhow::Result<ExitCode> {
    let log_every = tunebench::run_dir::RunDir::read_config(run_dir)
        .map(|r| r.config.log_every)
        .unwrap_or(10)
        .max(1);
    let pressed = control.then(|| stop_on_ctrl_c(client.commander()));
    client.subscribe(0)?;
    let code = print_progress(client.events().map(|(_, e)| e), log_every);
    // Interrupted, as the shell's convention says (128 + SIGINT), so that
    // `train && export` does not go on; the run kept its checkpoint.
    if pressed.is_some_and(|p| p.load(std::sync::atomic::Ordering::SeqCst) > 0) {
        return Ok(ExitCode::from(130));
    }
    Ok(code)
}

/// One line to stdout; a closed pipe (`| head`) ends the program quietly.
pub(crate) fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Print a run's recorded progress (a run with no live process).
pub(crate) fn replay(run_dir: &Path, log_every: usize) -> ExitCode {
    let events = tunebench::runs::read_events(run_dir)
        .into_iter()
        .filter(|e| !matches!(e, Event::Prediction { .. }));
    print_progress(events, log_every.max(1))
}

/// Print events as they come: a bar on a terminal, plain lines otherwise
/// (no `\r` in logs). Exit code 1 when the run failed or its process died.
fn print_progress(events: impl Iterator<Item = Event>, log_every: usize) -> ExitCode {
    let tty = std::io::stdout().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut total = 0;
    let mut failed = false;
    let say = |bar: &Option<indicatif::ProgressBar>, line: String| match bar {
        Some(b) => b.println(line),
        None => {
            print_line(&line);
        }
    };
    let mut ended = false;
    for event in events {
        ended |= event.is_terminal();
        match &event {
            Event::Started {
                run_dir,
                total_steps,
                start_step,
                params,
                trainable,
                device,
                precision,
                labels,
                train_rows,
                val_rows,
                ..
            } => {
                total = *total_steps;
                say(&bar, format!(
                    "run {} | {} params{} on {device}, {precision} | labels: {} | train {train_rows} rows, val {val_rows} | {total_steps} steps{}",
                    run_dir.display(),
                    params,
                    if *trainable > 0 && trainable < params {
                        format!(", {}", tunebench::tui::render::trainable_share(*trainable, *params))
                    } else {
                        String::new()
                    },
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
                task,
                ..
            } => say(
                &bar,
                format!(
                    "eval step {step}: loss {loss:.4} {}{}",
                    match task {
                        Some(t) => t.summary(),
                        None => format!(
                            "accuracy {:.2}% macro-F1 {:.2}%",
                            accuracy * 100.0,
                            macro_f1 * 100.0
                        ),
                    },
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
    if !ended {
        if let Some(b) = &bar {
            b.abandon();
        }
        eprintln!("error: the run process ended without finishing (crashed?); `tunebench runs` tells where it can resume");
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Say each setting that cannot matter (one rule with the form, which
/// hides them; the task is the config's, the data is not read yet), and
/// with `--dry-run` print the changed settings: whether to stop here.
fn say_settings(cfg: &RunConfig, dry_run: bool) -> bool {
    for (key, why) in cfg.inert_settings(None) {
        eprintln!("note: {}", cfg.inert_note(key, &why));
    }
    if dry_run {
        print!("{}", changed_settings(cfg));
    }
    dry_run
}

/// `train --dry-run`: the settings that differ from the defaults, as TOML
/// lines with the default beside each (the form marks the same keys).
fn changed_settings(cfg: &RunConfig) -> String {
    let default = RunConfig::default();
    let changed = cfg.changed_keys();
    if changed.is_empty() {
        return "# every setting is its default\n".into();
    }
    let mut out = String::from("# settings that differ from the defaults\n");
    for key in changed {
        if key == "search" {
            continue;
        }
        let was = match default.value_text(key) {
            v if v.is_empty() => "unset".to_string(),
            v => v,
        };
        let value = toml::Value::try_from(cfg)
            .ok()
            .and_then(|t| t.get(key).cloned())
            .map(|v| v.to_string())
            .unwrap_or_default();
        out.push_str(&format!("{key} = {value}  # default: {was}\n"));
    }
    out
}
