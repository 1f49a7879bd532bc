//! Learning a WordPiece vocabulary from a corpus, deterministically.
//!
//! tokenizers' own trainer numbers its alphabet in hash-map order and breaks
//! ties between equally frequent merges by those ids, so the same corpus
//! gives a different vocabulary in every process, which breaks seeded runs.
//! This learner does the same BPE-style merging (pieces after the first
//! carry `##`), with ties broken by the pieces' text. It applies a batch
//! of non-overlapping best merges per round, so large corpora take
//! dozens of rounds rather than thousands of passes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{Normalizer, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

/// The words of `text` as BERT's uncased normalizer and pre-tokenizer cut it.
pub fn words(normalizer: &BertNormalizer, text: &str) -> tokenizers::Result<Vec<String>> {
    let mut pts = PreTokenizedString::from(text);
    pts.normalize(|n| normalizer.normalize(n))?;
    BertPreTokenizer.pre_tokenize(&mut pts)?;
    Ok(pts
        .get_splits(OffsetReferential::Normalized, OffsetType::Byte)
        .into_iter()
        .map(|(s, _, _)| s.to_string())
        .collect())
}

fn join(a: &str, b: &str) -> String {
    format!("{a}{}", b.strip_prefix("##").unwrap_or(b))
}

/// Vocabulary (without special tokens), sorted, of at most `size` pieces:
/// every character seen (plain and `##`-continued), then merges of pairs
/// seen at least `min_frequency` times, most frequent first.
pub fn learn(word_counts: &BTreeMap<String, u64>, size: usize, min_frequency: u64) -> Vec<String> {
    let mut words: Vec<(Vec<String>, u64)> = word_counts
        .iter()
        .map(|(w, &n)| {
            let pieces = w
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        c.to_string()
                    } else {
                        format!("##{c}")
                    }
                })
                .collect();
            (pieces, n)
        })
        .collect();
    let mut vocab: BTreeSet<String> = words.iter().flat_map(|(p, _)| p.iter().cloned()).collect();
    while vocab.len() < size {
        let mut pairs: HashMap<(&str, &str), u64> = HashMap::new();
        for (pieces, n) in &words {
            for w in pieces.windows(2) {
                *pairs.entry((&w[0], &w[1])).or_default() += n;
            }
        }
        let mut ranked: Vec<((&str, &str), u64)> = pairs
            .into_iter()
            .filter(|(_, n)| *n >= min_frequency)
            .collect();
        if ranked.is_empty() {
            break;
        }
        ranked.sort_by(|(pa, na), (pb, nb)| nb.cmp(na).then_with(|| pa.cmp(pb)));
        let budget = ((size - vocab.len()) / 4).clamp(1, 256);
        let mut chosen: HashMap<(String, String), String> = HashMap::new();
        let mut touched: HashSet<&str> = HashSet::new();
        for ((a, b), _) in &ranked {
            if chosen.len() >= budget {
                break;
            }
            // Pairs sharing a piece with a merge chosen this round wait for
            // the next round, where their counts are fresh.
            if touched.contains(a) || touched.contains(b) {
                continue;
            }
            touched.insert(a);
            touched.insert(b);
            chosen.insert((a.to_string(), b.to_string()), join(a, b));
        }
        for (pieces, _) in &mut words {
            let mut out = Vec::with_capacity(pieces.len());
            let mut i = 0;
            while i < pieces.len() {
                if i + 1 < pieces.len() {
                    if let Some(m) = chosen.get(&(pieces[i].clone(), pieces[i + 1].clone())) {
                        out.push(m.clone());
                        i += 2;
                        continue;
                    }
                }
                out.push(std::mem::take(&mut pieces[i]));
                i += 1;
            }
            *pieces = out;
        }
        vocab.extend(chosen.into_values());
    }
    vocab.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_frequent_words_and_keeps_every_character() {
        let counts: BTreeMap<String, u64> =
            [("lower", 5), ("low", 7), ("newest", 6), ("widest", 3)]
                .into_iter()
                .map(|(w, n)| (w.to_string(), n))
                .collect();
        let v = learn(&counts, 60, 2);
        assert!(v.contains(&"low".to_string()), "{v:?}");
        assert!(
            v.contains(&"##est".to_string()) || v.contains(&"##st".to_string()),
            "{v:?}"
        );
        for c in ["l", "##o", "w", "##d"] {
            assert!(v.contains(&c.to_string()), "{c} in {v:?}");
        }
        assert_eq!(v, learn(&counts, 60, 2), "deterministic");
    }

    #[test]
    fn words_follow_bert_normalisation() {
        let n = BertNormalizer::new(true, true, None, true);
        assert_eq!(
            words(&n, "Héllo, WORLD!").unwrap(),
            vec!["hello", ",", "world", "!"]
        );
    }
}
