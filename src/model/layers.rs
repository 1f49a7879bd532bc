//! Building blocks with a real backward: linear, layer norm (composed, since
//! candle-nn's fast layer norm has no backward), seeded dropout, activations.
//!
//! Mixed precision: parameters are f32 masters; the activations' dtype is the
//! compute dtype, and each layer casts its weights to it (the cast's backward
//! hands f32 gradients to the masters). Layer norm and the attention softmax
//! run in f32 whatever the compute dtype, as PyTorch autocast does.

use super::config::{Activation, EncoderConfig};
use super::params::{Init, Need, ParamBuilder};
use super::peft::Adapter;
use super::quant::{PackKind, PackedLinear};
use crate::rng::Rng;
use candle_core::{DType, Result, Tensor};

/// Train mode carries the RNG for dropout masks; eval mode has none.
pub enum Mode<'a> {
    Eval,
    Train(&'a mut Rng),
}

impl Mode<'_> {
    pub fn reborrow(&mut self) -> Mode<'_> {
        match self {
            Mode::Eval => Mode::Eval,
            Mode::Train(r) => Mode::Train(r),
        }
    }
}

/// Inverted dropout. The mask is a hash of (a seed drawn from the project's
/// RNG, element index), computed again in the backward: bit-exact
/// reproducible and resumable, the same on the CPU and the GPU and in every
/// precision, and no mask tensor is kept. Inputs no fused kernel takes
/// (bf16 on the CPU) are multiplied by the same mask, built in f32.
pub fn dropout(x: &Tensor, p: f64, mode: &mut Mode) -> Result<Tensor> {
    let rng = match mode {
        Mode::Train(rng) if p > 0.0 => rng,
        _ => return Ok(x.clone()),
    };
    let seed = rng.next_u64();
    if let Some(y) = super::fused::hash_dropout(x, p, seed)? {
        return Ok(y);
    }
    let ones = Tensor::ones(x.shape(), DType::F32, &candle_core::Device::Cpu)?;
    match super::fused::hash_dropout(&ones, p, seed)? {
        Some(mask) => x.mul(&mask.to_device(x.device())?.to_dtype(x.dtype())?),
        None => candle_core::bail!("dropout: no CPU kernel for the mask"),
    }
}

pub struct Linear {
    /// The module's HF name (`bert.encoder.layer.0.attention.self.query`).
    pub name: String,
    pub weight: Tensor,
    pub bias: Tensor,
    /// A parameter-efficient method's adapter (LoRA, DoRA, (IA)³).
    pub adapter: Option<Adapter>,
    /// An inference copy in int8 or bf16 (adapter merged in), used instead of
    /// the f32 weight when set.
    pub packed: Option<PackedLinear>,
}

impl Linear {
    pub fn build(
        pb: &mut ParamBuilder,
        name: &str,
        inputs: usize,
        outputs: usize,
        std: f64,
        need: Need,
    ) -> crate::Result<Self> {
        let weight = pb.take(
            &format!("{name}.weight"),
            &[outputs, inputs],
            Init::Normal(std),
            need,
        )?;
        let bias = pb.take(&format!("{name}.bias"), &[outputs], Init::Zeros, need)?;
        let adapter = pb.adapter_for(name, inputs, outputs, &weight)?;
        Ok(Linear {
            name: name.to_string(),
            weight,
            bias,
            adapter,
            packed: None,
        })
    }

    /// The forward pass with the adapter, if any (its dropout in train
    /// mode), as peft computes it: LoRA base(x) + dropout(x)·Aᵀ·Bᵀ·α/r, DoRA
    /// that direction at its trained magnitude, (IA)³ a rescaled input or
    /// output.
    pub fn forward_t(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        match self.packed_forward(x)? {
            Some(y) => Ok(y),
            None => self.forward_unpacked(x, mode),
        }
    }

    /// base(x) with the f32 (or compute dtype) weight, and the adapter.
    fn forward_unpacked(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        match &self.adapter {
            None => self.forward_f32(x),
            Some(Adapter::Lora(l)) => {
                l.apply(x, &self.forward_f32(x)?, &self.weight, &self.bias, mode)
            }
            Some(Adapter::Ia3(v)) => v.scale_output(&self.forward_f32(&v.scale_input(x)?)?),
        }
    }

    /// x: (..., in) → (..., out).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.packed_forward(x)? {
            Some(y) => Ok(y),
            None => self.forward_f32(x),
        }
    }

    /// The packed weight's output (LoRA merged in), when it takes this
    /// input; with a probe on, its error against f32 is recorded.
    fn packed_forward(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let Some(y) = self
            .packed
            .as_ref()
            .map(|p| p.forward(x))
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        if super::quant::probing() {
            let reference = self.forward_unpacked(x, &mut Mode::Eval)?;
            super::quant::probe_record(&self.name, &y, &reference)?;
        }
        Ok(Some(y))
    }

    /// Pack the weight (adapter merged in) for inference in `kind`.
    pub fn pack(&mut self, kind: PackKind) -> Result<()> {
        let (weight, bias) = match &self.adapter {
            None => (self.weight.clone(), self.bias.clone()),
            Some(Adapter::Lora(l)) => (
                super::peft::lora::merge(
                    &self.weight,
                    &l.effective_a()?,
                    &l.b,
                    l.scale,
                    l.magnitude.as_ref(),
                )?,
                self.bias.clone(),
            ),
            Some(Adapter::Ia3(v)) => (
                super::peft::ia3::merge_weight(&self.weight, &v.l, v.feedforward)?,
                v.scale_output(&self.bias)?,
            ),
        };
        self.packed = Some(PackedLinear::new(kind, &weight, &bias)?);
        Ok(())
    }

    /// The f32 (or compute dtype) forward, adapter excluded.
    fn forward_f32(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let inputs = *dims.last().unwrap_or(&0);
        let rows = x.elem_count() / inputs.max(1);
        let dtype = x.dtype();
        let x2 = x.reshape((rows, inputs))?;
        let y = match super::small_linear::linear(&x2, &self.weight, &self.bias)? {
            Some(y) => y,
            None => super::fused::bias_add(
                &x2.matmul(&self.weight.to_dtype(dtype)?.t()?)?,
                &self.bias.to_dtype(dtype)?,
            )?,
        };
        let mut out = dims;
        if let Some(last) = out.last_mut() {
            *last = self.weight.dim(0)?;
        }
        y.reshape(out)
    }
}

pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f64,
}

impl LayerNorm {
    pub fn build(
        pb: &mut ParamBuilder,
        name: &str,
        size: usize,
        eps: f64,
        need: Need,
    ) -> crate::Result<Self> {
        Ok(LayerNorm {
            weight: pb.take(&format!("{name}.weight"), &[size], Init::Ones, need)?,
            bias: pb.take(&format!("{name}.bias"), &[size], Init::Zeros, need)?,
            eps,
        })
    }

    /// Normalises in f32 and returns the input's dtype.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y =
            super::fused::layer_norm(&x.to_dtype(DType::F32)?, &self.weight, &self.bias, self.eps)?;
        y.to_dtype(x.dtype())
    }

    /// Normalises an f32 input and returns `dtype` (the embeddings' entry
    /// into the compute dtype).
    pub fn forward_to(&self, x: &Tensor, dtype: DType) -> Result<Tensor> {
        self.forward(x)?.to_dtype(dtype)
    }
}

pub fn activate(x: &Tensor, a: Activation) -> Result<Tensor> {
    match a {
        Activation::GeluErf => super::fused::gelu_erf(x),
        Activation::GeluTanh => x.gelu(),
        Activation::Relu => x.relu(),
    }
}

/// The rows of `x` (B, L, H) a layer computes outputs for: all of them, or
/// in the last layer only [CLS] (B, 1, H), the one row the classification
/// head reads. Keys and values still see every token, so the logits (and
/// every gradient) are the same as the full layer's; the other L−1 rows'
/// attention, projections, FFN and norms are skipped, forward and backward.
pub fn query_rows(x: &Tensor, last_layer: bool) -> Result<Tensor> {
    if last_layer {
        x.narrow(1, 0, 1)
    } else {
        Ok(x.clone())
    }
}

/// Multi-head self-attention core: q (B, Lq, H), k, v (B, L, H) → context
/// (B, Lq, H).
/// `mask_bias` is (B, 1, 1, L): 0 for tokens, a large negative for padding.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask_bias: &Tensor,
    cfg: &EncoderConfig,
    mode: &mut Mode,
) -> Result<Tensor> {
    let (b, lq, h) = q.dims3()?;
    let heads = cfg.heads;
    let hd = h / heads;
    let split = |t: &Tensor| {
        let l = t.dim(1)?;
        t.reshape((b, l, heads, hd))?.transpose(1, 2)?.contiguous()
    };
    let (q, k, v) = (split(q)?, split(k)?, split(v)?);
    let scores = q.matmul(&k.t()?)?;
    let probs = super::fused::attention_softmax(&scores, mask_bias, 1.0 / (hd as f64).sqrt())?;
    let probs = dropout(&probs, cfg.attention_dropout, mode)?;
    probs.matmul(&v)?.transpose(1, 2)?.reshape((b, lq, h))
}

/// (B, L) 1/0 attention mask → (B, 1, 1, L) additive bias.
pub fn mask_bias(attention_mask: &Tensor) -> Result<Tensor> {
    let (b, l) = attention_mask.dims2()?;
    ((attention_mask - 1.0)? * 1e9)?.reshape((b, 1, 1, l))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::randn;

    #[test]
    fn a_frozen_weight_gets_no_gradient_on_either_linear_path() {
        // 4 rows take the small-linear kernel, 200 rows the matmul.
        for rows in [4, 200] {
            let x = candle_core::Var::from_tensor(&randn(&[rows, 16], 1)).unwrap();
            let frozen = Linear {
                name: "frozen".into(),
                weight: randn(&[8, 16], 2),
                bias: randn(&[8], 3),
                adapter: None,
                packed: None,
            };
            let y = frozen.forward(x.as_tensor()).unwrap();
            let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            assert!(grads.get(x.as_tensor()).is_some(), "rows {rows}");
            assert!(grads.get(&frozen.weight).is_none(), "rows {rows}");
            assert!(grads.get(&frozen.bias).is_none(), "rows {rows}");
        }
    }

    #[test]
    fn dropout_masks_are_the_same_in_every_precision() {
        let x = (randn(&[16, 300], 3).abs().unwrap() + 0.5).unwrap();
        let zeros = |t: &Tensor| -> Vec<bool> {
            let v = t.to_dtype(DType::F32).unwrap().flatten_all().unwrap();
            v.to_vec1::<f32>()
                .unwrap()
                .iter()
                .map(|v| *v == 0.0)
                .collect()
        };
        let run = |t: &Tensor| dropout(t, 0.2, &mut Mode::Train(&mut Rng::seeded(9))).unwrap();
        let f32_mask = zeros(&run(&x));
        let dropped = f32_mask.iter().filter(|z| **z).count() as f64 / f32_mask.len() as f64;
        assert!((dropped - 0.2).abs() < 0.02, "dropped {dropped}");
        assert_eq!(zeros(&run(&x.to_dtype(DType::BF16).unwrap())), f32_mask);
        assert_eq!(zeros(&run(&x.to_dtype(DType::F16).unwrap())), f32_mask);
        // Eval mode is the identity.
        assert_eq!(
            zeros(&dropout(&x, 0.2, &mut Mode::Eval).unwrap()),
            vec![false; 4800]
        );
    }
}
