//! What a multi-label or regression corpus looks like at a glance: labels
//! per row, each label's balance and the pairs that come together; the
//! spread of a score, in equal-width bins a filter can pick.

use super::task::label_set;
use super::Row;
use std::collections::HashMap;

/// Rows with this many labels or more share the last cardinality bucket.
pub const MAX_CARDINALITY: usize = 4;

/// A multi-label corpus's label sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSetStats {
    /// (label, rows that have it), in label order.
    pub per_label: Vec<(String, usize)>,
    /// Rows with 0, 1, 2, 3 and `MAX_CARDINALITY`+ labels.
    pub cardinality: Vec<usize>,
    /// The most frequent label pairs, most frequent first.
    pub pairs: Vec<((String, String), usize)>,
    /// Mean labels per row.
    pub mean: f64,
}

/// Label-set statistics of `rows` over `labels`, with the `top` pairs.
pub fn label_set_stats(rows: &[Row], labels: &[String], top: usize) -> LabelSetStats {
    let mut per: HashMap<&str, usize> = HashMap::new();
    let mut pairs: HashMap<(String, String), usize> = HashMap::new();
    let mut cardinality = vec![0usize; MAX_CARDINALITY + 1];
    let mut total = 0usize;
    for r in rows {
        let mut set: Vec<&str> = r
            .label
            .as_deref()
            .map(label_set)
            .into_iter()
            .flatten()
            .collect();
        set.sort_unstable();
        set.dedup();
        total += set.len();
        cardinality[set.len().min(MAX_CARDINALITY)] += 1;
        for (i, a) in set.iter().enumerate() {
            *per.entry(a).or_default() += 1;
            for b in &set[i + 1..] {
                *pairs.entry((a.to_string(), b.to_string())).or_default() += 1;
            }
        }
    }
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    pairs.truncate(top);
    LabelSetStats {
        per_label: labels
            .iter()
            .map(|l| (l.clone(), per.get(l.as_str()).copied().unwrap_or(0)))
            .collect(),
        cardinality,
        pairs,
        mean: total as f64 / rows.len().max(1) as f64,
    }
}

/// Equal-width bins over a score's range.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreBins {
    pub min: f32,
    pub max: f32,
    /// Rows in each bin, low to high.
    pub counts: Vec<usize>,
}

impl ScoreBins {
    /// The bin of `x` (the top edge belongs to the last bin).
    pub fn bin_of(&self, x: f32) -> usize {
        let n = self.counts.len();
        let width = (self.max - self.min) / n as f32;
        if width <= 0.0 {
            return 0;
        }
        (((x - self.min) / width) as usize).min(n - 1)
    }

    /// A bin's range as a label, e.g. `1.00–2.00`.
    pub fn name(&self, bin: usize) -> String {
        let width = (self.max - self.min) / self.counts.len() as f32;
        let lo = self.min + width * bin as f32;
        format!("{:.2}–{:.2}", lo, lo + width)
    }
}

/// `bins` equal-width bins of the rows' numeric labels (None when no row
/// has one).
pub fn score_bins(rows: &[Row], bins: usize) -> Option<ScoreBins> {
    let values: Vec<f32> = rows
        .iter()
        .filter_map(|r| r.label.as_deref()?.trim().parse::<f32>().ok())
        .filter(|x| x.is_finite())
        .collect();
    let min = values.iter().copied().reduce(f32::min)?;
    let max = values.iter().copied().reduce(f32::max)?;
    let mut out = ScoreBins {
        min,
        max,
        counts: vec![0; bins.max(1)],
    };
    for x in values {
        let b = out.bin_of(x);
        out.counts[b] += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str) -> Row {
        Row {
            text: "t".into(),
            text_b: None,
            label: Some(label.into()),
            line: 1,
            words: None,
        }
    }

    #[test]
    fn label_sets_count_balance_cardinality_and_pairs() {
        let rows: Vec<Row> = ["a|b", "a|b|c", "", "b", "a|b"]
            .iter()
            .map(|l| row(l))
            .collect();
        let labels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let s = label_set_stats(&rows, &labels, 2);
        assert_eq!(
            s.per_label,
            vec![("a".into(), 3), ("b".into(), 4), ("c".into(), 1)]
        );
        assert_eq!(s.cardinality, vec![1, 1, 2, 1, 0]);
        assert_eq!(s.pairs[0], (("a".into(), "b".into()), 3));
        assert_eq!(s.pairs.len(), 2);
        assert!((s.mean - 8.0 / 5.0).abs() < 1e-12);
    }

    #[test]
    fn scores_fall_in_equal_width_bins() {
        let rows: Vec<Row> = ["0", "1.2", "2.5", "5", "4.99"]
            .iter()
            .map(|l| row(l))
            .collect();
        let b = score_bins(&rows, 5).unwrap();
        assert_eq!(b.counts, vec![1, 1, 1, 0, 2]);
        assert_eq!(b.name(1), "1.00–2.00");
        assert_eq!(b.bin_of(5.0), 4);
    }
}
