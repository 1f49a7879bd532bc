//! The training loop. It runs on its own thread (`spawn`), takes
//! `Command`s between optimizer steps and reports every `Event` both on a
//! channel and in the run's metrics.jsonl, so the run goes on (and is
//! recorded) whether or not a front end is listening.

use super::metrics::score_targets;
use super::optim::{AdamW, Grads};
use super::schedule::LrSchedule;
use super::state::TrainerState;
use super::step::{train_step, StepPlan};
use crate::config::RunConfig;
use crate::data::{Row, Targets};
use crate::disk::{link_or_copy, write_atomic};
use crate::error::{Error, Result};
use crate::model::checkpoint::{
    publish_dir, safetensors_bytes, write_model_files, PLAIN_MODEL_FILES,
};
use crate::model::peft;
use crate::model::peft::adalora::RankAllocator;
use crate::model::peft::PeftSpec;
use crate::model::Classifier;
use crate::predict::evaluate;
use crate::protocol::{Command, Event, FinishReason};
use crate::rng::Rng;
use crate::run_dir::RunDir;
use crate::text::batch::{make_batch, targets_tensor};
use crate::text::TextEncoder;
use candle_core::Tensor;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::Instant;

pub struct Trainer {
    pub cfg: RunConfig,
    pub run: RunDir,
    pub model: Classifier,
    /// What the steps minimize and the evaluations report.
    pub objective: super::objective::Objective,
    pub text: TextEncoder,
    pub train_ids: Vec<Vec<u32>>,
    pub train_targets: Targets,
    pub val_ids: Vec<Vec<u32>>,
    pub val_targets: Targets,
    pub val_rows: Vec<Row>,
    pub optimizer: AdamW,
    /// AdaLoRA's rank allocator, called after every optimizer step.
    pub allocator: Option<RankAllocator>,
    pub state: TrainerState,
    /// Dropout masks.
    pub rng: Rng,
    pub device_name: String,
    /// Messages from preparation, sent as Log events when the run starts.
    pub notes: Vec<String>,
    /// A failed metrics.jsonl write (a full disk): the run stops on it
    /// rather than train on with a log that silently lost events.
    pub log_error: Option<Error>,
}

pub struct EngineHandle {
    pub commands: Sender<Command>,
    pub events: Receiver<Event>,
    pub thread: std::thread::JoinHandle<()>,
}

/// Run `trainer` on a new thread.
pub fn spawn(trainer: Trainer) -> EngineHandle {
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (ev_tx, ev_rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("tunebench-engine".into())
        .spawn(move || trainer.run(cmd_rx, ev_tx))
        .expect("spawning the engine thread");
    EngineHandle {
        commands: cmd_tx,
        events: ev_rx,
        thread,
    }
}

/// The examples of one epoch, in a seeded order that depends only on the
/// seed and the epoch (so a resumed run sees the same order).
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::derived(seed, 1000 + epoch as u64).shuffle(&mut order);
    order
}

/// What ended the loop.
enum Outcome {
    Finished(FinishReason),
    Failed(String),
}

struct Timing {
    started: Instant,
    recent: VecDeque<(f64, usize, usize)>,
}

impl Timing {
    fn record(&mut self, secs: f64, samples: usize, tokens: usize) -> (f64, f64, f64) {
        self.recent.push_back((secs, samples, tokens));
        if self.recent.len() > 20 {
            self.recent.pop_front();
        }
        let t: f64 = self.recent.iter().map(|r| r.0).sum::<f64>().max(1e-9);
        let s: usize = self.recent.iter().map(|r| r.1).sum();
        let k: usize = self.recent.iter().map(|r| r.2).sum();
        (s as f64 / t, k as f64 / t, t / self.recent.len() as f64)
    }
}

/// Optimizer steps in one epoch of `rows` training rows.
pub fn steps_per_epoch(cfg: &RunConfig, rows: usize) -> usize {
    let batches = rows.div_ceil(cfg.batch_size);
    batches.div_ceil(cfg.grad_accum).max(1)
}

/// The run's optimizer steps: its epochs, or `max_steps` when fewer.
pub fn total_steps(cfg: &RunConfig, rows: usize) -> usize {
    let all = cfg.epochs * steps_per_epoch(cfg, rows);
    if cfg.max_steps > 0 {
        all.min(cfg.max_steps)
    } else {
        all
    }
}

impl Trainer {
    pub fn steps_per_epoch(&self) -> usize {
        steps_per_epoch(&self.cfg, self.train_ids.len())
    }

    pub fn total_steps(&self) -> usize {
        total_steps(&self.cfg, self.train_ids.len())
    }

    fn emit(&mut self, events: &Sender<Event>, event: Event) {
        if let Err(e) = self.run.append_event(&event) {
            tracing::error!("cannot write metrics.jsonl: {e}");
            self.log_error.get_or_insert(e);
        }
        match &event {
            Event::Log { message, .. } => tracing::info!("{message}"),
            Event::Failed { error, .. } => tracing::error!("{error}"),
            Event::Eval {
                step,
                loss,
                accuracy,
                macro_f1,
                ..
            } => {
                tracing::info!("eval step {step}: loss {loss:.4} accuracy {accuracy:.4} macro-F1 {macro_f1:.4}")
            }
            _ => {}
        }
        // A closed channel only means no front end is listening.
        let _ = events.send(event);
    }

    fn log(&mut self, events: &Sender<Event>, message: String) {
        self.emit(
            events,
            Event::Log {
                level: "info".into(),
                message,
            },
        );
    }

    /// Run to the end; every outcome is reported as an event.
    pub fn run(mut self, commands: Receiver<Command>, events: Sender<Event>) {
        let total = self.total_steps();
        self.emit(
            &events,
            Event::Started {
                run_dir: self.run.root.clone(),
                total_steps: total,
                steps_per_epoch: self.steps_per_epoch(),
                start_step: self.state.step,
                params: self.model.params.total(),
                trainable: self.model.params.count(),
                device: self.device_name.clone(),
                precision: self.cfg.precision.name().into(),
                labels: self.model.labels.names().to_vec(),
                train_rows: self.train_ids.len(),
                val_rows: self.val_ids.len(),
                best_metric: self.cfg.judged_by(self.model.task).name().into(),
            },
        );
        for note in std::mem::take(&mut self.notes) {
            self.log(&events, note);
        }
        let outcome = match self.train_loop(&commands, &events, total) {
            Ok(o) => o,
            Err(e) => Outcome::Failed(self.failure_message(&e)),
        };
        let step = self.state.step;
        let event = match outcome {
            Outcome::Finished(reason) => Event::Finished {
                reason,
                step,
                best_step: self.state.best_step,
                best_metric: self.state.best_metric,
            },
            Outcome::Failed(error) => Event::Failed { step, error },
        };
        self.emit(&events, event);
    }

    fn train_loop(
        &mut self,
        commands: &Receiver<Command>,
        events: &Sender<Event>,
        total: usize,
    ) -> Result<Outcome> {
        let cfg = self.cfg.clone();
        let lr = cfg.lr.unwrap_or(crate::config::FINE_TUNE_LR);
        let schedule = LrSchedule::new(lr, cfg.warmup_ratio, total, cfg.schedule);
        let mut timing = Timing {
            started: Instant::now(),
            recent: VecDeque::new(),
        };
        if self.state.step >= total {
            return Ok(Outcome::Finished(FinishReason::MaxSteps));
        }
        while self.state.epoch < cfg.epochs {
            let order = epoch_order(self.train_ids.len(), cfg.seed, self.state.epoch);
            let batches: Vec<&[usize]> = order.chunks(cfg.batch_size).collect();
            while self.state.batch_in_epoch < batches.len() {
                if let Some(e) = self.log_error.take() {
                    return Err(e);
                }
                if let Some(reason) = self.poll_commands(commands, events)? {
                    return Ok(Outcome::Finished(reason));
                }
                let start = self.state.batch_in_epoch;
                let end = (start + cfg.grad_accum).min(batches.len());
                let t0 = Instant::now();
                let micro = self.batches(&batches[start..end])?;
                let lr = schedule.lr(self.state.step);
                let stats = match train_step(
                    &self.model,
                    &mut self.optimizer,
                    &mut self.rng,
                    &micro,
                    StepPlan {
                        objective: self.objective,
                        lr,
                        max_grad_norm: cfg.max_grad_norm,
                    },
                    self.state.loss_scaler.as_mut(),
                )? {
                    Ok(s) => s,
                    Err(bad) => return Ok(Outcome::Failed(self.nan_message(bad.what, bad.value))),
                };
                let (loss, samples, tokens, norm) =
                    (stats.loss, stats.samples, stats.tokens, stats.grad_norm);
                if let Some((grads, factor)) = &stats.grads {
                    self.allocate_ranks(self.state.step + 1, grads, *factor)?;
                }
                if stats.skipped {
                    let scale = self.state.loss_scaler.as_ref().map_or(1.0, |s| s.scale);
                    self.log(
                        events,
                        format!(
                            "step {}: f16 gradients overflowed; update skipped, loss scale now {scale}",
                            self.state.step + 1
                        ),
                    );
                }
                self.state.step += 1;
                self.state.batch_in_epoch = end;
                self.state.samples_seen += samples as u64;
                self.state.rng = self.rng.state(self.state.rng.seed);
                let (sps, tps, step_s) = timing.record(t0.elapsed().as_secs_f64(), samples, tokens);
                let step = self.state.step;
                self.emit(
                    events,
                    Event::Step {
                        step,
                        epoch: self.state.epoch as f64 + end as f64 / batches.len() as f64,
                        loss,
                        lr,
                        grad_norm: norm,
                        samples_per_s: sps,
                        tokens_per_s: tps,
                        elapsed_s: timing.started.elapsed().as_secs_f64(),
                        eta_s: step_s * (total - step) as f64,
                        device_mem_mib: crate::device::memory_in_use_mib(&self.model.device),
                    },
                );
                if cfg.eval_every > 0
                    && !cfg.eval_only_at_end
                    && step.is_multiple_of(cfg.eval_every)
                {
                    if let Some(reason) = self.eval_and_checkpoint(events)? {
                        return Ok(Outcome::Finished(reason));
                    }
                }
                if step >= total {
                    if self.state.batch_in_epoch >= batches.len() {
                        self.state.epoch += 1;
                        self.state.batch_in_epoch = 0;
                    }
                    if self.state.last_eval_step != Some(step) {
                        self.eval_and_checkpoint(events)?;
                    }
                    let done = self.state.epoch >= cfg.epochs;
                    return Ok(Outcome::Finished(if done {
                        FinishReason::Completed
                    } else {
                        FinishReason::MaxSteps
                    }));
                }
            }
            self.state.epoch += 1;
            self.state.batch_in_epoch = 0;
            let last_epoch = self.state.epoch >= cfg.epochs;
            if self.state.last_eval_step != Some(self.state.step)
                && (last_epoch || !cfg.eval_only_at_end)
            {
                if let Some(reason) = self.eval_and_checkpoint(events)? {
                    return Ok(Outcome::Finished(reason));
                }
            }
        }
        Ok(Outcome::Finished(FinishReason::Completed))
    }

    fn nan_message(&self, what: &str, value: f64) -> String {
        let last = RunDir::checkpoints(&self.run.root)
            .last()
            .map(|(_, p)| p.display().to_string())
            .unwrap_or_else(|| "none was written yet".into());
        format!(
            "{what} became {value} at step {} (epoch {}); training stopped. Last good checkpoint: {last}. Try a lower learning rate or a smaller max_grad_norm.",
            self.state.step + 1,
            self.state.epoch + 1
        )
    }

    /// The padded batches of the given example indices.
    fn batches(&self, micro: &[&[usize]]) -> Result<Vec<crate::text::Batch>> {
        micro
            .iter()
            .map(|idx| {
                let rows: Vec<&[u32]> = idx.iter().map(|&i| self.train_ids[i].as_slice()).collect();
                let mut batch = make_batch(&rows, None, self.text.pad_id(), &self.model.device)?;
                batch.labels = Some(targets_tensor(
                    &self.train_targets.select(idx),
                    &self.model.device,
                )?);
                Ok(batch)
            })
            .collect()
    }

    /// Handle queued commands; `Some` when the run must end.
    fn poll_commands(
        &mut self,
        commands: &Receiver<Command>,
        events: &Sender<Event>,
    ) -> Result<Option<FinishReason>> {
        loop {
            match commands.try_recv() {
                Ok(cmd) => {
                    if let Some(r) = self.apply(cmd, commands, events)? {
                        return Ok(Some(r));
                    }
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return Ok(None),
            }
        }
    }

    fn apply(
        &mut self,
        cmd: Command,
        commands: &Receiver<Command>,
        events: &Sender<Event>,
    ) -> Result<Option<FinishReason>> {
        match cmd {
            Command::Resume => {}
            Command::Stop { save } => {
                if save
                    && self.last_checkpoint_step() != Some(self.state.step)
                    && self.state.step > 0
                {
                    self.save_checkpoint(events, false)?;
                }
                return Ok(Some(FinishReason::Stopped));
            }
            Command::SaveCheckpoint => self.save_checkpoint(events, false)?,
            Command::Predict {
                id,
                text,
                text_pair,
                explain,
            } => {
                let t0 = Instant::now();
                // A request the model cannot answer (an unknown label to
                // explain) is reported; the run goes on.
                match crate::predict::answer(
                    &self.model,
                    &self.text,
                    &text,
                    text_pair.as_deref(),
                    explain.as_ref(),
                ) {
                    Ok(prediction) => {
                        let latency_ms = t0.elapsed().as_secs_f64() * 1e3;
                        self.emit(
                            events,
                            Event::Prediction {
                                id,
                                text,
                                prediction,
                                latency_ms,
                            },
                        );
                    }
                    Err(e) => self.emit(
                        events,
                        Event::Log {
                            level: "error".into(),
                            message: format!("prediction {id} failed: {e}"),
                        },
                    ),
                }
            }
            Command::Pause => {
                let step = self.state.step;
                self.emit(events, Event::Paused { step });
                loop {
                    match commands.recv() {
                        Ok(Command::Resume) => break,
                        Ok(Command::Pause) => {}
                        Ok(other) => {
                            if let Some(r) = self.apply(other, commands, events)? {
                                return Ok(Some(r));
                            }
                        }
                        // Nobody can resume us: stop, keeping the weights.
                        Err(_) => {
                            self.save_checkpoint(events, false)?;
                            return Ok(Some(FinishReason::Stopped));
                        }
                    }
                }
                self.emit(events, Event::Resumed { step });
            }
        }
        Ok(None)
    }

    /// The error, and what is left to resume from: the last checkpoint
    /// that was completely written (a failed one is never published).
    fn failure_message(&self, e: &Error) -> String {
        match RunDir::checkpoints(&self.run.root).last() {
            Some((step, dir)) => format!(
                "{e}\nthe last good checkpoint is intact: {} (step {step}); resume with `tunebench train --resume {}`",
                dir.display(),
                self.run.root.display()
            ),
            None => format!("{e}\nno checkpoint was written yet"),
        }
    }

    fn last_checkpoint_step(&self) -> Option<usize> {
        RunDir::checkpoints(&self.run.root).last().map(|(s, _)| *s)
    }

    /// Evaluate, track the best, checkpoint. `Some` when early stopping.
    fn eval_and_checkpoint(&mut self, events: &Sender<Event>) -> Result<Option<FinishReason>> {
        let out = evaluate(
            &self.model,
            self.text.pad_id(),
            &self.val_ids,
            &self.val_targets,
        )?;
        // Multi-label thresholds are tuned on each evaluation (for the
        // metric the run is judged by) and kept with the checkpoint it
        // writes; or fixed by `threshold`.
        let best = self.cfg.judged_by(self.model.task);
        let fixed = match self.cfg.threshold {
            crate::config::Threshold::Fixed(t) => vec![t as f32; self.model.labels.len()],
            crate::config::Threshold::Tuned => Vec::new(),
        };
        let decide = if fixed.is_empty() {
            super::thresholds::Decide::Tune(best)
        } else {
            super::thresholds::Decide::At(&fixed)
        };
        let scores = score_targets(
            self.model.labels.names(),
            &self.val_targets,
            &out.logits,
            decide,
        );
        if let Some(crate::protocol::TaskScores::MultiLabel { thresholds, .. }) = &scores.task {
            self.model.thresholds = thresholds.clone();
        }
        let metrics = self.objective.metrics(out.loss, &scores);
        let value = metrics.get(best.name()).copied().unwrap_or(f64::NAN);
        // Higher is better inside: a loss or error counts negated.
        let metric = if best.lower_is_better() {
            -value
        } else {
            value
        };
        let improved = self.state.best_metric.is_none_or(|b| metric > b);
        if improved {
            self.state.best_metric = Some(metric);
            self.state.best_step = Some(self.state.step);
            self.state.evals_since_best = 0;
        } else {
            self.state.evals_since_best += 1;
        }
        self.state.last_eval_step = Some(self.state.step);
        let steps_per_epoch = self.steps_per_epoch() as f64;
        // Written before the event: a front end reloads the file when it
        // hears of the evaluation.
        self.write_predictions(&out.logits)?;
        self.emit(
            events,
            Event::Eval {
                step: self.state.step,
                epoch: self.state.step as f64 / steps_per_epoch,
                split: "val".into(),
                loss: out.loss,
                accuracy: scores.accuracy,
                macro_f1: scores.macro_f1,
                per_class: scores.per_class.clone(),
                confusion: scores.confusion.clone(),
                since_best: self.state.evals_since_best,
                task: scores.task.clone(),
                metrics,
            },
        );
        self.save_checkpoint(events, improved)?;
        let patience = self.cfg.patience;
        Ok((patience > 0 && self.state.evals_since_best >= patience)
            .then_some(FinishReason::EarlyStopped))
    }

    /// predictions.csv: the latest validation predictions.
    fn write_predictions(&self, logits: &[Vec<f32>]) -> Result<()> {
        let bytes = crate::predict::predictions_csv(
            &self.val_rows,
            &self.model,
            &self.val_targets,
            logits,
        )?;
        Ok(write_atomic(
            &self.run.root.join("predictions.csv"),
            &bytes,
        )?)
    }

    /// Write checkpoints/step-N (and best/ when `best`) atomically, then
    /// drop the oldest checkpoints beyond `keep_checkpoints`.
    fn save_checkpoint(&mut self, events: &Sender<Event>, best: bool) -> Result<()> {
        let step = self.state.step;
        let dir = self.run.checkpoints_dir();
        let tmp = dir.join(format!(".tmp-step-{step}"));
        let _ = std::fs::remove_dir_all(&tmp);
        // A failed write (a full disk) removes the partial copy, so its
        // space comes back and the previous checkpoint stays the last one.
        let written = self.write_checkpoint_files(&tmp);
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        written?;
        let dest = dir.join(format!("step-{step}"));
        publish_dir(&tmp, &dest)?;
        if best {
            let best_tmp = self.run.root.join(".tmp-best");
            let _ = std::fs::remove_dir_all(&best_tmp);
            let linked = link_best_files(&dest, &best_tmp);
            if linked.is_err() {
                let _ = std::fs::remove_dir_all(&best_tmp);
            }
            linked?;
            publish_dir(&best_tmp, &self.run.best_dir())?;
        }
        let all = RunDir::checkpoints(&self.run.root);
        let excess = all.len().saturating_sub(self.cfg.keep_checkpoints);
        for (_, old) in all.into_iter().take(excess) {
            let _ = std::fs::remove_dir_all(old);
        }
        self.emit(
            events,
            Event::Checkpoint {
                step,
                path: dest,
                best,
            },
        );
        Ok(())
    }

    /// AdaLoRA: the allocator's call after optimizer step `step` (peft's
    /// `update_and_allocate`), on the updated weights and the gradients as
    /// the update used them; the rank pattern it sets is what checkpoints
    /// cut the adapters to.
    fn allocate_ranks(&mut self, step: usize, grads: &Grads, factor: f64) -> Result<()> {
        let Some(allocator) = &mut self.allocator else {
            return Ok(());
        };
        let Some((PeftSpec::AdaLora(spec), _)) = &mut self.model.peft else {
            return Ok(());
        };
        let vars = &self.model.params.vars;
        let grad = |name: &str| -> Option<Tensor> {
            let i = vars.iter().position(|(n, _)| n == name)?;
            grads.0.get(i)?.as_ref().and_then(|g| (g * factor).ok())
        };
        if let Some(pattern) =
            allocator.update_and_allocate(step, vars, &grad, spec.rank_pattern.as_ref())?
        {
            spec.rank_pattern = Some(pattern);
        }
        Ok(())
    }

    /// Everything a checkpoint holds, written into the unpublished `dir`.
    fn write_checkpoint_files(&self, dir: &Path) -> Result<()> {
        write_model_files(dir, &self.model, &self.text)?;
        let mut state = self.optimizer.state_tensors()?;
        state.extend(adapter_state(&self.model, self.allocator.as_ref()));
        write_atomic(
            &dir.join("training_state.safetensors"),
            &safetensors_bytes(&state)?,
        )?;
        let state_json =
            serde_json::to_vec_pretty(&self.state).map_err(|e| Error::Run(e.to_string()))?;
        Ok(write_atomic(&dir.join("trainer_state.json"), &state_json)?)
    }

    /// Run synchronously to the end, collecting events (tests, scripts).
    pub fn run_to_end(self) -> Vec<Event> {
        let (_tx, rx) = mpsc::channel();
        let (etx, erx) = mpsc::channel();
        self.run(rx, etx);
        erx.try_iter().collect()
    }
}

/// What an adapter file does not hold but training goes on from, beside
/// the optimizer's state: AdaLoRA's uncut A, E, B, its rank pattern (0/1
/// rows) and the allocator's EMAs; a prefix's unprojected table and MLP.
fn adapter_state(model: &Classifier, allocator: Option<&RankAllocator>) -> Vec<(String, Tensor)> {
    let mut out = allocator.map(|a| a.state_tensors()).unwrap_or_default();
    let keep = match &model.peft {
        Some((PeftSpec::AdaLora(_), _)) => |n: &str| n.contains(".lora_"),
        Some((PeftSpec::Prefix(_), _)) => |n: &str| n.starts_with("prompt_encoder."),
        _ => return out,
    };
    out.extend(
        model
            .params
            .vars
            .iter()
            .filter(|(n, _)| keep(n))
            .map(|(n, v)| (format!("adapter.param.{n}"), v.as_tensor().clone())),
    );
    if let Some((PeftSpec::AdaLora(spec), _)) = &model.peft {
        for (module, keep) in spec.rank_pattern.iter().flatten() {
            let flags: Vec<f32> = keep.iter().map(|k| f32::from(u8::from(*k))).collect();
            let n = flags.len();
            if let Ok(t) = Tensor::from_vec(flags, n, &candle_core::Device::Cpu) {
                out.push((format!("adalora.pattern.{module}"), t));
            }
        }
    }
    out
}

/// best/ as hard links to the checkpoint's files (copies across
/// filesystems): the same bytes, without a second copy on disk.
fn link_best_files(checkpoint: &Path, best_tmp: &Path) -> Result<()> {
    std::fs::create_dir_all(best_tmp).map_err(|e| Error::io(best_tmp.display().to_string(), e))?;
    let adapter = [peft::CONFIG_FILE, peft::WEIGHTS_FILE]
        .into_iter()
        .filter(|f| checkpoint.join(f).is_file());
    // A prefix checkpoint has no model.safetensors.
    for f in PLAIN_MODEL_FILES
        .into_iter()
        .filter(|f| checkpoint.join(f).is_file())
        .chain(["trainer_state.json"])
        .chain(adapter)
    {
        link_or_copy(&checkpoint.join(f), &best_tmp.join(f))?;
    }
    Ok(())
}
