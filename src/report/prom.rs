//! The Prometheus textfile report (`--format prom`), for node_exporter's textfile collector.
//!
//! Why these families: a dashboard or alert wants "which checks fail on which node" and "how
//! many of each status", and whether the last scan is recent. So there is one series per
//! finding (value 1, the status a label) rather than one per finding *and* status: a finding
//! has one status, and series with value 0 for the other four would quintuple the cardinality
//! for nothing. Skipped findings are left out by default (they are most of a spec's
//! governance fields and never change on their own); their number is still in
//! `modelspec_findings`.
//!
//! node_exporter refuses a whole textfile when one series appears twice, so label sets are
//! de-duplicated (two documents with one `metadata.name` add up under that name). Findings about
//! the node across several specs carry `spec=""`, which Prometheus reads as no `spec` label.
//!
//! `modelspec_scan_success` says whether the scan saw what it planned to (every probe answered
//! before the deadline), not whether the node conforms: drift has its own series, and an alert
//! on a hung driver must not fire for every drifting node, nor hide behind one.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use super::{Report, Summary};
use crate::check::{Finding, Status};
use crate::waivers::WaiverState;

/// What to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct PromOptions {
    /// Write a `modelspec_check` series for `skip` findings too.
    pub show_skipped: bool,
}

/// Writes the report as Prometheus text exposition format (version 0.0.4).
pub fn render(out: &mut impl Write, report: &Report, options: PromOptions) -> std::io::Result<()> {
    // (spec, code, pointer, status): a set, so a repeated label set is written once.
    let mut checks: BTreeSet<(&str, &str, &str, Status)> = BTreeSet::new();
    let mut counts: BTreeMap<&str, Summary> = BTreeMap::new();
    let sections = report
        .specs
        .iter()
        .map(|s| (s.spec.name.as_str(), s.findings.as_slice()))
        .chain((!report.node.is_empty()).then_some(("", report.node.as_slice())));
    for (spec, findings) in sections {
        counts.entry(spec).or_default().add(&Summary::of(findings));
        for Finding {
            code, pointer, status, ..
        } in findings
        {
            if *status != Status::Skip || options.show_skipped {
                checks.insert((spec, code, pointer, *status));
            }
        }
    }

    family(
        out,
        "modelspec_check",
        "One series per finding of the last scan; the status is a label.",
    )?;
    for (spec, code, pointer, status) in &checks {
        writeln!(
            out,
            "modelspec_check{{spec=\"{}\",code=\"{}\",pointer=\"{}\",status=\"{}\"}} 1",
            escape(spec),
            escape(code),
            escape(pointer),
            status.as_str()
        )?;
    }

    family(
        out,
        "modelspec_findings",
        "Findings of the last scan by spec and status.",
    )?;
    for (spec, s) in &counts {
        for (status, n) in s.counts() {
            writeln!(
                out,
                "modelspec_findings{{spec=\"{}\",status=\"{}\"}} {n}",
                escape(spec),
                status.as_str()
            )?;
        }
    }

    // The times come from our own clock and always parse; should one not (a report read back
    // from elsewhere), its series is left out rather than written as a wrong number.
    let started = unix_nanos(&report.started_at);
    let finished = unix_nanos(&report.finished_at);
    if let Some(finished) = finished {
        family(
            out,
            "modelspec_scan_timestamp_seconds",
            "When the last scan finished, in Unix seconds.",
        )?;
        writeln!(out, "modelspec_scan_timestamp_seconds {}", seconds(finished))?;
    }
    if let (Some(started), Some(finished)) = (started, finished) {
        family(out, "modelspec_scan_duration_seconds", "How long the last scan took.")?;
        writeln!(out, "modelspec_scan_duration_seconds {}", seconds(finished - started))?;
    }
    if let Some(waivers) = &report.waivers {
        family(
            out,
            "modelspec_waivers",
            "Waivers given to the last scan by state: applied, expired (past their last day), unused.",
        )?;
        for state in [WaiverState::Applied, WaiverState::Expired, WaiverState::Unused] {
            let n = waivers.outcomes.iter().filter(|o| o.state == state).count();
            writeln!(out, "modelspec_waivers{{state=\"{}\"}} {n}", state.as_str())?;
        }
    }
    family(
        out,
        "modelspec_scan_success",
        "1 when every probe of the last scan answered in time, else 0 (drift is counted in modelspec_findings).",
    )?;
    writeln!(
        out,
        "modelspec_scan_success {}",
        u8::from(report.unanswered_probes.is_empty())
    )
}

/// The HELP and TYPE lines of a gauge.
fn family(out: &mut impl Write, name: &str, help: &str) -> std::io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} gauge")
}

/// A label value as the exposition format wants it: backslash, double quote and line feed
/// escaped.
fn escape(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Nanoseconds as decimal seconds, without trailing zeros (`1795636841.091`).
fn seconds(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let nanos = nanos.unsigned_abs();
    let (whole, frac) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let frac = format!("{frac:09}");
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

/// RFC 3339 UTC as nanoseconds since the epoch (the probes' own clock format, read back).
pub(crate) use modelspec_probe_support::unix_nanos;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_become_unix_seconds() {
        assert_eq!(unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_nanos("2026-11-25T20:00:41.091Z").map(seconds).as_deref(),
            Some("1795636841.091")
        );
        assert_eq!(unix_nanos("2000-02-29T12:00:00+00:00"), Some(951_825_600_000_000_000));
        assert_eq!(unix_nanos("1969-12-31T23:59:59Z"), Some(-1_000_000_000));
        for bad in [
            "",
            "2026-11-25",
            "2026-11-25T20:00:41+02:00",
            "2026-13-01T00:00:00Z",
            "2026-11-25T20:00:41.Z",
        ] {
            assert_eq!(unix_nanos(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_keep_their_fraction() {
        assert_eq!(seconds(1_500_000_000), "1.5");
        assert_eq!(seconds(2_000_000_000), "2");
        assert_eq!(seconds(-250_000_000), "-0.25");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
