//! Hyperparameters pane: a form over every `RunConfig` key (the same keys
//! `--set` takes), grouped and folded as the config declares them, showing
//! only the keys that apply (`rows`), each with its help, edited in place
//! with per-field validation; `search` opens the search space as rows
//! (`search_form`).

mod rows;
mod search_form;

use super::action::Action;
use super::input::{InputOutcome, TextInput};
use super::keymap::{command, Cmd, Scope};
use super::pane::Pane;
use super::theme::Theme;
use crate::config::{keys, Group, RunConfig, SearchSpec};
use crate::data::Task;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use rows::{group_states, help_line, matching_keys, visible_rows, Row};
use search_form::SearchForm;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Named starting points.
pub const PRESETS: &[&str] = &["quick look", "full fine-tune"];

/// The presets' settings (assets/presets/*.toml, compiled in).
pub const PRESET_FILES: &[(&str, &str)] = &[
    (
        "quick look",
        include_str!("../../../assets/presets/quick-look.toml"),
    ),
    (
        "full fine-tune",
        include_str!("../../../assets/presets/full-fine-tune.toml"),
    ),
];

/// `name`'s settings over the defaults, keeping `base`'s data, model and
/// device.
pub fn preset(name: &str, base: &RunConfig) -> RunConfig {
    let text = PRESET_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(PRESET_FILES[0].1, |(_, t)| t);
    // The files are compiled in and parsed by a test: they cannot fail here.
    let settings: RunConfig = toml::from_str(text).unwrap_or_default();
    settings.with_data_of(base)
}

/// serde's type errors in words a person expects in a form.
fn friendly(message: &str) -> String {
    if message.contains("expected f64") {
        "not a number (e.g. 5e-5 or 0.1)".into()
    } else if message.contains("expected u64")
        || message.contains("expected usize")
        || message.contains("expected an integer")
    {
        "not a whole number".into()
    } else if message.contains("expected a boolean") {
        "must be true or false".into()
    } else {
        message.to_string()
    }
}

pub struct HyperPane {
    pub cfg: RunConfig,
    /// The selected row (a group header or a key), kept by identity so it
    /// survives rows appearing and disappearing.
    selected: Row,
    folded: BTreeSet<Group>,
    /// The data's task, for keys the config leaves to the data.
    pub data_task: Option<Task>,
    pub editing: Option<TextInput>,
    /// `/`: the name being typed, and the last one (for `n`).
    finding: Option<TextInput>,
    last_find: String,
    /// The search space's rows, while open.
    search: Option<SearchForm>,
    /// Text typed for a field that does not parse, with the reason.
    pub pending: BTreeMap<&'static str, (String, String)>,
    pub locked: bool,
    pub config_path: PathBuf,
    pub status: Option<String>,
    preset: usize,
    offset: Cell<usize>,
}

impl HyperPane {
    pub fn new(cfg: RunConfig, config_path: PathBuf) -> Self {
        HyperPane {
            cfg,
            selected: Row::Header(Group::ALL[0]),
            folded: BTreeSet::new(),
            data_task: None,
            editing: None,
            finding: None,
            last_find: String::new(),
            search: None,
            pending: BTreeMap::new(),
            locked: false,
            config_path,
            status: None,
            preset: 0,
            offset: Cell::new(0),
        }
    }

    /// The selected key ("" on a group header).
    pub fn field(&self) -> &'static str {
        match self.selected {
            Row::Key(k) => k,
            Row::Header(_) => "",
        }
    }

    /// Select `key`, unfolding its group; false when it does not apply
    /// under the current values (the status says why).
    pub fn select(&mut self, key: &str) -> bool {
        let Some(&k) = keys().iter().find(|k| **k == key) else {
            return false;
        };
        if let Some(why) = self.cfg.inapplicable(k, self.data_task) {
            if !self.errors().contains_key(k) {
                self.status = Some(format!("{k} is hidden: {why}"));
                return false;
            }
        }
        if let Some(g) = rows::group_of(k) {
            self.folded.remove(&g);
        }
        self.selected = Row::Key(k);
        true
    }

    /// Whether the search space's rows are open.
    pub fn search_open(&self) -> bool {
        self.search.is_some()
    }

    fn rows(&self) -> Vec<Row> {
        let errors = self.errors();
        visible_rows(
            &self.cfg,
            self.data_task,
            &self.folded,
            &errors.keys().copied().collect(),
        )
    }

    /// The selected row's index among the visible ones (a hidden key's
    /// group header when its key stopped applying).
    fn selected_index(&self, rows: &[Row]) -> usize {
        if let Some(i) = rows.iter().position(|r| *r == self.selected) {
            return i;
        }
        let group = match self.selected {
            Row::Header(g) => Some(g),
            Row::Key(k) => rows::group_of(k),
        };
        rows.iter()
            .position(|r| Some(*r) == group.map(Row::Header))
            .unwrap_or(0)
    }

    fn move_to(&mut self, index: usize) {
        let rows = self.rows();
        if let Some(r) = rows.get(index.min(rows.len().saturating_sub(1))) {
            self.selected = *r;
        }
    }

    /// Every problem by field: unparsable text first, then validation.
    pub fn errors(&self) -> BTreeMap<&'static str, String> {
        let mut out: BTreeMap<&'static str, String> = self
            .pending
            .iter()
            .map(|(k, (_, e))| (*k, e.clone()))
            .collect();
        for p in self.cfg.problems() {
            out.entry(p.field).or_insert(p.reason);
        }
        if self.cfg.train_file.is_none() {
            out.entry("train_file")
                .or_insert_with(|| "no training data given".into());
        }
        out
    }

    pub fn can_start(&self) -> bool {
        self.errors().is_empty()
    }

    /// The config with `text` applied to the selected field, or why it
    /// cannot be (the text does not parse, or the value is out of range).
    fn apply(&self, text: &str) -> Result<RunConfig, String> {
        let key = self.field();
        let trimmed = text.trim();
        let mut cfg = self.cfg.clone();
        let result = if trimmed.is_empty() && RunConfig::is_optional(key) {
            cfg.unset(key)
        } else {
            cfg.set(&format!("{key}={trimmed}"))
        };
        result.map(|()| cfg).map_err(|e| match e {
            crate::config::ConfigError::BadOverride { message, .. } => friendly(&message),
            other => other.to_string(),
        })
    }

    /// What is wrong with the text being typed, checked on every key: the
    /// parse, then the field's own range check.
    fn typing_error(&self) -> Option<String> {
        let input = self.editing.as_ref()?;
        match self.apply(&input.text) {
            Err(reason) => Some(reason),
            Ok(cfg) => cfg
                .problems()
                .into_iter()
                .find(|p| p.field == self.field())
                .map(|p| p.reason),
        }
    }

    fn commit(&mut self, text: String) {
        let key = self.field();
        match self.apply(&text) {
            Ok(cfg) => {
                self.cfg = cfg;
                self.pending.remove(key);
                self.status = None;
            }
            Err(reason) => {
                self.pending.insert(key, (text.trim().to_string(), reason));
            }
        }
    }

    fn handle_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if let Some(input) = &mut self.editing {
            match input.handle(key) {
                InputOutcome::Submitted(text) => {
                    self.editing = None;
                    self.commit(text);
                }
                InputOutcome::Cancelled => self.editing = None,
                _ => {}
            }
            return vec![];
        }
        if let Some(input) = &mut self.finding {
            let text = match input.handle(key) {
                InputOutcome::Submitted(text) => {
                    self.finding = None;
                    text
                }
                InputOutcome::Cancelled => {
                    self.finding = None;
                    return vec![];
                }
                _ => input.text.clone(),
            };
            self.last_find = text.clone();
            self.find_from(&text, 0);
            return vec![];
        }
        if let Some(form) = &mut self.search {
            if let search_form::Outcome::Close = form.on_key(&mut self.cfg, key) {
                self.search = None;
            }
            return vec![];
        }
        let rows = self.rows();
        let at = self.selected_index(&rows);
        match command(Scope::Hyper, &key) {
            Some(Cmd::Down) => self.move_to(at + 1),
            Some(Cmd::Up) => self.move_to(at.saturating_sub(1)),
            Some(Cmd::Top) => self.move_to(0),
            Some(Cmd::Bottom) => self.move_to(usize::MAX),
            Some(Cmd::NextGroup) => {
                if let Some(r) = rows[at + 1..].iter().find(|r| matches!(r, Row::Header(_))) {
                    self.selected = *r;
                }
            }
            Some(Cmd::PrevGroup) => {
                if let Some(r) = rows[..at]
                    .iter()
                    .rev()
                    .find(|r| matches!(r, Row::Header(_)))
                {
                    self.selected = *r;
                }
            }
            Some(Cmd::Fold) => self.toggle_fold(),
            Some(Cmd::Edit) => match self.selected {
                Row::Header(_) => self.toggle_fold(),
                Row::Key("search") => self.open_search(None),
                Row::Key(_) if self.locked => {
                    self.status = Some("read-only while a run is active".into());
                }
                Row::Key(field) => {
                    let current = match self.pending.get(field) {
                        Some((raw, _)) => raw.clone(),
                        None => self.cfg.value_text(field),
                    };
                    self.editing = Some(TextInput::with_text(&current));
                }
            },
            Some(Cmd::Search) => {
                self.finding = Some(TextInput::with_text(""));
            }
            Some(Cmd::NextMatch) => {
                let query = self.last_find.clone();
                let from = match self.selected {
                    Row::Key(k) => matching_keys(&query)
                        .iter()
                        .position(|m| *m == k)
                        .map_or(0, |i| i + 1),
                    Row::Header(_) => 0,
                };
                self.find_from(&query, from);
            }
            Some(Cmd::Reset) if !self.locked => {
                if let Row::Key(k) = self.selected {
                    self.cfg.reset(k);
                    self.pending.remove(k);
                    self.status = Some(format!("{k} reset to its default"));
                }
            }
            Some(Cmd::AddToSearch) if !self.locked => self.add_to_search(),
            Some(Cmd::Preset) if !self.locked => {
                self.preset = (self.preset + 1) % PRESETS.len();
                self.cfg = preset(PRESETS[self.preset], &self.cfg);
                self.pending.clear();
                self.status = Some(format!("preset: {}", PRESETS[self.preset]));
            }
            Some(Cmd::SaveConfig) => {
                return vec![Action::SaveConfig {
                    path: self.config_path.clone(),
                    toml: self.cfg.to_toml(),
                }]
            }
            Some(Cmd::SaveCommand) => {
                return vec![Action::SaveScript {
                    path: PathBuf::from(COMMAND_SCRIPT),
                    text: self.command_script(),
                }]
            }
            Some(Cmd::LoadConfig) if !self.locked => {
                return vec![Action::LoadConfig(self.config_path.clone())]
            }
            _ => {}
        }
        vec![]
    }

    fn toggle_fold(&mut self) {
        let group = match self.selected {
            Row::Header(g) => g,
            Row::Key(k) => match rows::group_of(k) {
                Some(g) => g,
                None => return,
            },
        };
        if !self.folded.remove(&group) {
            self.folded.insert(group);
            self.selected = Row::Header(group);
        }
    }

    /// Select the `skip`-th key (wrapping) whose name holds `query` and
    /// applies; the status says when there is none, or it is hidden.
    fn find_from(&mut self, query: &str, skip: usize) {
        let all = matching_keys(query);
        if all.is_empty() {
            self.status = (!query.trim().is_empty()).then(|| format!("no key matches '{query}'"));
            return;
        }
        let n = all.len();
        let shown = (0..n)
            .map(|i| all[(skip + i) % n])
            .find(|k| self.cfg.inapplicable(k, self.data_task).is_none());
        match shown {
            Some(k) => {
                self.select(k);
                self.status = Some(format!("/{query}: {k} (n next)"));
            }
            None => {
                let k = all[skip % n];
                let why = self.cfg.inapplicable(k, self.data_task).unwrap_or_default();
                self.status = Some(format!("{k} is hidden: {why}"));
            }
        }
    }

    fn open_search(&mut self, key: Option<&str>) {
        self.status = None;
        let mut form = SearchForm::default();
        if let Some(k) = key {
            form.select_param(&self.cfg.search, k);
        }
        self.search = Some(form);
    }

    /// `+`: search the selected key around its current value.
    fn add_to_search(&mut self) {
        let Row::Key(k) = self.selected else {
            return;
        };
        if k == "search" {
            return self.open_search(None);
        }
        let added = SearchSpec::suggest(&self.cfg, k).and_then(|p| {
            let text = format!("{} {}", p.kind().name(), p.range_text());
            self.cfg.search.with_param(k, p).map(|s| (s, text))
        });
        self.status = Some(match added {
            Ok((spec, text)) => {
                self.cfg.search = spec;
                format!("{k} searched: {text} (Enter on search edits the space)")
            }
            Err(e) => e,
        });
    }

    /// The config file was written (or not).
    pub fn config_saved(&mut self, path: &Path, result: Result<(), String>) {
        self.status = Some(match result {
            Ok(()) => format!("saved {}", path.display()),
            Err(e) => format!("cannot save {}: {e}", path.display()),
        });
    }

    /// A config file was read into the form (or could not be).
    pub fn config_loaded(&mut self, path: &Path, result: Result<RunConfig, String>) {
        self.status = Some(match result {
            Ok(cfg) => {
                self.cfg = cfg;
                self.pending.clear();
                format!("loaded {}", path.display())
            }
            Err(e) => e,
        });
    }

    /// A run's config, to start a new run from.
    pub fn config_from_run(&mut self, dir: &Path, cfg: RunConfig) {
        self.cfg = cfg;
        self.pending.clear();
        self.status = Some(format!(
            "config of {} loaded: s starts a new run",
            dir.display()
        ));
    }

    /// The `tunebench train` command line for the current values, quoted
    /// for a POSIX shell.
    pub fn command_line(&self) -> String {
        let defaults = RunConfig::default();
        let mut parts = vec!["tunebench train".to_string()];
        if let Some(p) = &self.cfg.train_file {
            parts.push(format!("--data {}", shell_word(&p.display().to_string())));
        }
        if let Some(p) = &self.cfg.val_file {
            parts.push(format!("--val {}", shell_word(&p.display().to_string())));
        }
        if self.cfg.model != defaults.model {
            parts.push(format!("--model {}", shell_word(&self.cfg.model)));
        }
        for key in keys() {
            // The search space is `tunebench sweep`'s, not this command's.
            if matches!(*key, "train_file" | "val_file" | "model" | "search") {
                continue;
            }
            let v = self.cfg.value_text(key);
            if v != defaults.value_text(key) && !v.is_empty() {
                parts.push(format!("--set {}", shell_word(&format!("{key}={v}"))));
            }
        }
        parts.join(" ")
    }

    /// The command line as a script `y` writes (run it with `sh run.sh`).
    pub fn command_script(&self) -> String {
        format!(
            "#!/bin/sh\n# The TUI form's run, written by tunebench (y in the Hyperparameters pane).\n{} \"$@\"\n",
            self.command_line()
        )
    }

    /// The line under the rows: what `/` is typing, the selected key's
    /// help and default, or what a group header hides and why.
    fn help_text(&self) -> String {
        if let Some(input) = &self.finding {
            return format!("find key: /{}▏ (Enter keeps it, n next)", input.text);
        }
        match self.selected {
            Row::Key(k) => format!("{k}: {}", help_line(k)),
            Row::Header(g) => {
                let state = group_states(&self.cfg, self.data_task)
                    .into_iter()
                    .find(|(h, _)| *h == g)
                    .map(|(_, s)| s)
                    .unwrap_or_default();
                let mut text = format!(
                    "{}: {} keys. Enter folds/unfolds · [ ] previous/next group · / finds a key",
                    g.title(),
                    state.shown
                );
                if let Some(note) = state.hidden_note() {
                    text.push_str(&format!(" · {note}"));
                }
                text
            }
        }
    }

    fn draw_rows(
        &self,
        f: &mut Frame,
        area: Rect,
        errors: &BTreeMap<&'static str, String>,
        theme: &Theme,
    ) {
        let rows = self.rows();
        let states = group_states(&self.cfg, self.data_task);
        let changed: BTreeSet<&str> = self.cfg.changed_keys().into_iter().collect();
        let at = self.selected_index(&rows);
        let height = area.height as usize;
        let mut offset = self.offset.get();
        if at < offset {
            offset = at;
        } else if height > 0 && at >= offset + height {
            offset = at + 1 - height;
        }
        self.offset.set(offset);
        let key_w = 17;
        let mut lines = Vec::new();
        for (i, row) in rows.iter().enumerate().skip(offset).take(height) {
            let selected = i == at;
            let marker = if selected { "▶ " } else { "  " };
            let style = if selected {
                theme.selected()
            } else {
                Default::default()
            };
            let key = match row {
                Row::Header(g) => {
                    let folded = self.folded.contains(g);
                    let state = states.iter().find(|(h, _)| h == g).map(|(_, s)| s);
                    let glyph = if folded { "▸" } else { "▾" };
                    let mut spans = vec![Span::styled(
                        format!("{marker}{glyph} {}", g.title()),
                        if selected { style } else { theme.accent() },
                    )];
                    if folded {
                        let n = state.map_or(0, |s| s.shown);
                        spans.push(Span::styled(format!(" ({n})"), theme.dim()));
                    }
                    if let Some(note) = state.and_then(|s| s.hidden_note()) {
                        spans.push(Span::styled(format!("  {note}"), theme.dim()));
                    }
                    lines.push(Line::from(spans));
                    continue;
                }
                Row::Key(k) => *k,
            };
            let value = match (&self.editing, self.pending.get(key)) {
                (Some(input), _) if selected => format!("{}▏", input.text),
                (_, Some((raw, _))) => raw.clone(),
                _ => self.shown_value(key),
            };
            let mark = if changed.contains(key) { "●" } else { " " };
            let mut spans = vec![Span::styled(
                format!("{marker}{mark} {key:<key_w$} {value}"),
                style,
            )];
            let error = if selected && self.editing.is_some() {
                self.typing_error()
            } else {
                errors.get(key).cloned()
            };
            if let Some(e) = error {
                spans.push(Span::styled(format!("  ✗ {e}"), theme.error()));
            }
            lines.push(Line::from(spans));
        }
        f.render_widget(Paragraph::new(lines), area);
    }

    /// A key's value as the form shows it (unset keys say what decides).
    fn shown_value(&self, key: &str) -> String {
        let v = self.cfg.value_text(key);
        match key {
            "lr" if v.is_empty() => "(auto: by model)".into(),
            "search" => {
                let s = &self.cfg.search;
                if s.is_empty() {
                    "(none: Enter opens, + on a key adds it)".into()
                } else {
                    let names: Vec<&str> = s.params.iter().map(|(n, _)| n.as_str()).collect();
                    format!(
                        "{} trials over {} (Enter)",
                        s.settings.trials,
                        names.join(", ")
                    )
                }
            }
            _ if v.is_empty() => "(default)".into(),
            _ => v,
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        let title = if self.locked {
            " 2 Hyperparameters (read-only: run active) "
        } else {
            " 2 Hyperparameters "
        };
        let block = super::pane_block(title, area, focused, theme);
        let inner = block.inner(area);
        f.render_widget(block, area);
        // The command line gets the lines it needs, up to a third of the pane.
        let width = inner.width.max(1) as usize;
        let wanted = wrap_marked(&self.command_line(), width, usize::MAX).len() as u16;
        let foot_h = (1 + wanted).clamp(2, (inner.height / 3).max(2));
        let [list_area, foot] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(foot_h)]).areas(inner);
        let help_h = if self.search.is_some() { 0 } else { 2 };
        let [list_area, help_area] =
            Layout::vertical([Constraint::Min(2), Constraint::Length(help_h)]).areas(list_area);
        if help_h > 0 {
            let help = wrap_marked(&self.help_text(), help_area.width as usize, 2);
            let lines: Vec<Line> = help
                .into_iter()
                .map(|l| Line::styled(l, theme.dim()))
                .collect();
            f.render_widget(Paragraph::new(lines), help_area);
        }
        let errors = self.errors();
        if let Some(form) = &self.search {
            let lines = form.lines(&self.cfg, list_area.height as usize, theme);
            f.render_widget(Paragraph::new(lines), list_area);
        } else {
            self.draw_rows(f, list_area, &errors, theme);
        }
        let mut foot_lines = vec![];
        match (&self.status, errors.is_empty()) {
            (Some(s), _) => foot_lines.push(Line::styled(s.clone(), theme.accent())),
            (None, false) => foot_lines.push(Line::styled(
                format!("{} invalid field(s): fix them to start", errors.len()),
                theme.error(),
            )),
            (None, true) if self.locked => foot_lines.push(Line::styled(
                "the run's settings (editable when it ends)",
                theme.dim(),
            )),
            (None, true) => foot_lines.push(Line::styled("ready: s starts the run", theme.good())),
        }
        let room = (foot.height as usize).saturating_sub(1);
        for line in wrap_marked(&self.command_line(), foot.width as usize, room) {
            foot_lines.push(Line::styled(line, theme.dim()));
        }
        f.render_widget(Paragraph::new(foot_lines), foot);
    }
}

/// Where `y` writes the form's command line.
pub const COMMAND_SCRIPT: &str = "run.sh";

/// `word` as one POSIX shell word: as it is when plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@,+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `text` wrapped at spaces into lines of at most `width` columns; past
/// `max_lines` the last line kept ends in `…`, so a cut is never silent.
fn wrap_marked(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let w = crate::data::display_width(word);
        let cur = crate::data::display_width(&line);
        if !line.is_empty() && cur + 1 + w > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        // A word longer than the line is cut into pieces.
        while crate::data::display_width(&line) > width {
            let head: String = line.chars().take(width).collect();
            let rest: String = line.chars().skip(width).collect();
            lines.push(head);
            line = rest;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = crate::data::clip(last, width.saturating_sub(1).max(1));
            if !last.ends_with('…') {
                last.push('…');
            }
        }
    }
    lines
}

impl Pane for HyperPane {
    fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        self.handle_key(key)
    }

    fn render(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        self.draw(f, area, focused, theme)
    }

    fn scope(&self) -> Scope {
        if self.search.is_some() {
            Scope::SearchForm
        } else {
            Scope::Hyper
        }
    }

    fn is_typing(&self) -> bool {
        self.editing.is_some()
            || self.finding.is_some()
            || self.search.as_ref().is_some_and(SearchForm::is_typing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn preset_files_parse_validate_and_keep_the_data() {
        assert_eq!(PRESETS.len(), PRESET_FILES.len());
        for (name, text) in PRESET_FILES {
            let settings: RunConfig = toml::from_str(text).expect(name);
            assert!(PRESETS.contains(name));
            let base = RunConfig {
                model: "some/model".into(),
                train_file: Some("t.csv".into()),
                val_split: 0.2,
                ..Default::default()
            };
            let p = preset(name, &base);
            assert_eq!(p.epochs, settings.epochs);
            assert_eq!(
                (p.model.as_str(), p.train_file.clone()),
                ("some/model", base.train_file.clone())
            );
            assert!(p.problems().is_empty(), "{name}: {:?}", p.problems());
        }
        assert_eq!(preset("quick look", &RunConfig::default()).max_len, 64);
        assert_eq!(preset("full fine-tune", &RunConfig::default()).patience, 2);
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn edit(p: &mut HyperPane, field: &str, text: &str) {
        assert!(p.select(field), "{field}");
        p.on_key(key(KeyCode::Enter));
        p.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        p.on_key(key(KeyCode::End));
        for _ in 0..40 {
            p.on_key(key(KeyCode::Backspace));
        }
        for c in text.chars() {
            p.on_key(key(KeyCode::Char(c)));
        }
        p.on_key(key(KeyCode::Enter));
    }

    fn pane() -> HyperPane {
        let cfg = RunConfig {
            train_file: Some("train.csv".into()),
            ..Default::default()
        };
        HyperPane::new(cfg, "run.toml".into())
    }

    #[test]
    fn invalid_value_shows_an_error_and_blocks_start_until_fixed() {
        let mut p = pane();
        assert!(p.can_start());
        edit(&mut p, "lr", "fast");
        assert!(
            p.errors()["lr"].contains("not a number"),
            "{:?}",
            p.errors()
        );
        edit(&mut p, "epochs", "2.5");
        assert!(
            p.errors()["epochs"].contains("whole number"),
            "{:?}",
            p.errors()
        );
        edit(&mut p, "epochs", "2");
        assert!(!p.can_start());
        edit(&mut p, "lr", "-3");
        assert!(p.errors()["lr"].contains("must be in (0, 1)"));
        edit(&mut p, "lr", "3e-4");
        assert!(p.can_start(), "{:?}", p.errors());
        assert_eq!(p.cfg.lr, Some(3e-4));
    }

    #[test]
    fn the_text_being_typed_is_checked_on_every_key() {
        let mut p = pane();
        assert!(p.select("batch_size"));
        p.on_key(key(KeyCode::Enter));
        for _ in 0..4 {
            p.on_key(key(KeyCode::Backspace));
        }
        let typed = |p: &mut HyperPane, c: char| {
            p.on_key(key(KeyCode::Char(c)));
            p.typing_error()
        };
        assert!(typed(&mut p, 'x').unwrap().contains("whole number"));
        p.on_key(key(KeyCode::Backspace));
        assert_eq!(typed(&mut p, '0').as_deref(), Some("must be 1..=4096"));
        p.on_key(key(KeyCode::Backspace));
        assert_eq!(typed(&mut p, '1'), None);
        assert_eq!(typed(&mut p, '6'), None);
        // Nothing is applied until Enter; Esc leaves the value as it was.
        assert_eq!(p.cfg.batch_size, RunConfig::default().batch_size);
        p.on_key(key(KeyCode::Esc));
        assert_eq!(p.typing_error(), None);
        assert!(p.can_start());
    }

    #[test]
    fn the_command_line_wraps_and_marks_a_cut() {
        let text = "tunebench train --data a.csv --set lr=0.001 --set epochs=3";
        let lines = wrap_marked(text, 20, 10);
        assert!(
            lines.iter().all(|l| crate::data::display_width(l) <= 20),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), text);
        let cut = wrap_marked(text, 20, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'), "{cut:?}");
        assert_eq!(shell_word("lr=1e-3"), "lr=1e-3");
        assert_eq!(shell_word("search={ a = 1 }"), "'search={ a = 1 }'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }

    #[test]
    fn optional_fields_can_be_cleared_and_presets_apply() {
        let mut p = pane();
        edit(&mut p, "dropout", "0.2");
        assert_eq!(p.cfg.dropout, Some(0.2));
        edit(&mut p, "dropout", "");
        assert_eq!(p.cfg.dropout, None);
        p.on_key(key(KeyCode::Char('P')));
        assert_eq!(p.cfg.lr, None, "presets leave lr to the model");
        assert_eq!(
            p.cfg.train_file,
            Some("train.csv".into()),
            "presets keep the data"
        );
        assert!(
            p.command_line().contains("--set patience=2"),
            "{}",
            p.command_line()
        );
    }

    fn keys_shown(p: &HyperPane) -> Vec<&'static str> {
        p.rows()
            .into_iter()
            .filter_map(|r| match r {
                Row::Key(k) => Some(k),
                Row::Header(_) => None,
            })
            .collect()
    }

    fn press(p: &mut HyperPane, c: char) {
        p.on_key(key(KeyCode::Char(c)));
    }

    #[test]
    fn only_keys_that_apply_are_shown_and_headers_say_what_is_hidden() {
        let mut p = pane();
        let shown = keys_shown(&p);
        assert!(shown.contains(&"lr"));
        assert!(!shown.iter().any(|k| k.starts_with("adalora_")
            || k.starts_with("prefix_")
            || k.starts_with("ia3_")
            || k.starts_with("lora_")));
        let peft = group_states(&p.cfg, None)
            .into_iter()
            .find(|(g, _)| *g == Group::Peft)
            .unwrap()
            .1;
        assert_eq!(
            peft.hidden_note().as_deref(),
            Some("16 hidden: peft = none")
        );
        edit(&mut p, "peft", "adalora");
        let shown = keys_shown(&p);
        assert!(shown.contains(&"adalora_init_r") && shown.contains(&"lora_alpha"));
        assert!(!shown.contains(&"prefix_tokens") && !shown.contains(&"lora_r"));
        // The data's task decides the task keys when the config does not.
        p.data_task = Some(Task::TokenClassification);
        assert!(keys_shown(&p).contains(&"tag_scheme"));
        p.data_task = Some(Task::SingleLabel);
        assert!(!keys_shown(&p).contains(&"tag_scheme"));
        assert!(!keys_shown(&p).contains(&"label_sep"));
    }

    #[test]
    fn a_hidden_key_with_a_bad_value_is_shown_so_it_can_be_fixed() {
        let mut p = pane();
        p.data_task = Some(Task::SingleLabel);
        assert!(!keys_shown(&p).contains(&"label_sep"));
        p.cfg.label_sep = Some("::".into());
        assert!(p.errors().contains_key("label_sep"), "{:?}", p.errors());
        assert!(keys_shown(&p).contains(&"label_sep"));
        assert!(p.select("label_sep"));
        press(&mut p, 'D');
        assert!(p.can_start());
        assert!(!keys_shown(&p).contains(&"label_sep"));
    }

    #[test]
    fn groups_fold_and_brackets_jump_between_them() {
        let mut p = pane();
        assert_eq!(p.selected, Row::Header(Group::Data));
        press(&mut p, ']');
        assert_eq!(p.selected, Row::Header(Group::Model));
        p.on_key(key(KeyCode::Enter));
        assert!(!keys_shown(&p).contains(&"max_len"), "Model folded");
        press(&mut p, 'j');
        assert_eq!(p.selected, Row::Header(Group::Training));
        press(&mut p, '[');
        p.on_key(key(KeyCode::Char(' ')));
        assert!(keys_shown(&p).contains(&"max_len"), "unfolded again");
        // Finding a key in a folded group unfolds it.
        press(&mut p, ']');
        p.on_key(key(KeyCode::Enter));
        press(&mut p, '/');
        for c in "warm".chars() {
            press(&mut p, c);
        }
        p.on_key(key(KeyCode::Enter));
        assert_eq!(p.field(), "warmup_ratio");
        press(&mut p, '/');
        for c in "adam".chars() {
            press(&mut p, c);
        }
        p.on_key(key(KeyCode::Enter));
        assert_eq!(p.field(), "adam_beta1");
        press(&mut p, 'n');
        assert_eq!(p.field(), "adam_beta2");
        press(&mut p, '/');
        for c in "adalora_t".chars() {
            press(&mut p, c);
        }
        assert!(p.status.as_deref().unwrap().contains("hidden: peft = none"));
    }

    #[test]
    fn a_changed_key_resets_with_d_and_plus_searches_it() {
        let mut p = pane();
        edit(&mut p, "lr", "3e-4");
        assert_eq!(p.cfg.changed_keys(), ["train_file", "lr"]);
        press(&mut p, '+');
        let spec = p.cfg.search.param("lr").unwrap().clone();
        assert_eq!(spec.range_text(), "3e-5 3e-3");
        assert!(p
            .status
            .as_deref()
            .unwrap()
            .starts_with("lr searched: log-uniform"));
        press(&mut p, 'D');
        assert_eq!(p.cfg.lr, None);
        assert!(!p.cfg.changed_keys().contains(&"lr"));
        // The search space's rows: trials set as any field is.
        assert!(p.select("search"));
        p.on_key(key(KeyCode::Enter));
        assert!(p.search_open());
        assert_eq!(p.scope(), Scope::SearchForm);
        press(&mut p, 'j'); // lr → trials
        p.on_key(key(KeyCode::Enter));
        p.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        press(&mut p, '4');
        p.on_key(key(KeyCode::Enter));
        assert_eq!(p.cfg.search.settings.trials, 4);
        // A bad range is refused in the CLI's words and changes nothing.
        press(&mut p, 'k');
        p.on_key(key(KeyCode::Enter));
        p.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        for c in "0 1e-3".chars() {
            press(&mut p, c);
        }
        p.on_key(key(KeyCode::Enter));
        let form = p.search.as_ref().unwrap();
        assert_eq!(
            form.error.as_ref().unwrap().1,
            "[search] lr: a log range needs low > 0, got 0"
        );
        assert_eq!(p.cfg.search.param("lr"), Some(&spec));
        // Space: the next kind; `a` adds a key around its value.
        p.on_key(key(KeyCode::Char(' ')));
        assert_eq!(
            p.cfg.search.param("lr").unwrap().kind(),
            crate::config::SearchKind::Int
        );
        press(&mut p, 'a');
        for c in "warmup_ratio".chars() {
            press(&mut p, c);
        }
        p.on_key(key(KeyCode::Enter));
        assert_eq!(
            p.cfg.search.param("warmup_ratio").unwrap().range_text(),
            "0 0.2"
        );
        p.on_key(key(KeyCode::Esc));
        assert!(!p.search_open());
        // What `w` saves is the [search] table `sweep --config` reads.
        let back: RunConfig = toml::from_str(&p.cfg.to_toml()).unwrap();
        assert_eq!(back.search, p.cfg.search);
    }

    #[test]
    fn locked_form_refuses_edits() {
        let mut p = pane();
        p.locked = true;
        assert!(p.select("epochs"));
        p.on_key(key(KeyCode::Enter));
        assert!(p.editing.is_none());
        assert!(p.status.as_deref().unwrap().contains("read-only"));
    }

    #[test]
    fn saves_and_loads_toml() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("run.toml");
        let mut p = HyperPane::new(RunConfig::default(), path.clone());
        p.cfg.epochs = 9;
        // The pane asks; the event loop writes and reads (as mod.rs does).
        let saved = p.on_key(key(KeyCode::Char('w')));
        let [Action::SaveConfig { path: to, toml }] = saved.as_slice() else {
            panic!("{saved:?}")
        };
        assert_eq!(to, &path);
        crate::disk::write_atomic(to, toml.as_bytes()).unwrap();
        p.config_saved(to, Ok(()));
        assert!(p.status.as_deref().unwrap().starts_with("saved "));
        p.cfg.epochs = 1;
        let load = p.on_key(key(KeyCode::Char('L')));
        assert_eq!(load, vec![Action::LoadConfig(path.clone())]);
        p.config_loaded(
            &path,
            RunConfig::from_toml_file(&path).map_err(|e| e.to_string()),
        );
        assert_eq!(p.cfg.epochs, 9);
        p.locked = true;
        assert!(
            p.on_key(key(KeyCode::Char('L'))).is_empty(),
            "no load while a run holds the form"
        );
    }
}
