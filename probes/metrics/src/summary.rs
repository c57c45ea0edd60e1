//! An owned, serializable digest of an exposition, for a command that prints one.
//!
//! [`crate::Exposition`] borrows from the input and holds every sample; a report needs neither.
//! This keeps, per family, its metadata and how big it is, plus the outcome, all owned so it
//! can outlive the scraped body and go straight to JSON.

use crate::Exposition;
use crate::format::Format;
use crate::limits::CapHit;
use crate::model::{Family, MetricType, Suffix};
use crate::report::{Counts, ParseError};
use serde::Serialize;
use std::collections::HashSet;

/// One family, by size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilySummary {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: MetricType,
    pub help: Option<String>,
    pub unit: Option<String>,
    /// Distinct label sets, not counting `le` and `quantile`: a histogram with 20 buckets for
    /// two models is 2 series. A histogram's `_count` and `_sum` belong to their buckets' series.
    pub series: usize,
    /// Sample lines.
    pub samples: usize,
    /// Structural problems found by [`Family::histograms`] and [`Family::summaries`].
    pub issues: usize,
}

/// An exposition's families and outcome, owned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpositionSummary {
    pub format: Format,
    pub families: Vec<FamilySummary>,
    /// Errors kept (see `error_count` for all of them), each with line and column.
    pub errors: Vec<ParseError>,
    pub error_count: usize,
    pub caps: Vec<CapHit>,
    pub counts: Counts,
}

impl Exposition<'_> {
    /// The owned digest of this exposition.
    pub fn summary(&self) -> ExpositionSummary {
        ExpositionSummary {
            format: self.outcome.format,
            families: self.families.iter().map(family_summary).collect(),
            errors: self.outcome.errors.clone(),
            error_count: self.outcome.error_count,
            caps: self.outcome.caps.clone(),
            counts: self.outcome.counts,
        }
    }
}

fn family_summary(family: &Family<'_>) -> FamilySummary {
    let mut label_sets: HashSet<Vec<(&str, &str)>> = HashSet::new();
    for sample in &family.samples {
        // A stateset's label named after the family tells the state, not the series; the rest
        // of the set does.
        let skip = |name: &str| {
            name == "le" && sample.suffix == Suffix::Bucket
                || name == "quantile" && family.kind == MetricType::Summary
                || name == family.name && family.kind == MetricType::StateSet
        };
        let mut key: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .filter(|label| !skip(label.name))
            .map(|label| (label.name, label.value.as_ref()))
            .collect();
        key.sort_unstable();
        label_sets.insert(key);
    }
    let issues = family
        .histograms()
        .iter()
        .map(|series| series.issues.len())
        .chain(family.summaries().iter().map(|series| series.issues.len()))
        .sum();
    FamilySummary {
        name: family.name.to_owned(),
        kind: family.kind,
        help: family.help.as_ref().map(|help| help.to_string()),
        unit: family.unit.map(str::to_owned),
        series: label_sets.len(),
        samples: family.samples.len(),
        issues,
    }
}
