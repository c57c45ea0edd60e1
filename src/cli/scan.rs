//! `modelspec scan`: validate the spec, observe the node (or replay a saved observation),
//! compare, report, and compute the exit code once from the report.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use modelspec_probe_gpu::{GpuProbeOptions, format_rfc3339_utc};
use modelspec_probe_host::{HostProbeOptions, ServerQuery};

use super::output::write_atomically;
use super::progress::{self, Spinner};
use super::style::Style;
use super::validate::{Summary as ValidateSummary, human};
use super::{ColorChoice, exit};
use crate::check::{self, target};
use crate::observe::endpoint::{EndpointPlan, TargetPlan};
use crate::observe::prometheus::{PrometheusPlan, Query, queries_for};
use crate::observe::window::WindowPlan;
use crate::observe::{Observation, Plan, collect};
use crate::report::derive::{
    HostIdentity, Judged, Provenance, WaiverReport, day_of, derive, observation_sha256, redacted_command_line,
};
use crate::report::sarif::{Region, Regions};
use crate::digest::sha256_hex;
use crate::report::{self, FailOn, Report, SpecInfo};
use crate::runtime::{EngineId, triton};
use crate::spec::discover::discover;
use crate::spec::model::Protocol;
use crate::spec::node::{Node, Value as NodeValue, push_pointer};
use crate::spec::validate::{Input, Options, syntax_for, typed_documents, validate_inputs};
use crate::spec::{Limits, ModelSpec, Syntax, yaml};
use crate::waivers::WaiverState;

/// The demo's spec and recorded observation, compiled in so `scan --demo` runs anywhere.
pub(super) const DEMO_SPEC: &str = include_str!("../../fixtures/demo/demo.modelspec.yaml");
const DEMO_OBSERVATION: &str = include_str!("../../fixtures/demo/observation.json");

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Findings grouped by domain, for people.
    Table,
    /// The report as JSON (`schema/report.v1.json`).
    Json,
    /// Prometheus text format for node_exporter's textfile collector.
    Prom,
    /// JUnit XML for CI test reports: a test suite per domain, a test case per finding.
    Junit,
    /// A Markdown audit report: identity, summary, findings, what to attest by hand, hashes.
    Markdown,
    /// A self-contained HTML audit report, as the Markdown one, with charts drawn in inline SVG.
    Html,
    /// SARIF 2.1.0 for code-scanning views: fail, warn and unknown located in the spec file.
    Sarif,
}

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// Spec files.
    pub specs: Vec<PathBuf>,
    /// Scan the embedded demo node instead.
    pub demo: bool,
    /// Replay this observation instead of probing.
    pub facts: Option<PathBuf>,
    /// NVML library.
    pub nvml_lib: Option<PathBuf>,
    /// Probe deadline.
    pub timeout: Duration,
    /// Output format.
    pub format: ReportFormat,
    /// Leave the observation out of the JSON report.
    pub no_facts: bool,
    /// The lowest status that fails the scan.
    pub fail_on: FailOn,
    /// Colors.
    pub color: ColorChoice,
    /// Files to write (atomically): a format and a path, or a path for `format`, which then
    /// replaces standard output.
    pub outputs: Vec<OutputTarget>,
    /// Drift accepted for a time.
    pub waivers: Option<PathBuf>,
    /// No warnings on standard error.
    pub quiet: bool,
    /// `-v` count (no spinner while logging).
    pub verbose: u8,
    /// The command line, for the report's provenance (redacted there).
    pub command_line: Vec<String>,
    /// List skipped findings (table, prom).
    pub show_skipped: bool,
    /// The serving process, when the port does not lead to it.
    pub pid: Option<u32>,
    /// The workload a spec means, when several serve its port.
    pub workload: Option<crate::check::target::Selector>,
    /// A spec not deployed on the node fails the scan.
    pub require_deployed: bool,
    /// The filesystem to measure for `ephemeralStorageGb`.
    pub storage_path: Option<PathBuf>,
    /// How to reach the serving endpoints.
    pub connect: super::connect::ConnectArgs,
    /// A Prometheus server to query.
    pub prometheus: Option<PrometheusArgs>,
    /// Scrape metrics here instead of the engine's endpoint.
    pub metrics_url: Option<String>,
    /// The price of one GPU hour, USD.
    pub gpu_hourly_usd: Option<f64>,
    /// Measure the metrics over a window, sampling gauges at an interval.
    pub window: Option<(std::time::Duration, std::time::Duration)>,
    /// `--skip CODE`: checks left out of the report.
    pub skip: Vec<String>,
    /// `--only CODE`: when not empty, the only checks the report keeps.
    pub only: Vec<String>,
}

/// One `-o [FORMAT=]PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget {
    /// The format; `None` means `--format`'s, written here instead of standard output.
    pub format: Option<ReportFormat>,
    /// Where.
    pub path: PathBuf,
}

impl std::str::FromStr for OutputTarget {
    type Err = String;

    /// `json=/var/lib/modelspec/last.json`, or a bare path. A `NAME=` prefix that names no
    /// format is an error rather than part of a file name: `-o jsno=x` is a typo far more
    /// often than a file called `jsno=x`.
    fn from_str(s: &str) -> Result<Self, String> {
        use clap::ValueEnum;
        let Some((name, path)) = s.split_once('=') else {
            return match s.is_empty() {
                true => Err("empty path; use -o FORMAT=PATH or -o PATH".into()),
                false => Ok(OutputTarget {
                    format: None,
                    path: PathBuf::from(s),
                }),
            };
        };
        let names = || {
            ReportFormat::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                .collect::<Vec<_>>()
        };
        let format = ReportFormat::from_str(name, true)
            .map_err(|_| format!("{name:?} is not a report format; use one of {}", names().join(", ")))?;
        if path.is_empty() {
            return Err(format!("-o {name}= needs a path after the ="));
        }
        Ok(OutputTarget {
            format: Some(format),
            path: PathBuf::from(path),
        })
    }
}

/// `--prometheus URL --range R --selector S`.
#[derive(Debug, Clone)]
pub struct PrometheusArgs {
    pub url: String,
    pub range: String,
    pub selector: String,
}

/// The PromQL queries for the specs' engines (their declared framework; every engine when a
/// spec names none modelspec knows).
fn prometheus_plan(req: &Request, p: &PrometheusArgs, specs: &[LoadedSpec]) -> Result<PrometheusPlan, String> {
    let range = p.range.trim();
    if range.is_empty() || !range.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "--range {range:?} is not a Prometheus duration (e.g. 1h, 30m, 90s)"
        ));
    }
    let selector = p.selector.trim();
    let braced = selector.starts_with('{') && selector.ends_with('}');
    if !selector.is_empty() && !braced {
        return Err(format!(
            "--selector {selector:?} must be label matchers in braces, e.g. '{{namespace=\"prod\"}}'"
        ));
    }
    let mut engines: Vec<EngineId> = Vec::new();
    for s in specs {
        match EngineId::from_framework(&s.spec.spec.identity.model.framework) {
            Some(e) => engines.push(e),
            None => engines.extend(EngineId::ALL),
        }
    }
    engines.sort();
    engines.dedup();
    let mut queries: Vec<Query> = Vec::new();
    for engine in engines {
        let names = check::metrics::engine_metrics(engine);
        for q in queries_for(
            names.latency_histogram.first().copied(),
            names.running.first().map(|r| (*r, names.running_filter)),
            // One engine's counters: the first pair of names (renames follow it in the list).
            names.token_counters.get(..2).unwrap_or_default(),
            selector,
            range,
        ) {
            if !queries.contains(&q) {
                queries.push(q);
            }
        }
    }
    Ok(PrometheusPlan {
        url: p.url.clone(),
        range: range.to_string(),
        selector: selector.to_string(),
        queries,
        client: req.connect.client_options(req.timeout)?,
    })
}

/// A spec document ready to be judged.
struct LoadedSpec {
    info: SpecInfo,
    spec: ModelSpec,
    /// Where each pointer's value starts in the file, for `--format sarif`.
    regions: Regions,
}

fn loaded(path: &str, text: &str, syntax: Syntax, sha256: String) -> Vec<LoadedSpec> {
    let mut regions = spec_regions(text, syntax);
    typed_documents(text, syntax, &Limits::default())
        .into_iter()
        .map(|(document, spec)| LoadedSpec {
            regions: document
                .checked_sub(1)
                .and_then(|i| regions.get_mut(i))
                .map(std::mem::take)
                .unwrap_or_default(),
            info: SpecInfo {
                path: path.to_string(),
                sha256: sha256.clone(),
                document,
                name: spec.metadata.name.clone(),
                version: spec.metadata.version.clone(),
                labels: spec.metadata.labels.clone(),
            },
            spec,
        })
        .collect()
}

/// Where each JSON pointer of each document of a spec file starts, as SARIF wants it: the
/// renderer gets these rather than reading files itself. The text loads a second time (besides
/// `typed_documents`); spec files are small. A collection is located by the key that holds it,
/// as validation diagnostics are ([`Node::anchor`]).
fn spec_regions(text: &str, syntax: Syntax) -> Vec<Regions> {
    fn walk(node: &Node, owner_key: Option<&Node>, pointer: &mut String, out: &mut Regions) {
        let start = node.anchor(owner_key).start;
        out.insert(
            pointer.clone(),
            Region {
                start_line: start.line,
                start_column: start.column,
            },
        );
        let len = pointer.len();
        match &node.value {
            NodeValue::Map(entries) => {
                for e in entries {
                    push_pointer(pointer, &e.key.key_token());
                    walk(&e.value, Some(&e.key), pointer, out);
                    pointer.truncate(len);
                }
            }
            NodeValue::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    push_pointer(pointer, &i.to_string());
                    walk(item, None, pointer, out);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }
    yaml::load(text, syntax, &Limits::default())
        .iter()
        .map(|doc| {
            let mut out = Regions::new();
            if let Ok(root) = doc {
                walk(root, None, &mut String::new(), &mut out);
            }
            out
        })
        .collect()
}

/// Validates the named specs; on any error prints the diagnostics and returns `Err(exit code)`.
fn load_specs(req: &Request) -> Result<Vec<LoadedSpec>, i32> {
    if req.demo {
        return Ok(loaded(
            "<demo>",
            DEMO_SPEC,
            Syntax::Yaml,
            sha256_hex(DEMO_SPEC.as_bytes()),
        ));
    }
    // A folder stands for the spec files in it, as for `validate`.
    let found = discover(&req.specs);
    let (inputs, missing) = (found.inputs, found.missing);
    if !req.quiet {
        for s in &found.skipped {
            eprintln!("skipped {}: {}", s.path.display(), s.reason);
        }
    }
    if let Some(error) = missing.first() {
        eprintln!("error: {}: {}", error.path.display(), error.message);
        return Err(exit::ERROR);
    }
    let mut files = Vec::new();
    for input in &inputs {
        match input {
            Input::File(path) => files.push(path.clone()),
            Input::Stdin => {
                eprintln!("error: scan reads spec files; `-` (standard input) is for `modelspec validate`");
                return Err(exit::ERROR);
            }
        }
    }
    if files.is_empty() {
        eprintln!("error: no spec files (*.yaml, *.yml, *.json) under the named folder(s)");
        return Err(exit::ERROR);
    }
    let reports = validate_inputs(&inputs, &Options::default());
    if reports.iter().any(|r| !r.is_valid(false)) {
        let summary = ValidateSummary::of(&reports, false);
        let _ = human::render(
            &mut std::io::stderr().lock(),
            &reports,
            &[],
            &summary,
            false,
            Style::new(ColorChoice::Never),
        );
        eprintln!("error: the spec is invalid; fix it (see `modelspec validate`) before scanning");
        return Err(exit::ERROR);
    }
    let mut specs = Vec::new();
    for path in &files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return Err(exit::ERROR);
            }
        };
        // Validation passed, so the text is UTF-8; the hash is of the file as it is on disk.
        let sha256 = sha256_hex(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_start_matches('\u{feff}');
        specs.extend(loaded(&path.display().to_string(), text, syntax_for(path), sha256));
    }
    Ok(specs)
}

/// What the host probe should look for: one serving process per distinct serving port (or the
/// `--pid` process), with the environment variables the specs served there declare, and the
/// filesystems holding the models.
fn host_plan(req: &Request, specs: &[LoadedSpec]) -> HostProbeOptions {
    let mut servers: Vec<ServerQuery> = Vec::new();
    for s in specs {
        let port = target::serving_port(&s.spec);
        let declared = s
            .spec
            .spec
            .runtime
            .environment
            .as_ref()
            .map(|e| e.variables.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        match servers.iter_mut().find(|q| q.port == port) {
            Some(query) => query.declared_env.extend(declared),
            None => servers.push(ServerQuery {
                port,
                pid: req.pid,
                declared_env: declared,
            }),
        }
    }
    for query in &mut servers {
        query.declared_env.sort();
        query.declared_env.dedup();
    }
    // Without a port or a pid there is nothing to look for; the checks say so.
    servers.retain(|q| q.port.is_some() || q.pid.is_some());
    let mut storage_paths: Vec<PathBuf> = match &req.storage_path {
        Some(path) => vec![path.clone()],
        None => specs
            .iter()
            .filter_map(|s| target::local_model_path(&s.spec).map(PathBuf::from))
            .collect(),
    };
    storage_paths.dedup();
    HostProbeOptions { servers, storage_paths }
}

/// What to ask over HTTP: each distinct serving port once, with the probe paths of the specs
/// served there, Triton's configuration of each spec's model, and an HTTP/2 check for gRPC.
fn endpoint_plan(req: &Request, specs: &[LoadedSpec]) -> Result<EndpointPlan, String> {
    let client = req.connect.client_options(req.timeout)?;
    let mut targets: Vec<TargetPlan> = Vec::new();
    for s in specs {
        let Some(port) = target::serving_port(&s.spec) else {
            continue;
        };
        let serving = s.spec.spec.operations.as_ref().and_then(|o| o.serving.as_ref());
        let probes = serving
            .into_iter()
            .flat_map(|sv| [&sv.readiness_probe, &sv.liveness_probe])
            .flatten()
            .filter_map(|p| p.path.clone());
        let model_config = triton::config_path(triton::model_name(&s.spec.spec.identity.model.id));
        let grpc = serving.and_then(|sv| sv.protocol) == Some(Protocol::Grpc);
        let index = match targets.iter().position(|t| t.port == port) {
            Some(i) => i,
            None => {
                targets.push(TargetPlan {
                    port,
                    endpoint: req.connect.endpoint.clone(),
                    model_dir: target::local_model_path(&s.spec),
                    ..TargetPlan::default()
                });
                targets.len() - 1
            }
        };
        if let Some(t) = targets.get_mut(index) {
            t.extra_paths.extend(probes);
            t.extra_paths.push(model_config);
            t.grpc |= grpc;
        }
    }
    if req.connect.endpoint.is_some() && targets.len() > 1 {
        return Err(
            "--endpoint replaces the address of one serving port, but the specs name several; scan them one at a time"
                .into(),
        );
    }
    Ok(EndpointPlan {
        host: req.connect.host.clone(),
        targets,
        client,
        window: req.window.map(|(duration, interval)| WindowPlan {
            duration,
            interval,
            progress: progress::allowed(req.quiet, req.verbose),
        }),
        metrics_url: req.metrics_url.clone(),
    })
}

fn observation(req: &Request, specs: &[LoadedSpec]) -> Result<Observation, i32> {
    if req.demo {
        return Observation::from_json(DEMO_OBSERVATION, "<demo>").map_err(|e| {
            eprintln!("error: internal: the embedded demo observation does not load: {e}");
            exit::ERROR
        });
    }
    if let Some(path) = &req.facts {
        return Observation::read_file(path).map_err(|e| {
            eprintln!("error: {e}");
            exit::ERROR
        });
    }
    let endpoint = endpoint_plan(req, specs).map_err(|e| {
        eprintln!("error: {e}");
        exit::ERROR
    })?;
    let prometheus = match &req.prometheus {
        Some(p) => Some(prometheus_plan(req, p, specs).map_err(|e| {
            eprintln!("error: {e}");
            exit::ERROR
        })?),
        None => None,
    };
    Ok(collect(&Plan {
        gpu: Some(GpuProbeOptions {
            library: req.nvml_lib.clone(),
        }),
        host: Some(host_plan(req, specs)),
        endpoint: Some(endpoint),
        prometheus,
        // The window is measured, not waited out: the deadline covers it plus the usual budget.
        timeout: req.timeout + req.window.map_or(std::time::Duration::ZERO, |(w, _)| w),
    }))
}

/// Renders `report` in `format`; colors only where asked (a terminal).
fn render(
    format: ReportFormat,
    report: &Report,
    regions: &[Regions],
    req: &Request,
    color: bool,
) -> std::io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    // Width apart from colour: the terminal's, else `COLUMNS`, else 80 (a pipe, a file).
    let width = Some(Style::width(report::table::DEFAULT_WIDTH));
    match format {
        ReportFormat::Json => report::json::render(&mut buffer, report),
        ReportFormat::Table => report::table::render(
            &mut buffer,
            report,
            report::table::TableOptions {
                color,
                width,
                show_skipped: req.show_skipped,
            },
        ),
        ReportFormat::Prom => report::prom::render(
            &mut buffer,
            report,
            report::prom::PromOptions {
                show_skipped: req.show_skipped,
            },
        ),
        ReportFormat::Junit => report::junit::render(
            &mut buffer,
            report,
            report::junit::JunitOptions { fail_on: req.fail_on },
        ),
        ReportFormat::Markdown => report::markdown::render(&mut buffer, report),
        ReportFormat::Html => report::html::render(&mut buffer, report),
        // Sections are built from the specs in order, so the regions line up with them.
        ReportFormat::Sarif => report::sarif::render(&mut buffer, report, regions),
    }?;
    Ok(buffer)
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> i32 {
    let started_at = format_rfc3339_utc(SystemTime::now());
    if !req.demo && req.specs.is_empty() {
        eprintln!("error: name a spec to scan (or try `modelspec scan --demo`)");
        return exit::ERROR;
    }
    let specs = match load_specs(req) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if req.workload.is_some() && specs.len() > 1 {
        eprintln!(
            "error: --workload names one workload, but {} spec documents were given; scan them one at a time, or \
             name each spec's workload in its {} annotation",
            specs.len(),
            check::target::WORKLOAD_ANNOTATION
        );
        return exit::ERROR;
    }
    if req.pid.is_some() && specs.len() > 1 {
        eprintln!(
            "error: --pid names one serving process, but {} spec documents were given; scan them one at a time, \
             or drop --pid so each is found by its operations.serving.port",
            specs.len()
        );
        return exit::ERROR;
    }
    let waiver_file = match &req.waivers {
        Some(path) => match crate::waivers::load(path) {
            Ok(file) => Some(file),
            Err(file_report) => {
                let summary = ValidateSummary::of(std::slice::from_ref(&file_report), false);
                let _ = human::render(
                    &mut std::io::stderr().lock(),
                    std::slice::from_ref(&file_report),
                    &[],
                    &summary,
                    false,
                    Style::new(ColorChoice::Never),
                );
                eprintln!("error: the waiver file is invalid; fix it before scanning");
                return exit::ERROR;
            }
        },
        None => None,
    };
    let clock = std::time::Instant::now();
    // The window draws its own progress bar; a replay has nothing to wait for.
    let live = !req.demo && req.facts.is_none() && req.window.is_none();
    let spinner = Spinner::start("probing the node", live && progress::allowed(req.quiet, req.verbose));
    let observation = observation(req, &specs);
    spinner.finish();
    let observation = match observation {
        Ok(o) => o,
        Err(code) => return code,
    };
    tracing::info!(specs = specs.len(), "judging");
    let finished_at = format_rfc3339_utc(SystemTime::now());
    let inputs = check::Inputs {
        gpu_hourly_usd: req.gpu_hourly_usd,
        workload: req.workload.clone(),
        require_deployed: req.require_deployed,
        skip: req.skip.clone(),
        only: req.only.clone(),
    };
    let judged: Vec<Judged> = specs
        .iter()
        .map(|s| Judged {
            info: s.info.clone(),
            spec: &s.spec,
        })
        .collect();
    let waivers = waiver_file.as_ref().map_or(&[][..], |w| w.waivers.as_slice());
    let derived = derive(&judged, &observation, &inputs, waivers, day_of(&started_at));
    let observation_json = match serde_json::to_value(&observation) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: internal: the observation does not serialize: {e}");
            return exit::ERROR;
        }
    };
    // Counted before the observation may be left out of the report (`--no-facts`).
    let unanswered = observation.unanswered();
    let mut report = Report::new(
        observation.meta.hostname.clone(),
        started_at,
        finished_at,
        derived.sections,
        derived.node,
        (!req.no_facts).then_some(observation),
    );
    report.unanswered_probes = unanswered;
    report.provenance = Some(Provenance {
        git_commit: option_env!("MODELSPEC_GIT_COMMIT")
            .filter(|c| !c.is_empty())
            .map(String::from),
        // The machine that ran the scan, read here: derivation reads nothing of the host.
        scanned_by: HostIdentity {
            hostname: crate::observe::hostname(),
            machine_id: crate::observe::machine_id(),
        },
        duration_seconds: clock.elapsed().as_secs_f64(),
        command_line: redacted_command_line(&req.command_line),
        observation_sha256: observation_sha256(&observation_json),
        inputs,
    });
    report.waivers = waiver_file.map(|file| WaiverReport {
        path: file.path,
        sha256: file.sha256,
        outcomes: derived.waivers,
    });
    if !req.quiet {
        for o in report.waivers.iter().flat_map(|w| &w.outcomes) {
            match o.state {
                WaiverState::Expired => eprintln!(
                    "warning: the waiver for {} at {} expired on {}; its finding counts again",
                    o.waiver.code, o.waiver.pointer, o.waiver.expires
                ),
                WaiverState::Unused => eprintln!(
                    "warning: the waiver for {} at {} matched no drift; remove it if the drift is gone",
                    o.waiver.code, o.waiver.pointer
                ),
                WaiverState::Applied => {}
            }
        }
    }

    // Files first, each whole or not at all; then standard output.
    let regions: Vec<Regions> = specs.iter().map(|s| s.regions.clone()).collect();
    let to_stdout = !req.outputs.iter().any(|o| o.format.is_none());
    for target in &req.outputs {
        let format = target.format.unwrap_or(req.format);
        let bytes = match render(format, &report, &regions, req, false) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: internal: cannot render the {format:?} report: {e}");
                return exit::ERROR;
            }
        };
        if let Err(e) = write_atomically(&target.path, &bytes) {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
        tracing::info!(path = %target.path.display(), format = ?format, bytes = bytes.len(), "report written");
    }
    if to_stdout {
        let color = Style::new(req.color).enabled();
        let buffer = match render(req.format, &report, &regions, req, color) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: internal: cannot render the report: {e}");
                return exit::ERROR;
            }
        };
        if let Err(e) = super::output::write_stdout(&buffer) {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    }
    let code = report.exit_code(req.fail_on);
    if req.demo {
        // The demo shows drift on purpose; running it is not a failure.
        eprintln!("(demo: a real scan of this node would exit with code {code})");
        return exit::OK;
    }
    code
}
