//! `modelspec fleet REPORT.json|DIR...`: many nodes' reports merged into one fleet report.
//!
//! The work is in [`crate::report::fleet`]; this module finds the spec files each report is
//! verified against (named with `--spec`, else where the report says they were, each read
//! once), checks signatures when asked, writes the outputs and computes the exit code once:
//! 0 when every node conforms, 1 when a node drifts (or, with `--fail-on`, warns or has
//! unknowns), a node is stale or a report was excluded, 2 when no input can be read at all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use modelspec_probe_gpu::format_rfc3339_utc;

use super::error::CliError;
use super::output::{write_atomically, write_stdout};
use super::scan::OutputTarget;
use crate::report::fleet::read::{SignatureCheck, expand, read_all};
use crate::report::fleet::{self, FleetReport, Options};
use crate::report::verify::{SpecFile, SpecSource};
use crate::report::{FailOn, SpecInfo};
use crate::signature::{TrustedKeys, check_beside};

/// Fleet report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FleetFormat {
    /// Specs, drift and nodes as tables, for people.
    Table,
    /// The fleet report as JSON (`schema/fleet.v1.json`).
    Json,
    /// A Markdown audit report: what drifted first, then specs, matrix, nodes, inputs.
    Markdown,
    /// A self-contained HTML audit report, as the Markdown one, with charts in inline SVG.
    Html,
    /// CTRF JSON (Common Test Report Format): one test per spec and check, one per input.
    Ctrf,
}

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// Report files and folders of them.
    pub inputs: Vec<PathBuf>,
    /// Spec files to verify with instead of the paths the reports record.
    pub specs: Vec<PathBuf>,
    /// Output format on standard output.
    pub format: FleetFormat,
    /// Files to write.
    pub outputs: Vec<OutputTarget<FleetFormat>>,
    /// A node whose latest scan is older is stale.
    pub stale_after: Option<Duration>,
    /// The instant to judge at (RFC 3339), else now.
    pub now: Option<String>,
    /// The lowest status that fails.
    pub fail_on: FailOn,
    /// Worker threads (0: one per CPU).
    pub jobs: usize,
    /// Colors in the table.
    pub color: bool,
    /// Count only reports signed by one of these keys (an OpenSSH public key or
    /// allowed_signers file).
    pub require_signature: Option<PathBuf>,
    /// Sign each written fleet report with this key.
    pub sign_key: Option<PathBuf>,
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    // Thousands of reports, each thousands of small blocks: see `crate::alloc`.
    crate::alloc::small_blocks_from_mimalloc();
    let now = match &req.now {
        Some(now) => {
            if crate::report::prom::unix_nanos(now).is_none() {
                return Err(CliError::Usage(format!(
                    "--now {now:?} is not an RFC 3339 UTC time; use e.g. 2026-12-01T06:00:00Z"
                )));
            }
            now.clone()
        }
        None => format_rfc3339_utc(SystemTime::now()),
    };
    if req.sign_key.is_some() && req.outputs.is_empty() {
        return Err(CliError::Usage(
            "--sign-key signs the files written with -o; add one, e.g. -o json=fleet.json".into(),
        ));
    }
    // Both keys are checked before any report is read: a key that cannot be used fails fast.
    let signer = req.sign_key.as_deref().map(super::sign::load_key).transpose()?;
    let trusted = req
        .require_signature
        .as_deref()
        .map(TrustedKeys::load)
        .transpose()
        .map_err(|e| CliError::Input(e.to_string()))?;
    let paths = expand(&req.inputs).map_err(CliError::Io)?;
    if paths.is_empty() {
        return Err(CliError::Input(format!(
            "no report found in {}; fleet reads `scan --format json` reports (files, or folders of *.json)",
            req.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let specs = Specs::new(&req.specs)?;
    let lookup = |info: &SpecInfo| specs.lookup(info);
    let jobs = match req.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    tracing::info!(reports = paths.len(), jobs, "reading the fleet's reports");
    let check = |path: &Path, bytes: &[u8]| -> Result<String, String> {
        match &trusted {
            Some(keys) => check_beside(keys, path, bytes)
                .map(|f| f.as_str().to_string())
                .map_err(|e| e.to_string()),
            None => Ok(String::new()),
        }
    };
    let signature: Option<&SignatureCheck<'_>> = trusted.is_some().then_some(&check as &SignatureCheck<'_>);
    let (scans, excluded) = read_all(&paths, &lookup, signature, jobs);
    let report = FleetReport::build(
        scans,
        excluded,
        &Options {
            now,
            stale_after_seconds: req.stale_after.map(|d| d.as_secs()),
        },
    );
    for target in &req.outputs {
        let format = target.format.unwrap_or(req.format);
        let bytes = render(format, &report, false, req.fail_on)
            .map_err(|e| CliError::Internal(format!("cannot render the {format:?} fleet report: {e}")))?;
        write_atomically(&target.path, &bytes).map_err(CliError::Io)?;
        if let Some(key) = &signer {
            super::sign::sign_beside(key, &target.path, &bytes)?;
        }
    }
    if !req.outputs.iter().any(|o| o.format.is_none()) {
        let bytes = render(req.format, &report, req.color, req.fail_on)
            .map_err(|e| CliError::Internal(format!("cannot render the fleet report: {e}")))?;
        write_stdout(&bytes).map_err(CliError::Io)?;
    }
    Ok(report.exit_code(req.fail_on))
}

/// Renders the fleet report in `format`.
fn render(format: FleetFormat, report: &FleetReport, color: bool, fail_on: FailOn) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        FleetFormat::Json => {
            serde_json::to_writer_pretty(&mut out, report)?;
            out.push(b'\n');
        }
        FleetFormat::Table => fleet::table::render(&mut out, report, color)?,
        FleetFormat::Markdown => fleet::markdown::render(&mut out, report)?,
        FleetFormat::Html => fleet::html::render(&mut out, report)?,
        FleetFormat::Ctrf => fleet::ctrf::render(&mut out, report, fail_on)?,
    }
    Ok(out)
}

/// The spec files reports are verified against, each read once: those named with `--spec`
/// (matched by content hash, then recorded path, then file name), else the recorded path.
struct Specs {
    given: Vec<(PathBuf, Arc<SpecFile>)>,
    read: Mutex<HashMap<String, Result<Arc<SpecFile>, String>>>,
}

impl Specs {
    fn new(given: &[PathBuf]) -> Result<Specs, CliError> {
        let given = given
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path).map_err(|e| CliError::Io(format!("{}: {e}", path.display())))?;
                let file = SpecFile::read(SpecSource {
                    path: path.display().to_string(),
                    bytes,
                });
                Ok((path.clone(), Arc::new(file)))
            })
            .collect::<Result<Vec<_>, CliError>>()?;
        Ok(Specs {
            given,
            read: Mutex::new(HashMap::new()),
        })
    }

    fn lookup(&self, info: &SpecInfo) -> Result<Arc<SpecFile>, String> {
        let recorded = Path::new(&info.path);
        if !self.given.is_empty() {
            let by_hash = self.given.iter().find(|(_, f)| f.sha256 == info.sha256);
            let by_path = || self.given.iter().find(|(p, _)| p.as_path() == recorded);
            let by_name = || self.given.iter().find(|(p, _)| p.file_name() == recorded.file_name());
            return by_hash
                .or_else(by_path)
                .or_else(by_name)
                .map(|(_, f)| f.clone())
                .ok_or_else(|| format!("none of the --spec files is {} (sha256 {})", info.path, info.sha256));
        }
        let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        read.entry(info.path.clone())
            .or_insert_with(|| {
                let source = if info.path == "<demo>" {
                    SpecSource {
                        path: "<demo>".into(),
                        bytes: super::scan::DEMO_SPEC.as_bytes().to_vec(),
                    }
                } else {
                    let bytes = std::fs::read(recorded).map_err(|e| format!("{}: {e}", info.path))?;
                    SpecSource {
                        path: info.path.clone(),
                        bytes,
                    }
                };
                Ok(Arc::new(SpecFile::read(source)))
            })
            .clone()
    }
}
