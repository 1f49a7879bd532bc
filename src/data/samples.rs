//! The corpora bundled with the program, named `sample:NAME` (its training
//! file) or `sample:NAME/heldout` in every command, the form and a
//! config file. They are compiled in and written once to the user's data
//! directory (`$XDG_DATA_HOME/tunebench/sample-data/NAME/`), beside a
//! `demo.toml` that trains on them from any directory.

use super::DataError;
use std::path::{Path, PathBuf};

/// One bundled corpus.
pub struct Sample {
    pub name: &'static str,
    pub about: &'static str,
    train: (&'static str, &'static str),
    heldout: (&'static str, &'static str),
}

pub const SAMPLES: &[Sample] = &[
    Sample {
        name: "reviews",
        about: "720 + 180 review sentences, negative/neutral/positive (CSV)",
        train: (
            "train.csv",
            include_str!("../../sample-data/reviews/train.csv"),
        ),
        heldout: (
            "heldout.csv",
            include_str!("../../sample-data/reviews/heldout.csv"),
        ),
    },
    Sample {
        name: "tickets",
        about: "512 + 128 support messages, 8 intents (JSONL)",
        train: (
            "train.jsonl",
            include_str!("../../sample-data/tickets/train.jsonl"),
        ),
        heldout: (
            "heldout.jsonl",
            include_str!("../../sample-data/tickets/heldout.jsonl"),
        ),
    },
    Sample {
        name: "chinese",
        about: "360 + 90 Chinese product reviews, positive/negative (TSV)",
        train: (
            "train.tsv",
            include_str!("../../sample-data/chinese/train.tsv"),
        ),
        heldout: (
            "heldout.tsv",
            include_str!("../../sample-data/chinese/heldout.tsv"),
        ),
    },
];

const PREFIX: &str = "sample:";

/// Whether `path` names a bundled corpus (`sample:...`).
pub fn is_sample(path: &Path) -> bool {
    path.to_string_lossy().starts_with(PREFIX)
}

/// The folder the bundled corpora are written to.
pub fn install_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "tunebench")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(std::env::temp_dir)
        .join("sample-data")
}

/// A demo config for `sample`, trainable from any directory.
fn demo_toml(sample: &Sample) -> String {
    format!(
        "# Fine-tune a small BERT from scratch on the bundled {name} corpus,\n\
         # fully offline: tunebench train --config THIS_FILE\n\
         model = \"scratch:mini\"\n\
         train_file = \"sample:{name}\"\n\
         val_file = \"sample:{name}/heldout\"\n\
         epochs = 3\nbatch_size = 32\nmax_len = 64\nlr = 5e-4\nwarmup_ratio = 0.1\nlog_every = 5\n",
        name = sample.name
    )
}

/// Write `sample`'s files (and its demo.toml) under the install folder
/// where they are missing; the folder.
pub fn install(sample: &Sample) -> Result<PathBuf, DataError> {
    let dir = install_dir().join(sample.name);
    let io = |path: &Path, source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let demo = demo_toml(sample);
    for (name, body) in [sample.train, sample.heldout, ("demo.toml", demo.as_str())] {
        let path = dir.join(name);
        if !path.is_file() {
            crate::disk::write_atomic(&path, body.as_bytes())
                .map_err(|e| io(&path, std::io::Error::other(e.to_string())))?;
        }
    }
    Ok(dir)
}

/// The real file behind `path`: a `sample:NAME[/heldout]` installed and
/// resolved, any other path as it is.
pub fn resolve(path: &Path) -> Result<PathBuf, DataError> {
    let text = path.to_string_lossy();
    let Some(spec) = text.strip_prefix(PREFIX) else {
        return Ok(path.to_path_buf());
    };
    let (name, part) = spec.split_once('/').unwrap_or((spec, "train"));
    let unknown = || DataError::UnknownSample {
        spec: text.to_string(),
        known: SAMPLES
            .iter()
            .map(|s| format!("sample:{}", s.name))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let sample = SAMPLES
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(unknown)?;
    let file = match part {
        "train" => sample.train.0,
        "heldout" | "test" | "val" | "validation" => sample.heldout.0,
        _ => return Err(unknown()),
    };
    Ok(install(sample)?.join(file))
}

/// The held-out file that goes with a sample's training file (`--data
/// sample:NAME` without `--val` validates on it).
pub fn heldout_of(path: &Path) -> Option<PathBuf> {
    let text = path.to_string_lossy();
    let name = text.strip_prefix(PREFIX)?;
    (!name.contains('/') && SAMPLES.iter().any(|s| s.name == name))
        .then(|| PathBuf::from(format!("{PREFIX}{name}/heldout")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_installed_files_and_unknown_ones_list_the_known() {
        assert_eq!(resolve(Path::new("a/b.csv")).unwrap(), Path::new("a/b.csv"));
        assert!(is_sample(Path::new("sample:reviews")));
        assert_eq!(
            heldout_of(Path::new("sample:tickets")),
            Some(PathBuf::from("sample:tickets/heldout"))
        );
        assert_eq!(heldout_of(Path::new("sample:tickets/heldout")), None);
        let e = resolve(Path::new("sample:movies")).unwrap_err().to_string();
        assert!(e.contains("sample:reviews, sample:tickets"), "{e}");
        let e = resolve(Path::new("sample:reviews/dev2"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown bundled corpus 'sample:reviews/dev2'"),
            "{e}"
        );
    }
}
