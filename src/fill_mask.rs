//! Fill-mask: a masked-LM checkpoint's likeliest pieces at each mask token
//! of a text, best first, as transformers' `fill-mask` pipeline reports
//! them (`token`, `token_str`, `score`).

use crate::config::ConfigError;
use crate::error::Result;
use crate::model::config::HeadKind;
use crate::model::{Classifier, Mode};
use crate::text::batch::make_batch;
use crate::text::TextEncoder;
use candle_core::Tensor;
use serde::Serialize;

/// transformers' pipeline default.
pub const DEFAULT_TOP_K: usize = 5;

/// One candidate for a mask.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Filled {
    pub token: u32,
    pub token_str: String,
    pub score: f32,
}

/// For each text, for each of its masks in order, the `top_k` likeliest
/// pieces. A text without the mask token, a tokenizer without one, or a
/// model without a masked-LM head is refused saying so.
pub fn fill_mask(
    model: &Classifier,
    text: &TextEncoder,
    texts: &[&str],
    top_k: usize,
) -> Result<Vec<Vec<Vec<Filled>>>> {
    if model.config.head != HeadKind::MaskedLm {
        return Err(ConfigError::field(
            "checkpoint",
            "fill-mask needs a masked-LM model (…ForMaskedLM: a pretrain run, or transformers' own); this one classifies",
        )
        .into());
    }
    if let Some(missing) = model.fresh.first() {
        return Err(ConfigError::field(
            "checkpoint",
            format!("its masked-LM head is not in the checkpoint ({missing} missing): its answers would be random"),
        )
        .into());
    }
    let (mask_token, mask_id) = text.mask_token().ok_or_else(|| {
        ConfigError::field(
            "tokenizer",
            "the tokenizer has no mask token ([MASK] or <mask>), so no piece can be asked for",
        )
    })?;
    let ids = text.encode_all(texts)?;
    for (i, row) in ids.iter().enumerate() {
        if !row.contains(&mask_id) {
            return Err(ConfigError::field(
                "texts",
                format!(
                    "text {} ('{}') holds no {mask_token}: fill-mask predicts the pieces at the model's mask token (within its first {} pieces)",
                    i + 1,
                    texts[i],
                    text.max_len()
                ),
            )
            .into());
        }
    }
    crate::device::on_compute_threads(&model.device, || {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(crate::predict::EVAL_BATCH) {
            let rows: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
            let batch = make_batch(&rows, None, text.pad_id(), &model.device)?;
            let width = batch.input_ids.dim(1)?;
            let mut positions = Vec::new();
            let mut per_row = Vec::with_capacity(rows.len());
            for (r, row) in rows.iter().enumerate() {
                let at: Vec<u32> = (0..row.len())
                    .filter(|&i| row[i] == mask_id)
                    .map(|i| (r * width + i) as u32)
                    .collect();
                per_row.push(at.len());
                positions.extend(at);
            }
            let positions = Tensor::new(positions.as_slice(), &model.device)?;
            let logits = model.masked_lm_logits(
                &batch.input_ids,
                &batch.attention_mask,
                &positions,
                &mut Mode::Eval,
            )?;
            let probs = candle_nn::ops::softmax_last_dim(&logits)?.to_vec2::<f32>()?;
            let mut masks = probs.into_iter();
            for n in per_row {
                let mut answers = Vec::with_capacity(n);
                for p in masks.by_ref().take(n) {
                    answers.push(top(&p, top_k, text)?);
                }
                out.push(answers);
            }
        }
        Ok(out)
    })
}

/// The `k` likeliest pieces of a distribution, best first (ties by id).
fn top(probs: &[f32], k: usize, text: &TextEncoder) -> Result<Vec<Filled>> {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|i| {
            Ok(Filled {
                token: i as u32,
                token_str: text.decode_piece(i as u32)?,
                score: probs[i],
            })
        })
        .collect()
}
