//! `tunebench serve`: a checkpoint behind a TEI-compatible HTTP API
//! (`/predict`, `/info`, `/health`, `/metrics`) plus `/v1/classify`, with
//! dynamic batching, bounded admission, bearer-token auth, hot reload and
//! graceful shutdown. Stateless: replicas can sit behind a load balancer.

pub mod api;
pub mod batcher;
pub mod metrics;
pub mod model;

use api::{ApiError, ApiJson, ClassifyRequest, PredictRequest};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use batcher::{Job, Limits, Scored, Slots};
use metrics::Metrics;
use model::{Current, Source};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

pub struct ServeOptions {
    pub source: Source,
    pub host: String,
    pub port: u16,
    pub limits: Limits,
    /// Texts admitted at once (queued or running); more get 429.
    pub max_queue: usize,
    pub max_client_batch_size: usize,
    pub max_body_bytes: usize,
    pub api_key: Option<String>,
    /// Reload when a newer checkpoint is published (polled).
    pub watch: Option<Duration>,
    /// Cut over-long texts when a request does not say (`truncate`).
    pub auto_truncate: bool,
}

struct AppState {
    current: Arc<Current>,
    queue: Sender<Job>,
    slots: Arc<Slots>,
    metrics: Arc<Metrics>,
    /// SHA-256 of the API key: compared in constant time, of fixed length.
    key_hash: Option<[u8; 32]>,
    max_client_batch_size: usize,
    auto_truncate: bool,
    info: Value,
    worker_alive: Arc<AtomicBool>,
    /// Sentence pairs sent to a model fine-tuned on single texts (TEI reads
    /// `["a", "b"]` as one pair): logged the first time, counted in /info.
    pairs_to_single: AtomicU64,
}

/// Clears the worker's liveness flag however the worker ends.
struct Alive(Arc<AtomicBool>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

type Shared = Arc<AppState>;

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Load the checkpoint, bind, and serve until SIGINT/SIGTERM; then stop
/// accepting, answer what is in flight and return.
pub fn serve(opts: ServeOptions) -> crate::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let loaded = opts.source.load()?;
    metrics.model_load_seconds.set(loaded.load_seconds);
    metrics
        .model_step
        .set(loaded.version.step.map_or(-1, |s| s as i64));
    tracing::info!(
        "loaded {} in {:.2} s",
        loaded.dir.display(),
        loaded.load_seconds
    );
    let max_input = loaded.predictor.text.max_len();
    let current = Arc::new(Current::new(loaded));
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let worker_alive = Arc::new(AtomicBool::new(true));
    let worker = {
        let (current, metrics, limits) = (current.clone(), metrics.clone(), opts.limits);
        let alive = Alive(worker_alive.clone());
        std::thread::Builder::new()
            .name("serve-worker".into())
            .spawn(move || {
                let _alive = alive;
                batcher::run_worker(rx, current, limits, metrics)
            })
            .map_err(|e| crate::Error::io("starting the model worker", e))?
    };
    let info = json!({
        "model_id": opts.source.path.display().to_string(),
        "model_sha": null,
        "model_dtype": match opts.source.precision {
            crate::config::InferencePrecision::F32 => "float32",
            crate::config::InferencePrecision::Bf16 => "bfloat16",
            crate::config::InferencePrecision::F16 => "float16",
            crate::config::InferencePrecision::Int8 => "int8",
        },
        "max_concurrent_requests": opts.max_queue,
        "max_input_length": max_input,
        "max_batch_tokens": opts.limits.max_batch_tokens,
        "max_batch_requests": opts.limits.max_batch_size,
        "max_client_batch_size": opts.max_client_batch_size,
        "auto_truncate": opts.auto_truncate,
        "tokenization_workers": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "version": env!("CARGO_PKG_VERSION"),
        "sha": null,
        "docker_label": null,
    });
    let state = Arc::new(AppState {
        current: current.clone(),
        queue: tx,
        slots: Slots::new(opts.max_queue, metrics.clone()),
        metrics: metrics.clone(),
        key_hash: opts.api_key.as_deref().map(digest),
        max_client_batch_size: opts.max_client_batch_size,
        auto_truncate: opts.auto_truncate,
        info,
        worker_alive,
        pairs_to_single: AtomicU64::new(0),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::io("starting the HTTP runtime", e))?;
    let addr = format!("{}:{}", opts.host, opts.port);
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    " (another program listens there: pick another --port)"
                }
                _ => "",
            };
            crate::Error::io(format!("binding {addr}{hint}"), e)
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| crate::Error::io("listening address", e))?;
        warn_if_exposed(&local, opts.api_key.is_some());
        // The first line on stdout: scripts and tests read the port here.
        println!("listening on http://{local}");
        if let Some(every) = opts.watch {
            tokio::spawn(watch(opts.source.clone(), current, metrics, every));
        }
        axum::serve(listener, router(state, opts.max_body_bytes))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| crate::Error::io("serving", e))
    });
    // Every handler is gone with the runtime, and the state's sender with
    // them: the worker drains the queue and ends.
    drop(rt);
    let _ = worker.join();
    tracing::info!("stopped");
    result
}

fn warn_if_exposed(addr: &SocketAddr, has_key: bool) {
    if !addr.ip().is_loopback() && !has_key {
        eprintln!(
            "warning: serving on {addr} without an API key: anyone who can reach this address can use the model (set --api-key or TUNEBENCH_API_KEY)"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn router(state: Shared, max_body_bytes: usize) -> Router {
    let protected = Router::new()
        .route("/predict", post(predict))
        // TEI's root route (what huggingface_hub's InferenceClient posts to).
        .route("/", post(predict))
        .route("/v1/classify", post(classify))
        .route("/v1/tokens", post(tokens))
        .route("/info", get(info))
        .route("/metrics", get(metrics_text))
        .route_layer(from_fn_with_state(state.clone(), auth));
    Router::new()
        .merge(protected)
        .route("/health", get(health))
        .route_layer(from_fn_with_state(state.clone(), track))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Count and time every routed request by route and status.
async fn track(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unknown".to_string(), |m| m.as_str().to_string());
    let t0 = Instant::now();
    let resp = next.run(req).await;
    s.metrics
        .observe_request(&route, resp.status().as_u16(), t0.elapsed().as_secs_f64());
    resp
}

async fn auth(State(s): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(want) = &s.key_hash {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|k| digest(k.trim()));
        let ok = given.is_some_and(|g| bool::from(g.ct_eq(want)));
        if !ok {
            return ApiError::unauthorized().into_response();
        }
    }
    next.run(req).await
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no such route (POST /predict, POST /v1/classify, POST /v1/tokens, GET /info, /health, /metrics)",
    )
}

/// 200 while the model worker runs (the model loads before the socket
/// opens, so a listening server has one).
async fn health(State(s): State<Shared>) -> Response {
    if s.worker_alive.load(Ordering::Relaxed) {
        StatusCode::OK.into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unhealthy",
            "the model worker has stopped",
        )
        .into_response()
    }
}

async fn info(State(s): State<Shared>) -> Json<Value> {
    let loaded = s.current.get();
    let mut v = s.info.clone();
    let labels = loaded.labels();
    let id2label: serde_json::Map<String, Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), json!(l)))
        .collect();
    let label2id: serde_json::Map<String, Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), json!(i)))
        .collect();
    v["model_type"] = json!({"classifier": {"id2label": id2label, "label2id": label2id}});
    // What the model was fine-tuned on (texts are scored either way, as TEI
    // does; a pair-trained model expects pairs).
    let input = std::fs::read_to_string(loaded.dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|c| {
            c.get("tunebench_input")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| "unknown".into());
    v["tunebench"] = json!({
        "task": loaded.predictor.model.task.name(),
        "trained_on": input,
        "checkpoint": loaded.dir.display().to_string(),
        "step": loaded.version.step,
        "load_seconds": loaded.load_seconds,
        "queue_depth": s.slots.used(),
        "pairs_to_single_text_model": s.pairs_to_single.load(Ordering::Relaxed),
    });
    if s.pairs_to_single.load(Ordering::Relaxed) > 0 {
        v["tunebench"]["note"] = json!(PAIRS_NOTE);
    }
    Json(v)
}

async fn metrics_text(State(s): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// Said when a model fine-tuned on single texts is sent sentence pairs.
const PAIRS_NOTE: &str = "a model fine-tuned on single texts was sent sentence pairs: TEI's {\"inputs\": [\"a\", \"b\"]} is one pair and is scored as one; send [[\"a\"], [\"b\"]] (or /v1/classify {\"texts\": [\"a\", \"b\"]}) to score two texts";

/// Tokenize, queue and await `texts`; bounded by the admission slots.
async fn score(
    s: &AppState,
    texts: &[api::Input],
    truncate: bool,
) -> Result<Vec<Scored>, ApiError> {
    if texts.len() > s.max_client_batch_size {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Validation",
            format!(
                "batch size {} > maximum allowed batch size {}",
                texts.len(),
                s.max_client_batch_size
            ),
        ));
    }
    let _slots = s
        .slots
        .try_take(texts.len())
        .ok_or_else(|| ApiError::overloaded(1))?;
    let loaded = s.current.get();
    let text = &loaded.predictor.text;
    let pairs = texts.iter().filter(|t| t.pair.is_some()).count() as u64;
    let single = loaded.predictor.model.trained_on_pairs == Some(false);
    if pairs > 0 && single && s.pairs_to_single.fetch_add(pairs, Ordering::Relaxed) == 0 {
        tracing::warn!("{PAIRS_NOTE}");
    }
    let mut waiting = Vec::with_capacity(texts.len());
    for t in texts {
        let (ids, full) = text.encode_input(&t.text, t.pair.as_deref()).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Tokenizer", e.to_string())
        })?;
        if let (Some(full), false) = (full, truncate) {
            return Err(ApiError::too_long(full, text.max_len()));
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        s.queue
            .send(Job {
                ids,
                enqueued: Instant::now(),
                reply,
            })
            .map_err(|_| ApiError::backend("the model worker has stopped"))?;
        waiting.push(rx);
    }
    let mut out = Vec::with_capacity(waiting.len());
    for rx in waiting {
        match rx.await {
            Ok(Ok(scored)) => out.push(scored),
            Ok(Err(e)) => return Err(ApiError::backend(e)),
            Err(_) => return Err(ApiError::backend("the model worker dropped the request")),
        }
    }
    Ok(out)
}

async fn predict(
    State(s): State<Shared>,
    ApiJson(req): ApiJson<PredictRequest>,
) -> Result<Json<Value>, ApiError> {
    if req
        .truncation_direction
        .as_deref()
        .is_some_and(|d| !d.eq_ignore_ascii_case("right"))
    {
        return Err(ApiError::validation(
            "truncation_direction: only \"Right\" is supported",
        ));
    }
    refuse_token_model(&s)?;
    let (texts, batch) = api::texts_of(req.inputs)?;
    let scored = score(&s, &texts, req.truncate.unwrap_or(s.auto_truncate)).await?;
    let mut lists: Vec<Value> = scored
        .iter()
        .map(|sc| {
            let task = sc.model.predictor.model.task;
            json!(api::ranked(
                sc.model.labels(),
                task,
                &sc.logits,
                req.raw_scores
            ))
        })
        .collect();
    Ok(Json(if batch {
        Value::Array(lists)
    } else {
        lists.remove(0)
    }))
}

/// The routes that answer one label set a text refuse a token classifier.
fn refuse_token_model(s: &Shared) -> Result<(), ApiError> {
    if s.current.get().predictor.model.task == crate::data::Task::TokenClassification {
        return Err(ApiError::validation(
            "this model tags tokens (token_classification): POST /v1/tokens {\"inputs\": ...}",
        ));
    }
    Ok(())
}

/// A token classifier's entities for each input, grouped as the
/// pipeline's `aggregation_strategy` says.
async fn tokens(
    State(s): State<Shared>,
    ApiJson(req): ApiJson<api::TokensRequest>,
) -> Result<Json<Value>, ApiError> {
    let strategy: crate::entities::Aggregation = req
        .aggregation_strategy
        .as_deref()
        .unwrap_or("simple")
        .parse()
        .map_err(|e: String| ApiError::validation(format!("aggregation_strategy: {e}")))?;
    if s.current.get().predictor.model.task != crate::data::Task::TokenClassification {
        return Err(ApiError::validation(format!(
            "this model is {}: POST /predict; /v1/tokens serves token classifiers",
            s.current.get().predictor.model.task.name()
        )));
    }
    let (texts, batch) = req.inputs.texts()?;
    let scored = score(&s, &texts, req.truncate.unwrap_or(s.auto_truncate)).await?;
    let mut lists = Vec::with_capacity(texts.len());
    for (t, sc) in texts.iter().zip(&scored) {
        let p = &sc.model.predictor;
        let n = p.model.labels.len();
        let decode = |tokens: &[String]| p.text.tokens_to_string(tokens);
        // The worker scored ids; the grouping needs their offsets too.
        let enc = p.text.encode_with_offsets(&t.text).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Tokenizer", e.to_string())
        })?;
        let pieces = crate::entities::pieces(&enc, &t.text, &sc.logits, n);
        lists.push(json!(crate::entities::group(
            &pieces,
            &p.model.labels,
            strategy,
            &decode
        )));
    }
    Ok(Json(if batch {
        Value::Array(lists)
    } else {
        lists.remove(0)
    }))
}

async fn classify(
    State(s): State<Shared>,
    ApiJson(req): ApiJson<ClassifyRequest>,
) -> Result<Json<Value>, ApiError> {
    refuse_token_model(&s)?;
    let inputs: Vec<api::Input> = req.texts.into_iter().map(api::Input::from).collect();
    api::check_texts(&inputs)?;
    let scored = score(&s, &inputs, req.truncate.unwrap_or(s.auto_truncate)).await?;
    let rows: Vec<Value> = inputs
        .iter()
        .zip(scored)
        .map(|(t, sc)| {
            let p = crate::predict::to_prediction(&sc.model.predictor.model, sc.logits);
            let probs: serde_json::Map<String, Value> =
                p.probs.iter().map(|(l, x)| (l.clone(), json!(x))).collect();
            let mut row = json!({"text": t.text, "label": p.label, "score": p.score, "probs": probs, "logits": p.logits});
            // Multi-label: the labels over their thresholds, and those.
            if let (Some(chosen), Some(thresholds)) = (&p.chosen, &p.thresholds) {
                row["labels"] = json!(chosen);
                let by_label: serde_json::Map<String, Value> = p
                    .probs
                    .iter()
                    .zip(thresholds)
                    .map(|((l, _), t)| (l.clone(), json!(t)))
                    .collect();
                row["thresholds"] = Value::Object(by_label);
            }
            if let Some(v) = p.value {
                row["value"] = json!(v);
            }
            if let Some(b) = &t.pair {
                row["text_pair"] = json!(b);
            }
            row
        })
        .collect();
    Ok(Json(Value::Array(rows)))
}

/// `--watch`: poll for a newer checkpoint and swap it in; requests keep
/// flowing (a batch holds the model it started with).
async fn watch(source: Source, current: Arc<Current>, metrics: Arc<Metrics>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        if !model::changed(&source, &current.get()) {
            continue;
        }
        let src = source.clone();
        match tokio::task::spawn_blocking(move || src.load()).await {
            Ok(Ok(loaded)) => {
                tracing::info!(
                    "reloaded {} (step {:?}) in {:.2} s",
                    loaded.dir.display(),
                    loaded.version.step,
                    loaded.load_seconds
                );
                metrics.model_load_seconds.set(loaded.load_seconds);
                metrics
                    .model_step
                    .set(loaded.version.step.map_or(-1, |s| s as i64));
                metrics.reloads.inc();
                current.swap(loaded);
            }
            Ok(Err(e)) => tracing::warn!("reload skipped: {e}"),
            Err(e) => tracing::warn!("reload failed: {e}"),
        }
    }
}
