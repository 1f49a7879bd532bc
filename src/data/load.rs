//! Reading CSV, TSV and JSONL corpora into [`Row`]s.

use super::{DataError, Dataset, Row};
use std::path::{Path, PathBuf};

/// Second-text columns that make a sentence-pair task (GLUE/CLUE names),
/// found when the text column is the matching first one.
pub const PAIR_COLUMNS: &[(&str, &str)] = &[
    ("text_a", "text_b"),
    ("sentence1", "sentence2"),
    ("question1", "question2"),
    ("premise", "hypothesis"),
    ("question", "sentence"),
];

/// Column names tried, in order, when none is given.
pub const TEXT_COLUMNS: &[&str] = &[
    "text",
    "text_a",
    "sentence1",
    "question1",
    "premise",
    "question",
    "sentence",
    "review",
    "content",
    "utterance",
    "query",
    "message",
];
pub const LABEL_COLUMNS: &[&str] = &[
    "label",
    "labels",
    "class",
    "sentiment",
    "intent",
    "category",
    "target",
];

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// A column name or 0-based index; several (`title,text` or `1,2`) are
    /// joined into one text.
    pub text_col: Option<String>,
    pub label_col: Option<String>,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    pub lossy_utf8: bool,
    /// Drop rows with empty text (counted) instead of failing.
    pub skip_empty: bool,
    /// Whether a label column must exist (training/eval) or may be absent
    /// (prediction input).
    pub require_label: bool,
    /// The first row is data: columns are named by 0-based index.
    pub no_header: bool,
    /// The split of an `hf:` dataset (default `train`).
    pub hf_split: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
}

fn format_of(path: &Path) -> Result<Format, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Ok(Format::Csv),
        "tsv" | "tab" => Ok(Format::Tsv),
        "jsonl" | "ndjson" => Ok(Format::Jsonl),
        "parquet" => Ok(Format::Parquet),
        _ => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            ext,
        }),
    }
}

/// Read a corpus file (the format comes from the extension), or the
/// split `opts.hf_split` of a cached HF dataset (`hf:ORG/NAME[:CONFIG][@REV]`).
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Dataset, DataError> {
    let spec = path.to_string_lossy();
    if spec.starts_with("hf:") {
        let split = opts.hf_split.as_deref().unwrap_or("train");
        let shards = super::hf::resolve_split(&spec, split)?;
        return read_parquet_files(path, shards, opts);
    }
    let format = format_of(path)?;
    if format == Format::Parquet {
        return read_parquet_files(path, vec![path.to_path_buf()], opts);
    }
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let mut builder = RowBuilder::new(path, opts);
    match format {
        Format::Csv => read_delimited(&bytes, b',', true, &mut builder)?,
        Format::Tsv => read_delimited(&bytes, b'\t', false, &mut builder)?,
        Format::Jsonl => read_jsonl(&bytes, &mut builder)?,
        Format::Parquet => unreachable!("read above"),
    }
    builder.finish(path, vec![path.to_path_buf()])
}

/// The rows of Parquet `files` read in order (an `hf:` dataset's shards,
/// or one file), numbered on across them.
fn read_parquet_files(
    path: &Path,
    files: Vec<PathBuf>,
    opts: &LoadOptions,
) -> Result<Dataset, DataError> {
    let mut builder = RowBuilder::new(path, opts);
    let mut row = 0;
    for file in &files {
        builder.path = file.clone();
        row = super::parquet::read_parquet(file, &mut builder, row)?;
    }
    builder.finish(path, files)
}

/// Collects rows and applies the rules every format shares.
pub(super) struct RowBuilder<'a> {
    pub(super) path: PathBuf,
    opts: &'a LoadOptions,
    rows: Vec<Row>,
    empty_dropped: usize,
}

impl<'a> RowBuilder<'a> {
    fn new(path: &Path, opts: &'a LoadOptions) -> Self {
        RowBuilder {
            path: path.to_path_buf(),
            opts,
            rows: Vec::new(),
            empty_dropped: 0,
        }
    }

    /// The dataset read from `files` (named `path`); no rows is an error.
    fn finish(self, path: &Path, files: Vec<PathBuf>) -> Result<Dataset, DataError> {
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
            if self.opts.skip_empty {
                self.empty_dropped += 1;
                return Ok(());
            }
            return Err(DataError::EmptyText {
                path: self.path.clone(),
                line,
            });
        }
        let label = label.map(|l| l.trim().to_string());
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
        });
        Ok(())
    }

    fn decode(&self, bytes: &[u8], line: u64, column: &str) -> Result<String, DataError> {
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

/// Find a column: the one asked for (a name, or a 0-based index that is
/// not also a name), or the first known name present.
fn pick_column(
    names: &[String],
    wanted: Option<&str>,
    candidates: &[&str],
) -> Result<Option<usize>, String> {
    let find = |n: &str| names.iter().position(|h| h.eq_ignore_ascii_case(n));
    match wanted {
        Some(w) => find(w)
            .or_else(|| w.parse::<usize>().ok().filter(|&i| i < names.len()))
            .map(Some)
            .ok_or_else(|| format!("'{w}'")),
        None => Ok(candidates.iter().find_map(|c| find(c))),
    }
}

/// A header that is really a data row: a bare number, or a long sentence,
/// as a column name (AG News, Yelp and DBpedia ship without headers).
fn looks_like_data(names: &[String]) -> Option<&str> {
    names
        .iter()
        .find(|n| {
            let n = n.trim();
            (!n.is_empty() && n.parse::<f64>().is_ok()) || n.split_whitespace().count() > 4
        })
        .map(String::as_str)
}

fn missing_column(
    path: &Path,
    role: &'static str,
    looked_for: String,
    names: &[String],
    no_header: bool,
) -> DataError {
    let hint = match looks_like_data(names) {
        Some(cell) if !no_header => format!(
            "; the first row looks like data ('{}' as a column name): pass --no-header and name columns by 0-based index, e.g. --text-col 1 --label-col 0",
            super::clip(cell, 30)
        ),
        _ if no_header => "; without a header, name columns by 0-based index".into(),
        _ => String::new(),
    };
    DataError::MissingColumn {
        path: path.to_path_buf(),
        role,
        looked_for,
        available: if names.is_empty() {
            "no columns".into()
        } else if no_header {
            format!("{} columns (0-{})", names.len(), names.len() - 1)
        } else {
            names.join(", ")
        },
        hint,
    }
}

pub(super) struct Columns {
    /// One or more text columns, joined in this order.
    pub(super) text: Vec<usize>,
    /// The second text of a pair task.
    pub(super) text_b: Option<usize>,
    pub(super) label: Option<usize>,
}

pub(super) fn resolve_columns(b: &RowBuilder, names: &[String]) -> Result<Columns, DataError> {
    let no_header = b.opts.no_header;
    let missing = |role, w, names: &[String]| missing_column(&b.path, role, w, names, no_header);
    let text = match b.opts.text_col.as_deref() {
        Some(spec) => spec
            .split(',')
            .map(|w| {
                pick_column(names, Some(w.trim()), &[])
                    .map_err(|w| missing("text", w, names))
                    .map(|c| c.expect("a wanted column is found or an error"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None if no_header => {
            return Err(missing(
                "text",
                "a column index (--no-header needs --text-col N)".into(),
                names,
            ))
        }
        None => vec![pick_column(names, None, TEXT_COLUMNS)
            .ok()
            .flatten()
            .ok_or_else(|| missing("text", TEXT_COLUMNS.join("/"), names))?],
    };
    let label = match b.opts.label_col.as_deref() {
        None if no_header => None,
        wanted => {
            pick_column(names, wanted, LABEL_COLUMNS).map_err(|w| missing("label", w, names))?
        }
    };
    if label.is_none() && b.opts.require_label {
        let looked_for = if no_header {
            "a column index (--no-header needs --label-col N)".into()
        } else {
            LABEL_COLUMNS.join("/")
        };
        return Err(missing("label", looked_for, names));
    }
    // A pair task when the text column is a pair's first and its second
    // exists (text_a + text_b, sentence1 + sentence2, ...).
    let text_b = match text.as_slice() {
        [one] => PAIR_COLUMNS.iter().find_map(|(a, b)| {
            names[*one]
                .eq_ignore_ascii_case(a)
                .then(|| names.iter().position(|n| n.eq_ignore_ascii_case(b)))
                .flatten()
        }),
        _ => None,
    };
    Ok(Columns {
        text,
        text_b,
        label,
    })
}

/// Several text fields as one text: "title. body" (no extra full stop
/// after one that ends a sentence already).
pub(super) fn join_fields(parts: Vec<String>) -> String {
    let mut out = String::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        if !out.is_empty() {
            if !out.ends_with(['.', '!', '?', '。', '！', '？', ':', ';']) {
                out.push('.');
            }
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

fn read_delimited(
    bytes: &[u8],
    delimiter: u8,
    quoting: bool,
    b: &mut RowBuilder,
) -> Result<(), DataError> {
    let format = if quoting { "CSV" } else { "TSV" };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(quoting)
        .flexible(true)
        .has_headers(!b.opts.no_header)
        .from_reader(bytes);
    // Line numbers from byte offsets: the csv crate's own line count is off
    // by one for files with CRLF line endings.
    let newlines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_of = |byte: u64| newlines.partition_point(|&nl| (nl as u64) <= byte) as u64 + 1;
    let malformed = |b: &RowBuilder, e: csv::Error| {
        let line = e.position().map(|p| line_of(p.byte())).unwrap_or(0);
        DataError::Malformed {
            path: b.path.clone(),
            line,
            format,
            message: e.to_string(),
        }
    };
    let headers = reader.byte_headers().map_err(|e| malformed(b, e))?.clone();
    let names: Vec<String> = if b.opts.no_header {
        (0..headers.len()).map(|i| i.to_string()).collect()
    } else {
        headers
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect()
    };
    let cols = resolve_columns(b, &names)?;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(malformed(b, e)),
        }
        let line = record.position().map(|p| line_of(p.byte())).unwrap_or(0);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line
        }
        if record.len() != names.len() {
            // A quote left open swallows the following lines into one
            // field, so the row comes up short; say that, not "ragged".
            let spanned = record
                .iter()
                .map(|f| f.iter().filter(|&&c| c == b'\n').count())
                .sum::<usize>()
                // (an open quote at the end of the file keeps its last newline)
                - usize::from(record.iter().next_back().is_some_and(|f| f.ends_with(b"\n")));
            return Err(if spanned > 0 {
                DataError::UnclosedQuote {
                    path: b.path.clone(),
                    line,
                    lines: spanned + 1,
                    expected: names.len(),
                    found: record.len(),
                }
            } else {
                DataError::RaggedRow {
                    path: b.path.clone(),
                    line,
                    expected: names.len(),
                    found: record.len(),
                }
            });
        }
        let text = cols
            .text
            .iter()
            .map(|&c| b.decode(&record[c], line, &names[c]))
            .collect::<Result<Vec<_>, _>>()?;
        let text = if text.len() == 1 {
            text.into_iter().next().unwrap_or_default()
        } else {
            join_fields(text)
        };
        let label = match cols.label {
            Some(i) => Some(b.decode(&record[i], line, &names[i])?),
            None => None,
        };
        let text_b = match cols.text_b {
            Some(i) => Some(b.decode(&record[i], line, &names[i])?),
            None => None,
        };
        b.push_pair(line, text, text_b, label)?;
    }
    Ok(())
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a non-integer number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn read_jsonl(bytes: &[u8], b: &mut RowBuilder) -> Result<(), DataError> {
    if b.opts.no_header {
        return Err(DataError::Malformed {
            path: b.path.clone(),
            line: 1,
            format: "JSONL",
            message: "--no-header is for CSV/TSV; JSONL names its fields".into(),
        });
    }
    let mut columns: Option<(Vec<String>, Option<String>, Option<String>)> = None;
    for (i, raw) in bytes.split(|&c| c == b'\n').enumerate() {
        let line = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = b.decode(raw, line, "(line)")?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| DataError::Malformed {
                path: b.path.clone(),
                line,
                format: "JSON",
                message: e.to_string(),
            })?;
        let obj = value.as_object().ok_or_else(|| DataError::Malformed {
            path: b.path.clone(),
            line,
            format: "JSONL",
            message: format!("expected a JSON object, found {}", json_type(&value)),
        })?;
        // Columns are chosen from the first object's keys, then required on
        // every line.
        if columns.is_none() {
            let names: Vec<String> = obj.keys().cloned().collect();
            let cols = resolve_columns(b, &names)?;
            columns = Some((
                cols.text.iter().map(|&i| names[i].clone()).collect(),
                cols.label.map(|i| names[i].clone()),
                cols.text_b.map(|i| names[i].clone()),
            ));
        }
        let (text_keys, label_key, pair_key) = columns.as_ref().expect("set above");
        let field = |key: &str| -> Result<Option<String>, DataError> {
            match obj.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(v @ serde_json::Value::Number(n)) => match n.as_i64() {
                    Some(i) => Ok(Some(i.to_string())),
                    None => Err(DataError::BadFieldType {
                        path: b.path.clone(),
                        line,
                        field: key.to_string(),
                        found: json_type(v),
                    }),
                },
                Some(v) => Err(DataError::BadFieldType {
                    path: b.path.clone(),
                    line,
                    field: key.to_string(),
                    found: json_type(v),
                }),
            }
        };
        let text = text_keys
            .iter()
            .map(|k| Ok(field(k)?.unwrap_or_default()))
            .collect::<Result<Vec<_>, DataError>>()?;
        let text = if text.len() == 1 {
            text.into_iter().next().unwrap_or_default()
        } else {
            join_fields(text)
        };
        let label = match label_key {
            Some(k) => field(k)?,
            None => None,
        };
        let text_b = match pair_key {
            Some(k) => Some(field(k)?.unwrap_or_default()),
            None => None,
        };
        b.push_pair(line, text, text_b, label)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content)
            .unwrap();
        (dir, path)
    }

    fn labelled() -> LoadOptions {
        LoadOptions {
            require_label: true,
            ..Default::default()
        }
    }

    #[test]
    fn reads_quoted_csv_with_commas_and_newlines() {
        let (_d, p) = write(
            "a.csv",
            b"text,label\n\"good, really\",pos\n\"two\nlines\",neg\n",
        );
        let ds = load_file(&p, &labelled()).unwrap();
        assert_eq!(ds.rows.len(), 2);
        assert_eq!(ds.rows[0].text, "good, really");
        assert_eq!(ds.rows[1].text, "two\nlines");
        assert_eq!(ds.rows[1].line, 3);
    }

    #[test]
    fn line_numbers_are_right_with_crlf_endings() {
        let (_d, p) = write(
            "a.csv",
            b"text,label\r\n\"quoted, one\",pos\r\nplain,neg\r\nbad,neg,x\r\n",
        );
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(matches!(e, DataError::RaggedRow { line: 4, .. }), "{e}");
        let (_d, p) = write(
            "b.csv",
            b"text,label\r\n\"quoted, one\",pos\r\nplain,neg\r\n",
        );
        let ds = load_file(&p, &labelled()).unwrap();
        assert_eq!((ds.rows[0].line, ds.rows[1].line), (2, 3));
    }

    #[test]
    fn reads_glue_tsv_with_space_before_tab() {
        let (_d, p) = write("a.tsv", b"sentence\tlabel\nit 's \"fine\" \t1\nbad \t0\n");
        let ds = load_file(&p, &labelled()).unwrap();
        assert_eq!(ds.rows[0].text, "it 's \"fine\"");
        assert_eq!(ds.rows[0].label.as_deref(), Some("1"));
    }

    #[test]
    fn reads_jsonl_with_integer_labels() {
        let (_d, p) = write(
            "a.jsonl",
            b"{\"content\":\"hi\",\"class\":3}\n\n{\"content\":\"yo\",\"class\":1}\n",
        );
        let ds = load_file(&p, &labelled()).unwrap();
        assert_eq!(ds.rows[1].label.as_deref(), Some("1"));
        assert_eq!(ds.rows[1].line, 3);
    }

    #[test]
    fn an_unclosed_quote_is_named_not_called_ragged() {
        let (_d, p) = write(
            "a.csv",
            b"text,label\nfine,pos\n\"unterminated,pos\nfine,neg\nok,neg\n",
        );
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::UnclosedQuote {
                    line: 3,
                    lines: 3,
                    found: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("a.csv:3: a quoted field runs over 3 lines"),
            "{e}"
        );
    }

    #[test]
    fn rejects_csv_with_ragged_row_naming_line() {
        let (_d, p) = write("a.csv", b"text,label\na,pos\nb,neg,extra\n");
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(matches!(e, DataError::RaggedRow { line: 3, .. }), "{e}");
        assert!(e.to_string().contains("a.csv:3"), "{e}");
    }

    #[test]
    fn rejects_invalid_utf8_naming_line_unless_lossy() {
        let (_d, p) = write("a.csv", b"text,label\nok,pos\nbad \xff byte,neg\n");
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::InvalidUtf8 {
                    line: 3,
                    byte: 4,
                    ..
                }
            ),
            "{e}"
        );
        let opts = LoadOptions {
            lossy_utf8: true,
            ..labelled()
        };
        let ds = load_file(&p, &opts).unwrap();
        assert_eq!(ds.rows[1].text, "bad \u{fffd} byte");
    }

    #[test]
    fn rejects_missing_column_listing_available_ones() {
        let (_d, p) = write("a.csv", b"body,label\nx,pos\n");
        let e = load_file(&p, &labelled()).unwrap_err().to_string();
        assert!(
            e.contains("no text column") && e.contains("body, label") && e.contains("--text-col"),
            "{e}"
        );
        let opts = LoadOptions {
            text_col: Some("body".into()),
            ..labelled()
        };
        assert_eq!(load_file(&p, &opts).unwrap().rows[0].text, "x");
    }

    #[test]
    fn rejects_empty_text_unless_skipped() {
        let (_d, p) = write(
            "a.jsonl",
            b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"  \",\"label\":\"y\"}\n",
        );
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(matches!(e, DataError::EmptyText { line: 2, .. }), "{e}");
        let opts = LoadOptions {
            skip_empty: true,
            ..labelled()
        };
        let ds = load_file(&p, &opts).unwrap();
        assert_eq!((ds.rows.len(), ds.empty_dropped), (1, 1));
    }

    #[test]
    fn rejects_empty_file_and_header_only_file() {
        let (_d, p) = write("a.csv", b"");
        assert!(matches!(
            load_file(&p, &labelled()).unwrap_err(),
            DataError::EmptyFile { .. }
        ));
        let (_d, p) = write("b.csv", b"text,label\n");
        assert!(matches!(
            load_file(&p, &labelled()).unwrap_err(),
            DataError::NoRows { .. }
        ));
    }

    #[test]
    fn rejects_malformed_json_and_wrong_types_naming_line() {
        let (_d, p) = write(
            "a.jsonl",
            b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\n",
        );
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(matches!(e, DataError::Malformed { line: 2, .. }), "{e}");
        let (_d, p) = write("b.jsonl", b"{\"text\":\"a\",\"label\":[1]}\n");
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(matches!(e, DataError::BadFieldType { line: 1, .. }), "{e}");
    }

    #[test]
    fn unlabelled_input_is_allowed_for_prediction() {
        let (_d, p) = write("a.csv", b"text\nhello\n");
        let ds = load_file(&p, &LoadOptions::default()).unwrap();
        assert_eq!(ds.rows[0].label, None);
    }

    fn headerless(text: &str, label: &str) -> LoadOptions {
        LoadOptions {
            require_label: true,
            no_header: true,
            text_col: Some(text.into()),
            label_col: Some(label.into()),
            ..Default::default()
        }
    }

    #[test]
    fn headerless_csv_and_tsv_by_index_with_joined_columns() {
        // AG News: "class","title","description", no header.
        let (_d, p) = write(
            "ag.csv",
            b"\"3\",\"Wall St. Bears Claw Back\",\"Short-sellers are seeing green again.\"\n\"4\",\"New chip?\",\"Faster, cheaper\"\n",
        );
        let ds = load_file(&p, &headerless("1,2", "0")).unwrap();
        assert_eq!(ds.rows.len(), 2);
        assert_eq!(ds.rows[0].line, 1);
        assert_eq!(
            ds.rows[0].text,
            "Wall St. Bears Claw Back. Short-sellers are seeing green again."
        );
        assert_eq!(ds.rows[1].text, "New chip? Faster, cheaper");
        assert_eq!(ds.rows[1].label.as_deref(), Some("4"));
        let (_d, p) = write("yelp.tsv", b"1\tterrible food\n2\tlovely\n");
        let ds = load_file(&p, &headerless("1", "0")).unwrap();
        assert_eq!(ds.rows[1].text, "lovely");
        // An index past the last column, or none at all, is refused.
        let e = load_file(&p, &headerless("5", "0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'5'") && e.contains("2 columns (0-1)"), "{e}");
        let e = load_file(
            &p,
            &LoadOptions {
                require_label: true,
                no_header: true,
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--no-header needs --text-col N"), "{e}");
    }

    #[test]
    fn a_data_row_read_as_a_header_suggests_no_header() {
        let (_d, p) = write(
            "ag.csv",
            b"\"3\",\"Title\",\"Some text here\"\n\"1\",\"b\",\"c\"\n",
        );
        let e = load_file(&p, &labelled()).unwrap_err().to_string();
        assert!(e.contains("the first row looks like data ('3'"), "{e}");
        assert!(e.contains("--no-header"), "{e}");
    }

    #[test]
    fn clue_style_text_a_and_named_joined_columns() {
        let (_d, p) = write(
            "clue.tsv",
            "label\ttext_a\n1\t这家店很好\n0\t太差了\n".as_bytes(),
        );
        let ds = load_file(&p, &labelled()).unwrap();
        assert_eq!(ds.rows[0].text, "这家店很好");
        let (_d, p) = write(
            "t.jsonl",
            b"{\"title\":\"Great\",\"body\":\"works well\",\"label\":1}\n",
        );
        let opts = LoadOptions {
            text_col: Some("title, body".into()),
            ..labelled()
        };
        assert_eq!(
            load_file(&p, &opts).unwrap().rows[0].text,
            "Great. works well"
        );
    }

    #[test]
    fn pair_columns_make_sentence_pair_rows() {
        let (_d, p) = write(
            "afqmc.tsv",
            "label\ttext_a\ttext_b\n1\t花呗怎么还款\t花呗如何还钱\n0\t借呗额度\t天气\n".as_bytes(),
        );
        let ds = load_file(&p, &labelled()).unwrap();
        assert_eq!(ds.rows[0].text, "花呗怎么还款");
        assert_eq!(ds.rows[0].text_b.as_deref(), Some("花呗如何还钱"));
        let (_d, p) = write(
            "mrpc.jsonl",
            b"{\"sentence1\":\"a cat\",\"sentence2\":\"the cat\",\"label\":1}\n",
        );
        let ds = load_file(&p, &labelled()).unwrap();
        assert_eq!(
            (ds.rows[0].text.as_str(), ds.rows[0].text_b.as_deref()),
            ("a cat", Some("the cat"))
        );
        // A lone text column stays a single-text task.
        let (_d, p) = write("a.csv", b"text,label\nhi,1\n");
        assert_eq!(load_file(&p, &labelled()).unwrap().rows[0].text_b, None);
    }
}
