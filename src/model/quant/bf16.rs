//! A linear layer with bf16 weights and f32 activations and outputs: half
//! the bytes of f32 weights, which is what single-sentence latency is
//! bound by. With AVX512-BF16 the activations are rounded to bf16 and
//! `vdpbf16ps` multiplies pairs (products exact, sums in f32); elsewhere the
//! kernel widens the weights to f32 (a shift) and multiplies f32
//! activations with FMAs. Layout: blocks of 16 outputs, each 2 inputs × 16
//! outputs in 64 bytes (`vdpbf16ps`'s operand; the widening kernel takes
//! even and odd inputs from the same load).

use super::tiles::{for_each_tile, OutPtr};
use half::bf16;

pub const BLOCK: usize = 16;
const PAIR: usize = 2;
pub const TILE_M: usize = 4;
pub const TILE_N: usize = 4 * BLOCK;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bf16Path {
    /// `vdpbf16ps` (AVX512-BF16), activations rounded to bf16.
    Avx512Bf16,
    /// Weights widened to f32, FMAs on 256-bit registers (AVX2 + FMA).
    Avx2Widen,
    /// Portable reference of the widening kernel.
    Scalar,
}

impl Bf16Path {
    pub const ALL: [Bf16Path; 3] = [Bf16Path::Avx512Bf16, Bf16Path::Avx2Widen, Bf16Path::Scalar];

    pub fn name(self) -> &'static str {
        match self {
            Bf16Path::Avx512Bf16 => "avx512-bf16",
            Bf16Path::Avx2Widen => "avx2-widen",
            Bf16Path::Scalar => "scalar",
        }
    }

    pub fn missing(self) -> Option<&'static str> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                Bf16Path::Avx512Bf16 if !(has!("avx512f") && has!("avx512bf16")) => {
                    Some("AVX512-BF16")
                }
                Bf16Path::Avx2Widen if !(has!("avx2") && has!("fma")) => Some("AVX2 and FMA"),
                _ => None,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        match self {
            Bf16Path::Scalar => None,
            _ => Some("an x86-64 CPU"),
        }
    }

    /// The fastest path this CPU runs (`TUNEBENCH_BF16_KERNEL` picks another).
    pub fn best() -> Bf16Path {
        static BEST: std::sync::OnceLock<Bf16Path> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            super::tiles::pick_path(
                &Bf16Path::ALL,
                Some("TUNEBENCH_BF16_KERNEL"),
                Bf16Path::name,
                |p| p.missing().is_none(),
                Bf16Path::Scalar,
            )
        })
    }
}

pub struct Bf16Weight {
    pub n: usize,
    pub k: usize,
    /// Inputs rounded up to a pair.
    kp: usize,
    data: Vec<u16>,
}

impl Bf16Weight {
    /// Round W (n, k) to bf16 (to nearest even, as PyTorch's `.to(bfloat16)`).
    pub fn from_f32(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "weight is not {n}×{k}");
        let kp = k.div_ceil(PAIR) * PAIR;
        let np = n.div_ceil(BLOCK) * BLOCK;
        let mut data = vec![0u16; np * kp];
        for c in 0..n {
            for i in 0..k {
                data[Self::index(kp, c, i)] = bf16::from_f32(w[c * k + i]).to_bits();
            }
        }
        Bf16Weight { n, k, kp, data }
    }

    fn index(kp: usize, c: usize, i: usize) -> usize {
        ((c / BLOCK) * (kp / PAIR) + i / PAIR) * BLOCK * PAIR + (c % BLOCK) * PAIR + i % PAIR
    }

    /// The weight as stored, in f32 (n, k).
    pub fn to_f32(&self) -> Vec<f32> {
        let mut w = vec![0f32; self.n * self.k];
        for c in 0..self.n {
            for i in 0..self.k {
                w[c * self.k + i] = bf16::from_bits(self.data[Self::index(self.kp, c, i)]).to_f32();
            }
        }
        w
    }

    /// y (m, n) = x (m, k) · Wᵀ + bias with `path`'s kernel.
    pub fn matmul(&self, x: &[f32], m: usize, bias: &[f32], path: Bf16Path) -> Vec<f32> {
        let (k, kp, n) = (self.k, self.kp, self.n);
        assert!(x.len() == m * k && bias.len() == n);
        // Rows padded to a pair; bf16 codes too when the kernel takes them.
        let mut xp = vec![0f32; m * kp];
        for (d, s) in xp.chunks_mut(kp).zip(x.chunks(k)) {
            d[..k].copy_from_slice(s);
        }
        let xb: Vec<u16> = match path {
            Bf16Path::Avx512Bf16 => xp.iter().map(|&v| bf16::from_f32(v).to_bits()).collect(),
            _ => Vec::new(),
        };
        let mut y = vec![0f32; m * n];
        let ptr = OutPtr(y.as_mut_ptr());
        let blocks = n.div_ceil(BLOCK);
        for_each_tile(
            m,
            blocks,
            TILE_M,
            TILE_N / BLOCK,
            m * n * kp,
            &|r, b0, rows, nb| {
                let mut acc = [[0f32; TILE_N]; TILE_M];
                let w = &self.data[Self::index(kp, b0 * BLOCK, 0)..];
                tile(
                    path,
                    &xp[r * kp..],
                    xb.get(r * kp..).unwrap_or(&[]),
                    kp,
                    rows,
                    w,
                    nb,
                    &mut acc,
                );
                let c0 = b0 * BLOCK;
                let cols = (nb * BLOCK).min(n - c0);
                for (i, a) in acc.iter().enumerate().take(rows) {
                    // Safety: each (row, output) belongs to exactly one tile.
                    let out =
                        unsafe { std::slice::from_raw_parts_mut(ptr.at((r + i) * n + c0), cols) };
                    for j in 0..cols {
                        out[j] = a[j] + bias[c0 + j];
                    }
                }
            },
        );
        y
    }
}

#[allow(clippy::too_many_arguments)]
fn tile(
    path: Bf16Path,
    x: &[f32],
    xb: &[u16],
    kp: usize,
    rows: usize,
    w: &[u16],
    nb: usize,
    acc: &mut [[f32; TILE_N]; TILE_M],
) {
    assert!(x.len() >= rows * kp && w.len() >= nb * kp * BLOCK && rows <= TILE_M && nb <= 4);
    #[cfg(target_arch = "x86_64")]
    {
        assert!(
            path.missing().is_none(),
            "{} kernel on a CPU without it",
            path.name()
        );
        // Safety: features checked above; slice sizes asserted.
        unsafe {
            match path {
                Bf16Path::Avx512Bf16 => {
                    assert!(xb.len() >= rows * kp);
                    return x86::dpbf16_dispatch(xb, kp, rows, w, nb, acc);
                }
                Bf16Path::Avx2Widen => return x86::widen_dispatch(x, kp, rows, w, nb, acc),
                Bf16Path::Scalar => {}
            }
        }
    }
    let _ = xb;
    tile_scalar(x, kp, rows, w, nb, acc);
}

/// The widening kernel's arithmetic, one FMA at a time in its order.
fn tile_scalar(
    x: &[f32],
    kp: usize,
    rows: usize,
    w: &[u16],
    nb: usize,
    acc: &mut [[f32; TILE_N]; TILE_M],
) {
    let wf = |v: u16| f32::from_bits((v as u32) << 16);
    for (r, a) in acc.iter_mut().enumerate().take(rows) {
        let xr = &x[r * kp..(r + 1) * kp];
        for b in 0..nb {
            let wb = &w[b * kp * BLOCK..(b + 1) * kp * BLOCK];
            for j in 0..BLOCK {
                let mut s = 0f32;
                for g in 0..kp / PAIR {
                    let at = (g * BLOCK + j) * PAIR;
                    s = xr[g * PAIR].mul_add(wf(wb[at]), s);
                    s = xr[g * PAIR + 1].mul_add(wf(wb[at + 1]), s);
                }
                a[b * BLOCK + j] = s;
            }
        }
    }
}

/// `vdpbf16ps`'s arithmetic in scalar: per pair, the odd product is added
/// first, then the even one; the products of two bf16 values are exact.
#[cfg(test)]
fn tile_scalar_dpbf16(
    xb: &[u16],
    kp: usize,
    rows: usize,
    w: &[u16],
    nb: usize,
    acc: &mut [[f32; TILE_N]; TILE_M],
) {
    let f = |v: u16| f32::from_bits((v as u32) << 16);
    for (r, a) in acc.iter_mut().enumerate().take(rows) {
        let xr = &xb[r * kp..(r + 1) * kp];
        for b in 0..nb {
            let wb = &w[b * kp * BLOCK..(b + 1) * kp * BLOCK];
            for j in 0..BLOCK {
                let mut s = 0f32;
                for g in 0..kp / PAIR {
                    let at = (g * BLOCK + j) * PAIR;
                    s += f(xr[g * PAIR + 1]) * f(wb[at + 1]);
                    s += f(xr[g * PAIR]) * f(wb[at]);
                }
                a[b * BLOCK + j] = s;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BLOCK, PAIR, TILE_M, TILE_N};
    use std::arch::x86_64::*;

    use crate::model::quant::tiles::tile_dispatch;
    tile_dispatch!(dpbf16_dispatch, dpbf16, u16, u16, f32);
    tile_dispatch!(widen_dispatch, widen, f32, u16, f32);

    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn dpbf16<const R: usize, const NB: usize>(
        x: *const u16,
        kp: usize,
        w: *const u16,
        acc: &mut [[f32; TILE_N]; TILE_M],
    ) {
        let mut a = [[_mm512_setzero_ps(); NB]; R];
        let block = kp * BLOCK;
        for g in 0..kp / PAIR {
            let mut wv = [_mm512_setzero_si512(); NB];
            for (b, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(w.add(b * block + g * BLOCK * PAIR) as *const _);
            }
            for (r, ar) in a.iter_mut().enumerate() {
                let pair = (x.add(r * kp + g * PAIR) as *const i32).read_unaligned();
                let xv: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                for (ab, &wb) in ar.iter_mut().zip(&wv) {
                    *ab = _mm512_dpbf16_ps(*ab, xv, std::mem::transmute::<__m512i, __m512bh>(wb));
                }
            }
        }
        for (r, ar) in a.iter().enumerate() {
            for (b, &v) in ar.iter().enumerate() {
                _mm512_storeu_ps(acc[r][b * BLOCK..].as_mut_ptr(), v);
            }
        }
    }

    /// One 32-byte load holds 8 outputs × (even, odd) input: the even
    /// weight is the lane shifted up 16 bits, the odd one the lane's high
    /// half with the low half cleared.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn widen<const R: usize, const NB: usize>(
        x: *const f32,
        kp: usize,
        w: *const u16,
        acc: &mut [[f32; TILE_N]; TILE_M],
    ) {
        let high = _mm256_set1_epi32(0xFFFF_0000u32 as i32);
        let block = kp * BLOCK;
        for b in 0..NB {
            let wb = w.add(b * block);
            let mut a = [[_mm256_setzero_ps(); 2]; R];
            for g in 0..kp / PAIR {
                let p = wb.add(g * BLOCK * PAIR);
                let l0 = _mm256_loadu_si256(p as *const _);
                let l1 = _mm256_loadu_si256(p.add(16) as *const _);
                let even = [
                    _mm256_castsi256_ps(_mm256_slli_epi32(l0, 16)),
                    _mm256_castsi256_ps(_mm256_slli_epi32(l1, 16)),
                ];
                let odd = [
                    _mm256_castsi256_ps(_mm256_and_si256(l0, high)),
                    _mm256_castsi256_ps(_mm256_and_si256(l1, high)),
                ];
                for (r, ar) in a.iter_mut().enumerate() {
                    let x0 = _mm256_set1_ps(*x.add(r * kp + g * PAIR));
                    let x1 = _mm256_set1_ps(*x.add(r * kp + g * PAIR + 1));
                    for h in 0..2 {
                        ar[h] = _mm256_fmadd_ps(x0, even[h], ar[h]);
                        ar[h] = _mm256_fmadd_ps(x1, odd[h], ar[h]);
                    }
                }
            }
            for (r, ar) in a.iter().enumerate() {
                let out = acc[r][b * BLOCK..].as_mut_ptr();
                _mm256_storeu_ps(out, ar[0]);
                _mm256_storeu_ps(out.add(8), ar[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut rng = crate::rng::Rng::seeded(seed);
        (0..n).map(|_| rng.normal() * scale).collect()
    }

    #[test]
    fn every_kernel_on_this_cpu_matches_its_scalar_reference() {
        for (m, k, n) in [(1, 384, 384), (5, 37, 50), (9, 1536, 384), (130, 64, 200)] {
            let x = values(m * k, 1, 1.0);
            let w = Bf16Weight::from_f32(&values(n * k, 2, 0.05), n, k);
            let bias = values(n, 3, 1.0);
            let want = w.matmul(&x, m, &bias, Bf16Path::Scalar);
            for path in Bf16Path::ALL {
                if let Some(lack) = path.missing() {
                    eprintln!("skipped the {} kernel: this CPU lacks {lack}", path.name());
                    continue;
                }
                let got = w.matmul(&x, m, &bias, path);
                let reference = match path {
                    // Its own arithmetic: bf16 activations, odd product first.
                    Bf16Path::Avx512Bf16 => dpbf16_reference(&w, &x, m, &bias),
                    _ => want.clone(),
                };
                for (i, (g, r)) in got.iter().zip(&reference).enumerate() {
                    assert!(
                        (g - r).abs() <= 1e-5 * r.abs().max(1.0),
                        "{} m {m} k {k} n {n} at {i}: {g} vs {r}",
                        path.name()
                    );
                }
                // And every path is a bf16 matmul: close to f32's.
                let wf = w.to_f32();
                let exact: Vec<f32> = (0..m * n)
                    .map(|i| {
                        let (r, c) = (i / n, i % n);
                        (0..k).map(|t| x[r * k + t] * wf[c * k + t]).sum::<f32>() + bias[c]
                    })
                    .take(8)
                    .collect();
                for (g, e) in got.iter().zip(&exact) {
                    assert!((g - e).abs() < 0.05, "{}: {g} vs {e}", path.name());
                }
            }
        }
    }

    fn dpbf16_reference(w: &Bf16Weight, x: &[f32], m: usize, bias: &[f32]) -> Vec<f32> {
        let (k, kp, n) = (w.k, w.kp, w.n);
        let mut xb = vec![0u16; m * kp];
        for r in 0..m {
            for i in 0..k {
                xb[r * kp + i] = bf16::from_f32(x[r * k + i]).to_bits();
            }
        }
        let mut y = vec![0f32; m * n];
        for r in 0..m {
            for b0 in (0..n.div_ceil(BLOCK)).step_by(4) {
                let nb = 4.min(n.div_ceil(BLOCK) - b0);
                let mut acc = [[0f32; TILE_N]; TILE_M];
                let wslice = &w.data[Bf16Weight::index(kp, b0 * BLOCK, 0)..];
                tile_scalar_dpbf16(&xb[r * kp..], kp, 1, wslice, nb, &mut acc);
                for j in 0..(nb * BLOCK).min(n - b0 * BLOCK) {
                    y[r * n + b0 * BLOCK + j] = acc[0][j] + bias[b0 * BLOCK + j];
                }
            }
        }
        y
    }

    #[test]
    fn weights_round_to_nearest_even() {
        let w = Bf16Weight::from_f32(&[1.0, 1.0 + 1.0 / 256.0, 3.0e-3, -2.5], 2, 2);
        assert_eq!(
            w.to_f32(),
            vec![1.0, 1.0, bf16::from_f32(3.0e-3).to_f32(), -2.5]
        );
    }
}
