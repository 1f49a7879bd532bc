//! The labelling workbench (`tunebench label`): the row the latest model
//! most wants a label for, what it guesses, one key per label. Each label
//! is saved at once (`label::session`); after every batch the model
//! retrains in the background while the person goes on from the previous
//! ranking, and the queue is re-ranked when the new model lands.

use super::keymap::{command, Cmd, Scope};
use super::label_round::{RoundUpdate, RoundWatch};
use super::theme::Theme;
use crate::config::RunConfig;
use crate::label::session::{LaunchedRound, Offer, RoundReport, Scores, Session};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use std::path::PathBuf;
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

pub struct LabelView {
    pub session: Session,
    pub current: Option<Offer>,
    shown_at: Instant,
    pub status: String,
    /// The round training in the background, if any, and the labels it
    /// trains on.
    pub training: Option<(usize, usize)>,
    /// How that round is getting on (its run's step and loss).
    pub training_note: String,
    started: Instant,
    labeled_here: usize,
    base: RunConfig,
    /// The stop rule fired: more labels are unlikely to change the model.
    pub stop_signal: bool,
    /// A keyword being typed after `/`.
    pub typing: Option<String>,
    /// A label's name being typed after Tab.
    pub naming: Option<String>,
    /// Only rows holding this keyword are offered (Esc clears it).
    pub keyword: Option<String>,
    /// Multi-label: the labels toggled on for the row on screen (indexes
    /// into the label set), given with Enter.
    pub chosen: std::collections::BTreeSet<usize>,
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
            training_note: String::new(),
            started: Instant::now(),
            labeled_here: 0,
            base,
            stop_signal: false,
            typing: None,
            naming: None,
            keyword: None,
            chosen: Default::default(),
        };
        view.stop_signal = view.session.stop_signal();
        view.next();
        view
    }

    fn next(&mut self) {
        self.chosen.clear();
        self.current = match &self.keyword {
            Some(k) => self.session.queue_matching(k, 1).pop(),
            None => self.session.queue(1).pop(),
        };
        self.shown_at = Instant::now();
        if self.current.is_some() {
            return;
        }
        if let Some(k) = self.keyword.take() {
            self.status = format!("no open row holds '{k}': back to the queue");
            self.next();
        } else {
            self.status = "every pool row has a label (or was skipped): q quits".into();
        }
    }

    /// Each label's own letter: its first letter, when no other label
    /// starts with it and no command key is that letter.
    pub fn letters(&self) -> Vec<Option<char>> {
        let labels = &self.session.spec.labels;
        let first = |l: &String| l.chars().next().map(|c| c.to_ascii_lowercase());
        labels
            .iter()
            .map(|l| {
                let c = first(l).filter(|c| c.is_ascii_alphabetic())?;
                let unique = labels.iter().filter(|m| first(m) == Some(c)).count() == 1;
                let free = command(Scope::Label, &KeyEvent::from(KeyCode::Char(c))).is_none();
                (unique && free).then_some(c)
            })
            .collect()
    }

    /// The labels whose name starts with `typed` (any case); the one
    /// named exactly, if any, alone.
    pub fn named(&self, typed: &str) -> Vec<usize> {
        let typed = typed.trim().to_lowercase();
        let labels = &self.session.spec.labels;
        if let Some(i) = labels.iter().position(|l| l.to_lowercase() == typed) {
            return vec![i];
        }
        (0..labels.len())
            .filter(|&i| labels[i].to_lowercase().starts_with(&typed))
            .collect()
    }

    /// A key while a label's name is typed: Enter picks the one label it
    /// names.
    fn on_naming_key(&mut self, key: KeyEvent) -> Option<LabelAction> {
        let typed = self.naming.as_mut()?;
        match key.code {
            KeyCode::Char(c) => typed.push(c),
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Esc => self.naming = None,
            KeyCode::Enter | KeyCode::Tab => {
                let typed = typed.clone();
                let found = self.named(&typed);
                let names = |ids: &[usize]| -> String {
                    ids.iter()
                        .map(|&i| self.session.spec.labels[i].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match found.as_slice() {
                    [one] => {
                        self.naming = None;
                        return self.pick(*one);
                    }
                    [] => self.status = format!("no label starts with '{typed}'"),
                    many => self.status = format!("'{typed}' starts {}: type more", names(many)),
                }
            }
            _ => {}
        }
        None
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<LabelAction> {
        if self.naming.is_some() {
            return self.on_naming_key(key);
        }
        if let Some(typed) = &mut self.typing {
            match key.code {
                KeyCode::Char(c) => typed.push(c),
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Enter => {
                    let k = self.typing.take().unwrap_or_default();
                    if !k.trim().is_empty() {
                        let n = self.session.queue_matching(&k, usize::MAX).len();
                        self.status = format!("{n} open rows hold '{k}' · Esc: back to the queue");
                        self.keyword = Some(k);
                        self.next();
                    }
                }
                KeyCode::Esc => self.typing = None,
                _ => {}
            }
            return None;
        }
        let cmd = command(Scope::Label, &key);
        match (cmd, key.code) {
            (Some(Cmd::Quit), KeyCode::Esc) if self.keyword.is_some() => {
                self.keyword = None;
                self.status = "back to the queue".into();
                self.next();
            }
            (Some(Cmd::Quit), _) => return Some(LabelAction::Quit),
            (Some(Cmd::PickLabel), KeyCode::Char(c)) => {
                let i = c.to_digit(10)? as usize;
                return self.pick(i.checked_sub(1)?);
            }
            (None, KeyCode::Char(c)) => {
                let i = self.letters().iter().position(|l| *l == Some(c))?;
                return self.pick(i);
            }
            (Some(Cmd::Submit), _) if self.session.spec.multi_label => {
                if self.chosen.is_empty() {
                    self.status =
                        "no label chosen: toggle at least one with its key, then Enter".into();
                    return None;
                }
                let names: Vec<&str> = self
                    .chosen
                    .iter()
                    .filter_map(|&i| self.session.spec.labels.get(i).map(String::as_str))
                    .collect();
                let set = names.join(&crate::data::task::SET_SEP.to_string());
                return self.label_current(&set);
            }
            (Some(Cmd::Search), _) => self.typing = Some(String::new()),
            (Some(Cmd::NameLabel), _) if self.current.is_some() => {
                self.naming = Some(String::new())
            }
            (Some(Cmd::Unsure), _) => {
                if let Some(o) = self.current.clone() {
                    match self.session.mark_unsure(o.line) {
                        Ok(()) => {
                            self.status = format!(
                                "line {} set aside as unsure ({} so far, in unsure.json)",
                                o.line,
                                self.session.unsure.len()
                            )
                        }
                        Err(e) => self.status = e.to_string(),
                    }
                }
                self.next();
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

    /// The key of the label at `index`: it labels the row on screen, or
    /// in a multi-label session toggles the label in the row's set.
    fn pick(&mut self, index: usize) -> Option<LabelAction> {
        let label = self.session.spec.labels.get(index)?.clone();
        if !self.session.spec.multi_label {
            return self.label_current(&label);
        }
        if !self.chosen.remove(&index) {
            self.chosen.insert(index);
        }
        None
    }

    /// Give the row on screen `label` (a set joined by `SET_SEP` in a
    /// multi-label session).
    fn label_current(&mut self, label: &str) -> Option<LabelAction> {
        let offer = self.current.clone()?;
        let seconds = self.shown_at.elapsed().as_secs_f64();
        let given = match &self.keyword {
            Some(_) => self.session.give_as(offer.line, label, seconds, "keyword"),
            None => self.session.give(offer.line, label, seconds),
        };
        match given {
            Ok(()) => {
                self.labeled_here += 1;
                self.status = format!("line {}: {}", offer.line, label.replace('|', ", "));
            }
            Err(e) => self.status = e.to_string(),
        }
        let retrain = self.retrain_if_due();
        self.next();
        retrain
    }

    /// The cold start landed: its batch goes first.
    pub fn cold_start_finished(&mut self, result: Result<Option<Scores>, String>) {
        match result {
            Ok(Some(scores)) if self.session.given.is_empty() => {
                let n = scores.picked.len();
                if let Err(e) = self.session.set_scores(scores) {
                    self.status = e.to_string();
                    return;
                }
                self.status = format!(
                    "first batch: {n} rows, one per cluster of the encoder's sentence vectors"
                );
                if self.keyword.is_none() {
                    self.next();
                }
            }
            Ok(_) => self.status.clear(),
            Err(e) => self.status = format!("no diverse first batch ({e}): random rows"),
        }
    }

    /// A batch just completed and no round is training: start one.
    fn retrain_if_due(&mut self) -> Option<LabelAction> {
        if !self.session.batch_done() || self.training.is_some() {
            return None;
        }
        let round = self.session.round();
        let cfg = match self.session.round_config(&self.base) {
            Ok(cfg) => cfg,
            Err(e) => {
                self.status = format!("round {round} could not start: {e}");
                return None;
            }
        };
        self.training = Some((round, self.session.labeled()));
        Some(LabelAction::Retrain {
            round,
            cfg: Box::new(cfg),
        })
    }

    /// A background round ended: its ranking of the pool, or why not.
    pub fn round_finished(&mut self, round: usize, result: Result<RoundReport, String>) {
        let labels = self.training.take().map_or(0, |(_, n)| n);
        self.training_note.clear();
        match result {
            Ok(report) => {
                let (train_s, score_s, precision) =
                    (report.train_s, report.score_s, report.pool_precision);
                if let Err(e) = self.session.record_round(labels, report) {
                    self.status = e.to_string();
                    return;
                }
                self.stop_signal = self.session.stop_signal();
                self.status = if self.stop_signal {
                    format!("round {round}: the model stopped changing (mean κ ≥ 0.99 over 3 rounds): more labels are unlikely to help")
                } else if round == 0 {
                    format!("round 0 trained on the --labeled rows ({train_s:.0}s) and ranked the pool ({score_s:.0}s, {precision})")
                } else {
                    format!("round {round} retrained on {labels} labels ({train_s:.0}s) and re-ranked the pool ({score_s:.0}s, {precision})")
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

    fn hint(&self) -> String {
        let keys = if self.session.spec.multi_label {
            "1-9, a letter or Tab+name toggles a label · Enter gives the set"
        } else {
            "1-9, a letter or Tab+name labels"
        };
        if let Some(t) = &self.naming {
            let matches: Vec<&str> = self
                .named(t)
                .into_iter()
                .take(6)
                .map(|i| self.session.spec.labels[i].as_str())
                .collect();
            return format!(
                "label: {t}▏ ({}) · Enter picks it · Esc cancels",
                if matches.is_empty() {
                    "no label starts so".to_string()
                } else {
                    matches.join(", ")
                }
            );
        }
        match (&self.typing, &self.keyword) {
            (Some(t), _) => format!("find: {t}▏ (Enter: offer only rows holding it · Esc cancel)"),
            (None, Some(k)) => format!(
                "rows holding '{k}' · {keys} · x skip · ? unsure · u undo · Esc back to the queue"
            ),
            (None, None) => {
                format!("{keys} · x skip · ? unsure · u undo · / find · q quit (saved as you go)")
            }
        }
    }

    /// What the rounds' validation number is: accuracy, or micro-F1 for sets.
    fn metric_name(&self) -> &'static str {
        if self.session.spec.multi_label {
            "micro-F1"
        } else {
            "accuracy"
        }
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let area = f.area();
        let [head, body, labels, curve, foot] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(4),
            Constraint::Length(label_rows(self.session.spec.labels.len()) as u16 + 2),
            Constraint::Length(4),
            Constraint::Length(2),
        ])
        .areas(area);
        let s = &self.session;
        let training = match self.training {
            Some((r, _)) if self.training_note.is_empty() => {
                format!("round {r} training in the background")
            }
            Some((r, _)) => format!(
                "round {r} training in the background ({})",
                self.training_note
            ),
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
                    None if s.scores.picked.contains(&o.line) => format!(
                        " line {} · no model yet: one of a diverse first batch ",
                        o.line
                    ),
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
        let letters = self.letters();
        // Many labels go in columns with shorter bars.
        let cols = label_columns(s.spec.labels.len());
        let (name_w, bar_w) = if cols == 1 { (16, 20) } else { (14, 8) };
        let cells: Vec<Line> = s
            .spec
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let p = guess.iter().find(|(n, _)| n == l).map(|(_, p)| *p);
                let bar = p.map_or(String::new(), |p| {
                    format!(
                        "{:<bar_w$} {:>5.1}%",
                        "█".repeat((p * bar_w as f64).round() as usize),
                        p * 100.0
                    )
                });
                // Digits reach the first nine; the rest by letter or Tab.
                let digit = if i < 9 {
                    (i + 1).to_string()
                } else {
                    " ".into()
                };
                let key = match letters[i] {
                    Some(c) => format!(" {digit}/{c} "),
                    None => format!(" {digit}   "),
                };
                let mark = match (s.spec.multi_label, self.chosen.contains(&i)) {
                    (false, _) => "",
                    (true, true) => "[x] ",
                    (true, false) => "[ ] ",
                };
                let name: String = l.chars().take(name_w).collect();
                Line::from(vec![
                    Span::styled(key, theme.accent()),
                    Span::styled(mark, theme.accent()),
                    Span::raw(format!("{name:<name_w$} {bar}")),
                ])
            })
            .collect();
        let block = Block::default()
            .borders(Borders::ALL)
            .title(if s.spec.multi_label {
                " a key toggles a label, Enter gives the set · the model's guess "
            } else {
                " a key per label · the model's guess "
            });
        let inner = block.inner(labels);
        f.render_widget(block, labels);
        let per_col = s.spec.labels.len().div_ceil(cols).max(1);
        let areas = Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols]).split(inner);
        for (area, chunk) in areas.iter().zip(cells.chunks(per_col)) {
            f.render_widget(Paragraph::new(chunk.to_vec()), *area);
        }
        let curve_text = if s.rounds.is_empty() {
            "no round finished yet".to_string()
        } else {
            s.rounds
                .iter()
                .map(|r| {
                    let acc = r
                        .accuracy
                        .map_or(String::new(), |a| format!(" {:.1}%", a * 100.0));
                    let kappa = r.kappa.map_or(String::new(), |k| format!(" κ {k:.2}"));
                    let pseudo = match r.pseudo {
                        0 => String::new(),
                        n => format!(" +{n} pseudo"),
                    };
                    if r.round == 0 {
                        format!("--labeled rows{acc}")
                    } else {
                        format!("{} labels{pseudo}{acc}{kappa}", r.labels)
                    }
                })
                .collect::<Vec<_>>()
                .join(" · ")
        };
        f.render_widget(
            Paragraph::new(curve_text).wrap(Wrap { trim: true }).block(
                Block::default().borders(Borders::ALL).title(format!(
                    " rounds: validation {}, κ to the previous round{} ",
                    self.metric_name(),
                    if self.stop_signal {
                        " · STOP: the model stopped changing"
                    } else {
                        ""
                    }
                )),
            ),
            curve,
        );
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(self.status.clone(), theme.accent()),
                Line::styled(self.hint(), theme.dim()),
            ]),
            foot,
        );
    }
}

/// A column of the labels pane holds at most this many labels.
const LABELS_PER_COLUMN: usize = 10;

/// The labels pane's columns for `n` labels (at most three).
fn label_columns(n: usize) -> usize {
    n.div_ceil(LABELS_PER_COLUMN).clamp(1, 3)
}

/// The labels pane's rows for `n` labels.
fn label_rows(n: usize) -> usize {
    n.div_ceil(label_columns(n)).max(1)
}

/// A round trained and scored in the background: its number and result.
type RoundDone = (usize, Result<RoundReport, String>);

/// Run the labelling workbench until the person quits. Labels are saved
/// as they are given; a round still training when they quit trains on in
/// its own process, and the next session (`--resume`) ranks the pool with
/// it. Returns that round's run directory, if any.
pub fn run(view: LabelView) -> anyhow::Result<Option<PathBuf>> {
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        anyhow::anyhow!("labelling needs a terminal ({e})")
    })?;
    let result = event_loop(&mut terminal, view);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut view: LabelView,
) -> anyhow::Result<Option<PathBuf>> {
    use crossterm::event::{poll, read, Event as TermEvent, KeyEventKind};
    let theme = Theme::from_env();
    let exe = crate::remote::launch::current_exe()?;
    let (tx, rx) = std::sync::mpsc::channel::<RoundDone>();
    let (launch_tx, launch_rx) = std::sync::mpsc::channel();
    let (cold_tx, cold_rx) = std::sync::mpsc::channel();
    let mut watch = RoundWatch::adopt(&view.session);
    if let Some(w) = &watch {
        view.training = Some((w.launched.round, w.launched.labels));
        view.status = format!(
            "round {} was started before: watching its run ({})",
            w.launched.round,
            w.dir().display()
        );
    }
    // Rows labeled before the session train round 0 at once.
    if watch.is_none() && view.session.wants_first_round() {
        match view.session.round_config(&view.base) {
            Ok(cfg) => {
                view.training = Some((0, 0));
                view.status = "round 0: training on the --labeled rows; label on meanwhile".into();
                spawn_launch(&view.session, 0, cfg, &exe, &launch_tx);
            }
            Err(e) => view.status = format!("round 0 could not start: {e}"),
        }
    }
    // The first batch is picked in the background (`Session::cold_start`).
    if watch.is_none() && view.session.wants_cold_start() {
        view.status =
            "picking a diverse first batch from the encoder's sentence vectors: label on meanwhile"
                .into();
        let (session, seed, device) = (
            view.session.clone(),
            view.base.seed,
            view.base.device.clone(),
        );
        std::thread::spawn(move || {
            let picked = crate::device::open(&device, seed)
                .and_then(|d| session.cold_start(&d))
                .map_err(|e| e.to_string());
            let _ = cold_tx.send(picked);
        });
    }
    loop {
        terminal.draw(|f| view.draw(f, &theme))?;
        if let Some(w) = watch.as_mut() {
            match w.poll() {
                RoundUpdate::Progress(note) if note.is_empty() => {}
                RoundUpdate::Progress(note) => view.training_note = note,
                RoundUpdate::Trained {
                    checkpoint,
                    accuracy,
                    train_s,
                } => {
                    let launched = w.launched.clone();
                    watch = None;
                    view.training_note = "ranking the pool".into();
                    let (session, tx) = (view.session.clone(), tx.clone());
                    let (device, seed) = (view.base.device.clone(), view.base.seed);
                    std::thread::spawn(move || {
                        let round = launched.round;
                        let scored = crate::device::open(&device, seed)
                            .and_then(|d| session.score_round(&checkpoint, round, &d));
                        let done = scored
                            .map(|s| RoundReport {
                                accuracy,
                                train_s,
                                pseudo: launched.pseudo,
                                ..s.report
                            })
                            .map_err(|e| e.to_string());
                        let _ = tx.send((round, done));
                    });
                }
                RoundUpdate::Failed(e) => {
                    let round = w.launched.round;
                    watch = None;
                    view.round_finished(round, Err(e));
                }
            }
        }
        if let Ok((round, launched)) = launch_rx.try_recv() {
            match launched {
                Ok((launched, run)) => watch = Some(RoundWatch::new(launched, run)),
                Err(e) => view.round_finished(round, Err(e)),
            }
            continue;
        }
        if let Ok((round, result)) = rx.try_recv() {
            view.round_finished(round, result);
            continue;
        }
        if let Ok(result) = cold_rx.try_recv() {
            view.cold_start_finished(result);
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
            Some(LabelAction::Quit) => {
                // A round whose process is still starting is waited for,
                // so the person hears where it trains on.
                if watch.is_none() && view.training.is_some() {
                    let started = launch_rx.recv_timeout(std::time::Duration::from_secs(60));
                    if let Ok((_, Ok((_, run)))) = started {
                        return Ok(Some(run.dir));
                    }
                }
                return Ok(watch.map(|w| w.dir().to_path_buf()));
            }
            Some(LabelAction::Retrain { round, cfg }) => {
                spawn_launch(&view.session, round, *cfg, &exe, &launch_tx);
            }
            None => {}
        }
    }
}

/// A round's launch, answered on `tx`: starting the process waits for it
/// to load the data and the model, so not on the key's thread.
fn spawn_launch(
    session: &Session,
    round: usize,
    cfg: RunConfig,
    exe: &std::path::Path,
    tx: &std::sync::mpsc::Sender<(usize, LaunchResult)>,
) {
    let (session, tx, exe) = (session.clone(), tx.clone(), exe.to_path_buf());
    std::thread::spawn(move || {
        let launched = session
            .launch_round(round, cfg, &exe)
            .map_err(|e| e.to_string());
        let _ = tx.send((round, launched));
    });
}

/// A round's run process as started, or why it could not start.
type LaunchResult = Result<(LaunchedRound, crate::remote::WatchedRun), String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_labels_go_in_up_to_three_columns() {
        assert_eq!((label_columns(4), label_rows(4)), (1, 4));
        assert_eq!((label_columns(10), label_rows(10)), (1, 10));
        assert_eq!((label_columns(11), label_rows(11)), (2, 6));
        assert_eq!((label_columns(28), label_rows(28)), (3, 10));
        assert_eq!((label_columns(40), label_rows(40)), (3, 14));
        assert_eq!(label_rows(0), 1);
    }
}
