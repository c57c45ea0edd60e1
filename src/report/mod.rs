//! The conformance report: one type that every renderer reads and the exit code comes from.
//!
//! Renderers ([`table`], [`json`], [`prom`], [`junit`], [`ctrf`],
//! [`markdown`], [`html`], [`sarif`]) only format a [`Report`]; they compute nothing. The exit code
//! is computed once, here, from the findings, and so is the order in which audit reports list
//! what drifted ([`drift_first`]).

pub mod canonical;
pub mod ctrf;
pub mod derive;
pub mod diff;
pub mod fleet;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod prom;
pub mod sarif;
pub mod table;
pub mod verify;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::check::{Finding, Status};
use crate::observe::Observation;

/// The schema identifier written into every report.
pub const SCHEMA: &str = "modelspec.report/v1";

/// A scan's result: one section per spec document judged, and the node's own findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `modelspec` version.
    pub tool_version: String,
    /// The node observed.
    pub target_host: String,
    /// UTC time the scan started (RFC 3339).
    pub started_at: String,
    /// UTC time the scan ended (RFC 3339).
    pub finished_at: String,
    /// Counts by status over every section and the node.
    pub summary: Summary,
    /// One section per spec document, in the order given.
    pub specs: Vec<SpecSection>,
    /// Findings about the node: specs not deployed on it, and (when several specs are scanned
    /// together) the GPUs and processes across them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node: Vec<Finding>,
    /// What was observed, unless left out (`--no-facts`). Written as its canonical JSON (one
    /// line: the very text `provenance.observation_sha256` covers), so that `verify` and
    /// `fleet` hash it as written ([`canonical::embedded`]).
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        serialize_with = "canonical::embed"
    )]
    pub observation: Option<Observation>,
    /// Probes that did not answer before the deadline (their sources), when any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unanswered_probes: Vec<String>,
    /// How the scan came about: build, machine, command line, hashes (`modelspec verify`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub provenance: Option<derive::Provenance>,
    /// The waivers given (`--waivers`) and what became of each.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub waivers: Option<derive::WaiverReport>,
}

/// One spec's findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SpecSection {
    /// The spec judged.
    pub spec: SpecInfo,
    /// Counts by status in this section.
    pub summary: Summary,
    /// Every finding, grouped by domain.
    pub findings: Vec<Finding>,
}

impl SpecSection {
    /// A section with its summary counted.
    pub fn new(spec: SpecInfo, findings: Vec<Finding>) -> SpecSection {
        SpecSection {
            spec,
            summary: Summary::of(&findings),
            findings,
        }
    }
}

/// Which spec a section judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SpecInfo {
    /// Path as given.
    pub path: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// Document index within the file (1-based).
    pub document: usize,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.version`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    /// `metadata.labels`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub labels: BTreeMap<String, String>,
}

/// Counts of findings by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Passing findings.
    pub pass: usize,
    /// Drift.
    pub fail: usize,
    /// Worth attention.
    pub warn: usize,
    /// Not observed.
    pub unknown: usize,
    /// Not applicable or not checked.
    pub skip: usize,
    /// Accepted by a waiver.
    #[serde(default)]
    pub waived: usize,
}

impl Summary {
    /// Adds another summary's counts.
    pub fn add(&mut self, other: &Summary) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.warn += other.warn;
        self.unknown += other.unknown;
        self.skip += other.skip;
        self.waived += other.waived;
    }

    /// Every status in report order with its count: the one list renderers iterate, so a new
    /// status shows up in all of them.
    pub fn counts(&self) -> [(Status, usize); 6] {
        [
            (Status::Pass, self.pass),
            (Status::Fail, self.fail),
            (Status::Warn, self.warn),
            (Status::Unknown, self.unknown),
            (Status::Skip, self.skip),
            (Status::Waived, self.waived),
        ]
    }

    /// Counts `findings`.
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Warn => s.warn += 1,
                Status::Unknown => s.unknown += 1,
                Status::Skip => s.skip += 1,
                Status::Waived => s.waived += 1,
            }
        }
        s
    }
}

/// The statuses an audit report lists under "What drifted", in the order it lists them: drift
/// first, then what is worth attention, then what could not be seen, then drift accepted for a
/// time. `pass` and `skip` are not drift. One list, so the Markdown and HTML reports (and a
/// fleet's) open with the same findings in the same order.
pub const DRIFT_ORDER: [Status; 4] = [Status::Fail, Status::Warn, Status::Unknown, Status::Waived];

/// Where `status` falls in [`DRIFT_ORDER`]; `None` for what did not drift.
pub fn drift_rank(status: Status) -> Option<usize> {
    DRIFT_ORDER.iter().position(|s| *s == status)
}

/// The findings that drifted, in [`DRIFT_ORDER`], each with whatever context the caller gave it
/// (its spec, its node); within a status they keep the order given. Generic over the context so
/// a report over many nodes orders its findings by the same rule as one node's report.
pub fn drift_first<'a, C>(findings: impl IntoIterator<Item = (C, &'a Finding)>) -> Vec<(C, &'a Finding)> {
    let mut drifted: Vec<(usize, C, &Finding)> = findings
        .into_iter()
        .filter_map(|(context, f)| drift_rank(f.status).map(|rank| (rank, context, f)))
        .collect();
    // A stable sort: the report's own order (spec, then domain) within each status.
    drifted.sort_by_key(|(rank, _, _)| *rank);
    drifted.into_iter().map(|(_, context, f)| (context, f)).collect()
}

impl Report {
    /// What drifted in this report, by [`drift_first`]: each finding with its spec section
    /// (`None` for the node's findings across the specs).
    pub fn drifted(&self) -> Vec<(Option<&SpecInfo>, &Finding)> {
        let specs = self
            .specs
            .iter()
            .flat_map(|s| s.findings.iter().map(move |f| (Some(&s.spec), f)));
        drift_first(specs.chain(self.node.iter().map(|f| (None, f))))
    }
}

/// A skip a person can settle, listed by the audit renderers under "To attest by hand": the
/// field holds for the deployment but no node shows it. Read from the words `check::coverage`
/// gives such fields, so Markdown and HTML list the same ones.
pub(crate) fn to_attest(f: &Finding) -> bool {
    f.message.contains("not observable") || f.message.contains("not comparable")
}

/// The facts about the scan itself that audit renderers list under "Hashes": schema, version,
/// times, and the provenance when the report has one.
pub(crate) fn scan_rows(report: &Report) -> Vec<(&'static str, String)> {
    let mut rows: Vec<(&'static str, String)> = vec![
        ("Report schema", report.schema.clone()),
        ("Tool version", report.tool_version.clone()),
        ("Started", report.started_at.clone()),
        ("Finished", report.finished_at.clone()),
    ];
    if let Some(p) = &report.provenance {
        rows.push(("Duration", format!("{:.3} s", p.duration_seconds)));
        rows.push(("Observation SHA-256", p.observation_sha256.clone()));
        let commit = p
            .git_commit
            .as_deref()
            .unwrap_or("unknown (built outside a git checkout)");
        rows.push(("Git commit", commit.to_string()));
        let machine = match &p.scanned_by.machine_id {
            Some(id) => format!("{} (machine id {id})", p.scanned_by.hostname),
            None => p.scanned_by.hostname.clone(),
        };
        rows.push(("Scanned by", machine));
        rows.push(("Command line", p.command_line.join(" ")));
    }
    if let Some(w) = &report.waivers {
        rows.push(("Waiver file SHA-256", format!("{} ({})", w.sha256, w.path)));
    }
    rows
}

/// The lowest status that fails a scan (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Only drift fails (the default).
    #[default]
    Fail,
    /// Drift or a warning fails.
    Warn,
    /// Drift, a warning or anything unobserved fails.
    Unknown,
}

/// Exit codes of a scan.
pub mod exit {
    /// No finding at or above the `--fail-on` bar.
    pub const OK: i32 = 0;
    /// Drift (or, with `--fail-on`, warnings or unknowns).
    pub const DRIFT: i32 = 1;
}

impl Report {
    /// Assembles a report, counting the overall summary from the sections and the node.
    pub fn new(
        target_host: String,
        started_at: String,
        finished_at: String,
        specs: Vec<SpecSection>,
        node: Vec<Finding>,
        observation: Option<Observation>,
    ) -> Report {
        let mut summary = Summary::of(&node);
        for section in &specs {
            summary.add(&section.summary);
        }
        Report {
            schema: SCHEMA.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            target_host,
            started_at,
            finished_at,
            summary,
            specs,
            node,
            unanswered_probes: observation.as_ref().map(Observation::unanswered).unwrap_or_default(),
            observation,
            provenance: None,
            waivers: None,
        }
    }

    /// What an audit report is about: the spec's name and version, or how many specs.
    pub fn audit_title(&self) -> String {
        match self.specs.as_slice() {
            [one] => match &one.spec.version {
                Some(v) => format!("{} {v}", one.spec.name),
                None => one.spec.name.clone(),
            },
            many => format!("{} specs", many.len()),
        }
    }

    /// The scan's exit code: [`exit::DRIFT`] when any finding reaches the bar.
    pub fn exit_code(&self, fail_on: FailOn) -> i32 {
        let s = &self.summary;
        let failing = match fail_on {
            FailOn::Fail => s.fail,
            FailOn::Warn => s.fail + s.warn,
            FailOn::Unknown => s.fail + s.warn + s.unknown,
        };
        if failing > 0 { exit::DRIFT } else { exit::OK }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Domain, Evidence};

    fn finding(status: Status) -> Finding {
        Finding {
            code: "x".into(),
            domain: Domain::Accelerator,
            pointer: "/spec".into(),
            status,
            declared: serde_json::Value::Null,
            observed: serde_json::Value::Null,
            evidence: Evidence {
                probe: "none".into(),
                raw: serde_json::Value::Null,
                rule: String::new(),
            },
            message: String::new(),
            remediation: None,
            waiver: None,
        }
    }

    fn info(name: &str) -> SpecInfo {
        SpecInfo {
            path: format!("{name}.yaml"),
            sha256: String::new(),
            document: 1,
            name: name.into(),
            version: None,
            labels: BTreeMap::new(),
        }
    }

    fn report(statuses: &[Status]) -> Report {
        let findings: Vec<Finding> = statuses.iter().map(|s| finding(*s)).collect();
        Report::new(
            "h".into(),
            String::new(),
            String::new(),
            vec![SpecSection::new(info("n"), findings)],
            Vec::new(),
            None,
        )
    }

    #[test]
    fn the_summary_counts_every_section_and_the_node() {
        let r = Report::new(
            "h".into(),
            String::new(),
            String::new(),
            vec![
                SpecSection::new(info("a"), vec![finding(Status::Pass), finding(Status::Warn)]),
                SpecSection::new(info("b"), vec![finding(Status::Pass)]),
            ],
            vec![finding(Status::Fail)],
            None,
        );
        assert_eq!((r.summary.pass, r.summary.warn, r.summary.fail), (2, 1, 1));
        assert_eq!(r.specs[0].summary.pass, 1);
        // Drift only on the node still fails the scan.
        assert_eq!(r.exit_code(FailOn::Fail), exit::DRIFT);
    }

    #[test]
    fn drift_comes_fail_warn_unknown_waived_with_its_spec_and_the_node_last_within_a_status() {
        let mut node_fail = finding(Status::Fail);
        node_fail.code = "node".into();
        let r = Report::new(
            "h".into(),
            String::new(),
            String::new(),
            vec![
                SpecSection::new(
                    info("a"),
                    vec![finding(Status::Waived), finding(Status::Pass), finding(Status::Unknown)],
                ),
                SpecSection::new(
                    info("b"),
                    vec![finding(Status::Skip), finding(Status::Warn), finding(Status::Fail)],
                ),
            ],
            vec![node_fail],
            None,
        );
        let got: Vec<(Option<&str>, Status, &str)> = r
            .drifted()
            .into_iter()
            .map(|(spec, f)| (spec.map(|s| s.name.as_str()), f.status, f.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("b"), Status::Fail, "x"),
                (None, Status::Fail, "node"),
                (Some("b"), Status::Warn, "x"),
                (Some("a"), Status::Unknown, "x"),
                (Some("a"), Status::Waived, "x"),
            ]
        );
        assert!(report(&[Status::Pass, Status::Skip]).drifted().is_empty());
        assert_eq!(drift_rank(Status::Pass), None);
    }

    #[test]
    fn exit_code_follows_the_bar() {
        let r = report(&[Status::Pass, Status::Warn, Status::Unknown, Status::Skip]);
        assert_eq!(r.exit_code(FailOn::Fail), exit::OK);
        assert_eq!(r.exit_code(FailOn::Warn), exit::DRIFT);
        assert_eq!(r.exit_code(FailOn::Unknown), exit::DRIFT);
        let r = report(&[Status::Pass, Status::Unknown]);
        assert_eq!(r.exit_code(FailOn::Warn), exit::OK);
        assert_eq!(r.exit_code(FailOn::Unknown), exit::DRIFT);
        assert_eq!(report(&[Status::Fail]).exit_code(FailOn::Fail), exit::DRIFT);
        assert_eq!(report(&[]).exit_code(FailOn::Unknown), exit::OK);
    }
}
