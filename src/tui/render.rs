//! Drawing the whole screen: a 2×2 grid on large terminals, tabs on small
//! ones, then the status bar, the message/key-hint line and the help.

use super::app::{App, PaneId, RunState};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Tabs};
use ratatui::Frame;

/// Below this the panes are shown one at a time, as tabs.
pub const GRID_MIN: (u16, u16) = (120, 34);

pub fn draw(app: &App, f: &mut Frame) {
    let area = f.area();
    let [main, status, hint] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if area.width >= GRID_MIN.0 && area.height >= GRID_MIN.1 {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(main);
        let [a, b] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
        let [c, d] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(bottom);
        for (pane, rect) in [
            (PaneId::Dataset, a),
            (PaneId::Hyper, b),
            (PaneId::Curves, c),
            (PaneId::Playground, d),
        ] {
            draw_pane(app, f, pane, rect);
        }
    } else {
        let [tabs_area, pane_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(main);
        let titles: Vec<Line> = PaneId::ALL
            .iter()
            .map(|p| Line::raw(format!("{} {}", p.index() + 1, p.title())))
            .collect();
        let tabs = Tabs::new(titles)
            .select(app.focus.index())
            .highlight_style(app.theme.selected())
            .divider("│");
        f.render_widget(tabs, tabs_area);
        draw_pane(app, f, app.focus, pane_area);
    }
    f.render_widget(Paragraph::new(status_line(app, area.width)), status);
    f.render_widget(Paragraph::new(hint_line(app, hint.width as usize)), hint);
    if app.sweep_view.visible {
        app.sweep_view.render(f, area, &app.theme);
    }
    if app.runs_view.visible {
        app.runs_view.render(f, area, &app.theme);
    }
    if app.help {
        draw_help(app, f, area);
    }
    if app.confirm_quit {
        draw_confirm(app, f, area);
    }
}

fn draw_pane(app: &App, f: &mut Frame, pane: PaneId, area: Rect) {
    let focused = app.focus == pane;
    let theme = &app.theme;
    match app.pane(pane) {
        Some(p) => p.render(f, area, focused, theme),
        // The dataset could not be loaded: say why in its place.
        None => {
            let block = super::pane_block(" 1 Dataset ", area, focused, theme);
            let text = app.data_error.clone().unwrap_or_else(|| "no data".into());
            f.render_widget(
                Paragraph::new(text)
                    .style(theme.error())
                    .block(block)
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                area,
            );
        }
    }
}

pub fn fmt_eta(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Run state, epoch, step/total, loss EMA, val accuracy, speed, ETA and
/// device; with shorter labels on narrow terminals so all of it fits.
pub fn status_line(app: &App, width: u16) -> Line<'static> {
    let r = &app.run;
    let compact = width < 120;
    let run_state = r.state();
    let state = match &run_state {
        RunState::Idle => "IDLE".to_string(),
        RunState::Starting => "STARTING".into(),
        RunState::Running => "RUNNING".into(),
        RunState::Paused => "PAUSED".into(),
        RunState::Stopping => "STOPPING".into(),
        RunState::Finished(reason) => format!("DONE {reason:?}"),
        RunState::Failed => "FAILED".into(),
        RunState::Crashed => "CRASHED".into(),
    };
    let mut parts = if compact {
        vec![
            format!("ep {:.2}", r.epoch),
            format!("{}/{}", r.step(), r.total()),
        ]
    } else {
        vec![
            format!("epoch {:.2}", r.epoch),
            format!("step {}/{}", r.step(), r.total()),
        ]
    };
    // Narrow terminals leave the loss to the Curves pane's title.
    if let Some(l) = app.loss_ema().filter(|_| !compact) {
        parts.push(format!("loss {l:.4}"));
    }
    if let Some(a) = r.val_acc {
        use crate::protocol::TaskScores;
        let tokens = matches!(app.curves.task, Some(TaskScores::Tokens { .. }));
        parts.push(match r.headline {
            // The metric the run is judged by (best_metric).
            Some(v) => headline_text(&r.best_metric, v, tokens, compact),
            // Logs from before runs named it: the task's usual headline.
            None => match &app.curves.task {
                None => headline_text("accuracy", a, false, compact),
                Some(TaskScores::MultiLabel { micro_f1, .. }) => {
                    headline_text("micro_f1", *micro_f1, false, compact)
                }
                Some(TaskScores::Regression { pearson, .. }) => {
                    headline_text("pearson", *pearson, false, compact)
                }
                Some(TaskScores::Tokens { micro_f1, .. }) => {
                    headline_text("micro_f1", *micro_f1, true, compact)
                }
            },
        });
    }
    if r.samples_per_s > 0.0 {
        parts.push(format!(
            "{:.1}{}",
            r.samples_per_s,
            if compact { "/s" } else { " samples/s" }
        ));
    }
    if matches!(run_state, RunState::Running) {
        parts.push(format!("ETA {}", fmt_eta(r.eta_s)));
    }
    if let Some((trainable, total)) = r.trainable.filter(|(t, all)| t < all) {
        parts.push(trainable_share(trainable, total));
    }
    // Compact: `cuda:0` without the GPU's name and memory size.
    let device = match r.device.split_once(" (") {
        Some((short, _)) if compact => short.to_string(),
        _ => r.device.clone(),
    };
    let mem = r
        .device_mem_mib
        .map(|mib| format!(" {:.1}G", mib / 1024.0))
        .unwrap_or_default();
    parts.push(format!("{device} {}{mem}", r.precision));
    Line::from(vec![
        Span::styled(format!(" {state} "), app.theme.selected()),
        Span::raw(format!(" {}", parts.join(" │ "))),
    ])
}

/// `val micro-F1 71.0%` (`µF1 71.0%` when compact): a metric by name, as
/// a percentage unless it is a loss, an error or a correlation.
fn headline_text(metric: &str, value: f64, tokens: bool, compact: bool) -> String {
    let (long, short) = match metric {
        "accuracy" if tokens => ("token accuracy", "tok acc"),
        "accuracy" => ("acc", "acc"),
        "macro_f1" => ("macro-F1", "mF1"),
        "micro_f1" if tokens => ("entity F1", "F1"),
        "micro_f1" => ("micro-F1", "µF1"),
        "weighted_f1" => ("weighted-F1", "wF1"),
        "jaccard" => ("Jaccard", "jac"),
        "subset_accuracy" => ("subset acc", "exact"),
        "hamming_loss" => ("Hamming loss", "ham"),
        "lrap" => ("LRAP", "lrap"),
        "pearson" => ("Pearson", "r"),
        "spearman" => ("Spearman", "ρ"),
        "mse" => ("MSE", "mse"),
        "mae" => ("MAE", "mae"),
        "loss" => ("loss", "loss"),
        other => (other, other),
    };
    let percent = !matches!(
        metric,
        "loss" | "hamming_loss" | "lrap" | "pearson" | "spearman" | "mse" | "mae"
    );
    let label = if compact {
        short.to_string()
    } else {
        format!("val {long}")
    };
    if percent {
        format!("{label} {:.1}%", value * 100.0)
    } else {
        format!("{label} {value:.3}")
    }
}

/// "trainable 0.6% (147k)": the share of parameters a frozen or LoRA run
/// trains.
pub fn trainable_share(trainable: usize, total: usize) -> String {
    let count = match trainable {
        n if n >= 10_000_000 => format!("{:.0}M", n as f64 / 1e6),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    };
    format!(
        "trainable {:.1}% ({count})",
        100.0 * trainable as f64 / total.max(1) as f64
    )
}

/// The focused pane's keys as the run's state allows them (no pause or
/// stop without a live run; `resume` for a paused one), whole entries left
/// out from the end (help and quit kept) until they fit `width`.
fn hint_line(app: &App, width: usize) -> Line<'static> {
    if let Some(m) = &app.message {
        let style = if m.error {
            app.theme.error()
        } else {
            app.theme.accent()
        };
        return Line::styled(m.text.clone(), style);
    }
    // No dataset pane (it failed to load): its place shows the dataset's keys.
    let keys = app
        .pane(app.focus)
        .map(|p| p.hints())
        .unwrap_or(&super::keymap::keymap().hints.dataset);
    use super::app::RunState;
    let state = app.run.state();
    let live = matches!(state, RunState::Running | RunState::Paused);
    let mut entries: Vec<(String, String)> = keys
        .iter()
        .filter(|(_, what)| live || !matches!(what.as_str(), "pause" | "stop" | "checkpoint"))
        .map(|(k, what)| {
            let what = if state == RunState::Paused && what == "pause" {
                "resume".to_string()
            } else {
                what.clone()
            };
            (k.clone(), what)
        })
        .collect();
    let entry_w = |(k, what): &(String, String)| {
        2 + crate::data::display_width(k) + crate::data::display_width(what)
    };
    while entries.iter().map(entry_w).sum::<usize>() > width {
        let Some(i) = entries
            .iter()
            .rposition(|(_, what)| !matches!(what.as_str(), "help" | "quit"))
        else {
            break;
        };
        entries.remove(i);
    }
    let mut spans = Vec::new();
    for (k, what) in entries {
        spans.push(Span::styled(format!(" {k}"), app.theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    Line::from(spans)
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}

/// Most width the help overlay's key column takes (it is as wide as its
/// longest entry, up to this).
const HELP_KEYS_W: usize = 32;

fn draw_help(app: &App, f: &mut Frame, area: Rect) {
    let help = &super::keymap::keymap().help;
    // As wide as the screen allows (up to 104), descriptions wrapped under
    // their own column rather than cut at the border.
    let width = area.width.saturating_sub(4).clamp(40, 104);
    let keys_w = help
        .iter()
        .map(|k| crate::data::display_width(&k.keys) + 2)
        .max()
        .unwrap_or(0)
        .min(HELP_KEYS_W);
    let does_w = (width as usize).saturating_sub(2 + keys_w).max(10);
    let mut lines = Vec::new();
    for k in help {
        for (i, part) in wrap_words(&k.does, does_w).into_iter().enumerate() {
            let keys = if i == 0 { k.keys.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(crate::data::fit_width(keys, keys_w), app.theme.key()),
                Span::raw(part),
            ]));
        }
    }
    let rect = centered(area, width, lines.len() as u16 + 3);
    // What does not fit scrolls; the last line says how.
    let shown = rect.height.saturating_sub(3);
    let hidden = (lines.len() as u16).saturating_sub(shown);
    let scroll = app.help_scroll.get().min(hidden);
    app.help_scroll.set(scroll);
    let mut lines: Vec<Line> = lines
        .into_iter()
        .skip(scroll as usize)
        .take(shown as usize)
        .collect();
    lines.push(Line::styled(
        if hidden > 0 {
            format!(
                "j/k scroll ({} more below, {scroll} above) · any other key closes this help",
                hidden - scroll
            )
        } else {
            "any key closes this help".to_string()
        },
        app.theme.dim(),
    ));
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Help ")
                .title_style(app.theme.header()),
        ),
        rect,
    );
}

/// `text` broken at spaces into lines of at most `width` columns (a word
/// longer than that gets a line of its own).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("starts with one line");
        let needed = crate::data::display_width(line) + usize::from(!line.is_empty());
        if !line.is_empty() && needed + crate::data::display_width(word) > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

fn draw_confirm(app: &App, f: &mut Frame, area: Rect) {
    let rect = centered(area, 62, 7);
    f.render_widget(Clear, rect);
    let text = vec![
        Line::styled(
            "A run is active.",
            app.theme.header().add_modifier(Modifier::BOLD),
        ),
        Line::raw("d  leave it running (tunebench attach comes back to it)"),
        Line::raw("s  stop it, writing a checkpoint, then quit"),
        Line::raw("Esc  cancel"),
    ];
    f.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" Quit ")),
        rect,
    );
}
