//! Asking AMD SMI, field by field, under `catch_unwind`: one failing question never hides the
//! others, and nothing the library does panics out of [`probe`].

use std::ffi::OsString;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use modelspec_probe_support::format_rfc3339_utc;

use crate::ffi::{self, AmdSmi, Gpu, Unusable};
use crate::observed::{Failure, Observed};
use crate::snapshot::{
    Activity, AmdDevice, AmdProcess, AmdSmiState, AmdSnapshot, AsicIds, EccCounts, LibraryChoice, LibraryChosenBy,
    LibraryVersion, PowerCap, Temperatures, Throttle, UnavailableReason, Vram,
};

/// The library asked when nothing else is given, through the loader search; when the loader
/// does not find it (a container whose ld.so.conf lacks ROCm's entry), `$ROCM_PATH/lib` and
/// `/opt/rocm/lib` are tried too ([`ROCM_LIB_DIRS`]).
pub const DEFAULT_LIBRARY: &str = "libamd_smi.so";

/// Where ROCm installs its libraries, tried in order after the loader search.
pub const ROCM_LIB_DIRS: &[&str] = &["$ROCM_PATH/lib", "/opt/rocm/lib"];

/// Environment variable naming the library when no explicit path is given.
pub const LIBRARY_ENV: &str = "MODELSPEC_AMDSMI_LIB";

/// The value `source` always has.
pub const SOURCE: &str = "amdsmi";

/// How to probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmdProbeOptions {
    /// The library to load (`--amdsmi-lib PATH`); else `MODELSPEC_AMDSMI_LIB`, else
    /// `libamd_smi.so` through the loader search.
    pub library: Option<PathBuf>,
}

impl AmdProbeOptions {
    /// The library this probe will load, and why.
    pub fn library_to_load(&self) -> (OsString, LibraryChosenBy) {
        modelspec_probe_support::library_to_load(self.library.as_deref(), LIBRARY_ENV, DEFAULT_LIBRARY)
    }
}

/// Reads every AMD GPU on this node through AMD SMI. Never panics and never fails: what could
/// not be read is described in the snapshot.
pub fn probe(options: &AmdProbeOptions) -> AmdSnapshot {
    let observed_at = format_rfc3339_utc(SystemTime::now());
    let started = Instant::now();
    let (library, chosen_by) = options.library_to_load();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| read(&library, chosen_by)));
    let (amdsmi, library) = outcome.unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|m| (*m).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        let state = AmdSmiState::Unavailable {
            reason: UnavailableReason::Other,
            message: format!("the AMD GPU probe failed unexpectedly while talking to AMD SMI (panic: {detail})"),
        };
        (state, library.clone())
    });
    AmdSnapshot {
        source: SOURCE.to_owned(),
        library: LibraryChoice {
            path: library.to_string_lossy().into_owned(),
            chosen_by,
        },
        observed_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        amdsmi,
    }
}

/// The default library through the loader, else in ROCm's directories; the first that loads
/// (or the loader's own failure when none does).
fn open_default() -> (Result<AmdSmi, Unusable>, OsString) {
    let first = AmdSmi::open(std::ffi::OsStr::new(DEFAULT_LIBRARY));
    if !matches!(first, Err(Unusable::NoLibrary(_))) {
        return (first, OsString::from(DEFAULT_LIBRARY));
    }
    for dir in ROCM_LIB_DIRS {
        let dir = match dir.strip_prefix("$ROCM_PATH") {
            Some(rest) => match std::env::var_os("ROCM_PATH").filter(|p| !p.is_empty()) {
                Some(root) => PathBuf::from(root).join(rest.trim_start_matches('/')),
                None => continue,
            },
            None => PathBuf::from(dir),
        };
        let path = dir.join(DEFAULT_LIBRARY);
        if path.is_file() {
            let attempt = AmdSmi::open(path.as_os_str());
            if !matches!(attempt, Err(Unusable::NoLibrary(_))) {
                return (attempt, path.into_os_string());
            }
        }
    }
    (first, OsString::from(DEFAULT_LIBRARY))
}

fn read(library: &std::ffi::OsStr, chosen_by: LibraryChosenBy) -> (AmdSmiState, OsString) {
    let (opened, used) = match chosen_by {
        LibraryChosenBy::LoaderSearch => open_default(),
        _ => (AmdSmi::open(library), library.to_os_string()),
    };
    (read_opened(opened, library), used)
}

fn read_opened(opened: Result<AmdSmi, Unusable>, library: &std::ffi::OsStr) -> AmdSmiState {
    let shown = library.to_string_lossy();
    let smi = match opened {
        Ok(smi) => smi,
        Err(Unusable::NoLibrary(detail)) => {
            return AmdSmiState::Unavailable {
                reason: UnavailableReason::NoLibrary,
                message: format!(
                    "AMD SMI could not be loaded from {shown}: {detail}. On an AMD GPU node, install ROCm's amd-smi-lib, or name the library with --amdsmi-lib PATH or {LIBRARY_ENV} ($ROCM_PATH/lib and /opt/rocm/lib are tried after the loader)"
                ),
            };
        }
        Err(Unusable::NotAmdSmi(message)) => {
            return AmdSmiState::Unavailable {
                reason: UnavailableReason::NotAmdSmi,
                message,
            };
        }
        Err(Unusable::Init(status)) => {
            let (reason, advice) = match status.0 {
                ffi::DRIVER_NOT_LOADED => (
                    UnavailableReason::DriverNotLoaded,
                    "the amdgpu kernel driver is not loaded: check `lsmod | grep amdgpu` and dmesg",
                ),
                ffi::NO_PERM => (
                    UnavailableReason::NoPermission,
                    "this user may not use the GPUs: run as root or in the video and render groups (in a container, pass /dev/kfd and /dev/dri)",
                ),
                _ => (
                    UnavailableReason::InitFailed,
                    "check the amdgpu driver (dmesg) and that the library matches the installed ROCm",
                ),
            };
            return AmdSmiState::Unavailable {
                reason,
                message: format!("amdsmi_init failed with {status}: {advice}"),
            };
        }
        Err(Unusable::Version(message)) => {
            return AmdSmiState::Unavailable {
                reason: UnavailableReason::InitFailed,
                message,
            };
        }
    };
    let library_version = Observed::Ok {
        value: LibraryVersion {
            version: smi.version.clone(),
            layouts: smi.layouts.name().to_string(),
        },
    };
    let gpus = match smi.gpus() {
        Ok(gpus) => gpus,
        Err(failure) => {
            return AmdSmiState::Available {
                library_version,
                driver_version: failure.to_observed(),
                devices: Vec::new(),
            };
        }
    };
    let driver_version = match gpus.first() {
        Some(&gpu) => smi.driver_version(gpu).into(),
        None => Observed::Unsupported {
            reason: "AMD SMI lists no GPU to ask for the driver's version".into(),
        },
    };
    let devices = gpus
        .iter()
        .enumerate()
        .map(|(index, &gpu)| read_device(&smi, u32::try_from(index).unwrap_or(u32::MAX), gpu))
        .collect();
    AmdSmiState::Available {
        library_version,
        driver_version,
        devices,
    }
}

fn read_device(smi: &AmdSmi, index: u32, gpu: Gpu) -> AmdDevice {
    let asic = smi.asic(gpu);
    let from_asic = |pick: &dyn Fn(&ffi::Asic) -> Result<String, Failure>| -> Observed<String> {
        match &asic {
            Ok(a) => pick(a).into(),
            Err(f) => f.to_observed(),
        }
    };
    let none_if = |v: u32| (v != u32::MAX && v != 0xFFFF).then_some(v);
    AmdDevice {
        index,
        market_name: from_asic(&|a| Ok(a.market_name.clone())),
        uuid: smi.uuid(gpu).into(),
        bdf: smi.bdf(gpu).into(),
        asic: match &asic {
            Ok(a) => Observed::Ok {
                value: AsicIds {
                    vendor_id: a.vendor_id,
                    device_id: a.device_id,
                    device_id_hex: format!("{:#06x}", a.device_id),
                    rev_id: a.rev_id,
                    compute_units: a.compute_units,
                },
            },
            Err(f) => f.to_observed(),
        },
        gfx_target: from_asic(&|a| {
            a.gfx.map(|v| format!("gfx{v:x}")).ok_or_else(|| {
                Failure::unsupported(format!(
                    "AMD SMI {} does not report the graphics target (ROCm 6.3 and later do)",
                    smi.version
                ))
            })
        }),
        vram: smi
            .vram(gpu)
            .map(|(total_mib, used_mib)| Vram { total_mib, used_mib })
            .into(),
        compute_partition: smi.partition(gpu, false).into(),
        memory_partition: smi.partition(gpu, true).into(),
        ecc: smi
            .ecc(gpu)
            .map(|[correctable, uncorrectable, deferred]| EccCounts {
                correctable,
                uncorrectable,
                deferred,
            })
            .into(),
        power_cap: smi
            .power_cap(gpu)
            .map(|[cap, default, max]| PowerCap {
                cap_watts: cap as f64 / 1e6,
                default_watts: default as f64 / 1e6,
                max_watts: max as f64 / 1e6,
                raw_cap_microwatts: cap,
            })
            .into(),
        throttle: smi
            .throttle(gpu)
            .map(|(status, indep)| Throttle {
                throttle_status: (status != u32::MAX).then_some(status),
                indep_throttle_status: (indep != u64::MAX).then_some(indep),
            })
            .into(),
        temperature: Temperatures {
            edge: smi.temperature(gpu, ffi::TEMP_EDGE).into(),
            hotspot: smi.temperature(gpu, ffi::TEMP_HOTSPOT).into(),
            vram: smi.temperature(gpu, ffi::TEMP_VRAM).into(),
        },
        activity: smi
            .activity(gpu)
            .map(|[gfx, umc, mm]| Activity {
                gfx_percent: none_if(gfx),
                memory_percent: none_if(umc),
                multimedia_percent: none_if(mm),
            })
            .into(),
        processes: smi
            .processes(gpu)
            .map(|list| {
                list.into_iter()
                    .map(|(pid, name, bytes)| AmdProcess {
                        pid,
                        name,
                        vram_mib: bytes / (1024 * 1024),
                    })
                    .collect()
            })
            .into(),
    }
}
