//! Multi-label and regression metrics, defined as scikit-learn and SciPy
//! define them (`f1_score` with zero_division=0, `hamming_loss`,
//! `label_ranking_average_precision_score`, `jaccard_score(average=
//! "samples")`, `pearsonr`, `spearmanr`); the thresholds they decide at are
//! chosen in `thresholds`.

use super::metrics::Scores;
use crate::protocol::{ClassMetrics, TaskScores, SCATTER_POINTS};

/// Counts of one label's decisions.
#[derive(Clone, Copy, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn f1(self) -> f64 {
        let d = 2 * self.tp + self.fp + self.fn_;
        if d == 0 {
            0.0
        } else {
            2.0 * self.tp as f64 / d as f64
        }
    }
}

fn counts(truth: &[Vec<f32>], probs: &[Vec<f32>], label: usize, threshold: f32) -> Counts {
    let mut c = Counts::default();
    for (t, p) in truth.iter().zip(probs) {
        match (t[label] > 0.5, p[label] >= threshold) {
            (true, true) => c.tp += 1,
            (false, true) => c.fp += 1,
            (true, false) => c.fn_ += 1,
            (false, false) => {}
        }
    }
    c
}

/// Multi-label scores of sigmoid `probs` against multi-hot `truth`, each
/// label decided at its threshold.
pub fn multi_label_scores(
    names: &[String],
    truth: &[Vec<f32>],
    probs: &[Vec<f32>],
    thresholds: &[f32],
) -> Scores {
    let n = names.len();
    let all: Vec<Counts> = (0..n)
        .map(|l| counts(truth, probs, l, thresholds[l]))
        .collect();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class: Vec<ClassMetrics> = all
        .iter()
        .zip(names)
        .map(|(c, name)| ClassMetrics {
            label: name.clone(),
            precision: ratio(c.tp, c.tp + c.fp),
            recall: ratio(c.tp, c.tp + c.fn_),
            f1: c.f1(),
            support: c.tp + c.fn_,
        })
        .collect();
    let total = all.iter().fold(Counts::default(), |a, c| Counts {
        tp: a.tp + c.tp,
        fp: a.fp + c.fp,
        fn_: a.fn_ + c.fn_,
    });
    let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / n.max(1) as f64;
    let support: usize = per_class.iter().map(|c| c.support).sum();
    let weighted_f1 = if support == 0 {
        0.0
    } else {
        per_class
            .iter()
            .map(|c| c.f1 * c.support as f64)
            .sum::<f64>()
            / support as f64
    };
    let decided = |p: &[f32]| -> Vec<bool> { (0..n).map(|l| p[l] >= thresholds[l]).collect() };
    let mut exact = 0;
    let mut wrong = 0;
    let mut jaccard = 0.0;
    for (t, p) in truth.iter().zip(probs) {
        let d = decided(p);
        let errors = (0..n).filter(|&l| (t[l] > 0.5) != d[l]).count();
        wrong += errors;
        exact += usize::from(errors == 0);
        // scikit-learn scores a row with no label true or predicted 0.
        let both = (0..n).filter(|&l| t[l] > 0.5 && d[l]).count();
        let either = (0..n).filter(|&l| t[l] > 0.5 || d[l]).count();
        jaccard += ratio(both, either);
    }
    let rows = truth.len();
    Scores {
        accuracy: ratio(exact, rows),
        macro_f1,
        per_class,
        confusion: Vec::new(),
        task: Some(TaskScores::MultiLabel {
            micro_f1: total.f1(),
            macro_f1,
            weighted_f1,
            subset_accuracy: ratio(exact, rows),
            hamming_loss: ratio(wrong, rows * n),
            lrap: lrap(truth, probs),
            jaccard: if rows == 0 {
                0.0
            } else {
                jaccard / rows as f64
            },
            thresholds: thresholds.to_vec(),
        }),
    }
}

/// Label ranking average precision, as scikit-learn computes it: a row
/// with no true label (or every label true) scores 1.
pub fn lrap(truth: &[Vec<f32>], scores: &[Vec<f32>]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let mut sum = 0.0;
    for (t, s) in truth.iter().zip(scores) {
        let relevant: Vec<usize> = (0..t.len()).filter(|&l| t[l] > 0.5).collect();
        if relevant.is_empty() || relevant.len() == t.len() {
            sum += 1.0;
            continue;
        }
        let mut row = 0.0;
        for &j in &relevant {
            let rank = s.iter().filter(|&&x| x >= s[j]).count();
            let above = relevant.iter().filter(|&&k| s[k] >= s[j]).count();
            row += above as f64 / rank as f64;
        }
        sum += row / relevant.len() as f64;
    }
    sum / truth.len() as f64
}

/// Regression scores of `predicted` against `gold`.
pub fn regression_scores(gold: &[f32], predicted: &[f32]) -> Scores {
    let n = gold.len().max(1) as f64;
    let (mut se, mut ae) = (0.0, 0.0);
    for (&g, &p) in gold.iter().zip(predicted) {
        let d = p as f64 - g as f64;
        se += d * d;
        ae += d.abs();
    }
    let g: Vec<f64> = gold.iter().map(|&x| x as f64).collect();
    let p: Vec<f64> = predicted.iter().map(|&x| x as f64).collect();
    let pearson = pearson(&g, &p);
    let spearman = pearson_or_zero(&average_ranks(&g), &average_ranks(&p));
    // An even sample of rows for the scatter.
    let step = gold.len().div_ceil(SCATTER_POINTS).max(1);
    let points = gold
        .iter()
        .zip(predicted)
        .step_by(step)
        .map(|(&g, &p)| (g, p))
        .collect();
    Scores {
        accuracy: 0.0,
        macro_f1: 0.0,
        per_class: Vec::new(),
        confusion: Vec::new(),
        task: Some(TaskScores::Regression {
            mse: se / n,
            mae: ae / n,
            pearson: pearson.unwrap_or(0.0),
            spearman,
            points,
        }),
    }
}

fn pearson_or_zero(a: &[f64], b: &[f64]) -> f64 {
    pearson(a, b).unwrap_or(0.0)
}

/// Pearson's r; None when either side is constant (SciPy returns NaN).
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    if a.len() < 2 {
        return None;
    }
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let d = (saa * sbb).sqrt();
    (d > 0.0).then(|| (sab / d).clamp(-1.0, 1.0))
}

/// 1-based ranks, ties sharing their average rank (SciPy's `rankdata`).
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = avg;
        }
        i = j + 1;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_multi_label_values() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let truth = vec![vec![1., 0., 1.], vec![0., 1., 0.], vec![1., 1., 0.]];
        let probs = vec![
            vec![0.9, 0.2, 0.6],
            vec![0.1, 0.4, 0.7],
            vec![0.8, 0.7, 0.1],
        ];
        let s = multi_label_scores(&names, &truth, &probs, &[0.5; 3]);
        let Some(TaskScores::MultiLabel {
            micro_f1,
            subset_accuracy,
            hamming_loss,
            lrap,
            ..
        }) = s.task
        else {
            panic!()
        };
        // decided: {a,c} {c} {a,b}: row 2 has b missed and c spurious.
        assert!((subset_accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((hamming_loss - 2.0 / 9.0).abs() < 1e-12);
        // tp 4 (a, a, c, b), fp 1, fn 1.
        assert!((micro_f1 - 8.0 / 10.0).abs() < 1e-12);
        // row 2: b (0.4) ranks 2nd behind c: 1/2.
        assert!((lrap - (1.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        assert_eq!(s.per_class[1].support, 2);
    }

    #[test]
    fn ranks_and_correlations() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        let r = pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 7.0]).unwrap();
        assert!((r - 0.9933992677987828).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
    }
}
