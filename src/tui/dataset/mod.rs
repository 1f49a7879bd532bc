//! Dataset pane: a virtualised table of the corpus with search, label
//! filter, length sort, train/val toggle, the cleaning report and the
//! selected row's detail (word pieces, the model's prediction).

mod corrections;
mod draw;
mod model;
pub mod predictions;

use crate::data::corrections::{Corrections, Fix};
use crate::data::label_stats::{
    label_set_stats, score_bins, LabelSetStats, ScoreBins, MAX_CARDINALITY,
};
use crate::data::stats::{report, CleaningReport};
use crate::data::task::{label_set, labels_for};
use crate::data::{Row, Task};
use crate::explain::label_issues::Suspect;
use crate::tui::action::Action;
use crate::tui::input::{InputOutcome, TextInput};
use crate::tui::keymap::{command, Cmd, Scope};
use crate::tui::pane::Pane;
use crate::tui::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;

pub struct RowView {
    /// What the table shows: the text, or a tagged sentence with its
    /// mentions marked.
    pub text: String,
    /// A tagged sentence's own text (what the tokenizer sees).
    plain: Option<String>,
    lower: String,
    /// The label in use: the file's, or its correction.
    pub label: String,
    pub line: u64,
    pub chars: usize,
}

impl RowView {
    /// The text the tokenizer sees (a tagged sentence without its marks).
    pub fn plain_text(&self) -> &str {
        self.plain.as_deref().unwrap_or(&self.text)
    }

    fn new(r: &Row) -> Self {
        // A tagged sentence shows its mentions inline and, as its label,
        // the types it holds.
        let (text, label, plain) = match &r.words {
            Some(_) => {
                let mut types: Vec<String> = r.mentions().into_iter().map(|m| m.0).collect();
                types.sort();
                types.dedup();
                (r.marked_text(), types.join(", "), Some(r.text.clone()))
            }
            None => (r.text.clone(), r.label.clone().unwrap_or_default(), None),
        };
        RowView {
            plain,
            lower: text.to_lowercase(),
            chars: r.text.chars().count(),
            text,
            label,
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
    /// The label's probability (one label a row), the count of wrong
    /// labels (multi-label), the signed error (regression).
    pub score: f32,
    /// Whether the row is wrong, when the file says (multi-label,
    /// regression); None: the label differs from the row's.
    pub wrong: Option<bool>,
    /// What the pane shows after "model:" (None: the label and score).
    pub detail: Option<String>,
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
    /// What a label is: the label filter picks a label of the row's set
    /// (multi-label) or a score range (regression).
    pub task: Task,
    /// Multi-label: labels per row, balance and frequent pairs.
    pub label_sets: Option<LabelSetStats>,
    /// Regression: the score's bins (the "labels" of the filter).
    pub score_bins: Option<ScoreBins>,
    /// Multi-label: only rows with this many labels (the last bucket: or more).
    pub count_filter: Option<usize>,
    /// Token classification: mentions spanning 1, 2, 3, 4 and 5+ words.
    pub entity_lengths: Option<Vec<usize>>,
}

/// Score ranges a regression corpus is filtered and drawn by.
const SCORE_BINS: usize = 5;

impl DatasetPane {
    pub fn new(train: &[Row], val: &[Row], empty_dropped: usize, max_len: usize) -> Self {
        Self::for_task(train, val, empty_dropped, max_len, Task::SingleLabel)
    }

    /// The pane for a corpus of `task`: label sets are split into their
    /// labels, scores into equal ranges.
    pub fn for_task(
        train: &[Row],
        val: &[Row],
        empty_dropped: usize,
        max_len: usize,
        task: Task,
    ) -> Self {
        let mut label_sets = None;
        let mut bins = None;
        let labels = match task {
            Task::SingleLabel => crate::data::Labels::from_rows(train).names().to_vec(),
            Task::MultiLabel => {
                let names = labels_for(task, train).names().to_vec();
                label_sets = Some(label_set_stats(train, &names, 5));
                names
            }
            // The entity types, for the filter.
            Task::TokenClassification => {
                let mut types: Vec<String> = train
                    .iter()
                    .flat_map(|r| r.mentions().into_iter().map(|m| m.0))
                    .collect();
                types.sort();
                types.dedup();
                types
            }
            Task::Regression => {
                bins = score_bins(train, SCORE_BINS);
                bins.as_ref()
                    .map(|b| (0..b.counts.len()).map(|i| b.name(i)).collect())
                    .unwrap_or_default()
            }
        };
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
            task,
            label_sets,
            score_bins: bins,
            count_filter: None,
            entity_lengths: None,
        };
        // The balance bars: each label's rows, or each score range's.
        if let Some(s) = &pane.label_sets {
            pane.report.label_counts = s.per_label.clone();
        }
        if let Some(b) = &pane.score_bins {
            pane.report.label_counts = pane.labels.iter().cloned().zip(b.counts.clone()).collect();
        }
        // A tagged corpus (its report counts mentions by type): how many
        // words the mentions span (1, 2, 3, 4, 5+).
        if task == Task::TokenClassification {
            let mut lengths = vec![0usize; 5];
            for r in train {
                let words = r.words.as_deref().unwrap_or_default();
                for (_, a, z) in r.mentions() {
                    let n = words.iter().filter(|w| w.0 >= a && w.1 <= z).count();
                    lengths[n.clamp(1, 5) - 1] += 1;
                }
            }
            pane.entity_lengths = Some(lengths);
        }
        pane.refresh();
        pane
    }

    /// Whether `row` passes the label filter (`label` is the filter's
    /// index): its label, a label of its set, or its score's range.
    fn label_matches(&self, row: &RowView, label: usize) -> bool {
        match self.task {
            Task::SingleLabel => self.labels.get(label) == Some(&row.label),
            Task::MultiLabel => {
                label_set(&row.label).any(|l| Some(l) == self.labels.get(label).map(String::as_str))
            }
            Task::TokenClassification => row
                .label
                .split(", ")
                .any(|l| Some(l) == self.labels.get(label).map(String::as_str)),
            Task::Regression => match (&self.score_bins, row.label.trim().parse::<f32>()) {
                (Some(b), Ok(x)) => b.bin_of(x) == label,
                _ => false,
            },
        }
    }

    /// A row's label as the table shows it (a set as `a, b`).
    pub fn shown_label<'a>(&self, row: &'a RowView) -> std::borrow::Cow<'a, str> {
        match self.task {
            Task::MultiLabel if row.label.is_empty() => "(none)".into(),
            Task::MultiLabel => label_set(&row.label).collect::<Vec<_>>().join(", ").into(),
            _ => row.label.as_str().into(),
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

    /// Recompute the visible rows after a filter, sort or split change.
    pub fn refresh(&mut self) {
        let keep_line = self.selected_row().map(|r| r.line);
        let rows = self.rows();
        let count = |r: &RowView| label_set(&r.label).count().min(MAX_CARDINALITY);
        let mut visible: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                self.label_filter
                    .is_none_or(|l| self.label_matches(&rows[i], l))
            })
            .filter(|&i| self.count_filter.is_none_or(|c| count(&rows[i]) == c))
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
            Cmd::Relabel | Cmd::Accept | Cmd::Keep if self.task != Task::SingleLabel => {
                self.status = Some(format!(
                    "label corrections are for single-label corpora; this one is {}",
                    self.task.name()
                ));
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
            Cmd::LabelCount if self.task != Task::MultiLabel => {
                self.status = Some("# filters by labels per row, in a multi-label corpus".into());
            }
            Cmd::LabelCount => {
                self.count_filter = match self.count_filter {
                    None => Some(0),
                    Some(c) if c < MAX_CARDINALITY => Some(c + 1),
                    Some(_) => None,
                };
                self.refresh();
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
                self.count_filter = None;
                self.misclassified_only = false;
                self.suspects_only = false;
                self.refresh();
            }
            _ => {}
        }
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
    use crossterm::event::{KeyCode, KeyModifiers};

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
                words: None,
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
                wrong: None,
                detail: None,
            },
        );
        p.predictions.insert(
            3,
            RowPrediction {
                label: "neg".into(),
                score: 0.8,
                wrong: None,
                detail: None,
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
