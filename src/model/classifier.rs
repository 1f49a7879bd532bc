//! A sequence classifier: one of our encoders plus its head, its labels and
//! the parameters the optimizer updates.

use super::bert::Bert;
use super::config::{Arch, EncoderConfig};
use super::distilbert::DistilBert;
use super::heads::Head;
use super::params::{is_frozen, ParamBuilder, Params};
use super::peft::PeftSpec;
use crate::config::Freeze;
use crate::data::{Labels, Task};
use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

pub use super::layers::Mode;

enum Net {
    Bert(Bert),
    DistilBert(DistilBert),
}

pub struct Classifier {
    pub config: EncoderConfig,
    pub labels: Labels,
    pub params: Params,
    /// Parameters that were initialised rather than loaded.
    pub fresh: Vec<String>,
    /// Tensors in the weights file that the model does not use.
    pub unused: Vec<String>,
    pub device: Device,
    /// Dtype of the forward pass (f32 masters are cast to it per layer).
    pub compute: DType,
    net: Net,
    /// What turns the encoder's hidden states into the task's logits.
    head: Head,
    /// The source config.json, so saved configs keep fields we do not model.
    base_config: Option<Value>,
    /// The parameter-efficient method's settings, and the base model it adapts.
    pub peft: Option<(PeftSpec, PathBuf)>,
    /// The token that ends a pair's first sentence: BERT's token type ids
    /// are 1 after it (None: every token is type 0).
    pair_sep: Option<u32>,
    /// Whether it was fine-tuned on sentence pairs (None: not known, e.g. a
    /// model made elsewhere); written to config.json as `tunebench_input`.
    pub trained_on_pairs: Option<bool>,
    /// What the head predicts: config.json's `problem_type`.
    pub task: Task,
    /// Multi-label decision thresholds, one a label (empty: 0.5 each);
    /// config.json's `tunebench_thresholds`.
    pub thresholds: Vec<f32>,
    /// The encoder's linears run packed in this precision (inference).
    pub packed: Option<super::quant::PackKind>,
}

/// Prefixes of the parameters that depend on the label set.
pub const HEAD_PREFIX: &str = "classifier.";

/// What a model was fine-tuned on, as config.json's `tunebench_input` and
/// serve's `/info` name it.
pub fn input_name(pairs: bool) -> &'static str {
    if pairs {
        "sentence_pairs"
    } else {
        "single_texts"
    }
}

pub struct BuildSpec {
    pub config: EncoderConfig,
    pub labels: Labels,
    pub weights: HashMap<String, Tensor>,
    pub source: PathBuf,
    /// Initialise every parameter (scratch models).
    pub scratch: bool,
    /// Keep a loaded classification head (labels match); otherwise fresh.
    pub keep_head: bool,
    pub base_config: Option<Value>,
    /// Pretrained weights built as constants (no gradient, no optimizer state).
    pub freeze: crate::config::Freeze,
    /// Adapters on the target linears (the encoder is then frozen).
    pub peft: Option<PeftSpec>,
    /// Tensors that replace the source's, by our names (an adapter checkpoint's
    /// adapters and head over its base model).
    pub overrides: HashMap<String, Tensor>,
}

impl BuildSpec {
    /// A model initialised from scratch (`source` names it in messages).
    pub fn scratch(config: EncoderConfig, labels: Labels, source: impl Into<PathBuf>) -> Self {
        BuildSpec {
            config,
            labels,
            weights: HashMap::new(),
            source: source.into(),
            scratch: true,
            keep_head: false,
            base_config: None,
            freeze: crate::config::Freeze::None,
            peft: None,
            overrides: HashMap::new(),
        }
    }
}

impl Classifier {
    pub fn build(
        spec: BuildSpec,
        rng: &mut crate::rng::Rng,
        device: &Device,
    ) -> crate::Result<Self> {
        let source = spec.source.clone();
        let mut pb =
            ParamBuilder::new(spec.weights, spec.source, rng, device.clone(), spec.scratch);
        if !spec.keep_head {
            pb.forget(HEAD_PREFIX);
        }
        if let crate::config::Freeze::Layers(n) = spec.freeze {
            if n > spec.config.layers {
                return Err(crate::config::ConfigError::field(
                    "freeze",
                    format!(
                        "layers:{n}, but the model has {} encoder layers",
                        spec.config.layers
                    ),
                )
                .into());
            }
        }
        pb.freeze = spec.freeze;
        pb.peft = spec.peft.clone();
        if spec.peft.is_some() {
            pb.freeze = crate::config::Freeze::Encoder;
        }
        pb.override_with(spec.overrides);

        if matches!(spec.peft, Some(PeftSpec::Prefix(_))) && spec.config.arch == Arch::DistilBert {
            return Err(crate::config::ConfigError::field(
                "peft",
                "prefix tuning needs a BERT or RoBERTa encoder (peft cannot give DistilBERT past keys and values either)",
            )
            .into());
        }
        let n = spec.labels.len();
        let (net, head) = match spec.config.arch {
            Arch::Bert | Arch::Roberta | Arch::XlmRoberta => {
                let (m, head) = Bert::build(&mut pb, &spec.config, n)?;
                (Net::Bert(m), head)
            }
            Arch::DistilBert => {
                let (m, head) = DistilBert::build(&mut pb, &spec.config, n)?;
                (Net::DistilBert(m), head)
            }
        };
        if let Some(p) = &spec.peft {
            let unmatched = p.targets().iter().find(|t| {
                *t != "all-linear" && !pb.adapted.iter().any(|m| super::peft::matches_target(m, t))
            });
            if let Some(t) =
                unmatched.or_else(|| p.targets().first().filter(|_| pb.adapted.is_empty()))
            {
                return Err(crate::config::ConfigError::field(p.targets_key(), format!(
                        "'{t}' matches no linear layer of this {:?} model (BERT: {}; DistilBERT: {})",
                        spec.config.arch,
                        crate::config::BERT_LORA_TARGETS.join(", "),
                        crate::config::DISTILBERT_LORA_TARGETS.join(", ")
                    ))
                .into());
            }
        }
        Ok(Classifier {
            peft: spec.peft.map(|p| (p, source)),
            config: spec.config,
            labels: spec.labels,
            unused: pb.unused(),
            fresh: std::mem::take(&mut pb.fresh),
            params: std::mem::take(&mut pb.params),
            device: device.clone(),
            compute: DType::F32,
            net,
            head,
            base_config: spec.base_config,
            pair_sep: None,
            trained_on_pairs: None,
            task: Task::SingleLabel,
            thresholds: Vec::new(),
            packed: None,
        })
    }

    /// Give sentence pairs BERT's token type ids: 0 up to the first `sep`,
    /// 1 after it. A single text ends at its only `sep`, so its types stay
    /// 0 (what follows are pads).
    pub fn with_pair_separator(mut self, sep: Option<u32>) -> Self {
        let uses_types = matches!(self.config.arch, Arch::Bert) && self.config.type_vocab >= 2;
        self.pair_sep = sep.filter(|_| uses_types);
        self
    }

    /// Token type ids (B, L) u32 of `input_ids`, when pairs are typed.
    fn token_types(&self, input_ids: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let Some(sep) = self.pair_sep else {
            return Ok(None);
        };
        let is_sep = input_ids.eq(sep)?.to_dtype(DType::F32)?;
        // Seps strictly before each position: 0 in the first sentence.
        let before = (is_sep.cumsum(1)? - &is_sep)?;
        Ok(Some(before.gt(0f32)?.to_dtype(DType::U32)?))
    }

    /// Run the forward pass in `dtype` (f32, bf16, f16) from now on.
    pub fn with_compute_dtype(mut self, dtype: DType) -> Self {
        self.compute = dtype;
        self
    }

    /// Pack every encoder linear for CPU inference in `kind` (int8 or bf16
    /// weights; activations stay f32 between layers). Inference only: the
    /// packed layers have no backward.
    pub fn pack_encoder(&mut self, kind: super::quant::PackKind) -> crate::Result<()> {
        if !self.device.is_cpu() {
            return Err(crate::config::ConfigError::field(
                "precision",
                "int8 and packed bf16 weights run on the CPU; on a GPU use --precision bf16 or f16",
            )
            .into());
        }
        // Inputs that track gradients skip packed layers (they have no
        // backward), so packing a trainable encoder would change nothing.
        if self.trains_encoder() {
            return Err(crate::Error::Run(
                "packing a trainable encoder: pack its frozen_copy() (inference only)".into(),
            ));
        }
        let linears = match &mut self.net {
            Net::Bert(m) => m.encoder_linears_mut(),
            Net::DistilBert(m) => m.encoder_linears_mut(),
        };
        for l in linears {
            l.pack(kind)?;
        }
        self.packed = Some(kind);
        Ok(())
    }

    /// Logits (B, num_labels), or (B, L, num_labels) for a token head;
    /// always f32 whatever the compute dtype.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        let words = self.word_embeddings(input_ids)?;
        let types = self.token_types(input_ids)?;
        self.forward_typed(&words, types.as_ref(), attention_mask, mode)
    }

    /// input_ids (B, L) u32 → word embeddings (B, L, H), f32: the layer
    /// attributions are taken at (the rest of the embeddings follow it).
    pub fn word_embeddings(&self, input_ids: &Tensor) -> candle_core::Result<Tensor> {
        match &self.net {
            Net::Bert(m) => m.word_embeddings(input_ids),
            Net::DistilBert(m) => m.word_embeddings(input_ids),
        }
    }

    /// Prefix tuning's key/value table (tokens, layers·2·hidden) as the
    /// MLP projects it, the form peft saves; None without a prefix.
    pub fn prefix_table(&self) -> candle_core::Result<Option<Tensor>> {
        match &self.net {
            Net::Bert(m) => m.prefix_table(),
            Net::DistilBert(_) => Ok(None),
        }
    }

    /// The forward pass from word embeddings (B, L, H) → logits (B, C), f32.
    pub fn forward_from_words(
        &self,
        words: &Tensor,
        attention_mask: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        self.forward_typed(words, None, attention_mask, mode)
    }

    /// Sentence vectors (B, H), f32: the last layer's token states
    /// averaged over the real tokens (sentence-transformers' mean pooling),
    /// for diversity in active learning. Every token runs through the last
    /// layer here, unlike a classification head's forward.
    pub fn mean_pooled(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let hidden = self
            .every_hidden_state(input_ids, attention_mask, &mut Mode::Eval)?
            .to_dtype(DType::F32)?;
        let mask = attention_mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let sum = hidden.broadcast_mul(&mask)?.sum(1)?;
        let count = mask.sum(1)?.clamp(1f32, f32::MAX)?;
        sum.broadcast_div(&count)
    }

    /// The last layer's states of every piece (B, L, H), in the compute
    /// dtype (not only the first token's, as a sequence head reads).
    fn every_hidden_state(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        let words = self.word_embeddings(input_ids)?;
        let types = self.token_types(input_ids)?;
        match &self.net {
            Net::Bert(m) => m.forward_hidden(
                &words,
                types.as_ref(),
                attention_mask,
                self.compute,
                mode,
                false,
            ),
            Net::DistilBert(m) => {
                m.forward_hidden(&words, attention_mask, self.compute, mode, false)
            }
        }
    }

    /// A masked-LM model's vocabulary logits (M, V), f32, at `positions`
    /// (M,) u32: flat indexes into the batch's (B·L) pieces. Only the
    /// picked pieces go through the head, whose decoder is vocabulary-wide.
    pub fn masked_lm_logits(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        positions: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        let hidden = self.every_hidden_state(input_ids, attention_mask, mode)?;
        let (b, l, h) = hidden.dims3()?;
        let picked = hidden.reshape((b * l, h))?.index_select(positions, 0)?;
        self.head
            .vocabulary_logits(&picked)?
            .ok_or_else(|| candle_core::Error::Msg("not a masked-LM model".into()))
    }

    fn forward_typed(
        &self,
        words: &Tensor,
        token_types: Option<&Tensor>,
        attention_mask: &Tensor,
        mode: &mut Mode,
    ) -> candle_core::Result<Tensor> {
        let first = self.head.first_token_only();
        let hidden = match &self.net {
            Net::Bert(m) => m.forward_hidden(
                words,
                token_types,
                attention_mask,
                self.compute,
                mode,
                first,
            ),
            Net::DistilBert(m) => {
                m.forward_hidden(words, attention_mask, self.compute, mode, first)
            }
        }?;
        self.head
            .forward(&hidden, &self.config, mode)?
            .to_dtype(DType::F32)
    }

    pub fn config_json(&self) -> Value {
        let mut v = self.config.to_json(&self.labels, self.base_config.as_ref());
        if let Some(pairs) = self.trained_on_pairs {
            v["tunebench_input"] = serde_json::json!(input_name(pairs));
        }
        // Only a sequence head has a problem type (transformers refuses
        // one on a token or masked-LM model).
        let sequence = self.config.head == super::config::HeadKind::Sequence;
        match self.task.problem_type().filter(|_| sequence) {
            Some(p) => v["problem_type"] = serde_json::json!(p),
            None => {
                if let Some(obj) = v.as_object_mut() {
                    obj.remove("problem_type");
                }
            }
        }
        if let Some(obj) = v.as_object_mut() {
            obj.remove("tunebench_thresholds");
        }
        if self.task == Task::MultiLabel && !self.thresholds.is_empty() {
            let by_label: serde_json::Map<String, Value> = self
                .labels
                .names()
                .iter()
                .zip(&self.thresholds)
                .map(|(n, t)| (n.clone(), serde_json::json!(t)))
                .collect();
            v["tunebench_thresholds"] = Value::Object(by_label);
        }
        v
    }

    /// The same classifier predicting `task` (its thresholds kept).
    pub fn with_task(mut self, task: Task, thresholds: Vec<f32>) -> Self {
        self.task = task;
        self.thresholds = thresholds;
        self
    }

    /// Label `i`'s decision threshold (multi-label): tuned, else 0.5.
    pub fn threshold(&self, i: usize) -> f32 {
        self.thresholds.get(i).copied().unwrap_or(0.5)
    }

    /// Every weight by HF name, as a plain checkpoint holds them: adapters
    /// merged into their base weights (LoRA W + α/r·B·A, DoRA that at its
    /// magnitude, (IA)³ W and b rescaled).
    pub fn named_tensors(&self) -> candle_core::Result<Vec<(String, Tensor)>> {
        let trained = self
            .params
            .vars
            .iter()
            .filter(|(n, _)| !super::peft::is_adapter_tensor(n))
            .map(|(n, v)| (n, v.as_tensor()));
        let frozen = self.params.frozen.iter().map(|(n, t)| (n, t));
        let Some((spec, _)) = &self.peft else {
            return Ok(trained
                .chain(frozen)
                .map(|(n, t)| (n.clone(), t.clone()))
                .collect());
        };
        let get = |n: &str| self.params.get(n).map(|v| v.as_tensor().clone());
        trained
            .chain(frozen)
            .map(|(name, t)| {
                let merged = if let Some(module) = name.strip_suffix(".weight") {
                    spec.merged_weight(module, t, &get)?
                } else if let Some(module) = name.strip_suffix(".bias") {
                    spec.merged_bias(module, t, &get)?
                } else {
                    None
                };
                Ok((name.clone(), merged.unwrap_or_else(|| t.clone())))
            })
            .collect()
    }

    /// Whether a backward pass through this model computes gradients of
    /// encoder weights (a training run's model; a loaded checkpoint's
    /// encoder is frozen, only its pooler and head are `Var`s).
    pub fn trains_encoder(&self) -> bool {
        self.params
            .vars
            .iter()
            .any(|(name, _)| is_frozen(Freeze::Encoder, name))
    }

    /// The same classifier over the same weights (LoRA merged in) with a
    /// frozen encoder, for input gradients only. candle's backward computes
    /// the gradient of every `Var` it reaches, so an explanation on a
    /// training model's `Var`s would also compute every weight gradient.
    /// The encoder shares the weights' storage; pooler and head are copied.
    pub fn frozen_copy(&self) -> crate::Result<Classifier> {
        self.rebuilt(Freeze::Encoder)
    }

    /// The same classifier over its current weights (LoRA merged in), with
    /// `freeze` deciding which are plain tensors and which `Var`s (copied).
    pub fn rebuilt(&self, freeze: Freeze) -> crate::Result<Classifier> {
        let weights = self
            .named_tensors()?
            .into_iter()
            .map(|(name, t)| (name, t.detach()))
            .collect();
        let spec = BuildSpec {
            config: self.config.clone(),
            labels: self.labels.clone(),
            weights,
            source: PathBuf::from("(the model's current weights)"),
            scratch: false,
            keep_head: true,
            base_config: self.base_config.clone(),
            freeze,
            peft: None,
            overrides: HashMap::new(),
        };
        let mut copy = Classifier::build(spec, &mut crate::rng::Rng::seeded(0), &self.device)?;
        copy.compute = self.compute;
        copy.pair_sep = self.pair_sep;
        copy.trained_on_pairs = self.trained_on_pairs;
        copy.task = self.task;
        copy.thresholds = self.thresholds.clone();
        Ok(copy)
    }

    /// An adapter model's tensors in peft's layout: the adapters of every
    /// adapted module (`lora_A`/`lora_B`, `lora_magnitude_vector`, `ia3_l`)
    /// and the trained head and pooler (`modules_to_save`), named
    /// `base_model.model.<HF name>`. None for other models.
    /// AdaLoRA's tensors are cut to the ranks its allocator kept.
    pub fn adapter_tensors(&self) -> candle_core::Result<Option<Vec<(String, Tensor)>>> {
        let Some((spec, _)) = &self.peft else {
            return Ok(None);
        };
        if let PeftSpec::Prefix(_) = spec {
            // peft's prompt-learning layout: the model is `base_model.`,
            // the prefix the projected table.
            let mut out: Vec<(String, Tensor)> = self
                .params
                .vars
                .iter()
                .filter(|(n, _)| !super::peft::is_adapter_tensor(n))
                .map(|(n, v)| (format!("base_model.{n}"), v.as_tensor().clone()))
                .collect();
            if let Some(table) = self.prefix_table()? {
                out.push((super::peft::prefix::SAVED.to_string(), table.detach()));
            }
            return Ok(Some(out));
        }
        let pattern = match spec {
            PeftSpec::AdaLora(a) => a.rank_pattern.as_ref(),
            _ => None,
        };
        self.params
            .vars
            .iter()
            .map(|(n, v)| {
                let t = match pattern {
                    Some(p) => super::peft::adalora::cut(n, v.as_tensor(), p)?,
                    None => v.as_tensor().clone(),
                };
                Ok((format!("base_model.model.{n}"), t))
            })
            .collect::<candle_core::Result<Vec<_>>>()
            .map(Some)
    }

    /// The method's penalty added to the training loss: AdaLoRA's
    /// orthogonality term, weighted (None for the other methods).
    pub fn peft_penalty(&self) -> candle_core::Result<Option<Tensor>> {
        match &self.peft {
            Some((PeftSpec::AdaLora(a), _)) if a.orth_reg > 0.0 => {
                Ok(super::peft::adalora::orth_penalty(&self.params.vars)?
                    .map(|p| p * a.orth_reg)
                    .transpose()?)
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::scratch_config;
    use crate::rng::Rng;
    use candle_core::{Var, D};

    /// Packing is for inference models: a trainable encoder is refused, its
    /// frozen copy packs, and then scores differently from f32 in int8.
    #[test]
    fn only_a_frozen_encoder_packs() {
        use crate::model::quant::PackKind;
        let labels = Labels::new(vec!["a".into(), "b".into()]);
        let spec = BuildSpec::scratch(scratch_config("tiny", 50).unwrap(), labels, "test");
        let mut model = Classifier::build(spec, &mut Rng::seeded(3), &Device::Cpu).unwrap();
        assert!(model.pack_encoder(PackKind::Int8).is_err());
        let mut frozen = model.frozen_copy().unwrap();
        frozen.pack_encoder(PackKind::Int8).unwrap();
        let ids = Tensor::new(&[[1u32, 7, 11, 13, 2]], &Device::Cpu).unwrap();
        let mask = Tensor::ones((1, 5), DType::F32, &Device::Cpu).unwrap();
        let a = model.forward(&ids, &mask, &mut Mode::Eval).unwrap();
        let b = frozen.forward(&ids, &mask, &mut Mode::Eval).unwrap();
        let d = crate::test_util::max_diff(&a, &b);
        assert!(d > 0.0 && d < 0.05, "{d}");
    }

    /// The frozen copy computes what the training model computes, and its
    /// backward reaches the input but no encoder weight.
    #[test]
    fn frozen_copy_gives_the_same_input_gradients_without_weight_gradients() {
        let labels = Labels::new(vec!["a".into(), "b".into(), "c".into()]);
        let spec = BuildSpec::scratch(scratch_config("tiny", 50).unwrap(), labels, "test");
        let model = Classifier::build(spec, &mut Rng::seeded(3), &Device::Cpu).unwrap();
        assert!(model.trains_encoder());
        let copy = model.frozen_copy().unwrap();
        assert!(!copy.trains_encoder());
        assert_eq!(copy.params.total(), model.params.total());
        // And back: every weight trainable again (bench-explain --live).
        assert!(copy.rebuilt(Freeze::None).unwrap().trains_encoder());

        let ids = Tensor::new(&[[1u32, 7, 11, 13, 2]], &Device::Cpu).unwrap();
        let mask = Tensor::ones((1, 5), DType::F32, &Device::Cpu).unwrap();
        let input_grad = |m: &Classifier| {
            let words = Var::from_tensor(&m.word_embeddings(&ids).unwrap().detach()).unwrap();
            let logits = m
                .forward_from_words(words.as_tensor(), &mask, &mut Mode::Eval)
                .unwrap();
            let p = candle_nn::ops::softmax(&logits, D::Minus1).unwrap();
            let grads = p
                .narrow(1, 1, 1)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let vars = m.params.vars.iter().map(|(n, v)| (n, v.as_tensor()));
            let frozen = m.params.frozen.iter().map(|(n, t)| (n, t));
            let encoder_grads = vars
                .chain(frozen)
                .filter(|(n, t)| is_frozen(Freeze::Encoder, n) && grads.get(t).is_some())
                .count();
            (grads.get(&words).unwrap().clone(), logits, encoder_grads)
        };
        let (g_model, logits_model, weight_grads) = input_grad(&model);
        let (g_copy, logits_copy, copy_weight_grads) = input_grad(&copy);
        assert!(
            weight_grads > 0,
            "the training model's backward reaches its weights"
        );
        assert_eq!(copy_weight_grads, 0);
        assert!(crate::test_util::max_diff(&logits_model, &logits_copy) < 1e-6);
        assert!(crate::test_util::max_diff(&g_model, &g_copy) < 1e-6);
    }
}
