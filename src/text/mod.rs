//! Token ids: tokenizers (loaded or trained) and padded batches.

pub mod batch;
pub mod masking;
pub mod pretraining;
pub mod tokenizer;
pub mod vocab;
pub mod words;

pub use batch::Batch;
pub use tokenizer::TextEncoder;
