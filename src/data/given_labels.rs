//! Labels given in a labelling session (`tunebench label`), kept beside
//! the pool and never written into it: `labels.csv`, one row per label
//! given — `line,text,label,round,strategy,score,seconds,source` — that
//! `--labels FILE` (the `labels` key) applies to the pool by line on load.
//! Each entry repeats the row's text, so a pool edited since is caught;
//! the pool's rows with no label at all are left out of training.

use super::{DataError, Labels, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const HEADER: [&str; 8] = [
    "line", "text", "label", "round", "strategy", "score", "seconds", "source",
];

/// Who gave a label: the person, or the model's own confident guess
/// (self-training), kept apart and never mixed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Person,
    Pseudo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GivenLabel {
    /// The row's 1-based line in the pool file.
    pub line: u64,
    pub text: String,
    pub label: String,
    /// The round whose queue offered it (0: the first batch).
    pub round: usize,
    /// What picked it: a query strategy, `search` or `diversity`.
    pub strategy: String,
    /// The strategy's score of the row when offered (empty: none).
    pub score: Option<f64>,
    /// Seconds the person took on it.
    pub seconds: f64,
    pub source: Source,
}

/// What a labels file added to a pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GivenSummary {
    pub file: PathBuf,
    pub by_person: usize,
    pub pseudo: usize,
    /// Pool rows with no label at all, left out of training.
    pub unlabeled: usize,
}

impl std::fmt::Display for GivenSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "labels from {}: {} given, {} pseudo-labels; {} pool rows without a label left out",
            self.file.display(),
            self.by_person,
            self.pseudo,
            self.unlabeled
        )
    }
}

fn bad(path: &Path, line: u64, message: String) -> DataError {
    DataError::BadGivenLabel {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// Read a labels file (its lines in order; a later label of a row
/// replaces an earlier one when applied).
pub fn read(path: &Path) -> Result<Vec<GivenLabel>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_slice());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(path, 1, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if header != HEADER {
        return Err(bad(
            path,
            1,
            format!(
                "the header must be {}, found {}",
                HEADER.join(","),
                header.join(",")
            ),
        ));
    }
    let mut out = Vec::new();
    for record in rdr.deserialize::<GivenLabel>() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(path, line, e.to_string())
        })?;
        out.push(record);
    }
    Ok(out)
}

/// Write a labels file atomically (header, then the labels in order).
pub fn write(path: &Path, labels: &[GivenLabel]) -> Result<(), DataError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| DataError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    if labels.is_empty() {
        w.write_record(HEADER).map_err(io)?;
    }
    for l in labels {
        w.serialize(l).map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| DataError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    crate::disk::write_atomic(path, &bytes).map_err(|e| DataError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// The pool's rows with the file's labels on them, and the rows without
/// any label left out. A label for a line the pool lacks, or for a row
/// whose text changed, is refused naming the file's line.
pub fn load_and_apply(
    file: &Path,
    pool: &Path,
    rows: Vec<Row>,
) -> Result<(Vec<Row>, GivenSummary), DataError> {
    let given = read(file)?;
    let by_line: BTreeMap<u64, usize> = rows.iter().enumerate().map(|(i, r)| (r.line, i)).collect();
    let known = Labels::from_rows(&rows);
    let mut latest: BTreeMap<u64, &GivenLabel> = BTreeMap::new();
    for (i, g) in given.iter().enumerate() {
        // The file's own line: its header is line 1.
        let at = i as u64 + 2;
        let row = by_line.get(&g.line).map(|&r| &rows[r]).ok_or_else(|| {
            bad(
                file,
                at,
                format!("{} has no data row at line {}", pool.display(), g.line),
            )
        })?;
        if row.text != g.text {
            return Err(bad(
                file,
                at,
                format!(
                    "line {} of {} now reads \"{}\", not \"{}\" (the pool changed since it was labeled)",
                    g.line,
                    pool.display(),
                    super::clip(&row.text, 60),
                    super::clip(&g.text, 60)
                ),
            ));
        }
        if g.label.trim().is_empty() {
            return Err(bad(file, at, "an empty label".into()));
        }
        // Pool labels, where some rows have them, name the label set.
        if !known.is_empty() && known.id(&g.label).is_none() {
            return Err(bad(
                file,
                at,
                format!(
                    "unknown label '{}' (the pool's labels: {})",
                    g.label,
                    known.names().join(", ")
                ),
            ));
        }
        latest.insert(g.line, g);
    }
    let mut summary = GivenSummary {
        file: file.to_path_buf(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        match latest.get(&row.line) {
            Some(g) => {
                match g.source {
                    Source::Person => summary.by_person += 1,
                    Source::Pseudo => summary.pseudo += 1,
                }
                row.label = Some(g.label.clone());
                out.push(row);
            }
            None if row.label.as_deref().is_some_and(|l| !l.is_empty()) => out.push(row),
            None => summary.unlabeled += 1,
        }
    }
    Ok((out, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Vec<Row> {
        ["good", "bad", "fine", "awful"]
            .iter()
            .enumerate()
            .map(|(i, t)| Row {
                text: t.to_string(),
                text_b: None,
                label: None,
                line: i as u64 + 2,
                words: None,
            })
            .collect()
    }

    fn given(line: u64, text: &str, label: &str, source: Source) -> GivenLabel {
        GivenLabel {
            line,
            text: text.into(),
            label: label.into(),
            round: 0,
            strategy: "breaking_ties".into(),
            score: Some(0.125),
            seconds: 2.5,
            source,
        }
    }

    #[test]
    fn labels_round_trip_and_apply_to_the_pool_by_line() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("labels.csv");
        let labels = vec![
            given(2, "good", "pos", Source::Person),
            given(3, "bad", "neg", Source::Person),
            given(2, "good", "neg", Source::Person),
            given(4, "fine", "pos", Source::Pseudo),
        ];
        write(&file, &labels).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("line,text,label,round,strategy,score,seconds,source\n"));
        assert_eq!(read(&file).unwrap(), labels);
        let (rows, summary) = load_and_apply(&file, Path::new("pool.csv"), pool()).unwrap();
        let got: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.text.as_str(), r.label.as_deref().unwrap()))
            .collect();
        // The later label of a line wins; the unlabeled row is left out.
        assert_eq!(got, [("good", "neg"), ("bad", "neg"), ("fine", "pos")]);
        assert_eq!(
            (summary.by_person, summary.pseudo, summary.unlabeled),
            (2, 1, 1)
        );
        write(&d.path().join("empty.csv"), &[]).unwrap();
        assert!(read(&d.path().join("empty.csv")).unwrap().is_empty());
    }

    #[test]
    fn a_changed_pool_or_a_bad_line_is_refused_naming_the_line() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("labels.csv");
        write(&file, &[given(3, "not bad", "neg", Source::Person)]).unwrap();
        let e = load_and_apply(&file, Path::new("pool.csv"), pool())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("labels.csv:2: line 3 of pool.csv now reads \"bad\""),
            "{e}"
        );
        write(&file, &[given(9, "x", "neg", Source::Person)]).unwrap();
        let e = load_and_apply(&file, Path::new("pool.csv"), pool())
            .unwrap_err()
            .to_string();
        assert!(e.contains("pool.csv has no data row at line 9"), "{e}");
        std::fs::write(&file, "line,text\n2,good\n").unwrap();
        let e = read(&file).unwrap_err().to_string();
        assert!(e.contains("labels.csv:1: the header must be"), "{e}");
        std::fs::write(
            &file,
            format!("{}\nx,good,pos,0,random,,1,person\n", HEADER.join(",")),
        )
        .unwrap();
        let e = read(&file).unwrap_err().to_string();
        assert!(e.contains("labels.csv:2:"), "{e}");
    }
}
