//! A study in Optuna's journal format (`JournalStorage` over
//! `JournalFileBackend`): one JSON object per line, each an operation with
//! its op code, replayed in order to get the studies and trials. Writers
//! take the backend's lock (a symlink `FILE.lock`, removed by renaming it
//! away; forced open after 30 s without the journal changing), append and
//! fsync — so Optuna's own workers and ours share one file.

use super::distribution::Distribution;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CREATE_STUDY: i64 = 0;
const DELETE_STUDY: i64 = 1;
const SET_STUDY_USER_ATTR: i64 = 2;
const SET_STUDY_SYSTEM_ATTR: i64 = 3;
const CREATE_TRIAL: i64 = 4;
const SET_TRIAL_PARAM: i64 = 5;
const SET_TRIAL_STATE_VALUES: i64 = 6;
const SET_TRIAL_INTERMEDIATE_VALUE: i64 = 7;
const SET_TRIAL_USER_ATTR: i64 = 8;
const SET_TRIAL_SYSTEM_ATTR: i64 = 9;
const DISCARD_TRIALS: i64 = 10;

/// Optuna's `TrialState` numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialState {
    Running = 0,
    Complete = 1,
    Pruned = 2,
    Fail = 3,
    Waiting = 4,
}

impl TrialState {
    fn from_i64(v: i64) -> Option<TrialState> {
        Some(match v {
            0 => TrialState::Running,
            1 => TrialState::Complete,
            2 => TrialState::Pruned,
            3 => TrialState::Fail,
            4 => TrialState::Waiting,
            _ => return None,
        })
    }

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

    fn updatable(&mut self, id: Option<u64>) -> Option<&mut Trial> {
        let t = self.trials.get_mut(id? as usize)?;
        (!t.state.is_finished()).then_some(t)
    }

    /// Apply one operation. `own` says whether this worker wrote it.
    fn apply(&mut self, log: &Value, own: bool) -> Result<(), String> {
        let op = log
            .get("op_code")
            .and_then(Value::as_i64)
            .ok_or("no op_code")?;
        let study_id = log.get("study_id").and_then(Value::as_u64);
        let trial_id = log.get("trial_id").and_then(Value::as_u64);
        let attr = |key: &str| -> Result<(String, Value), String> {
            let m = log
                .get(key)
                .and_then(Value::as_object)
                .ok_or(format!("no {key}"))?;
            m.iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .ok_or(format!("empty {key}"))
        };
        match op {
            CREATE_STUDY => {
                let name = log
                    .get("study_name")
                    .and_then(Value::as_str)
                    .ok_or("no study_name")?;
                let directions = log
                    .get("directions")
                    .and_then(Value::as_array)
                    .ok_or("no directions")?
                    .iter()
                    .map(|d| d.as_i64().unwrap_or(0))
                    .collect();
                if self.study_by_name(name).is_none() {
                    let id = self.next_study_id;
                    self.next_study_id += 1;
                    self.studies.insert(
                        id,
                        Study {
                            id,
                            name: name.to_string(),
                            directions,
                            user_attrs: Map::new(),
                            system_attrs: Map::new(),
                            trial_ids: Vec::new(),
                        },
                    );
                }
            }
            DELETE_STUDY => {
                if let Some(id) = study_id {
                    self.studies.remove(&(id as usize));
                }
            }
            SET_STUDY_USER_ATTR | SET_STUDY_SYSTEM_ATTR => {
                let which = if op == SET_STUDY_USER_ATTR {
                    "user_attr"
                } else {
                    "system_attr"
                };
                let (k, v) = attr(which)?;
                if let Some(s) = study_id.and_then(|id| self.studies.get_mut(&(id as usize))) {
                    if op == SET_STUDY_USER_ATTR {
                        s.user_attrs.insert(k, v);
                    } else {
                        s.system_attrs.insert(k, v);
                    }
                }
            }
            CREATE_TRIAL => {
                let Some(study) = study_id.and_then(|id| self.studies.get_mut(&(id as usize)))
                else {
                    return Ok(());
                };
                let id = self.trials.len();
                let mut distributions = BTreeMap::new();
                if let Some(d) = log.get("distributions").and_then(Value::as_object) {
                    for (k, v) in d {
                        let text = v.as_str().ok_or("distribution is not a string")?;
                        distributions.insert(k.clone(), Distribution::from_json(text)?);
                    }
                }
                let mut params = Vec::new();
                if let Some(p) = log.get("params").and_then(Value::as_object) {
                    for (k, v) in p {
                        params.push(Param {
                            name: k.clone(),
                            internal: v.as_f64().ok_or("param is not a number")?,
                            distribution: distributions
                                .get(k)
                                .cloned()
                                .ok_or(format!("no distribution for {k}"))?,
                        });
                    }
                }
                let values = match log.get("values") {
                    Some(Value::Array(a)) => Some(a.iter().filter_map(Value::as_f64).collect()),
                    _ => log.get("value").and_then(Value::as_f64).map(|v| vec![v]),
                };
                let state = log
                    .get("state")
                    .and_then(Value::as_i64)
                    .map(|s| TrialState::from_i64(s).ok_or("unknown trial state"))
                    .transpose()?
                    .unwrap_or(TrialState::Running);
                let text = |k: &str| log.get(k).and_then(Value::as_str).map(str::to_string);
                let intermediate = log
                    .get("intermediate_values")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| {
                                Some((k.parse().ok()?, v.as_f64().unwrap_or(f64::NAN)))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let obj = |k: &str| {
                    log.get(k)
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default()
                };
                self.trials.push(Trial {
                    id,
                    number: study.trial_ids.len(),
                    state,
                    params,
                    values,
                    intermediate,
                    user_attrs: obj("user_attrs"),
                    system_attrs: obj("system_attrs"),
                    datetime_start: text("datetime_start"),
                    datetime_complete: text("datetime_complete"),
                });
                study.trial_ids.push(id);
                if own {
                    self.last_created = Some(id);
                }
            }
            SET_TRIAL_PARAM => {
                let name = log
                    .get("param_name")
                    .and_then(Value::as_str)
                    .ok_or("no param_name")?;
                let internal = log
                    .get("param_value_internal")
                    .and_then(Value::as_f64)
                    .ok_or("no param_value_internal")?;
                let text = log
                    .get("distribution")
                    .and_then(Value::as_str)
                    .ok_or("no distribution")?;
                let distribution = Distribution::from_json(text)?;
                if let Some(t) = self.updatable(trial_id) {
                    t.params.retain(|p| p.name != name);
                    t.params.push(Param {
                        name: name.to_string(),
                        internal,
                        distribution,
                    });
                }
            }
            SET_TRIAL_STATE_VALUES => {
                let state = log
                    .get("state")
                    .and_then(Value::as_i64)
                    .and_then(TrialState::from_i64)
                    .ok_or("no state")?;
                let values = log.get("values").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .map(|v| v.as_f64().unwrap_or(f64::NAN))
                        .collect::<Vec<_>>()
                });
                let start = log.get("datetime_start").and_then(Value::as_str);
                let complete = log.get("datetime_complete").and_then(Value::as_str);
                if let Some(t) = self.updatable(trial_id) {
                    if state == TrialState::Running && t.state == TrialState::Running {
                        return Ok(());
                    }
                    if state == TrialState::Running {
                        t.datetime_start = start.map(str::to_string);
                    }
                    if state.is_finished() {
                        t.datetime_complete = complete.map(str::to_string);
                    }
                    t.state = state;
                    if values.is_some() {
                        t.values = values;
                    }
                }
            }
            SET_TRIAL_INTERMEDIATE_VALUE => {
                let step = log.get("step").and_then(Value::as_i64).ok_or("no step")?;
                let v = log
                    .get("intermediate_value")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN);
                if let Some(t) = self.updatable(trial_id) {
                    t.intermediate.insert(step, v);
                }
            }
            SET_TRIAL_USER_ATTR | SET_TRIAL_SYSTEM_ATTR => {
                let which = if op == SET_TRIAL_USER_ATTR {
                    "user_attr"
                } else {
                    "system_attr"
                };
                let (k, v) = attr(which)?;
                if let Some(t) = self.updatable(trial_id) {
                    if op == SET_TRIAL_USER_ATTR {
                        t.user_attrs.insert(k, v);
                    } else {
                        t.system_attrs.insert(k, v);
                    }
                }
            }
            DISCARD_TRIALS => {}
            other => return Err(format!("unknown op_code {other}")),
        }
        Ok(())
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (y, mo, d, h, mi, s) = crate::run_dir::utc_fields(now.as_secs());
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}+00:00",
        now.subsec_micros()
    )
}

/// Seconds since the epoch of an ISO datetime as Optuna writes it (UTC
/// offset or naive UTC); None when it does not parse.
pub fn iso_seconds(text: &str) -> Option<f64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (clock, offset) = match time.find(['+', '-', 'Z']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, ""),
    };
    let mut c = clock.split(':');
    let (h, mi) = (
        c.next()?.parse::<f64>().ok()?,
        c.next()?.parse::<f64>().ok()?,
    );
    let s = c.next().unwrap_or("0").parse::<f64>().ok()?;
    let off = match offset.as_bytes().first() {
        Some(b'+') | Some(b'-') => {
            let sign = if offset.starts_with('-') { -1.0 } else { 1.0 };
            let mut p = offset[1..].split(':');
            let oh: f64 = p.next()?.parse().ok()?;
            let om: f64 = p.next().unwrap_or("0").parse().ok()?;
            sign * (oh * 3600.0 + om * 60.0)
        }
        _ => 0.0,
    };
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + mi * 60.0 + s - off)
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
            worker_id: format!("{}-{}", uuid4(), std::process::id()),
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
            self.replay.apply(&value, own).map_err(fail)?;
            start += n + 1;
        }
        self.offset += start as u64;
        Ok(())
    }

    fn log(&self, op: i64, fields: Value) -> Value {
        let mut m = Map::new();
        m.insert("op_code".into(), json!(op));
        m.insert("worker_id".into(), json!(self.worker_id));
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        Value::Object(m)
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

    /// Append operations (taking the lock), then sync.
    pub fn append(&mut self, logs: Vec<(i64, Value)>) -> Result<(), JournalError> {
        self.locked(|l| {
            for (op, fields) in logs {
                l.push(op, fields);
            }
            Ok(())
        })
    }

    pub fn create_study(&mut self, name: &str, maximize: bool) -> Result<usize, JournalError> {
        let dir = if maximize { MAXIMIZE } else { MINIMIZE };
        self.append(vec![(
            CREATE_STUDY,
            json!({"study_name": name, "directions": [dir]}),
        )])?;
        Ok(self.replay.study_by_name(name).map(|s| s.id).unwrap_or(0))
    }

    pub fn set_intermediate(
        &mut self,
        trial: usize,
        step: i64,
        value: f64,
    ) -> Result<(), JournalError> {
        self.append(vec![(
            SET_TRIAL_INTERMEDIATE_VALUE,
            json!({"trial_id": trial, "step": step, "intermediate_value": value}),
        )])
    }
}

/// The journal while its lock is held: reads are current, appends wait
/// in `pending` until the closure returns.
pub struct Locked<'a> {
    journal: &'a mut Journal,
    pending: Vec<Value>,
}

impl Locked<'_> {
    pub fn replay(&self) -> &Replay {
        &self.journal.replay
    }

    pub fn push(&mut self, op: i64, fields: Value) {
        let log = self.journal.log(op, fields);
        self.pending.push(log);
    }

    /// Create a trial now (written and replayed at once): its id.
    pub fn create_trial(&mut self, study: usize) -> Result<usize, JournalError> {
        self.push(
            CREATE_TRIAL,
            json!({"study_id": study, "datetime_start": now_iso()}),
        );
        self.flush()?;
        self.journal.sync()?;
        Ok(self.journal.replay.last_created.unwrap_or(0))
    }

    pub fn set_param(&mut self, trial: usize, name: &str, internal: f64, d: &Distribution) {
        self.push(
            SET_TRIAL_PARAM,
            json!({"trial_id": trial, "param_name": name,
                   "param_value_internal": internal, "distribution": d.to_json()}),
        );
    }

    pub fn set_state(&mut self, trial: usize, state: TrialState, values: Option<Vec<f64>>) {
        let mut log = json!({"trial_id": trial, "state": state as i64, "values": values});
        if state == TrialState::Running {
            log["datetime_start"] = json!(now_iso());
        } else if state.is_finished() {
            log["datetime_complete"] = json!(now_iso());
        }
        self.push(SET_TRIAL_STATE_VALUES, log);
    }

    pub fn set_system_attr(&mut self, trial: usize, key: &str, value: Value) {
        self.push(
            SET_TRIAL_SYSTEM_ATTR,
            json!({"trial_id": trial, "system_attr": {key: value}}),
        );
    }

    fn flush(&mut self) -> Result<(), JournalError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for log in self.pending.drain(..) {
            text.push_str(&log.to_string());
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

fn uuid4() -> String {
    let mut b = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `JournalFileSymlinkLock`: the lock is a symlink `FILE.lock` to the
/// journal; it is let go by renaming it to a unique name and removing
/// that. A lock whose journal has not changed for 30 s is taken as left
/// by a dead worker and forced open, as Optuna does.
struct FileLock {
    lock: PathBuf,
}

const GRACE: Duration = Duration::from_secs(30);

impl FileLock {
    fn acquire(target: &Path) -> Result<FileLock, JournalError> {
        let lock = PathBuf::from(format!("{}.lock", target.display()));
        let mut sleep = Duration::from_millis(1);
        let mut mtime = None;
        let mut since = Instant::now();
        loop {
            match std::os::unix::fs::symlink(target, &lock) {
                Ok(()) => return Ok(FileLock { lock }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let current = std::fs::metadata(&lock).and_then(|m| m.modified()).ok();
                    if current != mtime {
                        mtime = current;
                        since = Instant::now();
                    }
                    if since.elapsed() > GRACE {
                        tracing::warn!("forcing open {} (held over 30 s)", lock.display());
                        release(&lock);
                        since = Instant::now();
                        sleep = Duration::from_millis(1);
                        continue;
                    }
                    std::thread::sleep(sleep);
                    sleep = (sleep * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(io(&lock, e)),
            }
        }
    }
}

fn release(lock: &Path) {
    let away = PathBuf::from(format!("{}{}.rename", lock.display(), uuid4()));
    if std::fs::rename(lock, &away).is_ok() {
        let _ = std::fs::remove_file(&away);
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        release(&self.lock);
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
            l.set_param(trial, "x", 0.25, &dist);
            Ok(())
        })
        .unwrap();
        j.set_intermediate(trial, 10, 0.5).unwrap();
        j.locked(|l| {
            l.set_state(trial, TrialState::Complete, Some(vec![0.75]));
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
    }
}
