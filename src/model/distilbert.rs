//! DistilBertForSequenceClassification, trainable, with HuggingFace names.

use super::config::EncoderConfig;
use super::heads::Head;
use super::layers::{activate, attention, dropout, mask_bias, query_rows, LayerNorm, Linear, Mode};
use super::params::{Init, Need, ParamBuilder};
use candle_core::{DType, Result, Tensor};

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    sa_norm: LayerNorm,
    lin1: Linear,
    lin2: Linear,
    out_norm: LayerNorm,
}

pub struct DistilBert {
    cfg: EncoderConfig,
    word: Tensor,
    position: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl DistilBert {
    pub fn build(
        pb: &mut ParamBuilder,
        cfg: &EncoderConfig,
        num_labels: usize,
    ) -> crate::Result<(Self, Head)> {
        let (h, std, eps) = (cfg.hidden, cfg.init_range, cfg.layer_norm_eps);
        let enc = Need::Encoder;
        let e = "distilbert.embeddings";
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
        let emb_norm = LayerNorm::build(pb, &format!("{e}.LayerNorm"), h, eps, enc)?;
        let mut layers = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let p = format!("distilbert.transformer.layer.{i}");
            layers.push(Layer {
                q: Linear::build(pb, &format!("{p}.attention.q_lin"), h, h, std, enc)?,
                k: Linear::build(pb, &format!("{p}.attention.k_lin"), h, h, std, enc)?,
                v: Linear::build(pb, &format!("{p}.attention.v_lin"), h, h, std, enc)?,
                out: Linear::build(pb, &format!("{p}.attention.out_lin"), h, h, std, enc)?,
                sa_norm: LayerNorm::build(pb, &format!("{p}.sa_layer_norm"), h, eps, enc)?,
                lin1: Linear::build(pb, &format!("{p}.ffn.lin1"), h, cfg.intermediate, std, enc)?,
                lin2: Linear::build(pb, &format!("{p}.ffn.lin2"), cfg.intermediate, h, std, enc)?,
                out_norm: LayerNorm::build(pb, &format!("{p}.output_layer_norm"), h, eps, enc)?,
            });
        }
        let head = Head::build(pb, cfg, num_labels, &word)?;
        Ok((
            DistilBert {
                cfg: cfg.clone(),
                word,
                position,
                emb_norm,
                layers,
            },
            head,
        ))
    }

    /// input_ids (B, L) u32 → word embeddings (B, L, H).
    /// The encoder's linear layers (the head's excluded).
    pub fn encoder_linears_mut(&mut self) -> Vec<&mut Linear> {
        self.layers
            .iter_mut()
            .flat_map(|l| {
                [
                    &mut l.q,
                    &mut l.k,
                    &mut l.v,
                    &mut l.out,
                    &mut l.lin1,
                    &mut l.lin2,
                ]
            })
            .collect()
    }

    pub fn word_embeddings(&self, input_ids: &Tensor) -> Result<Tensor> {
        let (b, l) = input_ids.dims2()?;
        super::fused::embedding(&self.word, &input_ids.flatten_all()?)?.reshape((
            b,
            l,
            self.cfg.hidden,
        ))
    }

    /// Word embeddings (B, L, H), attention_mask (B, L) f32 → logits (B, C).
    /// Word embeddings (B, L, H) → the last layer's hidden states, as
    /// `Bert::forward_hidden`.
    pub fn forward_hidden(
        &self,
        words: &Tensor,
        attention_mask: &Tensor,
        dtype: DType,
        mode: &mut Mode,
        first_token_only: bool,
    ) -> Result<Tensor> {
        let cfg = &self.cfg;
        let (_, l, _) = words.dims3()?;
        let x = super::fused::bias_add(words, &self.position.narrow(0, 0, l)?)?;
        let mut x = dropout(
            &self.emb_norm.forward_to(&x, dtype)?,
            cfg.hidden_dropout,
            mode,
        )?;
        let bias = mask_bias(attention_mask)?;
        for (i, layer) in self.layers.iter().enumerate() {
            let xq = query_rows(&x, i + 1 == self.layers.len() && first_token_only)?;
            let q = layer.q.forward_t(&xq, mode)?;
            let k = layer.k.forward_t(&x, mode)?;
            let v = layer.v.forward_t(&x, mode)?;
            let ctx = attention(&q, &k, &v, &bias, cfg, mode)?;
            let sa = layer
                .sa_norm
                .forward(&(layer.out.forward_t(&ctx, mode)? + xq)?)?;
            let f = activate(&layer.lin1.forward_t(&sa, mode)?, cfg.activation)?;
            let f = layer.lin2.forward_t(&f, mode)?;
            let f = dropout(&f, cfg.hidden_dropout, mode)?;
            x = layer.out_norm.forward(&(f + sa)?)?;
        }
        Ok(x)
    }
}
