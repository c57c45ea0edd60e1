//! The CTRF report (`--format ctrf`): Common Test Report Format JSON (<https://ctrf.io>), which
//! CI dashboards and cluster validation tooling read the way they read a test run.
//!
//! Two halves. A small document model ([`Ctrf`], [`Test`], [`Status`], [`Summary`],
//! [`Environment`], [`Tool`]) that writes the published schema's shape (spec version
//! [`SPEC_VERSION`]) and counts its own summary ([`Summary::of`]), so any command can build a
//! CTRF document from its own data; and [`from_report`], which maps one scan onto it.
//!
//! A scan is one test per finding, named `SPEC: CODE POINTER` (`(node): ...` for findings about
//! the node across several specs) so a test keeps its name from run to run and a dashboard can
//! follow it; a name that would repeat gets ` #2`, ` #3`. Its suite is `[spec, domain]`. CTRF has
//! five statuses and ModelSpec six; `rawStatus` always keeps ModelSpec's own:
//! - `pass` is `passed`, `fail` is `failed`, `skip` is `skipped`.
//! - `warn` and `unknown` are `other`: neither a breach of the contract nor a pass. As in the
//!   JUnit report, `--fail-on` moves them to `failed` when they fail the scan's exit code, so a
//!   dashboard's failed count and the exit code agree.
//! - `waived` is `other`, not `skipped`: the check ran and found drift, which a waiver accepted
//!   for a time. `skipped` would say the check did not run, and mix accepted drift into the
//!   fields that do not apply; the waiver's terms are in the message and `extra.waiver`.
//!
//! Findings carry no timing of their own (one observation is judged at once), so each test's
//! duration is 0 and the run's start and stop are the scan's.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use super::human::value;
use super::{FailOn, Report, exit};
use crate::check::{self, Finding};

/// The CTRF specification version written (`specVersion`), the one the schema in
/// `tests/ctrf/` describes.
pub const SPEC_VERSION: &str = "0.0.0";

/// A CTRF document: one run's tests, what ran them and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Ctrf {
    /// The tool that produced the results.
    pub tool: Tool,
    /// Counts and times; [`Ctrf::new`] counts it from the tests.
    pub summary: Summary,
    /// One entry per test.
    pub tests: Vec<Test>,
    /// Where the run happened.
    pub environment: Option<Environment>,
    /// When the document was made (RFC 3339), `timestamp`.
    pub timestamp: Option<String>,
    /// What produced the document, `generatedBy`.
    pub generated_by: Option<String>,
    /// The logical run several documents belong to (a fleet's nodes), `runId`.
    pub run_id: Option<String>,
    /// Anything else, under `results.extra`.
    pub extra: Map<String, Json>,
}

impl Ctrf {
    /// A document whose summary is counted from `tests`, over a run from `start` to `stop`
    /// (milliseconds since the Unix epoch).
    pub fn new(tool: Tool, tests: Vec<Test>, start: i64, stop: i64) -> Ctrf {
        Ctrf {
            tool,
            summary: Summary::of(&tests, start, stop),
            tests,
            environment: None,
            timestamp: None,
            generated_by: None,
            run_id: None,
            extra: Map::new(),
        }
    }
}

/// `results.tool`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// Its name.
    pub name: String,
    /// Its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A test's outcome, as CTRF names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It passed.
    Passed,
    /// It failed.
    Failed,
    /// It did not run, or does not apply.
    Skipped,
    /// It has not run yet.
    Pending,
    /// Anything else (`rawStatus` says what).
    Other,
}

/// `results.summary`: counts by status and the run's times.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Every test.
    pub tests: usize,
    /// `passed` tests.
    pub passed: usize,
    /// `failed` tests.
    pub failed: usize,
    /// `skipped` tests.
    pub skipped: usize,
    /// `pending` tests.
    pub pending: usize,
    /// `other` tests.
    pub other: usize,
    /// Distinct suites.
    pub suites: usize,
    /// Run start, milliseconds since the Unix epoch.
    pub start: i64,
    /// Run end, milliseconds since the Unix epoch.
    pub stop: i64,
    /// `stop - start`, never negative.
    pub duration: i64,
    /// Anything else.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Json>,
}

impl Summary {
    /// Counts `tests` by status and their distinct suites, over a run from `start` to `stop`.
    pub fn of(tests: &[Test], start: i64, stop: i64) -> Summary {
        let mut s = Summary {
            tests: tests.len(),
            start,
            stop,
            duration: stop.saturating_sub(start).max(0),
            ..Summary::default()
        };
        for t in tests {
            match t.status {
                Status::Passed => s.passed += 1,
                Status::Failed => s.failed += 1,
                Status::Skipped => s.skipped += 1,
                Status::Pending => s.pending += 1,
                Status::Other => s.other += 1,
            }
        }
        s.suites = tests
            .iter()
            .filter(|t| !t.suite.is_empty())
            .map(|t| &t.suite)
            .collect::<BTreeSet<_>>()
            .len();
        s
    }
}

/// One test (`results.tests[]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    /// Its name, unique within the document.
    pub name: String,
    /// Its outcome.
    pub status: Status,
    /// How long it ran, milliseconds.
    pub duration: u64,
    /// The status in the producing tool's own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_status: Option<String>,
    /// Suite path, outermost first (left out when empty: the schema wants at least one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suite: Vec<String>,
    /// What happened, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The detail behind a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Keyless classifications.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Key-value metadata.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The test's kind (`type`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The file that defines it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// Anything else.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Json>,
}

impl Test {
    /// A test with a name and status and nothing else.
    pub fn new(name: impl Into<String>, status: Status) -> Test {
        Test {
            name: name.into(),
            status,
            duration: 0,
            raw_status: None,
            suite: Vec::new(),
            message: None,
            trace: None,
            tags: Vec::new(),
            labels: BTreeMap::new(),
            kind: None,
            file_path: None,
            extra: Map::new(),
        }
    }
}

/// `results.environment`: what the run was about and where.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    /// A name for the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_name: Option<String>,
    /// The application under test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// Its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// The logical environment (`staging`, `production`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_environment: Option<String>,
    /// Whether the run is healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    /// Anything else (CTRF's environment has no host field: the node goes here).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Json>,
}

/// The document as the schema lays it out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    report_format: &'static str,
    spec_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    results: Results<'a>,
}

#[derive(Serialize)]
struct Results<'a> {
    tool: &'a Tool,
    summary: &'a Summary,
    tests: &'a [Test],
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<&'a Environment>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    extra: &'a Map<String, Json>,
}

/// Writes `ctrf` as one JSON document.
pub fn render(out: &mut impl Write, ctrf: &Ctrf) -> std::io::Result<()> {
    let document = Document {
        report_format: "CTRF",
        spec_version: SPEC_VERSION,
        timestamp: ctrf.timestamp.as_deref(),
        generated_by: ctrf.generated_by.as_deref(),
        run_id: ctrf.run_id.as_deref(),
        results: Results {
            tool: &ctrf.tool,
            summary: &ctrf.summary,
            tests: &ctrf.tests,
            environment: ctrf.environment.as_ref(),
            extra: &ctrf.extra,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// How a finding's status reads in CTRF under the scan's `--fail-on` bar.
pub fn status(status: check::Status, fail_on: FailOn) -> Status {
    use check::Status as S;
    match (status, fail_on) {
        (S::Pass, _) => Status::Passed,
        (S::Fail, _) | (S::Warn, FailOn::Warn | FailOn::Unknown) | (S::Unknown, FailOn::Unknown) => Status::Failed,
        (S::Warn | S::Unknown | S::Waived, _) => Status::Other,
        (S::Skip, _) => Status::Skipped,
    }
}

/// A scan as a CTRF document: one test per finding (module doc), the scan's times, the node in
/// `environment.extra.node`, and ModelSpec's own counts in `summary.extra.modelspec`.
pub fn from_report(report: &Report, fail_on: FailOn) -> Ctrf {
    let mut tests = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let findings = report
        .specs
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (Some(s), f)))
        .chain(report.node.iter().map(|f| (None, f)));
    for (section, f) in findings {
        let spec = section.map_or("(node)", |s| s.spec.name.as_str());
        let mut test = test(spec, f, fail_on);
        // A name twice (two documents with one name, one field judged twice) gets a number,
        // so every test keeps a name of its own.
        let n = seen.entry(test.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            test.name = format!("{} #{n}", test.name);
        }
        if let Some(s) = section {
            test.file_path = Some(s.spec.path.clone());
            test.labels.insert("spec_sha256".into(), s.spec.sha256.clone());
        }
        tests.push(test);
    }
    let millis = |time: &str| {
        super::prom::unix_nanos(time)
            .and_then(|ns| i64::try_from(ns / 1_000_000).ok())
            .unwrap_or(0)
    };
    let mut ctrf = Ctrf::new(
        Tool {
            name: "modelspec".into(),
            version: Some(report.tool_version.clone()),
        },
        tests,
        millis(&report.started_at),
        millis(&report.finished_at),
    );
    let counts: Map<String, Json> = report
        .summary
        .counts()
        .iter()
        .map(|(s, n)| (s.as_str().to_string(), Json::from(*n)))
        .collect();
    ctrf.summary.extra.insert("modelspec".into(), Json::Object(counts));

    let mut extra = Map::new();
    extra.insert("node".into(), Json::from(report.target_host.clone()));
    extra.insert("report_schema".into(), Json::from(report.schema.clone()));
    extra.insert("fail_on".into(), Json::from(fail_on_str(fail_on)));
    let specs: Vec<Json> = report
        .specs
        .iter()
        .map(|s| {
            json!({
                "name": s.spec.name,
                "version": s.spec.version,
                "path": s.spec.path,
                "document": s.spec.document,
                "sha256": s.spec.sha256,
            })
        })
        .collect();
    extra.insert("specs".into(), Json::Array(specs));
    let one = match report.specs.as_slice() {
        [one] => Some(&one.spec),
        _ => None,
    };
    ctrf.environment = Some(Environment {
        report_name: Some(format!(
            "ModelSpec audit: {} on {}",
            report.audit_title(),
            report.target_host
        )),
        app_name: one.map(|s| s.name.clone()),
        app_version: one.and_then(|s| s.version.clone()),
        test_environment: None,
        healthy: Some(report.exit_code(fail_on) == exit::OK),
        extra,
    });
    // Only a time that reads as one: the schema checks `timestamp` as an RFC 3339 date-time.
    ctrf.timestamp = super::prom::unix_nanos(&report.finished_at).map(|_| report.finished_at.clone());
    ctrf.generated_by = Some(format!("modelspec {}", report.tool_version));
    ctrf
}

fn fail_on_str(fail_on: FailOn) -> &'static str {
    match fail_on {
        FailOn::Fail => "fail",
        FailOn::Warn => "warn",
        FailOn::Unknown => "unknown",
    }
}

/// One finding as a test.
fn test(spec: &str, f: &Finding, fail_on: FailOn) -> Test {
    let mut t = Test::new(format!("{spec}: {} {}", f.code, f.pointer), status(f.status, fail_on));
    t.raw_status = Some(f.status.as_str().to_string());
    t.suite = vec![spec.to_string(), f.domain.as_str().to_string()];
    t.tags = vec![f.domain.as_str().to_string(), f.code.clone()];
    t.kind = Some("conformance".into());
    for (key, v) in [
        ("spec", spec),
        ("code", &f.code),
        ("pointer", &f.pointer),
        ("domain", f.domain.as_str()),
    ] {
        t.labels.insert(key.into(), v.to_string());
    }
    let mut message = f.message.clone();
    if let Some(w) = &f.waiver {
        message.push_str(&format!(
            "\nwaived ({} accepted by {} until {}): {}",
            w.status.as_str(),
            w.owner,
            w.expires,
            w.reason
        ));
    }
    if let Some(r) = &f.remediation {
        message.push_str("\nremediation: ");
        message.push_str(r);
    }
    t.message = Some(message).filter(|m| !m.is_empty());
    if !matches!(f.status, check::Status::Pass | check::Status::Skip) {
        // What a reader of a failure needs besides the message, as the JUnit report's body.
        let mut lines = Vec::new();
        for (name, v) in [("declared", &f.declared), ("observed", &f.observed)] {
            if !v.is_null() {
                lines.push(format!("{name}: {}", value(v)));
            }
        }
        if !f.evidence.rule.is_empty() {
            lines.push(format!("rule: {}", f.evidence.rule));
        }
        lines.push(format!("probe: {}", f.evidence.probe));
        t.trace = Some(lines.join("\n"));
    }
    t.extra.insert("declared".into(), f.declared.clone());
    t.extra.insert("observed".into(), f.observed.clone());
    t.extra.insert(
        "evidence".into(),
        json!({"probe": f.evidence.probe, "rule": f.evidence.rule, "raw": f.evidence.raw}),
    );
    if let Some(w) = &f.waiver {
        t.extra.insert(
            "waiver".into(),
            json!({"status": w.status.as_str(), "owner": w.owner, "expires": w.expires, "reason": w.reason}),
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{AppliedWaiver, Domain, Evidence};
    use crate::report::{SpecInfo, SpecSection};

    fn finding(code: &str, status: check::Status) -> Finding {
        Finding {
            code: code.into(),
            domain: Domain::Accelerator,
            pointer: "/spec/runtime/accelerator/count".into(),
            status,
            declared: Json::from(4),
            observed: Json::from(2),
            evidence: Evidence {
                probe: "nvml".into(),
                raw: Json::Null,
                rule: "equal".into(),
            },
            message: "2 GPUs, 4 declared".into(),
            remediation: Some("start with 4".into()),
            waiver: None,
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        let spec = SpecInfo {
            path: "chat.yaml".into(),
            sha256: "00".into(),
            document: 1,
            name: "chat".into(),
            version: Some("1".into()),
            labels: BTreeMap::new(),
        };
        Report::new(
            "gpu-7".into(),
            "2026-01-02T03:04:05.250Z".into(),
            "2026-01-02T03:04:06Z".into(),
            vec![SpecSection::new(spec, findings)],
            Vec::new(),
            None,
        )
    }

    #[test]
    fn statuses_map_with_the_raw_status_kept_and_follow_the_fail_on_bar() {
        use check::Status as S;
        let row = |fail_on| [S::Pass, S::Fail, S::Warn, S::Unknown, S::Skip, S::Waived].map(|s| status(s, fail_on));
        use Status::*;
        assert_eq!(row(FailOn::Fail), [Passed, Failed, Other, Other, Skipped, Other]);
        assert_eq!(row(FailOn::Warn), [Passed, Failed, Failed, Other, Skipped, Other]);
        assert_eq!(row(FailOn::Unknown), [Passed, Failed, Failed, Failed, Skipped, Other]);
    }

    #[test]
    fn a_scan_becomes_one_test_per_finding_with_unique_names_and_the_scan_times() {
        let mut waived = finding("accelerator-count", check::Status::Waived);
        waived.waiver = Some(AppliedWaiver {
            status: check::Status::Fail,
            reason: "capacity".into(),
            owner: "ops".into(),
            expires: "2026-02-01".into(),
        });
        let r = report(vec![
            finding("accelerator-count", check::Status::Fail),
            waived,
            finding("gpu-throttling", check::Status::Warn),
        ]);
        let ctrf = from_report(&r, FailOn::Fail);
        let names: Vec<&str> = ctrf.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "chat: accelerator-count /spec/runtime/accelerator/count",
                "chat: accelerator-count /spec/runtime/accelerator/count #2",
                "chat: gpu-throttling /spec/runtime/accelerator/count",
            ]
        );
        let s = &ctrf.summary;
        assert_eq!(
            (s.tests, s.passed, s.failed, s.skipped, s.other, s.suites),
            (3, 0, 1, 0, 2, 1)
        );
        assert_eq!(
            (s.start, s.stop, s.duration),
            (1_767_323_045_250, 1_767_323_046_000, 750)
        );
        let w = &ctrf.tests[1];
        assert_eq!(w.raw_status.as_deref(), Some("waived"));
        let message = w.message.as_deref().unwrap_or_default();
        assert!(
            message.contains("waived (fail accepted by ops until 2026-02-01): capacity"),
            "{message}"
        );
        assert!(message.ends_with("remediation: start with 4"), "{message}");
        let env = ctrf.environment.as_ref().expect("an environment");
        assert_eq!(env.extra["node"], "gpu-7");
        assert_eq!(env.healthy, Some(false));
        assert_eq!(env.app_name.as_deref(), Some("chat"));

        let mut out = Vec::new();
        render(&mut out, &ctrf).expect("render to memory");
        let doc: Json = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(doc["reportFormat"], "CTRF");
        assert_eq!(doc["specVersion"], SPEC_VERSION);
        assert_eq!(doc["results"]["tests"][0]["status"], "failed");
        assert_eq!(doc["results"]["tests"][0]["suite"], json!(["chat", "accelerator"]));
        assert_eq!(doc["results"]["tests"][2]["rawStatus"], "warn");
        assert_eq!(doc["results"]["summary"]["extra"]["modelspec"]["warn"], 1);
    }

    #[test]
    fn times_that_do_not_parse_are_zero_not_a_panic() {
        let mut r = report(Vec::new());
        r.started_at = "yesterday".into();
        r.finished_at = String::new();
        let ctrf = from_report(&r, FailOn::Fail);
        assert_eq!(
            (ctrf.summary.start, ctrf.summary.stop, ctrf.summary.duration),
            (0, 0, 0)
        );
        assert_eq!(ctrf.timestamp, None);
        assert_eq!(ctrf.environment.and_then(|e| e.healthy), Some(true));
    }
}
