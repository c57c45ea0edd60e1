//! `modelspec serve`: conformance as a long-running exporter, in the dcgm-exporter pattern, so
//! Prometheus scrapes a node's conformance directly instead of through node_exporter's
//! textfile directory and a cron job.
//!
//! Two things run side by side and share one [`State`]:
//!
//! - **The schedule**, on a thread of its own: a scan every `interval`, never two at once. A
//!   scan that runs past its next tick skips that tick (counted in
//!   `modelspec_serve_skipped_ticks_total`) instead of starting late scans back to back. A
//!   reload (SIGHUP, or a change to the spec files) happens between scans; an invalid spec set
//!   keeps the last good one, and says so on `/metrics` and in the log.
//! - **The HTTP server** ([`http`]), which only reads: the last report's pages and the
//!   exporter's own counters. Scrapers never wait for a scan, and a scan never waits for them.
//!
//! How a scan is made (loading specs, probing, judging, rendering) is the caller's, behind
//! [`Scanner`]: this module knows the schedule and the pages, not ModelSpec.

pub mod http;
pub mod web_config;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// One scan's report, rendered once for every request that asks for it.
#[derive(Debug, Clone, Default)]
pub struct Pages {
    /// `--format json`.
    pub json: Vec<u8>,
    /// `--format html`.
    pub html: Vec<u8>,
    /// `--format prom`: the report's series, served first on `/metrics`.
    pub prom: Vec<u8>,
}

/// What makes the scans: the specs it holds, reloaded on demand.
pub trait Scanner: Send + 'static {
    /// Loads the specs again; on an error (its message) the specs held so far stay.
    fn reload(&mut self) -> Result<usize, String>;
    /// Whether the spec files changed since the last load.
    fn changed(&mut self) -> bool;
    /// One scan of the specs held.
    fn scan(&mut self) -> Result<Pages, String>;
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (loopback unless told otherwise).
    pub listen: std::net::SocketAddr,
    /// Time between scans.
    pub interval: Duration,
    /// TLS and basic auth (`--web-config`).
    pub web: Option<web_config::WebConfig>,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
    /// Spec documents in the set loaded at the start.
    pub documents: usize,
}

/// The upper bounds of the scan duration histogram, seconds: a scan of the demo takes
/// milliseconds, one with a `--window` minutes.
const DURATION_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// What the schedule has done, and the last report.
#[derive(Debug, Default)]
pub struct State {
    pages: Option<Arc<Pages>>,
    scans_ok: u64,
    scans_failed: u64,
    last_scan_ok: bool,
    skipped_ticks: u64,
    /// Scans per duration bucket (not cumulative), the last one `+Inf`.
    duration_buckets: Vec<u64>,
    duration_sum: f64,
    /// Documents in the spec set scanned.
    documents: usize,
    reloads_ok: u64,
    reloads_failed: u64,
    /// Whether the last reload kept its new specs.
    last_reload_ok: bool,
    /// Unix seconds of the last successful load (the start counts).
    last_load_unix: f64,
    /// Connections closed for being over `max_connections`.
    refused_connections: u64,
}

impl State {
    /// The last report, when a scan has completed.
    pub fn pages(&self) -> Option<Arc<Pages>> {
        self.pages.clone()
    }

    /// Counts a connection refused for being over the limit.
    pub fn refused(&mut self) {
        self.refused_connections += 1;
    }
}

/// The state, shared by the schedule and the server.
#[derive(Debug, Default)]
pub struct Shared {
    state: Mutex<State>,
}

impl Shared {
    /// The state, even after a panic elsewhere poisoned the lock (counters stay readable).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Signals, as flags: set by signal handlers, read by the schedule and the server.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// SIGTERM or SIGINT: drain and exit.
    pub stop: Arc<AtomicBool>,
    /// SIGHUP: load the specs again.
    pub reload: Arc<AtomicBool>,
}

/// Serves until `flags.stop`: binds, starts the schedule, answers requests. `on_listening` is
/// told the address bound (port 0 becomes a real one) before the first scan.
pub fn run(
    options: Options,
    scanner: impl Scanner,
    flags: Flags,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> Result<(), String> {
    let shared = Arc::new(Shared::default());
    {
        let mut state = shared.lock();
        state.documents = options.documents;
        state.last_reload_ok = true;
        state.last_load_unix = unix_now();
        state.duration_buckets = vec![0; DURATION_BUCKETS.len() + 1];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("modelspec-serve")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    let tls = options
        .web
        .as_ref()
        .map(web_config::WebConfig::tls_acceptor)
        .transpose()?
        .flatten();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(options.listen))
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e}; choose another --listen address",
                options.listen
            )
        })?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the address bound: {e}"))?;
    on_listening(bound);

    let schedule = {
        let (shared, flags) = (shared.clone(), flags.clone());
        let interval = options.interval;
        std::thread::Builder::new()
            .name("modelspec-schedule".into())
            .spawn(move || schedule(scanner, &shared, interval, &flags))
            .map_err(|e| format!("cannot start the scan schedule: {e}"))?
    };
    let server = http::Server {
        shared,
        auth: options.web.as_ref().map(web_config::WebConfig::auth),
        tls,
        max_connections: options.max_connections.max(1),
    };
    runtime.block_on(server.serve(listener, flags.stop.clone()));
    // The schedule notices the flag within its sleep slice; a scan under way is abandoned with
    // the process (its probes have their own deadlines, and nothing of it is written).
    flags.stop.store(true, Ordering::SeqCst);
    drop(schedule);
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// How long the schedule sleeps at a time, so that a stop, a SIGHUP or a changed file is
/// noticed soon.
const SLICE: Duration = Duration::from_millis(100);

/// How often the spec files are looked at for a change between scans.
const WATCH_EVERY: Duration = Duration::from_secs(1);

fn schedule(mut scanner: impl Scanner, shared: &Shared, interval: Duration, flags: &Flags) {
    let mut next = Instant::now();
    let mut watched = Instant::now();
    loop {
        while Instant::now() < next {
            if flags.stop.load(Ordering::SeqCst) {
                return;
            }
            if flags.reload.swap(false, Ordering::SeqCst) {
                reload(&mut scanner, shared, "SIGHUP");
            } else if watched.elapsed() >= WATCH_EVERY {
                watched = Instant::now();
                if scanner.changed() {
                    reload(&mut scanner, shared, "a change to the spec files");
                }
            }
            std::thread::sleep(SLICE.min(next.saturating_duration_since(Instant::now())));
        }
        if flags.stop.load(Ordering::SeqCst) {
            return;
        }
        if flags.reload.swap(false, Ordering::SeqCst) {
            reload(&mut scanner, shared, "SIGHUP");
        }
        let started = Instant::now();
        let result = scanner.scan();
        let took = started.elapsed();
        record(shared, result, took);
        // The next tick after this one; ticks the scan ran past are skipped, and counted.
        next += interval;
        let now = Instant::now();
        let mut skipped = 0u64;
        while next <= now {
            next += interval;
            skipped += 1;
        }
        if skipped > 0 {
            shared.lock().skipped_ticks += skipped;
            tracing::warn!(
                took_ms = took.as_millis() as u64,
                skipped,
                "the scan ran past its next tick; that tick is skipped"
            );
        }
    }
}

fn reload(scanner: &mut impl Scanner, shared: &Shared, why: &str) {
    match scanner.reload() {
        Ok(documents) => {
            eprintln!("reloaded the specs after {why}: {documents} documents");
            let mut state = shared.lock();
            state.documents = documents;
            state.reloads_ok += 1;
            state.last_reload_ok = true;
            state.last_load_unix = unix_now();
        }
        Err(message) => {
            eprintln!("{message}the specs were not reloaded after {why}: the last good set is still scanned");
            let mut state = shared.lock();
            state.reloads_failed += 1;
            state.last_reload_ok = false;
        }
    }
}

fn record(shared: &Shared, result: Result<Pages, String>, took: Duration) {
    let seconds = took.as_secs_f64();
    let mut state = shared.lock();
    let bucket = DURATION_BUCKETS
        .iter()
        .position(|&le| seconds <= le)
        .unwrap_or(DURATION_BUCKETS.len());
    if let Some(n) = state.duration_buckets.get_mut(bucket) {
        *n += 1;
    }
    state.duration_sum += seconds;
    match result {
        Ok(pages) => {
            state.pages = Some(Arc::new(pages));
            state.scans_ok += 1;
            state.last_scan_ok = true;
        }
        Err(message) => {
            state.scans_failed += 1;
            state.last_scan_ok = false;
            drop(state);
            eprintln!("the scan failed: {message}");
        }
    }
}

/// A family's `# HELP` and `# TYPE` lines; its name back, for the samples.
fn head(out: &mut String, name: &'static str, kind: &str, help: &str) -> &'static str {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    name
}

/// A series of one sample: its help, its type and its value.
fn one(out: &mut String, (name, kind): (&'static str, &str), help: &str, value: impl std::fmt::Display) {
    let name = head(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// A counter by `result`: success, then error.
fn by_result(out: &mut String, name: &'static str, help: &str, (ok, failed): (u64, u64)) {
    let name = head(out, name, "counter", help);
    let _ = writeln!(out, "{name}{{result=\"success\"}} {ok}");
    let _ = writeln!(out, "{name}{{result=\"error\"}} {failed}");
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `/metrics`: the last report's series (`--format prom`), then the exporter's own.
pub fn metrics_page(state: &State) -> Vec<u8> {
    let mut out = state.pages.as_ref().map(|p| p.prom.clone()).unwrap_or_default();
    let mut own = String::new();
    let name = head(
        &mut own,
        "modelspec_build_info",
        "gauge",
        "A constant 1, labelled with the version of modelspec serving.",
    );
    let _ = writeln!(
        own,
        "{name}{{version=\"{}\",revision=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        option_env!("MODELSPEC_GIT_COMMIT").unwrap_or("")
    );
    by_result(
        &mut own,
        "modelspec_serve_scans_total",
        "Scans run by serve, by result (an error is a scan that made no report).",
        (state.scans_ok, state.scans_failed),
    );
    one(
        &mut own,
        ("modelspec_serve_last_scan_success", "gauge"),
        "1 when the last scan made a report, 0 when it failed (the pages are then the scan's before).",
        u8::from(state.last_scan_ok),
    );
    let name = head(
        &mut own,
        "modelspec_serve_scan_duration_seconds",
        "histogram",
        "How long serve's scans took.",
    );
    let mut cumulative = 0u64;
    for (i, count) in state.duration_buckets.iter().enumerate() {
        cumulative += count;
        let le = DURATION_BUCKETS
            .get(i)
            .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
        let _ = writeln!(own, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(own, "{name}_sum {}", state.duration_sum);
    let _ = writeln!(own, "{name}_count {cumulative}");
    one(
        &mut own,
        ("modelspec_serve_skipped_ticks_total", "counter"),
        "Scheduled scans skipped because the scan before ran past their tick.",
        state.skipped_ticks,
    );
    one(
        &mut own,
        ("modelspec_serve_spec_documents", "gauge"),
        "Spec documents in the set being scanned.",
        state.documents,
    );
    by_result(
        &mut own,
        "modelspec_serve_reloads_total",
        "Reloads of the specs (SIGHUP or a changed file) by result; a failed one keeps the last good set.",
        (state.reloads_ok, state.reloads_failed),
    );
    one(
        &mut own,
        ("modelspec_serve_last_reload_success", "gauge"),
        "0 when the last reload failed and an older spec set is still scanned, else 1.",
        u8::from(state.last_reload_ok),
    );
    one(
        &mut own,
        ("modelspec_serve_last_load_timestamp_seconds", "gauge"),
        "When the spec set being scanned was loaded, in Unix seconds.",
        state.last_load_unix,
    );
    one(
        &mut own,
        ("modelspec_serve_refused_connections_total", "counter"),
        "Connections closed at once because as many as --max-connections were open.",
        state.refused_connections,
    );
    out.extend_from_slice(own.as_bytes());
    out
}

#[cfg(test)]
mod tests;
