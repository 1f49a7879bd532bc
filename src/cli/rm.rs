//! `tunebench rm`: remove runs by name, failed or empty ones, or old ones;
//! never a live one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tunebench::runs::RunSummary;

/// `30m`, `12h`, `7d`, `2w` (or plain seconds) as seconds.
pub(crate) fn parse_age(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not an age such as 30m, 12h, 7d or 2w"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("'{text}': unknown unit '{unit}' (s, m, h, d or w)")),
    };
    Ok(n * scale)
}

/// `dir`'s row in the listing (a sweep's row stands for its trials), else
/// its own summary (a run outside the runs directory).
fn summary_of(dir: &Path, listed: &[RunSummary]) -> RunSummary {
    let same = |a: &Path| a.canonicalize().ok() == dir.canonicalize().ok();
    listed
        .iter()
        .find(|r| same(&r.dir))
        .cloned()
        .unwrap_or_else(|| tunebench::runs::summarize(dir))
}

/// Seconds since the run last wrote (its end, for a run that is over).
fn age_s(r: &RunSummary) -> Option<u64> {
    let end = r.started_unix? + r.duration_s.unwrap_or(0);
    Some(tunebench::remote::endpoint::now_unix().saturating_sub(end))
}

pub(crate) fn rm_cmd(
    named: &[PathBuf],
    failed: bool,
    older_than: Option<u64>,
    dry_run: bool,
    runs_dir: &Path,
) -> anyhow::Result<ExitCode> {
    if named.is_empty() && !failed && older_than.is_none() {
        anyhow::bail!("name the runs to remove, or choose them with --failed or --older-than AGE");
    }
    // Listed once: each row probes its run's socket.
    let listed = tunebench::runs::list(runs_dir);
    let mut chosen: Vec<RunSummary> = Vec::new();
    for spec in named {
        let dir = super::run_dir_of(spec)?;
        let run = summary_of(&dir, &listed);
        if run.status.is_live() {
            anyhow::bail!(
                "{} is {} (pid {}): stop it first (`tunebench stop {}`); nothing was removed",
                run.name,
                run.status.name(),
                run.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                run.name
            );
        }
        chosen.push(run);
    }
    if failed || older_than.is_some() {
        // Top-level runs and sweeps only: a sweep's trials go with it.
        for run in listed
            .iter()
            .filter(|r| !r.name.contains('/') && !r.status.is_live())
        {
            let by_state = !failed || super::runs::is_failed_or_empty(run);
            let by_age = older_than.is_none_or(|limit| age_s(run).is_some_and(|a| a > limit));
            if by_state && by_age && !chosen.iter().any(|c| c.dir == run.dir) {
                chosen.push(run.clone());
            }
        }
    }
    if chosen.is_empty() {
        println!("no run matches; nothing removed");
        return Ok(ExitCode::SUCCESS);
    }
    for run in &chosen {
        if dry_run {
            println!("would remove {} ({})", run.name, run.status.name());
            continue;
        }
        std::fs::remove_dir_all(&run.dir)
            .map_err(|e| anyhow::anyhow!("{}: cannot remove: {e}", run.dir.display()))?;
        println!("removed {} ({})", run.name, run.status.name());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages_read_with_their_units() {
        assert_eq!(parse_age("90"), Ok(90));
        assert_eq!(parse_age("30m"), Ok(1800));
        assert_eq!(parse_age("2w"), Ok(14 * 86_400));
        assert!(parse_age("3y").unwrap_err().contains("unknown unit 'y'"));
        assert!(parse_age("soon").is_err());
    }
}
