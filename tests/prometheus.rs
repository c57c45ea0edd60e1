//! `scan --prometheus` against a real Prometheus server (the Debian package `prometheus`, which
//! `.ci/run` installs), scraping a loopback exporter this test serves. The exporter's counters
//! move between scrapes: 10 requests a scrape, the 95th percentile in the (2.5, 5] s bucket, and
//! running requests alternating 3 and 6. Skipped with a message when no `prometheus` binary is
//! installed.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

mod support;
use support::{Cmd, report};

/// Kills the server on drop.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The page after `n` scrapes: cumulative counters that grow by 10 requests a scrape.
fn page(n: u64) -> String {
    let requests = 10 * n;
    // Per 10 requests: 2 under 0.5 s, 7 under 1 s, 9 under 2.5 s, all 10 under 5 s.
    let (b05, b1, b25, b5) = (2 * n, 7 * n, 9 * n, requests);
    let running = if n.is_multiple_of(2) { 3 } else { 6 };
    format!(
        "# TYPE vllm:e2e_request_latency_seconds histogram\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"0.5\",model_name=\"m\"}} {b05}\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"1.0\",model_name=\"m\"}} {b1}\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"2.5\",model_name=\"m\"}} {b25}\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"5.0\",model_name=\"m\"}} {b5}\n\
         vllm:e2e_request_latency_seconds_bucket{{le=\"+Inf\",model_name=\"m\"}} {requests}\n\
         vllm:e2e_request_latency_seconds_count{{model_name=\"m\"}} {requests}\n\
         vllm:e2e_request_latency_seconds_sum{{model_name=\"m\"}} {}\n\
         # TYPE vllm:num_requests_running gauge\n\
         vllm:num_requests_running{{model_name=\"m\"}} {running}\n\
         # TYPE vllm:prompt_tokens_total counter\n\
         vllm:prompt_tokens_total{{model_name=\"m\"}} {}\n\
         # TYPE vllm:generation_tokens_total counter\n\
         vllm:generation_tokens_total{{model_name=\"m\"}} {}\n",
        requests * 2,
        1000 * n,
        500 * n
    )
}

/// Serves `page(n)` on `/metrics`, `n` counting the scrapes; stops when `stop` is set.
fn exporter(stop: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let scrapes = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            while let Ok(n) = reader.read_line(&mut String::new()) {
                if n <= 2 {
                    break;
                }
            }
            let body = if line.starts_with("GET /metrics") {
                page(scrapes.fetch_add(1, Ordering::SeqCst) + 1)
            } else {
                String::new()
            };
            let status = if body.is_empty() { "404 Not Found" } else { "200 OK" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One instant query, as a number.
fn query(port: u16, promql: &str) -> Option<f64> {
    let encoded: String = promql
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET /api/v1/query?query={encoded} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut text);
    let body = text.split("\r\n\r\n").nth(1)?;
    let doc: Json = serde_json::from_str(body.trim()).ok()?;
    doc["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_real_prometheus_answers_latency_rate_and_peak_batch() {
    let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(binary) = binary else {
        eprintln!("skipped: no prometheus binary (Debian package `prometheus`; .ci/run installs it)");
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let exporter_port = exporter(stop.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             scrape_configs:\n  - job_name: engine\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
        ),
    )
    .expect("config");
    let web_port = free_port();
    let server = Prometheus(
        Command::new(binary)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    // Wait for at least 5 scrapes of data.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let requests = query(web_port, "max(vllm:e2e_request_latency_seconds_count)").unwrap_or(0.0);
        if requests >= 50.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never collected 5 scrapes ({requests} requests)"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata: {name: fleet}
spec:
  identity:
    model: {id: m, family: f, task: t, framework: vllm}
  runtime:
    accelerator: {vendor: nvidia, type: l4, count: 1}
    batch: {maxBatchSize: 4, maxSequenceLengthTokens: 1024}
  operations:
    scaling: {targetLatencyMsP95: 6000, targetRps: 1}
  governance:
    cost: {targetCostPer1kTokensUsd: 0.01}
",
    )
    .expect("spec");
    let url = format!("http://127.0.0.1:{web_port}");
    let o = Cmd::new()
        .args([
            "scan",
            spec.to_str().expect("UTF-8 path"),
            "--format",
            "json",
            "--timeout",
            "10s",
        ])
        .args(["--nvml-lib", "/nonexistent/libnvidia-ml.so.1", "--prometheus", &url])
        .args([
            "--range",
            "30s",
            "--selector",
            "{job=\"engine\"}",
            "--gpu-hourly-usd",
            "3.6",
        ])
        .output();
    let report: Json = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("report JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    let finding = |code: &str| report::first_section_finding(&report, "code", code).clone();

    // 95% of the rate is under 5 s and 90% under 2.5 s: the p95 bucket is (2.5, 5].
    let p95 = finding("latency-p95");
    assert_eq!(p95["status"], "pass", "{p95:#}");
    assert_eq!(p95["observed"]["p95_lower_ms"], 2500.0, "{p95:#}");
    assert_eq!(p95["observed"]["p95_upper_ms"], 5000.0, "{p95:#}");
    assert!(
        p95["message"]
            .as_str()
            .unwrap_or_default()
            .contains("over the last 30s"),
        "{p95:#}"
    );
    // About 10 requests a second against a target of 1: well over, so it warns.
    let rate = finding("request-rate");
    assert_eq!(rate["status"], "warn", "{rate:#}");
    // Running requests reached 6 in the range, 4 declared.
    let batch = finding("batch-observed");
    assert_eq!(batch["status"], "fail", "{batch:#}");
    assert_eq!(batch["observed"], 6.0, "{batch:#}");
    // Hundreds of tokens a second (rate() over a range the series only partly covers reads low)
    // on one GPU at $3.60/h: well under a cent per 1k tokens.
    let cost = finding("cost-per-1k-tokens");
    assert_eq!(cost["status"], "pass", "{cost:#}");
    let tokens = cost["evidence"]["raw"]["tokens_per_second"]
        .as_f64()
        .unwrap_or_default();
    assert!(tokens > 100.0, "{cost:#}");
    stop.store(true, Ordering::SeqCst);
    drop(server);
}
