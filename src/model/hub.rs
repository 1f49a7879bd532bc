//! Where a model comes from: `scratch:<size>`, a local directory, or a hub
//! id looked up in the standard HuggingFace cache. tunebench never
//! downloads; `HF_HUB_OFFLINE` is therefore always honoured.
//!
//! We read the cache layout ourselves (`models--org--name/refs/main` +
//! `snapshots/<rev>/`): hf-hub 0.4 misses every lookup when `refs/main` ends
//! in a newline, and 1.0 tries the network first.

use super::ModelError;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    Scratch(String),
    Dir(PathBuf),
}

pub use crate::data::hf::cache_dir;

/// A snapshot directory for `org/name` (optionally `org/name@revision`).
pub fn find_in_cache(cache: &Path, id: &str) -> Option<PathBuf> {
    let (repo, revision) = match id.split_once('@') {
        Some((r, rev)) => (r, Some(rev)),
        None => (id, None),
    };
    crate::data::hf::find_snapshot(cache, "models", repo, revision)
}

pub fn resolve(spec: &str) -> Result<ModelSource, ModelError> {
    if let Some(size) = spec.strip_prefix("scratch:") {
        return Ok(ModelSource::Scratch(size.to_string()));
    }
    let path = Path::new(spec);
    if path.is_dir() {
        return Ok(ModelSource::Dir(path.to_path_buf()));
    }
    let looks_like_id = spec.matches('/').count() == 1
        && !spec.starts_with('.')
        && !spec.starts_with('/')
        && !spec.contains('\\');
    if !looks_like_id {
        return Err(ModelError::NotFound {
            spec: spec.into(),
            hint: "no such directory (give a local HF model dir, a hub id like org/name, or scratch:tiny|mini|small)".into(),
        });
    }
    let cache = cache_dir().ok_or_else(|| ModelError::NotFound {
        spec: spec.into(),
        hint: "no HF cache directory (set HF_HOME or HF_HUB_CACHE)".into(),
    })?;
    find_in_cache(&cache, spec)
        .map(ModelSource::Dir)
        .ok_or_else(|| ModelError::NotFound {
            spec: spec.into(),
            hint: format!(
                "not a local directory and not in the HuggingFace cache at {}; tunebench does not download: fetch it there first (e.g. `huggingface-cli download {spec}`) or pass a local directory",
                cache.display()
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_snapshot_through_refs_main_with_trailing_newline() {
        let cache = tempfile::tempdir().unwrap();
        let root = cache.path().join("models--acme--tiny-bert");
        std::fs::create_dir_all(root.join("refs")).unwrap();
        std::fs::create_dir_all(root.join("snapshots/abc123")).unwrap();
        std::fs::write(root.join("refs/main"), "abc123\n").unwrap();
        assert_eq!(
            find_in_cache(cache.path(), "acme/tiny-bert"),
            Some(root.join("snapshots/abc123"))
        );
        assert_eq!(find_in_cache(cache.path(), "acme/other"), None);
    }

    #[test]
    fn resolves_scratch_and_rejects_missing_paths() {
        assert_eq!(
            resolve("scratch:mini").unwrap(),
            ModelSource::Scratch("mini".into())
        );
        let e = resolve("./nope/here").unwrap_err().to_string();
        assert!(e.contains("no such directory"), "{e}");
    }
}
