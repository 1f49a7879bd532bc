//! How far a lower inference precision (int8, packed bf16) moves a
//! checkpoint's answers on labelled rows: agreement with f32 and the change
//! of the task's headline metric; when that metric drops by more than a
//! point, the encoder layer whose outputs moved most (measured again on a
//! few rows with `model::quant`'s probe).

use crate::data::Targets;
use crate::error::Result;
use crate::model::probs::{argmax, sigmoid};
use crate::model::Classifier;
use crate::train::metrics::score_targets;
use serde::Serialize;

/// A drop of the headline metric above this (a share: 1 point) warns.
pub const WARN_DROP: f64 = 0.01;
/// Rows the layer probe runs on.
const PROBE_ROWS: usize = 128;

#[derive(Clone, Debug, Serialize)]
pub struct PrecisionCheck {
    pub precision: String,
    /// Rows whose answer is f32's: the same label (single-label), the same
    /// label set (multi-label), a value within 1% of f32's value range
    /// (regression).
    pub agreement: f64,
    pub metric: &'static str,
    pub f32_value: f64,
    pub value: f64,
    /// Set when the metric dropped by more than [`WARN_DROP`]: the layer
    /// with the largest relative output error ‖y − y_f32‖ / ‖y_f32‖.
    pub worst_layer: Option<(String, f64)>,
}

impl PrecisionCheck {
    /// The metric's change, in points (positive: better than f32).
    pub fn change_points(&self) -> f64 {
        (self.value - self.f32_value) * 100.0
    }

    pub fn dropped_too_much(&self) -> bool {
        self.f32_value - self.value > WARN_DROP
    }
}

/// The headline metric of a task's scores: accuracy, micro-F1 or Pearson.
pub(crate) fn headline(
    labels: &[String],
    targets: &Targets,
    logits: &[Vec<f32>],
    thresholds: &[f32],
) -> (&'static str, f64) {
    let s = score_targets(
        labels,
        targets,
        logits,
        crate::train::thresholds::Decide::At(thresholds),
    );
    let metric = match targets {
        Targets::Classes(_) => "accuracy",
        Targets::Sets(_) => "micro_f1",
        Targets::Scores(_) => "pearson",
        Targets::Tokens(_) => "micro_f1",
    };
    let value = crate::protocol::metric_value(
        metric,
        0.0,
        s.accuracy,
        s.macro_f1,
        &s.per_class,
        s.task.as_ref(),
    );
    (metric, value.unwrap_or(0.0))
}

/// Compare `low`'s logits with `reference`'s (f32) on the same rows.
pub fn compare(
    low: &Classifier,
    precision: &str,
    pad_id: u32,
    ids: &[Vec<u32>],
    targets: &Targets,
    low_logits: &[Vec<f32>],
    f32_logits: &[Vec<f32>],
) -> Result<PrecisionCheck> {
    let labels = low.labels.names();
    let thr: Vec<f32> = (0..labels.len()).map(|i| low.threshold(i)).collect();
    // Regression's tolerance: 1% of the range of f32's values.
    let (lo, hi) = f32_logits
        .iter()
        .filter_map(|v| v.first())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let tolerance = 0.01 * (hi - lo).max(f32::MIN_POSITIVE);
    let same = |a: &[f32], b: &[f32]| -> bool {
        match targets {
            Targets::Classes(_) => argmax(a) == argmax(b),
            Targets::Sets(_) => a
                .iter()
                .zip(b)
                .zip(&thr)
                .all(|((x, y), t)| (sigmoid(*x) >= *t) == (sigmoid(*y) >= *t)),
            Targets::Scores(_) => (a[0] - b[0]).abs() <= tolerance,
            // Every piece's tag the same.
            Targets::Tokens(_) => {
                let n = labels.len().max(1);
                a.chunks(n)
                    .zip(b.chunks(n))
                    .all(|(x, y)| argmax(x) == argmax(y))
            }
        }
    };
    let agreed = low_logits
        .iter()
        .zip(f32_logits)
        .filter(|(a, b)| same(a, b))
        .count();
    let (metric, f32_value) = headline(labels, targets, f32_logits, &thr);
    let (_, value) = headline(labels, targets, low_logits, &thr);
    let mut check = PrecisionCheck {
        precision: precision.to_string(),
        agreement: agreed as f64 / low_logits.len().max(1) as f64,
        metric,
        f32_value,
        value,
        worst_layer: None,
    };
    if check.dropped_too_much() {
        crate::model::quant::probe_start();
        let probed = crate::predict::logits_for(low, pad_id, &ids[..ids.len().min(PROBE_ROWS)]);
        let errors = crate::model::quant::probe_finish();
        probed?;
        check.worst_layer = errors.into_iter().next();
    }
    Ok(check)
}
