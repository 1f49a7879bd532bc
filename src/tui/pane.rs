//! The one shape every pane has: it answers keys with actions, draws
//! itself, and says which keys it answers (its scope in the key table) and
//! whether it is taking typed text.

use super::action::Action;
use super::keymap::{keymap, Scope};
use super::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;

pub trait Pane {
    /// A key while the pane has focus (global keys are already handled,
    /// unless the pane is typing).
    fn on_key(&mut self, key: KeyEvent) -> Vec<Action>;
    fn render(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme);
    /// The key table's scope for this pane's own keys.
    fn scope(&self) -> Scope;
    /// Whether keys go to a text input (global keys are off).
    fn is_typing(&self) -> bool {
        false
    }
    /// The hint line's (key, what) pairs for the pane as it is now.
    fn hints(&self) -> &'static [(String, String)] {
        keymap().hints.of(if self.is_typing() {
            Scope::Input
        } else {
            self.scope()
        })
    }
}
