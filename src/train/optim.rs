//! AdamW with decoupled weight decay (none on biases and LayerNorm, as
//! transformers' Trainer does), global-norm clipping and gradient
//! accumulation. Matches `torch.optim.AdamW` step for step.

use crate::model::params::Params;
use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

pub struct AdamW {
    slots: Vec<Slot>,
    cfg: AdamWConfig,
    /// Optimizer steps taken (for bias correction).
    pub steps: usize,
}

/// transformers' rule: no decay for biases and LayerNorm weights.
pub fn decays(name: &str) -> bool {
    !(name.ends_with(".bias") || name.contains("LayerNorm") || name.contains("layer_norm"))
}

impl AdamW {
    pub fn new(params: &Params, cfg: AdamWConfig) -> Result<Self> {
        let slots = params
            .vars
            .iter()
            .map(|(name, var)| {
                Ok(Slot {
                    name: name.clone(),
                    var: var.clone(),
                    m: var.zeros_like()?,
                    v: var.zeros_like()?,
                    decay: decays(name),
                })
            })
            .collect::<Result<_>>()?;
        Ok(AdamW {
            slots,
            cfg,
            steps: 0,
        })
    }

    /// Apply one update with the (already accumulated and clipped) grads.
    pub fn step(&mut self, grads: &Grads, lr: f64) -> Result<()> {
        self.steps += 1;
        let t = self.steps as i32;
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        let bc1 = 1.0 - b1.powi(t);
        let bc2_sqrt = (1.0 - b2.powi(t)).sqrt();
        for (slot, g) in self.slots.iter_mut().zip(&grads.0) {
            let Some(g) = g else { continue };
            slot.m = ((&slot.m * b1)? + (g * (1.0 - b1))?)?;
            slot.v = ((&slot.v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let mut p = slot.var.as_tensor().clone();
            if slot.decay && self.cfg.weight_decay > 0.0 {
                p = (p * (1.0 - lr * self.cfg.weight_decay))?;
            }
            let denom = ((slot.v.sqrt()? / bc2_sqrt)? + self.cfg.eps)?;
            let update = ((&slot.m / &denom)? * (lr / bc1))?;
            slot.var.set(&(p - update)?)?;
        }
        Ok(())
    }

    /// Moments as named tensors (`exp_avg.<param>`, `exp_avg_sq.<param>`).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        self.slots
            .iter()
            .flat_map(|s| {
                [
                    (format!("exp_avg.{}", s.name), s.m.clone()),
                    (format!("exp_avg_sq.{}", s.name), s.v.clone()),
                ]
            })
            .collect()
    }

    pub fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        steps: usize,
    ) -> std::result::Result<(), String> {
        for s in &mut self.slots {
            for (key, dst) in [("exp_avg", &mut s.m), ("exp_avg_sq", &mut s.v)] {
                let name = format!("{key}.{}", s.name);
                let t = tensors
                    .get(&name)
                    .ok_or_else(|| format!("optimizer state lacks '{name}'"))?;
                if t.dims() != dst.dims() {
                    return Err(format!(
                        "optimizer state '{name}' has shape {:?}, expected {:?}",
                        t.dims(),
                        dst.dims()
                    ));
                }
                *dst = t.to_device(dst.device()).map_err(|e| e.to_string())?;
            }
        }
        self.steps = steps;
        Ok(())
    }
}

/// Gradients aligned with `Params::vars` (None: the parameter got none).
pub struct Grads(pub Vec<Option<Tensor>>);

impl Grads {
    pub fn collect(params: &Params, store: &GradStore) -> Self {
        Grads(
            params
                .vars
                .iter()
                .map(|(_, v)| store.get(v.as_tensor()).cloned())
                .collect(),
        )
    }

    /// Add another micro-batch's gradients.
    pub fn accumulate(&mut self, other: Grads) -> Result<()> {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = match (a.take(), b) {
                (Some(x), Some(y)) => Some((x + y)?),
                (x, y) => x.or(y),
            };
        }
        Ok(())
    }

    pub fn global_norm(&self) -> Result<f64> {
        let mut sum = 0f64;
        for g in self.0.iter().flatten() {
            sum += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
        Ok(sum.sqrt())
    }

    /// Scale so the global norm is at most `max_norm` (torch's
    /// clip_grad_norm_: coefficient max/(norm + 1e-6), capped at 1).
    pub fn clip(&mut self, norm: f64, max_norm: f64) -> Result<()> {
        let coef = max_norm / (norm + 1e-6);
        if max_norm > 0.0 && coef < 1.0 {
            for g in self.0.iter_mut().flatten() {
                *g = (&*g * coef)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_skips_biases_and_layer_norms() {
        assert!(decays("bert.encoder.layer.0.attention.self.query.weight"));
        assert!(!decays("bert.encoder.layer.0.attention.self.query.bias"));
        assert!(!decays("bert.embeddings.LayerNorm.weight"));
        assert!(!decays(
            "distilbert.transformer.layer.0.sa_layer_norm.weight"
        ));
    }

    #[test]
    fn one_step_matches_the_adamw_formula() {
        let var = Var::from_slice(&[1.0f32, -2.0], 2, &candle_core::Device::Cpu).unwrap();
        let params = Params {
            vars: vec![("w.weight".into(), var.clone())],
        };
        let mut opt = AdamW::new(
            &params,
            AdamWConfig {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.1,
            },
        )
        .unwrap();
        let g = Tensor::from_slice(&[0.5f32, -1.0], 2, &candle_core::Device::Cpu).unwrap();
        opt.step(&Grads(vec![Some(g)]), 0.01).unwrap();
        // first step: m̂ = g, v̂ = g², update = lr·sign(g); decay p·(1 − lr·wd)
        let got = var.as_tensor().to_vec1::<f32>().unwrap();
        let want = [1.0 * (1.0 - 0.001) - 0.01, -2.0 * (1.0 - 0.001) + 0.01];
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{got:?}");
        }
    }
}
