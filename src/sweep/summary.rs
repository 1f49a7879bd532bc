//! A sweep as people read it: its trials from the journal, with their
//! parameters, states, scores and curves (the leaderboard, `runs`, the TUI
//! Sweep view).

pub use super::distribution::short_float;
use super::distribution::Distribution;
use super::driver::{self, StudyRef, ATTR_BEST_STEP, ATTR_FAIL_REASON, ATTR_RUN_DIR};
use super::journal::{iso_seconds, Journal, Trial, TrialState};
use crate::config::RunConfig;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct TrialRow {
    pub number: usize,
    pub state: TrialState,
    /// (name, value as text, the internal value, whether on a log axis).
    pub params: Vec<(String, String, f64, bool)>,
    /// Its score: best evaluation (complete), last one (pruned).
    pub value: Option<f64>,
    pub best_step: Option<i64>,
    pub duration_s: Option<f64>,
    pub run_dir: Option<PathBuf>,
    /// Every reported evaluation, (step, value).
    pub curve: Vec<(i64, f64)>,
    pub fail_reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SweepSummary {
    pub dir: PathBuf,
    pub study: String,
    pub storage: PathBuf,
    pub metric: String,
    pub maximize: bool,
    pub budget: usize,
    pub trials: Vec<TrialRow>,
    /// The best complete trial's number.
    pub best: Option<usize>,
}

impl SweepSummary {
    /// Read a sweep directory (its study.json and journal).
    pub fn load(dir: &Path) -> Result<SweepSummary, String> {
        let cfg =
            RunConfig::from_toml_file(&dir.join(driver::SWEEP_FILE)).map_err(|e| e.to_string())?;
        let study_ref = StudyRef::read(dir)
            .ok_or_else(|| format!("{}: no {}", dir.display(), driver::STUDY_FILE))?;
        let journal = Journal::open(&study_ref.storage).map_err(|e| e.to_string())?;
        let study = journal
            .replay
            .study_by_name(&study_ref.study)
            .ok_or_else(|| {
                format!(
                    "{}: no study '{}'",
                    study_ref.storage.display(),
                    study_ref.study
                )
            })?;
        let maximize = study.maximize();
        let owned: Vec<Trial> = journal
            .replay
            .trials_of(study.id)
            .into_iter()
            .cloned()
            .collect();
        let best = driver::best_trial(&owned, maximize).map(|t| t.number);
        Ok(SweepSummary {
            dir: dir.to_path_buf(),
            study: study.name.clone(),
            storage: study_ref.storage.clone(),
            metric: cfg.search.settings.metric.clone(),
            maximize,
            budget: cfg.search.settings.trials,
            trials: owned.iter().map(row).collect(),
            best,
        })
    }

    pub fn running(&self) -> usize {
        self.trials
            .iter()
            .filter(|t| t.state == TrialState::Running)
            .count()
    }

    /// Best value after each finished trial, in trial order.
    pub fn best_so_far(&self) -> Vec<(usize, f64)> {
        let mut best: Option<f64> = None;
        let mut out = Vec::new();
        for t in &self.trials {
            if t.state != TrialState::Complete {
                continue;
            }
            if let Some(v) = t.value {
                best = Some(match best {
                    Some(b) if (self.maximize && b >= v) || (!self.maximize && b <= v) => b,
                    _ => v,
                });
                out.push((t.number, best.unwrap_or(v)));
            }
        }
        out
    }

    /// Trials ordered best first (complete, then pruned, running, failed).
    pub fn leaderboard(&self) -> Vec<&TrialRow> {
        let rank = |t: &TrialRow| match t.state {
            TrialState::Complete => 0,
            TrialState::Pruned => 1,
            TrialState::Running | TrialState::Waiting => 2,
            TrialState::Fail => 3,
        };
        let mut rows: Vec<&TrialRow> = self.trials.iter().collect();
        let sign = if self.maximize { -1.0 } else { 1.0 };
        rows.sort_by(|a, b| {
            rank(a).cmp(&rank(b)).then(
                (sign * a.value.unwrap_or(f64::NAN))
                    .total_cmp(&(sign * b.value.unwrap_or(f64::NAN))),
            )
        });
        rows
    }
}

fn row(t: &Trial) -> TrialRow {
    let params = t
        .params
        .iter()
        .map(|p| {
            let text = p.distribution.value_text(p.internal);
            let log = matches!(
                p.distribution,
                Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. }
            );
            (p.name.clone(), text, p.internal, log)
        })
        .collect();
    let duration_s = match (&t.datetime_start, &t.datetime_complete) {
        (Some(s), Some(c)) => Some(iso_seconds(c).zip(iso_seconds(s)).map(|(c, s)| c - s)),
        (Some(s), None) => Some(iso_seconds(s).map(|s| now() - s)),
        _ => None,
    }
    .flatten();
    TrialRow {
        number: t.number,
        state: t.state,
        params,
        value: t.value(),
        best_step: t
            .system_attrs
            .get(ATTR_BEST_STEP)
            .and_then(|v| v.as_i64())
            .or_else(|| match t.state {
                // Another worker's trial: the step that gave its value.
                TrialState::Complete => t
                    .intermediate
                    .iter()
                    .find(|(_, v)| Some(**v) == t.value())
                    .map(|(s, _)| *s),
                TrialState::Pruned => t.last_step(),
                _ => None,
            }),
        duration_s,
        run_dir: t.system_str(ATTR_RUN_DIR).map(PathBuf::from),
        curve: t.intermediate.iter().map(|(s, v)| (*s, *v)).collect(),
        fail_reason: t.system_str(ATTR_FAIL_REASON).map(str::to_string),
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
