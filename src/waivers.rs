//! Waivers: drift a person has accepted for a time (`scan --waivers FILE`).
//!
//! A waiver names one finding (check code, JSON pointer, optionally the spec), says why the
//! drift is accepted and by whom, and when that acceptance ends. Applying waivers is a pure
//! function of the findings, the waivers and the scan's date, so `modelspec verify` can apply
//! the waivers embedded in a report again and get the same verdicts.
//!
//! The file is checked like a spec: the same YAML loader (spans, limits, duplicate keys), a
//! published JSON Schema (`schema/waivers.v1.json`) and then rules the schema cannot say (a
//! known check code, a real calendar date), each a [`Diagnostic`] pointing into the file.
//! A waiver only ever turns `fail`, `warn` or `unknown` into `waived`: a finding that passes
//! again leaves its waiver unused, and the report says so, so that stale waivers get removed.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::check::{AppliedWaiver, CHECKS, Finding, Status};
use crate::spec::diagnostic::{Diagnostic, Severity};
use crate::spec::node::{Foreign, Node, Span, Value, push_pointer};
use crate::spec::schema::Schema;
use crate::spec::validate::{DocumentReport, FileReport, Origin};
use crate::spec::{Limits, Syntax, yaml};

/// Stable codes of waiver-file diagnostics (besides the loader's and the schema's).
pub mod codes {
    /// `code` is not a check code.
    pub const UNKNOWN_CODE: &str = "waiver-unknown-code";
    /// `pointer` is not a JSON pointer.
    pub const POINTER: &str = "waiver-pointer-invalid";
    /// `expires` is not a calendar date.
    pub const EXPIRES: &str = "waiver-expires-invalid";
    /// `reason` or `owner` is blank.
    pub const BLANK: &str = "waiver-blank-field";
    /// Two waivers name the same finding.
    pub const DUPLICATE: &str = "waiver-duplicate";
}

/// Every waiver-file code with its severity and summary, for `modelspec codes`.
pub const CODES: &[(&str, &str, &str)] = &[
    (codes::UNKNOWN_CODE, "error", "a waiver names a code that is no check's"),
    (codes::POINTER, "error", "a waiver's pointer is not a JSON pointer"),
    (codes::EXPIRES, "error", "a waiver's expiry is not a YYYY-MM-DD date"),
    (codes::BLANK, "error", "a waiver's reason or owner is blank"),
    (codes::DUPLICATE, "error", "two waivers name the same finding"),
];

/// One waiver, as written in the file and as embedded in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Waiver {
    /// The check code.
    pub code: String,
    /// The finding's JSON pointer.
    pub pointer: String,
    /// The spec's `metadata.name`; `None` waives the finding in every spec.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub spec: Option<String>,
    /// Why the drift is accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: String,
    /// The last day it applies, `YYYY-MM-DD` (UTC).
    pub expires: String,
}

impl Waiver {
    fn matches(&self, spec: &str, f: &Finding) -> bool {
        self.code == f.code && self.pointer == f.pointer && self.spec.as_deref().is_none_or(|s| s == spec)
    }
}

/// What became of a waiver in one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiverState {
    /// It set aside at least one finding.
    Applied,
    /// Its last day has passed; the findings it names count again.
    Expired,
    /// No finding it names needed it (it passes now, or no longer exists).
    Unused,
}

impl WaiverState {
    /// Lowercase name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverState::Applied => "applied",
            WaiverState::Expired => "expired",
            WaiverState::Unused => "unused",
        }
    }
}

/// A waiver and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct WaiverOutcome {
    /// The waiver.
    #[serde(flatten)]
    pub waiver: Waiver,
    /// Applied, expired or unused.
    pub state: WaiverState,
    /// How many findings it set aside (applied), or would have (expired).
    pub findings: usize,
}

/// A loaded, valid waiver file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverFile {
    /// The path as given.
    pub path: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// The waivers, in file order.
    pub waivers: Vec<Waiver>,
}

/// One section's findings to apply waivers to, with the name of its spec (empty for the
/// node's own findings, which only spec-less waivers reach).
pub struct Target<'a> {
    /// `metadata.name` of the spec.
    pub spec: &'a str,
    /// The findings, changed in place.
    pub findings: &'a mut Vec<Finding>,
}

/// Applies `waivers` on `today` (`YYYY-MM-DD`, the scan's UTC date): each matching `fail`,
/// `warn` or `unknown` finding becomes `waived` unless the waiver has expired. Returns what
/// became of each waiver, in the given order.
pub fn apply(targets: &mut [Target<'_>], waivers: &[Waiver], today: &str) -> Vec<WaiverOutcome> {
    waivers
        .iter()
        .map(|w| {
            let expired = w.expires.as_str() < today;
            let mut findings = 0;
            for t in targets.iter_mut() {
                for f in t.findings.iter_mut() {
                    let waivable = matches!(f.status, Status::Fail | Status::Warn | Status::Unknown);
                    if !waivable || !w.matches(t.spec, f) {
                        continue;
                    }
                    findings += 1;
                    if !expired {
                        f.waiver = Some(AppliedWaiver {
                            status: f.status,
                            reason: w.reason.clone(),
                            owner: w.owner.clone(),
                            expires: w.expires.clone(),
                        });
                        f.status = Status::Waived;
                    }
                }
            }
            let state = match (expired, findings) {
                (true, _) => WaiverState::Expired,
                (false, 0) => WaiverState::Unused,
                (false, _) => WaiverState::Applied,
            };
            WaiverOutcome {
                waiver: w.clone(),
                state,
                findings,
            }
        })
        .collect()
}

/// The published schema, compiled once.
static SCHEMA: LazyLock<Result<Schema, String>> = LazyLock::new(|| Schema::compile(crate::schemas::WAIVERS));

/// Reads and checks a waiver file. On any error the [`FileReport`] holds the diagnostics, to
/// be shown like `validate`'s.
#[allow(clippy::result_large_err)]
pub fn load(path: &std::path::Path) -> Result<WaiverFile, FileReport> {
    let shown = path.display().to_string();
    let syntax = crate::spec::validate::syntax_for(path);
    // Capped and decoded like a spec: a waiver file is a few KiB, and invalid UTF-8 must be a
    // diagnostic at its line and column, not silently replaced (it could hide in a waiver).
    let unusable = |diagnostic: Diagnostic| FileReport {
        path: shown.clone(),
        origin: Origin::Input,
        io_error: None,
        documents: vec![DocumentReport {
            index: 1,
            diagnostics: vec![diagnostic],
        }],
        text: None,
    };
    let bytes = match crate::spec::validate::read_capped(path, Limits::default().max_file_bytes) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(too_large)) => {
            return Err(unusable(
                too_large.with_help("a waiver file is a few KiB; is this the right file?"),
            ));
        }
        Err(io_error) => {
            return Err(FileReport {
                path: shown,
                origin: Origin::Input,
                io_error: Some(io_error),
                documents: Vec::new(),
                text: None,
            });
        }
    };
    let sha256 = crate::digest::sha256_hex(&bytes);
    let text = match crate::spec::validate::decode(bytes, syntax) {
        Ok(text) => text,
        Err(diagnostic) => return Err(unusable(*diagnostic)),
    };
    match parse(&text, syntax) {
        Ok(waivers) => Ok(WaiverFile {
            path: shown,
            sha256,
            waivers,
        }),
        Err(diagnostics) => Err(FileReport {
            path: shown,
            origin: Origin::Input,
            io_error: None,
            documents: vec![DocumentReport { index: 1, diagnostics }],
            text: Some(text),
        }),
    }
}

/// Parses waiver-file text; the error is every diagnostic, in file order.
pub fn parse(text: &str, syntax: Syntax) -> Result<Vec<Waiver>, Vec<Diagnostic>> {
    let docs = yaml::load(text, syntax, &Limits::default());
    let root = match docs.as_slice() {
        [Ok(root)] => root,
        [Err(e)] => {
            return Err(vec![Diagnostic {
                code: e.code,
                severity: Severity::Error,
                pointer: e.pointer.clone(),
                span: e.span,
                message: e.message.clone(),
                help: e.help.clone(),
            }]);
        }
        _ => {
            let span = docs
                .get(1)
                .and_then(|d| d.as_ref().ok())
                .map_or_else(Span::default, |n| n.span);
            return Err(vec![
                Diagnostic::new(
                    yaml::codes::EMPTY,
                    Severity::Error,
                    String::new(),
                    span,
                    format!("a waiver file holds one YAML document; this one holds {}", docs.len()),
                )
                .with_help("put every waiver in one `waivers:` list"),
            ]);
        }
    };
    let mut diagnostics = match &*SCHEMA {
        Ok(schema) => schema.validate(root),
        Err(e) => {
            return Err(vec![Diagnostic::new(
                "internal",
                Severity::Error,
                String::new(),
                root.span,
                format!("the embedded waiver schema does not compile: {e}"),
            )]);
        }
    };
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let items = match root.get("waivers").map(|n| &n.value) {
        Some(Value::Seq(items)) => items.as_slice(),
        _ => &[],
    };
    let mut waivers: Vec<Waiver> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut pointer = String::from("/waivers");
        push_pointer(&mut pointer, &i.to_string());
        if let Some(w) = waiver(text, item, &pointer, &mut diagnostics) {
            let duplicate = waivers
                .iter()
                .any(|o| o.code == w.code && o.pointer == w.pointer && o.spec == w.spec);
            if duplicate {
                diagnostics.push(
                    Diagnostic::new(
                        codes::DUPLICATE,
                        Severity::Error,
                        pointer.clone(),
                        item.span,
                        format!("another waiver already names {} at {:?}", w.code, w.pointer),
                    )
                    .with_help("keep one waiver per finding"),
                );
            }
            waivers.push(w);
        }
    }
    if diagnostics.is_empty() {
        Ok(waivers)
    } else {
        diagnostics.sort_by_key(|d| d.span.start.offset);
        Err(diagnostics)
    }
}

/// One schema-valid entry checked against the rules the schema cannot state.
fn waiver(text: &str, item: &Node, pointer: &str, out: &mut Vec<Diagnostic>) -> Option<Waiver> {
    let field = |name: &str| item.entry(name);
    let string = |name: &str| field(name).and_then(|e| e.value.as_str()).map(str::to_string);
    let at = |name: &str| {
        let mut p = pointer.to_string();
        push_pointer(&mut p, name);
        (p, field(name).map_or(item.span, |e| e.value.span))
    };
    let before = out.len();
    let code = string("code").unwrap_or_default();
    if !CHECKS.iter().any(|check| check.code == code) {
        let (p, span) = at("code");
        let mut d = Diagnostic::new(
            codes::UNKNOWN_CODE,
            Severity::Error,
            p,
            span,
            format!("{code:?} is not a check code"),
        );
        d = match crate::suggest::closest(&code, CHECKS.iter().map(|check| check.code)) {
            Some(near) => d.with_help(format!("did you mean `{near}`? `modelspec codes` lists them all")),
            None => d.with_help("`modelspec codes` lists the check codes"),
        };
        out.push(d);
    }
    let target = string("pointer").unwrap_or_default();
    if !(target.is_empty() || target.starts_with('/')) {
        let (p, span) = at("pointer");
        out.push(
            Diagnostic::new(
                codes::POINTER,
                Severity::Error,
                p,
                span,
                format!("{target:?} is not a JSON pointer"),
            )
            .with_help("copy the pointer from a report, e.g. /spec/runtime/accelerator/type"),
        );
    }
    for name in ["reason", "owner"] {
        if string(name).is_some_and(|s| s.trim().is_empty()) {
            let (p, span) = at(name);
            out.push(
                Diagnostic::new(codes::BLANK, Severity::Error, p, span, format!("`{name}` is blank"))
                    .with_help("a waiver says why the drift is accepted and who accepted it"),
            );
        }
    }
    let expires = field("expires").and_then(|e| match &e.value.value {
        Value::Str(s) => Some(s.trim().to_string()),
        // An unquoted date: the loader keeps its type, not its text; the text is in the file.
        Value::Foreign(Foreign::Timestamp) => text
            .get(e.value.span.start.offset..e.value.span.end.offset)
            .map(|s| s.trim().to_string()),
        _ => None,
    });
    let expires = match expires {
        Some(date) if is_date(&date) => date,
        other => {
            let (p, span) = at("expires");
            let shown = other.map_or_else(
                || field("expires").map_or("nothing".into(), |e| e.value.value.describe()),
                |s| format!("{s:?}"),
            );
            out.push(
                Diagnostic::new(
                    codes::EXPIRES,
                    Severity::Error,
                    p,
                    span,
                    format!("`expires` must be a calendar date YYYY-MM-DD, not {shown}"),
                )
                .with_help("e.g. `expires: 2026-12-31`: the last day, UTC, the waiver applies"),
            );
            String::new()
        }
    };
    (out.len() == before).then(|| Waiver {
        code,
        pointer: target,
        spec: string("spec"),
        reason: string("reason").unwrap_or_default(),
        owner: string("owner").unwrap_or_default(),
        expires,
    })
}

/// Whether `s` is a real `YYYY-MM-DD` date of the Gregorian calendar.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    let number = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?
            .parse::<u32>()
            .ok()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Domain, Evidence};

    fn finding(code: &str, pointer: &str, status: Status) -> Finding {
        Finding {
            code: code.into(),
            domain: Domain::Accelerator,
            pointer: pointer.into(),
            status,
            declared: serde_json::Value::Null,
            observed: serde_json::Value::Null,
            evidence: Evidence {
                probe: "nvml".into(),
                raw: serde_json::Value::Null,
                rule: String::new(),
            },
            message: String::new(),
            remediation: None,
            waiver: None,
        }
    }

    fn waiver(code: &str, pointer: &str, spec: Option<&str>, expires: &str) -> Waiver {
        Waiver {
            code: code.into(),
            pointer: pointer.into(),
            spec: spec.map(Into::into),
            reason: "migration".into(),
            owner: "ml-platform".into(),
            expires: expires.into(),
        }
    }

    #[test]
    fn waives_only_drift_until_the_last_day() {
        let waivers = [
            waiver("accelerator-type", "/a", None, "2026-11-26"),
            waiver("accelerator-count", "/b", None, "2026-11-25"),
            waiver("model-precision", "/c", None, "2027-01-01"),
        ];
        let mut findings = vec![
            finding("accelerator-type", "/a", Status::Fail),
            finding("accelerator-count", "/b", Status::Fail),
            finding("model-precision", "/c", Status::Pass),
        ];
        let outcomes = apply(
            &mut [Target {
                spec: "m",
                findings: &mut findings,
            }],
            &waivers,
            "2026-11-26",
        );
        let states: Vec<_> = outcomes.iter().map(|o| (o.state, o.findings)).collect();
        assert_eq!(
            states,
            [
                (WaiverState::Applied, 1),
                (WaiverState::Expired, 1),
                (WaiverState::Unused, 0)
            ]
        );
        let statuses: Vec<_> = findings.iter().map(|f| f.status).collect();
        assert_eq!(statuses, [Status::Waived, Status::Fail, Status::Pass]);
        let applied = findings
            .first()
            .and_then(|f| f.waiver.clone())
            .expect("waiver recorded");
        assert_eq!(applied.status, Status::Fail);
        assert_eq!(applied.owner, "ml-platform");
    }

    #[test]
    fn a_named_spec_scopes_the_waiver() {
        let waivers = [waiver("accelerator-type", "/a", Some("other"), "2030-01-01")];
        let mut findings = vec![finding("accelerator-type", "/a", Status::Fail)];
        let outcomes = apply(
            &mut [Target {
                spec: "mine",
                findings: &mut findings,
            }],
            &waivers,
            "2026-11-26",
        );
        assert_eq!(outcomes.first().map(|o| o.state), Some(WaiverState::Unused));
        assert_eq!(findings.first().map(|f| f.status), Some(Status::Fail));
    }

    #[test]
    fn parses_quoted_and_unquoted_dates() {
        let text = "waivers:\n  - code: accelerator-type\n    pointer: /spec/runtime/accelerator/type\n    reason: waiting for H100s\n    owner: ml-platform\n    expires: 2026-12-31\n  - code: model-precision\n    pointer: /spec/runtime/precision\n    spec: llama\n    reason: r\n    owner: o\n    expires: \"2027-02-28\"\n";
        let waivers = parse(text, Syntax::Yaml).expect("valid");
        let dates: Vec<_> = waivers.iter().map(|w| w.expires.as_str()).collect();
        assert_eq!(dates, ["2026-12-31", "2027-02-28"]);
        assert_eq!(waivers.get(1).and_then(|w| w.spec.as_deref()), Some("llama"));
    }

    #[test]
    fn diagnostics_point_into_the_file() {
        let text = "waivers:\n  - code: acelerator-type\n    pointer: spec/x\n    reason: \" \"\n    owner: o\n    expires: 2026-02-30\n    extra: 1\n";
        let errors = parse(text, Syntax::Yaml).expect_err("invalid");
        let codes: Vec<_> = errors.iter().map(|d| d.code).collect();
        // The loader rejects an impossible unquoted date before the schema sees the document.
        assert_eq!(codes, ["yaml-value"], "{errors:?}");
        let extra = text.replace("2026-02-30", "2026-02-28");
        let errors = parse(&extra, Syntax::Yaml).expect_err("invalid");
        // The schema reports the unknown field; the rules run once the shape is right.
        assert_eq!(
            errors.iter().map(|d| d.code).collect::<Vec<_>>(),
            ["schema-unknown-field"]
        );
        let text = "waivers:\n  - code: acelerator-type\n    pointer: spec/x\n    reason: \" \"\n    owner: o\n    expires: \"2026-02-30\"\n";
        let errors = parse(text, Syntax::Yaml).expect_err("invalid");
        let found: Vec<_> = errors.iter().map(|d| (d.code, d.span.start.line)).collect();
        assert_eq!(
            found,
            [
                (codes::UNKNOWN_CODE, 2),
                (codes::POINTER, 3),
                (codes::BLANK, 4),
                (codes::EXPIRES, 6)
            ]
        );
        assert!(
            errors
                .first()
                .and_then(|d| d.help.as_deref())
                .is_some_and(|h| h.contains("accelerator-type"))
        );
    }

    #[test]
    fn duplicates_and_extra_documents_are_errors() {
        let one = "  - {code: model-precision, pointer: /p, reason: r, owner: o, expires: 2030-01-01}\n";
        let errors = parse(&format!("waivers:\n{one}{one}"), Syntax::Yaml).expect_err("duplicate");
        assert_eq!(errors.iter().map(|d| d.code).collect::<Vec<_>>(), [codes::DUPLICATE]);
        let errors = parse("waivers: []\n---\nwaivers: []\n", Syntax::Yaml).expect_err("two documents");
        assert!(errors.iter().any(|d| d.message.contains("one YAML document")));
        assert!(parse("waivers: []\n", Syntax::Yaml).is_ok_and(|w| w.is_empty()));
    }

    #[test]
    fn dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("2026-1-01"));
        assert!(!is_date("26-01-01xx"));
        assert!(!is_date("２０２６-01-01"));
    }
}
