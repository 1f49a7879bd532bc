//! The `[search]` table of a run config: which keys a sweep samples, from
//! what range, and how the sweep runs (trials, metric, sampler, pruner...).
//!
//! ```toml
//! [search]
//! trials = 12
//! metric = "accuracy"
//! lr = { log_uniform = [1e-5, 1e-3] }
//! batch_size = { choice = [16, 32] }
//! lora_r = { int = [4, 32], log = true }
//! ```
//!
//! A table value is a parameter (any config key); a plain value is a
//! setting. `seed` is both: `seed = 7` seeds the sampler, `seed = { int =
//! [0, 9] }` searches the run's seed.

use super::{keys, RunConfig};
use serde::{Deserialize, Serialize};

/// How one config key is sampled.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamSpec {
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
    Choice(Vec<toml::Value>),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    #[default]
    Tpe,
    Random,
    Grid,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrunerKind {
    /// Optuna's SuccessiveHalvingPruner with its defaults.
    #[default]
    Asha,
    /// Optuna's MedianPruner with its defaults.
    Median,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Maximize,
    Minimize,
}

/// The settings of a sweep (the plain values of `[search]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSettings {
    /// Trials in the study, all workers together.
    pub trials: usize,
    /// What a trial is scored by: its best evaluation of this metric.
    pub metric: String,
    /// Unset: minimize for losses, maximize otherwise.
    pub direction: Option<Direction>,
    pub sampler: SamplerKind,
    pub pruner: PrunerKind,
    /// Trials at once on this machine (the threads are split between them).
    pub parallel: usize,
    /// Start no new trial after this many seconds (0: no limit).
    pub timeout: f64,
    /// The sampler's seed (unset: the run config's seed).
    pub seed: Option<u64>,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            trials: 20,
            metric: "accuracy".into(),
            direction: None,
            sampler: SamplerKind::Tpe,
            // Optuna's create_study() default, and the pruner that matched
            // random search without pruning in the 3-seed measurement
            // (README, "Hyperparameter search").
            pruner: PrunerKind::Median,
            parallel: 1,
            timeout: 0.0,
            seed: None,
        }
    }
}

/// The metrics a trial can be scored by (`f1:LABEL` too).
pub const SEARCH_METRICS: &[&str] = &[
    "accuracy",
    "macro_f1",
    "val_loss",
    "micro_f1",
    "weighted_f1",
    "subset_accuracy",
    "hamming_loss",
    "lrap",
    "jaccard",
    "pearson",
    "spearman",
    "mse",
    "mae",
];

impl SearchSettings {
    pub fn direction(&self) -> Direction {
        let lower = self
            .metric
            .parse::<super::BestMetric>()
            .is_ok_and(|m| m.lower_is_better());
        self.direction.unwrap_or(if lower {
            Direction::Minimize
        } else {
            Direction::Maximize
        })
    }
}

/// The whole `[search]` table: parameters in key order, then settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Table", into = "toml::Table")]
pub struct SearchSpec {
    pub params: Vec<(String, ParamSpec)>,
    pub settings: SearchSettings,
    /// Whether the table was there at all (an empty one still says "sweep").
    present: bool,
}

impl SearchSpec {
    pub fn is_empty(&self) -> bool {
        !self.present && self.params.is_empty()
    }

    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }
}

pub(super) const SETTINGS: &[&str] = &[
    "trials",
    "metric",
    "direction",
    "sampler",
    "pruner",
    "parallel",
    "timeout",
    "seed",
];

impl TryFrom<toml::Table> for SearchSpec {
    type Error = String;

    fn try_from(table: toml::Table) -> Result<Self, String> {
        let mut settings = toml::Table::new();
        let mut params = Vec::new();
        for (key, value) in table {
            match value {
                toml::Value::Table(spec) => {
                    if !keys().contains(&key.as_str()) || key == "search" {
                        return Err(unknown_key(&key));
                    }
                    let param =
                        ParamSpec::parse(&spec).map_err(|e| format!("[search] {key}: {e}"))?;
                    params.push((key, param));
                }
                other => {
                    if !SETTINGS.contains(&key.as_str()) {
                        if keys().contains(&key.as_str()) {
                            return Err(format!(
                                "[search] {key}: give a range or choices, e.g. \
                                 {key} = {{ choice = [..] }} (a fixed value belongs \
                                 outside [search])"
                            ));
                        }
                        return Err(unknown_key(&key));
                    }
                    settings.insert(key, other);
                }
            }
        }
        let settings: SearchSettings = toml::Value::Table(settings)
            .try_into()
            .map_err(|e: toml::de::Error| format!("[search] {}", e.message()))?;
        if settings.trials == 0 {
            return Err("[search] trials: must be at least 1".into());
        }
        if settings.parallel == 0 {
            return Err("[search] parallel: must be at least 1".into());
        }
        if !(settings.timeout.is_finite() && settings.timeout >= 0.0) {
            return Err("[search] timeout: must be seconds ≥ 0 (0: no limit)".into());
        }
        let metric_ok = SEARCH_METRICS.contains(&settings.metric.as_str())
            || settings
                .metric
                .strip_prefix("f1:")
                .is_some_and(|l| !l.is_empty());
        if !metric_ok {
            return Err(format!(
                "[search] metric: unknown metric '{}' ({}, or f1:LABEL)",
                settings.metric,
                SEARCH_METRICS.join(", ")
            ));
        }
        Ok(SearchSpec {
            params,
            settings,
            present: true,
        })
    }
}

fn unknown_key(key: &str) -> String {
    let mut known: Vec<&str> = keys().iter().copied().filter(|k| *k != "search").collect();
    known.extend(SETTINGS);
    let near = known
        .iter()
        .map(|k| (strsim::jaro_winkler(k, key), *k))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match near {
        Some((_, k)) => format!("[search] unknown key '{key}'; did you mean '{k}'?"),
        None => format!(
            "[search] unknown key '{key}'; a config key ({}) or a setting ({})",
            known[..known.len() - SETTINGS.len()].join(", "),
            SETTINGS.join(", ")
        ),
    }
}

impl From<SearchSpec> for toml::Table {
    fn from(spec: SearchSpec) -> toml::Table {
        let mut t = match toml::Value::try_from(&spec.settings) {
            Ok(toml::Value::Table(t)) => t,
            _ => toml::Table::new(),
        };
        for (name, p) in spec.params {
            t.insert(name, toml::Value::Table(p.to_table()));
        }
        t
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

fn pair(v: &toml::Value, what: &str) -> Result<(toml::Value, toml::Value), String> {
    match v.as_array().map(|a| a.as_slice()) {
        Some([a, b]) => Ok((a.clone(), b.clone())),
        _ => Err(format!("{what} takes [low, high]")),
    }
}

impl ParamSpec {
    pub(super) fn parse(spec: &toml::Table) -> Result<ParamSpec, String> {
        let kinds: Vec<&str> = ["uniform", "log_uniform", "float", "int", "choice"]
            .into_iter()
            .filter(|k| spec.contains_key(*k))
            .collect();
        let kind = match kinds.as_slice() {
            [k] => *k,
            [] => {
                return Err(
                    "expected one of uniform, log_uniform, float, int or choice, \
                     e.g. { log_uniform = [1e-5, 1e-3] }"
                        .into(),
                )
            }
            more => return Err(format!("give one of {}, not several", more.join(", "))),
        };
        for key in spec.keys() {
            if key != kind && key != "log" && key != "step" {
                return Err(format!("unknown option '{key}' (log, step)"));
            }
        }
        let log = match spec.get("log") {
            None => kind == "log_uniform",
            Some(toml::Value::Boolean(b)) => *b || kind == "log_uniform",
            Some(_) => return Err("log must be true or false".into()),
        };
        let step = spec.get("step");
        let param = match kind {
            "choice" => {
                if log || step.is_some() {
                    return Err("choice takes no log or step".into());
                }
                let choices = spec[kind]
                    .as_array()
                    .ok_or("choice takes a list, e.g. [16, 32]")?
                    .clone();
                if choices.is_empty() {
                    return Err("choice has no options".into());
                }
                if choices
                    .iter()
                    .any(|c| matches!(c, toml::Value::Table(_) | toml::Value::Array(_)))
                {
                    return Err("choices must be plain values".into());
                }
                ParamSpec::Choice(choices)
            }
            "int" => {
                let (a, b) = pair(&spec[kind], "int")?;
                let (Some(low), Some(high)) = (a.as_integer(), b.as_integer()) else {
                    return Err("int takes whole numbers, e.g. [1, 4]".into());
                };
                let step = match step {
                    None => 1,
                    Some(s) => s
                        .as_integer()
                        .filter(|s| *s > 0)
                        .ok_or("step must be ≥ 1")?,
                };
                if log && step != 1 {
                    return Err("a log range takes no step".into());
                }
                ParamSpec::Int {
                    low,
                    high,
                    log,
                    step,
                }
            }
            _ => {
                let (a, b) = pair(&spec[kind], kind)?;
                let (Some(low), Some(high)) = (number(&a), number(&b)) else {
                    return Err(format!("{kind} takes numbers, e.g. [0.0, 0.2]"));
                };
                let step = match step {
                    None => None,
                    Some(s) => Some(number(s).filter(|s| *s > 0.0).ok_or("step must be > 0")?),
                };
                if log && step.is_some() {
                    return Err("a log range takes no step".into());
                }
                ParamSpec::Float {
                    low,
                    high,
                    log,
                    step,
                }
            }
        };
        param.check_range()?;
        Ok(param)
    }

    fn check_range(&self) -> Result<(), String> {
        let (low, high, log) = match self {
            ParamSpec::Float { low, high, log, .. } => (*low, *high, *log),
            ParamSpec::Int { low, high, log, .. } => (*low as f64, *high as f64, *log),
            ParamSpec::Choice(_) => return Ok(()),
        };
        if !(low.is_finite() && high.is_finite()) {
            return Err("bounds must be finite".into());
        }
        if low >= high {
            return Err(format!("empty or reversed range [{low}, {high}]"));
        }
        if log && low <= 0.0 {
            return Err(format!("a log range needs low > 0, got {low}"));
        }
        Ok(())
    }

    fn to_table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        match self {
            ParamSpec::Float {
                low,
                high,
                log,
                step,
            } => {
                let range = toml::Value::Array(vec![(*low).into(), (*high).into()]);
                if *log {
                    t.insert("log_uniform".into(), range);
                } else {
                    t.insert("uniform".into(), range);
                }
                if let Some(s) = step {
                    t.insert("step".into(), (*s).into());
                }
            }
            ParamSpec::Int {
                low,
                high,
                log,
                step,
            } => {
                t.insert(
                    "int".into(),
                    toml::Value::Array(vec![(*low).into(), (*high).into()]),
                );
                if *log {
                    t.insert("log".into(), true.into());
                }
                if *step != 1 {
                    t.insert("step".into(), (*step).into());
                }
            }
            ParamSpec::Choice(c) => {
                t.insert("choice".into(), toml::Value::Array(c.clone()));
            }
        }
        t
    }

    /// Values that bound what this parameter can take (the ends of a
    /// range, every choice): each is checked against the config's rules.
    pub fn extremes(&self) -> Vec<toml::Value> {
        match self {
            ParamSpec::Float { low, high, .. } => vec![(*low).into(), (*high).into()],
            ParamSpec::Int { low, high, .. } => vec![(*low).into(), (*high).into()],
            ParamSpec::Choice(c) => c.clone(),
        }
    }
}

impl RunConfig {
    /// This config with one key set to a sampled value.
    pub fn with_value(&self, key: &str, value: &toml::Value) -> Result<RunConfig, String> {
        let mut cfg = self.clone();
        let text = match value {
            toml::Value::String(s) => {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            }
            v => v.to_string(),
        };
        cfg.set(&format!("{key}={text}"))
            .map_err(|e| format!("{key} = {text}: {e}"))?;
        Ok(cfg)
    }

    /// The search space's problems against the config's own rules: a
    /// range end or choice that the key does not accept.
    pub fn search_problems(&self) -> Vec<String> {
        let mut base = self.clone();
        base.search = SearchSpec::default();
        let mut out = Vec::new();
        for (name, param) in &self.search.params {
            for v in param.extremes() {
                match base.with_value(name, &v) {
                    Err(e) => out.push(e),
                    Ok(cfg) => {
                        if let Some(p) = cfg.problems().into_iter().find(|p| p.field == name) {
                            out.push(format!("{name} = {v}: {}", p.reason));
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RunConfig, String> {
        toml::from_str::<RunConfig>(text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn a_search_table_reads_params_and_settings() {
        let cfg = parse(
            r#"
            epochs = 2
            [search]
            trials = 7
            metric = "val_loss"
            lr = { log_uniform = [1e-5, 1e-3] }
            warmup_ratio = { uniform = [0.0, 0.2] }
            batch_size = { choice = [16, 32, 64] }
            lora_r = { int = [4, 32], log = true }
            freeze = { choice = ["none", "layers:2"] }
            seed = 3
            "#,
        )
        .unwrap();
        let s = &cfg.search;
        assert_eq!(s.settings.trials, 7);
        assert_eq!(s.settings.seed, Some(3));
        assert_eq!(s.settings.direction(), Direction::Minimize);
        assert_eq!(
            s.param("lr"),
            Some(&ParamSpec::Float {
                low: 1e-5,
                high: 1e-3,
                log: true,
                step: None
            })
        );
        assert!(matches!(
            s.param("lora_r"),
            Some(ParamSpec::Int { log: true, .. })
        ));
        assert!(
            cfg.search_problems().is_empty(),
            "{:?}",
            cfg.search_problems()
        );
        // Round trip through TOML.
        let back: RunConfig = toml::from_str(&cfg.to_toml()).unwrap();
        assert_eq!(back.search, cfg.search);
        assert!(RunConfig::default().search.is_empty());
        assert!(!RunConfig::default().to_toml().contains("search"));
    }

    #[test]
    fn bad_search_tables_name_the_key() {
        for (text, want) in [
            (
                "warmup = { uniform = [0, 1] }",
                "unknown key 'warmup'; did you mean 'warmup_ratio'",
            ),
            (
                "lr = { uniform = [1e-3, 1e-5] }",
                "lr: empty or reversed range",
            ),
            (
                "lr = { uniform = [1e-3, 1e-3] }",
                "lr: empty or reversed range",
            ),
            (
                "lr = { log_uniform = [0, 1e-3] }",
                "lr: a log range needs low > 0",
            ),
            (
                "batch_size = { choice = [] }",
                "batch_size: choice has no options",
            ),
            (
                "epochs = { int = [1.5, 3] }",
                "epochs: int takes whole numbers",
            ),
            ("lr = { between = [1, 2] }", "lr: expected one of"),
            ("epochs = 3", "epochs: give a range or choices"),
            ("metric = \"auc\"", "unknown metric 'auc'"),
            ("trials = 0", "trials: must be at least 1"),
            ("sampler = \"cma\"", "unknown variant `cma`"),
        ] {
            let e = parse(&format!("[search]\n{text}")).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn set_reaches_into_the_search_table() {
        let mut cfg = RunConfig::default();
        cfg.set("search.lr={ log_uniform = [1e-5, 1e-3] }").unwrap();
        cfg.set("search.sampler=random").unwrap();
        cfg.set("search.trials=5").unwrap();
        assert_eq!(cfg.search.settings.trials, 5);
        assert_eq!(cfg.search.settings.sampler, SamplerKind::Random);
        assert!(cfg.search.param("lr").is_some());
        let e = cfg
            .set("search.lr={ uniform = [2, 1] }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty or reversed"), "{e}");
        let e = cfg
            .set("search.lrr={ uniform = [1, 2] }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean 'lr'"), "{e}");
    }

    #[test]
    fn values_the_config_refuses_are_reported() {
        let cfg = parse(
            "[search]\nbatch_size = { int = [0, 8] }\nschedule = { choice = [\"linear\", \"zigzag\"] }",
        )
        .unwrap();
        let problems = cfg.search_problems().join("\n");
        assert!(problems.contains("batch_size = 0"), "{problems}");
        assert!(problems.contains("schedule = \"zigzag\""), "{problems}");
    }
}
