//! Writing files so that a crash or a full disk never leaves half a file:
//! atomic writes (temp file + rename), and errors that say which path ran
//! out of space and how much it needed. Used by every layer, so it depends
//! on none: its errors are its own, and the layers' errors convert from them.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A write that failed: for lack of space (with what it needed), or for
/// another I/O reason, naming the path either way.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error(transparent)]
    OutOfSpace(OutOfSpace),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = DiskError> = std::result::Result<T, E>;

/// Why a write found no room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoRoom {
    /// ENOSPC: the filesystem is full.
    DiskFull,
    /// EDQUOT: the user's quota is used up.
    Quota,
    /// EFBIG: the process's file-size limit (`ulimit -f`).
    FileSizeLimit,
}

/// A write that failed for lack of space, with what it needed.
#[derive(Debug)]
pub struct OutOfSpace {
    pub path: PathBuf,
    pub needed: u64,
    /// Free bytes on the path's filesystem when the write failed.
    pub free: Option<u64>,
    pub why: NoRoom,
}

impl std::fmt::Display for OutOfSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display();
        let needed = human_bytes(self.needed);
        let free = self
            .free
            .map(|b| format!(", {} free there", human_bytes(b)))
            .unwrap_or_default();
        let what = match self.why {
            NoRoom::DiskFull => "disk full",
            NoRoom::Quota => "disk quota exceeded",
            NoRoom::FileSizeLimit => "file size limit reached",
        };
        match self.why {
            NoRoom::DiskFull | NoRoom::Quota => write!(
                f,
                "{what} writing {path}: it needs {needed}{free}; free some space or write runs elsewhere (--out, TUNEBENCH_RUNS_DIR)"
            ),
            NoRoom::FileSizeLimit => write!(
                f,
                "{what} writing {path}: it needs {needed}; raise `ulimit -f` (now {})",
                file_size_limit()
                    .map(human_bytes)
                    .unwrap_or_else(|| "unknown".into())
            ),
        }
    }
}

impl std::error::Error for OutOfSpace {}

/// What kind of "no room" an I/O error is, if it is one.
pub fn no_room(e: &std::io::Error) -> Option<NoRoom> {
    match e.raw_os_error()? {
        libc::ENOSPC => Some(NoRoom::DiskFull),
        libc::EDQUOT => Some(NoRoom::Quota),
        libc::EFBIG => Some(NoRoom::FileSizeLimit),
        _ => None,
    }
}

/// The error for a failed write of `needed` bytes to `path`:
/// `OutOfSpace` when the disk (or quota, or file-size limit) is the cause,
/// a plain I/O error naming the path otherwise.
pub fn write_error(path: &Path, needed: u64, e: std::io::Error) -> DiskError {
    match no_room(&e) {
        Some(why) => DiskError::OutOfSpace(OutOfSpace {
            path: path.to_path_buf(),
            needed,
            free: path.ancestors().find(|a| a.is_dir()).and_then(free_bytes),
            why,
        }),
        None => DiskError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Write `bytes` to `path` through a temp file and a rename, so a reader
/// never sees half a file. On failure the temp file is removed (a full
/// disk gets its space back) and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // The process id keeps two writers of one file (sweep workers) off
    // each other's temp file; the last rename wins whole.
    let tmp = path.with_extension(format!(
        "{}.{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(path, bytes.len() as u64, e));
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        DiskError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Make `dest` a hard link to `src` (no extra space; both are write-once
/// files), or a copy where links are not possible (another filesystem).
pub fn link_or_copy(src: &Path, dest: &Path) -> Result<()> {
    if std::fs::hard_link(src, dest).is_ok() {
        return Ok(());
    }
    let needed = std::fs::metadata(src).map(|m| m.len()).unwrap_or(0);
    std::fs::copy(src, dest).map(|_| ()).map_err(|e| {
        let _ = std::fs::remove_file(dest);
        write_error(dest, needed, e)
    })
}

/// Free bytes (for an unprivileged user) on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statvfs` is plain old data; all-zero is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// The process's file-size limit (`ulimit -f`) in bytes; None = unlimited.
pub fn file_size_limit() -> Option<u64> {
    // SAFETY: `rlimit` is plain old data; all-zero is a valid value.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer for the resource asked for.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// Let a write past `ulimit -f` fail with EFBIG (reported as above)
/// instead of SIGXFSZ killing the process with a half-written file.
pub fn survive_file_size_limit() {
    // SAFETY: ignoring a signal installs no handler code.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
}

/// `12.3 MB`-style sizes (decimal units, as `df -H` and file managers).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(45_300_000), "45.3 MB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }

    #[test]
    fn a_full_disk_names_the_path_and_the_space_needed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let e = write_error(
            &path,
            45_300_000,
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        );
        let text = e.to_string();
        assert!(matches!(e, DiskError::OutOfSpace(_)), "{text}");
        assert!(text.starts_with("disk full writing "), "{text}");
        assert!(
            text.contains("model.safetensors: it needs 45.3 MB, "),
            "{text}"
        );
        assert!(text.contains(" free there"), "{text}");
        // Other I/O errors stay plain I/O errors naming the path.
        let other = write_error(&path, 1, std::io::Error::from_raw_os_error(libc::EACCES));
        assert!(matches!(other, DiskError::Io { .. }));
        assert!(other.to_string().contains("model.safetensors"));
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
        // A failed write leaves the old file as it was.
        let missing = dir.path().join("no-such-dir").join("a.json");
        assert!(write_atomic(&missing, b"x").is_err());
    }

    #[test]
    fn links_share_the_file_instead_of_copying_it() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"weights").unwrap();
        link_or_copy(&a, &b).unwrap();
        std::fs::remove_file(&a).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"weights");
    }
}
