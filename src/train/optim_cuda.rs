//! The fused AdamW update on CUDA: one kernel per parameter, in place
//! (parameter, first and second moment), the same formula as the CPU pass.
//! The kernel is compiled once per process with NVRTC, so no nvcc is needed
//! where the binary runs. Without it the tensor path (about a dozen kernels
//! and allocations per parameter) still works.

use super::optim::Coeffs;
use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::WrapErr;
use candle_core::{CpuStorage, CudaStorage, Device, Layout, Result, Storage, Tensor};
use std::sync::OnceLock;

const SOURCE: &str = r#"
extern "C" __global__ void tunebench_adamw(
    float* p, const float* g, float* m, float* v, unsigned long long n,
    float b1, float b2, float eps, float scale,
    float step_size, float bc2_sqrt, float shrink) {
  unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
       i < n; i += stride) {
    float gi = g[i] * scale;
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * shrink - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}
"#;

const MODULE: &str = "tunebench_adamw";

fn ptx() -> std::result::Result<&'static str, String> {
    static PTX: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    PTX.get_or_init(|| {
        candle_core::cuda_backend::cudarc::nvrtc::compile_ptx(SOURCE)
            .map(|p| p.to_src())
            .map_err(|e| format!("NVRTC could not compile the fused AdamW kernel: {e}"))
    })
    .as_ref()
    .map(String::as_str)
    .map_err(Clone::clone)
}

/// Whether the fused kernel compiles and loads on `device` (a CUDA device).
pub fn available(device: &Device) -> std::result::Result<(), String> {
    let cuda = device.as_cuda_device().map_err(|e| e.to_string())?;
    cuda.get_or_load_custom_func(MODULE, MODULE, ptx()?)
        .map(|_| ())
        .map_err(|e| format!("cannot load the fused AdamW kernel: {e}"))
}

struct Update<'a> {
    m: &'a Tensor,
    v: &'a Tensor,
    c: Coeffs,
}

fn cuda_storage<'a>(s: &'a Storage, what: &str) -> Result<&'a CudaStorage> {
    match s {
        Storage::Cuda(c) => Ok(c),
        _ => candle_core::bail!("fused AdamW: {what} is not on the GPU"),
    }
}

impl candle_core::InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "fused-adamw-cuda"
    }

    fn cpu_fwd(&self, _: &mut CpuStorage, _: &Layout, _: &CpuStorage, _: &Layout) -> Result<()> {
        candle_core::bail!("fused AdamW (CUDA) called on CPU tensors")
    }

    fn cuda_fwd(
        &self,
        ps: &mut CudaStorage,
        pl: &Layout,
        gs: &CudaStorage,
        gl: &Layout,
    ) -> Result<()> {
        let (Some((p0, p1)), Some((g0, g1))) = (pl.contiguous_offsets(), gl.contiguous_offsets())
        else {
            candle_core::bail!("fused AdamW: contiguous tensors only")
        };
        let n = p1 - p0;
        let (ms, ml) = self.m.storage_and_layout();
        let (vs, vl) = self.v.storage_and_layout();
        let (Some((m0, _)), Some((v0, _))) = (ml.contiguous_offsets(), vl.contiguous_offsets())
        else {
            candle_core::bail!("fused AdamW: contiguous moments only")
        };
        let m = cuda_storage(&ms, "the first moment")?.as_cuda_slice::<f32>()?;
        let v = cuda_storage(&vs, "the second moment")?.as_cuda_slice::<f32>()?;
        let func = ps.device.get_or_load_custom_func(
            MODULE,
            MODULE,
            ptx().map_err(candle_core::Error::msg)?,
        )?;
        let g = gs.as_cuda_slice::<f32>()?.slice(g0..g1);
        let (m, v) = (m.slice(m0..m0 + n), v.slice(v0..v0 + n));
        let mut p = ps.as_cuda_slice_mut::<f32>()?.slice_mut(p0..p1);
        let c = self.c;
        let n64 = n as u64;
        let mut builder = func.builder();
        builder.arg(&mut p);
        builder.arg(&g);
        // The moments are written too: the kernel owns them for this launch
        // (one stream, so nothing else touches them meanwhile).
        builder.arg(&m);
        builder.arg(&v);
        builder.arg(&n64);
        for x in [
            &c.b1,
            &c.b2,
            &c.eps,
            &c.scale,
            &c.step_size,
            &c.bc2_sqrt,
            &c.shrink,
        ] {
            builder.arg(x);
        }
        let cfg = LaunchConfig::for_num_elems(n.min(1 << 20) as u32);
        // Safety: the argument list matches the kernel's signature.
        unsafe { builder.launch(cfg) }.w()?;
        Ok(())
    }
}

/// p, m, v ← one AdamW step with gradient `g` (all f32, same shape).
pub fn update(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, c: Coeffs) -> Result<()> {
    p.inplace_op2(&g.contiguous()?, &Update { m, v, c })
}
