//! The serving endpoint as observed: for each port a spec serves on, the engine's recorded
//! answers, and for gRPC ports whether the port speaks HTTP/2.
//!
//! The HTTP requests go through `modelspec-probe-http` (deadlines, size caps, no redirect off
//! the host, a token that never prints). The gRPC check is a raw TCP exchange: gRPC runs over
//! HTTP/2, whose server must answer the client's connection preface with a SETTINGS frame, so a
//! few bytes tell an HTTP/2 server from anything else without a gRPC stack.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use modelspec_probe_http::{ClientOptions, Exchange, FailureKind, HttpClient, Request, Target, fetch_all};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::scrape::{METRICS_ACCEPT, METRICS_MAX_BYTES, reply_problem};
use crate::runtime::{self, Answer, Answers};
use modelspec_probe_host::HostSnapshot;
pub use modelspec_probe_host::Reach;

/// What to ask each serving endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointPlan {
    /// The host to connect to (`--host`, default 127.0.0.1).
    pub host: Option<String>,
    /// One entry per serving port.
    pub targets: Vec<TargetPlan>,
    /// Token, CA file and TLS verification, shared by every target.
    pub client: ClientOptions,
    /// Measure the metrics page over a window (`--window`).
    pub window: Option<super::window::WindowPlan>,
    /// Scrape this URL for metrics instead of the engine's own endpoint (`--metrics-url`).
    pub metrics_url: Option<String>,
}

/// One serving port to ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPlan {
    pub port: u16,
    /// A base URL that replaces `http://host:port` (`--endpoint`).
    pub endpoint: Option<String>,
    /// Paths beyond the engines' introspection endpoints: the spec's probes, Triton's model
    /// configuration.
    pub extra_paths: Vec<String>,
    /// Check the port for HTTP/2 (a gRPC spec).
    pub grpc: bool,
    /// A local model folder to read `config.json` from, when the engine does not name one.
    pub model_dir: Option<String>,
    /// The workload this target asks (its host pid), when the host probe found one.
    pub pid: Option<u32>,
    /// Where the workload answers and how it is reached, from the host probe; `None` asks
    /// `--host` (or 127.0.0.1) on the port.
    pub reach: Option<Reach>,
    /// The workload's own root filesystem (`/proc/PID/root`) for reading its model folder, when
    /// it runs in a container.
    pub fs_root: Option<String>,
}

/// Everything the endpoint probe saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSnapshot {
    pub targets: Vec<EndpointTarget>,
    /// The page of `--metrics-url`, which replaces the engine's own metrics endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_override: Option<Exchange>,
}

/// One serving port's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointTarget {
    pub port: u16,
    /// The workload asked (its host pid), when the host probe found one on this port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// How it was reached: at its namespace's address, through a forwarded host port, or from
    /// inside its namespace; absent for `--host`/`--endpoint` or 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The base URL asked (credentials never included).
    pub base_url: String,
    /// Why nothing was asked, when the target was refused (a bad `--endpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every request and what came of it.
    pub exchanges: Vec<Exchange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2: Option<Http2Check>,
    /// The fields of the model folder's `config.json` that engines leave to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config: Option<Json>,
    /// The metrics page measured over a window, when asked (`--window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<super::window::MetricsWindow>,
    /// The answers parsed so far (not part of the observation).
    #[serde(skip)]
    pub parsed: crate::runtime::ParsedAnswers,
}

/// `config.json` fields worth keeping (the rest is architecture detail).
const MODEL_CONFIG_FIELDS: &[&str] = &[
    "torch_dtype",
    "dtype",
    "max_position_embeddings",
    "quantization_config",
    "architectures",
];

/// Size cap on `config.json`.
const MODEL_CONFIG_MAX_BYTES: u64 = 1 << 20;

impl EndpointPlan {
    /// The plan with each port's target asked once per workload the host probe found serving
    /// it, at the address it answers on; a port with no workload found is asked as planned.
    /// `--endpoint` replaces the address, so such a plan is kept as it is.
    pub fn per_workload(&self, host: &HostSnapshot) -> EndpointPlan {
        let mut targets = Vec::new();
        for t in &self.targets {
            let candidates = match host.servers.iter().find(|s| s.port == Some(t.port)) {
                Some(server) if t.endpoint.is_none() => server.candidates(),
                _ => &[],
            };
            if candidates.is_empty() {
                targets.push(t.clone());
            }
            for c in candidates {
                let contained = c.workload.as_ref().is_some_and(|w| !w.is_host());
                targets.push(TargetPlan {
                    pid: Some(c.pid()),
                    reach: c.network.as_ref().map(|n| n.reach.clone()),
                    fs_root: contained.then(|| format!("/proc/{}/root", c.pid())),
                    ..t.clone()
                });
            }
        }
        EndpointPlan {
            targets,
            ..self.clone()
        }
    }
}

/// Asks every target its engines' endpoints, concurrently, by `deadline`.
pub fn probe(plan: &EndpointPlan, deadline: Instant) -> EndpointSnapshot {
    let targets = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .targets
            .iter()
            .map(|t| scope.spawn(move || probe_target(plan, t, deadline)))
            .collect();
        handles
            .into_iter()
            .zip(&plan.targets)
            .map(|(h, t)| {
                h.join().unwrap_or_else(|_| EndpointTarget {
                    port: t.port,
                    pid: t.pid,
                    via: None,
                    base_url: String::new(),
                    error: Some("internal error: the endpoint probe of this port stopped".into()),
                    exchanges: Vec::new(),
                    http2: None,
                    model_config: None,
                    window: None,
                    parsed: Default::default(),
                })
            })
            .collect()
    });
    let metrics_override = plan.metrics_url.as_deref().map(|url| scrape_url(plan, url, deadline));
    EndpointSnapshot {
        targets,
        metrics_override,
    }
}

/// One scrape of an explicit metrics URL; a refused URL is recorded as a failed exchange.
fn scrape_url(plan: &EndpointPlan, url: &str, deadline: Instant) -> Exchange {
    let refused = |reason: String| Exchange {
        method: modelspec_probe_http::Method::Get,
        // The URL was refused, perhaps for credentials in it: it is not recorded.
        url: "(the --metrics-url given)".into(),
        accept: None,
        outcome: modelspec_probe_http::Outcome::Failure(modelspec_probe_http::Failure {
            kind: FailureKind::InvalidUrl,
            reason,
        }),
    };
    let (target, path) = match Target::split_url(url) {
        Ok(split) => split,
        Err(e) => return refused(e.reason().to_string()),
    };
    match HttpClient::new(target, plan.client.clone()) {
        Ok(client) => client.fetch(
            &Request::get(path)
                .accept(METRICS_ACCEPT)
                .max_body_bytes(METRICS_MAX_BYTES),
            deadline,
        ),
        Err(e) => refused(e.reason().to_string()),
    }
}

fn probe_target(plan: &EndpointPlan, t: &TargetPlan, deadline: Instant) -> EndpointTarget {
    let mut out = EndpointTarget {
        port: t.port,
        pid: t.pid,
        via: None,
        base_url: String::new(),
        error: None,
        exchanges: Vec::new(),
        http2: None,
        model_config: None,
        window: None,
        parsed: Default::default(),
    };
    // `--endpoint` wins; else the address the host probe found the workload at.
    let (address, inside) = match (&t.endpoint, &t.reach) {
        (Some(_), _) | (None, None) => (None, None),
        (None, Some(Reach::Here { address })) => {
            out.via = Some(format!("{address} from the scanner's network namespace"));
            // `--host` names where the scanner's own namespace's servers answer.
            (plan.host.is_none().then(|| address.clone()), None)
        }
        (None, Some(Reach::NamespaceAddress { address })) => {
            out.via = Some(format!("{address}, the address of the workload's network namespace"));
            (Some(address.clone()), None)
        }
        (None, Some(Reach::InsideNamespace { pid, address })) => {
            out.via = Some(format!("{address} inside the network namespace of pid {pid} (setns)"));
            (Some(address.clone()), Some(*pid))
        }
        (None, Some(Reach::Unreachable { reason })) => {
            out.error = Some(reason.clone());
            return out;
        }
    };
    match inside {
        // Sockets belong to the namespace of the thread that opens them, and to that of the
        // threads it starts: the whole exchange runs on a thread moved into the workload's.
        Some(pid) => std::thread::scope(|scope| {
            let joined = scope
                .spawn(|| match modelspec_probe_host::enter_network_namespace(pid) {
                    Ok(()) => ask(plan, t, address.as_deref(), deadline, out.clone()),
                    Err(reason) => {
                        let mut failed = out.clone();
                        failed.error = Some(reason);
                        failed
                    }
                })
                .join();
            joined.unwrap_or_else(|_| {
                let mut failed = out.clone();
                failed.error = Some("internal error: the endpoint probe of this workload stopped".into());
                failed
            })
        }),
        None => ask(plan, t, address.as_deref(), deadline, out),
    }
}

/// Asks one target, at `address` (`ip:port`) when given.
fn ask(
    plan: &EndpointPlan,
    t: &TargetPlan,
    address: Option<&str>,
    deadline: Instant,
    mut out: EndpointTarget,
) -> EndpointTarget {
    let url = address.map(|a| format!("http://{a}"));
    let endpoint = t.endpoint.as_deref().or(url.as_deref());
    let host = plan.host.as_deref();
    let target = match Target::from_args(host, t.port, endpoint) {
        Ok(target) => target,
        Err(e) => {
            out.error = Some(e.reason().to_string());
            return out;
        }
    };
    out.base_url = target.to_string();
    let client = match HttpClient::new(target, plan.client.clone()) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e.reason().to_string());
            return out;
        }
    };
    let mut paths: Vec<String> = runtime::all_endpoints().into_iter().map(String::from).collect();
    paths.extend(t.extra_paths.iter().cloned());
    paths.sort();
    paths.dedup();
    let requests: Vec<Request> = paths
        .iter()
        .map(|p| {
            if runtime::METRICS_PATHS.contains(&p.as_str()) {
                // Both text formats (OpenMetrics first, as Prometheus asks), and a bigger cap:
                // a busy engine with many LoRA adapters exposes megabytes.
                Request::get(p.clone())
                    .accept(METRICS_ACCEPT)
                    .max_body_bytes(METRICS_MAX_BYTES)
            } else {
                Request::get(p.clone()).accept("application/json, */*;q=0.5")
            }
        })
        .collect();
    let round_started = Instant::now();
    out.exchanges = fetch_all(&client, &requests, deadline);
    for e in &out.exchanges {
        trace_exchange(e);
    }
    if let Some(window) = &plan.window
        && let Some(path) = metrics_page(&out)
    {
        out.window = Some(super::window::measure(&client, path, round_started, window, deadline));
    }
    if t.grpc {
        let (grpc_host, grpc_port) = match address.and_then(|a| a.rsplit_once(':')) {
            Some((ip, port)) => (
                ip.trim_start_matches('[').trim_end_matches(']'),
                port.parse().unwrap_or(t.port),
            ),
            None => (host.unwrap_or(modelspec_probe_http::DEFAULT_HOST), t.port),
        };
        out.http2 = Some(http2_check(grpc_host, grpc_port, deadline));
    }
    let served_root = served_model_root(&out);
    out.model_config = served_root.as_deref().or(t.model_dir.as_deref()).and_then(|dir| {
        // A container's paths are in its own filesystem, seen from here under /proc/PID/root.
        let dir = match &t.fs_root {
            Some(root) => Path::new(root).join(dir.trim_start_matches('/')),
            None => Path::new(dir).to_path_buf(),
        };
        read_model_config(&dir)
    });
    out
}

/// The first metrics path that answered Prometheus text in the endpoint round.
fn metrics_page(target: &EndpointTarget) -> Option<&'static str> {
    runtime::METRICS_PATHS.iter().copied().find(|path| {
        matches!(target.get(path), Some(Answer::Reply { status: 200..=299, content_type, .. })
            if content_type.is_none_or(|c| c.starts_with("text/plain") || c.starts_with("application/openmetrics-text")))
    })
}

/// The model folder an engine names, when it is a local path.
fn served_model_root(target: &EndpointTarget) -> Option<String> {
    // Not through the memo: the target is still being probed, and a document not asked yet
    // must not be remembered as missing.
    let doc = runtime::json_of_reply(
        target.get(crate::runtime::openai::MODELS),
        crate::runtime::openai::MODELS,
    )
    .ok()?;
    let root = doc
        .get("data")?
        .as_array()?
        .iter()
        .find_map(|m| m.get("root")?.as_str())?;
    root.starts_with('/').then(|| root.to_string())
}

/// The interesting fields of `dir/config.json`, when it is there, small and JSON.
fn read_model_config(dir: &Path) -> Option<Json> {
    let path = dir.join("config.json");
    let file = modelspec_probe_support::open_regular_file(&path).ok()?;
    let mut text = String::new();
    file.take(MODEL_CONFIG_MAX_BYTES).read_to_string(&mut text).ok()?;
    let doc: Json = serde_json::from_str(&text).ok()?;
    let kept: serde_json::Map<String, Json> = MODEL_CONFIG_FIELDS
        .iter()
        .filter_map(|f| Some((f.to_string(), doc.get(*f)?.clone())))
        .collect();
    Some(Json::Object(kept))
}

impl EndpointTarget {
    /// The path an exchange asked for (URL minus the base).
    fn path_of<'a>(&self, exchange: &'a Exchange) -> &'a str {
        exchange
            .url
            .strip_prefix(self.base_url.trim_end_matches('/'))
            .unwrap_or(&exchange.url)
    }
}

impl Answers for EndpointTarget {
    fn json(&self, path: &str) -> Result<crate::runtime::Doc, String> {
        self.parsed
            .get_or(path, || crate::runtime::json_of_reply(self.get(path), path))
    }

    fn get(&self, path: &str) -> Option<Answer<'_>> {
        let exchange = self.exchanges.iter().find(|e| self.path_of(e) == path)?;
        Some(match (exchange.response(), exchange.failure()) {
            (Some(r), _) => Answer::Reply {
                status: r.status,
                content_type: r.headers.get("content-type").map(String::as_str),
                server: r.headers.get("server").map(String::as_str),
                body: &r.body,
                truncated: r.truncated,
                problem: reply_problem(r),
                latency_ms: Some(r.latency_ms),
            },
            (None, Some(f)) => Answer::Failed {
                reason: &f.reason,
                timed_out: matches!(f.kind, FailureKind::Timeout | FailureKind::ConnectTimeout),
            },
            (None, None) => Answer::Failed {
                reason: "no response recorded",
                timed_out: false,
            },
        })
    }
}

/// What the HTTP/2 preface check saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Http2Check {
    /// The port answered the preface with a SETTINGS frame.
    pub speaks_http2: bool,
    /// What happened, in words.
    pub detail: String,
}

/// The client connection preface (RFC 9113, section 3.4) followed by an empty SETTINGS frame.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// HTTP/2 frame type of SETTINGS.
const SETTINGS: u8 = 0x4;

/// Connects to `host:port`, sends the HTTP/2 preface and reads the first frame header, all
/// before `deadline`.
pub fn http2_check(host: &str, port: u16, deadline: Instant) -> Http2Check {
    let fail = |detail: String| Http2Check {
        speaks_http2: false,
        detail,
    };
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let address: Option<SocketAddr> = (host, port).to_socket_addrs().ok().and_then(|mut a| a.next());
    let Some(address) = address else {
        return fail(format!("{host}:{port} does not resolve"));
    };
    let mut stream = match TcpStream::connect_timeout(&address, remaining()) {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot connect to {address}: {e}")),
    };
    if stream.set_read_timeout(Some(remaining())).is_err() || stream.set_write_timeout(Some(remaining())).is_err() {
        return fail(format!("cannot set timeouts on the connection to {address}"));
    }
    if let Err(e) = stream.write_all(PREFACE) {
        return fail(format!("{address} closed the connection on the HTTP/2 preface: {e}"));
    }
    let mut header = [0u8; 9];
    match stream.read_exact(&mut header) {
        Ok(()) if header[3] == SETTINGS => Http2Check {
            speaks_http2: true,
            detail: format!("{address} answered the HTTP/2 preface with SETTINGS (gRPC runs over it)"),
        },
        Ok(()) if header.starts_with(b"HTTP/1") => fail(format!(
            "{address} answered HTTP/1, not HTTP/2: this port serves HTTP, not gRPC"
        )),
        Ok(()) => fail(format!(
            "{address} answered with a frame of type {:#x}, not SETTINGS: not an HTTP/2 server",
            header[3]
        )),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
            fail(format!("{address} did not answer the HTTP/2 preface in time"))
        }
        Err(e) => fail(format!("{address} closed the connection without an HTTP/2 answer: {e}")),
    }
}

/// One line per request under `-vv`: what was asked and what came back.
pub(crate) fn trace_exchange(e: &Exchange) {
    match &e.outcome {
        modelspec_probe_http::Outcome::Response(r) => {
            tracing::debug!(method = ?e.method, url = %e.url, status = r.status, ms = r.total_ms, "answered");
        }
        modelspec_probe_http::Outcome::Failure(f) => {
            tracing::debug!(method = ?e.method, url = %e.url, kind = ?f.kind, reason = %f.reason, "failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-connection server that reads the preface and answers `reply`.
    fn server(reply: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf);
                let _ = s.write_all(reply);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        port
    }

    /// Regression (tests/hostile): a cut, redirected or non-UTF-8 body is flagged to the checks,
    /// with the HTTP layer's reason, instead of being read as the server's document.
    #[test]
    fn unusable_bodies_carry_their_reason() {
        let mut r = modelspec_probe_http::Response {
            status: 200,
            http_version: "HTTP/1.1".into(),
            latency_ms: 1.0,
            total_ms: 1.0,
            final_url: None,
            headers: Default::default(),
            body: "{\"a\":\"\u{fffd}\"}".into(),
            binary: false,
            body_bytes_read: 10,
            truncated: false,
            body_cut: None,
            redirect_not_followed: None,
        };
        assert_eq!(reply_problem(&r), None);
        r.binary = true;
        assert!(reply_problem(&r).is_some_and(|p| p.contains("not valid UTF-8")));
        r.truncated = true;
        r.body_cut = Some(modelspec_probe_http::Failure {
            kind: FailureKind::TooLarge,
            reason: "the body is larger than the cap".into(),
        });
        assert_eq!(reply_problem(&r), Some("the body is larger than the cap"));
    }

    #[test]
    fn an_http2_server_answers_settings() {
        let port = server(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00");
        let check = http2_check("127.0.0.1", port, Instant::now() + Duration::from_secs(2));
        assert!(check.speaks_http2, "{check:?}");
    }

    #[test]
    fn an_http1_server_is_not_grpc() {
        let port = server(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        let check = http2_check("127.0.0.1", port, Instant::now() + Duration::from_secs(2));
        assert!(!check.speaks_http2);
        assert!(check.detail.contains("HTTP/1"), "{check:?}");
    }

    #[test]
    fn a_silent_server_is_cut_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let started = Instant::now();
        let check = http2_check("127.0.0.1", port, Instant::now() + Duration::from_millis(300));
        assert!(!check.speaks_http2);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        drop(listener);
    }
}
