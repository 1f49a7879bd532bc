//! The project's own seeded RNG (candle's CPU RNG cannot be seeded), with a
//! state that can be saved and restored so a resumed run continues exactly.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug)]
pub struct Rng {
    inner: ChaCha8Rng,
}

/// Everything needed to put an [`Rng`] back where it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    pub seed: u64,
    /// ChaCha word position, as a decimal string (it is a u128).
    pub word_pos: String,
}

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        Rng {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A stream independent of the main one, e.g. the shuffle of one epoch.
    pub fn derived(seed: u64, salt: u64) -> Self {
        Self::seeded(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    pub fn state(&self, seed: u64) -> RngState {
        RngState {
            seed,
            word_pos: self.inner.get_word_pos().to_string(),
        }
    }

    pub fn restore(state: &RngState) -> Option<Self> {
        let pos: u128 = state.word_pos.parse().ok()?;
        let mut inner = ChaCha8Rng::seed_from_u64(state.seed);
        inner.set_word_pos(pos);
        Some(Rng { inner })
    }

    pub fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.inner.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - (self.inner.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let u2 = (self.inner.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }

    /// Uniform index in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.inner.next_u64() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_rng_continues_the_same_sequence() {
        let mut a = Rng::seeded(7);
        for _ in 0..13 {
            a.next_u32();
        }
        let mut b = Rng::restore(&a.state(7)).unwrap();
        let xs: Vec<u32> = (0..5).map(|_| a.next_u32()).collect();
        let ys: Vec<u32> = (0..5).map(|_| b.next_u32()).collect();
        assert_eq!(xs, ys);
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = Rng::seeded(1);
        let xs: Vec<f32> = (0..20000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }
}
