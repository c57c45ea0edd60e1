//! One finding about a spec document: what, where, how bad, and what to do.
//!
//! Load errors, schema violations and lints all end up as [`Diagnostic`]s so the renderers
//! (human and JSON) treat them alike. Codes are stable strings: tooling may match on them, and
//! `grep -rn '"<code>"' src/` finds the module that emits one.

use serde::Serialize;

use super::node::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Makes the document invalid.
    Error,
    /// Worth fixing; makes the document invalid only under `--strict`.
    Warning,
}

/// A finding about one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code, e.g. `schema-type` or `replicas-range`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// JSON pointer of the value concerned (`/spec/runtime/accelerator/count`); empty for the
    /// whole document.
    pub pointer: String,
    /// Where in the file.
    pub span: Span,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it, when we can say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without help text.
    pub fn new(
        code: &'static str,
        severity: Severity,
        pointer: String,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity,
            pointer,
            span,
            message: message.into(),
            help: None,
        }
    }

    /// Adds help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}
