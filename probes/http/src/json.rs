//! Reading an exchange as a JSON API answer, with the reason when it is not one.
//!
//! Most endpoints a probe asks (`/v1/models`, `/health`, `/v2/models/x/config`) answer JSON,
//! and the ways they fail to are few and worth telling apart: the server said no (status),
//! something in front of it answered (an HTML error page from a proxy or ingress), it answered
//! something else (content type), it broke mid-way (malformed, empty, truncated). Each gets its
//! [`JsonProblemKind`] and a reason that quotes the status and where serde_json stopped.

use crate::exchange::{Exchange, Outcome, Response};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an exchange is not a usable JSON answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonProblem {
    pub kind: JsonProblemKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    pub reason: String,
}

/// Stable names for [`JsonProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonProblemKind {
    /// No response at all; the exchange's failure says why.
    NoResponse,
    /// A 3xx not followed (another host, too many hops).
    RedirectNotFollowed,
    /// A status outside 2xx.
    Status,
    /// An HTML page where JSON was expected.
    HtmlPage,
    /// A content type that is not JSON.
    WrongContentType,
    /// The body was cut (too large, too slow, connection dropped).
    Truncated,
    /// A 2xx with nothing in it.
    EmptyBody,
    /// Not valid JSON.
    Malformed,
}

impl fmt::Display for JsonProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for JsonProblem {}

/// How much of a body a reason quotes.
const QUOTE_BYTES: usize = 200;

impl Exchange {
    /// The body as JSON, when the exchange is a complete 2xx JSON answer.
    pub fn json(&self) -> Result<serde_json::Value, JsonProblem> {
        let url = &self.url;
        let response = match &self.outcome {
            Outcome::Response(response) => response,
            Outcome::Failure(failure) => {
                return Err(JsonProblem {
                    kind: JsonProblemKind::NoResponse,
                    status: None,
                    reason: failure.reason.clone(),
                });
            }
        };
        let problem = |kind: JsonProblemKind, reason: String| JsonProblem {
            kind,
            status: Some(response.status),
            reason,
        };
        let status = status_text(response.status);
        if let Some(redirect) = &response.redirect_not_followed {
            return Err(problem(
                JsonProblemKind::RedirectNotFollowed,
                redirect.why.reason.clone(),
            ));
        }
        let html = looks_like_html(response);
        if !(200..300).contains(&response.status) {
            let said = if html {
                "an HTML error page (from the server or a proxy in front of it)".to_string()
            } else if response.body.trim().is_empty() {
                "no body".to_string()
            } else {
                format!("{:?}", quote(&response.body))
            };
            return Err(problem(
                JsonProblemKind::Status,
                format!("{url} answered {status} with {said}"),
            ));
        }
        if html {
            return Err(problem(
                JsonProblemKind::HtmlPage,
                format!(
                    "{url} answered {status} with an HTML page where JSON was expected; something else (a web UI, a \
                     proxy or login page) may be answering on this port: check --host/--port or --endpoint"
                ),
            ));
        }
        let content_type = response.headers.get("content-type").map(String::as_str);
        if let Some(content_type) = content_type
            && !is_json_type(content_type)
        {
            return Err(problem(
                JsonProblemKind::WrongContentType,
                format!(
                    "{url} answered with content type {content_type:?} where JSON was expected: {:?}",
                    quote(&response.body)
                ),
            ));
        }
        if let Some(cut) = &response.body_cut {
            return Err(problem(
                JsonProblemKind::Truncated,
                format!("the JSON body is incomplete ({}): {}", cut.kind, cut.reason),
            ));
        }
        if response.body.trim().is_empty() {
            return Err(problem(
                JsonProblemKind::EmptyBody,
                format!("{url} answered {status} with an empty body where JSON was expected"),
            ));
        }
        serde_json::from_str(&response.body).map_err(|error| {
            problem(
                JsonProblemKind::Malformed,
                format!(
                    "the body from {url} is not valid JSON: {} at line {} column {}; it begins {:?}",
                    describe(&error),
                    error.line(),
                    error.column(),
                    quote(&response.body)
                ),
            )
        })
    }
}

fn looks_like_html(response: &Response) -> bool {
    let typed_html = response
        .headers
        .get("content-type")
        .is_some_and(|value| value.to_ascii_lowercase().contains("text/html"));
    typed_html
        || response
            .body
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('<')
}

/// `application/json`, `application/problem+json`, `text/json`, with any parameters.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

/// serde_json's message without its own " at line L column C" tail, which is given once.
fn describe(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}

fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
    {
        Some(reason) => format!("HTTP {status} {reason}"),
        None => format!("HTTP {status}"),
    }
}

fn quote(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.len() <= QUOTE_BYTES {
        return trimmed.to_string();
    }
    let mut end = QUOTE_BYTES;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &trimmed[..end])
}
