//! The form's rows: a header per group (folded or not, with how many of
//! its keys are hidden and why), then the keys that apply under the
//! current values (`RunConfig::inapplicable`), in the config's own order.

use crate::config::{Group, RunConfig, KEY_DOCS};
use crate::data::Task;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    Header(Group),
    Key(&'static str),
}

/// What a group's header says about it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupState {
    pub shown: usize,
    pub hidden: usize,
    /// The distinct reasons its hidden keys do not apply.
    pub why: Vec<String>,
}

impl GroupState {
    /// `4 hidden: peft = none`, or nothing.
    pub fn hidden_note(&self) -> Option<String> {
        (self.hidden > 0).then(|| format!("{} hidden: {}", self.hidden, self.why.join(", ")))
    }
}

/// Every group's state under `cfg` (and the data's task when the config
/// leaves it to the data).
pub fn group_states(cfg: &RunConfig, task: Option<Task>) -> Vec<(Group, GroupState)> {
    Group::ALL
        .iter()
        .map(|&g| {
            let mut state = GroupState::default();
            for d in KEY_DOCS.iter().filter(|d| d.group == g) {
                match cfg.inapplicable(d.key, task) {
                    None => state.shown += 1,
                    Some(why) => {
                        state.hidden += 1;
                        if !state.why.contains(&why) {
                            state.why.push(why);
                        }
                    }
                }
            }
            (g, state)
        })
        .collect()
}

/// The rows on screen: headers always, keys of unfolded groups that apply,
/// and any key with an error (hidden, it could not be fixed).
pub fn visible_rows(
    cfg: &RunConfig,
    task: Option<Task>,
    folded: &BTreeSet<Group>,
    errors: &BTreeSet<&str>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for g in Group::ALL {
        rows.push(Row::Header(g));
        if folded.contains(&g) {
            continue;
        }
        rows.extend(
            KEY_DOCS
                .iter()
                .filter(|d| {
                    d.group == g
                        && (errors.contains(d.key) || cfg.inapplicable(d.key, task).is_none())
                })
                .map(|d| Row::Key(d.key)),
        );
    }
    rows
}

/// The key's group.
pub fn group_of(key: &str) -> Option<Group> {
    KEY_DOCS.iter().find(|d| d.key == key).map(|d| d.group)
}

/// The help line of a key: what it does, then its default.
pub fn help_line(key: &str) -> String {
    let Some(doc) = KEY_DOCS.iter().find(|d| d.key == key) else {
        return String::new();
    };
    let default = RunConfig::default().value_text(key);
    let default = if default.is_empty() {
        "unset".to_string()
    } else {
        default
    };
    format!("{} Default: {default}.", doc.help())
}

/// Keys whose name holds `query` (case-insensitive), in declaration order.
pub fn matching_keys(query: &str) -> Vec<&'static str> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    KEY_DOCS
        .iter()
        .map(|d| d.key)
        .filter(|k| k.contains(&q))
        .collect()
}
