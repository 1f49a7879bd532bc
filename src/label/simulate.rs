//! `tunebench label simulate`: active learning played against a labeled
//! corpus. Its labels are hidden and revealed, as an oracle would, for the
//! rows each strategy asks for; every round trains a fresh model on the
//! rows revealed so far (small-text's default: no weights carried over),
//! scores it on the validation rows, and scores the pool to pick the next
//! batch. The learning curves, and what each strategy saves against
//! random, are the result.

use super::round::{self, RoundModel};
use super::strategy::Strategy;
use crate::config::{ConfigError, RunConfig};
use crate::data::{Row, Task};
use crate::error::{Error, Result};
use crate::protocol::Event;
use crate::rng::{Rng, RngState};
use crate::train::prepare::{load_corpus, Corpus};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct SimulateOptions {
    pub strategies: Vec<Strategy>,
    /// Labeled rows before the first query (drawn at random, per seed).
    pub seed_size: usize,
    /// Rows labeled per round.
    pub query: usize,
    pub rounds: usize,
    /// Repetitions with different seed sets and draws.
    pub seeds: usize,
    /// Score at most this many unlabeled rows a round (a random sub-pool,
    /// as small-text's subsampling); None: the whole pool.
    pub pool_sample: Option<usize>,
    /// Warm start: a round after the first trains this many epochs on the
    /// previous round's weights instead of a fresh model (None: restart,
    /// small-text's default).
    pub warm_epochs: Option<usize>,
}

/// One point of a learning curve: `learning_curve.csv`'s row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub strategy: String,
    pub seed: usize,
    pub round: usize,
    pub labels: usize,
    /// The validation metric of the round's model: accuracy, or micro-F1
    /// for a multi-label corpus.
    pub metric: f64,
    /// Training, scoring and querying this round took.
    pub seconds: f64,
}

/// What a strategy achieved over the seeds (`summary.json`).
#[derive(Clone, Debug, Serialize)]
pub struct StrategySummary {
    pub strategy: String,
    pub metric: &'static str,
    pub final_mean: f64,
    pub final_std: f64,
    /// The area under the mean learning curve over the labels, divided by
    /// the labels' range: its mean metric (higher is better).
    pub normalised_auc: f64,
    pub final_labels: usize,
    /// The fewest labels at which the mean curve reaches random's final
    /// mean metric (absent without random, or when it never does).
    pub labels_to_reach_random: Option<usize>,
}

/// Where a round's time went.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundSplit {
    /// What `CurvePoint::metric` measures: accuracy, micro_f1 or entity_f1.
    pub metric: &'static str,
    pub train_s: f64,
    /// Loading the model, the validation metric and scoring the pool.
    pub score_s: f64,
    pub query_s: f64,
    /// `int8` when it agreed with f32, else `f32`; None when the round
    /// scored no pool (random, the last round).
    pub pool_precision: Option<&'static str>,
}

pub enum SimProgress<'a> {
    /// A round is about to train.
    RoundStart {
        strategy: Strategy,
        seed: usize,
        round: usize,
        labels: usize,
    },
    /// A round is done: its point, and where its time went.
    Point(&'a CurvePoint, &'a RoundSplit),
    Event(&'a Event),
}

fn bad(field: &'static str, reason: String) -> Error {
    Error::Config(ConfigError::field(field, reason))
}

/// Check the options against the pool before any training.
pub fn check(opts: &SimulateOptions, pool: usize) -> Result<()> {
    if opts.strategies.is_empty() {
        return Err(bad("strategies", "give at least one strategy".into()));
    }
    if opts.query == 0 {
        return Err(bad(
            "query",
            "0 rows a round: each round labels at least one row".into(),
        ));
    }
    if opts.seed_size == 0 {
        return Err(bad(
            "seed-size",
            "0: the first model needs at least one labeled row of two labels".into(),
        ));
    }
    if opts.seeds == 0 {
        return Err(bad("seeds", "0 repetitions: give at least 1".into()));
    }
    let needed = opts.seed_size + opts.query * opts.rounds;
    if opts.seed_size > pool {
        return Err(bad(
            "seed-size",
            format!("{} seed labels from a pool of {pool} rows", opts.seed_size),
        ));
    }
    if needed > pool {
        return Err(bad(
            "rounds",
            format!(
                "{} seed labels + {} rounds × {} = {needed} labels, more than the pool's {pool} rows",
                opts.seed_size, opts.rounds, opts.query
            ),
        ));
    }
    Ok(())
}

/// What `--resume` needs to go on: the options and the rounds' run
/// config (`simulation.json`), and where each strategy and seed stands
/// (`trajectories/`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedSimulation {
    pub strategies: Vec<String>,
    pub seed_size: usize,
    pub query: usize,
    pub rounds: usize,
    pub seeds: usize,
    pub pool_sample: Option<usize>,
    #[serde(default)]
    pub warm_epochs: Option<usize>,
    pub config: RunConfig,
}

impl SavedSimulation {
    pub fn new(cfg: &RunConfig, opts: &SimulateOptions) -> Self {
        SavedSimulation {
            strategies: opts
                .strategies
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
            seed_size: opts.seed_size,
            query: opts.query,
            rounds: opts.rounds,
            seeds: opts.seeds,
            pool_sample: opts.pool_sample,
            warm_epochs: opts.warm_epochs,
            config: cfg.clone(),
        }
    }

    /// The simulation kept in `out` (`simulation.json`).
    pub fn read(out: &Path) -> Result<(RunConfig, SimulateOptions)> {
        let path = out.join(SIMULATION_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            bad(
                "resume",
                format!(
                    "{}: {e} (is it a `label simulate` directory?)",
                    path.display()
                ),
            )
        })?;
        let saved: SavedSimulation = serde_json::from_str(&text)
            .map_err(|e| bad("resume", format!("{}: {e}", path.display())))?;
        let strategies = saved
            .strategies
            .iter()
            .map(|s| s.parse::<Strategy>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad("resume", format!("{}: {e}", path.display())))?;
        Ok((
            saved.config,
            SimulateOptions {
                strategies,
                seed_size: saved.seed_size,
                query: saved.query,
                rounds: saved.rounds,
                seeds: saved.seeds,
                pool_sample: saved.pool_sample,
                warm_epochs: saved.warm_epochs,
            },
        ))
    }
}

const SIMULATION_FILE: &str = "simulation.json";
const CURVE_FILE: &str = "learning_curve.csv";

/// Where one strategy and seed stands after a finished round.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Trajectory {
    round: usize,
    /// Pool indexes labeled for the next round.
    labeled: Vec<usize>,
    rng: RngState,
    /// The round's checkpoint, which the next warm-started round trains on.
    checkpoint: Option<PathBuf>,
}

impl Trajectory {
    fn path(out: &Path, strategy: Strategy, seed: usize) -> PathBuf {
        out.join("trajectories")
            .join(format!("{strategy}-seed{seed}.json"))
    }
}

/// Run the simulation in `out`: `learning_curve.csv` after every round,
/// `summary.json` at the end. `progress` returns false to stop (the
/// finished rounds stay in the CSV). With `resume`, a simulation stopped
/// in `out` goes on after its last finished round, exactly as it would
/// have (the same draws and picks).
pub fn simulate(
    cfg: &RunConfig,
    opts: &SimulateOptions,
    out: &Path,
    resume: bool,
    mut progress: impl FnMut(SimProgress) -> bool,
) -> Result<Vec<StrategySummary>> {
    cfg.validate()?;
    let corpus = load_corpus(cfg)?;
    let task = corpus.task.task;
    if task == Task::Regression {
        return Err(bad(
            "task",
            format!(
                "the simulator plays corpora with labels to ask for (one or several a text, or tags); this one is regression ({}): an uncertainty over scores is not a query strategy tunebench has",
                corpus.task.reason
            ),
        ));
    }
    for s in &opts.strategies {
        s.fits(task).map_err(|e| bad("strategies", e))?;
    }
    check(opts, corpus.train.len())?;
    let labels = crate::data::task::labels_for(task, &corpus.train);
    let val_path = corpus
        .val_info
        .as_ref()
        .map_or(corpus.train_info.path.clone(), |v| v.path.clone());
    let mut metric_name = "accuracy";
    std::fs::create_dir_all(out).map_err(|e| Error::io(out.display().to_string(), e))?;
    let mut curve: Vec<CurvePoint> = if resume {
        read_curve(&out.join(CURVE_FILE))?
    } else {
        if out.join(CURVE_FILE).exists() {
            return Err(bad(
                "out",
                format!(
                    "{} already holds a simulation; go on with --resume {} or choose another --out",
                    out.display(),
                    out.display()
                ),
            ));
        }
        let _ = std::fs::remove_dir_all(out.join("trajectories"));
        let json = serde_json::to_vec_pretty(&SavedSimulation::new(cfg, opts))
            .map_err(|e| Error::Run(e.to_string()))?;
        crate::disk::write_atomic(&out.join(SIMULATION_FILE), &json)?;
        Vec::new()
    };
    let device = crate::device::open(&cfg.device, cfg.seed)?;
    let pool = &corpus.train;
    for seed in 0..opts.seeds {
        // The same seed set for every strategy: they differ only in what
        // they ask for.
        let mut first: Vec<usize> = (0..pool.len()).collect();
        Rng::derived(cfg.seed, seed as u64).shuffle(&mut first);
        first.truncate(opts.seed_size);
        for &strategy in &opts.strategies {
            let state_path = Trajectory::path(out, strategy, seed);
            let saved: Option<Trajectory> = if resume {
                read_trajectory(&state_path)?
            } else {
                None
            };
            // Points past the saved state were written by a round whose
            // state was not: that round runs again.
            let done = saved.as_ref().map(|t| t.round);
            curve.retain(|p| {
                p.strategy != strategy.name()
                    || p.seed != seed
                    || done.is_some_and(|d| p.round <= d)
            });
            let (mut labeled, mut rng, mut warm_from, from_round) = match saved {
                Some(t) => (
                    t.labeled,
                    Rng::restore(&t.rng).ok_or_else(|| {
                        bad(
                            "resume",
                            format!("{}: a bad rng state", state_path.display()),
                        )
                    })?,
                    t.checkpoint,
                    t.round + 1,
                ),
                None => (
                    first.clone(),
                    Rng::derived(cfg.seed ^ 0x5eed, seed as u64),
                    None,
                    0,
                ),
            };
            for round in from_round..=opts.rounds {
                if !progress(SimProgress::RoundStart {
                    strategy,
                    seed,
                    round,
                    labels: labeled.len(),
                }) {
                    return Err(Error::Run("simulation stopped".into()));
                }
                let t0 = Instant::now();
                let trained_on = labeled.len();
                let dir = out
                    .join("rounds")
                    .join(format!("{strategy}-seed{seed}-round{round}"));
                let round_corpus = Corpus {
                    train: labeled.iter().map(|&i| pool[i].clone()).collect(),
                    ..corpus.clone()
                };
                let round_cfg = round::warm_config(cfg, opts.warm_epochs, warm_from.as_deref());
                let checkpoint = round::train(&round_cfg, round_corpus, &labels, &dir, |e| {
                    progress(SimProgress::Event(e))
                })
                .map_err(|e| stopped_or(e, &dir))?;
                let train_s = t0.elapsed().as_secs_f64();
                let t1 = Instant::now();
                let unlabeled = sub_pool(pool.len(), &labeled, opts, &mut rng);
                // The labels hidden; the words (a token corpus's) kept.
                let rows: Vec<Row> = unlabeled
                    .iter()
                    .map(|&i| Row {
                        label: None,
                        ..pool[i].clone()
                    })
                    .collect();
                let last = round == opts.rounds;
                let scores_pool = !last && strategy != Strategy::Random;
                let probe = &rows[..if scores_pool {
                    rows.len().min(PROBE_ROWS)
                } else {
                    0
                }];
                let model = RoundModel::load(&checkpoint, &device, probe)?;
                let (name, metric) = model.metric(&corpus.val, &val_path)?.ok_or_else(|| {
                    bad(
                        "val",
                        "the simulator needs validation rows to score each round".into(),
                    )
                })?;
                metric_name = name;
                let probs: Vec<Vec<f64>> = if !scores_pool {
                    vec![Vec::new(); rows.len()]
                } else {
                    // The probe's rows were scored when the model loaded.
                    let rest = model.probabilities(&rows[probe.len()..])?;
                    model
                        .probe_probs
                        .iter()
                        .chain(&rest)
                        .map(|p| p.iter().copied().map(f64::from).collect())
                        .collect()
                };
                let score_s = t1.elapsed().as_secs_f64();
                let t2 = Instant::now();
                if !last {
                    let picked = strategy.pick(&probs, opts.query, &mut rng, |idx| {
                        let chosen: Vec<Row> = idx.iter().map(|&i| rows[i].clone()).collect();
                        model.vectors(&chosen)
                    })?;
                    labeled.extend(picked.into_iter().map(|i| unlabeled[i]));
                }
                // A warm start trains the next round on this checkpoint:
                // its directory stays until that round has its own.
                if let Some(previous) = warm_from.take() {
                    remove_round_dir(&previous);
                }
                if opts.warm_epochs.is_some() && !last {
                    warm_from = Some(checkpoint);
                } else {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                let point = CurvePoint {
                    strategy: strategy.name().to_string(),
                    seed,
                    round,
                    labels: trained_on,
                    metric,
                    seconds: t0.elapsed().as_secs_f64(),
                };
                curve.push(point.clone());
                crate::disk::write_atomic(&out.join(CURVE_FILE), &curve_csv(&curve)?)?;
                write_trajectory(
                    &state_path,
                    &Trajectory {
                        round,
                        labeled: labeled.clone(),
                        rng: rng.state(0),
                        checkpoint: warm_from.clone(),
                    },
                )?;
                let split = RoundSplit {
                    metric: name,
                    train_s,
                    score_s,
                    query_s: t2.elapsed().as_secs_f64(),
                    pool_precision: scores_pool.then(|| model.pool_precision()),
                };
                if !progress(SimProgress::Point(&point, &split)) {
                    return Err(Error::Run("simulation stopped".into()));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(out.join("rounds"));
    let summary = summarise(&curve, &opts.strategies, metric_name);
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Run(e.to_string()))?;
    crate::disk::write_atomic(&out.join("summary.json"), &json)?;
    Ok(summary)
}

/// Remove the round directory that holds `checkpoint`
/// (`rounds/NAME/checkpoints/step-N`).
fn remove_round_dir(checkpoint: &Path) {
    if let Some(dir) = checkpoint.parent().and_then(Path::parent) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn read_curve(path: &Path) -> Result<Vec<CurvePoint>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut r =
        csv::Reader::from_path(path).map_err(|e| Error::Run(format!("{}: {e}", path.display())))?;
    r.deserialize()
        .map(|p| p.map_err(|e| bad("resume", format!("{}: {e}", path.display()))))
        .collect()
}

fn read_trajectory(path: &Path) -> Result<Option<Trajectory>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| bad("resume", format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path.display().to_string(), e)),
    }
}

fn write_trajectory(path: &Path, t: &Trajectory) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    }
    let json = serde_json::to_vec(t).map_err(|e| Error::Run(e.to_string()))?;
    Ok(crate::disk::write_atomic(path, &json)?)
}

/// Rows the int8 check compares with f32 on.
const PROBE_ROWS: usize = 200;

fn stopped_or(e: Error, dir: &Path) -> Error {
    match e {
        Error::Run(m) if m == "the round was stopped" => Error::Run("simulation stopped".into()),
        e => {
            tracing::warn!("round in {} failed: {e}", dir.display());
            e
        }
    }
}

/// The unlabeled pool indexes a round scores: all of them, or a random
/// sub-pool of `pool_sample` (in pool order).
fn sub_pool(pool: usize, labeled: &[usize], opts: &SimulateOptions, rng: &mut Rng) -> Vec<usize> {
    let taken: std::collections::HashSet<usize> = labeled.iter().copied().collect();
    let mut unlabeled: Vec<usize> = (0..pool).filter(|i| !taken.contains(i)).collect();
    if let Some(cap) = opts.pool_sample.filter(|&c| c < unlabeled.len()) {
        rng.shuffle(&mut unlabeled);
        unlabeled.truncate(cap);
        unlabeled.sort_unstable();
    }
    unlabeled
}

fn curve_csv(curve: &[CurvePoint]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for p in curve {
        w.serialize(p).map_err(|e| Error::Run(e.to_string()))?;
    }
    w.into_inner().map_err(|e| Error::Run(e.to_string()))
}

/// Per strategy over the seeds: the final metric's mean and spread, the
/// normalised area under the mean curve, and the labels it needed to
/// reach random's final mean.
pub fn summarise(
    curve: &[CurvePoint],
    strategies: &[Strategy],
    metric: &'static str,
) -> Vec<StrategySummary> {
    let mean_curve = |s: &str| -> Vec<(usize, f64)> {
        let mut rounds: Vec<usize> = curve
            .iter()
            .filter(|p| p.strategy == s)
            .map(|p| p.round)
            .collect();
        rounds.sort_unstable();
        rounds.dedup();
        rounds
            .into_iter()
            .map(|r| {
                let at: Vec<&CurvePoint> = curve
                    .iter()
                    .filter(|p| p.strategy == s && p.round == r)
                    .collect();
                let metric = at.iter().map(|p| p.metric).sum::<f64>() / at.len() as f64;
                (at[0].labels, metric)
            })
            .collect()
    };
    let random_final = mean_curve(Strategy::Random.name())
        .last()
        .map(|&(_, m)| m)
        .filter(|_| strategies.contains(&Strategy::Random));
    strategies
        .iter()
        .map(|s| {
            let name = s.name();
            let points = mean_curve(name);
            let last_round = points.len().saturating_sub(1);
            let finals: Vec<f64> = curve
                .iter()
                .filter(|p| p.strategy == name && p.round == last_round)
                .map(|p| p.metric)
                .collect();
            let (mean, std) = mean_std(&finals);
            StrategySummary {
                strategy: name.to_string(),
                metric,
                final_mean: mean,
                final_std: std,
                normalised_auc: normalised_auc(&points),
                final_labels: points.last().map_or(0, |p| p.0),
                labels_to_reach_random: random_final.and_then(|target| {
                    points
                        .iter()
                        .find(|&&(_, m)| m >= target - 1e-12)
                        .map(|&(l, _)| l)
                }),
            }
        })
        .collect()
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Trapezoid area under (labels, metric) over the labels' range.
fn normalised_auc(points: &[(usize, f64)]) -> f64 {
    match points {
        [] => f64::NAN,
        [(_, m)] => *m,
        _ => {
            let area: f64 = points
                .windows(2)
                .map(|w| (w[1].0 - w[0].0) as f64 * (w[0].1 + w[1].1) / 2.0)
                .sum();
            let range = (points[points.len() - 1].0 - points[0].0) as f64;
            if range > 0.0 {
                area / range
            } else {
                points[0].1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(strategy: &str, seed: usize, round: usize, labels: usize, metric: f64) -> CurvePoint {
        CurvePoint {
            strategy: strategy.into(),
            seed,
            round,
            labels,
            metric,
            seconds: 0.0,
        }
    }

    #[test]
    fn the_summary_compares_each_strategy_with_random() {
        let mut curve = Vec::new();
        for seed in 0..2 {
            for (round, (bt, rnd)) in [(0.5, 0.5), (0.7, 0.6), (0.8, 0.65), (0.85, 0.7)]
                .into_iter()
                .enumerate()
            {
                let labels = 10 + round * 10;
                curve.push(point(
                    "breaking_ties",
                    seed,
                    round,
                    labels,
                    bt + seed as f64 * 0.02,
                ));
                curve.push(point("random", seed, round, labels, rnd));
            }
        }
        let s = summarise(
            &curve,
            &[Strategy::BreakingTies, Strategy::Random],
            "accuracy",
        );
        assert_eq!(s[0].strategy, "breaking_ties");
        assert!((s[0].final_mean - 0.86).abs() < 1e-12);
        assert!((s[0].final_std - 0.02f64.hypot(0.0) / 2f64.sqrt()).abs() < 1e-12);
        // Random ends at 0.7: breaking ties got there with 20 labels.
        assert_eq!(s[0].labels_to_reach_random, Some(20));
        assert_eq!(s[1].labels_to_reach_random, Some(40));
        assert_eq!(s[1].final_labels, 40);
        // Mean of the trapezoids over 30 labels: (0.55 + 0.625 + 0.675) / 3.
        assert!((s[1].normalised_auc - (0.55 + 0.625 + 0.675) / 3.0).abs() < 1e-12);
        assert!(s[0].normalised_auc > s[1].normalised_auc);
    }

    #[test]
    fn bad_options_are_refused_before_training() {
        let opts = |seed_size, query, rounds| SimulateOptions {
            strategies: vec![Strategy::Random],
            seed_size,
            query,
            rounds,
            seeds: 1,
            pool_sample: None,
            warm_epochs: None,
        };
        let e = check(&opts(10, 0, 2), 100).unwrap_err().to_string();
        assert!(e.contains("query") && e.contains("at least one row"), "{e}");
        let e = check(&opts(200, 5, 2), 100).unwrap_err().to_string();
        assert!(e.contains("200 seed labels from a pool of 100 rows"), "{e}");
        let e = check(&opts(50, 25, 3), 100).unwrap_err().to_string();
        assert!(e.contains("125 labels"), "{e}");
        assert!(check(&opts(25, 25, 3), 100).is_ok());
    }
}
