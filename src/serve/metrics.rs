//! The server's Prometheus metrics (`GET /metrics`, text format 0.0.4).

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds() -> Histogram {
    // 0.5 ms .. ~8 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

fn counts() -> Histogram {
    // 1 .. 1024 (batch sizes)
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

fn tokens() -> Histogram {
    // 16 .. 65536 (padded tokens per forward)
    Histogram::new(exponential_buckets(16.0, 2.0, 13))
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Histograms<RouteLabels>,
    pub queue_seconds: Histogram,
    pub inference_seconds: Histogram,
    pub batch_size: Histogram,
    pub batch_tokens: Histogram,
    pub queue_depth: Gauge,
    pub model_load_seconds: Gauge<f64, AtomicU64>,
    pub model_step: Gauge,
    pub reloads: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tunebench");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds: Histograms<RouteLabels> = Family::new_with_constructor(seconds);
        let (queue_seconds, inference_seconds) = (seconds(), seconds());
        let (batch_size, batch_tokens) = (counts(), tokens());
        let queue_depth = Gauge::default();
        let model_load_seconds = Gauge::<f64, AtomicU64>::default();
        let model_step = Gauge::default();
        let reloads = Counter::default();
        registry.register(
            "requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Request latency, arrival to answer",
            request_seconds.clone(),
        );
        registry.register(
            "queue_duration_seconds",
            "Time a text waited in the queue before its batch ran",
            queue_seconds.clone(),
        );
        registry.register(
            "inference_duration_seconds",
            "Forward pass time per batch",
            inference_seconds.clone(),
        );
        registry.register("batch_size", "Texts per forward pass", batch_size.clone());
        registry.register(
            "batch_tokens",
            "Padded tokens per forward pass",
            batch_tokens.clone(),
        );
        registry.register(
            "queue_depth",
            "Texts admitted and not yet answered",
            queue_depth.clone(),
        );
        registry.register(
            "model_load_duration_seconds",
            "Time the served checkpoint took to load",
            model_load_seconds.clone(),
        );
        registry.register(
            "model_step",
            "Training step of the served checkpoint (-1: unknown)",
            model_step.clone(),
        );
        registry.register(
            "model_reloads",
            "Checkpoints swapped in by --watch",
            reloads.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            queue_seconds,
            inference_seconds,
            batch_size,
            batch_tokens,
            queue_depth,
            model_load_seconds,
            model_step,
            reloads,
        }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    pub fn observe_request(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
    }
}
