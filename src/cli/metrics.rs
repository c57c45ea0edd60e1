//! `modelspec metrics URL|FILE|-`: what an exposition holds, as our parser reads it.
//!
//! Useful on its own ("is `vllm:num_requests_waiting` there? why does Prometheus reject this
//! page?") and as the debugging aid behind every metrics finding: the same parser, the same
//! errors with line:column, the same engine recognition.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use modelspec_probe_http::{ClientOptions, HttpClient, Request as HttpRequest, Target};
use modelspec_probe_metrics::{ExpositionSummary, Format, Limits};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::error::CliError;
use super::exit;
use super::output::write_atomically;
use crate::observe::scrape::{METRICS_ACCEPT, METRICS_MAX_BYTES};
use crate::runtime::engine_from_metric_names;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricsFormat {
    /// Families by name with type, series and samples, then errors.
    Table,
    /// The summary as JSON.
    Json,
}

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// A URL (http or https), a file, or `-` for standard input.
    pub source: String,
    pub format: MetricsFormat,
    pub timeout: Duration,
    pub connect: ConnectArgs,
    pub output: Option<std::path::PathBuf>,
}

/// The JSON output.
#[derive(Debug, Serialize)]
struct Inspection {
    source: String,
    content_type: Option<String>,
    bytes: usize,
    /// The engine the metric names point to, and why.
    engine: Option<String>,
    engine_evidence: Option<String>,
    #[serde(flatten)]
    summary: ExpositionSummary,
}

/// Reads the exposition: a file, or a URL fetched with the scan's client rules.
fn read(req: &Request) -> Result<(Vec<u8>, Option<String>), String> {
    if req.source.starts_with("http://") || req.source.starts_with("https://") {
        let (target, path) = Target::split_url(&req.source).map_err(|e| e.reason().to_string())?;
        let options: ClientOptions = req.connect.client_options(req.timeout)?;
        let client = HttpClient::new(target, options).map_err(|e| e.reason().to_string())?;
        let exchange = client.fetch(
            &HttpRequest::get(path)
                .accept(METRICS_ACCEPT)
                .max_body_bytes(METRICS_MAX_BYTES),
            Instant::now() + req.timeout,
        );
        let Some(response) = exchange.response() else {
            let why = exchange
                .failure()
                .map_or("no response".to_string(), |f| f.reason.clone());
            return Err(why);
        };
        if !(200..300).contains(&response.status) {
            return Err(format!("{} answered HTTP {}", req.source, response.status));
        }
        if let Some(cut) = &response.body_cut {
            return Err(format!("{}: the page was cut short: {}", req.source, cut.reason));
        }
        return Ok((
            response.body.clone().into_bytes(),
            response.headers.get("content-type").cloned(),
        ));
    }
    if req.source == "-" {
        return read_capped(std::io::stdin().lock(), "standard input").map(|bytes| (bytes, None));
    }
    let path = Path::new(&req.source);
    let file = modelspec_probe_support::open_regular_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_capped(file, &path.display().to_string()).map(|bytes| (bytes, None))
}

/// Reads at most [`METRICS_MAX_BYTES`] from `reader` (`what` names it in errors).
fn read_capped(reader: impl Read, what: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(METRICS_MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{what}: {e}"))?;
    if bytes.len() > METRICS_MAX_BYTES {
        return Err(format!(
            "{what}: larger than {} MiB; an exposition that big is not a metrics page",
            METRICS_MAX_BYTES >> 20
        ));
    }
    Ok(bytes)
}

/// Runs the command; returns the exit code: 0 when the page parses clean, 1 when it has errors.
pub fn run(req: &Request) -> Result<i32, CliError> {
    // The shared connection flags name a serving endpoint; here the argument is the URL itself.
    if req.connect.host.is_some() || req.connect.endpoint.is_some() {
        return Err(CliError::Usage(
            "`metrics` scrapes the URL given as its argument; --host and --endpoint are for `scan` and `facts` \
             (write the whole URL, e.g. http://10.0.0.5:8000/metrics)"
                .into(),
        ));
    }
    let (bytes, content_type) = read(req).map_err(CliError::Input)?;
    let format = Format::detect(content_type.as_deref(), &bytes);
    let exposition = modelspec_probe_metrics::parse_bytes(&bytes, format, &Limits::default());
    let engine = engine_from_metric_names(exposition.families.iter().map(|f| f.name));
    let inspection = Inspection {
        source: req.source.clone(),
        content_type,
        bytes: bytes.len(),
        engine: engine.as_ref().map(|(e, _)| e.as_str().to_string()),
        engine_evidence: engine.map(|(_, why)| why),
        summary: exposition.summary(),
    };
    let mut out = Vec::new();
    let written = match req.format {
        MetricsFormat::Json => serde_json::to_writer_pretty(&mut out, &inspection)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        MetricsFormat::Table => table(&mut out, &inspection),
    };
    written.map_err(|e| CliError::Internal(format!("cannot render: {e}")))?;
    let result = match &req.output {
        Some(path) => write_atomically(path, &out).map_err(|e| e.to_string()),
        None => std::io::stdout().lock().write_all(&out).map_err(|e| e.to_string()),
    };
    result.map_err(CliError::Io)?;
    Ok(
        if inspection.summary.error_count > 0 || !inspection.summary.caps.is_empty() {
            exit::INVALID
        } else {
            exit::OK
        },
    )
}

fn table(out: &mut impl Write, i: &Inspection) -> std::io::Result<()> {
    let s = &i.summary;
    writeln!(
        out,
        "{}: {} bytes, {:?}{}",
        i.source,
        i.bytes,
        s.format,
        i.content_type.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
    )?;
    match (&i.engine, &i.engine_evidence) {
        (Some(engine), Some(why)) => writeln!(out, "engine: {engine} ({why})")?,
        _ => writeln!(out, "engine: not recognised from the metric names")?,
    }
    writeln!(out, "{} families, {} samples\n", s.families.len(), s.counts.samples)?;
    let width = s.families.iter().map(|f| f.name.len()).max().unwrap_or(6).max(6);
    writeln!(
        out,
        "{:<width$}  {:<14} {:>7} {:>8}",
        "family", "type", "series", "samples"
    )?;
    let mut families: Vec<_> = s.families.iter().collect();
    families.sort_by(|a, b| a.name.cmp(&b.name));
    for f in families {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let issues = if f.issues > 0 {
            format!("  ({} structural issue(s))", f.issues)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{:<width$}  {kind:<14} {:>7} {:>8}{issues}",
            f.name, f.series, f.samples
        )?;
    }
    if s.error_count > 0 {
        writeln!(out, "\n{} error(s):", s.error_count)?;
        for e in &s.errors {
            writeln!(out, "  {}:{}:{}: {}", i.source, e.line, e.column, e.message)?;
        }
    }
    for cap in &s.caps {
        writeln!(out, "cap reached: {cap:?}")?;
    }
    Ok(())
}
