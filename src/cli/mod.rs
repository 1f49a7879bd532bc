//! The command line: `tunebench [tui]|train|eval|predict|inspect|bench`. Front-end
//! code only: it parses flags, calls the library and prints (one file a command).

mod attach;
mod bench;
mod doctor;
mod eval;
mod export;
mod inspect;
mod man;
mod predict;
mod runs;
mod serve;
mod train;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tunebench::config::RunConfig;
use tunebench::data::LoadOptions;
use tunebench::remote::LaunchSpec;

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
pub(crate) struct DataFlags {
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
    /// The files have no header row: name columns by 0-based index
    /// (--text-col 2 --label-col 0; --text-col 1,2 joins two columns)
    #[arg(long)]
    no_header: bool,
    /// The split of an hf:ORG/NAME dataset to read (default train)
    #[arg(long)]
    split: Option<String>,
}

/// The device and compute dtype of eval, predict and bench.
#[derive(clap::Args, Clone)]
pub(crate) struct ComputeFlags {
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Compute dtype: f32, bf16 or f16
    #[arg(long, default_value = "f32")]
    precision: tunebench::config::Precision,
}

impl ComputeFlags {
    /// A checkpoint (or a LoRA adapter on `base`) on this device and dtype.
    pub(crate) fn load(
        &self,
        checkpoint: &std::path::Path,
        base: Option<&std::path::Path>,
    ) -> anyhow::Result<tunebench::predict::Predictor> {
        let device = tunebench::device::open(&self.device, 0)?;
        Ok(
            tunebench::predict::Predictor::load_with_base(checkpoint, base, &device)?
                .with_precision(self.precision),
        )
    }
}

/// Where a run's data, model and hyperparameters come from.
#[derive(clap::Args, Clone, Default)]
struct SourceFlags {
    /// Training data: .csv, .tsv, .jsonl, .parquet or
    /// hf:ORG/NAME[:CONFIG] from the HF cache (the TUI defaults to the bundled reviews)
    #[arg(long)]
    data: Option<PathBuf>,
    /// Validation data (default: a stratified split of --data)
    #[arg(long)]
    val: Option<PathBuf>,
    /// Local HF dir, hub id (from the HF cache) or scratch:tiny|mini|small
    #[arg(long)]
    model: Option<String>,
    /// A run.toml with hyperparameters (the TUI form's `w`/`L` save/load it)
    #[arg(long)]
    config: Option<PathBuf>,
    /// Label corrections (relabel/keep/drop by line) applied to --data on
    /// load; the TUI's dataset pane writes them beside the corpus
    #[arg(long, value_name = "FILE")]
    corrections: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// The interactive workbench (the default)
    Tui {
        #[command(flatten)]
        source: SourceFlags,
        /// Checkpoint the playground uses when no run is active
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Base model of a peft LoRA adapter directory (default: the
        /// adapter's base_model_name_or_path)
        #[arg(long)]
        base: Option<PathBuf>,
        /// Plain chart markers for fonts without braille
        #[arg(long)]
        plain_markers: bool,
        /// Where new runs go ($TUNEBENCH_RUNS_DIR, else runs)
        #[arg(long, default_value_os_t = tunebench::run_dir::default_runs_dir())]
        runs_dir: PathBuf,
        /// Suspect labels for the dataset pane (key i), from
        /// `inspect --label-issues` (its label-issues.csv)
        #[arg(long, value_name = "CSV")]
        suspects: Option<PathBuf>,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Fine-tune a classifier (headless)
    Train {
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
        /// Continue the run in this directory from its latest checkpoint
        #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["data", "val", "model", "config", "corrections", "out"])]
        resume: Option<PathBuf>,
        /// Start the run process and return at once (watch it with `attach`)
        #[arg(long)]
        detach: bool,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Open a run's TUI from any shell: live with full control, or
    /// read-only when the run is over or crashed
    Attach {
        /// The run (default: the newest live run in --runs-dir)
        run_dir: Option<PathBuf>,
        /// Print progress lines instead of opening the TUI
        #[arg(long)]
        plain: bool,
        /// The runs directory ($TUNEBENCH_RUNS_DIR, else runs)
        #[arg(long, default_value_os_t = tunebench::run_dir::default_runs_dir())]
        runs_dir: PathBuf,
        /// Plain chart markers for fonts without braille
        #[arg(long)]
        plain_markers: bool,
    },
    /// List runs: status, progress, best metric, start time, duration
    Runs {
        /// The runs directory ($TUNEBENCH_RUNS_DIR, else runs)
        #[arg(long, default_value_os_t = tunebench::run_dir::default_runs_dir())]
        runs_dir: PathBuf,
        /// One JSON object per run
        #[arg(long)]
        json: bool,
    },
    /// Stop a live run, writing a checkpoint first
    Stop {
        run_dir: PathBuf,
        /// Stop without writing a checkpoint
        #[arg(long)]
        no_save: bool,
    },
    /// Pause a live run (it waits, holding its weights, until resumed)
    Pause { run_dir: PathBuf },
    /// Resume a paused run
    Resume { run_dir: PathBuf },
    /// The run process (started by train/tui; not for direct use)
    #[command(hide = true)]
    RunEngine { run_dir: PathBuf },
    /// Evaluate a checkpoint on labelled data
    Eval {
        /// Any HF BERT/DistilBERT classifier directory, or a peft LoRA adapter
        #[arg(long)]
        checkpoint: PathBuf,
        /// Base model of a peft LoRA adapter directory (default: the
        /// adapter's base_model_name_or_path)
        #[arg(long)]
        base: Option<PathBuf>,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
        format: EvalFormat,
        /// Write every row's prediction to this CSV
        #[arg(long)]
        predictions: Option<PathBuf>,
        #[command(flatten)]
        compute: ComputeFlags,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Write a checkpoint as a plain HF classifier dir (LoRA merged in)
    Export {
        #[arg(long)]
        checkpoint: PathBuf,
        /// Merge LoRA adapters into the weights (a LoRA checkpoint's
        /// model.safetensors already holds them merged; the adapter files
        /// are left out)
        #[arg(long)]
        merge: bool,
        /// Base model of a peft LoRA adapter directory (default: the
        /// adapter's base_model_name_or_path)
        #[arg(long)]
        base: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve a checkpoint over HTTP (TEI-compatible /predict, /info,
    /// /health, /metrics, and /v1/classify)
    Serve(serve::ServeArgs),
    /// Load-test a running server: req/s and p50/p90/p99 latency at
    /// several concurrencies, short and long texts (loopback only)
    BenchServe(serve::BenchServeArgs),
    /// Time one sentence's token attributions (Integrated Gradients) on
    /// a checkpoint, in process (JSON)
    BenchExplain(bench::BenchExplainArgs),
    /// Predict labels for texts
    Predict {
        #[arg(long)]
        checkpoint: PathBuf,
        /// Base model of a peft LoRA adapter directory (default: the
        /// adapter's base_model_name_or_path)
        #[arg(long)]
        base: Option<PathBuf>,
        /// Texts to classify
        texts: Vec<String>,
        /// A file of texts: one per line (.txt) or a .csv/.tsv/.jsonl
        #[arg(long)]
        input: Option<PathBuf>,
        #[command(flatten)]
        output: predict::OutputFlags,
        #[command(flatten)]
        compute: ComputeFlags,
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
        /// Batches timed for evaluation (0: skip)
        #[arg(long, default_value_t = 8)]
        eval_batches: usize,
        /// Single sentences timed for latency (0: skip)
        #[arg(long, default_value_t = 50)]
        predict_runs: usize,
        #[command(flatten)]
        compute: ComputeFlags,
        /// Run one case (MODEL:LEN) in this process; the suite runs each
        /// case in its own process so peak memory is per case
        #[arg(long, hide = true)]
        case: Option<String>,
    },
    /// Check this setup (terminal, CPU, CUDA, runs dir, disk, HF cache)
    /// and say what to fix
    Doctor {
        /// The runs directory ($TUNEBENCH_RUNS_DIR, else runs)
        #[arg(long, default_value_os_t = tunebench::run_dir::default_runs_dir())]
        runs_dir: PathBuf,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) to stdout; with --dir, write it and one
    /// page per subcommand (tunebench-train.1, ...) there
    Man {
        /// Where to write every page, e.g. ~/.local/share/man/man1
        #[arg(long)]
        dir: Option<PathBuf>,
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
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EvalFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PredictFormat {
    Jsonl,
    Csv,
    Table,
}

/// The clap command with `--version`'s long text (commit, features, CPU).
pub(crate) fn cli_command() -> clap::Command {
    use clap::CommandFactory;
    let long: &'static str = Box::leak(tunebench::build_info::long_version().into_boxed_str());
    Cli::command().long_version(long)
}

pub fn main() -> ExitCode {
    use clap::FromArgMatches;
    let cli = match Cli::from_arg_matches(&cli_command().get_matches()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let bad_input = e.chain().any(|c| {
                c.downcast_ref::<tunebench::Error>()
                    .is_some_and(|e| e.is_bad_input())
                    || c.downcast_ref::<tunebench::data::DataError>().is_some()
                    || c.downcast_ref::<tunebench::config::ConfigError>().is_some()
                    || c.downcast_ref::<tunebench::remote::LaunchError>()
                        .is_some_and(|e| e.bad_input)
            });
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

/// The error and its causes joined by ": ", each said once: our errors
/// already print their I/O cause ("x.csv: cannot read: No such file"), which
/// anyhow's `{:#}` repeated as the next link of the chain.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Cmd::Tui {
        source: SourceFlags::default(),
        checkpoint: None,
        base: None,
        plain_markers: false,
        runs_dir: tunebench::run_dir::default_runs_dir(),
        suspects: None,
        data_flags: DataFlags::default(),
    });
    match command {
        Cmd::Tui {
            source:
                SourceFlags {
                    data,
                    val,
                    model,
                    config,
                    corrections,
                },
            checkpoint,
            base,
            plain_markers,
            runs_dir,
            suspects,
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
            if corrections.is_some() {
                cfg.corrections = corrections;
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
                base,
                plain_markers,
                runs_dir,
                attach: None,
                suspects,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Train {
            source:
                SourceFlags {
                    data,
                    val,
                    model,
                    config,
                    corrections,
                },
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
            data_flags,
        } => {
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
            let (run_dir, spec) = match resume {
                Some(dir) => {
                    let mut cfg = tunebench::run_dir::RunDir::read_config(&dir)?.config;
                    overrides(&mut cfg)?;
                    cfg.validate()?;
                    (
                        dir,
                        LaunchSpec {
                            resume: true,
                            config: cfg,
                        },
                    )
                }
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
                    if corrections.is_some() {
                        cfg.corrections = corrections;
                    }
                    apply_data_flags(&mut cfg, &data_flags);
                    overrides(&mut cfg)?;
                    cfg.validate()?;
                    let out = out.unwrap_or_else(|| default_run_dir(&cfg.model));
                    (
                        out,
                        LaunchSpec {
                            resume: false,
                            config: cfg,
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
            train::follow(client, &run_dir, true)
        }
        Cmd::Attach {
            run_dir,
            plain,
            runs_dir,
            plain_markers,
        } => attach::attach_cmd(run_dir, plain, &runs_dir, plain_markers),
        Cmd::Runs { runs_dir, json } => runs::runs_cmd(&runs_dir, json),
        Cmd::Stop { run_dir, no_save } => runs::send_cmd(
            &run_dir,
            tunebench::protocol::Command::Stop { save: !no_save },
        ),
        Cmd::Pause { run_dir } => runs::send_cmd(&run_dir, tunebench::protocol::Command::Pause),
        Cmd::Resume { run_dir } => runs::send_cmd(&run_dir, tunebench::protocol::Command::Resume),
        Cmd::RunEngine { run_dir } => {
            init_file_logging(&run_dir.join("train.log"));
            let code = tunebench::remote::process::run_engine(&run_dir);
            Ok(ExitCode::from(code as u8))
        }
        Cmd::Eval {
            checkpoint,
            base,
            data,
            format,
            predictions,
            compute,
            data_flags,
        } => eval::eval_cmd(
            &checkpoint,
            base.as_deref(),
            &data,
            format,
            predictions.as_deref(),
            &compute,
            &data_flags,
        ),
        Cmd::Export {
            checkpoint,
            merge,
            base,
            out,
        } => export::export_cmd(&checkpoint, merge, base.as_deref(), &out),
        Cmd::Serve(args) => serve::serve_cmd(args),
        Cmd::BenchServe(args) => serve::bench_serve_cmd(args),
        Cmd::BenchExplain(args) => bench::bench_explain_cmd(args),
        Cmd::Predict {
            checkpoint,
            base,
            texts,
            input,
            output,
            compute,
            data_flags,
        } => predict::predict_cmd(
            &checkpoint,
            base.as_deref(),
            texts,
            input.as_deref(),
            &output,
            &compute,
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
            eval_batches,
            predict_runs,
            compute,
            case,
        } => {
            let opts = tunebench::bench::BenchOptions {
                data,
                minilm_dir,
                batch,
                threads,
                warmup_steps: warmup,
                steps,
                eval_batches,
                predict_runs,
                device: compute.device,
                precision: compute.precision,
            };
            bench::bench_cmd(&models, &lens, case.as_deref(), &opts)
        }
        Cmd::Doctor { runs_dir } => doctor::doctor_cmd(&runs_dir),
        Cmd::Completions { shell } => {
            let mut cmd = cli_command();
            clap_complete::generate(shell, &mut cmd, "tunebench", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Man { dir } => man::man_pages(dir.as_deref()),
        Cmd::Inspect {
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
        } => {
            let source = if let Some(run) = label_issues_from {
                Some(inspect::IssueSource::Run(run))
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
                Some(inspect::IssueSource::Folds {
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
                Some(source) => inspect::label_issues_cmd(
                    &data,
                    source,
                    out.as_deref(),
                    &data_flags,
                    corrections.as_deref(),
                ),
                None => inspect::inspect_cmd(
                    &data,
                    model.as_deref(),
                    max_len,
                    json,
                    &data_flags,
                    corrections.as_deref(),
                ),
            }
        }
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
            include_str!("../../sample-data/reviews/train.csv"),
        ),
        (
            "heldout.csv",
            include_str!("../../sample-data/reviews/heldout.csv"),
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
    let demo: RunConfig = toml::from_str(DEMO_CONFIG).context("assets/presets/demo.toml")?;
    Ok(RunConfig {
        train_file: Some(train),
        val_file: Some(heldout),
        ..demo
    })
}

/// The demo's settings (compiled in, so the binary works anywhere).
const DEMO_CONFIG: &str = include_str!("../../assets/presets/demo.toml");

fn apply_data_flags(cfg: &mut RunConfig, f: &DataFlags) {
    if f.text_col.is_some() {
        cfg.text_col = f.text_col.clone();
    }
    if f.label_col.is_some() {
        cfg.label_col = f.label_col.clone();
    }
    cfg.lossy_utf8 |= f.lossy_utf8;
    cfg.skip_empty |= f.skip_empty;
    cfg.no_header |= f.no_header;
    if f.split.is_some() {
        cfg.hf_split = f.split.clone();
    }
}

pub(crate) use tunebench::data::fit_width;

pub(crate) fn load_opts(f: &DataFlags, require_label: bool) -> LoadOptions {
    LoadOptions {
        text_col: f.text_col.clone(),
        label_col: f.label_col.clone(),
        lossy_utf8: f.lossy_utf8,
        skip_empty: f.skip_empty,
        require_label,
        no_header: f.no_header,
        hf_split: f.split.clone(),
    }
}

fn default_run_dir(model: &str) -> PathBuf {
    tunebench::run_dir::default_runs_dir().join(tunebench::run_dir::run_name(model))
}

pub(crate) fn init_file_logging(path: &Path) {
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
