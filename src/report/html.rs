//! The HTML audit report (`--format html`): one self-contained page to attach to a change or an
//! audit, readable on screen and on paper, with three charts drawn as inline SVG.
//!
//! It says what the [Markdown report](super::markdown) says, in the same order and with the
//! same split of skips into "To attest by hand" and "Not checked", and adds pictures of what
//! the report already holds: findings per domain, the latency histogram against the SLO, and
//! GPU memory per device. Like every renderer it computes no verdict; it only lays out the
//! [`Report`].
//!
//! The page depends on nothing outside itself: no script, no web font, no image by URL, one
//! inline stylesheet. An audit file may be opened years later, offline, from a mail archive,
//! so it cannot rely on a CDN, and a reviewer should not have to trust a script to read it.
//!
//! Every string from the report (spec names, messages, evidence, paths) is untrusted: a spec
//! is a user file and evidence echoes what a server answered. All of it goes through [`Esc`],
//! which escapes HTML's special characters in text and attributes alike and shows control and
//! bidirectional-override characters as visible escapes, so no value can open a tag, end an
//! attribute, or reorder what a reviewer reads.
//!
//! Where the data a chart needs is missing (no histogram, no GPU memory, no serving process)
//! the page says so in words instead of drawing a guess.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;

use modelspec_probe_gpu::{DeviceFacts, NvmlState};
use serde_json::Value as Json;

use super::{Report, SpecSection, Summary};
use crate::check::{Domain, Finding, Status, accelerator, metrics};
use crate::observe::ProbeOutcome;

/// Writes the audit report.
/// Inline styles, nothing else: no script, no fetch of any kind (`default-src 'none'`), no
/// form or base URL. The page is built without any of them; the policy keeps it so even when
/// edited, or when a value slips through escaping. The fleet page uses the same.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

pub fn render(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let title = report.audit_title();
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>ModelSpec audit: {} on {}</title>",
        Esc(&title),
        Esc(&report.target_host)
    )?;
    writeln!(out, "<style>{CSS}</style>\n</head>\n<body>\n<main>")?;
    writeln!(
        out,
        "<h1>ModelSpec audit: {} on {}</h1>",
        Esc(&title),
        Esc(&report.target_host)
    )?;
    writeln!(
        out,
        "<p class=\"meta\">Scanned by modelspec {} from {} to {}.</p>",
        Esc(&report.tool_version),
        Esc(&report.started_at),
        Esc(&report.finished_at)
    )?;

    writeln!(out, "<section>\n<h2>Summary</h2>")?;
    summary_tiles(out, &report.summary)?;
    writeln!(
        out,
        "<p class=\"drift\">Drift: <strong>{}</strong>.</p>",
        if report.summary.fail == 0 { "none" } else { "yes" }
    )?;
    writeln!(out, "<h3>Findings per domain</h3>")?;
    let everything: Vec<&Finding> = report
        .specs
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(report.node.iter())
        .collect();
    domain_chart(out, &everything)?;
    writeln!(out, "</section>")?;
    drifted(out, report)?;

    for section in &report.specs {
        spec(out, section)?;
    }
    if !report.node.is_empty() {
        writeln!(out, "<section>\n<h2>Node: across the specs</h2>")?;
        findings(out, &report.node)?;
        writeln!(out, "</section>")?;
    }

    writeln!(out, "<section>\n<h2>GPU memory</h2>")?;
    gpu_memory(out, report)?;
    writeln!(out, "</section>")?;

    waivers(out, report)?;
    hashes(out, report)?;
    writeln!(out, "</main>\n</body>\n</html>")
}

// ---------------------------------------------------------------------------------------------
// Statuses: the one place that knows them.

/// How a status looks: its word and four colours (bar fill, text on the bar, text on a tint,
/// the tint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    pub(crate) label: &'static str,
    pub(crate) bar: &'static str,
    pub(crate) on_bar: &'static str,
    pub(crate) ink: &'static str,
    pub(crate) tint: &'static str,
}

/// The look of each status. A new status is one line here (and one in [`tally`] once
/// [`Summary`] counts it); everything else on the page follows from these two.
pub(crate) fn look(s: Status) -> Look {
    let (bar, on_bar, ink, tint) = match s {
        Status::Pass => ("#2e9e5b", "#ffffff", "#17613a", "#e2f3e8"),
        Status::Fail => ("#d1373f", "#ffffff", "#99161d", "#fbe3e4"),
        Status::Warn => ("#e3a21a", "#3a2700", "#6e4a00", "#fcf0d4"),
        Status::Unknown => ("#7d72d4", "#ffffff", "#443a9a", "#ecebfa"),
        Status::Skip => ("#b9c0c8", "#2b3138", "#4b535d", "#eef0f2"),
        Status::Waived => ("#3b8fb5", "#ffffff", "#1d5670", "#e1f0f7"),
    };
    Look {
        label: s.as_str(),
        bar,
        on_bar,
        ink,
        tint,
    }
}

/// A status word as a coloured badge.
pub(crate) fn badge(out: &mut impl Write, s: Status) -> std::io::Result<()> {
    look_badge(out, look(s))
}

/// A look's word as a badge in its colours (the fleet report's node states use it too).
pub(crate) fn look_badge(out: &mut impl Write, l: Look) -> std::io::Result<()> {
    write!(
        out,
        "<span class=\"badge\" style=\"color:{};background:{};border-color:{}\">{}</span>",
        l.ink, l.tint, l.bar, l.label
    )
}

fn summary_tiles(out: &mut impl Write, s: &Summary) -> std::io::Result<()> {
    writeln!(out, "<div class=\"tiles\">")?;
    for (status, count) in s.counts() {
        tile(out, look(status), count)?;
    }
    writeln!(out, "</div>")
}

/// One count in a summary tile, with the look's word under it.
pub(crate) fn tile(out: &mut impl Write, l: Look, count: usize) -> std::io::Result<()> {
    writeln!(
        out,
        "<div class=\"tile\" style=\"background:{};border-color:{};color:{}\"><span class=\"n\">{count}</span><span>{}</span></div>",
        l.tint, l.bar, l.ink, l.label
    )
}

// ---------------------------------------------------------------------------------------------
// Sections.

/// "What drifted": fail, warn, unknown, then waived ([`super::drift_first`]), before the
/// complete findings, as in the Markdown report.
fn drifted(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(out, "<section class=\"drifted\">\n<h2>What drifted</h2>")?;
    let drifted = report.drifted();
    if drifted.is_empty() {
        writeln!(
            out,
            "<p class=\"note\">Nothing drifted: no finding failed, warned, went unobserved or was waived.</p>"
        )?;
        return writeln!(out, "</section>");
    }
    writeln!(
        out,
        "<table class=\"drifted\"><thead><tr><th>Status</th><th>Spec</th><th>Check and field</th><th>Declared</th><th>Observed</th><th>What it says and what to do</th></tr></thead><tbody>"
    )?;
    for (spec, f) in drifted {
        write!(out, "<tr><td>")?;
        badge(out, f.status)?;
        if let Some(w) = &f.waiver {
            write!(out, "<div class=\"was\">was {}</div>", Esc(w.status.as_str()))?;
        }
        write!(
            out,
            "</td><td>{}</td><td><code class=\"check\">{}</code> <code class=\"ptr\">{}</code></td><td>{}</td><td>{}</td><td><div>{}</div>",
            Esc(spec.map_or("(node)", |s| s.name.as_str())),
            Esc(&f.code),
            Esc(&f.pointer),
            Esc(&super::human::short(&f.declared, SHORT)),
            Esc(&super::human::short(&f.observed, SHORT)),
            Esc(&f.message)
        )?;
        if let Some(w) = &f.waiver {
            write!(
                out,
                "<div>Waived by {} until {}: {}</div>",
                Esc(&w.owner),
                Esc(&w.expires),
                Esc(&w.reason)
            )?;
        }
        if let Some(r) = &f.remediation {
            write!(out, "<div class=\"fix\">{}</div>", Esc(r))?;
        }
        writeln!(out, "</td></tr>")?;
    }
    writeln!(out, "</tbody></table>\n</section>")
}

/// How many characters of a declared or observed value "What drifted" shows; the finding's
/// card below shows it whole.
const SHORT: usize = 60;

fn spec(out: &mut impl Write, section: &SpecSection) -> std::io::Result<()> {
    let info = &section.spec;
    writeln!(out, "<section>\n<h2>Spec: {}</h2>", Esc(&info.name))?;
    writeln!(out, "<table class=\"kv\">")?;
    row(out, "Name", &info.name)?;
    if let Some(version) = &info.version {
        row(out, "Version", version)?;
    }
    if !info.labels.is_empty() {
        let labels: Vec<String> = info.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        row(out, "Labels", &labels.join(", "))?;
    }
    // Governance is in the spec, not the report: its declared values ride on the skip
    // findings that coverage gives every governance field (see the module doc of markdown).
    for (suffix, name) in [
        ("/owner", "Owner (declared)"),
        ("/changeApproval", "Change approval (declared)"),
    ] {
        let declared = section
            .findings
            .iter()
            .find(|f| f.domain == Domain::Governance && f.pointer.ends_with(suffix));
        if let Some(f) = declared {
            row(out, name, &super::human::value(&f.declared))?;
        }
    }
    row(out, "File", &info.path)?;
    if info.document > 1 {
        row(out, "Document", &info.document.to_string())?;
    }
    row(out, "SHA-256", &info.sha256)?;
    writeln!(out, "</table>")?;
    writeln!(out, "<h3>Summary</h3>")?;
    summary_tiles(out, &section.summary)?;
    writeln!(out, "<h3>Latency against the SLO</h3>")?;
    latency(out, section)?;
    findings(out, &section.findings)?;
    writeln!(out, "</section>")
}

fn row(out: &mut impl Write, name: &str, value: &str) -> std::io::Result<()> {
    writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", Esc(name), Esc(value))
}

/// Judged findings by domain, then the skips to attest, then the rest of the skips.
fn findings(out: &mut impl Write, all: &[Finding]) -> std::io::Result<()> {
    let mut domains: BTreeMap<Domain, Vec<&Finding>> = BTreeMap::new();
    let (mut attest, mut unchecked) = (Vec::new(), Vec::new());
    for f in all {
        match f.status {
            Status::Skip if to_attest(f) => attest.push(f),
            Status::Skip => unchecked.push(f),
            _ => domains.entry(f.domain).or_default().push(f),
        }
    }
    writeln!(out, "<h3>Findings</h3>")?;
    if domains.is_empty() {
        writeln!(out, "<p class=\"note\">No field was judged.</p>")?;
    }
    for (domain, fs) in &domains {
        writeln!(out, "<h4>{}</h4>", domain.as_str())?;
        for f in fs {
            finding(out, f)?;
        }
    }
    if !attest.is_empty() {
        writeln!(out, "<h3>To attest by hand</h3>")?;
        writeln!(
            out,
            "<p>Declared, but not observable on a node: someone has to confirm these.</p>"
        )?;
        skips(out, &attest, true)?;
    }
    if !unchecked.is_empty() {
        writeln!(out, "<h3>Not checked</h3>")?;
        skips(out, &unchecked, false)?;
    }
    Ok(())
}

/// One judged finding as a card that page breaks do not split.
fn finding(out: &mut impl Write, f: &Finding) -> std::io::Result<()> {
    writeln!(
        out,
        "<article class=\"finding\" style=\"border-left-color:{}\">",
        look(f.status).bar
    )?;
    write!(out, "<header>")?;
    badge(out, f.status)?;
    writeln!(
        out,
        " <code class=\"check\">{}</code> <code class=\"ptr\">{}</code></header>",
        Esc(&f.code),
        Esc(&f.pointer)
    )?;
    writeln!(out, "<p class=\"msg\">{}</p>", Esc(&f.message))?;
    writeln!(out, "<dl>")?;
    for (name, v) in [("Declared", &f.declared), ("Observed", &f.observed)] {
        if !v.is_null() {
            writeln!(out, "<dt>{name}</dt><dd>{}</dd>", Esc(&super::human::value(v)))?;
        }
    }
    if let Some(r) = &f.remediation {
        writeln!(out, "<dt>Remediation</dt><dd class=\"fix\">{}</dd>", Esc(r))?;
    }
    if let Some(w) = &f.waiver {
        writeln!(
            out,
            "<dt>Waiver</dt><dd>{} accepted by {} until {}: {}</dd>",
            Esc(w.status.as_str()),
            Esc(&w.owner),
            Esc(&w.expires),
            Esc(&w.reason)
        )?;
    }
    write!(
        out,
        "<dt>Evidence</dt><dd>probe <code>{}</code>",
        Esc(&f.evidence.probe)
    )?;
    if !f.evidence.rule.is_empty() {
        write!(out, "; rule: {}", Esc(&f.evidence.rule))?;
    }
    writeln!(out, "</dd>")?;
    if !f.evidence.raw.is_null() {
        // The whole value: an audit wants it, and the box scrolls on screen, not on paper.
        writeln!(
            out,
            "<dt>Raw</dt><dd><pre class=\"raw\">{}</pre></dd>",
            Esc(&f.evidence.raw.to_string())
        )?;
    }
    writeln!(out, "</dl>\n</article>")
}

fn skips(out: &mut impl Write, fs: &[&Finding], attest: bool) -> std::io::Result<()> {
    let class = if attest { "skips attest" } else { "skips" };
    writeln!(out, "<table class=\"{class}\">")?;
    writeln!(
        out,
        "<thead><tr><th>Field</th><th>Declared</th><th>Why</th></tr></thead><tbody>"
    )?;
    for f in fs {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            Esc(&f.pointer),
            Esc(&super::human::value(&f.declared)),
            Esc(&f.message)
        )?;
    }
    writeln!(out, "</tbody></table>")
}

use super::to_attest;

fn hashes(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(out, "<section class=\"hashes\">\n<h2>Hashes</h2>")?;
    writeln!(
        out,
        "<table><thead><tr><th>Spec</th><th>Document</th><th>SHA-256</th></tr></thead><tbody>"
    )?;
    for section in &report.specs {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            Esc(&section.spec.path),
            section.spec.document,
            Esc(&section.spec.sha256)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(out, "<table class=\"kv\">")?;
    for (name, value) in super::scan_rows(report) {
        row(out, name, &value)?;
    }
    writeln!(out, "</table>")?;
    if report.provenance.is_some() {
        writeln!(
            out,
            "<p class=\"note\"><code>modelspec verify REPORT.json</code> recomputes these hashes from the JSON report of this scan and derives its findings again.</p>"
        )?;
    }
    writeln!(out, "</section>")
}

/// The waiver file's entries and what became of each.
fn waivers(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let Some(waivers) = &report.waivers else {
        return Ok(());
    };
    writeln!(out, "<section class=\"waivers\">\n<h2>Waivers</h2>")?;
    writeln!(
        out,
        "<p>From <code>{}</code>. An expired waiver no longer applies: its finding counts again. An unused one matched no drift.</p>",
        Esc(&waivers.path)
    )?;
    writeln!(
        out,
        "<table><thead><tr><th>State</th><th>Check</th><th>Field</th><th>Spec</th><th>Owner</th><th>Expires</th><th>Findings</th><th>Reason</th></tr></thead><tbody>"
    )?;
    for o in &waivers.outcomes {
        let w = &o.waiver;
        writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            o.state.as_str(),
            Esc(&w.code),
            Esc(&w.pointer),
            Esc(w.spec.as_deref().unwrap_or("any")),
            Esc(&w.owner),
            Esc(&w.expires),
            o.findings,
            Esc(&w.reason)
        )?;
    }
    writeln!(out, "</tbody></table>\n</section>")
}

// ---------------------------------------------------------------------------------------------
// Chart 1: findings per domain.

/// Width of every chart, px: the page's text column, so charts line up with the tables.
pub(crate) const CHART_W: f64 = 960.0;

fn domain_chart(out: &mut impl Write, all: &[&Finding]) -> std::io::Result<()> {
    let mut rows: BTreeMap<Domain, BTreeMap<Status, usize>> = BTreeMap::new();
    for f in all {
        *rows.entry(f.domain).or_default().entry(f.status).or_default() += 1;
    }
    if rows.is_empty() {
        return writeln!(out, "<p class=\"note\">No findings to draw.</p>");
    }
    let bars: Vec<StackedBar<'_>> = rows
        .iter()
        .map(|(domain, counts)| (domain.as_str(), counts.iter().map(|(s, n)| (look(*s), *n)).collect()))
        .collect();
    stacked_bars(out, "Findings per domain, by status", 120.0, &bars)?;
    let shown: BTreeSet<Status> = rows.values().flat_map(|r| r.keys().copied()).collect();
    legend(
        out,
        shown.iter().map(|s| {
            let l = look(*s);
            (l.bar, l.label.to_string())
        }),
    )
}

/// One bar of a stacked bar chart: its label, and its segments as (look, count).
pub(crate) type StackedBar<'a> = (&'a str, Vec<(Look, usize)>);

/// Horizontal stacked bars, one per row, scaled to the longest: each segment in its look's
/// colour with its count inside when it fits, the row's total after it. A label longer than
/// `label_w` holds is cut, with the whole of it as the tooltip. The fleet report draws its
/// nodes by state with it.
pub(crate) fn stacked_bars(
    out: &mut impl Write,
    aria: &str,
    label_w: f64,
    bars: &[StackedBar<'_>],
) -> std::io::Result<()> {
    let most = bars
        .iter()
        .map(|(_, r)| r.iter().map(|(_, n)| n).sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1);
    let (row_h, top) = (28.0, 8.0);
    let bar_w = CHART_W - label_w - 60.0;
    let height = top + row_h * bars.len() as f64 + 8.0;
    // About 7 px a character at the chart's 12 px font.
    let fits = ((label_w - 12.0) / 7.0).max(4.0) as usize;
    writeln!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {CHART_W} {height:.0}\" width=\"{CHART_W}\" height=\"{height:.0}\" role=\"img\" aria-label=\"{}\">",
        Esc(aria)
    )?;
    for (i, (label, segments)) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"axis\">",
            label_w - 8.0,
            y + row_h / 2.0 + 4.0,
        )?;
        if label.chars().count() > fits {
            let cut: String = label.chars().take(fits - 1).collect();
            writeln!(out, "<title>{}</title>{}…</text>", Esc(label), Esc(&cut))?;
        } else {
            writeln!(out, "{}</text>", Esc(label))?;
        }
        let mut x = label_w;
        for (l, n) in segments.iter().filter(|(_, n)| *n > 0) {
            let w = bar_w * *n as f64 / most as f64;
            writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {n} {}</title></rect>",
                y + 4.0,
                row_h - 8.0,
                l.bar,
                Esc(label),
                l.label
            )?;
            if w >= 18.0_f64.max(7.0 * n.to_string().len() as f64) {
                writeln!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"in-bar\" style=\"fill:{}\">{n}</text>",
                    x + w / 2.0,
                    y + row_h / 2.0 + 4.0,
                    l.on_bar
                )?;
            }
            x += w;
        }
        writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\">{}</text>",
            x + 6.0,
            y + row_h / 2.0 + 4.0,
            segments.iter().map(|(_, n)| n).sum::<usize>()
        )?;
    }
    writeln!(out, "</svg>")
}

/// A legend under a chart: coloured swatches with their meaning.
pub(crate) fn legend<'a>(
    out: &mut impl Write,
    entries: impl Iterator<Item = (&'a str, String)>,
) -> std::io::Result<()> {
    write!(out, "<p class=\"legend\">")?;
    for (colour, label) in entries {
        write!(out, "<span><i style=\"background:{colour}\"></i>{}</span>", Esc(&label))?;
    }
    writeln!(out, "</p>")
}

// ---------------------------------------------------------------------------------------------
// Chart 2: the latency histogram against the SLO.

/// One histogram bucket: requests (or a rate) in (previous bound, `le`], seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    le: f64,
    count: f64,
}

/// The latency-p95 finding's histogram: its cumulative buckets, as the check recorded them in
/// the evidence (`raw.buckets`), made per-bucket. `None` when there is none to draw.
fn histogram(f: &Finding) -> Option<Vec<Bucket>> {
    let mut cumulative = Vec::new();
    for b in f.evidence.raw.get("buckets")?.as_array()? {
        let le = match b.get("le")? {
            Json::String(s) if s == "+Inf" => f64::INFINITY,
            Json::String(s) => s.parse::<f64>().ok().filter(|v| v.is_finite())?,
            other => other.as_f64()?,
        };
        let count = b.get("count")?.as_f64().filter(|c| c.is_finite())?;
        cumulative.push((le, count));
    }
    cumulative.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut before = 0.0;
    let buckets: Vec<Bucket> = cumulative
        .into_iter()
        .map(|(le, c)| {
            // A count that goes down is not a histogram; draw nothing below zero.
            let count = (c - before).max(0.0);
            before = c.max(before);
            Bucket { le, count }
        })
        .collect();
    let total: f64 = buckets.iter().map(|b| b.count).sum();
    (total > 0.0 && total.is_finite()).then_some(buckets)
}

fn latency(out: &mut impl Write, section: &SpecSection) -> std::io::Result<()> {
    let Some(f) = section.findings.iter().find(|f| f.code == metrics::LATENCY_P95.code) else {
        return writeln!(
            out,
            "<p class=\"note\">No latency histogram observed: the spec declares no <code>targetLatencyMsP95</code>.</p>"
        );
    };
    let Some(buckets) = histogram(f) else {
        write!(out, "<p class=\"note\">No latency histogram observed. ")?;
        badge(out, f.status)?;
        return writeln!(out, " {}</p>", Esc(&f.message));
    };
    let target_ms = f.declared.as_f64().filter(|t| t.is_finite() && *t >= 0.0);
    let p95_upper_ms = match f.observed.get("p95_upper_ms") {
        Some(Json::Null) if f.observed.get("p95_lower_ms").is_some() => Some(f64::INFINITY),
        Some(v) => v.as_f64(),
        None => None,
    };
    let total: f64 = buckets.iter().map(|b| b.count).sum();
    let tallest = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
    let (left, right, top, plot_h) = (64.0, 24.0, 40.0, 170.0);
    let plot_w = CHART_W - left - right;
    let slot = plot_w / buckets.len() as f64;
    // Label every bucket while they fit; thin them out when there are many.
    let every = (buckets.len() as f64 * 64.0 / plot_w).ceil().max(1.0) as usize;
    let height = top + plot_h + 54.0;
    writeln!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {CHART_W} {height:.0}\" width=\"{CHART_W}\" height=\"{height:.0}\" role=\"img\" aria-label=\"Latency histogram against the p95 target\">"
    )?;
    let base = top + plot_h;
    writeln!(
        out,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" class=\"axis-line\"/>",
        left + plot_w
    )?;
    writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"axis\">{:.0}%</text>",
        left - 6.0,
        top + 4.0,
        100.0 * tallest / total
    )?;
    writeln!(
        out,
        "<text x=\"12\" y=\"{:.1}\" text-anchor=\"middle\" class=\"axis\" transform=\"rotate(-90 12 {:.1})\">share of requests</text>",
        top + plot_h / 2.0,
        top + plot_h / 2.0
    )?;
    writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"axis\">0%</text>",
        left - 6.0,
        base + 4.0
    )?;
    let mut lower_ms = 0.0;
    for (i, b) in buckets.iter().enumerate() {
        let upper_ms = b.le * 1000.0;
        let h = if tallest > 0.0 { plot_h * b.count / tallest } else { 0.0 };
        let x = left + slot * i as f64;
        let is_p95 = p95_upper_ms.is_some_and(|u| same_bound(u, upper_ms));
        let (fill, label) = if is_p95 {
            ("#3b6fd4", "the p95 bucket")
        } else {
            ("#9db7e6", "bucket")
        };
        let range = if upper_ms.is_infinite() {
            format!("over {}", ms(lower_ms))
        } else {
            format!("{} to {}", ms(lower_ms), ms(upper_ms))
        };
        writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"><title>{label} {range}: {:.1}% of requests</title></rect>",
            x + slot * 0.1,
            base - h,
            slot * 0.8,
            100.0 * b.count / total
        )?;
        if slot >= 36.0 && b.count > 0.0 {
            writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"axis\">{}%</text>",
                x + slot / 2.0,
                base - h - 4.0,
                trim((1000.0 * b.count / total).round() / 10.0)
            )?;
        }
        if i % every == 0 || i + 1 == buckets.len() {
            let tick = if upper_ms.is_infinite() {
                format!("&gt;{}", ms(lower_ms))
            } else {
                format!("≤{}", ms(upper_ms))
            };
            writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"axis\">{tick}</text>",
                x + slot / 2.0,
                base + 16.0
            )?;
        }
        lower_ms = upper_ms;
    }
    if let Some(target) = target_ms {
        let x = left + slot * slot_position(&buckets, target);
        writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{base:.1}\" class=\"slo\"/>",
            top - 24.0
        )?;
        let anchor = if x > left + plot_w * 0.7 { "end" } else { "start" };
        let dx = if anchor == "end" { -5.0 } else { 5.0 };
        writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" class=\"slo-label\">SLO p95 ≤ {}</text>",
            x + dx,
            top - 26.0,
            ms(target)
        )?;
    }
    writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"axis\">end-to-end latency bucket (bucket widths are not to scale)</text>",
        left + plot_w / 2.0,
        base + 40.0
    )?;
    writeln!(out, "</svg>")?;
    legend(
        out,
        [
            ("#9db7e6", "share of requests per bucket".to_string()),
            ("#3b6fd4", "the bucket holding the p95".to_string()),
            ("#d1373f", "the declared p95 target".to_string()),
        ]
        .into_iter(),
    )?;
    write!(out, "<p class=\"caption\">")?;
    badge(out, f.status)?;
    writeln!(out, " {}</p>", Esc(&f.message))
}

/// Where `target_ms` falls on the bucket axis, in slots: linear inside its bucket, the middle
/// of the open-ended one.
fn slot_position(buckets: &[Bucket], target_ms: f64) -> f64 {
    let mut lower = 0.0;
    for (i, b) in buckets.iter().enumerate() {
        let upper = b.le * 1000.0;
        if target_ms <= upper {
            if upper.is_infinite() {
                return i as f64 + 0.5;
            }
            let width = upper - lower;
            let frac = if width > 0.0 { (target_ms - lower) / width } else { 1.0 };
            return i as f64 + frac.clamp(0.0, 1.0);
        }
        lower = upper;
    }
    buckets.len() as f64
}

/// Whether two bounds in ms are the same bucket bound (the check wrote one from the other).
fn same_bound(a: f64, b: f64) -> bool {
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Milliseconds for an axis: `300 ms`, `2.5 s`.
fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} s", trim(v / 1000.0))
    } else {
        format!("{} ms", trim(v))
    }
}

/// A number without trailing zeros, at most three decimals.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

// ---------------------------------------------------------------------------------------------
// Chart 3: GPU memory per device.

/// Which part of a GPU's memory a bar segment is, in drawing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Share {
    /// Processes of a scanned spec's serving process tree.
    Serving,
    /// Other processes, when every spec's serving tree is known.
    Other,
    /// Processes whose owner cannot be told: some serving tree is unknown.
    Unattributed,
    /// Used, but by no listed process (the driver's context, processes NVML did not list).
    Unlisted,
    /// Reserved by the driver.
    Reserved,
    /// Free.
    Free,
}

impl Share {
    fn colour(self) -> &'static str {
        match self {
            Share::Serving => "#3b6fd4",
            Share::Other => "#e0793a",
            Share::Unattributed => "#9a8fd8",
            Share::Unlisted => "#8a929c",
            Share::Reserved => "#c5cbd2",
            Share::Free => "#eef1f4",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Share::Serving => "the model's serving processes",
            Share::Other => "other processes",
            Share::Unattributed => "processes (serving process not identified)",
            Share::Unlisted => "used by no listed process",
            Share::Reserved => "reserved by the driver",
            Share::Free => "free",
        }
    }
}

/// Each scanned spec's serving process tree, as the accelerator-count check recorded it in its
/// evidence (`raw.tree`: every pid of the tree in every PID namespace), by spec name. `None`
/// for a spec whose tree is not in the report.
fn serving_trees(report: &Report) -> Vec<(String, Option<BTreeSet<u32>>)> {
    report
        .specs
        .iter()
        .map(|s| {
            let tree = s
                .findings
                .iter()
                .find(|f| f.code == accelerator::COUNT.code)
                .and_then(|f| f.evidence.raw.get("tree"))
                .and_then(Json::as_array)
                .map(|pids| {
                    pids.iter()
                        .filter_map(Json::as_u64)
                        .filter_map(|p| u32::try_from(p).ok())
                        .collect()
                });
            (s.spec.name.clone(), tree)
        })
        .collect()
}

fn gpu_memory(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let Some(observation) = &report.observation else {
        return writeln!(
            out,
            "<p class=\"note\">The report carries no observation (<code>--no-facts</code>): no GPU memory to draw.</p>"
        );
    };
    let snapshot = match &observation.gpu {
        ProbeOutcome::Observed { snapshot, .. } => snapshot,
        ProbeOutcome::TimedOut { budget_ms, .. } => {
            return writeln!(
                out,
                "<p class=\"note\">GPU memory unknown: the GPU probe did not answer within {budget_ms} ms.</p>"
            );
        }
        ProbeOutcome::NotRun { reason } => {
            return writeln!(
                out,
                "<p class=\"note\">GPU memory unknown: the GPU probe did not run: {}.</p>",
                Esc(reason)
            );
        }
    };
    let nvidia = match &snapshot.nvml {
        NvmlState::Available { devices, .. } => Ok(devices),
        NvmlState::Unavailable { message, .. } => Err(message),
    };
    // A node of AMD GPUs: AMD SMI's table instead.
    if nvidia.as_ref().map_or(true, |d| d.is_empty())
        && let crate::check::accelerator::AmdView::Devices(amd) = crate::check::accelerator::amd_view(observation)
        && !amd.is_empty()
    {
        return amd_gpus(out, amd);
    }
    let devices = match nvidia {
        Ok(devices) => devices,
        Err(message) => {
            return writeln!(
                out,
                "<p class=\"note\">GPU memory unknown: NVML is unavailable: {}.</p>",
                Esc(message)
            );
        }
    };
    if devices.is_empty() {
        return writeln!(out, "<p class=\"note\">NVML lists no GPU on this node.</p>");
    }
    let trees = serving_trees(report);
    let all_known = !trees.is_empty() && trees.iter().all(|(_, t)| t.is_some());
    let owner = |pid: u32| -> Option<&str> {
        trees
            .iter()
            .find(|(_, t)| t.as_ref().is_some_and(|t| t.contains(&pid)))
            .map(|(name, _)| name.as_str())
    };
    let mut notes = Vec::new();
    let mut bars: Vec<Bar> = Vec::new();
    for d in devices {
        let name = d.name.value().map_or("unnamed GPU", String::as_str);
        if d.lost {
            notes.push(format!(
                "GPU {} ({name}) has fallen off the bus: no memory to show.",
                d.index
            ));
            continue;
        }
        let Some(memory) = d.memory.value() else {
            notes.push(format!(
                "GPU {} ({name}): memory not reported: {}.",
                d.index,
                d.memory.reason().unwrap_or("no reason given")
            ));
            continue;
        };
        let mut shares: BTreeMap<Share, u64> = BTreeMap::new();
        let mut listed = 0u64;
        match d.compute_processes.value() {
            Some(processes) => {
                for p in processes {
                    let Some(mib) = p.used_memory_mib else { continue };
                    let share = match owner(p.pid) {
                        Some(_) => Share::Serving,
                        None if all_known => Share::Other,
                        None => Share::Unattributed,
                    };
                    // Saturating: NVML's numbers are data, and data may be absurd.
                    let held = shares.entry(share).or_default();
                    *held = held.saturating_add(mib);
                    listed = listed.saturating_add(mib);
                }
                if processes.iter().any(|p| p.used_memory_mib.is_none()) {
                    notes.push(format!(
                        "GPU {}: NVML did not say how much memory some processes hold; theirs counts as used by no listed process.",
                        d.index
                    ));
                }
            }
            None => notes.push(format!(
                "GPU {}: processes not listed ({}): who holds its memory is unknown.",
                d.index,
                d.compute_processes.reason().unwrap_or("no reason given")
            )),
        }
        shares.insert(Share::Unlisted, memory.used_mib.saturating_sub(listed));
        shares.insert(Share::Reserved, memory.reserved_mib.unwrap_or(0));
        shares.insert(Share::Free, memory.free_mib);
        let segments: Vec<(Share, u64)> = shares.into_iter().filter(|(_, v)| *v > 0).collect();
        bars.push(Bar {
            device: d,
            segments,
            total_mib: memory.total_mib,
        });
    }
    if !all_known {
        notes.push(
            "The serving process was not identified (or held no GPU), so memory held by processes is not split between the model and others."
                .to_string(),
        );
    }
    if !bars.is_empty() {
        gpu_chart(out, &bars)?;
        let used: BTreeSet<Share> = bars.iter().flat_map(|b| b.segments.iter().map(|(s, _)| *s)).collect();
        legend(out, used.iter().map(|s| (s.colour(), s.label().to_string())))?;
    }
    if !notes.is_empty() {
        writeln!(out, "<ul class=\"notes\">")?;
        for n in &notes {
            writeln!(out, "<li>{}</li>", Esc(n))?;
        }
        writeln!(out, "</ul>")?;
    }
    processes(out, devices, &owner, all_known)
}

/// AMD GPUs as AMD SMI lists them: VRAM used of total, partitions, graphics target, and the
/// processes holding memory.
fn amd_gpus(out: &mut impl Write, devices: &[modelspec_probe_amd::AmdDevice]) -> std::io::Result<()> {
    let shown = |o: &modelspec_probe_amd::Observed<String>| o.value().map_or("?".to_string(), |v| v.clone());
    writeln!(
        out,
        "<table><thead><tr><th>GPU</th><th>Product</th><th>Target</th><th>VRAM used / total (MiB)</th><th>Partitions</th><th>Processes</th></tr></thead><tbody>"
    )?;
    for d in devices {
        let vram = d
            .vram
            .value()
            .map_or_else(|| "?".to_string(), |v| format!("{} / {}", v.used_mib, v.total_mib));
        let partitions = match (d.compute_partition.value(), d.memory_partition.value()) {
            (Some(c), Some(m)) => format!("{c}/{m}"),
            (Some(c), None) => c.clone(),
            _ => "none".to_string(),
        };
        let processes = d.processes.value().map_or_else(
            || d.processes.reason().unwrap_or("not listed").to_string(),
            |ps| {
                ps.iter()
                    .map(|p| format!("{} {} ({} MiB)", p.pid, p.name, p.vram_mib))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.index,
            Esc(&shown(&d.market_name)),
            Esc(&shown(&d.gfx_target)),
            Esc(&vram),
            Esc(&partitions),
            Esc(&processes)
        )?;
    }
    writeln!(out, "</tbody></table>")
}

/// One GPU's bar: its memory in drawing order, MiB, and the total NVML reports.
struct Bar<'a> {
    device: &'a DeviceFacts,
    segments: Vec<(Share, u64)>,
    total_mib: u64,
}

fn gpu_chart(out: &mut impl Write, bars: &[Bar]) -> std::io::Result<()> {
    let (left, right, row_h, top) = (8.0, 8.0, 52.0, 4.0);
    let bar_w = CHART_W - left - right;
    let height = top + row_h * bars.len() as f64;
    writeln!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {CHART_W} {height:.0}\" width=\"{CHART_W}\" height=\"{height:.0}\" role=\"img\" aria-label=\"GPU memory per device\">"
    )?;
    for (i, bar) in bars.iter().enumerate() {
        let (d, segments, total) = (bar.device, &bar.segments, &bar.total_mib);
        let y = top + row_h * i as f64;
        let name = d.name.value().map_or("unnamed GPU", String::as_str);
        let sum = segments.iter().fold(0u64, |a, (_, v)| a.saturating_add(*v));
        // Scale to the larger of the total and the parts, so odd numbers never overflow the bar.
        let scale = (*total).max(sum).max(1) as f64;
        let used = segments
            .iter()
            .filter(|(s, _)| !matches!(s, Share::Free | Share::Reserved))
            .fold(0u64, |a, (_, v)| a.saturating_add(*v));
        writeln!(
            out,
            "<text x=\"{left}\" y=\"{:.1}\" class=\"label\">GPU {} · {}</text>",
            y + 14.0,
            d.index,
            Esc(name)
        )?;
        writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"axis\">{used} MiB used of {total} MiB</text>",
            left + bar_w,
            y + 14.0
        )?;
        let mut x = left;
        for (share, mib) in segments {
            let w = bar_w * *mib as f64 / scale;
            writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"22\" fill=\"{}\"><title>{}: {mib} MiB</title></rect>",
                y + 20.0,
                share.colour(),
                share.label()
            )?;
            x += w;
        }
        writeln!(
            out,
            "<rect x=\"{left}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"22\" class=\"frame\"/>",
            y + 20.0
        )?;
    }
    writeln!(out, "</svg>")
}

/// The processes holding each GPU, with whose they are.
fn processes<'a>(
    out: &mut impl Write,
    devices: &[DeviceFacts],
    owner: &impl Fn(u32) -> Option<&'a str>,
    all_known: bool,
) -> std::io::Result<()> {
    let listed: Vec<_> = devices
        .iter()
        .filter_map(|d| d.compute_processes.value().map(|p| (d.index, p)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    if listed.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<table class=\"procs\"><thead><tr><th>GPU</th><th>PID</th><th>Memory</th><th>Held by</th></tr></thead><tbody>"
    )?;
    for (index, ps) in listed {
        for p in ps {
            let mib = p
                .used_memory_mib
                .map_or("not reported".to_string(), |m| format!("{m} MiB"));
            let by = match owner(p.pid) {
                Some(spec) => format!("serving process of {spec}"),
                None if all_known => "another process".to_string(),
                None => "not attributed".to_string(),
            };
            writeln!(
                out,
                "<tr><td>{index}</td><td>{}</td><td>{mib}</td><td>{}</td></tr>",
                p.pid,
                Esc(&by)
            )?;
        }
    }
    writeln!(out, "</tbody></table>")
}

// ---------------------------------------------------------------------------------------------
// Text.

/// Text escaped for HTML text and attribute values alike. Control characters (other than tab
/// and line breaks) and bidirectional overrides are shown as `\u{..}`: they are not valid in
/// HTML text, and overrides could make a value read as something it is not.
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\t' | '\n' => fmt::Write::write_char(f, c)?,
                '\r' => {}
                c if c.is_control() || is_bidi_control(c) || is_noncharacter(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Unicode noncharacters, which HTML also reports as parse errors.
fn is_noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xfdd0..=0xfdef).contains(&c) || c & 0xfffe == 0xfffe
}

/// The stylesheet: light throughout (no dark backgrounds to print), system fonts only.
pub(crate) const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d232b; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 21px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #e3e6ea; overflow-wrap: anywhere; }
h3 { font-size: 17px; margin: 22px 0 8px; }
h4 { font-size: 15px; margin: 16px 0 6px; text-transform: capitalize; color: #4b535d; }
.meta { color: #5a636e; margin: 0; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; table-layout: auto; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #e3e6ea; overflow-wrap: anywhere; word-break: break-word; }
thead th { background: #f1f3f5; font-weight: 600; }
table.kv th { width: 210px; color: #4b535d; font-weight: 600; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0 8px; }
.tile { min-width: 104px; padding: 8px 14px; border: 1px solid; border-radius: 8px; display: flex; flex-direction: column; }
.tile .n { font-size: 26px; font-weight: 700; line-height: 1.1; }
.badge { display: inline-block; min-width: 58px; text-align: center; padding: 0 8px; border: 1px solid; border-radius: 10px; font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; }
.drift { font-size: 16px; }
.finding { border: 1px solid #e3e6ea; border-left: 6px solid; border-radius: 6px; padding: 8px 12px; margin: 8px 0; break-inside: avoid; page-break-inside: avoid; }
.finding header { display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; }
.finding .check { font-weight: 700; }
.finding .ptr { color: #5a636e; overflow-wrap: anywhere; }
.finding .msg { margin: 6px 0; overflow-wrap: anywhere; }
.finding dl { display: grid; grid-template-columns: 110px 1fr; gap: 2px 12px; margin: 0; }
.finding dt { color: #5a636e; font-weight: 600; }
.finding dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
.finding .fix { font-weight: 600; }
pre.raw { margin: 0; padding: 6px 8px; background: #f4f5f7; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all; max-height: 180px; overflow: auto; }
.skips td:first-child { width: 38%; }
table.drifted { table-layout: fixed; }
table.drifted td, table.drifted th { word-break: normal; }
table.drifted th:nth-child(1) { width: 108px; }
table.drifted th:nth-child(2) { width: 11%; }
table.drifted th:nth-child(3) { width: 22%; }
table.drifted th:nth-child(4), table.drifted th:nth-child(5) { width: 10%; }
table.drifted .fix { font-weight: 600; }
table.drifted .check { font-weight: 700; }
table.drifted .ptr { display: block; color: #5a636e; }
table.drifted .was { font-size: 12px; color: #4b535d; }
table.drifted .badge { white-space: nowrap; }
.note { color: #4b535d; background: #f4f5f7; border-left: 4px solid #b9c0c8; padding: 6px 10px; overflow-wrap: anywhere; }
.notes { color: #4b535d; overflow-wrap: anywhere; }
.caption { overflow-wrap: anywhere; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0; }
svg.chart text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #39414b; }
svg.chart text.label { font-weight: 600; }
svg.chart text.in-bar { font-weight: 700; }
svg.chart .axis-line { stroke: #8a929c; stroke-width: 1; }
svg.chart .frame { fill: none; stroke: #8a929c; stroke-width: 1; }
svg.chart .slo { stroke: #d1373f; stroke-width: 2; stroke-dasharray: 6 4; }
svg.chart text.slo-label { fill: #99161d; font-weight: 700; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: #4b535d; margin: 2px 0 10px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: -1px; border: 1px solid #8a929c; }
.procs { width: auto; min-width: 60%; }
.hashes code { overflow-wrap: anywhere; }
@media print {
  @page { margin: 14mm; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  pre.raw { max-height: none; overflow: visible; }
  h2, h3, h4, h3 + p { break-after: avoid; page-break-after: avoid; }
  .finding, svg.chart, .tiles, tr { break-inside: avoid; page-break-inside: avoid; }
  section { break-before: auto; }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Evidence;
    use crate::report::SpecInfo;
    use serde_json::json;

    fn finding(code: &str, domain: Domain, status: Status, declared: Json, raw: Json, message: &str) -> Finding {
        Finding {
            code: code.into(),
            domain,
            pointer: "/spec/x".into(),
            status,
            declared,
            observed: Json::Null,
            evidence: Evidence {
                probe: "none".into(),
                raw,
                rule: String::new(),
            },
            message: message.into(),
            remediation: None,
            waiver: None,
        }
    }

    fn render_to_string(report: &Report) -> String {
        let mut out = Vec::new();
        render(&mut out, report).expect("render to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    /// Every tag the page opens is one the renderer writes: nothing from the report opened one.
    fn tags(html: &str) -> BTreeSet<String> {
        html.split('<')
            .skip(1)
            .map(|t| {
                t.trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                    .collect::<String>()
                    .to_ascii_lowercase()
            })
            .collect()
    }

    #[test]
    fn hostile_strings_stay_text() {
        let evil =
            "</title><script>alert(\"x\")</script><img src=x onerror='y'>&amp;\u{1b}[31m\u{0}\u{202e}txt.exe\u{7f}";
        let long = "ж".repeat(20_000);
        let mut f = finding(
            evil,
            Domain::Serving,
            Status::Fail,
            json!(evil),
            json!({"body": evil, "buckets": [{"le": evil, "count": 1}]}),
            evil,
        );
        f.pointer = evil.into();
        f.remediation = Some(long.clone());
        f.observed = json!({"p95_upper_ms": evil});
        let mut p95 = finding(
            metrics::LATENCY_P95.code,
            Domain::Scaling,
            Status::Unknown,
            json!(evil),
            json!({"buckets": [{"le": "0.5", "count": 3.0}, {"le": "nan", "count": 9}, {"le": "+Inf", "count": -1e308}]}),
            evil,
        );
        p95.observed = json!({"p95_lower_ms": "x", "p95_upper_ms": null});
        let mut labels = BTreeMap::new();
        labels.insert(evil.to_string(), long.clone());
        let spec = SpecInfo {
            path: evil.into(),
            sha256: evil.into(),
            document: 2,
            name: evil.into(),
            version: Some(evil.into()),
            labels,
        };
        let owner = Finding {
            pointer: format!("/spec/governance/compliance/governance/owner{evil}"),
            ..finding(
                "not-checked",
                Domain::Governance,
                Status::Skip,
                json!(evil),
                Json::Null,
                "declarative: reported for audit, not observable on a node",
            )
        };
        let report = Report::new(
            evil.into(),
            evil.into(),
            evil.into(),
            vec![SpecSection::new(spec, vec![f, p95, owner])],
            vec![finding(
                "node",
                Domain::Accelerator,
                Status::Warn,
                Json::Null,
                json!(evil),
                evil,
            )],
            None,
        );
        let html = render_to_string(&report);
        assert!(!html.contains("<script"), "a tag from the report");
        assert!(!html.contains("<img"), "a tag from the report");
        assert!(!html.contains("onerror='"), "an attribute from the report");
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(html.contains("onerror=&#39;y&#39;&gt;&amp;amp;\\u{1b}[31m\\u{0}\\u{202e}txt.exe\\u{7f}"));
        assert!(!html.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        assert!(!html.contains('\u{202e}'));
        assert!(html.contains(&long), "long values are not cut");
        let expected: BTreeSet<String> = [
            "!doctype", "article", "body", "code", "dd", "div", "dl", "dt", "h1", "h2", "h3", "h4", "head", "header",
            "html", "i", "main", "meta", "p", "pre", "rect", "section", "span", "strong", "style", "svg", "table",
            "tbody", "td", "text", "th", "thead", "title", "tr",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(tags(&html), expected, "{html}");
        // The unreadable histogram is said, not drawn.
        assert!(html.contains("No latency histogram observed."), "{html}");
        assert!(html.contains("no GPU memory to draw"), "{html}");
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn what_drifted_comes_before_the_findings_in_drift_order() {
        let mut fail = finding("f-code", Domain::Batch, Status::Fail, json!(32), Json::Null, "f says");
        fail.remediation = Some("cap it at 32".into());
        let warn = finding(
            "w-code",
            Domain::Identity,
            Status::Warn,
            Json::Null,
            Json::Null,
            "w says",
        );
        let pass = finding(
            "p-code",
            Domain::Identity,
            Status::Pass,
            Json::Null,
            Json::Null,
            "p says",
        );
        let spec = SpecInfo {
            path: "chat.yaml".into(),
            sha256: "00".into(),
            document: 1,
            name: "chat".into(),
            version: None,
            labels: BTreeMap::new(),
        };
        let report = Report::new(
            "h".into(),
            "t0".into(),
            "t1".into(),
            vec![SpecSection::new(spec.clone(), vec![pass.clone(), warn, fail])],
            Vec::new(),
            None,
        );
        let html = render_to_string(&report);
        let (head, rest) = html.split_once("<h2>What drifted</h2>").expect("the section");
        assert!(head.contains("<h2>Summary</h2>"), "{html}");
        let (drifted, full) = rest.split_once("<h2>Spec: chat</h2>").expect("the spec after it");
        let (f, w) = (
            drifted.find("f-code").unwrap_or(usize::MAX),
            drifted.find("w-code").unwrap_or(usize::MAX),
        );
        assert!(f < w && w < usize::MAX, "{drifted}");
        assert!(!drifted.contains("p-code"), "{drifted}");
        assert!(drifted.contains("<div class=\"fix\">cap it at 32</div>"), "{drifted}");
        assert!(full.contains("<h3>Findings</h3>") && full.contains("p-code"), "{full}");

        let calm = Report::new(
            "h".into(),
            "t0".into(),
            "t1".into(),
            vec![SpecSection::new(spec, vec![pass])],
            Vec::new(),
            None,
        );
        assert!(render_to_string(&calm).contains(
            "<h2>What drifted</h2>\n<p class=\"note\">Nothing drifted: no finding failed, warned, went unobserved or was waived.</p>"
        ));
    }

    #[test]
    fn the_latency_chart_marks_the_p95_bucket_and_the_target() {
        let mut p95 = finding(
            metrics::LATENCY_P95.code,
            Domain::Scaling,
            Status::Unknown,
            json!(3000.0),
            json!({"buckets": [
                {"le": "+Inf", "count": 100.0},
                {"le": "0.3", "count": 10.0},
                {"le": "1", "count": 50.0},
                {"le": "2.5", "count": 90.0},
                {"le": "5", "count": 100.0}
            ]}),
            "p95 is between 2500 and 5000 ms",
        );
        p95.observed = json!({"p95_lower_ms": 2500.0, "p95_upper_ms": 5000.0});
        let buckets = histogram(&p95).expect("a histogram");
        let counts: Vec<f64> = buckets.iter().map(|b| b.count).collect();
        assert_eq!(counts, [10.0, 40.0, 40.0, 10.0, 0.0]);
        // 3000 ms is a fifth of the way through (2.5 s, 5 s], the fourth slot.
        assert!((slot_position(&buckets, 3000.0) - 3.2).abs() < 1e-9);
        assert_eq!(slot_position(&buckets, 1e9), 4.5);
        assert_eq!(slot_position(&buckets, 0.0), 0.0);
        let section = SpecSection::new(
            SpecInfo {
                path: "s.yaml".into(),
                sha256: "00".into(),
                document: 1,
                name: "s".into(),
                version: None,
                labels: BTreeMap::new(),
            },
            vec![p95],
        );
        let mut out = Vec::new();
        latency(&mut out, &section).expect("render");
        let svg = String::from_utf8(out).expect("UTF-8");
        assert_eq!(svg.matches("the p95 bucket 2.5 s to 5 s").count(), 1, "{svg}");
        assert!(svg.contains("SLO p95 ≤ 3 s"), "{svg}");
        assert!(svg.contains("&gt;5 s"), "{svg}");
    }

    #[test]
    fn no_histogram_is_a_note() {
        for raw in [
            Json::Null,
            json!({"buckets": []}),
            json!({"buckets": [{"le": "+Inf", "count": 0}]}),
        ] {
            let f = finding(
                metrics::LATENCY_P95.code,
                Domain::Scaling,
                Status::Unknown,
                json!(1),
                raw,
                "why",
            );
            assert!(histogram(&f).is_none());
        }
    }

    /// GPU facts that are missing, lost or absurd give notes and bars, never a panic.
    #[test]
    fn odd_gpu_facts_are_notes() {
        let mut observation: Json =
            serde_json::from_str(include_str!("../../fixtures/demo/observation.json")).expect("demo observation");
        let devices = &mut observation["gpu"]["snapshot"]["nvml"]["devices"];
        devices[0]["memory"] = json!({"status": "unsupported", "reason": "<b>no</b>"});
        devices[1]["memory"]["value"]["used_mib"] = json!(u64::MAX);
        devices[1]["memory"]["value"]["total_mib"] = json!(0);
        devices[1]["compute_processes"] = json!({"status": "ok", "value": [
            {"pid": 1, "used_memory_mib": u64::MAX}, {"pid": 2, "used_memory_mib": u64::MAX}, {"pid": 3, "used_memory_mib": null}
        ]});
        let mut lost = devices[1].clone();
        lost["index"] = json!(2);
        lost["lost"] = json!(true);
        devices.as_array_mut().expect("devices").push(lost);
        let observation = serde_json::from_value(observation).expect("an observation");
        let report = Report::new(
            "h".into(),
            String::new(),
            String::new(),
            Vec::new(),
            Vec::new(),
            Some(observation),
        );
        let html = render_to_string(&report);
        assert!(
            html.contains("GPU 0 (NVIDIA L40S): memory not reported: &lt;b&gt;no&lt;/b&gt;."),
            "{html}"
        );
        assert!(html.contains("GPU 2 (NVIDIA L40S) has fallen off the bus"), "{html}");
        assert!(
            html.contains("NVML did not say how much memory some processes hold"),
            "{html}"
        );
        assert!(html.contains(&format!("{} MiB used of 0 MiB", u64::MAX)), "{html}");
        assert!(!html.contains("NaN") && !html.contains("inf"), "{html}");
    }

    #[test]
    fn every_status_has_a_distinct_look() {
        let looks: Vec<Look> = Summary::default().counts().iter().map(|(s, _)| look(*s)).collect();
        for (i, a) in looks.iter().enumerate() {
            assert!(looks[i + 1..].iter().all(|b| b.bar != a.bar && b.label != a.label));
        }
    }
}
