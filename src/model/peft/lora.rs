//! LoRA (Hu et al. 2021, as Hugging Face peft implements it): a frozen
//! linear W plus a trained low-rank update, y = W·x + b + α/r·B·A·dropout(x).
//!
//! DoRA (Liu et al. 2024, peft's `use_dora`) splits the adapted weight into
//! a trained magnitude per output row and a direction:
//! W' = m ⊙ (W + s·BA) / ‖W + s·BA‖ (row norms, detached as peft detaches
//! them, so no gradient flows through the norm).
//! The adapters are built by `ParamBuilder::adapter_for` on the target
//! linears; the encoder around them is built frozen.

use crate::model::layers::{dropout, Mode};
use candle_core::{DType, Result, Tensor, D};

/// The magnitude vector's name under its module, as peft saves it.
pub const MAGNITUDE: &str = "lora_magnitude_vector";

/// LoRA's shape: rank, scale α/r, dropout, target module names.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraSpec {
    pub r: usize,
    pub alpha: f64,
    pub dropout: f64,
    /// rsLoRA's scale α/√r instead of α/r (peft's `use_rslora`).
    pub rslora: bool,
    /// Module names matched as peft matches them, or `all-linear`.
    pub targets: Vec<String>,
    /// DoRA: a trained magnitude per output row (peft's `use_dora`).
    pub dora: bool,
}

impl LoraSpec {
    pub fn scale(&self) -> f64 {
        if self.rslora {
            self.alpha / (self.r as f64).sqrt()
        } else {
            self.alpha / self.r as f64
        }
    }

    /// Whether the linear `module` (HF name, no `.weight`) gets an adapter:
    /// its name is a target or ends with `.target` (peft's rule);
    /// `all-linear` adapts every linear of the encoder layers.
    pub fn targets_module(&self, module: &str) -> bool {
        super::targets_module(module, &self.targets)
    }
}

/// One linear's adapter: A (r, in), B (out, r), scale α/r, input dropout,
/// for DoRA the magnitude (out), for AdaLoRA the singular values E (r, 1).
pub struct LoraAdapter {
    pub a: Tensor,
    pub b: Tensor,
    pub scale: f64,
    pub dropout: f64,
    pub magnitude: Option<Tensor>,
    pub e: Option<Tensor>,
}

impl LoraAdapter {
    /// The adapted layer's output given the base output `y` = W·x + b (…, out):
    /// LoRA adds α/r·B·A·dropout(x); DoRA computes, as peft's
    /// `DoraLinearLayer.forward`, y + (g − 1)·W·d + g·α/r·B·A·d with
    /// d = dropout(x) and g = m / ‖W + s·BA‖.
    pub fn apply(
        &self,
        x: &Tensor,
        y: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        mode: &mut Mode,
    ) -> Result<Tensor> {
        let drops = matches!(mode, Mode::Train(_)) && self.dropout > 0.0;
        let d = dropout(x, self.dropout, mode)?;
        let delta = self.delta(&d)?.reshape(y.shape())?;
        let Some(magnitude) = &self.magnitude else {
            return y + delta;
        };
        let dtype = y.dtype();
        let g = (magnitude / self.weight_norm(weight)?)?.to_dtype(dtype)?;
        if drops {
            // peft recomputes the base on the dropped input: W·d, no bias.
            let inputs = *x.dims().last().unwrap_or(&0);
            let rows = x.elem_count() / inputs.max(1);
            let base_d = d
                .reshape((rows, inputs))?
                .matmul(&weight.to_dtype(dtype)?.t()?)?
                .reshape(y.shape())?;
            let gm1 = (&g - 1.0)?;
            return (y + base_d.broadcast_mul(&gm1)?)? + delta.broadcast_mul(&g)?;
        }
        // Without dropout W·d = y − b, so y' = g·(y + Δ) + (1 − g)·b.
        let one_minus_g = (g.neg()? + 1.0)?;
        (y + delta)?
            .broadcast_mul(&g)?
            .broadcast_add(&bias.to_dtype(dtype)?.mul(&one_minus_g)?)
    }

    /// ‖W + s·B·A‖ per output row, in f32, detached (peft's
    /// `get_weight_norm` on detached LoRA weights).
    fn weight_norm(&self, weight: &Tensor) -> Result<Tensor> {
        row_norms(&merged_direction(
            &weight.detach(),
            &self.a.detach(),
            &self.b.detach(),
            self.scale,
        )?)
    }

    /// A, or AdaLoRA's A ⊙ E.
    pub fn effective_a(&self) -> Result<Tensor> {
        match &self.e {
            Some(e) => self.a.broadcast_mul(e),
            None => Ok(self.a.clone()),
        }
    }

    /// α/r·(d·Aᵀ)·Bᵀ for d (…, in), as (rows, out).
    fn delta(&self, d: &Tensor) -> Result<Tensor> {
        let inputs = *d.dims().last().unwrap_or(&0);
        let rows = d.elem_count() / inputs.max(1);
        let dtype = d.dtype();
        let u = d
            .reshape((rows, inputs))?
            .matmul(&self.effective_a()?.to_dtype(dtype)?.t()?)?
            .matmul(&self.b.to_dtype(dtype)?.t()?)?;
        u * self.scale
    }
}

/// W + s·B·A in f32.
fn merged_direction(weight: &Tensor, a: &Tensor, b: &Tensor, scale: f64) -> Result<Tensor> {
    let f = |t: &Tensor| t.to_dtype(DType::F32);
    f(weight)? + (f(b)?.matmul(&f(a)?)? * scale)?
}

/// The Euclidean norm of each row of a 2-D tensor.
fn row_norms(w: &Tensor) -> Result<Tensor> {
    w.sqr()?.sum(D::Minus1)?.sqrt()
}

/// The merged weight: W + s·B·A, and for DoRA scaled per row to its
/// magnitude, m ⊙ (W + s·BA) / ‖W + s·BA‖ (peft's merge). The bias is
/// unchanged.
pub fn merge(
    weight: &Tensor,
    a: &Tensor,
    b: &Tensor,
    scale: f64,
    magnitude: Option<&Tensor>,
) -> Result<Tensor> {
    let w = merged_direction(weight, a, b, scale)?;
    let Some(m) = magnitude else {
        return Ok(w);
    };
    let g = (m.to_dtype(DType::F32)? / row_norms(&w)?)?;
    w.broadcast_mul(&g.unsqueeze(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::test_util::{max_diff, randn};

    fn dora_adapter(dropout: f64) -> (LoraAdapter, Tensor, Tensor) {
        let (w, b) = (randn(&[5, 4], 1), randn(&[5], 2));
        let adapter = LoraAdapter {
            a: randn(&[2, 4], 3),
            b: randn(&[5, 2], 4),
            scale: 1.5,
            dropout,
            magnitude: Some((randn(&[5], 5).abs().unwrap() + 0.5).unwrap()),
            e: None,
        };
        (adapter, w, b)
    }

    fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
        x.matmul(&w.t().unwrap()).unwrap().broadcast_add(b).unwrap()
    }

    /// In eval mode DoRA's output is the merged linear's: m ⊙ (W + s·BA)
    /// / ‖W + s·BA‖ rows, the bias untouched.
    #[test]
    fn dora_in_eval_equals_its_merged_weight() {
        let (l, w, b) = dora_adapter(0.2);
        let x = randn(&[3, 4], 6);
        let got = l
            .apply(&x, &linear(&x, &w, &b), &w, &b, &mut Mode::Eval)
            .unwrap();
        let merged = merge(&w, &l.a, &l.b, l.scale, l.magnitude.as_ref()).unwrap();
        let norms = merged.sqr().unwrap().sum(1).unwrap().sqrt().unwrap();
        assert!(max_diff(&norms, l.magnitude.as_ref().unwrap()) < 1e-5);
        assert!(max_diff(&got, &linear(&x, &merged, &b)) < 1e-5);
    }

    /// With dropout in training, peft recomputes the base on the dropped
    /// input: y + (g − 1)·W·d + g·s·B·A·d, d the same mask as the LoRA path.
    #[test]
    fn dora_with_dropout_follows_peft_formula() {
        let (l, w, b) = dora_adapter(0.3);
        let x = randn(&[6, 4], 7);
        let y = linear(&x, &w, &b);
        let got = l
            .apply(&x, &y, &w, &b, &mut Mode::Train(&mut Rng::seeded(9)))
            .unwrap();
        let d = dropout(&x, 0.3, &mut Mode::Train(&mut Rng::seeded(9))).unwrap();
        let full = (&w + (l.b.matmul(&l.a).unwrap() * l.scale).unwrap()).unwrap();
        let norms = full.sqr().unwrap().sum(1).unwrap().sqrt().unwrap();
        let g = (l.magnitude.as_ref().unwrap() / norms).unwrap();
        let wd = d.matmul(&w.t().unwrap()).unwrap();
        let bad = d
            .matmul(&l.a.t().unwrap())
            .unwrap()
            .matmul(&l.b.t().unwrap())
            .unwrap();
        let want = ((&y + wd.broadcast_mul(&(&g - 1.0).unwrap()).unwrap()).unwrap()
            + (bad * l.scale).unwrap().broadcast_mul(&g).unwrap())
        .unwrap();
        assert!(max_diff(&got, &want) < 1e-5);
        // The mask dropped something, so this is not the eval path.
        let eval = l.apply(&x, &y, &w, &b, &mut Mode::Eval).unwrap();
        assert!(max_diff(&got, &eval) > 1e-3);
    }

    #[test]
    fn targets_match_as_peft_matches_them() {
        let spec = |t: &[&str]| LoraSpec {
            r: 8,
            alpha: 16.0,
            dropout: 0.0,
            rslora: false,
            targets: t.iter().map(|s| s.to_string()).collect(),
            dora: false,
        };
        let q = "bert.encoder.layer.0.attention.self.query";
        let ao = "bert.encoder.layer.0.attention.output.dense";
        let o = "bert.encoder.layer.0.output.dense";
        let qv = spec(&["query", "value"]);
        assert!(qv.targets_module(q) && !qv.targets_module(o));
        assert_eq!(qv.scale(), 2.0);
        // "output.dense" ends both output denses, as in peft.
        let od = spec(&["output.dense"]);
        assert!(od.targets_module(o) && od.targets_module(ao));
        let all = spec(&["all-linear"]);
        assert!(all.targets_module(q) && !all.targets_module("bert.pooler.dense"));
        assert!(!all.targets_module("classifier"));
    }
}
