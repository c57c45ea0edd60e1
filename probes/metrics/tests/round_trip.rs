//! Property-style: random expositions, printed by a writer written here from the format
//! rules, parse back to exactly what was generated, in both formats.
//!
//! The generator aims at what breaks parsers: colons in names, label values full of `\`, `"`,
//! newlines, `,`, `}`, `#` and non-ASCII, special and extreme floats, timestamps, HELP texts
//! needing escapes, histograms and summaries. A tiny seeded PRNG keeps it deterministic (a
//! failure names its seed) without a dependency.

use modelspec_probe_metrics::{
    FamilyInfo, Format, Limits, MetricType, Outcome, ParseError, Sample, Suffix, Timestamp, Visitor, parse, visit,
};

/// splitmix64: small, fast, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        match items.get(self.below(items.len())) {
            Some(item) => item,
            None => panic!("pick from an empty slice"),
        }
    }

    fn float(&mut self) -> f64 {
        match self.below(10) {
            0 => *self.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0]),
            1 => *self.pick(&[f64::MIN_POSITIVE, f64::MAX, f64::MIN, 5e-324, 1e300, 1e-300]),
            2 => self.below(1000) as f64,
            3 => {
                // Any finite bit pattern.
                loop {
                    let value = f64::from_bits(self.next());
                    if value.is_finite() {
                        return value;
                    }
                }
            }
            _ => (self.next() % 10_000_000) as f64 / 1000.0 - 100.0,
        }
    }

    fn text(&mut self, max: usize) -> String {
        const PIECES: &[&str] = &[
            "a", "b", "z", "0", "9", " ", "_", ":", "\\", "\"", "\n", ",", "}", "{", "=", "#", " # ", "é", "€", "\t",
            "\\n", "\\\"",
        ];
        let length = self.below(max + 1);
        (0..length).map(|_| *self.pick(PIECES)).collect()
    }
}

#[derive(Debug, Clone)]
struct GenSample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp: Option<Timestamp>,
    suffix: Suffix,
}

#[derive(Debug)]
struct GenFamily {
    name: String,
    kind: MetricType,
    help: Option<String>,
    unit: Option<String>,
    samples: Vec<GenSample>,
}

fn generate(rng: &mut Rng, format: Format) -> Vec<GenFamily> {
    let kinds: &[MetricType] = match format {
        Format::Prometheus => &[
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Histogram,
            MetricType::Summary,
            MetricType::Unknown,
        ],
        Format::OpenMetrics => &[
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Histogram,
            MetricType::GaugeHistogram,
            MetricType::Summary,
            MetricType::Info,
            MetricType::Unknown,
        ],
    };
    let families = 1 + rng.below(12);
    (0..families)
        .map(|index| {
            let kind = *rng.pick(kinds);
            let unit = (format == Format::OpenMetrics && rng.chance(30)).then(|| "seconds".to_owned());
            let base = format!("{}f{index}_x", rng.pick(&["", "vllm:", "a:b:", "_", "sglang:"]));
            let name = match &unit {
                Some(unit) => format!("{base}_{unit}"),
                None => base,
            };
            let help = rng.chance(70).then(|| {
                let help = rng.text(12);
                match format {
                    // 0.0.4 trims blanks around HELP text.
                    Format::Prometheus => help.trim_matches([' ', '\t']).to_owned(),
                    Format::OpenMetrics => help,
                }
            });
            let mut family = GenFamily {
                name,
                kind,
                help,
                unit,
                samples: Vec::new(),
            };
            let series = rng.below(5);
            for id in 0..series {
                let mut labels = vec![("id".to_owned(), id.to_string())];
                for extra in 0..rng.below(4) {
                    let label_name = format!("{}{extra}", rng.pick(&["l", "_", "model_name", "Engine"]));
                    labels.push((label_name, rng.text(10)));
                }
                if rng.chance(50) {
                    labels.reverse();
                }
                add_series(rng, format, &mut family, labels);
            }
            family
        })
        .collect()
}

fn add_series(rng: &mut Rng, format: Format, family: &mut GenFamily, labels: Vec<(String, String)>) {
    let timestamp = |rng: &mut Rng| -> Option<Timestamp> {
        if !rng.chance(30) {
            return None;
        }
        Some(match format {
            Format::Prometheus => Timestamp::Millis(rng.next() as i64 >> rng.below(40)),
            Format::OpenMetrics => loop {
                let seconds = rng.float();
                if seconds.is_finite() {
                    break Timestamp::Seconds(seconds);
                }
            },
        })
    };
    let name = family.name.clone();
    // `value: None` draws a random one.
    let mut push = |rng: &mut Rng, suffix: Suffix, extra: Option<(&str, String)>, value: Option<f64>| {
        let value = value.unwrap_or_else(|| rng.float());
        let mut sample_labels = labels.clone();
        if let Some((label, label_value)) = extra {
            sample_labels.insert(rng.below(sample_labels.len() + 1), (label.to_owned(), label_value));
        }
        let ts = timestamp(rng);
        family.samples.push(GenSample {
            name: format!("{name}{}", suffix.as_str()),
            labels: sample_labels,
            value,
            timestamp: ts,
            suffix,
        });
    };
    match family.kind {
        MetricType::Counter => match format {
            Format::Prometheus => push(rng, Suffix::None, None, None),
            Format::OpenMetrics => {
                push(rng, Suffix::Total, None, None);
                if rng.chance(50) {
                    push(rng, Suffix::Created, None, None);
                }
            }
        },
        MetricType::Histogram | MetricType::GaugeHistogram => {
            let mut bound = rng.below(5) as f64 / 4.0;
            let mut count = 0.0;
            for _ in 0..rng.below(6) {
                bound += 0.5 + rng.below(100) as f64 / 7.0;
                count += rng.below(10) as f64;
                let le = if rng.chance(50) {
                    format!("{bound:?}")
                } else {
                    format!("{bound}")
                };
                push(rng, Suffix::Bucket, Some(("le", le)), Some(count));
            }
            let inf = *rng.pick(&["+Inf", "Inf", "+inf"]);
            push(rng, Suffix::Bucket, Some(("le", inf.to_owned())), Some(count));
            let (count_suffix, sum_suffix) = match family.kind {
                MetricType::Histogram => (Suffix::Count, Suffix::Sum),
                _ => (Suffix::GCount, Suffix::GSum),
            };
            push(rng, count_suffix, None, Some(count));
            push(rng, sum_suffix, None, None);
        }
        MetricType::Summary => {
            for quantile in ["0", "0.5", "0.99", "1"] {
                if rng.chance(60) {
                    push(rng, Suffix::None, Some(("quantile", quantile.to_owned())), None);
                }
            }
            let count = rng.below(100) as f64;
            push(rng, Suffix::Count, None, Some(count));
            push(rng, Suffix::Sum, None, None);
        }
        MetricType::Info => push(rng, Suffix::Info, None, Some(1.0)),
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => push(rng, Suffix::None, None, None),
    }
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        // Debug is the shortest text that reads back to the same bits.
        format!("{value:?}")
    }
}

fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn escape_help(value: &str, format: Format) -> String {
    let value = value.replace('\\', "\\\\").replace('\n', "\\n");
    match format {
        Format::Prometheus => value,
        Format::OpenMetrics => value.replace('"', "\\\""),
    }
}

/// The exposition text, and the names of the families it wrote any line for.
fn write<'g>(families: &'g [GenFamily], format: Format, rng: &mut Rng) -> (String, Vec<&'g str>) {
    let mut out = String::new();
    let mut written = Vec::new();
    let blank = if format == Format::Prometheus { " \t" } else { " " };
    for family in families {
        let type_name = match (family.kind, format) {
            (MetricType::Unknown, Format::Prometheus) => "untyped",
            (kind, _) => kind.as_str(),
        };
        let before = out.len();
        if let Some(help) = &family.help {
            out.push_str(&format!("# HELP {} {}\n", family.name, escape_help(help, format)));
        }
        if family.kind != MetricType::Unknown || rng.chance(50) {
            out.push_str(&format!("# TYPE {} {type_name}\n", family.name));
        }
        if let Some(unit) = &family.unit {
            out.push_str(&format!("# UNIT {} {unit}\n", family.name));
        }
        for sample in &family.samples {
            out.push_str(&sample.name);
            if !sample.labels.is_empty() || rng.chance(20) {
                let labels: Vec<String> = sample
                    .labels
                    .iter()
                    .map(|(name, value)| format!("{name}=\"{}\"", escape_label(value)))
                    .collect();
                out.push('{');
                out.push_str(&labels.join(","));
                if format == Format::Prometheus && !labels.is_empty() && rng.chance(20) {
                    out.push(',');
                }
                out.push('}');
            }
            out.push_str(if format == Format::Prometheus && rng.chance(20) {
                blank
            } else {
                " "
            });
            out.push_str(&number(sample.value));
            match sample.timestamp {
                Some(Timestamp::Millis(ms)) => out.push_str(&format!(" {ms}")),
                Some(Timestamp::Seconds(seconds)) => out.push_str(&format!(" {}", number(seconds))),
                None => {}
            }
            out.push('\n');
        }
        if out.len() > before {
            written.push(family.name.as_str());
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    (out, written)
}

fn same_number(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn random_expositions_round_trip() {
    for seed in 0..400u64 {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let mut rng = Rng(seed);
            let generated = generate(&mut rng, format);
            let (text, written) = write(&generated, format, &mut rng);
            let exposition = parse(&text, format, &Limits::default());
            let context = format!("seed {seed}, {format}:\n{text}");
            assert!(
                exposition.outcome.is_clean(),
                "{context}\n{:#?}",
                exposition.outcome.errors
            );
            let got_names: Vec<&str> = exposition.families.iter().map(|f| f.name).collect();
            assert_eq!(got_names, written, "{context}");
            for got in &exposition.families {
                let Some(want) = generated.iter().find(|f| f.name == got.name) else {
                    panic!("unexpected family {} in {context}", got.name);
                };
                assert_eq!(got.kind, want.kind, "{context}");
                assert_eq!(got.help.as_deref(), want.help.as_deref(), "{context}");
                assert_eq!(got.unit, want.unit.as_deref(), "{context}");
                assert_eq!(got.samples.len(), want.samples.len(), "{context}");
                for (got, want) in got.samples.iter().zip(&want.samples) {
                    assert_eq!(got.name, want.name, "{context}");
                    assert_eq!(got.suffix, want.suffix, "{context}");
                    let labels: Vec<(&str, &str)> = got.labels.iter().map(|l| (l.name, l.value.as_ref())).collect();
                    let want_labels: Vec<(&str, &str)> =
                        want.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                    assert_eq!(labels, want_labels, "{context}");
                    assert!(
                        same_number(got.value, want.value),
                        "{} vs {} in {context}",
                        got.value,
                        want.value
                    );
                    match (got.timestamp, want.timestamp) {
                        (Some(Timestamp::Seconds(a)), Some(Timestamp::Seconds(b))) => {
                            assert!(same_number(a, b), "{context}")
                        }
                        (a, b) => assert_eq!(a, b, "{context}"),
                    }
                }
                for series in got.histograms() {
                    assert_eq!(series.issues, [], "{context}");
                }
                for series in got.summaries() {
                    assert_eq!(series.issues, [], "{context}");
                }
            }
            // The streaming path sees exactly what the collecting one kept.
            let mut counter = Counter::default();
            let outcome = visit(&text, format, &Limits::default(), &mut counter);
            assert_eq!(outcome, exposition.outcome, "{context}");
            let kept: usize = exposition.families.iter().map(|f| f.samples.len()).sum();
            assert_eq!(counter.samples, kept, "{context}");

            // Any sample again, labels reversed and spaced out, is a duplicate series.
            let all: Vec<&GenSample> = generated.iter().flat_map(|f| &f.samples).collect();
            if format == Format::Prometheus && !all.is_empty() {
                let Some(again) = all.get(rng.below(all.len())) else {
                    unreachable!()
                };
                let labels: Vec<String> = again
                    .labels
                    .iter()
                    .rev()
                    .map(|(name, value)| format!(" {name} = \"{}\" ", escape_label(value)))
                    .collect();
                let line = format!("{}{{{},}} 1\n", again.name, labels.join(","));
                let doubled = format!("{text}{line}");
                let exposition = parse(&doubled, format, &Limits::default());
                let messages: Vec<&str> = exposition.outcome.errors.iter().map(|e| e.message.as_str()).collect();
                assert_eq!(messages.len(), 1, "{context}{line}");
                assert!(
                    messages.iter().all(|m| m.starts_with("duplicate series")),
                    "{messages:?} {context}{line}"
                );
            }
        }
    }
}

#[derive(Default)]
struct Counter {
    samples: usize,
}

impl<'a> Visitor<'a> for Counter {
    fn sample(&mut self, _: &FamilyInfo<'a>, _: &Sample<'a>) {
        self.samples += 1;
    }
}

/// A visitor that keeps only sums: the histogram total across all label sets equals what the
/// full parse's histogram view adds up, and errors past the cap still reach the visitor.
#[test]
fn aggregate_visitor_matches_the_full_parse() {
    #[derive(Default)]
    struct Totals {
        count: f64,
        sum: f64,
        errors: usize,
    }
    impl<'a> Visitor<'a> for Totals {
        fn sample(&mut self, family: &FamilyInfo<'a>, sample: &Sample<'a>) {
            if family.kind == MetricType::Histogram {
                match sample.suffix {
                    Suffix::Count => self.count += sample.value,
                    Suffix::Sum => self.sum += sample.value,
                    _ => {}
                }
            }
        }
        fn error(&mut self, _: &ParseError) {
            self.errors += 1;
        }
    }
    let mut text = String::from("# TYPE vllm:e2e_request_latency_seconds histogram\n");
    for model in 0..50 {
        text.push_str(&format!(
            "vllm:e2e_request_latency_seconds_bucket{{le=\"+Inf\",model_name=\"m{model}\"}} {model}\n\
             vllm:e2e_request_latency_seconds_count{{model_name=\"m{model}\"}} {model}\n\
             vllm:e2e_request_latency_seconds_sum{{model_name=\"m{model}\"}} 0.5\n\
             broken line {model}\n"
        ));
    }
    let limits = Limits {
        max_errors: 3,
        ..Limits::default()
    };
    let mut totals = Totals::default();
    let outcome: Outcome = visit(&text, Format::Prometheus, &limits, &mut totals);
    assert_eq!((totals.count, totals.sum), (1225.0, 25.0));
    assert_eq!((totals.errors, outcome.error_count, outcome.errors.len()), (50, 50, 3));
    let exposition = parse(&text, Format::Prometheus, &limits);
    let Some(family) = exposition.family("vllm:e2e_request_latency_seconds") else {
        panic!("no family")
    };
    let view: f64 = family.histograms().iter().filter_map(|s| s.count).sum();
    assert_eq!(view, totals.count);
}
