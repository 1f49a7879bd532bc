//! Where a run process listens and who may talk to it: the socket path
//! (short enough for `sun_path`), engine.json in the run dir, the peer
//! credential check.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// The run process's own record in its run dir.
pub const ENGINE_FILE: &str = "engine.json";
/// The socket's name when the run dir's path is short enough.
pub const SOCKET_NAME: &str = "engine.sock";
/// `sun_path` holds 108 bytes with the terminating NUL; keep a margin.
const MAX_SOCKET_PATH: usize = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    pub pid: u32,
    pub socket: PathBuf,
    /// Unix seconds when the process started.
    pub started_unix: u64,
    pub version: String,
}

impl EngineInfo {
    pub fn read(run_dir: &Path) -> Option<EngineInfo> {
        let text = std::fs::read_to_string(run_dir.join(ENGINE_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, run_dir: &Path) -> crate::Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| crate::Error::Run(format!("{ENGINE_FILE}: {e}")))?;
        Ok(crate::disk::write_atomic(
            &run_dir.join(ENGINE_FILE),
            &json,
        )?)
    }
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The socket for `run_dir` (an absolute path): inside it when the path
/// fits in `sun_path`, else a short name (hash of the run dir) in a private
/// directory under `$XDG_RUNTIME_DIR` or the temp dir.
pub fn socket_path_for(run_dir: &Path) -> std::io::Result<PathBuf> {
    let inside = run_dir.join(SOCKET_NAME);
    if inside.as_os_str().len() <= MAX_SOCKET_PATH {
        return Ok(inside);
    }
    short_socket_path(run_dir)
}

/// A short socket name for `run_dir` in a private directory: for run dirs
/// too deep for `sun_path`, or on file systems without sockets (NFS).
pub fn short_socket_path(run_dir: &Path) -> std::io::Result<PathBuf> {
    let digest = Sha256::digest(run_dir.as_os_str().as_encoded_bytes());
    let name = format!("{:x}.sock", digest);
    let dir = short_socket_dir()?;
    Ok(dir.join(&name[..24]))
}

fn short_socket_dir() -> std::io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .map(|d| d.join("tunebench"))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("tunebench-{}", own_uid())));
    std::fs::create_dir_all(&base)?;
    let meta = std::fs::symlink_metadata(&base)?;
    use std::os::unix::fs::MetadataExt;
    // Refuse a directory someone else planted at the predictable temp path.
    if meta.uid() != own_uid() || !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} is not a directory owned by this user", base.display()),
        ));
    }
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700))?;
    Ok(base)
}

pub fn own_uid() -> u32 {
    // SAFETY: getuid has no failure mode and touches no memory.
    unsafe { libc::getuid() }
}

/// The uid of the process at the other end of a Unix socket.
pub fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// Only the user who owns the run may steer it.
pub fn authorize(peer: u32, owner: u32) -> Result<(), String> {
    if peer == owner {
        Ok(())
    } else {
        Err(format!(
            "connection refused: uid {peer} is not the run's owner (uid {owner})"
        ))
    }
}

/// Whether a process with this pid exists (it may be a zombie).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process can be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_run_dirs_get_a_short_private_socket() {
        let short = Path::new("/tmp/runs/a");
        assert_eq!(socket_path_for(short).unwrap(), short.join(SOCKET_NAME));
        let deep = PathBuf::from("/tmp").join("d".repeat(150)).join("run");
        let p = socket_path_for(&deep).unwrap();
        assert!(p.as_os_str().len() <= MAX_SOCKET_PATH, "{}", p.display());
        assert_ne!(p, socket_path_for(&deep.with_file_name("other")).unwrap());
        let mode = std::fs::metadata(p.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn only_the_owner_is_authorized() {
        assert!(authorize(1000, 1000).is_ok());
        let e = authorize(1001, 1000).unwrap_err();
        assert!(e.contains("uid 1001"), "{e}");
    }

    #[test]
    fn peer_credentials_name_this_process_user() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), own_uid());
    }
}
