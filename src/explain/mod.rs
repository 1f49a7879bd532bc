//! Why a model decided (token attributions by Integrated Gradients), and
//! which labels look wrong (confident learning).

pub mod attributions;
pub mod label_issues;
pub mod multilabel_issues;

pub use crate::protocol::Explanation;
pub use attributions::integrated_gradients;
