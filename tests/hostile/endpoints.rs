//! Hostile HTTP answers on the engine's introspection routes: slow, endless, huge, compressed,
//! redirected, malformed, or lying about the engine.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::harness::{nothing_passes_but, scan, spec};
use crate::server::{Behaviour, serve, serve_on};

/// Findings that read the introspection routes (`/v1/models`, `/version`, `/info`, ...).
const ENGINE_FINDINGS: &[&str] = &["model-id", "model-framework", "batch-max-sequence-length"];

/// Findings true of a server that sent status lines, whatever came after: something listens on
/// the port, and it speaks HTTP.
const ANSWERED_HTTP: &[&str] = &["serving-port", "serving-protocol"];

/// Response headers of a JSON answer of `length` bytes, as a server that means it would send.
fn json_head(length: Option<u64>) -> Vec<u8> {
    let length = length.map(|l| format!("content-length: {l}\r\n")).unwrap_or_default();
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{length}connection: close\r\n\r\n").into_bytes()
}

#[test]
fn slowloris_headers_one_byte_a_second() {
    let server = serve(|_| Behaviour::Dribble {
        fast: Vec::new(),
        slow: json_head(Some(2)).into_iter().chain(*b"{}").collect(),
        interval: Duration::from_secs(1),
    });
    let scan = scan("slowloris-headers", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["no response headers", "timed out", "deadline"]);
    }
    scan.refused("readiness-probe", &["no response headers", "timed out", "deadline"]);
    nothing_passes_but(&scan, &["serving-port"]);
}

#[test]
fn slowloris_body_one_byte_a_second() {
    let body = br#"{"object":"list","data":[{"id":"tiny-llama","owned_by":"vllm","max_model_len":1024}]}"#;
    let server = serve(move |_| Behaviour::Dribble {
        fast: json_head(Some(body.len() as u64)),
        slow: body.to_vec(),
        interval: Duration::from_secs(1),
    });
    let scan = scan("slowloris-body", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["still arriving", "cut short", "deadline", "timed out"]);
    }
    nothing_passes_but(&scan, ANSWERED_HTTP);
}

#[test]
fn a_body_that_never_ends() {
    let server = serve(|_| Behaviour::Stream {
        head: json_head(None),
        body: Box::new(|n| Some(if n == 0 { b"[".to_vec() } else { b"1,".repeat(32 * 1024) })),
    });
    let scan = scan("endless-body", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(
            code,
            &[
                "larger than the cap",
                "too large",
                "cut short",
                "still arriving",
                "deadline",
            ],
        );
    }
    nothing_passes_but(&scan, ANSWERED_HTTP);
}

/// Content-Length: 2147483648, and zeros streamed: a client that sizes a buffer from the header,
/// or reads to the end, allocates 2 GB.
#[test]
fn a_two_gigabyte_body() {
    const SIZE: u64 = 2_147_483_648;
    const CHUNK: usize = 64 * 1024;
    let server = serve(|_| Behaviour::Stream {
        head: json_head(Some(SIZE)),
        body: Box::new(|n| (n < SIZE / CHUNK as u64).then(|| vec![0u8; CHUNK])),
    });
    let scan = scan("two-gigabyte-body", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(
            code,
            &[
                "larger than the cap",
                "too large",
                "cut short",
                "still arriving",
                "deadline",
            ],
        );
    }
    nothing_passes_but(&scan, ANSWERED_HTTP);
}

/// A gzip stream of 4 GiB of zeros, about 4 MiB on the wire, made of one full-flushed deflate
/// segment of 1 MiB of zeros repeated: each segment is self-contained (a full flush resets the
/// dictionary and aligns to a byte), so repeating it is a valid deflate stream, and the trailer's
/// CRC and length are right. Only the first few segments are ever read.
fn gzip_bomb() -> (Vec<u8>, Vec<u8>, Vec<u8>, u64) {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    const SEGMENT: usize = 1 << 20;
    const SEGMENTS: u64 = 4096;
    let zeros = vec![0u8; SEGMENT];
    let mut compress = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(64 * 1024);
    compress
        .compress_vec(&zeros, &mut segment, FlushCompress::Full)
        .expect("deflate a segment of zeros");
    assert_eq!(compress.total_in(), SEGMENT as u64, "the whole segment was deflated");
    assert!(
        segment.len() < 8 * 1024,
        "a segment compresses to {} bytes",
        segment.len()
    );
    let mut crc = Crc::new();
    let mut one = Crc::new();
    one.update(&zeros);
    for _ in 0..SEGMENTS {
        crc.combine(&one);
    }
    // RFC 1952 header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    let header = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    // A final, empty stored block (BFINAL=1, BTYPE=00, LEN=0, NLEN=!0), then CRC32 and ISIZE.
    let mut trailer = vec![0x01, 0x00, 0x00, 0xff, 0xff];
    trailer.extend_from_slice(&crc.sum().to_le_bytes());
    trailer.extend_from_slice(&((SEGMENT as u64 * SEGMENTS) as u32).to_le_bytes());
    (header, segment, trailer, SEGMENTS)
}

#[test]
fn a_gzip_bomb() {
    let (header, segment, trailer, segments) = gzip_bomb();
    eprintln!(
        "[hostile] gzip bomb: a {} byte segment inflates to 1 MiB",
        segment.len()
    );
    let server = serve(move |_| {
        let (header, segment, trailer) = (header.clone(), segment.clone(), trailer.clone());
        Behaviour::Stream {
            head: b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\nconnection: close\r\n\r\n"
                .to_vec(),
            body: Box::new(move |n| match n {
                    0 => Some(header.clone()),
                    n if n <= segments => Some(segment.clone()),
                n if n == segments + 1 => Some(trailer.clone()),
                _ => None,
            }),
        }
    });
    let scan = scan("gzip-bomb", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["larger than the cap", "too large", "cut short"]);
    }
    // What the client read cannot be counted from here (the kernel buffers megabytes of
    // segments per connection); the peak RSS and the wall time checked by `scan` are the proof
    // that it stopped at the caps and did not inflate the gigabytes.
    nothing_passes_but(&scan, ANSWERED_HTTP);
}

/// Every path redirects to a new one, forever (`/hop/1`, `/hop/2`, ...): a loop detector that
/// only looks for repeated URLs never fires.
#[test]
fn a_thousand_hop_redirect_loop() {
    let server = serve(|path| {
        let hop: u64 = path.strip_prefix("/hop/").and_then(|n| n.parse().ok()).unwrap_or(0);
        if hop >= 1_000 {
            return Behaviour::json(200, r#"{"data":[{"id":"tiny-llama","owned_by":"vllm"}]}"#);
        }
        Behaviour::Reply {
            status: 302,
            headers: vec![("location".into(), format!("/hop/{}", hop + 1))],
            body: Vec::new(),
        }
    });
    let scan = scan("redirect-loop", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["redirect"]);
    }
    scan.refused("readiness-probe", &["redirect"]);
    nothing_passes_but(&scan, ANSWERED_HTTP);
    let requests = server.requests();
    let deepest = requests
        .iter()
        .filter_map(|p| p.strip_prefix("/hop/")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    assert!(deepest <= 10, "the client followed {deepest} hops");
    assert!(requests.len() < 500, "{} requests for one scan", requests.len());
}

/// A redirect to another loopback host, where a trap server listens: the client must report it
/// and never go there (the token would follow).
#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let trap = serve_on(Ipv4Addr::new(127, 0, 0, 2), |_| {
        Behaviour::json(
            200,
            r#"{"data":[{"id":"tiny-llama","owned_by":"vllm","max_model_len":1024}]}"#,
        )
    });
    let elsewhere = format!("http://{}", trap.addr);
    let server = serve(move |path| Behaviour::Reply {
        status: 307,
        headers: vec![("location".into(), format!("{elsewhere}{path}"))],
        body: Vec::new(),
    });
    let scan = scan("redirect-off-host", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["another host", "redirect"]);
    }
    nothing_passes_but(&scan, ANSWERED_HTTP);
    assert!(
        trap.requests().is_empty(),
        "the redirect was followed: {:?}",
        trap.requests()
    );
}

/// A /v1/models that is JSON but for one byte that is not UTF-8 (JSON text must be UTF-8,
/// RFC 8259): replacing the byte and reading on would pass the model on a body that is invalid.
#[test]
fn invalid_utf8_in_json() {
    let server = serve(|path| match path {
        "/v1/models" => Behaviour::json(
            200,
            b"{\"data\":[{\"id\":\"tiny-llama\",\"owned_by\":\"vllm\",\"max_model_len\":1024,\"note\":\"\xff\xfe\"}]}"
                .to_vec(),
        ),
        _ => Behaviour::not_found(),
    });
    let scan = scan("invalid-utf8", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["UTF-8"]);
    }
    nothing_passes_but(&scan, ANSWERED_HTTP);
}

/// `[[[[...` 100,000 deep on every JSON route: a recursive parser without a limit overflows
/// the stack.
#[test]
fn json_nested_a_hundred_thousand_deep() {
    let server = serve(|path| match path {
        "/metrics" => Behaviour::not_found(),
        _ => Behaviour::json(200, "[".repeat(100_000) + &"]".repeat(100_000)),
    });
    let scan = scan("deep-nesting", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["nested deeper than 128 levels"]);
    }
    nothing_passes_but(&scan, &["serving-port", "readiness-probe", "serving-protocol"]);
}

/// Says vLLM where it is cheap to say (`owned_by`, `/version`) and answers TGI's `/info`: the
/// engine cannot be named from such answers, and a vLLM spec must not pass on them.
#[test]
fn a_server_that_claims_vllm_but_answers_tgi() {
    let server = serve(|path| match path {
        "/v1/models" => Behaviour::json(
            200,
            r#"{"object":"list","data":[{"id":"tiny-llama","object":"model","owned_by":"vllm"}]}"#,
        ),
        "/version" => Behaviour::json(200, r#"{"version":"0.32.0"}"#),
        "/info" => Behaviour::json(
            200,
            r#"{"model_id":"tiny-llama","model_dtype":"torch.float16","max_concurrent_requests":128,"max_input_tokens":1023,"max_total_tokens":1024,"max_batch_total_tokens":16384,"router":"text-generation-router","version":"2.2.0","validation_workers":2}"#,
        ),
        "/health" => Behaviour::json(200, ""),
        _ => Behaviour::not_found(),
    });
    let scan = scan("engine-mismatch", &spec(server.port(), "vllm"), &[]);
    scan.refused(
        "model-framework",
        &["tgi", "text-generation-inference", "both", "conflict"],
    );
    nothing_passes_but(
        &scan,
        &["serving-port", "readiness-probe", "serving-protocol", "model-id"],
    );
}
