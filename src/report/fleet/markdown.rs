//! The fleet audit report in Markdown (`fleet --format markdown`): what drifted first, with
//! every node named and each remedy; then each spec's counts, the drift matrix, every node
//! with its last scan, the reports excluded and the reports counted (with their hashes).

use std::io::Write;

use super::{FleetReport, NODE_SCOPE, printable};
use crate::report::markdown;

/// A table cell: Markdown-escaped, control characters shown.
fn cell(text: &str) -> String {
    markdown::cell(&printable(text))
}

/// Inline text: Markdown-escaped, control characters shown.
fn inline(text: &str) -> String {
    markdown::inline(&printable(text))
}

/// Writes the audit report.
pub fn render(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    let s = &report.summary;
    writeln!(out, "# ModelSpec fleet audit\n")?;
    writeln!(
        out,
        "Judged at {} by modelspec {}{}.\n",
        inline(&report.generated_at),
        inline(&report.tool_version),
        match report.stale_after_seconds {
            Some(limit) => format!("; a node is stale when its latest scan is older than {limit} s"),
            None => String::new(),
        }
    )?;
    writeln!(
        out,
        "| Nodes | Conforming | Drifting | Stale | Specs | Reports read | Verified | Excluded |"
    )?;
    writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        s.nodes, s.conforming_nodes, s.drifting_nodes, s.stale, s.specs, s.reports, s.verified, s.excluded
    )?;

    writeln!(out, "\n## What drifted\n")?;
    let drifted = report.drifted();
    if drifted.is_empty() {
        writeln!(out, "Nothing: every check passes on every node's latest report.")?;
    } else {
        writeln!(
            out,
            "| Status | Spec | Check | Nodes | First seen | Last seen | Remedy |"
        )?;
        writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |")?;
        for d in &drifted {
            let nodes = d.check.nodes(d.status);
            writeln!(
                out,
                "| **{}** | {} | {} | {} ({}) | {} | {} | {} |",
                d.status.as_str(),
                cell(d.spec),
                cell(&d.check.code),
                nodes.len(),
                cell(&nodes.join(", ")),
                cell(&d.check.first_seen),
                cell(&d.check.last_seen),
                cell(d.check.remediation.as_deref().unwrap_or(&d.check.message)),
            )?;
        }
    }

    writeln!(out, "\n## Specs\n")?;
    writeln!(
        out,
        "| Spec | Versions | Scanned | Deployed | Conforming | Drifting | Warning | Unknown | Waived | Spec SHA-256 |"
    )?;
    writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )?;
    for spec in &report.specs {
        let n = &spec.nodes;
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&spec.name),
            cell(&spec.versions.join(", ")),
            n.scanned,
            n.deployed,
            n.conforming,
            n.drifting,
            n.warning,
            n.unknown,
            n.waived,
            cell(&spec.sha256.join(", ")),
        )?;
    }

    if !report.matrix.checks.is_empty() {
        writeln!(out, "\n## Drift matrix\n")?;
        writeln!(
            out,
            "Nodes per spec and check: fail / warn / unknown / waived (a dot: none).\n"
        )?;
        write!(out, "| Spec |")?;
        for code in &report.matrix.checks {
            write!(out, " {} |", cell(code))?;
        }
        write!(out, "\n| --- |")?;
        for _ in &report.matrix.checks {
            write!(out, " ---: |")?;
        }
        writeln!(out)?;
        for row in &report.matrix.rows {
            write!(
                out,
                "| {} |",
                if row.spec == NODE_SCOPE {
                    "*(node)*".to_string()
                } else {
                    cell(&row.spec)
                }
            )?;
            for c in &row.cells {
                if c.is_empty() {
                    write!(out, " · |")?;
                } else {
                    write!(out, " {} / {} / {} / {} |", c.fail, c.warn, c.unknown, c.waived)?;
                }
            }
            writeln!(out)?;
        }
    }

    writeln!(out, "\n## Nodes\n")?;
    writeln!(out, "| Node | State | Last scan | Age | Stale | Reports | Specs |")?;
    writeln!(out, "| --- | --- | --- | ---: | --- | ---: | --- |")?;
    for n in &report.nodes {
        let specs: Vec<String> = n.specs.iter().map(|(k, v)| format!("{k}: {}", v.as_str())).collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&n.name),
            n.state.as_str(),
            cell(&n.last_scan),
            n.age_seconds.map(age).unwrap_or_default(),
            if n.stale { "**stale**" } else { "" },
            n.reports,
            cell(&specs.join(", ")),
        )?;
    }

    writeln!(out, "\n## Excluded reports\n")?;
    if report.excluded.is_empty() {
        writeln!(out, "None: every report read was verified and counted.")?;
    } else {
        writeln!(out, "Not counted anywhere above.\n")?;
        writeln!(out, "| Report | Node | Reason | Detail |")?;
        writeln!(out, "| --- | --- | --- | --- |")?;
        for e in &report.excluded {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&e.path),
                cell(e.node.as_deref().unwrap_or("")),
                e.reason.as_str(),
                cell(&e.detail),
            )?;
        }
    }

    writeln!(out, "\n## Reports counted\n")?;
    writeln!(out, "| Report | Node | Scan started | SHA-256 | Signed by |")?;
    writeln!(out, "| --- | --- | --- | --- | --- |")?;
    for i in &report.inputs {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&i.path),
            cell(&i.node),
            cell(&i.started_at),
            cell(&i.sha256),
            cell(i.signed_by.as_deref().unwrap_or("")),
        )?;
    }
    Ok(())
}

/// Seconds as the largest whole unit that fits: `45s`, `12m`, `3h`, `2d`.
pub fn age(seconds: i64) -> String {
    let a = seconds.unsigned_abs();
    let text = match a {
        0..60 => format!("{a}s"),
        60..3600 => format!("{}m", a / 60),
        3600..86_400 => format!("{}h", a / 3600),
        _ => format!("{}d", a / 86_400),
    };
    if seconds < 0 { format!("-{text}") } else { text }
}
