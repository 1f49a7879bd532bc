//! `RunConfig`: every hyperparameter of a run, declared once (its keys,
//! defaults and which may be empty all come from the struct), with
//! validation that reports every problem at once (`validate`), TOML in and
//! out and `--set k=v` (`overrides`), and the settings' choices (`choices`).

mod aliases;
mod choices;
mod data_keys;
mod overrides;
mod search;
mod validate;

pub use aliases::{alias_note, canonical_key, nearest_keys, unknown_key_message, ALIASES};
pub use choices::*;
pub use data_keys::DATA_KEYS;
pub use search::{
    Direction, ParamSpec, PrunerKind, SamplerKind, SearchSettings, SearchSpec, SEARCH_METRICS,
};
pub use validate::{
    ConfigError, FieldError, FINE_TUNE_LR, LORA_LR, PROBE_LR, SCRATCH_LR, SCRATCH_SIZES,
};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::OnceLock;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Local HF dir, hub id `org/name` (HF cache), or `scratch:tiny|mini|small`.
    pub model: String,
    pub train_file: Option<PathBuf>,
    pub val_file: Option<PathBuf>,
    /// Label corrections applied to the training file on load
    /// (`data::corrections`: relabel, keep or drop by line).
    pub corrections: Option<PathBuf>,
    /// The split of an `hf:` training dataset (default `train`).
    pub hf_split: Option<String>,
    /// Validate on this split of the `hf:` training dataset.
    pub hf_val_split: Option<String>,
    pub text_col: Option<String>,
    pub label_col: Option<String>,
    /// Share of the training file held out for validation when no val file.
    pub val_split: f64,
    /// Train on this many rows of the training data (0: all), drawn
    /// seeded and stratified by label: a quick try of an idea.
    pub max_rows: usize,
    pub max_len: usize,
    pub batch_size: usize,
    pub epochs: usize,
    /// Stop after this many optimizer steps (0: no limit).
    pub max_steps: usize,
    /// Peak learning rate; unset: chosen by what trains (`auto_lr`).
    pub lr: Option<f64>,
    pub warmup_ratio: f64,
    pub schedule: Schedule,
    pub weight_decay: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub adam_eps: f64,
    /// Global gradient-norm clip (0: off).
    pub max_grad_norm: f64,
    pub grad_accum: usize,
    pub seed: u64,
    /// Evaluate every N optimizer steps (0: at each epoch end only).
    pub eval_every: usize,
    /// Emit a progress line every N steps in headless mode.
    pub log_every: usize,
    /// Stop after this many evaluations without improvement (0: off).
    pub patience: usize,
    /// What picks best/, stops early and tunes multi-label thresholds;
    /// unset: the task's own (`BestMetric::default_for`).
    pub best_metric: Option<BestMetric>,
    /// Multi-label decisions: `"tuned"` (on the validation rows, for
    /// best_metric) or a fixed threshold such as 0.5.
    pub threshold: Threshold,
    /// Override the model's dropout probabilities (hidden, attention, head).
    pub dropout: Option<f64>,
    /// Pretrained weights that stay fixed (no gradient, no optimizer state).
    pub freeze: Freeze,
    /// `lora`, `dora`, `ia3`: train small adapters instead of the encoder's
    /// weights.
    pub peft: Peft,
    pub lora_r: usize,
    pub lora_alpha: f64,
    pub lora_dropout: f64,
    /// Comma-separated module names (see `lora_targets()`) or `all-linear`.
    pub lora_targets: String,
    /// AdaLoRA (`peft = "adalora"`, with the `lora_*` keys): each module's
    /// starting rank, and the average rank the allocator leaves.
    pub adalora_init_r: usize,
    pub adalora_target_r: usize,
    /// Steps before the first cut, and at the end with the ranks fixed.
    pub adalora_tinit: usize,
    pub adalora_tfinal: usize,
    /// Steps between two cuts (peft's `deltaT`).
    pub adalora_delta_t: usize,
    /// EMA factors of the importance and its uncertainty.
    pub adalora_beta1: f64,
    pub adalora_beta2: f64,
    /// Weight of the orthogonality penalty on A and B.
    pub adalora_orth_reg: f64,
    /// Prefix tuning (`peft = "prefix"`): virtual tokens per layer, and the
    /// hidden size of the reparameterisation MLP used while training (0:
    /// train the table directly).
    pub prefix_tokens: usize,
    pub prefix_projection: usize,
    /// (IA)³'s target modules, comma-separated (peft's BERT defaults).
    pub ia3_targets: String,
    /// The (IA)³ targets scaled at their input (a subset of `ia3_targets`).
    pub ia3_feedforward: String,
    /// How many `checkpoints/step-N` to keep (best/ is kept apart).
    pub keep_checkpoints: usize,
    /// WordPiece vocabulary size for `scratch:*` models.
    pub scratch_vocab: usize,
    pub device: String,
    /// Compute dtype: f32, or bf16/f16 mixed precision (meant for GPUs).
    pub precision: Precision,
    pub lossy_utf8: bool,
    pub skip_empty: bool,
    /// The data files have no header row: columns by 0-based index.
    pub no_header: bool,
    /// What a label is: single_label, multi_label or regression (unset:
    /// found from the data, and said why).
    pub task: Option<crate::data::Task>,
    /// The separator of multi-label strings (`billing|refund`, `2,17`);
    /// unset: `|`, `,` or `;`, whichever the labels hold.
    pub label_sep: Option<String>,
    /// Multi-label, one 0/1 column per label: `toxic,insult,…` or `PREFIX*`.
    pub label_cols: Option<String>,
    /// The label set, one name a line (or comma-separated): integer labels
    /// are indexes into it, any other label must be in it.
    pub label_names: Option<PathBuf>,
    /// CoNLL files: the 0-based column of the tag (unset: the last).
    pub tag_col: Option<usize>,
    /// The tags' scheme: iob1, iob2 (bio), bioes or io (unset: found from
    /// the tags, and said). Tags are learned as IOB2 whatever the scheme.
    pub tag_scheme: Option<crate::data::tags::Scheme>,
    /// An `I-X` that opens a mention in IOB2 becomes `B-X` (counted)
    /// instead of an error naming its line.
    pub lenient_tags: bool,
    /// Token classification: every piece of a word takes its tag (B- made
    /// I- after the first), not only the first (run_ner's option).
    pub label_all_tokens: bool,
    /// Also write TensorBoard event files (events.out.tfevents.*).
    pub tensorboard: bool,
    /// What `tunebench sweep` samples and how (`search.rs`); empty for a
    /// plain run.
    #[serde(skip_serializing_if = "SearchSpec::is_empty")]
    pub search: SearchSpec,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            model: "scratch:mini".into(),
            train_file: None,
            val_file: None,
            corrections: None,
            hf_split: None,
            hf_val_split: None,
            text_col: None,
            label_col: None,
            task: None,
            label_sep: None,
            label_cols: None,
            label_names: None,
            val_split: 0.1,
            max_rows: 0,
            max_len: 128,
            batch_size: 32,
            epochs: 3,
            max_steps: 0,
            lr: None,
            warmup_ratio: 0.1,
            schedule: Schedule::Linear,
            weight_decay: 0.01,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_eps: 1e-8,
            max_grad_norm: 1.0,
            grad_accum: 1,
            seed: 42,
            eval_every: 0,
            log_every: 10,
            patience: 0,
            best_metric: None,
            threshold: Threshold::Tuned,
            dropout: None,
            freeze: Freeze::None,
            peft: Peft::None,
            lora_r: 8,
            lora_alpha: 16.0,
            lora_dropout: 0.1,
            lora_targets: "query,value".into(),
            adalora_init_r: 12,
            adalora_target_r: 8,
            adalora_tinit: 0,
            adalora_tfinal: 0,
            adalora_delta_t: 1,
            adalora_beta1: 0.85,
            adalora_beta2: 0.85,
            adalora_orth_reg: 0.5,
            prefix_tokens: 20,
            prefix_projection: 0,
            ia3_targets: "key,value,output.dense".into(),
            ia3_feedforward: "output.dense".into(),
            keep_checkpoints: 2,
            scratch_vocab: 8000,
            device: "cpu".into(),
            precision: Precision::F32,
            lossy_utf8: false,
            skip_empty: false,
            no_header: false,
            tag_col: None,
            tag_scheme: None,
            lenient_tags: false,
            label_all_tokens: false,
            tensorboard: true,
            search: SearchSpec::default(),
        }
    }
}

impl RunConfig {
    /// Whether a key may be left empty: the `Option` fields, which are the
    /// ones the default config leaves unset.
    pub fn is_optional(key: &str) -> bool {
        static UNSET: OnceLock<Vec<&'static str>> = OnceLock::new();
        UNSET
            .get_or_init(|| {
                let set = match toml::Value::try_from(RunConfig::default()) {
                    Ok(toml::Value::Table(t)) => t,
                    _ => toml::Table::new(),
                };
                keys()
                    .iter()
                    .copied()
                    .filter(|k| !set.contains_key(*k))
                    .collect()
            })
            .contains(&key)
    }
}

/// The keys `--set` accepts (and the TUI form shows), in display order:
/// `RunConfig`'s fields as serde reads them, so a new field is a new key.
pub fn keys() -> &'static [&'static str] {
    static KEYS: OnceLock<&'static [&'static str]> = OnceLock::new();
    KEYS.get_or_init(serde_aux::serde_introspection::serde_introspect::<RunConfig>)
}

impl RunConfig {
    /// The metric a `task` run is judged by: `best_metric`, else the
    /// task's own.
    pub fn judged_by(&self, task: crate::data::Task) -> BestMetric {
        self.best_metric
            .unwrap_or_else(|| BestMetric::default_for(task))
    }

    /// The multi-label separator `label_sep` names (None: found from the data).
    pub fn label_separator(&self) -> Option<char> {
        self.label_sep.as_deref().and_then(|s| s.chars().next())
    }
}

/// A device spec: `None` when malformed, else the CUDA ordinal (if any).
pub fn parse_device(spec: &str) -> Option<Option<usize>> {
    match spec {
        "cpu" => Some(None),
        "cuda" => Some(Some(0)),
        s => s.strip_prefix("cuda:")?.parse().ok().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_every_bad_field() {
        let cfg = RunConfig {
            lr: Some(-1.0),
            batch_size: 0,
            warmup_ratio: 1.5,
            device: "tpu".into(),
            ..Default::default()
        };
        let fields: Vec<_> = cfg.problems().iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["lr", "batch_size", "warmup_ratio", "device"]);
        assert!(RunConfig::default().validate().is_ok());
    }

    #[test]
    fn set_overrides_typed_values_and_rejects_unknown_keys() {
        let mut cfg = RunConfig::default();
        cfg.set("lr=1e-3").unwrap();
        cfg.set("epochs = 7").unwrap();
        cfg.set("schedule=cosine").unwrap();
        cfg.set("dropout=0").unwrap();
        assert_eq!(
            (cfg.lr, cfg.epochs, cfg.schedule),
            (Some(1e-3), 7, Schedule::Cosine)
        );
        assert_eq!(cfg.dropout, Some(0.0));
        // transformers' names are ours; a near miss gets the nearest keys.
        cfg.set("learning_rate=2e-4").unwrap();
        assert_eq!(cfg.lr, Some(2e-4));
        cfg.set("num_train_epochs=7").unwrap();
        let e = cfg.set("epoch=1").unwrap_err().to_string();
        assert!(
            e.contains("unknown key 'epoch'; did you mean 'epochs'"),
            "{e}"
        );
        let e = cfg.set("epochs=many").unwrap_err().to_string();
        assert!(e.contains("--set epochs=many"), "{e}");
        cfg.set("freeze=layers:2").unwrap();
        assert_eq!(cfg.freeze, Freeze::Layers(2));
        cfg.set("freeze=encoder").unwrap();
        assert_eq!(cfg.freeze, Freeze::Encoder);
        let e = cfg.set("freeze=half").unwrap_err().to_string();
        assert!(e.contains("unknown freeze 'half'"), "{e}");
        // Numbers as people type them, which TOML does not read.
        cfg.set("lr=.001").unwrap();
        assert_eq!(cfg.lr, Some(0.001));
        cfg.set("dropout=1.e-1").unwrap();
        assert_eq!(cfg.dropout, Some(0.1));
        cfg.set("batch_size=08").unwrap();
        assert_eq!(cfg.batch_size, 8);
        // A string field keeps a number-like value as text.
        cfg.set("text_col=2017").unwrap();
        assert_eq!(cfg.text_col.as_deref(), Some("2017"));
        let e = cfg.set("batch_size=8.5").unwrap_err().to_string();
        assert!(e.contains("--set batch_size=8.5"), "{e}");
    }

    #[test]
    fn the_optional_keys_are_the_option_fields() {
        let optional: Vec<_> = keys()
            .iter()
            .filter(|k| RunConfig::is_optional(k))
            .copied()
            .collect();
        assert_eq!(
            optional,
            [
                "train_file",
                "val_file",
                "corrections",
                "hf_split",
                "hf_val_split",
                "text_col",
                "label_col",
                "lr",
                "best_metric",
                "dropout",
                "task",
                "label_sep",
                "label_cols",
                "label_names",
                "tag_col",
                "tag_scheme",
                "search"
            ]
        );
        assert_eq!(
            keys()[0],
            "model",
            "the form shows fields in declaration order"
        );
    }

    #[test]
    fn toml_round_trips() {
        let cfg = RunConfig {
            dropout: Some(0.2),
            train_file: Some("a.csv".into()),
            ..Default::default()
        };
        let back: RunConfig = toml::from_str(&cfg.to_toml()).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn field_names_cover_every_field() {
        let t = toml::Value::try_from(RunConfig {
            train_file: Some("a".into()),
            val_file: Some("b".into()),
            corrections: Some("c".into()),
            hf_split: Some("train".into()),
            hf_val_split: Some("test".into()),
            text_col: Some("t".into()),
            label_col: Some("l".into()),
            task: Some(crate::data::Task::MultiLabel),
            label_sep: Some(",".into()),
            label_cols: Some("is_*".into()),
            label_names: Some("names.txt".into()),
            dropout: Some(0.1),
            lr: Some(1e-4),
            best_metric: Some(BestMetric::Jaccard),
            tag_col: Some(3),
            tag_scheme: Some(crate::data::tags::Scheme::Iob1),
            search: toml::from_str("trials = 3").unwrap(),
            ..Default::default()
        })
        .unwrap();
        let mut keys: Vec<_> = t.as_table().unwrap().keys().cloned().collect();
        let mut names: Vec<_> = super::keys().iter().map(|s| s.to_string()).collect();
        keys.sort();
        names.sort();
        assert_eq!(keys, names);
    }
}
