//! The check engine: `compare(spec, observation) -> findings`. Pure: no I/O, no clock.
//!
//! One module per domain, each owning its stable codes (`grep -rn '"accelerator-type"' src/`
//! finds the rule). A finding names the spec field it judges by JSON pointer, the declared and
//! observed values, and its evidence: which probe, the raw value, and the rule applied. What
//! could not be observed is `unknown` with the reason; what does not apply is `skip` with the
//! reason. Nothing passes without having been seen. [`coverage`] then gives every declared
//! field that no check judged a `skip` finding, so a report always accounts for the whole spec.

pub mod accelerator;
pub(crate) mod attribution;
pub mod batch;
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
pub mod serving;
pub mod target;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::observe::Observation;
use crate::spec::ModelSpec;

/// Every check code with what it judges, for `modelspec codes` and the docs.
pub const CHECKS: &[(&str, &str)] = &[
    (accelerator::VENDOR, "NVML sees NVIDIA GPUs on the node"),
    (
        accelerator::TYPE,
        "the GPUs are the declared type (family; memory and form factor when declared)",
    ),
    (accelerator::COUNT, "at least the declared number of usable GPUs"),
    (
        accelerator::PRECISION,
        "the declared precision runs natively on every GPU (compute capability)",
    ),
    (
        accelerator::MIG,
        "MIG is on (or pending) only when the declared type names a MIG profile",
    ),
    (
        accelerator::SHARED,
        "no process outside the serving process tree on the GPUs it holds",
    ),
    (
        accelerator::PARALLELISM,
        "tensor × pipeline parallel size on the serving command line equals the declared count",
    ),
    (health::LOST, "no GPU has fallen off the bus"),
    (
        health::MEMORY_ERRORS,
        "no uncorrectable ECC errors, pending page retirement or failed row remap",
    ),
    (health::THROTTLING, "no GPU throttled for power or heat"),
    (health::PERSISTENCE, "persistence mode is on"),
    (
        host::WORKLOAD,
        "which workload (process, container, pod) the spec is judged against, and how it was chosen",
    ),
    (
        node::NOT_DEPLOYED,
        "a spec whose workload does not run on this node (a note; a failure with --require-deployed)",
    ),
    (
        host::SERVING_PORT,
        "the declared serving port is listened on, by the serving process (or the --pid one)",
    ),
    (
        host::ENV_VARIABLE,
        "a declared environment variable is set in the serving process, with the declared value",
    ),
    (
        host::CPU,
        "CPU available to the serving process (cgroup quota, else host) covers cpuCores",
    ),
    (
        host::MEMORY,
        "memory available to the serving process (cgroup limit, else host) covers memoryGb",
    ),
    (
        host::STORAGE,
        "the filesystem holding the model has ephemeralStorageGb of capacity",
    ),
    (
        node::UNCLAIMED,
        "several specs: every usable GPU is held by some scanned spec's serving process",
    ),
    (
        node::CONTENDED,
        "several specs: no GPU is held by two specs' serving processes",
    ),
    (
        node::SERVER_SHARED,
        "several specs: each resolves to its own serving process",
    ),
    (
        identity::MODEL_ID,
        "the engine serves the declared model id (served name or model path)",
    ),
    (
        identity::FRAMEWORK,
        "the engine on the serving port is the declared framework",
    ),
    (
        identity::PRECISION,
        "the engine's dtype (or quantization) is the declared precision",
    ),
    (
        identity::ARTIFACT,
        "the engine serves the model from the declared artifact",
    ),
    (
        batch::MAX_BATCH_SIZE,
        "the engine runs at most maxBatchSize sequences at once",
    ),
    (
        batch::MAX_SEQUENCE_LENGTH,
        "the engine serves maxSequenceLengthTokens (more warns)",
    ),
    (
        serving::PROTOCOL,
        "the port speaks the declared protocol (HTTP, or HTTP/2 for gRPC)",
    ),
    (serving::READINESS, "the readiness probe answers 2xx within its timeout"),
    (serving::LIVENESS, "the liveness probe answers 2xx within its timeout"),
    (
        serving::MAX_CONCURRENCY,
        "the engine admits exactly maxConcurrency requests (fewer refuses promised traffic, more leaves the cap unenforced)",
    ),
    (serving::TIMEOUT, "the engine's request timeout equals timeoutSeconds"),
    (observability::LOG_LEVEL, "the engine logs at the declared level"),
    (
        observability::TRACING,
        "traces are exported exactly when tracing is declared",
    ),
    (
        metrics::EXPOSED,
        "the metrics endpoint answers Prometheus text with the engine's families",
    ),
    (
        metrics::LATENCY_P95,
        "the p95 bucket of end-to-end latency lies under targetLatencyMsP95",
    ),
    (
        metrics::OBSERVED_BATCH,
        "sequences running at the scrape do not exceed maxBatchSize",
    ),
    (
        metrics::SATURATION,
        "no waiting requests, preemptions or near-full KV cache",
    ),
    (
        metrics::REQUEST_RATE,
        "the observed request rate against targetRps (Prometheus)",
    ),
    (
        metrics::SEQUENCE_OBSERVED,
        "the longest prompts served (prompt-length histogram) stay clear of maxSequenceLengthTokens",
    ),
    (
        metrics::COST,
        "GPU cost per 1,000 tokens (GPUs x --gpu-hourly-usd / token rate) under the target",
    ),
    (
        governance::PII_REQUEST_LOGGING,
        "no request or prompt logging while PII is not allowed",
    ),
    (
        coverage::NOT_CHECKED,
        "a declared field no check judges (yet), with the reason",
    ),
];

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
    pub(crate) fn new(code: &str, domain: Domain, pointer: &str) -> Self {
        FindingBuilder {
            finding: Finding {
                code: code.to_string(),
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
    host::check(spec, observation, resolution, &mut findings);
    identity::check(spec, &engine, &mut findings);
    batch::check(spec, &engine, &mut findings);
    serving::check(spec, &engine, &mut findings);
    observability::check(spec, &engine, &mut findings);
    governance::check(spec, &engine, &mut findings);
    metrics::check(spec, &engine, observation, inputs, &mut findings);
    coverage::fill(spec, &mut findings);
    findings.sort_by_key(|f| f.domain);
    findings
}

#[cfg(test)]
mod tests {
    /// Every code a check module declares is listed in [`super::CHECKS`], once.
    #[test]
    fn every_check_code_is_listed() {
        let sources = [
            include_str!("accelerator.rs"),
            include_str!("batch.rs"),
            include_str!("coverage.rs"),
            include_str!("governance.rs"),
            include_str!("health.rs"),
            include_str!("host.rs"),
            include_str!("identity.rs"),
            include_str!("metrics.rs"),
            include_str!("node.rs"),
            include_str!("observability.rs"),
            include_str!("serving.rs"),
        ];
        let mut declared = Vec::new();
        for source in sources {
            for line in source.lines() {
                if let Some(rest) = line.strip_prefix("pub const ")
                    && let Some((_, value)) = rest.split_once(": &str = \"")
                {
                    declared.push(value.trim_end_matches("\";").to_string());
                }
            }
        }
        assert!(declared.len() >= 20, "{declared:?}");
        for code in &declared {
            let listed = super::CHECKS.iter().filter(|(c, _)| c == code).count();
            assert_eq!(listed, 1, "{code} is listed {listed} times in CHECKS");
        }
        assert_eq!(
            declared.len(),
            super::CHECKS.len(),
            "CHECKS lists a code no module declares"
        );
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
