//! Prefix tuning (Li & Liang 2021) in its P-tuning v2 form, as peft runs
//! it on encoders: trained key and value vectors for `tokens` virtual
//! tokens in every layer, which each real token attends to. The prefixes
//! are a table (tokens, layers·2·hidden), or with `projection` that table
//! comes from a smaller embedding through an MLP (Linear, tanh, Linear:
//! peft's `prefix_projection`) while training; peft saves the projected
//! table either way. As in transformers, the real tokens' positions start
//! after the prefix. Nothing of it folds into the weights: a prefix model
//! is served as base + adapter.

use crate::model::layers::Mode;
use crate::model::params::{Init, Need, ParamBuilder};
use candle_core::{Result, Tensor};

/// The trained table's name (our runs), and peft's name for the saved one.
pub const EMBEDDING: &str = "prompt_encoder.embedding.weight";
pub const SAVED: &str = "prompt_embeddings";

#[derive(Clone, Debug, PartialEq)]
pub struct PrefixSpec {
    /// `num_virtual_tokens`.
    pub tokens: usize,
    /// `encoder_hidden_size` of the reparameterisation MLP (None: a plain
    /// table, peft's `prefix_projection = False`).
    pub projection: Option<usize>,
}

/// A linear of the MLP: weight (out, in), bias (out).
struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    fn build(
        pb: &mut ParamBuilder,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> crate::Result<Self> {
        // torch.nn.Linear's default init: U(±1/√fan_in) for both.
        let bound = Init::Uniform(1.0 / (inputs as f64).sqrt());
        Ok(Dense {
            weight: pb.take(
                &format!("{name}.weight"),
                &[outputs, inputs],
                bound,
                Need::Head,
            )?,
            bias: pb.take(&format!("{name}.bias"), &[outputs], bound, Need::Head)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}

pub struct Prefix {
    pub tokens: usize,
    embedding: Tensor,
    mlp: Option<(Dense, Dense)>,
}

impl Prefix {
    /// The prefix of an encoder with `layers` layers of width `hidden`.
    pub fn build(
        pb: &mut ParamBuilder,
        spec: &PrefixSpec,
        layers: usize,
        hidden: usize,
    ) -> crate::Result<Self> {
        let width = layers * 2 * hidden;
        // nn.Embedding's default init: N(0, 1).
        let (embedding, mlp) = match spec.projection {
            None => (
                pb.take(
                    EMBEDDING,
                    &[spec.tokens, width],
                    Init::Normal(1.0),
                    Need::Head,
                )?,
                None,
            ),
            Some(inner) => (
                pb.take(
                    EMBEDDING,
                    &[spec.tokens, hidden],
                    Init::Normal(1.0),
                    Need::Head,
                )?,
                Some((
                    Dense::build(pb, "prompt_encoder.transform.0", hidden, inner)?,
                    Dense::build(pb, "prompt_encoder.transform.2", inner, width)?,
                )),
            ),
        };
        Ok(Prefix {
            tokens: spec.tokens,
            embedding,
            mlp,
        })
    }

    /// The keys and values of every layer: (tokens, layers·2·hidden), laid
    /// out as peft's view (tokens, layers·2, heads, head_dim): layer i's
    /// keys are columns 2i·hidden.., its values (2i+1)·hidden...
    pub fn table(&self, _mode: &mut Mode) -> Result<Tensor> {
        match &self.mlp {
            None => Ok(self.embedding.clone()),
            Some((first, second)) => second.forward(&first.forward(&self.embedding)?.tanh()?),
        }
    }

    /// Layer `layer`'s prefix keys and values for a batch of `batch`:
    /// each (batch, tokens, hidden), in `table`'s dtype.
    pub fn layer_kv(
        table: &Tensor,
        layer: usize,
        hidden: usize,
        batch: usize,
    ) -> Result<(Tensor, Tensor)> {
        let tokens = table.dim(0)?;
        let part = |i: usize| -> Result<Tensor> {
            table
                .narrow(1, i * hidden, hidden)?
                .unsqueeze(0)?
                .broadcast_as((batch, tokens, hidden))?
                .contiguous()
        };
        Ok((part(2 * layer)?, part(2 * layer + 1)?))
    }
}
