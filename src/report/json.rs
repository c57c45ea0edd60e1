//! The JSON report (`--format json`): the [`Report`] as published in `schema/report.v1.json`.

use std::io::Write;

use super::Report;

/// Writes the report as one pretty-printed JSON object.
pub fn render(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::other)?;
    writeln!(out)
}
