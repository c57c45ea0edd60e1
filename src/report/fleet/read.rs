//! Reading a fleet's reports: each file verified and reduced to a [`Scan`] as it is read.
//!
//! A node's report is tens to hundreds of KiB, most of it the embedded observation that
//! verification needs and the fleet does not. Workers take files from a shared cursor, read
//! and verify one, keep the few fields the fleet counts (the findings that do not pass, with
//! their message and remedy) and drop the rest before taking the next, so memory stays at a
//! few reports per worker however many files there are. A report that cannot be counted
//! becomes an [`Excluded`] with the reason; nothing here fails the whole read.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{Excluded, Exclusion, Input, NODE_SCOPE};
use crate::check::{Domain, Finding, Status};
use crate::digest::sha256_hex;
use crate::report::SpecInfo;
use crate::report::verify::{LoadErrorKind, SpecFile, load, verify_loaded};

/// The largest report file read: a report embeds an observation of at most
/// [`crate::observe::MAX_FILE_BYTES`], plus its findings.
pub const MAX_REPORT_BYTES: u64 = crate::observe::MAX_FILE_BYTES + 16 * 1024 * 1024;

/// How deep folders are walked for reports (`nodes/<node>.json` is one level).
const MAX_DEPTH: usize = 8;

/// One verified report, reduced to what the fleet counts.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The file, its hash and node.
    pub input: Input,
    /// The node (`target_host`).
    pub node: String,
    /// When the scan started, as written.
    pub started_at: String,
    /// The same, in nanoseconds since the epoch (0 when it does not parse).
    pub started_ns: i128,
    /// One per spec section.
    pub sections: Vec<ScanSection>,
    /// Node-level findings that do not pass.
    pub node_findings: Vec<ScanFinding>,
}

impl Scan {
    /// Every finding that does not pass, with its scope: the spec's name, or [`NODE_SCOPE`].
    pub fn findings(&self) -> impl Iterator<Item = (&str, &ScanFinding)> {
        self.sections
            .iter()
            .flat_map(|s| s.findings.iter().map(move |f| (s.name.as_str(), f)))
            .chain(self.node_findings.iter().map(|f| (NODE_SCOPE, f)))
    }
}

/// One spec section of a report.
#[derive(Debug, Clone)]
pub struct ScanSection {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.version`.
    pub version: Option<String>,
    /// The spec file's hash.
    pub sha256: String,
    /// Whether its workload runs on the node.
    pub deployed: bool,
    /// Findings that fail, warn, are unknown or waived.
    pub findings: Vec<ScanFinding>,
}

/// A finding that does not pass.
#[derive(Debug, Clone)]
pub struct ScanFinding {
    /// Check code.
    pub code: String,
    /// Domain.
    pub domain: Domain,
    /// Status (fail, warn, unknown, waived).
    pub status: Status,
    /// The finding's sentence.
    pub message: String,
    /// Its remedy.
    pub remediation: Option<String>,
}

impl ScanFinding {
    fn of(f: &Finding) -> Option<ScanFinding> {
        matches!(f.status, Status::Fail | Status::Warn | Status::Unknown | Status::Waived).then(|| ScanFinding {
            code: f.code.clone(),
            domain: f.domain,
            status: f.status,
            message: f.message.clone(),
            remediation: f.remediation.clone(),
        })
    }
}

/// Supplies a report section's spec file (read once, shared).
pub type SpecLookup<'a> = dyn Fn(&SpecInfo) -> Result<Arc<SpecFile>, String> + Sync + 'a;

/// Checks a report's detached signature: the signer's fingerprint, or why it does not hold.
pub type SignatureCheck<'a> = dyn Fn(&Path, &[u8]) -> Result<String, String> + Sync + 'a;

/// The report files named: files as given, folders walked for `*.json` (hidden files, such
/// as a writer's `.NAME.tmp-PID`, left out), each file once, in path order. The error names
/// a path that cannot be read at all.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(path, 0, &mut out).map_err(|e| format!("{}: {e}", path.display()))?;
        } else {
            out.push(path.clone());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads, verifies and reduces every file on `threads` workers.
pub fn read_all(
    paths: &[PathBuf],
    spec_for: &SpecLookup<'_>,
    signature: Option<&SignatureCheck<'_>>,
    threads: usize,
) -> (Vec<Scan>, Vec<Excluded>) {
    let cursor = AtomicUsize::new(0);
    let results: Mutex<(Vec<Scan>, Vec<Excluded>)> = Mutex::new((Vec::new(), Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, 64) {
            scope.spawn(|| {
                // One buffer per worker, reused: each report's bytes land in memory already
                // paged in.
                let mut buffer = Vec::new();
                loop {
                    let i = cursor.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let result = read_into(path, &mut buffer, spec_for, signature);
                    let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                    match result {
                        Ok(scan) => r.0.push(scan),
                        Err(excluded) => r.1.push(excluded),
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// One report: read (capped), loaded, its signature checked when required, verified, reduced.
pub fn read_one(
    path: &Path,
    spec_for: &SpecLookup<'_>,
    signature: Option<&SignatureCheck<'_>>,
) -> Result<Scan, Excluded> {
    read_into(path, &mut Vec::new(), spec_for, signature)
}

/// [`read_one`], reading the file into `buffer`.
fn read_into(
    path: &Path,
    buffer: &mut Vec<u8>,
    spec_for: &SpecLookup<'_>,
    signature: Option<&SignatureCheck<'_>>,
) -> Result<Scan, Excluded> {
    let origin = path.display().to_string();
    let exclude = |reason, node: Option<&str>, detail: String| Excluded {
        path: origin.clone(),
        node: node.map(String::from),
        reason,
        detail,
    };
    read_capped(path, buffer).map_err(|e| exclude(Exclusion::Unreadable, None, e))?;
    let bytes: &[u8] = buffer;
    let loaded = load(bytes, &origin).map_err(|e| {
        let kind = match e.kind {
            LoadErrorKind::Unreadable => Exclusion::Unreadable,
            LoadErrorKind::NewerSchema => Exclusion::NewerSchema,
        };
        exclude(kind, None, e.message)
    })?;
    let report = &loaded.report;
    let node = Some(report.target_host.as_str());
    let signed_by = match signature {
        Some(check) => Some(check(path, bytes).map_err(|e| exclude(Exclusion::Signature, node, e))?),
        None => None,
    };
    let mut lookup = |info: &SpecInfo| spec_for(info);
    let verification =
        verify_loaded(&loaded, &origin, &mut lookup).map_err(|e| exclude(Exclusion::NotVerifiable, node, e))?;
    if !verification.holds() {
        let detail = verification
            .differences
            .iter()
            .take(3)
            .map(|d| format!("{}: {}", d.subject, d.detail))
            .collect::<Vec<_>>()
            .join("; ");
        let more = verification.differences.len().saturating_sub(3);
        let detail = if more > 0 {
            format!("{detail}; and {more} more (run `modelspec verify {origin}`)")
        } else {
            detail
        };
        return Err(exclude(Exclusion::DoesNotVerify, node, detail));
    }

    let not_deployed: Vec<&str> = report
        .node
        .iter()
        .filter(|f| f.code == crate::check::node::NOT_DEPLOYED.code)
        .filter_map(|f| f.evidence.raw.get("spec").and_then(|s| s.as_str()))
        .collect();
    let sections = report
        .specs
        .iter()
        .map(|s| ScanSection {
            name: s.spec.name.clone(),
            version: s.spec.version.clone(),
            sha256: s.spec.sha256.clone(),
            deployed: !not_deployed.contains(&s.spec.name.as_str()),
            findings: s.findings.iter().filter_map(ScanFinding::of).collect(),
        })
        .collect();
    Ok(Scan {
        input: Input {
            path: origin.clone(),
            sha256: sha256_hex(bytes),
            node: report.target_host.clone(),
            started_at: report.started_at.clone(),
            signed_by,
        },
        node: report.target_host.clone(),
        started_at: report.started_at.clone(),
        started_ns: crate::report::prom::unix_nanos(&report.started_at).unwrap_or(0),
        sections,
        node_findings: report.node.iter().filter_map(ScanFinding::of).collect(),
    })
}

/// The file's bytes into `bytes`, refusing one larger than [`MAX_REPORT_BYTES`].
fn read_capped(path: &Path, bytes: &mut Vec<u8>) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    bytes.clear();
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_end(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(format!(
            "{}: larger than {} MiB, which no report written by modelspec is",
            path.display(),
            MAX_REPORT_BYTES / (1024 * 1024)
        ));
    }
    Ok(())
}
