//! Classification metrics: accuracy, per-class precision/recall/F1,
//! macro-F1 and the confusion matrix.

pub use crate::protocol::ClassMetrics;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<ClassMetrics>,
    /// confusion[true][predicted] (single-label only)
    pub confusion: Vec<Vec<usize>>,
    /// Multi-label or regression scores.
    pub task: Option<crate::protocol::TaskScores>,
}

pub fn score(labels: &[String], truth: &[usize], predicted: &[usize]) -> Scores {
    let n = labels.len();
    let mut confusion = vec![vec![0usize; n]; n];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t][p] += 1;
    }
    let correct: usize = (0..n).map(|i| confusion[i][i]).sum();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class: Vec<ClassMetrics> = (0..n)
        .map(|c| {
            let tp = confusion[c][c];
            let support: usize = confusion[c].iter().sum();
            let predicted_c: usize = (0..n).map(|t| confusion[t][c]).sum();
            let precision = ratio(tp, predicted_c);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassMetrics {
                label: labels[c].clone(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    // Like scikit-learn's macro average over the labels of the model.
    let macro_f1 = per_class.iter().map(|m| m.f1).sum::<f64>() / n.max(1) as f64;
    Scores {
        accuracy: ratio(correct, truth.len()),
        macro_f1,
        per_class,
        confusion,
        task: None,
    }
}

/// The scores of `logits` against `targets` for the model's task; a
/// multi-label evaluation decides as `decide` says (at given thresholds,
/// or tuned on these rows for a metric).
pub fn score_targets(
    labels: &[String],
    targets: &crate::data::Targets,
    logits: &[Vec<f32>],
    decide: super::thresholds::Decide,
) -> Scores {
    use super::task_metrics::{multi_label_scores, regression_scores};
    use super::thresholds::{tune_for, Decide};
    use crate::data::Targets;
    use crate::model::probs::{argmax, sigmoid};
    match targets {
        Targets::Classes(truth) => {
            let truth: Vec<usize> = truth.iter().map(|&t| t as usize).collect();
            let predicted: Vec<usize> = logits.iter().map(|l| argmax(l)).collect();
            score(labels, &truth, &predicted)
        }
        Targets::Sets(truth) => {
            let probs: Vec<Vec<f32>> = logits
                .iter()
                .map(|l| l.iter().map(|&x| sigmoid(x)).collect())
                .collect();
            let tuned;
            let thresholds = match decide {
                Decide::At(t) if t.len() == labels.len() => t,
                Decide::At(_) => {
                    tuned = vec![0.5; labels.len()];
                    &tuned
                }
                Decide::Tune(metric) => {
                    tuned = tune_for(metric, truth, &probs, labels.len());
                    &tuned
                }
            };
            multi_label_scores(labels, truth, &probs, thresholds)
        }
        Targets::Scores(gold) => {
            let predicted: Vec<f32> = logits.iter().map(|l| l[0]).collect();
            regression_scores(gold, &predicted)
        }
        // seqeval's default mode, as run_ner scores (eval --strict: IOB2).
        Targets::Tokens(truth) => super::entity_metrics::token_scores(labels, truth, logits, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_hand_computed_values() {
        let labels = vec!["a".to_string(), "b".to_string()];
        // truth a a a b, predicted a a b b
        let s = score(&labels, &[0, 0, 0, 1], &[0, 0, 1, 1]);
        assert_eq!(s.accuracy, 0.75);
        assert_eq!(s.confusion, vec![vec![2, 1], vec![0, 1]]);
        assert_eq!(s.per_class[0].precision, 1.0);
        assert!((s.per_class[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.per_class[1].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.macro_f1 - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }
}
