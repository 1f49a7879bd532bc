//! Which keys can matter under a config's values: one rule that the form
//! uses to hide keys and the CLI uses to say a `--set` does nothing.

use super::{keys, Peft, RunConfig};
use crate::data::Task;

impl RunConfig {
    /// Why `key` cannot matter under these values, in the words the form
    /// shows (`peft = none`); None when it applies. `task`: the run's task
    /// when known (the config's, else what the data holds).
    pub fn inapplicable(&self, key: &str, task: Option<Task>) -> Option<String> {
        let task = self.task.or(task);
        let peft = |wanted: &[Peft]| {
            (!wanted.contains(&self.peft)).then(|| format!("peft = {}", self.peft.name()))
        };
        let for_task = |wanted: Task| match task {
            Some(t) if t != wanted => Some(format!("task = {}", t.name())),
            _ => None,
        };
        match key {
            "lora_r" => peft(&[Peft::Lora, Peft::Dora]),
            "lora_alpha" | "lora_dropout" | "lora_targets" => {
                peft(&[Peft::Lora, Peft::Dora, Peft::Adalora])
            }
            k if k.starts_with("adalora_") => peft(&[Peft::Adalora]),
            k if k.starts_with("prefix_") => peft(&[Peft::Prefix]),
            k if k.starts_with("ia3_") => peft(&[Peft::Ia3]),
            "label_sep" | "label_cols" | "threshold" => for_task(Task::MultiLabel),
            "tag_col" | "tag_scheme" | "lenient_tags" | "label_all_tokens" => {
                for_task(Task::TokenClassification)
            }
            "label_names" if task == Some(Task::Regression) => Some("task = regression".into()),
            "scratch_vocab" if !self.model.starts_with("scratch:") => {
                Some("model is not scratch:*".into())
            }
            "hf_split" | "hf_val_split" if !self.is_hf_data() => {
                Some("train_file is not hf:".into())
            }
            "eval_every" | "patience" if self.eval_only_at_end => {
                Some("eval_only_at_end = true".into())
            }
            "val_split" if self.val_file.is_some() => Some("val_file is set".into()),
            "val_split" if self.hf_val_split.is_some() => Some("hf_val_split is set".into()),
            _ => None,
        }
    }

    /// Keys set away from their default that cannot matter, with why.
    pub fn inert_settings(&self, task: Option<Task>) -> Vec<(&'static str, String)> {
        self.changed_keys()
            .into_iter()
            .filter_map(|k| Some((k, self.inapplicable(k, task)?)))
            .collect()
    }

    /// The CLI's words for an inert key, as the form's group header says
    /// it: `adalora_init_r = 8 has no effect (peft = lora)`.
    pub fn inert_note(&self, key: &str, why: &str) -> String {
        format!("{key} = {} has no effect ({why})", self.value_text(key))
    }

    /// The keys whose value differs from the default, in declaration order.
    pub fn changed_keys(&self) -> Vec<&'static str> {
        let table = |cfg: &RunConfig| match toml::Value::try_from(cfg) {
            Ok(toml::Value::Table(t)) => t,
            _ => toml::Table::new(),
        };
        let (mine, default) = (table(self), table(&RunConfig::default()));
        keys()
            .iter()
            .copied()
            .filter(|k| mine.get(*k) != default.get(*k))
            .collect()
    }

    /// `key` back to its default value.
    pub fn reset(&mut self, key: &str) {
        let default = RunConfig::default();
        let (Ok(toml::Value::Table(mut mine)), Ok(toml::Value::Table(theirs))) = (
            toml::Value::try_from(&*self),
            toml::Value::try_from(&default),
        ) else {
            return;
        };
        match theirs.get(key) {
            Some(v) => mine.insert(key.to_string(), v.clone()),
            None => mine.remove(key),
        };
        if let Ok(cfg) = toml::Value::Table(mine).try_into() {
            *self = cfg;
        }
    }

    fn is_hf_data(&self) -> bool {
        self.train_file
            .as_ref()
            .is_some_and(|p| p.to_string_lossy().starts_with("hf:"))
    }
}
