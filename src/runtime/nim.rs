//! NVIDIA NIM for LLMs (port 8000).
//!
//! NIM 2.x wraps vLLM (or SGLang) and answers the OpenAI routes like it, so it is told apart by
//! its own: `/v1/metadata`, `/v1/version`, and the `/v1/health/{ready,live}` probes. Its
//! settings are environment variables (`NIM_SERVED_MODEL_NAME`, `NIM_MAX_MODEL_LEN`,
//! `NIM_LOG_LEVEL`, `NIM_MODEL_PATH`); metrics are at `/v1/metrics`.

use super::argv::Launch;
use super::{Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, as_text, openai};

pub const ENDPOINTS: &[&str] = &[
    "/v1/metadata",
    "/v1/version",
    "/v1/health/ready",
    "/v1/health/live",
    openai::MODELS,
];

/// NIM 1.x serves vLLM's families without the `vllm:` prefix; NIM 2.x with it: vLLM's list
/// has both.
pub const METRICS: EngineMetrics = super::vllm::METRICS;

/// NIM's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::Nim,
    name: "nim",
    framework_aliases: &["nvidia-nim", "nim-llm"],
    default_port: 8000,
    launch: Launch {
        programs: &[],
        with_serve: false,
        modules: &["vllm_nvext", "nim_llm_sdk"],
        says: "NIM's vLLM extension",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &[],
    not_ready: "NIM answers /v1/health/ready with 503 until the model is loaded",
    traits: Traits {
        serves_as: &[EngineId::Vllm],
        wraps_other_engines: true,
        ..Traits::NONE
    },
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    let mut because = Vec::new();
    if inputs.json("/v1/metadata").is_ok() {
        because.push("GET /v1/metadata answers (NIM)".into());
    }
    if let Ok(v) = inputs.json("/v1/version")
        && v.get("release").is_some()
    {
        because.push("GET /v1/version has a NIM release".into());
    }
    because
}

pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let mut f = EngineFacts {
        version: inputs
            .json("/v1/version")
            .ok()
            .and_then(|v| v.get("release").and_then(as_text))
            .map(|v| Fact::endpoint(v, "/v1/version", "release")),
        ..EngineFacts::default()
    };
    match openai::models(inputs) {
        Ok(models) => {
            let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
            if !ids.is_empty() {
                f.served_model_ids = Some(Fact::endpoint(ids, openai::MODELS, "data[].id"));
            }
            f.model_root = models
                .iter()
                .find_map(|m| m.root.clone())
                .map(|r| Fact::endpoint(r, openai::MODELS, "data[].root"));
            f.max_sequence_length = models
                .iter()
                .find_map(|m| m.max_model_len)
                .map(|n| Fact::endpoint(n, openai::MODELS, "data[].max_model_len"));
        }
        Err(why) => {
            f.gaps.insert("served_model_ids".into(), why);
        }
    }
    if f.served_model_ids.is_none()
        && let Some(name) = inputs.setting(&[], "NIM_SERVED_MODEL_NAME")
    {
        f.served_model_ids = Some(Fact {
            value: vec![name.value],
            source: name.source,
        });
    }
    // NIM 2.x answers its workspace as the root; the model it was given is NIM_MODEL_PATH.
    if let Some(path) = inputs.setting(&[], "NIM_MODEL_PATH") {
        f.model_root = Some(path);
    }
    f.tensor_parallel = inputs.setting_number(&["--tensor-parallel-size", "-tp"], "NIM_TENSOR_PARALLEL_SIZE");
    if inputs
        .env("NIM_ENABLE_OTEL")
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    {
        f.tracing_endpoint = inputs
            .setting(&[], "NIM_OTEL_EXPORTER_OTLP_ENDPOINT")
            .or_else(|| inputs.setting(&[], "OTEL_EXPORTER_OTLP_ENDPOINT"));
    }
    // NIM 1.x (vLLM extension) documents NIM_DISABLE_LOG_REQUESTS, on by default.
    let nim_1x = super::argv::engine_from_argv(inputs.args()).is_some_and(|(e, _)| e == super::EngineId::Nim);
    f.request_logging = match inputs.env("NIM_DISABLE_LOG_REQUESTS") {
        Some(v) => Some(Fact::env(
            !(v == "1" || v.eq_ignore_ascii_case("true")),
            "NIM_DISABLE_LOG_REQUESTS",
        )),
        None if nim_1x => Some(Fact::default(false, "NIM_DISABLE_LOG_REQUESTS defaults to 1")),
        None => None,
    };
    if f.max_sequence_length.is_none() {
        f.max_sequence_length = inputs.setting_number(&[], "NIM_MAX_MODEL_LEN");
    }
    f.log_level = inputs.setting(&[], "NIM_LOG_LEVEL").map(|l| Fact {
        value: l.value.to_ascii_lowercase(),
        source: l.source,
    });
    f.metrics_path = Some(Fact::default("/v1/metrics".into(), "NIM serves metrics at /v1/metrics"));
    f
}
