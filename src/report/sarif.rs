//! The SARIF 2.1.0 report (`--format sarif`), for code-scanning views that annotate the spec
//! file where a finding points.
//!
//! One run; `tool.driver.rules` is the check catalogue ([`crate::check::CHECKS`]), so a rule's
//! index is stable across scans. Only findings that need attention become results: fail is
//! `error`, warn is `warning`, unknown is `note`; pass and skip are left out, as code scanning
//! lists problems.
//!
//! Where a finding lies in the spec file is not in the [`Report`]: a report read back from JSON
//! has no source, and the other formats do not need it. Renderers do not read files, so the
//! CLI resolves each section's pointers in the spec it loaded and passes them in as
//! [`Regions`], one map per section. A pointer with no node of its own (a check about a whole
//! list item, say) takes the region of its nearest ancestor that has one. Columns count
//! characters, so the run says `columnKind: unicodeCodePoints`.

use std::io::Write;

use serde_json::{Value as Json, json};

use super::Report;
use crate::check::{CHECKS, Finding, Status};
use crate::spec::regions::{Region, Regions};

/// Writes the report as one SARIF log. `regions[i]` locates the pointers of `report.specs[i]`;
/// a missing entry leaves that section's results without a region.
pub fn render(out: &mut impl Write, report: &Report, regions: &[Regions]) -> std::io::Result<()> {
    let rules: Vec<Json> = CHECKS
        .iter()
        .map(|check| json!({ "id": check.code, "shortDescription": { "text": check.summary } }))
        .collect();
    let none = Regions::new();
    let mut results = Vec::new();
    for (i, section) in report.specs.iter().enumerate() {
        let regions = regions.get(i).unwrap_or(&none);
        for f in &section.findings {
            if let Some(r) = result(f, Some((&section.spec.path, regions))) {
                results.push(r);
            }
        }
    }
    for f in &report.node {
        if let Some(r) = result(f, None) {
            results.push(r);
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "modelspec",
                    "version": report.tool_version,
                    "informationUri": "https://example.invalid/modelspec",
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": report.started_at,
                "endTimeUtc": report.finished_at,
                "machine": report.target_host,
            }],
            "results": results,
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &log).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// The result for a finding that needs attention, located in its spec when there is one.
fn result(f: &Finding, spec: Option<(&str, &Regions)>) -> Option<Json> {
    // A waived finding stays a result at its original level, suppressed: code-scanning views
    // then show it as accepted, with the waiver's justification, rather than lose it.
    let judged = f.waiver.as_ref().map_or(f.status, |w| w.status);
    let level = match judged {
        Status::Fail => "error",
        Status::Warn => "warning",
        Status::Unknown => "note",
        Status::Pass | Status::Skip | Status::Waived => return None,
    };
    let mut text = format!(
        "{} (declared {}, observed {})",
        f.message,
        value(&f.declared),
        value(&f.observed)
    );
    if let Some(remedy) = &f.remediation {
        text.push_str("; ");
        text.push_str(remedy);
    }
    let mut result = json!({
        "ruleId": f.code,
        "level": level,
        "message": { "text": text },
        "properties": {
            "status": f.status.as_str(),
            "domain": f.domain.as_str(),
            "pointer": f.pointer,
            "rule": f.evidence.rule,
            "probe": f.evidence.probe,
        },
    });
    if let Some(index) = CHECKS.iter().position(|check| check.code == f.code)
        && let Some(o) = result.as_object_mut()
    {
        o.insert("ruleIndex".into(), Json::from(index));
    }
    if let Some(w) = &f.waiver
        && let Some(o) = result.as_object_mut()
    {
        o.insert(
            "suppressions".into(),
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!("{} (owner {}, until {})", w.reason, w.owner, w.expires),
            }]),
        );
    }
    if let Some((path, regions)) = spec {
        let mut physical = json!({ "artifactLocation": { "uri": uri(path) } });
        if let Some(region) = locate(regions, &f.pointer)
            && let Some(o) = physical.as_object_mut()
        {
            o.insert(
                "region".into(),
                json!({ "startLine": region.start_line, "startColumn": region.start_column }),
            );
        }
        if let Some(o) = result.as_object_mut() {
            o.insert("locations".into(), json!([{ "physicalLocation": physical }]));
        }
    }
    Some(result)
}

/// A JSON value for people: strings without quotes.
fn value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The region of `pointer`, or of its nearest ancestor that has one.
fn locate(regions: &Regions, pointer: &str) -> Option<Region> {
    let mut p = pointer;
    loop {
        if let Some(r) = regions.get(p) {
            return Some(*r);
        }
        if p.is_empty() {
            return None;
        }
        p = p.rfind('/').map_or("", |at| &p[..at]);
    }
}

/// A relative URI reference for a path as given: separators as `/`, everything else outside
/// the unreserved set percent-encoded (`:` too, which would read as a scheme).
fn uri(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                s.push(char::from(b));
            }
            other => s.push_str(&format!("%{other:02X}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_without_a_region_takes_its_ancestors() {
        let mut regions = Regions::new();
        let at = |line| Region {
            start_line: line,
            start_column: 3,
        };
        regions.insert("/spec/runtime".into(), at(4));
        regions.insert("".into(), at(1));
        assert_eq!(locate(&regions, "/spec/runtime"), Some(at(4)));
        assert_eq!(locate(&regions, "/spec/runtime/env/X"), Some(at(4)));
        assert_eq!(locate(&regions, "/kind"), Some(at(1)));
        assert_eq!(locate(&Regions::new(), "/kind"), None);
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("specs/a b.yaml"), "specs/a%20b.yaml");
        assert_eq!(uri("<demo>"), "%3Cdemo%3E");
        assert_eq!(uri("dir\\x.yaml"), "dir/x.yaml");
    }
}
