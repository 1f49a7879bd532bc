//! LoRA (Hu et al. 2021, as Hugging Face peft implements it): a frozen
//! linear W plus a trained low-rank update, y = W·x + b + α/r·B·A·dropout(x).
//! The adapters are built by `ParamBuilder::lora_for` on the target
//! linears; the encoder around them is built frozen.

use super::layers::{dropout, Mode};
use candle_core::{Result, Tensor};

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
        if self.targets.iter().any(|t| t == "all-linear") {
            return module.contains(".layer.");
        }
        self.targets
            .iter()
            .any(|t| module == t || module.ends_with(&format!(".{t}")))
    }
}

/// One linear's adapter: A (r, in), B (out, r), scale α/r, input dropout.
pub struct LoraAdapter {
    pub a: Tensor,
    pub b: Tensor,
    pub scale: f64,
    pub dropout: f64,
}

impl LoraAdapter {
    /// α/r·(dropout(x)·Aᵀ)·Bᵀ for x (…, in), as (rows, out).
    pub fn delta(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let h = dropout(x, self.dropout, mode)?;
        let inputs = *x.dims().last().unwrap_or(&0);
        let rows = x.elem_count() / inputs.max(1);
        let dtype = x.dtype();
        let u = h
            .reshape((rows, inputs))?
            .matmul(&self.a.to_dtype(dtype)?.t()?)?
            .matmul(&self.b.to_dtype(dtype)?.t()?)?;
        u * self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_as_peft_matches_them() {
        let spec = |t: &[&str]| LoraSpec {
            r: 8,
            alpha: 16.0,
            dropout: 0.0,
            rslora: false,
            targets: t.iter().map(|s| s.to_string()).collect(),
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
