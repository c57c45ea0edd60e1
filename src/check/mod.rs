//! The check engine: `compare(spec, observation) -> findings`. Pure: no I/O, no clock.
//!
//! One module per domain, each owning its checks: a [`Check`] descriptor (stable code, summary,
//! explanation, the fields it judges) beside the function that judges it, all listed once in
//! [`CHECKS`] (`grep -rn '"accelerator-type"' src/` finds the rule). A finding names the spec
//! field it judges by JSON pointer, the declared and observed values, and its evidence: which
//! probe, the raw value, and the rule applied. What could not be observed is `unknown` with the
//! reason; what does not apply is `skip` with the reason. Nothing passes without having been seen. [`coverage`] then gives every declared
//! field that no check judged a `skip` finding, so a report always accounts for the whole spec.

pub mod accelerator;
pub(crate) mod amd;
pub(crate) mod attribution;
pub mod batch;
pub mod cloud;
pub mod coverage;
pub(crate) mod engine;
pub mod explain;
pub mod governance;
pub mod health;
pub mod host;
pub mod identity;
pub mod metrics;
pub mod node;
pub mod observability;
pub mod platform;
pub mod serving;
pub mod target;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::observe::Observation;
use crate::spec::ModelSpec;

/// One check, described once: its stable code, the domain its findings group under, the
/// one-line summary `modelspec codes` prints, the explanation `modelspec explain` prints, and
/// the spec fields it judges. The descriptor sits beside the function that judges it; every
/// list of checks (`codes`, `explain`, `--only`/`--skip`, waivers, SARIF rules, the reference
/// test) reads [`CHECKS`], so a new check is one descriptor and one function.
#[derive(Debug, PartialEq, Eq)]
pub struct Check {
    /// Stable code, as findings, waivers and `--only`/`--skip` name it.
    pub code: &'static str,
    /// The domain its findings belong to (`not-checked` takes the field's own).
    pub domain: Domain,
    /// What it judges, in one line (`modelspec codes`).
    pub summary: &'static str,
    /// What it compares, whether an equality or a bound, and where each engine's observed
    /// value comes from (`modelspec explain CODE`).
    pub explanation: &'static str,
    /// JSON pointers of the spec fields it judges (a finding's pointer is one of them or lies
    /// beneath one); empty for `not-checked`, which takes whatever field no check judged.
    pub pointers: &'static [&'static str],
}

/// Every check, in the order `modelspec codes` lists them.
pub const CHECKS: &[&Check] = &[
    &accelerator::VENDOR,
    &accelerator::TYPE,
    &accelerator::COUNT,
    &accelerator::PRECISION,
    &accelerator::MIG,
    &accelerator::SHARED,
    &accelerator::PARALLELISM,
    &health::LOST,
    &health::MEMORY_ERRORS,
    &health::THROTTLING,
    &health::PERSISTENCE,
    &health::FABRIC,
    &health::XID,
    &platform::CUDA_DRIVER,
    &platform::NUMA,
    &host::WORKLOAD,
    &node::NOT_DEPLOYED,
    &host::SERVING_PORT,
    &host::ENV_VARIABLE,
    &host::CPU,
    &host::MEMORY,
    &host::STORAGE,
    &node::UNCLAIMED,
    &node::CONTENDED,
    &node::SERVER_SHARED,
    &identity::MODEL_ID,
    &identity::FRAMEWORK,
    &identity::PRECISION,
    &identity::ARTIFACT,
    &batch::MAX_BATCH_SIZE,
    &batch::MAX_SEQUENCE_LENGTH,
    &serving::PROTOCOL,
    &serving::READINESS,
    &serving::LIVENESS,
    &serving::MAX_CONCURRENCY,
    &serving::TIMEOUT,
    &observability::LOG_LEVEL,
    &observability::TRACING,
    &metrics::EXPOSED,
    &metrics::LATENCY_P95,
    &metrics::OBSERVED_BATCH,
    &metrics::SATURATION,
    &metrics::REQUEST_RATE,
    &metrics::SEQUENCE_OBSERVED,
    &metrics::COST,
    &governance::PII_REQUEST_LOGGING,
    &cloud::PRICING_HINTS,
    &coverage::NOT_CHECKED,
];

/// The check whose code is `code`.
pub fn check_of(code: &str) -> Option<&'static Check> {
    CHECKS.iter().copied().find(|c| c.code == code)
}

/// A finding's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Observed, and as declared.
    Pass,
    /// Observed, and not as declared: drift.
    Fail,
    /// Observed, and worth attention, though not a contract breach.
    Warn,
    /// Could not be observed; the message says why.
    Unknown,
    /// Not applicable, or not observable on a node; the message says why.
    Skip,
    /// Judged `fail`, `warn` or `unknown`, but accepted for now by a waiver (`--waivers`); the
    /// finding's `waiver` says who accepted it, why, what it was, and until when.
    Waived,
}

impl Status {
    /// Lowercase name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Unknown => "unknown",
            Status::Skip => "skip",
            Status::Waived => "waived",
        }
    }
}

/// Which part of the contract a finding belongs to (report grouping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// Who the spec is and which model it names.
    Identity,
    /// Accelerators and precision.
    Accelerator,
    /// GPU health on the node (not declared by ModelSpec, but drift all the same).
    Health,
    /// Batching and sequence limits.
    Batch,
    /// Host resources and environment.
    Host,
    /// Serving endpoint.
    Serving,
    /// Scaling.
    Scaling,
    /// Observability.
    Observability,
    /// Pipeline and dependencies.
    Pipeline,
    /// Governance and cost.
    Governance,
}

impl Domain {
    /// Lowercase name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Identity => "identity",
            Domain::Accelerator => "accelerator",
            Domain::Health => "health",
            Domain::Batch => "batch",
            Domain::Host => "host",
            Domain::Serving => "serving",
            Domain::Scaling => "scaling",
            Domain::Observability => "observability",
            Domain::Pipeline => "pipeline",
            Domain::Governance => "governance",
        }
    }
}

/// Why a finding says what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Evidence {
    /// The probe that saw it (`nvml`), or `none`.
    pub probe: String,
    /// The raw observed value(s) the verdict rests on.
    pub raw: Json,
    /// The rule applied, in words.
    pub rule: String,
}

/// One judgement of one spec field against the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Finding {
    /// Stable code of the check.
    pub code: String,
    /// Domain, for grouping.
    pub domain: Domain,
    /// JSON pointer of the most specific spec field judged.
    pub pointer: String,
    /// The verdict.
    pub status: Status,
    /// What the spec declares (null when the check is not about a declared value).
    pub declared: Json,
    /// What was observed (null when nothing could be).
    pub observed: Json,
    /// The evidence.
    pub evidence: Evidence,
    /// One sentence for people.
    pub message: String,
    /// What to do about it, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remediation: Option<String>,
    /// The waiver that accepted this finding (status `waived`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub waiver: Option<AppliedWaiver>,
}

/// A waiver as applied to one finding: the verdict it set aside and the waiver's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct AppliedWaiver {
    /// The status the check gave before the waiver (`fail`, `warn` or `unknown`).
    pub status: Status,
    /// Why the drift is accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: String,
    /// Last day (UTC, `YYYY-MM-DD`) the waiver applies.
    pub expires: String,
}

/// Builds findings with less ceremony.
pub(crate) struct FindingBuilder {
    finding: Finding,
}

impl FindingBuilder {
    pub(crate) fn new(check: &Check, pointer: &str) -> Self {
        Self::in_domain(check, check.domain, pointer)
    }

    /// [`FindingBuilder::new`] in another domain than the check's (`not-checked` reports each
    /// field in its section's domain).
    pub(crate) fn in_domain(check: &Check, domain: Domain, pointer: &str) -> Self {
        FindingBuilder {
            finding: Finding {
                code: check.code.to_string(),
                domain,
                pointer: pointer.to_string(),
                status: Status::Unknown,
                declared: Json::Null,
                observed: Json::Null,
                evidence: Evidence {
                    probe: "none".into(),
                    raw: Json::Null,
                    rule: String::new(),
                },
                message: String::new(),
                remediation: None,
                waiver: None,
            },
        }
    }

    pub(crate) fn declared(mut self, v: impl Into<Json>) -> Self {
        self.finding.declared = v.into();
        self
    }

    pub(crate) fn observed(mut self, v: impl Into<Json>) -> Self {
        self.finding.observed = v.into();
        self
    }

    pub(crate) fn evidence(mut self, probe: &str, raw: Json, rule: &str) -> Self {
        self.finding.evidence = Evidence {
            probe: probe.to_string(),
            raw,
            rule: rule.to_string(),
        };
        self
    }

    pub(crate) fn remediation(mut self, r: impl Into<String>) -> Self {
        self.finding.remediation = Some(r.into());
        self
    }

    pub(crate) fn status(mut self, status: Status, message: impl Into<String>) -> Finding {
        self.finding.status = status;
        self.finding.message = message.into();
        self.finding
    }
}

/// Milliseconds as messages and reports write them: whole ones, one decimal under 10 ms
/// (`5.6 ms`, `32 ms`). One rule, so a finding's message and its observed value agree.
pub fn milliseconds(ms: f64) -> String {
    if ms.abs() < 10.0 && ms.fract() != 0.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// Judges a spec against an observation: every check, then a `skip` for every declared field no
/// check judged. Findings come out grouped by domain, in spec order within a domain.
pub fn compare(spec: &ModelSpec, observation: &Observation) -> Vec<Finding> {
    compare_with(spec, observation, &Inputs::default())
}

/// What the user tells the checks that no probe can see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Inputs {
    /// The price of one GPU hour, USD (`--gpu-hourly-usd`), for the cost check.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gpu_hourly_usd: Option<f64>,
    /// The workload a spec means, when the port does not tell (`--workload`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub workload: Option<target::Selector>,
    /// A spec not deployed on the node is a failure, not a note (`--require-deployed`).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub require_deployed: bool,
    /// Check codes left out of the report (`--skip`, repeatable).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skip: Vec<String>,
    /// When not empty, the only check codes the report keeps (`--only`, repeatable).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub only: Vec<String>,
}

/// [`compare`], with the user's inputs.
pub fn compare_with(spec: &ModelSpec, observation: &Observation, inputs: &Inputs) -> Vec<Finding> {
    compare_all(&[spec], observation, inputs).pop().unwrap_or_default()
}

/// Judges several specs on one node: each against its own workload, chosen for all of them at
/// once ([`target::resolve_all`]).
pub fn compare_all(specs: &[&ModelSpec], observation: &Observation, inputs: &Inputs) -> Vec<Vec<Finding>> {
    let resolutions = resolve(specs, observation, inputs);
    specs
        .iter()
        .zip(&resolutions)
        .map(|(spec, resolution)| judge(spec, observation, inputs, resolution))
        .collect()
}

/// Each spec's workload on the node.
pub(crate) fn resolve<'a>(
    specs: &[&'a ModelSpec],
    observation: &'a Observation,
    inputs: &Inputs,
) -> Vec<target::Resolution<'a>> {
    let serves: Vec<Box<dyn Fn(&'a modelspec_probe_host::Candidate) -> Option<bool> + 'a>> = specs
        .iter()
        .map(|spec| {
            let spec: &'a ModelSpec = spec;
            Box::new(move |c: &'a modelspec_probe_host::Candidate| engine::serves_model(spec, observation, c))
                as Box<dyn Fn(&'a modelspec_probe_host::Candidate) -> Option<bool> + 'a>
        })
        .collect();
    let claims: Vec<target::Claim<'_, 'a>> = specs
        .iter()
        .zip(&serves)
        .map(|(spec, serves_model)| target::Claim {
            spec,
            serves_model: serves_model.as_ref(),
        })
        .collect();
    target::resolve_all(&claims, observation, inputs.workload.as_ref())
}

pub(crate) fn judge(
    spec: &ModelSpec,
    observation: &Observation,
    inputs: &Inputs,
    resolution: &target::Resolution,
) -> Vec<Finding> {
    let mut findings = vec![host::workload(spec, resolution)];
    if let Some(reason) = resolution.not_deployed() {
        coverage::fill_as(spec, &mut findings, &format!("not deployed on this node: {reason}"));
        findings.sort_by_key(|f| f.domain);
        return findings;
    }
    let engine = engine::view(spec, observation, resolution);
    accelerator::check(spec, observation, resolution, &engine, &mut findings);
    health::check(spec, observation, &mut findings);
    platform::check(spec, observation, resolution, &mut findings);
    host::check(spec, observation, resolution, &mut findings);
    identity::check(spec, &engine, &mut findings);
    batch::check(spec, &engine, &mut findings);
    serving::check(spec, &engine, &mut findings);
    observability::check(spec, &engine, &mut findings);
    governance::check(spec, &engine, &mut findings);
    cloud::check(spec, observation, &mut findings);
    metrics::check(spec, &engine, observation, inputs, &mut findings);
    coverage::fill(spec, &mut findings);
    findings.sort_by_key(|f| f.domain);
    findings
}

#[cfg(test)]
mod tests {
    use super::CHECKS;

    /// The registry holds every check once, each described in full: codes unique and in the
    /// stable kebab-case findings, waivers and `--only` use; a summary and an explanation; the
    /// spec fields it judges given as JSON pointers.
    #[test]
    fn every_check_is_described_once() {
        assert!(CHECKS.len() >= 40, "{} checks", CHECKS.len());
        let mut codes: Vec<&str> = CHECKS.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before, "a code is listed twice in CHECKS");
        for check in CHECKS {
            let code = check.code;
            assert!(
                !code.is_empty()
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{code:?} is not a kebab-case code"
            );
            assert!(!check.summary.trim().is_empty(), "{code} has no summary");
            assert!(
                check.explanation.len() > check.summary.len(),
                "{code}'s explanation says no more than its summary"
            );
            assert_eq!(super::explain::explain(code), Some(check.explanation), "{code}");
            assert_eq!(super::check_of(code).map(|c| c.code), Some(code));
            for pointer in check.pointers {
                assert!(
                    pointer.starts_with("/spec/") || pointer.starts_with("/metadata/"),
                    "{code} judges {pointer:?}, not a spec field's pointer"
                );
            }
            assert_eq!(
                check.pointers.is_empty(),
                code == super::coverage::NOT_CHECKED.code,
                "{code}: only not-checked judges no field of its own"
            );
        }
    }

    /// Every finding a check gives names a field its descriptor says it judges (or one beneath
    /// it), in its descriptor's domain: a descriptor that drifted from its function fails here.
    #[test]
    fn findings_agree_with_their_descriptors() {
        let observation = match crate::observe::Observation::from_json(
            include_str!("../../fixtures/demo/observation.json"),
            "<demo>",
        ) {
            Ok(o) => o,
            Err(e) => panic!("the demo observation reads: {e:?}"),
        };
        let specs: Vec<crate::spec::ModelSpec> = [
            include_str!("../../fixtures/demo/demo.modelspec.yaml"),
            include_str!("../../examples/08-full-production.modelspec.yaml"),
        ]
        .iter()
        .flat_map(|text| {
            crate::spec::validate::typed_documents(text, crate::spec::Syntax::Yaml, &crate::spec::Limits::default())
        })
        .map(|(_, spec)| spec)
        .collect();
        assert_eq!(specs.len(), 2);
        let inputs = super::Inputs {
            gpu_hourly_usd: Some(2.0),
            ..super::Inputs::default()
        };
        let findings: Vec<super::Finding> = specs
            .iter()
            .flat_map(|spec| super::compare_with(spec, &observation, &inputs))
            .collect();
        assert!(findings.len() > 40, "{findings:#?}");
        for f in &findings {
            let Some(check) = super::check_of(&f.code) else {
                panic!("{} is no registered check", f.code);
            };
            if check.pointers.is_empty() {
                continue;
            }
            assert_eq!(f.domain, check.domain, "{}", f.code);
            assert!(
                check
                    .pointers
                    .iter()
                    .any(|p| f.pointer == *p || f.pointer.starts_with(&format!("{p}/"))),
                "{} judged {} (its descriptor names {:?})",
                f.code,
                f.pointer,
                check.pointers
            );
        }
    }

    #[test]
    fn milliseconds_read_the_same_in_messages_and_values() {
        // The demo's readiness probe said "5.6 ms" as a value and "6 ms" in its message.
        assert_eq!(crate::check::milliseconds(5.6), "5.6");
        assert_eq!(crate::check::milliseconds(5.0), "5");
        assert_eq!(crate::check::milliseconds(32.054), "32");
        assert_eq!(crate::check::milliseconds(1250.4), "1250");
        let observed = crate::report::human::value(&serde_json::json!({"latency_ms": 5.6, "status": 200}));
        assert_eq!(observed, format!("{} ms, 200", crate::check::milliseconds(5.6)));
    }
}
