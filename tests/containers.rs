//! Real containers (podman + runc), the way model servers run on a node: three vLLM imitations
//! each listening on :8000 in a network namespace of its own, one of them also published on
//! 127.0.0.1. One scan of four specs must give each spec its own workload (process, container id,
//! endpoint answers, environment), follow the published port through conmon, and call the spec
//! whose model runs nowhere "not deployed on this node"; no container's secret may leak.
//!
//! Traffic goes only to 127.0.0.1 and to the test's own containers. A missing podman or
//! privilege fails under `CI=true` and is skipped elsewhere (`support/containers.rs`).

mod support;
use support::{Cmd, containers, fake_nvml, report};

use std::path::Path;

use containers::{Container, Engine};
use report::{code_in, section, served_spec as spec};
use serde_json::Value as Json;

const SECRET: &str = "hf_ContainerSecretValue0123456789abcdefgh";

fn start(model: &str, role: &str) -> Engine {
    Engine::new(model).env("ENGINE_ROLE", role).env("HF_TOKEN", SECRET)
}

/// A four-A100 node (the fake NVML) whose GPUs hold these host pids, one each; GPU 3 idle.
fn gpus_holding(dir: &Path, pids: [u32; 3]) -> std::path::PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gpus/a100-sxm4-80gb-x4.json");
    let mut profile: Json =
        serde_json::from_str(&std::fs::read_to_string(path).expect("a100 profile")).expect("profile JSON");
    for (i, pid) in pids.into_iter().enumerate() {
        profile["devices"][i]["processes"] = serde_json::json!([{"pid": pid, "used_mib": 70000}]);
    }
    let out = dir.join("node.json");
    std::fs::write(&out, profile.to_string()).expect("write profile");
    out
}

fn scan(dir: &Path, files: &[&str], profile: &Path) -> (Option<i32>, Json, String) {
    let lib = fake_nvml();
    let o = Cmd::new()
        .current_dir(dir)
        .arg("scan")
        .args(files)
        .args(["--timeout", "10s", "--format", "json", "--nvml-lib"])
        .arg(&lib)
        .fake_nvml_profile(profile)
        .output();
    report::report_of(&o)
}

/// The workload a section was matched to: its pid, container id and route.
fn assert_matched(sec: &Json, container: &Container, by: &str) -> String {
    let matched = code_in(sec, "workload-match");
    assert_eq!(matched["status"], "pass", "{matched:#}");
    assert_eq!(matched["observed"]["pid"], container.pid, "{matched:#}");
    assert_eq!(
        matched["observed"]["container_id"],
        container.id.as_str(),
        "{matched:#}"
    );
    let message = matched["message"].as_str().unwrap_or_default();
    assert!(message.contains(by), "matched by {by}? {message}");
    let workload = &matched["evidence"]["raw"]["workload"];
    assert_eq!(workload["runtime"], "podman", "{workload:#}");
    assert_eq!(workload["container_name"], container.name.as_str(), "{workload:#}");
    matched["evidence"]["raw"]["route"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn one_scan_tells_containers_on_one_port_apart() {
    if !containers::require("the container scan test") {
        return;
    }
    let port = containers::free_port();
    let alpha = start("org/alpha-7b", "alpha").start();
    let beta = start("org/beta-1b", "beta").start();
    let gamma = start("org/gamma-3b", "gamma").publish(port).start();

    let dir = tempfile::tempdir().expect("tempdir");
    let by_name = format!("container:{}", gamma.name);
    for (file, text) in [
        ("alpha.yaml", spec("alpha", "org/alpha-7b", 8000, None)),
        ("beta.yaml", spec("beta", "org/beta-1b", 8000, None)),
        ("gamma.yaml", spec("gamma", "org/gamma-3b", port, Some(&by_name))),
        ("delta.yaml", spec("delta", "org/delta-70b", 8000, None)),
    ] {
        std::fs::write(dir.path().join(file), text).expect("write spec");
    }
    // NVML reports host pids: the containers' processes, as the host sees them.
    let profile = gpus_holding(dir.path(), [alpha.pid, beta.pid, gamma.pid]);
    let (_, report, text) = scan(
        dir.path(),
        &["alpha.yaml", "beta.yaml", "gamma.yaml", "delta.yaml"],
        &profile,
    );
    assert!(!text.contains(SECRET), "a container's secret leaked");
    // Containers, namespaces, forwarders and reach, as the published observation schema says.
    report::assert_matches_schema(modelspec::schemas::OBSERVATION, &report["observation"].to_string());

    let model_and_port = "the serving port and the model id its engine serves";
    for (name, container) in [("alpha", &alpha), ("beta", &beta)] {
        let sec = section(&report, name);
        let route = assert_matched(sec, container, model_and_port);
        assert!(route.contains(&container.id[..12]), "{route}");
        let reach = &code_in(sec, "workload-match")["evidence"]["raw"]["reach"];
        assert_eq!(
            reach,
            &serde_json::json!({"via": "namespace_address", "address": container.addr().to_string()}),
            "{name}: reached at the container's own address"
        );
        assert_eq!(code_in(sec, "model-id")["status"], "pass", "{name}");
        let role = report::in_findings(
            &sec["findings"],
            "pointer",
            "/spec/runtime/environment/variables/ENGINE_ROLE",
        );
        assert_eq!(role["status"], "pass", "{name}: its own environment: {role:#}");
    }

    // Each container's GPU is attributed to it across the PID namespaces; the idle one is said.
    for name in ["alpha", "beta", "gamma"] {
        let count = code_in(section(&report, name), "accelerator-count");
        assert_eq!(count["status"], "pass", "{name}: {count:#}");
        assert_eq!(
            code_in(section(&report, name), "gpu-shared")["status"],
            "pass",
            "{name}"
        );
    }
    let unclaimed = report::in_findings(&report["node"], "code", "gpu-unclaimed");
    assert!(
        unclaimed["message"].as_str().is_some_and(|m| m.contains("[3] idle")),
        "{unclaimed:#}"
    );

    // Published: host 127.0.0.1:PORT -> conmon -> the engine in gamma, chosen by its annotation.
    let sec = section(&report, "gamma");
    let route = assert_matched(sec, &gamma, "modelspec.piqc.ai/workload annotation");
    assert!(
        route.starts_with(&format!("host 127.0.0.1:{port} → conmon ")),
        "the whole chain: {route}"
    );
    assert!(
        route.contains(&format!("{} in container {}", gamma.pid, &gamma.id[..12])),
        "{route}"
    );
    assert_eq!(code_in(sec, "model-id")["status"], "pass");
    assert_eq!(code_in(sec, "serving-port")["status"], "pass");
    // The host port's container port comes from podman's own state, not a guess.
    let servers = report["observation"]["host"]["snapshot"]["servers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let published = servers
        .iter()
        .find(|s| s["port"] == port)
        .unwrap_or_else(|| panic!("no server entry for port {port}: {servers:#?}"));
    let hop = &published["candidates"]["value"][0]["network"]["chain"][0];
    assert_eq!(hop["kind"], "conmon", "{hop:#}");
    assert!(
        hop["followed"].as_str().is_some_and(|f| f.contains(&format!(
            "podman's database maps host port {port} to container port 8000"
        ))),
        "{hop:#}"
    );

    // Nowhere on this node: a note, never drift.
    let sec = section(&report, "delta");
    assert_eq!(code_in(sec, "workload-match")["status"], "skip");
    let note = report::in_findings(&report["node"], "code", "not-deployed");
    assert!(
        note["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("delta is not deployed on this node")),
        "{note:#}"
    );
    assert_eq!(note["status"], "skip");
    assert_eq!(section(&report, "delta")["summary"]["fail"], 0);

    // Each endpoint was asked once per workload, each at its own address.
    let targets = report["observation"]["endpoint"]["snapshot"]["targets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in [&alpha, &beta, &gamma] {
        assert!(
            targets.iter().any(|t| t["pid"] == c.pid),
            "{} was not asked: {targets:#?}",
            c.name
        );
    }
    drop((alpha, beta, gamma));
    containers::cleanup();
}

/// `init --all -o DIR/`: one spec per serving container on the node, named after its model and
/// its container, each naming its workload in the `modelspec.piqc.ai/workload` annotation (two
/// replicas of one model, all on :8000, one also published through conmon, which is a
/// forwarder and drafts nothing). Its models are its own: the other test's containers may run
/// beside these, and are drafted too, but not asserted. One scan of every draft then finds each spec its own
/// container, by the annotation, with no drift on anything the draft filled.
#[test]
fn init_all_drafts_every_container_and_the_drafts_scan_clean() {
    if !containers::require("the init --all test") {
        return;
    }
    let port = containers::free_port();
    let first = Engine::new("org/kappa-7b").arg("--max-num-seqs").arg("24").start();
    let second = Engine::new("org/kappa-7b").start();
    let other = Engine::new("org/lambda-1b").max_model_len(2048).publish(port).start();
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = gpus_holding(dir.path(), [first.pid, second.pid, other.pid]);
    let o = Cmd::new()
        .current_dir(dir.path())
        .args(["init", "--all", "-o", "specs", "--timeout", "20s", "--nvml-lib"])
        .arg(fake_nvml())
        .fake_nvml_profile(&profile)
        .output();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(SECRET), "a secret in init's messages");

    let mut files = Vec::new();
    let mut drafts = Vec::new();
    for (container, model) in [(&first, "kappa-7b"), (&second, "kappa-7b"), (&other, "lambda-1b")] {
        let file = format!("specs/{model}-{}.yaml", container.name);
        let yaml = std::fs::read_to_string(dir.path().join(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}; init said: {stderr}"));
        assert!(
            yaml.contains(&format!(
                "\"modelspec.piqc.ai/workload\": \"container:{}\"",
                container.name
            )),
            "{yaml}"
        );
        assert!(yaml.contains("port: 8000  # pid "), "the container's own port: {yaml}");
        assert!(yaml.contains("count: 1  #"), "one GPU held by its tree: {yaml}");
        assert!(!yaml.contains(SECRET));
        files.push(file);
        drafts.push(yaml);
    }
    assert!(drafts[0].contains("maxBatchSize: 24"), "{}", drafts[0]);
    assert!(drafts[2].contains("maxSequenceLengthTokens: 2048"), "{}", drafts[2]);
    // The published port's forwarder is no server of its own.
    assert!(!stderr.contains("conmon"), "{stderr}");

    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let (_, report, _) = scan(dir.path(), &names, &profile);
    for ((container, yaml), file) in [&first, &second, &other].into_iter().zip(&drafts).zip(&files) {
        let name = file.trim_start_matches("specs/").trim_end_matches(".yaml");
        let sec = section(&report, name);
        assert_matched(sec, container, "modelspec.piqc.ai/workload annotation");
        let findings = sec["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            report::drift_on(&findings, &modelspec::draft::filled(yaml)),
            Vec::<String>::new(),
            "{name}\n{yaml}"
        );
        assert_eq!(sec["summary"]["fail"], 0, "{name}: {sec:#}");
    }
    drop((first, second, other));
    containers::cleanup();
}
