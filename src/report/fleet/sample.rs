//! A small fleet for the renderers' tests: every format is snapshotted from the same data.

use super::{Excluded, Exclusion, FleetReport, Input, Options, Scan, ScanFinding, ScanSection};
use crate::check::{Domain, Status};

/// The instant judged, and a day before a node is stale.
pub(crate) fn options() -> Options {
    Options {
        now: "2026-12-07T03:00:00Z".into(),
        stale_after_seconds: Some(86_400),
    }
}

pub(crate) fn finding(code: &str, status: Status, message: &str, remedy: Option<&str>) -> ScanFinding {
    ScanFinding {
        code: code.into(),
        domain: Domain::Accelerator,
        status,
        message: message.into(),
        remediation: remedy.map(String::from),
    }
}

/// A verified report of `node` started at `at`, judging `sections` (name, deployed,
/// findings that do not pass).
pub(crate) fn scan(
    node: &str,
    at: &str,
    sections: Vec<(&str, bool, Vec<ScanFinding>)>,
    node_findings: Vec<ScanFinding>,
) -> Scan {
    let path = format!("nodes/{node}/{at}.json");
    Scan {
        input: Input {
            path: path.clone(),
            sha256: format!("{:064x}", path.len()),
            node: node.into(),
            started_at: at.into(),
            signed_by: None,
        },
        node: node.into(),
        started_at: at.into(),
        started_ns: crate::report::prom::unix_nanos(at).unwrap_or(0),
        sections: sections
            .into_iter()
            .map(|(name, deployed, findings)| ScanSection {
                name: name.into(),
                version: Some("2026-11".into()),
                sha256: "ab".repeat(32),
                deployed,
                findings,
            })
            .collect(),
        node_findings,
    }
}

/// A small fleet with a bit of everything: drift on many nodes (more than the names shown),
/// a warning, an unknown, a waiver, a node-level finding, a spec not deployed, a node that
/// conforms now but drifted before, a stale node, a signed input and two excluded reports.
pub(crate) fn small_fleet() -> FleetReport {
    let count = finding(
        "accelerator-count",
        Status::Fail,
        "the serving process (pid 31337) holds 2 GPU(s) [0, 1], 4 declared",
        Some("start the server with more GPUs, or lower runtime.accelerator.count"),
    );
    let mut scans: Vec<Scan> = (1..=10)
        .map(|i| {
            scan(
                &format!("gpu-{i:02}"),
                "2026-12-07T02:00:00Z",
                vec![
                    ("support-chat", true, vec![count.clone()]),
                    ("batch-embed", false, vec![]),
                ],
                vec![],
            )
        })
        .collect();
    scans[0].sections[0].findings.push(finding(
        "gpu-throttling",
        Status::Warn,
        "GPU 1: sw_power_cap",
        Some("check cooling and power limits"),
    ));
    scans[1].input.signed_by = Some("SHA256:k3yF1ngerpr1nt".into());
    scans.push(scan(
        "gpu-11",
        "2026-12-01T02:00:00Z",
        vec![(
            "batch-embed",
            true,
            vec![
                finding("model-precision", Status::Unknown, "the engine runs `auto`", None),
                finding("env-variable", Status::Waived, "VLLM_LOGGING_LEVEL is \"DEBUG\"", None),
            ],
        )],
        vec![finding("gpu-unclaimed", Status::Warn, "GPU 3 is held by no spec", None)],
    ));
    scans.push(scan(
        "gpu-12",
        "2026-12-06T02:00:00Z",
        vec![(
            "batch-embed",
            true,
            vec![finding("env-variable", Status::Fail, "was DEBUG", None)],
        )],
        vec![],
    ));
    scans.push(scan(
        "gpu-12",
        "2026-12-07T01:00:00Z",
        vec![("batch-embed", true, vec![])],
        vec![],
    ));
    let excluded = vec![
        Excluded {
            path: "nodes/gpu-13.json".into(),
            node: Some("gpu-13".into()),
            reason: Exclusion::DoesNotVerify,
            detail: "specs[0] (support-chat) model-id: status reported \"fail\" but derived \"pass\"".into(),
        },
        Excluded {
            path: "nodes/notes.json".into(),
            node: None,
            reason: Exclusion::Unreadable,
            detail: "nodes/notes.json: not a modelspec report".into(),
        },
    ];
    let mut report = FleetReport::build(scans, excluded, &options());
    report.tool_version = "0.0.0-test".into();
    report
}
