//! The command line's shape: every subcommand and flag, as clap reads them
//! (`--help`, completions and man pages come from here too).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use tunebench::config::RunConfig;

#[derive(Parser)]
#[command(
    name = "tunebench",
    version,
    about = "Fine-tune BERT-family text classifiers with candle"
)]
pub(crate) struct Cli {
    /// Without a subcommand: the TUI on the bundled sample corpus.
    #[command(subcommand)]
    pub(crate) command: Option<Cmd>,
}

#[derive(clap::Args, Clone, Default)]
pub(crate) struct DataFlags {
    /// How the text is read (predict's flags, shared).
    #[command(flatten)]
    pub(crate) input: InputFlags,
    /// Column holding the label (default: label, labels, class, sentiment...;
    /// a 0-based index with --no-header)
    #[arg(long)]
    pub(crate) label_col: Option<String>,
    /// Multi-label in one 0/1 column per label: names (toxic,insult) or a
    /// prefix (label_*)
    #[arg(long)]
    pub(crate) label_cols: Option<String>,
    /// Separator of several labels in one cell (default: |, , or ;)
    #[arg(long)]
    pub(crate) label_sep: Option<String>,
    /// What a label is: single_label, multi_label or regression
    /// (default: found from the data)
    #[arg(long)]
    pub(crate) task: Option<tunebench::data::Task>,
    /// The label set, one name a line: integer labels index it
    #[arg(long)]
    pub(crate) label_names: Option<PathBuf>,
    /// CoNLL files: the 0-based column of the tag (default: the last)
    #[arg(long)]
    pub(crate) tag_col: Option<usize>,
    /// The tags' scheme: iob1, iob2 (bio), bioes or io (default: found)
    #[arg(long)]
    pub(crate) tag_scheme: Option<tunebench::data::tags::Scheme>,
    /// Make an I-X that opens a mention in IOB2 a B-X (counted) instead
    /// of an error
    #[arg(long)]
    pub(crate) lenient_tags: bool,
    /// Use N rows of the data (seeded, stratified by label): a quick try
    /// of an idea (train: the same as --set max_rows=N)
    #[arg(long, value_name = "N")]
    pub(crate) max_rows: Option<usize>,
}

/// How a file's texts are read: all `predict --input` takes (no labels,
/// no tags), and the first part of every data reader's flags.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct InputFlags {
    /// Column holding the text (default: text, sentence, review, content...)
    #[arg(long)]
    pub(crate) text_col: Option<String>,
    /// Replace invalid UTF-8 bytes instead of failing
    #[arg(long)]
    pub(crate) lossy_utf8: bool,
    /// Drop rows with empty text instead of failing
    #[arg(long)]
    pub(crate) skip_empty: bool,
    /// The files have no header row: name columns by 0-based index
    /// (--text-col 2; --text-col 1,2 joins two columns)
    #[arg(long)]
    pub(crate) no_header: bool,
    /// The split of an hf:ORG/NAME dataset to read (default train)
    #[arg(long)]
    pub(crate) split: Option<String>,
}

impl InputFlags {
    /// As the data flags every reader takes.
    pub(crate) fn as_data_flags(&self) -> DataFlags {
        DataFlags {
            input: self.clone(),
            ..DataFlags::default()
        }
    }
}

/// The model a command reads: first positional argument, or `--checkpoint`
/// (kept for scripts), named as everywhere else.
#[derive(clap::Args, Clone)]
pub(crate) struct ModelRef {
    /// The model: a checkpoint or HF classifier directory, a peft adapter
    /// (LoRA, DoRA, IA3), a run directory or a run name (as `tunebench runs`
    /// lists it; its best/, else its newest checkpoint), each with an
    /// optional @best, @latest or @step-N
    #[arg(value_name = "MODEL", required_unless_present = "checkpoint")]
    model: Option<PathBuf>,
    /// The same as MODEL, as a flag
    #[arg(long, value_name = "MODEL", conflicts_with = "model")]
    checkpoint: Option<PathBuf>,
}

impl ModelRef {
    /// The reference as given.
    pub(crate) fn spec(&self) -> &std::path::Path {
        self.model
            .as_deref()
            .or(self.checkpoint.as_deref())
            .expect("clap requires one")
    }
}

/// The device and compute dtype of eval, predict and bench.
#[derive(clap::Args, Clone)]
pub(crate) struct ComputeFlags {
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    pub(crate) device: String,
    /// f32; bf16 (CPU: bf16 weights, f32 activations; GPU: compute dtype);
    /// f16; int8 (CPU: dynamic quantization of the encoder's linears)
    #[arg(long, default_value = "f32")]
    pub(crate) precision: tunebench::config::InferencePrecision,
}

impl ComputeFlags {
    /// Whether this precision packs the encoder's weights into a lower
    /// precision (int8; bf16 on the CPU), so its answers are worth checking
    /// against f32.
    pub(crate) fn packs(&self) -> bool {
        use tunebench::model::quant::{pack_kind, PackKind};
        pack_kind(self.precision, self.device == "cpu").is_some_and(|k| k != PackKind::F32)
    }

    /// A checkpoint (or a LoRA adapter on `base`) on this device and dtype.
    pub(crate) fn load(
        &self,
        checkpoint: &std::path::Path,
        base: Option<&std::path::Path>,
    ) -> anyhow::Result<tunebench::predict::Predictor> {
        let device = tunebench::device::open(&self.device, 0)?;
        Ok(
            tunebench::predict::Predictor::load_with_base(checkpoint, base, &device)?
                .with_precision(self.precision)?,
        )
    }
}

/// Where a run's data, model and hyperparameters come from.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct SourceFlags {
    /// Training data: .csv, .tsv, .jsonl, .parquet, hf:ORG/NAME[:CONFIG]
    /// from the HF cache, or a bundled corpus: sample:reviews,
    /// sample:tickets, sample:chinese (the TUI defaults to sample:reviews)
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Validation data (default: a stratified split of --data)
    #[arg(long)]
    pub(crate) val: Option<PathBuf>,
    /// Local HF dir, hub id (from the HF cache) or scratch:tiny|mini|small
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// A run.toml with hyperparameters (the TUI form's `w`/`L` save/load it)
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Label corrections (relabel/keep/drop by line) applied to --data on
    /// load; the TUI's dataset pane writes them beside the corpus
    #[arg(long, value_name = "FILE")]
    pub(crate) corrections: Option<PathBuf>,
    /// Labels given in a labelling session (its labels.csv), applied to
    /// --data's rows by line; rows left without a label are not trained on
    #[arg(long, value_name = "FILE")]
    pub(crate) labels: Option<PathBuf>,
}

impl SourceFlags {
    /// Put the flags into `cfg` (a config file's, or the default). With
    /// `data_drops_val`, `--data` without `--val` also drops the config's
    /// validation file (the TUI's demo names one for its own corpus).
    pub(crate) fn apply(self, cfg: &mut RunConfig, data_flags: &DataFlags, data_drops_val: bool) {
        let new_data = self.data.is_some();
        // A bundled corpus validates on its own held-out file.
        let sample_val = self
            .data
            .as_deref()
            .and_then(tunebench::data::samples::heldout_of);
        let val_given = self.val.is_some();
        if new_data {
            cfg.train_file = self.data;
        }
        if val_given || (new_data && data_drops_val) {
            cfg.val_file = self.val;
        }
        if new_data && !val_given && sample_val.is_some() {
            cfg.val_file = sample_val;
        }
        if let Some(m) = self.model {
            cfg.model = m;
        }

        if self.corrections.is_some() {
            cfg.corrections = self.corrections;
        }
        if self.labels.is_some() {
            cfg.labels = self.labels;
        }
        super::apply_data_flags(cfg, data_flags);
    }
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
    /// The interactive workbench (the default)
    Tui(super::tui::TuiArgs),
    /// Fine-tune a classifier (headless)
    Train(super::train::TrainArgs),
    /// Search hyperparameters: the config's [search] table sampled by TPE
    /// (Optuna's), each trial a run, losers pruned, the best kept as
    /// SWEEP/best; the study in Optuna's journal format
    Sweep(super::sweep::SweepArgs),
    /// Open a run's TUI from any shell: live with full control, or
    /// read-only when the run is over or crashed
    Attach {
        /// The run: its directory, or its name in --runs-dir (default: the
        /// newest live run there)
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
        /// Also list failed runs and runs that never trained a step
        #[arg(long)]
        all: bool,
        /// Full model paths and data files; no cutting to 100 columns
        #[arg(long)]
        wide: bool,
    },
    /// Remove runs (never a live one): by name, failed or empty ones, or
    /// those older than a duration
    Rm {
        /// The runs: directories or names as `tunebench runs` lists them
        runs: Vec<PathBuf>,
        /// Every failed run and every run that never trained a step
        #[arg(long)]
        failed: bool,
        /// Runs that ended longer ago than this: 30m, 12h, 7d, 2w
        #[arg(long, value_name = "AGE", value_parser = super::rm::parse_age)]
        older_than: Option<u64>,
        /// Say what would be removed, remove nothing
        #[arg(long)]
        dry_run: bool,
        /// The runs directory ($TUNEBENCH_RUNS_DIR, else runs)
        #[arg(long, default_value_os_t = tunebench::run_dir::default_runs_dir())]
        runs_dir: PathBuf,
    },
    /// Stop a live run, writing a checkpoint first
    Stop {
        /// The run: its directory, or its name in $TUNEBENCH_RUNS_DIR (else
        /// runs), as `tunebench runs` lists it
        run_dir: PathBuf,
        /// Stop without writing a checkpoint
        #[arg(long)]
        no_save: bool,
    },
    /// Pause a live run (it waits, holding its weights, until resumed)
    Pause {
        /// The run: its directory, or its name in $TUNEBENCH_RUNS_DIR (else
        /// runs), as `tunebench runs` lists it
        run_dir: PathBuf,
    },
    /// Resume a paused run
    Resume {
        /// The run: its directory, or its name in $TUNEBENCH_RUNS_DIR (else
        /// runs), as `tunebench runs` lists it
        run_dir: PathBuf,
    },
    /// The run process (started by train/tui; not for direct use)
    #[command(hide = true)]
    RunEngine { run_dir: PathBuf },
    /// Evaluate a checkpoint on labelled data
    Eval {
        #[command(flatten)]
        model: ModelRef,
        /// Base model of a peft adapter directory (default: the
        /// adapter's base_model_name_or_path)
        #[arg(long)]
        base: Option<PathBuf>,
        /// Labelled data: a file, hf:ORG/NAME or sample:NAME/heldout
        #[arg(long)]
        data: PathBuf,
        /// A table to read, or one JSON object
        #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
        format: EvalFormat,
        /// Write every row's prediction to this CSV
        #[arg(long)]
        predictions: Option<PathBuf>,
        /// Token classification: score entities in seqeval's strict IOB2
        /// mode (default: its conlleval-like default mode)
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        compute: ComputeFlags,
        #[command(flatten)]
        data_flags: DataFlags,
    },
    /// Write a checkpoint as a plain HF classifier dir (adapters merged in)
    Export {
        #[command(flatten)]
        model: ModelRef,
        /// Merge LoRA, DoRA or IA3 adapters into the weights (an adapter checkpoint's
        /// model.safetensors already holds them merged; the adapter files
        /// are left out)
        #[arg(long)]
        merge: bool,
        /// Base model of a peft adapter directory (default: the
        /// adapter's base_model_name_or_path)
        #[arg(long)]
        base: Option<PathBuf>,
        /// The directory to write (config.json, model.safetensors,
        /// tokenizer.json...); made if missing
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve a checkpoint over HTTP (TEI-compatible /predict, /info,
    /// /health, /metrics, and /v1/classify)
    Serve(super::serve::ServeArgs),
    /// Load-test a running server: req/s and p50/p90/p99 latency at
    /// several concurrencies, short and long texts (loopback only)
    BenchServe(super::serve::BenchServeArgs),
    /// Time one sentence's token attributions (Integrated Gradients) on
    /// a checkpoint, in process (JSON)
    BenchExplain(super::bench::BenchExplainArgs),
    /// Predict labels for texts
    Predict {
        /// The model, as a flag (else the first positional argument is it)
        #[arg(long, value_name = "MODEL")]
        checkpoint: Option<PathBuf>,
        /// Base model of a peft adapter directory (default: the
        /// adapter's base_model_name_or_path)
        #[arg(long)]
        base: Option<PathBuf>,
        /// The model, then the texts to classify: the model is a
        /// checkpoint or HF classifier directory, a peft adapter, a run
        /// directory or a run name, each with an optional @best, @latest or
        /// @step-N (`predict sst2-l3 "great film"`); with --checkpoint,
        /// all are texts
        #[arg(value_name = "MODEL] [TEXT")]
        texts: Vec<String>,
        /// A file of texts: one per line (.txt) or a .csv/.tsv/.jsonl
        #[arg(long)]
        input: Option<PathBuf>,
        #[command(flatten)]
        output: super::predict::OutputFlags,
        #[command(flatten)]
        compute: ComputeFlags,
        #[command(flatten)]
        input_flags: InputFlags,
    },
    /// Benchmark training, evaluation and prediction speed (JSON lines)
    Bench(super::bench::BenchArgs),
    /// Check this setup (terminal, CPU, CUDA, runs dir, disk, HF cache)
    /// and say what to fix
    Doctor {
        /// The runs directory ($TUNEBENCH_RUNS_DIR, else runs)
        #[arg(long, default_value_os_t = tunebench::run_dir::default_runs_dir())]
        runs_dir: PathBuf,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout; with --dir, write it and one
    /// page per subcommand (tunebench-train.1, ...) there
    Man {
        /// Where to write every page, e.g. ~/.local/share/man/man1
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Describe a corpus: label balance, duplicates, conflicts, lengths
    Inspect(super::inspect::InspectArgs),
    /// Label a pool with the model's help (active learning): the rows it
    /// is least sure of first, retrained in the background after every
    /// batch; `label simulate` measures how many labels a strategy saves
    Label(Box<super::label::LabelArgs>),
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
    let long: &'static str = Box::leak(
        tunebench::build_info::long_version(&tunebench::model::quant::kernel_report())
            .into_boxed_str(),
    );
    let keys: &'static str = Box::leak(tunebench::config::keys_help_text().into_boxed_str());
    Cli::command()
        .long_version(long)
        .mut_subcommand("train", |train| train.after_long_help(keys))
}

#[cfg(test)]
mod tests {
    /// Every flag and argument of every command, with its command's path,
    /// that has no help line.
    fn without_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && !arg.is_hide_set() && arg.get_help().is_none() {
                out.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            if !sub.is_hide_set() && sub.get_name() != "help" {
                if sub.get_about().is_none() {
                    out.push(format!("{path} {} (the command)", sub.get_name()));
                }
                without_help(sub, &format!("{path} {}", sub.get_name()), out);
            }
        }
    }

    #[test]
    fn every_command_and_flag_has_a_help_line() {
        let mut missing = Vec::new();
        without_help(&super::cli_command(), "tunebench", &mut missing);
        assert!(missing.is_empty(), "no help: {missing:#?}");
    }

    #[test]
    fn predict_lists_only_its_own_flags() {
        let cmd = super::cli_command();
        let predict = cmd.find_subcommand("predict").unwrap();
        let ids: Vec<&str> = predict
            .get_arguments()
            .map(|a| a.get_id().as_str())
            .collect();
        for training_only in ["tag_scheme", "lenient_tags", "strict", "label_col", "task"] {
            assert!(!ids.contains(&training_only), "{training_only} in {ids:?}");
        }
        assert!(ids.contains(&"text_col"));
    }
}
