//! The one place the engine's messages are defined. Both directions are
//! serde-serializable: the same types go to metrics.jsonl and, later, over
//! the attach socket. A prediction's answer is an `Event::Prediction`
//! carrying the request id, so it crosses a socket like any other event.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Pause,
    Resume,
    /// Stop the run, writing a checkpoint first when `save`.
    Stop {
        save: bool,
    },
    SaveCheckpoint,
    /// Score `text` with the current weights (eval mode, between two steps),
    /// and explain it when asked.
    Predict {
        id: u64,
        text: String,
        /// The second text of a sentence pair.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text_pair: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explain: Option<ExplainRequest>,
    },
}

/// Token attributions wanted with a prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExplainRequest {
    /// The label to explain (None: the predicted one).
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default = "default_steps")]
    pub steps: usize,
}

fn default_steps() -> usize {
    super::explanation::DEFAULT_STEPS
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub label: String,
    pub score: f32,
    /// (label, probability) in label-id order.
    pub probs: Vec<(String, f32)>,
    pub logits: Vec<f32>,
    /// Multi-label: the labels over their thresholds, and the thresholds
    /// (in label order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<f32>>,
    /// Regression: the predicted value (also `score`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f32>,
    /// Token attributions, when the request asked for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<super::Explanation>,
    /// A token classifier's entities, as transformers' token-classification
    /// pipeline groups them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<EntityGroup>>,
}

/// One entity found in a text, in the shape of transformers'
/// token-classification pipeline with an aggregation strategy: the type,
/// the mean score of its pieces or words, the text as the tokenizer
/// decodes it, and character offsets into the input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntityGroup {
    pub entity_group: String,
    pub score: f32,
    pub word: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Every epoch ran.
    Completed,
    /// `max_steps` was reached.
    MaxSteps,
    /// No improvement for `patience` evaluations.
    EarlyStopped,
    /// Stopped by a command.
    Stopped,
}

/// One label's scores in an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        run_dir: PathBuf,
        total_steps: usize,
        steps_per_epoch: usize,
        /// Optimizer steps already done (resume), else 0.
        start_step: usize,
        /// Every parameter of the model.
        params: usize,
        /// The ones that train (the rest frozen); 0 in logs from before
        /// freezing existed means all.
        #[serde(default)]
        trainable: usize,
        /// e.g. `cuda:0 (NVIDIA H200, 140 GiB)` or `cpu`.
        device: String,
        /// Compute dtype: f32, bf16 or f16.
        #[serde(default = "f32_name")]
        precision: String,
        labels: Vec<String>,
        train_rows: usize,
        val_rows: usize,
        /// The metric the run is judged by (`best_metric`); empty in logs
        /// from before it was sent.
        #[serde(default)]
        best_metric: String,
    },
    Step {
        step: usize,
        epoch: f64,
        loss: f64,
        lr: f64,
        grad_norm: f64,
        samples_per_s: f64,
        tokens_per_s: f64,
        elapsed_s: f64,
        eta_s: f64,
        /// GPU memory in use (MiB); absent on CPU.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_mem_mib: Option<f64>,
    },
    Eval {
        step: usize,
        epoch: f64,
        split: String,
        loss: f64,
        accuracy: f64,
        macro_f1: f64,
        per_class: Vec<ClassMetrics>,
        /// confusion[true][predicted], in label-id order.
        confusion: Vec<Vec<usize>>,
        /// Evaluations since the best one (0 when this one is the best).
        since_best: usize,
        /// Multi-label or regression scores (absent: one label per text).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<super::TaskScores>,
        /// Every metric the run's objective reports, by name (`loss`,
        /// `macro_f1`, `micro_f1`, `pearson`...): what front ends read a
        /// run's headline from. Empty in logs written before it existed.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        metrics: std::collections::BTreeMap<String, f64>,
    },
    Checkpoint {
        step: usize,
        path: PathBuf,
        best: bool,
    },
    Paused {
        step: usize,
    },
    Resumed {
        step: usize,
    },
    Prediction {
        id: u64,
        text: String,
        prediction: Prediction,
        latency_ms: f64,
    },
    Finished {
        reason: FinishReason,
        step: usize,
        best_step: Option<usize>,
        best_metric: Option<f64>,
    },
    Failed {
        step: usize,
        error: String,
    },
    Log {
        level: String,
        message: String,
    },
}

fn f32_name() -> String {
    "f32".into()
}

impl Event {
    /// An evaluation's value of `metric`: from its metrics map, else (an
    /// older log, or `f1:LABEL`) from its fields. None for other events.
    pub fn eval_metric(&self, metric: &str) -> Option<f64> {
        let Event::Eval {
            loss,
            accuracy,
            macro_f1,
            per_class,
            task,
            metrics,
            ..
        } = self
        else {
            return None;
        };
        metrics.get(metric).copied().or_else(|| {
            super::metric_value(
                metric,
                *loss,
                *accuracy,
                *macro_f1,
                per_class,
                task.as_ref(),
            )
        })
    }

    /// Whether the run is over after this event.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Event::Finished { .. } | Event::Failed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_commands_round_trip_through_json() {
        let e = Event::Step {
            step: 3,
            epoch: 0.5,
            loss: 0.7,
            lr: 1e-4,
            grad_norm: 1.2,
            samples_per_s: 10.0,
            tokens_per_s: 300.0,
            elapsed_s: 1.0,
            eta_s: 2.0,
            device_mem_mib: None,
        };
        let line = serde_json::to_string(&e).unwrap();
        assert!(line.starts_with("{\"event\":\"step\""), "{line}");
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e);
        let c = Command::Predict {
            id: 9,
            text: "hi".into(),
            text_pair: Some("there".into()),
            explain: Some(ExplainRequest {
                target: Some("pos".into()),
                steps: 8,
            }),
        };
        let line = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Command>(&line).unwrap(), c);
    }
}
