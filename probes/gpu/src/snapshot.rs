//! The plain data a GPU probe returns.
//!
//! Snapshots are saved and replayed (a scan on a node, a check on a laptop), so everything here
//! is owned data that round-trips through serde, knows nothing of NVML handles, and keeps NVML's
//! raw numbers beside any friendlier form (milliwatts beside watts, the clock-event bitmask
//! beside its names) so that nothing is lost in translation. Sizes are MiB (1024 × 1024 bytes),
//! the unit `nvidia-smi` shows.

use serde::{Deserialize, Serialize};

use crate::observed::Observed;

/// What the GPU probe saw on this node, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct GpuSnapshot {
    /// Always `"nvml"`: the source of these facts.
    pub source: String,
    /// The NVML library asked, and who chose it.
    pub library: LibraryChoice,
    /// When the probe started, UTC, RFC 3339.
    pub observed_at: String,
    /// How long the probe took, in milliseconds.
    pub duration_ms: u64,
    /// What NVML said, or why it could not be asked.
    pub nvml: NvmlState,
}

/// The NVML library the probe loaded (or tried to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct LibraryChoice {
    /// The path or file name handed to the dynamic loader.
    pub path: String,
    /// Why this library was chosen.
    pub chosen_by: LibraryChosenBy,
    /// The file the loader actually mapped, when it could be found in `/proc/self/maps`.
    pub resolved_path: Option<String>,
}

/// Where the library path came from (shared with the other vendor's probe).
pub use modelspec_probe_support::LibraryChosenBy;

/// NVML's answers, or why there are none. Read in one pass (`nvml_state` below): it holds every
/// device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum NvmlState {
    /// NVML initialized; each fact below may still be missing on its own.
    Available {
        system: SystemFacts,
        /// How many GPUs NVML counts (including ones this user may not access).
        device_count: Observed<u32>,
        devices: Vec<DeviceFacts>,
    },
    /// NVML could not be used at all on this node.
    Unavailable { reason: UnavailableReason, message: String },
}

/// Reading [`NvmlState`] in one pass, its members in any order: each variant's fields have
/// their own names, so every member goes straight into its slot, and the tag, wherever it
/// comes (a report's observation has its keys sorted, `status` after `devices`), picks the
/// variant at the end. Nothing is buffered, where serde's reader for a tagged enum would copy
/// every device first.
mod nvml_state {
    use std::fmt;

    use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    use super::{DeviceFacts, NvmlState, Observed, SystemFacts, UnavailableReason};

    #[derive(Deserialize)]
    #[serde(field_identifier, rename_all = "snake_case")]
    enum Field {
        Status,
        System,
        DeviceCount,
        Devices,
        Reason,
        Message,
        #[serde(other)]
        Other,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Status {
        Available,
        Unavailable,
    }

    /// Reads a member's value into its slot, once.
    fn once<'de, A: MapAccess<'de>, V: Deserialize<'de>>(
        map: &mut A,
        slot: &mut Option<V>,
        name: &'static str,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(A::Error::duplicate_field(name));
        }
        *slot = Some(map.next_value()?);
        Ok(())
    }

    pub(super) struct Reader;

    impl<'de> Visitor<'de> for Reader {
        type Value = NvmlState;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("NVML's state: an object with `status` available or unavailable")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NvmlState, A::Error> {
            let mut status: Option<Status> = None;
            let mut system: Option<SystemFacts> = None;
            let mut device_count: Option<Observed<u32>> = None;
            let mut devices: Option<Vec<DeviceFacts>> = None;
            let mut reason: Option<UnavailableReason> = None;
            let mut message: Option<String> = None;
            while let Some(field) = map.next_key::<Field>()? {
                match field {
                    Field::Status => once(&mut map, &mut status, "status")?,
                    Field::System => once(&mut map, &mut system, "system")?,
                    Field::DeviceCount => once(&mut map, &mut device_count, "device_count")?,
                    Field::Devices => once(&mut map, &mut devices, "devices")?,
                    Field::Reason => once(&mut map, &mut reason, "reason")?,
                    Field::Message => once(&mut map, &mut message, "message")?,
                    Field::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            let missing = A::Error::missing_field;
            Ok(match status.ok_or_else(|| missing("status"))? {
                Status::Available => NvmlState::Available {
                    system: system.ok_or_else(|| missing("system"))?,
                    device_count: device_count.ok_or_else(|| missing("device_count"))?,
                    devices: devices.ok_or_else(|| missing("devices"))?,
                },
                Status::Unavailable => NvmlState::Unavailable {
                    reason: reason.ok_or_else(|| missing("reason"))?,
                    message: message.ok_or_else(|| missing("message"))?,
                },
            })
        }
    }

    impl<'de> Deserialize<'de> for NvmlState {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(Reader)
        }
    }
}

/// Why NVML could not be used at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnavailableReason {
    /// The library could not be loaded (not installed, wrong path, not a shared library).
    NoLibrary,
    /// The library loaded but the NVIDIA kernel driver is not running.
    DriverNotLoaded,
    /// This user may not talk to the driver.
    NoPermission,
    /// NVML initialization failed for another reason.
    InitFailed,
    /// Anything else (the probe itself failed).
    Other,
}

/// Node-wide facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SystemFacts {
    /// Kernel driver version, e.g. `"550.54.15"`.
    pub driver_version: Observed<String>,
    /// Highest CUDA version the driver supports.
    pub cuda_driver_version: Observed<CudaDriverVersion>,
    /// NVML library version, e.g. `"12.550.54.15"`.
    pub nvml_version: Observed<String>,
}

/// The CUDA driver API version, as NVML gives it and as people write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct CudaDriverVersion {
    /// `"12.4"`.
    pub version: String,
    /// `12040` (major × 1000 + minor × 10).
    pub raw: i32,
}

impl CudaDriverVersion {
    /// From NVML's integer form.
    pub fn from_raw(raw: i32) -> Self {
        CudaDriverVersion {
            version: format!("{}.{}", raw / 1000, (raw % 1000) / 10),
            raw,
        }
    }
}

/// Everything seen about one GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct DeviceFacts {
    /// NVML index (the order `nvidia-smi` uses).
    pub index: u32,
    /// NVML said the GPU has fallen off the bus (`NVML_ERROR_GPU_IS_LOST`); its other fields
    /// are then errors.
    pub lost: bool,
    /// Product name, e.g. `"NVIDIA H100 80GB HBM3"`.
    pub name: Observed<String>,
    /// `"GPU-…"` identifier, stable across reboots.
    pub uuid: Observed<String>,
    pub pci: Observed<PciIdentity>,
    pub memory: Observed<MemoryMib>,
    pub compute_capability: Observed<ComputeCapability>,
    pub mig: MigFacts,
    pub ecc: EccFacts,
    /// Pages waiting to be retired at the next driver reload (older GPUs; Ampere and later
    /// remap rows instead).
    pub retired_pages_pending: Observed<bool>,
    pub remapped_rows: Observed<RemappedRows>,
    /// Whether persistence mode is on.
    pub persistence_mode: Observed<bool>,
    pub compute_mode: Observed<ComputeMode>,
    pub power_limit: PowerLimits,
    /// Why clocks are currently held down (NVML's "clocks event reasons", formerly "throttle
    /// reasons").
    pub clock_event_reasons: Observed<ClockEventReasons>,
    pub pcie_link: PcieLink,
    /// GPU core temperature, °C.
    pub temperature_c: Observed<u32>,
    pub utilization: Observed<Utilization>,
    /// Processes with a compute (CUDA) context on this GPU.
    pub compute_processes: Observed<Vec<ComputeProcess>>,
    /// Its NVLink fabric registration (NVSwitch systems: HGX H100/H200, B200); unsupported on
    /// GPUs outside one.
    #[serde(default = "not_recorded")]
    pub fabric: Observed<FabricFacts>,
    /// The CPUs NVML calls close to this GPU (`nvmlDeviceGetCpuAffinity`: its NUMA node's),
    /// ascending.
    #[serde(default = "not_recorded")]
    pub cpu_affinity: Observed<Vec<u32>>,
    /// Its NUMA node (`nvmlDeviceGetNumaNodeId`, R550 and later drivers).
    #[serde(default = "not_recorded")]
    pub numa_node: Observed<u32>,
    /// The XID errors NVML delivered for this GPU while the probe (or `serve`) watched; see
    /// [`XidFacts`].
    #[serde(default = "not_recorded")]
    pub xid: Observed<XidFacts>,
}

/// XID errors are the driver's reports of GPU faults. NVML hands them only to an event set
/// registered before they happen, so this is what arrived while someone was watching: from
/// `since`, for `watched_ms`. No event means none in that time, not none ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct XidFacts {
    /// When the watching began, UTC, RFC 3339.
    pub since: String,
    /// How long it had watched when this was recorded, in milliseconds.
    pub watched_ms: u64,
    /// The XIDs delivered, oldest first (at most [`XID_EVENTS_KEPT`]).
    pub events: Vec<XidEvent>,
    /// Events delivered beyond the ones kept.
    pub dropped: u64,
}

/// How many XID events are kept per GPU; a GPU that reports more counts them in `dropped`.
pub const XID_EVENTS_KEPT: usize = 64;

/// One XID error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct XidEvent {
    /// The XID number (NVIDIA's catalogue: 79 is "fallen off the bus"); `None` when NVML said
    /// the XID was unknown (999).
    pub xid: Option<u64>,
    /// When it was delivered, UTC, RFC 3339.
    pub at: String,
}

/// A fact an observation made before modelspec read it does not have.
fn not_recorded<T>() -> Observed<T> {
    Observed::Unsupported {
        reason: "not recorded: this observation was made before modelspec read it".into(),
    }
}

/// A GPU's place in an NVLink fabric, from `nvmlDeviceGetGpuFabricInfo`. On an NVSwitch system
/// a GPU is usable only once the fabric manager has registered it (`completed` with status
/// `success`); until then CUDA fails with error 802 (`cudaErrorSystemNotReady`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FabricFacts {
    pub state: FabricState,
    /// The registration's result once `completed`: `success`, or NVML's error name.
    pub status: String,
    /// NVML's raw return code of the registration (0 is success).
    pub status_code: u32,
    pub clique_id: u32,
    /// The fabric's cluster UUID, as 32 hex digits.
    pub cluster_uuid: String,
}

/// NVML's `NVML_GPU_FABRIC_STATE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FabricState {
    NotSupported,
    NotStarted,
    InProgress,
    Completed,
    /// A state this version does not know (a newer driver's).
    Other,
}

/// Where the GPU sits on the PCI bus, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct PciIdentity {
    /// `"00000000:18:00.0"`.
    pub bus_id: String,
    /// NVML's combined id: device id in the upper 16 bits, vendor id (`0x10de`) in the lower.
    pub device_id: u32,
    /// `device_id` as `"0x233010de"`, the form `nvidia-smi -q` prints.
    pub device_id_hex: String,
}

/// Framebuffer memory, MiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct MemoryMib {
    pub total_mib: u64,
    pub used_mib: u64,
    pub free_mib: u64,
    /// Memory the driver sets aside; `None` when only the old `nvmlDeviceGetMemoryInfo` (v1)
    /// exists, which does not report it.
    pub reserved_mib: Option<u64>,
    /// The NVML function that answered (`nvmlDeviceGetMemoryInfo_v2`, or the v1 fallback).
    pub read_with: String,
}

/// CUDA compute capability, e.g. 9.0 for Hopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ComputeCapability {
    pub major: i32,
    pub minor: i32,
}

impl std::fmt::Display for ComputeCapability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Multi-Instance GPU state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct MigFacts {
    pub mode: Observed<MigMode>,
    /// The MIG devices when MIG is on now; empty when it is off; the mode's reason when the
    /// mode could not be read.
    pub instances: Observed<Vec<MigInstance>>,
}

/// Whether MIG is on now, and whether it will be after the next GPU reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct MigMode {
    pub current_enabled: bool,
    pub pending_enabled: bool,
}

/// One MIG device (a compute instance within a GPU instance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct MigInstance {
    /// Slot index under the parent GPU.
    pub index: u32,
    /// e.g. `"NVIDIA A100-SXM4-40GB MIG 1g.5gb"`.
    pub name: Observed<String>,
    /// The profile part of the name, e.g. `"1g.5gb"`, when the name has one.
    pub profile: Option<String>,
    /// `"MIG-…"` identifier.
    pub uuid: Observed<String>,
    pub gpu_instance_id: Observed<u32>,
    pub memory_total_mib: Observed<u64>,
}

/// ECC mode and uncorrected error counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct EccFacts {
    pub mode: Observed<EccMode>,
    /// Uncorrected errors since the last driver load.
    pub uncorrected_volatile: Observed<u64>,
    /// Uncorrected errors over the GPU's life.
    pub uncorrected_aggregate: Observed<u64>,
}

/// Whether ECC is on now, and whether it will be after the next reboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct EccMode {
    pub current_enabled: bool,
    pub pending_enabled: bool,
}

/// Row remapping (Ampere and later), from `nvmlDeviceGetRemappedRows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct RemappedRows {
    /// Rows remapped because of correctable errors.
    pub correctable: u32,
    /// Rows remapped because of uncorrectable errors.
    pub uncorrectable: u32,
    /// A remapping waits for the next GPU reset.
    pub pending: bool,
    /// A remapping failed: the GPU should be replaced.
    pub failed: bool,
}

/// Who may create compute contexts on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeMode {
    /// Any number of processes.
    Default,
    /// One context per thread (deprecated by NVIDIA).
    ExclusiveThread,
    /// No compute contexts at all.
    Prohibited,
    /// One process at a time.
    ExclusiveProcess,
}

/// Power limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct PowerLimits {
    /// The limit in force now (the lowest of all limits set).
    pub enforced: Observed<Power>,
    /// The limit the GPU has after a reset.
    pub default: Observed<Power>,
}

/// A power figure, as NVML gives it and in watts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Power {
    pub milliwatts: u32,
    pub watts: f64,
}

impl Power {
    pub fn from_milliwatts(milliwatts: u32) -> Self {
        Power {
            milliwatts,
            watts: f64::from(milliwatts) / 1000.0,
        }
    }
}

/// Clock event (throttle) reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ClockEventReasons {
    /// Names of the bits set, e.g. `["sw_power_cap"]`; unknown bits appear as
    /// `"unknown_0x…"`. Empty: clocks are not held down.
    pub active: Vec<String>,
    /// The bitmask NVML returned.
    pub raw_mask: u64,
}

/// PCIe link generation and width, now and at most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct PcieLink {
    pub current_gen: Observed<u32>,
    pub current_width: Observed<u32>,
    pub max_gen: Observed<u32>,
    pub max_width: Observed<u32>,
}

/// Utilization over the driver's last sample period, percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Utilization {
    pub gpu_percent: u32,
    pub memory_percent: u32,
}

/// One process with a compute context on the GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ComputeProcess {
    pub pid: u32,
    /// GPU memory used, MiB; `None` when NVML says "not available" (e.g. in containers
    /// without the host PID namespace, or under some MIG and vGPU setups).
    pub used_memory_mib: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo node's NVML state (eight GPUs), as a report holds it.
    fn demo() -> serde_json::Value {
        let observation: serde_json::Value =
            serde_json::from_str(include_str!("../../../fixtures/demo/observation.json")).unwrap_or_default();
        observation["gpu"]["snapshot"]["nvml"].clone()
    }

    #[test]
    fn nvml_state_reads_in_any_member_order() {
        let state: NvmlState = serde_json::from_value(demo()).expect("the demo's NVML state");
        assert!(matches!(&state, NvmlState::Available { devices, .. } if !devices.is_empty()));
        // Written in field order (tag first) and with its keys sorted (tag after the devices).
        let in_order = serde_json::to_string(&state).expect("serializes");
        let sorted = serde_json::to_value(&state).expect("to a tree").to_string();
        assert!(in_order.starts_with(r#"{"status":"available""#) && !sorted.starts_with(r#"{"status""#));
        for text in [&in_order, &sorted] {
            assert_eq!(
                serde_json::from_str::<NvmlState>(text).ok().as_ref(),
                Some(&state),
                "{text}"
            );
        }
        let unavailable = NvmlState::Unavailable {
            reason: UnavailableReason::DriverNotLoaded,
            message: "no driver".into(),
        };
        let text = serde_json::to_value(&unavailable).expect("to a tree").to_string();
        assert_eq!(serde_json::from_str::<NvmlState>(&text).ok(), Some(unavailable));
    }

    #[test]
    fn nvml_state_refuses_what_serde_refuses() {
        for text in [
            r#"{}"#,
            r#"{"status": "available"}"#,
            r#"{"status": "unavailable", "reason": "no_library"}"#,
            r#"{"status": "gone"}"#,
            r#"{"reason": "no_library", "message": "m"}"#,
            r#"{"status": "unavailable", "status": "unavailable", "reason": "no_library", "message": "m"}"#,
            r#"[]"#,
        ] {
            assert!(serde_json::from_str::<NvmlState>(text).is_err(), "{text}");
        }
        let ok = r#"{"message": "m", "reason": "no_library", "extra": 1, "status": "unavailable"}"#;
        assert!(serde_json::from_str::<NvmlState>(ok).is_ok());
    }
}
