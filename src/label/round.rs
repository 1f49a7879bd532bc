//! One active-learning round's model, shared by the simulator and a
//! person's session: trained on the labels so far — from scratch
//! (small-text's default) or warm-started on the previous round's weights
//! — judged once on the validation rows, and its view of the pool, scored
//! on int8 weights where they give f32's answers.
//!
//! The round's own run evaluates once, at its end, on the rows it trains
//! on: the validation rows (often a test set, as in the simulator) never
//! pick a checkpoint, and no time goes to per-epoch checkpoints. The model
//! a round keeps is its last one, as small-text's.

use crate::config::{InferencePrecision, RunConfig};
use crate::data::{Labels, Row, Task};
use crate::error::{Error, Result};
use crate::predict::Predictor;
use crate::protocol::{Command, Event};
use crate::run_dir::RunDir;
use crate::train::prepare::{prepare_corpus, Corpus};
use std::path::{Path, PathBuf};

/// int8 scores the pool when it gives f32's label on at least this share
/// of the probe rows (the int8 work measured 99.1% on SST-2 dev).
pub const INT8_AGREEMENT: f64 = 0.99;

/// Train a round's model in `dir` on `corpus.train` (its own rows as the
/// run's evaluation rows); the last checkpoint. `on_event` returns false
/// to stop the run.
pub fn train(
    cfg: &RunConfig,
    corpus: Corpus,
    labels: &Labels,
    dir: &Path,
    mut on_event: impl FnMut(&Event) -> bool,
) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    let cfg = run_settings(cfg);
    let corpus = Corpus {
        val: corpus.train.clone(),
        val_info: None,
        ..corpus
    };
    let trainer = prepare_corpus(cfg, corpus, Some(labels.clone()), dir)?;
    let handle = crate::train::spawn(trainer);
    let (mut failure, mut stopped) = (None, false);
    for event in handle.events.iter() {
        if let Event::Failed { error, .. } = &event {
            failure = Some(error.clone());
        }
        if !on_event(&event) && !stopped {
            stopped = true;
            let _ = handle.commands.send(Command::Stop { save: false });
        }
    }
    let _ = handle.thread.join();
    if let Some(error) = failure {
        return Err(Error::Run(format!("{}: {error}", dir.display())));
    }
    if stopped {
        return Err(Error::Run("the round was stopped".into()));
    }
    RunDir::checkpoints(dir)
        .pop()
        .map(|(_, path)| path)
        .ok_or_else(|| Error::Run(format!("{}: the round wrote no checkpoint", dir.display())))
}

/// What every round's run sets, in a process or on a thread: one
/// evaluation and one checkpoint, at its end; no TensorBoard files.
pub fn run_settings(cfg: &RunConfig) -> RunConfig {
    RunConfig {
        tensorboard: false,
        keep_checkpoints: 1,
        eval_only_at_end: true,
        eval_every: 0,
        patience: 0,
        ..cfg.clone()
    }
}

/// The run config of a round: `cfg` itself (a fresh model), or with a
/// warm start (`warm_epochs`) and a previous round's checkpoint, that many
/// epochs on its weights (its head kept: the labels are the same).
pub fn warm_config(
    cfg: &RunConfig,
    warm_epochs: Option<usize>,
    previous: Option<&Path>,
) -> RunConfig {
    match (warm_epochs, previous) {
        (Some(epochs), Some(checkpoint)) => RunConfig {
            model: checkpoint.display().to_string(),
            epochs,
            ..cfg.clone()
        },
        _ => cfg.clone(),
    }
}

/// A round's model, ready to score: f32 for the validation metric, and
/// the fastest path that keeps its answers for the pool.
pub struct RoundModel {
    exact: Predictor,
    fast: Option<Predictor>,
    /// int8's agreement with f32 on the probe rows (CPU only).
    pub int8_agreement: Option<f64>,
    /// The probe rows' probabilities on the path kept for the pool, so a
    /// caller scores them once (a session's stop set is its probe).
    pub probe_probs: Vec<Vec<f32>>,
}

impl RoundModel {
    /// Load `checkpoint` and score `probe` rows; on the CPU, try int8 on
    /// them too and keep it for the pool when it agrees with f32. A token
    /// model scores its pool in f32 (the agreement check compares one
    /// label a text).
    pub fn load(checkpoint: &Path, device: &candle_core::Device, probe: &[Row]) -> Result<Self> {
        let exact = Predictor::load(checkpoint, device)?;
        if exact.model.task == Task::TokenClassification {
            let probe_probs = strategy_input(&exact, probe)?;
            return Ok(RoundModel {
                exact,
                fast: None,
                int8_agreement: None,
                probe_probs,
            });
        }
        let exact_answers = exact.predict_rows(probe)?;
        if !device.is_cpu() || probe.is_empty() {
            return Ok(RoundModel {
                exact,
                fast: None,
                int8_agreement: None,
                probe_probs: probs_of(exact_answers),
            });
        }
        let int8 = Predictor::load(checkpoint, device)?.with_precision(InferencePrecision::Int8)?;
        let int8_answers = int8.predict_rows(probe)?;
        let same = exact_answers
            .iter()
            .zip(&int8_answers)
            .filter(|(a, b)| a.label == b.label)
            .count();
        let agreement = same as f64 / probe.len() as f64;
        let keep = agreement >= INT8_AGREEMENT;
        Ok(RoundModel {
            exact,
            fast: keep.then_some(int8),
            int8_agreement: Some(agreement),
            probe_probs: probs_of(if keep { int8_answers } else { exact_answers }),
        })
    }

    /// The precision the pool is scored in.
    pub fn pool_precision(&self) -> &'static str {
        if self.fast.is_some() {
            "int8"
        } else {
            "f32"
        }
    }

    pub fn labels(&self) -> &[String] {
        self.exact.model.labels.names()
    }

    /// The task's headline metric on labeled rows (read from `path`), in
    /// f32: accuracy for one label a text, micro-F1 for several (at the
    /// thresholds the round tuned), entity F1 for tags; None without rows.
    pub fn metric(&self, rows: &[Row], path: &Path) -> Result<Option<(&'static str, f64)>> {
        if rows.is_empty() {
            return Ok(None);
        }
        let model = &self.exact.model;
        let targets = crate::data::task::targets_of(model.task, &model.labels, rows, path)?;
        let thresholds: Vec<f32> = (0..model.labels.len())
            .map(|i| model.threshold(i))
            .collect();
        let (ids, targets) = if model.task == Task::TokenClassification {
            // Scored on each word's first piece, as the run's evaluation.
            let tagged = self
                .exact
                .text
                .encode_tagged(rows, &targets, &model.labels, false)?;
            (tagged.ids, tagged.targets)
        } else {
            (self.exact.text.encode_rows(rows)?, targets)
        };
        let logits = crate::predict::logits_for(model, self.exact.text.pad_id(), &ids)?;
        let (name, value) =
            crate::precision_check::headline(model.labels.names(), &targets, &logits, &thresholds);
        // A token model's micro-F1 is over entities.
        let name = if model.task == Task::TokenClassification {
            "entity_f1"
        } else {
            name
        };
        Ok(Some((name, value)))
    }

    /// Accuracy (or micro-F1) on labeled rows; None without rows.
    pub fn accuracy(&self, rows: &[Row], path: &Path) -> Result<Option<f64>> {
        Ok(self.metric(rows, path)?.map(|(_, v)| v))
    }

    /// What a query strategy ranks each row by, on the fast path: its
    /// probabilities in the model's label order, or for a token model each
    /// word's tag entropy (`strategy::word_entropies`).
    pub fn probabilities(&self, rows: &[Row]) -> Result<Vec<Vec<f32>>> {
        strategy_input(self.fast.as_ref().unwrap_or(&self.exact), rows)
    }
}

/// `RoundModel::probabilities` on one predictor.
fn strategy_input(p: &Predictor, rows: &[Row]) -> Result<Vec<Vec<f32>>> {
    if p.model.task != Task::TokenClassification {
        return Ok(probs_of(p.predict_rows(rows)?));
    }
    let words: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| match r.tagged_words() {
            Some(w) => w.into_iter().map(|(w, _)| w).collect(),
            None => r.text.split_whitespace().collect(),
        })
        .collect();
    let encoded = p.text.encode_words(&words)?;
    let ids: Vec<Vec<u32>> = encoded.iter().map(|e| e.ids.clone()).collect();
    let logits = crate::predict::logits_for(&p.model, p.text.pad_id(), &ids)?;
    let n = p.model.labels.len().max(1);
    Ok(encoded
        .iter()
        .zip(&logits)
        .map(|(e, l)| {
            // Each word's first piece, as the tags are scored.
            let mut seen = None;
            let mut firsts = Vec::new();
            for (piece, word) in l.chunks(n).zip(&e.word_ids) {
                if word.is_some() && *word != seen {
                    firsts.extend(crate::model::probs::softmax(piece));
                }
                seen = *word;
            }
            super::strategy::word_entropies(&firsts, n)
                .into_iter()
                .map(|h| h as f32)
                .collect()
        })
        .collect())
}

impl RoundModel {
    /// Mean-pooled sentence vectors of rows, on the fast path.
    pub fn vectors(&self, rows: &[Row]) -> Result<Vec<Vec<f32>>> {
        self.fast.as_ref().unwrap_or(&self.exact).embed_rows(rows)
    }
}

fn probs_of(predictions: Vec<crate::protocol::Prediction>) -> Vec<Vec<f32>> {
    predictions
        .into_iter()
        .map(|p| p.probs.into_iter().map(|(_, x)| x).collect())
        .collect()
}
