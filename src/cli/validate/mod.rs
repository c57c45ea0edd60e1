//! `modelspec validate`: discover files, validate them, render, and compute the exit code.

pub(crate) mod human;
mod json;

use std::io::Write;
use std::path::PathBuf;

use super::error::CliError;
use super::style::Style;
use super::{ColorChoice, Format, exit};
use crate::spec::discover::discover;
use crate::spec::lint::LINTS;
use crate::spec::validate::{FileReport, Options, Origin, validate_inputs};
use crate::spec::{Limits, Severity};

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// Paths named on the command line.
    pub paths: Vec<PathBuf>,
    /// Output format.
    pub format: Format,
    /// Run lints.
    pub lint: bool,
    /// Warnings fail.
    pub strict: bool,
    /// File size cap.
    pub max_file_bytes: u64,
    /// Colors.
    pub color: ColorChoice,
}

/// Counts over a run, shared by both renderers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Files reported (inputs plus files reached through specRef).
    pub files: usize,
    /// Documents reported.
    pub documents: usize,
    /// Documents that pass.
    pub valid: usize,
    /// Documents that fail (including unreadable files).
    pub invalid: usize,
    /// Error diagnostics.
    pub errors: usize,
    /// Warning diagnostics.
    pub warnings: usize,
}

impl Summary {
    pub(crate) fn of(reports: &[FileReport], strict: bool) -> Self {
        let mut s = Summary {
            files: reports.len(),
            ..Summary::default()
        };
        for r in reports {
            if r.io_error.is_some() {
                s.documents += 1;
                s.invalid += 1;
                s.errors += 1;
                continue;
            }
            for d in &r.documents {
                s.documents += 1;
                if d.is_valid(strict) {
                    s.valid += 1;
                } else {
                    s.invalid += 1;
                }
                for diag in &d.diagnostics {
                    match diag.severity {
                        Severity::Error => s.errors += 1,
                        Severity::Warning => s.warnings += 1,
                    }
                }
            }
        }
        s
    }
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    let found = discover(&req.paths);
    let (inputs, missing) = (found.inputs, found.missing);
    let options = Options {
        lint: req.lint,
        strict: req.strict,
        limits: Limits {
            max_file_bytes: req.max_file_bytes,
            ..Limits::default()
        },
    };
    let mut reports = validate_inputs(&inputs, &options);
    // A path that cannot be found or listed is reported like an unreadable file, so that JSON
    // consumers see it too.
    reports.extend(missing.iter().map(|m| FileReport {
        path: m.path.display().to_string(),
        origin: Origin::Input,
        io_error: Some(format!("{}: {}", m.path.display(), m.message)),
        documents: Vec::new(),
        text: None,
    }));
    let summary = Summary::of(&reports, req.strict);

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match req.format {
        Format::Human => human::render(
            &mut out,
            &reports,
            &found.skipped,
            &summary,
            req.strict,
            Style::new(req.color),
        ),
        Format::Json => json::render(&mut out, &reports, &found.skipped, &summary, req.strict),
    };
    // A closed pipe (`| head`) is not our failure; anything else is worth a word.
    if let Err(e) = written.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(CliError::Io(format!("cannot write output: {e}")));
    }

    if reports.iter().any(|r| r.io_error.is_some()) {
        // Each unreadable file is in the output already.
        Ok(exit::ERROR)
    } else if inputs.is_empty() {
        Err(CliError::Usage(match found.skipped.len() {
            0 => "no *.yaml, *.yml or *.json files found under the given paths".to_string(),
            n => format!("no ModelSpec found under the given paths ({n} other YAML file(s) skipped)"),
        }))
    } else if summary.invalid > 0 {
        Ok(exit::INVALID)
    } else {
        Ok(exit::OK)
    }
}

/// Prints every diagnostic code the validator can emit.
pub fn print_codes() {
    let mut out = std::io::stdout().lock();
    let mut scan_heading = false;
    let codes = all_codes();
    let width = codes.iter().map(|(code, _, _)| code.len()).max().unwrap_or(0);
    for (code, severity, summary) in codes {
        if severity == "check" && !scan_heading {
            scan_heading = true;
            let _ = writeln!(out, "\nscan checks (src/check/):");
        }
        let _ = writeln!(out, "{code:<width$} {severity:<8} {summary}");
    }
}

/// Every code with its severity (`error`, `warning`, or `check` for scan checks) and summary.
pub fn all_codes() -> Vec<(&'static str, &'static str, &'static str)> {
    use crate::spec::{schema, validate, yaml};
    let fixed: &[(&str, &str, &str)] = &[
        (validate::codes::IO, "error", "the file cannot be read (exit code 2)"),
        (validate::codes::ENCODING, "error", "the file is not UTF-8"),
        (validate::codes::TOO_LARGE, "error", "the file exceeds --max-file-size"),
        (
            validate::codes::JSON_SYNTAX,
            "error",
            "a .json file is not well-formed JSON",
        ),
        (
            yaml::codes::SYNTAX,
            "error",
            "not well-formed YAML, or syntax PyYAML rejects (tabs, control characters)",
        ),
        (yaml::codes::DUPLICATE_KEY, "error", "a mapping repeats a key"),
        (
            yaml::codes::LIMIT,
            "error",
            "nesting, node, alias or document count over the loader's limits",
        ),
        (yaml::codes::TAG, "error", "a tag the safe loader cannot construct"),
        (
            yaml::codes::VALUE,
            "error",
            "a typed YAML 1.1 scalar that cannot be built (2024-02-30, 0x_)",
        ),
        (yaml::codes::EMPTY, "error", "no document, or an empty one"),
        (schema::codes::TYPE, "error", "wrong JSON type"),
        (schema::codes::REQUIRED, "error", "missing required field"),
        (schema::codes::UNKNOWN_FIELD, "error", "field not defined by the schema"),
        (schema::codes::ENUM, "error", "not one of the allowed values"),
        (schema::codes::CONST, "error", "not the required value"),
        (schema::codes::MINIMUM, "error", "below the minimum"),
        (schema::codes::MAXIMUM, "error", "above the maximum"),
        (
            schema::codes::FOREIGN_API_VERSION,
            "error",
            "kind ModelSpec of another format: an apiVersion of another API group",
        ),
    ];
    let mut all: Vec<(&'static str, &'static str, &'static str)> = fixed.to_vec();
    for l in LINTS {
        let severity = match l.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        all.push((l.code, severity, l.summary));
    }
    all.extend_from_slice(crate::waivers::CODES);
    all.extend(
        crate::check::CHECKS
            .iter()
            .map(|check| (check.code, "check", check.summary)),
    );
    all
}
