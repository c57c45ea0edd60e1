//! The table report (`--format table`, the default): findings grouped by domain, then a
//! one-line summary. Colour only when asked (the CLI decides from the TTY and `NO_COLOR`).

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use serde_json::Value as Json;

use super::{Report, Summary};
use crate::check::{Finding, Status};
use crate::waivers::WaiverState;

/// How wide values may get before they are cut, in characters.
const MAX_VALUE: usize = 40;

/// How to draw the table.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// ANSI colors for the status column.
    pub color: bool,
    /// Fixed width; `None` fits the terminal.
    pub width: Option<u16>,
    /// List `skip` findings too (otherwise they are counted in one line per domain).
    pub show_skipped: bool,
}

/// Writes the findings tables and the summary line: for one spec, its findings; for several,
/// a section per spec, then the node's own findings, then the totals.
pub fn render(out: &mut impl Write, report: &Report, options: TableOptions) -> std::io::Result<()> {
    if let [section] = report.specs.as_slice()
        && report.node.is_empty()
    {
        writeln!(
            out,
            "modelspec scan: {} ({}) on {}",
            section.spec.name, section.spec.path, report.target_host
        )?;
        findings(out, &section.findings, options)?;
        summary_line(out, "", &report.summary)?;
        return waiver_notes(out, report);
    }
    writeln!(
        out,
        "modelspec scan: {} spec(s) on {}",
        report.specs.len(),
        report.target_host
    )?;
    for section in &report.specs {
        let document = if section.spec.document > 1 {
            format!(" document {}", section.spec.document)
        } else {
            String::new()
        };
        writeln!(out, "\n━━ {} ({}{document}) ━━", section.spec.name, section.spec.path)?;
        findings(out, &section.findings, options)?;
        summary_line(out, &format!("{}: ", section.spec.name), &section.summary)?;
    }
    if !report.node.is_empty() {
        writeln!(out, "\n━━ node: across the specs ━━")?;
        findings(out, &report.node, options)?;
    }
    summary_line(out, "total: ", &report.summary)?;
    waiver_notes(out, report)
}

fn summary_line(out: &mut impl Write, prefix: &str, s: &Summary) -> std::io::Result<()> {
    let waived = if s.waived > 0 {
        format!(", {} waived", s.waived)
    } else {
        String::new()
    };
    writeln!(
        out,
        "\n{prefix}{} pass, {} fail, {} warn, {} unknown, {} skip{waived}",
        s.pass, s.fail, s.warn, s.unknown, s.skip
    )
}

/// Waivers that did not apply: expired ones (their drift counts again) and unused ones.
fn waiver_notes(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    for o in report.waivers.iter().flat_map(|w| &w.outcomes) {
        match o.state {
            WaiverState::Expired => writeln!(
                out,
                "waiver expired on {}: {} {} ({}); its finding counts again",
                o.waiver.expires, o.waiver.code, o.waiver.pointer, o.waiver.owner
            )?,
            WaiverState::Unused => writeln!(
                out,
                "waiver unused: {} {} matched no drift; remove it if the drift is gone",
                o.waiver.code, o.waiver.pointer
            )?,
            WaiverState::Applied => {}
        }
    }
    Ok(())
}

/// One table per domain, then the line counting what was skipped.
fn findings(out: &mut impl Write, findings: &[Finding], options: TableOptions) -> std::io::Result<()> {
    let TableOptions {
        color,
        width,
        show_skipped,
    } = options;
    let mut domain = None;
    let mut table = new_table(color, width);
    let mut previous_message: Option<&str> = None;
    for f in findings.iter().filter(|f| show_skipped || shown_when_skipped(f)) {
        if domain != Some(f.domain) {
            if domain.is_some() {
                writeln!(out, "{table}")?;
                table = new_table(color, width);
            }
            domain = Some(f.domain);
            previous_message = None;
            writeln!(out, "\n{}", f.domain.as_str().to_uppercase())?;
        }
        // One unobservable source makes many rows say the same long thing: say it once.
        let mut message = if previous_message == Some(f.message.as_str()) {
            "(same as above)".to_string()
        } else {
            f.message.clone()
        };
        previous_message = Some(&f.message);
        if let Some(r) = &f.remediation
            && matches!(f.status, Status::Fail | Status::Warn)
        {
            message.push_str(&format!("\n→ {r}"));
        }
        if let Some(w) = &f.waiver {
            message.push_str(&format!(
                "\nwaived ({}) by {} until {}: {}",
                w.status.as_str(),
                w.owner,
                w.expires,
                w.reason
            ));
        }
        table.add_row(vec![
            status_cell(f.status, color),
            Cell::new(&f.code),
            Cell::new(&f.pointer),
            Cell::new(short(&f.declared)),
            Cell::new(short(&f.observed)),
            Cell::new(message),
        ]);
    }
    if domain.is_some() {
        writeln!(out, "{table}")?;
    }
    if !show_skipped {
        skipped_line(out, findings)?;
    }
    Ok(())
}

/// Whether a finding has a row without `--show-skipped`: everything but skips, and the skips
/// that say which workload a spec is and that it is not deployed here (why the rest is skipped).
fn shown_when_skipped(f: &Finding) -> bool {
    f.status != Status::Skip || f.code == crate::check::host::WORKLOAD || f.code == crate::check::node::NOT_DEPLOYED
}

/// One line naming how many fields were not checked, by domain.
fn skipped_line(out: &mut impl Write, findings: &[Finding]) -> std::io::Result<()> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for f in findings.iter().filter(|f| !shown_when_skipped(f)) {
        match counts.iter_mut().find(|(d, _)| *d == f.domain.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((f.domain.as_str(), 1)),
        }
    }
    if counts.is_empty() {
        return Ok(());
    }
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = counts.iter().map(|(d, n)| format!("{d} {n}")).collect();
    writeln!(
        out,
        "\nskipped {total} field(s) not checked on a node yet or not observable ({}); --show-skipped lists them",
        parts.join(", ")
    )
}

fn new_table(color: bool, width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["status", "check", "field", "declared", "observed", "message"]);
    if let Some(w) = width {
        t.set_width(w);
    }
    if !color {
        t.force_no_tty();
    }
    t
}

fn status_cell(status: Status, color: bool) -> Cell {
    let cell = Cell::new(status.as_str().to_uppercase());
    if !color {
        return cell;
    }
    match status {
        Status::Pass => cell.fg(Color::Green),
        Status::Fail => cell.fg(Color::Red),
        Status::Warn => cell.fg(Color::Yellow),
        Status::Unknown => cell.fg(Color::Magenta),
        Status::Skip => cell.fg(Color::DarkGrey),
        Status::Waived => cell.fg(Color::Cyan),
    }
}

/// A value as one short line: strings bare, everything else as compact JSON.
fn short(v: &Json) -> String {
    let text = match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_VALUE {
        let head: String = text.chars().take(MAX_VALUE - 1).collect();
        format!("{head}…")
    } else {
        text
    }
}
