//! Where a run stands, folded from its events: the same fold serves the run
//! process (the hello a client gets) and `tunebench runs` (metrics.jsonl).

use super::messages::{Event, FinishReason};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The run process is loading data and model (no events yet).
    Preparing,
    Running,
    Paused,
    /// Every epoch ran, `max_steps` was reached or early stopping fired.
    Finished,
    /// Stopped by a command.
    Stopped,
    /// The engine reported an error (NaN loss, disk full...).
    Failed,
    /// The process is gone without a finished/failed event (kill -9, OOM,
    /// reboot).
    Crashed,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Preparing => "preparing",
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Finished => "finished",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
            RunStatus::Crashed => "crashed",
        }
    }

    /// Whether a process should be behind the run.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            RunStatus::Preparing | RunStatus::Running | RunStatus::Paused
        )
    }
}

/// The best evaluation so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestEval {
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Multi-label or regression scores of that evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<super::TaskScores>,
    /// Its metrics by name, as the evaluation reported them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metrics: std::collections::BTreeMap<String, f64>,
}

impl BestEval {
    /// The value of `metric` at the best evaluation (macro-F1 when the
    /// name is unknown to it).
    pub fn metric(&self, metric: &str) -> f64 {
        if let Some(v) = self.metrics.get(metric) {
            return *v;
        }
        super::metric_value(
            metric,
            self.loss,
            self.accuracy,
            self.macro_f1,
            &[],
            self.task.as_ref(),
        )
        .unwrap_or(self.macro_f1)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunProgress {
    pub status: RunStatus,
    pub step: usize,
    pub total_steps: usize,
    pub best: Option<BestEval>,
    /// Seconds of training reported by the last step (this session of the run).
    pub elapsed_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Default for RunProgress {
    fn default() -> Self {
        RunProgress {
            status: RunStatus::Preparing,
            step: 0,
            total_steps: 0,
            best: None,
            elapsed_s: 0.0,
            error: None,
        }
    }
}

impl RunProgress {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut p = RunProgress::default();
        for e in events {
            p.observe(e);
        }
        p
    }

    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::Started {
                total_steps,
                start_step,
                ..
            } => {
                self.status = RunStatus::Running;
                self.total_steps = *total_steps;
                self.step = *start_step;
                self.error = None;
            }
            Event::Step {
                step, elapsed_s, ..
            } => {
                self.step = *step;
                self.elapsed_s = *elapsed_s;
            }
            Event::Eval {
                step,
                loss,
                accuracy,
                macro_f1,
                since_best,
                task,
                metrics,
                ..
            } if *since_best == 0 => {
                self.best = Some(BestEval {
                    step: *step,
                    loss: *loss,
                    accuracy: *accuracy,
                    macro_f1: *macro_f1,
                    task: task.clone(),
                    metrics: metrics.clone(),
                })
            }
            Event::Paused { .. } => self.status = RunStatus::Paused,
            Event::Resumed { .. } => self.status = RunStatus::Running,
            Event::Finished { reason, step, .. } => {
                self.step = *step;
                self.status = if *reason == FinishReason::Stopped {
                    RunStatus::Stopped
                } else {
                    RunStatus::Finished
                };
            }
            Event::Failed { step, error } => {
                self.step = *step;
                self.status = RunStatus::Failed;
                self.error = Some(error.clone());
            }
            _ => {}
        }
    }

    /// Whether the events end the run (a process exiting after them is not
    /// a crash).
    pub fn is_over(&self) -> bool {
        matches!(
            self.status,
            RunStatus::Finished | RunStatus::Stopped | RunStatus::Failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_follows_pause_resume_and_stop() {
        let mut p = RunProgress::default();
        p.observe(&Event::Paused { step: 3 });
        assert_eq!(p.status, RunStatus::Paused);
        p.observe(&Event::Resumed { step: 3 });
        assert_eq!(p.status, RunStatus::Running);
        p.observe(&Event::Finished {
            reason: FinishReason::Stopped,
            step: 5,
            best_step: None,
            best_metric: None,
        });
        assert_eq!((p.status, p.step), (RunStatus::Stopped, 5));
        assert!(p.is_over());
    }

    /// A metrics.jsonl line from before evaluations carried their metrics
    /// map still reads, and its metrics come from its fields; a new line's
    /// map is what is read.
    #[test]
    fn old_eval_lines_read_and_new_ones_are_read_from_their_map() {
        let old = r#"{"event":"eval","step":4,"epoch":1.0,"split":"val","loss":0.5,"accuracy":0.75,"macro_f1":0.6,"per_class":[],"confusion":[],"since_best":0}"#;
        let event: Event = serde_json::from_str(old).unwrap();
        assert_eq!(event.eval_metric("macro_f1"), Some(0.6));
        assert_eq!(event.eval_metric("loss"), Some(0.5));
        let p = RunProgress::from_events(&[event]);
        assert_eq!(p.best.as_ref().unwrap().metric("accuracy"), 0.75);
        let mut new: Event = serde_json::from_str(old).unwrap();
        if let Event::Eval { metrics, .. } = &mut new {
            metrics.insert("macro_f1".into(), 0.9);
        }
        let line = serde_json::to_string(&new).unwrap();
        assert!(line.contains(r#""metrics":{"macro_f1":0.9}"#), "{line}");
        let back: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(back.eval_metric("macro_f1"), Some(0.9));
        let p = RunProgress::from_events(&[back]);
        assert_eq!(p.best.unwrap().metric("macro_f1"), 0.9);
    }
}
