//! Diverse picks: k-means over sentence vectors, then the row nearest each
//! centre (small-text's `EmbeddingKMeans`: scikit-learn's k-means++ start
//! and Lloyd's iterations on unit-length vectors). Small enough — k is a
//! labelling batch, the rows a few hundred — that a clustering crate and
//! its array types would weigh more than these lines.

use crate::rng::Rng;

/// Lloyd's iterations at most; they stop earlier once no row moves.
const MAX_ITERATIONS: usize = 50;

/// `k` distinct rows of `vectors` spread over them: k-means with `k`
/// centres (k-means++ seeding from `rng`), the row nearest each centre,
/// in cluster order. All rows when `k` ≥ their number.
pub fn pick_diverse(vectors: &[Vec<f32>], k: usize, rng: &mut Rng) -> Vec<usize> {
    let n = vectors.len();
    if k >= n {
        return (0..n).collect();
    }
    if k == 0 {
        return Vec::new();
    }
    let points: Vec<Vec<f32>> = vectors.iter().map(|v| unit(v)).collect();
    let mut centres = plus_plus(&points, k, rng);
    let mut assigned = vec![usize::MAX; n];
    for _ in 0..MAX_ITERATIONS {
        let mut moved = false;
        for (i, p) in points.iter().enumerate() {
            let c = nearest(p, &centres).0;
            moved |= assigned[i] != c;
            assigned[i] = c;
        }
        if !moved {
            break;
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<&Vec<f32>> = points
                .iter()
                .zip(&assigned)
                .filter(|(_, &a)| a == c)
                .map(|(p, _)| p)
                .collect();
            if members.is_empty() {
                continue;
            }
            for (d, x) in centre.iter_mut().enumerate() {
                *x = members.iter().map(|m| m[d]).sum::<f32>() / members.len() as f32;
            }
        }
    }
    // The row nearest each centre, never the same row twice.
    let mut taken = vec![false; n];
    let mut picked = Vec::with_capacity(k);
    for centre in &centres {
        let best = (0..n)
            .filter(|&i| !taken[i])
            .min_by(|&a, &b| distance(&points[a], centre).total_cmp(&distance(&points[b], centre)));
        if let Some(i) = best {
            taken[i] = true;
            picked.push(i);
        }
    }
    picked
}

/// k-means++: the first centre at random, each next one drawn with
/// probability proportional to the squared distance to the nearest so far.
fn plus_plus(points: &[Vec<f32>], k: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
    let mut centres = vec![points[rng.below(points.len())].clone()];
    while centres.len() < k {
        let d2: Vec<f64> = points
            .iter()
            .map(|p| f64::from(nearest(p, &centres).1))
            .collect();
        let total: f64 = d2.iter().sum();
        if total <= 0.0 {
            // Every row sits on a centre: duplicates; any row will do.
            centres.push(points[rng.below(points.len())].clone());
            continue;
        }
        let mut target = f64::from(rng.uniform()) * total;
        let mut chosen = points.len() - 1;
        for (i, d) in d2.iter().enumerate() {
            if target < *d {
                chosen = i;
                break;
            }
            target -= d;
        }
        centres.push(points[chosen].clone());
    }
    centres
}

/// The nearest centre's index and its squared distance.
fn nearest(p: &[f32], centres: &[Vec<f32>]) -> (usize, f32) {
    centres
        .iter()
        .map(|c| distance(p, c))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 0.0))
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        v.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight groups of unequal size: three picks, one from each.
    #[test]
    fn one_pick_per_group() {
        let mut rows = Vec::new();
        let mut rng = Rng::seeded(3);
        for (group, size) in [
            ([1.0f32, 0.0, 0.0], 20),
            ([0.0, 1.0, 0.0], 5),
            ([0.0, 0.0, 1.0], 2),
        ] {
            for _ in 0..size {
                rows.push(
                    group
                        .iter()
                        .map(|x| x + 0.05 * rng.uniform())
                        .collect::<Vec<f32>>(),
                );
            }
        }
        for seed in 0..5 {
            let picked = pick_diverse(&rows, 3, &mut Rng::seeded(seed));
            let mut groups: Vec<usize> = picked
                .iter()
                .map(|&i| {
                    if i < 20 {
                        0
                    } else if i < 25 {
                        1
                    } else {
                        2
                    }
                })
                .collect();
            groups.sort_unstable();
            assert_eq!(groups, vec![0, 1, 2], "seed {seed}: {picked:?}");
        }
    }

    #[test]
    fn duplicates_and_small_inputs() {
        let same = vec![vec![1.0f32, 1.0]; 6];
        let picked = pick_diverse(&same, 3, &mut Rng::seeded(1));
        assert_eq!(picked.len(), 3);
        let mut distinct = picked.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 3, "no row twice: {picked:?}");
        assert_eq!(pick_diverse(&same[..2], 5, &mut Rng::seeded(1)), vec![0, 1]);
        assert!(pick_diverse(&same, 0, &mut Rng::seeded(1)).is_empty());
    }
}
