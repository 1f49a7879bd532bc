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
