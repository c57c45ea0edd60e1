//! Listening sockets in every network namespace of the node, and the processes that hold them.
//!
//! A model server in a container (a Kubernetes pod, `podman run`, `docker run`) has a network
//! namespace of its own: its sockets are not in the scanner's `/proc/net/tcp`, and two pods may
//! both listen on `:8000`. So the survey goes the other way round:
//!
//! 1. Every process's `/proc/PID/ns/net` names its namespace (`net:[4026532301]`); processes are
//!    grouped by it. Reading the link needs the same user, root or `CAP_SYS_PTRACE`; a process
//!    whose link is closed to us is counted, and its namespace is a blind spot.
//! 2. For each namespace, one of its processes' `/proc/PID/net/tcp{,6}` lists that namespace's
//!    sockets (the kernel shows the table of the reading process's namespace). Every LISTEN row
//!    is kept, on every port: a forwarder's target may listen on another port than the one asked.
//! 3. One pass over every process's `/proc/PID/fd` maps each listening socket's inode to the
//!    processes holding it (a link to `socket:[inode]`). Another user's fd directory is closed
//!    without root or `CAP_DAC_READ_SEARCH`/`CAP_SYS_PTRACE`: a socket with no visible owner
//!    while some were closed to us is a permission problem, never "not listening".
//!
//! The scanner's own namespace is read through `sock_diag` netlink when it can (the same
//! answer, without the kernel walking its connection table), and every table file is read only
//! up to its first non-LISTEN row, for the same reason.
//!
//! Nothing here enters a namespace: everything is a file read, so the survey works from the
//! host, from a privileged DaemonSet pod with `hostPID`, and (with blind spots, said as such)
//! unprivileged. The scanner's own namespace is the one `/proc/self/ns/net` names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Roots;
use crate::observed::PERMISSION_HINT;

/// One LISTEN socket in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Socket {
    pub(crate) ip: IpAddr,
    pub(crate) port: u16,
    pub(crate) inode: u64,
}

impl Socket {
    /// `10.88.0.5:8000` or `[::]:8000`.
    pub(crate) fn shown(&self) -> String {
        show(self.ip, self.port)
    }
}

/// `ip:port`, with brackets for IPv6.
pub(crate) fn show(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// One network namespace and what listens in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Namespace {
    /// The inode of `/proc/PID/ns/net`; 0 for a namespace known only through the socket
    /// tables of a process whose namespace link is closed to us.
    pub(crate) inode: u64,
    /// Its processes, in pid order.
    pub(crate) pids: Vec<u32>,
    /// Its LISTEN sockets, when its tables could be read.
    pub(crate) sockets: Vec<Socket>,
    /// Why its socket tables could not be read.
    pub(crate) unreadable: Option<String>,
    /// Whether it is the scanner's own namespace.
    pub(crate) own: bool,
}

impl Namespace {
    /// `net:[4026532301]`, or "the network namespace of pid 1" when its inode is not known.
    pub(crate) fn label(&self) -> String {
        match (self.inode, self.pids.first()) {
            (0, Some(pid)) => format!("the network namespace of pid {pid}"),
            (inode, _) => format!("net:[{inode}]"),
        }
    }

    /// The namespace's own addresses (a pod's IP), loopback excluded, read from its
    /// `fib_trie` (IPv4) and `if_inet6` (global IPv6) through one of its processes.
    pub(crate) fn addresses(&self, roots: &Roots) -> Vec<IpAddr> {
        for pid in &self.pids {
            let base = roots.proc.join(pid.to_string()).join("net");
            let Ok(trie) = fs::read_to_string(base.join("fib_trie")) else {
                continue;
            };
            let mut found: Vec<IpAddr> = local_ipv4(&trie).into_iter().map(IpAddr::V4).collect();
            if let Ok(inet6) = fs::read_to_string(base.join("if_inet6")) {
                found.extend(global_ipv6(&inet6).into_iter().map(IpAddr::V6));
            }
            return found;
        }
        Vec::new()
    }
}

/// The whole node's listening sockets, by namespace, and their holders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Survey {
    pub(crate) namespaces: Vec<Namespace>,
    /// Socket inode -> the processes holding it.
    pub(crate) holders: BTreeMap<u64, Vec<u32>>,
    /// Processes whose namespace could not be told: their namespace link was closed to us and
    /// so were their socket tables.
    pub(crate) hidden_processes: usize,
    /// Processes whose fd directory was closed to us, by namespace inode (0: unknown namespace).
    pub(crate) closed_fds: BTreeMap<u64, usize>,
    /// Each process's namespace inode.
    pub(crate) namespace_of: BTreeMap<u32, u64>,
    /// Why the survey could not run at all (no `/proc`).
    pub(crate) failed: Option<String>,
    /// The GPU device files each process holds open (`/dev/nvidia0`, `/dev/kfd`), seen in the
    /// same pass over its fds: a process computing on a GPU holds its device.
    pub(crate) devices: BTreeMap<u32, Vec<String>>,
}

impl Survey {
    /// The namespace with this inode.
    pub(crate) fn namespace(&self, inode: u64) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.inode == inode)
    }

    /// The processes holding a socket.
    pub(crate) fn holders_of(&self, inode: u64) -> &[u32] {
        self.holders.get(&inode).map_or(&[], Vec::as_slice)
    }

    /// Blind spots of the survey, in words: namespaces or sockets we could not see into.
    pub(crate) fn blind_spots(&self) -> Vec<String> {
        let mut spots = Vec::new();
        if self.hidden_processes > 0 {
            spots.push(format!(
                "the network namespace of {} processes could not be read ({PERMISSION_HINT})",
                self.hidden_processes
            ));
        }
        for ns in &self.namespaces {
            if let Some(why) = &ns.unreadable {
                spots.push(format!(
                    "the sockets of namespace net:[{}] could not be read: {why}",
                    ns.inode
                ));
            }
        }
        spots
    }
}

/// The inode in a `net:[4026531840]` link.
fn link_inode(link: &str) -> Option<u64> {
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// Surveys every namespace of the node.
pub(crate) fn survey(roots: &Roots) -> Survey {
    let mut survey = Survey::default();
    let entries = match fs::read_dir(&roots.proc) {
        Ok(entries) => entries,
        Err(e) => {
            survey.failed = Some(format!("could not list {}: {e}", roots.proc.display()));
            return survey;
        }
    };
    let own = fs::read_link(roots.proc.join("self/ns/net"))
        .ok()
        .and_then(|l| l.to_str().and_then(link_inode));
    let mut by_namespace: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    let mut pids = Vec::new();
    let mut hidden = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        pids.push(pid);
        match fs::read_link(entry.path().join("ns/net")) {
            Ok(link) => {
                if let Some(inode) = link.to_str().and_then(link_inode) {
                    by_namespace.entry(inode).or_default().push(pid);
                    survey.namespace_of.insert(pid, inode);
                }
            }
            Err(e) if e.kind() == ErrorKind::PermissionDenied => hidden.push(pid),
            // Exited meanwhile, or a kernel without namespaces: nothing to see.
            Err(_) => {}
        }
    }
    let groups: Vec<(u64, Vec<u32>)> = by_namespace
        .into_iter()
        .map(|(inode, mut members)| {
            members.sort_unstable();
            (inode, members)
        })
        .collect();
    let tables = tables_of(roots, &groups, own);
    for ((inode, members), table) in groups.into_iter().zip(tables) {
        let (sockets, unreadable) = match table {
            Ok(sockets) => (sockets, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        survey.namespaces.push(Namespace {
            inode,
            pids: members,
            sockets,
            unreadable,
            own: Some(inode) == own,
        });
    }
    place_hidden(roots, &mut survey, hidden);
    let wanted: BTreeSet<String> = survey
        .namespaces
        .iter()
        .flat_map(|n| &n.sockets)
        .map(|s| format!("socket:[{}]", s.inode))
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let fds = match fs::read_dir(roots.proc.join(pid.to_string()).join("fd")) {
            Ok(fds) => fds,
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                let ns = survey.namespace_of.get(&pid).copied().unwrap_or(0);
                *survey.closed_fds.entry(ns).or_default() += 1;
                continue;
            }
            Err(_) => continue,
        };
        if wanted.is_empty() {
            continue;
        }
        for fd in fds.flatten() {
            let Ok(link) = fs::read_link(fd.path()) else { continue };
            let Some(link) = link.to_str() else { continue };
            if is_gpu_device(link) {
                let held = survey.devices.entry(pid).or_default();
                if !held.iter().any(|d| d == link) {
                    held.push(link.to_owned());
                }
                continue;
            }
            if wanted.contains(link)
                && let Some(inode) = link
                    .strip_prefix("socket:[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|i| i.parse::<u64>().ok())
            {
                let holders = survey.holders.entry(inode).or_default();
                if !holders.contains(&pid) {
                    holders.push(pid);
                }
            }
        }
    }
    survey
}

/// A GPU's compute device file: `/dev/nvidiaN` (not `nvidiactl` or `nvidia-uvm`, which every
/// CUDA process holds whatever GPU it uses) or AMD's `/dev/kfd`.
fn is_gpu_device(link: &str) -> bool {
    link == "/dev/kfd"
        || link
            .strip_prefix("/dev/nvidia")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Every namespace's LISTEN sockets, in the order of `groups`.
///
/// Reading `/proc/PID/net/tcp` makes the kernel walk the node's whole connection table, which
/// all namespaces share (hundreds of thousands of buckets on a large machine), on every read:
/// about a millisecond a file on a small VM, most of a survey's cost. `sock_diag` asked for
/// LISTEN sockets only skips that table, but answers for the namespace its socket was made in.
/// So on the live system, where the scanner may enter namespaces (`CAP_SYS_ADMIN`), one thread
/// made for it enters each in turn and asks there; the scanner's own namespace needs no entering.
/// Whatever that could not answer is read from the files, spread over a few threads.
fn tables_of(roots: &Roots, groups: &[(u64, Vec<u32>)], own: Option<u64>) -> Vec<Result<Vec<Socket>, String>> {
    let live = roots.proc == std::path::Path::new("/proc");
    let mut tables: Vec<Option<Result<Vec<Socket>, String>>> = groups
        .iter()
        .map(|(inode, _)| {
            (live && Some(*inode) == own)
                .then(crate::sock_diag::listening)
                .flatten()
                .map(Ok)
        })
        .collect();
    if live {
        let others: Vec<(usize, u32)> = groups
            .iter()
            .enumerate()
            .filter(|(i, _)| tables[*i].is_none())
            .filter_map(|(i, (_, members))| members.first().map(|pid| (i, *pid)))
            .collect();
        for (i, sockets) in crate::sock_diag::listening_inside(&others) {
            if let Some(slot) = tables.get_mut(i) {
                *slot = Some(Ok(sockets));
            }
        }
    }
    let missing: Vec<usize> = (0..groups.len()).filter(|i| tables[*i].is_none()).collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 8)
        .min(missing.len().max(1));
    let read: Vec<(usize, Result<Vec<Socket>, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let mine: Vec<usize> = missing.iter().copied().skip(w).step_by(workers).collect();
                scope.spawn(move || {
                    mine.into_iter()
                        .map(|i| (i, read_tables(roots, &groups[i].1)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    for (i, table) in read {
        if let Some(slot) = tables.get_mut(i) {
            *slot = Some(table);
        }
    }
    tables
        .into_iter()
        .map(|t| t.unwrap_or_else(|| Err("internal: the socket tables were not read".into())))
        .collect()
}

/// Places the processes whose namespace link is closed to us (another user's, or one that is
/// not dumpable) by their socket tables, which the kernel shows more freely: a LISTEN socket's
/// inode is unique on the node, so one they list in a known namespace puts them there; none at
/// all means their namespace listens on nothing; sockets of no known namespace make a new one,
/// known through them. Only a process whose tables are closed too stays a blind spot.
fn place_hidden(roots: &Roots, survey: &mut Survey, hidden: Vec<u32>) {
    for pid in hidden {
        let Ok(sockets) = read_tables(roots, &[pid]) else {
            survey.hidden_processes += 1;
            continue;
        };
        if sockets.is_empty() {
            continue;
        }
        let home = survey
            .namespaces
            .iter_mut()
            .find(|n| n.sockets.iter().any(|s| sockets.iter().any(|t| t.inode == s.inode)));
        match home {
            Some(ns) => {
                ns.pids.push(pid);
                if ns.inode != 0 {
                    survey.namespace_of.insert(pid, ns.inode);
                }
            }
            None => survey.namespaces.push(Namespace {
                inode: 0,
                pids: vec![pid],
                sockets,
                unreadable: None,
                own: false,
            }),
        }
    }
}

/// The LISTEN sockets of the namespace these processes share, through the first of them whose
/// tables can be read.
fn read_tables(roots: &Roots, members: &[u32]) -> Result<Vec<Socket>, String> {
    let mut last_error = String::from("no process to read it through");
    for pid in members {
        let base = roots.proc.join(pid.to_string()).join("net");
        let mut sockets = Vec::new();
        let mut read_any = false;
        for (file, v6) in [("tcp", false), ("tcp6", true)] {
            match read_listen_rows(&base.join(file), v6, &mut sockets) {
                Ok(()) => read_any = true,
                Err(e) => last_error = format!("/proc/{pid}/net/{file}: {e}"),
            }
        }
        if read_any {
            return Ok(sockets);
        }
    }
    Err(last_error)
}

/// The LISTEN rows of one table. The kernel prints its listening sockets first and its
/// established ones after, so reading stops at the first row in another state: the kernel then
/// never walks the connection table, which on a busy node is most of the file, for every one
/// of the namespaces a survey reads.
fn read_listen_rows(path: &std::path::Path, v6: bool, out: &mut Vec<Socket>) -> std::io::Result<()> {
    use std::io::BufRead;
    let file = fs::File::open(path)?;
    let mut lines = std::io::BufReader::with_capacity(16 * 1024, file).lines();
    let _header = lines.next().transpose()?;
    for line in lines {
        let line = line?;
        if line.split_whitespace().nth(3) != Some("0A") {
            break;
        }
        parse_listen_rows(&format!("\n{line}"), v6, out);
    }
    Ok(())
}

/// Every LISTEN row of a `/proc/net/tcp{,6}` table.
pub(crate) fn parse_listen_rows(text: &str, v6: bool, out: &mut Vec<Socket>) {
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else {
            continue;
        };
        if *state != "0A" {
            continue;
        }
        let Some((address, port)) = local.split_once(':') else {
            continue;
        };
        let (Ok(port), Ok(inode)) = (u16::from_str_radix(port, 16), inode.parse::<u64>()) else {
            continue;
        };
        let Some(ip) = parse_address(address, v6) else {
            continue;
        };
        if inode != 0 {
            out.push(Socket { ip, port, inode });
        }
    }
}

/// The kernel prints each 32-bit word of the address in host byte order.
pub(crate) fn parse_address(hex: &str, v6: bool) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let text = hex.get(i * 8..i * 8 + 8)?;
        u32::from_str_radix(text, 16).ok().map(u32::to_ne_bytes)
    };
    if v6 {
        if hex.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for i in 0..4 {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
        }
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    } else {
        if hex.len() != 8 {
            return None;
        }
        Some(IpAddr::V4(Ipv4Addr::from(word(0)?)))
    }
}

/// The namespace's own IPv4 addresses: the `/32 host LOCAL` leaves of `fib_trie`, loopback
/// excluded, each once.
pub(crate) fn local_ipv4(trie: &str) -> Vec<Ipv4Addr> {
    let mut found = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in trie.lines() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("|-- ") {
            last = rest.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL")
            && let Some(ip) = last
            && !ip.is_loopback()
            && !found.contains(&ip)
        {
            found.push(ip);
        }
    }
    found
}

/// The namespace's global IPv6 addresses from `if_inet6` (scope 00), loopback excluded.
pub(crate) fn global_ipv6(text: &str) -> Vec<Ipv6Addr> {
    let mut found = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(hex), Some(scope)) = (fields.first(), fields.get(3)) else {
            continue;
        };
        if *scope != "00" || hex.len() != 32 {
            continue;
        }
        let Ok(value) = u128::from_str_radix(hex, 16) else {
            continue;
        };
        let ip = Ipv6Addr::from(value);
        if !ip.is_loopback() && !found.contains(&ip) {
            found.push(ip);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIE: &str = "Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.88.0.0/16 2 0 2
        |-- 10.88.0.0
           /16 link UNICAST
        |-- 10.88.0.5
           /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 10.88.0.5
        /32 host LOCAL
";

    #[test]
    fn fib_trie_gives_the_namespace_address_once() {
        assert_eq!(local_ipv4(TRIE), [Ipv4Addr::new(10, 88, 0, 5)]);
        assert!(local_ipv4("garbage\n|-- not-an-ip\n/32 host LOCAL\n").is_empty());
    }

    #[test]
    fn if_inet6_keeps_global_addresses() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo
fe800000000000000000000000000001 02 40 20 80     eth0
fd000000000000000000000000000005 02 40 00 80     eth0
";
        assert_eq!(
            global_ipv6(text),
            ["fd00::5".parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::UNSPECIFIED)]
        );
    }

    #[test]
    fn listen_rows_on_every_port() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0500580A:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0
   1: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0
   2: 0100007F:1F40 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0
   3: zz:yy
";
        let mut out = Vec::new();
        parse_listen_rows(tcp, false, &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].port, 8000);
        assert_eq!(out[1].port, 8001);
        if cfg!(target_endian = "little") {
            assert_eq!(out[0].shown(), "10.88.0.5:8000");
        }
    }

    #[test]
    fn link_inodes() {
        assert_eq!(link_inode("net:[4026531840]"), Some(4_026_531_840));
        assert_eq!(link_inode("mnt:[1]"), None);
        assert_eq!(link_inode("net:[x]"), None);
    }

    #[test]
    fn the_live_survey_sees_our_own_listener() {
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
            return;
        };
        let Ok(port) = listener.local_addr().map(|a| a.port()) else {
            return;
        };
        let survey = survey(&Roots::default());
        let own: Vec<&Namespace> = survey.namespaces.iter().filter(|n| n.own).collect();
        assert_eq!(own.len(), 1, "exactly one namespace is ours");
        let socket = own[0].sockets.iter().find(|s| s.port == port);
        let Some(socket) = socket else {
            panic!("our listener on {port} is not in {:?}", own[0].sockets);
        };
        assert!(survey.holders_of(socket.inode).contains(&std::process::id()));
    }
}
