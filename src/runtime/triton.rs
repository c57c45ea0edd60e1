//! NVIDIA Triton Inference Server (HTTP 8000, gRPC 8001, metrics 8002).
//!
//! `/v2` returns the server's `{name, version}`. A model's limits live in its configuration,
//! `/v2/models/{model}/config`: `max_batch_size`, `dynamic_batching` and
//! `instance_group[{count, gpus}]`. Which models to read comes from the spec's model id and the
//! names the caller found; the HTTP probe asks `/v2/models/{id}/config` for the spec's id.
//! Not ready is **400** on `/v2/health/ready`, not 503.

use serde_json::Value as Json;

use super::argv::Launch;
use super::{AverageLatency, Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, as_text, as_u64};

pub const ENDPOINTS: &[&str] = &["/v2", "/v2/health/ready", "/v2/health/live"];

/// The Prometheus families this engine serves, renames included.
pub const METRICS: EngineMetrics = EngineMetrics {
    running: &["nv_trt_llm_request_metrics"],
    running_filter: Some(("request_type", "active")),
    waiting: &["nv_trt_llm_request_metrics"],
    waiting_filter: Some(("request_type", "waiting")),
    prompt_histogram: &["nv_llm_input_token_len"],
    expected: &[&["nv_inference_request_success", "nv_inference_request_success_total"]],
    average_latency: Some(AverageLatency {
        engine: "Triton",
        durations: &[
            "nv_inference_request_duration_us",
            "nv_inference_request_duration_us_total",
        ],
        counts: &["nv_inference_request_success", "nv_inference_request_success_total"],
        label: "model",
        ms_per_unit: 0.001,
        histogram_option: "histogram_latencies",
    }),
    ..EngineMetrics::NONE
};

/// The config path of one model.
pub fn config_path(model: &str) -> String {
    format!("/v2/models/{}/config", model.replace('/', "%2F"))
}

/// Triton's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::Triton,
    name: "triton",
    framework_aliases: &["triton-inference-server", "tritonserver"],
    default_port: 8000,
    launch: Launch {
        programs: &["tritonserver"],
        with_serve: false,
        modules: &[],
        says: "tritonserver",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &["nv_"],
    not_ready: "Triton answers /v2/health/ready with 400 (not 503) while not ready",
    traits: Traits::NONE,
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    match inputs.json("/v2") {
        Ok(doc) if doc.get("name").and_then(Json::as_str) == Some("triton") => {
            vec!["GET /v2 names the server \"triton\"".into()]
        }
        _ => Vec::new(),
    }
}

/// Triton's name for a spec's model: the last segment of its id (`org/name` -> `name`).
pub fn model_name(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

/// Facts for the spec's model of the repository ([`Inputs::model_hint`]).
pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let model = inputs.model_hint.map(model_name);
    let mut f = EngineFacts::default();
    match inputs.json("/v2") {
        Ok(doc) => {
            f.version = doc
                .get("version")
                .and_then(as_text)
                .map(|v| Fact::endpoint(v, "/v2", "version"))
        }
        Err(why) => {
            f.gaps.insert("version".into(), why);
        }
    }
    let argv = inputs.args();
    f.log_level = Some(match super::argv::number(argv, &["--log-verbose"]) {
        Some((n, flag)) if n > 0 => Fact::argv("verbose".into(), flag),
        _ => match super::argv::value(argv, &["--log-info"]) {
            Some((v, flag)) if v.eq_ignore_ascii_case("false") => Fact::argv("warning".into(), flag),
            _ => Fact::default("info".into(), "--log-info defaults to true"),
        },
    });
    // `--trace-config opentelemetry,url=...` (the flag repeats; one of them carries the URL).
    f.tracing_endpoint = argv
        .iter()
        .zip(argv.iter().skip(1).map(Some).chain(std::iter::once(None)))
        .filter_map(|(arg, next)| {
            let setting = match arg.strip_prefix("--trace-config") {
                Some(rest) if rest.starts_with('=') => rest.get(1..),
                Some("") => next.map(String::as_str),
                _ => None,
            }?;
            setting.strip_prefix("opentelemetry,url=").map(String::from)
        })
        .last()
        .map(|url| Fact::argv(url, "--trace-config opentelemetry,url"));
    f.metrics_port = Some(
        super::argv::number(argv, &["--metrics-port"])
            .and_then(|(p, flag)| Some(Fact::argv(u16::try_from(p).ok()?, flag)))
            .unwrap_or_else(|| Fact::default(8002, "Triton serves metrics on port 8002")),
    );
    f.metrics_path = Some(Fact::default("/metrics".into(), "on the metrics port"));
    let Some(model) = model else {
        f.gaps.insert(
            "model".into(),
            "no model name to read the configuration of (Triton serves a repository)".into(),
        );
        return f;
    };
    let path = config_path(model);
    let config = match inputs.json(&path) {
        Ok(config) => config,
        Err(why) => {
            f.gaps.insert("model".into(), why);
            return f;
        }
    };
    f.served_model_ids = config
        .get("name")
        .and_then(as_text)
        .map(|n| Fact::endpoint(vec![n], &path, "name"));
    // 0 means the model takes no batch dimension: one request at a time.
    f.max_batch_size = config
        .get("max_batch_size")
        .and_then(as_u64)
        .map(|n| Fact::endpoint(n.max(1), &path, "max_batch_size"));
    // The TensorRT-LLM backend names its engine folder in the model's parameters.
    f.model_root = ["gpt_model_path", "engine_dir"].iter().find_map(|p| {
        let v = config
            .get("parameters")?
            .get(*p)?
            .get("string_value")
            .and_then(as_text)?;
        Some(Fact::endpoint(v, &path, &format!("parameters.{p}.string_value")))
    });
    f.max_concurrency = config
        .get("dynamic_batching")
        .and_then(|d| d.get("default_queue_policy"))
        .and_then(|q| q.get("max_queue_size"))
        .and_then(as_u64)
        .filter(|n| *n > 0)
        .map(|n| Fact::endpoint(n, &path, "dynamic_batching.default_queue_policy.max_queue_size"));
    f.gaps.insert(
        "max_sequence_length".into(),
        "Triton's model configuration does not state a sequence limit".into(),
    );
    f
}
