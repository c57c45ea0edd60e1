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
//! use modelspec_probe_host::{HostProbeOptions, probe};
//!
//! let snapshot = probe(&HostProbeOptions {
//!     port: Some(8000),
//!     declared_env: vec!["VLLM_USE_V1".into()],
//!     ..HostProbeOptions::default()
//! });
//! if let Some(serving) = &snapshot.serving {
//!     println!("{:?}", serving.value().map(|process| process.pid));
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
    /// Find the serving process by the TCP port it listens on (IPv4 or IPv6, any address).
    pub port: Option<u16>,
    /// The serving process's pid; wins over `port`.
    pub pid: Option<u32>,
    /// A path on the filesystem holding the model (weights, cache).
    pub storage_path: Option<PathBuf>,
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
    /// Limits of the serving process when found, else of the probe itself.
    pub limits: EffectiveLimits,
    /// `None` when no storage path was given.
    pub storage: Option<Observed<StorageFacts>>,
    /// `None` when neither a pid nor a port was given.
    pub serving: Option<Observed<ServingProcess>>,
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
    let serving = match (options.pid, options.port) {
        (Some(pid), _) => Some(process::serving_process(
            roots,
            pid,
            FoundBy::Pid,
            &options.declared_env,
        )),
        (None, Some(port)) => Some(match net::port_owners(roots, port) {
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
                    &options.declared_env,
                ),
                None => Observed::unknown(format!("port {port} is listening, but its process is unknown")),
            },
            Observed::Absent { reason } => Observed::Absent { reason },
            Observed::Unknown { reason } => Observed::Unknown { reason },
        }),
        (None, None) => None,
    };
    let limits = match serving.as_ref().and_then(Observed::value) {
        Some(process) => limits::effective_limits(roots, process.pid, LimitsOf::ServingProcess),
        None => limits::effective_limits(roots, std::process::id(), LimitsOf::Probe),
    };
    HostSnapshot {
        observed_at,
        system: system::system_facts(),
        container: container::container_facts(roots, &|name| std::env::var(name).ok()),
        limits,
        storage: options.storage_path.as_deref().map(storage::storage_facts),
        serving,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
