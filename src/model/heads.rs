//! What turns an encoder's hidden states into a task's outputs, apart from
//! the encoders (which return hidden states), as transformers keeps
//! `BertModel` apart from `BertForSequenceClassification`. The tensor names
//! are transformers' own, so checkpoints load in Python unchanged; a new
//! kind of head (a masked-LM one tied to the word embeddings) is a variant
//! here.

use super::config::{Activation, Arch, EncoderConfig, HeadKind};
use super::layers::{activate, dropout, LayerNorm, Linear, Mode};
use super::params::{Init, Need, ParamBuilder};
use candle_core::{Result, Tensor};

pub enum Head {
    /// BERT: pooler (dense + tanh) on the first token, dropout, classifier.
    Pooled { pooler: Linear, classifier: Linear },
    /// RoBERTa: dropout, classifier.dense + tanh, dropout,
    /// classifier.out_proj, on `<s>`.
    Roberta { dense: Linear, out_proj: Linear },
    /// DistilBERT: pre_classifier + ReLU on the first token, dropout,
    /// classifier.
    PreClassifier {
        pre_classifier: Linear,
        classifier: Linear,
    },
    /// `…ForTokenClassification`: dropout, then classifier on every token.
    Token { classifier: Linear, dropout: f64 },
    /// `…ForMaskedLM`: dense, activation, LayerNorm, then the decoder —
    /// the word embeddings themselves (tied, as transformers ties them) —
    /// plus a bias over the vocabulary. BERT's `cls.predictions`,
    /// RoBERTa's `lm_head`, DistilBERT's `vocab_*`.
    MaskedLm {
        dense: Linear,
        activation: Activation,
        norm: LayerNorm,
        /// The word embeddings (V, H): the decoder's weight.
        decoder: Tensor,
        bias: Tensor,
    },
}

/// A masked-LM head's tensor names for an architecture: (dense, norm,
/// bias, the tied decoder's own names a checkpoint may also hold).
fn masked_lm_names(arch: Arch) -> (&'static str, &'static str, &'static str, [&'static str; 2]) {
    match arch {
        Arch::Bert => (
            "cls.predictions.transform.dense",
            "cls.predictions.transform.LayerNorm",
            "cls.predictions.bias",
            [
                "cls.predictions.decoder.weight",
                "cls.predictions.decoder.bias",
            ],
        ),
        Arch::Roberta | Arch::XlmRoberta => (
            "lm_head.dense",
            "lm_head.layer_norm",
            "lm_head.bias",
            ["lm_head.decoder.weight", "lm_head.decoder.bias"],
        ),
        Arch::DistilBert => (
            "vocab_transform",
            "vocab_layer_norm",
            "vocab_projector.bias",
            ["vocab_projector.weight", "vocab_projector.bias"],
        ),
    }
}

impl Head {
    /// The head `cfg` asks for, for `num_labels` outputs. Built where the
    /// encoder's build puts it, so parameters are drawn in the same order.
    /// `word`: the word embeddings, which a masked-LM head decodes with.
    pub fn build(
        pb: &mut ParamBuilder,
        cfg: &EncoderConfig,
        num_labels: usize,
        word: &Tensor,
    ) -> crate::Result<Head> {
        let (h, std) = (cfg.hidden, cfg.init_range);
        let linear = |pb: &mut ParamBuilder, name: &str, out: usize| {
            Linear::build(pb, name, h, out, std, Need::Head)
        };
        if cfg.head == HeadKind::MaskedLm {
            return Self::build_masked_lm(pb, cfg, word);
        }
        Ok(match cfg.arch {
            Arch::DistilBert if cfg.head == HeadKind::Token => Head::Token {
                classifier: linear(pb, "classifier", num_labels)?,
                // transformers' DistilBertForTokenClassification: `dropout`.
                dropout: cfg.hidden_dropout,
            },
            Arch::DistilBert => Head::PreClassifier {
                pre_classifier: linear(pb, "pre_classifier", h)?,
                classifier: linear(pb, "classifier", num_labels)?,
            },
            _ if cfg.head == HeadKind::Token => Head::Token {
                classifier: linear(pb, "classifier", num_labels)?,
                dropout: cfg.classifier_dropout,
            },
            _ if cfg.arch.is_roberta() => Head::Roberta {
                dense: linear(pb, "classifier.dense", h)?,
                out_proj: linear(pb, "classifier.out_proj", num_labels)?,
            },
            _ => Head::Pooled {
                pooler: linear(pb, &format!("{}.pooler.dense", cfg.arch.prefix()), h)?,
                classifier: linear(pb, "classifier", num_labels)?,
            },
        })
    }

    /// transformers' masked-LM head over `word`, initialised as it
    /// initialises one when the checkpoint has none (N(0, σ) dense, LayerNorm
    /// 1/0, bias 0). The decoder is tied, so a checkpoint's decoder weight is
    /// the word embeddings again; its bias, if saved under the decoder's
    /// name, is the head's bias.
    fn build_masked_lm(
        pb: &mut ParamBuilder,
        cfg: &EncoderConfig,
        word: &Tensor,
    ) -> crate::Result<Head> {
        let (h, v) = (cfg.hidden, cfg.vocab_size);
        let (dense, norm, bias, [decoder_weight, decoder_bias]) = masked_lm_names(cfg.arch);
        let dense = Linear::build(pb, dense, h, h, cfg.init_range, Need::Head)?;
        let (activation, eps) = match cfg.arch {
            // RobertaLMHead applies gelu whatever hidden_act says.
            Arch::Roberta | Arch::XlmRoberta => (Activation::GeluErf, cfg.layer_norm_eps),
            // DistilBERT's vocab_layer_norm: nn.LayerNorm(dim, eps=1e-12).
            Arch::DistilBert => (cfg.activation, 1e-12),
            Arch::Bert => (cfg.activation, cfg.layer_norm_eps),
        };
        let norm = LayerNorm::build(pb, norm, h, eps, Need::Head)?;
        if !pb.has(bias) && pb.has(decoder_bias) {
            pb.rename(decoder_bias, bias);
        }
        pb.forget(decoder_weight);
        if decoder_bias != bias {
            pb.forget(decoder_bias);
        }
        let bias = pb.take(bias, &[v], Init::Zeros, Need::Head)?;
        Ok(Head::MaskedLm {
            dense,
            activation,
            norm,
            decoder: word.clone(),
            bias,
        })
    }

    /// Whether it reads only the first token: the encoder's last layer
    /// then computes that row alone.
    pub fn first_token_only(&self) -> bool {
        !matches!(self, Head::Token { .. } | Head::MaskedLm { .. })
    }

    /// A masked-LM head's vocabulary logits for hidden states (…, H) →
    /// (…, V), f32. None for the other heads.
    pub fn vocabulary_logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let Head::MaskedLm {
            dense,
            activation,
            norm,
            decoder,
            bias,
        } = self
        else {
            return Ok(None);
        };
        let dims = x.dims().to_vec();
        let h = *dims.last().unwrap_or(&0);
        let rows = x.to_dtype(candle_core::DType::F32)?.reshape(((), h))?;
        let t = norm.forward(&activate(&dense.forward(&rows)?, *activation)?)?;
        let logits = t.matmul(&decoder.t()?)?.broadcast_add(bias)?;
        let mut out = dims;
        if let Some(last) = out.last_mut() {
            *last = decoder.dim(0)?;
        }
        Ok(Some(logits.reshape(out)?))
    }

    /// Hidden states (B, L, H) (or (B, 1, H) when `first_token_only`) →
    /// logits (B, C), or (B, L, C) for a token head.
    pub fn forward(&self, x: &Tensor, cfg: &EncoderConfig, mode: &mut Mode) -> Result<Tensor> {
        if let Some(logits) = self.vocabulary_logits(x)? {
            return Ok(logits);
        }
        if let Head::Token {
            classifier,
            dropout: p,
        } = self
        {
            return classifier.forward(&dropout(x, *p, mode)?);
        }
        let cls = x.narrow(1, 0, 1)?.squeeze(1)?;
        let p = cfg.classifier_dropout;
        match self {
            Head::Pooled { pooler, classifier } => {
                let pooled = pooler.forward_t(&cls, mode)?.tanh()?;
                classifier.forward(&dropout(&pooled, p, mode)?)
            }
            Head::Roberta { dense, out_proj } => {
                let x = dense.forward_t(&dropout(&cls, p, mode)?, mode)?.tanh()?;
                out_proj.forward(&dropout(&x, p, mode)?)
            }
            Head::PreClassifier {
                pre_classifier,
                classifier,
            } => {
                let pooled = pre_classifier.forward_t(&cls, mode)?.relu()?;
                classifier.forward(&dropout(&pooled, p, mode)?)
            }
            Head::Token { .. } | Head::MaskedLm { .. } => unreachable!("returned above"),
        }
    }
}
