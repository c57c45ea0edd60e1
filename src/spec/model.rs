//! The typed ModelSpec v0.1: one Rust type per schema object, camelCase on the wire.
//!
//! Built only from documents that passed the schema, so these types can be simple: optional
//! fields are `Option`, integers are `u64` (the loader saturates the rare integer beyond that
//! range, which the schema allows), numbers are `f64`. Lints and, later, the conformance
//! checks read these types instead of walking the raw tree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole ModelSpec document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelSpec {
    /// Schema group and version: `piqc.ai/v1alpha1`.
    pub api_version: String,
    /// Document kind: `ModelSpec`.
    pub kind: String,
    /// Name, version and labels of this spec.
    pub metadata: Metadata,
    /// The contract.
    pub spec: Spec,
}

impl ModelSpec {
    /// The declared serving port, when it is a valid TCP port.
    pub fn serving_port(&self) -> Option<u16> {
        self.spec
            .operations
            .as_ref()
            .and_then(|o| o.serving.as_ref())
            .and_then(|s| s.port)
            .and_then(|p| u16::try_from(p).ok())
    }

    /// The model's local path, from a `file://` or absolute `modelUri`.
    pub fn local_model_path(&self) -> Option<String> {
        let uri = self.spec.identity.model.artifacts.as_ref()?.model_uri.as_deref()?;
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        path.starts_with('/').then(|| path.to_string())
    }
}

/// Who this spec is.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Name of the spec (a DNS-1123 label is recommended).
    pub name: String,
    /// Version of the spec, free-form.
    pub version: Option<String>,
    /// One-line description.
    pub description: Option<String>,
    /// Labels, key to string value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations, key to string value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The contract: identity, runtime needs, operations, pipeline and governance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// Which model this is.
    pub identity: Identity,
    /// What it needs to run.
    pub runtime: Runtime,
    /// How it is operated.
    pub operations: Option<Operations>,
    /// What runs around it.
    pub pipeline: Option<Pipeline>,
    /// Compliance and cost.
    pub governance: Option<Governance>,
}

/// Which model this is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Identity {
    /// The served model.
    pub model: Model,
}

/// The served model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Model {
    /// Logical model id, e.g. a Hugging Face repo id.
    pub id: String,
    /// Model family, e.g. `llama`.
    pub family: String,
    /// Primary task, e.g. `text-generation`.
    pub task: String,
    /// Serving framework, e.g. `vllm`.
    pub framework: String,
    /// Precision, e.g. `bf16`.
    pub precision: Option<String>,
    /// Where the model's files live.
    pub artifacts: Option<Artifacts>,
}

/// Where the model's files live.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Artifacts {
    /// URI of the weights.
    pub model_uri: Option<String>,
    /// URI of the tokenizer.
    pub tokenizer_uri: Option<String>,
}

/// What the model needs to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Runtime {
    /// Accelerators per replica.
    pub accelerator: Accelerator,
    /// Batching and sequence limits.
    pub batch: Option<Batch>,
    /// Host resources per replica.
    pub resources: Option<Resources>,
    /// Process environment.
    pub environment: Option<Environment>,
}

/// Accelerators per replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Accelerator {
    /// Vendor, e.g. `nvidia`.
    pub vendor: String,
    /// Model, e.g. `a100-80gb`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Number of accelerators.
    pub count: u64,
}

/// Batching and sequence limits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Batch {
    /// Most sequences per batch.
    pub max_batch_size: Option<u64>,
    /// Longest sequence, in tokens.
    pub max_sequence_length_tokens: Option<u64>,
}

/// Host resources per replica.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// CPU cores.
    pub cpu_cores: Option<u64>,
    /// Host memory, in GB.
    pub memory_gb: Option<f64>,
    /// Scratch storage, in GB.
    pub ephemeral_storage_gb: Option<f64>,
}

/// Process environment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// Variables the serving process must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

/// How the model is operated.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operations {
    /// The serving endpoint.
    pub serving: Option<Serving>,
    /// Replica scaling.
    pub scaling: Option<Scaling>,
    /// Telemetry.
    pub observability: Option<Observability>,
}

/// Wire protocol of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP.
    Http,
    /// gRPC.
    Grpc,
}

/// The serving endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Serving {
    /// Wire protocol.
    pub protocol: Option<Protocol>,
    /// TCP port.
    pub port: Option<u64>,
    /// Readiness probe.
    pub readiness_probe: Option<Probe>,
    /// Liveness probe.
    pub liveness_probe: Option<Probe>,
    /// Most concurrent requests.
    pub max_concurrency: Option<u64>,
    /// Request timeout, in seconds.
    pub timeout_seconds: Option<u64>,
}

/// An HTTP health probe.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    /// HTTP path.
    pub path: Option<String>,
    /// Timeout, in seconds.
    pub timeout_seconds: Option<u64>,
}

/// How replicas are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalingStrategy {
    /// On observed load.
    Reactive,
    /// On forecast load.
    Predictive,
    /// By hand.
    Manual,
}

/// Replica scaling.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scaling {
    /// Fewest replicas.
    pub min_replicas: Option<u64>,
    /// Most replicas.
    pub max_replicas: Option<u64>,
    /// Scaling strategy.
    pub strategy: Option<ScalingStrategy>,
    /// Target p95 latency, in milliseconds.
    pub target_latency_ms_p95: Option<f64>,
    /// Target requests per second per replica.
    pub target_rps: Option<f64>,
    /// Warm replicas.
    pub warm_pool: Option<WarmPool>,
}

/// Pre-started replicas.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WarmPool {
    /// Number of warm replicas.
    pub size: Option<u64>,
    /// How the pool is kept, free-form.
    pub strategy: Option<String>,
}

/// Telemetry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Observability {
    /// Metrics endpoint.
    pub metrics: Option<Metrics>,
    /// Logging.
    pub logging: Option<Logging>,
    /// Tracing.
    pub tracing: Option<Tracing>,
}

/// Metrics endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metrics {
    /// Whether metrics are exposed.
    pub enabled: Option<bool>,
    /// Metrics system, e.g. `prometheus`.
    pub provider: Option<String>,
    /// TCP port of the metrics endpoint.
    pub port: Option<u64>,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Logging {
    /// Log level.
    pub level: Option<String>,
}

/// Tracing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tracing {
    /// Whether tracing is on.
    pub enabled: Option<bool>,
}

/// What runs around the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pipeline {
    /// Steps before the model.
    pub preprocess: Option<Steps>,
    /// Steps after the model.
    pub postprocess: Option<Steps>,
    /// Models this one relies on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
}

/// An ordered list of processing steps.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Steps {
    /// The steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

/// One processing step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// Step name.
    pub name: String,
    /// Step kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it runs.
    pub enabled: Option<bool>,
}

/// What a dependency does for the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyRole {
    /// Feeds the model (e.g. an embedder).
    Input,
    /// Filters what goes in or out.
    Guardrail,
    /// Reorders retrieved documents.
    Reranker,
    /// Transforms the output.
    Postprocess,
    /// Anything else.
    Custom,
}

/// One model this one relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dependency {
    /// Identifier, unique within the spec.
    pub id: String,
    /// What it does.
    pub role: DependencyRole,
    /// Path of its own ModelSpec, relative to this file.
    pub spec_ref: Option<String>,
    /// Whether the model fails without it (default true).
    pub required: Option<bool>,
    /// What crosses the boundary.
    pub interface: Option<Interface>,
}

/// What crosses a dependency boundary.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Interface {
    /// Input type, e.g. `text`.
    pub input_type: Option<String>,
    /// Output type, e.g. `embedding`.
    pub output_type: Option<String>,
    /// Latency budget per call, in milliseconds.
    pub max_latency_ms: Option<f64>,
}

/// Compliance and cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Governance {
    /// Compliance rules.
    pub compliance: Option<Compliance>,
    /// Cost targets.
    pub cost: Option<Cost>,
}

/// Compliance rules.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Compliance {
    /// Personal data handling.
    pub pii: Option<Pii>,
    /// Retention periods.
    pub retention: Option<Retention>,
    /// Ownership and change control.
    pub governance: Option<Ownership>,
}

/// Personal data handling.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pii {
    /// Whether personal data may reach the model.
    pub allowed: Option<bool>,
    /// Governing policy.
    pub policy: Option<String>,
}

/// Retention periods.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retention {
    /// Log retention, in days.
    pub logs_days: Option<u64>,
    /// Artifact retention, in days.
    pub artifacts_days: Option<u64>,
}

/// Ownership and change control.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ownership {
    /// Who must approve changes.
    pub change_approval: Option<String>,
    /// Owning team or person.
    pub owner: Option<String>,
}

/// Cost targets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cost {
    /// Target cost per 1,000 tokens, in USD.
    pub target_cost_per1k_tokens_usd: Option<f64>,
    /// Where it is priced.
    pub pricing_hints: Option<PricingHints>,
}

/// Where the deployment is priced.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PricingHints {
    /// Cloud provider.
    pub cloud_provider: Option<String>,
    /// Instance type.
    pub instance_type: Option<String>,
    /// Whether spot capacity may be used.
    pub spot_allowed: Option<bool>,
}
