//! Reading a corpus — CSV, TSV, JSONL, Parquet or a cached HF dataset —
//! into [`Row`]s: the format from the extension, then its reader.

use super::rows::RowBuilder;
use super::{DataError, Dataset};
use std::path::{Path, PathBuf};

pub use super::columns::{LABEL_COLUMNS, PAIR_COLUMNS, TEXT_COLUMNS};

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// A column name or 0-based index; several (`title,text` or `1,2`) are
    /// joined into one text.
    pub text_col: Option<String>,
    pub label_col: Option<String>,
    /// Multi-label "wide" layout: one 0/1 column per label, named
    /// (`toxic,insult`) or by a prefix (`label_*`).
    pub label_cols: Option<String>,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    pub lossy_utf8: bool,
    /// Drop rows with empty text (counted) instead of failing.
    pub skip_empty: bool,
    /// Whether a label column must exist (training/eval) or may be absent
    /// (prediction input).
    pub require_label: bool,
    /// An empty label cell is an empty label set (a declared multi-label
    /// task), not a missing label.
    pub empty_label_set: bool,
    /// The first row is data: columns are named by 0-based index.
    pub no_header: bool,
    /// The split of an `hf:` dataset (default `train`).
    pub hf_split: Option<String>,
    /// CoNLL files: the 0-based column of the tag (default: the last).
    pub tag_col: Option<usize>,
    /// The tag scheme of a CoNLL file (default: found from the tags).
    pub tag_scheme: Option<super::tags::Scheme>,
    /// An `I-X` that opens a mention in IOB2 becomes `B-X` (counted)
    /// instead of an error.
    pub lenient_tags: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
    /// Token-per-line CoNLL columns (found from the content).
    Conll,
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
        "conll" | "conllu" | "iob" | "iob1" | "iob2" | "bio" | "bioes" => Ok(Format::Conll),
        _ => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            ext,
        }),
    }
}

/// Read a corpus file (the format comes from the extension), or the
/// split `opts.hf_split` of a cached HF dataset (`hf:ORG/NAME[:CONFIG][@REV]`).
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Dataset, DataError> {
    if super::samples::is_sample(path) {
        return load_file(&super::samples::resolve(path)?, opts);
    }
    let spec = path.to_string_lossy();
    if spec.starts_with("hf:") {
        let split = opts.hf_split.as_deref().unwrap_or("train");
        let shards = super::hf::resolve_split(&spec, split)?;
        return read_parquet_files(path, shards, opts);
    }
    let format = match format_of(path) {
        // eng.train, data.txt: a CoNLL file is known by its content.
        Err(_) if starts_like_conll(path) => Format::Conll,
        Err(e) => return Err(e),
        Ok(f) => f,
    };
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
    let mut tagging = None;
    match format {
        Format::Csv => super::delimited::read_delimited(&bytes, b',', true, &mut builder)?,
        Format::Tsv => super::delimited::read_delimited(&bytes, b'\t', false, &mut builder)?,
        Format::Jsonl if first_json_is_spans(&bytes) => {
            tagging = Some(super::conll::read_span_jsonl(&bytes, &mut builder)?)
        }
        Format::Jsonl => super::jsonl::read_jsonl(&bytes, &mut builder)?,
        Format::Conll => tagging = Some(super::conll::read_conll(&bytes, &mut builder)?),
        Format::Parquet => unreachable!("read above"),
    }
    let mut ds = builder.finish(path, vec![path.to_path_buf()])?;
    ds.tagging = tagging;
    Ok(ds)
}

/// Whether the file's first 4 KiB read as CoNLL columns (read only that
/// much: the file is read whole once its format is known).
fn starts_like_conll(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .is_ok_and(|_| super::conll::looks_like_conll(&head))
}

/// Whether a JSONL file's first object is a span annotation.
fn first_json_is_spans(bytes: &[u8]) -> bool {
    bytes
        .split(|&c| c == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .and_then(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .and_then(|v| v.as_object().map(super::conll::is_span_object))
        .unwrap_or(false)
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
        let (_d, p) = write("b.jsonl", b"{\"text\":\"a\",\"label\":{\"x\":1}}\n");
        let e = load_file(&p, &labelled()).unwrap_err();
        assert!(matches!(e, DataError::BadFieldType { line: 1, .. }), "{e}");
        // A list is a multi-label row; a number with a fraction a score.
        let (_d, p) = write(
            "c.jsonl",
            b"{\"text\":\"a\",\"label\":[\"x\", 2]}\n{\"text\":\"b\",\"label\":[]}\n{\"text\":\"c\",\"label\":[\"y\"]}\n",
        );
        let ds = load_file(&p, &labelled()).unwrap();
        assert!(ds.label_sets);
        let labels: Vec<_> = ds.rows.iter().map(|r| r.label.as_deref()).collect();
        assert_eq!(labels, [Some("x|2"), Some(""), Some("y")]);
        let (_d, p) = write("d.jsonl", b"{\"text\":\"a\",\"label\":3.75}\n");
        assert_eq!(
            load_file(&p, &labelled()).unwrap().rows[0].label.as_deref(),
            Some("3.75")
        );
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
