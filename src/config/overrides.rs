//! A run config in and out of TOML, and changed one key at a time
//! (`--set k=v`, the TUI form).

use super::{keys, ConfigError, RunConfig};
use std::path::Path;

impl RunConfig {
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
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
        if let Some(sub) = key.strip_prefix("search.") {
            return self.set_search(sub, raw).map_err(bad);
        }
        let table = match toml::Value::try_from(&*self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(bad("cannot represent the config".into())),
        };
        let known = keys();
        if !known.contains(&key) {
            return Err(bad(format!(
                "unknown key '{key}'; known keys: {}",
                known.join(", ")
            )));
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
            return Err(bad(format!("unknown key '{key}'")));
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
