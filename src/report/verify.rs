//! Checking a filed report: do its hashes and verdicts still follow from what it records?
//!
//! A report embeds the observation it judged, the hash of each spec file, the inputs and the
//! waivers. Verifying recomputes the observation's hash from the report's own text, hashes
//! the spec files as they are now, and derives every finding again through the same path as
//! the scan ([`super::derive`]). Each difference is listed: an edited finding or count, an
//! observation changed after the fact, a spec changed since. Nothing here reads a clock, so a
//! report verifies the same way on any day.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::check::{Finding, Inputs};
use crate::spec::validate::{syntax_for, typed_documents};
use crate::spec::{Limits, ModelSpec};
use crate::waivers::Waiver;

use super::derive::{Judged, day_of, derive, observation_sha256};
use super::{Report, SCHEMA, SpecInfo, Summary};
use crate::digest::sha256_hex;

/// A spec file's bytes as they are now, and where they were read.
pub struct SpecSource {
    /// Where the bytes came from (shown in messages).
    pub path: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// One thing that no longer matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Where in the report (`specs[0] accelerator-type /spec/...`, `observation`, `summary`).
    pub subject: String,
    /// What differs, in one sentence.
    pub detail: String,
}

/// The result of verifying one report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// What was recomputed and matched.
    pub matched: Vec<String>,
    /// What did not match.
    pub differences: Vec<Difference>,
}

impl Verification {
    /// Whether the report still holds.
    pub fn holds(&self) -> bool {
        self.differences.is_empty()
    }
}

/// A spec file as it is now: where it was read, the hash of its bytes, and its valid ModelSpec
/// documents by index (1-based). Read once and shared: `fleet` verifies thousands of reports
/// against a handful of spec files.
#[derive(Debug)]
pub struct SpecFile {
    /// Where the bytes came from (shown in messages).
    pub path: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// The valid documents, with their index in the file.
    pub documents: Vec<(usize, ModelSpec)>,
}

impl SpecFile {
    /// Hashes and parses a spec file's bytes.
    pub fn read(source: SpecSource) -> SpecFile {
        let text = String::from_utf8_lossy(&source.bytes);
        let text = text.trim_start_matches('\u{feff}');
        let syntax = syntax_for(std::path::Path::new(&source.path));
        SpecFile {
            sha256: sha256_hex(&source.bytes),
            documents: typed_documents(text, syntax, &Limits::default()),
            path: source.path,
        }
    }
}

/// A report read for verifying: the typed report, and the hash of its observation as written.
pub struct Loaded {
    /// The report.
    pub report: Report,
    /// [`observation_sha256`] of the embedded observation's JSON as the report holds it
    /// (`None` without one).
    pub observation_sha256: Option<String>,
}

/// The two fields read before the rest: the schema, and the observation's text.
#[derive(Deserialize)]
struct Outline<'a> {
    #[serde(default, borrow)]
    schema: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    observation: Option<&'a serde_json::value::RawValue>,
}

/// Reads a report's text. The error says why it is not a report this version can verify: not
/// JSON, not a report, or another schema (`newer` when it names a later version).
///
/// The report is parsed straight into its types, not through a JSON tree: a fleet reads
/// thousands. The observation's hash is defined over its canonical JSON (keys sorted,
/// compact), which is how this version embeds it: the embedded line is hashed as it stands
/// ([`super::canonical::embedded`]). Failing that (a report from an older version, or
/// re-indented), it is computed from the typed observation: when that matches the hash the
/// report records, the observation the findings are derived from is exactly the one the scan
/// hashed. Otherwise (an observation edited, or written by a version with other fields) it is
/// computed from the text as written, as it always was, and the difference is reported.
pub fn load(text: &[u8], origin: &str) -> Result<Loaded, LoadError> {
    let report: Report = match parse_fast(text) {
        Some(report) => report,
        None => serde_json::from_slice(text).map_err(|e| why_not(text, origin, e))?,
    };
    if report.schema != SCHEMA {
        return Err(other_schema(&report.schema, origin));
    }
    let recorded = report.provenance.as_ref().map(|p| p.observation_sha256.as_str());
    // As written (this version's reports), then from the types, then from the text.
    let as_written = report
        .observation
        .as_ref()
        .and_then(|_| super::canonical::embedded(text))
        .map(sha256_hex)
        .filter(|hash| Some(hash.as_str()) == recorded);
    let typed = as_written.or_else(|| {
        report
            .observation
            .as_ref()
            .and_then(|o| super::canonical::sha256(o).ok())
    });
    let observation_sha256 = match typed {
        Some(hash) if Some(hash.as_str()) == recorded => Some(hash),
        Some(_) => {
            let outline: Outline<'_> = serde_json::from_slice(text).map_err(|e| not_json(origin, &e))?;
            match outline.observation.map(|o| o.get()) {
                Some(raw) => Some(observation_sha256(
                    &serde_json::from_str(raw).map_err(|e| not_json(origin, &e))?,
                )),
                None => None,
            }
        }
        None => None,
    };
    Ok(Loaded {
        report,
        observation_sha256,
    })
}

/// The report parsed by simd-json, two to three times faster than serde_json on a report
/// (`fleet` reads thousands; BENCHMARKS.md); `None` when it does not parse, and serde_json
/// reads it again to say why in its words (line and column).
fn parse_fast(text: &[u8]) -> Option<Report> {
    thread_local! {
        // simd-json parses in place: a copy, and its working buffers, each thread keeps (a
        // fresh allocation per report is fresh pages from the kernel every time).
        static SCRATCH: std::cell::RefCell<(Vec<u8>, simd_json::Buffers)> =
            std::cell::RefCell::new((Vec::new(), simd_json::Buffers::new(0)));
    }
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.try_borrow_mut().ok()?;
        let (copy, buffers) = &mut *scratch;
        copy.clear();
        copy.extend_from_slice(text);
        simd_json::serde::from_slice_with_buffers(copy, buffers).ok()
    })
}

/// Why a text that did not parse as a report is not one: not JSON, another schema, or a
/// report whose fields do not fit.
fn why_not(text: &[u8], origin: &str, e: serde_json::Error) -> LoadError {
    if !matches!(e.classify(), serde_json::error::Category::Data) {
        return not_json(origin, &e);
    }
    if let Ok(outline) = serde_json::from_slice::<Outline<'_>>(text) {
        let schema = outline.schema.as_deref().unwrap_or_default();
        if schema != SCHEMA {
            return other_schema(schema, origin);
        }
    }
    LoadError {
        kind: LoadErrorKind::Unreadable,
        message: format!("{origin}: not a modelspec report: {e}; verify reads `scan --format json` reports"),
    }
}

fn not_json(origin: &str, e: &serde_json::Error) -> LoadError {
    LoadError {
        kind: LoadErrorKind::Unreadable,
        message: format!(
            "{origin}:{}:{}: not JSON: {e}; verify reads `scan --format json` reports",
            e.line(),
            e.column()
        ),
    }
}

fn other_schema(schema: &str, origin: &str) -> LoadError {
    let newer = schema_version(schema).is_some_and(|v| schema_version(SCHEMA).is_some_and(|ours| v > ours));
    LoadError {
        kind: if newer {
            LoadErrorKind::NewerSchema
        } else {
            LoadErrorKind::Unreadable
        },
        message: if newer {
            format!(
                "{origin}: report schema {schema:?} is newer than {SCHEMA:?}; read it with the modelspec version that wrote it, or a later one"
            )
        } else {
            format!(
                "{origin}: report schema {schema:?} is not {SCHEMA:?}; verify it with the modelspec version that wrote it"
            )
        },
    }
}

/// `modelspec.report/v1` -> 1.
fn schema_version(schema: &str) -> Option<u32> {
    schema.strip_prefix("modelspec.report/v")?.parse().ok()
}

/// Why a report could not be read for verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// What kind of failure.
    pub kind: LoadErrorKind,
    /// What, where, and what to do.
    pub message: String,
}

/// The kinds of [`LoadError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// Not JSON, not a report, or another kind of document.
    Unreadable,
    /// A report from a later schema than this version reads.
    NewerSchema,
}

/// Verifies the report in `text`. `spec_for` supplies each section's spec file as it is now.
/// The error says why the report cannot be verified at all (not a report, no observation).
pub fn verify(
    text: &str,
    origin: &str,
    spec_for: &mut dyn FnMut(&SpecInfo) -> Result<SpecSource, String>,
) -> Result<Verification, String> {
    let loaded = load(text.as_bytes(), origin).map_err(|e| e.message)?;
    let mut read = |info: &SpecInfo| spec_for(info).map(|source| std::sync::Arc::new(SpecFile::read(source)));
    verify_loaded(&loaded, origin, &mut read)
}

/// Verifies a loaded report; `spec_for` supplies each section's spec file, read and parsed
/// (a caller verifying many reports reads each file once).
pub fn verify_loaded(
    loaded: &Loaded,
    origin: &str,
    spec_for: &mut dyn FnMut(&SpecInfo) -> Result<std::sync::Arc<SpecFile>, String>,
) -> Result<Verification, String> {
    let report = &loaded.report;
    let provenance = report.provenance.as_ref().ok_or_else(|| {
        format!("{origin}: the report records no provenance (hashes, inputs); it was written by an older modelspec")
    })?;
    let (Some(hash), Some(observation)) = (&loaded.observation_sha256, report.observation.as_ref()) else {
        return Err(format!(
            "{origin}: the report leaves the observation out (`--no-facts`), so its findings cannot be derived again; \
             scan without --no-facts to file verifiable reports"
        ));
    };

    let mut v = Verification {
        matched: Vec::new(),
        differences: Vec::new(),
    };
    if *hash == provenance.observation_sha256 {
        v.matched.push(format!("observation sha256 {hash}"));
    } else {
        v.differences.push(Difference {
            subject: "observation".into(),
            detail: format!(
                "the embedded observation hashes to {hash}, but the report recorded {}: it was changed after the scan",
                provenance.observation_sha256
            ),
        });
    }
    let node = observation.meta.node_name();
    if report.target_host != node {
        v.differences.push(Difference {
            subject: "target_host".into(),
            detail: format!(
                "the report names the node {:?}, but its observation was made on {node:?}",
                report.target_host
            ),
        });
    }

    // Each section's spec, as it is now.
    let mut files: Vec<std::sync::Arc<SpecFile>> = Vec::new();
    for (i, section) in report.specs.iter().enumerate() {
        let info = &section.spec;
        let subject = format!("specs[{i}] ({})", info.name);
        let file = match spec_for(info) {
            Ok(f) => f,
            Err(e) => {
                v.differences.push(Difference {
                    subject,
                    detail: format!("the spec cannot be read: {e}; name it with --spec FILE"),
                });
                continue;
            }
        };
        if file.sha256 == info.sha256 {
            v.matched
                .push(format!("{subject}: {} sha256 {}", file.path, file.sha256));
        } else {
            v.differences.push(Difference {
                subject: subject.clone(),
                detail: format!(
                    "{} hashes to {}, but the report recorded {}: the spec changed since the scan",
                    file.path, file.sha256, info.sha256
                ),
            });
        }
        if file.documents.iter().any(|(document, _)| *document == info.document) {
            files.push(file);
        } else {
            v.differences.push(Difference {
                subject,
                detail: format!(
                    "{} has no valid ModelSpec as document {}; the findings cannot be derived again",
                    file.path, info.document
                ),
            });
        }
    }
    if files.len() != report.specs.len() {
        return Ok(v);
    }
    let specs: Vec<(&SpecInfo, &ModelSpec)> = report
        .specs
        .iter()
        .zip(&files)
        .filter_map(|(section, file)| {
            let spec = file.documents.iter().find(|(d, _)| *d == section.spec.document)?;
            Some((&section.spec, &spec.1))
        })
        .collect();

    let waivers: Vec<Waiver> = report
        .waivers
        .iter()
        .flat_map(|w| w.outcomes.iter().map(|o| o.waiver.clone()))
        .collect();
    let judged: Vec<Judged<'_>> = specs
        .iter()
        .map(|(info, spec)| Judged {
            info: (*info).clone(),
            spec,
        })
        .collect();
    let inputs: Inputs = provenance.inputs.clone();
    let derived = derive(&judged, observation, &inputs, &waivers, day_of(&report.started_at));

    for (i, (section, again)) in report.specs.iter().zip(&derived.sections).enumerate() {
        let before = v.differences.len();
        compare_findings(
            &format!("specs[{i}] ({})", section.spec.name),
            &section.findings,
            &again.findings,
            &mut v,
        );
        compare_summary(&format!("specs[{i}] summary"), &section.summary, &again.summary, &mut v);
        if v.differences.len() == before {
            v.matched.push(format!(
                "specs[{i}] ({}): {} findings derived again, all as reported",
                section.spec.name,
                section.findings.len()
            ));
        }
    }
    compare_findings("node", &report.node, &derived.node, &mut v);
    let mut total = Summary::of(&derived.node);
    for s in &derived.sections {
        total.add(&s.summary);
    }
    compare_summary("summary", &report.summary, &total, &mut v);
    let reported_waivers = report.waivers.as_ref().map(|w| w.outcomes.clone()).unwrap_or_default();
    if reported_waivers != derived.waivers {
        v.differences.push(Difference {
            subject: "waivers".into(),
            detail: "the waivers' states (applied, expired, unused) differ from what the report says".into(),
        });
    }
    Ok(v)
}

/// Lists every finding added, removed or changed, matched by code and pointer.
fn compare_findings(subject: &str, reported: &[Finding], derived: &[Finding], v: &mut Verification) {
    let same = |a: &Finding, b: &Finding| a.code == b.code && a.pointer == b.pointer;
    for r in reported {
        match derived.iter().find(|d| same(d, r)) {
            None => v.differences.push(Difference {
                subject: format!("{subject} {} {}", r.code, r.pointer),
                detail: "the report has this finding, but the spec and observation do not give it".into(),
            }),
            Some(d) if d != r => v.differences.push(Difference {
                subject: format!("{subject} {} {}", r.code, r.pointer),
                detail: describe_change(r, d),
            }),
            Some(_) => {}
        }
    }
    for d in derived {
        if !reported.iter().any(|r| same(r, d)) {
            v.differences.push(Difference {
                subject: format!("{subject} {} {}", d.code, d.pointer),
                detail: format!(
                    "missing from the report: the spec and observation give {}",
                    d.status.as_str()
                ),
            });
        }
    }
}

/// Which fields of a finding differ between the report and the derivation.
fn describe_change(reported: &Finding, derived: &Finding) -> String {
    let (Ok(Json::Object(r)), Ok(Json::Object(d))) = (serde_json::to_value(reported), serde_json::to_value(derived))
    else {
        return "the finding differs".into();
    };
    let mut fields: Vec<String> = Vec::new();
    for (name, value) in &d {
        let was = r.get(name).unwrap_or(&Json::Null);
        if was != value {
            fields.push(format!("{name} reported {} but derived {}", short(was), short(value)));
        }
    }
    for name in r.keys().filter(|k| !d.contains_key(*k)) {
        fields.push(format!("{name} reported but not derived"));
    }
    fields.join("; ")
}

fn short(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text
    }
}

fn compare_summary(subject: &str, reported: &Summary, derived: &Summary, v: &mut Verification) {
    if reported != derived {
        v.differences.push(Difference {
            subject: subject.into(),
            detail: format!(
                "counts reported {} but derived {}",
                serde_json::to_string(reported).unwrap_or_default(),
                serde_json::to_string(derived).unwrap_or_default()
            ),
        });
    }
}
