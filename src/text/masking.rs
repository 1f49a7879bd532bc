//! Masked-LM inputs: which pieces a draw hides and what replaces them, as
//! transformers' collators do. `DataCollatorForLanguageModeling` picks each
//! real piece with probability `probability`; `DataCollatorForWholeWordMask`
//! picks whole words in a random order until `round(pieces × probability)`
//! pieces are covered (never part of a word). Either way a picked piece
//! becomes the mask token 80% of the time, a random token 10%, and stays
//! itself 10%; the model is scored on the picked pieces only.

use crate::rng::Rng;

/// How a draw masks.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskingSpec {
    /// The share of pieces picked (transformers' `mlm_probability`).
    pub probability: f64,
    /// Pick whole words (every piece of a word or none).
    pub whole_word: bool,
    /// The tokenizer's mask token (`[MASK]`, `<mask>`).
    pub mask_id: u32,
    /// Random replacements are drawn from `0..vocab_size`, as
    /// transformers' `randint(len(tokenizer))`.
    pub vocab_size: usize,
    /// Ids never picked: the tokenizer's special tokens and padding.
    pub special: Vec<u32>,
}

/// Of the picked pieces: this share becomes the mask token…
pub const MASK_SHARE: f64 = 0.8;
/// …and half of the rest a random token (the other half stays itself).
pub const RANDOM_OF_REST: f64 = 0.5;

/// One sequence after a draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Masked {
    /// The input with the picked pieces replaced.
    pub ids: Vec<u32>,
    /// The picked positions, in order…
    pub positions: Vec<usize>,
    /// …and the pieces that were there (what the model must predict).
    pub targets: Vec<u32>,
}

/// What happened to a picked piece (for tests and the dataset pane).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    Mask,
    Random,
    Kept,
}

impl MaskingSpec {
    /// Draw a masking of `ids`; `word_ids` (the word of each piece, None
    /// for special tokens) is needed for whole-word masking. Returns the
    /// masked sequence and what each picked piece became.
    pub fn draw(
        &self,
        ids: &[u32],
        word_ids: Option<&[Option<u32>]>,
        rng: &mut Rng,
    ) -> (Masked, Vec<Replacement>) {
        // Special tokens: listed, or (given words) pieces of no word.
        let candidate =
            |i: usize| !self.special.contains(&ids[i]) && word_ids.is_none_or(|w| w[i].is_some());
        let picked: Vec<usize> = match (self.whole_word, word_ids) {
            (true, Some(words)) => self.pick_words(ids, words, rng),
            _ => (0..ids.len())
                .filter(|&i| candidate(i))
                .filter(|_| f64::from(rng.uniform()) < self.probability)
                .collect(),
        };
        let mut masked = Masked {
            ids: ids.to_vec(),
            positions: Vec::with_capacity(picked.len()),
            targets: Vec::with_capacity(picked.len()),
        };
        let mut how = Vec::with_capacity(picked.len());
        for i in picked {
            masked.positions.push(i);
            masked.targets.push(ids[i]);
            let r = if f64::from(rng.uniform()) < MASK_SHARE {
                masked.ids[i] = self.mask_id;
                Replacement::Mask
            } else if f64::from(rng.uniform()) < RANDOM_OF_REST {
                masked.ids[i] = rng.below(self.vocab_size.max(1)) as u32;
                Replacement::Random
            } else {
                Replacement::Kept
            };
            how.push(r);
        }
        (masked, how)
    }

    /// Whole words in a random order, each taken when it still fits in
    /// `round(pieces × probability)` (at least 1) picked pieces, as
    /// `DataCollatorForWholeWordMask._whole_word_mask`; positions sorted.
    fn pick_words(&self, ids: &[u32], word_ids: &[Option<u32>], rng: &mut Rng) -> Vec<usize> {
        let mut words: Vec<Vec<usize>> = Vec::new();
        let mut last: Option<u32> = None;
        for (i, w) in word_ids.iter().enumerate() {
            match w {
                Some(w) if !self.special.contains(&ids[i]) => {
                    if last == Some(*w) {
                        if let Some(word) = words.last_mut() {
                            word.push(i);
                        }
                    } else {
                        words.push(vec![i]);
                    }
                    last = Some(*w);
                }
                _ => last = None,
            }
        }
        let pieces: usize = words.iter().map(Vec::len).sum();
        if pieces == 0 {
            return Vec::new();
        }
        let budget = ((pieces as f64 * self.probability).round() as usize).max(1);
        rng.shuffle(&mut words);
        let mut picked = Vec::new();
        for word in words {
            if picked.len() >= budget {
                break;
            }
            if picked.len() + word.len() > budget {
                continue;
            }
            picked.extend(word);
        }
        picked.sort_unstable();
        picked
    }

    /// Whether `probability` is a share transformers accepts: in (0, 1).
    pub fn check(&self) -> Result<(), String> {
        if self.probability > 0.0 && self.probability < 1.0 {
            Ok(())
        } else {
            Err(format!(
                "{}: the share of pieces to mask is a probability in (0, 1), e.g. 0.15",
                self.probability
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: u32 = 4;
    const CLS: u32 = 2;
    const SEP: u32 = 3;
    const PAD: u32 = 0;

    fn spec(whole_word: bool) -> MaskingSpec {
        MaskingSpec {
            probability: 0.15,
            whole_word,
            mask_id: MASK,
            vocab_size: 1000,
            special: vec![PAD, 1, CLS, SEP, MASK],
        }
    }

    /// Sentences of `n` pieces in words of 1–3 pieces, framed by CLS/SEP
    /// and padded: (ids, word ids).
    fn sentence(rng: &mut Rng, n: usize) -> (Vec<u32>, Vec<Option<u32>>) {
        let mut ids = vec![CLS];
        let mut words = vec![None];
        let mut word = 0;
        while ids.len() < n + 1 {
            for _ in 0..1 + rng.below(3) {
                ids.push(10 + rng.below(990) as u32);
                words.push(Some(word));
            }
            word += 1;
        }
        ids.push(SEP);
        words.push(None);
        ids.extend([PAD; 5]);
        words.extend([None; 5]);
        (ids, words)
    }

    /// Over 100,000 pieces: 15% ± 0.3 picked, 80/10/10 ± 1, special tokens
    /// and padding never; with whole words, no word partly picked.
    #[test]
    fn masking_rates_match_transformers_collators() {
        for whole_word in [false, true] {
            let s = spec(whole_word);
            let mut rng = Rng::seeded(11);
            let (mut real, mut picked) = (0usize, 0usize);
            let mut counts = [0usize; 3];
            while real < 100_000 {
                let n = 60 + rng.below(40);
                let (ids, words) = sentence(&mut rng, n);
                real += words.iter().flatten().count();
                let (m, how) = s.draw(&ids, Some(&words), &mut rng);
                picked += m.positions.len();
                for (&p, h) in m.positions.iter().zip(&how) {
                    assert!(!s.special.contains(&ids[p]), "picked a special token");
                    assert_eq!(
                        m.targets[m.positions.iter().position(|&q| q == p).unwrap()],
                        ids[p]
                    );
                    match h {
                        Replacement::Mask => assert_eq!(m.ids[p], MASK),
                        Replacement::Kept => assert_eq!(m.ids[p], ids[p]),
                        Replacement::Random => {}
                    }
                    counts[*h as usize] += 1;
                }
                // Unpicked pieces are untouched.
                for i in (0..ids.len()).filter(|i| !m.positions.contains(i)) {
                    assert_eq!(m.ids[i], ids[i]);
                }
                if whole_word {
                    for w in words.iter().flatten() {
                        let of_word: Vec<usize> =
                            (0..ids.len()).filter(|&i| words[i] == Some(*w)).collect();
                        let hit = of_word.iter().filter(|i| m.positions.contains(i)).count();
                        assert!(hit == 0 || hit == of_word.len(), "word {w} partly masked");
                    }
                }
            }
            let rate = picked as f64 / real as f64;
            assert!((rate - 0.15).abs() < 0.003, "{whole_word}: {rate}");
            let share = |c: usize| c as f64 / picked as f64;
            assert!((share(counts[0]) - 0.8).abs() < 0.01, "{counts:?}");
            assert!((share(counts[1]) - 0.1).abs() < 0.01, "{counts:?}");
            assert!((share(counts[2]) - 0.1).abs() < 0.01, "{counts:?}");
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_masking() {
        let (ids, words) = sentence(&mut Rng::seeded(1), 50);
        for whole_word in [false, true] {
            let a = spec(whole_word).draw(&ids, Some(&words), &mut Rng::seeded(5));
            let b = spec(whole_word).draw(&ids, Some(&words), &mut Rng::seeded(5));
            assert_eq!(a, b);
        }
    }

    #[test]
    fn a_probability_outside_zero_one_is_refused() {
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            let s = MaskingSpec {
                probability: p,
                ..spec(false)
            };
            assert!(s.check().unwrap_err().contains("(0, 1)"), "{p}");
        }
        assert!(spec(true).check().is_ok());
    }
}
