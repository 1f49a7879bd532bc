//! A sequence classifier: one of our encoders plus its head, its labels and
//! the parameters the optimizer updates.

use super::bert::Bert;
use super::config::{Arch, EncoderConfig};
use super::distilbert::DistilBert;
use super::params::{ParamBuilder, Params};
use crate::data::Labels;
use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

pub use super::layers::Mode;

enum Net {
    Bert(Bert),
    DistilBert(DistilBert),
}

pub struct Classifier {
    pub config: EncoderConfig,
    pub labels: Labels,
    pub params: Params,
    /// Parameters that were initialised rather than loaded.
    pub fresh: Vec<String>,
    /// Tensors in the weights file that the model does not use.
    pub unused: Vec<String>,
    pub device: Device,
    /// Dtype of the forward pass (f32 masters are cast to it per layer).
    pub compute: DType,
    net: Net,
    /// The source config.json, so saved configs keep fields we do not model.
    base_config: Option<Value>,
}

/// Prefixes of the parameters that depend on the label set.
pub const HEAD_PREFIX: &str = "classifier.";

pub struct BuildSpec {
    pub config: EncoderConfig,
    pub labels: Labels,
    pub weights: HashMap<String, Tensor>,
    pub source: PathBuf,
    /// Initialise every parameter (scratch models).
    pub scratch: bool,
    /// Keep a loaded classification head (labels match); otherwise fresh.
    pub keep_head: bool,
    pub base_config: Option<Value>,
    /// Pretrained weights built as constants (no gradient, no optimizer state).
    pub freeze: crate::config::Freeze,
}

impl BuildSpec {
    /// A model initialised from scratch (`source` names it in messages).
    pub fn scratch(config: EncoderConfig, labels: Labels, source: impl Into<PathBuf>) -> Self {
        BuildSpec {
            config,
            labels,
            weights: HashMap::new(),
            source: source.into(),
            scratch: true,
            keep_head: false,
            base_config: None,
            freeze: crate::config::Freeze::None,
        }
    }
}

impl Classifier {
    pub fn build(
        spec: BuildSpec,
        rng: &mut crate::rng::Rng,
        device: &Device,
    ) -> crate::Result<Self> {
        let mut pb =
            ParamBuilder::new(spec.weights, spec.source, rng, device.clone(), spec.scratch);
        if !spec.keep_head {
            pb.forget(HEAD_PREFIX);
        }
        if let crate::config::Freeze::Layers(n) = spec.freeze {
            if n > spec.config.layers {
                return Err(
                    crate::config::ConfigError::Invalid(vec![crate::config::FieldError {
                        field: "freeze",
                        reason: format!(
                            "layers:{n}, but the model has {} encoder layers",
                            spec.config.layers
                        ),
                    }])
                    .into(),
                );
            }
        }
        pb.freeze = spec.freeze;
        let n = spec.labels.len();
        let net = match spec.config.arch {
            Arch::Bert => Net::Bert(Bert::build(&mut pb, &spec.config, n)?),
            Arch::DistilBert => Net::DistilBert(DistilBert::build(&mut pb, &spec.config, n)?),
        };
        Ok(Classifier {
            config: spec.config,
            labels: spec.labels,
            unused: pb.unused(),
            fresh: std::mem::take(&mut pb.fresh),
            params: std::mem::take(&mut pb.params),
            device: device.clone(),
            compute: DType::F32,
            net,
            base_config: spec.base_config,
        })
    }

    /// Run the forward pass in `dtype` (f32, bf16, f16) from now on.
    pub fn with_compute_dtype(mut self, dtype: DType) -> Self {
        self.compute = dtype;
        self
    }

    /// Logits (B, num_labels), always f32 whatever the compute dtype.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        let logits = match &self.net {
            Net::Bert(m) => m.forward(input_ids, attention_mask, self.compute, mode),
            Net::DistilBert(m) => m.forward(input_ids, attention_mask, self.compute, mode),
        }?;
        logits.to_dtype(DType::F32)
    }

    pub fn config_json(&self) -> Value {
        self.config.to_json(&self.labels, self.base_config.as_ref())
    }

    /// Every weight, trainable and frozen, by HF name.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.params
            .vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .chain(self.params.frozen.iter().cloned())
            .collect()
    }
}
