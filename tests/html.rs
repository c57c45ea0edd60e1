//! `scan --format html`: the demo report as a snapshot, and the page loaded in a real browser
//! (headless Chromium, the Debian package `chromium`) to show it parses, draws its charts,
//! logs no script error and renders to a real screenshot. `fleet --format html` likewise: its
//! page's content is a unit snapshot (src/report/fleet/html.rs); here it is built from real
//! `scan --demo` reports and loaded in the browser.
//!
//! Without Chromium the browser tests print a skip line and pass, except under CI
//! (`CI=true`), where a missing browser fails them: `.ci/run` installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use modelspec::report::{Report, SpecSection};
use serde_json::{Value as Json, json};

use crate::support::{Cmd, Dir, root};

fn modelspec(args: &[&str]) -> Output {
    Cmd::new().args(args).output()
}

fn demo(format: &str) -> String {
    let o = modelspec(&["scan", "--demo", "--format", format]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8")
}

/// The demo page with the scan's clock and the tool version taken out.
fn redacted(html: &str) -> String {
    html.lines()
        .map(|line| {
            if line.starts_with("<p class=\"meta\">Scanned by ") {
                "<p class=\"meta\">Scanned by [tool and times].</p>\n".to_string()
            } else if let Some(name) = [
                "Started",
                "Finished",
                "Duration",
                "Git commit",
                "Scanned by",
                "Command line",
            ]
            .iter()
            .find(|name| line.starts_with(&format!("<tr><th>{name}</th>")))
            {
                let (head, _) = line.split_once("<td>").unwrap_or((line, ""));
                format!("{head}<td>[{}]</td></tr>\n", name.to_lowercase())
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// Nothing is fetched: no script, stylesheet, image or font by reference.
fn assert_fetches_nothing(html: &str) {
    for outside in [
        "<script",
        "<link",
        "<img",
        " src=",
        "href=",
        "url(",
        "@import",
        "@font-face",
    ] {
        assert!(!html.contains(outside), "{outside} in the page");
    }
}

#[test]
fn demo_html_snapshot() {
    let html = demo("html");
    assert_fetches_nothing(&html);
    // Same report, same page: nothing but the report's own times varies.
    assert_eq!(redacted(&html), redacted(&demo("html")));
    // The snapshot keeps the name it had when this file was its own test binary (tests/tests.rs).
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("html__demo_html", redacted(&html));
    });
}

/// What the Markdown report lists, the HTML page lists: every field to attest or not checked.
#[test]
fn the_page_lists_what_the_markdown_report_lists() {
    let (html, markdown) = (demo("html"), demo("markdown"));
    for line in markdown.lines().filter(|l| l.starts_with("| /")) {
        let pointer = line.trim_start_matches("| ").split(" |").next().unwrap_or_default();
        assert!(
            html.contains(&format!("<code>{pointer}</code>")),
            "{pointer} is in the Markdown report, not in the page"
        );
    }
    for heading in ["## Summary", "## Spec: support-chat", "## Hashes"] {
        let text = heading.trim_start_matches("## ");
        assert!(html.contains(&format!("<h2>{text}</h2>")), "{text}");
    }
}

/// Chromium, or why the test is skipped; under `CI=true` a missing browser is a failure.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is not installed, and CI=true needs the browser tests (.ci/run installs it)"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
    }
    found
}

/// Loads `page` in headless Chromium: the DOM it parsed, and what it logged.
fn dump_dom(browser: &Path, page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let o = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    let (dom, log) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "chromium failed: {log}");
    (dom, log)
}

/// Screenshots `page` with scripts/html_screenshot.sh; answers the PNG's width and height.
fn screenshot(page: &Path, png: &Path) -> (u32, u32) {
    let o = Command::new("timeout")
        .arg("120")
        .arg(root().join("scripts/html_screenshot.sh"))
        .args([page, png])
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/html_screenshot.sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(png).expect("the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let dimension = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    // A blank page compresses to a few kilobytes; a drawn one does not.
    assert!(bytes.len() > 30_000, "a {} byte screenshot is blank", bytes.len());
    (dimension(16), dimension(20))
}

/// Where a test keeps its page and screenshot: `MODELSPEC_HTML_OUT` to look at them
/// afterwards, else a temporary directory.
fn workdir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("MODELSPEC_HTML_OUT") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).expect("MODELSPEC_HTML_OUT");
            (None, PathBuf::from(dir))
        }
        None => {
            let t = tempfile::tempdir().expect("temp dir");
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

fn assert_loaded(dom: &str, log: &str, svgs: usize) {
    assert!(!log.contains("Uncaught"), "a script error: {log}");
    assert!(!log.contains(":CONSOLE"), "the page logged to the console: {log}");
    for heading in [
        "<h2>Summary</h2>",
        "<h2>GPU memory</h2>",
        "<h2>Hashes</h2>",
        "<h3>Findings per domain</h3>",
    ] {
        assert!(dom.contains(heading), "{heading} not in the DOM");
    }
    // What drifted opens the report: after the summary, before any spec's complete findings.
    let at = |text: &str| dom.find(text).unwrap_or_else(|| panic!("{text} not in the DOM"));
    assert!(
        at("<h2>Summary</h2>") < at("<h2>What drifted</h2>"),
        "What drifted after the summary"
    );
    assert!(
        at("<h2>What drifted</h2>") < at("<h3>Findings</h3>"),
        "What drifted before the findings"
    );
    assert!(
        dom.contains("<table class=\"drifted\">"),
        "the drifted findings are listed"
    );
    assert_eq!(dom.matches("<svg ").count(), svgs, "charts in the DOM");
    assert!(dom.contains("<rect "), "no bar drawn");
}

#[test]
fn the_demo_page_loads_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let (_keep, dir) = workdir();
    let page = dir.join("demo.html");
    std::fs::write(&page, demo("html")).expect("write the page");
    let (dom, log) = dump_dom(&browser, &page);
    // The demo has no latency target: two charts (domains, GPU memory) and a note.
    assert_loaded(&dom, &log, 2);
    assert!(dom.contains("No latency histogram observed"), "the latency note");
    assert!(dom.contains("GPU 1 · NVIDIA L40S"), "the GPU chart");
    assert_eq!(screenshot(&page, &dir.join("demo.png")), (1280, 4000));
}

/// The demo report with what it lacks to draw every chart: a latency histogram against a
/// target, the serving process tree the count check found, and a declared owner.
fn full_report() -> Json {
    let o = modelspec(&["scan", "--demo", "--format", "json"]);
    let mut report: Json = serde_json::from_slice(&o.stdout).expect("demo JSON");
    let findings = report["specs"][0]["findings"].as_array_mut().expect("findings");
    for f in findings.iter_mut() {
        if f["code"] == "accelerator-count" {
            f["evidence"]["raw"] = json!({"serving_pid": 31337, "tree": [31337], "held_gpus": [0], "visible": 2});
        }
    }
    findings.push(json!({
        "code": "latency-p95", "domain": "scaling", "pointer": "/spec/operations/scaling/targetLatencyMsP95",
        "status": "unknown", "declared": 3000.0,
        "observed": {"p95_lower_ms": 2500.0, "p95_upper_ms": 5000.0},
        "evidence": {"probe": "http", "rule": "p95 bucket under the target", "raw": {
            "family": "vllm:e2e_request_latency_seconds", "requests": 100.0, "window": "lifetime",
            "buckets": [
                {"le": "0.3", "count": 10.0}, {"le": "1", "count": 50.0}, {"le": "2.5", "count": 90.0},
                {"le": "5", "count": 100.0}, {"le": "+Inf", "count": 100.0}
            ]}},
        "message": "p95 is between 2500 and 5000 ms over the server's lifetime (100 requests): the bucket straddles the 3000 ms target"
    }));
    findings.push(json!({
        "code": "not-checked", "domain": "governance", "pointer": "/spec/governance/compliance/governance/owner",
        "status": "skip", "declared": "ml-platform <oncall@example.com>", "observed": null,
        "evidence": {"probe": "none", "rule": "", "raw": null},
        "message": "declarative: reported for audit, not observable on a node"
    }));
    // The second GPU's memory is held by someone else.
    let devices = &mut report["observation"]["gpu"]["snapshot"]["nvml"]["devices"];
    devices[1]["compute_processes"] = json!({"status": "ok", "value": [{"pid": 4242, "used_memory_mib": 20000}]});
    report
}

#[test]
fn every_chart_draws_in_headless_chromium() {
    let report: Report = serde_json::from_value(full_report()).expect("a report");
    // Counted again, with the findings added.
    let specs = report
        .specs
        .into_iter()
        .map(|s| SpecSection::new(s.spec, s.findings))
        .collect();
    let report = Report::new(
        report.target_host,
        report.started_at,
        report.finished_at,
        specs,
        report.node,
        report.observation,
    );
    let mut html = Vec::new();
    modelspec::report::html::render(&mut html, &report).expect("render");
    let html = String::from_utf8(html).expect("UTF-8");
    assert!(html.contains("SLO p95 ≤ 3 s"), "the target line");
    assert!(html.contains("the p95 bucket 2.5 s to 5 s"), "the p95 bucket");
    assert!(
        html.contains("the model's serving processes: 41200 MiB"),
        "GPU 0 is the model's"
    );
    assert!(html.contains("other processes: 20000 MiB"), "GPU 1 is someone else's");
    assert!(html.contains("<tr><th>Owner (declared)</th><td>ml-platform &lt;oncall@example.com&gt;</td></tr>"));
    assert!(html.contains("<h3>To attest by hand</h3>"));

    let Some(browser) = chromium() else { return };
    let (_keep, dir) = workdir();
    let page = dir.join("full.html");
    std::fs::write(&page, &html).expect("write the page");
    let (dom, log) = dump_dom(&browser, &page);
    assert_loaded(&dom, &log, 3);
    assert!(dom.contains("SLO p95 ≤ 3 s"), "the target line in the DOM");
    assert_eq!(screenshot(&page, &dir.join("full.png")), (1280, 4000));
}

/// Fleet of three demo nodes, one report altered (excluded: it does not verify) and one whose
/// node name is markup: the fleet's HTML page, written by `fleet --format html`.
fn fleet_page(dir: &Dir) -> String {
    let nodes = dir.file("nodes");
    std::fs::create_dir_all(&nodes).expect("nodes/");
    for node in ["node-a", "node-b", "node-c"] {
        let out = format!("json={}", nodes.join(format!("{node}.json")).display());
        let o = modelspec(&["scan", "--demo", "--node", node, "-q", "-o", &out]);
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let edit = |node: &str, to: &str, change: &dyn Fn(&mut Json)| {
        let text = std::fs::read_to_string(nodes.join(format!("{node}.json"))).expect("a report");
        let mut report: Json = serde_json::from_str(&text).expect("JSON");
        change(&mut report);
        std::fs::write(nodes.join(to), report.to_string()).expect("write the report");
    };
    edit("node-c", "node-c.json", &|r| {
        r["specs"][0]["findings"][0]["status"] = json!("fail")
    });
    edit("node-a", "evil.json", &|r| {
        r["target_host"] = json!("<script>alert(\"x\")</script>");
    });
    let o = modelspec(&[
        "fleet",
        &nodes.display().to_string(),
        "--now",
        "2026-12-07T03:00:00Z",
        "--stale-after",
        "1h",
        "--format",
        "html",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8")
}

#[test]
fn the_fleet_page_loads_in_headless_chromium() {
    let dir = Dir::new();
    let html = fleet_page(&dir);
    assert_fetches_nothing(&html);
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"));
    assert!(
        html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
        "the node name, as text"
    );
    assert!(html.contains("does_not_verify"), "the altered report is excluded");

    let Some(browser) = chromium() else { return };
    let (_keep, workdir) = workdir();
    let page = workdir.join("fleet.html");
    std::fs::write(&page, &html).expect("write the page");
    let (dom, log) = dump_dom(&browser, &page);
    assert!(!log.contains("Uncaught"), "a script error: {log}");
    assert!(
        !log.contains(":CONSOLE"),
        "the page logged to the console (a blocked load?): {log}"
    );
    let at = |needle: &str| dom.find(needle).unwrap_or_else(|| panic!("{needle} not in the DOM"));
    assert!(at("<h2>Summary</h2>") < at("<h2>What drifted</h2>"));
    assert!(at("<h2>What drifted</h2>") < at("<h2>Specs</h2>"));
    assert!(
        at("<h2>What drifted</h2>") < at("<table class=\"nodes\">"),
        "what drifted comes before the nodes"
    );
    for heading in [
        "<h2>Drift matrix</h2>",
        "<h2>Excluded reports</h2>",
        "<h2>Reports counted</h2>",
    ] {
        at(heading);
    }
    // Two charts: the fleet's nodes by state, and each spec's.
    assert_eq!(dom.matches("<svg ").count(), 2, "charts in the DOM");
    assert!(dom.contains("<rect "), "no bar drawn");
    assert!(!dom.contains("<script"), "the node name became an element");
    assert_eq!(screenshot(&page, &workdir.join("fleet.png")), (1280, 4000));
}
