//! y = x·Wᵀ + b for a few rows (single-sentence prediction), on the CPU.
//!
//! The gemm crate packs the whole weight matrix on every call, which for
//! 10-30 rows costs more than the arithmetic (60% of a prediction's time in
//! the profile). With W stored (out, in) row-major, each output is a dot
//! product of two contiguous rows: this op streams W once, keeps the few
//! x rows in L1, and uses AVX-512 or AVX2 FMAs when the CPU has them.
//! The backward uses ordinary matmuls.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// At most this many rows take the small path: up to here it beat the gemm
/// crate on every MiniLM shape measured (384×384, 384×1536, 1536×384).
pub const MAX_ROWS: usize = 64;

/// Four dot products of x with four W rows (portable fallback).
fn dot4_plain(x: &[f32], w: [&[f32]; 4]) -> [f32; 4] {
    let mut out = [0f32; 4];
    for (o, wr) in out.iter_mut().zip(w) {
        *o = x.iter().zip(wr).map(|(a, b)| a * b).sum();
    }
    out
}

/// x is loaded once per 16 floats for four W rows, and the four
/// accumulators are independent FMA chains.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot4_avx512(x: &[f32], w: [&[f32]; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let k = x.len();
    let body = k / 16 * 16;
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut o = 0;
    while o < body {
        let xv = _mm512_loadu_ps(x.as_ptr().add(o));
        for r in 0..4 {
            acc[r] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w[r].as_ptr().add(o)), acc[r]);
        }
        o += 16;
    }
    let mut out = [0f32; 4];
    for r in 0..4 {
        let mut s = _mm512_reduce_add_ps(acc[r]);
        for t in body..k {
            s += x[t] * w[r][t];
        }
        out[r] = s;
    }
    out
}

/// Two x rows against four W rows: eight independent FMA chains, and each
/// W load serves two rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot2x4_avx512(x0: &[f32], x1: &[f32], w: [&[f32]; 4]) -> [[f32; 4]; 2] {
    use std::arch::x86_64::*;
    let k = x0.len();
    let body = k / 16 * 16;
    let mut a = [[_mm512_setzero_ps(); 4]; 2];
    let mut o = 0;
    while o < body {
        let xv0 = _mm512_loadu_ps(x0.as_ptr().add(o));
        let xv1 = _mm512_loadu_ps(x1.as_ptr().add(o));
        for r in 0..4 {
            let wv = _mm512_loadu_ps(w[r].as_ptr().add(o));
            a[0][r] = _mm512_fmadd_ps(xv0, wv, a[0][r]);
            a[1][r] = _mm512_fmadd_ps(xv1, wv, a[1][r]);
        }
        o += 16;
    }
    let mut out = [[0f32; 4]; 2];
    for (i, x) in [x0, x1].into_iter().enumerate() {
        for r in 0..4 {
            let mut s = _mm512_reduce_add_ps(a[i][r]);
            for t in body..k {
                s += x[t] * w[r][t];
            }
            out[i][r] = s;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot4_avx2(x: &[f32], w: [&[f32]; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let k = x.len();
    let body = k / 8 * 8;
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut o = 0;
    while o < body {
        let xv = _mm256_loadu_ps(x.as_ptr().add(o));
        for r in 0..4 {
            acc[r] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w[r].as_ptr().add(o)), acc[r]);
        }
        o += 8;
    }
    let mut out = [0f32; 4];
    for r in 0..4 {
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r]);
        let mut s: f32 = lanes.iter().sum();
        for t in body..k {
            s += x[t] * w[r][t];
        }
        out[r] = s;
    }
    out
}

/// Two x rows against four W rows (eight accumulators): each W load serves
/// both rows, 6 loads per 8 FMAs instead of 5 per 4. Each row's sums are
/// added in the same order as `dot4_avx2`'s, so a row's result does not
/// depend on whether it was paired.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot2x4_avx2(x0: &[f32], x1: &[f32], w: [&[f32]; 4]) -> [[f32; 4]; 2] {
    use std::arch::x86_64::*;
    let k = x0.len();
    let body = k / 8 * 8;
    let mut a = [[_mm256_setzero_ps(); 4]; 2];
    let mut o = 0;
    while o < body {
        let xv0 = _mm256_loadu_ps(x0.as_ptr().add(o));
        let xv1 = _mm256_loadu_ps(x1.as_ptr().add(o));
        for r in 0..4 {
            let wv = _mm256_loadu_ps(w[r].as_ptr().add(o));
            a[0][r] = _mm256_fmadd_ps(xv0, wv, a[0][r]);
            a[1][r] = _mm256_fmadd_ps(xv1, wv, a[1][r]);
        }
        o += 8;
    }
    let mut out = [[0f32; 4]; 2];
    for (i, x) in [x0, x1].into_iter().enumerate() {
        for r in 0..4 {
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), a[i][r]);
            let mut s: f32 = lanes.iter().sum();
            for t in body..k {
                s += x[t] * w[r][t];
            }
            out[i][r] = s;
        }
    }
    out
}

type Dot4 = fn(&[f32], [&[f32]; 4]) -> [f32; 4];
type Dot2x4 = fn(&[f32], &[f32], [&[f32]; 4]) -> [[f32; 4]; 2];

/// The fastest kernels this CPU runs.
#[derive(Clone, Copy)]
struct Kernels {
    dot4: Dot4,
    dot2x4: Dot2x4,
}

fn kernels() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // Safety (both): the CPU has AVX-512F; every x and W row has
            // the same length k.
            return Kernels {
                dot4: |x, w| unsafe { dot4_avx512(x, w) },
                dot2x4: |x0, x1, w| unsafe { dot2x4_avx512(x0, x1, w) },
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // Safety (both): as above, with AVX2 and FMA.
            return Kernels {
                dot4: |x, w| unsafe { dot4_avx2(x, w) },
                dot2x4: |x0, x1, w| unsafe { dot2x4_avx2(x0, x1, w) },
            };
        }
    }
    Kernels {
        dot4: dot4_plain,
        dot2x4: |x0, x1, w| [dot4_plain(x0, w), dot4_plain(x1, w)],
    }
}

/// out (m, cols) = x · W[j0..j0 + cols]ᵀ + b[j0..]: four W rows at a time
/// (kept in L1) against the x rows, two by two.
fn block(kern: Kernels, x: &[f32], w: &[f32], b: &[f32], k: usize, j0: usize, out: &mut [f32]) {
    let m = x.len() / k;
    let cols = out.len() / m;
    let row = |j: usize| &w[j * k..(j + 1) * k];
    let xr = |i: usize| &x[i * k..(i + 1) * k];
    let mut jj = 0;
    while jj < cols {
        let j = j0 + jj;
        let live = (cols - jj).min(4);
        // Past the last full group of four, repeat the last row (discarded).
        let pick = |d: usize| row(j + d.min(live - 1));
        let ws = [pick(0), pick(1), pick(2), pick(3)];
        let mut put = |i: usize, d: &[f32; 4]| {
            for (r, v) in d.iter().enumerate().take(live) {
                out[i * cols + jj + r] = v + b[j + r];
            }
        };
        let mut i = 0;
        while i + 1 < m {
            let d = (kern.dot2x4)(xr(i), xr(i + 1), ws);
            put(i, &d[0]);
            put(i + 1, &d[1]);
            i += 2;
        }
        if i < m {
            put(i, &(kern.dot4)(xr(i), ws));
        }
        jj += 4;
    }
}

fn slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("small linear: {what} must be f32")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("small linear: {what} must be contiguous"),
    }
}

struct SmallLinear;

impl CustomOp3 for SmallLinear {
    fn name(&self) -> &'static str {
        "small-linear"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, w, b) = (
            slice(xs, xl, "x")?,
            slice(ws, wl, "weight")?,
            slice(bs, bl, "bias")?,
        );
        let (m, k) = xl.shape().dims2()?;
        let n = wl.dims()[0];
        // Column blocks: W rows streamed once per block, outputs per block
        // laid out (m, cols) and transposed into place afterwards.
        const COLS: usize = 64;
        let kern = kernels();
        let blocks: Vec<Vec<f32>> = {
            let run = |j0: usize| {
                let cols = COLS.min(n - j0);
                let mut out = vec![0f32; m * cols];
                block(kern, x, w, b, k, j0, &mut out);
                out
            };
            let starts: Vec<usize> = (0..n).step_by(COLS).collect();
            if m * n * k >= 1 << 20 {
                starts.into_par_iter().map(run).collect()
            } else {
                starts.into_iter().map(run).collect()
            }
        };
        let mut y = vec![0f32; m * n];
        for (bi, out) in blocks.iter().enumerate() {
            let j0 = bi * COLS;
            let cols = out.len() / m.max(1);
            for i in 0..m {
                y[i * n + j0..i * n + j0 + cols].copy_from_slice(&out[i * cols..(i + 1) * cols]);
            }
        }
        Ok((CpuStorage::F32(y), Shape::from((m, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Only what tracks gradients: a frozen weight gets none.
        let dx = x.track_op().then(|| dy.matmul(w)).transpose()?;
        let dw = w.track_op().then(|| dy.t()?.matmul(x)).transpose()?;
        let db = b.track_op().then(|| dy.sum(0)).transpose()?;
        Ok((dx, dw, db))
    }
}

/// x (m, k) · wᵀ + b for f32 CPU tensors with m ≤ [`MAX_ROWS`]; None otherwise.
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Option<Tensor>> {
    let small = x.device().is_cpu()
        && x.dtype() == candle_core::DType::F32
        && w.dtype() == candle_core::DType::F32
        && x.rank() == 2
        && (1..=MAX_ROWS).contains(&x.dim(0)?)
        && x.dim(1)? > 0;
    if !small {
        return Ok(None);
    }
    Ok(Some(x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &b.contiguous()?,
        SmallLinear,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{grad_check, randn};
    use candle_core::{Device, Var};

    #[test]
    fn matches_matmul_forward_and_backward() {
        // Odd and even row counts, k not a multiple of 16, n not a multiple
        // of four or of the column block.
        for (m, k, n) in [(1, 384, 384), (17, 100, 70), (64, 256, 1024), (3, 7, 5)] {
            let x = Var::from_tensor(&randn(&[m, k], 1)).unwrap();
            let w = Var::from_tensor(&randn(&[n, k], 2)).unwrap();
            let b = Var::from_tensor(&randn(&[n], 3)).unwrap();
            let fast = linear(&x, &w, &b).unwrap().unwrap();
            let slow = x
                .matmul(&w.t().unwrap())
                .unwrap()
                .broadcast_add(&b)
                .unwrap();
            grad_check(fast, slow, &[("x", &x), ("w", &w), ("b", &b)], 1e-3, 1e-3);
        }
        let none = |x: Tensor| linear(&x, &randn(&[4, 8], 4), &randn(&[4], 5)).unwrap();
        assert!(
            none(Tensor::zeros((0, 8), candle_core::DType::F32, &Device::Cpu).unwrap()).is_none()
        );
        assert!(none(randn(&[MAX_ROWS + 1, 8], 6)).is_none());
    }
}

#[cfg(test)]
mod kernel_tests {
    use super::*;

    /// Every kernel this CPU can run agrees with the portable one.
    #[test]
    fn simd_kernels_match_the_portable_dot() {
        let mut rng = crate::rng::Rng::seeded(8);
        for k in [1usize, 15, 16, 17, 100, 384] {
            let mut v = || (0..k).map(|_| rng.normal()).collect::<Vec<f32>>();
            let (x0, x1) = (v(), v());
            let rows: Vec<Vec<f32>> = (0..4).map(|_| v()).collect();
            let w = [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
            let want = [dot4_plain(&x0, w), dot4_plain(&x1, w)];
            let close =
                |a: &[f32; 4], b: &[f32; 4]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-3);
            let kern = kernels();
            let got = (kern.dot4)(&x0, w);
            assert!(close(&got, &want[0]), "k {k}: {got:?} vs {:?}", want[0]);
            let got = (kern.dot2x4)(&x0, &x1, w);
            assert!(
                close(&got[0], &want[0]) && close(&got[1], &want[1]),
                "k {k}"
            );
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // Safety: the features were detected.
                let got = unsafe { dot4_avx2(&x0, w) };
                assert!(close(&got, &want[0]), "avx2, k {k}");
                // Paired rows give bit for bit what each row gives alone.
                let pair = unsafe { dot2x4_avx2(&x0, &x1, w) };
                assert_eq!(pair, unsafe { [dot4_avx2(&x0, w), dot4_avx2(&x1, w)] });
            }
        }
    }
}
