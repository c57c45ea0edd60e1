//! The probe against the fake `libnvidia-ml` (`probes/fake-nvml`), one GPU profile at a time.
//!
//! NVML is process-global and the fake reads `FAKE_NVML_PROFILE` at every `nvmlInit`, so all
//! scenarios run one after another in a single test. The fake and its fixtures are part of this
//! workspace, so a missing fixture or a fake that does not build fails the test.

use std::path::{Path, PathBuf};

use modelspec_probe_gpu::{
    ComputeMode, DeviceFacts, GpuProbeOptions, GpuSnapshot, LibraryChosenBy, NvmlState, Observed, UnavailableReason,
    XidFacts, XidWatch, XidWatcher, probe,
};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    let path = workspace_root().join("fixtures/gpus").join(name);
    assert!(path.is_file(), "fixture {} does not exist", path.display());
    path
}

// `build_and_locate()`: builds `fake-nvml` with this test binary's profile and target
// directory, and answers the path of `libnvidia_ml.so`; it panics when the build fails.
include!("../../support/locate_fakes.rs");

/// Probes the fake library answering from `profile`.
fn probe_with_profile(library: &Path, profile: &Path) -> GpuSnapshot {
    // SAFETY: only this test touches the environment, and its scenarios run sequentially.
    unsafe { std::env::set_var("FAKE_NVML_PROFILE", profile) };
    probe(&GpuProbeOptions {
        library: Some(library.to_path_buf()),
        xid: XidWatch::default(),
    })
}

/// The devices of an available snapshot (anything else fails the test).
fn devices(snapshot: &GpuSnapshot) -> &[DeviceFacts] {
    match &snapshot.nvml {
        NvmlState::Available {
            devices, device_count, ..
        } => {
            assert_eq!(device_count.value().copied(), Some(devices.len() as u32));
            devices
        }
        NvmlState::Unavailable { reason, message } => panic!("expected NVML to be available: {reason:?}: {message}"),
    }
}

fn value<T: std::fmt::Debug>(observed: &Observed<T>) -> &T {
    match observed.value() {
        Some(value) => value,
        None => panic!("expected a value, got {observed:?}"),
    }
}

#[test]
fn scenarios_against_the_fake_nvml() {
    missing_library();
    let library = build_and_locate();
    let library = library.as_path();
    h100_node(library);
    a100_with_mig(library);
    t4_without_remapped_rows(library);
    node_with_a_lost_gpu(library);
    node_where_init_fails(library);
    gpu_lost_before_a_handle(library);
    memory_and_processes_unsupported_in_every_version(library);
    xid_errors_while_watching(library);
}

/// A fixture changed by `edit`, written to a temporary file.
fn edited_fixture(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let original = fixture(name);
    let text = std::fs::read_to_string(&original).unwrap_or_else(|error| panic!("{}: {error}", original.display()));
    let mut profile: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", original.display()));
    edit(&mut profile);
    let dir = std::env::temp_dir().join(format!("modelspec-probe-gpu-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    let path = dir.join(name);
    std::fs::write(&path, profile.to_string()).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    path
}

fn missing_library() {
    let snapshot = probe(&GpuProbeOptions {
        xid: XidWatch::default(),
        library: Some(PathBuf::from("/nonexistent/libnvidia-ml.so.1")),
    });
    assert_eq!(snapshot.source, "nvml");
    assert_eq!(snapshot.library.path, "/nonexistent/libnvidia-ml.so.1");
    assert_eq!(snapshot.library.chosen_by, LibraryChosenBy::Option);
    assert_eq!(snapshot.library.resolved_path, None);
    match &snapshot.nvml {
        NvmlState::Unavailable { reason, message } => {
            assert_eq!(*reason, UnavailableReason::NoLibrary);
            assert!(message.contains("--nvml-lib"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn h100_node(library: &Path) {
    let profile = fixture("h100-sxm-x8.json");
    let snapshot = probe_with_profile(library, &profile);
    let devices = devices(&snapshot);
    assert_eq!(snapshot.library.chosen_by, LibraryChosenBy::Option);
    assert!(snapshot.library.resolved_path.is_some(), "{:?}", snapshot.library);
    assert!(
        snapshot.observed_at.ends_with('Z') && snapshot.observed_at.len() == 24,
        "{}",
        snapshot.observed_at
    );

    let NvmlState::Available { system, .. } = &snapshot.nvml else {
        unreachable!("checked by devices()");
    };
    assert!(system.driver_version.is_ok(), "{system:?}");
    assert!(system.nvml_version.is_ok(), "{system:?}");
    let cuda = value(&system.cuda_driver_version);
    assert_eq!(cuda.version, format!("{}.{}", cuda.raw / 1000, cuda.raw % 1000 / 10));

    assert_eq!(devices.len(), 8);
    for (index, device) in devices.iter().enumerate() {
        assert_eq!(device.index, index as u32);
        assert!(!device.lost);
        assert!(value(&device.name).contains("H100"), "{:?}", device.name);
        assert!(value(&device.uuid).starts_with("GPU-"), "{:?}", device.uuid);
        let memory = value(&device.memory);
        assert_eq!(memory.total_mib, 81559);
        assert_eq!(memory.read_with, "nvmlDeviceGetMemoryInfo_v2");
        assert!(memory.reserved_mib.is_some());
        let cc = value(&device.compute_capability);
        assert_eq!(cc.to_string(), "9.0");
        let pci = value(&device.pci);
        assert_eq!(pci.device_id & 0xffff, 0x10de, "{pci:?}");
        assert_eq!(pci.device_id_hex, format!("{:#010x}", pci.device_id));
        assert!(!value(&device.mig.mode).current_enabled);
        assert_eq!(value(&device.mig.instances), &Vec::new());
        assert!(device.remapped_rows.is_ok(), "{:?}", device.remapped_rows);
        assert!(device.ecc.mode.is_ok(), "{:?}", device.ecc.mode);
        assert!(device.ecc.uncorrected_volatile.is_ok());
        assert!(device.ecc.uncorrected_aggregate.is_ok());
        assert!(device.retired_pages_pending.is_ok());
        assert!(device.persistence_mode.is_ok());
        assert!(matches!(
            value(&device.compute_mode),
            ComputeMode::Default | ComputeMode::ExclusiveProcess
        ));
        let enforced = value(&device.power_limit.enforced);
        assert!((enforced.watts * 1000.0 - f64::from(enforced.milliwatts)).abs() < 1e-6);
        assert!(device.power_limit.default.is_ok());
        let reasons = value(&device.clock_event_reasons);
        assert_eq!(reasons.active.is_empty(), reasons.raw_mask == 0);
        assert!(device.pcie_link.current_gen.is_ok());
        assert!(device.pcie_link.current_width.is_ok());
        assert!(device.pcie_link.max_gen.is_ok());
        assert!(device.pcie_link.max_width.is_ok());
        assert!(device.temperature_c.is_ok());
        assert!(device.utilization.is_ok());
        assert!(device.compute_processes.is_ok(), "{:?}", device.compute_processes);
    }
    let uuids: std::collections::BTreeSet<_> = devices.iter().filter_map(|d| d.uuid.value()).collect();
    assert_eq!(uuids.len(), 8, "UUIDs must be distinct");

    round_trips(&snapshot);
}

fn a100_with_mig(library: &Path) {
    let profile = fixture("a100-mig.json");
    let snapshot = probe_with_profile(library, &profile);
    let devices = devices(&snapshot);
    let with_mig: Vec<_> = devices
        .iter()
        .filter(|device| device.mig.mode.value().is_some_and(|mode| mode.current_enabled))
        .collect();
    assert!(!with_mig.is_empty(), "a100-mig.json should have a GPU with MIG on");
    for device in with_mig {
        let instances = value(&device.mig.instances);
        assert!(!instances.is_empty(), "{device:?}");
        for instance in instances {
            let name = value(&instance.name);
            let profile = instance
                .profile
                .as_deref()
                .unwrap_or_else(|| panic!("no profile in {name:?}"));
            assert!(name.ends_with(&format!("MIG {profile}")), "{name} / {profile}");
            assert!(value(&instance.uuid).starts_with("MIG-"), "{:?}", instance.uuid);
            assert!(*value(&instance.memory_total_mib) > 0);
            assert!(instance.gpu_instance_id.is_ok(), "{:?}", instance.gpu_instance_id);
        }
    }
    round_trips(&snapshot);
}

fn t4_without_remapped_rows(library: &Path) {
    let profile = fixture("t4-x1.json");
    let snapshot = probe_with_profile(library, &profile);
    let devices = devices(&snapshot);
    assert_eq!(devices.len(), 1);
    let t4 = &devices[0];
    assert!(value(&t4.name).contains("T4"), "{:?}", t4.name);
    assert!(t4.remapped_rows.is_unsupported(), "{:?}", t4.remapped_rows);
    assert!(!t4.lost);
    // MIG is not a T4 feature: unsupported, and so are its instances, not an error.
    assert!(!t4.mig.mode.is_error(), "{:?}", t4.mig.mode);
    assert!(!t4.mig.instances.is_error(), "{:?}", t4.mig.instances);
    assert_eq!(value(&t4.compute_capability).to_string(), "7.5");
    round_trips(&snapshot);
}

fn node_with_a_lost_gpu(library: &Path) {
    let profile = fixture("node-lost-gpu.json");
    let snapshot = probe_with_profile(library, &profile);
    let devices = devices(&snapshot);
    assert!(devices.len() > 2, "{} devices", devices.len());
    for device in devices {
        if device.index == 2 {
            assert!(device.lost, "{device:?}");
            assert!(device.memory.is_error(), "{:?}", device.memory);
            let reason = device.memory.reason().unwrap_or_default();
            assert!(reason.contains("fallen off the bus"), "{reason}");
            assert!(device.temperature_c.is_error());
            assert!(device.compute_processes.is_error());
        } else {
            assert!(!device.lost, "{device:?}");
            assert!(device.name.is_ok(), "{:?}", device.name);
            assert!(device.memory.is_ok(), "{:?}", device.memory);
            assert!(device.temperature_c.is_ok(), "{:?}", device.temperature_c);
        }
    }
    round_trips(&snapshot);
}

fn node_where_init_fails(library: &Path) {
    let profile = fixture("node-init-fails.json");
    let snapshot = probe_with_profile(library, &profile);
    match &snapshot.nvml {
        NvmlState::Unavailable { reason, message } => {
            assert_eq!(*reason, UnavailableReason::DriverNotLoaded, "{message}");
            assert!(message.contains("driver is not loaded"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    round_trips(&snapshot);
}

fn remove_edited_fixture(path: &Path) {
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Even `nvmlDeviceGetHandleByIndex` says GPU_IS_LOST: the device is still listed, lost.
fn gpu_lost_before_a_handle(library: &Path) {
    let profile = edited_fixture("node-lost-gpu.json", |profile| {
        profile["devices"][2]["lost_at_handle"] = true.into();
    });
    let snapshot = probe_with_profile(library, &profile);
    remove_edited_fixture(&profile);
    let devices = devices(&snapshot);
    let lost = &devices[2];
    assert_eq!(lost.index, 2);
    assert!(lost.lost, "{lost:?}");
    let reason = lost.name.reason().unwrap_or_default();
    assert!(lost.name.is_error(), "{:?}", lost.name);
    assert!(
        reason.contains("could not be opened") && reason.contains("NVML_ERROR_GPU_IS_LOST"),
        "{reason}"
    );
    assert!(lost.mig.instances.is_error() && lost.remapped_rows.is_error());
    assert!(
        devices
            .iter()
            .filter(|device| device.index != 2)
            .all(|device| !device.lost && device.name.is_ok())
    );
    round_trips(&snapshot);
}

/// NOT_SUPPORTED from both the newer and the older function: unsupported, naming both.
fn memory_and_processes_unsupported_in_every_version(library: &Path) {
    let profile = edited_fixture("t4-x1.json", |profile| {
        profile["unsupported"] = serde_json::json!(["nvmlDeviceGetMemoryInfo", "nvmlDeviceGetComputeRunningProcesses"]);
    });
    let snapshot = probe_with_profile(library, &profile);
    remove_edited_fixture(&profile);
    let devices = devices(&snapshot);
    let t4 = &devices[0];
    assert!(t4.memory.is_unsupported(), "{:?}", t4.memory);
    let reason = t4.memory.reason().unwrap_or_default();
    assert!(
        reason.contains("nvmlDeviceGetMemoryInfo_v2:") && reason.contains("nvmlDeviceGetMemoryInfo:"),
        "{reason}"
    );
    assert!(t4.compute_processes.is_unsupported(), "{:?}", t4.compute_processes);
    assert!(t4.name.is_ok() && t4.temperature_c.is_ok() && !t4.lost);
    round_trips(&snapshot);
}

fn round_trips(snapshot: &GpuSnapshot) {
    let json = serde_json::to_string(snapshot).unwrap_or_else(|error| panic!("serialize: {error}"));
    let back: GpuSnapshot = serde_json::from_str(&json).unwrap_or_else(|error| panic!("deserialize: {error}"));
    assert_eq!(&back, snapshot);
}

/// XIDs arrive as NVML events while someone watches: a one-shot probe sees those due while it
/// reads (and as long as asked), a watcher sees them as they come; a GPU that cannot register
/// says why (NOT_SUPPORTED, NO_PERMISSION), and the others are still watched.
fn xid_errors_while_watching(library: &Path) {
    let profile = edited_fixture("h100-sxm-x8.json", |profile| {
        profile["devices"][0]["xid_events"] = serde_json::json!([{"xid": 79}, {"xid": 48, "after_ms": 0}]);
        profile["devices"][1]["xid_events"] = serde_json::json!([{"xid": 94, "after_ms": 400}]);
        profile["devices"][2]["unsupported"] = serde_json::json!(["nvmlDeviceRegisterEvents"]);
        profile["devices"][3]["no_permission"] = serde_json::json!(["nvmlDeviceRegisterEvents"]);
        profile["devices"][4]["xid_events"] = serde_json::json!([{"xid": 999}]);
    });
    let xids = |facts: &Observed<XidFacts>| -> Vec<Option<u64>> { value(facts).events.iter().map(|e| e.xid).collect() };

    // One shot, no longer than the reading: the due events, not the later one.
    let snapshot = probe_with_profile(library, &profile);
    let gpus = devices(&snapshot);
    assert_eq!(xids(&gpus[0].xid), vec![Some(79), Some(48)]);
    assert!(xids(&gpus[1].xid).is_empty(), "{:?}", gpus[1].xid);
    assert!(gpus[2].xid.is_unsupported(), "{:?}", gpus[2].xid);
    let refused = gpus[3].xid.reason().unwrap_or_default();
    assert!(
        gpus[3].xid.is_error() && refused.contains("NVML_ERROR_NO_PERMISSION"),
        "{refused}"
    );
    assert_eq!(xids(&gpus[4].xid), vec![None], "999 is NVML's unknown XID");
    let quiet = value(&gpus[5].xid);
    assert!(quiet.events.is_empty() && quiet.since.ends_with('Z'), "{quiet:?}");
    round_trips(&snapshot);

    // Asked to watch for 600 ms: the later event too.
    let snapshot = probe(&GpuProbeOptions {
        library: Some(library.to_path_buf()),
        xid: XidWatch::During(std::time::Duration::from_millis(600)),
    });
    let gpus = devices(&snapshot);
    assert_eq!(xids(&gpus[1].xid), vec![Some(94)]);
    assert!(value(&gpus[1].xid).watched_ms >= 600, "{:?}", gpus[1].xid);

    // A watcher on its own thread: a probe taking its record sees what arrived since it began,
    // however short the probe.
    let watcher = XidWatcher::start(Some(library.to_path_buf()));
    let from_watcher = || {
        probe(&GpuProbeOptions {
            library: Some(library.to_path_buf()),
            xid: XidWatch::From(watcher.clone()),
        })
    };
    let early = from_watcher();
    assert!(xids(&devices(&early)[1].xid).is_empty(), "{:?}", devices(&early)[1].xid);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let later = from_watcher();
    assert_eq!(xids(&devices(&later)[0].xid), vec![Some(79), Some(48)]);
    assert_eq!(xids(&devices(&later)[1].xid), vec![Some(94)]);
    assert!(devices(&later)[2].xid.is_unsupported());
    drop(watcher);

    // A library that cannot be loaded: the watcher says so for every GPU.
    let broken = XidWatcher::start(Some(PathBuf::from("/nonexistent/libnvidia-ml.so.1")));
    let snapshot = probe(&GpuProbeOptions {
        library: Some(library.to_path_buf()),
        xid: XidWatch::From(broken),
    });
    let facts = &devices(&snapshot)[0].xid;
    assert!(
        facts.reason().unwrap_or_default().contains("watch for XIDs"),
        "{facts:?}"
    );
    remove_edited_fixture(&profile);
}
