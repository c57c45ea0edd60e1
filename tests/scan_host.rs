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
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import socket,time;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();print(s.getsockname()[1],flush=True);time.sleep(60)",
        ])
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

fn finding<'a>(report: &'a Json, pointer: &str) -> &'a Json {
    report["findings"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["pointer"] == pointer))
        .unwrap_or_else(|| panic!("no finding for {pointer}"))
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
        Command::new(env!("CARGO_BIN_EXE_modelspec"))
            .args([
                "scan",
                path,
                "--nvml-lib",
                "/nonexistent/libnvidia-ml.so.1",
                "--format",
                format,
            ])
            .args(["--color", "never", "--show-skipped"])
            .env_remove("MODELSPEC_NVML_LIB")
            .output()
            .expect("run modelspec")
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

#[test]
fn nothing_listening_on_the_declared_port_is_drift() {
    // Bind and release a port so that nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("ephemeral port");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec(port)).expect("write spec");
    let o = Command::new(env!("CARGO_BIN_EXE_modelspec"))
        .args([
            "scan",
            path.to_str().expect("UTF-8 path"),
            "--format",
            "json",
            "--no-facts",
        ])
        .args(["--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .output()
        .expect("run modelspec");
    let report: Json = serde_json::from_slice(&o.stdout).expect("report JSON");
    let f = finding(&report, "/spec/operations/serving/port");
    assert_eq!(f["status"], "fail", "{f:#}");
    assert!(
        f["message"].as_str().is_some_and(|m| m.contains(&port.to_string())),
        "{f:#}"
    );
    // No process, so the environment is unknown rather than "missing".
    let level = finding(&report, "/spec/runtime/environment/variables/VLLM_LOGGING_LEVEL");
    assert_eq!(level["status"], "unknown", "{level:#}");
    assert_eq!(o.status.code(), Some(1));
}

include!("../probes/fake-nvml/locate.rs");

/// NVML's compute processes joined with the serving process: the count is the GPUs the serving
/// process holds, and another process on one of them is reported.
#[test]
fn gpus_are_attributed_to_the_serving_process() {
    let Some((server, port)) = serve_with(&["--tensor-parallel-size", "2"]) else {
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
    let lib = build_and_locate();
    let scan = |count: u32| {
        let spec_path = dir.path().join(format!("spec-{count}.yaml"));
        let text = spec(port).replace("type: l4, count: 1", &format!("type: l40s, count: {count}"));
        std::fs::write(&spec_path, text).expect("write spec");
        let o = Command::new(env!("CARGO_BIN_EXE_modelspec"))
            .args([
                "scan",
                spec_path.to_str().expect("UTF-8 path"),
                "--format",
                "json",
                "--no-facts",
            ])
            .args(["--nvml-lib", lib.to_str().expect("UTF-8 path")])
            .env("FAKE_NVML_PROFILE", &profile_path)
            .env_remove("MODELSPEC_NVML_LIB")
            .output()
            .expect("run modelspec");
        serde_json::from_slice::<Json>(&o.stdout).expect("report JSON")
    };
    let code = |report: &Json, code: &str| -> Json {
        report["findings"]
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
