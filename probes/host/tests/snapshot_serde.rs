//! Snapshots are saved on a node and replayed elsewhere: they must survive a JSON round trip
//! unchanged, and their JSON shape is part of the contract with the checker.

use modelspec_probe_host::{
    CgroupVersion, ChildProcess, ContainerFacts, CpuLimit, EffectiveLimits, EnvironmentFacts, FoundBy,
    HostProbeOptions, HostSnapshot, LimitsOf, MemoryLimit, Observed, ProcessUser, ServerObservation, ServerQuery,
    ServingProcess, StorageFacts, StorageObservation, SystemFacts, probe,
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
            limits: None,
            port_listener: None,
            process: ok(ServingProcess {
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
            }),
        }],
    }
}

#[test]
fn constructed_snapshot_round_trips_with_stable_shape() {
    let value = round_trip(&full_snapshot());
    let server = &value["servers"][0];
    assert_eq!(server["port"], 8000);
    assert_eq!(server["process"]["status"], "ok");
    assert_eq!(
        server["process"]["value"]["found_by"],
        json!({"by": "port", "port": 8000, "addresses": ["0.0.0.0:8000"], "holders": [42]})
    );
    assert_eq!(server["process"]["value"]["exe"]["status"], "unknown");
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
        server.process = Observed::Absent {
            reason: "nothing listens on port 8000".into(),
        };
    }
    snapshot.storage.clear();
    let value = round_trip(&snapshot);
    assert_eq!(
        value["servers"][0]["process"],
        json!({"status": "absent", "reason": "nothing listens on port 8000"})
    );
    assert_eq!(value["storage"], json!([]));
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
