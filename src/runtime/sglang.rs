//! SGLang (`python -m sglang.launch_server`; port 30000).
//!
//! `/server_info` (before it, `/get_server_info`) returns the server arguments flat:
//! `context_length`, `max_running_requests`, `tp_size`, `dp_size`, `dtype`, `quantization`,
//! `served_model_name`, `model_path`, `log_level`, `log_requests`, `version`. Two caveats: a
//! value left to SGLang is `null` there (`context_length` then comes from `/v1/models`
//! `max_model_len`), and `max_running_requests` is the command-line value, which can be higher
//! than the cap SGLang derives from KV-cache memory.

use serde_json::Value as Json;

use super::argv::Launch;
use super::{
    Doc, Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, as_text, as_u64, normalize_dtype, openai,
};

pub const ENDPOINTS: &[&str] = &[
    "/server_info",
    "/get_server_info",
    "/model_info",
    "/health",
    "/health_generate",
    openai::MODELS,
];

/// The Prometheus families this engine serves, renames included.
pub const METRICS: EngineMetrics = EngineMetrics {
    latency_histogram: &["sglang:e2e_request_latency_seconds"],
    running: &["sglang:num_running_reqs"],
    waiting: &["sglang:num_queue_reqs"],
    kv_cache_usage: &["sglang:token_usage"],
    token_counters: &["sglang:prompt_tokens_total", "sglang:generation_tokens_total"],
    expected: &[
        &["sglang:num_running_reqs"],
        &["sglang:num_queue_reqs"],
        &["sglang:e2e_request_latency_seconds"],
    ],
    ..EngineMetrics::NONE
};

/// The server-info document and the path that answered.
fn server_info(inputs: &Inputs) -> Result<(Doc, &'static str), String> {
    match inputs.json("/server_info") {
        Ok(doc) => Ok((doc, "/server_info")),
        Err(first) => inputs
            .json("/get_server_info")
            .map(|doc| (doc, "/get_server_info"))
            .map_err(|second| format!("{first}; {second}")),
    }
}

/// SGLang's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::Sglang,
    name: "sglang",
    framework_aliases: &[],
    default_port: 30000,
    launch: Launch {
        programs: &["sglang"],
        with_serve: true,
        modules: &["sglang.launch_server"],
        says: "sglang.launch_server",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &["sglang:"],
    not_ready: "SGLang answers /health_generate with 503 while starting",
    traits: Traits::NONE,
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    let mut because = Vec::new();
    if let Ok((doc, path)) = server_info(inputs)
        && doc.get("tp_size").is_some()
        && (doc.get("model_path").is_some() || doc.get("max_running_requests").is_some())
    {
        because.push(format!("GET {path} has SGLang's server arguments"));
    }
    because.extend(openai::owned_by(inputs, &["sglang"]));
    because
}

pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let mut f = EngineFacts::default();
    let (doc, path) = match server_info(inputs) {
        Ok(found) => found,
        Err(why) => {
            f.gaps.insert("server_info".into(), why);
            (Doc::new(Json::Null), "/server_info")
        }
    };
    let text = |name: &str| doc.get(name).and_then(as_text).map(|v| Fact::endpoint(v, path, name));
    let number = |name: &str| doc.get(name).and_then(as_u64).map(|v| Fact::endpoint(v, path, name));
    f.version = text("version");
    f.model_root = text("model_path");
    f.served_model_ids = text("served_model_name")
        .map(|n| Fact {
            value: vec![n.value],
            source: n.source,
        })
        .or_else(|| {
            let models = openai::models(inputs).ok()?;
            let ids: Vec<String> = models.into_iter().map(|m| m.id).collect();
            (!ids.is_empty()).then(|| Fact::endpoint(ids, openai::MODELS, "data[].id"))
        });
    f.max_sequence_length = number("context_length").or_else(|| {
        openai::models(inputs)
            .ok()?
            .iter()
            .find_map(|m| m.max_model_len)
            .map(|n| Fact::endpoint(n, openai::MODELS, "data[].max_model_len"))
    });
    f.max_batch_size = number("max_running_requests");
    if f.max_batch_size.is_none() {
        f.gaps.insert(
            "max_batch_size".into(),
            "max_running_requests is left to SGLang, which derives it from KV-cache memory".into(),
        );
    }
    f.max_concurrency = number("max_queued_requests");
    f.dtype = text("dtype").map(|d| Fact {
        value: normalize_dtype(&d.value),
        source: d.source,
    });
    f.quantization = text("quantization");
    // The server's own arguments first; the command line when /server_info did not answer
    // (`--tp` is argparse's abbreviation of `--tp-size`).
    let flag = |names: &[&'static str]| super::argv::number(inputs.args(), names).map(|(n, flag)| Fact::argv(n, flag));
    f.tensor_parallel = number("tp_size").or_else(|| flag(&["--tensor-parallel-size", "--tp-size", "--tp"]));
    f.pipeline_parallel = number("pp_size").or_else(|| flag(&["--pipeline-parallel-size", "--pp-size", "--pp"]));
    f.log_level = text("log_level").map(|l| Fact {
        value: l.value.to_ascii_lowercase(),
        source: l.source,
    });
    f.tracing_endpoint = match doc.get("enable_trace").and_then(Json::as_bool) {
        Some(true) => text("otlp_traces_endpoint"),
        _ => None,
    };
    f.request_logging = doc
        .get("log_requests")
        .and_then(Json::as_bool)
        .map(|on| Fact::endpoint(on, path, "log_requests"));
    if doc.get("enable_metrics").and_then(Json::as_bool) == Some(true) {
        f.metrics_path = Some(Fact::endpoint("/metrics".into(), path, "enable_metrics"));
    } else {
        f.gaps.insert(
            "metrics".into(),
            "SGLang serves /metrics only with --enable-metrics".into(),
        );
    }
    f
}
