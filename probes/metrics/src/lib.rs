//! Metrics probe: our own parser for what a serving engine's `/metrics` endpoint returns,
//! Prometheus text format 0.0.4 and OpenMetrics 1.0 text.
//!
//! `modelspec` checks a deployment's contract against what the engine really reports (is
//! `vllm:num_requests_waiting` there, is the latency histogram populated, which model names
//! does it serve). The existing Rust parsers were not good enough to base a verdict on:
//! `prometheus-parse` 0.2.5 silently drops every metric whose name holds a `:`, which is all of
//! vLLM's `vllm:...` and SGLang's `sglang:...`; others are LGPL, slow, or wrong on label escapes.
//! This crate knows nothing of ModelSpec and judges nothing beyond the formats' own rules.
//!
//! What it promises:
//!
//! * **Nothing is dropped silently.** A line that breaks a rule is an error with its 1-based
//!   line and column, a short message and an excerpt ([`ParseError`]); it is not accepted, and
//!   parsing goes on with the next line so one bad line never hides the rest.
//! * **No panic, on any input**, bytes included: invalid UTF-8 is an error with a position
//!   ([`parse_bytes`]).
//! * **Bounded memory.** Every structure that grows with the input is capped by [`Limits`],
//!   and reaching a cap is reported ([`CapHit`]), never silent.
//! * **Few copies.** Names and label values borrow from the input; only a value that held an
//!   escape is decoded into an owned string.
//!
//! Two ways in:
//!
//! * [`parse`] builds an [`Exposition`]: families (name, type, help, unit, samples) in input
//!   order, plus the [`Outcome`] (errors, caps reached, counts). On a family,
//!   [`Family::histograms`] and [`Family::summaries`] group samples per label set and report
//!   structural problems (no `+Inf` bucket, counts going down, `_count` disagreeing with the
//!   `+Inf` bucket, duplicate `le`) as [`HistogramIssue`]s; [`Exposition::summary`] gives an
//!   owned, serializable [`ExpositionSummary`] for printing.
//! * [`visit`] streams: it calls a [`Visitor`] for each accepted metadata line and sample and
//!   keeps no samples, so a caller that needs only aggregates (a histogram's total count across
//!   all label sets, say) parses in memory that does not grow with the series count. [`parse`]
//!   is [`visit`] with a visitor that keeps everything.
//!
//! Duplicate-series detection is the one check that needs memory per series (a keyed 64-bit
//! hash per series, about 24 bytes, bounded by [`Limits::max_series`]); it is on by default
//! and [`Limits::detect_duplicate_series`] turns it off for constant memory.
//!
//! Which format a body is in comes from its Content-Type ([`Format::from_content_type`];
//! `text/plain` of any version is 0.0.4, because vLLM 0.32 labels its 0.0.4 body
//! `version=1.0.0`) or, without one, from the body ([`Format::sniff`]: a final `# EOF`).
//! The syntax accepted in each is tabulated in the `lex` module's source; the rules across
//! lines (families, suffixes, ordering, duplicates) are in `driver`'s.
//!
//! ```
//! use modelspec_probe_metrics::{Format, Limits, MetricType, parse};
//!
//! let text = "# TYPE vllm:num_requests_waiting gauge\n\
//!             vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 3.0\n";
//! let exposition = parse(text, Format::Prometheus, &Limits::default());
//! assert!(exposition.outcome.is_clean());
//! let family = exposition.family("vllm:num_requests_waiting").unwrap();
//! assert_eq!(family.kind, MetricType::Gauge);
//! assert_eq!(family.samples[0].label("model_name"), Some("m"));
//! ```
//!
//! Streaming, keeping only a sum:
//!
//! ```
//! use modelspec_probe_metrics::{FamilyInfo, Format, Limits, Sample, Suffix, Visitor, visit};
//!
//! #[derive(Default)]
//! struct Requests(f64);
//!
//! impl<'a> Visitor<'a> for Requests {
//!     fn sample(&mut self, family: &FamilyInfo<'a>, sample: &Sample<'a>) {
//!         if family.name == "vllm:e2e_request_latency_seconds" && sample.suffix == Suffix::Count {
//!             self.0 += sample.value;
//!         }
//!     }
//! }
//!
//! let text = "# TYPE vllm:e2e_request_latency_seconds histogram\n\
//!             vllm:e2e_request_latency_seconds_count{model_name=\"a\"} 2\n\
//!             vllm:e2e_request_latency_seconds_count{model_name=\"b\"} 5\n";
//! let mut requests = Requests::default();
//! let outcome = visit(text, Format::Prometheus, &Limits::default(), &mut requests);
//! assert_eq!(outcome.error_count, 0);
//! assert_eq!(requests.0, 7.0);
//! ```

mod driver;
mod format;
mod lex;
mod limits;
mod model;
mod report;
mod summary;
mod views;

pub use format::Format;
pub use limits::{Cap, CapHit, Limits};
pub use model::{Exemplar, Family, FamilyInfo, Label, MetadataKind, MetricType, Sample, Suffix, Timestamp};
pub use report::{Counts, EXCERPT_CHARS, Outcome, ParseError};
pub use summary::{ExpositionSummary, FamilySummary};
pub use views::{Bucket, HistogramIssue, HistogramSeries, Quantile, SummaryIssue, SummarySeries};

use driver::{BytesSource, Driver, StrSource};

/// Receives what [`visit`] accepts, line by line. Every method defaults to doing nothing.
///
/// The references live only for the call: the parser reuses one [`Sample`] for every line.
/// Names and label values inside them borrow from the input (`'a`) and may be kept.
pub trait Visitor<'a> {
    /// An accepted `# HELP`, `# TYPE` or `# UNIT` line; `family` already includes it.
    fn metadata(&mut self, family: &FamilyInfo<'a>, kind: MetadataKind) {
        let _ = (family, kind);
    }

    /// An accepted sample of `family`.
    fn sample(&mut self, family: &FamilyInfo<'a>, sample: &Sample<'a>) {
        let _ = (family, sample);
    }

    /// A rejected line. Called for every error, including those past [`Limits::max_errors`]
    /// that the [`Outcome`] only counts.
    fn error(&mut self, error: &ParseError) {
        let _ = error;
    }
}

/// Streams `input` through `visitor`; returns the errors, caps reached and counts.
pub fn visit<'a, V: Visitor<'a>>(input: &'a str, format: Format, limits: &Limits, visitor: &mut V) -> Outcome {
    Driver::new(format, limits).run(StrSource(input), visitor)
}

/// [`visit`] for bytes that may not be UTF-8: each line is checked, and a line that is not
/// valid UTF-8 is an error at the column where it breaks.
pub fn visit_bytes<'a, V: Visitor<'a>>(input: &'a [u8], format: Format, limits: &Limits, visitor: &mut V) -> Outcome {
    Driver::new(format, limits).run(BytesSource(input), visitor)
}

/// A parsed exposition: its families in order of first appearance, and the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposition<'a> {
    pub families: Vec<Family<'a>>,
    pub outcome: Outcome,
}

impl<'a> Exposition<'a> {
    /// The family named `name` (the family name: `x` for a histogram's `x_bucket`).
    pub fn family(&self, name: &str) -> Option<&Family<'a>> {
        self.families.iter().find(|family| family.name == name)
    }
}

/// Parses all of `input`. See the crate docs for what is accepted and reported.
pub fn parse<'a>(input: &'a str, format: Format, limits: &Limits) -> Exposition<'a> {
    let mut collector = Collector::default();
    let outcome = visit(input, format, limits, &mut collector);
    Exposition {
        families: collector.families,
        outcome,
    }
}

/// [`parse`] for bytes that may not be UTF-8 (see [`visit_bytes`]).
pub fn parse_bytes<'a>(input: &'a [u8], format: Format, limits: &Limits) -> Exposition<'a> {
    let mut collector = Collector::default();
    let outcome = visit_bytes(input, format, limits, &mut collector);
    Exposition {
        families: collector.families,
        outcome,
    }
}

/// The visitor behind [`parse`]: keeps every family and sample.
#[derive(Default)]
struct Collector<'a> {
    families: Vec<Family<'a>>,
    /// The driver's family index to a position in `families`. The driver numbers every family
    /// it creates, including ones whose only line was then rejected and which never reach a
    /// visitor, so the two numberings can differ.
    positions: Vec<Option<usize>>,
}

impl<'a> Collector<'a> {
    fn family(&mut self, info: &FamilyInfo<'a>) -> Option<&mut Family<'a>> {
        if self.positions.len() <= info.index {
            self.positions.resize(info.index + 1, None);
        }
        let slot = self.positions.get_mut(info.index)?;
        let position = *slot.get_or_insert(self.families.len());
        if position == self.families.len() {
            self.families.push(Family {
                name: info.name,
                kind: info.kind,
                help: info.help.clone(),
                unit: info.unit,
                samples: Vec::new(),
            });
        }
        self.families.get_mut(position)
    }
}

impl<'a> Visitor<'a> for Collector<'a> {
    fn metadata(&mut self, info: &FamilyInfo<'a>, _: MetadataKind) {
        if let Some(family) = self.family(info) {
            family.kind = info.kind;
            family.help = info.help.clone();
            family.unit = info.unit;
        }
    }

    fn sample(&mut self, info: &FamilyInfo<'a>, sample: &Sample<'a>) {
        if let Some(family) = self.family(info) {
            family.samples.push(sample.clone());
        }
    }
}
