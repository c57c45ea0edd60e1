//! The exporter's HTTP server: hyper, on a small tokio runtime, answering only GET and HEAD of
//! a fixed set of pages. Nothing here takes input: a request with a body is refused, headers
//! are capped, a client has a few seconds to send its request head (a slowloris client is cut
//! off) and a minute for the whole connection, and connections beyond `max_connections` are
//! closed at once, so neither many scrapers nor slow ones can hold memory or delay a scan.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use super::Shared;
use super::web_config::Auth;

/// Time a client has to send a request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a connection is kept, requests and keep-alive together.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// How long a stop waits for the requests being answered.
const DRAIN: Duration = Duration::from_secs(10);
/// Bytes of request head read at most (hyper's smallest allowed buffer is 8 KiB).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The server: what it serves, and how it guards itself.
pub struct Server {
    pub shared: Arc<Shared>,
    pub auth: Option<Arc<Auth>>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub max_connections: usize,
}

impl Server {
    /// Accepts until `stop`, then drains the requests under way (up to [`DRAIN`]).
    pub async fn serve(self, listener: tokio::net::TcpListener, stop: Arc<AtomicBool>) {
        let permits = Arc::new(Semaphore::new(self.max_connections));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = tick.tick() => {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    continue;
                }
            };
            let Ok((stream, _)) = accepted else {
                // Out of descriptors, or a connection reset before it was accepted: go on.
                continue;
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                self.shared.lock().refused();
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (shared, auth, tls) = (self.shared.clone(), self.auth.clone(), self.tls.clone());
            let service = hyper::service::service_fn(move |request| {
                let (shared, auth) = (shared.clone(), auth.clone());
                async move { Ok::<_, Infallible>(answer(&request, &shared, auth.as_deref()).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES);
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let served = async {
                    match tls {
                        Some(acceptor) => {
                            let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                            else {
                                return;
                            };
                            let _ = watcher
                                .watch(builder.serve_connection(TokioIo::new(stream), service))
                                .await;
                        }
                        None => {
                            let _ = watcher
                                .watch(builder.serve_connection(TokioIo::new(stream), service))
                                .await;
                        }
                    }
                };
                let _ = tokio::time::timeout(CONNECTION_LIFETIME, served).await;
                drop(permit);
            });
        }
        drop(listener);
        let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    }
}

/// The answer to one request.
async fn answer(request: &Request<Incoming>, shared: &Shared, auth: Option<&Auth>) -> Response<Full<Bytes>> {
    if let Some(auth) = auth
        && !auth.allows(request.headers()).await
    {
        let mut response = text(StatusCode::UNAUTHORIZED, "authentication required\n");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"modelspec\""),
        );
        return response;
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD: nothing here takes input\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if carries_body(request) {
        let mut response = text(StatusCode::PAYLOAD_TOO_LARGE, "a request body is not accepted\n");
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let state = shared.lock();
    match request.uri().path() {
        "/metrics" => {
            let page = super::metrics_page(&state);
            drop(state);
            page_of(page, "text/plain; version=0.0.4; charset=utf-8")
        }
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => match state.pages() {
            Some(_) => text(StatusCode::OK, "ready: a scan has completed\n"),
            None => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: no scan has completed yet\n",
            ),
        },
        "/report.json" => match state.pages() {
            Some(pages) => {
                drop(state);
                page_of(pages.json.clone(), "application/json")
            }
            None => text(StatusCode::SERVICE_UNAVAILABLE, "no scan has completed yet\n"),
        },
        "/report.html" => match state.pages() {
            Some(pages) => {
                drop(state);
                let mut response = page_of(pages.html.clone(), "text/html; charset=utf-8");
                // The page has inline styles and nothing else to load (see report::html).
                response.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
                );
                response
            }
            None => text(StatusCode::SERVICE_UNAVAILABLE, "no scan has completed yet\n"),
        },
        "/" => page_of(INDEX.as_bytes().to_vec(), "text/html; charset=utf-8"),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: /metrics, /healthz, /readyz, /report.json, /report.html\n",
        ),
    }
}

const INDEX: &str = "<!doctype html><meta charset=utf-8><title>modelspec serve</title>\
<h1>modelspec serve</h1><ul><li><a href=/metrics>/metrics</a><li><a href=/report.html>/report.html</a>\
<li><a href=/report.json>/report.json</a><li><a href=/healthz>/healthz</a><li><a href=/readyz>/readyz</a></ul>\n";

/// Whether the request says it sends a body (a length above zero, or chunks).
fn carries_body(request: &Request<Incoming>) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}

fn page_of(body: Vec<u8>, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = page_of(body.as_bytes().to_vec(), "text/plain; charset=utf-8");
    *response.status_mut() = status;
    response
}
