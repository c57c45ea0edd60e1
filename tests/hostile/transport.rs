//! Broken transport: a connection reset before any answer, and TLS with a certificate nobody
//! vouches for.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{nothing_passes_but, scan, spec};
use crate::server::{Behaviour, serve};

const ENGINE_FINDINGS: &[&str] = &["model-id", "model-framework", "batch-max-sequence-length"];

#[test]
fn a_server_that_resets_every_connection() {
    let server = serve(|_| Behaviour::Reset);
    let scan = scan("connection-reset", &spec(server.port(), "vllm"), &[]);
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["reset", "closed the connection"]);
    }
    scan.refused("readiness-probe", &["reset", "closed the connection"]);
    nothing_passes_but(&scan, &["serving-port"]);
}

/// `openssl s_server`, killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate made now (nothing to expire in the repository) and an
/// `openssl s_server` presenting it; `None` when openssl is missing (outside CI).
fn tls_server(dir: &Path) -> Option<TlsServer> {
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    };
    match openssl(&["version"]) {
        Ok(status) if status.success() => {}
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!("openssl is missing; .ci/run installs it"),
        _ => {
            eprintln!("[hostile] skipped: openssl is not installed (apt-get install openssl)");
            return None;
        }
    }
    let made = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
    ])
    .expect("run openssl req");
    assert!(made.success(), "openssl req failed");
    // A free port: bound, read, released; s_server binds it an instant later.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("openssl")
        .args([
            "s_server", "-quiet", "-www", "-cert", "cert.pem", "-key", "key.pem", "-accept",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    let server = TlsServer { child, port };
    let until = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "openssl s_server did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

#[test]
fn a_self_signed_certificate_is_not_trusted() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let Some(server) = tls_server(dir.path()) else { return };
    let endpoint = format!("https://127.0.0.1:{}", server.port);
    let scan = scan(
        "self-signed-tls",
        &spec(server.port, "vllm"),
        &["--endpoint", &endpoint],
    );
    for code in ENGINE_FINDINGS {
        scan.refused(code, &["certificate", "tls"]);
    }
    scan.refused("readiness-probe", &["certificate", "tls"]);
    nothing_passes_but(&scan, &["serving-port"]);
}
