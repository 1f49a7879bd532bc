//! Rows and labels: reading corpora, splitting them, and describing them.

mod columns;
pub mod conll;
pub mod corrections;
mod delimited;
mod error;
pub mod given_labels;
pub mod hf;
mod jsonl;
pub mod label_stats;
pub mod load;
mod parquet;
mod rows;
pub mod samples;
pub mod split;
pub mod stats;
pub mod tags;
pub mod task;

pub use error::DataError;
pub use load::{load_file, LoadOptions};
pub use task::{Targets, Task};

use std::path::PathBuf;

/// One labelled (or, for prediction input, unlabelled) example.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub text: String,
    /// The second text of a sentence-pair task (a `text_b` column).
    pub text_b: Option<String>,
    pub label: Option<String>,
    /// 1-based line in the source file, for error messages.
    pub line: u64,
    /// A token-classification row's words: byte ranges of `text`, one a
    /// tag of `label` (its tags joined by spaces). None for other tasks.
    pub words: Option<Vec<(usize, usize)>>,
}

impl Row {
    /// An unlabelled text to predict (no line: typed, not read).
    pub fn unlabelled(text: String) -> Row {
        Row {
            text,
            text_b: None,
            label: None,
            line: 0,
            words: None,
        }
    }

    /// A token-classification row's mentions: (type, byte range of the
    /// text), from its IOB2 tags.
    pub fn mentions(&self) -> Vec<(String, usize, usize)> {
        let (Some(words), Some(label)) = (&self.words, &self.label) else {
            return Vec::new();
        };
        let tags: Vec<&str> = label.split(' ').collect();
        tags::entities(&tags)
            .into_iter()
            .filter_map(|s| {
                let a = words.get(s.start)?.0;
                let z = words.get(s.end.checked_sub(1)?)?.1;
                Some((s.label, a, z))
            })
            .collect()
    }

    /// The text with each mention bracketed and typed, `[EU|ORG] rejects
    /// [German|MISC] call`: readable without colour.
    pub fn marked_text(&self) -> String {
        let mut out = String::new();
        let mut at = 0;
        for (label, a, z) in self.mentions() {
            out.push_str(&self.text[at..a]);
            out.push_str(&format!("[{}|{label}]", &self.text[a..z]));
            at = z;
        }
        out.push_str(&self.text[at..]);
        out
    }

    /// A token-classification row's words and their tags (None for a row
    /// of another task).
    pub fn tagged_words(&self) -> Option<Vec<(&str, &str)>> {
        let words = self.words.as_ref()?;
        let tags = self.label.as_deref().unwrap_or("").split(' ');
        Some(
            words
                .iter()
                .zip(tags.chain(std::iter::repeat("O")))
                .map(|(&(a, z), t)| (self.text.get(a..z).unwrap_or(""), t))
                .collect(),
        )
    }

    /// The row's label when it holds one (not absent, not empty).
    pub fn given_label(&self) -> Option<&str> {
        self.label.as_deref().filter(|l| !l.is_empty())
    }
}

/// The rows of one file.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub path: PathBuf,
    pub rows: Vec<Row>,
    /// Rows dropped because their text was empty (only with `skip_empty`).
    pub empty_dropped: usize,
    /// The files read: `path` itself, or an `hf:` dataset's Parquet shards.
    pub files: Vec<PathBuf>,
    /// The labels were read as lists (JSON arrays, 0/1 columns): a
    /// multi-label corpus whatever the separator.
    pub label_sets: bool,
    /// A token-classification corpus: the tag scheme read and what changed.
    pub tagging: Option<conll::Tagging>,
}

/// An ordered set of label names; a label's id is its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    names: Vec<String>,
}

impl Labels {
    pub fn new(names: Vec<String>) -> Self {
        Labels { names }
    }

    /// The labels present in `rows`, in a stable order: numeric order when
    /// every label is an integer, otherwise alphabetical.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Self {
        Self::sorted(rows.into_iter().filter_map(|r| r.label.clone()).collect())
    }

    /// `names` in a stable order: numeric when every name is an integer,
    /// otherwise alphabetical; repeats dropped.
    pub fn sorted(names: Vec<String>) -> Self {
        let mut names: Vec<String> = names
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if names.iter().all(|n| n.parse::<i64>().is_ok()) {
            names.sort_by_key(|n| n.parse::<i64>().unwrap_or(0));
        }
        Labels { names }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, id: usize) -> &str {
        &self.names[id]
    }

    /// The id of a label name. An integer label also matches a model's
    /// default `LABEL_<n>` names, so GLUE-style 0/1 files evaluate against
    /// checkpoints that were never given label names.
    pub fn id(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Some(i);
        }
        let n: usize = name.parse().ok()?;
        (self.names.get(n)? == &format!("LABEL_{n}")).then_some(n)
    }

    /// Map every row's label to an id, failing on the first unknown one.
    pub fn ids_of(&self, data: &Dataset) -> Result<Vec<usize>, DataError> {
        data.rows
            .iter()
            .map(|r| {
                let label = r.label.as_deref().ok_or_else(|| DataError::MissingLabel {
                    path: data.path.clone(),
                    line: r.line,
                })?;
                self.id(label).ok_or_else(|| DataError::UnknownLabel {
                    path: data.path.clone(),
                    line: r.line,
                    label: label.to_string(),
                    known: self.names.join(", "),
                })
            })
            .collect()
    }
}

/// Terminal columns `s` takes (CJK characters take two).
pub fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` right-aligned in `width` columns (never cut).
pub fn pad_left(s: &str, width: usize) -> String {
    format!("{}{s}", " ".repeat(width.saturating_sub(display_width(s))))
}

/// `s` on one line, cut to at most `width` terminal columns with an
/// ellipsis when cut (CJK characters take two; newlines become spaces).
pub fn clip(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let columns = |c: char| if c == '\n' { 1 } else { c.width().unwrap_or(0) };
    let total: usize = s.chars().map(columns).sum();
    if total <= width {
        return s.replace('\n', " ");
    }
    let room = width.saturating_sub(1);
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = columns(c);
        if used + w > room {
            break;
        }
        out.push(if c == '\n' { ' ' } else { c });
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// `s` on one line, cut or padded to exactly `width` terminal columns
/// (CJK characters take two).
pub fn fit_width(s: &str, width: usize) -> String {
    let cut = clip(s, width);
    let pad = width.saturating_sub(display_width(&cut));
    cut + &" ".repeat(pad)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fit_width_counts_cjk_as_two_columns() {
        use super::fit_width;
        assert_eq!(fit_width("好评", 6), "好评  ");
        assert_eq!(fit_width("ok", 4), "ok  ");
        assert_eq!(fit_width("这家餐厅很好", 7), "这家餐…");
        assert_eq!(fit_width("这家餐厅很好", 8), "这家餐… ");
        assert_eq!(fit_width("abcdefgh", 5), "abcd…");
    }
}
