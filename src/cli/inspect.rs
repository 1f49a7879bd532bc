//! `tunebench inspect`: the cleaning report of a corpus.

use super::{load_opts, DataFlags};
use std::path::Path;
use std::process::ExitCode;
use tunebench::config::RunConfig;
use tunebench::data::{load_file, stats};

pub(crate) fn inspect_cmd(
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

/// One suspect row of `--label-issues-from`.
struct Suspect {
    line: u64,
    text: String,
    given: String,
    suggested: String,
    /// p(given label): the self-confidence the list is ranked by.
    confidence: f64,
    p_suggested: f64,
}

/// Rows of `data` whose label looks wrong, from a run's out-of-sample
/// predictions (its predictions.csv on the validation file).
pub(crate) fn label_issues_cmd(
    data: &Path,
    run: &Path,
    out: Option<&Path>,
    flags: &DataFlags,
) -> anyhow::Result<ExitCode> {
    let bad = |reason: String| -> anyhow::Error {
        tunebench::config::ConfigError::Invalid(vec![tunebench::config::FieldError {
            field: "label_issues_from",
            reason,
        }])
        .into()
    };
    let ds = load_file(data, &load_opts(flags, true))?;
    let path = run.join("predictions.csv");
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| {
        bad(format!(
            "{}: {e} (a run writes it when it evaluates)",
            path.display()
        ))
    })?;
    let header = rdr.headers()?.clone();
    let names: Vec<String> = header
        .iter()
        .filter_map(|h| h.strip_prefix("p_").map(String::from))
        .collect();
    let first_p = header.iter().position(|h| h.starts_with("p_")).unwrap_or(0);
    if names.len() < 2 {
        return Err(bad(format!("{}: no p_<label> columns", path.display())));
    }
    let by_line: std::collections::HashMap<u64, &str> =
        ds.rows.iter().map(|r| (r.line, r.text.as_str())).collect();
    let (mut rows, mut labels, mut probs) = (Vec::new(), Vec::new(), Vec::new());
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec?;
        let at = |c: usize| rec.get(c).unwrap_or("");
        let line: u64 = at(0).parse().map_err(|_| {
            bad(format!(
                "{}: row {}: bad line number",
                path.display(),
                i + 2
            ))
        })?;
        if by_line.get(&line) != Some(&at(1)) {
            return Err(bad(format!(
                "{} holds predictions for another file: line {line} of {} differs",
                path.display(),
                data.display()
            )));
        }
        let given = names
            .iter()
            .position(|n| n == at(2))
            .ok_or_else(|| bad(format!("{}: unknown label '{}'", path.display(), at(2))))?;
        let p: Vec<f64> = (0..names.len())
            .map(|c| at(first_p + c).parse().unwrap_or(0.0))
            .collect();
        rows.push((line, at(1).to_string()));
        labels.push(given);
        probs.push(p);
    }
    let found = tunebench::explain::label_issues::find_label_issues(&labels, &probs);
    let suspects: Vec<Suspect> = found
        .iter()
        .map(|&i| {
            let p = &probs[i];
            let best = tunebench::explain::label_issues::argmax(p);
            Suspect {
                line: rows[i].0,
                text: rows[i].1.clone(),
                given: names[labels[i]].clone(),
                suggested: names[best].clone(),
                confidence: p[labels[i]],
                p_suggested: p[best],
            }
        })
        .collect();
    println!(
        "{} of {} rows look mislabeled (confident learning on the out-of-sample predictions in {}; most suspect first)",
        suspects.len(),
        labels.len(),
        path.display()
    );
    for s in &suspects {
        let text: String = if s.text.chars().count() > 60 {
            s.text.chars().take(59).chain(['…']).collect()
        } else {
            s.text.clone()
        };
        println!(
            "line {:>6}  {:<12} → {:<12} p(given) {:.3}  {text}",
            s.line, s.given, s.suggested, s.confidence
        );
    }
    if let Some(out) = out {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "line",
            "text",
            "given",
            "suggested",
            "confidence",
            "p_suggested",
        ])?;
        for s in &suspects {
            w.write_record([
                s.line.to_string(),
                s.text.clone(),
                s.given.clone(),
                s.suggested.clone(),
                format!("{:.6}", s.confidence),
                format!("{:.6}", s.p_suggested),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        tunebench::model::checkpoint::write_atomic(out, &bytes)?;
    }
    Ok(ExitCode::SUCCESS)
}
