//! The serving process against the platform under it: the CUDA its image was built for against
//! the CUDA the driver supports, and where its CPUs sit against its GPUs. No spec field declares
//! either, and both break a deployment that matches every field: an image for a newer CUDA than
//! the driver fails at its first CUDA call, and a process pinned to the other socket's CPUs
//! feeds its GPUs across the inter-socket link.

use modelspec_probe_gpu::{DeviceFacts, NvmlState, Observed as GpuObserved};
use modelspec_probe_host::{Observed, ServingProcess};
use serde_json::json;

use super::target::Resolution;
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::observe::{Observation, ProbeOutcome};
use crate::spec::ModelSpec;

/// The driver supports the CUDA version the serving image was built for.
pub const CUDA_DRIVER: Check = Check {
    code: "cuda-driver",
    domain: Domain::Health,
    summary: "the driver supports the CUDA version the serving image needs",
    explanation: "The CUDA version the serving process's image needs (NVIDIA_REQUIRE_CUDA's cuda>=X.Y, else CUDA_VERSION, which NVIDIA's CUDA images set) against the highest CUDA version the driver supports (NVML's cuda_driver_version). Not above it: pass. Same major version, higher minor: warn, CUDA minor version compatibility (11.1 and later): the application runs, but PTX that needs the newer toolkit (JIT-compiled kernels: Triton, torch.compile) fails with CUDA_ERROR_UNSUPPORTED_PTX_VERSION. A higher major version: fail, unless the image carries the forward-compatibility package (NV_CUDA_COMPAT_PACKAGE, cuda-compat), then warn: forward compatibility works only on data-center GPUs and on the driver branches NVIDIA lists for it. An environment that names no CUDA version skips; an unreadable environment (permission) or a driver version NVML cannot report is unknown.",
    pointers: &[POINTER],
};

/// The serving process may run on CPUs near its GPUs.
pub const NUMA: Check = Check {
    code: "numa-affinity",
    domain: Domain::Health,
    summary: "the serving process may run on CPUs near its GPUs",
    explanation: "The CPUs the serving process may run on (Cpus_allowed_list: its cpuset cgroup, cpuset.cpus.effective, and any affinity it was started with) against the CPUs NVML calls close to each GPU its process tree holds (nvmlDeviceGetCpuAffinity: the GPU's NUMA node). When none of its CPUs is near a GPU it uses, every host-to-device copy and kernel launch for that GPU crosses the inter-socket link: warn. Some CPUs near each GPU: pass. A process that holds no GPU skips; affinity NVML cannot report (NOT_SUPPORTED, permission) or a process whose CPUs cannot be read is unknown.",
    pointers: &[POINTER],
};

/// Both put the accelerator declaration at risk.
const POINTER: &str = "/spec/runtime/accelerator";

/// Minimum Linux driver for each CUDA toolkit (NVIDIA's CUDA release notes, Table 3), for the
/// message and the remedy: the driver to install so the image runs without compatibility modes.
const MIN_DRIVER: &[((u32, u32), &str)] = &[
    ((11, 0), "450.36.06"),
    ((11, 1), "455.23"),
    ((11, 2), "460.27.03"),
    ((11, 3), "465.19.01"),
    ((11, 4), "470.42.01"),
    ((11, 5), "495.29.05"),
    ((11, 6), "510.39.01"),
    ((11, 7), "515.43.04"),
    ((11, 8), "520.61.05"),
    ((12, 0), "525.60.13"),
    ((12, 1), "530.30.02"),
    ((12, 2), "535.54.03"),
    ((12, 3), "545.23.06"),
    ((12, 4), "550.54.14"),
    ((12, 5), "555.42.02"),
    ((12, 6), "560.28.03"),
    ((12, 8), "570.26"),
    ((12, 9), "575.51.03"),
    ((13, 0), "580.65.06"),
];

pub(crate) fn check(spec: &ModelSpec, observation: &Observation, resolution: &Resolution, out: &mut Vec<Finding>) {
    let vendor = &spec.spec.runtime.accelerator.vendor;
    if !vendor.trim().eq_ignore_ascii_case("nvidia") {
        for check in [&CUDA_DRIVER, &NUMA] {
            out.push(FindingBuilder::new(check, POINTER).status(
                Status::Skip,
                format!("read through NVML, which does not see {vendor:?} accelerators"),
            ));
        }
        return;
    }
    let nvml = match &observation.gpu {
        ProbeOutcome::Observed { snapshot, .. } => match &snapshot.nvml {
            NvmlState::Available { system, devices, .. } => Ok((system, devices.as_slice())),
            NvmlState::Unavailable { message, .. } => Err(message.clone()),
        },
        ProbeOutcome::TimedOut { budget_ms, .. } => Err(format!("the GPU probe did not answer within {budget_ms} ms")),
        ProbeOutcome::NotRun { reason } => Err(format!("the GPU probe did not run: {reason}")),
    };
    let process = resolution.process().ok_or_else(|| {
        resolution
            .missing()
            .map_or_else(|| "the serving process was not found".to_string(), |(_, why)| why)
    });
    out.push(cuda_driver(
        &process,
        nvml.as_ref().map(|(s, _)| &s.cuda_driver_version),
    ));
    out.push(numa(&process, nvml.as_ref().map(|(_, d)| *d)));
}

/// `cuda>=12.4` in NVIDIA_REQUIRE_CUDA, else `12.4.1` in CUDA_VERSION: (major, minor), and the
/// variable that said it.
fn needed_cuda(env: &std::collections::BTreeMap<String, String>) -> Option<((u32, u32), String)> {
    let version = |text: &str| -> Option<(u32, u32)> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.trim().parse().ok()?;
        let minor = parts.next().map_or(Some(0), |m| m.trim().parse().ok())?;
        Some((major, minor))
    };
    if let Some(require) = env.get("NVIDIA_REQUIRE_CUDA")
        && let Some(v) = require
            .split_whitespace()
            .find_map(|c| c.strip_prefix("cuda>="))
            .and_then(version)
    {
        return Some((v, format!("NVIDIA_REQUIRE_CUDA={require:?}")));
    }
    let cuda = env.get("CUDA_VERSION")?;
    version(cuda).map(|v| (v, format!("CUDA_VERSION={cuda}")))
}

fn min_driver(version: (u32, u32)) -> Option<&'static str> {
    MIN_DRIVER.iter().find(|(v, _)| *v >= version).map(|(_, d)| *d)
}

fn cuda_driver(
    process: &Result<&ServingProcess, String>,
    driver: Result<&GpuObserved<modelspec_probe_gpu::CudaDriverVersion>, &String>,
) -> Finding {
    let b = FindingBuilder::new(&CUDA_DRIVER, POINTER);
    let driver = match driver {
        Ok(driver) => driver,
        Err(why) => return b.status(Status::Unknown, format!("not observed: {why}")),
    };
    let process = match process {
        Ok(p) => p,
        Err(why) => return b.status(Status::Unknown, format!("not observed: {why}")),
    };
    let env = match &process.environment {
        Observed::Ok { value } => &value.values,
        other => {
            return b.status(
                Status::Unknown,
                format!(
                    "the serving process's environment could not be read: {}",
                    other.reason().unwrap_or("not observed")
                ),
            );
        }
    };
    let Some((needed, said)) = needed_cuda(env) else {
        return b.status(
            Status::Skip,
            "the serving process's environment names no CUDA version (CUDA_VERSION or NVIDIA_REQUIRE_CUDA, which NVIDIA's CUDA images set)",
        );
    };
    let supported = match driver {
        GpuObserved::Ok { value } => (value.raw as u32 / 1000, value.raw as u32 % 1000 / 10),
        other => {
            return b.status(
                Status::Unknown,
                format!(
                    "NVML did not report the driver's CUDA version: {}",
                    other.reason().unwrap_or("not observed")
                ),
            );
        }
    };
    let show = |(major, minor): (u32, u32)| format!("{major}.{minor}");
    let compat = env.get("NV_CUDA_COMPAT_PACKAGE");
    let b = b
        .declared(show(needed))
        .observed(show(supported))
        .evidence(
            "host+nvml",
            json!({"needs": show(needed), "from": said, "driver_supports": show(supported), "compat_package": compat, "disable_require": env.get("NVIDIA_DISABLE_REQUIRE")}),
            "the image's CUDA at most the driver's; a newer minor runs with minor version compatibility, a newer major only with cuda-compat",
        );
    let upgrade = min_driver(needed).map_or_else(
        || format!("a driver for CUDA {} or later", show(needed)),
        |d| format!("driver {d} or later (CUDA {})", show(needed)),
    );
    if needed <= supported {
        return b.status(
            Status::Pass,
            format!(
                "the image needs CUDA {} ({said}); the driver supports CUDA {}",
                show(needed),
                show(supported)
            ),
        );
    }
    if needed.0 == supported.0 {
        return b
            .remediation(format!(
                "install {upgrade}, or use an image built for CUDA {}",
                show(supported)
            ))
            .status(
                Status::Warn,
                format!(
                    "the image needs CUDA {} ({said}) and the driver supports CUDA {}: it runs under CUDA minor version compatibility, where kernels JIT-compiled from newer PTX (Triton, torch.compile) fail with CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
                    show(needed),
                    show(supported)
                ),
            );
    }
    if let Some(package) = compat {
        return b.remediation(format!("install {upgrade}")).status(
            Status::Warn,
            format!(
                "the image needs CUDA {} ({said}) and the driver supports only CUDA {}: it relies on CUDA forward compatibility ({package}), which works only on data-center GPUs and on the driver branches NVIDIA supports it for",
                show(needed),
                show(supported)
            ),
        );
    }
    b.remediation(format!(
        "install {upgrade}, use an image built for CUDA {} or earlier, or add the cuda-compat package (data-center GPUs only)",
        show(supported)
    ))
    .status(
        Status::Fail,
        format!(
            "the image needs CUDA {} ({said}) but the driver supports only CUDA {}: its first CUDA call fails (CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, \"CUDA driver version is insufficient\")",
            show(needed),
            show(supported)
        ),
    )
}

/// `0-3,8` from CPU ids.
fn cpulist(cpus: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

fn numa(process: &Result<&ServingProcess, String>, devices: Result<&[DeviceFacts], &String>) -> Finding {
    let b = FindingBuilder::new(&NUMA, POINTER);
    let devices = match devices {
        Ok(d) => d,
        Err(why) => return b.status(Status::Unknown, format!("not observed: {why}")),
    };
    let process = match process {
        Ok(p) => p,
        Err(why) => return b.status(Status::Unknown, format!("not observed: {why}")),
    };
    let held: Vec<u32> = super::attribution::attribute(devices, process)
        .map(|a| a.held.iter().map(|h| h.index).collect())
        .unwrap_or_default();
    if held.is_empty() {
        return b.status(
            Status::Skip,
            "the serving process holds no GPU NVML reports (or NVML did not list its processes)",
        );
    }
    let cpus = match &process.cpus_allowed {
        Observed::Ok { value } => value,
        other => {
            return b.status(
                Status::Unknown,
                format!(
                    "the serving process's CPUs could not be read: {}",
                    other.reason().unwrap_or("not observed")
                ),
            );
        }
    };
    let mut raw = Vec::new();
    let mut far = Vec::new();
    let mut unseen = Vec::new();
    for d in devices.iter().filter(|d| held.contains(&d.index)) {
        match d.cpu_affinity.value() {
            Some(near) => {
                let shared = cpus.iter().filter(|c| near.contains(c)).count();
                raw.push(json!({"gpu": d.index, "near_cpus": cpulist(near), "numa_node": d.numa_node.value(), "allowed_near": shared}));
                if shared == 0 {
                    far.push(format!("GPU {} (near CPUs {})", d.index, cpulist(near)));
                }
            }
            None => unseen.push(format!(
                "GPU {}: {}",
                d.index,
                d.cpu_affinity.reason().unwrap_or("not observed")
            )),
        }
    }
    let b = b.observed(cpulist(cpus)).evidence(
        "host+nvml",
        json!({"cpus_allowed": cpulist(cpus), "gpus": raw}),
        "some of the serving process's CPUs near every GPU it holds",
    );
    if !far.is_empty() {
        return b
            .remediation("give the serving process CPUs on its GPUs' NUMA node (Kubernetes: the Topology Manager's single-numa-node policy with the static CPU manager; else cpuset or numactl --cpunodebind)")
            .status(
                Status::Warn,
                format!(
                    "none of the {} CPUs the serving process may run on ({}) is near {}",
                    cpus.len(),
                    cpulist(cpus),
                    far.join(", ")
                ),
            );
    }
    if !unseen.is_empty() {
        return b.status(
            Status::Unknown,
            format!("NVML did not say which CPUs are near: {}", unseen.join("; ")),
        );
    }
    b.status(
        Status::Pass,
        format!(
            "the serving process may run on CPUs near each of its {} GPU(s)",
            held.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cuda_an_image_needs_is_read_from_its_environment() {
        let env = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(
            needed_cuda(&env(&[(
                "NVIDIA_REQUIRE_CUDA",
                "cuda>=12.4 brand=tesla,driver>=470,driver<471"
            )]))
            .map(|n| n.0),
            Some((12, 4))
        );
        assert_eq!(
            needed_cuda(&env(&[("CUDA_VERSION", "11.8.0")])).map(|n| n.0),
            Some((11, 8))
        );
        assert_eq!(needed_cuda(&env(&[("CUDA_VERSION", "12")])).map(|n| n.0), Some((12, 0)));
        assert_eq!(needed_cuda(&env(&[("CUDA_VERSION", "twelve")])), None);
        assert_eq!(min_driver((12, 7)), Some("570.26"));
        assert_eq!(cpulist(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
    }
}
