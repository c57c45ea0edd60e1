//! Hugging Face Text Generation Inference (port 3000; 80 in its container).
//!
//! `/info` is the authority: `model_id`, `version`, `max_total_tokens` (prompt + output),
//! `max_input_tokens` and `max_concurrent_requests`. Field names moved between versions: before
//! 2.1 `max_input_tokens` was `max_input_length`; before 2.3 `/info` also had `model_dtype`,
//! `max_batch_total_tokens` and `max_batch_size`. Later versions say the batch and dtype only
//! on the launcher's command line or in its environment (every flag has one: `--max-batch-size`
//! is `MAX_BATCH_SIZE`). TGI batches by tokens; without `--max-batch-size` there is no fixed
//! number of sequences to compare with.

use serde_json::Value as Json;

use super::argv::Launch;
use super::{
    Doc, Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, as_text, as_u64, normalize_dtype,
};

pub const ENDPOINTS: &[&str] = &["/info", "/health", "/metrics", super::openai::MODELS];

/// The Prometheus families this engine serves, renames included.
pub const METRICS: EngineMetrics = EngineMetrics {
    latency_histogram: &["tgi_request_duration"],
    running: &["tgi_batch_current_size"],
    waiting: &["tgi_queue_size"],
    token_counters: &["tgi_request_input_length_sum", "tgi_request_generated_tokens_sum"],
    prompt_histogram: &["tgi_request_input_length"],
    expected: &[
        &["tgi_request_duration"],
        &["tgi_batch_current_size"],
        &["tgi_queue_size"],
        &["tgi_request_count", "tgi_request_count_total"],
    ],
    ..EngineMetrics::NONE
};

/// TGI's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::Tgi,
    name: "tgi",
    framework_aliases: &["text-generation-inference", "huggingface-tgi", "hf-tgi"],
    default_port: 3000,
    launch: Launch {
        programs: &["text-generation-launcher", "text-generation-router"],
        with_serve: false,
        modules: &[],
        says: "text-generation-launcher",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &["tgi_"],
    not_ready: "TGI answers /health with 503 while its shards are not ready",
    traits: Traits {
        over_admission_limit: Some("TGI answers 429 past max_concurrent_requests"),
        ..Traits::NONE
    },
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    match inputs.json("/info") {
        Ok(info)
            if info.get("model_id").is_some()
                && ["max_total_tokens", "max_input_tokens", "max_input_length", "router"]
                    .iter()
                    .any(|k| info.get(k).is_some()) =>
        {
            vec!["GET /info has TGI's model_id and token limits".into()]
        }
        _ => Vec::new(),
    }
}

/// TGI lays its token histograms' buckets out up to its limits: the highest finite bound of
/// `tgi_request_generated_tokens` is max_total_tokens (and of `tgi_request_input_length`,
/// max_input_tokens). A source when neither `/info` nor the launcher's settings can be read.
fn top_bucket(inputs: &Inputs, family: &str) -> Option<Fact<u64>> {
    // Only a whole page (a cut one would hide the top buckets).
    let super::Document { body, content_type } = super::document(inputs.answers.get("/metrics")).ok()?;
    let format = modelspec_probe_metrics::Format::detect(content_type, body.as_bytes());
    let exposition = modelspec_probe_metrics::parse(body, format, &modelspec_probe_metrics::Limits::default());
    let top = exposition
        .family(family)?
        .histograms()
        .iter()
        .flat_map(|h| h.buckets.iter().map(|b| b.upper_bound))
        .filter(|b| b.is_finite())
        .reduce(f64::max)?;
    // Bounds print with float noise (7168.000000000001).
    Some(Fact::endpoint(
        top.round() as u64,
        "/metrics",
        &format!("{family} highest bucket"),
    ))
}

pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let mut f = EngineFacts::default();
    let info = match inputs.json("/info") {
        Ok(info) => info,
        Err(why) => {
            f.gaps.insert("info".into(), why);
            Doc::new(Json::Null)
        }
    };
    let field = |names: &[&'static str]| names.iter().find_map(|n| info.get(*n).map(|v| (v, *n)));
    f.version = field(&["version"]).and_then(|(v, n)| Some(Fact::endpoint(as_text(v)?, "/info", n)));
    if let Some((id, name)) = field(&["model_id"]).and_then(|(v, n)| Some((as_text(v)?, n))) {
        f.served_model_ids = Some(Fact::endpoint(vec![id.clone()], "/info", name));
        f.model_root = Some(Fact::endpoint(id, "/info", name));
    } else if let Some(id) = inputs.setting(&["--model-id"], "MODEL_ID") {
        f.served_model_ids = Some(Fact {
            value: vec![id.value.clone()],
            source: id.source.clone(),
        });
        f.model_root = Some(id);
    }
    let number = |names: &[&'static str]| field(names).and_then(|(v, n)| Some(Fact::endpoint(as_u64(v)?, "/info", n)));
    f.max_sequence_length = number(&["max_total_tokens"])
        .or_else(|| inputs.setting_number(&["--max-total-tokens"], "MAX_TOTAL_TOKENS"))
        .or_else(|| top_bucket(inputs, "tgi_request_generated_tokens"));
    f.max_concurrency = number(&["max_concurrent_requests"])
        .or_else(|| inputs.setting_number(&["--max-concurrent-requests"], "MAX_CONCURRENT_REQUESTS"))
        .or_else(|| Some(Fact::default(128, "--max-concurrent-requests defaults to 128")));
    f.max_batch_size =
        number(&["max_batch_size"]).or_else(|| inputs.setting_number(&["--max-batch-size"], "MAX_BATCH_SIZE"));
    if f.max_batch_size.is_none() {
        f.gaps.insert(
            "max_batch_size".into(),
            "TGI batches by tokens (max_batch_total_tokens); no --max-batch-size is set".into(),
        );
    }
    f.dtype = field(&["model_dtype"])
        .and_then(|(v, n)| Some(Fact::endpoint(normalize_dtype(&as_text(v)?), "/info", n)))
        .or_else(|| {
            inputs.setting(&["--dtype"], "DTYPE").map(|d| Fact {
                value: normalize_dtype(&d.value),
                source: d.source,
            })
        });
    f.quantization = inputs.setting(&["--quantize"], "QUANTIZE");
    f.tensor_parallel = inputs.setting_number(&["--num-shard"], "NUM_SHARD");
    f.log_level = Some(match inputs.setting(&[], "LOG_LEVEL") {
        Some(l) => Fact {
            value: l.value.to_ascii_lowercase(),
            source: l.source,
        },
        None => Fact::default("info".into(), "TGI logs at info unless LOG_LEVEL is set"),
    });
    f.tracing_endpoint = inputs.setting(&["--otlp-endpoint"], "OTLP_ENDPOINT");
    f.metrics_path = Some(Fact::default("/metrics".into(), "served on the API port"));
    f.metrics_port = inputs
        .setting_number(&["--prometheus-port"], "PROMETHEUS_PORT")
        .and_then(|p| {
            Some(Fact {
                value: u16::try_from(p.value).ok()?,
                source: p.source,
            })
        });
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Answer, Answers};

    /// `/metrics` as one reply, whole or cut short.
    struct Metrics {
        truncated: bool,
    }

    impl Answers for Metrics {
        fn get(&self, path: &str) -> Option<Answer<'_>> {
            (path == "/metrics").then_some(Answer::Reply {
                status: 200,
                content_type: Some("text/plain; version=0.0.4"),
                server: None,
                body: "# TYPE tgi_request_generated_tokens histogram\n\
                       tgi_request_generated_tokens_bucket{le=\"256\"} 3\n\
                       tgi_request_generated_tokens_bucket{le=\"1024\"} 5\n\
                       tgi_request_generated_tokens_bucket{le=\"+Inf\"} 5\n",
                truncated: self.truncated,
                problem: None,
                latency_ms: None,
            })
        }
    }

    #[test]
    fn the_top_bucket_is_read_from_a_whole_page_only() {
        let whole = Metrics { truncated: false };
        let fact = top_bucket(&Inputs::from_answers(&whole), "tgi_request_generated_tokens");
        assert_eq!(fact.map(|f| f.value), Some(1024));
        // A page cut short holds only its first buckets: its top is not the engine's limit.
        let cut = Metrics { truncated: true };
        assert!(top_bucket(&Inputs::from_answers(&cut), "tgi_request_generated_tokens").is_none());
    }
}
