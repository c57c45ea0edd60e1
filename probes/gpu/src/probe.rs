//! Asking NVML, field by field, without letting any one answer (or a panic) sink the scan.
//!
//! Shutdown: nvml-wrapper's `Drop for Nvml` calls `nvmlShutdown` through a generated method that
//! `expect`s the symbol, so a library without `nvmlShutdown` panics on drop (and would abort
//! if that drop happened while unwinding). [`NvmlSession`] owns the handle and ends it itself:
//! when the symbol exists it calls `Nvml::shutdown` (which reports errors, closes the library
//! and does not run `Drop`); when it does not, it `mem::forget`s the handle, leaking one
//! loaded library rather than crashing. The whole probe also runs under `catch_unwind`.

use std::cell::Cell;
use std::ffi::{OsStr, OsString};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use nvml_wrapper::enum_wrappers::device::{ComputeMode as NvmlComputeMode, EccCounter, MemoryError, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};
use nvml_wrapper_sys::bindings::{self, NVML_DEVICE_MIG_ENABLE, nvmlReturn_enum_NVML_ERROR_ARGUMENT_VERSION_MISMATCH};

use crate::observed::{Failure, Observed, describe_nvml_error};
use crate::raw;
use crate::snapshot::{
    ClockEventReasons, ComputeCapability, ComputeMode, ComputeProcess, CudaDriverVersion, DeviceFacts, EccFacts,
    EccMode, FabricFacts, FabricState, GpuSnapshot, LibraryChoice, LibraryChosenBy, MemoryMib, MigFacts, MigInstance,
    MigMode, NvmlState, PciIdentity, PcieLink, Power, PowerLimits, RemappedRows, SystemFacts, UnavailableReason,
    Utilization,
};
use crate::xid::{Registration, XidWatch};
use modelspec_probe_support::format_rfc3339_utc;

/// The library asked when nothing else is given, through the normal loader search.
pub const DEFAULT_LIBRARY: &str = "libnvidia-ml.so.1";

/// Environment variable naming the NVML library when no explicit path is given.
pub const LIBRARY_ENV: &str = "MODELSPEC_NVML_LIB";

/// The value `source` always has.
pub const SOURCE: &str = "nvml";

const BYTES_PER_MIB: u64 = 1024 * 1024;

/// How to probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuProbeOptions {
    /// The NVML library to load (`--nvml-lib PATH`); else `MODELSPEC_NVML_LIB`, else
    /// `libnvidia-ml.so.1` through the loader search.
    pub library: Option<PathBuf>,
    /// How XID errors are watched for (see the `xid` module).
    pub xid: XidWatch,
}

impl GpuProbeOptions {
    /// The library this probe will load, and why.
    pub fn library_to_load(&self) -> (OsString, LibraryChosenBy) {
        modelspec_probe_support::library_to_load(self.library.as_deref(), LIBRARY_ENV, DEFAULT_LIBRARY)
    }
}

/// Reads every GPU on this node through NVML. Never panics and never fails: what could not be
/// read is described in the snapshot.
///
/// A panic inside (a bug here or in nvml-wrapper) becomes `Unavailable { reason: Other }`;
/// the panic hook still prints it to stderr.
///
/// NVML is process-global; concurrent calls are safe for NVML itself but each loads and
/// initializes the library again, so callers should probe once per scan.
pub fn probe(options: &GpuProbeOptions) -> GpuSnapshot {
    let observed_at = format_rfc3339_utc(SystemTime::now());
    let started = Instant::now();
    let (library, chosen_by) = options.library_to_load();

    let outcome = panic::catch_unwind(AssertUnwindSafe(|| read_nvml(&library, chosen_by, &options.xid)));
    let (nvml, resolved_path) = outcome.unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|message| (*message).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        let state = NvmlState::Unavailable {
            reason: UnavailableReason::Other,
            message: format!("the GPU probe failed unexpectedly while talking to NVML (panic: {detail})"),
        };
        (state, None)
    });

    GpuSnapshot {
        source: SOURCE.to_owned(),
        library: LibraryChoice {
            path: library.to_string_lossy().into_owned(),
            chosen_by,
            resolved_path,
        },
        observed_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        nvml,
    }
}

/// Loads and initializes NVML, reads the node, shuts NVML down.
fn read_nvml(library: &OsStr, chosen_by: LibraryChosenBy, xid: &XidWatch) -> (NvmlState, Option<String>) {
    let nvml = match Nvml::builder().lib_path(library).init() {
        Ok(nvml) => nvml,
        Err(error) => return (unavailable(&error, library, chosen_by), None),
    };
    let session = NvmlSession { nvml: Some(nvml) };
    let resolved_path = resolve_loaded_library(Path::new(library));
    let state = match &session.nvml {
        Some(nvml) => read_node_watching(nvml, xid),
        // Cannot happen: the session was built with the handle just above.
        None => NvmlState::Unavailable {
            reason: UnavailableReason::Other,
            message: "internal error: the NVML handle was released before reading".to_owned(),
        },
    };
    drop(session);
    (state, resolved_path)
}

/// Owns the `Nvml` handle and shuts it down without ever panicking (see the module docs).
pub(crate) struct NvmlSession {
    pub(crate) nvml: Option<Nvml>,
}

impl Drop for NvmlSession {
    fn drop(&mut self) {
        if let Some(nvml) = self.nvml.take() {
            if nvml.lib().nvmlShutdown.is_ok() {
                // Errors from nvmlShutdown change nothing we saw; on error nvml-wrapper drops
                // the handle, which calls the (present) nvmlShutdown once more, harmlessly.
                let _ = nvml.shutdown();
            } else {
                std::mem::forget(nvml);
            }
        }
    }
}

/// Why NVML is unusable, in words that say what to do.
fn unavailable(error: &NvmlError, library: &OsStr, chosen_by: LibraryChosenBy) -> NvmlState {
    let shown = library.to_string_lossy();
    let (reason, message) = match error {
        NvmlError::LibloadingError(detail) => {
            let message = match chosen_by {
                LibraryChosenBy::LoaderSearch => format!(
                    "{shown} not found: no NVIDIA driver installed on this node, or the library is not in the \
                     loader path; pass --nvml-lib ({detail})"
                ),
                LibraryChosenBy::Option => {
                    format!("the NVML library given with --nvml-lib could not be loaded: {detail}")
                }
                LibraryChosenBy::Environment => {
                    format!("the NVML library named by {LIBRARY_ENV} could not be loaded: {detail}")
                }
            };
            (UnavailableReason::NoLibrary, message)
        }
        NvmlError::FailedToLoadSymbol(detail) => (
            UnavailableReason::InitFailed,
            format!("{shown} is not a usable NVML library: it has no nvmlInit_v2 ({detail})"),
        ),
        NvmlError::DriverNotLoaded => (
            UnavailableReason::DriverNotLoaded,
            "the NVIDIA kernel driver is not loaded (NVML_ERROR_DRIVER_NOT_LOADED): the library is installed but \
             the driver is not running; check `lsmod | grep nvidia` and `dmesg`"
                .to_owned(),
        ),
        NvmlError::NoPermission => (
            UnavailableReason::NoPermission,
            "permission denied talking to the NVIDIA driver (NVML_ERROR_NO_PERMISSION): run as a user with access \
             to /dev/nvidia*"
                .to_owned(),
        ),
        other => (
            UnavailableReason::InitFailed,
            format!("NVML failed to initialize: {}", describe_nvml_error(other)),
        ),
    };
    NvmlState::Unavailable { reason, message }
}

/// The file the loader actually mapped for `requested`, from `/proc/self/maps`.
fn resolve_loaded_library(requested: &Path) -> Option<String> {
    if requested.components().count() > 1 {
        return std::fs::canonicalize(requested)
            .ok()
            .map(|path| path.to_string_lossy().into_owned());
    }
    // A bare name such as libnvidia-ml.so.1: look for a mapped file with the same stem.
    let name = requested.to_str()?;
    let stem = name.split(".so").next().filter(|stem| !stem.is_empty())?;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| {
            Path::new(path)
                .file_name()
                .and_then(|file| file.to_str())
                .is_some_and(|file| file.starts_with(stem) && file[stem.len()..].starts_with(".so"))
        })
        .map(str::to_owned)
}

/// Reads the node, with each GPU's XID record: from a watch begun before the reading (and
/// lasting at least as long as asked), or from a longer-running watcher.
fn read_node_watching(nvml: &Nvml, xid: &XidWatch) -> NvmlState {
    let (mut state, log) = match xid {
        XidWatch::During(at_least) => {
            let registration = Registration::begin(nvml);
            let state = read_node(nvml);
            (state, Some(registration.collect(*at_least)))
        }
        XidWatch::From(_) => (read_node(nvml), None),
    };
    if let NvmlState::Available { devices, .. } = &mut state {
        for device in devices {
            device.xid = match (&log, xid) {
                (Some(log), _) => log.facts(device.index),
                (None, XidWatch::From(watcher)) => watcher.facts(device.index),
                (None, XidWatch::During(_)) => Observed::Error {
                    reason: "internal error: no XID record".into(),
                },
            };
        }
    }
    state
}

fn read_node(nvml: &Nvml) -> NvmlState {
    let system = SystemFacts {
        driver_version: Observed::from_nvml(nvml.sys_driver_version()),
        cuda_driver_version: Observed::from_nvml(nvml.sys_cuda_driver_version()).map(CudaDriverVersion::from_raw),
        nvml_version: Observed::from_nvml(nvml.sys_nvml_version()),
    };
    let device_count = Observed::from_nvml(nvml.device_count());
    let count = device_count.value().copied().unwrap_or(0);
    let devices = (0..count).map(|index| read_device(nvml, index)).collect();
    NvmlState::Available {
        system,
        device_count,
        devices,
    }
}

fn read_device(nvml: &Nvml, index: u32) -> DeviceFacts {
    match nvml.device_by_index(index) {
        Ok(device) => DeviceReader {
            nvml,
            device,
            lost: Cell::new(false),
        }
        .read(index),
        Err(error) => unreachable_device(index, Failure::from_nvml(&error).context("the GPU could not be opened")),
    }
}

/// A device whose handle NVML would not give: every field carries the same failure.
fn unreachable_device(index: u32, failure: Failure) -> DeviceFacts {
    DeviceFacts {
        index,
        lost: failure.gpu_lost,
        name: failure.to_observed(),
        uuid: failure.to_observed(),
        pci: failure.to_observed(),
        memory: failure.to_observed(),
        compute_capability: failure.to_observed(),
        mig: MigFacts {
            mode: failure.to_observed(),
            instances: failure.to_observed(),
        },
        ecc: EccFacts {
            mode: failure.to_observed(),
            uncorrected_volatile: failure.to_observed(),
            uncorrected_aggregate: failure.to_observed(),
        },
        retired_pages_pending: failure.to_observed(),
        remapped_rows: failure.to_observed(),
        persistence_mode: failure.to_observed(),
        compute_mode: failure.to_observed(),
        power_limit: PowerLimits {
            enforced: failure.to_observed(),
            default: failure.to_observed(),
        },
        clock_event_reasons: failure.to_observed(),
        pcie_link: PcieLink {
            current_gen: failure.to_observed(),
            current_width: failure.to_observed(),
            max_gen: failure.to_observed(),
            max_width: failure.to_observed(),
        },
        temperature_c: failure.to_observed(),
        utilization: failure.to_observed(),
        compute_processes: failure.to_observed(),
        fabric: failure.to_observed(),
        cpu_affinity: failure.to_observed(),
        numa_node: failure.to_observed(),
        xid: failure.to_observed(),
    }
}

/// Words of CPU mask asked for: 64 bits each, 1,024 CPUs in all (the largest nodes have 384).
const AFFINITY_WORDS: usize = 16;

/// The CPU ids set in an affinity mask of `c_ulong` words.
fn cpu_ids(words: &[std::os::raw::c_ulong]) -> Vec<u32> {
    let bits = std::os::raw::c_ulong::BITS;
    let mut ids = Vec::new();
    for (w, word) in words.iter().enumerate() {
        for bit in 0..bits {
            if word >> bit & 1 == 1 {
                ids.push(w as u32 * bits + bit);
            }
        }
    }
    ids
}

/// NVML's name for a return code (`success`, `NVML_ERROR_...` as nvml-wrapper words it).
fn return_name(code: u32) -> String {
    if code == bindings::nvmlReturn_enum_NVML_SUCCESS {
        return "success".into();
    }
    match nvml_wrapper::error::nvml_try(code) {
        Ok(()) => "success".into(),
        Err(error) => format!("{error} (NVML return code {code})"),
    }
}

/// Reads one device, remembering whether any answer said the GPU is lost.
struct DeviceReader<'nvml> {
    nvml: &'nvml Nvml,
    device: Device<'nvml>,
    lost: Cell<bool>,
}

impl DeviceReader<'_> {
    fn observe<T>(&self, result: Result<T, NvmlError>) -> Observed<T> {
        match result {
            Ok(value) => Observed::Ok { value },
            Err(error) => self.fail(Failure::from_nvml(&error)),
        }
    }

    fn fail<T>(&self, failure: Failure) -> Observed<T> {
        if failure.gpu_lost {
            self.lost.set(true);
        }
        failure.into_observed()
    }

    fn read(self, index: u32) -> DeviceFacts {
        let device = &self.device;
        let mut facts = DeviceFacts {
            index,
            lost: false,
            name: self.observe(device.name()),
            uuid: self.observe(device.uuid()),
            pci: self.observe(device.pci_info()).map(|pci| PciIdentity {
                device_id_hex: format!("{:#010x}", pci.pci_device_id),
                device_id: pci.pci_device_id,
                bus_id: pci.bus_id,
            }),
            memory: self.read_memory(device),
            compute_capability: self
                .observe(device.cuda_compute_capability())
                .map(|cc| ComputeCapability {
                    major: cc.major,
                    minor: cc.minor,
                }),
            mig: self.read_mig(),
            ecc: EccFacts {
                mode: self.observe(device.is_ecc_enabled()).map(|ecc| EccMode {
                    current_enabled: ecc.currently_enabled,
                    pending_enabled: ecc.pending_enabled,
                }),
                uncorrected_volatile: self
                    .observe(device.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile)),
                uncorrected_aggregate: self
                    .observe(device.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Aggregate)),
            },
            retired_pages_pending: self.observe(device.are_pages_pending_retired()),
            remapped_rows: self
                .observe(raw::remapped_rows(self.nvml, device))
                .map(|rows| RemappedRows {
                    correctable: rows.correctable,
                    uncorrectable: rows.uncorrectable,
                    pending: rows.pending,
                    failed: rows.failed,
                }),
            persistence_mode: self.observe(device.is_in_persistent_mode()),
            compute_mode: self.observe(device.compute_mode()).map(|mode| match mode {
                NvmlComputeMode::Default => ComputeMode::Default,
                NvmlComputeMode::ExclusiveThread => ComputeMode::ExclusiveThread,
                NvmlComputeMode::Prohibited => ComputeMode::Prohibited,
                NvmlComputeMode::ExclusiveProcess => ComputeMode::ExclusiveProcess,
            }),
            power_limit: PowerLimits {
                enforced: self.observe(device.enforced_power_limit()).map(Power::from_milliwatts),
                default: self
                    .observe(device.power_management_limit_default())
                    .map(Power::from_milliwatts),
            },
            clock_event_reasons: self.observe(raw::clock_event_reasons(self.nvml, device)).map(|mask| {
                ClockEventReasons {
                    active: clock_event_reason_names(mask),
                    raw_mask: mask,
                }
            }),
            pcie_link: PcieLink {
                current_gen: self.observe(device.current_pcie_link_gen()),
                current_width: self.observe(device.current_pcie_link_width()),
                max_gen: self.observe(device.max_pcie_link_gen()),
                max_width: self.observe(device.max_pcie_link_width()),
            },
            temperature_c: self.observe(device.temperature(TemperatureSensor::Gpu)),
            utilization: self.observe(device.utilization_rates()).map(|rates| Utilization {
                gpu_percent: rates.gpu,
                memory_percent: rates.memory,
            }),
            compute_processes: self.read_compute_processes(),
            fabric: self.observe(raw::fabric_info(self.nvml, device)).map(|f| FabricFacts {
                state: match u32::from(f.state) {
                    bindings::NVML_GPU_FABRIC_STATE_NOT_SUPPORTED => FabricState::NotSupported,
                    bindings::NVML_GPU_FABRIC_STATE_NOT_STARTED => FabricState::NotStarted,
                    bindings::NVML_GPU_FABRIC_STATE_IN_PROGRESS => FabricState::InProgress,
                    bindings::NVML_GPU_FABRIC_STATE_COMPLETED => FabricState::Completed,
                    _ => FabricState::Other,
                },
                status: return_name(f.status),
                status_code: f.status,
                clique_id: f.clique_id,
                cluster_uuid: f.cluster_uuid.iter().map(|b| format!("{b:02x}")).collect(),
            }),
            cpu_affinity: self
                .observe(device.cpu_affinity(AFFINITY_WORDS))
                .map(|words| cpu_ids(&words)),
            numa_node: self.observe(device.numa_node_id()),
            // Filled in from the node's XID watch.
            xid: Observed::Error {
                reason: "not watched".into(),
            },
        };
        facts.lost = self.lost.get();
        facts
    }

    /// `nvmlDeviceGetMemoryInfo_v2`, else the v1 function older drivers have.
    fn read_memory(&self, device: &Device) -> Observed<MemoryMib> {
        let newer = match device.memory_info() {
            Ok(memory) => {
                return Observed::Ok {
                    value: MemoryMib {
                        total_mib: memory.total / BYTES_PER_MIB,
                        used_mib: memory.used / BYTES_PER_MIB,
                        free_mib: memory.free / BYTES_PER_MIB,
                        reserved_mib: Some(memory.reserved / BYTES_PER_MIB),
                        read_with: "nvmlDeviceGetMemoryInfo_v2".to_owned(),
                    },
                };
            }
            Err(error) if older_version_may_work(&error) => error,
            Err(error) => return self.observe(Err(error)),
        };
        match raw::memory_info_v1(self.nvml, device) {
            Ok(memory) => Observed::Ok {
                value: MemoryMib {
                    total_mib: memory.total / BYTES_PER_MIB,
                    used_mib: memory.used / BYTES_PER_MIB,
                    free_mib: memory.free / BYTES_PER_MIB,
                    reserved_mib: None,
                    read_with: "nvmlDeviceGetMemoryInfo".to_owned(),
                },
            },
            Err(older) => self.fail(both_versions_failed(
                "nvmlDeviceGetMemoryInfo_v2",
                &newer,
                "nvmlDeviceGetMemoryInfo",
                &older,
            )),
        }
    }

    /// `_v3` (nvml-wrapper), else `_v2` (nvml-wrapper's legacy functions), else v1 (raw).
    fn read_compute_processes(&self) -> Observed<Vec<ComputeProcess>> {
        let device = &self.device;
        let to_snapshot = |processes: Vec<nvml_wrapper::struct_wrappers::device::ProcessInfo>| {
            processes
                .into_iter()
                .map(|process| ComputeProcess {
                    pid: process.pid,
                    used_memory_mib: match process.used_gpu_memory {
                        UsedGpuMemory::Used(bytes) => Some(bytes / BYTES_PER_MIB),
                        UsedGpuMemory::Unavailable => None,
                    },
                })
                .collect::<Vec<_>>()
        };
        let v3 = match device.running_compute_processes() {
            Ok(processes) => {
                return Observed::Ok {
                    value: to_snapshot(processes),
                };
            }
            Err(error) if older_version_may_work(&error) => error,
            Err(error) => return self.observe(Err(error)),
        };
        let v2 = match device.running_compute_processes_v2() {
            Ok(processes) => {
                return Observed::Ok {
                    value: to_snapshot(processes),
                };
            }
            Err(error) if older_version_may_work(&error) => error,
            Err(error) => return self.observe(Err(error)),
        };
        match raw::compute_processes_v1(self.nvml, device) {
            Ok(processes) => Observed::Ok {
                value: processes
                    .into_iter()
                    .map(|process| ComputeProcess {
                        pid: process.pid,
                        used_memory_mib: match UsedGpuMemory::from(process.used_gpu_memory) {
                            UsedGpuMemory::Used(bytes) => Some(bytes / BYTES_PER_MIB),
                            UsedGpuMemory::Unavailable => None,
                        },
                    })
                    .collect(),
            },
            Err(v1) => {
                let failure = both_versions_failed(
                    "nvmlDeviceGetComputeRunningProcesses_v3",
                    &v3,
                    "nvmlDeviceGetComputeRunningProcesses",
                    &v1,
                );
                let v2_words = describe_nvml_error(&v2);
                self.fail(Failure {
                    reason: format!("{}; _v2: {v2_words}", failure.reason),
                    ..failure
                })
            }
        }
    }

    fn read_mig(&self) -> MigFacts {
        let mode = self.observe(self.device.mig_mode()).map(|mode| MigMode {
            current_enabled: mode.current == NVML_DEVICE_MIG_ENABLE,
            pending_enabled: mode.pending == NVML_DEVICE_MIG_ENABLE,
        });
        let instances = match &mode {
            Observed::Ok { value } if value.current_enabled => self.read_mig_instances(),
            Observed::Ok { .. } => Observed::Ok { value: Vec::new() },
            Observed::Unsupported { reason } => Observed::Unsupported {
                reason: format!("MIG mode could not be read: {reason}"),
            },
            Observed::Error { reason } => Observed::Error {
                reason: format!("MIG mode could not be read: {reason}"),
            },
        };
        MigFacts { mode, instances }
    }

    fn read_mig_instances(&self) -> Observed<Vec<MigInstance>> {
        let slots = match self.device.mig_device_count() {
            Ok(slots) => slots,
            Err(error) => {
                return self
                    .fail(Failure::from_nvml(&error).context("the number of MIG device slots could not be read"));
            }
        };
        let mut instances = Vec::new();
        for slot in 0..slots {
            let mig = match self.device.mig_device_by_index(slot) {
                Ok(mig) => mig,
                // An empty slot.
                Err(NvmlError::NotFound | NvmlError::InvalidArg) => continue,
                Err(error) => {
                    return self
                        .fail(Failure::from_nvml(&error).context(&format!("MIG device {slot} could not be read")));
                }
            };
            let name = self.observe(mig.name());
            let profile = name.value().and_then(|name| mig_profile(name));
            instances.push(MigInstance {
                index: slot,
                profile,
                name,
                uuid: self.observe(mig.uuid()),
                gpu_instance_id: self.observe(raw::gpu_instance_id(self.nvml, &mig)),
                memory_total_mib: self.read_memory(&mig).map(|memory| memory.total_mib),
            });
        }
        Observed::Ok { value: instances }
    }
}

/// Errors after which an older version of the same NVML function is worth asking.
fn older_version_may_work(error: &NvmlError) -> bool {
    match error {
        NvmlError::FailedToLoadSymbol(_) | NvmlError::NotSupported | NvmlError::FunctionNotFound => true,
        NvmlError::UnexpectedVariant(code) => *code == nvmlReturn_enum_NVML_ERROR_ARGUMENT_VERSION_MISMATCH,
        _ => false,
    }
}

/// Both the newer and the older function failed: unsupported if the older one is missing or
/// unsupported too, else the older one's error.
fn both_versions_failed(newer_name: &str, newer: &NvmlError, older_name: &str, older: &NvmlError) -> Failure {
    let older_failure = Failure::from_nvml(older);
    let reason = format!(
        "{newer_name}: {}; {older_name}: {}",
        describe_nvml_error(newer),
        describe_nvml_error(older)
    );
    Failure {
        reason,
        ..older_failure
    }
}

/// `"1g.5gb"` from `"NVIDIA A100-SXM4-40GB MIG 1g.5gb"`.
fn mig_profile(name: &str) -> Option<String> {
    let (_, profile) = name.rsplit_once("MIG ")?;
    let profile = profile.trim();
    (!profile.is_empty()).then(|| profile.to_owned())
}

/// Clock event reason bits (`nvmlClocksEventReason*` in nvml.h), in bit order.
const CLOCK_EVENT_REASONS: [(u64, &str); 9] = [
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
];

/// Names of the bits set in `mask`; bits nvml.h does not define appear as `unknown_0x…`.
pub(crate) fn clock_event_reason_names(mask: u64) -> Vec<String> {
    let mut names = Vec::new();
    let mut unknown = mask;
    for (bit, name) in CLOCK_EVENT_REASONS {
        if mask & bit != 0 {
            names.push(name.to_owned());
            unknown &= !bit;
        }
    }
    for shift in 0..64 {
        let bit = 1u64 << shift;
        if unknown & bit != 0 {
            names.push(format!("unknown_{bit:#x}"));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_clock_event_bits() {
        assert!(clock_event_reason_names(0).is_empty());
        assert_eq!(clock_event_reason_names(0x1), ["gpu_idle"]);
        assert_eq!(
            clock_event_reason_names(0x4 | 0x40),
            ["sw_power_cap", "hw_thermal_slowdown"]
        );
        assert_eq!(clock_event_reason_names(0x200 | 0x8), ["hw_slowdown", "unknown_0x200"]);
    }

    #[test]
    fn parses_mig_profiles() {
        assert_eq!(
            mig_profile("NVIDIA A100-SXM4-40GB MIG 1g.5gb").as_deref(),
            Some("1g.5gb")
        );
        assert_eq!(
            mig_profile("NVIDIA H100 80GB HBM3 MIG 3g.40gb").as_deref(),
            Some("3g.40gb")
        );
        assert_eq!(mig_profile("NVIDIA A100-SXM4-40GB"), None);
        assert_eq!(mig_profile("NVIDIA A100 MIG "), None);
    }

    #[test]
    fn formats_cuda_versions() {
        assert_eq!(CudaDriverVersion::from_raw(12040).version, "12.4");
        assert_eq!(CudaDriverVersion::from_raw(11080).version, "11.8");
        assert_eq!(CudaDriverVersion::from_raw(12000).version, "12.0");
    }

    #[test]
    fn explicit_library_wins() {
        let options = GpuProbeOptions {
            library: Some(PathBuf::from("/opt/nvml/libnvidia-ml.so")),
            ..Default::default()
        };
        assert_eq!(
            options.library_to_load(),
            (OsString::from("/opt/nvml/libnvidia-ml.so"), LibraryChosenBy::Option)
        );
    }

    #[test]
    fn older_versions_are_tried_only_for_missing_or_unsupported_functions() {
        assert!(older_version_may_work(&NvmlError::FailedToLoadSymbol("x".into())));
        assert!(older_version_may_work(&NvmlError::NotSupported));
        assert!(older_version_may_work(&NvmlError::UnexpectedVariant(25)));
        assert!(!older_version_may_work(&NvmlError::GpuLost));
        assert!(!older_version_may_work(&NvmlError::NoPermission));
    }

    #[test]
    fn default_library_missing_says_what_to_do() {
        let error = match Nvml::builder()
            .lib_path(OsStr::new("/nonexistent/libnvidia-ml.so.1"))
            .init()
        {
            Ok(_) => panic!("a nonexistent library loaded"),
            Err(error) => error,
        };
        let state = unavailable(&error, OsStr::new(DEFAULT_LIBRARY), LibraryChosenBy::LoaderSearch);
        let NvmlState::Unavailable { reason, message } = state else {
            panic!("expected Unavailable");
        };
        assert_eq!(reason, UnavailableReason::NoLibrary);
        assert!(
            message.starts_with(
                "libnvidia-ml.so.1 not found: no NVIDIA driver installed on this node, or the library is not in \
                 the loader path; pass --nvml-lib"
            ),
            "{message}"
        );
        let state = unavailable(&error, OsStr::new("/x.so"), LibraryChosenBy::Environment);
        assert!(matches!(state, NvmlState::Unavailable { message, .. } if message.contains(LIBRARY_ENV)));
    }

    #[test]
    fn init_errors_are_classified() {
        let reason = |error: NvmlError| match unavailable(&error, OsStr::new("x"), LibraryChosenBy::Option) {
            NvmlState::Unavailable { reason, .. } => reason,
            NvmlState::Available { .. } => panic!("expected Unavailable"),
        };
        assert_eq!(reason(NvmlError::DriverNotLoaded), UnavailableReason::DriverNotLoaded);
        assert_eq!(reason(NvmlError::NoPermission), UnavailableReason::NoPermission);
        assert_eq!(reason(NvmlError::LibRmVersionMismatch), UnavailableReason::InitFailed);
        assert_eq!(reason(NvmlError::Unknown), UnavailableReason::InitFailed);
    }

    #[test]
    fn a_library_that_is_not_nvml_fails_init_without_panicking() {
        // libc loads fine but has no nvmlInit_v2 (nor nvmlShutdown).
        let snapshot = probe(&GpuProbeOptions {
            library: Some(PathBuf::from("libc.so.6")),
            ..Default::default()
        });
        match snapshot.nvml {
            NvmlState::Unavailable { reason, message } => {
                assert_eq!(reason, UnavailableReason::InitFailed, "{message}");
                assert!(message.contains("nvmlInit_v2"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn fallback_failure_is_unsupported_when_the_older_function_is_missing_too() {
        let failure = both_versions_failed(
            "nvmlDeviceGetMemoryInfo_v2",
            &NvmlError::FailedToLoadSymbol("undefined symbol: nvmlDeviceGetMemoryInfo_v2".into()),
            "nvmlDeviceGetMemoryInfo",
            &NvmlError::FailedToLoadSymbol("undefined symbol: nvmlDeviceGetMemoryInfo".into()),
        );
        let observed: Observed<u32> = failure.into_observed();
        assert!(observed.is_unsupported());
        let reason = observed.reason().unwrap_or_default();
        assert!(
            reason.contains("undefined symbol: nvmlDeviceGetMemoryInfo_v2"),
            "{reason}"
        );
        assert!(
            reason.contains("undefined symbol: nvmlDeviceGetMemoryInfo;")
                || reason.ends_with("nvmlDeviceGetMemoryInfo")
        );

        let failure = both_versions_failed("f_v2", &NvmlError::NotSupported, "f", &NvmlError::GpuLost);
        assert!(failure.gpu_lost);
        assert!(failure.to_observed::<u32>().is_error());
    }

    #[test]
    fn missing_library_is_no_library_in_plain_words() {
        let snapshot = probe(&GpuProbeOptions {
            library: Some(PathBuf::from("/nonexistent/libnvidia-ml.so.1")),
            ..Default::default()
        });
        assert_eq!(snapshot.source, "nvml");
        assert_eq!(snapshot.library.chosen_by, LibraryChosenBy::Option);
        match snapshot.nvml {
            NvmlState::Unavailable { reason, message } => {
                assert_eq!(reason, UnavailableReason::NoLibrary);
                assert!(message.contains("--nvml-lib"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
