//! `modelspec explain CODE`: what a check compares, whether it is an equality or a bound, and
//! where the observed value comes from (per engine where engines differ).
//!
//! Kept beside the checks, one entry per code in [`super::CHECKS`] (a test holds them equal),
//! so a new check cannot ship without saying what it does.

/// Long explanations, by code.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "accelerator-vendor",
        "Compares runtime.accelerator.vendor with what NVML sees. nvidia passes when NVML loads and lists at least one GPU; other vendors are skipped (modelspec reads NVIDIA GPUs only).",
    ),
    (
        "accelerator-type",
        "Equality of GPU family between runtime.accelerator.type and every GPU's NVML name (a10 is not a10g). Memory (within 10%) and form factor (pcie, sxm, nvl) are compared only when the declared type names them.",
    ),
    (
        "accelerator-count",
        "Bound: the GPUs holding a process of the serving process tree (NVML compute processes joined with the host probe's process tree, across PID namespaces) must be at least runtime.accelerator.count. When nothing can be attributed, usable visible GPUs are counted instead, and the evidence says which rule applied.",
    ),
    (
        "accelerator-precision",
        "The declared identity.model.precision must run natively on every GPU: bf16 needs compute capability 8.0, fp8 8.9, fp4 10.0 (NVML compute capability).",
    ),
    (
        "accelerator-mig",
        "A spec for whole GPUs expects MIG mode off on every GPU: MIG on, or pending (on after the next GPU reset, NVML's pending mode), is drift (fail) unless runtime.accelerator.type names a MIG profile (`<gpu>-mig-<profile>`, e.g. a100-80gb-mig-3g.40gb). A declared profile is drift when MIG is off on every GPU, or when no MIG slice has that profile; unknown when the slices cannot be read.",
    ),
    (
        "gpu-shared",
        "Warns when processes outside the serving process tree run on the GPUs it holds (NVML compute processes), naming each pid and its memory.",
    ),
    (
        "accelerator-parallelism",
        "Equality: tensor-parallel size x pipeline-parallel size the engine runs with must equal runtime.accelerator.count. Read by the engine readers (one parser: the last occurrence of a flag wins, --tensor_parallel_size equals --tensor-parallel-size): vLLM and NIM --tensor-parallel-size/-tp, --pipeline-parallel-size/-pp; SGLang /server_info tp_size/pp_size, else --tp-size/--tp, --pp-size/--pp; TGI --num-shard or NUM_SHARD; TensorRT-LLM --tp_size/--pp_size. No finding when neither is stated (engine defaults only).",
    ),
    (
        "gpu-lost",
        "No GPU may answer NVML_ERROR_GPU_IS_LOST (fallen off the bus).",
    ),
    (
        "gpu-memory-errors",
        "No uncorrectable ECC errors (volatile or aggregate), no pages pending retirement, no failed row remapping, on any GPU (NVML). A GPU that reports none of these is unknown, not pass.",
    ),
    (
        "gpu-throttling",
        "No power or thermal clock-event (throttle) reason active on any GPU (NVML).",
    ),
    (
        "gpu-persistence-mode",
        "Persistence mode should be on for every GPU, so the driver stays initialized between jobs.",
    ),
    (
        "serving-port",
        "Something listens on operations.serving.port (IPv4 or IPv6, any address) and its process is known (socket inode -> pid, via sock_diag or /proc/net). With --pid, the port must be held by that process or its children; another holder is drift, and named.",
    ),
    (
        "env-variable",
        "Equality: each declared runtime.environment.variables entry must be set in the serving process's environment with the declared value. A missing variable or another value fails; a secret-looking value is never shown and reads unknown. Extra variables are never listed.",
    ),
    (
        "resources-cpu",
        "Bound: CPU available to the serving process (its cgroup v2/v1 quota, else the host's logical cores) must cover runtime.resources.cpuCores. Both values are in the evidence.",
    ),
    (
        "resources-memory",
        "Bound: memory available to the serving process (its cgroup limit, else the host's total) must cover runtime.resources.memoryGb, read as GiB.",
    ),
    (
        "resources-storage",
        "Bound: the filesystem holding the model (--storage-path, else a local modelUri) must have runtime.resources.ephemeralStorageGb of capacity, read as GiB (statvfs).",
    ),
    (
        "gpu-unclaimed",
        "Several specs scanned together: every usable GPU should hold a process of some scanned spec's serving tree. Idle GPUs and GPUs held by processes no scanned spec serves are warned about; with a spec's server not found, ownership is unknown.",
    ),
    (
        "gpu-contended",
        "Several specs scanned together: no GPU should hold processes of two specs' serving trees.",
    ),
    (
        "workload-match",
        "Which workload (process, container, pod) a spec is judged against, and how it was chosen. Every network namespace on the node is searched for listeners on the serving port (a container's or pod's own namespace included), and port forwarders are followed to the workload (podman's conmon to its container, docker-proxy to its -container-ip/-container-port, docker's hostconfig.json for ports no process holds). Then, in order: --workload (pid:PID, container:NAME-OR-ID, NAMESPACE/POD[/CONTAINER], with * globs); the spec's metadata.annotations[\"modelspec.piqc.ai/workload\"] in the same grammar; the port together with the model id its engine serves; the port alone when one process serves it and no other scanned spec claimed it. Pass names the chain (host port -> forwarder -> process in container, and the address it was reached at); unknown lists the candidates when several remain; skip when the spec is not deployed on this node.",
    ),
    (
        "not-deployed",
        "A note on the node for each spec whose workload does not run there: nothing listens on its serving port in any network namespace, no workload matches its selector, or every workload on its port serves another model. Its checks are then skipped, never reported as drift (a DaemonSet that checks every spec on every node). With --require-deployed it fails the scan, for a node that must run the model.",
    ),
    (
        "server-shared",
        "Several specs scanned together: each spec should resolve to its own serving process; two specs on one port resolve to one process.",
    ),
    (
        "model-id",
        "Equality after normalization: identity.model.id against the engine's served model ids or its model path. hf://org/name and org/name are the same, case is ignored, and a path ending in /org/name or the HF cache's models--org--name matches. Sources: vLLM, SGLang, NIM, llama.cpp and TensorRT-LLM /v1/models data[].id and root; TGI /info model_id; SGLang /server_info served_model_name and model_path; llama.cpp /props model_alias and model_path; Triton the model configuration's name; Ollama /api/ps models[].name.",
    ),
    (
        "model-framework",
        "Equality: identity.model.framework against the engine detected on the serving port (command line first: vllm serve, text-generation-launcher, sglang.launch_server, tritonserver, llama-server, trtllm-serve, ollama serve; then answer signatures: /v1/models owned_by, /info, /server_info, /v2, /props, /api/version, /v1/metadata). A library rather than an engine (transformers, pytorch, ...) is skipped with the reason. A vllm spec served by NIM passes (NIM runs vLLM).",
    ),
    (
        "model-precision",
        "Equality: identity.model.precision against the engine's dtype, normalized (bf16 = bfloat16, fp16 = float16 = half, fp32 = float32). A quantized model is compared by its method's precision (awq/gptq -> int4, fp8 -> fp8, int8/w8a8 -> int8). dtype auto is resolved from the local model folder's config.json (torch_dtype), else unknown. Sources: vLLM --dtype/--quantization, TGI /info model_dtype (before 2.3) or --dtype/DTYPE and --quantize/QUANTIZE, SGLang /server_info dtype and quantization, Ollama /api/ps details.quantization_level.",
    ),
    (
        "model-artifact",
        "Equality: identity.model.artifacts.modelUri against the engine's model path or repository, when comparable: file:// and absolute paths, and hf:// repositories. Object-store URIs (s3://, gs://, ...) are skipped: the engine serves a local copy.",
    ),
    (
        "batch-max-size",
        "Bound: the engine's configured maximum of sequences run at once must be at most runtime.batch.maxBatchSize; more fails. Sources: vLLM --max-num-seqs (default 256, 1024 on GPUs of 70 GiB or more, and the finding says a default applied), TGI /info max_batch_size (before 2.3) or --max-batch-size/MAX_BATCH_SIZE, SGLang /server_info max_running_requests (the command-line value; SGLang may cap lower), Triton config max_batch_size, llama.cpp /props total_slots (-np), TensorRT-LLM --max_batch_size or /metrics maxBatchSizeStatic, Ollama OLLAMA_NUM_PARALLEL.",
    ),
    (
        "batch-max-sequence-length",
        "Bound: the engine's maximum sequence length (prompt + output) must cover runtime.batch.maxSequenceLengthTokens; less fails, more warns. Sources: vLLM /v1/models max_model_len (else --max-model-len), TGI /info max_total_tokens (else --max-total-tokens/MAX_TOTAL_TOKENS, else the highest bucket of its tgi_request_generated_tokens histogram, which TGI lays out up to that limit), SGLang /server_info context_length (else /v1/models max_model_len), llama.cpp /props default_generation_settings.n_ctx (per slot: -c divided by -np), TensorRT-LLM --max_seq_len, Ollama /api/ps context_length or OLLAMA_CONTEXT_LENGTH, NIM /v1/models max_model_len or NIM_MAX_MODEL_LEN.",
    ),
    (
        "serving-protocol",
        "http: the port must answer an HTTP request (any status). grpc: a TCP connection must answer the HTTP/2 connection preface with a SETTINGS frame.",
    ),
    (
        "readiness-probe",
        "GET operations.serving.readinessProbe.path must answer 2xx within its timeoutSeconds (1 s when not given, as the kubelet). The latency is recorded. Engines say not-ready differently: vLLM refuses connections while loading and answers 503 when its engine is dead; Triton answers 400; llama.cpp 503 Loading model; SGLang /health_generate 503 while starting.",
    ),
    (
        "liveness-probe",
        "As readiness-probe, for operations.serving.livenessProbe.",
    ),
    (
        "max-concurrency",
        "Equality: the engine's admission limit (requests accepted at once, queued or running) must equal operations.serving.maxConcurrency. Fewer fails: requests the contract promises are refused (TGI answers 429 past max_concurrent_requests, Ollama 503 past OLLAMA_MAX_QUEUE), and the message says how many. More fails: the cap the contract relies on is not enforced. Sources: TGI /info max_concurrent_requests (default 128), Ollama OLLAMA_MAX_QUEUE (default 512), SGLang max_queued_requests, Triton dynamic_batching max_queue_size. vLLM and llama.cpp queue without limit: skipped, with the reason.",
    ),
    (
        "serving-timeout",
        "Equality: the engine's own request timeout against operations.serving.timeoutSeconds (llama.cpp -to/--timeout); shorter fails, longer warns. Engines without one are skipped: the gateway's timeout applies.",
    ),
    (
        "logging-level",
        "Equality (case ignored, warning = warn): operations.observability.logging.level against the engine's log level. Sources: vLLM VLLM_LOGGING_LEVEL (default INFO), TGI LOG_LEVEL, SGLang /server_info log_level, TensorRT-LLM --log_level, NIM NIM_LOG_LEVEL.",
    ),
    (
        "tracing-enabled",
        "operations.observability.tracing.enabled against whether traces are exported: the engine's OTLP endpoint (vLLM --otlp-traces-endpoint, TGI --otlp-endpoint/OTLP_ENDPOINT, SGLang --enable-trace with --otlp-traces-endpoint) or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT in the serving process's environment. Declared but off fails; on but declared off warns.",
    ),
    (
        "pii-request-logging",
        "With governance.compliance.pii.allowed: false, the engine must not log requests or prompts. Sources: vLLM --enable-log-requests (off by default), SGLang /server_info log_requests.",
    ),
    (
        "metrics-exposed",
        "operations.observability.metrics: with enabled (or unset), the metrics endpoint (the declared port, else the engine's metrics port, else the serving port; the engine's path: /metrics, NIM /v1/metrics, TensorRT-LLM /prometheus/metrics) must answer Prometheus or OpenMetrics text; missing expected families (vLLM's running, waiting, latency and token families, with their renames) and malformed lines warn. Names with `:` (vllm:, sglang:, llamacpp:) are also found as an OpenTelemetry collector or a managed Prometheus rewrites them (vllm_, sglang_, llamacpp_), and the message says which form the page uses. enabled: false with an endpoint serving warns. Providers other than prometheus are skipped.",
    ),
    (
        "latency-p95",
        "Bound: the bucket holding the 95th percentile of the engine's end-to-end latency histogram (vllm:e2e_request_latency_seconds, tgi_request_duration, sglang:e2e_request_latency_seconds, trtllm_e2e_request_latency_seconds; every label set merged) must lie wholly under operations.scaling.targetLatencyMsP95 to pass, wholly over it to fail; a bucket that straddles the target is unknown. Without a measurement window this is the server's lifetime histogram, and the finding says so.",
    ),
    (
        "batch-observed",
        "Bound: sequences running when the page was scraped (vllm:num_requests_running, tgi_batch_current_size, sglang:num_running_reqs, llamacpp:requests_processing, nv_trt_llm_request_metrics{request_type=\"active\"}) must not exceed runtime.batch.maxBatchSize. One scrape is one instant.",
    ),
    (
        "saturation",
        "Warns when the page shows requests waiting (vllm:num_requests_waiting, tgi_queue_size, sglang:num_queue_reqs, llamacpp:requests_deferred), a KV cache 90% full or more (vllm:kv_cache_usage_perc, formerly gpu_cache_usage_perc; llama.cpp's llamacpp:kv_cache_usage_ratio only on older builds), or preemptions since start. When the engine's KV-cache gauge is absent (llama.cpp removed it), the message says so and names the families judged instead (requests_deferred, with requests_processing). Names with `:` are also read as a collector rewrites them (vllm_, sglang_, llamacpp_); the evidence lists the families as the page names them.",
    ),
    (
        "request-rate",
        "With --prometheus: the request rate over --range (sum of rate() of the latency histogram's _count) against operations.scaling.targetRps, per replica. Report-only: it passes unless the rate is more than 1.2x the target, which warns.",
    ),
    (
        "cost-per-1k-tokens",
        "Bound: the declared GPUs (runtime.accelerator.count) x --gpu-hourly-usd, divided by the tokens served per second (prompt and generated token counters: vllm:prompt_tokens_total + vllm:generation_tokens_total, sglang:, llamacpp:, trtllm_ equivalents, TGI's token histogram sums), per 1,000 tokens, must be at most governance.cost.targetCostPer1kTokensUsd. The token rate comes from --prometheus over --range, else from a --window; without either it is unknown, and without a price it is skipped.",
    ),
    (
        "sequence-length-observed",
        "Evidence for runtime.batch.maxSequenceLengthTokens from the engine's prompt-length histogram (vllm:request_prompt_tokens, tgi_request_input_length, nv_llm_input_token_len): the bucket of the longest prompts served. A bucket starting at 90% of the limit or more warns that clients send prompts near it. TGI lays out its buckets up to its max input tokens, so the top bucket also shows that limit.",
    ),
    (
        "not-checked",
        "Every declared field that no check judges gets a skip finding with the reason (descriptive metadata, not observable on a node, or not checked yet), so a report accounts for the whole spec.",
    ),
];

/// The explanation of `code`, when it is a check code.
pub fn explain(code: &str) -> Option<&'static str> {
    EXPLANATIONS.iter().find(|(c, _)| *c == code).map(|(_, text)| *text)
}
