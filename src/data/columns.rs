//! Which columns hold the text, the second text of a pair and the label:
//! the names people use, `--text-col`/`--label-col` (names or 0-based
//! indexes, several joined), and the error that lists what a file has.

use super::rows::RowBuilder;
use super::DataError;
use std::path::Path;

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
    "score",
    "class",
    "sentiment",
    "intent",
    "category",
    "target",
];

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
    /// One 0/1 column per label (`--label-cols`), instead of `label`.
    pub(super) wide: Vec<usize>,
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
    let wide = match b.opts.label_cols.as_deref() {
        Some(spec) => wide_columns(names, spec).map_err(|w| missing("label", w, names))?,
        None => Vec::new(),
    };
    let label = match b.opts.label_col.as_deref() {
        _ if !wide.is_empty() => None,
        None if no_header => None,
        wanted => {
            pick_column(names, wanted, LABEL_COLUMNS).map_err(|w| missing("label", w, names))?
        }
    };
    if label.is_none() && wide.is_empty() && b.opts.require_label {
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
        wide,
    })
}

/// The 0/1 label columns of `spec`: names or indexes separated by commas,
/// or `PREFIX*` for every column whose name starts with PREFIX.
fn wide_columns(names: &[String], spec: &str) -> Result<Vec<usize>, String> {
    let cols: Vec<usize> = match spec.trim().strip_suffix('*') {
        Some(prefix) => (0..names.len())
            .filter(|&i| names[i].starts_with(prefix))
            .collect(),
        None => spec
            .split(',')
            .map(|w| {
                pick_column(names, Some(w.trim()), &[])
                    .map(|c| c.expect("a wanted column is found or an error"))
            })
            .collect::<Result<_, _>>()?,
    };
    if cols.is_empty() {
        return Err(format!("columns matching '{spec}'"));
    }
    Ok(cols)
}

/// Whether a wide layout's cell says the label applies: 1/0, true/false,
/// 1.0/0.0 or empty (0).
pub(super) fn binary_cell(cell: &str) -> Option<bool> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "1" | "1.0" | "true" | "yes" => Some(true),
        "0" | "0.0" | "false" | "no" | "" => Some(false),
        _ => None,
    }
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
