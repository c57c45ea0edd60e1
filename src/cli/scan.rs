//! `modelspec scan`: validate the spec, observe the node (or replay a saved observation),
//! compare, report, and compute the exit code once from the report.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use modelspec_probe_gpu::{XidWatch, format_rfc3339_utc};

use super::connect::ConnectArgs;
use super::error::CliError;
use super::output::write_atomically;
use super::progress::{self, Spinner};
use super::style::Style;
use super::{ColorChoice, exit, parse_check_code, parse_duration, parse_selector};
use crate::check::{self, target, target::Selector};
use crate::digest::sha256_hex;
use crate::observe::plan::{self, PlanOptions, PrometheusOptions};
use crate::observe::window::WindowPlan;
use crate::observe::{Observation, collect};
use crate::report::derive::{
    HostIdentity, Judged, Provenance, WaiverReport, day_of, derive, observation_sha256, redacted_command_line,
};
use crate::report::{self, FailOn, Report, SpecInfo};
use crate::signature::SigningKey;
use crate::spec::discover::discover;
use crate::spec::regions::Regions;
use crate::spec::validate::{Input, Options, located_documents, syntax_for, validate_inputs};
use crate::spec::{Limits, ModelSpec, Syntax};
use crate::waivers::{WaiverFile, WaiverState};

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
    /// CTRF JSON (Common Test Report Format) for CI dashboards: a test per finding.
    Ctrf,
}

/// The scan's arguments as clap reads them. [`Request::from_args`] turns them into the
/// [`Request`] the command runs, once; nothing else reads them.
#[derive(Debug, clap::Args)]
pub(super) struct ScanArgs {
    /// ModelSpec files (or folders of them) to check the node against; several make one report
    /// with a section per spec.
    #[arg(value_name = "SPEC", required_unless_present = "demo", conflicts_with = "demo")]
    specs: Vec<PathBuf>,
    /// Scan a recorded demo node with its spec (compiled in; needs no GPU).
    #[arg(long)]
    demo: bool,
    /// Replay a saved observation (`modelspec facts -o FILE`) instead of probing.
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    facts: Option<PathBuf>,
    /// The NVML library to load (else $MODELSPEC_NVML_LIB, else libnvidia-ml.so.1).
    #[arg(long, value_name = "PATH")]
    nvml_lib: Option<PathBuf>,
    /// The AMD SMI library to load (else $MODELSPEC_AMDSMI_LIB, else libamd_smi.so, which
    /// ROCm's loader path covers).
    #[arg(long, value_name = "PATH")]
    amdsmi_lib: Option<PathBuf>,
    /// Deadline for all probes together (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Leave the observation out of the JSON report.
    #[arg(long)]
    no_facts: bool,
    /// The lowest status that makes the scan fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailOnArg::Fail)]
    fail_on: FailOnArg,
    /// When to use colors in the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Also write a report file, atomically: FORMAT=PATH (repeatable, e.g. -o json=last.json
    /// -o prom=/var/lib/node_exporter/textfile/modelspec.prom); a bare PATH takes --format's
    /// report instead of standard output.
    #[arg(short, long = "output", value_name = "[FORMAT=]PATH")]
    output: Vec<OutputTarget>,
    /// Sign each -o file with this OpenSSH private key (mode 600, no passphrase): a detached
    /// SSH signature, FILE.sig, that `verify --key` and `ssh-keygen -Y verify -n modelspec` check.
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
    /// Drift accepted for a time: a YAML file of waivers (code, pointer, reason, owner, expires).
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// List skipped findings too (table, prom).
    #[arg(long)]
    show_skipped: bool,
    /// Leave this check out of the report (repeatable; a code from `modelspec codes`). Recorded
    /// in the report, so `verify` derives the same findings. Waivers are for accepted drift.
    #[arg(long, value_name = "CODE", value_parser = parse_check_code)]
    skip: Vec<String>,
    /// Keep only this check in the report (repeatable; a code from `modelspec codes`).
    #[arg(long, value_name = "CODE", value_parser = parse_check_code)]
    only: Vec<String>,
    /// The serving process's pid (else it is found by the spec's serving port).
    #[arg(long, value_name = "PID", conflicts_with = "workload")]
    pid: Option<u32>,
    /// The workload the spec means when several serve its port: pid:PID, container:NAME-OR-ID
    /// (an id prefix or a name), or NAMESPACE/POD[/CONTAINER] (`*` matches any run of
    /// characters); else the spec's modelspec.piqc.ai/workload annotation, the port and the
    /// served model id, or the port alone.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_selector)]
    workload: Option<Selector>,
    /// A spec whose workload does not run on this node fails the scan (else it is a note and
    /// its checks are skipped): for a node that must run every scanned model.
    #[arg(long)]
    require_deployed: bool,
    /// The filesystem to measure for ephemeralStorageGb (else a local modelUri, if any).
    #[arg(long, value_name = "PATH")]
    storage_path: Option<PathBuf>,
    /// The node's name as the fleet knows it, recorded in the report (else the hostname; in a
    /// pod, pass Kubernetes' spec.nodeName: the pod's hostname is the pod's name).
    #[arg(long, value_name = "NAME", value_parser = parse_node_name)]
    node: Option<String>,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    cloud: super::connect::CloudArgs,
    /// Also read latency, request rate and peak batch from this Prometheus server (PromQL).
    #[arg(long, value_name = "URL")]
    prometheus: Option<String>,
    /// The time range of the Prometheus queries (e.g. 1h, 30m).
    #[arg(long, value_name = "RANGE", default_value = "1h", requires = "prometheus")]
    range: String,
    /// Label matchers for every Prometheus query, e.g. '{namespace="prod",pod=~"llama-.*"}'.
    #[arg(long, value_name = "MATCHERS", default_value = "", requires = "prometheus")]
    selector: String,
    /// Measure the engine's metrics over a window (e.g. 30s): rates, windowed p95, peak batch.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    window: Option<Duration>,
    /// Scrape metrics from this URL instead of the engine's own endpoint.
    #[arg(long, value_name = "URL")]
    metrics_url: Option<String>,
    /// Price of one GPU hour in USD, for the cost per 1k tokens (with --window or --prometheus).
    #[arg(long, value_name = "USD")]
    gpu_hourly_usd: Option<f64>,
    /// How often gauges (running requests) are sampled during the window.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, requires = "window")]
    sample_interval: Duration,
}

/// A node name: what a Kubernetes node or a host may be called (letters, digits, `.`, `-`,
/// `_`, up to 253 characters), so that it can be a file name (`nodes/<node>.json`) and a label.
fn parse_node_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && !text.starts_with('.')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a node name: use letters, digits, '.', '-' and '_' (up to 253, not starting with '.')"
        ))
    }
}

/// `--fail-on` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOnArg {
    /// Only drift fails.
    Fail,
    /// Drift or warnings fail.
    Warn,
    /// Drift, warnings or anything not observed fail.
    Unknown,
}

/// The scan to run: the arguments parsed once into what the command needs, with what follows
/// from them settled here (a `pid:` selector is `--pid`, the sample interval has a floor, the
/// Prometheus flags go together), as ripgrep turns its low-level arguments into `HiArgs`.
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
    /// AMD SMI library.
    pub amdsmi_lib: Option<PathBuf>,
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
    /// Sign each output file with this key (`FILE.sig` beside it).
    pub sign_key: Option<PathBuf>,
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
    pub workload: Option<Selector>,
    /// A spec not deployed on the node fails the scan.
    pub require_deployed: bool,
    /// The filesystem to measure for `ephemeralStorageGb`.
    pub storage_path: Option<PathBuf>,
    /// The node's name for the report, when not its hostname.
    pub node: Option<String>,
    /// How to reach the serving endpoints.
    pub connect: ConnectArgs,
    /// Whether to ask the cloud's metadata service.
    pub cloud: super::connect::CloudArgs,
    /// A Prometheus server to query.
    pub prometheus: Option<PrometheusOptions>,
    /// Scrape metrics here instead of the engine's endpoint.
    pub metrics_url: Option<String>,
    /// The price of one GPU hour, USD.
    pub gpu_hourly_usd: Option<f64>,
    /// Measure the metrics over a window, sampling gauges at an interval.
    pub window: Option<(Duration, Duration)>,
    /// `--skip CODE`: checks left out of the report.
    pub skip: Vec<String>,
    /// `--only CODE`: when not empty, the only checks the report keeps.
    pub only: Vec<String>,
    /// A watcher that has been taking XID errors longer than one scan (`serve`'s, for its
    /// whole life); without one, a scan watches while it reads the node and through its window.
    pub xid_watcher: Option<modelspec_probe_gpu::XidWatcher>,
}

impl Request {
    /// The request `args` make, with the global flags. Every field of [`ScanArgs`] is named
    /// here (no `..`), so a new flag cannot be parsed and then forgotten.
    pub(super) fn from_args(args: ScanArgs, globals: &super::Globals) -> Result<Request, CliError> {
        let ScanArgs {
            specs,
            demo,
            facts,
            nvml_lib,
            amdsmi_lib,
            timeout,
            format,
            no_facts,
            fail_on,
            color,
            output,
            sign_key,
            waivers,
            show_skipped,
            skip,
            only,
            pid,
            workload,
            require_deployed,
            storage_path,
            node,
            connect,
            cloud,
            prometheus,
            range,
            selector,
            window,
            metrics_url,
            gpu_hourly_usd,
            sample_interval,
        } = args;
        if !demo && specs.is_empty() {
            return Err(CliError::Usage(
                "name a spec to scan (or try `modelspec scan --demo`)".into(),
            ));
        }
        if sign_key.is_some() && output.is_empty() {
            return Err(CliError::Usage(
                "--sign-key signs the report files written with -o, and none is named; \
                 add -o json=PATH (the signature goes to PATH.sig)"
                    .into(),
            ));
        }
        Ok(Request {
            specs,
            demo,
            facts,
            nvml_lib,
            amdsmi_lib,
            timeout,
            format,
            no_facts,
            fail_on: match fail_on {
                FailOnArg::Fail => FailOn::Fail,
                FailOnArg::Warn => FailOn::Warn,
                FailOnArg::Unknown => FailOn::Unknown,
            },
            color,
            outputs: output,
            sign_key,
            waivers,
            quiet: globals.quiet,
            verbose: globals.verbose,
            command_line: globals.command_line.clone(),
            show_skipped,
            skip,
            only,
            // A pid selector asks for that process directly, as --pid does.
            pid: pid.or(match &workload {
                Some(Selector::Pid { pid }) => Some(*pid),
                _ => None,
            }),
            workload: workload.filter(|w| !matches!(w, Selector::Pid { .. })),
            require_deployed,
            storage_path,
            node,
            connect,
            cloud,
            metrics_url,
            gpu_hourly_usd,
            window: window.map(|w| (w, sample_interval.max(Duration::from_millis(100)))),
            prometheus: prometheus.map(|url| PrometheusOptions { url, range, selector }),
            xid_watcher: None,
        })
    }

    /// `--workload` and `--pid` name one workload: refused with several spec documents.
    fn one_workload_for(&self, documents: usize) -> Result<(), CliError> {
        if self.workload.is_some() && documents > 1 {
            return Err(CliError::Usage(format!(
                "--workload names one workload, but {documents} spec documents were given; scan them one at a time, \
                 or name each spec's workload in its {} annotation",
                target::WORKLOAD_ANNOTATION
            )));
        }
        if self.pid.is_some() && documents > 1 {
            return Err(CliError::Usage(format!(
                "--pid names one serving process, but {documents} spec documents were given; scan them one at a \
                 time, or drop --pid so each is found by its operations.serving.port"
            )));
        }
        Ok(())
    }
}

/// One `-o [FORMAT=]PATH`, for the command whose formats are `F` (scan's, fleet's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget<F = ReportFormat> {
    /// The format; `None` means `--format`'s, written here instead of standard output.
    pub format: Option<F>,
    /// Where.
    pub path: PathBuf,
}

impl<F: clap::ValueEnum> std::str::FromStr for OutputTarget<F> {
    type Err = String;

    /// `json=/var/lib/modelspec/last.json`, or a bare path. A `NAME=` prefix that names no
    /// format is an error rather than part of a file name: `-o jsno=x` is a typo far more
    /// often than a file called `jsno=x`.
    fn from_str(s: &str) -> Result<Self, String> {
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
            F::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                .collect::<Vec<_>>()
        };
        let format = F::from_str(name, true)
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

/// A spec document ready to be judged.
struct LoadedSpec {
    info: SpecInfo,
    spec: ModelSpec,
    /// Where each pointer's value starts in the file, for `--format sarif`.
    regions: Regions,
}

/// The documents of one spec file, loaded once with their regions.
fn loaded(path: &str, text: &str, syntax: Syntax, sha256: String) -> Vec<LoadedSpec> {
    located_documents(text, syntax, &Limits::default())
        .into_iter()
        .map(|located| LoadedSpec {
            info: SpecInfo {
                path: path.to_string(),
                sha256: sha256.clone(),
                document: located.document,
                name: located.spec.metadata.name.clone(),
                version: located.spec.metadata.version.clone(),
                labels: located.spec.metadata.labels.clone(),
            },
            spec: located.spec,
            regions: located.regions,
        })
        .collect()
}

/// The named specs (or the demo's), validated; an invalid one is an error with its
/// diagnostics.
fn load_specs(req: &Request) -> Result<Vec<LoadedSpec>, CliError> {
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
    if !req.quiet {
        for s in &found.skipped {
            eprintln!("skipped {}: {}", s.path.display(), s.reason);
        }
    }
    if let Some(error) = found.missing.first() {
        return Err(CliError::Io(format!("{}: {}", error.path.display(), error.message)));
    }
    let mut files = Vec::new();
    for input in &found.inputs {
        match input {
            Input::File(path) => files.push(path.clone()),
            Input::Stdin => {
                return Err(CliError::Usage(
                    "scan reads spec files; `-` (standard input) is for `modelspec validate`".into(),
                ));
            }
        }
    }
    if files.is_empty() {
        return Err(CliError::Usage(
            "no spec files (*.yaml, *.yml, *.json) under the named folder(s)".into(),
        ));
    }
    let reports = validate_inputs(&found.inputs, &Options::default());
    if reports.iter().any(|r| !r.is_valid(false)) {
        return Err(CliError::Invalid {
            reports,
            then: "the spec is invalid; fix it (see `modelspec validate`) before scanning",
        });
    }
    let mut specs = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).map_err(|e| CliError::Io(format!("{}: {e}", path.display())))?;
        // Validation passed, so the text is UTF-8; the hash is of the file as it is on disk.
        let sha256 = sha256_hex(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_start_matches('\u{feff}');
        specs.extend(loaded(&path.display().to_string(), text, syntax_for(path), sha256));
    }
    Ok(specs)
}

/// The waiver file, when one is named; an invalid one is an error with its diagnostics.
fn load_waivers(req: &Request) -> Result<Option<WaiverFile>, CliError> {
    let Some(path) = &req.waivers else {
        return Ok(None);
    };
    crate::waivers::load(path)
        .map(Some)
        .map_err(|file_report| CliError::Invalid {
            reports: vec![file_report],
            then: "the waiver file is invalid; fix it before scanning",
        })
}

/// The observation: the demo's, a replayed one, or the probes' under the plan the specs make.
/// A spinner runs while the probes do (a window draws its own progress bar).
fn observe(req: &Request, specs: &[LoadedSpec]) -> Result<Observation, CliError> {
    if req.demo {
        return Observation::from_json(DEMO_OBSERVATION, "<demo>")
            .map_err(|e| CliError::Internal(format!("the embedded demo observation does not load: {e}")));
    }
    if let Some(path) = &req.facts {
        return Observation::read_file(path).map_err(|e| CliError::Input(e.to_string()));
    }
    let draw = progress::allowed(req.quiet, req.verbose);
    let options = PlanOptions {
        nvml_lib: req.nvml_lib.clone(),
        amdsmi_lib: req.amdsmi_lib.clone(),
        xid: match &req.xid_watcher {
            Some(watcher) => XidWatch::From(watcher.clone()),
            None => XidWatch::During(req.window.map_or(Duration::ZERO, |(duration, _)| duration)),
        },
        timeout: req.timeout,
        pid: req.pid,
        storage_path: req.storage_path.clone(),
        host: req.connect.host.clone(),
        endpoint: req.connect.endpoint.clone(),
        client: req.connect.client_options(req.timeout).map_err(CliError::Input)?,
        window: req.window.map(|(duration, interval)| WindowPlan {
            duration,
            interval,
            progress: draw.then(progress::window_bar),
        }),
        metrics_url: req.metrics_url.clone(),
        prometheus: req.prometheus.clone(),
        cloud: req.cloud.plan(),
    };
    let specs: Vec<&ModelSpec> = specs.iter().map(|s| &s.spec).collect();
    let plan = plan::plan(&specs, &options)?;
    let spinner = Spinner::start("probing the node", draw && req.window.is_none());
    let observation = collect(&plan);
    spinner.finish();
    Ok(observation)
}

/// The report: the specs judged against the observation, with the scan's provenance and
/// what became of the waivers.
fn report(
    req: &Request,
    specs: &[LoadedSpec],
    observation: Observation,
    waiver_file: Option<WaiverFile>,
    started_at: String,
    clock: Instant,
) -> Result<Report, CliError> {
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
    let observation_json = serde_json::to_value(&observation)
        .map_err(|e| CliError::Internal(format!("the observation does not serialize: {e}")))?;
    // Counted before the observation may be left out of the report (`--no-facts`).
    let unanswered = observation.unanswered();
    let mut report = Report::new(
        observation.meta.node_name().to_string(),
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
    Ok(report)
}

/// Warnings about waivers that expired or matched nothing (not under `--quiet`).
fn warn_about_waivers(req: &Request, report: &Report) {
    if req.quiet {
        return;
    }
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
        ReportFormat::Ctrf => report::ctrf::render(&mut buffer, &report::ctrf::from_report(report, req.fail_on)),
    }?;
    Ok(buffer)
}

/// Files first, each whole or not at all; then standard output, unless a bare `-o PATH`
/// took its place.
fn write_reports(
    req: &Request,
    report: &Report,
    specs: &[LoadedSpec],
    signer: Option<&SigningKey>,
) -> Result<(), CliError> {
    let regions: Vec<Regions> = specs.iter().map(|s| s.regions.clone()).collect();
    for target in &req.outputs {
        let format = target.format.unwrap_or(req.format);
        let bytes = render(format, report, &regions, req, false)
            .map_err(|e| CliError::Internal(format!("cannot render the {format:?} report: {e}")))?;
        write_atomically(&target.path, &bytes).map_err(CliError::Io)?;
        if let Some(key) = signer {
            super::sign::sign_beside(key, &target.path, &bytes)?;
        }
        tracing::info!(path = %target.path.display(), format = ?format, bytes = bytes.len(), "report written");
    }
    if req.outputs.iter().any(|o| o.format.is_none()) {
        return Ok(());
    }
    let color = Style::new(req.color).enabled();
    let buffer = render(req.format, report, &regions, req, color)
        .map_err(|e| CliError::Internal(format!("cannot render the report: {e}")))?;
    super::output::write_stdout(&buffer).map_err(CliError::Io)
}

/// The exit code, computed once from the report; the demo says what it would be and exits 0.
fn exit_code(req: &Request, report: &Report) -> i32 {
    let code = report.exit_code(req.fail_on);
    if req.demo {
        // The demo shows drift on purpose; running it is not a failure.
        eprintln!("(demo: a real scan of this node would exit with code {code})");
        return exit::OK;
    }
    code
}

/// Runs the command: load, observe, judge, write; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    let loaded = load(req)?;
    // Before probing: a key that cannot sign fails the scan now, not after a window.
    let signer = req.sign_key.as_deref().map(super::sign::load_key).transpose()?;
    let report = scan_loaded(req, &loaded)?;
    warn_about_waivers(req, &report);
    write_reports(req, &report, &loaded.specs, signer.as_ref())?;
    Ok(exit_code(req, &report))
}

/// The specs (validated) and the waiver file, loaded once: `serve` loads them at its start and
/// on each reload, and scans them on every tick.
pub(super) struct Loaded {
    specs: Vec<LoadedSpec>,
    waivers: Option<WaiverFile>,
}

impl Loaded {
    /// How many spec documents.
    pub(super) fn documents(&self) -> usize {
        self.specs.len()
    }
}

/// Loads what `req` names.
pub(super) fn load(req: &Request) -> Result<Loaded, CliError> {
    let specs = load_specs(req)?;
    req.one_workload_for(specs.len())?;
    let waivers = load_waivers(req)?;
    Ok(Loaded { specs, waivers })
}

/// One scan of loaded specs: observe the node, judge; the report.
pub(super) fn scan_loaded(req: &Request, loaded: &Loaded) -> Result<Report, CliError> {
    let started_at = format_rfc3339_utc(SystemTime::now());
    let clock = Instant::now();
    let mut observation = observe(req, &loaded.specs)?;
    if let Some(node) = &req.node {
        // In the observation, so that its hash covers the name the report gives the node.
        observation.meta.node = Some(node.clone());
    }
    report(
        req,
        &loaded.specs,
        observation,
        loaded.waivers.clone(),
        started_at,
        clock,
    )
}

/// The report in `format`, without color (a page `serve` answers with).
pub(super) fn rendered(
    req: &Request,
    report: &Report,
    loaded: &Loaded,
    format: ReportFormat,
) -> Result<Vec<u8>, CliError> {
    let regions: Vec<Regions> = loaded.specs.iter().map(|s| s.regions.clone()).collect();
    render(format, report, &regions, req, false)
        .map_err(|e| CliError::Internal(format!("cannot render the {format:?} report: {e}")))
}

/// The paths `req` names (spec files and folders, the waiver file), for `serve` to notice a
/// change to.
pub(super) fn watched(req: &Request) -> Vec<PathBuf> {
    req.specs.iter().chain(&req.waivers).cloned().collect()
}
