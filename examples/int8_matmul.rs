//! candle's quantized matmul (`QMatMul`, Q8_0: 32-weight blocks with an f16
//! scale, activations quantized to Q8_0 too) against tunebench's int8
//! kernel (`model::quant`) and the f32 paths, on MiniLM-L6's linear shapes:
//! a sentence's 14 rows and an evaluation batch's 4096 (32 × 128).
//!
//!     cargo run --release --example int8_matmul
//!
//! Prints the median of 15 calls per shape (ms) and the ratios.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use std::time::Instant;
use tunebench::model::quant::{F32Path, F32Weight, Int8Path, Int8Weight};

fn median_ms(mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..15)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    println!("int8 kernel: {}", Int8Path::best().name());
    println!(
        "{:>5} {:>5} {:>5} {:>11} {:>11} {:>11} {:>11} {:>9}",
        "m", "k", "n", "QMatMul q8_0", "int8 (ours)", "f32 packed", "f32 matmul", "q8_0/ours"
    );
    for m in [14usize, 4096] {
        for (k, n) in [(384usize, 384usize), (384, 1536), (1536, 384)] {
            let w = (Tensor::randn(0f32, 1.0, (n, k), &dev)? * 0.05)?;
            let x = Tensor::randn(0f32, 1.0, (m, k), &dev)?;
            let wv: Vec<f32> = w.flatten_all()?.to_vec1()?;
            let xv: Vec<f32> = x.flatten_all()?.to_vec1()?;
            let bias = vec![0f32; n];
            let q = QMatMul::from_qtensor(QTensor::quantize(&w, GgmlDType::Q8_0)?)?;
            let ours = Int8Weight::quantize(&wv, n, k);
            let packed = F32Weight::pack(&wv, n, k);
            let wt = w.t()?;
            let tq = median_ms(|| {
                q.forward(&x).unwrap();
            });
            let ti = median_ms(|| {
                ours.matmul(&xv, m, &bias, Int8Path::best());
            });
            let tp = if m <= tunebench::model::quant::f32::MAX_ROWS {
                median_ms(|| {
                    packed.matmul(&xv, m, &bias, F32Path::best());
                })
            } else {
                f64::NAN
            };
            let tf = median_ms(|| {
                x.matmul(&wt).unwrap();
            });
            println!(
                "{m:>5} {k:>5} {n:>5} {tq:>11.3} {ti:>11.3} {tp:>11.3} {tf:>11.3} {:>8.1}x",
                tq / ti
            );
        }
    }
    Ok(())
}
