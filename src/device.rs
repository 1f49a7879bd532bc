//! Choosing the compute device from a spec (`cpu`, `cuda`, `cuda:N`), naming
//! it for people, and reading GPU memory where candle exposes it.

use crate::model::ModelError;
use candle_core::Device;

/// Open the device a spec names, seeded for on-device randomness (dropout).
pub fn open(spec: &str, seed: u64) -> crate::Result<Device> {
    let bad = |reason: String| -> crate::Error {
        ModelError::Device {
            spec: spec.into(),
            reason,
        }
        .into()
    };
    let device = match crate::config::parse_device(spec) {
        Some(None) => return Ok(Device::Cpu),
        Some(Some(ordinal)) => cuda(ordinal).map_err(bad)?,
        None => return Err(bad("expected cpu, cuda or cuda:N".into())),
    };
    device
        .set_seed(seed)
        .map_err(|e| bad(format!("cannot seed the device: {e}")))?;
    Ok(device)
}

#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> Result<Device, String> {
    let device = Device::new_cuda(ordinal).map_err(|e| {
        format!("cannot open CUDA device {ordinal}: {} (is the NVIDIA driver loaded, and does the device exist? `nvidia-smi -L` lists them)", without_backtrace(&e))
    })?;
    // One stream per process: per-tensor event tracking only costs time.
    // Safety: every tensor of this device is created and used on its one
    // stream, so stream order alone keeps uses and frees in order.
    if let Ok(cuda) = device.as_cuda_device() {
        unsafe { cuda.disable_event_tracking() };
    }
    Ok(device)
}

/// candle attaches a backtrace to errors when RUST_BACKTRACE is set; a
/// person needs the message.
#[cfg(feature = "cuda")]
fn without_backtrace(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => without_backtrace(inner),
        e => e.to_string(),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda(_ordinal: usize) -> Result<Device, String> {
    Err("this binary was built without CUDA support: rebuild with `cargo build --release --features cuda` (README: GPU)".into())
}

/// `cpu`, or `cuda:0 (NVIDIA H200, 140 GiB)`.
pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        #[cfg(feature = "cuda")]
        Device::Cuda(cuda) => {
            let ctx = cuda.cuda_stream().context().clone();
            let name = ctx.name().unwrap_or_else(|_| "GPU".into());
            let total = ctx
                .total_mem()
                .map(|b| format!(", {:.0} GiB", b as f64 / (1u64 << 30) as f64))
                .unwrap_or_default();
            format!("cuda:{} ({name}{total})", ctx.ordinal())
        }
        _ => format!("{device:?}"),
    }
}

/// Device memory in use (all processes), in MiB; None on CPU. candle's
/// allocator keeps freed blocks in CUDA's pool, so this is what the card has
/// given out, the number nvidia-smi shows.
pub fn memory_in_use_mib(device: &Device) -> Option<f64> {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(cuda) => {
            let (free, total) = cuda.cuda_stream().context().mem_get_info().ok()?;
            Some((total - free) as f64 / (1u64 << 20) as f64)
        }
        _ => None,
    }
}

/// Wait for queued device work (timing on asynchronous devices).
pub fn sync(device: &Device) -> crate::Result<()> {
    Ok(device.synchronize()?)
}

/// Run `f`, a piece of tensor work on `device`, from one of rayon's worker
/// threads when the device is the CPU (in place when already on one).
/// Every parallel CPU op (gemm, the fused kernels) runs on that pool: from
/// a thread outside it, each op is injected into the pool and the caller
/// sleeps on a lock until it is done, a futex wake and wait per op (~1,200
/// futex calls per explanation, 40 from inside the pool; `strace -c`).
/// From a worker, the caller takes its share of the op and the rest is
/// stolen. GPU work stays on the calling thread (its CUDA context).
pub fn on_compute_threads<R: Send>(device: &Device, f: impl FnOnce() -> R + Send) -> R {
    if device.is_cpu() {
        rayon::scope(|_| f())
    } else {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_opens_and_bad_specs_are_explained() {
        assert!(open("cpu", 1).unwrap().is_cpu());
        let e = open("tpu", 1).unwrap_err().to_string();
        assert!(e.contains("expected cpu, cuda or cuda:N"), "{e}");
        assert_eq!(describe(&Device::Cpu), "cpu");
        assert_eq!(memory_in_use_mib(&Device::Cpu), None);
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        let e = open("cuda:0", 1).unwrap_err().to_string();
        assert!(e.contains("--features cuda"), "{e}");
    }
}
