//! tunebench: fine-tune BERT-family text classifiers with candle.
//!
//! Layers (an arrow only points down, see DESIGN.md):
//! front ends (`cli`, `tui`, `serve`) → engine (`train`, `sweep`, `run_dir`, `runs`, `remote`,
//! `predict`, `entities`, `precision_check`, `explain`) → ML core
//! (`model`, `text`) → data (`data`, `config`); `disk` and `error` serve
//! every layer.

pub mod bench;
pub mod build_info;
pub mod config;
pub mod data;
pub mod device;
pub mod disk;
pub mod entities;
pub mod error;
pub mod evaluation;
pub mod explain;
pub mod fill_mask;
pub mod label;
pub mod model;
pub mod precision_check;
pub mod predict;
pub mod protocol;
pub mod remote;
pub mod rng;
pub mod run_dir;
pub mod runs;
pub mod serve;
pub mod sweep;
#[cfg(test)]
mod test_util;
pub mod text;
pub mod train;
pub mod tui;

pub use error::{Error, Result};
