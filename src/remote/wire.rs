//! The attach socket's wire format: newline-delimited JSON. The server
//! sends a `hello`, then (after the client subscribes) every event with its
//! sequence number (its line in metrics.jsonl). The client sends the
//! engine's `Command`s as they serialize, plus
//! `{"command":"subscribe","from_seq":N}`.

use crate::protocol::RunProgress;
use crate::protocol::{Command, Event};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, ErrorKind};
use std::path::PathBuf;

/// Bumped when a message changes shape.
pub const PROTOCOL: u32 = 1;

/// Longest line the server reads; longer ones are skipped with an error.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub version: String,
    pub run_dir: PathBuf,
    pub pid: u32,
    /// The sequence number the next event will get.
    pub next_seq: u64,
    pub progress: RunProgress,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Hello(Hello),
    Event {
        seq: u64,
        event: Event,
    },
    /// A problem with what this client sent; the run goes on.
    Error {
        message: String,
    },
}

/// What a client may send.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientMsg {
    /// History from `from_seq` (0: all), then the live stream.
    Subscribe {
        from_seq: u64,
    },
    Command(Command),
}

#[derive(Serialize)]
struct SubscribeLine {
    command: &'static str,
    from_seq: u64,
}

impl ClientMsg {
    pub fn to_line(&self) -> String {
        let mut s = match self {
            ClientMsg::Subscribe { from_seq } => serde_json::to_string(&SubscribeLine {
                command: "subscribe",
                from_seq: *from_seq,
            }),
            ClientMsg::Command(c) => serde_json::to_string(c),
        }
        .unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parse one line, with a message fit to send back when it is wrong.
    pub fn parse(line: &[u8]) -> Result<ClientMsg, String> {
        let value: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| format!("malformed JSON ({e}); send one JSON object per line"))?;
        match value.get("command").and_then(|c| c.as_str()) {
            Some("subscribe") => {
                let from_seq = match value.get("from_seq") {
                    None => 0,
                    Some(v) => v
                        .as_u64()
                        .ok_or("subscribe: from_seq must be a non-negative integer")?,
                };
                Ok(ClientMsg::Subscribe { from_seq })
            }
            Some(name) => {
                let name = name.to_string();
                serde_json::from_value::<Command>(value).map(ClientMsg::Command).map_err(|e| {
                    format!("bad command '{name}' ({e}); commands: subscribe, pause, resume, stop, save_checkpoint, predict")
                })
            }
            None => Err("no \"command\" field; e.g. {\"command\":\"pause\"}".into()),
        }
    }
}

impl ServerMsg {
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The wire line of an event already serialized as JSON (a metrics.jsonl
/// line), without parsing it again.
pub fn event_line(seq: u64, event_json: &str) -> String {
    format!("{{\"type\":\"event\",\"seq\":{seq},\"event\":{event_json}}}\n")
}

/// One line read with a length bound.
#[derive(Debug, PartialEq)]
pub enum BoundedLine {
    Line(Vec<u8>),
    /// A line longer than the bound, read through and discarded.
    TooLong(usize),
    /// The stream ended inside a line (those bytes are dropped).
    Truncated(usize),
    Eof,
}

/// Read up to the next `\n` without ever holding more than `max` bytes.
pub fn read_bounded_line(r: &mut impl BufRead, max: usize) -> std::io::Result<BoundedLine> {
    let mut line = Vec::new();
    let mut total = 0usize;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(if total == 0 {
                BoundedLine::Eof
            } else {
                BoundedLine::Truncated(total)
            });
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        total += chunk.len();
        if total <= max {
            line.extend_from_slice(chunk);
        } else {
            line = Vec::new();
        }
        let used = done.unwrap_or(chunk.len());
        r.consume(used);
        if done.is_some() {
            return Ok(if total > max {
                BoundedLine::TooLong(total)
            } else {
                BoundedLine::Line(line)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_with_useful_errors() {
        assert_eq!(
            ClientMsg::parse(br#"{"command":"subscribe","from_seq":4}"#),
            Ok(ClientMsg::Subscribe { from_seq: 4 })
        );
        assert_eq!(
            ClientMsg::parse(br#"{"command":"stop","save":true}"#),
            Ok(ClientMsg::Command(Command::Stop { save: true }))
        );
        let e = ClientMsg::parse(br#"{"command":"explode"}"#).unwrap_err();
        assert!(e.contains("bad command 'explode'"), "{e}");
        let e = ClientMsg::parse(b"{not json").unwrap_err();
        assert!(e.contains("malformed JSON"), "{e}");
        let e = ClientMsg::parse(br#"{"pause":1}"#).unwrap_err();
        assert!(e.contains("no \"command\""), "{e}");
        let line = ClientMsg::Subscribe { from_seq: 2 }.to_line();
        assert_eq!(
            ClientMsg::parse(line.trim().as_bytes()).unwrap(),
            ClientMsg::Subscribe { from_seq: 2 }
        );
    }

    #[test]
    fn event_lines_round_trip_with_their_sequence_number() {
        let ev = Event::Paused { step: 7 };
        let line = event_line(12, &serde_json::to_string(&ev).unwrap());
        let msg: ServerMsg = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(msg, ServerMsg::Event { seq: 12, event: ev });
    }

    #[test]
    fn bounded_reader_skips_long_lines_and_reports_cut_ones() {
        let mut long = vec![b'x'; 100];
        long.extend_from_slice(b"\nok\npartial");
        let mut r = std::io::BufReader::with_capacity(8, &long[..]);
        assert_eq!(
            read_bounded_line(&mut r, 10).unwrap(),
            BoundedLine::TooLong(100)
        );
        assert_eq!(
            read_bounded_line(&mut r, 10).unwrap(),
            BoundedLine::Line(b"ok".to_vec())
        );
        assert_eq!(
            read_bounded_line(&mut r, 10).unwrap(),
            BoundedLine::Truncated(7)
        );
        assert_eq!(read_bounded_line(&mut r, 10).unwrap(), BoundedLine::Eof);
    }
}
