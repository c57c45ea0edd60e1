//! Against a real vLLM (opt-in: `MODELSPEC_REAL_VLLM=1`).
//!
//! Uses `../shared/real-vllm/`: vLLM 0.32 on CPU with a tiny local model. The test serves its
//! own instance on a free port from a private run folder (so a server someone else started is
//! left alone), scans it, and stops it. Setup (`setup.sh`, a few minutes, needs PyPI) runs only
//! when the virtualenv is missing. Without the variable the test says it skipped and passes:
//! CI does not pay a minute-long model start on every run.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

/// `../shared/real-vllm`, next to the repository.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real-vllm")
}

/// Where `setup.sh` put the virtualenv and the model.
fn installed() -> PathBuf {
    std::env::var_os("REAL_VLLM_DIR").map_or_else(|| PathBuf::from("/tmp/modelspec-real-vllm"), PathBuf::from)
}

/// A vLLM serving from a private run folder; stopped (with its whole tree) on drop.
struct RealVllm {
    root: tempfile::TempDir,
    port: u16,
}

impl RealVllm {
    fn start(extra_args: &str) -> RealVllm {
        RealVllm::start_in(extra_args, None)
    }

    /// Starts it in the network namespace `netns` (`ip netns exec`), listening on all of the
    /// namespace's addresses, as a pod's server does; the start script's health check runs in
    /// there too.
    fn start_in(extra_args: &str, netns: Option<&str>) -> RealVllm {
        let installed = installed();
        if !installed.join("venv/bin/vllm").exists() {
            let status = Command::new("bash")
                .arg(scripts().join("setup.sh"))
                .env("REAL_VLLM_DIR", &installed)
                .status()
                .expect("run setup.sh");
            assert!(status.success(), "setup.sh failed");
        }
        // The scripts keep their pid file under the root: a private root lets this instance
        // run beside another, sharing the installed virtualenv and model.
        let root = tempfile::tempdir().expect("tempdir");
        for shared in ["venv", "tiny-llama"] {
            std::os::unix::fs::symlink(installed.join(shared), root.path().join(shared)).expect("symlink");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut command = match netns {
            Some(name) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", name, "bash"]).env("HOST", "0.0.0.0");
                c
            }
            None => Command::new("bash"),
        };
        let status = command
            .arg(scripts().join("start.sh"))
            .env("REAL_VLLM_DIR", root.path())
            .env("PORT", port.to_string())
            .env("EXTRA_ARGS", extra_args)
            .status()
            .expect("run start.sh");
        let server = RealVllm { root, port };
        assert!(
            status.success(),
            "start.sh failed (log under {})",
            server.root.path().display()
        );
        server
    }
}

impl Drop for RealVllm {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts().join("stop.sh"))
            .env("REAL_VLLM_DIR", self.root.path())
            .status();
    }
}

fn spec(port: u16, target_device: &str) -> String {
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: tiny-llama
spec:
  identity:
    model: {{id: tiny-llama, family: llama, task: text-generation, framework: vllm, precision: bf16}}
  runtime:
    accelerator: {{vendor: nvidia, type: l4, count: 1}}
    batch: {{maxBatchSize: 8, maxSequenceLengthTokens: 1024}}
    resources: {{cpuCores: 1, memoryGb: 1}}
    environment:
      variables:
        VLLM_TARGET_DEVICE: {target_device}
        HF_HUB_OFFLINE: \"1\"
  operations:
    serving: {{protocol: http, port: {port}, readinessProbe: {{path: /health, timeoutSeconds: 5}}}}
    observability: {{metrics: {{enabled: true, provider: prometheus}}}}
"
    )
}

fn scan(dir: &Path, spec_text: &str) -> (Option<i32>, Json) {
    let path = dir.join("spec.yaml");
    std::fs::write(&path, spec_text).expect("write spec");
    let o = Cmd::new()
        .args(["scan", path.to_str().expect("UTF-8 path"), "--format", "json"])
        .args(["--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .output();
    let report = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("report JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), report)
}

mod support;
use support::{Cmd, report};

fn by_pointer<'a>(report: &'a Json, pointer: &str) -> &'a Json {
    report::first_section_finding(report, "pointer", pointer)
}

fn by_code<'a>(report: &'a Json, code: &str) -> &'a Json {
    report::first_section_finding(report, "code", code)
}

/// The value after `flag` on a command line.
fn flag<'a>(argv: &'a [Json], flag: &str) -> Option<&'a str> {
    let at = argv.iter().position(|a| a == flag)?;
    argv.get(at + 1)?.as_str()
}

#[test]
fn the_real_vllm_is_found_by_its_port_with_its_argv_tree_and_environment() {
    if std::env::var_os("MODELSPEC_REAL_VLLM").is_none_or(|v| v != "1") {
        eprintln!("skipped: set MODELSPEC_REAL_VLLM=1 to run against a real vLLM (../shared/real-vllm)");
        return;
    }
    let server = RealVllm::start("--enforce-eager");
    let dir = tempfile::tempdir().expect("tempdir");

    let (_, report) = scan(dir.path(), &spec(server.port, "cpu"));
    let port = by_pointer(&report, "/spec/operations/serving/port");
    assert_eq!(port["status"], "pass", "{port:#}");
    // The API server itself holds the socket (its engine runs in children).
    assert_eq!(port["observed"]["name"], "vllm", "{port:#}");

    let process = &report["observation"]["host"]["snapshot"]["servers"][0]["candidates"]["value"][0]["process"];
    let argv = process["argv"]["value"].as_array().expect("argv read");
    assert_eq!(argv.get(2).and_then(Json::as_str), Some("serve"), "{argv:?}");
    assert_eq!(flag(argv, "--max-model-len"), Some("1024"));
    assert_eq!(flag(argv, "--max-num-seqs"), Some("8"));
    assert_eq!(flag(argv, "--dtype"), Some("bfloat16"));
    assert_eq!(flag(argv, "--served-model-name"), Some("tiny-llama"));

    // The engine and its worker are in the tree. Linux keeps 15 bytes of a process name, so
    // `VLLM::EngineCore` reads `VLLM::EngineCor`.
    let children: Vec<&str> = process["children"]["value"]
        .as_array()
        .expect("children read")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(children.contains(&"VLLM::EngineCor"), "{children:?}");
    assert!(children.contains(&"VLLM::Worker"), "{children:?}");

    for name in ["VLLM_TARGET_DEVICE", "HF_HUB_OFFLINE"] {
        let f = by_pointer(&report, &format!("/spec/runtime/environment/variables/{name}"));
        assert_eq!(f["status"], "pass", "{f:#}");
    }
    assert_eq!(
        by_pointer(&report, "/spec/runtime/resources/cpuCores")["status"],
        "pass"
    );

    // The engine, read from its endpoint and command line.
    for (code, want) in [
        ("model-id", "pass"),
        ("model-framework", "pass"),
        ("model-precision", "pass"),
        ("batch-max-size", "pass"),
        ("batch-max-sequence-length", "pass"),
        ("serving-protocol", "pass"),
        ("readiness-probe", "pass"),
        // Its /metrics page: Prometheus text with the V1 families, and no queue at rest.
        ("metrics-exposed", "pass"),
        ("batch-observed", "pass"),
        ("saturation", "pass"),
    ] {
        let f = by_code(&report, code);
        assert_eq!(f["status"], want, "{code}: {f:#}");
    }

    // A spec the engine does not match: model, precision, batch and length all drift.
    let drifting = spec(server.port, "cpu")
        .replace("id: tiny-llama", "id: meta-llama/Llama-3.1-8B")
        .replace("precision: bf16", "precision: fp16")
        .replace(
            "maxBatchSize: 8, maxSequenceLengthTokens: 1024",
            "maxBatchSize: 4, maxSequenceLengthTokens: 4096",
        );
    let (code, report) = scan(dir.path(), &drifting);
    for code in [
        "model-id",
        "model-precision",
        "batch-max-size",
        "batch-max-sequence-length",
    ] {
        let f = by_code(&report, code);
        assert_eq!(f["status"], "fail", "{code}: {f:#}");
    }
    assert_eq!(code, Some(1));

    // The same server against a spec that expects it on CUDA: drift, with the observed value.
    let (code, report) = scan(dir.path(), &spec(server.port, "cuda"));
    let f = by_pointer(&report, "/spec/runtime/environment/variables/VLLM_TARGET_DEVICE");
    assert_eq!(f["status"], "fail", "{f:#}");
    assert_eq!(f["observed"], "cpu");
    assert_eq!(code, Some(1));
    drop(server);
}

use support::netns;

/// The same real vLLM in a network namespace of its own, as in a pod: found through the
/// namespace survey, reached at the namespace's address, and judged the same.
#[test]
fn the_real_vllm_in_its_own_network_namespace_is_found_and_judged_the_same() {
    if std::env::var_os("MODELSPEC_REAL_VLLM").is_none_or(|v| v != "1") {
        eprintln!("skipped: set MODELSPEC_REAL_VLLM=1 to run against a real vLLM (../shared/real-vllm)");
        return;
    }
    if !netns::available() {
        return;
    }
    let ns = netns::Netns::linked();
    let server = RealVllm::start_in("--enforce-eager", Some(&ns.name));
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, report) = scan(dir.path(), &spec(server.port, "cpu"));
    let matched = by_code(&report, "workload-match");
    assert_eq!(matched["status"], "pass", "{matched:#}");
    let address = ns.address.clone().unwrap_or_default();
    assert_eq!(
        matched["evidence"]["raw"]["reach"],
        serde_json::json!({"via": "namespace_address", "address": format!("{address}:{}", server.port)}),
        "{matched:#}"
    );
    let port = by_pointer(&report, "/spec/operations/serving/port");
    assert_eq!(port["status"], "pass", "{port:#}");
    for name in ["VLLM_TARGET_DEVICE", "HF_HUB_OFFLINE"] {
        let f = by_pointer(&report, &format!("/spec/runtime/environment/variables/{name}"));
        assert_eq!(f["status"], "pass", "{f:#}");
    }
    for code in [
        "model-id",
        "model-framework",
        "model-precision",
        "batch-max-size",
        "batch-max-sequence-length",
        "serving-protocol",
        "readiness-probe",
        "metrics-exposed",
        "batch-observed",
        "saturation",
    ] {
        let f = by_code(&report, code);
        assert_eq!(f["status"], "pass", "{code}: {f:#}");
    }
    drop(server);
    drop(ns);
}

/// `modelspec init` against the real vLLM: the draft validates, and scanning the server with it
/// finds no drift in anything it filled.
#[test]
fn a_draft_of_the_real_vllm_validates_and_scans_clean() {
    if std::env::var_os("MODELSPEC_REAL_VLLM").is_none_or(|v| v != "1") {
        eprintln!("skipped: set MODELSPEC_REAL_VLLM=1 to run against a real vLLM (../shared/real-vllm)");
        return;
    }
    let server = RealVllm::start("--enforce-eager");
    // Two requests served, so the metrics page has traffic to propose targets from.
    for _ in 0..2 {
        complete(server.port);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spec.yaml");
    let o = Cmd::new()
        .args([
            "init",
            "--port",
            &server.port.to_string(),
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
            "-o",
        ])
        .arg(&path)
        .output();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let yaml = std::fs::read_to_string(&path).expect("the draft");
    assert!(yaml.contains("id: \"tiny-llama\""), "{yaml}");
    assert!(yaml.contains("framework: \"vllm\""), "{yaml}");
    assert!(yaml.contains("maxSequenceLengthTokens: 1024"), "{yaml}");
    assert!(yaml.contains("maxBatchSize: 8"), "{yaml}");
    let o = Cmd::new().arg("validate").arg(&path).output();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));

    let (_, report) = scan(dir.path(), &yaml);
    let filled = modelspec::draft::filled(&yaml);
    let findings = report["specs"][0]["findings"].as_array().cloned().unwrap_or_default();
    let drift = report::drift_on(&findings, &filled);
    assert!(drift.is_empty(), "{drift:#?}\n{yaml}");
    // The traffic proposes targets, as comments.
    for target in ["targetLatencyMsP95: ", "targetRps: "] {
        assert!(
            yaml.lines().any(|l| l.starts_with("# proposal") && l.contains(target)),
            "{target}\n{yaml}"
        );
    }
    assert!(yaml.contains("livenessProbe:"), "{yaml}");
    assert!(yaml.contains("provider: \"prometheus\""), "{yaml}");

    // Without a port: `--all` finds it by its command line (`vllm serve`).
    let o = Cmd::new()
        .args(["init", "--all", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .output();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let stream = String::from_utf8_lossy(&o.stdout);
    let ours = stream
        .split("---\n")
        .find(|d| d.contains(&format!("port: {}  #", server.port)))
        .unwrap_or_else(|| panic!("no draft for port {}: {stream}", server.port));
    assert!(ours.contains("id: \"tiny-llama\""), "{ours}");
}

/// One completion from the server (a plain HTTP/1.1 POST over loopback).
fn complete(port: u16) {
    use std::io::{Read, Write};
    let body = r#"{"model":"tiny-llama","prompt":"Hello","max_tokens":2}"#;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
