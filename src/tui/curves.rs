//! Curves pane: training loss (raw and EMA-smoothed), validation loss,
//! accuracy and macro-F1, learning rate, and the latest confusion matrix.
//! Series are downsampled to the chart width before drawing, so long runs
//! draw as fast as short ones.

use super::action::Action;
use super::keymap::{command, Cmd, Scope};
use super::pane::Pane;
use super::theme::Theme;
use crate::protocol::{ClassMetrics, Event, TaskScores};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Default)]
pub struct CurvesPane {
    pub train_loss: Vec<(f64, f64)>,
    pub lr: Vec<(f64, f64)>,
    pub val_loss: Vec<(f64, f64)>,
    pub val_acc: Vec<(f64, f64)>,
    pub val_f1: Vec<(f64, f64)>,
    /// EMA weight of the past, 0 (raw) to 0.99.
    pub smoothing: f64,
    pub log_scale: bool,
    pub plain_markers: bool,
    pub labels: Vec<String>,
    pub confusion: Option<Vec<Vec<usize>>>,
    pub total_steps: usize,
    /// Other runs overlaid for comparison (from the runs view).
    pub compare: Vec<ComparedRun>,
    /// The confusion matrix across the whole pane (z).
    pub zoom_confusion: bool,
    /// The latest multi-label or regression scores (None: one label a text).
    pub task: Option<TaskScores>,
    /// The latest per-label scores.
    pub per_class: Vec<ClassMetrics>,
}

type Series = Vec<(f64, f64)>;

/// Another run's curves, read from its history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComparedRun {
    pub name: String,
    pub train_loss: Vec<(f64, f64)>,
    pub val_loss: Vec<(f64, f64)>,
    pub val_f1: Vec<(f64, f64)>,
}

impl ComparedRun {
    pub fn from_events<'a>(name: String, events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut run = ComparedRun {
            name,
            ..Default::default()
        };
        for e in events {
            match e {
                Event::Started { start_step: 0, .. } => {
                    run = ComparedRun {
                        name: std::mem::take(&mut run.name),
                        ..Default::default()
                    }
                }
                Event::Step { step, loss, .. } => run.train_loss.push((*step as f64, *loss)),
                Event::Eval {
                    step,
                    loss,
                    macro_f1,
                    ..
                } => {
                    run.val_loss.push((*step as f64, *loss));
                    run.val_f1.push((*step as f64, *macro_f1));
                }
                _ => {}
            }
        }
        run
    }
}

/// Without colour (NO_COLOR), compared runs are told apart by marker: the
/// symbol shown in the title, and the marker that draws the curve.
const PLAIN_COMPARE_MARKERS: [(&str, Marker); 3] =
    [("█", Marker::Block), ("▄", Marker::Bar), ("•", Marker::Dot)];

/// The title symbol and line marker of compared run `i`: in colour, a thin
/// line of its own colour (as the shown run's); without, a block shape.
fn compare_marker(i: usize, theme: &Theme, line: Marker) -> (&'static str, Marker) {
    if theme.color {
        ("━", line)
    } else {
        PLAIN_COMPARE_MARKERS[i % PLAIN_COMPARE_MARKERS.len()]
    }
}

/// TensorBoard-style debiased exponential moving average.
pub fn ema(points: &[(f64, f64)], smoothing: f64) -> Vec<(f64, f64)> {
    let mut avg = 0.0;
    let mut weight = 0.0;
    points
        .iter()
        .map(|&(x, y)| {
            avg = avg * smoothing + (1.0 - smoothing) * y;
            weight = weight * smoothing + (1.0 - smoothing);
            (x, if weight > 0.0 { avg / weight } else { y })
        })
        .collect()
}

/// At most `buckets` points: the mean of each run of consecutive points.
pub fn downsample(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    if points.len() <= buckets || buckets == 0 {
        return points.to_vec();
    }
    let per = points.len().div_ceil(buckets);
    points
        .chunks(per)
        .map(|c| {
            let n = c.len() as f64;
            (
                c.iter().map(|p| p.0).sum::<f64>() / n,
                c.iter().map(|p| p.1).sum::<f64>() / n,
            )
        })
        .collect()
}

/// How much of a chart its legend may cover before ratatui hides it
/// (its default, a quarter each way, hid the legend of every chart shorter
/// than about 20 rows).
const LEGEND_ROOM: (Constraint, Constraint) = (Constraint::Ratio(1, 2), Constraint::Ratio(2, 3));

fn bounds(series: &[&[(f64, f64)]]) -> Option<[f64; 2]> {
    let ys = series
        .iter()
        .flat_map(|s| s.iter().map(|p| p.1))
        .filter(|y| y.is_finite());
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !lo.is_finite() {
        return None;
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    Some([lo - pad, hi + pad])
}

impl CurvesPane {
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Started {
                total_steps,
                labels,
                start_step,
                ..
            } => {
                if *start_step == 0 {
                    *self = CurvesPane {
                        smoothing: self.smoothing,
                        log_scale: self.log_scale,
                        plain_markers: self.plain_markers,
                        compare: std::mem::take(&mut self.compare),
                        ..Default::default()
                    };
                }
                self.total_steps = *total_steps;
                self.labels = labels.clone();
            }
            Event::Step { step, loss, lr, .. } => {
                self.train_loss.push((*step as f64, *loss));
                self.lr.push((*step as f64, *lr));
            }
            Event::Eval {
                step,
                loss,
                accuracy,
                macro_f1,
                confusion,
                per_class,
                task,
                ..
            } => {
                let x = *step as f64;
                self.val_loss.push((x, *loss));
                // The two metric series: accuracy and macro-F1, micro- and
                // macro-F1 (multi-label), or Pearson and Spearman.
                let (first, second) = match task {
                    None => (*accuracy, *macro_f1),
                    Some(TaskScores::MultiLabel {
                        micro_f1, macro_f1, ..
                    }) => (*micro_f1, *macro_f1),
                    Some(TaskScores::Regression {
                        pearson, spearman, ..
                    }) => (*pearson, *spearman),
                    Some(TaskScores::Tokens {
                        micro_f1, macro_f1, ..
                    }) => (*micro_f1, *macro_f1),
                };
                self.val_acc.push((x, first));
                self.val_f1.push((x, second));
                self.confusion = Some(confusion.clone());
                self.per_class = per_class.clone();
                self.task = task.clone();
            }
            _ => {}
        }
    }

    fn handle_key(&mut self, key: KeyEvent) {
        match command(Scope::Curves, &key) {
            Some(Cmd::LogScale) => self.log_scale = !self.log_scale,
            Some(Cmd::SmoothingUp) => self.smoothing = (self.smoothing + 0.1).min(0.99),
            Some(Cmd::SmoothingDown) => self.smoothing = (self.smoothing - 0.1).max(0.0),
            Some(Cmd::Markers) => self.plain_markers = !self.plain_markers,
            Some(Cmd::Zoom) => self.zoom_confusion = !self.zoom_confusion,
            _ => {}
        }
        self.smoothing = (self.smoothing * 100.0).round() / 100.0;
    }

    fn transform(&self, pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
        if self.log_scale {
            pts.into_iter()
                .filter(|p| p.1 > 0.0)
                .map(|(x, y)| (x, y.log10()))
                .collect()
        } else {
            pts
        }
    }

    fn marker(&self) -> Marker {
        if self.plain_markers {
            Marker::Dot
        } else {
            Marker::Braille
        }
    }

    fn draw(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        let title = format!(
            " 3 Curves · smoothing {:.2}{} ",
            self.smoothing,
            if self.log_scale { " · log10 loss" } else { "" }
        );
        let block = super::pane_block(&title, area, focused, theme);
        let inner = block.inner(area);
        f.render_widget(block, area);
        if self.train_loss.is_empty() && self.compare.is_empty() {
            f.render_widget(
                Paragraph::new(
                    "No run yet: press s to start training; curves appear with the first steps.",
                )
                .style(theme.dim()),
                inner,
            );
            return;
        }
        if self.zoom_confusion {
            self.render_task_panel(f, inner, theme);
            return;
        }
        let wide = inner.width >= 100;
        // The matrix's rows: a title, a header and one per label, kept
        // whole when the pane has room for them.
        let matrix_rows = self.labels.len() as u16 + 2;
        let [left, right] = if wide {
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                .spacing(1)
                .areas(inner)
        } else {
            // The loss chart keeps at least 6 rows.
            let lower = (inner.height * 2 / 5).max(matrix_rows.min(inner.height.saturating_sub(6)));
            Layout::vertical([Constraint::Min(3), Constraint::Length(lower)]).areas(inner)
        };
        let [loss_area, metric_area] = if wide {
            Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(left)
        } else {
            [left, Rect::default()]
        };
        let [cm_area, lr_area] = Layout::vertical([
            Constraint::Min(matrix_rows.min(right.height)),
            Constraint::Length(if wide { 8 } else { 0 }),
        ])
        .areas(right);
        let (metric_area, cm_area) = if wide {
            (metric_area, cm_area)
        } else {
            // The matrix takes what its columns need, the metrics the rest.
            let cm_w = self.confusion_width().min(right.width * 3 / 5);
            let [m, c] = Layout::horizontal([Constraint::Min(10), Constraint::Length(cm_w)])
                .spacing(1)
                .areas(right);
            (m, c)
        };
        self.render_loss(f, loss_area, theme);
        self.render_metrics(f, metric_area, theme);
        self.render_task_panel(f, cm_area, theme);
        if lr_area.height > 2 {
            self.render_lr(f, lr_area, theme);
        }
    }

    fn x_bounds(&self) -> [f64; 2] {
        let last = self.train_loss.last().map(|p| p.0).unwrap_or(1.0);
        let others = self
            .compare
            .iter()
            .filter_map(|r| r.train_loss.last().map(|p| p.0))
            .fold(0.0, f64::max);
        [
            0.0,
            (self.total_steps as f64).max(last).max(others).max(1.0),
        ]
    }

    /// " · vs █ run-a ▄ run-b" for the loss chart's title, each symbol
    /// in its run's colour.
    fn compare_key(&self, theme: &Theme) -> Vec<Span<'static>> {
        if self.compare.is_empty() {
            return Vec::new();
        }
        let mut spans = vec![Span::raw(" · vs")];
        for (i, r) in self.compare.iter().enumerate() {
            let (symbol, _) = compare_marker(i, theme, self.marker());
            spans.push(Span::raw(" "));
            spans.push(Span::styled(symbol, theme.compare(i)));
            spans.push(Span::raw(format!(" {}", r.name)));
        }
        spans
    }

    fn render_loss(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let buckets =
            (area.width as usize).saturating_sub(8) * if self.plain_markers { 1 } else { 2 };
        let raw = self.transform(downsample(&self.train_loss, buckets.max(2)));
        let smooth = self.transform(downsample(
            &ema(&self.train_loss, self.smoothing),
            buckets.max(2),
        ));
        let val = self.transform(self.val_loss.clone());
        let others: Vec<(Series, Series)> = self
            .compare
            .iter()
            .map(|r| {
                let train = downsample(&ema(&r.train_loss, self.smoothing), buckets.max(2));
                (self.transform(train), self.transform(r.val_loss.clone()))
            })
            .collect();
        let mut all: Vec<&[(f64, f64)]> = vec![&raw, &smooth, &val];
        all.extend(
            others
                .iter()
                .flat_map(|(t, v)| [t.as_slice(), v.as_slice()]),
        );
        let Some(mut y) = bounds(&all) else {
            return;
        };
        // A loss is never negative: the padding below its lowest value
        // stops at zero (log10 loss may go below).
        if !self.log_scale {
            y[0] = y[0].max(0.0);
        }
        let last = self.train_loss.last().map(|p| p.1).unwrap_or(f64::NAN);
        let ema_last = ema(&self.train_loss, self.smoothing)
            .last()
            .map(|p| p.1)
            .unwrap_or(f64::NAN);
        let mut sets = vec![
            Dataset::default()
                .marker(self.marker())
                .graph_type(GraphType::Line)
                .style(theme.series(0))
                .data(&raw),
            Dataset::default()
                .marker(self.marker())
                .graph_type(GraphType::Line)
                .style(theme.series(1))
                .data(&smooth),
        ];
        if !val.is_empty() {
            sets.push(
                Dataset::default()
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Line)
                    .style(theme.series(2))
                    .data(&val),
            );
        }
        for (i, (train, val)) in others.iter().enumerate() {
            let (_, marker) = compare_marker(i, theme, self.marker());
            sets.push(
                Dataset::default()
                    .marker(marker)
                    .graph_type(GraphType::Line)
                    .style(theme.compare(i))
                    .data(train),
            );
            sets.push(
                Dataset::default()
                    .marker(compare_marker(i, theme, Marker::Dot).1)
                    .graph_type(GraphType::Scatter)
                    .style(theme.compare(i))
                    .data(val),
            );
        }
        let x = self.x_bounds();
        let ylab = |v: f64| {
            if self.log_scale {
                format!("{:.3}", 10f64.powf(v))
            } else {
                format!("{v:.3}")
            }
        };
        // The title is the chart's key (a legend box does not fit a small
        // chart): each series in its colour with its latest value; the
        // learning rate, then the EMA, give way on a narrow pane.
        let val_last = self.val_loss.last().map(|p| p.1);
        let mut key: Vec<Vec<Span<'static>>> = vec![
            vec![Span::styled(format!("loss {last:.4}"), theme.series(0))],
            vec![
                Span::raw(" · "),
                Span::styled(format!("ema {ema_last:.4}"), theme.series(1)),
            ],
            match val_last {
                Some(v) => vec![
                    Span::raw(" · "),
                    Span::styled(format!("• val {v:.4}"), theme.series(2)),
                ],
                None => vec![],
            },
            match self.lr.last() {
                Some(lr) => vec![Span::raw(format!(" · lr {:.2e}", lr.1))],
                None => vec![],
            },
            self.compare_key(theme),
        ];
        let key_width = |key: &[Vec<Span>]| key.iter().flatten().map(|s| s.width()).sum::<usize>();
        for drop in [3, 1] {
            if key_width(&key) > area.width as usize {
                key[drop].clear();
            }
        }
        let chart = Chart::new(sets)
            .hidden_legend_constraints(LEGEND_ROOM)
            .block(
                ratatui::widgets::Block::default()
                    .title(Line::from(key.into_iter().flatten().collect::<Vec<_>>())),
            )
            .x_axis(Axis::default().title("step").bounds(x).labels(vec![
                Span::raw("0"),
                Span::raw(format!("{}", x[1] as usize)),
            ]))
            .y_axis(
                Axis::default()
                    .title(if self.log_scale { "log10 loss" } else { "loss" })
                    .bounds(y)
                    .labels(vec![Span::raw(ylab(y[0])), Span::raw(ylab(y[1]))]),
            );
        f.render_widget(chart, area);
    }

    fn render_metrics(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        if area.height < 3 {
            return;
        }
        if self.val_acc.is_empty() && self.compare.is_empty() {
            f.render_widget(
                Paragraph::new("val metrics after the first evaluation")
                    .style(theme.dim())
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let acc = self.val_acc.last().map(|p| p.1).unwrap_or(0.0);
        let f1 = self.val_f1.last().map(|p| p.1).unwrap_or(0.0);
        // The title is the chart's key: each series' marker, name and
        // latest value, in its colour (a legend box does not fit a small
        // chart), then what else the task reports when there is room.
        let (first, second, extra) = match &self.task {
            None => (
                format!("acc {:.1}%", acc * 100.0),
                format!("macro-F1 {:.1}%", f1 * 100.0),
                String::new(),
            ),
            Some(TaskScores::MultiLabel { jaccard, .. }) => (
                format!("micro-F1 {:.1}%", acc * 100.0),
                format!("macro-F1 {:.1}%", f1 * 100.0),
                format!(" · Jaccard {:.1}%", jaccard * 100.0),
            ),
            Some(TaskScores::Regression { .. }) => (
                format!("Pearson {acc:.3}"),
                format!("Spearman {f1:.3}"),
                String::new(),
            ),
            Some(TaskScores::Tokens { .. }) => (
                format!("entity F1 {:.1}%", acc * 100.0),
                format!("macro-F1 {:.1}%", f1 * 100.0),
                " (micro / macro over types)".to_string(),
            ),
        };
        let key = [
            ("val ".to_string(), Style::default()),
            (format!("• {first}"), theme.series(3)),
            ("  ".to_string(), Style::default()),
            (format!("▄ {second}"), theme.series(4)),
            (extra, Style::default()),
        ];
        let width = |parts: &[(String, Style)]| {
            parts
                .iter()
                .map(|(t, _)| crate::data::display_width(t))
                .sum::<usize>()
        };
        let mut shown: Vec<(String, Style)> = key.to_vec();
        for drop in [4, 0] {
            if width(&shown) > area.width as usize {
                shown[drop].0.clear();
            }
        }
        let title = Line::from(
            shown
                .into_iter()
                .filter(|(t, _)| !t.is_empty())
                .map(|(t, s)| Span::styled(t, s))
                .collect::<Vec<_>>(),
        );
        // Two markers, named in the legend, so the series part without
        // colour too.
        let sets = vec![
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme.series(3))
                .data(&self.val_acc),
            Dataset::default()
                .marker(Marker::Bar)
                .graph_type(GraphType::Line)
                .style(theme.series(4))
                .data(&self.val_f1),
        ];
        let mut sets = sets;
        for (i, r) in self.compare.iter().enumerate() {
            sets.push(
                Dataset::default()
                    .name(format!("{} F1", r.name))
                    .marker(compare_marker(i, theme, Marker::Dot).1)
                    .graph_type(GraphType::Line)
                    .style(theme.compare(i))
                    .data(&r.val_f1),
            );
        }
        let mut all: Vec<&[(f64, f64)]> = vec![&self.val_acc, &self.val_f1];
        all.extend(self.compare.iter().map(|r| r.val_f1.as_slice()));
        let y = bounds(&all).unwrap_or([0.0, 1.0]);
        // Correlations go down to −1; the other metrics stay in [0, 1].
        let floor = if matches!(self.task, Some(TaskScores::Regression { .. })) {
            -1.0
        } else {
            0.0
        };
        let y = [y[0].max(floor), y[1].min(1.0)];
        let chart = Chart::new(sets)
            .hidden_legend_constraints(LEGEND_ROOM)
            .block(ratatui::widgets::Block::default().title(title))
            .x_axis(Axis::default().title("step").bounds(self.x_bounds()))
            .y_axis(Axis::default().title("metric").bounds(y).labels(vec![
                Span::raw(format!("{:.2}", y[0])),
                Span::raw(format!("{:.2}", y[1])),
            ]));
        f.render_widget(chart, area);
    }

    fn render_lr(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let pts = downsample(&self.lr, (area.width as usize).max(2));
        let Some(y) = bounds(&[&pts]) else { return };
        let now = self.lr.last().map(|p| p.1).unwrap_or(0.0);
        let chart = Chart::new(vec![Dataset::default()
            .marker(self.marker())
            .graph_type(GraphType::Line)
            .style(theme.series(5))
            .data(&pts)])
        .block(ratatui::widgets::Block::default().title(format!("lr {now:.2e}")))
        .x_axis(Axis::default().bounds(self.x_bounds()))
        .y_axis(Axis::default().bounds([0.0, y[1].max(1e-12)]));
        f.render_widget(chart, area);
    }

    /// Columns the full matrix needs: row names, then one column a label.
    fn confusion_width(&self) -> u16 {
        if self.task.is_some() {
            return 44;
        }
        let layout = MatrixLayout::fit(&self.labels, self.confusion.as_deref(), u16::MAX);
        layout.width() as u16
    }

    /// The evaluation's detail: the confusion matrix (one label a text),
    /// per-label F1 bars (multi-label) or predicted against gold
    /// (regression).
    fn render_task_panel(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        match &self.task {
            None => self.render_confusion(f, area, theme),
            Some(TaskScores::MultiLabel { thresholds, .. }) => {
                self.render_label_f1(f, area, thresholds, theme)
            }
            Some(TaskScores::Regression { points, .. }) => {
                self.render_scatter(f, area, points, theme)
            }
            // Per entity type F1 (no thresholds: tags are argmax), then
            // the span errors by type when there is room.
            Some(TaskScores::Tokens { errors, .. }) => {
                let rows = errors.types.len() as u16 + 2;
                if area.height >= rows + 3 {
                    let [top, bottom] =
                        Layout::vertical([Constraint::Min(3), Constraint::Length(rows)])
                            .areas(area);
                    self.render_label_f1(f, top, &[], theme);
                    render_span_errors(f, bottom, errors, theme);
                } else {
                    self.render_label_f1(f, area, &[], theme);
                }
            }
        }
    }

    /// Per-label F1 as bars, most frequent labels first; when they do not
    /// all fit, the most frequent and then the least frequent ones.
    fn render_label_f1(&self, f: &mut Frame, area: Rect, thresholds: &[f32], theme: &Theme) {
        if area.height < 2 {
            return;
        }
        let mut order: Vec<usize> = (0..self.per_class.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.per_class[i].support));
        let rows = area.height as usize - 1;
        let shown: Vec<Option<usize>> = if order.len() <= rows {
            order.into_iter().map(Some).collect()
        } else {
            let top = rows / 2;
            let bottom = rows - top - 1;
            let mut v: Vec<Option<usize>> = order[..top].iter().copied().map(Some).collect();
            v.push(None);
            v.extend(order[order.len() - bottom..].iter().copied().map(Some));
            v
        };
        let name_w = self
            .per_class
            .iter()
            .map(|c| crate::data::display_width(&c.label))
            .max()
            .unwrap_or(5)
            .min(14);
        let bar_w = (area.width as usize).saturating_sub(name_w + 18).max(1);
        // No thresholds: a token classifier's entity types (argmax tags).
        let by_type = thresholds.is_empty();
        let mut lines = vec![Line::styled(
            if by_type {
                "F1 by entity type · mentions"
            } else {
                "F1 by label · rows · threshold"
            },
            theme.header(),
        )];
        for entry in shown {
            let Some(i) = entry else {
                lines.push(Line::styled("  …", theme.dim()));
                continue;
            };
            let c = &self.per_class[i];
            let n = (c.f1 * bar_w as f64).round() as usize;
            lines.push(Line::from(vec![
                Span::raw(format!("{} ", crate::data::fit_width(&c.label, name_w))),
                Span::styled("█".repeat(n), theme.bar(i)),
                Span::raw(" ".repeat(bar_w - n.min(bar_w))),
                Span::raw(if by_type {
                    format!(" {:.2} {:>4}", c.f1, c.support)
                } else {
                    format!(
                        " {:.2} {:>4} {:.2}",
                        c.f1,
                        c.support,
                        thresholds.get(i).copied().unwrap_or(0.5)
                    )
                }),
            ]));
        }
        f.render_widget(Paragraph::new(lines), area);
    }

    /// Predicted against gold for a sample of validation rows, with the
    /// diagonal a perfect model would sit on.
    fn render_scatter(&self, f: &mut Frame, area: Rect, points: &[(f32, f32)], theme: &Theme) {
        if area.height < 4 || points.is_empty() {
            return;
        }
        let pts: Vec<(f64, f64)> = points.iter().map(|&(g, p)| (g as f64, p as f64)).collect();
        let lo = pts
            .iter()
            .map(|p| p.0.min(p.1))
            .fold(f64::INFINITY, f64::min);
        let hi = pts
            .iter()
            .map(|p| p.0.max(p.1))
            .fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, lo + 1.0)
        };
        let diagonal = [(lo, lo), (hi, hi)];
        let sets = vec![
            Dataset::default()
                .name("gold = predicted")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.dim())
                .data(&diagonal),
            Dataset::default()
                .name("rows")
                .marker(if self.plain_markers {
                    Marker::Dot
                } else {
                    Marker::Braille
                })
                .graph_type(GraphType::Scatter)
                .style(theme.series(3))
                .data(&pts),
        ];
        let labels = || vec![Span::raw(format!("{lo:.1}")), Span::raw(format!("{hi:.1}"))];
        let chart = Chart::new(sets)
            .block(ratatui::widgets::Block::default().title("predicted vs gold (val)"))
            .x_axis(
                Axis::default()
                    .title("gold")
                    .bounds([lo, hi])
                    .labels(labels()),
            )
            .y_axis(
                Axis::default()
                    .title("pred")
                    .bounds([lo, hi])
                    .labels(labels()),
            );
        f.render_widget(chart, area);
    }

    fn render_confusion(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(cm) = &self.confusion else {
            f.render_widget(
                Paragraph::new("confusion matrix after the first evaluation")
                    .style(theme.dim())
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        };
        let layout = MatrixLayout::fit(&self.labels, Some(cm), area.width);
        // Title, header and a row a label; the title goes first when short.
        let with_title = self.labels.len() + 2 <= area.height as usize;
        let fits =
            layout.width() <= area.width as usize && self.labels.len() < area.height as usize;
        if !fits && !self.zoom_confusion {
            f.render_widget(
                Paragraph::new(format!(
                    "confusion matrix: {} labels do not fit here; z shows it across the pane",
                    self.labels.len()
                ))
                .style(theme.dim())
                .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let title = [
            "confusion (row: true, col: predicted)",
            "confusion (true ↓ predicted →)",
            "confusion",
        ]
        .into_iter()
        .find(|t| crate::data::display_width(t) <= area.width as usize)
        .unwrap_or("");
        let mut lines = Vec::new();
        if with_title {
            lines.push(Line::styled(title, theme.header()));
        }
        let (name_w, w) = (layout.name_w, layout.cell_w);
        let mut head = " ".repeat(layout.row_head_w());
        for (j, l) in self.labels.iter().enumerate() {
            let name = if layout.numbered {
                (j + 1).to_string()
            } else {
                crate::data::clip(l, w)
            };
            head.push_str(&format!(" {}", crate::data::pad_left(&name, w)));
        }
        lines.push(Line::styled(head, theme.dim()));
        for (i, row) in cm.iter().enumerate() {
            let name = self.labels.get(i).map(String::as_str).unwrap_or("");
            let mut row_head = crate::data::fit_width(name, name_w);
            if layout.numbered {
                row_head = format!("{:>2} {row_head}", i + 1);
            }
            let mut spans = vec![Span::raw(row_head)];
            for (j, c) in row.iter().enumerate() {
                let style = if i == j {
                    theme.good()
                } else if *c > 0 {
                    theme.error()
                } else {
                    theme.dim()
                };
                spans.push(Span::styled(format!(" {c:>w$}"), style));
            }
            lines.push(Line::from(spans));
        }
        f.render_widget(Paragraph::new(lines), area);
    }
}

/// How the confusion matrix fits a width: label names as column headers
/// when they fit, else numbered columns (each row says its number and
/// name, so the numbers need no separate legend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MatrixLayout {
    numbered: bool,
    /// Columns of the row names.
    name_w: usize,
    /// Columns of each count column.
    cell_w: usize,
    labels: usize,
}

impl MatrixLayout {
    fn fit(labels: &[String], cm: Option<&[Vec<usize>]>, width: u16) -> MatrixLayout {
        let width = width as usize;
        let widest = labels
            .iter()
            .map(|l| crate::data::display_width(l))
            .max()
            .unwrap_or(3);
        let digits = cm
            .into_iter()
            .flatten()
            .flatten()
            .max()
            .map_or(1, |m| m.to_string().len());
        let n = labels.len();
        // Names as headers (up to 8 columns each), rows named up to 10.
        let named = MatrixLayout {
            numbered: false,
            name_w: widest.min(10),
            cell_w: widest.min(8).max(digits).max(3),
            labels: n,
        };
        if named.width() <= width {
            return named;
        }
        // Numbered columns as wide as the counts; names cut to what is left
        // (at least 3 columns of them).
        let mut numbered = MatrixLayout {
            numbered: true,
            name_w: 3,
            cell_w: digits.max(n.to_string().len()),
            labels: n,
        };
        let spare = width.saturating_sub(numbered.width());
        numbered.name_w = (3 + spare).min(widest.max(3)).min(10);
        numbered
    }

    /// Columns before the first count: the row number (numbered) and name.
    fn row_head_w(&self) -> usize {
        self.name_w + if self.numbered { 3 } else { 0 }
    }

    fn width(&self) -> usize {
        self.row_head_w() + self.labels * (self.cell_w + 1)
    }
}

impl Pane for CurvesPane {
    fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        self.handle_key(key);
        vec![]
    }

    fn render(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        self.draw(f, area, focused, theme)
    }

    fn scope(&self) -> Scope {
        Scope::Curves
    }
}

/// A token classifier's wrong mentions: one row a gold type, with its
/// boundary, missed and spurious counts and the types its words were
/// given instead (`eval --predictions` names the sentences).
fn render_span_errors(f: &mut Frame, area: Rect, e: &crate::protocol::SpanErrors, theme: &Theme) {
    let name_w = e
        .types
        .iter()
        .map(|t| crate::data::display_width(t))
        .max()
        .unwrap_or(4)
        .clamp(4, 10);
    // A legend rather than column heads: it fits a narrow panel.
    let mut lines = vec![Line::styled(
        crate::data::clip(
            "span errors: boundary · missed · spurious · as type",
            area.width as usize,
        ),
        theme.header(),
    )];
    for (i, t) in e.types.iter().enumerate() {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} ", crate::data::fit_width(t, name_w)),
                theme.bar(i),
            ),
            Span::raw(format!(
                "{:>4} {:>4} {:>4}  {}",
                e.boundary[i],
                e.missed[i],
                e.spurious[i],
                crate::entities::wrong_types(e, i)
            )),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn ema_is_debiased_and_smooths() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64, if i % 2 == 0 { 1.0 } else { 0.0 }))
            .collect();
        let s = ema(&pts, 0.9);
        assert_eq!(s[0].1, 1.0, "first point is the value itself");
        assert!(s[9].1 > 0.3 && s[9].1 < 0.7);
        assert_eq!(ema(&pts, 0.0), pts);
    }

    #[test]
    fn downsample_caps_points_and_keeps_means() {
        let pts: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, 2.0)).collect();
        let d = downsample(&pts, 160);
        assert!(d.len() <= 160);
        assert!(d.iter().all(|p| (p.1 - 2.0).abs() < 1e-12));
    }

    #[test]
    fn keys_toggle_log_scale_and_adjust_smoothing() {
        let mut c = CurvesPane {
            smoothing: 0.6,
            ..Default::default()
        };
        let k = |ch| KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE);
        c.on_key(k('l'));
        c.on_key(k('+'));
        c.on_key(k('+'));
        assert!(c.log_scale);
        assert_eq!(c.smoothing, 0.8);
        for _ in 0..10 {
            c.on_key(k('-'));
        }
        assert_eq!(c.smoothing, 0.0);
        assert_eq!(
            c.transform(vec![(1.0, 100.0), (2.0, 0.0)]),
            vec![(1.0, 2.0)]
        );
    }
}
