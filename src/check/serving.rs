//! Serving domain: the endpoint speaks the declared protocol, its health probes answer in time,
//! and the engine's admission and timeout limits match the declared ones.
//!
//! Probes are judged as a kubelet would: `GET path` must answer 2xx within `timeoutSeconds`.
//! Engines differ in how they say "not ready" (vLLM refuses connections while loading, Triton
//! answers 400, llama.cpp 503 "Loading model"): the finding names the engine's behaviour so a
//! failing probe reads as "still loading" or "dead", not just a number.

use serde_json::json;

use super::engine::{EngineView, Unseen};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::runtime::Answer;
use crate::spec::ModelSpec;
use crate::spec::model::Protocol;

/// The endpoint speaks the declared protocol (HTTP, or HTTP/2 for gRPC).
pub const PROTOCOL: Check = Check {
    code: "serving-protocol",
    domain: Domain::Serving,
    summary: "the port speaks the declared protocol (HTTP, or HTTP/2 for gRPC)",
    explanation: "http: the port must answer an HTTP request (any status). grpc: a TCP connection must answer the HTTP/2 connection preface with a SETTINGS frame.",
    pointers: &["/spec/operations/serving/protocol"],
};

/// The readiness probe answers 2xx within its timeout.
pub const READINESS: Check = Check {
    code: "readiness-probe",
    domain: Domain::Serving,
    summary: "the readiness probe answers 2xx within its timeout",
    explanation: "GET operations.serving.readinessProbe.path must answer 2xx within its timeoutSeconds (1 s when not given, as the kubelet). The latency is recorded. Engines say not-ready differently: vLLM refuses connections while loading and answers 503 when its engine is dead; Triton answers 400; llama.cpp 503 Loading model; SGLang /health_generate 503 while starting.",
    pointers: &["/spec/operations/serving/readinessProbe"],
};

/// The liveness probe answers 2xx within its timeout.
pub const LIVENESS: Check = Check {
    code: "liveness-probe",
    domain: Domain::Serving,
    summary: "the liveness probe answers 2xx within its timeout",
    explanation: "As readiness-probe, for operations.serving.livenessProbe.",
    pointers: &["/spec/operations/serving/livenessProbe"],
};

/// The engine admits at most `maxConcurrency` requests at once.
pub const MAX_CONCURRENCY: Check = Check {
    code: "max-concurrency",
    domain: Domain::Serving,
    summary: "the engine admits exactly maxConcurrency requests (fewer refuses promised traffic, more leaves the cap unenforced)",
    explanation: "Equality: the engine's admission limit (requests accepted at once, queued or running) must equal operations.serving.maxConcurrency. Fewer fails: requests the contract promises are refused (TGI answers 429 past max_concurrent_requests, Ollama 503 past OLLAMA_MAX_QUEUE), and the message says how many. More fails: the cap the contract relies on is not enforced. Sources: TGI /info max_concurrent_requests (default 128), Ollama OLLAMA_MAX_QUEUE (default 512), SGLang max_queued_requests, Triton dynamic_batching max_queue_size. vLLM and llama.cpp queue without limit: skipped, with the reason.",
    pointers: &["/spec/operations/serving/maxConcurrency"],
};

/// The engine's request timeout matches `timeoutSeconds`.
pub const TIMEOUT: Check = Check {
    code: "serving-timeout",
    domain: Domain::Serving,
    summary: "the engine's request timeout equals timeoutSeconds",
    explanation: "Equality: the engine's own request timeout against operations.serving.timeoutSeconds (llama.cpp -to/--timeout); shorter fails, longer warns. Engines without one are skipped: the gateway's timeout applies.",
    pointers: &["/spec/operations/serving/timeoutSeconds"],
};

/// The kubelet's default probe timeout, when the spec gives none.
const DEFAULT_PROBE_TIMEOUT_S: u64 = 1;

pub(crate) fn check(spec: &ModelSpec, view: &Result<EngineView, Unseen>, out: &mut Vec<Finding>) {
    let Some(serving) = spec.spec.operations.as_ref().and_then(|o| o.serving.as_ref()) else {
        return;
    };
    if let Some(protocol) = serving.protocol {
        out.push(protocol_check(protocol, view));
    }
    for (check, pointer, probe) in [
        (
            &READINESS,
            "/spec/operations/serving/readinessProbe",
            &serving.readiness_probe,
        ),
        (
            &LIVENESS,
            "/spec/operations/serving/livenessProbe",
            &serving.liveness_probe,
        ),
    ] {
        if let Some(probe) = probe
            && let Some(path) = &probe.path
        {
            let timeout = probe.timeout_seconds.unwrap_or(DEFAULT_PROBE_TIMEOUT_S);
            out.push(probe_check(check, pointer, path, timeout, view));
        }
    }
    if let Some(declared) = serving.max_concurrency {
        out.push(max_concurrency(declared, view));
    }
    if let Some(declared) = serving.timeout_seconds {
        out.push(timeout(declared, view));
    }
}

fn protocol_check(protocol: Protocol, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&PROTOCOL, "/spec/operations/serving/protocol");
    match protocol {
        Protocol::Http => {
            let b = b.declared("http");
            let view = match view {
                Ok(v) => v,
                Err(unseen) => return unseen.finding(b),
            };
            let probe_paths = [
                "/health",
                "/v1/models",
                "/v2/health/live",
                "/api/version",
                "/props",
                "/info",
            ];
            let answered = probe_paths.iter().find_map(|p| match view.answers.get(p) {
                Some(Answer::Reply { status, .. }) => Some((*p, status)),
                _ => None,
            });
            match answered {
                Some((path, status)) => b
                    .observed("http")
                    .evidence(
                        "http",
                        json!({"path": path, "status": status}),
                        "the port answers HTTP requests",
                    )
                    .status(Status::Pass, format!("answers HTTP (GET {path}: {status})")),
                None => {
                    let failure = probe_paths.iter().find_map(|p| match view.answers.get(p) {
                        Some(Answer::Failed { reason, timed_out }) => Some((reason.to_string(), timed_out)),
                        _ => None,
                    });
                    let (why, timed_out) = failure.unwrap_or_else(|| ("no HTTP request was answered".into(), false));
                    if timed_out {
                        // Slow is not the same as not HTTP: an overloaded server may just be late.
                        return b.status(Status::Unknown, format!("no HTTP answer before the deadline: {why}"));
                    }
                    b.evidence("http", json!(why), "the port answers HTTP requests")
                        .remediation("check that the model server is up and speaks HTTP on the declared port")
                        .status(Status::Fail, format!("no HTTP answer: {why}"))
                }
            }
        }
        Protocol::Grpc => {
            let b = b.declared("grpc");
            let http2 = match view {
                Ok(v) => v.http2,
                Err(unseen) => return unseen.finding(b),
            };
            match http2 {
                None => b.status(Status::Unknown, "the port was not checked for HTTP/2"),
                Some(check) => {
                    let b = b.evidence(
                        "tcp",
                        json!(check),
                        "the port accepts a TCP connection and answers the HTTP/2 connection preface with SETTINGS",
                    );
                    if check.speaks_http2 {
                        b.observed("http2").status(Status::Pass, check.detail.clone())
                    } else {
                        b.remediation("serve gRPC on the declared port, or correct operations.serving.protocol")
                            .status(Status::Fail, check.detail.clone())
                    }
                }
            }
        }
    }
}

fn probe_check(check: &Check, pointer: &str, path: &str, timeout_s: u64, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(check, pointer).declared(path);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let semantics = view
        .engine()
        .map(|e| format!(" ({})", e.not_ready_semantics()))
        .unwrap_or_default();
    let rule = format!("GET {path} answers 2xx within timeoutSeconds ({timeout_s} s)");
    match view.answers.get(path) {
        None => b.status(Status::Unknown, format!("GET {path} was not asked")),
        Some(Answer::Failed { reason, .. }) => b
            .evidence("http", json!({"path": path, "error": reason}), &rule)
            .remediation("check the probe path and that the server is up")
            .status(Status::Fail, format!("GET {path}: {reason}{semantics}")),
        Some(Answer::Reply {
            status,
            latency_ms,
            truncated,
            problem,
            ..
        }) => {
            // "answered 302" alone hides the redirect that was not followed, and "never finished"
            // hides whether the body was too large or too slow: the HTTP layer knows which.
            let why = problem.map(|p| format!(": {p}")).unwrap_or_default();
            let b = b
                .observed(json!({"status": status, "latency_ms": latency_ms}))
                .evidence(
                    "http",
                    json!({"path": path, "status": status, "latency_ms": latency_ms, "timeout_s": timeout_s}),
                    &rule,
                );
            let slow = latency_ms.is_some_and(|ms| ms > (timeout_s * 1000) as f64);
            let ms = latency_ms.map_or_else(String::new, |ms| format!(" in {} ms", super::milliseconds(ms)));
            if !(200..300).contains(&status) {
                b.remediation(format!("the probe would fail; check the server's state{semantics}"))
                    .status(
                        Status::Fail,
                        format!("GET {path} answered {status}{ms}{semantics}{why}"),
                    )
            } else if truncated {
                b.remediation("find why the server stops mid-answer (overload, a proxy)")
                    .status(
                        Status::Fail,
                        format!(
                            "GET {path} answered {status}{ms}, but its body never finished{}",
                            if why.is_empty() {
                                " (cut at the deadline or size cap)".to_string()
                            } else {
                                why.clone()
                            }
                        ),
                    )
            } else if slow {
                b.remediation("raise the probe's timeoutSeconds, or find why the server answers slowly")
                    .status(
                        Status::Fail,
                        format!("GET {path} answered {status}{ms}, over the {timeout_s} s timeout"),
                    )
            } else {
                b.status(Status::Pass, format!("GET {path} answered {status}{ms}"))
            }
        }
    }
}

fn max_concurrency(declared: u64, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&MAX_CONCURRENCY, "/spec/operations/serving/maxConcurrency").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(fact) = &view.facts.max_concurrency else {
        let why = view.missing("max_concurrency", "the engine's admission limit");
        // An engine without an admission limit has nothing to compare with: not unobserved.
        let status = if view.facts.gaps.contains_key("max_concurrency") {
            Status::Skip
        } else {
            Status::Unknown
        };
        return b.status(status, why);
    };
    let b = b.observed(fact.value).evidence(
        "http+host",
        view.evidence(fact),
        "the engine admits exactly maxConcurrency requests at once: fewer refuses promised traffic, more leaves the cap unenforced",
    );
    let admits = format!(
        "the engine admits up to {} requests ({}), {declared} declared",
        fact.value,
        fact.source.describe()
    );
    match fact.value.cmp(&declared) {
        std::cmp::Ordering::Greater => b
            .remediation("lower the engine's admission limit (TGI --max-concurrent-requests, Ollama OLLAMA_MAX_QUEUE), or raise maxConcurrency")
            .status(
                Status::Fail,
                format!("{admits}: the cap the contract relies on is not enforced"),
            ),
        std::cmp::Ordering::Less => {
            let refused = declared - fact.value;
            let how = view
                .engine()
                .and_then(|e| e.engine().traits.over_admission_limit)
                .map(|how| format!("; {how}"))
                .unwrap_or_default();
            b.remediation("raise the engine's admission limit (TGI --max-concurrent-requests, Ollama OLLAMA_MAX_QUEUE), or lower maxConcurrency")
                .status(
                    Status::Fail,
                    format!(
                        "{admits}: {refused} of the {declared} concurrent requests the contract promises would be refused{how}"
                    ),
                )
        }
        std::cmp::Ordering::Equal => b.status(Status::Pass, admits),
    }
}

fn timeout(declared: u64, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&TIMEOUT, "/spec/operations/serving/timeoutSeconds").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(fact) = &view.facts.request_timeout_seconds else {
        let engine = view.engine().map_or("the engine", |e| e.as_str());
        return b.status(
            Status::Skip,
            format!("{engine} has no request timeout of its own to compare with (the gateway's applies)"),
        );
    };
    let b = b.observed(fact.value).evidence(
        "http+host",
        view.evidence(fact),
        "the engine's request timeout equals timeoutSeconds",
    );
    if fact.value < declared {
        b.remediation("raise the engine's timeout to the declared one").status(
            Status::Fail,
            format!(
                "the engine cuts requests after {} s ({}), {declared} s declared",
                fact.value,
                fact.source.describe()
            ),
        )
    } else if fact.value > declared {
        b.status(
            Status::Warn,
            format!(
                "the engine waits {} s ({}), longer than the {declared} s declared",
                fact.value,
                fact.source.describe()
            ),
        )
    } else {
        b.status(
            Status::Pass,
            format!("the engine times out at {} s, as declared", fact.value),
        )
    }
}
