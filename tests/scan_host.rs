//! `modelspec scan` against a real serving process: a child that listens on a loopback port
//! with a known environment. Needs `python3` (skipped with a message otherwise).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value as Json;

/// Kills the child on drop, whatever the test did.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SECRET: &str = "hf_s3cr3tT0kenValueThatMustNeverAppear0123";

/// Starts a listener on an ephemeral loopback port; returns it and the port.
fn serve() -> Option<(Server, u16)> {
    serve_with(&[])
}

/// The same, with `extra` on its command line (as a model server's options would be).
fn serve_with(extra: &[&str]) -> Option<(Server, u16)> {
    python_on_a_port(
        "import socket,time;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();print(s.getsockname()[1],flush=True);time.sleep(60)",
        extra,
    )
}

/// A process holding a loopback TCP port bound, without listening on it.
fn bound_not_listening() -> Option<(Server, u16)> {
    python_on_a_port(
        "import socket,time;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1],flush=True);time.sleep(60)",
        &[],
    )
}

/// Runs `script` (which prints its port) with a known environment, a secret included.
fn python_on_a_port(script: &str, extra: &[&str]) -> Option<(Server, u16)> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .args(extra)
        .env("VLLM_LOGGING_LEVEL", "DEBUG")
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_TOKEN", SECRET)
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).ok()?;
    let port = line.trim().parse().ok()?;
    Some((server, port))
}

fn spec(port: u16) -> String {
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: host-test
spec:
  identity:
    model: {{id: m, family: f, task: t, framework: tgi}}
  runtime:
    accelerator: {{vendor: nvidia, type: l4, count: 1}}
    resources: {{cpuCores: 1, memoryGb: 0.5}}
    environment:
      variables:
        HF_HUB_OFFLINE: \"1\"
        VLLM_LOGGING_LEVEL: INFO
        HF_TOKEN: {SECRET}
        MISSING_KNOB: \"on\"
  operations:
    serving: {{protocol: http, port: {port}}}
"
    )
}

use crate::support::{Cmd, fake_nvml, report};

fn finding<'a>(report: &'a Json, pointer: &str) -> &'a Json {
    report::first_section_finding(report, "pointer", pointer)
}

#[test]
fn the_serving_process_is_found_by_port_and_its_environment_judged() {
    let Some((_server, port)) = serve() else {
        eprintln!("skipped: python3 could not start a listener");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec(port)).expect("write spec");
    let path = path.to_str().expect("UTF-8 path");
    let run = |format: &str| {
        Cmd::new()
            .args([
                "scan",
                path,
                "--nvml-lib",
                "/nonexistent/libnvidia-ml.so.1",
                "--timeout",
                "2s",
                "--format",
                format,
            ])
            .args(["--color", "never", "--show-skipped"])
            .output()
    };
    let o = run("json");
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Json = serde_json::from_slice(&o.stdout).expect("report JSON");

    let port_finding = finding(&report, "/spec/operations/serving/port");
    assert_eq!(port_finding["status"], "pass", "{port_finding:#}");
    assert!(
        port_finding["observed"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("python"))
    );

    let var = |name: &str| finding(&report, &format!("/spec/runtime/environment/variables/{name}"));
    assert_eq!(var("HF_HUB_OFFLINE")["status"], "pass");
    let level = var("VLLM_LOGGING_LEVEL");
    assert_eq!(level["status"], "fail", "{level:#}");
    assert_eq!(level["observed"], "DEBUG");
    assert_eq!(var("MISSING_KNOB")["status"], "fail");
    // A secret is neither compared through its value nor shown, on either side.
    let token = var("HF_TOKEN");
    assert_eq!(token["status"], "unknown", "{token:#}");
    assert_eq!(token["declared"], "<redacted>");

    assert_eq!(finding(&report, "/spec/runtime/resources/cpuCores")["status"], "pass");
    assert_eq!(finding(&report, "/spec/runtime/resources/memoryGb")["status"], "pass");

    for format in ["json", "table"] {
        let out = run(format);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(SECRET), "the secret leaked into the {format} output");
    }
}

/// Nothing listens on the declared port in any network namespace: the model is not deployed
/// on this node. That is a note with every check skipped, never drift, unless the node must run
/// it (`--require-deployed`).
#[test]
fn nothing_listening_on_the_declared_port_is_not_deployed() {
    // A port bound but not listening: nothing listens on it, and no concurrent test's
    // listener can be handed it meanwhile (a bound-then-released port could be).
    let Some((_holder, port)) = bound_not_listening() else {
        eprintln!("skipped: python3 could not bind a port");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec(port)).expect("write spec");
    let scan = |extra: &[&str]| {
        let o = Cmd::new()
            .args([
                "scan",
                path.to_str().expect("UTF-8 path"),
                "--format",
                "json",
                "--no-facts",
            ])
            .args(["--nvml-lib", "/nonexistent/libnvidia-ml.so.1", "--timeout", "2s"])
            .args(extra)
            .output();
        let report: Json = serde_json::from_slice(&o.stdout).expect("report JSON");
        (o.status.code(), report)
    };
    let (code, report) = scan(&[]);
    assert_eq!(code, Some(0), "not deployed is not drift: {:#}", report["node"]);
    let note = report::in_findings(&report["node"], "code", "not-deployed");
    assert_eq!(note["status"], "skip", "{note:#}");
    let message = note["message"].as_str().unwrap_or_default();
    assert!(message.contains("not deployed on this node"), "{note:#}");
    assert!(message.contains(&format!("port {port}")), "{note:#}");
    assert!(message.contains("network namespaces"), "{note:#}");
    for pointer in [
        "/spec/operations/serving/port",
        "/spec/runtime/environment/variables/VLLM_LOGGING_LEVEL",
        "/spec/identity/model/id",
    ] {
        let f = finding(&report, pointer);
        assert_eq!(f["status"], "skip", "{f:#}");
        assert!(
            f["message"].as_str().is_some_and(|m| m.contains("not deployed")),
            "{f:#}"
        );
    }
    assert_eq!(finding(&report, "/metadata/name")["code"], "workload-match");
    // A node that must run it fails, and says why.
    let (code, report) = scan(&["--require-deployed"]);
    assert_eq!(code, Some(1));
    let note = report::in_findings(&report["node"], "code", "not-deployed");
    assert_eq!(note["status"], "fail", "{note:#}");
}

/// NVML's compute processes joined with the serving process: the count is the GPUs the serving
/// process holds, and another process on one of them is reported.
#[test]
fn gpus_are_attributed_to_the_serving_process() {
    // Its command line reads as `vllm serve`: parallelism is vLLM's own flag, read by the engine's
    // flag parser (an engine no one can identify states no parallelism).
    let Some((server, port)) = serve_with(&["vllm", "serve", "m", "--tensor-parallel-size", "2"]) else {
        eprintln!("skipped: python3 could not start a listener");
        return;
    };
    let pid = server.0.id();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut profile: Json = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gpus/l40s-x2.json"))
            .expect("l40s profile"),
    )
    .expect("profile JSON");
    profile["devices"][0]["processes"] = serde_json::json!([{"pid": pid, "used_mib": 40000}]);
    profile["devices"][1]["processes"] =
        serde_json::json!([{"pid": pid, "used_mib": 30000}, {"pid": 424242, "used_mib": 10240}]);
    let profile_path = dir.path().join("profile.json");
    std::fs::write(&profile_path, profile.to_string()).expect("write profile");
    let lib = fake_nvml();
    let scan = |count: u32| {
        let spec_path = dir.path().join(format!("spec-{count}.yaml"));
        let text = spec(port).replace("type: l4, count: 1", &format!("type: l40s, count: {count}"));
        std::fs::write(&spec_path, text).expect("write spec");
        let o = Cmd::new()
            .args([
                "scan",
                spec_path.to_str().expect("UTF-8 path"),
                "--format",
                "json",
                "--no-facts",
            ])
            .args(["--nvml-lib", lib.to_str().expect("UTF-8 path"), "--timeout", "2s"])
            .fake_nvml_profile(&profile_path)
            .output();
        serde_json::from_slice::<Json>(&o.stdout).expect("report JSON")
    };
    let code = |report: &Json, code: &str| -> Json {
        report["specs"][0]["findings"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["code"] == code).cloned())
            .unwrap_or_else(|| panic!("no {code} finding"))
    };

    let report = scan(2);
    let count = code(&report, "accelerator-count");
    assert_eq!(count["status"], "pass", "{count:#}");
    assert_eq!(count["observed"], 2);
    assert_eq!(count["evidence"]["raw"]["serving_pid"], pid);
    let shared = code(&report, "gpu-shared");
    assert_eq!(shared["status"], "warn", "{shared:#}");
    assert!(
        shared["message"]
            .as_str()
            .is_some_and(|m| m.contains("GPU 1 shared with pid 424242 (10.0 GiB)")),
        "{shared:#}"
    );

    assert_eq!(code(&report, "accelerator-parallelism")["status"], "pass");

    let report = scan(4);
    let count = code(&report, "accelerator-count");
    assert_eq!(count["status"], "fail", "{count:#}");
    let parallelism = code(&report, "accelerator-parallelism");
    assert_eq!(parallelism["status"], "fail", "{parallelism:#}");
    assert_eq!(parallelism["observed"], 2);
    assert!(
        count["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("pid {pid}) holds 2 GPU(s)")))
    );
}

/// The spec of one model on a node of four A100s, served on `port`.
fn node_spec(name: &str, port: u16, count: u32) -> String {
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: {name}
spec:
  identity:
    model: {{id: m, family: f, task: t, framework: tgi}}
  runtime:
    accelerator: {{vendor: nvidia, type: a100, count: {count}}}
  operations:
    serving: {{protocol: http, port: {port}}}
"
    )
}

/// A four-A100 profile whose GPUs hold the given pids (`(pid, MiB)` per GPU).
fn a100_node(dir: &std::path::Path, processes: [Json; 4]) -> std::path::PathBuf {
    let mut profile: Json = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gpus/a100-sxm4-80gb-x4.json"),
        )
        .expect("a100 profile"),
    )
    .expect("profile JSON");
    for (i, p) in processes.into_iter().enumerate() {
        profile["devices"][i]["processes"] = p;
    }
    let path = dir.join("node.json");
    std::fs::write(&path, profile.to_string()).expect("write profile");
    path
}

fn scan_json(dir: &std::path::Path, profile: &std::path::Path, args: &[&str]) -> (Option<i32>, Json) {
    let lib = fake_nvml();
    let o = Cmd::new()
        .current_dir(dir)
        .arg("scan")
        .args(args)
        .args([
            "--format",
            "json",
            "--no-facts",
            "--nvml-lib",
            lib.to_str().expect("UTF-8 path"),
            // The listeners accept but never answer HTTP: do not wait the default 10 s for them.
            "--timeout",
            "2s",
        ])
        .fake_nvml_profile(profile)
        .output();
    let report = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("report JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), report)
}

fn by_code<'a>(findings: &'a Json, code: &str) -> &'a Json {
    report::in_findings(findings, "code", code)
}

/// Two models on one node: each spec finds its own server by port and is judged on the GPUs
/// that server holds; the node section names the GPU both hold, the one a stranger holds and
/// the idle one.
#[test]
fn two_specs_on_one_node_each_find_their_server_and_the_node_is_accounted_for() {
    let (Some((a, port_a)), Some((b, port_b))) = (serve(), serve()) else {
        eprintln!("skipped: python3 could not start listeners");
        return;
    };
    let (pid_a, pid_b) = (a.0.id(), b.0.id());
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = a100_node(
        dir.path(),
        [
            serde_json::json!([{"pid": pid_a, "used_mib": 70000}]),
            serde_json::json!([{"pid": pid_a, "used_mib": 40000}, {"pid": pid_b, "used_mib": 30000}]),
            serde_json::json!([{"pid": 424242, "used_mib": 10240}]),
            serde_json::json!([]),
        ],
    );
    std::fs::write(dir.path().join("a.yaml"), node_spec("model-a", port_a, 2)).expect("write a");
    std::fs::write(dir.path().join("b.yaml"), node_spec("model-b", port_b, 1)).expect("write b");

    let (code, report) = scan_json(dir.path(), &profile, &["a.yaml", "b.yaml"]);
    let sections = report["specs"].as_array().expect("sections");
    assert_eq!(sections.len(), 2, "{report:#}");
    for (section, pid) in sections.iter().zip([pid_a, pid_b]) {
        let port = by_code(&section["findings"], "serving-port");
        assert_eq!(port["status"], "pass", "{port:#}");
        assert_eq!(port["observed"]["pid"], pid, "each spec finds its own server: {port:#}");
        let count = by_code(&section["findings"], "accelerator-count");
        assert_eq!(count["status"], "pass", "{count:#}");
        assert_eq!(count["evidence"]["raw"]["serving_pid"], pid);
    }
    assert_eq!(by_code(&sections[0]["findings"], "accelerator-count")["observed"], 2);
    assert_eq!(by_code(&sections[1]["findings"], "accelerator-count")["observed"], 1);

    let node = &report["node"];
    assert_eq!(by_code(node, "server-shared")["status"], "pass", "{node:#}");
    let contended = by_code(node, "gpu-contended");
    assert_eq!(contended["status"], "warn", "{contended:#}");
    assert!(
        contended["message"]
            .as_str()
            .is_some_and(|m| m == "GPU 1 is held by model-a and model-b"),
        "{contended:#}"
    );
    let unclaimed = by_code(node, "gpu-unclaimed");
    assert_eq!(unclaimed["status"], "warn", "{unclaimed:#}");
    let message = unclaimed["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("GPU 2 is held by pid 424242 (10.0 GiB), which serves no scanned spec"),
        "{message}"
    );
    assert!(message.contains("GPU(s) [3] idle"), "{message}");
    // Warnings only: the scan passes unless --fail-on warn.
    assert_eq!(code, Some(0), "{report:#}");
    let mut summed = 0;
    for section in sections {
        summed += section["summary"]["warn"].as_u64().unwrap_or(0);
    }
    assert_eq!(report["summary"]["warn"].as_u64(), Some(summed + 2));

    // Each GPU held exactly once and none idle: the node passes.
    let profile = a100_node(
        dir.path(),
        [
            serde_json::json!([{"pid": pid_a, "used_mib": 70000}]),
            serde_json::json!([{"pid": pid_a, "used_mib": 70000}]),
            serde_json::json!([{"pid": pid_b, "used_mib": 70000}]),
            serde_json::json!([{"pid": pid_b, "used_mib": 70000}]),
        ],
    );
    let (_, report) = scan_json(dir.path(), &profile, &["a.yaml", "b.yaml"]);
    for code in ["server-shared", "gpu-contended", "gpu-unclaimed"] {
        assert_eq!(
            by_code(&report["node"], code)["status"],
            "pass",
            "{code}: {:#}",
            report["node"]
        );
    }

    // model-b's server is gone: model-b is not deployed on this node (a note), so it hides no
    // GPU and the stranger on GPU 2 is warned about.
    let Some((_holder, free_port)) = bound_not_listening() else {
        return;
    };
    std::fs::write(dir.path().join("gone.yaml"), node_spec("model-b", free_port, 1)).expect("write gone");
    let profile = a100_node(
        dir.path(),
        [
            serde_json::json!([{"pid": pid_a, "used_mib": 70000}]),
            serde_json::json!([{"pid": pid_a, "used_mib": 70000}]),
            serde_json::json!([{"pid": 424242, "used_mib": 10240}]),
            serde_json::json!([{"pid": pid_a, "used_mib": 70000}]),
        ],
    );
    let (_, report) = scan_json(dir.path(), &profile, &["a.yaml", "gone.yaml"]);
    let unclaimed = by_code(&report["node"], "gpu-unclaimed");
    assert_eq!(unclaimed["status"], "warn", "{unclaimed:#}");
    assert!(
        unclaimed["message"]
            .as_str()
            .is_some_and(|m| m.contains("GPU 2 is held by pid 424242 (10.0 GiB), which serves no scanned spec")),
        "{unclaimed:#}"
    );
    let note = by_code(&report["node"], "not-deployed");
    assert_eq!(note["status"], "skip", "{note:#}");
    assert!(
        note["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("model-b is not deployed")),
        "{note:#}"
    );

    // Two specs on one port resolve to one process: said once, on the node.
    std::fs::write(dir.path().join("c.yaml"), node_spec("model-c", port_a, 2)).expect("write c");
    let (_, report) = scan_json(dir.path(), &profile, &["a.yaml", "c.yaml"]);
    let shared = by_code(&report["node"], "server-shared");
    assert_eq!(shared["status"], "warn", "{shared:#}");
    assert!(
        shared["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("model-a, model-c all resolve to pid {pid_a}"))),
        "{shared:#}"
    );
    drop((a, b));
}

/// `--pid` names the serving process; the declared port held by another process is drift,
/// and the report says who holds it.
#[test]
fn a_port_held_by_another_process_than_the_named_pid_fails() {
    let (Some((a, port_a)), Some((b, _))) = (serve(), serve()) else {
        eprintln!("skipped: python3 could not start listeners");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = a100_node(
        dir.path(),
        [
            Json::Array(vec![]),
            Json::Array(vec![]),
            Json::Array(vec![]),
            Json::Array(vec![]),
        ],
    );
    std::fs::write(dir.path().join("a.yaml"), node_spec("model-a", port_a, 1)).expect("write a");

    let pid_b = b.0.id().to_string();
    let (code, report) = scan_json(dir.path(), &profile, &["a.yaml", "--pid", &pid_b]);
    let port = by_code(&report["specs"][0]["findings"], "serving-port");
    assert_eq!(port["status"], "fail", "{port:#}");
    let message = port["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!("port {port_a} is held by pid {} (python", a.0.id())),
        "{message}"
    );
    assert!(
        message.contains(&format!("not by the serving process pid {pid_b}")),
        "{message}"
    );
    assert_eq!(code, Some(1));

    // Named correctly, it passes.
    let pid_a = a.0.id().to_string();
    let (_, report) = scan_json(dir.path(), &profile, &["a.yaml", "--pid", &pid_a]);
    let port = by_code(&report["specs"][0]["findings"], "serving-port");
    assert_eq!(port["status"], "pass", "{port:#}");
}

const PERMISSION_HINT: &str = "insufficient permission: run as root or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH";

/// A scan run by an unprivileged user against another user's server: the port and the
/// environment are `unknown` with the permission hint, never "nothing listens" or "missing".
/// Needs root (to switch to uid 65534 with `setpriv`); skipped with a message otherwise.
#[test]
fn an_unprivileged_scan_says_unknown_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    });
    if !root {
        eprintln!("skipped: needs root to scan as another user");
        return;
    }
    // `setpriv ... BINARY ARGS`: the binary is a copy, named in `args`.
    let setpriv = |args: &[&str]| {
        Cmd::wrapped("setpriv", &["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(args)
            .try_run()
    };
    let Some((server, port)) = serve() else {
        eprintln!("skipped: python3 could not start a listener");
        return;
    };
    // The target directory may be closed to uid 65534: copy the binary and the spec out.
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("modelspec");
    std::fs::copy(crate::support::BIN, &binary).expect("copy binary");
    let spec_path = dir.path().join("spec.yaml");
    std::fs::write(&spec_path, spec(port)).expect("write spec");
    for (path, mode) in [
        (dir.path(), 0o755),
        (binary.as_path(), 0o755),
        (spec_path.as_path(), 0o644),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let binary = binary.to_str().expect("UTF-8 path");
    if !setpriv(&["test", "-x", binary]).is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: setpriv is missing, or uid 65534 cannot run the copied binary");
        return;
    }
    let spec_arg = spec_path.to_str().expect("UTF-8 path");
    let scan = |format: &str| {
        setpriv(&[
            binary,
            "scan",
            spec_arg,
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
            "--timeout",
            "2s",
            "--format",
            format,
            "--color",
            "never",
            "--show-skipped",
        ])
        .expect("run setpriv")
    };
    let o = scan("json");
    let report: Json = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("report JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    let port_finding = finding(&report, "/spec/operations/serving/port");
    assert_eq!(port_finding["status"], "unknown", "{port_finding:#}");
    let message = port_finding["message"].as_str().unwrap_or_default();
    assert!(message.contains(PERMISSION_HINT), "{message}");
    assert!(!message.contains("nothing listens"), "{message}");
    for name in ["HF_HUB_OFFLINE", "VLLM_LOGGING_LEVEL", "MISSING_KNOB"] {
        let f = finding(&report, &format!("/spec/runtime/environment/variables/{name}"));
        assert_eq!(
            f["status"], "unknown",
            "{name} is not 'missing' when it cannot be read: {f:#}"
        );
    }
    // Unknown is not drift: exit 0, and 1 with --fail-on unknown.
    assert_eq!(o.status.code(), Some(0), "{report:#}");
    let table = scan("table");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("insufficient permission"), "{text}");
    assert!(!text.contains(SECRET) && !String::from_utf8_lossy(&o.stdout).contains(SECRET));
    drop(server);
}
