//! Loading a model's `tokenizer.json`, or training a WordPiece vocabulary on
//! the corpus for `scratch:*` models, and encoding text with truncation.

use crate::error::{Error, Result};
use std::path::Path;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer, TokenizerImpl, TruncationParams};

type WordPieceTokenizer = TokenizerImpl<
    WordPiece,
    BertNormalizer,
    BertPreTokenizer,
    TemplateProcessing,
    WordPieceDecoder,
>;

pub const SPECIAL_TOKENS: &[&str] = &["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A text's tokens with the words they make up (see `encode_tokens`).
#[derive(Clone, Debug)]
pub struct TokenizedText {
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    pub special: Vec<bool>,
    pub word_of: Vec<Option<usize>>,
    pub words: Vec<String>,
}

/// A tokenizer plus the truncation length every encoding respects.
#[derive(Clone)]
pub struct TextEncoder {
    tokenizer: Tokenizer,
    pad_id: u32,
    max_len: usize,
}

fn tok_err(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(format!("{context}: {e}"))
}

impl TextEncoder {
    fn wrap(mut tokenizer: Tokenizer, max_len: usize) -> Result<Self> {
        // A model's tokenizer.json may carry fixed padding/truncation
        // (all-MiniLM-L6-v2 pads every input to 128): we pad per batch.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| tok_err("truncation", e))?;
        let pad_id = ["[PAD]", "<pad>"]
            .iter()
            .find_map(|t| tokenizer.token_to_id(t))
            .unwrap_or(0);
        Ok(TextEncoder {
            tokenizer,
            pad_id,
            max_len,
        })
    }

    pub fn from_file(path: &Path, max_len: usize) -> Result<Self> {
        let tokenizer =
            Tokenizer::from_file(path).map_err(|e| tok_err(&format!("{}", path.display()), e))?;
        Self::wrap(tokenizer, max_len)
    }

    pub fn from_json(json: &str, max_len: usize) -> Result<Self> {
        let tokenizer: Tokenizer = json.parse().map_err(|e| tok_err("tokenizer.json", e))?;
        Self::wrap(tokenizer, max_len)
    }

    /// Train a BERT-style uncased WordPiece tokenizer on `texts`.
    pub fn train_wordpiece(texts: &[String], vocab_size: usize, max_len: usize) -> Result<Self> {
        let normalizer = BertNormalizer::new(true, true, None, true);
        let mut counts = std::collections::BTreeMap::new();
        for t in texts {
            for w in
                super::vocab::words(&normalizer, t).map_err(|e| tok_err("pre-tokenizing", e))?
            {
                *counts.entry(w).or_insert(0u64) += 1;
            }
        }
        let pieces =
            super::vocab::learn(&counts, vocab_size.saturating_sub(SPECIAL_TOKENS.len()), 2);
        let vocab: Vec<String> = SPECIAL_TOKENS
            .iter()
            .map(|t| t.to_string())
            .chain(pieces)
            .collect();
        Self::wordpiece(vocab, max_len)
    }

    /// BERT's uncased WordPiece tokenizer over `vocab` (a vocab.txt's
    /// lines: id = index, SPECIAL_TOKENS among them). CJK ideographs are
    /// split into single characters, as BERT's basic tokenizer does.
    pub fn wordpiece(vocab: Vec<String>, max_len: usize) -> Result<Self> {
        let ordered: std::collections::HashMap<String, u32> = vocab
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, i as u32))
            .collect();
        let spec = serde_json::json!({
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": ordered,
        })
        .to_string();
        let model: WordPiece = serde_json::from_str(&spec).map_err(|e| tok_err("wordpiece", e))?;
        let mut imp = Self::wordpiece_pipeline(model)?;
        imp.add_special_tokens(
            SPECIAL_TOKENS
                .iter()
                .map(|t| AddedToken::from(t.to_string(), true))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| tok_err("special tokens", e))?;
        let id = |t: &str| {
            imp.token_to_id(t)
                .ok_or_else(|| tok_err("training WordPiece", format!("{t} missing")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        let template = TemplateProcessing::builder()
            .try_single("[CLS] $A [SEP]")
            .and_then(|b| b.try_pair("[CLS] $A [SEP] $B:1 [SEP]:1"))
            .map_err(|e| tok_err("template", e))?
            .special_tokens(vec![("[CLS]", cls), ("[SEP]", sep)])
            .build()
            .map_err(|e| tok_err("template", e))?;
        imp.with_post_processor(Some(template));
        let json = imp
            .to_string(false)
            .map_err(|e| tok_err("serialising", e))?;
        Self::from_json(&json, max_len)
    }

    /// BERT's uncased text pipeline around a WordPiece model.
    fn wordpiece_pipeline(model: WordPiece) -> Result<WordPieceTokenizer> {
        let mut imp: WordPieceTokenizer = TokenizerImpl::new(model);
        imp.with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
            .map_err(|e| tok_err("normalizer", e))?;
        imp.with_pre_tokenizer(Some(BertPreTokenizer));
        imp.with_decoder(Some(WordPieceDecoder::default()));
        Ok(imp)
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The wrapped tokenizer (word alignment encodes with it directly).
    pub(crate) fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Token ids of each text, with special tokens, cut at `max_len`.
    pub fn encode_all(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        // One text: skip the batch path, which hands work to the thread
        // pool (a cross-thread round trip that dominates small calls).
        if let [one] = texts {
            let e = self
                .tokenizer
                .encode(*one, true)
                .map_err(|e| tok_err("encoding", e))?;
            return Ok(vec![e.get_ids().to_vec()]);
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| tok_err("encoding", e))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// Token ids of each row: its text, or its text pair (`text_b`) as
    /// the model's template joins two sentences ([CLS] a [SEP] b [SEP]).
    pub fn encode_rows(&self, rows: &[crate::data::Row]) -> Result<Vec<Vec<u32>>> {
        if rows.iter().all(|r| r.text_b.is_none()) {
            let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
            return self.encode_all(&texts);
        }
        let inputs: Vec<tokenizers::EncodeInput> = rows
            .iter()
            .map(|r| match &r.text_b {
                Some(b) => (r.text.as_str(), b.as_str()).into(),
                None => r.text.as_str().into(),
            })
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| tok_err("encoding", e))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// The id that ends the first sentence of a pair ([SEP] or </s>).
    pub fn sep_id(&self) -> Option<u32> {
        ["[SEP]", "</s>"]
            .iter()
            .find_map(|t| self.tokenizer.token_to_id(t))
    }

    /// Ids without special tokens or truncation (for packing text).
    pub fn encode_plain(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let mut t = self.tokenizer.clone();
        t.with_truncation(None)
            .map_err(|e| tok_err("truncation", e))?;
        let encodings = t
            .encode_batch(texts.to_vec(), false)
            .map_err(|e| tok_err("encoding", e))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// The tokenizer's mask token and its id (`[MASK]`, `<mask>`), if any.
    pub fn mask_token(&self) -> Option<(&'static str, u32)> {
        ["[MASK]", "<mask>"]
            .into_iter()
            .find_map(|t| Some((t, self.tokenizer.token_to_id(t)?)))
    }

    /// One piece as text, as transformers' `decode([id])` gives it (the
    /// tokenizer's decoder: `Ġgreat` → ` great`).
    pub fn decode_piece(&self, id: u32) -> Result<String> {
        self.tokenizer
            .decode(&[id], false)
            .map_err(|e| tok_err("decoding", e))
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// One text's or sentence pair's ids, joined as the model's template
    /// joins two sentences (cut at `max_len`), and the untruncated length
    /// when it had to be cut (None when it fits).
    pub fn encode_input(
        &self,
        text: &str,
        pair: Option<&str>,
    ) -> Result<(Vec<u32>, Option<usize>)> {
        let Some(b) = pair else {
            return self.encode_one(text);
        };
        let e = self
            .tokenizer
            .encode((text, b), true)
            .map_err(|e| tok_err("encoding", e))?;
        let full = if e.get_overflowing().is_empty() {
            None
        } else {
            let mut whole = self.tokenizer.clone();
            whole
                .with_truncation(None)
                .map_err(|e| tok_err("truncation", e))?;
            let all = whole
                .encode((text, b), true)
                .map_err(|e| tok_err("encoding", e))?;
            Some(all.get_ids().len())
        };
        Ok((e.get_ids().to_vec(), full))
    }

    /// One text's ids (cut at `max_len`), and its untruncated length when
    /// it had to be cut (None when it fits).
    pub fn encode_one(&self, text: &str) -> Result<(Vec<u32>, Option<usize>)> {
        let e = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| tok_err("encoding", e))?;
        let full = if e.get_overflowing().is_empty() {
            None
        } else {
            Some(self.full_lengths(&[text])?[0])
        };
        Ok((e.get_ids().to_vec(), full))
    }

    /// One text as tokens for attributions: ids, each token's text, whether
    /// it is a special token ([CLS], [SEP], [PAD]), and the word it belongs
    /// to (index, and the word's text from the input).
    pub fn encode_tokens(&self, text: &str) -> Result<TokenizedText> {
        let e = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| tok_err("encoding", e))?;
        // Word spans in the input (pieces of one word widen its span).
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut word_of = Vec::with_capacity(e.len());
        let mut last: Option<u32> = None;
        for (w, &(start, end)) in e.get_word_ids().iter().zip(e.get_offsets()) {
            match *w {
                None => word_of.push(None),
                Some(w) if last == Some(w) && !spans.is_empty() => {
                    let n = spans.len() - 1;
                    spans[n].1 = end;
                    word_of.push(Some(n));
                }
                Some(w) => {
                    spans.push((start, end));
                    last = Some(w);
                    word_of.push(Some(spans.len() - 1));
                }
            }
        }
        let words = spans
            .iter()
            .map(|&(a, b)| text.get(a..b).unwrap_or("").to_string())
            .collect();
        Ok(TokenizedText {
            ids: e.get_ids().to_vec(),
            tokens: e.get_tokens().to_vec(),
            special: e
                .get_special_tokens_mask()
                .iter()
                .map(|&m| m == 1)
                .collect(),
            word_of,
            words,
        })
    }

    /// Untruncated token counts (with special tokens), for length statistics.
    pub fn full_lengths(&self, texts: &[&str]) -> Result<Vec<usize>> {
        let mut t = self.tokenizer.clone();
        t.with_truncation(None)
            .map_err(|e| tok_err("truncation", e))?;
        let encodings = t
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| tok_err("encoding", e))?;
        Ok(encodings.iter().map(|e| e.len()).collect())
    }

    /// The word pieces of a text, as a person would read them.
    pub fn pieces(&self, text: &str) -> Result<Vec<String>> {
        Ok(self
            .tokenizer
            .encode(text, true)
            .map_err(|e| tok_err("encoding", e))?
            .get_tokens()
            .to_vec())
    }

    /// tokenizer.json as saved with checkpoints: without our truncation, so
    /// it matches what the model was trained with and loads anywhere.
    pub fn to_json(&self) -> Result<String> {
        let mut t = self.tokenizer.clone();
        t.with_truncation(None)
            .map_err(|e| tok_err("truncation", e))?;
        t.to_string(false).map_err(|e| tok_err("serialising", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        (0..50)
            .flat_map(|i| {
                [
                    format!("The battery life is great number {i}"),
                    "Terrible battery, it died after one day".to_string(),
                    "Delivery was on time and the box was fine".to_string(),
                ]
            })
            .collect()
    }

    #[test]
    fn trained_wordpiece_adds_cls_sep_and_truncates() {
        let enc = TextEncoder::train_wordpiece(&corpus(), 500, 6).unwrap();
        let ids = enc
            .encode_all(&["the battery life is great indeed yes"])
            .unwrap();
        assert_eq!(ids[0].len(), 6);
        let pieces = enc.pieces("The battery").unwrap();
        assert_eq!(pieces.first().map(String::as_str), Some("[CLS]"));
        assert_eq!(pieces.last().map(String::as_str), Some("[SEP]"));
        assert_eq!(pieces[1], "the", "uncased");
        assert_eq!(enc.pad_id(), 0);
        let full = enc
            .full_lengths(&["the battery life is great indeed yes"])
            .unwrap();
        assert!(full[0] > 6, "{full:?}");
    }

    #[test]
    fn training_twice_gives_identical_tokenizers() {
        let a = TextEncoder::train_wordpiece(&corpus(), 500, 64).unwrap();
        let b = TextEncoder::train_wordpiece(&corpus(), 500, 64).unwrap();
        assert_eq!(a.to_json().unwrap(), b.to_json().unwrap());
    }

    #[test]
    fn saved_json_reloads_without_fixed_padding() {
        let enc = TextEncoder::train_wordpiece(&corpus(), 500, 64).unwrap();
        let again = TextEncoder::from_json(&enc.to_json().unwrap(), 64).unwrap();
        let a = enc.encode_all(&["battery died"]).unwrap();
        assert_eq!(a, again.encode_all(&["battery died"]).unwrap());
        assert_eq!(a[0].len(), 4);
    }

    /// Our uncased WordPiece pipeline gives BertTokenizerFast's ids
    /// (tokenize_chinese_chars) on mixed Chinese/English/emoji text.
    #[test]
    fn chinese_text_tokenizes_as_bert_tokenizer_fast() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let fixture: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("tests/fixtures/chinese_tokens.json")).unwrap(),
        )
        .unwrap();
        let vocab: Vec<String> = serde_json::from_value(fixture["vocab"].clone()).unwrap();
        let texts: Vec<String> = serde_json::from_value(fixture["texts"].clone()).unwrap();
        let want: Vec<Vec<u32>> = serde_json::from_value(fixture["ids"].clone()).unwrap();
        let enc = TextEncoder::wordpiece(vocab, 128).unwrap();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        assert_eq!(enc.encode_all(&refs).unwrap(), want);
    }

    /// A scratch vocabulary learned on Chinese text splits it into single
    /// characters (no multi-character pieces across ideographs).
    #[test]
    fn scratch_vocab_splits_chinese_into_characters() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let body = std::fs::read_to_string(root.join("sample-data/chinese/train.tsv")).unwrap();
        let texts: Vec<String> = body
            .lines()
            .skip(1)
            .map(|l| l.split_once('\t').unwrap().1.to_string())
            .collect();
        let enc = TextEncoder::train_wordpiece(&texts, 2000, 64).unwrap();
        let pieces = enc.pieces("这个手机的电池很好，推荐 OK").unwrap();
        assert_eq!(
            pieces,
            [
                "[CLS]", "这", "个", "手", "机", "的", "电", "池", "很", "好", "，", "推", "荐",
                "ok", "[SEP]"
            ]
        );
    }
}
