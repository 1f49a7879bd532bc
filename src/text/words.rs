//! Words to word pieces for token classification: each word encoded as
//! transformers' `is_split_into_words=True` does, the word of every piece
//! (`word_ids()`), and the piece-level targets run_ner trains on.

use super::TextEncoder;
use crate::data::task::IGNORE;
use crate::data::Labels;
use crate::error::{Error, Result};
use tokenizers::{EncodeInput, InputSequence};

/// A sentence as the model sees it: piece ids and the word of each piece
/// (None for special tokens).
#[derive(Clone, Debug, PartialEq)]
pub struct WordPieces {
    pub ids: Vec<u32>,
    pub word_ids: Vec<Option<u32>>,
    /// Words that did not fit in `max_len` and were cut.
    pub cut_words: usize,
}

impl TextEncoder {
    /// Each row's words encoded as one pre-split sentence, cut at
    /// `max_len`. A byte-level BPE (RoBERTa) gets a space before every
    /// word, as transformers' `add_prefix_space=True` requires there.
    pub fn encode_words(&self, words: &[Vec<&str>]) -> Result<Vec<WordPieces>> {
        let mut tokenizer = self.tokenizer().clone();
        if let Some(tokenizers::PreTokenizerWrapper::ByteLevel(b)) = tokenizer.get_pre_tokenizer() {
            let spaced = (*b).add_prefix_space(true);
            tokenizer.with_pre_tokenizer(Some(tokenizers::PreTokenizerWrapper::ByteLevel(spaced)));
        }
        let inputs: Vec<EncodeInput> = words
            .iter()
            .map(|w| EncodeInput::Single(InputSequence::from(w.clone())))
            .collect();
        let encodings = tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| Error::Tokenizer(format!("encoding words: {e}")))?;
        Ok(encodings
            .into_iter()
            .zip(words)
            .map(|(e, w)| {
                let word_ids = e.get_word_ids().to_vec();
                let last = word_ids
                    .iter()
                    .flatten()
                    .max()
                    .map_or(0, |&m| m as usize + 1);
                WordPieces {
                    ids: e.get_ids().to_vec(),
                    word_ids,
                    cut_words: w.len().saturating_sub(last),
                }
            })
            .collect())
    }
}

impl TextEncoder {
    /// Each text's pieces with its special tokens and each piece's word
    /// (None for special tokens), cut at `cut` pieces (specials kept) or
    /// not cut at all.
    pub fn encode_with_words(
        &self,
        texts: &[&str],
        cut: Option<usize>,
    ) -> Result<Vec<super::pretraining::Sequence>> {
        let mut tokenizer = self.tokenizer().clone();
        let truncation = cut.map(|max_length| tokenizers::TruncationParams {
            max_length,
            ..Default::default()
        });
        tokenizer
            .with_truncation(truncation)
            .map_err(|e| Error::Tokenizer(format!("truncation: {e}")))?;
        let encodings = tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Tokenizer(format!("encoding: {e}")))?;
        Ok(encodings
            .into_iter()
            .map(|e| super::pretraining::Sequence {
                ids: e.get_ids().to_vec(),
                words: e.get_word_ids().to_vec(),
            })
            .collect())
    }
}

/// Tagged rows as the model trains on them: piece ids, piece targets, and
/// how many sentences were cut at `max_len` (their last words unscored).
pub struct EncodedTags {
    pub ids: Vec<Vec<u32>>,
    pub targets: crate::data::Targets,
    pub cut_sentences: usize,
}

impl TextEncoder {
    /// Encode token-classification rows with their word targets (tag ids,
    /// `data::task::targets_of`), aligned to pieces as run_ner does.
    pub fn encode_tagged(
        &self,
        rows: &[crate::data::Row],
        word_targets: &crate::data::Targets,
        labels: &Labels,
        label_all_tokens: bool,
    ) -> Result<EncodedTags> {
        let crate::data::Targets::Tokens(word_tags) = word_targets else {
            return Err(Error::Run("token targets expected".into()));
        };
        let words: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| {
                r.tagged_words()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(w, _)| w)
                    .collect()
            })
            .collect();
        let encoded = self.encode_words(&words)?;
        let bi = b_to_i(labels);
        let targets = encoded
            .iter()
            .zip(word_tags)
            .map(|(e, t)| piece_targets(t, &e.word_ids, label_all_tokens, &bi))
            .collect();
        Ok(EncodedTags {
            cut_sentences: encoded.iter().filter(|e| e.cut_words > 0).count(),
            ids: encoded.into_iter().map(|e| e.ids).collect(),
            targets: crate::data::Targets::Tokens(targets),
        })
    }
}

/// A raw text encoded for the token-classification pipeline.
#[derive(Clone, Debug)]
pub struct OffsetEncoding {
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    /// Character offsets into the text, one pair a piece.
    pub offsets: Vec<(usize, usize)>,
    pub special: Vec<bool>,
    /// The tokenizer marks word continuations (WordPiece's `##`), so a
    /// piece is a subword when its token text differs from its span.
    pub marks_continuations: bool,
    pub unk_id: Option<u32>,
}

impl TextEncoder {
    /// `text` as the pipeline sees it: pieces with character offsets.
    pub fn encode_with_offsets(&self, text: &str) -> Result<OffsetEncoding> {
        use tokenizers::models::ModelWrapper;
        let t = self.tokenizer();
        let e = t
            .encode_char_offsets(text, true)
            .map_err(|e| Error::Tokenizer(format!("encoding: {e}")))?;
        let marks_continuations = match t.get_model() {
            ModelWrapper::WordPiece(_) => true,
            ModelWrapper::BPE(b) => b.continuing_subword_prefix.is_some(),
            _ => false,
        };
        Ok(OffsetEncoding {
            ids: e.get_ids().to_vec(),
            tokens: e.get_tokens().to_vec(),
            offsets: e.get_offsets().to_vec(),
            special: e
                .get_special_tokens_mask()
                .iter()
                .map(|&m| m == 1)
                .collect(),
            marks_continuations,
            unk_id: ["[UNK]", "<unk>"].iter().find_map(|u| t.token_to_id(u)),
        })
    }

    /// Tokens joined back into text by the tokenizer's decoder (transformers'
    /// `convert_tokens_to_string`), or with spaces when it has none.
    pub fn tokens_to_string(&self, tokens: &[String]) -> String {
        use tokenizers::tokenizer::Decoder;
        match self.tokenizer().get_decoder() {
            Some(d) => d
                .decode(tokens.to_vec())
                .unwrap_or_else(|_| tokens.join(" ")),
            None => tokens.join(" "),
        }
    }
}

/// For each tag id, the id of its `I-` form (`B-PER` → `I-PER`; itself
/// when there is none): what run_ner gives later pieces of a word with
/// `label_all_tokens`.
pub fn b_to_i(labels: &Labels) -> Vec<i32> {
    (0..labels.len())
        .map(|i| {
            let name = labels.name(i);
            name.strip_prefix("B-")
                .and_then(|t| labels.id(&format!("I-{t}")))
                .unwrap_or(i) as i32
        })
        .collect()
}

/// Piece targets from word targets: the first piece of each word takes the
/// word's tag; later pieces take `IGNORE`, or with `label_all_tokens` the
/// tag's `I-` form; special tokens take `IGNORE`.
pub fn piece_targets(
    word_tags: &[i32],
    word_ids: &[Option<u32>],
    label_all_tokens: bool,
    b_to_i: &[i32],
) -> Vec<i32> {
    let mut prev: Option<u32> = None;
    word_ids
        .iter()
        .map(|w| {
            let t = match *w {
                None => IGNORE,
                Some(w) if prev != Some(w) => word_tags.get(w as usize).copied().unwrap_or(IGNORE),
                Some(w) if label_all_tokens => word_tags
                    .get(w as usize)
                    .map_or(IGNORE, |&t| b_to_i.get(t as usize).copied().unwrap_or(t)),
                Some(_) => IGNORE,
            };
            prev = *w;
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_piece_takes_the_tag_and_all_tokens_uses_the_i_form() {
        let labels = Labels::new(vec!["B-PER".into(), "I-PER".into(), "O".into()]);
        let bi = b_to_i(&labels);
        assert_eq!(bi, vec![1, 1, 2]);
        // [CLS] Jo ##hn Smith [SEP]: words 0, 0, 1.
        let ids = [None, Some(0), Some(0), Some(1), None];
        let tags = [0, 1];
        assert_eq!(
            piece_targets(&tags, &ids, false, &bi),
            vec![IGNORE, 0, IGNORE, 1, IGNORE]
        );
        assert_eq!(
            piece_targets(&tags, &ids, true, &bi),
            vec![IGNORE, 0, 1, 1, IGNORE]
        );
    }
}
