//! Snapshots are saved on a node and replayed elsewhere: they must survive a JSON round trip
//! unchanged, and their JSON shape is part of the contract with the checker.

use modelspec_probe_host::{
    Candidate, CgroupVersion, ChildProcess, ContainerFacts, CpuLimit, DmiFacts, EffectiveLimits, EnvironmentFacts,
    FoundBy, Hop, HostProbeOptions, HostSnapshot, LimitsOf, MemoryLimit, NetworkPlace, Observed, ProcessUser, Reach,
    ServerObservation, ServerQuery, ServingProcess, StorageFacts, StorageObservation, SystemFacts, Workload, probe,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn ok<T>(value: T) -> Observed<T> {
    Observed::Ok { value }
}

fn denied<T>() -> Observed<T> {
    Observed::Unknown {
        reason: "insufficient permission: run as root or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH".into(),
    }
}

fn round_trip(snapshot: &HostSnapshot) -> Value {
    let text = match serde_json::to_string(snapshot) {
        Ok(text) => text,
        Err(error) => panic!("serialize: {error}"),
    };
    let back: HostSnapshot = match serde_json::from_str(&text) {
        Ok(back) => back,
        Err(error) => panic!("deserialize: {error}"),
    };
    assert_eq!(&back, snapshot);
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => panic!("reparse: {error}"),
    }
}

fn full_snapshot() -> HostSnapshot {
    HostSnapshot {
        observed_at: "2026-01-02T03:04:05.006Z".into(),
        duration_ms: 12,
        system: SystemFacts {
            hostname: ok("gpu-node-1".into()),
            os_name: ok("Ubuntu".into()),
            os_version: ok("22.04".into()),
            kernel: ok("6.8.0".into()),
            logical_cores: ok(64),
            physical_cores: ok(32),
            total_memory_bytes: ok(512 << 30),
            available_memory_bytes: ok(400 << 30),
        },
        container: ContainerFacts {
            in_container: true,
            runtime: Some("kubernetes".into()),
            evidence: vec!["KUBERNETES_SERVICE_HOST is set (10.0.0.1)".into()],
        },
        limits: EffectiveLimits {
            pid: 42,
            of: LimitsOf::ServingProcess,
            cgroup_version: ok(CgroupVersion::V2),
            cgroup_path: ok("/".into()),
            cpu: ok(CpuLimit::Cores {
                cores: 2.5,
                quota_us: 250_000,
                period_us: 100_000,
                cgroup: "/".into(),
            }),
            memory: ok(MemoryLimit::Unlimited),
        },
        storage: vec![StorageObservation {
            path: "/models".into(),
            facts: ok(StorageFacts {
                path: "/models".into(),
                total_bytes: 1 << 40,
                free_bytes: 1 << 39,
                available_bytes: 1 << 38,
            }),
        }],
        servers: vec![ServerObservation {
            port: Some(8000),
            pid: None,
            blind_spots: Vec::new(),
            port_listener: None,
            candidates: ok(vec![Candidate {
                limits: None,
                network: Some(NetworkPlace {
                    namespace: 4_026_532_301,
                    scanner_namespace: false,
                    listening: vec!["0.0.0.0:8000".into()],
                    namespace_addresses: vec!["10.88.0.5".into()],
                    chain: vec![Hop {
                        kind: "conmon".into(),
                        pid: Some(812),
                        address: "127.0.0.1:18000".into(),
                        followed: "conmon's child 42 is the container".into(),
                    }],
                    reach: Reach::Here {
                        address: "127.0.0.1:18000".into(),
                    },
                }),
                workload: Some(Workload {
                    runtime: Some("podman".into()),
                    container_id: Some("3f2a".repeat(16)),
                    ..Workload::default()
                }),
                process: ServingProcess {
                    pid: 42,
                    found_by: FoundBy::Port {
                        port: 8000,
                        addresses: vec!["0.0.0.0:8000".into()],
                        holders: vec![42],
                    },
                    name: ok("vllm".into()),
                    exe: denied(),
                    argv: ok(vec!["vllm".into(), "serve".into()]),
                    started_at: ok("2026-01-02T00:00:00.000Z".into()),
                    user: ok(ProcessUser {
                        uid: 1000,
                        name: Some("serve".into()),
                    }),
                    cwd: denied(),
                    parent_pid: ok(1),
                    children: ok(vec![ChildProcess {
                        pid: 43,
                        parent_pid: 42,
                        name: "VLLM::EngineCore".into(),
                        argv: vec!["VLLM::EngineCore".into()],
                        ns_pids: vec![91043, 43],
                    }]),
                    environment: ok(EnvironmentFacts {
                        cuda_visible_devices: Some("0,1".into()),
                        nvidia_visible_devices: None,
                        names: vec!["CUDA_VISIBLE_DEVICES".into(), "HF_TOKEN".into()],
                        values: BTreeMap::from([("HF_TOKEN".to_owned(), "<redacted>".to_owned())]),
                    }),
                    ns_pids: ok(vec![91042, 42]),
                    cpus_allowed: ok(vec![0, 1, 2, 3]),
                },
            }]),
        }],
        dmi: ok(DmiFacts {
            sys_vendor: Some("Amazon EC2".into()),
            product_name: Some("p5.48xlarge".into()),
            ..DmiFacts::default()
        }),
    }
}

#[test]
fn constructed_snapshot_round_trips_with_stable_shape() {
    let value = round_trip(&full_snapshot());
    let server = &value["servers"][0];
    assert_eq!(server["port"], 8000);
    assert_eq!(server["candidates"]["status"], "ok");
    let candidate = &server["candidates"]["value"][0];
    assert_eq!(
        candidate["process"]["found_by"],
        json!({"by": "port", "port": 8000, "addresses": ["0.0.0.0:8000"], "holders": [42]})
    );
    assert_eq!(candidate["process"]["exe"]["status"], "unknown");
    assert_eq!(
        candidate["network"]["reach"],
        json!({"via": "here", "address": "127.0.0.1:18000"})
    );
    assert_eq!(candidate["network"]["chain"][0]["kind"], "conmon");
    assert_eq!(candidate["workload"]["runtime"], "podman");
    assert_eq!(value["storage"][0]["facts"]["value"]["total_bytes"], 1u64 << 40);
    assert_eq!(
        value["limits"]["cpu"],
        json!({"status": "ok", "value": {"kind": "cores", "cores": 2.5, "quota_us": 250000, "period_us": 100000, "cgroup": "/"}})
    );
    assert_eq!(
        value["limits"]["memory"],
        json!({"status": "ok", "value": {"kind": "unlimited"}})
    );
    assert_eq!(value["limits"]["of"], "serving_process");
    assert_eq!(value["limits"]["cgroup_version"]["value"], "v2");
}

#[test]
fn absent_and_unasked_parts_round_trip() {
    let mut snapshot = full_snapshot();
    if let Some(server) = snapshot.servers.first_mut() {
        server.candidates = Observed::Absent {
            reason: "nothing listens on port 8000".into(),
        };
    }
    snapshot.storage.clear();
    let value = round_trip(&snapshot);
    assert_eq!(
        value["servers"][0]["candidates"],
        json!({"status": "absent", "reason": "nothing listens on port 8000"})
    );
    assert_eq!(value["storage"], json!([]));
}

/// An observation written before namespaces were surveyed names one `process` and its
/// `limits`; it reads as one candidate, and a server entry with neither is refused.
#[test]
fn a_server_written_with_one_process_reads_as_one_candidate() {
    let full = full_snapshot();
    let Some(candidate) = full.servers.first().and_then(|s| s.candidates().first()).cloned() else {
        panic!("the constructed snapshot has a candidate");
    };
    let old = json!({
        "port": 8000,
        "pid": null,
        "process": {"status": "ok", "value": candidate.process},
        "limits": full.limits,
    });
    let server: ServerObservation = match serde_json::from_value(old) {
        Ok(s) => s,
        Err(e) => panic!("an old server entry does not read: {e}"),
    };
    assert_eq!(server.candidates().len(), 1);
    assert_eq!(server.candidates()[0].process, candidate.process);
    assert_eq!(server.candidates()[0].limits.as_ref().map(|l| l.pid), Some(42));
    assert!(server.candidates()[0].network.is_none());
    let absent: ServerObservation = match serde_json::from_value(json!({
        "port": 8000, "pid": null, "process": {"status": "absent", "reason": "nothing listens"}
    })) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert!(absent.candidates.is_absent());
    assert!(serde_json::from_value::<ServerObservation>(json!({"port": 8000, "pid": null})).is_err());
}

#[test]
fn real_snapshot_round_trips() {
    let snapshot = probe(&HostProbeOptions {
        servers: vec![ServerQuery {
            pid: Some(std::process::id()),
            port: Some(1),
            ..ServerQuery::default()
        }],
        storage_paths: vec![std::env::temp_dir()],
    });
    let server = snapshot.servers.first();
    assert!(server.is_some_and(|s| s.port_listener.as_ref().is_some_and(|l| !l.is_ok())));
    round_trip(&snapshot);
    assert!(snapshot.system.total_memory_bytes.is_ok());
    assert!(snapshot.observed_at.ends_with('Z'));
}
