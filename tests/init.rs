//! `modelspec init`: a draft from a live node (fake NVML profiles, the engine imitation on
//! loopback) validates, and scanning the same node with it finds no drift in what it filled;
//! changing the node afterwards gives exactly the matching failure.

use std::path::Path;

use serde_json::Value as Json;

use modelspec::draft::filled;

use crate::support::report::drift_on;
use crate::support::{Cmd, Dir, fake_nvml_arg, free_port, start_engine, start_engine_as_vllm};

/// A command on the node a profile names: a fake NVML profile (`h100-sxm-x8`), or with `amd:`
/// a fake AMD SMI profile (`amd:mi300x-x8`) on a node without NVML; the `--nvml-lib` to give.
fn on_node(profile: &str) -> (Cmd, String) {
    match profile.strip_prefix("amd:") {
        Some(amd) => (
            Cmd::new().amd_profile(amd),
            "/nonexistent/libnvidia-ml.so.1".to_string(),
        ),
        None => (Cmd::new().nvml_profile(profile), fake_nvml_arg()),
    }
}

/// `init` against the live node, the draft written to `spec.yaml`.
fn init(dir: &Dir, profile: &str, port: u16) -> String {
    let (cmd, nvml_lib) = on_node(profile);
    let o = cmd
        .current_dir(dir.path())
        .args([
            "init",
            "--port",
            &port.to_string(),
            "--nvml-lib",
            &nvml_lib,
            "-o",
            "spec.yaml",
        ])
        .output();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(dir.file("spec.yaml")).expect("the draft")
}

/// The scan's findings on the live node.
fn scan(dir: &Dir, profile: &str, spec: &Path) -> Vec<Json> {
    let (cmd, nvml_lib) = on_node(profile);
    let o = cmd
        .current_dir(dir.path())
        .arg("scan")
        .arg(spec)
        .args(["--nvml-lib", &nvml_lib, "--format", "json", "--timeout", "20s"])
        .output();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Json = serde_json::from_slice(&o.stdout).expect("a JSON report");
    report["specs"][0]["findings"].as_array().cloned().unwrap_or_default()
}

/// The round trip: `init` on the node, the draft validates with no error, and scanning the
/// same node with it finds no fail or warn on anything it filled. Answers the draft and the
/// scan's findings.
fn draft_and_scan_clean(dir: &Dir, profile: &str, port: u16, what: &str) -> (String, Vec<Json>) {
    let yaml = init(dir, profile, port);
    let o = Cmd::new().arg("validate").arg(dir.file("spec.yaml")).output();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let findings = scan(dir, profile, &dir.file("spec.yaml"));
    assert_eq!(
        drift_on(&findings, &filled(&yaml)),
        Vec::<String>::new(),
        "{what}\n{yaml}"
    );
    (yaml, findings)
}

/// The checks that fail (codes without their per-GPU suffix), sorted, once each.
fn failed(findings: &[Json]) -> Vec<String> {
    let mut failed: Vec<String> = findings
        .iter()
        .filter(|f| f["status"] == "fail")
        .filter_map(|f| f["code"].as_str())
        .map(|c| c.split('/').next().unwrap_or(c).to_string())
        .collect();
    failed.sort();
    failed.dedup();
    failed
}

#[test]
fn a_draft_of_a_live_node_scans_clean_on_it_and_catches_the_change() {
    const MODEL: &str = "org/Chat-Model-7B";
    const DRAFTED: &[&str] = &["--max-model-len", "2048", "--max-num-seqs", "48"];
    for (profile, gpus) in [("h100-sxm-x8", 8), ("l4-x1", 1), ("a100-sxm4-80gb-x4", 4)] {
        let dir = Dir::new();
        let port = free_port();
        let mut engine = start_engine(MODEL, port, DRAFTED);
        let (yaml, findings) = draft_and_scan_clean(&dir, profile, port, profile);
        assert!(yaml.contains("id: \"org/Chat-Model-7B\""), "{yaml}");
        assert!(yaml.contains("maxSequenceLengthTokens: 2048"), "{yaml}");
        assert!(yaml.contains("maxBatchSize: 48"), "{yaml}");
        assert!(yaml.contains(&format!("count: {gpus}")), "{yaml}");
        assert_eq!(failed(&findings), Vec::<String>::new(), "{profile}\n{yaml}");

        // The node changes, one thing at a time: exactly the matching check fails.
        let other_gpus = match profile {
            "h100-sxm-x8" => "h100-nvl-x2",
            "a100-sxm4-80gb-x4" => "a100-80gb-pcie-x2",
            _ => "t4-x1",
        };
        let changes: [(&[&str], &str, &[&str]); 3] = [
            (
                &["--max-model-len", "1024", "--max-num-seqs", "48"],
                profile,
                &["batch-max-sequence-length"],
            ),
            (
                &["--max-model-len", "2048", "--max-num-seqs", "64"],
                profile,
                &["batch-max-size"],
            ),
            (
                DRAFTED,
                other_gpus,
                if gpus == 1 {
                    &["accelerator-type"]
                } else {
                    &["accelerator-count", "accelerator-type"]
                },
            ),
        ];
        for (flags, node, expected) in changes {
            drop(engine);
            engine = start_engine(MODEL, port, flags);
            let findings = scan(&dir, node, &dir.file("spec.yaml"));
            assert_eq!(failed(&findings), expected, "{profile} -> {node} {flags:?}");
        }
        drop(engine);
    }
}

/// Every GPU profile of the fake NVML (healthy, unhealthy, MIG, no driver): the draft
/// validates, and the scan finds no drift in what it filled.
#[test]
fn every_gpu_profile_drafts_a_spec_that_scans_clean() {
    let port = free_port();
    let _engine = start_engine("org/Model", port, &["--max-model-len", "1024"]);
    for profile in &gpu_profiles() {
        draft_and_scan_clean(&Dir::new(), profile, port, profile);
    }
}

/// Every AMD GPU profile (but the one whose driver is not loaded) drafts `vendor: amd` with its
/// type (partition modes when split) and count, and the draft scans clean on the same node.
#[test]
fn every_amd_profile_drafts_a_spec_that_scans_clean() {
    let port = free_port();
    let _engine = start_engine("org/Model", port, &["--max-model-len", "1024"]);
    for (profile, kind) in [
        ("mi300x-x8", "mi300x"),
        ("mi325x-x8", "mi325x"),
        ("mi250x-x4", "mi250x"),
        ("mi210-x1", "mi210"),
        ("mi300x-cpx", "mi300x-cpx-nps4"),
        ("mi300x-ras", "mi300x"),
    ] {
        let (yaml, _) = draft_and_scan_clean(&Dir::new(), &format!("amd:{profile}"), port, profile);
        assert!(yaml.contains("vendor: \"amd\""), "{profile}:\n{yaml}");
        assert!(yaml.contains(&format!("type: \"{kind}\"")), "{profile}:\n{yaml}");
    }
}

/// Every GPU profile of the fake NVML, by name.
fn gpu_profiles() -> Vec<String> {
    let mut profiles: Vec<String> = std::fs::read_dir(crate::support::root().join("fixtures/gpus"))
        .expect("the GPU profiles")
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(String::from))
        .filter(|name| name != "README")
        .collect();
    profiles.sort();
    assert!(profiles.len() >= 10, "{profiles:?}");
    profiles
}

/// Every engine's recorded answers (`fixtures/engines`), replayed on loopback (no engine
/// process: the engine is told from its answers), on every GPU profile: the draft validates and
/// scans clean on the same answers; two drafts are snapshotted with the port masked.
#[test]
fn every_recorded_engine_drafts_a_spec_that_scans_clean() {
    let root = crate::support::root().join("fixtures/engines");
    let mut engines: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&root).expect("the engine fixtures").flatten() {
        let dir = entry.path();
        if dir.join("endpoints").is_dir() {
            engines.extend(dir.file_name().and_then(|n| n.to_str()).map(String::from));
        }
        for sub in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if sub.path().join("endpoints").is_dir() {
                let name = format!(
                    "{}/{}",
                    entry.file_name().to_string_lossy(),
                    sub.file_name().to_string_lossy()
                );
                engines.push(name);
            }
        }
    }
    engines.sort();
    assert!(engines.len() >= 10, "{engines:?}");
    for engine in &engines {
        let server = crate::scan_endpoint::replay(&root.join(engine));
        for profile in &gpu_profiles() {
            let (yaml, _) = draft_and_scan_clean(&Dir::new(), profile, server.port, &format!("{engine} on {profile}"));
            if profile == "h100-sxm-x8" && (engine == "tgi-3.x" || engine == "sglang-0.5") {
                // The port, the pid serving it and the measured latency change from run to run.
                let masked: String = yaml
                    .replace(&server.port.to_string(), "PORT")
                    .replace(&format!("pid {} ", std::process::id()), "pid PID ")
                    .lines()
                    .map(|l| match l.find("answered 2xx in ") {
                        Some(at) => format!("{}answered 2xx in N ms\n", &l[..at]),
                        None => format!("{l}\n"),
                    })
                    .collect();
                insta::assert_snapshot!(format!("init_{}", engine.replace(['.', '/'], "_")), masked);
            }
        }
    }
}

#[test]
fn init_never_overwrites_without_force_and_says_what_to_give() {
    let dir = Dir::new();
    dir.write("spec.yaml", "mine\n");
    let o = Cmd::new()
        .current_dir(dir.path())
        .args(["init", "--demo", "-o", "spec.yaml"])
        .output();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.file("spec.yaml")).ok().as_deref(),
        Some("mine\n")
    );
    let o = Cmd::new()
        .current_dir(dir.path())
        .args(["init", "--demo", "-o", "spec.yaml", "--force", "-q"])
        .output();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "-q says nothing");
    let text = std::fs::read_to_string(dir.file("spec.yaml")).unwrap_or_default();
    assert!(text.starts_with("apiVersion: piqc.ai/v1alpha1\n"), "{text}");

    let o = Cmd::new().current_dir(dir.path()).arg("init").output();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--port"));
}

/// Without a port: `--pid` (and `--workload pid:N`) finds the server on whichever port it
/// listens on, through the survey of the node's listeners; a pid that serves nothing is an
/// error that says what to give.
#[test]
fn a_pid_alone_finds_the_port_it_serves_on() {
    let port = free_port();
    let engine = start_engine("org/pid-only-1b", port, &["--max-num-seqs", "48"]);
    let pid = engine.pid().to_string();
    for selector in [vec!["--pid", pid.as_str()], vec!["--workload", &format!("pid:{pid}")]] {
        let o = Cmd::new()
            .nvml_profile("l4-x1")
            .arg("init")
            .args(&selector)
            .args(["--nvml-lib", &fake_nvml_arg(), "--timeout", "10s"])
            .output();
        let yaml = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{selector:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            yaml.contains(&format!("port: {port}  # pid {pid} listens on 127.0.0.1:{port}")),
            "{selector:?}: {yaml}"
        );
        assert!(
            yaml.contains("maxBatchSize: 48  # command line --max-num-seqs"),
            "{yaml}"
        );
        assert!(yaml.contains("id: \"org/pid-only-1b\""), "{yaml}");
    }
    // This test's own process listens nowhere and serves no model.
    let o = Cmd::new()
        .args([
            "init",
            "--pid",
            &std::process::id().to_string(),
            "--nvml-lib",
            &fake_nvml_arg(),
        ])
        .args(["--timeout", "10s"])
        .output();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("pid:{} names no", std::process::id())),
        "{stderr}"
    );
    assert!(stderr.contains("--port"), "{stderr}");
    assert!(o.stdout.is_empty());
    drop(engine);
}

/// `init --all`: every model server on the node, here two of one model on the host, found by
/// their command lines (`vllm serve`), which a name made from the model cannot tell apart: the
/// second gets its port. On standard output the drafts are one YAML stream that validates; in a folder,
/// one file each, never overwritten without --force. Other servers on the node (other tests')
/// may be drafted too: only these are asserted.
#[test]
fn init_all_drafts_every_server_under_names_that_differ() {
    let model = format!("org/twin-{}-1b", std::process::id());
    // The lower port drafts first, under the plain name.
    let mut ports = [free_port(), free_port()];
    while ports[1] == ports[0] {
        ports[1] = free_port();
    }
    ports.sort_unstable();
    let _first = start_engine_as_vllm(&model, ports[0], &["--max-num-seqs", "8"]);
    let _second = start_engine_as_vllm(&model, ports[1], &["--max-num-seqs", "16"]);
    let dir = Dir::new();
    let all = |extra: &[&str]| {
        Cmd::new()
            .current_dir(dir.path())
            .nvml_profile("l4-x1")
            .args(["init", "--all", "--nvml-lib", &fake_nvml_arg(), "--timeout", "20s"])
            .args(extra)
            .output()
    };
    let o = all(&["-o", "specs"]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let base = format!("twin-{}-1b", std::process::id());
    let first = std::fs::read_to_string(dir.file(&format!("specs/{base}.yaml")));
    let second = std::fs::read_to_string(dir.file(&format!("specs/{base}-{}.yaml", ports[1])));
    let (Ok(first), Ok(second)) = (first, second) else {
        panic!("the two drafts: {stderr}")
    };
    assert!(first.contains("maxBatchSize: 8  #"), "{first}");
    assert!(second.contains("maxBatchSize: 16  #"), "{second}");
    assert!(
        second.contains(&format!(
            "name: \"{base}-{}\"  # made from the model's id, and {}: another server drafts under the same name",
            ports[1], ports[1]
        )),
        "{second}"
    );
    assert!(
        stderr.contains(&format!("wrote specs/{base}.yaml ({base}): ")),
        "{stderr}"
    );
    // Both scan clean on the node they came from.
    for (file, yaml) in [
        (format!("specs/{base}.yaml"), &first),
        (format!("specs/{base}-{}.yaml", ports[1]), &second),
    ] {
        let findings = scan(&dir, "l4-x1", &dir.file(&file));
        assert_eq!(
            drift_on(&findings, &filled(yaml)),
            Vec::<String>::new(),
            "{file}\n{yaml}"
        );
    }
    // Again: nothing is overwritten, and nothing at all is written when one file exists.
    let o = all(&["-o", "specs"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let o = all(&["-o", "specs", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // On standard output: one stream of documents that validates.
    let o = all(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let stream = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(stream.starts_with("---\n"), "{stream}");
    assert_eq!(stream.matches(&format!("id: \"{model}\"")).count(), 2, "{stream}");
    std::fs::write(dir.file("all.yaml"), &stream).expect("write the stream");
    let o = Cmd::new().arg("validate").arg(dir.file("all.yaml")).output();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
}
