//! Model servers in network namespaces of their own, as containers and pods run them: several
//! on one port, found in every namespace, told apart by the model they serve, reached at their
//! namespace's address or from inside it, and specs whose model runs nowhere "not deployed".
//!
//! The namespaces are made by the test (`ip netns`, see `support/netns.rs`) and removed with
//! everything in them; the servers are the engine imitation (`support/engine.py`), which reads
//! as `vllm serve`. Needs root (a skip elsewhere, a failure under `CI=true`).

mod support;
use support::{Cmd, netns, report};

use std::path::Path;
use std::process::Command;

use netns::Netns;
use report::{code_in, pointer_in, section, served_spec as spec};
use serde_json::Value as Json;

/// A token planted in every server's environment: it must appear in no output.
const SECRET: &str = "hf_NamespacedSecretValue0123456789abcdef";

struct Scan {
    code: Option<i32>,
    report: Json,
    text: String,
}

fn scan(dir: &Path, files: &[&str], extra: &[&str]) -> Scan {
    let o = Cmd::new()
        .current_dir(dir)
        .arg("scan")
        .args(files)
        .args([
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
            "--timeout",
            "5s",
            "--format",
            "json",
        ])
        .args(extra)
        .output();
    let (code, report, text) = report::report_of(&o);
    Scan { code, report, text }
}

/// Two servers on one port (28000: no other test's), each in its own namespace with its own address, plus a crowd of
/// namespaces with nothing in them: each spec finds its own by the model id, a spec whose model
/// runs nowhere is "not deployed on this node", and no server's secret leaks.
#[test]
fn two_servers_on_one_port_in_their_own_namespaces() {
    if !netns::available() {
        return;
    }
    let mut a = Netns::linked();
    let mut b = Netns::linked();
    let pid_a = a.engine(
        "org/model-a",
        "0.0.0.0",
        28000,
        &[("ENGINE_ROLE", "model-a"), ("HF_TOKEN", SECRET)],
    );
    let pid_b = b.engine(
        "org/model-b",
        "0.0.0.0",
        28000,
        &[("ENGINE_ROLE", "model-b"), ("HF_TOKEN", SECRET)],
    );
    // Namespaces with processes but no listener: the survey walks them all.
    let mut crowd: Vec<Netns> = (0..8).map(|_| Netns::isolated()).collect();
    for ns in &mut crowd {
        ns.spawn(&["sleep", "120"], &[]);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (file, name, model) in [
        ("a.yaml", "model-a", "org/model-a"),
        ("b.yaml", "model-b", "org/model-b"),
        ("c.yaml", "model-c", "org/model-c"),
    ] {
        std::fs::write(dir.path().join(file), spec(name, model, 28000, None)).expect("write spec");
    }
    let s = scan(dir.path(), &["a.yaml", "b.yaml", "c.yaml"], &[]);
    assert!(!s.text.contains(SECRET), "a planted secret leaked");
    // Containers, namespaces, forwarders and reach, as the published observation schema says.
    report::assert_matches_schema(modelspec::schemas::OBSERVATION, &s.report["observation"].to_string());

    for (name, pid, ns) in [("model-a", pid_a, &a), ("model-b", pid_b, &b)] {
        let sec = section(&s.report, name);
        let matched = code_in(sec, "workload-match");
        assert_eq!(matched["status"], "pass", "{matched:#}");
        assert_eq!(matched["observed"]["pid"], pid, "{matched:#}");
        let message = matched["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("the serving port and the model id its engine serves"),
            "{message}"
        );
        let address = ns.address.clone().unwrap_or_default();
        assert_eq!(
            matched["evidence"]["raw"]["reach"],
            serde_json::json!({"via": "namespace_address", "address": format!("{address}:28000")}),
            "{matched:#}"
        );
        assert_eq!(code_in(sec, "model-id")["status"], "pass", "{name}");
        assert_eq!(code_in(sec, "model-framework")["status"], "pass", "{name}");
        // Its own process's environment, not the other server's.
        let role = pointer_in(sec, "/spec/runtime/environment/variables/ENGINE_ROLE");
        assert_eq!(role["status"], "pass", "{role:#}");
        assert_eq!(code_in(sec, "serving-port")["status"], "pass");
    }
    let c = section(&s.report, "model-c");
    assert_eq!(code_in(c, "workload-match")["status"], "skip");
    assert_eq!(pointer_in(c, "/spec/identity/model/id")["status"], "skip");
    let note = report::in_findings(&s.report["node"], "code", "not-deployed");
    let message = note["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("model-c is not deployed on this node"), "{note:#}");
    assert!(
        message.contains("no workload on port 28000 serves org/model-c"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{pid_a}")) && message.contains(&format!("{pid_b}")),
        "{message}"
    );
    // The same scan, on a node that must run model-c, fails.
    let s2 = scan(dir.path(), &["a.yaml", "b.yaml", "c.yaml"], &["--require-deployed"]);
    assert_eq!(s2.code, Some(1));
    assert_eq!(
        report::in_findings(&s2.report["node"], "code", "not-deployed")["status"],
        "fail"
    );
    // Alone, a spec whose model neither serves is still not deployed: the port alone does not
    // pick one of two servers that name other models.
    std::fs::write(dir.path().join("x.yaml"), spec("model-x", "org/model-x", 28000, None)).expect("write");
    let x = scan(dir.path(), &["x.yaml"], &[]);
    let sec = section(&x.report, "model-x");
    assert_eq!(
        code_in(sec, "workload-match")["status"],
        "skip",
        "every server names its model"
    );
    // An explicit selector picks one.
    let picked = scan(dir.path(), &["x.yaml"], &["--workload", &format!("pid:{pid_b}")]);
    let sec = section(&picked.report, "model-x");
    assert_eq!(code_in(sec, "workload-match")["observed"]["pid"], pid_b);
    assert_eq!(code_in(sec, "model-id")["status"], "fail", "model-b is not model-x");
    drop(crowd);
}

/// A server bound to loopback inside its namespace has no address the scanner can route to: it
/// is reached from inside the namespace (setns), and said so.
#[test]
fn a_loopback_only_server_is_reached_from_inside_its_namespace() {
    if !netns::available() {
        return;
    }
    let mut ns = Netns::isolated();
    // Each test has its own port: the tests run at once, and a server of another test on the
    // same port would be one more candidate.
    let pid = ns.engine("org/inside", "127.0.0.1", 8001, &[("ENGINE_ROLE", "inside")]);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("i.yaml"), spec("inside", "org/inside", 8001, None)).expect("write");
    let s = scan(dir.path(), &["i.yaml"], &["--workload", &format!("pid:{pid}")]);
    let sec = section(&s.report, "inside");
    assert_eq!(
        code_in(sec, "model-id")["status"],
        "pass",
        "{:#}",
        code_in(sec, "model-id")
    );
    let targets = &s.report["observation"]["endpoint"]["snapshot"]["targets"];
    let via = targets[0]["via"].as_str().unwrap_or_default();
    assert!(via.contains("setns"), "{targets:#}");
}

/// An unprivileged scanner sees another user's namespaces' listeners but not their owners: the
/// answer is "unknown" with the permission hint, never "not deployed".
#[test]
fn an_unprivileged_scan_says_permission_not_absence() {
    if !netns::available() {
        return;
    }
    let mut ns = Netns::linked();
    ns.engine("org/hidden", "0.0.0.0", 8002, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("h.yaml"), spec("hidden", "org/hidden", 8002, None)).expect("write");
    // World-readable for nobody.
    let mut perms = std::fs::metadata(dir.path()).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.path(), perms).expect("chmod");
    let o = Cmd::via("setpriv", &["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args([
            "scan",
            "h.yaml",
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
            "--format",
            "json",
        ])
        .current_dir(dir.path())
        .try_run();
    let Ok(o) = o else {
        eprintln!("skipped: setpriv is not available");
        return;
    };
    let report: Json =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let sec = section(&report, "hidden");
    let matched = code_in(sec, "workload-match");
    assert_eq!(matched["status"], "unknown", "{matched:#}");
    let message = matched["message"].as_str().unwrap_or_default();
    assert!(message.contains("insufficient permission"), "{message}");
    assert!(
        report["node"]
            .as_array()
            .is_none_or(|n| n.iter().all(|f| f["code"] != "not-deployed"))
    );
}

/// docker's userland proxy, the real binary from Debian's `docker.io` (`.ci/run` unpacks it to
/// /opt/modelspec-test; no dockerd runs): it holds the host port and forwards to the address
/// its command line names. The scan follows it to the server in the namespace behind it.
#[test]
fn a_port_held_by_docker_proxy_resolves_to_the_server_behind_it() {
    if !netns::available() {
        return;
    }
    let proxy = std::env::var("MODELSPEC_DOCKER_PROXY").unwrap_or_else(|_| "/opt/modelspec-test/docker-proxy".into());
    if !Path::new(&proxy).is_file() {
        let why = format!("no docker-proxy at {proxy} (.ci/run unpacks it from Debian's docker.io)");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
        return;
    }
    let mut ns = Netns::linked();
    let server = ns.engine("org/proxied", "0.0.0.0", 8003, &[("ENGINE_ROLE", "proxied")]);
    let address = ns.address.clone().unwrap_or_default();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    };
    // docker-proxy reports readiness on fd 3 and must find it open.
    let script = format!(
        "exec {proxy} -proto tcp -host-ip 127.0.0.1 -host-port {port} -container-ip {address} -container-port 8003 3>/dev/null"
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start docker-proxy");
    let proxy_pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "docker-proxy did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("p.yaml"), spec("proxied", "org/proxied", port, None)).expect("write");
    let s = scan(dir.path(), &["p.yaml"], &[]);
    let _ = child.kill();
    let _ = child.wait();
    let sec = section(&s.report, "proxied");
    let matched = code_in(sec, "workload-match");
    assert_eq!(matched["status"], "pass", "{matched:#}");
    assert_eq!(
        matched["observed"]["pid"], server,
        "the server behind the proxy: {matched:#}"
    );
    let route = matched["evidence"]["raw"]["route"].as_str().unwrap_or_default();
    assert_eq!(
        route,
        format!("host 127.0.0.1:{port} → docker-proxy {proxy_pid} → python3 {server} (0.0.0.0:8003)"),
        "{matched:#}"
    );
    // Asked through the proxy, as clients reach it.
    assert_eq!(
        code_in(sec, "model-id")["status"],
        "pass",
        "{:#}",
        code_in(sec, "model-id")
    );
    let role = pointer_in(sec, "/spec/runtime/environment/variables/ENGINE_ROLE");
    assert_eq!(
        role["status"], "pass",
        "the proxied server's environment, not the proxy's: {role:#}"
    );
}
