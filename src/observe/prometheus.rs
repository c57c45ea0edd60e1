//! Prometheus server mode (`--prometheus URL`): the same facts as a scrape, over a time range,
//! through PromQL on the server's HTTP API.
//!
//! A scrape sees the server's lifetime and one instant; a Prometheus server that has been
//! scraping the engine sees the last hour. The queries are built here from the engines' family
//! names (which the checks share) and the user's selector; their answers are recorded as
//! labelled samples, so the checks stay pure and a saved observation replays them. The p95
//! query returns the per-bucket rates rather than `histogram_quantile`'s interpolation, so the
//! check can say which bucket holds the p95 and pass only when the whole bucket is under target.

use std::collections::BTreeMap;
use std::time::Instant;

use modelspec_probe_http::{ClientOptions, HttpClient, Request, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What to ask the server.
#[derive(Debug, Clone)]
pub struct PrometheusPlan {
    /// The server's base URL.
    pub url: String,
    /// The range of rates and maxima (`1h`, `30m`).
    pub range: String,
    /// Label matchers narrowing every query (`{namespace="prod"}`), or empty.
    pub selector: String,
    /// The queries, by name.
    pub queries: Vec<Query>,
    pub client: ClientOptions,
}

/// One named PromQL query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// `bucket_rates:vllm:e2e_request_latency_seconds`, `request_rate:...`, `peak_running:...`.
    pub name: String,
    pub promql: String,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrometheusSnapshot {
    pub url: String,
    pub range: String,
    pub selector: String,
    pub results: Vec<QueryResult>,
}

/// One query's answer: its samples (labels and value), or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub name: String,
    pub promql: String,
    #[serde(default)]
    pub samples: Vec<LabelledValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A sample of an instant vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledValue {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// `family{selector matchers, extra}`: the user's selector merged with a check's own matcher.
pub fn selected(family: &str, selector: &str, extra: Option<(&str, &str)>) -> String {
    let inner = selector.trim().trim_start_matches('{').trim_end_matches('}').trim();
    let mut matchers: Vec<String> = Vec::new();
    // An OpenTelemetry collector or a managed Prometheus stores `vllm:x` as `vllm_x` (a colon
    // is reserved for recording rules there): a name with a colon matches both spellings.
    if family.contains(':') {
        matchers.push(format!("__name__=~\"{}\"", family.replace(':', "[:_]")));
        if !inner.is_empty() {
            matchers.push(inner.to_string());
        }
        if let Some((k, v)) = extra {
            matchers.push(format!("{k}=\"{v}\""));
        }
        return format!("{{{}}}", matchers.join(","));
    }
    if !inner.is_empty() {
        matchers.push(inner.to_string());
    }
    if let Some((k, v)) = extra {
        matchers.push(format!("{k}=\"{v}\""));
    }
    if matchers.is_empty() {
        family.to_string()
    } else {
        format!("{family}{{{}}}", matchers.join(","))
    }
}

/// The queries for one engine's families.
pub fn queries_for(
    latency_histogram: Option<&str>,
    running: Option<(&str, Option<(&str, &str)>)>,
    token_counters: &[&str],
    selector: &str,
    range: &str,
) -> Vec<Query> {
    let mut out = Vec::new();
    if let Some(h) = latency_histogram {
        out.push(Query {
            name: format!("bucket_rates:{h}"),
            promql: format!(
                "sum by (le) (rate({}[{range}]))",
                selected(&format!("{h}_bucket"), selector, None)
            ),
        });
        out.push(Query {
            name: format!("request_rate:{h}"),
            promql: format!(
                "sum(rate({}[{range}]))",
                selected(&format!("{h}_count"), selector, None)
            ),
        });
    }
    if let [first, ..] = token_counters {
        let sum: Vec<String> = token_counters
            .iter()
            .map(|c| format!("sum(rate({}[{range}]))", selected(c, selector, None)))
            .collect();
        out.push(Query {
            name: format!("token_rate:{first}"),
            promql: sum.join(" + "),
        });
    }
    if let Some((family, filter)) = running {
        out.push(Query {
            name: format!("peak_running:{family}"),
            promql: format!("max_over_time(sum({})[{range}:])", selected(family, selector, filter)),
        });
    }
    out
}

/// Percent-encodes a query parameter (everything but unreserved characters).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Asks every query by `deadline`.
pub fn query_all(plan: &PrometheusPlan, deadline: Instant) -> PrometheusSnapshot {
    let mut snapshot = PrometheusSnapshot {
        url: plan.url.clone(),
        range: plan.range.clone(),
        selector: plan.selector.clone(),
        results: Vec::new(),
    };
    let client = Target::endpoint(&plan.url)
        .map_err(|e| e.reason().to_string())
        .and_then(|t| HttpClient::new(t, plan.client.clone()).map_err(|e| e.reason().to_string()));
    let requests: Vec<Request> = plan
        .queries
        .iter()
        .map(|q| Request::get(format!("/api/v1/query?query={}", encode(&q.promql))).accept("application/json"))
        .collect();
    let exchanges = match &client {
        Ok(client) => modelspec_probe_http::fetch_all(client, &requests, deadline),
        Err(_) => Vec::new(),
    };
    for (i, q) in plan.queries.iter().enumerate() {
        let mut result = QueryResult {
            name: q.name.clone(),
            promql: q.promql.clone(),
            samples: Vec::new(),
            error: None,
        };
        match (&client, exchanges.get(i)) {
            (Err(why), _) => result.error = Some(why.clone()),
            (Ok(_), None) => result.error = Some("not asked".into()),
            (Ok(_), Some(exchange)) => match exchange.json() {
                Err(problem) => result.error = Some(problem.reason),
                Ok(doc) => match vector(&doc) {
                    Ok(samples) => result.samples = samples,
                    Err(why) => result.error = Some(why),
                },
            },
        }
        snapshot.results.push(result);
    }
    snapshot
}

/// The samples of an instant-vector answer (`{"status":"success","data":{"result":[...]}}`).
fn vector(doc: &Json) -> Result<Vec<LabelledValue>, String> {
    if doc.get("status").and_then(Json::as_str) != Some("success") {
        let why = doc.get("error").and_then(Json::as_str).unwrap_or("the query failed");
        return Err(format!("Prometheus: {why}"));
    }
    let result = doc
        .get("data")
        .and_then(|d| d.get("result"))
        .and_then(Json::as_array)
        .ok_or("Prometheus answered no result list")?;
    Ok(result
        .iter()
        .filter_map(|r| {
            let labels = r
                .get("metric")?
                .as_object()?
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect();
            let value = r.get("value")?.get(1)?.as_str()?;
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().ok()?,
            };
            Some(LabelledValue { labels, value })
        })
        .filter(|s| !s.value.is_nan())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_merge_with_a_checks_own_matcher() {
        assert_eq!(selected("up", "", None), "up");
        assert_eq!(selected("up", "{job=\"a\"}", None), "up{job=\"a\"}");
        assert_eq!(
            selected("m", "{ns=\"p\", pod=~\"x-.*\"}", Some(("request_type", "active"))),
            "m{ns=\"p\", pod=~\"x-.*\",request_type=\"active\"}"
        );
    }

    /// Issue 14: a collector that rewrote `vllm:` to `vllm_` must still be found.
    #[test]
    fn names_with_a_colon_match_both_spellings() {
        assert_eq!(
            selected("vllm:num_requests_running", "", None),
            "{__name__=~\"vllm[:_]num_requests_running\"}"
        );
        assert_eq!(
            selected("sglang:num_running_reqs", "{ns=\"p\"}", Some(("model", "m"))),
            "{__name__=~\"sglang[:_]num_running_reqs\",ns=\"p\",model=\"m\"}"
        );
        assert_eq!(selected("tgi_queue_size", "", None), "tgi_queue_size");
    }

    #[test]
    fn answers_become_labelled_values() {
        let doc = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"le": "0.5"}, "value": [1.0, "2.5"]},
            {"metric": {"le": "+Inf"}, "value": [1.0, "NaN"]},
        ]}});
        let samples = vector(&doc).expect("vector");
        assert_eq!(samples.len(), 1, "NaN is no data");
        assert_eq!(samples[0].value, 2.5);
        let error = serde_json::json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert!(vector(&error).is_err_and(|e| e.contains("parse error")));
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            encode("sum(rate(a{b=\"c\"}[1h]))"),
            "sum%28rate%28a%7Bb%3D%22c%22%7D%5B1h%5D%29%29"
        );
    }
}
