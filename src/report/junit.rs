//! The JUnit XML report (`--format junit`), for CI systems that show test results.
//!
//! One `<testsuite>` per domain (in the table's domain order), one `<testcase>` per finding,
//! named `CODE POINTER` so a case keeps its name from one run to the next and CI can track it;
//! the class name is `modelspec.<metadata.name>` (`modelspec.node` for findings about the node
//! across several specs).
//!
//! JUnit knows pass, failure, error and skipped; ModelSpec has five statuses. The mapping follows
//! `--fail-on`, so that the XML fails exactly the findings that fail the scan's exit code:
//! - `fail` is a `<failure type="drift">`, with declared, observed, the rule and the remedy in
//!   the body.
//! - `warn` passes, its message in `<system-out>` (JUnit has no warning, and a warning is not a
//!   breach of the contract); with `--fail-on warn` it is a `<failure type="warning">`.
//! - `unknown` is `<skipped message="unknown: ...">`: not observed is not a test error (an
//!   error means the test itself broke), and it must stay visible rather than pass; with
//!   `--fail-on unknown` it is a `<failure type="unknown">`.
//! - `skip` is `<skipped message="...">`.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value as Json;

use super::{FailOn, Report};
use crate::check::{Domain, Finding, Status};

/// How to map statuses.
#[derive(Debug, Clone, Copy, Default)]
pub struct JunitOptions {
    /// The scan's bar: statuses at or above it are failures.
    pub fail_on: FailOn,
}

/// How one finding appears in JUnit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

fn outcome(status: Status, fail_on: FailOn) -> Outcome {
    match (status, fail_on) {
        (Status::Pass, _) => Outcome::Passed,
        (Status::Fail, _) | (Status::Warn, FailOn::Warn | FailOn::Unknown) | (Status::Unknown, FailOn::Unknown) => {
            Outcome::Failed
        }
        (Status::Warn, FailOn::Fail) => Outcome::Passed,
        (Status::Unknown, FailOn::Fail | FailOn::Warn) | (Status::Skip | Status::Waived, _) => Outcome::Skipped,
    }
}

/// Writes the report as one `<testsuites>` document.
pub fn render(out: &mut impl Write, report: &Report, options: JunitOptions) -> std::io::Result<()> {
    let mut domains: BTreeMap<Domain, Vec<(String, &Finding)>> = BTreeMap::new();
    for section in &report.specs {
        for f in &section.findings {
            let class = format!("modelspec.{}", section.spec.name);
            domains.entry(f.domain).or_default().push((class, f));
        }
    }
    for f in &report.node {
        domains.entry(f.domain).or_default().push(("modelspec.node".into(), f));
    }
    let count = |cases: &[(String, &Finding)], want: Outcome| {
        cases
            .iter()
            .filter(|(_, f)| outcome(f.status, options.fail_on) == want)
            .count()
    };
    let all: Vec<(String, &Finding)> = domains.values().flatten().cloned().collect();

    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="modelspec" tests="{}" failures="{}" errors="0" skipped="{}">"#,
        all.len(),
        count(&all, Outcome::Failed),
        count(&all, Outcome::Skipped)
    )?;
    for (domain, cases) in &domains {
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="{}" hostname="{}" timestamp="{}">"#,
            domain.as_str(),
            cases.len(),
            count(cases, Outcome::Failed),
            count(cases, Outcome::Skipped),
            escape(&report.target_host),
            escape(timestamp(&report.started_at)),
        )?;
        for (class, f) in cases {
            case(out, class, f, options.fail_on)?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// JUnit's `timestamp` is an ISO 8601 time without a zone (the schema's `xs:dateTime` pattern
/// that most readers use); ours is UTC with a `Z`.
fn timestamp(rfc3339: &str) -> &str {
    rfc3339.strip_suffix('Z').unwrap_or(rfc3339)
}

fn case(out: &mut impl Write, class: &str, f: &Finding, fail_on: FailOn) -> std::io::Result<()> {
    let open = format!(
        r#"    <testcase name="{}" classname="{}""#,
        escape(&format!("{} {}", f.code, f.pointer)),
        escape(class)
    );
    match outcome(f.status, fail_on) {
        Outcome::Passed if f.status == Status::Warn => {
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                "      <system-out>{}</system-out>",
                text(&format!("warning: {}\n{}", f.message, details(f)))
            )?;
        }
        Outcome::Passed => return writeln!(out, "{open}/>"),
        Outcome::Failed => {
            let kind = match f.status {
                Status::Warn => "warning",
                Status::Unknown => "unknown",
                _ => "drift",
            };
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                r#"      <failure message="{}" type="{kind}">{}</failure>"#,
                escape(&f.message),
                text(&details(f))
            )?;
        }
        Outcome::Skipped => {
            let message = match f.status {
                Status::Unknown => format!("unknown: {}", f.message),
                Status::Waived => match &f.waiver {
                    Some(w) => format!(
                        "waived ({} accepted by {} until {}: {}): {}",
                        w.status.as_str(),
                        w.owner,
                        w.expires,
                        w.reason,
                        f.message
                    ),
                    None => format!("waived: {}", f.message),
                },
                _ => f.message.clone(),
            };
            writeln!(out, "{open}>")?;
            writeln!(out, r#"      <skipped message="{}"/>"#, escape(&message))?;
        }
    }
    writeln!(out, "    </testcase>")
}

/// What a reader of a failed case needs besides the message: declared against observed, the
/// rule and what to do.
fn details(f: &Finding) -> String {
    let mut s = format!(
        "declared: {}\nobserved: {}\nrule: {}\nprobe: {}",
        value(&f.declared),
        value(&f.observed),
        f.evidence.rule,
        f.evidence.probe,
    );
    if let Some(remedy) = &f.remediation {
        s.push_str("\nremediation: ");
        s.push_str(remedy);
    }
    s
}

/// A JSON value for people: strings without quotes.
fn value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Text escaped for XML 1.0 element content and (double- or single-quoted) attribute values.
/// Characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD;
/// tab, line feed and carriage return are written as character references so that attribute
/// normalization keeps them.
fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\t' => s.push_str("&#9;"),
            '\n' => s.push_str("&#10;"),
            '\r' => s.push_str("&#13;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => s.push('\u{fffd}'),
            c => s.push(c),
        }
    }
    s
}

/// Element content: as [`escape`], but line feeds and tabs stay as they are, so that the body
/// reads as lines in a CI log.
fn text(text: &str) -> String {
    escape(text).replace("&#10;", "\n").replace("&#9;", "\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_special_and_invalid_characters_are_escaped() {
        assert_eq!(
            escape("a&b<c>d\"e'f\u{1}g\nh"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f\u{fffd}g&#10;h"
        );
        assert_eq!(text("a\n\tb&#10;"), "a\n\tb&amp;#10;");
    }

    #[test]
    fn statuses_follow_the_fail_on_bar() {
        use Outcome::*;
        let row = |fail_on| {
            [Status::Pass, Status::Fail, Status::Warn, Status::Unknown, Status::Skip].map(|s| outcome(s, fail_on))
        };
        assert_eq!(row(FailOn::Fail), [Passed, Failed, Passed, Skipped, Skipped]);
        assert_eq!(row(FailOn::Warn), [Passed, Failed, Failed, Skipped, Skipped]);
        assert_eq!(row(FailOn::Unknown), [Passed, Failed, Failed, Failed, Skipped]);
    }
}
