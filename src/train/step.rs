//! One optimizer step: forward and backward over the micro-batches,
//! gradient accumulation, global-norm clipping and the AdamW update. The
//! engine and the benchmarks both run exactly this.

use super::optim::{clip_coefficient, AdamW, Grads};
use crate::error::{Error, Result};
use crate::model::{Classifier, Mode};
use crate::rng::Rng;
use crate::text::Batch;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// Mean loss over the micro-batches.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    pub samples: usize,
    pub tokens: usize,
}

/// A loss or gradient norm that is NaN or infinite: the step was not applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFinite {
    pub what: &'static str,
    pub value: f64,
}

pub fn train_step(
    model: &Classifier,
    optimizer: &mut AdamW,
    rng: &mut Rng,
    micro: &[Batch],
    lr: f64,
    max_grad_norm: f64,
) -> Result<std::result::Result<StepStats, NonFinite>> {
    let mut grads: Option<Grads> = None;
    let (mut loss_sum, mut samples, mut tokens) = (0f64, 0, 0);
    for batch in micro {
        let logits = model.forward(
            &batch.input_ids,
            &batch.attention_mask,
            &mut Mode::Train(rng),
        )?;
        let target = batch
            .labels
            .as_ref()
            .ok_or_else(|| Error::Run("batch without labels".into()))?;
        let loss = candle_nn::loss::cross_entropy(&logits, target)?;
        let value = loss.to_scalar::<f32>()? as f64;
        if !value.is_finite() {
            return Ok(Err(NonFinite {
                what: "loss",
                value,
            }));
        }
        let store = (loss / micro.len() as f64)?.backward()?;
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
    let grad_norm = grads.global_norm()?;
    if !grad_norm.is_finite() {
        return Ok(Err(NonFinite {
            what: "gradient norm",
            value: grad_norm,
        }));
    }
    optimizer.step(&grads, lr, clip_coefficient(grad_norm, max_grad_norm))?;
    Ok(Ok(StepStats {
        loss: loss_sum / micro.len() as f64,
        grad_norm,
        samples,
        tokens,
    }))
}
