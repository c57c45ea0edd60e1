//! Measurement windows (`scan --window 30s`): the metrics page scraped at the start and the end
//! of the window, and its gauges sampled in between.
//!
//! A single scrape sees the server's lifetime; the difference of two scrapes sees the window,
//! which is what a latency target or a request rate is about. Counters are cumulative, so the
//! end page minus the start page is the window's share (the checks handle a counter that went
//! down: the server restarted in between). Gauges are instants, so the peak of running requests
//! needs samples: every `--sample-interval`, each gauge series is kept by its name and labels.
//! Only gauges are kept from the samples, which keeps a long window small.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use modelspec_probe_http::{Exchange, HttpClient, Request};
use modelspec_probe_metrics::{Format, Limits, MetricType, Sample, parse};
use serde::{Deserialize, Serialize};

use super::scrape::{METRICS_ACCEPT, METRICS_MAX_BYTES, answer};

/// How long to measure, and how often to sample gauges.
#[derive(Debug, Clone)]
pub struct WindowPlan {
    pub duration: Duration,
    pub interval: Duration,
    /// Told how the measurement advances (the CLI draws a bar on a terminal); `None` tells
    /// no one. Nothing here draws.
    pub progress: Option<Progress>,
}

/// How far a window measurement has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick<'a> {
    /// A gauge sample was taken on `path`, `elapsed` into a window of `total`.
    Sampled {
        path: &'a str,
        elapsed: Duration,
        total: Duration,
    },
    /// The end scrape of `path` is done.
    Finished { path: &'a str },
}

/// A callback for [`Tick`]s. It runs on the endpoint probe's thread, hence `Send + Sync`.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(Tick<'_>) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// What a window saw on one metrics page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsWindow {
    /// The metrics path measured; its start page is the endpoint round's exchange for it.
    pub path: String,
    /// From the start scrape to the end scrape, milliseconds.
    pub elapsed_ms: u64,
    /// The end scrape.
    pub end: Exchange,
    /// Gauge values between the two, by series (`name{label="value",...}`).
    pub samples: Vec<GaugeSample>,
}

/// One sample of every gauge series on the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeSample {
    /// Milliseconds after the start scrape.
    pub at_ms: u64,
    pub gauges: BTreeMap<String, f64>,
}

/// A series' key: its name and labels, sorted.
pub fn series_key(sample: &Sample) -> String {
    let mut labels: Vec<String> = sample
        .labels
        .iter()
        .map(|l| format!("{}=\"{}\"", l.name, l.value))
        .collect();
    labels.sort();
    format!("{}{{{}}}", sample.name, labels.join(","))
}

/// The gauge series of a page.
pub fn gauges(body: &str, content_type: Option<&str>) -> BTreeMap<String, f64> {
    let exposition = parse(body, Format::detect(content_type, body.as_bytes()), &Limits::default());
    exposition
        .families
        .iter()
        .filter(|f| f.kind == MetricType::Gauge && !f.name.ends_with("_created"))
        .flat_map(|f| f.samples.iter().map(|s| (series_key(s), s.value)))
        .collect()
}

/// Measures the window on `path`, which answered the start scrape `started` ago.
pub fn measure(
    client: &HttpClient,
    path: &str,
    started: Instant,
    plan: &WindowPlan,
    deadline: Instant,
) -> MetricsWindow {
    let scrape = || {
        client.fetch(
            &Request::get(path)
                .accept(METRICS_ACCEPT)
                .max_body_bytes(METRICS_MAX_BYTES),
            deadline,
        )
    };
    let end_at = started + plan.duration;
    let mut samples = Vec::new();
    loop {
        let now = Instant::now();
        if now + plan.interval >= end_at || now >= deadline {
            break;
        }
        std::thread::sleep(plan.interval);
        let exchange = scrape();
        // A sample is a whole page (runtime::document): a page cut short would read as the
        // gauges it happened to hold.
        if let Some(Ok(page)) = exchange.response().map(|r| crate::runtime::document(Some(answer(r)))) {
            samples.push(GaugeSample {
                at_ms: millis(started.elapsed()),
                gauges: gauges(page.body, page.content_type),
            });
        }
        if let Some(Progress(tell)) = &plan.progress {
            tell(Tick::Sampled {
                path,
                elapsed: started.elapsed(),
                total: plan.duration,
            });
        }
    }
    let remaining = end_at.saturating_duration_since(Instant::now());
    std::thread::sleep(remaining.min(deadline.saturating_duration_since(Instant::now())));
    let end = scrape();
    if let Some(Progress(tell)) = &plan.progress {
        tell(Tick::Finished { path });
    }
    MetricsWindow {
        path: path.to_string(),
        elapsed_ms: millis(started.elapsed()),
        end,
        samples,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
