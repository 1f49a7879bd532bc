//! Deterministic stratified train/validation split.

use super::Row;
use crate::rng::Rng;
use std::collections::BTreeMap;

/// Row indices of each label, in label order.
fn indices_by_label(rows: &[Row]) -> BTreeMap<&str, Vec<usize>> {
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        // A token-classification row's label is its whole tag sequence:
        // such rows are split at random, as one stratum.
        let key = match &r.words {
            Some(_) => "",
            None => r.label.as_deref().unwrap_or(""),
        };
        by_label.entry(key).or_default().push(i);
    }
    by_label
}

/// Split `rows` into (train, val): each label keeps its share in both parts.
/// Same rows, fraction and seed always give the same split. A label with at
/// least two rows gives at least one to each side; a single row stays in
/// training.
pub fn stratified_split(rows: &[Row], val_fraction: f64, seed: u64) -> (Vec<Row>, Vec<Row>) {
    let mut by_label = indices_by_label(rows);
    let mut rng = Rng::derived(seed, 0x5911_7000);
    let mut val_idx = Vec::new();
    for idx in by_label.values_mut() {
        rng.shuffle(idx);
        let n = idx.len();
        // A label seen once stays in training (the model must know it).
        let k = if n < 2 {
            0
        } else {
            ((n as f64 * val_fraction).round() as usize)
                .clamp(usize::from(val_fraction > 0.0), n - 1)
        };
        val_idx.extend_from_slice(&idx[..k.min(n)]);
    }
    let mut is_val = vec![false; rows.len()];
    for i in val_idx {
        is_val[i] = true;
    }
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (r, v) in rows.iter().zip(is_val) {
        if v {
            val.push(r.clone())
        } else {
            train.push(r.clone())
        }
    }
    (train, val)
}

/// At most `n` of `rows`, each label keeping its share (largest
/// remainder; every label keeps a row while `n` allows), seeded, in the
/// rows' own order. `n` of 0 or at least the row count keeps them all.
pub fn stratified_sample(rows: Vec<Row>, n: usize, seed: u64) -> Vec<Row> {
    if n == 0 || n >= rows.len() {
        return rows;
    }
    let mut by_label: Vec<Vec<usize>> = indices_by_label(&rows).into_values().collect();
    let total = rows.len() as f64;
    // Each label's exact share, floored; then a row to each label with
    // none (rarest first) and the rest by largest remainder.
    let exact: Vec<f64> = by_label
        .iter()
        .map(|idx| idx.len() as f64 * n as f64 / total)
        .collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = n - take.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..by_label.len()).collect();
    order.sort_by_key(|&i| by_label[i].len());
    for &i in &order {
        if left > 0 && take[i] == 0 {
            take[i] = 1;
            left -= 1;
        }
    }
    let mut by_remainder: Vec<usize> = (0..by_label.len()).collect();
    by_remainder
        .sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &i in by_remainder.iter().cycle().take(by_label.len() * 2) {
        if left == 0 {
            break;
        }
        if take[i] < by_label[i].len() {
            take[i] += 1;
            left -= 1;
        }
    }
    let mut rng = Rng::derived(seed, 0x5a3b_1e00);
    let mut keep = vec![false; rows.len()];
    for (idx, k) in by_label.iter_mut().zip(take) {
        rng.shuffle(idx);
        for &i in &idx[..k.min(idx.len())] {
            keep[i] = true;
        }
    }
    rows.into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}

/// Assign each row to one of `k` folds, each label spread evenly over the
/// folds (stratified K-fold, seeded). Returns the fold of every row.
pub fn stratified_folds(rows: &[Row], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut by_label = indices_by_label(rows);
    let mut rng = Rng::derived(seed, 0xf01d_5000);
    let mut fold = vec![0; rows.len()];
    // Each label starts where the last one stopped, so fold sizes differ
    // by at most one row overall.
    let mut next = 0;
    for idx in by_label.values_mut() {
        rng.shuffle(idx);
        for &i in idx.iter() {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[(&str, usize)]) -> Vec<Row> {
        let mut out = Vec::new();
        for (label, n) in spec {
            for i in 0..*n {
                out.push(Row {
                    text_b: None,
                    text: format!("{label} {i}"),
                    label: Some(label.to_string()),
                    line: out.len() as u64 + 2,
                    words: None,
                });
            }
        }
        out
    }

    #[test]
    fn a_sample_keeps_label_shares_order_and_rare_labels() {
        let data = rows(&[("a", 700), ("b", 250), ("c", 50), ("d", 1)]);
        let count = |rows: &[Row], l: &str| {
            rows.iter()
                .filter(|r| r.label.as_deref() == Some(l))
                .count()
        };
        let s = stratified_sample(data.clone(), 100, 7);
        assert_eq!(s.len(), 100);
        // 70 / 25 / 5 of 1,001 rows, and the single d row kept.
        assert_eq!(["a", "b", "c", "d"].map(|l| count(&s, l)), [69, 25, 5, 1]);
        assert!(s.windows(2).all(|w| w[0].line < w[1].line), "file order");
        assert_eq!(s, stratified_sample(data.clone(), 100, 7), "seeded");
        assert_ne!(s, stratified_sample(data.clone(), 100, 8));
        assert_eq!(stratified_sample(data.clone(), 0, 7).len(), 1001);
        assert_eq!(stratified_sample(data.clone(), 5000, 7).len(), 1001);
        assert_eq!(stratified_sample(data, 2, 7).len(), 2);
    }

    #[test]
    fn split_is_stratified_and_deterministic() {
        let data = rows(&[("a", 80), ("b", 20), ("c", 2)]);
        let (train, val) = stratified_split(&data, 0.1, 3);
        let count =
            |rs: &[Row], l: &str| rs.iter().filter(|r| r.label.as_deref() == Some(l)).count();
        assert_eq!(
            (count(&val, "a"), count(&val, "b"), count(&val, "c")),
            (8, 2, 1)
        );
        let (_, val_one) = stratified_split(&rows(&[("a", 4), ("solo", 1)]), 0.5, 3);
        assert_eq!(count(&val_one, "solo"), 0);
        assert_eq!(train.len() + val.len(), data.len());
        let (train2, val2) = stratified_split(&data, 0.1, 3);
        assert_eq!((train, val), (train2, val2));
        let (_, val3) = stratified_split(&data, 0.1, 4);
        assert_ne!(val3, stratified_split(&data, 0.1, 3).1);
    }

    #[test]
    fn folds_are_stratified_balanced_and_seeded() {
        let data = rows(&[("a", 53), ("b", 21), ("c", 7)]);
        let folds = stratified_folds(&data, 5, 1);
        for f in 0..5 {
            let size = folds.iter().filter(|&&x| x == f).count();
            assert!((16..=17).contains(&size), "fold {f}: {size}");
            for (label, n) in [("a", 53), ("b", 21), ("c", 7)] {
                let in_fold = data
                    .iter()
                    .zip(&folds)
                    .filter(|(r, &x)| x == f && r.label.as_deref() == Some(label))
                    .count();
                assert!(in_fold == n / 5 || in_fold == n / 5 + 1, "{label} in {f}");
            }
        }
        assert_eq!(folds, stratified_folds(&data, 5, 1));
        assert_ne!(folds, stratified_folds(&data, 5, 2));
    }
}
