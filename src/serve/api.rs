//! The wire types of `tunebench serve`: TEI's `/predict` request and
//! response shapes, tunebench's `/v1/classify`, and TEI's JSON errors.

use crate::data::Task;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One TEI sequence: a text, or a sentence pair (`["a", "b"]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Sequence {
    Text(String),
    One([String; 1]),
    Pair(String, String),
}

/// TEI's `inputs`: one sequence, or a batch of them (`[["t1"], ["t2"]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum PredictInput {
    Single(Sequence),
    Batch(Vec<Sequence>),
}

#[derive(Debug, Deserialize)]
pub struct PredictRequest {
    pub inputs: PredictInput,
    /// Logits instead of softmax probabilities.
    #[serde(default)]
    pub raw_scores: bool,
    /// Cut texts over the model's limit instead of refusing them (413).
    pub truncate: Option<bool>,
    pub truncation_direction: Option<String>,
}

/// `/v1/tokens`: a token classifier's entities, as transformers'
/// token-classification pipeline returns them (TEI has no such route).
#[derive(Debug, Deserialize)]
pub struct TokensRequest {
    /// A text, or a list of texts (as the pipeline takes them: a token
    /// classifier has no sentence pairs).
    pub inputs: TokensInput,
    /// simple, first, average or max (default simple).
    #[serde(default)]
    pub aggregation_strategy: Option<String>,
    pub truncate: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TokensInput {
    One(String),
    Many(Vec<String>),
}

impl TokensInput {
    /// The texts, checked as TEI checks them, and whether a list was sent.
    pub fn texts(self) -> Result<(Vec<Input>, bool), ApiError> {
        let (texts, batch) = match self {
            TokensInput::One(t) => (vec![t], false),
            TokensInput::Many(v) => (v, true),
        };
        let inputs: Vec<Input> = texts
            .into_iter()
            .map(|text| Input { text, pair: None })
            .collect();
        check_texts(&inputs)?;
        Ok((inputs, batch))
    }
}

/// tunebench's own route: the rows of `predict --format jsonl`.
#[derive(Debug, Deserialize)]
pub struct ClassifyRequest {
    pub texts: Vec<ClassifyItem>,
    #[serde(default)]
    pub truncate: Option<bool>,
}

/// One text of `/v1/classify`: a string, or a pair as the transformers
/// pipeline names it (`{"text": "a", "text_pair": "b"}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ClassifyItem {
    Text(String),
    Pair { text: String, text_pair: String },
}

impl From<ClassifyItem> for Input {
    fn from(item: ClassifyItem) -> Input {
        match item {
            ClassifyItem::Text(text) => Input { text, pair: None },
            ClassifyItem::Pair { text, text_pair } => Input {
                text,
                pair: Some(text_pair),
            },
        }
    }
}

/// One input to score: a text, or a sentence pair (encoded as the model's
/// tokenizer joins two sentences, as `predict --input` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub text: String,
    pub pair: Option<String>,
}

impl Input {
    pub fn text(text: &str) -> Input {
        Input {
            text: text.into(),
            pair: None,
        }
    }
}

/// TEI's request shapes, for the answer to a malformed `inputs`.
const SHAPES: &str = "`inputs` must be a text (\"a\"), a sentence pair ([\"a\", \"b\"]), or a batch of them ([\"t1\", \"t2\", \"t3\"], [[\"t1\"], [\"t2\"]], [[\"a\", \"b\"], [\"c\", \"d\"]])";

/// One `{label, score}` of TEI's answer.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// The inputs of a request (texts and pairs), and whether TEI's batch form
/// was used (the answer is then a list per input).
pub fn texts_of(input: PredictInput) -> Result<(Vec<Input>, bool), ApiError> {
    let (seqs, batch) = match input {
        PredictInput::Single(s) => (vec![s], false),
        PredictInput::Batch(v) => (v, true),
    };
    if seqs.is_empty() {
        return Err(ApiError::empty("`inputs` cannot be empty"));
    }
    let inputs: Vec<Input> = seqs
        .into_iter()
        .map(|s| match s {
            Sequence::Text(text) | Sequence::One([text]) => Input { text, pair: None },
            Sequence::Pair(text, b) => Input {
                text,
                pair: Some(b),
            },
        })
        .collect();
    check_texts(&inputs)?;
    Ok((inputs, batch))
}

/// Refuse empty lists and empty strings, as TEI does.
pub fn check_texts(inputs: &[Input]) -> Result<(), ApiError> {
    if inputs.is_empty() {
        return Err(ApiError::empty("the list of texts cannot be empty"));
    }
    let empty = |t: &str| t.trim().is_empty();
    if let Some(i) = inputs
        .iter()
        .position(|t| empty(&t.text) || t.pair.as_deref().is_some_and(empty))
    {
        return Err(ApiError::empty(format!("input {i} is an empty string")));
    }
    Ok(())
}

/// Labels with their scores, best first (softmax, or logits when `raw`).
/// TEI's `/predict` answer: every label's score, best first — softmax for
/// one label a text, sigmoid per label for multi-label and the raw value
/// for regression (transformers' pipeline rules), or the logits (`raw`).
pub fn ranked(labels: &[String], task: Task, logits: &[f32], raw: bool) -> Vec<LabelScore> {
    let scores = match task {
        _ if raw => logits.to_vec(),
        // A token model is refused before scoring (`/v1/tokens` serves it).
        Task::SingleLabel | Task::TokenClassification => crate::model::probs::softmax(logits),
        Task::MultiLabel => logits
            .iter()
            .map(|&x| crate::model::probs::sigmoid(x))
            .collect(),
        Task::Regression => logits.to_vec(),
    };
    let mut v: Vec<LabelScore> = labels
        .iter()
        .zip(scores)
        .map(|(l, s)| LabelScore {
            label: l.clone(),
            score: s,
        })
        .collect();
    v.sort_by(|a, b| b.score.total_cmp(&a.score));
    v
}

/// An error answer: TEI's `{"error": …, "error_type": …}` with a status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub message: String,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error_type: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error_type,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation", message)
    }
    pub fn empty(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Empty", message)
    }
    pub fn too_long(given: usize, limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Validation",
            format!("Input validation error: `inputs` must have less than {limit} tokens. Given: {given}"),
        )
    }
    pub fn overloaded(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Overloaded",
                "Model is overloaded: the queue is full",
            )
        }
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "a valid `Authorization: Bearer <key>` header is required",
        )
    }
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Backend", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.message, "error_type": self.error_type});
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let text = r.body_text();
        // serde's "did not match any variant of untagged enum" says nothing
        // a client can act on: name the shapes instead.
        let message = if text.contains("enum PredictInput") {
            format!("{SHAPES}: {text}")
        } else if text.contains("enum ClassifyItem") {
            format!("`texts` holds strings or {{\"text\": …, \"text_pair\": …}} objects: {text}")
        } else {
            text
        };
        ApiError::new(r.status(), "Validation", message)
    }
}

/// `axum::Json` whose rejections (bad JSON, wrong types, body too large,
/// wrong content type) answer in TEI's error format.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(Vec<Input>, bool), ApiError> {
        texts_of(serde_json::from_str::<PredictRequest>(s).unwrap().inputs)
    }

    fn texts(v: &[&str]) -> Vec<Input> {
        v.iter().map(|t| Input::text(t)).collect()
    }

    fn pair(a: &str, b: &str) -> Input {
        Input {
            text: a.into(),
            pair: Some(b.into()),
        }
    }

    #[test]
    fn tei_input_shapes_keep_their_meaning() {
        assert_eq!(
            parse(r#"{"inputs":"hi"}"#).unwrap(),
            (texts(&["hi"]), false)
        );
        assert_eq!(
            parse(r#"{"inputs":[["a"],["b"]]}"#).unwrap(),
            (texts(&["a", "b"]), true)
        );
        assert_eq!(
            parse(r#"{"inputs":["a"]}"#).unwrap(),
            (texts(&["a"]), false)
        );
        // ["a", "b"] is one sentence pair in TEI, not two texts.
        assert_eq!(
            parse(r#"{"inputs":["a","b"]}"#).unwrap(),
            (vec![pair("a", "b")], false)
        );
        assert_eq!(
            parse(r#"{"inputs":[["a","b"],["c","d"]]}"#).unwrap(),
            (vec![pair("a", "b"), pair("c", "d")], true)
        );
        assert_eq!(parse(r#"{"inputs":[]}"#).unwrap_err().error_type, "Empty");
        assert_eq!(parse(r#"{"inputs":"  "}"#).unwrap_err().error_type, "Empty");
        assert_eq!(
            parse(r#"{"inputs":["a", " "]}"#).unwrap_err().error_type,
            "Empty"
        );
        assert!(serde_json::from_str::<PredictRequest>(r#"{"inputs":3}"#).is_err());
        assert!(serde_json::from_str::<PredictRequest>(r#"{"inputs":[["a","b","c"]]}"#).is_err());
        // Three strings cannot be a pair: a batch of three texts.
        assert_eq!(
            parse(r#"{"inputs":["a","b","c"]}"#).unwrap(),
            (texts(&["a", "b", "c"]), true)
        );
    }

    #[test]
    fn scores_are_ranked_best_first() {
        let labels = vec!["neg".to_string(), "pos".to_string()];
        let r = ranked(&labels, Task::SingleLabel, &[0.5, 2.0], false);
        assert_eq!(r[0].label, "pos");
        assert!((r[0].score + r[1].score - 1.0).abs() < 1e-6);
        let raw = ranked(&labels, Task::SingleLabel, &[0.5, 2.0], true);
        let sig = ranked(&labels, Task::MultiLabel, &[0.0, 2.0], false);
        assert_eq!(sig[0].label, labels[1]);
        assert!((sig[1].score - 0.5).abs() < 1e-7);
        assert_eq!((raw[0].score, raw[1].score), (2.0, 0.5));
    }
}
