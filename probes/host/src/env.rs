//! What of a process's environment may leave the node, and what never may.
//!
//! A serving process's environment holds both the facts a contract cares about (which GPUs it
//! was given, the knobs it runs with) and credentials (`HF_TOKEN`, cloud keys). A snapshot is
//! saved and shared, so it carries:
//!
//! * `CUDA_VISIBLE_DEVICES` and `NVIDIA_VISIBLE_DEVICES`, always, in their own fields (device
//!   lists and GPU UUIDs; the UUIDs would otherwise look like long random strings);
//! * the NAMES of all variables, sorted;
//! * VALUES only for names the caller declared ([`crate::HostProbeOptions::declared_env`]) and
//!   for the harmless runtime knobs in [`ALLOWED_VALUES`];
//! * and even then [`REDACTED`] instead of the value when the name looks secret (it contains,
//!   in any case, one of [`SECRET_NAME_PARTS`]) or the value looks like a token: it starts
//!   with one of [`TOKEN_PREFIXES`], or it is at least 32 characters all from
//!   `[A-Za-z0-9_+/=-]`, with letters and digits, and more than 3 bits of entropy per
//!   character, with a run between `-`, `_`, `.` and `/` that reads as random rather than as
//!   words (API keys, base64, hex secrets; a model name, a path, a GPU UUID are not), or it is a
//!   URL with credentials in its authority (`https://user:pass@collector:4317`).
//!
//! Command lines are shown (they are how the model is served) but pass through [`redact_argv`]:
//! the value after a flag with a secret name (`--api-key X`, `--api-key=X`) and any argument
//! that is, or contains between separators, a token-like string become [`REDACTED`].
//!
//! In names, `TOKENIZER` and `TOKENS` do not count as `TOKEN` (`TOKENIZERS_PARALLELISM`,
//! `--max-num-batched-tokens`); a token-like value is still caught by the value rules.
//!
//! False positives (a harmless value redacted) are accepted; a leaked token is not.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Name fragments (matched case-insensitively) that make a value secret whatever it looks like.
pub const SECRET_NAME_PARTS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "COOKIE",
    "SESSION",
    "PRIVATE",
];

/// Value prefixes of well-known token formats (Hugging Face, OpenAI, GitHub, Slack, AWS access
/// keys, NVIDIA NGC API keys, GitLab personal access tokens, Google API keys, HTTP bearer
/// credentials).
pub const TOKEN_PREFIXES: &[&str] = &[
    "hf_",
    "sk-",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "ASIA",
    "nvapi-",
    "glpat-",
    "AIza",
    "Bearer ",
    "Basic ",
];

/// Runtime knobs whose values are shown even when not declared: they change how a model is
/// served and never carry credentials.
pub const ALLOWED_VALUES: &[&str] = &[
    "CUDA_DEVICE_ORDER",
    "CUDA_LAUNCH_BLOCKING",
    "NCCL_DEBUG",
    "NCCL_IB_DISABLE",
    "NCCL_P2P_DISABLE",
    "NCCL_SOCKET_IFNAME",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "PYTORCH_CUDA_ALLOC_CONF",
    "VLLM_ATTENTION_BACKEND",
    "VLLM_USE_V1",
    "VLLM_WORKER_MULTIPROC_METHOD",
    "VLLM_LOGGING_LEVEL",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HOME",
    "TOKENIZERS_PARALLELISM",
    // The serving engines' own settings, read as facts about how the model is served.
    "VLLM_TARGET_DEVICE",
    "MODEL_ID",
    "MAX_BATCH_SIZE",
    "MAX_TOTAL_TOKENS",
    "MAX_INPUT_TOKENS",
    "MAX_INPUT_LENGTH",
    "MAX_BATCH_TOTAL_TOKENS",
    "MAX_BATCH_PREFILL_TOKENS",
    "MAX_CONCURRENT_REQUESTS",
    "NUM_SHARD",
    "DTYPE",
    "QUANTIZE",
    "LOG_LEVEL",
    "OTLP_ENDPOINT",
    "PROMETHEUS_PORT",
    "LLAMA_ARG_CTX_SIZE",
    "LLAMA_ARG_N_PARALLEL",
    "LLAMA_ARG_TIMEOUT",
    "OLLAMA_NUM_PARALLEL",
    "OLLAMA_CONTEXT_LENGTH",
    "OLLAMA_MAX_QUEUE",
    "OLLAMA_MAX_LOADED_MODELS",
    "OLLAMA_KEEP_ALIVE",
    "NIM_SERVED_MODEL_NAME",
    "NIM_MAX_MODEL_LEN",
    "NIM_LOG_LEVEL",
    "NIM_MODEL_PATH",
    "NIM_SERVER_PORT",
    "NIM_TENSOR_PARALLEL_SIZE",
    "NIM_ENABLE_OTEL",
    "NIM_OTEL_EXPORTER_OTLP_ENDPOINT",
    "NIM_DISABLE_LOG_REQUESTS",
    "OLLAMA_DEBUG",
    "TLLM_LOG_LEVEL",
    "LLAMA_ARG_ENDPOINT_METRICS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    // ROCm: which GPUs a process sees (device lists or UUIDs, as CUDA_VISIBLE_DEVICES), and the
    // allocator and architecture overrides vLLM's ROCm build is run with.
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "HSA_OVERRIDE_GFX_VERSION",
    "PYTORCH_HIP_ALLOC_CONF",
    // What an NVIDIA CUDA image says it needs of the driver: facts about the image, not knobs.
    "CUDA_VERSION",
    "NVIDIA_REQUIRE_CUDA",
    "NVIDIA_DISABLE_REQUIRE",
    "NV_CUDA_COMPAT_PACKAGE",
];

/// Name prefixes of runtime knobs whose values are shown too: vLLM's ROCm settings
/// (`VLLM_ROCM_USE_AITER`, `VLLM_ROCM_FP8_PADDING`, ...), a family that grows with each release.
/// A name that also looks secret is still redacted.
pub const ALLOWED_PREFIXES: &[&str] = &["VLLM_ROCM_"];

/// Whether a variable's value may be shown without being declared.
pub fn allowed_value(name: &str) -> bool {
    ALLOWED_VALUES.contains(&name) || ALLOWED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Of [`ALLOWED_VALUES`], the variables a CUDA image sets about itself: read to check the
/// driver, never worth pinning in a contract.
pub const IMAGE_FACTS: &[&str] = &[
    "CUDA_VERSION",
    "NVIDIA_REQUIRE_CUDA",
    "NVIDIA_DISABLE_REQUIRE",
    "NV_CUDA_COMPAT_PACKAGE",
];

/// The part of a process's environment a snapshot may carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentFacts {
    /// `CUDA_VISIBLE_DEVICES`, when set.
    pub cuda_visible_devices: Option<String>,
    /// `NVIDIA_VISIBLE_DEVICES`, when set.
    pub nvidia_visible_devices: Option<String>,
    /// Every variable name, sorted.
    pub names: Vec<String>,
    /// Values of declared and allow-listed variables that are set, secrets as [`REDACTED`].
    pub values: BTreeMap<String, String>,
}

/// Whether a variable's (or command-line flag's) name marks its value as secret. `TOKENIZER`
/// and `TOKENS` are ignored first: `--tokenizer` and `--max-num-batched-tokens` name models
/// and counts, not credentials.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase().replace("TOKENIZER", "").replace("TOKENS", "");
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
}

/// A command line with credentials replaced by [`REDACTED`]: the value of a flag with a secret
/// name (`--api-key X`, `--api-key=X`), and any argument that looks like a token or holds one
/// between separators (`{"HF_TOKEN": "hf_..."}`, `Authorization: Bearer ...`).
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let mut redacted = Vec::with_capacity(argv.len());
    let mut secret_next = false;
    for arg in argv {
        let is_flag = arg.starts_with('-') && arg.len() > 1 && !arg.starts_with("---");
        if secret_next && !is_flag {
            secret_next = false;
            redacted.push(REDACTED.to_owned());
            continue;
        }
        secret_next = false;
        if is_flag {
            let flag = arg.trim_start_matches('-');
            if let Some((name, _)) = flag.split_once('=') {
                if is_secret_name(name) {
                    let flag_end = arg.len() - flag.len() + name.len();
                    redacted.push(format!("{}={REDACTED}", arg.get(..flag_end).unwrap_or("--")));
                    continue;
                }
            } else if is_secret_name(flag) {
                secret_next = true;
            }
        }
        if holds_token(arg) {
            redacted.push(REDACTED.to_owned());
        } else {
            redacted.push(arg.clone());
        }
    }
    redacted
}

/// Whether `text`, or any run of token characters inside it, looks like a token.
fn holds_token(text: &str) -> bool {
    looks_like_token(text)
        || text.contains("Bearer ")
        || text.contains("Basic ")
        || text
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '/' | '=' | '-')))
            .any(|piece| !piece.is_empty() && looks_like_token(piece))
}

/// Whether a value looks like a credential whatever its name.
pub fn looks_like_token(value: &str) -> bool {
    if TOKEN_PREFIXES.iter().any(|prefix| value.starts_with(prefix)) {
        return true;
    }
    if value.chars().count() < 32 {
        return false;
    }
    let token_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '/' | '=' | '-'));
    let letters = value.chars().any(|c| c.is_ascii_alphabetic());
    let digits = value.chars().any(|c| c.is_ascii_digit());
    token_chars && letters && digits && shannon_entropy(value) > 3.0 && has_random_run(value)
}

/// Whether `value` has a run between name separators (`-`, `_`, `.`, `/`) that reads as random
/// rather than as words: 24 characters or more, 16 or more with letters and digits, or 12 or
/// more whose case turns from lower to upper at least three times (`bPxRfiCYEXAMPLEKEY`, where
/// words in CamelCase turn once or twice). Model
/// names and paths are short words joined by separators (`mistralai/Mistral-7B-Instruct-v0.3`,
/// `/models/deepseek-ai/DeepSeek-R1-Distill-Qwen-32B`), and so are GPU and MIG UUIDs; keys and
/// base64 secrets are long runs. A Hugging Face cache's commit folder (`snapshots/<40 hex>`) is
/// a revision, not a secret, and does not count.
fn has_random_run(value: &str) -> bool {
    let mut previous = "";
    value.split(['-', '_', '.', '/']).any(|run| {
        let revision = previous == "snapshots" && run.len() == 40 && run.bytes().all(|b| b.is_ascii_hexdigit());
        previous = run;
        let letters = run.bytes().any(|b| b.is_ascii_alphabetic());
        let digits = run.bytes().any(|b| b.is_ascii_digit());
        let case_turns = run
            .as_bytes()
            .windows(2)
            .filter(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase())
            .count();
        !revision && (run.len() >= 24 || (run.len() >= 16 && letters && digits) || (run.len() >= 12 && case_turns >= 3))
    })
}

/// Whether a value is a URL with credentials in it (`https://user:pass@host/`).
fn has_url_credentials(value: &str) -> bool {
    value.split("://").nth(1).is_some_and(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority.contains('@')
    })
}

/// The value a snapshot may show for `name`: the value, or [`REDACTED`].
pub fn shown_value(name: &str, value: &str) -> String {
    if is_secret_name(name) || looks_like_token(value) || has_url_credentials(value) {
        REDACTED.to_owned()
    } else {
        value.to_owned()
    }
}

/// Bits per character of `value`'s character distribution.
fn shannon_entropy(value: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    let mut total = 0usize;
    for c in value.chars() {
        *counts.entry(c).or_default() += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    counts
        .values()
        .map(|&count| {
            let p = count as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Builds the facts from raw `NAME=value` pairs, as read from `/proc/<pid>/environ`.
pub(crate) fn environment_facts(raw: &[u8], declared: &[String]) -> EnvironmentFacts {
    let mut variables: BTreeMap<String, String> = BTreeMap::new();
    for entry in raw.split(|&b| b == 0).filter(|entry| !entry.is_empty()) {
        let text = String::from_utf8_lossy(entry);
        let (name, value) = text.split_once('=').unwrap_or((&text, ""));
        variables.insert(name.to_owned(), value.to_owned());
    }
    let shown = |name: &str| declared.iter().any(|declared| declared == name) || allowed_value(name);
    EnvironmentFacts {
        cuda_visible_devices: variables.get("CUDA_VISIBLE_DEVICES").cloned(),
        nvidia_visible_devices: variables.get("NVIDIA_VISIBLE_DEVICES").cloned(),
        names: variables.keys().cloned().collect(),
        values: variables
            .iter()
            .filter(|(name, _)| shown(name))
            .map(|(name, value)| (name.clone(), shown_value(name, value)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_redacted_whatever_the_value() {
        for name in [
            "HF_TOKEN",
            "hf_token",
            "AWS_SECRET_ACCESS_KEY",
            "OPENAI_API_KEY",
            "DB_PASSWORD",
            "FTP_PASSWD",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "BASIC_AUTH",
            "COOKIE_JAR",
            "SESSION_ID",
            "PRIVATE_THING",
        ] {
            assert!(is_secret_name(name), "{name}");
            assert_eq!(shown_value(name, "x"), REDACTED, "{name}");
        }
        for name in ["MODEL_NAME", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PATH"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn urls_with_credentials_are_redacted() {
        assert_eq!(
            shown_value("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:pw@collector:4317"),
            REDACTED
        );
        assert_eq!(
            shown_value("OTLP_ENDPOINT", "http://collector:4317/v1/traces?x=a@b"),
            "http://collector:4317/v1/traces?x=a@b"
        );
        assert_eq!(
            shown_value("OTLP_ENDPOINT", "http://collector:4317"),
            "http://collector:4317"
        );
    }

    #[test]
    fn token_like_values_are_redacted_whatever_the_name() {
        for value in [
            "hf_abcdefghijklmnopqrstuvwxyz123456",
            "sk-proj-abc",
            "ghp_abc",
            "xoxb-1-2",
            "AKIAIOSFODNN7EXAMPLE",
            // NGC, GitLab and Google keys: short enough to pass the length rule, so only
            // their prefixes catch them.
            "nvapi-Ab3dEf",
            "glpat-xYz12",
            "AIzaSyA-1b",
            "Bearer abc.def",
            "3f9a1c07b2e84d65a0c9e1f27b8d4c3e",
            "dGhpcyBpcyBhIGxvbmcgc2VjcmV0IHZhbHVlMTIzNDU2Nzg5MA==",
            // An AWS secret access key's shape: base64 with slashes, one long run.
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "models/a8Kd93JfLq02Mzx7PwQe5TnBv6",
            // A 40-hex run outside a Hugging Face cache's `snapshots/` is treated as a key.
            "/opt/tokens/5f0b02c75b57c5855da9ae460ce51323ea669d8a",
        ] {
            assert!(looks_like_token(value), "{value}");
            assert_eq!(shown_value("MODEL_NAME", value), REDACTED, "{value}");
        }
    }

    #[test]
    fn ordinary_values_are_kept() {
        for value in [
            "",
            "0,1",
            "meta-llama/Llama-3.1-8B-Instruct",
            "/usr/local/bin:/usr/bin:/bin",
            "expandable_segments:True",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
            "short_token_like_1",
            "abcdefghijklmnopqrstuvwxyzabcdefghij",
            // Model names, paths and device ids: words joined by separators (these were
            // redacted out of command lines, so `model-id` compared a redaction).
            "mistralai/Mistral-7B-Instruct-v0.3",
            "TheBloke/Mixtral-8x7B-Instruct-v0.1-GPTQ",
            "/models/deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
            "/mnt/models/llama3-8b-instruct-q4_k_m.gguf",
            "/root/.cache/huggingface/hub/models--meta-llama--Meta-Llama-3.1-8B-Instruct/snapshots/5f0b02c75b57c5855da9ae460ce51323ea669d8a",
            "GPU-8e4c1f2a-3b5d-4c6e-9f70-1a2b3c4d5e6f",
            "MIG-4b1c2d3e-5f60-7a8b-9c0d-1e2f3a4b5c6d",
        ] {
            assert!(!looks_like_token(value), "{value}");
            assert_eq!(shown_value("MODEL_NAME", value), value);
        }
    }

    #[test]
    fn tokenizer_and_token_counts_are_not_secret_names() {
        for name in ["TOKENIZERS_PARALLELISM", "tokenizer", "max-num-batched-tokens"] {
            assert!(!is_secret_name(name), "{name}");
        }
        assert!(is_secret_name("hf-token"));
        assert!(is_secret_name("api-key"));
    }

    #[test]
    fn argv_redaction() {
        let argv: Vec<String> = [
            "vllm",
            "serve",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--api-key",
            "plainsecret",
            "--hf-token=abc",
            "--tokenizer",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--max-num-batched-tokens",
            "8192",
            "--env",
            r#"{"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz123456", "X": "1"}"#,
            "--header",
            "Authorization: Bearer abcdef",
            "--api-key",
            "--port",
            "8000",
            "--served-model-name",
            "mistralai/Mistral-7B-Instruct-v0.3",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let shown = redact_argv(&argv);
        let expected = [
            "vllm",
            "serve",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--api-key",
            REDACTED,
            "--hf-token=<redacted>",
            "--tokenizer",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--max-num-batched-tokens",
            "8192",
            "--env",
            REDACTED,
            "--header",
            REDACTED,
            "--api-key",
            "--port",
            "8000",
            "--served-model-name",
            "mistralai/Mistral-7B-Instruct-v0.3",
        ];
        assert_eq!(shown, expected);
    }

    #[test]
    fn facts_show_names_and_only_declared_or_allowed_values() {
        let raw = b"MODEL_NAME=x\0HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz123456\0CUDA_VISIBLE_DEVICES=0,1\0\
OMP_NUM_THREADS=4\0PATH=/bin\0NVIDIA_VISIBLE_DEVICES=GPU-8e4c1f2a-3b5d-4c6e-9f70-1a2b3c4d5e6f\0\
NOEQUALS\0API_KEY=plain\0";
        let declared = vec!["MODEL_NAME".to_owned(), "HF_TOKEN".to_owned(), "MISSING".to_owned()];
        let facts = environment_facts(raw, &declared);
        assert_eq!(facts.cuda_visible_devices.as_deref(), Some("0,1"));
        assert_eq!(
            facts.nvidia_visible_devices.as_deref(),
            Some("GPU-8e4c1f2a-3b5d-4c6e-9f70-1a2b3c4d5e6f")
        );
        assert_eq!(
            facts.names,
            [
                "API_KEY",
                "CUDA_VISIBLE_DEVICES",
                "HF_TOKEN",
                "MODEL_NAME",
                "NOEQUALS",
                "NVIDIA_VISIBLE_DEVICES",
                "OMP_NUM_THREADS",
                "PATH"
            ]
        );
        let values: Vec<(&str, &str)> = facts.values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            values,
            [("HF_TOKEN", REDACTED), ("MODEL_NAME", "x"), ("OMP_NUM_THREADS", "4")]
        );
    }

    /// vLLM's ROCm build: which GPUs it sees and its VLLM_ROCM_* knobs are shown undeclared;
    /// a VLLM_ROCM_ name that looks secret is still redacted.
    #[test]
    fn rocm_knobs_are_shown() {
        let raw = b"HIP_VISIBLE_DEVICES=0,1,2,3\0ROCR_VISIBLE_DEVICES=GPU-5f3a\0VLLM_ROCM_USE_AITER=1\0\
VLLM_ROCM_FP8_PADDING=0\0VLLM_ROCM_SECRET_TOKEN=abc\0HSA_OVERRIDE_GFX_VERSION=9.4.2\0VLLM_ROCMX=no\0";
        let facts = environment_facts(raw, &[]);
        let values: Vec<(&str, &str)> = facts.values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            values,
            [
                ("HIP_VISIBLE_DEVICES", "0,1,2,3"),
                ("HSA_OVERRIDE_GFX_VERSION", "9.4.2"),
                ("ROCR_VISIBLE_DEVICES", "GPU-5f3a"),
                ("VLLM_ROCM_FP8_PADDING", "0"),
                ("VLLM_ROCM_SECRET_TOKEN", REDACTED),
                ("VLLM_ROCM_USE_AITER", "1"),
            ]
        );
    }
}
