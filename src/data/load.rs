//! Reading CSV, TSV and JSONL corpora into [`Row`]s.

use super::{DataError, Dataset, Row};
use std::path::{Path, PathBuf};

/// Column names tried, in order, when none is given.
pub const TEXT_COLUMNS: &[&str] = &[
    "text",
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
    pub text_col: Option<String>,
    pub label_col: Option<String>,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    pub lossy_utf8: bool,
    /// Drop rows with empty text (counted) instead of failing.
    pub skip_empty: bool,
    /// Whether a label column must exist (training/eval) or may be absent
    /// (prediction input).
    pub require_label: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Tsv,
    Jsonl,
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
        _ => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            ext,
        }),
    }
}

/// Read a corpus file; the format comes from the extension.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Dataset, DataError> {
    let format = format_of(path)?;
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let mut builder = RowBuilder {
        path: path.to_path_buf(),
        opts,
        rows: Vec::new(),
        empty_dropped: 0,
    };
    match format {
        Format::Csv => read_delimited(&bytes, b',', true, &mut builder)?,
        Format::Tsv => read_delimited(&bytes, b'\t', false, &mut builder)?,
        Format::Jsonl => read_jsonl(&bytes, &mut builder)?,
    }
    if builder.rows.is_empty() {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(Dataset {
        path: path.to_path_buf(),
        rows: builder.rows,
        empty_dropped: builder.empty_dropped,
    })
}

/// Collects rows and applies the rules every format shares.
struct RowBuilder<'a> {
    path: PathBuf,
    opts: &'a LoadOptions,
    rows: Vec<Row>,
    empty_dropped: usize,
}

impl RowBuilder<'_> {
    fn push(&mut self, line: u64, text: String, label: Option<String>) -> Result<(), DataError> {
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

/// Find a column: the one asked for, or the first known name present.
fn pick_column(
    names: &[String],
    wanted: Option<&str>,
    candidates: &[&str],
) -> Result<Option<usize>, String> {
    let find = |n: &str| names.iter().position(|h| h.eq_ignore_ascii_case(n));
    match wanted {
        Some(w) => find(w).map(Some).ok_or_else(|| format!("'{w}'")),
        None => Ok(candidates.iter().find_map(|c| find(c))),
    }
}

fn missing_column(
    path: &Path,
    role: &'static str,
    looked_for: String,
    names: &[String],
) -> DataError {
    DataError::MissingColumn {
        path: path.to_path_buf(),
        role,
        looked_for,
        available: if names.is_empty() {
            "no columns".into()
        } else {
            names.join(", ")
        },
        flag: if role == "text" {
            "text-col"
        } else {
            "label-col"
        },
    }
}

struct Columns {
    text: usize,
    label: Option<usize>,
}

fn resolve_columns(b: &RowBuilder, names: &[String]) -> Result<Columns, DataError> {
    let text = pick_column(names, b.opts.text_col.as_deref(), TEXT_COLUMNS)
        .map_err(|w| missing_column(&b.path, "text", w, names))?
        .ok_or_else(|| missing_column(&b.path, "text", TEXT_COLUMNS.join("/"), names))?;
    let label = pick_column(names, b.opts.label_col.as_deref(), LABEL_COLUMNS)
        .map_err(|w| missing_column(&b.path, "label", w, names))?;
    if label.is_none() && b.opts.require_label {
        return Err(missing_column(
            &b.path,
            "label",
            LABEL_COLUMNS.join("/"),
            names,
        ));
    }
    Ok(Columns { text, label })
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
        .has_headers(true)
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
    let names: Vec<String> = headers
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect();
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
            return Err(DataError::RaggedRow {
                path: b.path.clone(),
                line,
                expected: names.len(),
                found: record.len(),
            });
        }
        let text = b.decode(&record[cols.text], line, &names[cols.text])?;
        let label = match cols.label {
            Some(i) => Some(b.decode(&record[i], line, &names[i])?),
            None => None,
        };
        b.push(line, text, label)?;
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
    let mut columns: Option<(String, Option<String>)> = None;
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
                names[cols.text].clone(),
                cols.label.map(|i| names[i].clone()),
            ));
        }
        let (text_key, label_key) = columns.as_ref().expect("set above");
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
        let text = field(text_key)?.unwrap_or_default();
        let label = match label_key {
            Some(k) => field(k)?,
            None => None,
        };
        b.push(line, text, label)?;
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
}
