//! Token ids: tokenizers (loaded or trained) and padded batches.

pub mod batch;
pub mod tokenizer;

pub use batch::Batch;
pub use tokenizer::TextEncoder;
