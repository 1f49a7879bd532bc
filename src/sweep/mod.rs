//! Hyperparameter search (`tunebench sweep`): the `[search]` space sampled
//! by Optuna's samplers, trials run as ordinary run processes, losers
//! pruned, the study kept in Optuna's journal format.

pub mod distribution;
pub mod driver;
pub mod journal;
pub mod pruner;
pub mod sampler;
pub mod summary;

pub use driver::{is_sweep_dir, SweepError, SweepOptions, SweepOutcome, Worker};
