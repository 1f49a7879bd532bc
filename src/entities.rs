//! A token classifier's answer for raw text, as transformers'
//! token-classification pipeline gives it: softmax over each piece's tags,
//! pieces joined into words (`first`, `average`, `max`) or kept (`simple`),
//! adjacent pieces or words of one type grouped into entities, `O`
//! dropped. `predict::predict_entities` runs the model; `serve` and the
//! playground group its logits here too.

use crate::data::tags::Span;
use crate::data::Labels;
use crate::model::probs::{argmax, softmax};
use crate::protocol::EntityGroup;
use crate::text::words::OffsetEncoding;
use serde::{Deserialize, Serialize};

/// How pieces become entities (transformers' `aggregation_strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    /// Each piece keeps its own tag; adjacent pieces of one type group.
    #[default]
    Simple,
    /// A word takes its first piece's tag.
    First,
    /// A word takes the tag of its pieces' mean scores.
    Average,
    /// A word takes the tag of its highest-scoring piece.
    Max,
}

impl Aggregation {
    pub const ALL: [Aggregation; 4] = [
        Aggregation::Simple,
        Aggregation::First,
        Aggregation::Average,
        Aggregation::Max,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Simple => "simple",
            Aggregation::First => "first",
            Aggregation::Average => "average",
            Aggregation::Max => "max",
        }
    }
}

impl std::str::FromStr for Aggregation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Aggregation::ALL
            .into_iter()
            .find(|a| a.name() == s.trim())
            .ok_or_else(|| format!("unknown aggregation '{s}' (simple, first, average or max)"))
    }
}

/// One piece of the input with what the pipeline needs of it.
#[derive(Clone, Debug)]
pub struct Piece {
    pub token: String,
    /// Character offsets into the text.
    pub start: usize,
    pub end: usize,
    pub is_subword: bool,
    pub scores: Vec<f32>,
}

/// A tagged word or piece before grouping.
struct Tagged {
    tag: String,
    score: f32,
    tokens: Vec<String>,
    start: usize,
    end: usize,
}

/// The pipeline's pieces of `text`: special tokens dropped; a piece is a
/// subword when the tokenizer marks continuations (`##`) and its text is
/// not the token's, otherwise when no space precedes it (the pipeline's
/// fallback for BPE and SentencePiece); an unknown piece is its own word.
pub fn pieces(enc: &OffsetEncoding, sentence: &str, logits: &[f32], labels: usize) -> Vec<Piece> {
    let chars: Vec<char> = sentence.chars().collect();
    let mut out = Vec::new();
    for (i, &(start, end)) in enc.offsets.iter().enumerate() {
        if enc.special[i] {
            continue;
        }
        let Some(row) = logits.get(i * labels..(i + 1) * labels) else {
            break;
        };
        let word_ref: String = chars[start.min(chars.len())..end.min(chars.len())]
            .iter()
            .collect();
        let mut token = enc.tokens[i].clone();
        let mut is_subword = if enc.marks_continuations {
            token.chars().count() != word_ref.chars().count()
        } else {
            start > 0 && !chars[start - 1..(start + 1).min(chars.len())].contains(&' ')
        };
        if Some(enc.ids[i]) == enc.unk_id {
            token = word_ref;
            is_subword = false;
        }
        out.push(Piece {
            token,
            start,
            end,
            is_subword,
            scores: softmax(row),
        });
    }
    out
}

/// Entities from pieces, as the pipeline's `aggregate` and
/// `group_entities` make them, `O` left out.
pub fn group(
    pieces: &[Piece],
    labels: &Labels,
    strategy: Aggregation,
    decode: &dyn Fn(&[String]) -> String,
) -> Vec<EntityGroup> {
    let tagged: Vec<Tagged> = match strategy {
        Aggregation::Simple => pieces
            .iter()
            .map(|p| {
                let best = argmax(&p.scores);
                Tagged {
                    tag: labels.name(best).to_string(),
                    score: p.scores[best],
                    tokens: vec![p.token.clone()],
                    start: p.start,
                    end: p.end,
                }
            })
            .collect(),
        _ => {
            let mut words: Vec<&[Piece]> = Vec::new();
            let mut from = 0;
            for i in 1..=pieces.len() {
                if i == pieces.len() || !pieces[i].is_subword {
                    if i > from {
                        words.push(&pieces[from..i]);
                    }
                    from = i;
                }
            }
            words
                .into_iter()
                .map(|w| word_tag(w, labels, strategy, decode))
                .collect()
        }
    };
    let mut groups: Vec<EntityGroup> = Vec::new();
    let mut run: Vec<&Tagged> = Vec::new();
    let flush = |run: &mut Vec<&Tagged>, groups: &mut Vec<EntityGroup>| {
        if run.is_empty() {
            return;
        }
        let first = &run[0].tag;
        let group = first.split_once('-').map_or(first.as_str(), |(_, t)| t);
        let score = run.iter().map(|t| t.score as f64).sum::<f64>() / run.len() as f64;
        let tokens: Vec<String> = run.iter().flat_map(|t| t.tokens.clone()).collect();
        groups.push(EntityGroup {
            entity_group: group.to_string(),
            score: score as f32,
            word: decode(&tokens),
            start: run[0].start,
            end: run[run.len() - 1].end,
        });
        run.clear();
    };
    for t in &tagged {
        if let Some(last) = run.last() {
            let (bi, tag) = bi_tag(&t.tag);
            let (_, last_tag) = bi_tag(&last.tag);
            if !(tag == last_tag && bi != 'B') {
                flush(&mut run, &mut groups);
            }
        }
        run.push(t);
    }
    flush(&mut run, &mut groups);
    groups.retain(|g| g.entity_group != "O");
    groups
}

/// The pipeline's `get_tag`: B-/I- and the type; any other name is a
/// continuation of itself.
fn bi_tag(name: &str) -> (char, &str) {
    if let Some(t) = name.strip_prefix("B-") {
        ('B', t)
    } else if let Some(t) = name.strip_prefix("I-") {
        ('I', t)
    } else {
        ('I', name)
    }
}

fn word_tag(
    word: &[Piece],
    labels: &Labels,
    strategy: Aggregation,
    decode: &dyn Fn(&[String]) -> String,
) -> Tagged {
    let (idx, score) = match strategy {
        Aggregation::Max => {
            let best = word
                .iter()
                .fold(None::<&Piece>, |b, p| match b {
                    Some(b) if max_of(&b.scores) >= max_of(&p.scores) => Some(b),
                    _ => Some(p),
                })
                .expect("a word has a piece");
            let i = argmax(&best.scores);
            (i, best.scores[i])
        }
        Aggregation::Average => {
            let n = labels.len();
            let mean: Vec<f32> = (0..n)
                .map(|j| {
                    (word.iter().map(|p| p.scores[j] as f64).sum::<f64>() / word.len() as f64)
                        as f32
                })
                .collect();
            let i = argmax(&mean);
            (i, mean[i])
        }
        _ => {
            let i = argmax(&word[0].scores);
            (i, word[0].scores[i])
        }
    };
    let tokens: Vec<String> = word.iter().map(|p| p.token.clone()).collect();
    Tagged {
        tag: labels.name(idx).to_string(),
        score,
        tokens: vec![decode(&tokens)],
        start: word[0].start,
        end: word[word.len() - 1].end,
    }
}

fn max_of(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// `text` with each entity bracketed and typed, `[EU|ORG] rejects …`
/// (character offsets, as the pipeline gives them).
pub fn marked(text: &str, entities: &[EntityGroup]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    for e in entities {
        if e.start < at || e.end > chars.len() {
            continue;
        }
        out.extend(&chars[at..e.start]);
        out.push('[');
        out.extend(&chars[e.start..e.end]);
        out.push_str(&format!("|{}]", e.entity_group));
        at = e.end;
    }
    out.extend(&chars[at.min(chars.len())..]);
    out
}

/// The gold and predicted tags of each row's labelled pieces (those whose
/// target is not `IGNORE`), as run_ner's `compute_metrics` takes them:
/// `logits` holds a row's pieces one after another, `labels.len()` each.
pub fn tag_sequences(
    labels: &[String],
    truth: &[Vec<i32>],
    logits: &[Vec<f32>],
) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let n = labels.len().max(1);
    let mut gold = Vec::with_capacity(truth.len());
    let mut predicted = Vec::with_capacity(truth.len());
    for (t, l) in truth.iter().zip(logits) {
        let (mut g, mut p) = (Vec::new(), Vec::new());
        for (i, &y) in t.iter().enumerate() {
            if y == crate::data::task::IGNORE {
                continue;
            }
            let Some(piece) = l.get(i * n..(i + 1) * n) else {
                break;
            };
            g.push(labels[y as usize].clone());
            p.push(labels[argmax(piece)].clone());
        }
        gold.push(g);
        predicted.push(p);
    }
    (gold, predicted)
}

/// The mentions of one sentence in the chosen mode.
pub fn mentions(tags: &[impl AsRef<str>], strict: bool) -> Vec<Span> {
    if strict {
        crate::data::tags::entities_strict(tags)
    } else {
        crate::data::tags::entities(tags)
    }
}

/// One wrong mention, as `sentence_errors` names it.
#[derive(Clone, Debug, PartialEq)]
pub enum SpanError {
    /// The same words under another type: (gold, predicted).
    WrongType(Span, String),
    /// The right type over other words: (gold, predicted).
    Boundary(Span, Span),
    Missed(Span),
    Spurious(Span),
}

fn overlaps(a: &Span, b: &Span) -> bool {
    a.start < b.end && b.start < a.end
}

/// The wrong mentions of one sentence: each gold mention not predicted
/// exactly, then each prediction that touches no gold mention.
pub fn sentence_errors(
    gold: &[impl AsRef<str>],
    predicted: &[impl AsRef<str>],
    strict: bool,
) -> Vec<SpanError> {
    let gs = mentions(gold, strict);
    let ps = mentions(predicted, strict);
    let mut out = Vec::new();
    for g in &gs {
        if ps.contains(g) {
            continue;
        }
        let same_words = ps.iter().find(|p| p.start == g.start && p.end == g.end);
        let same_type = ps.iter().find(|p| p.label == g.label && overlaps(p, g));
        out.push(match (same_words, same_type) {
            (Some(p), _) => SpanError::WrongType(g.clone(), p.label.clone()),
            (None, Some(p)) => SpanError::Boundary(g.clone(), p.clone()),
            (None, None) if ps.iter().any(|p| overlaps(p, g)) => {
                // Another type over other words: count it as a boundary
                // error of the gold type (the words are what is off).
                let p = ps
                    .iter()
                    .find(|p| overlaps(p, g))
                    .cloned()
                    .unwrap_or_else(|| g.clone());
                SpanError::Boundary(g.clone(), p)
            }
            (None, None) => SpanError::Missed(g.clone()),
        });
    }
    for p in &ps {
        if !gs.iter().any(|g| overlaps(g, p)) {
            out.push(SpanError::Spurious(p.clone()));
        }
    }
    out
}

/// Every sentence's wrong mentions, counted by kind and type.
pub fn span_errors(
    gold: &[Vec<String>],
    predicted: &[Vec<String>],
    strict: bool,
) -> crate::protocol::SpanErrors {
    let mut types: Vec<String> = gold
        .iter()
        .chain(predicted)
        .flat_map(|t| mentions(t, strict).into_iter().map(|s| s.label))
        .collect();
    types.sort();
    types.dedup();
    let n = types.len();
    let at = |l: &str| types.iter().position(|t| t == l).unwrap_or(0);
    let mut e = crate::protocol::SpanErrors {
        wrong_type: vec![vec![0; n]; n],
        boundary: vec![0; n],
        missed: vec![0; n],
        spurious: vec![0; n],
        types: Vec::new(),
    };
    for (g, p) in gold.iter().zip(predicted) {
        for err in sentence_errors(g, p, strict) {
            match err {
                SpanError::WrongType(g, p) => e.wrong_type[at(&g.label)][at(&p)] += 1,
                SpanError::Boundary(g, _) => e.boundary[at(&g.label)] += 1,
                SpanError::Missed(g) => e.missed[at(&g.label)] += 1,
                SpanError::Spurious(p) => e.spurious[at(&p.label)] += 1,
            }
        }
    }
    e.types = types;
    e
}

/// A sentence's wrong mentions in words: `missed PER "Peter Blackburn";
/// ORG as LOC "EU"`.
pub fn describe_errors(errors: &[SpanError], words: &[&str]) -> String {
    let text = |s: &Span| {
        words
            .get(s.start..s.end.min(words.len()))
            .unwrap_or(&[])
            .join(" ")
    };
    errors
        .iter()
        .map(|e| match e {
            SpanError::WrongType(g, p) => format!("{} as {p} \"{}\"", g.label, text(g)),
            SpanError::Boundary(g, p) => {
                format!("{} boundary \"{}\" → \"{}\"", g.label, text(g), text(p))
            }
            SpanError::Missed(g) => format!("missed {} \"{}\"", g.label, text(g)),
            SpanError::Spurious(p) => format!("spurious {} \"{}\"", p.label, text(p)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The types gold mentions of type `i` were given over the same words,
/// with counts (`ORG 2, LOC 1`), or `-`.
pub fn wrong_types(e: &crate::protocol::SpanErrors, i: usize) -> String {
    let swaps: Vec<String> = e.wrong_type[i]
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(j, n)| format!("{} {n}", e.types[j]))
        .collect();
    if swaps.is_empty() {
        "-".into()
    } else {
        swaps.join(", ")
    }
}
