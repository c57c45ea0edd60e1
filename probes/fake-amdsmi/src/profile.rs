//! The AMD GPU profile: the JSON file named by `FAKE_AMDSMI_PROFILE`. Unknown keys are
//! rejected, so a typo in a fixture fails at `amdsmi_init` instead of falling back to a default.

use serde::Deserialize;

/// What `amdsmi_init` answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InitOutcome {
    #[default]
    Ok,
    DriverNotLoaded,
    NoPerm,
    InitError,
}

/// Which ROCm release's struct layouts the fake writes (and the version it reports).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum Abi {
    /// Library 24.6.1 (ROCm 6.2).
    #[serde(rename = "6.2")]
    Rocm62,
    /// 24.7.1 (ROCm 6.3).
    #[serde(rename = "6.3")]
    Rocm63,
    /// 25.3.0 (ROCm 6.4.0; reported as year 25, 25.3.0).
    #[serde(rename = "6.4")]
    Rocm64,
    /// 26.2.1 (ROCm 7.2).
    #[default]
    #[serde(rename = "7.2")]
    Rocm72,
    /// 26.5.0: a library newer than any layout the reader knows (ROCm 7.2's layouts).
    #[serde(rename = "7.5")]
    Rocm75,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Free text for humans; ignored.
    #[serde(default, rename = "comment")]
    pub _comment: Option<serde_json::Value>,
    #[serde(default)]
    pub init: InitOutcome,
    #[serde(default)]
    pub abi: Abi,
    #[serde(default = "default_driver")]
    pub driver_version: String,
    /// Functions answering NOT_SUPPORTED on every device.
    #[serde(default)]
    pub unsupported: Vec<String>,
    pub devices: Vec<Device>,
}

fn default_driver() -> String {
    "6.10.5".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub market_name: String,
    pub uuid: String,
    /// `0000:0c:00.0`.
    pub bdf: String,
    /// The socket (package) it belongs to: the GPUs of a partitioned package share one.
    /// [its own]
    #[serde(default)]
    pub socket: Option<u32>,
    #[serde(default = "amd")]
    pub vendor_id: u32,
    pub device_id: u64,
    #[serde(default)]
    pub rev_id: u32,
    #[serde(default)]
    pub compute_units: Option<u32>,
    /// `gfx942`; written as its hex digits (0x942).
    pub gfx: String,
    pub vram_mib: VramMib,
    /// `SPX`, `CPX`; absent: NOT_SUPPORTED.
    #[serde(default)]
    pub compute_partition: Option<String>,
    /// `NPS1`; absent: NOT_SUPPORTED.
    #[serde(default)]
    pub memory_partition: Option<String>,
    #[serde(default)]
    pub ecc: Option<Ecc>,
    #[serde(default)]
    pub power_cap_w: Option<PowerCapW>,
    /// The metrics table's throttle masks; absent: all ones (not reported).
    #[serde(default)]
    pub throttle_status: Option<u32>,
    #[serde(default)]
    pub indep_throttle_status: Option<u64>,
    #[serde(default)]
    pub temperature_c: Temperatures,
    #[serde(default)]
    pub activity: Option<ActivityPercent>,
    #[serde(default)]
    pub processes: Vec<Process>,
    /// Functions answering NOT_SUPPORTED on this device.
    #[serde(default)]
    pub unsupported: Vec<String>,
    /// Functions answering NO_PERM on this device.
    #[serde(default)]
    pub no_permission: Vec<String>,
}

fn amd() -> u32 {
    0x1002
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VramMib {
    pub total: u32,
    #[serde(default)]
    pub used: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ecc {
    #[serde(default)]
    pub correctable: u64,
    #[serde(default)]
    pub uncorrectable: u64,
    #[serde(default)]
    pub deferred: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerCapW {
    pub cap: u64,
    pub default: u64,
    pub max: u64,
}

/// °C per sensor; absent: NOT_SUPPORTED.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Temperatures {
    pub edge: Option<i64>,
    pub hotspot: Option<i64>,
    pub vram: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityPercent {
    pub gfx: u32,
    pub umc: u32,
    pub mm: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub vram_mib: u64,
}
