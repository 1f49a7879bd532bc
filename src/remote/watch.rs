//! A run process watched from outside, as a sweep (and a labelling
//! session) needs it: started or adopted by its run dir, its new events
//! read from metrics.jsonl as they land (no socket held open), whether its
//! process still lives, and a stop.

use super::endpoint::{pid_alive, EngineInfo};
use super::launch::{LaunchError, LaunchSpec};
use crate::protocol::{Command, Event};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a just-started process gets before "no process" means gone.
const START_GRACE: Duration = Duration::from_secs(2);

pub struct WatchedRun {
    pub dir: PathBuf,
    /// Bytes of metrics.jsonl read so far.
    offset: u64,
    started: Instant,
}

impl WatchedRun {
    /// Start the run process for `dir` (`exe`: this program) and watch it.
    pub fn launch(exe: &Path, dir: &Path, spec: &LaunchSpec) -> Result<WatchedRun, LaunchError> {
        let client = super::launch(exe, dir, spec)?;
        drop(client);
        Ok(Self::adopt(dir))
    }

    /// Watch a run started earlier (by another process), from its first
    /// event.
    pub fn adopt(dir: &Path) -> WatchedRun {
        WatchedRun {
            dir: dir.to_path_buf(),
            offset: 0,
            started: Instant::now(),
        }
    }

    /// Whether its process lives.
    pub fn alive(&self) -> bool {
        EngineInfo::read(&self.dir).is_some_and(|i| pid_alive(i.pid))
    }

    /// Its process is gone (after the start's grace period).
    pub fn gone(&self) -> bool {
        !self.alive() && self.started.elapsed() > START_GRACE
    }

    /// Ask it to stop (with a checkpoint when `save`); a run that no
    /// longer listens is left as it is.
    pub fn stop(&self, save: bool) {
        if let Ok(c) = super::Client::connect(&self.dir) {
            let _ = c.send(&Command::Stop { save });
        }
    }

    /// The complete lines appended to metrics.jsonl since the last call.
    pub fn new_events(&mut self) -> Vec<Event> {
        let path = self.dir.join("metrics.jsonl");
        let Ok(mut f) = std::fs::File::open(&path) else {
            return Vec::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            // Truncated (a resume rewrote it): read again from the start.
            self.offset = 0;
        }
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        if f.read_to_end(&mut bytes).is_err() {
            return Vec::new();
        }
        let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.offset += end as u64;
        String::from_utf8_lossy(&bytes[..end])
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_once_whole_lines_only_and_again_after_a_rewrite() {
        let d = tempfile::tempdir().unwrap();
        let mut w = WatchedRun::adopt(d.path());
        assert!(w.new_events().is_empty(), "no file yet");
        let line = |step: usize| serde_json::to_string(&Event::Paused { step }).unwrap() + "\n";
        let path = d.path().join("metrics.jsonl");
        std::fs::write(&path, line(1) + &line(2) + "{\"cut").unwrap();
        assert_eq!(
            w.new_events(),
            vec![Event::Paused { step: 1 }, Event::Paused { step: 2 }]
        );
        assert!(w.new_events().is_empty(), "read once; the cut line waits");
        std::fs::write(&path, line(7)).unwrap();
        assert_eq!(w.new_events(), vec![Event::Paused { step: 7 }]);
        assert!(!w.alive(), "no engine.json: no process");
    }
}
