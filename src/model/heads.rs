//! What turns an encoder's hidden states into a task's outputs, apart from
//! the encoders (which return hidden states), as transformers keeps
//! `BertModel` apart from `BertForSequenceClassification`. The tensor names
//! are transformers' own, so checkpoints load in Python unchanged; a new
//! kind of head (a masked-LM one tied to the word embeddings) is a variant
//! here.

use super::config::{Arch, EncoderConfig};
use super::layers::{dropout, Linear, Mode};
use super::params::{Need, ParamBuilder};
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
}

impl Head {
    /// The head `cfg` asks for, for `num_labels` outputs. Built where the
    /// encoder's build puts it, so parameters are drawn in the same order.
    pub fn build(
        pb: &mut ParamBuilder,
        cfg: &EncoderConfig,
        num_labels: usize,
    ) -> crate::Result<Head> {
        let (h, std) = (cfg.hidden, cfg.init_range);
        let linear = |pb: &mut ParamBuilder, name: &str, out: usize| {
            Linear::build(pb, name, h, out, std, Need::Head)
        };
        Ok(match cfg.arch {
            Arch::DistilBert if cfg.token_head => Head::Token {
                classifier: linear(pb, "classifier", num_labels)?,
                // transformers' DistilBertForTokenClassification: `dropout`.
                dropout: cfg.hidden_dropout,
            },
            Arch::DistilBert => Head::PreClassifier {
                pre_classifier: linear(pb, "pre_classifier", h)?,
                classifier: linear(pb, "classifier", num_labels)?,
            },
            _ if cfg.token_head => Head::Token {
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

    /// Whether it reads only the first token: the encoder's last layer
    /// then computes that row alone.
    pub fn first_token_only(&self) -> bool {
        !matches!(self, Head::Token { .. })
    }

    /// Hidden states (B, L, H) (or (B, 1, H) when `first_token_only`) →
    /// logits (B, C), or (B, L, C) for a token head.
    pub fn forward(&self, x: &Tensor, cfg: &EncoderConfig, mode: &mut Mode) -> Result<Tensor> {
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
            Head::Token { .. } => unreachable!("returned above"),
        }
    }
}
