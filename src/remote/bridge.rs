//! The run process's side of the socket: the run's event history (its
//! metrics.jsonl, with sequence numbers) and a fan-out of live events to
//! every subscribed client. Each client has a reader thread (its commands
//! go to the engine) and a writer thread fed by a bounded queue; a client
//! whose queue fills is dropped, so nobody can slow training down.

use super::endpoint::{authorize, peer_uid};
use super::wire::{
    event_line, read_bounded_line, BoundedLine, ClientMsg, Hello, ServerMsg, MAX_LINE, PROTOCOL,
};
use crate::protocol::RunProgress;
use crate::protocol::{Command, Event};
use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Messages queued for one client before it counts as not reading
/// (`TUNEBENCH_CLIENT_QUEUE` overrides it, for tests and tight memory).
pub const CLIENT_QUEUE: usize = 1024;

fn client_queue() -> usize {
    std::env::var("TUNEBENCH_CLIENT_QUEUE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(CLIENT_QUEUE)
}

enum Out {
    Line(Arc<str>),
    /// The history a subscriber asked for, as one queue entry.
    Lines(Vec<Arc<str>>),
}

struct Entry {
    line: Arc<str>,
    /// Predictions are answers to one client, not history.
    replay: bool,
}

struct Slot {
    id: u64,
    tx: SyncSender<Out>,
    /// To unblock the writer when the client is dropped.
    stream: UnixStream,
    subscribed: bool,
}

/// Everything the threads share, behind one lock: a subscriber's history
/// snapshot and its registration for live events happen under the same
/// lock, so it sees every event once.
pub struct Hub {
    run_dir: PathBuf,
    history: Vec<Entry>,
    progress: RunProgress,
    clients: Vec<Slot>,
    /// Engine-side prediction id → (client, the client's own id).
    predictions: HashMap<u64, (u64, u64)>,
    next_prediction: u64,
    next_client: u64,
    ever_connected: bool,
    writers: Vec<JoinHandle<()>>,
}

impl Hub {
    /// The history of `run_dir` so far (its metrics.jsonl).
    pub fn load(run_dir: &Path) -> Hub {
        let text = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap_or_default();
        let mut progress = RunProgress::default();
        let history = text
            .lines()
            .enumerate()
            .map(|(seq, raw)| match serde_json::from_str::<Event>(raw) {
                Ok(event) => {
                    progress.observe(&event);
                    Entry {
                        line: event_line(seq as u64, raw).into(),
                        replay: !matches!(event, Event::Prediction { .. }),
                    }
                }
                Err(_) => Entry {
                    line: Arc::from(""),
                    replay: false,
                },
            })
            .collect();
        Hub {
            run_dir: run_dir.to_path_buf(),
            history,
            progress,
            clients: Vec::new(),
            predictions: HashMap::new(),
            next_prediction: 1,
            next_client: 1,
            ever_connected: false,
            writers: Vec::new(),
        }
    }

    pub fn next_seq(&self) -> u64 {
        self.history.len() as u64
    }

    fn hello(&self) -> Hello {
        Hello {
            protocol: PROTOCOL,
            version: env!("CARGO_PKG_VERSION").into(),
            run_dir: self.run_dir.clone(),
            pid: std::process::id(),
            next_seq: self.next_seq(),
            progress: self.progress.clone(),
        }
    }

    /// Record an event and send it to its clients.
    pub fn publish(&mut self, event: &Event) {
        let seq = self.next_seq();
        self.progress.observe(event);
        let json = serde_json::to_string(event).unwrap_or_default();
        let line: Arc<str> = event_line(seq, &json).into();
        if let Event::Prediction {
            id,
            text,
            prediction,
            latency_ms,
        } = event
        {
            self.history.push(Entry {
                line,
                replay: false,
            });
            if let Some((client, own_id)) = self.predictions.remove(id) {
                let answer = Event::Prediction {
                    id: own_id,
                    text: text.clone(),
                    prediction: prediction.clone(),
                    latency_ms: *latency_ms,
                };
                let json = serde_json::to_string(&answer).unwrap_or_default();
                self.send(client, Out::Line(event_line(seq, &json).into()));
            }
            return;
        }
        self.history.push(Entry {
            line: line.clone(),
            replay: true,
        });
        let mut full = Vec::new();
        for slot in self.clients.iter().filter(|s| s.subscribed) {
            if let Err(TrySendError::Full(_)) = slot.tx.try_send(Out::Line(line.clone())) {
                full.push(slot.id);
            }
        }
        for id in full {
            self.drop_client(id, "stopped reading (its queue is full)");
        }
    }

    fn send(&mut self, client: u64, out: Out) {
        let Some(slot) = self.clients.iter().find(|s| s.id == client) else {
            return;
        };
        if let Err(TrySendError::Full(_)) = slot.tx.try_send(out) {
            self.drop_client(client, "stopped reading (its queue is full)");
        }
    }

    fn error_to(&mut self, client: u64, message: String) {
        let line = ServerMsg::Error { message }.to_line();
        self.send(client, Out::Line(line.into()));
    }

    fn subscribe(&mut self, client: u64, from_seq: u64) -> Result<(), String> {
        let Some(pos) = self.clients.iter().position(|s| s.id == client) else {
            return Ok(());
        };
        if self.clients[pos].subscribed {
            return Err("already subscribed".into());
        }
        let from = (from_seq as usize).min(self.history.len());
        let lines: Vec<Arc<str>> = self.history[from..]
            .iter()
            .filter(|e| e.replay)
            .map(|e| e.line.clone())
            .collect();
        self.clients[pos].subscribed = true;
        self.send(client, Out::Lines(lines));
        Ok(())
    }

    fn drop_client(&mut self, client: u64, why: &str) {
        if let Some(pos) = self.clients.iter().position(|s| s.id == client) {
            let slot = self.clients.remove(pos);
            let _ = slot.stream.shutdown(std::net::Shutdown::Both);
            tracing::warn!("attach client {client} dropped: {why}");
        }
        self.predictions.retain(|_, (c, _)| *c != client);
    }

    fn remove_client(&mut self, client: u64) {
        self.clients.retain(|s| s.id != client);
        self.predictions.retain(|_, (c, _)| *c != client);
    }

    pub fn progress(&self) -> &RunProgress {
        &self.progress
    }
}

/// The socket server of one run process.
pub struct Bridge {
    hub: Arc<Mutex<Hub>>,
}

fn lock(hub: &Mutex<Hub>) -> MutexGuard<'_, Hub> {
    // A panicking client thread must not take the run down with it.
    hub.lock().unwrap_or_else(|p| p.into_inner())
}

impl Bridge {
    /// Serve `listener`: commands go to `engine`; `owner` is the only uid
    /// let in.
    pub fn serve(hub: Hub, listener: UnixListener, engine: Sender<Command>, owner: u32) -> Bridge {
        let hub = Arc::new(Mutex::new(hub));
        let shared = hub.clone();
        std::thread::Builder::new()
            .name("attach-accept".into())
            .spawn(move || accept_loop(listener, shared, engine, owner))
            .ok();
        Bridge { hub }
    }

    pub fn publish(&self, event: &Event) {
        lock(&self.hub).publish(event);
    }

    pub fn clients(&self) -> usize {
        lock(&self.hub).clients.len()
    }

    /// The run is over: let every client read what is queued (at most
    /// `grace`), then close their connections. A run that ended before
    /// anyone connected (a one-step run) waits for its launcher first, and
    /// a client that has just connected gets a moment to subscribe.
    pub fn close(self, grace: Duration) {
        let start = Instant::now();
        let deadline = start + grace;
        let wait = |until: Instant, done: &dyn Fn(&Hub) -> bool| {
            while !done(&lock(&self.hub)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait(deadline, &|h| h.ever_connected);
        wait(
            (Instant::now() + Duration::from_secs(1)).min(deadline),
            &|h| h.clients.iter().all(|c| c.subscribed),
        );
        let writers = {
            let mut hub = lock(&self.hub);
            // Dropping the senders ends each writer after its queue.
            let slots = std::mem::take(&mut hub.clients);
            drop(slots);
            std::mem::take(&mut hub.writers)
        };
        for w in writers {
            while !w.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn accept_loop(listener: UnixListener, hub: Arc<Mutex<Hub>>, engine: Sender<Command>, owner: u32) {
    for conn in listener.incoming() {
        let Ok(mut stream) = conn else { continue };
        let allowed = peer_uid(&stream)
            .map_err(|e| format!("cannot read the peer's credentials: {e}"))
            .and_then(|uid| authorize(uid, owner));
        if let Err(message) = allowed {
            tracing::warn!("{message}");
            let _ = stream.write_all(ServerMsg::Error { message }.to_line().as_bytes());
            continue;
        }
        let (Ok(writer), Ok(handle)) = (stream.try_clone(), stream.try_clone()) else {
            continue;
        };
        let (tx, rx) = sync_channel(client_queue());
        let id = {
            let mut h = lock(&hub);
            let id = h.next_client;
            h.next_client += 1;
            h.ever_connected = true;
            let hello = ServerMsg::Hello(h.hello()).to_line();
            let _ = tx.try_send(Out::Line(hello.into()));
            h.clients.push(Slot {
                id,
                tx,
                stream: handle,
                subscribed: false,
            });
            if let Ok(w) = std::thread::Builder::new()
                .name(format!("attach-writer-{id}"))
                .spawn(move || write_loop(rx, writer))
            {
                h.writers.retain(|w| !w.is_finished());
                h.writers.push(w);
            }
            id
        };
        tracing::debug!("attach client {id} connected");
        let (hub, engine) = (hub.clone(), engine.clone());
        let _ = std::thread::Builder::new()
            .name(format!("attach-reader-{id}"))
            .spawn(move || read_loop(stream, id, hub, engine));
    }
}

fn write_loop(rx: Receiver<Out>, stream: UnixStream) {
    let mut w = BufWriter::new(&stream);
    while let Ok(out) = rx.recv() {
        let ok = match out {
            Out::Line(l) => w.write_all(l.as_bytes()).is_ok(),
            Out::Lines(ls) => ls.iter().all(|l| w.write_all(l.as_bytes()).is_ok()),
        };
        // Flush when nothing else is queued: one syscall per burst.
        let more = rx.try_recv();
        let ok = ok
            && match more {
                Ok(Out::Line(l)) => w.write_all(l.as_bytes()).is_ok(),
                Ok(Out::Lines(ls)) => ls.iter().all(|l| w.write_all(l.as_bytes()).is_ok()),
                Err(_) => true,
            };
        if !ok || w.flush().is_err() {
            break;
        }
    }
    let _ = w.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

fn read_loop(stream: UnixStream, id: u64, hub: Arc<Mutex<Hub>>, engine: Sender<Command>) {
    let mut reader = BufReader::new(stream);
    loop {
        match read_bounded_line(&mut reader, MAX_LINE) {
            Ok(BoundedLine::Line(line)) => {
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                handle_line(&line, id, &hub, &engine);
            }
            Ok(BoundedLine::TooLong(n)) => lock(&hub).error_to(
                id,
                format!("a line of {n} bytes is over the limit of {MAX_LINE}; skipped"),
            ),
            Ok(BoundedLine::Truncated(n)) => {
                tracing::warn!("attach client {id} closed inside a line ({n} bytes dropped)");
                break;
            }
            Ok(BoundedLine::Eof) | Err(_) => break,
        }
    }
    lock(&hub).remove_client(id);
    tracing::debug!("attach client {id} disconnected");
}

fn handle_line(line: &[u8], id: u64, hub: &Mutex<Hub>, engine: &Sender<Command>) {
    let msg = match ClientMsg::parse(line) {
        Ok(m) => m,
        Err(e) => return lock(hub).error_to(id, e),
    };
    let command = match msg {
        ClientMsg::Subscribe { from_seq } => {
            let mut h = lock(hub);
            if let Err(e) = h.subscribe(id, from_seq) {
                h.error_to(id, e);
            }
            return;
        }
        ClientMsg::Command(Command::Predict {
            id: own_id,
            text,
            text_pair,
            explain,
        }) => {
            let mut h = lock(hub);
            let engine_id = h.next_prediction;
            h.next_prediction += 1;
            h.predictions.insert(engine_id, (id, own_id));
            Command::Predict {
                id: engine_id,
                text,
                text_pair,
                explain,
            }
        }
        ClientMsg::Command(c) => c,
    };
    let name = format!("{command:?}");
    if engine.send(command).is_err() {
        lock(hub).error_to(id, format!("the run is over; {name} was not delivered"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client slot on `hub` with a queue of `queue`; its receiving end.
    fn client(hub: &mut Hub, queue: usize, subscribed: bool) -> Receiver<Out> {
        let (stream, _peer) = UnixStream::pair().unwrap();
        let (tx, rx) = sync_channel(queue);
        hub.clients.push(Slot {
            id: 1,
            tx,
            stream,
            subscribed,
        });
        rx
    }

    #[test]
    fn a_subscriber_gets_history_then_live_events_and_predictions_go_to_the_asker() {
        let dir = tempfile::tempdir().unwrap();
        let mut hub = Hub::load(dir.path());
        hub.publish(&Event::Paused { step: 1 });
        let rx = client(&mut hub, 8, false);
        hub.subscribe(1, 0).unwrap();
        hub.publish(&Event::Resumed { step: 1 });
        hub.predictions.insert(5, (1, 77));
        hub.publish(&Event::Prediction {
            id: 5,
            text: "x".into(),
            prediction: crate::protocol::Prediction {
                label: "a".into(),
                score: 1.0,
                probs: vec![("a".into(), 1.0)],
                logits: vec![0.0],
                chosen: None,
                thresholds: None,
                value: None,
                explanation: None,
                entities: None,
            },
            latency_ms: 1.0,
        });
        let mut lines = Vec::new();
        for out in rx.try_iter() {
            match out {
                Out::Line(l) => lines.push(l.to_string()),
                Out::Lines(ls) => lines.extend(ls.iter().map(|l| l.to_string())),
            }
        }
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("\"seq\":0") && lines[0].contains("paused"));
        assert!(lines[1].contains("\"seq\":1") && lines[1].contains("resumed"));
        assert!(lines[2].contains("\"id\":77"), "{}", lines[2]);
        // A later subscriber does not see the other client's prediction.
        let replay: Vec<_> = hub.history.iter().filter(|e| e.replay).collect();
        assert_eq!(replay.len(), 2);
    }

    #[test]
    fn history_starts_at_the_requested_sequence_number_and_loads_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = crate::run_dir::RunDir::create(dir.path()).unwrap();
        for step in 0..4 {
            run.append_event(&Event::Paused { step }).unwrap();
        }
        let mut hub = Hub::load(dir.path());
        assert_eq!(hub.next_seq(), 4);
        assert_eq!(hub.progress().status, crate::protocol::RunStatus::Paused);
        let rx = client(&mut hub, 4, false);
        hub.subscribe(1, 2).unwrap();
        assert!(hub.subscribe(1, 0).is_err(), "one subscription per client");
        let Ok(Out::Lines(lines)) = rx.try_recv() else {
            panic!("history expected")
        };
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"seq\":2") && lines[1].contains("\"seq\":3"));
    }

    #[test]
    fn a_client_that_stops_reading_is_dropped_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut hub = Hub::load(dir.path());
        let _rx = client(&mut hub, 2, true);
        for step in 0..5 {
            hub.publish(&Event::Paused { step });
        }
        assert!(hub.clients.is_empty());
        assert_eq!(hub.next_seq(), 5);
    }
}
