//! Where a run stands, saved with every checkpoint so `--resume` continues
//! exactly: step, position in the epoch, RNG, early-stopping bookkeeping.

use crate::rng::RngState;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps done.
    pub step: usize,
    /// Epochs fully done.
    pub epoch: usize,
    /// Batches of the current epoch already consumed.
    pub batch_in_epoch: usize,
    pub samples_seen: u64,
    pub best_metric: Option<f64>,
    pub best_step: Option<usize>,
    pub evals_since_best: usize,
    pub last_eval_step: Option<usize>,
    /// The dropout RNG.
    pub rng: RngState,
    /// f16 runs: the dynamic loss scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scaler: Option<super::step::LossScaler>,
}

impl TrainerState {
    pub fn new(rng: RngState) -> Self {
        TrainerState {
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            samples_seen: 0,
            best_metric: None,
            best_step: None,
            evals_since_best: 0,
            last_eval_step: None,
            rng,
            loss_scaler: None,
        }
    }
}
