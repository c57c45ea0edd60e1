//! The GPU profile: the JSON file named by `FAKE_NVML_PROFILE` that the fake answers from.
//!
//! Unknown keys are rejected so that a typo in a fixture fails loudly at `nvmlInit` instead of
//! silently falling back to a default. See `../README.md` for the format.

use serde::Deserialize;

use nvml_wrapper_sys::bindings as sys;

/// What `nvmlInit` answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InitOutcome {
    #[default]
    Ok,
    DriverNotLoaded,
    NoPermission,
    LibRmVersionMismatch,
    /// Not documented for `nvmlInit`, but answered by real drivers whose library stubs cannot
    /// find the kernel-side library.
    LibraryNotFound,
    /// Not documented for `nvmlInit`: a code a caller must still survive.
    InsufficientSize,
    /// Answered by init on a node whose only GPU fell off the bus during driver load.
    GpuIsLost,
    Unknown,
}

impl InitOutcome {
    pub fn code(self) -> sys::nvmlReturn_t {
        match self {
            InitOutcome::Ok => sys::nvmlReturn_enum_NVML_SUCCESS,
            InitOutcome::DriverNotLoaded => sys::nvmlReturn_enum_NVML_ERROR_DRIVER_NOT_LOADED,
            InitOutcome::NoPermission => sys::nvmlReturn_enum_NVML_ERROR_NO_PERMISSION,
            InitOutcome::LibRmVersionMismatch => sys::nvmlReturn_enum_NVML_ERROR_LIB_RM_VERSION_MISMATCH,
            InitOutcome::LibraryNotFound => sys::nvmlReturn_enum_NVML_ERROR_LIBRARY_NOT_FOUND,
            InitOutcome::InsufficientSize => sys::nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE,
            InitOutcome::GpuIsLost => sys::nvmlReturn_enum_NVML_ERROR_GPU_IS_LOST,
            InitOutcome::Unknown => sys::nvmlReturn_enum_NVML_ERROR_UNKNOWN,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Free text for humans; ignored.
    #[serde(default, rename = "comment")]
    pub _comment: Option<serde_json::Value>,
    #[serde(default)]
    pub init: InitOutcome,
    #[serde(default = "default_driver_version")]
    pub driver_version: String,
    #[serde(default = "default_cuda_driver_version")]
    pub cuda_driver_version: i32,
    /// Defaults to `"12." + driver_version`.
    #[serde(default)]
    pub nvml_version: Option<String>,
    /// NVML function names (a `_vN` suffix is ignored) answering NOT_SUPPORTED on every device.
    #[serde(default)]
    pub unsupported: Vec<String>,
    /// How long `nvmlInit` takes, in milliseconds: a driver that hangs, for deadline tests.
    #[serde(default)]
    pub init_delay_ms: u64,
    pub devices: Vec<DeviceProfile>,
}

fn default_driver_version() -> String {
    "550.54.15".to_owned()
}

fn default_cuda_driver_version() -> i32 {
    12040
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ComputeMode {
    #[default]
    Default,
    ExclusiveThread,
    Prohibited,
    ExclusiveProcess,
}

impl ComputeMode {
    pub fn code(self) -> sys::nvmlComputeMode_t {
        match self {
            ComputeMode::Default => sys::nvmlComputeMode_enum_NVML_COMPUTEMODE_DEFAULT,
            ComputeMode::ExclusiveThread => sys::nvmlComputeMode_enum_NVML_COMPUTEMODE_EXCLUSIVE_THREAD,
            ComputeMode::Prohibited => sys::nvmlComputeMode_enum_NVML_COMPUTEMODE_PROHIBITED,
            ComputeMode::ExclusiveProcess => sys::nvmlComputeMode_enum_NVML_COMPUTEMODE_EXCLUSIVE_PROCESS,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleReason {
    GpuIdle,
    ApplicationsClocksSetting,
    SwPowerCap,
    HwSlowdown,
    SyncBoost,
    SwThermalSlowdown,
    HwThermalSlowdown,
    HwPowerBrakeSlowdown,
    DisplayClockSetting,
}

impl ThrottleReason {
    pub fn bit(self) -> u64 {
        u64::from(match self {
            ThrottleReason::GpuIdle => sys::nvmlClocksThrottleReasonGpuIdle,
            ThrottleReason::ApplicationsClocksSetting => sys::nvmlClocksThrottleReasonApplicationsClocksSetting,
            ThrottleReason::SwPowerCap => sys::nvmlClocksThrottleReasonSwPowerCap,
            ThrottleReason::HwSlowdown => sys::nvmlClocksThrottleReasonHwSlowdown,
            ThrottleReason::SyncBoost => sys::nvmlClocksThrottleReasonSyncBoost,
            ThrottleReason::SwThermalSlowdown => sys::nvmlClocksThrottleReasonSwThermalSlowdown,
            ThrottleReason::HwThermalSlowdown => sys::nvmlClocksThrottleReasonHwThermalSlowdown,
            ThrottleReason::HwPowerBrakeSlowdown => sys::nvmlClocksThrottleReasonHwPowerBrakeSlowdown,
            ThrottleReason::DisplayClockSetting => sys::nvmlClocksThrottleReasonDisplayClockSetting,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceProfile {
    pub name: String,
    /// Defaults to a UUID derived from the index.
    pub uuid: Option<String>,
    /// `DDDDDDDD:BB:DD.F`; defaults to `00000000:<index+1>:00.0`.
    pub pci_bus_id: Option<String>,
    /// `(device id << 16) | vendor id`, e.g. 0x233010DE.
    pub pci_device_id: u32,
    pub pci_subsystem_id: u32,
    pub memory_mib: Memory,
    pub compute_capability: [i32; 2],
    /// Absent: the device does not support MIG (MIG calls answer NOT_SUPPORTED).
    pub mig: Option<Mig>,
    /// Absent: the device has no ECC (ECC calls answer NOT_SUPPORTED).
    pub ecc: Option<Ecc>,
    pub retired_pages: RetiredPages,
    pub remapped_rows: RemappedRows,
    pub persistence_mode: bool,
    pub compute_mode: ComputeMode,
    pub power_limit_mw: PowerLimit,
    pub power_usage_mw: u32,
    pub throttle_reasons: Vec<ThrottleReason>,
    pub pcie: Pcie,
    pub temperature_c: u32,
    pub utilization: Utilization,
    pub processes: Vec<Process>,
    /// Every per-device call answers GPU_IS_LOST (handles can still be obtained).
    pub lost: bool,
    /// Even `nvmlDeviceGetHandleByIndex` answers GPU_IS_LOST, as on a real node whose GPU fell
    /// off the bus. Implies `lost`.
    pub lost_at_handle: bool,
    /// The device falls off the bus in the middle of a scan: its first N per-device calls (after
    /// each `nvmlInit`) answer normally, every later one answers GPU_IS_LOST.
    pub lost_after_calls: Option<u32>,
    /// NVML function names answering NOT_SUPPORTED on this device.
    pub unsupported: Vec<String>,
    /// NVML function names answering NO_PERMISSION on this device (as on a node where the
    /// scanner is not allowed what the call reads).
    pub no_permission: Vec<String>,
    /// The GPU's NVLink fabric (NVSwitch systems: HGX H100/H200, B200); absent, the fabric
    /// query answers NOT_SUPPORTED.
    pub fabric: Option<Fabric>,
    /// The CPUs near the GPU, as a Linux cpulist (`0-31,64-95`); absent, the affinity query
    /// answers NOT_SUPPORTED.
    pub cpu_affinity: Option<String>,
    /// The GPU's NUMA node; absent, the query answers NOT_SUPPORTED.
    pub numa_node: Option<u32>,
    /// XID errors this GPU reports, each delivered once to every event set registered for
    /// XIDs on it, `after_ms` after the set was created.
    pub xid_events: Vec<XidEvent>,
}

/// One XID error the fake delivers through `nvmlEventSetWait`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XidEvent {
    /// The XID number (999: NVML's "unknown").
    pub xid: u64,
    /// How long after the event set was created it becomes due, in milliseconds.
    #[serde(default)]
    pub after_ms: u64,
}

/// `nvmlDeviceGetGpuFabricInfo`'s answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fabric {
    /// `not_supported`, `not_started`, `in_progress` or `completed`.
    pub state: FabricState,
    /// NVML's return code of the registration, as its number (0 is success; 3 NOT_SUPPORTED,
    /// 999 UNKNOWN, ...): meaningful once the state is `completed`.
    pub status: u32,
    pub clique_id: u32,
    /// 16 bytes, as hex (32 digits).
    pub cluster_uuid: String,
}

impl Default for Fabric {
    fn default() -> Self {
        Fabric {
            state: FabricState::Completed,
            status: 0,
            clique_id: 1,
            cluster_uuid: "6a1f0c2e9b3d4e5f8a7b6c5d4e3f2a1b".into(),
        }
    }
}

/// NVML's `NVML_GPU_FABRIC_STATE_*`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FabricState {
    NotSupported,
    NotStarted,
    InProgress,
    Completed,
}

impl FabricState {
    pub fn code(self) -> u8 {
        match self {
            FabricState::NotSupported => 0,
            FabricState::NotStarted => 1,
            FabricState::InProgress => 2,
            FabricState::Completed => 3,
        }
    }
}

impl Default for DeviceProfile {
    fn default() -> Self {
        DeviceProfile {
            name: "NVIDIA Fake GPU".to_owned(),
            uuid: None,
            pci_bus_id: None,
            pci_device_id: 0,
            pci_subsystem_id: 0,
            memory_mib: Memory::default(),
            compute_capability: [8, 0],
            mig: None,
            ecc: None,
            retired_pages: RetiredPages::default(),
            remapped_rows: RemappedRows::default(),
            persistence_mode: true,
            compute_mode: ComputeMode::Default,
            power_limit_mw: PowerLimit::default(),
            power_usage_mw: 60_000,
            throttle_reasons: Vec::new(),
            pcie: Pcie::default(),
            temperature_c: 30,
            utilization: Utilization::default(),
            processes: Vec::new(),
            lost: false,
            lost_at_handle: false,
            lost_after_calls: None,
            unsupported: Vec::new(),
            no_permission: Vec::new(),
            fabric: None,
            cpu_affinity: None,
            numa_node: None,
            xid_events: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Memory {
    pub total: u64,
    /// Defaults to the sum of the processes' `used_mib`.
    pub used: Option<u64>,
    pub reserved: u64,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            total: 16384,
            used: None,
            reserved: 0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mig {
    pub current: bool,
    pub pending: bool,
    pub instances: Vec<MigInstance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigInstance {
    /// e.g. "1g.10gb"; the MIG device's name is "<parent name> MIG <profile>".
    pub profile: String,
    pub memory_mib: u64,
    #[serde(default)]
    pub used_mib: u64,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub gpu_instance_id: Option<u32>,
    #[serde(default)]
    pub compute_instance_id: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ecc {
    pub enabled: bool,
    /// Mode after the next reboot; defaults to `enabled`.
    pub pending: Option<bool>,
    pub volatile_uncorrectable: u64,
    pub aggregate_uncorrectable: u64,
    pub volatile_correctable: u64,
    pub aggregate_correctable: u64,
}

impl Default for Ecc {
    fn default() -> Self {
        Ecc {
            enabled: true,
            pending: None,
            volatile_uncorrectable: 0,
            aggregate_uncorrectable: 0,
            volatile_correctable: 0,
            aggregate_correctable: 0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetiredPages {
    pub pending: bool,
    pub single_bit: u32,
    pub double_bit: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemappedRows {
    pub correctable: u32,
    pub uncorrectable: u32,
    pub pending: bool,
    pub failed: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PowerLimit {
    pub enforced: u32,
    /// Defaults to `enforced`.
    pub default: Option<u32>,
    /// What `nvmlDeviceGetPowerManagementLimit` answers; defaults to `enforced`.
    pub current: Option<u32>,
}

impl Default for PowerLimit {
    fn default() -> Self {
        PowerLimit {
            enforced: 300_000,
            default: None,
            current: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pcie {
    pub r#gen: u32,
    /// Defaults to `gen`.
    pub max_gen: Option<u32>,
    pub width: u32,
    /// Defaults to `width`.
    pub max_width: Option<u32>,
}

impl Default for Pcie {
    fn default() -> Self {
        Pcie {
            r#gen: 4,
            max_gen: None,
            width: 16,
            max_width: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Utilization {
    pub gpu: u32,
    pub memory: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub pid: u32,
    pub used_mib: u64,
    /// What `nvmlSystemGetProcessName` answers for this pid.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub gpu_instance_id: Option<u32>,
    #[serde(default)]
    pub compute_instance_id: Option<u32>,
}

impl Profile {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.devices.len() > 255 {
            return Err(format!("{} devices; at most 255 are supported", self.devices.len()));
        }
        for (i, d) in self.devices.iter().enumerate() {
            if let Some(mig) = &d.mig
                && mig.instances.len() > 254
            {
                return Err(format!("device {i}: more than 254 MIG instances"));
            }
            let used = d.used_mib();
            if used.saturating_add(d.memory_mib.reserved) > d.memory_mib.total {
                return Err(format!(
                    "device {i}: used {used} MiB + reserved {} MiB exceeds total {} MiB",
                    d.memory_mib.reserved, d.memory_mib.total
                ));
            }
            if let Some(bus_id) = &d.pci_bus_id {
                parse_bus_id(bus_id).ok_or_else(|| format!("device {i}: bad pci_bus_id {bus_id:?}"))?;
            }
        }
        Ok(())
    }

    pub fn nvml_version(&self) -> String {
        self.nvml_version
            .clone()
            .unwrap_or_else(|| format!("12.{}", self.driver_version))
    }
}

impl DeviceProfile {
    pub fn used_mib(&self) -> u64 {
        self.memory_mib
            .used
            .unwrap_or_else(|| self.processes.iter().map(|p| p.used_mib).sum())
    }

    pub fn uuid(&self, index: usize) -> String {
        self.uuid
            .clone()
            .unwrap_or_else(|| format!("GPU-fa4e0000-0000-4000-8000-{index:012x}"))
    }

    pub fn pci_bus_id(&self, index: usize) -> String {
        self.pci_bus_id
            .clone()
            .unwrap_or_else(|| format!("00000000:{:02X}:00.0", index + 1))
    }

    pub fn throttle_mask(&self) -> u64 {
        self.throttle_reasons.iter().fold(0, |m, r| m | r.bit())
    }
}

impl MigInstance {
    pub fn uuid(&self, parent: usize, index: usize) -> String {
        self.uuid
            .clone()
            .unwrap_or_else(|| format!("MIG-fa4e0000-0000-4000-8000-{parent:06x}{index:06x}"))
    }

    pub fn gpu_instance_id(&self, index: usize) -> u32 {
        self.gpu_instance_id.unwrap_or(index as u32 + 1)
    }
}

/// `DDDDDDDD:BB:DD.F` (or `DDDD:BB:DD.F`) to (domain, bus, device).
pub fn parse_bus_id(s: &str) -> Option<(u32, u32, u32)> {
    let (domain, rest) = s.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (device, function) = rest.split_once('.')?;
    let hex = |p: &str| u32::from_str_radix(p, 16).ok();
    hex(function)?;
    Some((hex(domain)?, hex(bus)?, hex(device)?))
}
