//! Dynamic int8 quantization of a linear layer, with PyTorch's rules
//! (`quantize_dynamic` with the per-channel weight qconfig, fbgemm):
//! * weights int8, symmetric, one scale per output channel:
//!   scale = max|w| / 127.5, q = round(w / scale) clamped to −128..127;
//! * activations u8, asymmetric, with fbgemm's `reduce_range` (0..127),
//!   quantized at run time — per row here, where PyTorch takes one range
//!   for the whole batch, so a sentence's answer does not depend on what
//!   it is batched with (padding rows included);
//! * int32 accumulation, then y = sx·sw·(Σ qx·qw − zx·Σ qw) + b in f32.
//!
//! The 7-bit activation range is also what keeps AVX2's `vpmaddubsw` exact:
//! a quantized activation is at most 128 (127 plus the zero point's
//! rounding), so two products sum to at most 2·128·128 = 32768 in size,
//! and −32768..32512 fits the saturating 16-bit sum. Every kernel path
//! therefore gives the same integers, and the shared f32 epilogue the same
//! outputs, bit for bit.

use super::tiles::{for_each_tile, OutPtr};

/// Quantized activations' top value: fbgemm's 8-bit range halved.
const X_QMAX: i32 = 127;
/// The largest code a row can get (see the module comment).
const X_CODE_MAX: f32 = 128.0;
/// fbgemm's floor on an activation scale.
const SMALL_SCALE: f32 = 6.1e-5;
/// Outputs a packed block holds, and input values a group.
pub const BLOCK: usize = 16;
const GROUP: usize = 4;

/// The kernel that runs the integer matmul.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int8Path {
    /// `vpdpbusd` on 512-bit registers (AVX-512 VNNI).
    Avx512Vnni,
    /// `vpdpbusd` on 256-bit registers (AVX-VNNI, VEX-encoded).
    AvxVnni,
    /// `vpmaddubsw` + `vpmaddwd` (AVX2).
    Avx2,
    /// Portable reference.
    Scalar,
}

impl Int8Path {
    pub const ALL: [Int8Path; 4] = [
        Int8Path::Avx512Vnni,
        Int8Path::AvxVnni,
        Int8Path::Avx2,
        Int8Path::Scalar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Int8Path::Avx512Vnni => "avx512-vnni",
            Int8Path::AvxVnni => "avx-vnni",
            Int8Path::Avx2 => "avx2",
            Int8Path::Scalar => "scalar",
        }
    }

    /// Whether this CPU runs the path; when not, what it lacks.
    pub fn missing(self) -> Option<&'static str> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let ok = match self {
                Int8Path::Avx512Vnni => has!("avx512f") && has!("avx512bw") && has!("avx512vnni"),
                Int8Path::AvxVnni => has!("avx2") && has!("avxvnni"),
                Int8Path::Avx2 => has!("avx2"),
                Int8Path::Scalar => true,
            };
            match (ok, self) {
                (true, _) => None,
                (false, Int8Path::Avx512Vnni) => Some("AVX-512 VNNI"),
                (false, Int8Path::AvxVnni) => Some("AVX-VNNI"),
                (false, _) => Some("AVX2"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        match self {
            Int8Path::Scalar => None,
            _ => Some("an x86-64 CPU"),
        }
    }

    /// The fastest path this CPU runs; `TUNEBENCH_INT8_KERNEL` (a path's
    /// name) picks a slower one, to compare them.
    pub fn best() -> Int8Path {
        static BEST: std::sync::OnceLock<Int8Path> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            super::tiles::pick_path(
                &Int8Path::ALL,
                Some("TUNEBENCH_INT8_KERNEL"),
                Int8Path::name,
                |p| p.missing().is_none(),
                Int8Path::Scalar,
            )
        })
    }
}

/// How one activation row was quantized: x ≈ scale·(q − zero).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowParams {
    pub scale: f32,
    pub zero: i32,
}

/// Scale and zero point for values in [min, max], as fbgemm's
/// `ChooseQuantizationParams` picks them (range 0..127, zero included).
pub fn choose_params(min: f32, max: f32) -> RowParams {
    let (qmin, qmax) = (0i32, X_QMAX);
    let span = (qmax - qmin) as f32;
    let mut min = min.min(0.0);
    let mut max = max.max(0.0);
    let mut scale = (max as f64 - min as f64) / (qmax - qmin) as f64;
    if scale as f32 == 0.0 || (1.0f32 / scale as f32).is_infinite() {
        scale = 0.1;
    }
    if scale < SMALL_SCALE as f64 {
        let original = scale as f32;
        scale = SMALL_SCALE as f64;
        if min == 0.0 {
            max = SMALL_SCALE * span;
        } else if max == 0.0 {
            min = -SMALL_SCALE * span;
        } else {
            let amplifier = SMALL_SCALE / original;
            min *= amplifier;
            max *= amplifier;
        }
    }
    let from_min = qmin as f64 - min as f64 / scale;
    let from_max = qmax as f64 - max as f64 / scale;
    let from_min_error = (qmin as f64).abs() - (min as f64 / scale).abs();
    let from_max_error = (qmax as f64).abs() - (max as f64 / scale).abs();
    let initial = if from_min_error < from_max_error {
        from_min
    } else {
        from_max
    };
    let zero = if initial < qmin as f64 {
        qmin
    } else if initial > qmax as f64 {
        qmax
    } else {
        initial.round_ties_even() as i32
    };
    RowParams {
        scale: scale as f32,
        zero,
    }
}

/// One row's quantization parameters and codes (`out` may be longer than
/// `x`: the padding stays 0, and meets zero weights).
pub fn quantize_row(x: &[f32], out: &mut [u8]) -> RowParams {
    let (min, max) = min_max(x);
    let p = choose_params(min, max);
    codes(x, p, out);
    p
}

/// The smallest and largest value of a row (LLVM keeps a float min/max
/// loop scalar for its NaN rules, so AVX2 is spelled out).
fn min_max(x: &[f32]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // Safety: AVX2 was detected.
        return unsafe { x86::min_max(x) };
    }
    let lo = x.iter().fold(f32::INFINITY, |m, &v| m.min(v));
    let hi = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    (lo, hi)
}

/// fbgemm's `Quantize`: round(zero + x·(1/scale)), ties to even.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2+fma"))]
fn codes(x: &[f32], p: RowParams, out: &mut [u8]) {
    let inv = 1.0f32 / p.scale;
    let zero = p.zero as f32;
    for (o, &v) in out.iter_mut().zip(x) {
        // max/min drop a NaN (clamp would keep it), so t is a finite 0..=128.
        #[allow(clippy::manual_clamp)]
        let t = (zero + v * inv).round_ties_even().max(0.0).min(X_CODE_MAX);
        // Safety: t is finite and within i32 (clamped above).
        *o = unsafe { t.to_int_unchecked::<i32>() } as u8;
    }
}

/// A linear layer's weight, quantized and packed for the kernels: blocks
/// of 16 outputs, each 4 inputs × 16 outputs in 64 bytes (the operand
/// layout of `vpdpbusd`), with per-output scales and code sums.
pub struct Int8Weight {
    /// Outputs and inputs of the layer.
    pub n: usize,
    pub k: usize,
    /// Inputs rounded up to a group of 4.
    kp: usize,
    data: Vec<i8>,
    /// Per output (padded to a block with 0).
    pub scale: Vec<f32>,
    colsum: Vec<i32>,
}

/// One output channel's scale and codes: symmetric, max|w| ↦ 127.5 (PyTorch's
/// `per_channel_symmetric` observer; its `eps` floor).
pub fn quantize_channel(w: &[f32], out: &mut [i8]) -> f32 {
    let amax = w.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = (amax / 127.5).max(f32::EPSILON);
    let inv = 1.0f32 / scale;
    for (o, &v) in out.iter_mut().zip(w) {
        *o = (v * inv).round_ties_even().clamp(-128.0, 127.0) as i8;
    }
    scale
}

impl Int8Weight {
    /// Quantize W (n, k), row-major as PyTorch stores a Linear's weight.
    pub fn quantize(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "weight is not {n}×{k}");
        let kp = k.div_ceil(GROUP) * GROUP;
        let np = n.div_ceil(BLOCK) * BLOCK;
        let mut data = vec![0i8; np * kp];
        let mut scale = vec![0f32; np];
        let mut colsum = vec![0i32; np];
        // Channels in parallel (a load-time cost: ~10M weights in MiniLM).
        use rayon::prelude::*;
        let rows: Vec<(f32, Vec<i8>)> = w
            .par_chunks(k.max(1))
            .map(|wr| {
                let mut row = vec![0i8; k];
                (quantize_channel(wr, &mut row), row)
            })
            .collect();
        for (c, (s, row)) in rows.into_iter().enumerate().take(n) {
            scale[c] = s;
            colsum[c] = row.iter().map(|&q| q as i32).sum();
            let (block, lane) = (c / BLOCK, c % BLOCK);
            for (g, quad) in row.chunks(GROUP).enumerate() {
                let at = Self::offset(kp, block, g) + lane * GROUP;
                data[at..at + quad.len()].copy_from_slice(quad);
            }
        }
        Int8Weight {
            n,
            k,
            kp,
            data,
            scale,
            colsum,
        }
    }

    /// Byte offset of a block's input group.
    fn offset(kp: usize, block: usize, group: usize) -> usize {
        (block * (kp / GROUP) + group) * BLOCK * GROUP
    }

    /// The code of output `c`, input `i`.
    pub fn code(&self, c: usize, i: usize) -> i8 {
        self.data[Self::offset(self.kp, c / BLOCK, i / GROUP) + (c % BLOCK) * GROUP + i % GROUP]
    }

    /// W as the kernels see it: codes × scales (n, k).
    pub fn dequantized(&self) -> Vec<f32> {
        let mut w = vec![0f32; self.n * self.k];
        for c in 0..self.n {
            for i in 0..self.k {
                w[c * self.k + i] = self.code(c, i) as f32 * self.scale[c];
            }
        }
        w
    }

    /// y (m, n) = x (m, k) · Wᵀ + bias, with `path`'s kernel.
    pub fn matmul(&self, x: &[f32], m: usize, bias: &[f32], path: Int8Path) -> Vec<f32> {
        let (xq, params) = self.quantize_rows(x, m);
        let mut y = Vec::with_capacity(m * self.n);
        self.matmul_quantized(&xq, &params, bias, path, y.spare_capacity_mut());
        // Safety: the tiles wrote every (row, output) cell.
        unsafe { y.set_len(m * self.n) };
        y
    }

    /// Every row of x (m, k) quantized: codes (m, kp) and parameters.
    pub fn quantize_rows(&self, x: &[f32], m: usize) -> (Vec<u8>, Vec<RowParams>) {
        let (k, kp) = (self.k, self.kp);
        let mut xq = vec![0u8; m * kp];
        let mut params = vec![
            RowParams {
                scale: 1.0,
                zero: 0
            };
            m
        ];
        let work = |(q, (p, xr)): (&mut [u8], (&mut RowParams, &[f32]))| {
            *p = quantize_row(xr, q);
        };
        if m * k >= 1 << 16 {
            use rayon::prelude::*;
            xq.par_chunks_mut(kp)
                .zip(params.par_iter_mut().zip(x.par_chunks(k)))
                .for_each(work);
        } else {
            xq.chunks_mut(kp)
                .zip(params.iter_mut().zip(x.chunks(k)))
                .for_each(work);
        }
        (xq, params)
    }

    /// The integer products Σ qx·qw of every row and output (m, n), for
    /// tests that compare kernels exactly.
    pub fn integer_products(&self, xq: &[u8], m: usize, path: Int8Path) -> Vec<i32> {
        let mut out = vec![0i32; m * self.n];
        let ptr = OutPtr(out.as_mut_ptr() as *mut f32);
        let n = self.n;
        self.run_tiles(xq, m, path, &|r,
                                      c0,
                                      acc: &[[i32; TILE_N]; TILE_M],
                                      rows,
                                      cols| {
            for (i, a) in acc.iter().enumerate().take(rows) {
                for (j, &v) in a.iter().enumerate().take(cols) {
                    // Safety: each (row, output) belongs to exactly one tile.
                    unsafe { *(ptr.at((r + i) * n + c0 + j) as *mut i32) = v };
                }
            }
        });
        out
    }

    /// y (m, n) from quantized rows.
    pub fn matmul_quantized(
        &self,
        xq: &[u8],
        params: &[RowParams],
        bias: &[f32],
        path: Int8Path,
        y: &mut [std::mem::MaybeUninit<f32>],
    ) {
        let m = params.len();
        let n = self.n;
        assert!(y.len() >= m * n && xq.len() == m * self.kp && bias.len() == n);
        let ptr = OutPtr(y.as_mut_ptr() as *mut f32);
        self.run_tiles(xq, m, path, &|r, c0, acc, rows, cols| {
            for (i, a) in acc.iter().enumerate().take(rows) {
                let p = params[r + i];
                // Safety: each (row, output) belongs to exactly one tile.
                let out = unsafe { std::slice::from_raw_parts_mut(ptr.at((r + i) * n + c0), cols) };
                epilogue(
                    &a[..cols],
                    p,
                    &self.colsum[c0..c0 + cols],
                    &self.scale[c0..c0 + cols],
                    &bias[c0..c0 + cols],
                    out,
                );
            }
        });
    }

    /// Call `emit(first row, first output, sums, rows, outputs)` for each
    /// tile of at most TILE_M rows × TILE_N outputs.
    fn run_tiles(&self, xq: &[u8], m: usize, path: Int8Path, emit: &Emit<'_>) {
        let blocks = self.n.div_ceil(BLOCK);
        let work = super::tiles::work(m, self.n, self.kp);
        for_each_tile(
            m,
            blocks,
            TILE_M,
            TILE_N / BLOCK,
            work,
            &|r, b0, rows, nb| {
                let mut acc = [[0i32; TILE_N]; TILE_M];
                let x = &xq[r * self.kp..(r + rows) * self.kp];
                let w = &self.data[Self::offset(self.kp, b0, 0)..];
                tile(path, x, self.kp, rows, w, nb, &mut acc);
                let c0 = b0 * BLOCK;
                emit(r, c0, &acc, rows, (nb * BLOCK).min(self.n - c0));
            },
        );
    }
}

type Emit<'a> = dyn Fn(usize, usize, &[[i32; TILE_N]; TILE_M], usize, usize) + Sync + 'a;

/// Rows and outputs of one kernel call.
pub const TILE_M: usize = 4;
pub const TILE_N: usize = 4 * BLOCK;

/// y = (acc − zero·colsum)·(sx·sw) + b, in that order on every path.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2+fma"))]
fn epilogue(acc: &[i32], p: RowParams, colsum: &[i32], sw: &[f32], b: &[f32], out: &mut [f32]) {
    let terms = acc.iter().zip(colsum).zip(sw.iter().zip(b));
    for (o, ((&a, &cs), (&s, &bias))) in out.iter_mut().zip(terms) {
        let v = a.wrapping_sub(p.zero.wrapping_mul(cs)) as f32;
        *o = v * (p.scale * s) + bias;
    }
}

/// Σ qx·qw for `rows` rows of x (stride kp) and `nb` blocks of W.
fn tile(
    path: Int8Path,
    x: &[u8],
    kp: usize,
    rows: usize,
    w: &[i8],
    nb: usize,
    acc: &mut [[i32; TILE_N]; TILE_M],
) {
    assert!(x.len() >= rows * kp && w.len() >= nb * kp * BLOCK && rows <= TILE_M && nb <= 4);
    #[cfg(target_arch = "x86_64")]
    {
        assert!(
            path.missing().is_none(),
            "{} kernel on a CPU without it",
            path.name()
        );
        // Safety: the CPU has the path's features (checked above), and
        // the slices hold `rows` rows and `nb` blocks (asserted).
        unsafe {
            match path {
                Int8Path::Avx512Vnni => return x86::vnni512_dispatch(x, kp, rows, w, nb, acc),
                Int8Path::AvxVnni => return x86::vnni256_dispatch(x, kp, rows, w, nb, acc),
                Int8Path::Avx2 => return x86::avx2_dispatch(x, kp, rows, w, nb, acc),
                Int8Path::Scalar => {}
            }
        }
    }
    tile_scalar(x, kp, rows, w, nb, acc);
}

fn tile_scalar(
    x: &[u8],
    kp: usize,
    rows: usize,
    w: &[i8],
    nb: usize,
    acc: &mut [[i32; TILE_N]; TILE_M],
) {
    for (r, a) in acc.iter_mut().enumerate().take(rows) {
        let xr = &x[r * kp..(r + 1) * kp];
        for b in 0..nb {
            let wb = &w[b * kp * BLOCK..(b + 1) * kp * BLOCK];
            for j in 0..BLOCK {
                let mut s = 0i32;
                for g in 0..kp / GROUP {
                    for t in 0..GROUP {
                        s += xr[g * GROUP + t] as i32 * wb[(g * BLOCK + j) * GROUP + t] as i32;
                    }
                }
                a[b * BLOCK + j] = s;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BLOCK, GROUP, TILE_M, TILE_N};
    use std::arch::x86_64::*;

    /// The 4 codes of row `r`, group `g`, broadcast as one i32 lane value.
    #[inline(always)]
    unsafe fn group(x: *const u8, kp: usize, r: usize, g: usize) -> i32 {
        (x.add(r * kp + g * GROUP) as *const i32).read_unaligned()
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn min_max(x: &[f32]) -> (f32, f32) {
        let mut lo = _mm256_set1_ps(f32::INFINITY);
        let mut hi = _mm256_set1_ps(f32::NEG_INFINITY);
        let chunks = x.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            let v = _mm256_loadu_ps(c.as_ptr());
            lo = _mm256_min_ps(v, lo);
            hi = _mm256_max_ps(v, hi);
        }
        let (mut l, mut h) = ([0f32; 8], [0f32; 8]);
        _mm256_storeu_ps(l.as_mut_ptr(), lo);
        _mm256_storeu_ps(h.as_mut_ptr(), hi);
        let l = tail.iter().chain(&l).fold(f32::INFINITY, |m, &v| m.min(v));
        let h = tail
            .iter()
            .chain(&h)
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        (l, h)
    }

    use crate::model::quant::tiles::tile_dispatch;
    tile_dispatch!(vnni512_dispatch, vnni512, u8, i8, i32);
    tile_dispatch!(vnni256_dispatch, vnni256, u8, i8, i32);
    tile_dispatch!(avx2_dispatch, avx2, u8, i8, i32);

    /// R rows × NB blocks of 16 outputs, one zmm accumulator each.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni512<const R: usize, const NB: usize>(
        x: *const u8,
        kp: usize,
        w: *const i8,
        acc: &mut [[i32; TILE_N]; TILE_M],
    ) {
        let mut a = [[_mm512_setzero_si512(); NB]; R];
        let block_bytes = kp * BLOCK;
        for g in 0..kp / GROUP {
            let mut wv = [_mm512_setzero_si512(); NB];
            for (b, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(w.add(b * block_bytes + g * BLOCK * GROUP) as *const _);
            }
            for (r, ar) in a.iter_mut().enumerate() {
                let xv = _mm512_set1_epi32(group(x, kp, r, g));
                for (ab, &wb) in ar.iter_mut().zip(&wv) {
                    *ab = _mm512_dpbusd_epi32(*ab, xv, wb);
                }
            }
        }
        for (r, ar) in a.iter().enumerate() {
            for (b, &v) in ar.iter().enumerate() {
                _mm512_storeu_si512(acc[r][b * BLOCK..].as_mut_ptr() as *mut _, v);
            }
        }
    }

    /// R rows × NB blocks, two ymm accumulators a block. Blocks run one
    /// after another so the accumulators fit AVX's 16 registers.
    #[target_feature(enable = "avx2,avxvnni")]
    unsafe fn vnni256<const R: usize, const NB: usize>(
        x: *const u8,
        kp: usize,
        w: *const i8,
        acc: &mut [[i32; TILE_N]; TILE_M],
    ) {
        let block_bytes = kp * BLOCK;
        for b in 0..NB {
            let wb = w.add(b * block_bytes);
            let mut a = [[_mm256_setzero_si256(); 2]; R];
            for g in 0..kp / GROUP {
                let p = wb.add(g * BLOCK * GROUP);
                let w0 = _mm256_loadu_si256(p as *const _);
                let w1 = _mm256_loadu_si256(p.add(32) as *const _);
                for (r, ar) in a.iter_mut().enumerate() {
                    let xv = _mm256_set1_epi32(group(x, kp, r, g));
                    ar[0] = _mm256_dpbusd_avx_epi32(ar[0], xv, w0);
                    ar[1] = _mm256_dpbusd_avx_epi32(ar[1], xv, w1);
                }
            }
            for (r, ar) in a.iter().enumerate() {
                let out = acc[r][b * BLOCK..].as_mut_ptr();
                _mm256_storeu_si256(out as *mut _, ar[0]);
                _mm256_storeu_si256(out.add(8) as *mut _, ar[1]);
            }
        }
    }

    /// As `vnni256`, with u8×s8 pairs summed to s16 by `vpmaddubsw` (exact:
    /// see the module comment) and widened to i32 by `vpmaddwd` with ones.
    #[target_feature(enable = "avx2")]
    unsafe fn avx2<const R: usize, const NB: usize>(
        x: *const u8,
        kp: usize,
        w: *const i8,
        acc: &mut [[i32; TILE_N]; TILE_M],
    ) {
        let ones = _mm256_set1_epi16(1);
        let block_bytes = kp * BLOCK;
        for b in 0..NB {
            let wb = w.add(b * block_bytes);
            let mut a = [[_mm256_setzero_si256(); 2]; R];
            for g in 0..kp / GROUP {
                let p = wb.add(g * BLOCK * GROUP);
                let w0 = _mm256_loadu_si256(p as *const _);
                let w1 = _mm256_loadu_si256(p.add(32) as *const _);
                for (r, ar) in a.iter_mut().enumerate() {
                    let xv = _mm256_set1_epi32(group(x, kp, r, g));
                    let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(xv, w0), ones);
                    let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(xv, w1), ones);
                    ar[0] = _mm256_add_epi32(ar[0], p0);
                    ar[1] = _mm256_add_epi32(ar[1], p1);
                }
            }
            for (r, ar) in a.iter().enumerate() {
                let out = acc[r][b * BLOCK..].as_mut_ptr();
                _mm256_storeu_si256(out as *mut _, ar[0]);
                _mm256_storeu_si256(out.add(8) as *mut _, ar[1]);
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

    /// Codes that push the 16-bit pair sums to their extremes: x at the
    /// top code, w at −128 and 127.
    fn extreme_weight(n: usize, k: usize) -> Vec<f32> {
        (0..n * k)
            .map(|i| {
                if (i / 3) % 2 == 0 {
                    -1.0
                } else {
                    127.0 / 127.5
                }
            })
            .collect()
    }

    #[test]
    fn every_kernel_on_this_cpu_gives_the_scalar_integers_and_outputs() {
        let shapes = [
            (1, 384, 384),
            (5, 37, 50),
            (9, 1536, 384),
            (130, 64, 200),
            (3, 4, 16),
        ];
        for (m, k, n) in shapes {
            for (seed, w) in [(1, values(n * k, 2, 0.05)), (9, extreme_weight(n, k))] {
                let mut x = values(m * k, seed, 2.0);
                // A row of one sign and a row of zeros.
                x[..k].iter_mut().for_each(|v| *v = v.abs());
                if m > 2 {
                    x[k..2 * k].iter_mut().for_each(|v| *v = 0.0);
                }
                let weight = Int8Weight::quantize(&w, n, k);
                let bias = values(n, 4, 1.0);
                let (xq, _) = weight.quantize_rows(&x, m);
                let want_int = weight.integer_products(&xq, m, Int8Path::Scalar);
                let want = weight.matmul(&x, m, &bias, Int8Path::Scalar);
                for path in Int8Path::ALL {
                    if let Some(lack) = path.missing() {
                        eprintln!("skipped the {} kernel: this CPU lacks {lack}", path.name());
                        continue;
                    }
                    let got = weight.integer_products(&xq, m, path);
                    assert_eq!(got, want_int, "{} m {m} k {k} n {n}", path.name());
                    let y = weight.matmul(&x, m, &bias, path);
                    assert_eq!(y, want, "{} m {m} k {k} n {n}", path.name());
                }
            }
        }
    }

    #[test]
    fn quantized_products_approximate_the_float_ones() {
        let (m, k, n) = (6, 384, 48);
        let x = values(m * k, 1, 1.0);
        let w = values(n * k, 2, 0.05);
        let weight = Int8Weight::quantize(&w, n, k);
        let y = weight.matmul(&x, m, &vec![0.0; n], Int8Path::best());
        for r in 0..m {
            for c in 0..n {
                let exact: f32 = (0..k).map(|i| x[r * k + i] * w[c * k + i]).sum();
                let size: f32 = (0..k).map(|i| (x[r * k + i] * w[c * k + i]).abs()).sum();
                assert!((y[r * n + c] - exact).abs() < 0.02 * size, "{r} {c}");
            }
        }
    }

    #[test]
    fn activation_parameters_follow_fbgemm() {
        // Zero is always representable; the range maps onto 0..127.
        let p = choose_params(-1.0, 3.0);
        assert_eq!(p.zero, 32);
        assert!((p.scale - 4.0 / 127.0).abs() < 1e-9);
        assert_eq!(choose_params(0.5, 2.0).zero, 0);
        assert_eq!(choose_params(-2.0, -0.5).zero, 127);
        // An all-zero row gets fbgemm's 0.1, a tiny range its 6.1e-5 floor.
        assert_eq!(
            choose_params(0.0, 0.0),
            RowParams {
                scale: 0.1,
                zero: 0
            }
        );
        assert_eq!(choose_params(0.0, 1e-6).scale, SMALL_SCALE);
        let mut q = [0u8; 3];
        let p = quantize_row(&[-1.0, 0.0, 3.0], &mut q);
        assert_eq!(q, [0, p.zero as u8, 127]);
    }

    #[test]
    fn channels_are_symmetric_with_the_largest_weight_at_127() {
        let mut q = [0i8; 4];
        let s = quantize_channel(&[0.5, -1.0, 0.25, 0.0], &mut q);
        assert_eq!(s, 1.0 / 127.5);
        // As in PyTorch, −1.0 is multiplied by 1/s, which rounds to just
        // under 127.5 in f32: −127.49999 → −127.
        assert_eq!(q, [64, -127, 32, 0]);
        let s = quantize_channel(&[0.0, 0.0], &mut q[..2]);
        assert_eq!(s, f32::EPSILON);
    }
}
