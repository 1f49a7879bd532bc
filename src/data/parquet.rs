//! Reading Parquet corpora (the format of HF `datasets` caches and Hub
//! splits): a string text column, an integer or string label column. HF
//! `ClassLabel` names come from the `huggingface` schema metadata, so
//! labels read `negative/positive`, not 0/1. A list label column
//! (`list<int64>` with a `Sequence(ClassLabel)` feature, as HF's
//! `go_emotions` stores its labels, or `list<string>`) is a multi-label
//! row's labels. Rows stream from the file one record batch at a time;
//! only the text and label columns are decoded.

use super::columns::resolve_columns;
use super::rows::RowBuilder;
use super::DataError;
use parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;
use std::path::Path;
use std::sync::Arc;

fn malformed(path: &Path, row: u64, message: String) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line: row,
        format: "Parquet",
        message,
    }
}

/// What a column may hold, from its Parquet type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Float,
    /// A list of strings or integers (a multi-label row's labels).
    List,
}

/// The one leaf of a list column (`LIST` group → repeated group → element,
/// or the legacy repeated primitive), if it is one.
fn list_element(t: &Type) -> Option<&Type> {
    let info = t.get_basic_info();
    let is_list = matches!(info.logical_type_ref(), Some(LogicalType::List))
        || info.converted_type() == ConvertedType::LIST;
    if !t.is_group() || !is_list {
        return None;
    }
    let [repeated] = t.get_fields() else {
        return None;
    };
    match repeated.get_fields() {
        [element] if !element.is_group() => Some(element),
        _ if !repeated.is_group() => Some(repeated),
        _ => None,
    }
}

/// The column's kind, or why tunebench cannot read it.
fn kind_of(t: &Type) -> Result<Kind, String> {
    if let Some(element) = list_element(t) {
        return match kind_of(element)? {
            Kind::String | Kind::Integer => Ok(Kind::List),
            _ => Err("a list of non-label values (labels are strings or integers)".into()),
        };
    }
    if t.is_group() {
        return Err("a nested (list/struct) column".into());
    }
    let info = t.get_basic_info();
    let stringy = matches!(info.logical_type_ref(), Some(LogicalType::String))
        || info.converted_type() == ConvertedType::UTF8;
    match t.get_physical_type() {
        Physical::BYTE_ARRAY if stringy => Ok(Kind::String),
        Physical::BYTE_ARRAY => Err("binary (not UTF-8 string) data".into()),
        Physical::INT32 | Physical::INT64 => Ok(Kind::Integer),
        Physical::FLOAT | Physical::DOUBLE => Ok(Kind::Float),
        other => Err(format!("{other} values")),
    }
}

/// `ClassLabel` names of `column` from the `huggingface` metadata
/// (`{"info": {"features": {column: {"_type": "ClassLabel", "names": [...]}}}}`).
fn class_names(reader: &SerializedFileReader<std::fs::File>, column: &str) -> Option<Vec<String>> {
    let kv = reader.metadata().file_metadata().key_value_metadata()?;
    let meta = kv.iter().find(|k| k.key == "huggingface")?.value.as_ref()?;
    let v: serde_json::Value = serde_json::from_str(meta).ok()?;
    let mut feature = &v["info"]["features"][column];
    // A list of class labels: `Sequence`/`List` with a `feature`, or (old
    // `datasets`) a one-element JSON list.
    if feature["_type"] == "Sequence" || feature["_type"] == "List" {
        feature = &feature["feature"];
    } else if let Some([inner]) = feature.as_array().map(Vec::as_slice) {
        feature = inner;
    }
    if feature["_type"] != "ClassLabel" {
        return None;
    }
    feature["names"]
        .as_array()?
        .iter()
        .map(|n| n.as_str().map(String::from))
        .collect()
}

fn field_text(f: &Field) -> Option<String> {
    match f {
        Field::Str(s) => Some(s.clone()),
        Field::Byte(i) => Some(i.to_string()),
        Field::Short(i) => Some(i.to_string()),
        Field::Int(i) => Some(i.to_string()),
        Field::Long(i) => Some(i.to_string()),
        Field::UByte(i) => Some(i.to_string()),
        Field::UShort(i) => Some(i.to_string()),
        Field::UInt(i) => Some(i.to_string()),
        Field::ULong(i) => Some(i.to_string()),
        _ => None,
    }
}

/// A label cell as text: strings and integers as they are, a whole float
/// as its integer (pandas writes an integer column with gaps as float64:
/// 1.0 is class 1); null and NaN are no label.
fn label_text(f: &Field) -> Result<Option<String>, String> {
    let whole = |x: f64| {
        if x.is_nan() {
            Ok(None)
        } else if x.is_finite() && x.fract() == 0.0 {
            Ok(Some(format!("{}", x as i64)))
        } else {
            Err(format!(
                "label {x} is not a whole number: a floating-point label column must hold class numbers (0.0, 1.0, ...)"
            ))
        }
    };
    match f {
        Field::Null => Ok(None),
        Field::Float(x) => whole(f64::from(*x)),
        Field::Double(x) => whole(*x),
        other => Ok(field_text(other)),
    }
}

/// Append the rows of one Parquet file; `first_row` numbers them on from
/// earlier shards of the same split (rows are numbered from 1).
pub(super) fn read_parquet(
    path: &Path,
    b: &mut RowBuilder,
    first_row: u64,
) -> Result<u64, DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| malformed(path, 0, format!("not a readable Parquet file: {e}")))?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let fields = schema.root_schema().get_fields().to_vec();
    let names: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
    let cols = resolve_columns(b, &names)?;
    if !cols.wide.is_empty() {
        return Err(DataError::Malformed {
            path: b.path.clone(),
            line: 0,
            format: "Parquet",
            message:
                "label_cols (one 0/1 column per label) reads CSV, TSV and JSONL files, not Parquet"
                    .into(),
        });
    }
    let check = |i: usize, role: &str, ok: &[Kind]| -> Result<Kind, DataError> {
        let kind = kind_of(&fields[i]).map_err(|why| {
            malformed(
                path,
                0,
                format!(
                    "the {role} column '{}' holds {why}; tunebench reads string text and integer or string labels",
                    names[i]
                ),
            )
        })?;
        if !ok.contains(&kind) {
            let held = match kind {
                Kind::Float => "floating-point numbers",
                Kind::List => "lists",
                _ => "integers",
            };
            return Err(malformed(
                path,
                0,
                format!("the {role} column '{}' holds {held}, not text", names[i]),
            ));
        }
        Ok(kind)
    };
    for &c in &cols.text {
        check(c, "text", &[Kind::String])?;
    }
    let label_names = match cols.label {
        Some(c) => {
            check(
                c,
                "label",
                &[Kind::String, Kind::Integer, Kind::Float, Kind::List],
            )?;
            class_names(&reader, &names[c])
        }
        None => None,
    };
    // Decode only the columns used.
    if let Some(c) = cols.text_b {
        check(c, "second text", &[Kind::String])?;
    }
    let mut wanted: Vec<usize> = cols.text.clone();
    wanted.extend(cols.label);
    wanted.extend(cols.text_b);
    wanted.sort_unstable();
    wanted.dedup();
    let projection = Type::group_type_builder(schema.root_schema().name())
        .with_fields(wanted.iter().map(|&i| Arc::clone(&fields[i])).collect())
        .build()
        .map_err(|e| malformed(path, 0, e.to_string()))?;
    let rows = reader
        .get_row_iter(Some(projection))
        .map_err(|e| malformed(path, 0, e.to_string()))?;
    let text_names: Vec<&str> = cols.text.iter().map(|&i| names[i].as_str()).collect();
    let label_name = cols.label.map(|i| names[i].as_str());
    let pair_name = cols.text_b.map(|i| names[i].as_str());
    let mut n = first_row;
    for row in rows {
        n += 1;
        let row = row.map_err(|e| malformed(path, n, e.to_string()))?;
        let mut texts = vec![String::new(); text_names.len()];
        let mut label = None;
        let mut label_set: Option<Vec<String>> = None;
        let mut text_b = pair_name.map(|_| String::new());
        for (name, value) in row.get_column_iter() {
            if Some(name.as_str()) == pair_name {
                text_b = Some(field_text(value).unwrap_or_default());
            }
            if let Some(k) = text_names.iter().position(|t| t == name) {
                texts[k] = field_text(value).unwrap_or_default();
            }
            if Some(name.as_str()) == label_name {
                let named = |raw: String| -> Result<Option<String>, DataError> {
                    match &label_names {
                        None => Ok(Some(raw)),
                        Some(names) => match raw.parse::<i64>() {
                            // HF marks unlabelled rows (test splits) with -1.
                            Ok(-1) => Ok(None),
                            Ok(i) if i >= 0 && (i as usize) < names.len() => {
                                Ok(Some(names[i as usize].clone()))
                            }
                            _ => Err(malformed(
                                path,
                                n,
                                format!(
                                    "label {raw} is not one of the {} ClassLabel names",
                                    names.len()
                                ),
                            )),
                        },
                    }
                };
                if let Field::ListInternal(list) = value {
                    let mut set = Vec::new();
                    for item in list.elements() {
                        let raw = label_text(item).map_err(|why| malformed(path, n, why))?;
                        if let Some(l) = raw.map(named).transpose()?.flatten() {
                            set.push(l);
                        }
                    }
                    label_set = Some(set);
                    continue;
                }
                let raw = label_text(value).map_err(|why| malformed(path, n, why))?;
                label = raw.map(named).transpose()?.flatten();
            }
        }
        let text = if texts.len() == 1 {
            texts.pop().unwrap_or_default()
        } else {
            super::columns::join_fields(texts)
        };
        match label_set {
            Some(set) => b.push_label_set(n, text, text_b, set)?,
            None => b.push_pair(n, text, text_b, label)?,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use crate::data::{load_file, DataError, LoadOptions};
    use std::path::{Path, PathBuf};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/parquet")
            .join(name)
    }

    fn labelled() -> LoadOptions {
        LoadOptions {
            require_label: true,
            ..Default::default()
        }
    }

    #[test]
    fn hf_class_labels_are_named_from_the_schema_metadata() {
        let ds = load_file(&fixture("hf_train.parquet"), &labelled()).unwrap();
        let got: Vec<(&str, &str, u64)> = ds
            .rows
            .iter()
            .map(|r| (r.text.as_str(), r.label.as_deref().unwrap(), r.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a lovely film", "positive", 1),
                ("dull and slow", "negative", 2),
                ("great acting", "positive", 3),
                ("a waste of time", "negative", 4)
            ]
        );
        // -1 marks an unlabelled row: fine for prediction, an error for training.
        let opts = LoadOptions::default();
        let test = load_file(&fixture("hf_test.parquet"), &opts).unwrap();
        assert_eq!(test.rows[1].label, None);
        let e = load_file(&fixture("hf_test.parquet"), &labelled()).unwrap_err();
        assert!(matches!(e, DataError::MissingLabel { line: 2, .. }), "{e}");
    }

    #[test]
    fn hf_list_columns_are_label_sets_named_from_their_class_labels() {
        // go_emotions' layout: labels list<int64>, Sequence(ClassLabel).
        let ds = load_file(&fixture("go_emotions.parquet"), &labelled()).unwrap();
        assert!(ds.label_sets);
        let labels: Vec<&str> = ds
            .rows
            .iter()
            .map(|r| r.label.as_deref().unwrap())
            .collect();
        assert_eq!(
            labels,
            vec!["admiration", "amusement|admiration", "neutral", "anger"]
        );
        // list<string>, an empty list: a row with none of the labels.
        let ds = load_file(&fixture("string_lists.parquet"), &LoadOptions::default()).unwrap();
        let labels: Vec<&str> = ds
            .rows
            .iter()
            .map(|r| r.label.as_deref().unwrap())
            .collect();
        assert_eq!(labels, vec!["refund", "shipping|damaged", ""]);
    }

    #[test]
    fn plain_parquet_with_string_labels_and_row_groups() {
        let ds = load_file(&fixture("plain.parquet"), &labelled()).unwrap();
        assert_eq!(ds.rows.len(), 4);
        assert_eq!(ds.rows[3].text, "a waste of time");
        assert_eq!(ds.rows[3].label.as_deref(), Some("neg"));
    }

    #[test]
    fn whole_float_labels_are_class_numbers_and_nan_is_no_label() {
        // pandas: an integer label column with a gap is written as float64.
        let ds = load_file(&fixture("float_label.parquet"), &LoadOptions::default()).unwrap();
        let labels: Vec<Option<&str>> = ds.rows.iter().map(|r| r.label.as_deref()).collect();
        assert_eq!(labels, vec![Some("1"), Some("0"), None]);
        let e = load_file(&fixture("float_label.parquet"), &labelled()).unwrap_err();
        assert!(matches!(e, DataError::MissingLabel { line: 3, .. }), "{e}");
    }

    #[test]
    fn bad_parquet_columns_are_named() {
        let err = |name: &str| {
            load_file(&fixture(name), &labelled())
                .unwrap_err()
                .to_string()
        };
        let e = err("fraction_label.parquet");
        assert!(
            e.contains(
                "fraction_label.parquet:2: malformed Parquet: label 0.5 is not a whole number"
            ),
            "{e}"
        );
        let e = err("nested.parquet");
        assert!(
            e.contains("the text column 'text' holds lists, not text"),
            "{e}"
        );
        let e = err("null_text.parquet");
        assert!(e.contains("null_text.parquet:2: empty text"), "{e}");
        let e = err("empty.parquet");
        assert!(e.contains("no data rows"), "{e}");
        let e = load_file(
            &fixture("plain.parquet"),
            &LoadOptions {
                text_col: Some("id".into()),
                ..labelled()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("'id' holds integers, not text"), "{e}");
    }
}
