//! A run's held-out predictions (predictions.csv) as the dataset pane
//! shows them, for every task: one label (its probability; wrong when it
//! differs from the row's label), a label set (wrong when any label is,
//! naming which), a value (wrong when among the rows farthest from gold).

use super::RowPrediction;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The share of regression rows, farthest from gold, that the
/// misclassified filter shows.
pub const FARTHEST_SHARE: f64 = 0.1;

/// line → prediction, from a multi-label or regression predictions.csv;
/// None when the file has neither layout (or cannot be read).
pub fn read_task_predictions(path: &Path) -> Option<HashMap<u64, RowPrediction>> {
    let mut r = csv::Reader::from_path(path).ok()?;
    let header: Vec<String> = r.headers().ok()?.iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let records: Vec<csv::StringRecord> = r.records().filter_map(|x| x.ok()).collect();
    let line_of = |rec: &csv::StringRecord| rec.get(col("line")?)?.parse::<u64>().ok();
    if let (Some(truth), Some(predicted), Some(exact)) =
        (col("labels"), col("predicted"), col("exact"))
    {
        let sep = crate::data::task::SET_SEP;
        let set = |s: &str| -> BTreeSet<String> {
            s.split(sep)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        };
        return Some(
            records
                .iter()
                .filter_map(|rec| {
                    let (t, p) = (set(rec.get(truth)?), set(rec.get(predicted)?));
                    let wrong = rec.get(exact)? == "false";
                    let missed: Vec<&str> = t.difference(&p).map(String::as_str).collect();
                    let extra: Vec<&str> = p.difference(&t).map(String::as_str).collect();
                    let mut detail = rec.get(predicted)?.to_string();
                    if detail.is_empty() {
                        detail = "no label".into();
                    }
                    if !missed.is_empty() {
                        detail.push_str(&format!(" · missed {}", missed.join(", ")));
                    }
                    if !extra.is_empty() {
                        detail.push_str(&format!(" · extra {}", extra.join(", ")));
                    }
                    Some((
                        line_of(rec)?,
                        RowPrediction {
                            label: rec.get(predicted)?.to_string(),
                            score: (missed.len() + extra.len()) as f32,
                            wrong: Some(wrong),
                            detail: Some(detail),
                        },
                    ))
                })
                .collect(),
        );
    }
    let (predicted, error) = (col("predicted")?, col("error")?);
    let rows: Vec<(u64, String, f32)> = records
        .iter()
        .filter_map(|rec| {
            Some((
                line_of(rec)?,
                rec.get(predicted)?.to_string(),
                rec.get(error)?.parse::<f32>().ok()?,
            ))
        })
        .collect();
    // The farthest FARTHEST_SHARE of rows (at least one) are "wrong".
    let mut sizes: Vec<f32> = rows.iter().map(|r| r.2.abs()).collect();
    sizes.sort_by(|a, b| b.total_cmp(a));
    let keep = ((rows.len() as f64 * FARTHEST_SHARE).ceil() as usize).clamp(1, rows.len().max(1));
    let cut = sizes.get(keep - 1).copied().unwrap_or(f32::INFINITY);
    Some(
        rows.into_iter()
            .map(|(line, p, e)| {
                (
                    line,
                    RowPrediction {
                        detail: Some(format!("{p} (error {e:+.3})")),
                        label: p,
                        score: e,
                        wrong: Some(e.abs() >= cut),
                    },
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn multi_label_rows_are_wrong_when_any_label_is_and_say_which() {
        let f = file(
            "line,text,labels,predicted,exact,p_a,p_b\n\
             2,x,a|b,a,false,0.9,0.2\n3,y,a,a,true,0.8,0.1\n4,z,,b,false,0.1,0.7\n",
        );
        let p = read_task_predictions(f.path()).unwrap();
        assert_eq!(p[&2].wrong, Some(true));
        assert_eq!(p[&2].detail.as_deref(), Some("a · missed b"));
        assert_eq!(p[&3].wrong, Some(false));
        assert_eq!(p[&4].detail.as_deref(), Some("b · extra b"));
    }

    #[test]
    fn regression_rows_farthest_from_gold_are_wrong() {
        let mut csv = String::from("line,text,label,predicted,error\n");
        for i in 0..20 {
            let e = if i == 7 {
                -2.5
            } else if i == 11 {
                1.9
            } else {
                0.1
            };
            csv.push_str(&format!("{},t,1.0,{},{e}\n", i + 2, 1.0 + e));
        }
        let f = file(&csv);
        let p = read_task_predictions(f.path()).unwrap();
        let wrong: BTreeSet<u64> = p
            .iter()
            .filter(|(_, r)| r.wrong == Some(true))
            .map(|(l, _)| *l)
            .collect();
        assert_eq!(wrong, BTreeSet::from([9, 13]));
        assert_eq!(p[&9].detail.as_deref(), Some("-1.5 (error -2.500)"));
    }
}
