//! Optuna's journal operations, one typed struct each with the fields
//! Optuna writes (`optuna/storages/journal/_storage.py`) and one `apply`
//! that replays it. Fields Optuna may leave out are `Option`s or default;
//! fields we do not read are ignored, so newer writers still replay.

use super::{Param, Replay, Study, Trial, TrialState};
use crate::sweep::distribution::Distribution;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One journal operation: its op code and how it changes the replay.
pub trait Operation: Serialize + DeserializeOwned {
    const CODE: i64;

    /// `own`: this worker wrote the line.
    fn apply(self, replay: &mut Replay, own: bool) -> Result<(), String>;
}

/// A journal line as written: the op code and worker first, then the
/// operation's own fields.
#[derive(Serialize)]
pub struct Line<'a, O: Operation> {
    pub op_code: i64,
    pub worker_id: &'a str,
    #[serde(flatten)]
    pub op: O,
}

/// Replay one parsed line, dispatching on its op code.
pub fn apply_line(replay: &mut Replay, line: Value, own: bool) -> Result<(), String> {
    fn typed<O: Operation>(line: Value, replay: &mut Replay, own: bool) -> Result<(), String> {
        let op: O = serde_json::from_value(line).map_err(|e| e.to_string())?;
        op.apply(replay, own)
    }
    let code = line
        .get("op_code")
        .and_then(Value::as_i64)
        .ok_or("no op_code")?;
    match code {
        CreateStudy::CODE => typed::<CreateStudy>(line, replay, own),
        DeleteStudy::CODE => typed::<DeleteStudy>(line, replay, own),
        SetStudyUserAttr::CODE => typed::<SetStudyUserAttr>(line, replay, own),
        SetStudySystemAttr::CODE => typed::<SetStudySystemAttr>(line, replay, own),
        CreateTrial::CODE => typed::<CreateTrial>(line, replay, own),
        SetTrialParam::CODE => typed::<SetTrialParam>(line, replay, own),
        SetTrialStateValues::CODE => typed::<SetTrialStateValues>(line, replay, own),
        SetTrialIntermediateValue::CODE => typed::<SetTrialIntermediateValue>(line, replay, own),
        SetTrialUserAttr::CODE => typed::<SetTrialUserAttr>(line, replay, own),
        SetTrialSystemAttr::CODE => typed::<SetTrialSystemAttr>(line, replay, own),
        // DISCARD_TRIALS: nothing of ours reads discarded trials.
        10 => Ok(()),
        other => Err(format!("unknown op_code {other}")),
    }
}

/// Python writes NaN (read back as null by `parse_line`): a missing
/// number is NaN again.
fn or_nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

#[derive(Serialize, Deserialize)]
pub struct CreateStudy {
    pub study_name: String,
    pub directions: Vec<i64>,
}

impl Operation for CreateStudy {
    const CODE: i64 = 0;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        // Optuna refuses a second study of one name; the first one stands.
        if replay.study_by_name(&self.study_name).is_some() {
            return Ok(());
        }
        let id = replay.next_study_id;
        replay.next_study_id += 1;
        replay.studies.insert(
            id,
            Study {
                id,
                name: self.study_name,
                directions: self.directions,
                user_attrs: Map::new(),
                system_attrs: Map::new(),
                trial_ids: Vec::new(),
            },
        );
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct DeleteStudy {
    pub study_id: usize,
}

impl Operation for DeleteStudy {
    const CODE: i64 = 1;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        replay.studies.remove(&self.study_id);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct SetStudyUserAttr {
    pub study_id: usize,
    pub user_attr: Map<String, Value>,
}

impl Operation for SetStudyUserAttr {
    const CODE: i64 = 2;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        if let Some(s) = replay.studies.get_mut(&self.study_id) {
            s.user_attrs.extend(self.user_attr);
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct SetStudySystemAttr {
    pub study_id: usize,
    pub system_attr: Map<String, Value>,
}

impl Operation for SetStudySystemAttr {
    const CODE: i64 = 3;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        if let Some(s) = replay.studies.get_mut(&self.study_id) {
            s.system_attrs.extend(self.system_attr);
        }
        Ok(())
    }
}

/// A new trial; Optuna's `create_new_trial` with a template trial also
/// writes its state, parameters, values and attributes in this one line.
#[derive(Default, Serialize, Deserialize)]
pub struct CreateTrial {
    pub study_id: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datetime_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime_complete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<TrialState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Option<f64>>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distributions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intermediate_values: BTreeMap<String, Option<f64>>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub user_attrs: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub system_attrs: Map<String, Value>,
}

impl Operation for CreateTrial {
    const CODE: i64 = 4;

    fn apply(self, replay: &mut Replay, own: bool) -> Result<(), String> {
        let Some(study) = replay.studies.get_mut(&self.study_id) else {
            return Ok(());
        };
        let mut params = Vec::with_capacity(self.params.len());
        for (name, internal) in self.params {
            let text = self
                .distributions
                .get(&name)
                .ok_or(format!("no distribution for {name}"))?;
            params.push(Param {
                distribution: Distribution::from_json(text)?,
                name,
                internal,
            });
        }
        // A single-objective template writes `value` and `values: null`.
        let values = match self.values {
            Some(v) => Some(v.into_iter().map(or_nan).collect()),
            None => self.value.map(|v| vec![v]),
        };
        let intermediate = self
            .intermediate_values
            .into_iter()
            .filter_map(|(step, v)| Some((step.parse().ok()?, or_nan(v))))
            .collect();
        let id = replay.trials.len();
        replay.trials.push(Trial {
            id,
            number: study.trial_ids.len(),
            state: self.state.unwrap_or(TrialState::Running),
            params,
            values,
            intermediate,
            user_attrs: self.user_attrs,
            system_attrs: self.system_attrs,
            datetime_start: self.datetime_start,
            datetime_complete: self.datetime_complete,
        });
        study.trial_ids.push(id);
        if own {
            replay.last_created = Some(id);
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct SetTrialParam {
    pub trial_id: usize,
    pub param_name: String,
    pub param_value_internal: f64,
    /// `distribution_to_json`'s text.
    pub distribution: String,
}

impl Operation for SetTrialParam {
    const CODE: i64 = 5;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        let distribution = Distribution::from_json(&self.distribution)?;
        if let Some(t) = replay.updatable(self.trial_id) {
            t.params.retain(|p| p.name != self.param_name);
            t.params.push(Param {
                name: self.param_name,
                internal: self.param_value_internal,
                distribution,
            });
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct SetTrialStateValues {
    pub trial_id: usize,
    pub state: TrialState,
    pub values: Option<Vec<Option<f64>>>,
    /// Written when the state becomes running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime_start: Option<String>,
    /// Written when the state becomes finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime_complete: Option<String>,
}

impl Operation for SetTrialStateValues {
    const CODE: i64 = 6;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        let Some(t) = replay.updatable(self.trial_id) else {
            return Ok(());
        };
        // A second worker claiming a running trial changes nothing.
        if self.state == TrialState::Running && t.state == TrialState::Running {
            return Ok(());
        }
        if self.state == TrialState::Running {
            t.datetime_start = self.datetime_start;
        }
        if self.state.is_finished() {
            t.datetime_complete = self.datetime_complete;
        }
        t.state = self.state;
        if let Some(v) = self.values {
            t.values = Some(v.into_iter().map(or_nan).collect());
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct SetTrialIntermediateValue {
    pub trial_id: usize,
    pub step: i64,
    pub intermediate_value: Option<f64>,
}

impl Operation for SetTrialIntermediateValue {
    const CODE: i64 = 7;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        if let Some(t) = replay.updatable(self.trial_id) {
            t.intermediate
                .insert(self.step, or_nan(self.intermediate_value));
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct SetTrialUserAttr {
    pub trial_id: usize,
    pub user_attr: Map<String, Value>,
}

impl Operation for SetTrialUserAttr {
    const CODE: i64 = 8;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        if let Some(t) = replay.updatable(self.trial_id) {
            t.user_attrs.extend(self.user_attr);
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
pub struct SetTrialSystemAttr {
    pub trial_id: usize,
    pub system_attr: Map<String, Value>,
}

impl Operation for SetTrialSystemAttr {
    const CODE: i64 = 9;

    fn apply(self, replay: &mut Replay, _own: bool) -> Result<(), String> {
        if let Some(t) = replay.updatable(self.trial_id) {
            t.system_attrs.extend(self.system_attr);
        }
        Ok(())
    }
}
