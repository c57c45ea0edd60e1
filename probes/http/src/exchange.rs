//! The record of one HTTP exchange: plain data, saved and replayed without a network.
//!
//! Checks judge exchanges, not sockets, so a scan can be replayed from a saved snapshot and a
//! check can be tested on canned exchanges. Failure is data here too: a refused connection, a
//! timeout or a body cut at the size cap is an [`Outcome`] with a stable snake_case
//! [`FailureKind`] for programs and a reason for people, never a panic or a lost exchange.
//!
//! Everything recorded has been through redaction: URLs lose `user:password@`, and the bearer
//! token is replaced by `<redacted>` wherever it shows up, even in a body that echoes it.

use modelspec_probe_support::tagged::{self, Tagged};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The request methods probes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: Method,
    /// The URL asked for, without credentials.
    pub url: String,
    /// The `Accept` header sent, if any.
    pub accept: Option<String>,
    pub outcome: Outcome,
}

/// A response (perhaps with a body cut short), or no response at all. Read without
/// buffering ([`tagged`]): an observation holds one per request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Response(Response),
    Failure(Failure),
}

/// The values of [`Outcome`]'s tag.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Response,
    Failure,
}

impl Tagged for Outcome {
    const TAG: &'static str = "outcome";
    const EXPECTING: &'static str = "an HTTP outcome: an object with `outcome` response or failure";
    type Kind = OutcomeKind;

    fn variant<'de, D: Deserializer<'de>>(kind: OutcomeKind, rest: D) -> Result<Self, D::Error> {
        Ok(match kind {
            OutcomeKind::Response => Outcome::Response(Response::deserialize(rest)?),
            OutcomeKind::Failure => Outcome::Failure(Failure::deserialize(rest)?),
        })
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tagged::deserialize(d)
    }
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub status: u16,
    /// "HTTP/1.1", "HTTP/1.0".
    pub http_version: String,
    /// From sending the request to having the response headers (includes connecting).
    pub latency_ms: f64,
    /// From sending the request to the end of the body, or to where it was cut.
    pub total_ms: f64,
    /// The URL that answered, when same-origin redirects were followed to get there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    /// The headers of interest, names lower-cased; repeated headers joined with ", ". A gzip
    /// body's `content-encoding` and `content-length` are gone (see `DEFAULT_HEADERS`).
    pub headers: BTreeMap<String, String>,
    /// The body, decoded from gzip if it was sent so; lossy when not UTF-8 (then `binary`).
    pub body: String,
    pub binary: bool,
    /// Bytes of (decoded) body read from the server, including any read past the cap.
    pub body_bytes_read: u64,
    /// Whether `body` is only the beginning of what the server sent; `body_cut` says why.
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_cut: Option<Failure>,
    /// A redirect that was not followed (another host, port or scheme, or too many hops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_not_followed: Option<RedirectNotFollowed>,
}

/// A 3xx the client stopped at instead of following.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedirectNotFollowed {
    /// The Location header, without credentials.
    pub location: String,
    /// `redirect_off_host` or `too_many_redirects`, and what to do about it.
    pub why: Failure,
}

/// Why there is no response, or why a response is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// What happened, where (the URL) and what to do.
    pub reason: String,
}

/// Stable names for what went wrong; checks match on these, never on reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Nothing listens on the port.
    ConnectionRefused,
    /// The TCP connect got no answer in time (filtered port, unreachable host).
    ConnectTimeout,
    /// Connected, but the response (headers or body) did not arrive by the deadline.
    Timeout,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (not TLS, untrusted certificate, wrong name).
    Tls,
    /// The body was larger than the cap.
    TooLarge,
    /// A redirect to another host, port or scheme, not followed.
    RedirectOffHost,
    /// More redirects than the client follows.
    TooManyRedirects,
    /// The URL or path was refused before anything was sent.
    InvalidUrl,
    /// The server closed the connection before a complete response.
    ConnectionClosed,
    /// The server's bytes are not valid HTTP, or its body could not be decoded.
    Protocol,
    /// Another input/output error on the connection.
    Io,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::ConnectionRefused => "connection_refused",
            FailureKind::ConnectTimeout => "connect_timeout",
            FailureKind::Timeout => "timeout",
            FailureKind::Dns => "dns",
            FailureKind::Tls => "tls",
            FailureKind::TooLarge => "too_large",
            FailureKind::RedirectOffHost => "redirect_off_host",
            FailureKind::TooManyRedirects => "too_many_redirects",
            FailureKind::InvalidUrl => "invalid_url",
            FailureKind::ConnectionClosed => "connection_closed",
            FailureKind::Protocol => "protocol",
            FailureKind::Io => "io",
            FailureKind::Other => "other",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.reason)
    }
}

impl Exchange {
    /// The response, when the server answered.
    pub fn response(&self) -> Option<&Response> {
        match &self.outcome {
            Outcome::Response(response) => Some(response),
            Outcome::Failure(_) => None,
        }
    }

    /// The failure, when it did not.
    pub fn failure(&self) -> Option<&Failure> {
        match &self.outcome {
            Outcome::Response(_) => None,
            Outcome::Failure(failure) => Some(failure),
        }
    }

    /// Replaces every occurrence of `secret` in every recorded string.
    pub(crate) fn redact(&mut self, secret: &str) {
        let scrub = |text: &mut String| {
            if !secret.is_empty() && text.contains(secret) {
                *text = text.replace(secret, crate::token::REDACTED);
            }
        };
        scrub(&mut self.url);
        if let Some(accept) = &mut self.accept {
            scrub(accept);
        }
        match &mut self.outcome {
            Outcome::Failure(failure) => scrub(&mut failure.reason),
            Outcome::Response(response) => {
                if let Some(url) = &mut response.final_url {
                    scrub(url);
                }
                for value in response.headers.values_mut() {
                    scrub(value);
                }
                scrub(&mut response.body);
                if let Some(cut) = &mut response.body_cut {
                    scrub(&mut cut.reason);
                }
                if let Some(redirect) = &mut response.redirect_not_followed {
                    scrub(&mut redirect.location);
                    scrub(&mut redirect.why.reason);
                }
            }
        }
    }
}
