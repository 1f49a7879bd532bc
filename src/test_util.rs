//! Helpers for the library's unit tests: seeded noise and gradient checks
//! of an op against the composition it replaces.

use candle_core::{Device, Tensor, Var};

/// Seeded standard-normal noise on the CPU.
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = crate::rng::Rng::seeded(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Largest elementwise |a − b|.
pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Gradient check: `fast` matches `slow` within `fwd_tol`, and so do the
/// gradients of Σ(out · w) for every var (w: fixed noise, a non-trivial
/// upstream gradient) within `bwd_tol`.
pub fn grad_check(fast: Tensor, slow: Tensor, vars: &[(&str, &Var)], fwd_tol: f32, bwd_tol: f32) {
    let d = max_diff(&fast, &slow);
    assert!(d < fwd_tol, "forward differs by {d}");
    let w = randn(fast.dims(), 99);
    let gf = (fast * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let gs = (slow * &w).unwrap().sum_all().unwrap().backward().unwrap();
    for (name, v) in vars {
        let d = max_diff(gf.get(v).unwrap(), gs.get(v).unwrap());
        assert!(d < bwd_tol, "d{name} differs by {d}");
    }
}
