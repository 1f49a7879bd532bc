//! Hyperparameters pane: a form over every `RunConfig` field (the same
//! field list `--set` uses), edited in place with per-field validation.

use super::action::Action;
use super::input::{InputOutcome, TextInput};
use super::keymap::{command, Cmd, Scope};
use super::pane::Pane;
use super::theme::Theme;
use crate::config::{keys, RunConfig};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Named starting points.
pub const PRESETS: &[&str] = &["quick look", "full fine-tune"];

/// The presets' settings (assets/presets/*.toml, compiled in).
pub const PRESET_FILES: &[(&str, &str)] = &[
    (
        "quick look",
        include_str!("../../assets/presets/quick-look.toml"),
    ),
    (
        "full fine-tune",
        include_str!("../../assets/presets/full-fine-tune.toml"),
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
    pub selected: usize,
    pub editing: Option<TextInput>,
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
            selected: 0,
            editing: None,
            pending: BTreeMap::new(),
            locked: false,
            config_path,
            status: None,
            preset: 0,
            offset: Cell::new(0),
        }
    }

    pub fn field(&self) -> &'static str {
        keys()[self.selected]
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
        let n = keys().len();
        match command(Scope::Hyper, &key) {
            Some(Cmd::Down) => self.selected = (self.selected + 1).min(n - 1),
            Some(Cmd::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Cmd::Top) => self.selected = 0,
            Some(Cmd::Bottom) => self.selected = n - 1,
            Some(Cmd::Edit) => {
                if self.locked {
                    self.status = Some("read-only while a run is active".into());
                } else {
                    let current = match self.pending.get(self.field()) {
                        Some((raw, _)) => raw.clone(),
                        None => self.cfg.value_text(self.field()),
                    };
                    self.editing = Some(TextInput::with_text(&current));
                }
            }
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
            if matches!(*key, "train_file" | "val_file" | "model") {
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
        let errors = self.errors();
        let height = list_area.height as usize;
        let mut offset = self.offset.get();
        if self.selected < offset {
            offset = self.selected;
        } else if height > 0 && self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        self.offset.set(offset);
        let key_w = 17;
        let mut lines = Vec::new();
        for (i, key) in keys().iter().enumerate().skip(offset).take(height) {
            let selected = i == self.selected;
            let marker = if selected { "▶ " } else { "  " };
            let value = match (&self.editing, self.pending.get(key)) {
                (Some(input), _) if selected => format!("{}▏", input.text),
                (_, Some((raw, _))) => raw.clone(),
                _ => {
                    let v = self.cfg.value_text(key);
                    if v.is_empty() && *key == "lr" {
                        "(auto: by model)".into()
                    } else if v.is_empty() {
                        "(default)".into()
                    } else {
                        v
                    }
                }
            };
            let mut spans = vec![Span::styled(
                format!("{marker}{key:<key_w$} {value}"),
                if selected {
                    theme.selected()
                } else {
                    Default::default()
                },
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
        f.render_widget(Paragraph::new(lines), list_area);
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
        Scope::Hyper
    }

    fn is_typing(&self) -> bool {
        self.editing.is_some()
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
        p.selected = keys().iter().position(|f| *f == field).unwrap();
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
        p.selected = keys().iter().position(|f| *f == "batch_size").unwrap();
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

    #[test]
    fn locked_form_refuses_edits() {
        let mut p = pane();
        p.locked = true;
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
