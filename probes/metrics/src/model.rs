//! The parsed data: metric types, families, samples and labels.
//!
//! Everything borrows from the input where it can. A name is always a slice of the input (the
//! grammar allows no escapes in names); a label value or a HELP text is a slice too unless an
//! escape had to be decoded, which is what the `Cow`s are for. A 20 MB scrape therefore costs
//! one `Vec` of labels per sample kept, not one `String` per label. (Four labels stored inline
//! in the sample were tried and measured slower: the samples got big enough that growing a
//! family's vector cost more than the allocations saved.)

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// The type a `# TYPE` line declares; [`MetricType::Unknown`] when there is none.
///
/// Prometheus text 0.0.4 knows counter, gauge, histogram, summary and `untyped`; OpenMetrics
/// adds gaugehistogram, info and stateset and calls `untyped` "unknown". Both spellings of the
/// last one mean the same thing here, so they share one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// No `# TYPE` line, `untyped` (0.0.4) or `unknown` (OpenMetrics).
    Unknown,
}

impl MetricType {
    /// The OpenMetrics spelling (`unknown` for untyped).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of its family a sample is, told by the suffix its name adds to the family name.
///
/// A histogram `x` is exposed as `x_bucket`, `x_count`, `x_sum` and maybe `x_created`; this
/// says which of those a sample was, so a reader need not strip suffixes again (and cannot
/// get it wrong for a family named `foo_count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suffix {
    /// The sample's name is the family's name: gauges, unknown, stateset, summary quantiles,
    /// and 0.0.4 counters (which carry no `_total` of their own, as TGI's don't).
    None,
    Total,
    Created,
    Bucket,
    Count,
    Sum,
    GCount,
    GSum,
    Info,
}

impl Suffix {
    /// The text the suffix adds to the family name (`""` for [`Suffix::None`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Suffix::None => "",
            Suffix::Total => "_total",
            Suffix::Created => "_created",
            Suffix::Bucket => "_bucket",
            Suffix::Count => "_count",
            Suffix::Sum => "_sum",
            Suffix::GCount => "_gcount",
            Suffix::GSum => "_gsum",
            Suffix::Info => "_info",
        }
    }
}

/// One `name="value"` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label<'a> {
    pub name: &'a str,
    /// Borrowed unless the value held `\\`, `\"` or `\n`, which are decoded.
    pub value: Cow<'a, str>,
}

/// When a sample was taken, in the unit its format uses.
///
/// 0.0.4 writes integer milliseconds and OpenMetrics float seconds; both are kept exactly as
/// written instead of converting one into the other and losing precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Timestamp {
    Millis(i64),
    Seconds(f64),
}

impl Timestamp {
    /// Seconds since the Unix epoch, as a float.
    pub fn as_seconds(self) -> f64 {
        match self {
            // i64 to f64 rounds above 2^53 ms (285,000 years): irrelevant for a clock.
            Timestamp::Millis(ms) => ms as f64 / 1000.0,
            Timestamp::Seconds(seconds) => seconds,
        }
    }
}

/// An OpenMetrics exemplar: the ` # {labels} value [timestamp]` after a counter's `_total` or a
/// histogram's `_bucket` sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    /// Seconds, as OpenMetrics writes it.
    pub timestamp: Option<f64>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The full sample name as written (`vllm:e2e_request_latency_seconds_bucket`).
    pub name: &'a str,
    /// What `name` adds to its family's name.
    pub suffix: Suffix,
    /// In the order written, `le` and `quantile` included.
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    pub timestamp: Option<Timestamp>,
    /// Boxed: exemplars are rare, and inline they would make every sample 40 bytes bigger.
    pub exemplar: Option<Box<Exemplar<'a>>>,
    /// 1-based line in the input.
    pub line: usize,
}

impl<'a> Sample<'a> {
    /// The value of the label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|label| label.name == name)
            .map(|label| label.value.as_ref())
    }

    pub(crate) fn empty() -> Sample<'a> {
        Sample {
            name: "",
            suffix: Suffix::None,
            labels: Vec::new(),
            value: 0.0,
            timestamp: None,
            exemplar: None,
            line: 0,
        }
    }
}

/// A family as the streaming parser knows it when it hands over a line: its metadata so far.
///
/// `index` is the family's place in order of first appearance; a visitor that keeps per-family
/// state can use it as a vector index instead of hashing the name.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyInfo<'a> {
    pub index: usize,
    pub name: &'a str,
    pub kind: MetricType,
    pub help: Option<Cow<'a, str>>,
    pub unit: Option<&'a str>,
}

/// A metric family with all its accepted samples, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Family<'a> {
    pub name: &'a str,
    pub kind: MetricType,
    pub help: Option<Cow<'a, str>>,
    /// OpenMetrics `# UNIT`; never set for 0.0.4, which has no such line.
    pub unit: Option<&'a str>,
    pub samples: Vec<Sample<'a>>,
}

/// Which metadata line a [`crate::Visitor::metadata`] call reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataKind {
    Help,
    Type,
    Unit,
}
