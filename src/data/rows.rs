//! The rules every corpus format shares, applied row by row: decoding,
//! empty texts, missing labels, sentence pairs.

use super::{DataError, Dataset, LoadOptions, Row};
use std::path::{Path, PathBuf};

/// Collects rows and applies the rules every format shares.
pub(super) struct RowBuilder<'a> {
    pub(super) path: PathBuf,
    pub(super) opts: &'a LoadOptions,
    rows: Vec<Row>,
    empty_dropped: usize,
    label_sets: bool,
}

impl<'a> RowBuilder<'a> {
    pub(super) fn new(path: &Path, opts: &'a LoadOptions) -> Self {
        RowBuilder {
            path: path.to_path_buf(),
            opts,
            rows: Vec::new(),
            empty_dropped: 0,
            label_sets: false,
        }
    }

    /// The dataset read from `files` (named `path`); no rows is an error.
    pub(super) fn finish(self, path: &Path, files: Vec<PathBuf>) -> Result<Dataset, DataError> {
        if self.rows.is_empty() {
            return Err(DataError::NoRows {
                path: path.to_path_buf(),
            });
        }
        Ok(Dataset {
            path: path.to_path_buf(),
            rows: self.rows,
            empty_dropped: self.empty_dropped,
            files,
            label_sets: self.label_sets,
            tagging: None,
        })
    }

    /// A row without text: counted and dropped with `skip_empty`, else an
    /// error naming its line.
    fn empty_text(&mut self, line: u64) -> Result<(), DataError> {
        if self.opts.skip_empty {
            self.empty_dropped += 1;
            return Ok(());
        }
        Err(DataError::EmptyText {
            path: self.path.clone(),
            line,
        })
    }

    /// A row; `text_b` is the second text of a sentence-pair task.
    pub(super) fn push_pair(
        &mut self,
        line: u64,
        text: String,
        text_b: Option<String>,
        label: Option<String>,
    ) -> Result<(), DataError> {
        let text = text.trim().to_string();
        if text.is_empty() {
            return self.empty_text(line);
        }
        let label = label.map(|l| l.trim().to_string());
        if self.opts.empty_label_set && label.as_deref() == Some("") {
            self.rows.push(Row {
                text_b: text_b.map(|t| t.trim().to_string()),
                text,
                label,
                line,
                words: None,
            });
            return Ok(());
        }
        if self.opts.require_label && label.as_deref().is_none_or(str::is_empty) {
            return Err(DataError::MissingLabel {
                path: self.path.clone(),
                line,
            });
        }
        self.rows.push(Row {
            text_b: text_b.map(|t| t.trim().to_string()),
            text,
            label: label.filter(|l| !l.is_empty()),
            line,
            words: None,
        });
        Ok(())
    }

    /// A token-classification row: `words` are byte ranges of `text`, one
    /// IOB2 tag each.
    pub(super) fn push_tagged(
        &mut self,
        line: u64,
        text: String,
        words: Vec<(usize, usize)>,
        tags: Vec<String>,
    ) -> Result<(), DataError> {
        if words.is_empty() {
            return self.empty_text(line);
        }
        debug_assert_eq!(words.len(), tags.len());
        self.rows.push(Row {
            text,
            text_b: None,
            label: Some(tags.join(" ")),
            line,
            words: Some(words),
        });
        Ok(())
    }

    /// A multi-label row whose labels came as a list (a JSON array, 0/1
    /// columns); an empty list is a row with none of the labels.
    pub(super) fn push_label_set(
        &mut self,
        line: u64,
        text: String,
        text_b: Option<String>,
        labels: Vec<String>,
    ) -> Result<(), DataError> {
        let sep = super::task::SET_SEP;
        if let Some(bad) = labels.iter().find(|l| l.contains(sep)) {
            return Err(DataError::LabelWithSeparator {
                path: self.path.clone(),
                line,
                label: bad.clone(),
            });
        }
        let before = self.rows.len();
        self.push_pair(line, text, text_b, Some("-".into()))?;
        if let Some(row) = self.rows.get_mut(before) {
            let names: Vec<&str> = labels
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect();
            row.label = Some(names.join(&sep.to_string()));
        }
        self.label_sets = true;
        Ok(())
    }

    pub(super) fn decode(
        &self,
        bytes: &[u8],
        line: u64,
        column: &str,
    ) -> Result<String, DataError> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) if self.opts.lossy_utf8 => Ok(String::from_utf8_lossy(bytes).into_owned()),
            Err(e) => Err(DataError::InvalidUtf8 {
                path: self.path.clone(),
                line,
                column: column.to_string(),
                byte: e.valid_up_to(),
            }),
        }
    }
}
