//! Which GPUs the serving process holds: NVML's compute processes joined with the serving
//! process tree from the host probe.
//!
//! Counting visible GPUs says what the node has; counting the GPUs the serving tree holds says
//! what the model uses, which is what `runtime.accelerator.count` declares. NVML lists pids in
//! the PID namespace it runs in: inside a container those can be host pids, which match nothing
//! here; then nothing is attributed and the checks say so rather than guess.

use std::collections::BTreeSet;

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
    let mut tree: BTreeSet<u32> = BTreeSet::from([serving.pid]);
    if let Some(children) = serving.children.value() {
        tree.extend(children.iter().map(|c| c.pid));
    }
    let mut any_listed = false;
    let mut held = Vec::new();
    let mut neighbours = Vec::new();
    for d in devices.iter().filter(|d| !d.lost) {
        let Some(processes) = d.compute_processes.value() else {
            continue;
        };
        any_listed = true;
        let ours: Vec<_> = processes.iter().filter(|p| tree.contains(&p.pid)).collect();
        if ours.is_empty() {
            continue;
        }
        let used_mib = ours.iter().map(|p| p.used_memory_mib).sum::<Option<u64>>();
        held.push(HeldGpu {
            index: d.index,
            used_mib,
        });
        neighbours.extend(processes.iter().filter(|p| !tree.contains(&p.pid)).map(|p| Neighbour {
            gpu: d.index,
            pid: p.pid,
            used_mib: p.used_memory_mib,
        }));
    }
    any_listed.then_some(Attribution { tree, held, neighbours })
}
