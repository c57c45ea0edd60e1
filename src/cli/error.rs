//! The commands' errors, typed, and printed in one place ([`CliError::print`], called by
//! [`super::main`]): a command returns `Err` instead of printing and returning a code, so
//! every error reads the same (`error: what, where; what to do`) and exits with
//! [`exit::ERROR`].

use std::io::Write;

use super::ColorChoice;
use super::exit;
use super::style::Style;
use super::validate::{Summary, human};
use crate::spec::validate::FileReport;

/// Why a command could not do what it was asked.
#[derive(Debug)]
pub enum CliError {
    /// The arguments do not go together, or name nothing to work on; the message says what to
    /// write instead.
    Usage(String),
    /// A file, a folder or an output that cannot be read or written; the message names it.
    Io(String),
    /// An input that was read but cannot be used (a report, an observation, a URL's answer).
    Input(String),
    /// A file that failed validation: its diagnostics, as `validate` prints them, then `then`.
    Invalid {
        reports: Vec<FileReport>,
        then: &'static str,
    },
    /// A bug: something the tool made itself did not work.
    Internal(String),
}

impl CliError {
    /// The exit code every error ends with.
    pub fn exit_code(&self) -> i32 {
        exit::ERROR
    }

    /// Writes the error to standard error, the only place errors are printed.
    pub fn print(&self) {
        let _ = std::io::stderr().lock().write_all(self.described().as_bytes());
    }

    /// The error as [`CliError::print`] writes it: an invalid file's diagnostics, then the
    /// `error:` line (`serve` logs a reload's failure so, and keeps running).
    pub fn described(&self) -> String {
        let mut out = Vec::new();
        if let CliError::Invalid { reports, .. } = self {
            let summary = Summary::of(reports, false);
            let _ = human::render(&mut out, reports, &[], &summary, false, Style::new(ColorChoice::Never));
        }
        let _ = writeln!(out, "error: {self}");
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(message) | CliError::Io(message) | CliError::Input(message) => f.write_str(message),
            CliError::Invalid { then, .. } => f.write_str(then),
            CliError::Internal(message) => write!(f, "internal: {message}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<crate::observe::plan::PlanError> for CliError {
    fn from(e: crate::observe::plan::PlanError) -> CliError {
        CliError::Usage(e.to_string())
    }
}
