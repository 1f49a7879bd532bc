//! AdamW with decoupled weight decay (none on biases and LayerNorm, as
//! transformers' Trainer does), global-norm clipping and gradient
//! accumulation. Matches `torch.optim.AdamW` step for step.

use crate::model::params::Params;
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, Device, Layout, Result, Tensor, Var};
use rayon::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// First and second moments: plain host memory on CPU (updated in place by
/// one fused pass), tensors on other devices.
enum Moments {
    Host { m: Vec<f32>, v: Vec<f32> },
    Device { m: Tensor, v: Tensor },
}

struct Slot {
    name: String,
    var: Var,
    moments: Moments,
    decay: bool,
}

pub struct AdamW {
    slots: Vec<Slot>,
    cfg: AdamWConfig,
    /// Optimizer steps taken (for bias correction).
    pub steps: usize,
    /// GPU moments are updated by one fused kernel per parameter.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    fused_gpu: bool,
}

/// transformers' rule: no decay for biases and LayerNorm weights.
pub fn decays(name: &str) -> bool {
    !(name.ends_with(".bias") || name.contains("LayerNorm") || name.contains("layer_norm"))
}

/// The coefficients of one update, shared by the fused and tensor paths.
#[derive(Clone, Copy)]
pub(crate) struct Coeffs {
    pub(crate) b1: f32,
    pub(crate) b2: f32,
    pub(crate) eps: f32,
    /// Gradient scale (clipping).
    pub(crate) scale: f32,
    /// lr / (1 − β1^t)
    pub(crate) step_size: f32,
    /// sqrt(1 − β2^t)
    pub(crate) bc2_sqrt: f32,
    /// 1 − lr·wd, or 1 without decay.
    pub(crate) shrink: f32,
}

/// One fused AdamW pass over a parameter, in place, torch's formula:
/// p ← p·(1 − lr·wd) − lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps).
struct FusedUpdate<'a> {
    m: std::cell::RefCell<&'a mut [f32]>,
    v: std::cell::RefCell<&'a mut [f32]>,
    c: Coeffs,
}

impl candle_core::InplaceOp2 for FusedUpdate<'_> {
    fn name(&self) -> &'static str {
        "fused-adamw"
    }

    fn cpu_fwd(
        &self,
        ps: &mut CpuStorage,
        pl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> Result<()> {
        let (CpuStorage::F32(p), CpuStorage::F32(g)) = (ps, gs) else {
            candle_core::bail!("fused AdamW: f32 only")
        };
        let (Some((p0, p1)), Some((g0, g1))) = (pl.contiguous_offsets(), gl.contiguous_offsets())
        else {
            candle_core::bail!("fused AdamW: contiguous tensors only")
        };
        let (p, g) = (&mut p[p0..p1], &g[g0..g1]);
        let mut m = self.m.borrow_mut();
        let mut v = self.v.borrow_mut();
        let c = self.c;
        const CHUNK: usize = 1 << 14;
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
            .for_each(|((p, g), (m, v))| {
                for i in 0..p.len() {
                    let g = g[i] * c.scale;
                    m[i] = c.b1 * m[i] + (1.0 - c.b1) * g;
                    v[i] = c.b2 * v[i] + (1.0 - c.b2) * g * g;
                    let denom = v[i].sqrt() / c.bc2_sqrt + c.eps;
                    p[i] = p[i] * c.shrink - c.step_size * m[i] / denom;
                }
            });
        Ok(())
    }
}

impl AdamW {
    pub fn new(params: &Params, cfg: AdamWConfig) -> Result<Self> {
        Self::build(params, cfg, false)
    }

    /// Keep the moments as tensors even on CPU (the path other devices
    /// take), so tests can compare it with the fused one.
    pub fn with_tensor_moments(params: &Params, cfg: AdamWConfig) -> Result<Self> {
        Self::build(params, cfg, true)
    }

    fn build(params: &Params, cfg: AdamWConfig, tensor_moments: bool) -> Result<Self> {
        let slots = params
            .vars
            .iter()
            .map(|(name, var)| {
                let moments =
                    if !tensor_moments && var.device().is_cpu() && var.dtype() == DType::F32 {
                        let n = var.elem_count();
                        Moments::Host {
                            m: vec![0.0; n],
                            v: vec![0.0; n],
                        }
                    } else {
                        Moments::Device {
                            m: var.zeros_like()?,
                            v: var.zeros_like()?,
                        }
                    };
                Ok(Slot {
                    name: name.clone(),
                    var: var.clone(),
                    moments,
                    decay: decays(name),
                })
            })
            .collect::<Result<_>>()?;
        let on_gpu = params.vars.first().map(|(_, v)| v.device().clone());
        let fused_gpu = match on_gpu {
            Some(device) if !tensor_moments && device.is_cuda() => fused_gpu_available(&device),
            _ => false,
        };
        Ok(AdamW {
            slots,
            cfg,
            steps: 0,
            fused_gpu,
        })
    }

    /// Apply one update with the (accumulated) grads, scaled by
    /// `grad_scale` (the clipping coefficient, 1 when not clipping).
    pub fn step(&mut self, grads: &Grads, lr: f64, grad_scale: f64) -> Result<()> {
        self.steps += 1;
        let t = self.steps as i32;
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        for (slot, g) in self.slots.iter_mut().zip(&grads.0) {
            let Some(g) = g else { continue };
            let shrink = if slot.decay {
                1.0 - lr * self.cfg.weight_decay
            } else {
                1.0
            };
            let c = Coeffs {
                b1: b1 as f32,
                b2: b2 as f32,
                eps: self.cfg.eps as f32,
                scale: grad_scale as f32,
                step_size: (lr / (1.0 - b1.powi(t))) as f32,
                bc2_sqrt: (1.0 - b2.powi(t)).sqrt() as f32,
                shrink: shrink as f32,
            };
            match &mut slot.moments {
                Moments::Host { m, v } => {
                    let g = g.contiguous()?;
                    let op = FusedUpdate {
                        m: std::cell::RefCell::new(m.as_mut_slice()),
                        v: std::cell::RefCell::new(v.as_mut_slice()),
                        c,
                    };
                    slot.var.as_tensor().inplace_op2(&g, &op)?;
                }
                #[cfg(feature = "cuda")]
                Moments::Device { m, v } if self.fused_gpu => {
                    super::optim_cuda::update(slot.var.as_tensor(), g, m, v, c)?;
                }
                Moments::Device { m, v } => {
                    let g = (g * grad_scale)?;
                    *m = ((&*m * b1)? + (&g * (1.0 - b1))?)?;
                    *v = ((&*v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
                    let p = (slot.var.as_tensor() * shrink)?;
                    let denom = ((v.sqrt()? / c.bc2_sqrt as f64)? + self.cfg.eps)?;
                    let update = ((&*m / &denom)? * (lr / (1.0 - b1.powi(t))))?;
                    slot.var.set(&(p - update)?)?;
                }
            }
        }
        Ok(())
    }

    /// Moments as named tensors (`exp_avg.<param>`, `exp_avg_sq.<param>`).
    pub fn state_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::with_capacity(2 * self.slots.len());
        for s in &self.slots {
            let (m, v) = match &s.moments {
                Moments::Host { m, v } => {
                    let shape = s.var.shape();
                    (
                        Tensor::from_slice(m, shape, &Device::Cpu)?,
                        Tensor::from_slice(v, shape, &Device::Cpu)?,
                    )
                }
                Moments::Device { m, v } => (m.clone(), v.clone()),
            };
            out.push((format!("exp_avg.{}", s.name), m));
            out.push((format!("exp_avg_sq.{}", s.name), v));
        }
        Ok(out)
    }

    pub fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        steps: usize,
    ) -> std::result::Result<(), String> {
        for s in &mut self.slots {
            let dims = s.var.dims().to_vec();
            let get = |key: &str| -> std::result::Result<Tensor, String> {
                let name = format!("{key}.{}", s.name);
                let t = tensors
                    .get(&name)
                    .ok_or_else(|| format!("optimizer state lacks '{name}'"))?;
                if t.dims() != dims.as_slice() {
                    return Err(format!(
                        "optimizer state '{name}' has shape {:?}, expected {dims:?}",
                        t.dims()
                    ));
                }
                Ok(t.clone())
            };
            let (m, v) = (get("exp_avg")?, get("exp_avg_sq")?);
            let err = |e: candle_core::Error| e.to_string();
            s.moments = match &s.moments {
                Moments::Host { .. } => Moments::Host {
                    m: m.flatten_all()
                        .and_then(|t| t.to_vec1::<f32>())
                        .map_err(err)?,
                    v: v.flatten_all()
                        .and_then(|t| t.to_vec1::<f32>())
                        .map_err(err)?,
                },
                Moments::Device { .. } => Moments::Device {
                    m: m.to_device(s.var.device()).map_err(err)?,
                    v: v.to_device(s.var.device()).map_err(err)?,
                },
            };
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(feature = "cuda")]
fn fused_gpu_available(device: &Device) -> bool {
    match super::optim_cuda::available(device) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{e}; AdamW falls back to plain tensor ops (slower)");
            false
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn fused_gpu_available(_device: &Device) -> bool {
    false
}

/// Gradients aligned with `Params::vars` (None: the parameter got none).
#[derive(Clone, Debug)]
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
        // On a GPU the partial sums stay on the device: one read, one sync.
        let mut on_device: Option<Tensor> = None;
        for g in self.0.iter().flatten() {
            if g.device().is_cpu() {
                sum += sum_of_squares(g)?;
            } else {
                let s = g.to_dtype(DType::F32)?.sqr()?.sum_all()?;
                on_device = Some(match on_device {
                    Some(acc) => (acc + s)?,
                    None => s,
                });
            }
        }
        if let Some(t) = on_device {
            sum += t.to_scalar::<f32>()? as f64;
        }
        Ok(sum.sqrt())
    }
}

/// Σ g², read in place from host memory when possible.
fn sum_of_squares(g: &Tensor) -> Result<f64> {
    if g.device().is_cpu() && g.dtype() == DType::F32 {
        let (storage, layout) = g.storage_and_layout();
        if let (candle_core::Storage::Cpu(CpuStorage::F32(data)), Some((a, b))) =
            (&*storage, layout.contiguous_offsets())
        {
            // Partial sums added in chunk order (rayon's sum groups them
            // by how work was stolen): seeded runs stay bit-exact.
            let parts: Vec<f64> = data[a..b]
                .par_chunks(1 << 14)
                .map(|c| c.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>())
                .collect();
            return Ok(parts.iter().sum());
        }
    }
    g.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()
}

/// torch's clip_grad_norm_: scale by max/(norm + 1e-6) when that is below 1.
pub fn clip_coefficient(norm: f64, max_norm: f64) -> f64 {
    if max_norm > 0.0 {
        (max_norm / (norm + 1e-6)).min(1.0)
    } else {
        1.0
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
            frozen: vec![],
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
        opt.step(&Grads(vec![Some(g)]), 0.01, 1.0).unwrap();
        // first step: m̂ = g, v̂ = g², update = lr·sign(g); decay p·(1 − lr·wd)
        let got = var.as_tensor().to_vec1::<f32>().unwrap();
        let want = [1.0 * (1.0 - 0.001) - 0.01, -2.0 * (1.0 - 0.001) + 0.01];
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{got:?}");
        }
    }
}
