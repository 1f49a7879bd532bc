//! The labelling workbench (`tunebench label`): the row the latest model
//! most wants a label for, what it guesses, one key per label. Each label
//! is saved at once (`label::session`); after every batch the model
//! retrains in the background while the person goes on from the previous
//! ranking, and the queue is re-ranked when the new model lands.

use super::keymap::{command, Cmd, Scope};
use super::theme::Theme;
use crate::config::RunConfig;
use crate::label::session::{Offer, RoundReport, Session};
use crate::label::stopping::KappaAverage;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use std::time::Instant;

/// What the view asks its loop to do.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelAction {
    Quit,
    /// Train round `round` on `cfg` in the background, then re-rank.
    Retrain {
        round: usize,
        cfg: Box<RunConfig>,
    },
}

/// A finished round, as the view lists them.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundResult {
    pub round: usize,
    pub labels: usize,
    /// The round's validation accuracy (with a validation file).
    pub accuracy: Option<f64>,
    /// Cohen's κ between this round's predictions on the stop set and the
    /// previous round's.
    pub kappa: Option<f64>,
}

pub struct LabelView {
    pub session: Session,
    pub current: Option<Offer>,
    shown_at: Instant,
    pub status: String,
    /// The round training in the background, if any, and the labels it
    /// trains on.
    pub training: Option<(usize, usize)>,
    pub rounds: Vec<RoundResult>,
    started: Instant,
    labeled_here: usize,
    base: RunConfig,
    /// small-text's KappaAverage over the rounds (window 3, 0.99).
    kappa: KappaAverage,
    /// The stop rule fired: more labels are unlikely to change the model.
    pub stop_signal: bool,
}

impl LabelView {
    /// `base`: the settings of every retraining run (epochs, max_len…).
    pub fn new(session: Session, base: RunConfig) -> Self {
        let mut view = LabelView {
            session,
            current: None,
            shown_at: Instant::now(),
            status: String::new(),
            training: None,
            rounds: Vec::new(),
            started: Instant::now(),
            labeled_here: 0,
            base,
            kappa: KappaAverage::new(0),
            stop_signal: false,
        };
        view.kappa = KappaAverage::new(view.session.spec.labels.len());
        view.next();
        view
    }

    fn next(&mut self) {
        self.current = self.session.queue(1).pop();
        self.shown_at = Instant::now();
        if self.current.is_none() {
            self.status = "every pool row has a label (or was skipped): q quits".into();
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<LabelAction> {
        let cmd = command(Scope::Label, &key);
        match (cmd, key.code) {
            (Some(Cmd::Quit), _) => return Some(LabelAction::Quit),
            (Some(Cmd::PickLabel), KeyCode::Char(c)) => {
                let i = c.to_digit(10)? as usize;
                let label = self.session.spec.labels.get(i.checked_sub(1)?)?.clone();
                let offer = self.current.clone()?;
                let seconds = self.shown_at.elapsed().as_secs_f64();
                match self.session.give(offer.line, &label, seconds) {
                    Ok(()) => {
                        self.labeled_here += 1;
                        self.status = format!("line {}: {label}", offer.line);
                    }
                    Err(e) => self.status = e.to_string(),
                }
                let retrain = self.retrain_if_due();
                self.next();
                return retrain;
            }
            (Some(Cmd::Skip), _) => {
                if let Some(o) = &self.current {
                    self.session.skip(o.line);
                    self.status = format!("line {} skipped", o.line);
                }
                self.next();
            }
            (Some(Cmd::Undo), _) => match self.session.undo() {
                Ok(Some(g)) => {
                    self.labeled_here = self.labeled_here.saturating_sub(1);
                    self.status = format!("took back line {}: {}", g.line, g.label);
                    self.next();
                }
                Ok(None) => self.status = "nothing to undo".into(),
                Err(e) => self.status = e.to_string(),
            },
            _ => {}
        }
        None
    }

    /// A batch just completed and no round is training: start one.
    fn retrain_if_due(&mut self) -> Option<LabelAction> {
        if !self.session.batch_done() || self.training.is_some() {
            return None;
        }
        let round = self.session.round();
        self.training = Some((round, self.session.labeled()));
        Some(LabelAction::Retrain {
            round,
            cfg: Box::new(self.session.round_config(&self.base)),
        })
    }

    /// A background round ended: its ranking of the pool, or why not.
    pub fn round_finished(&mut self, round: usize, result: Result<RoundReport, String>) {
        let labels = self.training.take().map_or(0, |(_, n)| n);
        match result {
            Ok(RoundReport {
                scores,
                accuracy,
                train_s,
                score_s,
                pool_precision,
            }) => {
                let before = self.kappa.history.len();
                self.stop_signal |= self.kappa.stop(&scores.stop_predictions);
                let kappa = (self.kappa.history.len() > before)
                    .then(|| self.kappa.history.last().copied())
                    .flatten();
                if let Err(e) = self.session.set_scores(scores) {
                    self.status = e.to_string();
                    return;
                }
                self.rounds.push(RoundResult {
                    round,
                    labels,
                    accuracy,
                    kappa,
                });
                self.status = if self.stop_signal {
                    format!("round {round}: the model stopped changing (mean κ ≥ 0.99 over 3 rounds): more labels are unlikely to help")
                } else {
                    format!("round {round} retrained on {labels} labels ({train_s:.0}s) and re-ranked the pool ({score_s:.0}s, {pool_precision})")
                };
                // The row on screen stays unless it was answered meanwhile.
                self.next();
            }
            Err(e) => self.status = format!("round {round} failed: {e}"),
        }
    }

    fn per_minute(&self) -> f64 {
        let minutes = self.started.elapsed().as_secs_f64() / 60.0;
        if minutes > 0.0 {
            self.labeled_here as f64 / minutes
        } else {
            0.0
        }
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let area = f.area();
        let [head, body, labels, curve, foot] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(4),
            Constraint::Length(self.session.spec.labels.len() as u16 + 2),
            Constraint::Length(4),
            Constraint::Length(2),
        ])
        .areas(area);
        let s = &self.session;
        let training = match self.training {
            Some((r, _)) => format!("round {r} training in the background"),
            None => format!(
                "next round after {} more",
                s.spec.batch - s.given.len() % s.spec.batch.max(1)
            ),
        };
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(
                    format!(
                        "Labelling · {} labeled · {} · {:.1} labels/min",
                        s.labeled(),
                        training,
                        self.per_minute()
                    ),
                    theme.accent(),
                ),
                Line::styled(
                    format!(
                        "pool {} · strategy {} · model {} · session {}",
                        s.spec.pool.display(),
                        s.spec.strategy,
                        s.spec.model,
                        s.dir.display()
                    ),
                    theme.dim(),
                ),
            ]),
            head,
        );
        let (title, text) = match &self.current {
            Some(o) => {
                let why = match o.score {
                    Some(score) => format!(" line {} · {} {score:.3} ", o.line, s.spec.strategy),
                    None => format!(" line {} · no model yet: a random row ", o.line),
                };
                (why, o.text.clone())
            }
            None => (" done ".into(), String::new()),
        };
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(title)),
            body,
        );
        let guess: Vec<(String, f64)> = self
            .current
            .as_ref()
            .map(|o| o.top.clone())
            .unwrap_or_default();
        let lines: Vec<Line> = s
            .spec
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let p = guess.iter().find(|(n, _)| n == l).map(|(_, p)| *p);
                let bar = p.map_or(String::new(), |p| {
                    format!(
                        "{:<20} {:>5.1}%",
                        "█".repeat((p * 20.0).round() as usize),
                        p * 100.0
                    )
                });
                Line::from(vec![
                    Span::styled(format!(" {} ", i + 1), theme.accent()),
                    Span::raw(format!("{l:<16} {bar}")),
                ])
            })
            .collect();
        f.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" a key per label · the model's guess "),
            ),
            labels,
        );
        let curve_text = if self.rounds.is_empty() {
            "no round finished yet".to_string()
        } else {
            self.rounds
                .iter()
                .map(|r| {
                    let acc = r
                        .accuracy
                        .map_or(String::new(), |a| format!(" {:.1}%", a * 100.0));
                    let kappa = r.kappa.map_or(String::new(), |k| format!(" κ {k:.2}"));
                    format!("{} labels{acc}{kappa}", r.labels)
                })
                .collect::<Vec<_>>()
                .join(" · ")
        };
        f.render_widget(
            Paragraph::new(curve_text).wrap(Wrap { trim: true }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(if self.stop_signal {
                    " rounds: validation accuracy, κ to the previous round · STOP: the model stopped changing "
                } else {
                    " rounds: validation accuracy, κ to the previous round "
                }),
            ),
            curve,
        );
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(self.status.clone(), theme.accent()),
                Line::styled(
                    "1-9 label · x skip · u undo · q quit (labels are saved as you go)",
                    theme.dim(),
                ),
            ]),
            foot,
        );
    }
}

/// A round trained and scored on its own thread: its number and result.
type RoundDone = (usize, Result<RoundReport, String>);

/// Run the labelling workbench until the person quits. Labels are saved
/// as they are given; a round still training when they quit is dropped
/// (its labels are in labels.csv, and the next session retrains).
pub fn run(view: LabelView) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        anyhow::anyhow!("labelling needs a terminal ({e})")
    })?;
    let result = event_loop(&mut terminal, view);
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, mut view: LabelView) -> anyhow::Result<()> {
    use crossterm::event::{poll, read, Event as TermEvent, KeyEventKind};
    let theme = Theme::from_env();
    let (tx, rx) = std::sync::mpsc::channel::<RoundDone>();
    loop {
        terminal.draw(|f| view.draw(f, &theme))?;
        if let Ok((round, result)) = rx.try_recv() {
            view.round_finished(round, result);
            continue;
        }
        if !poll(std::time::Duration::from_millis(100))? {
            continue;
        }
        let TermEvent::Key(key) = read()? else {
            continue;
        };
        if key.kind == KeyEventKind::Release {
            continue;
        }
        match view.on_key(key) {
            Some(LabelAction::Quit) => return Ok(()),
            Some(LabelAction::Retrain { round, cfg }) => {
                let (session, tx) = (view.session.clone(), tx.clone());
                std::thread::spawn(move || {
                    let done = session.train_round(round, *cfg).map_err(|e| e.to_string());
                    let _ = tx.send((round, done));
                });
            }
            None => {}
        }
    }
}
