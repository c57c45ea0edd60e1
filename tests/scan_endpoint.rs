//! `modelspec scan` against loopback HTTP servers this test starts: a replay of the real vLLM's
//! answers (matching and drifting specs), and a hostile server whose every introspection route
//! misbehaves (malformed JSON, an HTML error page, a wrong content type, a 404, a response
//! slower than the deadline, a body that never ends). Nothing may hang or panic, every finding
//! that depends on a bad answer is `unknown` with the reason, and the scan ends within
//! `--timeout` plus one second. A planted token must never appear in the output.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use modelspec::runtime::StaticAnswers;
use serde_json::Value as Json;

/// How the server answers one path.
#[derive(Clone)]
enum Behaviour {
    /// Status, content type, body.
    Reply(u16, &'static str, String),
    /// Headers, then nothing, for longer than any deadline.
    Stall,
    /// Headers, then body bytes forever.
    Endless,
}

/// A loopback HTTP/1.1 server, one thread per connection, stopped on drop.
pub(crate) struct Server {
    pub(crate) port: u16,
    stop: Arc<AtomicBool>,
    /// Every Authorization header it was sent.
    seen_auth: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(route: impl Fn(&str) -> Behaviour + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let seen_auth = Arc::new(std::sync::Mutex::new(Vec::new()));
    let route = Arc::new(route);
    let (stop2, seen2) = (stop.clone(), seen_auth.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let (route, stop, seen) = (route.clone(), stop2.clone(), seen2.clone());
            std::thread::spawn(move || handle(stream, &*route, &stop, &seen));
        }
    });
    Server { port, stop, seen_auth }
}

fn handle(
    stream: TcpStream,
    route: &dyn Fn(&str) -> Behaviour,
    stop: &AtomicBool,
    seen: &std::sync::Mutex<Vec<String>>,
) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if header.to_ascii_lowercase().starts_with("authorization:")
            && let Ok(mut s) = seen.lock()
        {
            s.push(header.trim().to_string());
        }
    }
    match route(&path) {
        Behaviour::Reply(status, content_type, body) => {
            let _ = write!(
                writer,
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Behaviour::Stall => {
            let _ =
                writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{");
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Behaviour::Endless => {
            let _ = writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n[");
            let chunk = [b'1'; 65536];
            while !stop.load(Ordering::SeqCst) && writer.write_all(&chunk).is_ok() {}
        }
    }
    let _ = reader.read(&mut [0u8; 1]);
}

/// Replays a fixture folder's recorded answers; anything else is 404.
pub(crate) fn replay(dir: &Path) -> Server {
    replay_with_metrics(dir, None)
}

/// The same, with `/metrics` answering the given exposition (as vLLM does: text/plain).
fn replay_with_metrics(dir: &Path, metrics: Option<String>) -> Server {
    let answers = StaticAnswers::from_fixture_dir(dir).expect("fixture answers");
    serve(move |path| match answers.replies.get(path) {
        _ if path == "/metrics" && metrics.is_some() => Behaviour::Reply(
            200,
            "text/plain; version=1.0.0; charset=utf-8",
            metrics.clone().unwrap_or_default(),
        ),
        Some(r) => Behaviour::Reply(
            r.status,
            if r.content_type.as_deref() == Some("application/json") {
                "application/json"
            } else {
                "text/plain"
            },
            r.body.clone(),
        ),
        None => Behaviour::Reply(404, "application/json", r#"{"detail":"Not Found"}"#.into()),
    })
}

fn spec(port: u16, max_len: u64, framework: &str) -> String {
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: endpoint-test
spec:
  identity:
    model: {{id: tiny-llama, family: llama, task: text-generation, framework: {framework}}}
  runtime:
    accelerator: {{vendor: nvidia, type: l4, count: 1}}
    batch: {{maxSequenceLengthTokens: {max_len}}}
  operations:
    serving:
      protocol: http
      port: {port}
      readinessProbe: {{path: /health, timeoutSeconds: 1}}
"
    )
}

const TOKEN: &str = "ms-planted-token-0a1b2c3d4e5f6a7b8c9d";

fn scan(dir: &Path, text: &str, timeout: &str) -> (Option<i32>, Json, Duration) {
    scan_with(dir, text, timeout, &[])
}

/// [`scan`] with more arguments (`--window 2s`, `--metrics-url URL`).
fn scan_with(dir: &Path, text: &str, timeout: &str, extra: &[&str]) -> (Option<i32>, Json, Duration) {
    let path = dir.join("spec.yaml");
    std::fs::write(&path, text).expect("write spec");
    let started = Instant::now();
    let o = Cmd::new()
        .args([
            "scan",
            path.to_str().expect("UTF-8 path"),
            "--format",
            "json",
            "--timeout",
            timeout,
        ])
        .args(extra)
        .args(["--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .env("MODELSPEC_TOKEN", TOKEN)
        .output();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(!stdout.contains(TOKEN), "the token leaked into the report");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains(TOKEN),
        "the token leaked into stderr"
    );
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("report JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), report, elapsed)
}

use crate::support::{Cmd, report};
use report::finding;

#[test]
fn a_replayed_vllm_passes_a_matching_spec_and_fails_a_drifting_one() {
    let server = replay(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engines/vllm-0.32/default"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, report, _) = scan(dir.path(), &spec(server.port, 1024, "vllm"), "5s");
    for code in [
        "model-id",
        "model-framework",
        "batch-max-sequence-length",
        "serving-protocol",
        "readiness-probe",
    ] {
        assert_eq!(
            finding(&report, code)["status"],
            "pass",
            "{code}: {:#}",
            finding(&report, code)
        );
    }
    // The token went to the target, and only as a bearer credential.
    let seen = server.seen_auth.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        seen.iter()
            .all(|h| h == &format!("authorization: Bearer {TOKEN}") || h == &format!("Authorization: Bearer {TOKEN}"))
    );

    let (code, report, _) = scan(dir.path(), &spec(server.port, 4096, "tgi"), "5s");
    assert_eq!(finding(&report, "batch-max-sequence-length")["status"], "fail");
    assert_eq!(finding(&report, "model-framework")["status"], "fail");
    assert_eq!(code, Some(1));
}

#[test]
fn a_hostile_endpoint_gives_unknown_with_reasons_and_the_scan_ends_in_time() {
    let server = serve(|path| match path {
        "/v1/models" => Behaviour::Reply(
            200,
            "application/json",
            r#"{"data": [{"id": "x", "owned_by": "vllm""#.into(),
        ),
        "/info" => Behaviour::Reply(500, "text/html", "<html><body>Internal error</body></html>".into()),
        "/version" => Behaviour::Reply(200, "text/plain", "0.32.0".into()),
        "/health" => Behaviour::Stall,
        "/props" => Behaviour::Endless,
        _ => Behaviour::Reply(404, "application/json", "{}".into()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, report, elapsed) = scan(dir.path(), &spec(server.port, 1024, "vllm"), "2s");
    assert!(
        elapsed < Duration::from_secs(3),
        "the scan took {elapsed:?} with --timeout 2s"
    );
    // Malformed /v1/models: no engine can be named, and the model is unknown, not failed.
    let id = finding(&report, "model-id");
    assert_eq!(id["status"], "unknown", "{id:#}");
    let framework = finding(&report, "model-framework");
    assert_eq!(framework["status"], "unknown", "{framework:#}");
    assert_eq!(finding(&report, "batch-max-sequence-length")["status"], "unknown");
    // A probe that never completes is a failed probe (the kubelet would say so), with the reason.
    let probe = finding(&report, "readiness-probe");
    assert_eq!(probe["status"], "fail", "{probe:#}");
    assert!(!probe["message"].as_str().unwrap_or_default().is_empty());
    // The recorded exchanges say why each answer was refused.
    let exchanges = report["observation"]["endpoint"]["snapshot"]["targets"][0]["exchanges"]
        .as_array()
        .expect("exchanges recorded");
    let props = exchanges
        .iter()
        .find(|e| e["url"].as_str().is_some_and(|u| u.ends_with("/props")))
        .expect("/props asked");
    assert!(
        props.to_string().contains("truncated")
            || props.to_string().contains("too_large")
            || props.to_string().contains("timeout"),
        "{props:#}"
    );
    assert_ne!(code, None, "the scan must exit, not be killed");
    drop(server);
}

/// The metrics page of a saturated real vLLM (12 requests against --max-num-seqs 8): the observed
/// batch is over a declared 4, saturation warns, and the lifetime p95 is judged against targets
/// on either side of it.
#[test]
fn a_saturated_vllm_page_is_judged_for_batch_saturation_and_latency() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engines/vllm-0.32/default");
    let page = std::fs::read_to_string(root.join("metrics/after-load.prom")).expect("after-load page");
    let saturated = std::fs::read_to_string(root.join("metrics/saturated.prom")).expect("saturated page");
    let dir = tempfile::tempdir().expect("tempdir");
    let with = |target_ms: f64, batch: u64| {
        spec(0, 1024, "vllm").replace(
            "  operations:\n",
            &format!(
                "  operations:\n    scaling: {{targetLatencyMsP95: {target_ms}}}\n    observability: {{metrics: {{enabled: true}}}}\n"
            ),
        ).replace("batch: {maxSequenceLengthTokens: 1024}", &format!("batch: {{maxBatchSize: {batch}, maxSequenceLengthTokens: 1024}}"))
    };
    let server = replay_with_metrics(&root, Some(saturated));
    let (_, report, _) = scan(
        dir.path(),
        &with(1e9, 4).replace("port: 0", &format!("port: {}", server.port)),
        "5s",
    );
    let batch = finding(&report, "batch-observed");
    assert_eq!(batch["status"], "fail", "{batch:#}");
    assert_eq!(batch["observed"], 8.0);
    let saturation = finding(&report, "saturation");
    assert_eq!(saturation["status"], "warn", "{saturation:#}");
    assert!(
        saturation["message"]
            .as_str()
            .unwrap_or_default()
            .contains("4 request(s) waiting"),
        "{saturation:#}"
    );
    assert_eq!(finding(&report, "metrics-exposed")["status"], "pass");
    drop(server);

    // The real after-load page: 20 requests, all under 300 ms.
    let server = replay_with_metrics(&root, Some(page));
    let port = format!("port: {}", server.port);
    let (_, report, _) = scan(dir.path(), &with(1000.0, 8).replace("port: 0", &port), "5s");
    let p95 = finding(&report, "latency-p95");
    assert_eq!(p95["status"], "pass", "{p95:#}");
    assert!(
        p95["message"].as_str().unwrap_or_default().contains("lifetime"),
        "{p95:#}"
    );
    assert_eq!(finding(&report, "batch-observed")["status"], "pass");
    // The 20 prompts were 10 to 20 tokens long: far from 1024, but near a limit of 11.
    let seen = finding(&report, "sequence-length-observed");
    assert_eq!(seen["status"], "pass", "{seen:#}");
    assert!(
        seen["message"]
            .as_str()
            .unwrap_or_default()
            .contains("between 10 and 20 tokens"),
        "{seen:#}"
    );
    let near = with(1000.0, 8).replace("maxSequenceLengthTokens: 1024", "maxSequenceLengthTokens: 11");
    let (_, report, _) = scan(dir.path(), &near.replace("port: 0", &port), "5s");
    assert_eq!(finding(&report, "sequence-length-observed")["status"], "warn");
    drop(server);

    // 100 requests whose p95 lies in (2.5, 5] s: under a 6 s target, over 1 s, unknown at 3 s.
    let histogram = "# TYPE vllm:e2e_request_latency_seconds histogram\n\
        vllm:e2e_request_latency_seconds_bucket{le=\"0.3\",model_name=\"m\"} 10\n\
        vllm:e2e_request_latency_seconds_bucket{le=\"1.0\",model_name=\"m\"} 50\n\
        vllm:e2e_request_latency_seconds_bucket{le=\"2.5\",model_name=\"m\"} 90\n\
        vllm:e2e_request_latency_seconds_bucket{le=\"5.0\",model_name=\"m\"} 100\n\
        vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",model_name=\"m\"} 100\n\
        vllm:e2e_request_latency_seconds_count{model_name=\"m\"} 100\n\
        vllm:e2e_request_latency_seconds_sum{model_name=\"m\"} 150\n";
    let server = replay_with_metrics(&root, Some(histogram.to_string()));
    let port = format!("port: {}", server.port);
    for (target, want) in [(6000.0, "pass"), (1000.0, "fail"), (3000.0, "unknown")] {
        let (_, report, _) = scan(dir.path(), &with(target, 8).replace("port: 0", &port), "5s");
        let p95 = finding(&report, "latency-p95");
        assert_eq!(p95["status"], want, "target {target}: {p95:#}");
        assert_eq!(p95["observed"]["p95_lower_ms"], 2500.0, "{p95:#}");
        assert_eq!(p95["observed"]["p95_upper_ms"], 5000.0, "{p95:#}");
        // The whole distribution is evidence, for reports that draw it (--format html).
        let buckets = &p95["evidence"]["raw"]["buckets"];
        assert_eq!(buckets[0]["le"], "0.3", "{p95:#}");
        assert_eq!(buckets[0]["count"], 10.0, "{p95:#}");
        assert_eq!(buckets[4]["le"], "+Inf", "{p95:#}");
        assert_eq!(buckets[4]["count"], 100.0, "{p95:#}");
        // The page lacks the other families a vLLM page has: said, not hidden.
        let exposed = finding(&report, "metrics-exposed");
        assert_eq!(exposed["status"], "warn", "{exposed:#}");
        assert!(
            exposed["message"]
                .as_str()
                .unwrap_or_default()
                .contains("vllm:num_requests_running"),
            "{exposed:#}"
        );
    }
}

/// A vLLM-named page after `n` scrapes: 10 requests a scrape, 90% under 2.5 s and all under
/// 5 s; running requests alternate 3 and 6.
fn moving_page(n: u64) -> String {
    let r = 10 * n;
    format!(
        "# TYPE vllm:e2e_request_latency_seconds histogram\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"1.0\",model_name=\"m\"}} {}\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"2.5\",model_name=\"m\"}} {}\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"5.0\",model_name=\"m\"}} {r}\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"+Inf\",model_name=\"m\"}} {r}\n\
         vllm:e2e_request_latency_seconds_count{{model_name=\"m\"}} {r}\n\
         vllm:e2e_request_latency_seconds_sum{{model_name=\"m\"}} {}\n\
         # TYPE vllm:num_requests_running gauge\n\
         vllm:num_requests_running{{model_name=\"m\"}} {}\n\
         # TYPE vllm:prompt_tokens_total counter\n\
         vllm:prompt_tokens_total{{model_name=\"m\"}} {}\n\
         # TYPE vllm:generation_tokens_total counter\n\
         vllm:generation_tokens_total{{model_name=\"m\"}} {}\n",
        5 * n,
        9 * n,
        2 * r,
        if n.is_multiple_of(2) { 3 } else { 6 },
        100 * n,
        50 * n
    )
}

/// `--window`: the p95 and the rate come from the difference of two scrapes, the peak batch
/// from gauge samples in between; a counter that goes down is a restart, and is said.
#[test]
fn a_window_measures_rates_the_windowed_p95_and_the_peak_batch() {
    use std::sync::atomic::AtomicU64;
    let scrapes = Arc::new(AtomicU64::new(0));
    let counter = scrapes.clone();
    // Before the window the lifetime histogram is all fast (1000 requests under 1 s).
    let server = serve(move |path| match path {
        "/metrics" => {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let body = if n == 0 {
                "# TYPE vllm:e2e_request_latency_seconds histogram\n\
                 vllm:e2e_request_latency_seconds_bucket{le=\"1.0\",model_name=\"m\"} 1000\n\
                 vllm:e2e_request_latency_seconds_bucket{le=\"2.5\",model_name=\"m\"} 1000\n\
                 vllm:e2e_request_latency_seconds_bucket{le=\"5.0\",model_name=\"m\"} 1000\n\
                 vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",model_name=\"m\"} 1000\n\
                 vllm:e2e_request_latency_seconds_count{model_name=\"m\"} 1000\n\
                 # TYPE vllm:num_requests_running gauge\n\
                 vllm:num_requests_running{model_name=\"m\"} 1\n"
                    .to_string()
            } else {
                // The server restarted after the first scrape: counters start again.
                moving_page(n)
            };
            Behaviour::Reply(200, "text/plain; version=0.0.4", body)
        }
        "/v1/models" => Behaviour::Reply(
            200,
            "application/json",
            r#"{"data":[{"id":"tiny-llama","owned_by":"vllm","max_model_len":1024}]}"#.into(),
        ),
        _ => Behaviour::Reply(404, "application/json", "{}".into()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let text = spec(server.port, 1024, "vllm")
        .replace(
            "  operations:\n",
            "  operations:\n    scaling: {targetLatencyMsP95: 6000, targetRps: 100}\n",
        )
        .replace(
            "batch: {maxSequenceLengthTokens: 1024}",
            "batch: {maxBatchSize: 4, maxSequenceLengthTokens: 1024}",
        );
    let window = [
        "--window",
        "2s",
        "--sample-interval",
        "300ms",
        "--gpu-hourly-usd",
        "3.6",
    ];
    let (_, report, elapsed) = scan_with(dir.path(), &text, "5s", &window);
    assert!(
        elapsed >= Duration::from_secs(2),
        "the window was not waited: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    let p95 = finding(&report, "latency-p95");
    assert_eq!(p95["status"], "pass", "{p95:#}");
    // Not the lifetime's (0, 1] s: the window's own (2.5, 5] s.
    assert_eq!(p95["observed"]["p95_lower_ms"], 2500.0, "{p95:#}");
    let message = p95["message"].as_str().unwrap_or_default();
    assert!(message.contains("window") && message.contains("restarted"), "{message}");
    let batch = finding(&report, "batch-observed");
    assert_eq!(batch["status"], "fail", "{batch:#}");
    assert_eq!(batch["observed"], 6.0, "{batch:#}");
    let rate = finding(&report, "request-rate");
    assert_eq!(rate["status"], "pass", "{rate:#}");
    assert!(rate["observed"].as_f64().is_some_and(|r| r > 0.0), "{rate:#}");
    assert!(
        scrapes.load(Ordering::SeqCst) >= 4,
        "gauges were sampled during the window"
    );
}

/// `--metrics-url` replaces the engine's own metrics endpoint (a sidecar, a separate port).
#[test]
fn metrics_url_replaces_the_engine_endpoint() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engines/vllm-0.32/default");
    let saturated = std::fs::read_to_string(root.join("metrics/saturated.prom")).expect("page");
    let engine = replay(&root);
    let sidecar = serve(move |path| match path {
        "/custom/metrics" => Behaviour::Reply(200, "text/plain; version=0.0.4", saturated.clone()),
        _ => Behaviour::Reply(404, "text/plain", String::new()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let text = spec(engine.port, 1024, "vllm")
        .replace(
            "  operations:\n",
            "  operations:\n    observability: {metrics: {enabled: true}}\n",
        )
        .replace(
            "batch: {maxSequenceLengthTokens: 1024}",
            "batch: {maxBatchSize: 4, maxSequenceLengthTokens: 1024}",
        );
    let url = format!("http://127.0.0.1:{}/custom/metrics", sidecar.port);
    let (_, report, _) = scan_with(dir.path(), &text, "5s", &["--metrics-url", &url]);
    let exposed = finding(&report, "metrics-exposed");
    assert_eq!(exposed["status"], "pass", "{exposed:#}");
    assert!(
        exposed["message"]
            .as_str()
            .unwrap_or_default()
            .contains("/custom/metrics"),
        "{exposed:#}"
    );
    let batch = finding(&report, "batch-observed");
    assert_eq!(batch["status"], "fail", "{batch:#}");
    assert_eq!(batch["observed"], 8.0);
}

/// `metrics.enabled`: declared on with no endpoint fails; declared off with none passes, and
/// with one serving warns.
#[test]
fn metrics_enabled_is_judged_both_ways() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engines/vllm-0.32/default");
    let page = std::fs::read_to_string(root.join("metrics/idle.prom")).expect("page");
    let models = r#"{"data":[{"id":"tiny-llama","owned_by":"vllm","max_model_len":1024}]}"#;
    let without = serve(move |path| match path {
        "/v1/models" => Behaviour::Reply(200, "application/json", models.into()),
        _ => Behaviour::Reply(404, "application/json", "{}".into()),
    });
    let with = serve(move |path| match path {
        "/v1/models" => Behaviour::Reply(200, "application/json", models.into()),
        "/metrics" => Behaviour::Reply(200, "text/plain; version=0.0.4", page.clone()),
        _ => Behaviour::Reply(404, "application/json", "{}".into()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let case = |port: u16, enabled: bool| {
        let text = spec(port, 1024, "vllm").replace(
            "  operations:\n",
            &format!("  operations:\n    observability: {{metrics: {{enabled: {enabled}, provider: prometheus}}}}\n"),
        );
        let (_, report, _) = scan(dir.path(), &text, "5s");
        finding(&report, "metrics-exposed")["status"].clone()
    };
    assert_eq!(case(without.port, true), "fail");
    assert_eq!(case(without.port, false), "pass");
    assert_eq!(case(with.port, false), "warn");
    assert_eq!(case(with.port, true), "pass");
}
