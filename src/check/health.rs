//! Node health: GPU state no ModelSpec declares but every operator needs to know, because it
//! breaks the contract all the same (a lost GPU, memory errors, throttling).

use modelspec_probe_gpu::{DeviceFacts, Observed};
use serde_json::{Value as Json, json};

use super::accelerator::{GpuView, view};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::observe::Observation;
use crate::spec::ModelSpec;

/// A GPU has fallen off the bus.
pub const LOST: Check = Check {
    code: "gpu-lost",
    domain: Domain::Health,
    summary: "no GPU has fallen off the bus",
    explanation: "No GPU may answer NVML_ERROR_GPU_IS_LOST (fallen off the bus).",
    pointers: &[POINTER],
};

/// Uncorrectable ECC errors, pages waiting for retirement, or a failed row remap.
pub const MEMORY_ERRORS: Check = Check {
    code: "gpu-memory-errors",
    domain: Domain::Health,
    summary: "no uncorrectable ECC errors, pending page retirement or failed row remap",
    explanation: "No uncorrectable ECC errors (volatile or aggregate), no pages pending retirement, no failed row remapping, on any GPU (NVML). A GPU that reports none of these is unknown, not pass. For vendor: amd, AMD SMI's RAS counts (amdsmi_get_gpu_total_ecc_count): uncorrectable errors fail, deferred ones warn.",
    pointers: &[POINTER],
};

/// Clocks held down for power or heat.
pub const THROTTLING: Check = Check {
    code: "gpu-throttling",
    domain: Domain::Health,
    summary: "no GPU throttled for power or heat",
    explanation: "No power or thermal clock-event (throttle) reason active on any GPU (NVML). For vendor: amd, a throttle bit set in the GPU metrics table (throttle_status, indep_throttle_status) warns; the bits are ASIC-specific, so the masks and the hotspot temperature are the evidence.",
    pointers: &[POINTER],
};

/// Persistence mode off: the driver tears down and re-initializes between clients.
pub const PERSISTENCE: Check = Check {
    code: "gpu-persistence-mode",
    domain: Domain::Health,
    summary: "persistence mode is on",
    explanation: "Persistence mode should be on for every GPU, so the driver stays initialized between jobs.",
    pointers: &[POINTER],
};

/// On an NVSwitch system, a GPU the NVLink fabric has not registered.
pub const FABRIC: Check = Check {
    code: "gpu-fabric",
    domain: Domain::Health,
    summary: "on an NVSwitch system, every GPU is registered with the NVLink fabric",
    explanation: "On NVSwitch systems (HGX H100/H200, B200), NVML's fabric state (nvmlDeviceGetGpuFabricInfo) must be completed, with status success, on every GPU: until the fabric manager has registered a GPU, CUDA fails on it with error 802 (cudaErrorSystemNotReady). not_started means the fabric manager is not running or cannot reach the NVSwitches; in_progress, that it is still registering (minutes after boot); completed with an error status, that registration failed. GPUs outside a fabric (state not_supported: PCIe cards, NVLink bridges) make the check skip. A GPU that cannot answer the query (NOT_SUPPORTED: drivers before R535, Ampere) is unknown when it is an SXM module, which sits on an NVSwitch baseboard, and outside a fabric otherwise; one whose answer was refused (no permission) is unknown.",
    pointers: &[POINTER],
};

/// XID errors: the driver's reports of GPU faults, as NVML events.
pub const XID: Check = Check {
    code: "gpu-xid",
    domain: Domain::Health,
    summary: "no GPU reported a critical XID error while watched",
    explanation: "XID errors are the NVIDIA driver's reports of GPU faults, read as NVML events (nvmlDeviceRegisterEvents with nvmlEventTypeXidCriticalError, nvmlEventSetWait). NVML delivers an XID only to a watch begun before it happened, so the finding says how long each GPU was watched: `scan` watches while it reads the node and through --window; `serve` watches for its whole life and reports every XID since it started. A critical XID fails, with its meaning and remedy (48 double-bit ECC, 63/64 row remapping recorded/failed, 74 NVLink, 79 fallen off the bus, 94/95 contained/uncontained ECC, 119/120 GSP firmware, ...); an application's XID (13, 31, 43, 45, ...) or one this version does not know warns. A GPU that cannot register for events (NOT_SUPPORTED) or may not (NO_PERMISSION) is unknown; no XID while watched passes.",
    pointers: &[POINTER],
};

/// Health findings point at the accelerator declaration they put at risk.
const POINTER: &str = "/spec/runtime/accelerator";

/// Clock-event reasons that mean the GPU is slowed by power or heat (others are benign:
/// idle, application clocks, sync boost, display).
const THROTTLE_REASONS: &[&str] = &[
    "sw_power_cap",
    "hw_slowdown",
    "sw_thermal_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
];

pub(crate) fn b(check: &Check) -> FindingBuilder {
    FindingBuilder::new(check, POINTER)
}

pub(crate) fn check(spec: &ModelSpec, observation: &Observation, out: &mut Vec<Finding>) {
    let vendor = &spec.spec.runtime.accelerator.vendor;
    if vendor.trim().eq_ignore_ascii_case("amd") {
        let devices = match super::accelerator::amd_view(observation) {
            super::accelerator::AmdView::Devices(devices) => Ok(devices),
            super::accelerator::AmdView::Unseen(reason) => Err(reason),
        };
        super::amd::health(devices, out);
        return;
    }
    if !vendor.trim().eq_ignore_ascii_case("nvidia") {
        // The NVIDIA GPUs NVML sees are not the accelerators this spec runs on.
        for check in [&LOST, &MEMORY_ERRORS, &THROTTLING, &PERSISTENCE, &FABRIC, &XID] {
            out.push(b(check).status(
                Status::Skip,
                format!("GPU health is read through NVML, which does not see {vendor:?} accelerators"),
            ));
        }
        return;
    }
    let devices = match view(observation) {
        GpuView::Devices(devices) => devices,
        GpuView::Unseen(reason) => {
            for check in [&LOST, &MEMORY_ERRORS, &THROTTLING, &PERSISTENCE, &FABRIC, &XID] {
                out.push(b(check).status(Status::Unknown, format!("not observed: {reason}")));
            }
            return;
        }
    };
    out.push(lost(devices));
    out.push(memory_errors(devices));
    out.push(throttling(devices));
    out.push(persistence(devices));
    out.push(fabric(devices));
    out.push(xid(devices));
}

fn lost(devices: &[DeviceFacts]) -> Finding {
    let lost: Vec<u32> = devices.iter().filter(|d| d.lost).map(|d| d.index).collect();
    let f = b(&LOST).observed(json!({"lost": lost})).evidence(
        "nvml",
        json!({"devices": devices.len(), "lost": lost}),
        "no GPU may answer NVML_ERROR_GPU_IS_LOST",
    );
    if devices.is_empty() {
        f.status(Status::Unknown, "NVML reports no GPU to look at")
    } else if lost.is_empty() {
        f.status(Status::Pass, "every GPU answers")
    } else {
        // Lost is NVML's word for a GPU it can no longer reach; falling off the bus (XID 79)
        // is one way there, said only when the GPU reported it.
        let off_the_bus: Vec<u32> = devices
            .iter()
            .filter(|d| {
                d.lost
                    && d.xid
                        .value()
                        .is_some_and(|x| x.events.iter().any(|e| e.xid == Some(79)))
            })
            .map(|d| d.index)
            .collect();
        let why = if off_the_bus.is_empty() {
            String::new()
        } else {
            format!("; GPU(s) {off_the_bus:?} reported falling off the bus (XID 79)")
        };
        f.remediation("drain the node and reset or replace the GPU (see `nvidia-smi -q`, and the kernel log for the XID that preceded it)")
            .status(
                Status::Fail,
                format!("GPU(s) {lost:?} are lost: NVML can no longer reach them (NVML_ERROR_GPU_IS_LOST){why}"),
            )
    }
}

fn xid(devices: &[DeviceFacts]) -> Finding {
    use crate::catalogue::xid::{Severity, xid as known};
    let mut raw = Vec::new();
    let mut critical = Vec::new();
    let mut attention = Vec::new();
    let mut remedies: Vec<&str> = Vec::new();
    let mut unseen = Vec::new();
    let mut watched: Vec<(u32, u64, String)> = Vec::new();
    let mut numbers: Vec<u64> = Vec::new();
    for d in devices {
        let facts = match &d.xid {
            Observed::Ok { value } => value,
            // A lost GPU cannot be watched; `gpu-lost` says so.
            _ if d.lost => continue,
            other => {
                let reason = other.reason().unwrap_or("not observed");
                raw.push(json!({"index": d.index, "unseen": reason}));
                unseen.push(format!("GPU {}: {reason}", d.index));
                continue;
            }
        };
        watched.push((d.index, facts.watched_ms, facts.since.clone()));
        raw.push(json!({"index": d.index, "since": facts.since, "watched_ms": facts.watched_ms, "events": facts.events, "dropped": facts.dropped}));
        for event in &facts.events {
            let at = &event.at;
            numbers.extend(event.xid);
            match event.xid.map(|n| (n, known(n))) {
                Some((n, Some(x))) => {
                    let line = format!("GPU {}: XID {n} at {at}, {}", d.index, x.meaning);
                    if x.severity == Severity::Critical {
                        critical.push(line);
                        if !remedies.contains(&x.remedy) {
                            remedies.push(x.remedy);
                        }
                    } else {
                        attention.push(line);
                    }
                }
                Some((n, None)) => attention.push(format!(
                    "GPU {}: XID {n} at {at}, not in this version's catalogue (look it up in NVIDIA's XID catalogue)",
                    d.index
                )),
                None => attention.push(format!("GPU {}: an XID NVML could not name, at {at}", d.index)),
            }
        }
        if facts.dropped > 0 {
            attention.push(format!("GPU {}: {} more XID(s) not kept", d.index, facts.dropped));
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    let f = b(&XID).observed(json!({"xid": numbers})).evidence(
        "nvml",
        Json::Array(raw),
        "no critical XID from any GPU while watched",
    );
    if !critical.is_empty() {
        return f
            .remediation(remedies.join("; "))
            .status(Status::Fail, critical.join("; "));
    }
    if !attention.is_empty() {
        return f
            .remediation("look up each XID in NVIDIA's XID catalogue; application faults point at the process that ran")
            .status(Status::Warn, attention.join("; "));
    }
    if !unseen.is_empty() {
        return f.status(Status::Unknown, format!("not watched for XIDs: {}", unseen.join("; ")));
    }
    let Some(shortest) = watched.iter().map(|(_, ms, _)| *ms).min() else {
        return f.status(Status::Unknown, "no GPU answers NVML");
    };
    let since = watched.iter().map(|(_, _, s)| s.as_str()).min().unwrap_or_default();
    f.status(
        Status::Pass,
        format!(
            "no XID error from {} GPU(s) while watched (since {since}, at least {})",
            watched.len(),
            watched_for(shortest)
        ),
    )
}

/// A watch's length as people say it: `40 ms`, `12 s`, `3 min`, `5 h`, `2 d`.
fn watched_for(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..120_000 => format!("{} s", ms / 1_000),
        120_000..7_200_000 => format!("{} min", ms / 60_000),
        7_200_000..172_800_000 => format!("{} h", ms / 3_600_000),
        _ => format!("{} d", ms / 86_400_000),
    }
}

/// The value, or a note that it could not be read.
fn seen<T: Clone + Into<Json>>(o: &Observed<T>) -> Json {
    match o.value() {
        Some(v) => v.clone().into(),
        None => json!(o.reason().unwrap_or("not observed")),
    }
}

/// "Fine where we could see, but not everywhere": never a pass for the GPUs that said nothing.
fn silent_message(reported: usize, usable: usize, what: &str) -> String {
    format!(
        "nothing wrong on the {reported} GPU(s) that reported, but {} of {usable} did not report {what}",
        usable - reported
    )
}

fn memory_errors(devices: &[DeviceFacts]) -> Finding {
    let mut raw = Vec::new();
    let mut problems = Vec::new();
    let mut reported = 0;
    let mut usable = 0;
    for d in devices.iter().filter(|d| !d.lost) {
        usable += 1;
        let ecc = d.ecc.uncorrected_aggregate.value().copied();
        let pending = d.retired_pages_pending.value().copied();
        let remap_failed = d.remapped_rows.value().map(|r| r.failed);
        if ecc.is_some() || pending.is_some() || remap_failed.is_some() {
            reported += 1;
        }
        raw.push(json!({
            "index": d.index,
            "ecc_uncorrected_aggregate": seen(&d.ecc.uncorrected_aggregate),
            "ecc_uncorrected_volatile": seen(&d.ecc.uncorrected_volatile),
            "retired_pages_pending": seen(&d.retired_pages_pending),
            "row_remap_failed": remap_failed.map_or_else(|| json!(d.remapped_rows.reason().unwrap_or("not observed")), Json::from),
        }));
        if ecc.is_some_and(|n| n > 0) {
            problems.push(format!(
                "GPU {}: {} uncorrectable ECC error(s)",
                d.index,
                ecc.unwrap_or_default()
            ));
        }
        if pending == Some(true) {
            problems.push(format!("GPU {}: pages pending retirement", d.index));
        }
        if remap_failed == Some(true) {
            problems.push(format!("GPU {}: a row remap failed", d.index));
        }
    }
    let f = b(&MEMORY_ERRORS).observed(json!(problems)).evidence(
        "nvml",
        Json::Array(raw),
        "no uncorrectable ECC errors, no pages pending retirement, no failed row remap",
    );
    if !problems.is_empty() {
        f.remediation(
            "drain the node; a pending retirement or remap clears on GPU reset, a failed remap needs the GPU replaced",
        )
        .status(Status::Fail, problems.join("; "))
    } else if reported == 0 {
        f.status(
            Status::Unknown,
            "no GPU reported ECC, page retirement or row remap state",
        )
    } else if reported < usable {
        f.status(
            Status::Unknown,
            silent_message(reported, usable, "ECC, page retirement or row remap state"),
        )
    } else {
        f.status(Status::Pass, "no uncorrectable memory errors")
    }
}

fn throttling(devices: &[DeviceFacts]) -> Finding {
    let mut raw = Vec::new();
    let mut slowed = Vec::new();
    for d in devices.iter().filter(|d| !d.lost) {
        if let Some(reasons) = d.clock_event_reasons.value() {
            let bad: Vec<&str> = reasons
                .active
                .iter()
                .map(String::as_str)
                .filter(|r| THROTTLE_REASONS.contains(r))
                .collect();
            raw.push(json!({"index": d.index, "active": reasons.active, "raw_mask": reasons.raw_mask}));
            if !bad.is_empty() {
                slowed.push(format!("GPU {}: {}", d.index, bad.join(", ")));
            }
        }
    }
    let f = b(&THROTTLING).observed(json!(slowed)).evidence(
        "nvml",
        Json::Array(raw.clone()),
        "no power or thermal clock-event reason active",
    );
    let usable = devices.iter().filter(|d| !d.lost).count();
    if raw.is_empty() {
        f.status(Status::Unknown, "no GPU reported its clock-event reasons")
    } else if slowed.is_empty() && raw.len() < usable {
        f.status(
            Status::Unknown,
            silent_message(raw.len(), usable, "its clock-event reasons"),
        )
    } else if slowed.is_empty() {
        f.status(Status::Pass, "no GPU is throttled for power or heat")
    } else {
        f.remediation("check cooling and power limits (`nvidia-smi -q -d PERFORMANCE,POWER,TEMPERATURE`)")
            .status(Status::Warn, slowed.join("; "))
    }
}

fn persistence(devices: &[DeviceFacts]) -> Finding {
    let mut raw = Vec::new();
    let mut off = Vec::new();
    for d in devices.iter().filter(|d| !d.lost) {
        if let Some(&enabled) = d.persistence_mode.value() {
            raw.push(json!({"index": d.index, "persistence_mode": enabled}));
            if !enabled {
                off.push(d.index);
            }
        }
    }
    let f = b(&PERSISTENCE).observed(json!({"off": off})).evidence(
        "nvml",
        Json::Array(raw.clone()),
        "persistence mode on for every GPU",
    );
    let usable = devices.iter().filter(|d| !d.lost).count();
    if raw.is_empty() {
        f.status(Status::Unknown, "no GPU reported its persistence mode")
    } else if off.is_empty() && raw.len() < usable {
        f.status(
            Status::Unknown,
            silent_message(raw.len(), usable, "its persistence mode"),
        )
    } else if off.is_empty() {
        f.status(Status::Pass, "persistence mode is on")
    } else {
        f.remediation("enable it (`nvidia-persistenced`, or `nvidia-smi -pm 1`) so the driver stays initialized")
            .status(Status::Warn, format!("persistence mode is off on GPU(s) {off:?}"))
    }
}

fn fabric(devices: &[DeviceFacts]) -> Finding {
    use modelspec_probe_gpu::FabricState;
    let mut raw = Vec::new();
    let mut problems = Vec::new();
    let mut unseen = Vec::new();
    let mut registered = 0usize;
    for d in devices.iter().filter(|d| !d.lost) {
        let name = d.name.value().map_or("", String::as_str);
        match (&d.fabric, d.fabric.value()) {
            (_, Some(f)) => {
                raw.push(json!({"index": d.index, "state": f.state, "status": f.status, "clique_id": f.clique_id, "cluster_uuid": f.cluster_uuid}));
                match f.state {
                    FabricState::NotSupported => {}
                    FabricState::Completed if f.status_code == 0 => registered += 1,
                    FabricState::Completed => {
                        problems.push(format!("GPU {}: fabric registration failed: {}", d.index, f.status))
                    }
                    FabricState::NotStarted => problems.push(format!(
                        "GPU {}: the fabric manager has not started registering it",
                        d.index
                    )),
                    FabricState::InProgress => {
                        problems.push(format!("GPU {}: fabric registration still in progress", d.index))
                    }
                    FabricState::Other => {
                        unseen.push(format!("GPU {}: a fabric state this version does not know", d.index))
                    }
                }
            }
            (Observed::Unsupported { reason }, None) => {
                raw.push(json!({"index": d.index, "unsupported": reason}));
                // An SXM module sits on an NVSwitch baseboard: that its fabric cannot be read
                // is not that it has none.
                if crate::catalogue::gpu::by_nvml_name(name)
                    .is_some_and(|m| m.form_factor == crate::catalogue::gpu::FormFactor::Sxm)
                {
                    unseen.push(format!(
                        "GPU {} ({name}) cannot report its fabric state: {reason}",
                        d.index
                    ));
                }
            }
            (other, None) => {
                let reason = other.reason().unwrap_or("not observed");
                raw.push(json!({"index": d.index, "error": reason}));
                unseen.push(format!("GPU {}: {reason}", d.index));
            }
        }
    }
    let f = b(&FABRIC)
        .observed(json!({"registered": registered, "problems": problems}))
        .evidence(
            "nvml",
            Json::Array(raw),
            "every GPU of an NVSwitch system registered with the fabric (completed, success)",
        );
    if devices.iter().all(|d| d.lost) {
        return f.status(Status::Unknown, "no GPU answers NVML");
    }
    if !problems.is_empty() {
        return f
            .remediation(
                "start or restart the fabric manager (`systemctl status nvidia-fabricmanager`; its version must match the driver's), then wait for registration; CUDA fails with error 802 until it completes",
            )
            .status(Status::Fail, problems.join("; "));
    }
    if !unseen.is_empty() {
        return f.status(Status::Unknown, unseen.join("; "));
    }
    if registered == 0 {
        return f.status(Status::Skip, "no GPU is in an NVLink fabric (NVSwitch)");
    }
    f.status(
        Status::Pass,
        format!("{registered} GPU(s) registered with the NVLink fabric"),
    )
}
