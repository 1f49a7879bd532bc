//! `RunConfig`: every hyperparameter of a run, declared once (its keys,
//! groups, help, defaults and which may be empty all come from
//! `run_config!` below), which keys apply under which values
//! (`relevance`), with
//! validation that reports every problem at once (`validate`), TOML in and
//! out and `--set k=v` (`overrides`), and the settings' choices (`choices`).

#[macro_use]
mod schema;
mod aliases;
mod choices;
mod data_keys;
mod overrides;
mod relevance;
mod search;
mod search_rows;
mod validate;

pub use aliases::{alias_note, canonical_key, nearest_keys, unknown_key_message, ALIASES};
pub use choices::*;
pub use data_keys::DATA_KEYS;
pub use schema::{keys_help_text, keys_man_section, keys_markdown, Group, KeyDoc};
pub use search::{
    Direction, ParamSpec, PrunerKind, SamplerKind, SearchSettings, SearchSpec, SEARCH_METRICS,
};
pub use search_rows::Kind as SearchKind;
pub use validate::{
    ConfigError, FieldError, FINE_TUNE_LR, LORA_LR, PROBE_LR, SCRATCH_LR, SCRATCH_SIZES,
};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::OnceLock;

run_config! {
    // ── Data ──
    /// The training data: a CSV, TSV, JSONL, Parquet or CoNLL file, or an
    /// `hf:` dataset from the local HF cache (`--data`).
    [Data] train_file: Option<PathBuf> = None,
    /// Validation data (`--val`); unset: `val_split` of the training data
    /// is held out.
    [Data] val_file: Option<PathBuf> = None,
    /// Share of the training data held out for validation when there is no
    /// `val_file`.
    [Data] val_split: f64 = 0.1,
    /// Train on this many rows (0: all), drawn seeded and stratified by
    /// label: a quick try of an idea.
    [Data] max_rows: usize = 0,
    /// The text column; unset: found by name (text, sentence, review,
    /// content…).
    [Data] text_col: Option<String> = None,
    /// The label column; unset: found by name (label, labels, class,
    /// sentiment, intent…).
    [Data] label_col: Option<String> = None,
    /// Label corrections applied on load (the Dataset pane's relabel, keep
    /// and drop, by line).
    [Data] corrections: Option<PathBuf> = None,
    /// Labels given in a labelling session (`tunebench label`'s
    /// labels.csv), applied to the training file's rows by line; rows left
    /// without a label are the unlabeled pool, not trained on.
    [Data] labels: Option<PathBuf> = None,
    /// More labeled rows trained on beside the training file's (`tunebench
    /// label --labeled`), read as `train_file` is; every row needs a label.
    [Data] labeled_file: Option<PathBuf> = None,
    /// The split of an `hf:` training dataset; unset: train.
    [Data] hf_split: Option<String> = None,
    /// Validate on this split of the `hf:` training dataset.
    [Data] hf_val_split: Option<String> = None,
    /// The data files have no header row: columns by 0-based index.
    [Data] no_header: bool = false,
    /// Read bytes that are not UTF-8 as U+FFFD instead of refusing the file.
    [Data] lossy_utf8: bool = false,
    /// Drop rows with empty text (counted) instead of refusing them.
    [Data] skip_empty: bool = false,

    // ── Model ──
    /// A local HF directory, a hub id `org/name` (from the HF cache), or
    /// `scratch:tiny|mini|small`.
    [Model] model: String = "scratch:mini".into(),
    /// Tokens per text (batches pad to their longest row).
    [Model] max_len: usize = 128,
    /// Override the model's hidden, attention and classifier dropout;
    /// unset: the model's own.
    [Model] dropout: Option<f64> = None,
    /// Pretrained weights that stay fixed: `none`, `embeddings`, `encoder`
    /// (a linear probe: only pooler and head train) or `layers:N`.
    [Model] freeze: Freeze = Freeze::None,
    /// WordPiece vocabulary size of a `scratch:*` model.
    [Model] scratch_vocab: usize = 8000,

    // ── Training ──
    /// Passes over the training data.
    [Training] epochs: usize = 3,
    /// Stop after this many optimizer steps (0: no limit).
    [Training] max_steps: usize = 0,
    /// Rows per micro-batch.
    [Training] batch_size: usize = 32,
    /// Micro-batches per optimizer step.
    [Training] grad_accum: usize = 1,
    /// Peak learning rate; unset: by what trains (1e-3 for `scratch:*`,
    /// 2e-3 with LoRA, 1e-3 with `freeze = "encoder"`, else 5e-5).
    [Training] lr: Option<f64> = None,
    /// Seeds the initialisation, dropout, data order and the split.
    [Training] seed: u64 = 42,
    /// Evaluate every N optimizer steps (0: at each epoch end only).
    [Training] eval_every: usize = 0,
    /// Evaluate and checkpoint once, when training ends (a labelling
    /// round, a quick fit): no per-epoch evaluations or checkpoints.
    [Training] eval_only_at_end: bool = false,
    /// Stop after this many evaluations without improvement (0: off).
    [Training] patience: usize = 0,
    /// What picks best/, stops early and tunes multi-label thresholds;
    /// unset: the task's own (macro_f1, micro_f1, entity F1, pearson).
    [Training] best_metric: Option<BestMetric> = None,

    // ── Schedule & regularization ──
    /// Share of the steps the learning rate warms up over, linearly.
    [Schedule] warmup_ratio: f64 = 0.1,
    /// After warmup: `linear`, `cosine` or `constant`.
    [Schedule] schedule: Schedule = Schedule::Linear,
    /// AdamW's decoupled weight decay (not on biases or LayerNorm).
    [Schedule] weight_decay: f64 = 0.01,
    /// Global gradient-norm clip (0: off).
    [Schedule] max_grad_norm: f64 = 1.0,
    /// AdamW's first-moment decay.
    [Schedule] adam_beta1: f64 = 0.9,
    /// AdamW's second-moment decay.
    [Schedule] adam_beta2: f64 = 0.999,
    /// AdamW's epsilon.
    [Schedule] adam_eps: f64 = 1e-8,

    // ── Parameter-efficient ──
    /// Train small adapters on a frozen pretrained encoder: `none`, `lora`,
    /// `dora`, `adalora`, `prefix` or `ia3`.
    [Peft] peft: Peft = Peft::None,
    /// LoRA's rank.
    [Peft] lora_r: usize = 8,
    /// LoRA's scale α (the update is α/r·B·A).
    [Peft] lora_alpha: f64 = 16.0,
    /// Dropout on the adapter's input.
    [Peft] lora_dropout: f64 = 0.1,
    /// The adapted linears, comma-separated (query, key, value,
    /// attention.output.dense, intermediate.dense, output.dense; DistilBERT
    /// q_lin, k_lin, v_lin, out_lin, lin1, lin2) or `all-linear`.
    [Peft] lora_targets: String = "query,value".into(),
    /// AdaLoRA's starting rank per module.
    [Peft] adalora_init_r: usize = 12,
    /// The average rank AdaLoRA's allocator leaves.
    [Peft] adalora_target_r: usize = 8,
    /// Steps before AdaLoRA's first cut.
    [Peft] adalora_tinit: usize = 0,
    /// Steps at the end with the ranks fixed.
    [Peft] adalora_tfinal: usize = 0,
    /// Steps between two cuts (peft's deltaT).
    [Peft] adalora_delta_t: usize = 1,
    /// EMA factor of the importance.
    [Peft] adalora_beta1: f64 = 0.85,
    /// EMA factor of the importance's uncertainty.
    [Peft] adalora_beta2: f64 = 0.85,
    /// Weight of the orthogonality penalty on A and B.
    [Peft] adalora_orth_reg: f64 = 0.5,
    /// Prefix tuning's virtual tokens per layer.
    [Peft] prefix_tokens: usize = 20,
    /// Hidden size of the reparameterisation MLP used while training (0:
    /// train the table itself).
    [Peft] prefix_projection: usize = 0,
    /// (IA)³'s target modules, comma-separated (peft's BERT defaults).
    [Peft] ia3_targets: String = "key,value,output.dense".into(),
    /// The (IA)³ targets scaled at their input (some of `ia3_targets`).
    [Peft] ia3_feedforward: String = "output.dense".into(),

    // ── Task ──
    /// What a label is: `single_label`, `multi_label`, `regression` or
    /// `token_classification`; unset: found from the data, and said why.
    [Task] task: Option<crate::data::Task> = None,
    /// The label set, one name a line (or comma-separated): integer labels
    /// are indexes into it, any other label must be in it.
    [Task] label_names: Option<PathBuf> = None,
    /// The separator of multi-label strings (`billing|refund`); unset: `|`,
    /// `,` or `;`, whichever the labels hold.
    [Task] label_sep: Option<String> = None,
    /// Multi-label data with one 0/1 column per label: `toxic,insult,…` or
    /// `PREFIX*`.
    [Task] label_cols: Option<String> = None,
    /// Multi-label decisions: `tuned` (per label, on the validation rows,
    /// for best_metric) or a fixed threshold such as 0.5.
    [Task] threshold: Threshold = Threshold::Tuned,
    /// CoNLL files: the 0-based column of the tag; unset: the last.
    [Task] tag_col: Option<usize> = None,
    /// The tags' scheme: `iob1`, `iob2` (bio), `bioes` or `io`; unset: found
    /// from the tags. Tags are learned as IOB2 whatever the scheme.
    [Task] tag_scheme: Option<crate::data::tags::Scheme> = None,
    /// An `I-X` that opens a mention becomes `B-X` (counted) instead of an
    /// error naming its line.
    [Task] lenient_tags: bool = false,
    /// Every piece of a word takes its tag (B- made I- after the first),
    /// not only the first.
    [Task] label_all_tokens: bool = false,

    // ── Precision & device ──
    /// `cpu`, `cuda` or `cuda:N` (CUDA builds only).
    [Device] device: String = "cpu".into(),
    /// Compute dtype: `f32`, or `bf16` / `f16` mixed precision (f32 master
    /// weights; f16 with dynamic loss scaling).
    [Device] precision: Precision = Precision::F32,

    // ── Output & tracking ──
    /// How many `checkpoints/step-N` to keep (best/ is kept apart).
    [Output] keep_checkpoints: usize = 2,
    /// A progress line every N steps when running headless.
    [Output] log_every: usize = 10,
    /// Also write TensorBoard event files (events.out.tfevents.*).
    [Output] tensorboard: bool = true,

    // ── Search ──
    /// What `tunebench sweep` samples and how: one row per searched key
    /// (a range or choices) and the study's settings (trials, metric,
    /// sampler, pruner, parallel).
    [Search] #[serde(skip_serializing_if = "SearchSpec::is_empty")] search: SearchSpec = SearchSpec::default(),
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
                "text_col",
                "label_col",
                "corrections",
                "labels",
                "labeled_file",
                "hf_split",
                "hf_val_split",
                "dropout",
                "lr",
                "best_metric",
                "task",
                "label_names",
                "label_sep",
                "label_cols",
                "tag_col",
                "tag_scheme",
                "search"
            ]
        );
        assert_eq!(
            keys()[0],
            "train_file",
            "the form shows fields in declaration order"
        );
    }

    #[test]
    fn every_key_is_documented_once_in_group_order() {
        let documented: Vec<&str> = KEY_DOCS.iter().map(|d| d.key).collect();
        assert_eq!(documented, keys(), "KEY_DOCS is the struct's fields");
        // Declared group by group, so the form's order is the file's.
        let groups: Vec<Group> = KEY_DOCS.iter().map(|d| d.group).collect();
        assert!(groups.windows(2).all(|w| w[0] <= w[1]), "{groups:?}");
        assert_eq!(groups.first(), Some(&Group::Data));
        assert!(
            KEY_DOCS.iter().all(|d| d.help().len() > 10),
            "every key has help"
        );
        let lr = KEY_DOCS.iter().find(|d| d.key == "lr").unwrap();
        assert_eq!(lr.group, Group::Training);
        assert!(lr
            .help()
            .starts_with("Peak learning rate; unset: by what trains"));
    }

    #[test]
    fn a_key_applies_only_where_it_can_matter() {
        let mut cfg = RunConfig::default();
        assert_eq!(
            cfg.inapplicable("adalora_init_r", None).as_deref(),
            Some("peft = none")
        );
        assert_eq!(cfg.inapplicable("lr", None), None);
        cfg.peft = Peft::Adalora;
        assert_eq!(cfg.inapplicable("adalora_init_r", None), None);
        assert_eq!(cfg.inapplicable("lora_alpha", None), None);
        assert_eq!(
            cfg.inapplicable("lora_r", None).as_deref(),
            Some("peft = adalora")
        );
        // Task keys: by the config's task, else the data's; unknown shows them.
        assert_eq!(cfg.inapplicable("tag_scheme", None), None);
        assert_eq!(
            cfg.inapplicable("tag_scheme", Some(crate::data::Task::SingleLabel))
                .as_deref(),
            Some("task = single_label")
        );
        assert_eq!(
            cfg.inapplicable("tag_scheme", Some(crate::data::Task::TokenClassification)),
            None
        );
        cfg.model = "bert-base-uncased".into();
        assert!(cfg.inapplicable("scratch_vocab", None).is_some());
        cfg.val_file = Some("v.csv".into());
        assert_eq!(
            cfg.inapplicable("val_split", None).as_deref(),
            Some("val_file is set")
        );
    }

    #[test]
    fn changed_keys_and_reset() {
        let mut cfg = RunConfig::default();
        assert!(cfg.changed_keys().is_empty());
        cfg.set("lr=1e-3").unwrap();
        cfg.set("adalora_init_r=6").unwrap();
        assert_eq!(cfg.changed_keys(), ["lr", "adalora_init_r"]);
        assert_eq!(
            cfg.inert_settings(None),
            [("adalora_init_r", "peft = none".to_string())]
        );
        assert_eq!(
            cfg.inert_note("adalora_init_r", "peft = none"),
            "adalora_init_r = 6 has no effect (peft = none)"
        );
        cfg.reset("lr");
        cfg.reset("adalora_init_r");
        assert_eq!(cfg, RunConfig::default());
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
            labels: Some("l.csv".into()),
            hf_split: Some("train".into()),
            hf_val_split: Some("test".into()),
            text_col: Some("t".into()),
            label_col: Some("l".into()),
            task: Some(crate::data::Task::MultiLabel),
            label_sep: Some(",".into()),
            label_cols: Some("is_*".into()),
            label_names: Some("names.txt".into()),
            labeled_file: Some("earlier.csv".into()),
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
