//! The node itself: name, operating system, cores and memory, through sysinfo.
//!
//! sysinfo is built with only its `system` feature: no disks, networks, users or components
//! (hardware sensors). This probe must never touch the NVIDIA driver, which the GPU probe owns;
//! sysinfo's `system` code reads `/proc` and `/etc/os-release` and loads no library.
//!
//! Logical cores are the CPUs the kernel shows, not the cgroup quota (see [`crate::EffectiveLimits`])
//! nor this process's affinity mask.

use crate::observed::Observed;
use serde::{Deserialize, Serialize};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// What the node is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemFacts {
    pub hostname: Observed<String>,
    /// e.g. "Ubuntu".
    pub os_name: Observed<String>,
    /// e.g. "22.04".
    pub os_version: Observed<String>,
    /// e.g. "6.8.0-45-generic".
    pub kernel: Observed<String>,
    /// CPUs the kernel shows (hyperthreads count), not the cgroup quota.
    pub logical_cores: Observed<u64>,
    pub physical_cores: Observed<u64>,
    pub total_memory_bytes: Observed<u64>,
    pub available_memory_bytes: Observed<u64>,
}

fn named(value: Option<String>, what: &str) -> Observed<String> {
    match value {
        Some(value) => Observed::Ok { value },
        None => Observed::unknown(format!("the operating system did not report its {what}")),
    }
}

fn nonzero(value: u64, what: &str) -> Observed<u64> {
    if value == 0 {
        Observed::unknown(format!("the operating system did not report its {what}"))
    } else {
        Observed::Ok { value }
    }
}

pub(crate) fn system_facts() -> SystemFacts {
    let system = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    SystemFacts {
        hostname: named(System::host_name(), "host name"),
        os_name: named(System::name(), "name"),
        os_version: named(System::os_version(), "version"),
        kernel: named(System::kernel_version(), "kernel version"),
        logical_cores: nonzero(system.cpus().len() as u64, "CPU count"),
        physical_cores: match System::physical_core_count() {
            Some(count) if count > 0 => Observed::Ok { value: count as u64 },
            _ => Observed::unknown("the operating system did not report its physical core count"),
        },
        total_memory_bytes: nonzero(system.total_memory(), "total memory"),
        available_memory_bytes: Observed::Ok {
            value: system.available_memory(),
        },
    }
}
