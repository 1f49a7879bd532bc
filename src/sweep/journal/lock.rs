//! The journal's lock, as Optuna's `JournalFileSymlinkLock` takes it.

use super::{io, JournalError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `JournalFileSymlinkLock`: the lock is a symlink `FILE.lock` to the
/// journal; it is let go by renaming it to a unique name and removing
/// that. A lock whose journal has not changed for 30 s is taken as left
/// by a dead worker and forced open, as Optuna does.
pub struct FileLock {
    lock: PathBuf,
}

const GRACE: Duration = Duration::from_secs(30);

impl FileLock {
    pub fn acquire(target: &Path) -> Result<FileLock, JournalError> {
        let lock = PathBuf::from(format!("{}.lock", target.display()));
        let mut sleep = Duration::from_millis(1);
        let mut mtime = None;
        let mut since = Instant::now();
        loop {
            match std::os::unix::fs::symlink(target, &lock) {
                Ok(()) => return Ok(FileLock { lock }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let current = std::fs::metadata(&lock).and_then(|m| m.modified()).ok();
                    if current != mtime {
                        mtime = current;
                        since = Instant::now();
                    }
                    if since.elapsed() > GRACE {
                        tracing::warn!("forcing open {} (held over 30 s)", lock.display());
                        release(&lock);
                        since = Instant::now();
                        sleep = Duration::from_millis(1);
                        continue;
                    }
                    std::thread::sleep(sleep);
                    sleep = (sleep * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(io(&lock, e)),
            }
        }
    }
}

fn release(lock: &Path) {
    let away = PathBuf::from(format!("{}{}.rename", lock.display(), uuid::Uuid::new_v4()));
    if std::fs::rename(lock, &away).is_ok() {
        let _ = std::fs::remove_file(&away);
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        release(&self.lock);
    }
}
