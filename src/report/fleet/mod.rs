//! The fleet report: many nodes' reports merged into the answer a governance reviewer asks for.
//!
//! A reviewer looks at a model across the fleet, not at one node's scan: on how many nodes is
//! it deployed, where does it drift, since when, and which nodes have not reported lately. Each
//! input report is verified first, through the same derivation as `modelspec verify`
//! ([`super::verify`]); one that is unreadable, from a newer schema, not verifiable, altered, or
//! (when signatures are required) unsigned is listed under `excluded` with the reason and never
//! counted. The reading is streamed ([`read`]): each report is reduced to what the fleet
//! needs ([`Scan`]) as soon as it is verified, so thousands of reports never sit in memory
//! together.
//!
//! A node's current state is its latest verified report (by `started_at`); earlier reports
//! of the same node count only for when a drift was first seen. Everything here is computed
//! from the inputs and the instant given (`--now`), never from the clock, so a fleet report is
//! reproducible.

pub mod ctrf;
pub mod html;
pub mod markdown;
pub mod read;
#[cfg(test)]
pub(crate) mod sample;
pub mod table;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::check::{Domain, Status};

pub use read::{Scan, ScanFinding, ScanSection};

/// The schema identifier written into every fleet report.
pub const SCHEMA: &str = "modelspec.fleet/v1";

/// The spec name under which node-level findings (GPUs across specs, specs not deployed)
/// are counted; no ModelSpec can be called this (names are DNS labels).
pub const NODE_SCOPE: &str = "(node)";

/// One report over many nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FleetReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `modelspec` version.
    pub tool_version: String,
    /// The instant the fleet is judged at (RFC 3339, UTC): staleness is measured from it.
    pub generated_at: String,
    /// A node whose latest scan is older than this many seconds is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_after_seconds: Option<u64>,
    /// Counts over the whole fleet.
    pub summary: FleetSummary,
    /// One entry per spec seen, by name.
    pub specs: Vec<FleetSpec>,
    /// Findings about nodes rather than one spec (GPUs across specs, specs not deployed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_checks: Vec<FleetCheck>,
    /// One entry per node, by name.
    pub nodes: Vec<FleetNode>,
    /// Specs × checks: how many nodes fail, warn, are unknown or waived.
    pub matrix: Matrix,
    /// Reports not counted, and why.
    pub excluded: Vec<Excluded>,
    /// The reports counted.
    pub inputs: Vec<Input>,
}

/// Counts over the fleet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSummary {
    /// Input reports read.
    pub reports: usize,
    /// Reports verified and counted.
    pub verified: usize,
    /// Reports excluded.
    pub excluded: usize,
    /// Nodes with at least one verified report.
    pub nodes: usize,
    /// Nodes whose latest scan is older than `stale_after_seconds`.
    pub stale: usize,
    /// Nodes where every spec deployed conforms (no fail, warn or unknown).
    pub conforming_nodes: usize,
    /// Nodes where some spec or the node itself drifts (a fail).
    pub drifting_nodes: usize,
    /// Specs seen.
    pub specs: usize,
}

/// Where a spec stands on one node, from that node's latest report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Some check fails.
    Drifting,
    /// No failure, but a warning.
    Warning,
    /// No failure or warning, but something could not be observed.
    Unknown,
    /// Drift accepted by a waiver, and nothing else.
    Waived,
    /// Every check passes (or does not apply).
    Conforming,
    /// The spec's workload does not run on the node.
    NotDeployed,
}

impl NodeState {
    /// Lowercase name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Drifting => "drifting",
            NodeState::Warning => "warning",
            NodeState::Unknown => "unknown",
            NodeState::Waived => "waived",
            NodeState::Conforming => "conforming",
            NodeState::NotDeployed => "not_deployed",
        }
    }

    /// The state a set of findings puts a deployed spec in: its worst status.
    fn of<'a>(statuses: impl IntoIterator<Item = &'a Status>) -> NodeState {
        let mut state = NodeState::Conforming;
        for status in statuses {
            let s = match status {
                Status::Fail => NodeState::Drifting,
                Status::Warn => NodeState::Warning,
                Status::Unknown => NodeState::Unknown,
                Status::Waived => NodeState::Waived,
                Status::Pass | Status::Skip => NodeState::Conforming,
            };
            state = state.min(s);
        }
        state
    }
}

/// How many nodes are in each state for one spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    /// Nodes whose latest report judges the spec.
    pub scanned: usize,
    /// Of those, nodes where its workload runs.
    pub deployed: usize,
    /// Deployed and every check passes.
    pub conforming: usize,
    /// Deployed and some check fails.
    pub drifting: usize,
    /// Deployed, no failure, a warning.
    pub warning: usize,
    /// Deployed, no failure or warning, something not observed.
    pub unknown: usize,
    /// Deployed, drift accepted by a waiver and nothing else.
    pub waived: usize,
}

impl StateCounts {
    fn add(&mut self, state: NodeState) {
        self.scanned += 1;
        if state != NodeState::NotDeployed {
            self.deployed += 1;
        }
        match state {
            NodeState::Conforming => self.conforming += 1,
            NodeState::Drifting => self.drifting += 1,
            NodeState::Warning => self.warning += 1,
            NodeState::Unknown => self.unknown += 1,
            NodeState::Waived => self.waived += 1,
            NodeState::NotDeployed => {}
        }
    }
}

/// One spec across the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FleetSpec {
    /// `metadata.name`.
    pub name: String,
    /// Every `metadata.version` the nodes' latest reports judged with.
    pub versions: Vec<String>,
    /// Every spec file hash the nodes' latest reports judged with (more than one: the nodes
    /// were not all checked against the same file).
    pub sha256: Vec<String>,
    /// Nodes by state.
    pub nodes: StateCounts,
    /// Each check that does not pass on some node.
    pub checks: Vec<FleetCheck>,
}

/// One check of one spec (or of the node scope) that does not pass everywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FleetCheck {
    /// The check's code.
    pub code: String,
    /// Its domain.
    pub domain: Domain,
    /// Nodes where it fails now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fail: Vec<String>,
    /// Nodes where it warns now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warn: Vec<String>,
    /// Nodes where it could not be observed now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// Nodes where a waiver accepts it now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<String>,
    /// The earliest scan, of any node, in which it did not pass (RFC 3339).
    pub first_seen: String,
    /// The latest such scan.
    pub last_seen: String,
    /// What the latest node's finding says, as an example.
    pub message: String,
    /// What to do about it, when the finding says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

impl FleetCheck {
    /// The nodes in `status`.
    pub fn nodes(&self, status: Status) -> &[String] {
        match status {
            Status::Fail => &self.fail,
            Status::Warn => &self.warn,
            Status::Unknown => &self.unknown,
            Status::Waived => &self.waived,
            Status::Pass | Status::Skip => &[],
        }
    }
}

/// One node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FleetNode {
    /// The node's name (`target_host`).
    pub name: String,
    /// When its latest verified report's scan started (RFC 3339).
    pub last_scan: String,
    /// Seconds from the last scan to `generated_at` (negative: a clock ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    /// Older than `stale_after_seconds`.
    pub stale: bool,
    /// The latest report's path.
    pub report: String,
    /// How many verified reports of this node were read.
    pub reports: usize,
    /// Each spec's state on it, by spec name.
    pub specs: BTreeMap<String, NodeState>,
    /// The worst state over its specs and its node-level findings.
    pub state: NodeState,
}

/// Specs × checks, counts of nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// The columns: every check that does not pass on some node, in `modelspec codes` order.
    pub checks: Vec<String>,
    /// One row per spec, then [`NODE_SCOPE`] when it has any.
    pub rows: Vec<MatrixRow>,
}

/// One spec's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// The spec's name.
    pub spec: String,
    /// One cell per column of [`Matrix::checks`].
    pub cells: Vec<Cell>,
}

/// How many nodes, by status, for one spec and check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Failing.
    pub fail: usize,
    /// Warning.
    pub warn: usize,
    /// Not observed.
    pub unknown: usize,
    /// Waived.
    pub waived: usize,
}

impl Cell {
    /// No node in any of the four states.
    pub fn is_empty(&self) -> bool {
        *self == Cell::default()
    }
}

/// Why a report was not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Not readable, not JSON, not a report.
    Unreadable,
    /// Written by a later schema than this version reads.
    NewerSchema,
    /// Cannot be derived again (no observation, no provenance, its spec cannot be read).
    NotVerifiable,
    /// Derived again, it differs from what it says: altered, or its spec changed since.
    DoesNotVerify,
    /// Its signature is missing, or does not verify with the required key.
    Signature,
}

impl Exclusion {
    /// Lowercase name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::Unreadable => "unreadable",
            Exclusion::NewerSchema => "newer_schema",
            Exclusion::NotVerifiable => "not_verifiable",
            Exclusion::DoesNotVerify => "does_not_verify",
            Exclusion::Signature => "signature",
        }
    }
}

/// A report not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Excluded {
    /// The file.
    pub path: String,
    /// The node it names, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why, as a kind.
    pub reason: Exclusion,
    /// Why, in words: what did not hold, and what to do.
    pub detail: String,
}

/// A report counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Input {
    /// The file.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The node it reports on.
    pub node: String,
    /// When its scan started.
    pub started_at: String,
    /// The signer's key fingerprint, when a signature was required and verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
}

/// How the fleet is judged.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The instant to judge at (RFC 3339, UTC).
    pub now: String,
    /// Nodes whose latest scan is older are stale.
    pub stale_after_seconds: Option<u64>,
}

/// One line of "What drifted": a check of a spec in one status, with its nodes.
#[derive(Debug, Clone, Copy)]
pub struct Drift<'a> {
    /// The spec's name, or [`NODE_SCOPE`].
    pub spec: &'a str,
    /// The status.
    pub status: Status,
    /// The check, its nodes and its remedy.
    pub check: &'a FleetCheck,
}

impl FleetReport {
    /// Merges verified scans (and the reports excluded) into the fleet report.
    pub fn build(scans: Vec<Scan>, excluded: Vec<Excluded>, options: &Options) -> FleetReport {
        build(scans, excluded, options)
    }

    /// What drifted, worst first: every failing check, then warnings, unknowns, waived; within
    /// a status by spec, then check code. The one order every renderer opens with.
    pub fn drifted(&self) -> Vec<Drift<'_>> {
        let scopes = self
            .specs
            .iter()
            .map(|s| (s.name.as_str(), &s.checks))
            .chain(std::iter::once((NODE_SCOPE, &self.node_checks)));
        let mut out = Vec::new();
        for status in super::DRIFT_ORDER {
            for (spec, checks) in scopes.clone() {
                for check in checks.iter().filter(|c| !c.nodes(status).is_empty()) {
                    out.push(Drift { spec, status, check });
                }
            }
        }
        out
    }

    /// The exit code: 1 when a node is at or above the `fail_on` bar, a node is stale, or a
    /// report was excluded (each is something a reviewer must look at); else 0.
    pub fn exit_code(&self, fail_on: super::FailOn) -> i32 {
        let bar = match fail_on {
            super::FailOn::Fail => NodeState::Drifting,
            super::FailOn::Warn => NodeState::Warning,
            super::FailOn::Unknown => NodeState::Unknown,
        };
        let failing = self.nodes.iter().any(|n| n.state <= bar);
        if failing || self.summary.stale > 0 || !self.excluded.is_empty() {
            super::exit::DRIFT
        } else {
            super::exit::OK
        }
    }
}

/// Accumulates one check of one scope over the nodes' current reports.
struct CheckAcc {
    domain: Domain,
    nodes: BTreeMap<Status, BTreeSet<String>>,
    message: String,
    remediation: Option<String>,
    latest: i128,
}

fn build(mut scans: Vec<Scan>, mut excluded: Vec<Excluded>, options: &Options) -> FleetReport {
    // Latest first within a node; the path breaks ties so the order is the same every run.
    scans.sort_by(|a, b| {
        a.node
            .cmp(&b.node)
            .then(b.started_ns.cmp(&a.started_ns))
            .then(a.input.path.cmp(&b.input.path))
    });
    let now_ns = super::prom::unix_nanos(&options.now);

    // When each (scope, code) was first and last seen not passing, over every report.
    let mut seen: BTreeMap<(String, String), (i128, String, i128, String)> = BTreeMap::new();
    for scan in &scans {
        for (scope, finding) in scan.findings() {
            let entry = seen.entry((scope.to_string(), finding.code.clone())).or_insert((
                scan.started_ns,
                scan.started_at.clone(),
                scan.started_ns,
                scan.started_at.clone(),
            ));
            if scan.started_ns < entry.0 {
                (entry.0, entry.1) = (scan.started_ns, scan.started_at.clone());
            }
            if scan.started_ns > entry.2 {
                (entry.2, entry.3) = (scan.started_ns, scan.started_at.clone());
            }
        }
    }

    let mut specs: BTreeMap<String, (StateCounts, BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut checks: BTreeMap<(String, String), CheckAcc> = BTreeMap::new();
    let mut nodes: Vec<FleetNode> = Vec::new();
    let mut inputs: Vec<Input> = Vec::new();
    let mut i = 0;
    while i < scans.len() {
        let latest = &scans[i];
        let same = scans[i..].iter().take_while(|s| s.node == latest.node).count();
        let mut node_specs = BTreeMap::new();
        let mut worst = NodeState::Conforming;
        let mut deployed_any = false;
        for section in &latest.sections {
            let state = if section.deployed {
                NodeState::of(section.findings.iter().map(|f| &f.status))
            } else {
                NodeState::NotDeployed
            };
            deployed_any |= section.deployed;
            worst = worst.min(state);
            node_specs.insert(section.name.clone(), state);
            let entry = specs.entry(section.name.clone()).or_default();
            entry.0.add(state);
            if let Some(v) = &section.version {
                entry.1.insert(v.clone());
            }
            entry.2.insert(section.sha256.clone());
        }
        worst = worst.min(NodeState::of(latest.node_findings.iter().map(|f| &f.status)));
        if !deployed_any && worst == NodeState::Conforming && !latest.sections.is_empty() {
            worst = NodeState::NotDeployed;
        }
        for (scope, finding) in latest.findings() {
            let acc = checks
                .entry((scope.to_string(), finding.code.clone()))
                .or_insert_with(|| CheckAcc {
                    domain: finding.domain,
                    nodes: BTreeMap::new(),
                    message: String::new(),
                    remediation: None,
                    latest: i128::MIN,
                });
            acc.nodes.entry(finding.status).or_default().insert(latest.node.clone());
            if acc.message.is_empty() || latest.started_ns > acc.latest {
                acc.latest = latest.started_ns;
                acc.message = finding.message.clone();
                acc.remediation = finding.remediation.clone();
            }
        }
        let age_seconds =
            now_ns.map(|now| i64::try_from((now - latest.started_ns) / 1_000_000_000).unwrap_or(i64::MAX));
        let stale = matches!((options.stale_after_seconds, age_seconds), (Some(limit), Some(age)) if age > i64::try_from(limit).unwrap_or(i64::MAX));
        nodes.push(FleetNode {
            name: latest.node.clone(),
            last_scan: latest.started_at.clone(),
            age_seconds,
            stale,
            report: latest.input.path.clone(),
            reports: same,
            specs: node_specs,
            state: worst,
        });
        inputs.extend(scans[i..i + same].iter().map(|s| s.input.clone()));
        i += same;
    }

    let order = |code: &str| {
        crate::check::CHECKS
            .iter()
            .position(|c| c.code == code)
            .unwrap_or(usize::MAX)
    };
    let to_check = |scope: &str, code: &str, acc: &CheckAcc| {
        let take = |status| {
            acc.nodes
                .get(&status)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default()
        };
        let (first_seen, last_seen) = seen
            .get(&(scope.to_string(), code.to_string()))
            .map(|(_, first, _, last)| (first.clone(), last.clone()))
            .unwrap_or_default();
        FleetCheck {
            code: code.to_string(),
            domain: acc.domain,
            fail: take(Status::Fail),
            warn: take(Status::Warn),
            unknown: take(Status::Unknown),
            waived: take(Status::Waived),
            first_seen,
            last_seen,
            message: acc.message.clone(),
            remediation: acc.remediation.clone(),
        }
    };
    let checks_of = |scope: &str| -> Vec<FleetCheck> {
        let mut list: Vec<FleetCheck> = checks
            .iter()
            .filter(|((s, _), _)| s == scope)
            .map(|((s, code), acc)| to_check(s, code, acc))
            .collect();
        list.sort_by_key(|c| (order(&c.code), c.code.clone()));
        list
    };

    let fleet_specs: Vec<FleetSpec> = specs
        .into_iter()
        .map(|(name, (counts, versions, hashes))| FleetSpec {
            checks: checks_of(&name),
            name,
            versions: versions.into_iter().collect(),
            sha256: hashes.into_iter().collect(),
            nodes: counts,
        })
        .collect();
    let node_checks = checks_of(NODE_SCOPE);

    let mut columns: Vec<String> = checks
        .keys()
        .map(|(_, code)| code.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    columns.sort_by_key(|c| (order(c), c.clone()));
    let row = |spec: &str, list: &[FleetCheck]| MatrixRow {
        spec: spec.to_string(),
        cells: columns
            .iter()
            .map(|code| {
                list.iter()
                    .find(|c| &c.code == code)
                    .map(|c| Cell {
                        fail: c.fail.len(),
                        warn: c.warn.len(),
                        unknown: c.unknown.len(),
                        waived: c.waived.len(),
                    })
                    .unwrap_or_default()
            })
            .collect(),
    };
    let mut rows: Vec<MatrixRow> = fleet_specs.iter().map(|s| row(&s.name, &s.checks)).collect();
    if !node_checks.is_empty() {
        rows.push(row(NODE_SCOPE, &node_checks));
    }

    excluded.sort_by(|a, b| a.path.cmp(&b.path));
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let summary = FleetSummary {
        reports: inputs.len() + excluded.len(),
        verified: inputs.len(),
        excluded: excluded.len(),
        nodes: nodes.len(),
        stale: nodes.iter().filter(|n| n.stale).count(),
        conforming_nodes: nodes.iter().filter(|n| n.state == NodeState::Conforming).count(),
        drifting_nodes: nodes.iter().filter(|n| n.state == NodeState::Drifting).count(),
        specs: fleet_specs.len(),
    };
    FleetReport {
        schema: SCHEMA.into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        generated_at: options.now.clone(),
        stale_after_seconds: options.stale_after_seconds,
        summary,
        specs: fleet_specs,
        node_checks,
        nodes,
        matrix: Matrix { checks: columns, rows },
        excluded,
        inputs,
    }
}

/// Up to `shown` node names, then how many more.
pub fn node_list(nodes: &[String], shown: usize) -> String {
    let mut text = nodes.iter().take(shown).cloned().collect::<Vec<_>>().join(", ");
    if nodes.len() > shown {
        text.push_str(&format!(" and {} more", nodes.len() - shown));
    }
    text
}

/// Text from the input reports as it may be shown on a terminal or in Markdown: control and
/// bidirectional-override characters written as `\u{..}`. A report that verifies still carries
/// whatever its node's probes read (a GPU name, a hostname), and a fleet reads many nodes'.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let odd = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(odd) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if odd(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finding, its message and remedy named after its code.
    fn finding(code: &str, status: Status) -> ScanFinding {
        sample::finding(
            code,
            status,
            &format!("{code} is {}", status.as_str()),
            Some(&format!("fix {code}")),
        )
    }

    /// A report of `node` at `at` judging one spec, `chat`.
    fn scan(node: &str, at: &str, deployed: bool, findings: Vec<ScanFinding>) -> Scan {
        sample::scan(node, at, vec![("chat", deployed, findings)], Vec::new())
    }

    fn options() -> Options {
        Options {
            stale_after_seconds: Some(3600),
            ..sample::options()
        }
    }

    #[test]
    fn the_latest_report_is_the_state_and_history_dates_the_drift() {
        let scans = vec![
            scan(
                "a",
                "2026-12-07T01:00:00Z",
                true,
                vec![finding("accelerator-type", Status::Fail)],
            ),
            scan("a", "2026-12-07T02:30:00Z", true, vec![]),
            scan(
                "b",
                "2026-12-07T02:40:00Z",
                true,
                vec![finding("accelerator-type", Status::Fail)],
            ),
            scan(
                "c",
                "2026-12-07T01:30:00Z",
                true,
                vec![finding("gpu-throttling", Status::Warn)],
            ),
            scan("d", "2026-12-07T02:50:00Z", false, vec![]),
        ];
        let r = FleetReport::build(scans, Vec::new(), &options());
        let chat = &r.specs[0];
        assert_eq!(chat.nodes.scanned, 4);
        assert_eq!(chat.nodes.deployed, 3);
        assert_eq!(
            (chat.nodes.conforming, chat.nodes.drifting, chat.nodes.warning),
            (1, 1, 1)
        );
        let accel = chat
            .checks
            .iter()
            .find(|c| c.code == "accelerator-type")
            .expect("accelerator-type");
        assert_eq!(accel.fail, ["b"], "a conforms now");
        assert_eq!(accel.first_seen, "2026-12-07T01:00:00Z", "a's earlier report");
        assert_eq!(accel.last_seen, "2026-12-07T02:40:00Z");
        let a = r.nodes.iter().find(|n| n.name == "a").expect("a");
        assert_eq!((a.reports, a.state, a.stale), (2, NodeState::Conforming, false));
        let c = r.nodes.iter().find(|n| n.name == "c").expect("c");
        assert!(c.stale, "90 minutes old, stale after 60");
        assert_eq!(c.age_seconds, Some(5400));
        assert_eq!(
            r.nodes.iter().find(|n| n.name == "d").map(|n| n.state),
            Some(NodeState::NotDeployed)
        );
        assert_eq!(r.summary.stale, 1);
        // What drifted: the failure before the warning.
        let order: Vec<(&str, Status)> = r.drifted().iter().map(|d| (d.check.code.as_str(), d.status)).collect();
        assert_eq!(
            order,
            [("accelerator-type", Status::Fail), ("gpu-throttling", Status::Warn)]
        );
        assert_eq!(r.exit_code(crate::report::FailOn::Fail), crate::report::exit::DRIFT);
    }

    #[test]
    fn a_fleet_that_conforms_exits_zero_unless_a_report_was_excluded() {
        let scans = vec![scan("a", "2026-12-07T02:30:00Z", true, vec![])];
        let r = FleetReport::build(scans.clone(), Vec::new(), &options());
        assert_eq!(r.exit_code(crate::report::FailOn::Unknown), crate::report::exit::OK);
        assert!(r.drifted().is_empty());
        let excluded = vec![Excluded {
            path: "x.json".into(),
            node: None,
            reason: Exclusion::Unreadable,
            detail: "not JSON".into(),
        }];
        let r = FleetReport::build(scans, excluded, &options());
        assert_eq!(r.exit_code(crate::report::FailOn::Fail), crate::report::exit::DRIFT);
        assert_eq!(r.summary.reports, 2);
    }

    /// Every format but HTML (html.rs snapshots its own) from the same small fleet.
    #[test]
    fn every_format_of_a_small_fleet() {
        let report = sample::small_fleet();
        let text = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
            let mut out = Vec::new();
            render(&mut out).expect("renders");
            String::from_utf8(out).expect("UTF-8")
        };
        let json = serde_json::to_string_pretty(&report).expect("JSON");
        crate::spec::schema::Schema::compile(crate::schemas::FLEET).expect("schema");
        insta::assert_snapshot!("fleet_json", json);
        insta::assert_snapshot!("fleet_table", text(&|o| table::render(o, &report, false)));
        insta::assert_snapshot!("fleet_markdown", text(&|o| markdown::render(o, &report)));
        insta::assert_snapshot!(
            "fleet_ctrf",
            text(&|o| ctrf::render(o, &report, crate::report::FailOn::Fail))
        );
    }

    #[test]
    fn control_characters_from_a_report_are_shown_not_obeyed() {
        assert_eq!(printable("node-1"), "node-1");
        assert_eq!(printable("a\u{1b}[2Jb\u{202e}c"), "a\\u{1b}[2Jb\\u{202e}c");
    }
}
