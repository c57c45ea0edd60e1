//! Times parsing one exposition file, for `bench/metrics_bench.py`:
//! `parse_file MODE FILE [--iterations N] [--format prometheus|openmetrics] [--no-duplicates]`.
//!
//! Modes:
//! * `full`: [`parse`], keeping every family and sample;
//! * `visit`: [`visit`] with a visitor that keeps only per-family totals (a histogram's count,
//!   sum and per-bound bucket counts across all label sets), the bounded-memory use;
//! * `prometheus-parse`: the `prometheus-parse` 0.2.5 crate, the baseline this parser replaces
//!   (it drops names with a colon, so feed it a colon-free copy);
//! * `read`: only reads the file, so the harness can subtract the input's own memory.
//!
//! The file is read once; each iteration parses the same bytes. Prints one JSON object with
//! per-iteration times, so a harness measures parsing, not process start or disk.

use modelspec_probe_metrics::{FamilyInfo, Format, Limits, MetricType, Sample, Suffix, Visitor, parse, visit};
use std::process::ExitCode;
use std::time::Instant;

/// A family's totals across all its label sets.
#[derive(Default)]
struct Totals {
    count: f64,
    sum: f64,
    /// (upper bound, summed cumulative count); a histogram has a few dozen bounds at most.
    buckets: Vec<(f64, f64)>,
    samples: u64,
}

/// Keeps a fixed-size record per family, indexed by the parser's family index.
#[derive(Default)]
struct Aggregates {
    families: Vec<Totals>,
}

impl<'a> Visitor<'a> for Aggregates {
    fn sample(&mut self, family: &FamilyInfo<'a>, sample: &Sample<'a>) {
        if self.families.len() <= family.index {
            self.families.resize_with(family.index + 1, Totals::default);
        }
        let Some(totals) = self.families.get_mut(family.index) else {
            return;
        };
        totals.samples += 1;
        if family.kind != MetricType::Histogram {
            return;
        }
        match sample.suffix {
            Suffix::Count => totals.count += sample.value,
            Suffix::Sum => totals.sum += sample.value,
            Suffix::Bucket => {
                let Some(bound) = sample.label("le").and_then(|le| le.parse::<f64>().ok()) else {
                    return;
                };
                match totals.buckets.iter_mut().find(|(upper, _)| *upper == bound) {
                    Some((_, count)) => *count += sample.value,
                    None => totals.buckets.push((bound, sample.value)),
                }
            }
            _ => {}
        }
    }
}

struct Args {
    mode: String,
    path: String,
    iterations: usize,
    format: Format,
    limits: Limits,
}

fn args() -> Option<Args> {
    let mut args = std::env::args().skip(1);
    let mode = args.next()?;
    let path = args.next()?;
    let mut parsed = Args {
        mode,
        path,
        iterations: 5,
        format: Format::Prometheus,
        limits: Limits::default(),
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--iterations" => parsed.iterations = args.next()?.parse().ok().filter(|&n| n > 0)?,
            "--format" => {
                parsed.format = match args.next()?.as_str() {
                    "prometheus" => Format::Prometheus,
                    "openmetrics" => Format::OpenMetrics,
                    _ => return None,
                }
            }
            "--no-duplicates" => parsed.limits.detect_duplicate_series = false,
            _ => return None,
        }
    }
    Some(parsed)
}

/// This process's peak resident set (`VmHWM`), which exec resets; `wait4`'s `ru_maxrss` does not,
/// and would count the forking harness's own memory.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    let Some(args) = args() else {
        eprintln!(
            "usage: parse_file full|visit|prometheus-parse|read FILE [--iterations N] \
             [--format prometheus|openmetrics] [--no-duplicates]"
        );
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&args.path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("{}: {error}", args.path);
            return ExitCode::from(2);
        }
    };
    let mut seconds = Vec::with_capacity(args.iterations);
    let mut samples = 0usize;
    let mut errors = 0usize;
    for _ in 0..args.iterations {
        let started = Instant::now();
        match args.mode.as_str() {
            "full" => {
                let exposition = parse(&text, args.format, &args.limits);
                samples = exposition.families.iter().map(|family| family.samples.len()).sum();
                errors = exposition.outcome.error_count;
                // Dropping what was built is part of the cost of building it.
                drop(std::hint::black_box(exposition));
            }
            "visit" => {
                let mut aggregates = Aggregates::default();
                let outcome = visit(&text, args.format, &args.limits, &mut aggregates);
                samples = aggregates.families.iter().map(|totals| totals.samples as usize).sum();
                errors = outcome.error_count;
                std::hint::black_box(&aggregates);
            }
            "prometheus-parse" => {
                let lines = text.lines().map(|line| Ok(line.to_owned()));
                match prometheus_parse::Scrape::parse(lines) {
                    Ok(scrape) => samples = scrape.samples.len(),
                    Err(_) => errors = 1,
                }
            }
            "read" => {
                samples = std::hint::black_box(text.len());
            }
            other => {
                eprintln!("unknown mode `{other}`");
                return ExitCode::from(2);
            }
        }
        seconds.push(started.elapsed().as_secs_f64());
    }
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let best = sorted.first().copied().unwrap_or(0.0);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let megabytes = text.len() as f64 / 1e6;
    println!(
        "{{\"mode\":\"{}\",\"bytes\":{},\"iterations\":{},\"best_s\":{best},\"median_s\":{median},\
         \"best_mb_per_s\":{},\"median_mb_per_s\":{},\"samples\":{samples},\"errors\":{errors},\
         \"peak_rss_kib\":{}}}",
        args.mode,
        text.len(),
        args.iterations,
        megabytes / best.max(1e-12),
        megabytes / median.max(1e-12),
        peak_rss_kib().unwrap_or(0),
    );
    ExitCode::SUCCESS
}
