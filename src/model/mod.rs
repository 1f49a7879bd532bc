//! Trainable encoders with classification heads, their weights on disk, and
//! where models come from (local dir, HF cache, scratch).

pub mod bert;
pub mod checkpoint;
pub mod classifier;
pub mod config;
mod cpu_kernels;
pub mod distilbert;
pub mod export;
pub mod fused;
#[cfg(feature = "cuda")]
mod fused_cuda;
pub mod heads;
pub mod hub;
pub mod layers;
pub mod params;
pub mod peft;
pub mod probs;
pub mod quant;
pub mod small_linear;

pub use crate::error::ModelError;
pub use classifier::{Classifier, Mode};
pub use config::{Arch, EncoderConfig};
