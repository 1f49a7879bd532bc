//! The keys that change how a corpus is read, listed once: the TUI reloads
//! its Dataset pane when one changes, presets keep them, and every reader
//! (training, `inspect`, `eval`, the TUI) builds its load options from the
//! same config fields here.

use super::RunConfig;
use crate::data::{LoadOptions, Task};

/// Keys whose value changes the rows a run reads or how they are split.
pub const DATA_KEYS: &[&str] = &[
    "train_file",
    "val_file",
    "corrections",
    "labels",
    "labeled_file",
    "hf_split",
    "hf_val_split",
    "text_col",
    "label_col",
    "label_cols",
    "label_sep",
    "label_names",
    "task",
    "lossy_utf8",
    "skip_empty",
    "no_header",
    "tag_col",
    "tag_scheme",
    "lenient_tags",
    "val_split",
    "max_rows",
    "seed",
];

impl RunConfig {
    /// How to read this config's training file (labels required; an
    /// `hf:` dataset's training split).
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            text_col: self.text_col.clone(),
            label_col: self.label_col.clone(),
            label_cols: self.label_cols.clone(),
            empty_label_set: self.task == Some(Task::MultiLabel),
            lossy_utf8: self.lossy_utf8,
            skip_empty: self.skip_empty,
            // A labelling session's pool: its labels come from the file.
            require_label: self.labels.is_none(),
            no_header: self.no_header,
            hf_split: self.hf_split.clone(),
            tag_col: self.tag_col,
            tag_scheme: self.tag_scheme,
            lenient_tags: self.lenient_tags,
        }
    }

    /// Every data key's value, as one string: equal strings read the same
    /// rows the same way.
    pub fn data_key(&self) -> String {
        DATA_KEYS
            .iter()
            .map(|k| format!("{k}={}", self.value_text(k)))
            .collect::<Vec<_>>()
            .join("\u{1f}")
    }

    /// This config with `base`'s data keys (and model and device): a preset
    /// changes how to train, never what on.
    pub fn with_data_of(&self, base: &RunConfig) -> RunConfig {
        let (Ok(toml::Value::Table(mut mine)), Ok(toml::Value::Table(theirs))) =
            (toml::Value::try_from(self), toml::Value::try_from(base))
        else {
            return self.clone();
        };
        for key in DATA_KEYS.iter().chain(&["model", "device"]) {
            match theirs.get(*key) {
                Some(v) => mine.insert(key.to_string(), v.clone()),
                None => mine.remove(*key),
            };
        }
        toml::Value::Table(mine)
            .try_into()
            .unwrap_or_else(|_| self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_are_config_keys() {
        for k in DATA_KEYS {
            assert!(super::super::keys().contains(k), "{k}");
        }
    }

    /// Each data key, changed alone, changes the data key string and is
    /// kept by `with_data_of`.
    #[test]
    fn each_data_key_is_seen_and_kept() {
        let base = RunConfig::default();
        for (key, value) in [
            ("train_file", "a.csv"),
            ("val_file", "b.csv"),
            ("corrections", "c.csv"),
            ("labels", "labels.csv"),
            ("labeled_file", "earlier.csv"),
            ("hf_split", "test"),
            ("hf_val_split", "validation"),
            ("text_col", "body"),
            ("label_col", "y"),
            ("label_cols", "label_*"),
            ("label_sep", "|"),
            ("label_names", "names.txt"),
            ("task", "multi_label"),
            ("lossy_utf8", "true"),
            ("skip_empty", "true"),
            ("no_header", "true"),
            ("tag_col", "3"),
            ("tag_scheme", "bioes"),
            ("lenient_tags", "true"),
            ("val_split", "0.3"),
            ("max_rows", "100"),
            ("seed", "7"),
        ] {
            let mut changed = base.clone();
            changed.set(&format!("{key}={value}")).unwrap();
            assert_ne!(changed.data_key(), base.data_key(), "{key}");
            let preset = RunConfig::default().with_data_of(&changed);
            assert_eq!(preset.value_text(key), changed.value_text(key), "{key}");
        }
        assert_eq!(DATA_KEYS.len(), 22, "a new data key gets a line above");
    }
}
