//! TensorBoard event files (`events.out.tfevents.*`), so TensorBoard, the
//! Hub's metrics tab and `wandb sync` read a run as it is. A file is a
//! sequence of records — u64 length, its masked CRC32C, the bytes, their
//! masked CRC32C — each an `Event` protobuf: the first says the file
//! version, the rest carry a `Summary` of scalar values at a step.

use crate::protocol::Event;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct EventWriter {
    file: std::fs::File,
    pub path: PathBuf,
}

/// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.
fn crc32c(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

/// TFRecord's masked CRC.
fn masked(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push((field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// An `Event` with wall time, step and either a file version or scalars.
fn event(
    wall_time: f64,
    step: i64,
    file_version: Option<&str>,
    scalars: &[(String, f32)],
) -> Vec<u8> {
    let mut e = Vec::new();
    e.push(0x09); // wall_time: double
    e.extend_from_slice(&wall_time.to_le_bytes());
    e.push(0x10); // step: int64
    varint(&mut e, step as u64);
    if let Some(v) = file_version {
        bytes_field(&mut e, 3, v.as_bytes());
    }
    if !scalars.is_empty() {
        let mut summary = Vec::new();
        for (tag, value) in scalars {
            let mut v = Vec::new();
            bytes_field(&mut v, 1, tag.as_bytes());
            v.push(0x15); // simple_value: float
            v.extend_from_slice(&value.to_le_bytes());
            bytes_field(&mut summary, 1, &v);
        }
        bytes_field(&mut e, 5, &summary);
    }
    e
}

fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut r = Vec::with_capacity(data.len() + 16);
    r.extend_from_slice(&len);
    r.extend_from_slice(&masked(crc32c(&len)).to_le_bytes());
    r.extend_from_slice(data);
    r.extend_from_slice(&masked(crc32c(data)).to_le_bytes());
    r
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The scalars an event carries, with their step, as TensorBoard tags.
pub fn scalars_of(event: &Event) -> Option<(usize, Vec<(String, f32)>)> {
    match event {
        Event::Step {
            step,
            loss,
            lr,
            grad_norm,
            samples_per_s,
            ..
        } => Some((
            *step,
            vec![
                ("train/loss".into(), *loss as f32),
                ("train/learning_rate".into(), *lr as f32),
                ("train/grad_norm".into(), *grad_norm as f32),
                ("train/samples_per_second".into(), *samples_per_s as f32),
            ],
        )),
        Event::Eval {
            step,
            loss,
            accuracy,
            macro_f1,
            per_class,
            ..
        } => {
            let mut s = vec![
                ("eval/loss".to_string(), *loss as f32),
                ("eval/accuracy".into(), *accuracy as f32),
                ("eval/macro_f1".into(), *macro_f1 as f32),
            ];
            s.extend(
                per_class
                    .iter()
                    .map(|c| (format!("eval/f1/{}", c.label), c.f1 as f32)),
            );
            Some((*step, s))
        }
        _ => None,
    }
}

/// A whole event file for `events`, every record stamped `wall_time`
/// (what the writer produces, minus the clock: for tests).
pub fn encode_file(events: &[Event], wall_time: f64) -> Vec<u8> {
    let mut out = record(&event(wall_time, 0, Some("brain.Event:2"), &[]));
    for e in events {
        if let Some((step, scalars)) = scalars_of(e) {
            out.extend(record(&event(wall_time, step as i64, None, &scalars)));
        }
    }
    out
}

impl EventWriter {
    /// A new event file in `dir` (TensorBoard reads every file of a dir).
    pub fn create(dir: &Path) -> std::io::Result<EventWriter> {
        let secs = now() as u64;
        let path = dir.join(format!(
            "events.out.tfevents.{secs}.tunebench.{}",
            std::process::id()
        ));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(&record(&event(now(), 0, Some("brain.Event:2"), &[])))?;
        file.flush()?;
        Ok(EventWriter { file, path })
    }

    /// Write the scalars of `e` (nothing for events without any).
    pub fn write(&mut self, e: &Event) -> std::io::Result<()> {
        if let Some((step, scalars)) = scalars_of(e) {
            self.file
                .write_all(&record(&event(now(), step as i64, None, &scalars)))?;
            self.file.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The CRC-32C check value of "123456789" (RFC 3720).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn records_frame_their_bytes() {
        let r = record(b"abc");
        assert_eq!(r.len(), 8 + 4 + 3 + 4);
        assert_eq!(u64::from_le_bytes(r[..8].try_into().unwrap()), 3);
        assert_eq!(
            u32::from_le_bytes(r[15..19].try_into().unwrap()),
            masked(crc32c(b"abc"))
        );
    }
}
