//! Host and serving-process domain: the serving port, the declared environment, and CPU,
//! memory and storage against the limits that really apply (the cgroup's, when there is one).

use modelspec_probe_host::env::REDACTED;
use modelspec_probe_host::{
    CpuLimit, EffectiveLimits, HostSnapshot, MemoryLimit, Observed, PortListener, ServingProcess,
};
use serde_json::{Value as Json, json};

use super::target::{self, Resolution};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::observe::Observation;
use crate::spec::ModelSpec;

/// Something listens on the declared serving port, and we know which process.
pub const SERVING_PORT: Check = Check {
    code: "serving-port",
    domain: Domain::Serving,
    summary: "the declared serving port is listened on, by the serving process (or the --pid one)",
    explanation: "Something listens on operations.serving.port (IPv4 or IPv6, any address) and its process is known (socket inode -> pid, via sock_diag or /proc/net). With --pid, the port must be held by that process or its children; another holder is drift, and named.",
    pointers: &["/spec/operations/serving/port"],
};

/// A declared environment variable is set, with the declared value, in the serving process.
pub const ENV_VARIABLE: Check = Check {
    code: "env-variable",
    domain: Domain::Host,
    summary: "a declared environment variable is set in the serving process, with the declared value",
    explanation: "Equality: each declared runtime.environment.variables entry must be set in the serving process's environment with the declared value. A missing variable or another value fails; a secret-looking value is never shown and reads unknown. Extra variables are never listed.",
    pointers: &["/spec/runtime/environment/variables"],
};

/// The CPU cores available to the serving process are at least the declared count.
pub const CPU: Check = Check {
    code: "resources-cpu",
    domain: Domain::Host,
    summary: "CPU available to the serving process (cgroup quota and cpuset, else host) covers cpuCores",
    explanation: "Bound: CPU available to the serving process (the smaller of its cgroup v2/v1 quota and the CPUs its cpuset allows, Cpus_allowed_list; else the host's logical cores) must cover runtime.resources.cpuCores. The values are in the evidence.",
    pointers: &["/spec/runtime/resources/cpuCores"],
};

/// The memory available to the serving process is at least the declared amount.
pub const MEMORY: Check = Check {
    code: "resources-memory",
    domain: Domain::Host,
    summary: "memory available to the serving process (cgroup limit, else host) covers memoryGb",
    explanation: "Bound: memory available to the serving process (its cgroup limit, else the host's total) must cover runtime.resources.memoryGb, read as GiB.",
    pointers: &["/spec/runtime/resources/memoryGb"],
};

/// The filesystem holding the model has at least the declared capacity.
pub const STORAGE: Check = Check {
    code: "resources-storage",
    domain: Domain::Host,
    summary: "the filesystem holding the model has ephemeralStorageGb of capacity",
    explanation: "Bound: the filesystem holding the model (--storage-path, else a local modelUri) must have runtime.resources.ephemeralStorageGb of capacity, read as GiB (statvfs).",
    pointers: &["/spec/runtime/resources/ephemeralStorageGb"],
};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Which workload the spec is judged against, and how it was chosen.
pub const WORKLOAD: Check = Check {
    code: "workload-match",
    domain: Domain::Serving,
    summary: "which workload (process, container, pod) the spec is judged against, and how it was chosen",
    explanation: "Which workload (process, container, pod) a spec is judged against, and how it was chosen. Every network namespace on the node is searched for listeners on the serving port (a container's or pod's own namespace included), and port forwarders are followed to the workload (podman's conmon to its container, docker-proxy to its -container-ip/-container-port, docker's hostconfig.json for ports no process holds). Then, in order: --workload (pid:PID, container:NAME-OR-ID, NAMESPACE/POD[/CONTAINER], with * globs); the spec's metadata.annotations[\"modelspec.piqc.ai/workload\"] in the same grammar; the port together with the model id its engine serves; the port alone when one process serves it and no other scanned spec claimed it. Pass names the chain (host port -> forwarder -> process in container, and the address it was reached at); unknown lists the candidates when several remain; skip when the spec is not deployed on this node.",
    pointers: &["/metadata/name", "/metadata/annotations/modelspec.piqc.ai~1workload"],
};

/// What this spec's host checks read: the node, and the workload resolved for this spec.
struct View<'a> {
    node: &'a HostSnapshot,
    resolution: &'a Resolution<'a>,
}

impl<'a> View<'a> {
    /// The serving process, or why there is none to judge.
    fn serving(&self) -> Result<&'a ServingProcess, (Status, String)> {
        match self.resolution.missing() {
            None => self
                .resolution
                .process()
                .ok_or((Status::Unknown, "no serving process".into())),
            Some(missing) => Err(missing),
        }
    }

    /// The serving process's cgroup limits when it was found, else the node's (the probe's own).
    fn limits(&self) -> &'a EffectiveLimits {
        self.resolution
            .candidate()
            .and_then(|c| c.limits.as_ref())
            .unwrap_or(&self.node.limits)
    }
}

/// The spec's workload: which process, container and pod it is judged against, and how that
/// was chosen (`pass`), or why none was (`unknown`; `skip` when not deployed here).
pub(crate) fn workload(spec: &ModelSpec, resolution: &Resolution) -> Finding {
    let pointer = match target::spec_selector(spec) {
        Some(_) => format!(
            "/metadata/annotations/{}",
            target::WORKLOAD_ANNOTATION.replace('~', "~0").replace('/', "~1")
        ),
        // The spec as a whole: which workload on the node is this spec's.
        None => "/metadata/name".to_string(),
    };
    let b = FindingBuilder::new(&WORKLOAD, &pointer).evidence(
        "host",
        resolution.evidence(),
        "--workload, else the spec's annotation, else the port and the served model id, else the port alone when \
         one process serves it",
    );
    match resolution {
        Resolution::Found { candidate, .. } => {
            // What identifies the workload: its pid, and its container and pod when it has them.
            let mut observed = serde_json::Map::new();
            observed.insert("pid".into(), json!(candidate.process.pid));
            let workload = candidate.workload.as_ref();
            if let Some(id) = workload.and_then(|w| w.container_id.clone()) {
                observed.insert("container_id".into(), json!(id));
            }
            if let Some((ns, pod)) = workload.and_then(|w| w.pod_namespace.as_ref().zip(w.pod_name.as_ref())) {
                observed.insert("pod".into(), json!(format!("{ns}/{pod}")));
            }
            b.observed(Json::Object(observed))
                .status(Status::Pass, resolution.describe())
        }
        Resolution::NotDeployed { .. } => b.status(Status::Skip, resolution.describe()),
        Resolution::Unresolved { status, reason } => b.status(*status, reason.clone()),
    }
}

pub(crate) fn check(spec: &ModelSpec, observation: &Observation, resolution: &Resolution, out: &mut Vec<Finding>) {
    let snapshot = target::host(observation).map(|node| View { node, resolution });
    let port = spec
        .spec
        .operations
        .as_ref()
        .and_then(|o| o.serving.as_ref())
        .and_then(|s| s.port);
    if let Some(port) = port {
        out.push(serving_port(port, &snapshot));
    }
    if let Some(env) = &spec.spec.runtime.environment {
        for (name, declared) in &env.variables {
            out.push(env_variable(name, declared, &snapshot));
        }
    }
    if let Some(resources) = &spec.spec.runtime.resources {
        if let Some(cores) = resources.cpu_cores {
            out.push(cpu(cores, &snapshot));
        }
        if let Some(gb) = resources.memory_gb {
            out.push(memory(gb, &snapshot));
        }
        if let Some(gb) = resources.ephemeral_storage_gb {
            out.push(storage(gb, spec, &snapshot));
        }
    }
}

fn serving_port(port: u64, snapshot: &Result<View, String>) -> Finding {
    let b = FindingBuilder::new(&SERVING_PORT, "/spec/operations/serving/port").declared(port);
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(reason) => return b.status(Status::Unknown, format!("not observed: {reason}")),
    };
    match snapshot.serving() {
        Ok(process) => {
            let name = process.name.value().cloned().unwrap_or_else(|| "?".into());
            let listener = snapshot.resolution.server().and_then(|s| s.port_listener.as_ref());
            let route = snapshot.resolution.candidate().map(|c| c.route()).unwrap_or_default();
            match listener {
                // Found by its port: it is the listener.
                None => b
                    .observed(json!({"pid": process.pid, "name": name}))
                    .evidence(
                        "host",
                        serde_json::to_value(&process.found_by).unwrap_or(Json::Null),
                        "a socket listens on the declared port and its owning process is known",
                    )
                    .status(
                        Status::Pass,
                        if route.contains(" → ") || route.contains(" in ") {
                            format!("port {port} is served by {route}")
                        } else {
                            format!("port {port} is served by pid {} ({name})", process.pid)
                        },
                    ),
                // Named by pid: the port must be held by that process or its children.
                Some(Observed::Ok { value }) => named_process_holds_port(b, port, process, &name, value),
                Some(Observed::Absent { reason }) => b
                    .evidence(
                        "host",
                        json!(reason),
                        "the named serving process listens on the declared port",
                    )
                    .remediation("start the model server on the declared port, or correct operations.serving.port")
                    .status(
                        Status::Fail,
                        format!("{reason}; pid {} ({name}) does not serve it", process.pid),
                    ),
                Some(Observed::Unknown { reason }) => b.status(Status::Unknown, reason.clone()),
            }
        }
        Err((Status::Fail, reason)) => b
            .evidence("host", json!(reason), "a socket listens on the declared port")
            .remediation("start the model server, or correct operations.serving.port")
            .status(Status::Fail, reason),
        Err((status, reason)) => b.status(status, reason),
    }
}

/// With `--pid`, whoever holds the port must be that process or one of its children.
fn named_process_holds_port(
    b: FindingBuilder,
    port: u64,
    process: &ServingProcess,
    name: &str,
    listener: &PortListener,
) -> Finding {
    let mut tree = vec![process.pid];
    tree.extend(process.children.value().into_iter().flatten().map(|c| c.pid));
    let b = b
        .observed(json!({"pid": listener.pid, "name": listener.name}))
        .evidence(
            "host",
            json!({"named_pid": process.pid, "holders": listener.holders, "addresses": listener.addresses}),
            "the declared port is held by the named serving process or its children",
        );
    if listener.holders.iter().any(|h| tree.contains(h)) {
        return b.status(
            Status::Pass,
            format!("port {port} is served by pid {} ({name})", process.pid),
        );
    }
    let holder = match (listener.pid, &listener.name) {
        (Some(pid), Some(holder)) => format!("pid {pid} ({holder})"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => format!("pids {:?}", listener.holders),
    };
    b.remediation(format!(
        "stop {holder} or move it to another port, or point --pid at the process that serves port {port}"
    ))
    .status(
        Status::Fail,
        format!(
            "port {port} is held by {holder}, not by the serving process pid {} ({name})",
            process.pid
        ),
    )
}

fn env_variable(name: &str, declared: &str, snapshot: &Result<View, String>) -> Finding {
    let pointer = format!(
        "/spec/runtime/environment/variables/{}",
        name.replace('~', "~0").replace('/', "~1")
    );
    // A declared secret is not repeated in the report either.
    let shown_declared =
        if modelspec_probe_host::env::is_secret_name(name) || modelspec_probe_host::env::looks_like_token(declared) {
            REDACTED
        } else {
            declared
        };
    let b = FindingBuilder::new(&ENV_VARIABLE, &pointer).declared(shown_declared);
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(reason) => return b.status(Status::Unknown, format!("not observed: {reason}")),
    };
    let process = match snapshot.serving() {
        Ok(p) => p,
        Err((_, reason)) => return b.status(Status::Unknown, format!("no serving process to read: {reason}")),
    };
    let env = match &process.environment {
        Observed::Ok { value } => value,
        other => {
            return b.status(
                Status::Unknown,
                other
                    .reason()
                    .unwrap_or("the environment could not be read")
                    .to_string(),
            );
        }
    };
    let rule = "the serving process has the variable, with the declared value";
    if !env.names.iter().any(|n| n == name) {
        return b
            .observed(Json::Null)
            .evidence("host", json!({"pid": process.pid, "set": false}), rule)
            .remediation(format!("set {name} in the serving process's environment"))
            .status(Status::Fail, format!("{name} is not set in pid {}", process.pid));
    }
    match env.values.get(name).map(String::as_str) {
        Some(REDACTED) | None => b
            .observed(REDACTED)
            .evidence("host", json!({"pid": process.pid, "set": true}), rule)
            .status(
                Status::Unknown,
                format!("{name} is set, but its value looks secret and is not read"),
            ),
        Some(value) if value == declared => b
            .observed(value)
            .evidence("host", json!({"pid": process.pid, "set": true}), rule)
            .status(Status::Pass, format!("{name} is set as declared")),
        Some(value) => b
            .observed(value)
            .evidence("host", json!({"pid": process.pid, "set": true}), rule)
            .remediation(format!("set {name}={declared}, or correct the spec"))
            .status(Status::Fail, format!("{name} is {value:?}, declared {declared:?}")),
    }
}

fn cpu(declared: u64, snapshot: &Result<View, String>) -> Finding {
    let b = FindingBuilder::new(&CPU, "/spec/runtime/resources/cpuCores").declared(declared);
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(reason) => return b.status(Status::Unknown, format!("not observed: {reason}")),
    };
    let host_cores = snapshot.node.system.logical_cores.value().copied();
    let (available, source) = match (&snapshot.limits().cpu, host_cores) {
        (
            Observed::Ok {
                value: CpuLimit::Cores { cores, cgroup, .. },
            },
            _,
        ) => (Some(*cores), format!("cgroup {cgroup}")),
        (
            Observed::Ok {
                value: CpuLimit::Unlimited,
            },
            Some(h),
        ) => (Some(h as f64), "host (no cgroup CPU limit)".into()),
        (_, Some(h)) => (Some(h as f64), "host (cgroup limit unreadable)".into()),
        (_, None) => (None, String::new()),
    };
    // A cpuset (or an affinity mask) narrower than the quota bounds it too.
    let allowed = snapshot
        .resolution
        .process()
        .and_then(|p| p.cpus_allowed.value())
        .map(Vec::len);
    let (available, source) = match (available, allowed) {
        (Some(quota), Some(n)) if (n as f64) < quota => {
            (Some(n as f64), format!("cpuset: {n} CPU(s) in its Cpus_allowed_list"))
        }
        (available, _) => (available, source),
    };
    let Some(available) = available else {
        return b.status(
            Status::Unknown,
            "neither the cgroup limit nor the host's cores could be read",
        );
    };
    let b = b.observed(available).evidence(
        "host",
        json!({"effective": available, "from": source, "host_logical_cores": host_cores, "cpus_allowed": allowed, "of_pid": snapshot.limits().pid}),
        "the CPU available to the serving process (the smaller of its cgroup quota and its cpuset, else the host's cores) covers the declared cores",
    );
    if available + 1e-9 < declared as f64 {
        b.remediation("raise the CPU limit (requests/limits) or lower runtime.resources.cpuCores")
            .status(
                Status::Fail,
                format!("{available} core(s) available ({source}), {declared} declared"),
            )
    } else if !snapshot.limits().cpu.is_ok() {
        // Enough on the host, but an unread cgroup limit could still be lower.
        b.status(
            Status::Unknown,
            format!("the host has {available} core(s), but the cgroup CPU limit could not be read"),
        )
    } else {
        b.status(
            Status::Pass,
            format!("{available} core(s) available ({source}), {declared} declared"),
        )
    }
}

fn gib(bytes: u64) -> f64 {
    (bytes as f64 / GIB * 10.0).round() / 10.0
}

fn memory(declared_gb: f64, snapshot: &Result<View, String>) -> Finding {
    let b = FindingBuilder::new(&MEMORY, "/spec/runtime/resources/memoryGb").declared(declared_gb);
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(reason) => return b.status(Status::Unknown, format!("not observed: {reason}")),
    };
    let host_total = snapshot.node.system.total_memory_bytes.value().copied();
    let (bytes, source) = match (&snapshot.limits().memory, host_total) {
        (
            Observed::Ok {
                value: MemoryLimit::Bytes { bytes, cgroup },
            },
            _,
        ) => (Some(*bytes), format!("cgroup {cgroup}")),
        (
            Observed::Ok {
                value: MemoryLimit::Unlimited,
            },
            Some(t),
        ) => (Some(t), "host (no cgroup memory limit)".into()),
        (_, Some(t)) => (Some(t), "host (cgroup limit unreadable)".into()),
        (_, None) => (None, String::new()),
    };
    let Some(bytes) = bytes else {
        return b.status(
            Status::Unknown,
            "neither the cgroup limit nor the host's memory could be read",
        );
    };
    let b = b.observed(gib(bytes)).evidence(
        "host",
        json!({"effective_bytes": bytes, "from": source, "host_total_bytes": host_total, "of_pid": snapshot.limits().pid}),
        "the memory available to the serving process (its cgroup limit, else the host's) covers memoryGb, read as GiB",
    );
    if (bytes as f64) < declared_gb * GIB {
        b.remediation("raise the memory limit or lower runtime.resources.memoryGb")
            .status(
                Status::Fail,
                format!("{} GiB available ({source}), {declared_gb} declared", gib(bytes)),
            )
    } else if !snapshot.limits().memory.is_ok() {
        // Enough on the host, but an unread cgroup limit could still be lower.
        b.status(
            Status::Unknown,
            format!(
                "the host has {} GiB, but the cgroup memory limit could not be read",
                gib(bytes)
            ),
        )
    } else {
        b.status(
            Status::Pass,
            format!("{} GiB available ({source}), {declared_gb} declared", gib(bytes)),
        )
    }
}

fn storage(declared_gb: f64, spec: &ModelSpec, snapshot: &Result<View, String>) -> Finding {
    let b = FindingBuilder::new(&STORAGE, "/spec/runtime/resources/ephemeralStorageGb").declared(declared_gb);
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(reason) => return b.status(Status::Unknown, format!("not observed: {reason}")),
    };
    let facts = match target::storage(spec, snapshot.node).map(|s| &s.facts) {
        None => {
            return b.status(
                Status::Skip,
                "no filesystem to measure: pass --storage-path (or declare a local modelUri)",
            );
        }
        Some(Observed::Ok { value }) => value,
        Some(other) => {
            return b.status(
                Status::Unknown,
                other.reason().unwrap_or("storage could not be read").to_string(),
            );
        }
    };
    let b = b.observed(gib(facts.total_bytes)).evidence(
        "host",
        json!({"path": facts.path, "total_bytes": facts.total_bytes, "available_bytes": facts.available_bytes}),
        "the filesystem holding the model has at least ephemeralStorageGb of capacity, read as GiB",
    );
    if (facts.total_bytes as f64) < declared_gb * GIB {
        b.remediation("give the pod more ephemeral storage, or lower runtime.resources.ephemeralStorageGb")
            .status(
                Status::Fail,
                format!(
                    "{} holds {} GiB, {declared_gb} declared",
                    facts.path,
                    gib(facts.total_bytes)
                ),
            )
    } else {
        b.status(
            Status::Pass,
            format!(
                "{} holds {} GiB ({} GiB free), {declared_gb} declared",
                facts.path,
                gib(facts.total_bytes),
                gib(facts.available_bytes)
            ),
        )
    }
}
