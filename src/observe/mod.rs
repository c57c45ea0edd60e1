//! The observation: everything the probes saw on a node, in one serializable bundle.
//!
//! A scan is `spec -> plan -> probes -> Observation -> check -> Report`. The observation is the
//! only thing the checks read about the node, so it can be saved (`modelspec facts -o`), moved
//! and replayed (`modelspec scan --facts`) with the same findings as the live scan. Each probe
//! runs on its own thread under one deadline: a probe that does not answer in time is recorded
//! as timed out, with its budget, and never delays the others or the report.
//!
//! The plan is made here too ([`plan`]), from the specs and what the caller adds; nothing in
//! this module draws on a terminal: a caller that wants progress passes a callback
//! ([`window::Progress`]).

pub mod cloud;
pub mod endpoint;
pub mod plan;
pub mod prometheus;
pub mod scrape;
pub mod window;

use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use modelspec_probe_amd::{AmdProbeOptions, AmdSnapshot};
use modelspec_probe_gpu::{GpuProbeOptions, GpuSnapshot, format_rfc3339_utc};
use modelspec_probe_host::{HostProbeOptions, HostSnapshot};
use modelspec_probe_support::tagged::{self, ReasonField, Tagged};
use serde::{Deserialize, Serialize};

/// The schema identifier written into every observation.
pub const SCHEMA: &str = "modelspec.observation/v1";

/// Everything seen on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Observation {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Where and when, by what.
    pub meta: Meta,
    /// The GPU probe's outcome.
    pub gpu: ProbeOutcome<GpuSnapshot>,
    /// The AMD GPU probe's outcome (AMD SMI); absent from observations made before it existed.
    #[serde(default = "amd_not_recorded", skip_serializing_if = "ProbeOutcome::is_not_run")]
    pub amd: ProbeOutcome<AmdSnapshot>,
    /// The host probe's outcome (absent from observations made before it existed).
    #[serde(default = "not_recorded")]
    pub host: ProbeOutcome<HostSnapshot>,
    /// The serving endpoints' answers (absent from observations made before the endpoint
    /// probe existed).
    #[serde(default = "endpoint_not_recorded")]
    pub endpoint: ProbeOutcome<endpoint::EndpointSnapshot>,
    /// A Prometheus server's answers (`--prometheus`); absent when not asked.
    #[serde(default = "prometheus_not_asked", skip_serializing_if = "ProbeOutcome::is_not_run")]
    pub prometheus: ProbeOutcome<prometheus::PrometheusSnapshot>,
    /// The cloud's instance metadata service (`--cloud-metadata`); absent when not asked.
    #[serde(default = "cloud_not_asked", skip_serializing_if = "ProbeOutcome::is_not_run")]
    pub cloud: ProbeOutcome<cloud::CloudSnapshot>,
}

fn amd_not_recorded<T>() -> ProbeOutcome<T> {
    ProbeOutcome::NotRun {
        reason: "the AMD GPU probe was not part of this observation".into(),
    }
}

fn cloud_not_asked<T>() -> ProbeOutcome<T> {
    ProbeOutcome::NotRun {
        reason: "the cloud's metadata service was not asked (--cloud-metadata)".into(),
    }
}

fn prometheus_not_asked<T>() -> ProbeOutcome<T> {
    ProbeOutcome::NotRun {
        reason: "no Prometheus server was given (--prometheus URL)".into(),
    }
}

impl<T> ProbeOutcome<T> {
    /// Whether the probe was not part of the plan.
    pub fn is_not_run(&self) -> bool {
        matches!(self, ProbeOutcome::NotRun { .. })
    }
}

fn endpoint_not_recorded<T>() -> ProbeOutcome<T> {
    ProbeOutcome::NotRun {
        reason: "this observation was recorded without the endpoint probe".into(),
    }
}

fn not_recorded<T>() -> ProbeOutcome<T> {
    ProbeOutcome::NotRun {
        reason: "this observation was recorded without the host probe".into(),
    }
}

/// Where and when an observation was made, and by which tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Meta {
    /// The node's hostname.
    pub hostname: String,
    /// The node's name as the fleet knows it (`scan --node`: Kubernetes' `spec.nodeName`),
    /// when it is not the hostname: a pod's hostname is the pod's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `/etc/machine-id`, when readable.
    pub machine_id: Option<String>,
    /// `modelspec` version that collected it.
    pub tool_version: String,
    /// UTC time collection started (RFC 3339).
    pub collected_at: String,
    /// How long collection took, in milliseconds.
    pub duration_ms: u64,
}

impl Meta {
    /// The node observed: its name as given (`--node`), else its hostname.
    pub fn node_name(&self) -> &str {
        self.node.as_deref().unwrap_or(&self.hostname)
    }
}

/// How a probe's answer was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Provenance {
    /// Which source of reality (`nvml`).
    pub source: String,
    /// How it was read (`nvml-wrapper`, library path).
    pub method: String,
    /// When (RFC 3339, UTC).
    pub observed_at: String,
    /// How long the probe took, in milliseconds.
    pub duration_ms: u64,
}

/// What one probe produced. Read without buffering ([`tagged`]), not by serde's derive for an
/// internally tagged enum, which buffers every snapshot before reading it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeOutcome<T> {
    /// The probe answered (its snapshot may still say the source was unavailable).
    Observed {
        /// How.
        provenance: Provenance,
        /// What it saw.
        snapshot: T,
    },
    /// The probe did not answer within its budget.
    TimedOut {
        /// Which source.
        source: String,
        /// The budget it had, in milliseconds.
        budget_ms: u64,
    },
    /// The probe was not run (not asked for by the plan).
    NotRun {
        /// Why.
        reason: String,
    },
}

impl<T: serde::de::DeserializeOwned> Tagged for ProbeOutcome<T> {
    const TAG: &'static str = "outcome";
    const EXPECTING: &'static str = "a probe outcome: an object with `outcome` observed, timed_out or not_run";
    type Kind = OutcomeKind;

    fn variant<'de, D: serde::Deserializer<'de>>(kind: OutcomeKind, rest: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Observed<T> {
            provenance: Provenance,
            snapshot: T,
        }
        #[derive(Deserialize)]
        struct TimedOut {
            source: String,
            budget_ms: u64,
        }
        Ok(match kind {
            OutcomeKind::Observed => {
                let Observed { provenance, snapshot } = Observed::deserialize(rest)?;
                ProbeOutcome::Observed { provenance, snapshot }
            }
            OutcomeKind::TimedOut => {
                let TimedOut { source, budget_ms } = TimedOut::deserialize(rest)?;
                ProbeOutcome::TimedOut { source, budget_ms }
            }
            OutcomeKind::NotRun => ProbeOutcome::NotRun {
                reason: ReasonField::deserialize(rest)?.reason,
            },
        })
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for ProbeOutcome<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tagged::deserialize(d)
    }
}

/// The values of [`ProbeOutcome`]'s tag.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Observed,
    TimedOut,
    NotRun,
}

impl Observation {
    /// The sources whose probe did not answer before the deadline: a scan that could not see
    /// everything it planned to (its findings there are `unknown`).
    pub fn unanswered(&self) -> Vec<String> {
        fn timed_out<T>(o: &ProbeOutcome<T>) -> Option<String> {
            match o {
                ProbeOutcome::TimedOut { source, .. } => Some(source.clone()),
                _ => None,
            }
        }
        [
            timed_out(&self.gpu),
            timed_out(&self.amd),
            timed_out(&self.host),
            timed_out(&self.endpoint),
            timed_out(&self.prometheus),
            timed_out(&self.cloud),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// What to probe, and how long to wait.
#[derive(Debug, Clone)]
pub struct Plan {
    /// GPU probe options, or `None` to skip the GPU probe.
    pub gpu: Option<GpuProbeOptions>,
    /// AMD GPU probe options, or `None` to skip it.
    pub amd: Option<AmdProbeOptions>,
    /// Host probe options, or `None` to skip the host probe.
    pub host: Option<HostProbeOptions>,
    /// Serving endpoints to ask, or `None` to skip the endpoint probe.
    pub endpoint: Option<endpoint::EndpointPlan>,
    /// A Prometheus server to query, or `None`.
    pub prometheus: Option<prometheus::PrometheusPlan>,
    /// The cloud's metadata service to ask, or `None`.
    pub cloud: Option<cloud::CloudPlan>,
    /// One deadline for all probes.
    pub timeout: Duration,
}

/// Runs the plan's probes concurrently under its deadline.
pub fn collect(plan: &Plan) -> Observation {
    let started = Instant::now();
    let collected_at = format_rfc3339_utc(SystemTime::now());
    let deadline = started + plan.timeout;

    let gpu_rx = plan
        .gpu
        .clone()
        .map(|options| spawn("probe-gpu", move || modelspec_probe_gpu::probe(&options)));
    let amd_rx = plan
        .amd
        .clone()
        .map(|options| spawn("probe-amd", move || modelspec_probe_amd::probe(&options)));
    // The endpoint probe asks the workloads the host probe finds, so it hears of them first.
    let (found_tx, found_rx) = mpsc::channel::<HostSnapshot>();
    let host_rx = plan.host.clone().map(|options| {
        spawn("probe-host", move || {
            let snapshot = modelspec_probe_host::probe(&options);
            let _ = found_tx.send(snapshot.clone());
            snapshot
        })
    });
    let waits_for_host = host_rx.is_some();

    let gpu = outcome(
        gpu_rx,
        deadline,
        plan.timeout,
        "GPU",
        modelspec_probe_gpu::SOURCE,
        |s| Provenance {
            source: s.source.clone(),
            method: format!("nvml-wrapper via {}", s.library.path),
            observed_at: s.observed_at.clone(),
            duration_ms: s.duration_ms,
        },
    );
    // Not serialized when not run (older observations have no `amd`): one reason either way.
    let amd = match amd_rx {
        None => amd_not_recorded(),
        Some(rx) => outcome(
            Some(rx),
            deadline,
            plan.timeout,
            "AMD GPU",
            modelspec_probe_amd::SOURCE,
            |s| Provenance {
                source: s.source.clone(),
                method: format!("AMD SMI via {}", s.library.path),
                observed_at: s.observed_at.clone(),
                duration_ms: s.duration_ms,
            },
        ),
    };
    // The endpoint probe bounds its own requests a little inside the deadline, so a hung
    // server costs a failed exchange, not the whole probe.
    let own_deadline = deadline
        .checked_sub(self_bounded_margin(plan.timeout))
        .unwrap_or(deadline);
    let endpoint_rx = plan.endpoint.clone().map(|endpoint_plan| {
        spawn("probe-endpoint", move || {
            let started = Instant::now();
            let observed_at = format_rfc3339_utc(SystemTime::now());
            // Without the host's answer in time, the ports are asked where the plan says.
            let endpoint_plan = match waits_for_host {
                true => match found_rx.recv_timeout(own_deadline.saturating_duration_since(Instant::now()) / 2) {
                    Ok(host) => endpoint_plan.per_workload(&host),
                    Err(_) => endpoint_plan,
                },
                false => endpoint_plan,
            };
            let snapshot = endpoint::probe(&endpoint_plan, own_deadline);
            (snapshot, observed_at, millis(started.elapsed()))
        })
    });
    let prometheus_rx = plan.prometheus.clone().map(|prometheus_plan| {
        spawn("probe-prometheus", move || {
            let started = Instant::now();
            let observed_at = format_rfc3339_utc(SystemTime::now());
            let snapshot = prometheus::query_all(&prometheus_plan, own_deadline);
            (snapshot, observed_at, millis(started.elapsed()))
        })
    });
    let cloud_rx = plan.cloud.clone().map(|cloud_plan| {
        spawn("probe-cloud", move || {
            let started = Instant::now();
            let observed_at = format_rfc3339_utc(SystemTime::now());
            let snapshot = cloud::query_all(&cloud_plan, own_deadline);
            (snapshot, observed_at, millis(started.elapsed()))
        })
    });
    let host = outcome(host_rx, deadline, plan.timeout, "host", "host", |s| Provenance {
        source: "host".into(),
        method: "/proc, cgroup files, statvfs".into(),
        observed_at: s.observed_at.clone(),
        duration_ms: s.duration_ms,
    });

    let endpoint = timed(outcome(endpoint_rx, deadline, plan.timeout, "endpoint", "http", |t| {
        timed_provenance("http", "HTTP requests to the serving ports (modelspec-probe-http)", t)
    }));
    let prometheus = match prometheus_rx {
        None => prometheus_not_asked(),
        Some(rx) => timed(outcome(
            Some(rx),
            deadline,
            plan.timeout,
            "Prometheus",
            "prometheus",
            |t| timed_provenance("prometheus", "PromQL over the server's HTTP API", t),
        )),
    };

    let cloud = match cloud_rx {
        None => cloud_not_asked(),
        Some(rx) => timed(outcome(
            Some(rx),
            deadline,
            plan.timeout,
            "cloud metadata",
            "cloud",
            |t| {
                timed_provenance(
                    "cloud",
                    "the instance metadata services of AWS, Google Cloud and Azure",
                    t,
                )
            },
        )),
    };

    Observation {
        schema: SCHEMA.into(),
        meta: Meta {
            hostname: hostname(),
            node: None,
            machine_id: machine_id(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            collected_at,
            duration_ms: millis(started.elapsed()),
        },
        gpu,
        amd,
        host,
        endpoint,
        prometheus,
        cloud,
    }
}

/// How far inside the deadline the self-bounded probes (endpoint, Prometheus) stop their
/// requests: the time they need after their last request returns, to record the exchanges,
/// drop the connections and join their threads, before the deadline. It was a flat 50 ms, which
/// a loaded node does not honour (tests/hostile: an endless body on a busy two-core machine),
/// and then every answer was lost to "the endpoint probe did not answer", the reasons with it.
/// A tenth of the timeout, between 50 and 250 ms.
fn self_bounded_margin(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_millis(50), Duration::from_millis(250))
}

/// A probe that reports its own start and duration beside its snapshot.
type Timed<T> = (T, String, u64);

fn timed_provenance<T>(source: &str, method: &str, (_, observed_at, duration_ms): &Timed<T>) -> Provenance {
    Provenance {
        source: source.into(),
        method: method.into(),
        observed_at: observed_at.clone(),
        duration_ms: *duration_ms,
    }
}

/// Drops the timing that went into the provenance.
fn timed<T>(outcome: ProbeOutcome<Timed<T>>) -> ProbeOutcome<T> {
    match outcome {
        ProbeOutcome::Observed { provenance, snapshot } => ProbeOutcome::Observed {
            provenance,
            snapshot: snapshot.0,
        },
        ProbeOutcome::TimedOut { source, budget_ms } => ProbeOutcome::TimedOut { source, budget_ms },
        ProbeOutcome::NotRun { reason } => ProbeOutcome::NotRun { reason },
    }
}

/// Waits for one probe until the shared deadline; what it said, or that it did not answer.
fn outcome<T>(
    rx: Option<mpsc::Receiver<T>>,
    deadline: Instant,
    budget: Duration,
    name: &str,
    source: &str,
    provenance: impl FnOnce(&T) -> Provenance,
) -> ProbeOutcome<T> {
    let Some(rx) = rx else {
        return ProbeOutcome::NotRun {
            reason: format!("the plan does not include the {name} probe"),
        };
    };
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(snapshot) => {
            let provenance = provenance(&snapshot);
            tracing::info!(probe = name, duration_ms = provenance.duration_ms, "probe answered");
            ProbeOutcome::Observed { provenance, snapshot }
        }
        Err(_) => {
            tracing::warn!(
                probe = name,
                budget_ms = millis(budget),
                "probe did not answer before the deadline"
            );
            ProbeOutcome::TimedOut {
                source: source.into(),
                budget_ms: millis(budget),
            }
        }
    }
}

/// Runs `probe` on its own thread; the answer arrives on the returned channel.
///
/// Detached on purpose: a probe stuck in a driver or kernel call must not hold up the scan. The
/// process ends after the report, taking the thread with it.
fn spawn<T: Send + 'static>(name: &str, probe: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    tracing::debug!(probe = name, "probe started");
    let _ = std::thread::Builder::new().name(name.into()).spawn(move || {
        let _ = tx.send(probe());
    });
    rx
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// This machine's hostname, as the kernel knows it.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// systemd's machine id, where there is one.
pub(crate) fn machine_id() -> Option<String> {
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Why a saved observation could not be used.
#[derive(Debug)]
pub struct ReadError(pub String);

/// Largest observation file [`Observation::read_file`] reads. A real one is tens of KiB (the
/// demo's is 28 KiB); a node with many GPUs and metric families stays well under 1 MiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Observation {
    /// Reads a saved observation (`modelspec facts -o FILE`).
    /// Reads a saved observation (`scan --facts FILE`). At most [`MAX_FILE_BYTES`] are read, so
    /// that naming a 100 MB file (or `/dev/zero`) by mistake is refused at once instead of being
    /// read whole; invalid UTF-8 is reported at its line and column.
    pub fn read_file(path: &std::path::Path) -> Result<Observation, ReadError> {
        use std::io::Read;
        let shown = path.display();
        let file = modelspec_probe_support::open_regular_file(path).map_err(|e| ReadError(format!("{shown}: {e}")))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(ReadError(format!("{shown}: is a directory; name an observation file")));
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ReadError(format!("{shown}: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(ReadError(format!(
                "{shown}: larger than the {} MiB an observation may be; is this a `modelspec facts` file?",
                MAX_FILE_BYTES / (1024 * 1024)
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            let line = prefix.matches('\n').count() + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            ReadError(format!(
                "{shown}:{line}:{column}: not a modelspec observation: the file is not valid UTF-8; \
                 capture one with `modelspec facts -o FILE`"
            ))
        })?;
        Observation::from_json(&text, &shown.to_string())
    }

    pub fn from_json(text: &str, origin: &str) -> Result<Observation, ReadError> {
        let obs: Observation = serde_json::from_str(text).map_err(|e| {
            ReadError(format!(
                "{origin}:{}:{}: not a modelspec observation: {e}; capture one with `modelspec facts -o FILE`",
                e.line(),
                e.column()
            ))
        })?;
        if obs.schema != SCHEMA {
            return Err(ReadError(format!(
                "{origin}: observation schema {:?} is not {SCHEMA:?}; capture it again with this version of modelspec",
                obs.schema
            )));
        }
        Ok(obs)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_outcome_reads_the_same_with_its_tag_first_or_anywhere() {
        use serde_json::json;
        let first = json!({"outcome": "not_run", "reason": "not asked"}).to_string();
        let last = r#"{"reason": "not asked", "outcome": "not_run"}"#;
        for text in [first.as_str(), last] {
            let o: ProbeOutcome<u32> = serde_json::from_str(text).expect(text);
            assert_eq!(
                o,
                ProbeOutcome::NotRun {
                    reason: "not asked".into()
                },
                "{text}"
            );
        }
        let observed = r#"{"outcome":"observed","provenance":{"source":"nvml","method":"m","observed_at":"t","duration_ms":1},"snapshot":7,"extra":[1]}"#;
        let o: ProbeOutcome<u32> = serde_json::from_str(observed).expect("observed");
        assert!(matches!(o, ProbeOutcome::Observed { snapshot: 7, .. }));
        // What the derived reader refused stays refused.
        for bad in [
            r#"{"outcome":"observed","snapshot":7}"#,
            r#"{"outcome":"timed_out","source":"a","source":"b","budget_ms":1}"#,
            r#"{"outcome":"lost"}"#,
            r#"{"snapshot":7}"#,
            r#"[]"#,
        ] {
            assert!(serde_json::from_str::<ProbeOutcome<u32>>(bad).is_err(), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn an_empty_plan_runs_nothing_and_still_describes_the_node() {
        let obs = collect(&Plan {
            gpu: None,
            amd: None,
            host: None,
            endpoint: None,
            prometheus: None,
            cloud: None,
            timeout: Duration::from_secs(1),
        });
        assert_eq!(obs.schema, SCHEMA);
        assert!(matches!(obs.gpu, ProbeOutcome::NotRun { .. }));
        assert!(matches!(obs.host, ProbeOutcome::NotRun { .. }));
        assert!(!obs.meta.hostname.is_empty());
        let text = serde_json::to_string(&obs).expect("serialize");
        assert_eq!(Observation::from_json(&text, "test").expect("read back"), obs);
    }

    #[test]
    fn foreign_json_is_refused_with_a_location() {
        let err = Observation::from_json("{\"schema\": 1}", "x.json").expect_err("must fail");
        assert!(err.0.starts_with("x.json:1:"), "{}", err.0);
        let other = serde_json::json!({"schema": "other/v9", "meta": {"hostname": "h", "machine_id": null, "tool_version": "0", "collected_at": "t", "duration_ms": 0}, "gpu": {"outcome": "not_run", "reason": "r"}});
        let err = Observation::from_json(&other.to_string(), "y.json").expect_err("must fail");
        assert!(err.0.contains("other/v9"), "{}", err.0);
    }
}
