//! Pruners as Optuna defines them, with its defaults:
//! `SuccessiveHalvingPruner()` (min_resource "auto", reduction factor 4,
//! min early-stopping rate 0, no bootstrap) and `MedianPruner()` (5
//! startup trials, no warm-up, interval 1, at least 1 trial per step).
//! The halving pruner writes `completed_rung_N` system attributes, as
//! Optuna's does, so Optuna workers on the same study agree with ours.

use super::journal::{Trial, TrialState};
use crate::config::PrunerKind;

const REDUCTION_FACTOR: i64 = 4;
const MIN_EARLY_STOPPING_RATE: u32 = 0;
const MEDIAN_STARTUP_TRIALS: usize = 5;

/// One pruning decision: prune or not, and the rung values to record.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    pub prune: bool,
    /// (`completed_rung_N`, value) to store on the trial.
    pub rungs: Vec<(String, f64)>,
}

pub struct Pruner {
    kind: PrunerKind,
    /// Estimated once, from the first completed trial seen (as Optuna).
    min_resource: Option<i64>,
}

impl Pruner {
    pub fn new(kind: PrunerKind) -> Pruner {
        Pruner {
            kind,
            min_resource: None,
        }
    }

    /// Whether `trial` (just given a new intermediate value) should stop.
    /// `trials` is the whole study, `trial` included.
    pub fn decide(&mut self, trial: &Trial, trials: &[&Trial], maximize: bool) -> Decision {
        match self.kind {
            PrunerKind::None => Decision::default(),
            PrunerKind::Median => Decision {
                prune: median(trial, trials, maximize),
                rungs: Vec::new(),
            },
            PrunerKind::Asha => self.halving(trial, trials, maximize),
        }
    }

    fn halving(&mut self, trial: &Trial, trials: &[&Trial], maximize: bool) -> Decision {
        let mut d = Decision::default();
        let Some(step) = trial.last_step() else {
            return d;
        };
        let mut rung = 0u32;
        while trial.system_attrs.contains_key(&rung_key(rung)) {
            rung += 1;
        }
        let value = trial.intermediate[&step];
        loop {
            if self.min_resource.is_none() {
                self.min_resource = trials
                    .iter()
                    .filter(|t| t.state == TrialState::Complete)
                    .filter_map(|t| t.last_step())
                    .max()
                    .map(|last| (last / 100).max(1));
            }
            let Some(min_resource) = self.min_resource else {
                return d;
            };
            let promotion = min_resource * REDUCTION_FACTOR.pow(MIN_EARLY_STOPPING_RATE + rung);
            if step < promotion {
                return d;
            }
            if value.is_nan() {
                d.prune = true;
                return d;
            }
            let key = rung_key(rung);
            let mut competing: Vec<f64> = trials
                .iter()
                .filter(|t| t.id != trial.id)
                .filter_map(|t| t.system_attrs.get(&key).and_then(|v| v.as_f64()))
                .collect();
            competing.push(value);
            d.rungs.push((key, value));
            let mut idx = competing.len() as i64 / REDUCTION_FACTOR - 1;
            if idx == -1 {
                idx = 0;
            }
            competing.sort_by(f64::total_cmp);
            let promotable = if maximize {
                value >= competing[competing.len() - 1 - idx as usize]
            } else {
                value <= competing[idx as usize]
            };
            if !promotable {
                d.prune = true;
                return d;
            }
            rung += 1;
        }
    }
}

fn rung_key(rung: u32) -> String {
    format!("completed_rung_{rung}")
}

/// numpy's `nanpercentile` with linear interpolation.
fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

fn median(trial: &Trial, trials: &[&Trial], maximize: bool) -> bool {
    let completed: Vec<&&Trial> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    if completed.is_empty() || completed.len() < MEDIAN_STARTUP_TRIALS {
        return false;
    }
    let Some(step) = trial.last_step() else {
        return false;
    };
    // interval 1, no warm-up: every step is a pruning step.
    let own: Vec<f64> = trial
        .intermediate
        .values()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    if own.is_empty() {
        return true;
    }
    let best = if maximize {
        own.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    } else {
        own.iter().copied().fold(f64::INFINITY, f64::min)
    };
    let mut at_step: Vec<f64> = completed
        .iter()
        .filter_map(|t| t.intermediate.get(&step).copied())
        .filter(|v| !v.is_nan())
        .collect();
    if at_step.is_empty() {
        return false;
    }
    let p = percentile(&mut at_step, 50.0);
    if maximize {
        best < p
    } else {
        best > p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_as_numpy() {
        assert_eq!(percentile(&mut [1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
        assert_eq!(percentile(&mut [3.0], 50.0), 3.0);
        assert!((percentile(&mut [1.0, 2.0, 10.0], 25.0) - 1.5).abs() < 1e-12);
    }
}
