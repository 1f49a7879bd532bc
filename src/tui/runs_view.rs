//! The runs overlay (`R`): every run of the runs directory with its status
//! and best metric; open one (live or read-only), mark several to overlay
//! their curves, or start a new run from one's config. Pure state: the
//! event loop lists the runs and carries out what `on_key` returns.

use super::keymap::{command, Cmd, Scope};
use super::theme::Theme;
use crate::runs::{RunStatus, RunSummary};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub enum RunsAction {
    /// Show this run in the workbench (attach live, else read-only).
    Open(PathBuf),
    /// Overlay these runs' curves on the Curves pane (empty: clear).
    Compare(Vec<PathBuf>),
    /// Load this run's config into the form, for a new run.
    NewFrom(PathBuf),
    Refresh,
}

#[derive(Default)]
pub struct RunsView {
    pub visible: bool,
    pub runs: Vec<RunSummary>,
    pub selected: usize,
    pub marked: Vec<PathBuf>,
    /// Before the first listing arrives.
    pub loading: bool,
}

impl RunsView {
    pub fn open(&mut self) {
        self.visible = true;
        self.loading = self.runs.is_empty();
    }

    /// A new listing; the selection stays on the same run when it can.
    pub fn set_runs(&mut self, runs: Vec<RunSummary>) {
        let current = self.runs.get(self.selected).map(|r| r.dir.clone());
        self.runs = runs;
        self.loading = false;
        self.selected = current
            .and_then(|d| self.runs.iter().position(|r| r.dir == d))
            .unwrap_or(self.runs.len().saturating_sub(1));
        self.marked
            .retain(|m| self.runs.iter().any(|r| &r.dir == m));
    }

    fn current(&self) -> Option<PathBuf> {
        self.runs.get(self.selected).map(|r| r.dir.clone())
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<RunsAction> {
        match command(Scope::Runs, &key) {
            Some(Cmd::Close) => self.visible = false,
            Some(Cmd::Down) => {
                self.selected = (self.selected + 1).min(self.runs.len().saturating_sub(1))
            }
            Some(Cmd::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Cmd::Mark) => {
                if let Some(d) = self.current() {
                    match self.marked.iter().position(|m| *m == d) {
                        Some(i) => {
                            self.marked.remove(i);
                        }
                        None => self.marked.push(d),
                    }
                }
            }
            Some(Cmd::Open) => {
                self.visible = false;
                return self.current().map(RunsAction::Open);
            }
            Some(Cmd::Compare) => {
                self.visible = false;
                return Some(RunsAction::Compare(self.marked.clone()));
            }
            Some(Cmd::NewFrom) => {
                self.visible = false;
                return self.current().map(RunsAction::NewFrom);
            }
            Some(Cmd::Refresh) => return Some(RunsAction::Refresh),
            _ => {}
        }
        None
    }

    pub fn render(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(110);
        let h = area
            .height
            .saturating_sub(2)
            .min(self.runs.len() as u16 + 6)
            .max(7);
        let rect = Rect {
            x: area.x + (area.width.saturating_sub(w)) / 2,
            y: area.y + (area.height.saturating_sub(h)) / 2,
            width: w,
            height: h.min(area.height),
        };
        f.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" Runs ")
            .title_style(theme.header());
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let mut lines = vec![Line::styled(
            format!(
                "  {:<30} {:<9} {:>11} {:<22} {}",
                "name", "status", "step", "best", "model"
            ),
            theme.dim(),
        )];
        if self.loading {
            lines.push(Line::styled("  reading the runs directory…", theme.dim()));
        } else if self.runs.is_empty() {
            lines.push(Line::styled("  no runs yet: s starts one", theme.dim()));
        }
        let rows = inner.height.saturating_sub(2) as usize;
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        for (i, r) in self.runs.iter().enumerate().skip(first).take(rows) {
            let mark = if self.marked.contains(&r.dir) {
                "✓"
            } else {
                " "
            };
            let cursor = if i == self.selected { "▶" } else { " " };
            let best = r
                .best
                .as_ref()
                .map(|b| format!("F1 {:.3} acc {:.3} @{}", b.macro_f1, b.accuracy, b.step))
                .unwrap_or_else(|| "-".into());
            let status_style = match r.status {
                RunStatus::Running | RunStatus::Paused | RunStatus::Preparing => theme.good(),
                RunStatus::Crashed | RunStatus::Failed => theme.error(),
                _ => Default::default(),
            };
            let name: String = r.name.chars().take(28).collect();
            let line = Line::from(vec![
                Span::raw(format!("{cursor}{mark}{name:<30} ")),
                Span::styled(format!("{:<9}", r.status.name()), status_style),
                Span::raw(format!(
                    " {:>11} {best:<22} {}",
                    format!("{}/{}", r.step, r.total_steps),
                    r.model
                )),
            ]);
            lines.push(if i == self.selected {
                line.style(theme.selected())
            } else {
                line
            });
        }
        lines.push(Line::styled(
            "Enter open · Space mark · c compare marked curves · n new run from its config · r refresh · Esc close",
            theme.key(),
        ));
        f.render_widget(Paragraph::new(lines), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn run(name: &str) -> RunSummary {
        RunSummary {
            model: "scratch:tiny".into(),
            status: RunStatus::Finished,
            step: 10,
            total_steps: 10,
            ..RunSummary::unknown(name, PathBuf::from("runs").join(name))
        }
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn marking_two_runs_compares_them_and_enter_opens_the_selected_one() {
        let mut v = RunsView::default();
        v.open();
        v.set_runs(vec![run("a"), run("b"), run("c")]);
        assert_eq!(v.selected, 2, "starts on the newest");
        v.on_key(key(' '));
        v.on_key(key('k'));
        v.on_key(key('k'));
        v.on_key(key(' '));
        assert_eq!(
            v.on_key(key('c')),
            Some(RunsAction::Compare(vec![
                PathBuf::from("runs/c"),
                PathBuf::from("runs/a")
            ]))
        );
        assert!(!v.visible);
        v.open();
        v.on_key(key('j'));
        assert_eq!(
            v.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            Some(RunsAction::Open(PathBuf::from("runs/b")))
        );
        v.open();
        assert_eq!(
            v.on_key(key('n')),
            Some(RunsAction::NewFrom(PathBuf::from("runs/b")))
        );
        // A refreshed listing keeps the selection on the same run.
        v.set_runs(vec![run("z"), run("a"), run("b"), run("c")]);
        assert_eq!(v.runs[v.selected].name, "b");
    }
}
