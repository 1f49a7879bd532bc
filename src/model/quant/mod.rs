//! Inference-only linear layers in lower precision on the CPU: int8
//! dynamic quantization (`int8.rs`) and bf16 weights (`bf16.rs`), packed
//! once from the f32 weights at load, with run-time kernel choice. The
//! encoder's linears use them; embeddings, layer norms, attention and the
//! classification head stay f32 (the head is one row: its error would be
//! all cost and no speed).

pub mod bf16;
pub mod f32;
pub mod int8;
mod tiles;

use crate::config::InferencePrecision;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub use bf16::{Bf16Path, Bf16Weight};
pub use f32::{F32Path, F32Weight};
pub use int8::{Int8Path, Int8Weight};

/// A linear layer's weight in its inference precision, and its bias.
pub enum PackedLinear {
    Int8 {
        w: Int8Weight,
        bias: Vec<f32>,
    },
    Bf16 {
        w: Bf16Weight,
        bias: Vec<f32>,
    },
    /// f32 for few rows (more go to the gemm crate's matmul).
    F32 {
        w: F32Weight,
        bias: Vec<f32>,
    },
}

/// What the packed layers run on this CPU, for `doctor` and `--version`.
pub fn kernel_report() -> String {
    format!(
        "int8 {}, bf16 {}, f32 {}",
        Int8Path::best().name(),
        Bf16Path::best().name(),
        F32Path::best().name()
    )
}

impl PackedLinear {
    /// Pack a (n, k) f32 weight and its bias.
    pub fn new(kind: PackKind, weight: &Tensor, bias: &Tensor) -> Result<Self> {
        let (n, k) = weight.dims2()?;
        let w = weight
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let bias = bias.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?;
        Ok(match kind {
            PackKind::Int8 => PackedLinear::Int8 {
                w: Int8Weight::quantize(&w, n, k),
                bias,
            },
            PackKind::Bf16 => PackedLinear::Bf16 {
                w: Bf16Weight::from_f32(&w, n, k),
                bias,
            },
            PackKind::F32 => PackedLinear::F32 {
                w: F32Weight::pack(&w, n, k),
                bias,
            },
        })
    }

    fn dims(&self) -> (usize, usize) {
        match self {
            PackedLinear::Int8 { w, .. } => (w.n, w.k),
            PackedLinear::Bf16 { w, .. } => (w.n, w.k),
            PackedLinear::F32 { w, .. } => (w.n, w.k),
        }
    }

    /// y (m, n) for x (m, k) as f32 values.
    pub fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        match self {
            PackedLinear::Int8 { w, bias } => w.matmul(x, m, bias, Int8Path::best()),
            PackedLinear::Bf16 { w, bias } => w.matmul(x, m, bias, Bf16Path::best()),
            PackedLinear::F32 { w, bias } => w.matmul(x, m, bias, F32Path::best()),
        }
    }

    /// x (..., k) f32 on the CPU → (..., n); None when the unpacked f32
    /// path should run instead: packed f32 with many rows (the gemm crate
    /// is faster), or an input that tracks gradients.
    pub fn forward(&self, x: &Tensor) -> Result<Option<Tensor>> {
        // An input that needs gradients (an explanation's backward pass)
        // takes the f32 weights: packed layers have no backward.
        if x.track_op() {
            return Ok(None);
        }
        if let PackedLinear::F32 { w, .. } = self {
            if x.elem_count() / w.k.max(1) > f32::MAX_ROWS {
                return Ok(None);
            }
        }
        Ok(Some(x.contiguous()?.apply_op1_no_bwd(&PackedOp(self))?))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackKind {
    Int8,
    Bf16,
    F32,
}

/// How an inference precision runs on a device: the packing of the
/// encoder's linears it means (int8 anywhere — `pack_encoder` refuses it off
/// the CPU —, bf16 and f32 for a sentence's rows on the CPU), or None where
/// it is a compute dtype instead (bf16, f16 and f32 on a GPU; f16).
pub fn pack_kind(precision: InferencePrecision, cpu: bool) -> Option<PackKind> {
    match precision {
        InferencePrecision::Int8 => Some(PackKind::Int8),
        InferencePrecision::Bf16 if cpu => Some(PackKind::Bf16),
        InferencePrecision::F32 if cpu => Some(PackKind::F32),
        _ => None,
    }
}

struct PackedOp<'a>(&'a PackedLinear);

impl CustomOp1 for PackedOp<'_> {
    fn name(&self) -> &'static str {
        "packed-linear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(v) = s else {
            candle_core::bail!("packed linear: input must be f32")
        };
        let (n, k) = self.0.dims();
        let dims = l.dims();
        if dims.last() != Some(&k) {
            candle_core::bail!("packed linear: input {dims:?}, weight takes {k} inputs")
        }
        let m = l.shape().elem_count() / k.max(1);
        let Some((a, b)) = l.contiguous_offsets() else {
            candle_core::bail!("packed linear: input must be contiguous")
        };
        let y = self.0.matmul(&v[a..b], m);
        let mut out = dims.to_vec();
        if let Some(last) = out.last_mut() {
            *last = n;
        }
        Ok((CpuStorage::F32(y), Shape::from(out)))
    }
}

/// Per layer, how far the packed outputs are from f32's, summed over the
/// rows seen while a probe is on: Σ‖y − y_f32‖² and Σ‖y_f32‖².
type Errors = HashMap<String, (f64, f64)>;

static PROBE: Mutex<Option<Errors>> = Mutex::new(None);
/// Whether PROBE records: read by every packed layer's forward, so a flag
/// rather than the lock.
static PROBING: AtomicBool = AtomicBool::new(false);

/// Record each packed layer's output error until [`probe_finish`].
pub fn probe_start() {
    *PROBE.lock().unwrap_or_else(|e| e.into_inner()) = Some(HashMap::new());
    PROBING.store(true, Ordering::Release);
}

/// Layers by relative output error ‖y − y_f32‖ / ‖y_f32‖, largest first.
pub fn probe_finish() -> Vec<(String, f64)> {
    PROBING.store(false, Ordering::Release);
    let errors = PROBE.lock().unwrap_or_else(|e| e.into_inner()).take();
    let mut out: Vec<(String, f64)> = errors
        .unwrap_or_default()
        .into_iter()
        .map(|(name, (err, size))| (name, (err / size.max(f64::MIN_POSITIVE)).sqrt()))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// Whether a probe is recording (the f32 reference is computed only then).
pub fn probing() -> bool {
    PROBING.load(Ordering::Acquire)
}

/// Add one layer's output against its f32 output.
pub fn probe_record(layer: &str, packed: &Tensor, reference: &Tensor) -> Result<()> {
    let d = (packed - reference)?.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
    let r = reference.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
    if let Some(errors) = PROBE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let e = errors.entry(layer.to_string()).or_insert((0.0, 0.0));
        e.0 += d;
        e.1 += r;
    }
    Ok(())
}
