//! Accelerator domain: vendor, type, count, precision and MIG, judged against NVML.

use modelspec_probe_gpu::{DeviceFacts, NvmlState};
use modelspec_probe_host::ServingProcess;
use serde_json::{Value as Json, json};

use super::attribution::{Attribution, attribute};
use super::{Domain, Finding, FindingBuilder, Status};
use crate::catalogue::{ComputeCapability, Precision, PrecisionSpelling, parse_declared_type};
use crate::observe::{Observation, ProbeOutcome};
use crate::spec::ModelSpec;

/// NVML sees NVIDIA GPUs on the node.
pub const VENDOR: &str = "accelerator-vendor";
/// The GPUs are the declared type (family, then memory and form factor when declared).
pub const TYPE: &str = "accelerator-type";
/// At least the declared number of usable GPUs.
pub const COUNT: &str = "accelerator-count";
/// The declared precision runs natively on every GPU (compute capability).
pub const PRECISION: &str = "accelerator-precision";
/// No GPU is split by MIG while the spec asks for whole GPUs.
pub const MIG: &str = "accelerator-mig";
/// No other process shares the GPUs the serving process holds.
pub const SHARED: &str = "gpu-shared";
/// The serving command line's parallelism (tensor × pipeline) matches the declared count.
pub const PARALLELISM: &str = "accelerator-parallelism";

const VENDOR_PTR: &str = "/spec/runtime/accelerator/vendor";
const TYPE_PTR: &str = "/spec/runtime/accelerator/type";
const COUNT_PTR: &str = "/spec/runtime/accelerator/count";
const PRECISION_PTR: &str = "/spec/identity/model/precision";

/// What the GPU probe lets the checks see.
pub(crate) enum GpuView<'a> {
    /// Nothing: the reason, in words.
    Unseen(String),
    /// NVML answered with these devices.
    Devices(&'a [DeviceFacts]),
}

pub(crate) fn view(observation: &Observation) -> GpuView<'_> {
    match &observation.gpu {
        ProbeOutcome::NotRun { reason } => GpuView::Unseen(format!("the GPU probe did not run: {reason}")),
        ProbeOutcome::TimedOut { budget_ms, .. } => {
            GpuView::Unseen(format!("the GPU probe did not answer within {budget_ms} ms"))
        }
        ProbeOutcome::Observed { snapshot, .. } => match &snapshot.nvml {
            NvmlState::Unavailable { message, .. } => GpuView::Unseen(message.clone()),
            NvmlState::Available { devices, .. } => GpuView::Devices(devices),
        },
    }
}

fn usable(devices: &[DeviceFacts]) -> impl Iterator<Item = &DeviceFacts> {
    devices.iter().filter(|d| !d.lost)
}

pub(crate) fn check(
    spec: &ModelSpec,
    observation: &Observation,
    resolution: &super::target::Resolution,
    out: &mut Vec<Finding>,
) {
    let accelerator = &spec.spec.runtime.accelerator;
    let precision = spec.spec.identity.model.precision.as_deref();
    let b = |code: &str, pointer: &str| FindingBuilder::new(code, Domain::Accelerator, pointer);

    if !accelerator.vendor.trim().eq_ignore_ascii_case("nvidia") {
        let why = format!(
            "only NVIDIA accelerators are observed (through NVML); vendor {:?} is not checked",
            accelerator.vendor
        );
        for (code, pointer, declared) in [
            (VENDOR, VENDOR_PTR, json!(accelerator.vendor)),
            (TYPE, TYPE_PTR, json!(accelerator.kind)),
            (COUNT, COUNT_PTR, json!(accelerator.count)),
        ] {
            out.push(b(code, pointer).declared(declared).status(Status::Skip, why.clone()));
        }
        if let Some(p) = precision {
            out.push(b(PRECISION, PRECISION_PTR).declared(p).status(Status::Skip, why));
        }
        return;
    }

    let devices = match view(observation) {
        GpuView::Devices(devices) => devices,
        GpuView::Unseen(reason) => {
            let msg = format!("not observed: {reason}");
            out.push(
                b(VENDOR, VENDOR_PTR)
                    .declared(accelerator.vendor.as_str())
                    .status(Status::Unknown, msg.clone()),
            );
            out.push(
                b(TYPE, TYPE_PTR)
                    .declared(accelerator.kind.as_str())
                    .status(Status::Unknown, msg.clone()),
            );
            out.push(
                b(COUNT, COUNT_PTR)
                    .declared(accelerator.count)
                    .status(Status::Unknown, msg.clone()),
            );
            if let Some(p) = precision {
                out.push(
                    b(PRECISION, PRECISION_PTR)
                        .declared(p)
                        .status(Status::Unknown, msg.clone()),
                );
            }
            out.push(b(MIG, TYPE_PTR).status(Status::Unknown, msg.clone()));
            out.push(b(SHARED, COUNT_PTR).status(Status::Unknown, msg));
            return;
        }
    };

    let serving = resolution.process();
    let attribution = serving.and_then(|s| attribute(devices, s));
    out.push(vendor(accelerator.vendor.as_str(), devices));
    out.push(gpu_type(&accelerator.kind, devices));
    out.push(count(accelerator.count, devices, serving, attribution.as_ref()));
    out.push(shared(serving, attribution.as_ref()));
    if let Some(f) = serving.and_then(|s| parallelism(accelerator.count, s)) {
        out.push(f);
    }
    if let Some(p) = precision {
        out.push(precision_check(p, devices));
    }
    out.push(mig(devices));
}

fn names(devices: &[DeviceFacts]) -> Json {
    Json::Array(
        devices
            .iter()
            .map(|d| json!({"index": d.index, "name": d.name.value(), "memory_total_mib": d.memory.value().map(|m| m.total_mib), "lost": d.lost}))
            .collect(),
    )
}

fn vendor(declared: &str, devices: &[DeviceFacts]) -> Finding {
    let b = FindingBuilder::new(VENDOR, Domain::Accelerator, VENDOR_PTR)
        .declared(declared)
        .observed(if devices.is_empty() {
            Json::Null
        } else {
            json!("nvidia")
        })
        .evidence(
            "nvml",
            json!({"devices": devices.len()}),
            "NVML loads and reports at least one device",
        );
    if devices.is_empty() {
        b.remediation(
            "check `nvidia-smi`: the driver runs but sees no GPU (passthrough, cgroup or CUDA_VISIBLE_DEVICES?)",
        )
        .status(Status::Fail, "NVML runs but reports no NVIDIA GPU")
    } else {
        b.status(Status::Pass, format!("NVML reports {} NVIDIA GPU(s)", devices.len()))
    }
}

fn gpu_type(declared: &str, devices: &[DeviceFacts]) -> Finding {
    let mut observed_names: Vec<String> = Vec::new();
    for name in usable(devices).filter_map(|d| d.name.value()) {
        if !observed_names.contains(name) {
            observed_names.push(name.clone());
        }
    }
    let b = FindingBuilder::new(TYPE, Domain::Accelerator, TYPE_PTR)
        .declared(declared)
        .observed(json!(observed_names))
        .evidence(
            "nvml",
            names(devices),
            "the GPU family must match exactly; memory (within 10%) and form factor only when the type declares them",
        );
    let parsed = match parse_declared_type(declared) {
        Ok(p) => p,
        Err(unknown) => {
            let hint = unknown
                .suggestion
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return b.status(
                Status::Unknown,
                format!(
                    "declared type {declared:?} is not in the GPU catalogue{hint}, so the GPUs cannot be matched to it"
                ),
            );
        }
    };
    let mut judged = 0;
    let mut mismatches = Vec::new();
    for d in usable(devices) {
        let (Some(name), Some(memory)) = (d.name.value(), d.memory.value()) else {
            continue;
        };
        judged += 1;
        let verdict = parsed.matches(name, memory.total_mib);
        if !verdict.is_match() {
            mismatches.push(format!("GPU {}: {verdict}", d.index));
        }
    }
    if judged == 0 {
        return b.status(Status::Unknown, "no GPU reported both its name and its memory");
    }
    let silent = usable(devices).count() - judged;
    if mismatches.is_empty() && silent > 0 {
        return b.status(
            Status::Unknown,
            format!("{judged} GPU(s) are {declared}, but {silent} did not report their name and memory"),
        );
    }
    if mismatches.is_empty() {
        b.status(Status::Pass, format!("all {judged} GPU(s) are {declared}"))
    } else {
        b.remediation("schedule the model on nodes with the declared GPU, or correct runtime.accelerator.type")
            .status(Status::Fail, mismatches.join("; "))
    }
}

fn count(
    declared: u64,
    devices: &[DeviceFacts],
    serving: Option<&ServingProcess>,
    attribution: Option<&Attribution>,
) -> Finding {
    if let (Some(process), Some(a)) = (serving, attribution)
        && !a.held.is_empty()
    {
        let held = a.held.len() as u64;
        let indices: Vec<u32> = a.held.iter().map(|g| g.index).collect();
        let b = FindingBuilder::new(COUNT, Domain::Accelerator, COUNT_PTR)
            .declared(declared)
            .observed(held)
            .evidence(
                "nvml+host",
                json!({"serving_pid": process.pid, "tree": a.tree, "held_gpus": indices, "visible": devices.len()}),
                "GPUs holding a process of the serving process tree must be at least the declared count",
            );
        return if held < declared {
            b.remediation(
                "start the server with more GPUs (tensor/pipeline parallel size), or lower runtime.accelerator.count",
            )
            .status(
                Status::Fail,
                format!(
                    "the serving process (pid {}) holds {held} GPU(s) {indices:?}, {declared} declared",
                    process.pid
                ),
            )
        } else {
            b.status(
                Status::Pass,
                format!(
                    "the serving process (pid {}) holds {held} GPU(s) {indices:?}, {declared} declared",
                    process.pid
                ),
            )
        };
    }
    let usable = usable(devices).count() as u64;
    let lost = devices.len() as u64 - usable;
    let b = FindingBuilder::new(COUNT, Domain::Accelerator, COUNT_PTR)
        .declared(declared)
        .observed(usable)
        .evidence(
            "nvml",
            json!({"visible": devices.len(), "lost": lost, "serving_pid": serving.map(|s| s.pid)}),
            if serving.is_some() {
                "usable GPUs visible to NVML must be at least the declared count (the serving process holds none that NVML lists: in a container NVML may report host pids)"
            } else {
                "usable GPUs visible to NVML must be at least the declared count (no serving process found to attribute GPUs to)"
            },
        );
    if usable < declared {
        let lost_note = if lost > 0 {
            format!(" ({lost} lost)")
        } else {
            String::new()
        };
        b.remediation("give the replica more GPUs, or lower runtime.accelerator.count")
            .status(
                Status::Fail,
                format!("{usable} usable GPU(s){lost_note}, {declared} declared"),
            )
    } else if usable > declared {
        b.status(
            Status::Pass,
            format!("{usable} GPUs visible, {declared} declared per replica"),
        )
    } else {
        b.status(Status::Pass, format!("{usable} GPU(s), as declared"))
    }
}

/// The value of a command-line option, as `--name VALUE` or `--name=VALUE`.
fn option_value<'a>(argv: &'a [String], names: &[&str]) -> Option<&'a str> {
    argv.iter().enumerate().find_map(|(i, arg)| {
        names.iter().find_map(|name| {
            if arg == name {
                argv.get(i + 1).map(String::as_str)
            } else {
                arg.strip_prefix(name).and_then(|rest| rest.strip_prefix('='))
            }
        })
    })
}

/// Tensor × pipeline parallelism as the serving command line states it (vLLM, SGLang and TGI
/// spellings); `None` when it states neither.
fn stated_parallelism(argv: &[String]) -> Option<(u64, u64)> {
    let number = |names: &[&str]| option_value(argv, names).and_then(|v| v.parse::<u64>().ok());
    let tensor = number(&["--tensor-parallel-size", "-tp", "--tp", "--tp-size", "--num-shard"]);
    let pipeline = number(&["--pipeline-parallel-size", "-pp", "--pp", "--pp-size"]);
    if tensor.is_none() && pipeline.is_none() {
        return None;
    }
    Some((tensor.unwrap_or(1), pipeline.unwrap_or(1)))
}

fn parallelism(declared: u64, serving: &ServingProcess) -> Option<Finding> {
    let argv = serving.argv.value()?;
    let (tensor, pipeline) = stated_parallelism(argv)?;
    let gpus = tensor.saturating_mul(pipeline);
    let b = FindingBuilder::new(PARALLELISM, Domain::Accelerator, COUNT_PTR)
        .declared(declared)
        .observed(gpus)
        .evidence(
            "host",
            json!({"pid": serving.pid, "tensor_parallel": tensor, "pipeline_parallel": pipeline}),
            "tensor-parallel size × pipeline-parallel size on the serving command line equals the declared count",
        );
    Some(if gpus == declared {
        b.status(
            Status::Pass,
            format!("the server runs tensor {tensor} × pipeline {pipeline} = {gpus} GPU(s), as declared"),
        )
    } else {
        b.remediation("start the server with a parallelism matching runtime.accelerator.count, or correct the spec")
            .status(
                Status::Fail,
                format!("the server runs tensor {tensor} × pipeline {pipeline} = {gpus} GPU(s), {declared} declared"),
            )
    })
}

fn shared(serving: Option<&ServingProcess>, attribution: Option<&Attribution>) -> Finding {
    let b = FindingBuilder::new(SHARED, Domain::Accelerator, COUNT_PTR);
    let (Some(process), Some(a)) = (serving, attribution) else {
        let why = if serving.is_none() {
            "no serving process was found to attribute GPUs to"
        } else {
            "no GPU reported its processes"
        };
        return b.status(Status::Unknown, why);
    };
    if a.held.is_empty() {
        return b.status(
            Status::Unknown,
            format!("the serving process (pid {}) holds no GPU that NVML lists", process.pid),
        );
    }
    let raw: Vec<Json> = a
        .neighbours
        .iter()
        .map(|n| json!({"gpu": n.gpu, "pid": n.pid, "used_mib": n.used_mib}))
        .collect();
    let b = b.observed(json!(raw)).evidence(
        "nvml+host",
        json!({"serving_tree": a.tree, "neighbours": raw}),
        "no process outside the serving tree on its GPUs",
    );
    if a.neighbours.is_empty() {
        return b.status(Status::Pass, "no other process shares the serving process's GPUs");
    }
    let described: Vec<String> = a
        .neighbours
        .iter()
        .map(|n| match n.used_mib {
            Some(mib) => format!(
                "GPU {} shared with pid {} ({:.1} GiB)",
                n.gpu,
                n.pid,
                mib as f64 / 1024.0
            ),
            None => format!("GPU {} shared with pid {}", n.gpu, n.pid),
        })
        .collect();
    b.remediation("move the other workload off these GPUs, or isolate them (CUDA_VISIBLE_DEVICES, device plugin)")
        .status(Status::Warn, described.join("; "))
}

fn precision_check(declared: &str, devices: &[DeviceFacts]) -> Finding {
    let b = FindingBuilder::new(PRECISION, Domain::Accelerator, PRECISION_PTR).declared(declared);
    let precision = match Precision::parse(declared) {
        PrecisionSpelling::Known(p) => p,
        PrecisionSpelling::Auto => {
            return b.status(
                Status::Skip,
                "precision `auto`: the serving engine picks, nothing to check here",
            );
        }
        PrecisionSpelling::Unknown => {
            return b.status(
                Status::Unknown,
                format!("precision {declared:?} is not one we know, so it cannot be checked"),
            );
        }
    };
    let needs = precision.min_compute_capability();
    let mut raw = Vec::new();
    let mut short = Vec::new();
    for d in usable(devices) {
        if let Some(cc) = d.compute_capability.value() {
            let have = ComputeCapability::new(u8::try_from(cc.major).unwrap_or(0), u8::try_from(cc.minor).unwrap_or(0));
            raw.push(json!({"index": d.index, "compute_capability": have.to_string()}));
            if have < needs {
                short.push(format!("GPU {} has {have}", d.index));
            }
        }
    }
    let b = b
        .observed(json!(
            raw.iter().map(|r| r["compute_capability"].clone()).collect::<Vec<_>>()
        ))
        .evidence(
            "nvml",
            Json::Array(raw.clone()),
            &format!(
                "{} needs compute capability {needs} or newer on every GPU",
                precision.as_str()
            ),
        );
    let silent = usable(devices).count() - raw.len();
    if raw.is_empty() {
        b.status(Status::Unknown, "no GPU reported its compute capability")
    } else if short.is_empty() && silent > 0 {
        b.status(
            Status::Unknown,
            format!(
                "the {} GPU(s) that reported run {} natively, but {silent} did not report a compute capability",
                raw.len(),
                precision.as_str()
            ),
        )
    } else if short.is_empty() {
        b.status(
            Status::Pass,
            format!("every GPU runs {} natively (needs {needs})", precision.as_str()),
        )
    } else {
        b.remediation("serve a precision these GPUs support (see the GPU catalogue), or schedule on newer GPUs")
            .status(
                Status::Fail,
                format!(
                    "{} needs compute capability {needs}: {}",
                    precision.as_str(),
                    short.join(", ")
                ),
            )
    }
}

fn mig(devices: &[DeviceFacts]) -> Finding {
    let mut raw = Vec::new();
    let mut on = Vec::new();
    let mut unseen = 0;
    for d in usable(devices) {
        match (&d.mig.mode.value(), d.mig.mode.is_unsupported()) {
            (Some(mode), _) => {
                raw.push(json!({"index": d.index, "current": mode.current_enabled, "pending": mode.pending_enabled}));
                if mode.current_enabled {
                    on.push(d.index);
                }
            }
            (None, true) => raw.push(json!({"index": d.index, "current": "not supported"})),
            (None, false) => unseen += 1,
        }
    }
    let b = FindingBuilder::new(MIG, Domain::Accelerator, TYPE_PTR)
        .declared("whole GPUs")
        .observed(if on.is_empty() {
            json!("no MIG")
        } else {
            json!({"mig_enabled_on": on})
        })
        .evidence(
            "nvml",
            Json::Array(raw.clone()),
            "a spec for whole GPUs expects MIG mode off",
        );
    if !on.is_empty() {
        b.remediation("disable MIG (`nvidia-smi -mig 0`) on these GPUs, or serve from the MIG slices deliberately")
            .status(
                Status::Warn,
                format!("MIG is on for GPU(s) {on:?}; the spec asks for whole GPUs"),
            )
    } else if raw.is_empty() {
        let why = if unseen > 0 {
            "no GPU reported its MIG mode"
        } else {
            "there is no usable GPU to look at"
        };
        b.status(Status::Unknown, why)
    } else {
        b.status(Status::Pass, "no GPU is split by MIG")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_string()).collect()
    }

    #[test]
    fn parallelism_spellings() {
        assert_eq!(
            stated_parallelism(&argv(&["vllm", "serve", "m", "--tensor-parallel-size", "4"])),
            Some((4, 1))
        );
        assert_eq!(
            stated_parallelism(&argv(&[
                "vllm",
                "serve",
                "--tensor-parallel-size=2",
                "--pipeline-parallel-size",
                "2"
            ])),
            Some((2, 2))
        );
        assert_eq!(
            stated_parallelism(&argv(&["python", "-m", "sglang.launch_server", "--tp", "8"])),
            Some((8, 1))
        );
        assert_eq!(
            stated_parallelism(&argv(&["text-generation-launcher", "--num-shard", "2"])),
            Some((2, 1))
        );
        assert_eq!(
            stated_parallelism(&argv(&["vllm", "serve", "m", "--max-model-len", "4096"])),
            None
        );
        assert_eq!(stated_parallelism(&argv(&["vllm", "--tensor-parallel-size"])), None);
        // `--tpx` is not `--tp`.
        assert_eq!(stated_parallelism(&argv(&["x", "--tpx=3"])), None);
    }
}
