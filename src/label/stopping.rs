//! When to stop labelling: Cohen's κ between consecutive models'
//! predictions on a fixed stop set, and small-text's `KappaAverage` rule
//! (stop once the mean κ of the last `window` rounds reaches `threshold`).

/// Cohen's κ of two label sequences over `classes` labels, as
/// scikit-learn's `cohen_kappa_score` (1.0 for identical sequences, as
/// small-text intercepts the 0/0 of perfect agreement).
pub fn cohen_kappa(a: &[usize], b: &[usize], classes: usize) -> f64 {
    if a == b {
        return 1.0;
    }
    let mut confusion = vec![vec![0f64; classes]; classes];
    for (&x, &y) in a.iter().zip(b) {
        if x < classes && y < classes {
            confusion[x][y] += 1.0;
        }
    }
    let total: f64 = confusion.iter().flatten().sum();
    let rows: Vec<f64> = confusion.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..classes)
        .map(|j| confusion.iter().map(|r| r[j]).sum())
        .collect();
    let (mut observed_off, mut expected_off) = (0.0, 0.0);
    for i in 0..classes {
        for j in 0..classes {
            if i != j {
                observed_off += confusion[i][j];
                expected_off += rows[i] * cols[j] / total;
            }
        }
    }
    1.0 - observed_off / expected_off
}

/// small-text's `KappaAverage`: κ between each round's predictions and
/// the previous round's; stop when the mean of the last `window` reaches
/// `threshold`.
#[derive(Clone, Debug)]
pub struct KappaAverage {
    pub classes: usize,
    pub window: usize,
    pub threshold: f64,
    last: Option<Vec<usize>>,
    /// κ per round after the first (all of them; the rule reads the window).
    pub history: Vec<f64>,
}

impl KappaAverage {
    /// small-text's defaults: window 3, threshold 0.99.
    pub fn new(classes: usize) -> KappaAverage {
        KappaAverage {
            classes,
            window: 3,
            threshold: 0.99,
            last: None,
            history: Vec::new(),
        }
    }

    /// This round's predictions on the stop set: whether to stop.
    pub fn stop(&mut self, predictions: &[usize]) -> bool {
        let Some(last) = self.last.replace(predictions.to_vec()) else {
            return false;
        };
        self.history
            .push(cohen_kappa(predictions, &last, self.classes));
        if self.history.len() < self.window {
            return false;
        }
        let recent = &self.history[self.history.len() - self.window..];
        recent.iter().sum::<f64>() / self.window as f64 >= self.threshold
    }

    /// The mean κ of the last window (None before it fills).
    pub fn mean(&self) -> Option<f64> {
        (self.history.len() >= self.window).then(|| {
            let recent = &self.history[self.history.len() - self.window..];
            recent.iter().sum::<f64>() / self.window as f64
        })
    }
}
