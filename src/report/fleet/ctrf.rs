//! The fleet as CTRF JSON (`fleet --format ctrf`), for CI dashboards and cluster validation
//! tools that read Common Test Report Format (see [`crate::report::ctrf`]).
//!
//! Tests, each named for what it asserts: per spec, "conforms on every node it is deployed
//! on"; per check that does not pass somewhere, one test naming its nodes (failed when a node
//! fails it, or warns or is unknown under `--fail-on`; else other, as a waived finding is);
//! per node, "reported within --stale-after"; per input excluded, one failed test with the
//! reason. A reader that counts failed tests counts what makes `fleet` exit 1.

use std::io::Write;

use serde_json::{Map, Value as Json, json};

use super::{FleetCheck, FleetReport, NODE_SCOPE};
use crate::check::Status as Check;
use crate::report::FailOn;
use crate::report::ctrf::{Ctrf, Environment, Status, Test, Tool, render as write};

/// Writes the CTRF document.
pub fn render(out: &mut impl Write, report: &FleetReport, fail_on: FailOn) -> std::io::Result<()> {
    write(out, &document(report, fail_on))
}

/// The fleet as a CTRF document.
pub fn document(report: &FleetReport, fail_on: FailOn) -> Ctrf {
    let mut tests = Vec::new();
    for spec in &report.specs {
        let n = &spec.nodes;
        let mut t = Test::new(
            format!("{}: conforms on every node it is deployed on", spec.name),
            if n.drifting > 0 { Status::Failed } else { Status::Passed },
        );
        t.suite = vec!["specs".into(), spec.name.clone()];
        t.message = Some(format!(
            "{} node(s) scanned, {} deployed: {} conforming, {} drifting, {} warning, {} unknown, {} waived",
            n.scanned, n.deployed, n.conforming, n.drifting, n.warning, n.unknown, n.waived
        ));
        tests.push(t);
        tests.extend(spec.checks.iter().map(|c| check_test(&spec.name, c, fail_on)));
    }
    tests.extend(report.node_checks.iter().map(|c| check_test(NODE_SCOPE, c, fail_on)));
    for node in &report.nodes {
        let limit = report.stale_after_seconds;
        let mut t = Test::new(
            match limit {
                Some(s) => format!("{}: reported within {s} s", node.name),
                None => format!("{}: reported", node.name),
            },
            if node.stale { Status::Failed } else { Status::Passed },
        );
        t.suite = vec!["nodes".into()];
        t.raw_status = Some(node.state.as_str().into());
        t.message = Some(format!(
            "last scan {} ({}), state {}",
            node.last_scan,
            node.report,
            node.state.as_str()
        ));
        tests.push(t);
    }
    for e in &report.excluded {
        let mut t = Test::new(format!("input {}: verified", e.path), Status::Failed);
        t.suite = vec!["inputs".into()];
        t.raw_status = Some(e.reason.as_str().into());
        t.message = Some(e.detail.clone());
        tests.push(t);
    }
    let at = crate::report::prom::unix_nanos(&report.generated_at)
        .and_then(|ns| i64::try_from(ns / 1_000_000).ok())
        .unwrap_or(0);
    let mut ctrf = Ctrf::new(
        Tool {
            name: "modelspec".into(),
            version: Some(report.tool_version.clone()),
        },
        tests,
        at,
        at,
    );
    let s = &report.summary;
    ctrf.summary.extra.insert(
        "modelspec_fleet".into(),
        json!({
            "nodes": s.nodes, "stale": s.stale, "conforming_nodes": s.conforming_nodes,
            "drifting_nodes": s.drifting_nodes, "reports": s.reports, "verified": s.verified,
            "excluded": s.excluded, "specs": s.specs,
        }),
    );
    let mut extra = Map::new();
    extra.insert("report_schema".into(), Json::from(report.schema.clone()));
    extra.insert("generated_at".into(), Json::from(report.generated_at.clone()));
    ctrf.environment = Some(Environment {
        report_name: Some(format!(
            "ModelSpec fleet audit: {} node(s), {} spec(s)",
            s.nodes, s.specs
        )),
        app_name: None,
        app_version: None,
        test_environment: None,
        healthy: Some(report.exit_code(fail_on) == crate::report::exit::OK),
        extra,
    });
    ctrf
}

/// One check of one spec across the fleet.
fn check_test(spec: &str, check: &FleetCheck, fail_on: FailOn) -> Test {
    let worst = crate::report::DRIFT_ORDER
        .into_iter()
        .find(|s| !check.nodes(*s).is_empty())
        .unwrap_or(Check::Pass);
    let mut t = Test::new(
        format!("{spec}: {}", check.code),
        crate::report::ctrf::status(worst, fail_on),
    );
    t.suite = vec!["checks".into(), spec.into()];
    t.raw_status = Some(worst.as_str().into());
    let parts: Vec<String> = crate::report::DRIFT_ORDER
        .into_iter()
        .filter(|s| !check.nodes(*s).is_empty())
        .map(|s| {
            format!(
                "{} on {}: {}",
                s.as_str(),
                check.nodes(s).len(),
                check.nodes(s).join(", ")
            )
        })
        .collect();
    t.message = Some(format!(
        "{}; first seen {}, last seen {}",
        parts.join("; "),
        check.first_seen,
        check.last_seen
    ));
    t.trace = check.remediation.clone().or_else(|| Some(check.message.clone()));
    t
}
