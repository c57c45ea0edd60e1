//! Histograms and summaries seen as what they mean: one series per label set, with buckets
//! (or quantiles), count, sum and creation time together.
//!
//! The formats spread one histogram over many lines (`x_bucket` per bound, `x_count`, `x_sum`,
//! `x_created`), and a checker wants the whole ("is the +Inf bucket equal to the count?").
//! Grouping is by the label set without `le` (or `quantile`), in any label order. What is
//! structurally wrong is reported per series as an issue, never a panic and never a silent
//! fix-up, because a broken histogram from a serving engine is itself a finding.

use crate::lex::number;
use crate::model::{Family, Label, MetricType, Sample, Suffix};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::HashMap;

/// One bucket: observations at or below `upper_bound`, cumulative.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    pub upper_bound: f64,
    pub cumulative_count: f64,
    pub line: usize,
}

/// What is structurally wrong with one histogram series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum HistogramIssue {
    /// A `_bucket` sample without an `le` label (the sample is left out of `buckets`).
    MissingLe { line: usize },
    /// An `le` that is not a number, or is NaN (left out of `buckets`).
    InvalidLe { line: usize, le: String },
    /// Two buckets with the same bound (the later one is left out of `buckets`).
    DuplicateLe { upper_bound: f64, line: usize },
    /// No `le="+Inf"` bucket, which every histogram must have.
    MissingInfBucket,
    /// A bucket holds fewer observations than a lower one, or a count is NaN: cumulative
    /// counts must not go down.
    NonMonotonic {
        upper_bound: f64,
        cumulative_count: f64,
        previous_count: f64,
        line: usize,
    },
    /// `_count` (or `_gcount`) differs from the `+Inf` bucket.
    CountMismatch { count: f64, inf_bucket: f64 },
}

/// One histogram (or gauge histogram) series: a label set's buckets, count, sum and creation.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSeries<'f, 'a> {
    /// The label set, without `le`, in the order of the series' first sample.
    pub labels: Vec<&'f Label<'a>>,
    /// Sorted by upper bound.
    pub buckets: Vec<Bucket>,
    /// `_count` (`_gcount` for a gauge histogram).
    pub count: Option<f64>,
    /// `_sum` (`_gsum` for a gauge histogram).
    pub sum: Option<f64>,
    /// `_created`, seconds since the epoch.
    pub created: Option<f64>,
    pub issues: Vec<HistogramIssue>,
}

/// One quantile of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantile {
    pub quantile: f64,
    pub value: f64,
    pub line: usize,
}

/// What is structurally wrong with one summary series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum SummaryIssue {
    /// A bare sample without a `quantile` label (left out of `quantiles`).
    MissingQuantile { line: usize },
    /// A `quantile` that is not a number in [0, 1] (left out of `quantiles`).
    InvalidQuantile { line: usize, quantile: String },
    /// Two samples for the same quantile (the later one is left out).
    DuplicateQuantile { quantile: f64, line: usize },
}

/// One summary series: a label set's quantiles, count, sum and creation.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySeries<'f, 'a> {
    /// The label set, without `quantile`.
    pub labels: Vec<&'f Label<'a>>,
    /// Sorted by quantile.
    pub quantiles: Vec<Quantile>,
    pub count: Option<f64>,
    pub sum: Option<f64>,
    pub created: Option<f64>,
    pub issues: Vec<SummaryIssue>,
}

/// A label set without one label, sorted by name: the same for any order of writing.
type SeriesKey<'f> = Vec<(&'f str, &'f str)>;

fn series_key<'f>(sample: &'f Sample<'_>, without: &str) -> SeriesKey<'f> {
    let mut key: SeriesKey<'f> = sample
        .labels
        .iter()
        .filter(|label| label.name != without)
        .map(|label| (label.name, label.value.as_ref()))
        .collect();
    key.sort_unstable();
    key
}

fn labels_without<'f, 'a>(sample: &'f Sample<'a>, without: &str) -> Vec<&'f Label<'a>> {
    sample.labels.iter().filter(|label| label.name != without).collect()
}

/// Groups `samples` by label set without `without`, in order of first appearance.
fn group<'f, 'a, T>(
    samples: &'f [Sample<'a>],
    without: &str,
    mut new: impl FnMut(&'f Sample<'a>) -> T,
    mut add: impl FnMut(&mut T, &'f Sample<'a>),
) -> Vec<T> {
    let mut index: HashMap<SeriesKey<'f>, usize> = HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for sample in samples {
        let position = *index.entry(series_key(sample, without)).or_insert_with(|| {
            out.push(new(sample));
            out.len() - 1
        });
        if let Some(series) = out.get_mut(position) {
            add(series, sample);
        }
    }
    out
}

impl<'a> Family<'a> {
    /// The family's histogram series; empty unless it is a histogram or gauge histogram.
    pub fn histograms(&self) -> Vec<HistogramSeries<'_, 'a>> {
        let (count_suffix, sum_suffix) = match self.kind {
            MetricType::Histogram => (Suffix::Count, Suffix::Sum),
            MetricType::GaugeHistogram => (Suffix::GCount, Suffix::GSum),
            _ => return Vec::new(),
        };
        let mut all = group(
            &self.samples,
            "le",
            |sample| HistogramSeries {
                labels: labels_without(sample, "le"),
                buckets: Vec::new(),
                count: None,
                sum: None,
                created: None,
                issues: Vec::new(),
            },
            |series, sample| match sample.suffix {
                Suffix::Bucket => match sample.label("le") {
                    None => series.issues.push(HistogramIssue::MissingLe { line: sample.line }),
                    Some(le) => match number(le).filter(|bound| !bound.is_nan()) {
                        None => series.issues.push(HistogramIssue::InvalidLe {
                            line: sample.line,
                            le: le.to_owned(),
                        }),
                        Some(upper_bound) => series.buckets.push(Bucket {
                            upper_bound,
                            cumulative_count: sample.value,
                            line: sample.line,
                        }),
                    },
                },
                suffix if suffix == count_suffix => series.count = Some(sample.value),
                suffix if suffix == sum_suffix => series.sum = Some(sample.value),
                Suffix::Created => series.created = Some(sample.value),
                _ => {}
            },
        );
        for series in &mut all {
            check_histogram(series);
        }
        all
    }

    /// The family's summary series; empty unless it is a summary.
    pub fn summaries(&self) -> Vec<SummarySeries<'_, 'a>> {
        if self.kind != MetricType::Summary {
            return Vec::new();
        }
        let mut all = group(
            &self.samples,
            "quantile",
            |sample| SummarySeries {
                labels: labels_without(sample, "quantile"),
                quantiles: Vec::new(),
                count: None,
                sum: None,
                created: None,
                issues: Vec::new(),
            },
            |series, sample| match sample.suffix {
                Suffix::None => match sample.label("quantile") {
                    None => series.issues.push(SummaryIssue::MissingQuantile { line: sample.line }),
                    Some(text) => match number(text).filter(|q| (0.0..=1.0).contains(q)) {
                        None => series.issues.push(SummaryIssue::InvalidQuantile {
                            line: sample.line,
                            quantile: text.to_owned(),
                        }),
                        Some(quantile) => series.quantiles.push(Quantile {
                            quantile,
                            value: sample.value,
                            line: sample.line,
                        }),
                    },
                },
                Suffix::Count => series.count = Some(sample.value),
                Suffix::Sum => series.sum = Some(sample.value),
                Suffix::Created => series.created = Some(sample.value),
                _ => {}
            },
        );
        for series in &mut all {
            series.quantiles.sort_by(|a, b| a.quantile.total_cmp(&b.quantile));
            let mut kept: Vec<Quantile> = Vec::with_capacity(series.quantiles.len());
            for quantile in series.quantiles.drain(..) {
                if kept.last().is_some_and(|last| last.quantile == quantile.quantile) {
                    series.issues.push(SummaryIssue::DuplicateQuantile {
                        quantile: quantile.quantile,
                        line: quantile.line,
                    });
                } else {
                    kept.push(quantile);
                }
            }
            series.quantiles = kept;
        }
        all
    }
}

fn check_histogram(series: &mut HistogramSeries<'_, '_>) {
    // Stable sort by bound, then by line: of two equal bounds the one written first is kept.
    series
        .buckets
        .sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound).then(a.line.cmp(&b.line)));
    let mut kept: Vec<Bucket> = Vec::with_capacity(series.buckets.len());
    for bucket in series.buckets.drain(..) {
        match kept.last() {
            Some(last) if last.upper_bound == bucket.upper_bound => {
                series.issues.push(HistogramIssue::DuplicateLe {
                    upper_bound: bucket.upper_bound,
                    line: bucket.line,
                });
                continue;
            }
            Some(last)
                if !matches!(
                    bucket.cumulative_count.partial_cmp(&last.cumulative_count),
                    Some(Ordering::Greater | Ordering::Equal)
                ) =>
            {
                series.issues.push(HistogramIssue::NonMonotonic {
                    upper_bound: bucket.upper_bound,
                    cumulative_count: bucket.cumulative_count,
                    previous_count: last.cumulative_count,
                    line: bucket.line,
                });
            }
            _ => {}
        }
        kept.push(bucket);
    }
    series.buckets = kept;
    match series.buckets.last().filter(|last| last.upper_bound == f64::INFINITY) {
        None => series.issues.push(HistogramIssue::MissingInfBucket),
        Some(inf) => {
            if let Some(count) = series.count
                && count != inf.cumulative_count
                && !(count.is_nan() && inf.cumulative_count.is_nan())
            {
                series.issues.push(HistogramIssue::CountMismatch {
                    count,
                    inf_bucket: inf.cumulative_count,
                });
            }
        }
    }
}
