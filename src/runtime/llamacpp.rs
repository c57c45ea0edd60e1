//! llama.cpp's `llama-server` (port 8080).
//!
//! `/props` has `total_slots` (`-np`, requests decoded at once), `model_alias`, `model_path`,
//! `build_info`, and `default_generation_settings.n_ctx`, which is the context of ONE slot:
//! `-c` is divided among the slots. `/v1/models` adds `meta.n_ctx_train`. While loading, every
//! route answers 503 "Loading model". Flags have environment equivalents (`LLAMA_ARG_CTX_SIZE`,
//! `LLAMA_ARG_N_PARALLEL`).

use serde_json::Value as Json;

use super::argv::Launch;
use super::{Answer, Doc, Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, as_text, as_u64, openai};

pub const ENDPOINTS: &[&str] = &["/props", "/health", "/slots", openai::MODELS];

/// The Prometheus families this engine serves, renames included.
pub const METRICS: EngineMetrics = EngineMetrics {
    running: &["llamacpp:requests_processing"],
    waiting: &["llamacpp:requests_deferred"],
    // Removed upstream (llama.cpp #13660, with llamacpp:kv_cache_tokens); older builds
    // still have it. Saturation does not need it: requests_deferred is the queue.
    kv_cache_usage: &["llamacpp:kv_cache_usage_ratio"],
    token_counters: &["llamacpp:prompt_tokens_total", "llamacpp:tokens_predicted_total"],
    expected: &[&["llamacpp:requests_processing"], &["llamacpp:requests_deferred"]],
    ..EngineMetrics::NONE
};

/// llama.cpp's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::LlamaCpp,
    name: "llama-cpp",
    framework_aliases: &["llamacpp", "llama-server"],
    default_port: 8080,
    launch: Launch {
        programs: &["llama-server"],
        with_serve: false,
        modules: &[],
        says: "llama-server",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &["llamacpp:"],
    not_ready: "llama-server answers every route with 503 \"Loading model\" while loading",
    traits: Traits::NONE,
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    let mut because = Vec::new();
    if let Ok(props) = inputs.json("/props")
        && (props.get("default_generation_settings").is_some() || props.get("total_slots").is_some())
    {
        because.push("GET /props has llama.cpp's slots".into());
    }
    if let Some(Answer::Reply {
        server: Some(server), ..
    }) = inputs.answers.get("/props")
        && server.starts_with("llama.cpp")
    {
        because.push(format!("Server: {server}"));
    }
    because.extend(openai::owned_by(inputs, &["llamacpp"]));
    because
}

pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let mut f = EngineFacts::default();
    let props = match inputs.json("/props") {
        Ok(p) => p,
        Err(why) => {
            f.gaps.insert("props".into(), why);
            Doc::new(Json::Null)
        }
    };
    let text = |name: &str| {
        props
            .get(name)
            .and_then(as_text)
            .map(|v| Fact::endpoint(v, "/props", name))
    };
    f.version = text("build_info");
    f.model_root = text("model_path").or_else(|| inputs.setting(&["--model", "-m"], "LLAMA_ARG_MODEL"));
    f.served_model_ids = text("model_alias")
        .map(|a| Fact {
            value: vec![a.value],
            source: a.source,
        })
        .or_else(|| {
            let ids: Vec<String> = openai::models(inputs).ok()?.into_iter().map(|m| m.id).collect();
            (!ids.is_empty()).then(|| Fact::endpoint(ids, openai::MODELS, "data[].id"))
        });
    f.max_batch_size = props
        .get("total_slots")
        .and_then(as_u64)
        .map(|n| Fact::endpoint(n, "/props", "total_slots"))
        .or_else(|| inputs.setting_number(&["--parallel", "-np"], "LLAMA_ARG_N_PARALLEL"));
    f.max_sequence_length = props
        .get("default_generation_settings")
        .and_then(|d| d.get("n_ctx"))
        .and_then(as_u64)
        .map(|n| Fact::endpoint(n, "/props", "default_generation_settings.n_ctx (per slot)"));
    if f.max_sequence_length.is_none()
        && let Some(total) = inputs.setting_number(&["--ctx-size", "-c"], "LLAMA_ARG_CTX_SIZE")
    {
        let slots = f.max_batch_size.as_ref().map_or(1, |s| s.value.max(1));
        f.max_sequence_length = Some(Fact {
            value: total.value / slots,
            source: total.source,
        });
    }
    f.gaps.insert(
        "max_concurrency".into(),
        "llama-server queues requests beyond its slots; it has no admission limit".into(),
    );
    f.request_timeout_seconds = Some(
        inputs
            .setting_number(&["--timeout", "-to"], "LLAMA_ARG_TIMEOUT")
            .unwrap_or_else(|| Fact::default(600, "the server's read/write timeout defaults to 600 s")),
    );
    let metrics_on = super::argv::toggle(inputs.args(), &["--metrics"], &[]).is_some_and(|(on, _)| on)
        || inputs
            .env("LLAMA_ARG_ENDPOINT_METRICS")
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    if metrics_on {
        f.metrics_path = Some(Fact::argv("/metrics".into(), "--metrics"));
    } else {
        f.gaps.insert(
            "metrics".into(),
            "llama-server serves /metrics only with --metrics".into(),
        );
    }
    f
}
