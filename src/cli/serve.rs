//! `tunebench serve` (flags → `tunebench::serve`) and `tunebench
//! bench-serve`, the load generator that measures a running server.

use super::ComputeFlags;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tunebench::config::ConfigError;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// (A run by name or directory serves its best/, else its newest
    /// checkpoint, and follows the run; with @... that checkpoint only.)
    #[command(flatten)]
    model: super::ModelRef,
    /// Base model of a peft adapter directory
    #[arg(long)]
    base: Option<PathBuf>,
    /// Address to listen on (0.0.0.0: every interface; set --api-key)
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[command(flatten)]
    compute: ComputeFlags,
    /// Texts per forward pass
    #[arg(long, default_value_t = 64)]
    max_batch_size: usize,
    /// Padded tokens (rows × longest) per forward pass
    #[arg(long, default_value_t = 16384)]
    max_batch_tokens: usize,
    /// How long a batch waits for more texts once one is queued
    #[arg(long, default_value_t = 0)]
    max_wait_ms: u64,
    /// Texts admitted at once (queued or running); more are answered 429
    #[arg(long, default_value_t = 512)]
    max_queue: usize,
    /// Texts per request
    #[arg(long, default_value_t = 32)]
    max_client_batch_size: usize,
    /// Largest request body
    #[arg(long, default_value_t = 2_000_000)]
    max_body_bytes: usize,
    /// Require `Authorization: Bearer KEY` on every route but /health
    #[arg(long, env = "TUNEBENCH_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Swap in newer checkpoints as they are published (serve a model
    /// while it trains)
    #[arg(long)]
    watch: bool,
    /// How often --watch looks for a newer checkpoint
    #[arg(long, default_value_t = 1000)]
    watch_interval_ms: u64,
    /// Cut texts over the model's limit unless a request says truncate=false
    #[arg(long)]
    auto_truncate: bool,
}

fn invalid(field: &'static str, reason: &str) -> anyhow::Error {
    ConfigError::field(field, reason).into()
}

pub(crate) fn serve_cmd(a: ServeArgs) -> anyhow::Result<ExitCode> {
    for (field, v) in [
        ("max_batch_size", a.max_batch_size),
        ("max_batch_tokens", a.max_batch_tokens),
        ("max_queue", a.max_queue),
        ("max_client_batch_size", a.max_client_batch_size),
        ("max_body_bytes", a.max_body_bytes),
    ] {
        if v == 0 {
            return Err(invalid(field, "must be at least 1"));
        }
    }
    if a.api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
        return Err(invalid("api_key", "is empty"));
    }
    // A run (by directory or name, no suffix) is served as a run: its
    // best/, swapped as newer ones are published; anything else resolves
    // to one checkpoint.
    let given = a.model.spec().to_path_buf();
    let spec = given.to_string_lossy().to_string();
    let runs_dir = tunebench::run_dir::default_runs_dir();
    let path = match tunebench::runs::reference::resolve_run(&spec, &runs_dir) {
        Ok(run) if !spec.contains('@') => {
            if run != given {
                eprintln!("{spec} → {}", run.display());
            }
            run
        }
        _ => super::checkpoint_dir(&given)?,
    };
    super::logging::to_stderr();
    tunebench::serve::serve(tunebench::serve::ServeOptions {
        source: tunebench::serve::model::Source {
            path,
            base: a.base,
            device: a.compute.device,
            precision: a.compute.precision,
        },
        host: a.host,
        port: a.port,
        limits: tunebench::serve::batcher::Limits {
            max_batch_size: a.max_batch_size,
            max_batch_tokens: a.max_batch_tokens,
            max_wait: Duration::from_millis(a.max_wait_ms),
        },
        max_queue: a.max_queue,
        max_client_batch_size: a.max_client_batch_size,
        max_body_bytes: a.max_body_bytes,
        api_key: a.api_key,
        watch: a
            .watch
            .then(|| Duration::from_millis(a.watch_interval_ms.max(50))),
        auto_truncate: a.auto_truncate,
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub(crate) struct BenchServeArgs {
    /// The server (loopback only)
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Requests in flight at once, one cell each (comma-separated)
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 64])]
    concurrency: Vec<usize>,
    /// short (~8 tokens) and/or long (~120 tokens)
    #[arg(long, value_delimiter = ',', default_values_t = ["short".to_string(), "long".to_string()])]
    texts: Vec<String>,
    /// Requests per cell (concurrency × texts), at most
    #[arg(long, default_value_t = 500)]
    requests: usize,
    /// Seconds per cell, at most
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// The server's key (`serve --api-key`), sent as a Bearer token
    #[arg(long, env = "TUNEBENCH_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

/// Short review-like texts (5–9 tokens with [CLS]/[SEP]).
const SHORT: &[&str] = &[
    "a gorgeous film",
    "dull and lifeless",
    "the plot drags badly",
    "warm , funny and wise",
    "an utter waste of time",
    "sharp writing throughout",
    "i loved every minute",
    "flat characters",
];

/// A ~120-token text: SST-2-like sentences joined, varied per request.
fn long_text(i: usize) -> String {
    const PARTS: &[&str] = &[
        "the film opens with a long , quiet sequence that sets the tone for everything that follows",
        "its lead performance is restrained and precise , never reaching for easy sentiment",
        "the screenplay wanders in the middle act , losing track of the threads it so carefully laid",
        "yet the final twenty minutes recover much of the ground , with an ending that feels earned",
        "the photography is handsome if a little too fond of golden-hour light",
        "supporting players do what they can with thin material",
        "it is the kind of movie that rewards patience more than it demands it",
        "the score swells at all the expected moments",
    ];
    (0..5)
        .map(|k| PARTS[(i + k) % PARTS.len()])
        .collect::<Vec<_>>()
        .join(" . ")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(crate) fn bench_serve_cmd(a: BenchServeArgs) -> anyhow::Result<ExitCode> {
    let host = a
        .url
        .strip_prefix("http://")
        .and_then(|r| r.split(['/', ':']).next())
        .unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(invalid(
            "url",
            "bench-serve loads loopback servers only (http://127.0.0.1:PORT)",
        ));
    }
    if let Some(t) = a
        .texts
        .iter()
        .find(|t| !matches!(t.as_str(), "short" | "long"))
    {
        return Err(invalid("texts", &format!("'{t}': use short and/or long")));
    }
    let url = format!("{}/predict", a.url.trim_end_matches('/'));
    for kind in &a.texts {
        for &c in &a.concurrency {
            let c = c.max(1);
            let cell = run_cell(&url, a.api_key.as_deref(), kind, c, a.requests, a.seconds);
            let mut lat = cell.latencies;
            lat.sort_by(f64::total_cmp);
            let line = serde_json::json!({
                "texts": kind,
                "concurrency": c,
                "requests": lat.len(),
                "errors": cell.errors,
                "req_per_s": lat.len() as f64 / cell.wall_s,
                "p50_ms": percentile(&lat, 0.5) * 1e3,
                "p90_ms": percentile(&lat, 0.9) * 1e3,
                "p99_ms": percentile(&lat, 0.99) * 1e3,
            });
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

struct Cell {
    latencies: Vec<f64>,
    errors: usize,
    wall_s: f64,
}

/// `c` clients, each with its own keep-alive connection, sending one
/// request after another until `requests` are done or `seconds` pass.
fn run_cell(
    url: &str,
    key: Option<&str>,
    kind: &str,
    c: usize,
    requests: usize,
    seconds: f64,
) -> Cell {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let t0 = Instant::now();
    let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..c)
            .map(|_| {
                let next = &next;
                s.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let (mut lat, mut errors) = (Vec::new(), 0);
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= requests || Instant::now() >= deadline {
                            break;
                        }
                        let text = if kind == "short" {
                            SHORT[i % SHORT.len()].to_string()
                        } else {
                            long_text(i)
                        };
                        let mut req = agent.post(url);
                        if let Some(k) = key {
                            req = req.header("Authorization", &format!("Bearer {k}"));
                        }
                        let t = Instant::now();
                        let ok = req
                            .send_json(serde_json::json!({"inputs": text}))
                            .map(|mut r| {
                                let _ = r.body_mut().read_to_string();
                                r.status().is_success()
                            })
                            .unwrap_or(false);
                        if ok {
                            lat.push(t.elapsed().as_secs_f64());
                        } else {
                            errors += 1;
                        }
                    }
                    (lat, errors)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let wall_s = t0.elapsed().as_secs_f64();
    let mut cell = Cell {
        latencies: Vec::new(),
        errors: 0,
        wall_s,
    };
    for (l, e) in results {
        cell.latencies.extend(l);
        cell.errors += e;
    }
    cell
}
