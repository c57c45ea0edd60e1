//! The probe against a tiny NVML from an "old driver": it has only the v1 memory and process
//! queries, no `_v2`/`_v3` ones, no remapped rows, and no `nvmlShutdown` at all.
//!
//! This is what the fallbacks and the shutdown handling exist for: the v1 functions must be
//! used, every missing function must read as unsupported, and the missing `nvmlShutdown`
//! (which makes nvml-wrapper's `Drop` panic) must not crash the probe. The library is compiled
//! here from the Rust source below with `rustc`; without `rustc` the test prints "skipped".
//! It runs in its own test binary because NVML is process-global.

use std::path::{Path, PathBuf};
use std::process::Command;

use modelspec_probe_gpu::{GpuProbeOptions, NvmlState, Observed, probe};

const OLD_NVML_SOURCE: &str = r#"
#![allow(non_snake_case)]
use std::ffi::{c_char, c_uint, c_void};

const SUCCESS: u32 = 0;
const INVALID_ARGUMENT: u32 = 2;
const INSUFFICIENT_SIZE: u32 = 7;
const MIB: u64 = 1024 * 1024;
const HANDLE: usize = 0x1000;

#[repr(C)]
pub struct Memory { total: u64, free: u64, used: u64 }

#[repr(C)]
pub struct ProcessV1 { pid: c_uint, used_gpu_memory: u64 }

unsafe fn put_str(text: &str, buffer: *mut c_char, length: c_uint) -> u32 {
    if buffer.is_null() || text.len() + 1 > length as usize { return INSUFFICIENT_SIZE; }
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), buffer, text.len());
        *buffer.add(text.len()) = 0;
    }
    SUCCESS
}

fn known(device: *mut c_void) -> bool { device as usize == HANDLE }

#[unsafe(no_mangle)]
pub extern "C" fn nvmlInit_v2() -> u32 { SUCCESS }

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlSystemGetDriverVersion(version: *mut c_char, length: c_uint) -> u32 {
    unsafe { put_str("390.157", version, length) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCount_v2(count: *mut c_uint) -> u32 {
    unsafe { *count = 1 };
    SUCCESS
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex_v2(index: c_uint, device: *mut *mut c_void) -> u32 {
    if index != 0 { return INVALID_ARGUMENT; }
    unsafe { *device = HANDLE as *mut c_void };
    SUCCESS
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetName(device: *mut c_void, name: *mut c_char, length: c_uint) -> u32 {
    if !known(device) { return INVALID_ARGUMENT; }
    unsafe { put_str("Tesla K80", name, length) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetMemoryInfo(device: *mut c_void, memory: *mut Memory) -> u32 {
    if !known(device) || memory.is_null() { return INVALID_ARGUMENT; }
    unsafe { *memory = Memory { total: 11441 * MIB, free: 10441 * MIB, used: 1000 * MIB } };
    SUCCESS
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetComputeRunningProcesses(
    device: *mut c_void,
    count: *mut c_uint,
    infos: *mut ProcessV1,
) -> u32 {
    if !known(device) || count.is_null() { return INVALID_ARGUMENT; }
    unsafe {
        if infos.is_null() || *count < 2 {
            *count = 2;
            return INSUFFICIENT_SIZE;
        }
        *infos = ProcessV1 { pid: 77, used_gpu_memory: 1000 * MIB };
        // NVML_VALUE_NOT_AVAILABLE: the driver cannot say.
        *infos.add(1) = ProcessV1 { pid: 78, used_gpu_memory: u64::MAX };
        *count = 2;
    }
    SUCCESS
}
"#;

/// Compiles the old NVML into a fresh directory; `None` (after saying "skipped") without rustc.
fn build_old_nvml() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("modelspec-probe-gpu-old-nvml-{}", std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&dir) {
        println!("skipped: cannot create {}: {error}", dir.display());
        return None;
    }
    let source = dir.join("old_nvml.rs");
    if let Err(error) = std::fs::write(&source, OLD_NVML_SOURCE) {
        println!("skipped: cannot write {}: {error}", source.display());
        return None;
    }
    let library = dir.join("libold_nvml.so");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "cdylib",
            "--crate-name",
            "old_nvml",
            "-o",
        ])
        .arg(&library)
        .arg(&source)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status();
    match status {
        Ok(status) if status.success() && library.is_file() => Some(library),
        // The source is ours: a build failure is a bug to see, not a reason to skip.
        Ok(status) => panic!("rustc could not build the old NVML ({status})"),
        Err(error) => {
            println!("skipped: cannot run rustc: {error}");
            None
        }
    }
}

fn remove_build(library: &Path) {
    if let Some(dir) = library.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn old_driver_uses_v1_functions_and_survives_missing_shutdown() {
    let Some(library) = build_old_nvml() else {
        return;
    };
    // Twice: the first run leaves the library loaded (it cannot be shut down), the second must
    // still work.
    let first = probe(&GpuProbeOptions {
        library: Some(library.clone()),
        ..Default::default()
    });
    let second = probe(&GpuProbeOptions {
        library: Some(library.clone()),
        ..Default::default()
    });
    remove_build(&library);

    for snapshot in [&first, &second] {
        let NvmlState::Available {
            system,
            device_count,
            devices,
        } = &snapshot.nvml
        else {
            panic!("expected NVML to be available: {:?}", snapshot.nvml);
        };
        assert_eq!(
            system.driver_version,
            Observed::Ok {
                value: "390.157".into()
            }
        );
        assert!(
            system.cuda_driver_version.is_unsupported(),
            "{:?}",
            system.cuda_driver_version
        );
        let reason = system.cuda_driver_version.reason().unwrap_or_default();
        assert!(reason.contains("nvmlSystemGetCudaDriverVersion_v2"), "{reason}");
        assert!(system.nvml_version.is_unsupported());
        assert_eq!(device_count.value(), Some(&1));

        let [device] = devices.as_slice() else {
            panic!("expected one device, got {devices:?}");
        };
        assert!(!device.lost);
        assert_eq!(device.name.value().map(String::as_str), Some("Tesla K80"));

        let memory = device.memory.value().unwrap_or_else(|| panic!("{:?}", device.memory));
        assert_eq!(memory.read_with, "nvmlDeviceGetMemoryInfo");
        assert_eq!(
            (memory.total_mib, memory.used_mib, memory.free_mib),
            (11441, 1000, 10441)
        );
        assert_eq!(memory.reserved_mib, None);

        let processes = device
            .compute_processes
            .value()
            .unwrap_or_else(|| panic!("{:?}", device.compute_processes));
        assert_eq!(processes.len(), 2);
        assert_eq!((processes[0].pid, processes[0].used_memory_mib), (77, Some(1000)));
        assert_eq!((processes[1].pid, processes[1].used_memory_mib), (78, None));

        // Everything this driver lacks is unsupported, naming the function, never an error.
        assert!(device.remapped_rows.is_unsupported(), "{:?}", device.remapped_rows);
        let reason = device.remapped_rows.reason().unwrap_or_default();
        assert!(reason.contains("nvmlDeviceGetRemappedRows"), "{reason}");
        for unsupported in [
            device.uuid.reason(),
            device.pci.reason(),
            device.compute_capability.reason(),
            device.mig.mode.reason(),
            device.mig.instances.reason(),
            device.ecc.mode.reason(),
            device.clock_event_reasons.reason(),
            device.temperature_c.reason(),
            device.utilization.reason(),
            device.power_limit.enforced.reason(),
        ] {
            let reason = unsupported.unwrap_or_else(|| panic!("expected a reason in {device:?}"));
            assert!(
                reason.contains("undefined symbol") || reason.contains("no such function"),
                "{reason}"
            );
        }
        assert!(device.uuid.is_unsupported() && device.temperature_c.is_unsupported());
        assert!(device.mig.instances.is_unsupported());
    }
}
