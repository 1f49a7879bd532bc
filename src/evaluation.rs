//! A checkpoint scored on labelled rows, as `tunebench eval` reports it:
//! the rows encoded for the model's task, its loss and scores (at the
//! checkpoint's own multi-label thresholds, and at 0.5 beside them), and,
//! for a packed precision, the check against the same weights in f32.

use crate::data::{Dataset, Targets, Task};
use crate::error::Result;
use crate::precision_check::{self, PrecisionCheck};
use crate::predict::{evaluate, Predictor};
use crate::protocol::{ClassMetrics, TaskScores};
use crate::train::metrics::Scores;
use crate::train::thresholds::Decide;
use serde::Serialize;

pub struct EvalOptions<'a> {
    /// Tags: score entities in seqeval's strict IOB2 mode.
    pub strict: bool,
    /// The packed precision's name when its answers are to be checked
    /// against f32 (int8; bf16 on the CPU).
    pub check_against_f32: Option<&'a str>,
}

pub struct Evaluation {
    pub rows: usize,
    pub loss: f64,
    pub task: Task,
    pub labels: Vec<String>,
    pub scores: Scores,
    /// Multi-label: the same rows decided at 0.5.
    pub at_half: Option<TaskScores>,
    pub check: Option<PrecisionCheck>,
    /// Sentences longer than the model's limit (their last words unscored).
    pub cut_sentences: usize,
    targets: Targets,
    logits: Vec<Vec<f32>>,
}

/// Score `ds` (its labels read for the model's task) with `predictor`.
pub fn evaluate_dataset(
    predictor: &Predictor,
    ds: &Dataset,
    opts: &EvalOptions,
) -> Result<Evaluation> {
    let model = &predictor.model;
    let labels = &model.labels;
    let targets = crate::data::task::targets_of(model.task, labels, &ds.rows, &ds.path)?;
    let (encoded, targets, cut_sentences) = if model.task == Task::TokenClassification {
        let e = predictor
            .text
            .encode_tagged(&ds.rows, &targets, labels, false)?;
        (e.ids, e.targets, e.cut_sentences)
    } else {
        (predictor.text.encode_rows(&ds.rows)?, targets, 0)
    };
    let pad = predictor.text.pad_id();
    let out = evaluate(model, pad, &encoded, &targets)?;
    // Multi-label rows are decided at the checkpoint's own thresholds.
    let thresholds: Vec<f32> = (0..labels.len()).map(|i| model.threshold(i)).collect();
    let scores = match &targets {
        Targets::Tokens(truth) if opts.strict => {
            crate::train::entity_metrics::token_scores(labels.names(), truth, &out.logits, true)
        }
        _ => crate::train::metrics::score_targets(
            labels.names(),
            &targets,
            &out.logits,
            Decide::At(&thresholds),
        ),
    };
    // A multi-label checkpoint's thresholds beside the plain 0.5 rule, so
    // the trade tuning made is on screen.
    let at_half = (model.task == Task::MultiLabel)
        .then(|| {
            crate::train::metrics::score_targets(
                labels.names(),
                &targets,
                &out.logits,
                Decide::At(&vec![0.5; labels.len()]),
            )
            .task
        })
        .flatten();
    // Checked on the same rows: the same weights rebuilt unpacked (no
    // second read of the checkpoint).
    let check = match opts.check_against_f32 {
        Some(precision) => {
            let reference = model.frozen_copy()?;
            let f32_out = evaluate(&reference, pad, &encoded, &targets)?;
            Some(precision_check::compare(
                model,
                precision,
                pad,
                &encoded,
                &targets,
                &out.logits,
                &f32_out.logits,
            )?)
        }
        None => None,
    };
    Ok(Evaluation {
        rows: ds.rows.len(),
        loss: out.loss,
        task: model.task,
        labels: labels.names().to_vec(),
        scores,
        at_half,
        check,
        cut_sentences,
        targets,
        logits: out.logits,
    })
}

impl Evaluation {
    /// Every row's prediction as predictions.csv (the rows evaluated).
    pub fn predictions_csv(&self, predictor: &Predictor, ds: &Dataset) -> Result<Vec<u8>> {
        crate::predict::predictions_csv(&ds.rows, &predictor.model, &self.targets, &self.logits)
    }

    /// A single-label evaluation as `eval --format json` prints it.
    pub fn single_label_report(&self) -> SingleLabelReport<'_> {
        SingleLabelReport {
            rows: self.rows,
            loss: self.loss,
            accuracy: self.scores.accuracy,
            macro_f1: self.scores.macro_f1,
            per_class: &self.scores.per_class,
            confusion: &self.scores.confusion,
            labels: &self.labels,
            precision_check: self.check.as_ref(),
        }
    }
}

#[derive(Serialize)]
pub struct SingleLabelReport<'a> {
    pub rows: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: &'a [ClassMetrics],
    pub confusion: &'a [Vec<usize>],
    pub labels: &'a [String],
    pub precision_check: Option<&'a PrecisionCheck>,
}
