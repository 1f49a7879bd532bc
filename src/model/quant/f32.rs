//! f32 weights packed for few-row inference (a single sentence's tokens):
//! blocks of 16 outputs, each input's 16 weights in 64 bytes, so a kernel
//! call broadcasts one activation and multiplies it into 64 outputs with
//! four FMAs, and a block's weights stay in L2 while the rows go by. The
//! dot-product kernel (`small_linear.rs`) streams the whole weight once per
//! pair of rows instead; batches of more rows go to the gemm crate.

use super::tiles::{for_each_tile, OutPtr};

pub const BLOCK: usize = 16;
pub const TILE_M: usize = 4;
pub const TILE_N: usize = 4 * BLOCK;
/// Above this many rows the gemm crate's packed matmul is faster.
pub const MAX_ROWS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F32Path {
    Avx512,
    Avx2Fma,
    Scalar,
}

impl F32Path {
    pub const ALL: [F32Path; 3] = [F32Path::Avx512, F32Path::Avx2Fma, F32Path::Scalar];

    pub fn name(self) -> &'static str {
        match self {
            F32Path::Avx512 => "avx512f",
            F32Path::Avx2Fma => "avx2-fma",
            F32Path::Scalar => "scalar",
        }
    }

    pub fn missing(self) -> Option<&'static str> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                F32Path::Avx512 if !has!("avx512f") => Some("AVX-512"),
                F32Path::Avx2Fma if !(has!("avx2") && has!("fma")) => Some("AVX2 and FMA"),
                _ => None,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        match self {
            F32Path::Scalar => None,
            _ => Some("an x86-64 CPU"),
        }
    }

    pub fn best() -> F32Path {
        static BEST: std::sync::OnceLock<F32Path> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            super::tiles::pick_path(
                &F32Path::ALL,
                None,
                F32Path::name,
                |p| p.missing().is_none(),
                F32Path::Scalar,
            )
        })
    }
}

pub struct F32Weight {
    pub n: usize,
    pub k: usize,
    data: Vec<f32>,
}

impl F32Weight {
    pub fn pack(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "weight is not {n}×{k}");
        let np = n.div_ceil(BLOCK) * BLOCK;
        let mut data = vec![0f32; np * k];
        for c in 0..n {
            for i in 0..k {
                data[((c / BLOCK) * k + i) * BLOCK + c % BLOCK] = w[c * k + i];
            }
        }
        F32Weight { n, k, data }
    }

    /// y (m, n) = x (m, k) · Wᵀ + bias.
    pub fn matmul(&self, x: &[f32], m: usize, bias: &[f32], path: F32Path) -> Vec<f32> {
        let (k, n) = (self.k, self.n);
        assert!(x.len() == m * k && bias.len() == n);
        let mut y: Vec<f32> = Vec::with_capacity(m * n);
        let ptr = OutPtr(y.as_mut_ptr());
        let work = super::tiles::work(m, n, k);
        for_each_tile(
            m,
            n.div_ceil(BLOCK),
            TILE_M,
            TILE_N / BLOCK,
            work,
            &|r, b0, rows, nb| {
                let mut acc = [[0f32; TILE_N]; TILE_M];
                let w = &self.data[b0 * BLOCK * k..];
                tile(path, &x[r * k..], k, rows, w, nb, &mut acc);
                let c0 = b0 * BLOCK;
                let cols = (nb * BLOCK).min(n - c0);
                for (i, a) in acc.iter().enumerate().take(rows) {
                    // Safety: each (row, output) belongs to exactly one tile.
                    let out =
                        unsafe { std::slice::from_raw_parts_mut(ptr.at((r + i) * n + c0), cols) };
                    for (o, (v, b)) in out.iter_mut().zip(a.iter().zip(&bias[c0..])) {
                        *o = v + b;
                    }
                }
            },
        );
        // Safety: the tiles wrote every (row, output) cell.
        unsafe { y.set_len(m * n) };
        y
    }
}

fn tile(
    path: F32Path,
    x: &[f32],
    k: usize,
    rows: usize,
    w: &[f32],
    nb: usize,
    acc: &mut [[f32; TILE_N]; TILE_M],
) {
    assert!(x.len() >= rows * k && w.len() >= nb * k * BLOCK && rows <= TILE_M && nb <= 4);
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
                F32Path::Avx512 => return x86::avx512_dispatch(x, k, rows, w, nb, acc),
                F32Path::Avx2Fma => return x86::avx2_dispatch(x, k, rows, w, nb, acc),
                F32Path::Scalar => {}
            }
        }
    }
    for (r, a) in acc.iter_mut().enumerate().take(rows) {
        for b in 0..nb {
            for j in 0..BLOCK {
                let mut s = 0f32;
                for i in 0..k {
                    s = x[r * k + i].mul_add(w[(b * k + i) * BLOCK + j], s);
                }
                a[b * BLOCK + j] = s;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BLOCK, TILE_M, TILE_N};
    use std::arch::x86_64::*;

    use crate::model::quant::tiles::tile_dispatch;
    tile_dispatch!(avx512_dispatch, avx512, f32, f32, f32);
    tile_dispatch!(avx2_dispatch, avx2, f32, f32, f32);

    #[target_feature(enable = "avx512f")]
    unsafe fn avx512<const R: usize, const NB: usize>(
        x: *const f32,
        k: usize,
        w: *const f32,
        acc: &mut [[f32; TILE_N]; TILE_M],
    ) {
        let mut a = [[_mm512_setzero_ps(); NB]; R];
        for i in 0..k {
            let mut wv = [_mm512_setzero_ps(); NB];
            for (b, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_ps(w.add((b * k + i) * BLOCK));
            }
            for (r, ar) in a.iter_mut().enumerate() {
                let xv = _mm512_set1_ps(*x.add(r * k + i));
                for (ab, &wb) in ar.iter_mut().zip(&wv) {
                    *ab = _mm512_fmadd_ps(xv, wb, *ab);
                }
            }
        }
        for (r, ar) in a.iter().enumerate() {
            for (b, &v) in ar.iter().enumerate() {
                _mm512_storeu_ps(acc[r][b * BLOCK..].as_mut_ptr(), v);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<const R: usize, const NB: usize>(
        x: *const f32,
        k: usize,
        w: *const f32,
        acc: &mut [[f32; TILE_N]; TILE_M],
    ) {
        for b in 0..NB {
            let mut a = [[_mm256_setzero_ps(); 2]; R];
            for i in 0..k {
                let p = w.add((b * k + i) * BLOCK);
                let (w0, w1) = (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)));
                for (r, ar) in a.iter_mut().enumerate() {
                    let xv = _mm256_set1_ps(*x.add(r * k + i));
                    ar[0] = _mm256_fmadd_ps(xv, w0, ar[0]);
                    ar[1] = _mm256_fmadd_ps(xv, w1, ar[1]);
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

    #[test]
    fn every_kernel_on_this_cpu_gives_the_scalar_outputs() {
        let mut rng = crate::rng::Rng::seeded(5);
        for (m, k, n) in [(1, 384, 384), (5, 37, 50), (14, 384, 1536), (3, 1536, 20)] {
            let x: Vec<f32> = (0..m * k).map(|_| rng.normal()).collect();
            let w: Vec<f32> = (0..n * k).map(|_| rng.normal() * 0.05).collect();
            let bias: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
            let packed = F32Weight::pack(&w, n, k);
            let want = packed.matmul(&x, m, &bias, F32Path::Scalar);
            for r in 0..m {
                for c in 0..n {
                    let exact: f32 = (0..k).map(|i| x[r * k + i] * w[c * k + i]).sum::<f32>();
                    assert!((want[r * n + c] - exact - bias[c]).abs() < 1e-3);
                }
            }
            for path in F32Path::ALL {
                if let Some(lack) = path.missing() {
                    eprintln!("skipped the {} kernel: this CPU lacks {lack}", path.name());
                    continue;
                }
                // One FMA chain per output in input order: bit for bit.
                assert_eq!(packed.matmul(&x, m, &bias, path), want, "{}", path.name());
            }
        }
    }
}
