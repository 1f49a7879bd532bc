//! The HuggingFace hub cache, read offline: where `huggingface_hub` keeps
//! models and datasets (`<kind>s--org--name/refs/<rev>` +
//! `snapshots/<commit>/`), and which Parquet files of a cached dataset
//! hold a given config and split. tunebench never downloads.

use super::DataError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The hub cache directory, as huggingface_hub computes it.
pub fn cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("HF_HUB_CACHE").or_else(|| env("HUGGINGFACE_HUB_CACHE")) {
        return Some(d);
    }
    if let Some(home) = env("HF_HOME") {
        return Some(home.join("hub"));
    }
    let base = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("huggingface").join("hub"))
}

/// The snapshot directory of repo `org/name` of `kind` ("models",
/// "datasets") at `revision` (a ref such as `main`, or a commit; default
/// `main`, or the only snapshot when no ref is recorded).
pub fn find_snapshot(
    cache: &Path,
    kind: &str,
    repo: &str,
    revision: Option<&str>,
) -> Option<PathBuf> {
    let root = cache.join(format!("{kind}--{}", repo.replace('/', "--")));
    let snapshots = root.join("snapshots");
    let rev = match revision {
        Some(r) => std::fs::read_to_string(root.join("refs").join(r))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| r.to_string()),
        None => match std::fs::read_to_string(root.join("refs").join("main")) {
            Ok(s) => s.trim().to_string(),
            Err(_) => {
                let mut dirs: Vec<_> = std::fs::read_dir(&snapshots).ok()?.flatten().collect();
                if dirs.len() != 1 {
                    return None;
                }
                dirs.pop()?.file_name().to_string_lossy().into_owned()
            }
        },
    };
    let dir = snapshots.join(rev);
    dir.is_dir().then_some(dir)
}

/// `hf:ORG/NAME[:CONFIG][@REV]`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetSpec {
    pub repo: String,
    pub config: Option<String>,
    pub revision: Option<String>,
}

impl DatasetSpec {
    /// `Some` for a spec that starts with `hf:`.
    pub fn parse(spec: &str) -> Option<Result<Self, String>> {
        let rest = spec.strip_prefix("hf:")?;
        let (rest, revision) = match rest.split_once('@') {
            Some((r, rev)) => (r, Some(rev.to_string())),
            None => (rest, None),
        };
        let (repo, config) = match rest.split_once(':') {
            Some((r, c)) => (r, Some(c.to_string())),
            None => (rest, None),
        };
        let ok = repo.split('/').count() == 2 && repo.split('/').all(|p| !p.is_empty());
        Some(if ok {
            Ok(DatasetSpec {
                repo: repo.to_string(),
                config,
                revision,
            })
        } else {
            Err(format!("'{spec}' is not hf:ORG/NAME[:CONFIG][@REV]"))
        })
    }
}

/// (config, split) of a Parquet file in a dataset snapshot, from the
/// layouts the Hub uses: `data/train-00000-of-00001.parquet`,
/// `<config>/train-00000-of-00002.parquet`, `<config>/train.parquet`,
/// and the converter's `<config>/<split>/0000.parquet`.
fn config_and_split(rel: &Path) -> Option<(String, String)> {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let stem = rel.file_stem()?.to_string_lossy().into_owned();
    let dirs = &parts[..parts.len() - 1];
    if stem.chars().all(|c| c.is_ascii_digit()) {
        // <config>/<split>/0000.parquet
        let split = dirs.last()?.clone();
        let config = if dirs.len() >= 2 {
            dirs[dirs.len() - 2].clone()
        } else {
            "default".into()
        };
        return Some((config, split));
    }
    let split = match stem.split_once('-') {
        Some((s, _)) => s.to_string(),
        None => stem,
    };
    let config = match dirs.first().map(String::as_str) {
        None | Some("data") => "default".to_string(),
        Some(c) => c.to_string(),
    };
    Some((config, split))
}

fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            parquet_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
}

/// The Parquet shards of `split` of a cached dataset, in order.
pub fn resolve_split(spec_text: &str, split: &str) -> Result<Vec<PathBuf>, DataError> {
    let bad = |message: String| DataError::HfDataset {
        spec: spec_text.to_string(),
        message,
    };
    let spec = DatasetSpec::parse(spec_text)
        .unwrap_or_else(|| Err(format!("'{spec_text}' does not start with hf:")))
        .map_err(bad)?;
    let cache = cache_dir()
        .ok_or_else(|| bad("no HF cache directory (set HF_HOME or HF_HUB_CACHE)".into()))?;
    let snapshot = find_snapshot(&cache, "datasets", &spec.repo, spec.revision.as_deref())
        .ok_or_else(|| {
            bad(format!(
                "not in the HuggingFace cache at {}{}; tunebench does not download: fetch it first (e.g. `huggingface-cli download --repo-type dataset {}`)",
                cache.display(),
                spec.revision
                    .as_deref()
                    .map(|r| format!(" at revision {r}"))
                    .unwrap_or_default(),
                spec.repo
            ))
        })?;
    let mut files = Vec::new();
    parquet_files(&snapshot, &mut files);
    let mut by_config: BTreeMap<String, BTreeMap<String, Vec<PathBuf>>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&snapshot).unwrap_or(&f).to_path_buf();
        if let Some((config, s)) = config_and_split(&rel) {
            by_config
                .entry(config)
                .or_default()
                .entry(s)
                .or_default()
                .push(f);
        }
    }
    if by_config.is_empty() {
        return Err(bad(format!(
            "{} holds no Parquet files",
            snapshot.display()
        )));
    }
    let config = match &spec.config {
        Some(c) => c.clone(),
        None if by_config.len() == 1 => by_config.keys().next().cloned().unwrap_or_default(),
        None => {
            return Err(bad(format!(
                "several configs are cached: {}; choose one with hf:{}:CONFIG",
                by_config.keys().cloned().collect::<Vec<_>>().join(", "),
                spec.repo
            )))
        }
    };
    let splits = by_config.get(&config).ok_or_else(|| {
        bad(format!(
            "no config '{config}'; cached configs: {}",
            by_config.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let mut shards = splits.get(split).cloned().ok_or_else(|| {
        bad(format!(
            "no split '{split}' in config '{config}'; cached splits: {}",
            splits.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    shards.sort();
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_give_config_and_split() {
        let cs = |p: &str| config_and_split(Path::new(p)).unwrap();
        let pair = |c: &str, s: &str| (c.to_string(), s.to_string());
        assert_eq!(
            cs("data/train-00000-of-00001.parquet"),
            pair("default", "train")
        );
        assert_eq!(
            cs("plain_text/test-00000-of-00002.parquet"),
            pair("plain_text", "test")
        );
        assert_eq!(cs("sst2/validation.parquet"), pair("sst2", "validation"));
        assert_eq!(cs("cola/train/0000.parquet"), pair("cola", "train"));
        assert_eq!(cs("train.parquet"), pair("default", "train"));
    }

    #[test]
    fn specs_parse() {
        assert_eq!(
            DatasetSpec::parse("hf:nyu-mll/glue:sst2@abc")
                .unwrap()
                .unwrap(),
            DatasetSpec {
                repo: "nyu-mll/glue".into(),
                config: Some("sst2".into()),
                revision: Some("abc".into())
            }
        );
        assert!(DatasetSpec::parse("hf:imdb").unwrap().is_err());
        assert!(DatasetSpec::parse("data.csv").is_none());
    }
}
