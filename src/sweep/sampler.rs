//! Samplers as Optuna 5 defines them. TPE: `TPESampler()` with its
//! defaults — multivariate Parzen estimators over the whole search space,
//! 10 random startup trials, 24 candidates, gamma(n) = min(⌈0.1 n⌉, 25),
//! Optuna's ramped weights, prior weight 1, magic clip, no endpoints, and
//! the constant liar (running trials count as "above"). Random and grid.
//! The math follows `optuna/samplers/_tpe/parzen_estimator.py` and
//! `probability_distributions.py`; the fixture test compares densities.

use super::distribution::Distribution;
use super::journal::{Trial, TrialState};
use crate::config::SamplerKind;
use rand::Rng;

pub const N_STARTUP_TRIALS: usize = 10;
pub const N_EI_CANDIDATES: usize = 24;
const PRIOR_WEIGHT: f64 = 1.0;

pub fn default_gamma(n: usize) -> usize {
    ((0.1 * n as f64).ceil() as usize).min(25)
}

pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    // np.linspace(1/n, 1, n - 25) then 25 ones.
    let m = n - 25;
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..m)
        .map(|i| {
            if m == 1 {
                start
            } else {
                start + (1.0 - start) * i as f64 / (m - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// One parameter's kernels, in the transformed space.
enum Kernels {
    Categorical {
        /// weights[kernel][choice]
        weights: Vec<Vec<f64>>,
    },
    Numerical {
        mu: Vec<f64>,
        sigma: Vec<f64>,
        /// The distribution's own bounds (untransformed).
        low: f64,
        high: f64,
        log: bool,
        /// 0 for continuous.
        step: f64,
    },
}

impl Kernels {
    fn adapted(&self) -> (f64, f64) {
        match self {
            Kernels::Numerical {
                low,
                high,
                log,
                step,
                ..
            } => {
                let (l, h) = (low - step / 2.0, high + step / 2.0);
                if *log {
                    (l.ln(), h.ln())
                } else {
                    (l, h)
                }
            }
            Kernels::Categorical { .. } => (0.0, 0.0),
        }
    }
}

/// A mixture of product distributions: Optuna's `_ParzenEstimator`.
pub struct ParzenEstimator {
    weights: Vec<f64>,
    params: Vec<Kernels>,
}

fn bounds(d: &Distribution) -> (f64, f64, bool, f64) {
    match d {
        Distribution::Float {
            low,
            high,
            log,
            step,
        } => (*low, *high, *log, step.unwrap_or(0.0)),
        Distribution::Int {
            low,
            high,
            log,
            step,
        } => (*low as f64, *high as f64, *log, *step as f64),
        Distribution::Categorical { .. } => (0.0, 0.0, false, 0.0),
    }
}

impl ParzenEstimator {
    /// `observations[i]` is trial i's internal values, one per parameter
    /// of `space`.
    pub fn new(observations: &[Vec<f64>], space: &[Distribution]) -> ParzenEstimator {
        let n = observations.len();
        let mut weights = if n == 0 {
            vec![1.0]
        } else {
            let mut w = default_weights(n);
            w.push(PRIOR_WEIGHT);
            w
        };
        let sum: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= sum);
        let params = space
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let obs: Vec<f64> = observations.iter().map(|o| o[i]).collect();
                match d {
                    Distribution::Categorical { choices } => categorical(&obs, choices.len()),
                    _ => numerical(&obs, d),
                }
            })
            .collect();
        ParzenEstimator { weights, params }
    }

    /// log density at one point (internal values, one per parameter).
    pub fn log_pdf(&self, x: &[f64]) -> f64 {
        let k = self.weights.len();
        let mut per_kernel: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        for (p, &xi) in self.params.iter().zip(x) {
            let (alo, ahi) = p.adapted();
            match p {
                Kernels::Categorical { weights } => {
                    for (j, acc) in per_kernel.iter_mut().enumerate() {
                        *acc += weights[j][xi as usize].ln();
                    }
                }
                Kernels::Numerical {
                    mu,
                    sigma,
                    log,
                    step,
                    ..
                } => {
                    for j in 0..k {
                        let (m, s) = (mu[j], sigma[j]);
                        per_kernel[j] += if *step == 0.0 {
                            let xt = if *log { xi.ln() } else { xi };
                            trunc_norm_logpdf(xt, (alo - m) / s, (ahi - m) / s, m, s)
                        } else {
                            let (l, r) = (xi - step / 2.0, xi + step / 2.0);
                            let (l, r) = if *log { (l.ln(), r.ln()) } else { (l, r) };
                            log_gauss_mass((l - m) / s, (r - m) / s)
                                - log_gauss_mass((alo - m) / s, (ahi - m) / s)
                        };
                    }
                }
            }
        }
        let max = per_kernel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let max = if max == f64::NEG_INFINITY { 0.0 } else { max };
        per_kernel.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max
    }

    /// Draw one point (internal values).
    pub fn sample(&self, rng: &mut impl Rng) -> Vec<f64> {
        let kernel = pick(&self.weights, rng.random::<f64>());
        self.params
            .iter()
            .map(|p| match p {
                Kernels::Categorical { weights } => {
                    pick(&weights[kernel], rng.random::<f64>()) as f64
                }
                Kernels::Numerical {
                    mu,
                    sigma,
                    low,
                    high,
                    log,
                    step,
                } => {
                    let (alo, ahi) = p.adapted();
                    let mut v = trunc_norm_sample(mu[kernel], sigma[kernel], alo, ahi, rng);
                    if *log {
                        v = v.exp();
                    }
                    if *step != 0.0 {
                        v = (low + ((v - low) / step).round() * step).clamp(*low, *high);
                    }
                    v
                }
            })
            .collect()
    }
}

fn pick(weights: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    weights.len() - 1
}

fn categorical(obs: &[f64], n_choices: usize) -> Kernels {
    if obs.is_empty() {
        return Kernels::Categorical {
            weights: vec![vec![1.0 / n_choices as f64; n_choices]],
        };
    }
    let n_kernels = obs.len() + 1;
    let mut weights = vec![vec![PRIOR_WEIGHT / n_kernels as f64; n_choices]; n_kernels];
    for (row, &o) in weights.iter_mut().zip(obs) {
        row[o as usize] += 1.0;
    }
    for row in &mut weights {
        let s: f64 = row.iter().sum();
        let s = if s == 0.0 { 1.0 } else { s };
        row.iter_mut().for_each(|w| *w /= s);
    }
    Kernels::Categorical { weights }
}

fn numerical(obs: &[f64], d: &Distribution) -> Kernels {
    let (dlow, dhigh, log, step) = bounds(d);
    let (mut low, mut high) = (dlow, dhigh);
    if step != 0.0 {
        low -= step / 2.0;
        high += step / 2.0;
    }
    let mus: Vec<f64> = if log {
        low = low.ln();
        high = high.ln();
        obs.iter().map(|o| o.ln()).collect()
    } else {
        obs.to_vec()
    };
    let n = mus.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| mus[a].total_cmp(&mus[b]));
    let mut e = Vec::with_capacity(n + 2);
    e.push(low);
    e.extend(order.iter().map(|&i| mus[i]));
    e.push(high);
    let mut sorted_sigmas: Vec<f64> = (1..=n)
        .map(|i| (e[i] - e[i - 1]).max(e[i + 1] - e[i]))
        .collect();
    if e.len() >= 4 {
        sorted_sigmas[0] = e[2] - e[1];
        sorted_sigmas[n - 1] = e[n] - e[n - 1];
    }
    let maxsigma = high - low;
    let minsigma = (high - low) / (1.0 + (n + 1) as f64).min(100.0);
    let mut sigma = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        sigma[i] = sorted_sigmas[rank].clamp(minsigma, maxsigma);
    }
    let mut mu = mus;
    mu.push(0.5 * (low + high));
    sigma.push(high - low);
    Kernels::Numerical {
        mu,
        sigma,
        low: dlow,
        high: dhigh,
        log,
        step,
    }
}

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

fn log_ndtr(x: f64) -> f64 {
    if x > -20.0 {
        (0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)).ln()
    } else {
        // Asymptotic series: Φ(x) ≈ φ(x)/|x| (1 - 1/x² + 3/x⁴).
        let x2 = x * x;
        -0.5 * x2 - LN_SQRT_2PI - (-x).ln() + (1.0 - 1.0 / x2 + 3.0 / (x2 * x2)).ln()
    }
}

/// log(Φ(b) − Φ(a)), as Optuna's `_log_gauss_mass` (stable on each side).
pub fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        let (la, lb) = (log_ndtr(a), log_ndtr(b));
        lb + (-(la - lb).exp()).ln_1p()
    } else if a > 0.0 {
        log_gauss_mass(-b, -a)
    } else {
        let left = 0.5 * libm::erfc(-a / std::f64::consts::SQRT_2);
        let right = 0.5 * libm::erfc(b / std::f64::consts::SQRT_2);
        (-left - right).ln_1p()
    }
}

fn trunc_norm_logpdf(x: f64, a: f64, b: f64, loc: f64, scale: f64) -> f64 {
    let z = (x - loc) / scale;
    if z < a || z > b {
        return f64::NEG_INFINITY;
    }
    -0.5 * z * z - LN_SQRT_2PI - log_gauss_mass(a, b) - scale.ln()
}

fn trunc_norm_sample(mu: f64, sigma: f64, low: f64, high: f64, rng: &mut impl Rng) -> f64 {
    // Rejection from the normal: the kernels' centres lie in [low, high]
    // and sigma ≤ high − low, so at least a third of the draws land.
    for _ in 0..1000 {
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let v = mu + sigma * z;
        if (low..=high).contains(&v) {
            return v;
        }
    }
    mu.clamp(low, high)
}

/// Optuna's `_split_trials` for one objective: the best gamma(n) complete
/// trials (then the pruned ones that got furthest) are "below"; the rest
/// and the running ones "above". Both in trial-number order.
pub fn split<'a>(
    trials: &[&'a Trial],
    n_below: usize,
    maximize: bool,
) -> (Vec<&'a Trial>, Vec<&'a Trial>) {
    let sign = if maximize { -1.0 } else { 1.0 };
    let mut complete: Vec<&Trial> = trials
        .iter()
        .copied()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    complete.sort_by(|a, b| {
        (sign * a.value().unwrap_or(f64::NAN)).total_cmp(&(sign * b.value().unwrap_or(f64::NAN)))
    });
    let nb = n_below.min(complete.len());
    let mut below: Vec<&Trial> = complete[..nb].to_vec();
    let mut above: Vec<&Trial> = complete[nb..].to_vec();
    let mut pruned: Vec<&Trial> = trials
        .iter()
        .copied()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    let score = |t: &Trial| -> (f64, f64) {
        match t.intermediate.iter().next_back() {
            Some((&step, &v)) if v.is_nan() => (-(step as f64), f64::INFINITY),
            Some((&step, &v)) => (-(step as f64), sign * v),
            None => (1.0, 0.0),
        }
    };
    pruned.sort_by(|a, b| {
        let (sa, sb) = (score(a), score(b));
        sa.0.total_cmp(&sb.0).then(sa.1.total_cmp(&sb.1))
    });
    let nb = n_below.saturating_sub(below.len()).min(pruned.len());
    below.extend(&pruned[..nb]);
    above.extend(&pruned[nb..]);
    above.extend(
        trials
            .iter()
            .copied()
            .filter(|t| t.state == TrialState::Running),
    );
    below.sort_by_key(|t| t.number);
    above.sort_by_key(|t| t.number);
    (below, above)
}

fn observations(trials: &[&Trial], names: &[&str]) -> Vec<Vec<f64>> {
    trials
        .iter()
        .filter_map(|t| {
            names
                .iter()
                .map(|n| t.param(n).map(|p| p.internal))
                .collect()
        })
        .collect()
}

fn random_point(space: &[(String, Distribution)], rng: &mut impl Rng) -> Vec<f64> {
    space
        .iter()
        .map(|(_, d)| match d {
            Distribution::Categorical { choices } => rng.random_range(0..choices.len()) as f64,
            _ => {
                let (low, high, log, step) = bounds(d);
                let (l, h) = (low - step / 2.0, high + step / 2.0);
                let v = if log {
                    rng.random_range(l.ln()..h.ln()).exp()
                } else {
                    rng.random_range(l..h)
                };
                if step != 0.0 {
                    (low + ((v - low) / step).round() * step).clamp(low, high)
                } else {
                    v.clamp(low, high)
                }
            }
        })
        .collect()
}

/// What a sampler picks for a new trial: internal values per parameter of
/// `space`, or None when a grid is used up. `trials` are the study's
/// other trials.
pub fn sample(
    kind: SamplerKind,
    space: &[(String, Distribution)],
    trials: &[&Trial],
    maximize: bool,
    rng: &mut impl Rng,
) -> Option<Vec<f64>> {
    match kind {
        SamplerKind::Random => Some(random_point(space, rng)),
        SamplerKind::Grid => grid_point(space, trials),
        SamplerKind::Tpe => {
            let finished = trials
                .iter()
                .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
                .count();
            if finished < N_STARTUP_TRIALS {
                return Some(random_point(space, rng));
            }
            let usable: Vec<&Trial> = trials
                .iter()
                .copied()
                .filter(|t| {
                    matches!(
                        t.state,
                        TrialState::Complete | TrialState::Pruned | TrialState::Running
                    )
                })
                .collect();
            let (below, above) = split(&usable, default_gamma(finished), maximize);
            // Single-valued parameters teach nothing: sampled apart.
            let learn: Vec<usize> = (0..space.len()).filter(|&i| !space[i].1.single()).collect();
            let names: Vec<&str> = learn.iter().map(|&i| space[i].0.as_str()).collect();
            let dists: Vec<Distribution> = learn.iter().map(|&i| space[i].1.clone()).collect();
            let l = ParzenEstimator::new(&observations(&below, &names), &dists);
            let g = ParzenEstimator::new(&observations(&above, &names), &dists);
            let best = (0..N_EI_CANDIDATES)
                .map(|_| l.sample(rng))
                .map(|x| (l.log_pdf(&x) - g.log_pdf(&x), x))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, x)| x)?;
            let mut point = random_point(space, rng);
            for (j, &i) in learn.iter().enumerate() {
                point[i] = best[j];
            }
            Some(point)
        }
    }
}

/// The first grid point (row-major over the space) no trial holds yet.
fn grid_point(space: &[(String, Distribution)], trials: &[&Trial]) -> Option<Vec<f64>> {
    let axes: Vec<Vec<f64>> = space.iter().map(|(_, d)| d.grid()).collect::<Option<_>>()?;
    let total: usize = axes.iter().map(Vec::len).product();
    (0..total)
        .map(|mut idx| {
            let mut point = vec![0.0; axes.len()];
            for (i, axis) in axes.iter().enumerate().rev() {
                point[i] = axis[idx % axis.len()];
                idx /= axis.len();
            }
            point
        })
        .find(|point| {
            !trials.iter().any(|t| {
                space
                    .iter()
                    .zip(point)
                    .all(|((n, _), v)| t.param(n).is_some_and(|p| (p.internal - v).abs() < 1e-9))
            })
        })
}

/// The seed of trial `number`'s sampling: the sweep's seed and the trial
/// mixed (splitmix64), so trials draw independently and reproducibly.
pub fn trial_seed(seed: u64, number: u64) -> u64 {
    let mut z = seed ^ number.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How many points a grid has (None: a parameter has no grid).
pub fn grid_size(space: &[(String, Distribution)]) -> Option<usize> {
    space
        .iter()
        .map(|(_, d)| d.grid().map(|g| g.len()))
        .product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_ramp_after_25() {
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-12);
        assert_eq!(w[4], 1.0);
        assert_eq!(default_gamma(11), 2);
        assert_eq!(default_gamma(1000), 25);
    }

    #[test]
    fn a_gauss_mass_is_a_probability() {
        assert!((log_gauss_mass(-1e9, 1e9)).abs() < 1e-12);
        let half = log_gauss_mass(0.0, 50.0).exp();
        assert!((half - 0.5).abs() < 1e-12);
        assert!(log_gauss_mass(-40.0, -39.0).is_finite());
        assert!(log_gauss_mass(39.0, 40.0).is_finite());
    }

    #[test]
    fn random_points_spread_over_the_range() {
        use rand::SeedableRng;
        let space = vec![(
            "warmup_ratio".to_string(),
            Distribution::Float {
                low: 0.0,
                high: 0.2,
                log: false,
                step: None,
            },
        )];
        let xs: Vec<f64> = (0..400u64)
            .map(|n| {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(trial_seed(42, n));
                random_point(&space, &mut rng)[0]
            })
            .collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let low = xs.iter().filter(|x| **x < 0.1).count();
        assert!((mean - 0.1).abs() < 0.01, "{mean}");
        assert!((160..240).contains(&low), "{low}");
    }

    #[test]
    fn samples_stay_in_range_and_on_steps() {
        let d = vec![
            Distribution::Float {
                low: 1e-5,
                high: 1e-3,
                log: true,
                step: None,
            },
            Distribution::Int {
                low: 2,
                high: 10,
                log: false,
                step: 2,
            },
        ];
        let pe = ParzenEstimator::new(&[vec![1e-4, 4.0], vec![5e-4, 8.0]], &d);
        let mut rng = rand::rng();
        for _ in 0..200 {
            let x = pe.sample(&mut rng);
            assert!((1e-5..=1e-3).contains(&x[0]), "{x:?}");
            assert!(
                x[1] as i64 % 2 == 0 && (2.0..=10.0).contains(&x[1]),
                "{x:?}"
            );
            assert!(pe.log_pdf(&x).is_finite());
        }
    }
}
