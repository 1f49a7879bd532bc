//! Inference: scoring texts with a classifier (the engine's live weights or
//! a checkpoint loaded into a `Predictor`), and evaluating labelled data.

use crate::data::{Labels, Row, Targets, Task};
use crate::error::Result;
use crate::model::checkpoint::ModelDir;
use crate::model::peft;
use crate::model::probs::{argmax, sigmoid, softmax};
use crate::model::{Classifier, Mode};
use crate::protocol::Prediction;
use crate::text::batch::make_batch;
use crate::text::TextEncoder;
use candle_core::Device;
use std::path::Path;

/// Rows per inference batch.
pub const EVAL_BATCH: usize = 64;

/// A checkpoint loaded for prediction.
pub struct Predictor {
    pub model: Classifier,
    pub text: TextEncoder,
}

/// What config.json's `tunebench_input` says the model was fine-tuned on
/// (None: a model made elsewhere).
fn trained_on_pairs(dir: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    match config.get("tunebench_input")?.as_str()? {
        s if s == crate::model::classifier::input_name(true) => Some(true),
        s if s == crate::model::classifier::input_name(false) => Some(false),
        _ => None,
    }
}

impl Predictor {
    /// Load any HF BERT/DistilBERT classifier directory.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with_base(dir, None, device)
    }

    /// Load a classifier directory, or a peft adapter directory on
    /// its base model (`base`, else the adapter's recorded base). A
    /// tunebench LoRA checkpoint holds merged weights too; those are used
    /// unless `base` asks for the adapter on another base.
    pub fn load_with_base(dir: &Path, base: Option<&Path>, device: &Device) -> Result<Self> {
        let adapter_only = !dir.join("model.safetensors").is_file() || base.is_some();
        if peft::is_adapter_dir(dir) && adapter_only {
            let (model, text) = peft::build(dir, base, device)?;
            return Ok(Predictor { model, text });
        }
        if let Some(b) = base {
            return Err(crate::config::ConfigError::field("base", format!(
                    "--base {} applies to a LoRA adapter directory; {} holds no adapter_config.json",
                    b.display(),
                    dir.display()
                ))
            .into());
        }
        let predictor = Self::load_dir(dir, device)?;
        if predictor
            .model
            .fresh
            .iter()
            .any(|n| n.starts_with("classifier"))
        {
            return Err(crate::model::ModelError::MissingTensor {
                path: ModelDir::open(dir)?.weights,
                name: "classifier.weight (this is a bare encoder, not a fine-tuned classifier)"
                    .into(),
            }
            .into());
        }
        Ok(predictor)
    }

    /// Load a pretrained encoder whether or not it holds a classification
    /// head (a fresh one stands in): for its sentence vectors
    /// (`embed_rows`), never for its predictions.
    pub fn load_encoder(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_dir(dir, device)
    }

    fn load_dir(dir: &Path, device: &Device) -> Result<Self> {
        let md = ModelDir::open(dir)?;
        let weights = md.read_weights()?;
        let labels = md.labels.clone().unwrap_or_else(|| {
            let n = weights
                .get("classifier.bias")
                .map(|t| t.dims()[0])
                .unwrap_or(2);
            Labels::new((0..n).map(|i| format!("LABEL_{i}")).collect())
        });
        let max_len = md.config.max_tokens();
        let text = TextEncoder::from_file(&md.tokenizer, max_len)?;
        // Nothing trains here: a frozen encoder holds plain tensors, so
        // the input gradients of explanations skip every weight gradient.
        let mut spec = md.build_spec(labels, weights, true);
        spec.freeze = crate::config::Freeze::Encoder;
        let mut model = Classifier::build(spec, &mut crate::rng::Rng::seeded(0), device)?
            .with_pair_separator(text.sep_id())
            .with_task(md.task, md.thresholds.clone());
        model.trained_on_pairs = trained_on_pairs(dir);
        Ok(Predictor { model, text })
    }

    /// Score in `precision`: on the CPU, bf16 and int8 pack the encoder's
    /// linears (f32 in between); elsewhere bf16 and f16 are the compute
    /// dtype, and int8 is refused.
    pub fn with_precision(
        mut self,
        precision: impl Into<crate::config::InferencePrecision>,
    ) -> Result<Self> {
        use crate::config::InferencePrecision as P;
        let precision = precision.into();
        match crate::model::quant::pack_kind(precision, self.model.device.is_cpu()) {
            Some(kind) => self.model.pack_encoder(kind)?,
            None => match precision {
                P::Bf16 => self.model = self.model.with_compute_dtype(candle_core::DType::BF16),
                P::F16 => self.model = self.model.with_compute_dtype(candle_core::DType::F16),
                P::F32 | P::Int8 => {}
            },
        }
        Ok(self)
    }

    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Prediction>> {
        predict_texts(&self.model, &self.text, texts)
    }

    /// Mean-pooled sentence vectors of rows (`embeddings_for`).
    pub fn embed_rows(&self, rows: &[crate::data::Row]) -> Result<Vec<Vec<f32>>> {
        let ids = self.text.encode_rows(rows)?;
        embeddings_for(&self.model, self.text.pad_id(), &ids)
    }

    /// Predictions for rows, sentence pairs (`text_b`) included.
    pub fn predict_rows(&self, rows: &[crate::data::Row]) -> Result<Vec<Prediction>> {
        let ids = self.text.encode_rows(rows)?;
        Ok(logits_for(&self.model, self.text.pad_id(), &ids)?
            .into_iter()
            .map(|l| to_prediction(&self.model, l))
            .collect())
    }
}

/// Mean-pooled sentence vectors of each encoded row, in input order
/// (`Classifier::mean_pooled`), batched by length as `logits_for` is.
pub fn embeddings_for(model: &Classifier, pad_id: u32, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
    crate::device::on_compute_threads(&model.device, || {
        by_length(model, pad_id, ids, |batch, _| {
            Ok(model
                .mean_pooled(&batch.input_ids, &batch.attention_mask)?
                .to_vec2::<f32>()?)
        })
    })
}

/// Class probabilities for each encoded row, in input order. Rows are
/// batched by length so little padding is computed.
pub fn logits_for(model: &Classifier, pad_id: u32, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
    crate::device::on_compute_threads(&model.device, || {
        by_length(model, pad_id, ids, |batch, rows| {
            let logits = model.forward(&batch.input_ids, &batch.attention_mask, &mut Mode::Eval)?;
            if logits.rank() == 3 {
                // A token head: each row's real pieces, one after another.
                return Ok(logits
                    .to_vec3::<f32>()?
                    .into_iter()
                    .zip(rows)
                    .map(|(l, r)| l.into_iter().take(r.len()).flatten().collect())
                    .collect());
            }
            Ok(logits.to_vec2::<f32>()?)
        })
    })
}

/// One vector per encoded row, in input order, from `per_batch` over
/// batches of rows of similar length (little padding computed).
fn by_length(
    model: &Classifier,
    pad_id: u32,
    ids: &[Vec<u32>],
    mut per_batch: impl FnMut(&crate::text::Batch, &[&[u32]]) -> Result<Vec<Vec<f32>>>,
) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let mut out = vec![Vec::new(); ids.len()];
    for chunk in order.chunks(EVAL_BATCH) {
        let rows: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
        let batch = make_batch(&rows, None, pad_id, &model.device)?;
        for (&i, v) in chunk.iter().zip(per_batch(&batch, &rows)?) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// A model's answer from its logits, as transformers' text-classification
/// pipeline gives it: softmax (one label), sigmoid per label with the
/// labels over threshold (multi-label), or the value (regression).
pub fn to_prediction(model: &Classifier, logits: Vec<f32>) -> Prediction {
    let labels = &model.labels;
    match model.task {
        // A token classifier's answer is its entities (`answer` adds
        // them); its label is the first piece's tag, never shown alone.
        Task::SingleLabel | Task::TokenClassification => {
            let probs = softmax(&logits);
            let best = argmax(&probs);
            Prediction {
                label: labels.name(best).to_string(),
                score: probs[best],
                probs: labels.names().iter().cloned().zip(probs).collect(),
                logits,
                chosen: None,
                thresholds: None,
                value: None,
                explanation: None,
                entities: None,
            }
        }
        Task::MultiLabel => {
            let probs: Vec<f32> = logits.iter().map(|&x| sigmoid(x)).collect();
            let best = argmax(&probs);
            let thresholds: Vec<f32> = (0..labels.len()).map(|i| model.threshold(i)).collect();
            let chosen = (0..labels.len())
                .filter(|&i| probs[i] >= thresholds[i])
                .map(|i| labels.name(i).to_string())
                .collect();
            Prediction {
                label: labels.name(best).to_string(),
                score: probs[best],
                probs: labels.names().iter().cloned().zip(probs).collect(),
                logits,
                chosen: Some(chosen),
                thresholds: Some(thresholds),
                value: None,
                explanation: None,
                entities: None,
            }
        }
        Task::Regression => {
            let value = logits.first().copied().unwrap_or(f32::NAN);
            Prediction {
                label: labels.name(0).to_string(),
                score: value,
                probs: vec![(labels.name(0).to_string(), value)],
                logits,
                chosen: None,
                thresholds: None,
                value: Some(value),
                explanation: None,
                entities: None,
            }
        }
    }
}

/// The label id an explanation is for (None: the predicted label); an
/// unknown label is a bad `target`, naming the model's labels.
pub fn explain_target(labels: &Labels, target: Option<&str>) -> Result<Option<usize>> {
    let Some(t) = target else {
        return Ok(None);
    };
    labels.id(t).map(Some).ok_or_else(|| {
        crate::config::ConfigError::field(
            "target",
            format!(
                "'{t}' is not a label of this model ({})",
                labels.names().join(", ")
            ),
        )
        .into()
    })
}

/// One text's prediction, with its token attributions when `explain` asks
/// (the answer to `Command::Predict`, from the engine or a checkpoint).
pub fn answer(
    model: &Classifier,
    text: &TextEncoder,
    input: &str,
    pair: Option<&str>,
    explain: Option<&crate::protocol::ExplainRequest>,
) -> Result<Prediction> {
    if model.task == Task::TokenClassification {
        if explain.is_some() || pair.is_some() {
            return Err(crate::Error::Run(
                "a token classifier tags the words of one text: no sentence pairs or word attributions".into(),
            ));
        }
        let entities =
            predict_entities(model, text, &[input], crate::entities::Aggregation::Simple)?
                .pop()
                .unwrap_or_default();
        return Ok(token_prediction(entities));
    }
    let mut p = match pair {
        None => predict_texts(model, text, &[input])?.pop(),
        Some(b) => {
            let (ids, _) = text.encode_input(input, Some(b))?;
            logits_for(model, text.pad_id(), &[ids])?
                .pop()
                .map(|l| to_prediction(model, l))
        }
    }
    .ok_or_else(|| crate::Error::Run("no prediction".into()))?;
    if explain.is_some() && pair.is_some() {
        return Err(crate::Error::Run(
            "word attributions are for single texts; this is a sentence pair".into(),
        ));
    }
    if let Some(req) = explain {
        let target = explain_target(&model.labels, req.target.as_deref())?;
        p.explanation = Some(crate::explain::integrated_gradients(
            model, text, input, target, req.steps,
        )?);
    }
    Ok(p)
}

/// The entities a token classifier finds in each text.
pub fn predict_entities(
    model: &Classifier,
    text: &TextEncoder,
    texts: &[&str],
    strategy: crate::entities::Aggregation,
) -> Result<Vec<Vec<crate::protocol::EntityGroup>>> {
    if model.task != crate::data::Task::TokenClassification {
        return Err(crate::Error::Run(format!(
            "entities come from a token classifier; this model is {}",
            model.task.name()
        )));
    }
    let encoded: Vec<_> = texts
        .iter()
        .map(|t| text.encode_with_offsets(t))
        .collect::<Result<_>>()?;
    let ids: Vec<Vec<u32>> = encoded.iter().map(|e| e.ids.clone()).collect();
    let logits = logits_for(model, text.pad_id(), &ids)?;
    let n = model.labels.len();
    let decode = |tokens: &[String]| text.tokens_to_string(tokens);
    Ok(texts
        .iter()
        .zip(&encoded)
        .zip(&logits)
        .map(|((t, e), l)| {
            crate::entities::group(
                &crate::entities::pieces(e, t, l, n),
                &model.labels,
                strategy,
                &decode,
            )
        })
        .collect())
}

/// A token classifier's answer: its entities; `label` counts them and
/// `score` is the mean entity score.
pub fn token_prediction(entities: Vec<crate::protocol::EntityGroup>) -> Prediction {
    let score = if entities.is_empty() {
        0.0
    } else {
        entities.iter().map(|e| e.score).sum::<f32>() / entities.len() as f32
    };
    Prediction {
        label: format!("{} entities", entities.len()),
        score,
        probs: Vec::new(),
        logits: Vec::new(),
        chosen: None,
        thresholds: None,
        value: None,
        explanation: None,
        entities: Some(entities),
    }
}

pub fn predict_texts(
    model: &Classifier,
    text: &TextEncoder,
    texts: &[&str],
) -> Result<Vec<Prediction>> {
    let ids = text.encode_all(texts)?;
    Ok(logits_for(model, text.pad_id(), &ids)?
        .into_iter()
        .map(|l| to_prediction(model, l))
        .collect())
}

/// The task's mean loss over labelled rows, and their logits.
pub struct EvalOutput {
    pub loss: f64,
    pub logits: Vec<Vec<f32>>,
}

/// Evaluate labelled rows: the loss as training computes it (cross-entropy,
/// BCE with logits averaged over every label, or squared error).
pub fn evaluate(
    model: &Classifier,
    pad_id: u32,
    ids: &[Vec<u32>],
    targets: &Targets,
) -> Result<EvalOutput> {
    let logits = logits_for(model, pad_id, ids)?;
    let rows = ids.len().max(1) as f64;
    let loss = match targets {
        Targets::Classes(labels) => {
            logits
                .iter()
                .zip(labels)
                .map(|(l, &y)| -(softmax(l)[y as usize].max(f32::MIN_POSITIVE) as f64).ln())
                .sum::<f64>()
                / rows
        }
        Targets::Sets(hot) => {
            let mut sum = 0.0;
            let mut n = 0usize;
            for (l, y) in logits.iter().zip(hot) {
                for (&x, &t) in l.iter().zip(y) {
                    let (x, t) = (x as f64, t as f64);
                    sum += x.max(0.0) - x * t + (-x.abs()).exp().ln_1p();
                    n += 1;
                }
            }
            sum / n.max(1) as f64
        }
        Targets::Scores(gold) => {
            logits
                .iter()
                .zip(gold)
                .map(|(l, &g)| (l[0] as f64 - g as f64).powi(2))
                .sum::<f64>()
                / rows
        }
        // Cross-entropy over every labelled piece.
        Targets::Tokens(truth) => {
            let n = model.labels.len().max(1);
            let (mut sum, mut count) = (0f64, 0usize);
            for (l, t) in logits.iter().zip(truth) {
                for (piece, &y) in l.chunks(n).zip(t) {
                    if y >= 0 {
                        sum -= (softmax(piece)[y as usize].max(f32::MIN_POSITIVE) as f64).ln();
                        count += 1;
                    }
                }
            }
            sum / count.max(1) as f64
        }
    };
    Ok(EvalOutput { loss, logits })
}

/// One CSV row per example. One label: line, text, true label, predicted
/// label, its probability, whether it is right, and every label's
/// probability. Multi-label: the true and predicted label sets (`|`),
/// whether they are equal, and every label's probability. Regression: the
/// true and predicted values and the error.
pub fn predictions_csv(
    rows: &[crate::data::Row],
    model: &Classifier,
    targets: &Targets,
    logits: &[Vec<f32>],
) -> Result<Vec<u8>> {
    let labels = &model.labels;
    let err = |e: csv::Error| crate::Error::Run(format!("predictions CSV: {e}"));
    match targets {
        Targets::Classes(truth) => {
            let scored: Vec<ScoredRow> = rows
                .iter()
                .zip(logits)
                .zip(truth)
                .map(|((row, l), &t)| ScoredRow {
                    line: row.line,
                    text: &row.text,
                    label: t as usize,
                    probs: softmax(l).into_iter().map(f64::from).collect(),
                })
                .collect();
            probabilities_csv(labels.names(), &scored)
        }
        Targets::Sets(hot) => {
            let rows: Vec<LabelSetRow> = rows
                .iter()
                .zip(logits)
                .zip(hot)
                .map(|((row, l), y)| {
                    let probs: Vec<f64> = l.iter().map(|&x| f64::from(sigmoid(x))).collect();
                    LabelSetRow {
                        line: row.line,
                        text: &row.text,
                        given: (0..labels.len()).filter(|&i| y[i] > 0.5).collect(),
                        predicted: (0..labels.len())
                            .filter(|&i| sigmoid(l[i]) >= model.threshold(i))
                            .collect(),
                        probs,
                    }
                })
                .collect();
            label_sets_csv(labels.names(), &rows)
        }
        Targets::Tokens(truth) => {
            let (gold, predicted) = crate::entities::tag_sequences(labels.names(), truth, logits);
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["line", "text", "tags", "predicted", "exact", "errors"])
                .map_err(err)?;
            for ((row, g), p) in rows.iter().zip(&gold).zip(&predicted) {
                use crate::entities::{describe_errors, sentence_errors};
                let words: Vec<&str> = row
                    .tagged_words()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(w, _)| w)
                    .collect();
                w.write_record([
                    row.line.to_string(),
                    row.text.clone(),
                    g.join(" "),
                    p.join(" "),
                    (g == p).to_string(),
                    describe_errors(&sentence_errors(g, p, false), &words),
                ])
                .map_err(err)?;
            }
            w.into_inner()
                .map_err(|e| crate::Error::Run(format!("predictions CSV: {e}")))
        }
        Targets::Scores(gold) => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["line", "text", "label", "predicted", "error"])
                .map_err(err)?;
            for ((row, l), &g) in rows.iter().zip(logits).zip(gold) {
                w.write_record([
                    row.line.to_string(),
                    row.text.clone(),
                    format!("{g}"),
                    format!("{:.6}", l[0]),
                    format!("{:.6}", l[0] - g),
                ])
                .map_err(err)?;
            }
            w.into_inner()
                .map_err(|e| crate::Error::Run(format!("predictions CSV: {e}")))
        }
    }
}

/// One row of a predictions CSV: its label and the model's probabilities.
pub struct ScoredRow<'a> {
    pub line: u64,
    pub text: &'a str,
    pub label: usize,
    pub probs: Vec<f64>,
}

/// The predictions CSV layout every writer shares (a run's held-out
/// predictions, `eval --predictions`, cross-validation's out-of-fold
/// probabilities): `line,text,label,predicted,score,correct,p_<label>…`.
pub fn probabilities_csv(labels: &[String], rows: &[ScoredRow]) -> Result<Vec<u8>> {
    let err = |e: csv::Error| crate::Error::Run(format!("predictions CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["line", "text", "label", "predicted", "score", "correct"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(labels.iter().map(|l| format!("p_{l}")));
    w.write_record(&header).map_err(err)?;
    for r in rows {
        let p = argmax(&r.probs);
        let mut rec = vec![
            r.line.to_string(),
            r.text.to_string(),
            labels[r.label].clone(),
            labels[p].clone(),
            format!("{:.6}", r.probs[p]),
            (r.label == p).to_string(),
        ];
        rec.extend(r.probs.iter().map(|x| format!("{x:.6}")));
        w.write_record(&rec).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| crate::Error::Run(format!("predictions CSV: {e}")))
}

/// One row of a multi-label predictions CSV: label indices, given and
/// predicted, in label order, and every label's sigmoid probability.
pub struct LabelSetRow<'a> {
    pub line: u64,
    pub text: &'a str,
    pub given: Vec<usize>,
    pub predicted: Vec<usize>,
    pub probs: Vec<f64>,
}

/// The multi-label predictions CSV layout every writer shares (a run's
/// held-out predictions, `eval --predictions`, cross-validation's
/// out-of-fold probabilities): `line,text,labels,predicted,exact,p_<label>…`.
pub fn label_sets_csv(labels: &[String], rows: &[LabelSetRow]) -> Result<Vec<u8>> {
    let err = |e: csv::Error| crate::Error::Run(format!("predictions CSV: {e}"));
    let sep = crate::data::task::SET_SEP.to_string();
    let names = |set: &[usize]| {
        set.iter()
            .map(|&i| labels[i].as_str())
            .collect::<Vec<_>>()
            .join(&sep)
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["line", "text", "labels", "predicted", "exact"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(labels.iter().map(|l| format!("p_{l}")));
    w.write_record(&header).map_err(err)?;
    for r in rows {
        let mut rec = vec![
            r.line.to_string(),
            r.text.to_string(),
            names(&r.given),
            names(&r.predicted),
            (r.given == r.predicted).to_string(),
        ];
        rec.extend(r.probs.iter().map(|x| format!("{x:.6}")));
        w.write_record(&rec).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| crate::Error::Run(format!("predictions CSV: {e}")))
}

/// A thread that loads a checkpoint and answers `Command::Predict` with
/// the same `Event::Prediction` the engine sends, so a front end talks to
/// it exactly as to a running engine. A load failure is reported as an
/// error `Event::Log`.
pub fn spawn_predictor(
    dir: std::path::PathBuf,
    base: Option<std::path::PathBuf>,
    device: String,
    precision: crate::config::InferencePrecision,
) -> (
    std::sync::mpsc::Sender<crate::protocol::Command>,
    std::sync::mpsc::Receiver<crate::protocol::Event>,
) {
    use crate::protocol::{Command, Event};
    let (cmd_tx, cmd_rx) = std::sync::mpsc::channel::<Command>();
    let (ev_tx, ev_rx) = std::sync::mpsc::channel::<Event>();
    std::thread::spawn(move || {
        let loaded = crate::device::open(&device, 0)
            .and_then(|d| Predictor::load_with_base(&dir, base.as_deref(), &d))
            .and_then(|p| p.with_precision(precision));
        let predictor = match loaded {
            Ok(p) => {
                let _ = ev_tx.send(Event::Log {
                    level: "info".into(),
                    message: format!("playground uses {} ({})", dir.display(), precision.name()),
                });
                p
            }
            Err(e) => {
                let _ = ev_tx.send(Event::Log {
                    level: "error".into(),
                    message: format!("cannot load {} for prediction: {e}", dir.display()),
                });
                return;
            }
        };
        for cmd in cmd_rx {
            if let Command::Predict {
                id,
                text,
                text_pair,
                explain,
            } = cmd
            {
                let t0 = std::time::Instant::now();
                let event = match answer(
                    &predictor.model,
                    &predictor.text,
                    &text,
                    text_pair.as_deref(),
                    explain.as_ref(),
                ) {
                    Ok(prediction) => Event::Prediction {
                        id,
                        text,
                        prediction,
                        latency_ms: t0.elapsed().as_secs_f64() * 1e3,
                    },
                    Err(e) => Event::Log {
                        level: "error".into(),
                        message: format!("prediction failed: {e}"),
                    },
                };
                if ev_tx.send(event).is_err() {
                    break;
                }
            }
        }
    });
    (cmd_tx, ev_rx)
}

/// One predicted (and maybe explained) text as `predict --format jsonl`
/// writes it; fields in this order (alphabetical, as the lines have
/// always been) and numbers as f64 (the digits the lines have always had;
/// the attributions go through `serde_json::Value` for the same reason).
#[derive(serde::Serialize)]
pub struct PredictionRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributions: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explained: Option<&'a str>,
    pub label: &'a str,
    /// Multi-label: the labels over their thresholds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<&'a [String]>,
    pub logits: Vec<f64>,
    pub probs: std::collections::BTreeMap<&'a str, f64>,
    pub score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_b: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<serde_json::Value>,
}

impl<'a> PredictionRecord<'a> {
    pub fn new(
        row: &'a Row,
        p: &'a Prediction,
        explanation: Option<&'a crate::protocol::Explanation>,
    ) -> Self {
        PredictionRecord {
            attributions: explanation.and_then(|e| serde_json::to_value(&e.tokens).ok()),
            delta: explanation.map(|e| f64::from(e.delta)),
            explained: explanation.map(|e| e.target.as_str()),
            label: &p.label,
            labels: p.chosen.as_deref(),
            logits: p.logits.iter().map(|&x| f64::from(x)).collect(),
            probs: p
                .probs
                .iter()
                .map(|(l, x)| (l.as_str(), f64::from(*x)))
                .collect(),
            score: f64::from(p.score),
            steps: explanation.map(|e| e.steps),
            text: &row.text,
            text_b: row.text_b.as_deref(),
            value: p.value.map(f64::from),
            words: explanation.and_then(|e| serde_json::to_value(&e.words).ok()),
        }
    }
}

impl Predictor {
    /// Predictions for `rows`, each explained (Integrated Gradients for
    /// `target`, else the predicted label, in `steps`) when `explain`.
    pub fn predict_explained(
        &self,
        rows: &[Row],
        explain: Option<(Option<usize>, usize)>,
    ) -> Result<Vec<(Prediction, Option<crate::protocol::Explanation>)>> {
        let preds = self.predict_rows(rows)?;
        preds
            .into_iter()
            .zip(rows)
            .map(|(p, row)| {
                let e = match explain {
                    Some((target, steps)) => Some(crate::explain::integrated_gradients(
                        &self.model,
                        &self.text,
                        &row.text,
                        target,
                        steps,
                    )?),
                    None => None,
                };
                Ok((p, e))
            })
            .collect()
    }
}
