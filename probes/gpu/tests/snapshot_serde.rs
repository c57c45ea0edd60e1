//! Snapshots are saved on a node and replayed elsewhere: they must survive a JSON round trip
//! unchanged, and their JSON shape is part of the contract with the checker.

use modelspec_probe_gpu::{
    ClockEventReasons, ComputeCapability, ComputeMode, ComputeProcess, CudaDriverVersion, DeviceFacts, EccFacts,
    EccMode, FabricFacts, FabricState, GpuSnapshot, LibraryChoice, LibraryChosenBy, MemoryMib, MigFacts, MigInstance,
    MigMode, NvmlState, Observed, PciIdentity, PcieLink, Power, PowerLimits, RemappedRows, SystemFacts,
    UnavailableReason, Utilization, XidEvent, XidFacts,
};
use serde_json::{Value, json};

fn ok<T>(value: T) -> Observed<T> {
    Observed::Ok { value }
}

fn unsupported<T>() -> Observed<T> {
    Observed::Unsupported {
        reason: "this GPU or driver does not support this query (NVML_ERROR_NOT_SUPPORTED)".into(),
    }
}

fn lost<T>() -> Observed<T> {
    Observed::Error {
        reason: "the GPU has fallen off the bus (NVML_ERROR_GPU_IS_LOST)".into(),
    }
}

fn healthy_device() -> DeviceFacts {
    DeviceFacts {
        index: 0,
        lost: false,
        name: ok("NVIDIA A100-SXM4-40GB".into()),
        uuid: ok("GPU-fa4e0000-0000-4000-8000-000000000000".into()),
        pci: ok(PciIdentity {
            bus_id: "00000000:07:00.0".into(),
            device_id: 0x20b0_10de,
            device_id_hex: "0x20b010de".into(),
        }),
        memory: ok(MemoryMib {
            total_mib: 40960,
            used_mib: 4864,
            free_mib: 35584,
            reserved_mib: Some(512),
            read_with: "nvmlDeviceGetMemoryInfo_v2".into(),
        }),
        compute_capability: ok(ComputeCapability { major: 8, minor: 0 }),
        mig: MigFacts {
            mode: ok(MigMode {
                current_enabled: true,
                pending_enabled: true,
            }),
            instances: ok(vec![MigInstance {
                index: 0,
                name: ok("NVIDIA A100-SXM4-40GB MIG 1g.5gb".into()),
                profile: Some("1g.5gb".into()),
                uuid: ok("MIG-fa4e0000-0000-4000-8000-000000000000".into()),
                gpu_instance_id: ok(7),
                memory_total_mib: ok(4864),
            }]),
        },
        ecc: EccFacts {
            mode: ok(EccMode {
                current_enabled: true,
                pending_enabled: false,
            }),
            uncorrected_volatile: ok(0),
            uncorrected_aggregate: ok(u64::MAX),
        },
        retired_pages_pending: ok(false),
        remapped_rows: ok(RemappedRows {
            correctable: 1,
            uncorrectable: 0,
            pending: false,
            failed: false,
        }),
        persistence_mode: ok(true),
        compute_mode: ok(ComputeMode::ExclusiveProcess),
        power_limit: PowerLimits {
            enforced: ok(Power::from_milliwatts(400_000)),
            default: ok(Power::from_milliwatts(123_457)),
        },
        clock_event_reasons: ok(ClockEventReasons {
            active: vec!["sw_power_cap".into(), "unknown_0x200".into()],
            raw_mask: 0x204,
        }),
        pcie_link: PcieLink {
            current_gen: ok(4),
            current_width: ok(16),
            max_gen: ok(4),
            max_width: unsupported(),
        },
        temperature_c: ok(34),
        utilization: ok(Utilization {
            gpu_percent: 100,
            memory_percent: 3,
        }),
        compute_processes: ok(vec![
            ComputeProcess {
                pid: 4242,
                used_memory_mib: Some(4000),
            },
            ComputeProcess {
                pid: 4243,
                used_memory_mib: None,
            },
        ]),
        fabric: ok(FabricFacts {
            state: FabricState::Completed,
            status: "success".into(),
            status_code: 0,
            clique_id: 1,
            cluster_uuid: "6a1f0c2e9b3d4e5f8a7b6c5d4e3f2a1b".into(),
        }),
        cpu_affinity: ok(vec![0, 1, 2, 3]),
        numa_node: unsupported(),
        xid: ok(XidFacts {
            since: "2026-12-07T10:00:00.000Z".into(),
            watched_ms: 1250,
            events: vec![XidEvent {
                xid: Some(79),
                at: "2026-12-07T10:00:01.000Z".into(),
            }],
            dropped: 0,
        }),
    }
}

fn lost_device() -> DeviceFacts {
    DeviceFacts {
        index: 1,
        lost: true,
        name: lost(),
        uuid: lost(),
        pci: lost(),
        memory: lost(),
        compute_capability: lost(),
        mig: MigFacts {
            mode: lost(),
            instances: lost(),
        },
        ecc: EccFacts {
            mode: lost(),
            uncorrected_volatile: lost(),
            uncorrected_aggregate: lost(),
        },
        retired_pages_pending: lost(),
        remapped_rows: unsupported(),
        persistence_mode: lost(),
        compute_mode: lost(),
        power_limit: PowerLimits {
            enforced: lost(),
            default: lost(),
        },
        clock_event_reasons: lost(),
        pcie_link: PcieLink {
            current_gen: lost(),
            current_width: lost(),
            max_gen: lost(),
            max_width: lost(),
        },
        temperature_c: lost(),
        utilization: lost(),
        compute_processes: lost(),
        fabric: lost(),
        cpu_affinity: lost(),
        numa_node: lost(),
        xid: lost(),
    }
}

fn available_snapshot() -> GpuSnapshot {
    GpuSnapshot {
        source: "nvml".into(),
        library: LibraryChoice {
            path: "libnvidia-ml.so.1".into(),
            chosen_by: LibraryChosenBy::LoaderSearch,
            resolved_path: Some("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15".into()),
        },
        observed_at: "2026-11-25T18:31:37.123Z".into(),
        duration_ms: 41,
        nvml: NvmlState::Available {
            system: SystemFacts {
                driver_version: ok("550.54.15".into()),
                cuda_driver_version: ok(CudaDriverVersion::from_raw(12040)),
                nvml_version: unsupported(),
            },
            device_count: ok(2),
            devices: vec![healthy_device(), lost_device()],
        },
    }
}

fn round_trip(snapshot: &GpuSnapshot) -> Value {
    let text = serde_json::to_string_pretty(snapshot).unwrap_or_else(|error| panic!("serialize: {error}"));
    let back: GpuSnapshot = serde_json::from_str(&text).unwrap_or_else(|error| panic!("deserialize: {error}"));
    assert_eq!(&back, snapshot);
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("reparse: {error}"))
}

#[test]
fn available_snapshot_round_trips() {
    let json = round_trip(&available_snapshot());
    assert_eq!(json["source"], "nvml");
    assert_eq!(json["library"]["chosen_by"], "loader_search");
    assert_eq!(json["nvml"]["status"], "available");
    assert_eq!(
        json["nvml"]["system"]["cuda_driver_version"],
        json!({"status": "ok", "value": {"version": "12.4", "raw": 12040}})
    );
    let device = &json["nvml"]["devices"][0];
    assert_eq!(device["memory"]["value"]["total_mib"], 40960);
    assert_eq!(device["compute_mode"]["value"], "exclusive_process");
    assert_eq!(device["power_limit"]["default"]["value"]["watts"], 123.457);
    assert_eq!(device["compute_processes"]["value"][1]["used_memory_mib"], Value::Null);
    assert_eq!(device["pcie_link"]["max_width"]["status"], "unsupported");
    let lost = &json["nvml"]["devices"][1];
    assert_eq!(lost["lost"], true);
    assert_eq!(
        lost["memory"],
        json!({"status": "error", "reason": "the GPU has fallen off the bus (NVML_ERROR_GPU_IS_LOST)"})
    );
}

#[test]
fn unavailable_snapshot_round_trips() {
    for reason in [
        UnavailableReason::NoLibrary,
        UnavailableReason::DriverNotLoaded,
        UnavailableReason::NoPermission,
        UnavailableReason::InitFailed,
        UnavailableReason::Other,
    ] {
        let snapshot = GpuSnapshot {
            nvml: NvmlState::Unavailable {
                reason,
                message: "libnvidia-ml.so.1 not found".into(),
            },
            ..available_snapshot()
        };
        let json = round_trip(&snapshot);
        assert_eq!(json["nvml"]["status"], "unavailable");
    }
    let snapshot = GpuSnapshot {
        nvml: NvmlState::Unavailable {
            reason: UnavailableReason::DriverNotLoaded,
            message: "m".into(),
        },
        ..available_snapshot()
    };
    assert_eq!(round_trip(&snapshot)["nvml"]["reason"], "driver_not_loaded");
}
