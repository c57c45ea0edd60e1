//! `modelspec verify REPORT [--spec FILE]`: does a filed report still hold?
//!
//! The work is in [`crate::report::verify`]; this module finds the spec files (named with
//! `--spec`, else where the report says they were), prints the result and sets the exit code:
//! 0 when everything matches, 1 on any difference, 2 when the report cannot be verified.

use std::path::{Path, PathBuf};

use super::error::CliError;
use super::exit;
use crate::report::SpecInfo;
use crate::report::verify::{SpecSource, verify};

/// Output of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyFormat {
    /// One line per check, for people.
    Human,
    /// `{"holds", "matched", "differences"}`.
    Json,
}

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// The report (`scan --format json`).
    pub report: PathBuf,
    /// Spec files to use instead of the paths the report records.
    pub specs: Vec<PathBuf>,
    /// Output format.
    pub format: VerifyFormat,
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    let text =
        std::fs::read_to_string(&req.report).map_err(|e| CliError::Io(format!("{}: {e}", req.report.display())))?;
    let origin = req.report.display().to_string();
    let mut spec_for = |info: &SpecInfo| locate(info, &req.specs);
    let verification = verify(&text, &origin, &mut spec_for).map_err(CliError::Input)?;
    match req.format {
        VerifyFormat::Json => {
            let out = serde_json::json!({
                "holds": verification.holds(),
                "matched": verification.matched,
                "differences": verification.differences,
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        VerifyFormat::Human => {
            for m in &verification.matched {
                println!("ok       {m}");
            }
            for d in &verification.differences {
                println!("DIFFERS  {}: {}", d.subject, d.detail);
            }
            if verification.holds() {
                println!("\n{origin}: the report holds");
            } else {
                println!(
                    "\n{origin}: the report does not hold ({} difference{})",
                    verification.differences.len(),
                    if verification.differences.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(if verification.holds() { exit::OK } else { exit::CHANGED })
}

/// The spec file a section was judged against: one `--spec` stands for every section; several
/// are matched by the recorded path, then by file name; with none, the recorded path is read
/// (the demo's spec is compiled in).
fn locate(info: &SpecInfo, given: &[PathBuf]) -> Result<SpecSource, String> {
    let recorded = Path::new(&info.path);
    let chosen: PathBuf = match given {
        [] if info.path == "<demo>" => {
            return Ok(SpecSource {
                path: "<demo>".into(),
                bytes: super::scan::DEMO_SPEC.as_bytes().to_vec(),
            });
        }
        [] => recorded.to_path_buf(),
        [one] => one.clone(),
        several => several
            .iter()
            .find(|p| p.as_path() == recorded)
            .or_else(|| several.iter().find(|p| p.file_name() == recorded.file_name()))
            .cloned()
            .ok_or_else(|| format!("none of the --spec files is {}", info.path))?,
    };
    std::fs::read(&chosen)
        .map(|bytes| SpecSource {
            path: chosen.display().to_string(),
            bytes,
        })
        .map_err(|e| format!("{}: {e}", chosen.display()))
}
