//! `tunebench inspect`: the cleaning report of a corpus.

use super::{apply_data_flags, default_run_dir, load_opts, DataFlags};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tunebench::config::RunConfig;
use tunebench::data::corrections::load_and_apply;
use tunebench::data::{load_file, stats};
use tunebench::explain::label_issues::{suspects_csv, HeldOut};
use tunebench::protocol::Event;
use tunebench::train::cross_val::{check_folds, cross_validate, quick_epochs, FoldProgress};

#[derive(clap::Args)]
pub(crate) struct InspectArgs {
    /// The corpus: a file, hf:ORG/NAME or sample:NAME
    #[arg(long)]
    data: PathBuf,
    /// Also report token lengths with this model's tokenizer
    #[arg(long)]
    model: Option<String>,
    /// Token limit the lengths are measured against (rows over it are cut)
    #[arg(long, default_value_t = 128)]
    max_len: usize,
    /// One JSON object instead of the report
    #[arg(long)]
    json: bool,
    /// List rows whose label looks wrong (confident learning, as
    /// cleanlab) from K-fold cross-validated probabilities: trains
    /// --folds runs of --model with the given --set recipe
    #[arg(long, conflicts_with = "label_issues_from")]
    label_issues: bool,
    /// Folds of --label-issues (each row is predicted by the run that
    /// did not train on it)
    #[arg(long, default_value_t = 5, requires = "label_issues")]
    folds: usize,
    /// Override a hyperparameter of the fold runs, e.g. --set epochs=2
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "label_issues")]
    set: Vec<String>,
    /// Where the fold runs go (default: runs/<timestamp>-label-issues)
    #[arg(long, requires = "label_issues")]
    work_dir: Option<PathBuf>,
    /// List rows whose label looks wrong from the out-of-sample
    /// predictions of a run that evaluated on --data (its
    /// predictions.csv), or of an earlier --label-issues work dir
    #[arg(long, value_name = "RUN_DIR")]
    label_issues_from: Option<PathBuf>,
    /// Write the suspect rows to this CSV
    #[arg(long)]
    out: Option<PathBuf>,
    /// Apply label corrections to --data first (as train does)
    #[arg(long, value_name = "FILE")]
    corrections: Option<PathBuf>,
    #[command(flatten)]
    data_flags: DataFlags,
}

/// `tunebench inspect`: describe a corpus, or list the rows whose label
/// looks wrong.
pub(crate) fn inspect_args_cmd(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let InspectArgs {
        data,
        model,
        max_len,
        json,
        label_issues,
        folds,
        set,
        work_dir,
        label_issues_from,
        out,
        corrections,
        data_flags,
    } = args;
    let source = if let Some(run) = label_issues_from {
        Some(IssueSource::Run(run))
    } else if label_issues {
        let mut cfg = RunConfig {
            train_file: Some(data.clone()),
            corrections: corrections.clone(),
            ..RunConfig::default()
        };
        if let Some(m) = &model {
            cfg.model = m.clone();
        }
        apply_data_flags(&mut cfg, &data_flags);
        for s in &set {
            cfg.set(s)?;
        }
        cfg.validate()?;
        let work_dir = work_dir.unwrap_or_else(|| default_run_dir("label-issues"));
        Some(IssueSource::Folds {
            cfg: Box::new(cfg),
            folds,
            work_dir,
            epochs_set: set.iter().any(|s| s.trim_start().starts_with("epochs")),
        })
    } else {
        if out.is_some() {
            anyhow::bail!(tunebench::config::ConfigError::field(
                "out",
                "--out writes suspect rows: add --label-issues or --label-issues-from"
            ));
        }
        None
    };
    match source {
        Some(source) => label_issues_cmd(
            &data,
            source,
            out.as_deref(),
            &data_flags,
            corrections.as_deref(),
        ),
        None => inspect_cmd(
            &data,
            model.as_deref(),
            max_len,
            json,
            &data_flags,
            corrections.as_deref(),
        ),
    }
}

fn inspect_cmd(
    data: &Path,
    model: Option<&str>,
    max_len: usize,
    json: bool,
    flags: &DataFlags,
    corrections: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut ds = load_file(data, &load_opts(flags, true))?;
    super::keep_max_rows(&mut ds, flags);
    let mut applied = None;
    if let Some(c) = corrections {
        let (rows, summary) = load_and_apply(c, data, std::mem::take(&mut ds.rows))?;
        ds.rows = rows;
        applied = Some(summary);
    }
    let report = stats::report(&ds.rows, ds.empty_dropped);
    let mut tokens = None;
    if let Some(spec) = model {
        // A scratch model's vocabulary is learned from the data, as train does.
        let texts: Vec<String> = ds.rows.iter().map(|r| r.text.clone()).collect();
        let enc = tunebench::train::prepare::tokenizer_for(
            spec,
            RunConfig::default().scratch_vocab,
            max_len,
            &texts,
        )?;
        let texts: Vec<&str> = ds.rows.iter().map(|r| r.text.as_str()).collect();
        let lens = enc.full_lengths(&texts)?;
        let truncated = lens.iter().filter(|&&l| l > max_len).count();
        tokens = Some((stats::LengthStats::of(lens), truncated));
    }
    if json {
        let mut v = serde_json::to_value(&report)?;
        if let Some((s, t)) = &tokens {
            v["tokens"] = serde_json::json!({"stats": s, "truncated": t, "max_len": max_len});
        }
        if let Some(c) = &applied {
            v["corrections"] = serde_json::to_value(c)?;
        }
        println!("{v}");
    } else {
        if let Some(c) = &applied {
            println!("{c}");
        }
        print!("{report}");
        if let Some((Some(s), t)) = tokens {
            println!(
                "tokens per text: min {} median {} mean {:.1} p95 {} max {}; {} rows ({:.1}%) longer than max_len {max_len}",
                s.min, s.median, s.mean, s.p95, s.max, t, 100.0 * t as f64 / ds.rows.len() as f64
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the held-out probabilities of `inspect --label-issues` come from.
enum IssueSource {
    /// A run's predictions.csv on the validation rows.
    Run(PathBuf),
    /// Train K fold runs on the file (cross-validated probabilities).
    Folds {
        cfg: Box<RunConfig>,
        folds: usize,
        work_dir: PathBuf,
        /// Whether the user chose the epochs (else a scratch model gets
        /// `quick_epochs`).
        epochs_set: bool,
    },
}

/// Rows of `data` whose label looks wrong (confident learning on
/// out-of-sample probabilities), printed most suspect first and written to
/// `out` (default for K folds: WORK_DIR/label-issues.csv).
fn label_issues_cmd(
    data: &Path,
    source: IssueSource,
    out: Option<&Path>,
    flags: &DataFlags,
    corrections: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut ds = load_file(data, &load_opts(flags, true))?;
    super::keep_max_rows(&mut ds, flags);
    if let Some(c) = corrections {
        let (rows, summary) = load_and_apply(c, data, std::mem::take(&mut ds.rows))?;
        ds.rows = rows;
        println!("{summary}");
    }
    let (held_out, origin, default_out) = match source {
        IssueSource::Run(run) => {
            let path = run.join("predictions.csv");
            (HeldOut::read(&path)?, path.display().to_string(), None)
        }
        IssueSource::Folds {
            mut cfg,
            folds,
            work_dir,
            epochs_set,
        } => {
            check_folds(folds, ds.rows.len())?;
            if !epochs_set && cfg.model.starts_with("scratch:") {
                cfg.epochs = quick_epochs(ds.rows.len(), folds, cfg.batch_size);
            }
            let held = cross_validate_with_progress(&cfg, folds, &work_dir, ds.rows.len())?;
            (
                held,
                format!("{folds}-fold cross-validation in {}", work_dir.display()),
                Some(work_dir.join("label-issues.csv")),
            )
        }
    };
    let by_line: std::collections::HashMap<u64, &str> =
        ds.rows.iter().map(|r| (r.line, r.text.as_str())).collect();
    if let Some(r) = held_out
        .rows
        .iter()
        .find(|r| by_line.get(&r.line) != Some(&r.text.as_str()))
    {
        anyhow::bail!(tunebench::config::ConfigError::field(
            "label_issues_from",
            format!(
                "{origin} holds predictions for another file: line {} of {} differs",
                r.line,
                data.display()
            )
        ));
    }
    let suspects = held_out.suspects();
    super::train::print_line(&format!(
        "{} of {} rows look mislabeled (confident learning on the out-of-sample predictions of {origin}; most suspect first)",
        suspects.len(),
        held_out.rows.len(),
    ));
    for s in &suspects {
        super::train::print_line(&format!(
            "line {:>6}  {} → {} p(given) {:.3}  {}",
            s.line,
            super::fit_width(&s.given, 12),
            super::fit_width(&s.suggested, 12),
            s.confidence,
            super::fit_width(&s.text, 60).trim_end()
        ));
    }
    if let Some(out) = out.map(Path::to_path_buf).or(default_out) {
        tunebench::disk::write_atomic(&out, &suspects_csv(&suspects))?;
        println!("suspects written to {}", out.display());
        println!(
            "review them in the dataset pane (key i): tunebench tui --data {} --suspects {}",
            data.display(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// K-fold cross-validation with a bar on a terminal, lines otherwise;
/// Ctrl-C stops it.
fn cross_validate_with_progress(
    cfg: &RunConfig,
    folds: usize,
    work_dir: &Path,
    rows: usize,
) -> anyhow::Result<HeldOut> {
    let scratch = cfg.model.starts_with("scratch:");
    let (lr, _) = cfg.auto_lr(scratch);
    println!(
        "label issues by {folds}-fold cross-validation: {folds} runs of {} ({} epochs, lr {lr:e}, batch {}, max_len {}, seed {}), each trained on {}/{folds} of the {rows} rows and predicting the rest; runs in {} (change the recipe with --model and --set)",
        cfg.model,
        cfg.epochs,
        cfg.batch_size,
        cfg.max_len,
        cfg.seed,
        folds - 1,
        work_dir.display()
    );
    if scratch {
        println!(
            "note: a scratch model learns small, clear-cut corpora (the bundled reviews); on real text (SST-2: chance after an epoch) pass --model with a pretrained encoder"
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        eprintln!("\nstopping the cross-validation");
        flag.store(true, Ordering::SeqCst);
    });
    let tty = std::io::stdout().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut done_steps = 0u64;
    let log_every = cfg.log_every.max(1);
    let mut fold_total = 0usize;
    let held = cross_validate(cfg, folds, work_dir, |p| {
        match p {
            FoldProgress::Start {
                fold,
                folds,
                held_out,
            } => {
                let line = format!(
                    "fold {}/{folds}: training on {} rows, predicting {held_out} held-out rows",
                    fold + 1,
                    rows - held_out
                );
                match &bar {
                    Some(b) => b.println(line),
                    None => println!("{line}"),
                }
            }
            FoldProgress::Event { fold, event } => match event {
                Event::Started { total_steps, .. } => {
                    fold_total = *total_steps;
                    if tty && bar.is_none() {
                        let b = indicatif::ProgressBar::new((total_steps * folds) as u64);
                        b.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{bar:30} {pos}/{len} steps {msg} eta {eta}",
                            )
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                        );
                        bar = Some(b);
                    }
                }
                Event::Step { step, loss, .. } => match &bar {
                    Some(b) => {
                        b.set_position(done_steps + *step as u64);
                        b.set_message(format!("fold {}/{folds} loss {loss:.4}", fold + 1));
                    }
                    None if step % log_every == 0 => println!(
                        "fold {}/{folds} step {step}/{fold_total} loss {loss:.4}",
                        fold + 1
                    ),
                    None => {}
                },
                Event::Finished { step, .. } => {
                    done_steps += *step as u64;
                }
                Event::Eval { accuracy, step, .. } if *step == fold_total => {
                    let line = format!(
                        "fold {}/{folds}: held-out accuracy {:.1}%",
                        fold + 1,
                        100.0 * accuracy
                    );
                    match &bar {
                        Some(b) => b.println(line),
                        None => println!("{line}"),
                    }
                }
                _ => {}
            },
        }
        !stop.load(Ordering::SeqCst)
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(held?)
}
