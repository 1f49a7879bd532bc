//! `tunebench bench`: the speed suite, each case in its own process.

use super::ComputeFlags;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Models: tiny, mini (BERT-tiny/mini shapes), minilm (all-MiniLM-L6-v2)
    #[arg(long, value_delimiter = ',', default_values_t = tunebench::bench::MODELS.iter().map(|s| s.to_string()))]
    models: Vec<String>,
    /// Sequence lengths in tokens to time (comma-separated)
    #[arg(long, value_delimiter = ',', default_values_t = tunebench::bench::LENGTHS.to_vec())]
    lens: Vec<usize>,
    /// Rows per batch
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
    /// Untimed training steps first (allocation, kernel choice)
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed training steps
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
    /// What the training steps fit: classify (a label a row) or mlm
    /// (masked-LM pretraining: blocks of LEN pieces, whole-word masking;
    /// training only, bench/mlm_speed.py is its PyTorch side)
    #[arg(long, default_value = "classify", value_parser = ["classify", "mlm"])]
    objective: String,
    /// Run one case (MODEL:LEN) in this process; the suite runs each
    /// case in its own process so peak memory is per case
    #[arg(long, hide = true)]
    case: Option<String>,
}

/// `tunebench bench`: the speed suite, one process per case.
pub(crate) fn bench_suite_cmd(a: BenchArgs) -> anyhow::Result<ExitCode> {
    let opts = tunebench::bench::BenchOptions {
        data: a.data,
        minilm_dir: a.minilm_dir,
        batch: a.batch,
        threads: a.threads,
        warmup_steps: a.warmup,
        steps: a.steps,
        eval_batches: a.eval_batches,
        predict_runs: a.predict_runs,
        device: a.compute.device,
        precision: a.compute.precision,
    };
    bench_cmd(&a.models, &a.lens, a.case.as_deref(), &a.objective, &opts)
}

fn bench_cmd(
    models: &[String],
    lens: &[usize],
    case: Option<&str>,
    objective: &str,
    opts: &tunebench::bench::BenchOptions,
) -> anyhow::Result<ExitCode> {
    for (what, path) in [("--data", &opts.data), ("--minilm-dir", &opts.minilm_dir)] {
        if !path.exists() {
            return Err(
                tunebench::Error::Config(tunebench::config::ConfigError::field(
                    if what == "--data" {
                        "data"
                    } else {
                        "minilm_dir"
                    },
                    format!(
                        "{what} {} does not exist (models: ../shared/tools/get-models.sh)",
                        path.display()
                    ),
                ))
                .into(),
            );
        }
    }
    if let Some(case) = case {
        let (model, len) = case.split_once(':').context("--case MODEL:LEN")?;
        let result = if objective == "mlm" {
            tunebench::bench::run_mlm_case(model, len.parse()?, opts)?
        } else {
            tunebench::bench::run_case(model, len.parse()?, opts)?
        };
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
                .args(["--objective", objective])
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
                .args(["--eval-batches", &opts.eval_batches.to_string()])
                .args(["--predict-runs", &opts.predict_runs.to_string()])
                .args(["--device", &opts.device])
                .args(["--precision", opts.precision.name()])
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

/// `tunebench bench-explain`: the latency of one sentence's Integrated
/// Gradients on a checkpoint, timed in this process (model load and
/// tokenizer warm-up excluded), as bench/explain_latency.py compares it
/// with Captum.
#[derive(clap::Args)]
pub(crate) struct BenchExplainArgs {
    #[command(flatten)]
    model: super::ModelRef,
    /// Base model of a peft adapter directory
    #[arg(long)]
    base: Option<std::path::PathBuf>,
    /// The sentence to explain
    #[arg(
        long,
        default_value = "a gorgeous , moving film whose quiet middle act drags a little before a fine ending"
    )]
    text: String,
    /// Integration steps
    #[arg(long, default_value_t = tunebench::protocol::DEFAULT_STEPS as u16, value_parser = clap::value_parser!(u16).range(1..))]
    steps: u16,
    /// Timed runs (after 2 untimed ones)
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    runs: u16,
    /// Explain on the weights as a training run holds them (every one
    /// trainable), as the playground does during a run
    #[arg(long, conflicts_with = "base")]
    live: bool,
    #[command(flatten)]
    compute: super::ComputeFlags,
}

#[derive(serde::Serialize)]
struct ExplainLatency {
    implementation: &'static str,
    tokens: usize,
    steps: usize,
    runs: usize,
    threads: usize,
    live: bool,
    explain_ms_median: f64,
    explain_ms_min: f64,
    explain_ms_p90: f64,
    delta: f32,
}

pub(crate) fn bench_explain_cmd(args: BenchExplainArgs) -> anyhow::Result<ExitCode> {
    let checkpoint = super::checkpoint_dir(args.model.spec())?;
    let mut predictor = args.compute.load(&checkpoint, args.base.as_deref())?;
    if args.live {
        // As a training run holds it: every weight trainable.
        predictor.model = predictor.model.rebuilt(tunebench::config::Freeze::None)?;
    }
    let explain = || {
        tunebench::explain::integrated_gradients(
            &predictor.model,
            &predictor.text,
            &args.text,
            None,
            args.steps.into(),
        )
    };
    let mut last = explain()?;
    explain()?;
    let mut times = Vec::with_capacity(args.runs.into());
    for _ in 0..args.runs {
        let t0 = std::time::Instant::now();
        last = explain()?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let result = ExplainLatency {
        implementation: "tunebench",
        tokens: last.tokens.len(),
        steps: last.steps,
        runs: args.runs.into(),
        threads: rayon::current_num_threads(),
        live: args.live,
        explain_ms_median: tunebench::bench::percentile(&times, 0.5),
        explain_ms_min: times[0],
        explain_ms_p90: tunebench::bench::percentile(&times, 0.9),
        delta: last.delta,
    };
    println!("{}", serde_json::to_string(&result)?);
    Ok(ExitCode::SUCCESS)
}
