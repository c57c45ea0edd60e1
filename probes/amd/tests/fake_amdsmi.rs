//! The AMD probe against the fake `libamd_smi` (`probes/fake-amdsmi`), through the real
//! binding: every AMD GPU profile, each written in the struct layouts of the ROCm release it
//! names (6.2, 6.3, 6.4, 7.2, and a library newer than any layout known), plus refusals.
//!
//! AMD SMI is process-global and the fake reads `FAKE_AMDSMI_PROFILE` at every `amdsmi_init`,
//! so all scenarios run one after another in a single test.

use std::path::{Path, PathBuf};

use modelspec_probe_amd::{AmdDevice, AmdProbeOptions, AmdSmiState, AmdSnapshot, Observed, UnavailableReason, probe};

include!("../../support/locate_fakes.rs");

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    let path = workspace_root().join("fixtures/amd-gpus").join(name);
    assert!(path.is_file(), "fixture {} does not exist", path.display());
    path
}

fn probe_with(library: &Path, profile: &Path) -> AmdSnapshot {
    // SAFETY: only this test touches the environment, and its scenarios run one at a time.
    unsafe { std::env::set_var("FAKE_AMDSMI_PROFILE", profile) };
    let snapshot = probe(&AmdProbeOptions {
        library: Some(library.to_path_buf()),
    });
    // Every snapshot survives a save and a replay.
    let text = serde_json::to_string(&snapshot).unwrap_or_else(|e| panic!("serialize: {e}"));
    let back: AmdSnapshot = serde_json::from_str(&text).unwrap_or_else(|e| panic!("read back: {e}\n{text}"));
    assert_eq!(back, snapshot);
    snapshot
}

/// A fixture changed by `edit`, in a temporary file.
fn edited(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> (tempfile_dir::Dir, PathBuf) {
    let text = std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut profile: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    edit(&mut profile);
    let dir = tempfile_dir::Dir::new();
    let path = dir.0.join(name);
    std::fs::write(&path, profile.to_string()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (dir, path)
}

/// A scratch folder removed on drop (no tempfile dependency for one file).
mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> Dir {
            let dir = std::env::temp_dir().join(format!("modelspec-probe-amd-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn devices(snapshot: &AmdSnapshot) -> (&str, &str, &[AmdDevice]) {
    match &snapshot.amdsmi {
        AmdSmiState::Available {
            library_version,
            devices,
            ..
        } => {
            let version = value(library_version);
            (version.version.as_str(), version.layouts.as_str(), devices)
        }
        AmdSmiState::Unavailable { reason, message } => panic!("expected AMD SMI: {reason:?}: {message}"),
    }
}

fn value<T: std::fmt::Debug>(observed: &Observed<T>) -> &T {
    match observed.value() {
        Some(v) => v,
        None => panic!("expected a value, got {observed:?}"),
    }
}

#[test]
fn every_profile_through_the_real_binding() {
    let library = build_and_locate_amdsmi();
    no_library();
    not_amd_smi();
    mi300x_x8(&library);
    mi325x_x8(&library);
    mi250x_x4(&library);
    mi210_x1(&library);
    mi300x_cpx(&library);
    mi300x_ras(&library);
    init_fails(&library);
    refusals(&library);
}

fn no_library() {
    let snapshot = probe(&AmdProbeOptions {
        library: Some(PathBuf::from("/nonexistent/libamd_smi.so")),
    });
    match snapshot.amdsmi {
        AmdSmiState::Unavailable {
            reason: UnavailableReason::NoLibrary,
            message,
        } => assert!(
            message.contains("--amdsmi-lib") && message.contains("MODELSPEC_AMDSMI_LIB"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
}

/// A library that is not AMD SMI at all.
fn not_amd_smi() {
    let snapshot = probe(&AmdProbeOptions {
        library: Some(PathBuf::from("libc.so.6")),
    });
    assert!(
        matches!(
            snapshot.amdsmi,
            AmdSmiState::Unavailable {
                reason: UnavailableReason::NotAmdSmi,
                ..
            }
        ),
        "{:?}",
        snapshot.amdsmi
    );
}

fn mi300x_x8(library: &Path) {
    let snapshot = probe_with(library, &fixture("mi300x-x8.json"));
    assert_eq!(snapshot.source, "amdsmi");
    let (version, layouts, gpus) = devices(&snapshot);
    assert_eq!((version, layouts), ("26.2.1", "rocm-7"));
    if let AmdSmiState::Available { driver_version, .. } = &snapshot.amdsmi {
        assert_eq!(value(driver_version), "6.12.12");
    }
    assert_eq!(gpus.len(), 8);
    let g = &gpus[0];
    assert_eq!(value(&g.market_name), "AMD Instinct MI300X");
    assert_eq!(value(&g.bdf), "0000:0c:00.0");
    assert_eq!(value(&gpus[7].bdf), "0000:df:00.0");
    assert_eq!(value(&g.uuid), "a0000000-74a1-1000-80b3-2f4e00000000");
    assert_eq!(value(&g.gfx_target), "gfx942");
    let asic = value(&g.asic);
    assert_eq!(
        (asic.vendor_id, asic.device_id_hex.as_str(), asic.compute_units),
        (0x1002, "0x74a1", Some(304))
    );
    let vram = value(&g.vram);
    assert_eq!((vram.total_mib, vram.used_mib), (196_592, 180_000));
    assert_eq!(value(&g.compute_partition), "SPX");
    assert_eq!(value(&g.memory_partition), "NPS1");
    assert_eq!(value(&g.ecc).uncorrectable, 0);
    let cap = value(&g.power_cap);
    assert_eq!((cap.cap_watts, cap.raw_cap_microwatts), (750.0, 750_000_000));
    assert_eq!(value(&g.throttle).throttle_status, Some(0));
    assert!(
        g.temperature.edge.is_unsupported(),
        "MI300 has no edge sensor: {:?}",
        g.temperature.edge
    );
    assert_eq!(*value(&gpus[3].temperature.hotspot), 47);
    assert_eq!(value(&g.activity).gfx_percent, Some(12));
    let processes = value(&g.processes);
    assert_eq!(processes.len(), 1);
    assert_eq!(
        (processes[0].pid, processes[0].name.as_str(), processes[0].vram_mib),
        (4242, "python3", 180_000)
    );
}

/// ROCm 6.4's layouts: 256-byte strings in asic_info, 704-byte process entries.
fn mi325x_x8(library: &Path) {
    let snapshot = probe_with(library, &fixture("mi325x-x8.json"));
    let (version, layouts, gpus) = devices(&snapshot);
    assert_eq!((version, layouts), ("25.3.0", "rocm-6.4"));
    assert_eq!(gpus.len(), 8);
    assert_eq!(value(&gpus[0].market_name), "AMD Instinct MI325X");
    assert_eq!(value(&gpus[0].asic).device_id_hex, "0x74a5");
    assert_eq!(value(&gpus[0].gfx_target), "gfx942");
    assert_eq!(value(&gpus[0].vram).total_mib, 262_144);
    assert_eq!(value(&gpus[0].power_cap).cap_watts, 1000.0);
    assert!(value(&gpus[0].processes).is_empty());
}

/// ROCm 6.3's layouts; two GCDs per package, each its own GPU; no partitions.
fn mi250x_x4(library: &Path) {
    let snapshot = probe_with(library, &fixture("mi250x-x4.json"));
    let (version, layouts, gpus) = devices(&snapshot);
    assert_eq!((version, layouts), ("24.7.1", "rocm-6.3"));
    assert_eq!(gpus.len(), 8, "four packages, two GCDs each");
    for g in gpus {
        assert_eq!(value(&g.gfx_target), "gfx90a");
        assert_eq!(value(&g.vram).total_mib, 65_536);
        assert_eq!(value(&g.asic).compute_units, Some(110));
        assert!(g.compute_partition.is_unsupported(), "{:?}", g.compute_partition);
        assert!(g.memory_partition.is_unsupported());
        assert_eq!(*value(&g.temperature.edge), 33);
    }
    assert!(gpus[0].power_cap.is_ok() && gpus[1].power_cap.is_unsupported());
}

/// ROCm 6.2's layouts: no graphics target or compute units; 224-byte process entries and
/// 64-byte driver strings.
fn mi210_x1(library: &Path) {
    let (_dir, profile) = edited("mi210-x1.json", |p| {
        p["devices"][0]["processes"] = serde_json::json!([{"pid": 77, "name": "vllm", "vram_mib": 60000}, {"pid": 78, "name": "python3", "vram_mib": 100}]);
    });
    let snapshot = probe_with(library, &profile);
    let (version, layouts, gpus) = devices(&snapshot);
    assert_eq!((version, layouts), ("24.6.1", "rocm-6.2"));
    let g = &gpus[0];
    assert_eq!(value(&g.market_name), "AMD Instinct MI210");
    let gfx = g.gfx_target.reason().unwrap_or_default();
    assert!(g.gfx_target.is_unsupported() && gfx.contains("ROCm 6.3"), "{gfx}");
    assert_eq!(value(&g.asic).compute_units, None);
    assert_eq!(value(&g.asic).device_id_hex, "0x740f");
    let processes = value(&g.processes);
    assert_eq!(
        processes
            .iter()
            .map(|p| (p.pid, p.name.as_str(), p.vram_mib))
            .collect::<Vec<_>>(),
        [(77, "vllm", 60_000), (78, "python3", 100)]
    );
    if let AmdSmiState::Available { driver_version, .. } = &snapshot.amdsmi {
        assert_eq!(value(driver_version), "6.7.0");
    }
}

/// CPX: eight partitions of one package, each its own GPU, on one socket.
fn mi300x_cpx(library: &Path) {
    let snapshot = probe_with(library, &fixture("mi300x-cpx.json"));
    let (_, _, gpus) = devices(&snapshot);
    assert_eq!(gpus.len(), 8);
    for (i, g) in gpus.iter().enumerate() {
        assert_eq!(value(&g.compute_partition), "CPX");
        assert_eq!(value(&g.memory_partition), "NPS4");
        assert_eq!(value(&g.vram).total_mib, 24_574);
        assert_eq!(value(&g.bdf), &format!("0000:0c:00.{i}"));
    }
}

/// RAS errors and throttling; a library newer than any known layout: read where the layouts
/// hold, the process list refused.
fn mi300x_ras(library: &Path) {
    let snapshot = probe_with(library, &fixture("mi300x-ras.json"));
    let (version, layouts, gpus) = devices(&snapshot);
    assert_eq!((version, layouts), ("26.5.0", "rocm-7-assumed"));
    let ecc = value(&gpus[3].ecc);
    assert_eq!((ecc.correctable, ecc.uncorrectable, ecc.deferred), (12, 2, 1));
    assert_eq!(value(&gpus[5].throttle).indep_throttle_status, Some(1));
    assert_eq!(*value(&gpus[5].temperature.hotspot), 96);
    assert_eq!(value(&gpus[0].market_name), "AMD Instinct MI300X");
    let why = gpus[0].processes.reason().unwrap_or_default();
    assert!(gpus[0].processes.is_unsupported() && why.contains("26.5.0"), "{why}");
}

fn init_fails(library: &Path) {
    let snapshot = probe_with(library, &fixture("node-init-fails.json"));
    match snapshot.amdsmi {
        AmdSmiState::Unavailable {
            reason: UnavailableReason::DriverNotLoaded,
            message,
        } => assert!(
            message.contains("AMDSMI_STATUS_DRIVER_NOT_LOADED") && message.contains("amdgpu"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
}

/// A question the GPU cannot answer is unsupported, one it may not is an error naming the
/// permission; the other facts are still there. No permission at init is its own reason.
fn refusals(library: &Path) {
    let (_dir, profile) = edited("mi300x-x8.json", |p| {
        p["devices"][0]["no_permission"] = serde_json::json!(["amdsmi_get_gpu_process_list"]);
        p["devices"][1]["unsupported"] =
            serde_json::json!(["amdsmi_get_gpu_total_ecc_count", "amdsmi_get_gpu_metrics_info"]);
    });
    let snapshot = probe_with(library, &profile);
    let (_, _, gpus) = devices(&snapshot);
    let why = gpus[0].processes.reason().unwrap_or_default();
    assert!(
        gpus[0].processes.is_error() && why.contains("AMDSMI_STATUS_NO_PERM"),
        "{why}"
    );
    assert!(gpus[1].ecc.is_unsupported() && gpus[1].throttle.is_unsupported());
    assert!(gpus[1].processes.is_ok() && gpus[0].ecc.is_ok());

    let (_dir, profile) = edited("node-init-fails.json", |p| p["init"] = "no_perm".into());
    let snapshot = probe_with(library, &profile);
    assert!(
        matches!(&snapshot.amdsmi, AmdSmiState::Unavailable { reason: UnavailableReason::NoPermission, message } if message.contains("render")),
        "{:?}",
        snapshot.amdsmi
    );
}
