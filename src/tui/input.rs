//! A one-line text input with a cursor (in characters) and history.

use super::keymap::{command, Cmd, Scope};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextInput {
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    history: Vec<String>,
    /// Position while browsing history (None: editing a new line).
    browsing: Option<usize>,
}

/// What a key did to the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputOutcome {
    Edited,
    Submitted(String),
    Cancelled,
    /// The key is not an editing key.
    Ignored,
}

impl TextInput {
    pub fn with_text(text: &str) -> Self {
        TextInput {
            text: text.to_string(),
            cursor: text.chars().count(),
            ..Default::default()
        }
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map(|(b, _)| b)
            .unwrap_or(self.text.len())
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = text.chars().count();
    }

    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// A key, as the key table's `input` scope names it; any other
    /// character is typed.
    pub fn handle(&mut self, key: KeyEvent) -> InputOutcome {
        let len = self.text.chars().count();
        match command(Scope::Input, &key) {
            Some(Cmd::Submit) => {
                let line = std::mem::take(&mut self.text);
                self.cursor = 0;
                self.browsing = None;
                if !line.trim().is_empty() && self.history.last() != Some(&line) {
                    self.history.push(line.clone());
                }
                InputOutcome::Submitted(line)
            }
            Some(Cmd::Cancel) => InputOutcome::Cancelled,
            Some(Cmd::LineStart) => {
                self.cursor = 0;
                InputOutcome::Edited
            }
            Some(Cmd::LineEnd) => {
                self.cursor = len;
                InputOutcome::Edited
            }
            Some(Cmd::KillToStart) => {
                let b = self.byte_at(self.cursor);
                self.text.replace_range(..b, "");
                self.cursor = 0;
                InputOutcome::Edited
            }
            Some(Cmd::Backspace) => {
                if self.cursor > 0 {
                    let b = self.byte_at(self.cursor - 1);
                    self.text.remove(b);
                    self.cursor -= 1;
                }
                InputOutcome::Edited
            }
            Some(Cmd::Delete) => {
                if self.cursor < len {
                    let b = self.byte_at(self.cursor);
                    self.text.remove(b);
                }
                InputOutcome::Edited
            }
            Some(Cmd::Left) => {
                self.cursor = self.cursor.saturating_sub(1);
                InputOutcome::Edited
            }
            Some(Cmd::Right) => {
                self.cursor = (self.cursor + 1).min(len);
                InputOutcome::Edited
            }
            Some(Cmd::HistoryPrev) if !self.history.is_empty() => {
                let i = match self.browsing {
                    Some(i) => i.saturating_sub(1),
                    None => self.history.len() - 1,
                };
                self.browsing = Some(i);
                let t = self.history[i].clone();
                self.set(&t);
                InputOutcome::Edited
            }
            Some(Cmd::HistoryNext) if self.browsing.is_some() => {
                let next = self
                    .browsing
                    .map(|i| i + 1)
                    .filter(|&i| i < self.history.len());
                self.browsing = next;
                let t = next.map(|i| self.history[i].clone()).unwrap_or_default();
                self.set(&t);
                InputOutcome::Edited
            }
            Some(_) => InputOutcome::Ignored,
            None => match key.code {
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    let b = self.byte_at(self.cursor);
                    self.text.insert(b, c);
                    self.cursor += 1;
                    InputOutcome::Edited
                }
                _ => InputOutcome::Ignored,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(input: &mut TextInput, s: &str) {
        for c in s.chars() {
            input.handle(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn edits_at_the_cursor_with_multibyte_text() {
        let mut i = TextInput::default();
        typed(&mut i, "héllo");
        i.handle(key(KeyCode::Left));
        i.handle(key(KeyCode::Left));
        i.handle(key(KeyCode::Backspace));
        typed(&mut i, "L");
        assert_eq!(i.text, "héLlo");
        i.handle(key(KeyCode::Home));
        i.handle(key(KeyCode::Delete));
        assert_eq!((i.text.as_str(), i.cursor), ("éLlo", 0));
    }

    #[test]
    fn enter_submits_and_history_recalls() {
        let mut i = TextInput::default();
        typed(&mut i, "first");
        assert_eq!(
            i.handle(key(KeyCode::Enter)),
            InputOutcome::Submitted("first".into())
        );
        typed(&mut i, "second");
        i.handle(key(KeyCode::Enter));
        i.handle(key(KeyCode::Up));
        assert_eq!(i.text, "second");
        i.handle(key(KeyCode::Up));
        assert_eq!(i.text, "first");
        i.handle(key(KeyCode::Down));
        i.handle(key(KeyCode::Down));
        assert_eq!(i.text, "");
    }
}
