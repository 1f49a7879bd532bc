//! A study in Optuna's journal format (`JournalStorage` over
//! `JournalFileBackend`): one JSON object per line, each an operation with
//! its op code, replayed in order to get the studies and trials. Writers
//! take the backend's lock (a symlink `FILE.lock`, removed by renaming it
//! away; forced open after 30 s without the journal changing), append and
//! fsync — so Optuna's own workers and ours share one file.

mod lock;
pub mod ops;

use super::distribution::Distribution;
use lock::FileLock;
use ops::Operation;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Optuna's `TrialState` numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum TrialState {
    Running = 0,
    Complete = 1,
    Pruned = 2,
    Fail = 3,
    Waiting = 4,
}

impl TryFrom<i64> for TrialState {
    type Error = String;

    fn try_from(v: i64) -> Result<TrialState, String> {
        Ok(match v {
            0 => TrialState::Running,
            1 => TrialState::Complete,
            2 => TrialState::Pruned,
            3 => TrialState::Fail,
            4 => TrialState::Waiting,
            _ => return Err(format!("unknown trial state {v}")),
        })
    }
}

impl From<TrialState> for i64 {
    fn from(s: TrialState) -> i64 {
        s as i64
    }
}

impl TrialState {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Pruned | TrialState::Fail
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Fail => "failed",
            TrialState::Waiting => "waiting",
        }
    }
}

/// Optuna's `StudyDirection` numbers.
pub const MINIMIZE: i64 = 1;
pub const MAXIMIZE: i64 = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub internal: f64,
    pub distribution: Distribution,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub id: usize,
    pub number: usize,
    pub state: TrialState,
    pub params: Vec<Param>,
    pub values: Option<Vec<f64>>,
    pub intermediate: BTreeMap<i64, f64>,
    pub user_attrs: Map<String, Value>,
    pub system_attrs: Map<String, Value>,
    pub datetime_start: Option<String>,
    pub datetime_complete: Option<String>,
}

impl Trial {
    pub fn value(&self) -> Option<f64> {
        self.values.as_ref().and_then(|v| v.first().copied())
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn last_step(&self) -> Option<i64> {
        self.intermediate.keys().next_back().copied()
    }

    pub fn system_str(&self, key: &str) -> Option<&str> {
        self.system_attrs.get(key).and_then(Value::as_str)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Study {
    pub id: usize,
    pub name: String,
    pub directions: Vec<i64>,
    pub user_attrs: Map<String, Value>,
    pub system_attrs: Map<String, Value>,
    pub trial_ids: Vec<usize>,
}

impl Study {
    pub fn maximize(&self) -> bool {
        self.directions.first() == Some(&MAXIMIZE)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}:{line}: not an Optuna journal: {why}")]
    Format {
        path: String,
        line: usize,
        why: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The studies and trials a journal's operations add up to.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    pub studies: BTreeMap<usize, Study>,
    pub trials: Vec<Trial>,
    next_study_id: usize,
    /// The trial the last CREATE_TRIAL of this worker made.
    last_created: Option<usize>,
}

impl Replay {
    pub fn study_by_name(&self, name: &str) -> Option<&Study> {
        self.studies.values().find(|s| s.name == name)
    }

    pub fn trials_of(&self, study_id: usize) -> Vec<&Trial> {
        self.studies
            .get(&study_id)
            .map(|s| s.trial_ids.iter().map(|&i| &self.trials[i]).collect())
            .unwrap_or_default()
    }

    /// A trial that still takes changes (Optuna ignores them once finished).
    fn updatable(&mut self, id: usize) -> Option<&mut Trial> {
        let t = self.trials.get_mut(id)?;
        (!t.state.is_finished()).then_some(t)
    }
}

/// An open journal file: what it says so far, and this worker's id.
pub struct Journal {
    path: PathBuf,
    worker_id: String,
    /// Bytes replayed so far (always at a line end).
    offset: u64,
    lines: usize,
    pub replay: Replay,
}

/// Optuna's datetime format (UTC, microseconds).
pub fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Seconds since the epoch of an ISO datetime as Optuna writes it (with a
/// UTC offset, or naive — taken as UTC); None when it does not parse.
pub fn iso_seconds(text: &str) -> Option<f64> {
    let micros = match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.timestamp_micros(),
        Err(_) => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_utc()
            .timestamp_micros(),
    };
    Some(micros as f64 / 1e6)
}

impl Journal {
    /// Open (creating an empty one if missing) and replay it.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        let mut j = Journal {
            path: path.to_path_buf(),
            worker_id: format!("{}-{}", uuid::Uuid::new_v4(), std::process::id()),
            offset: 0,
            lines: 0,
            replay: Replay::default(),
        };
        j.sync()?;
        Ok(j)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the operations appended since the last sync.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        let mut f = std::fs::File::open(&self.path).map_err(|e| io(&self.path, e))?;
        f.seek(SeekFrom::Start(self.offset))
            .map_err(|e| io(&self.path, e))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(|e| io(&self.path, e))?;
        let mut start = 0;
        // Only whole lines: a writer may be in the middle of one.
        while let Some(n) = bytes[start..].iter().position(|&b| b == b'\n') {
            let line = &bytes[start..start + n];
            self.lines += 1;
            let fail = |why: String| JournalError::Format {
                path: self.path.display().to_string(),
                line: self.lines,
                why,
            };
            let value = parse_line(line).map_err(fail)?;
            if !value.is_object() {
                return Err(fail("a line is not a JSON object".into()));
            }
            let own = value.get("worker_id").and_then(Value::as_str) == Some(&self.worker_id);
            ops::apply_line(&mut self.replay, value, own).map_err(fail)?;
            start += n + 1;
        }
        self.offset += start as u64;
        Ok(())
    }

    /// Run `f` holding the journal's lock, synced first: what it reads
    /// cannot change under it, and what it appends lands together.
    pub fn locked<T>(
        &mut self,
        f: impl FnOnce(&mut Locked<'_>) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let lock = FileLock::acquire(&self.path)?;
        self.sync()?;
        let mut l = Locked {
            journal: self,
            pending: Vec::new(),
        };
        let out = f(&mut l);
        let flushed = l.flush();
        drop(lock);
        let out = out?;
        flushed?;
        self.sync()?;
        Ok(out)
    }

    /// Append one operation (taking the lock), then sync.
    pub fn append<O: Operation>(&mut self, op: O) -> Result<(), JournalError> {
        self.locked(|l| {
            l.push(op)?;
            Ok(())
        })
    }

    pub fn create_study(&mut self, name: &str, maximize: bool) -> Result<usize, JournalError> {
        let direction = if maximize { MAXIMIZE } else { MINIMIZE };
        self.append(ops::CreateStudy {
            study_name: name.to_string(),
            directions: vec![direction],
        })?;
        Ok(self.replay.study_by_name(name).map(|s| s.id).unwrap_or(0))
    }

    pub fn set_intermediate(
        &mut self,
        trial: usize,
        step: i64,
        value: f64,
    ) -> Result<(), JournalError> {
        self.append(ops::SetTrialIntermediateValue {
            trial_id: trial,
            step,
            intermediate_value: Some(value),
        })
    }
}

/// The journal while its lock is held: reads are current, appends wait
/// in `pending` until the closure returns.
pub struct Locked<'a> {
    journal: &'a mut Journal,
    /// Serialized lines, not yet written.
    pending: Vec<String>,
}

impl Locked<'_> {
    pub fn replay(&self) -> &Replay {
        &self.journal.replay
    }

    /// Queue one operation, written when the closure returns.
    pub fn push<O: Operation>(&mut self, op: O) -> Result<(), JournalError> {
        let line = ops::Line {
            op_code: O::CODE,
            worker_id: &self.journal.worker_id,
            op,
        };
        let text = serde_json::to_string(&line).map_err(|e| JournalError::Io {
            path: self.journal.path.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        self.pending.push(text);
        Ok(())
    }

    /// Create a trial now (written and replayed at once): its id.
    pub fn create_trial(&mut self, study: usize) -> Result<usize, JournalError> {
        self.push(ops::CreateTrial {
            study_id: study,
            datetime_start: Some(now_iso()),
            ..Default::default()
        })?;
        self.flush()?;
        self.journal.sync()?;
        Ok(self.journal.replay.last_created.unwrap_or(0))
    }

    pub fn set_param(
        &mut self,
        trial: usize,
        name: &str,
        internal: f64,
        d: &Distribution,
    ) -> Result<(), JournalError> {
        self.push(ops::SetTrialParam {
            trial_id: trial,
            param_name: name.to_string(),
            param_value_internal: internal,
            distribution: d.to_json(),
        })
    }

    pub fn set_state(
        &mut self,
        trial: usize,
        state: TrialState,
        values: Option<Vec<f64>>,
    ) -> Result<(), JournalError> {
        let now = || Some(now_iso());
        self.push(ops::SetTrialStateValues {
            trial_id: trial,
            state,
            values: values.map(|v| v.into_iter().map(Some).collect()),
            datetime_start: (state == TrialState::Running).then(now).flatten(),
            datetime_complete: state.is_finished().then(now).flatten(),
        })
    }

    pub fn set_system_attr(
        &mut self,
        trial: usize,
        key: &str,
        value: Value,
    ) -> Result<(), JournalError> {
        self.push(ops::SetTrialSystemAttr {
            trial_id: trial,
            system_attr: Map::from_iter([(key.to_string(), value)]),
        })
    }

    fn flush(&mut self) -> Result<(), JournalError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for line in self.pending.drain(..) {
            text.push_str(&line);
            text.push('\n');
        }
        let path = &self.journal.path;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| {
                let d = crate::disk::write_error(path, text.len() as u64, e);
                JournalError::Io {
                    path: path.display().to_string(),
                    source: std::io::Error::other(d.to_string()),
                }
            })
    }
}

/// JSON as Python writes it: `NaN` and `Infinity` are allowed there.
fn parse_line(line: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice(line) {
        Ok(v) => Ok(v),
        Err(e) => {
            let text = String::from_utf8_lossy(line);
            if text.contains("NaN") || text.contains("Infinity") {
                let fixed = text
                    .replace("-Infinity", "-1e999")
                    .replace("Infinity", "1e999")
                    .replace("NaN", "null");
                serde_json::from_str(&fixed).map_err(|e| e.to_string())
            } else {
                Err(e.to_string())
            }
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> JournalError {
    JournalError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_study_replays() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s.journal");
        let mut j = Journal::open(&path).unwrap();
        let study = j.create_study("s", true).unwrap();
        let trial = j.locked(|l| l.create_trial(study)).unwrap();
        let dist = Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        };
        j.locked(|l| {
            l.set_param(trial, "x", 0.25, &dist)?;
            Ok(())
        })
        .unwrap();
        j.set_intermediate(trial, 10, 0.5).unwrap();
        j.locked(|l| {
            l.set_state(trial, TrialState::Complete, Some(vec![0.75]))?;
            Ok(())
        })
        .unwrap();
        // A finished trial does not change any more.
        j.set_intermediate(trial, 20, 0.9).unwrap();
        let other = Journal::open(&path).unwrap();
        let t = &other.replay.trials_of(study)[0];
        assert_eq!(t.state, TrialState::Complete);
        assert_eq!(t.value(), Some(0.75));
        assert_eq!(t.param("x").unwrap().internal, 0.25);
        assert_eq!(t.intermediate.len(), 1);
        assert!(other.replay.studies[&study].maximize());
        assert!(!path.with_extension("journal.lock").exists());
    }

    #[test]
    fn a_line_is_written_as_optuna_writes_it() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s.journal");
        let mut j = Journal::open(&path).unwrap();
        let study = j.create_study("s", false).unwrap();
        let trial = j.locked(|l| l.create_trial(study)).unwrap();
        j.set_intermediate(trial, 3, f64::NAN).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let worker = lines[0]["worker_id"].as_str().unwrap();
        assert_eq!(
            lines[0],
            serde_json::json!({"op_code": 0, "worker_id": worker,
                               "study_name": "s", "directions": [MINIMIZE]})
        );
        assert_eq!(lines[1]["op_code"], 4);
        assert!(iso_seconds(lines[1]["datetime_start"].as_str().unwrap()).is_some());
        // NaN goes out as null (Optuna reads it back as a missing value).
        assert_eq!(lines[2]["intermediate_value"], Value::Null);
        assert!(j.replay.trials[trial].intermediate[&3].is_nan());
        // A uuid4 and this process's id, as Optuna's workers name themselves.
        let (uuid, pid) = worker.rsplit_once('-').unwrap();
        assert_eq!(uuid::Uuid::parse_str(uuid).unwrap().get_version_num(), 4);
        assert_eq!(pid, std::process::id().to_string());
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_refused_with_its_line() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("x.journal");
        std::fs::write(
            &path,
            "{\"op_code\":0,\"worker_id\":\"w\",\"study_name\":\"a\",\"directions\":[2]}\nhello\n",
        )
        .unwrap();
        let e = Journal::open(&path).err().unwrap().to_string();
        assert!(e.contains("x.journal:2: not an Optuna journal"), "{e}");
    }

    #[test]
    fn iso_datetimes_read_back() {
        let t = iso_seconds("1970-01-02T00:00:01.500000+00:00").unwrap();
        assert!((t - 86_401.5).abs() < 1e-9);
        assert!(iso_seconds(&now_iso()).is_some());
        let local = iso_seconds("1970-01-01T09:00:00+09:00").unwrap();
        assert!(local.abs() < 1e-9);
        // Python's naive isoformat, with and without microseconds.
        assert_eq!(iso_seconds("1970-01-01T00:01:00"), Some(60.0));
        assert_eq!(iso_seconds("1970-01-01T00:01:00.250000"), Some(60.25));
        assert_eq!(iso_seconds("yesterday"), None);
    }
}
