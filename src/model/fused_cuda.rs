//! CUDA versions of the fused ops (kernels in `fused_kernels.cu`, compiled
//! once per process with NVRTC). Each launcher takes candle storages and
//! returns a new storage; `fused.rs` wires them into the ops' `cuda_fwd`.
//! TUNEBENCH_GPU_FUSED=0 turns them off (candle's compositions instead).

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::{DevicePtr, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::{CudaStorageSlice, WrapErr};
use candle_core::{CudaDevice, CudaStorage, DType, Device, Layout, Result};
use std::sync::OnceLock;

const SOURCE: &str = include_str!("fused_kernels.cu");
const MODULE: &str = "tunebench_fused";

fn ptx() -> std::result::Result<&'static str, String> {
    static PTX: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    PTX.get_or_init(|| {
        candle_core::cuda_backend::cudarc::nvrtc::compile_ptx(SOURCE)
            .map(|p| p.to_src())
            .map_err(|e| format!("NVRTC could not compile the fused kernels: {e}"))
    })
    .as_ref()
    .map(String::as_str)
    .map_err(Clone::clone)
}

/// Whether the fused kernels are usable on `device` (compiled and loaded
/// once; a failure is logged and the compositions are used instead).
pub fn available(device: &Device) -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if std::env::var("TUNEBENCH_GPU_FUSED").as_deref() == Ok("0") {
            tracing::info!("fused GPU kernels off (TUNEBENCH_GPU_FUSED=0)");
            return false;
        }
        let loaded = device
            .as_cuda_device()
            .map_err(|e| e.to_string())
            .and_then(|d| {
                d.get_or_load_custom_func("ln_fwd_f32", MODULE, ptx()?)
                    .map_err(|e| e.to_string())
            });
        match loaded {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("{e}; using candle's composed ops on the GPU (slower)");
                false
            }
        }
    })
}

/// A contiguous storage's device address (start offset included) and the
/// kernel-name suffix of its dtype.
fn ptr(s: &CudaStorage, l: &Layout) -> Result<(u64, &'static str)> {
    let Some((start, _)) = l.contiguous_offsets() else {
        candle_core::bail!("fused CUDA op: input must be contiguous")
    };
    let stream = s.device.cuda_stream();
    macro_rules! addr {
        ($slice:expr, $t:ty, $name:expr) => {{
            let (p, _sync) = $slice.device_ptr(&stream);
            (p + (start * std::mem::size_of::<$t>()) as u64, $name)
        }};
    }
    Ok(match &s.slice {
        CudaStorageSlice::F32(x) => addr!(x, f32, "f32"),
        CudaStorageSlice::BF16(x) => addr!(x, half::bf16, "bf16"),
        CudaStorageSlice::F16(x) => addr!(x, half::f16, "f16"),
        CudaStorageSlice::U32(x) => addr!(x, u32, "u32"),
        _ => candle_core::bail!("fused CUDA op: unsupported dtype {:?}", s.dtype()),
    })
}

/// A new storage of `n` elements of `dtype` (zeroed when `zero`).
fn alloc(dev: &CudaDevice, dtype: DType, n: usize, zero: bool) -> Result<CudaStorage> {
    macro_rules! make {
        ($t:ty) => {{
            let s = if zero {
                dev.alloc_zeros::<$t>(n)?
            } else {
                // Safety: every element is written by the kernel that follows.
                unsafe { dev.alloc::<$t>(n)? }
            };
            CudaStorage::wrap_cuda_slice(s, dev.clone())
        }};
    }
    Ok(match dtype {
        DType::F32 => make!(f32),
        DType::BF16 => make!(half::bf16),
        DType::F16 => make!(half::f16),
        d => candle_core::bail!("fused CUDA op: cannot allocate {d:?}"),
    })
}

fn out_ptr(s: &CudaStorage, n: usize) -> Result<u64> {
    Ok(ptr(s, &Layout::contiguous(n))?.0)
}

/// Kernel arguments: device addresses, counts, scalars.
enum Arg {
    P(u64),
    I(i32),
    U(u32),
    F(f32),
}

fn launch(dev: &CudaDevice, name: &str, cfg: LaunchConfig, args: &[Arg]) -> Result<()> {
    let ptx = ptx().map_err(candle_core::Error::msg)?;
    let func = dev.get_or_load_custom_func(name, MODULE, ptx)?;
    let mut b = func.builder();
    for a in args {
        match a {
            Arg::P(x) => b.arg(x),
            Arg::I(x) => b.arg(x),
            Arg::U(x) => b.arg(x),
            Arg::F(x) => b.arg(x),
        };
    }
    // Safety: each call site passes the argument list of its kernel.
    unsafe { b.launch(cfg) }.w()?;
    Ok(())
}

fn grid(n: usize, per_block: usize, threads: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (n.div_ceil(per_block).clamp(1, 1 << 30) as u32, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Elementwise kernels: enough blocks to fill the GPU, grid-stride loops.
fn elementwise(n: usize) -> LaunchConfig {
    grid(n.min(1 << 24), 256, 256)
}

fn block_threads(width: usize) -> u32 {
    (width.div_ceil(32) * 32).clamp(32, 256) as u32
}

pub struct Tensor2<'a> {
    pub s: &'a CudaStorage,
    pub l: &'a Layout,
}

pub fn layer_norm(x: Tensor2, g: Tensor2, b: Tensor2, eps: f32) -> Result<CudaStorage> {
    let dev = &x.s.device;
    let h = g.l.shape().elem_count();
    let n = x.l.shape().elem_count();
    let (px, sfx) = ptr(x.s, x.l)?;
    let y = alloc(dev, x.s.dtype(), n, false)?;
    if n == 0 {
        return Ok(y); // the row kernels assume at least one row
    }
    launch(
        dev,
        &format!("ln_fwd_{sfx}"),
        grid(n / h, 1, block_threads(h)),
        &[
            Arg::P(px),
            Arg::P(ptr(g.s, g.l)?.0),
            Arg::P(ptr(b.s, b.l)?.0),
            Arg::P(out_ptr(&y, n)?),
            Arg::I(h as i32),
            Arg::F(eps),
        ],
    )?;
    Ok(y)
}

/// [dx (n), dgamma (h), dbeta (h)] in f32, as the CPU op packs them.
pub fn layer_norm_grad(x: Tensor2, g: Tensor2, dy: Tensor2, eps: f32) -> Result<CudaStorage> {
    let dev = &x.s.device;
    let h = g.l.shape().elem_count();
    let n = x.l.shape().elem_count();
    let rows = n / h;
    let (px, sfx) = ptr(x.s, x.l)?;
    let (pdy, dsfx) = ptr(dy.s, dy.l)?;
    if sfx != dsfx {
        candle_core::bail!("layer norm grad: x is {sfx}, dy is {dsfx}")
    }
    if n == 0 {
        return alloc(dev, DType::F32, 2 * h, true); // no rows: zero gradients
    }
    let packed = alloc(dev, DType::F32, n + 2 * h, false)?;
    let pout = out_ptr(&packed, n + 2 * h)?;
    let stats = alloc(dev, DType::F32, 2 * rows, false)?;
    let pstats = out_ptr(&stats, 2 * rows)?;
    const CHUNK: usize = 32;
    let blocks = rows.div_ceil(CHUNK);
    let partial = alloc(dev, DType::F32, blocks * 2 * h, false)?;
    let ppartial = out_ptr(&partial, blocks * 2 * h)?;
    launch(
        dev,
        &format!("ln_bwd_dx_{sfx}"),
        grid(rows, 1, block_threads(h)),
        &[
            Arg::P(px),
            Arg::P(ptr(g.s, g.l)?.0),
            Arg::P(pdy),
            Arg::P(pout),
            Arg::P(pstats),
            Arg::I(h as i32),
            Arg::F(eps),
        ],
    )?;
    launch(
        dev,
        &format!("ln_bwd_dgdb_{sfx}"),
        grid(blocks, 1, block_threads(h)),
        &[
            Arg::P(px),
            Arg::P(pdy),
            Arg::P(pstats),
            Arg::P(ppartial),
            Arg::I(rows as i32),
            Arg::I(h as i32),
            Arg::I(CHUNK as i32),
        ],
    )?;
    launch(
        dev,
        "ln_bwd_reduce",
        grid(2 * h, 256, 256),
        &[
            Arg::P(ppartial),
            Arg::P(pout + (n * 4) as u64),
            Arg::I(blocks as i32),
            Arg::I(2 * h as i32),
        ],
    )?;
    Ok(packed)
}

/// Rows per block for the warp-per-row kernels (4 warps).
const ROWS_PER_BLOCK: usize = 4;

pub fn attention_softmax(s: Tensor2, mask: Tensor2, scale: f32) -> Result<CudaStorage> {
    let dev = &s.s.device;
    let dims = s.l.dims();
    let w = *dims.last().unwrap_or(&1);
    let n = s.l.shape().elem_count();
    let rows = n / w.max(1);
    let batch = dims.first().copied().unwrap_or(1).max(1);
    if mask.l.shape().elem_count() != batch * w {
        candle_core::bail!(
            "attention mask has {} values, expected {}",
            mask.l.shape().elem_count(),
            batch * w
        )
    }
    let (ps, sfx) = ptr(s.s, s.l)?;
    let y = alloc(dev, s.s.dtype(), n, false)?;
    launch(
        dev,
        &format!("attn_softmax_{sfx}"),
        grid(rows, ROWS_PER_BLOCK, 32 * ROWS_PER_BLOCK as u32),
        &[
            Arg::P(ps),
            Arg::P(ptr(mask.s, mask.l)?.0),
            Arg::P(out_ptr(&y, n)?),
            Arg::P(rows as u64),
            Arg::I(w as i32),
            Arg::P((rows / batch) as u64),
            Arg::F(scale),
        ],
    )?;
    Ok(y)
}

pub fn softmax_grad(y: Tensor2, dy: Tensor2, scale: f32) -> Result<CudaStorage> {
    let dev = &y.s.device;
    let w = *y.l.dims().last().unwrap_or(&1);
    let n = y.l.shape().elem_count();
    let rows = n / w.max(1);
    let (py, sfx) = ptr(y.s, y.l)?;
    let dx = alloc(dev, y.s.dtype(), n, false)?;
    launch(
        dev,
        &format!("softmax_bwd_{sfx}"),
        grid(rows, ROWS_PER_BLOCK, 32 * ROWS_PER_BLOCK as u32),
        &[
            Arg::P(py),
            Arg::P(ptr(dy.s, dy.l)?.0),
            Arg::P(out_ptr(&dx, n)?),
            Arg::P(rows as u64),
            Arg::I(w as i32),
            Arg::F(scale),
        ],
    )?;
    Ok(dx)
}

pub fn gelu(x: Tensor2) -> Result<CudaStorage> {
    let n = x.l.shape().elem_count();
    let (px, sfx) = ptr(x.s, x.l)?;
    let y = alloc(&x.s.device, x.s.dtype(), n, false)?;
    launch(
        &x.s.device,
        &format!("gelu_fwd_{sfx}"),
        elementwise(n),
        &[Arg::P(px), Arg::P(out_ptr(&y, n)?), Arg::P(n as u64)],
    )?;
    Ok(y)
}

pub fn gelu_grad(x: Tensor2, dy: Tensor2) -> Result<CudaStorage> {
    let n = x.l.shape().elem_count();
    let (px, sfx) = ptr(x.s, x.l)?;
    let dx = alloc(&x.s.device, x.s.dtype(), n, false)?;
    launch(
        &x.s.device,
        &format!("gelu_bwd_{sfx}"),
        elementwise(n),
        &[
            Arg::P(px),
            Arg::P(ptr(dy.s, dy.l)?.0),
            Arg::P(out_ptr(&dx, n)?),
            Arg::P(n as u64),
        ],
    )?;
    Ok(dx)
}

pub fn dropout(x: Tensor2, seed: u64, threshold: u32, scale: f32) -> Result<CudaStorage> {
    let n = x.l.shape().elem_count();
    let (px, sfx) = ptr(x.s, x.l)?;
    let y = alloc(&x.s.device, x.s.dtype(), n, false)?;
    launch(
        &x.s.device,
        &format!("dropout_{sfx}"),
        elementwise(n),
        &[
            Arg::P(px),
            Arg::P(out_ptr(&y, n)?),
            Arg::P(n as u64),
            Arg::P(seed),
            Arg::U(threshold),
            Arg::F(scale),
        ],
    )?;
    Ok(y)
}

pub fn embedding(table: Tensor2, ids: Tensor2) -> Result<CudaStorage> {
    let h = *table.l.dims().last().unwrap_or(&1);
    let tokens = ids.l.shape().elem_count();
    let out = alloc(&table.s.device, DType::F32, tokens * h, false)?;
    launch(
        &table.s.device,
        "embedding_fwd",
        elementwise(tokens * h),
        &[
            Arg::P(ptr(table.s, table.l)?.0),
            Arg::P(ptr(ids.s, ids.l)?.0),
            Arg::P(out_ptr(&out, tokens * h)?),
            Arg::P(tokens as u64),
            Arg::I(h as i32),
        ],
    )?;
    Ok(out)
}

pub fn embedding_grad(dy: Tensor2, ids: Tensor2, rows: usize) -> Result<CudaStorage> {
    let tokens = ids.l.shape().elem_count();
    let h = dy.l.shape().elem_count() / tokens.max(1);
    let dtable = alloc(&dy.s.device, DType::F32, rows * h, true)?;
    launch(
        &dy.s.device,
        "embedding_bwd",
        elementwise(tokens * h),
        &[
            Arg::P(ptr(dy.s, dy.l)?.0),
            Arg::P(ptr(ids.s, ids.l)?.0),
            Arg::P(out_ptr(&dtable, rows * h)?),
            Arg::P(tokens as u64),
            Arg::I(h as i32),
        ],
    )?;
    Ok(dtable)
}

#[cfg(test)]
mod tests {
    /// NVRTC compiles the kernels (no GPU needed, only libnvrtc).
    #[test]
    fn kernels_compile_with_nvrtc() {
        let ptx = super::ptx().unwrap();
        for name in [
            "ln_fwd_bf16",
            "attn_softmax_f16",
            "embedding_bwd",
            "dropout_f32",
        ] {
            assert!(ptx.contains(name), "{name} missing");
        }
    }
}
