//! `tunebench predict`: labels and probabilities for texts.

use super::{load_opts, DataFlags, PredictFormat};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use tunebench::data::load_file;

pub(crate) fn predict_cmd(
    checkpoint: &Path,
    base: Option<&Path>,
    mut texts: Vec<String>,
    input: Option<&Path>,
    format: PredictFormat,
    compute: &super::ComputeFlags,
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
    let predictor = compute.load(checkpoint, base)?;
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
