//! Accelerator domain: vendor, type, count, precision and MIG, judged against NVML.

use modelspec_probe_amd::{AmdDevice, AmdSmiState};
use modelspec_probe_gpu::{DeviceFacts, NvmlState};
use modelspec_probe_host::ServingProcess;
use serde_json::{Value as Json, json};

use super::attribution::{Attribution, attribute};
use super::engine::{EngineView, Unseen};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::catalogue::{ComputeCapability, Precision, PrecisionSpelling, parse_declared_type};
use crate::observe::{Observation, ProbeOutcome};
use crate::runtime::{EngineFacts, Fact, Source};
use crate::spec::ModelSpec;

/// NVML sees NVIDIA GPUs on the node.
pub const VENDOR: Check = Check {
    code: "accelerator-vendor",
    domain: Domain::Accelerator,
    summary: "the node's GPUs are the declared vendor's (NVML for nvidia, AMD SMI for amd)",
    explanation: "Compares runtime.accelerator.vendor with what NVML (NVIDIA) and AMD SMI (AMD) see; both are asked on every scan. nvidia passes when NVML lists at least one GPU, amd when AMD SMI does. A node with none of the declared vendor's GPUs and some of the other's fails (a spec for NVIDIA on an AMD node, or the reverse); the declared vendor's library running with no GPU fails; neither library answering is unknown. Other vendors are skipped.",
    pointers: &[VENDOR_PTR],
};

/// The GPUs are the declared type (family, then memory and form factor when declared).
pub const TYPE: Check = Check {
    code: "accelerator-type",
    domain: Domain::Accelerator,
    summary: "the GPUs are the declared type (family; memory and form factor when declared)",
    explanation: "Equality of GPU family between runtime.accelerator.type and every GPU's NVML name (a10 is not a10g). Memory (within 10%) and form factor (pcie, sxm, nvl) are compared only when the declared type names them. For vendor: amd, every GPU AMD SMI lists (a GCD of an MI250X, a partition of an MI300X) is found in the AMD catalogue by its market name, else by a PCI id one product has; memory per GPU is compared when the type declares it (mi300x-192gb).",
    pointers: &[TYPE_PTR],
};

/// At least the declared number of usable GPUs.
pub const COUNT: Check = Check {
    code: "accelerator-count",
    domain: Domain::Accelerator,
    summary: "at least the declared number of usable GPUs",
    explanation: "Bound: the GPUs holding a process of the serving process tree (NVML compute processes, or AMD SMI's process list for vendor: amd, joined with the host probe's process tree, across PID namespaces) must be at least runtime.accelerator.count. When nothing can be attributed, usable visible GPUs are counted instead, and the evidence says which rule applied. AMD GPUs count as AMD SMI lists them: an MI250X is two, an MI300X in CPX mode eight.",
    pointers: &[COUNT_PTR],
};

/// The declared precision runs natively on every GPU (compute capability).
pub const PRECISION: Check = Check {
    code: "accelerator-precision",
    domain: Domain::Accelerator,
    summary: "the declared precision runs natively on every GPU (compute capability, or AMD graphics target)",
    explanation: "The declared identity.model.precision must run natively on every GPU: bf16 needs compute capability 8.0, fp8 8.9, fp4 10.0 (NVML compute capability). For vendor: amd, the graphics target AMD SMI reports (else the catalogue's for the product): bf16 on every CDNA (gfx908 and later), fp8 from CDNA3 (gfx942: MI300 series), fp4 from CDNA4 (gfx950).",
    pointers: &[PRECISION_PTR],
};

/// MIG is on (or pending) exactly where the declared type names a MIG profile.
pub const MIG: Check = Check {
    code: "accelerator-mig",
    domain: Domain::Accelerator,
    summary: "MIG (NVIDIA) or compute partitions (AMD) only when the declared type names them",
    explanation: "A spec for whole GPUs expects MIG mode off on every GPU: MIG on, or pending (on after the next GPU reset, NVML's pending mode), is drift (fail) unless runtime.accelerator.type names a MIG profile (`<gpu>-mig-<profile>`, e.g. a100-80gb-mig-3g.40gb). A declared profile is drift when MIG is off on every GPU, or when no MIG slice has that profile; unknown when the slices cannot be read. For vendor: amd, the counterpart is the compute partition mode: a type naming none expects whole GPUs (SPX) wherever the GPUs have partitions; a type naming one (mi300x-cpx, mi300x-cpx-nps4) expects that compute (and memory) mode on every GPU, and fails on GPUs without partitions.",
    pointers: &[TYPE_PTR],
};

/// No other process shares the GPUs the serving process holds.
pub const SHARED: Check = Check {
    code: "gpu-shared",
    domain: Domain::Accelerator,
    summary: "no process outside the serving process tree on the GPUs it holds",
    explanation: "Warns when processes outside the serving process tree run on the GPUs it holds (NVML compute processes, or AMD SMI's process list for vendor: amd), naming each pid and its memory.",
    pointers: &[COUNT_PTR],
};

/// The serving command line's parallelism (tensor × pipeline) matches the declared count.
pub const PARALLELISM: Check = Check {
    code: "accelerator-parallelism",
    domain: Domain::Accelerator,
    summary: "tensor × pipeline parallel size on the serving command line equals the declared count",
    explanation: "Equality: tensor-parallel size x pipeline-parallel size the engine runs with must equal runtime.accelerator.count. Read by the engine readers (one parser: the last occurrence of a flag wins, --tensor_parallel_size equals --tensor-parallel-size): vLLM and NIM --tensor-parallel-size/-tp, --pipeline-parallel-size/-pp; SGLang /server_info tp_size/pp_size, else --tp-size/--tp, --pp-size/--pp; TGI --num-shard or NUM_SHARD; TensorRT-LLM --tp_size/--pp_size. No finding when neither is stated (engine defaults only).",
    pointers: &[COUNT_PTR],
};

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

/// The GPUs that answer NVML (a lost one is not there to serve from).
pub(crate) fn usable(devices: &[DeviceFacts]) -> impl Iterator<Item = &DeviceFacts> {
    devices.iter().filter(|d| !d.lost)
}

pub(crate) fn check(
    spec: &ModelSpec,
    observation: &Observation,
    resolution: &super::target::Resolution,
    engine: &Result<EngineView, Unseen>,
    out: &mut Vec<Finding>,
) {
    let accelerator = &spec.spec.runtime.accelerator;
    let precision = spec.spec.identity.model.precision.as_deref();
    let b = |check: &Check, pointer: &str| FindingBuilder::new(check, pointer);

    let vendor_word = accelerator.vendor.trim().to_ascii_lowercase();
    if vendor_word == "amd" {
        let amd = amd_view(observation);
        out.push(vendor_finding(&accelerator.vendor, &view(observation), &amd));
        let devices = match amd {
            AmdView::Devices(devices) => Ok(devices),
            AmdView::Unseen(reason) => Err(reason),
        };
        super::amd::check(spec, devices, resolution.process(), engine, out);
        return;
    }
    if vendor_word != "nvidia" {
        out.push(b(&VENDOR, VENDOR_PTR).declared(accelerator.vendor.as_str()).status(
            Status::Skip,
            format!(
                "NVIDIA GPUs are observed through NVML and AMD GPUs through AMD SMI; vendor {:?} is not checked",
                accelerator.vendor
            ),
        ));
        let why = format!("vendor {:?} is not observed on a node", accelerator.vendor);
        for (code, pointer, declared) in [
            (&TYPE, TYPE_PTR, json!(accelerator.kind)),
            (&COUNT, COUNT_PTR, json!(accelerator.count)),
        ] {
            out.push(b(code, pointer).declared(declared).status(Status::Skip, why.clone()));
        }
        if let Some(p) = precision {
            out.push(b(&PRECISION, PRECISION_PTR).declared(p).status(Status::Skip, why));
        }
        return;
    }

    let devices = match view(observation) {
        GpuView::Devices(devices) => devices,
        GpuView::Unseen(reason) => {
            let msg = format!("not observed: {reason}");
            // NVML unseen is unknown, unless AMD SMI shows the node's GPUs are AMD's.
            out.push(vendor_finding(
                &accelerator.vendor,
                &GpuView::Unseen(reason.clone()),
                &amd_view(observation),
            ));
            unseen(spec, &msg, out);
            return;
        }
    };

    let serving = resolution.process();
    let attribution = serving.and_then(|s| attribute(devices, s));
    out.push(vendor_finding(
        &accelerator.vendor,
        &GpuView::Devices(devices),
        &amd_view(observation),
    ));
    out.push(gpu_type(&accelerator.kind, devices));
    out.push(count(
        accelerator.count,
        &Listed::nvml(devices),
        serving,
        attribution.as_ref(),
    ));
    out.push(shared(serving, attribution.as_ref(), "NVML", "nvml"));
    if let Some(f) = parallelism_of(accelerator.count, engine, serving) {
        out.push(f);
    }
    if let Some(p) = precision {
        out.push(precision_check(p, devices));
    }
    out.push(mig(&accelerator.kind, devices));
}

fn names(devices: &[DeviceFacts]) -> Json {
    Json::Array(
        devices
            .iter()
            .map(|d| json!({"index": d.index, "name": d.name.value(), "memory_total_mib": d.memory.value().map(|m| m.total_mib), "lost": d.lost}))
            .collect(),
    )
}

/// Every accelerator finding but the vendor's, unknown for one reason (the GPUs were not seen).
pub(crate) fn unseen(spec: &ModelSpec, msg: &str, out: &mut Vec<Finding>) {
    let accelerator = &spec.spec.runtime.accelerator;
    let b = |check: &Check, pointer: &str| FindingBuilder::new(check, pointer);
    out.push(
        b(&TYPE, TYPE_PTR)
            .declared(accelerator.kind.as_str())
            .status(Status::Unknown, msg),
    );
    out.push(
        b(&COUNT, COUNT_PTR)
            .declared(accelerator.count)
            .status(Status::Unknown, msg),
    );
    if let Some(p) = spec.spec.identity.model.precision.as_deref() {
        out.push(b(&PRECISION, PRECISION_PTR).declared(p).status(Status::Unknown, msg));
    }
    out.push(b(&MIG, TYPE_PTR).status(Status::Unknown, msg));
    out.push(b(&SHARED, COUNT_PTR).status(Status::Unknown, msg));
}

/// What the AMD GPU probe lets the checks see.
pub(crate) enum AmdView<'a> {
    Unseen(String),
    Devices(&'a [AmdDevice]),
}

pub(crate) fn amd_view(observation: &Observation) -> AmdView<'_> {
    match &observation.amd {
        ProbeOutcome::NotRun { reason } => AmdView::Unseen(format!("the AMD GPU probe did not run: {reason}")),
        ProbeOutcome::TimedOut { budget_ms, .. } => {
            AmdView::Unseen(format!("the AMD GPU probe did not answer within {budget_ms} ms"))
        }
        ProbeOutcome::Observed { snapshot, .. } => match &snapshot.amdsmi {
            AmdSmiState::Unavailable { message, .. } => AmdView::Unseen(message.clone()),
            AmdSmiState::Available { devices, .. } => AmdView::Devices(devices),
        },
    }
}

/// The declared vendor against both: NVML's NVIDIA GPUs and AMD SMI's AMD GPUs. The declared
/// vendor's GPUs pass; none of them while the other vendor's are there fails (a spec for one on
/// a node of the other); neither library seeing anything is unknown.
fn vendor_finding(declared: &str, nvidia: &GpuView<'_>, amd: &AmdView<'_>) -> Finding {
    let nvidia_names: Option<Vec<String>> = match nvidia {
        GpuView::Devices(d) => Some(
            d.iter()
                .map(|d| d.name.value().cloned().unwrap_or_else(|| "an NVIDIA GPU".into()))
                .collect(),
        ),
        GpuView::Unseen(_) => None,
    };
    let amd_names: Option<Vec<String>> = match amd {
        AmdView::Devices(d) => Some(
            d.iter()
                .map(|d| d.market_name.value().cloned().unwrap_or_else(|| "an AMD GPU".into()))
                .collect(),
        ),
        AmdView::Unseen(_) => None,
    };
    let reason = |view_reason: Option<&String>| view_reason.cloned().unwrap_or_default();
    let nvidia_reason = reason(match nvidia {
        GpuView::Unseen(r) => Some(r),
        GpuView::Devices(_) => None,
    });
    let amd_reason = reason(match amd {
        AmdView::Unseen(r) => Some(r),
        AmdView::Devices(_) => None,
    });
    let amd_declared = declared.trim().eq_ignore_ascii_case("amd");
    let (own, own_word, own_lib, other, other_word, other_lib, own_reason) = if amd_declared {
        (
            &amd_names,
            "AMD",
            "AMD SMI",
            &nvidia_names,
            "NVIDIA",
            "NVML",
            &amd_reason,
        )
    } else {
        (
            &nvidia_names,
            "NVIDIA",
            "NVML",
            &amd_names,
            "AMD",
            "AMD SMI",
            &nvidia_reason,
        )
    };
    let count = |names: &Option<Vec<String>>| names.as_ref().map_or(0, Vec::len);
    let observed = match (count(&nvidia_names), count(&amd_names)) {
        (0, 0) => Json::Null,
        (_, 0) => json!("nvidia"),
        (0, _) => json!("amd"),
        _ => json!(["nvidia", "amd"]),
    };
    let b = FindingBuilder::new(&VENDOR, VENDOR_PTR)
        .declared(declared)
        .observed(observed)
        .evidence(
            if amd_declared { "amdsmi+nvml" } else { "nvml+amdsmi" },
            json!({"nvml": {"gpus": nvidia_names, "unseen": (!nvidia_reason.is_empty()).then_some(&nvidia_reason)}, "amdsmi": {"gpus": amd_names, "unseen": (!amd_reason.is_empty()).then_some(&amd_reason)}}),
            "the declared vendor's library reports at least one GPU, and the node is not the other vendor's",
        );
    let summary = |names: &[String]| {
        let mut kinds: Vec<&String> = names.iter().collect();
        kinds.dedup();
        format!(
            "{} × {}",
            names.len(),
            kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        )
    };
    match (own, other) {
        (Some(mine), _) if !mine.is_empty() => {
            b.status(Status::Pass, format!("{own_lib} reports {} {own_word} GPU(s)", mine.len()))
        }
        (_, Some(theirs)) if !theirs.is_empty() => b
            .remediation(format!(
                "run this model on a node with {own_word} GPUs, or declare vendor: {} with the type of these GPUs",
                other_word.to_ascii_lowercase()
            ))
            .status(
                Status::Fail,
                format!(
                    "declared {own_word}, but the node's GPUs are {other_word}'s: {} ({other_lib})",
                    summary(theirs)
                ),
            ),
        (Some(_), _) => b
            .remediation(if amd_declared {
                "check `amd-smi list`: the driver runs but shows no GPU (passthrough, /dev/kfd and /dev/dri in the container, HIP_VISIBLE_DEVICES?)"
            } else {
                "check `nvidia-smi`: the driver runs but sees no GPU (passthrough, cgroup or CUDA_VISIBLE_DEVICES?)"
            })
            .status(Status::Fail, format!("{own_lib} runs but reports no {own_word} GPU")),
        (None, _) => b.status(Status::Unknown, format!("not observed: {own_reason}")),
    }
}

fn gpu_type(declared: &str, devices: &[DeviceFacts]) -> Finding {
    let mut observed_names: Vec<String> = Vec::new();
    for name in usable(devices).filter_map(|d| d.name.value()) {
        if !observed_names.contains(name) {
            observed_names.push(name.clone());
        }
    }
    let b = FindingBuilder::new(&TYPE, TYPE_PTR)
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

/// The GPUs a vendor's library lists, for the count: which library, how many, how many usable.
pub(crate) struct Listed {
    /// `NVML`, `AMD SMI`.
    pub library: &'static str,
    /// The evidence's probe: `nvml`, `amdsmi`.
    pub probe: &'static str,
    pub visible: usize,
    pub usable: u64,
}

impl Listed {
    fn nvml(devices: &[DeviceFacts]) -> Listed {
        Listed {
            library: "NVML",
            probe: "nvml",
            visible: devices.len(),
            usable: usable(devices).count() as u64,
        }
    }
}

pub(crate) fn count(
    declared: u64,
    listed: &Listed,
    serving: Option<&ServingProcess>,
    attribution: Option<&Attribution>,
) -> Finding {
    if let (Some(process), Some(a)) = (serving, attribution)
        && !a.held.is_empty()
    {
        let held = a.held.len() as u64;
        let indices: Vec<u32> = a.held.iter().map(|g| g.index).collect();
        let b = FindingBuilder::new(&COUNT, COUNT_PTR)
            .declared(declared)
            .observed(held)
            .evidence(
                &format!("{}+host", listed.probe),
                json!({"serving_pid": process.pid, "tree": a.tree, "held_gpus": indices, "visible": listed.visible}),
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
    let usable = listed.usable;
    let lost = listed.visible as u64 - usable;
    let library = listed.library;
    let b = FindingBuilder::new(&COUNT, COUNT_PTR)
        .declared(declared)
        .observed(usable)
        .evidence(
            listed.probe,
            json!({"visible": listed.visible, "lost": lost, "serving_pid": serving.map(|s| s.pid)}),
            &if serving.is_some() {
                format!("usable GPUs visible to {library} must be at least the declared count (the serving process holds none that {library} lists: in a container {library} may report host pids)")
            } else {
                format!("usable GPUs visible to {library} must be at least the declared count (no serving process found to attribute GPUs to)")
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

/// [`parallelism`] from the engine's own reading of its parallelism (one parser:
/// runtime/argv.rs, where the last occurrence wins and `_` equals `-`); from the process alone
/// when the endpoint was not asked.
pub(crate) fn parallelism_of(
    declared: u64,
    engine: &Result<EngineView, Unseen>,
    serving: Option<&ServingProcess>,
) -> Option<Finding> {
    let from_process = match engine {
        Ok(v) if v.engine().is_some() => None,
        _ => serving.and_then(super::engine::process_view),
    };
    let facts = match (engine, &from_process) {
        (_, Some(v)) => Some(&v.facts),
        (Ok(v), None) if v.engine().is_some() => Some(&v.facts),
        _ => None,
    };
    facts.and_then(|facts| parallelism(declared, facts, serving))
}

/// Tensor × pipeline parallelism as the engine states it; `None` when neither is stated (an
/// engine default alone is no statement: the count check judges the GPUs actually held).
fn parallelism(declared: u64, facts: &EngineFacts, serving: Option<&ServingProcess>) -> Option<Finding> {
    let stated = |f: &Option<Fact<u64>>| {
        f.as_ref()
            .filter(|f| !matches!(f.source, Source::Default { .. }))
            .is_some()
    };
    if !stated(&facts.tensor_parallel) && !stated(&facts.pipeline_parallel) {
        return None;
    }
    let tensor = facts.tensor_parallel.as_ref().map_or(1, |f| f.value);
    let pipeline = facts.pipeline_parallel.as_ref().map_or(1, |f| f.value);
    let source = |f: &Option<Fact<u64>>| f.as_ref().map(|f| f.source.describe());
    let gpus = tensor.saturating_mul(pipeline);
    let asked = [&facts.tensor_parallel, &facts.pipeline_parallel]
        .iter()
        .any(|f| matches!(f.as_ref().map(|f| &f.source), Some(Source::Endpoint { .. })));
    let b = FindingBuilder::new(&PARALLELISM, COUNT_PTR)
        .declared(declared)
        .observed(gpus)
        .evidence(
            if asked { "http+host" } else { "host" },
            json!({
                "pid": serving.map(|s| s.pid),
                "tensor_parallel": tensor,
                "tensor_parallel_from": source(&facts.tensor_parallel),
                "pipeline_parallel": pipeline,
                "pipeline_parallel_from": source(&facts.pipeline_parallel),
            }),
            "tensor-parallel size × pipeline-parallel size the engine runs with equals the declared count",
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

pub(crate) fn shared(
    serving: Option<&ServingProcess>,
    attribution: Option<&Attribution>,
    library: &str,
    probe: &str,
) -> Finding {
    let b = FindingBuilder::new(&SHARED, COUNT_PTR);
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
            format!(
                "the serving process (pid {}) holds no GPU that {library} lists",
                process.pid
            ),
        );
    }
    let raw: Vec<Json> = a
        .neighbours
        .iter()
        .map(|n| json!({"gpu": n.gpu, "pid": n.pid, "used_mib": n.used_mib}))
        .collect();
    let b = b.observed(json!(raw)).evidence(
        &format!("{probe}+host"),
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

/// The declared precision, with the finding's builder; or the finding itself when there is
/// nothing to compare (`auto` skips, an unknown spelling is unknown).
pub(crate) fn declared_precision(declared: &str) -> Result<(FindingBuilder, Precision), Box<Finding>> {
    let b = FindingBuilder::new(&PRECISION, PRECISION_PTR).declared(declared);
    match Precision::parse(declared) {
        PrecisionSpelling::Known(p) => Ok((b, p)),
        PrecisionSpelling::Auto => Err(Box::new(b.status(
            Status::Skip,
            "precision `auto`: the serving engine picks, nothing to check here",
        ))),
        PrecisionSpelling::Unknown => Err(Box::new(b.status(
            Status::Unknown,
            format!("precision {declared:?} is not one we know, so it cannot be checked"),
        ))),
    }
}

fn precision_check(declared: &str, devices: &[DeviceFacts]) -> Finding {
    let (b, precision) = match declared_precision(declared) {
        Ok(known) => known,
        Err(finding) => return *finding,
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

fn mig(declared_type: &str, devices: &[DeviceFacts]) -> Finding {
    // A type naming a MIG profile (`a100-80gb-mig-3g.40gb`) asks for MIG slices; any other asks
    // for whole GPUs. An unknown type is judged as whole GPUs (accelerator-type says it is unknown).
    let profile = parse_declared_type(declared_type).ok().and_then(|d| d.mig_profile);
    let mut raw = Vec::new();
    let mut current = Vec::new();
    let mut pending = Vec::new();
    let mut slices: Vec<String> = Vec::new();
    let mut slices_unread = false;
    let mut unseen = 0;
    for d in usable(devices) {
        match (&d.mig.mode.value(), d.mig.mode.is_unsupported()) {
            (Some(mode), _) => {
                let profiles: Option<Vec<String>> = d
                    .mig
                    .instances
                    .value()
                    .map(|i| i.iter().filter_map(|m| m.profile.clone()).collect());
                raw.push(json!({"index": d.index, "current": mode.current_enabled, "pending": mode.pending_enabled, "profiles": profiles}));
                if mode.current_enabled {
                    current.push(d.index);
                    match profiles {
                        Some(p) => slices.extend(p),
                        None => slices_unread = true,
                    }
                }
                if mode.pending_enabled && !mode.current_enabled {
                    pending.push(d.index);
                }
            }
            (None, true) => raw.push(json!({"index": d.index, "current": "not supported"})),
            (None, false) => unseen += 1,
        }
    }
    let b = FindingBuilder::new(&MIG, TYPE_PTR)
        .declared(match &profile {
            Some(p) => json!(format!("MIG profile {p}")),
            None => json!("whole GPUs"),
        })
        .observed(if current.is_empty() && pending.is_empty() {
            json!("no MIG")
        } else {
            json!({"mig_enabled_on": current, "mig_pending_on": pending, "profiles": slices})
        })
        .evidence(
            "nvml",
            Json::Array(raw.clone()),
            if profile.is_some() {
                "a type naming a MIG profile expects MIG on, with a slice of that profile"
            } else {
                "a spec for whole GPUs expects MIG mode off"
            },
        );
    if raw.is_empty() {
        let why = if unseen > 0 {
            "no GPU reported its MIG mode"
        } else {
            "there is no usable GPU to look at"
        };
        return b.status(Status::Unknown, why);
    }
    let pending_note = if pending.is_empty() {
        String::new()
    } else {
        format!("; pending (on after the next GPU reset) for GPU(s) {pending:?}")
    };
    match profile {
        None if !current.is_empty() || !pending.is_empty() => {
            let now = if current.is_empty() {
                "MIG is off now".to_string()
            } else {
                format!("MIG is on for GPU(s) {current:?}")
            };
            b.remediation("disable MIG (`nvidia-smi -mig 0`) on these GPUs, or declare the MIG profile served from (e.g. `a100-80gb-mig-3g.40gb`)")
                .status(
                    Status::Fail,
                    format!("{now}{pending_note}; the declared type names no MIG profile, so whole GPUs are expected"),
                )
        }
        None => b.status(Status::Pass, "no GPU is split by MIG"),
        Some(p) if current.is_empty() => b
            .remediation(format!(
                "enable MIG and create {p} slices, or declare the whole-GPU type"
            ))
            .status(
                Status::Fail,
                format!("the declared type names MIG profile {p}, but MIG is off on every GPU{pending_note}"),
            ),
        Some(p) if slices.contains(&p) => b.status(
            Status::Pass,
            format!("MIG is on for GPU(s) {current:?}, with {p} slices as declared"),
        ),
        Some(p) if slices_unread => b.status(
            Status::Unknown,
            format!("MIG is on for GPU(s) {current:?}, but their slices could not be read to find {p}"),
        ),
        Some(p) => b
            .remediation(format!("create {p} slices, or declare the profile that is served from"))
            .status(
                Status::Fail,
                format!(
                    "MIG is on for GPU(s) {current:?}, with no {p} slice (slices: {})",
                    slices.join(", ")
                ),
            ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::engine::test_view;
    use crate::runtime::StaticAnswers;
    use std::collections::BTreeMap;

    /// The parallelism finding for a serving command line, judged against `declared` GPUs.
    fn judged(line: &str, declared: u64) -> Option<Finding> {
        let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
        let answers = StaticAnswers::default();
        let env = BTreeMap::new();
        let view = test_view(&answers, &argv, &env);
        parallelism(declared, &view.facts, None)
    }

    fn gpus(line: &str) -> Option<u64> {
        judged(line, 1).and_then(|f| f.observed.as_u64())
    }

    #[test]
    fn parallelism_spellings() {
        assert_eq!(gpus("vllm serve m --tensor-parallel-size 4"), Some(4));
        assert_eq!(
            gpus("vllm serve --tensor-parallel-size=2 --pipeline-parallel-size 2"),
            Some(4)
        );
        assert_eq!(gpus("python -m sglang.launch_server --tp 8"), Some(8));
        assert_eq!(gpus("python -m sglang.launch_server --tp-size 2 --pp-size 2"), Some(4));
        assert_eq!(gpus("text-generation-launcher --num-shard 2"), Some(2));
        assert_eq!(gpus("trtllm-serve /engines/m --tp_size 2 --pp_size 2"), Some(4));
        // Nothing stated (engine defaults only): no finding.
        assert_eq!(judged("vllm serve m --max-model-len 4096", 1), None);
        assert_eq!(judged("vllm serve m --tensor-parallel-size", 1), None);
        // `--tpx` is not `--tp`.
        assert_eq!(judged("python -m sglang.launch_server --tpx=3", 1), None);
    }

    /// Regression: the check parsed the command line itself, took the first occurrence and
    /// told `_` from `-`, so `--tensor_parallel_size 4` gave no finding. The engines' parser
    /// reads argparse's spellings and takes the last occurrence.
    #[test]
    fn parallelism_reads_the_engines_parser() {
        let f = judged("vllm serve m --tensor_parallel_size 4", 1).expect("a finding");
        assert_eq!(f.status, Status::Fail, "{f:#?}");
        assert_eq!(f.observed, json!(4));
        assert_eq!(
            gpus("vllm serve m --tensor-parallel-size 2 --tensor_parallel_size=4"),
            Some(4)
        );
        let f = judged("vllm serve m --tensor-parallel-size 4 --tensor-parallel-size 2", 2).expect("a finding");
        assert_eq!(f.status, Status::Pass, "{f:#?}");
    }
}
