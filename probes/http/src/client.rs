//! The client: one target, bounded requests, recorded exchanges.
//!
//! A probe talks to servers that may be hung, overloaded, half-started or hostile, from a
//! scan that must finish. So every request is bounded three ways: the TCP connect
//! ([`ClientOptions::connect_timeout`]), the whole request including its body (the request's
//! own timeout), and the caller's absolute deadline, which caps the other two. The body is read
//! by hand, never more than its cap plus one chunk, and a body cut short (too large, too slow,
//! connection dropped) still yields the response with what arrived and why it stopped.
//!
//! Decisions, each for a reason:
//! - Redirects are followed only within the target's origin (same scheme, host and port), at
//!   most [`ClientOptions::max_redirects`] hops. An http->https upgrade is another origin and is
//!   not followed: the token would travel to a port we were not told about, and a probe should
//!   report that the endpoint moved rather than silently check a different one. A redirect not
//!   followed is recorded as the 3xx response with its Location and a
//!   [`RedirectNotFollowed`].
//! - A body larger than the cap, or cut short for any other reason, keeps only its first
//!   [`CUT_BODY_KEPT_BYTES`] (`truncated: true`, `body_cut` says why): the beginning of an
//!   oversized /metrics page still shows what the server is, and the rest is not data anyone
//!   can judge. Keeping all of it (up to 64 MiB a page) was a memory blow-up: every copy of the
//!   observation (its JSON, its hash, the report) multiplied it, by six for a body of NULs
//!   escaped as `\u0000`, and the scan overran its deadline by tens of seconds serializing it.
//! - Connections are not pooled: each exchange connects afresh, so its latency includes the
//!   connect and a stale keep-alive connection can never be blamed on the server.
//! - Environment proxies (`HTTP_PROXY`...) are ignored: a probe on the node must reach the node.

use crate::classify::{self, Context};
use crate::exchange::{Exchange, Failure, FailureKind, Method, Outcome, RedirectNotFollowed, Response};
use crate::target::{Target, mask_userinfo, same_origin, sanitize_url};
use crate::token::Token;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::{StatusCode, Url, Version};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The body size cap unless a request says otherwise.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Response headers always recorded (lower-case).
///
/// When a body arrives gzip-encoded, the decoder (reqwest's) removes `content-encoding` and
/// `content-length` before they can be recorded: both describe the wire, and the recorded body
/// and `body_bytes_read` are the decoded ones.
pub const DEFAULT_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "server",
    "location",
    "retry-after",
    "www-authenticate",
    "x-request-id",
];

/// A header value longer than this is cut: a hostile server could send one the size of hyper's
/// whole header buffer into every snapshot.
const MAX_HEADER_VALUE_BYTES: usize = 4096;

/// A CA file larger than this is not a PEM bundle.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// How much of a body that was cut short is kept, as evidence of what the server sent.
pub const CUT_BODY_KEPT_BYTES: usize = 16 * 1024;

/// How much body is read at a time; also how far past the cap a read can go.
const READ_CHUNK: usize = 16 * 1024;

/// How the client behaves, for all its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time allowed to establish the TCP connection (and no more than the request's own).
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included, unless the request sets its own.
    pub request_timeout: Duration,
    /// Body size cap unless the request sets its own.
    pub max_body_bytes: usize,
    /// Same-origin redirects followed before stopping.
    pub max_redirects: usize,
    /// Sent as `Authorization: Bearer` to the target's origin only.
    pub token: Option<Token>,
    /// A PEM file of extra CA certificates trusted for https, besides the platform's roots.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification for https. Only ever true when the user asked for it.
    pub insecure: bool,
    /// More response headers to record, besides [`DEFAULT_HEADERS`].
    pub extra_headers: Vec<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_redirects: 5,
            token: None,
            ca_file: None,
            insecure: false,
            extra_headers: Vec::new(),
        }
    }
}

/// One request to make against the client's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// An absolute path under the target, optionally with a query: `/v1/models`.
    pub path: String,
    pub accept: Option<String>,
    pub body: Option<RequestBody>,
    /// Overrides [`ClientOptions::request_timeout`].
    pub timeout: Option<Duration>,
    /// Overrides [`ClientOptions::max_body_bytes`] (metrics pages can be large).
    pub max_body_bytes: Option<usize>,
    /// More request headers, sent as given and never recorded (a cloud metadata service's
    /// `Metadata-Flavor: Google`, or its session token): name and value.
    pub headers: Vec<(String, String)>,
}

/// A request body, sent as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBody {
    pub content_type: String,
    pub text: String,
}

impl Request {
    fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            accept: None,
            body: None,
            timeout: None,
            max_body_bytes: None,
            headers: Vec::new(),
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Request {
        Request::new(Method::Get, path)
    }

    /// `PUT path`, without a body.
    pub fn put(path: impl Into<String>) -> Request {
        Request::new(Method::Put, path)
    }

    /// `HEAD path`.
    pub fn head(path: impl Into<String>) -> Request {
        Request::new(Method::Head, path)
    }

    /// `POST path` with a JSON body, accepting JSON.
    pub fn post_json(path: impl Into<String>, json: impl Into<String>) -> Request {
        let mut request = Request::new(Method::Post, path).accept("application/json");
        request.body = Some(RequestBody {
            content_type: "application/json".to_string(),
            text: json.into(),
        });
        request
    }

    /// Adds a request header (marked sensitive, so it is never logged).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the `Accept` header.
    pub fn accept(mut self, accept: impl Into<String>) -> Request {
        self.accept = Some(accept.into());
        self
    }

    /// Sets this request's own timeout (still capped by the overall deadline).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// Sets this request's own body size cap.
    pub fn max_body_bytes(mut self, max: usize) -> Request {
        self.max_body_bytes = Some(max);
        self
    }
}

/// Why a client could not be built: says what, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    reason: String,
}

impl ClientError {
    /// The human explanation.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ClientError {}

/// An HTTP client bound to one target.
///
/// Binding the client to its target is what keeps the token at home: requests are paths, the
/// URL is always the target's, and redirects leave the origin only by being reported.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::blocking::Client,
    target: Target,
    options: ClientOptions,
    headers_of_interest: Vec<String>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `options` holds the token, whose Debug is redacted; reqwest's client has no secrets.
        f.debug_struct("HttpClient")
            .field("target", &self.target.to_string())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `target`. Fails only on a bad `ca_file` or a TLS setup error.
    pub fn new(target: Target, options: ClientOptions) -> Result<HttpClient, ClientError> {
        let max_redirects = options.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let previous = attempt.previous();
            let off_origin = previous.first().is_some_and(|first| !same_origin(first, attempt.url()));
            if off_origin || previous.len() > max_redirects {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(concat!("modelspec-probe-http/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.connect_timeout)
            // Per request instead; this one would apply to every body read.
            .timeout(None)
            .redirect(policy)
            .referer(false)
            .no_proxy()
            .pool_max_idle_per_host(0)
            .gzip(true);
        if let Some(path) = &options.ca_file {
            builder = builder.tls_certs_merge(read_ca_file(path)?);
        }
        if options.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let inner = builder.build().map_err(|error| ClientError {
            reason: format!(
                "cannot set up the HTTP client for {target}: {}; check --ca-file",
                chain_text(&error)
            ),
        })?;
        let mut headers_of_interest: Vec<String> = DEFAULT_HEADERS.iter().map(|name| name.to_string()).collect();
        for name in &options.extra_headers {
            let lowered = name.trim().to_ascii_lowercase();
            if !lowered.is_empty() && !headers_of_interest.contains(&lowered) {
                headers_of_interest.push(lowered);
            }
        }
        Ok(HttpClient {
            inner,
            target,
            options,
            headers_of_interest,
        })
    }

    /// The target every request goes to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The options the client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Makes `request` and records it; returns by `deadline` (plus scheduling noise) whatever
    /// the server does. Never panics, never returns an error: failures are in the exchange.
    pub fn fetch(&self, request: &Request, deadline: Instant) -> Exchange {
        let mut exchange = self.fetch_unredacted(request, deadline);
        if let Some(token) = &self.options.token {
            exchange.redact(token.expose());
        }
        exchange
    }

    fn fetch_unredacted(&self, request: &Request, deadline: Instant) -> Exchange {
        let failed = |url: String, kind: FailureKind, reason: String| Exchange {
            method: request.method,
            url,
            accept: request.accept.clone(),
            outcome: Outcome::Failure(Failure { kind, reason }),
        };
        let url = match self.target.url(&request.path) {
            Ok(url) => url,
            Err(error) => {
                let shown = mask_userinfo(&format!("{}{}", self.target, request.path));
                return failed(shown, FailureKind::InvalidUrl, error.reason().to_string());
            }
        };
        let shown_url = sanitize_url(&url);

        let now = Instant::now();
        let own_timeout = request.timeout.unwrap_or(self.options.request_timeout);
        let own_end = now.checked_add(own_timeout).unwrap_or(deadline);
        let capped_by_deadline = deadline < own_end;
        let end = own_end.min(deadline);
        let budget = end.saturating_duration_since(now);
        let authority = format!("{}:{}", self.target.host(), self.target.port());
        let context = Context {
            url: &shown_url,
            authority: &authority,
            connect_timeout: self.options.connect_timeout,
            budget,
            capped_by_deadline,
        };
        if budget.is_zero() {
            let reason = format!(
                "not sent to {shown_url}: the scan's overall deadline had passed before this request could start \
                 (the requests before it took the time: a slow or hung server answers each one late); allow the \
                 scan more time or make fewer requests"
            );
            return failed(shown_url, FailureKind::Timeout, reason);
        }

        let mut builder = self
            .inner
            .request(reqwest_method(request.method), url.clone())
            .timeout(budget);
        if let Some(accept) = &request.accept {
            match HeaderValue::from_str(accept) {
                Ok(value) => builder = builder.header(ACCEPT, value),
                Err(_) => {
                    let reason = format!(
                        "the Accept header {accept:?} for {shown_url} is not a valid header value; fix the caller"
                    );
                    return failed(shown_url, FailureKind::InvalidUrl, reason);
                }
            }
        }
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes());
            match (name, HeaderValue::from_str(value)) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    builder = builder.header(name, value);
                }
                _ => {
                    let reason = format!("a request header for {shown_url} is not a valid header; fix the caller");
                    return failed(shown_url, FailureKind::InvalidUrl, reason);
                }
            }
        }
        if let Some(token) = &self.options.token
            && self.target.same_origin(&url)
        {
            match HeaderValue::from_bytes(format!("Bearer {}", token.expose()).as_bytes()) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    builder = builder.header(AUTHORIZATION, value);
                }
                Err(_) => {
                    let reason = format!(
                        "the token cannot be sent in an Authorization header to {shown_url} (it holds a byte \
                         headers do not allow); check MODELSPEC_TOKEN or --token-file"
                    );
                    return failed(shown_url, FailureKind::Other, reason);
                }
            }
        }
        if let Some(body) = &request.body {
            match HeaderValue::from_str(&body.content_type) {
                Ok(value) => builder = builder.header(CONTENT_TYPE, value).body(body.text.clone()),
                Err(_) => {
                    let reason = format!("the request content type for {shown_url} is not a valid header value");
                    return failed(shown_url, FailureKind::InvalidUrl, reason);
                }
            }
        }

        let started = Instant::now();
        let mut response = match builder.send() {
            Ok(response) => response,
            Err(error) => {
                let failure = classify::request_failure(&error, &context);
                return failed(shown_url, failure.kind, failure.reason);
            }
        };
        let latency = started.elapsed();

        let status = response.status();
        let answered_url = response.url().clone();
        let final_url = (answered_url != url).then(|| sanitize_url(&answered_url));
        let headers = self.record_headers(response.headers());
        let redirect_not_followed = redirect_not_followed(status, response.headers(), &answered_url, &self.options);

        let cap = request.max_body_bytes.unwrap_or(self.options.max_body_bytes);
        let mut body = read_body(&mut response, cap, end, &context);
        if body.cut.is_some() && body.kept.len() > CUT_BODY_KEPT_BYTES {
            body.kept.truncate(CUT_BODY_KEPT_BYTES);
            // Gives the cap's worth back now, not when the whole scan ends.
            body.kept.shrink_to_fit();
        }
        let total = started.elapsed();
        let (text, binary) = body_text(body.kept, body.cut.is_some());

        Exchange {
            method: request.method,
            url: shown_url,
            accept: request.accept.clone(),
            outcome: Outcome::Response(Response {
                status: status.as_u16(),
                http_version: version_text(response.version()).to_string(),
                latency_ms: millis(latency),
                total_ms: millis(total),
                final_url,
                headers,
                body: text,
                binary,
                body_bytes_read: body.read,
                truncated: body.cut.is_some(),
                body_cut: body.cut,
                redirect_not_followed,
            }),
        }
    }

    fn record_headers(&self, headers: &HeaderMap) -> BTreeMap<String, String> {
        let mut recorded = BTreeMap::new();
        for name in &self.headers_of_interest {
            let values: Vec<String> = headers
                .get_all(name.as_str())
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect();
            if values.is_empty() {
                continue;
            }
            let mut joined = values.join(", ");
            if name == "location" {
                joined = mask_userinfo(&joined);
            }
            recorded.insert(name.clone(), bounded(joined, MAX_HEADER_VALUE_BYTES));
        }
        recorded
    }
}

/// The body as read: what was kept, how much was read, and why reading stopped early.
struct Body {
    kept: Vec<u8>,
    read: u64,
    cut: Option<Failure>,
}

fn read_body(response: &mut reqwest::blocking::Response, cap: usize, end: Instant, context: &Context<'_>) -> Body {
    // Sized from what has been read, never from a Content-Length the server may lie about.
    let mut kept = Vec::new();
    let mut read: u64 = 0;
    let mut chunk = vec![0u8; READ_CHUNK];
    let cut = loop {
        if Instant::now() >= end {
            break Some(Failure {
                kind: FailureKind::Timeout,
                reason: classify::timeout_reason(classify::Phase::Body(read), context),
            });
        }
        match response.read(&mut chunk) {
            Ok(0) => break None,
            Ok(count) => {
                read = read.saturating_add(count as u64);
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..count.min(room)]);
                if count > room {
                    break Some(Failure {
                        kind: FailureKind::TooLarge,
                        reason: format!(
                            "the body from {} is larger than the cap of {cap} bytes; the rest was not read, and only \
                             the first {} bytes are kept as evidence; raise the cap for this request if such a body \
                             is expected",
                            context.url,
                            cap.min(CUT_BODY_KEPT_BYTES)
                        ),
                    });
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => break Some(classify::body_failure(&error, context, read)),
        }
    };
    Body { kept, read, cut }
}

/// UTF-8 text, or lossy text flagged binary. A body cut in the middle of a character is still
/// text: only the incomplete last character is dropped.
fn body_text(bytes: Vec<u8>, cut: bool) -> (String, bool) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(error) => {
            let utf8 = error.utf8_error();
            if cut && utf8.error_len().is_none() {
                let mut bytes = error.into_bytes();
                bytes.truncate(utf8.valid_up_to());
                (String::from_utf8_lossy(&bytes).into_owned(), false)
            } else {
                (String::from_utf8_lossy(error.as_bytes()).into_owned(), true)
            }
        }
    }
}

fn redirect_not_followed(
    status: StatusCode,
    headers: &HeaderMap,
    answered_url: &Url,
    options: &ClientOptions,
) -> Option<RedirectNotFollowed> {
    let followable = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
    let location = headers.get(LOCATION)?;
    if !followable {
        return None;
    }
    let raw = String::from_utf8_lossy(location.as_bytes()).into_owned();
    let shown = bounded(mask_userinfo(&raw), MAX_HEADER_VALUE_BYTES);
    let from = sanitize_url(answered_url);
    let why = match answered_url.join(&raw) {
        Ok(next) if !same_origin(answered_url, &next) => Failure {
            kind: FailureKind::RedirectOffHost,
            reason: format!(
                "{from} answered {status} redirecting to {}, another host, port or scheme; not followed, so neither \
                 the request nor the token went there: if that is the real server, point --endpoint at it",
                sanitize_url(&next)
            ),
        },
        Ok(_) => Failure {
            kind: FailureKind::TooManyRedirects,
            reason: format!(
                "{from} answered {status} after {} redirects were followed; stopped there: the server may be \
                 redirecting in a loop, check its configuration",
                options.max_redirects
            ),
        },
        Err(error) => Failure {
            kind: FailureKind::Protocol,
            reason: format!("{from} answered {status} with an unusable Location {shown:?} ({error}); not followed"),
        },
    };
    Some(RedirectNotFollowed { location: shown, why })
}

fn read_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let shown = path.display();
    let file = modelspec_probe_support::open_regular_file(path).map_err(|error| ClientError {
        reason: format!("cannot read the CA file {shown}: {error}; check the --ca-file path"),
    })?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|error| ClientError {
            reason: format!("cannot read the CA file {shown}: {error}"),
        })?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(ClientError {
            reason: format!("the CA file {shown} is larger than {MAX_CA_FILE_BYTES} bytes; it must be a PEM bundle"),
        });
    }
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| ClientError {
        reason: format!(
            "the CA file {shown} is not a PEM certificate bundle ({}); --ca-file takes PEM \
             (-----BEGIN CERTIFICATE-----)",
            chain_text(&error)
        ),
    })?;
    if certificates.is_empty() {
        return Err(ClientError {
            reason: format!(
                "the CA file {shown} holds no PEM certificate; --ca-file takes PEM (-----BEGIN CERTIFICATE-----)"
            ),
        });
    }
    Ok(certificates)
}

/// An error and its sources, for setup errors that carry no URL.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(inner) = source
        && parts.len() < 8
    {
        parts.push(inner.to_string());
        source = inner.source();
    }
    parts.join(": ")
}

fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
    }
}

fn version_text(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

/// Milliseconds with microsecond precision: loopback answers in well under one.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}
