//! `modelspec verify REPORT [--spec FILE] [--key PUB [--signature FILE]]`: does a filed report
//! still hold?
//!
//! The work is in [`crate::report::verify`]; this module finds the spec files (named with
//! `--spec`, else where the report says they were), prints the result and sets the exit code:
//! 0 when everything matches, 1 on any difference, 2 when the report cannot be verified. With
//! `--key`, the report's SSH signature ([`crate::signature`]) is one more thing that must
//! match: a missing, untrusted or broken signature is a difference (subject `signature`), so
//! it fails the report like an edited finding does; a trusted-keys file that cannot be read is
//! an error (exit 2), since nothing was checked.

use std::path::{Path, PathBuf};

use super::error::CliError;
use super::exit;
use crate::report::SpecInfo;
use crate::report::verify::{Difference, SpecSource, verify};
use crate::signature::{TrustedKeys, check, signature_path};

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
    /// Trusted public keys: check the report's signature with them.
    pub key: Option<PathBuf>,
    /// The signature file (default `REPORT.sig`).
    pub signature: Option<PathBuf>,
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    let bytes = std::fs::read(&req.report).map_err(|e| CliError::Io(format!("{}: {e}", req.report.display())))?;
    let origin = req.report.display().to_string();
    // The trusted keys are read first: a wrong --key path is an error before any work.
    let trusted = req
        .key
        .as_deref()
        .map(TrustedKeys::load)
        .transpose()
        .map_err(|e| CliError::Input(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        CliError::Input(format!(
            "{origin}: not UTF-8 text ({e}); verify reads `scan --format json` reports"
        ))
    })?;
    let mut spec_for = |info: &SpecInfo| locate(info, &req.specs);
    let mut verification = verify(text, &origin, &mut spec_for).map_err(CliError::Input)?;
    if let Some(trusted) = &trusted {
        let signature = req.signature.clone().unwrap_or_else(|| signature_path(&req.report));
        // First among the results: whether the report is the one its signer filed.
        match check(trusted, &bytes, &signature) {
            Ok(signer) => verification.matched.insert(
                0,
                format!("signature {}: signed by {signer}, a trusted key", signature.display()),
            ),
            Err(e) => verification.differences.insert(
                0,
                Difference {
                    subject: "signature".into(),
                    detail: e.to_string(),
                },
            ),
        }
    }
    // Written at once through `write_stdout`: a closed pipe (`verify ... | head`) is not an error.
    let mut out = String::new();
    match req.format {
        VerifyFormat::Json => {
            let json = serde_json::json!({
                "holds": verification.holds(),
                "matched": verification.matched,
                "differences": verification.differences,
            });
            out.push_str(&serde_json::to_string_pretty(&json).unwrap_or_default());
            out.push('\n');
        }
        VerifyFormat::Human => {
            for m in &verification.matched {
                out.push_str(&format!("ok       {m}\n"));
            }
            for d in &verification.differences {
                out.push_str(&format!("DIFFERS  {}: {}\n", d.subject, d.detail));
            }
            if verification.holds() {
                out.push_str(&format!("\n{origin}: the report holds\n"));
            } else {
                out.push_str(&format!(
                    "\n{origin}: the report does not hold ({} difference{})\n",
                    verification.differences.len(),
                    if verification.differences.len() == 1 { "" } else { "s" }
                ));
            }
        }
    }
    super::output::write_stdout(out.as_bytes()).map_err(CliError::Io)?;
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
