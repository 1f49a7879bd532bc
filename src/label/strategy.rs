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
    /// Multi-label: the largest mean binary entropy over the labels first
    /// (each label's own yes/no uncertainty, averaged).
    BinaryEntropy,
    /// Breaking ties among the most uncertain rows (`DIVERSE_POOL` × the
    /// batch), then one row per k-means cluster of their sentence vectors:
    /// a batch of different uncertain texts, not ten near-copies.
    Diverse,
    /// Token classification: the largest mean over a sentence's words of
    /// the entropy of each word's tag distribution first.
    MeanTokenEntropy,
    /// Token classification: the sentence whose least certain word is the
    /// least certain first (the largest word entropy).
    MaxTokenEntropy,
}

/// `Diverse` clusters this many times the batch of the most uncertain rows.
pub const DIVERSE_POOL: usize = 10;

impl Strategy {
    pub const ALL: [Strategy; 8] = [
        Strategy::BreakingTies,
        Strategy::Entropy,
        Strategy::LeastConfidence,
        Strategy::Random,
        Strategy::Diverse,
        Strategy::BinaryEntropy,
        Strategy::MeanTokenEntropy,
        Strategy::MaxTokenEntropy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::BreakingTies => "breaking_ties",
            Strategy::Entropy => "entropy",
            Strategy::LeastConfidence => "least_confidence",
            Strategy::Random => "random",
            Strategy::Diverse => "diverse",
            Strategy::BinaryEntropy => "binary_entropy",
            Strategy::MeanTokenEntropy => "mean_token_entropy",
            Strategy::MaxTokenEntropy => "max_token_entropy",
        }
    }

    /// Each row's score as small-text keeps it in `scores_` (margin, top
    /// probability, entropy in nats); None for random. A row is the
    /// model's label probabilities, or for the token strategies each
    /// word's tag entropy (`word_entropies`).
    pub fn scores(self, probs: &[Vec<f64>]) -> Option<Vec<f64>> {
        let score = match self {
            Strategy::BreakingTies | Strategy::Diverse => margin,
            Strategy::Entropy => entropy,
            Strategy::LeastConfidence => top,
            Strategy::BinaryEntropy => mean_binary_entropy,
            Strategy::MeanTokenEntropy => mean,
            Strategy::MaxTokenEntropy => |h: &[f64]| h.iter().copied().fold(0.0, f64::max),
            Strategy::Random => return None,
        };
        Some(probs.iter().map(|p| score(p)).collect())
    }

    /// Whether the strategy ranks a model of `task`: the one-label
    /// strategies read a softmax over the labels, `binary_entropy` reads a
    /// sigmoid per label; random ranks anything. Why not, otherwise.
    pub fn fits(self, task: crate::data::Task) -> Result<(), String> {
        use crate::data::Task;
        let fits = match (self, task) {
            (Strategy::Random, _) => true,
            (Strategy::BinaryEntropy, t) => t == Task::MultiLabel,
            (Strategy::MeanTokenEntropy | Strategy::MaxTokenEntropy, t) => {
                t == Task::TokenClassification
            }
            (_, t) => t == Task::SingleLabel,
        };
        if fits {
            return Ok(());
        }
        Err(match task {
            Task::MultiLabel => format!(
                "{self} ranks one label a text; a multi-label corpus takes binary_entropy or random"
            ),
            Task::SingleLabel => format!(
                "{self} does not rank one label a text; a single-label corpus takes breaking_ties, entropy, least_confidence, diverse or random"
            ),
            Task::TokenClassification => format!(
                "{self} ranks labels of whole texts; a token corpus takes mean_token_entropy, max_token_entropy or random"
            ),
            t => format!("no query strategy ranks a {} model yet", t.name()),
        })
    }

    /// Whether `pick` needs the rows' sentence vectors.
    pub fn needs_vectors(self) -> bool {
        self == Strategy::Diverse
    }

    /// The `n` rows to label next (indexes into `probs`): `query`, and for
    /// `Diverse` one row per k-means cluster of the most uncertain rows'
    /// vectors, which `vectors` gives for the indexes it is passed.
    pub fn pick<E>(
        self,
        probs: &[Vec<f64>],
        n: usize,
        rng: &mut Rng,
        vectors: impl FnOnce(&[usize]) -> Result<Vec<Vec<f32>>, E>,
    ) -> Result<Vec<usize>, E> {
        if !self.needs_vectors() {
            return Ok(self.query(probs, n, rng));
        }
        let candidates = self.query(probs, n.saturating_mul(DIVERSE_POOL), rng);
        let embedded = vectors(&candidates)?;
        Ok(super::kmeans::pick_diverse(&embedded, n, rng)
            .into_iter()
            .map(|i| candidates[i])
            .collect())
    }

    /// The `n` rows to label next (indexes into `probs`), most uncertain
    /// first; equal scores go by row order. Random draws from `rng`.
    /// `Diverse` ranks as breaking ties here (its clustering is `pick`'s).
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
            Strategy::Entropy
            | Strategy::BinaryEntropy
            | Strategy::MeanTokenEntropy
            | Strategy::MaxTokenEntropy => -scores[i],
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

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The entropy (nats) of each word's tag distribution: `probs` holds one
/// softmax of `labels` values per word, one after another.
pub fn word_entropies(probs: &[f32], labels: usize) -> Vec<f64> {
    probs
        .chunks(labels.max(1))
        .map(|p| {
            let p: Vec<f64> = p.iter().copied().map(f64::from).collect();
            entropy(&p)
        })
        .collect()
}

/// The mean over labels of each label's binary entropy (nats): how unsure
/// a multi-label model is, label by label.
fn mean_binary_entropy(p: &[f64]) -> f64 {
    let h = |x: f64| {
        let x = x.clamp(0.0, 1.0);
        let term = |q: f64| if q > 0.0 { -q * q.ln() } else { 0.0 };
        term(x) + term(1.0 - x)
    };
    if p.is_empty() {
        return 0.0;
    }
    p.iter().map(|&x| h(x)).sum::<f64>() / p.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_entropy_ranks_the_least_decided_label_sets_first() {
        let probs = vec![
            vec![0.99, 0.01, 0.02],
            vec![0.5, 0.5, 0.5],
            vec![0.9, 0.5, 0.1],
        ];
        let s = Strategy::BinaryEntropy.scores(&probs).unwrap();
        let ln2 = std::f64::consts::LN_2;
        assert!((s[1] - ln2).abs() < 1e-12, "{s:?}");
        let h = |x: f64| -x * x.ln() - (1.0 - x) * (1.0 - x).ln();
        assert!((s[2] - (h(0.9) + ln2 + h(0.1)) / 3.0).abs() < 1e-12);
        let picked = Strategy::BinaryEntropy.query(&probs, 2, &mut Rng::seeded(0));
        assert_eq!(picked, vec![1, 2]);
        assert!(Strategy::BinaryEntropy
            .fits(crate::data::Task::MultiLabel)
            .is_ok());
        assert!(Strategy::BreakingTies
            .fits(crate::data::Task::MultiLabel)
            .is_err());
        assert!(Strategy::BinaryEntropy
            .fits(crate::data::Task::SingleLabel)
            .is_err());
        assert!(Strategy::Random.fits(crate::data::Task::MultiLabel).is_ok());
    }

    #[test]
    fn token_strategies_rank_sentences_by_their_words_tag_entropy() {
        // Three sentences of words over two tags: sure words, one unsure
        // word among sure ones, every word half unsure.
        let sure = [0.99f32, 0.01];
        let unsure = [0.5f32, 0.5];
        let mild = [0.8f32, 0.2];
        let rows: Vec<Vec<f64>> = [
            [sure, sure, sure].concat(),
            [sure, unsure, sure, sure].concat(),
            [mild, mild].concat(),
        ]
        .iter()
        .map(|p| word_entropies(p, 2))
        .collect();
        let h = |x: f64| -x * x.ln() - (1.0 - x) * (1.0 - x).ln();
        assert_eq!(rows[1].len(), 4);
        assert!((rows[1][1] - std::f64::consts::LN_2).abs() < 1e-12);
        assert!((rows[2][0] - h(0.8)).abs() < 1e-6, "{rows:?}");
        let mean = Strategy::MeanTokenEntropy.scores(&rows).unwrap();
        assert!((mean[2] - h(0.8)).abs() < 1e-6);
        // The mean prefers the evenly mild sentence; the max the one
        // coin-flip word.
        let mut rng = Rng::seeded(0);
        assert_eq!(
            Strategy::MeanTokenEntropy.query(&rows, 3, &mut rng),
            vec![2, 1, 0]
        );
        assert_eq!(
            Strategy::MaxTokenEntropy.query(&rows, 3, &mut rng),
            vec![1, 2, 0]
        );
        let token = crate::data::Task::TokenClassification;
        assert!(Strategy::MaxTokenEntropy.fits(token).is_ok());
        assert!(Strategy::Random.fits(token).is_ok());
        let e = Strategy::BreakingTies.fits(token).unwrap_err();
        assert!(e.contains("mean_token_entropy"), "{e}");
        assert!(Strategy::MeanTokenEntropy
            .fits(crate::data::Task::SingleLabel)
            .is_err());
    }
}
