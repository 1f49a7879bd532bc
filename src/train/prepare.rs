//! Turning a `RunConfig` (or a run directory to resume) into a ready
//! `Trainer`: data read and split, labels fixed, tokenizer and model
//! loaded, run directory created. Every input problem surfaces here, before
//! the engine thread starts.

use super::engine::Trainer;
use super::optim::{AdamW, AdamWConfig};
use super::state::TrainerState;
use super::step::LossScaler;
use crate::config::{ConfigError, Peft, RunConfig};
use crate::data::split::stratified_split;
use crate::data::task::{self as task_of, Detected};
use crate::data::{load_file, DataError, Dataset, Labels, LoadOptions, Row, Targets, Task};
use crate::error::{Error, Result};
use crate::model::checkpoint::ModelDir;
use crate::model::classifier::BuildSpec;
use crate::model::config::scratch_config;
use crate::model::config::HeadKind;
use crate::model::hub::{resolve, ModelSource};
use crate::model::peft::adalora::{AdaLoraSpec, RankAllocator};
use crate::model::peft::ia3::Ia3Spec;
use crate::model::peft::lora::LoraSpec;
use crate::model::peft::prefix::PrefixSpec;
use crate::model::peft::PeftSpec;
use crate::model::Classifier;
use crate::rng::Rng;
use crate::run_dir::{sha256_file, FileInfo, ResolvedConfig, RunDir};
use crate::text::TextEncoder;
use candle_core::Tensor;
use std::collections::HashMap;
use std::path::Path;

/// Train and validation rows, with where they came from.
#[derive(Clone)]
pub struct Corpus {
    pub train: Vec<Row>,
    pub val: Vec<Row>,
    pub train_info: FileInfo,
    pub val_info: Option<FileInfo>,
    pub empty_dropped: usize,
    /// What `cfg.corrections` changed in the training file.
    pub corrections: Option<crate::data::corrections::CorrectionSummary>,
    /// The task, from the config or the data, and why.
    pub task: Detected,
}

/// The training file's rows, corrections applied, as a `FileInfo`-ready
/// dataset; the second value says what the corrections changed.
pub fn load_training_file(
    cfg: &RunConfig,
) -> Result<(Dataset, Option<crate::data::corrections::CorrectionSummary>)> {
    let train_path = cfg.train_file.clone().ok_or_else(|| {
        Error::Config(crate::config::ConfigError::field(
            "train_file",
            "no training data given (--data FILE)",
        ))
    })?;
    let mut opts = cfg.load_options();
    opts.hf_split = cfg.hf_split.clone();
    let mut train = load_file(&train_path, &opts)?;
    // Only files merged with others are rewritten: a file read alone keeps
    // its separator, which the run reports.
    if cfg.labels.is_some() || cfg.labeled_file.is_some() {
        same_set_separator(cfg, &mut train)?;
    }
    let mut corrections = None;
    if let Some(file) = &cfg.corrections {
        let (rows, summary) = crate::data::corrections::load_and_apply(
            file,
            &train_path,
            std::mem::take(&mut train.rows),
        )?;
        train.rows = rows;
        corrections = Some(summary);
    }
    if let Some(file) = &cfg.labels {
        let (rows, summary) = crate::data::given_labels::load_and_apply(
            file,
            &train_path,
            std::mem::take(&mut train.rows),
        )?;
        tracing::info!("{summary}");
        train.rows = rows;
    }
    if let Some(file) = &cfg.labeled_file {
        let opts = LoadOptions {
            require_label: true,
            hf_split: None,
            ..cfg.load_options()
        };
        let mut labeled = load_file(file, &opts)?;
        same_set_separator(cfg, &mut labeled)?;
        train.rows.extend(labeled.rows);
    }
    if let (Some(path), true) = (&cfg.labels, train.rows.is_empty()) {
        return Err(crate::data::DataError::NoRows { path: path.clone() }.into());
    }
    Ok((train, corrections))
}

/// A multi-label file's sets rewritten with `SET_SEP`, whatever separator
/// it uses, so files that separate labels differently (a pool's `a,b`, a
/// labelling session's `a|b`, a `--labeled` file's `a;b`) merge into one
/// corpus.
fn same_set_separator(cfg: &RunConfig, ds: &mut Dataset) -> Result<()> {
    if ds.rows.iter().all(|r| r.label.is_none()) {
        return Ok(());
    }
    let detected = task_of::detect(ds, cfg.task, cfg.label_separator())?;
    if let (Task::MultiLabel, Some(sep)) = (detected.task, detected.sep) {
        task_of::normalize_sets(&mut ds.rows, sep);
    }
    Ok(())
}

/// What a run records about a data file.
pub fn file_info(d: &Dataset) -> Result<FileInfo> {
    let sha256 = match d.files.as_slice() {
        [one] => sha256_file(one)?,
        // An hf: dataset's shards: the digest of their digests, in order.
        many => {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            for f in many {
                h.update(sha256_file(f)?.as_bytes());
            }
            format!("{:x}", h.finalize())
        }
    };
    Ok(FileInfo {
        path: d.path.clone(),
        sha256,
        rows: d.rows.len(),
    })
}

/// Read `ds` as `task`: multi-label strings split, and the declared label
/// names (`label_names`) applied.
fn conform(cfg: &RunConfig, task: Task, ds: &mut Dataset) -> Result<()> {
    Ok(task_of::read_as(
        task,
        ds,
        cfg.label_separator(),
        cfg.label_names.as_deref(),
    )?)
}

pub fn load_corpus(cfg: &RunConfig) -> Result<Corpus> {
    let (mut train, corrections) = load_training_file(cfg)?;
    if cfg.max_rows > 0 && cfg.max_rows < train.rows.len() {
        tracing::info!(
            "max_rows: training on {} of {} rows (stratified by label, seed {})",
            cfg.max_rows,
            train.rows.len(),
            cfg.seed
        );
        let rows = std::mem::take(&mut train.rows);
        train.rows = crate::data::split::stratified_sample(rows, cfg.max_rows, cfg.seed);
    }
    let mut task = task_of::detect(&train, cfg.task, cfg.label_separator())?;
    if let Some(t) = &train.tagging {
        task.reason = format!("{}; {}", task.reason, t.describe());
    }
    conform(cfg, task.task, &mut train)?;
    let mut opts = cfg.load_options();
    let info = file_info;
    let train_info = info(&train)?;
    let mut empty_dropped = train.empty_dropped;
    // A split of the training hf: dataset validates when no val file is given.
    let val_file = match (&cfg.val_file, &cfg.hf_val_split) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(_)) if train.path.to_string_lossy().starts_with("hf:") => {
            Some(train.path.clone())
        }
        (None, Some(s)) => {
            return Err(Error::Config(ConfigError::field(
                "hf_val_split",
                format!("'{s}' names a split of an hf: dataset, but the training data is a file"),
            )))
        }
        (None, None) => None,
    };
    opts.hf_split = cfg.hf_val_split.clone().or(Some("validation".into()));
    let (train_rows, val_rows, val_info) = match &val_file {
        Some(p) => {
            let mut val = load_file(p, &opts)?;
            conform(cfg, task.task, &mut val)?;
            empty_dropped += val.empty_dropped;
            (train.rows.clone(), val.rows.clone(), Some(info(&val)?))
        }
        None => {
            let (t, v) = stratified_split(&train.rows, cfg.val_split, cfg.seed);
            (t, v, None)
        }
    };
    Ok(Corpus {
        train: train_rows,
        val: val_rows,
        train_info,
        val_info,
        empty_dropped,
        corrections,
        task,
    })
}

/// The targets of `rows` for the model, failing with file and line on an
/// unknown label or a bad number.
fn targets(model: &Classifier, rows: &[Row], path: &Path) -> Result<Targets> {
    Ok(task_of::targets_of(model.task, &model.labels, rows, path)?)
}

struct Loaded {
    model: Classifier,
    text: TextEncoder,
    notes: Vec<String>,
}

/// Build the model for `cfg.model` with `labels` (a fresh head when the
/// source's labels differ).
/// The parameter-efficient method's settings from the config (None for
/// `peft = "none"`).
fn peft_spec(cfg: &RunConfig) -> Result<Option<PeftSpec>> {
    match cfg.peft {
        Peft::None => Ok(None),
        Peft::Lora | Peft::Dora => {
            let targets = cfg
                .lora_target_list()
                .map_err(|reason| Error::Config(ConfigError::field("lora_targets", reason)))?;
            Ok(Some(PeftSpec::Lora(LoraSpec {
                r: cfg.lora_r,
                alpha: cfg.lora_alpha,
                dropout: cfg.lora_dropout,
                rslora: false,
                targets,
                dora: cfg.peft == Peft::Dora,
            })))
        }
        Peft::Adalora => {
            let targets = cfg
                .lora_target_list()
                .map_err(|reason| Error::Config(ConfigError::field("lora_targets", reason)))?;
            Ok(Some(PeftSpec::AdaLora(AdaLoraSpec {
                init_r: cfg.adalora_init_r,
                target_r: cfg.adalora_target_r,
                alpha: cfg.lora_alpha,
                dropout: cfg.lora_dropout,
                targets,
                tinit: cfg.adalora_tinit,
                tfinal: cfg.adalora_tfinal,
                delta_t: cfg.adalora_delta_t,
                beta1: cfg.adalora_beta1,
                beta2: cfg.adalora_beta2,
                orth_reg: cfg.adalora_orth_reg,
                // Set from the run's length when the trainer is assembled.
                total_step: 0,
                rank_pattern: None,
            })))
        }
        Peft::Prefix => Ok(Some(PeftSpec::Prefix(PrefixSpec {
            tokens: cfg.prefix_tokens,
            projection: (cfg.prefix_projection > 0).then_some(cfg.prefix_projection),
        }))),
        Peft::Ia3 => {
            let (targets, feedforward) = cfg
                .ia3_module_lists()
                .map_err(|reason| Error::Config(ConfigError::field("ia3_targets", reason)))?;
            Ok(Some(PeftSpec::Ia3(Ia3Spec {
                targets,
                feedforward,
            })))
        }
    }
}

/// The tokenizer a run of `model` uses: the model directory's own, or for
/// a scratch model a WordPiece vocabulary learned from `train_texts` —
/// the one function behind training, the TUI's length column and `inspect`.
pub fn tokenizer_for(
    model: &str,
    scratch_vocab: usize,
    max_len: usize,
    train_texts: &[String],
) -> Result<TextEncoder> {
    match resolve(model)? {
        ModelSource::Dir(dir) => dir_tokenizer(&ModelDir::open(&dir)?, max_len),
        ModelSource::Scratch(_) => scratch_tokenizer(train_texts, scratch_vocab, max_len),
    }
}

/// A model directory's tokenizer, truncating at `max_len` or the model's
/// position limit, whichever is smaller.
fn dir_tokenizer(md: &ModelDir, max_len: usize) -> Result<TextEncoder> {
    TextEncoder::from_file(&md.tokenizer, max_len.min(md.config.max_tokens()))
}

fn scratch_tokenizer(
    train_texts: &[String],
    scratch_vocab: usize,
    max_len: usize,
) -> Result<TextEncoder> {
    TextEncoder::train_wordpiece(train_texts, scratch_vocab, max_len)
}

fn load_model(
    cfg: &RunConfig,
    task: Task,
    source: &ModelSource,
    data_labels: &Labels,
    train_texts: &[String],
    device: &candle_core::Device,
    overrides: HashMap<String, Tensor>,
) -> Result<Loaded> {
    let mut init_rng = Rng::derived(cfg.seed, 1);
    let mut notes = Vec::new();
    let peft = peft_spec(cfg)?;
    if let (Some(p), ModelSource::Scratch(_)) = (&peft, source) {
        return Err(Error::Config(ConfigError::field("peft", format!("{} adapts a pretrained encoder kept frozen; a scratch model has no pretrained weights (use peft = \"none\", or a pretrained --model)", p.method()))));
    }
    let (spec, text) = match source {
        ModelSource::Scratch(size) => {
            let text = scratch_tokenizer(train_texts, cfg.scratch_vocab, cfg.max_len)?;
            let config = scratch_config(size, text.vocab_size()).ok_or_else(|| {
                crate::model::ModelError::NotFound {
                    spec: cfg.model.clone(),
                    hint: "scratch sizes are tiny, mini and small".into(),
                }
            })?;
            notes.push(format!(
                "scratch:{size}: learned a WordPiece vocabulary of {} tokens from the training rows",
                text.vocab_size()
            ));
            let spec = BuildSpec::scratch(config, data_labels.clone(), &cfg.model);
            (spec, text)
        }
        ModelSource::Dir(dir) => {
            let md = ModelDir::open(dir)?;
            let text = dir_tokenizer(&md, cfg.max_len)?;
            // Keep a classifier's own label order (and head) when the data fits it.
            // A head of the other kind (per token, per text) never fits.
            let same_head = md.config.head == HeadKind::of_task(task);
            let (labels, keep_head) = match &md.labels {
                _ if !same_head => (data_labels.clone(), false),
                Some(l) if data_labels.names().iter().all(|n| l.id(n).is_some()) => {
                    (l.clone(), true)
                }
                // A regression model goes on as one (its output's name kept).
                Some(l)
                    if md.task == Task::Regression
                        && l.len() == 1
                        && data_labels.names() == [task_of::SCORE_LABEL] =>
                {
                    (l.clone(), true)
                }
                _ => (data_labels.clone(), false),
            };
            let spec = md.build_spec(labels, md.read_weights()?, keep_head);
            (spec, text)
        }
    };
    // The real tokens are numbered after a prefix's virtual ones, as in
    // transformers: texts are cut so both fit the model's positions.
    let mut text = text;
    if let Some(PeftSpec::Prefix(p)) = &peft {
        let limit = spec.config.max_tokens().saturating_sub(p.tokens);
        if limit < 8 {
            return Err(Error::Config(ConfigError::field(
                "prefix_tokens",
                format!(
                    "{} virtual tokens leave {limit} of the model's {} positions for the text",
                    p.tokens,
                    spec.config.max_tokens()
                ),
            )));
        }
        if text.max_len() > limit {
            notes.push(format!(
                "prefix tuning: texts cut at {limit} tokens (the model's {} positions less {} virtual tokens)",
                spec.config.max_tokens(),
                p.tokens
            ));
            text = TextEncoder::from_json(&text.to_json()?, limit)?;
        }
    }
    let mut spec = spec;
    spec.config.head = HeadKind::of_task(task);
    if let Some(p) = cfg.dropout {
        spec.config.set_dropout(p);
    }
    spec.freeze = cfg.freeze;
    spec.peft = peft;
    spec.overrides = overrides;
    let scratch = spec.scratch;
    let model = Classifier::build(spec, &mut init_rng, device)?
        .with_compute_dtype(cfg.precision.dtype())
        .with_pair_separator(text.sep_id());
    if !scratch && !model.fresh.is_empty() {
        notes.push(format!("initialised fresh: {}", model.fresh.join(", ")));
    }
    if !model.unused.is_empty() {
        notes.push(format!(
            "ignored {} tensors of the weights file (e.g. {})",
            model.unused.len(),
            model.unused[0]
        ));
    }
    Ok(Loaded { model, text, notes })
}

fn encode(text: &TextEncoder, rows: &[Row]) -> Result<Vec<Vec<u32>>> {
    text.encode_rows(rows)
}

/// Token ids and label ids of both splits, checked against the model's labels.
/// A run's state at its first step: fresh, or read back from a checkpoint.
struct Started {
    rng: Rng,
    state: TrainerState,
    optimizer: AdamW,
    run: RunDir,
    notes: Vec<String>,
}

impl Trainer {
    fn assemble(
        cfg: RunConfig,
        started: Started,
        encoded: Encoded,
        val_rows: Vec<Row>,
        loaded: Loaded,
        device: &candle_core::Device,
    ) -> Trainer {
        Trainer {
            rng: started.rng,
            state: started.state,
            train_ids: encoded.train_ids,
            val_ids: encoded.val_ids,
            train_targets: encoded.train_targets,
            val_targets: encoded.val_targets,
            val_rows,
            objective: super::objective::Objective::Supervised(loaded.model.task),
            model: loaded.model,
            text: loaded.text,
            optimizer: started.optimizer,
            allocator: None,
            run: started.run,
            notes: started.notes,
            log_error: None,
            device_name: crate::device::describe(device),
            cfg,
        }
    }
}

/// AdaLoRA's `total_step`: the run's length, checked against its schedule
/// (before a run directory is made for a run that cannot cut ranks).
fn set_adalora_length(model: &mut Classifier, total: usize) -> Result<()> {
    let Some((PeftSpec::AdaLora(spec), _)) = &mut model.peft else {
        return Ok(());
    };
    spec.total_step = total;
    if spec.tinit >= total.saturating_sub(spec.tfinal) {
        return Err(Error::Config(ConfigError::field(
            "adalora_tinit",
            format!(
                "{} plus adalora_tfinal {} leaves none of the run's {total} steps to cut ranks in",
                spec.tinit, spec.tfinal
            ),
        )));
    }
    Ok(())
}

/// AdaLoRA: the allocator for the run's length (peft's `total_step`),
/// with a resumed run's EMAs and rank pattern.
fn start_rank_allocator(
    trainer: &mut Trainer,
    saved: Option<&HashMap<String, Tensor>>,
) -> Result<()> {
    let total = trainer.total_steps();
    set_adalora_length(&mut trainer.model, total)?;
    let Some((PeftSpec::AdaLora(spec), _)) = &mut trainer.model.peft else {
        return Ok(());
    };
    if let Some(saved) = saved {
        let pattern: std::collections::BTreeMap<String, Vec<bool>> = saved
            .iter()
            .filter_map(|(k, t)| {
                let module = k.strip_prefix("adalora.pattern.")?;
                let flags = t.to_vec1::<f32>().ok()?;
                Some((module.to_string(), flags.iter().map(|f| *f > 0.5).collect()))
            })
            .collect();
        if !pattern.is_empty() {
            spec.rank_pattern = Some(pattern);
        }
    }
    let mut allocator = RankAllocator::new(spec.clone(), &trainer.model.params.vars);
    if let Some(saved) = saved {
        allocator.load_state(saved);
    }
    trainer.allocator = Some(allocator);
    Ok(())
}

struct Encoded {
    train_ids: Vec<Vec<u32>>,
    train_targets: Targets,
    val_ids: Vec<Vec<u32>>,
    val_targets: Targets,
}

fn encode_corpus(loaded: &mut Loaded, corpus: &Corpus, cfg: &RunConfig) -> Result<Encoded> {
    let model = &loaded.model;
    let val_path = corpus
        .val_info
        .as_ref()
        .map(|i| i.path.clone())
        .unwrap_or(corpus.train_info.path.clone());
    if model.task == Task::TokenClassification {
        let tagged = |rows: &[Row], path: &Path| {
            let words = targets(model, rows, path)?;
            loaded
                .text
                .encode_tagged(rows, &words, &model.labels, cfg.label_all_tokens)
        };
        let train = tagged(&corpus.train, &corpus.train_info.path)?;
        let val = tagged(&corpus.val, &val_path)?;
        let cut = train.cut_sentences + val.cut_sentences;
        if cut > 0 {
            loaded.notes.push(format!(
                "{cut} sentences are longer than max_len = {} pieces: cut there, their last words are neither trained on nor scored (raise max_len to keep them)",
                loaded.text.max_len()
            ));
        }
        return Ok(Encoded {
            train_ids: train.ids,
            train_targets: train.targets,
            val_ids: val.ids,
            val_targets: val.targets,
        });
    }
    Ok(Encoded {
        train_targets: targets(model, &corpus.train, &corpus.train_info.path)?,
        val_targets: targets(model, &corpus.val, &val_path)?,
        train_ids: encode(&loaded.text, &corpus.train)?,
        val_ids: encode(&loaded.text, &corpus.val)?,
    })
}

fn adam(cfg: &RunConfig, model: &Classifier) -> Result<AdamW> {
    Ok(AdamW::new(
        &model.params,
        AdamWConfig {
            beta1: cfg.adam_beta1,
            beta2: cfg.adam_beta2,
            eps: cfg.adam_eps,
            weight_decay: cfg.weight_decay,
        },
    )?)
}

/// Prepare a new run in `out` (created; must not hold a run already).
pub fn prepare(cfg: RunConfig, out: &Path) -> Result<Trainer> {
    cfg.validate()?;
    let corpus = load_corpus(&cfg)?;
    prepare_corpus(cfg, corpus, None, out)
}

/// Prepare a new run on rows already read (cross-validation folds):
/// `labels` fixes the label set when a part of the corpus may lack one.
pub fn prepare_corpus(
    cfg: RunConfig,
    corpus: Corpus,
    labels: Option<Labels>,
    out: &Path,
) -> Result<Trainer> {
    cfg.validate()?;
    let device = crate::device::open(&cfg.device, cfg.seed)?;
    let task = corpus.task.task;
    let declared = match (&cfg.label_names, task) {
        (Some(file), Task::SingleLabel | Task::MultiLabel) => {
            Some(task_of::read_label_names(file)?)
        }
        _ => None,
    };
    let data_labels = labels
        .or(declared)
        .unwrap_or_else(|| task_of::labels_for(task, &corpus.train));
    if task != Task::Regression && data_labels.len() < 2 {
        return Err(DataError::SingleLabel {
            path: corpus.train_info.path.clone(),
            label: data_labels.names().first().cloned().unwrap_or_default(),
        }
        .into());
    }
    let source = resolve(&cfg.model)?;
    // An unset lr is chosen here and recorded in config.toml.
    let (lr, lr_note) = cfg.auto_lr(matches!(source, ModelSource::Scratch(_)));
    let cfg = RunConfig {
        lr: Some(lr),
        ..cfg
    };
    let train_texts: Vec<String> = corpus.train.iter().map(|r| r.text.clone()).collect();
    let mut loaded = load_model(
        &cfg,
        task,
        &source,
        &data_labels,
        &train_texts,
        &device,
        HashMap::new(),
    )?;
    let encoded = fit_to_corpus(&mut loaded, &corpus, &cfg)?;
    let cfg = best_metric_for(cfg, task, &mut loaded.notes)?;
    loaded
        .notes
        .insert(0, format!("task: {} ({})", task.name(), corpus.task.reason));
    set_adalora_length(
        &mut loaded.model,
        super::engine::total_steps(&cfg, encoded.train_ids.len()),
    )?;
    let run = RunDir::create(out)?;
    let resolved = ResolvedConfig {
        tunebench_version: env!("CARGO_PKG_VERSION").into(),
        model_source: match &source {
            ModelSource::Scratch(s) => format!("scratch:{s}"),
            ModelSource::Dir(d) => d.display().to_string(),
        },
        labels: loaded.model.labels.names().to_vec(),
        train: corpus.train_info.clone(),
        val: corpus.val_info.clone(),
        config: cfg.clone(),
    };
    let run = Assembly {
        cfg,
        run,
        resolved,
        loaded,
        encoded,
        val_rows: corpus.val,
        notes: lr_note.into_iter().collect(),
    };
    run.assemble(Origin::Fresh, &device)
}

/// Where a run starts: step 0, or where a checkpoint left it (its trainer
/// state, and the optimizer moments and adapter state saved beside it).
enum Origin {
    Fresh,
    Resumed {
        state: Box<TrainerState>,
        saved: HashMap<String, Tensor>,
        checkpoint: std::path::PathBuf,
        /// The checkpoint's step: later events are dropped (they are
        /// trained again).
        step: usize,
    },
}

/// A run's parts once its model is loaded and its rows encoded: put
/// together by one function for a new run and a resumed one.
struct Assembly {
    cfg: RunConfig,
    run: RunDir,
    resolved: ResolvedConfig,
    loaded: Loaded,
    encoded: Encoded,
    val_rows: Vec<Row>,
    /// Said before the model's own notes.
    notes: Vec<String>,
}

impl Assembly {
    fn assemble(self, origin: Origin, device: &candle_core::Device) -> Result<Trainer> {
        let Assembly {
            cfg,
            mut run,
            resolved,
            mut loaded,
            encoded,
            val_rows,
            mut notes,
        } = self;
        let mut optimizer = adam(&cfg, &loaded.model)?;
        // What can fail to read is read before the run dir is written.
        let (rng, state, saved) = match origin {
            Origin::Fresh => {
                let rng = Rng::seeded(cfg.seed);
                let mut state = TrainerState::new(rng.state(cfg.seed));
                state.loss_scaler = LossScaler::for_precision(cfg.precision);
                (rng, state, None)
            }
            Origin::Resumed {
                state,
                saved,
                checkpoint,
                step,
            } => {
                let mut state = *state;
                // Keep the saved loss scale when still in f16 (the
                // precision may change).
                state.loss_scaler = LossScaler::for_precision(cfg.precision)
                    .map(|fresh| state.loss_scaler.take().unwrap_or(fresh));
                optimizer
                    .load_state(&saved, state.step)
                    .map_err(|e| Error::Run(format!("{}: {e}", checkpoint.display())))?;
                let rng = Rng::restore(&state.rng)
                    .ok_or_else(|| Error::Run("bad RNG state in trainer_state.json".into()))?;
                run.truncate_events_after(step)?;
                (rng, state, Some(saved))
            }
        };
        if cfg.tensorboard {
            run.enable_tensorboard()?;
        }
        run.write_config(&resolved)?;
        notes.extend(std::mem::take(&mut loaded.notes));
        let mut trainer = Trainer::assemble(
            cfg,
            Started {
                rng,
                state,
                optimizer,
                run,
                notes,
            },
            encoded,
            val_rows,
            loaded,
            device,
        );
        start_rank_allocator(&mut trainer, saved.as_ref())?;
        Ok(trainer)
    }
}

/// The loaded model made to fit the corpus (its task; whether it reads
/// sentence pairs) and the corpus encoded for it.
fn fit_to_corpus(loaded: &mut Loaded, corpus: &Corpus, cfg: &RunConfig) -> Result<Encoded> {
    loaded.model.trained_on_pairs = Some(corpus.train.iter().any(|r| r.text_b.is_some()));
    loaded.model.task = corpus.task.task;
    encode_corpus(loaded, corpus, cfg)
}

/// The config with the metric the run is judged by resolved: unset, the
/// task's own (noted); the macro-F1 of a regression run becomes Pearson
/// (noted); another metric the task lacks is an error naming
/// `best_metric`. A multi-label run also notes how it decides.
fn best_metric_for(cfg: RunConfig, task: Task, notes: &mut Vec<String>) -> Result<RunConfig> {
    use crate::config::{BestMetric, Threshold};
    let metric = match cfg.best_metric {
        None => {
            let m = BestMetric::default_for(task);
            if task != Task::SingleLabel {
                notes.push(format!(
                    "best_metric: {} (the {} default; set best_metric to choose)",
                    m.name(),
                    task.name()
                ));
            }
            m
        }
        Some(m) if m.applies_to(task) => m,
        Some(BestMetric::MacroF1) if task == Task::Regression => {
            notes.push("best_metric: pearson (regression has no macro-F1)".into());
            BestMetric::Pearson
        }
        Some(m) => {
            let fits: Vec<&str> = BestMetric::ALL
                .into_iter()
                .filter(|m| m.applies_to(task))
                .map(BestMetric::name)
                .collect();
            return Err(Error::Config(ConfigError::field(
                "best_metric",
                format!(
                    "{} is not reported for a {} task (use {})",
                    m.name(),
                    task.name(),
                    fits.join(", ")
                ),
            )));
        }
    };
    if task == Task::MultiLabel {
        notes.push(match cfg.threshold {
            Threshold::Tuned => format!(
                "thresholds: tuned for {} on the validation rows ({})",
                metric.name(),
                super::thresholds::Rule::for_metric(metric).describe()
            ),
            Threshold::Fixed(t) => format!("thresholds: fixed at {t} (threshold)"),
        });
    }
    Ok(RunConfig {
        best_metric: Some(metric),
        ..cfg
    })
}

/// Prepare to continue the run in `dir` from its latest checkpoint.
/// `adjust` may change the config (more epochs, say) before it is used.
pub fn resume(dir: &Path, adjust: impl FnOnce(&mut RunConfig) -> Result<()>) -> Result<Trainer> {
    let resolved = RunDir::read_config(dir)?;
    let mut cfg = resolved.config.clone();
    adjust(&mut cfg)?;
    cfg.validate()?;
    let device = crate::device::open(&cfg.device, cfg.seed)?;
    let (step, ckpt) = RunDir::checkpoints(dir)
        .into_iter()
        .rev()
        .find(|(_, p)| p.join("trainer_state.json").is_file())
        .ok_or_else(|| {
            Error::Run(format!(
                "{}: no checkpoint with trainer state to resume from",
                dir.display()
            ))
        })?;
    let corpus = load_corpus(&cfg)?;
    let mut notes = vec![format!("resuming from {}", ckpt.display())];
    if corpus.train_info.sha256 != resolved.train.sha256 {
        notes.push(format!(
            "{} changed since the run started (sha256 differs)",
            corpus.train_info.path.display()
        ));
    }
    // An adapter run continues from its base model plus the checkpoint's
    // adapters and head (its model.safetensors holds merged weights).
    let saved_state =
        candle_core::safetensors::load(ckpt.join("training_state.safetensors"), &device)?;
    let mut loaded = if cfg.peft != Peft::None {
        let mut adapter = crate::model::peft::read_weights(&ckpt)?;
        // AdaLoRA's adapter file is cut to the kept ranks, a prefix's is
        // projected: training goes on from the tensors saved beside the
        // optimizer state.
        adapter.remove(crate::model::peft::prefix::EMBEDDING);
        for (key, t) in &saved_state {
            if let Some(name) = key.strip_prefix("adapter.param.") {
                adapter.insert(name.to_string(), t.clone());
            }
        }
        load_model(
            &cfg,
            corpus.task.task,
            &resolve(&cfg.model)?,
            &Labels::new(resolved.labels.clone()),
            &[],
            &device,
            adapter,
        )?
    } else {
        load_model(
            &RunConfig {
                dropout: None,
                ..cfg.clone()
            },
            corpus.task.task,
            &ModelSource::Dir(ckpt.clone()),
            &Labels::new(resolved.labels.clone()),
            &[],
            &device,
            HashMap::new(),
        )?
    };
    let encoded = fit_to_corpus(&mut loaded, &corpus, &cfg)?;
    let state_path = ckpt.join("trainer_state.json");
    let state: TrainerState = serde_json::from_str(
        &std::fs::read_to_string(&state_path)
            .map_err(|e| Error::io(state_path.display().to_string(), e))?,
    )
    .map_err(|e| Error::Run(format!("{}: {e}", state_path.display())))?;
    let run = RunDir::open(dir)?;
    let assembly = Assembly {
        resolved: ResolvedConfig {
            config: cfg.clone(),
            ..resolved
        },
        cfg,
        run,
        loaded,
        encoded,
        val_rows: corpus.val,
        notes,
    };
    assembly.assemble(
        Origin::Resumed {
            state: Box::new(state),
            saved: saved_state,
            checkpoint: ckpt,
            step,
        },
        &device,
    )
}
