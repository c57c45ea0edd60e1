//! A real scrape: `tests/fixtures/vllm-0.32-cpu.prom` is the `/metrics` body of vLLM 0.32.0 (CPU
//! build, `shared/real-vllm`, a tiny Llama served as `tiny-llama`), captured with its header
//! `Content-Type: text/plain; version=1.0.0; charset=utf-8`. The body is 0.0.4 text despite
//! the version, which is why `text/plain` of any version means Prometheus text.

use modelspec_probe_metrics::{Format, Limits, MetricType, Suffix, parse};

const BODY: &str = include_str!("fixtures/vllm-0.32-cpu.prom");
const CONTENT_TYPE: &str = "text/plain; version=1.0.0; charset=utf-8";

#[test]
fn real_vllm_scrape_parses_clean() {
    let format = Format::detect(Some(CONTENT_TYPE), BODY.as_bytes());
    assert_eq!(format, Format::Prometheus);
    let exposition = parse(BODY, format, &Limits::default());
    assert!(exposition.outcome.is_clean(), "{:#?}", exposition.outcome.errors);
    assert_eq!(exposition.outcome.counts.samples, 440);
    assert_eq!(exposition.outcome.counts.lines, BODY.lines().count());

    let Some(latency) = exposition.family("vllm:e2e_request_latency_seconds") else {
        panic!("no latency histogram");
    };
    assert_eq!(latency.kind, MetricType::Histogram);
    let histograms = latency.histograms();
    assert_eq!(histograms.len(), 1);
    let Some(series) = histograms.first() else {
        unreachable!()
    };
    let labels: Vec<_> = series.labels.iter().map(|l| (l.name, l.value.as_ref())).collect();
    assert_eq!(labels, [("engine", "0"), ("model_name", "tiny-llama")]);
    assert_eq!(series.buckets.len(), 22, "vLLM's 21 latency bounds and +Inf");
    assert_eq!(series.buckets.first().map(|b| b.upper_bound), Some(0.3));
    assert_eq!(series.count, Some(0.0));

    // Every `_created` is its own gauge family, never a histogram's or counter's suffix.
    let created = exposition.family("vllm:e2e_request_latency_seconds_created");
    assert_eq!(created.map(|f| (f.kind, f.samples.len())), Some((MetricType::Gauge, 1)));
    assert!(
        exposition
            .families
            .iter()
            .flat_map(|f| &f.samples)
            .all(|s| s.suffix != Suffix::Created)
    );

    // No structural problem anywhere.
    for family in &exposition.families {
        for series in family.histograms() {
            assert_eq!(series.issues, [], "{}", family.name);
        }
        for series in family.summaries() {
            assert_eq!(series.issues, [], "{}", family.name);
        }
    }
    let colon_families = exposition
        .families
        .iter()
        .filter(|f| f.name.starts_with("vllm:"))
        .count();
    assert_eq!(colon_families, 72);
}

/// Read as OpenMetrics (what a client trusting `version=1.0.0` might do), the same body is
/// wrong in ways the parser must say: 0.0.4 counters keep `_total` in the family name, and
/// there is no `# EOF`.
#[test]
fn the_same_body_as_openmetrics_is_refused_loudly() {
    let exposition = parse(BODY, Format::OpenMetrics, &Limits::default());
    assert!(exposition.outcome.error_count > 10);
    let Some(first) = exposition.outcome.errors.first() else {
        panic!("no errors");
    };
    assert_eq!((first.line, first.column), (3, 1), "{first}");
    assert!(
        first.message.contains("python_gc_objects_collected_total_total"),
        "{first}"
    );
    let last_message = exposition.outcome.errors.last().map(|e| e.message.as_str());
    assert!(
        exposition.outcome.error_count > exposition.outcome.errors.len()
            || last_message.is_some_and(|m| m.contains("missing # EOF"))
    );
}
