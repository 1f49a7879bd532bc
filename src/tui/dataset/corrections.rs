//! Fixing labels in the dataset pane: suspects (from label-issue finding),
//! accept / relabel / keep / drop / undo, saved as a corrections file.

use super::{DatasetPane, RowView};
use crate::data::corrections::{Correction, Corrections, Fix};
use crate::explain::label_issues::Suspect;
use crate::tui::keymap::{command, Cmd, Scope};
use crossterm::event::{KeyCode, KeyEvent};
use std::path::PathBuf;

impl DatasetPane {
    /// Show these suspects (replacing earlier ones).
    pub fn set_suspects(&mut self, suspects: Vec<Suspect>) {
        self.suspects = suspects.into_iter().map(|s| (s.line, s)).collect();
        if self.suspects_only {
            self.refresh();
        }
    }

    pub(super) fn is_suspect(&self, r: &RowView) -> bool {
        self.suspects.contains_key(&r.line)
    }

    /// The selected row, when it is a training-file row that may be corrected.
    pub(super) fn correctable(&mut self) -> Option<(u64, String, String)> {
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
    pub(super) fn correct(&mut self, fix: Fix) {
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
    pub(super) fn undo(&mut self) {
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

    pub(super) fn set_label(&mut self, line: u64, label: String) {
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

    pub(super) fn on_relabel_key(&mut self, line: u64, key: KeyEvent) {
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
}
