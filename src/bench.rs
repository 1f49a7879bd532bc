//! The benchmark suite behind `tunebench bench`: training and evaluation
//! throughput, single-sentence latency and peak memory, one JSON line per
//! case, measured the same way as bench/pytorch_reference.py does for
//! PyTorch so the two can be compared side by side.
//!
//! Rows are real text (SST-2 sentences) packed to exactly `max_len` tokens,
//! so "batch 32 × max_len 128" means 4096 tokens a batch in both programs.

use crate::config::{InferencePrecision, Precision};
use crate::data::{load_file, Labels, LoadOptions};
use crate::error::{Error, Result};
use crate::model::checkpoint::ModelDir;
use crate::model::classifier::BuildSpec;
use crate::model::config::scratch_config;
use crate::model::Classifier;
use crate::predict::predict_texts;
use crate::rng::Rng;
use crate::text::batch::make_batch;
use crate::text::{Batch, TextEncoder};
use crate::train::objective::Objective;
use crate::train::optim::{AdamW, AdamWConfig};
use crate::train::step::LossScaler;
use crate::train::step::{train_step, StepPlan};
use candle_core::Device;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const MODELS: &[&str] = &["tiny", "mini", "minilm"];
pub const LENGTHS: &[usize] = &[64, 128];

#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// A GLUE-style TSV of sentences (SST-2 train).
    pub data: PathBuf,
    /// all-MiniLM-L6-v2: its weights for `minilm`, its (bert-base-uncased)
    /// tokenizer for every case.
    pub minilm_dir: PathBuf,
    pub batch: usize,
    pub threads: usize,
    pub warmup_steps: usize,
    pub steps: usize,
    pub eval_batches: usize,
    pub predict_runs: usize,
    /// cpu, cuda, cuda:N.
    pub device: String,
    /// f32, bf16, f16: training and inference in it; int8, and bf16 on the
    /// CPU, pack the encoder for inference (training is not timed).
    pub precision: InferencePrecision,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub implementation: &'static str,
    pub model: String,
    pub batch: usize,
    pub max_len: usize,
    pub threads: usize,
    pub device: String,
    pub precision: &'static str,
    pub train_samples_per_s: f64,
    pub train_tokens_per_s: f64,
    pub eval_samples_per_s: f64,
    pub predict_ms_median: f64,
    pub predict_ms_p90: f64,
    pub peak_rss_mb: f64,
    /// Highest GPU memory in use seen after a training step (MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_device_mem_mib: Option<f64>,
}

/// SST-2 sentences packed into rows of exactly `max_len` ids
/// ([CLS] pieces… [SEP]), each labelled with its first sentence's label.
pub fn packed_rows(
    text: &TextEncoder,
    data: &Path,
    max_len: usize,
    count: usize,
) -> Result<Vec<(Vec<u32>, u32)>> {
    let ds = load_file(
        data,
        &LoadOptions {
            require_label: true,
            ..Default::default()
        },
    )?;
    let labels = Labels::from_rows(&ds.rows);
    let ids = labels.ids_of(&ds)?;
    let (cls, sep) = match (text.token_id("[CLS]"), text.token_id("[SEP]")) {
        (Some(c), Some(s)) => (c, s),
        _ => return Err(Error::Run("bench tokenizer lacks [CLS]/[SEP]".into())),
    };
    let mut rows = Vec::with_capacity(count);
    if count == 0 {
        return Ok(rows);
    }
    let mut buf: Vec<u32> = Vec::new();
    let mut label = None;
    // Large batches can need more text than the file has: go round again.
    loop {
        let before = rows.len();
        for chunk in ds.rows.chunks(512).zip(ids.chunks(512)) {
            let texts: Vec<&str> = chunk.0.iter().map(|r| r.text.as_str()).collect();
            for (pieces, &y) in text.encode_plain(&texts)?.into_iter().zip(chunk.1) {
                label.get_or_insert(y as u32);
                buf.extend(pieces);
                if buf.len() >= max_len - 2 {
                    let mut row = vec![cls];
                    row.extend_from_slice(&buf[..max_len - 2]);
                    row.push(sep);
                    rows.push((row, label.take().unwrap_or(0)));
                    buf.clear();
                    if rows.len() == count {
                        return Ok(rows);
                    }
                }
            }
        }
        if rows.len() == before {
            return Err(Error::Run(format!(
                "{}: not enough text for one row of {max_len} tokens",
                data.display()
            )));
        }
    }
}

/// A bench model's weights and shape: MiniLM-L6's, or a scratch size's.
fn bench_spec(model: &str, opts: &BenchOptions, vocab: usize) -> Result<BuildSpec> {
    let labels = Labels::new(vec!["0".into(), "1".into()]);
    if model == "minilm" {
        let md = ModelDir::open(&opts.minilm_dir)?;
        return Ok(md.build_spec(labels, md.read_weights()?, false));
    }
    let config = scratch_config(model, vocab)
        .ok_or_else(|| Error::Run(format!("unknown bench model '{model}'")))?;
    Ok(BuildSpec::scratch(config, labels, model))
}

/// The optimizer every bench times, as the PyTorch references set it.
fn bench_optimizer(model: &Classifier) -> Result<AdamW> {
    Ok(AdamW::new(
        &model.params,
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        },
    )?)
}

fn build_model(
    model: &str,
    opts: &BenchOptions,
    vocab: usize,
    device: &Device,
) -> Result<Classifier> {
    let mut rng = Rng::seeded(0);
    let spec = bench_spec(model, opts, vocab)?;
    let dtype = training_precision(opts, device).map_or(candle_core::DType::F32, |p| p.dtype());
    Ok(Classifier::build(spec, &mut rng, device)?.with_compute_dtype(dtype))
}

/// The precision training is timed in; None when the bench's precision
/// is inference-only here (int8; bf16 on the CPU, whose weights are packed).
fn training_precision(opts: &BenchOptions, device: &Device) -> Option<Precision> {
    match opts.precision {
        InferencePrecision::F32 => Some(Precision::F32),
        InferencePrecision::F16 => Some(Precision::F16),
        InferencePrecision::Bf16 if !device.is_cpu() => Some(Precision::Bf16),
        InferencePrecision::Bf16 | InferencePrecision::Int8 => None,
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The q-quantile of sorted values (nearest rank); NaN (null in the
/// JSON) when nothing was measured.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[((n - 1) as f64 * q).round() as usize],
    }
}

/// Run one case in this process.
pub fn run_case(model: &str, max_len: usize, opts: &BenchOptions) -> Result<BenchResult> {
    let device = crate::device::open(&opts.device, 0)?;
    let text = TextEncoder::from_file(&opts.minilm_dir.join("tokenizer.json"), max_len)?;
    let mut classifier = build_model(model, opts, text.vocab_size(), &device)?;
    let training = training_precision(opts, &device);
    let train_batches = if training.is_some() {
        opts.warmup_steps + opts.steps
    } else {
        0
    };
    let rows = packed_rows(
        &text,
        &opts.data,
        max_len,
        (train_batches + opts.eval_batches) * opts.batch,
    )?;
    let batches: Vec<Batch> = rows
        .chunks(opts.batch)
        .map(|c| {
            let ids: Vec<&[u32]> = c.iter().map(|r| r.0.as_slice()).collect();
            let labels: Vec<u32> = c.iter().map(|r| r.1).collect();
            make_batch(&ids, Some(&labels), text.pad_id(), &device)
        })
        .collect::<candle_core::Result<_>>()?;

    let mut optimizer = bench_optimizer(&classifier)?;
    let mut rng = Rng::seeded(0);
    let mut scaler = training.and_then(LossScaler::for_precision);
    let mut peak_mem: Option<f64> = None;
    let mut t0 = Instant::now();
    for (i, b) in batches[..train_batches].iter().enumerate() {
        if i == opts.warmup_steps {
            crate::device::sync(&device)?;
            t0 = Instant::now();
        }
        train_step(
            &classifier,
            &mut optimizer,
            &mut rng,
            std::slice::from_ref(b),
            StepPlan {
                objective: Objective::Supervised(classifier.task),
                lr: 2e-5,
                max_grad_norm: 1.0,
            },
            scaler.as_mut(),
        )?
        .map_err(|bad| Error::Run(format!("{} became {}", bad.what, bad.value)))?;
        if let Some(m) = crate::device::memory_in_use_mib(&device) {
            peak_mem = Some(peak_mem.map_or(m, |p: f64| p.max(m)));
        }
    }
    crate::device::sync(&device)?;
    let train_s = t0.elapsed().as_secs_f64();
    let samples = if training.is_some() && opts.steps > 0 {
        (opts.steps * opts.batch) as f64
    } else {
        f64::NAN
    };
    // Evaluation and latency on the model as predict and serve hold it: a
    // frozen encoder (plain tensors, no gradient tracking), packed for the
    // CPU (int8, bf16; f32 for a sentence's rows). Packed layers are skipped
    // by inputs that track gradients, as a training model's do.
    if let Some(kind) = crate::model::quant::pack_kind(opts.precision, device.is_cpu()) {
        classifier = classifier.frozen_copy()?;
        classifier.pack_encoder(kind)?;
    }

    let eval = &batches[train_batches..];
    // Two untimed batches first (as the PyTorch and ONNX Runtime references
    // do): the first forwards fault in fresh pages for every activation.
    for b in eval.iter().take(2) {
        classifier.forward(
            &b.input_ids,
            &b.attention_mask,
            &mut crate::model::Mode::Eval,
        )?;
    }
    let t0 = Instant::now();
    for b in eval {
        classifier
            .forward(
                &b.input_ids,
                &b.attention_mask,
                &mut crate::model::Mode::Eval,
            )?
            .to_vec2::<f32>()?;
    }
    let eval_s = t0.elapsed().as_secs_f64();

    let sentence = "a gripping , beautifully acted story that never loses its nerve";
    let mut times = Vec::with_capacity(opts.predict_runs);
    let runs = if opts.predict_runs > 0 {
        opts.predict_runs + 5
    } else {
        0
    };
    for i in 0..runs {
        let t0 = Instant::now();
        predict_texts(&classifier, &text, &[sentence])?;
        if i >= 5 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(BenchResult {
        implementation: "tunebench",
        model: model.to_string(),
        batch: opts.batch,
        max_len,
        threads: opts.threads,
        device: crate::device::describe(&device),
        precision: opts.precision.name(),
        train_samples_per_s: samples / train_s,
        train_tokens_per_s: samples * max_len as f64 / train_s,
        eval_samples_per_s: (eval.len() * opts.batch) as f64 / eval_s,
        predict_ms_median: percentile(&times, 0.5),
        predict_ms_p90: percentile(&times, 0.9),
        peak_rss_mb: peak_rss_mb(),
        peak_device_mem_mib: peak_mem,
    })
}

/// Masked-LM pretraining steps (`--objective mlm`), as `run_mlm.py` takes
/// them and bench/mlm_speed.py times them in PyTorch: SST-2 sentences
/// packed into blocks of `block` pieces (run_mlm's `group_texts`), every
/// batch masked afresh with whole-word masking (15%), the masked-LM head
/// over the encoder (fresh on MiniLM, which ships without one). Training
/// throughput and peak memory; nothing else is timed.
pub fn run_mlm_case(model: &str, block: usize, opts: &BenchOptions) -> Result<BenchResult> {
    use crate::text::masking::MaskingSpec;
    use crate::text::pretraining::{sequences, Packing, Sequence};
    let device = crate::device::open(&opts.device, 0)?;
    let text = TextEncoder::from_file(&opts.minilm_dir.join("tokenizer.json"), 512)?;
    let mut spec = bench_spec(model, opts, text.vocab_size())?;
    spec.config.head = crate::model::config::HeadKind::MaskedLm;
    let classifier = Classifier::build(spec, &mut Rng::seeded(0), &device)?;
    let ds = load_file(&opts.data, &LoadOptions::default())?;
    let needed = (opts.warmup_steps + opts.steps) * opts.batch;
    let mut seqs: Vec<Sequence> = Vec::new();
    for chunk in ds.rows.chunks(2048) {
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        seqs.extend(sequences(&text, &texts, Packing::Blocks(block))?);
        if seqs.len() >= needed {
            break;
        }
    }
    if seqs.len() < needed {
        return Err(Error::Run(format!(
            "{}: {} blocks of {block} pieces, {needed} needed",
            opts.data.display(),
            seqs.len()
        )));
    }
    let (mask_token, mask_id) = text
        .mask_token()
        .ok_or_else(|| Error::Run("the bench tokenizer has no mask token".into()))?;
    let masking = MaskingSpec {
        probability: 0.15,
        whole_word: true,
        mask_id,
        vocab_size: text.vocab_size(),
        special: [text.pad_id()]
            .into_iter()
            .chain(
                ["[CLS]", "[SEP]", mask_token]
                    .iter()
                    .filter_map(|t| text.token_id(t)),
            )
            .collect(),
    };
    let mut optimizer = bench_optimizer(&classifier)?;
    let mut rng = Rng::seeded(0);
    let mut t0 = Instant::now();
    for (i, rows) in seqs[..needed].chunks(opts.batch).enumerate() {
        if i == opts.warmup_steps {
            crate::device::sync(&device)?;
            t0 = Instant::now();
        }
        // Masking is part of the step, as the collator is part of PyTorch's.
        let refs: Vec<&Sequence> = rows.iter().collect();
        let batch = masking.batch(&refs, text.pad_id(), &mut rng, &device)?;
        train_step(
            &classifier,
            &mut optimizer,
            &mut rng,
            std::slice::from_ref(&batch),
            StepPlan {
                objective: Objective::MaskedLm,
                lr: 5e-5,
                max_grad_norm: 1.0,
            },
            None,
        )?
        .map_err(|bad| Error::Run(format!("{} became {}", bad.what, bad.value)))?;
    }
    crate::device::sync(&device)?;
    let train_s = t0.elapsed().as_secs_f64();
    let samples = (opts.steps * opts.batch) as f64;
    Ok(BenchResult {
        implementation: "tunebench",
        model: format!("{model}-mlm"),
        batch: opts.batch,
        max_len: block,
        threads: opts.threads,
        device: crate::device::describe(&device),
        precision: "f32",
        train_samples_per_s: samples / train_s,
        train_tokens_per_s: samples * block as f64 / train_s,
        eval_samples_per_s: f64::NAN,
        predict_ms_median: f64::NAN,
        predict_ms_p90: f64::NAN,
        peak_rss_mb: peak_rss_mb(),
        peak_device_mem_mib: None,
    })
}
