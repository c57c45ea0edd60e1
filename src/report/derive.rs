//! From specs and an observation to a report's findings: the one path both `scan` and
//! `verify` take, so a report can be derived again and compared with what it says.
//!
//! Everything here is a pure function of its inputs. The scan's date enters only through
//! `today` (for waiver expiry), which `verify` takes from the report itself, so a report
//! verified next year still matches the verdicts it had on its day.

use serde::{Deserialize, Serialize};

use crate::check::{self, Finding, Inputs, node};
use crate::observe::Observation;
use crate::spec::ModelSpec;
use crate::waivers::{self, Target, Waiver, WaiverOutcome};

use super::{SpecInfo, SpecSection};

/// One spec document to judge, and how the report names it.
pub struct Judged<'a> {
    /// The section's identity.
    pub info: SpecInfo,
    /// The typed spec.
    pub spec: &'a ModelSpec,
}

/// What a set of specs amounts to against one observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// One section per spec, in the given order.
    pub sections: Vec<SpecSection>,
    /// Findings about the node across the specs.
    pub node: Vec<Finding>,
    /// What became of each waiver.
    pub waivers: Vec<WaiverOutcome>,
}

/// Judges each spec, then the node across them, then applies the waivers on `today`
/// (`YYYY-MM-DD`).
pub fn derive(
    specs: &[Judged<'_>],
    observation: &Observation,
    inputs: &Inputs,
    waivers: &[Waiver],
    today: &str,
) -> Derived {
    let node_specs: Vec<node::NodeSpec> = specs
        .iter()
        .map(|s| node::NodeSpec {
            name: &s.info.name,
            spec: s.spec,
        })
        .collect();
    let spec_refs: Vec<&ModelSpec> = specs.iter().map(|s| s.spec).collect();
    let resolutions = check::resolve(&spec_refs, observation, inputs);
    let mut node = node::compare(&node_specs, &resolutions, observation, inputs.require_deployed);
    let mut findings: Vec<Vec<Finding>> = spec_refs
        .iter()
        .zip(&resolutions)
        .map(|(spec, resolution)| check::judge(spec, observation, inputs, resolution))
        .collect();
    let mut targets: Vec<Target<'_>> = specs
        .iter()
        .zip(findings.iter_mut())
        .map(|(s, f)| Target {
            spec: &s.info.name,
            findings: f,
        })
        .collect();
    targets.push(Target {
        spec: "",
        findings: &mut node,
    });
    let outcomes = waivers::apply(&mut targets, waivers, today);
    drop(targets);
    // `--skip`/`--only` after the waivers: a waiver for a check left out still counts as used,
    // not as drift that went away. Each section's summary is computed from what is kept.
    for f in findings.iter_mut().chain(std::iter::once(&mut node)) {
        f.retain(|finding| selected(inputs, &finding.code));
    }
    Derived {
        sections: specs
            .iter()
            .zip(findings)
            .map(|(s, f)| SpecSection::new(s.info.clone(), f))
            .collect(),
        node,
        waivers: outcomes,
    }
}

/// Whether `--skip` and `--only` keep the findings of `code`.
pub fn selected(inputs: &Inputs, code: &str) -> bool {
    (inputs.only.is_empty() || inputs.only.iter().any(|c| c == code)) && !inputs.skip.iter().any(|c| c == code)
}

/// The hash of an observation as a report embeds it: SHA-256 of its compact JSON with object
/// keys in a fixed order. Computed from the JSON value, not the typed struct, so `verify` can
/// recompute it from a report's text alone.
pub fn observation_sha256(observation: &serde_json::Value) -> String {
    // serde_json's `Value` keeps object keys sorted (no `preserve_order`), which makes the
    // text canonical whatever order the fields were written in.
    // Buffered: the serializer writes token by token, and each hash update has a cost.
    let mut hash = std::io::BufWriter::with_capacity(16 * 1024, crate::digest::Sha256Writer::default());
    // Writing into a hash cannot fail, and a JSON value always serializes.
    let _ = serde_json::to_writer(&mut hash, observation);
    hash.into_inner().map(|h| h.hex()).unwrap_or_default()
}

/// The scan's date for waiver expiry: the UTC day of an RFC 3339 time.
pub fn day_of(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// Facts about the scan itself that make a filed report checkable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Provenance {
    /// The git commit `modelspec` was built from, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub git_commit: Option<String>,
    /// The machine that ran the scan (the observed node is `target_host`).
    pub scanned_by: HostIdentity,
    /// Wall time of the whole scan, seconds.
    pub duration_seconds: f64,
    /// The command line, with credentials redacted.
    pub command_line: Vec<String>,
    /// [`observation_sha256`] of the observation judged (recorded even when the report leaves
    /// the observation out).
    pub observation_sha256: String,
    /// Inputs besides the specs and the observation that the verdicts depend on.
    pub inputs: Inputs,
}

/// Which machine: its hostname and, where systemd keeps one, its machine id. The caller reads
/// them (the CLI, from the machine it runs on) and passes them in: nothing here reads the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct HostIdentity {
    /// The kernel's hostname.
    pub hostname: String,
    /// `/etc/machine-id`, when readable.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub machine_id: Option<String>,
}

/// The waivers a scan was given and what became of each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct WaiverReport {
    /// The waiver file as given.
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Every waiver in the file, with its state.
    pub outcomes: Vec<WaiverOutcome>,
}

/// The command line as a report may show it: credentials in flags, URLs and token-like
/// arguments replaced.
pub fn redacted_command_line(args: &[String]) -> Vec<String> {
    modelspec_probe_host::env::redact_argv(args)
        .into_iter()
        .map(|a| redact_url_credentials(&a))
        .collect()
}

/// `scheme://user:pass@host/...` without the user information.
fn redact_url_credentials(arg: &str) -> String {
    let Some(scheme_end) = arg.find("://") else {
        return arg.to_string();
    };
    let rest_start = scheme_end + 3;
    let rest = arg.get(rest_start..).unwrap_or("");
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => format!(
            "{}{}@{}",
            arg.get(..rest_start).unwrap_or(""),
            modelspec_probe_host::env::REDACTED,
            rest.get(at + 1..).unwrap_or("")
        ),
        None => arg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_lose_their_secrets() {
        let args: Vec<String> = [
            "modelspec",
            "scan",
            "--prometheus",
            "https://admin:hunter2@prom.example:9090/api",
            "--api-key=abc",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            "spec.yaml",
        ]
        .map(String::from)
        .to_vec();
        let shown = redacted_command_line(&args).join(" ");
        assert!(!shown.contains("hunter2") && !shown.contains("admin"), "{shown}");
        assert!(!shown.contains("abc") && !shown.contains("ghp_"), "{shown}");
        assert!(
            shown.contains("prom.example:9090/api") && shown.contains("spec.yaml"),
            "{shown}"
        );
    }

    /// NGC, GitLab and Google keys on the report's command line, alone or inside a value.
    #[test]
    fn command_lines_lose_ngc_gitlab_and_google_keys() {
        let args: Vec<String> = [
            "modelspec",
            "scan",
            "nvapi-Ab3dEf0gH",
            "--header=X-Goog-Api-Key:AIzaSyA1b2C3",
            r#"{"t": "glpat-xYz12AbC"}"#,
            "spec.yaml",
        ]
        .map(String::from)
        .to_vec();
        let shown = redacted_command_line(&args).join(" ");
        for secret in ["nvapi-", "Ab3dEf0gH", "AIza", "glpat-"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("spec.yaml"), "{shown}");
    }

    #[test]
    fn skip_and_only_select_checks_and_are_recorded_only_when_given() {
        let all = Inputs::default();
        assert!(selected(&all, "model-id"));
        let only = Inputs {
            only: vec!["model-id".into(), "serving-port".into()],
            ..Inputs::default()
        };
        assert!(selected(&only, "model-id") && selected(&only, "serving-port"));
        assert!(!selected(&only, "accelerator-count"));
        let skip = Inputs {
            skip: vec!["model-id".into()],
            ..Inputs::default()
        };
        assert!(!selected(&skip, "model-id") && selected(&skip, "accelerator-count"));
        // An older report's inputs have neither field, and a new one without them says nothing.
        let old: Inputs = serde_json::from_str("{}").expect("inputs without skip or only");
        assert_eq!(old, all);
        assert_eq!(serde_json::to_string(&all).expect("json"), "{}");
        let recorded: Inputs = serde_json::from_str(&serde_json::to_string(&only).expect("json")).expect("back");
        assert_eq!(recorded, only);
    }

    #[test]
    fn the_observation_hash_ignores_key_order() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1.5, "a": [1, {"y": null, "x": "s"}]}"#).expect("json");
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a": [1, {"x": "s", "y": null}], "b": 1.5}"#).expect("json");
        assert_eq!(observation_sha256(&a), observation_sha256(&b));
        let c: serde_json::Value =
            serde_json::from_str(r#"{"a": [1, {"x": "s", "y": null}], "b": 1.25}"#).expect("json");
        assert_ne!(observation_sha256(&a), observation_sha256(&c));
    }
}
