//! The human output of `validate`: rustc-style diagnostics with the offending source line.

use std::io::Write;

use super::Summary;
use crate::cli::style::Style;
use crate::spec::discover::Skipped;
use crate::spec::validate::FileReport;
use crate::spec::{Diagnostic, Severity};

/// Writes every diagnostic, then a summary line.
pub fn render(
    out: &mut impl Write,
    reports: &[FileReport],
    skipped: &[Skipped],
    summary: &Summary,
    strict: bool,
    style: Style,
) -> std::io::Result<()> {
    for s in skipped {
        writeln!(out, "{} {}: {}", style.bold("skipped"), s.path.display(), s.reason)?;
    }
    if !skipped.is_empty() {
        writeln!(out)?;
    }
    for r in reports {
        if let Some(io) = &r.io_error {
            writeln!(out, "{}: {}", style.error("error[io]"), style.bold(io))?;
            writeln!(out)?;
            continue;
        }
        let multi = r.documents.len() > 1;
        // Split where the loader counts lines: YAML 1.1 also breaks at NEL, LS and PS.
        let lines: Vec<&str> = r
            .text
            .as_deref()
            .map(|t| t.split(['\n', '\u{85}', '\u{2028}', '\u{2029}']).collect())
            .unwrap_or_default();
        for doc in &r.documents {
            for d in &doc.diagnostics {
                let document = multi.then_some(doc.index);
                diagnostic(out, d, &r.path, document, &lines, strict, style)?;
            }
        }
    }
    let files = plural(summary.files, "file");
    let documents = plural(summary.documents, "document");
    let counts = format!(
        "{}, {}",
        plural(summary.errors, "error"),
        plural(summary.warnings, "warning")
    );
    if summary.invalid == 0 {
        writeln!(out, "{} {files}, {documents} valid ({counts})", style.ok("ok:"))
    } else {
        writeln!(
            out,
            "{} {} of {documents} in {files} invalid ({counts})",
            style.error("failed:"),
            summary.invalid
        )
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Expands tabs so that the caret lines up with what the terminal shows.
fn expand_tabs(s: &str) -> String {
    s.replace('\t', "    ")
}

fn diagnostic(
    out: &mut impl Write,
    d: &Diagnostic,
    path: &str,
    document: Option<usize>,
    lines: &[&str],
    strict: bool,
    style: Style,
) -> std::io::Result<()> {
    let (label, painted) = match d.severity {
        Severity::Error => ("error", style.error(&format!("error[{}]", d.code))),
        Severity::Warning if strict => ("error", style.error(&format!("warning[{}]", d.code))),
        Severity::Warning => ("warning", style.warning(&format!("warning[{}]", d.code))),
    };
    let _ = label;
    writeln!(out, "{painted}: {}", style.bold(&d.message))?;
    let line_no = d.span.start.line as usize;
    let gutter_width = line_no.to_string().len();
    let pad = " ".repeat(gutter_width);
    let doc_note = document.map(|n| format!(" (document {n})")).unwrap_or_default();
    writeln!(
        out,
        "{pad}{} {path}:{}:{}{doc_note}",
        style.gutter("-->"),
        d.span.start.line,
        d.span.start.column
    )?;
    if let Some(source) = line_no.checked_sub(1).and_then(|i| lines.get(i)) {
        let source = source.strip_suffix('\r').unwrap_or(source);
        let col = (d.span.start.column as usize).saturating_sub(1);
        let before: String = source.chars().take(col).collect();
        let width = if d.span.end.line == d.span.start.line && d.span.end.column > d.span.start.column {
            (d.span.end.column - d.span.start.column) as usize
        } else {
            1
        };
        let marked: String = source.chars().skip(col).take(width).collect();
        let caret_pad = " ".repeat(expand_tabs(&before).chars().count());
        let carets = "^".repeat(expand_tabs(&marked).chars().count().max(1));
        let pointer = if d.pointer.is_empty() {
            String::new()
        } else {
            format!(" {}", d.pointer)
        };
        let mark = match d.severity {
            Severity::Error => style.error(&format!("{carets}{pointer}")),
            Severity::Warning => style.warning(&format!("{carets}{pointer}")),
        };
        writeln!(out, "{pad} {}", style.gutter("|"))?;
        writeln!(
            out,
            "{} {} {}",
            style.gutter(&line_no.to_string()),
            style.gutter("|"),
            expand_tabs(source)
        )?;
        writeln!(out, "{pad} {} {caret_pad}{mark}", style.gutter("|"))?;
    } else if !d.pointer.is_empty() {
        writeln!(out, "{pad} {} {}", style.gutter("="), d.pointer)?;
    }
    if let Some(help) = &d.help {
        writeln!(
            out,
            "{pad} {} {}",
            style.gutter("="),
            style.help(&format!("help: {help}"))
        )?;
    }
    writeln!(out)
}
