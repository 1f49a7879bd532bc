//! Integrated Gradients on the word embeddings, as Captum's
//! `LayerIntegratedGradients(forward, model.<encoder>.embeddings.word_embeddings)`
//! computes them: the baseline keeps [CLS]/[SEP] (special tokens) and puts
//! [PAD] everywhere else; the path integral uses Gauss–Legendre nodes
//! (Captum's default method) on [0, 1]; the function is the softmax
//! probability of the target label (a multi-label model: that label's
//! sigmoid probability; regression: the predicted value). Attributions are summed over the
//! embedding dimension per token, and over word pieces per word.

use crate::error::Result;
use crate::model::{Classifier, Mode};
use crate::protocol::{Explanation, TokenScore, WordScore};
use crate::text::TextEncoder;
use candle_core::{DType, Tensor, Var, D};

/// Rows × tokens per forward/backward pass of the path batch.
const TOKENS_PER_PASS: usize = 4096;

/// Gauss–Legendre nodes and weights on [0, 1] (numpy's `leggauss`,
/// mapped as Captum maps it: α = (x + 1)/2, w/2).
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    for i in 0..n {
        // Newton's method on P_n from the Chebyshev-like first guess.
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            // p1 = P_n(x), p0 = P_{n-1}(x).
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-15 {
                break;
            }
        }
        nodes[i] = x;
        weights[i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
    // numpy orders the nodes ascending.
    let mut pairs: Vec<(f64, f64)> = nodes.into_iter().zip(weights).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    pairs
        .into_iter()
        .map(|(x, w)| (0.5 * (x + 1.0), 0.5 * w))
        .unzip()
}

/// Integrated Gradients of p(`target`) (default: the predicted label) for
/// `input`, with `steps` Gauss–Legendre nodes, batched.
pub fn integrated_gradients(
    model: &Classifier,
    text: &TextEncoder,
    input: &str,
    target: Option<usize>,
    steps: usize,
) -> Result<Explanation> {
    crate::device::on_compute_threads(&model.device, || {
        explain_on_this_thread(model, text, input, target, steps)
    })
}

fn explain_on_this_thread(
    model: &Classifier,
    text: &TextEncoder,
    input: &str,
    target: Option<usize>,
    steps: usize,
) -> Result<Explanation> {
    let steps = steps.max(1);
    // On a training run's live weights, explain with a frozen copy: the
    // backward then skips every weight gradient (a third of the work).
    let copy;
    let model = if model.trains_encoder() {
        copy = model.frozen_copy()?;
        &copy
    } else {
        model
    };
    let tt = text.encode_tokens(input)?;
    let l = tt.ids.len();
    let device = &model.device;
    let baseline: Vec<u32> = tt
        .ids
        .iter()
        .zip(&tt.special)
        .map(|(&id, &special)| if special { id } else { text.pad_id() })
        .collect();
    let ids = Tensor::from_vec(tt.ids.clone(), (1, l), device)?;
    let base_ids = Tensor::from_vec(baseline, (1, l), device)?;
    let ex = model.word_embeddings(&ids)?.detach().to_dtype(DType::F32)?;
    let eb = model
        .word_embeddings(&base_ids)?
        .detach()
        .to_dtype(DType::F32)?;
    let mask = Tensor::ones((1, l), DType::F32, device)?;
    // p(input) and p(baseline) in one two-row forward.
    let ends = Tensor::cat(&[&ex, &eb], 0)?;
    let logits = model.forward_from_words(&ends, &mask.repeat((2, 1))?, &mut Mode::Eval)?;
    let probs = explained_output(model.task, &logits)?.to_vec2::<f32>()?;
    let (p_x, p_b) = (&probs[0], &probs[1]);
    let target = target.unwrap_or_else(|| crate::model::probs::argmax(p_x));

    let (alphas, weights) = gauss_legendre(steps);
    let diff = (&ex - &eb)?;
    let per_pass = (TOKENS_PER_PASS / l.max(1)).max(1);
    let mut total: Option<Tensor> = None;
    for (a_chunk, w_chunk) in alphas.chunks(per_pass).zip(weights.chunks(per_pass)) {
        let k = a_chunk.len();
        let a: Vec<f32> = a_chunk.iter().map(|&a| a as f32).collect();
        let a = Tensor::from_vec(a, (k, 1, 1), device)?;
        let path = Var::from_tensor(&eb.broadcast_add(&diff.broadcast_mul(&a)?)?)?;
        let logits =
            model.forward_from_words(path.as_tensor(), &mask.repeat((k, 1))?, &mut Mode::Eval)?;
        let p = explained_output(model.task, &logits)?.narrow(1, target, 1)?;
        let w: Vec<f32> = w_chunk.iter().map(|&w| w as f32).collect();
        let w = Tensor::from_vec(w, (k, 1), device)?;
        let grads = (p * w)?.sum_all()?.backward()?;
        let g = grads
            .get(path.as_tensor())
            .ok_or_else(|| crate::Error::Run("no gradient reached the embeddings".into()))?
            .sum_keepdim(0)?;
        total = Some(match total {
            Some(t) => (t + g)?,
            None => g,
        });
    }
    let total = total.ok_or_else(|| crate::Error::Run("no integration steps".into()))?;
    let scores = (total * diff)?
        .sum(D::Minus1)?
        .squeeze(0)?
        .to_vec1::<f32>()?;

    let mut words: Vec<WordScore> = tt
        .words
        .iter()
        .map(|w| WordScore {
            word: w.clone(),
            score: 0.0,
        })
        .collect();
    let tokens = tt
        .tokens
        .iter()
        .zip(&tt.word_of)
        .zip(&scores)
        .map(|((token, word), &score)| {
            if let Some(w) = word {
                words[*w].score += score;
            }
            TokenScore {
                token: token.clone(),
                word: word.map(|w| tt.words[w].clone()),
                score,
            }
        })
        .collect();
    let sum: f32 = scores.iter().sum();
    Ok(Explanation {
        target: model.labels.name(target).to_string(),
        prob: p_x[target],
        baseline_prob: p_b[target],
        tokens,
        words,
        delta: sum - (p_x[target] - p_b[target]),
        steps,
    })
}

/// What is explained, per label: the softmax probability (one label a
/// text), the label's own sigmoid probability (multi-label), or the
/// predicted value itself (regression).
fn explained_output(task: crate::data::Task, logits: &Tensor) -> candle_core::Result<Tensor> {
    use crate::data::Task;
    match task {
        Task::SingleLabel => candle_nn::ops::softmax(logits, D::Minus1),
        Task::MultiLabel => candle_nn::ops::sigmoid(logits),
        Task::Regression => Ok(logits.clone()),
        Task::TokenClassification => Err(candle_core::Error::Msg(
            "word attributions explain a text's label; a token classifier tags each word".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_matches_numpy() {
        // numpy.polynomial.legendre.leggauss(3), mapped to [0, 1].
        let (a, w) = gauss_legendre(3);
        let s = (0.6f64).sqrt();
        let want_a = [0.5 * (1.0 - s), 0.5, 0.5 * (1.0 + s)];
        let want_w = [5.0 / 18.0, 8.0 / 18.0, 5.0 / 18.0];
        for i in 0..3 {
            assert!((a[i] - want_a[i]).abs() < 1e-12, "{a:?}");
            assert!((w[i] - want_w[i]).abs() < 1e-12, "{w:?}");
        }
        // Exact for polynomials up to degree 2n - 1: ∫1 = 1, ∫x³ = 1/4.
        for n in [2, 7, 32, 50] {
            let (a, w) = gauss_legendre(n);
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12, "n {n}");
            let m: f64 = a.iter().zip(&w).map(|(a, w)| a * a * a * w).sum();
            assert!((m - 0.25).abs() < 1e-12, "n {n}: ∫x³ = {m}");
        }
    }
}
