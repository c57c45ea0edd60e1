//! `modelspec serve`, as a process: its pages, what it refuses, reloading (SIGHUP, a changed
//! spec folder, a broken spec that keeps the last good set), SIGTERM exiting 0, TLS and basic
//! auth from a web config, a real Prometheus scraping it with the alert rules firing on the
//! demo's drift, and a bounded load test (many scrapers, slowloris clients). Loopback only.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::root;

/// A running `modelspec serve`; killed on drop.
struct Serve {
    child: Child,
    addr: SocketAddr,
    /// Its standard error after the line saying where it listens.
    log: Arc<Mutex<String>>,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        Serve::start_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
    }

    fn start_in(dir: &Path, args: &[&str]) -> Serve {
        Serve::start_with(dir, args, &[])
    }

    /// In `dir`, with `env` besides (a fake NVML's profile).
    fn start_with(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelspec"))
            .current_dir(dir)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("MODELSPEC_NVML_LIB", "/nonexistent/libnvidia-ml.so.1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start modelspec serve");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let mut head = String::new();
        let addr = loop {
            line.clear();
            if stderr.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                panic!("serve exited before listening: {head}");
            }
            head.push_str(&line);
            if let Some(rest) = line.split("://").nth(1)
                && line.starts_with("modelspec serve: listening on")
            {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                break addr.parse::<SocketAddr>().expect("an address");
            }
        };
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            while stderr.read_line(&mut rest).unwrap_or(0) > 0 {
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&rest);
                }
                rest.clear();
            }
        });
        Serve { child, addr, log }
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        request(
            self.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    }

    /// The value of a series on /metrics.
    fn metric(&self, series: &str) -> Option<f64> {
        let (_, _, body) = self.get("/metrics");
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Waits (bounded) until `ok` holds.
    fn wait_for(&self, what: &str, ok: impl Fn(&Serve) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ok(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Resident memory, KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw exchange: status, head, body (the server closes after it).
fn request(addr: SocketAddr, raw: &str) -> (u16, String, String) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return (0, String::new(), String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if stream.write_all(raw.as_bytes()).is_err() {
        return (0, String::new(), String::new());
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn serve_answers_its_pages_and_refuses_what_takes_input() {
    let serve = Serve::start(&["--demo", "--interval", "200ms"]);
    assert_eq!(serve.get("/healthz").0, 200);
    serve.wait_for("a first scan", |s| s.get("/readyz").0 == 200);
    let (status, head, metrics) = serve.get("/metrics");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/plain; version=0.0.4"), "{head}");
    for series in [
        "modelspec_check{spec=\"support-chat\"",
        "modelspec_scan_success 1",
        "modelspec_build_info{version=",
        "modelspec_serve_scans_total{result=\"success\"}",
        "modelspec_serve_scan_duration_seconds_bucket{le=\"+Inf\"}",
        "modelspec_serve_skipped_ticks_total",
    ] {
        assert!(metrics.contains(series), "{series}\n{metrics}");
    }
    let (status, _, json) = serve.get("/report.json");
    assert_eq!(status, 200);
    let report: serde_json::Value = serde_json::from_str(&json).expect("a JSON report");
    assert_eq!(report["specs"][0]["spec"]["name"], "support-chat");
    let (status, head, html) = serve.get("/report.html");
    assert_eq!(status, 200);
    assert!(head.contains("content-security-policy: default-src 'none'"), "{head}");
    assert!(html.contains("support-chat"));
    assert_eq!(serve.get("/nothing").0, 404);

    // Nothing takes input.
    let (status, head, _) = request(
        serve.addr,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 405);
    assert!(head.contains("allow: get, head"), "{head}");
    let (status, _, _) = request(
        serve.addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(status, 413);
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    assert_eq!(request(serve.addr, &huge).0, 431, "a head over 16 KiB");
    // A client that never finishes its request head is cut off.
    let mut slow = TcpStream::connect(serve.addr).expect("connect");
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").expect("send");
    let started = Instant::now();
    slow.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "held for {:?}",
        started.elapsed()
    );

    // SIGTERM: drains and exits 0.
    let mut serve = serve;
    serve.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = serve.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

/// The demo's spec and observation, as files: a spec folder scanned against a replayed node.
fn spec_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("specs")).expect("mkdir");
    std::fs::copy(
        root().join("fixtures/demo/demo.modelspec.yaml"),
        dir.path().join("specs/chat.yaml"),
    )
    .expect("copy spec");
    std::fs::copy(
        root().join("fixtures/demo/observation.json"),
        dir.path().join("observation.json"),
    )
    .expect("copy observation");
    dir
}

#[test]
fn a_broken_spec_keeps_the_last_good_set_and_a_fix_or_sighup_reloads() {
    let dir = spec_folder();
    let serve = Serve::start_in(
        dir.path(),
        &["specs", "--facts", "observation.json", "--interval", "200ms"],
    );
    serve.wait_for("a first scan", |s| s.get("/readyz").0 == 200);
    assert_eq!(serve.metric("modelspec_serve_spec_documents"), Some(1.0));

    // A broken file in the folder: noticed, refused, the last good set still scanned.
    std::fs::write(
        dir.path().join("specs/broken.yaml"),
        "apiVersion: piqc.ai/v1alpha1\nkind: [",
    )
    .expect("write");
    serve.wait_for("the failed reload", |s| {
        s.metric("modelspec_serve_reloads_total{result=\"error\"}") == Some(1.0)
    });
    assert_eq!(serve.metric("modelspec_serve_last_reload_success"), Some(0.0));
    assert_eq!(serve.metric("modelspec_serve_spec_documents"), Some(1.0));
    let scans = serve
        .metric("modelspec_serve_scans_total{result=\"success\"}")
        .unwrap_or(0.0);
    serve.wait_for("scans go on", |s| {
        s.metric("modelspec_serve_scans_total{result=\"success\"}")
            .unwrap_or(0.0)
            > scans + 1.0
    });
    let log = serve.log();
    assert!(log.contains("broken.yaml"), "the log names the file: {log}");
    assert!(log.contains("the last good set is still scanned"), "{log}");

    // Fixed (a second valid spec): reloaded, both scanned.
    let second = std::fs::read_to_string(root().join("fixtures/demo/demo.modelspec.yaml"))
        .expect("spec")
        .replace("name: support-chat", "name: support-chat-b");
    std::fs::write(dir.path().join("specs/broken.yaml"), second).expect("write");
    serve.wait_for("the fixed reload", |s| {
        s.metric("modelspec_serve_spec_documents") == Some(2.0)
    });
    assert_eq!(serve.metric("modelspec_serve_last_reload_success"), Some(1.0));
    serve.wait_for("a report of both", |s| {
        s.get("/report.json").2.contains("support-chat-b")
    });

    // SIGHUP reloads, changed or not.
    let before = serve
        .metric("modelspec_serve_reloads_total{result=\"success\"}")
        .unwrap_or(0.0);
    serve.signal("HUP");
    serve.wait_for("the SIGHUP reload", |s| {
        s.metric("modelspec_serve_reloads_total{result=\"success\"}")
            .unwrap_or(0.0)
            > before
    });
}

/// An XID reaches only an NVML event set registered before it happens: `serve` watches for its
/// whole life, so an XID that arrives between two scans (the fake NVML delivers XID 79 1.5 s
/// after the watch began) fails `gpu-xid` in every scan after it, as falling off the bus.
#[test]
fn serve_watches_for_xid_errors_for_its_whole_life() {
    let dir = spec_folder();
    let mut profile: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::gpu_profile("demo-node")).expect("read the demo profile"),
    )
    .expect("a JSON profile");
    profile["devices"][1]["xid_events"] = serde_json::json!([{"xid": 79, "after_ms": 1500}]);
    let profile_path = dir.path().join("profile.json");
    std::fs::write(&profile_path, profile.to_string()).expect("write the profile");
    let lib = support::fake_nvml();
    let pid = std::process::id().to_string();
    let serve = Serve::start_with(
        dir.path(),
        &[
            "specs",
            "--nvml-lib",
            lib.to_str().expect("UTF-8 path"),
            // The demo's server does not run here: name a process, so the spec is judged.
            "--pid",
            &pid,
            "--interval",
            "250ms",
        ],
        &[("FAKE_NVML_PROFILE", &profile_path)],
    );
    let xid = |status: &str| {
        format!(
            "modelspec_check{{spec=\"support-chat\",code=\"gpu-xid\",pointer=\"/spec/runtime/accelerator\",status=\"{status}\"}}"
        )
    };
    serve.wait_for("a scan with no XID yet", |s| s.metric(&xid("pass")) == Some(1.0));
    serve.wait_for("the XID, in a later scan", |s| s.metric(&xid("fail")) == Some(1.0));
    let (_, _, report) = serve.get("/report.json");
    assert!(report.contains("GPU 1: XID 79 at "), "{report}");
    assert!(report.contains("fallen off the bus"), "{report}");
    // Every later scan still reports it: the watch is the process's, not the scan's.
    let scans = serve
        .metric("modelspec_serve_scans_total{result=\"success\"}")
        .unwrap_or(0.0);
    serve.wait_for("two more scans", |s| {
        s.metric("modelspec_serve_scans_total{result=\"success\"}")
            .unwrap_or(0.0)
            >= scans + 2.0
    });
    assert_eq!(serve.metric(&xid("fail")), Some(1.0));
}

#[test]
fn serve_refuses_an_invalid_start_and_output_flags() {
    let dir = spec_folder();
    std::fs::write(dir.path().join("specs/chat.yaml"), "kind: [").expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_modelspec"))
        .current_dir(dir.path())
        .args(["serve", "specs", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("chat.yaml"));
    let o = Command::new(env!("CARGO_BIN_EXE_modelspec"))
        .args(["serve", "--demo", "-o", "r.json", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/report.json"));
}

/// A self-signed certificate for 127.0.0.1 (openssl), a bcrypt user, and the web config.
fn web_config(dir: &Path, user: &str, password: &str) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (.ci/run installs it)");
    assert!(status.success(), "openssl req");
    let hash = bcrypt::hash(password, 4).expect("bcrypt");
    std::fs::write(
        dir.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  {user}: {hash}\n"
        ),
    )
    .expect("write web.yml");
}

fn curl(args: &[&str]) -> (u16, String) {
    let o = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl (.ci/run installs it)");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn prometheus_binary() -> Option<&'static str> {
    ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// A real Prometheus scrapes `serve` over TLS with basic auth (as the web config asks), and
/// the alert rules shipped in examples/deploy/prometheus fire on the demo's drift.
#[test]
fn a_real_prometheus_scrapes_serve_over_tls_and_the_drift_alert_fires() {
    let dir = tempfile::tempdir().expect("tempdir");
    web_config(dir.path(), "prometheus", "s3cret-scrape");
    let serve = Serve::start_in(dir.path(), &["--demo", "--interval", "1s", "--web-config", "web.yml"]);
    let url = format!("https://{}/metrics", serve.addr);
    let ca = dir.path().join("cert.pem");
    let ca = ca.to_str().expect("UTF-8 path");
    assert_eq!(curl(&["--cacert", ca, &url]).0, 401, "no credentials");
    assert_eq!(curl(&["--cacert", ca, "-u", "prometheus:wrong", &url]).0, 401);
    let (status, body) = curl(&["--cacert", ca, "-u", "prometheus:s3cret-scrape", &url]);
    assert_eq!(status, 200);
    assert!(body.contains("modelspec_serve_scans_total"), "{body}");
    assert!(!body.contains("s3cret"), "a secret on the page");
    assert_eq!(
        request(serve.addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").0,
        0,
        "plain HTTP on the TLS port is not answered"
    );

    let Some(binary) = prometheus_binary() else {
        if std::env::var_os("CI").is_some() {
            panic!("no prometheus binary under CI (.ci/run installs it)");
        }
        eprintln!("skipped the Prometheus part: no prometheus binary (Debian package `prometheus`)");
        return;
    };
    // The shipped rules, with their `for:` durations cut so they fire within the test.
    let rules = std::fs::read_to_string(root().join("examples/deploy/prometheus/modelspec.rules.yml")).expect("rules");
    let rules: String = rules
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for:") {
            Some(_) => format!("{}for: 0s\n", &l[..l.len() - l.trim_start().len()]),
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(dir.path().join("rules.yml"), rules).expect("rules");
    let web_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [rules.yml]\n\
             scrape_configs:\n  - job_name: modelspec\n    scheme: https\n    tls_config: {{ca_file: cert.pem}}\n    \
             basic_auth: {{username: prometheus, password: s3cret-scrape}}\n    static_configs:\n      - targets: ['{}']\n",
            serve.addr
        ),
    )
    .expect("config");
    let mut prometheus = Command::new(binary)
        .current_dir(dir.path())
        .arg("--config.file=prometheus.yml")
        .arg("--storage.tsdb.path=data")
        .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).expect("log"))
        .spawn()
        .expect("start prometheus");
    let alerts = || {
        let (_, _, body) = request(
            SocketAddr::from(([127, 0, 0, 1], web_port)),
            // HTTP/1.0: a whole body, not chunks.
            "GET /api/v1/alerts HTTP/1.0\r\nHost: x\r\n\r\n",
        );
        serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let firing = loop {
        let answer = alerts();
        let firing: Vec<serde_json::Value> = answer["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["alertname"] == "ModelSpecDrift" && a["state"] == "firing")
            .cloned()
            .collect();
        if !firing.is_empty() {
            break firing;
        }
        if Instant::now() > deadline {
            let _ = prometheus.kill();
            let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
            panic!("ModelSpecDrift never fired: {answer:#}\n{log}");
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    // One alert per failing check of the report serve answers, naming the check and the
    // serve instance.
    let (_, json) = curl(&[
        "--cacert",
        ca,
        "-u",
        "prometheus:s3cret-scrape",
        &format!("https://{}/report.json", serve.addr),
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("the JSON report");
    let mut failing: Vec<&str> = report["specs"][0]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["status"] == "fail")
        .filter_map(|f| f["code"].as_str())
        .collect();
    failing.sort_unstable();
    failing.dedup();
    let mut codes: Vec<&str> = firing.iter().filter_map(|a| a["labels"]["code"].as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert!(!failing.is_empty());
    assert_eq!(codes, failing);
    assert!(
        firing
            .iter()
            .all(|a| a["labels"]["instance"] == serve.addr.to_string() && a["labels"]["spec"] == "support-chat"),
        "{firing:#?}"
    );
}

/// 200 scrapers at once and slowloris clients sending a byte a second: scans keep their
/// schedule, the slow clients are cut off, and resident memory stays under 64 MiB.
#[test]
fn many_scrapers_and_slow_clients_neither_delay_scans_nor_grow_memory() {
    const RSS_BOUND_KIB: u64 = 64 * 1024;
    let serve = Serve::start(&["--demo", "--interval", "100ms"]);
    serve.wait_for("a first scan", |s| s.get("/readyz").0 == 200);
    let scans = |s: &Serve| {
        s.metric("modelspec_serve_scans_total{result=\"success\"}")
            .unwrap_or(0.0)
    };
    let before = scans(&serve);
    let started = Instant::now();
    let addr = serve.addr;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slow: Vec<_> = (0..40)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let Ok(mut stream) = TcpStream::connect(addr) else {
                    return Duration::ZERO;
                };
                let opened = Instant::now();
                for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\n".iter().cycle() {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) || stream.write_all(&[*byte]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                opened.elapsed()
            })
        })
        .collect();
    let scrapers: Vec<_> = (0..200)
        .map(|_| {
            std::thread::spawn(move || {
                let mut ok = 0u32;
                let until = Instant::now() + Duration::from_secs(6);
                while Instant::now() < until {
                    if request(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").0 == 200 {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let mut peak = 0;
    while started.elapsed() < Duration::from_secs(6) {
        peak = peak.max(serve.rss_kib());
        std::thread::sleep(Duration::from_millis(200));
    }
    let answered: u32 = scrapers.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    let took = started.elapsed().as_secs_f64();
    let done = scans(&serve) - before;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let held: Vec<Duration> = slow.into_iter().map(|t| t.join().unwrap_or_default()).collect();
    // A scan every 100 ms: well over half of them happened under load.
    assert!(done >= took * 10.0 * 0.5, "{done} scans in {took:.1} s under load");
    assert!(answered >= 200, "{answered} scrapes answered");
    assert!(
        held.iter().all(|h| *h < Duration::from_secs(9)),
        "slow clients held for {held:?}"
    );
    assert!(peak > 0 && peak < RSS_BOUND_KIB, "peak RSS {peak} KiB");
    eprintln!(
        "load: {answered} scrapes answered, {done} scans in {took:.1} s, peak RSS {} MiB",
        peak / 1024
    );
}
