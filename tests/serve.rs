//! `tunebench serve` end to end: a real server on a loopback port (port 0,
//! read back from its first stdout line), called over HTTP.

mod common;

use common::fixture;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tunebench")
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(checkpoint: &Path, extra: &[&str]) -> Server {
        Self::start_with(checkpoint, extra, &[])
    }

    fn start_with(checkpoint: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Server {
        let mut child = Command::new(bin())
            .args(["serve", "--port", "0", "--checkpoint"])
            .arg(checkpoint)
            .args(extra)
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .env_remove("TUNEBENCH_API_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let mut err = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("server did not start: {line:?} {err}")
            })
            .to_string();
        Server { child, url }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POST a JSON body (or raw text); returns (status, body as JSON or Null).
fn post(url: &str, body: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = agent().post(url).header("Content-Type", "application/json");
    if let Some(k) = key {
        req = req.header("Authorization", &format!("Bearer {k}"));
    }
    let mut resp = req.send(body).unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn get(url: &str, key: Option<&str>) -> (u16, String) {
    let mut req = agent().get(url);
    if let Some(k) = key {
        req = req.header("Authorization", &format!("Bearer {k}"));
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn model() -> std::path::PathBuf {
    fixture("bert").join("model")
}

const TEXTS: [&str; 3] = [
    "the movie was great",
    "a very boring and slow film",
    "i loved the ending !",
];

/// `tunebench predict`'s probabilities, per text, by label.
fn cli_probs(checkpoint: &Path) -> Vec<serde_json::Map<String, Value>> {
    predict_probs(
        Command::new(bin())
            .args(["predict", "--checkpoint"])
            .arg(checkpoint)
            .args(TEXTS),
    )
}

/// The probabilities by label of each row `predict` prints.
fn predict_probs(cmd: &mut Command) -> Vec<serde_json::Map<String, Value>> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["probs"]
                .as_object()
                .unwrap()
                .clone()
        })
        .collect()
}

fn assert_scores_match(answer: &Value, probs: &serde_json::Map<String, Value>) {
    let list = answer.as_array().unwrap();
    assert_eq!(list.len(), probs.len());
    let scores: Vec<f64> = list.iter().map(|x| x["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "sorted: {scores:?}"
    );
    for x in list {
        let want = probs[x["label"].as_str().unwrap()].as_f64().unwrap();
        let d = (x["score"].as_f64().unwrap() - want).abs();
        assert!(d < 1e-6, "{x} vs {want}");
    }
}

/// POST the first text to /predict: 200, scored as `predict` scores it.
fn predict_first_text(s: &Server, want: &serde_json::Map<String, Value>) -> Value {
    let (st, answer) = post(
        &format!("{}/predict", s.url),
        &json!({"inputs": TEXTS[0]}).to_string(),
        None,
    );
    assert_eq!(st, 200, "{answer}");
    assert_scores_match(&answer, want);
    answer
}

#[test]
fn predict_info_health_metrics_and_classify_answer_like_tei() {
    let s = Server::start(&model(), &[]);
    let want = cli_probs(&model());
    let one = predict_first_text(&s, &want[0]);
    // TEI's root route, as huggingface_hub's InferenceClient calls it.
    let (st, root) = post(
        &format!("{}/", s.url),
        &json!({"inputs": TEXTS[0], "parameters": {"top_k": 3}}).to_string(),
        None,
    );
    assert_eq!((st, &root), (200, &one));

    let batch = json!({"inputs": TEXTS.iter().map(|t| vec![*t]).collect::<Vec<_>>()});
    let (st, many) = post(&format!("{}/predict", s.url), &batch.to_string(), None);
    assert_eq!(st, 200, "{many}");
    for (answer, probs) in many.as_array().unwrap().iter().zip(&want) {
        assert_scores_match(answer, probs);
    }
    // raw_scores: logits, best first.
    let (_, raw) = post(
        &format!("{}/predict", s.url),
        &json!({"inputs": TEXTS[1], "raw_scores": true}).to_string(),
        None,
    );
    let sum: f64 = raw
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["score"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() > 1e-3, "logits, not probabilities: {raw}");

    let (st, rows) = post(
        &format!("{}/v1/classify", s.url),
        &json!({"texts": TEXTS}).to_string(),
        None,
    );
    assert_eq!(st, 200);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (r, probs) in rows.iter().zip(&want) {
        assert_eq!(r["probs"].as_object().unwrap().len(), 3);
        assert_eq!(r["logits"].as_array().unwrap().len(), 3);
        let best = r["label"].as_str().unwrap();
        assert!((r["score"].as_f64().unwrap() - probs[best].as_f64().unwrap()).abs() < 1e-6);
    }

    let (st, info) = get(&format!("{}/info", s.url), None);
    assert_eq!(st, 200);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["model_type"]["classifier"]["id2label"]["2"], "pos");
    assert_eq!(info["model_type"]["classifier"]["label2id"]["neg"], 0);
    assert_eq!(info["max_input_length"], 40);
    assert_eq!(info["model_dtype"], "float32");
    // A model made by transformers does not say what it was trained on.
    assert_eq!(info["tunebench"]["trained_on"], "unknown");
    assert!(info["max_client_batch_size"].as_u64().unwrap() > 0);
    assert_eq!(get(&format!("{}/health", s.url), None).0, 200);

    let (st, m) = get(&format!("{}/metrics", s.url), None);
    assert_eq!(st, 200);
    for needle in [
        r#"tunebench_requests_total{route="/predict",status="200"} 3"#,
        r#"tunebench_requests_total{route="/",status="200"} 1"#,
        r#"tunebench_requests_total{route="/v1/classify",status="200"} 1"#,
        "tunebench_request_duration_seconds_bucket",
        "tunebench_queue_duration_seconds_count 9",
        "tunebench_batch_size_bucket",
        "tunebench_batch_tokens_sum",
        "tunebench_queue_depth 0",
        "tunebench_model_load_duration_seconds",
    ] {
        assert!(m.contains(needle), "metrics lack {needle}:\n{m}");
    }
}

#[test]
fn bad_requests_get_tei_json_errors_with_their_status() {
    let s = Server::start(
        &model(),
        &["--max-body-bytes", "2000", "--max-client-batch-size", "2"],
    );
    let url = format!("{}/predict", s.url);
    let long = "great ".repeat(60);
    let cases: Vec<(String, u16, &str)> = vec![
        (r#"{"inputs": "#.into(), 400, "Validation"),
        (r#"{"inputs": 5}"#.into(), 422, "Validation"),
        (r#"{"text": "x"}"#.into(), 422, "Validation"),
        (r#"{"inputs": []}"#.into(), 400, "Empty"),
        (r#"{"inputs": ""}"#.into(), 400, "Empty"),
        (
            json!({"inputs": "x".repeat(3000)}).to_string(),
            413,
            "Validation",
        ),
        (json!({"inputs": long}).to_string(), 413, "Validation"),
        (
            json!({"inputs": [["a"], ["b"], ["c"]]}).to_string(),
            413,
            "Validation",
        ),
        // A "pair" of three, or with a number in it, is no TEI shape.
        (
            json!({"inputs": [["a", "b", "c"]]}).to_string(),
            422,
            "Validation",
        ),
        (json!({"inputs": [["a", 5]]}).to_string(), 422, "Validation"),
        (json!({"inputs": ["a", ""]}).to_string(), 400, "Empty"),
    ];
    for (body, status, kind) in &cases {
        let (st, err) = post(&url, body, None);
        assert_eq!(st, *status, "{body:.80}: {err}");
        assert_eq!(err["error_type"], *kind, "{body:.80}: {err}");
        assert!(err["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let (_, err) = post(
        &url,
        &json!({"inputs": [["a", "b", "c"]]}).to_string(),
        None,
    );
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("a sentence pair ([\"a\", \"b\"])"),
        "{err}"
    );
    // The over-long text names the limit; with truncate it is scored.
    let (_, err) = post(&url, &json!({"inputs": long}).to_string(), None);
    assert!(err["error"].as_str().unwrap().contains("40"), "{err}");
    let (st, _) = post(
        &url,
        &json!({"inputs": long, "truncate": true}).to_string(),
        None,
    );
    assert_eq!(st, 200);
    let (st, err) = post(&format!("{}/v1/classify", s.url), r#"{"texts": []}"#, None);
    assert_eq!((st, err["error_type"].as_str()), (400, Some("Empty")));
    // Still serving after all of that.
    assert_eq!(post(&url, r#"{"inputs": "fine"}"#, None).0, 200);
}

#[test]
fn an_api_key_guards_every_route_but_health() {
    let s = Server::start(&model(), &["--api-key", "s3cret"]);
    let url = format!("{}/predict", s.url);
    let body = r#"{"inputs": "great"}"#;
    let (st, err) = post(&url, body, None);
    assert_eq!(
        (st, err["error_type"].as_str()),
        (401, Some("Unauthorized"))
    );
    assert_eq!(post(&url, body, Some("wrong")).0, 401);
    assert_eq!(post(&url, body, Some("s3cret")).0, 200);
    assert_eq!(get(&format!("{}/info", s.url), None).0, 401);
    assert_eq!(get(&format!("{}/metrics", s.url), Some("s3cret")).0, 200);
    assert_eq!(get(&format!("{}/health", s.url), None).0, 200);
}

/// A queue of one text, and a batch that waits 400 ms for company: the
/// second request finds the queue full (429, Retry-After); a client that
/// hangs up frees its slot.
#[test]
fn a_full_queue_answers_429_and_a_cancelled_request_frees_its_slot() {
    let s = Server::start(&model(), &["--max-queue", "1", "--max-wait-ms", "400"]);
    let url = format!("{}/predict", s.url);
    let first = {
        let url = url.clone();
        std::thread::spawn(move || post(&url, r#"{"inputs": "great"}"#, None).0)
    };
    std::thread::sleep(Duration::from_millis(150));
    let mut resp = agent()
        .post(&url)
        .header("Content-Type", "application/json")
        .send(r#"{"inputs": "also great"}"#)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let err: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(err["error_type"], "Overloaded");
    assert_eq!(first.join().unwrap(), 200);

    // A raw client sends a request and hangs up while it waits.
    let addr = s.url.strip_prefix("http://").unwrap();
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    let body = r#"{"inputs": "gone"}"#;
    write!(
        conn,
        "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(conn);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(post(&url, r#"{"inputs": "next"}"#, None).0, 200);
}

/// Serve a run directory with --watch while a client keeps asking; publish
/// a new best checkpoint: no request fails, /info shows the new step and
/// the answers change to the new model's.
#[test]
fn watch_swaps_in_a_newly_published_checkpoint_without_failing_requests() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    copy_dir(&model(), &run.join("best"));
    std::fs::write(run.join("best/trainer_state.json"), r#"{"step": 3}"#).unwrap();
    // The second model: the BERT fixture with a peft adapter merged in.
    let merged = d.path().join("merged");
    let ok = Command::new(bin())
        .args(["export", "--merge", "--checkpoint"])
        .arg(fixture("bert").join("lora/adapter"))
        .arg("--out")
        .arg(&merged)
        .status()
        .unwrap();
    assert!(ok.success());
    let s = Server::start(&run, &["--watch", "--watch-interval-ms", "100"]);
    let url = format!("{}/predict", s.url);
    let body = json!({"inputs": TEXTS[0]}).to_string();
    let (_, before) = post(&url, &body, None);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let (url, body, stop) = (url.clone(), body.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                statuses.push(post(&url, &body, None).0);
            }
            statuses
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    // Publish as the trainer does: a full temp dir renamed into place.
    let tmp = run.join(".tmp-best");
    copy_dir(&merged, &tmp);
    std::fs::write(tmp.join("trainer_state.json"), r#"{"step": 7}"#).unwrap();
    tunebench::model::checkpoint::publish_dir(&tmp, &run.join("best")).unwrap();
    let t0 = Instant::now();
    loop {
        let info: Value = serde_json::from_str(&get(&format!("{}/info", s.url), None).1).unwrap();
        if info["tunebench"]["step"] == 7 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "no reload: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses = client.join().unwrap();
    assert!(statuses.len() > 3, "the client kept asking");
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let (_, after) = post(&url, &body, None);
    assert_ne!(before, after, "answers come from the new model");
    let (_, m) = get(&format!("{}/metrics", s.url), None);
    assert!(m.contains("tunebench_model_reloads_total 1"), "{m}");
    assert!(m.contains("tunebench_model_step 7"), "{m}");
}

/// SIGTERM while requests wait in a batch: every one is answered, then
/// the server exits 0.
#[test]
fn sigterm_finishes_requests_in_flight_then_exits_zero() {
    let mut s = Server::start(&model(), &["--max-wait-ms", "600"]);
    let url = format!("{}/predict", s.url);
    let clients: Vec<_> = TEXTS
        .iter()
        .map(|t| {
            let (url, body) = (url.clone(), json!({"inputs": t}).to_string());
            std::thread::spawn(move || post(&url, &body, None).0)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    unsafe {
        libc::kill(s.pid(), libc::SIGTERM);
    }
    for c in clients {
        assert_eq!(c.join().unwrap(), 200);
    }
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn bad_serve_settings_exit_2() {
    for args in [vec!["--max-batch-size", "0"], vec!["--api-key", " "]] {
        let out = Command::new(bin())
            .args(["serve", "--port", "0", "--checkpoint"])
            .arg(model())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = Command::new(bin())
        .args(["serve", "--port", "0", "--checkpoint", "/nonexistent/run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/run"));
    // A port another program holds: said once, with what to do.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(bin())
        .args(["serve", "--port", &port, "--checkpoint"])
        .arg(model())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pick another --port"), "{err}");
    assert_eq!(err.matches("Address already in use").count(), 1, "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

const PAIRS: [(&str, &str); 2] = [
    ("the movie was great", "i loved the ending !"),
    ("a very boring and slow film", "the movie was great"),
];

/// TEI's pair shapes (one pair, a batch of pairs) and `/v1/classify`'s
/// `text_pair` score as `predict --input` scores the same pairs from a file.
#[test]
fn sentence_pairs_score_as_predict_scores_them() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("pairs.tsv");
    let mut body = String::from("sentence1\tsentence2\n");
    for (a, b) in PAIRS {
        body.push_str(&format!("{a}\t{b}\n"));
    }
    std::fs::write(&file, body).unwrap();
    let want = predict_probs(
        Command::new(bin())
            .args(["predict", "--checkpoint"])
            .arg(model())
            .arg("--input")
            .arg(&file),
    );
    assert_eq!(want.len(), 2);
    let s = Server::start(&model(), &[]);
    let url = format!("{}/predict", s.url);
    let (st, one) = post(
        &url,
        &json!({"inputs": [PAIRS[0].0, PAIRS[0].1]}).to_string(),
        None,
    );
    assert_eq!(st, 200, "{one}");
    assert_scores_match(&one, &want[0]);
    let batch: Vec<[&str; 2]> = PAIRS.iter().map(|(a, b)| [*a, *b]).collect();
    let (st, many) = post(&url, &json!({ "inputs": batch }).to_string(), None);
    assert_eq!(st, 200, "{many}");
    for (answer, probs) in many.as_array().unwrap().iter().zip(&want) {
        assert_scores_match(answer, probs);
    }
    // A pair scores differently from its first text alone.
    let (_, alone) = post(&url, &json!({"inputs": PAIRS[0].0}).to_string(), None);
    assert_ne!(alone, one);
    let (st, rows) = post(
        &format!("{}/v1/classify", s.url),
        &json!({"texts": [{"text": PAIRS[1].0, "text_pair": PAIRS[1].1}, "plain text"]})
            .to_string(),
        None,
    );
    assert_eq!(st, 200, "{rows}");
    assert_eq!(rows[0]["text_pair"], PAIRS[1].1);
    assert!(rows[1].get("text_pair").is_none());
    for (label, p) in rows[0]["probs"].as_object().unwrap() {
        let d = (p.as_f64().unwrap() - want[1][label].as_f64().unwrap()).abs();
        assert!(d < 1e-4, "{label}: {p} vs {}", want[1][label]);
    }
}

/// A run is served by its name, as `tunebench runs` lists it.
#[test]
fn a_run_is_served_by_its_name() {
    let d = tempfile::tempdir().unwrap();
    let runs = d.path().join("runs");
    copy_dir(&model(), &runs.join("demo/best"));
    std::fs::write(runs.join("demo/config.toml"), "").unwrap();
    // Say it was fine-tuned on single texts, as tunebench's checkpoints do.
    let config = runs.join("demo/best/config.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    c["tunebench_input"] = json!("single_texts");
    std::fs::write(&config, c.to_string()).unwrap();
    let s = Server::start_with(Path::new("demo"), &[], &[("TUNEBENCH_RUNS_DIR", &runs)]);
    let want = cli_probs(&model());
    predict_first_text(&s, &want[0]);
    let info = |s: &Server| -> Value {
        serde_json::from_str(&get(&format!("{}/info", s.url), None).1).unwrap()
    };
    assert_eq!(info(&s)["tunebench"]["pairs_to_single_text_model"], 0);
    assert!(info(&s)["tunebench"].get("note").is_none());
    // TEI's ["a", "b"] is one pair: scored as one, and said.
    let (st, _) = post(
        &format!("{}/predict", s.url),
        &json!({"inputs": ["a fine film", "a dull one"]}).to_string(),
        None,
    );
    assert_eq!(st, 200);
    let i = info(&s);
    assert_eq!(i["tunebench"]["pairs_to_single_text_model"], 1, "{i}");
    assert!(
        i["tunebench"]["note"]
            .as_str()
            .unwrap()
            .contains("fine-tuned on single texts was sent sentence pairs"),
        "{i}"
    );
}

/// A multi-label model answers /predict with every label's sigmoid score
/// (TEI's shape, as the pipeline's `function_to_apply="sigmoid"`), and
/// /v1/classify adds the labels over threshold and the thresholds; a
/// regression model answers its value; /info says the task.
#[test]
fn multi_label_and_regression_models_answer_by_their_task() {
    let ml = fixture("tasks/multi_label").join("model");
    let want = cli_probs(&ml);
    let s = Server::start(&ml, &[]);
    let answer = predict_first_text(&s, &want[0]);
    let total: f64 = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["score"].as_f64().unwrap())
        .sum();
    assert!(
        (total - 1.0).abs() > 1e-3,
        "sigmoids do not sum to 1: {answer}"
    );
    let (st, rows) = post(
        &format!("{}/v1/classify", s.url),
        &json!({"texts": TEXTS}).to_string(),
        None,
    );
    assert_eq!(st, 200, "{rows}");
    for (row, probs) in rows.as_array().unwrap().iter().zip(&want) {
        let thresholds = row["thresholds"].as_object().unwrap();
        assert_eq!(thresholds.len(), 4);
        let over: Vec<&str> = probs
            .iter()
            .filter(|(l, p)| p.as_f64().unwrap() >= thresholds[l.as_str()].as_f64().unwrap())
            .map(|(l, _)| l.as_str())
            .collect();
        let labels: Vec<&str> = row["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(labels, over, "{row}");
    }
    let (_, info) = get(&format!("{}/info", s.url), None);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["tunebench"]["task"], "multi_label");
    drop(s);

    let reg = fixture("tasks/regression").join("model");
    let s = Server::start(&reg, &[]);
    let (st, rows) = post(
        &format!("{}/v1/classify", s.url),
        &json!({"texts": [TEXTS[0]]}).to_string(),
        None,
    );
    assert_eq!(st, 200, "{rows}");
    let value = rows[0]["value"].as_f64().unwrap();
    assert_eq!(rows[0]["score"].as_f64().unwrap(), value);
    assert_eq!(rows[0]["label"], "score");
    let (_, answer) = post(
        &format!("{}/predict", s.url),
        &json!({"inputs": TEXTS[0]}).to_string(),
        None,
    );
    assert_eq!(answer[0]["score"].as_f64().unwrap(), value, "{answer}");
    let (_, info) = get(&format!("{}/info", s.url), None);
    assert!(info.contains("\"task\":\"regression\""), "{info}");
}

#[test]
fn int8_serves_what_predict_answers_in_int8() {
    let m = model();
    let want = predict_probs(
        Command::new(bin())
            .args(["predict", "--precision", "int8", "--checkpoint"])
            .arg(&m)
            .args(TEXTS),
    );
    let f32_probs = cli_probs(&m);
    assert_ne!(
        want, f32_probs,
        "int8 scores differ from f32's in the last digits"
    );
    let s = Server::start(&m, &["--precision", "int8"]);
    predict_first_text(&s, &want[0]);
    let (_, info) = get(&format!("{}/info", s.url), None);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["model_dtype"], "int8");
}

/// A token classifier: `/v1/tokens` answers the pipeline's entities (the
/// same as `predict`), for each aggregation strategy; `/predict` and
/// `/v1/classify` refuse it and name the route; `/info` states the task.
#[test]
fn a_token_classifier_answers_on_v1_tokens() {
    let ckpt = fixture("tokens").join("bert/model");
    let s = Server::start(&ckpt, &[]);
    let text = "i loved the films and the music !";
    for agg in ["simple", "first", "average", "max"] {
        let (code, v) = post(
            &format!("{}/v1/tokens", s.url),
            &json!({"inputs": text, "aggregation_strategy": agg}).to_string(),
            None,
        );
        assert_eq!(code, 200, "{v}");
        let out = Command::new(bin())
            .args(["predict", "--checkpoint"])
            .arg(&ckpt)
            .args(["--aggregation", agg, text])
            .output()
            .unwrap();
        assert!(out.status.success());
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v, cli["entities"], "{agg}: serve answers as predict");
        assert!(!v.as_array().unwrap().is_empty());
    }
    // A batch gives one list an input.
    let (code, v) = post(
        &format!("{}/v1/tokens", s.url),
        &json!({"inputs": ["the movie", "fun fun fun"]}).to_string(),
        None,
    );
    assert_eq!(code, 200);
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (code, v) = post(
        &format!("{}/v1/tokens", s.url),
        &json!({"inputs": "x", "aggregation_strategy": "mean"}).to_string(),
        None,
    );
    assert_eq!(code, 422);
    assert!(v["error"].as_str().unwrap().contains("aggregation"), "{v}");
    let (code, v) = post(
        &format!("{}/predict", s.url),
        &json!({"inputs": text}).to_string(),
        None,
    );
    assert_eq!(code, 422);
    assert!(v["error"].as_str().unwrap().contains("/v1/tokens"), "{v}");
    let (code, info) = get(&format!("{}/info", s.url), None);
    assert_eq!(code, 200);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["tunebench"]["task"], "token_classification");
}
