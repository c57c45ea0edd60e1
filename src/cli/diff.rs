//! `modelspec diff OLD.json NEW.json`: drift between two scans of the same deployment.
//!
//! The comparison is [`crate::report::diff`]; this module reads the reports, renders, and
//! exits 1 when something fails now that did not before, so a scheduled job can page on it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::CliError;
use super::exit;
use crate::report::diff::{diff, render_human, render_markdown};
use crate::report::{Report, SCHEMA};

/// Output of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Grouped lines for people.
    Human,
    /// The changes as JSON.
    Json,
    /// Markdown tables, for a change request or an audit trail.
    Markdown,
}

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// The earlier report.
    pub old: PathBuf,
    /// The later report.
    pub new: PathBuf,
    /// Output format.
    pub format: DiffFormat,
}

fn read(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a modelspec report: {e}; diff reads `scan --format json` reports",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if report.schema != SCHEMA {
        return Err(format!(
            "{}: report schema {:?} is not {SCHEMA:?}",
            path.display(),
            report.schema
        ));
    }
    Ok(report)
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    let (old, new) = match (read(&req.old), read(&req.new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(CliError::Input(e)),
    };
    let d = diff(&old, &new);
    let mut buffer = Vec::new();
    let rendered = match req.format {
        DiffFormat::Human => render_human(&mut buffer, &d),
        DiffFormat::Markdown => render_markdown(&mut buffer, &d),
        DiffFormat::Json => serde_json::to_writer_pretty(&mut buffer, &d)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(buffer)),
    };
    rendered.map_err(|e| CliError::Internal(format!("cannot render the diff: {e}")))?;
    super::output::write_stdout(&buffer).map_err(CliError::Io)?;
    Ok(if d.has_new_failures() { exit::CHANGED } else { exit::OK })
}
