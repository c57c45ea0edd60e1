//! How a metrics page is asked for, wherever it is scraped: the endpoint round, the
//! `--window` measurement and `modelspec metrics` send the same Accept header and apply the
//! same size cap.
//!
//! Its own module so that [`super::endpoint`] and [`super::window`] both depend on it instead
//! of on each other (the endpoint probe runs the window; the window needs these constants).

/// The Accept header of a metrics scrape: OpenMetrics first, as Prometheus asks, then the
/// classic text format.
pub const METRICS_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.8,*/*;q=0.1";

/// Size cap on a metrics page: a busy engine with many LoRA adapters exposes megabytes.
pub const METRICS_MAX_BYTES: usize = 64 << 20;
