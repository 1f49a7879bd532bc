//! A drawn frame as SVG: the README's screenshots are the renderer's own
//! output (ratatui's TestBackend buffer), so they cannot drift from the
//! program. Cells become `<text>` runs in a monospace font with the
//! theme's colours; box-drawing and braille characters are kept as text.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::fmt::Write;

const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const BACKGROUND: &str = "#1d1f21";
const FOREGROUND: &str = "#d5d8d6";

/// A terminal colour as the xterm default palette shows it.
fn hex(c: Color, default: &str) -> String {
    let named = |i: u8| -> &'static str {
        [
            "#1d1f21", "#cc6666", "#b5bd68", "#f0c674", "#81a2be", "#b294bb", "#8abeb7", "#c5c8c6",
            "#666666", "#d54e53", "#b9ca4a", "#e7c547", "#7aa6da", "#c397d8", "#70c0b1", "#eaeaea",
        ][i as usize]
    };
    match c {
        Color::Reset => default.to_string(),
        Color::Black => named(0).into(),
        Color::Red => named(1).into(),
        Color::Green => named(2).into(),
        Color::Yellow => named(3).into(),
        Color::Blue => named(4).into(),
        Color::Magenta => named(5).into(),
        Color::Cyan => named(6).into(),
        Color::Gray => named(7).into(),
        Color::DarkGray => named(8).into(),
        Color::LightRed => named(9).into(),
        Color::LightGreen => named(10).into(),
        Color::LightYellow => named(11).into(),
        Color::LightBlue => named(12).into(),
        Color::LightMagenta => named(13).into(),
        Color::LightCyan => named(14).into(),
        Color::White => named(15).into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => named(i).into(),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let level = |x: u8| if x == 0 { 0 } else { 55 + x * 40 };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(i / 36),
                level(i / 6 % 6),
                level(i % 6)
            )
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The buffer as a standalone SVG document.
pub fn buffer_to_svg(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" font-family="'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace" font-size="14">"#,
        w as f64 * CELL_W,
        h as f64 * CELL_H
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{BACKGROUND}"/>"#
    );
    for y in 0..h {
        // Backgrounds: one rect per run of cells with the same colour.
        let mut x = 0;
        while x < w {
            let bg = buf[(x, y)].bg;
            let start = x;
            while x < w && buf[(x, y)].bg == bg {
                x += 1;
            }
            if bg != Color::Reset {
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{CELL_H}" fill="{}"/>"#,
                    start as f64 * CELL_W,
                    y as f64 * CELL_H,
                    (x - start) as f64 * CELL_W,
                    hex(bg, BACKGROUND)
                );
            }
        }
        // Text: each cell at its own column (wide characters span two),
        // grouped into one <text> per run of the same style.
        let mut x = 0;
        while x < w {
            let cell = &buf[(x, y)];
            let (fg, bold) = (cell.fg, cell.modifier.contains(Modifier::BOLD));
            let start = x;
            let mut xs = Vec::new();
            let mut text = String::new();
            while x < w {
                let c = &buf[(x, y)];
                if c.fg != fg || c.modifier.contains(Modifier::BOLD) != bold {
                    break;
                }
                let sym = c.symbol();
                if !sym.is_empty() && sym != " " {
                    for ch in sym.chars() {
                        xs.push(format!("{:.1}", x as f64 * CELL_W));
                        text.push(ch);
                    }
                }
                x += 1;
            }
            if !text.is_empty() {
                let _ = writeln!(
                    out,
                    r#"<text x="{}" y="{:.1}" fill="{}"{}>{}</text>"#,
                    xs.join(" "),
                    y as f64 * CELL_H + CELL_H * 0.78,
                    hex(fg, FOREGROUND),
                    if bold { r#" font-weight="bold""# } else { "" },
                    escape(&text)
                );
            }
            debug_assert!(x > start);
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn cells_become_positioned_escaped_text_with_colours() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
        buf.set_string(0, 0, "a<b", Style::default().fg(Color::Red));
        buf.set_string(0, 1, "中", Style::default().bg(Color::Blue));
        let svg = buffer_to_svg(&buf);
        assert!(
            svg.contains(r##"<text x="0.0 8.4 16.8" y="13.3" fill="#cc6666">a&lt;b</text>"##),
            "{svg}"
        );
        assert!(svg.contains(r##"fill="#81a2be""##), "{svg}");
        assert!(svg.contains(">中</text>"), "{svg}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
