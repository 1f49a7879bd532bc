//! A sweep worker: samples a config for each new trial, starts it as an
//! ordinary run process under `SWEEP/trial-NNN/`, reports each evaluation
//! to the study, prunes losers, and at the end links the best trial's
//! best checkpoint as `SWEEP/best/`. Workers share nothing but the
//! journal: several on one file (one machine or many) split the trials.

use super::distribution::{json_to_toml, Distribution};
use super::journal::{Journal, JournalError, Trial, TrialState};
use super::pruner::Pruner;
use super::sampler;
use crate::config::{BestMetric, RunConfig, SearchSpec};
use crate::protocol::Event;
use crate::remote::endpoint::pid_alive;
use crate::remote::{LaunchSpec, WatchedRun};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The sweep's config (with its `[search]` table), in the sweep dir.
pub const SWEEP_FILE: &str = "sweep.toml";
/// Where the study lives: `{"storage": PATH, "study": NAME}`.
pub const STUDY_FILE: &str = "study.json";
/// The best trial's full config, trainable with `train --config`.
pub const BEST_CONFIG: &str = "best.toml";
/// Trial system attributes this worker writes.
pub const ATTR_RUN_DIR: &str = "tunebench:run_dir";
pub const ATTR_HOST: &str = "tunebench:host";
/// The sweep process that watches the trial: while it lives, the trial is
/// its business, not stale.
pub const ATTR_WORKER_PID: &str = "tunebench:worker_pid";
pub const ATTR_BEST_STEP: &str = "tunebench:best_step";
pub const ATTR_FAIL_REASON: &str = "fail_reason";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyRef {
    pub storage: PathBuf,
    pub study: String,
}

impl StudyRef {
    pub fn read(sweep_dir: &Path) -> Option<StudyRef> {
        let text = std::fs::read_to_string(sweep_dir.join(STUDY_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Whether `dir` holds a sweep.
pub fn is_sweep_dir(dir: &Path) -> bool {
    dir.join(SWEEP_FILE).is_file()
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The user's input: exit 2.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Other(String),
}

pub struct SweepOptions {
    /// The config, `[search]` included.
    pub config: RunConfig,
    pub dir: PathBuf,
    pub storage: PathBuf,
    pub study: String,
    /// Keep every trial's weights (else only the best trial's).
    pub keep_all: bool,
    /// This program (trials run as its `run-engine`).
    pub exe: PathBuf,
}

/// What a finished worker reports.
#[derive(Debug)]
pub struct SweepOutcome {
    pub best: Option<(usize, f64)>,
    pub finished: usize,
    pub interrupted: bool,
    pub overhead: Overhead,
}

/// Where this worker's own time went (not the trials' training).
#[derive(Debug, Default, Clone)]
pub struct Overhead {
    pub trials: usize,
    /// Counting, creating and sampling a trial under the journal lock.
    pub sample: Duration,
    /// Spawning a run process until it listens (it loads the model and
    /// data first).
    pub launch: Duration,
    /// Reporting an evaluation and deciding whether to prune.
    pub decide: Duration,
    pub decisions: usize,
}

impl Overhead {
    pub fn per_trial_ms(&self) -> (f64, f64, f64) {
        let n = self.trials.max(1) as f64;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        (
            ms(self.sample) / n,
            ms(self.launch) / n,
            ms(self.decide) / self.decisions.max(1) as f64,
        )
    }
}

/// Set by Ctrl-C: start no trial, stop the running ones.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

struct Running {
    trial_id: usize,
    number: usize,
    run: WatchedRun,
    best: Option<(i64, f64)>,
    /// Pruned (or interrupted): the process is being stopped.
    stopping: bool,
    /// Training examples per optimizer step (batch size × accumulation):
    /// evaluations are reported at examples seen, so the pruner compares
    /// trials of different batch sizes at the same amount of data.
    examples_per_step: i64,
}

/// The value a trial is scored by, from one evaluation.
pub fn metric_of(event: &Event, metric: &str) -> Option<(i64, f64)> {
    let Event::Eval { step, .. } = event else {
        return None;
    };
    Some((*step as i64, event.eval_metric(metric)?))
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes a
    // NUL-terminated name into it (truncated if longer).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The search space as Optuna distributions, in key order.
pub fn space_of(search: &SearchSpec) -> Vec<(String, Distribution)> {
    search
        .params
        .iter()
        .map(|(n, p)| (n.clone(), Distribution::from_spec(p)))
        .collect()
}

/// A trial's config: the sweep's without `[search]`, the sampled values
/// set, and best/ chosen by the sweep's metric.
pub fn trial_config(base: &RunConfig, trial: &Trial) -> Result<RunConfig, String> {
    let mut cfg = base.clone();
    cfg.search = SearchSpec::default();
    if let Ok(m) = base.search.settings.metric.parse::<BestMetric>() {
        cfg.best_metric = Some(m);
    }
    for p in &trial.params {
        let value = json_to_toml(&p.distribution.external(p.internal));
        cfg = cfg.with_value(&p.name, &value)?;
    }
    let problems = cfg.problems();
    if let Some(p) = problems.first() {
        return Err(format!("{}: {}", p.field, p.reason));
    }
    Ok(cfg)
}

/// The params of a trial as `k=v` text.
pub fn params_text(trial: &Trial) -> String {
    trial
        .params
        .iter()
        .map(|p| format!("{}={}", p.name, p.distribution.value_text(p.internal)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Check that the study can hold this search: same direction, and every
/// parameter it already samples with the same distribution.
fn check_layout(
    journal: &Journal,
    study_id: usize,
    maximize: bool,
    space: &[(String, Distribution)],
) -> Result<(), SweepError> {
    let study = &journal.replay.studies[&study_id];
    let path = journal.path().display();
    if study.directions.len() != 1 || study.maximize() != maximize {
        return Err(SweepError::BadInput(format!(
            "{path}: study '{}' has another layout: it {} {} objective(s), this sweep {}s one",
            study.name,
            if study.maximize() {
                "maximizes"
            } else {
                "minimizes"
            },
            study.directions.len(),
            if maximize { "maximize" } else { "minimize" },
        )));
    }
    for t in journal.replay.trials_of(study_id) {
        for p in &t.params {
            if let Some((_, d)) = space.iter().find(|(n, _)| *n == p.name) {
                if *d != p.distribution {
                    return Err(SweepError::BadInput(format!(
                        "{path}: study '{}' has another layout: trial {} samples {} from {}, \
                         this sweep from {}",
                        study.name,
                        t.number,
                        p.name,
                        p.distribution.to_json(),
                        d.to_json()
                    )));
                }
            }
        }
    }
    Ok(())
}

pub struct Worker {
    opts: SweepOptions,
    journal: Journal,
    study_id: usize,
    maximize: bool,
    space: Vec<(String, Distribution)>,
    pruner: Pruner,
    host: String,
    running: Vec<Running>,
    log: Box<dyn FnMut(String)>,
    overhead: Overhead,
}

impl Worker {
    /// Open (or create) the sweep dir and study; check they fit together.
    pub fn open(opts: SweepOptions, log: Box<dyn FnMut(String)>) -> Result<Worker, SweepError> {
        let search = &opts.config.search;
        if search.params.is_empty() {
            return Err(SweepError::BadInput(
                "[search] names no parameter to search, e.g. lr = { log_uniform = [1e-5, 1e-3] }"
                    .into(),
            ));
        }
        if let Err(e) = opts.config.validate() {
            return Err(SweepError::BadInput(e.to_string()));
        }
        let space = space_of(search);
        if search.settings.sampler == crate::config::SamplerKind::Grid {
            if let Some((name, _)) = space.iter().find(|(_, d)| d.grid().is_none()) {
                return Err(SweepError::BadInput(format!(
                    "[search] {name}: a grid needs choices, ints or a float step \
                     (e.g. {{ uniform = [0.0, 0.2], step = 0.05 }})"
                )));
            }
        }
        std::fs::create_dir_all(&opts.dir)
            .map_err(|e| SweepError::Other(format!("{}: {e}", opts.dir.display())))?;
        let sweep_file = opts.dir.join(SWEEP_FILE);
        let mut saved = opts.config.clone();
        saved.search = search.clone();
        if let Ok(existing) = RunConfig::from_toml_file(&sweep_file) {
            if existing.search.params != search.params {
                return Err(SweepError::BadInput(format!(
                    "{} holds another sweep (its [search] differs); choose another --out \
                     or continue it with `tunebench sweep --resume {}`",
                    opts.dir.display(),
                    opts.dir.display()
                )));
            }
        } else {
            crate::disk::write_atomic(&sweep_file, saved.to_toml().as_bytes())
                .map_err(|e| SweepError::Other(e.to_string()))?;
        }
        let study_ref = StudyRef {
            storage: std::path::absolute(&opts.storage).unwrap_or(opts.storage.clone()),
            study: opts.study.clone(),
        };
        let json = serde_json::to_vec_pretty(&study_ref).unwrap_or_default();
        crate::disk::write_atomic(&opts.dir.join(STUDY_FILE), &json)
            .map_err(|e| SweepError::Other(e.to_string()))?;
        let mut journal = Journal::open(&opts.storage)?;
        let maximize = search.settings.direction() == crate::config::Direction::Maximize;
        let study_id = match journal.replay.study_by_name(&opts.study) {
            Some(s) => s.id,
            None => journal.create_study(&opts.study, maximize)?,
        };
        check_layout(&journal, study_id, maximize, &space)?;
        let pruner = Pruner::new(search.settings.pruner);
        Ok(Worker {
            opts,
            journal,
            study_id,
            maximize,
            space,
            pruner,
            host: hostname(),
            running: Vec::new(),
            log,
            overhead: Overhead::default(),
        })
    }

    fn settings(&self) -> &crate::config::SearchSettings {
        &self.opts.config.search.settings
    }

    /// Run trials until the study has its number of them (or the timeout,
    /// or Ctrl-C), then keep the best.
    pub fn run(mut self) -> Result<SweepOutcome, SweepError> {
        let start = Instant::now();
        self.adopt_or_fail_stale()?;
        let timeout = self.settings().timeout;
        let parallel = self.settings().parallel;
        let mut exhausted = false;
        loop {
            let interrupted = INTERRUPTED.load(Ordering::SeqCst);
            let timed_out = timeout > 0.0 && start.elapsed().as_secs_f64() > timeout;
            if interrupted {
                self.stop_all();
            }
            while !interrupted && !timed_out && !exhausted && self.running.len() < parallel {
                match self.start_trial()? {
                    Some(r) => self.running.push(r),
                    None => exhausted = true,
                }
            }
            if self.running.is_empty() {
                break;
            }
            self.poll()?;
            std::thread::sleep(Duration::from_millis(150));
        }
        let interrupted = INTERRUPTED.load(Ordering::SeqCst);
        let best = self.keep_best()?;
        let finished = self
            .journal
            .replay
            .trials_of(self.study_id)
            .iter()
            .filter(|t| t.state.is_finished())
            .count();
        Ok(SweepOutcome {
            best,
            finished,
            interrupted,
            overhead: self.overhead.clone(),
        })
    }

    /// Trials left RUNNING by a worker on this host that died: adopted if
    /// their run still lives, recorded from their events if they ended,
    /// else failed (Optuna's stale-trial rule, with the process as the
    /// heartbeat).
    fn adopt_or_fail_stale(&mut self) -> Result<(), SweepError> {
        self.journal.sync()?;
        let stale: Vec<Trial> = self
            .journal
            .replay
            .trials_of(self.study_id)
            .into_iter()
            .filter(|t| t.state == TrialState::Running)
            .filter(|t| t.system_str(ATTR_HOST) == Some(self.host.as_str()))
            .filter(|t| {
                let owner = t.system_attrs.get(ATTR_WORKER_PID).and_then(|v| v.as_u64());
                !owner.is_some_and(|pid| pid_alive(pid as u32))
            })
            .cloned()
            .collect();
        for t in stale {
            let Some(dir) = t.system_str(ATTR_RUN_DIR).map(PathBuf::from) else {
                continue;
            };
            let mut r = Running {
                trial_id: t.id,
                number: t.number,
                run: WatchedRun::adopt(&dir),
                best: None,
                stopping: false,
                examples_per_step: 1,
            };
            let live = r.run.alive();
            if let Ok(resolved) = crate::run_dir::RunDir::read_config(&dir) {
                let c = resolved.config;
                r.examples_per_step = (c.batch_size * c.grad_accum.max(1)) as i64;
            }
            // Re-read its evaluations (reported ones are not reported again).
            let events = r.run.new_events();
            for e in &events {
                if let Some((step, v)) = metric_of(e, &self.settings().metric) {
                    let at = step * r.examples_per_step;
                    r.best = Some(better(r.best, (at, v), self.maximize));
                }
            }
            if let Some(end) = events.iter().find(|e| e.is_terminal()) {
                let end = end.clone();
                self.finish(&mut r, &end)?;
            } else if live {
                (self.log)(format!("trial {} still runs: watching it again", t.number));
                self.running.push(r);
            } else {
                let why = "its run process died (no heartbeat: the process is gone)";
                (self.log)(format!("trial {} failed: {why}", t.number));
                self.journal.locked(|l| {
                    l.set_system_attr(t.id, ATTR_FAIL_REASON, json!(why))?;
                    l.set_state(t.id, TrialState::Fail, None)?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Create, sample and launch the next trial; None when the study has
    /// all its trials (or the grid is used up).
    fn start_trial(&mut self) -> Result<Option<Running>, SweepError> {
        let n_trials = self.settings().trials;
        let sampler_kind = self.settings().sampler;
        let seed = self.settings().seed.unwrap_or(self.opts.config.seed);
        let (study_id, maximize) = (self.study_id, self.maximize);
        let space = self.space.clone();
        let dir = self.opts.dir.clone();
        let host = self.host.clone();
        // Counting, creating and sampling under one lock: two workers never
        // go past the budget or take the same grid point.
        let t0 = Instant::now();
        let created = self.journal.locked(|l| {
            let count = l.replay().trials_of(study_id).len();
            if count >= n_trials {
                return Ok(None);
            }
            let others: Vec<Trial> = l
                .replay()
                .trials_of(study_id)
                .into_iter()
                .cloned()
                .collect();
            let refs: Vec<&Trial> = others.iter().collect();
            let mut rng =
                rand_chacha::ChaCha8Rng::seed_from_u64(sampler::trial_seed(seed, count as u64));
            let Some(point) = sampler::sample(sampler_kind, &space, &refs, maximize, &mut rng)
            else {
                return Ok(None);
            };
            let id = l.create_trial(study_id)?;
            let number = l.replay().trials[id].number;
            let run_dir = std::path::absolute(dir.join(format!("trial-{number:03}")))
                .unwrap_or_else(|_| dir.join(format!("trial-{number:03}")));
            for ((name, d), v) in space.iter().zip(&point) {
                l.set_param(id, name, *v, d)?;
            }
            l.set_system_attr(id, ATTR_RUN_DIR, json!(run_dir.display().to_string()))?;
            l.set_system_attr(id, ATTR_HOST, json!(host))?;
            l.set_system_attr(id, ATTR_WORKER_PID, json!(std::process::id()))?;
            Ok(Some((id, number, run_dir)))
        })?;
        self.overhead.sample += t0.elapsed();
        let Some((id, number, run_dir)) = created else {
            return Ok(None);
        };
        self.overhead.trials += 1;
        let trial = self.journal.replay.trials[id].clone();
        (self.log)(format!("trial {number} starts: {}", params_text(&trial)));
        let mut r = Running {
            trial_id: id,
            number,
            run: WatchedRun::adopt(&run_dir),
            best: None,
            stopping: false,
            examples_per_step: 1,
        };
        let cfg = match trial_config(&self.opts.config, &trial) {
            Ok(c) => {
                r.examples_per_step = (c.batch_size * c.grad_accum.max(1)) as i64;
                c
            }
            Err(why) => {
                self.fail(&mut r, &format!("bad value: {why}"))?;
                return self.start_trial();
            }
        };
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let spec = LaunchSpec {
            resume: false,
            config: cfg,
            threads: Some((threads / self.settings().parallel).max(1)),
        };
        let t0 = Instant::now();
        let launched = WatchedRun::launch(&self.opts.exe, &run_dir, &spec);
        self.overhead.launch += t0.elapsed();
        match launched {
            Ok(run) => r.run = run,
            Err(e) => {
                self.fail(&mut r, &format!("could not start: {e}"))?;
                return self.start_trial();
            }
        }
        Ok(Some(r))
    }

    fn fail(&mut self, r: &mut Running, why: &str) -> Result<(), SweepError> {
        (self.log)(format!("trial {} failed: {why}", r.number));
        let id = r.trial_id;
        self.journal.locked(|l| {
            l.set_system_attr(id, ATTR_FAIL_REASON, json!(why))?;
            l.set_state(id, TrialState::Fail, None)?;
            Ok(())
        })?;
        Ok(())
    }

    /// Read each running trial's new events: report evaluations, prune,
    /// record the ends.
    fn poll(&mut self) -> Result<(), SweepError> {
        let mut still = Vec::new();
        for mut r in std::mem::take(&mut self.running) {
            if !self.poll_one(&mut r)? {
                still.push(r);
            }
        }
        self.running = still;
        Ok(())
    }

    fn poll_one(&mut self, r: &mut Running) -> Result<bool, SweepError> {
        let metric = self.settings().metric.clone();
        for event in r.run.new_events() {
            if let Some((step, value)) = metric_of(&event, &metric) {
                if !r.stopping {
                    self.report(r, step * r.examples_per_step, value)?;
                }
            }
            if event.is_terminal() {
                self.finish(r, &event)?;
                return Ok(true);
            }
        }
        // A process that is gone without a last word.
        if r.run.gone() {
            let tail = r.run.new_events();
            if let Some(end) = tail.iter().find(|e| e.is_terminal()) {
                self.finish(r, end)?;
            } else if r.stopping {
                self.finish(
                    r,
                    &Event::Finished {
                        reason: crate::protocol::FinishReason::Stopped,
                        step: 0,
                        best_step: None,
                        best_metric: None,
                    },
                )?;
            } else {
                self.fail(r, "its run process died without a last event")?;
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn report(&mut self, r: &mut Running, step: i64, value: f64) -> Result<(), SweepError> {
        r.best = Some(better(r.best, (step, value), self.maximize));
        let id = r.trial_id;
        let t0 = Instant::now();
        self.journal.set_intermediate(id, step, value)?;
        let trials = self.study_trials();
        let refs: Vec<&Trial> = trials.iter().collect();
        let me = &self.journal.replay.trials[id];
        let decision = self.pruner.decide(me, &refs, self.maximize);
        let prune = decision.prune;
        if !decision.rungs.is_empty() || prune {
            let last = value;
            let per_step = r.examples_per_step.max(1);
            self.journal.locked(|l| {
                for (key, v) in &decision.rungs {
                    l.set_system_attr(id, key, json!(v))?;
                }
                if prune {
                    l.set_system_attr(id, ATTR_BEST_STEP, json!(step / per_step))?;
                    l.set_state(id, TrialState::Pruned, Some(vec![last]))?;
                }
                Ok(())
            })?;
        }
        self.overhead.decide += t0.elapsed();
        self.overhead.decisions += 1;
        if prune {
            let metric = self.settings().metric.clone();
            (self.log)(format!(
                "trial {} pruned at step {} ({step} examples; {metric} {value:.4})",
                r.number,
                step / r.examples_per_step.max(1)
            ));
            r.stopping = true;
            r.run.stop(false);
        }
        Ok(())
    }

    /// Record how a trial ended (a pruned one is already recorded).
    fn finish(&mut self, r: &mut Running, end: &Event) -> Result<(), SweepError> {
        let id = r.trial_id;
        let state = self.journal.replay.trials[id].state;
        if state.is_finished() {
            return Ok(());
        }
        match end {
            Event::Failed { error, .. } => self.fail(r, error)?,
            _ if r.stopping => self.fail(r, "stopped by the user (Ctrl-C)")?,
            _ => match r.best {
                None => self.fail(r, "it finished without an evaluation")?,
                Some((step, value)) => {
                    let metric = self.settings().metric.clone();
                    (self.log)(format!(
                        "trial {} complete: {metric} {value:.4} at step {}",
                        r.number,
                        step / r.examples_per_step.max(1)
                    ));
                    let step = step / r.examples_per_step.max(1);
                    self.journal.locked(|l| {
                        l.set_system_attr(id, ATTR_BEST_STEP, json!(step))?;
                        l.set_state(id, TrialState::Complete, Some(vec![value]))?;
                        Ok(())
                    })?;
                }
            },
        }
        Ok(())
    }

    fn stop_all(&mut self) {
        for r in &mut self.running {
            if !r.stopping {
                r.stopping = true;
                r.run.stop(true);
            }
        }
    }

    /// The study's trials as they stand (a copy: the journal moves on).
    fn study_trials(&self) -> Vec<Trial> {
        self.journal
            .replay
            .trials_of(self.study_id)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Link the best complete trial's best checkpoint as `best/`, write
    /// `best.toml`, and drop the weights of trials that cannot be best.
    fn keep_best(&mut self) -> Result<Option<(usize, f64)>, SweepError> {
        self.journal.sync()?;
        let trials = self.study_trials();
        let Some(best) = best_trial(&trials, self.maximize) else {
            return Ok(None);
        };
        let value = best.value().unwrap_or(f64::NAN);
        let Some(best_dir) = best.system_str(ATTR_RUN_DIR).map(PathBuf::from) else {
            // Found by another kind of worker: nothing of ours to link.
            return Ok(Some((best.number, value)));
        };
        if let Some(ckpt) =
            crate::runs::reference::pick_checkpoint(&best_dir, crate::runs::reference::Pick::Best)
        {
            link_best(&self.opts.dir, &ckpt)?;
        }
        if let Ok(resolved) = crate::run_dir::RunDir::read_config(&best_dir) {
            let text = format!(
                "# The best trial of this sweep: trial {} ({} {value}).\n\
                 # Train it again with: tunebench train --config {}\n{}",
                best.number,
                self.settings().metric,
                BEST_CONFIG,
                resolved.config.to_toml()
            );
            crate::disk::write_atomic(&self.opts.dir.join(BEST_CONFIG), text.as_bytes())
                .map_err(|e| SweepError::Other(e.to_string()))?;
        }
        if !self.opts.keep_all {
            for t in &trials {
                if t.id == best.id || !t.state.is_finished() {
                    continue;
                }
                if let Some(dir) = t.system_str(ATTR_RUN_DIR) {
                    for sub in ["checkpoints", "best"] {
                        let _ = std::fs::remove_dir_all(Path::new(dir).join(sub));
                    }
                }
            }
        }
        Ok(Some((best.number, value)))
    }
}

/// The best complete trial, as Optuna's `study.best_trial`.
pub fn best_trial(trials: &[Trial], maximize: bool) -> Option<&Trial> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value().is_some_and(|v| !v.is_nan()))
        .max_by(|a, b| {
            let (va, vb) = (a.value().unwrap(), b.value().unwrap());
            let ord = va.total_cmp(&vb);
            // Ties: the earlier trial wins.
            let ord = if maximize { ord } else { ord.reverse() };
            ord.then(b.number.cmp(&a.number))
        })
}

fn better(old: Option<(i64, f64)>, new: (i64, f64), maximize: bool) -> (i64, f64) {
    match old {
        Some(o) if (maximize && o.1 >= new.1) || (!maximize && o.1 <= new.1) => o,
        _ => new,
    }
}

/// `SWEEP/best` → the checkpoint, as a relative symlink (no copy).
fn link_best(sweep: &Path, ckpt: &Path) -> Result<(), SweepError> {
    let link = sweep.join("best");
    let target = ckpt
        .strip_prefix(sweep)
        .map(Path::to_path_buf)
        .or_else(|_| {
            std::path::absolute(ckpt).map(|a| {
                std::path::absolute(sweep)
                    .ok()
                    .and_then(|s| a.strip_prefix(&s).ok().map(Path::to_path_buf))
                    .unwrap_or(a)
            })
        })
        .unwrap_or_else(|_| ckpt.to_path_buf());
    let tmp = sweep.join(".best.tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&target, &tmp)
        .and_then(|_| std::fs::rename(&tmp, &link))
        .map_err(|e| SweepError::Other(format!("{}: {e}", link.display())))
}
