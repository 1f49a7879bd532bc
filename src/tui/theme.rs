//! Colours and emphasis in one place. With NO_COLOR set there is no colour
//! at all: focus and selection stay visible through bold, underline and
//! text markers, never colour alone.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Self {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    /// The selected row: reversed and bold, and callers add a `▶` marker.
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn accent(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// Series colours for charts (train raw, smoothed, val, accuracy, f1, lr).
    pub fn series(&self, i: usize) -> Style {
        const COLORS: [Color; 6] = [
            Color::DarkGray,
            Color::Cyan,
            Color::Yellow,
            Color::Green,
            Color::Magenta,
            Color::Blue,
        ];
        self.fg(COLORS[i % COLORS.len()])
    }

    /// A word's attribution: green for the label, red against; stronger is
    /// brighter and bold (level 3). Without colour, bold marks the
    /// strongest (the text carries ▲/▼ marks too).
    pub fn attribution(&self, up: bool, level: u8) -> Style {
        let base = match (up, level) {
            (_, 0) => return self.dim(),
            (true, 1) => self.fg(Color::Rgb(120, 170, 120)),
            (true, 2) => self.fg(Color::Rgb(60, 200, 60)),
            (true, _) => self.fg(Color::Rgb(0, 255, 0)),
            (false, 1) => self.fg(Color::Rgb(190, 120, 120)),
            (false, 2) => self.fg(Color::Rgb(220, 60, 60)),
            (false, _) => self.fg(Color::Rgb(255, 0, 0)),
        };
        if level >= 3 {
            base.add_modifier(Modifier::BOLD)
        } else {
            base
        }
    }

    #[cfg(test)]
    pub fn plain() -> Self {
        Theme { color: false }
    }

    /// Compared runs' curves: colours the shown run's series do not use.
    pub fn compare(&self, i: usize) -> Style {
        const COLORS: [Color; 3] = [Color::LightRed, Color::LightBlue, Color::White];
        self.fg(COLORS[i % COLORS.len()])
    }

    pub fn bar(&self, i: usize) -> Style {
        const COLORS: [Color; 6] = [
            Color::Cyan,
            Color::Yellow,
            Color::Green,
            Color::Magenta,
            Color::Blue,
            Color::Red,
        ];
        self.fg(COLORS[i % COLORS.len()])
    }
}
