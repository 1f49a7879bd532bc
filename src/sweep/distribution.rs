//! Optuna's parameter distributions: what a journal records with each
//! parameter (`distribution_to_json`), and the internal representation
//! (floats for numbers, the choice's index for categoricals).

use crate::config::ParamSpec;
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    Float {
        low: f64,
        high: f64,
        log: bool,
        step: Option<f64>,
    },
    Int {
        low: i64,
        high: i64,
        log: bool,
        step: i64,
    },
    Categorical {
        choices: Vec<Value>,
    },
}

impl Distribution {
    pub fn from_spec(spec: &ParamSpec) -> Distribution {
        match spec {
            ParamSpec::Float {
                low,
                high,
                log,
                step,
            } => Distribution::Float {
                low: *low,
                high: *high,
                log: *log,
                step: *step,
            },
            ParamSpec::Int {
                low,
                high,
                log,
                step,
            } => Distribution::Int {
                low: *low,
                high: *high,
                log: *log,
                step: *step,
            },
            ParamSpec::Choice(c) => Distribution::Categorical {
                choices: c.iter().map(toml_to_json).collect(),
            },
        }
    }

    /// The JSON string Optuna's `distribution_to_json` writes.
    pub fn to_json(&self) -> String {
        let v = match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => json!({"name": "FloatDistribution",
                "attributes": {"step": step, "low": low, "high": high, "log": log}}),
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => json!({"name": "IntDistribution",
                "attributes": {"log": log, "step": step, "low": low, "high": high}}),
            Distribution::Categorical { choices } => {
                json!({"name": "CategoricalDistribution", "attributes": {"choices": choices}})
            }
        };
        v.to_string()
    }

    /// Optuna's `json_to_distribution`, including the abbreviated form and
    /// the names Optuna 2 wrote.
    pub fn from_json(text: &str) -> Result<Distribution, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("distribution: {e}"))?;
        let bad = || format!("not an Optuna distribution: {text}");
        let num = |a: &Value, k: &str| a.get(k).and_then(Value::as_f64);
        let int = |a: &Value, k: &str| a.get(k).and_then(Value::as_f64).map(|f| f as i64);
        let (name, attrs) = match v.get("name").and_then(Value::as_str) {
            Some(n) => (n.to_string(), v.get("attributes").cloned().ok_or_else(bad)?),
            None => {
                let kind = v.get("type").and_then(Value::as_str).ok_or_else(bad)?;
                let name = match kind {
                    "categorical" => "CategoricalDistribution",
                    "float" => "FloatDistribution",
                    "int" => "IntDistribution",
                    _ => return Err(bad()),
                };
                (name.to_string(), v.clone())
            }
        };
        let log = attrs.get("log").and_then(Value::as_bool).unwrap_or(false);
        let d = match name.as_str() {
            "CategoricalDistribution" => Distribution::Categorical {
                choices: attrs
                    .get("choices")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(bad)?,
            },
            "FloatDistribution"
            | "UniformDistribution"
            | "LogUniformDistribution"
            | "DiscreteUniformDistribution" => Distribution::Float {
                low: num(&attrs, "low").ok_or_else(bad)?,
                high: num(&attrs, "high").ok_or_else(bad)?,
                log: log || name == "LogUniformDistribution",
                step: num(&attrs, "step").or_else(|| num(&attrs, "q")),
            },
            "IntDistribution" | "IntUniformDistribution" | "IntLogUniformDistribution" => {
                Distribution::Int {
                    low: int(&attrs, "low").ok_or_else(bad)?,
                    high: int(&attrs, "high").ok_or_else(bad)?,
                    log: log || name == "IntLogUniformDistribution",
                    step: int(&attrs, "step").unwrap_or(1),
                }
            }
            _ => return Err(bad()),
        };
        Ok(d)
    }

    /// The value a person reads (and the config takes) for an internal one.
    pub fn external(&self, internal: f64) -> Value {
        match self {
            Distribution::Float { .. } => json!(internal),
            Distribution::Int { .. } => json!(internal as i64),
            Distribution::Categorical { choices } => choices
                .get(internal as usize)
                .cloned()
                .unwrap_or(Value::Null),
        }
    }

    /// The value as a person reads it: 3.2e-5, 0.125, 32, layers:2.
    pub fn value_text(&self, internal: f64) -> String {
        match (self, self.external(internal)) {
            (Distribution::Float { .. }, v) => short_float(v.as_f64().unwrap_or(internal)),
            (_, Value::String(s)) => s,
            (_, v) => v.to_string(),
        }
    }

    /// Only one value possible: nothing for a sampler to learn.
    pub fn single(&self) -> bool {
        match self {
            Distribution::Float { low, high, .. } => low == high,
            Distribution::Int {
                low, high, step, ..
            } => high - low < *step,
            Distribution::Categorical { choices } => choices.len() == 1,
        }
    }

    /// Every value a grid search visits, in internal representation.
    pub fn grid(&self) -> Option<Vec<f64>> {
        match self {
            Distribution::Categorical { choices } => {
                Some((0..choices.len()).map(|i| i as f64).collect())
            }
            Distribution::Int {
                low, high, step, ..
            } => Some(
                (0..)
                    .map(|i| low + i * step)
                    .take_while(|v| v <= high)
                    .map(|v| v as f64)
                    .collect(),
            ),
            Distribution::Float {
                low,
                high,
                step: Some(step),
                ..
            } => {
                let n = ((high - low) / step + 1e-9).floor() as usize;
                Some((0..=n).map(|i| low + i as f64 * step).collect())
            }
            Distribution::Float { step: None, .. } => None,
        }
    }
}

/// A float as few digits as read well: 3.2e-5, 0.12, 16.
pub fn short_float(f: f64) -> String {
    if f != 0.0 && (f.abs() < 1e-2 || f.abs() >= 1e5) {
        let s = format!("{f:.1e}");
        s.replace(".0e", "e")
    } else {
        let s = format!("{f:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => json!(b),
        other => Value::String(other.to_string()),
    }
}

pub fn json_to_toml(v: &Value) -> toml::Value {
    match v {
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        other => toml::Value::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optuna_json_round_trips() {
        for text in [
            r#"{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.001, "log": true}}"#,
            r#"{"name": "IntDistribution", "attributes": {"log": true, "step": 1, "low": 4, "high": 32}}"#,
            r#"{"name": "CategoricalDistribution", "attributes": {"choices": ["none", "layers:2"]}}"#,
        ] {
            let d = Distribution::from_json(text).unwrap();
            assert_eq!(Distribution::from_json(&d.to_json()).unwrap(), d);
        }
        let old = Distribution::from_json(
            r#"{"name": "LogUniformDistribution", "attributes": {"low": 0.1, "high": 1.0}}"#,
        )
        .unwrap();
        assert!(matches!(old, Distribution::Float { log: true, .. }));
        assert!(Distribution::from_json(r#"{"name": "Beta"}"#).is_err());
    }

    #[test]
    fn floats_read_short() {
        assert_eq!(short_float(3.2e-5), "3.2e-5");
        assert_eq!(short_float(0.125), "0.125");
        assert_eq!(short_float(0.1), "0.1");
        assert_eq!(short_float(16.0), "16");
        assert_eq!(short_float(1e-4), "1e-4");
    }

    #[test]
    fn grids_cover_the_steps() {
        let d = Distribution::Float {
            low: 0.0,
            high: 0.2,
            log: false,
            step: Some(0.1),
        };
        assert_eq!(d.grid().unwrap().len(), 3);
        let i = Distribution::Int {
            low: 1,
            high: 4,
            log: false,
            step: 1,
        };
        assert_eq!(i.grid().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(i.external(3.0), json!(3));
    }
}
