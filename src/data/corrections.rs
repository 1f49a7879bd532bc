//! Label corrections kept beside a corpus, never written into it: a CSV of
//! `line,action,given,label,text` rows (action `relabel`, `keep` or `drop`)
//! that the dataset pane writes and `--corrections FILE` applies on load.
//! Each entry repeats the row's text so a corpus edited since is caught.

use super::{DataError, Labels, Row};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fix {
    /// The row's label becomes this one.
    Relabel(String),
    /// Reviewed: the given label stands (no longer shown as suspect).
    Keep,
    /// Leave the row out of training and evaluation.
    Drop,
}

impl Fix {
    pub fn action(&self) -> &'static str {
        match self {
            Fix::Relabel(_) => "relabel",
            Fix::Keep => "keep",
            Fix::Drop => "drop",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub fix: Fix,
    /// The label in the corpus file.
    pub given: String,
    /// The row's text in the corpus file.
    pub text: String,
}

/// How many rows the corrections changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CorrectionSummary {
    pub file: PathBuf,
    pub relabeled: usize,
    pub kept: usize,
    pub dropped: usize,
}

impl std::fmt::Display for CorrectionSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "corrections from {}: {} relabeled, {} kept as is, {} dropped",
            self.file.display(),
            self.relabeled,
            self.kept,
            self.dropped
        )
    }
}

/// Corrections by corpus line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Corrections {
    pub entries: BTreeMap<u64, Correction>,
    /// The corrections file's own line of each entry, for error messages.
    file_lines: BTreeMap<u64, u64>,
}

const HEADER: [&str; 5] = ["line", "action", "given", "label", "text"];

impl Corrections {
    /// `<dir>/<stem>.corrections.csv` beside the corpus `corpus`.
    pub fn default_path(corpus: &Path) -> PathBuf {
        // A bundled corpus's file, where it is installed.
        let resolved = super::samples::resolve(corpus).unwrap_or_else(|_| corpus.to_path_buf());
        let corpus = resolved.as_path();
        let stem = corpus
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "corpus".into());
        corpus.with_file_name(format!("{stem}.corrections.csv"))
    }

    /// Parse a corrections file (format errors name its line).
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let bad = |line: u64, message: String| DataError::BadCorrection {
            path: path.to_path_buf(),
            line,
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes.as_slice());
        let header = rdr
            .headers()
            .map_err(|e| bad(1, e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        if header != HEADER {
            return Err(bad(
                1,
                format!(
                    "the header must be {}, found {}",
                    HEADER.join(","),
                    header.join(",")
                ),
            ));
        }
        let mut entries = BTreeMap::new();
        let mut file_lines = BTreeMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                bad(line, e.to_string())
            })?;
            let at = rec.position().map_or(0, |p| p.line());
            let field = |i: usize| rec.get(i).unwrap_or("").to_string();
            let line: u64 = field(0)
                .trim()
                .parse()
                .map_err(|_| bad(at, format!("'{}' is not a corpus line number", field(0))))?;
            let fix = match field(1).as_str() {
                "relabel" if !field(3).trim().is_empty() => Fix::Relabel(field(3).trim().into()),
                "relabel" => return Err(bad(at, "relabel without a new label".into())),
                "keep" => Fix::Keep,
                "drop" => Fix::Drop,
                other => {
                    return Err(bad(
                        at,
                        format!("unknown action '{other}' (relabel, keep or drop)"),
                    ))
                }
            };
            let entry = Correction {
                fix,
                given: field(2),
                text: field(4),
            };
            if entries.insert(line, entry).is_some() {
                return Err(bad(at, format!("corpus line {line} is corrected twice")));
            }
            file_lines.insert(line, at);
        }
        Ok(Corrections {
            entries,
            file_lines,
        })
    }

    /// Check every entry against the corpus it corrects: the line exists,
    /// still holds the same text, and a new label is one the corpus uses.
    pub fn check(&self, path: &Path, corpus: &Path, rows: &[Row]) -> Result<(), DataError> {
        let by_line: BTreeMap<u64, &Row> = rows.iter().map(|r| (r.line, r)).collect();
        let labels = Labels::from_rows(rows);
        for (line, c) in &self.entries {
            let bad = |message: String| DataError::BadCorrection {
                path: path.to_path_buf(),
                line: self.file_lines.get(line).copied().unwrap_or(0),
                message,
            };
            let row = by_line.get(line).ok_or_else(|| {
                bad(format!(
                    "{} has no data row at line {line}",
                    corpus.display()
                ))
            })?;
            if row.text != c.text {
                return Err(bad(format!(
                    "line {line} of {} now reads \"{}\", not \"{}\" (the corpus changed since the correction)",
                    corpus.display(),
                    super::clip(&row.text, 60),
                    super::clip(&c.text, 60)
                )));
            }
            if let Fix::Relabel(new) = &c.fix {
                if labels.id(new).is_none() {
                    return Err(bad(format!(
                        "unknown label '{new}' (the corpus has: {})",
                        labels.names().join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// The rows with the corrections applied (dropped rows left out).
    pub fn apply(&self, rows: Vec<Row>, file: &Path) -> (Vec<Row>, CorrectionSummary) {
        let mut summary = CorrectionSummary {
            file: file.to_path_buf(),
            ..Default::default()
        };
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            match self.entries.get(&row.line).map(|c| &c.fix) {
                Some(Fix::Relabel(l)) => {
                    row.label = Some(l.clone());
                    summary.relabeled += 1;
                }
                Some(Fix::Keep) => summary.kept += 1,
                Some(Fix::Drop) => {
                    summary.dropped += 1;
                    continue;
                }
                None => {}
            }
            out.push(row);
        }
        (out, summary)
    }

    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing into a Vec cannot fail.
        let _ = w.write_record(HEADER);
        for (line, c) in &self.entries {
            let label = match &c.fix {
                Fix::Relabel(l) => l.as_str(),
                _ => "",
            };
            let _ = w.write_record([
                line.to_string().as_str(),
                c.fix.action(),
                &c.given,
                label,
                &c.text,
            ]);
        }
        w.into_inner().unwrap_or_default()
    }

    /// Write the file atomically (temp file, fsync, rename).
    pub fn write(&self, path: &Path) -> Result<(), DataError> {
        Ok(crate::disk::write_atomic(path, &self.to_csv())?)
    }
}

/// Read `path`, check it against `rows` of `corpus` and apply it.
pub fn load_and_apply(
    path: &Path,
    corpus: &Path,
    rows: Vec<Row>,
) -> Result<(Vec<Row>, CorrectionSummary), DataError> {
    let c = Corrections::read(path)?;
    c.check(path, corpus, &rows)?;
    Ok(c.apply(rows, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        ["good,pos", "bad,neg", "fine,pos", "awful,pos"]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (t, l) = s.split_once(',').unwrap();
                Row {
                    text_b: None,
                    text: t.into(),
                    label: Some(l.into()),
                    line: i as u64 + 2,
                    words: None,
                }
            })
            .collect()
    }

    fn write(dir: &Path, body: &str) -> PathBuf {
        let p = dir.join("c.csv");
        std::fs::write(&p, format!("line,action,given,label,text\n{body}")).unwrap();
        p
    }

    #[test]
    fn round_trip_and_apply() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let mut c = Corrections::default();
        c.entries.insert(
            5,
            Correction {
                fix: Fix::Relabel("neg".into()),
                given: "pos".into(),
                text: "awful".into(),
            },
        );
        c.entries.insert(
            4,
            Correction {
                fix: Fix::Keep,
                given: "pos".into(),
                text: "fine".into(),
            },
        );
        c.entries.insert(
            3,
            Correction {
                fix: Fix::Drop,
                given: "neg".into(),
                text: "bad".into(),
            },
        );
        let p = dir.join("c.csv");
        c.write(&p).unwrap();
        let back = Corrections::read(&p).unwrap();
        assert_eq!(back.entries, c.entries);
        back.check(&p, Path::new("corpus.csv"), &rows()).unwrap();
        let (fixed, summary) = back.apply(rows(), &p);
        let labels: Vec<_> = fixed
            .iter()
            .map(|r| (r.line, r.label.clone().unwrap()))
            .collect();
        assert_eq!(
            labels,
            vec![(2, "pos".into()), (4, "pos".into()), (5, "neg".into())]
        );
        assert_eq!(
            (summary.relabeled, summary.kept, summary.dropped),
            (1, 1, 1)
        );
    }

    #[test]
    fn bad_entries_name_the_line_and_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let corpus = Path::new("corpus.csv");
        let check = |body: &str| -> String {
            let p = write(dir, body);
            match Corrections::read(&p).and_then(|c| c.check(&p, corpus, &rows())) {
                Ok(()) => panic!("accepted {body:?}"),
                Err(e) => e.to_string(),
            }
        };
        let e = check("2,keep,pos,good,good\n99,relabel,pos,neg,nope\n");
        assert!(
            e.contains("c.csv:3") && e.contains("no data row at line 99"),
            "{e}"
        );
        let e = check("5,relabel,pos,meh,awful\n");
        assert!(
            e.contains("c.csv:2") && e.contains("unknown label 'meh'") && e.contains("neg, pos"),
            "{e}"
        );
        let e = check("5,relabel,pos,neg,changed text\n");
        assert!(e.contains("the corpus changed"), "{e}");
        let e = check("5,flip,pos,neg,awful\n");
        assert!(e.contains("unknown action 'flip'"), "{e}");
        let e = check("x,keep,pos,,awful\n");
        assert!(e.contains("not a corpus line number"), "{e}");
        let e = check("5,keep,pos,,awful\n5,drop,pos,,awful\n");
        assert!(e.contains("corrected twice"), "{e}");
        std::fs::write(dir.join("h.csv"), "a,b\n1,2\n").unwrap();
        let e = Corrections::read(&dir.join("h.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("h.csv:1") && e.contains("header"), "{e}");
    }

    #[test]
    fn default_path_sits_beside_the_corpus() {
        assert_eq!(
            Corrections::default_path(Path::new("data/train.csv")),
            PathBuf::from("data/train.corrections.csv")
        );
    }
}
