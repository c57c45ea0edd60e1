//! Which of the two text formats an exposition is in, from its Content-Type or its body.
//!
//! The two differ in ways that change the verdict on a line (OpenMetrics forbids blank lines,
//! comments and trailing spaces, requires `# EOF`, writes counters as `_total` and timestamps in
//! seconds), so the caller must know which one it has before parsing. The header is the
//! authority, with one real-world wrinkle: vLLM 0.32 answers `text/plain; version=1.0.0` with a
//! body that is 0.0.4 text (`_created` as separate gauges, no `# EOF`). The version parameter is
//! therefore ignored: `text/plain` of any version is Prometheus text.

use serde::Serialize;
use std::fmt;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain`).
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

impl Format {
    /// The format a Content-Type header value names, or `None` for any other media type.
    ///
    /// Parameters (`version`, `charset`, `escaping`) are ignored; see the module docs for why.
    pub fn from_content_type(value: &str) -> Option<Format> {
        let media_type = value.split(';').next().unwrap_or_default().trim();
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Format::OpenMetrics)
        } else if media_type.eq_ignore_ascii_case("text/plain") {
            Some(Format::Prometheus)
        } else {
            None
        }
    }

    /// Guesses from the body alone: OpenMetrics if its last line is `# EOF`, which every
    /// complete OpenMetrics exposition ends with and 0.0.4 has no reason to write.
    ///
    /// A truncated OpenMetrics body is therefore taken for 0.0.4; pass the header when there is one.
    pub fn sniff(body: &[u8]) -> Format {
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let last_line = match memchr::memrchr(b'\n', body) {
            Some(newline) => body.get(newline + 1..).unwrap_or_default(),
            None => body,
        };
        if last_line == b"# EOF" {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// The header's format when it names one, else [`Format::sniff`] of the body.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> Format {
        content_type
            .and_then(Format::from_content_type)
            .unwrap_or_else(|| Format::sniff(body))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Prometheus => "prometheus",
            Format::OpenMetrics => "openmetrics",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
