//! Playground pane: type a sentence, get label probabilities from the live
//! weights (or a checkpoint), and watch every tested sentence get re-scored
//! as training goes on.

use super::action::Action;
use super::input::{InputOutcome, TextInput};
use super::keymap::{command, Cmd, Scope};
use super::pane::Pane;
use super::theme::Theme;
use crate::protocol::Explanation;
use crate::protocol::{strength, DEFAULT_STEPS};
use crate::protocol::{ExplainRequest, Prediction};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Tested {
    pub text: String,
    pub current: Option<Prediction>,
    /// The prediction before the latest re-score, to show the change.
    pub previous: Option<Prediction>,
    pub latency_ms: f64,
    pub waiting: bool,
    /// The latest token attributions asked for (e), kept across re-scores.
    pub explanation: Option<Explanation>,
}

/// What separates the two texts of a sentence pair typed in the playground.
pub const PAIR_SEPARATOR: &str = "||";

/// "first || second" → ("first", Some("second")); a single text as it is.
pub fn split_pair(typed: &str) -> (String, Option<String>) {
    match typed.split_once(PAIR_SEPARATOR) {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            (a.trim().to_string(), Some(b.trim().to_string()))
        }
        _ => (typed.to_string(), None),
    }
}

/// A prediction to ask for: (id, text, explanation wanted).
pub type Request = (u64, String, Option<ExplainRequest>);

#[derive(Default)]
pub struct PlaygroundPane {
    pub input: TextInput,
    pub editing: bool,
    pub tested: Vec<Tested>,
    /// The sentence shown in the probability panel.
    pub shown: Option<usize>,
    pending: HashMap<u64, usize>,
    next_id: u64,
    pub status: Option<String>,
    /// The training scores' range of a regression corpus, where a
    /// predicted value is placed.
    pub value_range: Option<(f32, f32)>,
}

impl PlaygroundPane {
    /// An empty playground placing regression values on `range`.
    pub fn with_value_range(range: Option<(f32, f32)>) -> Self {
        PlaygroundPane {
            value_range: range,
            ..Default::default()
        }
    }

    fn request(&mut self, index: usize) -> Request {
        self.request_with(index, None)
    }

    fn request_with(&mut self, index: usize, explain: Option<ExplainRequest>) -> Request {
        self.next_id += 1;
        self.pending.insert(self.next_id, index);
        self.tested[index].waiting = true;
        (self.next_id, self.tested[index].text.clone(), explain)
    }

    /// Explain the shown sentence: for its predicted label (e), or for the
    /// next label after the one last explained (t).
    fn explain_shown(&mut self, next_target: bool) -> Vec<Request> {
        let Some(i) = self.shown.filter(|&i| i < self.tested.len()) else {
            return Vec::new();
        };
        let t = &self.tested[i];
        // A token classifier's answer has no label to explain.
        if t.current.as_ref().is_some_and(|p| p.probs.is_empty()) {
            return Vec::new();
        }
        let target = match (next_target, &t.current, &t.explanation) {
            (true, Some(p), Some(e)) => {
                let at = p
                    .probs
                    .iter()
                    .position(|(l, _)| *l == e.target)
                    .unwrap_or(0);
                Some(p.probs[(at + 1) % p.probs.len()].0.clone())
            }
            (true, Some(p), None) => {
                let at = p.probs.iter().position(|(l, _)| *l == p.label).unwrap_or(0);
                Some(p.probs[(at + 1) % p.probs.len()].0.clone())
            }
            _ => None,
        };
        vec![self.request_with(
            i,
            Some(ExplainRequest {
                target,
                steps: DEFAULT_STEPS,
            }),
        )]
    }

    /// Keys; returns the prediction requests to send.
    fn handle_key(&mut self, key: KeyEvent) -> Vec<Request> {
        if !self.editing {
            match command(Scope::Playground, &key) {
                Some(Cmd::Type) => self.editing = true,
                Some(Cmd::Down) => {
                    self.shown = self
                        .shown
                        .map(|s| (s + 1).min(self.tested.len().saturating_sub(1)));
                }
                Some(Cmd::Up) => self.shown = self.shown.map(|s| s.saturating_sub(1)),
                Some(Cmd::Rescore) => return self.rescore_all(),
                Some(Cmd::Explain) => return self.explain_shown(false),
                Some(Cmd::ExplainNext) => return self.explain_shown(true),
                _ => {}
            }
            return Vec::new();
        }
        match self.input.handle(key) {
            InputOutcome::Submitted(text) if !text.trim().is_empty() => {
                let text = text.trim().to_string();
                let index = match self.tested.iter().position(|t| t.text == text) {
                    Some(i) => i,
                    None => {
                        self.tested.push(Tested {
                            text,
                            current: None,
                            previous: None,
                            latency_ms: 0.0,
                            waiting: false,
                            explanation: None,
                        });
                        self.tested.len() - 1
                    }
                };
                self.shown = Some(index);
                vec![self.request(index)]
            }
            InputOutcome::Cancelled => {
                self.editing = false;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Re-score every tested sentence (after an evaluation or checkpoint).
    pub fn rescore_all(&mut self) -> Vec<Request> {
        (0..self.tested.len()).map(|i| self.request(i)).collect()
    }

    pub fn on_prediction(&mut self, id: u64, prediction: &Prediction, latency_ms: f64) {
        let Some(i) = self.pending.remove(&id) else {
            return;
        };
        let t = &mut self.tested[i];
        let mut prediction = prediction.clone();
        if let Some(e) = prediction.explanation.take() {
            t.explanation = Some(e);
        }
        if t.current.as_ref() != Some(&prediction) {
            t.previous = t.current.take();
            t.current = Some(prediction);
        }
        t.latency_ms = latency_ms;
        t.waiting = self.pending.values().any(|&j| j == i);
    }

    /// A request that could not be answered (no model to predict with).
    pub fn clear_pending(&mut self) {
        self.pending.clear();
        for t in &mut self.tested {
            t.waiting = false;
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        let block = super::pane_block(" 4 Playground ", area, focused, theme);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [input_area, probs_area, list_area] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Percentage(45),
            Constraint::Min(2),
        ])
        .areas(inner);
        let mut input_line = vec![Span::styled("> ", theme.key())];
        if self.editing {
            let (before, after): (String, String) = {
                let chars: Vec<char> = self.input.text.chars().collect();
                (
                    chars[..self.input.cursor].iter().collect(),
                    chars[self.input.cursor..].iter().collect(),
                )
            };
            input_line.push(Span::raw(before));
            input_line.push(Span::styled("▏", theme.key()));
            input_line.push(Span::raw(after));
        } else {
            input_line.push(Span::styled("press Enter to type a sentence", theme.dim()));
        }
        let mut top = vec![Line::from(input_line)];
        if let Some(s) = &self.status {
            top.push(Line::styled(s.clone(), theme.error()));
        }
        f.render_widget(Paragraph::new(top), input_area);
        self.render_probs(f, probs_area, theme);
        self.render_list(f, list_area, theme);
    }

    fn render_probs(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(t) = self.shown.and_then(|i| self.tested.get(i)) else {
            f.render_widget(
                Paragraph::new("Probabilities appear here.").style(theme.dim()),
                area,
            );
            return;
        };
        let mut lines = vec![Line::styled(
            crate::data::clip(&t.text, area.width as usize),
            theme.header(),
        )];
        match &t.current {
            None => lines.push(Line::styled("scoring…", theme.dim())),
            Some(p) if p.entities.is_some() => {
                let entities = p.entities.as_deref().unwrap_or_default();
                lines.extend(entity_lines(&t.text, entities, area.width as usize, theme));
                lines.push(Line::styled(
                    format!("latency {:.1} ms", t.latency_ms),
                    theme.dim(),
                ));
            }
            Some(p) if p.value.is_some() => {
                lines.extend(value_lines(p, self.value_range, area.width as usize, theme));
                lines.push(Line::styled(
                    format!("latency {:.1} ms", t.latency_ms),
                    theme.dim(),
                ));
            }
            Some(p) => {
                let mut probs = p.probs.clone();
                probs.sort_by(|a, b| b.1.total_cmp(&a.1));
                let name_w = probs
                    .iter()
                    .map(|(l, _)| crate::data::display_width(l))
                    .max()
                    .unwrap_or(4)
                    .min(16);
                // A multi-label row also holds its ✓ mark.
                let extra = if p.thresholds.is_some() { 12 } else { 10 };
                let bar_w = (area.width as usize).saturating_sub(name_w + extra).max(1);
                // Multi-label: each label's threshold marked on its bar,
                // and ✓ on the labels over it (readable without colour).
                let threshold_of = |label: &str| {
                    let i = p.probs.iter().position(|(l, _)| l == label)?;
                    p.thresholds.as_ref()?.get(i).copied()
                };
                for (i, (label, prob)) in probs.iter().enumerate() {
                    let n = (prob * bar_w as f32).round() as usize;
                    let mut spans = vec![Span::raw(format!(
                        "{} ",
                        crate::data::fit_width(label, name_w)
                    ))];
                    match threshold_of(label) {
                        Some(t) => {
                            let mark = ((t * bar_w as f32).round() as usize).min(bar_w);
                            let bar: String = (0..=bar_w)
                                .map(|k| match (k == mark, k < n) {
                                    (true, _) => '│',
                                    (false, true) => '█',
                                    (false, false) => ' ',
                                })
                                .collect();
                            spans.push(Span::styled(bar, theme.bar(i)));
                            spans.push(Span::raw(format!(
                                " {:5.1}% {}",
                                prob * 100.0,
                                if *prob >= t { "✓" } else { " " }
                            )));
                        }
                        None => {
                            spans.push(Span::styled("█".repeat(n), theme.bar(i)));
                            spans.push(Span::raw(format!(" {:5.1}%", prob * 100.0)));
                        }
                    }
                    lines.push(Line::from(spans));
                }
                if p.thresholds.is_some() {
                    lines.push(Line::styled(
                        "│ the label's threshold · ✓ over it",
                        theme.dim(),
                    ));
                }
                lines.push(Line::styled(
                    format!("latency {:.1} ms", t.latency_ms),
                    theme.dim(),
                ));
                match &t.explanation {
                    Some(e) => lines.extend(explanation_lines(e, theme)),
                    None => lines.push(Line::styled(
                        "e: why (token attributions)  t: why another label",
                        theme.dim(),
                    )),
                }
            }
        }
        f.render_widget(
            Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
            area,
        );
    }

    fn render_list(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let mut lines = vec![Line::styled(
            "tested sentences (re-scored after each eval)",
            theme.header(),
        )];
        let text_w = (area.width as usize).saturating_sub(30);
        for (i, t) in self
            .tested
            .iter()
            .enumerate()
            .rev()
            .take(area.height.saturating_sub(1) as usize)
        {
            let marker = if Some(i) == self.shown { "▶ " } else { "  " };
            let now = t
                .current
                .as_ref()
                .map(|p| match (&p.chosen, p.value) {
                    (_, Some(v)) => format!("{v:.3}"),
                    (Some(chosen), _) if chosen.is_empty() => "(no label)".into(),
                    (Some(chosen), _) => chosen.join(", "),
                    _ => format!("{} {:.0}%", p.label, p.score * 100.0),
                })
                .unwrap_or_else(|| "…".into());
            let change = match (&t.previous, &t.current) {
                (Some(a), Some(b)) if a.label != b.label => format!(" (was {})", a.label),
                (Some(a), Some(b)) => {
                    let before = a
                        .probs
                        .iter()
                        .find(|(l, _)| *l == b.label)
                        .map(|x| x.1)
                        .unwrap_or(0.0);
                    format!(" ({:+.0})", (b.score - before) * 100.0)
                }
                _ => String::new(),
            };
            let style = if Some(i) == self.shown {
                theme.selected()
            } else {
                Default::default()
            };
            lines.push(Line::styled(
                format!(
                    "{marker}{:<text_w$} {now}{change}{}",
                    crate::data::clip(&t.text, text_w),
                    if t.waiting { " ⟳" } else { "" }
                ),
                style,
            ));
        }
        f.render_widget(Paragraph::new(lines), area);
    }
}

/// A regression prediction: the value, and where it falls on the range
/// the training scores span (when known).
fn value_lines(
    p: &Prediction,
    range: Option<(f32, f32)>,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let value = p.value.unwrap_or(p.score);
    let mut lines = vec![Line::from(vec![
        Span::raw(format!("{} ", p.label)),
        Span::styled(format!("{value:.3}"), theme.header()),
    ])];
    if let Some((lo, hi)) = range.filter(|(lo, hi)| hi > lo) {
        let w = width.saturating_sub(16).max(4);
        let at = (((value - lo) / (hi - lo)).clamp(0.0, 1.0) * (w - 1) as f32).round() as usize;
        let track: String = (0..w).map(|k| if k == at { '●' } else { '─' }).collect();
        lines.push(Line::from(vec![
            Span::raw(format!("{lo:>6.2} ")),
            Span::styled(track, theme.accent()),
            Span::raw(format!(" {hi:.2}")),
        ]));
        lines.push(Line::styled("on the training scores' range", theme.dim()));
    }
    lines
}

/// The explained sentence, each word marked by sign and strength: colour
/// (green for the label, red against, brighter when stronger) and, so it
/// reads without colour too, ▲/▼ repeated 1–3 times.
pub fn explanation_lines(e: &Explanation, theme: &Theme) -> Vec<Line<'static>> {
    let max = e.words.iter().map(|w| w.score.abs()).fold(0.0, f32::max);
    let mut spans = Vec::new();
    for w in &e.words {
        let (up, level) = strength(w.score, max);
        let mark = if up { "▲" } else { "▼" }.repeat(level as usize);
        spans.push(Span::styled(
            format!("{}{mark}", w.word),
            theme.attribution(up, level),
        ));
        spans.push(Span::raw(" "));
    }
    // The words right under a short header, so a narrow pane shows them.
    vec![
        Line::styled(
            format!(
                "why {}: p {:.2}, {:.2} without the words",
                e.target, e.prob, e.baseline_prob
            ),
            theme.header(),
        ),
        Line::from(spans),
        Line::styled(
            format!("delta {:.0e} · t: another label", e.delta),
            theme.dim(),
        ),
    ]
}

impl Pane for PlaygroundPane {
    fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        self.status = None;
        self.handle_key(key)
            .into_iter()
            .map(|(id, text, explain)| Action::Predict { id, text, explain })
            .collect()
    }

    fn render(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        self.draw(f, area, focused, theme)
    }

    fn scope(&self) -> Scope {
        Scope::Playground
    }

    fn is_typing(&self) -> bool {
        self.editing
    }

    fn hints(&self) -> &'static [(String, String)] {
        let hints = &super::keymap::keymap().hints;
        if self.editing {
            &hints.playground_typing
        } else {
            &hints.playground
        }
    }
}

/// A token classifier's answer: the sentence with each entity bracketed
/// and typed (coloured by type, readable without colour), then one line an
/// entity with its score.
fn entity_lines(
    text: &str,
    entities: &[crate::protocol::EntityGroup],
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut types: Vec<&str> = entities.iter().map(|e| e.entity_group.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    let colour = |t: &str| theme.bar(types.iter().position(|x| *x == t).unwrap_or(0));
    let chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    let mut at = 0;
    for e in entities {
        if e.start < at || e.end > chars.len() {
            continue;
        }
        spans.push(Span::raw(chars[at..e.start].iter().collect::<String>()));
        let inner: String = chars[e.start..e.end].iter().collect();
        spans.push(Span::styled(
            format!("[{inner}|{}]", e.entity_group),
            colour(&e.entity_group),
        ));
        at = e.end;
    }
    spans.push(Span::raw(
        chars[at.min(chars.len())..].iter().collect::<String>(),
    ));
    let mut lines = vec![Line::from(spans)];
    if entities.is_empty() {
        lines.push(Line::styled("no entities found", theme.dim()));
    }
    for e in entities {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} ", crate::data::fit_width(&e.entity_group, 8)),
                colour(&e.entity_group),
            ),
            Span::raw(format!(
                "{:5.1}%  {}",
                e.score * 100.0,
                crate::data::clip(&e.word, width.saturating_sub(17))
            )),
        ]));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn pred(label: &str, p: f32) -> Prediction {
        Prediction {
            label: label.into(),
            score: p,
            probs: vec![
                ("neg".into(), if label == "neg" { p } else { 1.0 - p }),
                ("pos".into(), if label == "pos" { p } else { 1.0 - p }),
            ],
            logits: vec![0.0, 0.0],
            chosen: None,
            thresholds: None,
            value: None,
            explanation: None,
            entities: None,
        }
    }

    fn type_line(p: &mut PlaygroundPane, s: &str) -> Vec<Request> {
        for c in s.chars() {
            p.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        p.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
    }

    #[test]
    fn enter_requests_a_prediction_and_the_answer_is_shown() {
        let mut p = PlaygroundPane {
            editing: true,
            ..Default::default()
        };
        let reqs = type_line(&mut p, "great film");
        assert_eq!(reqs, vec![(1, "great film".to_string(), None)]);
        p.on_prediction(1, &pred("pos", 0.8), 3.0);
        assert_eq!(p.tested[0].current.as_ref().unwrap().label, "pos");
        assert!(!p.tested[0].waiting);
        // A stale id changes nothing.
        p.on_prediction(99, &pred("neg", 0.9), 1.0);
        assert_eq!(p.tested[0].current.as_ref().unwrap().label, "pos");
    }

    #[test]
    fn rescoring_keeps_the_previous_prediction_for_comparison() {
        let mut p = PlaygroundPane {
            editing: true,
            ..Default::default()
        };
        type_line(&mut p, "a");
        type_line(&mut p, "b");
        p.on_prediction(1, &pred("neg", 0.6), 1.0);
        p.on_prediction(2, &pred("neg", 0.7), 1.0);
        let reqs = p.rescore_all();
        assert_eq!(reqs.len(), 2);
        p.on_prediction(reqs[0].0, &pred("pos", 0.9), 1.0);
        assert_eq!(p.tested[0].previous.as_ref().unwrap().label, "neg");
        assert_eq!(p.tested[0].current.as_ref().unwrap().label, "pos");
        // The same text typed again re-uses its entry.
        type_line(&mut p, "a");
        assert_eq!(p.tested.len(), 2);
    }
}

#[cfg(test)]
mod explain_tests {
    use super::*;
    use crate::protocol::WordScore;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn explained(target: &str) -> Explanation {
        Explanation {
            target: target.into(),
            prob: 0.9,
            baseline_prob: 0.5,
            tokens: vec![],
            words: vec![
                WordScore {
                    word: "great".into(),
                    score: 0.3,
                },
                WordScore {
                    word: "not".into(),
                    score: -0.15,
                },
            ],
            delta: 0.0,
            steps: 32,
        }
    }

    #[test]
    fn e_explains_the_shown_sentence_and_t_cycles_the_label() {
        let mut p = PlaygroundPane {
            editing: true,
            ..Default::default()
        };
        for c in "great".chars() {
            p.handle_key(key(c));
        }
        p.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        p.editing = false;
        let mut first = Prediction {
            label: "pos".into(),
            score: 0.9,
            probs: vec![("neg".into(), 0.1), ("pos".into(), 0.9)],
            logits: vec![0.0, 2.0],
            chosen: None,
            thresholds: None,
            value: None,
            explanation: None,
            entities: None,
        };
        p.on_prediction(1, &first, 1.0);
        let reqs = p.handle_key(key('e'));
        assert_eq!(reqs.len(), 1);
        let ask = reqs[0].2.clone().unwrap();
        assert_eq!(ask.target, None, "e explains the predicted label");
        first.explanation = Some(explained("pos"));
        p.on_prediction(reqs[0].0, &first, 1.0);
        assert_eq!(p.tested[0].explanation.as_ref().unwrap().target, "pos");
        // t asks for the next label; a plain re-score keeps the explanation.
        let reqs = p.handle_key(key('t'));
        assert_eq!(reqs[0].2.as_ref().unwrap().target.as_deref(), Some("neg"));
        let again = p.rescore_all();
        first.explanation = None;
        p.on_prediction(again[0].0, &first, 1.0);
        assert!(p.tested[0].explanation.is_some());
    }

    #[test]
    fn explanation_reads_without_colour() {
        let lines = explanation_lines(&explained("pos"), &Theme::plain());
        let text: String = lines[1].spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text.trim(), "great▲▲▲ not▼▼");
        assert!(lines[0].spans[0].content.contains("why pos"));
    }
}
