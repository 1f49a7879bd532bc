//! One optimizer step: forward and backward over the micro-batches,
//! gradient accumulation, global-norm clipping and the AdamW update. The
//! engine and the benchmarks both run exactly this.

use super::objective::Objective;
use super::optim::{clip_coefficient, AdamW, Grads};
use crate::data::Task;
use crate::error::{Error, Result};
use crate::model::{Classifier, Mode};
use crate::rng::Rng;
use crate::text::Batch;
use candle_core::Tensor;

/// Dynamic loss scaling for f16 (PyTorch GradScaler's policy): the loss is
/// multiplied by `scale` before backward so small gradients survive in f16;
/// a step whose gradients overflow is skipped and the scale halved; after
/// `growth_interval` good steps in a row it doubles.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossScaler {
    pub scale: f64,
    good_steps: usize,
    growth_interval: usize,
}

impl LossScaler {
    pub fn new() -> Self {
        LossScaler {
            scale: 65536.0,
            good_steps: 0,
            growth_interval: 2000,
        }
    }

    /// A scaler when the precision needs one (f16).
    pub fn for_precision(p: crate::config::Precision) -> Option<Self> {
        (p == crate::config::Precision::F16).then(Self::new)
    }

    fn overflowed(&mut self) {
        self.scale = (self.scale / 2.0).max(1.0);
        self.good_steps = 0;
    }

    fn stepped(&mut self) {
        self.good_steps += 1;
        if self.good_steps >= self.growth_interval {
            self.scale *= 2.0;
            self.good_steps = 0;
        }
    }
}

impl Default for LossScaler {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Debug)]
pub struct StepStats {
    /// Mean loss over the micro-batches.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    pub samples: usize,
    pub tokens: usize,
    /// f16 gradients overflowed: the update was skipped (weights unchanged)
    /// and the loss scale lowered.
    pub skipped: bool,
    /// The step's gradients and the factor the update applied to them
    /// (clipping and loss unscaling), for AdaLoRA's rank allocator; None
    /// when the update was skipped.
    pub grads: Option<(Grads, f64)>,
}

/// A loss or gradient norm that is NaN or infinite: the step was not applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFinite {
    pub what: &'static str,
    pub value: f64,
}

/// The loss transformers computes for `task`: cross-entropy over class
/// ids, BCE with logits averaged over every (row, label), the mean
/// squared error of the one output, or cross-entropy over labelled pieces.
pub fn task_loss(task: Task, logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    match task {
        Task::SingleLabel => candle_nn::loss::cross_entropy(logits, target),
        Task::MultiLabel => {
            // max(x, 0) - x·y + log(1 + exp(-|x|)): stable for large |x|.
            let softplus = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
            (logits.relu()? - (logits * target)?)?
                .add(&softplus)?
                .mean_all()
        }
        Task::Regression => {
            let predicted = logits.flatten_all()?;
            predicted.sub(&target.flatten_all()?)?.sqr()?.mean_all()
        }
        Task::TokenClassification => token_loss(logits, target),
    }
}

/// Cross-entropy over the pieces whose target is not `IGNORE` (PyTorch's
/// `ignore_index=-100`, mean over the counted pieces): logits (B, L, C),
/// target (B, L) i64.
pub fn token_loss(logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    let c = logits.dim(candle_core::D::Minus1)?;
    let logits = logits.reshape(((), c))?;
    let target = target.flatten_all()?;
    let keep = target.ge(0i64)?;
    let safe = keep.where_cond(&target, &target.zeros_like()?)?;
    let logp = candle_nn::ops::log_softmax(&logits, candle_core::D::Minus1)?;
    let picked = logp
        .gather(&safe.to_dtype(candle_core::DType::U32)?.unsqueeze(1)?, 1)?
        .squeeze(1)?;
    let keep = keep.to_dtype(candle_core::DType::F32)?;
    let n = keep.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
    (picked * keep)?.sum_all()?.neg()? / n
}

/// What one optimizer step does: the loss it minimizes, at what rate,
/// clipped to what gradient norm.
#[derive(Clone, Copy, Debug)]
pub struct StepPlan {
    pub objective: Objective,
    pub lr: f64,
    pub max_grad_norm: f64,
}

pub fn train_step(
    model: &Classifier,
    optimizer: &mut AdamW,
    rng: &mut Rng,
    micro: &[Batch],
    plan: StepPlan,
    scaler: Option<&mut LossScaler>,
) -> Result<std::result::Result<StepStats, NonFinite>> {
    crate::device::on_compute_threads(&model.device, || {
        step_on_this_thread(model, optimizer, rng, micro, plan, scaler)
    })
}

fn step_on_this_thread(
    model: &Classifier,
    optimizer: &mut AdamW,
    rng: &mut Rng,
    micro: &[Batch],
    plan: StepPlan,
    scaler: Option<&mut LossScaler>,
) -> Result<std::result::Result<StepStats, NonFinite>> {
    let loss_scale = scaler.as_ref().map_or(1.0, |s| s.scale);
    let mut grads: Option<Grads> = None;
    let (mut loss_sum, mut samples, mut tokens) = (0f64, 0, 0);
    for batch in micro {
        let logits = plan.objective.logits(model, batch, &mut Mode::Train(rng))?;
        let target = batch
            .labels
            .as_ref()
            .ok_or_else(|| Error::Run("batch without labels".into()))?;
        let loss = plan.objective.loss(&logits, target)?;
        // The reported loss is the task's, comparable with the eval loss.
        let value = loss.to_scalar::<f32>()? as f64;
        // AdaLoRA's orthogonality penalty joins every micro-batch's loss,
        // as peft adds it to each forward's loss (its starting value,
        // about 0.5·√r, would otherwise dominate the curve).
        let loss = match model.peft_penalty()? {
            Some(penalty) => (loss + penalty)?,
            None => loss,
        };
        if !value.is_finite() {
            return Ok(Err(NonFinite {
                what: "loss",
                value,
            }));
        }
        let store = (loss * (loss_scale / micro.len() as f64))?.backward()?;
        let g = Grads::collect(&model.params, &store);
        match &mut grads {
            Some(acc) => acc.accumulate(g)?,
            None => grads = Some(g),
        }
        loss_sum += value;
        samples += batch.size;
        tokens += batch.tokens;
    }
    let grads = grads.ok_or_else(|| Error::Run("empty optimizer step".into()))?;
    let grad_norm = grads.global_norm()? / loss_scale;
    let mut skipped = false;
    let mut applied = None;
    match scaler {
        Some(scaler) if !grad_norm.is_finite() => {
            scaler.overflowed();
            skipped = true;
        }
        _ if !grad_norm.is_finite() => {
            return Ok(Err(NonFinite {
                what: "gradient norm",
                value: grad_norm,
            }))
        }
        scaler => {
            // Unscaling folds into the clipping coefficient: one pass.
            let coefficient = clip_coefficient(grad_norm, plan.max_grad_norm) / loss_scale;
            optimizer.step(&grads, plan.lr, coefficient)?;
            if let Some(s) = scaler {
                s.stepped();
            }
            applied = Some(coefficient);
        }
    }
    Ok(Ok(StepStats {
        loss: loss_sum / micro.len() as f64,
        grad_norm,
        samples,
        tokens,
        skipped,
        grads: applied.map(|c| (grads, c)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Labels;
    use crate::model::classifier::BuildSpec;
    use crate::model::config::scratch_config;
    use crate::text::batch::make_batch;
    use crate::train::optim::AdamWConfig;
    use candle_core::{DType, Device};

    const PLAN: StepPlan = StepPlan {
        objective: Objective::Supervised(Task::SingleLabel),
        lr: 1e-3,
        max_grad_norm: 1.0,
    };

    fn tiny(dtype: DType) -> (Classifier, AdamW, Vec<Batch>) {
        let labels = Labels::new(vec!["a".into(), "b".into()]);
        let spec = BuildSpec::scratch(scratch_config("tiny", 50).unwrap(), labels, "test");
        let model = Classifier::build(spec, &mut Rng::seeded(1), &Device::Cpu)
            .unwrap()
            .with_compute_dtype(dtype);
        let opt = AdamW::new(
            &model.params,
            AdamWConfig {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        )
        .unwrap();
        let rows: Vec<Vec<u32>> = (0..4).map(|i| vec![1, 5 + i, 9, 2]).collect();
        let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
        let batch = make_batch(&refs, Some(&[0, 1, 0, 1]), 0, &Device::Cpu).unwrap();
        (model, opt, vec![batch])
    }

    #[test]
    fn scaler_halves_on_overflow_and_doubles_after_a_run_of_good_steps() {
        let mut s = LossScaler::new();
        s.overflowed();
        assert_eq!(s.scale, 32768.0);
        for _ in 0..1999 {
            s.stepped();
        }
        assert_eq!(s.scale, 32768.0);
        s.stepped();
        assert_eq!(s.scale, 65536.0);
    }

    #[test]
    fn f16_overflow_skips_the_update_and_lowers_the_scale() {
        let (model, mut opt, batches) = tiny(DType::F16);
        let before = model.named_tensors().unwrap()[0].1.copy().unwrap();
        // A scale that overflows f16 gradients (max ~65504) at once.
        let mut scaler = LossScaler {
            scale: 1e30,
            ..LossScaler::new()
        };
        let mut rng = Rng::seeded(2);
        let stats = train_step(
            &model,
            &mut opt,
            &mut rng,
            &batches,
            PLAN,
            Some(&mut scaler),
        )
        .unwrap()
        .unwrap();
        assert!(stats.skipped);
        assert_eq!(scaler.scale, 5e29);
        let after = &model.named_tensors().unwrap()[0].1;
        let moved = (after - &before).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(moved.to_scalar::<f32>().unwrap(), 0.0, "weights unchanged");

        // A sane scale applies the step, with the true (unscaled) norm.
        let mut scaler = LossScaler::new();
        let scaled = train_step(
            &model,
            &mut opt,
            &mut Rng::seeded(2),
            &batches,
            PLAN,
            Some(&mut scaler),
        )
        .unwrap()
        .unwrap();
        assert!(!scaled.skipped);
        let (f32_model, mut f32_opt, _) = tiny(DType::F32);
        let plain = train_step(
            &f32_model,
            &mut f32_opt,
            &mut Rng::seeded(2),
            &batches,
            PLAN,
            None,
        )
        .unwrap()
        .unwrap();
        let rel = (scaled.grad_norm - plain.grad_norm).abs() / plain.grad_norm;
        assert!(
            rel < 0.05,
            "unscaled norm {} vs f32 {}",
            scaled.grad_norm,
            plain.grad_norm
        );
    }
}
