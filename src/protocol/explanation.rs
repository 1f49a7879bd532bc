//! What an explanation is: token and word attributions for one prediction,
//! as the engine sends them and every front end shows them.

use serde::{Deserialize, Serialize};

/// Default number of integration steps.
pub const DEFAULT_STEPS: usize = 32;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenScore {
    pub token: String,
    /// The word it is a piece of (None for special tokens).
    pub word: Option<String>,
    pub score: f32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WordScore {
    pub word: String,
    pub score: f32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Explanation {
    pub target: String,
    /// p(target | text) and p(target | baseline).
    pub prob: f32,
    pub baseline_prob: f32,
    /// Every token of the input, special tokens included (their score is 0:
    /// the baseline keeps them).
    pub tokens: Vec<TokenScore>,
    pub words: Vec<WordScore>,
    /// Σ scores − (prob − baseline_prob): the integral's error.
    pub delta: f32,
    pub steps: usize,
}

/// A score's direction and strength (0–3) relative to the largest |score|
/// of its sentence: 3 from 2/3 of it, 2 from 1/3, 1 from a tenth.
pub fn strength(score: f32, max_abs: f32) -> (bool, u8) {
    if max_abs <= 0.0 {
        return (score >= 0.0, 0);
    }
    let r = score.abs() / max_abs;
    let level = if r >= 2.0 / 3.0 {
        3
    } else if r >= 1.0 / 3.0 {
        2
    } else if r >= 0.1 {
        1
    } else {
        0
    };
    (score >= 0.0, level)
}

/// The words marked without colour: ▲ for the label, ▼ against, repeated
/// by strength ("great▲▲▲ but▼ slow▼▼").
pub fn marked_words(words: &[WordScore]) -> String {
    let max = words.iter().map(|w| w.score.abs()).fold(0.0, f32::max);
    words
        .iter()
        .map(|w| {
            let (up, level) = strength(w.score, max);
            let mark = if up { "▲" } else { "▼" };
            format!("{}{}", w.word, mark.repeat(level as usize))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_marked_by_sign_and_strength() {
        let w = |word: &str, score| WordScore {
            word: word.into(),
            score,
        };
        let words = [
            w("great", 0.6),
            w("but", -0.15),
            w("slow", -0.4),
            w("the", 0.01),
        ];
        assert_eq!(marked_words(&words), "great▲▲▲ but▼ slow▼▼ the");
        assert_eq!(strength(0.0, 0.0), (true, 0));
    }
}
