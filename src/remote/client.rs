//! The front ends' side of the socket: connect to a run process, read its
//! hello, subscribe, send commands, read events.

use super::endpoint::{EngineInfo, SOCKET_NAME};
use super::wire::{ClientMsg, Hello, ServerMsg};
use super::RemoteError;
use crate::protocol::{Command, Event};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The socket a run process listens on (from its engine.json).
pub fn socket_of(run_dir: &Path) -> PathBuf {
    EngineInfo::read(run_dir)
        .map(|i| i.socket)
        .unwrap_or_else(|| run_dir.join(SOCKET_NAME))
}

pub struct Client {
    reader: BufReader<UnixStream>,
    commands: Commander,
    pub hello: Hello,
}

/// Sends commands; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Commander {
    stream: Arc<Mutex<UnixStream>>,
}

impl Commander {
    fn write(&self, msg: &ClientMsg) -> std::io::Result<()> {
        let mut s = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        s.write_all(msg.to_line().as_bytes())
    }

    pub fn send(&self, cmd: &Command) -> std::io::Result<()> {
        self.write(&ClientMsg::Command(cmd.clone()))
    }
}

impl Client {
    /// Connect to the run process of `run_dir`.
    pub fn connect(run_dir: &Path) -> Result<Client, RemoteError> {
        let socket = socket_of(run_dir);
        let stream = UnixStream::connect(&socket).map_err(|e| RemoteError::NotLive {
            run_dir: run_dir.to_path_buf(),
            reason: format!("{}: {e}", socket.display()),
        })?;
        Self::handshake(stream)
    }

    fn handshake(stream: UnixStream) -> Result<Client, RemoteError> {
        // A live process answers at once; a wedged one must not hang us.
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let hello = match read_msg(&mut reader)? {
            Some(ServerMsg::Hello(h)) => h,
            Some(ServerMsg::Error { message }) => return Err(RemoteError::Refused(message)),
            Some(other) => {
                return Err(RemoteError::Protocol(format!(
                    "expected a hello, got {other:?}"
                )))
            }
            None => return Err(RemoteError::Protocol("closed before the hello".into())),
        };
        stream.set_read_timeout(None)?;
        Ok(Client {
            reader,
            commands: Commander {
                stream: Arc::new(Mutex::new(stream)),
            },
            hello,
        })
    }

    /// Ask for the history from `from_seq`, then the live stream.
    pub fn subscribe(&mut self, from_seq: u64) -> std::io::Result<()> {
        self.commands.write(&ClientMsg::Subscribe { from_seq })
    }

    pub fn send(&self, cmd: &Command) -> std::io::Result<()> {
        self.commands.send(cmd)
    }

    pub fn commander(&self) -> Commander {
        self.commands.clone()
    }

    /// The next message; `None` when the run process closed the connection.
    pub fn recv(&mut self) -> Result<Option<ServerMsg>, RemoteError> {
        read_msg(&mut self.reader)
    }

    /// Events until the connection closes; the server's error replies come
    /// as warning log events.
    pub fn events(mut self) -> impl Iterator<Item = (u64, Event)> {
        std::iter::from_fn(move || loop {
            match self.recv() {
                Ok(Some(ServerMsg::Event { seq, event })) => return Some((seq, event)),
                Ok(Some(ServerMsg::Error { message })) => {
                    return Some((
                        u64::MAX,
                        Event::Log {
                            level: "warn".into(),
                            message: format!("run process: {message}"),
                        },
                    ))
                }
                Ok(Some(ServerMsg::Hello(_))) => continue,
                Ok(None) | Err(_) => return None,
            }
        })
    }
}

fn read_msg(reader: &mut impl BufRead) -> Result<Option<ServerMsg>, RemoteError> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    serde_json::from_str(line.trim())
        .map(Some)
        .map_err(|e| RemoteError::Protocol(format!("{e}: {}", line.trim())))
}
