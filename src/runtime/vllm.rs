//! vLLM (`vllm serve`, OpenAI-compatible server; port 8000).
//!
//! The endpoint is the authority for what the running engine settled on: `/v1/models` gives the
//! served names, the model's path (`root`) and the effective `max_model_len`; `/version` the
//! version. The command line gives what the endpoint does not: `--max-num-seqs` (the batch),
//! `--dtype`, `--quantization`, parallelism, `--otlp-traces-endpoint` and request logging.
//! Without `--max-num-seqs`, vLLM runs 256 sequences at once, or 1024 on GPUs of 70 GiB or
//! more; it has no admission limit (every request is queued), so `maxConcurrency` has nothing
//! to compare with.
//!
//! vLLM's ROCm build serves the same API from the same flags. What differs is the node's: its
//! GPUs are read through AMD SMI (the process list gives the GPUs the server holds), and its
//! environment knobs, `HIP_VISIBLE_DEVICES`, `ROCR_VISIBLE_DEVICES` and the `VLLM_ROCM_*`
//! family (`VLLM_ROCM_USE_AITER`, ...), are shown by the host probe, judged by `env-variable`
//! when declared and drafted by `init`.

use super::argv::{Launch, number, toggle, value, values};
use super::openai::{self, MODELS};
use super::{Engine, EngineFacts, EngineId, EngineMetrics, Fact, Inputs, Traits, normalize_dtype};

/// What vLLM answers beyond `/v1/models`.
pub const ENDPOINTS: &[&str] = &[MODELS, "/version", "/health", "/ping", "/load"];

/// The Prometheus families vLLM serves, renames included; the names without `vllm:` are NIM
/// 1.x's, which serves vLLM's families ([`super::nim::METRICS`]).
pub const METRICS: EngineMetrics = EngineMetrics {
    latency_histogram: &["vllm:e2e_request_latency_seconds", "e2e_request_latency_seconds"],
    running: &["vllm:num_requests_running", "num_requests_running"],
    waiting: &["vllm:num_requests_waiting", "num_requests_waiting"],
    // Renamed in V1; the old name was removed in 0.12.
    kv_cache_usage: &[
        "vllm:kv_cache_usage_perc",
        "vllm:gpu_cache_usage_perc",
        "gpu_cache_usage_perc",
    ],
    preemptions: &["vllm:num_preemptions_total", "vllm:num_preemptions"],
    token_counters: &[
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "prompt_tokens_total",
        "generation_tokens_total",
    ],
    prompt_histogram: &["vllm:request_prompt_tokens", "request_prompt_tokens"],
    expected: &[
        &["vllm:num_requests_running", "num_requests_running"],
        &["vllm:num_requests_waiting", "num_requests_waiting"],
        &["vllm:e2e_request_latency_seconds", "e2e_request_latency_seconds"],
        &["vllm:time_to_first_token_seconds", "time_to_first_token_seconds"],
        &[
            "vllm:inter_token_latency_seconds",
            "vllm:time_per_output_token_seconds",
            "time_per_output_token_seconds",
        ],
        &[
            "vllm:kv_cache_usage_perc",
            "vllm:gpu_cache_usage_perc",
            "gpu_cache_usage_perc",
        ],
        &["vllm:prompt_tokens_total", "vllm:prompt_tokens", "prompt_tokens_total"],
        &[
            "vllm:generation_tokens_total",
            "vllm:generation_tokens",
            "generation_tokens_total",
        ],
    ],
    ..EngineMetrics::NONE
};

/// GPU memory from which vLLM's default batch is 1024 instead of 256.
const LARGE_GPU_MIB: u64 = 70 * 1024;

/// vLLM's descriptor: what detection, the probes and the checks need to know, in one value.
pub const ENGINE: Engine = Engine {
    id: EngineId::Vllm,
    name: "vllm",
    framework_aliases: &[],
    default_port: 8000,
    launch: Launch {
        programs: &["vllm"],
        with_serve: true,
        modules: &["vllm.entrypoints"],
        says: "vllm serve",
    },
    endpoints: ENDPOINTS,
    metrics: METRICS,
    metric_prefixes: &["vllm:"],
    not_ready: "vLLM refuses connections while loading and answers /health with 503 once its engine is dead",
    traits: Traits::NONE,
    signature,
    facts,
};

pub(crate) fn signature(inputs: &Inputs) -> Vec<String> {
    openai::owned_by(inputs, &["vllm"]).into_iter().collect()
}

/// The model named on the command line: `vllm serve MODEL` or `--model MODEL`.
fn model_arg(argv: &[String]) -> Option<Fact<String>> {
    if let Some(at) = argv.iter().position(|a| a == "serve")
        && let Some(model) = argv.get(at + 1).filter(|m| !m.starts_with('-'))
    {
        return Some(Fact::argv(model.clone(), "serve MODEL"));
    }
    value(argv, &["--model"]).map(|(m, flag)| Fact::argv(m.to_string(), flag))
}

pub(crate) fn facts(inputs: &Inputs) -> EngineFacts {
    let no_argv: &[String] = &[];
    let argv = inputs.argv.unwrap_or(no_argv);
    let mut f = EngineFacts::default();
    match inputs.json("/version") {
        Ok(doc) => {
            f.version = doc
                .get("version")
                .and_then(super::as_text)
                .map(|v| Fact::endpoint(v, "/version", "version"));
        }
        Err(why) => {
            f.gaps.insert("version".into(), why);
        }
    }
    match openai::models(inputs) {
        Ok(models) => {
            let ids: Vec<String> = models.iter().map(|m| m.id.clone()).collect();
            if !ids.is_empty() {
                f.served_model_ids = Some(Fact::endpoint(ids, MODELS, "data[].id"));
            }
            f.model_root = models
                .iter()
                .find_map(|m| m.root.clone())
                .map(|r| Fact::endpoint(r, MODELS, "data[].root"));
            f.max_sequence_length = models
                .iter()
                .find_map(|m| m.max_model_len)
                .map(|n| Fact::endpoint(n, MODELS, "data[].max_model_len"));
        }
        Err(why) => {
            f.gaps.insert("served_model_ids".into(), why);
        }
    }
    if f.served_model_ids.is_none()
        && let Some((names, flag)) = values(argv, &["--served-model-name"])
    {
        f.served_model_ids = Some(Fact::argv(names.into_iter().map(String::from).collect(), flag));
    }
    if f.model_root.is_none() {
        f.model_root = model_arg(argv);
    }
    if f.max_sequence_length.is_none() {
        f.max_sequence_length = number(argv, &["--max-model-len"]).map(|(n, flag)| Fact::argv(n, flag));
    }
    f.max_batch_size = Some(match number(argv, &["--max-num-seqs"]) {
        Some((n, flag)) => Fact::argv(n, flag),
        None => match inputs.largest_gpu_mib {
            Some(mib) if mib >= LARGE_GPU_MIB => {
                Fact::default(1024, "--max-num-seqs is 1024 on GPUs of 70 GiB or more")
            }
            Some(_) => Fact::default(256, "--max-num-seqs is 256 on GPUs under 70 GiB"),
            None => Fact::default(
                256,
                "--max-num-seqs is 256 (GPU memory unknown: 1024 on GPUs of 70 GiB or more)",
            ),
        },
    });
    f.gaps.insert(
        "max_concurrency".into(),
        "vLLM queues every request it receives; it has no admission limit to compare with".into(),
    );
    f.dtype = Some(match value(argv, &["--dtype"]) {
        Some((d, flag)) => Fact::argv(normalize_dtype(d), flag),
        None => Fact::default("auto".into(), "--dtype auto: the model's own dtype"),
    });
    f.quantization = value(argv, &["--quantization", "-q"]).map(|(q, flag)| Fact::argv(q.to_string(), flag));
    f.tensor_parallel = Some(number(argv, &["--tensor-parallel-size", "-tp"]).map_or_else(
        || Fact::default(1, "one GPU per replica"),
        |(n, flag)| Fact::argv(n, flag),
    ));
    f.pipeline_parallel = Some(number(argv, &["--pipeline-parallel-size", "-pp"]).map_or_else(
        || Fact::default(1, "no pipeline stages"),
        |(n, flag)| Fact::argv(n, flag),
    ));
    f.log_level = Some(match inputs.env("VLLM_LOGGING_LEVEL") {
        Some(level) => Fact::env(level.to_ascii_lowercase(), "VLLM_LOGGING_LEVEL"),
        None => Fact::default("info".into(), "VLLM_LOGGING_LEVEL defaults to INFO"),
    });
    f.tracing_endpoint = value(argv, &["--otlp-traces-endpoint"]).map(|(e, flag)| Fact::argv(e.to_string(), flag));
    f.request_logging = Some(
        match toggle(
            argv,
            &["--enable-log-requests"],
            &["--disable-log-requests", "--no-enable-log-requests"],
        ) {
            Some((on, flag)) => Fact::argv(on, flag),
            None => Fact::default(false, "requests are not logged without --enable-log-requests"),
        },
    );
    f.metrics_path = Some(Fact::default("/metrics".into(), "served on the API port"));
    f
}
