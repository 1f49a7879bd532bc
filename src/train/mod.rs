//! The training engine: a loop on its own thread, driven by `Command`s and
//! reporting `Event`s (see `crate::protocol`).

pub mod cross_val;
pub mod engine;
pub mod entity_metrics;
pub mod metrics;
pub mod objective;
pub mod optim;
#[cfg(feature = "cuda")]
mod optim_cuda;
pub mod prepare;
pub mod schedule;
pub mod state;
pub mod step;
pub mod task_metrics;
pub mod thresholds;

pub use engine::{spawn, EngineHandle, Trainer};
pub use prepare::prepare;
