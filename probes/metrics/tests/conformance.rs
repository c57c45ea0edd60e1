//! Conformance: every construct of both formats, accepted or refused with the right position.
//!
//! Each test states one rule and checks both that the rule is applied and that nothing else
//! was (no stray errors, the neighbouring lines still parsed).

use modelspec_probe_metrics::{
    Cap, Exposition, Family, Format, HistogramIssue, Limits, MetricType, ParseError, Sample, Suffix, SummaryIssue,
    Timestamp, parse, parse_bytes,
};
use std::borrow::Cow;

fn prom(text: &str) -> Exposition<'_> {
    parse(text, Format::Prometheus, &Limits::default())
}

fn om(text: &str) -> Exposition<'_> {
    parse(text, Format::OpenMetrics, &Limits::default())
}

fn clean(exposition: &Exposition<'_>) {
    assert!(
        exposition.outcome.is_clean(),
        "expected no errors, got {:#?} and caps {:?}",
        exposition.outcome.errors,
        exposition.outcome.caps
    );
}

fn family<'e, 'a>(exposition: &'e Exposition<'a>, name: &str) -> &'e Family<'a> {
    match exposition.family(name) {
        Some(family) => family,
        None => panic!(
            "no family `{name}`; have {:?}",
            exposition.families.iter().map(|f| f.name).collect::<Vec<_>>()
        ),
    }
}

fn sample<'f, 'a>(family: &'f Family<'a>, position: usize) -> &'f Sample<'a> {
    match family.samples.get(position) {
        Some(sample) => sample,
        None => panic!("family `{}` has {} samples", family.name, family.samples.len()),
    }
}

/// The exposition's only error, which must be at `line`:`column` and mention `fragment`.
fn only_error<'e>(exposition: &'e Exposition<'_>, line: usize, column: usize, fragment: &str) -> &'e ParseError {
    let errors = &exposition.outcome.errors;
    assert_eq!(exposition.outcome.error_count, 1, "expected one error, got {errors:#?}");
    let Some(error) = errors.first() else {
        panic!("error counted but not kept");
    };
    assert_eq!((error.line, error.column), (line, column), "{error}");
    assert!(
        error.message.contains(fragment),
        "`{}` lacks `{fragment}`",
        error.message
    );
    error
}

fn values(family: &Family<'_>) -> Vec<f64> {
    family.samples.iter().map(|sample| sample.value).collect()
}

/// Shaped like vLLM 0.32's `/metrics` (prometheus_client, 0.0.4): colon names, `_created` as
/// separate gauges, labels sorted with `le` among them.
const VLLM: &str = r#"# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 0.0
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="m"} 1234.0
# HELP vllm:prompt_tokens_created Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_created gauge
vllm:prompt_tokens_created{engine="0",model_name="m"} 1.7643264e+09
# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="m"} 4.25
vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3",model_name="m"} 0.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.5",model_name="m"} 1.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.8",model_name="m"} 1.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="m"} 2.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="7680.0",model_name="m"} 3.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} 3.0
vllm:e2e_request_latency_seconds_count{engine="0",model_name="m"} 3.0
# HELP vllm:e2e_request_latency_seconds_created Histogram of e2e request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds_created gauge
vllm:e2e_request_latency_seconds_created{engine="0",model_name="m"} 1.7643264019e+09
"#;

#[test]
fn colon_named_vllm_families_with_created_gauges() {
    let exposition = prom(VLLM);
    clean(&exposition);
    let names: Vec<_> = exposition.families.iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        names,
        [
            ("vllm:num_requests_waiting", MetricType::Gauge),
            ("vllm:prompt_tokens_total", MetricType::Counter),
            ("vllm:prompt_tokens_created", MetricType::Gauge),
            ("vllm:e2e_request_latency_seconds", MetricType::Histogram),
            ("vllm:e2e_request_latency_seconds_created", MetricType::Gauge),
        ]
    );
    let latency = family(&exposition, "vllm:e2e_request_latency_seconds");
    assert_eq!(latency.samples.len(), 8);
    assert_eq!(
        latency.help.as_deref(),
        Some("Histogram of e2e request latency in seconds.")
    );
    let histograms = latency.histograms();
    assert_eq!(histograms.len(), 1, "one label set");
    let Some(series) = histograms.first() else {
        unreachable!()
    };
    assert_eq!(series.issues, []);
    let labels: Vec<_> = series.labels.iter().map(|l| (l.name, l.value.as_ref())).collect();
    assert_eq!(labels, [("engine", "0"), ("model_name", "m")]);
    let bounds: Vec<_> = series.buckets.iter().map(|b| b.upper_bound).collect();
    assert_eq!(bounds, [0.3, 0.5, 0.8, 1.0, 7680.0, f64::INFINITY]);
    assert_eq!(
        (series.count, series.sum, series.created),
        (Some(3.0), Some(4.25), None)
    );
    let created = family(&exposition, "vllm:e2e_request_latency_seconds_created");
    assert_eq!(values(created), [1.7643264019e9]);
    assert_eq!(sample(created, 0).suffix, Suffix::None);
    assert_eq!(exposition.outcome.counts.samples, 12);
    assert_eq!(exposition.outcome.counts.metadata, 10);
}

#[test]
fn openmetrics_histogram_with_unit_keeps_one_family() {
    let text = "# TYPE request_latency_seconds histogram\n\
                # UNIT request_latency_seconds seconds\n\
                # HELP request_latency_seconds Latency.\n\
                request_latency_seconds_bucket{le=\"0.5\"} 1\n\
                request_latency_seconds_bucket{le=\"+Inf\"} 2\n\
                request_latency_seconds_count 2\n\
                request_latency_seconds_sum 1.5\n\
                request_latency_seconds_created 1700000000.25\n\
                # EOF\n";
    let exposition = om(text);
    clean(&exposition);
    assert_eq!(exposition.families.len(), 1);
    let latency = family(&exposition, "request_latency_seconds");
    assert_eq!(
        (latency.kind, latency.unit, latency.help.as_deref()),
        (MetricType::Histogram, Some("seconds"), Some("Latency."))
    );
    let suffixes: Vec<_> = latency.samples.iter().map(|s| s.suffix).collect();
    assert_eq!(
        suffixes,
        [
            Suffix::Bucket,
            Suffix::Bucket,
            Suffix::Count,
            Suffix::Sum,
            Suffix::Created
        ]
    );
    let histograms = latency.histograms();
    let Some(series) = histograms.first() else {
        panic!("no series")
    };
    assert_eq!(series.issues, []);
    assert_eq!(series.created, Some(1_700_000_000.25));
}

#[test]
fn unit_must_be_the_name_suffix() {
    let text = "# TYPE latency histogram\n# UNIT latency seconds\n# EOF\n";
    let exposition = om(text);
    only_error(&exposition, 2, 8, "not the suffix");
    // `_seconds` must follow an underscore: `latencyseconds` does not end in `_seconds`.
    only_error(&om("# UNIT latencyseconds seconds\n# EOF\n"), 1, 8, "not the suffix");
}

#[test]
fn label_values_with_escapes_commas_and_braces() {
    let line =
        r#"m{plain="a",comma="x,y",brace="}{",quote="say \"hi\"",backslash="C:\\dir",newline="one\ntwo",empty=""} 1"#;
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = match format {
            Format::Prometheus => format!("{line}\n"),
            Format::OpenMetrics => format!("{line}\n# EOF\n"),
        };
        let exposition = parse(&text, format, &Limits::default());
        clean(&exposition);
        let m = sample(family(&exposition, "m"), 0);
        let labels: Vec<_> = m.labels.iter().map(|l| (l.name, l.value.as_ref())).collect();
        assert_eq!(
            labels,
            [
                ("plain", "a"),
                ("comma", "x,y"),
                ("brace", "}{"),
                ("quote", "say \"hi\""),
                ("backslash", "C:\\dir"),
                ("newline", "one\ntwo"),
                ("empty", ""),
            ],
            "{format}"
        );
        let borrowed: Vec<_> = m.labels.iter().map(|l| matches!(l.value, Cow::Borrowed(_))).collect();
        assert_eq!(
            borrowed,
            [true, true, true, false, false, false, true],
            "only decoded values are owned"
        );
    }
}

#[test]
fn label_escapes_other_than_the_three_are_errors() {
    let exposition = prom("a 1\nm{x=\"tab\\there\"} 1\nb 2\n");
    only_error(&exposition, 2, 9, "invalid escape");
    assert_eq!(exposition.families.len(), 2, "lines around the error still parsed");
}

#[test]
fn special_values_in_every_accepted_spelling() {
    let text = "a NaN\nb nan\nc +Inf\nd -Inf\ne +inf\nf Inf\ng -infinity\nh INF\ni 1e3\nj -.5\nk 1.7e+09\n";
    let exposition = prom(text);
    clean(&exposition);
    let got: Vec<f64> = exposition.families.iter().map(|f| sample(f, 0).value).collect();
    assert!(got[0].is_nan() && got[1].is_nan());
    assert_eq!(
        got[2..],
        [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            1000.0,
            -0.5,
            1.7e9
        ]
    );
    // Go's ParseFloat, the reference, refuses a signed NaN; so do we.
    only_error(&prom("a +NaN\n"), 1, 3, "invalid value `+NaN`");
    only_error(&prom("a 0x10\n"), 1, 3, "invalid value");
    only_error(&om("a 1_000\n# EOF\n"), 1, 3, "invalid value");
}

#[test]
fn timestamps_are_integer_millis_in_prometheus_and_float_seconds_in_openmetrics() {
    let exposition = prom("a 1 1700000000123\nb 2 -5\n");
    clean(&exposition);
    assert_eq!(
        sample(family(&exposition, "a"), 0).timestamp,
        Some(Timestamp::Millis(1_700_000_000_123))
    );
    assert_eq!(
        sample(family(&exposition, "b"), 0).timestamp,
        Some(Timestamp::Millis(-5))
    );
    only_error(&prom("a 1 1.5\n"), 1, 5, "integer milliseconds");

    let exposition = om("a 1 1700000000.123\n# EOF\n");
    clean(&exposition);
    let timestamp = sample(family(&exposition, "a"), 0).timestamp;
    assert_eq!(timestamp, Some(Timestamp::Seconds(1_700_000_000.123)));
    assert_eq!(timestamp.map(Timestamp::as_seconds), Some(1_700_000_000.123));
    only_error(&om("a 1 NaN\n# EOF\n"), 1, 5, "invalid timestamp");
}

#[test]
fn exemplars_on_buckets_and_totals() {
    let text = "# TYPE h histogram\n\
                h_bucket{le=\"1\"} 3 # {trace_id=\"abc\",span=\"} # \"} 0.5 1700000000.5\n\
                h_bucket{le=\"+Inf\"} 4 1700000001 # {trace_id=\"def\"} 2\n\
                h_count 4\n\
                h_sum 3.5\n\
                # TYPE c counter\n\
                c_total 7 # {trace_id=\"x\"} 1\n\
                # EOF\n";
    let exposition = om(text);
    clean(&exposition);
    let h = family(&exposition, "h");
    let first = match &sample(h, 0).exemplar {
        Some(exemplar) => exemplar,
        None => panic!("no exemplar"),
    };
    let labels: Vec<_> = first.labels.iter().map(|l| (l.name, l.value.as_ref())).collect();
    assert_eq!(labels, [("trace_id", "abc"), ("span", "} # ")]);
    assert_eq!((first.value, first.timestamp), (0.5, Some(1_700_000_000.5)));
    let second = &sample(h, 1);
    assert_eq!(second.timestamp, Some(Timestamp::Seconds(1_700_000_001.0)));
    assert_eq!(
        second.exemplar.as_ref().map(|e| (e.value, e.timestamp)),
        Some((2.0, None))
    );
    assert!(
        sample(h, 2).exemplar.is_none(),
        "an exemplar does not leak to the next sample"
    );
    assert!(sample(family(&exposition, "c"), 0).exemplar.is_some());
}

#[test]
fn exemplars_in_the_wrong_place_are_errors() {
    only_error(
        &om("# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n"),
        2,
        5,
        "exemplar on a gauge",
    );
    only_error(&prom("c_total 1 # {a=\"b\"} 1\n"), 1, 11, "only in OpenMetrics");
    let long = "x".repeat(130);
    let text = format!("# TYPE c counter\nc_total 1 # {{id=\"{long}\"}} 1\n# EOF\n");
    only_error(&om(&text), 2, 13, "over the 128 allowed");
    only_error(
        &om("# TYPE c counter\nc_total 1 # {a=\"b\"}\n# EOF\n"),
        2,
        20,
        "exemplar's value",
    );
}

#[test]
fn openmetrics_needs_eof_last() {
    let exposition = om("a 1\nb 2\n");
    only_error(&exposition, 3, 1, "missing # EOF");
    assert_eq!(exposition.families.len(), 2, "samples before the missing EOF are kept");
    only_error(&om("a 1"), 2, 1, "missing # EOF");
    only_error(&om(""), 1, 1, "missing # EOF");
    let exposition = om("a 1\n# EOF\nb 2\n");
    let error = only_error(&exposition, 3, 1, "content after # EOF (line 2)");
    assert_eq!(error.excerpt, "b 2");
    assert!(exposition.family("b").is_none());
    only_error(&om("a 1\n# EOF\n\n"), 3, 1, "content after # EOF");
    clean(&om("a 1\n# EOF"));
    clean(&om("# EOF\n"));
    // 0.0.4 has no EOF marker: the line is a comment.
    clean(&prom("a 1\n# EOF\n"));
}

#[test]
fn help_escapes() {
    let exposition = prom("# HELP a Back\\\\slash, new\\nline, other \\x kept.  \na 1\n");
    clean(&exposition);
    assert_eq!(
        family(&exposition, "a").help.as_deref(),
        Some("Back\\slash, new\nline, other \\x kept.")
    );
    let exposition = om("# HELP a Say \\\"hi\\\"\\n\n# EOF\n");
    clean(&exposition);
    assert_eq!(family(&exposition, "a").help.as_deref(), Some("Say \"hi\"\n"));
    only_error(&om("# HELP a bad \\x\n# EOF\n"), 1, 14, "invalid escape");
    let exposition = prom("# HELP a plain\na 1\n");
    assert!(matches!(family(&exposition, "a").help, Some(Cow::Borrowed("plain"))));
}

#[test]
fn type_after_samples_or_twice_is_an_error() {
    let exposition = prom("a 1\n# TYPE a counter\n");
    only_error(&exposition, 2, 1, "after its samples (first on line 1)");
    assert_eq!(
        family(&exposition, "a").kind,
        MetricType::Unknown,
        "the late TYPE is not applied"
    );
    only_error(
        &prom("# TYPE a counter\n# TYPE a gauge\na 1\n"),
        2,
        1,
        "second # TYPE for `a` (first on line 1)",
    );
    only_error(&prom("# HELP a x\n# HELP a y\n"), 2, 1, "second # HELP");
    // A sample already read as its own family would now belong to the declared one.
    only_error(
        &prom("a_total 1\n# TYPE a counter\n"),
        2,
        1,
        "after its sample `a_total`",
    );
    // 0.0.4 allows HELP anywhere; OpenMetrics wants all metadata first.
    clean(&prom("a 1\n# HELP a late\n"));
    only_error(&om("a 1\n# HELP a late\n# EOF\n"), 2, 1, "after its samples");
    only_error(
        &om("# TYPE a gauge\n# UNIT a\n# UNIT a\n# EOF\n"),
        3,
        1,
        "second # UNIT",
    );
}

#[test]
fn samples_without_type_are_unknown_families_of_their_own_name() {
    let exposition = prom("foo_bucket{le=\"1\"} 1\nfoo_count 1\nbar 2\n");
    clean(&exposition);
    let kinds: Vec<_> = exposition.families.iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("foo_bucket", MetricType::Unknown),
            ("foo_count", MetricType::Unknown),
            ("bar", MetricType::Unknown)
        ]
    );
    let exposition = prom("# TYPE x untyped\nx 1\n");
    clean(&exposition);
    assert_eq!(family(&exposition, "x").kind, MetricType::Unknown);
}

#[test]
fn suffixes_map_to_their_families() {
    // TGI: 0.0.4 counters without `_total` are fine.
    let exposition = prom("# TYPE tgi_request_count counter\ntgi_request_count 5\n");
    clean(&exposition);
    assert_eq!(family(&exposition, "tgi_request_count").kind, MetricType::Counter);

    let text = "# TYPE requests counter\n\
                requests_total{code=\"200\"} 5\n\
                requests_created{code=\"200\"} 1700000000\n\
                # TYPE build info\n\
                build_info{version=\"1.0\"} 1\n\
                # TYPE state stateset\n\
                state{state=\"ready\"} 1\n\
                state{state=\"busy\"} 0\n\
                # TYPE queue gaugehistogram\n\
                queue_bucket{le=\"1\"} 2\n\
                queue_bucket{le=\"+Inf\"} 3\n\
                queue_gcount 3\n\
                queue_gsum 1.5\n\
                # TYPE rpc summary\n\
                rpc{quantile=\"0.5\"} 0.2\n\
                rpc{quantile=\"0.9\"} 0.7\n\
                rpc_count 10\n\
                rpc_sum 3\n\
                # TYPE other unknown\n\
                other 1\n\
                # EOF\n";
    let exposition = om(text);
    clean(&exposition);
    let shape: Vec<_> = exposition
        .families
        .iter()
        .map(|f| (f.name, f.kind, f.samples.iter().map(|s| s.suffix).collect::<Vec<_>>()))
        .collect();
    use Suffix::*;
    assert_eq!(
        shape,
        [
            ("requests", MetricType::Counter, vec![Total, Created]),
            ("build", MetricType::Info, vec![Info]),
            ("state", MetricType::StateSet, vec![None, None]),
            ("queue", MetricType::GaugeHistogram, vec![Bucket, Bucket, GCount, GSum]),
            ("rpc", MetricType::Summary, vec![None, None, Count, Sum]),
            ("other", MetricType::Unknown, vec![None]),
        ]
    );
    let queue = family(&exposition, "queue").histograms();
    assert_eq!(
        queue
            .first()
            .map(|s| (s.count, s.sum, s.buckets.len(), s.issues.is_empty())),
        Some((Some(3.0), Some(1.5), 2, true))
    );
    // OpenMetrics counters are `_total` only.
    only_error(
        &om("# TYPE c counter\nc 1\n# EOF\n"),
        2,
        1,
        "expected c_total, c_created",
    );
    // A histogram has no bare sample, in either format.
    only_error(
        &prom("# TYPE h histogram\nh 1\n"),
        2,
        1,
        "not a sample name of histogram",
    );
    // `untyped` is 0.0.4's word, `unknown` OpenMetrics'; OpenMetrics-only types are not 0.0.4.
    only_error(&om("# TYPE x untyped\n# EOF\n"), 1, 10, "unknown type `untyped`");
    only_error(&prom("# TYPE x info\n"), 1, 10, "unknown type `info`");
}

#[test]
fn blank_lines_comments_and_whitespace() {
    let exposition = prom("\n   \n# a comment\n#another\n  a{ x = \"1\" , } \t 2 \t\n\n");
    clean(&exposition);
    assert_eq!(exposition.outcome.counts.ignored, 5);
    assert_eq!(sample(family(&exposition, "a"), 0).label("x"), Some("1"));
    assert_eq!(values(family(&exposition, "a")), [2.0]);

    only_error(&om("a 1\n\nb 2\n# EOF\n"), 2, 1, "blank line");
    only_error(&om("# a comment\n# EOF\n"), 1, 1, "no comments");
    only_error(&om("a 1 \n# EOF\n"), 1, 4, "trailing whitespace");
    only_error(&om("a  1\n# EOF\n"), 1, 3, "more than one space");
    only_error(&om(" a 1\n# EOF\n"), 1, 1, "leading whitespace");
    only_error(&om("a\t1\n# EOF\n"), 1, 2, "tab");
    only_error(&om("a{x=\"1\",} 1\n# EOF\n"), 1, 8, "trailing comma");
    only_error(&om("a{x=\"1\"} 1 2  \n# EOF\n"), 1, 13, "trailing whitespace");
    clean(&om("a{} 1\n# EOF\n"));
}

#[test]
fn crlf_is_tolerated_in_prometheus_and_reported_in_openmetrics() {
    let exposition = prom("# TYPE a gauge\r\na{x=\"1\"} 2\r\nb 3 1000\r\n");
    clean(&exposition);
    assert_eq!(values(family(&exposition, "a")), [2.0]);
    assert_eq!(
        sample(family(&exposition, "b"), 0).timestamp,
        Some(Timestamp::Millis(1000))
    );
    let exposition = om("a 1\r\n# EOF\n");
    only_error(&exposition, 1, 4, "carriage return");
}

#[test]
fn duplicate_series_are_errors_whatever_the_label_order() {
    let exposition = prom("a{x=\"1\",y=\"2\"} 1\na{x=\"1\",y=\"3\"} 1\na{y=\"2\",x=\"1\"} 5\n");
    only_error(&exposition, 3, 1, "duplicate series: same name and labels as line 1");
    assert_eq!(values(family(&exposition, "a")), [1.0, 1.0]);
    // Escaped values, and blocks written unsorted or with blanks, are the same series too.
    let exposition = prom("a{x=\"q\\\"\\n\",y=\"2\"} 1\na{ y = \"2\" , x=\"q\\\"\\n\" , } 2\n");
    only_error(&exposition, 2, 1, "same name and labels as line 1");
    let exposition = om("a{y=\"2\",x=\"1\"} 1\na{x=\"1\",y=\"2\"} 2\n# EOF\n");
    only_error(&exposition, 2, 1, "same name and labels as line 1");
    // Values that differ only in an escape are different series.
    clean(&prom("a{x=\"\\\\n\"} 1\na{x=\"\\n\"} 2\n"));
    // Same labels, different sample names: not duplicates.
    clean(&prom("# TYPE h histogram\nh_count 1\nh_sum 1\n"));
    let off = Limits {
        detect_duplicate_series: false,
        ..Limits::default()
    };
    let exposition = parse("a 1\na 2\n", Format::Prometheus, &off);
    clean(&exposition);
    assert_eq!(values(family(&exposition, "a")), [1.0, 2.0]);
}

#[test]
fn interleaved_families_are_merged_in_prometheus_and_refused_in_openmetrics() {
    let exposition = prom("a{x=\"1\"} 1\nb 2\na{x=\"2\"} 3\n");
    clean(&exposition);
    assert_eq!(values(family(&exposition, "a")), [1.0, 3.0]);
    only_error(
        &om("a{x=\"1\"} 1\nb 2\na{x=\"2\"} 3\n# EOF\n"),
        3,
        1,
        "must not interleave",
    );
    only_error(
        &om("# TYPE a gauge\n# TYPE b gauge\n# HELP a x\n# EOF\n"),
        3,
        1,
        "must not interleave",
    );
}

/// Each malformed shape: (input line, column, message fragment). Every one is line 2, between
/// two good lines that must still parse.
#[test]
fn malformed_lines_have_the_right_position() {
    let cases: &[(&str, usize, &str)] = &[
        ("m{a=\"b\" 1", 9, "expected , or }"),
        ("m{a=b} 1", 5, "expected \" to open"),
        ("m{1a=\"b\"} 1", 3, "expected a label name"),
        ("m{a} 1", 4, "expected = after the label name"),
        ("m{a=\"b\",a=\"c\"} 1", 9, "label `a` appears twice"),
        ("m{a=\"never closed} 1", 5, "label value is not closed"),
        ("m{a=\"b\"", 8, "label set is not closed"),
        ("m 1 2 3", 7, "unexpected text after the timestamp"),
        ("m abc", 3, "invalid value `abc`"),
        ("m", 2, "expected a value"),
        ("{a=\"b\"} 1", 1, "expected a metric name"),
        ("9m 1", 1, "expected a metric name"),
        ("m-x 1", 2, "invalid character in metric name"),
        ("m 1 abc", 5, "invalid timestamp `abc`"),
        ("# TYPE m blah", 10, "unknown type `blah`"),
        ("# TYPE m", 9, "# TYPE without a type"),
        ("# TYPE m gauge extra", 16, "unexpected text after the type"),
        ("# HELP", 3, "# HELP without a metric name"),
        ("# TYPE 9m gauge", 8, "invalid metric name"),
        ("m{a=\"héllo\",b=x} 1", 15, "expected \" to open"),
    ];
    for &(bad, column, fragment) in cases {
        let text = format!("good_before 1\n{bad}\ngood_after 2\n");
        let exposition = prom(&text);
        let error = only_error(&exposition, 2, column, fragment);
        assert_eq!(error.excerpt, bad);
        assert!(exposition.family("good_before").is_some() && exposition.family("good_after").is_some());
    }
}

#[test]
fn long_lines_are_excerpted_around_the_error() {
    let labels: String = (0..60).map(|i| format!("l{i}=\"v\",")).collect();
    let text = format!("m{{{labels}bad}} 1\n");
    let exposition = prom(&text);
    let error = only_error(&exposition, 1, 3 + labels.len() + 3, "expected = after");
    assert!(
        error.excerpt.starts_with("...") && error.excerpt.chars().count() <= 86,
        "{}",
        error.excerpt
    );
    assert!(error.excerpt.contains("bad}"), "{}", error.excerpt);
}

#[test]
fn invalid_utf8_is_an_error_with_a_position() {
    let input = b"a 1\nb{x=\"\xe2\x82\xac\xff\"} 2\nc 3\n";
    let exposition = parse_bytes(input, Format::Prometheus, &Limits::default());
    only_error(&exposition, 2, 7, "invalid UTF-8");
    assert!(exposition.family("a").is_some() && exposition.family("c").is_some());
    let exposition = parse_bytes(b"\xff", Format::OpenMetrics, &Limits::default());
    assert_eq!(exposition.outcome.error_count, 2, "the bad line and the missing EOF");
}

#[test]
fn caps_are_recorded_and_bound_the_work() {
    let small = Limits {
        max_line_bytes: 30,
        max_labels_per_sample: 2,
        max_series: 3,
        max_families: 100,
        max_errors: 2,
        detect_duplicate_series: true,
    };
    let text = "a{x=\"1\",y=\"2\",z=\"3\"} 1\nthis_line_is_far_too_long_for_the_cap 1\nb 1\nc 1\nbad bad\nbad bad\nd 1\ne 1\nf 1\n";
    let exposition = parse(text, Format::Prometheus, &small);
    let caps: Vec<_> = exposition
        .outcome
        .caps
        .iter()
        .map(|c| (c.cap, c.line, c.stopped))
        .collect();
    assert_eq!(
        caps,
        [
            (Cap::LabelsPerSample, 1, false),
            (Cap::LineBytes, 2, false),
            (Cap::Errors, 5, false),
            (Cap::Series, 8, true),
        ]
    );
    assert_eq!(exposition.outcome.errors.len(), 2);
    assert_eq!(exposition.outcome.error_count, 4);
    assert_eq!(exposition.outcome.counts.samples, 3);
    assert_eq!(exposition.outcome.counts.lines, 8, "stopped at line 8");
    assert!(exposition.outcome.counts.bytes < text.len());

    let one_family = Limits {
        max_families: 1,
        ..Limits::default()
    };
    let exposition = parse(
        "a 1\nb 2\n# TYPE c gauge\na{x=\"2\"} 3\n",
        Format::Prometheus,
        &one_family,
    );
    assert_eq!(exposition.outcome.error_count, 2);
    assert_eq!(
        exposition.outcome.caps.first().map(|c| (c.cap, c.line)),
        Some((Cap::Families, 2))
    );
    assert_eq!(values(family(&exposition, "a")), [1.0, 3.0]);
}

#[test]
fn format_from_content_type_or_body() {
    let cases = [
        (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Some(Format::OpenMetrics),
        ),
        ("application/openmetrics-text", Some(Format::OpenMetrics)),
        ("text/plain; version=0.0.4; charset=utf-8", Some(Format::Prometheus)),
        // vLLM 0.32: a 0.0.4 body under version=1.0.0.
        ("text/plain; version=1.0.0; charset=utf-8", Some(Format::Prometheus)),
        ("Text/Plain", Some(Format::Prometheus)),
        ("application/json", None),
        ("", None),
    ];
    for (header, expected) in cases {
        assert_eq!(Format::from_content_type(header), expected, "{header}");
    }
    assert_eq!(Format::sniff(b"a 1\n# EOF\n"), Format::OpenMetrics);
    assert_eq!(Format::sniff(b"a 1\n# EOF"), Format::OpenMetrics);
    assert_eq!(Format::sniff(b"# EOF"), Format::OpenMetrics);
    assert_eq!(Format::sniff(b"a 1\n"), Format::Prometheus);
    assert_eq!(Format::sniff(b"# EOF\na 1\n"), Format::Prometheus);
    assert_eq!(Format::sniff(b""), Format::Prometheus);
    assert_eq!(
        Format::detect(Some("text/plain; version=1.0.0"), b"a 1\n# EOF\n"),
        Format::Prometheus,
        "the header wins"
    );
    assert_eq!(
        Format::detect(Some("application/json"), b"a 1\n# EOF\n"),
        Format::OpenMetrics
    );
    assert_eq!(Format::detect(None, b"a 1\n"), Format::Prometheus);
}

#[test]
fn histogram_view_reports_structural_problems() {
    let text = "# TYPE h histogram\n\
                h_bucket{s=\"ok\",le=\"+Inf\"} 3\n\
                h_bucket{s=\"ok\",le=\"1\"} 1\n\
                h_bucket{le=\"2.5\",s=\"ok\"} 2\n\
                h_count{s=\"ok\"} 3\n\
                h_bucket{s=\"noinf\",le=\"1\"} 1\n\
                h_bucket{s=\"down\",le=\"1\"} 5\n\
                h_bucket{s=\"down\",le=\"2\"} 4\n\
                h_bucket{s=\"down\",le=\"+Inf\"} 6\n\
                h_count{s=\"down\"} 7\n\
                h_bucket{s=\"dup\",le=\"1\"} 1\n\
                h_bucket{s=\"dup\",le=\"1.0\"} 1\n\
                h_bucket{s=\"dup\",le=\"Inf\"} 1\n\
                h_bucket{s=\"bad\",le=\"soon\"} 1\n\
                h_bucket{s=\"bad\"} 1\n\
                h_bucket{s=\"bad\",le=\"+Inf\"} 1\n";
    let exposition = prom(text);
    clean(&exposition);
    let histograms = family(&exposition, "h").histograms();
    let by_series: Vec<_> = histograms
        .iter()
        .map(|s| (s.labels.first().map_or("", |l| l.value.as_ref()), s.issues.clone()))
        .collect();
    assert_eq!(
        by_series,
        [
            ("ok", vec![]),
            ("noinf", vec![HistogramIssue::MissingInfBucket]),
            (
                "down",
                vec![
                    HistogramIssue::NonMonotonic {
                        upper_bound: 2.0,
                        cumulative_count: 4.0,
                        previous_count: 5.0,
                        line: 8
                    },
                    HistogramIssue::CountMismatch {
                        count: 7.0,
                        inf_bucket: 6.0
                    }
                ]
            ),
            (
                "dup",
                vec![HistogramIssue::DuplicateLe {
                    upper_bound: 1.0,
                    line: 12
                }]
            ),
            (
                "bad",
                vec![
                    HistogramIssue::InvalidLe {
                        line: 14,
                        le: "soon".into()
                    },
                    HistogramIssue::MissingLe { line: 15 }
                ]
            ),
        ]
    );
    let ok = histograms
        .first()
        .map(|s| s.buckets.iter().map(|b| b.upper_bound).collect::<Vec<_>>());
    assert_eq!(
        ok,
        Some(vec![1.0, 2.5, f64::INFINITY]),
        "sorted by bound, le order in labels ignored"
    );
    assert!(family(&exposition, "h").summaries().is_empty());
}

#[test]
fn summary_view_groups_quantiles() {
    let text = "# TYPE s summary\n\
                s{m=\"a\",quantile=\"0.9\"} 7\n\
                s{m=\"a\",quantile=\"0.5\"} 3\n\
                s{m=\"a\",quantile=\"0.50\"} 4\n\
                s{m=\"a\",quantile=\"2\"} 1\n\
                s{m=\"a\"} 1\n\
                s_count{m=\"a\"} 10\n\
                s_sum{m=\"a\"} 40\n";
    let exposition = prom(text);
    clean(&exposition);
    let summaries = family(&exposition, "s").summaries();
    let Some(series) = summaries.first() else {
        panic!("no series")
    };
    assert_eq!(summaries.len(), 1);
    let quantiles: Vec<_> = series.quantiles.iter().map(|q| (q.quantile, q.value)).collect();
    assert_eq!(quantiles, [(0.5, 3.0), (0.9, 7.0)]);
    assert_eq!((series.count, series.sum), (Some(10.0), Some(40.0)));
    assert_eq!(
        series.issues,
        [
            SummaryIssue::InvalidQuantile {
                line: 5,
                quantile: "2".into()
            },
            SummaryIssue::MissingQuantile { line: 6 },
            SummaryIssue::DuplicateQuantile { quantile: 0.5, line: 4 },
        ]
    );
}

#[test]
fn summary_serializes_families_and_positioned_errors() {
    let text = format!("{VLLM}broken{{\n");
    let exposition = prom(&text);
    let summary = exposition.summary();
    let json = match serde_json::to_value(&summary) {
        Ok(json) => json,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(json["format"], "prometheus");
    assert_eq!(json["families"][3]["name"], "vllm:e2e_request_latency_seconds");
    assert_eq!(json["families"][3]["type"], "histogram");
    assert_eq!(json["families"][3]["series"], 1);
    assert_eq!(json["families"][3]["samples"], 8);
    assert_eq!(json["families"][3]["issues"], 0);
    assert_eq!(json["errors"][0]["line"], 23);
    assert_eq!(json["errors"][0]["column"], 8);
    assert_eq!(json["counts"]["samples"], 12);
    assert_eq!(
        summary.errors.first().map(ToString::to_string).as_deref(),
        Some("23:8: label set is not closed: broken{")
    );
}
