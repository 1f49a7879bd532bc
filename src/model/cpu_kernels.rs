//! Row kernels of the CPU fused ops, written so LLVM vectorises them, and
//! compiled for AVX-512, AVX2+FMA and the baseline (picked at run time by
//! `multiversion`): the default x86-64 target only has SSE2. Reductions
//! keep 16 partial sums (a serial float sum cannot be vectorised), and exp
//! is a polynomial: libm's expf is one call per lane, and with it softmax
//! and GELU took 26% of an evaluation step. (`multiversion` takes the
//! AVX-512 variant only on CPUs with the Ice Lake / Zen 4 feature set, where
//! 512-bit code does not lower the clock; older ones get AVX2.)

use multiversion::multiversion;

const LANES: usize = 16;

/// exp(x) for x ≤ 88 (Cephes expf: n = round(x/ln 2), Cody–Waite reduction,
/// degree-6 polynomial; within 4e-7 relative of libm, tested). Below −87.3 it is 0, as the
/// true value is under f32's normal range (masked attention scores).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds to an integer (to nearest even) in the
    // low mantissa bits, with no float→int conversion.
    const ROUND: f32 = 12_582_912.0;
    let xc = x.clamp(-87.336_55, 88.0);
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let k = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let y = e * f32::from_bits(((k + 127) << 23) as u32);
    if x < -87.336_55 {
        0.0
    } else {
        y
    }
}

/// erf(x) by Abramowitz & Stegun 7.1.26 (|error| < 6e-7 in f32): a
/// polynomial and one exp, several times faster than libm's erff.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// Σ f(x) over a slice, in 16 lanes.
#[inline(always)]
fn sum_by(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for j in 0..LANES {
            acc[j] += f(c[j]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn sum(xs: &[f32]) -> f32 {
    sum_by(xs, |v| v)
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let n = a.len().min(b.len());
    let split = n - n % LANES;
    for (ca, cb) in a[..split]
        .chunks_exact(LANES)
        .zip(b[..split].chunks_exact(LANES))
    {
        for j in 0..LANES {
            acc[j] += ca[j] * cb[j];
        }
    }
    let tail: f32 = a[split..n]
        .iter()
        .zip(&b[split..n])
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for c in chunks {
        for j in 0..LANES {
            acc[j] = if c[j] > acc[j] { c[j] } else { acc[j] };
        }
    }
    acc.iter().fold(tail, |m, &v| m.max(v))
}

/// y = softmax(x · scale + mask) over one row.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
pub fn softmax_row(x: &[f32], mask: &[f32], scale: f32, y: &mut [f32]) {
    for ((o, &v), &m) in y.iter_mut().zip(x).zip(mask) {
        *o = v * scale + m;
    }
    let top = max(y);
    for o in y.iter_mut() {
        *o = exp(*o - top);
    }
    let inv = 1.0 / sum(y);
    for o in y.iter_mut() {
        *o *= inv;
    }
}

/// dx = scale · y · (dy − Σ dy·y) over one row.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
pub fn softmax_grad_row(y: &[f32], dy: &[f32], scale: f32, dx: &mut [f32]) {
    let d = dot(y, dy);
    for ((o, &p), &g) in dx.iter_mut().zip(y).zip(dy) {
        *o = scale * p * (g - d);
    }
}

/// y = x · Φ(x) (GELU with the exact erf).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
pub fn gelu_erf(x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = 0.5 * v * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// dx = dy · (Φ(x) + x·φ(x)).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
pub fn gelu_erf_grad(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    for ((o, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        let cdf = 0.5 * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
        let pdf = FRAC_1_SQRT_2PI * exp(-0.5 * v * v);
        *o = g * (cdf + v * pdf);
    }
}

/// The high 32 bits of splitmix64's i-th output from state `seed`: the
/// dropout hash, the same formula as `mix` in `fused_kernels.cu`, so a run's
/// masks are the same on the CPU and the GPU.
#[inline(always)]
pub fn mix(seed: u64, i: u64) -> u32 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 32) as u32
}

/// Dropout of elements `first..first + x.len()`: element i is kept (and
/// scaled) when mix(seed, i) ≥ threshold.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
pub fn hash_dropout(x: &[f32], first: u64, seed: u64, threshold: u32, scale: f32, y: &mut [f32]) {
    for (k, (o, &v)) in y.iter_mut().zip(x).enumerate() {
        let keep = mix(seed, first + k as u64) >= threshold;
        *o = if keep { v * scale } else { 0.0 };
    }
}

/// Mean and 1/std of one row.
#[inline(always)]
fn moments(x: &[f32], eps: f32) -> (f32, f32) {
    let h = x.len().max(1) as f32;
    let mean = sum(x) / h;
    let var = sum_by(x, |v| (v - mean) * (v - mean)) / h;
    (mean, 1.0 / (var + eps).sqrt())
}

/// y = (x − mean) / std · g + b over one row.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
pub fn layer_norm_row(x: &[f32], g: &[f32], b: &[f32], eps: f32, y: &mut [f32]) {
    let (mean, rstd) = moments(x, eps);
    for (((o, &v), &gi), &bi) in y.iter_mut().zip(x).zip(g).zip(b) {
        *o = (v - mean) * rstd * gi + bi;
    }
}

/// One row of layer norm's backward: writes dx and adds this row's terms
/// into dg and db. `xhat` is scratch of the row's width.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma"))]
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_grad_row(
    x: &[f32],
    dy: &[f32],
    g: &[f32],
    eps: f32,
    dx: &mut [f32],
    dg: &mut [f32],
    db: &mut [f32],
    xhat: &mut [f32],
) {
    let h = x.len().max(1) as f32;
    let (mean, rstd) = moments(x, eps);
    for (o, &v) in xhat.iter_mut().zip(x) {
        *o = (v - mean) * rstd;
    }
    // dx first holds dy·g, the gradient with respect to x̂.
    for ((o, &d), &gi) in dx.iter_mut().zip(dy).zip(g) {
        *o = d * gi;
    }
    let mean_d = sum(dx) / h;
    let mean_dx = dot(dx, xhat) / h;
    for ((((o, &d), &xh), dgi), dbi) in dx.iter_mut().zip(dy).zip(xhat.iter()).zip(dg).zip(db) {
        *dgi += d * xh;
        *dbi += d;
        *o = rstd * (*o - mean_d - xh * mean_dx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_within_a_few_ulp() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.001_37;
        }
        assert!(worst < 4e-7, "worst relative error {worst}");
        assert_eq!(exp(-1e9), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn fast_erf_is_within_6e7_of_libm() {
        let worst = (-6000..=6000)
            .map(|i| i as f32 / 1000.0)
            .map(|x| (erf(x) - libm::erff(x)).abs())
            .fold(0f32, f32::max);
        assert!(worst < 6e-7, "{worst}");
    }

    #[test]
    fn softmax_row_sums_to_one_and_drops_masked_columns() {
        let x: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 4.0).collect();
        let mut mask = vec![0f32; 37];
        mask[5] = -1e9;
        let mut y = vec![0f32; 37];
        softmax_row(&x, &mask, 0.5, &mut y);
        assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(y[5], 0.0);
        let top = x.iter().map(|v| v * 0.5).fold(f32::NEG_INFINITY, f32::max);
        let z: f64 = x
            .iter()
            .zip(&mask)
            .map(|(v, m)| ((v * 0.5 + m - top) as f64).exp())
            .sum();
        for i in 0..37 {
            let want = ((x[i] * 0.5 + mask[i] - top) as f64).exp() / z;
            assert!((y[i] as f64 - want).abs() < 1e-6, "column {i}");
        }
    }

    #[test]
    fn dropout_hash_is_splitmix64() {
        // splitmix64's first outputs from state 0 (its reference test vector).
        assert_eq!(mix(0, 0), 0xE220_A839);
        assert_eq!(mix(0, 1), 0x6E78_9E6A);
    }

    #[test]
    fn reductions_cover_the_tail() {
        let xs: Vec<f32> = (0..35).map(|i| i as f32).collect();
        assert_eq!(sum(&xs), (0..35).sum::<i32>() as f32);
        assert_eq!(max(&xs), 34.0);
        assert_eq!(max(&xs[..3]), 2.0);
        assert_eq!(dot(&xs, &xs), (0..35).map(|i| i * i).sum::<i32>() as f32);
    }
}
