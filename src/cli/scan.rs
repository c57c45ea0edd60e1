//! `modelspec scan`: validate the spec, observe the node (or replay a saved observation),
//! compare, report, and compute the exit code once from the report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use modelspec_probe_gpu::{GpuProbeOptions, format_rfc3339_utc};
use modelspec_probe_host::HostProbeOptions;
use sha2::{Digest, Sha256};

use super::output::write_atomically;
use super::style::Style;
use super::validate::{Summary as ValidateSummary, human};
use super::{ColorChoice, exit};
use crate::check;
use crate::observe::{Observation, Plan, collect};
use crate::report::{self, FailOn, Report, SpecInfo, Summary};
use crate::spec::validate::{Input, Options, syntax_for, typed_documents, validate_inputs};
use crate::spec::{Limits, ModelSpec, Syntax};

/// The demo's spec and recorded observation, compiled in so `scan --demo` runs anywhere.
const DEMO_SPEC: &str = include_str!("../../fixtures/demo/demo.modelspec.yaml");
const DEMO_OBSERVATION: &str = include_str!("../../fixtures/demo/observation.json");

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Findings grouped by domain, for people.
    Table,
    /// The report as JSON (`schema/report.v1.json`).
    Json,
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
    /// Write the report here (atomically) instead of stdout.
    pub output: Option<PathBuf>,
    /// List skipped findings in the table.
    pub show_skipped: bool,
    /// The serving process, when the port does not lead to it.
    pub pid: Option<u32>,
    /// The filesystem to measure for `ephemeralStorageGb`.
    pub storage_path: Option<PathBuf>,
}

/// A spec document ready to be judged.
struct LoadedSpec {
    info: SpecInfo,
    spec: ModelSpec,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn loaded(path: &str, text: &str, syntax: Syntax, sha256: String) -> Vec<LoadedSpec> {
    typed_documents(text, syntax, &Limits::default())
        .into_iter()
        .map(|(document, spec)| LoadedSpec {
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
    let inputs: Vec<Input> = req.specs.iter().map(|p| Input::File(p.clone())).collect();
    let reports = validate_inputs(&inputs, &Options::default());
    if reports.iter().any(|r| !r.is_valid(false)) {
        let summary = ValidateSummary::of(&reports, false);
        let _ = human::render(
            &mut std::io::stderr().lock(),
            &reports,
            &summary,
            false,
            Style::new(ColorChoice::Never),
        );
        eprintln!("error: the spec is invalid; fix it (see `modelspec validate`) before scanning");
        return Err(exit::ERROR);
    }
    let mut specs = Vec::new();
    for path in &req.specs {
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

/// What the host probe should look for: the serving port (when every spec names the same
/// one), the declared environment variables, and the filesystem holding the model.
fn host_plan(req: &Request, specs: &[LoadedSpec]) -> HostProbeOptions {
    let ports: Vec<Option<u64>> = specs
        .iter()
        .map(|s| {
            s.spec
                .spec
                .operations
                .as_ref()
                .and_then(|o| o.serving.as_ref())
                .and_then(|s| s.port)
        })
        .collect();
    let port = match ports.split_first() {
        Some((first, rest)) if rest.iter().all(|p| p == first) => first.and_then(|p| u16::try_from(p).ok()),
        _ => None,
    };
    let mut declared_env: Vec<String> = specs
        .iter()
        .filter_map(|s| s.spec.spec.runtime.environment.as_ref())
        .flat_map(|e| e.variables.keys().cloned())
        .collect();
    declared_env.sort();
    declared_env.dedup();
    let local_model = specs.iter().find_map(|s| {
        let uri = s.spec.spec.identity.model.artifacts.as_ref()?.model_uri.as_deref()?;
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        path.starts_with('/').then(|| PathBuf::from(path))
    });
    HostProbeOptions {
        port,
        pid: req.pid,
        storage_path: req.storage_path.clone().or(local_model),
        declared_env,
    }
}

fn observation(req: &Request, specs: &[LoadedSpec]) -> Result<Observation, i32> {
    if req.demo {
        return Observation::from_json(DEMO_OBSERVATION, "<demo>").map_err(|e| {
            eprintln!("error: internal: the embedded demo observation does not load: {e}");
            exit::ERROR
        });
    }
    if let Some(path) = &req.facts {
        let text = std::fs::read_to_string(path).map_err(|e| {
            eprintln!("error: {}: {e}", path.display());
            exit::ERROR
        })?;
        return Observation::from_json(&text, &path.display().to_string()).map_err(|e| {
            eprintln!("error: {e}");
            exit::ERROR
        });
    }
    Ok(collect(&Plan {
        gpu: Some(GpuProbeOptions {
            library: req.nvml_lib.clone(),
        }),
        host: Some(host_plan(req, specs)),
        timeout: req.timeout,
    }))
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
    let observation = match observation(req, &specs) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let finished_at = format_rfc3339_utc(SystemTime::now());
    let reports: Vec<Report> = specs
        .into_iter()
        .map(|loaded| {
            let findings = check::compare(&loaded.spec, &observation);
            Report {
                schema: report::SCHEMA.into(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                spec: loaded.info,
                target_host: observation.meta.hostname.clone(),
                started_at: started_at.clone(),
                finished_at: finished_at.clone(),
                summary: Summary::of(&findings),
                findings,
                observation: (!req.no_facts).then(|| observation.clone()),
            }
        })
        .collect();

    let mut buffer = Vec::new();
    let color = req.output.is_none() && Style::new(req.color).enabled();
    let width = if std::io::stdout().is_terminal() {
        None
    } else {
        Some(160)
    };
    let rendered = match req.format {
        ReportFormat::Json if reports.len() == 1 => report::json::render(&mut buffer, &reports[0]),
        ReportFormat::Json => serde_json::to_writer_pretty(&mut buffer, &reports)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(buffer)),
        ReportFormat::Table => reports.iter().try_for_each(|r| {
            report::table::render(
                &mut buffer,
                r,
                report::table::TableOptions {
                    color,
                    width,
                    show_skipped: req.show_skipped,
                },
            )
        }),
    };
    if let Err(e) = rendered {
        eprintln!("error: internal: cannot render the report: {e}");
        return exit::ERROR;
    }
    match &req.output {
        Some(path) => {
            if let Err(e) = write_atomically(path, &buffer) {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&buffer).and_then(|()| out.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                eprintln!("error: cannot write output: {e}");
                return exit::ERROR;
            }
        }
    }
    let code = reports
        .iter()
        .map(|r| r.exit_code(req.fail_on))
        .max()
        .unwrap_or(exit::OK);
    if req.demo {
        // The demo shows drift on purpose; running it is not a failure.
        eprintln!("(demo: a real scan of this node would exit with code {code})");
        return exit::OK;
    }
    code
}
