//! The client against loopback servers that answer well, badly, slowly, endlessly or not at all.

mod support;

use modelspec_probe_http::{
    CUT_BODY_KEPT_BYTES, ClientOptions, Exchange, FailureKind, HttpClient, JsonProblemKind, Method, Request, Target,
    Token, fetch_all,
};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use support::{TestServer, hang, json, response};

const SECRET: &str = "sk-test-9f8e7d6c5b4a";

fn client_for(server: &TestServer) -> HttpClient {
    client_with(server, ClientOptions::default())
}

fn client_with(server: &TestServer, options: ClientOptions) -> HttpClient {
    let target = Target::endpoint(&server.base()).expect("loopback target");
    HttpClient::new(target, options).expect("client")
}

fn with_token() -> ClientOptions {
    ClientOptions {
        token: Some(Token::new(SECRET, "test").expect("token")),
        ..ClientOptions::default()
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn get(client: &HttpClient, path: &str) -> Exchange {
    client.fetch(&Request::get(path).accept("application/json"), soon())
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

#[test]
fn json_200_is_recorded_and_parsed() {
    let server = TestServer::canned(response(
        "200 OK",
        &[
            ("Content-Type", "application/json"),
            ("Server", "uvicorn"),
            ("X-Request-Id", "r-1"),
            ("X-Other", "no"),
        ],
        br#"{"object":"list","data":[{"id":"llama"}]}"#,
    ));
    let exchange = get(&client_for(&server), "/v1/models");
    assert_eq!(exchange.method, Method::Get);
    assert_eq!(exchange.url, format!("{}/v1/models", server.base()));
    assert_eq!(exchange.accept.as_deref(), Some("application/json"));
    let response = exchange.response().expect("a response");
    assert_eq!(response.status, 200);
    assert_eq!(response.http_version, "HTTP/1.1");
    assert!(response.latency_ms <= response.total_ms);
    assert_eq!(response.headers.get("server").map(String::as_str), Some("uvicorn"));
    assert_eq!(response.headers.get("x-request-id").map(String::as_str), Some("r-1"));
    assert!(!response.headers.contains_key("x-other"));
    assert!(!response.truncated && !response.binary);
    assert_eq!(response.body_bytes_read, response.body.len() as u64);
    let value = exchange.json().expect("valid JSON");
    assert_eq!(value["data"][0]["id"], "llama");

    let saved = serde_json::to_string(&exchange).expect("serializes");
    let replayed: Exchange = serde_json::from_str(&saved).expect("deserializes");
    assert_eq!(replayed, exchange);
    assert!(saved.contains(r#""outcome":"response""#), "{saved}");
}

#[test]
fn extra_header_names_are_recorded_lower_cased() {
    let server = TestServer::canned(response("200 OK", &[("X-Engine-Version", "0.6.1")], b"{}"));
    let options = ClientOptions {
        extra_headers: vec!["X-Engine-Version".into()],
        ..ClientOptions::default()
    };
    let exchange = get(&client_with(&server, options), "/version");
    let headers = &exchange.response().expect("response").headers;
    assert_eq!(headers.get("x-engine-version").map(String::as_str), Some("0.6.1"));
}

#[test]
fn not_found_is_a_status_problem() {
    let server = TestServer::canned(json("404 Not Found", r#"{"detail":"Not Found"}"#));
    let exchange = get(&client_for(&server), "/v1/nothing");
    assert_eq!(exchange.response().expect("response").status, 404);
    let problem = exchange.json().expect_err("404");
    assert_eq!(problem.kind, JsonProblemKind::Status);
    assert_eq!(problem.status, Some(404));
    assert!(
        problem.reason.contains("404 Not Found") && problem.reason.contains("/v1/nothing"),
        "{problem}"
    );
}

#[test]
fn service_unavailable_json_quotes_the_server() {
    let server = TestServer::canned(response(
        "503 Service Unavailable",
        &[("Content-Type", "application/json"), ("Retry-After", "30")],
        br#"{"error":"model is loading"}"#,
    ));
    let exchange = get(&client_for(&server), "/health");
    let response = exchange.response().expect("response");
    assert_eq!(response.headers.get("retry-after").map(String::as_str), Some("30"));
    let problem = exchange.json().expect_err("503");
    assert_eq!(problem.kind, JsonProblemKind::Status);
    assert!(
        problem.reason.contains("503") && problem.reason.contains("model is loading"),
        "{problem}"
    );
}

#[test]
fn html_pages_are_recognised_with_200_and_500() {
    let page = b"<!DOCTYPE html><html><body><h1>Bad Gateway</h1></body></html>";
    let ok = TestServer::canned(response("200 OK", &[("Content-Type", "text/html")], page));
    let problem = get(&client_for(&ok), "/v1/models").json().expect_err("HTML");
    assert_eq!(problem.kind, JsonProblemKind::HtmlPage);
    assert!(problem.reason.contains("HTML"), "{problem}");

    // No content type at all: the leading '<' gives it away.
    let untyped = TestServer::canned(response("200 OK", &[], b"\n  <html>nope</html>"));
    assert_eq!(
        get(&client_for(&untyped), "/").json().expect_err("HTML").kind,
        JsonProblemKind::HtmlPage
    );

    let failed = TestServer::canned(response(
        "500 Internal Server Error",
        &[("Content-Type", "text/html")],
        page,
    ));
    let problem = get(&client_for(&failed), "/v1/models").json().expect_err("500");
    assert_eq!(problem.kind, JsonProblemKind::Status);
    assert_eq!(problem.status, Some(500));
    assert!(
        problem.reason.contains("500") && problem.reason.contains("HTML"),
        "{problem}"
    );
}

#[test]
fn wrong_content_type_is_named() {
    let server = TestServer::canned(response(
        "200 OK",
        &[("Content-Type", "text/plain; charset=utf-8")],
        b"OK",
    ));
    let problem = get(&client_for(&server), "/health").json().expect_err("text/plain");
    assert_eq!(problem.kind, JsonProblemKind::WrongContentType);
    assert!(problem.reason.contains("text/plain"), "{problem}");

    let problem_json = TestServer::canned(response(
        "200 OK",
        &[("Content-Type", "application/problem+json")],
        b"{\"a\":1}",
    ));
    assert!(get(&client_for(&problem_json), "/").json().is_ok());
}

#[test]
fn malformed_json_reports_line_and_column() {
    let server = TestServer::canned(json("200 OK", "{\"data\": [1,\n  2,, 3]}"));
    let problem = get(&client_for(&server), "/v1/models").json().expect_err("malformed");
    assert_eq!(problem.kind, JsonProblemKind::Malformed);
    assert!(problem.reason.contains("line 2 column 5"), "{problem}");
}

#[test]
fn empty_body_is_its_own_problem() {
    let server = TestServer::canned(json("200 OK", ""));
    let problem = get(&client_for(&server), "/v1/models").json().expect_err("empty");
    assert_eq!(problem.kind, JsonProblemKind::EmptyBody);
}

#[test]
fn binary_bodies_are_flagged() {
    let server = TestServer::canned(response(
        "200 OK",
        &[("Content-Type", "application/octet-stream")],
        &[0xff, 0xfe, 0, 1],
    ));
    let exchange = get(&client_for(&server), "/blob");
    let response = exchange.response().expect("response");
    assert!(response.binary);
    assert_eq!(response.body_bytes_read, 4);
}

#[test]
fn a_server_that_never_answers_times_out_on_time() {
    let server = TestServer::start(|_, _, stop| hang(stop));
    let client = client_for(&server);
    let started = Instant::now();
    let exchange = client.fetch(&Request::get("/health").timeout(Duration::from_millis(800)), soon());
    let elapsed = started.elapsed();
    let failure = exchange.failure().expect("no response");
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure}");
    assert!(
        failure.reason.contains("/health") && failure.reason.contains("800ms"),
        "{failure}"
    );
    assert!(elapsed >= Duration::from_millis(750), "returned early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(800 + 1000), "took {elapsed:?}");
}

#[test]
fn the_overall_deadline_caps_the_request_timeout() {
    let server = TestServer::start(|_, _, stop| hang(stop));
    let client = client_for(&server);
    let started = Instant::now();
    let deadline = started + Duration::from_millis(600);
    let exchange = client.fetch(&Request::get("/health").timeout(Duration::from_secs(30)), deadline);
    assert!(
        started.elapsed() < Duration::from_millis(600 + 1000),
        "took {:?}",
        started.elapsed()
    );
    let failure = exchange.failure().expect("no response");
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(failure.reason.contains("overall deadline"), "{failure}");

    let late = client.fetch(&Request::get("/health"), Instant::now());
    let failure = late.failure().expect("not sent");
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(failure.reason.contains("not sent"), "{failure}");
}

#[test]
fn a_trickling_body_is_cut_at_the_deadline() {
    let server = TestServer::start(|_, stream, stop| support::trickle(stream, stop, Duration::from_millis(100)));
    let client = client_for(&server);
    let started = Instant::now();
    let exchange = client.fetch(&Request::get("/metrics").timeout(Duration::from_secs(1)), soon());
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1000 + 1000), "took {elapsed:?}");
    let response = exchange.response().expect("headers arrived");
    assert!(response.truncated);
    let cut = response.body_cut.as_ref().expect("cut");
    assert_eq!(cut.kind, FailureKind::Timeout, "{cut}");
    assert!(
        cut.reason.contains("still arriving") && cut.reason.contains("/metrics"),
        "{cut}"
    );
    assert!(response.body.starts_with("[1"), "{:?}", response.body);
    assert_eq!(response.body_bytes_read, response.body.len() as u64);
    assert_eq!(exchange.json().expect_err("cut").kind, JsonProblemKind::Truncated);
}

#[test]
fn an_endless_body_is_cut_at_the_cap() {
    let server = TestServer::start(|_, stream, stop| support::flood(stream, stop));
    let client = client_for(&server);
    let started = Instant::now();
    let cap = 100_000;
    let exchange = client.fetch(&Request::get("/metrics").max_body_bytes(cap), soon());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let response = exchange.response().expect("headers arrived");
    assert!(response.truncated);
    let cut = response.body_cut.as_ref().expect("cut");
    assert_eq!(cut.kind, FailureKind::TooLarge);
    assert!(cut.reason.contains("100000"), "{cut}");
    // Only the beginning of a cut body is kept (the rest was read up to the cap, then dropped):
    // a hostile server's megabytes must not ride along in every copy of the observation.
    assert_eq!(response.body.len(), CUT_BODY_KEPT_BYTES.min(cap));
    assert!(response.body_bytes_read > cap as u64);
    assert!(response.body_bytes_read <= cap as u64 + 16 * 1024);
}

#[test]
fn a_body_exactly_at_the_cap_is_whole() {
    let server = TestServer::canned(response("200 OK", &[], &[b'a'; 1000]));
    let exchange = client_for(&server).fetch(&Request::get("/").max_body_bytes(1000), soon());
    let response = exchange.response().expect("response");
    assert!(!response.truncated);
    assert_eq!(response.body.len(), 1000);
}

#[test]
fn a_server_closing_mid_headers_is_reported() {
    let server = TestServer::start(|_, stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty");
    });
    let exchange = get(&client_for(&server), "/v1/models");
    let failure = exchange.failure().expect("no complete response");
    assert_eq!(failure.kind, FailureKind::ConnectionClosed, "{failure}");
    assert!(
        failure.reason.contains("/v1/models") && failure.reason.contains("closed"),
        "{failure}"
    );
}

#[test]
fn a_server_closing_mid_body_keeps_what_arrived() {
    let server = TestServer::start(|_, stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":");
    });
    let exchange = get(&client_for(&server), "/v1/models");
    let response = exchange.response().expect("headers arrived");
    assert!(response.truncated);
    let cut = response.body_cut.as_ref().expect("cut");
    assert_eq!(cut.kind, FailureKind::ConnectionClosed, "{cut}");
    assert_eq!(response.body, "{\"partial\":");
}

#[test]
fn garbage_instead_of_http_is_a_protocol_failure() {
    let server = TestServer::start(|_, stream, _| {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    });
    let failure = get(&client_for(&server), "/").failure().cloned().expect("no response");
    assert_eq!(failure.kind, FailureKind::Protocol, "{failure}");
}

#[test]
fn connection_refused_says_where_and_what_to_do() {
    let port = closed_port();
    let target = Target::host_port("127.0.0.1", port).expect("target");
    let client = HttpClient::new(target, with_token()).expect("client");
    let exchange = client.fetch(&Request::get("/v1/models"), soon());
    let failure = exchange.failure().expect("refused");
    assert_eq!(failure.kind, FailureKind::ConnectionRefused, "{failure}");
    assert!(failure.reason.contains(&format!("127.0.0.1:{port}")), "{failure}");
    assert!(failure.reason.contains("--endpoint"), "{failure}");
    assert!(!failure.reason.contains(SECRET));
    let saved = serde_json::to_string(&exchange).expect("serializes");
    assert!(
        saved.contains(r#""outcome":"failure","kind":"connection_refused""#),
        "{saved}"
    );
}

#[test]
fn same_host_redirects_are_followed_with_the_token() {
    let server = TestServer::start(|request, stream, _| {
        let answer = match request.path() {
            "/start" => response("302 Found", &[("Location", "/final")], b""),
            _ => json("200 OK", r#"{"ok":true}"#),
        };
        let _ = stream.write_all(&answer);
    });
    let exchange = client_with(&server, with_token()).fetch(&Request::get("/start"), soon());
    let response = exchange.response().expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.final_url.as_deref(),
        Some(format!("{}/final", server.base()).as_str())
    );
    assert!(response.redirect_not_followed.is_none());
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {SECRET}")),
            "{request:?}"
        );
    }
}

#[test]
fn redirect_loops_stop() {
    let server = TestServer::canned(response("302 Found", &[("Location", "/again")], b""));
    let options = ClientOptions {
        max_redirects: 3,
        ..ClientOptions::default()
    };
    let exchange = client_with(&server, options).fetch(&Request::get("/again"), soon());
    let response = exchange.response().expect("response");
    assert_eq!(response.status, 302);
    let redirect = response.redirect_not_followed.as_ref().expect("stopped");
    assert_eq!(redirect.why.kind, FailureKind::TooManyRedirects);
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn redirects_to_another_host_or_port_are_not_followed_and_get_no_token() {
    let elsewhere = TestServer::start_on("127.0.0.2", |_, stream, _| {
        let _ = stream.write_all(&json("200 OK", "{}"));
    });
    let other_port = TestServer::start(|_, stream, _| {
        let _ = stream.write_all(&json("200 OK", "{}"));
    });
    for destination in [elsewhere.base(), other_port.base()] {
        let location = format!("{destination}/steal");
        let home = TestServer::canned(response("307 Temporary Redirect", &[("Location", &location)], b""));
        let exchange = client_with(&home, with_token()).fetch(&Request::get("/v1/models"), soon());
        let response = exchange.response().expect("the 3xx is the response");
        assert_eq!(response.status, 307);
        assert_eq!(response.headers.get("location"), Some(&location));
        let redirect = response.redirect_not_followed.as_ref().expect("not followed");
        assert_eq!(redirect.location, location);
        assert_eq!(redirect.why.kind, FailureKind::RedirectOffHost);
        assert!(redirect.why.reason.contains(&location), "{}", redirect.why);
        assert_eq!(
            exchange.json().expect_err("redirect").kind,
            JsonProblemKind::RedirectNotFollowed
        );
        assert_eq!(
            home.requests()[0].header("authorization"),
            Some(format!("Bearer {SECRET}"))
        );
    }
    assert!(
        elsewhere
            .requests()
            .iter()
            .all(|request| request.header("authorization").is_none())
    );
    assert!(elsewhere.requests().is_empty(), "the other host was contacted");
    assert!(other_port.requests().is_empty(), "the other port was contacted");
}

#[test]
fn credentials_in_a_location_are_not_recorded() {
    let server = TestServer::canned(response(
        "302 Found",
        &[("Location", "http://user:pw1234@127.0.0.3:1/x")],
        b"",
    ));
    let exchange = get(&client_for(&server), "/");
    let saved = serde_json::to_string(&exchange).expect("serializes");
    assert!(!saved.contains("pw1234"), "{saved}");
    let redirect = exchange
        .response()
        .and_then(|r| r.redirect_not_followed.clone())
        .expect("not followed");
    assert_eq!(redirect.location, "http://<redacted>@127.0.0.3:1/x");
}

#[test]
fn the_token_never_shows_even_when_the_server_echoes_it() {
    let server = TestServer::start(|request, stream, _| {
        let auth = request.header("authorization").unwrap_or_default();
        let body = format!(r#"{{"you_sent":"{auth}"}}"#);
        let _ = stream.write_all(&response(
            "401 Unauthorized",
            &[
                ("Content-Type", "application/json"),
                ("WWW-Authenticate", &format!("Bearer error=\"{auth}\"")),
            ],
            body.as_bytes(),
        ));
    });
    let client = client_with(&server, with_token());
    assert!(!format!("{client:?}").contains(SECRET), "{client:?}");
    let exchange = get(&client, "/v1/models");
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {SECRET}"))
    );
    let saved = serde_json::to_string(&exchange).expect("serializes");
    assert!(!saved.contains(SECRET), "{saved}");
    assert!(saved.contains("<redacted>"), "{saved}");
    assert!(!format!("{exchange:?}").contains(SECRET));
    let problem = exchange.json().expect_err("401");
    assert!(!problem.reason.contains(SECRET), "{problem}");

    let token = Token::new(SECRET, "test").expect("token");
    assert!(!format!("{token:?} {token}").contains(SECRET));
}

#[test]
fn gzip_bodies_are_decoded() {
    use flate2::{Compression, write::GzEncoder};
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let plain = "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 3\n".repeat(50);
    encoder.write_all(plain.as_bytes()).expect("compress");
    let compressed = encoder.finish().expect("compress");
    let compressed_len = compressed.len();
    let server = TestServer::start(move |request, stream, _| {
        let asked = request.header("accept-encoding").unwrap_or_default();
        let answer = if asked.contains("gzip") {
            response(
                "200 OK",
                &[("Content-Type", "text/plain"), ("Content-Encoding", "gzip")],
                &compressed,
            )
        } else {
            response("406 Not Acceptable", &[], b"gzip was not offered")
        };
        let _ = stream.write_all(&answer);
    });
    let exchange = client_for(&server).fetch(&Request::get("/metrics").accept("text/plain"), soon());
    let response = exchange.response().expect("response");
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, plain);
    assert_eq!(response.body_bytes_read, plain.len() as u64);
    assert!(compressed_len < plain.len());
    // The decoder drops the wire's encoding headers: what is recorded is the decoded body.
    assert!(!response.headers.contains_key("content-encoding"));
}

#[test]
fn a_batch_of_hanging_requests_ends_by_the_deadline_in_order() {
    let server = TestServer::start(|_, _, stop| hang(stop));
    let client = client_for(&server);
    let requests: Vec<Request> = (0..10)
        .map(|n| Request::get(format!("/hang/{n}")).timeout(Duration::from_secs(30)))
        .collect();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(1);
    let exchanges = fetch_all(&client, &requests, deadline);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2500), "took {elapsed:?}");
    assert_eq!(exchanges.len(), 10);
    for (n, exchange) in exchanges.iter().enumerate() {
        assert!(
            exchange.url.ends_with(&format!("/hang/{n}")),
            "{} out of order",
            exchange.url
        );
        assert_eq!(
            exchange.failure().map(|f| f.kind),
            Some(FailureKind::Timeout),
            "{exchange:?}"
        );
    }
}

#[test]
fn a_mixed_batch_keeps_request_order() {
    let server = TestServer::start(|request, stream, _| {
        let body = format!(r#"{{"path":"{}"}}"#, request.path());
        let _ = stream.write_all(&json("200 OK", &body));
    });
    let client = client_for(&server);
    let mut requests: Vec<Request> = (0..20).map(|n| Request::get(format!("/item/{n}"))).collect();
    requests.push(Request::get("//evil.example/"));
    let exchanges = fetch_all(&client, &requests, soon());
    assert_eq!(exchanges.len(), 21);
    for (n, exchange) in exchanges.iter().take(20).enumerate() {
        assert_eq!(exchange.json().expect("json")["path"], format!("/item/{n}"));
    }
    assert_eq!(exchanges[20].failure().map(|f| f.kind), Some(FailureKind::InvalidUrl));
    assert!(fetch_all(&client, &[], soon()).is_empty());
}

#[test]
fn paths_that_would_leave_the_target_are_never_sent() {
    let server = TestServer::canned(json("200 OK", "{}"));
    let client = client_with(&server, with_token());
    for path in ["//evil.example/x", "http://evil.example/", "/../x", "relative"] {
        let exchange = client.fetch(&Request::get(path), soon());
        let failure = exchange.failure().expect("refused");
        assert_eq!(failure.kind, FailureKind::InvalidUrl, "{path}: {failure}");
    }
    assert!(server.requests().is_empty());
}

#[test]
fn https_against_plain_http_is_a_tls_failure() {
    let server = TestServer::raw(|stream, _| {
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let target = Target::endpoint(&format!("https://127.0.0.1:{}", server.port())).expect("target");
    let client = HttpClient::new(target, with_token()).expect("client");
    let exchange = client.fetch(&Request::get("/v1/models"), soon());
    let failure = exchange.failure().expect("no TLS");
    assert_eq!(failure.kind, FailureKind::Tls, "{failure}");
    assert!(
        failure.reason.contains("http://") && failure.reason.contains("TLS"),
        "{failure}"
    );
    assert!(!failure.reason.contains(SECRET));
}

#[test]
fn a_bad_ca_file_is_explained() {
    let dir = std::env::temp_dir().join(format!("modelspec-http-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("ca.pem");
    std::fs::write(&path, "not a certificate\n").expect("write");
    let target = Target::host_port("127.0.0.1", 1).expect("target");
    let options = ClientOptions {
        ca_file: Some(path.clone()),
        ..ClientOptions::default()
    };
    let error = HttpClient::new(target.clone(), options).expect_err("no certificate");
    assert!(
        error.reason().contains("ca.pem") && error.reason().contains("PEM"),
        "{error}"
    );
    let missing = ClientOptions {
        ca_file: Some(dir.join("missing.pem")),
        ..ClientOptions::default()
    };
    let error = HttpClient::new(target, missing).expect_err("missing");
    assert!(
        error.reason().contains("missing.pem") && error.reason().contains("--ca-file"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn head_requests_have_no_body() {
    let server = TestServer::canned(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_vec());
    let exchange = client_for(&server).fetch(&Request::head("/health"), soon());
    let response = exchange.response().expect("response");
    assert_eq!(exchange.method, Method::Head);
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty() && !response.truncated);
}

#[test]
fn post_sends_its_body() {
    let server = TestServer::start(|request, stream, _| {
        let kind = request.header("content-type").unwrap_or_default();
        let _ = stream.write_all(&json("200 OK", &format!(r#"{{"got":"{kind}"}}"#)));
    });
    let exchange = client_for(&server).fetch(&Request::post_json("/v1/completions", r#"{"prompt":"hi"}"#), soon());
    assert_eq!(exchange.method, Method::Post);
    assert_eq!(exchange.json().expect("json")["got"], "application/json");
}
