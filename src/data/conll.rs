//! Token-classification corpora: CoNLL column files (a word a line, a
//! blank line between sentences) and span JSONL as annotation tools
//! export it. Each sentence becomes one `Row`: its text, its words as
//! byte ranges of the text, and one IOB2 tag a word in `label`.

use super::rows::RowBuilder;
use super::tags::{self, Scheme};
use super::DataError;

/// What reading a tagged corpus decided and changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Tagging {
    /// The scheme of the file's tags (declared, or found).
    pub scheme: Scheme,
    pub detected: bool,
    /// `I-X` tags that opened a mention in IOB2 and were made `B-X`
    /// (`lenient_tags`).
    pub repaired: usize,
}

impl Tagging {
    /// One line for a run's notes.
    pub fn describe(&self) -> String {
        let how = if self.detected { "found" } else { "declared" };
        let mut s = format!(
            "tags: {} ({how}), learned as IOB2",
            self.scheme.name().to_uppercase()
        );
        if self.repaired > 0 {
            s.push_str(&format!(
                "; {} I- tags that opened a mention were made B- (lenient_tags)",
                self.repaired
            ));
        }
        s
    }
}

/// Whether `bytes` read as a CoNLL column file: its first non-blank line
/// is `-DOCSTART-`, or its first lines hold at least two whitespace
/// separated columns whose last is a tag.
pub fn looks_like_conll(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return false;
    };
    if first.starts_with("-DOCSTART-") {
        return true;
    }
    std::iter::once(first).chain(lines).take(5).all(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() >= 2 && cols.last().is_some_and(|t| tags::well_formed(t))
    })
}

fn malformed(b: &RowBuilder, line: u64, format: &'static str, message: String) -> DataError {
    DataError::Malformed {
        path: b.path.clone(),
        line,
        format,
        message,
    }
}

/// One sentence as read: words, their tags as written, the line of each.
struct Sentence {
    words: Vec<String>,
    tags: Vec<String>,
    lines: Vec<u64>,
}

/// Read a CoNLL file: the tag from column `opts.tag_col` (0-based; the
/// last by default), `-DOCSTART-` lines skipped.
pub(super) fn read_conll(bytes: &[u8], b: &mut RowBuilder) -> Result<Tagging, DataError> {
    let mut sentences: Vec<Sentence> = Vec::new();
    let mut cur = Sentence {
        words: vec![],
        tags: vec![],
        lines: vec![],
    };
    let mut columns: Option<usize> = None;
    for (i, raw) in bytes.split(|&c| c == b'\n').enumerate() {
        let line = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = b.decode(raw, line, "(line)")?;
        let l = text.trim();
        if l.is_empty() || l.starts_with("-DOCSTART-") {
            if !cur.words.is_empty() {
                sentences.push(std::mem::replace(
                    &mut cur,
                    Sentence {
                        words: vec![],
                        tags: vec![],
                        lines: vec![],
                    },
                ));
            }
            continue;
        }
        let cols: Vec<&str> = l.split_whitespace().collect();
        if cols.len() < 2 {
            return Err(malformed(
                b,
                line,
                "CoNLL",
                format!("'{l}' has one column; a CoNLL line is a word and its tag (word … tag)"),
            ));
        }
        match columns {
            None => columns = Some(cols.len()),
            Some(n) if n != cols.len() => {
                return Err(malformed(
                    b,
                    line,
                    "CoNLL",
                    format!("{} columns where the file's first line has {n}", cols.len()),
                ))
            }
            _ => {}
        }
        let tag_col = b.opts.tag_col.unwrap_or(cols.len() - 1);
        let tag = cols.get(tag_col).ok_or_else(|| {
            malformed(
                b,
                line,
                "CoNLL",
                format!(
                    "tag_col = {tag_col}, but the line has {} columns (0-based)",
                    cols.len()
                ),
            )
        })?;
        if !tags::well_formed(tag) {
            return Err(malformed(
                b,
                line,
                "CoNLL",
                format!("'{tag}' (column {tag_col}) is not a tag: O, or B-/I-/E-/S- and a type; choose the tag column with tag_col"),
            ));
        }
        cur.words.push(cols[0].to_string());
        cur.tags.push(tag.to_string());
        cur.lines.push(line);
    }
    if !cur.words.is_empty() {
        sentences.push(cur);
    }
    let tagging = convert(b, &mut sentences)?;
    for s in sentences {
        let mut text = String::new();
        let mut words = Vec::with_capacity(s.words.len());
        for w in &s.words {
            if !text.is_empty() {
                text.push(' ');
            }
            words.push((text.len(), text.len() + w.len()));
            text.push_str(w);
        }
        b.push_tagged(s.lines[0], text, words, s.tags)?;
    }
    Ok(tagging)
}

/// Rewrite every sentence's tags as IOB2 (the scheme declared, or found).
fn convert(b: &RowBuilder, sentences: &mut [Sentence]) -> Result<Tagging, DataError> {
    let declared = b.opts.tag_scheme;
    let scheme =
        declared.unwrap_or_else(|| tags::detect(sentences.iter().map(|s| s.tags.as_slice())));
    let mut repaired = 0;
    for s in sentences.iter_mut() {
        let (iob2, n) = tags::to_iob2(&s.tags, scheme, b.opts.lenient_tags).map_err(|p| {
            let found = if declared.is_some() {
                "declared"
            } else {
                "found from the file"
            };
            malformed(
                b,
                s.lines.get(p.index).copied().unwrap_or(0),
                "tags",
                format!("{} (scheme {}, {found})", p.message, scheme.name()),
            )
        })?;
        s.tags = iob2;
        repaired += n;
    }
    Ok(Tagging {
        scheme,
        detected: declared.is_none(),
        repaired,
    })
}

/// Whether a JSONL object is a span annotation (`entities` or `spans`).
pub fn is_span_object(obj: &serde_json::Map<String, serde_json::Value>) -> bool {
    obj.contains_key("text") && (obj.contains_key("entities") || obj.contains_key("spans"))
}

/// Words of a text as BERT's pre-tokenizer splits it: runs of letters
/// and digits, each punctuation or symbol character alone, each CJK
/// character alone; whitespace separates. Byte ranges.
pub fn split_words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let alone = !c.is_alphanumeric() || super::stats::is_cjk(c);
        if c.is_whitespace() || alone {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
            if alone && !c.is_whitespace() {
                out.push((i, i + c.len_utf8()));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// One annotated span of a JSONL row, in characters of the text.
struct CharSpan {
    start: usize,
    end: usize,
    label: String,
}

fn spans_of(
    b: &RowBuilder,
    line: u64,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<CharSpan>, DataError> {
    let key = if obj.contains_key("entities") {
        "entities"
    } else {
        "spans"
    };
    let bad = |m: String| malformed(b, line, "span JSONL", m);
    let list = match obj.get(key) {
        Some(serde_json::Value::Array(a)) => a,
        Some(serde_json::Value::Null) | None => return Ok(vec![]),
        Some(_) => return Err(bad(format!("'{key}' must be a list of spans"))),
    };
    list.iter()
        .map(|item| {
            // {"start", "end", "label"} objects, or [start, end, label].
            let (s, e, l) = match item {
                serde_json::Value::Object(o) => (o.get("start"), o.get("end"), o.get("label")),
                serde_json::Value::Array(a) if a.len() == 3 => (a.first(), a.get(1), a.get(2)),
                other => {
                    return Err(bad(format!(
                        "a span must be {{\"start\", \"end\", \"label\"}}, found {other}"
                    )))
                }
            };
            let num = |v: Option<&serde_json::Value>, what: &str| {
                v.and_then(serde_json::Value::as_u64)
                    .map(|n| n as usize)
                    .ok_or_else(|| bad(format!("span {item}: '{what}' must be a whole number")))
            };
            let label = l
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.trim().is_empty() && !s.contains(char::is_whitespace))
                .ok_or_else(|| bad(format!("span {item}: 'label' must be a word (no spaces)")))?;
            Ok(CharSpan {
                start: num(s, "start")?,
                end: num(e, "end")?,
                label: label.to_string(),
            })
        })
        .collect()
}

/// Read span JSONL: `{"text": …, "entities": [{"start", "end", "label"}]}`
/// (or spaCy/Prodigy's `spans`), character offsets as Python counts them.
pub(super) fn read_span_jsonl(bytes: &[u8], b: &mut RowBuilder) -> Result<Tagging, DataError> {
    for (i, raw) in bytes.split(|&c| c == b'\n').enumerate() {
        let line = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let src = b.decode(raw, line, "(line)")?;
        let value: serde_json::Value =
            serde_json::from_str(&src).map_err(|e| malformed(b, line, "JSON", e.to_string()))?;
        let obj = value
            .as_object()
            .filter(|o| is_span_object(o))
            .ok_or_else(|| {
                malformed(
                    b,
                    line,
                    "span JSONL",
                    "expected {\"text\": …, \"entities\": [...]} (or \"spans\")".into(),
                )
            })?;
        let text = obj
            .get("text")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| malformed(b, line, "span JSONL", "'text' must be a string".into()))?
            .to_string();
        let mut spans = spans_of(b, line, obj)?;
        spans.sort_by_key(|s| (s.start, s.end));
        // Character offsets → byte offsets (one past the end allowed).
        let bytes_at: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .collect();
        let chars = bytes_at.len() - 1;
        for (k, s) in spans.iter().enumerate() {
            if s.start >= s.end || s.end > chars {
                return Err(malformed(
                    b,
                    line,
                    "span JSONL",
                    format!(
                        "span {}..{} '{}' is outside the text ({chars} characters) or empty",
                        s.start, s.end, s.label
                    ),
                ));
            }
            if let Some(next) = spans.get(k + 1) {
                if next.start < s.end {
                    return Err(malformed(b, line, "span JSONL", format!(
                        "spans {}..{} '{}' and {}..{} '{}' overlap; token classification gives each word one tag",
                        s.start, s.end, s.label, next.start, next.end, next.label
                    )));
                }
            }
        }
        let byte_spans: Vec<(usize, usize, &str)> = spans
            .iter()
            .map(|s| (bytes_at[s.start], bytes_at[s.end], s.label.as_str()))
            .collect();
        // Words, cut again at every span edge so a span never splits one.
        let mut words = Vec::new();
        for (ws, we) in split_words(&text) {
            let mut cuts: Vec<usize> = byte_spans
                .iter()
                .flat_map(|&(a, z, _)| [a, z])
                .filter(|&c| c > ws && c < we)
                .collect();
            cuts.sort_unstable();
            let mut from = ws;
            for c in cuts.into_iter().chain(std::iter::once(we)) {
                if c > from {
                    words.push((from, c));
                }
                from = c;
            }
        }
        let mut tags = Vec::with_capacity(words.len());
        let mut open: Option<usize> = None;
        for &(ws, we) in &words {
            match byte_spans.iter().position(|&(a, z, _)| ws >= a && we <= z) {
                Some(k) => {
                    let prefix = if open == Some(k) { "I" } else { "B" };
                    tags.push(format!("{prefix}-{}", byte_spans[k].2));
                    open = Some(k);
                }
                None => {
                    tags.push("O".to_string());
                    open = None;
                }
            }
        }
        if let Some(s) = byte_spans
            .iter()
            .find(|&&(a, z, _)| !words.iter().any(|&(ws, we)| ws >= a && we <= z))
        {
            return Err(malformed(
                b,
                line,
                "span JSONL",
                format!(
                    "span '{}' ({}) holds no word (only spaces)",
                    s.2,
                    &text[s.0..s.1]
                ),
            ));
        }
        b.push_tagged(line, text, words, tags)?;
    }
    Ok(Tagging {
        scheme: Scheme::Iob2,
        detected: false,
        repaired: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_berts_pre_tokenizer() {
        let t = "U.S. stocks rose 3.5% in 東京 🙂!";
        let w: Vec<&str> = split_words(t).iter().map(|&(a, z)| &t[a..z]).collect();
        assert_eq!(
            w,
            vec![
                "U", ".", "S", ".", "stocks", "rose", "3", ".", "5", "%", "in", "東", "京", "🙂",
                "!"
            ]
        );
    }

    #[test]
    fn sniffs_conll() {
        assert!(looks_like_conll(b"-DOCSTART- -X- O O\n\nEU NNP I-ORG\n"));
        assert!(looks_like_conll(b"EU B-ORG\nrejects O\n"));
        assert!(!looks_like_conll(b"text,label\nhi,pos\n"));
        assert!(!looks_like_conll(b"just some words here\n"));
    }
}
