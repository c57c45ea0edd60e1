//! Bounds on what one parse may use, and the record of hitting one.
//!
//! The parser reads what a remote process sends, and a misbehaving exporter (or anything
//! listening on the port) can send anything: one endless line, a million labels, a billion
//! series. Each of those would otherwise become memory. Every structure that grows with the
//! input is capped here, and reaching a cap is reported as data ([`CapHit`]) so that a result
//! cut short is never mistaken for a complete one.

use serde::Serialize;

/// Caps for one parse. The defaults fit any real serving engine's scrape with room to spare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, in bytes without its `\n`. A longer line is an error and is skipped
    /// without being looked at.
    pub max_line_bytes: usize,
    /// Most labels on one sample (or one exemplar). More makes the line an error.
    pub max_labels_per_sample: usize,
    /// Most samples accepted; parsing stops at the cap. With duplicate detection on (the
    /// default) every accepted sample is a distinct series, hence the name.
    pub max_series: usize,
    /// Most families (declared or implied by a sample name). Lines that would add one more are
    /// errors; parsing goes on.
    pub max_families: usize,
    /// Most errors kept in the result. Later errors are still counted, and still passed to a
    /// visitor, but not stored.
    pub max_errors: usize,
    /// Whether to report a series (name and label set) seen twice.
    ///
    /// This is the one check that needs memory per series: a map from a 64-bit keyed hash of
    /// each series to its line, about 24 bytes a series, bounded by `max_series`. Turn it off
    /// for memory that does not grow with the series count at all, at the price of accepting
    /// duplicates silently.
    pub detect_duplicate_series: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 64 * 1024,
            max_labels_per_sample: 128,
            max_series: 2_000_000,
            max_families: 100_000,
            max_errors: 100,
            detect_duplicate_series: true,
        }
    }
}

/// Which cap was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    LineBytes,
    LabelsPerSample,
    Series,
    Families,
    Errors,
}

/// The first time a cap was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CapHit {
    pub cap: Cap,
    /// The cap's value.
    pub limit: usize,
    /// 1-based line where it was first reached.
    pub line: usize,
    /// Whether parsing stopped there (only [`Cap::Series`] stops it).
    pub stopped: bool,
}
