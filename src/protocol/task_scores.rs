//! What an evaluation reports beyond one label per text: the multi-label
//! and regression scores, and the one lookup of a metric by name that
//! best checkpoints, sweeps and `runs` share.

use serde::{Deserialize, Serialize};

/// Scores of a multi-label or regression evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum TaskScores {
    MultiLabel {
        micro_f1: f64,
        macro_f1: f64,
        weighted_f1: f64,
        /// Rows whose predicted label set equals the true one.
        subset_accuracy: f64,
        hamming_loss: f64,
        /// Label ranking average precision.
        lrap: f64,
        /// Samples-averaged Jaccard: |true ∩ predicted| / |true ∪ predicted|
        /// a row, averaged (0 in event logs from before it was reported).
        #[serde(default)]
        jaccard: f64,
        /// Each label's decision threshold (tuned on this evaluation).
        thresholds: Vec<f32>,
    },
    /// Entity-level scores as seqeval computes them (per type in the
    /// event's `per_class`).
    Tokens {
        precision: f64,
        recall: f64,
        micro_f1: f64,
        macro_f1: f64,
        weighted_f1: f64,
        /// Labelled pieces whose tag is right.
        token_accuracy: f64,
        /// seqeval's strict IOB2 mode (false: its default, conlleval-like).
        strict: bool,
        /// What went wrong with the mentions that were not exactly right.
        #[serde(default)]
        errors: SpanErrors,
    },
    Regression {
        mse: f64,
        mae: f64,
        pearson: f64,
        spearman: f64,
        /// (gold, predicted) of up to `SCATTER_POINTS` rows, for a scatter.
        points: Vec<(f32, f32)>,
    },
}

impl TaskScores {
    /// The headline numbers on one line, as progress lines print them.
    pub fn summary(&self) -> String {
        match self {
            TaskScores::MultiLabel {
                micro_f1,
                macro_f1,
                jaccard,
                subset_accuracy,
                ..
            } => format!(
                "micro-F1 {:.2}% macro-F1 {:.2}% Jaccard {:.2}% subset accuracy {:.2}%",
                micro_f1 * 100.0,
                macro_f1 * 100.0,
                jaccard * 100.0,
                subset_accuracy * 100.0
            ),
            TaskScores::Regression {
                mse,
                pearson,
                spearman,
                ..
            } => format!("MSE {mse:.4} Pearson {pearson:.4} Spearman {spearman:.4}"),
            TaskScores::Tokens {
                precision,
                recall,
                micro_f1,
                token_accuracy,
                ..
            } => format!(
                "entity F1 {:.2}% (P {:.2}% R {:.2}%) token accuracy {:.2}%",
                micro_f1 * 100.0,
                precision * 100.0,
                recall * 100.0,
                token_accuracy * 100.0
            ),
        }
    }
}

/// The mentions a token classifier got wrong, by kind and entity type
/// (`types` orders every list): the same words under another type, the
/// right type over other words, no prediction touching a gold mention, a
/// prediction touching no gold mention.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanErrors {
    pub types: Vec<String>,
    /// wrong_type[gold][predicted]: the same words, another type.
    pub wrong_type: Vec<Vec<usize>>,
    /// Gold mentions of each type overlapped by a prediction of that type
    /// with other boundaries.
    pub boundary: Vec<usize>,
    /// Gold mentions of each type that no prediction overlaps.
    pub missed: Vec<usize>,
    /// Predictions of each type that overlap no gold mention.
    pub spurious: Vec<usize>,
}

/// Rows kept for the regression scatter of an evaluation event.
pub const SCATTER_POINTS: usize = 400;

/// The value of `metric` in one evaluation's numbers: a plain metric, a
/// task metric, or `f1:LABEL`; None when the evaluation has no such value.
pub fn metric_value(
    metric: &str,
    loss: f64,
    accuracy: f64,
    macro_f1: f64,
    per_class: &[super::ClassMetrics],
    task: Option<&TaskScores>,
) -> Option<f64> {
    if let Some(label) = metric.strip_prefix("f1:") {
        return per_class.iter().find(|c| c.label == label).map(|c| c.f1);
    }
    match (metric, task) {
        ("loss" | "val_loss", _) => Some(loss),
        ("accuracy", None) => Some(accuracy),
        ("macro_f1", None) => Some(macro_f1),
        (
            "accuracy" | "subset_accuracy",
            Some(TaskScores::MultiLabel {
                subset_accuracy, ..
            }),
        ) => Some(*subset_accuracy),
        (
            _,
            Some(TaskScores::MultiLabel {
                micro_f1,
                macro_f1,
                weighted_f1,
                hamming_loss,
                lrap,
                jaccard,
                ..
            }),
        ) => match metric {
            "jaccard" => Some(*jaccard),
            "macro_f1" => Some(*macro_f1),
            "micro_f1" => Some(*micro_f1),
            "weighted_f1" => Some(*weighted_f1),
            "hamming_loss" => Some(*hamming_loss),
            "lrap" => Some(*lrap),
            _ => None,
        },
        (
            _,
            Some(TaskScores::Tokens {
                precision,
                recall,
                micro_f1,
                macro_f1,
                weighted_f1,
                token_accuracy,
                ..
            }),
        ) => match metric {
            "accuracy" | "token_accuracy" => Some(*token_accuracy),
            "macro_f1" => Some(*macro_f1),
            "micro_f1" | "f1" => Some(*micro_f1),
            "weighted_f1" => Some(*weighted_f1),
            "precision" => Some(*precision),
            "recall" => Some(*recall),
            _ => None,
        },
        (
            _,
            Some(TaskScores::Regression {
                mse,
                mae,
                pearson,
                spearman,
                ..
            }),
        ) => match metric {
            "mse" => Some(*mse),
            "mae" => Some(*mae),
            "pearson" => Some(*pearson),
            "spearman" => Some(*spearman),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_found_by_name_for_each_task() {
        let ml = TaskScores::MultiLabel {
            micro_f1: 0.6,
            macro_f1: 0.4,
            weighted_f1: 0.5,
            subset_accuracy: 0.3,
            hamming_loss: 0.1,
            lrap: 0.7,
            jaccard: 0.45,
            thresholds: vec![0.5],
        };
        let v = |m| metric_value(m, 0.2, 0.9, 0.8, &[], Some(&ml));
        assert_eq!(v("accuracy"), Some(0.3));
        assert_eq!(v("macro_f1"), Some(0.4));
        assert_eq!(v("lrap"), Some(0.7));
        assert_eq!(v("jaccard"), Some(0.45));
        assert_eq!(v("pearson"), None);
        assert_eq!(
            metric_value("macro_f1", 0.2, 0.9, 0.8, &[], None),
            Some(0.8)
        );
    }
}
