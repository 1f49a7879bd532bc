//! Entity-level scores of a token classifier, computed as seqeval computes
//! them: mentions read from the tag sequences (its default, conlleval-like
//! mode, or strict IOB2), a mention right only when its type and both
//! boundaries are; per-type, micro, macro and weighted precision, recall
//! and F1 (0 where a ratio is undefined); plus token accuracy.

use super::metrics::Scores;
use crate::data::tags::Span;
use crate::entities::{mentions, span_errors};
use crate::protocol::{ClassMetrics, TaskScores};
use std::collections::{BTreeMap, HashSet};

/// Counts of one entity type.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counts {
    tp: usize,
    predicted: usize,
    gold: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// seqeval's scores of predicted tag sequences against gold ones (same
/// lengths, sentence by sentence), and token accuracy over the tags.
pub fn entity_scores(gold: &[Vec<String>], predicted: &[Vec<String>], strict: bool) -> Scores {
    let mut by_type: BTreeMap<String, Counts> = BTreeMap::new();
    let (mut right, mut tokens) = (0usize, 0usize);
    for (g, p) in gold.iter().zip(predicted) {
        right += g.iter().zip(p).filter(|(a, b)| a == b).count();
        tokens += g.len();
        let gs: HashSet<Span> = mentions(g, strict).into_iter().collect();
        let ps: HashSet<Span> = mentions(p, strict).into_iter().collect();
        for s in &gs {
            by_type.entry(s.label.clone()).or_default().gold += 1;
        }
        for s in &ps {
            let c = by_type.entry(s.label.clone()).or_default();
            c.predicted += 1;
            if gs.contains(s) {
                c.tp += 1;
            }
        }
    }
    let per_class: Vec<ClassMetrics> = by_type
        .iter()
        .map(|(label, c)| {
            let (precision, recall) = (ratio(c.tp, c.predicted), ratio(c.tp, c.gold));
            ClassMetrics {
                label: label.clone(),
                precision,
                recall,
                f1: f1(precision, recall),
                support: c.gold,
            }
        })
        .collect();
    let total = by_type.values().fold(Counts::default(), |a, c| Counts {
        tp: a.tp + c.tp,
        predicted: a.predicted + c.predicted,
        gold: a.gold + c.gold,
    });
    let (precision, recall) = (
        ratio(total.tp, total.predicted),
        ratio(total.tp, total.gold),
    );
    let n = per_class.len().max(1) as f64;
    let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / n;
    let weighted_f1 = if total.gold == 0 {
        0.0
    } else {
        per_class
            .iter()
            .map(|c| c.f1 * c.support as f64)
            .sum::<f64>()
            / total.gold as f64
    };
    let token_accuracy = ratio(right, tokens);
    let errors = span_errors(gold, predicted, strict);
    Scores {
        accuracy: token_accuracy,
        macro_f1,
        per_class,
        confusion: Vec::new(),
        task: Some(TaskScores::Tokens {
            precision,
            recall,
            micro_f1: f1(precision, recall),
            macro_f1,
            weighted_f1,
            token_accuracy,
            strict,
            errors,
        }),
    }
}

/// The scores of flattened piece `logits` against piece targets.
pub fn token_scores(
    labels: &[String],
    truth: &[Vec<i32>],
    logits: &[Vec<f32>],
    strict: bool,
) -> Scores {
    let (gold, predicted) = crate::entities::tag_sequences(labels, truth, logits);
    entity_scores(&gold, &predicted, strict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::{describe_errors, sentence_errors};

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn span_errors_are_sorted_by_kind() {
        let gold = vec![v("B-PER I-PER O B-ORG O B-LOC O")];
        let pred = vec![v("B-PER O O B-LOC O O B-MISC")];
        let e = span_errors(&gold, &pred, false);
        assert_eq!(e.types, vec!["LOC", "MISC", "ORG", "PER"]);
        assert_eq!(e.boundary, vec![0, 0, 0, 1], "PER cut short");
        assert_eq!(e.wrong_type[2][0], 1, "ORG predicted as LOC");
        assert_eq!(e.missed, vec![1, 0, 0, 0], "the LOC");
        assert_eq!(e.spurious, vec![0, 1, 0, 0], "the MISC");
        let words = ["Peter", "Blackburn", "of", "EU", "in", "Paris", "today"];
        let said = describe_errors(&sentence_errors(&gold[0], &pred[0], false), &words);
        assert_eq!(
            said,
            "PER boundary \"Peter Blackburn\" → \"Peter\"; ORG as LOC \"EU\"; missed LOC \"Paris\"; spurious MISC \"today\""
        );
    }

    #[test]
    fn seqevals_docstring_example() {
        // seqeval's precision_recall_fscore_support docstring: 0.5 each.
        let gold = vec![v("O O O B-MISC I-MISC I-MISC O"), v("B-PER I-PER O")];
        let pred = vec![v("O O B-MISC I-MISC I-MISC I-MISC O"), v("B-PER I-PER O")];
        let s = entity_scores(&gold, &pred, false);
        let Some(TaskScores::Tokens {
            precision,
            recall,
            micro_f1,
            ..
        }) = s.task
        else {
            panic!("token scores")
        };
        assert_eq!((precision, recall, micro_f1), (0.5, 0.5, 0.5));
        assert_eq!(s.macro_f1, 0.5);
        assert_eq!(s.per_class[0].label, "MISC");
        assert_eq!(s.per_class[0].f1, 0.0);
    }
}
