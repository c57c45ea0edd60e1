//! End-to-end tests of `modelspec scan` (and `modelspec facts`) against the fake NVML library,
//! one GPU profile (`fixtures/gpus/*.json`) at a time.
//!
//! Every scan runs the binary as a child process with `FAKE_NVML_PROFILE` set in the child's
//! environment only, so the tests run in parallel. Specs are generated into a temporary directory
//! from one template (vendor, type, count, precision); the coverage test uses the full spec in
//! `fixtures/scan/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;
use sha2::Digest;

use crate::support::{Cmd, NO_NVML, fake_nvml, gpu_profile as profile, root, stderr, stdout};

/// Runs `modelspec ARGS` in `cwd`, with the fake NVML answering from `gpu_profile` when given.
fn modelspec_in(cwd: &Path, gpu_profile: Option<&str>, args: &[&str]) -> Output {
    let cmd = Cmd::new().args(args).current_dir(cwd);
    match gpu_profile {
        Some(name) => cmd.nvml_profile(name),
        None => cmd,
    }
    .output()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("modelspec was killed by a signal")
}

fn json_of(o: &Output) -> Json {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", stdout(o), stderr(o)))
}

/// A spec from the template: everything but the accelerator and precision is fixed.
fn spec_yaml(vendor: &str, kind: &str, count: u32, precision: Option<&str>) -> String {
    let precision = precision.map(|p| format!(", precision: {p}")).unwrap_or_default();
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: scan-test
spec:
  identity:
    model: {{id: test-model, family: test, task: chat-completion, framework: tgi{precision}}}
  runtime:
    accelerator: {{vendor: {vendor}, type: {kind}, count: {count}}}
"
    )
}

/// A scratch directory holding one generated spec, `spec.modelspec.yaml`.
struct Scratch {
    dir: tempfile::TempDir,
}

const SPEC: &str = "spec.modelspec.yaml";

impl Scratch {
    fn new(yaml: &str) -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(SPEC), yaml).expect("write spec");
        Scratch { dir }
    }

    fn nvidia(kind: &str, count: u32, precision: Option<&str>) -> Scratch {
        Scratch::new(&spec_yaml("nvidia", kind, count, precision))
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `modelspec ARGS` in the scratch directory.
    fn run(&self, gpu_profile: Option<&str>, args: &[&str]) -> Output {
        modelspec_in(self.path(), gpu_profile, args)
    }

    /// `modelspec scan SPEC --format json --no-facts EXTRA` against the fake with `gpu_profile`.
    fn scan(&self, gpu_profile: &str, extra: &[&str]) -> (i32, Json) {
        let lib = fake_nvml();
        let lib = lib.to_str().expect("UTF-8 path");
        let mut args = vec!["scan", SPEC, "--nvml-lib", lib, "--format", "json", "--no-facts"];
        args.extend_from_slice(extra);
        let o = self.run(Some(gpu_profile), &args);
        let c = code(&o);
        assert!(
            c == 0 || c == 1,
            "scan against {gpu_profile} exited {c}:\n{}{}",
            stdout(&o),
            stderr(&o)
        );
        (c, json_of(&o))
    }

    /// The same scan without NVML at all.
    fn scan_without_nvml(&self, extra: &[&str]) -> (i32, Json) {
        let mut args = vec!["scan", SPEC, "--nvml-lib", NO_NVML, "--format", "json", "--no-facts"];
        args.extend_from_slice(extra);
        let o = self.run(None, &args);
        (code(&o), json_of(&o))
    }
}

/// The findings of a single-spec report (its only section).
fn findings(report: &Json) -> &[Json] {
    let sections = report["specs"].as_array().expect("specs is an array");
    assert_eq!(sections.len(), 1, "one spec, one section: {report:#}");
    sections[0]["findings"].as_array().expect("findings is an array")
}

/// The report's sections with the XID watch's moment (its start and length, in `gpu-xid`'s
/// message and evidence) taken out: two observations of one node differ only there.
fn untimed(report: &Json) -> Json {
    let mut specs = report["specs"].clone();
    for section in specs.as_array_mut().into_iter().flatten() {
        for f in section["findings"].as_array_mut().into_iter().flatten() {
            if f["code"] == "gpu-xid" {
                f["message"] = Json::Null;
                f["evidence"] = Json::Null;
            }
        }
    }
    specs
}

/// The one finding with `code` (panics if there is none or several).
fn finding<'a>(report: &'a Json, code: &str) -> &'a Json {
    let mut matching = findings(report).iter().filter(|f| f["code"] == code);
    let first = matching
        .next()
        .unwrap_or_else(|| panic!("no {code} finding in {:#}", report["specs"]));
    assert!(matching.next().is_none(), "several {code} findings");
    first
}

fn status<'a>(report: &'a Json, code: &str) -> &'a str {
    finding(report, code)["status"].as_str().expect("status is a string")
}

/// What a case expects of the accelerator findings and of the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    kind: &'static str,
    count: &'static str,
    precision: &'static str,
    mig: &'static str,
    exit: i32,
}

const fn verdict(
    kind: &'static str,
    count: &'static str,
    precision: &'static str,
    mig: &'static str,
    exit: i32,
) -> Verdict {
    Verdict {
        kind,
        count,
        precision,
        mig,
        exit,
    }
}

const ALL_PASS: Verdict = verdict("pass", "pass", "pass", "pass", 0);

/// One scan: a spec (type, count, precision) against a GPU profile.
struct Case {
    profile: &'static str,
    kind: &'static str,
    count: u32,
    precision: &'static str,
    expect: Verdict,
}

const fn case(profile: &'static str, kind: &'static str, count: u32, precision: &'static str, expect: Verdict) -> Case {
    Case {
        profile,
        kind,
        count,
        precision,
        expect,
    }
}

/// Runs every case and reports all the ones that disagree at once.
fn check_cases(cases: &[Case]) {
    let mut wrong = Vec::new();
    for c in cases {
        let scratch = Scratch::nvidia(c.kind, c.count, Some(c.precision));
        let (exit, report) = scratch.scan(c.profile, &[]);
        let got = (
            status(&report, "accelerator-type"),
            status(&report, "accelerator-count"),
            status(&report, "accelerator-precision"),
            status(&report, "accelerator-mig"),
            exit,
        );
        let e = c.expect;
        if got != (e.kind, e.count, e.precision, e.mig, e.exit) {
            let messages: Vec<String> = findings(&report)
                .iter()
                .filter(|f| f["domain"] != "identity")
                .map(|f| format!("    {} {}: {}", f["status"], f["code"], f["message"]))
                .collect();
            wrong.push(format!(
                "{} x{} {} on {}: expected {:?}, got type={} count={} precision={} mig={} exit={}\n{}",
                c.kind,
                c.count,
                c.precision,
                c.profile,
                e,
                got.0,
                got.1,
                got.2,
                got.3,
                got.4,
                messages.join("\n")
            ));
        }
    }
    assert!(wrong.is_empty(), "{} case(s) wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// The cases of [`every_profile_against_a_matching_spec`], one per profile.
const MATCHING: &[Case] = &[
    case("h100-sxm-x8", "h100", 8, "bf16", ALL_PASS),
    case("a100-sxm4-80gb-x4", "a100-80gb", 4, "bf16", ALL_PASS),
    case("a100-80gb-pcie-x2", "a100-pcie-80gb", 2, "bf16", ALL_PASS),
    case("a10g-x1", "a10g", 1, "bf16", ALL_PASS),
    case("l4-x1", "l4", 1, "fp8", ALL_PASS),
    case("l40s-x2", "l40s", 2, "fp8", ALL_PASS),
    case("t4-x1", "t4", 1, "fp16", ALL_PASS),
    case("h100-nvl-x2", "h100-nvl", 2, "fp8", ALL_PASS),
    case("h200-x1", "h200", 1, "fp8", ALL_PASS),
    // MIG on, and the type names the profile served from.
    // (MIG on while the type asks for whole GPUs is drift: mig_is_drift_unless_the_type_names_its_profile.)
    case("a100-mig", "a100-80gb-mig-3g.40gb", 1, "bf16", ALL_PASS),
    // 3 of 4 GPUs usable: the count passes, the lost GPU fails the scan.
    case(
        "node-lost-gpu",
        "a100-80gb",
        3,
        "bf16",
        verdict("pass", "pass", "pass", "pass", 1),
    ),
    // Nothing observed: unknown is not drift.
    case(
        "node-init-fails",
        "h100",
        1,
        "bf16",
        verdict("unknown", "unknown", "unknown", "unknown", 0),
    ),
    // The accelerator matches; the memory errors fail the scan.
    case(
        "node-unhealthy",
        "h100",
        2,
        "bf16",
        verdict("pass", "pass", "pass", "pass", 1),
    ),
    // Warnings (throttling, persistence) and an unknown (memory health) only.
    case("demo-node", "l40s", 2, "bf16", ALL_PASS),
];

#[test]
fn every_profile_against_a_matching_spec() {
    // A profile added to fixtures/gpus/ needs a case here.
    let mut profiles: Vec<String> = std::fs::read_dir(root().join("fixtures/gpus"))
        .expect("read fixtures/gpus")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
        .collect();
    profiles.sort_unstable();
    let mut covered: Vec<String> = MATCHING.iter().map(|c| c.profile.to_owned()).collect();
    covered.sort_unstable();
    assert_eq!(covered, profiles, "one matching case per GPU profile");
    check_cases(MATCHING);
}

#[test]
fn the_demo_recording_is_what_a_live_scan_of_the_demo_profile_sees() {
    let lib = fake_nvml();
    let o = modelspec_in(
        root(),
        Some("demo-node"),
        &[
            "scan",
            "fixtures/demo/demo.modelspec.yaml",
            "--nvml-lib",
            lib.to_str().expect("UTF-8 path"),
            "--format",
            "json",
            // No demo server runs here: name a process, so the spec is judged rather than
            // "not deployed on this node". Its GPU findings do not depend on which.
            "--pid",
            &std::process::id().to_string(),
        ],
    );
    assert_eq!(code(&o), 1, "the demo node drifts (2 of 4 GPUs): {}", stderr(&o));
    let live = json_of(&o);
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let demo = json_of(&o);
    // The recording holds the GPU probe only: compare what it covers. The host part of a live
    // scan depends on the machine running this test (something may serve port 8000 here), and
    // so do the findings that join GPUs with the serving process: for those, the verdict only.
    const JOINED: [&str; 3] = ["accelerator-count", "gpu-shared", "accelerator-parallelism"];
    // The XID watch's start and length are the moment's: the verdict only.
    const TIMED: [&str; 1] = ["gpu-xid"];
    // The platform checks read the serving process's environment and CPUs: this machine's.
    const OF_THE_PROCESS: [&str; 2] = ["cuda-driver", "numa-affinity"];
    let gpu_findings = |report: &Json| -> Vec<Json> {
        findings(report)
            .iter()
            .filter(|f| f["domain"] == "accelerator" || f["domain"] == "health")
            .filter(|f| {
                !JOINED
                    .iter()
                    .chain(&OF_THE_PROCESS)
                    .chain(&TIMED)
                    .any(|c| f["code"] == *c)
            })
            .cloned()
            .map(|mut f| {
                // The vendor's evidence quotes the loader on AMD SMI's absence: this machine's.
                if f["code"] == "accelerator-vendor" {
                    f["evidence"] = Json::Null;
                }
                f
            })
            .collect()
    };
    assert_eq!(gpu_findings(&live), gpu_findings(&demo));
    let count = |report: &Json| {
        let f = finding(report, "accelerator-count");
        (f["status"].clone(), f["observed"].clone())
    };
    assert_eq!(count(&live), count(&demo));
    for code in TIMED {
        assert_eq!(status(&live, code), status(&demo, code), "{code}");
    }
    assert_eq!(live["specs"][0]["spec"]["sha256"], demo["specs"][0]["spec"]["sha256"]);
}

#[test]
fn wrong_type_fails_and_undeclared_form_factor_or_memory_passes() {
    let type_fail = verdict("fail", "pass", "pass", "pass", 1);
    check_cases(&[
        // A10 and A10G are different families.
        case("a10g-x1", "a10", 1, "bf16", type_fail),
        // Memory declared: 40 GB is not 80 GB.
        case("a100-sxm4-80gb-x4", "a100-40gb", 4, "bf16", type_fail),
        case("a100-sxm4-80gb-x4", "a100-80gb", 4, "bf16", ALL_PASS),
        // Form factor declared: PCIe is not SXM.
        case("h100-sxm-x8", "h100-pcie", 8, "bf16", type_fail),
        // `h100` declares only the family, so an NVL passes; `h100-sxm` declares SXM.
        case("h100-nvl-x2", "h100", 2, "bf16", ALL_PASS),
        case("h100-nvl-x2", "h100-sxm", 2, "bf16", type_fail),
        // `a100-80gb` declares the memory, not the form factor: the PCIe card passes.
        case("a100-80gb-pcie-x2", "a100-80gb", 2, "bf16", ALL_PASS),
        case("a100-80gb-pcie-x2", "a100-sxm4-80gb", 2, "bf16", type_fail),
        // Other families altogether.
        case("l40s-x2", "l4", 2, "fp8", type_fail),
        case("h200-x1", "h100", 1, "fp8", type_fail),
    ]);
}

#[test]
fn type_spellings_declare_family_memory_and_form_factor() {
    // (profile, declared type, status, what the message names)
    let cases = [
        ("a100-80gb-pcie-x2", "a100", "pass", "all 2 GPU(s)"),
        (
            "a100-sxm4-80gb-x4",
            "a100-pcie",
            "fail",
            "form factor `pcie`, found `sxm`",
        ),
        ("h100-nvl-x2", "h100-80gb", "fail", "about 80 GB"),
        ("h100-nvl-x2", "h100-94gb", "pass", "all 2 GPU(s)"),
        ("h100-sxm-x8", "h100-nvl", "fail", "form factor `nvl`, found `sxm`"),
        ("h100-sxm-x8", "H100", "pass", "all 8 GPU(s)"),
        ("h100-sxm-x8", "h100_sxm5", "pass", "all 8 GPU(s)"),
        ("t4-x1", "t4-16gb", "pass", "all 1 GPU(s)"),
        ("h200-x1", "h200-141gb", "pass", "all 1 GPU(s)"),
        ("h200-x1", "h200-nvl", "fail", "form factor `nvl`, found `sxm`"),
        ("l40s-x2", "l40", "fail", "family `l40`, found family `l40s`"),
        ("l40s-x2", "l40-s", "pass", "all 2 GPU(s)"),
        ("a100-80gb-pcie-x2", "NVIDIA A100 80GB PCIe", "pass", "all 2 GPU(s)"),
        (
            "a100-sxm4-80gb-x4",
            "NVIDIA A100 80GB PCIe",
            "fail",
            "form factor `pcie`",
        ),
        ("a100-sxm4-80gb-x4", "a100-sxm4-40gb", "fail", "about 40 GB"),
    ];
    let mut wrong = Vec::new();
    for (gpus, kind, expected, fragment) in cases {
        let (exit, report) = Scratch::nvidia(&format!("{kind:?}"), 1, None).scan(gpus, &[]);
        let f = finding(&report, "accelerator-type");
        let message = f["message"].as_str().unwrap_or_default();
        let expected_exit = i32::from(expected == "fail");
        if f["status"] != expected || exit != expected_exit || !message.contains(fragment) {
            wrong.push(format!(
                "{kind:?} on {gpus}: expected {expected} ({fragment:?}), got {} exit {exit}: {message}",
                f["status"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_driver_without_gpus_fails_vendor_and_count() {
    let scratch = Scratch::nvidia("l4", 1, Some("fp8"));
    let empty = scratch.path().join("no-gpu.json");
    std::fs::write(
        &empty,
        r#"{"comment": "driver up, no GPU", "init": "ok", "driver_version": "550.54.15",
            "cuda_driver_version": 12040, "nvml_version": "12.550.54.15", "devices": []}"#,
    )
    .expect("write profile");
    let lib = fake_nvml();
    let o = Cmd::new()
        .args([
            "scan",
            SPEC,
            "--nvml-lib",
            lib.to_str().expect("UTF-8 path"),
            "--format",
            "json",
        ])
        .current_dir(scratch.path())
        .fake_nvml_profile(&empty)
        .output();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let report = json_of(&o);
    let vendor = finding(&report, "accelerator-vendor");
    assert_eq!(vendor["status"], "fail");
    assert!(vendor["remediation"].is_string());
    assert_eq!(status(&report, "accelerator-count"), "fail");
    assert_eq!(finding(&report, "accelerator-count")["observed"], 0);
    // Nothing to judge them on: not a pass.
    assert_eq!(status(&report, "accelerator-type"), "unknown");
    assert_eq!(status(&report, "accelerator-precision"), "unknown");
    // Regression: with no GPU at all these passed ("no GPU is split by MIG", "every GPU answers").
    for code in [
        "accelerator-mig",
        "gpu-lost",
        "gpu-memory-errors",
        "gpu-throttling",
        "gpu-persistence-mode",
    ] {
        assert_eq!(status(&report, code), "unknown", "{code}");
    }
}

#[test]
fn a_type_mismatch_names_the_gpu_and_says_what_to_do() {
    let (_, report) = Scratch::nvidia("h100-sxm", 2, Some("bf16")).scan("h100-nvl-x2", &[]);
    let f = finding(&report, "accelerator-type");
    assert_eq!(f["declared"], "h100-sxm");
    assert_eq!(f["observed"], serde_json::json!(["NVIDIA H100 NVL"]));
    assert_eq!(f["evidence"]["probe"], "nvml");
    let message = f["message"].as_str().unwrap_or_default();
    assert!(message.contains("GPU 0") && message.contains("GPU 1"), "{message}");
    assert!(f["remediation"].is_string(), "a fail says what to do: {f:#}");
    // A pass carries no remediation.
    assert!(finding(&report, "accelerator-count").get("remediation").is_none());
}

#[test]
fn count_more_than_visible_fails_fewer_passes() {
    check_cases(&[
        case(
            "h100-sxm-x8",
            "h100",
            9,
            "bf16",
            verdict("pass", "fail", "pass", "pass", 1),
        ),
        case("h100-sxm-x8", "h100", 4, "bf16", ALL_PASS),
        case("h100-sxm-x8", "h100", 1, "bf16", ALL_PASS),
        case("l40s-x2", "l40s", 4, "bf16", verdict("pass", "fail", "pass", "pass", 1)),
        case("h200-x1", "h200", 2, "bf16", verdict("pass", "fail", "pass", "pass", 1)),
    ]);
    let (_, report) = Scratch::nvidia("h100", 9, None).scan("h100-sxm-x8", &[]);
    let f = finding(&report, "accelerator-count");
    assert_eq!(
        (&f["declared"], &f["observed"]),
        (&serde_json::json!(9), &serde_json::json!(8))
    );
    assert!(f["remediation"].is_string(), "{f:#}");
}

#[test]
fn precision_needs_the_compute_capability_on_the_node() {
    // A T4 (7.5) cannot run bf16 (8.0) nor an A100 (8.0) fp8 (8.9). The spec must declare a GPU
    // that can (declaring `t4` with bf16 is rejected by validation, see below), so the type
    // fails too.
    let both_fail = verdict("fail", "pass", "fail", "pass", 1);
    check_cases(&[
        case("t4-x1", "l4", 1, "bf16", both_fail),
        case("t4-x1", "a10g", 1, "bf16", both_fail),
        case("a100-sxm4-80gb-x4", "h100", 4, "fp8", both_fail),
        case("a100-80gb-pcie-x2", "l40s", 2, "fp8", both_fail),
        // Precisions a T4 runs, and fp8 where the GPU has it.
        case("t4-x1", "t4", 1, "int8", ALL_PASS),
        case("a100-sxm4-80gb-x4", "a100-80gb", 4, "int4", ALL_PASS),
        case("h100-sxm-x8", "h100", 8, "fp8", ALL_PASS),
        case("l4-x1", "l4", 1, "fp8", ALL_PASS),
        case("h100-nvl-x2", "h100-nvl", 2, "fp8", ALL_PASS),
    ]);

    let (_, report) = Scratch::nvidia("l4", 1, Some("bf16")).scan("t4-x1", &[]);
    let f = finding(&report, "accelerator-precision");
    assert_eq!(f["observed"], serde_json::json!(["7.5"]));
    let message = f["message"].as_str().unwrap_or_default();
    assert!(message.contains("8.0") && message.contains("7.5"), "{message}");

    // `auto` leaves the choice to the engine; no precision declared, no precision finding.
    let (exit, report) = Scratch::nvidia("h100", 8, Some("auto")).scan("h100-sxm-x8", &[]);
    assert_eq!((exit, status(&report, "accelerator-precision")), (0, "skip"));
    let (exit, report) = Scratch::nvidia("h100", 8, None).scan("h100-sxm-x8", &[]);
    assert_eq!(exit, 0);
    assert!(!findings(&report).iter().any(|f| f["code"] == "accelerator-precision"));
}

/// `a100-sxm4-80gb-x4` with MIG mode changed on GPU 0 (`current`, `pending`), written into the
/// scratch directory; the path of the new profile.
fn mig_profile_variant(scratch: &Scratch, current: bool, pending: bool) -> PathBuf {
    let text = std::fs::read_to_string(profile("a100-sxm4-80gb-x4")).expect("read profile");
    let mut doc: Json = serde_json::from_str(&text).expect("profile is JSON");
    let mig = doc["devices"][0]["mig"]
        .as_object_mut()
        .expect("GPU 0 has a mig object");
    mig.insert("current".into(), Json::Bool(current));
    mig.insert("pending".into(), Json::Bool(pending));
    let path = scratch.path().join(format!("mig-{current}-{pending}.json"));
    std::fs::write(&path, doc.to_string()).expect("write profile");
    path
}

/// `modelspec scan` against a GPU profile given by path.
fn scan_with_profile(scratch: &Scratch, profile: &Path) -> (i32, Json) {
    let lib = fake_nvml();
    let o = Cmd::new()
        .args(["scan", SPEC, "--format", "json", "--no-facts", "--nvml-lib"])
        .arg(&lib)
        .current_dir(scratch.path())
        .fake_nvml_profile(profile)
        .output();
    (code(&o), json_of(&o))
}

/// `explain accelerator-mig` is the rule: MIG on or pending is drift unless the declared type
/// names a MIG profile, and a declared profile with MIG off is drift too.
#[test]
fn mig_is_drift_unless_the_type_names_its_profile() {
    let whole = Scratch::nvidia("a100-80gb", 1, Some("bf16"));
    let (exit, report) = whole.scan("a100-mig", &[]);
    assert_eq!(exit, 1);
    let f = finding(&report, "accelerator-mig");
    assert_eq!(f["status"], "fail", "{f:#}");
    assert_eq!(f["pointer"], "/spec/runtime/accelerator/type");
    assert_eq!(f["declared"], "whole GPUs");
    assert_eq!(f["observed"]["mig_enabled_on"], serde_json::json!([0]));

    let sliced = Scratch::nvidia("a100-80gb-mig-3g.40gb", 1, Some("bf16"));
    let (exit, report) = sliced.scan("a100-mig", &[]);
    let f = finding(&report, "accelerator-mig");
    assert_eq!((exit, f["status"].as_str()), (0, Some("pass")), "{f:#}");
    assert_eq!(f["declared"], "MIG profile 3g.40gb");
    assert_eq!(status(&report, "accelerator-type"), "pass");

    // A profile that is not among the slices.
    let other = Scratch::nvidia("a100-80gb-mig-7g.80gb", 1, Some("bf16"));
    let (_, report) = other.scan("a100-mig", &[]);
    let f = finding(&report, "accelerator-mig");
    assert_eq!(f["status"], "fail", "{f:#}");
    assert!(
        f["message"].as_str().unwrap_or_default().contains("no 7g.80gb slice"),
        "{f:#}"
    );

    // A declared profile with MIG off.
    let (exit, report) = sliced.scan("a100-sxm4-80gb-x4", &[]);
    let f = finding(&report, "accelerator-mig");
    assert_eq!((exit, f["status"].as_str()), (1, Some("fail")), "{f:#}");
    assert!(
        f["message"].as_str().unwrap_or_default().contains("MIG is off"),
        "{f:#}"
    );

    // Pending: off now, on after the next GPU reset. Drift for whole GPUs, not yet a slice.
    let pending = mig_profile_variant(&whole, false, true);
    let (exit, report) = scan_with_profile(&whole, &pending);
    let f = finding(&report, "accelerator-mig");
    assert_eq!((exit, f["status"].as_str()), (1, Some("fail")), "{f:#}");
    assert!(f["message"].as_str().unwrap_or_default().contains("pending"), "{f:#}");
    assert_eq!(f["observed"]["mig_pending_on"], serde_json::json!([0]));
    let pending = mig_profile_variant(&sliced, false, true);
    let (_, report) = scan_with_profile(&sliced, &pending);
    assert_eq!(status(&report, "accelerator-mig"), "fail");
}

#[test]
fn a_lost_gpu_fails_and_is_not_counted() {
    let (exit, report) = Scratch::nvidia("a100-80gb", 4, Some("bf16")).scan("node-lost-gpu", &[]);
    assert_eq!(exit, 1);
    let lost = finding(&report, "gpu-lost");
    assert_eq!(lost["status"], "fail");
    assert_eq!(lost["domain"], "health");
    assert_eq!(lost["observed"], serde_json::json!({"lost": [2]}));
    assert!(lost["remediation"].is_string());

    let count = finding(&report, "accelerator-count");
    assert_eq!(count["status"], "fail");
    assert_eq!(count["observed"], 3, "only usable GPUs count: {count:#}");
    assert_eq!(
        count["evidence"]["raw"],
        serde_json::json!({"visible": 4, "lost": 1, "serving_pid": null})
    );
    assert!(
        count["message"].as_str().unwrap_or_default().contains("1 lost"),
        "{count:#}"
    );

    // The other checks judge the three GPUs that answer.
    assert_eq!(status(&report, "accelerator-type"), "pass");
    assert_eq!(status(&report, "accelerator-precision"), "pass");
    assert_eq!(status(&report, "gpu-memory-errors"), "pass");
}

#[test]
fn an_unhealthy_node_reports_memory_errors_throttling_and_persistence() {
    let (exit, report) = Scratch::nvidia("h100", 2, Some("bf16")).scan("node-unhealthy", &[]);
    assert_eq!(exit, 1);
    let memory = finding(&report, "gpu-memory-errors");
    assert_eq!(memory["status"], "fail");
    let message = memory["message"].as_str().unwrap_or_default();
    for part in ["GPU 0: 3 uncorrectable ECC", "pending retirement", "row remap failed"] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert!(!message.contains("GPU 1"), "GPU 1 has no memory errors: {message}");

    let throttling = finding(&report, "gpu-throttling");
    assert_eq!(throttling["status"], "warn");
    let message = throttling["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("GPU 1: "), "{message}");
    for reason in ["sw_thermal_slowdown", "hw_thermal_slowdown", "hw_slowdown"] {
        assert!(message.contains(reason), "{reason} not in {message:?}");
    }

    let persistence = finding(&report, "gpu-persistence-mode");
    assert_eq!(persistence["status"], "warn");
    assert_eq!(persistence["observed"], serde_json::json!({"off": [1]}));

    assert_eq!(status(&report, "gpu-lost"), "pass");
    for f in findings(&report).iter().filter(|f| f["domain"] == "health") {
        assert_eq!(f["pointer"], "/spec/runtime/accelerator", "{f:#}");
    }
    assert_eq!(
        (&report["summary"]["fail"], &report["summary"]["warn"]),
        (&serde_json::json!(1), &serde_json::json!(2))
    );
}

/// Every accelerator and health finding is `unknown`, with a reason containing `needle`.
fn assert_all_unknown(report: &Json, needle: &str) {
    let observed: Vec<&Json> = findings(report)
        .iter()
        .filter(|f| f["domain"] == "accelerator" || f["domain"] == "health")
        .collect();
    // vendor, type, count, precision, mig, shared; lost, memory errors, throttling, persistence,
    // fabric, xid, cuda driver, numa affinity.
    assert_eq!(observed.len(), 14, "{:#}", report["specs"]);
    for f in observed {
        assert_eq!(f["status"], "unknown", "{f:#}");
        let message = f["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{needle:?} not in the reason: {message:?}");
        assert_eq!(f["observed"], Json::Null, "nothing was observed: {f:#}");
    }
    assert_eq!(report["summary"]["pass"], 0);
}

#[test]
fn without_nvml_everything_is_unknown() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    let (exit, report) = scratch.scan_without_nvml(&[]);
    assert_eq!(exit, 0, "unknown is not drift");
    assert_all_unknown(&report, "library");
    assert_all_unknown(&report, NO_NVML);

    let (exit, _) = scratch.scan_without_nvml(&["--fail-on", "warn"]);
    assert_eq!(exit, 0, "unknown is below warn");
    let (exit, _) = scratch.scan_without_nvml(&["--fail-on", "unknown"]);
    assert_eq!(exit, 1);
}

#[test]
fn when_the_driver_is_not_loaded_everything_is_unknown() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    let (exit, report) = scratch.scan("node-init-fails", &[]);
    assert_eq!(exit, 0);
    assert_all_unknown(&report, "driver");
    let (exit, _) = scratch.scan("node-init-fails", &["--fail-on", "unknown"]);
    assert_eq!(exit, 1);
}

#[test]
fn another_vendor_is_skipped() {
    let scratch = Scratch::new(&spec_yaml("intel", "gaudi3", 8, Some("bf16")));
    for (exit, report) in [scratch.scan("h100-sxm-x8", &[]), scratch.scan_without_nvml(&[])] {
        assert_eq!(exit, 0);
        let accelerator: Vec<&Json> = findings(&report)
            .iter()
            .filter(|f| f["domain"] == "accelerator")
            .collect();
        let codes: Vec<&str> = accelerator.iter().filter_map(|f| f["code"].as_str()).collect();
        assert_eq!(
            codes,
            [
                "accelerator-vendor",
                "accelerator-type",
                "accelerator-count",
                "accelerator-precision"
            ]
        );
        for f in accelerator {
            assert_eq!(f["status"], "skip", "{f:#}");
            assert!(f["message"].as_str().unwrap_or_default().contains("intel"), "{f:#}");
        }
    }
    // Regression: NVIDIA GPU health is not an AMD spec's business (it judged NVML's GPUs):
    // on an NVIDIA node without AMD SMI, an AMD spec's health is unseen or not NVIDIA's, never
    // the unhealthy NVIDIA GPUs' failures.
    let amd = Scratch::new(&spec_yaml("amd", "mi300x", 8, Some("bf16")));
    let (_, report) = amd.scan("node-unhealthy", &[]);
    for (code, want) in [
        ("gpu-lost", "skip"),
        ("gpu-memory-errors", "unknown"),
        ("gpu-throttling", "unknown"),
        ("gpu-persistence-mode", "skip"),
    ] {
        assert_eq!(status(&report, code), want, "{code}");
    }
    // Even with `--fail-on unknown`, a skip never fails the scan.
    let (exit, _) = scratch.scan("h100-sxm-x8", &["--fail-on", "unknown"]);
    assert_eq!(exit, 0);
}

/// Regression: the report's sha256 was of the text with its byte-order mark removed.
#[test]
fn the_spec_hash_is_of_the_file_bytes_including_a_bom() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bom.modelspec.yaml");
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(spec_yaml("nvidia", "l4", 1, None).as_bytes());
    std::fs::write(&path, &bytes).expect("write spec");
    let o = Cmd::new()
        .args([
            "scan",
            path.to_str().expect("UTF-8 path"),
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
        ])
        .args(["--format", "json", "--no-facts"])
        .output();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let expected: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(json_of(&o)["specs"][0]["spec"]["sha256"], expected.as_str());
}

/// Every leaf of `value` (and every empty map or list) as a JSON pointer.
fn leaf_pointers(value: &Json, pointer: &str, out: &mut Vec<String>) {
    let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
    match value {
        Json::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaf_pointers(v, &format!("{pointer}/{}", escape(k)), out);
            }
        }
        Json::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaf_pointers(v, &format!("{pointer}/{i}"), out);
            }
        }
        Json::Null => {}
        _ => out.push(pointer.to_string()),
    }
}

#[test]
fn every_declared_field_gets_a_finding() {
    let dir = root().join("fixtures/scan");
    let text = std::fs::read_to_string(dir.join("full-h100x4.modelspec.yaml")).expect("read the full spec");
    let tree: Json = serde_saphyr::from_str(&text).expect("the full spec is YAML");
    let mut leaves = Vec::new();
    leaf_pointers(&tree, "", &mut leaves);
    assert!(leaves.len() > 60, "the full spec declares every section: {leaves:?}");

    let lib = fake_nvml();
    let lib = lib.to_str().expect("UTF-8 path");
    let o = modelspec_in(
        &dir,
        Some("h100-sxm-x8"),
        &[
            "scan",
            "full-h100x4.modelspec.yaml",
            "--nvml-lib",
            lib,
            "--format",
            "json",
            "--no-facts",
            // Judged against a process (this one), not "not deployed": every check speaks.
            "--pid",
            &std::process::id().to_string(),
        ],
    );
    // This process serves nothing, so the host and engine checks may drift.
    assert!(code(&o) <= 1, "{}", stderr(&o));
    let report = json_of(&o);
    let all = findings(&report);

    // Health findings point at the accelerator they put at risk; they judge no declared field.
    let judging: Vec<&str> = all
        .iter()
        .filter(|f| f["domain"] != "health")
        .filter_map(|f| f["pointer"].as_str())
        .collect();
    let uncovered: Vec<&String> = leaves
        .iter()
        .filter(|leaf| {
            !judging
                .iter()
                .any(|p| *p == leaf.as_str() || leaf.starts_with(&format!("{p}/")))
        })
        .collect();
    assert!(
        uncovered.is_empty(),
        "declared fields without a finding: {uncovered:#?}"
    );

    // Every finding points at something the spec declares (or at an ancestor of it).
    for f in all {
        let p = f["pointer"].as_str().unwrap_or_default();
        assert!(
            leaves.iter().any(|l| l == p || l.starts_with(&format!("{p}/"))),
            "finding {} points at {p}, which the spec does not declare",
            f["code"]
        );
    }

    // Maps reported whole, one finding per list item, and no field reported twice.
    let pointers: Vec<&str> = all
        .iter()
        .filter(|f| f["code"] == "not-checked")
        .filter_map(|f| f["pointer"].as_str())
        .collect();
    for whole in [
        "/metadata/labels",
        "/metadata/annotations",
        "/spec/pipeline/dependencies/0",
        "/spec/pipeline/preprocess/steps/1",
    ] {
        assert!(pointers.contains(&whole), "{whole} not reported: {pointers:#?}");
    }
    // The cost target has its own check (skipped here: no GPU price was given).
    assert!(
        all.iter()
            .any(|f| f["code"] == "cost-per-1k-tokens" && f["status"] == "skip"),
        "no cost-per-1k-tokens finding"
    );
    // Each declared environment variable has its own finding.
    assert!(
        all.iter().any(
            |f| f["code"] == "env-variable" && f["pointer"] == "/spec/runtime/environment/variables/HF_HUB_OFFLINE"
        ),
        "no env-variable finding for HF_HUB_OFFLINE"
    );
    let mut deduped = pointers.clone();
    deduped.sort_unstable();
    deduped.dedup();
    assert_eq!(deduped.len(), pointers.len(), "a field reported twice: {pointers:#?}");
    for f in all.iter().filter(|f| f["code"] == "not-checked") {
        assert_eq!(f["status"], "skip", "{f:#}");
        assert!(
            !f["message"].as_str().unwrap_or_default().is_empty(),
            "a skip says why: {f:#}"
        );
    }

    // The accelerator itself is judged, not skipped.
    for code in [
        "accelerator-vendor",
        "accelerator-type",
        "accelerator-count",
        "accelerator-precision",
        "accelerator-mig",
    ] {
        assert_eq!(status(&report, code), "pass", "{code}");
    }
    let summary = &report["summary"];
    let total: u64 = ["pass", "fail", "warn", "unknown", "skip"]
        .iter()
        .map(|s| summary[s].as_u64().unwrap_or_default())
        .sum();
    assert_eq!(total, all.len() as u64, "the summary counts every finding: {summary}");
}

#[test]
fn an_invalid_spec_exits_two_with_the_validate_diagnostic() {
    for (yaml, diagnostic) in [
        // vLLM needs the sequence limit.
        (
            spec_yaml("nvidia", "h100", 8, Some("bf16")).replace("framework: tgi", "framework: vllm"),
            "vllm-max-sequence-length",
        ),
        // The declared GPU cannot run the declared precision.
        (spec_yaml("nvidia", "t4", 1, Some("bf16")), "precision-unsupported"),
        (
            spec_yaml("nvidia", "a100-80gb", 1, Some("fp8")),
            "precision-unsupported",
        ),
    ] {
        let scratch = Scratch::new(&yaml);
        let lib = fake_nvml();
        let o = scratch.run(
            Some("h100-sxm-x8"),
            &[
                "scan",
                SPEC,
                "--nvml-lib",
                lib.to_str().expect("UTF-8 path"),
                "--format",
                "json",
            ],
        );
        assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).is_empty(), "no report for an invalid spec: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("error[{diagnostic}]")),
            "{diagnostic} not in:\n{err}"
        );
        assert!(err.contains(SPEC), "the diagnostic names the file:\n{err}");
    }

    // Not YAML at all, and a file that does not exist.
    let scratch = Scratch::new("apiVersion: [unclosed\n");
    let o = scratch.run(None, &["scan", SPEC, "--nvml-lib", NO_NVML]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = scratch.run(None, &["scan", "missing.modelspec.yaml", "--nvml-lib", NO_NVML]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("missing.modelspec.yaml"), "{}", stderr(&o));
    // No spec at all.
    let o = scratch.run(None, &["scan"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn a_replayed_observation_gives_the_live_findings() {
    let scratch = Scratch::nvidia("h100", 4, Some("fp8"));
    let lib = fake_nvml();
    let lib = lib.to_str().expect("UTF-8 path");
    let o = scratch.run(Some("h100-sxm-x8"), &["facts", "-o", "obs.json", "--nvml-lib", lib]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let saved: Json =
        serde_json::from_slice(&std::fs::read(scratch.path().join("obs.json")).expect("facts wrote obs.json"))
            .expect("the observation is JSON");
    assert_eq!(saved["schema"], "modelspec.observation/v1");

    let (live_exit, live) = scratch.scan("h100-sxm-x8", &[]);
    // The replay loads no NVML: no profile, and a library that does not exist.
    let o = scratch.run(
        None,
        &[
            "scan",
            SPEC,
            "--facts",
            "obs.json",
            "--nvml-lib",
            NO_NVML,
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), live_exit, "{}", stderr(&o));
    let replayed = json_of(&o);
    assert_eq!(untimed(&replayed), untimed(&live));
    assert_eq!(replayed["summary"], live["summary"]);
    assert_eq!(status(&replayed, "accelerator-count"), "pass");
    // The report carries the observation it judged, as saved.
    assert_eq!(replayed["observation"], saved);
    assert_eq!(replayed["target_host"], saved["meta"]["hostname"]);

    // The same replay judges another spec too: drift shows without the node.
    let other = Scratch::nvidia("h100", 16, Some("fp8"));
    std::fs::copy(scratch.path().join("obs.json"), other.path().join("obs.json")).expect("copy");
    let o = other.run(None, &["scan", SPEC, "--facts", "obs.json", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(status(&json_of(&o), "accelerator-count"), "fail");
}

#[test]
fn a_corrupt_or_missing_facts_file_exits_two_naming_it() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    let cases: [(&str, &str); 4] = [
        (
            "truncated.json",
            "{\"schema\": \"modelspec.observation/v1\", \"meta\": {",
        ),
        ("empty.json", ""),
        ("not-an-observation.json", "{\"hello\": 1}"),
        ("garbage.json", "\u{0}\u{1}binary"),
    ];
    for (name, content) in cases {
        std::fs::write(scratch.path().join(name), content).expect("write facts");
        let o = scratch.run(None, &["scan", SPEC, "--facts", name]);
        assert_eq!(code(&o), 2, "{name}: {}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).is_empty(), "{name}: {}", stdout(&o));
        assert!(stderr(&o).contains(name), "{name} not named in: {}", stderr(&o));
    }
    let o = scratch.run(None, &["scan", SPEC, "--facts", "absent.json"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("absent.json"), "{}", stderr(&o));
}

#[test]
fn no_facts_drops_the_observation_and_output_goes_to_the_file() {
    let scratch = Scratch::nvidia("l4", 1, Some("fp8"));
    let lib = fake_nvml();
    let lib = lib.to_str().expect("UTF-8 path");

    let o = scratch.run(Some("l4-x1"), &["scan", SPEC, "--nvml-lib", lib, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let with = json_of(&o);
    assert_eq!(with["observation"]["schema"], "modelspec.observation/v1");
    assert_eq!(with["schema"], "modelspec.report/v1");
    assert_eq!(with["specs"][0]["spec"]["path"], SPEC);
    assert_eq!(with["specs"][0]["spec"]["name"], "scan-test");
    assert_eq!(with["specs"][0]["spec"]["document"], 1);
    let bytes = std::fs::read(scratch.path().join(SPEC)).expect("read spec");
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(with["specs"][0]["spec"]["sha256"], sha256.as_str());

    let (_, without) = scratch.scan("l4-x1", &[]);
    assert!(
        without.get("observation").is_none(),
        "--no-facts keeps {:#}",
        without["observation"]
    );
    assert_eq!(untimed(&without), untimed(&with));

    let o = scratch.run(
        Some("l4-x1"),
        &["scan", SPEC, "--nvml-lib", lib, "--format", "json", "-o", "report.json"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "-o prints nothing on stdout: {}", stdout(&o));
    let written: Json =
        serde_json::from_slice(&std::fs::read(scratch.path().join("report.json")).expect("report.json written"))
            .expect("report.json is JSON");
    assert_eq!(untimed(&written), untimed(&with));
    assert!(written["observation"].is_object());

    // The exit code does not depend on where the report goes.
    let scratch = Scratch::nvidia("l4", 2, Some("fp8"));
    let o = scratch.run(Some("l4-x1"), &["scan", SPEC, "--nvml-lib", lib, "-o", "report.txt"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    let table = std::fs::read_to_string(scratch.path().join("report.txt")).expect("report.txt written");
    assert!(table.contains("accelerator-count"), "{table}");
    assert!(!table.contains('\u{1b}'), "no color in a file: {table}");
}

#[test]
fn several_specs_give_one_report_with_a_section_each_and_one_exit_code() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    std::fs::write(
        scratch.path().join("more.modelspec.yaml"),
        spec_yaml("nvidia", "h100", 16, Some("bf16")).replace("name: scan-test", "name: scan-more"),
    )
    .expect("write second spec");
    let lib = fake_nvml();
    let o = scratch.run(
        Some("h100-sxm-x8"),
        &[
            "scan",
            SPEC,
            "more.modelspec.yaml",
            "--nvml-lib",
            lib.to_str().expect("UTF-8 path"),
            "--format",
            "json",
            "--no-facts",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let report = json_of(&o);
    let sections = report["specs"].as_array().expect("one report, a section per spec");
    assert_eq!(sections.len(), 2);
    let section_status = |i: usize, code: &str| {
        sections[i]["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["code"] == code))
            .map(|f| f["status"].clone())
    };
    assert_eq!(sections[0]["spec"]["path"], SPEC);
    assert_eq!(section_status(0, "accelerator-count"), Some(Json::from("pass")));
    assert_eq!(sections[1]["spec"]["path"], "more.modelspec.yaml");
    assert_eq!(section_status(1, "accelerator-count"), Some(Json::from("fail")));
    // The totals are the sum of the sections (and the node, here silent: no serving process).
    for status in ["pass", "fail", "warn", "unknown", "skip"] {
        let sum = sections[0]["summary"][status].as_u64().unwrap_or(0)
            + sections[1]["summary"][status].as_u64().unwrap_or(0)
            + report["node"]
                .as_array()
                .map_or(0, |n| n.iter().filter(|f| f["status"] == status).count() as u64);
        assert_eq!(report["summary"][status].as_u64(), Some(sum), "{status}");
    }

    let table = scratch.run(
        Some("h100-sxm-x8"),
        &[
            "scan",
            SPEC,
            "more.modelspec.yaml",
            "--nvml-lib",
            lib.to_str().expect("UTF-8 path"),
            "--color",
            "never",
        ],
    );
    let table = stdout(&table);
    assert!(table.contains("━━ scan-test (spec.modelspec.yaml) ━━"), "{table}");
    assert!(table.contains("━━ scan-more (more.modelspec.yaml) ━━"), "{table}");
    assert!(table.contains("\ntotal: "), "{table}");
}

#[test]
fn pid_with_several_specs_is_a_usage_error() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    std::fs::write(
        scratch.path().join("more.modelspec.yaml"),
        spec_yaml("nvidia", "h100", 8, Some("bf16")),
    )
    .expect("write second spec");
    let o = scratch.run(
        None,
        &["scan", SPEC, "more.modelspec.yaml", "--pid", "1", "--nvml-lib", NO_NVML],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--pid names one serving process"), "{}", stderr(&o));
}

/// `modelspec scan --demo` in a pipe, `COLUMNS` set to `columns`, with `env` besides.
fn demo_table_at(columns: u16, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Cmd::new()
        .args(["scan", "--demo"])
        .args(args)
        .env("COLUMNS", columns.to_string())
        .env_remove("NO_COLOR");
    for (name, value) in env {
        cmd = cmd.env(name, value);
    }
    cmd.output()
}

#[test]
fn demo_table_snapshot() {
    // 80 columns: what a pipe gets without `COLUMNS`, and the narrowest terminal read.
    let o = demo_table_at(80, &["--color", "never"], &[]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    assert!(
        stderr(&o).contains("would exit with code 1"),
        "the demo says what a real scan would do: {}",
        stderr(&o)
    );
    let table = stdout(&o);
    assert!(!table.contains('\u{1b}'), "--color never: {table}");
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line:?}\n{table}");
    }
    // Values are written for people, not as JSON.
    assert!(
        table
            .lines()
            .any(|l| l.contains("/health → ") && l.ends_with(" ms, 200")),
        "{table}"
    );
    assert!(!table.contains("[\"") && !table.contains("{\""), "{table}");
    // The snapshot keeps the name it had when this file was its own test binary (tests/tests.rs).
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("scan__demo_table", table);
    });
    // Without `COLUMNS`, a pipe is 80 columns wide.
    let o = Cmd::new().args(["scan", "--demo", "--color", "never"]).output();
    assert_eq!(stdout(&o), table);
}

#[test]
fn demo_table_snapshot_at_120_columns() {
    let o = demo_table_at(120, &["--color", "never"], &[]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    let table = stdout(&o);
    for line in table.lines() {
        assert!(line.chars().count() <= 120, "wider than 120 columns: {line:?}\n{table}");
    }
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("scan__demo_table_120", table);
    });

    // From 160 columns on, the six-column table.
    let wide = stdout(&demo_table_at(160, &["--color", "never"], &[]));
    assert!(wide.contains("│ status"), "{wide}");
    assert!(wide.lines().all(|l| l.chars().count() <= 160), "{wide}");

    // Colour is decided apart from width: `--color always` colours a pipe, `CLICOLOR_FORCE`
    // too, and `NO_COLOR` wins over it for `auto`.
    let colored = |o: &Output| o.stdout.contains(&0x1b);
    let plain = demo_table_at(120, &[], &[]);
    assert!(!colored(&plain), "a pipe has no colour: {}", stdout(&plain));
    assert!(colored(&demo_table_at(120, &["--color", "always"], &[])));
    assert!(colored(&demo_table_at(120, &[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!colored(&demo_table_at(120, &[], &[("CLICOLOR_FORCE", "0")])));
    assert!(!colored(&demo_table_at(
        120,
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    assert!(colored(&demo_table_at(
        120,
        &["--color", "always"],
        &[("NO_COLOR", "1")]
    )));
    // The same words, coloured or not.
    let always = stdout(&demo_table_at(120, &["--color", "always"], &[]));
    let mut stripped = String::new();
    let mut rest = always.as_str();
    while let Some(at) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..at]);
        rest = rest[at..].split_once('m').map_or("", |(_, after)| after);
    }
    stripped.push_str(rest);
    assert_eq!(stripped, table);
}

#[test]
fn demo_json_snapshot() {
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "json"]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    let mut report = json_of(&o);
    assert_eq!(status(&report, "accelerator-count"), "fail");
    // The only volatile fields: the scan's own clock (insta's redactions feature is not enabled,
    // so they are replaced here).
    for field in ["started_at", "finished_at"] {
        assert!(report[field].is_string(), "{field}: {:#}", report[field]);
        report[field] = Json::from("[time]");
    }
    // Provenance: the machine, the build and the wall time vary; the hash of the observation
    // and the inputs do not.
    let provenance = &mut report["provenance"];
    assert_eq!(
        provenance["command_line"].as_array().map(|a| a.len()),
        Some(5),
        "{provenance:#}"
    );
    assert!(provenance["duration_seconds"].as_f64().is_some_and(|d| d >= 0.0));
    for field in ["scanned_by", "duration_seconds", "command_line", "git_commit"] {
        provenance[field] = Json::from(format!("[{field}]"));
    }
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("scan__demo_json", report);
    });
}

/// A driver that hangs in `nvmlInit` must not hold the scan past `--timeout`: the GPU findings
/// say the probe did not answer, and the report still comes out.
#[test]
fn a_hanging_driver_is_cut_off_by_the_deadline() {
    let scratch = Scratch::nvidia("l4", 1, Some("bf16"));
    let slow = scratch.path().join("slow-driver.json");
    let mut profile: Json = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gpus/l4-x1.json"))
            .expect("l4 profile"),
    )
    .expect("profile JSON");
    profile["init_delay_ms"] = Json::from(5_000);
    std::fs::write(&slow, profile.to_string()).expect("write profile");
    let lib = fake_nvml();
    let started = std::time::Instant::now();
    let o = Cmd::new()
        .args(["scan", SPEC, "--nvml-lib", lib.to_str().expect("UTF-8 path")])
        .args(["--timeout", "300ms", "--format", "json"])
        .current_dir(scratch.path())
        .fake_nvml_profile(&slow)
        .output();
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(3),
        "the scan waited {took:?} for a 300 ms deadline"
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = json_of(&o);
    let count = finding(&report, "accelerator-count");
    assert_eq!(count["status"], "unknown");
    assert!(
        count["message"]
            .as_str()
            .unwrap_or_default()
            .contains("did not answer within 300 ms"),
        "{count:#}"
    );
    assert_eq!(report["observation"]["gpu"]["outcome"], "timed_out");
    assert!(
        report["unanswered_probes"]
            .as_array()
            .is_some_and(|p| p.contains(&Json::from("nvml"))),
        "{:#}",
        report["unanswered_probes"]
    );
    // The textfile says the scan did not fully succeed, whatever the findings.
    let o = Cmd::new()
        .args(["scan", SPEC, "--nvml-lib", lib.to_str().expect("UTF-8 path")])
        .args(["--timeout", "300ms", "--format", "prom", "--no-facts"])
        .current_dir(scratch.path())
        .fake_nvml_profile(&slow)
        .output();
    assert!(stdout(&o).contains("modelspec_scan_success 0\n"), "{}", stdout(&o));
}

/// Scans `scratch`'s spec against the fixture profile `name` after `edit`.
fn scan_edited_profile(scratch: &Scratch, name: &str, edit: impl FnOnce(&mut Json)) -> Json {
    let mut profile: Json =
        serde_json::from_str(&std::fs::read_to_string(profile(name)).expect("profile")).expect("profile JSON");
    edit(&mut profile);
    let path = scratch.path().join("edited-profile.json");
    std::fs::write(&path, profile.to_string()).expect("write profile");
    let lib = fake_nvml();
    let o = Cmd::new()
        .args([
            "scan",
            SPEC,
            "--nvml-lib",
            lib.to_str().expect("UTF-8 path"),
            "--format",
            "json",
        ])
        .current_dir(scratch.path())
        .fake_nvml_profile(&path)
        .output();
    json_of(&o)
}

/// Regression: a GPU that does not say what it is must not let `accelerator-type` pass on the
/// strength of the others ("nothing passes without having been seen").
#[test]
fn a_gpu_that_cannot_name_itself_makes_the_type_unknown() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    let report = scan_edited_profile(&scratch, "h100-sxm-x8", |p| {
        p["devices"][3]["unsupported"] = serde_json::json!(["nvmlDeviceGetName"]);
    });
    let kind = finding(&report, "accelerator-type");
    assert_eq!(kind["status"], "unknown", "{kind:#}");
    assert!(
        kind["message"].as_str().is_some_and(|m| m.contains("1 did not report")),
        "{kind:#}"
    );
}

/// Regression: health checks passed when some GPUs reported nothing.
#[test]
fn a_silent_gpu_makes_health_unknown_not_pass() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    let report = scan_edited_profile(&scratch, "h100-sxm-x8", |p| {
        p["devices"][5]["unsupported"] = serde_json::json!([
            "nvmlDeviceGetPersistenceMode",
            "nvmlDeviceGetCurrentClocksEventReasons",
            "nvmlDeviceGetTotalEccErrors",
            "nvmlDeviceGetRetiredPagesPendingStatus",
            "nvmlDeviceGetRemappedRows"
        ]);
    });
    for code in ["gpu-persistence-mode", "gpu-throttling", "gpu-memory-errors"] {
        let f = finding(&report, code);
        assert_eq!(f["status"], "unknown", "{f:#}");
        assert!(
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("1 of 8 did not report")),
            "{f:#}"
        );
    }
}

#[test]
fn a_folder_scans_every_spec_in_it_and_an_empty_one_is_an_error() {
    let scratch = Scratch::nvidia("h100", 8, Some("bf16"));
    let folder = scratch.path().join("specs");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::write(folder.join("a.yaml"), spec_yaml("nvidia", "h100", 8, Some("bf16"))).expect("write a");
    std::fs::write(
        folder.join("b.yml"),
        spec_yaml("nvidia", "h100", 2, Some("bf16")).replace("name: scan-test", "name: scan-b"),
    )
    .expect("write b");
    std::fs::write(folder.join("notes.txt"), "not a spec").expect("write notes");
    let o = scratch.run(None, &["scan", "specs", "--nvml-lib", NO_NVML, "--format", "json"]);
    let report = json_of(&o);
    let names: Vec<&str> = report["specs"]
        .as_array()
        .expect("sections")
        .iter()
        .filter_map(|s| s["spec"]["name"].as_str())
        .collect();
    assert_eq!(names, ["scan-test", "scan-b"], "{}", stderr(&o));

    std::fs::create_dir(scratch.path().join("empty")).expect("mkdir");
    let o = scratch.run(None, &["scan", "empty", "--nvml-lib", NO_NVML]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no spec files"), "{}", stderr(&o));
}

/// A line-oriented stand-in for insta's redactions: the value after `prefix` on each line that
/// has it becomes `[time]`, up to `end` (or the end of the line). Prometheus comment lines
/// (`# HELP`, `# TYPE`) are left as they are.
fn redact_after(text: &str, prefix: &str, end: Option<char>) -> String {
    let mut out = String::new();
    for line in text.lines() {
        match line.find(prefix).filter(|_| !line.starts_with('#')) {
            Some(at) => {
                let start = at + prefix.len();
                let rest = &line[start..];
                let stop = end.and_then(|c| rest.find(c)).unwrap_or(rest.len());
                out.push_str(&line[..start]);
                out.push_str("[time]");
                out.push_str(&rest[stop..]);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// A program on PATH or at a usual place, if installed.
fn installed(name: &str, usual: &str) -> Option<PathBuf> {
    if Path::new(usual).is_file() {
        return Some(PathBuf::from(usual));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

#[test]
fn demo_prom_snapshot() {
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "prom"]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    let text = stdout(&o);
    // The demo drifts, but every probe answered: the scan itself succeeded.
    assert!(text.contains("modelspec_scan_success 1\n"), "{text}");
    assert!(
        text.contains("modelspec_findings{spec=\"support-chat\",status=\"fail\"} 3\n"),
        "{text}"
    );
    // Skipped findings are counted, not listed, unless asked.
    assert!(!text.contains("status=\"skip\"} 1\n"), "{text}");
    assert!(
        text.contains("modelspec_findings{spec=\"support-chat\",status=\"skip\"} 7\n"),
        "{text}"
    );
    let text = redact_after(&text, "modelspec_scan_timestamp_seconds ", None);
    let text = redact_after(&text, "modelspec_scan_duration_seconds ", None);
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("scan__demo_prom", text);
    });

    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "prom", "--show-skipped"]);
    assert!(
        stdout(&o).contains("code=\"not-checked\",pointer=\"/kind\",status=\"skip\"} 1\n"),
        "{}",
        stdout(&o)
    );
}

/// The textfile must be accepted by Prometheus's own checker, lint included.
#[test]
fn demo_prom_passes_promtool_check_metrics() {
    let Some(promtool) = installed("promtool", "/usr/bin/promtool") else {
        eprintln!("skipped: promtool is not installed (apt-get install prometheus)");
        return;
    };
    for extra in [&[][..], &["--show-skipped"][..]] {
        let o = modelspec_in(
            root(),
            None,
            &[&["scan", "--demo", "--format", "prom"][..], extra].concat(),
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let mut child = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run promtool");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("promtool stdin");
            stdin.write_all(&o.stdout).expect("write to promtool");
        }
        let checked = child.wait_with_output().expect("promtool output");
        let said = format!("{}{}", stdout(&checked), stderr(&checked));
        assert!(
            checked.status.success(),
            "promtool rejects the textfile: {said}\n{}",
            stdout(&o)
        );
        assert!(said.trim().is_empty(), "promtool lint warnings: {said}");
    }
}

#[test]
fn demo_junit_snapshot() {
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "junit"]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("scan__demo_junit", redact_after(&stdout(&o), "timestamp=\"", Some('"')));
    });
}

/// The XML is read back by a real JUnit reader (Python's `junitparser`, installed by
/// `.ci/run`), and its counts are the report's: fail is a failure, unknown and skip are
/// skipped, warn passes unless `--fail-on warn`.
#[test]
fn demo_junit_reads_back_with_junitparser() {
    let Some(python) = installed("python3", "/usr/bin/python3") else {
        eprintln!("skipped: python3 is not installed");
        return;
    };
    let has_parser = Command::new(&python)
        .args(["-c", "import junitparser"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_parser {
        eprintln!("skipped: junitparser is not installed (pip install junitparser)");
        return;
    }
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "json"]);
    let report: Json = serde_json::from_slice(&o.stdout).expect("demo JSON");
    let n = |status: &str| report["summary"][status].as_u64().expect("a count");
    let tests = ["pass", "fail", "warn", "unknown", "skip"].map(n).iter().sum::<u64>();

    const READ: &str = r#"
import sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
cases = failures = skipped = errors = 0
suites = []
for suite in xml:
    suites.append(suite.name)
    for case in suite:
        cases += 1
        for r in case.result:
            failures += isinstance(r, Failure)
            skipped += isinstance(r, Skipped)
            errors += isinstance(r, Error)
print(cases, failures, skipped, errors, xml.tests, xml.failures, xml.skipped, ",".join(suites))
"#;
    let dir = tempfile::tempdir().expect("temp dir");
    for (fail_on, failures, skipped) in [
        ("fail", n("fail"), n("unknown") + n("skip")),
        ("warn", n("fail") + n("warn"), n("unknown") + n("skip")),
        ("unknown", n("fail") + n("warn") + n("unknown"), n("skip")),
    ] {
        let xml = dir.path().join(format!("{fail_on}.xml"));
        let o = modelspec_in(
            root(),
            None,
            &[
                "scan",
                "--demo",
                "--format",
                "junit",
                "--fail-on",
                fail_on,
                "-o",
                xml.to_str().expect("UTF-8"),
            ],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let read = Command::new(&python)
            .args(["-c", READ])
            .arg(&xml)
            .output()
            .expect("run python3");
        assert!(read.status.success(), "junitparser cannot read it: {}", stderr(&read));
        let got = stdout(&read);
        let domains = "identity,accelerator,health,batch,host,serving,observability,pipeline,governance";
        assert_eq!(
            got.trim(),
            format!("{tests} {failures} {skipped} 0 {tests} {failures} {skipped} {domains}"),
            "--fail-on {fail_on}"
        );
    }
}

#[test]
fn demo_markdown_snapshot() {
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "markdown"]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    let text = stdout(&o);
    let text = redact_after(&text, "| Started | ", Some(' '));
    let text = redact_after(&text, "| Finished | ", Some(' '));
    let text: String = text
        .lines()
        .map(|line| {
            if line.starts_with("Scanned by ") {
                "Scanned by [tool and times].\n".to_string()
            } else if let Some(row) = ["| Duration |", "| Git commit |", "| Scanned by |", "| Command line |"]
                .iter()
                .find(|row| line.starts_with(**row))
            {
                format!("{row} [varies] |\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("scan__demo_markdown", text);
    });
}

/// CTRF: one test per finding, its counts the report's; the scan's clock is the only thing that
/// varies (its schema validation is in tests/audit.rs).
#[test]
fn demo_ctrf_snapshot() {
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "ctrf"]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    let mut doc: Json = serde_json::from_slice(&o.stdout).expect("CTRF is JSON");
    let report = json_of(&modelspec_in(root(), None, &["scan", "--demo", "--format", "json"]));
    let results = &doc["results"];
    let n = |status: &str| report["summary"][status].as_u64().expect("a count");
    let tests = ["pass", "fail", "warn", "unknown", "skip", "waived"]
        .map(n)
        .iter()
        .sum::<u64>();
    assert_eq!(results["summary"]["tests"].as_u64(), Some(tests));
    assert_eq!(results["summary"]["failed"].as_u64(), Some(n("fail")));
    assert_eq!(results["summary"]["other"].as_u64(), Some(n("warn") + n("unknown")));
    let (start, stop) = (&results["summary"]["start"], &results["summary"]["stop"]);
    assert!(
        start
            .as_i64()
            .is_some_and(|s| s > 1_600_000_000_000 && stop.as_i64() >= Some(s)),
        "{start} {stop}: milliseconds since the epoch"
    );
    doc["timestamp"] = Json::from("[time]");
    for field in ["start", "stop", "duration"] {
        doc["results"]["summary"][field] = Json::from("[time]");
    }
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("scan__demo_ctrf", doc);
    });
}

/// SARIF: fail, warn and unknown are results (error, warning, note), located at the value the
/// finding's pointer names in the spec file.
#[test]
fn demo_sarif_snapshot_and_regions() {
    let o = modelspec_in(root(), None, &["scan", "--demo", "--format", "sarif"]);
    assert_eq!(code(&o), 0, "--demo always exits 0: {}", stderr(&o));
    let mut log: Json = serde_json::from_slice(&o.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "modelspec");
    let results = run["results"].as_array().expect("results");
    let json = modelspec_in(root(), None, &["scan", "--demo", "--format", "json"]);
    let report: Json = serde_json::from_slice(&json.stdout).expect("demo JSON");
    let s = &report["summary"];
    let needing_attention = ["fail", "warn", "unknown"]
        .map(|k| s[k].as_u64().expect("count"))
        .iter()
        .sum::<u64>();
    assert_eq!(results.len() as u64, needing_attention);

    let count = results
        .iter()
        .find(|r| r["ruleId"] == "accelerator-count")
        .expect("the demo's drift");
    assert_eq!(count["level"], "error");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let index = count["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(rules[index]["id"], "accelerator-count");
    let spec = std::fs::read_to_string(root().join("fixtures/demo/demo.modelspec.yaml")).expect("demo spec");
    let (line, text) = spec
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("count:"))
        .expect("the demo declares a count");
    let region = &count["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], line + 1, "{region}");
    // The value, after `count: `.
    assert_eq!(
        region["startColumn"],
        text.find("count:").expect("count") + "count: ".len() + 1
    );

    let invocation = &mut log["runs"][0]["invocations"][0];
    for field in ["startTimeUtc", "endTimeUtc"] {
        assert!(invocation[field].is_string(), "{field}");
        invocation[field] = Json::from("[time]");
    }
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("scan__demo_sarif", log);
    });
}

/// `h100-sxm-x8` with each GPU's profile changed by `edit`, written into the scratch directory.
fn h100_variant(scratch: &Scratch, name: &str, edit: impl Fn(usize, &mut Json)) -> PathBuf {
    let text = std::fs::read_to_string(profile("h100-sxm-x8")).expect("read profile");
    let mut doc: Json = serde_json::from_str(&text).expect("profile is JSON");
    for (i, device) in doc["devices"].as_array_mut().expect("devices").iter_mut().enumerate() {
        edit(i, device);
    }
    let path = scratch.path().join(format!("{name}.json"));
    std::fs::write(&path, doc.to_string()).expect("write profile");
    path
}

/// `gpu-fabric` on an HGX H100 (NVSwitch): registered everywhere passes; the fabric manager not
/// started, still registering, or failing fails; a query the GPU cannot answer (NOT_SUPPORTED)
/// or may not (NO_PERMISSION) is unknown; PCIe GPUs outside any fabric skip.
#[test]
fn the_nvlink_fabric_must_be_registered_on_nvswitch_systems() {
    let scratch = Scratch::nvidia("h100-sxm", 8, Some("bf16"));
    let fabric = |state: &str, status: u32| serde_json::json!({"state": state, "status": status, "clique_id": 1});
    type Edit = Box<dyn Fn(usize, &mut Json)>;
    let cases: [(&str, Edit, &str, &str); 6] = [
        (
            "registered",
            Box::new(move |_, d| d["fabric"] = fabric("completed", 0)),
            "pass",
            "8 GPU(s) registered",
        ),
        (
            "not-started",
            Box::new(move |i, d| d["fabric"] = fabric(if i == 3 { "not_started" } else { "completed" }, 0)),
            "fail",
            "GPU 3: the fabric manager has not started registering it",
        ),
        (
            "in-progress",
            Box::new(move |_, d| d["fabric"] = fabric("in_progress", 0)),
            "fail",
            "GPU 0: fabric registration still in progress",
        ),
        (
            "failed",
            Box::new(move |i, d| d["fabric"] = fabric("completed", if i == 5 { 999 } else { 0 })),
            "fail",
            "GPU 5: fabric registration failed: ",
        ),
        (
            "unsupported",
            Box::new(|_, d| d["unsupported"] = serde_json::json!(["nvmlDeviceGetGpuFabricInfo"])),
            "unknown",
            "cannot report its fabric state",
        ),
        (
            "no-permission",
            Box::new(move |i, d| {
                d["fabric"] = fabric("completed", 0);
                if i == 2 {
                    d["no_permission"] = serde_json::json!(["nvmlDeviceGetGpuFabricInfo"]);
                }
            }),
            "unknown",
            "GPU 2: ",
        ),
    ];
    for (name, edit, want, message) in cases {
        let (_, report) = scan_with_profile(&scratch, &h100_variant(&scratch, name, edit));
        let f = finding(&report, "gpu-fabric");
        assert_eq!(f["status"], want, "{name}: {f:#}");
        assert!(
            f["message"].as_str().unwrap_or_default().contains(message),
            "{name}: {message:?} in {f:#}"
        );
        assert_eq!(f["evidence"]["probe"], "nvml", "{name}");
        if want == "fail" {
            assert!(
                f["remediation"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("nvidia-fabricmanager"),
                "{name}: {f:#}"
            );
        }
    }
    // PCIe cards answer "not supported" by not being in a fabric at all.
    let (_, report) = Scratch::nvidia("l4", 1, Some("bf16")).scan("l4-x1", &[]);
    assert_eq!(status(&report, "gpu-fabric"), "skip");
}

/// `gpu-xid`: XIDs the fake NVML delivers as events while the scan reads the node. A critical
/// one fails with its meaning and remedy (79 is falling off the bus, told apart from NVML's
/// "lost"), an application's warns, one this version does not know warns; a GPU that cannot
/// register (NOT_SUPPORTED) or may not (NO_PERMISSION) is unknown; none while watched passes,
/// saying for how long.
#[test]
fn xid_errors_are_read_as_nvml_events() {
    let scratch = Scratch::nvidia("h100-sxm", 8, Some("bf16"));
    type Edit = Box<dyn Fn(usize, &mut Json)>;
    let on = |gpu: usize, xid: u64| -> Edit {
        Box::new(move |i, d| {
            if i == gpu {
                d["xid_events"] = serde_json::json!([{"xid": xid}]);
            }
        })
    };
    let refused = |gpu: usize, list: &'static str| -> Edit {
        Box::new(move |i, d| {
            if i == gpu {
                d[list] = serde_json::json!(["nvmlDeviceRegisterEvents"]);
            }
        })
    };
    let cases: [(&str, Edit, &str, &str, &str); 7] = [
        (
            "quiet",
            Box::new(|_, _| {}),
            "pass",
            "no XID error from 8 GPU(s) while watched (since ",
            "",
        ),
        (
            "off-the-bus",
            on(6, 79),
            "fail",
            "GPU 6: XID 79 at ",
            "reboot it; check power, cooling and the PCIe",
        ),
        (
            "double-bit",
            on(1, 48),
            "fail",
            "double-bit (uncorrectable) ECC error",
            "reset it",
        ),
        ("application", on(2, 13), "warn", "GPU 2: XID 13 at ", "XID catalogue"),
        ("unknown-number", on(0, 4242), "warn", "XID 4242 at ", ""),
        ("not-supported", refused(4, "unsupported"), "unknown", "GPU 4: ", ""),
        (
            "no-permission",
            refused(5, "no_permission"),
            "unknown",
            "NVML_ERROR_NO_PERMISSION",
            "",
        ),
    ];
    for (name, edit, want, message, remedy) in cases {
        let (_, report) = scan_with_profile(&scratch, &h100_variant(&scratch, &format!("xid-{name}"), edit));
        let f = finding(&report, "gpu-xid");
        assert_eq!(f["status"], want, "{name}: {f:#}");
        let said = f["message"].as_str().unwrap_or_default();
        assert!(said.contains(message), "{name}: {message:?} in {f:#}");
        assert!(
            f["remediation"].as_str().unwrap_or_default().contains(remedy),
            "{name}: {remedy:?} in {f:#}"
        );
        assert_eq!(f["evidence"]["probe"], "nvml", "{name}");
        if name == "off-the-bus" {
            assert!(said.contains("fallen off the bus"), "{said}");
            // The GPU still answers: it is not lost, and `gpu-lost` does not say it is.
            assert_eq!(status(&report, "gpu-lost"), "pass", "{name}");
        }
        if name == "not-supported" || name == "no-permission" {
            assert!(said.starts_with("not watched for XIDs"), "{said}");
        }
    }
}

/// The demo node's observation, changed by `edit`, replayed with the demo spec: the findings.
fn demo_replayed(name: &str, edit: impl FnOnce(&mut Json)) -> Json {
    demo_replayed_with(include_str!("../fixtures/demo/demo.modelspec.yaml"), name, edit)
}

/// [`demo_replayed`] with another spec.
fn demo_replayed_with(spec: &str, name: &str, edit: impl FnOnce(&mut Json)) -> Json {
    let scratch = Scratch::new(spec);
    let mut tree: Json =
        serde_json::from_str(include_str!("../fixtures/demo/observation.json")).expect("the demo observation");
    edit(&mut tree);
    let path = scratch.path().join(format!("{name}.json"));
    std::fs::write(&path, tree.to_string()).expect("write the observation");
    let o = Cmd::new()
        .arg("scan")
        .arg(scratch.path().join(SPEC))
        .arg("--facts")
        .arg(&path)
        .args(["--format", "json", "--nvml-lib", NO_NVML])
        .output();
    assert!(matches!(code(&o), 0 | 1), "{name}: {}", stderr(&o));
    json_of(&o)
}

/// The demo's serving process, in an observation tree.
fn demo_process(tree: &mut Json) -> &mut Json {
    &mut tree["host"]["snapshot"]["servers"][0]["candidates"]["value"][0]["process"]
}

/// `cuda-driver`: the CUDA the serving image needs (its environment) against the driver's:
/// equal or older passes, a newer minor warns (minor version compatibility), a newer major
/// fails unless cuda-compat is in the image (warn); no CUDA named skips; an unreadable
/// environment (permission) and a driver version NVML cannot report are unknown.
#[test]
fn the_driver_must_support_the_cuda_the_image_needs() {
    let case = |name: &str, driver: Option<i32>, env: Option<&[(&str, &str)]>| {
        demo_replayed(name, |tree| {
            let system = &mut tree["gpu"]["snapshot"]["nvml"]["system"];
            system["cuda_driver_version"] = match driver {
                Some(raw) => {
                    serde_json::json!({"status": "ok", "value": {"version": format!("{}.{}", raw / 1000, raw % 1000 / 10), "raw": raw}})
                }
                None => {
                    serde_json::json!({"status": "unsupported", "reason": "this GPU or driver does not support this query (NVML_ERROR_NOT_SUPPORTED)"})
                }
            };
            let environment = &mut demo_process(tree)["environment"];
            match env {
                Some(pairs) => {
                    // The demo's image names its CUDA: each case says its own.
                    if let Some(values) = environment["value"]["values"].as_object_mut() {
                        values.retain(|k, _| !k.contains("CUDA"));
                    }
                    for (k, v) in pairs {
                        environment["value"]["values"][k] = (*v).into();
                    }
                }
                None => {
                    *environment = serde_json::json!({"status": "unknown", "reason": "/proc/31337/environ: permission denied (insufficient permission: run as root or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH)"})
                }
            }
        })
    };
    let image: &[(&str, &str)] = &[
        ("CUDA_VERSION", "12.4.1"),
        ("NVIDIA_REQUIRE_CUDA", "cuda>=12.4 brand=tesla,driver>=470,driver<471"),
    ];
    let with_compat: &[(&str, &str)] = &[
        ("CUDA_VERSION", "12.4.1"),
        ("NV_CUDA_COMPAT_PACKAGE", "cuda-compat-12-4"),
    ];
    for (name, driver, env, want, says) in [
        ("same", Some(12040), Some(image), "pass", "the image needs CUDA 12.4"),
        (
            "newer-driver",
            Some(12080),
            Some(image),
            "pass",
            "the driver supports CUDA 12.8",
        ),
        ("minor", Some(12020), Some(image), "warn", "minor version compatibility"),
        (
            "major",
            Some(11080),
            Some(image),
            "fail",
            "driver supports only CUDA 11.8",
        ),
        (
            "major-compat",
            Some(11080),
            Some(with_compat),
            "warn",
            "forward compatibility (cuda-compat-12-4)",
        ),
        (
            "no-cuda-named",
            Some(12040),
            Some(&[][..]),
            "skip",
            "names no CUDA version",
        ),
        ("no-permission", Some(12040), None, "unknown", "permission denied"),
        (
            "not-supported",
            None,
            Some(image),
            "unknown",
            "NVML_ERROR_NOT_SUPPORTED",
        ),
    ] {
        let report = case(name, driver, env);
        let f = finding(&report, "cuda-driver");
        assert_eq!(f["status"], want, "{name}: {f:#}");
        assert!(
            f["message"].as_str().unwrap_or_default().contains(says),
            "{name}: {says:?} in {f:#}"
        );
        if want == "fail" {
            assert!(
                f["remediation"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("driver 550.54.14 or later"),
                "{name}: {f:#}"
            );
        }
    }
}

/// `resources-cpu` takes the smaller of the cgroup quota and the CPUs the serving process's
/// cpuset allows (the demo's cgroup has no CPU limit; its process may run on 16 CPUs).
#[test]
fn the_cpu_cores_check_reads_the_cpuset_as_well_as_the_quota() {
    let spec = |cores: u32| {
        include_str!("../fixtures/demo/demo.modelspec.yaml").replace(
            "    batch:\n",
            &format!("    resources:\n      cpuCores: {cores}\n    batch:\n"),
        )
    };
    let f = |cores: u32, cpus: &str| {
        let report = demo_replayed_with(&spec(cores), &format!("cpu-{cores}"), |tree| {
            demo_process(tree)["cpus_allowed"] = serde_json::json!({"status": "ok", "value": modelspec_probe_host::parse_cpulist(cpus).unwrap_or_default()});
        });
        finding(&report, "resources-cpu").clone()
    };
    let narrow = f(24, "0-15");
    assert_eq!(narrow["status"], "fail", "{narrow:#}");
    let message = narrow["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("16 core(s) available (cpuset: 16 CPU(s) in its Cpus_allowed_list), 24 declared"),
        "{message}"
    );
    assert_eq!(f(8, "0-15")["status"], "pass");
    // A cpuset wider than the declaration does not fail it.
    assert_eq!(f(24, "0-31")["status"], "pass");
}

/// `numa-affinity`: the serving process's allowed CPUs against the CPUs near the GPUs it holds:
/// none near warns, some near passes; affinity NVML cannot report (NOT_SUPPORTED, permission)
/// is unknown; a process whose CPUs cannot be read is unknown. `resources-cpu` counts the
/// cpuset as well as the quota.
#[test]
fn the_serving_process_should_run_near_its_gpus() {
    let case = |name: &str, allowed: Option<&str>, near: &[Option<Json>]| {
        demo_replayed(name, |tree| {
            let cpus: Json = match allowed {
                Some(list) => {
                    serde_json::json!({"status": "ok", "value": modelspec_probe_host::parse_cpulist(list).unwrap_or_default()})
                }
                None => serde_json::json!({"status": "unknown", "reason": "/proc/31337/status: permission denied"}),
            };
            demo_process(tree)["cpus_allowed"] = cpus;
            for (i, affinity) in near.iter().enumerate() {
                tree["gpu"]["snapshot"]["nvml"]["devices"][i]["cpu_affinity"] = affinity.clone().unwrap_or_else(|| {
                    serde_json::json!({"status": "error", "reason": "insufficient permission (NVML_ERROR_NO_PERMISSION)"})
                });
            }
        })
    };
    let near = |list: &str| {
        Some(
            serde_json::json!({"status": "ok", "value": modelspec_probe_host::parse_cpulist(list).unwrap_or_default()}),
        )
    };
    let unsupported = Some(
        serde_json::json!({"status": "unsupported", "reason": "this GPU or driver does not support this query (NVML_ERROR_NOT_SUPPORTED)"}),
    );
    for (name, allowed, gpus, want, says) in [
        (
            "near",
            Some("0-7"),
            vec![near("0-31"), near("0-31")],
            "pass",
            "near each of its 2 GPU(s)",
        ),
        (
            "split",
            Some("28-35"),
            vec![near("0-31"), near("32-63")],
            "pass",
            "near each",
        ),
        (
            "far",
            Some("32-47"),
            vec![near("0-31"), near("0-31")],
            "warn",
            "none of the 16 CPUs the serving process may run on (32-47) is near GPU 0 (near CPUs 0-31), GPU 1",
        ),
        (
            "not-supported",
            Some("0-7"),
            vec![unsupported.clone(), unsupported.clone()],
            "unknown",
            "NVML_ERROR_NOT_SUPPORTED",
        ),
        (
            "no-permission",
            Some("0-7"),
            vec![near("0-31"), None],
            "unknown",
            "NVML_ERROR_NO_PERMISSION",
        ),
        (
            "cpus-unread",
            None,
            vec![near("0-31"), near("0-31")],
            "unknown",
            "permission denied",
        ),
    ] {
        let report = case(name, allowed, &gpus);
        let f = finding(&report, "numa-affinity");
        assert_eq!(f["status"], want, "{name}: {f:#}");
        assert!(
            f["message"].as_str().unwrap_or_default().contains(says),
            "{name}: {says:?} in {f:#}"
        );
        if want == "warn" {
            assert!(
                f["remediation"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("single-numa-node"),
                "{f:#}"
            );
        }
    }
}

/// An imitation cloud metadata service (`support/imds.py`) on loopback, killed on drop.
struct Imds {
    child: std::process::Child,
    url: String,
}

impl Imds {
    fn start(args: &[&str]) -> Imds {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .arg(root().join("tests/support/imds.py"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the metadata imitation");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("imds.py printed {line:?}"));
        Imds {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Imds {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pricing-hints`: governance.cost.pricingHints against the node. Live against imitations of
/// the AWS, Google Cloud and Azure metadata services (asked only with --cloud-metadata, each
/// with the headers its cloud requires); from the DMI strings alone in replayed observations
/// (an EC2 product name, a Dell server, unreadable DMI); a redirect is not followed.
#[test]
fn pricing_hints_are_checked_against_dmi_and_the_metadata_service() {
    let spec = |provider: &str, instance: &str, spot: bool| {
        spec_yaml("nvidia", "h100", 8, None)
            + &format!(
                "  governance:\n    cost:\n      pricingHints: {{cloudProvider: {provider}, instanceType: {instance}, spotAllowed: {spot}}}\n"
            )
    };
    let statuses = |report: &Json| -> Vec<(String, String, String)> {
        findings(report)
            .iter()
            .filter(|f| f["code"] == "pricing-hints")
            .map(|f| {
                (
                    f["pointer"]
                        .as_str()
                        .unwrap_or_default()
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    f["status"].as_str().unwrap_or_default().to_string(),
                    f["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let expect = |report: &Json, want: [(&str, &str, &str); 3], name: &str| {
        let got = statuses(report);
        assert_eq!(got.len(), 3, "{name}: {got:#?}");
        for ((field, status, says), (got_field, got_status, message)) in want.iter().zip(&got) {
            assert_eq!(
                (got_field.as_str(), got_status.as_str()),
                (*field, *status),
                "{name}: {message}"
            );
            assert!(message.contains(says), "{name}: {says:?} in {message:?}");
        }
    };

    // Live: each provider's imitation answers for itself, the other two askers find nothing.
    for (provider, args, declared, want) in [
        (
            "aws",
            vec!["aws", "--instance-type", "p5.48xlarge", "--spot"],
            spec("aws", "p5.48xlarge", false),
            [
                (
                    "cloudProvider",
                    "pass",
                    "the node runs on AWS (AWS instance metadata service)",
                ),
                ("instanceType", "pass", "the node is a p5.48xlarge"),
                (
                    "spotAllowed",
                    "fail",
                    "spot capacity, which the pricing does not allow (AWS says spot)",
                ),
            ],
        ),
        (
            "gcp",
            vec!["gcp", "--instance-type", "a3-highgpu-8g", "--region", "us-central1"],
            spec("gcp", "a3-megagpu-8g", false),
            [
                ("cloudProvider", "pass", "Google Cloud"),
                (
                    "instanceType",
                    "fail",
                    "priced for a3-megagpu-8g, but the node is a a3-highgpu-8g",
                ),
                ("spotAllowed", "pass", "not spot capacity (Google Cloud says FALSE)"),
            ],
        ),
        (
            "azure",
            vec!["azure", "--instance-type", "Standard_ND96isr_H100_v5", "--spot"],
            spec("aws", "standard_nd96isr_h100_v5", true),
            [
                ("cloudProvider", "fail", "priced for AWS, but the node runs on Azure"),
                ("instanceType", "pass", "Standard_ND96isr_H100_v5"),
                ("spotAllowed", "pass", "which the pricing allows (Azure says Spot)"),
            ],
        ),
    ] {
        let imds = Imds::start(&args);
        let scratch = Scratch::new(&declared);
        let (_, report) = scratch.scan_without_nvml(&["--cloud-metadata", "--cloud-metadata-endpoint", &imds.url]);
        expect(&report, want, provider);
        let f = findings(&report)
            .iter()
            .find(|f| f["code"] == "pricing-hints")
            .cloned()
            .unwrap_or_default();
        assert_eq!(f["evidence"]["probe"], "imds", "{provider}: {f:#}");
        // The observation records the answers (never the AWS session token) in its schema.
        let o = scratch.run(
            None,
            &[
                "facts",
                "--json",
                "--nvml-lib",
                NO_NVML,
                "--cloud-metadata",
                "--cloud-metadata-endpoint",
                &imds.url,
            ],
        );
        assert_eq!(code(&o), 0, "{provider}: {}", stderr(&o));
        crate::support::report::assert_matches_schema(modelspec::schemas::OBSERVATION, &stdout(&o));
        assert!(
            !stdout(&o).contains("imitation-session-token"),
            "{provider}: the token was recorded"
        );
        assert!(stdout(&o).contains(args[2]), "{provider}: {}", stdout(&o));
    }

    // A metadata service that redirects elsewhere is not followed, and so says nothing.
    let imds = Imds::start(&["aws", "--redirect"]);
    let (_, report) = Scratch::new(&spec("aws", "p5.48xlarge", false)).scan_without_nvml(&[
        "--cloud-metadata",
        "--cloud-metadata-endpoint",
        &imds.url,
    ]);
    let spot = statuses(&report)
        .into_iter()
        .find(|(field, ..)| field == "spotAllowed")
        .unwrap_or_default();
    assert_eq!(spot.1, "unknown", "{spot:?}");
    assert!(spot.2.contains("HTTP 302"), "{spot:?}");
    drop(imds);

    // Without --cloud-metadata nothing is asked; DMI alone, replayed.
    let with_dmi = |name: &str, dmi: Json| {
        let scratch = Scratch::new(&spec("aws", "p5.48xlarge", false));
        let mut tree: Json =
            serde_json::from_str(include_str!("../fixtures/demo/observation.json")).expect("the demo observation");
        match dmi {
            Json::Null => {
                if let Some(host) = tree["host"]["snapshot"].as_object_mut() {
                    host.remove("dmi");
                }
            }
            dmi => tree["host"]["snapshot"]["dmi"] = dmi,
        }
        std::fs::write(scratch.path().join("obs.json"), tree.to_string()).expect("write the observation");
        let o = scratch.run(None, &["scan", SPEC, "--facts", "obs.json", "--format", "json"]);
        assert!(matches!(code(&o), 0 | 1), "{name}: {}", stderr(&o));
        json_of(&o)
    };
    let ec2 = with_dmi(
        "ec2",
        serde_json::json!({"status": "ok", "value": {"sys_vendor": "Amazon EC2", "product_name": "p5.48xlarge", "bios_vendor": "Amazon EC2"}}),
    );
    expect(
        &ec2,
        [
            (
                "cloudProvider",
                "pass",
                "the node runs on AWS (DMI: Amazon EC2 p5.48xlarge)",
            ),
            ("instanceType", "pass", "DMI product name on EC2"),
            ("spotAllowed", "unknown", "scan with --cloud-metadata"),
        ],
        "ec2",
    );
    let dell = with_dmi(
        "dell",
        serde_json::json!({"status": "ok", "value": {"sys_vendor": "Dell Inc.", "product_name": "PowerEdge XE9680"}}),
    );
    expect(
        &dell,
        [
            (
                "cloudProvider",
                "fail",
                "priced for AWS, but DMI names no cloud: Dell Inc. PowerEdge XE9680",
            ),
            ("instanceType", "unknown", "scan with --cloud-metadata"),
            ("spotAllowed", "unknown", "scan with --cloud-metadata"),
        ],
        "dell",
    );
    let unreadable = with_dmi(
        "unreadable",
        serde_json::json!({"status": "unknown", "reason": "/sys/class/dmi/id/sys_vendor: permission denied"}),
    );
    expect(
        &unreadable,
        [
            ("cloudProvider", "unknown", "permission denied"),
            ("instanceType", "unknown", "scan with --cloud-metadata"),
            ("spotAllowed", "unknown", "scan with --cloud-metadata"),
        ],
        "unreadable",
    );
    // A machine without a DMI table (some ARM servers, a container without /sys): unknown.
    let no_table = with_dmi(
        "no-table",
        serde_json::json!({"status": "absent", "reason": "/sys/class/dmi/id does not exist: this machine (or this container's /sys) shows no DMI table"}),
    );
    expect(
        &no_table,
        [
            ("cloudProvider", "unknown", "shows no DMI table"),
            ("instanceType", "unknown", "scan with --cloud-metadata"),
            ("spotAllowed", "unknown", "scan with --cloud-metadata"),
        ],
        "no-table",
    );
    // Observations from before DMI was read: unknown, never a guess.
    let old = with_dmi("old", Json::Null);
    assert!(
        statuses(&old).iter().all(|(_, status, _)| status == "unknown"),
        "{:#?}",
        statuses(&old)
    );
}

/// `accelerator-vendor` asks both libraries: a spec for NVIDIA on a node of AMD GPUs fails, and
/// the reverse; the declared vendor's GPUs pass; neither library answering is unknown.
#[test]
fn the_vendor_is_checked_against_both_nvml_and_amd_smi() {
    let run = |vendor: &str, nvml: Option<&str>, amd: Option<&str>| {
        let scratch = Scratch::new(&spec_yaml(
            vendor,
            if vendor == "amd" { "mi300x" } else { "h100" },
            8,
            None,
        ));
        let lib = fake_nvml();
        let nvml_lib = if nvml.is_some() {
            lib.to_str().unwrap_or_default()
        } else {
            NO_NVML
        };
        let mut cmd = Cmd::new()
            .args(["scan", SPEC, "--format", "json", "--no-facts", "--nvml-lib", nvml_lib])
            .current_dir(scratch.path());
        if let Some(profile) = nvml {
            cmd = cmd.nvml_profile(profile);
        }
        cmd = match amd {
            Some(profile) => cmd.amd_profile(profile),
            None => cmd.env("MODELSPEC_AMDSMI_LIB", "/nonexistent/libamd_smi.so"),
        };
        let o = cmd.output();
        assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
        finding(&json_of(&o), "accelerator-vendor").clone()
    };
    for (name, vendor, nvml, amd, want, says) in [
        (
            "nvidia on AMD",
            "nvidia",
            None,
            Some("mi300x-x8"),
            "fail",
            "declared NVIDIA, but the node's GPUs are AMD's: 8 × AMD Instinct MI300X (AMD SMI)",
        ),
        (
            "amd on NVIDIA",
            "amd",
            Some("h100-sxm-x8"),
            None,
            "fail",
            "declared AMD, but the node's GPUs are NVIDIA's: 8 × NVIDIA H100 80GB HBM3 (NVML)",
        ),
        (
            "amd on AMD",
            "amd",
            None,
            Some("mi250x-x4"),
            "pass",
            "AMD SMI reports 8 AMD GPU(s)",
        ),
        (
            "nvidia on NVIDIA",
            "nvidia",
            Some("h100-sxm-x8"),
            None,
            "pass",
            "NVML reports 8 NVIDIA GPU(s)",
        ),
        (
            "amd, driver not loaded",
            "amd",
            None,
            Some("node-init-fails"),
            "unknown",
            "AMDSMI_STATUS_DRIVER_NOT_LOADED",
        ),
        ("amd, no library", "amd", None, None, "unknown", "--amdsmi-lib"),
    ] {
        let f = run(vendor, nvml, amd);
        assert_eq!(f["status"], want, "{name}: {f:#}");
        let message = f["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{name}: {says:?} in {message:?}");
        if want == "fail" {
            assert!(
                f["remediation"].as_str().is_some_and(|r| r.contains("declare vendor:")),
                "{name}: {f:#}"
            );
        }
    }
}

/// `facts` lists the AMD GPUs AMD SMI reports, and the observation keeps to its schema.
#[test]
fn facts_lists_amd_gpus_and_keeps_to_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = Cmd::new()
        .args(["facts", "-o", "obs.json", "--nvml-lib", NO_NVML])
        .current_dir(dir.path())
        .amd_profile("mi300x-cpx")
        .output();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let summary = stdout(&o);
    assert!(summary.contains("AMD SMI 26.2.1 (rocm-7), driver 6.12.12"), "{summary}");
    assert!(
        summary.contains("  GPU 7: AMD Instinct MI300X (gfx942), 0 / 24574 MiB, 40 °C, CPX/NPS4, "),
        "{summary}"
    );
    let saved = std::fs::read_to_string(dir.path().join("obs.json")).expect("obs.json written");
    crate::support::report::assert_matches_schema(modelspec::schemas::OBSERVATION, &saved);
    let tree: Json = serde_json::from_str(&saved).expect("JSON");
    assert_eq!(
        tree["amd"]["snapshot"]["amdsmi"]["devices"][3]["compute_partition"]["value"],
        "CPX"
    );
}

/// The accelerator checks under `vendor: amd`, through the fake AMD SMI: the type by market
/// name (memory when declared), the precision by graphics target (the catalogue's where ROCm
/// 6.2 reports none), the count as AMD SMI lists GPUs (GCDs, partitions), and the compute
/// partition as the MIG counterpart.
#[test]
fn amd_gpus_are_judged_by_type_count_precision_and_partition() {
    let scan = |name: &str, kind: &str, count: u32, precision: &str, profile: &str| {
        let scratch = Scratch::new(&spec_yaml("amd", kind, count, Some(precision)));
        let o = Cmd::new()
            .args(["scan", SPEC, "--format", "json", "--no-facts", "--nvml-lib", NO_NVML])
            .current_dir(scratch.path())
            .amd_profile(profile)
            .output();
        assert!(matches!(code(&o), 0 | 1), "{name}: {}", stderr(&o));
        json_of(&o)
    };
    let expect = |report: &Json, name: &str, want: &[(&str, &str, &str)]| {
        for (check, status, says) in want {
            let f = finding(report, check);
            assert_eq!(f["status"], *status, "{name}: {check}: {f:#}");
            let message = f["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{name}: {check}: {says:?} in {message:?}");
        }
    };
    let r = scan("matching", "mi300x", 8, "fp8", "mi300x-x8");
    expect(
        &r,
        "matching",
        &[
            ("accelerator-vendor", "pass", "AMD SMI reports 8 AMD GPU(s)"),
            ("accelerator-type", "pass", "all 8 GPU(s) are mi300x"),
            ("accelerator-count", "pass", "8 GPU(s), as declared"),
            ("accelerator-precision", "pass", "fp8 runs natively on every GPU"),
            ("accelerator-mig", "pass", "every GPU is whole GPUs (SPX)"),
        ],
    );
    assert_eq!(finding(&r, "accelerator-type")["evidence"]["probe"], "amdsmi");
    expect(
        &scan("other family", "mi325x", 8, "bf16", "mi300x-x8"),
        "other family",
        &[(
            "accelerator-type",
            "fail",
            "GPU 0: expected a GPU of family `mi325x`, found `mi300x`",
        )],
    );
    // The spec is valid (an MI300X runs fp8), the node is not what it declares.
    expect(
        &scan("fp8 on CDNA2", "mi300x", 8, "fp8", "mi250x-x4"),
        "fp8 on CDNA2",
        &[
            ("accelerator-type", "fail", "found `mi250x`"),
            (
                "accelerator-precision",
                "fail",
                "fp8 needs CDNA3 (gfx942: MI300 series): GPU 0 is CDNA2 (gfx90a)",
            ),
            ("accelerator-mig", "pass", "the GPUs have no compute partitions"),
        ],
    );
    // ROCm 6.2 reports no graphics target: the catalogue's, for the MI210.
    let r = scan("ROCm 6.2", "mi210", 1, "bf16", "mi210-x1");
    expect(
        &r,
        "ROCm 6.2",
        &[("accelerator-precision", "pass", "bf16 runs natively")],
    );
    assert_eq!(
        finding(&r, "accelerator-precision")["evidence"]["raw"][0]["from"],
        "catalogue"
    );
    expect(
        &scan("too few", "mi300x", 16, "bf16", "mi300x-x8"),
        "too few",
        &[("accelerator-count", "fail", "8 usable GPU(s), 16 declared")],
    );
    // Partitions: whole GPUs expected unless the type names the mode.
    expect(
        &scan("CPX undeclared", "mi300x", 8, "bf16", "mi300x-cpx"),
        "CPX undeclared",
        &[("accelerator-mig", "fail", "GPU 0: CPX, SPX expected")],
    );
    expect(
        &scan("CPX declared", "mi300x-cpx-nps4", 8, "bf16", "mi300x-cpx"),
        "CPX declared",
        &[
            ("accelerator-mig", "pass", "every GPU is CPX/NPS4"),
            ("accelerator-type", "pass", "all 8 GPU(s) are mi300x-cpx-nps4"),
        ],
    );
    expect(
        &scan("memory of a partition", "mi300x-192gb-cpx", 8, "bf16", "mi300x-cpx"),
        "memory of a partition",
        &[(
            "accelerator-type",
            "fail",
            "expected about 192 GB per GPU (within 10%), found 24574 MiB",
        )],
    );
    expect(
        &scan("partition on MI250X", "mi250x-cpx", 8, "bf16", "mi250x-x4"),
        "partition on MI250X",
        &[("accelerator-mig", "fail", "these GPUs have no partitions")],
    );
    // AMD SMI unusable: every accelerator finding unknown, with its reason.
    let r = scan("driver not loaded", "mi300x", 8, "bf16", "node-init-fails");
    for check in [
        "accelerator-type",
        "accelerator-count",
        "accelerator-precision",
        "accelerator-mig",
        "gpu-shared",
    ] {
        let f = finding(&r, check);
        assert_eq!(f["status"], "unknown", "{check}: {f:#}");
        assert!(
            f["message"].as_str().unwrap_or_default().contains("DRIVER_NOT_LOADED"),
            "{f:#}"
        );
    }
}

/// GPU health under `vendor: amd`: RAS errors (uncorrectable fail, deferred warn) and throttle
/// bits (warn) from AMD SMI; NVIDIA's own states skip.
#[test]
fn amd_gpu_health_reads_ras_errors_and_throttling() {
    let scan = |profile: &str| {
        let scratch = Scratch::new(&spec_yaml("amd", "mi300x", 8, Some("bf16")));
        let o = Cmd::new()
            .args(["scan", SPEC, "--format", "json", "--no-facts", "--nvml-lib", NO_NVML])
            .current_dir(scratch.path())
            .amd_profile(profile)
            .output();
        assert!(matches!(code(&o), 0 | 1), "{profile}: {}", stderr(&o));
        json_of(&o)
    };
    let healthy = scan("mi300x-x8");
    assert_eq!(status(&healthy, "gpu-memory-errors"), "pass");
    assert_eq!(
        finding(&healthy, "gpu-throttling")["message"],
        "no throttle bit set on 8 GPU(s)"
    );
    for code in ["gpu-lost", "gpu-persistence-mode", "gpu-fabric", "gpu-xid"] {
        assert_eq!(status(&healthy, code), "skip", "{code}");
    }
    let sick = scan("mi300x-ras");
    let ras = finding(&sick, "gpu-memory-errors");
    assert_eq!(ras["status"], "fail", "{ras:#}");
    assert_eq!(
        ras["message"],
        "GPU 3: 2 uncorrectable RAS error(s); GPU 3: 1 deferred RAS error(s)"
    );
    assert_eq!(ras["evidence"]["probe"], "amdsmi");
    let hot = finding(&sick, "gpu-throttling");
    assert_eq!(hot["status"], "warn", "{hot:#}");
    assert_eq!(hot["message"], "throttled: GPU 5, hotspot 96 °C");
    let unseen = scan("node-init-fails");
    assert_eq!(status(&unseen, "gpu-memory-errors"), "unknown");
}

/// The GPUs the serving process holds, through AMD SMI's process list joined with the process
/// tree: the count is what it holds, and another process on one of them is named.
#[test]
fn amd_gpus_are_attributed_through_the_process_list() {
    let scratch = Scratch::new(&spec_yaml("amd", "mi300x", 8, Some("bf16")));
    let me = std::process::id();
    let mut profile: Json = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/amd-gpus/mi300x-x8.json")).expect("the profile"),
    )
    .expect("JSON");
    if let Some(devices) = profile["devices"].as_array_mut() {
        for (i, d) in devices.iter_mut().enumerate() {
            d["processes"] = match i {
                0..=2 => serde_json::json!([{"pid": me, "name": "python3", "vram_mib": 150000}]),
                3 => {
                    serde_json::json!([{"pid": me, "name": "python3", "vram_mib": 150000}, {"pid": 999_999, "name": "stray", "vram_mib": 2048}])
                }
                _ => serde_json::json!([]),
            };
        }
    }
    let path = scratch.path().join("profile.json");
    std::fs::write(&path, profile.to_string()).expect("write the profile");
    let o = Cmd::new()
        .args([
            "scan",
            SPEC,
            "--format",
            "json",
            "--no-facts",
            "--nvml-lib",
            NO_NVML,
            "--pid",
            &me.to_string(),
        ])
        .current_dir(scratch.path())
        .fake_amdsmi_profile(&path)
        .output();
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let report = json_of(&o);
    let count = finding(&report, "accelerator-count");
    assert_eq!(count["status"], "fail", "{count:#}");
    assert_eq!(
        count["message"],
        format!("the serving process (pid {me}) holds 4 GPU(s) [0, 1, 2, 3], 8 declared")
    );
    assert_eq!(count["evidence"]["probe"], "amdsmi+host");
    let shared = finding(&report, "gpu-shared");
    assert_eq!(shared["status"], "warn", "{shared:#}");
    assert!(
        shared["message"]
            .as_str()
            .unwrap_or_default()
            .contains("GPU 3 shared with pid 999999 (2.0 GiB)"),
        "{shared:#}"
    );
}

/// Without --amdsmi-lib or MODELSPEC_AMDSMI_LIB, AMD SMI is looked for by the loader, then in
/// `$ROCM_PATH/lib` and `/opt/rocm/lib` (a container whose ld.so.conf lacks ROCm's entry).
#[test]
fn amd_smi_is_found_in_rocm_path_when_the_loader_does_not_know_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib_dir = dir.path().join("rocm/lib");
    std::fs::create_dir_all(&lib_dir).expect("mkdir");
    std::fs::copy(crate::support::fake_amdsmi(), lib_dir.join("libamd_smi.so")).expect("copy the fake");
    let o = Cmd::new()
        .args(["facts", "--json", "--nvml-lib", NO_NVML])
        .env("ROCM_PATH", dir.path().join("rocm"))
        .env("FAKE_AMDSMI_PROFILE", root().join("fixtures/amd-gpus/mi210-x1.json"))
        .output();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let tree = json_of(&o);
    let library = &tree["amd"]["snapshot"]["library"];
    assert_eq!(library["chosen_by"], "loader_search", "{library}");
    assert!(
        library["path"]
            .as_str()
            .unwrap_or_default()
            .ends_with("rocm/lib/libamd_smi.so"),
        "{library}"
    );
    assert_eq!(
        tree["amd"]["snapshot"]["amdsmi"]["devices"][0]["market_name"]["value"],
        "AMD Instinct MI210"
    );
}

/// The HTML report of an AMD node shows AMD SMI's GPUs where NVML has none.
#[test]
fn the_html_report_of_an_amd_node_lists_its_gpus() {
    let scratch = Scratch::new(&spec_yaml("amd", "mi300x", 8, Some("bf16")));
    let o = Cmd::new()
        .args(["scan", SPEC, "--format", "html", "--nvml-lib", NO_NVML])
        .current_dir(scratch.path())
        .amd_profile("mi300x-cpx")
        .output();
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let html = stdout(&o);
    assert!(
        html.contains("<tr><td>7</td><td>AMD Instinct MI300X</td><td>gfx942</td><td>0 / 24574</td><td>CPX/NPS4</td>"),
        "{html}"
    );
    assert!(
        !html.contains("NVML is unavailable"),
        "the AMD table replaces NVML's note"
    );
}

/// Under `vendor: amd`, a GPU that does not answer a question is never read as passing it: the
/// other GPUs' good answers leave the finding unknown, naming how many were silent.
#[test]
fn amd_gpus_that_do_not_answer_leave_their_checks_unknown() {
    let scratch = Scratch::new(&spec_yaml("amd", "mi300x", 8, Some("bf16")));
    let mut profile: Json = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/amd-gpus/mi300x-x8.json")).expect("the profile"),
    )
    .expect("JSON");
    profile["devices"][2]["unsupported"] =
        serde_json::json!(["amdsmi_get_gpu_asic_info", "amdsmi_get_gpu_metrics_info"]);
    profile["devices"][4]["no_permission"] = serde_json::json!(["amdsmi_get_gpu_compute_partition"]);
    let path = scratch.path().join("profile.json");
    std::fs::write(&path, profile.to_string()).expect("write the profile");
    let o = Cmd::new()
        .args(["scan", SPEC, "--format", "json", "--no-facts", "--nvml-lib", NO_NVML])
        .current_dir(scratch.path())
        .fake_amdsmi_profile(&path)
        .output();
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let report = json_of(&o);
    for (check, says) in [
        ("accelerator-type", "7 GPU(s) are mi300x, but 1 did not report"),
        ("accelerator-precision", "but 1 did not say theirs"),
        (
            "accelerator-mig",
            "7 GPU(s) are whole GPUs (SPX), but 1 did not report a partition mode",
        ),
        ("gpu-throttling", "the 7 GPU(s) that reported, but 1 did not"),
    ] {
        let f = finding(&report, check);
        assert_eq!(f["status"], "unknown", "{check}: {f:#}");
        assert!(
            f["message"].as_str().unwrap_or_default().contains(says),
            "{check}: {says:?} in {f:#}"
        );
    }
}
