//! Which unlabeled rows to label next, from the current model's
//! probabilities: small-text's uncertainty strategies (its `scores_`, its
//! ranking) and random sampling.

use crate::rng::Rng;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The smallest margin between the two most likely labels first
    /// (small-text's `BreakingTies`; the best of its study).
    BreakingTies,
    /// The largest entropy of the probabilities first (`PredictionEntropy`).
    Entropy,
    /// The smallest top probability first (`LeastConfidence`).
    LeastConfidence,
    /// Rows drawn at random: the baseline every strategy must beat.
    Random,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::BreakingTies,
        Strategy::Entropy,
        Strategy::LeastConfidence,
        Strategy::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::BreakingTies => "breaking_ties",
            Strategy::Entropy => "entropy",
            Strategy::LeastConfidence => "least_confidence",
            Strategy::Random => "random",
        }
    }

    /// Each row's score as small-text keeps it in `scores_` (margin, top
    /// probability, entropy in nats); None for random.
    pub fn scores(self, probs: &[Vec<f64>]) -> Option<Vec<f64>> {
        let score = match self {
            Strategy::BreakingTies => margin,
            Strategy::Entropy => entropy,
            Strategy::LeastConfidence => top,
            Strategy::Random => return None,
        };
        Some(probs.iter().map(|p| score(p)).collect())
    }

    /// The `n` rows to label next (indexes into `probs`), most uncertain
    /// first; equal scores go by row order. Random draws from `rng`.
    pub fn query(self, probs: &[Vec<f64>], n: usize, rng: &mut Rng) -> Vec<usize> {
        let n = n.min(probs.len());
        let Some(scores) = self.scores(probs) else {
            let mut rows: Vec<usize> = (0..probs.len()).collect();
            rng.shuffle(&mut rows);
            rows.truncate(n);
            return rows;
        };
        // Lower is more uncertain for a margin or a top probability;
        // higher for entropy.
        let key = |i: usize| match self {
            Strategy::Entropy => -scores[i],
            _ => scores[i],
        };
        let mut rows: Vec<usize> = (0..probs.len()).collect();
        rows.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
        rows.truncate(n);
        rows
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Strategy, String> {
        Strategy::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Strategy::ALL.iter().map(|k| k.name()).collect();
                format!("unknown strategy '{s}' ({})", names.join(", "))
            })
    }
}

/// Best minus second-best probability.
fn margin(p: &[f64]) -> f64 {
    let (mut best, mut second) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &x in p {
        if x > best {
            second = best;
            best = x;
        } else if x > second {
            second = x;
        }
    }
    if second.is_finite() {
        best - second
    } else {
        best
    }
}

fn top(p: &[f64]) -> f64 {
    p.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Entropy in nats of `p` normalised to sum 1 (as scipy's `entropy`).
fn entropy(p: &[f64]) -> f64 {
    let sum: f64 = p.iter().sum();
    -p.iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| {
            let q = x / sum;
            q * q.ln()
        })
        .sum::<f64>()
}
