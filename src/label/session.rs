//! A labelling session: a pool of texts, the labels a person gives them
//! (`labels.csv`, saved after every key), and the queue of what to label
//! next, ranked by the latest model's uncertainty. Everything lives in
//! one directory, so a session goes on another day (`open`):
//!
//! * `session.json` — the pool, the label set, the strategy, the batch;
//! * `labels.csv` — `data::given_labels`'s file, which `train --labels`
//!   reads;
//! * `scores.json` — the latest model's probabilities for the pool rows
//!   it scored, and the round they came from;
//! * `rounds.json` — the finished rounds (the curve, κ, the stop signal);
//! * `unsure.json` — the rows set aside with `?`;
//! * `pseudo.csv`, `train-labels.csv` — with `--pseudo-label`, the
//!   model's confident rows and what the round trains on.
//!
//! * `rounds/round-N/` — round N's run (`launch_round`: an ordinary run
//!   process, attachable), with `round-N.json` (what it trains on) and,
//!   without a validation file, `round-N.labeled.csv` (its evaluation rows).
//!
//! Retraining is an ordinary run on `round_config()`: a run process in
//! the workbench (`launch_round`, then `score_round`), or `train_round` on
//! the caller's thread.

use super::round::{self, RoundModel};
use super::strategy::Strategy;
use crate::config::{ConfigError, RunConfig};
use crate::data::given_labels::{self, GivenLabel, Source};
use crate::data::{load_file, Labels, Row, Task};
use crate::error::{Error, Result};
use crate::model::hub::{resolve, ModelSource};
use crate::rng::Rng;
use crate::train::prepare::load_corpus;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a session labels, and how it asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSpec {
    pub pool: PathBuf,
    pub val: Option<PathBuf>,
    pub model: String,
    /// The labels a row may get, in key order (1 is the first).
    pub labels: Vec<String>,
    /// A row gets a set of the labels (keys toggle them, Enter gives the
    /// set) rather than one.
    #[serde(default)]
    pub multi_label: bool,
    /// The query strategy's name (`Strategy::from_str`).
    pub strategy: String,
    /// Labels between two retraining rounds.
    pub batch: usize,
    /// Score at most this many unlabeled rows a round (0: all).
    pub pool_sample: usize,
    pub seed: u64,
    /// Self-training: pool rows the latest model gives a label with at
    /// least this probability train the next round as pseudo-labels
    /// (`pseudo.csv`, apart from the person's `labels.csv`).
    #[serde(default)]
    pub pseudo_label: Option<f64>,
    /// Warm start: a round after the first trains this many epochs on the
    /// previous round's weights (None: each round from the base model).
    #[serde(default)]
    pub warm_epochs: Option<usize>,
    /// Rows labeled before the session (`--labeled`): every round trains
    /// on them beside the person's labels, and round 0 trains on them
    /// alone as the session opens.
    #[serde(default)]
    pub labeled: Option<PathBuf>,
}

impl SessionSpec {
    /// The task every round trains: one label a text, or a set.
    pub fn task(&self) -> Task {
        if self.multi_label {
            Task::MultiLabel
        } else {
            Task::SingleLabel
        }
    }

    /// The default query strategy for the task: small-text's best for one
    /// label a text, the mean binary entropy for sets.
    pub fn default_strategy(multi_label: bool) -> Strategy {
        if multi_label {
            Strategy::BinaryEntropy
        } else {
            Strategy::BreakingTies
        }
    }

    /// Its files as absolute paths, so a round's run reads them from
    /// wherever it is attached or resumed.
    fn make_absolute(&mut self) {
        self.pool = absolute(&self.pool);
        self.val = self.val.as_deref().map(absolute);
        self.labeled = self.labeled.as_deref().map(absolute);
    }
}

/// The latest model's view of the pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The round whose model scored (1: the first retrained model).
    pub round: usize,
    /// Pool line → probabilities in `SessionSpec::labels` order (f32 as
    /// the model gives them: they read back from JSON exactly).
    pub probs: BTreeMap<u64, Vec<f32>>,
    /// The predicted label (an index into `SessionSpec::labels`) of each
    /// row of the fixed stop set (`Session::stop_set`), for κ between
    /// rounds; multi-label, each row's yes (1) or no (0) for every label.
    #[serde(default)]
    pub stop_predictions: Vec<usize>,
    /// Rows picked for the next batch as a whole (a diverse batch, or the
    /// cold start's), offered first and in this order.
    #[serde(default)]
    pub picked: Vec<u64>,
}

/// A cold start clusters at most this many pool rows' vectors.
pub const COLD_START_ROWS: usize = 2000;

/// What a retraining round gave: the new ranking, the validation accuracy
/// (with a validation file) and where its time went.
#[derive(Clone, Debug)]
pub struct RoundReport {
    pub scores: Scores,
    pub accuracy: Option<f64>,
    pub train_s: f64,
    /// Pseudo-labels the round trained on beside the person's.
    pub pseudo: usize,
    /// Loading the model, scoring the pool and the validation rows.
    pub score_s: f64,
    /// `int8` when it agreed with f32 on the stop set, else `f32`.
    pub pool_precision: &'static str,
}

/// A round's run process as it was started (`rounds/round-N.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaunchedRound {
    pub round: usize,
    /// The person's labels it trains on.
    pub labels: usize,
    /// Pseudo-labels beside them.
    pub pseudo: usize,
    /// Whether its evaluation is on the session's validation file (else on
    /// its own rows, which say nothing of accuracy).
    pub validated: bool,
}

/// A scored round: its report, and the model that scored it.
pub struct ScoredRound {
    pub report: RoundReport,
    pub model: RoundModel,
}

/// A finished round as the session keeps it (`rounds.json`): the learning
/// curve and the stop signal survive a resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub round: usize,
    /// The person's labels it trained on.
    pub labels: usize,
    /// Pseudo-labels it trained on beside them.
    pub pseudo: usize,
    /// Validation accuracy (with a validation file).
    pub accuracy: Option<f64>,
    /// Cohen's κ between its stop-set predictions and the previous round's.
    pub kappa: Option<f64>,
    pub train_s: f64,
    pub score_s: f64,
    pub stop_predictions: Vec<usize>,
}

/// Rows in the stop set: κ between consecutive models is measured on them.
pub const STOP_SET: usize = 200;

/// A row offered to the person: why it was picked and what the model thinks.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub line: u64,
    pub text: String,
    /// The strategy's score (a margin, an entropy…); None before a model.
    pub score: Option<f64>,
    /// The model's labels, likeliest first, with their probabilities.
    pub top: Vec<(String, f64)>,
}

#[derive(Clone)]
pub struct Session {
    pub dir: PathBuf,
    pub spec: SessionSpec,
    pub pool: Vec<Row>,
    pub given: Vec<GivenLabel>,
    pub scores: Scores,
    skipped: BTreeSet<u64>,
    /// Rows the person was unsure of (`?`): kept out of training and of
    /// the queue, saved in `unsure.json` for a second look.
    pub unsure: BTreeSet<u64>,
    /// Rows whose label was taken back, offered again first.
    again: Vec<u64>,
    /// The finished rounds, oldest first.
    pub rounds: Vec<RoundRecord>,
}

fn bad(field: &'static str, reason: String) -> Error {
    Error::Config(ConfigError::field(field, reason))
}

/// Move each offer of `lines` to the front in turn (the last one ends
/// first).
fn to_front<'a>(offers: &mut Vec<Offer>, lines: impl IntoIterator<Item = &'a u64>) {
    for line in lines {
        if let Some(i) = offers.iter().position(|o| o.line == *line) {
            let o = offers.remove(i);
            offers.insert(0, o);
        }
    }
}

/// A session file's value, or its default while the file is not there.
fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match std::fs::read(path) {
        Ok(b) => {
            serde_json::from_slice(&b).map_err(|e| Error::Run(format!("{}: {e}", path.display())))
        }
        Err(_) => Ok(T::default()),
    }
}

/// Save a session file at once (temp file + rename).
fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let json = serde_json::to_vec(value).map_err(|e| Error::Run(e.to_string()))?;
    Ok(crate::disk::write_atomic(path, &json)?)
}

/// The rows of a `--labeled` file, each of which must have a label; a
/// multi-label file's sets rewritten with `SET_SEP`, whatever separator
/// it uses.
fn read_labeled(path: &Path, multi_label: bool) -> Result<Vec<Row>> {
    let opts = crate::data::LoadOptions {
        require_label: true,
        ..RunConfig::default().load_options()
    };
    let mut ds = load_file(path, &opts)?;
    if multi_label {
        let detected = crate::data::task::detect(&ds, Some(Task::MultiLabel), None)?;
        if let Some(sep) = detected.sep {
            crate::data::task::normalize_sets(&mut ds.rows, sep);
        }
    }
    Ok(ds.rows)
}

/// `--labeled` rows: every one labeled, with labels of the session's set.
fn check_labeled(path: &Path, spec: &SessionSpec) -> Result<()> {
    for r in &read_labeled(path, spec.multi_label)? {
        let given = r.given_label().unwrap_or_default();
        for l in row_labels(given, spec.multi_label) {
            if !spec.labels.iter().any(|k| k == l) {
                return Err(crate::data::DataError::UnknownLabel {
                    path: path.to_path_buf(),
                    line: r.line,
                    label: l.to_string(),
                    known: spec.labels.join(", "),
                }
                .into());
            }
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn read_pool(path: &Path) -> Result<Vec<Row>> {
    let opts = crate::data::LoadOptions {
        require_label: false,
        ..RunConfig::default().load_options()
    };
    Ok(load_file(path, &opts)?.rows)
}

/// A session's labels as a file shows them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSet {
    /// In first-seen order.
    pub names: Vec<String>,
    /// The rows carry sets of them.
    pub multi_label: bool,
}

/// The labels of a file's labeled rows, in first-seen order, for a
/// session's label set: one label a row, or (multi-label, any separator
/// the corpus uses) a set. Regression and tagged words are refused: the
/// screen asks for labels of whole texts.
pub fn labels_in(path: &Path) -> Result<LabelSet> {
    let mut ds = load_file(
        path,
        &crate::data::LoadOptions {
            require_label: false,
            ..RunConfig::default().load_options()
        },
    )?;
    ds.rows
        .retain(|r| r.label.as_deref().is_some_and(|l| !l.is_empty()));
    if ds.rows.is_empty() {
        return Ok(LabelSet::default());
    }
    let detected = crate::data::task::detect(&ds, None, None)?;
    let why = match detected.task {
        Task::SingleLabel | Task::MultiLabel => None,
        Task::Regression => Some(
            "a regression model gives a score, not probabilities over labels, so there is no uncertainty for a query strategy to rank",
        ),
        Task::TokenClassification => Some(
            "the labelling screen labels whole texts; labelling spans is not part of tunebench yet",
        ),
    };
    if let Some(why) = why {
        return Err(bad(
            "data",
            format!(
                "{} reads as {} ({}): {why}",
                path.display(),
                detected.task.name(),
                detected.reason
            ),
        ));
    }
    let multi_label = detected.task == Task::MultiLabel;
    if let Some(sep) = detected.sep.filter(|_| multi_label) {
        crate::data::task::normalize_sets(&mut ds.rows, sep);
    }
    let mut names: Vec<String> = Vec::new();
    for r in &ds.rows {
        for l in row_labels(r.label.as_deref().unwrap_or_default(), multi_label) {
            if !names.iter().any(|n| n == l) {
                names.push(l.to_string());
            }
        }
    }
    Ok(LabelSet { names, multi_label })
}

/// A row's labels: its one label, or the names of its set.
fn row_labels(label: &str, multi_label: bool) -> Vec<&str> {
    if multi_label {
        crate::data::task::label_set(label).collect()
    } else {
        vec![label]
    }
}

impl Session {
    /// Start a session in `dir` (which must not hold one).
    pub fn create(dir: &Path, mut spec: SessionSpec) -> Result<Session> {
        let dir = &absolute(dir);
        spec.make_absolute();
        if dir.join("session.json").exists() {
            return Err(bad(
                "out",
                format!(
                    "{} already holds a labelling session: continue it with --resume",
                    dir.display()
                ),
            ));
        }
        // An unknown strategy, or one that does not rank this kind of
        // label, is refused before anything is written.
        spec.strategy
            .parse::<Strategy>()
            .map_err(|e| bad("strategy", e))?
            .fits(spec.task())
            .map_err(|e| bad("strategy", e))?;
        if spec.labels.len() < 2 {
            return Err(bad(
                "labels",
                format!(
                    "{} label(s) found: a session needs at least two (name them with --label-set a,b,c, or give --val labeled rows)",
                    spec.labels.len()
                ),
            ));
        }
        if spec.batch == 0 {
            return Err(bad("batch", "0: a round needs at least one label".into()));
        }
        if let Some(t) = spec.pseudo_label.filter(|t| !(*t > 0.0 && *t <= 1.0)) {
            return Err(bad(
                "pseudo-label",
                format!("{t}: a threshold is a probability in (0, 1], e.g. 0.95"),
            ));
        }
        if let Some(file) = &spec.labeled {
            check_labeled(file, &spec)?;
        }
        let pool = read_pool(&spec.pool)?;
        let unlabeled = pool
            .iter()
            .filter(|r| r.label.as_deref().is_none_or(str::is_empty))
            .count();
        if unlabeled == 0 {
            return Err(bad(
                "data",
                format!(
                    "every row of {} has a label: nothing is left to label (train on it, or give a pool with empty labels)",
                    spec.pool.display()
                ),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
        let json = serde_json::to_vec_pretty(&spec).map_err(|e| Error::Run(e.to_string()))?;
        crate::disk::write_atomic(&dir.join("session.json"), &json)?;
        given_labels::write(&dir.join("labels.csv"), &[])?;
        Ok(Session {
            dir: dir.to_path_buf(),
            spec,
            pool,
            given: Vec::new(),
            scores: Scores::default(),
            skipped: BTreeSet::new(),
            unsure: BTreeSet::new(),
            again: Vec::new(),
            rounds: Vec::new(),
        })
    }

    /// Continue the session in `dir`: its labels checked against the pool
    /// as it is now.
    pub fn open(dir: &Path) -> Result<Session> {
        let path = dir.join("session.json");
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display().to_string(), e))?;
        let mut spec: SessionSpec = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Run(format!("{}: {e}", path.display())))?;
        let dir = &absolute(dir);
        spec.make_absolute();
        let pool = read_pool(&spec.pool)?;
        let labels_path = dir.join("labels.csv");
        let given = given_labels::read(&labels_path)?;
        // The same checks `train --labels` makes (line, text, label).
        given_labels::load_and_apply(&labels_path, &spec.pool, pool.clone())?;
        // A ranking that no longer reads is only a cache: the next round
        // writes it again.
        let scores = read_json(&dir.join("scores.json")).unwrap_or_default();
        let unsure = read_json(&dir.join("unsure.json"))?;
        let rounds = read_json(&dir.join("rounds.json"))?;
        Ok(Session {
            dir: dir.to_path_buf(),
            spec,
            pool,
            given,
            scores,
            skipped: BTreeSet::new(),
            unsure,
            again: Vec::new(),
            rounds,
        })
    }

    pub fn strategy(&self) -> Strategy {
        self.spec.strategy.parse().unwrap_or(Strategy::BreakingTies)
    }

    /// The labels file `train --labels` reads.
    pub fn labels_path(&self) -> PathBuf {
        self.dir.join("labels.csv")
    }

    /// The person's labels so far (pseudo-labels apart).
    pub fn labeled(&self) -> usize {
        self.latest()
            .values()
            .filter(|g| g.source == Source::Person)
            .count()
    }

    /// The round the next label belongs to: one more than the rounds
    /// whose batch is complete.
    pub fn round(&self) -> usize {
        self.given.len() / self.spec.batch.max(1)
    }

    /// Whether the batch just completed (time to retrain).
    pub fn batch_done(&self) -> bool {
        !self.given.is_empty() && self.given.len().is_multiple_of(self.spec.batch.max(1))
    }

    fn latest(&self) -> BTreeMap<u64, &GivenLabel> {
        self.given.iter().map(|g| (g.line, g)).collect()
    }

    fn open_rows(&self) -> Vec<&Row> {
        let taken = self.latest();
        self.pool
            .iter()
            .filter(|r| r.label.as_deref().is_none_or(str::is_empty))
            .filter(|r| !taken.contains_key(&r.line))
            .filter(|r| !self.skipped.contains(&r.line) && !self.unsure.contains(&r.line))
            .collect()
    }

    /// The next `n` rows to label: the latest model's most uncertain
    /// first; before any model (or for rows it did not score), a seeded
    /// random order.
    pub fn queue(&self, n: usize) -> Vec<Offer> {
        let open = self.open_rows();
        let strategy = self.strategy();
        let (scored, unscored): (Vec<&Row>, Vec<&Row>) = open
            .into_iter()
            .partition(|r| self.scores.probs.contains_key(&r.line));
        let probs: Vec<Vec<f64>> = scored
            .iter()
            .map(|r| {
                self.scores.probs[&r.line]
                    .iter()
                    .map(|&p| f64::from(p))
                    .collect()
            })
            .collect();
        let mut rng = Rng::derived(self.spec.seed, self.scores.round as u64);
        let ranked = strategy.query(&probs, scored.len(), &mut rng);
        let scores = strategy.scores(&probs);
        let mut offers: Vec<Offer> = ranked
            .into_iter()
            .map(|i| self.offer(scored[i], scores.as_ref().map(|s| s[i]), &probs[i]))
            .collect();
        // Unscored rows in a seeded order that labelling does not reshuffle.
        let mut rest = unscored;
        rest.sort_by_key(|r| Rng::derived(self.spec.seed, r.line).next_u64());
        offers.extend(rest.into_iter().map(|r| self.offer(r, None, &[])));
        // A batch picked as a whole comes first, in its order; before it,
        // a row taken back, the latest first.
        to_front(&mut offers, self.scores.picked.iter().rev());
        to_front(&mut offers, &self.again);
        offers.truncate(n);
        offers
    }

    fn offer(&self, row: &Row, score: Option<f64>, probs: &[f64]) -> Offer {
        let mut top: Vec<(String, f64)> = self
            .spec
            .labels
            .iter()
            .cloned()
            .zip(probs.iter().copied())
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        Offer {
            line: row.line,
            text: row.text.clone(),
            score,
            top,
        }
    }

    /// The queue's rows whose text holds `needle` (any case), in queue
    /// order: how a person finds a rare class by keyword before a model
    /// knows it.
    pub fn queue_matching(&self, needle: &str, n: usize) -> Vec<Offer> {
        let needle = needle.to_lowercase();
        let mut found = self.queue(usize::MAX);
        found.retain(|o| o.text.to_lowercase().contains(&needle));
        found.truncate(n);
        found
    }

    /// Set the row at `line` aside as unsure (`?`): not trained on, not
    /// offered again; saved at once.
    pub fn mark_unsure(&mut self, line: u64) -> Result<()> {
        self.unsure.insert(line);
        write_json(&self.dir.join("unsure.json"), &self.unsure)
    }

    /// The person gave `label` to the pool row at `line`; saved at once.
    /// Its strategy is the one that offered it (`random` before a model,
    /// `cold_start` for the diverse first batch).
    pub fn give(&mut self, line: u64, label: &str, seconds: f64) -> Result<()> {
        let strategy = if self.scores.probs.contains_key(&line) {
            self.spec.strategy.clone()
        } else if self.scores.picked.contains(&line) {
            "cold_start".to_string()
        } else {
            "random".to_string()
        };
        self.give_as(line, label, seconds, &strategy)
    }

    /// `give`, saying how the row was found (`keyword` for a search).
    /// A multi-label session's `label` is a set joined by `SET_SEP`, at
    /// least one label (an empty cell reads as not labeled yet).
    pub fn give_as(&mut self, line: u64, label: &str, seconds: f64, strategy: &str) -> Result<()> {
        let given = row_labels(label, self.spec.multi_label);
        if given.is_empty() {
            return Err(bad(
                "label",
                "no label chosen: a row gets at least one (an empty label reads as not labeled yet)".into(),
            ));
        }
        if let Some(unknown) = given
            .iter()
            .find(|g| !self.spec.labels.iter().any(|l| l == *g))
        {
            return Err(bad(
                "label",
                format!(
                    "unknown label '{unknown}' (this session's labels: {})",
                    self.spec.labels.join(", ")
                ),
            ));
        }
        let row = self
            .pool
            .iter()
            .find(|r| r.line == line)
            .ok_or_else(|| bad("line", format!("the pool has no row at line {line}")))?;
        let score = self.scores.probs.get(&line).and_then(|p| {
            let p: Vec<f64> = p.iter().map(|&x| f64::from(x)).collect();
            self.strategy().scores(&[p]).map(|s| s[0])
        });
        self.given.push(GivenLabel {
            line,
            text: row.text.clone(),
            label: given.join(&crate::data::task::SET_SEP.to_string()),
            round: self.round(),
            strategy: strategy.to_string(),
            score,
            seconds,
            source: Source::Person,
        });
        self.skipped.remove(&line);
        self.again.retain(|l| *l != line);
        self.save()
    }

    /// Take back the last label given; the row is offered again.
    pub fn undo(&mut self) -> Result<Option<GivenLabel>> {
        let last = self.given.pop();
        if let Some(g) = &last {
            self.again.push(g.line);
        }
        self.save()?;
        Ok(last)
    }

    /// Pass a row over for now (it comes back in a later session).
    pub fn skip(&mut self, line: u64) {
        self.skipped.insert(line);
    }

    fn save(&self) -> Result<()> {
        Ok(given_labels::write(&self.labels_path(), &self.given)?)
    }

    /// The run that retrains on the labels so far: `base` (model, epochs…)
    /// on the pool with the session's labels file and validation rows;
    /// with a warm start, on the latest round's weights for `warm_epochs`.
    /// With pseudo-labelling, the latest model's confident rows are written
    /// to `pseudo.csv` and the round reads both files' labels from
    /// `train-labels.csv` (the person's file is never touched).
    pub fn round_config(&self, base: &RunConfig) -> Result<RunConfig> {
        let labels = match self.spec.pseudo_label {
            None => self.labels_path(),
            Some(threshold) => {
                let pseudo = self.pseudo_labels(threshold);
                given_labels::write(&self.dir.join("pseudo.csv"), &pseudo)?;
                let both: Vec<GivenLabel> = self.given.iter().cloned().chain(pseudo).collect();
                let path = self.dir.join("train-labels.csv");
                given_labels::write(&path, &both)?;
                path
            }
        };
        let fresh = RunConfig {
            task: Some(self.spec.task()),
            model: self.spec.model.clone(),
            train_file: Some(self.spec.pool.clone()),
            labels: Some(labels),
            labeled_file: self.spec.labeled.clone(),
            val_file: self.spec.val.clone(),
            seed: self.spec.seed,
            ..base.clone()
        };
        Ok(round::warm_config(
            &fresh,
            self.spec.warm_epochs,
            self.latest_checkpoint().as_deref(),
        ))
    }

    /// The newest recorded round's checkpoint, if it is still there.
    pub fn latest_checkpoint(&self) -> Option<PathBuf> {
        let round = self.rounds.last()?.round;
        crate::run_dir::RunDir::checkpoints(&self.round_dir(round))
            .pop()
            .map(|(_, path)| path)
    }

    /// The latest model's confident answers on rows the person has not
    /// labeled (nor set aside): a label whose probability is at least
    /// `threshold`.
    pub fn pseudo_labels(&self, threshold: f64) -> Vec<GivenLabel> {
        let taken = self.latest();
        let text_of: BTreeMap<u64, &str> = self
            .pool
            .iter()
            .map(|r| (r.line, r.text.as_str()))
            .collect();
        self.scores
            .probs
            .iter()
            .filter(|(line, _)| !taken.contains_key(line) && !self.unsure.contains(line))
            .filter_map(|(&line, p)| {
                let (label, confidence) = self.confident_answer(p)?;
                (confidence >= threshold).then(|| GivenLabel {
                    line,
                    text: text_of.get(&line).copied().unwrap_or_default().to_string(),
                    label,
                    round: self.scores.round,
                    strategy: "pseudo".into(),
                    score: Some(confidence),
                    seconds: 0.0,
                    source: Source::Pseudo,
                })
            })
            .collect()
    }

    /// The latest model's answer for a row and how sure it is: the likeliest
    /// label and its probability; for a set, the labels at 0.5 or more and
    /// the least sure of its yes/no decisions (None for an empty set: it
    /// would read as not labeled).
    fn confident_answer(&self, probs: &[f32]) -> Option<(String, f64)> {
        if !self.spec.multi_label {
            let best = crate::model::probs::argmax(probs);
            return Some((self.spec.labels[best].clone(), f64::from(*probs.get(best)?)));
        }
        let chosen: Vec<&str> = self
            .spec
            .labels
            .iter()
            .zip(probs)
            .filter(|(_, &p)| p >= 0.5)
            .map(|(l, _)| l.as_str())
            .collect();
        let sure = probs
            .iter()
            .map(|&p| f64::from(p.max(1.0 - p)))
            .fold(1.0, f64::min);
        (!chosen.is_empty()).then(|| (chosen.join(&crate::data::task::SET_SEP.to_string()), sure))
    }

    /// What κ compares between rounds: each stop-set row's label, or for a
    /// set each (row, label) yes/no decision at 0.5.
    fn stop_answers(&self, probs: &[f32]) -> Vec<usize> {
        if self.spec.multi_label {
            probs.iter().map(|&p| usize::from(p >= 0.5)).collect()
        } else {
            vec![crate::model::probs::argmax(probs)]
        }
    }

    /// The classes κ counts: the labels, or yes/no for sets.
    fn kappa_classes(&self) -> usize {
        if self.spec.multi_label {
            2
        } else {
            self.spec.labels.len()
        }
    }

    /// Where round `round`'s run lives: `rounds/round-N`.
    pub fn round_dir(&self, round: usize) -> PathBuf {
        self.dir.join("rounds").join(format!("round-{round}"))
    }

    /// Train round `round` on `cfg` (`round_config`) in `rounds/round-N`
    /// on this thread, then rank the pool with its model (`label::round`).
    /// `&self`, so it runs on a clone while labelling goes on. The
    /// workbench trains in a run process instead (`launch_round`).
    pub fn train_round(&self, round: usize, cfg: RunConfig) -> Result<RoundReport> {
        let t0 = Instant::now();
        let mut corpus = load_corpus(&cfg)?;
        // Without a validation file every labeled row trains: the round
        // evaluates on its own rows.
        let val = match cfg.val_file {
            Some(_) => std::mem::take(&mut corpus.val),
            None => {
                let split = std::mem::take(&mut corpus.val);
                corpus.train.extend(split);
                Vec::new()
            }
        };
        let labels = Labels::new(self.spec.labels.clone());
        let pseudo = pseudo_in(&cfg)?;
        let checkpoint = round::train(&cfg, corpus, &labels, &self.round_dir(round), |_| true)?;
        let train_s = t0.elapsed().as_secs_f64();
        let device = crate::device::open(&cfg.device, cfg.seed)?;
        let val_path = cfg.val_file.clone().unwrap_or_default();
        let scored = self.score_round(&checkpoint, round, &device)?;
        let t1 = Instant::now();
        let accuracy = scored.model.accuracy(&val, &val_path)?;
        Ok(RoundReport {
            accuracy,
            train_s,
            pseudo,
            score_s: scored.report.score_s + t1.elapsed().as_secs_f64(),
            ..scored.report
        })
    }

    /// Start round `round`'s run process (`exe`: this program) on `cfg`
    /// (`round_config`): an ordinary run in `rounds/round-N` that
    /// `tunebench attach` shows, evaluated and checkpointed once at its
    /// end — on the validation file, or without one on the labeled rows
    /// (`rounds/round-N.labeled.csv`). What it trains on is noted in
    /// `rounds/round-N.json`, so a session resumed later scores it.
    pub fn launch_round(
        &self,
        round: usize,
        cfg: RunConfig,
        exe: &Path,
    ) -> Result<(LaunchedRound, crate::remote::WatchedRun)> {
        let dir = self.round_dir(round);
        let rounds = self.dir.join("rounds");
        std::fs::create_dir_all(&rounds).map_err(|e| Error::io(rounds.display().to_string(), e))?;
        // A round that never landed (the session stopped first) runs again.
        let _ = std::fs::remove_dir_all(&dir);
        let names = self.dir.join("label-names.txt");
        crate::disk::write_atomic(&names, (self.spec.labels.join("\n") + "\n").as_bytes())?;
        let val_file = match &cfg.val_file {
            Some(v) => v.clone(),
            None => {
                let path = rounds.join(format!("round-{round}.labeled.csv"));
                self.write_labeled(&path)?;
                path
            }
        };
        let launched = LaunchedRound {
            round,
            labels: self.labeled(),
            pseudo: pseudo_in(&cfg)?,
            validated: cfg.val_file.is_some(),
        };
        write_json(&rounds.join(format!("round-{round}.json")), &launched)?;
        let config = RunConfig {
            label_names: Some(names),
            val_file: Some(val_file),
            ..round::run_settings(&cfg)
        };
        let spec = crate::remote::launch::LaunchSpec {
            resume: false,
            config,
            threads: None,
        };
        let run = crate::remote::WatchedRun::launch(exe, &dir, &spec).map_err(|e| {
            if e.bad_input {
                Error::Config(ConfigError::field("round", e.message))
            } else {
                Error::Run(e.message)
            }
        })?;
        Ok((launched, run))
    }

    /// What round `round`'s run process was started on (None: no such
    /// round was launched).
    pub fn launched_round(&self, round: usize) -> Option<LaunchedRound> {
        let path = self.dir.join("rounds").join(format!("round-{round}.json"));
        read_json::<Option<LaunchedRound>>(&path).ok().flatten()
    }

    /// What a round trains on, as a plain `text,label` CSV: the person's
    /// labels (the latest of each row) and the `--labeled` rows.
    fn write_labeled(&self, path: &Path) -> Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| Error::Run(format!("{}: {e}", path.display()));
        w.write_record(["text", "label"]).map_err(io)?;
        for g in self
            .latest()
            .values()
            .filter(|g| g.source == Source::Person)
        {
            w.write_record([g.text.as_str(), g.label.as_str()])
                .map_err(io)?;
        }
        if let Some(file) = &self.spec.labeled {
            for r in read_labeled(file, self.spec.multi_label)? {
                let label = r.given_label().unwrap_or_default();
                w.write_record([r.text.as_str(), label]).map_err(io)?;
            }
        }
        let bytes = w.into_inner().map_err(|e| Error::Run(e.to_string()))?;
        Ok(crate::disk::write_atomic(path, &bytes)?)
    }

    /// Rank the pool with a finished round's checkpoint: the report, less
    /// the training side (accuracy, train_s, pseudo: the caller knows
    /// them), and the loaded model.
    pub fn score_round(
        &self,
        checkpoint: &Path,
        round: usize,
        device: &candle_core::Device,
    ) -> Result<ScoredRound> {
        let t0 = Instant::now();
        let (scores, model) = self.score_pool(checkpoint, round, device)?;
        let pool_precision = model.pool_precision();
        Ok(ScoredRound {
            report: RoundReport {
                scores,
                accuracy: None,
                train_s: 0.0,
                pseudo: 0,
                score_s: t0.elapsed().as_secs_f64(),
                pool_precision,
            },
            model,
        })
    }

    /// Rank the pool with the checkpoint of round `round`'s run and save
    /// the ranking (scores.json).
    pub fn rescore(
        &mut self,
        checkpoint: &Path,
        round: usize,
        device: &candle_core::Device,
    ) -> Result<()> {
        let (scores, _) = self.score_pool(checkpoint, round, device)?;
        self.set_scores(scores)
    }

    /// The fixed rows (pool lines) whose predictions round after round
    /// give κ: a seeded sample of `STOP_SET`, the same all session long.
    pub fn stop_set(&self) -> Vec<u64> {
        let mut lines: Vec<u64> = self.pool.iter().map(|r| r.line).collect();
        lines.sort_by_key(|&l| Rng::derived(self.spec.seed ^ 0x57_0b, l).next_u64());
        lines.truncate(STOP_SET);
        lines.sort_unstable();
        lines
    }

    /// A round landed: its ranking replaces the last, and its point (κ to
    /// the previous round's stop-set predictions) joins the curve; both
    /// saved at once. `labels`: the person's labels it trained on.
    pub fn record_round(&mut self, labels: usize, report: RoundReport) -> Result<&RoundRecord> {
        let stop = &report.scores.stop_predictions;
        let kappa = self
            .rounds
            .last()
            .filter(|r| !stop.is_empty() && r.stop_predictions.len() == stop.len())
            .map(|r| super::stopping::cohen_kappa(stop, &r.stop_predictions, self.kappa_classes()));
        let record = RoundRecord {
            round: report.scores.round,
            labels,
            pseudo: report.pseudo,
            accuracy: report.accuracy,
            kappa,
            train_s: report.train_s,
            score_s: report.score_s,
            stop_predictions: stop.clone(),
        };
        self.set_scores(report.scores)?;
        // The previous round's weights are superseded: its run's curves
        // stay, its checkpoint and best/ (model and optimizer state) go.
        if let Some(previous) = self.rounds.last() {
            let run = self.round_dir(previous.round);
            let _ = std::fs::remove_dir_all(run.join("checkpoints"));
            let _ = std::fs::remove_dir_all(run.join("best"));
        }
        self.rounds.push(record);
        write_json(&self.dir.join("rounds.json"), &self.rounds)?;
        Ok(self.rounds.last().expect("just pushed"))
    }

    /// small-text's KappaAverage (window 3, 0.99) over the rounds so far:
    /// the model stopped changing, more labels are unlikely to help.
    pub fn stop_signal(&self) -> bool {
        let mut rule = super::stopping::KappaAverage::new(self.kappa_classes());
        let mut fired = false;
        for r in &self.rounds {
            fired |= rule.stop(&r.stop_predictions);
        }
        fired
    }

    /// The latest model's ranking, saved at once.
    pub fn set_scores(&mut self, scores: Scores) -> Result<()> {
        write_json(&self.dir.join("scores.json"), &scores)?;
        self.scores = scores;
        Ok(())
    }

    /// The probabilities the checkpoint gives the unlabeled rows (a
    /// random sub-pool with `pool_sample`), in the session's label order,
    /// and the loaded model; `&self` so a background thread can score
    /// while labelling goes on. The stop set is int8's probe.
    pub fn score_pool(
        &self,
        checkpoint: &Path,
        round: usize,
        device: &candle_core::Device,
    ) -> Result<(Scores, RoundModel)> {
        let text_of: BTreeMap<u64, &str> = self
            .pool
            .iter()
            .map(|r| (r.line, r.text.as_str()))
            .collect();
        let stop: Vec<Row> = self
            .stop_set()
            .iter()
            .map(|l| Row::unlabelled(text_of[l].to_string()))
            .collect();
        let model = RoundModel::load(checkpoint, device, &stop)?;
        let names = model.labels().to_vec();
        let order: Vec<Option<usize>> = self
            .spec
            .labels
            .iter()
            .map(|l| names.iter().position(|n| n == l))
            .collect();
        let mut open: Vec<&Row> = self.open_rows();
        if self.spec.pool_sample > 0 && open.len() > self.spec.pool_sample {
            Rng::derived(self.spec.seed, round as u64).shuffle(&mut open);
            open.truncate(self.spec.pool_sample);
        }
        let lines: Vec<u64> = open.iter().map(|r| r.line).collect();
        let rows: Vec<Row> = open
            .iter()
            .map(|r| Row::unlabelled(r.text.clone()))
            .collect();
        // In the session's label order.
        let by_session =
            |p: &[f32]| -> Vec<f32> { order.iter().map(|i| i.map_or(0.0, |i| p[i])).collect() };
        let probs: Vec<Vec<f32>> = model
            .probabilities(&rows)?
            .iter()
            .map(|p| by_session(p))
            .collect();
        // The stop set was the int8 probe: already scored.
        let stop_predictions = model
            .probe_probs
            .iter()
            .flat_map(|p| self.stop_answers(&by_session(p)))
            .collect();
        let strategy = self.strategy();
        let picked = if strategy.needs_vectors() {
            let wide: Vec<Vec<f64>> = probs
                .iter()
                .map(|p| p.iter().map(|&x| f64::from(x)).collect())
                .collect();
            let mut rng = Rng::derived(self.spec.seed ^ 0xd1, round as u64);
            strategy
                .pick(&wide, self.spec.batch, &mut rng, |idx| {
                    let chosen: Vec<Row> = idx.iter().map(|&i| rows[i].clone()).collect();
                    model.vectors(&chosen)
                })?
                .into_iter()
                .map(|i| lines[i])
                .collect()
        } else {
            Vec::new()
        };
        let scores = Scores {
            round,
            probs: lines.into_iter().zip(probs).collect(),
            stop_predictions,
            picked,
        };
        Ok((scores, model))
    }

    /// Whether the first batch is still to be picked for diversity: a
    /// pretrained model, no label, no ranking and no batch picked yet.
    pub fn wants_cold_start(&self) -> bool {
        !self.spec.model.starts_with("scratch:")
            && self.spec.labeled.is_none()
            && self.given.is_empty()
            && self.scores.probs.is_empty()
            && self.scores.picked.is_empty()
    }

    /// Whether round 0 (the `--labeled` rows alone) should train now: the
    /// session has such rows and no round has landed or started.
    pub fn wants_first_round(&self) -> bool {
        self.spec.labeled.is_some() && self.rounds.is_empty() && self.launched_round(0).is_none()
    }

    /// The first round a session records: 0 with `--labeled` rows (they
    /// train before any batch), else 1.
    pub fn first_round(&self) -> usize {
        usize::from(self.spec.labeled.is_none())
    }

    /// The first batch before any label, picked for diversity: one row per
    /// k-means cluster of the pretrained encoder's sentence vectors over
    /// (at most `COLD_START_ROWS` of) the pool. None unless
    /// `wants_cold_start` (a `scratch:` model's vectors mean nothing yet).
    pub fn cold_start(&self, device: &candle_core::Device) -> Result<Option<Scores>> {
        if !self.wants_cold_start() {
            return Ok(None);
        }
        let ModelSource::Dir(dir) = resolve(&self.spec.model)? else {
            return Ok(None);
        };
        let encoder = crate::predict::Predictor::load_encoder(&dir, device)?;
        let mut open: Vec<&Row> = self.open_rows();
        let mut rng = Rng::derived(self.spec.seed ^ 0xc01d, 0);
        if open.len() > COLD_START_ROWS {
            rng.shuffle(&mut open);
            open.truncate(COLD_START_ROWS);
        }
        let rows: Vec<Row> = open
            .iter()
            .map(|r| Row::unlabelled(r.text.clone()))
            .collect();
        let vectors = encoder.embed_rows(&rows)?;
        let picked = super::kmeans::pick_diverse(&vectors, self.spec.batch, &mut rng)
            .into_iter()
            .map(|i| open[i].line)
            .collect();
        Ok(Some(Scores {
            picked,
            ..Scores::default()
        }))
    }
}

/// The pseudo-labels in the labels file a round config trains on.
fn pseudo_in(cfg: &RunConfig) -> Result<usize> {
    Ok(match &cfg.labels {
        Some(file) => given_labels::read(file)?
            .iter()
            .filter(|g| g.source == Source::Pseudo)
            .count(),
        None => 0,
    })
}
