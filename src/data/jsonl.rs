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

pub(super) fn read_jsonl(bytes: &[u8], b: &mut RowBuilder) -> Result<(), DataError> {
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
