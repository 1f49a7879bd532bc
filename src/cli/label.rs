//! `tunebench label`: active learning. Plain `label` opens the labelling
//! workbench on a pool (a session directory that `--resume` continues);
//! `label simulate` plays it against a labeled corpus (labels hidden,
//! revealed as asked) and measures how many labels each query strategy
//! saves against random.

use super::{DataFlags, SourceFlags};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tunebench::config::RunConfig;
use tunebench::label::simulate::{simulate, SavedSimulation, SimProgress, SimulateOptions};
use tunebench::label::strategy::Strategy;

#[derive(clap::Subcommand)]
pub(crate) enum LabelCmd {
    /// Measure query strategies on a labeled corpus: its labels are hidden
    /// and revealed as each strategy asks; writes learning_curve.csv
    /// (strategy,seed,round,labels,metric,seconds) and summary.json
    Simulate(SimulateArgs),
}

#[derive(clap::Args)]
pub(crate) struct SimulateArgs {
    #[command(flatten)]
    source: SourceFlags,
    /// Query strategies, comma-separated: breaking_ties, entropy,
    /// least_confidence, random, diverse; binary_entropy (or random) for a
    /// multi-label corpus
    #[arg(long, value_delimiter = ',', default_value = "breaking_ties,random")]
    strategies: Vec<Strategy>,
    /// Labeled rows before the first query (drawn at random per seed)
    #[arg(long, default_value_t = 25)]
    seed_size: usize,
    /// Rows labeled per round
    #[arg(long, default_value_t = 25)]
    query: usize,
    /// Query rounds after the seed round
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Repetitions with different seed sets
    #[arg(long, default_value_t = 3)]
    seeds: usize,
    /// Score at most this many unlabeled rows a round (a random sub-pool)
    #[arg(long, value_name = "N")]
    pool_sample: Option<usize>,
    /// Warm start: each round after the first trains this many epochs on
    /// the previous round's weights (default: a fresh model every round)
    #[arg(long, value_name = "EPOCHS")]
    warm_start: Option<usize>,
    /// Override one hyperparameter of every round's run, e.g. --set epochs=5
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Where the curves go (default: runs/<timestamp>-simulate)
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Go on with the simulation stopped in DIR, after its last finished
    /// round (its options and config are read from DIR)
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    data_flags: DataFlags,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct LabelArgs {
    #[command(subcommand)]
    cmd: Option<LabelCmd>,
    #[command(flatten)]
    session: SessionArgs,
}

/// A labelling session: a new one on a pool, or `--resume DIR`.
#[derive(clap::Args)]
pub(crate) struct SessionArgs {
    /// The pool: texts with no label (an empty label cell, or no label
    /// column at all), any format --data takes
    #[arg(long, required_unless_present = "resume")]
    data: Option<PathBuf>,
    /// Labeled rows to validate each round's model on
    #[arg(long)]
    val: Option<PathBuf>,
    /// Rows labeled before the session (any format --data takes): every
    /// round trains on them beside yours, and the first model trains on
    /// them alone as the session opens
    #[arg(long, value_name = "FILE")]
    labeled: Option<PathBuf>,
    /// Local HF dir, hub id (from the HF cache) or scratch:tiny|mini|small
    #[arg(long, default_value = "scratch:mini")]
    model: String,
    /// The labels, comma-separated, in key order (1 is the first); unset:
    /// those of --val, else of the pool's labeled rows
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    label_set: Vec<String>,
    /// A row gets a set of the labels (keys toggle them, Enter gives the
    /// set); unset: as --val (or the pool's labeled rows) show
    #[arg(long)]
    multi_label: bool,
    /// breaking_ties (default), entropy, least_confidence, random, or
    /// diverse (breaking ties among the 10×batch most uncertain rows, one
    /// per k-means cluster of their sentence vectors); for sets of labels
    /// binary_entropy (default) or random
    #[arg(long)]
    strategy: Option<Strategy>,
    /// Labels between two retraining rounds
    #[arg(long, default_value_t = 25)]
    batch: usize,
    /// Score at most this many unlabeled rows a round (0: all)
    #[arg(long, default_value_t = 0)]
    pool_sample: usize,
    /// Self-training: pool rows the latest model labels with at least this
    /// probability train the next round as pseudo-labels (pseudo.csv, apart
    /// from your labels.csv)
    #[arg(long, value_name = "THRESHOLD")]
    pseudo_label: Option<f64>,
    /// Warm start: each round after the first trains this many epochs on
    /// the last round's weights (0: every round from the base model)
    #[arg(long, value_name = "EPOCHS", default_value_t = 3)]
    warm_start: usize,
    /// Override one hyperparameter of every round's run (default:
    /// small-text's epochs=10, batch_size=12), e.g. --set epochs=5
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// The session directory (default: runs/<timestamp>-label)
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the session in this directory
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "val", "labeled", "label_set", "multi_label", "strategy", "pseudo_label", "warm_start"])]
    resume: Option<PathBuf>,
}

pub(crate) fn label_cmd(args: LabelArgs) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Some(LabelCmd::Simulate(a)) => simulate_cmd(a),
        None => session_cmd(args.session),
    }
}

fn session_cmd(args: SessionArgs) -> anyhow::Result<ExitCode> {
    use tunebench::label::session::{Session, SessionSpec};
    // small-text's defaults for a transformer: a few labels need more
    // passes than a corpus does.
    let mut base = RunConfig {
        model: args.model.clone(),
        tensorboard: false,
        epochs: 10,
        batch_size: 12,
        ..RunConfig::default()
    };
    for s in &args.set {
        base.set(s)?;
    }
    base.validate()?;
    let session = match &args.resume {
        Some(dir) => Session::open(dir)?,
        None => {
            let pool = args.data.clone().unwrap_or_default();
            let from = args
                .val
                .as_deref()
                .or(args.labeled.as_deref())
                .unwrap_or(&pool);
            let found = tunebench::label::session::labels_in(from)?;
            let labels = if args.label_set.is_empty() {
                found.names
            } else {
                args.label_set.clone()
            };
            let multi_label = args.multi_label || found.multi_label;
            let strategy = args
                .strategy
                .unwrap_or_else(|| SessionSpec::default_strategy(multi_label));
            let dir = args.out.clone().unwrap_or_else(|| {
                tunebench::run_dir::default_runs_dir()
                    .join(format!("{}-label", tunebench::run_dir::timestamp()))
            });
            Session::create(
                &dir,
                SessionSpec {
                    pool,
                    val: args.val.clone(),
                    model: args.model.clone(),
                    labels,
                    multi_label,
                    strategy: strategy.name().to_string(),
                    batch: args.batch,
                    pool_sample: args.pool_sample,
                    seed: base.seed,
                    pseudo_label: args.pseudo_label,
                    warm_epochs: (args.warm_start > 0).then_some(args.warm_start),
                    labeled: args.labeled.clone(),
                },
            )?
        }
    };
    let dir = session.dir.clone();
    let training =
        tunebench::tui::label_view::run(tunebench::tui::label_view::LabelView::new(session, base))?;
    if let Some(run) = training {
        println!(
            "a round is still training in its own process (watch it: tunebench attach {}); `label --resume` ranks the pool with it",
            run.display()
        );
    }
    println!(
        "labels saved in {}; continue with: tunebench label --resume {}; train on them with: tunebench train --data POOL --labels {}",
        dir.join("labels.csv").display(),
        dir.display(),
        dir.join("labels.csv").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn simulate_cmd(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let resume = args.resume.is_some();
    let (cfg, opts, out) = match &args.resume {
        Some(dir) => {
            let (cfg, opts) = SavedSimulation::read(dir)?;
            (cfg, opts, dir.clone())
        }
        None => new_simulation(args)?,
    };
    let names: Vec<&str> = opts.strategies.iter().map(|s| s.name()).collect();
    // Said once the simulation has checked its input and starts a round.
    let banner = format!(
        "{} {} over {} seed(s): {} seed labels, then {} rounds of {} ({}, {}); curves in {}",
        if resume {
            "going on simulating"
        } else {
            "simulating"
        },
        names.join(", "),
        opts.seeds,
        opts.seed_size,
        opts.rounds,
        opts.query,
        cfg.model,
        match opts.warm_epochs {
            Some(w) => format!(
                "{} epochs, then {w} a round on the last round's weights",
                cfg.epochs
            ),
            None => format!("{} epochs a round, each from the base model", cfg.epochs),
        },
        out.display()
    );
    let mut banner = Some(banner);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        eprintln!("\nstopping the simulation (finished rounds stay in learning_curve.csv)");
        flag.store(true, Ordering::SeqCst);
    });
    let summary = simulate(&cfg, &opts, &out, resume, |p| {
        if let Some(b) = banner.take() {
            println!("{b}");
        }
        if let SimProgress::Point(p, t) = p {
            println!(
                "{:<18} seed {} round {:>2}: {:>4} labels  {} {:.4}  ({:.1}s: train {:.1}, score {:.1}{}, query {:.2})",
                p.strategy,
                p.seed,
                p.round,
                p.labels,
                t.metric,
                p.metric,
                p.seconds,
                t.train_s,
                t.score_s,
                t.pool_precision
                    .map_or(String::new(), |p| format!(" with the pool in {p}")),
                t.query_s
            );
        }
        !stop.load(Ordering::SeqCst)
    })
    .map_err(|e| match e {
        tunebench::Error::Run(m) if m == "simulation stopped" => anyhow::anyhow!(
            "simulation stopped: the finished rounds are in {}; go on with `tunebench label simulate --resume {}`",
            out.join("learning_curve.csv").display(),
            out.display()
        ),
        e => e.into(),
    })?;
    let metric = summary.first().map_or("accuracy", |s| s.metric);
    println!("strategy            final {metric:<10}     AUC   labels to reach random's final");
    for s in &summary {
        println!(
            "{:<18} {:.4} ± {:.4}  {:.4}  {}",
            s.strategy,
            s.final_mean,
            s.final_std,
            s.normalised_auc,
            s.labels_to_reach_random
                .map_or("-".to_string(), |l| format!("{l} of {}", s.final_labels))
        );
    }
    println!(
        "wrote {} and {}",
        out.join("learning_curve.csv").display(),
        out.join("summary.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A new simulation's config, options and directory from the flags.
fn new_simulation(args: SimulateArgs) -> anyhow::Result<(RunConfig, SimulateOptions, PathBuf)> {
    let mut cfg = match &args.source.config {
        Some(p) => super::config_file(p)?,
        None => RunConfig::default(),
    };
    args.source.apply(&mut cfg, &args.data_flags, true);
    super::note_aliases(&args.set);
    for s in &args.set {
        cfg.set(s)?;
    }
    cfg.search = Default::default();
    cfg.validate()?;
    let opts = SimulateOptions {
        strategies: args.strategies,
        seed_size: args.seed_size,
        query: args.query,
        rounds: args.rounds,
        seeds: args.seeds,
        pool_sample: args.pool_sample,
        warm_epochs: args.warm_start,
    };
    let out = args.out.unwrap_or_else(|| {
        tunebench::run_dir::default_runs_dir()
            .join(format!("{}-simulate", tunebench::run_dir::timestamp()))
    });
    Ok((cfg, opts, out))
}
