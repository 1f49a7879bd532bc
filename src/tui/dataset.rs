//! Dataset pane: a virtualised table of the corpus with search, label
//! filter, length sort, train/val toggle, the cleaning report and the
//! selected row's detail (word pieces, the model's prediction).

use super::action::Action;
use super::input::{InputOutcome, TextInput};
use super::keymap::{command, Cmd, Scope};
use super::pane::Pane;
use super::theme::Theme;
use crate::data::corrections::{Correction, Corrections, Fix};
use crate::data::stats::{report, CleaningReport};
use crate::data::Row;
use crate::explain::label_issues::Suspect;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};
use ratatui::Frame;
use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;

pub struct RowView {
    pub text: String,
    lower: String,
    /// The label in use: the file's, or its correction.
    pub label: String,
    pub line: u64,
    pub chars: usize,
}

impl RowView {
    fn new(r: &Row) -> Self {
        RowView {
            lower: r.text.to_lowercase(),
            chars: r.text.chars().count(),
            text: r.text.clone(),
            label: r.label.clone().unwrap_or_default(),
            line: r.line,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    File,
    Shortest,
    Longest,
}

/// A prediction for one validation row (from the run's predictions.csv).
#[derive(Clone, Debug, PartialEq)]
pub struct RowPrediction {
    pub label: String,
    pub score: f32,
}

pub struct DatasetPane {
    train: Vec<RowView>,
    val: Vec<RowView>,
    pub showing_val: bool,
    pub labels: Vec<String>,
    pub label_filter: Option<usize>,
    pub sort: SortOrder,
    pub query: String,
    pub search: Option<TextInput>,
    pub misclassified_only: bool,
    visible: Vec<usize>,
    pub selected: usize,
    offset: Cell<usize>,
    page: Cell<usize>,
    pub report: CleaningReport,
    /// Untruncated token counts of (train, val), once a tokenizer is ready.
    token_lens: Option<(Vec<usize>, Vec<usize>)>,
    /// Word pieces of the selected row, filled in by the app.
    pub pieces: Option<(u64, Vec<String>)>,
    pub max_len: usize,
    /// Validation predictions by line.
    pub predictions: HashMap<u64, RowPrediction>,
    pub status: Option<String>,
    tokenizer: Option<crate::text::TextEncoder>,
    /// Rows whose label looks wrong, by line (from `inspect --label-issues`
    /// or the run's held-out predictions).
    pub suspects: HashMap<u64, Suspect>,
    pub suspects_only: bool,
    /// The user's label corrections of the training file, by line.
    pub corrections: Corrections,
    /// Where corrections are saved (beside the corpus by default).
    pub corrections_path: Option<PathBuf>,
    /// Whether the validation rows come from their own file (then their
    /// lines are not the training file's and cannot be corrected).
    pub val_is_separate: bool,
    /// The line whose new label is being picked (`r`).
    pub relabeling: Option<u64>,
    /// Set when `corrections` changed and must be written.
    pub corrections_changed: bool,
}

impl DatasetPane {
    pub fn new(train: &[Row], val: &[Row], empty_dropped: usize, max_len: usize) -> Self {
        let labels = crate::data::Labels::from_rows(train).names().to_vec();
        let mut pane = DatasetPane {
            train: train.iter().map(RowView::new).collect(),
            val: val.iter().map(RowView::new).collect(),
            showing_val: false,
            labels,
            label_filter: None,
            sort: SortOrder::File,
            query: String::new(),
            search: None,
            misclassified_only: false,
            visible: Vec::new(),
            selected: 0,
            offset: Cell::new(0),
            page: Cell::new(10),
            report: report(train, empty_dropped),
            token_lens: None,
            pieces: None,
            max_len,
            predictions: HashMap::new(),
            status: None,
            tokenizer: None,
            suspects: HashMap::new(),
            suspects_only: false,
            corrections: Corrections::default(),
            corrections_path: None,
            val_is_separate: false,
            relabeling: None,
            corrections_changed: false,
        };
        pane.refresh();
        pane
    }

    /// Show these suspects (replacing earlier ones).
    pub fn set_suspects(&mut self, suspects: Vec<Suspect>) {
        self.suspects = suspects.into_iter().map(|s| (s.line, s)).collect();
        if self.suspects_only {
            self.refresh();
        }
    }

    fn is_suspect(&self, r: &RowView) -> bool {
        self.suspects.contains_key(&r.line)
    }

    /// The selected row, when it is a training-file row that may be corrected.
    fn correctable(&mut self) -> Option<(u64, String, String)> {
        if self.showing_val && self.val_is_separate {
            self.status = Some(
                "corrections apply to the training file; this row is in the validation file".into(),
            );
            return None;
        }
        let r = self.selected_row()?;
        Some((r.line, r.label.clone(), r.text.clone()))
    }

    /// Record `fix` for the selected row and show it in the table.
    fn correct(&mut self, fix: Fix) {
        let Some((line, label, text)) = self.correctable() else {
            return;
        };
        // The file's label survives repeated edits of one row.
        let given = self
            .corrections
            .entries
            .get(&line)
            .map_or(label, |c| c.given.clone());
        let shown = match &fix {
            Fix::Relabel(l) => l.clone(),
            _ => given.clone(),
        };
        self.status = Some(match &fix {
            Fix::Relabel(l) => format!("line {line}: {given} → {l}"),
            Fix::Keep => format!("line {line}: {given} kept as is"),
            Fix::Drop => format!("line {line}: dropped from training"),
        });
        self.corrections
            .entries
            .insert(line, Correction { fix, given, text });
        self.set_label(line, shown);
        self.corrections_changed = true;
    }

    /// Remove the selected row's correction.
    fn undo(&mut self) {
        let Some((line, _, _)) = self.correctable() else {
            return;
        };
        match self.corrections.entries.remove(&line) {
            Some(c) => {
                self.status = Some(format!("line {line}: back to {}", c.given));
                self.set_label(line, c.given);
                self.corrections_changed = true;
            }
            None => self.status = Some(format!("line {line} has no correction")),
        }
    }

    fn set_label(&mut self, line: u64, label: String) {
        // A separate validation file has its own line numbers.
        let val = if self.val_is_separate {
            &mut [][..]
        } else {
            &mut self.val[..]
        };
        for r in self.train.iter_mut().chain(val.iter_mut()) {
            if r.line == line {
                r.label = label.clone();
            }
        }
    }

    /// The corrections to write, once per change.
    pub fn take_changed_corrections(&mut self) -> Option<(PathBuf, Corrections)> {
        if !std::mem::take(&mut self.corrections_changed) {
            return None;
        }
        Some((self.corrections_path.clone()?, self.corrections.clone()))
    }

    fn on_relabel_key(&mut self, line: u64, key: KeyEvent) {
        self.relabeling = None;
        match (command(Scope::Relabel, &key), key.code) {
            (Some(Cmd::PickLabel), KeyCode::Char(c)) => {
                let i = c as usize - '1' as usize;
                match self.labels.get(i).cloned() {
                    Some(l) if self.selected_row().is_some_and(|r| r.line == line) => {
                        self.correct(Fix::Relabel(l))
                    }
                    Some(_) => {}
                    None => self.status = Some(format!("no label {c}")),
                }
            }
            (Some(Cmd::Drop), _) => self.correct(Fix::Drop),
            _ => self.status = Some("relabel cancelled".into()),
        }
    }

    pub fn rows(&self) -> &[RowView] {
        if self.showing_val {
            &self.val
        } else {
            &self.train
        }
    }

    pub fn visible_len(&self) -> usize {
        self.visible.len()
    }

    pub fn selected_row(&self) -> Option<&RowView> {
        self.visible.get(self.selected).map(|&i| &self.rows()[i])
    }

    /// The model's tokenizer arrived: token lengths and word pieces.
    pub fn set_tokenizer(
        &mut self,
        tokenizer: crate::text::TextEncoder,
        train: Vec<usize>,
        val: Vec<usize>,
    ) {
        self.token_lens = Some((train, val));
        self.max_len = tokenizer.max_len();
        self.tokenizer = Some(tokenizer);
        self.pieces = None;
    }

    /// Fill in the selected row's word pieces if they are stale.
    pub fn update_pieces(&mut self) {
        let Some(tok) = &self.tokenizer else { return };
        let Some(row) = self.selected_row() else {
            return;
        };
        if self.pieces.as_ref().is_some_and(|(l, _)| *l == row.line) {
            return;
        }
        let line = row.line;
        if let Ok(p) = tok.pieces(&row.text) {
            self.pieces = Some((line, p));
        }
    }

    fn is_misclassified(&self, r: &RowView) -> bool {
        self.predictions
            .get(&r.line)
            .is_some_and(|p| p.label != r.label)
    }

    /// Recompute the visible rows after a filter, sort or split change.
    pub fn refresh(&mut self) {
        let keep_line = self.selected_row().map(|r| r.line);
        let rows = self.rows();
        let label = self.label_filter.and_then(|i| self.labels.get(i));
        let mut visible: Vec<usize> = (0..rows.len())
            .filter(|&i| label.is_none_or(|l| &rows[i].label == l))
            .filter(|&i| !self.misclassified_only || self.is_misclassified(&rows[i]))
            .filter(|&i| !self.suspects_only || self.is_suspect(&rows[i]))
            .collect();
        match self.sort {
            // Suspects come most suspect first (lowest p(given label)).
            SortOrder::File if self.suspects_only => visible.sort_by(|&a, &b| {
                let c = |i: usize| self.suspects[&rows[i].line].confidence;
                c(a).total_cmp(&c(b))
            }),
            SortOrder::File => {}
            SortOrder::Shortest => visible.sort_by_key(|&i| rows[i].chars),
            SortOrder::Longest => visible.sort_by_key(|&i| std::cmp::Reverse(rows[i].chars)),
        }
        self.selected = keep_line
            .and_then(|l| visible.iter().position(|&i| rows[i].line == l))
            .unwrap_or(0);
        self.visible = visible;
        self.pieces = None;
    }

    fn matches(&self, i: usize) -> bool {
        !self.query.is_empty()
            && self.rows()[self.visible[i]]
                .lower
                .contains(&self.query.to_lowercase())
    }

    pub fn match_count(&self) -> usize {
        (0..self.visible.len()).filter(|&i| self.matches(i)).count()
    }

    /// Move to the next (or previous) match, wrapping around.
    pub fn jump(&mut self, forward: bool) -> bool {
        let n = self.visible.len();
        for k in 1..=n {
            let i = if forward {
                (self.selected + k) % n
            } else {
                (self.selected + n - k % n) % n
            };
            if self.matches(i) {
                self.selected = i;
                self.pieces = None;
                return true;
            }
        }
        false
    }

    fn move_by(&mut self, delta: isize) {
        let n = self.visible.len();
        if n == 0 {
            return;
        }
        let s = (self.selected as isize + delta).clamp(0, n as isize - 1) as usize;
        if s != self.selected {
            self.selected = s;
            self.pieces = None;
        }
    }

    fn handle_key(&mut self, key: KeyEvent) {
        if let Some(input) = &mut self.search {
            match input.handle(key) {
                InputOutcome::Submitted(q) => {
                    self.search = None;
                    // An empty search repeats the last one, as in less/vim.
                    if !q.is_empty() {
                        self.query = q;
                    }
                    if !self.matches(self.selected) && !self.jump(true) {
                        self.status = Some(format!("no row matches '{}'", self.query));
                    } else {
                        self.status = Some(format!(
                            "{} rows match '{}'",
                            self.match_count(),
                            self.query
                        ));
                    }
                }
                InputOutcome::Cancelled => self.search = None,
                _ => {}
            }
            return;
        }
        if let Some(line) = self.relabeling {
            self.on_relabel_key(line, key);
            return;
        }
        self.status = None;
        let page = self.page.get().max(1) as isize;
        let Some(cmd) = command(Scope::Dataset, &key) else {
            return;
        };
        match cmd {
            Cmd::Down => self.move_by(1),
            Cmd::Up => self.move_by(-1),
            Cmd::PageDown => self.move_by(page),
            Cmd::PageUp => self.move_by(-page),
            Cmd::Top => self.move_by(-(self.visible.len() as isize)),
            Cmd::Bottom => self.move_by(self.visible.len() as isize),
            Cmd::Search => self.search = Some(TextInput::default()),
            Cmd::NextMatch | Cmd::PrevMatch if !self.jump(cmd == Cmd::NextMatch) => {
                self.status = Some("no match".into());
            }
            Cmd::NextLabel | Cmd::PrevLabel => {
                let n = self.labels.len();
                let forward = cmd == Cmd::NextLabel;
                self.label_filter = match (self.label_filter, forward) {
                    (None, true) => (n > 0).then_some(0),
                    (Some(i), true) => (i + 1 < n).then_some(i + 1),
                    (None, false) => n.checked_sub(1),
                    (Some(i), false) => i.checked_sub(1),
                };
                self.refresh();
            }
            Cmd::Sort => {
                self.sort = match self.sort {
                    SortOrder::File => SortOrder::Shortest,
                    SortOrder::Shortest => SortOrder::Longest,
                    SortOrder::Longest => SortOrder::File,
                };
                self.refresh();
            }
            Cmd::Split => {
                self.showing_val = !self.showing_val;
                if !self.showing_val {
                    self.misclassified_only = false;
                }
                self.selected = 0;
                self.refresh();
                self.selected = 0;
            }
            Cmd::Misclassified => {
                if self.predictions.is_empty() {
                    self.status =
                        Some("no predictions yet: they arrive with the first evaluation".into());
                } else {
                    self.misclassified_only = !self.misclassified_only;
                    self.showing_val = true;
                    self.refresh();
                }
            }
            Cmd::Suspects => {
                if self.suspects.is_empty() {
                    self.status = Some("no suspect labels yet: run `tunebench inspect --data FILE --label-issues` and open with --suspects FILE, or wait for an evaluation".into());
                } else {
                    self.suspects_only = !self.suspects_only;
                    if self.suspects_only && !self.rows().iter().any(|r| self.is_suspect(r)) {
                        self.showing_val = !self.showing_val;
                    }
                    self.refresh();
                }
            }
            Cmd::Accept => {
                let suggested = self
                    .selected_row()
                    .and_then(|r| self.suspects.get(&r.line))
                    .map(|s| s.suggested.clone());
                match suggested {
                    Some(l) => self.correct(Fix::Relabel(l)),
                    None => self.status = Some("not a suspect row: r relabels it".into()),
                }
            }
            Cmd::Relabel => {
                if let Some((line, _, _)) = self.correctable() {
                    self.relabeling = Some(line);
                }
            }
            Cmd::Keep => self.correct(Fix::Keep),
            Cmd::Undo => self.undo(),
            Cmd::Clear => {
                self.query.clear();
                self.label_filter = None;
                self.misclassified_only = false;
                self.suspects_only = false;
                self.refresh();
            }
            _ => {}
        }
    }

    /// Show only validation rows with `true_label` predicted as `predicted`
    /// (from a confusion-matrix cell).
    pub fn show_confusion_cell(&mut self, true_label: usize) {
        self.showing_val = true;
        self.misclassified_only = !self.predictions.is_empty();
        self.label_filter = Some(true_label);
        self.refresh();
    }

    fn draw(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        let split = if self.showing_val { "val" } else { "train" };
        let mut title = format!(
            " 1 Dataset [{split}] {}/{} ",
            self.visible.len(),
            self.rows().len()
        );
        if let Some(i) = self.label_filter {
            title.push_str(&format!("label={} ", self.labels[i]));
        }
        if self.misclassified_only {
            title.push_str("misclassified ");
        }
        if self.suspects_only {
            title.push_str("suspect labels ");
        }
        if self.sort != SortOrder::File {
            title.push_str(if self.sort == SortOrder::Shortest {
                "shortest-first "
            } else {
                "longest-first "
            });
        }
        let block = super::pane_block(&title, focused, theme);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let wide = inner.width >= 100;
        let detail_h = if inner.height >= 18 { 7 } else { 5 };
        let [top, bottom] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(detail_h)]).areas(inner);
        let (table_area, side_area) = if wide {
            let [t, s] =
                Layout::horizontal([Constraint::Min(40), Constraint::Length(38)]).areas(top);
            (t, Some(s))
        } else {
            (top, None)
        };
        self.render_table(f, table_area, theme);
        if let Some(s) = side_area {
            self.render_stats(f, s, theme);
            self.render_detail(f, bottom, theme);
        } else {
            let [d, s] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(bottom);
            self.render_detail(f, d, theme);
            self.render_stats(f, s, theme);
        }
    }

    fn render_table(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let height = area.height.saturating_sub(1) as usize;
        self.page.set(height.max(1));
        // Keep the selection in view; only the visible window is built.
        let mut offset = self.offset.get();
        if self.selected < offset {
            offset = self.selected;
        } else if height > 0 && self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        offset = offset.min(self.visible.len().saturating_sub(height.max(1)));
        self.offset.set(offset);
        let label_w = self
            .labels
            .iter()
            .map(|l| crate::data::display_width(l))
            .max()
            .unwrap_or(5)
            .clamp(5, 16);
        let line_w = 6;
        let text_w = (area.width as usize).saturating_sub(label_w + line_w + 4);
        let mut lines = vec![Line::styled(
            format!("  {:<line_w$} {:<label_w$} text", "line", "label"),
            theme.header(),
        )];
        let query = self.query.to_lowercase();
        for (k, &i) in self.visible.iter().enumerate().skip(offset).take(height) {
            let r = &self.rows()[i];
            let marker = if k == self.selected {
                "▶"
            } else if !query.is_empty() && r.lower.contains(&query) {
                "*"
            } else {
                " "
            };
            // Corrected rows and suspects are marked by a sign, not colour.
            let flag = match self.corrections.entries.get(&r.line).map(|c| &c.fix) {
                Some(Fix::Relabel(_)) => "✎",
                Some(Fix::Keep) => "✓",
                Some(Fix::Drop) => "✗",
                None if self.is_suspect(r) => "?",
                None => " ",
            };
            let marker = format!("{marker}{flag}");
            // Cut and pad by display width: CJK characters take two columns.
            let label = crate::data::fit_width(&r.label, label_w);
            let text = crate::data::fit_width(&r.text, text_w);
            let s = format!("{marker}{:<line_w$} {label} {}", r.line, text.trim_end());
            lines.push(if k == self.selected {
                Line::styled(s, theme.selected())
            } else {
                Line::raw(s)
            });
        }
        if self.visible.is_empty() {
            lines.push(Line::styled("  (no rows)", theme.dim()));
        }
        f.render_widget(Paragraph::new(lines), area);
    }

    fn histogram(&self) -> Option<(Vec<u64>, String)> {
        let (train, val) = self.token_lens.as_ref()?;
        let lens = if self.showing_val { val } else { train };
        if lens.is_empty() {
            return None;
        }
        let buckets = 16usize;
        let top = lens
            .iter()
            .copied()
            .max()
            .unwrap_or(1)
            .max(self.max_len + 1);
        let mut counts = vec![0u64; buckets];
        for &l in lens {
            counts[(l * buckets / (top + 1)).min(buckets - 1)] += 1;
        }
        let truncated = lens.iter().filter(|&&l| l > self.max_len).count();
        let mut sorted = lens.clone();
        sorted.sort_unstable();
        let p95 = sorted[(sorted.len() - 1) * 95 / 100];
        Some((
            counts,
            format!(
                "tokens 0–{top}: p95 {p95}, {:.1}% cut at max_len {}",
                100.0 * truncated as f64 / lens.len() as f64,
                self.max_len
            ),
        ))
    }

    fn render_stats(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::LEFT)
            .border_style(theme.dim());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let mut lines = Vec::new();
        let widest = self
            .report
            .label_counts
            .iter()
            .map(|c| c.1)
            .max()
            .unwrap_or(1)
            .max(1);
        let label_w = self
            .labels
            .iter()
            .map(|l| crate::data::display_width(l))
            .max()
            .unwrap_or(5)
            .min(14);
        let bar_w = (inner.width as usize).saturating_sub(label_w + 8).max(1);
        for (i, (label, count)) in self.report.label_counts.iter().enumerate() {
            let n = (count * bar_w).div_ceil(widest);
            lines.push(Line::from(vec![
                Span::raw(format!("{} ", crate::data::fit_width(label, label_w))),
                Span::styled("█".repeat(n), theme.bar(i)),
                Span::raw(format!(" {count}")),
            ]));
        }
        lines.push(Line::raw(format!(
            "dup {} · conflicts {} · empty {}",
            self.report.duplicate_rows,
            self.report.conflicts.len(),
            self.report.empty_dropped
        )));
        if !self.suspects.is_empty() || !self.corrections.entries.is_empty() {
            let count = |a: &str| {
                self.corrections
                    .entries
                    .values()
                    .filter(|c| c.fix.action() == a)
                    .count()
            };
            lines.push(Line::raw(format!(
                "suspect {} · fixed {} · kept {} · drop {}",
                self.suspects.len(),
                count("relabel"),
                count("keep"),
                count("drop")
            )));
        }
        let hist = self.histogram();
        let text_h = (lines.len() as u16).min(inner.height);
        let [text_area, rest] =
            Layout::vertical([Constraint::Length(text_h), Constraint::Min(0)]).areas(inner);
        f.render_widget(Paragraph::new(lines), text_area);
        if rest.height >= 2 {
            match hist {
                Some((counts, caption)) => {
                    let [spark, cap] =
                        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(rest);
                    f.render_widget(
                        Sparkline::default().data(&counts).style(theme.accent()),
                        spark,
                    );
                    f.render_widget(Paragraph::new(caption).style(theme.dim()), cap);
                }
                None => f.render_widget(
                    Paragraph::new("token lengths: computing…").style(theme.dim()),
                    rest,
                ),
            }
        }
    }

    fn render_detail(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let mut lines = Vec::new();
        if let Some(line) = self.relabeling {
            let mut spans = vec![Span::styled(
                format!("relabel line {line} as: "),
                theme.key(),
            )];
            for (i, l) in self.labels.iter().enumerate().take(9) {
                spans.push(Span::styled(format!("{} ", i + 1), theme.key()));
                spans.push(Span::raw(format!("{l}  ")));
            }
            spans.push(Span::styled("d ", theme.key()));
            spans.push(Span::raw("drop  "));
            spans.push(Span::styled("Esc ", theme.key()));
            spans.push(Span::raw("cancel"));
            lines.push(Line::from(spans));
        }
        if let Some(input) = &self.search {
            lines.push(Line::from(vec![
                Span::styled("search: ", theme.key()),
                Span::raw(format!("{}▏", input.text)),
            ]));
        }
        if let Some(s) = &self.status {
            lines.push(Line::styled(s.clone(), theme.dim()));
        }
        match self.selected_row() {
            Some(r) => {
                let mut head = vec![Span::styled(
                    format!("line {} · {} ", r.line, r.label),
                    theme.header(),
                )];
                if let Some(p) = self.predictions.get(&r.line) {
                    let ok = p.label == r.label;
                    head.push(Span::styled(
                        format!(
                            "model: {} {:.0}% {}",
                            p.label,
                            p.score * 100.0,
                            if ok { "✓" } else { "✗ wrong" }
                        ),
                        if ok { theme.good() } else { theme.error() },
                    ));
                }
                lines.push(Line::from(head));
                if let Some(c) = self.corrections.entries.get(&r.line) {
                    lines.push(Line::styled(
                        match &c.fix {
                            Fix::Relabel(l) => format!("corrected: {} → {l} (u undoes)", c.given),
                            Fix::Keep => format!("reviewed: {} kept (u undoes)", c.given),
                            Fix::Drop => "dropped from training (u undoes)".to_string(),
                        },
                        theme.good(),
                    ));
                } else if let Some(s) = self.suspects.get(&r.line) {
                    lines.push(Line::styled(
                        format!(
                            "suspect label: p({}) {:.2}, the model says {} ({:.2}) · a accept · r relabel · K keep",
                            s.given, s.confidence, s.suggested, s.p_suggested
                        ),
                        theme.error(),
                    ));
                }
                lines.push(Line::raw(r.text.clone()));
                if let Some((line, pieces)) = &self.pieces {
                    if *line == r.line {
                        lines.push(Line::styled(
                            format!("{} pieces: {}", pieces.len(), pieces.join(" ")),
                            theme.dim(),
                        ));
                    }
                }
            }
            None => lines.push(Line::styled("no row selected", theme.dim())),
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}

impl Pane for DatasetPane {
    /// A key; a changed label asks for the corrections file to be written.
    fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        self.handle_key(key);
        self.take_changed_corrections()
            .map(|(path, corrections)| Action::SaveCorrections { path, corrections })
            .into_iter()
            .collect()
    }

    fn render(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        self.draw(f, area, focused, theme)
    }

    fn scope(&self) -> Scope {
        if self.relabeling.is_some() {
            Scope::Relabel
        } else {
            Scope::Dataset
        }
    }

    /// Searching and relabelling take typed keys (global keys are off).
    fn is_typing(&self) -> bool {
        self.search.is_some() || self.relabeling.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                text_b: None,
                text: format!(
                    "{} review number {i}",
                    if i % 3 == 0 { "Great" } else { "meh" }
                ),
                label: Some(if i % 3 == 0 { "pos" } else { "neg" }.into()),
                line: i as u64 + 2,
            })
            .collect()
    }

    /// Type `keys`; the actions they asked for.
    fn press(p: &mut DatasetPane, keys: &str) -> Vec<Action> {
        keys.chars()
            .flat_map(|c| p.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
            .collect()
    }

    #[test]
    fn moves_and_clamps_selection() {
        let mut p = DatasetPane::new(&rows(100), &rows(10), 0, 64);
        press(&mut p, "jjj");
        assert_eq!(p.selected, 3);
        press(&mut p, "G");
        assert_eq!(p.selected, 99);
        press(&mut p, "j");
        assert_eq!(p.selected, 99);
        press(&mut p, "g");
        assert_eq!(p.selected, 0);
    }

    #[test]
    fn search_is_case_insensitive_and_n_cycles_matches() {
        let mut p = DatasetPane::new(&rows(10), &[], 0, 64);
        press(&mut p, "/NUMBER 4");
        p.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(p.selected_row().unwrap().line, 6);
        press(&mut p, "/great");
        p.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(p.match_count(), 4);
        let first = p.selected_row().unwrap().line;
        press(&mut p, "n");
        assert_ne!(p.selected_row().unwrap().line, first);
        press(&mut p, "N");
        assert_eq!(p.selected_row().unwrap().line, first);
    }

    #[test]
    fn label_filter_sort_and_split_toggle() {
        let mut p = DatasetPane::new(&rows(9), &rows(3), 0, 64);
        press(&mut p, "f");
        assert_eq!(p.visible_len(), 6, "neg rows");
        press(&mut p, "f");
        assert_eq!(p.visible_len(), 3, "pos rows");
        press(&mut p, "f");
        assert_eq!(p.visible_len(), 9, "all");
        press(&mut p, "oo");
        assert_eq!(p.sort, SortOrder::Longest);
        assert!(p.selected_row().unwrap().text.starts_with("Great"));
        press(&mut p, "v");
        assert!(p.showing_val);
        assert_eq!(p.visible_len(), 3);
    }

    #[test]
    fn misclassified_filter_uses_predictions() {
        let mut p = DatasetPane::new(&rows(6), &rows(6), 0, 64);
        press(&mut p, "m");
        assert!(!p.misclassified_only);
        p.predictions.insert(
            2,
            RowPrediction {
                label: "neg".into(),
                score: 0.9,
            },
        );
        p.predictions.insert(
            3,
            RowPrediction {
                label: "neg".into(),
                score: 0.8,
            },
        );
        press(&mut p, "m");
        assert!(p.showing_val && p.misclassified_only);
        assert_eq!(p.visible_len(), 1);
        assert_eq!(p.selected_row().unwrap().line, 2);
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(crate::data::clip("abcdef", 4), "abc…");
        assert_eq!(crate::data::clip("abc", 4), "abc");
        assert_eq!(crate::data::clip("好评如潮", 5), "好评…");
    }

    fn suspect(line: u64, given: &str, suggested: &str, confidence: f64) -> Suspect {
        Suspect {
            line,
            text: String::new(),
            given: given.into(),
            suggested: suggested.into(),
            confidence,
            p_suggested: 1.0 - confidence,
        }
    }

    #[test]
    fn suspect_filter_lists_suspects_most_suspect_first() {
        let mut p = DatasetPane::new(&rows(30), &[], 0, 64);
        press(&mut p, "i");
        assert!(!p.suspects_only, "no suspects yet");
        assert!(p.status.as_deref().unwrap().contains("--label-issues"));
        p.set_suspects(vec![
            suspect(5, "neg", "pos", 0.2),
            suspect(12, "neg", "pos", 0.05),
        ]);
        press(&mut p, "i");
        assert!(p.suspects_only);
        let lines: Vec<u64> = p.visible.iter().map(|&i| p.rows()[i].line).collect();
        assert_eq!(lines, vec![12, 5]);
        p.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(p.visible_len(), 30);
    }

    #[test]
    fn relabel_accept_keep_and_undo_edit_the_corrections() {
        let mut p = DatasetPane::new(&rows(30), &[], 0, 64);
        p.corrections_path = Some("c.csv".into());
        p.set_suspects(vec![suspect(12, "neg", "pos", 0.05)]);
        press(&mut p, "i");
        // Accept the suggestion for line 12.
        let saved = press(&mut p, "a");
        assert_eq!(p.selected_row().unwrap().label, "pos");
        let [Action::SaveCorrections {
            path,
            corrections: c,
        }] = saved.as_slice()
        else {
            panic!("{saved:?}")
        };
        assert_eq!(path, &PathBuf::from("c.csv"));
        assert_eq!(c.entries[&12].fix, Fix::Relabel("pos".into()));
        assert_eq!(c.entries[&12].given, "neg");
        assert!(p.take_changed_corrections().is_none(), "written once");
        // Relabel another row through the picker: digits pick a label
        // (labels: neg, pos), not a pane.
        p.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        press(&mut p, "gjr");
        assert!(p.is_typing());
        press(&mut p, "2");
        assert!(!p.is_typing());
        assert_eq!(p.corrections.entries[&3].fix, Fix::Relabel("pos".into()));
        // Keep, drop, undo.
        press(&mut p, "jK");
        assert_eq!(p.corrections.entries[&4].fix, Fix::Keep);
        press(&mut p, "jrd");
        assert_eq!(p.corrections.entries[&5].fix, Fix::Drop);
        press(&mut p, "ku");
        assert!(!p.corrections.entries.contains_key(&4));
        press(&mut p, "k");
        // Undo restores the file's label, even after two edits.
        press(&mut p, "r1u");
        assert!(!p.corrections.entries.contains_key(&3));
        assert_eq!(p.selected_row().unwrap().label, "neg");
        // A suggestion exists only for suspects; Esc cancels the picker.
        press(&mut p, "a");
        assert!(p.status.as_deref().unwrap().contains("not a suspect"));
        press(&mut p, "r");
        p.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert!(!p.is_typing() && !p.corrections.entries.contains_key(&3));
    }

    #[test]
    fn rows_of_a_separate_validation_file_are_not_corrected() {
        let mut p = DatasetPane::new(&rows(10), &rows(5), 0, 64);
        p.val_is_separate = true;
        press(&mut p, "vK");
        assert!(p.corrections.entries.is_empty());
        assert!(p.status.as_deref().unwrap().contains("validation file"));
        // The training row with the same line number keeps its label.
        press(&mut p, "vK");
        assert_eq!(p.corrections.entries.len(), 1);
    }
}
