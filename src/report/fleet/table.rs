//! The fleet as tables in a terminal (`fleet --format table`): what drifted first, then the
//! specs, the nodes that need a look (drifting, warning, unknown or stale; the JSON, Markdown
//! and HTML reports list every node) and the reports excluded.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::{FleetReport, NodeState, node_list, printable};
use crate::check::Status;

/// How many node names a table cell lists before "and N more".
const NAMES_SHOWN: usize = 6;

/// Writes the tables.
pub fn render(out: &mut impl Write, report: &FleetReport, color: bool) -> std::io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "Fleet at {}: {} node(s), {} spec(s); {} conforming, {} drifting, {} stale; {} report(s) read, {} verified, {} excluded",
        printable(&report.generated_at),
        s.nodes,
        s.specs,
        s.conforming_nodes,
        s.drifting_nodes,
        s.stale,
        s.reports,
        s.verified,
        s.excluded
    )?;

    writeln!(out, "\nWhat drifted")?;
    let drifted = report.drifted();
    if drifted.is_empty() {
        writeln!(out, "  nothing: every check passes on every node's latest report")?;
    } else {
        let mut t = table(
            color,
            &["status", "spec", "check", "nodes", "first seen", "last seen", "remedy"],
        );
        for d in &drifted {
            let nodes = d.check.nodes(d.status);
            t.add_row(vec![
                status_cell(d.status, color),
                Cell::new(printable(d.spec)),
                Cell::new(&d.check.code),
                Cell::new(printable(&format!(
                    "{}: {}",
                    nodes.len(),
                    node_list(nodes, NAMES_SHOWN)
                ))),
                Cell::new(&d.check.first_seen),
                Cell::new(&d.check.last_seen),
                Cell::new(printable(d.check.remediation.as_deref().unwrap_or(&d.check.message))),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    writeln!(out, "\nSpecs")?;
    let mut t = table(
        color,
        &[
            "spec",
            "versions",
            "scanned",
            "deployed",
            "conforming",
            "drifting",
            "warning",
            "unknown",
            "waived",
        ],
    );
    for spec in &report.specs {
        let n = &spec.nodes;
        t.add_row(vec![
            printable(&spec.name).into_owned(),
            printable(&spec.versions.join(", ")).into_owned(),
            n.scanned.to_string(),
            n.deployed.to_string(),
            n.conforming.to_string(),
            n.drifting.to_string(),
            n.warning.to_string(),
            n.unknown.to_string(),
            n.waived.to_string(),
        ]);
    }
    writeln!(out, "{t}")?;

    let attention: Vec<_> = report
        .nodes
        .iter()
        .filter(|n| {
            n.stale
                || !matches!(
                    n.state,
                    NodeState::Conforming | NodeState::NotDeployed | NodeState::Waived
                )
        })
        .collect();
    writeln!(out, "\nNodes that need a look")?;
    if attention.is_empty() {
        writeln!(out, "  none: every node conforms and has reported recently")?;
    } else {
        let mut t = table(color, &["node", "state", "last scan", "stale", "report"]);
        for n in &attention {
            t.add_row(vec![
                printable(&n.name).into_owned(),
                n.state.as_str().to_string(),
                printable(&n.last_scan).into_owned(),
                if n.stale { "STALE".into() } else { String::new() },
                printable(&n.report).into_owned(),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    let rest = report.nodes.len() - attention.len();
    if rest > 0 {
        writeln!(
            out,
            "  {rest} more node(s) conform and are fresh (--format json lists every node)"
        )?;
    }

    if !report.excluded.is_empty() {
        writeln!(out, "\nExcluded reports (not counted)")?;
        let mut t = table(color, &["report", "node", "reason", "detail"]);
        for e in &report.excluded {
            t.add_row(vec![
                printable(&e.path).into_owned(),
                printable(e.node.as_deref().unwrap_or_default()).into_owned(),
                e.reason.as_str().to_string(),
                printable(&e.detail).into_owned(),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    Ok(())
}

fn table(color: bool, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if !color {
        t.force_no_tty();
    }
    t
}

fn status_cell(status: Status, color: bool) -> Cell {
    let cell = Cell::new(status.as_str().to_uppercase());
    match (color, status) {
        (false, _) => cell,
        (true, Status::Fail) => cell.fg(Color::Red),
        (true, Status::Warn) => cell.fg(Color::Yellow),
        (true, Status::Unknown) => cell.fg(Color::Magenta),
        (true, _) => cell.fg(Color::Cyan),
    }
}
