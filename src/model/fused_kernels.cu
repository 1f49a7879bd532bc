// Fused kernels for CUDA, compiled at run time with NVRTC (no headers: the
// half types are handled as raw bits). Each kernel computes in f32 and
// stores in the tensor's dtype: f32, bf16 or f16. Semantics match the CPU
// ops in fused.rs and are checked against candle's compositions by
// tests/parity.rs on the GPU.

typedef unsigned long long u64;
struct bf16 { unsigned short x; };
struct f16 { unsigned short x; };

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(bf16 v) { return __uint_as_float(((unsigned int)v.x) << 16); }
__device__ __forceinline__ float to_f(f16 v) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v.x));
  return f;
}

template <typename T> __device__ __forceinline__ T from_f(float f);
template <> __device__ __forceinline__ float from_f<float>(float f) { return f; }
template <> __device__ __forceinline__ bf16 from_f<bf16>(float f) {
  unsigned int u = __float_as_uint(f);
  bf16 r;
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    r.x = 0x7fc0;  // NaN stays NaN
  } else {
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
    r.x = (unsigned short)(u >> 16);
  }
  return r;
}
template <> __device__ __forceinline__ f16 from_f<f16>(float f) {
  f16 r;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.x) : "f"(f));
  return r;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024).
__device__ float block_sum(float v, float* shm) {
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shm[warp] = v;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  v = (threadIdx.x < warps) ? shm[threadIdx.x] : 0.0f;
  if (warp == 0) v = warp_sum(v);
  if (threadIdx.x == 0) shm[0] = v;
  __syncthreads();
  return shm[0];
}

// ---- layer norm: one block per row -------------------------------------

template <typename T>
__device__ void row_stats(const T* xr, int h, float eps, float* shm, float* mean, float* rstd) {
  float s = 0.0f;
  for (int i = threadIdx.x; i < h; i += blockDim.x) s += to_f(xr[i]);
  const float m = block_sum(s, shm) / h;
  float v = 0.0f;
  for (int i = threadIdx.x; i < h; i += blockDim.x) {
    const float d = to_f(xr[i]) - m;
    v += d * d;
  }
  *mean = m;
  *rstd = 1.0f / sqrtf(block_sum(v, shm) / h + eps);
}

template <typename T>
__device__ void ln_fwd(const T* x, const float* g, const float* b, T* y, int h, float eps) {
  __shared__ float shm[32];
  const u64 row = blockIdx.x;
  const T* xr = x + row * h;
  T* yr = y + row * h;
  float mean, rstd;
  row_stats(xr, h, eps, shm, &mean, &rstd);
  for (int i = threadIdx.x; i < h; i += blockDim.x)
    yr[i] = from_f<T>((to_f(xr[i]) - mean) * rstd * g[i] + b[i]);
}

// dx (f32) per row, and the row's mean and rstd for the dgamma/dbeta pass.
template <typename T>
__device__ void ln_bwd_dx(const T* x, const float* g, const T* dy, float* dx, float* stats,
                          int h, float eps) {
  __shared__ float shm[32];
  const u64 row = blockIdx.x;
  const T* xr = x + row * h;
  const T* dyr = dy + row * h;
  float mean, rstd;
  row_stats(xr, h, eps, shm, &mean, &rstd);
  float sd = 0.0f, sdx = 0.0f;
  for (int i = threadIdx.x; i < h; i += blockDim.x) {
    const float d = to_f(dyr[i]) * g[i];
    sd += d;
    sdx += d * (to_f(xr[i]) - mean) * rstd;
  }
  const float mean_d = block_sum(sd, shm) / h;
  const float mean_dx = block_sum(sdx, shm) / h;
  for (int i = threadIdx.x; i < h; i += blockDim.x) {
    const float xhat = (to_f(xr[i]) - mean) * rstd;
    dx[row * h + i] = rstd * (to_f(dyr[i]) * g[i] - mean_d - xhat * mean_dx);
  }
  if (threadIdx.x == 0) {
    stats[2 * row] = mean;
    stats[2 * row + 1] = rstd;
  }
}

// Partial dgamma/dbeta of `chunk` rows per block: partial[blk][0..h) = dg,
// partial[blk][h..2h) = db. Threads run over columns (coalesced).
template <typename T>
__device__ void ln_bwd_dgdb(const T* x, const T* dy, const float* stats, float* partial,
                            int rows, int h, int chunk) {
  const int r0 = blockIdx.x * chunk;
  const int r1 = min(rows, r0 + chunk);
  for (int c = threadIdx.x; c < h; c += blockDim.x) {
    float dg = 0.0f, db = 0.0f;
    for (int r = r0; r < r1; ++r) {
      const float d = to_f(dy[(u64)r * h + c]);
      dg += d * (to_f(x[(u64)r * h + c]) - stats[2 * r]) * stats[2 * r + 1];
      db += d;
    }
    partial[(u64)blockIdx.x * 2 * h + c] = dg;
    partial[(u64)blockIdx.x * 2 * h + h + c] = db;
  }
}

// out[c] = sum over blocks of partial[blk][c], c < 2h (fixed order).
extern "C" __global__ void ln_bwd_reduce(const float* partial, float* out, int blocks, int h2) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= h2) return;
  float s = 0.0f;
  for (int b = 0; b < blocks; ++b) s += partial[(u64)b * h2 + c];
  out[c] = s;
}

// ---- attention softmax: one warp per row --------------------------------
// y = softmax(s * scale + mask[batch]) over rows of width w; `per_batch`
// rows share one mask row (heads x queries).

template <typename T>
__device__ void attn_softmax(const T* s, const float* mask, T* y, u64 rows, int w, u64 per_batch,
                             float scale) {
  const u64 row = (u64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const T* sr = s + row * w;
  const float* mr = mask + (row / per_batch) * w;
  T* yr = y + row * w;
  float mx = __int_as_float(0xff800000);  // -inf
  for (int i = lane; i < w; i += 32) mx = fmaxf(mx, to_f(sr[i]) * scale + mr[i]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int i = lane; i < w; i += 32) sum += __expf(to_f(sr[i]) * scale + mr[i] - mx);
  const float inv = 1.0f / warp_sum(sum);
  for (int i = lane; i < w; i += 32) yr[i] = from_f<T>(__expf(to_f(sr[i]) * scale + mr[i] - mx) * inv);
}

// dx = scale * y * (dy - sum(dy * y)), one warp per row.
template <typename T>
__device__ void softmax_bwd(const T* y, const T* dy, T* dx, u64 rows, int w, float scale) {
  const u64 row = (u64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const T* yr = y + row * w;
  const T* gr = dy + row * w;
  float dot = 0.0f;
  for (int i = lane; i < w; i += 32) dot += to_f(yr[i]) * to_f(gr[i]);
  dot = warp_sum(dot);
  for (int i = lane; i < w; i += 32)
    dx[row * w + i] = from_f<T>(scale * to_f(yr[i]) * (to_f(gr[i]) - dot));
}

// ---- GELU (erf) -----------------------------------------------------------

template <typename T>
__device__ void gelu_fwd(const T* x, T* y, u64 n) {
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
    const float v = to_f(x[i]);
    y[i] = from_f<T>(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
  }
}

template <typename T>
__device__ void gelu_bwd(const T* x, const T* dy, T* dx, u64 n) {
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
    const float v = to_f(x[i]);
    const float cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
    const float pdf = 0.3989422804014327f * __expf(-0.5f * v * v);
    dx[i] = from_f<T>(to_f(dy[i]) * (cdf + v * pdf));
  }
}

// ---- dropout from a counter-based hash: no mask tensor ---------------------
// Element i is kept when hash(seed, i) >= threshold; the backward applies the
// same op to the gradient with the same seed.

__device__ __forceinline__ unsigned int mix(u64 seed, u64 i) {
  u64 z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (unsigned int)(z >> 32);
}

template <typename T>
__device__ void dropout(const T* x, T* y, u64 n, u64 seed, unsigned int threshold, float scale) {
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x)
    y[i] = from_f<T>(mix(seed, i) >= threshold ? to_f(x[i]) * scale : 0.0f);
}

// ---- embedding: gather rows, scatter-add gradients --------------------------

extern "C" __global__ void embedding_fwd(const float* table, const unsigned int* ids, float* out,
                                         u64 tokens, int h) {
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < tokens * h; i += (u64)gridDim.x * blockDim.x)
    out[i] = table[(u64)ids[i / h] * h + i % h];
}

// dtable must be zeroed; the order of additions into one row varies between
// runs (atomics), so repeated tokens' gradients may differ in the last bit.
extern "C" __global__ void embedding_bwd(const float* dy, const unsigned int* ids, float* dtable,
                                         u64 tokens, int h) {
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < tokens * h; i += (u64)gridDim.x * blockDim.x)
    atomicAdd(&dtable[(u64)ids[i / h] * h + i % h], dy[i]);
}

// ---- one entry point per dtype ------------------------------------------------

#define FOR_DTYPE(T, S)                                                                           \
  extern "C" __global__ void ln_fwd_##S(const T* x, const float* g, const float* b, T* y, int h,  \
                                        float eps) { ln_fwd<T>(x, g, b, y, h, eps); }             \
  extern "C" __global__ void ln_bwd_dx_##S(const T* x, const float* g, const T* dy, float* dx,   \
                                           float* stats, int h, float eps) {                      \
    ln_bwd_dx<T>(x, g, dy, dx, stats, h, eps);                                                    \
  }                                                                                               \
  extern "C" __global__ void ln_bwd_dgdb_##S(const T* x, const T* dy, const float* stats,        \
                                             float* partial, int rows, int h, int chunk) {        \
    ln_bwd_dgdb<T>(x, dy, stats, partial, rows, h, chunk);                                        \
  }                                                                                               \
  extern "C" __global__ void attn_softmax_##S(const T* s, const float* mask, T* y, u64 rows,     \
                                              int w, u64 per_batch, float scale) {                \
    attn_softmax<T>(s, mask, y, rows, w, per_batch, scale);                                       \
  }                                                                                               \
  extern "C" __global__ void softmax_bwd_##S(const T* y, const T* dy, T* dx, u64 rows, int w,    \
                                             float scale) {                                       \
    softmax_bwd<T>(y, dy, dx, rows, w, scale);                                                    \
  }                                                                                               \
  extern "C" __global__ void gelu_fwd_##S(const T* x, T* y, u64 n) { gelu_fwd<T>(x, y, n); }      \
  extern "C" __global__ void gelu_bwd_##S(const T* x, const T* dy, T* dx, u64 n) {               \
    gelu_bwd<T>(x, dy, dx, n);                                                                    \
  }                                                                                               \
  extern "C" __global__ void dropout_##S(const T* x, T* y, u64 n, u64 seed,                      \
                                         unsigned int threshold, float scale) {                  \
    dropout<T>(x, y, n, seed, threshold, scale);                                                  \
  }

FOR_DTYPE(float, f32)
FOR_DTYPE(bf16, bf16)
FOR_DTYPE(f16, f16)
