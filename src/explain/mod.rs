//! Why a model decided (token attributions by Integrated Gradients), and
//! which labels look wrong (confident learning).

pub mod attributions;
pub mod cross_val;
pub mod label_issues;

pub use attributions::{integrated_gradients, Explanation};
