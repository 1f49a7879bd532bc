//! A checkpoint scored on labelled rows, as `tunebench eval` reports it:
//! the rows encoded for the model's task, its loss and scores (at the
//! checkpoint's own multi-label thresholds, and at 0.5 beside them), and,
//! for a packed precision, the check against the same weights in f32.

use crate::data::{Dataset, Targets, Task};
use crate::error::Result;
use crate::precision_check::{self, PrecisionCheck};
use crate::predict::{evaluate, Predictor};
use crate::protocol::{ClassMetrics, SpanErrors, TaskScores};
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

    /// A multi-label, token or regression evaluation as `eval --format
    /// json` prints it; None for a single-label one.
    pub fn task_report(&self) -> Option<TaskReport<'_>> {
        let scores = self.scores.task.as_ref()?;
        Some(TaskReport {
            rows: self.rows,
            loss: self.loss,
            task: self.task.name(),
            precision_check: self.check.as_ref(),
            scores: TaskReportScores::new(scores, &self.scores.per_class, self.at_half.as_ref()),
        })
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

/// A multi-label, token or regression evaluation as `eval --format json`
/// prints it: the run's facts, then the task's own scores.
#[derive(Serialize)]
pub struct TaskReport<'a> {
    pub rows: usize,
    pub loss: f64,
    pub task: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision_check: Option<&'a PrecisionCheck>,
    #[serde(flatten)]
    pub scores: TaskReportScores<'a>,
}

/// A task's scores as reported: `TaskScores` without its chart points,
/// with the per-label (per-type) table and, for multi-label, the same rows
/// decided at 0.5.
#[derive(Serialize)]
#[serde(untagged)]
pub enum TaskReportScores<'a> {
    MultiLabel {
        micro_f1: f64,
        macro_f1: f64,
        weighted_f1: f64,
        subset_accuracy: f64,
        hamming_loss: f64,
        lrap: f64,
        jaccard: f64,
        thresholds: &'a [f32],
        per_label: &'a [ClassMetrics],
        #[serde(skip_serializing_if = "Option::is_none")]
        at_0_5: Option<AtHalf>,
    },
    Tokens {
        precision: f64,
        recall: f64,
        micro_f1: f64,
        macro_f1: f64,
        weighted_f1: f64,
        token_accuracy: f64,
        strict: bool,
        errors: &'a SpanErrors,
        per_type: &'a [ClassMetrics],
    },
    Regression {
        mse: f64,
        mae: f64,
        pearson: f64,
        spearman: f64,
    },
}

/// Multi-label rows decided at 0.5 rather than at the tuned thresholds.
#[derive(Serialize)]
pub struct AtHalf {
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    pub jaccard: f64,
    pub subset_accuracy: f64,
    pub hamming_loss: f64,
}

impl<'a> TaskReportScores<'a> {
    fn new(
        scores: &'a TaskScores,
        per_class: &'a [ClassMetrics],
        at_half: Option<&TaskScores>,
    ) -> Self {
        match scores {
            TaskScores::MultiLabel {
                micro_f1,
                macro_f1,
                weighted_f1,
                subset_accuracy,
                hamming_loss,
                lrap,
                jaccard,
                thresholds,
            } => TaskReportScores::MultiLabel {
                micro_f1: *micro_f1,
                macro_f1: *macro_f1,
                weighted_f1: *weighted_f1,
                subset_accuracy: *subset_accuracy,
                hamming_loss: *hamming_loss,
                lrap: *lrap,
                jaccard: *jaccard,
                thresholds,
                per_label: per_class,
                at_0_5: at_half.and_then(AtHalf::of),
            },
            TaskScores::Tokens {
                precision,
                recall,
                micro_f1,
                macro_f1,
                weighted_f1,
                token_accuracy,
                strict,
                errors,
            } => TaskReportScores::Tokens {
                precision: *precision,
                recall: *recall,
                micro_f1: *micro_f1,
                macro_f1: *macro_f1,
                weighted_f1: *weighted_f1,
                token_accuracy: *token_accuracy,
                strict: *strict,
                errors,
                per_type: per_class,
            },
            TaskScores::Regression {
                mse,
                mae,
                pearson,
                spearman,
                ..
            } => TaskReportScores::Regression {
                mse: *mse,
                mae: *mae,
                pearson: *pearson,
                spearman: *spearman,
            },
        }
    }
}

impl AtHalf {
    fn of(scores: &TaskScores) -> Option<AtHalf> {
        match *scores {
            TaskScores::MultiLabel {
                micro_f1,
                macro_f1,
                weighted_f1,
                subset_accuracy,
                hamming_loss,
                jaccard,
                ..
            } => Some(AtHalf {
                micro_f1,
                macro_f1,
                weighted_f1,
                jaccard,
                subset_accuracy,
                hamming_loss,
            }),
            _ => None,
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
