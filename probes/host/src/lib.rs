//! Host probe: the node, its container limits, the model's storage and the serving process,
//! as a plain snapshot.
//!
//! `modelspec` compares a deployment's contract with what is really on the node. This crate is
//! the "really" for everything but the GPUs: what machine this is ([`SystemFacts`], through
//! sysinfo built with only its `system` feature), whether it is a container
//! ([`ContainerFacts`]), what CPU and memory the cgroup really allows ([`EffectiveLimits`]),
//! how much room the model's filesystem has ([`StorageFacts`]) and which processes serve a port
//! and how they were started ([`ServingProcess`]: argv, user, process tree, and an environment
//! from which secrets never leave, see [`mod@env`]). It knows nothing of ModelSpec and judges
//! nothing.
//!
//! A port is looked for in every network namespace of the node, since model servers run in
//! containers and pods that each have their own (see `netns`), and port forwarders (podman's
//! conmon, docker-proxy, docker's published ports) are followed to the process behind them
//! (`listeners`). Each process found is a [`Candidate`] with its container and pod
//! ([`Workload`]) and how to reach it ([`Reach`]); which of several candidates a spec means is
//! the caller's decision.
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
//!     // Every process serving the port, in any network namespace (two pods on :8000).
//!     for candidate in server.candidates() {
//!         println!("{}", candidate.route());
//!     }
//! }
//! ```

mod container;
mod dmi;
pub mod env;
#[cfg(test)]
mod fake_tree;
mod limits;
mod listeners;
mod netns;
mod observed;
mod process;

mod sock_diag;
mod storage;
mod survey;
mod system;
mod workload;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

pub use container::ContainerFacts;
pub use dmi::DmiFacts;
pub use env::EnvironmentFacts;
pub use limits::{CgroupVersion, CpuLimit, EffectiveLimits, LimitsOf, MemoryLimit};
pub use listeners::{Candidate, Hop, NetworkPlace, Reach};
pub use modelspec_probe_support::format_rfc3339_utc;
pub use observed::{Observed, PERMISSION_HINT};
pub use process::{ChildProcess, FoundBy, ProcessUser, ServingProcess, parse_cpulist};
pub use storage::StorageFacts;
pub use survey::{Listener, Listeners, listeners};
pub use system::SystemFacts;
pub use workload::Workload;

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
    /// The machine's DMI strings (`/sys/class/dmi/id`): its maker and product, which on a
    /// cloud name the cloud (and on EC2 the instance type).
    #[serde(default = "dmi_not_recorded")]
    pub dmi: Observed<DmiFacts>,
}

fn dmi_not_recorded() -> Observed<DmiFacts> {
    Observed::unknown("not recorded: this observation was made before modelspec read DMI")
}

/// The filesystem holding one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageObservation {
    /// The path asked about.
    pub path: String,
    pub facts: Observed<StorageFacts>,
}

/// What one [`ServerQuery`] found.
///
/// A port may be served by several processes on one node, one per network namespace (two
/// pods on `:8000`); every one is a candidate, and which of them a spec means is the caller's
/// decision. A pid query has one candidate, that process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerObservation {
    /// The port asked about.
    pub port: Option<u16>,
    /// The pid asked about.
    pub pid: Option<u32>,
    /// Every process serving the query: `Absent` when nothing listens on the port in any
    /// namespace (or there is no such pid), `Unknown` when we could not look.
    pub candidates: Observed<Vec<Candidate>>,
    /// What the probe could not see into (another user's namespaces, unreadable sockets): a
    /// list of candidates may be incomplete for these reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blind_spots: Vec<String>,
    /// Who listens on `port` when the process was named by pid: it may be another process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_listener: Option<Observed<PortListener>>,
}

impl ServerObservation {
    /// The candidates, when the probe found any.
    pub fn candidates(&self) -> &[Candidate] {
        self.candidates.value().map_or(&[], Vec::as_slice)
    }
}

/// Observations written before namespaces were surveyed name one `process` and its `limits`;
/// they read as a query with that one candidate.
impl<'de> Deserialize<'de> for ServerObservation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Written {
            port: Option<u16>,
            pid: Option<u32>,
            #[serde(default)]
            candidates: Option<Observed<Vec<Candidate>>>,
            #[serde(default)]
            blind_spots: Vec<String>,
            #[serde(default)]
            port_listener: Option<Observed<PortListener>>,
            #[serde(default)]
            process: Option<Observed<ServingProcess>>,
            #[serde(default)]
            limits: Option<EffectiveLimits>,
        }
        let w = Written::deserialize(deserializer)?;
        let candidates = match (w.candidates, w.process) {
            (Some(candidates), _) => candidates,
            (None, Some(process)) => process.map(|process| {
                vec![Candidate {
                    process,
                    limits: w.limits,
                    network: None,
                    workload: None,
                }]
            }),
            (None, None) => return Err(serde::de::Error::missing_field("candidates")),
        };
        Ok(ServerObservation {
            port: w.port,
            pid: w.pid,
            candidates,
            blind_spots: w.blind_spots,
            port_listener: w.port_listener,
        })
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
    pub(crate) dmi: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            cgroup: PathBuf::from("/sys/fs/cgroup"),
            passwd: PathBuf::from("/etc/passwd"),
            fs_root: PathBuf::from("/"),
            dmi: PathBuf::from("/sys/class/dmi/id"),
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
    // One survey of every namespace serves every query.
    let survey = (!options.servers.is_empty()).then(|| netns::survey(roots));
    let servers = options
        .servers
        .iter()
        .map(|query| find_server(roots, survey.as_ref(), query))
        .collect();
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
        dmi: dmi::dmi_facts(&roots.dmi),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn find_server(roots: &Roots, survey: Option<&netns::Survey>, query: &ServerQuery) -> ServerObservation {
    let empty = netns::Survey::default();
    let survey = survey.unwrap_or(&empty);
    let (candidates, blind_spots, port_listener) = match (query.pid, query.port) {
        (Some(pid), port) => {
            let process = process::serving_process(roots, pid, FoundBy::Pid, &query.declared_env);
            let candidates = process.map(|process| {
                let workload = workload::workload_of(roots, pid);
                vec![Candidate {
                    limits: Some(limits::effective_limits(roots, pid, LimitsOf::ServingProcess)),
                    network: port.and_then(|port| listeners::place_of(roots, survey, pid, port)),
                    workload: (!workload.is_host() || !workload.gaps.is_empty()).then_some(workload),
                    process,
                }]
            });
            (
                candidates,
                Vec::new(),
                port.map(|port| port_listener(roots, survey, pid, port)),
            )
        }
        (None, Some(port)) => {
            let (candidates, blind) = listeners::for_port(roots, survey, port, &query.declared_env);
            (candidates, blind, None)
        }
        (None, None) => (
            Observed::unknown("no serving port declared and no pid given (use --pid)"),
            Vec::new(),
            None,
        ),
    };
    ServerObservation {
        port: query.port,
        pid: query.pid,
        candidates,
        blind_spots,
        port_listener,
    }
}

/// Who listens on `port` in the network namespace of `pid` (its own sockets, wherever it runs).
fn port_listener(roots: &Roots, survey: &netns::Survey, pid: u32, port: u16) -> Observed<PortListener> {
    let Some(ns) = survey.namespace_of.get(&pid).and_then(|inode| survey.namespace(*inode)) else {
        return Observed::unknown(format!(
            "the network namespace of pid {pid} could not be read, so who listens on port {port} there is not \
             known ({PERMISSION_HINT})"
        ));
    };

    if let Some(why) = &ns.unreadable {
        return Observed::unknown(why.clone());
    }
    let sockets: Vec<&netns::Socket> = ns.sockets.iter().filter(|s| s.port == port).collect();
    if sockets.is_empty() {
        return Observed::absent(format!(
            "nothing listens on port {port} in the network namespace of pid {pid}"
        ));
    }
    let mut holders: Vec<u32> = sockets
        .iter()
        .flat_map(|s| survey.holders_of(s.inode))
        .copied()
        .collect();
    holders.sort_unstable();
    holders.dedup();
    if holders.is_empty() {
        return Observed::unknown(format!(
            "port {port} is listening, but its process is unknown: {PERMISSION_HINT}"
        ));
    }
    Observed::Ok {
        value: listener(roots, port, sockets.iter().map(|s| s.shown()).collect(), holders),
    }
}

fn listener(roots: &Roots, port: u16, addresses: Vec<String>, holders: Vec<u32>) -> PortListener {
    let pid = process::topmost(roots, &holders);
    PortListener {
        port,
        addresses,
        name: pid.and_then(|pid| process::comm(roots, pid)),
        holders,
        pid,
    }
}

/// Moves the calling thread into the network namespace of `pid` (`setns`), so that sockets it
/// and the threads it starts from now on open are that namespace's: the way to reach a server
/// bound to loopback inside a container ([`Reach::InsideNamespace`]). Needs `CAP_SYS_ADMIN`
/// (and to read `/proc/PID/ns/net`). Other threads are not affected; call it on a thread made
/// for the purpose.
pub fn enter_network_namespace(pid: u32) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let path = format!("/proc/{pid}/ns/net");
    let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: a valid open descriptor of a namespace file; setns only changes this thread.
    let done = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if done == 0 {
        Ok(())
    } else {
        let error = std::io::Error::last_os_error();
        Err(format!(
            "could not enter the network namespace of pid {pid}: {error}{}",
            if error.kind() == std::io::ErrorKind::PermissionDenied {
                " (entering a namespace needs CAP_SYS_ADMIN)"
            } else {
                ""
            }
        ))
    }
}
