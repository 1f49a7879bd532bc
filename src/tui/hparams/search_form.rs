//! The search space as rows (the form's `search` key opens it): one row per
//! searched key — its distribution and range — then the study's settings.
//! Each edit goes through the config's `SearchSpec` parser, so a range
//! `tunebench sweep --config` would refuse is refused here in its words.

use super::super::input::{InputOutcome, TextInput};
use super::super::keymap::{command, Cmd, Scope};
use super::super::theme::Theme;
use crate::config::{ParamSpec, RunConfig, SearchSpec};
use crossterm::event::KeyEvent;
use ratatui::text::{Line, Span};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchRow {
    Param(String),
    Setting(&'static str),
}

/// What the line being typed will become.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Typing {
    /// The range cell of a searched key.
    Range(String),
    Setting(&'static str),
    /// The name of a key to search.
    NewKey,
}

#[derive(Default)]
pub struct SearchForm {
    pub selected: usize,
    editing: Option<(Typing, TextInput)>,
    /// The last refused edit: its row and the parser's words.
    pub error: Option<(SearchRow, String)>,
    pub status: Option<String>,
}

/// What a key did to the sub-form.
pub enum Outcome {
    Stay,
    Close,
}

pub fn rows(spec: &SearchSpec) -> Vec<SearchRow> {
    spec.params
        .iter()
        .map(|(k, _)| SearchRow::Param(k.clone()))
        .chain(
            SearchSpec::setting_names()
                .iter()
                .map(|s| SearchRow::Setting(s)),
        )
        .collect()
}

impl SearchForm {
    pub fn is_typing(&self) -> bool {
        self.editing.is_some()
    }

    pub fn select_param(&mut self, spec: &SearchSpec, key: &str) {
        if let Some(i) = rows(spec)
            .iter()
            .position(|r| *r == SearchRow::Param(key.to_string()))
        {
            self.selected = i;
        }
    }

    pub fn on_key(&mut self, cfg: &mut RunConfig, key: KeyEvent) -> Outcome {
        if let Some((what, input)) = &mut self.editing {
            match input.handle(key) {
                InputOutcome::Submitted(text) => {
                    let what = what.clone();
                    self.editing = None;
                    self.submit(cfg, what, &text);
                }
                InputOutcome::Cancelled => self.editing = None,
                _ => {}
            }
            return Outcome::Stay;
        }
        let rows = rows(&cfg.search);
        let n = rows.len();
        let row = rows.get(self.selected.min(n.saturating_sub(1))).cloned();
        match command(Scope::SearchForm, &key) {
            Some(Cmd::Down) => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Some(Cmd::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Cmd::Top) => self.selected = 0,
            Some(Cmd::Bottom) => self.selected = n.saturating_sub(1),
            Some(Cmd::Close) => return Outcome::Close,
            Some(Cmd::AddRow) => {
                self.editing = Some((Typing::NewKey, TextInput::with_text("")));
            }
            Some(Cmd::Edit) => match row {
                Some(SearchRow::Param(k)) => {
                    let text = cfg
                        .search
                        .param(&k)
                        .map(ParamSpec::range_text)
                        .unwrap_or_default();
                    self.editing = Some((Typing::Range(k), TextInput::with_text(&text)));
                }
                Some(SearchRow::Setting(s)) => {
                    let text = cfg.search.setting_text(s);
                    self.editing = Some((Typing::Setting(s), TextInput::with_text(&text)));
                }
                None => {}
            },
            Some(Cmd::CycleKind) => {
                if let Some(SearchRow::Param(k)) = row {
                    if let Some(p) = cfg.search.param(&k).cloned() {
                        let kind = p.kind().next();
                        let changed = p.with_kind(kind).and_then(|p| cfg.search.with_param(&k, p));
                        self.apply(cfg, SearchRow::Param(k), changed);
                    }
                }
            }
            Some(Cmd::RemoveRow) => {
                if let Some(SearchRow::Param(k)) = row {
                    cfg.search = cfg.search.without_param(&k);
                    self.status = Some(format!("{k} is no longer searched"));
                    self.error = None;
                    self.selected = self.selected.min(rows.len().saturating_sub(2));
                }
            }
            _ => {}
        }
        Outcome::Stay
    }

    fn submit(&mut self, cfg: &mut RunConfig, what: Typing, text: &str) {
        match what {
            Typing::Range(k) => {
                let kind = cfg
                    .search
                    .param(&k)
                    .map(ParamSpec::kind)
                    .unwrap_or(crate::config::SearchKind::Uniform);
                let changed = ParamSpec::from_cells(kind, text)
                    .map_err(|e| format!("[search] {k}: {e}"))
                    .and_then(|p| cfg.search.with_param(&k, p));
                self.apply(cfg, SearchRow::Param(k), changed);
            }
            Typing::Setting(s) => {
                let changed = cfg.search.with_setting(s, text);
                self.apply(cfg, SearchRow::Setting(s), changed);
            }
            Typing::NewKey => {
                let typed = text.trim();
                let key = crate::config::canonical_key(typed).filter(|k| *k != "search");
                let changed = match key {
                    None => Err(crate::config::unknown_key_message(typed)),
                    Some(k) => {
                        SearchSpec::suggest(cfg, k).and_then(|p| cfg.search.with_param(k, p))
                    }
                };
                let key = key.unwrap_or(typed).to_string();
                self.apply(cfg, SearchRow::Param(key.clone()), changed);
                self.select_param(&cfg.search, &key);
            }
        }
    }

    fn apply(&mut self, cfg: &mut RunConfig, row: SearchRow, changed: Result<SearchSpec, String>) {
        match changed {
            Ok(spec) => {
                cfg.search = spec;
                self.error = None;
                self.status = None;
            }
            Err(e) => self.error = Some((row, e)),
        }
    }

    /// The sub-form's lines: a title, the rows, the error or a hint.
    pub fn lines(&self, cfg: &RunConfig, height: usize, theme: &Theme) -> Vec<Line<'static>> {
        let spec = &cfg.search;
        let rows = rows(spec);
        let mut lines = vec![Line::styled(
            "▾ Search space (Esc back to the form)".to_string(),
            theme.accent(),
        )];
        if spec.params.is_empty() {
            lines.push(Line::styled(
                "  no key searched yet: a adds one (or + on a key in the form)".to_string(),
                theme.dim(),
            ));
        }
        let body = height.saturating_sub(lines.len() + 1);
        let offset = (self.selected + 1).saturating_sub(body);
        for (i, row) in rows.iter().enumerate().skip(offset).take(body) {
            let selected = i == self.selected;
            let marker = if selected { "▶ " } else { "  " };
            let typing = self.editing.as_ref().filter(|_| selected);
            let text = match row {
                SearchRow::Param(k) => {
                    let p = spec.param(k);
                    let kind = p.map_or("", |p| p.kind().name());
                    let range = match typing {
                        Some((_, input)) => format!("{}▏", input.text),
                        None => p.map(ParamSpec::range_text).unwrap_or_default(),
                    };
                    format!("{marker}{k:<17} {kind:<11} {range}")
                }
                SearchRow::Setting(s) => {
                    let v = match typing {
                        Some((_, input)) => format!("{}▏", input.text),
                        None => {
                            let v = spec.setting_text(s);
                            if v.is_empty() {
                                "(default)".into()
                            } else {
                                v
                            }
                        }
                    };
                    let label = if i == spec.params.len() { "study:" } else { "" };
                    format!("{marker}{s:<17} {label:<11} {v}")
                }
            };
            let mut spans = vec![Span::styled(
                text,
                if selected {
                    theme.selected()
                } else {
                    Default::default()
                },
            )];
            if let Some((r, e)) = &self.error {
                if r == row {
                    spans.push(Span::styled(format!("  ✗ {e}"), theme.error()));
                }
            }
            lines.push(Line::from(spans));
        }
        if let Some((Typing::NewKey, input)) = &self.editing {
            lines.push(Line::styled(
                format!("search which key? {}▏", input.text),
                theme.accent(),
            ));
        } else if let Some((SearchRow::Setting(_), e)) = &self.error {
            lines.push(Line::styled(format!("✗ {e}"), theme.error()));
        } else if let Some(s) = &self.status {
            lines.push(Line::styled(s.clone(), theme.accent()));
        } else {
            lines.push(Line::styled(
                "Enter edit · Space next kind · a add · - remove · S starts the sweep".to_string(),
                theme.dim(),
            ));
        }
        lines
    }
}
