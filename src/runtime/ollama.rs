//! Ollama (port 11434).
//!
//! `/api/version` gives the version; `/api/ps` the loaded models with `context_length`,
//! `size_vram` and `details.quantization_level`. Its limits are environment variables:
//! `OLLAMA_NUM_PARALLEL` (requests decoded at once per model), `OLLAMA_MAX_QUEUE` (requests
//! admitted, 512 by default) and `OLLAMA_CONTEXT_LENGTH`. Ollama has no Prometheus endpoint.

use serde_json::Value as Json;

use super::argv::Launch;
use super::{Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, as_text, as_u64};

pub const ENDPOINTS: &[&str] = &["/api/version", "/api/ps", "/api/tags"];

/// The Prometheus families this engine serves, renames included.
pub const METRICS: EngineMetrics = EngineMetrics { ..EngineMetrics::NONE };

/// Ollama's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::Ollama,
    name: "ollama",
    framework_aliases: &[],
    default_port: 11434,
    launch: Launch {
        programs: &["ollama"],
        with_serve: true,
        modules: &[],
        says: "ollama serve",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &[],
    not_ready: "Ollama answers once its server is up; models load on first request",
    traits: Traits {
        over_admission_limit: Some("Ollama answers 503 past OLLAMA_MAX_QUEUE"),
        ..Traits::NONE
    },
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    let version = inputs.json("/api/version");
    let listed = inputs.json("/api/ps").or_else(|_| inputs.json("/api/tags"));
    match (version, listed) {
        (Ok(v), Ok(l)) if v.get("version").is_some() && l.get("models").is_some() => {
            vec!["GET /api/version and /api/ps answer like Ollama".into()]
        }
        _ => Vec::new(),
    }
}

pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let mut f = EngineFacts {
        version: inputs
            .json("/api/version")
            .ok()
            .and_then(|v| v.get("version").and_then(as_text))
            .map(|v| Fact::endpoint(v, "/api/version", "version")),
        ..EngineFacts::default()
    };
    let loaded: Vec<Json> = match inputs.json("/api/ps") {
        Ok(ps) => ps.get("models").and_then(Json::as_array).cloned().unwrap_or_default(),
        Err(why) => {
            f.gaps.insert("models".into(), why);
            Vec::new()
        }
    };
    // The spec's model when it is loaded, else the first loaded one.
    let wanted = inputs.model_hint;
    let name_of = |m: &Json| m.get("name").or_else(|| m.get("model")).and_then(as_text);
    let model = loaded
        .iter()
        .find(|m| wanted.is_some_and(|w| name_of(m).is_some_and(|n| n == w || n.split(':').next() == Some(w))))
        .or_else(|| loaded.first());
    let names: Vec<String> = loaded.iter().filter_map(name_of).collect();
    if !names.is_empty() {
        f.served_model_ids = Some(Fact::endpoint(names, "/api/ps", "models[].name"));
    } else if f.gaps.is_empty() {
        f.gaps.insert(
            "models".into(),
            "no model is loaded (Ollama loads a model on its first request)".into(),
        );
    }
    if let Some(m) = model {
        f.max_sequence_length = m
            .get("context_length")
            .and_then(as_u64)
            .map(|n| Fact::endpoint(n, "/api/ps", "models[].context_length"));
        f.quantization = m
            .get("details")
            .and_then(|d| d.get("quantization_level"))
            .and_then(as_text)
            .map(|q| Fact::endpoint(q, "/api/ps", "models[].details.quantization_level"));
    }
    if f.max_sequence_length.is_none() {
        f.max_sequence_length = inputs.setting_number(&[], "OLLAMA_CONTEXT_LENGTH");
    }
    f.max_batch_size = inputs.setting_number(&[], "OLLAMA_NUM_PARALLEL");
    if f.max_batch_size.is_none() {
        f.gaps.insert(
            "max_batch_size".into(),
            "OLLAMA_NUM_PARALLEL is not set: Ollama picks 1 or 4 from the memory available".into(),
        );
    }
    f.max_concurrency = Some(
        inputs
            .setting_number(&[], "OLLAMA_MAX_QUEUE")
            .unwrap_or_else(|| Fact::default(512, "OLLAMA_MAX_QUEUE defaults to 512")),
    );
    f.log_level = Some(match inputs.env("OLLAMA_DEBUG") {
        Some(v) if !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false") => {
            Fact::env("debug".into(), "OLLAMA_DEBUG")
        }
        _ => Fact::default("info".into(), "Ollama logs at info unless OLLAMA_DEBUG is set"),
    });
    f.gaps
        .insert("metrics".into(), "Ollama has no Prometheus endpoint".into());
    f
}
