//! Which labels look wrong: confident learning as cleanlab's
//! `find_label_issues(labels, pred_probs)` does it by default
//! (`filter_by="prune_by_noise_rate"`), ranked by self-confidence.
//! The probabilities must be out-of-sample (held-out predictions).

use crate::model::probs::argmax;

/// cleanlab's FLOATING_POINT_COMPARISON.
const EPS: f64 = 1e-6;

/// Round each row to integers keeping its (rounded) total, as cleanlab's
/// `round_preserving_row_totals` (numpy rounds half to even).
fn round_preserving_sum(row: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = row.iter().map(|x| x.round_ties_even()).collect();
    let orig: f64 = row.iter().sum::<f64>().round_ties_even();
    let mut sum: f64 = ints.iter().sum::<f64>().round_ties_even();
    while (sum - orig).abs() > EPS {
        let diff = (orig - sum).round_ties_even();
        let inc = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(row.len());
        // Indices by (float − int), largest first when adding, smallest when removing.
        let mut idx: Vec<usize> = (0..row.len()).collect();
        idx.sort_by(|&a, &b| (row[a] - ints[a]).total_cmp(&(row[b] - ints[b])));
        if inc > 0.0 {
            idx.reverse();
        }
        for &i in idx.iter().take(changes) {
            ints[i] += inc;
        }
        sum = ints.iter().sum::<f64>().round_ties_even();
    }
    ints.into_iter().map(|x| x as i64).collect()
}

/// The calibrated confident joint C[given][true] (cleanlab's
/// `compute_confident_joint(..., calibrate=True)`).
pub fn confident_joint(labels: &[usize], probs: &[Vec<f64>], k: usize) -> Vec<Vec<i64>> {
    let mut counts = vec![0usize; k];
    let mut sums = vec![0.0; k];
    for (&y, p) in labels.iter().zip(probs) {
        counts[y] += 1;
        sums[y] += p[y];
    }
    // Per-class threshold: mean self-confidence of the class (unreachable
    // for an empty class).
    let thresholds: Vec<f64> = (0..k)
        .map(|c| {
            if counts[c] > 0 {
                sums[c] / counts[c] as f64
            } else {
                1e8
            }
        })
        .collect();
    let mut cj = vec![vec![0i64; k]; k];
    for (&y, p) in labels.iter().zip(probs) {
        let confident: Vec<bool> = (0..k).map(|c| p[c] >= thresholds[c] - EPS).collect();
        let n = confident.iter().filter(|&&b| b).count();
        if n == 0 {
            continue;
        }
        let guess = if n > 1 {
            argmax(p)
        } else {
            confident.iter().position(|&b| b).unwrap_or(0)
        };
        cj[y][guess] += 1;
    }
    for (c, row) in cj.iter_mut().enumerate() {
        row[c] = row[c].max(1);
    }
    // Calibrate: each row sums to its label count, the whole to n.
    let mut cal: Vec<Vec<f64>> = cj
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let total: i64 = row.iter().sum();
            row.iter()
                .map(|&x| x as f64 / (total as f64).max(1e-100) * counts[c] as f64)
                .collect()
        })
        .collect();
    let all: f64 = cal.iter().flatten().sum();
    let n = labels.len() as f64;
    for x in cal.iter_mut().flatten() {
        *x = *x / all.max(1e-100) * n;
    }
    cal.iter().map(|r| round_preserving_sum(r)).collect()
}

/// cleanlab's `_keep_at_least_n_per_class` on P = Cᵀ (P[true][given]),
/// with frac_noise 1.
fn prune_counts(cj: &[Vec<i64>], n: i64) -> Vec<Vec<i64>> {
    let k = cj.len();
    let p: Vec<Vec<f64>> = (0..k)
        .map(|t| (0..k).map(|g| cj[g][t] as f64).collect())
        .collect();
    let mut new = p.clone();
    for col in 0..k {
        let diag = p[col][col];
        let new_diag = diag.max(n as f64);
        let diff = new_diag - diag;
        let nonzero = (0..k).filter(|&r| p[r][col] != 0.0).count() as f64;
        let per = diff / (nonzero - 1.0).max(1.0);
        for r in 0..k {
            new[r][col] = (p[r][col] - per).max(0.0);
        }
        new[col][col] = new_diag;
    }
    // _reduce_prune_counts (frac_noise 1) truncates to ints, then rows are
    // rounded preserving their totals.
    let truncated: Vec<Vec<f64>> = new
        .iter()
        .map(|r| r.iter().map(|x| x.trunc()).collect())
        .collect();
    truncated.iter().map(|r| round_preserving_sum(r)).collect()
}

/// Row indices whose given label is likely wrong, most suspect first
/// (lowest p(given label)). `probs` rows sum to 1; labels < classes.
pub fn find_label_issues(labels: &[usize], probs: &[Vec<f64>]) -> Vec<usize> {
    let k = probs.first().map_or(0, Vec::len);
    if k == 0 || labels.is_empty() {
        return Vec::new();
    }
    let cj = confident_joint(labels, probs, k);
    let pcm = prune_counts(&cj, 1);
    let mut issue = vec![false; labels.len()];
    for class in 0..k {
        let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        if rows.len() <= 1 {
            continue;
        }
        for (true_label, counts) in pcm.iter().enumerate() {
            let prune = counts[class];
            if true_label == class || prune <= 0 {
                continue;
            }
            // The rows of this class most likely to be `true_label`.
            let mut order = rows.clone();
            order.sort_by(|&a, &b| {
                let ma = probs[a][true_label] - probs[a][class];
                let mb = probs[b][true_label] - probs[b][class];
                mb.total_cmp(&ma)
            });
            for &i in order.iter().take(prune as usize) {
                issue[i] = true;
            }
        }
    }
    // Not an issue when the model (within 1e-6) agrees with the label.
    for (i, (&y, p)) in labels.iter().zip(probs).enumerate() {
        let mut q = p.clone();
        q[y] += EPS;
        if argmax(&q) == y {
            issue[i] = false;
        }
    }
    let mut found: Vec<usize> = (0..labels.len()).filter(|&i| issue[i]).collect();
    found.sort_by(|&a, &b| probs[a][labels[a]].total_cmp(&probs[b][labels[b]]));
    found
}

/// Out-of-sample predictions for labelled rows: a run's predictions.csv
/// (its validation rows) or a cross-validation's (every row).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeldOut {
    pub labels: Vec<String>,
    pub rows: Vec<HeldOutRow>,
    /// Rows carry label sets and sigmoid probabilities (a multi-label
    /// run's `line,text,labels,predicted,exact,p_<label>…`).
    pub multi_label: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HeldOutRow {
    pub line: u64,
    pub text: String,
    /// The row's label indices: one, or a multi-label row's set.
    pub given: Vec<usize>,
    pub probs: Vec<f64>,
}

/// One row whose label looks wrong.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Suspect {
    pub line: u64,
    pub text: String,
    pub given: String,
    pub suggested: String,
    /// What the list is ranked by: p(given label), the self-confidence;
    /// multi-label, the row's label quality (cleanlab's EMA of each
    /// label's self-confidence).
    pub confidence: f64,
    /// p(suggested label); multi-label, the model's probability for the
    /// label it doubts most (present where given absent, or the reverse).
    pub p_suggested: f64,
}

fn bad_file(path: &std::path::Path, reason: String) -> crate::Error {
    crate::config::ConfigError::field("predictions", format!("{}: {reason}", path.display())).into()
}

impl HeldOut {
    /// Read a predictions.csv (`line,text,label,predicted,score,correct,p_<label>...`,
    /// or a multi-label run's `line,text,labels,predicted,exact,p_<label>...`).
    pub fn read(path: &std::path::Path) -> crate::Result<Self> {
        let mut rdr = csv::Reader::from_path(path)
            .map_err(|e| bad_file(path, format!("{e} (a run writes it when it evaluates)")))?;
        let header = rdr
            .headers()
            .map_err(|e| bad_file(path, e.to_string()))?
            .clone();
        let labels: Vec<String> = header
            .iter()
            .filter_map(|h| h.strip_prefix("p_").map(String::from))
            .collect();
        let first_p = header.iter().position(|h| h.starts_with("p_")).unwrap_or(0);
        let multi_label = header.iter().any(|h| h == "exact");
        if labels.len() < 2 && !multi_label {
            return Err(bad_file(path, "no p_<label> columns".into()));
        }
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| bad_file(path, e.to_string()))?;
            let at = |c: usize| rec.get(c).unwrap_or("");
            let row_err = |what: &str| bad_file(path, format!("row {}: {what}", i + 2));
            let line: u64 = at(0).parse().map_err(|_| row_err("bad line number"))?;
            let index = |name: &str| {
                labels
                    .iter()
                    .position(|n| n == name)
                    .ok_or_else(|| row_err(&format!("unknown label '{name}'")))
            };
            let given = if multi_label {
                crate::data::task::label_set(at(2))
                    .map(index)
                    .collect::<crate::Result<Vec<_>>>()?
            } else {
                vec![index(at(2))?]
            };
            let probs = (0..labels.len())
                .map(|c| at(first_p + c).parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| row_err("bad probability"))?;
            rows.push(HeldOutRow {
                line,
                text: at(1).to_string(),
                given,
                probs,
            });
        }
        Ok(HeldOut {
            labels,
            rows,
            multi_label,
        })
    }

    /// The rows whose label looks wrong, most suspect first.
    pub fn suspects(&self) -> Vec<Suspect> {
        if self.multi_label {
            return self.multi_label_suspects();
        }
        let given: Vec<usize> = self.rows.iter().map(|r| r.given[0]).collect();
        let probs: Vec<Vec<f64>> = self.rows.iter().map(|r| r.probs.clone()).collect();
        find_label_issues(&given, &probs)
            .into_iter()
            .map(|i| {
                let r = &self.rows[i];
                let best = argmax(&r.probs);
                Suspect {
                    line: r.line,
                    text: r.text.clone(),
                    given: self.labels[r.given[0]].clone(),
                    suggested: self.labels[best].clone(),
                    confidence: r.probs[r.given[0]],
                    p_suggested: r.probs[best],
                }
            })
            .collect()
    }

    /// Multi-label suspects: the given set, and the set the model puts
    /// over 0.5 as the suggestion.
    fn multi_label_suspects(&self) -> Vec<Suspect> {
        use super::multilabel_issues::{find_multilabel_issues, label_quality};
        let sets: Vec<Vec<bool>> = self
            .rows
            .iter()
            .map(|r| {
                (0..self.labels.len())
                    .map(|k| r.given.contains(&k))
                    .collect()
            })
            .collect();
        let probs: Vec<Vec<f64>> = self.rows.iter().map(|r| r.probs.clone()).collect();
        let names = |set: &[usize]| -> String {
            let v: Vec<&str> = set.iter().map(|&k| self.labels[k].as_str()).collect();
            v.join(&crate::data::task::SET_SEP.to_string())
        };
        find_multilabel_issues(&sets, &probs)
            .into_iter()
            .map(|i| {
                let r = &self.rows[i];
                let doubt = (0..self.labels.len())
                    .map(|k| {
                        if sets[i][k] {
                            r.probs[k]
                        } else {
                            1.0 - r.probs[k]
                        }
                    })
                    .enumerate()
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or(0, |(k, _)| k);
                Suspect {
                    line: r.line,
                    text: r.text.clone(),
                    given: names(&r.given),
                    suggested: names(
                        &(0..self.labels.len())
                            .filter(|&k| r.probs[k] >= 0.5)
                            .collect::<Vec<_>>(),
                    ),
                    confidence: label_quality(&sets[i], &r.probs),
                    p_suggested: r.probs[doubt],
                }
            })
            .collect()
    }
}

/// Write suspects as CSV (`line,text,given,suggested,confidence,p_suggested`).
pub fn suspects_csv(suspects: &[Suspect]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_record([
        "line",
        "text",
        "given",
        "suggested",
        "confidence",
        "p_suggested",
    ]);
    for s in suspects {
        let _ = w.write_record([
            s.line.to_string(),
            s.text.clone(),
            s.given.clone(),
            s.suggested.clone(),
            format!("{:.6}", s.confidence),
            format!("{:.6}", s.p_suggested),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

/// Read a suspects CSV written by `suspects_csv` (`inspect --out`).
pub fn read_suspects(path: &std::path::Path) -> crate::Result<Vec<Suspect>> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| bad_file(path, e.to_string()))?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad_file(path, e.to_string()))?;
        let at = |c: usize| rec.get(c).unwrap_or("");
        let row_err = || bad_file(path, format!("row {}: not a suspects row", i + 2));
        out.push(Suspect {
            line: at(0).parse().map_err(|_| row_err())?,
            text: at(1).into(),
            given: at(2).into(),
            suggested: at(3).into(),
            confidence: at(4).parse().map_err(|_| row_err())?,
            p_suggested: at(5).parse().map_err(|_| row_err())?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_row_totals_as_numpy_does() {
        assert_eq!(round_preserving_sum(&[0.5, 1.5, 2.0]), vec![0, 2, 2]);
        assert_eq!(round_preserving_sum(&[1.4, 1.3, 1.3]), vec![2, 1, 1]);
        assert_eq!(
            round_preserving_sum(&[2.6, 2.6, 2.8]).iter().sum::<i64>(),
            8
        );
    }

    #[test]
    fn a_confidently_contradicted_label_is_found() {
        // Class 0 rows, one of which the model firmly calls class 1.
        let mut labels = vec![0; 6];
        labels.extend(vec![1; 6]);
        let mut probs: Vec<Vec<f64>> = (0..6).map(|_| vec![0.9, 0.1]).collect();
        probs.extend((0..6).map(|_| vec![0.1, 0.9]));
        probs[2] = vec![0.05, 0.95];
        assert_eq!(find_label_issues(&labels, &probs), vec![2]);
    }
}
