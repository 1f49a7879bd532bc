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

/// Arms of a box-drawing character: (left, right, up, down), each 0
/// (none), 1 (light) or 2 (heavy). None for any other character.
fn box_arms(c: char) -> Option<[u8; 4]> {
    Some(match c {
        '─' => [1, 1, 0, 0],
        '━' => [2, 2, 0, 0],
        '│' => [0, 0, 1, 1],
        '┃' => [0, 0, 2, 2],
        '┌' | '╭' => [0, 1, 0, 1],
        '┐' | '╮' => [1, 0, 0, 1],
        '└' | '╰' => [0, 1, 1, 0],
        '┘' | '╯' => [1, 0, 1, 0],
        '┏' => [0, 2, 0, 2],
        '┓' => [2, 0, 0, 2],
        '┗' => [0, 2, 2, 0],
        '┛' => [2, 0, 2, 0],
        '├' => [0, 1, 1, 1],
        '┤' => [1, 0, 1, 1],
        '┬' => [1, 1, 0, 1],
        '┴' => [1, 1, 1, 0],
        '┼' => [1, 1, 1, 1],
        '┣' => [0, 2, 2, 2],
        '┫' => [2, 0, 2, 2],
        '┳' => [2, 2, 0, 2],
        '┻' => [2, 2, 2, 0],
        '╋' => [2, 2, 2, 2],
        _ => return None,
    })
}

/// Whether `c` is drawn as lines rather than text.
pub fn is_box_drawing(c: char) -> bool {
    box_arms(c).is_some()
}

/// The colour a cell's background is painted in (`#rrggbb`).
pub fn cell_background(buf: &Buffer, x: u16, y: u16) -> String {
    hex(buf[(x, y)].bg, BACKGROUND)
}

/// Stroke width of a light (1) or heavy (2) line.
fn stroke(weight: u8) -> f64 {
    if weight == 2 {
        2.4
    } else {
        1.2
    }
}

/// The buffer as a standalone SVG document that reads the same in every
/// renderer (browsers, librsvg): each run of same-styled ASCII text is one
/// `<text>` placed where the run starts, spaces kept, stretched to its
/// cells (`textLength`) so a font with another advance still lines up;
/// every other character is a `<text>` at its own cell;
/// box-drawing characters are drawn as lines (fonts and renderers differ
/// on them), so borders show everywhere; braille stays text.
pub fn buffer_to_svg(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" font-family="'DejaVu Sans Mono', 'Noto Sans Mono', 'Liberation Mono', 'Menlo', 'Consolas', 'DejaVu Sans', monospace" font-size="14" xml:space="preserve">"#,
        w as f64 * CELL_W,
        h as f64 * CELL_H
    );
    let _ = writeln!(out, "<style>text {{ white-space: pre; }}</style>");
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
        write_box_lines(&mut out, buf, y);
        write_text_runs(&mut out, buf, y);
    }
    out.push_str("</svg>\n");
    out
}

/// The box-drawing cells of row `y` as lines from each cell's centre to
/// its edges; horizontal arms of neighbouring cells join into one line.
fn write_box_lines(out: &mut String, buf: &Buffer, y: u16) {
    let cy = y as f64 * CELL_H + CELL_H / 2.0;
    let arms = |x: u16| {
        let c = &buf[(x, y)];
        let mut chars = c.symbol().chars();
        match (chars.next().and_then(box_arms), chars.next()) {
            (Some(a), None) => Some((a, c.fg)),
            _ => None,
        }
    };
    // Horizontal: runs of half-cell segments with the same weight and colour.
    let mut segments: Vec<(f64, f64, u8, Color)> = Vec::new();
    for x in 0..buf.area.width {
        let Some(([left, right, _, _], fg)) = arms(x) else {
            continue;
        };
        let x0 = x as f64 * CELL_W;
        for (from, to, weight) in [
            (x0, x0 + CELL_W / 2.0, left),
            (x0 + CELL_W / 2.0, x0 + CELL_W, right),
        ] {
            if weight == 0 {
                continue;
            }
            match segments.last_mut() {
                Some(last) if (last.1 - from).abs() < 1e-6 && last.2 == weight && last.3 == fg => {
                    last.1 = to
                }
                _ => segments.push((from, to, weight, fg)),
            }
        }
    }
    for (from, to, weight, fg) in segments {
        let _ = writeln!(
            out,
            r#"<path d="M{from:.1} {cy:.1}H{to:.1}" stroke="{}" stroke-width="{}"/>"#,
            hex(fg, FOREGROUND),
            stroke(weight)
        );
    }
    // Vertical arms, cell by cell.
    for x in 0..buf.area.width {
        let Some(([_, _, up, down], fg)) = arms(x) else {
            continue;
        };
        let cx = x as f64 * CELL_W + CELL_W / 2.0;
        let y0 = y as f64 * CELL_H;
        for (from, to, weight) in [(y0, cy, up), (cy, y0 + CELL_H, down)] {
            if weight > 0 {
                let _ = writeln!(
                    out,
                    r#"<path d="M{cx:.1} {from:.1}V{to:.1}" stroke="{}" stroke-width="{}"/>"#,
                    hex(fg, FOREGROUND),
                    stroke(weight)
                );
            }
        }
    }
}

/// The text of row `y`: one `<text>` per run of cells with the same colour
/// and weight, from its first to its last visible character.
fn write_text_runs(out: &mut String, buf: &Buffer, y: u16) {
    let w = buf.area.width;
    // (symbol, fg, bold) per cell; box-drawing cells count as blanks, and
    // the cell after a wide character holds nothing of its own.
    let mut cells: Vec<(String, Color, bool)> = Vec::with_capacity(w as usize);
    let mut x = 0;
    while x < w {
        let c = &buf[(x, y)];
        let sym = c.symbol();
        let is_box = sym.chars().count() == 1 && sym.chars().next().and_then(box_arms).is_some();
        let shown = if is_box || sym.is_empty() { " " } else { sym };
        cells.push((shown.to_string(), c.fg, c.modifier.contains(Modifier::BOLD)));
        let wide = unicode_width::UnicodeWidthStr::width(shown) > 1;
        x += 1;
        if wide && x < w {
            cells.push((String::new(), c.fg, c.modifier.contains(Modifier::BOLD)));
            x += 1;
        }
    }
    let blank = |s: &str| s.is_empty() || s == " ";
    // Only ASCII is sure to come from the monospace font at one cell's
    // advance; librsvg honours neither per-glyph x nor textLength, so any
    // other character (braille, arrows, CJK) is placed in a text of its own.
    let own_text = |s: &str| !s.is_ascii();
    let mut i = 0;
    while i < cells.len() {
        if blank(&cells[i].0) {
            i += 1;
            continue;
        }
        let (fg, bold) = (cells[i].1, cells[i].2);
        let start = i;
        let mut end = i;
        let mut j = i + 1;
        // Spaces do not end a run (their colour does not show); a visible
        // character of another style, or one placed on its own, does.
        while j < cells.len() && !own_text(&cells[start].0) {
            let (sym, cfg, cbold) = &cells[j];
            if !blank(sym) {
                if (*cfg, *cbold) != (fg, bold) || own_text(sym) {
                    break;
                }
                end = j;
            }
            j += 1;
        }
        // A wide character's cells.
        if own_text(&cells[start].0) && cells.get(start + 1).is_some_and(|c| c.0.is_empty()) {
            end = start + 1;
        }
        let text: String = cells[start..=end].iter().map(|c| c.0.as_str()).collect();
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" textLength="{:.1}" lengthAdjust="spacingAndGlyphs" fill="{}"{}>{}</text>"#,
            start as f64 * CELL_W,
            y as f64 * CELL_H + CELL_H * 0.78,
            (end + 1 - start) as f64 * CELL_W,
            hex(fg, FOREGROUND),
            if bold { r#" font-weight="bold""# } else { "" },
            escape(&text)
        );
        i = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn runs_keep_spaces_and_borders_become_lines() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 3));
        buf.set_string(0, 0, "│a<b c│", Style::default().fg(Color::Red));
        buf.set_string(0, 1, "中x", Style::default().bg(Color::Blue));
        buf.set_string(0, 2, "└──────┘", Style::default().fg(Color::Red));
        let svg = buffer_to_svg(&buf);
        // One run from its first to its last character, spaces kept,
        // stretched over its 5 cells.
        assert!(
            svg.contains(r##"<text x="8.4" y="13.3" textLength="42.0" lengthAdjust="spacingAndGlyphs" fill="#cc6666">a&lt;b c</text>"##),
            "{svg}"
        );
        // A non-ASCII character stands alone at its cells (two for a wide
        // one); the next run starts after it.
        assert!(
            svg.contains(r##"<text x="0.0" y="30.3" textLength="16.8" lengthAdjust="spacingAndGlyphs" fill="#d5d8d6">中</text>"##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"<text x="16.8" y="30.3" textLength="8.4""##),
            "{svg}"
        );
        assert!(svg.contains(r##"fill="#81a2be""##), "{svg}");
        // Borders: vertical arms at the cell centre, the bottom edge one
        // horizontal line from the corner's centre to the other's.
        assert!(
            svg.contains(r##"<path d="M4.2 0.0V8.5" stroke="#cc6666""##),
            "{svg}"
        );
        assert!(svg.contains(r##"<path d="M4.2 42.5H63.0""##), "{svg}");
        assert!(!svg.contains('│') && !svg.contains('─'), "{svg}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
