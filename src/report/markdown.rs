//! The Markdown audit report (`--format markdown`): a document to attach to a change or an
//! audit, readable as plain text and rendered by any GitHub-flavoured Markdown viewer.
//!
//! It says only what the [`Report`] says. Governance facts such as the owner or the change
//! approval live in the spec, which the renderer does not read; they appear because every
//! declared governance field has a (skip) finding carrying its declared value, listed under
//! "To attest by hand". Which skips belong there is read from the finding's message (`not
//! observable`, `not comparable`), the words `check::coverage` gives such fields; every other
//! skip is listed under "Not checked".
//!
//! Values are written for people ([`super::human::value`]) but not cut, unlike the table: an
//! audit wants the whole value.

use std::collections::BTreeMap;
use std::io::Write;

use super::human::{short, value};
use super::{Report, SpecSection, Summary};
use crate::check::{Domain, Finding, Status};
use crate::waivers::WaiverState;

/// Writes the audit report.
pub fn render(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let title = report.audit_title();
    writeln!(
        out,
        "# ModelSpec audit: {} on {}\n",
        inline(&title),
        inline(&report.target_host)
    )?;
    writeln!(
        out,
        "Scanned by modelspec {} from {} to {}.\n",
        inline(&report.tool_version),
        inline(&report.started_at),
        inline(&report.finished_at)
    )?;
    writeln!(out, "## Summary\n")?;
    summary_table(out, &report.summary)?;
    writeln!(
        out,
        "\nDrift: {}.",
        if report.summary.fail == 0 { "none" } else { "yes" }
    )?;
    drifted(out, report)?;

    for section in &report.specs {
        spec(out, section)?;
    }
    if !report.node.is_empty() {
        writeln!(out, "\n## Node: across the specs")?;
        findings(out, &report.node, "###")?;
    }

    if let Some(waivers) = &report.waivers {
        writeln!(out, "\n## Waivers\n")?;
        writeln!(
            out,
            "From {} (SHA-256 {}).\n",
            inline(&waivers.path),
            inline(&waivers.sha256)
        )?;
        if waivers.outcomes.is_empty() {
            writeln!(out, "The file holds no waiver.")?;
        } else {
            writeln!(
                out,
                "| State | Check | Field | Spec | Owner | Expires | Findings | Reason |"
            )?;
            writeln!(out, "| --- | --- | --- | --- | --- | --- | ---: | --- |")?;
        }
        for o in &waivers.outcomes {
            let w = &o.waiver;
            let state = match o.state {
                WaiverState::Applied => "applied".to_string(),
                other => format!("**{}**", other.as_str()),
            };
            writeln!(
                out,
                "| {state} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&w.code),
                cell(&w.pointer),
                cell(w.spec.as_deref().unwrap_or("any")),
                cell(&w.owner),
                cell(&w.expires),
                o.findings,
                cell(&w.reason)
            )?;
        }
    }

    writeln!(out, "\n## Hashes\n")?;
    writeln!(out, "| Spec | Document | SHA-256 |")?;
    writeln!(out, "| --- | --- | --- |")?;
    for section in &report.specs {
        writeln!(
            out,
            "| {} | {} | {} |",
            cell(&section.spec.path),
            section.spec.document,
            cell(&section.spec.sha256)
        )?;
    }
    writeln!(out, "\n| Scan | |")?;
    writeln!(out, "| --- | --- |")?;
    for (name, value) in super::scan_rows(report) {
        writeln!(out, "| {name} | {} |", cell(&value))?;
    }
    if report.provenance.is_some() {
        writeln!(
            out,
            "\n`modelspec verify REPORT.json` recomputes these hashes from the JSON report of this scan and derives its findings again."
        )?;
    }
    Ok(())
}

/// "What drifted": fail, warn, unknown, then waived ([`super::drift_first`]), before the
/// complete findings, so a reader sees what needs doing without scrolling past every pass.
fn drifted(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(out, "\n## What drifted\n")?;
    let drifted = report.drifted();
    if drifted.is_empty() {
        return writeln!(
            out,
            "Nothing drifted: no finding failed, warned, went unobserved or was waived."
        );
    }
    writeln!(
        out,
        "| Status | Spec | Check | Field | Declared | Observed | Message | Remediation |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- |")?;
    for (spec, f) in drifted {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            status(f),
            cell(spec.map_or("(node)", |s| s.name.as_str())),
            cell(&f.code),
            cell(&f.pointer),
            cell(&short(&f.declared, SHORT)),
            cell(&short(&f.observed, SHORT)),
            cell(&message(f)),
            cell(f.remediation.as_deref().unwrap_or(""))
        )?;
    }
    Ok(())
}

/// How many characters of a declared or observed value "What drifted" shows; the complete
/// findings below show it whole.
const SHORT: usize = 60;

fn spec(out: &mut impl Write, section: &SpecSection) -> std::io::Result<()> {
    let info = &section.spec;
    writeln!(out, "\n## Spec: {}\n", inline(&info.name))?;
    writeln!(out, "| Field | Value |")?;
    writeln!(out, "| --- | --- |")?;
    writeln!(out, "| Name | {} |", cell(&info.name))?;
    if let Some(version) = &info.version {
        writeln!(out, "| Version | {} |", cell(version))?;
    }
    if !info.labels.is_empty() {
        let labels: Vec<String> = info.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "| Labels | {} |", cell(&labels.join(", ")))?;
    }
    writeln!(out, "| File | {} |", cell(&info.path))?;
    if info.document > 1 {
        writeln!(out, "| Document | {} |", info.document)?;
    }
    writeln!(out, "| SHA-256 | {} |", cell(&info.sha256))?;
    writeln!(out, "\n### Summary\n")?;
    summary_table(out, &section.summary)?;
    findings(out, &section.findings, "###")
}

/// Judged findings by domain, then the skips to attest, then the rest of the skips.
fn findings(out: &mut impl Write, all: &[Finding], level: &str) -> std::io::Result<()> {
    let mut domains: BTreeMap<Domain, Vec<&Finding>> = BTreeMap::new();
    let (mut attest, mut unchecked) = (Vec::new(), Vec::new());
    for f in all {
        match f.status {
            Status::Skip if to_attest(f) => attest.push(f),
            Status::Skip => unchecked.push(f),
            _ => domains.entry(f.domain).or_default().push(f),
        }
    }
    writeln!(out, "\n{level} Findings")?;
    if domains.is_empty() {
        writeln!(out, "\nNo field was judged.")?;
    }
    for (domain, fs) in &domains {
        writeln!(out, "\n#{level} {}\n", domain.as_str())?;
        writeln!(out, "| Status | Check | Field | Declared | Observed | Rule | Message |")?;
        writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |")?;
        for f in fs {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                status(f),
                cell(&f.code),
                cell(&f.pointer),
                cell(&value(&f.declared)),
                cell(&value(&f.observed)),
                cell(&f.evidence.rule),
                cell(&message(f))
            )?;
        }
    }
    if !attest.is_empty() {
        writeln!(out, "\n{level} To attest by hand\n")?;
        writeln!(
            out,
            "Declared, but not observable on a node: someone has to confirm these.\n"
        )?;
        field_table(out, &attest)?;
    }
    if !unchecked.is_empty() {
        writeln!(out, "\n{level} Not checked\n")?;
        field_table(out, &unchecked)?;
    }
    Ok(())
}

/// Fields with their declared value and why they were not judged on the node.
fn field_table(out: &mut impl Write, findings: &[&Finding]) -> std::io::Result<()> {
    writeln!(out, "| Field | Declared | Why |")?;
    writeln!(out, "| --- | --- | --- |")?;
    for f in findings {
        writeln!(
            out,
            "| {} | {} | {} |",
            cell(&f.pointer),
            cell(&value(&f.declared)),
            cell(&f.message)
        )?;
    }
    Ok(())
}

use super::to_attest;

fn summary_table(out: &mut impl Write, s: &Summary) -> std::io::Result<()> {
    writeln!(out, "| pass | fail | warn | unknown | skip | waived |")?;
    writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: |")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |",
        s.pass, s.fail, s.warn, s.unknown, s.skip, s.waived
    )
}

/// The status word, in bold where it needs attention; a waived finding with what it was.
fn status(f: &Finding) -> String {
    match (f.status, &f.waiver) {
        (Status::Fail | Status::Warn, _) => format!("**{}**", f.status.as_str()),
        (Status::Waived, Some(w)) => format!("waived ({})", w.status.as_str()),
        (other, _) => other.as_str().to_string(),
    }
}

/// The message, and for a waived finding the waiver's terms.
fn message(f: &Finding) -> String {
    match &f.waiver {
        Some(w) => format!("{} Waived by {} until {}: {}", f.message, w.owner, w.expires, w.reason),
        None => f.message.clone(),
    }
}

/// Text inside a table cell: as [`inline`], and line breaks become `<br>` since a cell is one
/// line.
pub(crate) fn cell(text: &str) -> String {
    inline(text).replace("\r\n", "<br>").replace(['\n', '\r'], "<br>")
}

/// Text that must read literally in Markdown: HTML special characters as entities, Markdown's
/// emphasis, link, code and table punctuation backslash-escaped.
pub(crate) fn inline(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' => {
                s.push('\\');
                s.push(c);
            }
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Evidence;
    use crate::report::SpecInfo;
    use serde_json::Value as Json;

    fn skip(pointer: &str, declared: &str, message: &str) -> Finding {
        Finding {
            code: "not-checked".into(),
            domain: Domain::Governance,
            pointer: pointer.into(),
            status: Status::Skip,
            declared: Json::from(declared),
            observed: Json::Null,
            evidence: Evidence {
                probe: "none".into(),
                raw: Json::Null,
                rule: String::new(),
            },
            message: message.into(),
            remediation: None,
            waiver: None,
        }
    }

    #[test]
    fn governance_fields_are_listed_to_attest_with_their_declared_values() {
        let spec = SpecInfo {
            path: "a|b.yaml".into(),
            sha256: "00".into(),
            document: 1,
            name: "chat".into(),
            version: None,
            labels: BTreeMap::new(),
        };
        let findings = vec![
            skip(
                "/spec/governance/compliance/governance/owner",
                "ml-platform\nteam",
                "declarative: reported for audit, not observable on a node",
            ),
            skip("/kind", "ModelSpec", "describes the document, not the node"),
        ];
        let report = Report::new(
            "h".into(),
            "t0".into(),
            "t1".into(),
            vec![SpecSection::new(spec, findings)],
            Vec::new(),
            None,
        );
        let mut out = Vec::new();
        render(&mut out, &report).expect("render to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        let (before, attest) = text.split_once("### To attest by hand").expect("an attest section");
        assert!(!before.contains("/spec/governance"), "{text}");
        let (attest, rest) = attest.split_once("### Not checked").expect("a not-checked section");
        assert!(
            attest.contains("| /spec/governance/compliance/governance/owner | ml-platform<br>team | declarative"),
            "{text}"
        );
        assert!(rest.contains("| /kind | ModelSpec |"), "{text}");
        assert!(text.contains("| a\\|b.yaml | 1 | 00 |"), "{text}");
        assert!(text.starts_with("# ModelSpec audit: chat on h\n"), "{text}");
    }

    #[test]
    fn what_drifted_opens_the_report_fail_warn_unknown_waived_then_the_full_findings() {
        let judged = |code: &str, status: Status| Finding {
            code: code.into(),
            domain: Domain::Accelerator,
            status,
            remediation: Some(format!("fix {code}")),
            ..skip("/spec/runtime/accelerator/count", "4", &format!("{code} says"))
        };
        let mut waived = judged("w-code", Status::Waived);
        waived.waiver = Some(crate::check::AppliedWaiver {
            status: Status::Fail,
            reason: "capacity order".into(),
            owner: "ops".into(),
            expires: "2999-01-01".into(),
        });
        let spec = |name: &str| SpecInfo {
            path: format!("{name}.yaml"),
            sha256: "00".into(),
            document: 1,
            name: name.into(),
            version: None,
            labels: BTreeMap::new(),
        };
        let report = Report::new(
            "h".into(),
            "t0".into(),
            "t1".into(),
            vec![SpecSection::new(
                spec("chat"),
                vec![
                    waived,
                    judged("p-code", Status::Pass),
                    judged("u-code", Status::Unknown),
                    judged("w2-code", Status::Warn),
                    judged("f-code", Status::Fail),
                ],
            )],
            Vec::new(),
            None,
        );
        let mut out = Vec::new();
        render(&mut out, &report).expect("render to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        let (head, rest) = text.split_once("## What drifted").expect("a What drifted section");
        assert!(head.contains("## Summary"), "{text}");
        let (drifted, full) = rest.split_once("## Spec: chat").expect("the spec after it");
        let at = |code: &str| drifted.find(&format!("| {code} |")).unwrap_or(usize::MAX);
        assert!(
            at("f-code") < at("w2-code") && at("w2-code") < at("u-code") && at("u-code") < at("w-code"),
            "{drifted}"
        );
        assert!(at("w-code") < usize::MAX && !drifted.contains("p-code"), "{drifted}");
        assert!(
            drifted.contains(
                "| **fail** | chat | f-code | /spec/runtime/accelerator/count | 4 |  | f-code says | fix f-code |"
            ),
            "{drifted}"
        );
        assert!(drifted.contains("| waived (fail) | chat | w-code |"), "{drifted}");
        assert!(
            drifted.contains("Waived by ops until 2999-01-01: capacity order"),
            "{drifted}"
        );
        // The complete findings follow as before, passes included.
        assert!(
            full.contains("### Findings") && full.contains("| pass | p-code |"),
            "{full}"
        );

        let calm = Report::new(
            "h".into(),
            "t0".into(),
            "t1".into(),
            vec![SpecSection::new(spec("chat"), vec![judged("p-code", Status::Pass)])],
            Vec::new(),
            None,
        );
        let mut out = Vec::new();
        render(&mut out, &calm).expect("render to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(
            text.contains(
                "## What drifted\n\nNothing drifted: no finding failed, warned, went unobserved or was waived.\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn cells_stay_one_cell_and_read_literally() {
        assert_eq!(cell("a|b\nc"), "a\\|b<br>c");
        assert_eq!(cell("x\r\ny"), "x<br>y");
        assert_eq!(inline("<b>*_`[x]\\&"), "&lt;b&gt;\\*\\_\\`\\[x\\]\\\\&amp;");
    }
}
