//! From specs to a [`Plan`]: what each probe should ask on this node.
//!
//! The specs say which ports serve, which paths their probes answer on, which environment
//! variables the serving process must have, where the model lies and which engine serves it;
//! the caller adds what the specs cannot say (how to reach the endpoints, a pid, a window, a
//! Prometheus server). Building the plan here, next to the probes it drives, keeps the CLI to
//! parsing and printing.
//!
//! Engine knowledge (metric names per engine) is read from `runtime`, and the serving port and
//! model path from the spec's own accessors, as the checks read them, so a plan asks for what
//! the checks will look at.

use std::path::PathBuf;
use std::time::Duration;

use modelspec_probe_gpu::{GpuProbeOptions, XidWatch};
use modelspec_probe_host::{HostProbeOptions, ServerQuery};
use modelspec_probe_http::ClientOptions;

use super::Plan;
use super::endpoint::{EndpointPlan, TargetPlan};
use super::prometheus::{PrometheusPlan, Query, queries_for};
use super::window::WindowPlan;
use crate::runtime::{EngineId, triton};
use crate::spec::ModelSpec;
use crate::spec::model::Protocol;

/// What the plan needs besides the specs.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// The NVML library to load.
    pub nvml_lib: Option<PathBuf>,
    /// The AMD SMI library to load.
    pub amdsmi_lib: Option<PathBuf>,
    /// How the GPU probe watches for XID errors.
    pub xid: XidWatch,
    /// The deadline for all probes (a window is added to it).
    pub timeout: Duration,
    /// The serving process, when the port does not lead to it (`--pid`).
    pub pid: Option<u32>,
    /// The filesystem to measure, else each spec's local model path (`--storage-path`).
    pub storage_path: Option<PathBuf>,
    /// The host of the serving endpoints (`--host`).
    pub host: Option<String>,
    /// A base URL replacing `http://HOST:PORT` (`--endpoint`); one serving port only.
    pub endpoint: Option<String>,
    /// Token, CA file and TLS verification for every request.
    pub client: ClientOptions,
    /// Measure the metrics over a window.
    pub window: Option<WindowPlan>,
    /// Scrape metrics here instead of the engine's endpoint (`--metrics-url`).
    pub metrics_url: Option<String>,
    /// A Prometheus server to query.
    pub prometheus: Option<PrometheusOptions>,
    /// The cloud's metadata service to ask.
    pub cloud: Option<super::cloud::CloudPlan>,
}

/// `--prometheus URL --range R --selector S`, as given.
#[derive(Debug, Clone, Default)]
pub struct PrometheusOptions {
    pub url: String,
    pub range: String,
    pub selector: String,
}

/// Why no plan can be made from what was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// `--endpoint` with specs that serve on several ports.
    EndpointForSeveralPorts,
    /// `--range` is not a Prometheus duration.
    Range(String),
    /// `--selector` is not label matchers in braces.
    Selector(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::EndpointForSeveralPorts => f.write_str(
                "--endpoint replaces the address of one serving port, but the specs name several; scan them one at a \
                 time",
            ),
            PlanError::Range(range) => write!(f, "--range {range:?} is not a Prometheus duration (e.g. 1h, 30m, 90s)"),
            PlanError::Selector(selector) => write!(
                f,
                "--selector {selector:?} must be label matchers in braces, e.g. '{{namespace=\"prod\"}}'"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

/// The whole plan: every probe, under one deadline that also covers a window.
pub fn plan(specs: &[&ModelSpec], options: &PlanOptions) -> Result<Plan, PlanError> {
    let endpoint = endpoint_plan(specs, options)?;
    let prometheus = match &options.prometheus {
        Some(p) => Some(prometheus_plan(specs, p, &options.client)?),
        None => None,
    };
    Ok(Plan {
        gpu: Some(GpuProbeOptions {
            library: options.nvml_lib.clone(),
            xid: options.xid.clone(),
        }),
        // Both vendors, always: a spec for one on a node of the other is drift to report.
        amd: Some(modelspec_probe_amd::AmdProbeOptions {
            library: options.amdsmi_lib.clone(),
        }),
        host: Some(host_plan(specs, options.pid, options.storage_path.as_ref())),
        endpoint: Some(endpoint),
        prometheus,
        cloud: options.cloud.clone(),
        // The window is measured, not waited out: the deadline covers it plus the usual budget.
        timeout: options.timeout + options.window.as_ref().map_or(Duration::ZERO, |w| w.duration),
    })
}

/// What the host probe should look for: one serving process per distinct serving port (or the
/// `pid` process), with the environment variables the specs served there declare, and the
/// filesystems holding the models.
pub fn host_plan(specs: &[&ModelSpec], pid: Option<u32>, storage_path: Option<&PathBuf>) -> HostProbeOptions {
    let mut servers: Vec<ServerQuery> = Vec::new();
    for spec in specs {
        let port = spec.serving_port();
        let declared = spec
            .spec
            .runtime
            .environment
            .as_ref()
            .map(|e| e.variables.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        match servers.iter_mut().find(|q| q.port == port) {
            Some(query) => query.declared_env.extend(declared),
            None => servers.push(ServerQuery {
                port,
                pid,
                declared_env: declared,
            }),
        }
    }
    for query in &mut servers {
        query.declared_env.sort();
        query.declared_env.dedup();
    }
    // Without a port or a pid there is nothing to look for; the checks say so.
    servers.retain(|q| q.port.is_some() || q.pid.is_some());
    let mut storage_paths: Vec<PathBuf> = match storage_path {
        Some(path) => vec![path.clone()],
        None => specs
            .iter()
            .filter_map(|spec| spec.local_model_path().map(PathBuf::from))
            .collect(),
    };
    storage_paths.dedup();
    HostProbeOptions { servers, storage_paths }
}

/// What to ask over HTTP: each distinct serving port once, with the probe paths of the specs
/// served there, Triton's configuration of each spec's model, and an HTTP/2 check for gRPC.
pub fn endpoint_plan(specs: &[&ModelSpec], options: &PlanOptions) -> Result<EndpointPlan, PlanError> {
    let mut targets: Vec<TargetPlan> = Vec::new();
    for spec in specs {
        let Some(port) = spec.serving_port() else {
            continue;
        };
        let serving = spec.spec.operations.as_ref().and_then(|o| o.serving.as_ref());
        let probes = serving
            .into_iter()
            .flat_map(|sv| [&sv.readiness_probe, &sv.liveness_probe])
            .flatten()
            .filter_map(|p| p.path.clone());
        let model_config = triton::config_path(triton::model_name(&spec.spec.identity.model.id));
        let grpc = serving.and_then(|sv| sv.protocol) == Some(Protocol::Grpc);
        let index = match targets.iter().position(|t| t.port == port) {
            Some(i) => i,
            None => {
                targets.push(TargetPlan {
                    port,
                    endpoint: options.endpoint.clone(),
                    model_dir: spec.local_model_path(),
                    ..TargetPlan::default()
                });
                targets.len() - 1
            }
        };
        if let Some(t) = targets.get_mut(index) {
            t.extra_paths.extend(probes);
            t.extra_paths.push(model_config);
            t.grpc |= grpc;
        }
    }
    if options.endpoint.is_some() && targets.len() > 1 {
        return Err(PlanError::EndpointForSeveralPorts);
    }
    Ok(EndpointPlan {
        host: options.host.clone(),
        targets,
        client: options.client.clone(),
        window: options.window.clone(),
        metrics_url: options.metrics_url.clone(),
    })
}

/// The PromQL queries for the specs' engines (their declared framework; every engine when a
/// spec names none modelspec knows).
pub fn prometheus_plan(
    specs: &[&ModelSpec],
    p: &PrometheusOptions,
    client: &ClientOptions,
) -> Result<PrometheusPlan, PlanError> {
    let range = p.range.trim();
    if range.is_empty() || !range.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(PlanError::Range(range.to_string()));
    }
    let selector = p.selector.trim();
    let braced = selector.starts_with('{') && selector.ends_with('}');
    if !selector.is_empty() && !braced {
        return Err(PlanError::Selector(selector.to_string()));
    }
    let mut engines: Vec<EngineId> = Vec::new();
    for spec in specs {
        match EngineId::from_framework(&spec.spec.identity.model.framework) {
            Some(e) => engines.push(e),
            None => engines.extend(EngineId::ALL),
        }
    }
    engines.sort();
    engines.dedup();
    let mut queries: Vec<Query> = Vec::new();
    for engine in engines {
        let names = engine.metrics();
        for q in queries_for(
            names.latency_histogram.first().copied(),
            names.running.first().map(|r| (*r, names.running_filter)),
            // One engine's counters: the first pair of names (renames follow it in the list).
            names.token_counters.get(..2).unwrap_or_default(),
            selector,
            range,
        ) {
            if !queries.contains(&q) {
                queries.push(q);
            }
        }
    }
    Ok(PrometheusPlan {
        url: p.url.clone(),
        range: range.to_string(),
        selector: selector.to_string(),
        queries,
        client: client.clone(),
    })
}
