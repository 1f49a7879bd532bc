//! (IA)³ (Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is
//! Better and Cheaper than In-Context Learning", as peft implements it): a
//! trained vector per target linear that rescales its output, or for the
//! feed-forward modules its input. peft's defaults for BERT and RoBERTa are
//! the targets `key`, `value`, `output.dense`, with `output.dense` (which
//! also ends `attention.output.dense`) feed-forward. The vectors start at 1,
//! so training starts from the pretrained model exactly.

use candle_core::{Result, Tensor};

/// The vector's name under its module, as peft saves it.
pub const VECTOR: &str = "ia3_l";

/// (IA)³'s shape: the target modules, and which of them are feed-forward
/// (scaled at the input). Names are matched as peft matches them.
#[derive(Clone, Debug, PartialEq)]
pub struct Ia3Spec {
    pub targets: Vec<String>,
    pub feedforward: Vec<String>,
}

impl Ia3Spec {
    pub fn targets_module(&self, module: &str) -> bool {
        super::targets_module(module, &self.targets)
    }

    pub fn is_feedforward(&self, module: &str) -> bool {
        super::targets_module(module, &self.feedforward)
    }

    /// The vector's shape as peft stores it: (1, in) for a feed-forward
    /// module, (out, 1) otherwise.
    pub fn shape(&self, module: &str, inputs: usize, outputs: usize) -> [usize; 2] {
        if self.is_feedforward(module) {
            [1, inputs]
        } else {
            [outputs, 1]
        }
    }
}

/// One linear's (IA)³ vector.
pub struct Ia3Vector {
    /// (1, in) or (out, 1), as saved.
    pub l: Tensor,
    pub feedforward: bool,
}

impl Ia3Vector {
    /// The input the base linear sees: x·l for a feed-forward module.
    pub fn scale_input(&self, x: &Tensor) -> Result<Tensor> {
        if !self.feedforward {
            return Ok(x.clone());
        }
        x.broadcast_mul(&self.l.flatten_all()?.to_dtype(x.dtype())?)
    }

    /// The output: (W·x + b)·l for the other modules (the bias scaled too,
    /// as peft scales the base layer's whole result).
    pub fn scale_output(&self, y: &Tensor) -> Result<Tensor> {
        if self.feedforward {
            return Ok(y.clone());
        }
        y.broadcast_mul(&self.l.flatten_all()?.to_dtype(y.dtype())?)
    }
}

/// peft's merge: W·l, with l (1, in) scaling columns or (out, 1) rows.
pub fn merge_weight(weight: &Tensor, l: &Tensor, feedforward: bool) -> Result<Tensor> {
    let l = l.to_dtype(weight.dtype())?;
    let l = if feedforward {
        l.reshape((1, weight.dim(1)?))?
    } else {
        l.reshape((weight.dim(0)?, 1))?
    };
    weight.broadcast_mul(&l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_diff, randn};

    /// The merged linear computes what the adapted one computes, both kinds.
    #[test]
    fn a_merged_linear_equals_the_scaled_one() {
        let (w, b, x) = (randn(&[5, 4], 1), randn(&[5], 2), randn(&[3, 4], 3));
        let linear = |w: &Tensor, b: &Tensor, x: &Tensor| {
            x.matmul(&w.t().unwrap()).unwrap().broadcast_add(b).unwrap()
        };
        for feedforward in [true, false] {
            let shape: &[usize] = if feedforward { &[1, 4] } else { &[5, 1] };
            let v = Ia3Vector {
                l: randn(shape, 4),
                feedforward,
            };
            let adapted = v
                .scale_output(&linear(&w, &b, &v.scale_input(&x).unwrap()))
                .unwrap();
            let merged_w = merge_weight(&w, &v.l, feedforward).unwrap();
            let merged_b = if feedforward {
                b.clone()
            } else {
                b.mul(&v.l.flatten_all().unwrap()).unwrap()
            };
            let merged = linear(&merged_w, &merged_b, &x);
            assert!(
                max_diff(&adapted, &merged) < 1e-5,
                "feedforward {feedforward}"
            );
        }
    }

    #[test]
    fn peft_bert_defaults_make_both_output_denses_feedforward() {
        let spec = Ia3Spec {
            targets: ["key", "value", "output.dense"].map(String::from).to_vec(),
            feedforward: vec!["output.dense".into()],
        };
        let m = |s: &str| format!("bert.encoder.layer.0.{s}");
        assert!(spec.targets_module(&m("attention.self.key")));
        assert!(!spec.targets_module(&m("attention.self.query")));
        assert!(spec.is_feedforward(&m("attention.output.dense")));
        assert!(spec.is_feedforward(&m("output.dense")));
        assert!(!spec.is_feedforward(&m("attention.self.value")));
        assert_eq!(spec.shape(&m("output.dense"), 37, 32), [1, 37]);
        assert_eq!(spec.shape(&m("attention.self.value"), 32, 32), [32, 1]);
    }
}
