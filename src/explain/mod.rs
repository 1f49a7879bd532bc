//! Why a model decided: token attributions by Integrated Gradients.

pub mod attributions;

pub use attributions::{integrated_gradients, Explanation};
