//! BertForSequenceClassification and RobertaForSequenceClassification
//! (XLM-R's too), trainable, with HuggingFace tensor names. RoBERTa is
//! BERT's encoder with positions numbered from `pad_token_id + 1`, one
//! token type, and a two-layer head on `<s>` instead of the pooler.

use super::config::EncoderConfig;
use super::heads::Head;
use super::layers::{activate, attention, dropout, mask_bias, query_rows, LayerNorm, Linear, Mode};
use super::params::{Init, Need, ParamBuilder};
use candle_core::{DType, Result, Tensor};

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

pub struct Bert {
    cfg: EncoderConfig,
    /// Prefix tuning's virtual keys and values, when trained or loaded.
    prefix: Option<super::peft::prefix::Prefix>,
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Bert {
    /// The encoder and its task head (built between the layers and a
    /// prefix's tables, the order parameters have always been drawn in).
    pub fn build(
        pb: &mut ParamBuilder,
        cfg: &EncoderConfig,
        num_labels: usize,
    ) -> crate::Result<(Self, Head)> {
        let (h, std, eps) = (cfg.hidden, cfg.init_range, cfg.layer_norm_eps);
        let enc = Need::Encoder;
        let prefix = cfg.arch.prefix();
        let e = format!("{prefix}.embeddings");
        let word = pb.take(
            &format!("{e}.word_embeddings.weight"),
            &[cfg.vocab_size, h],
            Init::Normal(std),
            enc,
        )?;
        let position = pb.take(
            &format!("{e}.position_embeddings.weight"),
            &[cfg.max_positions, h],
            Init::Normal(std),
            enc,
        )?;
        let token_type = pb.take(
            &format!("{e}.token_type_embeddings.weight"),
            &[cfg.type_vocab.max(1), h],
            Init::Normal(std),
            enc,
        )?;
        let emb_norm = LayerNorm::build(pb, &format!("{e}.LayerNorm"), h, eps, enc)?;
        let mut layers = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let p = format!("{prefix}.encoder.layer.{i}");
            layers.push(Layer {
                query: Linear::build(pb, &format!("{p}.attention.self.query"), h, h, std, enc)?,
                key: Linear::build(pb, &format!("{p}.attention.self.key"), h, h, std, enc)?,
                value: Linear::build(pb, &format!("{p}.attention.self.value"), h, h, std, enc)?,
                attn_out: Linear::build(
                    pb,
                    &format!("{p}.attention.output.dense"),
                    h,
                    h,
                    std,
                    enc,
                )?,
                attn_norm: LayerNorm::build(
                    pb,
                    &format!("{p}.attention.output.LayerNorm"),
                    h,
                    eps,
                    enc,
                )?,
                intermediate: Linear::build(
                    pb,
                    &format!("{p}.intermediate.dense"),
                    h,
                    cfg.intermediate,
                    std,
                    enc,
                )?,
                output: Linear::build(
                    pb,
                    &format!("{p}.output.dense"),
                    cfg.intermediate,
                    h,
                    std,
                    enc,
                )?,
                out_norm: LayerNorm::build(pb, &format!("{p}.output.LayerNorm"), h, eps, enc)?,
            });
        }
        let head = Head::build(pb, cfg, num_labels, &word)?;
        let prefix = match pb.peft.clone() {
            Some(super::peft::PeftSpec::Prefix(spec)) => Some(super::peft::prefix::Prefix::build(
                pb, &spec, cfg.layers, h,
            )?),
            _ => None,
        };
        Ok((
            Bert {
                prefix,
                cfg: cfg.clone(),
                word,
                position,
                token_type,
                emb_norm,
                layers,
            },
            head,
        ))
    }

    /// The encoder's linear layers (the head's excluded).
    pub fn encoder_linears_mut(&mut self) -> Vec<&mut Linear> {
        self.layers
            .iter_mut()
            .flat_map(|l| {
                [
                    &mut l.query,
                    &mut l.key,
                    &mut l.value,
                    &mut l.attn_out,
                    &mut l.intermediate,
                    &mut l.output,
                ]
            })
            .collect()
    }

    /// input_ids (B, L) u32 → word embeddings (B, L, H).
    pub fn prefix_table(&self) -> Result<Option<Tensor>> {
        self.prefix
            .as_ref()
            .map(|p| p.table(&mut Mode::Eval))
            .transpose()
    }

    pub fn word_embeddings(&self, input_ids: &Tensor) -> Result<Tensor> {
        let (b, l) = input_ids.dims2()?;
        super::fused::embedding(&self.word, &input_ids.flatten_all()?)?.reshape((
            b,
            l,
            self.cfg.hidden,
        ))
    }

    /// Word embeddings (B, L, H), token type ids (B, L) u32 of a sentence
    /// pair (None: all 0), attention_mask (B, L) f32 → the last layer's
    /// hidden states (B, L, H), or (B, 1, H) with `first_token_only` (the
    /// last layer then computes that row alone).
    pub fn forward_hidden(
        &self,
        words: &Tensor,
        token_types: Option<&Tensor>,
        attention_mask: &Tensor,
        dtype: DType,
        mode: &mut Mode,
        first_token_only: bool,
    ) -> Result<Tensor> {
        let cfg = &self.cfg;
        let (b, l, _) = words.dims3()?;
        // Right padding: real tokens sit at offset, offset + 1, ... as HF's
        // position ids give them (pads differ, but attend to nothing used);
        // after a prefix's virtual tokens, as transformers numbers them.
        let virtual_tokens = self.prefix.as_ref().map_or(0, |p| p.tokens);
        let start = cfg.position_offset + virtual_tokens;
        if start + l > cfg.max_positions {
            candle_core::bail!(
                "{l} tokens after {virtual_tokens} prefix tokens pass the model's {} positions (lower max_len or prefix_tokens)",
                cfg.max_positions - cfg.position_offset
            );
        }
        let positions = self.position.narrow(0, start, l)?;
        let x = super::fused::bias_add(words, &positions)?;
        let x = match token_types {
            Some(t) => {
                let e = super::fused::embedding(&self.token_type, &t.flatten_all()?)?;
                (x + e.reshape((b, l, cfg.hidden))?)?
            }
            // token_type_ids are all zero for single-sentence classification.
            None => {
                let types = self.token_type.narrow(0, 0, 1)?;
                super::fused::bias_add(&x, &types.squeeze(0)?)?
            }
        };
        let mut x = dropout(
            &self.emb_norm.forward_to(&x, dtype)?,
            cfg.hidden_dropout,
            mode,
        )?;
        // Every token attends to the prefix: its mask is ones.
        let (bias, table) = match &self.prefix {
            Some(p) => {
                let ones = Tensor::ones(
                    (b, p.tokens),
                    attention_mask.dtype(),
                    attention_mask.device(),
                )?;
                let table = p.table(mode)?.to_dtype(dtype)?;
                (
                    mask_bias(&Tensor::cat(&[&ones, attention_mask], 1)?)?,
                    Some(table),
                )
            }
            None => (mask_bias(attention_mask)?, None),
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let xq = query_rows(&x, i + 1 == self.layers.len() && first_token_only)?;
            let q = layer.query.forward_t(&xq, mode)?;
            let k = layer.key.forward_t(&x, mode)?;
            let v = layer.value.forward_t(&x, mode)?;
            let (k, v) = match &table {
                Some(t) => {
                    let (pk, pv) = super::peft::prefix::Prefix::layer_kv(t, i, cfg.hidden, b)?;
                    (Tensor::cat(&[&pk, &k], 1)?, Tensor::cat(&[&pv, &v], 1)?)
                }
                None => (k, v),
            };
            let ctx = attention(&q, &k, &v, &bias, cfg, mode)?;
            let a = layer.attn_out.forward_t(&ctx, mode)?;
            let a = dropout(&a, cfg.hidden_dropout, mode)?;
            let a = layer.attn_norm.forward(&(a + xq)?)?;
            let i = activate(&layer.intermediate.forward_t(&a, mode)?, cfg.activation)?;
            let o = layer.output.forward_t(&i, mode)?;
            let o = dropout(&o, cfg.hidden_dropout, mode)?;
            x = layer.out_norm.forward(&(o + a)?)?;
        }
        Ok(x)
    }
}
