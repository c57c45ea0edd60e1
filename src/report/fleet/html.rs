//! The fleet audit report as one self-contained HTML page (`fleet --format html`).
//!
//! It says what the [Markdown fleet report](super::markdown) says, in the same order: what
//! drifted first (a reviewer's first question is "where must I act"), then each spec's nodes
//! by state, the drift matrix, every node, the reports excluded and the reports counted. It
//! adds two pictures of what the report already holds (nodes by state, over the fleet and per
//! spec) and shades the matrix by severity; like every renderer it computes no verdict.
//!
//! It keeps the rules of the node's HTML report ([`crate::report::html`]), whose stylesheet,
//! status colours, escaping and legend it reuses rather than copies: no script, nothing
//! fetched (no font, image or stylesheet by URL), charts as inline SVG. On top, a
//! Content-Security-Policy that allows inline styles and nothing else, so even a page edited
//! after the fact cannot make a browser that opens it load or run anything.
//!
//! A fleet can be thousands of nodes. The page's size grows with the node table and the
//! inputs list (one row per node, per report) and with the node names under "What drifted"
//! (folded into a `<details>` past a few); the charts have one row per spec, never one per
//! node, so a 2,000-node page stays a table a browser lays out at once.
//!
//! Every string in the fleet report (node names, paths, messages, remedies, spec names, check
//! codes) comes from input files and is treated as hostile: all of it goes through the node
//! report's escaping (`Esc`), which no value can open a tag or end an attribute through.

use std::io::Write;

use super::{FleetReport, FleetSpec, NODE_SCOPE, NodeState, StateCounts};
use crate::check::Status;
use crate::report::html::{CSP, CSS, Esc, Look, StackedBar, badge, legend, look, look_badge, stacked_bars, tile};

/// Node names listed in a "What drifted" row before the rest fold into a `<details>`.
const NAMES_SHOWN: usize = 8;

/// What the fleet page adds to the node report's stylesheet.
const FLEET_CSS: &str = r#"
th { word-break: normal; overflow-wrap: normal; }
.scroll { overflow-x: auto; }
table.matrix { width: auto; min-width: 50%; }
table.matrix th, table.matrix td { text-align: center; white-space: nowrap; word-break: normal; }
table.matrix th:first-child, table.matrix td:first-child { text-align: left; }
table.matrix td.none { color: #8a929c; }
table.nodes td, table.inputs td, table.excluded td { font-size: 13px; }
table.nodes td:nth-child(3), table.inputs td:nth-child(3) { white-space: nowrap; }
table.specs td:first-child { min-width: 9em; word-break: normal; }
table.excluded td:nth-child(3) { white-space: nowrap; }
tr.stale td { background: #fcf0d4; }
.stale-flag { color: #6e4a00; background: #fcf0d4; border-color: #e3a21a; }
.finding .scope { color: #4b535d; }
details summary { cursor: pointer; }
td.num, th.num { text-align: right; }
table.inputs td:nth-child(2) { min-width: 7em; }
/* On paper every node name shows: a closed details element prints open where the browser knows
   ::details-content, and keeps its summary (the count and first names) where it does not. */
@media print { details::details-content { content-visibility: visible; } }
"#;

/// Writes the HTML report.
pub fn render(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>ModelSpec fleet audit at {}</title>",
        Esc(&report.generated_at)
    )?;
    writeln!(out, "<style>{CSS}{FLEET_CSS}</style>\n</head>\n<body>\n<main>")?;
    writeln!(out, "<h1>ModelSpec fleet audit</h1>")?;
    write!(
        out,
        "<p class=\"meta\">Judged at {} by modelspec {}",
        Esc(&report.generated_at),
        Esc(&report.tool_version)
    )?;
    if let Some(limit) = report.stale_after_seconds {
        write!(
            out,
            "; a node is stale when its latest scan is older than {limit} s ({})",
            super::markdown::age(i64::try_from(limit).unwrap_or(i64::MAX))
        )?;
    }
    writeln!(out, ".</p>")?;

    summary(out, report)?;
    drifted(out, report)?;
    specs(out, report)?;
    matrix(out, report)?;
    nodes(out, report)?;
    excluded(out, report)?;
    inputs(out, report)?;
    writeln!(out, "</main>\n</body>\n</html>")
}

// ---------------------------------------------------------------------------------------------
// Node states: drawn in the colours of the status that puts a node in them.

/// A node state's look: the colours of the finding status behind it, its own word.
fn state_look(state: NodeState) -> Look {
    let status = match state {
        NodeState::Drifting => Status::Fail,
        NodeState::Warning => Status::Warn,
        NodeState::Unknown => Status::Unknown,
        NodeState::Waived => Status::Waived,
        NodeState::Conforming => Status::Pass,
        NodeState::NotDeployed => Status::Skip,
    };
    Look {
        label: state_label(state),
        ..look(status)
    }
}

/// The state in words (`not deployed`, not `not_deployed`).
fn state_label(state: NodeState) -> &'static str {
    match state {
        NodeState::NotDeployed => "not deployed",
        other => other.as_str(),
    }
}

/// Every state, worst first: the order of the bars, the legend and the counts.
const STATES: [NodeState; 6] = [
    NodeState::Drifting,
    NodeState::Warning,
    NodeState::Unknown,
    NodeState::Waived,
    NodeState::Conforming,
    NodeState::NotDeployed,
];

fn state_badge(out: &mut impl Write, state: NodeState) -> std::io::Result<()> {
    look_badge(out, state_look(state))
}

/// How many nodes a spec has in each state.
fn spec_counts(n: &StateCounts) -> [(NodeState, usize); 6] {
    [
        (NodeState::Drifting, n.drifting),
        (NodeState::Warning, n.warning),
        (NodeState::Unknown, n.unknown),
        (NodeState::Waived, n.waived),
        (NodeState::Conforming, n.conforming),
        (NodeState::NotDeployed, n.scanned.saturating_sub(n.deployed)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Sections.

fn summary(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    let s = &report.summary;
    writeln!(out, "<section>\n<h2>Summary</h2>\n<div class=\"tiles\">")?;
    let neutral = look(Status::Skip);
    let alarm = |n: usize, status: Status| if n > 0 { look(status) } else { neutral };
    for (label, n, l) in [
        ("nodes", s.nodes, neutral),
        ("conforming", s.conforming_nodes, look(Status::Pass)),
        ("drifting", s.drifting_nodes, alarm(s.drifting_nodes, Status::Fail)),
        ("stale", s.stale, alarm(s.stale, Status::Warn)),
        ("specs", s.specs, neutral),
        ("reports read", s.reports, neutral),
        ("verified", s.verified, neutral),
        ("excluded", s.excluded, alarm(s.excluded, Status::Fail)),
    ] {
        tile(out, Look { label, ..l }, n)?;
    }
    writeln!(out, "</div>")?;
    writeln!(
        out,
        "<p class=\"drift\">Drift: <strong>{}</strong>.</p>",
        if s.drifting_nodes == 0 { "none" } else { "yes" }
    )?;
    writeln!(out, "<h3>Nodes by state</h3>")?;
    let mut counts = STATES.map(|state| (state, 0usize));
    for node in &report.nodes {
        if let Some(c) = counts.iter_mut().find(|(state, _)| *state == node.state) {
            c.1 += 1;
        }
    }
    state_chart(out, "Nodes by their worst state", &[("fleet", counts)])?;
    writeln!(out, "</section>")
}

fn drifted(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    writeln!(out, "<section id=\"what-drifted\">\n<h2>What drifted</h2>")?;
    let drifted = report.drifted();
    if drifted.is_empty() {
        writeln!(
            out,
            "<p class=\"note\">Nothing: every check passes on every node's latest report.</p>"
        )?;
        return writeln!(out, "</section>");
    }
    writeln!(
        out,
        "<p>Each check that does not pass on some node's latest report, worst first: fail, warn, unknown, waived.</p>"
    )?;
    for d in &drifted {
        writeln!(
            out,
            "<article class=\"finding\" style=\"border-left-color:{}\">",
            look(d.status).bar
        )?;
        write!(out, "<header>")?;
        badge(out, d.status)?;
        writeln!(
            out,
            " <code class=\"check\">{}</code> <span class=\"scope\">{}</span></header>",
            Esc(&d.check.code),
            if d.spec == NODE_SCOPE {
                "on the node, across the specs".to_string()
            } else {
                format!("spec {}", Esc(d.spec))
            }
        )?;
        writeln!(out, "<dl>")?;
        write!(out, "<dt>Nodes</dt><dd>")?;
        names(out, d.check.nodes(d.status))?;
        writeln!(out, "</dd>")?;
        writeln!(
            out,
            "<dt>Seen</dt><dd>first {}, last {}</dd>",
            Esc(&d.check.first_seen),
            Esc(&d.check.last_seen)
        )?;
        if let Some(fix) = &d.check.remediation {
            writeln!(out, "<dt>Remedy</dt><dd class=\"fix\">{}</dd>", Esc(fix))?;
        }
        writeln!(out, "<dt>Finding</dt><dd>{}</dd>", Esc(&d.check.message))?;
        writeln!(out, "</dl>\n</article>")?;
    }
    writeln!(out, "</section>")
}

/// A spec's name, or the node scope in words.
fn scope(spec: &str) -> String {
    if spec == NODE_SCOPE {
        "<em>(node)</em>".to_string()
    } else {
        Esc(spec).to_string()
    }
}

/// Every node named: the first few in the cell, all of them in a `<details>` when there are
/// more, so a check failing on the whole fleet is one row that opens.
fn names(out: &mut impl Write, nodes: &[String]) -> std::io::Result<()> {
    let list = |nodes: &[String]| nodes.iter().map(|n| Esc(n).to_string()).collect::<Vec<_>>().join(", ");
    if nodes.len() <= NAMES_SHOWN {
        return write!(out, "{}: {}", nodes.len(), list(nodes));
    }
    write!(
        out,
        "<details><summary>{}: {} and {} more</summary>{}</details>",
        nodes.len(),
        list(&nodes[..NAMES_SHOWN]),
        nodes.len() - NAMES_SHOWN,
        list(nodes)
    )
}

fn specs(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    writeln!(out, "<section id=\"specs\">\n<h2>Specs</h2>")?;
    if report.specs.is_empty() {
        writeln!(out, "<p class=\"note\">No spec was judged in any report counted.</p>")?;
        return writeln!(out, "</section>");
    }
    let rows: Vec<(&str, [(NodeState, usize); 6])> = report
        .specs
        .iter()
        .map(|s| (s.name.as_str(), spec_counts(&s.nodes)))
        .collect();
    state_chart(out, "Nodes per spec, by state", &rows)?;
    writeln!(
        out,
        "<table class=\"specs\"><thead><tr><th>Spec</th><th>Versions</th><th class=\"num\">Scanned</th><th class=\"num\">Deployed</th><th class=\"num\">Conforming</th><th class=\"num\">Drifting</th><th class=\"num\">Warning</th><th class=\"num\">Unknown</th><th class=\"num\">Waived</th><th>Spec SHA-256</th></tr></thead><tbody>"
    )?;
    for spec in &report.specs {
        spec_row(out, spec)?;
    }
    writeln!(out, "</tbody></table>")?;
    if report.specs.iter().any(|s| s.sha256.len() > 1) {
        writeln!(
            out,
            "<p class=\"note\">A spec with more than one SHA-256 was not judged against the same file on every node.</p>"
        )?;
    }
    writeln!(out, "</section>")
}

fn spec_row(out: &mut impl Write, spec: &FleetSpec) -> std::io::Result<()> {
    let n = &spec.nodes;
    let hashes: Vec<String> = spec.sha256.iter().map(|h| format!("<code>{}</code>", Esc(h))).collect();
    writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
        Esc(&spec.name),
        Esc(&spec.versions.join(", ")),
        n.scanned,
        n.deployed,
        n.conforming,
        n.drifting,
        n.warning,
        n.unknown,
        n.waived,
        hashes.join("<br>")
    )
}

fn matrix(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    let m = &report.matrix;
    if m.checks.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section id=\"matrix\">\n<h2>Drift matrix</h2>")?;
    writeln!(
        out,
        "<p>Nodes per spec and check that do not pass, shaded by the worst status among them (a dot: none).</p>"
    )?;
    write!(
        out,
        "<div class=\"scroll\"><table class=\"matrix\"><thead><tr><th>Spec</th>"
    )?;
    for code in &m.checks {
        write!(out, "<th><code>{}</code></th>", Esc(code))?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    for row in &m.rows {
        write!(out, "<tr><td>{}</td>", scope(&row.spec))?;
        for c in &row.cells {
            let parts: Vec<(Status, usize)> = [
                (Status::Fail, c.fail),
                (Status::Warn, c.warn),
                (Status::Unknown, c.unknown),
                (Status::Waived, c.waived),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
            let Some((worst, _)) = parts.first() else {
                write!(out, "<td class=\"none\">·</td>")?;
                continue;
            };
            let l = look(*worst);
            let text: Vec<String> = parts.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
            write!(
                out,
                "<td style=\"background:{};color:{};box-shadow:inset 4px 0 {}\">{}</td>",
                l.tint,
                l.ink,
                l.bar,
                text.join("<br>")
            )?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody></table></div>")?;
    legend(
        out,
        crate::report::DRIFT_ORDER.iter().map(|s| {
            let l = look(*s);
            (l.bar, format!("worst is {}", l.label))
        }),
    )?;
    writeln!(out, "</section>")
}

fn nodes(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    writeln!(out, "<section id=\"nodes\">\n<h2>Nodes</h2>")?;
    if report.nodes.is_empty() {
        writeln!(out, "<p class=\"note\">No node: no report was counted.</p>")?;
        return writeln!(out, "</section>");
    }
    writeln!(
        out,
        "<p>{} node(s), each by its latest verified report{}.</p>",
        report.nodes.len(),
        if report.summary.stale > 0 {
            format!("; {} stale, marked", report.summary.stale)
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "<table class=\"nodes\"><thead><tr><th>Node</th><th>State</th><th>Last scan</th><th class=\"num\">Age</th><th>Stale</th><th class=\"num\">Reports</th><th>Specs</th></tr></thead><tbody>"
    )?;
    for n in &report.nodes {
        write!(
            out,
            "<tr{}><td>{}</td><td>",
            if n.stale { " class=\"stale\"" } else { "" },
            Esc(&n.name)
        )?;
        state_badge(out, n.state)?;
        let specs: Vec<String> = n
            .specs
            .iter()
            .map(|(spec, state)| format!("{}: {}", Esc(spec), state_label(*state)))
            .collect();
        writeln!(
            out,
            "</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            Esc(&n.last_scan),
            n.age_seconds.map(super::markdown::age).unwrap_or_default(),
            if n.stale {
                "<span class=\"badge stale-flag\">stale</span>"
            } else {
                ""
            },
            n.reports,
            specs.join("<br>")
        )?;
    }
    writeln!(out, "</tbody></table>\n</section>")
}

fn excluded(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    writeln!(out, "<section id=\"excluded\">\n<h2>Excluded reports</h2>")?;
    if report.excluded.is_empty() {
        writeln!(
            out,
            "<p class=\"note\">None: every report read was verified and counted.</p>"
        )?;
        return writeln!(out, "</section>");
    }
    writeln!(out, "<p>Not counted anywhere above.</p>")?;
    writeln!(
        out,
        "<table class=\"excluded\"><thead><tr><th>Report</th><th>Node</th><th>Reason</th><th>Detail</th></tr></thead><tbody>"
    )?;
    for e in &report.excluded {
        write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>",
            Esc(&e.path),
            Esc(e.node.as_deref().unwrap_or(""))
        )?;
        look_badge(
            out,
            Look {
                label: e.reason.as_str(),
                ..look(Status::Fail)
            },
        )?;
        writeln!(out, "</td><td>{}</td></tr>", Esc(&e.detail))?;
    }
    writeln!(out, "</tbody></table>\n</section>")
}

fn inputs(out: &mut impl Write, report: &FleetReport) -> std::io::Result<()> {
    writeln!(
        out,
        "<section id=\"inputs\" class=\"hashes\">\n<h2>Reports counted</h2>"
    )?;
    if report.inputs.is_empty() {
        writeln!(out, "<p class=\"note\">None.</p>")?;
        return writeln!(out, "</section>");
    }
    writeln!(
        out,
        "<table class=\"inputs\"><thead><tr><th>Report</th><th>Node</th><th>Scan started</th><th>SHA-256</th><th>Signed by</th></tr></thead><tbody>"
    )?;
    for i in &report.inputs {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            Esc(&i.path),
            Esc(&i.node),
            Esc(&i.started_at),
            Esc(&i.sha256),
            i.signed_by
                .as_deref()
                .map(|s| format!("<code>{}</code>", Esc(s)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(
        out,
        "<p class=\"note\"><code>modelspec verify REPORT.json</code> derives a report's findings again; <code>sha256sum</code> recomputes these hashes.</p>"
    )?;
    writeln!(out, "</section>")
}

// ---------------------------------------------------------------------------------------------
// The chart: one stacked bar per row (the fleet, or a spec), never one per node.

fn state_chart(out: &mut impl Write, title: &str, rows: &[(&str, [(NodeState, usize); 6])]) -> std::io::Result<()> {
    if rows.iter().all(|(_, counts)| counts.iter().all(|(_, n)| *n == 0)) {
        return writeln!(out, "<p class=\"note\">No node to draw.</p>");
    }
    let bars: Vec<StackedBar<'_>> = rows
        .iter()
        .map(|(name, counts)| (*name, counts.iter().map(|(s, n)| (state_look(*s), *n)).collect()))
        .collect();
    stacked_bars(out, title, 180.0, &bars)?;
    legend(
        out,
        STATES
            .iter()
            .filter(|state| {
                rows.iter()
                    .any(|(_, counts)| counts.iter().any(|(s, n)| s == *state && *n > 0))
            })
            .map(|state| {
                let l = state_look(*state);
                (l.bar, l.label.to_string())
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fleet::sample::{finding, options, scan, small_fleet};
    use crate::report::fleet::{Excluded, Exclusion, Scan};

    fn render_to_string(report: &FleetReport) -> String {
        let mut out = Vec::new();
        render(&mut out, report).expect("render to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn small_fleet_snapshot() {
        let html = render_to_string(&small_fleet());
        let (head, body) = html.split_once("</head>\n").expect("a head");
        assert!(head.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        )));
        assert!(head.contains("<title>ModelSpec fleet audit at 2026-12-07T03:00:00Z</title>"));
        // What drifted comes before the specs, the matrix and the nodes; fail before warn.
        let at = |needle: &str| body.find(needle).unwrap_or_else(|| panic!("{needle} not in the page"));
        assert!(at("<h2>What drifted</h2>") < at("<h2>Specs</h2>"));
        assert!(at("<h2>Specs</h2>") < at("<h2>Drift matrix</h2>"));
        assert!(at("<h2>Drift matrix</h2>") < at("<h2>Nodes</h2>"));
        assert!(at("<h2>Nodes</h2>") < at("<h2>Excluded reports</h2>"));
        assert!(at("<h2>Excluded reports</h2>") < at("<h2>Reports counted</h2>"));
        assert!(at(">fail</span>") < at(">warn</span>"));
        // All ten nodes named, the first eight in the summary.
        assert!(body.contains(
            "<summary>10: gpu-01, gpu-02, gpu-03, gpu-04, gpu-05, gpu-06, gpu-07, gpu-08 and 2 more</summary>"
        ));
        assert!(body.contains("<span class=\"badge stale-flag\">stale</span>"));
        insta::assert_snapshot!(body);
    }

    #[test]
    fn an_empty_fleet_says_so() {
        let report = FleetReport::build(Vec::new(), Vec::new(), &options());
        let html = render_to_string(&report);
        assert!(html.contains("Nothing: every check passes"), "{html}");
        assert!(html.contains("No node to draw."), "{html}");
        assert!(html.contains("No spec was judged"), "{html}");
        assert!(!html.contains("<h2>Drift matrix</h2>"), "{html}");
        assert!(html.ends_with("</html>\n"));
    }

    /// Every tag name the page opens or closes.
    fn tag_names(html: &str) -> std::collections::BTreeSet<String> {
        html.match_indices('<')
            .map(|(i, _)| {
                html[i + 1..]
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                    .collect::<String>()
                    .to_ascii_lowercase()
            })
            .collect()
    }

    #[test]
    fn hostile_names_paths_and_messages_stay_text() {
        let evil = "\"><script>alert(\"x\")</script><img src=x onerror='y'>\u{202e}\u{1b}";
        let hostile = finding(evil, Status::Fail, evil, Some(evil));
        let mut bad = scan(
            evil,
            "2026-12-07T02:00:00Z",
            vec![(evil, true, vec![hostile.clone()])],
            vec![hostile],
        );
        bad.input.path = evil.into();
        bad.input.signed_by = Some(evil.into());
        bad.sections[0].version = Some(evil.into());
        bad.sections[0].sha256 = evil.into();
        let excluded = vec![Excluded {
            path: evil.into(),
            node: Some(evil.into()),
            reason: Exclusion::Signature,
            detail: evil.into(),
        }];
        let html = render_to_string(&FleetReport::build(vec![bad], excluded, &options()));
        assert!(!html.contains("<script"), "a tag from the input");
        assert!(!html.contains("<img"), "a tag from the input");
        assert!(!html.contains("onerror='"), "an attribute from the input");
        assert!(!html.contains('\u{202e}') && !html.contains('\u{1b}'));
        assert!(html.contains("&quot;&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        let expected: std::collections::BTreeSet<String> = [
            "!doctype", "article", "body", "code", "dd", "div", "dl", "dt", "em", "h1", "h2", "h3", "header", "head",
            "html", "i", "main", "meta", "p", "rect", "section", "span", "strong", "style", "svg", "table", "tbody",
            "td", "text", "th", "thead", "title", "tr",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let found = tag_names(&html);
        assert_eq!(
            found,
            expected,
            "{:?} {:?}",
            found.difference(&expected).collect::<Vec<_>>(),
            expected.difference(&found).collect::<Vec<_>>()
        );
    }

    /// 2,000 nodes: one row each in the node and input tables, the charts as small as for
    /// three nodes (one bar per spec, none per node), the names of a fleet-wide failure folded.
    #[test]
    fn two_thousand_nodes_stay_a_table() {
        let drift = finding("batch-max-size", Status::Fail, "256 sequences, 32 declared", None);
        let scans: Vec<Scan> = (0..2000)
            .map(|i| {
                let findings = if i % 3 == 0 { vec![drift.clone()] } else { vec![] };
                scan(
                    &format!("node-{i:04}"),
                    "2026-12-07T02:00:00Z",
                    vec![("support-chat", true, findings)],
                    vec![],
                )
            })
            .collect();
        let html = render_to_string(&FleetReport::build(scans, Vec::new(), &options()));
        assert_eq!(
            html.matches("<svg ").count(),
            2,
            "one chart for the fleet, one for the specs"
        );
        assert!(html.matches("<rect ").count() <= 2 * STATES.len());
        assert_eq!(html.matches("<details>").count(), 1);
        assert_eq!(html.matches("<tr><td>node-").count(), 2000, "every node, one row each");
        assert!(html.len() < 2000 * 1200, "{} bytes for 2,000 nodes", html.len());
    }
}
