//! How a metrics page is asked for and read, wherever it is scraped: the endpoint round, the
//! `--window` measurement and `modelspec metrics` send the same Accept header and apply the
//! same size cap, and a response becomes an [`Answer`] (with the HTTP layer's word on its body)
//! the one way, for [`crate::runtime::document`] to judge.
//!
//! Its own module so that [`super::endpoint`] and [`super::window`] both depend on it instead
//! of on each other (the endpoint probe runs the window; the window needs these constants).

use crate::runtime::Answer;

/// The Accept header of a metrics scrape: OpenMetrics first, as Prometheus asks, then the
/// classic text format.
pub const METRICS_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.8,*/*;q=0.1";

/// Size cap on a metrics page: a busy engine with many LoRA adapters exposes megabytes.
pub const METRICS_MAX_BYTES: usize = 64 << 20;

/// Why a response's body is not the document it claims to be, in the HTTP layer's words.
pub fn reply_problem(r: &modelspec_probe_http::Response) -> Option<&str> {
    if let Some(cut) = &r.body_cut {
        return Some(&cut.reason);
    }
    if let Some(redirect) = &r.redirect_not_followed {
        return Some(&redirect.why.reason);
    }
    // Replaced bytes would read as valid text: a JSON document with a U+FFFD where the server
    // sent garbage would pass as the server's answer.
    r.binary
        .then_some("the body is not valid UTF-8, so it is neither JSON nor Prometheus text; the server sent bytes of another encoding or binary data")
}

/// A response as the engines' readers see it, with the HTTP layer's word on its body.
pub fn answer(r: &modelspec_probe_http::Response) -> Answer<'_> {
    Answer::Reply {
        status: r.status,
        content_type: r.headers.get("content-type").map(String::as_str),
        server: None,
        body: &r.body,
        truncated: r.truncated,
        problem: reply_problem(r),
        latency_ms: None,
    }
}
