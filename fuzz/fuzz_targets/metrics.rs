//! Fuzzes the metrics exposition parser: any bytes, as Prometheus text and as OpenMetrics,
//! through the full parse, the histogram and summary views and the summary. Nothing may
//! panic, every error must point at a real position with a bounded excerpt, and the streaming
//! path must report exactly what the collecting one does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelspec_probe_metrics::{EXCERPT_CHARS, Format, Limits, Visitor, parse_bytes, visit_bytes};

struct Nothing;

impl Visitor<'_> for Nothing {}

fuzz_target!(|data: &[u8]| {
    // Small caps so that the fuzzer reaches them too.
    let limits = Limits {
        max_line_bytes: 512,
        max_labels_per_sample: 8,
        max_series: 64,
        max_families: 16,
        max_errors: 8,
        detect_duplicate_series: true,
    };
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 2;
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let exposition = parse_bytes(data, format, &limits);
        let outcome = &exposition.outcome;
        assert!(outcome.errors.len() <= limits.max_errors);
        assert!(outcome.error_count >= outcome.errors.len());
        assert!(outcome.counts.samples <= limits.max_series);
        assert!(outcome.counts.bytes <= data.len());
        for error in &outcome.errors {
            assert!(error.line >= 1 && error.line <= lines && error.column >= 1, "{error:?}");
            assert!(error.excerpt.chars().count() <= EXCERPT_CHARS + 6, "{error:?}");
        }
        for family in &exposition.families {
            for series in family.histograms() {
                assert!(series.buckets.windows(2).all(|w| w[0].upper_bound < w[1].upper_bound));
            }
            let _ = family.summaries();
        }
        let summary = exposition.summary();
        assert_eq!(summary.families.len(), exposition.families.len());
        assert_eq!(visit_bytes(data, format, &limits, &mut Nothing), exposition.outcome);
    }
    let _ = Format::detect(None, data);
});
