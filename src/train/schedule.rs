//! Learning-rate schedules, step for step as transformers' `get_*_schedule_
//! with_warmup` (the scheduler is read before the optimizer step, starting
//! at 0, so with warmup the first step has lr 0).

use crate::config::Schedule;

#[derive(Clone, Debug)]
pub struct LrSchedule {
    pub peak: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
    pub kind: Schedule,
}

impl LrSchedule {
    pub fn new(peak: f64, warmup_ratio: f64, total_steps: usize, kind: Schedule) -> Self {
        LrSchedule {
            peak,
            warmup_steps: (warmup_ratio * total_steps as f64).ceil() as usize,
            total_steps,
            kind,
        }
    }

    /// The learning rate of the optimizer step that follows `done` steps.
    pub fn lr(&self, done: usize) -> f64 {
        if done < self.warmup_steps {
            return self.peak * done as f64 / self.warmup_steps.max(1) as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = (done - self.warmup_steps) as f64 / span;
        let factor = match self.kind {
            Schedule::Constant => 1.0,
            Schedule::Linear => (1.0 - progress).max(0.0),
            Schedule::Cosine => (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0),
        };
        self.peak * factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_warmup_then_decay_matches_transformers() {
        let s = LrSchedule::new(1.0, 0.1, 100, Schedule::Linear);
        assert_eq!(s.warmup_steps, 10);
        assert_eq!(s.lr(0), 0.0);
        assert!((s.lr(5) - 0.5).abs() < 1e-12);
        assert_eq!(s.lr(10), 1.0);
        assert!((s.lr(55) - 0.5).abs() < 1e-12);
        assert_eq!(s.lr(100), 0.0);
    }

    #[test]
    fn cosine_reaches_half_at_midpoint_and_constant_stays() {
        let s = LrSchedule::new(2.0, 0.0, 10, Schedule::Cosine);
        assert!((s.lr(5) - 1.0).abs() < 1e-12);
        let c = LrSchedule::new(2.0, 0.2, 10, Schedule::Constant);
        assert_eq!((c.lr(1), c.lr(9)), (1.0, 2.0));
    }
}
