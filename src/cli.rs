//! The command line: `tunebench train|eval|predict|inspect`. Front-end code
//! only: it parses flags, calls the library and prints.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tunebench::config::RunConfig;
use tunebench::data::{load_file, stats, Labels, LoadOptions};
use tunebench::predict::{device_for, evaluate, Predictor};
use tunebench::train::{self, Command, Event};

#[derive(Parser)]
#[command(
    name = "tunebench",
    version,
    about = "Fine-tune BERT-family text classifiers with candle"
)]
struct Cli {
    /// Without a subcommand: the TUI on the bundled sample corpus.
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(clap::Args, Clone, Default)]
struct DataFlags {
    /// Column holding the text (default: text, sentence, review, content...)
    #[arg(long)]
    text_col: Option<String>,
    /// Column holding the label (default: label, labels, class, sentiment...)
    #[arg(long)]
    label_col: Option<String>,
    /// Replace invalid UTF-8 bytes instead of failing
    #[arg(long)]
    lossy_utf8: bool,
    /// Drop rows with empty text instead of failing
    #[arg(long)]
    skip_empty: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// The interactive workbench (the default)
    Tui {
        /// Training data (default: the bundled review corpus)
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long)]
        val: Option<PathBuf>,
        #[arg(long)]
        model: Option<String>,
        /// Hyperparameters to start from; `w`/`L` in the form save/load here
        #[arg(long)]
        config: Option<PathBuf>,
        /// Checkpoint the playground uses when no run is active
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Plain chart markers for fonts without braille
        #[arg(long)]
        plain_markers: bool,
        /// Where new runs go
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Fine-tune a classifier (headless)
    Train {
        /// Training data: .csv, .tsv or .jsonl
        #[arg(long)]
        data: Option<PathBuf>,
        /// Validation data (default: a stratified split of --data)
        #[arg(long)]
        val: Option<PathBuf>,
        /// Local HF dir, hub id (from the HF cache) or scratch:tiny|mini|small
        #[arg(long)]
        model: Option<String>,
        /// A run.toml with hyperparameters
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override one hyperparameter, e.g. --set lr=3e-5 (repeatable)
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Run directory (default: runs/<timestamp>-<model>)
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long)]
        max_steps: Option<usize>,
        /// Share of --data held out for validation when no --val is given
        #[arg(long)]
        val_split: Option<f64>,
        /// Seed for init, dropout, data order and the split
        #[arg(long)]
        seed: Option<u64>,
        /// Continue the run in this directory from its latest checkpoint
        #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["data", "val", "model", "config", "out"])]
        resume: Option<PathBuf>,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Evaluate a checkpoint on labelled data
    Eval {
        /// Any HF BERT/DistilBERT classifier directory
        #[arg(long)]
        checkpoint: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
        format: EvalFormat,
        /// Write every row's prediction to this CSV
        #[arg(long)]
        predictions: Option<PathBuf>,
        #[arg(long, default_value = "cpu")]
        device: String,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Predict labels for texts
    Predict {
        #[arg(long)]
        checkpoint: PathBuf,
        /// Texts to classify
        texts: Vec<String>,
        /// A file of texts: one per line (.txt) or a .csv/.tsv/.jsonl
        #[arg(long)]
        input: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = PredictFormat::Jsonl)]
        format: PredictFormat,
        #[arg(long, default_value = "cpu")]
        device: String,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Benchmark training, evaluation and prediction speed (JSON lines)
    Bench {
        /// Models: tiny, mini (BERT-tiny/mini shapes), minilm (all-MiniLM-L6-v2)
        #[arg(long, value_delimiter = ',', default_values_t = tunebench::bench::MODELS.iter().map(|s| s.to_string()))]
        models: Vec<String>,
        #[arg(long, value_delimiter = ',', default_values_t = tunebench::bench::LENGTHS.to_vec())]
        lens: Vec<usize>,
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Threads for matmuls and elementwise ops (RAYON_NUM_THREADS)
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Sentences to pack into rows (GLUE TSV)
        #[arg(long, default_value = "../shared/data/sst2/train.tsv")]
        data: PathBuf,
        /// all-MiniLM-L6-v2 directory (../shared/tools/get-models.sh)
        #[arg(long, default_value = "/tmp/tunebench-models/all-MiniLM-L6-v2")]
        minilm_dir: PathBuf,
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        #[arg(long, default_value_t = 10)]
        steps: usize,
        /// Run one case (MODEL:LEN) in this process; the suite runs each
        /// case in its own process so peak memory is per case
        #[arg(long, hide = true)]
        case: Option<String>,
    },
    /// Describe a corpus: label balance, duplicates, conflicts, lengths
    Inspect {
        #[arg(long)]
        data: PathBuf,
        /// Also report token lengths with this model's tokenizer
        #[arg(long)]
        model: Option<String>,
        #[arg(long, default_value_t = 128)]
        max_len: usize,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data_flags: DataFlags,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum EvalFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum PredictFormat {
    Jsonl,
    Csv,
    Table,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let bad_input = e.chain().any(|c| {
                c.downcast_ref::<tunebench::Error>()
                    .is_some_and(|e| e.is_bad_input())
                    || c.downcast_ref::<tunebench::data::DataError>().is_some()
                    || c.downcast_ref::<tunebench::config::ConfigError>().is_some()
            });
            eprintln!("error: {e:#}");
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Cmd::Tui {
        data: None,
        val: None,
        model: None,
        config: None,
        checkpoint: None,
        plain_markers: false,
        runs_dir: PathBuf::from("runs"),
        data_flags: DataFlags::default(),
    });
    match command {
        Cmd::Tui {
            data,
            val,
            model,
            config,
            checkpoint,
            plain_markers,
            runs_dir,
            data_flags,
        } => {
            let mut cfg = match &config {
                Some(p) => RunConfig::from_toml_file(p)?,
                None => demo_config()?,
            };
            if let Some(d) = data {
                cfg.train_file = Some(d);
                cfg.val_file = val;
            } else if val.is_some() {
                cfg.val_file = val;
            }
            if let Some(m) = model {
                cfg.model = m;
            }
            apply_data_flags(&mut cfg, &data_flags);
            let logs = tunebench::tui::LogSwitch::default();
            logs.switch_to(&runs_dir.join("tui.log"));
            let _ = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("TUNEBENCH_LOG")
                        .unwrap_or_else(|_| "info".into()),
                )
                .try_init();
            tunebench::tui::run(tunebench::tui::TuiOptions {
                cfg,
                config_path: config.unwrap_or_else(|| PathBuf::from("run.toml")),
                checkpoint,
                plain_markers,
                runs_dir,
                logs,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Train {
            data,
            val,
            model,
            config,
            set,
            out,
            epochs,
            max_steps,
            val_split,
            seed,
            resume,
            data_flags,
        } => {
            let overrides = |cfg: &mut RunConfig| -> tunebench::Result<()> {
                if let Some(e) = epochs {
                    cfg.epochs = e;
                }
                if let Some(m) = max_steps {
                    cfg.max_steps = m;
                }
                if let Some(v) = val_split {
                    cfg.val_split = v;
                }
                if let Some(s) = seed {
                    cfg.seed = s;
                }
                for s in &set {
                    cfg.set(s)?;
                }
                Ok(())
            };
            let trainer = match resume {
                Some(dir) => train::prepare::resume(&dir, overrides)?,
                None => {
                    let mut cfg = match &config {
                        Some(p) => RunConfig::from_toml_file(p)?,
                        None => RunConfig::default(),
                    };
                    if data.is_some() {
                        cfg.train_file = data;
                    }
                    if val.is_some() {
                        cfg.val_file = val;
                    }
                    if let Some(m) = model {
                        cfg.model = m;
                    }
                    apply_data_flags(&mut cfg, &data_flags);
                    overrides(&mut cfg)?;
                    cfg.validate()?;
                    let out = out.unwrap_or_else(|| default_run_dir(&cfg.model));
                    train::prepare(cfg, &out)?
                }
            };
            init_file_logging(&trainer.run_dir().join("train.log"));
            headless_train(trainer)
        }
        Cmd::Eval {
            checkpoint,
            data,
            format,
            predictions,
            device,
            data_flags,
        } => eval_cmd(
            &checkpoint,
            &data,
            format,
            predictions.as_deref(),
            &device,
            &data_flags,
        ),
        Cmd::Predict {
            checkpoint,
            texts,
            input,
            format,
            device,
            data_flags,
        } => predict_cmd(
            &checkpoint,
            texts,
            input.as_deref(),
            format,
            &device,
            &data_flags,
        ),
        Cmd::Bench {
            models,
            lens,
            batch,
            threads,
            data,
            minilm_dir,
            warmup,
            steps,
            case,
        } => {
            let opts = tunebench::bench::BenchOptions {
                data,
                minilm_dir,
                batch,
                threads,
                warmup_steps: warmup,
                steps,
                eval_batches: 8,
                predict_runs: 50,
            };
            bench_cmd(&models, &lens, case.as_deref(), &opts)
        }
        Cmd::Inspect {
            data,
            model,
            max_len,
            json,
            data_flags,
        } => inspect_cmd(&data, model.as_deref(), max_len, json, &data_flags),
    }
}

/// The bundled sample corpus: the repository's copy when run from its root,
/// otherwise the copy compiled into the binary, written to the user's data
/// directory once.
fn sample_corpus() -> anyhow::Result<(PathBuf, PathBuf)> {
    let local = PathBuf::from("sample-data/reviews");
    if local.join("train.csv").is_file() && local.join("heldout.csv").is_file() {
        return Ok((local.join("train.csv"), local.join("heldout.csv")));
    }
    let base = directories::ProjectDirs::from("", "", "tunebench")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(std::env::temp_dir)
        .join("sample-data/reviews");
    std::fs::create_dir_all(&base).with_context(|| base.display().to_string())?;
    for (name, body) in [
        (
            "train.csv",
            include_str!("../sample-data/reviews/train.csv"),
        ),
        (
            "heldout.csv",
            include_str!("../sample-data/reviews/heldout.csv"),
        ),
    ] {
        let path = base.join(name);
        if !path.is_file() {
            std::fs::write(&path, body).with_context(|| path.display().to_string())?;
        }
    }
    Ok((base.join("train.csv"), base.join("heldout.csv")))
}

/// What `tunebench` opens with: scratch:mini on the sample reviews, with the
/// TUI's "quick look" preset stretched to three epochs.
fn demo_config() -> anyhow::Result<RunConfig> {
    let (train, heldout) = sample_corpus()?;
    Ok(RunConfig {
        model: "scratch:mini".into(),
        train_file: Some(train),
        val_file: Some(heldout),
        epochs: 3,
        max_len: 64,
        lr: 5e-4,
        log_every: 5,
        ..RunConfig::default()
    })
}

fn apply_data_flags(cfg: &mut RunConfig, f: &DataFlags) {
    if f.text_col.is_some() {
        cfg.text_col = f.text_col.clone();
    }
    if f.label_col.is_some() {
        cfg.label_col = f.label_col.clone();
    }
    cfg.lossy_utf8 |= f.lossy_utf8;
    cfg.skip_empty |= f.skip_empty;
}

fn load_opts(f: &DataFlags, require_label: bool) -> LoadOptions {
    LoadOptions {
        text_col: f.text_col.clone(),
        label_col: f.label_col.clone(),
        lossy_utf8: f.lossy_utf8,
        skip_empty: f.skip_empty,
        require_label,
    }
}

fn default_run_dir(model: &str) -> PathBuf {
    PathBuf::from("runs").join(tunebench::run_dir::run_name(model))
}

fn init_file_logging(path: &Path) {
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TUNEBENCH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init();
}

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
fn headless_train(trainer: train::Trainer) -> anyhow::Result<ExitCode> {
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
                labels,
                train_rows,
                val_rows,
                ..
            } => {
                total = *total_steps;
                say(&bar, format!(
                    "run {} | {} params on {device} | labels: {} | train {train_rows} rows, val {val_rows} | {total_steps} steps{}",
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
                ..
            } => {
                let line = format!(
                    "step {step}/{total} epoch {epoch:.2} loss {loss:.4} lr {lr:.2e} {samples_per_s:.1} samples/s eta {}",
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

fn eval_cmd(
    checkpoint: &Path,
    data: &Path,
    format: EvalFormat,
    predictions: Option<&Path>,
    device: &str,
    flags: &DataFlags,
) -> anyhow::Result<ExitCode> {
    let device = device_for(device)?;
    let predictor = Predictor::load(checkpoint, &device)?;
    let ds = load_file(data, &load_opts(flags, true))?;
    let labels: &Labels = &predictor.model.labels;
    let ids: Vec<u32> = labels.ids_of(&ds)?.into_iter().map(|i| i as u32).collect();
    let texts: Vec<&str> = ds.rows.iter().map(|r| r.text.as_str()).collect();
    let encoded = predictor.text.encode_all(&texts)?;
    let out = evaluate(&predictor.model, predictor.text.pad_id(), &encoded, &ids)?;
    let truth: Vec<usize> = ids.iter().map(|&i| i as usize).collect();
    let scores = tunebench::train::metrics::score(labels.names(), &truth, &out.predicted);
    if let Some(path) = predictions {
        let bytes = tunebench::predict::predictions_csv(&ds.rows, labels, &truth, &out.logits)?;
        tunebench::model::checkpoint::write_atomic(path, &bytes)?;
    }
    match format {
        EvalFormat::Json => println!(
            "{}",
            serde_json::json!({
                "rows": ds.rows.len(),
                "loss": out.loss,
                "accuracy": scores.accuracy,
                "macro_f1": scores.macro_f1,
                "per_class": scores.per_class,
                "confusion": scores.confusion,
                "labels": labels.names(),
            })
        ),
        EvalFormat::Table => {
            println!(
                "rows {}  loss {:.4}  accuracy {:.2}%  macro-F1 {:.2}%",
                ds.rows.len(),
                out.loss,
                scores.accuracy * 100.0,
                scores.macro_f1 * 100.0
            );
            println!(
                "{:<20} {:>9} {:>9} {:>9} {:>8}",
                "label", "precision", "recall", "f1", "support"
            );
            for c in &scores.per_class {
                println!(
                    "{:<20} {:>9.4} {:>9.4} {:>9.4} {:>8}",
                    c.label, c.precision, c.recall, c.f1, c.support
                );
            }
            println!("confusion (rows: true, columns: predicted)");
            let w = labels
                .names()
                .iter()
                .map(|l| l.len())
                .max()
                .unwrap_or(4)
                .max(6);
            print!("{:<w$}", "");
            for l in labels.names() {
                print!(" {l:>w$}");
            }
            println!();
            for (l, row) in labels.names().iter().zip(&scores.confusion) {
                print!("{l:<w$}");
                for c in row {
                    print!(" {c:>w$}");
                }
                println!();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn predict_cmd(
    checkpoint: &Path,
    mut texts: Vec<String>,
    input: Option<&Path>,
    format: PredictFormat,
    device: &str,
    flags: &DataFlags,
) -> anyhow::Result<ExitCode> {
    if let Some(path) = input {
        let is_plain = !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("csv" | "tsv" | "jsonl" | "ndjson")
        );
        if is_plain {
            let body =
                std::fs::read_to_string(path).map_err(|e| tunebench::data::DataError::Io {
                    path: path.to_path_buf(),
                    source: e,
                })?;
            texts.extend(
                body.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from),
            );
        } else {
            let ds = load_file(path, &load_opts(flags, false))?;
            texts.extend(ds.rows.into_iter().map(|r| r.text));
        }
    }
    if texts.is_empty() {
        return Err(
            tunebench::Error::Config(tunebench::config::ConfigError::Invalid(vec![
                tunebench::config::FieldError {
                    field: "texts",
                    reason: "nothing to predict: give TEXT arguments or --input FILE".into(),
                },
            ]))
            .into(),
        );
    }
    let device = device_for(device)?;
    let predictor = Predictor::load(checkpoint, &device)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let preds = predictor.predict(&refs)?;
    let mut stdout = std::io::stdout().lock();
    match format {
        PredictFormat::Jsonl => {
            for (t, p) in texts.iter().zip(&preds) {
                let probs: serde_json::Map<String, serde_json::Value> = p
                    .probs
                    .iter()
                    .map(|(l, x)| (l.clone(), serde_json::json!(x)))
                    .collect();
                let line = serde_json::json!({"text": t, "label": p.label, "score": p.score, "probs": probs, "logits": p.logits});
                writeln!(stdout, "{line}")?;
            }
        }
        PredictFormat::Csv => {
            let mut w = csv::Writer::from_writer(stdout);
            let mut header = vec!["text".to_string(), "label".into(), "score".into()];
            header.extend(
                predictor
                    .model
                    .labels
                    .names()
                    .iter()
                    .map(|l| format!("p_{l}")),
            );
            w.write_record(&header)?;
            for (t, p) in texts.iter().zip(&preds) {
                let mut rec = vec![t.clone(), p.label.clone(), format!("{:.6}", p.score)];
                rec.extend(p.probs.iter().map(|(_, x)| format!("{x:.6}")));
                w.write_record(&rec)?;
            }
            w.flush()?;
        }
        PredictFormat::Table => {
            for (t, p) in texts.iter().zip(&preds) {
                let shown: String = if t.chars().count() > 60 {
                    t.chars().take(59).chain(['…']).collect()
                } else {
                    t.clone()
                };
                writeln!(stdout, "{shown:<60}  {:<16} {:.3}", p.label, p.score)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_cmd(
    models: &[String],
    lens: &[usize],
    case: Option<&str>,
    opts: &tunebench::bench::BenchOptions,
) -> anyhow::Result<ExitCode> {
    for (what, path) in [("--data", &opts.data), ("--minilm-dir", &opts.minilm_dir)] {
        if !path.exists() {
            return Err(
                tunebench::Error::Config(tunebench::config::ConfigError::Invalid(vec![
                    tunebench::config::FieldError {
                        field: if what == "--data" {
                            "data"
                        } else {
                            "minilm_dir"
                        },
                        reason: format!(
                            "{what} {} does not exist (models: ../shared/tools/get-models.sh)",
                            path.display()
                        ),
                    },
                ]))
                .into(),
            );
        }
    }
    if let Some(case) = case {
        let (model, len) = case.split_once(':').context("--case MODEL:LEN")?;
        let result = tunebench::bench::run_case(model, len.parse()?, opts)?;
        println!("{}", serde_json::to_string(&result)?);
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe()?;
    let mut failed = false;
    for model in models {
        for len in lens {
            let out = std::process::Command::new(&exe)
                .env("RAYON_NUM_THREADS", opts.threads.to_string())
                .args(["bench", "--case", &format!("{model}:{len}")])
                .args([
                    "--batch",
                    &opts.batch.to_string(),
                    "--threads",
                    &opts.threads.to_string(),
                ])
                .args([
                    "--warmup",
                    &opts.warmup_steps.to_string(),
                    "--steps",
                    &opts.steps.to_string(),
                ])
                .arg("--data")
                .arg(&opts.data)
                .arg("--minilm-dir")
                .arg(&opts.minilm_dir)
                .output()?;
            if out.status.success() {
                print!("{}", String::from_utf8_lossy(&out.stdout));
            } else {
                failed = true;
                eprintln!(
                    "case {model}:{len} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            let _ = std::io::stdout().flush();
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn inspect_cmd(
    data: &Path,
    model: Option<&str>,
    max_len: usize,
    json: bool,
    flags: &DataFlags,
) -> anyhow::Result<ExitCode> {
    let ds = load_file(data, &load_opts(flags, true))?;
    let report = stats::report(&ds.rows, ds.empty_dropped);
    let mut tokens = None;
    if let Some(spec) = model {
        let enc = match tunebench::model::hub::resolve(spec)? {
            tunebench::model::hub::ModelSource::Dir(dir) => {
                let md = tunebench::model::checkpoint::ModelDir::open(&dir)?;
                tunebench::text::TextEncoder::from_file(&md.tokenizer, max_len)?
            }
            // A scratch model's vocabulary is learned from the data, as train does.
            tunebench::model::hub::ModelSource::Scratch(_) => {
                let texts: Vec<String> = ds.rows.iter().map(|r| r.text.clone()).collect();
                tunebench::text::TextEncoder::train_wordpiece(
                    &texts,
                    RunConfig::default().scratch_vocab,
                    max_len,
                )?
            }
        };
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
        println!("{v}");
    } else {
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
