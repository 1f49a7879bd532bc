//! AdaLoRA (Zhang et al. 2023, "Adaptive Budget Allocation for
//! Parameter-Efficient Fine-Tuning", as peft implements it): LoRA in SVD
//! form, ΔW = B·(A ⊙ E)·α/(r₀ + 1e-5) with E (r, 1) the singular values,
//! an orthogonality penalty on A and B, and a rank allocator that scores
//! each singular triplet by smoothed sensitivity × uncertainty and zeroes
//! the lowest ones until a cubic budget schedule reaches `target_r` per
//! module on average.
//!
//! The allocator runs after every optimizer step, on the parameters as
//! updated and the step's gradients (clipped), as peft's documented
//! `update_and_allocate(global_step)` does; a run that never calls it would
//! silently train plain LoRA (peft #1801, #432), so the engine owns the call.

use candle_core::{DType, Result, Tensor, Var, D};
use std::collections::{BTreeMap, HashMap};

/// A module's singular values, as peft names them.
pub const E: &str = "lora_E";

/// AdaLoRA's settings (peft's `AdaLoraConfig` names in comments).
#[derive(Clone, Debug, PartialEq)]
pub struct AdaLoraSpec {
    /// `init_r`: every module's starting rank.
    pub init_r: usize,
    /// `target_r`: the average rank left after allocation.
    pub target_r: usize,
    pub alpha: f64,
    pub dropout: f64,
    pub targets: Vec<String>,
    /// `tinit`: steps before the first cut.
    pub tinit: usize,
    /// `tfinal`: steps at the end with the ranks fixed.
    pub tfinal: usize,
    /// `deltaT`: steps between two cuts.
    pub delta_t: usize,
    /// EMA factors of sensitivity and uncertainty.
    pub beta1: f64,
    pub beta2: f64,
    /// `orth_reg_weight`.
    pub orth_reg: f64,
    /// `total_step`: the run's optimizer steps.
    pub total_step: usize,
    /// Which singular values each module keeps (HF module name → one flag
    /// per rank of `init_r`), once the allocator has masked; saved as
    /// peft's `rank_pattern`, and the saved tensors are cut to it.
    pub rank_pattern: Option<BTreeMap<String, Vec<bool>>>,
}

impl AdaLoraSpec {
    /// α/(r₀ + 1e-5): peft keeps `ranknum` at the initial rank, also after
    /// the tensors are cut.
    pub fn scale(&self) -> f64 {
        self.alpha / (self.init_r as f64 + 1e-5)
    }

    pub fn targets_module(&self, module: &str) -> bool {
        super::targets_module(module, &self.targets)
    }

    /// The budget (total rank) and whether this step masks: peft's
    /// `budget_schedule`, the cubic decay from `init_bgt` to `target_bgt`
    /// between `tinit` and `total_step − tfinal`.
    pub fn budget(&self, step: usize, modules: usize, init_budget: usize) -> (usize, bool) {
        let target = self.target_r * modules;
        if step <= self.tinit {
            return (init_budget, false);
        }
        if step > self.total_step.saturating_sub(self.tfinal) {
            return (target, true);
        }
        let span = (self.total_step - self.tfinal - self.tinit) as f64;
        let coeff = 1.0 - (step - self.tinit) as f64 / span;
        let budget =
            ((init_budget as f64 - target as f64) * coeff.powi(3) + target as f64) as usize;
        (budget, step.is_multiple_of(self.delta_t.max(1)))
    }
}

/// The orthogonality penalty: the mean over every A and B of
/// ‖A·Aᵀ − I‖_F and ‖Bᵀ·B − I‖_F (peft's `AdaLoraModel.forward`).
pub fn orth_penalty(params: &[(String, Var)]) -> Result<Option<Tensor>> {
    let mut terms = Vec::new();
    for (name, var) in params {
        let p = var.as_tensor();
        let cov = if name.ends_with(".lora_A") {
            p.matmul(&p.t()?)?
        } else if name.ends_with(".lora_B") {
            p.t()?.matmul(p)?
        } else {
            continue;
        };
        let n = cov.dim(0)?;
        let eye = Tensor::eye(n, DType::F32, p.device())?;
        terms.push((cov - eye)?.sqr()?.sum_all()?.sqrt()?);
    }
    if terms.is_empty() {
        return Ok(None);
    }
    let count = terms.len() as f64;
    Ok(Some((Tensor::stack(&terms, 0)?.sum_all()? / count)?))
}

/// The module of an AdaLoRA tensor name (`….query.lora_A` → `….query`).
fn module_of(name: &str) -> Option<(&str, &str)> {
    ["lora_A", "lora_B", E]
        .into_iter()
        .find_map(|k| name.strip_suffix(&format!(".{k}")).map(|m| (m, k)))
}

/// peft's `RankAllocator`: EMAs of each AdaLoRA tensor's importance
/// |p·∇p| (sensitivity) and of its deviation (uncertainty).
pub struct RankAllocator {
    spec: AdaLoraSpec,
    /// Sum of the modules' ranks at the start (`init_bgt`).
    init_budget: usize,
    modules: usize,
    /// Per tensor name: (exp_avg_ipt, exp_avg_unc).
    ema: BTreeMap<String, (Tensor, Tensor)>,
}

impl RankAllocator {
    pub fn new(spec: AdaLoraSpec, params: &[(String, Var)]) -> Self {
        let ranks: Vec<usize> = params
            .iter()
            .filter(|(n, _)| n.ends_with(".lora_A"))
            .map(|(_, v)| v.dims()[0])
            .collect();
        RankAllocator {
            spec,
            init_budget: ranks.iter().sum(),
            modules: ranks.len(),
            ema: BTreeMap::new(),
        }
    }

    /// One call per optimizer step, after the update, with the step's
    /// gradients by parameter name. Masks (zeroes) the E entries of the
    /// triplets below the step's budget and returns the rank pattern when
    /// it masked; after `total_step − tfinal` it applies `fixed` (the
    /// pattern saved at that step) instead.
    pub fn update_and_allocate(
        &mut self,
        step: usize,
        params: &[(String, Var)],
        grad: &dyn Fn(&str) -> Option<Tensor>,
        fixed: Option<&BTreeMap<String, Vec<bool>>>,
    ) -> Result<Option<BTreeMap<String, Vec<bool>>>> {
        let last = self.spec.total_step.saturating_sub(self.spec.tfinal);
        if step < last {
            self.update_importance(params, grad)?;
            let (budget, mask) = self.spec.budget(step, self.modules, self.init_budget);
            return if mask {
                self.mask_to_budget(params, budget).map(Some)
            } else {
                Ok(None)
            };
        }
        if step == last {
            let (budget, _) = self.spec.budget(step, self.modules, self.init_budget);
            let pattern = self.mask_to_budget(params, budget)?;
            self.ema.clear();
            return Ok(Some(pattern));
        }
        if let Some(pattern) = fixed {
            apply_pattern(params, pattern)?;
        }
        Ok(None)
    }

    fn update_importance(
        &mut self,
        params: &[(String, Var)],
        grad: &dyn Fn(&str) -> Option<Tensor>,
    ) -> Result<()> {
        let (b1, b2) = (self.spec.beta1, self.spec.beta2);
        for (name, var) in params {
            if module_of(name).is_none() {
                continue;
            }
            let p = var.as_tensor().detach();
            let ipt = match grad(name) {
                Some(g) => (&p * g.detach())?.abs()?,
                None => p.zeros_like()?,
            };
            let (avg, unc) = match self.ema.remove(name) {
                Some(s) => s,
                None => (p.zeros_like()?, p.zeros_like()?),
            };
            let avg = ((avg * b1)? + (&ipt * (1.0 - b1))?)?;
            let unc = ((unc * b2)? + ((&ipt - &avg)?.abs()? * (1.0 - b2))?)?;
            self.ema.insert(name.clone(), (avg, unc));
        }
        Ok(())
    }

    /// Each triplet's score: E's element score plus the means of its A row
    /// and B column; every E at or below the (init − budget)-th smallest
    /// score is zeroed (peft's `mask_to_budget`, ties included).
    fn mask_to_budget(
        &self,
        params: &[(String, Var)],
        budget: usize,
    ) -> Result<BTreeMap<String, Vec<bool>>> {
        let score = |name: &str| -> Result<Option<Tensor>> {
            self.ema.get(name).map(|(a, u)| a * u).transpose()
        };
        let mut triplets: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for (name, _) in params {
            let Some((module, kind)) = module_of(name) else {
                continue;
            };
            let Some(s) = score(name)? else {
                continue;
            };
            let v: Vec<f32> = match kind {
                "lora_A" => s.mean(D::Minus1)?.to_vec1()?,
                "lora_B" => s.mean(0)?.to_vec1()?,
                _ => s.flatten_all()?.to_vec1()?,
            };
            let entry = triplets
                .entry(module.to_string())
                .or_insert_with(|| vec![0.0; v.len()]);
            for (acc, x) in entry.iter_mut().zip(&v) {
                *acc += x;
            }
        }
        let mut all: Vec<f32> = triplets.values().flatten().copied().collect();
        all.sort_by(f32::total_cmp);
        let k = self.init_budget.saturating_sub(budget);
        // k = 0 keeps everything (peft's kthvalue would fail on it).
        let threshold = if k == 0 {
            f32::NEG_INFINITY
        } else {
            all[(k - 1).min(all.len().saturating_sub(1))]
        };
        let pattern: BTreeMap<String, Vec<bool>> = triplets
            .into_iter()
            .map(|(m, s)| (m, s.iter().map(|x| *x > threshold).collect()))
            .collect();
        apply_pattern(params, &pattern)?;
        Ok(pattern)
    }

    /// The EMAs, for a checkpoint (`adalora.ipt.<name>`, `adalora.unc.<name>`).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        self.ema
            .iter()
            .flat_map(|(n, (a, u))| {
                [
                    (format!("adalora.ipt.{n}"), a.clone()),
                    (format!("adalora.unc.{n}"), u.clone()),
                ]
            })
            .collect()
    }

    /// Restore the EMAs a checkpoint saved (none before the first step).
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>) {
        for (key, t) in tensors {
            if let Some(n) = key.strip_prefix("adalora.ipt.") {
                if let Some(u) = tensors.get(&format!("adalora.unc.{n}")) {
                    self.ema.insert(n.to_string(), (t.clone(), u.clone()));
                }
            }
        }
    }
}

/// Zero E where the pattern drops a rank.
fn apply_pattern(params: &[(String, Var)], pattern: &BTreeMap<String, Vec<bool>>) -> Result<()> {
    for (name, var) in params {
        let Some((module, kind)) = module_of(name) else {
            continue;
        };
        if kind != E {
            continue;
        }
        let Some(keep) = pattern.get(module) else {
            continue;
        };
        let mask: Vec<f32> = keep.iter().map(|k| if *k { 1.0 } else { 0.0 }).collect();
        let mask = Tensor::from_vec(mask, (keep.len(), 1), var.device())?;
        var.set(&var.as_tensor().mul(&mask)?)?;
    }
    Ok(())
}

/// An adapter tensor cut to its module's kept ranks, as peft saves it
/// (A and E rows, B columns); other tensors as they are.
pub fn cut(name: &str, t: &Tensor, pattern: &BTreeMap<String, Vec<bool>>) -> Result<Tensor> {
    let Some((module, kind)) = module_of(name) else {
        return Ok(t.clone());
    };
    let Some(keep) = pattern.get(module) else {
        return Ok(t.clone());
    };
    let idx: Vec<u32> = (0..keep.len() as u32)
        .filter(|i| keep[*i as usize])
        .collect();
    let idx = Tensor::new(idx.as_slice(), t.device())?;
    let dim = if kind == "lora_B" { 1 } else { 0 };
    t.index_select(&idx, dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tinit: usize, tfinal: usize, total: usize) -> AdaLoraSpec {
        AdaLoraSpec {
            init_r: 6,
            target_r: 3,
            alpha: 8.0,
            dropout: 0.0,
            targets: vec!["query".into()],
            tinit,
            tfinal,
            delta_t: 1,
            beta1: 0.85,
            beta2: 0.85,
            orth_reg: 0.5,
            total_step: total,
            rank_pattern: None,
        }
    }

    /// peft's schedule on 8 modules of rank 6 (budget 48 → 24): held
    /// through tinit, cubic in between, the target from total − tfinal.
    #[test]
    fn the_budget_follows_peft_cubic_schedule() {
        let s = spec(2, 3, 10);
        let budgets: Vec<(usize, bool)> = (1..=10).map(|t| s.budget(t, 8, 48)).collect();
        let want = [48, 48, 36, 29, 25, 24, 24, 24, 24, 24];
        assert_eq!(budgets.iter().map(|b| b.0).collect::<Vec<_>>(), want);
        assert_eq!(
            budgets.iter().map(|b| b.1).collect::<Vec<_>>(),
            [false, false, true, true, true, true, true, true, true, true]
        );
    }
}
