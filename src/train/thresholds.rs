//! Multi-label decision thresholds, chosen on the validation rows for the
//! metric the run is judged by (`best_metric`):
//!
//! - micro-F1, samples Jaccard, subset accuracy: one threshold for every
//!   label (these metrics pool the labels, and one value cannot overfit a
//!   rare label's handful of dev rows);
//! - macro-F1, weighted-F1 (each label's F1), Hamming loss (each label's
//!   errors): a threshold per label, each on its own term;
//! - metrics no threshold changes (loss, LRAP): micro-F1's rule.
//!
//! Thresholds come from the grid 0.05…0.95; ties go to the value nearest
//! 0.5. A threshold that *over-flags* — marks more rows positive than the
//! label's prevalence plus max(prevalence, 10 points) — is kept only when
//! it beats by `REAL_GAIN` of the metric both the best threshold that does
//! not over-flag (0.5 always counts as one) and flagging every row: an
//! under-trained model's rare label is otherwise "predicted for every row"
//! by an F1 search, which no model is needed for.

use crate::config::BestMetric;

/// The thresholds a label's probability is tried against.
pub fn threshold_grid() -> impl Iterator<Item = f32> {
    (1..=19).map(|i| i as f32 * 0.05)
}

/// How much better (in the metric's own units) an over-flagging threshold
/// must be than the best one that does not over-flag.
pub const REAL_GAIN: f64 = 0.02;

/// Metric values closer than this are a tie.
const TIE: f64 = 1e-12;

/// Whether flagging `share` of the rows over-flags a label (or all labels)
/// whose share of positive rows is `prevalence`.
pub fn over_flags(share: f64, prevalence: f64) -> bool {
    share > prevalence + prevalence.max(0.1)
}

/// How thresholds are tuned for a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// One threshold for all labels, by the pooled metric.
    Global(Pooled),
    /// A threshold per label, by the label's own term.
    PerLabel(Separable),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooled {
    MicroF1,
    Jaccard,
    SubsetAccuracy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separable {
    /// A label's F1 (macro- and weighted-F1 are sums of these).
    F1,
    /// A label's share of wrong decisions (Hamming loss sums these).
    Errors,
}

impl Rule {
    pub fn for_metric(metric: BestMetric) -> Rule {
        match metric {
            BestMetric::MacroF1 | BestMetric::WeightedF1 => Rule::PerLabel(Separable::F1),
            BestMetric::HammingLoss => Rule::PerLabel(Separable::Errors),
            BestMetric::Jaccard => Rule::Global(Pooled::Jaccard),
            BestMetric::SubsetAccuracy | BestMetric::Accuracy => {
                Rule::Global(Pooled::SubsetAccuracy)
            }
            _ => Rule::Global(Pooled::MicroF1),
        }
    }

    /// The rule in words, for notes and the README's table.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::Global(Pooled::MicroF1) => "one threshold for all labels, by micro-F1",
            Rule::Global(Pooled::Jaccard) => "one threshold for all labels, by samples Jaccard",
            Rule::Global(Pooled::SubsetAccuracy) => {
                "one threshold for all labels, by subset accuracy"
            }
            Rule::PerLabel(Separable::F1) => "a threshold per label, by the label's F1",
            Rule::PerLabel(Separable::Errors) => {
                "a threshold per label, by the label's wrong decisions"
            }
        }
    }
}

/// Sigmoid probabilities against multi-hot truth, with what every rule
/// needs computed once.
pub struct Table<'a> {
    truth: &'a [Vec<f32>],
    probs: &'a [Vec<f32>],
    labels: usize,
}

impl<'a> Table<'a> {
    pub fn new(truth: &'a [Vec<f32>], probs: &'a [Vec<f32>], labels: usize) -> Self {
        Table {
            truth,
            probs,
            labels,
        }
    }

    fn rows(&self) -> usize {
        self.truth.len()
    }

    fn is_true(&self, row: usize, label: usize) -> bool {
        self.truth[row][label] > 0.5
    }

    fn flagged(&self, row: usize, label: usize, t: f32) -> bool {
        self.probs[row][label] >= t
    }

    /// (tp, fp, fn) of one label at `t`.
    fn counts(&self, label: usize, t: f32) -> (usize, usize, usize) {
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        for r in 0..self.rows() {
            match (self.is_true(r, label), self.flagged(r, label, t)) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => {}
            }
        }
        (tp, fp, fn_)
    }

    fn share(&self, count: usize, of: usize) -> f64 {
        if of == 0 {
            0.0
        } else {
            count as f64 / of as f64
        }
    }

    /// A separable term of one label at `t`, higher better.
    fn label_term(&self, label: usize, t: f32, what: Separable) -> f64 {
        let (tp, fp, fn_) = self.counts(label, t);
        match what {
            Separable::F1 => f1(tp, fp, fn_),
            Separable::Errors => -self.share(fp + fn_, self.rows()),
        }
    }

    /// A pooled metric with every label at `t`, higher better.
    fn pooled(&self, t: f32, what: Pooled) -> f64 {
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        let (mut exact, mut jaccard) = (0usize, 0.0);
        for r in 0..self.rows() {
            let (mut both, mut either, mut wrong) = (0usize, 0usize, 0usize);
            for l in 0..self.labels {
                let (y, p) = (self.is_true(r, l), self.flagged(r, l, t));
                both += usize::from(y && p);
                either += usize::from(y || p);
                wrong += usize::from(y != p);
                tp += usize::from(y && p);
                fp += usize::from(!y && p);
                fn_ += usize::from(y && !p);
            }
            exact += usize::from(wrong == 0);
            jaccard += self.share(both, either);
        }
        match what {
            Pooled::MicroF1 => f1(tp, fp, fn_),
            Pooled::Jaccard => jaccard / self.rows().max(1) as f64,
            Pooled::SubsetAccuracy => self.share(exact, self.rows()),
        }
    }

    /// The labels a share is taken over: one, or all (every cell).
    fn over(&self, label: Option<usize>) -> std::ops::Range<usize> {
        match label {
            Some(l) => l..l + 1,
            None => 0..self.labels,
        }
    }

    /// The share of rows (cells) that are positive.
    fn prevalence(&self, label: Option<usize>) -> f64 {
        let labels = self.over(label);
        let positive = (0..self.rows())
            .map(|r| labels.clone().filter(|&l| self.is_true(r, l)).count())
            .sum();
        self.share(positive, self.rows() * labels.len())
    }

    /// The share of rows (cells) that `t` flags.
    fn flagged_share(&self, label: Option<usize>, t: f32) -> f64 {
        let labels = self.over(label);
        let flagged = (0..self.rows())
            .map(|r| labels.clone().filter(|&l| self.flagged(r, l, t)).count())
            .sum();
        self.share(flagged, self.rows() * labels.len())
    }

    /// The thresholds `rule` chooses, one a label.
    pub fn tune(&self, rule: Rule) -> Vec<f32> {
        match rule {
            Rule::Global(what) => {
                let p = self.prevalence(None);
                let t = choose(
                    |t| self.pooled(t, what),
                    |t| over_flags(self.flagged_share(None, t), p),
                );
                vec![t; self.labels]
            }
            Rule::PerLabel(what) => (0..self.labels)
                .map(|l| {
                    let p = self.prevalence(Some(l));
                    choose(
                        |t| self.label_term(l, t, what),
                        |t| over_flags(self.flagged_share(Some(l), t), p),
                    )
                })
                .collect(),
        }
    }
}

fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    let d = 2 * tp + fp + fn_;
    if d == 0 {
        0.0
    } else {
        2.0 * tp as f64 / d as f64
    }
}

/// The grid value with the best `value` (ties nearest 0.5), where an
/// over-flagging value must beat the best other one, and flagging every
/// row, by `REAL_GAIN`.
fn choose(value: impl Fn(f32) -> f64, over_flagging: impl Fn(f32) -> bool) -> f32 {
    // Values within TIE of each other are equal (the same counts reach a
    // metric through different sums).
    let better = |a: (f64, f32), b: (f64, f32)| {
        a.0 > b.0 + TIE || ((a.0 - b.0).abs() <= TIE && (a.1 - 0.5).abs() < (b.1 - 0.5).abs())
    };
    let mut safe: Option<(f64, f32)> = None;
    let mut flagging: Option<(f64, f32)> = None;
    for t in threshold_grid() {
        let v = (value(t), t);
        // 0.5 is the untuned rule: always a fallback.
        let slot = if over_flagging(t) && (t - 0.5).abs() > 1e-6 {
            &mut flagging
        } else {
            &mut safe
        };
        if slot.is_none_or(|s| better(v, s)) {
            *slot = Some(v);
        }
    }
    let safe = safe.unwrap_or((f64::NEG_INFINITY, 0.5));
    let every_row = value(0.0);
    match flagging {
        Some(f) if f.0 >= safe.0.max(every_row) + REAL_GAIN => f.1,
        _ => safe.1,
    }
}

/// How an evaluation decides multi-label rows: thresholds tuned on its
/// own rows for a metric, or given (a checkpoint's, or a fixed value).
#[derive(Clone, Copy, Debug)]
pub enum Decide<'a> {
    Tune(BestMetric),
    At(&'a [f32]),
}

/// The thresholds tuned for `metric` on these rows.
pub fn tune_for(
    metric: BestMetric,
    truth: &[Vec<f32>],
    probs: &[Vec<f32>],
    labels: usize,
) -> Vec<f32> {
    Table::new(truth, probs, labels).tune(Rule::for_metric(metric))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rare_label_is_not_flagged_on_every_row_for_a_tie_level_gain() {
        // Label 0 is true on 1 row in 10 and the model ranks it last: the
        // best F1 (2/11) is "every row" (0.05..0.2), and 0.5 scores 0.
        let mut truth = vec![vec![0.0]; 10];
        truth[9] = vec![1.0];
        let probs: Vec<Vec<f32>> = (0..10).map(|i| vec![0.3 - i as f32 * 0.01]).collect();
        let t = tune_for(BestMetric::MacroF1, &truth, &probs, 1);
        assert_eq!(t, vec![0.5]);
        // Ranked first instead, 0.4 catches it alone and is kept.
        let probs: Vec<Vec<f32>> = (0..10)
            .map(|i| vec![if i == 9 { 0.42 } else { 0.1 + i as f32 * 0.01 }])
            .collect();
        let t = tune_for(BestMetric::MacroF1, &truth, &probs, 1);
        assert!((t[0] - 0.4).abs() < 1e-6, "{t:?}");
    }

    #[test]
    fn an_over_flagging_threshold_that_really_pays_is_kept() {
        // Prevalence 0.2; three negatives score above both positives, so
        // catching them flags half the rows (over 0.2 + 0.2): F1 4/7,
        // against 0 for anything higher and 1/3 for every row.
        let truth: Vec<Vec<f32>> = (0..10).map(|i| vec![f32::from(u8::from(i < 2))]).collect();
        let probs: Vec<Vec<f32>> = [0.22, 0.21, 0.3, 0.3, 0.3, 0.02, 0.04, 0.06, 0.07, 0.08]
            .iter()
            .map(|&p| vec![p])
            .collect();
        let t = tune_for(BestMetric::MacroF1, &truth, &probs, 1);
        assert!((t[0] - 0.2).abs() < 1e-6, "{t:?}");
    }

    #[test]
    fn pooled_rules_share_one_threshold() {
        let truth = vec![vec![1., 0.], vec![0., 1.], vec![1., 1.]];
        let probs = vec![vec![0.7, 0.2], vec![0.3, 0.6], vec![0.47, 0.9]];
        let t = tune_for(BestMetric::MicroF1, &truth, &probs, 2);
        assert_eq!(t[0], t[1]);
        // 0.35..0.45 catch all four positives and no negative.
        assert!((t[0] - 0.45).abs() < 1e-6, "{t:?}");
    }
}
