//! Drawing the dataset pane: the row table, the cleaning report with the
//! length histogram, and the selected row's detail.

use super::{DatasetPane, SortOrder};
use crate::data::corrections::Fix;
use crate::data::label_stats::MAX_CARDINALITY;
use crate::data::Task;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

impl DatasetPane {
    /// Columns of the longest label name (5 when there is none).
    fn widest_label(&self) -> usize {
        // A row's label set reads `a, b`: room for about two names.
        if self.task == Task::MultiLabel {
            return 22;
        }
        self.labels
            .iter()
            .map(|l| crate::data::display_width(l))
            .max()
            .unwrap_or(5)
    }

    pub(super) fn draw(&self, f: &mut Frame, area: Rect, focused: bool, theme: &Theme) {
        let split = if self.showing_val { "val" } else { "train" };
        let mut title = format!(
            " 1 Dataset [{split}] {}/{} ",
            self.visible.len(),
            self.rows().len()
        );
        if let Some(i) = self.label_filter {
            let what = if self.task == Task::Regression {
                "score"
            } else {
                "label"
            };
            title.push_str(&format!("{what}={} ", self.labels[i]));
        }
        if let Some(c) = self.count_filter {
            let plus = if c == MAX_CARDINALITY { "+" } else { "" };
            title.push_str(&format!("labels/row={c}{plus} "));
        }
        if self.misclassified_only {
            title.push_str("misclassified ");
        }
        if self.suspects_only {
            title.push_str("suspect labels ");
        }
        if self.sort != SortOrder::File {
            title.push_str(if self.sort == SortOrder::Shortest {
                "shortest-first "
            } else {
                "longest-first "
            });
        }
        let block = crate::tui::pane_block(&title, area, focused, theme);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let wide = inner.width >= 100;
        let detail_h = if inner.height >= 18 { 7 } else { 5 };
        let [top, bottom] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(detail_h)]).areas(inner);
        let (table_area, side_area) = if wide {
            let [t, s] =
                Layout::horizontal([Constraint::Min(40), Constraint::Length(38)]).areas(top);
            (t, Some(s))
        } else {
            (top, None)
        };
        self.render_table(f, table_area, theme);
        if let Some(s) = side_area {
            self.render_stats(f, s, theme);
            self.render_detail(f, bottom, theme);
        } else {
            let [d, s] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(bottom);
            self.render_detail(f, d, theme);
            self.render_stats(f, s, theme);
        }
    }

    pub(super) fn render_table(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let height = area.height.saturating_sub(1) as usize;
        self.page.set(height.max(1));
        // Keep the selection in view; only the visible window is built.
        let mut offset = self.offset.get();
        if self.selected < offset {
            offset = self.selected;
        } else if height > 0 && self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        offset = offset.min(self.visible.len().saturating_sub(height.max(1)));
        self.offset.set(offset);
        let label_w = self.widest_label().clamp(5, 16);
        let line_w = 6;
        let text_w = (area.width as usize).saturating_sub(label_w + line_w + 4);
        let mut lines = vec![Line::styled(
            format!("  {:<line_w$} {:<label_w$} text", "line", "label"),
            theme.header(),
        )];
        let query = self.query.to_lowercase();
        for (k, &i) in self.visible.iter().enumerate().skip(offset).take(height) {
            let r = &self.rows()[i];
            let marker = if k == self.selected {
                "▶"
            } else if !query.is_empty() && r.lower.contains(&query) {
                "*"
            } else {
                " "
            };
            // Corrected rows and suspects are marked by a sign, not colour.
            let flag = match self.corrections.entries.get(&r.line).map(|c| &c.fix) {
                Some(Fix::Relabel(_)) => "✎",
                Some(Fix::Keep) => "✓",
                Some(Fix::Drop) => "✗",
                None if self.is_suspect(r) => "?",
                None => " ",
            };
            let marker = format!("{marker}{flag}");
            // Cut and pad by display width: CJK characters take two columns.
            let label = crate::data::fit_width(&self.shown_label(r), label_w);
            let text = crate::data::fit_width(&r.text, text_w);
            let s = format!("{marker}{:<line_w$} {label} {}", r.line, text.trim_end());
            lines.push(if k == self.selected {
                Line::styled(s, theme.selected())
            } else {
                Line::raw(s)
            });
        }
        if self.visible.is_empty() {
            lines.push(Line::styled("  (no rows)", theme.dim()));
        }
        f.render_widget(Paragraph::new(lines), area);
    }

    pub(super) fn histogram(&self) -> Option<(Vec<u64>, String)> {
        let (train, val) = self.token_lens.as_ref()?;
        let lens = if self.showing_val { val } else { train };
        if lens.is_empty() {
            return None;
        }
        let buckets = 16usize;
        let top = lens
            .iter()
            .copied()
            .max()
            .unwrap_or(1)
            .max(self.max_len + 1);
        let mut counts = vec![0u64; buckets];
        for &l in lens {
            counts[(l * buckets / (top + 1)).min(buckets - 1)] += 1;
        }
        let truncated = lens.iter().filter(|&&l| l > self.max_len).count();
        let mut sorted = lens.clone();
        sorted.sort_unstable();
        let p95 = sorted[(sorted.len() - 1) * 95 / 100];
        Some((
            counts,
            format!(
                "tokens 0–{top}: p95 {p95}, {:.1}% cut at max_len {}",
                100.0 * truncated as f64 / lens.len() as f64,
                self.max_len
            ),
        ))
    }

    pub(super) fn render_stats(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::LEFT)
            .border_style(theme.dim());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let mut lines = Vec::new();
        let widest = self
            .report
            .label_counts
            .iter()
            .map(|c| c.1)
            .max()
            .unwrap_or(1)
            .max(1);
        let label_w = self.widest_label().min(14);
        let bar_w = (inner.width as usize).saturating_sub(label_w + 8).max(1);
        for (i, (label, count)) in self.report.label_counts.iter().enumerate() {
            let n = (count * bar_w).div_ceil(widest);
            lines.push(Line::from(vec![
                Span::raw(format!("{} ", crate::data::fit_width(label, label_w))),
                Span::styled("█".repeat(n), theme.bar(i)),
                Span::raw(format!(" {count}")),
            ]));
        }
        if let Some(sets) = &self.label_sets {
            let buckets: Vec<String> = sets
                .cardinality
                .iter()
                .enumerate()
                .map(|(k, n)| {
                    let plus = if k == MAX_CARDINALITY { "+" } else { "" };
                    format!("{k}{plus}:{n}")
                })
                .collect();
            lines.push(Line::raw(format!("labels/row {}", buckets.join(" "))));
            lines.push(Line::styled(
                format!("mean {:.2} labels a row", sets.mean),
                theme.dim(),
            ));
            for ((a, b), n) in sets.pairs.iter().take(3) {
                lines.push(Line::raw(crate::data::clip(
                    &format!("{a} + {b}: {n}"),
                    inner.width as usize,
                )));
            }
        }
        if let Some(b) = &self.score_bins {
            lines.push(Line::raw(format!("scores {:.2} … {:.2}", b.min, b.max)));
        }
        if let Some(lengths) = &self.entity_lengths {
            let top = lengths.iter().copied().max().unwrap_or(1).max(1);
            lines.push(Line::styled("entity length (words)", theme.dim()));
            let bar_w = (inner.width as usize).saturating_sub(10).max(1);
            for (k, &n) in lengths.iter().enumerate() {
                let name = if k + 1 == lengths.len() {
                    format!("{}+", k + 1)
                } else {
                    (k + 1).to_string()
                };
                lines.push(Line::from(vec![
                    Span::raw(format!("{name:>2} ")),
                    Span::styled("▆".repeat((n * bar_w).div_ceil(top)), theme.bar(0)),
                    Span::raw(format!(" {n}")),
                ]));
            }
        }
        lines.push(Line::raw(format!(
            "dup {} · conflicts {} · empty {}",
            self.report.duplicate_rows,
            self.report.conflicts.len(),
            self.report.empty_dropped
        )));
        if !self.suspects.is_empty() || !self.corrections.entries.is_empty() {
            let count = |a: &str| {
                self.corrections
                    .entries
                    .values()
                    .filter(|c| c.fix.action() == a)
                    .count()
            };
            lines.push(Line::raw(format!(
                "suspect {} · fixed {} · kept {} · drop {}",
                self.suspects.len(),
                count("relabel"),
                count("keep"),
                count("drop")
            )));
        }
        let hist = self.histogram();
        let text_h = (lines.len() as u16).min(inner.height);
        let [text_area, rest] =
            Layout::vertical([Constraint::Length(text_h), Constraint::Min(0)]).areas(inner);
        f.render_widget(Paragraph::new(lines), text_area);
        if rest.height >= 2 {
            match hist {
                Some((counts, caption)) => {
                    let [spark, cap] =
                        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(rest);
                    f.render_widget(
                        Sparkline::default().data(&counts).style(theme.accent()),
                        spark,
                    );
                    f.render_widget(Paragraph::new(caption).style(theme.dim()), cap);
                }
                None => f.render_widget(
                    Paragraph::new("token lengths: computing…").style(theme.dim()),
                    rest,
                ),
            }
        }
    }

    pub(super) fn render_detail(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let mut lines = Vec::new();
        if let Some(line) = self.relabeling {
            let mut spans = vec![Span::styled(
                format!("relabel line {line} as: "),
                theme.key(),
            )];
            for (i, l) in self.labels.iter().enumerate().take(9) {
                spans.push(Span::styled(format!("{} ", i + 1), theme.key()));
                spans.push(Span::raw(format!("{l}  ")));
            }
            spans.push(Span::styled("d ", theme.key()));
            spans.push(Span::raw("drop  "));
            spans.push(Span::styled("Esc ", theme.key()));
            spans.push(Span::raw("cancel"));
            lines.push(Line::from(spans));
        }
        if let Some(input) = &self.search {
            lines.push(Line::from(vec![
                Span::styled("search: ", theme.key()),
                Span::raw(format!("{}▏", input.text)),
            ]));
        }
        if let Some(s) = &self.status {
            lines.push(Line::styled(s.clone(), theme.dim()));
        }
        match self.selected_row() {
            Some(r) => {
                let mut head = vec![Span::styled(
                    format!("line {} · {} ", r.line, self.shown_label(r)),
                    theme.header(),
                )];
                if let Some(p) = self.predictions.get(&r.line) {
                    let ok = !self.is_misclassified(r);
                    let said = match &p.detail {
                        Some(d) => d.clone(),
                        None => format!("{} {:.0}%", p.label, p.score * 100.0),
                    };
                    head.push(Span::styled(
                        format!("model: {said} {}", if ok { "✓" } else { "✗ wrong" }),
                        if ok { theme.good() } else { theme.error() },
                    ));
                }
                lines.push(Line::from(head));
                if let Some(c) = self.corrections.entries.get(&r.line) {
                    lines.push(Line::styled(
                        match &c.fix {
                            Fix::Relabel(l) => format!("corrected: {} → {l} (u undoes)", c.given),
                            Fix::Keep => format!("reviewed: {} kept (u undoes)", c.given),
                            Fix::Drop => "dropped from training (u undoes)".to_string(),
                        },
                        theme.good(),
                    ));
                } else if let Some(s) = self.suspects.get(&r.line) {
                    lines.push(Line::styled(
                        format!(
                            "suspect label: p({}) {:.2}, the model says {} ({:.2}) · a accept · r relabel · K keep",
                            s.given, s.confidence, s.suggested, s.p_suggested
                        ),
                        theme.error(),
                    ));
                }
                lines.push(Line::raw(r.text.clone()));
                if let Some((line, pieces)) = &self.pieces {
                    if *line == r.line {
                        lines.push(Line::styled(
                            format!("{} pieces: {}", pieces.len(), pieces.join(" ")),
                            theme.dim(),
                        ));
                    }
                }
            }
            None => lines.push(Line::styled("no row selected", theme.dim())),
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}
