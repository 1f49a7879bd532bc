//! What a run trains for: the outputs a step computes, the loss it
//! minimizes and the metrics its evaluations report, by name. A run is
//! supervised by its task (one label, several, a score, or tags), or
//! predicts masked pieces (masked-LM pretraining); a distillation run is
//! another variant here, not a branch in the step or the engine.

use super::metrics::Scores;
use crate::config::BestMetric;
use crate::data::Task;
use crate::model::{Classifier, Mode};
use crate::text::Batch;
use candle_core::Tensor;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// Fit the labels of a task head.
    Supervised(Task),
    /// Predict the pieces a masking draw hid (`text::masking`): the
    /// cross-entropy over the vocabulary at the picked pieces only.
    MaskedLm,
}

impl Objective {
    /// The outputs the loss reads: the model's logits, or a masked-LM's
    /// vocabulary logits at the batch's picked pieces (M, V).
    pub fn logits(
        &self,
        model: &Classifier,
        batch: &Batch,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        match self {
            Objective::Supervised(_) => {
                model.forward(&batch.input_ids, &batch.attention_mask, mode)
            }
            Objective::MaskedLm => {
                let positions = batch.positions.as_ref().ok_or_else(|| {
                    candle_core::Error::Msg("a masked-LM batch without picked pieces".into())
                })?;
                model.masked_lm_logits(&batch.input_ids, &batch.attention_mask, positions, mode)
            }
        }
    }

    /// The loss of `logits` against `target` (a mean over the batch).
    pub fn loss(&self, logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Objective::Supervised(task) => super::step::task_loss(*task, logits, target),
            Objective::MaskedLm => candle_nn::loss::cross_entropy(logits, target),
        }
    }

    /// Every metric an evaluation reports, by name: the loss and each
    /// metric `best_metric` may name for the task.
    pub fn metrics(&self, loss: f64, scores: &Scores) -> BTreeMap<String, f64> {
        match self {
            Objective::Supervised(task) => BestMetric::ALL
                .into_iter()
                .filter(|m| m.applies_to(*task))
                .filter_map(|m| {
                    let v = crate::protocol::metric_value(
                        m.name(),
                        loss,
                        scores.accuracy,
                        scores.macro_f1,
                        &scores.per_class,
                        scores.task.as_ref(),
                    )?;
                    Some((m.name().to_string(), v))
                })
                .chain([("loss".to_string(), loss)])
                .collect(),
            // run_mlm reports perplexity = exp(eval loss).
            Objective::MaskedLm => [
                ("loss".to_string(), loss),
                ("perplexity".to_string(), loss.exp()),
                ("masked_accuracy".to_string(), scores.accuracy),
            ]
            .into_iter()
            .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_label_evaluation_reports_its_metrics_by_name() {
        let scores = Scores {
            accuracy: 0.8,
            macro_f1: 0.7,
            per_class: vec![],
            confusion: vec![],
            task: None,
        };
        let m = Objective::Supervised(Task::SingleLabel).metrics(0.4, &scores);
        assert_eq!(m["loss"], 0.4);
        assert_eq!(m["accuracy"], 0.8);
        assert_eq!(m["macro_f1"], 0.7);
    }
}
