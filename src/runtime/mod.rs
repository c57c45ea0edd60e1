//! Serving engines: how each one reveals what it serves, read into one set of normalized facts.
//!
//! vLLM, TGI, SGLang, Triton, llama.cpp, TensorRT-LLM, Ollama and NIM each say the same things
//! (which model, how long a sequence, how many at once, which dtype) in their own places: a
//! command-line flag, an environment variable, a field of an introspection endpoint, or a
//! default the engine applies when nothing is said. One file per engine knows those places;
//! everything after this module sees only [`EngineFacts`], where every fact carries its
//! [`Source`] so a finding can say where its observed value came from.
//!
//! Engines are read from an [`Inputs`]: the serving process's command line and environment
//! (from the host probe) and the endpoint's answers (from the HTTP probe), all recorded in the
//! observation. Reading is pure, so a replayed observation gives the same facts.
//!
//! Detection ([`detect`]) weighs the command line first (it names the program), then the
//! answers' signatures (`/v1/models` `owned_by`, `/info`, `/v2`, `/props`, ...). NIM wraps vLLM
//! and answers like it, so NIM's own endpoints are checked before vLLM's.

pub mod argv;
pub mod llamacpp;
pub mod nim;
pub mod ollama;
pub mod openai;
pub mod sglang;
pub mod tgi;
pub mod triton;
pub mod trtllm;
pub mod vllm;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A serving engine `modelspec` knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineId {
    /// vLLM (`vllm serve`, its OpenAI-compatible server).
    Vllm,
    /// Hugging Face Text Generation Inference.
    Tgi,
    /// SGLang.
    Sglang,
    /// NVIDIA Triton Inference Server.
    Triton,
    /// llama.cpp's `llama-server`.
    LlamaCpp,
    /// TensorRT-LLM's `trtllm-serve`.
    TensorrtLlm,
    /// Ollama.
    Ollama,
    /// NVIDIA NIM for LLMs.
    Nim,
}

/// One serving engine, described: everything the generic machinery here (detection, the HTTP
/// probe's endpoint list, the metrics checks, the wording of findings) needs to know about it,
/// as data and two readers. Each engine's file holds its `ENGINE`, beside the endpoints,
/// metric families, flags and readers it names; [`ENGINES`] lists them. Checks never name an
/// engine: they read [`EngineFacts`] and these fields, so adding an engine touches its file,
/// not the checks.
pub struct Engine {
    /// The identifier observations and reports carry.
    pub id: EngineId,
    /// The name reports use: `EngineId`'s serialised form (`llama-cpp`), and an
    /// `identity.model.framework` value that means this engine.
    pub name: &'static str,
    /// Other `identity.model.framework` spellings that mean this engine, as
    /// [`EngineId::from_framework`] normalises them (lowercase; `_`, `.` and spaces as `-`).
    pub framework_aliases: &'static [&'static str],
    /// The port the engine listens on when not told otherwise.
    pub default_port: u16,
    /// How its command line names it (weighed first in [`detect`]).
    pub launch: argv::Launch,
    /// The GET endpoints worth reading for its facts and signature, beyond the common ones.
    pub endpoints: &'static [&'static str],
    /// Where it keeps the Prometheus families the checks read.
    pub metrics: EngineMetrics,
    /// Prefixes its metric names carry (`vllm:`, `tgi_`): a page named mostly by one of them is
    /// its ([`engine_from_metric_names`]). A prefix ending in `:` is also matched as a collector
    /// rewrites it (`vllm_`).
    pub metric_prefixes: &'static [&'static str],
    /// What its readiness endpoint answers while not ready, in words (for findings).
    pub not_ready: &'static str,
    /// What only some engines do ([`Traits::NONE`] for the others).
    pub traits: Traits,
    /// What in the answers says "this is the engine", in words; empty when nothing does.
    pub signature: fn(&Inputs) -> Vec<String>,
    /// Reads its facts (before the generic resolution in [`facts`]).
    pub facts: fn(&Inputs) -> EngineFacts,
}

/// What only some engines do, apart from the rest of [`Engine`] so that an engine with none
/// says so in one line (`traits: Traits::NONE`).
#[derive(Debug, Clone, Copy)]
pub struct Traits {
    /// What it answers to requests past its admission limit, in words, when known (for findings).
    pub over_admission_limit: Option<&'static str>,
    /// Other engines it runs inside, so that a spec declaring one of them is served as declared
    /// (NIM runs vLLM).
    pub serves_as: &'static [EngineId],
    /// It wraps other engines and answers with their signatures too, so its signature beside
    /// another engine's is no conflict (NIM).
    pub wraps_other_engines: bool,
}

impl Traits {
    /// None of them.
    pub const NONE: Traits = Traits {
        over_admission_limit: None,
        serves_as: &[],
        wraps_other_engines: false,
    };
}

/// Every engine, in detection order: the first whose command line matches wins, and NIM comes
/// before the vLLM it wraps. The one list to extend when adding an engine (with its `mod` line
/// and its [`EngineId`] variant, which Rust needs).
pub const ENGINES: &[&Engine] = &[
    &nim::ENGINE,
    &vllm::ENGINE,
    &tgi::ENGINE,
    &sglang::ENGINE,
    &triton::ENGINE,
    &llamacpp::ENGINE,
    &trtllm::ENGINE,
    &ollama::ENGINE,
];

/// [`ENGINES`] indexed by [`EngineId`]'s declaration order, built when compiling: the build
/// fails unless each registered id appears once and the ids run from the first variant on.
const BY_ID: [&Engine; ENGINES.len()] = {
    let mut table = [ENGINES[0]; ENGINES.len()];
    let mut seen = [false; ENGINES.len()];
    let mut i = 0;
    while i < ENGINES.len() {
        let at = ENGINES[i].id as usize;
        assert!(
            at < ENGINES.len() && !seen[at],
            "every EngineId has exactly one entry in ENGINES"
        );
        seen[at] = true;
        table[at] = ENGINES[i];
        i += 1;
    }
    table
};

impl EngineId {
    /// Every engine, in detection order (NIM before the vLLM it wraps): [`ENGINES`]' ids.
    pub const ALL: [EngineId; ENGINES.len()] = {
        let mut all = [ENGINES[0].id; ENGINES.len()];
        let mut i = 0;
        while i < ENGINES.len() {
            all[i] = ENGINES[i].id;
            i += 1;
        }
        all
    };

    /// This engine's descriptor.
    pub fn engine(self) -> &'static Engine {
        // Every variant is registered (`every_engine_id_is_registered_once` holds the variants
        // serde knows to ENGINES), so the fallback is never taken; it keeps this total.
        BY_ID.get(self as usize).copied().unwrap_or(ENGINES[0])
    }

    /// The name reports use (and `identity.model.framework` values that mean this engine).
    pub fn as_str(self) -> &'static str {
        self.engine().name
    }

    /// The engine a spec's `identity.model.framework` names, when it names one.
    pub fn from_framework(framework: &str) -> Option<EngineId> {
        let f = framework.to_ascii_lowercase().replace(['_', '.', ' '], "-");
        ENGINES
            .iter()
            .find(|e| e.name == f || e.framework_aliases.contains(&f.as_str()))
            .map(|e| e.id)
    }

    /// The port the engine listens on when not told otherwise.
    pub fn default_port(self) -> u16 {
        self.engine().default_port
    }

    /// What the engine's readiness endpoint answers while not ready, in words (for findings).
    pub fn not_ready_semantics(self) -> &'static str {
        self.engine().not_ready
    }

    /// Where this engine keeps its Prometheus families.
    pub fn metrics(self) -> &'static EngineMetrics {
        &self.engine().metrics
    }

    /// The GET endpoints worth reading for this engine's facts, beyond the common ones.
    pub fn endpoints(self) -> &'static [&'static str] {
        self.engine().endpoints
    }

    /// Whether a spec declaring `declared` is served as declared by this engine: the same
    /// engine, or one it runs inside ([`Traits::serves_as`]).
    pub fn serves(self, declared: EngineId) -> bool {
        self == declared || self.engine().traits.serves_as.contains(&declared)
    }
}

/// Where an engine keeps the Prometheus families the checks read: each engine's file has its
/// `METRICS`, so the checks ask for running requests or latency, not for `vllm:` names. Several
/// names mean renames across versions (the first present wins).
pub struct EngineMetrics {
    pub latency_histogram: &'static [&'static str],
    /// Gauge of sequences running now, and a label filter (`request_type="active"`).
    pub running: &'static [&'static str],
    pub running_filter: Option<(&'static str, &'static str)>,
    pub waiting: &'static [&'static str],
    pub waiting_filter: Option<(&'static str, &'static str)>,
    /// KV-cache usage, 0..1.
    pub kv_cache_usage: &'static [&'static str],
    pub preemptions: &'static [&'static str],
    /// Counter samples of prompt and generated tokens (summed).
    pub token_counters: &'static [&'static str],
    /// Histogram of prompt lengths per request, in tokens.
    pub prompt_histogram: &'static [&'static str],
    /// Families a healthy page of this engine has.
    pub expected: &'static [&'static [&'static str]],
    /// A latency exposed only as an average, read when the page has no latency histogram.
    pub average_latency: Option<AverageLatency>,
}

impl EngineMetrics {
    /// No families at all: the base each engine's `METRICS` fills in (`..EngineMetrics::NONE`),
    /// so an engine file lists only the families it has.
    pub const NONE: EngineMetrics = EngineMetrics {
        latency_histogram: &[],
        running: &[],
        running_filter: None,
        waiting: &[],
        waiting_filter: None,
        kv_cache_usage: &[],
        preemptions: &[],
        token_counters: &[],
        prompt_histogram: &[],
        expected: &[],
        average_latency: None,
    };
}

/// A latency an engine exposes only as an average: a duration counter over a request counter,
/// per model. The slowest model's average is taken (an ensemble's requests include its steps').
#[derive(Debug, Clone, Copy)]
pub struct AverageLatency {
    /// The engine as a person names it in a message (`Triton`).
    pub engine: &'static str,
    /// The cumulative duration counter, in its spellings.
    pub durations: &'static [&'static str],
    /// The request counter, in its spellings.
    pub counts: &'static [&'static str],
    /// The label both are split by.
    pub label: &'static str,
    /// Milliseconds per unit of the duration counter.
    pub ms_per_unit: f64,
    /// What turns a real histogram on.
    pub histogram_option: &'static str,
}

/// Every GET endpoint any engine's detection or facts read: the HTTP probe asks them all in
/// one concurrent round, since the engine is not known before the answers are.
pub fn all_endpoints() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = EngineId::ALL
        .iter()
        .flat_map(|e| e.endpoints().iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Where a fact was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// A flag on the serving command line.
    Argv { flag: String },
    /// An environment variable of the serving process.
    Env { name: String },
    /// A field of an endpoint's JSON answer.
    Endpoint { path: String, field: String },
    /// The engine's default, applied because nothing set the value.
    Default { rule: String },
    /// The model's own `config.json`.
    ModelConfig { field: String },
}

impl Source {
    /// A short description for evidence and messages: `--max-model-len`, `GET /info max_total_tokens`.
    pub fn describe(&self) -> String {
        match self {
            Source::Argv { flag } => format!("command line {flag}"),
            Source::Env { name } => format!("environment {name}"),
            Source::Endpoint { path, field } => format!("GET {path} {field}"),
            Source::Default { rule } => format!("engine default ({rule})"),
            Source::ModelConfig { field } => format!("model config.json {field}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Fact<T> {
    pub(crate) fn argv(value: T, flag: &str) -> Fact<T> {
        Fact {
            value,
            source: Source::Argv { flag: flag.into() },
        }
    }

    pub(crate) fn env(value: T, name: &str) -> Fact<T> {
        Fact {
            value,
            source: Source::Env { name: name.into() },
        }
    }

    pub(crate) fn endpoint(value: T, path: &str, field: &str) -> Fact<T> {
        Fact {
            value,
            source: Source::Endpoint {
                path: path.into(),
                field: field.into(),
            },
        }
    }

    pub(crate) fn default(value: T, rule: &str) -> Fact<T> {
        Fact {
            value,
            source: Source::Default { rule: rule.into() },
        }
    }
}

/// Whether request or prompt logging is on.
pub type Toggle = Fact<bool>;

/// What one engine says about how it serves, normalized. `None` means the engine did not say
/// (the check then reads `unknown`, with [`EngineFacts::gaps`] for the reason when there is one).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EngineFacts {
    /// Engine version.
    pub version: Option<Fact<String>>,
    /// Served model ids (names clients use).
    pub served_model_ids: Option<Fact<Vec<String>>>,
    /// The model's path or repository.
    pub model_root: Option<Fact<String>>,
    /// Longest sequence (prompt + output) one request may have, in tokens.
    pub max_sequence_length: Option<Fact<u64>>,
    /// Most sequences the engine runs at once (its batch).
    pub max_batch_size: Option<Fact<u64>>,
    /// Most requests the engine admits at once (queued or running).
    pub max_concurrency: Option<Fact<u64>>,
    /// Request timeout, in seconds.
    pub request_timeout_seconds: Option<Fact<u64>>,
    /// Weights dtype, normalized (`bf16`, `fp16`, `fp32`, `auto`, ...).
    pub dtype: Option<Fact<String>>,
    /// Quantization method.
    pub quantization: Option<Fact<String>>,
    pub tensor_parallel: Option<Fact<u64>>,
    pub pipeline_parallel: Option<Fact<u64>>,
    /// Log level, lowercase.
    pub log_level: Option<Fact<String>>,
    /// OTLP traces endpoint.
    pub tracing_endpoint: Option<Fact<String>>,
    /// Whether requests or prompts are logged.
    pub request_logging: Option<Toggle>,
    /// Where Prometheus metrics are served: port (when not the API port) and path.
    pub metrics_path: Option<Fact<String>>,
    pub metrics_port: Option<Fact<u16>>,
    /// Why a fact is missing, by fact name, when the engine was asked and did not answer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gaps: BTreeMap<String, String>,
}

/// The recorded answer to one GET, as the engines read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<'a> {
    /// An HTTP response.
    Reply {
        status: u16,
        content_type: Option<&'a str>,
        server: Option<&'a str>,
        body: &'a str,
        /// The body was cut at the size cap or the deadline.
        truncated: bool,
        /// Why the body cannot be read as the document it claims to be, when the HTTP layer
        /// knows: why it was cut (too large, too slow, connection dropped), a redirect that was
        /// not followed, or bytes that are not UTF-8 (which neither JSON nor Prometheus text may
        /// hold; the body shown has them replaced, and must not be judged as if it were real).
        problem: Option<&'a str>,
        /// Time to the response headers, when measured.
        latency_ms: Option<f64>,
    },
    /// No response: why (refused, timed out, ...).
    Failed {
        reason: &'a str,
        /// Nothing came back before the deadline (the server may be slow rather than absent).
        timed_out: bool,
    },
}

/// The endpoint's recorded answers, by path.
pub trait Answers {
    /// The answer to `GET path`, or `None` when it was not asked.
    fn get(&self, path: &str) -> Option<Answer<'_>>;

    /// `GET path` read as JSON ([`json_of`]). Answers that are read many times (an endpoint
    /// judged by several checks of several specs) keep the parsed document.
    fn json(&self, path: &str) -> Result<Doc, String> {
        json_of_reply(self.get(path), path).map(Doc::new)
    }
}

/// A parsed answer, shared: every check that reads it holds the same document.
pub type Doc = std::sync::Arc<Json>;

/// Parsed documents kept beside the answers they came from: each `GET` is parsed once
/// however many checks read it. Empty when cloned, equal to any other, and never serialized:
/// it only remembers work.
#[derive(Default)]
pub struct ParsedAnswers(std::sync::Mutex<BTreeMap<String, Result<Doc, String>>>);

impl ParsedAnswers {
    /// The document at `path`, parsed by `parse` the first time.
    pub fn get_or(&self, path: &str, parse: impl FnOnce() -> Result<Json, String>) -> Result<Doc, String> {
        if let Some(done) = self.0.lock().ok().and_then(|m| m.get(path).cloned()) {
            return done;
        }
        let done = parse().map(Doc::new);
        if let Ok(mut m) = self.0.lock() {
            m.insert(path.to_string(), done.clone());
        }
        done
    }
}

impl Clone for ParsedAnswers {
    fn clone(&self) -> Self {
        ParsedAnswers::default()
    }
}

impl PartialEq for ParsedAnswers {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ParsedAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedAnswers")
    }
}

/// One recorded reply, owned (tests and fixture folders).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StaticReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub server: Option<String>,
    pub body: String,
}

/// An in-memory set of answers (tests, fixture folders).
#[derive(Debug, Clone, Default)]
pub struct StaticAnswers {
    /// Path -> reply.
    pub replies: BTreeMap<String, StaticReply>,
}

impl StaticAnswers {
    /// Adds a JSON answer.
    pub fn json(mut self, path: &str, status: u16, body: &str) -> StaticAnswers {
        self.insert(path, status, Some("application/json"), body);
        self
    }

    /// Adds an answer with any content type.
    pub fn insert(&mut self, path: &str, status: u16, content_type: Option<&str>, body: &str) {
        self.replies.insert(
            path.into(),
            StaticReply {
                status,
                content_type: content_type.map(String::from),
                server: None,
                body: body.into(),
            },
        );
    }

    /// Reads a fixture folder's `endpoints/*.json` (`{method, path, status, headers, body}`,
    /// as `scripts/capture/vllm_capture.py` writes them).
    pub fn from_fixture_dir(dir: &std::path::Path) -> Result<StaticAnswers, String> {
        let mut answers = StaticAnswers::default();
        let folder = dir.join("endpoints");
        let entries = std::fs::read_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let doc: Json = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let (Some(route), Some(status)) = (
                doc.get("path").and_then(Json::as_str),
                doc.get("status").and_then(as_u64),
            ) else {
                continue;
            };
            let method = doc.get("method").and_then(Json::as_str).unwrap_or("GET");
            let key = if method == "GET" {
                route.to_string()
            } else {
                format!("{method} {route}")
            };
            let header = |name: &str| {
                doc.get("headers")?.as_array()?.iter().find_map(|h| {
                    let pair = h.as_array()?;
                    (pair.first()?.as_str()? == name).then(|| pair.get(1)?.as_str().map(String::from))?
                })
            };
            answers.replies.insert(
                key,
                StaticReply {
                    status: u16::try_from(status).unwrap_or(0),
                    content_type: header("content-type"),
                    server: header("server"),
                    body: doc.get("body").and_then(Json::as_str).unwrap_or("").to_string(),
                },
            );
        }
        Ok(answers)
    }
}

impl Answers for StaticAnswers {
    fn get(&self, path: &str) -> Option<Answer<'_>> {
        self.replies.get(path).map(|r| Answer::Reply {
            status: r.status,
            content_type: r.content_type.as_deref(),
            server: r.server.as_deref(),
            body: &r.body,
            truncated: false,
            problem: None,
            latency_ms: None,
        })
    }
}

/// A reply that can be read as the document it claims to be (JSON, Prometheus text): what
/// [`document`] lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    /// The `content-type` header, when sent.
    pub content_type: Option<&'a str>,
    /// The whole body, as sent.
    pub body: &'a str,
}

/// Why an answer cannot be read as a document, in [`document`]'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable<'a> {
    /// The path was not asked.
    NotAsked,
    /// No response: why (refused, timed out, ...).
    Failed(&'a str),
    /// The HTTP layer knows the body is not what it claims: cut (too large, too slow, dropped),
    /// a redirect not followed, bytes that are not UTF-8.
    Problem(&'a str),
    /// A status other than 2xx: the body is an error page, not the document.
    Status(u16),
    /// Cut short at the size cap or the deadline, with no more said.
    CutShort,
}

impl Unusable<'_> {
    /// Why, in words, after `place` (`GET /v1/models`, `port 8000 /metrics`); `what` names the
    /// document for a cut body (`answer`, `page`).
    pub fn at(&self, place: &str, what: &str) -> String {
        match self {
            Unusable::NotAsked => format!("{place} was not asked"),
            Unusable::Failed(reason) | Unusable::Problem(reason) => format!("{place}: {reason}"),
            Unusable::Status(status) => format!("{place} answered HTTP {status}"),
            Unusable::CutShort => format!("{place}: the {what} was cut short (size cap or deadline)"),
        }
    }
}

/// The one rule for whether an answer is usable as a document, whatever the document is: a
/// reply, 2xx, whole, and with nothing the HTTP layer found wrong. The HTTP layer's reason wins
/// ("answered 302" alone hides the redirect that was not followed, and a body whose bad bytes
/// were replaced would read as valid text), then the status, then a cut body. JSON readers
/// ([`json_of`]) and the metrics checks both ask here, so a page one of them refuses is never
/// judged by another.
pub fn document(answer: Option<Answer<'_>>) -> Result<Document<'_>, Unusable<'_>> {
    match answer {
        None => Err(Unusable::NotAsked),
        Some(Answer::Failed { reason, .. }) => Err(Unusable::Failed(reason)),
        Some(Answer::Reply {
            status,
            content_type,
            body,
            truncated,
            problem,
            ..
        }) => match problem {
            Some(problem) => Err(Unusable::Problem(problem)),
            None if !(200..300).contains(&status) => Err(Unusable::Status(status)),
            None if truncated => Err(Unusable::CutShort),
            None => Ok(Document { content_type, body }),
        },
    }
}

/// Reads `GET path` as a JSON document, or says why it cannot be: not asked, no answer, an
/// error status, an HTML page, another content type, a cut body, malformed JSON.
pub fn json_of(answers: &dyn Answers, path: &str) -> Result<Doc, String> {
    answers.json(path)
}

/// [`json_of`] for one answer.
pub fn json_of_reply(answer: Option<Answer<'_>>, path: &str) -> Result<Json, String> {
    let Document { content_type, body } = document(answer).map_err(|why| why.at(&format!("GET {path}"), "answer"))?;
    let trimmed = body.trim_start();
    let media = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if trimmed.starts_with('<') || media.as_deref() == Some("text/html") {
        return Err(format!("GET {path} answered an HTML page, not JSON"));
    }
    if let Some(media) = &media
        && !(media == "application/json" || media.ends_with("+json") || media == "text/json")
    {
        return Err(format!("GET {path} answered {media}, not JSON"));
    }
    if trimmed.is_empty() {
        return Err(format!("GET {path} answered an empty body"));
    }
    serde_json::from_str(body).map_err(|e| {
        // serde_json stops at 128 levels rather than overflow the stack; its words for that,
        // "recursion limit exceeded", do not say that the document is what is too deep.
        let depth = if e.to_string().starts_with("recursion limit exceeded") {
            " (nested deeper than 128 levels: no engine's answer is)"
        } else {
            ""
        };
        format!(
            "GET {path} answered malformed JSON (line {}, column {}): {e}{depth}",
            e.line(),
            e.column()
        )
    })
}

/// The status code of `GET path`, when it answered.
pub fn status_of(answers: &dyn Answers, path: &str) -> Option<u16> {
    match answers.get(path)? {
        Answer::Reply { status, .. } => Some(status),
        Answer::Failed { .. } => None,
    }
}

/// What an engine is read from.
pub struct Inputs<'a> {
    /// The serving process's command line (credentials already redacted), when read.
    pub argv: Option<&'a [String]>,
    /// Values of its environment variables that the host probe may show (declared or
    /// harmless knobs; never secrets).
    pub env: &'a BTreeMap<String, String>,
    /// Whether the environment could be read at all (names are then complete).
    pub env_names: Option<&'a [String]>,
    /// The endpoint's answers.
    pub answers: &'a dyn Answers,
    /// Memory of the largest GPU the engine holds, MiB (some defaults depend on it).
    pub largest_gpu_mib: Option<u64>,
    /// The spec's model id, for engines that serve a repository and are asked per model
    /// (Triton, Ollama).
    pub model_hint: Option<&'a str>,
    /// The model folder's `config.json`, when the model is local and it was read: resolves a
    /// dtype left to `auto`.
    pub model_config: Option<&'a Json>,
}

/// No environment: what an engine read from answers alone sees.
static NO_ENV: BTreeMap<String, String> = BTreeMap::new();

impl<'a> Inputs<'a> {
    /// Inputs with only the endpoint's answers: no command line, environment, GPU or model
    /// facts (a process that could not be read; tests; the fuzz target).
    pub fn from_answers(answers: &'a dyn Answers) -> Inputs<'a> {
        Inputs {
            argv: None,
            env: &NO_ENV,
            env_names: None,
            answers,
            largest_gpu_mib: None,
            model_hint: None,
            model_config: None,
        }
    }

    /// The value of an environment variable, when set and shown.
    pub fn env(&self, name: &str) -> Option<&'a str> {
        self.env.get(name).map(String::as_str)
    }

    /// JSON of `GET path` (see [`json_of`]).
    pub fn json(&self, path: &str) -> Result<Doc, String> {
        self.answers.json(path)
    }

    /// The command line, or nothing.
    pub fn args(&self) -> &'a [String] {
        self.argv.unwrap_or(&[])
    }

    /// A setting given by flag or by its environment variable (TGI, llama.cpp, Ollama, NIM
    /// take both); the flag wins, as in the engines.
    pub fn setting(&self, flags: &[&'static str], env: &str) -> Option<Fact<String>> {
        if let Some((v, flag)) = argv::value(self.args(), flags) {
            return Some(Fact::argv(v.to_string(), flag));
        }
        self.env(env).map(|v| Fact::env(v.to_string(), env))
    }

    /// [`Inputs::setting`] as a number.
    pub fn setting_number(&self, flags: &[&'static str], env: &str) -> Option<Fact<u64>> {
        let fact = self.setting(flags, env)?;
        Some(Fact {
            value: fact.value.trim().parse().ok()?,
            source: fact.source,
        })
    }
}

/// Which engine serves, and why we think so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub engine: EngineId,
    /// The evidence, in words (`argv: vllm serve`, `GET /v1/models owned_by "vllm"`).
    pub because: Vec<String>,
}

/// Names the engine from the command line first, then from the answers' signatures, then from
/// the prefixes of its Prometheus metric names.
pub fn detect(inputs: &Inputs) -> Option<Detection> {
    if let Some(argv) = inputs.argv
        && let Some((engine, why)) = argv::engine_from_argv(argv)
    {
        let mut because = vec![why];
        because.extend(signature(engine, inputs));
        return Some(Detection { engine, because });
    }
    let signed = signed_engines(inputs);
    if conflicting(&signed) {
        // Answers that point to two engines are not evidence of either: a proxy in front of
        // another engine, or a server imitating one. Naming the first would pass a spec on
        // the cheapest claim (`owned_by`); `undetected_reason` says which answers disagree.
        return None;
    }
    signed
        .into_iter()
        .next()
        .map(|(engine, because)| Detection { engine, because })
        .or_else(|| {
            METRICS_PATHS.iter().find_map(|path| {
                let Some(Answer::Reply {
                    status: 200..=299,
                    body,
                    content_type,
                    ..
                }) = inputs.answers.get(path)
                else {
                    return None;
                };
                let format = modelspec_probe_metrics::Format::detect(content_type, body.as_bytes());
                let exposition =
                    modelspec_probe_metrics::parse(body, format, &modelspec_probe_metrics::Limits::default());
                let (engine, why) = engine_from_metric_names(exposition.families.iter().map(|f| f.name))?;
                Some(Detection {
                    engine,
                    because: vec![format!("GET {path}: {why}")],
                })
            })
        })
}

/// Every engine whose signature the answers carry, in [`EngineId::ALL`] order, with why.
fn signed_engines(inputs: &Inputs) -> Vec<(EngineId, Vec<String>)> {
    EngineId::ALL
        .iter()
        .filter_map(|&engine| {
            let because = signature(engine, inputs);
            (!because.is_empty()).then_some((engine, because))
        })
        .collect()
}

/// Whether the signatures name engines that cannot both be serving. An engine that wraps
/// others ([`Traits::wraps_other_engines`]: NIM runs vLLM or TensorRT-LLM inside) answers with
/// their traits too, so it beside another is no conflict.
fn conflicting(signed: &[(EngineId, Vec<String>)]) -> bool {
    let engines: Vec<EngineId> = signed
        .iter()
        .map(|(engine, _)| *engine)
        .filter(|engine| !engine.engine().traits.wraps_other_engines)
        .collect();
    engines.len() > 1
}

/// Why [`detect`] named no engine, for a finding's message: answers pointing to more than one
/// engine, else the first introspection answer that could not be read (the most telling: a
/// timeout, a cut or malformed body, a redirect, a refused connection), else that nothing
/// answered like a known engine.
pub fn undetected_reason(inputs: &Inputs) -> String {
    let signed = signed_engines(inputs);
    if conflicting(&signed) {
        let claims: Vec<String> = signed
            .iter()
            .map(|(engine, because)| format!("{} ({})", engine.as_str(), because.join("; ")))
            .collect();
        return format!(
            "the answers point to more than one engine, so none is trusted (engine mismatch): {}",
            claims.join(" and ")
        );
    }
    // /v1/models first: most engines answer it. Only answers that broke count: a 404, an HTML
    // page or an empty health body only say this is not that engine's endpoint.
    let mut paths = all_endpoints();
    paths.retain(|path| !METRICS_PATHS.contains(path));
    paths.sort_by_key(|path| *path != openai::MODELS);
    let broken: Vec<String> = paths
        .into_iter()
        .filter_map(|path| {
            let why = json_of(inputs.answers, path).err()?;
            match inputs.answers.get(path)? {
                Answer::Failed { .. } | Answer::Reply { problem: Some(_), .. } => Some(why),
                Answer::Reply { .. } if why.contains("malformed JSON") => Some(why),
                Answer::Reply { .. } => None,
            }
        })
        .collect();
    // A request never sent (the deadline passed while slower ones held every slot) says less
    // than one the server failed to answer: that one names what the server did.
    let unreadable = broken
        .iter()
        .find(|why| !why.contains("not sent to"))
        .or(broken.first())
        .cloned();
    match unreadable {
        Some(why) => format!("no answer could be read: {why}"),
        None => "no answer carries a known engine's signature".to_string(),
    }
}

/// Where engines serve Prometheus text on their API port.
pub const METRICS_PATHS: &[&str] = &["/metrics", "/v1/metrics", "/prometheus/metrics"];

/// The engine whose metric-name prefix most families carry (each engine's
/// [`Engine::metric_prefixes`]: `vllm:`, `tgi_`, `sglang:`, `nv_`, `llamacpp:`, `trtllm_`, and
/// the `:` names rewritten with `_`), and why (the form seen). A tie goes to the later prefix in
/// [`ENGINES`] order, the rewritten forms after every prefix as written.
pub fn engine_from_metric_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<(EngineId, String)> {
    // `vllm_`, `sglang_`, `llamacpp_`: the `:` names as an OpenTelemetry collector or a managed
    // Prometheus rewrites them (SGLang has also served both forms itself).
    let written = ENGINES
        .iter()
        .flat_map(|e| e.metric_prefixes.iter().map(|p| (p.to_string(), e.id)));
    let rewritten = ENGINES.iter().flat_map(|e| {
        e.metric_prefixes
            .iter()
            .filter_map(|p| p.strip_suffix(':').map(|stem| (format!("{stem}_"), e.id)))
    });
    let prefixes: Vec<(String, EngineId)> = written.chain(rewritten).collect();
    let mut counts = vec![0usize; prefixes.len()];
    for name in names {
        if let Some(i) = prefixes.iter().position(|(p, _)| name.starts_with(p.as_str()))
            && let Some(count) = counts.get_mut(i)
        {
            *count += 1;
        }
    }
    let (i, n) = counts.iter().enumerate().max_by_key(|(_, n)| **n)?;
    let (prefix, engine) = prefixes.get(i)?;
    (*n > 0).then(|| (*engine, format!("{n} metric families named {prefix}*")))
}

/// What in the answers says "this is `engine`".
fn signature(engine: EngineId, inputs: &Inputs) -> Vec<String> {
    (engine.engine().signature)(inputs)
}

/// Reads `engine`'s facts; a dtype left to `auto` is resolved from the model's `config.json`
/// when it was read (`torch_dtype`, or `dtype` in newer transformers).
pub fn facts(engine: EngineId, inputs: &Inputs) -> EngineFacts {
    let mut facts = (engine.engine().facts)(inputs);
    if facts.dtype.as_ref().is_some_and(|d| d.value == "auto")
        && let Some(config) = inputs.model_config
        && let Some((field, raw)) = ["torch_dtype", "dtype"]
            .iter()
            .find_map(|f| config.get(*f).and_then(Json::as_str).map(|v| (*f, v)))
    {
        facts.dtype = Some(Fact {
            value: normalize_dtype(raw),
            source: Source::ModelConfig { field: field.into() },
        });
    }
    facts
}

/// A dtype spelled any engine's way, normalized: `bfloat16` -> `bf16`, `float16`/`half` ->
/// `fp16`, `float32`/`float` -> `fp32`; unknown spellings pass through lowercased.
pub fn normalize_dtype(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let lower = lower.strip_prefix("torch.").unwrap_or(&lower);
    match lower {
        "bfloat16" | "bf16" => "bf16",
        "float16" | "fp16" | "half" | "f16" => "fp16",
        "float32" | "fp32" | "float" | "f32" => "fp32",
        "float8" | "fp8" | "float8_e4m3fn" | "fp8_e4m3" => "fp8",
        other => return other.to_string(),
    }
    .to_string()
}

/// A JSON field as a positive integer (numbers or numeric strings).
pub(crate) fn as_u64(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64)),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON field as a non-empty string.
pub(crate) fn as_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_normalize_across_engines() {
        for (raw, want) in [
            ("bfloat16", "bf16"),
            ("BF16", "bf16"),
            ("torch.bfloat16", "bf16"),
            ("float16", "fp16"),
            ("half", "fp16"),
            ("float32", "fp32"),
            ("auto", "auto"),
        ] {
            assert_eq!(normalize_dtype(raw), want, "{raw}");
        }
    }

    #[test]
    fn hostile_answers_say_why_they_are_not_json() {
        let mut answers = StaticAnswers::default()
            .json("/ok", 200, r#"{"a": 1}"#)
            .json("/bad", 200, "{\"a\": ")
            .json("/404", 404, "{}")
            .json("/empty", 200, "  ")
            .json("/deep", 200, &"[".repeat(100_000));
        answers.insert("/html", 200, Some("text/html"), "<html>oops</html>");
        answers.insert("/text", 200, Some("text/plain"), "fine");
        assert!(json_of(&answers, "/ok").is_ok());
        let why = |p: &str| json_of(&answers, p).err().unwrap_or_default();
        assert!(
            why("/bad").contains("malformed JSON (line 1, column 6)"),
            "{}",
            why("/bad")
        );
        assert!(why("/404").contains("HTTP 404"));
        assert!(why("/html").contains("HTML page"));
        assert!(why("/text").contains("text/plain, not JSON"));
        assert!(why("/empty").contains("empty body"));
        // Regression (tests/hostile): "recursion limit exceeded" alone did not say what was wrong.
        assert!(
            why("/deep").contains("nested deeper than 128 levels"),
            "{}",
            why("/deep")
        );
        assert!(why("/missing").contains("was not asked"));
    }

    /// Answers the HTTP layer flagged, as the endpoint probe hands them over.
    struct Flagged<'a>(&'a str, &'a str);

    impl Answers for Flagged<'_> {
        fn get(&self, path: &str) -> Option<Answer<'_>> {
            (path == self.0).then_some(Answer::Reply {
                status: 200,
                content_type: Some("application/json"),
                server: None,
                body: r#"{"data":[{"id":"m","owned_by":"vllm"}]}"#,
                truncated: false,
                problem: Some(self.1),
                latency_ms: None,
            })
        }
    }

    /// Regression (tests/hostile: invalid UTF-8): a body whose bad bytes were replaced reads
    /// as valid JSON; the problem the HTTP layer recorded must win over the text.
    #[test]
    fn a_flagged_answer_is_never_read_as_json() {
        let answers = Flagged("/v1/models", "the body is not valid UTF-8");
        let why = json_of(&answers, "/v1/models").expect_err("flagged");
        assert!(why.contains("not valid UTF-8"), "{why}");
        let inputs = Inputs::from_answers(&answers);
        assert_eq!(detect(&inputs), None);
        let reason = undetected_reason(&inputs);
        assert!(
            reason.contains("GET /v1/models: the body is not valid UTF-8"),
            "{reason}"
        );
    }

    /// One rule for every reader: the HTTP layer's reason first, then the status, then a cut
    /// body; only a whole 2xx reply is a document.
    #[test]
    fn one_rule_says_whether_an_answer_is_a_document() {
        let reply = |status, truncated, problem| Answer::Reply {
            status,
            content_type: Some("text/plain"),
            server: None,
            body: "x 1\n",
            truncated,
            problem,
            latency_ms: None,
        };
        assert_eq!(
            document(Some(reply(200, false, None))),
            Ok(Document {
                content_type: Some("text/plain"),
                body: "x 1\n"
            })
        );
        assert_eq!(document(None), Err(Unusable::NotAsked));
        assert_eq!(
            document(Some(Answer::Failed {
                reason: "refused",
                timed_out: false
            })),
            Err(Unusable::Failed("refused"))
        );
        assert_eq!(
            document(Some(reply(302, true, Some("redirect not followed")))),
            Err(Unusable::Problem("redirect not followed"))
        );
        assert_eq!(document(Some(reply(503, true, None))), Err(Unusable::Status(503)));
        assert_eq!(document(Some(reply(200, true, None))), Err(Unusable::CutShort));
        assert_eq!(
            Unusable::CutShort.at("port 8000 /metrics", "page"),
            "port 8000 /metrics: the page was cut short (size cap or deadline)"
        );
    }

    /// Regression (tests/hostile: a server claiming vLLM with TGI's /info): the first
    /// signature found used to win, so a vLLM spec passed on an `owned_by` anyone can write.
    #[test]
    fn answers_pointing_to_two_engines_name_none() {
        let answers = StaticAnswers::default()
            .json("/v1/models", 200, r#"{"data":[{"id":"m","owned_by":"vllm"}]}"#)
            .json(
                "/info",
                200,
                r#"{"model_id":"m","max_input_tokens":1023,"max_total_tokens":1024,"router":"text-generation-router","version":"2.2.0"}"#,
            );
        let inputs = Inputs::from_answers(&answers);
        assert_eq!(detect(&inputs), None);
        let reason = undetected_reason(&inputs);
        assert!(
            reason.contains("more than one engine") && reason.contains("vllm") && reason.contains("tgi"),
            "{reason}"
        );
        // The command line still settles it: it names the process, not a claim over HTTP.
        let argv = vec!["vllm".to_string(), "serve".to_string(), "m".to_string()];
        let named = Inputs {
            argv: Some(&argv),
            ..inputs
        };
        assert_eq!(detect(&named).map(|d| d.engine), Some(EngineId::Vllm));
    }

    #[test]
    fn every_framework_spelling_names_an_engine() {
        assert_eq!(EngineId::from_framework("vLLM"), Some(EngineId::Vllm));
        assert_eq!(
            EngineId::from_framework("text-generation-inference"),
            Some(EngineId::Tgi)
        );
        assert_eq!(EngineId::from_framework("llama.cpp"), Some(EngineId::LlamaCpp));
        assert_eq!(EngineId::from_framework("TensorRT-LLM"), Some(EngineId::TensorrtLlm));
        assert_eq!(EngineId::from_framework("transformers"), None);
        for e in EngineId::ALL {
            assert_eq!(EngineId::from_framework(e.as_str()), Some(e));
        }
    }

    /// The registry is the only list of engines: every `EngineId` variant serde knows is in
    /// [`ENGINES`] once, under the name it serialises as, and each descriptor is found by its id.
    #[test]
    fn every_engine_id_is_registered_once() {
        let variants = serde_variants();
        assert_eq!(variants.len(), ENGINES.len(), "{variants:?}");
        for (i, engine) in ENGINES.iter().enumerate() {
            assert!(engine.id.engine().name == engine.name, "{}", engine.name);
            assert_eq!(EngineId::ALL.get(i), Some(&engine.id));
            assert_eq!(
                serde_json::to_string(&engine.id).ok(),
                Some(format!("\"{}\"", engine.name))
            );
            assert!(variants.iter().any(|v| v == engine.name), "{}", engine.name);
        }
    }

    /// The variant names serde derived for `EngineId`: it hands them to `deserialize_enum`.
    fn serde_variants() -> Vec<String> {
        use serde::de::{self, Deserializer, Visitor};
        struct Names;
        impl<'de> Deserializer<'de> for Names {
            type Error = de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom(""))
            }
            fn deserialize_enum<V: Visitor<'de>>(
                self,
                _: &'static str,
                variants: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom(variants.join(",")))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
                identifier ignored_any
            }
        }
        let Err(names) = EngineId::deserialize(Names) else {
            return Vec::new();
        };
        names.to_string().split(',').map(String::from).collect()
    }

    /// The command line's matchers, the metric prefixes and the framework spellings read the
    /// registry in the order the hand-written lists had.
    #[test]
    fn metric_prefixes_name_their_engine() {
        let cases = [
            (
                vec!["vllm:num_requests_running", "vllm:e2e_request_latency_seconds"],
                EngineId::Vllm,
                "vllm:",
            ),
            (vec!["vllm_num_requests_running"], EngineId::Vllm, "vllm_"),
            (vec!["tgi_queue_size"], EngineId::Tgi, "tgi_"),
            (vec!["sglang_num_running_reqs"], EngineId::Sglang, "sglang_"),
            (vec!["nv_inference_count"], EngineId::Triton, "nv_"),
            (vec!["llamacpp:requests_processing"], EngineId::LlamaCpp, "llamacpp:"),
            (
                vec!["trtllm_e2e_request_latency_seconds"],
                EngineId::TensorrtLlm,
                "trtllm_",
            ),
            // A tie goes to the later form: the rewritten one.
            (
                vec!["sglang:num_queue_reqs", "sglang_num_queue_reqs"],
                EngineId::Sglang,
                "sglang_",
            ),
        ];
        for (names, engine, prefix) in cases {
            let (got, why) =
                engine_from_metric_names(names.iter().copied()).unwrap_or((EngineId::Ollama, String::new()));
            assert_eq!(got, engine, "{names:?}");
            assert!(why.ends_with(&format!("named {prefix}*")), "{why}");
        }
        assert_eq!(engine_from_metric_names(["process_cpu_seconds_total"]), None);
    }
}
