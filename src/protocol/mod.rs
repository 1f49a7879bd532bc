//! The messages between the engine and every front end — commands in,
//! events out, and what they carry (predictions, explanations, metrics) —
//! plus the fold of events into where a run stands. A leaf: it imports
//! nothing from the engine or the front ends, so the TUI, the run process,
//! the attach socket and the run directory all share it.

pub mod explanation;
pub mod messages;
pub mod progress;
pub mod task_scores;

pub use explanation::{marked_words, strength, Explanation, TokenScore, WordScore, DEFAULT_STEPS};
pub use messages::{
    ClassMetrics, Command, EntityGroup, Event, ExplainRequest, FinishReason, Prediction,
};
pub use progress::{BestEval, RunProgress, RunStatus};
pub use task_scores::{metric_value, SpanErrors, TaskScores, SCATTER_POINTS};
