//! Hostile `/metrics` pages behind an otherwise well-behaved vLLM: the identity findings still
//! pass on the real answers, and the metrics findings do not pass on a page that was cut or
//! refused.

use std::io::Write;

use crate::harness::{nothing_passes_but, scan, spec};
use crate::server::{Behaviour, serve};

/// What a well-behaved vLLM answers everywhere but `/metrics`.
fn vllm_route(path: &str) -> Option<Behaviour> {
    match path {
        "/v1/models" => Some(Behaviour::json(
            200,
            r#"{"object":"list","data":[{"id":"tiny-llama","object":"model","owned_by":"vllm","root":"tiny-llama","max_model_len":1024}]}"#,
        )),
        "/health" => Some(Behaviour::json(200, "")),
        "/version" => Some(Behaviour::json(200, r#"{"version":"0.32.0"}"#)),
        "/metrics" => None,
        _ => Some(Behaviour::not_found()),
    }
}

/// Findings the real answers of `vllm_route` may pass.
const HONEST: &[&str] = &[
    "serving-port",
    "serving-protocol",
    "readiness-probe",
    "model-id",
    "model-framework",
    "batch-max-sequence-length",
];

/// Ten million series, generated as they are sent: about 600 MB of text, far past the 64 MiB
/// cap on a metrics page.
#[test]
fn ten_million_series() {
    const SERIES: u64 = 10_000_000;
    const PER_CHUNK: u64 = 2_000;
    let server = serve(|path| {
        vllm_route(path).unwrap_or_else(|| Behaviour::Stream {
            head: b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\nconnection: close\r\n\r\n".to_vec(),
            body: Box::new(|n| {
                let first = n * PER_CHUNK;
                (first < SERIES).then(|| {
                    let mut chunk = Vec::with_capacity(PER_CHUNK as usize * 64);
                    if n == 0 {
                        chunk.extend_from_slice(b"# TYPE vllm:num_requests_running gauge\n");
                    }
                    for i in first..first + PER_CHUNK {
                        let _ = writeln!(
                            chunk,
                            "vllm:num_requests_running{{model_name=\"tiny-llama\",replica=\"{i}\"}} 0"
                        );
                    }
                    chunk
                })
            }),
        })
    });
    let scan = scan("ten-million-series", &spec(server.port(), "vllm"), &[]);
    scan.refused(
        "metrics-exposed",
        &["too large", "larger than the cap", "cut short", "truncated", "deadline"],
    );
    nothing_passes_but(&scan, HONEST);
    assert_eq!(
        scan.finding("model-id")["status"],
        "pass",
        "the identity answers were real"
    );
}

/// One sample whose label value is 1 MB: over the parser's line cap, so the line is an error,
/// not a sample; the page's other families are still read.
#[test]
fn a_one_megabyte_label_value() {
    let page = format!(
        "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{{model_name=\"{}\"}} 3\n",
        "x".repeat(1 << 20)
    );
    let server = serve(move |path| {
        vllm_route(path).unwrap_or_else(|| Behaviour::with_type(200, "text/plain; version=0.0.4", page.clone()))
    });
    let scan = scan("megabyte-label", &spec(server.port(), "vllm"), &[]);
    // The page is served, with a line that breaks the format: a warning that says so (the
    // existing verdict for malformed lines), never a pass.
    let exposed = scan.finding("metrics-exposed");
    assert_eq!(exposed["status"], "warn", "{exposed:#}");
    assert!(
        exposed["message"]
            .as_str()
            .unwrap_or_default()
            .contains("malformed line"),
        "{exposed:#}"
    );
    nothing_passes_but(&scan, HONEST);
    assert_eq!(
        scan.finding("model-id")["status"],
        "pass",
        "the identity answers were real"
    );
}
