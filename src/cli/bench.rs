//! `tunebench bench`: the speed suite, each case in its own process.

use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;

pub(crate) fn bench_cmd(
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
