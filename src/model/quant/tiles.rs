//! How a packed matmul is cut into kernel calls and spread over threads.

use rayon::prelude::*;

/// Rows one task takes: its slice of x stays in L2 while the task walks
/// its outputs.
const TASK_ROWS: usize = 64;
/// Below this many multiply-adds the calling thread does it all: a single
/// sentence's small projections finish before the pool would wake.
const PARALLEL_WORK: usize = 1 << 24;

/// `pub unsafe fn $name(x, k, rows, w, nb, acc)`: a kernel generic over
/// its tile shape (R rows, NB blocks of outputs), called with the shape of
/// this tile, each of the 16 monomorphised so its accumulators stay in
/// registers. `TILE_M`/`TILE_N` are the calling module's.
#[cfg(target_arch = "x86_64")]
macro_rules! tile_dispatch {
    ($name:ident, $kernel:ident, $x:ty, $w:ty, $acc:ty) => {
        pub unsafe fn $name(
            x: &[$x],
            k: usize,
            rows: usize,
            w: &[$w],
            nb: usize,
            acc: &mut [[$acc; TILE_N]; TILE_M],
        ) {
            let (x, w) = (x.as_ptr(), w.as_ptr());
            match (rows, nb) {
                (4, 4) => $kernel::<4, 4>(x, k, w, acc),
                (4, 3) => $kernel::<4, 3>(x, k, w, acc),
                (4, 2) => $kernel::<4, 2>(x, k, w, acc),
                (4, _) => $kernel::<4, 1>(x, k, w, acc),
                (3, 4) => $kernel::<3, 4>(x, k, w, acc),
                (3, 3) => $kernel::<3, 3>(x, k, w, acc),
                (3, 2) => $kernel::<3, 2>(x, k, w, acc),
                (3, _) => $kernel::<3, 1>(x, k, w, acc),
                (2, 4) => $kernel::<2, 4>(x, k, w, acc),
                (2, 3) => $kernel::<2, 3>(x, k, w, acc),
                (2, 2) => $kernel::<2, 2>(x, k, w, acc),
                (2, _) => $kernel::<2, 1>(x, k, w, acc),
                (_, 4) => $kernel::<1, 4>(x, k, w, acc),
                (_, 3) => $kernel::<1, 3>(x, k, w, acc),
                (_, 2) => $kernel::<1, 2>(x, k, w, acc),
                (_, _) => $kernel::<1, 1>(x, k, w, acc),
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
pub(crate) use tile_dispatch;

/// The kernel path to run: the first of `all` (fastest first) this CPU
/// runs, unless the environment variable `forced_by` names another usable
/// one (to compare paths); `fallback` when none is usable.
pub fn pick_path<P: Copy>(
    all: &[P],
    forced_by: Option<&str>,
    name: impl Fn(P) -> &'static str,
    usable: impl Fn(P) -> bool,
    fallback: P,
) -> P {
    let forced = forced_by.and_then(|var| std::env::var(var).ok());
    let mut usable = all.iter().copied().filter(|&p| usable(p));
    let forced = forced.and_then(|f| usable.clone().find(|&p| name(p) == f));
    forced.or_else(|| usable.next()).unwrap_or(fallback)
}

/// The work of an (m × k)·(k × n) product for [`for_each_tile`]: its
/// multiply-adds, but at least as much as a 384×384 weight's streaming is
/// worth — for a sentence's few rows, reading the weights is the cost, and
/// splitting that over two threads measured 1.2-1.5x faster (MiniLM-L6).
pub fn work(m: usize, n: usize, k: usize) -> usize {
    (m * n * k).max(n * k * 128)
}

/// An output buffer that tiles write to in disjoint places.
#[derive(Clone, Copy)]
pub struct OutPtr(pub *mut f32);
// Safety: every tile writes only its own (rows × outputs) cells.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The cell `i` places on (a method, so closures take the whole
    /// wrapper rather than its raw pointer field).
    pub fn at(self, i: usize) -> *mut f32 {
        // Safety of the offset: callers stay inside the buffer.
        self.0.wrapping_add(i)
    }
}

/// Call `kernel(first row, first block, rows, blocks)` over an m-row ×
/// `blocks`-block output, in tiles of at most `tile_rows` × `tile_blocks`;
/// in parallel when `work` (multiply-adds) is worth it.
pub fn for_each_tile(
    m: usize,
    blocks: usize,
    tile_rows: usize,
    tile_blocks: usize,
    work: usize,
    kernel: &(dyn Fn(usize, usize, usize, usize) + Sync),
) {
    let task = |(r0, b0): (usize, usize)| {
        let nb = tile_blocks.min(blocks - b0);
        let end = (r0 + TASK_ROWS).min(m);
        let mut r = r0;
        while r < end {
            let rows = tile_rows.min(end - r);
            kernel(r, b0, rows, nb);
            r += rows;
        }
    };
    let tasks: Vec<(usize, usize)> = (0..m)
        .step_by(TASK_ROWS)
        .flat_map(|r| (0..blocks).step_by(tile_blocks).map(move |b| (r, b)))
        .collect();
    if work >= PARALLEL_WORK && tasks.len() > 1 {
        tasks.into_par_iter().for_each(task);
    } else {
        tasks.into_iter().for_each(task);
    }
}
