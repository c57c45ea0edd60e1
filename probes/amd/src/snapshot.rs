//! The plain data the AMD probe returns: owned, serializable, saved and replayed like the
//! NVIDIA probe's. Sizes are MiB (what `amd-smi` calls MB), power in watts beside AMD SMI's raw
//! microwatts, temperatures in °C.

use serde::{Deserialize, Serialize};

use crate::observed::Observed;

/// What the AMD probe saw on this node, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmdSnapshot {
    /// Always `"amdsmi"`.
    pub source: String,
    /// The library asked, and who chose it.
    pub library: LibraryChoice,
    /// When the probe started, UTC, RFC 3339.
    pub observed_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What AMD SMI said, or why it could not be asked.
    pub amdsmi: AmdSmiState,
}

/// The AMD SMI library the probe loaded (or tried to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryChoice {
    /// The path or file name handed to the dynamic loader.
    pub path: String,
    /// `option` (`--amdsmi-lib`), `environment` (`MODELSPEC_AMDSMI_LIB`) or `loader_search`.
    pub chosen_by: LibraryChosenBy,
}

/// Where the library path came from (shared with the other vendor's probe).
pub use modelspec_probe_support::LibraryChosenBy;

/// AMD SMI's answers, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AmdSmiState {
    /// The library initialized; each fact may still be missing on its own.
    Available {
        /// The library's version, and the struct layouts read with it.
        library_version: Observed<LibraryVersion>,
        /// The amdgpu kernel driver's version.
        driver_version: Observed<String>,
        devices: Vec<AmdDevice>,
    },
    /// AMD SMI could not be used at all.
    Unavailable { reason: UnavailableReason, message: String },
}

/// Why AMD SMI could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnavailableReason {
    /// `libamd_smi.so` could not be loaded (ROCm not installed, wrong path).
    NoLibrary,
    /// The library has no `amdsmi_init` or `amdsmi_get_lib_version`: not AMD SMI, or too old.
    NotAmdSmi,
    /// The amdgpu kernel driver is not loaded.
    DriverNotLoaded,
    /// This user may not talk to the driver.
    NoPermission,
    /// `amdsmi_init` failed for another reason.
    InitFailed,
    /// The probe itself failed.
    Other,
}

/// `amdsmi_get_lib_version`, and which generation of struct layouts it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryVersion {
    /// `26.2.1` (ROCm 7.2), `25.3.0` (ROCm 6.4.0), `24.7.1` (ROCm 6.3).
    pub version: String,
    /// The layouts read: `rocm-6.2`, `rocm-6.3`, `rocm-6.4`, `rocm-7`; `rocm-7-assumed` for a
    /// newer library, read with ROCm 7.2's layouts where they are known to hold.
    pub layouts: String,
}

/// One GPU as AMD SMI enumerates it: a package, a GCD (an MI250X has two), or a compute
/// partition (an MI300X in CPX mode shows eight).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmdDevice {
    /// Its position in AMD SMI's enumeration (sockets in order, processors in order).
    pub index: u32,
    /// `AMD Instinct MI300X`.
    pub market_name: Observed<String>,
    pub uuid: Observed<String>,
    /// PCI address, `0000:0c:00.0`.
    pub bdf: Observed<String>,
    /// PCI ids and compute units (`amdsmi_get_gpu_asic_info`).
    pub asic: Observed<AsicIds>,
    /// The graphics target, `gfx942`: AMD's counterpart of a compute capability.
    pub gfx_target: Observed<String>,
    /// VRAM (`amdsmi_get_gpu_vram_usage`).
    pub vram: Observed<Vram>,
    /// `SPX`, `DPX`, `QPX`, `CPX` (MI300 series); unsupported on GPUs without partitions.
    pub compute_partition: Observed<String>,
    /// `NPS1`, `NPS4`.
    pub memory_partition: Observed<String>,
    /// RAS error counts since the driver loaded (`amdsmi_get_gpu_total_ecc_count`).
    pub ecc: Observed<EccCounts>,
    /// Power cap (`amdsmi_get_power_cap_info`, sensor 0).
    pub power_cap: Observed<PowerCap>,
    /// Throttle bitmasks from the GPU metrics table.
    pub throttle: Observed<Throttle>,
    pub temperature: Temperatures,
    /// Engine activity (`amdsmi_get_gpu_activity`), percent.
    pub activity: Observed<Activity>,
    /// Processes using this GPU (`amdsmi_get_gpu_process_list`).
    pub processes: Observed<Vec<AmdProcess>>,
}

/// PCI ids and compute units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsicIds {
    pub vendor_id: u32,
    /// PCI device id, `0x74a1` for an MI300X.
    pub device_id: u64,
    pub device_id_hex: String,
    pub rev_id: u32,
    /// Compute units, when the library says (ROCm 6.3 and later).
    pub compute_units: Option<u32>,
}

/// VRAM, MiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vram {
    pub total_mib: u64,
    pub used_mib: u64,
}

/// RAS error counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EccCounts {
    pub correctable: u64,
    pub uncorrectable: u64,
    pub deferred: u64,
}

/// Power cap, watts, with AMD SMI's microwatts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerCap {
    pub cap_watts: f64,
    pub default_watts: f64,
    pub max_watts: f64,
    /// `power_cap` as AMD SMI gave it, microwatts.
    pub raw_cap_microwatts: u64,
}

/// Throttle bitmasks; `None` where the GPU's metrics table does not carry one (all ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    /// ASIC-specific (`throttle_status`).
    pub throttle_status: Option<u32>,
    /// ASIC-independent (`indep_throttle_status`).
    pub indep_throttle_status: Option<u64>,
}

/// Temperatures by sensor, °C; each sensor may be missing on its own (MI300 has no edge sensor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperatures {
    pub edge: Observed<i64>,
    /// The junction (hotspot) temperature.
    pub hotspot: Observed<i64>,
    pub vram: Observed<i64>,
}

/// Engine activity, percent; `None` where not reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub gfx_percent: Option<u32>,
    pub memory_percent: Option<u32>,
    pub multimedia_percent: Option<u32>,
}

/// A process using a GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmdProcess {
    pub pid: u32,
    /// Its name as AMD SMI reports it (`N/A` for another user's process without root).
    pub name: String,
    /// VRAM it holds, MiB.
    pub vram_mib: u64,
}
