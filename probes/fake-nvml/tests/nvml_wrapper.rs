//! Loads the built fake through the real `nvml-wrapper` and checks what it answers for the
//! fixtures in `fixtures/gpus/`. NVML state is process-global, so every scenario runs in one
//! test, one after another.

include!("../../support/locate_fakes.rs");

use std::path::{Path, PathBuf};

use nvml_wrapper::Nvml;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{ComputeMode, EccCounter, MemoryError, RetirementCause, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;

const MIB: u64 = 1024 * 1024;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/gpus")
        .join(name)
}

fn init_with(lib: &Path, profile: &Path) -> Result<Nvml, NvmlError> {
    // SAFETY: the single test of this binary is the only thread touching the environment.
    unsafe { std::env::set_var("FAKE_NVML_PROFILE", profile) };
    Nvml::builder().lib_path(lib.as_os_str()).init()
}

fn init(lib: &Path, name: &str) -> Nvml {
    init_with(lib, &fixture(name)).unwrap_or_else(|e| panic!("init with {name}: {e:?}"))
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

/// Writes a throwaway profile and answers its path.
fn temp_profile(name: &str, body: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("fake-nvml-{}-{name}.json", std::process::id()));
    std::fs::write(&path, body).unwrap();
    path
}

/// (corrected, uncorrected, pending, failed) through the raw binding: nvml-wrapper 0.13 has no
/// method for nvmlDeviceGetRemappedRows.
fn remapped_rows(nvml: &Nvml, device: &nvml_wrapper::Device<'_>) -> Result<(u32, u32, u32, u32), NvmlError> {
    let (mut c, mut u, mut p, mut f) = (0, 0, 0, 0);
    // SAFETY: a valid handle from this Nvml and four writable u32s.
    let code = unsafe {
        nvml.lib()
            .nvmlDeviceGetRemappedRows(device.handle(), &mut c, &mut u, &mut p, &mut f)
    };
    if code == 0 {
        Ok((c, u, p, f))
    } else {
        Err(NvmlError::from(code))
    }
}

#[test]
fn nvml_wrapper_reads_the_fake() {
    let lib = build_and_locate();
    h100_node(&lib);
    processes(&lib);
    mig(&lib);
    t4(&lib);
    lost_gpu(&lib);
    unhealthy(&lib);
    init_failures(&lib);
    unsupported_and_defaults(&lib);
    every_fixture_loads(&lib);
    raw_abi(&lib);
}

fn h100_node(lib: &Path) {
    let nvml = init(lib, "h100-sxm-x8.json");
    let spec = json("h100-sxm-x8.json");
    assert_eq!(nvml.device_count().unwrap(), 8);
    assert_eq!(nvml.sys_driver_version().unwrap(), "550.54.15");
    assert_eq!(nvml.sys_nvml_version().unwrap(), "12.550.54.15");
    assert_eq!(nvml.sys_cuda_driver_version().unwrap(), 12040);
    for i in 0..8 {
        let d = nvml.device_by_index(i).unwrap();
        let s = &spec["devices"][i as usize];
        assert_eq!(d.index().unwrap(), i);
        assert_eq!(d.name().unwrap(), "NVIDIA H100 80GB HBM3");
        assert_eq!(d.uuid().unwrap(), s["uuid"].as_str().unwrap());
        let pci = d.pci_info().unwrap();
        assert_eq!(pci.bus_id, s["pci_bus_id"].as_str().unwrap());
        assert_eq!(pci.pci_device_id, 0x2330_10DE);
        assert_eq!(
            nvml.device_by_uuid(s["uuid"].as_str().unwrap())
                .unwrap()
                .index()
                .unwrap(),
            i
        );
        assert_eq!(
            nvml.device_by_pci_bus_id(pci.bus_id.as_str()).unwrap().index().unwrap(),
            i
        );
    }
    let d = nvml.device_by_index(0).unwrap();
    let pci = d.pci_info().unwrap();
    assert_eq!((pci.domain, pci.bus, pci.device), (0, 0x18, 0));
    let mem = d.memory_info().unwrap();
    assert_eq!(mem.total, 81559 * MIB);
    assert_eq!(mem.reserved, 569 * MIB);
    assert_eq!(mem.used, 0);
    assert_eq!(mem.free, (81559 - 569) * MIB);
    let cc = d.cuda_compute_capability().unwrap();
    assert_eq!((cc.major, cc.minor), (9, 0));
    let mig = d.mig_mode().unwrap();
    assert_eq!((mig.current, mig.pending), (0, 0));
    assert_eq!(d.mig_device_count().unwrap(), 0);
    assert!(matches!(d.mig_device_by_index(0), Err(NvmlError::NotFound)));
    assert!(!d.mig_is_mig_device_handle().unwrap());
    let ecc = d.is_ecc_enabled().unwrap();
    assert!(ecc.currently_enabled && ecc.pending_enabled);
    assert_eq!(
        d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Aggregate)
            .unwrap(),
        0
    );
    assert!(!d.are_pages_pending_retired().unwrap());
    assert!(d.retired_pages(RetirementCause::DoubleBitEccError).unwrap().is_empty());
    assert_eq!(remapped_rows(&nvml, &d).unwrap(), (0, 0, 0, 0));
    assert!(d.is_in_persistent_mode().unwrap());
    assert_eq!(d.compute_mode().unwrap(), ComputeMode::Default);
    assert_eq!(d.enforced_power_limit().unwrap(), 700_000);
    assert_eq!(d.power_management_limit_default().unwrap(), 700_000);
    assert_eq!(d.power_management_limit().unwrap(), 700_000);
    assert_eq!(d.power_usage().unwrap(), 70_000);
    assert_eq!(d.current_throttle_reasons().unwrap(), ThrottleReasons::GPU_IDLE);
    assert_eq!(
        (d.current_pcie_link_gen().unwrap(), d.max_pcie_link_gen().unwrap()),
        (5, 5)
    );
    assert_eq!(
        (d.current_pcie_link_width().unwrap(), d.max_pcie_link_width().unwrap()),
        (16, 16)
    );
    assert_eq!(d.temperature(TemperatureSensor::Gpu).unwrap(), 34);
    let util = d.utilization_rates().unwrap();
    assert_eq!((util.gpu, util.memory), (0, 0));
    assert!(d.running_compute_processes().unwrap().is_empty());
    assert_eq!(d.running_compute_processes_count().unwrap(), 0);
    assert!(matches!(nvml.device_by_index(8), Err(NvmlError::InvalidArg)));
    // NVML reference-counts init: a second instance may come and go.
    let second = init(lib, "h100-sxm-x8.json");
    second.shutdown().unwrap();
    assert_eq!(d.name().unwrap(), "NVIDIA H100 80GB HBM3");
    nvml.shutdown().unwrap();
}

fn processes(lib: &Path) {
    let nvml = init(lib, "a100-sxm4-80gb-x4.json");
    assert_eq!(nvml.device_count().unwrap(), 4);
    let d = nvml.device_by_index(0).unwrap();
    assert_eq!(d.name().unwrap(), "NVIDIA A100-SXM4-80GB");
    let procs = d.running_compute_processes().unwrap();
    assert_eq!(procs.len(), 1);
    assert_eq!(procs[0].pid, 31337);
    assert_eq!(procs[0].used_gpu_memory, UsedGpuMemory::Used(74210 * MIB));
    assert_eq!((procs[0].gpu_instance_id, procs[0].compute_instance_id), (None, None));
    let v2 = d.running_compute_processes_v2().unwrap();
    assert_eq!(v2.len(), 1);
    assert_eq!(v2[0].pid, 31337);
    assert_eq!(nvml.sys_process_name(31337, 64).unwrap(), "python3");
    assert!(matches!(nvml.sys_process_name(1, 64), Err(NvmlError::NotFound)));
    let mem = d.memory_info().unwrap();
    assert_eq!(mem.used, 74210 * MIB);
    assert_eq!(mem.free, (81920 - 74210 - 413) * MIB);
    assert_eq!(d.current_throttle_reasons().unwrap(), ThrottleReasons::empty());
    let cc = d.cuda_compute_capability().unwrap();
    assert_eq!((cc.major, cc.minor), (8, 0));
    assert_eq!(d.current_pcie_link_gen().unwrap(), 4);
    drop(nvml);
}

fn mig(lib: &Path) {
    let nvml = init(lib, "a100-mig.json");
    let d = nvml.device_by_index(0).unwrap();
    let mode = d.mig_mode().unwrap();
    assert_eq!((mode.current, mode.pending), (1, 1));
    assert_eq!(d.mig_device_count().unwrap(), 3);
    let expected = [("3g.40gb", 40192, 2), ("2g.20gb", 19968, 3), ("1g.10gb", 9728, 9)];
    for (i, (profile, mib, gi)) in expected.into_iter().enumerate() {
        let m = d.mig_device_by_index(i as u32).unwrap();
        assert_eq!(m.name().unwrap(), format!("NVIDIA A100-SXM4-80GB MIG {profile}"));
        assert_eq!(m.memory_info().unwrap().total, mib * MIB);
        assert!(m.uuid().unwrap().starts_with("MIG-"));
        assert!(m.mig_is_mig_device_handle().unwrap());
        assert_eq!(m.mig_parent_device().unwrap().index().unwrap(), 0);
        let mut id = 0;
        // SAFETY: a valid handle and a writable u32.
        assert_eq!(unsafe { nvml.lib().nvmlDeviceGetGpuInstanceId(m.handle(), &mut id) }, 0);
        assert_eq!(id, gi);
    }
    let m0 = d.mig_device_by_index(0).unwrap();
    assert_eq!(m0.memory_info().unwrap().used, 30210 * MIB);
    let procs = m0.running_compute_processes().unwrap();
    assert_eq!(procs.len(), 1);
    assert_eq!(procs[0].gpu_instance_id, Some(2));
    assert!(
        d.mig_device_by_index(1)
            .unwrap()
            .running_compute_processes()
            .unwrap()
            .is_empty()
    );
    assert!(matches!(d.mig_device_by_index(3), Err(NvmlError::NotFound)));
    assert!(matches!(m0.pci_info(), Err(NvmlError::NotSupported)));
    drop(nvml);
}

fn t4(lib: &Path) {
    let nvml = init(lib, "t4-x1.json");
    assert_eq!(nvml.sys_driver_version().unwrap(), "535.183.01");
    let d = nvml.device_by_index(0).unwrap();
    assert_eq!(d.name().unwrap(), "Tesla T4");
    assert_eq!(d.memory_info().unwrap().total, 15360 * MIB);
    let cc = d.cuda_compute_capability().unwrap();
    assert_eq!((cc.major, cc.minor), (7, 5));
    assert_eq!(d.current_pcie_link_gen().unwrap(), 3);
    assert!(d.is_ecc_enabled().unwrap().currently_enabled);
    assert!(matches!(remapped_rows(&nvml, &d), Err(NvmlError::NotSupported)));
    assert!(matches!(d.mig_mode(), Err(NvmlError::NotSupported)));
    assert!(matches!(d.mig_device_count(), Err(NvmlError::NotSupported)));
    drop(nvml);
}

fn lost_gpu(lib: &Path) {
    let nvml = init(lib, "node-lost-gpu.json");
    assert_eq!(nvml.device_count().unwrap(), 4);
    let lost = nvml.device_by_index(2).unwrap();
    assert!(matches!(lost.name(), Err(NvmlError::GpuLost)));
    assert!(matches!(lost.memory_info(), Err(NvmlError::GpuLost)));
    assert!(matches!(lost.uuid(), Err(NvmlError::GpuLost)));
    assert_eq!(
        nvml.device_by_index(1).unwrap().name().unwrap(),
        "NVIDIA A100-SXM4-80GB"
    );
    assert_eq!(nvml.device_by_index(3).unwrap().index().unwrap(), 3);
    drop(nvml);
}

fn unhealthy(lib: &Path) {
    let nvml = init(lib, "node-unhealthy.json");
    let sick = nvml.device_by_index(0).unwrap();
    assert_eq!(
        sick.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Aggregate)
            .unwrap(),
        3
    );
    assert_eq!(
        sick.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile)
            .unwrap(),
        1
    );
    assert_eq!(
        sick.total_ecc_errors(MemoryError::Corrected, EccCounter::Aggregate)
            .unwrap(),
        240
    );
    assert!(sick.are_pages_pending_retired().unwrap());
    let pages = sick.retired_pages(RetirementCause::DoubleBitEccError).unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|p| p.address != 0 && p.timestamp != 0));
    assert!(
        sick.retired_pages(RetirementCause::MultipleSingleBitEccErrors)
            .unwrap()
            .is_empty()
    );
    assert_eq!(remapped_rows(&nvml, &sick).unwrap(), (1, 7, 1, 1));
    let hot = nvml.device_by_index(1).unwrap();
    assert!(!hot.is_in_persistent_mode().unwrap());
    let reasons = hot.current_throttle_reasons().unwrap();
    assert!(reasons.contains(ThrottleReasons::HW_THERMAL_SLOWDOWN | ThrottleReasons::SW_THERMAL_SLOWDOWN));
    assert!(!reasons.contains(ThrottleReasons::GPU_IDLE));
    assert_eq!(hot.temperature(TemperatureSensor::Gpu).unwrap(), 91);
    drop(nvml);
}

fn init_failures(lib: &Path) {
    assert!(matches!(
        init_with(lib, &fixture("node-init-fails.json")),
        Err(NvmlError::DriverNotLoaded)
    ));
    let no_perm = temp_profile("no-permission", r#"{"init": "no_permission", "devices": []}"#);
    assert!(matches!(init_with(lib, &no_perm), Err(NvmlError::NoPermission)));
    let mismatch = temp_profile("mismatch", r#"{"init": "lib_rm_version_mismatch", "devices": []}"#);
    assert!(matches!(
        init_with(lib, &mismatch),
        Err(NvmlError::LibRmVersionMismatch)
    ));
    let garbage = temp_profile("garbage", r#"{"devices": [{"nmae": "typo"}]}"#);
    assert!(matches!(init_with(lib, &garbage), Err(NvmlError::Unknown)));
    assert!(matches!(
        init_with(lib, Path::new("/nonexistent/profile.json")),
        Err(NvmlError::Unknown)
    ));
    for p in [no_perm, mismatch, garbage] {
        let _ = std::fs::remove_file(p);
    }
}

fn unsupported_and_defaults(lib: &Path) {
    let path = temp_profile(
        "unsupported",
        r#"{
            "unsupported": ["nvmlDeviceGetPowerUsage"],
            "devices": [
                {"name": "NVIDIA L4", "unsupported": ["nvmlDeviceGetMemoryInfo", "nvmlDeviceGetCurrentClocksEventReasons"]},
                {"memory_mib": {"total": 1000, "reserved": 10}, "processes": [{"pid": 1, "used_mib": 100}, {"pid": 2, "used_mib": 50}]}
            ]
        }"#,
    );
    let nvml = init_with(lib, &path).unwrap();
    let a = nvml.device_by_index(0).unwrap();
    let b = nvml.device_by_index(1).unwrap();
    assert!(matches!(a.power_usage(), Err(NvmlError::NotSupported)));
    assert!(matches!(b.power_usage(), Err(NvmlError::NotSupported)));
    assert!(
        matches!(a.memory_info(), Err(NvmlError::NotSupported)),
        "listing a base name covers _v2"
    );
    assert!(matches!(a.current_throttle_reasons(), Err(NvmlError::NotSupported)));
    assert_eq!(a.name().unwrap(), "NVIDIA L4");
    let mem = b.memory_info().unwrap();
    assert_eq!(
        (mem.total, mem.used, mem.reserved, mem.free),
        (1000 * MIB, 150 * MIB, 10 * MIB, 840 * MIB)
    );
    assert_ne!(a.uuid().unwrap(), b.uuid().unwrap());
    assert_ne!(a.pci_info().unwrap().bus_id, b.pci_info().unwrap().bus_id);
    assert_eq!(b.running_compute_processes().unwrap().len(), 2);
    assert!(matches!(a.mig_mode(), Err(NvmlError::NotSupported)));
    assert!(matches!(a.is_ecc_enabled(), Err(NvmlError::NotSupported)));
    assert_eq!(nvml.sys_driver_version().unwrap(), "550.54.15");
    nvml.shutdown().unwrap();
    let _ = std::fs::remove_file(path);
}

/// Every fixture parses, and each device not lost answers its name.
fn every_fixture_loads(lib: &Path) {
    let dir = fixture("");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        seen += 1;
        let spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let nvml = match init_with(lib, &path) {
            Ok(nvml) => nvml,
            Err(e) => {
                assert_ne!(spec["init"], "ok", "{}: {e:?}", path.display());
                assert!(!matches!(e, NvmlError::Unknown), "{}: profile rejected", path.display());
                continue;
            }
        };
        let devices = spec["devices"].as_array().unwrap();
        assert_eq!(nvml.device_count().unwrap() as usize, devices.len());
        for (i, s) in devices.iter().enumerate() {
            let d = nvml.device_by_index(i as u32).unwrap();
            if s["lost"] == true {
                continue;
            }
            assert_eq!(d.name().unwrap(), s["name"].as_str().unwrap(), "{}", path.display());
            assert_eq!(
                d.memory_info().unwrap().total,
                s["memory_mib"]["total"].as_u64().unwrap() * MIB
            );
        }
    }
    assert!(seen >= 13, "only {seen} fixtures in {}", dir.display());
}

/// The C ABI edges nvml-wrapper never exercises: calls before init, unknown handles, null
/// out-pointers, short buffers, struct versions, list sizes.
fn raw_abi(lib: &Path) {
    use nvml_wrapper_sys::bindings as sys;
    use std::ffi::{c_char, c_uint};
    // SAFETY: every call below passes what NVML's C API expects, or a deliberately bad argument
    // that the fake must reject without touching it.
    unsafe {
        let nvml = sys::NvmlLib::new(lib.as_os_str()).unwrap();
        let mut count: c_uint = 0;
        assert_eq!(
            nvml.nvmlDeviceGetCount_v2(&mut count),
            sys::nvmlReturn_enum_NVML_ERROR_UNINITIALIZED
        );
        assert_eq!(nvml.nvmlShutdown(), sys::nvmlReturn_enum_NVML_ERROR_UNINITIALIZED);
        std::env::set_var("FAKE_NVML_PROFILE", fixture("a100-sxm4-80gb-x4.json"));
        assert_eq!(nvml.nvmlInit_v2(), 0);
        assert_eq!(
            nvml.nvmlDeviceGetCount_v2(std::ptr::null_mut()),
            sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT
        );
        let mut dev: sys::nvmlDevice_t = std::ptr::null_mut();
        assert_eq!(nvml.nvmlDeviceGetHandleByIndex_v2(0, &mut dev), 0);
        assert!(!dev.is_null());
        let mut name = [0 as c_char; 96];
        assert_eq!(
            nvml.nvmlDeviceGetName(dev, name.as_mut_ptr(), 5),
            sys::nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE
        );
        assert_eq!(
            nvml.nvmlDeviceGetName(dev, std::ptr::null_mut(), 96),
            sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT
        );
        // "NVIDIA A100-SXM4-80GB" is 21 bytes: 22 fit it and its NUL exactly.
        assert_eq!(nvml.nvmlDeviceGetName(dev, name.as_mut_ptr(), 22), 0);
        assert_eq!(
            std::ffi::CStr::from_ptr(name.as_ptr()).to_str().unwrap(),
            "NVIDIA A100-SXM4-80GB"
        );
        let bogus: sys::nvmlDevice_t = std::ptr::without_provenance_mut(0xdead_beef);
        assert_eq!(
            nvml.nvmlDeviceGetName(bogus, name.as_mut_ptr(), 96),
            sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            nvml.nvmlDeviceGetName(std::ptr::null_mut(), name.as_mut_ptr(), 96),
            sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT
        );
        let mut mem: sys::nvmlMemory_v2_t = std::mem::zeroed();
        assert_eq!(
            nvml.nvmlDeviceGetMemoryInfo_v2(dev, &mut mem),
            sys::nvmlReturn_enum_NVML_ERROR_ARGUMENT_VERSION_MISMATCH
        );
        let mut mem1: sys::nvmlMemory_t = std::mem::zeroed();
        assert_eq!(nvml.nvmlDeviceGetMemoryInfo(dev, &mut mem1), 0);
        assert_eq!(mem1.used, (74210 + 413) * MIB, "v1 used includes reserved");
        let mut n: c_uint = 0;
        assert_eq!(
            nvml.nvmlDeviceGetComputeRunningProcesses_v3(dev, &mut n, std::ptr::null_mut()),
            sys::nvmlReturn_enum_NVML_ERROR_INSUFFICIENT_SIZE
        );
        assert_eq!(n, 1);
        let mut v1 = [sys::nvmlProcessInfo_v1_t {
            pid: 0,
            usedGpuMemory: 0,
        }; 2];
        n = 2;
        assert_eq!(
            nvml.nvmlDeviceGetComputeRunningProcesses(dev, &mut n, v1.as_mut_ptr()),
            0
        );
        assert_eq!((n, v1[0].pid, v1[0].usedGpuMemory), (1, 31337, 74210 * MIB));
        let mut reasons = 0u64;
        assert_eq!(nvml.nvmlDeviceGetCurrentClocksEventReasons(dev, &mut reasons), 0);
        let mut temp: c_uint = 0;
        assert_eq!(
            nvml.nvmlDeviceGetTemperature(dev, 7, &mut temp),
            sys::nvmlReturn_enum_NVML_ERROR_INVALID_ARGUMENT
        );
        let msg = std::ffi::CStr::from_ptr(nvml.nvmlErrorString(sys::nvmlReturn_enum_NVML_ERROR_GPU_IS_LOST));
        assert_eq!(msg.to_str().unwrap(), "GPU is lost");
        assert_eq!(nvml.nvmlShutdown(), 0);
        assert_eq!(
            nvml.nvmlDeviceGetName(dev, name.as_mut_ptr(), 96),
            sys::nvmlReturn_enum_NVML_ERROR_UNINITIALIZED
        );
        // lost_at_handle: not even a handle.
        let path = temp_profile("lost-at-handle", r#"{"devices": [{"lost_at_handle": true}, {}]}"#);
        std::env::set_var("FAKE_NVML_PROFILE", &path);
        assert_eq!(nvml.nvmlInitWithFlags(0), 0);
        assert_eq!(
            nvml.nvmlDeviceGetHandleByIndex_v2(0, &mut dev),
            sys::nvmlReturn_enum_NVML_ERROR_GPU_IS_LOST
        );
        assert_eq!(nvml.nvmlDeviceGetHandleByIndex_v2(1, &mut dev), 0);
        assert_eq!(nvml.nvmlShutdown(), 0);
        let _ = std::fs::remove_file(path);
    }
}
