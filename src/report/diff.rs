//! Drift over time: what changed between two reports of the same deployment
//! (`modelspec diff OLD.json NEW.json`).
//!
//! Findings are matched by spec name, check code and pointer, which stay put from one scan to
//! the next. A new failure is a finding that fails now and did not before (including one whose
//! waiver expired); a resolved one failed before and does not now. Every other status change
//! and every observed value that moved is listed too, because slow drift (a p95 creeping up, a
//! driver upgraded) shows there long before it fails.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde_json::Value as Json;

use super::{Report, Summary};
use crate::check::{Finding, Status};

/// One finding that changed between the reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The spec's `metadata.name` (empty for the node's findings).
    pub spec: String,
    /// The check.
    pub code: String,
    /// The spec field.
    pub pointer: String,
    /// Status before (`None` when the finding is new).
    pub old_status: Option<Status>,
    /// Status now (`None` when the finding is gone).
    pub new_status: Option<Status>,
    /// Observed value before.
    pub old_observed: Json,
    /// Observed value now.
    pub new_observed: Json,
    /// What is declared now (or was, for a finding that is gone).
    pub declared: Json,
    /// The newer message.
    pub message: String,
}

/// A spec whose file changed between the scans, or that only one report judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecChange {
    /// `metadata.name`.
    pub spec: String,
    /// SHA-256 before (`None`: not in the old report).
    pub old_sha256: Option<String>,
    /// SHA-256 now (`None`: not in the new report).
    pub new_sha256: Option<String>,
}

/// Everything that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// When and where each report was made.
    pub old: Scan,
    /// See `old`.
    pub new: Scan,
    /// Failing now, not before.
    pub new_failures: Vec<Change>,
    /// Failing before, not now.
    pub resolved: Vec<Change>,
    /// Any other change of status.
    pub status_changed: Vec<Change>,
    /// Same status, another observed value.
    pub observed_changed: Vec<Change>,
    /// Specs edited, added or dropped.
    pub specs_changed: Vec<SpecChange>,
    /// Counts before and now.
    pub summary: (Summary, Summary),
}

/// Which scan a report records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scan {
    /// The observed node.
    pub host: String,
    /// When the scan started.
    pub started_at: String,
}

impl Diff {
    /// Whether anything fails now that did not before (the exit code).
    pub fn has_new_failures(&self) -> bool {
        !self.new_failures.is_empty()
    }
}

type Key = (String, String, String);

fn by_key(report: &Report) -> BTreeMap<Key, &Finding> {
    let mut out = BTreeMap::new();
    let sections = report
        .specs
        .iter()
        .map(|s| (s.spec.name.as_str(), s.findings.as_slice()))
        .chain(std::iter::once(("", report.node.as_slice())));
    for (spec, findings) in sections {
        for f in findings {
            // A key seen twice (the same spec name scanned twice) keeps the first: the reports
            // agree on the order, so the same finding pairs up either way.
            out.entry((spec.to_string(), f.code.clone(), f.pointer.clone()))
                .or_insert(f);
        }
    }
    out
}

/// Compares two reports.
pub fn diff(old: &Report, new: &Report) -> Diff {
    let (before, now) = (by_key(old), by_key(new));
    let mut d = Diff {
        old: Scan {
            host: old.target_host.clone(),
            started_at: old.started_at.clone(),
        },
        new: Scan {
            host: new.target_host.clone(),
            started_at: new.started_at.clone(),
        },
        new_failures: Vec::new(),
        resolved: Vec::new(),
        status_changed: Vec::new(),
        observed_changed: Vec::new(),
        specs_changed: Vec::new(),
        summary: (old.summary, new.summary),
    };
    let mut keys: Vec<&Key> = before.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (a, b) = (before.get(key).copied(), now.get(key).copied());
        let change = Change {
            spec: key.0.clone(),
            code: key.1.clone(),
            pointer: key.2.clone(),
            old_status: a.map(|f| f.status),
            new_status: b.map(|f| f.status),
            old_observed: a.map_or(Json::Null, |f| f.observed.clone()),
            new_observed: b.map_or(Json::Null, |f| f.observed.clone()),
            declared: b.or(a).map_or(Json::Null, |f| f.declared.clone()),
            message: b.or(a).map_or_else(String::new, |f| f.message.clone()),
        };
        let failing = |s: Option<Status>| s == Some(Status::Fail);
        if failing(change.new_status) && !failing(change.old_status) {
            d.new_failures.push(change);
        } else if failing(change.old_status) && !failing(change.new_status) {
            d.resolved.push(change);
        } else if change.old_status != change.new_status {
            d.status_changed.push(change);
        } else if change.old_observed != change.new_observed {
            d.observed_changed.push(change);
        }
    }
    let hashes = |r: &Report| -> BTreeMap<String, String> {
        r.specs
            .iter()
            .map(|s| (s.spec.name.clone(), s.spec.sha256.clone()))
            .collect()
    };
    let (a, b) = (hashes(old), hashes(new));
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        if a.get(name) != b.get(name) {
            d.specs_changed.push(SpecChange {
                spec: name.clone(),
                old_sha256: a.get(name).cloned(),
                new_sha256: b.get(name).cloned(),
            });
        }
    }
    d
}

fn status(s: Option<Status>) -> &'static str {
    s.map_or("absent", Status::as_str)
}

/// A value as people read it (the table's and Markdown's rules), `-` for none, cut at 60.
fn value(v: &Json) -> String {
    match v {
        Json::Null => "-".to_string(),
        other => super::human::short(other, 60),
    }
}

fn subject(c: &Change) -> String {
    if c.spec.is_empty() {
        format!("node {} {}", c.code, c.pointer)
    } else {
        format!("{} {} {}", c.spec, c.code, c.pointer)
    }
}

const SECTIONS: [&str; 4] = ["New failures", "Resolved", "Status changed", "Observed values changed"];

fn sections(d: &Diff) -> [&[Change]; 4] {
    [&d.new_failures, &d.resolved, &d.status_changed, &d.observed_changed]
}

/// Plain text for a terminal or a job log.
pub fn render_human(out: &mut impl Write, d: &Diff) -> std::io::Result<()> {
    writeln!(
        out,
        "modelspec diff: {} ({}) -> {} ({})",
        d.old.host, d.old.started_at, d.new.host, d.new.started_at
    )?;
    for (title, changes) in SECTIONS.iter().zip(sections(d)) {
        if changes.is_empty() {
            continue;
        }
        writeln!(out, "\n{title} ({}):", changes.len())?;
        for c in changes {
            writeln!(
                out,
                "  {}: {} -> {}; observed {} -> {} (declared {})",
                subject(c),
                status(c.old_status),
                status(c.new_status),
                value(&c.old_observed),
                value(&c.new_observed),
                value(&c.declared)
            )?;
        }
    }
    for s in &d.specs_changed {
        writeln!(out, "\n{}", spec_line(s))?;
    }
    let nothing = sections(d).iter().all(|c| c.is_empty()) && d.specs_changed.is_empty();
    if nothing {
        writeln!(out, "\nNo finding changed.")?;
    }
    writeln!(out, "\n{}", summary_line(&d.summary))
}

fn spec_line(s: &SpecChange) -> String {
    match (&s.old_sha256, &s.new_sha256) {
        (Some(a), Some(b)) => format!("Spec {} changed: sha256 {a} -> {b}", s.spec),
        (None, _) => format!("Spec {} is new in the newer report", s.spec),
        (_, None) => format!("Spec {} is no longer scanned", s.spec),
    }
}

fn summary_line((a, b): &(Summary, Summary)) -> String {
    let parts: Vec<String> = [
        ("fail", a.fail, b.fail),
        ("warn", a.warn, b.warn),
        ("unknown", a.unknown, b.unknown),
        ("pass", a.pass, b.pass),
        ("skip", a.skip, b.skip),
        ("waived", a.waived, b.waived),
    ]
    .iter()
    .map(|(name, x, y)| {
        let delta = *y as i64 - *x as i64;
        if delta == 0 {
            format!("{name} {y}")
        } else {
            format!("{name} {x} -> {y} ({delta:+})")
        }
    })
    .collect();
    format!("Summary: {}", parts.join(", "))
}

/// A Markdown section for a change request or an audit trail.
pub fn render_markdown(out: &mut impl Write, d: &Diff) -> std::io::Result<()> {
    writeln!(
        out,
        "# ModelSpec drift: {} -> {}\n",
        md(&d.old.started_at),
        md(&d.new.started_at)
    )?;
    writeln!(out, "Node {} then {}.\n", md(&d.old.host), md(&d.new.host))?;
    writeln!(out, "{}", md(&summary_line(&d.summary)))?;
    for (title, changes) in SECTIONS.iter().zip(sections(d)) {
        if changes.is_empty() {
            continue;
        }
        writeln!(out, "\n## {title} ({})\n", changes.len())?;
        writeln!(out, "| Spec | Check | Field | Status | Observed | Declared | Message |")?;
        writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |")?;
        for c in changes {
            writeln!(
                out,
                "| {} | {} | {} | {} -> {} | {} -> {} | {} | {} |",
                md(if c.spec.is_empty() { "node" } else { &c.spec }),
                md(&c.code),
                md(&c.pointer),
                status(c.old_status),
                status(c.new_status),
                md(&value(&c.old_observed)),
                md(&value(&c.new_observed)),
                md(&value(&c.declared)),
                md(&c.message)
            )?;
        }
    }
    if !d.specs_changed.is_empty() {
        writeln!(out, "\n## Specs\n")?;
        for s in &d.specs_changed {
            writeln!(out, "- {}", md(&spec_line(s)))?;
        }
    }
    Ok(())
}

/// Text safe in a Markdown table cell.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Domain, Evidence};
    use crate::report::{SpecInfo, SpecSection};

    fn f(code: &str, status: Status, observed: Json) -> Finding {
        Finding {
            code: code.into(),
            domain: Domain::Accelerator,
            pointer: format!("/{code}"),
            status,
            declared: Json::from(1),
            observed,
            evidence: Evidence {
                probe: "nvml".into(),
                raw: Json::Null,
                rule: String::new(),
            },
            message: format!("{code} message"),
            remediation: None,
            waiver: None,
        }
    }

    fn report(sha: &str, findings: Vec<Finding>) -> Report {
        let info = SpecInfo {
            path: "s.yaml".into(),
            sha256: sha.into(),
            document: 1,
            name: "chat".into(),
            version: None,
            labels: BTreeMap::new(),
        };
        Report::new(
            "node".into(),
            "2026-11-01T00:00:00Z".into(),
            String::new(),
            vec![SpecSection::new(info, findings)],
            Vec::new(),
            None,
        )
    }

    #[test]
    fn sorts_changes_into_new_failures_resolved_and_moves() {
        let old = report(
            "a",
            vec![
                f("count", Status::Pass, Json::from(2)),
                f("type", Status::Fail, Json::from("L4")),
                f("latency", Status::Pass, Json::from(80)),
                f("throttle", Status::Pass, Json::Null),
                f("gone", Status::Warn, Json::Null),
            ],
        );
        let new = report(
            "b",
            vec![
                f("count", Status::Fail, Json::from(1)),
                f("type", Status::Pass, Json::from("H100")),
                f("latency", Status::Pass, Json::from(95)),
                f("throttle", Status::Warn, Json::Null),
                f("added", Status::Fail, Json::Null),
            ],
        );
        let d = diff(&old, &new);
        let codes = |cs: &[Change]| cs.iter().map(|c| c.code.clone()).collect::<Vec<_>>();
        assert_eq!(codes(&d.new_failures), ["added", "count"]);
        assert_eq!(codes(&d.resolved), ["type"]);
        assert_eq!(codes(&d.status_changed), ["gone", "throttle"]);
        assert_eq!(codes(&d.observed_changed), ["latency"]);
        assert_eq!(d.specs_changed.len(), 1);
        assert!(d.has_new_failures());
        let mut text = Vec::new();
        render_human(&mut text, &d).expect("render");
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("chat count /count: pass -> fail; observed 2 -> 1"),
            "{text}"
        );
        assert!(text.contains("fail 1 -> 2 (+1)"), "{text}");

        let same = diff(&new, &new);
        assert!(!same.has_new_failures());
        let mut text = Vec::new();
        render_human(&mut text, &same).expect("render");
        assert!(String::from_utf8_lossy(&text).contains("No finding changed."));
    }

    #[test]
    fn an_expired_waiver_is_a_new_failure() {
        let mut waived = f("count", Status::Waived, Json::from(1));
        waived.waiver = Some(crate::check::AppliedWaiver {
            status: Status::Fail,
            reason: "r".into(),
            owner: "o".into(),
            expires: "2026-11-01".into(),
        });
        let d = diff(
            &report("a", vec![waived]),
            &report("a", vec![f("count", Status::Fail, Json::from(1))]),
        );
        assert_eq!(d.new_failures.len(), 1);
    }
}
