//! Dynamic batching: handlers tokenize and queue texts; one worker thread
//! per model takes what is queued (waiting at most `max_wait` for more)
//! into batches bounded in rows and padded tokens, sorts them by length
//! and runs them in length groups, so short texts are not padded to long
//! ones. Admission is bounded: a full queue answers 429 at once.

use super::metrics::Metrics;
use super::model::{Current, Loaded};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_batch_size: usize,
    /// Rows × longest row, per forward pass.
    pub max_batch_tokens: usize,
    pub max_wait: Duration,
}

/// One text's logits and the model that produced them (for its labels).
pub struct Scored {
    pub logits: Vec<f32>,
    pub model: Arc<Loaded>,
}

pub struct Job {
    pub ids: Vec<u32>,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<Result<Scored, String>>,
}

/// Bounded admission: texts admitted and not yet answered.
pub struct Slots {
    used: AtomicUsize,
    capacity: usize,
    metrics: Arc<Metrics>,
}

/// Held by a request while its texts are queued or running; dropping it
/// (answered, or the client went away) frees the slots.
pub struct SlotGuard {
    slots: Arc<Slots>,
    n: usize,
}

impl Slots {
    pub fn new(capacity: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Slots {
            used: AtomicUsize::new(0),
            capacity,
            metrics,
        })
    }

    pub fn try_take(self: &Arc<Self>, n: usize) -> Option<SlotGuard> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            if used + n > self.capacity {
                return None;
            }
            match self
                .used
                .compare_exchange(used, used + n, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => used = now,
            }
        }
        self.metrics.queue_depth.set((used + n) as i64);
        Some(SlotGuard {
            slots: self.clone(),
            n,
        })
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let left = self.slots.used.fetch_sub(self.n, Ordering::AcqRel) - self.n;
        self.slots.metrics.queue_depth.set(left as i64);
    }
}

/// Split rows sorted by length (`lens`, ascending) into forward passes:
/// a new group starts when padding to the next row would waste more than
/// a third of the group's tokens, once the group is big enough for the
/// matmuls to be efficient (64 tokens).
pub fn length_groups(lens: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut real = 0;
    for (i, &len) in lens.iter().enumerate() {
        let rows = i - start + 1;
        let padded = rows * len;
        if i > start && real >= 64 && (padded - real - len) * 3 > padded {
            groups.push(start..i);
            start = i;
            real = 0;
        }
        real += len;
    }
    if start < lens.len() {
        groups.push(start..lens.len());
    }
    groups
}

/// Take the next batch: the job carried over from the last one (or block
/// for one), then add what arrives within `max_wait` while the batch has
/// room. A job over the token budget is carried to the next batch. None
/// when the queue is closed and empty.
fn next_batch(rx: &Receiver<Job>, limits: &Limits, carry: &mut Option<Job>) -> Option<Vec<Job>> {
    let first = match carry.take() {
        Some(j) => j,
        None => rx.recv().ok()?,
    };
    let mut longest = first.ids.len();
    let mut jobs = vec![first];
    let deadline = Instant::now() + limits.max_wait;
    while jobs.len() < limits.max_batch_size {
        let next = match rx.try_recv() {
            Ok(j) => j,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match rx.recv_timeout(left) {
                    Ok(j) => j,
                    Err(_) => break,
                }
            }
        };
        let l = longest.max(next.ids.len());
        if (jobs.len() + 1) * l > limits.max_batch_tokens {
            *carry = Some(next);
            break;
        }
        longest = l;
        jobs.push(next);
    }
    Some(jobs)
}

/// The worker: runs until every sender is gone (shutdown) and the queue
/// is drained. A failed forward answers its jobs with the error; the
/// worker lives on.
pub fn run_worker(rx: Receiver<Job>, current: Arc<Current>, limits: Limits, metrics: Arc<Metrics>) {
    let mut carry = None;
    while let Some(mut jobs) = next_batch(&rx, &limits, &mut carry) {
        // A client that went away frees its work too.
        jobs.retain(|j| !j.reply.is_closed());
        if !jobs.is_empty() {
            // A panic in a forward pass fails its batch (the dropped
            // replies answer 500), never the worker.
            let run = std::panic::AssertUnwindSafe(|| run_batch(jobs, &current, &metrics));
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!("a forward pass panicked; its requests failed");
            }
        }
    }
}

fn run_batch(mut jobs: Vec<Job>, current: &Current, metrics: &Metrics) {
    let model = current.get();
    let now = Instant::now();
    for j in &jobs {
        metrics
            .queue_seconds
            .observe(now.duration_since(j.enqueued).as_secs_f64());
    }
    jobs.sort_by_key(|j| j.ids.len());
    let lens: Vec<usize> = jobs.iter().map(|j| j.ids.len()).collect();
    let groups = length_groups(&lens);
    let mut jobs = jobs.into_iter();
    for g in groups {
        let (rows, replies): (Vec<Vec<u32>>, Vec<_>) = jobs
            .by_ref()
            .take(g.len())
            .map(|j| (j.ids, j.reply))
            .unzip();
        let longest = rows.last().map_or(0, Vec::len);
        metrics.batch_size.observe(rows.len() as f64);
        metrics.batch_tokens.observe((rows.len() * longest) as f64);
        let t0 = Instant::now();
        let p = &model.predictor;
        let out = crate::predict::logits_for(&p.model, p.text.pad_id(), &rows);
        metrics
            .inference_seconds
            .observe(t0.elapsed().as_secs_f64());
        match out {
            Ok(logits) => {
                for (reply, l) in replies.into_iter().zip(logits) {
                    let _ = reply.send(Ok(Scored {
                        logits: l,
                        model: model.clone(),
                    }));
                }
            }
            Err(e) => {
                tracing::error!("forward pass failed: {e}");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_groups_split_where_padding_would_waste_the_most() {
        // Twenty short rows then twenty long ones: two passes.
        let mut lens = vec![8; 20];
        lens.extend(vec![120; 20]);
        assert_eq!(length_groups(&lens), vec![0..20, 20..40]);
        // Similar lengths stay together.
        let lens: Vec<usize> = (30..40).collect();
        assert_eq!(length_groups(&lens), vec![0..10]);
        // A ramp is cut where padding would waste more than a third.
        let lens: Vec<usize> = (10..40).collect();
        let groups = length_groups(&lens);
        assert_eq!(groups.len(), 2);
        for g in groups {
            let padded = g.len() * lens[g.end - 1];
            let real: usize = lens[g.clone()].iter().sum();
            assert!((padded - real) * 3 <= padded, "{g:?}");
        }
        // A few tiny rows are not worth a pass of their own.
        assert_eq!(length_groups(&[3, 4, 100]), vec![0..3]);
        assert!(length_groups(&[]).is_empty());
    }

    #[test]
    fn slots_bound_admission_and_free_on_drop() {
        let slots = Slots::new(3, Arc::new(Metrics::default()));
        let a = slots.try_take(2).unwrap();
        assert!(slots.try_take(2).is_none());
        let b = slots.try_take(1).unwrap();
        assert_eq!(slots.used(), 3);
        drop(a);
        assert_eq!(slots.used(), 1);
        drop(b);
        assert!(slots.try_take(3).is_some());
    }
}
