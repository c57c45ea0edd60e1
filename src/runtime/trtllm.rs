//! TensorRT-LLM's `trtllm-serve` (port 8000).
//!
//! Its command line carries the limits (`--max_batch_size`, `--max_num_tokens`,
//! `--max_seq_len`, `--tp_size`, `--pp_size`); `/v1/models` the served name. Its `/metrics` is
//! NOT Prometheus: it is JSON iteration statistics (`maxBatchSizeStatic`,
//! `maxNumActiveRequests`, `numActiveRequests`, `numQueuedRequests`, ...); Prometheus metrics are
//! at `/prometheus/metrics`.

use serde_json::Value as Json;

use super::argv::Launch;
use super::{Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, as_text, as_u64, openai};

pub const ENDPOINTS: &[&str] = &["/health", "/version", "/metrics", PROMETHEUS, openai::MODELS];

/// The Prometheus families this engine serves, renames included.
pub const METRICS: EngineMetrics = EngineMetrics {
    latency_histogram: &["trtllm_e2e_request_latency_seconds"],
    running: &["trtllm_num_requests_running"],
    waiting: &["trtllm_num_requests_waiting"],
    kv_cache_usage: &["trtllm_kv_cache_utilization"],
    token_counters: &["trtllm_prompt_tokens_total", "trtllm_generation_tokens_total"],
    expected: &[&["trtllm_e2e_request_latency_seconds"]],
    ..EngineMetrics::NONE
};

/// Where trtllm-serve serves Prometheus text (its `/metrics` is JSON).
const PROMETHEUS: &str = "/prometheus/metrics";

/// The newest iteration's statistics from the JSON `/metrics`.
fn last_iteration(inputs: &Inputs) -> Option<Json> {
    let doc = inputs.json("/metrics").ok()?;
    match &*doc {
        Json::Array(items) => items.last().cloned(),
        other => Some(other.clone()),
    }
}

/// TensorRT-LLM's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::TensorrtLlm,
    name: "tensorrt-llm",
    framework_aliases: &["tensorrtllm", "trt-llm", "trtllm", "trtllm-serve"],
    default_port: 8000,
    launch: Launch {
        programs: &["trtllm-serve"],
        with_serve: false,
        modules: &[],
        says: "trtllm-serve",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &["trtllm_"],
    not_ready: "trtllm-serve answers /health once its executor is up",
    traits: Traits::NONE,
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    let mut because = Vec::new();
    if let Some(stats) = last_iteration(inputs)
        && (stats.get("maxBatchSizeStatic").is_some() || stats.get("maxNumActiveRequests").is_some())
    {
        because.push("GET /metrics answers TensorRT-LLM iteration statistics".into());
    }
    because.extend(openai::owned_by(inputs, &["tensorrt_llm", "tensorrt-llm", "trtllm"]));
    because
}

pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let mut f = EngineFacts::default();
    let argv = inputs.args();
    let number = |flags: &[&'static str]| super::argv::number(argv, flags).map(|(n, flag)| Fact::argv(n, flag));
    f.version = inputs
        .json("/version")
        .ok()
        .and_then(|v| v.get("version").and_then(as_text))
        .map(|v| Fact::endpoint(v, "/version", "version"));
    if let Ok(models) = openai::models(inputs) {
        let ids: Vec<String> = models.into_iter().map(|m| m.id).collect();
        if !ids.is_empty() {
            f.served_model_ids = Some(Fact::endpoint(ids, openai::MODELS, "data[].id"));
        }
    }
    if let Some(at) = argv.iter().position(|a| a.ends_with("trtllm-serve"))
        && let Some(model) = argv.get(at + 1).filter(|m| !m.starts_with('-') && *m != "serve")
    {
        f.model_root = Some(Fact::argv(model.clone(), "trtllm-serve MODEL"));
    }
    f.max_batch_size = number(&["--max_batch_size"]).or_else(|| {
        last_iteration(inputs)?
            .get("maxBatchSizeStatic")
            .and_then(as_u64)
            .map(|n| Fact::endpoint(n, "/metrics", "maxBatchSizeStatic"))
    });
    f.max_sequence_length = number(&["--max_seq_len"]);
    if f.max_sequence_length.is_none() {
        f.gaps.insert(
            "max_sequence_length".into(),
            "no --max_seq_len: the engine takes the model's own limit".into(),
        );
    }
    f.tensor_parallel = number(&["--tp_size"]).or_else(|| Some(Fact::default(1, "--tp_size defaults to 1")));
    f.pipeline_parallel = number(&["--pp_size"]).or_else(|| Some(Fact::default(1, "--pp_size defaults to 1")));
    f.log_level = super::argv::value(argv, &["--log_level"]).map(|(l, flag)| Fact::argv(l.to_ascii_lowercase(), flag));
    if super::status_of(inputs.answers, PROMETHEUS).is_some_and(|s| (200..300).contains(&s)) {
        f.metrics_path = Some(Fact::endpoint(PROMETHEUS.into(), PROMETHEUS, "(answers)"));
    } else {
        f.gaps.insert(
            "metrics".into(),
            "trtllm-serve's /metrics is JSON iteration statistics and /prometheus/metrics did not answer".into(),
        );
    }
    f
}
