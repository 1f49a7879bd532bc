//! Creating a model's parameters: taken from loaded weights when present,
//! otherwise initialised the way BERT does (N(0, σ), LayerNorm 1/0, bias 0)
//! with the project's seeded RNG.

use super::ModelError;
use crate::rng::Rng;
use candle_core::{DType, Device, Tensor, Var};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug)]
pub enum Init {
    Normal(f64),
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

/// The trainable parameters of a model, in creation (HF) order.
#[derive(Clone, Default)]
pub struct Params {
    pub vars: Vec<(String, Var)>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn count(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }
}

pub struct ParamBuilder<'a> {
    loaded: HashMap<String, Tensor>,
    source: PathBuf,
    rng: &'a mut Rng,
    device: Device,
    /// Build every parameter fresh (scratch models).
    scratch: bool,
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
            params: Params::default(),
            fresh: Vec::new(),
        }
    }

    /// Drop a loaded tensor so the parameter is initialised instead (a head
    /// whose labels do not match the data).
    pub fn forget(&mut self, prefix: &str) {
        self.loaded.retain(|k, _| !k.starts_with(prefix));
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
        }
    }

    /// Names in the weights file that the model did not use.
    pub fn unused(&self) -> Vec<String> {
        let mut v: Vec<String> = self.loaded.keys().cloned().collect();
        v.sort();
        v
    }
}
