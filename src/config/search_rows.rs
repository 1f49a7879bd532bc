//! The search space as rows, as the form's search sub-form edits it: each
//! searched key a distribution kind and a range cell, each study setting
//! a value. Every edit goes back through `SearchSpec`'s own parser, so
//! the form refuses what `tunebench sweep --config` refuses, in its words.

use super::search::{ParamSpec, SearchSpec, SETTINGS};
use super::RunConfig;

/// A searched key's distribution, as the sub-form cycles through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Uniform,
    LogUniform,
    Int,
    IntLog,
    Choice,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Uniform,
        Kind::LogUniform,
        Kind::Int,
        Kind::IntLog,
        Kind::Choice,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Uniform => "uniform",
            Kind::LogUniform => "log-uniform",
            Kind::Int => "int",
            Kind::IntLog => "int (log)",
            Kind::Choice => "choice",
        }
    }

    pub fn next(self) -> Kind {
        let i = Kind::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Kind::ALL[(i + 1) % Kind::ALL.len()]
    }
}

impl ParamSpec {
    pub fn kind(&self) -> Kind {
        match self {
            ParamSpec::Float { log: true, .. } => Kind::LogUniform,
            ParamSpec::Float { .. } => Kind::Uniform,
            ParamSpec::Int { log: true, .. } => Kind::IntLog,
            ParamSpec::Int { .. } => Kind::Int,
            ParamSpec::Choice(_) => Kind::Choice,
        }
    }

    /// The range cell: `1e-5 1e-3`, `0 0.2 step 0.05`, `16, 32`.
    pub fn range_text(&self) -> String {
        match self {
            ParamSpec::Float {
                low, high, step, ..
            } => match step {
                Some(s) => format!("{} {} step {}", short(*low), short(*high), short(*s)),
                None => format!("{} {}", short(*low), short(*high)),
            },
            ParamSpec::Int {
                low, high, step, ..
            } if *step != 1 => format!("{low} {high} step {step}"),
            ParamSpec::Int { low, high, .. } => format!("{low} {high}"),
            ParamSpec::Choice(c) => c
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// A spec from its kind and the range cell as typed (`LOW HIGH [step
    /// S]`, or choices separated by commas), refused in the CLI's words.
    pub fn from_cells(kind: Kind, text: &str) -> Result<ParamSpec, String> {
        let mut table = toml::Table::new();
        if kind == Kind::Choice {
            let choices: Vec<toml::Value> = text
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(plain_value)
                .collect();
            table.insert("choice".into(), toml::Value::Array(choices));
            return ParamSpec::parse(&table);
        }
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty() && *w != "..")
            .collect();
        let (bounds, step) = match words.iter().position(|w| *w == "step") {
            Some(i) => (&words[..i], words.get(i + 1)),
            None => (&words[..], None),
        };
        let [low, high] = bounds else {
            return Err(format!(
                "{} takes two bounds, e.g. {}",
                kind.name(),
                match kind {
                    Kind::Int | Kind::IntLog => "1 4",
                    _ => "1e-5 1e-3",
                }
            ));
        };
        let range = toml::Value::Array(vec![plain_value(low), plain_value(high)]);
        let name = match kind {
            Kind::Uniform => "uniform",
            Kind::LogUniform => "log_uniform",
            _ => "int",
        };
        table.insert(name.into(), range);
        if kind == Kind::IntLog {
            table.insert("log".into(), true.into());
        }
        if let Some(s) = step {
            table.insert("step".into(), plain_value(s));
        }
        ParamSpec::parse(&table)
    }

    /// The same range under another kind (bounds kept where they fit; a
    /// range that no longer parses keeps its text for the person to fix).
    pub fn with_kind(&self, kind: Kind) -> Result<ParamSpec, String> {
        let text = match (self, kind) {
            (ParamSpec::Choice(_), Kind::Choice) => self.range_text(),
            (ParamSpec::Choice(c), _) => {
                let nums: Vec<f64> = c.iter().filter_map(number).collect();
                let lo = nums.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = nums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!("{lo} {hi}")
            }
            (ParamSpec::Float { low, high, .. }, Kind::Int | Kind::IntLog) => {
                format!("{} {}", low.floor() as i64, high.ceil() as i64)
            }
            (ParamSpec::Float { low, high, .. }, Kind::Uniform | Kind::LogUniform) => {
                format!("{} {}", short(*low), short(*high))
            }
            (ParamSpec::Int { low, high, .. }, Kind::Uniform | Kind::LogUniform) => {
                format!("{low}.0 {high}.0")
            }
            (ParamSpec::Int { low, high, .. }, Kind::Int | Kind::IntLog) => {
                format!("{low} {high}")
            }
            (_, Kind::Choice) => self.extremes_text(),
        };
        ParamSpec::from_cells(kind, &text)
    }

    fn extremes_text(&self) -> String {
        self.extremes()
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl SearchSpec {
    /// The study settings' names, in the order the sub-form shows them.
    pub fn setting_names() -> &'static [&'static str] {
        SETTINGS
    }

    /// A setting's value as the sub-form shows it ("" when unset).
    pub fn setting_text(&self, name: &str) -> String {
        match toml::Value::try_from(&self.settings) {
            Ok(toml::Value::Table(t)) => match t.get(name) {
                Some(toml::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            },
            _ => String::new(),
        }
    }

    /// This space with `key` searched by `spec` (added at the end, or
    /// replaced where it is), checked as `sweep --config` checks it.
    pub fn with_param(&self, key: &str, spec: ParamSpec) -> Result<SearchSpec, String> {
        let mut out = self.clone();
        match out.params.iter_mut().find(|(n, _)| n == key) {
            Some((_, p)) => *p = spec,
            None => out.params.push((key.to_string(), spec)),
        }
        out.reparsed()
    }

    pub fn without_param(&self, key: &str) -> SearchSpec {
        let mut out = self.clone();
        out.params.retain(|(n, _)| n != key);
        out
    }

    /// This space with a study setting set from text (empty: its default).
    pub fn with_setting(&self, name: &str, text: &str) -> Result<SearchSpec, String> {
        let mut table = toml::Table::from(self.clone());
        let text = text.trim();
        if text.is_empty() {
            table.remove(name);
        } else {
            table.insert(name.to_string(), plain_value(text));
        }
        SearchSpec::try_from(table)
    }

    /// Through the TOML table and back: the parser's checks and order.
    fn reparsed(self) -> Result<SearchSpec, String> {
        SearchSpec::try_from(toml::Table::from(self))
    }

    /// A first range for `key` around its value in `cfg`: a log-uniform
    /// decade either side for a rate, a ratio up to twice its value, whole
    /// numbers from half to double, every choice of a switch.
    pub fn suggest(cfg: &RunConfig, key: &str) -> Result<ParamSpec, String> {
        let table = match toml::Value::try_from(cfg) {
            Ok(toml::Value::Table(t)) => t,
            _ => toml::Table::new(),
        };
        let value = match (table.get(key), key) {
            (Some(v), _) => v.clone(),
            (None, "lr") => toml::Value::Float(cfg.lr_or_default()),
            (None, _) => {
                return Err(format!(
                    "{key} is unset: give it a value first, then + searches around it"
                ))
            }
        };
        let ratio = key.contains("ratio") || key.contains("dropout") || key.ends_with("split");
        let text = match &value {
            toml::Value::Float(v) if ratio => (
                Kind::Uniform,
                format!("0 {}", short(round3((v * 2.0).clamp(0.1, 0.5)))),
            ),
            toml::Value::Float(v) if *v > 0.0 => (
                Kind::LogUniform,
                format!("{} {}", short(round3(v / 10.0)), short(round3(v * 10.0))),
            ),
            toml::Value::Float(_) => (Kind::Uniform, "0 1".to_string()),
            toml::Value::Integer(v) if *v > 1 => (Kind::Int, format!("{} {}", v / 2, v * 2)),
            toml::Value::Integer(_) => (Kind::Int, "0 9".to_string()),
            toml::Value::Boolean(_) => (Kind::Choice, "true, false".to_string()),
            v => (
                Kind::Choice,
                match v {
                    toml::Value::String(s) => s.clone(),
                    v => v.to_string(),
                },
            ),
        };
        ParamSpec::from_cells(text.0, &text.1)
    }
}

impl RunConfig {
    /// `lr`, or the rate a run of this model starts from when it is unset.
    fn lr_or_default(&self) -> f64 {
        self.lr.unwrap_or(if self.model.starts_with("scratch:") {
            super::SCRATCH_LR
        } else {
            super::FINE_TUNE_LR
        })
    }
}

/// A cell's word as TOML reads it (a number, a boolean), else a string.
fn plain_value(word: &str) -> toml::Value {
    let word = word.trim();
    match toml::from_str::<toml::Table>(&format!("v = {word}")) {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
            ) => v,
            _ => toml::Value::String(word.to_string()),
        },
        Err(_) => match word.parse::<f64>() {
            Ok(f) if word.contains(['.', 'e', 'E']) => toml::Value::Float(f),
            _ => toml::Value::String(word.trim_matches('"').to_string()),
        },
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Three significant digits: a suggested bound a person can read.
fn round3(v: f64) -> f64 {
    format!("{v:.2e}").parse().unwrap_or(v)
}

/// A bound as a person writes it: `0.001`, `1e-5`, `0.2`.
fn short(v: f64) -> String {
    let plain = format!("{v}");
    let sci = format!("{v:e}");
    if sci.len() < plain.len() {
        sci
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_round_trip(kind: Kind, text: &str) -> ParamSpec {
        let spec = ParamSpec::from_cells(kind, text).unwrap();
        assert_eq!(spec.kind(), kind, "{text}");
        let again = ParamSpec::from_cells(kind, &spec.range_text()).unwrap();
        assert_eq!(again, spec, "{text} → {}", spec.range_text());
        spec
    }

    #[test]
    fn every_kind_round_trips_through_rows_toml_and_the_sweep_parser() {
        let mut space = SearchSpec::default();
        let rows = [
            ("warmup_ratio", Kind::Uniform, "0 0.2"),
            ("weight_decay", Kind::Uniform, "0 0.1 step 0.01"),
            ("lr", Kind::LogUniform, "1e-5 1e-3"),
            ("epochs", Kind::Int, "1 5"),
            ("max_len", Kind::Int, "64 256 step 64"),
            ("lora_r", Kind::IntLog, "4 32"),
            ("batch_size", Kind::Choice, "16, 32"),
            ("schedule", Kind::Choice, "linear, cosine"),
        ];
        for (key, kind, text) in rows {
            space = space.with_param(key, rows_round_trip(kind, text)).unwrap();
        }
        space = space.with_setting("trials", "4").unwrap();
        // The [search] table a config file holds, read as `sweep --config` does.
        let cfg = RunConfig {
            search: space.clone(),
            ..Default::default()
        };
        let back: RunConfig = toml::from_str(&cfg.to_toml()).unwrap();
        assert_eq!(back.search, space);
        assert_eq!(back.search.settings.trials, 4);
        for (key, kind, text) in rows {
            let p = back.search.param(key).unwrap();
            assert_eq!(p.kind(), kind);
            assert_eq!(p, &ParamSpec::from_cells(kind, text).unwrap());
        }
    }

    #[test]
    fn a_bad_range_is_refused_as_the_cli_refuses_it() {
        let e = ParamSpec::from_cells(Kind::LogUniform, "0 1e-3").unwrap_err();
        assert_eq!(e, "a log range needs low > 0, got 0");
        let e = ParamSpec::from_cells(Kind::Uniform, "0.3 0.1").unwrap_err();
        assert_eq!(e, "empty or reversed range [0.3, 0.1]");
        // The same words from a config file, through `sweep`'s parser.
        let file: Result<RunConfig, _> =
            toml::from_str("[search]\nlr = { log_uniform = [0, 1e-3] }");
        let file_error = file.unwrap_err().to_string();
        assert!(
            file_error.contains("[search] lr: a log range needs low > 0, got 0"),
            "{file_error}"
        );
        let e = SearchSpec::default()
            .with_setting("trials", "0")
            .unwrap_err();
        assert_eq!(e, "[search] trials: must be at least 1");
        assert!(ParamSpec::from_cells(Kind::Int, "1").is_err());
    }

    #[test]
    fn plus_suggests_a_range_around_the_current_value() {
        let cfg = RunConfig {
            lr: Some(2e-5),
            ..Default::default()
        };
        assert_eq!(
            SearchSpec::suggest(&cfg, "lr").unwrap(),
            ParamSpec::Float {
                low: 2e-6,
                high: 2e-4,
                log: true,
                step: None
            }
        );
        let warm = SearchSpec::suggest(&cfg, "warmup_ratio").unwrap();
        assert_eq!(warm.kind(), Kind::Uniform);
        assert_eq!(warm.range_text(), "0 0.2");
        let batch = SearchSpec::suggest(&cfg, "batch_size").unwrap();
        assert_eq!(batch.range_text(), "16 64");
        assert_eq!(
            SearchSpec::suggest(&cfg, "tensorboard")
                .unwrap()
                .range_text(),
            "true, false"
        );
        assert!(SearchSpec::suggest(&cfg, "dropout").is_err());
        // Kinds convert where the range allows.
        let as_int = warm.with_kind(Kind::Choice).unwrap();
        assert_eq!(as_int.kind(), Kind::Choice);
        assert_eq!(batch.with_kind(Kind::IntLog).unwrap().kind(), Kind::IntLog);
    }
}
