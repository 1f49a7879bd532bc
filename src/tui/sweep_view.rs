//! The Sweep view (`S`, Enter on a sweep in the Runs view, or `tunebench
//! attach SWEEP`): the leaderboard, the best-so-far curve over trials, the
//! metric against one parameter (`p` picks which; log axis for log
//! parameters) and every trial's evaluation curve, the running ones
//! bright. Pure state: the event loop reloads the summary while it shows.

use super::keymap::{command, Cmd, Scope};
use super::theme::Theme;
use crate::sweep::journal::TrialState;
use crate::sweep::summary::{short_float, SweepSummary, TrialRow};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, GraphType, Paragraph};
use ratatui::Frame;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub enum SweepAction {
    /// Show this trial's run.
    Open(PathBuf),
    Refresh,
}

#[derive(Default)]
pub struct SweepView {
    pub visible: bool,
    pub dir: Option<PathBuf>,
    pub summary: Option<SweepSummary>,
    pub error: Option<String>,
    /// Row of the leaderboard.
    pub selected: usize,
    /// Which parameter the scatter plots.
    pub param: usize,
    pub plain_markers: bool,
    /// The form's search that started the sweep shown (S shows it again
    /// rather than starting a second one).
    pub started_from: Option<crate::config::SearchSpec>,
}

impl SweepView {
    pub fn open(&mut self, dir: PathBuf) {
        if self.dir.as_ref() != Some(&dir) {
            self.summary = None;
            self.selected = 0;
            self.param = 0;
        }
        self.dir = Some(dir);
        self.visible = true;
    }

    pub fn set_summary(&mut self, s: Result<SweepSummary, String>) {
        match s {
            Ok(s) => {
                self.selected = self.selected.min(s.trials.len().saturating_sub(1));
                self.summary = Some(s);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<SweepAction> {
        let n = self.summary.as_ref().map_or(0, |s| s.trials.len());
        match command(Scope::Sweep, &key) {
            Some(Cmd::Close) => self.visible = false,
            Some(Cmd::Down) => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Some(Cmd::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Cmd::NextParam) => {
                let params = self
                    .summary
                    .as_ref()
                    .and_then(|s| s.trials.first())
                    .map_or(1, |t| t.params.len().max(1));
                self.param = (self.param + 1) % params;
            }
            Some(Cmd::Refresh) => return Some(SweepAction::Refresh),
            Some(Cmd::Open) => {
                let s = self.summary.as_ref()?;
                let row = s.leaderboard().get(self.selected).copied()?;
                let dir = row.run_dir.clone()?;
                self.visible = false;
                return Some(SweepAction::Open(dir));
            }
            _ => {}
        }
        None
    }

    pub fn render(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        f.render_widget(Clear, area);
        let name = self
            .dir
            .as_ref()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let block = Block::default()
            .borders(Borders::ALL)
            .title(super::fit_title(
                &format!(" Sweep {name} "),
                area.width.saturating_sub(2) as usize,
            ))
            .title_style(theme.header());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let Some(s) = &self.summary else {
            let text = self
                .error
                .clone()
                .unwrap_or_else(|| "reading the study…".into());
            f.render_widget(Paragraph::new(text).style(theme.dim()), inner);
            return;
        };
        let rows = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Length(2),
                Constraint::Min(4),
                Constraint::Length(1),
            ])
            .split(inner);
        f.render_widget(Paragraph::new(self.headline(s, theme)), rows[0]);
        f.render_widget(
            Paragraph::new(Line::styled(
                "j/k move · Enter open the trial · p next parameter · r refresh · Esc close",
                theme.key(),
            )),
            rows[2],
        );
        // Wide: the leaderboard beside the charts; narrow: above them.
        let wide = rows[1].width >= 120;
        let split = Layout::default()
            .direction(if wide {
                Direction::Horizontal
            } else {
                Direction::Vertical
            })
            .constraints(if wide {
                [Constraint::Percentage(55), Constraint::Percentage(45)]
            } else {
                [Constraint::Percentage(45), Constraint::Percentage(55)]
            })
            .split(rows[1]);
        self.render_leaderboard(f, split[0], s, theme);
        let charts = Layout::default()
            .direction(if wide {
                Direction::Vertical
            } else {
                Direction::Horizontal
            })
            .constraints([
                Constraint::Ratio(1, 3),
                Constraint::Ratio(1, 3),
                Constraint::Ratio(1, 3),
            ])
            .split(split[1]);
        self.render_best_so_far(f, charts[0], s, theme);
        self.render_param(f, charts[1], s, theme);
        self.render_curves(f, charts[2], s, theme);
    }

    fn headline(&self, s: &SweepSummary, theme: &Theme) -> Vec<Line<'static>> {
        let count = |st: TrialState| s.trials.iter().filter(|t| t.state == st).count();
        let best = match s.best.and_then(|n| s.trials.iter().find(|t| t.number == n)) {
            Some(t) => format!(
                "best {} {} (trial {})",
                s.metric,
                t.value.map(|v| format!("{v:.4}")).unwrap_or_default(),
                t.number
            ),
            None => "no trial complete yet".into(),
        };
        vec![
            Line::from(format!(
                "{}/{} trials · {} running · {} complete · {} pruned · {} failed",
                s.trials.len(),
                s.budget,
                count(TrialState::Running),
                count(TrialState::Complete),
                count(TrialState::Pruned),
                count(TrialState::Fail),
            )),
            Line::styled(best, theme.good()),
        ]
    }

    fn render_leaderboard(&self, f: &mut Frame, area: Rect, s: &SweepSummary, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" Leaderboard ");
        let inner = block.inner(area);
        f.render_widget(block, area);
        let head = format!(
            "{:>5} {:<8} {:>7} {:>6} {:>6}  params",
            "trial", "state", "best", "@step", "time"
        );
        let mut lines = vec![Line::styled(head, theme.dim())];
        let board = s.leaderboard();
        let rows = inner.height.saturating_sub(1) as usize;
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        for (i, t) in board.iter().enumerate().skip(first).take(rows) {
            let cursor = if i == self.selected { "▶" } else { " " };
            let star = if s.best == Some(t.number) { "*" } else { " " };
            let style = match t.state {
                TrialState::Running => theme.good(),
                TrialState::Fail => theme.error(),
                TrialState::Pruned => theme.dim(),
                _ => Style::default(),
            };
            let params: Vec<String> = t
                .params
                .iter()
                .map(|(n, v, ..)| format!("{}={v}", abbreviate(n)))
                .collect();
            let mut text = format!(
                "{cursor}{star}{:>3} {:<8} {:>7} {:>6} {:>6}  {}",
                t.number,
                t.state.name(),
                t.value.map(|v| format!("{v:.4}")).unwrap_or("-".into()),
                t.best_step.map(|s| s.to_string()).unwrap_or("-".into()),
                t.duration_s.map(duration).unwrap_or("-".into()),
                params.join(" ")
            );
            if let Some(r) = &t.fail_reason {
                text.push_str(&format!("  ({r})"));
            }
            let line = Line::styled(text, style);
            lines.push(if i == self.selected {
                line.style(theme.selected())
            } else {
                line
            });
        }
        f.render_widget(Paragraph::new(lines), inner);
    }

    fn marker(&self) -> Marker {
        if self.plain_markers {
            Marker::Dot
        } else {
            Marker::Braille
        }
    }

    fn render_best_so_far(&self, f: &mut Frame, area: Rect, s: &SweepSummary, theme: &Theme) {
        let points: Vec<(f64, f64)> = s
            .best_so_far()
            .into_iter()
            .map(|(n, v)| (n as f64, v))
            .collect();
        let title = format!(" best {} so far ", s.metric);
        let x_max = s.trials.len().max(1) as f64;
        chart(
            f,
            area,
            &title,
            vec![Dataset::default()
                .marker(self.marker())
                .graph_type(GraphType::Line)
                .style(theme.series(0))
                .data(&points)],
            ("trial", [0.0, x_max]),
            y_bounds(points.iter().map(|p| p.1)),
            XLabels::Linear,
            theme,
        );
    }

    fn render_param(&self, f: &mut Frame, area: Rect, s: &SweepSummary, theme: &Theme) {
        let Some(first) = s.trials.first() else {
            chart(
                f,
                area,
                " metric by parameter ",
                vec![],
                ("", [0.0, 1.0]),
                [0.0, 1.0],
                XLabels::Linear,
                theme,
            );
            return;
        };
        let i = self.param.min(first.params.len().saturating_sub(1));
        let Some((name, _, _, log)) = first.params.get(i).cloned() else {
            return;
        };
        let pick = |keep: fn(&TrialRow) -> bool| -> Vec<(f64, f64)> {
            s.trials
                .iter()
                .filter(|t| keep(t))
                .filter_map(|t| {
                    let (_, _, x, _) = t.params.get(i)?;
                    let x = if log { x.log10() } else { *x };
                    Some((x, t.value?))
                })
                .collect()
        };
        let complete = pick(|t| t.state == TrialState::Complete);
        let pruned = pick(|t| t.state == TrialState::Pruned);
        // A choice's internal value is its index: label the axis with the
        // choices themselves (16, 32; cosine, linear), not 0 and 1.
        let (x_title, bounds, labels) = match categories(s, i) {
            Some(choices) if choices.len() > 1 => {
                let hi = choices.len() as f64 - 1.0;
                (name.clone(), [0.0, hi], XLabels::Given(choices))
            }
            Some(one) => (
                name.clone(),
                [-0.5, 0.5],
                XLabels::Given(vec![String::new(), one[0].clone(), String::new()]),
            ),
            None => {
                let (lo, hi) = complete
                    .iter()
                    .chain(&pruned)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                        (a.min(p.0), b.max(p.0))
                    });
                let bounds = if lo.is_finite() && hi > lo {
                    [lo, hi]
                } else if lo.is_finite() {
                    [lo - 0.5, lo + 0.5]
                } else {
                    [0.0, 1.0]
                };
                if log {
                    (format!("log10 {name}"), bounds, XLabels::Log)
                } else {
                    (name.clone(), bounds, XLabels::Linear)
                }
            }
        };
        chart(
            f,
            area,
            &format!(" {} by {name} (p: next) ", s.metric),
            vec![
                Dataset::default()
                    .name("complete")
                    .marker(self.marker())
                    .graph_type(GraphType::Scatter)
                    .style(theme.series(0))
                    .data(&complete),
                Dataset::default()
                    .name("pruned")
                    .marker(self.marker())
                    .graph_type(GraphType::Scatter)
                    .style(theme.dim())
                    .data(&pruned),
            ],
            (&x_title, bounds),
            y_bounds(complete.iter().chain(&pruned).map(|p| p.1)),
            labels,
            theme,
        );
    }

    fn render_curves(&self, f: &mut Frame, area: Rect, s: &SweepSummary, theme: &Theme) {
        let curves: Vec<(bool, Vec<(f64, f64)>)> = s
            .trials
            .iter()
            .filter(|t| !t.curve.is_empty())
            .map(|t| {
                (
                    t.state == TrialState::Running,
                    t.curve.iter().map(|(x, y)| (*x as f64, *y)).collect(),
                )
            })
            .collect();
        let x_max = curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(|p| p.0))
            .fold(1.0, f64::max);
        let datasets = curves
            .iter()
            .map(|(running, c)| {
                Dataset::default()
                    .marker(self.marker())
                    .graph_type(GraphType::Line)
                    .style(if *running { theme.good() } else { theme.dim() })
                    .data(c)
            })
            .collect();
        chart(
            f,
            area,
            &format!(" {} per evaluation (running bright) ", s.metric),
            datasets,
            ("examples seen", [0.0, x_max]),
            y_bounds(curves.iter().flat_map(|(_, c)| c.iter().map(|p| p.1))),
            XLabels::Linear,
            theme,
        );
    }
}

/// Short parameter names for the leaderboard (`warmup_ratio` → `warmup`).
fn abbreviate(name: &str) -> &str {
    match name {
        "warmup_ratio" => "warmup",
        "weight_decay" => "wd",
        "batch_size" => "bs",
        other => other,
    }
}

fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn y_bounds(values: impl Iterator<Item = f64>) -> [f64; 2] {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return [0.0, 1.0];
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    [lo - pad, hi + pad]
}

/// The x axis' labels: the ends of a linear or log10 axis, or given
/// ones (a categorical parameter's choices, spread evenly).
enum XLabels {
    Linear,
    Log,
    Given(Vec<String>),
}

/// A parameter's choices in index order when it is categorical (its
/// shown value is not its internal one), as the trials name them.
fn categories(s: &SweepSummary, param: usize) -> Option<Vec<String>> {
    let mut seen: std::collections::BTreeMap<usize, String> = Default::default();
    let mut categorical = false;
    for t in &s.trials {
        let Some((_, text, x, _)) = t.params.get(param) else {
            continue;
        };
        categorical |= text.parse::<f64>().ok() != Some(*x);
        seen.insert(x.round().max(0.0) as usize, text.clone());
    }
    let &hi = seen.keys().next_back()?;
    categorical.then(|| {
        (0..=hi)
            .map(|i| seen.get(&i).cloned().unwrap_or_else(|| "·".into()))
            .collect()
    })
}

#[allow(clippy::too_many_arguments)]
fn chart(
    f: &mut Frame,
    area: Rect,
    title: &str,
    datasets: Vec<Dataset>,
    (x_title, x): (&str, [f64; 2]),
    y: [f64; 2],
    x_labels: XLabels,
    theme: &Theme,
) {
    let labels = match x_labels {
        XLabels::Linear => vec![short_float(x[0]), short_float(x[1])],
        XLabels::Log => vec![short_float(10f64.powf(x[0])), short_float(10f64.powf(x[1]))],
        XLabels::Given(l) => l,
    };
    let c = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(super::fit_title(
                    title,
                    area.width.saturating_sub(2) as usize,
                )),
        )
        .x_axis(
            Axis::default()
                .title(Span::styled(x_title.to_string(), theme.dim()))
                .bounds(x)
                .labels(labels),
        )
        .y_axis(
            Axis::default()
                .bounds(y)
                .labels([format!("{:.3}", y[0]), format!("{:.3}", y[1])]),
        );
    f.render_widget(c, area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(125.0), "2m05s");
        assert_eq!(duration(3725.0), "1h02m");
    }

    #[test]
    fn keys_move_pick_a_parameter_and_close() {
        let mut v = SweepView::default();
        v.open(PathBuf::from("runs/s"));
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        v.on_key(key('p'));
        assert_eq!(v.param, 0, "one parameter until a summary says more");
        assert_eq!(v.on_key(key('r')), Some(SweepAction::Refresh));
        v.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert!(!v.visible);
    }
}
