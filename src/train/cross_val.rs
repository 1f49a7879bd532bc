//! Out-of-sample probabilities for every row of a training file by K-fold
//! cross-validation: K runs, each trained on K−1 stratified folds and
//! evaluated on the one it did not see. Confident learning needs these
//! (a model's probabilities on its own training rows are over-confident).

use super::prepare::{file_info, load_training_file, prepare_corpus, Corpus};
use crate::config::{ConfigError, RunConfig};
use crate::data::split::stratified_folds;
use crate::data::Labels;
use crate::error::{Error, Result};
use crate::explain::label_issues::{HeldOut, HeldOutRow};
use crate::predict::{label_sets_csv, probabilities_csv, LabelSetRow, ScoredRow};
use crate::protocol::{Command, Event};
use std::path::Path;

/// What the caller hears during cross-validation.
pub enum FoldProgress<'a> {
    /// Fold `fold` (0-based) of `folds` starts: its held-out size.
    Start {
        fold: usize,
        folds: usize,
        held_out: usize,
    },
    /// An event of the fold's run.
    Event { fold: usize, event: &'a Event },
}

/// Optimizer steps a scratch model needs to learn a small corpus (the
/// bundled reviews: 3 epochs of 576 rows, 54 steps, stay at 64% held-out
/// accuracy; 144 steps reach 93%).
pub const SCRATCH_MIN_STEPS: usize = 150;

/// Epochs for fold runs of a scratch model when the user set none: enough
/// for `SCRATCH_MIN_STEPS` steps on K−1 folds, between 3 and 10.
pub fn quick_epochs(rows: usize, folds: usize, batch_size: usize) -> usize {
    let train_rows = rows - rows / folds.max(1);
    let steps_per_epoch = train_rows.div_ceil(batch_size.max(1)).max(1);
    SCRATCH_MIN_STEPS.div_ceil(steps_per_epoch).clamp(3, 10)
}

fn bad(reason: String) -> Error {
    Error::Config(ConfigError::field("folds", reason))
}

/// Whether `folds` can split `rows` rows.
pub fn check_folds(folds: usize, rows: usize) -> Result<()> {
    if folds < 2 {
        return Err(bad(format!(
            "{folds}: cross-validation needs at least 2 folds (each row is predicted by a model that did not train on it)"
        )));
    }
    if rows < folds {
        return Err(bad(format!(
            "{folds} folds for {rows} rows: at most one fold per row"
        )));
    }
    Ok(())
}

/// Train `folds` runs under `work` (`fold-1` … `fold-K`, model files
/// removed once predicted) and return every row's held-out probabilities,
/// also written to `work/predictions.csv`. `progress` returns false to stop.
pub fn cross_validate(
    cfg: &RunConfig,
    folds: usize,
    work: &Path,
    mut progress: impl FnMut(FoldProgress) -> bool,
) -> Result<HeldOut> {
    if folds < 2 {
        return Err(bad(format!(
            "{folds}: cross-validation needs at least 2 folds (each row is predicted by a model that did not train on it)"
        )));
    }
    cfg.validate()?;
    let (data, corrections) = load_training_file(cfg)?;
    let task = crate::data::task::detect(&data, cfg.task, cfg.label_separator())?;
    if task.task == crate::data::Task::TokenClassification {
        return Err(Error::Config(ConfigError::field(
            "task",
            "cross-validation and label issues judge one label a row; this corpus tags words (token_classification), and label issues for tokens are not part of tunebench: evaluate with `tunebench eval --predictions FILE` and read the sentences whose tags differ",
        )));
    }
    if task.task == crate::data::Task::Regression {
        return Err(Error::Config(ConfigError::field(
            "task",
            format!(
                "cross-validation and label issues judge labels; this corpus is regression ({}): a number has no wrong label to find, read the rows farthest from gold in `tunebench eval --predictions FILE`",
                task.reason
            ),
        )));
    }
    let multi_label = task.task == crate::data::Task::MultiLabel;
    let mut data = data;
    crate::data::task::read_as(
        task.task,
        &mut data,
        cfg.label_separator(),
        cfg.label_names.as_deref(),
    )?;

    if data.rows.len() < folds {
        return Err(bad(format!(
            "{folds} folds for {} rows: at most one fold per row",
            data.rows.len()
        )));
    }
    let labels: Labels = crate::data::task::labels_for(task.task, &data.rows);
    let info = file_info(&data)?;
    let fold_of = stratified_folds(&data.rows, folds, cfg.seed);
    std::fs::create_dir_all(work).map_err(|e| Error::io(work.display().to_string(), e))?;
    let fold_cfg = RunConfig {
        val_file: cfg.train_file.clone(),
        ..cfg.clone()
    };
    let mut all: Vec<HeldOutRow> = Vec::with_capacity(data.rows.len());
    let mut names = Vec::new();
    for fold in 0..folds {
        let (mut train, mut val) = (Vec::new(), Vec::new());
        for (row, &f) in data.rows.iter().zip(&fold_of) {
            if f == fold {
                val.push(row.clone());
            } else {
                train.push(row.clone());
            }
        }
        if !progress(FoldProgress::Start {
            fold,
            folds,
            held_out: val.len(),
        }) {
            return Err(Error::Run("cross-validation stopped".into()));
        }
        let held_out = val.len();
        let corpus = Corpus {
            train,
            val,
            train_info: info.clone(),
            val_info: Some(info.clone()),
            empty_dropped: data.empty_dropped,
            corrections: corrections.clone(),
            task: task.clone(),
        };
        let dir = work.join(format!("fold-{}", fold + 1));
        let trainer = prepare_corpus(fold_cfg.clone(), corpus, Some(labels.clone()), &dir)?;
        let handle = super::spawn(trainer);
        let mut failure = None;
        let mut stopped = false;
        for event in handle.events.iter() {
            if let Event::Failed { error, .. } = &event {
                failure = Some(error.clone());
            }
            if !progress(FoldProgress::Event {
                fold,
                event: &event,
            }) && !stopped
            {
                stopped = true;
                let _ = handle.commands.send(Command::Stop { save: false });
            }
        }
        let _ = handle.thread.join();
        if let Some(error) = failure {
            return Err(Error::Run(format!("fold {}: {error}", fold + 1)));
        }
        if stopped {
            return Err(Error::Run("cross-validation stopped".into()));
        }
        let predicted = HeldOut::read(&dir.join("predictions.csv"))?;
        if predicted.rows.len() != held_out {
            return Err(Error::Run(format!(
                "fold {}: {} predictions for {held_out} held-out rows",
                fold + 1,
                predicted.rows.len()
            )));
        }
        // Only the held-out predictions are needed: free the disk.
        for sub in ["checkpoints", "best"] {
            let _ = std::fs::remove_dir_all(dir.join(sub));
        }
        names = predicted.labels;
        all.extend(predicted.rows);
    }
    all.sort_by_key(|r| r.line);
    let out = HeldOut {
        labels: names,
        rows: all,
        multi_label,
    };
    crate::disk::write_atomic(&work.join("predictions.csv"), &held_out_csv(&out)?)?;
    Ok(out)
}

/// The same CSV a run writes (`predict::predictions_csv`), from probabilities.
fn held_out_csv(h: &HeldOut) -> Result<Vec<u8>> {
    if h.multi_label {
        return multi_label_csv(h);
    }
    let rows: Vec<ScoredRow> = h
        .rows
        .iter()
        .map(|r| ScoredRow {
            line: r.line,
            text: &r.text,
            label: r.given[0],
            probs: r.probs.clone(),
        })
        .collect();
    probabilities_csv(&h.labels, &rows)
}

/// A multi-label run's layout, the labels over 0.5 predicted.
fn multi_label_csv(h: &HeldOut) -> Result<Vec<u8>> {
    let rows: Vec<LabelSetRow> = h
        .rows
        .iter()
        .map(|r| {
            let mut given = r.given.clone();
            given.sort_unstable();
            LabelSetRow {
                line: r.line,
                text: &r.text,
                given,
                predicted: (0..h.labels.len()).filter(|&k| r.probs[k] >= 0.5).collect(),
                probs: r.probs.clone(),
            }
        })
        .collect();
    label_sets_csv(&h.labels, &rows)
}
