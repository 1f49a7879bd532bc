//! Probabilities from a classifier's logits on the host: the one softmax
//! and argmax that prediction, serving and label-issue finding share.

/// softmax over one row of logits (max-subtracted, so large logits do not
/// overflow).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// The logistic function: a multi-label head's probability of one label.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The first index of the largest entry, as numpy's argmax; NaN entries
/// never win, and a row of only NaN (or an empty row) gives 0.
pub fn argmax<T: PartialOrd + Copy>(row: &[T]) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, &x) in row.iter().enumerate() {
        #[allow(clippy::eq_op)] // x != x only for NaN
        let is_number = x == x;
        if is_number && best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_largest_and_skips_nan() {
        assert_eq!(argmax(&[0.1f32, 0.7, 0.7, 0.2]), 1);
        assert_eq!(argmax(&[f64::NAN, 0.2, 0.1]), 1);
        assert_eq!(argmax::<f32>(&[]), 0);
        assert_eq!(argmax(&[-3.0f64, -1.0, -2.0]), 1);
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1000.0, 998.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[0] - p[1]).abs() < 1e-7 && p[2] < p[0]);
    }
}
