//! Who serves a port on this node: every listener on it in every network namespace, with port
//! forwarders followed to the workload behind them.
//!
//! A port asked about is looked for in every namespace of the [`Survey`]. What holds it is a
//! candidate serving process, unless it is a known port forwarder, which is followed:
//!
//! - **`conmon`** (podman) holds a published host port to reserve it while nftables DNAT
//!   carries the traffic into the container. Its child is the container's first process; the
//!   listener is looked for in that process's namespace.
//! - **`docker-proxy`** (docker's userland proxy) names its target on its command line
//!   (`-container-ip 172.17.0.2 -container-port 8000`): the listener is the one on that port in
//!   the namespace that owns that address.
//! - **A published port no process holds** (docker with `userland-proxy: false`) is looked up
//!   in docker's own state, `/var/lib/docker/containers/<id>/hostconfig.json`, which needs no
//!   daemon. Podman's mappings live in its database and Kubernetes `hostPort`s in the CNI's
//!   rules; neither is read, and the reason says so.
//!
//! Each candidate carries the chain that led to it, so a finding can say "host
//! 127.0.0.1:18000 → conmon 812 → python3 1190 in container 3f2a… (10.88.0.5:8000)", and how to
//! reach its endpoint from the scanner ([`Reach`]).

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::netns::{Namespace, Socket, Survey, show};
use crate::observed::{Observed, PERMISSION_HINT};
use crate::process::{self, FoundBy, ServingProcess};
use crate::workload::{Workload, workload_of};
use crate::{EffectiveLimits, LimitsOf, Roots, limits};

/// A process that serves a port, as one of possibly several on the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The serving process: the topmost holder of the listening socket behind any forwarder.
    pub process: ServingProcess,
    /// Its own cgroup limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<EffectiveLimits>,
    /// Where it listens, and how it was reached (absent in observations made before namespaces
    /// were surveyed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkPlace>,
    /// Its container and pod, when it runs in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
}

impl Candidate {
    /// The process's host pid.
    pub fn pid(&self) -> u32 {
        self.process.pid
    }

    /// The whole chain in words: "host 127.0.0.1:18000 → conmon 812 → python3 1190 in
    /// container 3f2a9c1b7e4d (10.88.0.5:8000)".
    pub fn route(&self) -> String {
        let name = self.process.name.value().cloned().unwrap_or_else(|| "?".into());
        let mut parts = Vec::new();
        if let Some(network) = &self.network {
            for hop in &network.chain {
                if parts.is_empty() {
                    parts.push(format!("host {}", hop.address));
                }
                parts.push(match hop.pid {
                    Some(pid) => format!("{} {pid}", hop.kind),
                    None => hop.kind.clone(),
                });
            }
        }
        let place = match &self.workload {
            Some(w) if !w.is_host() => format!(" in {}", w.describe()),
            _ => String::new(),
        };
        let listening = self
            .network
            .as_ref()
            .and_then(|n| n.listening.first())
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        parts.push(format!("{name} {}{place}{listening}", self.process.pid));
        parts.join(" → ")
    }
}

/// Where a candidate listens and how the scanner reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPlace {
    /// The inode of its network namespace (`net:[N]`).
    pub namespace: u64,
    /// Whether that is the scanner's own namespace (the host's, for a scanner on the host).
    pub scanner_namespace: bool,
    /// The addresses its socket is bound to there (`0.0.0.0:8000`).
    pub listening: Vec<String>,
    /// The namespace's own addresses (a pod or container IP), loopback excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_addresses: Vec<String>,
    /// Forwarders between the asked port and the process, outermost first; empty when the
    /// process itself holds the asked port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Hop>,
    /// How the scanner can reach the endpoint.
    pub reach: Reach,
}

/// One forwarder on the way to a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// `conmon`, `docker-proxy`, or `docker state` for a published port no process holds.
    pub kind: String,
    /// The forwarder's pid, when a process forwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The address it holds (`127.0.0.1:18000`).
    pub address: String,
    /// How it was followed, in words.
    pub followed: String,
}

/// How the scanner reaches an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Reach {
    /// From the scanner's namespace at this address: the process listens there, or a
    /// forwarder's host port leads to it.
    Here { address: String },
    /// At the namespace's own address (a pod IP), routed from the scanner's namespace.
    NamespaceAddress { address: String },
    /// Bound to loopback inside another namespace: reachable only from inside it, by entering
    /// the namespace of `pid` (`setns`, which needs `CAP_SYS_ADMIN`).
    InsideNamespace { pid: u32, address: String },
    /// No way found.
    Unreachable { reason: String },
}

/// Every candidate serving `port` on the node; `Absent` when nothing listens on it anywhere we
/// could look, `Unknown` when something may, but we could not see it. The blind spots come back
/// beside a list that may be incomplete because of them.
pub(crate) fn for_port(
    roots: &Roots,
    survey: &Survey,
    port: u16,
    declared_env: &[String],
) -> (Observed<Vec<Candidate>>, Vec<String>) {
    if let Some(failed) = &survey.failed {
        return (Observed::unknown(failed.clone()), Vec::new());
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for ns in &survey.namespaces {
        let sockets: Vec<&Socket> = ns.sockets.iter().filter(|s| s.port == port).collect();
        if sockets.is_empty() {
            continue;
        }
        let holders = holders(survey, &sockets);
        let Some(top) = process::topmost(roots, &holders) else {
            problems.push(no_owner(survey, ns, port));
            continue;
        };
        let hop_address = sockets.first().map(|s| s.shown()).unwrap_or_default();
        let resolved = match process::comm(roots, top).as_deref() {
            Some("conmon") => via_conmon(roots, survey, top, port, &hop_address),
            Some("docker-proxy") => via_docker_proxy(roots, survey, top, &hop_address),
            _ => Ok(Resolved {
                ns,
                sockets,
                holders,
                pid: top,
                chain: Vec::new(),
            }),
        };
        match resolved {
            Ok(r) => push(&mut candidates, candidate(roots, r, declared_env)),
            Err(why) => problems.push(why),
        }
    }
    if candidates.is_empty()
        && let Some(found) = docker_published(roots, survey, port)
    {
        match found {
            Ok(r) => push(&mut candidates, candidate(roots, r, declared_env)),
            Err(why) => problems.push(why),
        }
    }
    let mut blind = survey.blind_spots();
    blind.extend(problems.iter().cloned());
    if !candidates.is_empty() {
        return (Observed::Ok { value: candidates }, blind);
    }
    if !problems.is_empty() {
        return (
            Observed::unknown(format!("port {port} is listening, but: {}", problems.join("; "))),
            blind,
        );
    }
    let looked = survey.namespaces.len();
    if !blind.is_empty() {
        return (
            Observed::unknown(format!(
                "nothing was seen listening on port {port} in the {looked} network namespaces that could be read, \
                 but {}",
                blind.join("; ")
            )),
            blind,
        );
    }
    (
        Observed::absent(format!(
            "nothing listens on port {port} in any of the node's {looked} network namespaces{NO_STATE_NOTE}"
        )),
        blind,
    )
}

/// What "absent" cannot rule out, said once.
const NO_STATE_NOTE: &str = "; a port published with no process holding it by podman or as a Kubernetes hostPort \
    is not seen (their mappings are not read)";

/// A candidate the same process already is (a port published on the same number it listens on
/// inside) is kept once, the forwarded one first: that is how clients reach it.
fn push(candidates: &mut Vec<Candidate>, found: Candidate) {
    if let Some(known) = candidates.iter_mut().find(|c| c.process.pid == found.process.pid) {
        let forwarded = |c: &Candidate| c.network.as_ref().is_some_and(|n| !n.chain.is_empty());
        if forwarded(&found) && !forwarded(known) {
            *known = found;
        }
        return;
    }
    candidates.push(found);
}

/// The listener a port leads to, before its facts are read.
struct Resolved<'a> {
    ns: &'a Namespace,
    sockets: Vec<&'a Socket>,
    holders: Vec<u32>,
    pid: u32,
    chain: Vec<Hop>,
}

fn holders(survey: &Survey, sockets: &[&Socket]) -> Vec<u32> {
    let mut all: BTreeSet<u32> = BTreeSet::new();
    for s in sockets {
        all.extend(survey.holders_of(s.inode));
    }
    all.into_iter().collect()
}

fn no_owner(survey: &Survey, ns: &Namespace, port: u16) -> String {
    let closed =
        survey.closed_fds.get(&ns.inode).copied().unwrap_or(0) + survey.closed_fds.get(&0).copied().unwrap_or(0);
    if closed > 0 {
        format!(
            "port {port} listens in {}, but the file descriptors of {closed} processes could not be read \
             ({PERMISSION_HINT})",
            ns.label()
        )
    } else {
        format!(
            "port {port} listens in {}, but no visible process holds the socket (it may have just closed, or its \
             owner is hidden from this scanner)",
            ns.label()
        )
    }
}

/// podman's conmon: the container is its child; the listener is in the child's namespace.
fn via_conmon<'a>(
    roots: &Roots,
    survey: &'a Survey,
    conmon: u32,
    port: u16,
    address: &str,
) -> Result<Resolved<'a>, String> {
    let children = process::child_pids(roots, conmon);
    let Some(&child) = children.first() else {
        return Err(format!(
            "port {port} is held by conmon {conmon}, which has no child: its container is not running"
        ));
    };
    let Some(ns) = survey.namespace_of.get(&child).and_then(|i| survey.namespace(*i)) else {
        return Err(format!(
            "port {port} is held by conmon {conmon}; the network namespace of its container process {child} could \
             not be read ({PERMISSION_HINT})"
        ));
    };
    let listening: BTreeSet<u16> = ns.sockets.iter().map(|s| s.port).collect();
    // The host port maps to one container port, which podman keeps in its database; without
    // it, the container's listeners tell it when they can: the same number, or a single port.
    let mapped = process::raw_argv(roots, conmon)
        .as_deref()
        .and_then(|argv| flag_value(argv, "c").map(str::to_string))
        .and_then(|id| podman_mapping(roots, &id, port));
    let inner = if let Some((inner, how)) = mapped {
        Some((inner, how))
    } else if listening.contains(&port) {
        Some((port, "the container listens on the same port number".to_string()))
    } else if listening.len() == 1 {
        listening
            .first()
            .map(|&p| (p, format!("the container's only listening port is {p}")))
    } else {
        None
    };
    let Some((inner, how)) = inner else {
        let ports: Vec<String> = listening.iter().map(u16::to_string).collect();
        return Err(format!(
            "port {port} is held by conmon {conmon} for container process {child}, which listens on {}; which of \
             them the host port maps to is in podman's database (use --workload pid:PID or --endpoint)",
            if ports.is_empty() {
                "no port".to_string()
            } else {
                ports.join(", ")
            }
        ));
    };
    let sockets: Vec<&Socket> = ns.sockets.iter().filter(|s| s.port == inner).collect();
    let holders = holders(survey, &sockets);
    let pid = process::topmost(roots, &holders).unwrap_or(child);
    Ok(Resolved {
        ns,
        sockets,
        holders,
        pid,
        chain: vec![Hop {
            kind: "conmon".into(),
            pid: Some(conmon),
            address: address.to_string(),
            followed: format!("conmon's child {child} is the container; {how}"),
        }],
    })
}

/// Where podman keeps its containers' configuration, port mappings included (rootful default).
const PODMAN_DB: &str = "var/lib/containers/storage/libpod/bolt_state.db";

/// Largest podman database read.
const PODMAN_DB_MAX_BYTES: u64 = 64 << 20;

/// The container port podman maps host `port` to for container `id`, from its database.
///
/// Podman 4 stores each container's configuration in a BoltDB file as plain JSON
/// (`{"spec":{...},"id":"<id>",...,"newPortMappings":[{"host_port":18000,"container_port":8000,
/// "range":1,...}]}`); no Go BoltDB reader exists in Rust worth the dependency for one field, and
/// a Bolt value is stored contiguously, so each configuration is parsed where it starts. Old
/// copies of a configuration may remain in free pages; only one with this container's id counts,
/// and a configuration does not change while its container runs.
fn podman_mapping(roots: &Roots, id: &str, port: u16) -> Option<(u16, String)> {
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let file = fs::File::open(roots.fs_root.join(PODMAN_DB)).ok()?;
    let mut bytes = Vec::new();
    file.take(PODMAN_DB_MAX_BYTES).read_to_end(&mut bytes).ok()?;
    let wanted = format!("\"id\":\"{id}\"");
    let start = b"{\"spec\":";
    let mut at = 0;
    while let Some(found) = find(&bytes[at..], start) {
        let from = at + found;
        at = from + start.len();
        // Cheap test before parsing: the id must follow within the configuration.
        if find(
            bytes.get(from..(from + 256 * 1024).min(bytes.len()))?,
            wanted.as_bytes(),
        )
        .is_none()
        {
            continue;
        }
        // One value, whatever follows it (binary: not `StreamDeserializer`, which refuses that).
        let mut de = serde_json::Deserializer::from_slice(&bytes[from..]);
        let Ok(config) = <serde_json::Value as serde::Deserialize>::deserialize(&mut de) else {
            continue;
        };
        if config.get("id").and_then(|v| v.as_str()) != Some(id) {
            continue;
        }
        let mappings = config.get("newPortMappings").and_then(|m| m.as_array())?;
        for m in mappings {
            let number = |key: &str| m.get(key).and_then(serde_json::Value::as_u64);
            let (Some(host), Some(inner)) = (number("host_port"), number("container_port")) else {
                continue;
            };
            let range = number("range").unwrap_or(1).max(1);
            let tcp = m
                .get("protocol")
                .and_then(|p| p.as_str())
                .is_none_or(|p| p.split(',').any(|p| p == "tcp"));
            let port = u64::from(port);
            if tcp && (host..host + range).contains(&port) {
                let inner = u16::try_from(inner + (port - host)).ok()?;
                return Some((
                    inner,
                    format!("podman's database maps host port {port} to container port {inner}"),
                ));
            }
        }
        return None;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value after `flag` (`-container-ip 172.17.0.2`), also as `-flag=value` or `--flag`.
fn flag_value<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        let bare = arg.trim_start_matches('-');
        if arg.starts_with('-') {
            if bare == flag {
                return args.next().map(String::as_str);
            }
            if let Some(value) = bare.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                return Some(value);
            }
        }
    }
    None
}

/// docker-proxy: its argv names the container address and port.
fn via_docker_proxy<'a>(roots: &Roots, survey: &'a Survey, proxy: u32, address: &str) -> Result<Resolved<'a>, String> {
    let argv = process::raw_argv(roots, proxy).unwrap_or_default();
    let ip = flag_value(&argv, "container-ip").and_then(|v| v.parse::<IpAddr>().ok());
    let port = flag_value(&argv, "container-port").and_then(|v| v.parse::<u16>().ok());
    let (Some(ip), Some(port)) = (ip, port) else {
        return Err(format!(
            "{address} is held by docker-proxy {proxy}, whose command line names no -container-ip and -container-port"
        ));
    };
    let target = show(ip, port);
    let followed = format!("docker-proxy forwards to {target} (its -container-ip and -container-port)");
    to_address(roots, survey, ip, port)
        .map(|(ns, sockets, holders, pid)| Resolved {
            ns,
            sockets,
            holders,
            pid,
            chain: vec![Hop {
                kind: "docker-proxy".into(),
                pid: Some(proxy),
                address: address.to_string(),
                followed,
            }],
        })
        .map_err(|why| format!("{address} is held by docker-proxy {proxy}, forwarding to {target}: {why}"))
}

type Found<'a> = (&'a Namespace, Vec<&'a Socket>, Vec<u32>, u32);

/// The listener on `port` in the namespace that owns `ip`.
fn to_address<'a>(roots: &Roots, survey: &'a Survey, ip: IpAddr, port: u16) -> Result<Found<'a>, String> {
    let ns = survey
        .namespaces
        .iter()
        .filter(|n| n.sockets.iter().any(|s| s.port == port))
        .find(|n| n.addresses(roots).contains(&ip))
        .ok_or_else(|| format!("no network namespace with address {ip} listens on port {port}"))?;
    let sockets: Vec<&Socket> = ns.sockets.iter().filter(|s| s.port == port).collect();
    let holders = holders(survey, &sockets);
    let pid = process::topmost(roots, &holders).ok_or_else(|| no_owner(survey, ns, port))?;
    Ok((ns, sockets, holders, pid))
}

/// Largest docker state file read.
const STATE_MAX_BYTES: u64 = 1 << 20;

/// A port docker publishes without a proxy process: its `hostconfig.json` `PortBindings`.
fn docker_published<'a>(roots: &Roots, survey: &'a Survey, port: u16) -> Option<Result<Resolved<'a>, String>> {
    let dir = roots.fs_root.join("var/lib/docker/containers");
    let entries = fs::read_dir(&dir).ok()?;
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let Ok(file) = fs::File::open(entry.path().join("hostconfig.json")) else {
            continue;
        };
        let mut text = String::new();
        if file.take(STATE_MAX_BYTES).read_to_string(&mut text).is_err() {
            continue;
        }
        let Ok(config) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(bindings) = config.get("PortBindings").and_then(|b| b.as_object()) else {
            continue;
        };
        for (inner, hosts) in bindings {
            let Some(inner_port) = inner.strip_suffix("/tcp").and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            let published = hosts.as_array().into_iter().flatten().any(|h| {
                h.get("HostPort")
                    .and_then(|p| p.as_str())
                    .and_then(|p| p.parse::<u16>().ok())
                    == Some(port)
            });
            if !published {
                continue;
            }
            let short: String = id.chars().take(12).collect();
            let hop = Hop {
                kind: "docker state".into(),
                pid: None,
                address: format!("*:{port}"),
                followed: format!(
                    "/var/lib/docker/containers/{short}…/hostconfig.json publishes host port {port} as {inner}"
                ),
            };
            return Some(
                in_container(roots, survey, &id, inner_port).map(|(ns, sockets, holders, pid)| Resolved {
                    ns,
                    sockets,
                    holders,
                    pid,
                    chain: vec![hop],
                }),
            );
        }
    }
    None
}

/// The listener on `port` in the namespace of the container `id` (a process whose cgroup
/// names it).
fn in_container<'a>(roots: &Roots, survey: &'a Survey, id: &str, port: u16) -> Result<Found<'a>, String> {
    let member =
        survey.namespace_of.keys().copied().find(|&pid| {
            fs::read_to_string(roots.proc.join(pid.to_string()).join("cgroup")).is_ok_and(|c| c.contains(id))
        });
    let short: String = id.chars().take(12).collect();
    let ns = member
        .and_then(|pid| survey.namespace_of.get(&pid))
        .and_then(|inode| survey.namespace(*inode))
        .ok_or_else(|| format!("container {short}… publishes port {port}, but none of its processes is visible"))?;
    let sockets: Vec<&Socket> = ns.sockets.iter().filter(|s| s.port == port).collect();
    if sockets.is_empty() {
        return Err(format!(
            "container {short}… does not listen on its published port {port}"
        ));
    }
    let holders = holders(survey, &sockets);
    let pid = process::topmost(roots, &holders).ok_or_else(|| no_owner(survey, ns, port))?;
    Ok((ns, sockets, holders, pid))
}

/// Where a process named by pid listens on `port`, in its own namespace, and how to reach it;
/// `None` when its namespace is not known or nothing listens on the port there.
pub(crate) fn place_of(roots: &Roots, survey: &Survey, pid: u32, port: u16) -> Option<NetworkPlace> {
    let ns = survey
        .namespace_of
        .get(&pid)
        .and_then(|inode| survey.namespace(*inode))?;
    let sockets: Vec<&Socket> = ns.sockets.iter().filter(|s| s.port == port).collect();
    if sockets.is_empty() {
        return None;
    }
    let holders = holders(survey, &sockets);
    Some(place(
        roots,
        &Resolved {
            ns,
            sockets,
            holders,
            pid,
            chain: Vec::new(),
        },
    ))
}

fn place(roots: &Roots, r: &Resolved<'_>) -> NetworkPlace {
    let listening: Vec<String> = r.sockets.iter().map(|s| s.shown()).collect();
    let inner_port = r.sockets.first().map_or(0, |s| s.port);
    let own_addresses = if r.ns.own { Vec::new() } else { r.ns.addresses(roots) };
    NetworkPlace {
        namespace: r.ns.inode,
        scanner_namespace: r.ns.own,
        listening,
        namespace_addresses: own_addresses.iter().map(IpAddr::to_string).collect(),
        chain: r.chain.clone(),
        reach: reach(r, &own_addresses, inner_port),
    }
}

fn candidate(roots: &Roots, r: Resolved<'_>, declared_env: &[String]) -> Candidate {
    let network = place(roots, &r);
    let listening = network.listening.clone();
    let inner_port = r.sockets.first().map_or(0, |s| s.port);
    let found_by = FoundBy::Port {
        port: inner_port,
        addresses: listening.clone(),
        holders: r.holders.clone(),
    };
    let process = match process::serving_process(roots, r.pid, found_by, declared_env) {
        Observed::Ok { value } => value,
        // Exited between the survey and now: keep what the survey knew.
        _ => ServingProcess::vanished(r.pid, r.holders.clone(), inner_port, listening.clone()),
    };
    let workload = workload_of(roots, r.pid);
    Candidate {
        limits: Some(limits::effective_limits(roots, r.pid, LimitsOf::ServingProcess)),
        network: Some(network),
        workload: (!workload.is_host() || !workload.gaps.is_empty()).then_some(workload),
        process,
    }
}

/// How the scanner reaches the endpoint: through the forwarder's host address, in its own
/// namespace, at the namespace's address, or only from inside.
fn reach(r: &Resolved<'_>, own_addresses: &[IpAddr], port: u16) -> Reach {
    if let Some(first) = r.chain.first()
        && first.pid.is_some()
    {
        return Reach::Here {
            address: loopback_for(&first.address),
        };
    }
    let bound: Vec<IpAddr> = r.sockets.iter().map(|s| s.ip).collect();
    let wildcard = bound.iter().any(IpAddr::is_unspecified);
    if r.ns.own {
        let ip = if wildcard || bound.is_empty() {
            bound
                .iter()
                .find(|ip| ip.is_unspecified())
                .map(|ip| match ip {
                    IpAddr::V4(_) => "127.0.0.1".parse().ok(),
                    IpAddr::V6(_) => "::1".parse().ok(),
                })
                .unwrap_or(None)
        } else {
            bound.first().copied()
        };
        return match ip {
            Some(ip) => Reach::Here {
                address: show(ip, port),
            },
            None => Reach::Here {
                address: format!("127.0.0.1:{port}"),
            },
        };
    }
    if let Some(ip) = bound.iter().find(|ip| !ip.is_unspecified() && !ip.is_loopback()) {
        return Reach::NamespaceAddress {
            address: show(*ip, port),
        };
    }
    if wildcard {
        // A wildcard bound on IPv4 answers on the namespace's IPv4 addresses; on IPv6, on both.
        let v4_only = bound.iter().all(|ip| ip.is_ipv4());
        if let Some(ip) = own_addresses.iter().find(|ip| !v4_only || ip.is_ipv4()) {
            return Reach::NamespaceAddress {
                address: show(*ip, port),
            };
        }
    }
    match bound.iter().find(|ip| ip.is_loopback()).or(bound.first()) {
        Some(ip) => Reach::InsideNamespace {
            pid: r.pid,
            address: show(if ip.is_unspecified() { loopback(*ip) } else { *ip }, port),
        },
        None => Reach::Unreachable {
            reason: format!("{} has no address to reach port {port} at", r.ns.label()),
        },
    }
}

fn loopback(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    }
}

/// A forwarder's bound address as a client reaches it: a wildcard becomes loopback.
fn loopback_for(address: &str) -> String {
    match address.rsplit_once(':') {
        Some((ip, port)) => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            match ip.parse::<IpAddr>() {
                Ok(parsed) if parsed.is_unspecified() => format!(
                    "{}:{port}",
                    match parsed {
                        IpAddr::V4(_) => "127.0.0.1",
                        IpAddr::V6(_) => "[::1]",
                    }
                ),
                _ => address.to_string(),
            }
        }
        None => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn docker_proxy_flags_in_both_spellings() {
        let argv = args(
            "/usr/bin/docker-proxy -proto tcp -host-ip 127.0.0.1 -host-port 18000 -container-ip 172.17.0.2 -container-port 8000",
        );
        assert_eq!(flag_value(&argv, "container-ip"), Some("172.17.0.2"));
        assert_eq!(flag_value(&argv, "container-port"), Some("8000"));
        let argv = args("docker-proxy --container-ip=10.0.0.2 --container-port=80");
        assert_eq!(flag_value(&argv, "container-ip"), Some("10.0.0.2"));
        assert_eq!(flag_value(&argv, "container-port"), Some("80"));
        assert_eq!(flag_value(&args("docker-proxy -container-ip"), "container-ip"), None);
    }

    #[test]
    fn podman_mappings_are_read_from_its_database_bytes() {
        let tree = crate::fake_tree::FakeTree::new();
        let id = "3f2a".repeat(16);
        let other = "9b1c".repeat(16);
        let config = |id: &str, host: u16, inner: u16| {
            format!(
                r#"{{"spec":{{"ociVersion":"1.0.2","process":{{"args":["vllm"]}}}},"id":"{id}","name":"x","newPortMappings":[{{"host_ip":"127.0.0.1","container_port":{inner},"host_port":{host},"range":1,"protocol":"tcp"}}]}}"#
            )
        };
        // Binary noise around the values, and a stale copy of another container's config.
        let mut db = vec![0u8, 7, 255, 1];
        db.extend_from_slice(b"config");
        db.extend_from_slice(config(&other, 18000, 9000).as_bytes());
        db.extend_from_slice(&[0, 0, 3, 255]);
        db.extend_from_slice(config(&id, 18000, 8000).as_bytes());
        // As in a real database: the value is followed by binary, then more values.
        db.extend_from_slice(&[0, 1, 2, 0x80]);
        db.extend_from_slice(b"{\"spec\":{broken");
        tree.write(
            "root/var/lib/containers/storage/libpod/bolt_state.db",
            &String::from_utf8_lossy(&db),
        );
        let roots = tree.roots();
        assert_eq!(podman_mapping(&roots, &id, 18000).map(|m| m.0), Some(8000));
        assert_eq!(podman_mapping(&roots, &other, 18000).map(|m| m.0), Some(9000));
        assert_eq!(podman_mapping(&roots, &id, 18001), None);
        assert_eq!(podman_mapping(&roots, "not-an-id", 18000), None);
        assert_eq!(podman_mapping(&roots, &"0".repeat(64), 18000), None);
    }

    use crate::fake_tree::FakeTree;

    const HOST_NS: u64 = 4_026_531_840;
    const POD_NS: u64 = 4_026_532_301;

    /// A process of a fake node: its stat, name, command line, namespace and socket fds.
    fn process(tree: &FakeTree, pid: u32, ppid: u32, comm: &str, argv: &[&str], ns: u64, sockets: &[u64]) {
        tree.write(
            &format!("proc/{pid}/stat"),
            &format!("{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0"),
        );
        tree.write(&format!("proc/{pid}/comm"), &format!("{comm}\n"));
        tree.write(&format!("proc/{pid}/cmdline"), &argv.join("\0"));
        tree.link(&format!("proc/{pid}/ns/net"), &format!("net:[{ns}]"));
        tree.write(&format!("proc/{pid}/task/{pid}/children"), "");
        for (i, inode) in sockets.iter().enumerate() {
            tree.link(&format!("proc/{pid}/fd/{}", i + 3), &format!("socket:[{inode}]"));
        }
    }

    /// LISTEN rows `(hex address, port, inode)` in the IPv4 table as seen through `pid`.
    fn listening(tree: &FakeTree, pid: u32, rows: &[(&str, u16, u64)]) {
        let mut text = String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        );
        for (i, (address, port, inode)) in rows.iter().enumerate() {
            text.push_str(&format!(
                "   {i}: {address}:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0\n"
            ));
        }
        tree.write(&format!("proc/{pid}/net/tcp"), &text);
    }

    fn node() -> FakeTree {
        let tree = FakeTree::new();
        tree.link("proc/self/ns/net", &format!("net:[{HOST_NS}]"));
        process(&tree, 1, 0, "init", &["/sbin/init"], HOST_NS, &[]);
        listening(&tree, 1, &[]);
        tree
    }

    fn found(tree: &FakeTree, port: u16) -> (Observed<Vec<Candidate>>, Vec<String>) {
        let roots = tree.roots();
        let survey = crate::netns::survey(&roots);
        for_port(&roots, &survey, port, &[])
    }

    /// Little-endian hex of an IPv4 address, as /proc/net/tcp prints it on x86 and arm64.
    fn hex(ip: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip))
    }

    #[test]
    fn two_namespaces_on_one_port_are_two_candidates() {
        let tree = node();
        process(&tree, 100, 1, "vllm", &["vllm", "serve", "a"], HOST_NS, &[11]);
        process(&tree, 200, 1, "vllm", &["vllm", "serve", "b"], POD_NS, &[22]);
        listening(&tree, 1, &[(&hex([0, 0, 0, 0]), 8000, 11)]);
        listening(&tree, 100, &[(&hex([0, 0, 0, 0]), 8000, 11)]);
        listening(&tree, 200, &[(&hex([0, 0, 0, 0]), 8000, 22)]);
        tree.write(
            "proc/200/net/fib_trie",
            "Main:\n  +-- 10.88.0.0/16 2 0 2\n     |-- 10.88.0.7\n        /32 host LOCAL\n",
        );
        let (candidates, blind) = found(&tree, 8000);
        assert!(blind.is_empty(), "{blind:?}");
        let Observed::Ok { value } = candidates else {
            panic!("{candidates:?}")
        };
        let pids: Vec<u32> = value.iter().map(Candidate::pid).collect();
        assert_eq!(pids, [100, 200]);
        let reach = |c: &Candidate| c.network.as_ref().map(|n| n.reach.clone());
        if cfg!(target_endian = "little") {
            assert_eq!(
                reach(&value[0]),
                Some(Reach::Here {
                    address: "127.0.0.1:8000".into()
                })
            );
            assert_eq!(
                reach(&value[1]),
                Some(Reach::NamespaceAddress {
                    address: "10.88.0.7:8000".into()
                })
            );
        }
    }

    #[test]
    fn a_port_docker_publishes_without_a_proxy_is_found_through_its_state() {
        let tree = node();
        let id = "ab12".repeat(16);
        process(&tree, 500, 1, "python3", &["python3", "-m", "server"], POD_NS, &[55]);
        tree.write("proc/500/cgroup", &format!("0::/system.slice/docker-{id}.scope\n"));
        listening(&tree, 500, &[(&hex([0, 0, 0, 0]), 8000, 55)]);
        tree.write(
            &format!("root/var/lib/docker/containers/{id}/hostconfig.json"),
            r#"{"PortBindings":{"8000/tcp":[{"HostIp":"","HostPort":"18080"}]}}"#,
        );
        let (candidates, _) = found(&tree, 18080);
        let Observed::Ok { value } = candidates else {
            panic!("{candidates:?}")
        };
        assert_eq!(value.len(), 1);
        let network = value[0].network.clone().unwrap_or_else(|| panic!("no network"));
        assert_eq!(value[0].pid(), 500);
        assert_eq!(network.chain[0].kind, "docker state");
        assert!(
            network.chain[0]
                .followed
                .contains("publishes host port 18080 as 8000/tcp"),
            "{network:?}"
        );
        assert_eq!(
            value[0].workload.as_ref().and_then(|w| w.container_id.clone()),
            Some(id)
        );
        // A port nobody publishes is still absent, and says what was not read.
        let (nothing, _) = found(&tree, 18081);
        assert!(nothing.is_absent(), "{nothing:?}");
        assert!(
            nothing
                .reason()
                .is_some_and(|r| r.contains("their mappings are not read"))
        );
    }

    #[test]
    fn conmon_leads_to_its_container_only_when_the_port_is_certain() {
        let tree = node();
        process(
            &tree,
            300,
            1,
            "conmon",
            &["/usr/bin/conmon", "--api-version", "1", "-c", "x"],
            HOST_NS,
            &[70],
        );
        tree.write("proc/300/task/300/children", "301");
        process(&tree, 301, 300, "vllm", &["vllm", "serve", "m"], POD_NS, &[71, 72]);
        listening(&tree, 1, &[(&hex([127, 0, 0, 1]), 18000, 70)]);
        listening(
            &tree,
            301,
            &[(&hex([0, 0, 0, 0]), 8000, 71), (&hex([0, 0, 0, 0]), 8001, 72)],
        );
        // Two ports in the container and no database: which one is not guessed.
        let (candidates, _) = found(&tree, 18000);
        assert!(candidates.is_unknown(), "{candidates:?}");
        assert!(
            candidates.reason().is_some_and(|r| r.contains("8000, 8001")),
            "{candidates:?}"
        );
        // One port: that one, said so, and reached through the host port.
        listening(&tree, 301, &[(&hex([0, 0, 0, 0]), 8000, 71)]);
        let (candidates, _) = found(&tree, 18000);
        let Observed::Ok { value } = candidates else {
            panic!("{candidates:?}")
        };
        let network = value[0].network.clone().unwrap_or_else(|| panic!("no network"));
        assert_eq!(value[0].pid(), 301);
        assert!(network.chain[0].followed.contains("only listening port is 8000"));
        if cfg!(target_endian = "little") {
            assert_eq!(
                network.reach,
                Reach::Here {
                    address: "127.0.0.1:18000".into()
                }
            );
            assert!(
                value[0]
                    .route()
                    .starts_with("host 127.0.0.1:18000 → conmon 300 → vllm 301"),
                "{}",
                value[0].route()
            );
        }
    }

    #[test]
    fn a_namespace_that_cannot_be_read_is_a_blind_spot_not_an_absence() {
        let tree = node();
        // A process whose namespace is known, but whose socket tables are not there to read.
        process(&tree, 600, 1, "sleep", &["sleep"], POD_NS, &[]);
        let (candidates, blind) = found(&tree, 8000);
        assert!(candidates.is_unknown(), "{candidates:?}");
        assert!(
            blind.iter().any(|b| b.contains(&format!("net:[{POD_NS}]"))),
            "{blind:?}"
        );
    }

    #[test]
    fn wildcard_forwarders_are_reached_on_loopback() {
        assert_eq!(loopback_for("0.0.0.0:18000"), "127.0.0.1:18000");
        assert_eq!(loopback_for("[::]:18000"), "[::1]:18000");
        assert_eq!(loopback_for("127.0.0.1:18000"), "127.0.0.1:18000");
    }
}
