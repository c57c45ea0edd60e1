//! Metrics domain: what the engine's Prometheus page says, from the scrape the endpoint probe
//! recorded.
//!
//! One scrape sees the server's lifetime: histograms and counters since it started, gauges at
//! that instant. So the p95 here is the lifetime p95 and the running requests are a sample, and
//! each finding says so (a measurement window is the stronger evidence). A family that is not
//! on the page is `unknown`, never zero. Engines name the same things differently; the names
//! live with each engine in `src/runtime/` ([`EngineMetrics`], renames included).

use modelspec_probe_metrics::{Exposition, Family, Format, Limits, MetricType, parse};
use serde_json::json;

use super::engine::{EngineView, Unseen};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::observe::prometheus::LabelledValue;
use crate::observe::window::MetricsWindow;
use crate::observe::{Observation, ProbeOutcome};
use crate::runtime::{Answer, Answers, AverageLatency, EngineId, EngineMetrics};
use crate::spec::ModelSpec;

/// The metrics endpoint answers Prometheus text with the engine's families, when declared on.
pub const EXPOSED: Check = Check {
    code: "metrics-exposed",
    domain: Domain::Observability,
    summary: "the metrics endpoint answers Prometheus text with the engine's families",
    explanation: "operations.observability.metrics: with enabled (or unset), the metrics endpoint (the declared port, else the engine's metrics port, else the serving port; the engine's path: /metrics, NIM /v1/metrics, TensorRT-LLM /prometheus/metrics) must answer Prometheus or OpenMetrics text; missing expected families (vLLM's running, waiting, latency and token families, with their renames) and malformed lines warn. Names with `:` (vllm:, sglang:, llamacpp:) are also found as an OpenTelemetry collector or a managed Prometheus rewrites them (vllm_, sglang_, llamacpp_), and the message says which form the page uses. enabled: false with an endpoint serving warns. Providers other than prometheus are skipped.",
    pointers: &[METRICS_PTR],
};

/// The p95 of end-to-end latency is under `targetLatencyMsP95`.
pub const LATENCY_P95: Check = Check {
    code: "latency-p95",
    domain: Domain::Scaling,
    summary: "the p95 bucket of end-to-end latency lies under targetLatencyMsP95",
    explanation: "Bound: the bucket holding the 95th percentile of the engine's end-to-end latency histogram (vllm:e2e_request_latency_seconds, tgi_request_duration, sglang:e2e_request_latency_seconds, trtllm_e2e_request_latency_seconds; every label set merged) must lie wholly under operations.scaling.targetLatencyMsP95 to pass, wholly over it to fail; a bucket that straddles the target is unknown. Without a measurement window this is the server's lifetime histogram, and the finding says so.",
    pointers: &[P95_PTR],
};

/// Running requests seen on the page do not exceed `maxBatchSize`.
pub const OBSERVED_BATCH: Check = Check {
    code: "batch-observed",
    domain: Domain::Batch,
    summary: "sequences running at the scrape do not exceed maxBatchSize",
    explanation: "Bound: sequences running when the page was scraped (vllm:num_requests_running, tgi_batch_current_size, sglang:num_running_reqs, llamacpp:requests_processing, nv_trt_llm_request_metrics{request_type=\"active\"}) must not exceed runtime.batch.maxBatchSize. One scrape is one instant.",
    pointers: &["/spec/runtime/batch/maxBatchSize"],
};

/// No queueing, preemption or near-full KV cache on the page.
pub const SATURATION: Check = Check {
    code: "saturation",
    domain: Domain::Batch,
    summary: "no waiting requests, preemptions or near-full KV cache",
    explanation: "Warns when the page shows requests waiting (vllm:num_requests_waiting, tgi_queue_size, sglang:num_queue_reqs, llamacpp:requests_deferred), a KV cache 90% full or more (vllm:kv_cache_usage_perc, formerly gpu_cache_usage_perc; llama.cpp's llamacpp:kv_cache_usage_ratio only on older builds), or preemptions since start. When the engine's KV-cache gauge is absent (llama.cpp removed it), the message says so and names the families judged instead (requests_deferred, with requests_processing). Names with `:` are also read as a collector rewrites them (vllm_, sglang_, llamacpp_); the evidence lists the families as the page names them.",
    pointers: &["/spec/runtime/batch"],
};

/// The observed request rate, against `targetRps` (report-only unless clearly exceeded).
pub const REQUEST_RATE: Check = Check {
    code: "request-rate",
    domain: Domain::Scaling,
    summary: "the observed request rate against targetRps (Prometheus)",
    explanation: "With --prometheus: the request rate over --range (sum of rate() of the latency histogram's _count) against operations.scaling.targetRps, per replica. Report-only: it passes unless the rate is more than 1.2x the target, which warns.",
    pointers: &["/spec/operations/scaling/targetRps"],
};

/// GPU cost per 1,000 tokens, from the token rate and the GPU price, under the target.
pub const COST: Check = Check {
    code: "cost-per-1k-tokens",
    domain: Domain::Governance,
    summary: "GPU cost per 1,000 tokens (GPUs x --gpu-hourly-usd / token rate) under the target",
    explanation: "Bound: the declared GPUs (runtime.accelerator.count) x --gpu-hourly-usd, divided by the tokens served per second (prompt and generated token counters: vllm:prompt_tokens_total + vllm:generation_tokens_total, sglang:, llamacpp:, trtllm_ equivalents, TGI's token histogram sums), per 1,000 tokens, must be at most governance.cost.targetCostPer1kTokensUsd. The token rate comes from --prometheus over --range, else from a --window; without either it is unknown, and without a price it is skipped.",
    pointers: &["/spec/governance/cost/targetCostPer1kTokensUsd"],
};

/// The prompts the engine has served, from its prompt-length histogram, against the limit.
pub const SEQUENCE_OBSERVED: Check = Check {
    code: "sequence-length-observed",
    domain: Domain::Batch,
    summary: "the longest prompts served (prompt-length histogram) stay clear of maxSequenceLengthTokens",
    explanation: "Evidence for runtime.batch.maxSequenceLengthTokens from the engine's prompt-length histogram (vllm:request_prompt_tokens, tgi_request_input_length, nv_llm_input_token_len): the bucket of the longest prompts served. A bucket starting at 90% of the limit or more warns that clients send prompts near it. TGI lays out its buckets up to its max input tokens, so the top bucket also shows that limit.",
    pointers: &["/spec/runtime/batch/maxSequenceLengthTokens"],
};

/// How close to `maxSequenceLengthTokens` a prompt bucket may start before it warns.
const NEAR_LIMIT: f64 = 0.9;

/// How far over `targetRps` the observed rate must be to warn: a target is a planning figure,
/// and a rate near it is normal operation.
const RPS_TOLERANCE: f64 = 1.2;

/// The scraped page, parsed.
struct Page<'a> {
    /// `port path`, for messages.
    place: String,
    exposition: Exposition<'a>,
}

/// The page of the spec's metrics endpoint: the declared metrics port (else the serving port)
/// and the engine's metrics path.
fn page<'a>(spec: &ModelSpec, view: &EngineView<'a>, observation: &'a Observation) -> Result<Page<'a>, String> {
    // `--metrics-url` replaces the engine's own endpoint.
    if let ProbeOutcome::Observed { snapshot, .. } = &observation.endpoint
        && let Some(exchange) = &snapshot.metrics_override
    {
        let place = exchange.url.clone();
        let answer = match (exchange.response(), exchange.failure()) {
            (Some(r), _) => crate::observe::scrape::answer(r),
            (None, Some(f)) => Answer::Failed {
                reason: &f.reason,
                timed_out: false,
            },
            (None, None) => Answer::Failed {
                reason: "no answer",
                timed_out: false,
            },
        };
        // The user's URL is taken as Prometheus text whatever its content type says.
        let crate::runtime::Document { content_type, body } =
            crate::runtime::document(Some(answer)).map_err(|why| why.at(&place, "page"))?;
        return Ok(Page {
            exposition: parse(body, Format::detect(content_type, body.as_bytes()), &Limits::default()),
            place,
        });
    }
    let serving_port = spec.serving_port();
    let declared_port = metrics_decl(spec)
        .and_then(|m| m.port)
        .and_then(|p| u16::try_from(p).ok());
    let engine_port = view.facts.metrics_port.as_ref().map(|p| p.value);
    let port = declared_port.or(engine_port).or(serving_port);
    let path = view
        .facts
        .metrics_path
        .as_ref()
        .map_or("/metrics", |p| p.value.as_str());
    let answers: &'a dyn Answers = if port == serving_port {
        view.answers
    } else {
        let ProbeOutcome::Observed { snapshot, .. } = &observation.endpoint else {
            return Err("the endpoint probe did not run".into());
        };
        // Another port of the same workload when it was asked for, else that port on its own.
        let pid = view.endpoint.and_then(|t| t.pid);
        let of_port = |t: &&crate::observe::endpoint::EndpointTarget| Some(t.port) == port;
        match snapshot
            .targets
            .iter()
            .filter(of_port)
            .find(|t| t.pid == pid)
            .or_else(|| snapshot.targets.iter().filter(of_port).find(|t| t.pid.is_none()))
        {
            Some(t) => t,
            None => {
                return Err(format!(
                    "port {} was not scraped",
                    port.map_or("?".into(), |p| p.to_string())
                ));
            }
        }
    };
    let place = format!("port {} {path}", port.map_or("?".into(), |p| p.to_string()));
    match answers.get(path) {
        Some(answer) => prometheus_page(place, answer),
        None => Err(crate::runtime::Unusable::NotAsked.at(&place, "page")),
    }
}

/// The answer at `place` as a Prometheus page: usable as a document ([`crate::runtime::document`]:
/// a page cut short or flagged by the HTTP layer is not the engine's page, and judging its
/// beginning as the whole passed checks on data that was never complete), and Prometheus or
/// OpenMetrics text.
fn prometheus_page(place: String, answer: Answer<'_>) -> Result<Page<'_>, String> {
    let crate::runtime::Document { content_type, body } =
        crate::runtime::document(Some(answer)).map_err(|why| why.at(&place, "page"))?;
    let media = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if !matches!(
        media.as_deref(),
        None | Some("text/plain" | "application/openmetrics-text")
    ) {
        return Err(format!(
            "{place} answered {}, not Prometheus text",
            media.unwrap_or_default()
        ));
    }
    let format = Format::detect(content_type, body.as_bytes());
    Ok(Page {
        place,
        exposition: parse(body, format, &Limits::default()),
    })
}

fn metrics_decl(spec: &ModelSpec) -> Option<&crate::spec::model::Metrics> {
    spec.spec
        .operations
        .as_ref()
        .and_then(|o| o.observability.as_ref())
        .and_then(|o| o.metrics.as_ref())
}

/// A name with `:` as a collector writes it: an OpenTelemetry collector, or a managed
/// Prometheus, rewrites `vllm:num_requests_running` to `vllm_num_requests_running`, and SGLang
/// itself has served both forms. `None` for a name without `:`.
fn rewritten(name: &str) -> Option<String> {
    name.contains(':').then(|| name.replace(':', "_"))
}

/// Whether a sample or family name is `name`, as the engine writes it or as a collector
/// rewrites it.
fn same_name(seen: &str, name: &str) -> bool {
    seen == name || rewritten(name).is_some_and(|r| r == seen)
}

/// The first family present among `names`, each as the engine writes it, else rewritten
/// ([`rewritten`]); the family's own name says which form was seen.
pub(crate) fn find<'e, 'a>(exposition: &'e Exposition<'a>, names: &[&str]) -> Option<&'e Family<'a>> {
    names.iter().find_map(|n| {
        exposition
            .family(n)
            .or_else(|| rewritten(n).and_then(|r| exposition.family(&r)))
    })
}

/// Which form of the engine's `prefix:` names the page uses, in words, when the engine's names
/// contain `:` (`vllm:`, `sglang:`, `llamacpp:`): `None` when no such family was found.
fn name_form(exposition: &Exposition, names: &EngineMetrics) -> Option<String> {
    let mut colon = None;
    let mut underscore = None;
    for name in names.expected.iter().flat_map(|a| a.iter()) {
        let Some((prefix, _)) = name.split_once(':') else {
            continue;
        };
        if exposition.family(name).is_some() {
            colon.get_or_insert(prefix);
        } else if rewritten(name).is_some_and(|r| exposition.family(&r).is_some()) {
            underscore.get_or_insert(prefix);
        }
    }
    match (colon, underscore) {
        (Some(c), Some(u)) => Some(format!("both `{c}:` and `{u}_` names")),
        (Some(c), None) => Some(format!("`{c}:` names")),
        (None, Some(u)) => Some(format!("`{u}_` names (`{u}:` as a collector rewrites it)")),
        (None, None) => None,
    }
}

/// The sum of a gauge (or counter) family's samples, optionally filtered by one label.
fn total(family: &Family, filter: Option<(&str, &str)>) -> f64 {
    family
        .samples
        .iter()
        .filter(|s| filter.is_none_or(|(k, v)| s.label(k) == Some(v)))
        .filter(|s| !s.name.ends_with("_created"))
        .map(|s| s.value)
        .sum()
}

/// A Prometheus query's samples: `None` when no server was asked, `Err` when it could not
/// answer, an empty slice when it had no data.
fn prometheus<'a>(observation: &'a Observation, name: &str) -> Option<Result<(&'a [LabelledValue], String), String>> {
    match &observation.prometheus {
        ProbeOutcome::NotRun { .. } => None,
        ProbeOutcome::TimedOut { budget_ms, .. } => Some(Err(format!(
            "the Prometheus server did not answer within {budget_ms} ms"
        ))),
        ProbeOutcome::Observed { snapshot, .. } => {
            let result = snapshot.results.iter().find(|r| r.name == name)?;
            let scope = format!("over the last {} (Prometheus {})", snapshot.range, snapshot.url);
            Some(match &result.error {
                Some(e) => Err(e.clone()),
                None => Ok((result.samples.as_slice(), scope)),
            })
        }
    }
}

pub(crate) fn check(
    spec: &ModelSpec,
    view: &Result<EngineView, Unseen>,
    observation: &Observation,
    inputs: &super::Inputs,
    out: &mut Vec<Finding>,
) {
    let declared = metrics_decl(spec);
    let target_p95 = spec
        .spec
        .operations
        .as_ref()
        .and_then(|o| o.scaling.as_ref())
        .and_then(|s| s.target_latency_ms_p95);
    let max_batch = spec.spec.runtime.batch.as_ref().and_then(|b| b.max_batch_size);
    let declared_engine = EngineId::from_framework(&spec.spec.identity.model.framework);
    let (page, engine) = match view {
        Ok(v) => (page(spec, v, observation), v.engine().or(declared_engine)),
        Err(unseen) => (Err(unseen.reason.clone()), declared_engine),
    };
    if let Some(decl) = declared {
        match view {
            Ok(v) => out.push(exposed(decl, v, &page)),
            Err(unseen) => out.push(unseen.finding(FindingBuilder::new(&EXPOSED, METRICS_PTR))),
        }
    }
    let Some(engine) = engine else {
        if target_p95.is_some() {
            out.push(FindingBuilder::new(&LATENCY_P95, P95_PTR).status(
                Status::Unknown,
                "the serving engine could not be identified, so neither could its latency histogram",
            ));
        }
        return;
    };
    let names = engine.metrics();
    let histogram = names.latency_histogram.first().copied();
    let from_prometheus = |query: &str| histogram.and_then(|h| prometheus(observation, &format!("{query}:{h}")));
    let window = view.as_ref().ok().and_then(|v| v.endpoint).and_then(windowed);
    if let Some(target) = target_p95 {
        match (from_prometheus("bucket_rates"), &window) {
            (Some(answer), _) => out.push(latency_p95_over_range(target, answer)),
            (None, Some(Ok(w))) => out.push(windowed_latency(target, names, w)),
            (None, Some(Err(why))) => out.push(
                FindingBuilder::new(&LATENCY_P95, P95_PTR)
                    .declared(target)
                    .status(Status::Unknown, why.clone()),
            ),
            (None, None) => out.push(latency_p95(target, names, &page)),
        }
    }
    let target_rps = spec
        .spec
        .operations
        .as_ref()
        .and_then(|o| o.scaling.as_ref())
        .and_then(|s| s.target_rps);
    if let Some(target) = target_rps {
        match (from_prometheus("request_rate"), &window) {
            (Some(answer), _) => out.push(request_rate(target, answer)),
            (None, Some(Ok(w))) => {
                let scope = w.scope.clone();
                let rate = windowed_rate(names, w).map(|r| LabelledValue {
                    labels: Default::default(),
                    value: r,
                });
                out.push(request_rate(target, Ok((rate.as_slice(), scope))));
            }
            _ => {}
        }
    }
    let peak = names
        .running
        .first()
        .and_then(|r| prometheus(observation, &format!("peak_running:{r}")));
    let window_peak = match &window {
        Some(Ok(w)) if peak.is_none() => windowed_peak(names, w).map(|p| {
            (
                LabelledValue {
                    labels: Default::default(),
                    value: p,
                },
                w.scope.clone(),
            )
        }),
        _ => None,
    };
    if let (Some(declared), Some(answer)) = (max_batch, &peak) {
        out.push(peak_batch(declared, answer.clone()));
    } else if let (Some(declared), Some((value, scope))) = (max_batch, &window_peak) {
        out.push(peak_batch(declared, Ok((std::slice::from_ref(value), scope.clone()))));
    }
    if let Some(target) = spec
        .spec
        .governance
        .as_ref()
        .and_then(|g| g.cost.as_ref())
        .and_then(|c| c.target_cost_per1k_tokens_usd)
    {
        let tokens = token_rate(observation, names, &window);
        out.push(cost(
            target,
            spec.spec.runtime.accelerator.count,
            inputs.gpu_hourly_usd,
            tokens,
        ));
    }
    let Ok(page) = &page else {
        return;
    };
    if let Some(declared) = max_batch
        && peak.is_none()
        && window_peak.is_none()
        && let Some(family) = find(&page.exposition, names.running)
    {
        out.push(observed_batch(declared, family, names.running_filter, page));
    }
    if let Some(f) = saturation(names, page) {
        out.push(f);
    }
    if let Some(limit) = spec
        .spec
        .runtime
        .batch
        .as_ref()
        .and_then(|b| b.max_sequence_length_tokens)
        && let Some(family) = find(&page.exposition, names.prompt_histogram)
    {
        out.push(sequence_observed(limit, family, page));
    }
}

const METRICS_PTR: &str = "/spec/operations/observability/metrics";
const P95_PTR: &str = "/spec/operations/scaling/targetLatencyMsP95";

fn exposed(decl: &crate::spec::model::Metrics, view: &EngineView, page: &Result<Page, String>) -> Finding {
    let b = FindingBuilder::new(&EXPOSED, METRICS_PTR).declared(json!({
        "enabled": decl.enabled, "provider": decl.provider, "port": decl.port
    }));
    if let Some(provider) = &decl.provider
        && !provider.eq_ignore_ascii_case("prometheus")
    {
        return b.status(
            Status::Skip,
            format!("provider {provider}: modelspec reads Prometheus endpoints only"),
        );
    }
    let enabled = decl.enabled.unwrap_or(true);
    match (enabled, page) {
        (false, Ok(p)) => b
            .observed(json!({"served": p.place}))
            .remediation("turn the metrics endpoint off, or declare metrics.enabled: true")
            .status(
                Status::Warn,
                format!("{} serves metrics although they are declared off", p.place),
            ),
        (false, Err(_)) => b
            .observed(json!({"served": false}))
            .status(Status::Pass, "no metrics endpoint, as declared"),
        (true, Err(why)) => b
            .evidence("http", json!(why), "the metrics endpoint answers Prometheus text")
            .remediation(
                "expose the engine's metrics (SGLang --enable-metrics, llama.cpp --metrics), or correct the spec",
            )
            .status(Status::Fail, why.clone()),
        (true, Ok(p)) => {
            let expected = view.engine().map(|e| e.metrics().expected).unwrap_or(&[]);
            let missing: Vec<&str> = expected
                .iter()
                .filter(|alternatives| find(&p.exposition, alternatives).is_none())
                .filter_map(|alternatives| alternatives.first().copied())
                .collect();
            let errors = p.exposition.outcome.error_count;
            let form = view.engine().and_then(|e| name_form(&p.exposition, e.metrics()));
            let in_form = form.as_ref().map(|f| format!(" ({f})")).unwrap_or_default();
            let b = b.observed(json!({"served": p.place, "families": p.exposition.families.len(), "missing": missing, "parse_errors": errors, "names": form}))
                .evidence(
                    "http",
                    json!({"errors": p.exposition.outcome.errors.iter().take(5).map(|e| format!("{}:{}: {}", e.line, e.column, e.message)).collect::<Vec<_>>()}),
                    "the metrics endpoint answers Prometheus text with the engine's expected families",
                );
            if errors > 0 {
                b.remediation("see `modelspec metrics URL` for every error with its line and column")
                    .status(
                        Status::Warn,
                        format!("{} serves metrics, with {errors} malformed line(s)", p.place),
                    )
            } else if !missing.is_empty() {
                b.status(
                    Status::Warn,
                    format!("{} serves metrics{in_form}, without {}", p.place, missing.join(", ")),
                )
            } else {
                b.status(
                    Status::Pass,
                    format!(
                        "{} serves {} metric families{in_form}",
                        p.place,
                        p.exposition.families.len()
                    ),
                )
            }
        }
    }
}

/// The bucket holding the p95 across every series of a histogram: (lower, upper] in seconds,
/// and the number of requests.
pub(crate) fn p95_bounds(family: &Family) -> Option<(f64, f64, f64)> {
    p95_of(merged_buckets(family))
}

/// Cumulative (le, count) pairs as evidence, sorted, `le` spelt as Prometheus does (`+Inf`):
/// the whole distribution the p95 was read from, so a report can draw it.
fn buckets_evidence(merged: &[(f64, f64)]) -> serde_json::Value {
    let mut sorted = merged.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    sorted
        .iter()
        .map(|(le, count)| {
            let le = if le.is_infinite() {
                "+Inf".to_string()
            } else {
                le.to_string()
            };
            json!({"le": le, "count": count})
        })
        .collect()
}

fn merge(merged: &mut Vec<(f64, f64)>, le: f64, count: f64) {
    match merged.iter_mut().find(|(bound, _)| *bound == le) {
        Some((_, total)) => *total += count,
        None => merged.push((le, count)),
    }
}

/// The p95 bucket of cumulative (bound, count-or-rate) pairs.
fn p95_of(mut merged: Vec<(f64, f64)>) -> Option<(f64, f64, f64)> {
    merged.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = merged.last().filter(|(le, _)| le.is_infinite())?.1;
    if total <= 0.0 {
        return Some((0.0, 0.0, 0.0));
    }
    let rank = 0.95 * total;
    let mut lower = 0.0;
    for (le, count) in merged {
        if count >= rank {
            return Some((lower, le, total));
        }
        lower = le;
    }
    None
}

fn latency_p95(target_ms: f64, names: &EngineMetrics, page: &Result<Page, String>) -> Finding {
    let b = FindingBuilder::new(&LATENCY_P95, P95_PTR).declared(target_ms);
    let page = match page {
        Ok(p) => p,
        Err(why) => return b.status(Status::Unknown, format!("no metrics to read the latency from: {why}")),
    };
    let Some(family) = find(&page.exposition, names.latency_histogram).filter(|f| f.kind == MetricType::Histogram)
    else {
        if let Some((average, average_ms)) = average_latency_ms(&page.exposition) {
            return judge_average(b, target_ms, average, average_ms, page);
        }
        return b.status(
            Status::Unknown,
            if names.latency_histogram.is_empty() {
                "this engine exposes no end-to-end latency histogram".to_string()
            } else {
                format!("{} has no {}", page.place, names.latency_histogram.join(" or "))
            },
        );
    };
    let buckets = buckets_evidence(&merged_buckets(family));
    let Some((lower, upper, requests)) = p95_bounds(family) else {
        return b.status(Status::Unknown, format!("{} has no +Inf bucket", family.name));
    };
    if requests == 0.0 {
        return b.status(Status::Unknown, format!("{} has counted no request yet", family.name));
    }
    judge_p95(
        b,
        target_ms,
        (lower, upper),
        &format!("over the server's lifetime ({requests} requests)"),
        "http",
        json!({"family": family.name, "requests": requests, "window": "lifetime", "buckets": buckets}),
        "the bucket holding the 95th percentile of the lifetime end-to-end latency histogram lies wholly under the target",
    )
}

fn observed_batch(declared: u64, family: &Family, filter: Option<(&str, &str)>, page: &Page) -> Finding {
    let running = total(family, filter);
    let b = FindingBuilder::new(&OBSERVED_BATCH, "/spec/runtime/batch/maxBatchSize")
        .declared(declared)
        .observed(running)
        .evidence(
            "http",
            json!({"family": family.name, "at": page.place, "window": "one scrape"}),
            "sequences running at the scrape do not exceed maxBatchSize",
        );
    if running > declared as f64 {
        b.remediation("cap the engine's batch at the declared size").status(
            Status::Fail,
            format!("{running} sequences running at the scrape, {declared} declared"),
        )
    } else {
        b.status(
            Status::Pass,
            format!("{running} sequences running at the scrape (one instant), {declared} declared"),
        )
    }
}

fn saturation(names: &EngineMetrics, page: &Page) -> Option<Finding> {
    let waiting_family = find(&page.exposition, names.waiting);
    let kv_family = find(&page.exposition, names.kv_cache_usage);
    let preempted_family = find(&page.exposition, names.preemptions);
    let waiting = waiting_family.map(|f| total(f, names.waiting_filter));
    let kv = kv_family.map(|f| total(f, None));
    let preempted = preempted_family.map(|f| total(f, None));
    if waiting.is_none() && kv.is_none() && preempted.is_none() {
        return None;
    }
    // The families judged, as the page names them (which form of a renamed name was seen).
    let running_family = find(&page.exposition, names.running);
    let running = running_family.map(|f| total(f, names.running_filter));
    let used: Vec<&str> = [waiting_family, preempted_family, kv_family]
        .into_iter()
        .flatten()
        .map(|f| f.name)
        .collect();
    // An engine whose KV-cache gauge is gone (llama.cpp removed llamacpp:kv_cache_usage_ratio
    // and llamacpp:kv_cache_tokens) is judged on what is left, and the message says so.
    let instead = (kv.is_none() && !names.kv_cache_usage.is_empty()).then(|| {
        let mut judged = used.join(", ");
        if let (Some(f), Some(r)) = (running_family, running) {
            judged.push_str(&format!(" (with {} = {r} running)", f.name));
        }
        format!(
            "no KV-cache usage on the page ({} is absent, removed in newer builds): judged on {judged}",
            names.kv_cache_usage.join(" or ")
        )
    });
    let mut signs = Vec::new();
    if let Some(w) = waiting.filter(|w| *w > 0.0) {
        signs.push(format!("{w} request(s) waiting"));
    }
    if let Some(k) = kv.filter(|k| *k >= 0.9) {
        signs.push(format!("KV cache {:.0}% full", k * 100.0));
    }
    if let Some(p) = preempted.filter(|p| *p > 0.0) {
        signs.push(format!("{p} preemption(s) since start"));
    }
    let b = FindingBuilder::new(&SATURATION, "/spec/runtime/batch")
        .observed(json!({"waiting": waiting, "kv_cache_usage": kv, "preemptions": preempted}))
        .evidence(
            "http",
            json!({"at": page.place, "families": used, "running": running, "kv_cache_usage": if kv.is_some() { "read" } else { "absent" }}),
            "no waiting requests, KV cache under 90%, no preemptions",
        );
    let note = instead.map(|i| format!("; {i}")).unwrap_or_default();
    Some(if signs.is_empty() {
        b.status(
            Status::Pass,
            format!("no queueing, preemption or full KV cache on the page{note}"),
        )
    } else {
        b.remediation("the engine is at capacity: add replicas or GPUs, or lower the load")
            .status(Status::Warn, format!("{}{note}", signs.join("; ")))
    })
}

fn latency_p95_over_range(target_ms: f64, answer: Result<(&[LabelledValue], String), String>) -> Finding {
    let b = FindingBuilder::new(&LATENCY_P95, P95_PTR).declared(target_ms);
    let (samples, scope) = match answer {
        Ok(a) => a,
        Err(why) => return b.status(Status::Unknown, format!("Prometheus could not answer: {why}")),
    };
    let mut merged = Vec::new();
    for s in samples {
        let le = s.labels.get("le").map(String::as_str);
        if let Some(le) = le.and_then(|le| {
            if le == "+Inf" {
                Some(f64::INFINITY)
            } else {
                le.parse().ok()
            }
        }) {
            merge(&mut merged, le, s.value);
        }
    }
    let buckets = buckets_evidence(&merged);
    let Some((lower, upper, rate)) = p95_of(merged) else {
        return b.status(Status::Unknown, format!("no latency buckets {scope}"));
    };
    if rate == 0.0 {
        return b.status(Status::Unknown, format!("no requests {scope}"));
    }
    judge_p95(
        b,
        target_ms,
        (lower, upper),
        &scope,
        "prometheus",
        json!({"requests_per_second": rate, "window": scope, "buckets": buckets}),
        "the bucket holding the 95th percentile of the latency histogram's rates over the range lies wholly under the target",
    )
}

fn request_rate(target: f64, answer: Result<(&[LabelledValue], String), String>) -> Finding {
    let b = FindingBuilder::new(&REQUEST_RATE, "/spec/operations/scaling/targetRps").declared(target);
    let (samples, scope) = match answer {
        Ok(a) => a,
        Err(why) => return b.status(Status::Unknown, format!("Prometheus could not answer: {why}")),
    };
    let Some(rate) = samples.first().map(|s| s.value) else {
        return b.status(Status::Unknown, format!("no requests counted {scope}"));
    };
    let b = b.observed(rate).evidence(
        probe_of(&scope),
        json!({"window": scope}),
        "the observed request rate is reported against targetRps; well over it warns",
    );
    if rate > target * RPS_TOLERANCE {
        b.remediation("the replica takes more than it was planned for: add replicas or raise targetRps")
            .status(Status::Warn, format!("{rate:.2} requests/s {scope}, target {target}"))
    } else {
        b.status(Status::Pass, format!("{rate:.2} requests/s {scope}, target {target}"))
    }
}

fn peak_batch(declared: u64, answer: Result<(&[LabelledValue], String), String>) -> Finding {
    let b = FindingBuilder::new(&OBSERVED_BATCH, "/spec/runtime/batch/maxBatchSize").declared(declared);
    let (samples, scope) = match answer {
        Ok(a) => a,
        Err(why) => return b.status(Status::Unknown, format!("Prometheus could not answer: {why}")),
    };
    let Some(peak) = samples.first().map(|s| s.value) else {
        return b.status(Status::Unknown, format!("no running-requests samples {scope}"));
    };
    let b = b.observed(peak).evidence(
        probe_of(&scope),
        json!({"window": scope}),
        "the peak of sequences running over the range does not exceed maxBatchSize",
    );
    if peak > declared as f64 {
        b.remediation("cap the engine's batch at the declared size").status(
            Status::Fail,
            format!("up to {peak} sequences ran at once {scope}, {declared} declared"),
        )
    } else {
        b.status(
            Status::Pass,
            format!("at most {peak} sequences ran at once {scope}, {declared} declared"),
        )
    }
}

/// The window measured on the spec's serving port, with its start and end pages parsed.
pub(crate) struct Windowed<'a> {
    pub(crate) scope: String,
    pub(crate) seconds: f64,
    start: Exposition<'a>,
    end: Exposition<'a>,
    window: &'a MetricsWindow,
}

pub(crate) fn windowed<'a>(
    target: &'a crate::observe::endpoint::EndpointTarget,
) -> Option<Result<Windowed<'a>, String>> {
    let window = target.window.as_ref()?;
    let seconds = window.elapsed_ms as f64 / 1000.0;
    let scope = format!("over a {seconds:.0} s window");
    let page_of = |answer: Option<Answer<'a>>| -> Result<Exposition<'a>, String> {
        match crate::runtime::document(answer) {
            Ok(crate::runtime::Document { content_type, body }) => Ok(parse(
                body,
                Format::detect(content_type, body.as_bytes()),
                &Limits::default(),
            )),
            Err(_) => Err(format!("the metrics page {} did not answer in full", window.path)),
        }
    };
    let end_answer = window.end.response().map(crate::observe::scrape::answer);
    Some((|| {
        Ok(Windowed {
            start: page_of(target.get(&window.path))?,
            end: page_of(end_answer)?,
            scope,
            seconds,
            window,
        })
    })())
}

/// Cumulative (le, count) pairs of a histogram family, every series merged.
fn merged_buckets(family: &Family) -> Vec<(f64, f64)> {
    let mut merged = Vec::new();
    for series in family.histograms() {
        for b in &series.buckets {
            merge(&mut merged, b.upper_bound, b.cumulative_count);
        }
    }
    merged
}

/// End minus start, per bucket; a count that went down means the server restarted in the
/// window, and then the end page is the window's share.
fn bucket_deltas(start: &[(f64, f64)], end: &[(f64, f64)]) -> (Vec<(f64, f64)>, bool) {
    let reset = end.iter().any(|(le, e)| start.iter().any(|(l, s)| l == le && e < s));
    let deltas = end
        .iter()
        .map(|(le, e)| {
            let before = if reset {
                0.0
            } else {
                start.iter().find(|(l, _)| l == le).map_or(0.0, |(_, s)| *s)
            };
            (*le, e - before)
        })
        .collect();
    (deltas, reset)
}

fn windowed_latency(target_ms: f64, names: &EngineMetrics, w: &Windowed) -> Finding {
    let b = FindingBuilder::new(&LATENCY_P95, P95_PTR).declared(target_ms);
    let (Some(start), Some(end)) = (
        find(&w.start, names.latency_histogram),
        find(&w.end, names.latency_histogram),
    ) else {
        return b.status(
            Status::Unknown,
            format!("the window's pages have no {}", names.latency_histogram.join(" or ")),
        );
    };
    let (deltas, reset) = bucket_deltas(&merged_buckets(start), &merged_buckets(end));
    let buckets = buckets_evidence(&deltas);
    let Some((lower, upper, requests)) = p95_of(deltas) else {
        return b.status(Status::Unknown, format!("{} has no +Inf bucket", end.name));
    };
    let scope = if reset {
        format!("{} (the counters restarted in it)", w.scope)
    } else {
        w.scope.clone()
    };
    if requests <= 0.0 {
        return b.status(Status::Unknown, format!("no request finished {scope}"));
    }
    judge_p95(
        b,
        target_ms,
        (lower, upper),
        &format!("{scope} ({requests} requests)"),
        "http",
        json!({"family": end.name, "requests": requests, "window_seconds": w.seconds, "counter_reset": reset, "buckets": buckets}),
        "the bucket holding the 95th percentile of the window's latency histogram (end scrape minus start scrape) lies wholly under the target",
    )
}

/// Requests finished in the window, per second (the latency histogram's `_count`).
pub(crate) fn windowed_rate(names: &EngineMetrics, w: &Windowed) -> Option<f64> {
    let count = |e: &Exposition| -> Option<f64> {
        let family = find(e, names.latency_histogram)?;
        Some(
            family
                .samples
                .iter()
                .filter(|s| s.suffix == modelspec_probe_metrics::Suffix::Count)
                .map(|s| s.value)
                .sum(),
        )
    };
    let (start, end) = (count(&w.start)?, count(&w.end)?);
    let finished = if end < start { end } else { end - start };
    (w.seconds > 0.0).then(|| finished / w.seconds)
}

/// The highest sum of the running gauge over the window's samples and its two pages.
fn windowed_peak(names: &EngineMetrics, w: &Windowed) -> Option<f64> {
    let family = find(&w.end, names.running)?.name;
    let prefix = format!("{family}{{");
    let matches = |key: &str| {
        key.starts_with(&prefix)
            && names
                .running_filter
                .is_none_or(|(k, v)| key.contains(&format!("{k}=\"{v}\"")))
    };
    let sampled = w
        .window
        .samples
        .iter()
        .map(|s| s.gauges.iter().filter(|(k, _)| matches(k)).map(|(_, v)| v).sum::<f64>());
    let ends = [&w.start, &w.end]
        .into_iter()
        .filter_map(|e| find(e, &[family]).map(|f| total(f, names.running_filter)));
    sampled.chain(ends).reduce(f64::max)
}

/// Tokens (prompt and generated) per second, and over what: Prometheus over its range, else
/// the measurement window; `None` when neither was asked.
fn token_rate(
    observation: &Observation,
    names: &EngineMetrics,
    window: &Option<Result<Windowed, String>>,
) -> Option<Result<(f64, String), String>> {
    let query = names.token_counters.first().map(|c| format!("token_rate:{c}"));
    if let Some(answer) = query.and_then(|q| prometheus(observation, &q)) {
        return Some(answer.and_then(|(samples, scope)| {
            samples
                .first()
                .map(|s| (s.value, scope.clone()))
                .ok_or_else(|| format!("no tokens counted {scope}"))
        }));
    }
    match window {
        Some(Ok(w)) => {
            let tokens = |e: &Exposition| -> f64 {
                e.families
                    .iter()
                    .flat_map(|f| f.samples.iter())
                    .filter(|s| names.token_counters.iter().any(|c| same_name(s.name, c)))
                    .map(|s| s.value)
                    .sum()
            };
            let (start, end) = (tokens(&w.start), tokens(&w.end));
            let counted = if end < start { end } else { end - start };
            (w.seconds > 0.0).then(|| Ok((counted / w.seconds, w.scope.clone())))
        }
        Some(Err(why)) => Some(Err(why.clone())),
        None => None,
    }
}

fn cost(target: f64, gpus: u64, hourly: Option<f64>, tokens: Option<Result<(f64, String), String>>) -> Finding {
    let b = FindingBuilder::new(&COST, "/spec/governance/cost/targetCostPer1kTokensUsd").declared(target);
    let Some(hourly) = hourly else {
        return b.status(
            Status::Skip,
            "no GPU price: pass --gpu-hourly-usd to price the declared GPUs",
        );
    };
    let (rate, scope) = match tokens {
        None => {
            return b.status(
                Status::Unknown,
                "a cost needs a token rate: measure one with --window, or ask --prometheus",
            );
        }
        Some(Err(why)) => return b.status(Status::Unknown, why),
        Some(Ok(found)) => found,
    };
    if rate <= 0.0 {
        return b.status(Status::Unknown, format!("no tokens served {scope}"));
    }
    let per_second = gpus as f64 * hourly / 3600.0;
    let per_1k = per_second / rate * 1000.0;
    let b = b.observed((per_1k * 1e6).round() / 1e6).evidence(
        probe_of(&scope),
        json!({"gpus": gpus, "gpu_hourly_usd": hourly, "tokens_per_second": rate, "window": scope}),
        "declared GPUs x hourly price / tokens per second, per 1,000 tokens, is at most the target",
    );
    let text = format!(
        "${per_1k:.6} per 1k tokens ({gpus} GPU(s) at ${hourly}/h, {rate:.1} tokens/s {scope}), target ${target}"
    );
    if per_1k > target {
        b.remediation("serve more tokens per GPU (batch, quantization), use cheaper GPUs, or revise the target")
            .status(Status::Fail, text)
    } else {
        b.status(Status::Pass, text)
    }
}

/// The longest prompts served, as the prompt-length histogram's highest non-empty bucket.
fn sequence_observed(limit: u64, family: &Family, page: &Page) -> Finding {
    let b = FindingBuilder::new(&SEQUENCE_OBSERVED, "/spec/runtime/batch/maxSequenceLengthTokens").declared(limit);
    let mut buckets = merged_buckets(family);
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The highest bucket whose count grows: the longest prompts fall in (previous, that].
    let mut longest: Option<(f64, f64)> = None;
    let mut previous = (0.0, 0.0);
    for (le, count) in &buckets {
        if *count > previous.1 {
            longest = Some((previous.0, *le));
        }
        previous = (*le, *count);
    }
    let Some((lower, upper)) = longest else {
        return b.status(Status::Unknown, format!("{} has counted no request yet", family.name));
    };
    let shown = |x: f64| {
        if x.is_infinite() {
            "+Inf".to_string()
        } else {
            format!("{x:.0}")
        }
    };
    let b = b
        .observed(json!({"longest_prompt_bucket": [lower, if upper.is_infinite() { json!(null) } else { json!(upper) }]}))
        .evidence(
            "http",
            json!({"family": family.name, "at": page.place}),
            "the longest prompts served (the prompt-length histogram's highest non-empty bucket) stay clear of the declared limit",
        );
    let text = format!(
        "the longest prompts served were between {} and {} tokens ({}), limit {limit}",
        shown(lower),
        shown(upper),
        family.name
    );
    if lower >= NEAR_LIMIT * limit as f64 {
        b.remediation("clients send prompts near the limit: raise maxSequenceLengthTokens and the engine's context, or cap prompts")
            .status(Status::Warn, text)
    } else {
        b.status(Status::Pass, text)
    }
}

/// An engine without a latency histogram but with an average ([`AverageLatency`], Triton
/// without `histogram_latencies`): the slowest model's average request duration, ms (an
/// ensemble's requests include its steps', so the slowest is the end-to-end one). Any engine's
/// average found on the page is read, whichever engine the page was taken for.
fn average_latency_ms(exposition: &Exposition) -> Option<(AverageLatency, f64)> {
    EngineId::ALL.iter().find_map(|engine| {
        let average = engine.metrics().average_latency?;
        let durations = find(exposition, average.durations)?;
        let counts = find(exposition, average.counts)?;
        let slowest = durations
            .samples
            .iter()
            .filter_map(|d| {
                let model = d.label(average.label)?;
                let n = counts
                    .samples
                    .iter()
                    .find(|c| c.label(average.label) == Some(model))?
                    .value;
                (n > 0.0).then(|| d.value / n * average.ms_per_unit)
            })
            .reduce(f64::max)?;
        Some((average, slowest))
    })
}

fn judge_average(b: FindingBuilder, target_ms: f64, average: AverageLatency, average_ms: f64, page: &Page) -> Finding {
    let AverageLatency {
        engine,
        durations,
        counts,
        histogram_option,
        ..
    } = average;
    let source = format!(
        "{} / {}",
        durations.first().copied().unwrap_or_default(),
        counts.first().copied().unwrap_or_default()
    );
    let b = b.observed(json!({"average_ms": average_ms})).evidence(
        "http",
        json!({"at": page.place, "source": source}),
        &format!(
            "{engine} exposes no latency histogram without {histogram_option}: its average request duration is compared instead"
        ),
    );
    if average_ms > target_ms {
        b.remediation(format!(
            "add replicas or raise targetLatencyMsP95; turn on {histogram_option} for a real p95"
        ))
        .status(
            Status::Fail,
            format!("even the average request takes {average_ms:.0} ms ({engine} has no latency histogram), over the {target_ms} ms p95 target"),
        )
    } else {
        b.status(
            Status::Unknown,
            format!("the average request takes {average_ms:.0} ms, but {engine} has no latency histogram to find the p95 (turn on {histogram_option})"),
        )
    }
}

/// A p95 bucket (lower, upper] in seconds judged against a target in ms: wholly under
/// passes, wholly over fails, straddling is unknown. `summary` is how much was seen and where.
fn judge_p95(
    b: FindingBuilder,
    target_ms: f64,
    (lower, upper): (f64, f64),
    summary: &str,
    probe: &str,
    raw: serde_json::Value,
    rule: &str,
) -> Finding {
    let (lower_ms, upper_ms) = (lower * 1000.0, upper * 1000.0);
    let bounds = if upper.is_infinite() {
        format!("above {lower_ms:.0} ms")
    } else {
        format!("between {lower_ms:.0} and {upper_ms:.0} ms")
    };
    let b = b
        .observed(json!({"p95_lower_ms": lower_ms, "p95_upper_ms": if upper.is_infinite() { json!(null) } else { json!(upper_ms) }}))
        .evidence(probe, raw, rule);
    if upper_ms <= target_ms {
        b.status(
            Status::Pass,
            format!("p95 is {bounds} {summary}, target {target_ms} ms"),
        )
    } else if lower_ms >= target_ms {
        b.remediation("add replicas, lower the batch, or raise targetLatencyMsP95")
            .status(
                Status::Fail,
                format!("p95 is {bounds} {summary}, over the {target_ms} ms target"),
            )
    } else {
        b.status(
            Status::Unknown,
            format!("p95 is {bounds} {summary}: the bucket straddles the {target_ms} ms target"),
        )
    }
}

/// Which probe a measurement's scope came from: a Prometheus server, or our own scrapes.
fn probe_of(scope: &str) -> &'static str {
    if scope.contains("Prometheus") {
        "prometheus"
    } else {
        "http"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn page(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every engine's page at saturation, as the fixtures record it: the families these checks
    /// read are there under the names `EngineId::metrics` gives, with the recorded values.
    #[test]
    fn every_engine_page_has_the_families_the_checks_read() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let cases: &[(&str, EngineId, f64, Option<f64>, bool)] = &[
            // (saturated page, engine, running, waiting, has a latency histogram)
            (
                "engines/vllm-0.32/default/metrics/saturated.prom",
                EngineId::Vllm,
                8.0,
                Some(4.0),
                true,
            ),
            ("metrics/tgi-3.x/saturated.prom", EngineId::Tgi, 32.0, Some(5.0), true),
            (
                "metrics/sglang-0.5/saturated.prom",
                EngineId::Sglang,
                48.0,
                Some(7.0),
                true,
            ),
            (
                "metrics/triton-trtllm-25.x/saturated.prom",
                EngineId::Triton,
                64.0,
                Some(11.0),
                false,
            ),
            (
                "metrics/llamacpp-b7xxx/saturated.prom",
                EngineId::LlamaCpp,
                4.0,
                Some(3.0),
                false,
            ),
            (
                "metrics/trtllm-serve-1.x/saturated.prom",
                EngineId::TensorrtLlm,
                64.0,
                Some(17.0),
                true,
            ),
            (
                "metrics/nim-llm-1.x/saturated.prom",
                EngineId::Nim,
                64.0,
                Some(9.0),
                true,
            ),
        ];
        for (file, engine, running, waiting, latency) in cases {
            let text = page(&root.join(file));
            let exposition = parse(&text, Format::Prometheus, &Limits::default());
            assert_eq!(
                exposition.outcome.error_count, 0,
                "{file}: {:?}",
                exposition.outcome.errors
            );
            let names = engine.metrics();
            let family = find(&exposition, names.running).unwrap_or_else(|| panic!("{file}: no running family"));
            assert_eq!(total(family, names.running_filter), *running, "{file}");
            if let Some(waiting) = waiting {
                let family = find(&exposition, names.waiting).unwrap_or_else(|| panic!("{file}: no waiting family"));
                assert_eq!(total(family, names.waiting_filter), *waiting, "{file}");
            }
            let histogram = find(&exposition, names.latency_histogram);
            assert_eq!(histogram.is_some(), *latency, "{file}");
            if let Some(h) = histogram {
                let (lower, upper, requests) = p95_bounds(h).unwrap_or_else(|| panic!("{file}: no p95"));
                assert!(
                    requests > 0.0 && lower < upper,
                    "{file}: ({lower}, {upper}] of {requests}"
                );
            }
        }
    }

    fn fixture(rel: &str) -> String {
        page(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel))
    }

    fn page_of(text: &str) -> Page<'_> {
        Page {
            place: "port 8000 /metrics".into(),
            exposition: parse(text, Format::Prometheus, &Limits::default()),
        }
    }

    /// A collector (or SGLang itself) writes `vllm:x` as `vllm_x`: every family the checks read
    /// is found in that form too, and the evidence says which form was seen.
    #[test]
    fn renamed_metric_names_are_read_in_both_forms() {
        let cases = [
            (
                "engines/vllm-0.32/default/metrics/saturated.prom",
                EngineId::Vllm,
                "vllm",
                8.0,
                4.0,
            ),
            (
                "metrics/sglang-0.5/saturated.prom",
                EngineId::Sglang,
                "sglang",
                48.0,
                7.0,
            ),
            (
                "metrics/llamacpp-b7xxx/saturated.prom",
                EngineId::LlamaCpp,
                "llamacpp",
                4.0,
                3.0,
            ),
        ];
        for (file, engine, prefix, running, waiting) in cases {
            let original = fixture(file);
            let renamed = original.replace(&format!("{prefix}:"), &format!("{prefix}_"));
            assert_ne!(original, renamed, "{file}");
            let names = engine.metrics();
            for (text, form) in [(&original, format!("{prefix}:")), (&renamed, format!("{prefix}_"))] {
                let page = page_of(text);
                let family =
                    find(&page.exposition, names.running).unwrap_or_else(|| panic!("{file} {form}: no running"));
                assert!(family.name.starts_with(&form), "{file}: {}", family.name);
                assert_eq!(total(family, names.running_filter), running, "{file} {form}");
                let f = saturation(names, &page).unwrap_or_else(|| panic!("{file} {form}: no saturation"));
                assert_eq!(f.status, Status::Warn, "{f:#?}");
                assert!(
                    f.message.contains(&format!("{waiting} request(s) waiting")),
                    "{}",
                    f.message
                );
                let families = f.evidence.raw["families"].to_string();
                assert!(families.contains(&form), "{file}: {families}");
                let said = name_form(&page.exposition, names).unwrap_or_else(|| panic!("{file} {form}: no form"));
                assert!(said.starts_with(&format!("`{form}` names")), "{file}: {said}");
                let detected =
                    crate::runtime::engine_from_metric_names(page.exposition.families.iter().map(|f| f.name));
                let (seen, why) = detected.unwrap_or_else(|| panic!("{file} {form}: no engine"));
                assert_eq!(seen, engine, "{file} {form}");
                assert!(why.contains(&form), "{why}");
            }
        }
    }

    /// llama.cpp removed llamacpp:kv_cache_usage_ratio and llamacpp:kv_cache_tokens: saturation is
    /// judged on the deferred and processing requests, and the message says so.
    #[test]
    fn llamacpp_saturation_without_its_kv_cache_gauges() {
        let names = EngineId::LlamaCpp.metrics();
        for (file, status) in [
            ("metrics/llamacpp-b7xxx/saturated.prom", Status::Warn),
            ("metrics/llamacpp-b7xxx/idle.prom", Status::Pass),
        ] {
            let text = fixture(file);
            assert!(
                !text.contains("kv_cache"),
                "{file} is a page without the removed gauges"
            );
            let page = page_of(&text);
            let f = saturation(names, &page).unwrap_or_else(|| panic!("{file}: no saturation finding"));
            assert_eq!(f.status, status, "{f:#?}");
            for said in [
                "llamacpp:kv_cache_usage_ratio is absent",
                "judged on llamacpp:requests_deferred",
                "llamacpp:requests_processing",
            ] {
                assert!(f.message.contains(said), "{file}: {said:?} not in {:?}", f.message);
            }
        }
        // An older build with the gauge: judged on it, no note.
        let old = "# TYPE llamacpp:requests_deferred gauge\nllamacpp:requests_deferred 0\n\
            # TYPE llamacpp:kv_cache_usage_ratio gauge\nllamacpp:kv_cache_usage_ratio 0.95\n";
        let f = saturation(names, &page_of(old)).expect("a finding");
        assert_eq!((f.status, f.message.as_str()), (Status::Warn, "KV cache 95% full"));
    }

    #[test]
    fn the_p95_bucket_merges_label_sets() {
        let text = "# TYPE h histogram\n\
            h_bucket{le=\"1\",m=\"a\"} 50\nh_bucket{le=\"2\",m=\"a\"} 50\nh_bucket{le=\"+Inf\",m=\"a\"} 50\n\
            h_bucket{le=\"1\",m=\"b\"} 0\nh_bucket{le=\"2\",m=\"b\"} 50\nh_bucket{le=\"+Inf\",m=\"b\"} 50\n";
        let exposition = parse(text, Format::Prometheus, &Limits::default());
        let family = exposition.family("h").expect("family");
        // 100 requests, 50 under 1 s: the 95th is in (1, 2].
        assert_eq!(p95_bounds(family), Some((1.0, 2.0, 100.0)));
    }

    #[test]
    fn triton_latency_is_its_slowest_models_average() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/metrics/triton-trtllm-25.x/load.prom"),
        )
        .expect("page");
        let exposition = parse(&text, Format::Prometheus, &Limits::default());
        let (_, average) = average_latency_ms(&exposition).expect("an average");
        assert!(average > 0.0 && average.is_finite(), "{average}");
        let page = Page {
            place: "port 8002 /metrics".into(),
            exposition,
        };
        let names = EngineId::Triton.metrics();
        let page = Ok(page);
        let under = latency_p95(average + 1.0, names, &page);
        assert_eq!(under.status, Status::Unknown, "{under:?}");
        assert!(under.message.contains("no latency histogram"), "{}", under.message);
        let over = latency_p95(average / 2.0, names, &page);
        assert_eq!(over.status, Status::Fail, "{over:?}");
    }

    #[test]
    fn window_deltas_subtract_the_start_and_survive_a_restart() {
        let start = [(1.0, 100.0), (f64::INFINITY, 100.0)];
        let end = [(1.0, 110.0), (f64::INFINITY, 130.0)];
        assert_eq!(
            bucket_deltas(&start, &end),
            (vec![(1.0, 10.0), (f64::INFINITY, 30.0)], false)
        );
        let restarted = [(1.0, 5.0), (f64::INFINITY, 8.0)];
        assert_eq!(bucket_deltas(&start, &restarted), (restarted.to_vec(), true));
    }
}
