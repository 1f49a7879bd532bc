//! `tunebench predict`: labels and probabilities for texts.

use super::{load_opts, DataFlags, PredictFormat};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use tunebench::config::ConfigError;
use tunebench::data::load_file;

fn invalid(field: &'static str, reason: String) -> anyhow::Error {
    ConfigError::field(field, reason).into()
}

/// How predictions are printed, and whether they are explained.
#[derive(clap::Args)]
pub(crate) struct OutputFlags {
    /// jsonl (one object a text), csv, or a table to read
    #[arg(long, value_enum, default_value_t = PredictFormat::Jsonl)]
    format: PredictFormat,
    /// Token attributions (Integrated Gradients on the word embeddings):
    /// JSONL rows gain "attributions", "words" and "delta"; the table
    /// marks words ▲ (for the label) / ▼ (against)
    #[arg(long)]
    explain: bool,
    /// Integration steps for --explain
    #[arg(long, default_value_t = tunebench::protocol::DEFAULT_STEPS as u16, requires = "explain",
          value_parser = clap::value_parser!(u16).range(1..))]
    steps: u16,
    /// Explain this label instead of the predicted one
    #[arg(long, requires = "explain")]
    target: Option<String>,
    /// Token classifiers: how pieces become entities, as transformers'
    /// pipeline aggregation_strategy (simple, first, average, max)
    #[arg(long, default_value = "simple")]
    aggregation: tunebench::entities::Aggregation,
    /// Masked-LM checkpoints (fill-mask): the likeliest pieces per mask
    #[arg(long, default_value_t = tunebench::fill_mask::DEFAULT_TOP_K as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    top_k: u16,
}

pub(crate) fn predict_cmd(
    checkpoint: &Path,
    base: Option<&Path>,
    texts: Vec<String>,
    input: Option<&Path>,
    output: &OutputFlags,
    compute: &super::ComputeFlags,
    flags: &DataFlags,
) -> anyhow::Result<ExitCode> {
    use tunebench::data::Row;
    let mut rows: Vec<Row> = texts.into_iter().map(Row::unlabelled).collect();
    let mut texts: Vec<String> = Vec::new();
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
            rows.extend(ds.rows);
        }
    }
    rows.extend(texts.into_iter().map(Row::unlabelled));

    let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
    let pairs = rows.iter().any(|r| r.text_b.is_some());
    if texts.is_empty() {
        return Err(
            tunebench::Error::Config(tunebench::config::ConfigError::field(
                "texts",
                "nothing to predict: give TEXT arguments or --input FILE",
            ))
            .into(),
        );
    }
    let format = output.format;
    if output.explain && matches!(format, PredictFormat::Csv) {
        return Err(invalid(
            "format",
            "--explain writes jsonl or table (attributions do not fit CSV columns)".into(),
        ));
    }
    if output.explain && pairs {
        return Err(invalid(
            "explain",
            "--explain explains single texts, and this input holds sentence pairs (text_b)".into(),
        ));
    }
    let predictor = compute.load(checkpoint, base)?;
    if predictor.model.config.head == tunebench::model::config::HeadKind::MaskedLm {
        if output.explain || pairs {
            return Err(invalid(
                "explain",
                "a masked-LM model fills masks in single texts: no --explain, no sentence pairs"
                    .into(),
            ));
        }
        return print_fill_mask(&predictor, &texts, usize::from(output.top_k), format);
    }
    if predictor.model.task == tunebench::data::Task::TokenClassification {
        if output.explain || pairs {
            return Err(invalid(
                "explain",
                "a token classifier tags the words of single texts: no --explain, no sentence pairs".into(),
            ));
        }
        return print_entities(&predictor, &texts, output.aggregation, format);
    }
    let target =
        tunebench::predict::explain_target(&predictor.model.labels, output.target.as_deref())?;
    let (preds, explanations): (Vec<_>, Vec<_>) = predictor
        .predict_explained(
            &rows,
            output
                .explain
                .then_some((target, usize::from(output.steps))),
        )?
        .into_iter()
        .unzip();
    print_predictions(
        output.format,
        &predictor.model.labels,
        &rows,
        &preds,
        &explanations,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Each row's prediction (and explanation) as JSONL, CSV or a table.
fn print_predictions(
    format: PredictFormat,
    labels: &tunebench::data::Labels,
    rows: &[tunebench::data::Row],
    preds: &[tunebench::protocol::Prediction],
    explanations: &[Option<tunebench::protocol::Explanation>],
) -> anyhow::Result<()> {
    let texts: Vec<&String> = rows.iter().map(|r| &r.text).collect();
    let mut stdout = std::io::stdout().lock();
    match format {
        PredictFormat::Jsonl => {
            for ((p, e), row) in preds.iter().zip(explanations).zip(rows) {
                let record = tunebench::predict::PredictionRecord::new(row, p, e.as_ref());
                writeln!(stdout, "{}", serde_json::to_string(&record)?)?;
            }
        }
        PredictFormat::Csv => {
            let mut w = csv::Writer::from_writer(stdout);
            let multi = preds.iter().any(|p| p.chosen.is_some());
            let mut header = vec!["text".to_string(), "label".into(), "score".into()];
            if multi {
                header.push("labels".into());
            }
            header.extend(labels.names().iter().map(|l| format!("p_{l}")));
            w.write_record(&header)?;
            for (t, p) in texts.iter().zip(preds) {
                let mut rec = vec![t.to_string(), p.label.clone(), format!("{:.6}", p.score)];
                if multi {
                    rec.push(p.chosen.clone().unwrap_or_default().join("|"));
                }
                rec.extend(p.probs.iter().map(|(_, x)| format!("{x:.6}")));
                w.write_record(&rec)?;
            }
            w.flush()?;
        }
        PredictFormat::Table => {
            for (t, p) in texts.iter().zip(preds) {
                match &p.chosen {
                    // Multi-label: every label over its threshold, with its probability.
                    Some(chosen) => {
                        let over: Vec<String> = p
                            .probs
                            .iter()
                            .filter(|(l, _)| chosen.contains(l))
                            .map(|(l, x)| format!("{l} {x:.3}"))
                            .collect();
                        let shown = if over.is_empty() {
                            format!("(none over threshold; top {} {:.3})", p.label, p.score)
                        } else {
                            over.join(", ")
                        };
                        writeln!(stdout, "{}  {shown}", super::fit_width(t, 60))?
                    }
                    None => writeln!(
                        stdout,
                        "{}  {} {:.3}",
                        super::fit_width(t, 60),
                        super::fit_width(&p.label, 16),
                        p.score
                    )?,
                }
            }
            for (t, e) in texts.iter().zip(explanations) {
                if let Some(e) = e {
                    writeln!(
                        stdout,
                        "\n{t}\n  why {} (p {:.3}, baseline {:.3}, delta {:.1e}): {}",
                        e.target,
                        e.prob,
                        e.baseline_prob,
                        e.delta,
                        tunebench::protocol::marked_words(&e.words)
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// A token classifier's entities for each text: JSONL `{"text",
/// "entities": [...]}` in the pipeline's shape, CSV one row an entity, or
/// the text with its entities bracketed.
fn print_entities(
    predictor: &tunebench::predict::Predictor,
    texts: &[String],
    aggregation: tunebench::entities::Aggregation,
    format: PredictFormat,
) -> anyhow::Result<ExitCode> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let found = tunebench::predict::predict_entities(
        &predictor.model,
        &predictor.text,
        &refs,
        aggregation,
    )?;
    let mut stdout = std::io::stdout().lock();
    match format {
        PredictFormat::Jsonl => {
            for (t, e) in texts.iter().zip(&found) {
                writeln!(stdout, "{}", serde_json::json!({"text": t, "entities": e}))?;
            }
        }
        PredictFormat::Csv => {
            let mut w = csv::Writer::from_writer(stdout);
            w.write_record(["text", "entity_group", "score", "word", "start", "end"])?;
            for (t, es) in texts.iter().zip(&found) {
                for e in es {
                    w.write_record([
                        t.clone(),
                        e.entity_group.clone(),
                        format!("{:.6}", e.score),
                        e.word.clone(),
                        e.start.to_string(),
                        e.end.to_string(),
                    ])?;
                }
            }
            w.flush()?;
        }
        PredictFormat::Table => {
            for (t, es) in texts.iter().zip(&found) {
                writeln!(stdout, "{}", tunebench::entities::marked(t, es))?;
                for e in es {
                    writeln!(
                        stdout,
                        "  {:<8} {:.3}  {} ({}..{})",
                        e.entity_group, e.score, e.word, e.start, e.end
                    )?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each text's masks filled: JSONL `{"text", "fill_mask": [[{token,
/// token_str, score}…] per mask]}`, CSV one row per candidate, or a table.
fn print_fill_mask(
    predictor: &tunebench::predict::Predictor,
    texts: &[String],
    top_k: usize,
    format: PredictFormat,
) -> anyhow::Result<ExitCode> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let answers = tunebench::fill_mask::fill_mask(&predictor.model, &predictor.text, &refs, top_k)?;
    let mut out = std::io::stdout().lock();
    match format {
        PredictFormat::Jsonl => {
            for (t, a) in texts.iter().zip(&answers) {
                let line = serde_json::json!({ "text": t, "fill_mask": a });
                writeln!(out, "{line}")?;
            }
        }
        PredictFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["text", "mask", "rank", "token", "token_str", "score"])?;
            for (t, a) in texts.iter().zip(&answers) {
                for (m, candidates) in a.iter().enumerate() {
                    for (rank, c) in candidates.iter().enumerate() {
                        w.write_record([
                            t.as_str(),
                            &(m + 1).to_string(),
                            &(rank + 1).to_string(),
                            &c.token.to_string(),
                            &c.token_str,
                            &format!("{:.6}", c.score),
                        ])?;
                    }
                }
            }
            w.flush()?;
        }
        PredictFormat::Table => {
            for (t, a) in texts.iter().zip(&answers) {
                writeln!(out, "{t}")?;
                for (m, candidates) in a.iter().enumerate() {
                    let list: Vec<String> = candidates
                        .iter()
                        .map(|c| format!("{} {:.3}", c.token_str.trim(), c.score))
                        .collect();
                    writeln!(out, "  mask {}: {}", m + 1, list.join(" · "))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
