//! Which GPUs the serving process holds: NVML's compute processes joined with the serving
//! process tree from the host probe.
//!
//! Counting visible GPUs says what the node has; counting the GPUs the serving tree holds says
//! what the model uses, which is what `runtime.accelerator.count` declares. NVML lists pids of
//! the host's PID namespace, while a probe in a container sees its own: the host probe records
//! each process's pid in every namespace it can see, and a GPU process matches on any of them.
//! When nothing matches, nothing is attributed and the checks say so rather than guess.

use std::collections::BTreeSet;

use modelspec_probe_amd::AmdDevice;
use modelspec_probe_gpu::DeviceFacts;
use modelspec_probe_host::ServingProcess;

/// One GPU the serving tree holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HeldGpu {
    /// NVML index.
    pub index: u32,
    /// Memory the tree uses on it, MiB, when NVML says.
    pub used_mib: Option<u64>,
}

/// Another process on a GPU the serving tree holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Neighbour {
    /// NVML index of the shared GPU.
    pub gpu: u32,
    /// Its pid.
    pub pid: u32,
    /// Its memory on that GPU, MiB, when NVML says.
    pub used_mib: Option<u64>,
}

/// The serving tree's GPUs and who else is on them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attribution {
    /// The serving process and its descendants.
    pub tree: BTreeSet<u32>,
    /// GPUs with at least one process of the tree.
    pub held: Vec<HeldGpu>,
    /// Other processes on those GPUs.
    pub neighbours: Vec<Neighbour>,
}

/// Joins the two; `None` when no GPU reported its processes, so nothing can be attributed.
pub(crate) fn attribute(devices: &[DeviceFacts], serving: &ServingProcess) -> Option<Attribution> {
    let lists = devices.iter().filter(|d| !d.lost).map(|d| {
        let processes = d
            .compute_processes
            .value()
            .map(|ps| ps.iter().map(|p| (p.pid, p.used_memory_mib)).collect());
        (d.index, processes)
    });
    attribute_lists(lists, serving)
}

/// [`attribute`] for AMD GPUs, from AMD SMI's process lists.
pub(crate) fn attribute_amd(devices: &[AmdDevice], serving: &ServingProcess) -> Option<Attribution> {
    let lists = devices.iter().map(|d| {
        let processes = d
            .processes
            .value()
            .map(|ps| ps.iter().map(|p| (p.pid, Some(p.vram_mib))).collect());
        (d.index, processes)
    });
    attribute_lists(lists, serving)
}

/// Per GPU, its index and its processes (pid, MiB when known), or `None` where the GPU did not
/// list them.
type ProcessLists = Option<Vec<(u32, Option<u64>)>>;

fn attribute_lists(lists: impl Iterator<Item = (u32, ProcessLists)>, serving: &ServingProcess) -> Option<Attribution> {
    // Every pid the tree has in any PID namespace: NVML may speak the host's.
    let mut tree: BTreeSet<u32> = BTreeSet::from([serving.pid]);
    tree.extend(serving.ns_pids.value().into_iter().flatten());
    if let Some(children) = serving.children.value() {
        for c in children {
            tree.insert(c.pid);
            tree.extend(&c.ns_pids);
        }
    }
    let mut any_listed = false;
    let mut held = Vec::new();
    let mut neighbours = Vec::new();
    for (index, processes) in lists {
        let Some(processes) = processes else {
            continue;
        };
        any_listed = true;
        let ours: Vec<_> = processes.iter().filter(|(pid, _)| tree.contains(pid)).collect();
        if ours.is_empty() {
            continue;
        }
        let used_mib = ours.iter().map(|(_, mib)| *mib).sum::<Option<u64>>();
        held.push(HeldGpu { index, used_mib });
        neighbours.extend(
            processes
                .iter()
                .filter(|(pid, _)| !tree.contains(pid))
                .map(|&(pid, used_mib)| Neighbour {
                    gpu: index,
                    pid,
                    used_mib,
                }),
        );
    }
    any_listed.then_some(Attribution { tree, held, neighbours })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn devices(processes: [serde_json::Value; 2]) -> Vec<DeviceFacts> {
        let obs: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/demo/observation.json")).expect("demo observation");
        let mut devices = obs["gpu"]["snapshot"]["nvml"]["devices"].clone();
        for (i, p) in processes.into_iter().enumerate() {
            devices[i]["compute_processes"] = json!({"status": "ok", "value": p});
        }
        serde_json::from_value(devices).expect("devices")
    }

    fn serving(pid: u32, ns_pids: &[u32], children: serde_json::Value) -> ServingProcess {
        serde_json::from_value(json!({
            "pid": pid,
            "found_by": {"by": "pid"},
            "name": {"status": "ok", "value": "vllm"},
            "exe": {"status": "unknown", "reason": "-"},
            "argv": {"status": "unknown", "reason": "-"},
            "started_at": {"status": "unknown", "reason": "-"},
            "user": {"status": "unknown", "reason": "-"},
            "cwd": {"status": "unknown", "reason": "-"},
            "parent_pid": {"status": "unknown", "reason": "-"},
            "children": {"status": "ok", "value": children},
            "environment": {"status": "unknown", "reason": "-"},
            "ns_pids": {"status": "ok", "value": ns_pids},
        }))
        .expect("serving process")
    }

    #[test]
    fn gpus_held_by_the_tree_and_their_neighbours() {
        let d = devices([
            json!([{"pid": 10, "used_memory_mib": 100}]),
            json!([{"pid": 11, "used_memory_mib": 200}, {"pid": 99, "used_memory_mib": 50}]),
        ]);
        let s = serving(
            10,
            &[10],
            json!([{"pid": 11, "parent_pid": 10, "name": "VLLM::Worker", "argv": []}]),
        );
        let a = attribute(&d, &s).expect("attributed");
        assert_eq!(a.held.iter().map(|g| g.index).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(a.held[1].used_mib, Some(200));
        assert_eq!(
            a.neighbours,
            [Neighbour {
                gpu: 1,
                pid: 99,
                used_mib: Some(50)
            }]
        );
    }

    #[test]
    fn host_pids_match_through_the_namespace_pids() {
        // Inside a container the probe sees pid 7; NVML reports the host's 4007.
        let d = devices([json!([{"pid": 4007, "used_memory_mib": 100}]), json!([])]);
        let s = serving(7, &[4007, 7], json!([]));
        let a = attribute(&d, &s).expect("attributed");
        assert_eq!(a.held.len(), 1);
        let without_ns = serving(7, &[7], json!([]));
        assert!(attribute(&d, &without_ns).is_some_and(|a| a.held.is_empty()));
    }

    #[test]
    fn nothing_to_attribute_without_process_lists() {
        let obs: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/demo/observation.json")).expect("demo observation");
        let mut devices = obs["gpu"]["snapshot"]["nvml"]["devices"].clone();
        for i in 0..2 {
            devices[i]["compute_processes"] = json!({"status": "unsupported", "reason": "old driver"});
        }
        let d: Vec<DeviceFacts> = serde_json::from_value(devices).expect("devices");
        assert!(attribute(&d, &serving(1, &[1], json!([]))).is_none());
    }
}
