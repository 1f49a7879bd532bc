//! What a run trains for: the loss its steps minimize and the metrics its
//! evaluations report, by name. Today every run is supervised by its task
//! (one label, several, a score, or tags); a masked-LM or distillation run
//! is a new variant here, not a branch in the step or the engine.

use super::metrics::Scores;
use crate::config::BestMetric;
use crate::data::Task;
use candle_core::Tensor;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// Fit the labels of a task head.
    Supervised(Task),
}

impl Objective {
    /// The loss of `logits` against `target` (a mean over the batch).
    pub fn loss(&self, logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Objective::Supervised(task) => super::step::task_loss(*task, logits, target),
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
