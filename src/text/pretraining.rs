//! The sequences a masked-LM run trains on, as transformers' `run_mlm.py`
//! makes them: each text tokenized with its special tokens, then either
//! concatenated and cut into blocks of `block_size` pieces (`group_texts`:
//! the remainder that fills no block is dropped) or kept one a line, cut at
//! `block_size` (`--line_by_line`; blank lines dropped). Each piece keeps
//! its word (distinct across texts), which whole-word masking needs; and a
//! batch of them is masked afresh each time it is drawn, as the collator
//! masks at batch time.

use super::masking::{Masked, MaskingSpec};
use super::TextEncoder;
use crate::error::{Error, Result};
use crate::rng::Rng;
use candle_core::{Device, Tensor};

/// How texts become sequences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// Concatenated, cut into blocks of this many pieces.
    Blocks(usize),
    /// One text a sequence, cut at this many pieces.
    LineByLine(usize),
}

/// One training sequence: piece ids and each piece's word (None for
/// special tokens).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sequence {
    pub ids: Vec<u32>,
    pub words: Vec<Option<u32>>,
}

/// The sequences of `texts` under `packing`.
pub fn sequences(text: &TextEncoder, texts: &[&str], packing: Packing) -> Result<Vec<Sequence>> {
    let texts: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| !t.trim().is_empty())
        .collect();
    let (limit, cut) = match packing {
        Packing::Blocks(n) | Packing::LineByLine(n) if n < 2 => {
            return Err(Error::Config(crate::config::ConfigError::field(
                "block_size",
                format!("{n}: a sequence needs room for at least two pieces"),
            )))
        }
        Packing::Blocks(n) => (n, false),
        Packing::LineByLine(n) => (n, true),
    };
    let encoded = text.encode_with_words(&texts, cut.then_some(limit))?;
    if cut {
        return Ok(encoded);
    }
    // group_texts: one stream, words numbered apart across texts.
    let mut stream = Sequence::default();
    let mut offset = 0u32;
    for s in encoded {
        let top = s.words.iter().flatten().max().map_or(0, |&w| w + 1);
        stream.ids.extend(s.ids);
        stream
            .words
            .extend(s.words.into_iter().map(|w| w.map(|w| w + offset)));
        offset += top;
    }
    let blocks = stream.ids.len() / limit;
    Ok((0..blocks)
        .map(|b| Sequence {
            ids: stream.ids[b * limit..(b + 1) * limit].to_vec(),
            words: stream.words[b * limit..(b + 1) * limit].to_vec(),
        })
        .collect())
}

impl MaskingSpec {
    /// A training batch of `seqs`, each masked by a fresh draw: padded ids
    /// and mask, the picked pieces' flat positions and their targets.
    pub fn batch(
        &self,
        seqs: &[&Sequence],
        pad_id: u32,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<crate::text::Batch> {
        let drawn: Vec<Masked> = seqs
            .iter()
            .map(|s| self.draw(&s.ids, Some(&s.words), rng).0)
            .collect();
        let rows: Vec<&[u32]> = drawn.iter().map(|m| m.ids.as_slice()).collect();
        let mut batch = super::batch::make_batch(&rows, None, pad_id, device)?;
        let width = batch.input_ids.dim(1)?;
        let (mut positions, mut targets): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        for (r, m) in drawn.iter().enumerate() {
            positions.extend(m.positions.iter().map(|&p| (r * width + p) as u32));
            targets.extend(&m.targets);
        }
        batch.positions = Some(Tensor::new(positions.as_slice(), device)?);
        batch.labels = Some(Tensor::new(targets.as_slice(), device)?);
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoder() -> TextEncoder {
        let texts: Vec<String> = [
            "the movie was great and the acting superb",
            "a boring slow film with a dull ending",
            "i loved the music",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        TextEncoder::train_wordpiece(&texts, 200, 512).unwrap()
    }

    #[test]
    fn blocks_concatenate_texts_and_drop_the_remainder() {
        let text = encoder();
        let texts = [
            "the movie was great",
            "",
            "a boring slow film",
            "i loved it",
        ];
        let whole = text
            .encode_with_words(&["the movie was great"], None)
            .unwrap();
        let n: usize = text
            .encode_with_words(
                &["the movie was great", "a boring slow film", "i loved it"],
                None,
            )
            .unwrap()
            .iter()
            .map(|s| s.ids.len())
            .sum();
        let seqs = sequences(&text, &texts, Packing::Blocks(4)).unwrap();
        assert_eq!(seqs.len(), n / 4, "the remainder fills no block");
        assert!(seqs.iter().all(|s| s.ids.len() == 4 && s.words.len() == 4));
        // The stream starts with the first text, special tokens included.
        assert_eq!(&seqs[0].ids[..4], &whole[0].ids[..4]);
        // Words never repeat across texts: each word's pieces are adjacent.
        let words: Vec<u32> = seqs
            .iter()
            .flat_map(|s| s.words.iter().flatten().copied())
            .collect();
        assert!(words.windows(2).all(|w| w[0] <= w[1]), "{words:?}");
    }

    #[test]
    fn line_by_line_keeps_a_text_a_sequence_cut_at_the_block() {
        let text = encoder();
        let seqs = sequences(
            &text,
            &[
                "the movie was great and the acting superb",
                " ",
                "i loved it",
            ],
            Packing::LineByLine(6),
        )
        .unwrap();
        assert_eq!(seqs.len(), 2, "the blank line is dropped");
        assert_eq!(seqs[0].ids.len(), 6, "cut at the block, specials kept");
        assert_eq!(seqs[0].words[0], None);
        assert_eq!(seqs[0].words[5], None);
        assert!(sequences(&text, &["a"], Packing::Blocks(1)).is_err());
    }

    #[test]
    fn a_masked_batch_points_at_the_hidden_pieces() {
        let text = encoder();
        let seqs = sequences(
            &text,
            &[
                "the movie was great and the acting superb",
                "i loved the music",
            ],
            Packing::LineByLine(32),
        )
        .unwrap();
        let spec = MaskingSpec {
            probability: 0.5,
            whole_word: true,
            mask_id: text.mask_token().unwrap().1,
            vocab_size: text.vocab_size(),
            special: vec![text.pad_id()],
        };
        let refs: Vec<&Sequence> = seqs.iter().collect();
        let batch = spec
            .batch(&refs, text.pad_id(), &mut Rng::seeded(3), &Device::Cpu)
            .unwrap();
        let ids: Vec<u32> = batch.input_ids.flatten_all().unwrap().to_vec1().unwrap();
        let positions: Vec<u32> = batch.positions.unwrap().to_vec1().unwrap();
        let targets: Vec<u32> = batch.labels.unwrap().to_vec1().unwrap();
        assert_eq!(positions.len(), targets.len());
        assert!(!positions.is_empty());
        let width = batch.input_ids.dim(1).unwrap();
        for (&p, &t) in positions.iter().zip(&targets) {
            let (r, c) = (p as usize / width, p as usize % width);
            assert_eq!(seqs[r].ids[c], t, "the target is the original piece");
            assert!(seqs[r].words[c].is_some(), "a special token was picked");
        }
        assert!(ids.contains(&spec.mask_id));
    }
}
