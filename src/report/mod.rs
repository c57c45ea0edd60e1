//! The conformance report: one type that every renderer reads and the exit code comes from.
//!
//! Renderers ([`table`], [`json`]) only format a [`Report`]; they compute nothing. The exit code
//! is computed once, here, from the findings.

pub mod json;
pub mod table;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::check::{Finding, Status};
use crate::observe::Observation;

/// The schema identifier written into every report.
pub const SCHEMA: &str = "modelspec.report/v1";

/// A scan's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `modelspec` version.
    pub tool_version: String,
    /// The spec judged.
    pub spec: SpecInfo,
    /// The node observed.
    pub target_host: String,
    /// UTC time the scan started (RFC 3339).
    pub started_at: String,
    /// UTC time the scan ended (RFC 3339).
    pub finished_at: String,
    /// Every finding, grouped by domain.
    pub findings: Vec<Finding>,
    /// Counts by status.
    pub summary: Summary,
    /// What was observed, unless left out (`--no-facts`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub observation: Option<Observation>,
}

/// Which spec a report judges.
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
}

impl Summary {
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
            }
        }
        s
    }
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
        }
    }

    fn report(statuses: &[Status]) -> Report {
        let findings: Vec<Finding> = statuses.iter().map(|s| finding(*s)).collect();
        Report {
            schema: SCHEMA.into(),
            tool_version: "0".into(),
            spec: SpecInfo {
                path: "s.yaml".into(),
                sha256: String::new(),
                document: 1,
                name: "n".into(),
                version: None,
                labels: BTreeMap::new(),
            },
            target_host: "h".into(),
            started_at: String::new(),
            finished_at: String::new(),
            summary: Summary::of(&findings),
            findings,
            observation: None,
        }
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
