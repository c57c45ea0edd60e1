//! The table report (`--format table`, the default): findings grouped by domain, then a
//! one-line summary. Under [`TABLE_WIDTH`] columns each finding is a line (status, check,
//! declared → observed) with its message, remediation, waiver and field indented below; from
//! it on, a six-column table per domain. Values are written for people ([`human`]). Colour
//! only when asked: the CLI decides colour and width apart (`cli::style`).

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::{Report, Summary, human};
use crate::check::{Finding, Status};
use crate::waivers::WaiverState;

/// How wide values may get in the table before they are cut, in characters.
const MAX_VALUE: usize = 40;
/// The width when none is given (a pipe without `COLUMNS`).
pub const DEFAULT_WIDTH: u16 = 80;
/// From this width on, findings are drawn as a six-column table; below it, as lines.
pub const TABLE_WIDTH: usize = 160;
/// Narrower widths are drawn as if this wide.
const MIN_WIDTH: usize = 40;
/// Below this room, declared → observed goes on a line of its own.
const MIN_VALUES: usize = 16;
/// The status column: as wide as `UNKNOWN`.
const STATUS_WIDTH: usize = 7;
/// ANSI dim, for the field line.
const DIM: &str = "2";

/// How to draw the table.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// ANSI colors for the status column.
    pub color: bool,
    /// Width in characters; `None` is [`DEFAULT_WIDTH`]. Under [`TABLE_WIDTH`] each finding
    /// is a few lines, from it on a row of a table.
    pub width: Option<u16>,
    /// List `skip` findings too (otherwise they are counted in one line per domain).
    pub show_skipped: bool,
}

/// Writes the findings tables and the summary line: for one spec, its findings; for several,
/// a section per spec, then the node's own findings, then the totals.
pub fn render(out: &mut impl Write, report: &Report, options: TableOptions) -> std::io::Result<()> {
    let width = usize::from(options.width.unwrap_or(DEFAULT_WIDTH)).max(MIN_WIDTH);
    if let [section] = report.specs.as_slice()
        && report.node.is_empty()
    {
        let head = format!(
            "modelspec scan: {} ({}) on {}",
            section.spec.name, section.spec.path, report.target_host
        );
        say(out, &head, width)?;
        findings(out, &section.findings, options)?;
        summary_line(out, "", &report.summary, width)?;
        return waiver_notes(out, report, width);
    }
    let head = format!(
        "modelspec scan: {} spec(s) on {}",
        report.specs.len(),
        report.target_host
    );
    say(out, &head, width)?;
    for section in &report.specs {
        let document = if section.spec.document > 1 {
            format!(" document {}", section.spec.document)
        } else {
            String::new()
        };
        let head = format!("\n━━ {} ({}{document}) ━━", section.spec.name, section.spec.path);
        say(out, &head, width)?;
        findings(out, &section.findings, options)?;
        summary_line(out, &format!("{}: ", section.spec.name), &section.summary, width)?;
    }
    if !report.node.is_empty() {
        writeln!(out, "\n━━ node: across the specs ━━")?;
        findings(out, &report.node, options)?;
    }
    summary_line(out, "total: ", &report.summary, width)?;
    waiver_notes(out, report, width)
}

/// `text` wrapped to `width`, its continuation lines indented by two.
fn say(out: &mut impl Write, text: &str, width: usize) -> std::io::Result<()> {
    for line in wrap(text, width, 2) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn summary_line(out: &mut impl Write, prefix: &str, s: &Summary, width: usize) -> std::io::Result<()> {
    let waived = if s.waived > 0 {
        format!(", {} waived", s.waived)
    } else {
        String::new()
    };
    let line = format!(
        "\n{prefix}{} pass, {} fail, {} warn, {} unknown, {} skip{waived}",
        s.pass, s.fail, s.warn, s.unknown, s.skip
    );
    say(out, &line, width)
}

/// Waivers that did not apply: expired ones (their drift counts again) and unused ones.
fn waiver_notes(out: &mut impl Write, report: &Report, width: usize) -> std::io::Result<()> {
    for o in report.waivers.iter().flat_map(|w| &w.outcomes) {
        match o.state {
            WaiverState::Expired => say(
                out,
                &format!(
                    "waiver expired on {}: {} {} ({}); its finding counts again",
                    o.waiver.expires, o.waiver.code, o.waiver.pointer, o.waiver.owner
                ),
                width,
            )?,
            WaiverState::Unused => say(
                out,
                &format!(
                    "waiver unused: {} {} matched no drift; remove it if the drift is gone",
                    o.waiver.code, o.waiver.pointer
                ),
                width,
            )?,
            WaiverState::Applied => {}
        }
    }
    Ok(())
}

/// The findings by domain, as lines or as a table by width; then the line counting what was
/// skipped.
fn findings(out: &mut impl Write, findings: &[Finding], options: TableOptions) -> std::io::Result<()> {
    let width = usize::from(options.width.unwrap_or(DEFAULT_WIDTH));
    if width >= TABLE_WIDTH {
        tables(out, findings, options)?;
    } else {
        lines(out, findings, options)?;
    }
    if !options.show_skipped {
        skipped_line(out, findings, width.max(MIN_WIDTH))?;
    }
    Ok(())
}

/// The findings shown, each with its message: said once when several in a row say the same.
fn shown(findings: &[Finding], show_skipped: bool) -> Vec<(&Finding, &str)> {
    let mut previous: Option<&Finding> = None;
    let mut rows = Vec::new();
    for f in findings.iter().filter(|f| show_skipped || shown_when_skipped(f)) {
        // One unobservable source makes many rows say the same long thing: say it once.
        let same = previous.is_some_and(|p| p.domain == f.domain && p.message == f.message);
        rows.push((f, if same { "(same as above)" } else { f.message.as_str() }));
        previous = Some(f);
    }
    rows
}

/// The remediation, shown for fail and warn.
fn remediation(f: &Finding) -> Option<&str> {
    f.remediation
        .as_deref()
        .filter(|_| matches!(f.status, Status::Fail | Status::Warn))
}

/// The remediation and the waiver, as lines under the message in a table cell.
fn notes(f: &Finding) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(r) = remediation(f) {
        notes.push(format!("→ {r}"));
    }
    if let Some(w) = &f.waiver {
        notes.push(format!(
            "waived ({}) by {} until {}: {}",
            w.status.as_str(),
            w.owner,
            w.expires,
            w.reason
        ));
    }
    notes
}

/// Narrow terminals: per finding, a line with the status, the check and declared → observed,
/// then the message, the remediation, the waiver and the field, indented and wrapped.
fn lines(out: &mut impl Write, findings: &[Finding], options: TableOptions) -> std::io::Result<()> {
    let width = usize::from(options.width.unwrap_or(DEFAULT_WIDTH)).max(MIN_WIDTH);
    let indent = " ".repeat(STATUS_WIDTH + 2);
    let mut domain = None;
    for (f, message) in shown(findings, options.show_skipped) {
        if domain != Some(f.domain) {
            domain = Some(f.domain);
            writeln!(out, "\n{}", f.domain.as_str().to_uppercase())?;
        }
        let status = f.status.as_str().to_uppercase();
        let pad = " ".repeat(STATUS_WIDTH.saturating_sub(status.chars().count()) + 2);
        let room = width.saturating_sub(indent.len() + f.code.chars().count() + 2);
        let pair = values(f, room);
        let head = paint(&status, status_color(f.status), options.color);
        if pair.is_empty() {
            writeln!(out, "{head}{pad}{}", f.code)?;
        } else if room >= MIN_VALUES {
            writeln!(out, "{head}{pad}{}  {pair}", f.code)?;
        } else {
            writeln!(out, "{head}{pad}{}", f.code)?;
            writeln!(out, "{indent}{}", values(f, width - indent.len()))?;
        }
        let body = width - indent.len();
        for line in wrap(message, body, 0) {
            writeln!(out, "{indent}{line}")?;
        }
        if let Some(r) = remediation(f) {
            for line in wrap(&format!("→ {r}"), body, 2) {
                writeln!(out, "{indent}{line}")?;
            }
        }
        if let Some(w) = &f.waiver {
            // The terms on one line, the reason below them, so that it reads as one.
            let terms = format!("waived ({}) by {} until {}:", w.status.as_str(), w.owner, w.expires);
            for line in wrap(&terms, body, 2) {
                writeln!(out, "{indent}{line}")?;
            }
            for line in wrap(&w.reason, body.saturating_sub(2), 0) {
                writeln!(out, "{indent}  {line}")?;
            }
        }
        for line in wrap(&format!("field {}", f.pointer), body, 2) {
            writeln!(out, "{indent}{}", paint(&line, DIM, options.color))?;
        }
    }
    Ok(())
}

/// `declared → observed` in at most `room` characters (about); either side alone says which.
fn values(f: &Finding, room: usize) -> String {
    let declared = human::value(&f.declared);
    let observed = human::value(&f.observed);
    match (declared.is_empty(), observed.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!("observed {}", human::cut(&observed, room.saturating_sub(9))),
        (false, true) => format!(
            "declared {}, not observed",
            human::cut(&declared, room.saturating_sub(23))
        ),
        (false, false) => {
            let room = room.saturating_sub(3);
            let (d, o) = (declared.chars().count(), observed.chars().count());
            // Each side gets half the room, and what the other leaves.
            let half = room / 2;
            let (d_room, o_room) = if d + o <= room {
                (d, o)
            } else if d <= half {
                (d, room - d)
            } else if o <= half {
                (room - o, o)
            } else {
                (half, room - half)
            };
            format!("{} → {}", human::cut(&declared, d_room), human::cut(&observed, o_room))
        }
    }
}

/// Wide terminals: one six-column table per domain.
fn tables(out: &mut impl Write, findings: &[Finding], options: TableOptions) -> std::io::Result<()> {
    let TableOptions { color, width, .. } = options;
    let mut domain = None;
    let mut table = new_table(color, width);
    for (f, message) in shown(findings, options.show_skipped) {
        if domain != Some(f.domain) {
            if domain.is_some() {
                writeln!(out, "{table}")?;
                table = new_table(color, width);
            }
            domain = Some(f.domain);
            writeln!(out, "\n{}", f.domain.as_str().to_uppercase())?;
        }
        let mut text = message.to_string();
        for note in notes(f) {
            text.push('\n');
            text.push_str(&note);
        }
        table.add_row(vec![
            status_cell(f.status, color),
            Cell::new(&f.code),
            Cell::new(&f.pointer),
            Cell::new(human::short(&f.declared, MAX_VALUE)),
            Cell::new(human::short(&f.observed, MAX_VALUE)),
            Cell::new(text),
        ]);
    }
    if domain.is_some() {
        writeln!(out, "{table}")?;
    }
    Ok(())
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word is split);
/// lines after the first of each paragraph are indented by `hang`.
fn wrap(text: &str, width: usize, hang: usize) -> Vec<String> {
    let width = width.max(hang + 1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let first = lines.len();
        let (mut line, mut len, mut words) = (String::new(), 0, 0);
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let mut rest: Vec<char> = word.chars().collect();
            while !rest.is_empty() {
                let sep = usize::from(words > 0);
                if len + sep + rest.len() <= width {
                    if sep == 1 {
                        line.push(' ');
                    }
                    len += sep + rest.len();
                    line.extend(rest.drain(..));
                    words += 1;
                    continue;
                }
                if words == 0 {
                    // A word longer than a line: as much as fits here, the rest below.
                    let fits = width.saturating_sub(len).clamp(1, rest.len());
                    line.extend(rest.drain(..fits));
                }
                lines.push(std::mem::replace(&mut line, " ".repeat(hang)));
                (len, words) = (hang, 0);
            }
        }
        if words > 0 || lines.len() == first {
            lines.push(line);
        }
    }
    lines
}

/// Whether a finding has a row without `--show-skipped`: everything but skips, and the skips
/// that say which workload a spec is and that it is not deployed here (why the rest is skipped).
fn shown_when_skipped(f: &Finding) -> bool {
    f.status != Status::Skip
        || f.code == crate::check::host::WORKLOAD.code
        || f.code == crate::check::node::NOT_DEPLOYED.code
}

/// One line naming how many fields were not checked, by domain.
fn skipped_line(out: &mut impl Write, findings: &[Finding], width: usize) -> std::io::Result<()> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for f in findings.iter().filter(|f| !shown_when_skipped(f)) {
        match counts.iter_mut().find(|(d, _)| *d == f.domain.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((f.domain.as_str(), 1)),
        }
    }
    if counts.is_empty() {
        return Ok(());
    }
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = counts.iter().map(|(d, n)| format!("{d} {n}")).collect();
    let line = format!(
        "\nskipped {total} field(s) not checked on a node yet or not observable ({}); --show-skipped lists them",
        parts.join(", ")
    );
    say(out, &line, width)
}

fn new_table(color: bool, width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["status", "check", "field", "declared", "observed", "message"]);
    if let Some(w) = width {
        t.set_width(w);
    }
    if !color {
        t.force_no_tty();
    }
    t
}

fn status_cell(status: Status, color: bool) -> Cell {
    let cell = Cell::new(status.as_str().to_uppercase());
    if !color {
        return cell;
    }
    match status {
        Status::Pass => cell.fg(Color::Green),
        Status::Fail => cell.fg(Color::Red),
        Status::Warn => cell.fg(Color::Yellow),
        Status::Unknown => cell.fg(Color::Magenta),
        Status::Skip => cell.fg(Color::DarkGrey),
        Status::Waived => cell.fg(Color::Cyan),
    }
}

/// The ANSI colour of a status, as the table draws it.
fn status_color(status: Status) -> &'static str {
    match status {
        Status::Pass => "32",
        Status::Fail => "31",
        Status::Warn => "33",
        Status::Unknown => "35",
        Status::Skip => "90",
        Status::Waived => "36",
    }
}

/// `text` in the ANSI style `code` when colours are on.
fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_spaces_and_splits_only_longer_words() {
        assert_eq!(wrap("aa bb cc", 5, 0), ["aa bb", "cc"]);
        assert_eq!(wrap("→ aa bb cc", 6, 2), ["→ aa", "  bb", "  cc"]);
        assert_eq!(wrap("abcdefgh", 3, 0), ["abc", "def", "gh"]);
        assert_eq!(wrap("a\n\nb", 3, 0), ["a", "", "b"]);
        assert_eq!(wrap("", 3, 0), [""]);
        for line in wrap("field /spec/runtime/environment/variables/VLLM_LOGGING_LEVEL", 20, 2) {
            assert!(line.chars().count() <= 20, "{line}");
        }
    }
}
