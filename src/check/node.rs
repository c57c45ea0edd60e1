//! The node as a whole, when several specs are scanned together: GPUs that no scanned spec's
//! serving process holds, GPUs that two specs' processes hold, and specs that resolve to the
//! same serving process.
//!
//! None of this belongs to one spec. A spec's own `gpu-shared` sees that other processes sit on
//! its GPUs; only the node view can say whose they are, and which GPUs are idle or taken by a
//! workload nobody declared. A single-spec scan has no node view: its GPUs are judged by
//! `accelerator-count` and `gpu-shared`, and the rest of the node is someone else's business.
//! Nothing is said when it cannot be said for sure: if some spec's serving process was not
//! found, the GPUs it may hold are unknown, and so is whether a GPU is unclaimed.

use std::collections::BTreeMap;

use modelspec_probe_gpu::DeviceFacts;
use serde_json::json;

use super::accelerator::{GpuView, view};
use super::attribution::attribute;
use super::target::Resolution;
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::observe::Observation;
use crate::spec::ModelSpec;

/// Every usable GPU is held by some scanned spec's serving process.
pub const UNCLAIMED: Check = Check {
    code: "gpu-unclaimed",
    domain: Domain::Accelerator,
    summary: "several specs: every usable GPU is held by some scanned spec's serving process",
    explanation: "Several specs scanned together: every usable GPU should hold a process of some scanned spec's serving tree. Idle GPUs and GPUs held by processes no scanned spec serves are warned about; with a spec's server not found, ownership is unknown.",
    pointers: &[GPUS_PTR],
};

/// No GPU is held by the serving processes of two scanned specs.
pub const CONTENDED: Check = Check {
    code: "gpu-contended",
    domain: Domain::Accelerator,
    summary: "several specs: no GPU is held by two specs' serving processes",
    explanation: "Several specs scanned together: no GPU should hold processes of two specs' serving trees.",
    pointers: &[GPUS_PTR],
};

/// No two scanned specs resolve to the same serving process.
pub const SERVER_SHARED: Check = Check {
    code: "server-shared",
    domain: Domain::Serving,
    summary: "several specs: each resolves to its own serving process",
    explanation: "Several specs scanned together: each spec should resolve to its own serving process; two specs on one port resolve to one process.",
    pointers: &[PORT_PTR],
};

const GPUS_PTR: &str = "/spec/runtime/accelerator";
const PORT_PTR: &str = "/spec/operations/serving/port";

/// One scanned spec, named for people.
pub struct NodeSpec<'a> {
    /// How the report names it (`metadata.name`).
    pub name: &'a str,
    pub spec: &'a ModelSpec,
}

/// A spec whose workload does not run on this node.
pub const NOT_DEPLOYED: Check = Check {
    code: "not-deployed",
    domain: Domain::Serving,
    summary: "a spec whose workload does not run on this node (a note; a failure with --require-deployed)",
    explanation: "A note on the node for each spec whose workload does not run there: nothing listens on its serving port in any network namespace, no workload matches its selector, or every workload on its port serves another model. Its checks are then skipped, never reported as drift (a DaemonSet that checks every spec on every node). With --require-deployed it fails the scan, for a node that must run the model.",
    pointers: &[PORT_PTR],
};

/// Findings about the node across `specs`; empty for fewer than two specs, or when the GPUs
/// were not seen.
pub(crate) fn compare(
    specs: &[NodeSpec],
    resolutions: &[Resolution],
    observation: &Observation,
    require_deployed: bool,
) -> Vec<Finding> {
    let mut out = not_deployed(specs, resolutions, require_deployed);
    out.extend(across(specs, resolutions, observation));
    out
}

/// One note per spec not deployed here; a failure when the node must run it.
fn not_deployed(specs: &[NodeSpec], resolutions: &[Resolution], require_deployed: bool) -> Vec<Finding> {
    specs
        .iter()
        .zip(resolutions)
        .filter_map(|(s, r)| {
            let reason = r.not_deployed()?;
            let b = FindingBuilder::new(&NOT_DEPLOYED, PORT_PTR)
                .declared(s.spec.spec.identity.model.id.clone())
                .evidence(
                    "host",
                    json!({"spec": s.name, "reason": reason}),
                    "a spec's workload runs on the node (required with --require-deployed)",
                );
            Some(if require_deployed {
                b.remediation("deploy the model on this node, or drop --require-deployed where it need not run")
                    .status(
                        Status::Fail,
                        format!("{} is not deployed on this node: {reason}", s.name),
                    )
            } else {
                b.status(
                    Status::Skip,
                    format!("{} is not deployed on this node: {reason}", s.name),
                )
            })
        })
        .collect()
}

/// Findings across two or more specs' workloads.
fn across(specs: &[NodeSpec], resolutions: &[Resolution], observation: &Observation) -> Vec<Finding> {
    if specs.len() < 2 {
        return Vec::new();
    }
    let GpuView::Devices(devices) = view(observation) else {
        return Vec::new();
    };
    let mut out = Vec::new();

    // Specs by the serving process they resolved to.
    let mut by_pid: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for (s, r) in specs.iter().zip(resolutions) {
        match r.process() {
            Some(process) => by_pid.entry(process.pid).or_default().push(s.name),
            // A spec not deployed here claims no GPU and hides none.
            None if r.not_deployed().is_some() => {}
            None => unresolved.push(s.name),
        }
    }
    out.push(server_shared(&by_pid));

    // GPU index -> the specs whose serving trees hold it (one entry per distinct process).
    let mut claims: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut attributed_any = false;
    for (s, r) in specs.iter().zip(resolutions) {
        let Some(process) = r.process() else {
            continue;
        };
        // Several specs on one process are reported by `server-shared`; claim its GPUs once.
        let first_of_process = by_pid.get(&process.pid).and_then(|names| names.first()) == Some(&s.name);
        if !first_of_process {
            continue;
        }
        let Some(attribution) = attribute(devices, process) else {
            continue;
        };
        attributed_any = true;
        let label = match by_pid.get(&process.pid) {
            Some(names) if names.len() > 1 => names.join("+"),
            _ => s.name.to_string(),
        };
        for held in attribution.held {
            claims.entry(held.index).or_default().push(label.clone());
        }
    }
    if !attributed_any {
        let why = if by_pid.is_empty() {
            "no scanned spec's serving process was found"
        } else {
            "no GPU reported its processes"
        };
        out.push(FindingBuilder::new(&UNCLAIMED, GPUS_PTR).status(
            Status::Unknown,
            format!("GPU ownership on the node is not known: {why}"),
        ));
        return out;
    }
    out.push(contended(&claims));
    out.push(unclaimed(devices, &claims, &unresolved));
    out
}

fn server_shared(by_pid: &BTreeMap<u32, Vec<&str>>) -> Finding {
    let shared: Vec<String> = by_pid
        .iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(pid, names)| format!("{} all resolve to pid {pid}", names.join(", ")))
        .collect();
    let b = FindingBuilder::new(&SERVER_SHARED, PORT_PTR).evidence(
        "host",
        json!(by_pid),
        "each scanned spec has its own serving process",
    );
    if shared.is_empty() {
        return b.status(
            Status::Pass,
            format!("{} serving process(es) found, one per spec", by_pid.len()),
        );
    }
    b.observed(json!(shared))
        .remediation("give each model its own operations.serving.port, or scan the specs separately")
        .status(Status::Warn, shared.join("; "))
}

fn contended(claims: &BTreeMap<u32, Vec<String>>) -> Finding {
    let twice: Vec<String> = claims
        .iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(gpu, names)| format!("GPU {gpu} is held by {}", names.join(" and ")))
        .collect();
    let b = FindingBuilder::new(&CONTENDED, GPUS_PTR).evidence(
        "nvml+host",
        json!(claims),
        "no GPU holds processes of two scanned specs' serving trees",
    );
    if twice.is_empty() {
        return b.status(Status::Pass, "no GPU is held by two specs' serving processes");
    }
    b.observed(json!(twice))
        .remediation(
            "give each model its own GPUs (CUDA_VISIBLE_DEVICES, device plugin), or declare and size the sharing",
        )
        .status(Status::Warn, twice.join("; "))
}

fn unclaimed(devices: &[DeviceFacts], claims: &BTreeMap<u32, Vec<String>>, unresolved: &[&str]) -> Finding {
    let b = FindingBuilder::new(&UNCLAIMED, GPUS_PTR);
    let mut idle = Vec::new();
    let mut foreign = Vec::new();
    let mut silent = Vec::new();
    for d in devices.iter().filter(|d| !d.lost && !claims.contains_key(&d.index)) {
        match d.compute_processes.value() {
            None => silent.push(d.index),
            Some(processes) if processes.is_empty() => idle.push(d.index),
            Some(processes) => {
                let who: Vec<String> = processes
                    .iter()
                    .map(|p| match p.used_memory_mib {
                        Some(mib) => format!("pid {} ({:.1} GiB)", p.pid, mib as f64 / 1024.0),
                        None => format!("pid {}", p.pid),
                    })
                    .collect();
                foreign.push((d.index, who.join(", ")));
            }
        }
    }
    let b = b.evidence(
        "nvml+host",
        json!({"claimed": claims, "idle": idle, "held_by_others": foreign.iter().map(|(gpu, who)| json!({"gpu": gpu, "by": who})).collect::<Vec<_>>(), "unlisted": silent, "specs_not_found": unresolved}),
        "every usable GPU holds a process of some scanned spec's serving tree",
    );
    // With a spec's serving process not found, another process on a GPU may well be it.
    let (mut problems, maybe_theirs): (Vec<String>, Vec<String>) = if unresolved.is_empty() {
        let held = foreign
            .iter()
            .map(|(gpu, who)| format!("GPU {gpu} is held by {who}, which serves no scanned spec"))
            .collect();
        (held, Vec::new())
    } else {
        let held = foreign
            .iter()
            .map(|(gpu, who)| format!("GPU {gpu} is held by {who}, perhaps one of them"))
            .collect();
        (Vec::new(), held)
    };
    if !idle.is_empty() {
        problems.push(format!("GPU(s) {idle:?} idle: no process holds them"));
    }
    if !problems.is_empty() {
        return b
            .observed(json!(problems))
            .remediation("scan the spec of the workload holding them, free them, or give them to a model")
            .status(Status::Warn, problems.join("; "));
    }
    if !unresolved.is_empty() || !silent.is_empty() {
        let mut why = Vec::new();
        if !unresolved.is_empty() {
            why.push(format!(
                "the serving process of {} was not found, so its GPUs are not known",
                unresolved.join(", ")
            ));
        }
        why.extend(maybe_theirs);
        if !silent.is_empty() {
            why.push(format!("GPU(s) {silent:?} did not list their processes"));
        }
        return b.status(Status::Unknown, why.join("; "));
    }
    b.status(
        Status::Pass,
        "every usable GPU is held by a scanned spec's serving process",
    )
}
