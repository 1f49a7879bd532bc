//! Which multi-label rows look mislabeled, as cleanlab's
//! `multilabel_classification.filter.find_label_issues(labels, pred_probs,
//! return_indices_ranked_by="self_confidence")` finds them: each label is a
//! one-vs-rest binary problem given to confident learning (a row is a
//! suspect when any of its labels is), and the suspects are ranked by the
//! row's label quality — the per-label self-confidences aggregated by an
//! exponential moving average (α 0.8) from the highest to the lowest.

use super::label_issues::find_label_issues;

/// cleanlab's `MultilabelScorer` default aggregator (`alpha=0.8`).
const EMA_ALPHA: f64 = 0.8;

/// A row's label quality: p(label present) where it is given, else
/// p(absent), aggregated by EMA over the scores sorted high to low.
pub fn label_quality(given: &[bool], probs: &[f64]) -> f64 {
    let mut scores: Vec<f64> = given
        .iter()
        .zip(probs)
        .map(|(&g, &p)| if g { p } else { 1.0 - p })
        .collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let mut ema = scores.first().copied().unwrap_or(1.0);
    for &s in scores.iter().skip(1) {
        ema = EMA_ALPHA * s + (1.0 - EMA_ALPHA) * ema;
    }
    ema
}

/// Row indices with a label that looks wrong (for any label), lowest
/// label quality first. `given[i][k]`: row i carries label k;
/// `probs[i][k]`: the model's out-of-sample sigmoid for it.
pub fn find_multilabel_issues(given: &[Vec<bool>], probs: &[Vec<f64>]) -> Vec<usize> {
    let labels = probs.first().map_or(0, Vec::len);
    let mut issue = vec![false; given.len()];
    for k in 0..labels {
        let y: Vec<usize> = given.iter().map(|g| usize::from(g[k])).collect();
        let binary: Vec<Vec<f64>> = probs.iter().map(|p| vec![1.0 - p[k], p[k]]).collect();
        for i in find_label_issues(&y, &binary) {
            issue[i] = true;
        }
    }
    let quality: Vec<f64> = given
        .iter()
        .zip(probs)
        .map(|(g, p)| label_quality(g, p))
        .collect();
    let mut found: Vec<usize> = (0..given.len()).filter(|&i| issue[i]).collect();
    found.sort_by(|&a, &b| quality[a].total_cmp(&quality[b]));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_is_cleanlabs_ema_of_sorted_self_confidences() {
        // cleanlab's docstring: EMA of [0.1, 0.2, 0.3] at α 0.5 is 0.175;
        // at 0.8 sorted high to low: 0.3 → 0.2·0.8+0.06 → 0.1·0.8+0.044.
        let q = label_quality(&[true, true, true], &[0.1, 0.2, 0.3]);
        assert!((q - 0.124).abs() < 1e-12, "{q}");
    }

    #[test]
    fn a_label_the_model_clearly_denies_is_found() {
        // Label 0 given on rows 0..10 with high probability, but row 10
        // carries it where the model is sure it is absent.
        let mut given = vec![vec![true, false]; 10];
        let mut probs = vec![vec![0.95, 0.05]; 10];
        given.extend(vec![vec![false, true]; 10]);
        probs.extend(vec![vec![0.05, 0.9]; 10]);
        given[10] = vec![true, true];
        probs[10] = vec![0.02, 0.92];
        assert_eq!(find_multilabel_issues(&given, &probs), vec![10]);
    }
}
