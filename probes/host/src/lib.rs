//! Host probe: the node, its container limits, the model's storage and the serving process,
//! as a plain snapshot.
//!
//! `modelspec` compares a deployment's contract with what is really on the node. This crate is
//! the "really" for everything but the GPUs: what machine this is ([`SystemFacts`], through
//! sysinfo built with only its `system` feature), whether it is a container
//! ([`ContainerFacts`]), what CPU and memory the cgroup really allows ([`EffectiveLimits`]),
//! how much room the model's filesystem has ([`StorageFacts`]) and which process serves the
//! model and how it was started ([`ServingProcess`]: argv, user, process tree, and an
//! environment from which secrets never leave, see [`mod@env`]). It knows nothing of ModelSpec and
//! judges nothing.
//!
//! Failure is data here, not control flow. Each fact is an [`Observed`]: a value, `Absent`
//! (we looked and there is none: "nothing listens on port 8000") or `Unknown` (we could not
//! look, with the reason). The two are never confused: the kernel hides another user's
//! sockets' owners and environment from an unprivileged probe, and that is reported as
//! [`PERMISSION_HINT`], never as "not listening" or "no variables". Nothing panics out of
//! [`probe`].
//!
//! ```no_run
//! use modelspec_probe_host::{HostProbeOptions, ServerQuery, probe};
//!
//! let snapshot = probe(&HostProbeOptions {
//!     servers: vec![ServerQuery {
//!         port: Some(8000),
//!         declared_env: vec!["VLLM_USE_V1".into()],
//!         ..ServerQuery::default()
//!     }],
//!     ..HostProbeOptions::default()
//! });
//! for server in &snapshot.servers {
//!     println!("{:?}", server.serving().map(|process| process.pid));
//! }
//! ```

mod container;
pub mod env;
#[cfg(test)]
mod fake_tree;
mod limits;
mod net;
mod observed;
mod process;

mod sock_diag;
mod storage;
mod system;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

pub use container::ContainerFacts;
pub use env::EnvironmentFacts;
pub use limits::{CgroupVersion, CpuLimit, EffectiveLimits, LimitsOf, MemoryLimit};
pub use modelspec_probe_support::format_rfc3339_utc;
pub use observed::{Observed, PERMISSION_HINT};
pub use process::{ChildProcess, FoundBy, ProcessUser, ServingProcess};
pub use storage::StorageFacts;
pub use system::SystemFacts;

/// What to look at besides the node itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostProbeOptions {
    /// The serving processes to find, one per model served on the node.
    pub servers: Vec<ServerQuery>,
    /// Paths on the filesystems holding models (weights, cache), each measured once.
    pub storage_paths: Vec<PathBuf>,
}

/// One serving process to find: by the port it listens on, or by pid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerQuery {
    /// The TCP port it should listen on (IPv4 or IPv6, any address).
    pub port: Option<u16>,
    /// Its pid; wins over `port` for finding it, and `port` is then checked against it.
    pub pid: Option<u32>,
    /// Environment variables whose values the contract cares about; shown unless secret.
    pub declared_env: Vec<String>,
}

/// Everything the host probe saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSnapshot {
    /// When the probe started, RFC 3339 UTC.
    pub observed_at: String,
    /// How long the probe took.
    pub duration_ms: u64,
    pub system: SystemFacts,
    pub container: ContainerFacts,
    /// Limits of the probe's own cgroup: what this node (or this container) allows when a
    /// serving process could not be found.
    pub limits: EffectiveLimits,
    /// One entry per storage path asked about.
    #[serde(default)]
    pub storage: Vec<StorageObservation>,
    /// One entry per server query, in the order asked.
    #[serde(default)]
    pub servers: Vec<ServerObservation>,
}

/// The filesystem holding one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageObservation {
    /// The path asked about.
    pub path: String,
    pub facts: Observed<StorageFacts>,
}

/// What one [`ServerQuery`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerObservation {
    /// The port asked about.
    pub port: Option<u16>,
    /// The pid asked about.
    pub pid: Option<u32>,
    /// The serving process: `Absent` when nothing listens on the port (or no such pid).
    pub process: Observed<ServingProcess>,
    /// The serving process's own cgroup limits, when it was found.
    pub limits: Option<EffectiveLimits>,
    /// Who listens on `port` when the process was named by pid: it may be another process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_listener: Option<Observed<PortListener>>,
}

impl ServerObservation {
    /// The serving process, when found.
    pub fn serving(&self) -> Option<&ServingProcess> {
        self.process.value()
    }
}

/// The processes holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortListener {
    pub port: u16,
    /// Bound addresses (`0.0.0.0:8000`, `[::1]:8000`...).
    pub addresses: Vec<String>,
    /// Every process holding the socket.
    pub holders: Vec<u32>,
    /// The topmost holder (the one whose parent does not hold the socket too).
    pub pid: Option<u32>,
    /// Its `comm`.
    pub name: Option<String>,
}

/// Where the probe reads the kernel's files; tests point it at fake trees.
#[derive(Debug, Clone)]
pub(crate) struct Roots {
    pub(crate) proc: PathBuf,
    pub(crate) cgroup: PathBuf,
    pub(crate) passwd: PathBuf,
    pub(crate) fs_root: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            cgroup: PathBuf::from("/sys/fs/cgroup"),
            passwd: PathBuf::from("/etc/passwd"),
            fs_root: PathBuf::from("/"),
        }
    }
}

/// Looks at the host.
pub fn probe(options: &HostProbeOptions) -> HostSnapshot {
    probe_with(&Roots::default(), options)
}

fn probe_with(roots: &Roots, options: &HostProbeOptions) -> HostSnapshot {
    let started = Instant::now();
    let observed_at = format_rfc3339_utc(SystemTime::now());
    let servers = options.servers.iter().map(|query| find_server(roots, query)).collect();
    let mut storage: Vec<StorageObservation> = Vec::new();
    for path in &options.storage_paths {
        let shown = path.display().to_string();
        if !storage.iter().any(|s| s.path == shown) {
            storage.push(StorageObservation {
                facts: storage::storage_facts(path),
                path: shown,
            });
        }
    }
    HostSnapshot {
        observed_at,
        system: system::system_facts(),
        container: container::container_facts(roots, &|name| std::env::var(name).ok()),
        limits: limits::effective_limits(roots, std::process::id(), LimitsOf::Probe),
        storage,
        servers,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn find_server(roots: &Roots, query: &ServerQuery) -> ServerObservation {
    let (process, port_listener) = match (query.pid, query.port) {
        (Some(pid), port) => (
            process::serving_process(roots, pid, FoundBy::Pid, &query.declared_env),
            port.map(|port| port_listener(roots, port)),
        ),
        (None, Some(port)) => (by_port(roots, port, &query.declared_env), None),
        (None, None) => (
            Observed::unknown("no serving port declared and no pid given (use --pid)"),
            None,
        ),
    };
    let limits = process
        .value()
        .map(|p| limits::effective_limits(roots, p.pid, LimitsOf::ServingProcess));
    ServerObservation {
        port: query.port,
        pid: query.pid,
        process,
        limits,
        port_listener,
    }
}

fn by_port(roots: &Roots, port: u16, declared_env: &[String]) -> Observed<ServingProcess> {
    match net::port_owners(roots, port) {
        Observed::Ok {
            value: (listeners, holders),
        } => match process::topmost(roots, &holders) {
            Some(pid) => process::serving_process(
                roots,
                pid,
                FoundBy::Port {
                    port,
                    addresses: listeners.addresses,
                    holders,
                },
                declared_env,
            ),
            None => Observed::unknown(format!("port {port} is listening, but its process is unknown")),
        },
        Observed::Absent { reason } => Observed::Absent { reason },
        Observed::Unknown { reason } => Observed::Unknown { reason },
    }
}

fn port_listener(roots: &Roots, port: u16) -> Observed<PortListener> {
    net::port_owners(roots, port).map(|(listeners, holders)| {
        let pid = process::topmost(roots, &holders);
        PortListener {
            port,
            addresses: listeners.addresses,
            name: pid.and_then(|pid| process::comm(roots, pid)),
            holders,
            pid,
        }
    })
}
