//! `modelspec serve`: scans on a schedule and serves the last report to Prometheus (see
//! [`crate::serve`]). This file turns the scan's own options into a [`Scanner`] and the
//! signals into flags: SIGHUP reloads, SIGTERM and SIGINT drain and exit 0.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use super::error::CliError;
use super::exit;
use super::scan::{self, Loaded, ReportFormat};
use crate::serve::{Flags, Options, Pages, Scanner};

/// `serve`'s own flags, beside the scan's.
#[derive(Debug, clap::Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    pub scan: Box<scan::ScanArgs>,
    /// Where to listen (loopback unless told otherwise; port 0 picks a free one).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9847")]
    pub listen: std::net::SocketAddr,
    /// Time between scans (a scan that runs past the next tick skips it).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = super::parse_duration)]
    pub interval: Duration,
    /// TLS and basic auth, in the Prometheus exporter toolkit's web config format.
    #[arg(long, value_name = "FILE")]
    pub web_config: Option<PathBuf>,
    /// Connections served at once; more are closed at once (and counted).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,
}

/// Runs the exporter until SIGTERM or SIGINT.
pub(super) fn run(args: ServeArgs, globals: &super::Globals) -> Result<i32, CliError> {
    let ServeArgs {
        scan,
        listen,
        interval,
        web_config,
        max_connections,
    } = args;
    let mut req = scan::Request::from_args(*scan, globals)?;
    if !req.outputs.is_empty() || req.sign_key.is_some() {
        return Err(CliError::Usage(
            "serve answers its reports over HTTP (/report.json, /report.html, /metrics); -o and --sign-key are for `modelspec scan`"
                .into(),
        ));
    }
    // A daemon draws nothing: no spinner, no progress bar.
    req.quiet = true;
    // XIDs reach only an NVML event set registered before they happen: one watcher for the
    // exporter's whole life, whose record every scan reports.
    if !req.demo && req.facts.is_none() {
        req.xid_watcher = Some(modelspec_probe_gpu::XidWatcher::start(req.nvml_lib.clone()));
    }
    let web = web_config
        .as_deref()
        .map(crate::serve::web_config::WebConfig::load)
        .transpose()
        .map_err(CliError::Input)?;
    if !listen.ip().is_loopback() && web.as_ref().is_none_or(|w| !w.has_users()) && !globals.quiet {
        eprintln!(
            "warning: serving on {listen} without basic auth: anyone who reaches it reads this node's conformance \
             (give --web-config with basic_auth_users, or listen on loopback)"
        );
    }
    // Invalid specs at the start are an error: there is no last good set to keep.
    let loaded = scan::load(&req)?;
    let watched = scan::watched(&req);
    let scanner = CliScanner {
        fingerprint: fingerprint(&watched),
        watched,
        documents: loaded.documents(),
        loaded,
        req,
    };
    let flags = Flags::default();
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, flags.stop.clone())
            .map_err(|e| CliError::Internal(format!("cannot handle signal {signal}: {e}")))?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, flags.reload.clone())
        .map_err(|e| CliError::Internal(format!("cannot handle SIGHUP: {e}")))?;
    let options = Options {
        listen,
        interval,
        web,
        max_connections,
        documents: scanner.documents,
    };
    let stop = flags.stop.clone();
    let tls = options
        .web
        .as_ref()
        .is_some_and(crate::serve::web_config::WebConfig::has_tls);
    crate::serve::run(options, scanner, flags, |bound| {
        eprintln!(
            "modelspec serve: listening on {}://{bound} (/metrics, /report.html, /report.json, /healthz, /readyz); a scan every {interval:?}",
            if tls { "https" } else { "http" }
        );
    })
    .map_err(CliError::Io)?;
    if stop.load(Ordering::SeqCst) {
        eprintln!("modelspec serve: stopped");
    }
    Ok(exit::OK)
}

/// Scans with the scan's own request, holding the last good spec set.
struct CliScanner {
    req: scan::Request,
    loaded: Loaded,
    documents: usize,
    watched: Vec<PathBuf>,
    fingerprint: Vec<(PathBuf, u64, Option<SystemTime>)>,
}

impl Scanner for CliScanner {
    fn reload(&mut self) -> Result<usize, String> {
        // Whatever happens, this is the set looked at: a broken file is not retried every
        // second, and the next change to it is noticed.
        self.fingerprint = fingerprint(&self.watched);
        let loaded = scan::load(&self.req).map_err(|e| e.described())?;
        self.documents = loaded.documents();
        self.loaded = loaded;
        Ok(self.documents)
    }

    fn changed(&mut self) -> bool {
        !self.req.demo && fingerprint(&self.watched) != self.fingerprint
    }

    fn scan(&mut self) -> Result<Pages, String> {
        let report = scan::scan_loaded(&self.req, &self.loaded).map_err(|e| e.described())?;
        let page = |format| scan::rendered(&self.req, &report, &self.loaded, format).map_err(|e| e.described());
        Ok(Pages {
            json: page(ReportFormat::Json)?,
            html: page(ReportFormat::Html)?,
            prom: page(ReportFormat::Prom)?,
        })
    }
}

/// Each watched file (folders: the files in them, recursively, a bounded number) with its
/// size and modification time: what a change to the specs changes.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    const MAX_FILES: usize = 10_000;
    let mut out = Vec::new();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        if out.len() >= MAX_FILES {
            break;
        }
        let Ok(meta) = std::fs::metadata(&path) else {
            out.push((path, 0, None));
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            out.push((path, meta.len(), meta.modified().ok()));
        }
    }
    out.sort();
    out
}
