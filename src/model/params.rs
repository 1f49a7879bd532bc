//! Creating a model's parameters: taken from loaded weights when present,
//! otherwise initialised the way BERT does (N(0, σ), LayerNorm 1/0, bias 0)
//! with the project's seeded RNG.

use super::peft::ia3::Ia3Vector;
use super::peft::lora::LoraAdapter;
use super::peft::{Adapter, PeftSpec};
use super::ModelError;
use crate::config::Freeze;
use crate::rng::Rng;
use candle_core::{DType, Device, Tensor, Var};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug)]
pub enum Init {
    Normal(f64),
    /// U(-b, b): LoRA's A, as peft's kaiming-uniform(a=√5) gives 1/√fan_in.
    Uniform(f64),
    Zeros,
    Ones,
}

/// Whether a parameter must come from the weights file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Part of the pretrained encoder: missing is an error (unless scratch).
    Encoder,
    /// Pooler or head: freshly initialised when missing.
    Head,
}

/// A model's parameters, in creation (HF) order: the trainable ones as
/// `Var`s (the optimizer's), the frozen ones as plain tensors, which record
/// no gradient and get no optimizer state.
#[derive(Clone, Default)]
pub struct Params {
    pub vars: Vec<(String, Var)>,
    pub frozen: Vec<(String, Tensor)>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Trainable parameters.
    pub fn count(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Every parameter, frozen ones included.
    pub fn total(&self) -> usize {
        self.count()
            + self
                .frozen
                .iter()
                .map(|(_, t)| t.elem_count())
                .sum::<usize>()
    }
}

/// Whether `freeze` covers the parameter `name` (HF names: `*.embeddings.*`
/// and `*.layer.N.*` are the encoder; pooler and head never freeze).
pub fn is_frozen(freeze: Freeze, name: &str) -> bool {
    if super::peft::is_adapter_tensor(name) {
        return false;
    }
    let embedding = name.contains(".embeddings.");
    let layer = name
        .split_once(".layer.")
        .and_then(|(_, rest)| rest.split('.').next())
        .and_then(|n| n.parse::<usize>().ok());
    match freeze {
        Freeze::None => false,
        Freeze::Embeddings => embedding,
        Freeze::Encoder => embedding || layer.is_some(),
        Freeze::Layers(n) => embedding || layer.is_some_and(|i| i < n),
    }
}

pub struct ParamBuilder<'a> {
    loaded: HashMap<String, Tensor>,
    source: PathBuf,
    rng: &'a mut Rng,
    device: Device,
    /// Build every parameter fresh (scratch models).
    scratch: bool,
    /// Which parameters are built frozen.
    pub freeze: Freeze,
    /// The parameter-efficient method whose adapters go on the target linears.
    pub peft: Option<PeftSpec>,
    /// Modules that got an adapter.
    pub adapted: Vec<String>,
    pub params: Params,
    /// Names that were initialised rather than loaded.
    pub fresh: Vec<String>,
}

impl<'a> ParamBuilder<'a> {
    pub fn new(
        loaded: HashMap<String, Tensor>,
        source: PathBuf,
        rng: &'a mut Rng,
        device: Device,
        scratch: bool,
    ) -> Self {
        ParamBuilder {
            loaded,
            source,
            rng,
            device,
            scratch,
            freeze: Freeze::None,
            peft: None,
            adapted: Vec::new(),
            params: Params::default(),
            fresh: Vec::new(),
        }
    }

    /// Use these tensors instead of the source's (same names).
    pub fn override_with(&mut self, tensors: HashMap<String, Tensor>) {
        self.loaded.extend(tensors);
    }

    /// Drop a loaded tensor so the parameter is initialised instead (a head
    /// whose labels do not match the data).
    pub fn forget(&mut self, prefix: &str) {
        self.loaded.retain(|k, _| !k.starts_with(prefix));
    }

    /// Read the loaded tensor `from` as `to` (a checkpoint that saved a
    /// tied tensor under its other name).
    pub fn rename(&mut self, from: &str, to: &str) {
        if let Some(t) = self.loaded.remove(from) {
            self.loaded.insert(to.to_string(), t);
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.loaded.contains_key(name)
    }

    pub fn take(
        &mut self,
        name: &str,
        shape: &[usize],
        init: Init,
        need: Need,
    ) -> Result<Tensor, crate::Error> {
        let tensor = match self.loaded.remove(name) {
            Some(t) => {
                if t.dims() != shape {
                    return Err(ModelError::ShapeMismatch {
                        path: self.source.clone(),
                        name: name.to_string(),
                        expected: shape.to_vec(),
                        found: t.dims().to_vec(),
                    }
                    .into());
                }
                t.to_dtype(DType::F32)?.to_device(&self.device)?
            }
            None if need == Need::Encoder && !self.scratch => {
                return Err(ModelError::MissingTensor {
                    path: self.source.clone(),
                    name: name.to_string(),
                }
                .into())
            }
            None => {
                self.fresh.push(name.to_string());
                self.init(shape, init)?
            }
        };
        if is_frozen(self.freeze, name) {
            self.params.frozen.push((name.to_string(), tensor.clone()));
            return Ok(tensor);
        }
        let var = Var::from_tensor(&tensor)?;
        let t = var.as_tensor().clone();
        self.params.vars.push((name.to_string(), var));
        Ok(t)
    }

    fn init(&mut self, shape: &[usize], init: Init) -> candle_core::Result<Tensor> {
        let n: usize = shape.iter().product();
        match init {
            Init::Zeros => Tensor::zeros(shape, DType::F32, &self.device),
            Init::Ones => Tensor::ones(shape, DType::F32, &self.device),
            Init::Normal(std) => {
                let data: Vec<f32> = (0..n).map(|_| self.rng.normal() * std as f32).collect();
                Tensor::from_vec(data, shape, &self.device)
            }
            Init::Uniform(b) => {
                let data: Vec<f32> = (0..n)
                    .map(|_| (self.rng.uniform() * 2.0 - 1.0) * b as f32)
                    .collect();
                Tensor::from_vec(data, shape, &self.device)
            }
        }
    }

    /// The adapter for the linear `module` of weight (out, in), when it is
    /// a target: LoRA's A (r, in) and B (out, r), DoRA's magnitude (out,
    /// starting at W's row norms, as B starts at 0), or (IA)³'s vector
    /// (starting at 1).
    pub fn adapter_for(
        &mut self,
        module: &str,
        inputs: usize,
        outputs: usize,
        weight: &Tensor,
    ) -> Result<Option<Adapter>, crate::Error> {
        let Some(spec) = self.peft.clone().filter(|s| s.targets_module(module)) else {
            return Ok(None);
        };
        self.adapted.push(module.to_string());
        match spec {
            PeftSpec::Lora(spec) => {
                let bound = 1.0 / (inputs as f64).sqrt();
                let a = self.take(
                    &format!("{module}.lora_A.weight"),
                    &[spec.r, inputs],
                    Init::Uniform(bound),
                    Need::Head,
                )?;
                let b = self.take(
                    &format!("{module}.lora_B.weight"),
                    &[outputs, spec.r],
                    Init::Zeros,
                    Need::Head,
                )?;
                let magnitude = if spec.dora {
                    let norms = weight.detach().sqr()?.sum(1)?.sqrt()?;
                    Some(self.take_or(
                        &format!("{module}.{}", super::peft::lora::MAGNITUDE),
                        &[outputs],
                        norms,
                    )?)
                } else {
                    None
                };
                Ok(Some(Adapter::Lora(LoraAdapter {
                    a,
                    b,
                    scale: spec.scale(),
                    dropout: spec.dropout,
                    magnitude,
                    e: None,
                })))
            }
            PeftSpec::AdaLora(spec) => {
                // peft's init: A, B ~ N(0, 0.02), E = 0 (so ΔW starts at 0).
                // A loaded adapter may hold fewer ranks (cut by peft).
                let name = |k: &str| format!("{module}.{k}");
                let r = self
                    .loaded
                    .get(&name("lora_A"))
                    .map_or(spec.init_r, |t| t.dims()[0]);
                let a = self.take(
                    &name("lora_A"),
                    &[r, inputs],
                    Init::Normal(0.02),
                    Need::Head,
                )?;
                let e = self.take(
                    &name(super::peft::adalora::E),
                    &[r, 1],
                    Init::Zeros,
                    Need::Head,
                )?;
                let b = self.take(
                    &name("lora_B"),
                    &[outputs, r],
                    Init::Normal(0.02),
                    Need::Head,
                )?;
                Ok(Some(Adapter::Lora(LoraAdapter {
                    a,
                    b,
                    scale: spec.scale(),
                    dropout: spec.dropout,
                    magnitude: None,
                    e: Some(e),
                })))
            }
            // A prefix adapts no linear (the encoder builds it).
            PeftSpec::Prefix(_) => Ok(None),
            PeftSpec::Ia3(spec) => {
                let l = self.take(
                    &format!("{module}.{}", super::peft::ia3::VECTOR),
                    &spec.shape(module, inputs, outputs),
                    Init::Ones,
                    Need::Head,
                )?;
                Ok(Some(Adapter::Ia3(Ia3Vector {
                    l,
                    feedforward: spec.is_feedforward(module),
                })))
            }
        }
    }

    /// A trainable parameter taken from the weights when present, else
    /// starting at `initial` (a value computed from other weights).
    fn take_or(
        &mut self,
        name: &str,
        shape: &[usize],
        initial: Tensor,
    ) -> Result<Tensor, crate::Error> {
        if !self.loaded.contains_key(name) {
            self.loaded.insert(name.to_string(), initial);
        }
        self.take(name, shape, Init::Zeros, Need::Head)
    }

    /// Names in the weights file that the model did not use.
    pub fn unused(&self) -> Vec<String> {
        let mut v: Vec<String> = self.loaded.keys().cloned().collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezing_covers_embeddings_and_the_first_layers_never_the_head() {
        let names = [
            "bert.embeddings.word_embeddings.weight",
            "bert.encoder.layer.0.attention.self.query.weight",
            "bert.encoder.layer.1.output.dense.bias",
            "bert.encoder.layer.11.output.LayerNorm.weight",
            "bert.pooler.dense.weight",
            "classifier.weight",
            "distilbert.transformer.layer.2.ffn.lin1.weight",
            "pre_classifier.weight",
        ];
        let frozen = |f: Freeze| -> Vec<bool> { names.iter().map(|n| is_frozen(f, n)).collect() };
        assert_eq!(frozen(Freeze::None), [false; 8]);
        assert_eq!(
            frozen(Freeze::Embeddings),
            [true, false, false, false, false, false, false, false]
        );
        assert_eq!(
            frozen(Freeze::Encoder),
            [true, true, true, true, false, false, true, false]
        );
        assert_eq!(
            frozen(Freeze::Layers(2)),
            [true, true, true, false, false, false, false, false]
        );
    }
}
