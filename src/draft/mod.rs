//! Drafting a ModelSpec from what runs (`modelspec init`).
//!
//! Most teams have model servers running and no ModelSpec; the quickest way into the standard
//! is to write down what runs, review it, and then watch it for drift. A draft is made from an
//! [`Observation`] (a live probe, a saved one, the demo's) of one serving endpoint: each value
//! the node shows is written with its evidence as a YAML comment (`# GET /v1/models
//! max_model_len`), and what no node can tell (the model's task, its governance, cost,
//! scaling) is left as `TODO` for a person, never guessed. The standard requires
//! `identity.model.family` and `task`; where the node cannot tell them the draft writes the
//! placeholder [`TODO`], which validates as a string and which `validate` then flags, so a draft
//! is never mistaken for a reviewed spec.
//!
//! The YAML is written here, not by a YAML library: none keeps comments. Every scalar is
//! written as a JSON literal (a double-quoted string, a number), which YAML reads as the same
//! value, so no model id or path can change meaning; the tests read every draft back through
//! the spec loader and the validator.

use std::fmt::Write as _;

use modelspec_probe_gpu::{DeviceFacts, NvmlState};
use modelspec_probe_host::{Candidate, ServingProcess};

use crate::check::engine::{EngineView, endpoint_view};
use crate::observe::endpoint::{EndpointSnapshot, EndpointTarget};
use crate::observe::{Observation, ProbeOutcome};
use crate::runtime::{Answer, Fact};

/// The value of a required field no node can tell (`validate` warns while one is left).
pub use crate::spec::lint::metadata::TODO;

/// What to draft.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The serving port (needed when the observation asked several).
    pub port: Option<u16>,
    /// `metadata.name` (else one is made from the model's id).
    pub name: Option<String>,
    /// Only what was observed with certainty: no engine defaults, no count guessed from the
    /// GPUs on the node, no tracing read as off from its absence.
    pub minimal: bool,
}

/// A drafted spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Its `metadata.name`.
    pub name: String,
    /// The YAML, comments included.
    pub yaml: String,
}

/// Drafts a spec for one serving endpoint of `observation`; the error says why none can be
/// drafted (no endpoint asked, several and none named, the one named did not answer).
pub fn draft(observation: &Observation, request: &Request) -> Result<Draft, String> {
    let snapshot = endpoint_snapshot(observation)?;
    let endpoint = choose_endpoint(snapshot, request.port)?;
    let candidate = serving_candidate(observation, endpoint);
    let process = candidate.map(|c| &c.process);
    let view = endpoint_view(observation, process, endpoint, None);
    let mut doc = Doc {
        minimal: request.minimal,
        ..Doc::default()
    };

    let id = model_id(&view);
    let name = request
        .name
        .clone()
        .unwrap_or_else(|| name_from(id.as_ref().map_or("model", |(v, _)| v.as_str())));
    doc.line(0, "apiVersion", "piqc.ai/v1alpha1", None);
    doc.line(0, "kind", "ModelSpec", None);
    doc.open(0, "metadata");
    let why_name = if request.name.is_some() {
        "--name"
    } else {
        "made from the model's id"
    };
    doc.line(1, "name", &json(&name), Some(why_name));
    doc.open(0, "spec");
    doc.open(1, "identity");
    doc.open(2, "model");
    identity(&mut doc, &view, id, endpoint);
    doc.open(1, "runtime");
    accelerator(&mut doc, observation, process, &view);
    batch(&mut doc, &view);
    resources(&mut doc, candidate);
    environment(&mut doc, process);
    doc.open(1, "operations");
    doc.open(2, "serving");
    let status = |e: &&modelspec_probe_http::Exchange| match &e.outcome {
        modelspec_probe_http::Outcome::Response(r) => Some(r.status),
        modelspec_probe_http::Outcome::Failure(_) => None,
    };
    let answered = endpoint
        .exchanges
        .iter()
        .find(|e| status(e).is_some_and(|s| (200..300).contains(&s)))
        .or_else(|| endpoint.exchanges.iter().find(|e| status(e).is_some()));
    match answered {
        Some(e) => doc.line(
            3,
            "protocol",
            &json("http"),
            Some(&format!("GET {} answered {}", e.url, status(&e).unwrap_or_default())),
        ),
        None => doc.line(
            3,
            "protocol",
            &json("http"),
            Some("TODO no HTTP request was answered on this port: http or grpc?"),
        ),
    }
    doc.line(3, "port", &endpoint.port.to_string(), Some("the port asked"));
    serving(&mut doc, &view);
    observability(&mut doc, &view, process);
    doc.todo_block(latency_proposal(&view).as_deref());
    Ok(Draft { name, yaml: doc.out })
}

fn endpoint_snapshot(observation: &Observation) -> Result<&EndpointSnapshot, String> {
    match &observation.endpoint {
        ProbeOutcome::Observed { snapshot, .. } => Ok(snapshot),
        ProbeOutcome::TimedOut { budget_ms, .. } => Err(format!(
            "the serving endpoint did not answer within {budget_ms} ms; draft again with a longer --timeout"
        )),
        ProbeOutcome::NotRun { .. } => Err(
            "the observation asked no serving endpoint; give the model server's --port (or record one with `modelspec facts --port PORT`)".into(),
        ),
    }
}

/// The endpoint to draft: the one on `port`, or the only one asked.
fn choose_endpoint(snapshot: &EndpointSnapshot, port: Option<u16>) -> Result<&EndpointTarget, String> {
    let mut ports: Vec<u16> = snapshot.targets.iter().map(|t| t.port).collect();
    ports.sort_unstable();
    ports.dedup();
    let port = match (port, ports.as_slice()) {
        (Some(port), _) => port,
        (None, [only]) => *only,
        (None, []) => return Err("the observation asked no serving endpoint; give the model server's --port".into()),
        (None, many) => {
            return Err(format!(
                "several serving ports were asked ({}); name the one to draft with --port",
                many.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
    };
    let target = snapshot
        .targets
        .iter()
        .find(|t| t.port == port)
        .ok_or_else(|| format!("the observation did not ask port {port}; asked: {ports:?}"))?;
    if let Some(error) = &target.error {
        return Err(format!("port {port} could not be asked: {error}"));
    }
    Ok(target)
}

/// The process serving the endpoint, when the host probe found it.
fn serving_candidate<'a>(observation: &'a Observation, endpoint: &EndpointTarget) -> Option<&'a Candidate> {
    let ProbeOutcome::Observed { snapshot, .. } = &observation.host else {
        return None;
    };
    let candidates: Vec<&Candidate> = snapshot
        .servers
        .iter()
        .filter(|s| s.port == Some(endpoint.port))
        .flat_map(|s| s.candidates())
        .collect();
    endpoint
        .pid
        .and_then(|pid| candidates.iter().find(|c| c.pid() == pid))
        .or(candidates.first())
        .copied()
}

/// The served model's id: the first name clients use, else the model's path.
fn model_id(view: &EngineView<'_>) -> Option<(String, String)> {
    if let Some(Fact { value, source }) = &view.facts.served_model_ids
        && let Some(first) = value.first()
    {
        return Some((first.clone(), source.describe()));
    }
    view.facts
        .model_root
        .as_ref()
        .map(|f| (f.value.clone(), f.source.describe()))
}

fn identity(doc: &mut Doc, view: &EngineView<'_>, id: Option<(String, String)>, endpoint: &EndpointTarget) {
    match id {
        Some((id, source)) => doc.line(3, "id", &json(&id), Some(&source)),
        None => doc.line(
            3,
            "id",
            &json(TODO),
            Some(&format!(
                "TODO the name clients send: {}",
                view.missing("served_model_ids", "the served model")
            )),
        ),
    }
    let family = endpoint
        .model_config
        .as_ref()
        .and_then(|c| c.get("model_type"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.trim().is_empty());
    match family {
        Some(family) => doc.line(3, "family", &json(family), Some("model config.json model_type")),
        None => doc.line(
            3,
            "family",
            &json(TODO),
            Some("TODO the model family (llama, mistral, qwen2, gemma2, ...): the node did not say"),
        ),
    }
    doc.line(
        3,
        "task",
        &json(TODO),
        Some("TODO what the model does (text-generation, chat-completion, embeddings, ...): no node can tell"),
    );
    match &view.detection {
        Some(d) => doc.line(3, "framework", &json(d.engine.as_str()), Some(&d.because.join("; "))),
        None => doc.line(
            3,
            "framework",
            &json(TODO),
            Some(&format!("TODO the serving engine: {}", view.unidentified())),
        ),
    }
    if let Some(dtype) = doc.sure(&view.facts.dtype).filter(|d| d.value != "auto") {
        doc.line(3, "precision", &json(&dtype.value), Some(&dtype.source.describe()));
    }
}

fn accelerator(doc: &mut Doc, observation: &Observation, process: Option<&ServingProcess>, view: &EngineView<'_>) {
    doc.open(2, "accelerator");
    let devices: &[DeviceFacts] = match &observation.gpu {
        ProbeOutcome::Observed { snapshot, .. } => match &snapshot.nvml {
            NvmlState::Available { devices, .. } => devices,
            NvmlState::Unavailable { .. } => &[],
        },
        _ => &[],
    };
    if devices.is_empty() {
        doc.line(
            3,
            "vendor",
            &json(TODO),
            Some("TODO the accelerator vendor: NVML saw no GPU on this node"),
        );
        doc.line(
            3,
            "type",
            &json(TODO),
            Some("TODO the accelerator type (h100, a100-80gb, l4, ...)"),
        );
        doc.line(
            3,
            "count",
            "1",
            Some("TODO how many accelerators the model needs: NVML saw none"),
        );
        return;
    }
    doc.line(3, "vendor", &json("nvidia"), Some("NVML"));
    let held = process.and_then(|p| crate::check::attribution::attribute(devices, p));
    let used: Vec<&DeviceFacts> = match &held {
        Some(a) if !a.held.is_empty() => devices
            .iter()
            .filter(|d| a.held.iter().any(|h| h.index == d.index))
            .collect(),
        _ => crate::check::accelerator::usable(devices).collect(),
    };
    let names: Vec<&str> = used.iter().filter_map(|d| d.name.value().map(String::as_str)).collect();
    let types: Vec<&str> = names
        .iter()
        .filter_map(|n| crate::catalogue::gpu::by_nvml_name(n).map(crate::catalogue::gpu::exact_spelling))
        .collect();
    let mig_profiles: std::collections::BTreeSet<&str> = used
        .iter()
        .filter(|d| d.mig.mode.value().is_some_and(|m| m.current_enabled))
        .flat_map(|d| d.mig.instances.value().into_iter().flatten())
        .filter_map(|i| i.profile.as_deref())
        .collect();
    let mig_on = used
        .iter()
        .any(|d| d.mig.mode.value().is_some_and(|m| m.current_enabled));
    match (types.first(), names.first()) {
        (Some(t), Some(n)) if types.iter().all(|x| x == t) && mig_on => match mig_profiles.iter().collect::<Vec<_>>()[..] {
            [only] => doc.line(
                3,
                "type",
                &json(&format!("{t}-mig-{only}")),
                Some(&format!("NVML name {n:?}, MIG on, every slice {only}")),
            ),
            _ => doc.line(
                3,
                "type",
                &json(TODO),
                Some(&format!(
                    "TODO NVML name {n:?} with MIG on (slices: {}): write {t}-mig-PROFILE for the slice the model is served from",
                    mig_profiles.iter().copied().collect::<Vec<_>>().join(", ")
                )),
            ),
        },
        (Some(t), Some(n)) if types.iter().all(|x| x == t) => {
            doc.line(3, "type", &json(t), Some(&format!("NVML name {n:?}")));
        }
        (_, Some(n)) => doc.line(
            3,
            "type",
            &json(TODO),
            Some(&format!("TODO NVML names {n:?}, which the catalogue does not map to one type")),
        ),
        _ => doc.line(3, "type", &json(TODO), Some("TODO NVML did not name the GPUs")),
    }
    let (count, why) = match &held {
        Some(a) if !a.held.is_empty() => (
            used.len() as u64,
            "GPUs holding the serving process tree (NVML compute processes)".to_string(),
        ),
        _ => match stated_parallelism(view) {
            // More than the node has: the engine's answers and NVML disagree, and no count
            // would hold for both checks.
            Some((gpus, why)) if gpus > used.len() as u64 => (
                gpus,
                format!(
                    "TODO {why}, but NVML sees {} working GPU(s) on this node: one of them is not this deployment's",
                    used.len()
                ),
            ),
            Some((gpus, why)) => (gpus, why),
            None => (
                used.len() as u64,
                format!(
                    "{}GPUs NVML sees working on the node: none could be attributed to the serving process; check {} is what it needs",
                    if doc.minimal { "TODO " } else { "" },
                    used.len()
                ),
            ),
        },
    };
    doc.line(3, "count", &count.to_string(), Some(&why));
}

/// Tensor × pipeline parallel size, when the engine states either (not its defaults): the GPUs
/// it is set to use, as the `accelerator-parallelism` check reads them.
fn stated_parallelism(view: &EngineView<'_>) -> Option<(u64, String)> {
    fn stated(f: &Option<Fact<u64>>) -> Option<&Fact<u64>> {
        f.as_ref()
            .filter(|f| !matches!(f.source, crate::runtime::Source::Default { .. }))
    }
    let (tensor, pipeline) = (
        stated(&view.facts.tensor_parallel),
        stated(&view.facts.pipeline_parallel),
    );
    if tensor.is_none() && pipeline.is_none() {
        return None;
    }
    let value = |f: Option<&Fact<u64>>| f.map_or(1, |f| f.value);
    let words: Vec<String> = [tensor, pipeline]
        .into_iter()
        .flatten()
        .map(|f| format!("{} {}", f.source.describe(), f.value))
        .collect();
    Some((
        value(tensor).saturating_mul(value(pipeline)),
        format!("the engine's tensor x pipeline parallel size ({})", words.join(", ")),
    ))
}

fn batch(doc: &mut Doc, view: &EngineView<'_>) {
    let size = doc.sure(&view.facts.max_batch_size);
    let length = doc.sure(&view.facts.max_sequence_length);
    if size.is_none() && length.is_none() {
        return;
    }
    doc.open(2, "batch");
    if let Some(f) = size {
        doc.line(3, "maxBatchSize", &f.value.to_string(), Some(&f.source.describe()));
    }
    if let Some(f) = length {
        doc.line(
            3,
            "maxSequenceLengthTokens",
            &f.value.to_string(),
            Some(&f.source.describe()),
        );
    }
}

/// The serving process's cgroup limits, where it has them (a bound the scan checks: the
/// declared CPU and memory must fit in them). No limit declares nothing: the host's size is
/// not a contract.
fn resources(doc: &mut Doc, candidate: Option<&Candidate>) {
    use modelspec_probe_host::{CpuLimit, MemoryLimit};
    let Some(limits) = candidate.and_then(|c| c.limits.as_ref()) else {
        return;
    };
    let cgroup = |c: &str| format!("cgroup {c} limit");
    let cpu = match limits.cpu.value() {
        Some(CpuLimit::Cores { cores, cgroup: at, .. }) if *cores >= 1.0 => {
            Some((cores.floor() as u64, cgroup(at), *cores))
        }
        _ => None,
    };
    let memory = match limits.memory.value() {
        Some(MemoryLimit::Bytes { bytes, cgroup: at }) if *bytes > 0 => Some((*bytes, cgroup(at))),
        _ => None,
    };
    if cpu.is_none() && memory.is_none() {
        return;
    }
    doc.open(2, "resources");
    if let Some((cores, why, exact)) = cpu {
        doc.line(
            3,
            "cpuCores",
            &cores.to_string(),
            Some(&format!("{why}: {exact} cores, rounded down")),
        );
    }
    if let Some((bytes, why)) = memory {
        // GiB with one decimal, rounded down so the limit covers it.
        let tenths = bytes.saturating_mul(10) / (1u64 << 30);
        doc.line(
            3,
            "memoryGb",
            &format!("{}.{}", tenths / 10, tenths % 10),
            Some(&format!("{why}: {bytes} bytes, in GiB rounded down")),
        );
    }
}

/// The engine knobs set in the serving process's environment, with their values (the host
/// probe shows only knobs that never carry credentials, and redacts anything token-like).
fn environment(doc: &mut Doc, process: Option<&ServingProcess>) {
    let Some(env) = process.and_then(|p| p.environment.value()) else {
        return;
    };
    let knobs: Vec<(&String, &String)> = env
        .values
        .iter()
        .filter(|(name, value)| {
            !modelspec_probe_host::env::is_secret_name(name) && value.as_str() != modelspec_probe_host::env::REDACTED
        })
        .collect();
    if knobs.is_empty() {
        return;
    }
    doc.open(2, "environment");
    doc.open(3, "variables");
    for (name, value) in knobs {
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let key = if plain { name.clone() } else { json(name) };
        doc.line(4, &key, &json(value), Some("the serving process's environment"));
    }
}

/// The paths engines answer ready on, in the order tried.
const READY_PATHS: &[&str] = &["/health", "/v2/health/ready", "/v1/health/ready"];

fn serving(doc: &mut Doc, view: &EngineView<'_>) {
    let ready = READY_PATHS.iter().find_map(|path| match view.answers.get(path) {
        Some(Answer::Reply {
            status: 200..=299,
            latency_ms,
            truncated: false,
            problem: None,
            ..
        }) => Some((*path, latency_ms)),
        _ => None,
    });
    if let Some((path, latency_ms)) = ready {
        // Whole seconds, rounded up from what was measured, at least the kubelet's 1 s.
        let seconds = latency_ms.map_or(1, |ms| ((ms / 1000.0).ceil() as u64).max(1));
        let measured = latency_ms.map_or("latency not measured".to_string(), |ms| format!("in {ms:.0} ms"));
        doc.open(3, "readinessProbe");
        doc.line(
            4,
            "path",
            &json(path),
            Some(&format!("GET {path} answered 2xx {measured}")),
        );
        doc.line(
            4,
            "timeoutSeconds",
            &seconds.to_string(),
            Some("the measured latency, rounded up to whole seconds"),
        );
    }
    if let Some(f) = doc.sure(&view.facts.max_concurrency) {
        doc.line(3, "maxConcurrency", &f.value.to_string(), Some(&f.source.describe()));
    }
    if let Some(f) = doc.sure(&view.facts.request_timeout_seconds) {
        doc.line(3, "timeoutSeconds", &f.value.to_string(), Some(&f.source.describe()));
    }
}

fn observability(doc: &mut Doc, view: &EngineView<'_>, process: Option<&ServingProcess>) {
    let facts = &view.facts;
    let metrics = crate::runtime::METRICS_PATHS.iter().find(|path| {
        matches!(
            view.answers.get(path),
            Some(Answer::Reply {
                status: 200..=299,
                truncated: false,
                problem: None,
                ..
            })
        )
    });
    // Tracing is read from the command line and the environment: off only when both were read.
    let environment_read = process.is_some_and(|p| p.environment.is_ok() && p.argv.is_ok());
    let tracing = match &facts.tracing_endpoint {
        Some(f) => Some(("true", format!("{} {}", f.source.describe(), f.value))),
        None if environment_read && view.detection.is_some() && !doc.minimal => Some((
            "false",
            "no OTLP traces endpoint on the command line or in the environment".to_string(),
        )),
        None => None,
    };
    let log_level = doc.sure(&facts.log_level);
    if metrics.is_none() && log_level.is_none() && tracing.is_none() {
        return;
    }
    doc.open(2, "observability");
    if let Some(path) = metrics {
        doc.open(3, "metrics");
        doc.line(4, "enabled", "true", Some(&format!("GET {path} answered 2xx")));
    }
    if let Some(f) = log_level {
        doc.open(3, "logging");
        doc.line(4, "level", &json(&f.value), Some(&f.source.describe()));
    }
    if let Some((enabled, why)) = tracing {
        doc.open(3, "tracing");
        doc.line(4, "enabled", enabled, Some(&why));
    }
}

/// A `targetLatencyMsP95` to consider, from the engine's end-to-end latency histogram on its
/// metrics page: the upper bound of the bucket holding the p95 of every request it has served,
/// a proposal (the traffic so far, not a contract) written as a comment.
fn latency_proposal(view: &EngineView<'_>) -> Option<String> {
    let names = view.engine()?.engine().metrics.latency_histogram;
    let (path, body, content_type) =
        crate::runtime::METRICS_PATHS
            .iter()
            .find_map(|path| match view.answers.get(path) {
                Some(Answer::Reply {
                    status: 200..=299,
                    body,
                    content_type,
                    truncated: false,
                    problem: None,
                    ..
                }) => Some((*path, body, content_type)),
                _ => None,
            })?;
    use modelspec_probe_metrics::{Format, Limits, MetricType, parse};
    let exposition = parse(body, Format::detect(content_type, body.as_bytes()), &Limits::default());
    let family = crate::check::metrics::find(&exposition, names).filter(|f| f.kind == MetricType::Histogram)?;
    let (lower, upper, requests) = crate::check::metrics::p95_bounds(family)?;
    if requests < 1.0 || !upper.is_finite() {
        return None;
    }
    Some(format!(
        "proposal, from the traffic so far (GET {path} {}: the p95 of {requests} requests lies in ({lower}, {upper}] s): operations.scaling.targetLatencyMsP95: {}",
        family.name,
        (upper * 1000.0).ceil()
    ))
}

/// A `metadata.name` from a model id: its last path segment as a DNS label
/// (`meta-llama/Llama-3.1-8B-Instruct` -> `llama-3-1-8b-instruct`).
fn name_from(id: &str) -> String {
    let last = id.trim_end_matches('/').rsplit('/').next().unwrap_or(id);
    let name = crate::spec::lint::metadata::dns_spelling(last);
    if name.is_empty() { "model".into() } else { name }
}

/// The JSON pointers of the fields a draft's text fills from the node (every `key: value` line
/// but those holding [`TODO`] or whose comment says TODO, as a count written only to be
/// valid): what scanning the node it came from must find no drift in.
/// Reads the draft's own layout (two-space indents, one key per line), not any YAML.
pub fn filled(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut path: Vec<(usize, &str)> = Vec::new();
    let todo = json(TODO);
    for line in yaml
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
    {
        let depth = (line.len() - line.trim_start().len()) / 2;
        let Some((key, rest)) = line.trim_start().split_once(':') else {
            continue;
        };
        path.retain(|(d, _)| *d < depth);
        let (value, comment) = rest.split_once("  # ").unwrap_or((rest, ""));
        let value = value.trim();
        if value.is_empty() {
            path.push((depth, key));
        } else if value != todo && !comment.starts_with("TODO") {
            let parents: String = path.iter().map(|(_, k)| format!("/{k}")).collect();
            out.push(format!("{parents}/{key}"));
        }
    }
    out
}

/// A YAML scalar that reads as exactly `s`: a JSON string literal.
fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The YAML being written.
#[derive(Default)]
struct Doc {
    out: String,
    /// [`Request::minimal`].
    minimal: bool,
}

impl Doc {
    /// `fact`, unless it is only the engine's default and the draft is minimal.
    fn sure<'f, T>(&self, fact: &'f Option<Fact<T>>) -> Option<&'f Fact<T>> {
        fact.as_ref()
            .filter(|f| !(self.minimal && matches!(f.source, crate::runtime::Source::Default { .. })))
    }

    fn open(&mut self, depth: usize, key: &str) {
        let _ = writeln!(self.out, "{}{key}:", "  ".repeat(depth));
    }

    /// `key: value`, with its evidence as a comment (one line: control characters dropped).
    fn line(&mut self, depth: usize, key: &str, value: &str, evidence: Option<&str>) {
        let _ = write!(self.out, "{}{key}: {value}", "  ".repeat(depth));
        if let Some(evidence) = evidence {
            let evidence: String = evidence.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            let _ = write!(self.out, "  # {}", evidence.trim());
        }
        self.out.push('\n');
    }

    /// What no node can tell, as commented-out sections for a person to fill in, with the
    /// latency target the metrics suggest.
    fn todo_block(&mut self, latency: Option<&str>) {
        self.out.push_str(
            "# TODO what no node can tell; add under spec what applies (the standard's examples show each):
#   operations.scaling     minReplicas, maxReplicas, strategy, targetLatencyMsP95, targetRps
#   pipeline.dependencies  the services the model calls (vector stores, other models)
#   governance.compliance  pii, retention, owner and change approval
#   governance.cost        targetCostPer1kTokensUsd, pricing hints
",
        );
        if let Some(latency) = latency {
            let _ = writeln!(self.out, "# {latency}");
        }
    }
}

#[cfg(test)]
mod tests;
