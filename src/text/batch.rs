//! Padding token ids into batches: each batch is padded to its own longest
//! row, never to `max_len`.

use candle_core::{Device, Tensor};

pub struct Batch {
    /// (B, L) u32 token ids.
    pub input_ids: Tensor,
    /// (B, L) f32, 1 for real tokens and 0 for padding.
    pub attention_mask: Tensor,
    /// (B,) u32 label ids, when known; for a masked-LM batch the (M,) u32
    /// pieces at `positions`.
    pub labels: Option<Tensor>,
    /// A masked-LM batch's picked pieces: (M,) u32 flat indexes into the
    /// (B·L) pieces (`text::masking`).
    pub positions: Option<Tensor>,
    /// Real (non-pad) tokens in the batch.
    pub tokens: usize,
    pub size: usize,
}

pub fn make_batch(
    rows: &[&[u32]],
    labels: Option<&[u32]>,
    pad_id: u32,
    device: &Device,
) -> candle_core::Result<Batch> {
    let b = rows.len();
    let l = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![pad_id; b * l];
    let mut mask = vec![0f32; b * l];
    let mut tokens = 0;
    for (i, row) in rows.iter().enumerate() {
        ids[i * l..i * l + row.len()].copy_from_slice(row);
        mask[i * l..i * l + row.len()].fill(1.0);
        tokens += row.len();
    }
    Ok(Batch {
        input_ids: Tensor::from_vec(ids, (b, l), device)?,
        attention_mask: Tensor::from_vec(mask, (b, l), device)?,
        labels: labels
            .map(|ls| Tensor::from_slice(ls, (b,), device))
            .transpose()?,
        tokens,
        size: b,
        positions: None,
    })
}

/// The label tensor of a batch's targets: (B,) u32 class ids, (B, N) f32
/// multi-hot rows, (B,) f32 values, or (B, L) i64 tag ids a piece.
pub fn targets_tensor(
    targets: &crate::data::Targets,
    device: &Device,
) -> candle_core::Result<Tensor> {
    use crate::data::Targets;
    match targets {
        Targets::Classes(ids) => Tensor::from_slice(ids, (ids.len(),), device),
        Targets::Sets(rows) => {
            let n = rows.first().map_or(0, Vec::len);
            let flat: Vec<f32> = rows.iter().flatten().copied().collect();
            Tensor::from_vec(flat, (rows.len(), n), device)
        }
        Targets::Scores(v) => Tensor::from_slice(v, (v.len(),), device),
        // (B, L) i64, padded with IGNORE to the batch's longest row.
        Targets::Tokens(rows) => {
            let l = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let mut flat = vec![crate::data::task::IGNORE as i64; rows.len() * l];
            for (i, r) in rows.iter().enumerate() {
                for (j, &t) in r.iter().enumerate() {
                    flat[i * l + j] = t as i64;
                }
            }
            Tensor::from_vec(flat, (rows.len(), l), device)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_longest_row_in_batch() {
        let rows: Vec<&[u32]> = vec![&[2, 7, 3], &[2, 3]];
        let b = make_batch(&rows, Some(&[1, 0]), 0, &Device::Cpu).unwrap();
        assert_eq!(b.input_ids.dims(), &[2, 3]);
        assert_eq!(
            b.input_ids.to_vec2::<u32>().unwrap(),
            vec![vec![2, 7, 3], vec![2, 3, 0]]
        );
        assert_eq!(
            b.attention_mask.to_vec2::<f32>().unwrap(),
            vec![vec![1., 1., 1.], vec![1., 1., 0.]]
        );
        assert_eq!(b.tokens, 5);
    }
}
