//! The `--format json` output of `validate`. Its shape is part of our interface (see the
//! README): add fields, never rename or remove them.

use std::io::Write;

use serde::Serialize;

use super::Summary;
use crate::spec::discover::Skipped;
use crate::spec::validate::{FileReport, Origin};
use crate::spec::{Diagnostic, Severity};

#[derive(Serialize)]
struct Output<'a> {
    files: Vec<Entry<'a>>,
    /// Files found in a named folder that are clearly not ModelSpecs, with what they are.
    #[serde(skip_serializing_if = "<[Skipped]>::is_empty")]
    skipped: &'a [Skipped],
    summary: &'a Summary,
}

#[derive(Serialize)]
struct Entry<'a> {
    path: &'a str,
    document: usize,
    valid: bool,
    #[serde(skip_serializing_if = "is_input")]
    origin: Origin,
    errors: Vec<Item<'a>>,
    warnings: Vec<Item<'a>>,
}

fn is_input(o: &Origin) -> bool {
    *o == Origin::Input
}

impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Origin::Input => "input",
            Origin::Referenced => "reference",
        })
    }
}

#[derive(Serialize)]
struct Item<'a> {
    code: &'a str,
    pointer: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

impl<'a> From<&'a Diagnostic> for Item<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        Item {
            code: d.code,
            pointer: &d.pointer,
            line: Some(d.span.start.line),
            column: Some(d.span.start.column),
            message: &d.message,
            help: d.help.as_deref(),
        }
    }
}

/// Writes the whole run as one JSON object.
pub fn render(
    out: &mut impl Write,
    reports: &[FileReport],
    skipped: &[Skipped],
    summary: &Summary,
    strict: bool,
) -> std::io::Result<()> {
    let mut files = Vec::new();
    for r in reports {
        if let Some(io) = &r.io_error {
            files.push(Entry {
                path: &r.path,
                document: 1,
                valid: false,
                origin: r.origin,
                errors: vec![Item {
                    code: crate::spec::validate::codes::IO,
                    pointer: "",
                    line: None,
                    column: None,
                    message: io,
                    help: None,
                }],
                warnings: Vec::new(),
            });
            continue;
        }
        for d in &r.documents {
            let pick = |sev: Severity| {
                d.diagnostics
                    .iter()
                    .filter(|x| x.severity == sev)
                    .map(Item::from)
                    .collect()
            };
            files.push(Entry {
                path: &r.path,
                document: d.index,
                valid: d.is_valid(strict),
                origin: r.origin,
                errors: pick(Severity::Error),
                warnings: pick(Severity::Warning),
            });
        }
    }
    serde_json::to_writer_pretty(
        &mut *out,
        &Output {
            files,
            skipped,
            summary,
        },
    )
    .map_err(std::io::Error::other)?;
    writeln!(out)
}
