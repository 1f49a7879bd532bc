//! What a row's label means — one class, a set of labels, or a number —
//! found from the data when the config does not say, and the training
//! targets each kind of label becomes.

use super::{DataError, Dataset, Labels, Row};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The task a corpus poses; transformers' `problem_type` names each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// One label a row: softmax and cross-entropy.
    #[default]
    SingleLabel,
    /// Any number of labels a row: a sigmoid per label and BCE.
    MultiLabel,
    /// A number a row: one output and mean squared error.
    Regression,
    /// A tag a word (entities): a softmax over the tags at every token,
    /// cross-entropy on each word's first piece.
    TokenClassification,
}

impl Task {
    pub const ALL: [Task; 4] = [
        Task::SingleLabel,
        Task::MultiLabel,
        Task::Regression,
        Task::TokenClassification,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Task::SingleLabel => "single_label",
            Task::MultiLabel => "multi_label",
            Task::Regression => "regression",
            Task::TokenClassification => "token_classification",
        }
    }

    /// transformers' `config.problem_type` (a token classifier has none:
    /// its architecture says it, and transformers refuses other values).
    pub fn problem_type(self) -> Option<&'static str> {
        match self {
            Task::SingleLabel => Some("single_label_classification"),
            Task::MultiLabel => Some("multi_label_classification"),
            Task::Regression => Some("regression"),
            Task::TokenClassification => None,
        }
    }

    /// The task of a transformers config: its `problem_type`, or, as
    /// transformers decides when it is unset, regression for one label.
    pub fn from_config(problem_type: Option<&str>, num_labels: usize) -> Option<Task> {
        match problem_type {
            Some("single_label_classification") => Some(Task::SingleLabel),
            Some("multi_label_classification") => Some(Task::MultiLabel),
            Some("regression") => Some(Task::Regression),
            Some(_) => None,
            None if num_labels == 1 => Some(Task::Regression),
            None => Some(Task::SingleLabel),
        }
    }
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Task::ALL
            .into_iter()
            .find(|t| t.name() == s.trim())
            .ok_or_else(|| {
                format!("unknown task '{s}' (single_label, multi_label, regression or token_classification)")
            })
    }
}

/// How a multi-label row's labels are kept in `Row::label`: joined by this.
pub const SET_SEP: char = '|';

/// The label name of a regression model's one output.
pub const SCORE_LABEL: &str = "score";

/// The labels of a multi-label row's `label` (none for an empty set).
pub fn label_set(label: &str) -> impl Iterator<Item = &str> {
    label
        .split(SET_SEP)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Separators tried, in order, when a multi-label file does not name one.
const SEPARATORS: [char; 3] = ['|', ',', ';'];

/// The task of a corpus and why it was chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct Detected {
    pub task: Task,
    pub reason: String,
    /// The separator of multi-label strings (`billing|refund`, `2,17`).
    pub sep: Option<char>,
}

/// The task of `ds` — `declared`, checked against the data, or found from
/// it — with the reason; `sep` is the multi-label separator if given.
pub fn detect(
    ds: &Dataset,
    declared: Option<Task>,
    sep: Option<char>,
) -> Result<Detected, DataError> {
    let labels = || {
        ds.rows
            .iter()
            .filter_map(|r| r.label.as_deref().map(|l| (r, l)))
    };
    let mismatch = |line: u64, message: String| DataError::TaskMismatch {
        path: ds.path.clone(),
        line,
        message,
    };
    if ds.tagging.is_some() {
        return match declared {
            None | Some(Task::TokenClassification) => Ok(Detected {
                task: Task::TokenClassification,
                reason: "the file tags words (CoNLL columns or entity spans)".into(),
                sep: None,
            }),
            Some(t) => Err(mismatch(
                ds.rows.first().map_or(0, |r| r.line),
                format!("the file tags words (entities), but task = \"{}\" labels whole texts (set task = \"token_classification\")", t.name()),
            )),
        };
    }
    if declared == Some(Task::TokenClassification) {
        return Err(mismatch(
            ds.rows.first().map_or(0, |r| r.line),
            "task = \"token_classification\" needs words with tags: a CoNLL file (word … tag a line) or span JSONL ({\"text\", \"entities\": [{\"start\", \"end\", \"label\"}]})".into(),
        ));
    }
    if ds.label_sets {
        return match declared {
            None | Some(Task::MultiLabel) => Ok(Detected {
                task: Task::MultiLabel,
                reason: "the labels are lists (a JSON array or one 0/1 column per label)".into(),
                sep: None,
            }),
            Some(t) => Err(mismatch(
                ds.rows.first().map_or(0, |r| r.line),
                format!("the labels are lists, but task = \"{}\" takes one label a row (set task = \"multi_label\")", t.name()),
            )),
        };
    }
    let found_sep = sep.or_else(|| {
        SEPARATORS
            .into_iter()
            .find(|&c| labels().any(|(_, l)| l.contains(c)))
    });
    let number = |l: &str| l.trim().parse::<f64>().ok();
    match declared {
        Some(Task::Regression) => {
            for (r, l) in labels() {
                match number(l) {
                    Some(x) if x.is_finite() => {}
                    Some(_) => return Err(mismatch(r.line, format!("the label '{l}' is not a finite number"))),
                    None => return Err(mismatch(r.line, format!("the label '{l}' is not a number; task = \"regression\" needs a number in every row"))),
                }
            }
            Ok(Detected {
                task: Task::Regression,
                reason: "task = \"regression\" in the config".into(),
                sep: None,
            })
        }
        Some(Task::MultiLabel) => Ok(Detected {
            task: Task::MultiLabel,
            reason: match found_sep {
                Some(c) => {
                    format!("task = \"multi_label\" in the config; labels separated by '{c}'")
                }
                None => {
                    "task = \"multi_label\" in the config (one label in every row so far)".into()
                }
            },
            sep: found_sep,
        }),
        Some(Task::TokenClassification) => unreachable!("answered above"),
        Some(Task::SingleLabel) => Ok(Detected {
            task: Task::SingleLabel,
            reason: "task = \"single_label\" in the config".into(),
            sep: None,
        }),
        None => {
            let all_numbers = labels().all(|(_, l)| number(l).is_some());
            let fractional = labels()
                .any(|(_, l)| number(l).is_some_and(|x| x.fract() != 0.0) || l.contains('.'));
            if all_numbers && fractional {
                if let Some((r, l)) = labels().find(|(_, l)| !number(l).is_some_and(f64::is_finite))
                {
                    return Err(mismatch(
                        r.line,
                        format!("the label '{l}' is not a finite number"),
                    ));
                }
                return Ok(Detected {
                    task: Task::Regression,
                    reason: "every label is a number and some have a fraction".into(),
                    sep: None,
                });
            }
            if let Some(c) = found_sep {
                let several = labels().filter(|(_, l)| l.contains(c)).count();
                return Ok(Detected {
                    task: Task::MultiLabel,
                    reason: format!("{several} rows hold several labels separated by '{c}'"),
                    sep: Some(c),
                });
            }
            Ok(Detected {
                task: Task::SingleLabel,
                reason: if all_numbers {
                    "one whole number a row: class ids (set task = \"regression\" to fit them as numbers)".into()
                } else {
                    "one label a row".into()
                },
                sep: None,
            })
        }
    }
}

/// Rewrite multi-label rows separated by `sep` into the `SET_SEP` form,
/// trimming each label and dropping repeats.
pub fn normalize_sets(rows: &mut [Row], sep: char) {
    for r in rows {
        if let Some(l) = &r.label {
            let mut names: Vec<&str> = l
                .split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let mut seen = std::collections::HashSet::new();
            names.retain(|n| seen.insert(*n));
            r.label = Some(names.join(&SET_SEP.to_string()));
        }
    }
}

/// Read `ds` as `task` (`conform`), then apply the declared label names
/// of `names_file`, if any: the one step training and `eval` share.
pub fn read_as(
    task: Task,
    ds: &mut Dataset,
    sep: Option<char>,
    names_file: Option<&Path>,
) -> Result<(), DataError> {
    conform(task, ds, sep)?;
    if let Some(file) = names_file {
        let names = read_label_names(file)?;
        let path = ds.path.clone();
        apply_label_names(task, &names, file, &mut ds.rows, &path)?;
    }
    Ok(())
}

/// Make the rows of a file that is scored by (or validates) a `task`
/// model read as that task: multi-label strings split at `sep` (given,
/// else found); lists refused by a one-label task.
pub fn conform(task: Task, ds: &mut Dataset, sep: Option<char>) -> Result<(), DataError> {
    let tagged = ds.tagging.is_some();
    if (task == Task::TokenClassification) != tagged {
        return Err(DataError::TaskMismatch {
            path: ds.path.clone(),
            line: ds.rows.first().map_or(0, |r| r.line),
            message: if tagged {
                format!(
                    "the file tags words (entities), but the model is {} (one answer a text)",
                    task.name()
                )
            } else {
                "the model tags words (token_classification): give it a CoNLL file (word … tag a line) or span JSONL".into()
            },
        });
    }
    match task {
        Task::MultiLabel if !ds.label_sets => {
            let sep = sep.or_else(|| {
                SEPARATORS.into_iter().find(|&c| {
                    ds.rows
                        .iter()
                        .any(|r| r.label.as_deref().is_some_and(|l| l.contains(c)))
                })
            });
            if let Some(c) = sep {
                normalize_sets(&mut ds.rows, c);
            }
            Ok(())
        }
        Task::SingleLabel | Task::Regression if ds.label_sets => Err(DataError::TaskMismatch {
            path: ds.path.clone(),
            line: ds.rows.first().map_or(0, |r| r.line),
            message: format!(
                "the labels are lists, but the model is {} (one {} a row)",
                task.name(),
                if task == Task::Regression {
                    "number"
                } else {
                    "label"
                }
            ),
        }),
        _ => Ok(()),
    }
}

/// What the model learns from: a class id, a multi-hot row, a number, or
/// a tag id a token.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    Classes(Vec<u32>),
    /// Multi-hot rows of 0/1, one column a label.
    Sets(Vec<Vec<f32>>),
    Scores(Vec<f32>),
    /// A tag id a word (as read) or a word piece (as the model sees it,
    /// `IGNORE` where no loss is taken: special tokens, later pieces).
    Tokens(Vec<Vec<i32>>),
}

/// The target of a piece that takes no loss (PyTorch's `ignore_index`).
pub const IGNORE: i32 = -100;

impl Targets {
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(v) => v.len(),
            Targets::Sets(v) => v.len(),
            Targets::Scores(v) => v.len(),
            Targets::Tokens(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets of the rows at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Targets {
        match self {
            Targets::Classes(v) => Targets::Classes(idx.iter().map(|&i| v[i]).collect()),
            Targets::Sets(v) => Targets::Sets(idx.iter().map(|&i| v[i].clone()).collect()),
            Targets::Scores(v) => Targets::Scores(idx.iter().map(|&i| v[i]).collect()),
            Targets::Tokens(v) => Targets::Tokens(idx.iter().map(|&i| v[i].clone()).collect()),
        }
    }

    /// The class ids (single-label targets), or none.
    pub fn classes(&self) -> Option<&[u32]> {
        match self {
            Targets::Classes(v) => Some(v),
            _ => None,
        }
    }
}

/// The label set of a corpus for `task`: a single-label or multi-label
/// corpus's names (numeric order when all are integers), or regression's
/// one output.
pub fn labels_for(task: Task, rows: &[Row]) -> Labels {
    match task {
        Task::SingleLabel => Labels::from_rows(rows),
        Task::Regression => Labels::new(vec![SCORE_LABEL.into()]),
        // run_ner's label list: every tag of the corpus, sorted.
        Task::TokenClassification => Labels::sorted(
            rows.iter()
                .filter_map(|r| r.label.as_deref())
                .flat_map(|l| l.split(' '))
                .map(str::to_string)
                .collect(),
        ),
        Task::MultiLabel => Labels::sorted(
            rows.iter()
                .filter_map(|r| r.label.as_deref())
                .flat_map(label_set)
                .map(str::to_string)
                .collect(),
        ),
    }
}

/// The targets of `rows` (read from `path`) under `labels`, failing with
/// file and line on a label the model does not know or a bad number.
pub fn targets_of(
    task: Task,
    labels: &Labels,
    rows: &[Row],
    path: &Path,
) -> Result<Targets, DataError> {
    let missing = |r: &Row| DataError::MissingLabel {
        path: path.to_path_buf(),
        line: r.line,
    };
    let unknown = |r: &Row, label: &str| DataError::UnknownLabel {
        path: path.to_path_buf(),
        line: r.line,
        label: label.to_string(),
        known: labels.names().join(", "),
    };
    match task {
        Task::SingleLabel => rows
            .iter()
            .map(|r| {
                let l = r.given_label().ok_or_else(|| missing(r))?;
                if l.contains(SET_SEP) && labels.id(l).is_none() {
                    return Err(DataError::TaskMismatch {
                        path: path.to_path_buf(),
                        line: r.line,
                        message: format!(
                            "'{l}' holds several labels, but this is a single-label model"
                        ),
                    });
                }
                labels.id(l).map(|i| i as u32).ok_or_else(|| unknown(r, l))
            })
            .collect::<Result<_, _>>()
            .map(Targets::Classes),
        Task::MultiLabel => rows
            .iter()
            .map(|r| {
                let l = r.label.as_deref().ok_or_else(|| missing(r))?;
                let mut hot = vec![0f32; labels.len()];
                for name in label_set(l) {
                    hot[labels.id(name).ok_or_else(|| unknown(r, name))?] = 1.0;
                }
                Ok(hot)
            })
            .collect::<Result<_, _>>()
            .map(Targets::Sets),
        Task::Regression => rows
            .iter()
            .map(|r| {
                let l = r.given_label().ok_or_else(|| missing(r))?;
                match l.trim().parse::<f32>() {
                    Ok(x) if x.is_finite() => Ok(x),
                    _ => Err(DataError::TaskMismatch {
                        path: path.to_path_buf(),
                        line: r.line,
                        message: format!(
                            "the label '{l}' is not a finite number (a regression model needs one)"
                        ),
                    }),
                }
            })
            .collect::<Result<_, _>>()
            .map(Targets::Scores),
        Task::TokenClassification => rows
            .iter()
            .map(|r| {
                let l = r.given_label().ok_or_else(|| missing(r))?;
                l.split(' ')
                    .map(|t| labels.id(t).map(|i| i as i32).ok_or_else(|| unknown(r, t)))
                    .collect::<Result<Vec<i32>, _>>()
            })
            .collect::<Result<_, _>>()
            .map(Targets::Tokens),
    }
}

/// Apply a declared label set (`label_names`: one name a line) to rows:
/// integer labels become the names at those indexes; any label outside
/// the set is an error naming file and line.
pub fn apply_label_names(
    task: Task,
    names: &Labels,
    names_file: &Path,
    rows: &mut [Row],
    path: &Path,
) -> Result<(), DataError> {
    if matches!(task, Task::Regression | Task::TokenClassification) {
        return Ok(());
    }
    let rename = |l: &str, line: u64| -> Result<String, DataError> {
        if names.names().iter().any(|n| n == l) {
            return Ok(l.to_string());
        }
        match l.parse::<usize>() {
            Ok(i) if i < names.len() => Ok(names.name(i).to_string()),
            _ => Err(DataError::UndeclaredLabel {
                path: path.to_path_buf(),
                line,
                label: l.to_string(),
                names: names_file.to_path_buf(),
            }),
        }
    };
    for r in rows {
        let Some(l) = r.label.clone() else { continue };
        r.label = Some(match task {
            Task::MultiLabel => label_set(&l)
                .map(|n| rename(n, r.line))
                .collect::<Result<Vec<_>, _>>()?
                .join(&SET_SEP.to_string()),
            _ => rename(&l, r.line)?,
        });
    }
    Ok(())
}

/// A `label_names` file: one label a line (blank lines skipped), or a
/// single line of comma-separated names.
pub fn read_label_names(path: &Path) -> Result<Labels, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let names: Vec<String> = match lines.as_slice() {
        [one] if one.contains(',') => one.split(',').map(|s| s.trim().to_string()).collect(),
        many => many.iter().map(|s| s.to_string()).collect(),
    };
    if names.is_empty() {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(Labels::new(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(labels: &[&str]) -> Dataset {
        Dataset {
            path: "d.csv".into(),
            rows: labels
                .iter()
                .enumerate()
                .map(|(i, l)| Row {
                    text: format!("t{i}"),
                    text_b: None,
                    label: Some(l.to_string()),
                    line: i as u64 + 2,
                    words: None,
                })
                .collect(),
            empty_dropped: 0,
            tagging: None,
            files: vec![],
            label_sets: false,
        }
    }

    #[test]
    fn detection_says_which_task_and_why() {
        let d = detect(&ds(&["pos", "neg"]), None, None).unwrap();
        assert_eq!(
            (d.task, d.reason.as_str()),
            (Task::SingleLabel, "one label a row")
        );
        let d = detect(&ds(&["27", "2,17", "4"]), None, None).unwrap();
        assert_eq!((d.task, d.sep), (Task::MultiLabel, Some(',')));
        assert_eq!(d.reason, "1 rows hold several labels separated by ','");
        let d = detect(&ds(&["billing|refund", "billing"]), None, None).unwrap();
        assert_eq!((d.task, d.sep), (Task::MultiLabel, Some('|')));
        let d = detect(&ds(&["3.800", "5.000", "0.5"]), None, None).unwrap();
        assert_eq!(d.task, Task::Regression);
        let d = detect(&ds(&["0", "1", "4"]), None, None).unwrap();
        assert_eq!(d.task, Task::SingleLabel);
        assert!(d.reason.contains("class ids"));
    }

    #[test]
    fn a_declared_task_is_checked_against_the_data() {
        let e = detect(&ds(&["1.5", "positive"]), Some(Task::Regression), None).unwrap_err();
        assert_eq!(e.to_string(), "d.csv:3: the label 'positive' is not a number; task = \"regression\" needs a number in every row");
        let e = detect(&ds(&["1.5", "NaN"]), Some(Task::Regression), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv:3: the label 'NaN' is not a finite number"
        );
        let mut lists = ds(&["a|b"]);
        lists.label_sets = true;
        let e = detect(&lists, Some(Task::Regression), None).unwrap_err();
        assert!(
            e.to_string().starts_with("d.csv:2: the labels are lists"),
            "{e}"
        );
        // A declared separator wins over the ones tried.
        let d = detect(&ds(&["a;b", "a"]), Some(Task::MultiLabel), Some(';')).unwrap();
        assert_eq!(d.sep, Some(';'));
    }

    #[test]
    fn targets_are_class_ids_multi_hot_rows_or_numbers() {
        let mut d = ds(&["2,0", "1", ""]);
        normalize_sets(&mut d.rows, ',');
        assert_eq!(d.rows[0].label.as_deref(), Some("2|0"));
        let labels = labels_for(Task::MultiLabel, &d.rows);
        assert_eq!(labels.names(), &["0", "1", "2"]);
        let t = targets_of(Task::MultiLabel, &labels, &d.rows, Path::new("d.csv")).unwrap();
        assert_eq!(
            t,
            Targets::Sets(vec![vec![1., 0., 1.], vec![0., 1., 0.], vec![0., 0., 0.]])
        );
        let r = ds(&["3.8", "x"]);
        let e = targets_of(
            Task::Regression,
            &Labels::new(vec!["score".into()]),
            &r.rows,
            Path::new("d.csv"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv:3: the label 'x' is not a finite number (a regression model needs one)"
        );
        let e = targets_of(
            Task::MultiLabel,
            &labels,
            &ds(&["7"]).rows,
            Path::new("d.csv"),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("d.csv:2: label '7' is unknown"),
            "{e}"
        );
    }

    #[test]
    fn declared_names_rename_ids_and_refuse_strangers() {
        let names = Labels::new(vec![
            "admiration".into(),
            "amusement".into(),
            "anger".into(),
        ]);
        let mut d = ds(&["2|0", "1"]);
        apply_label_names(
            Task::MultiLabel,
            &names,
            Path::new("e.txt"),
            &mut d.rows,
            Path::new("d.csv"),
        )
        .unwrap();
        assert_eq!(d.rows[0].label.as_deref(), Some("anger|admiration"));
        let mut d = ds(&["2|9"]);
        let e = apply_label_names(
            Task::MultiLabel,
            &names,
            Path::new("e.txt"),
            &mut d.rows,
            Path::new("d.csv"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.csv:2: label '9' is not in the declared label set (e.txt)"
        );
    }
}
