//! The cleaning report: what a person should know about a corpus before
//! training on it.

use super::{Labels, Row};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LengthStats {
    pub min: usize,
    pub mean: f64,
    pub median: usize,
    pub p95: usize,
    pub max: usize,
}

impl LengthStats {
    pub fn of(mut lengths: Vec<usize>) -> Option<Self> {
        if lengths.is_empty() {
            return None;
        }
        lengths.sort_unstable();
        let n = lengths.len();
        let pick = |q: f64| lengths[((n - 1) as f64 * q).round() as usize];
        Some(LengthStats {
            min: lengths[0],
            mean: lengths.iter().sum::<usize>() as f64 / n as f64,
            median: pick(0.5),
            p95: pick(0.95),
            max: lengths[n - 1],
        })
    }
}

/// A text that appears with more than one label.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Conflict {
    pub text: String,
    pub labels: Vec<String>,
    pub lines: Vec<u64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CleaningReport {
    pub rows: usize,
    pub empty_dropped: usize,
    /// (label, count) in label order; a tagged corpus: (entity type,
    /// mentions).
    pub label_counts: Vec<(String, usize)>,
    /// The counts are mentions of entity types (token classification).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mentions: bool,
    /// Rows whose (normalised) text and label repeat an earlier row.
    pub duplicate_rows: usize,
    /// Texts seen with two or more different labels.
    pub conflicts: Vec<Conflict>,
    pub words: Option<LengthStats>,
}

/// Texts compare equal when they differ only in case and whitespace.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `c` is a CJK ideograph: BERT's `_is_chinese_char` ranges.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// Words in `text`, each CJK ideograph counting as one (Chinese and
/// Japanese are written without spaces; BERT splits them per character).
pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .map(|w| {
            let mut n = 0;
            let mut in_run = false;
            for c in w.chars() {
                if is_cjk(c) {
                    n += 1;
                    in_run = false;
                } else if !in_run && !c.is_ascii_punctuation() && !is_cjk_punctuation(c) {
                    n += 1;
                    in_run = true;
                }
            }
            n
        })
        .sum()
}

fn is_cjk_punctuation(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFF0F | 0xFF1A..=0xFF20)
}

pub fn report(rows: &[Row], empty_dropped: usize) -> CleaningReport {
    // A tagged corpus counts its mentions by type (a whole tag sequence
    // is no label to count).
    let mentions = rows.iter().any(|r| r.words.is_some());
    let label_counts = if mentions {
        let mut by_type: std::collections::BTreeMap<String, usize> = Default::default();
        for r in rows {
            for (t, _, _) in r.mentions() {
                *by_type.entry(t).or_default() += 1;
            }
        }
        by_type.into_iter().collect()
    } else {
        let labels = Labels::from_rows(rows);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for r in rows {
            *counts.entry(r.label.as_deref().unwrap_or("")).or_default() += 1;
        }
        labels
            .names()
            .iter()
            .map(|l| (l.clone(), counts.get(l.as_str()).copied().unwrap_or(0)))
            .collect()
    };

    let mut seen: HashMap<String, Vec<&Row>> = HashMap::new();
    let mut order = Vec::new();
    for r in rows {
        let key = normalise(&r.text);
        let group = seen.entry(key.clone()).or_default();
        if group.is_empty() {
            order.push(key);
        }
        group.push(r);
    }
    let mut duplicate_rows = 0;
    let mut conflicts = Vec::new();
    for key in order {
        let group = &seen[&key];
        let mut distinct: Vec<String> = Vec::new();
        for r in group {
            let l = r.label.clone().unwrap_or_default();
            if distinct.contains(&l) {
                duplicate_rows += 1;
            } else {
                distinct.push(l);
            }
        }
        if distinct.len() > 1 {
            conflicts.push(Conflict {
                text: group[0].text.clone(),
                labels: distinct,
                lines: group.iter().map(|r| r.line).collect(),
            });
        }
    }
    CleaningReport {
        rows: rows.len(),
        empty_dropped,
        label_counts,
        mentions,
        duplicate_rows,
        conflicts,
        words: LengthStats::of(rows.iter().map(|r| word_count(&r.text)).collect()),
    }
}

impl std::fmt::Display for CleaningReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "rows: {} (empty dropped: {})",
            self.rows, self.empty_dropped
        )?;
        let widest = self
            .label_counts
            .iter()
            .map(|(_, c)| *c)
            .max()
            .unwrap_or(1)
            .max(1);
        let total: usize = if self.mentions {
            writeln!(f, "mentions by entity type:")?;
            self.label_counts.iter().map(|c| c.1).sum()
        } else {
            self.rows
        };
        for (label, count) in &self.label_counts {
            let bar = "#".repeat((count * 30).div_ceil(widest));
            let share = 100.0 * *count as f64 / total.max(1) as f64;
            writeln!(
                f,
                "  {} {count:>7} {share:>5.1}% {bar}",
                super::fit_width(label, 20)
            )?;
        }
        writeln!(f, "duplicate rows: {}", self.duplicate_rows)?;
        let what = if self.mentions { "tags" } else { "labels" };
        writeln!(f, "texts with conflicting {what}: {}", self.conflicts.len())?;
        for c in self.conflicts.iter().take(5) {
            let lines: Vec<String> = c.lines.iter().map(u64::to_string).collect();
            writeln!(
                f,
                "  lines {}: {:?} -> {}",
                lines.join(","),
                c.text,
                c.labels.join(" / ")
            )?;
        }
        if let Some(w) = &self.words {
            writeln!(
                f,
                "words per text (a CJK character counts as one): min {} median {} mean {:.1} p95 {} max {}",
                w.min, w.median, w.mean, w.p95, w.max
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str, label: &str, line: u64) -> Row {
        Row {
            text_b: None,
            text: text.into(),
            label: Some(label.into()),
            line,
            words: None,
        }
    }

    #[test]
    fn report_counts_duplicates_and_conflicts() {
        let rows = vec![
            row("Great  phone", "pos", 2),
            row("great phone", "pos", 3),
            row("great phone", "neg", 4),
            row("awful", "neg", 5),
        ];
        let r = report(&rows, 1);
        assert_eq!(r.duplicate_rows, 1);
        assert_eq!(r.conflicts.len(), 1);
        assert_eq!(r.conflicts[0].lines, vec![2, 3, 4]);
        assert_eq!(r.label_counts, vec![("neg".into(), 2), ("pos".into(), 2)]);
        assert_eq!(r.words.as_ref().unwrap().max, 2);
        assert!(r.to_string().contains("conflicting labels: 1"));
    }

    #[test]
    fn cjk_characters_count_as_words() {
        assert_eq!(word_count("这家餐厅的菜很好吃"), 9);
        assert_eq!(word_count("我爱 BERT 模型!"), 5);
        assert_eq!(word_count("it's fine, really"), 3);
        assert_eq!(word_count("很好，推荐。"), 4);
    }
}
