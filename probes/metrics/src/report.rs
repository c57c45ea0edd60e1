//! What a parse says besides the data: positioned errors, caps reached, and counts.
//!
//! An error is the line's verdict: the line it names was not accepted (no sample, no metadata
//! taken from it), and parsing went on with the next line, so one bad line never hides the
//! rest. The only errors that name no rejected line are end-of-input ones (a missing `# EOF`).

use crate::format::Format;
use crate::limits::{Cap, CapHit};
use serde::Serialize;
use std::fmt;

/// How many characters of the offending line an error keeps.
pub const EXCERPT_CHARS: usize = 80;

/// A line that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters (Unicode scalar values), of where the problem starts.
    pub column: usize,
    /// Short, lower-case, no trailing period.
    pub message: String,
    /// The line around `column`, at most [`EXCERPT_CHARS`] characters; `...` marks a cut.
    pub excerpt: String,
}

impl ParseError {
    /// An error at byte `at` of `text`, the line `line` (without its newline).
    pub(crate) fn at(line: usize, text: &str, at: usize, message: String) -> ParseError {
        let before = text.get(..at.min(text.len())).unwrap_or(text);
        let column = before.chars().count() + 1;
        ParseError {
            line,
            column,
            message,
            excerpt: excerpt(text, column),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if !self.excerpt.is_empty() {
            write!(f, ": {}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// A window of at most [`EXCERPT_CHARS`] characters of `text` around 1-based `column`, so that
/// an error deep in a 60 KiB line still shows what is at the column.
fn excerpt(text: &str, column: usize) -> String {
    let total = text.chars().count();
    if total <= EXCERPT_CHARS {
        return text.to_owned();
    }
    let start = column.saturating_sub(EXCERPT_CHARS / 2).min(total - EXCERPT_CHARS);
    let mut out = String::with_capacity(EXCERPT_CHARS + 6);
    if start > 0 {
        out.push_str("...");
    }
    out.extend(text.chars().skip(start).take(EXCERPT_CHARS));
    if start + EXCERPT_CHARS < total {
        out.push_str("...");
    }
    out
}

/// How much of each kind of line a parse saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Bytes of input read (all of it unless a cap stopped the parse).
    pub bytes: usize,
    /// Lines read.
    pub lines: usize,
    /// Samples accepted.
    pub samples: usize,
    /// `# HELP`, `# TYPE` and `# UNIT` lines accepted.
    pub metadata: usize,
    /// Comments (0.0.4 only) and blank lines, which carry nothing.
    pub ignored: usize,
    /// Families that got at least one accepted line.
    pub families: usize,
}

/// Everything a parse reports besides its data: what [`crate::visit`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub format: Format,
    /// The first [`crate::Limits::max_errors`] errors, in input order.
    pub errors: Vec<ParseError>,
    /// All errors, including those past the cap.
    pub error_count: usize,
    /// Caps reached, each once, at the first line that reached it.
    pub caps: Vec<CapHit>,
    pub counts: Counts,
}

impl Outcome {
    pub(crate) fn new(format: Format) -> Outcome {
        Outcome {
            format,
            errors: Vec::new(),
            error_count: 0,
            caps: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// No error and no cap reached: the whole input was read and every line accepted.
    pub fn is_clean(&self) -> bool {
        self.error_count == 0 && self.caps.is_empty()
    }

    pub(crate) fn record_cap(&mut self, cap: Cap, limit: usize, line: usize, stopped: bool) {
        if !self.caps.iter().any(|hit| hit.cap == cap) {
            self.caps.push(CapHit {
                cap,
                limit,
                line,
                stopped,
            });
        }
    }
}
