//! `modelspec fleet` over a generated fleet: 200 node reports from real scans (the fake NVML
//! library with a GPU profile per node, two engine imitations serving the specs' ports), with
//! drift on a known subset of nodes, a waiver on some, stale nodes, a node with history, and
//! reports that must be excluded (tampered, observation edited, no facts, newer schema, not
//! JSON). The fleet report must name exactly the drifting nodes per check, and exclude exactly
//! the bad reports, each for its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::Value as Json;

use crate::support::report::assert_matches_schema;
use crate::support::{Cmd, Dir, assert_valid_with, fake_nvml_arg, free_port, start_engine};

fn spec(name: &str, model: &str, gpu: &str, port: u16, max_len: u32) -> String {
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: {name}
  version: \"1.0\"
spec:
  identity:
    model: {{id: {model}, family: llama, task: chat, framework: vllm}}
  runtime:
    accelerator: {{vendor: nvidia, type: {gpu}, count: 1}}
    batch: {{maxBatchSize: 256, maxSequenceLengthTokens: {max_len}}}
  operations:
    serving: {{protocol: http, port: {port}}}
"
    )
}

const WAIVER: &str = "\
waivers:
  - code: accelerator-type
    pointer: /spec/runtime/accelerator/type
    spec: chat
    reason: A100 nodes stay until the H100 order lands
    owner: ml-platform@example.com
    expires: 2999-12-31
";

const NODES: usize = 200;

fn node(i: usize) -> String {
    format!("node-{i:03}")
}

/// The known drift: every tenth node has A100s where `chat` declares H100 (half of those
/// under a waiver); every 25th node's GPUs are unhealthy.
fn profile(i: usize) -> &'static str {
    if i % 10 == 3 {
        "a100-sxm4-80gb-x4"
    } else if i % 25 == 7 {
        "node-unhealthy"
    } else {
        "h100-sxm-x8"
    }
}

fn waived(i: usize) -> bool {
    i % 20 == 13
}

/// The first twenty nodes are scanned well before the rest: stale at the instant judged.
fn stale(i: usize) -> bool {
    i < 20
}

struct Fleet {
    dir: Dir,
    specs: Vec<PathBuf>,
}

impl Fleet {
    fn nodes(&self) -> PathBuf {
        self.dir.file("nodes")
    }

    fn scan(&self, i: usize, profile: &str, out: &Path, extra: &[&str]) {
        let o = Cmd::new()
            .current_dir(self.dir.path())
            .nvml_profile(profile)
            .arg("scan")
            .args(&self.specs)
            .args([
                "--nvml-lib",
                &fake_nvml_arg(),
                "--node",
                &node(i),
                "--timeout",
                "20s",
                "-q",
            ])
            .args(["--format", "json", "-o"])
            .arg(out)
            .args(extra)
            .output();
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "scan of {} ended {:?}: {}",
            node(i),
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Scans the nodes on eight workers.
    fn scan_all(&self, nodes: &[usize]) {
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = nodes.get(k) else { break };
                        let out = self.nodes().join(format!("{}.json", node(i)));
                        let extra: &[&str] = if waived(i) { &["--waivers", "waivers.yaml"] } else { &[] };
                        self.scan(i, profile(i), &out, extra);
                    }
                });
            }
        });
    }
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rfc3339(t: SystemTime) -> String {
    modelspec_probe_gpu::format_rfc3339_utc(t)
}

fn names(v: &Json) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// What each node's own (genuine, latest) report says: spec -> code -> status -> nodes.
fn expected_from(reports: &[(String, Json)]) -> BTreeMap<(String, String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for (node, report) in reports {
        for section in report["specs"].as_array().into_iter().flatten() {
            let spec = section["spec"]["name"].as_str().unwrap_or_default().to_string();
            for f in section["findings"].as_array().into_iter().flatten() {
                let status = f["status"].as_str().unwrap_or_default();
                if matches!(status, "fail" | "warn" | "unknown" | "waived") {
                    let code = f["code"].as_str().unwrap_or_default().to_string();
                    out.entry((spec.clone(), code, status.to_string()))
                        .or_default()
                        .insert(node.clone());
                }
            }
        }
    }
    out
}

#[test]
fn a_generated_fleet_names_exactly_the_drifting_nodes_and_excludes_exactly_the_bad_reports() {
    let dir = Dir::new();
    std::fs::create_dir_all(dir.file("nodes/history")).expect("mkdir");
    let (chat_port, embed_port) = (free_port(), free_port());
    let _chat = start_engine("chat-model", chat_port, &["--max-model-len", "4096"]);
    let _embed = start_engine("embed-model", embed_port, &["--max-model-len", "8192"]);
    let specs = vec![
        dir.write(
            "chat.modelspec.yaml",
            &spec("chat", "chat-model", "h100", chat_port, 4096),
        ),
        dir.write(
            "embed.modelspec.yaml",
            &spec("embed", "embed-model", "h100", embed_port, 8192),
        ),
    ];
    dir.write("waivers.yaml", WAIVER);
    let fleet = Fleet { dir, specs };

    // Phase one: the stale nodes, and node-100 as it was (on A100s: drifting then).
    let early: Vec<usize> = (0..NODES).filter(|&i| stale(i)).collect();
    fleet.scan_all(&early);
    fleet.scan(
        100,
        "a100-sxm4-80gb-x4",
        &fleet.nodes().join("history/node-100-before.json"),
        &[],
    );
    std::thread::sleep(Duration::from_millis(1100));
    let cut = SystemTime::now();
    std::thread::sleep(Duration::from_millis(1100));
    let late: Vec<usize> = (0..NODES).filter(|&i| !stale(i)).collect();
    fleet.scan_all(&late);

    // The genuine latest reports, read before any is spoiled.
    let genuine: Vec<(String, Json)> = (0..NODES)
        .map(|i| (node(i), read_json(&fleet.nodes().join(format!("{}.json", node(i))))))
        .collect();

    // Bad reports. node-052's own report is replaced by a tampered copy: node-052 has no
    // verified report left. The others are extra files beside genuine ones.
    let bad = fleet.dir.file("nodes/bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    let flip = |report: &mut Json| {
        let findings = report["specs"][0]["findings"].as_array_mut().expect("findings");
        let f = findings
            .iter_mut()
            .find(|f| f["status"] == "fail")
            .expect("a failing finding");
        f["status"] = "pass".into();
    };
    let mut tampered = genuine[52].1.clone();
    flip(&mut tampered);
    std::fs::write(fleet.nodes().join("node-052.json"), tampered.to_string()).expect("write");
    let mut tampered = genuine[53].1.clone();
    flip(&mut tampered);
    std::fs::write(
        bad.join("tampered.json"),
        serde_json::to_string_pretty(&tampered).expect("json"),
    )
    .expect("write");
    let mut edited = genuine[54].1.clone();
    edited["observation"]["meta"]["collected_at"] = "2000-01-01T00:00:00.000Z".into();
    std::fs::write(bad.join("observation-edited.json"), edited.to_string()).expect("write");
    let mut newer = genuine[55].1.clone();
    newer["schema"] = "modelspec.report/v2".into();
    std::fs::write(bad.join("newer.json"), newer.to_string()).expect("write");
    std::fs::write(
        bad.join("garbage.json"),
        "{\"schema\": \"modelspec.report/v1\", \"specs\": [",
    )
    .expect("write");
    fleet.scan(56, profile(56), &bad.join("no-facts.json"), &["--no-facts"]);
    // A writer's temporary file is not an input.
    std::fs::write(fleet.nodes().join(".node-057.json.tmp-1"), "half a file").expect("write");

    let now = rfc3339(cut + Duration::from_secs(3600));
    let o = Cmd::new()
        .current_dir(fleet.dir.path())
        .args([
            "fleet",
            "nodes",
            "--now",
            &now,
            "--stale-after",
            "1h",
            "--format",
            "json",
        ])
        .args([
            "-o",
            "markdown=fleet.md",
            "-o",
            "table=fleet.txt",
            "-o",
            "ctrf=fleet.ctrf.json",
        ])
        .output();
    assert_eq!(
        o.status.code(),
        Some(1),
        "drift, stale nodes and exclusions: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert_matches_schema(modelspec::schemas::FLEET, &text);
    let report: Json = serde_json::from_str(&text).expect("fleet JSON");

    // Exactly the bad reports are excluded, each for its reason.
    let excluded: BTreeMap<String, String> = report["excluded"]
        .as_array()
        .expect("excluded")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default().to_string(),
                e["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: BTreeMap<String, String> = [
        ("nodes/node-052.json", "does_not_verify"),
        ("nodes/bad/tampered.json", "does_not_verify"),
        ("nodes/bad/observation-edited.json", "does_not_verify"),
        ("nodes/bad/newer.json", "newer_schema"),
        ("nodes/bad/garbage.json", "unreadable"),
        ("nodes/bad/no-facts.json", "not_verifiable"),
    ]
    .into_iter()
    .map(|(p, r)| (p.to_string(), r.to_string()))
    .collect();
    assert_eq!(excluded, want);
    let summary = &report["summary"];
    assert_eq!(summary["reports"], NODES + 1 + 5, "{summary}");
    assert_eq!(summary["excluded"], 6);
    assert_eq!(summary["nodes"], NODES - 1, "node-052 has no verified report");

    // Stale: exactly the early nodes.
    let nodes = report["nodes"].as_array().expect("nodes");
    let stale_nodes: BTreeSet<String> = nodes
        .iter()
        .filter(|n| n["stale"] == true)
        .filter_map(|n| n["name"].as_str().map(String::from))
        .collect();
    let want: BTreeSet<String> = (0..NODES).filter(|&i| stale(i)).map(node).collect();
    assert_eq!(stale_nodes, want);
    let n100 = nodes.iter().find(|n| n["name"] == "node-100").expect("node-100");
    assert_eq!(n100["reports"], 2, "its history counts: {n100}");
    assert_eq!(n100["report"], "nodes/node-100.json", "its latest report is its state");

    // The known drift, by construction.
    let spec = |name: &str| {
        report["specs"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name))
            .unwrap_or_else(|| panic!("spec {name}"))
    };
    let check = |spec_name: &str, code: &str| {
        spec(spec_name)["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["code"] == code))
            .cloned()
            .unwrap_or(Json::Null)
    };
    let accel = check("chat", "accelerator-type");
    let want_fail: BTreeSet<String> = (0..NODES)
        .filter(|&i| profile(i).starts_with("a100") && !waived(i))
        .map(node)
        .collect();
    let want_waived: BTreeSet<String> = (0..NODES)
        .filter(|&i| profile(i).starts_with("a100") && waived(i))
        .map(node)
        .collect();
    assert_eq!(names(&accel["fail"]), want_fail, "{accel:#}");
    assert_eq!(names(&accel["waived"]), want_waived);
    assert!(
        !names(&accel["fail"]).contains("node-100"),
        "node-100 runs on H100s now"
    );
    // First seen: node-100's earlier report, which drifted before any current node was scanned.
    let before = read_json(&fleet.nodes().join("history/node-100-before.json"));
    assert!(
        accel["first_seen"].as_str().expect("first_seen") <= before["started_at"].as_str().expect("started_at"),
        "{accel:#}"
    );
    let unhealthy: BTreeSet<String> = (0..NODES)
        .filter(|&i| profile(i) == "node-unhealthy")
        .map(node)
        .collect();
    let memory = check("chat", "gpu-memory-errors");
    assert_eq!(names(&memory["fail"]), unhealthy, "{memory:#}");

    // Every check of every spec names exactly the nodes whose own report says so.
    let genuine: Vec<(String, Json)> = genuine.into_iter().filter(|(n, _)| n != "node-052").collect();
    let expected = expected_from(&genuine);
    let mut got: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for s in report["specs"].as_array().expect("specs") {
        for c in s["checks"].as_array().expect("checks") {
            for status in ["fail", "warn", "unknown", "waived"] {
                let nodes = names(&c[status]);
                if !nodes.is_empty() {
                    got.insert(
                        (
                            s["name"].as_str().unwrap_or_default().into(),
                            c["code"].as_str().unwrap_or_default().into(),
                            status.into(),
                        ),
                        nodes,
                    );
                }
            }
        }
    }
    assert_eq!(got, expected);
    let chat = &spec("chat")["nodes"];
    assert_eq!(chat["scanned"], NODES - 1);
    assert_eq!(
        chat["drifting"].as_u64().unwrap_or(0) as usize,
        genuine
            .iter()
            .filter(|(_, r)| r["specs"][0]["summary"]["fail"].as_u64() > Some(0))
            .count()
    );

    // The matrix counts what the checks list.
    let columns = report["matrix"]["checks"].as_array().expect("columns");
    let col = columns
        .iter()
        .position(|c| c == "accelerator-type")
        .expect("accelerator-type column");
    let row = report["matrix"]["rows"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["spec"] == "chat"))
        .expect("chat row");
    assert_eq!(row["cells"][col]["fail"], want_fail.len());
    assert_eq!(row["cells"][col]["waived"], want_waived.len());

    // The Markdown opens with what drifted, names the nodes, and lists the exclusions.
    let md = std::fs::read_to_string(fleet.dir.file("fleet.md")).expect("fleet.md");
    let drifted = md.find("## What drifted").expect("What drifted");
    assert!(drifted < md.find("## Specs").expect("Specs"), "{md}");
    assert!(md.contains("nodes/bad/tampered.json"));
    let line = md
        .lines()
        .find(|l| l.contains("| accelerator-type |") && l.contains("**fail**"))
        .expect("accelerator-type line");
    for n in &want_fail {
        assert!(line.contains(n.as_str()), "{n} missing from {line}");
    }
    let table = std::fs::read_to_string(fleet.dir.file("fleet.txt")).expect("fleet.txt");
    assert!(table.contains("Excluded reports"), "{table}");

    // CTRF: valid against the published schema, one failed test per excluded input, and the
    // accelerator-type test names the drifting nodes.
    let ctrf = read_json(&fleet.dir.file("fleet.ctrf.json"));
    let tests = ctrf["results"]["tests"].as_array().expect("tests");
    let failed_inputs = tests
        .iter()
        .filter(|t| t["suite"][0] == "inputs" && t["status"] == "failed")
        .count();
    assert_eq!(failed_inputs, 6);
    let accel = tests
        .iter()
        .find(|t| t["name"] == "chat: accelerator-type")
        .expect("accelerator-type test");
    assert_eq!(accel["status"], "failed");
    assert_valid_with("validate_ctrf.py", fleet.dir.path(), &["fleet.ctrf.json"]);

    // Signatures, made by the real ssh-keygen: every report signed but three left unsigned and
    // one signed by another key. Required, those four are excluded for it; the rest stand.
    if !ssh_keygen_works() {
        return;
    }
    let keygen = |name: &str| {
        let o = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(fleet.dir.file(name))
            .output()
            .expect("ssh-keygen");
        assert!(o.status.success(), "{o:?}");
    };
    keygen("fleet-key");
    keygen("other-key");
    let mut reports: Vec<PathBuf> = Vec::new();
    for dir in [fleet.nodes(), fleet.nodes().join("history"), bad.clone()] {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "json") {
                reports.push(p);
            }
        }
    }
    let unsigned = ["node-060.json", "node-061.json", "node-062.json"];
    for report in &reports {
        let name = report.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if unsigned.contains(&name) {
            continue;
        }
        let key = if name == "node-063.json" {
            "other-key"
        } else {
            "fleet-key"
        };
        let o = Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "modelspec", "-f"])
            .arg(fleet.dir.file(key))
            .arg(report)
            .output()
            .expect("ssh-keygen -Y sign");
        assert!(o.status.success(), "{o:?}");
    }
    let o = Cmd::new()
        .current_dir(fleet.dir.path())
        .args([
            "fleet",
            "nodes",
            "--now",
            &now,
            "--format",
            "json",
            "--require-signature",
            "fleet-key.pub",
        ])
        .output();
    let signed: Json = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    let by_signature: BTreeSet<String> = signed["excluded"]
        .as_array()
        .expect("excluded")
        .iter()
        .filter(|e| e["reason"] == "signature")
        .filter_map(|e| e["path"].as_str().map(String::from))
        .collect();
    let want: BTreeSet<String> = ["node-060", "node-061", "node-062", "node-063"]
        .iter()
        .map(|n| format!("nodes/{n}.json"))
        .collect();
    assert_eq!(by_signature, want, "{:#}", signed["excluded"]);
    assert_eq!(signed["summary"]["excluded"], 10, "the six bad reports, and these four");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("a key not among the trusted keys"),
        "the wrong key is named as such"
    );
    assert!(
        text.contains("node-060.json.sig does not exist"),
        "the missing signature is named"
    );
    let fingerprint = signed["inputs"][0]["signed_by"].as_str().unwrap_or_default();
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    let private = std::fs::read_to_string(fleet.dir.file("fleet-key")).expect("key");
    let body: String = private.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!text.contains(&body[..40]), "the private key never appears");
}

/// Whether `ssh-keygen` can sign here (the interop tests need the real tool; CI installs it).
fn ssh_keygen_works() -> bool {
    let ok = Command::new("ssh-keygen").arg("-?").output().is_ok();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(ok || !ci, "CI must have ssh-keygen (openssh-client)");
    if !ok {
        eprintln!("skipped: no ssh-keygen");
    }
    ok
}

#[test]
fn no_report_at_all_is_an_error_and_a_missing_input_says_which() {
    let dir = Dir::new();
    std::fs::create_dir_all(dir.file("empty")).expect("mkdir");
    let o = dir.command().args(["fleet", "empty"]).output();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no report found in empty"),
        "{o:?}"
    );
    let o = dir.command().args(["fleet", "nowhere"]).output();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nowhere"), "{o:?}");
    let o = dir.command().args(["fleet", "empty", "--now", "yesterday"]).output();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RFC 3339"), "{o:?}");
}
