//! The run registry: what runs a runs directory holds and where each
//! stands (live, finished, crashed...), read from their run dirs and by
//! probing their sockets.

pub mod reference;
pub mod registry;

pub use crate::protocol::{BestEval, RunProgress, RunStatus};
pub use registry::{list, newest_live, read_events, summarize, RunSummary};
