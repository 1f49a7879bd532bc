//! JSON Lines corpora: one object a line, string or integer fields.

use super::columns::{join_fields, resolve_columns};
use super::rows::RowBuilder;
use super::DataError;

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

/// The keys a JSONL file's fields are read from, fixed by its first line.
struct JsonColumns {
    text: Vec<String>,
    label: Option<String>,
    pair: Option<String>,
    /// One 0/1 (or boolean) field per label.
    wide: Vec<String>,
}

pub(super) fn read_jsonl(bytes: &[u8], b: &mut RowBuilder) -> Result<(), DataError> {
    if b.opts.no_header {
        return Err(DataError::Malformed {
            path: b.path.clone(),
            line: 1,
            format: "JSONL",
            message: "--no-header is for CSV/TSV; JSONL names its fields".into(),
        });
    }
    let mut columns: Option<JsonColumns> = None;
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
            columns = Some(JsonColumns {
                text: cols.text.iter().map(|&i| names[i].clone()).collect(),
                label: cols.label.map(|i| names[i].clone()),
                pair: cols.text_b.map(|i| names[i].clone()),
                wide: cols.wide.iter().map(|&i| names[i].clone()).collect(),
            });
        }
        let JsonColumns {
            text: text_keys,
            label: label_key,
            pair: pair_key,
            wide,
        } = columns.as_ref().expect("set above");
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
        let text_b = match pair_key {
            Some(k) => Some(field(k)?.unwrap_or_default()),
            None => None,
        };
        if !wide.is_empty() {
            let mut set = Vec::new();
            for k in wide {
                let cell = match obj.get(k) {
                    Some(serde_json::Value::Bool(v)) => Some(*v),
                    Some(serde_json::Value::Number(n)) => n
                        .as_f64()
                        .and_then(|x| (x == 0.0 || x == 1.0).then_some(x == 1.0)),
                    None | Some(serde_json::Value::Null) => Some(false),
                    Some(serde_json::Value::String(s)) => super::columns::binary_cell(s),
                    Some(_) => None,
                };
                match cell {
                    Some(true) => set.push(k.clone()),
                    Some(false) => {}
                    None => {
                        return Err(DataError::NotBinary {
                            path: b.path.clone(),
                            line,
                            column: k.clone(),
                            found: obj.get(k).map(|v| v.to_string()).unwrap_or_default(),
                        })
                    }
                }
            }
            b.push_label_set(line, text, text_b, set)?;
            continue;
        }
        let label_value = label_key.as_ref().and_then(|k| obj.get(k));
        match label_value {
            // A label list: a multi-label row.
            Some(serde_json::Value::Array(items)) => {
                let key = label_key.as_deref().unwrap_or("label");
                let set = items
                    .iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => Ok(s.clone()),
                        serde_json::Value::Number(n) if n.is_i64() => Ok(n.to_string()),
                        v => Err(DataError::BadFieldType {
                            path: b.path.clone(),
                            line,
                            field: format!("{key}[]"),
                            found: json_type(v),
                        }),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                b.push_label_set(line, text, text_b, set)?;
            }
            // A number with a fraction: a regression target.
            Some(serde_json::Value::Number(n)) if !n.is_i64() => {
                b.push_pair(line, text, text_b, Some(n.to_string()))?;
            }
            _ => {
                let label = match label_key {
                    Some(k) => field(k)?,
                    None => None,
                };
                b.push_pair(line, text, text_b, label)?;
            }
        }
    }
    Ok(())
}
