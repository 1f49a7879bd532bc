//! A run config in and out of TOML, and changed one key at a time
//! (`--set k=v`, the TUI form).

use super::{keys, ConfigError, RunConfig};
use std::path::Path;

impl RunConfig {
    /// A run.toml; transformers' key names are taken with a note (logged;
    /// `from_toml_file_noted` returns them), an unknown key gets the nearest
    /// known ones, and a bad value names the file, its line and the value.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let (cfg, notes) = Self::from_toml_file_noted(path)?;
        for n in notes {
            tracing::info!("{}: {n}", path.display());
        }
        Ok(cfg)
    }

    /// `from_toml_file` and the notes on aliases it took.
    pub fn from_toml_file_noted(path: &Path) -> Result<(Self, Vec<String>), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let at = |line: Option<usize>, message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message: match line {
                Some(l) => format!("line {l}: {message}"),
                None => message,
            },
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| at(None, e.to_string()))?;
        let mut notes = Vec::new();
        // Our key → the name the file wrote it under (an alias).
        let mut written_as = std::collections::HashMap::new();
        for key in table.keys().cloned().collect::<Vec<_>>() {
            let line = super::aliases::line_of_key(&text, &key);
            match super::canonical_key(&key) {
                Some(ours) if ours == key => {}
                Some(ours) => {
                    if table.contains_key(ours) {
                        return Err(at(
                            line,
                            format!("'{key}' is tunebench's '{ours}', which the file also sets: keep one"),
                        ));
                    }
                    let value = table.remove(&key).expect("listed key");
                    table.insert(ours.to_string(), value);
                    notes.extend(super::alias_note(&key));
                    written_as.insert(ours, key);
                }
                None => return Err(at(line, super::unknown_key_message(&key))),
            }
        }
        let cfg: RunConfig = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| at(None, e.message().to_string()))?;
        // The file's own bad values, where it set them (an override may
        // still set the others).
        if let Some(p) = cfg
            .problems()
            .into_iter()
            .find(|p| table.contains_key(p.field))
        {
            let given = table[p.field].to_string();
            let name = written_as.get(p.field).map_or(p.field, String::as_str);
            return Err(at(
                super::aliases::line_of_key(&text, name),
                format!("{name} = {given}: {}", p.reason),
            ));
        }
        Ok((cfg, notes))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Apply one `key=value` override; the value is read as TOML (number,
    /// bool, string...) and a bare word is taken as a string.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::BadOverride {
            assignment: assignment.to_string(),
            message,
        };
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| bad("expected key=value".into()))?;
        let key = key.trim();
        let raw = raw.trim();
        // transformers' names (learning_rate...) as ours; the CLI says so.
        let key = super::canonical_key(key).unwrap_or(key);
        if let Some(sub) = key.strip_prefix("search.") {
            return self.set_search(sub, raw).map_err(bad);
        }
        let table = match toml::Value::try_from(&*self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(bad("cannot represent the config".into())),
        };
        if !keys().contains(&key) {
            return Err(bad(super::unknown_key_message(key)));
        }
        let typed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .or_else(|| lenient_number(raw));
        // As typed first; then as text, for a string field whose value
        // looks like a number (a column named 2017).
        let mut first_error = None;
        let text = toml::Value::String(raw.to_string());
        for value in typed.into_iter().chain([text]) {
            let mut candidate = table.clone();
            candidate.insert(key.to_string(), value);
            match toml::Value::Table(candidate).try_into::<RunConfig>() {
                Ok(cfg) => {
                    *self = cfg;
                    return Ok(());
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(bad(first_error
            .map(|e| e.message().to_string())
            .unwrap_or_default()))
    }

    /// `--set search.KEY=VALUE`: one entry of the `[search]` table (a
    /// setting, or a parameter given as an inline table).
    fn set_search(&mut self, key: &str, raw: &str) -> Result<(), String> {
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .or_else(|| lenient_number(raw))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let mut table = toml::Table::from(self.search.clone());
        table.insert(key.to_string(), value);
        self.search = super::SearchSpec::try_from(table)?;
        Ok(())
    }

    /// Reset one key to its default (an optional field becomes unset).
    pub fn unset(&mut self, key: &str) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::BadOverride {
            assignment: key.to_string(),
            message,
        };
        if !keys().contains(&key) {
            return Err(bad(super::unknown_key_message(key)));
        }
        let mut table = match toml::Value::try_from(&*self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(bad("cannot represent the config".into())),
        };
        table.remove(key);
        *self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
        Ok(())
    }

    /// A field's value as a person would type it ("" when unset).
    pub fn value_text(&self, key: &str) -> String {
        let table = match toml::Value::try_from(self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return String::new(),
        };
        match table.get(key) {
            None => String::new(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }
    }
}

/// A number as people type it that TOML does not read as one (`.001`,
/// `1.e-3`, `08`).
fn lenient_number(raw: &str) -> Option<toml::Value> {
    if let Ok(i) = raw.parse::<i64>() {
        Some(toml::Value::Integer(i))
    } else {
        raw.parse::<f64>().ok().map(toml::Value::Float)
    }
}
