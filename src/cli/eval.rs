//! `tunebench eval`: metrics of a checkpoint on labelled data.

use super::{load_opts, DataFlags, EvalFormat};
use std::path::Path;
use std::process::ExitCode;
use tunebench::data::{load_file, Labels};
use tunebench::predict::evaluate;

pub(crate) fn eval_cmd(
    checkpoint: &Path,
    base: Option<&Path>,
    data: &Path,
    format: EvalFormat,
    predictions: Option<&Path>,
    compute: &super::ComputeFlags,
    flags: &DataFlags,
) -> anyhow::Result<ExitCode> {
    let predictor = compute.load(checkpoint, base)?;
    let ds = load_file(data, &load_opts(flags, true))?;
    let labels: &Labels = &predictor.model.labels;
    let ids: Vec<u32> = labels.ids_of(&ds)?.into_iter().map(|i| i as u32).collect();
    let encoded = predictor.text.encode_rows(&ds.rows)?;
    let out = evaluate(&predictor.model, predictor.text.pad_id(), &encoded, &ids)?;
    let truth: Vec<usize> = ids.iter().map(|&i| i as usize).collect();
    let scores = tunebench::train::metrics::score(labels.names(), &truth, &out.predicted);
    if let Some(path) = predictions {
        let bytes = tunebench::predict::predictions_csv(&ds.rows, labels, &truth, &out.logits)?;
        tunebench::disk::write_atomic(path, &bytes)?;
    }
    match format {
        EvalFormat::Json => println!(
            "{}",
            serde_json::json!({
                "rows": ds.rows.len(),
                "loss": out.loss,
                "accuracy": scores.accuracy,
                "macro_f1": scores.macro_f1,
                "per_class": scores.per_class,
                "confusion": scores.confusion,
                "labels": labels.names(),
            })
        ),
        EvalFormat::Table => {
            println!(
                "rows {}  loss {:.4}  accuracy {:.2}%  macro-F1 {:.2}%",
                ds.rows.len(),
                out.loss,
                scores.accuracy * 100.0,
                scores.macro_f1 * 100.0
            );
            println!(
                "{:<20} {:>9} {:>9} {:>9} {:>8}",
                "label", "precision", "recall", "f1", "support"
            );
            for c in &scores.per_class {
                println!(
                    "{} {:>9.4} {:>9.4} {:>9.4} {:>8}",
                    super::fit_width(&c.label, 20),
                    c.precision,
                    c.recall,
                    c.f1,
                    c.support
                );
            }
            println!("confusion (rows: true, columns: predicted)");
            let w = labels
                .names()
                .iter()
                .map(|l| tunebench::data::display_width(l))
                .max()
                .unwrap_or(4)
                .max(6);
            print!("{:<w$}", "");
            for l in labels.names() {
                print!(" {}", tunebench::data::pad_left(l, w));
            }
            println!();
            for (l, row) in labels.names().iter().zip(&scores.confusion) {
                print!("{}", super::fit_width(l, w));
                for c in row {
                    print!(" {c:>w$}");
                }
                println!();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
