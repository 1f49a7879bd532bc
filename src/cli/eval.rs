//! `tunebench eval`: metrics of a checkpoint on labelled data.

use super::{load_opts, DataFlags, EvalFormat};
use std::path::Path;
use std::process::ExitCode;
use tunebench::data::{load_file, task, Task};
use tunebench::precision_check::PrecisionCheck;
use tunebench::protocol::{ClassMetrics, TaskScores};

#[allow(clippy::too_many_arguments)]
pub(crate) fn eval_cmd(
    checkpoint: &Path,
    base: Option<&Path>,
    data: &Path,
    format: EvalFormat,
    predictions: Option<&Path>,
    strict: bool,
    compute: &super::ComputeFlags,
    flags: &DataFlags,
) -> anyhow::Result<ExitCode> {
    let predictor = compute.load(checkpoint, base)?;
    let model = &predictor.model;
    let mut opts = load_opts(flags, true);
    // A multi-label model's rows may have no label.
    opts.empty_label_set |= model.task == Task::MultiLabel;
    let mut ds = load_file(data, &opts)?;
    super::keep_max_rows(&mut ds, flags);
    let sep = flags.label_sep.as_deref().and_then(|s| s.chars().next());
    task::read_as(model.task, &mut ds, sep, flags.label_names.as_deref())?;
    let ev = tunebench::evaluation::evaluate_dataset(
        &predictor,
        &ds,
        &tunebench::evaluation::EvalOptions {
            strict,
            check_against_f32: compute.packs().then(|| compute.precision.name()),
        },
    )?;
    if ev.cut_sentences > 0 {
        eprintln!(
            "note: {} sentences are longer than the model's {} tokens; their last words are cut and not scored",
            ev.cut_sentences,
            predictor.text.max_len()
        );
    }
    if let Some(path) = predictions {
        tunebench::disk::write_atomic(path, &ev.predictions_csv(&predictor, &ds)?)?;
    }
    let (scores, check) = (&ev.scores, ev.check.as_ref());
    if let Some(c) = check.filter(|c| c.dropped_too_much()) {
        eprintln!("warning: {}", drop_warning(c));
    }
    if let EvalFormat::Json = format {
        match ev.task_report() {
            Some(report) => println!("{}", serde_json::to_string(&report)?),
            None => println!("{}", serde_json::to_string(&ev.single_label_report())?),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(task_scores) = &scores.task {
        print_task_scores(
            ds.rows.len(),
            ev.loss,
            Decided {
                scores: task_scores,
                at_half: ev.at_half.as_ref(),
            },
            &scores.per_class,
            check,
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_single_label(&ev);
    Ok(ExitCode::SUCCESS)
}

/// A single-label evaluation as a table: totals, per label, confusion.
fn print_single_label(ev: &tunebench::evaluation::Evaluation) {
    let (scores, labels) = (&ev.scores, &ev.labels);
    println!(
        "rows {}  loss {:.4}  accuracy {:.2}%  macro-F1 {:.2}%",
        ev.rows,
        ev.loss,
        scores.accuracy * 100.0,
        scores.macro_f1 * 100.0
    );
    print_per_class("label", &scores.per_class);
    println!("confusion (rows: true, columns: predicted)");
    let w = labels
        .iter()
        .map(|l| tunebench::data::display_width(l))
        .max()
        .unwrap_or(4)
        .max(6);
    print!("{:<w$}", "");
    for l in labels {
        print!(" {}", tunebench::data::pad_left(l, w));
    }
    println!();
    for (l, row) in labels.iter().zip(&scores.confusion) {
        print!("{}", super::fit_width(l, w));
        for c in row {
            print!(" {c:>w$}");
        }
        println!();
    }
    if let Some(c) = &ev.check {
        println!("{}", check_line(c));
    }
}

/// `int8 vs f32: agreement 99.43% …, accuracy 85.21% → 84.98% (−0.23 point)`.
fn check_line(c: &PrecisionCheck) -> String {
    format!(
        "{} vs f32: agreement {:.2}% of rows, {} {:.2}% → {:.2}% ({:+.2} point)",
        c.precision,
        c.agreement * 100.0,
        c.metric,
        c.f32_value * 100.0,
        c.value * 100.0,
        c.change_points()
    )
}

fn drop_warning(c: &PrecisionCheck) -> String {
    let layer = match &c.worst_layer {
        Some((name, err)) => {
            format!("; the layer furthest from f32 is {name} (relative output error {err:.4})")
        }
        None => String::new(),
    };
    format!(
        "{} loses {:.2} points of {} on this data{layer}. Evaluate or serve this model in f32 or bf16.",
        c.precision,
        -c.change_points(),
        c.metric
    )
}

/// A task's scores, and (multi-label) the same rows decided at 0.5.
struct Decided<'a> {
    scores: &'a TaskScores,
    at_half: Option<&'a TaskScores>,
}

fn print_task_scores(
    rows: usize,
    loss: f64,
    decided: Decided,
    per_class: &[ClassMetrics],
    check: Option<&PrecisionCheck>,
) {
    let Decided { scores, at_half } = decided;
    match scores {
        TaskScores::MultiLabel {
            lrap, thresholds, ..
        } => {
            println!("rows {rows}  loss {loss:.4}  LRAP {lrap:.4}");
            print_threshold_trade(scores, at_half);
            println!(
                "{:<20} {:>9} {:>9} {:>9} {:>8} {:>9}",
                "label", "precision", "recall", "f1", "support", "threshold"
            );
            for (c, t) in per_class.iter().zip(thresholds) {
                println!(
                    "{} {:>9.4} {:>9.4} {:>9.4} {:>8} {:>9.2}",
                    super::fit_width(&c.label, 20),
                    c.precision,
                    c.recall,
                    c.f1,
                    c.support,
                    t
                );
            }
        }
        TaskScores::Regression {
            mse,
            mae,
            pearson,
            spearman,
            ..
        } => println!(
            "rows {rows}  MSE {mse:.4}  MAE {mae:.4}  Pearson {pearson:.4}  Spearman {spearman:.4}"
        ),
        TaskScores::Tokens {
            precision,
            recall,
            micro_f1,
            macro_f1,
            weighted_f1,
            token_accuracy,
            strict,
            errors,
        } => {
            println!(
                "sentences {rows}  loss {loss:.4}  entity F1 {:.2}%  precision {:.2}%  recall {:.2}%  ({})",
                micro_f1 * 100.0,
                precision * 100.0,
                recall * 100.0,
                if *strict { "seqeval strict IOB2" } else { "seqeval default mode" }
            );
            println!(
                "macro-F1 {:.2}%  weighted-F1 {:.2}%  token accuracy {:.2}%",
                macro_f1 * 100.0,
                weighted_f1 * 100.0,
                token_accuracy * 100.0
            );
            print_per_class("type", per_class);
            print_span_errors(errors);
        }
    }
    if let Some(c) = check {
        println!("{}", check_line(c));
    }
}

/// The multi-label metrics at the checkpoint's thresholds beside those at
/// 0.5: what tuning bought, and what it cost.
fn print_threshold_trade(tuned: &TaskScores, at_half: Option<&TaskScores>) {
    let values = |s: &TaskScores| match s {
        TaskScores::MultiLabel {
            micro_f1,
            macro_f1,
            weighted_f1,
            jaccard,
            subset_accuracy,
            hamming_loss,
            ..
        } => vec![
            *micro_f1 * 100.0,
            *macro_f1 * 100.0,
            *weighted_f1 * 100.0,
            *jaccard * 100.0,
            *subset_accuracy * 100.0,
            *hamming_loss,
        ],
        _ => Vec::new(),
    };
    let names = [
        "micro-F1 %",
        "macro-F1 %",
        "weighted-F1 %",
        "Jaccard (samples) %",
        "subset accuracy %",
        "Hamming loss",
    ];
    let tuned = values(tuned);
    let half = at_half.map(values).unwrap_or_default();
    println!(
        "{:<20} {:>12} {:>10} {:>9}",
        "metric", "thresholds", "at 0.5", "change"
    );
    for (i, name) in names.iter().enumerate() {
        let (t, h) = (tuned[i], half.get(i).copied().unwrap_or(f64::NAN));
        let digits = if i == 5 { 4 } else { 2 };
        println!(
            "{name:<20} {t:>12.digits$} {h:>10.digits$} {:>+9.digits$}",
            t - h
        );
    }
}

/// Precision, recall, F1 and support, one row a label (or entity type).
fn print_per_class(what: &str, per_class: &[ClassMetrics]) {
    println!(
        "{what:<20} {:>9} {:>9} {:>9} {:>8}",
        "precision", "recall", "f1", "support"
    );
    for c in per_class {
        println!(
            "{} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            super::fit_width(&c.label, 20),
            c.precision,
            c.recall,
            c.f1,
            c.support
        );
    }
}

/// The wrong mentions by type and kind: the same words under another type
/// (`as`), the right type over other words, missed and spurious.
fn print_span_errors(e: &tunebench::protocol::SpanErrors) {
    println!("span errors (--predictions FILE names them sentence by sentence)");
    println!(
        "{:<20} {:>8} {:>8} {:>8}  as another type (same words)",
        "type", "boundary", "missed", "spurious"
    );
    for (i, t) in e.types.iter().enumerate() {
        println!(
            "{} {:>8} {:>8} {:>8}  {}",
            super::fit_width(t, 20),
            e.boundary[i],
            e.missed[i],
            e.spurious[i],
            tunebench::entities::wrong_types(e, i)
        );
    }
}
