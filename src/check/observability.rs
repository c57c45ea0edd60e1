//! Observability domain: the engine logs at the declared level and traces when declared.
//!
//! Tracing is "on" when the engine has an OTLP traces endpoint (its flag or environment), or
//! the serving process has `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//! set (names are enough: the values are not read).

use serde_json::json;

use super::engine::{EngineView, Unseen};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::spec::ModelSpec;

/// The engine logs at the declared level.
pub const LOG_LEVEL: Check = Check {
    code: "logging-level",
    domain: Domain::Observability,
    summary: "the engine logs at the declared level",
    explanation: "Equality (case ignored, warning = warn): operations.observability.logging.level against the engine's log level. Sources: vLLM VLLM_LOGGING_LEVEL (default INFO), TGI LOG_LEVEL, SGLang /server_info log_level, TensorRT-LLM --log_level, NIM NIM_LOG_LEVEL.",
    pointers: &["/spec/operations/observability/logging/level"],
};

/// Tracing is on exactly when declared.
pub const TRACING: Check = Check {
    code: "tracing-enabled",
    domain: Domain::Observability,
    summary: "traces are exported exactly when tracing is declared",
    explanation: "operations.observability.tracing.enabled against whether traces are exported: the engine's OTLP endpoint (vLLM --otlp-traces-endpoint, TGI --otlp-endpoint/OTLP_ENDPOINT, SGLang --enable-trace with --otlp-traces-endpoint) or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT in the serving process's environment. Declared but off fails; on but declared off warns.",
    pointers: &["/spec/operations/observability/tracing/enabled"],
};

const OTEL_VARIABLES: &[&str] = &["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];

/// `warning` and `warn` are one level; everything lowercase.
fn normalize_level(level: &str) -> String {
    match level.trim().to_ascii_lowercase().as_str() {
        "warning" | "warn" => "warn".into(),
        "fatal" | "critical" => "critical".into(),
        "err" | "error" => "error".into(),
        other => other.to_string(),
    }
}

pub(crate) fn check(spec: &ModelSpec, view: &Result<EngineView, Unseen>, out: &mut Vec<Finding>) {
    let Some(observability) = spec.spec.operations.as_ref().and_then(|o| o.observability.as_ref()) else {
        return;
    };
    if let Some(level) = observability.logging.as_ref().and_then(|l| l.level.as_deref()) {
        out.push(log_level(level, view));
    }
    if let Some(enabled) = observability.tracing.as_ref().and_then(|t| t.enabled) {
        out.push(tracing(enabled, view));
    }
}

fn log_level(declared: &str, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&LOG_LEVEL, "/spec/operations/observability/logging/level").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(fact) = &view.facts.log_level else {
        return b.status(Status::Unknown, view.missing("log_level", "the engine's log level"));
    };
    let b = b.observed(fact.value.as_str()).evidence(
        "http+host",
        view.evidence(fact),
        "the engine's log level equals the declared one (warning = warn, case ignored)",
    );
    if normalize_level(&fact.value) == normalize_level(declared) {
        b.status(
            Status::Pass,
            format!("logs at {} ({})", fact.value, fact.source.describe()),
        )
    } else {
        b.remediation("set the engine's log level (vLLM VLLM_LOGGING_LEVEL, TGI LOG_LEVEL, SGLang --log-level), or correct the spec")
            .status(
                Status::Fail,
                format!("logs at {} ({}), declared {declared}", fact.value, fact.source.describe()),
            )
    }
}

fn tracing(declared: bool, view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&TRACING, "/spec/operations/observability/tracing/enabled").declared(declared);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let otel_env: Vec<&str> = view
        .env_names
        .map(|names| {
            OTEL_VARIABLES
                .iter()
                .copied()
                .filter(|v| names.iter().any(|n| n == v))
                .collect()
        })
        .unwrap_or_default();
    let endpoint = view.facts.tracing_endpoint.as_ref();
    let on = endpoint.is_some() || !otel_env.is_empty();
    if !on && view.env_names.is_none() && view.detection.is_none() {
        return b.status(
            Status::Unknown,
            "neither the engine nor the serving process's environment could be read",
        );
    }
    let b = b.observed(on).evidence(
        "http+host",
        json!({"engine_endpoint": endpoint.map(|e| json!({"value": e.value, "source": e.source.describe()})), "otel_environment": otel_env}),
        "tracing is on when the engine has an OTLP traces endpoint or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set",
    );
    match (declared, on) {
        (true, true) | (false, false) => b.status(
            Status::Pass,
            if on { "traces are exported (OTLP)" } else { "no trace exporter is configured" },
        ),
        (true, false) => b
            .remediation("configure an OTLP traces endpoint (vLLM --otlp-traces-endpoint, TGI --otlp-endpoint), or set tracing.enabled: false")
            .status(Status::Fail, "tracing is declared, but no OTLP traces endpoint is configured"),
        (false, true) => b
            .remediation("remove the exporter, or declare tracing.enabled: true")
            .status(Status::Warn, "traces are exported although tracing is declared off"),
    }
}
