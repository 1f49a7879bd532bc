//! One way to name a model or a run, for every command that reads one: an
//! HF model directory; a run directory (its `best/`, else its newest
//! checkpoint); a run name as `tunebench runs` lists it (looked up in the
//! runs directory); and `@best`, `@latest` or `@step-N` after either.

use crate::config::ConfigError;
use crate::run_dir::RunDir;
use std::path::{Path, PathBuf};

/// Which checkpoint of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// `best/`, else the newest checkpoint (no suffix).
    Default,
    Best,
    Latest,
    Step(usize),
}

/// A model reference resolved to a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub dir: PathBuf,
    /// What the reference resolved to, when it was not a plain model
    /// directory (one line for stderr).
    pub note: Option<String>,
}

fn bad(reason: String) -> ConfigError {
    ConfigError::Reference(reason)
}

/// `NAME@step-3` → ("NAME", Step(3)); no known suffix → (spec, Default).
fn split_pick(spec: &str) -> Result<(&str, Pick), ConfigError> {
    let Some((base, suffix)) = spec.rsplit_once('@') else {
        return Ok((spec, Pick::Default));
    };
    let pick = match suffix {
        "best" => Pick::Best,
        "latest" => Pick::Latest,
        s => match s.strip_prefix("step-").map(str::parse::<usize>) {
            Some(Ok(n)) => Pick::Step(n),
            _ => {
                return Err(bad(format!(
                    "'{spec}': unknown suffix @{suffix} (@best, @latest or @step-N)"
                )))
            }
        },
    };
    Ok((base, pick))
}

/// Whether `dir` holds a model or a peft adapter.
pub fn is_model_dir(dir: &Path) -> bool {
    dir.join("config.json").is_file() || dir.join("adapter_config.json").is_file()
}

/// Whether `dir` is a run directory (what `tunebench runs` lists).
pub fn is_run_dir(dir: &Path) -> bool {
    dir.is_dir()
        && (dir.join("metrics.jsonl").is_file()
            || dir.join("config.toml").is_file()
            || dir.join("sweep.toml").is_file()
            || dir.join(crate::remote::launch::LAUNCH_FILE).is_file()
            || dir.join("checkpoints").is_dir()
            || dir.join("best").is_dir())
}

/// A run's checkpoint by `pick`; None when it has none of that kind.
pub fn pick_checkpoint(run: &Path, pick: Pick) -> Option<PathBuf> {
    let best = run.join("best");
    let newest = || {
        RunDir::checkpoints(run)
            .into_iter()
            .rev()
            .map(|(_, d)| d)
            .find(|d| is_model_dir(d))
    };
    match pick {
        Pick::Best => is_model_dir(&best).then_some(best),
        Pick::Latest => newest(),
        Pick::Step(n) => RunDir::checkpoints(run)
            .into_iter()
            .find(|(s, d)| *s == n && is_model_dir(d))
            .map(|(_, d)| d),
        Pick::Default => is_model_dir(&best).then_some(best).or_else(newest),
    }
}

/// The run a name or path means: an existing run directory, else a run of
/// that name in `runs_dir`. Unknown names list the nearest ones.
pub fn resolve_run(spec: &str, runs_dir: &Path) -> Result<PathBuf, ConfigError> {
    resolve_run_from(spec, runs_dir, Path::new(""))
}

/// `resolve_run` with relative paths taken from `cwd`.
fn resolve_run_from(spec: &str, runs_dir: &Path, cwd: &Path) -> Result<PathBuf, ConfigError> {
    let path = &cwd.join(spec);
    if is_run_dir(path) {
        return Ok(path.clone());
    }
    let named = runs_dir.join(spec);
    if !spec.contains('/') && is_run_dir(&named) {
        return Ok(named);
    }
    if spec.contains('/') && !path.exists() {
        return Err(bad(format!(
            "{spec} is not a run directory: no such directory"
        )));
    }
    if path.is_dir() {
        return Err(bad(format!(
            "{spec} is neither a model (no config.json or adapter_config.json) nor a run directory (no metrics.jsonl, config.toml, checkpoints/ or best/)"
        )));
    }
    Err(bad(unknown_name(spec, runs_dir)))
}

fn unknown_name(spec: &str, runs_dir: &Path) -> String {
    let names: Vec<String> = std::fs::read_dir(runs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| is_run_dir(&e.path()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut near: Vec<(f64, &String)> = names
        .iter()
        .map(|n| (strsim::jaro_winkler(spec, n), n))
        .filter(|(score, n)| *score > 0.7 || n.contains(spec))
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0));
    let hint = match near.as_slice() {
        [] if names.is_empty() => format!("{} holds no runs", runs_dir.display()),
        [] => format!(
            "`tunebench runs --runs-dir {}` lists the runs",
            runs_dir.display()
        ),
        some => format!(
            "did you mean {}?",
            some.iter()
                .take(3)
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "'{spec}' is no directory and no run in {}: {hint}",
        runs_dir.display()
    )
}

/// Resolve a model reference (see the module doc) to a checkpoint or
/// model directory.
pub fn resolve_model(spec: &str, runs_dir: &Path) -> Result<Resolved, ConfigError> {
    resolve_model_from(spec, runs_dir, Path::new(""))
}

/// `resolve_model` with relative paths taken from `cwd`.
fn resolve_model_from(spec: &str, runs_dir: &Path, cwd: &Path) -> Result<Resolved, ConfigError> {
    let (base, pick) = split_pick(spec)?;
    let plain = &cwd.join(spec);
    // A model directory named as it is (even with an @ in its name).
    if is_model_dir(plain) {
        return Ok(Resolved {
            dir: plain.clone(),
            note: None,
        });
    }
    let base_path = &cwd.join(base);
    if pick == Pick::Default && is_model_dir(base_path) {
        return Ok(Resolved {
            dir: base_path.clone(),
            note: None,
        });
    }
    if pick != Pick::Default && is_model_dir(base_path) {
        return Err(bad(format!(
            "{base} is a model directory, not a run: @best/@latest/@step-N pick among a run's checkpoints"
        )));
    }
    let run = resolve_run_from(base, runs_dir, cwd)?;
    let shadowed = {
        let named = runs_dir.join(base);
        (run != named && !base.contains('/') && is_run_dir(&named)).then_some(named)
    };
    let dir = pick_checkpoint(&run, pick).ok_or_else(|| {
        let steps: Vec<String> = RunDir::checkpoints(&run)
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect();
        bad(match pick {
            Pick::Step(n) if !steps.is_empty() => format!(
                "run {} has no checkpoint at step {n}; it has steps {}",
                run.display(),
                steps.join(", ")
            ),
            Pick::Best if !steps.is_empty() => format!(
                "run {} has no best/ yet (no evaluation); @latest is step {}",
                run.display(),
                steps.last().map(String::as_str).unwrap_or("?")
            ),
            _ => format!(
                "run {} has written no checkpoint yet; watch it with `tunebench attach {}`",
                run.display(),
                run.display()
            ),
        })
    })?;
    let summary = crate::runs::summarize(&run);
    let detail = match (pick, &summary.best) {
        (Pick::Default | Pick::Best, Some(b)) if dir.ends_with("best") => {
            let value = b.metric(&summary.best_metric);
            format!(" (step {}, {} {value:.4})", b.step, summary.best_metric)
        }
        _ => String::new(),
    };
    let mut note = format!("{spec} → {}{detail}", dir.display());
    if let Some(named) = shadowed {
        note.push_str(&format!(
            "; the directory {base} wins over the run {}",
            named.display()
        ));
    }
    Ok(Resolved {
        dir,
        note: Some(note),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("config.json"), "{}").unwrap();
    }

    /// runs/demo with steps 4 and 8 and a best/; runs/empty with none.
    fn layout() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let runs = t.path().join("runs");
        let demo = runs.join("demo");
        checkpoint(&demo.join("checkpoints/step-4"));
        checkpoint(&demo.join("checkpoints/step-8"));
        checkpoint(&demo.join("best"));
        std::fs::write(demo.join("config.toml"), "").unwrap();
        std::fs::create_dir_all(runs.join("empty")).unwrap();
        std::fs::write(runs.join("empty/config.toml"), "").unwrap();
        checkpoint(&t.path().join("plain-model"));
        t
    }

    #[test]
    fn names_dirs_and_suffixes_resolve() {
        let t = layout();
        let runs = t.path().join("runs");
        let demo = runs.join("demo");
        let r = |s: &str| resolve_model(s, &runs).map(|r| r.dir);
        assert_eq!(r("demo").unwrap(), demo.join("best"));
        assert_eq!(r("demo@latest").unwrap(), demo.join("checkpoints/step-8"));
        assert_eq!(r("demo@step-4").unwrap(), demo.join("checkpoints/step-4"));
        assert_eq!(r("demo@best").unwrap(), demo.join("best"));
        assert_eq!(r(demo.to_str().unwrap()).unwrap(), demo.join("best"));
        let model = t.path().join("plain-model");
        let plain = resolve_model(model.to_str().unwrap(), &runs).unwrap();
        assert_eq!((plain.dir, plain.note), (model, None));
        let note = resolve_model("demo", &runs).unwrap().note.unwrap();
        assert!(
            note.starts_with("demo → ") && note.ends_with("best"),
            "{note}"
        );
        // Without best/, the newest checkpoint.
        std::fs::remove_dir_all(demo.join("best")).unwrap();
        assert_eq!(r("demo").unwrap(), demo.join("checkpoints/step-8"));
        let e = r("demo@best").unwrap_err().to_string();
        assert!(
            e.contains("no best/ yet") && e.contains("@latest is step 8"),
            "{e}"
        );
    }

    #[test]
    fn errors_say_what_exists() {
        let t = layout();
        let runs = t.path().join("runs");
        let e = resolve_model("demo@step-5", &runs).unwrap_err().to_string();
        assert!(
            e.contains("no checkpoint at step 5; it has steps 4, 8"),
            "{e}"
        );
        let e = resolve_model("dmeo", &runs).unwrap_err().to_string();
        assert!(e.contains("did you mean demo?"), "{e}");
        let e = resolve_model("empty", &runs).unwrap_err().to_string();
        assert!(
            e.contains("no checkpoint yet") && e.contains("tunebench attach"),
            "{e}"
        );
        let e = resolve_model("demo@fast", &runs).unwrap_err().to_string();
        assert!(e.contains("unknown suffix @fast"), "{e}");
        let e = resolve_model(t.path().to_str().unwrap(), &runs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("neither a model"), "{e}");
        assert_eq!(resolve_run("demo", &runs).unwrap(), runs.join("demo"));
    }

    #[test]
    fn a_directory_wins_over_a_run_of_the_same_name_and_says_so() {
        let t = layout();
        let runs = t.path().join("runs");
        // `demo` is also a run directory where the command runs.
        let here = t.path().join("here");
        checkpoint(&here.join("demo/checkpoints/step-2"));
        std::fs::write(here.join("demo/config.toml"), "").unwrap();
        let r = resolve_model_from("demo", &runs, &here).unwrap();
        assert_eq!(r.dir, here.join("demo/checkpoints/step-2"));
        let note = r.note.unwrap();
        assert!(
            note.contains("the directory demo wins over the run"),
            "{note}"
        );
    }
}
