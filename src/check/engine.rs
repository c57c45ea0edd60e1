//! What the serving engine says, ready for the checks: which engine (and why we think so), its
//! normalized facts, and its recorded answers for the probe checks.
//!
//! Built once per spec from the observation ([`view`]): the spec's server entry gives the
//! command line and environment, the endpoint entry for the same port gives the answers, and
//! [`crate::runtime`] turns both into [`EngineFacts`]. Every engine-based check (identity,
//! batch, serving, observability, governance) reads this view and nothing else, so "which
//! engine, which facts" is decided in one place.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use modelspec_probe_gpu::NvmlState;

use super::target::Resolution;
use crate::observe::endpoint::{EndpointSnapshot, EndpointTarget, Http2Check};
use crate::observe::{Observation, ProbeOutcome};
use crate::runtime::{self, Answers, Detection, EngineFacts, EngineId, Fact, Inputs};
use crate::spec::ModelSpec;
use modelspec_probe_host::{Candidate, ServingProcess};

/// The engine behind one spec's serving port.
pub(crate) struct EngineView<'a> {
    /// The recorded answers of the endpoint.
    pub answers: &'a dyn Answers,
    /// Which engine, when it could be told.
    pub detection: Option<Detection>,
    /// Its facts (empty when no engine was detected).
    pub facts: EngineFacts,
    /// Environment variable names of the serving process, when readable.
    pub env_names: Option<&'a [String]>,
    /// The HTTP/2 check of the port, for gRPC specs.
    pub http2: Option<&'a Http2Check>,
    /// Why no engine was detected (conflicting answers, an answer that broke), when none was.
    pub undetected: Option<String>,
    /// The endpoint target the answers came from.
    pub endpoint: Option<&'a EndpointTarget>,
}

impl<'a> EngineView<'a> {
    /// Reads the engine from its inputs.
    pub(crate) fn new(inputs: &Inputs<'a>) -> EngineView<'a> {
        let detection = runtime::detect(inputs);
        let undetected = detection.is_none().then(|| runtime::undetected_reason(inputs));
        let facts = detection
            .as_ref()
            .map(|d| runtime::facts(d.engine, inputs))
            .unwrap_or_default();
        EngineView {
            answers: inputs.answers,
            detection,
            facts,
            env_names: inputs.env_names,
            http2: None,
            undetected,
            endpoint: None,
        }
    }

    /// The detected engine.
    pub(crate) fn engine(&self) -> Option<EngineId> {
        self.detection.as_ref().map(|d| d.engine)
    }

    /// Why a fact is missing: the engine's own gap, else "not detected", else "not said".
    pub(crate) fn missing(&self, fact: &str, what: &str) -> String {
        if let Some(gap) = self.facts.gaps.get(fact) {
            return gap.clone();
        }
        match &self.detection {
            None => format!("{what}: {}", self.unidentified()),
            Some(d) => format!("{what}: {} does not say", d.engine.as_str()),
        }
    }

    /// "the serving engine could not be identified ...", with why when known.
    pub(crate) fn unidentified(&self) -> String {
        let base = "the serving engine could not be identified from its command line or answers";
        match &self.undetected {
            Some(why) => format!("{base}: {why}"),
            None => base.to_string(),
        }
    }

    /// Evidence for a fact: where it came from and the engine.
    pub(crate) fn evidence<T: serde::Serialize>(&self, fact: &Fact<T>) -> Json {
        json!({
            "engine": self.engine().map(EngineId::as_str),
            "value": fact.value,
            "source": fact.source.describe(),
        })
    }

    /// The detection, as evidence.
    pub(crate) fn detection_evidence(&self) -> Json {
        match &self.detection {
            Some(d) => json!({"engine": d.engine.as_str(), "because": d.because}),
            None => Json::Null,
        }
    }
}

/// Why there is no engine to judge, and what status that gives its findings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unseen {
    /// `skip` when there is nothing to ask (no serving port), `unknown` when asking failed.
    pub status: super::Status,
    pub reason: String,
}

impl Unseen {
    fn unknown(reason: impl Into<String>) -> Unseen {
        Unseen {
            status: super::Status::Unknown,
            reason: reason.into(),
        }
    }

    /// The finding `b` would be, without an engine.
    pub(crate) fn finding(&self, b: super::FindingBuilder) -> super::Finding {
        b.status(self.status, self.reason.clone())
    }
}

/// The endpoint answers of one workload: the target asked for that process, else the one
/// asked for the port alone (an older observation, `--endpoint`, a host probe that found no
/// process).
fn endpoint_of(snapshot: &EndpointSnapshot, port: u16, pid: Option<u32>) -> Option<&EndpointTarget> {
    pid.and_then(|pid| snapshot.targets.iter().find(|t| t.port == port && t.pid == Some(pid)))
        .or_else(|| snapshot.targets.iter().find(|t| t.port == port && t.pid.is_none()))
}

fn endpoint_snapshot(observation: &Observation) -> Result<&EndpointSnapshot, Unseen> {
    match &observation.endpoint {
        ProbeOutcome::Observed { snapshot, .. } => Ok(snapshot),
        ProbeOutcome::TimedOut { budget_ms, .. } => Err(Unseen::unknown(format!(
            "the endpoint probe did not answer within {budget_ms} ms"
        ))),
        ProbeOutcome::NotRun { reason } => Err(Unseen::unknown(format!("the endpoint probe did not run: {reason}"))),
    }
}

/// The engine of the spec's workload, read from the observation; why not, when it cannot be.
pub(crate) fn view<'a>(
    spec: &'a ModelSpec,
    observation: &'a Observation,
    resolution: &Resolution<'a>,
) -> Result<EngineView<'a>, Unseen> {
    let Some(port) = spec.serving_port() else {
        return Err(Unseen {
            status: super::Status::Skip,
            reason: "the spec declares no operations.serving.port: no endpoint to ask".into(),
        });
    };
    if let Some(reason) = resolution.not_deployed() {
        return Err(Unseen {
            status: super::Status::Skip,
            reason: format!("not deployed on this node: {reason}"),
        });
    }
    let snapshot = endpoint_snapshot(observation)?;
    let process = resolution.process();
    let Some(endpoint) = endpoint_of(snapshot, port, process.map(|p| p.pid)) else {
        return Err(Unseen::unknown(match resolution.missing() {
            Some((_, reason)) => reason,
            None => format!("this observation did not ask port {port}"),
        }));
    };
    if let Some(error) = &endpoint.error {
        return Err(Unseen::unknown(error.clone()));
    }
    Ok(view_of(spec, observation, process, endpoint))
}

/// Whether a candidate's engine serves the spec's model: `None` when it cannot be told (no
/// answer, no model named).
pub(crate) fn serves_model(spec: &ModelSpec, observation: &Observation, candidate: &Candidate) -> Option<bool> {
    let port = spec.serving_port()?;
    let snapshot = endpoint_snapshot(observation).ok()?;
    let endpoint = snapshot
        .targets
        .iter()
        .find(|t| t.port == port && t.pid == Some(candidate.pid()))?;
    if endpoint.error.is_some() {
        return None;
    }
    let view = view_of(spec, observation, Some(&candidate.process), endpoint);
    let mut served: Vec<&str> = view
        .facts
        .served_model_ids
        .as_ref()
        .map(|f| f.value.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if let Some(root) = &view.facts.model_root {
        served.push(&root.value);
    }
    if served.is_empty() {
        return None;
    }
    Some(
        served
            .iter()
            .any(|s| super::identity::names_model(s, &spec.spec.identity.model.id)),
    )
}

fn view_of<'a>(
    spec: &'a ModelSpec,
    observation: &'a Observation,
    process: Option<&'a ServingProcess>,
    endpoint: &'a EndpointTarget,
) -> EngineView<'a> {
    endpoint_view(observation, process, endpoint, Some(&spec.spec.identity.model.id))
}

/// The engine behind an endpoint and its process, read from the observation; `model_hint`
/// picks the model among several an engine serves (the spec's id; `None` to draft a spec).
pub(crate) fn endpoint_view<'a>(
    observation: &'a Observation,
    process: Option<&'a ServingProcess>,
    endpoint: &'a EndpointTarget,
    model_hint: Option<&'a str>,
) -> EngineView<'a> {
    let environment = process.and_then(|p| p.environment.value());
    // The largest GPU of either vendor (vLLM sizes its default batch by it, on CUDA or ROCm).
    let nvidia = match &observation.gpu {
        ProbeOutcome::Observed { snapshot, .. } => match &snapshot.nvml {
            NvmlState::Available { devices, .. } => devices
                .iter()
                .filter_map(|d| d.memory.value().map(|m| m.total_mib))
                .max(),
            NvmlState::Unavailable { .. } => None,
        },
        _ => None,
    };
    let amd = match super::accelerator::amd_view(observation) {
        super::accelerator::AmdView::Devices(devices) => {
            devices.iter().filter_map(|d| d.vram.value().map(|v| v.total_mib)).max()
        }
        super::accelerator::AmdView::Unseen(_) => None,
    };
    let largest_gpu_mib = nvidia.max(amd);
    let inputs = Inputs {
        argv: process.and_then(|p| p.argv.value()).map(Vec::as_slice),
        env: environment.map_or(no_env(), |e| &e.values),
        env_names: environment.map(|e| e.names.as_slice()),
        answers: endpoint,
        largest_gpu_mib,
        model_hint,
        model_config: endpoint.model_config.as_ref(),
    };
    let mut view = EngineView::new(&inputs);
    view.http2 = endpoint.http2.as_ref();
    view.endpoint = Some(endpoint);
    view
}

/// No endpoint answers: what an engine read from its process alone sees.
struct NoAnswers;

impl Answers for NoAnswers {
    fn get(&self, _path: &str) -> Option<runtime::Answer<'_>> {
        None
    }
}

static NO_ANSWERS: NoAnswers = NoAnswers;

/// The engine as its process alone (command line, environment) tells it, for facts that need
/// no endpoint (parallelism) when the endpoint could not be asked; `None` when the command line
/// names no engine.
pub(crate) fn process_view(process: &ServingProcess) -> Option<EngineView<'_>> {
    let environment = process.environment.value();
    let view = EngineView::new(&Inputs {
        argv: Some(process.argv.value()?.as_slice()),
        env: environment.map_or(no_env(), |e| &e.values),
        env_names: environment.map(|e| e.names.as_slice()),
        answers: &NO_ANSWERS,
        largest_gpu_mib: None,
        model_hint: None,
        model_config: None,
    });
    view.detection.is_some().then_some(view)
}

/// A fixed set of answers for unit tests of the engine checks.
#[cfg(test)]
pub(crate) fn test_view<'a>(
    answers: &'a runtime::StaticAnswers,
    argv: &'a [String],
    env: &'a BTreeMap<String, String>,
) -> EngineView<'a> {
    EngineView::new(&Inputs {
        argv: Some(argv),
        env,
        env_names: None,
        answers,
        largest_gpu_mib: None,
        model_hint: None,
        model_config: None,
    })
}

/// An empty environment, for callers without one.
pub(crate) fn no_env() -> &'static BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    &EMPTY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Finding, Status, batch, governance, identity, observability, serving};
    use crate::runtime::StaticAnswers;
    use crate::spec::validate::typed_documents;
    use crate::spec::{Limits, Syntax};

    fn spec(extra: &str) -> ModelSpec {
        let text = format!(
            "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata: {{name: t}}
spec:
  identity:
    model: {{id: meta-llama/Llama-3.1-8B-Instruct, family: llama, task: chat, framework: FRAMEWORK, precision: bf16}}
  runtime:
    accelerator: {{vendor: nvidia, type: l4, count: 1}}
    batch: {{maxBatchSize: 16, maxSequenceLengthTokens: 4096}}
{extra}"
        );
        let text = text.replace("FRAMEWORK", if extra.contains("#tgi") { "tgi" } else { "vllm" });
        typed_documents(&text, Syntax::Yaml, &Limits::default())
            .into_iter()
            .next()
            .map(|(_, s)| s)
            .expect("a valid spec")
    }

    fn run(spec: &ModelSpec, view: &Result<EngineView, Unseen>) -> Vec<Finding> {
        let mut out = Vec::new();
        identity::check(spec, view, &mut out);
        batch::check(spec, view, &mut out);
        serving::check(spec, view, &mut out);
        observability::check(spec, view, &mut out);
        governance::check(spec, view, &mut out);
        out
    }

    fn status(findings: &[Finding], code: &str) -> Status {
        findings
            .iter()
            .find(|f| f.code == code)
            .map(|f| f.status)
            .unwrap_or_else(|| panic!("no {code} in {findings:#?}"))
    }

    fn line(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn vllm_answers() -> StaticAnswers {
        StaticAnswers::default()
            .json(
                "/v1/models",
                200,
                r#"{"data":[{"id":"llama","owned_by":"vllm","root":"/models/meta-llama/Llama-3.1-8B-Instruct","max_model_len":4096}]}"#,
            )
            .json("/version", 200, r#"{"version":"0.32.0"}"#)
            .json("/health", 200, "")
    }

    #[test]
    fn vllm_matching_and_mismatching() {
        let answers = vllm_answers();
        let env = BTreeMap::new();
        let argv = line("vllm serve /models/meta-llama/Llama-3.1-8B-Instruct --max-num-seqs 16 --dtype bfloat16");
        let ok = Ok(test_view(&answers, &argv, &env));
        let matching = spec("");
        let f = run(&matching, &ok);
        for code in [
            identity::MODEL_ID.code,
            identity::FRAMEWORK.code,
            identity::PRECISION.code,
            batch::MAX_BATCH_SIZE.code,
            batch::MAX_SEQUENCE_LENGTH.code,
        ] {
            assert_eq!(status(&f, code), Status::Pass, "{code}: {f:#?}");
        }
        let argv = line(
            "vllm serve /models/meta-llama/Llama-3.1-8B-Instruct --max-num-seqs 64 --dtype float16 --enable-log-requests",
        );
        let drifted = Ok(test_view(&answers, &argv, &env));
        let pii = spec("  governance: {compliance: {pii: {allowed: false}}}\n");
        let f = run(&pii, &drifted);
        assert_eq!(status(&f, identity::PRECISION.code), Status::Fail);
        assert_eq!(status(&f, batch::MAX_BATCH_SIZE.code), Status::Fail);
        assert_eq!(status(&f, governance::PII_REQUEST_LOGGING.code), Status::Fail);
        let f = run(&spec(""), &Err(Unseen::unknown("the endpoint probe did not run")));
        assert!(f.iter().all(|x| x.status == Status::Unknown), "{f:#?}");
    }

    /// TGI 3's `/info`: 128 concurrent requests, 8192 tokens in all, 4096 of input.
    const TGI_INFO: &str = r#"{"model_id":"meta-llama/Llama-3.1-8B-Instruct","max_total_tokens":8192,"max_input_tokens":4096,"max_concurrent_requests":128,"version":"3.0.1","router":"text-generation-router"}"#;

    #[test]
    fn tgi_limits_and_concurrency() {
        let answers = StaticAnswers::default().json("/info", 200, TGI_INFO);
        let env = BTreeMap::from([("MAX_BATCH_SIZE".to_string(), "8".to_string())]);
        let none: Vec<String> = Vec::new();
        let view = Ok(test_view(&answers, &none, &env));
        let s = spec("  operations: {serving: {port: 80, maxConcurrency: 64}} #tgi\n");
        let f = run(&s, &view);
        assert_eq!(status(&f, identity::FRAMEWORK.code), Status::Pass, "{f:#?}");
        assert_eq!(status(&f, identity::MODEL_ID.code), Status::Pass);
        assert_eq!(status(&f, batch::MAX_BATCH_SIZE.code), Status::Pass);
        // 8192 allowed, 4096 declared: longer than planned.
        assert_eq!(status(&f, batch::MAX_SEQUENCE_LENGTH.code), Status::Warn);
        assert_eq!(status(&f, serving::MAX_CONCURRENCY.code), Status::Fail);
    }

    /// Fewer admitted than declared refuses promised traffic (fail, with how many); more than
    /// declared leaves the cap unenforced (fail); equal passes.
    #[test]
    fn max_concurrency_holds_both_ways() {
        let answers = StaticAnswers::default().json("/info", 200, TGI_INFO);
        let env = BTreeMap::new();
        let none: Vec<String> = Vec::new();
        let view = Ok(test_view(&answers, &none, &env));
        let finding = |declared: u64| {
            let s = spec(&format!(
                "  operations: {{serving: {{port: 80, maxConcurrency: {declared}}}}} #tgi\n"
            ));
            run(&s, &view)
                .into_iter()
                .find(|f| f.code == serving::MAX_CONCURRENCY.code)
                .unwrap_or_else(|| panic!("no max-concurrency finding for {declared}"))
        };
        let under = finding(200);
        assert_eq!(under.status, Status::Fail, "{under:#?}");
        assert!(
            under.message.contains("72 of the 200") && under.message.contains("429"),
            "{}",
            under.message
        );
        let over = finding(64);
        assert_eq!(over.status, Status::Fail, "{over:#?}");
        assert!(over.message.contains("not enforced"), "{}", over.message);
        assert_eq!(finding(128).status, Status::Pass);
    }

    #[test]
    fn a_not_ready_triton_fails_its_probe_and_says_why() {
        let answers = StaticAnswers::default()
            .json("/v2", 200, r#"{"name":"triton","version":"2.50.0"}"#)
            .json("/v2/health/ready", 400, "");
        let env = BTreeMap::new();
        let none: Vec<String> = Vec::new();
        let view = Ok(test_view(&answers, &none, &env));
        let s = spec("  operations: {serving: {port: 8000, readinessProbe: {path: /v2/health/ready}}}\n");
        let f = run(&s, &view);
        let probe = f
            .iter()
            .find(|x| x.code == serving::READINESS.code)
            .expect("probe finding");
        assert_eq!(probe.status, Status::Fail);
        assert!(
            probe.message.contains("400") && probe.message.contains("not 503"),
            "{}",
            probe.message
        );
        assert_eq!(
            status(&f, identity::FRAMEWORK.code),
            Status::Fail,
            "triton serves, vllm declared"
        );
    }
}

/// Every engine fixture (`fixtures/engines/*/expected.json`), judged with a spec built from its
/// expected facts (every check passes) and with one where each value is off (every check fails).
#[cfg(test)]
mod per_engine {
    use super::*;
    use crate::check::{Status, batch, governance, identity, observability, serving};
    use crate::runtime::StaticAnswers;
    use crate::spec::validate::typed_documents;
    use crate::spec::{Limits, Syntax};
    use std::path::Path;

    struct Fixture {
        name: String,
        answers: StaticAnswers,
        argv: Vec<String>,
        env: BTreeMap<String, String>,
        expected: Json,
    }

    fn fixtures() -> Vec<Fixture> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engines");
        let mut out = Vec::new();
        let mut dirs: Vec<_> = std::fs::read_dir(&root)
            .expect("fixtures/engines")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("expected.json").is_file() && p.join("process.json").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let read = |f: &str| -> Json {
                serde_json::from_str(&std::fs::read_to_string(dir.join(f)).expect("read")).expect("JSON")
            };
            let process = read("process.json");
            out.push(Fixture {
                name: dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string(),
                answers: StaticAnswers::from_fixture_dir(&dir).expect("answers"),
                argv: process["argv"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                    .unwrap_or_default(),
                env: process["env"]
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default(),
                expected: read("expected.json"),
            });
        }
        out
    }

    /// The expected value of a fact, when the fixture determines one.
    fn want<'a>(f: &'a Fixture, fact: &str) -> Option<&'a Json> {
        let v = &f.expected["facts"][fact]["value"];
        (!v.is_null()).then_some(v)
    }

    fn spec_of(f: &Fixture, drift: bool) -> (String, Vec<&'static str>) {
        let engine = f.expected["engine"].as_str().unwrap_or("vllm");
        let mut judged = vec![identity::FRAMEWORK.code];
        let id = want(f, "served_model_ids")
            .and_then(|v| v[0].as_str())
            .or_else(|| want(f, "model_root").and_then(Json::as_str));
        if id.is_some() {
            judged.push(identity::MODEL_ID.code);
        }
        let id = if drift { Some("someone/else-entirely") } else { id };
        let framework = match (drift, engine) {
            (false, e) => e,
            (true, "ollama") => "vllm",
            (true, _) => "ollama",
        };
        let mut batch = Vec::new();
        if let Some(n) = want(f, "max_batch_size").and_then(Json::as_u64) {
            batch.push(format!(
                "maxBatchSize: {}",
                if drift { n.saturating_sub(1).max(1) } else { n }
            ));
            if !drift || n > 1 {
                judged.push(batch::MAX_BATCH_SIZE.code);
            }
        }
        if let Some(n) = want(f, "max_sequence_length").and_then(Json::as_u64) {
            batch.push(format!("maxSequenceLengthTokens: {}", if drift { n + 1 } else { n }));
            judged.push(batch::MAX_SEQUENCE_LENGTH.code);
        }
        let precision = match want(f, "dtype").and_then(Json::as_str) {
            Some(d @ ("bf16" | "fp16" | "fp32")) if want(f, "quantization").is_none() => {
                judged.push(identity::PRECISION.code);
                format!(
                    ", precision: {}",
                    if drift {
                        if d == "fp32" { "fp16" } else { "fp32" }
                    } else {
                        d
                    }
                )
            }
            _ => String::new(),
        };
        let mut serving = vec![String::from("port: 8000")];
        if let Some(n) = want(f, "max_concurrency").and_then(Json::as_u64).filter(|n| *n > 1) {
            serving.push(format!("maxConcurrency: {}", if drift { n - 1 } else { n }));
            judged.push(serving::MAX_CONCURRENCY.code);
        }
        if let Some(n) = want(f, "request_timeout_seconds").and_then(Json::as_u64) {
            serving.push(format!("timeoutSeconds: {}", if drift { n + 1 } else { n }));
            judged.push(serving::TIMEOUT.code);
        }
        let mut telemetry = Vec::new();
        if let Some(level) = want(f, "log_level").and_then(Json::as_str) {
            telemetry.push(format!(
                "logging: {{level: {}}}",
                if drift { "critical" } else { level }
            ));
            judged.push(observability::LOG_LEVEL.code);
        }
        // With the engine's own tracing endpoint known (or known absent), tracing is judged.
        if f.expected["facts"].get("tracing_endpoint").is_some() {
            let on = want(f, "tracing_endpoint").is_some();
            telemetry.push(format!("tracing: {{enabled: {}}}", on != drift));
            // Declared on but off fails; declared off but on only warns.
            if !(drift && on) {
                judged.push(observability::TRACING.code);
            }
        }
        let observability = if telemetry.is_empty() {
            String::new()
        } else {
            format!("\n    observability: {{{}}}", telemetry.join(", "))
        };
        // A contract without PII against an engine that logs requests, and the reverse.
        let mut governance = String::new();
        if let Some(logs) = want(f, "request_logging").and_then(Json::as_bool)
            && logs == drift
        {
            governance = "\n  governance: {compliance: {pii: {allowed: false}}}".into();
            judged.push(governance::PII_REQUEST_LOGGING.code);
        }
        let text = format!(
            "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata: {{name: t}}
spec:
  identity:
    model: {{id: \"{}\", family: f, task: t, framework: {framework}{precision}}}
  runtime:
    accelerator: {{vendor: nvidia, type: l4, count: 1}}
    batch: {{{}}}
  operations:
    serving: {{{}}}{observability}{governance}
",
            id.unwrap_or("unknown/model"),
            batch.join(", "),
            serving.join(", ")
        );
        (text, judged)
    }

    #[test]
    fn every_engine_passes_a_matching_spec_and_fails_a_drifting_one() {
        let fixtures = fixtures();
        assert!(fixtures.len() >= 14, "{} fixtures", fixtures.len());
        let mut problems = Vec::new();
        let mut judgements = 0;
        for f in &fixtures {
            let hint = want(f, "served_model_ids").and_then(|v| v[0].as_str());
            let view = EngineView::new(&Inputs {
                argv: Some(&f.argv),
                env: &f.env,
                env_names: None,
                answers: &f.answers,
                largest_gpu_mib: None,
                model_hint: hint,
                model_config: None,
            });
            let view = Ok(view);
            for drift in [false, true] {
                let (text, judged) = spec_of(f, drift);
                let Some((_, spec)) = typed_documents(&text, Syntax::Yaml, &Limits::default())
                    .into_iter()
                    .next()
                else {
                    panic!("{}: generated spec does not load:\n{text}", f.name);
                };
                let mut findings = Vec::new();
                identity::check(&spec, &view, &mut findings);
                batch::check(&spec, &view, &mut findings);
                serving::check(&spec, &view, &mut findings);
                observability::check(&spec, &view, &mut findings);
                governance::check(&spec, &view, &mut findings);
                let want_status = if drift { Status::Fail } else { Status::Pass };
                for code in judged {
                    judgements += 1;
                    let got = findings.iter().find(|x| x.code == code);
                    if got.map(|x| x.status) != Some(want_status) {
                        problems.push(format!(
                            "{} ({}): {code} is {:?}, expected {want_status:?}: {}\n{text}",
                            f.name,
                            if drift { "drifting" } else { "matching" },
                            got.map(|x| x.status),
                            got.map(|x| x.message.as_str()).unwrap_or("no finding")
                        ));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // Each fixture judges several of its facts both ways.
        assert!(judgements >= 120, "only {judgements} judgements");
    }
}
