//! `tunebench sweep`: search hyperparameters as the config's `[search]`
//! table says, one run process per trial, the study in Optuna's journal.

use super::{DataFlags, SourceFlags};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use tunebench::config::RunConfig;
use tunebench::sweep::driver::{INTERRUPTED, SWEEP_FILE};
use tunebench::sweep::summary::{short_float, SweepSummary};
use tunebench::sweep::{SweepError, SweepOptions, Worker};

#[derive(clap::Args)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    source: SourceFlags,
    /// Override one hyperparameter or search setting, e.g. --set lr=3e-5,
    /// --set 'search={ lr = { log_uniform = [1e-5, 1e-3] } }' (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Trials in the study, all workers together ([search] trials)
    #[arg(long)]
    trials: Option<usize>,
    /// Trials at once on this machine; the threads are split between them
    #[arg(long)]
    parallel: Option<usize>,
    /// The Optuna journal file (default: SWEEP_DIR/study.journal). Workers
    /// pointed at one file share its study.
    #[arg(long, value_name = "FILE")]
    storage: Option<PathBuf>,
    /// The study's name in the journal (default: the sweep dir's name)
    #[arg(long, value_name = "NAME")]
    study: Option<String>,
    /// Sweep directory (default: runs/<timestamp>-sweep-<model>)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the sweep in this directory (its sweep.toml); trials whose
    /// process died are marked failed
    #[arg(long, value_name = "SWEEP_DIR", conflicts_with_all = ["config", "data", "val", "model", "out"])]
    resume: Option<PathBuf>,
    /// Keep every trial's weights (default: only the best trial's)
    #[arg(long, value_name = "WHAT", value_parser = ["all", "best"], default_value = "best")]
    keep: String,
    #[command(flatten)]
    data_flags: DataFlags,
}

pub(crate) fn sweep_cmd(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let (mut cfg, dir) = match &args.resume {
        Some(dir) => {
            let dir = super::run_dir_of(dir)?;
            (RunConfig::from_toml_file(&dir.join(SWEEP_FILE))?, dir)
        }
        None => {
            let mut cfg = match &args.source.config {
                Some(p) => super::config_file(p)?,
                None => RunConfig::default(),
            };
            let model = args.source.model.clone().unwrap_or(cfg.model.clone());
            let dir = args.out.clone().unwrap_or_else(|| {
                let name = tunebench::run_dir::run_name(&format!("sweep-{}", slug(&model)));
                tunebench::run_dir::default_runs_dir().join(name)
            });
            args.source.apply(&mut cfg, &args.data_flags, false);
            (cfg, dir)
        }
    };
    super::note_aliases(&args.set);
    for s in &args.set {
        cfg.set(s)?;
    }
    if let Some(n) = args.trials {
        cfg.search.settings.trials = n.max(1);
    }
    if let Some(p) = args.parallel {
        cfg.search.settings.parallel = p.max(1);
    }
    let storage = args
        .storage
        .clone()
        .or_else(|| {
            tunebench::sweep::driver::StudyRef::read(&dir)
                .map(|r| r.storage)
                .filter(|_| args.resume.is_some())
        })
        .unwrap_or_else(|| dir.join("study.journal"));
    let study = args.study.clone().unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tunebench".into())
    });
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("stopping: the running trials save and stop (Ctrl-C again to leave them)");
    });
    let opts = SweepOptions {
        config: cfg,
        dir: dir.clone(),
        storage,
        study,
        keep_all: args.keep == "all",
        exe: tunebench::remote::launch::current_exe()?,
    };
    let worker = Worker::open(opts, Box::new(|line| println!("{line}"))).map_err(bad)?;
    println!(
        "sweep {}  (watch: tunebench attach {})",
        dir.display(),
        dir.display()
    );
    let outcome = worker.run().map_err(bad)?;
    if let Ok(summary) = SweepSummary::load(&dir) {
        print_leaderboard(&summary);
    }
    let (sample, launch, decide) = outcome.overhead.per_trial_ms();
    println!(
        "sweep overhead per trial: sampling + journal {sample:.1} ms, launch {launch:.0} ms \
         (the run process loads its model and data), report + pruning decision {decide:.1} ms"
    );
    match outcome.best {
        Some((n, v)) => {
            println!(
                "best: trial {n} ({v:.4}); its model: {}/best",
                dir.display()
            );
            println!(
                "train it again: tunebench train --config {}/best.toml",
                dir.display()
            );
        }
        None => println!("no trial completed"),
    }
    Ok(if outcome.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn slug(model: &str) -> String {
    model
        .rsplit(['/', '\\', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or("model")
        .to_string()
}

/// The user's input (a bad search, another study's layout, a file that
/// is not a journal) exits 2; anything else 1.
fn bad(e: SweepError) -> anyhow::Error {
    let bad_input = matches!(
        e,
        SweepError::BadInput(_)
            | SweepError::Journal(tunebench::sweep::journal::JournalError::Format { .. })
    );
    tunebench::remote::LaunchError {
        message: e.to_string(),
        bad_input,
    }
    .into()
}

pub(crate) fn print_leaderboard(s: &SweepSummary) {
    println!(
        "{:>5}  {:<8}  {:>8}  {:>6}  {:>6}  params",
        "trial",
        "state",
        &s.metric[..s.metric.len().min(8)],
        "step",
        "time"
    );
    for t in s.leaderboard() {
        let params: Vec<String> = t
            .params
            .iter()
            .map(|(n, v, ..)| format!("{n}={v}"))
            .collect();
        println!(
            "{:>5}  {:<8}  {:>8}  {:>6}  {:>6}  {}{}",
            t.number,
            t.state.name(),
            t.value.map(|v| format!("{v:.4}")).unwrap_or("-".into()),
            t.best_step.map(|s| s.to_string()).unwrap_or("-".into()),
            t.duration_s
                .map(|d| format!("{}s", short_float(d.round())))
                .unwrap_or("-".into()),
            params.join(" "),
            t.fail_reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        );
    }
}
