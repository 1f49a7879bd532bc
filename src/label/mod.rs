//! Active learning: which unlabeled rows to label next (`strategy`), when
//! labelling stops paying (`stopping`), and the simulator that measures
//! how many labels a strategy saves (`simulate`), and a person's labelling
//! session over a pool (`session`).

pub mod kmeans;
pub mod round;
pub mod session;
pub mod simulate;
pub mod stopping;
pub mod strategy;
