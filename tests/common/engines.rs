//! The README's pictures read right in more than one SVG engine: each is
//! rasterised by headless Chromium (what a code-hosting page shows) and by
//! librsvg (`rsvg-convert`: GNOME's viewers, many Markdown previewers), and
//! every cell is checked against the TestBackend buffer it was drawn from:
//! borders drawn, text cells inked, blank cells blank (a renderer that
//! drops spaces, or lays glyphs out wider than their cells, puts ink in
//! them). An engine that is not installed is skipped with the reason
//! printed (`.ci/run` installs both).

use ratatui::buffer::Buffer;
use std::path::Path;
use std::process::Command;

const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;

fn found(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| found(c))
}

/// An RGB image.
struct Image {
    w: usize,
    h: usize,
    rgb: Vec<[u8; 3]>,
}

fn read_png(path: &Path) -> Image {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut data = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut data).unwrap();
    let step = info.color_type.samples();
    let rgb = data[..info.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Image {
        w: info.width as usize,
        h: info.height as usize,
        rgb,
    }
}

/// Draw `svg` into `png` with `engine`; why not, when it could not run
/// (an engine that is installed but cannot start here is skipped, saying so).
fn rasterise(engine: &str, svg: &Path, png: &Path, cells: (u16, u16)) -> Result<(), String> {
    let (w, h) = (
        (cells.0 as f64 * CELL_W).round() as u32,
        (cells.1 as f64 * CELL_H).round() as u32,
    );
    let status = if engine == "rsvg-convert" {
        Command::new(engine).arg(svg).arg("-o").arg(png).status()
    } else {
        Command::new(engine)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--disable-dev-shm-usage",
                &format!("--window-size={w},{h}"),
                &format!("--screenshot={}", png.display()),
            ])
            .arg(format!("file://{}", svg.display()))
            .stderr(std::process::Stdio::null())
            .status()
    };
    match status {
        Ok(st) if st.success() && png.is_file() => Ok(()),
        Ok(st) => Err(format!("{engine} exited with {st} on {}", svg.display())),
        Err(e) => Err(format!("{engine} could not start: {e}")),
    }
}

/// The cell's background as the SVG paints it.
fn bg_of(buf: &Buffer, x: u16, y: u16) -> [u8; 3] {
    let hex = tunebench::tui::svg::cell_background(buf, x, y);
    let v = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
    [v(1), v(3), v(5)]
}

/// Pixels of the box (fractions of the cell) that differ from `bg`.
fn ink(img: &Image, x: u16, y: u16, bg: [u8; 3], fx: (f64, f64), fy: (f64, f64)) -> usize {
    let (x0, y0) = (x as f64 * CELL_W, y as f64 * CELL_H);
    let xs = (x0 + fx.0 * CELL_W).floor() as usize..(x0 + fx.1 * CELL_W).ceil() as usize;
    let ys = (y0 + fy.0 * CELL_H).floor() as usize..(y0 + fy.1 * CELL_H).ceil() as usize;
    let mut n = 0;
    for py in ys.clone() {
        for px in xs.clone() {
            if px >= img.w || py >= img.h {
                continue;
            }
            let p = img.rgb[py * img.w + px];
            let d: i32 = (0..3).map(|i| (p[i] as i32 - bg[i] as i32).abs()).sum();
            if d > 90 {
                n += 1;
            }
        }
    }
    n
}

#[derive(Default, Debug)]
struct Tally {
    borders: (usize, usize),
    glyphs: (usize, usize),
    blanks: (usize, usize),
}

fn check(img: &Image, buf: &Buffer) -> Tally {
    let mut t = Tally::default();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            let bg = bg_of(buf, x, y);
            let c = sym.chars().next().unwrap_or(' ');
            if tunebench::tui::svg::is_box_drawing(c) {
                t.borders.0 += 1;
                // A line crosses the cell's centre.
                if ink(img, x, y, bg, (0.3, 0.7), (0.3, 0.7)) > 0 {
                    t.borders.1 += 1;
                }
            } else if sym.trim().is_empty() || c == '\u{2800}' {
                // A blank cell between two blanks stays blank in its middle
                // (text shifted by dropped spaces would land here).
                let blank_at = |x: i32| {
                    x < 0
                        || x >= buf.area.width as i32
                        || buf[(x as u16, y)].symbol().trim().is_empty()
                };
                if blank_at(x as i32 - 1) && blank_at(x as i32 + 1) {
                    t.blanks.0 += 1;
                    if ink(img, x, y, bg, (0.25, 0.75), (0.2, 0.8)) == 0 {
                        t.blanks.1 += 1;
                    }
                }
            } else if c.is_alphanumeric() {
                t.glyphs.0 += 1;
                if ink(img, x, y, bg, (0.0, 1.0), (0.0, 1.0)) > 0 {
                    t.glyphs.1 += 1;
                }
            }
        }
    }
    t
}

/// The engines installed here (the others skipped, saying why).
pub fn engines() -> Vec<&'static str> {
    let mut engines: Vec<&str> = Vec::new();
    match chromium() {
        Some(c) => engines.push(c),
        None => eprintln!("skipped Chromium: not installed (apt-get install chromium)"),
    }
    if found("rsvg-convert") {
        engines.push("rsvg-convert");
    } else {
        eprintln!("skipped librsvg: rsvg-convert not installed (apt-get install librsvg2-bin)");
    }
    engines
}

/// Rasterise `svg` (drawn from `buf`) in each engine; what is wrong, if
/// anything.
pub fn check_picture(svg: &Path, buf: &Buffer, engines: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let name = svg.file_stem().unwrap().to_string_lossy().to_string();
    for engine in engines {
        let png = dir.path().join(format!("{name}-{engine}.png"));
        if let Err(why) = rasterise(engine, svg, &png, (buf.area.width, buf.area.height)) {
            eprintln!("skipped {engine}: {why}");
            continue;
        }
        let t = check(&read_png(&png), buf);
        eprintln!("{name} in {engine}: {t:?}");
        let share = |(n, ok): (usize, usize)| ok as f64 / n.max(1) as f64;
        if t.borders.0 < 100 || share(t.borders) < 1.0 {
            problems.push(format!("{name} in {engine}: borders missing: {t:?}"));
        }
        if share(t.glyphs) < 0.99 {
            problems.push(format!("{name} in {engine}: text cells without ink: {t:?}"));
        }
        if share(t.blanks) < 0.99 {
            problems.push(format!(
                "{name} in {engine}: ink in blank cells (spaces dropped, glyphs too wide?): {t:?}"
            ));
        }
    }
    problems
}
