//! The wire types of `tunebench serve`: TEI's `/predict` request and
//! response shapes, tunebench's `/v1/classify`, and TEI's JSON errors.

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

/// tunebench's own route: the rows of `predict --format jsonl`.
#[derive(Debug, Deserialize)]
pub struct ClassifyRequest {
    pub texts: Vec<String>,
    #[serde(default)]
    pub truncate: Option<bool>,
}

/// One `{label, score}` of TEI's answer.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// The texts of a request, and whether TEI's batch form was used (the
/// answer is then a list per text).
pub fn texts_of(input: PredictInput) -> Result<(Vec<String>, bool), ApiError> {
    let (seqs, batch) = match input {
        PredictInput::Single(s) => (vec![s], false),
        PredictInput::Batch(v) => (v, true),
    };
    if seqs.is_empty() {
        return Err(ApiError::empty("`inputs` cannot be empty"));
    }
    let texts = seqs
        .into_iter()
        .map(|s| match s {
            Sequence::Text(t) | Sequence::One([t]) => Ok(t),
            Sequence::Pair(..) => Err(ApiError::validation(
                "sentence pairs are not supported: tunebench classifiers are trained on single texts (send [[\"text\"], ...] for a batch)",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_texts(&texts)?;
    Ok((texts, batch))
}

/// Refuse empty lists and empty strings, as TEI does.
pub fn check_texts(texts: &[String]) -> Result<(), ApiError> {
    if texts.is_empty() {
        return Err(ApiError::empty("the list of texts cannot be empty"));
    }
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(ApiError::empty(format!("input {i} is an empty string")));
    }
    Ok(())
}

/// Labels with their scores, best first (softmax, or logits when `raw`).
pub fn ranked(labels: &[String], logits: &[f32], raw: bool) -> Vec<LabelScore> {
    let scores = if raw {
        logits.to_vec()
    } else {
        crate::model::probs::softmax(logits)
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
        ApiError::new(r.status(), "Validation", r.body_text())
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

    fn parse(s: &str) -> Result<(Vec<String>, bool), ApiError> {
        texts_of(serde_json::from_str::<PredictRequest>(s).unwrap().inputs)
    }

    #[test]
    fn tei_input_shapes_keep_their_meaning() {
        assert_eq!(
            parse(r#"{"inputs":"hi"}"#).unwrap(),
            (vec!["hi".into()], false)
        );
        assert_eq!(
            parse(r#"{"inputs":[["a"],["b"]]}"#).unwrap(),
            (vec!["a".into(), "b".into()], true)
        );
        assert_eq!(
            parse(r#"{"inputs":["a"]}"#).unwrap(),
            (vec!["a".into()], false)
        );
        // ["a", "b"] is one sentence pair in TEI, not two texts.
        let pair = parse(r#"{"inputs":["a","b"]}"#).unwrap_err();
        assert_eq!(pair.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(pair.message.contains("pairs"));
        assert_eq!(parse(r#"{"inputs":[]}"#).unwrap_err().error_type, "Empty");
        assert_eq!(parse(r#"{"inputs":"  "}"#).unwrap_err().error_type, "Empty");
        assert!(serde_json::from_str::<PredictRequest>(r#"{"inputs":3}"#).is_err());
        // Three strings cannot be a pair: a batch of three texts.
        assert_eq!(
            parse(r#"{"inputs":["a","b","c"]}"#).unwrap(),
            (vec!["a".into(), "b".into(), "c".into()], true)
        );
    }

    #[test]
    fn scores_are_ranked_best_first() {
        let labels = vec!["neg".to_string(), "pos".to_string()];
        let r = ranked(&labels, &[0.5, 2.0], false);
        assert_eq!(r[0].label, "pos");
        assert!((r[0].score + r[1].score - 1.0).abs() < 1e-6);
        let raw = ranked(&labels, &[0.5, 2.0], true);
        assert_eq!((raw[0].score, raw[1].score), (2.0, 0.5));
    }
}
