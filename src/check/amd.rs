//! The accelerator checks for `vendor: amd`: the same codes and rules as NVIDIA's
//! (`accelerator-type`, `-count`, `-precision`, `-mig`, `gpu-shared`, `-parallelism`), read
//! from AMD SMI through the AMD catalogue. The differences are AMD's: a GPU is what AMD SMI
//! enumerates (a GCD of an MI250X, a compute partition of an MI300X), the architecture is the
//! graphics target (gfx942) rather than a compute capability, and the MIG counterpart is the
//! compute partition mode (SPX is a whole GPU; DPX, QPX and CPX split it).

use modelspec_probe_amd::AmdDevice;
use modelspec_probe_host::ServingProcess;
use serde_json::{Value as Json, json};

use super::accelerator::{Listed, MIG, TYPE, count, declared_precision, shared};
use super::attribution::attribute_amd;
use super::engine::{EngineView, Unseen};
use super::{Finding, FindingBuilder, Status};
use crate::catalogue::amd::{AmdGpuModel, DeclaredAmdType, Gfx, by_market_name, parse_declared_amd_type};
use crate::spec::ModelSpec;

const TYPE_PTR: &str = "/spec/runtime/accelerator/type";

/// Every accelerator finding but the vendor's, for AMD GPUs (or why they are unseen).
pub(crate) fn check(
    spec: &ModelSpec,
    devices: Result<&[AmdDevice], String>,
    serving: Option<&ServingProcess>,
    engine: &Result<EngineView, Unseen>,
    out: &mut Vec<Finding>,
) {
    let accelerator = &spec.spec.runtime.accelerator;
    let precision = spec.spec.identity.model.precision.as_deref();
    let devices = match devices {
        Ok(devices) => devices,
        Err(reason) => {
            super::accelerator::unseen(spec, &format!("not observed: {reason}"), out);
            return;
        }
    };
    let declared = parse_declared_amd_type(&accelerator.kind);
    let attribution = serving.and_then(|s| attribute_amd(devices, s));
    out.push(gpu_type(&accelerator.kind, declared.as_ref(), devices));
    let listed = Listed {
        library: "AMD SMI",
        probe: "amdsmi",
        visible: devices.len(),
        usable: devices.len() as u64,
    };
    out.push(count(accelerator.count, &listed, serving, attribution.as_ref()));
    out.push(shared(serving, attribution.as_ref(), "AMD SMI", "amdsmi"));
    if let Some(f) = super::accelerator::parallelism_of(accelerator.count, engine, serving) {
        out.push(f);
    }
    if let Some(p) = precision {
        out.push(precision_check(p, devices));
    }
    out.push(partition(declared.as_ref(), devices));
}

/// The catalogue row of an AMD SMI GPU: by market name, else by a PCI id one product has.
fn row_of(d: &AmdDevice) -> Option<&'static AmdGpuModel> {
    let name = d.market_name.value().map_or("", String::as_str);
    by_market_name(name, d.asic.value().map(|a| a.device_id))
}

fn raw(devices: &[AmdDevice]) -> Json {
    Json::Array(
        devices
            .iter()
            .map(|d| {
                json!({"index": d.index, "market_name": d.market_name.value(), "device_id": d.asic.value().map(|a| a.device_id_hex.clone()), "gfx_target": d.gfx_target.value(), "vram_total_mib": d.vram.value().map(|v| v.total_mib), "compute_partition": d.compute_partition.value(), "memory_partition": d.memory_partition.value()})
            })
            .collect(),
    )
}

fn gpu_type(declared_text: &str, declared: Option<&DeclaredAmdType>, devices: &[AmdDevice]) -> Finding {
    let mut observed: Vec<String> = Vec::new();
    for name in devices.iter().filter_map(|d| d.market_name.value()) {
        if !observed.contains(name) {
            observed.push(name.clone());
        }
    }
    let b = FindingBuilder::new(&TYPE, TYPE_PTR)
        .declared(declared_text)
        .observed(json!(observed))
        .evidence(
            "amdsmi",
            raw(devices),
            "the GPU family must match exactly (by AMD SMI's market name, else its PCI id); memory per GPU (within 10%) only when the type declares it",
        );
    let Some(declared) = declared else {
        return b.status(
            Status::Unknown,
            format!("declared type {declared_text:?} is not in the AMD catalogue, so the GPUs cannot be matched to it"),
        );
    };
    let mut judged = 0;
    let mut mismatches = Vec::new();
    for d in devices {
        let Some(row) = row_of(d) else {
            if let Some(name) = d.market_name.value() {
                judged += 1;
                mismatches.push(format!("GPU {}: {name:?} is not in the AMD catalogue", d.index));
            }
            continue;
        };
        judged += 1;
        if row.family != declared.family {
            mismatches.push(format!(
                "GPU {}: expected a GPU of family `{}`, found `{}`",
                d.index, declared.family, row.family
            ));
        } else if let Some(gib) = declared.memory_gib {
            match d.vram.value().map(|v| v.total_mib) {
                Some(total) if !declared.memory_matches(total) => mismatches.push(format!(
                    "GPU {}: expected about {gib} GB per GPU (within 10%), found {total} MiB",
                    d.index
                )),
                Some(_) => {}
                // The family matches, the declared memory cannot be compared: not judged.
                None => judged -= 1,
            }
        }
    }
    if judged == 0 {
        return b.status(Status::Unknown, "no AMD GPU reported its market name or PCI id");
    }
    let silent = devices.len() - judged;
    if mismatches.is_empty() && silent > 0 {
        return b.status(
            Status::Unknown,
            format!(
                "{judged} GPU(s) are {}, but {silent} did not report their market name, PCI id or VRAM",
                declared.spelling
            ),
        );
    }
    if mismatches.is_empty() {
        b.status(Status::Pass, format!("all {judged} GPU(s) are {}", declared.spelling))
    } else {
        b.remediation("run the model on the declared GPUs, or correct runtime.accelerator.type")
            .status(Status::Fail, mismatches.join("; "))
    }
}

fn precision_check(declared: &str, devices: &[AmdDevice]) -> Finding {
    let (b, precision) = match declared_precision(declared) {
        Ok(known) => known,
        Err(finding) => return *finding,
    };
    let mut raw = Vec::new();
    let mut short = Vec::new();
    for d in devices {
        // AMD SMI's graphics target, else the catalogue's for the product (ROCm 6.2 has none).
        let (gfx, from) = match d.gfx_target.value().and_then(|t| Gfx::parse(t)) {
            Some(g) => (Some(g), "amd-smi"),
            None => (row_of(d).map(|r| r.gfx), "catalogue"),
        };
        let Some(gfx) = gfx else { continue };
        raw.push(
            json!({"index": d.index, "gfx_target": gfx.target(), "architecture": gfx.architecture(), "from": from}),
        );
        if !gfx.supports(precision) {
            short.push(format!("GPU {} is {} ({})", d.index, gfx.architecture(), gfx.target()));
        }
    }
    let b = b
        .observed(json!(raw.iter().map(|r| r["gfx_target"].clone()).collect::<Vec<_>>()))
        .evidence(
            "amdsmi",
            Json::Array(raw.clone()),
            &format!(
                "{} needs {} or newer on every GPU",
                precision.as_str(),
                Gfx::first_supporting(precision)
            ),
        );
    if raw.is_empty() {
        return b.status(
            Status::Unknown,
            "no AMD GPU reported a graphics target this version knows",
        );
    }
    let silent = devices.len() - raw.len();
    if short.is_empty() && silent > 0 {
        return b.status(
            Status::Unknown,
            format!(
                "the {} GPU(s) with a known graphics target run {} natively, but {silent} did not say theirs",
                raw.len(),
                precision.as_str()
            ),
        );
    }
    if short.is_empty() {
        b.status(
            Status::Pass,
            format!("{} runs natively on every GPU", precision.as_str()),
        )
    } else {
        b.remediation("serve a precision these GPUs run natively, or run on newer GPUs")
            .status(
                Status::Fail,
                format!(
                    "{} needs {}: {}",
                    precision.as_str(),
                    Gfx::first_supporting(precision),
                    short.join("; ")
                ),
            )
    }
}

/// The MIG counterpart: a type naming no partition expects whole GPUs (SPX); a declared compute
/// or memory partition must be every partitioned GPU's mode.
fn partition(declared: Option<&DeclaredAmdType>, devices: &[AmdDevice]) -> Finding {
    let want_compute = declared.and_then(|d| d.compute_partition.clone());
    let want_memory = declared.and_then(|d| d.memory_partition.clone());
    let mut raw = Vec::new();
    let mut wrong = Vec::new();
    let mut unsupported = 0;
    let mut seen = 0;
    for d in devices {
        match (d.compute_partition.value(), d.compute_partition.is_unsupported()) {
            (Some(mode), _) => {
                seen += 1;
                let memory = d.memory_partition.value();
                raw.push(json!({"index": d.index, "compute": mode, "memory": memory}));
                let expected = want_compute.as_deref().unwrap_or("SPX");
                if !mode.eq_ignore_ascii_case(expected) {
                    wrong.push(format!("GPU {}: {mode}, {expected} expected", d.index));
                }
                if let (Some(want), Some(have)) = (&want_memory, memory)
                    && !have.eq_ignore_ascii_case(want)
                {
                    wrong.push(format!("GPU {}: memory {have}, {want} expected", d.index));
                }
            }
            (None, true) => {
                unsupported += 1;
                raw.push(json!({"index": d.index, "compute": "not supported"}));
            }
            (None, false) => {}
        }
    }
    let declared_text = match (&want_compute, &want_memory) {
        (None, None) => "whole GPUs (SPX)".to_string(),
        (c, m) => [c.as_deref(), m.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/"),
    };
    let b = FindingBuilder::new(&MIG, TYPE_PTR)
        .declared(declared_text.as_str())
        .evidence(
            "amdsmi",
            Json::Array(raw.clone()),
            "a type naming no partition expects whole GPUs (SPX); a named compute or memory partition is every GPU's mode",
        );
    // GPUs whose mode could not be read (an error, not "no partitions"): never a pass.
    let silent = devices.len() - seen - unsupported;
    if seen == 0 && unsupported > 0 && (silent == 0 || want_compute.is_some() || want_memory.is_some()) {
        return if want_compute.is_some() || want_memory.is_some() {
            b.remediation("run on GPUs with compute partitions (MI300 series), or declare the type without one")
                .status(
                    Status::Fail,
                    format!("the declared type names {declared_text}, but these GPUs have no partitions"),
                )
        } else {
            b.status(Status::Pass, "the GPUs have no compute partitions: whole GPUs")
        };
    }
    if seen == 0 {
        return b.status(Status::Unknown, "no AMD GPU reported its partition mode");
    }
    if wrong.is_empty() && silent > 0 {
        return b.status(
            Status::Unknown,
            format!("{seen} GPU(s) are {declared_text}, but {silent} did not report a partition mode"),
        );
    }
    if wrong.is_empty() {
        b.status(Status::Pass, format!("every GPU is {declared_text}"))
    } else {
        b.remediation(match &want_compute {
            None => "set whole GPUs (`amd-smi set --compute-partition SPX`), or declare the partition served from (e.g. `mi300x-cpx`)".to_string(),
            Some(mode) => format!("set `amd-smi set --compute-partition {mode}`, or declare the partition these GPUs run"),
        })
        .status(Status::Fail, wrong.join("; "))
    }
}

/// GPU health under `vendor: amd`, from AMD SMI: RAS errors and throttling; the NVIDIA-only
/// states (lost, persistence mode, NVLink fabric, XIDs) skip, saying why.
pub(crate) fn health(devices: Result<&[AmdDevice], String>, out: &mut Vec<Finding>) {
    use super::health::{FABRIC, LOST, MEMORY_ERRORS, PERSISTENCE, THROTTLING, XID, b};
    for (check, why) in [
        (
            &LOST,
            "a lost GPU is NVML's state; an AMD GPU that stops answering is missing from AMD SMI's list (accelerator-count)",
        ),
        (
            &PERSISTENCE,
            "persistence mode is NVIDIA's: the amdgpu driver stays initialized",
        ),
        (
            &FABRIC,
            "the NVLink fabric is NVIDIA's; AMD's XGMI links are not read yet",
        ),
        (&XID, "XID errors are NVIDIA's driver reports"),
    ] {
        out.push(b(check).status(Status::Skip, why));
    }
    let devices = match devices {
        Ok(devices) => devices,
        Err(reason) => {
            for check in [&MEMORY_ERRORS, &THROTTLING] {
                out.push(b(check).status(Status::Unknown, format!("not observed: {reason}")));
            }
            return;
        }
    };
    out.push(ras(devices));
    out.push(throttling(devices));
}

/// Uncorrectable RAS errors fail, deferred ones (poison the driver will handle) warn.
fn ras(devices: &[AmdDevice]) -> Finding {
    use super::health::{MEMORY_ERRORS, b};
    let mut raw = Vec::new();
    let mut failing = Vec::new();
    let mut deferred = Vec::new();
    let mut reported = 0;
    for d in devices {
        match &d.ecc {
            modelspec_probe_amd::Observed::Ok { value } => {
                reported += 1;
                raw.push(json!({"index": d.index, "correctable": value.correctable, "uncorrectable": value.uncorrectable, "deferred": value.deferred}));
                if value.uncorrectable > 0 {
                    failing.push(format!(
                        "GPU {}: {} uncorrectable RAS error(s)",
                        d.index, value.uncorrectable
                    ));
                }
                if value.deferred > 0 {
                    deferred.push(format!("GPU {}: {} deferred RAS error(s)", d.index, value.deferred));
                }
            }
            other => raw.push(json!({"index": d.index, "unseen": other.reason()})),
        }
    }
    let f = b(&MEMORY_ERRORS)
        .observed(json!(failing.iter().chain(&deferred).collect::<Vec<_>>()))
        .evidence(
            "amdsmi",
            Json::Array(raw),
            "no uncorrectable RAS errors (amdsmi_get_gpu_total_ecc_count)",
        );
    if !failing.is_empty() {
        let all: Vec<String> = failing.into_iter().chain(deferred).collect();
        return f
            .remediation("drain the node and check `amd-smi metric --ecc` and the bad pages (`amd-smi bad-pages`); reset the GPU, and have it serviced if errors recur")
            .status(Status::Fail, all.join("; "));
    }
    if !deferred.is_empty() {
        return f
            .remediation("watch `amd-smi metric --ecc`: deferred errors are uncorrectable data the driver will handle when it is used")
            .status(Status::Warn, deferred.join("; "));
    }
    match reported {
        0 => f.status(Status::Unknown, "no AMD GPU reported its RAS error counts"),
        n if n < devices.len() => f.status(
            Status::Unknown,
            format!(
                "no uncorrectable errors on the {n} GPU(s) that reported, but {} did not",
                devices.len() - n
            ),
        ),
        _ => f.status(Status::Pass, "no uncorrectable RAS errors"),
    }
}

/// A throttle bit set warns (the bits are ASIC-specific; the masks are the evidence).
fn throttling(devices: &[AmdDevice]) -> Finding {
    use super::health::{THROTTLING, b};
    let mut raw = Vec::new();
    let mut throttled = Vec::new();
    let mut reported = 0;
    for d in devices {
        let Some(t) = d.throttle.value() else {
            raw.push(json!({"index": d.index, "unseen": d.throttle.reason()}));
            continue;
        };
        if t.throttle_status.is_none() && t.indep_throttle_status.is_none() {
            raw.push(json!({"index": d.index, "unseen": "the metrics table carries no throttle status"}));
            continue;
        }
        reported += 1;
        raw.push(json!({"index": d.index, "throttle_status": t.throttle_status, "indep_throttle_status": t.indep_throttle_status, "hotspot_c": d.temperature.hotspot.value()}));
        if t.indep_throttle_status.is_some_and(|m| m != 0) || t.throttle_status.is_some_and(|m| m != 0) {
            let hot = d
                .temperature
                .hotspot
                .value()
                .map(|c| format!(", hotspot {c} °C"))
                .unwrap_or_default();
            throttled.push(format!("GPU {}{hot}", d.index));
        }
    }
    let f = b(&THROTTLING).observed(json!(throttled)).evidence(
        "amdsmi",
        Json::Array(raw),
        "no throttle bit set in the GPU metrics table",
    );
    if !throttled.is_empty() {
        return f
            .remediation("check cooling and power (`amd-smi metric --power --temperature`; on MI300, the violation counters of `amd-smi metric --throttle`)")
            .status(Status::Warn, format!("throttled: {}", throttled.join("; ")));
    }
    match reported {
        0 => f.status(Status::Unknown, "no AMD GPU reported a throttle status"),
        n if n < devices.len() => f.status(
            Status::Unknown,
            format!(
                "no throttle bit set on the {n} GPU(s) that reported, but {} did not",
                devices.len() - n
            ),
        ),
        _ => f.status(Status::Pass, format!("no throttle bit set on {reported} GPU(s)")),
    }
}
