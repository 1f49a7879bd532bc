//! A labelling round's run process, watched from the workbench: its
//! progress for the header, and when it ends, the checkpoint to rank the
//! pool with (or why there is none). A round that outlived the session
//! that started it (the person quit, the terminal closed) is adopted by
//! the next one.

use crate::label::session::{LaunchedRound, Session};
use crate::protocol::Event;
use crate::remote::WatchedRun;
use crate::run_dir::RunDir;
use std::path::PathBuf;
use std::time::Instant;

pub struct RoundWatch {
    pub launched: LaunchedRound,
    run: WatchedRun,
    started: Instant,
    total_steps: usize,
    /// Validation accuracy from the run's evaluation (with a validation
    /// file).
    accuracy: Option<f64>,
    finished: bool,
    /// Adopted from an earlier session: its training time is the run's own
    /// (its steps' clock), not the time since it was found.
    adopted: bool,
    trained_s: f64,
}

/// What a look at the run found.
#[derive(Debug, PartialEq)]
pub enum RoundUpdate {
    /// Still training: a line for the header.
    Progress(String),
    /// Trained: its checkpoint, validation accuracy and training time.
    Trained {
        checkpoint: PathBuf,
        accuracy: Option<f64>,
        train_s: f64,
    },
    Failed(String),
}

impl RoundWatch {
    pub fn new(launched: LaunchedRound, run: WatchedRun) -> Self {
        RoundWatch {
            launched,
            run,
            started: Instant::now(),
            total_steps: 0,
            accuracy: None,
            finished: false,
            adopted: false,
            trained_s: 0.0,
        }
    }

    /// The round a resumed session left behind: started (it trains on,
    /// or has finished) but never scored. None when there is none.
    pub fn adopt(session: &Session) -> Option<Self> {
        let round = session
            .rounds
            .last()
            .map_or(session.first_round(), |r| r.round + 1);
        let launched = session.launched_round(round)?;
        let dir = session.round_dir(round);
        dir.join("config.toml").exists().then(|| RoundWatch {
            adopted: true,
            ..RoundWatch::new(launched, WatchedRun::adopt(&dir))
        })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.run.dir
    }

    /// Read what the run said since the last look.
    pub fn poll(&mut self) -> RoundUpdate {
        let mut step = None;
        for event in self.run.new_events() {
            match event {
                Event::Started { total_steps, .. } => self.total_steps = total_steps,
                Event::Step {
                    step: s,
                    loss,
                    elapsed_s,
                    ..
                } => {
                    step = Some((s, loss));
                    self.trained_s = elapsed_s;
                }
                Event::Eval { accuracy, .. } if self.launched.validated => {
                    self.accuracy = Some(accuracy)
                }
                Event::Finished { .. } => self.finished = true,
                Event::Failed { error, .. } => return RoundUpdate::Failed(error),
                _ => {}
            }
        }
        if self.finished {
            return match RunDir::checkpoints(&self.run.dir).pop() {
                Some((_, checkpoint)) => RoundUpdate::Trained {
                    checkpoint,
                    accuracy: self.accuracy,
                    train_s: if self.adopted {
                        self.trained_s
                    } else {
                        self.started.elapsed().as_secs_f64()
                    },
                },
                None => {
                    RoundUpdate::Failed(format!("{} wrote no checkpoint", self.run.dir.display()))
                }
            };
        }
        if self.run.gone() {
            return RoundUpdate::Failed(format!(
                "its process ended before the run finished (see {})",
                self.run.dir.join("train.log").display()
            ));
        }
        RoundUpdate::Progress(match step {
            Some((s, loss)) if self.total_steps == 0 => format!("step {s} · loss {loss:.3}"),
            Some((s, loss)) => format!("step {s}/{} · loss {loss:.3}", self.total_steps),
            None if self.total_steps == 0 => "starting".into(),
            None => String::new(),
        })
    }
}
