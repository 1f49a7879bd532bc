//! Fused ops with a real backward: layer norm, attention softmax, GELU,
//! bias add, dropout and (on the GPU) the embedding lookup.
//! candle's own fast versions have no backward, and the compositions that
//! do allocate a tensor per elementary step (about eight for layer norm,
//! five for softmax, and as many again backwards). Each op here is one
//! pass forward and one pass backward, parallel over rows. On CUDA the same
//! ops run NVRTC-compiled kernels (`fused_cuda.rs`) in f32, bf16 or f16,
//! computing in f32; without them (or on other devices) the public
//! functions below fall back to candle's compositions.
//! Gradient checks against the compositions are in this file's tests.

use super::cpu_kernels as kernels;
#[cfg(feature = "cuda")]
use super::fused_cuda::{self as gpu, Tensor2};
#[cfg(feature = "cuda")]
use candle_core::CudaStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor,
};
use rayon::prelude::*;

fn contiguous<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        _ => candle_core::bail!("{what}: only f32 is fused"),
    };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{what}: input must be contiguous"),
    }
}

/// Below this many values an op runs on the calling thread: handing small
/// work to the thread pool costs more than it saves (single-sentence
/// prediction is made of such ops).
const PAR_MIN: usize = 1 << 15;

/// Fill `out` chunk by chunk with `f(chunk_index, chunk)`, in parallel
/// when there is enough work.
fn fill<F: Fn(usize, &mut [f32]) + Sync + Send>(out: &mut [f32], chunk: usize, f: F) {
    if out.len() < PAR_MIN {
        out.chunks_mut(chunk.max(1))
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        out.par_chunks_mut(chunk.max(1))
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// A new vector computed from `x` chunk by chunk, in parallel when there is
/// enough work: `f(offset of the chunk in x, input chunk, output chunk)`.
fn map_chunks<F: Fn(usize, &[f32], &mut [f32]) + Sync + Send>(x: &[f32], f: F) -> Vec<f32> {
    const CHUNK: usize = 1 << 14;
    let mut y = vec![0f32; x.len()];
    fill(&mut y, CHUNK, |i, yc| {
        let first = i * CHUNK;
        f(first, &x[first..first + yc.len()], yc)
    });
    y
}

/// The element-wise sum of per-chunk partial sums, added in chunk order.
/// Chunks are cut by size, not by thread, and rayon's `reduce` would
/// group the additions by how work was stolen, so the same step could
/// round differently from run to run; this keeps seeded runs bit-exact.
fn sum_in_order(parts: Vec<Vec<f32>>) -> Vec<f32> {
    let mut parts = parts.into_iter();
    let mut total = parts.next().unwrap_or_default();
    for p in parts {
        total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
    }
    total
}

/// Rows per parallel task: enough work to amortise scheduling.
fn rows_per_task(rows: usize, width: usize) -> usize {
    (16_384 / width.max(1)).clamp(1, rows.max(1))
}

struct LayerNorm {
    eps: f32,
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "fused-layer-norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(xs, xl, "layer norm x")?;
        let g = contiguous(gs, gl, "layer norm weight")?;
        let b = contiguous(bs, bl, "layer norm bias")?;
        let h = g.len();
        let mut y = vec![0f32; x.len()];
        let chunk = rows_per_task(x.len() / h.max(1), h) * h;
        fill(&mut y, chunk, |i, yc| {
            let xc = &x[i * (chunk)..i * (chunk) + yc.len()];
            for (yr, xr) in yc.chunks_mut(h).zip(xc.chunks(h)) {
                kernels::layer_norm_row(xr, g, b, self.eps, yr);
            }
        });
        Ok((CpuStorage::F32(y), xl.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        xs: &CudaStorage,
        xl: &Layout,
        gs: &CudaStorage,
        gl: &Layout,
        bs: &CudaStorage,
        bl: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let y = gpu::layer_norm(
            Tensor2 { s: xs, l: xl },
            Tensor2 { s: gs, l: gl },
            Tensor2 { s: bs, l: bl },
            self.eps,
        )?;
        Ok((y, xl.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        g: &Tensor,
        _b: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let h = g.elem_count();
        let n = x.elem_count();
        let packed = x.apply_op3_no_bwd(g, &dy.contiguous()?, &LayerNormGrad { eps: self.eps })?;
        // The packed gradients are f32; dx goes back to x's dtype.
        let dx = packed
            .narrow(0, 0, n)?
            .reshape(x.shape())?
            .to_dtype(x.dtype())?;
        // γ and β of a frozen model get none (their sums come with dx's
        // pass, but nothing should find them as gradients).
        if !g.track_op() {
            return Ok((Some(dx), None, None));
        }
        let dg = packed.narrow(0, n, h)?;
        let db = packed.narrow(0, n + h, h)?;
        Ok((Some(dx), Some(dg), Some(db)))
    }
}

/// dx, dgamma and dbeta in one pass, packed into one vector.
struct LayerNormGrad {
    eps: f32,
}

impl CustomOp3 for LayerNormGrad {
    fn name(&self) -> &'static str {
        "fused-layer-norm-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
        ds: &CpuStorage,
        dl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(xs, xl, "layer norm x")?;
        let g = contiguous(gs, gl, "layer norm weight")?;
        let dy = contiguous(ds, dl, "layer norm grad")?;
        let h = g.len();
        let n = x.len();
        let mut out = vec![0f32; n + 2 * h];
        let (dx, _) = out.split_at_mut(n);
        let chunk = rows_per_task(n / h.max(1), h) * h;
        let work = |(dxc, (xc, dyc)): (&mut [f32], (&[f32], &[f32]))| {
            let mut dg = vec![0f32; h];
            let mut db = vec![0f32; h];
            let mut xhat = vec![0f32; h];
            for ((dxr, xr), dyr) in dxc.chunks_mut(h).zip(xc.chunks(h)).zip(dyc.chunks(h)) {
                kernels::layer_norm_grad_row(
                    xr, dyr, g, self.eps, dxr, &mut dg, &mut db, &mut xhat,
                );
            }
            (dg, db)
        };
        let (dg, db) = if n < PAR_MIN {
            work((dx, (x, dy)))
        } else {
            let parts: Vec<(Vec<f32>, Vec<f32>)> = dx
                .par_chunks_mut(chunk)
                .zip(x.par_chunks(chunk).zip(dy.par_chunks(chunk)))
                .map(work)
                .collect();
            let (dg, db): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
            (sum_in_order(dg), sum_in_order(db))
        };
        out[n..n + h].copy_from_slice(&dg);
        out[n + h..].copy_from_slice(&db);
        Ok((CpuStorage::F32(out), Shape::from(n + 2 * h)))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        xs: &CudaStorage,
        xl: &Layout,
        gs: &CudaStorage,
        gl: &Layout,
        ds: &CudaStorage,
        dl: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let n = xl.shape().elem_count();
        let h = gl.shape().elem_count();
        let packed = gpu::layer_norm_grad(
            Tensor2 { s: xs, l: xl },
            Tensor2 { s: gs, l: gl },
            Tensor2 { s: ds, l: dl },
            self.eps,
        )?;
        Ok((packed, Shape::from(n + 2 * h)))
    }
}

/// dx = scale · y · (dy − Σ dy·y), row by row.
struct SoftmaxGrad {
    scale: f32,
}

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "fused-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        ys: &CpuStorage,
        yl: &Layout,
        ds: &CpuStorage,
        dl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = contiguous(ys, yl, "softmax y")?;
        let dy = contiguous(ds, dl, "softmax grad")?;
        let w = yl.dims().last().copied().unwrap_or(1).max(1);
        let mut dx = vec![0f32; y.len()];
        let chunk = rows_per_task(y.len() / w, w) * w;
        fill(&mut dx, chunk, |i, dc| {
            let yc = &y[i * (chunk)..i * (chunk) + dc.len()];
            let gc = &dy[i * (chunk)..i * (chunk) + dc.len()];
            for ((dr, yr), gr) in dc.chunks_mut(w).zip(yc.chunks(w)).zip(gc.chunks(w)) {
                kernels::softmax_grad_row(yr, gr, self.scale, dr);
            }
        });
        Ok((CpuStorage::F32(dx), yl.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        ys: &CudaStorage,
        yl: &Layout,
        ds: &CudaStorage,
        dl: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dx = gpu::softmax_grad(
            Tensor2 { s: ys, l: yl },
            Tensor2 { s: ds, l: dl },
            self.scale,
        )?;
        Ok((dx, yl.shape().clone()))
    }
}

/// Attention probabilities: softmax(scores · scale + mask) over the last
/// dimension, where scores are (B, H, Lq, Lk) and the additive mask is
/// (B, 1, 1, Lk). No gradient flows to the mask.
struct AttentionSoftmax {
    scale: f32,
}

impl CustomOp2 for AttentionSoftmax {
    fn name(&self) -> &'static str {
        "fused-attention-softmax"
    }

    fn cpu_fwd(
        &self,
        ss: &CpuStorage,
        sl: &Layout,
        ms: &CpuStorage,
        ml: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(ss, sl, "attention scores")?;
        let mask = contiguous(ms, ml, "attention mask")?;
        let dims = sl.dims();
        let w = dims.last().copied().unwrap_or(1).max(1);
        let batch = dims.first().copied().unwrap_or(1).max(1);
        let per_batch = x.len() / batch;
        if mask.len() != batch * w {
            candle_core::bail!(
                "attention mask has {} values, expected {}",
                mask.len(),
                batch * w
            );
        }
        let mut y = vec![0f32; x.len()];
        let chunk = rows_per_task(x.len() / w, w) * w;
        fill(&mut y, chunk, |ci, yc| {
            let xc = &x[ci * chunk..ci * chunk + yc.len()];
            for (ri, (yr, xr)) in yc.chunks_mut(w).zip(xc.chunks(w)).enumerate() {
                let b = (ci * chunk + ri * w) / per_batch;
                kernels::softmax_row(xr, &mask[b * w..(b + 1) * w], self.scale, yr);
            }
        });
        Ok((CpuStorage::F32(y), sl.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        ss: &CudaStorage,
        sl: &Layout,
        ms: &CudaStorage,
        ml: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let y = gpu::attention_softmax(
            Tensor2 { s: ss, l: sl },
            Tensor2 { s: ms, l: ml },
            self.scale,
        )?;
        Ok((y, sl.shape().clone()))
    }

    fn bwd(
        &self,
        _s: &Tensor,
        _m: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = y.apply_op2_no_bwd(&dy.contiguous()?, &SoftmaxGrad { scale: self.scale })?;
        Ok((Some(dx), None))
    }
}

/// GELU with the exact erf, as BERT's "gelu".
struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "fused-gelu-erf"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(s, l, "gelu")?;
        let y = map_chunks(x, |_, xc, yc| kernels::gelu_erf(xc, yc));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
        Ok((gpu::gelu(Tensor2 { s, l })?, l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(x.apply_op2_no_bwd(&dy.contiguous()?, &GeluErfGrad)?))
    }
}

/// dx = dy · (Φ(x) + x·φ(x)).
struct GeluErfGrad;

impl CustomOp2 for GeluErfGrad {
    fn name(&self) -> &'static str {
        "fused-gelu-erf-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ds: &CpuStorage,
        dl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(xs, xl, "gelu x")?;
        let dy = contiguous(ds, dl, "gelu grad")?;
        let dx = map_chunks(x, |first, xc, dc| {
            kernels::gelu_erf_grad(xc, &dy[first..first + dc.len()], dc)
        });
        Ok((CpuStorage::F32(dx), xl.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        xs: &CudaStorage,
        xl: &Layout,
        ds: &CudaStorage,
        dl: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dx = gpu::gelu_grad(Tensor2 { s: xs, l: xl }, Tensor2 { s: ds, l: dl })?;
        Ok((dx, xl.shape().clone()))
    }
}

/// x + b over x's trailing dimensions (a linear layer's bias). candle's
/// broadcast add is fine forwards, but its backward sums the bias gradient
/// over rows with a strided generic reduction (7% of a CPU training step);
/// here it is one parallel, vectorisable pass over the rows.
struct BiasAdd;

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        "fused-bias-add"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(xs, xl, "bias add x")?;
        let b = contiguous(bs, bl, "bias")?;
        let n = b.len().max(1);
        let mut y = vec![0f32; x.len()];
        let chunk = rows_per_task(x.len() / n, n) * n;
        fill(&mut y, chunk, |i, yc| {
            let xc = &x[i * chunk..i * chunk + yc.len()];
            for (yr, xr) in yc.chunks_mut(n).zip(xc.chunks(n)) {
                for ((o, a), c) in yr.iter_mut().zip(xr).zip(b) {
                    *o = a + c;
                }
            }
        });
        Ok((CpuStorage::F32(y), xl.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if !b.track_op() {
            return Ok((Some(dy.clone()), None));
        }
        let n = b.elem_count();
        let db = dy
            .contiguous()?
            .apply_op1_no_bwd(&ColumnSum { n })?
            .reshape(b.shape())?;
        Ok((Some(dy.clone()), Some(db)))
    }
}

/// Σ over rows of a (rows, n) tensor → (n).
struct ColumnSum {
    n: usize,
}

impl CustomOp1 for ColumnSum {
    fn name(&self) -> &'static str {
        "fused-column-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(s, l, "column sum")?;
        let n = self.n.max(1);
        let chunk = rows_per_task(x.len() / n, n) * n;
        let sum_rows = |c: &[f32]| {
            let mut acc = vec![0f32; n];
            for r in c.chunks(n) {
                for (a, v) in acc.iter_mut().zip(r) {
                    *a += v;
                }
            }
            acc
        };
        let out = if x.len() < PAR_MIN {
            sum_rows(x)
        } else {
            sum_in_order(x.par_chunks(chunk).map(sum_rows).collect())
        };
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }
}

/// Dropout without a mask tensor: element i survives when a counter-based
/// hash of (seed, i) clears the threshold, so the backward is the same op
/// on the gradient. The seed comes from the project's RNG, so runs are
/// reproducible and resumable, and the CPU and GPU draw the same masks.
/// (A mask drawn element by element from the RNG took 6% of a CPU step.)
struct HashDropout {
    seed: u64,
    threshold: u32,
    scale: f32,
}

impl CustomOp1 for HashDropout {
    fn name(&self) -> &'static str {
        "fused-hash-dropout"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous(s, l, "dropout")?;
        let (seed, threshold, scale) = (self.seed, self.threshold, self.scale);
        let y = map_chunks(x, |first, xc, yc| {
            kernels::hash_dropout(xc, first as u64, seed, threshold, scale, yc)
        });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
        let y = gpu::dropout(Tensor2 { s, l }, self.seed, self.threshold, self.scale)?;
        Ok((y, l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            dy.contiguous()?
                .apply_op1_no_bwd(&HashDropout { ..*self })?,
        ))
    }
}

/// Embedding lookup on the GPU (table f32 (V, H), ids u32): the backward
/// scatter-adds into the rows used, in one kernel (candle's index_add runs
/// one thread per column over every token in turn).
struct Embedding;

impl CustomOp2 for Embedding {
    fn name(&self) -> &'static str {
        "fused-embedding"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        candle_core::bail!("fused embedding is the GPU path; the CPU uses index_select")
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        ts: &CudaStorage,
        tl: &Layout,
        is: &CudaStorage,
        il: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let h = tl.dims()[1];
        let out = gpu::embedding(Tensor2 { s: ts, l: tl }, Tensor2 { s: is, l: il })?;
        Ok((out, Shape::from((il.shape().elem_count(), h))))
    }

    fn bwd(
        &self,
        table: &Tensor,
        ids: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if !table.track_op() {
            return Ok((None, None));
        }
        let rows = table.dim(0)?;
        let dtable = dy
            .contiguous()?
            .apply_op2_no_bwd(ids, &EmbeddingGrad { rows })?;
        Ok((Some(dtable), None))
    }
}

#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
struct EmbeddingGrad {
    rows: usize,
}

impl CustomOp2 for EmbeddingGrad {
    fn name(&self) -> &'static str {
        "fused-embedding-grad"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        candle_core::bail!("fused embedding grad is the GPU path")
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        ds: &CudaStorage,
        dl: &Layout,
        is: &CudaStorage,
        il: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let h = dl.shape().elem_count() / il.shape().elem_count().max(1);
        let g = gpu::embedding_grad(
            Tensor2 { s: ds, l: dl },
            Tensor2 { s: is, l: il },
            self.rows,
        )?;
        Ok((g, Shape::from((self.rows, h))))
    }
}

fn fusable(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// The CUDA kernels take f32, bf16 and f16 tensors on a CUDA device.
fn gpu_fusable(t: &Tensor) -> bool {
    #[cfg(feature = "cuda")]
    {
        t.device().is_cuda()
            && matches!(t.dtype(), DType::F32 | DType::BF16 | DType::F16)
            && super::fused_cuda::available(t.device())
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = t;
        false
    }
}

/// Layer norm over the last dimension, with a backward. Normalises in f32
/// whatever x's dtype (the weight and bias are f32) and returns x's dtype.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    let op = LayerNorm { eps: eps as f32 };
    if gpu_fusable(x) {
        return x
            .contiguous()?
            .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op);
    }
    let x32 = x.to_dtype(DType::F32)?;
    let y = if fusable(&x32) {
        x32.contiguous()?.apply_op3(weight, bias, op)?
    } else {
        candle_nn::ops::layer_norm_slow(&x32, weight, bias, eps as f32)?
    };
    y.to_dtype(x.dtype())
}

/// softmax(scores · scale + mask) over the last dimension; scores
/// (B, H, Lq, Lk), mask (B, 1, 1, Lk) f32. The mask gets no gradient.
/// Computed in f32; returns the scores' dtype.
pub fn attention_softmax(scores: &Tensor, mask: &Tensor, scale: f64) -> Result<Tensor> {
    let op = AttentionSoftmax {
        scale: scale as f32,
    };
    if gpu_fusable(scores) {
        return scores.contiguous()?.apply_op2(&mask.contiguous()?, op);
    }
    let s32 = scores.to_dtype(DType::F32)?;
    let y = if fusable(&s32) {
        s32.contiguous()?.apply_op2(&mask.contiguous()?, op)?
    } else {
        candle_nn::ops::softmax(&(s32 * scale)?.broadcast_add(mask)?, candle_core::D::Minus1)?
    };
    y.to_dtype(scores.dtype())
}

/// GELU with the exact erf.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if fusable(x) || gpu_fusable(x) {
        x.contiguous()?.apply_op1(GeluErf)
    } else {
        x.gelu_erf()
    }
}

/// x + bias, where the bias's shape is x's trailing dimensions (a layer's
/// bias, or position embeddings added to every sequence of a batch).
pub fn bias_add(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if fusable(x) && bias.dtype() == DType::F32 && x.dims().ends_with(bias.dims()) {
        x.contiguous()?.apply_op2(&bias.contiguous()?, BiasAdd)
    } else {
        x.broadcast_add(bias)
    }
}

/// Dropout by hash (see [`HashDropout`]) for f32 on the CPU and f32/bf16/
/// f16 on the GPU; None where no fused kernel takes `x`.
pub fn hash_dropout(x: &Tensor, p: f64, seed: u64) -> Result<Option<Tensor>> {
    if !(fusable(x) || gpu_fusable(x)) {
        return Ok(None);
    }
    let op = HashDropout {
        seed,
        threshold: (p * u32::MAX as f64) as u32,
        scale: (1.0 / (1.0 - p)) as f32,
    };
    Ok(Some(x.contiguous()?.apply_op1(op)?))
}

/// Rows of `table` (V, H) for `ids` (N,) u32 → (N, H).
pub fn embedding(table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    if gpu_fusable(table) && table.dtype() == DType::F32 && ids.dtype() == DType::U32 {
        table.contiguous()?.apply_op2(&ids.contiguous()?, Embedding)
    } else {
        table.index_select(ids, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{grad_check as check, max_diff, randn};
    use candle_core::{Device, Var, D};

    #[test]
    fn layer_norm_matches_composition_forward_and_backward() {
        let x = Var::from_tensor(&((randn(&[3, 5, 24], 1) * 3.0).unwrap() + 1.0).unwrap()).unwrap();
        let g = Var::from_tensor(&randn(&[24], 2)).unwrap();
        let b = Var::from_tensor(&randn(&[24], 3)).unwrap();
        let fused = layer_norm(&x, &g, &b, 1e-12).unwrap();
        let slow = candle_nn::ops::layer_norm_slow(&x, &g, &b, 1e-12).unwrap();
        check(
            fused,
            slow,
            &[("x", &x), ("gamma", &g), ("beta", &b)],
            1e-5,
            1e-4,
        );
    }

    #[test]
    fn attention_softmax_matches_composition_and_leaves_the_mask_alone() {
        let x = Var::from_tensor(&(randn(&[2, 3, 5, 6], 8) * 3.0).unwrap()).unwrap();
        let mask_data: Vec<f32> = vec![0., 0., 0., -1e9, -1e9, -1e9, 0., 0., 0., 0., 0., -1e9];
        let mask = Tensor::from_vec(mask_data, (2, 1, 1, 6), &Device::Cpu).unwrap();
        let scale = 0.37;
        let fused = attention_softmax(&x, &mask, scale).unwrap();
        let slow = candle_nn::ops::softmax(
            &(x.as_tensor() * scale)
                .unwrap()
                .broadcast_add(&mask)
                .unwrap(),
            D::Minus1,
        )
        .unwrap();
        check(fused, slow, &[("x", &x)], 1e-6, 1e-5);
    }

    #[test]
    fn gelu_matches_candle_forward_and_backward() {
        let x = Var::from_tensor(&(randn(&[7, 33], 10) * 2.0).unwrap()).unwrap();
        let fused = gelu_erf(&x).unwrap();
        let slow = x.as_tensor().gelu_erf().unwrap();
        check(fused, slow, &[("x", &x)], 1e-6, 1e-5);
    }

    #[test]
    fn bias_add_matches_broadcast_add_forward_and_backward() {
        // Enough rows for the parallel column sum, and a few for the serial one.
        for (xs, bs) in [
            (&[3, 24][..], &[24][..]),
            (&[4096, 24], &[24]),
            (&[8, 5, 24], &[5, 24]),
        ] {
            let x = Var::from_tensor(&randn(xs, 14)).unwrap();
            let b = Var::from_tensor(&randn(bs, 15)).unwrap();
            let fused = bias_add(x.as_tensor(), b.as_tensor()).unwrap();
            let slow = x.as_tensor().broadcast_add(b.as_tensor()).unwrap();
            check(fused, slow, &[("x", &x), ("b", &b)], 1e-6, 1e-3);
        }
    }

    #[test]
    fn fused_ops_accept_non_contiguous_input() {
        let x = randn(&[4, 6], 7).t().unwrap();
        let a = gelu_erf(&x).unwrap();
        let b = x.gelu_erf().unwrap();
        assert!(max_diff(&a, &b) < 1e-6);
    }
}
