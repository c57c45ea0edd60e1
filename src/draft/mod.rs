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
use modelspec_probe_host::{Candidate, ServingProcess, Workload};

use crate::check::engine::{EngineView, endpoint_view};
use crate::observe::endpoint::{EndpointSnapshot, EndpointTarget};
use crate::observe::{Observation, ProbeOutcome};
use crate::runtime::{Answer, Answers, Fact};

/// The value of a required field no node can tell (`validate` warns while one is left).
pub use crate::spec::lint::metadata::TODO;

/// What to draft.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The serving port (needed when the observation asked several).
    pub port: Option<u16>,
    /// Which process on that port, when several serve it (else the only one, or the first).
    pub pid: Option<u32>,
    /// Name the spec after its model and its pod or container (`init --all`: one spec per
    /// server, several of one model).
    pub name_after_workload: bool,
    /// Added to the drafted name to tell it from another server's (`init --all`: its port).
    pub suffix: Option<String>,
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
    let endpoint = choose_endpoint(snapshot, request.port, request.pid)?;
    let candidate = serving_candidate(observation, endpoint);
    let workload = candidate.and_then(|c| c.workload.as_ref()).filter(|w| !w.is_host());
    let process = candidate.map(|c| &c.process);
    let view = endpoint_view(observation, process, endpoint, None);
    let mut doc = Doc {
        minimal: request.minimal,
        ..Doc::default()
    };

    let id = model_id(&view);
    let model_name = name_from(id.as_ref().map_or("model", |(v, _)| v.as_str()));
    let name = match (&request.name, workload.and_then(workload_label)) {
        (Some(name), _) => name.clone(),
        (None, Some(label)) if request.name_after_workload => {
            crate::spec::lint::metadata::dns_spelling(&format!("{model_name}-{label}"))
        }
        (None, _) => model_name,
    };
    let name = match &request.suffix {
        Some(suffix) => {
            // The suffix survives the 63 characters a name may have: the name gives way.
            let suffix = crate::spec::lint::metadata::dns_spelling(suffix);
            let room = 62usize.saturating_sub(suffix.len());
            let base: String = name.chars().take(room).collect();
            crate::spec::lint::metadata::dns_spelling(&format!("{base}-{suffix}"))
        }
        None => name,
    };
    doc.line(0, "apiVersion", "piqc.ai/v1alpha1", None);
    doc.line(0, "kind", "ModelSpec", None);
    doc.open(0, "metadata");
    let why_name = match (&request.name, request.name_after_workload && workload.is_some()) {
        (Some(_), _) => "--name",
        (None, true) => "made from the model's id and its pod or container",
        (None, false) => "made from the model's id",
    };
    let why_name = match &request.suffix {
        Some(suffix) => format!("{why_name}, and {suffix}: another server drafts under the same name"),
        None => why_name.to_string(),
    };
    doc.line(1, "name", &json(&name), Some(&why_name));
    if let Some((selector, evidence)) = workload.and_then(workload_selector) {
        doc.open(1, "annotations");
        doc.line(
            2,
            &json(crate::spec::selector::WORKLOAD_ANNOTATION),
            &json(&selector),
            Some(&evidence),
        );
    }
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
    let listening = candidate
        .and_then(|c| c.network.as_ref())
        .filter(|n| !n.listening.is_empty())
        .map(|n| {
            format!(
                "pid {} listens on {}",
                endpoint.pid.unwrap_or_default(),
                n.listening.join(", ")
            )
        });
    doc.line(
        3,
        "port",
        &endpoint.port.to_string(),
        Some(listening.as_deref().unwrap_or("the port asked")),
    );
    serving(&mut doc, &view);
    let metrics = metrics_page(snapshot, endpoint, &view);
    observability(&mut doc, &view, process, metrics.as_ref());
    let proposals: Vec<String> = metrics
        .as_ref()
        .map(|page| {
            [
                latency_proposal(&view, page),
                rate_proposal(&view, page, observation, process),
            ]
            .into_iter()
            .flatten()
            .collect()
        })
        .unwrap_or_default();
    doc.todo_block(&proposals);
    Ok(Draft {
        name,
        yaml: without_errors(doc.out),
    })
}

/// The draft with every value `validate` calls an error commented out, the error beside it for
/// a person to settle. A node can contradict the catalogue (an engine that says bf16 on a T4,
/// which cannot run it natively): the draft says what the node said, and still validates.
fn without_errors(mut yaml: String) -> String {
    use crate::spec::diagnostic::Severity;
    use crate::spec::validate::{Options, validate_text};
    // Each round comments out the lines of that round's errors; a few rounds settle any chain.
    for _ in 0..4 {
        let errors: Vec<(usize, String)> = validate_text(&yaml, crate::spec::yaml::Syntax::Yaml, &Options::default())
            .iter()
            .flat_map(|r| &r.diagnostics)
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.span.start.line as usize, d.message.clone()))
            .collect();
        if errors.is_empty() {
            break;
        }
        let mut lines: Vec<String> = yaml.lines().map(str::to_owned).collect();
        let mut changed = false;
        for (line, message) in errors {
            let Some(text) = line.checked_sub(1).and_then(|i| lines.get_mut(i)) else {
                continue;
            };
            let body = text.trim_start();
            // Only a `key: value` line can be left out; a section or a comment cannot.
            let is_value = body
                .split_once(':')
                .is_some_and(|(_, v)| !v.trim().is_empty() && !v.trim().starts_with('#'));
            if body.starts_with('#') || !is_value {
                continue;
            }
            let indent = &text[..text.len() - body.len()];
            let message: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            *text = format!("{indent}# {body}; TODO left out, validate says: {message}");
            changed = true;
        }
        if !changed {
            break;
        }
        yaml = lines.join("\n") + "\n";
    }
    yaml
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

/// The endpoint to draft: the one on `port` (of process `pid` when several serve it), or the
/// only one asked.
fn choose_endpoint(
    snapshot: &EndpointSnapshot,
    port: Option<u16>,
    pid: Option<u32>,
) -> Result<&EndpointTarget, String> {
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
    let on_port = || snapshot.targets.iter().filter(|t| t.port == port);
    let target = match pid {
        Some(pid) => on_port()
            .find(|t| t.pid == Some(pid))
            .ok_or_else(|| format!("no process {pid} was found serving port {port} in the observation"))?,
        None => on_port()
            .next()
            .ok_or_else(|| format!("the observation did not ask port {port}; asked: {ports:?}"))?,
    };
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
    // The standard requires a maximum sequence length with vLLM (it sizes the KV cache from it):
    // a vLLM whose length the node did not show is named in the comment, for a person to write
    // both.
    let length_unseen = doc.sure(&view.facts.max_sequence_length).is_none();
    match &view.detection {
        Some(d) if d.engine == crate::runtime::EngineId::Vllm && length_unseen => doc.line(
            3,
            "framework",
            &json(TODO),
            Some(&format!(
                "TODO vllm ({}), which the standard accepts only with runtime.batch.maxSequenceLengthTokens (--max-model-len), and the node did not show it",
                d.because.join("; ")
            )),
        ),
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
    if devices.is_empty()
        && let crate::check::accelerator::AmdView::Devices(amd) = crate::check::accelerator::amd_view(observation)
        && !amd.is_empty()
    {
        return amd_accelerator(doc, amd, process, view);
    }
    if devices.is_empty() {
        doc.line(
            3,
            "vendor",
            &json(TODO),
            Some("TODO the accelerator vendor: neither NVML nor AMD SMI saw a GPU on this node"),
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
            Some("TODO how many accelerators the model needs: no GPU was seen"),
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
    let held = held.is_some_and(|a| !a.held.is_empty());
    let (count, why) = drafted_count(doc, held, used.len(), view, "NVML", "NVML compute processes");
    doc.line(3, "count", &count.to_string(), Some(&why));
}

/// The count a draft writes: the GPUs the serving tree holds, else the parallelism the engine
/// states, else the GPUs `library` sees working.
fn drafted_count(
    doc: &Doc,
    held: bool,
    used: usize,
    view: &EngineView<'_>,
    library: &str,
    processes: &str,
) -> (u64, String) {
    if held {
        return (
            used as u64,
            format!("GPUs holding the serving process tree ({processes})"),
        );
    }
    match stated_parallelism(view) {
        // More than the node has: the engine's answers and the library disagree, and no count
        // would hold for both checks.
        Some((gpus, why)) if gpus > used as u64 => (
            gpus,
            format!(
                "TODO {why}, but {library} sees {used} working GPU(s) on this node: one of them is not this deployment's"
            ),
        ),
        Some((gpus, why)) => (gpus, why),
        None => (
            used as u64,
            format!(
                "{}GPUs {library} sees working on the node: none could be attributed to the serving process; check {used} is what it needs",
                if doc.minimal { "TODO " } else { "" },
            ),
        ),
    }
}

/// `vendor: amd`: the type from the AMD catalogue (with the partition modes when the GPUs are
/// split), the count as AMD SMI lists GPUs.
fn amd_accelerator(
    doc: &mut Doc,
    devices: &[modelspec_probe_amd::AmdDevice],
    process: Option<&ServingProcess>,
    view: &EngineView<'_>,
) {
    use crate::catalogue::amd::by_market_name;
    doc.line(3, "vendor", &json("amd"), Some("AMD SMI"));
    let held = process.and_then(|p| crate::check::attribution::attribute_amd(devices, p));
    let used: Vec<&modelspec_probe_amd::AmdDevice> = match &held {
        Some(a) if !a.held.is_empty() => devices
            .iter()
            .filter(|d| a.held.iter().any(|h| h.index == d.index))
            .collect(),
        _ => devices.iter().collect(),
    };
    let names: Vec<&str> = used
        .iter()
        .filter_map(|d| d.market_name.value().map(String::as_str))
        .collect();
    let types: Vec<&str> = used
        .iter()
        .filter_map(|d| {
            by_market_name(
                d.market_name.value().map_or("", String::as_str),
                d.asic.value().map(|a| a.device_id),
            )
        })
        .map(|m| m.canonical)
        .collect();
    let same = |values: Vec<Option<&String>>| -> Option<String> {
        let first = values.first().copied().flatten()?;
        values
            .iter()
            .all(|v| *v == Some(first))
            .then(|| first.to_ascii_lowercase())
    };
    let compute = same(used.iter().map(|d| d.compute_partition.value()).collect());
    let memory = same(used.iter().map(|d| d.memory_partition.value()).collect());
    match (types.first(), names.first()) {
        (Some(t), Some(n)) if types.len() == used.len() && types.iter().all(|x| x == t) => {
            // Split GPUs are declared with their modes; whole ones (SPX) need none.
            let spelling = match (&compute, &memory) {
                (Some(c), Some(m)) if c != "spx" => format!("{t}-{c}-{m}"),
                (Some(c), None) if c != "spx" => format!("{t}-{c}"),
                _ => (*t).to_string(),
            };
            let modes = match (&compute, &memory) {
                (Some(c), Some(m)) => format!(", {}/{}", c.to_ascii_uppercase(), m.to_ascii_uppercase()),
                _ => String::new(),
            };
            doc.line(
                3,
                "type",
                &json(&spelling),
                Some(&format!("AMD SMI market name {n:?}{modes}")),
            );
        }
        (_, Some(n)) => doc.line(
            3,
            "type",
            &json(TODO),
            Some(&format!(
                "TODO AMD SMI market names {n:?}, which the AMD catalogue does not map to one type"
            )),
        ),
        _ => doc.line(3, "type", &json(TODO), Some("TODO AMD SMI did not name the GPUs")),
    }
    let held = held.is_some_and(|a| !a.held.is_empty());
    let (count, why) = drafted_count(doc, held, used.len(), view, "AMD SMI", "AMD SMI process list");
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
            !modelspec_probe_host::env::is_secret_name(name)
                && value.as_str() != modelspec_probe_host::env::REDACTED
                && !modelspec_probe_host::env::IMAGE_FACTS.contains(&name.as_str())
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

/// The paths engines answer alive on (Triton's and NIM's own; else the one health path).
const LIVE_PATHS: &[&str] = &["/v2/health/live", "/v1/health/live", "/health"];

fn serving(doc: &mut Doc, view: &EngineView<'_>) {
    probe(doc, view, "readinessProbe", READY_PATHS);
    probe(doc, view, "livenessProbe", LIVE_PATHS);
    if let Some(f) = doc.sure(&view.facts.max_concurrency) {
        doc.line(3, "maxConcurrency", &f.value.to_string(), Some(&f.source.describe()));
    }
    if let Some(f) = doc.sure(&view.facts.request_timeout_seconds) {
        doc.line(3, "timeoutSeconds", &f.value.to_string(), Some(&f.source.describe()));
    }
}

/// A probe on the first of `paths` that answered 2xx in full, its timeout the measured
/// latency rounded up to whole seconds (at least the kubelet's 1 s).
fn probe(doc: &mut Doc, view: &EngineView<'_>, key: &str, paths: &[&str]) {
    let Some((path, latency_ms)) = paths.iter().find_map(|path| match view.answers.get(path) {
        Some(Answer::Reply {
            status: 200..=299,
            latency_ms,
            truncated: false,
            problem: None,
            ..
        }) => Some((*path, latency_ms)),
        _ => None,
    }) else {
        return;
    };
    let seconds = latency_ms.map_or(1, |ms| ((ms / 1000.0).ceil() as u64).max(1));
    let measured = latency_ms.map_or("latency not measured".to_string(), |ms| format!("in {ms:.0} ms"));
    doc.open(3, key);
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

/// The engine's metrics page as it answered: on the serving port, else on the port the engine
/// says it keeps them (Triton's 8002, TGI's `--prometheus-port`), else on another port the same
/// process listens on.
struct MetricsPage<'a> {
    port: u16,
    path: &'static str,
    body: &'a str,
    content_type: Option<&'a str>,
    /// The target it was read from (a window measured there is its rate's evidence).
    target: &'a EndpointTarget,
    /// Families on the page: a page of Prometheus text has some.
    families: usize,
    /// How its port was chosen, in words.
    why_port: String,
}

impl MetricsPage<'_> {
    fn at(&self) -> String {
        format!("GET :{}{}", self.port, self.path)
    }
}

fn metrics_page<'a>(
    snapshot: &'a EndpointSnapshot,
    endpoint: &'a EndpointTarget,
    view: &EngineView<'_>,
) -> Option<MetricsPage<'a>> {
    let stated = view.facts.metrics_port.as_ref();
    let same_process = |t: &&'a EndpointTarget| t.port != endpoint.port && t.pid == endpoint.pid && t.error.is_none();
    let mut places: Vec<(&'a EndpointTarget, String)> = vec![(endpoint, "the serving port".into())];
    if let Some(fact) = stated {
        places.extend(
            snapshot
                .targets
                .iter()
                .filter(same_process)
                .filter(|t| t.port == fact.value)
                .map(|t| (t, fact.source.describe())),
        );
    }
    if endpoint.pid.is_some() {
        places.extend(
            snapshot
                .targets
                .iter()
                .filter(same_process)
                .map(|t| (t, "another port the serving process listens on".to_string())),
        );
    }
    use modelspec_probe_metrics::{Format, Limits, parse};
    places.into_iter().find_map(|(target, why_port)| {
        crate::runtime::METRICS_PATHS
            .iter()
            .find_map(|path| match target.get(path) {
                Some(Answer::Reply {
                    status: 200..=299,
                    body,
                    content_type,
                    truncated: false,
                    problem: None,
                    ..
                }) => {
                    let families = parse(body, Format::detect(content_type, body.as_bytes()), &Limits::default())
                        .families
                        .len();
                    Some(MetricsPage {
                        port: target.port,
                        path,
                        body,
                        content_type,
                        target,
                        families,
                        why_port: why_port.clone(),
                    })
                }
                _ => None,
            })
    })
}

fn observability(
    doc: &mut Doc,
    view: &EngineView<'_>,
    process: Option<&ServingProcess>,
    metrics: Option<&MetricsPage<'_>>,
) {
    let facts = &view.facts;
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
    if let Some(page) = metrics {
        doc.open(3, "metrics");
        doc.line(4, "enabled", "true", Some(&format!("{} answered 2xx", page.at())));
        if page.families > 0 {
            doc.line(
                4,
                "provider",
                &json("prometheus"),
                Some(&format!(
                    "{} is Prometheus text ({} metric {})",
                    page.at(),
                    page.families,
                    if page.families == 1 { "family" } else { "families" }
                )),
            );
        }
        doc.line(
            4,
            "port",
            &page.port.to_string(),
            Some(&format!("{}: {}", page.why_port, page.at())),
        );
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

/// The engine's end-to-end latency histogram on its metrics page.
fn latency_family<'e, 'a>(
    view: &EngineView<'_>,
    exposition: &'e modelspec_probe_metrics::Exposition<'a>,
) -> Option<&'e modelspec_probe_metrics::Family<'a>> {
    let names = view.engine()?.engine().metrics.latency_histogram;
    crate::check::metrics::find(exposition, names).filter(|f| f.kind == modelspec_probe_metrics::MetricType::Histogram)
}

fn parsed<'a>(page: &MetricsPage<'a>) -> modelspec_probe_metrics::Exposition<'a> {
    use modelspec_probe_metrics::{Format, Limits, parse};
    parse(
        page.body,
        Format::detect(page.content_type, page.body.as_bytes()),
        &Limits::default(),
    )
}

/// A `targetLatencyMsP95` to consider: the upper bound of the latency histogram's bucket holding
/// the p95 of every request the server has served. A proposal (the traffic so far, not a
/// contract), written as a comment.
fn latency_proposal(view: &EngineView<'_>, page: &MetricsPage<'_>) -> Option<String> {
    let exposition = parsed(page);
    let family = latency_family(view, &exposition)?;
    let (lower, upper, requests) = crate::check::metrics::p95_bounds(family)?;
    if requests < 1.0 || !upper.is_finite() {
        return None;
    }
    Some(format!(
        "proposal, from the traffic so far ({} {}: the p95 of {requests} requests lies in ({lower}, {upper}] s): operations.scaling.targetLatencyMsP95: {}",
        page.at(),
        family.name,
        (upper * 1000.0).ceil()
    ))
}

/// A `targetRps` to consider: the rate of requests the latency histogram counted, over the
/// measurement window when one was taken (`--window`), else on average since the server
/// started. Rounded up to two significant digits; a proposal, written as a comment.
fn rate_proposal(
    view: &EngineView<'_>,
    page: &MetricsPage<'_>,
    observation: &Observation,
    process: Option<&ServingProcess>,
) -> Option<String> {
    let engine = view.engine()?;
    if let Some(Ok(window)) = crate::check::metrics::windowed(page.target) {
        let rate = crate::check::metrics::windowed_rate(engine.metrics(), &window)?;
        return (rate > 0.0).then(|| {
            format!(
                "proposal, from the traffic {} ({} {}_count): operations.scaling.targetRps: {}",
                window.scope,
                page.at(),
                engine.metrics().latency_histogram.first().copied().unwrap_or("?"),
                round_up(rate)
            )
        });
    }
    let exposition = parsed(page);
    let family = latency_family(view, &exposition)?;
    let requests: f64 = family
        .samples
        .iter()
        .filter(|s| s.suffix == modelspec_probe_metrics::Suffix::Count)
        .map(|s| s.value)
        .sum();
    let ProbeOutcome::Observed { snapshot: host, .. } = &observation.host else {
        return None;
    };
    let started = process?.started_at.value()?;
    let nanos = crate::report::prom::unix_nanos(&host.observed_at)? - crate::report::prom::unix_nanos(started)?;
    let seconds = nanos as f64 / 1e9;
    if requests < 1.0 || seconds < 1.0 {
        return None;
    }
    Some(format!(
        "proposal, from the traffic so far ({} {}_count: {requests} requests in the {} since the server started, on average): operations.scaling.targetRps: {}",
        page.at(),
        family.name,
        uptime_words(seconds),
        round_up(requests / seconds)
    ))
}

/// A process's age in words, to the unit that reads well (`90 s`, `42 min`, `7 h`, `12 days`).
fn uptime_words(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..120 => format!("{s} s"),
        120..7_200 => format!("{} min", s / 60),
        7_200..172_800 => format!("{} h", s / 3_600),
        _ => format!("{} days", s / 86_400),
    }
}

/// `x` rounded up to two significant digits (0.0123 -> 0.013, 4567 -> 4600).
fn round_up(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 0.0;
    }
    let step = 10f64.powi(x.log10().floor() as i32 - 1);
    let rounded = (x / step - 1e-9).ceil() * step;
    // Printed without binary noise: as many decimals as the step has.
    let decimals = (-step.log10().round()).max(0.0) as usize;
    format!("{rounded:.decimals$}").parse().unwrap_or(rounded)
}

/// What names a workload in a spec's name: its pod, else its container's name, else the
/// start of its container id.
fn workload_label(workload: &Workload) -> Option<String> {
    workload
        .pod_name
        .clone()
        .or_else(|| workload.container_name.clone())
        .or_else(|| workload.container_id.as_deref().map(|id| id.chars().take(12).collect()))
}

/// The `modelspec.piqc.ai/workload` selector of a workload, with its evidence: the pod (with
/// its container), else the container's name, else its id. A pod a Deployment made (its name
/// ends in the ReplicaSet's hash and a random suffix, both replaced on every rollout) is
/// named by a glob over those two, so the spec still finds it after the next rollout.
fn workload_selector(workload: &Workload) -> Option<(String, String)> {
    let source = |field: &str| {
        workload
            .sources
            .get(field)
            .cloned()
            .unwrap_or_else(|| "the node".into())
    };
    if let (Some(namespace), Some(pod)) = (&workload.pod_namespace, &workload.pod_name) {
        let container = workload
            .container_name
            .as_ref()
            .map(|c| format!("/{c}"))
            .unwrap_or_default();
        let (shown, why) = match deployment_prefix(pod) {
            Some(prefix) => (
                format!("{prefix}-*-*"),
                format!(
                    "pod {namespace}/{pod} ({}), a Deployment's: its hash and suffix change on each rollout",
                    source("pod_name")
                ),
            ),
            None => (pod.clone(), format!("pod {namespace}/{pod} ({})", source("pod_name"))),
        };
        return Some((format!("pod:{namespace}/{shown}{container}"), why));
    }
    if let Some(name) = &workload.container_name {
        return Some((
            format!("container:{name}"),
            format!("{} ({})", workload.describe(), source("container_name")),
        ));
    }
    let id = workload.container_id.as_deref()?;
    Some((
        format!("container:{}", id.chars().take(12).collect::<String>()),
        format!("{} ({})", workload.describe(), source("container_id")),
    ))
}

/// The Deployment-made part of a pod name `NAME-HASH-SUFFIX` (`vllm-7d9f8c6b5-x2x4q` ->
/// `vllm`): a ReplicaSet hash of 6 to 10 and a suffix of 5 characters from the alphabet
/// Kubernetes draws them from (no vowels, no 0, 1 or 3).
fn deployment_prefix(pod: &str) -> Option<&str> {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let drawn = |s: &str| s.bytes().all(|b| ALPHABET.contains(&b));
    let (rest, suffix) = pod.rsplit_once('-')?;
    let (prefix, hash) = rest.rsplit_once('-')?;
    (suffix.len() == 5 && drawn(suffix) && (6..=10).contains(&hash.len()) && drawn(hash) && !prefix.is_empty())
        .then_some(prefix)
}

/// A server the observation shows: a process (or a port no process was found for) that
/// answered like a model server on some port, and the port it serves on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The port clients use: the one that listed its models, else the one whose answers or
    /// metrics named the engine, lowest first.
    pub port: u16,
    /// Its process, when the host probe found it.
    pub pid: Option<u32>,
    /// What else was asked of it: its other ports.
    pub other_ports: Vec<u16>,
}

/// What was asked that answered like no model server, and why it was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAServer {
    pub pid: Option<u32>,
    pub ports: Vec<u16>,
    pub why: String,
}

/// Every model server in the observation (`init --all`): the endpoint targets grouped by
/// process, each group kept when one of its ports listed a model or named an engine.
pub fn servers(observation: &Observation) -> Result<(Vec<Server>, Vec<NotAServer>), String> {
    let snapshot = endpoint_snapshot(observation)?;
    let mut groups: Vec<(Option<u32>, Vec<&EndpointTarget>)> = Vec::new();
    for target in &snapshot.targets {
        // A target with no process is its own group: two of them are two unknown servers.
        match groups.iter_mut().find(|(pid, _)| pid.is_some() && *pid == target.pid) {
            Some((_, members)) => members.push(target),
            None => groups.push((target.pid, vec![target])),
        }
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for (pid, members) in groups {
        // Rank each port: listed models, then an engine named, then nothing.
        let ranked = members.iter().filter(|t| t.error.is_none()).filter_map(|target| {
            let candidate = serving_candidate(observation, target);
            let view = endpoint_view(observation, candidate.map(|c| &c.process), target, None);
            let listed = view
                .facts
                .served_model_ids
                .as_ref()
                .is_some_and(|f| !f.value.is_empty());
            let rank = match (listed, view.detection.is_some()) {
                (true, _) => 0,
                (false, true) => 1,
                (false, false) => return None,
            };
            Some((rank, target.port))
        });
        let mut ports: Vec<u16> = members.iter().map(|t| t.port).collect();
        ports.sort_unstable();
        ports.dedup();
        match ranked.min() {
            Some((_, port)) => found.push(Server {
                port,
                pid,
                other_ports: ports.iter().copied().filter(|p| *p != port).collect(),
            }),
            None => {
                let errors: Vec<&str> = members.iter().filter_map(|t| t.error.as_deref()).collect();
                let why = if errors.len() == members.len() {
                    format!("it could not be asked: {}", errors.join("; "))
                } else {
                    "no port listed a model or named a serving engine".to_string()
                };
                skipped.push(NotAServer { pid, ports, why });
            }
        }
    }
    found.sort_by_key(|s| (s.port, s.pid));
    Ok((found, skipped))
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
    let mut path: Vec<(usize, String)> = Vec::new();
    let todo = json(TODO);
    for line in yaml
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
    {
        let depth = (line.len() - line.trim_start().len()) / 2;
        let Some((key, rest)) = line.trim_start().split_once(':') else {
            continue;
        };
        // A quoted key (`"modelspec.piqc.ai/workload"`) is read as the string it spells, then
        // escaped as a JSON pointer token.
        let key = serde_json::from_str::<String>(key.trim()).unwrap_or_else(|_| key.trim().to_string());
        let key = key.replace('~', "~0").replace('/', "~1");
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
    /// targets the metrics suggest.
    fn todo_block(&mut self, proposals: &[String]) {
        self.out.push_str(
            "# TODO what no node can tell; add under spec what applies (the standard's examples show each):
#   operations.scaling     minReplicas, maxReplicas, strategy, targetLatencyMsP95, targetRps
#   pipeline.dependencies  the services the model calls (vector stores, other models)
#   governance.compliance  pii, retention, owner and change approval
#   governance.cost        targetCostPer1kTokensUsd, pricing hints
",
        );
        for proposal in proposals {
            let _ = writeln!(self.out, "# {proposal}");
        }
    }
}

#[cfg(test)]
mod tests;
