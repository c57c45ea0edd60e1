//! Every process that listens on TCP anywhere on the node, for finding the model servers on it
//! without being told their ports (`modelspec init --all`, `--workload`).
//!
//! It is the survey a port's lookup makes (`netns`: every namespace's LISTEN sockets and the
//! processes holding them), read the other way: by process instead of by port. Each process
//! listed is the topmost holder of its sockets in its namespace, with every port it listens
//! on. Port forwarders (podman's `conmon`, `docker-proxy`) are named as such and not followed:
//! the process behind one listens in its own namespace, so it is in the list itself.
//!
//! A listener also carries the GPU device files its process tree holds open (`/dev/nvidia0`),
//! read in the survey's own pass over every fd: which listeners compute on a GPU is the best
//! sign of a model server that no command line names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Roots;
use crate::netns;
use crate::observed::{Observed, PERMISSION_HINT};
use crate::process;
use crate::workload::{Workload, workload_of};

/// A process holding listening TCP sockets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    /// Its host pid.
    pub pid: u32,
    /// Its `comm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its command line, secrets redacted.
    pub argv: Observed<Vec<String>>,
    /// The ports it listens on, ascending.
    pub ports: Vec<u16>,
    /// The addresses its sockets are bound to (`0.0.0.0:8000`).
    pub addresses: Vec<String>,
    /// The inode of its network namespace (`net:[N]`).
    pub namespace: u64,
    /// Whether that is the scanner's own namespace.
    pub scanner_namespace: bool,
    /// `conmon` or `docker-proxy` when it only forwards a published port to a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarder: Option<String>,
    /// The GPU device files it or its descendants hold open, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_devices: Vec<String>,
    /// Its container and pod, when it runs in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
}

/// Every listener on the node, and what could not be seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Listeners {
    /// By pid.
    pub processes: Vec<Listener>,
    /// Namespaces, sockets or processes the survey could not see into, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blind_spots: Vec<String>,
}

/// How far up a GPU holder's ancestry a listener is looked for (a serving process's workers
/// are its children or grandchildren; the bound only stops a racy read looping).
const MAX_DEPTH: usize = 64;

/// Surveys the node's listeners.
pub fn listeners() -> Listeners {
    listeners_with(&Roots::default())
}

pub(crate) fn listeners_with(roots: &Roots) -> Listeners {
    let survey = netns::survey(roots);
    if let Some(failed) = &survey.failed {
        return Listeners {
            processes: Vec::new(),
            blind_spots: vec![failed.clone()],
        };
    }
    let mut blind_spots = survey.blind_spots();
    let mut by_pid: BTreeMap<u32, Listener> = BTreeMap::new();
    let mut ownerless = 0usize;
    for ns in &survey.namespaces {
        for socket in &ns.sockets {
            let Some(pid) = process::topmost(roots, survey.holders_of(socket.inode)) else {
                ownerless += 1;
                continue;
            };
            let listener = by_pid.entry(pid).or_insert_with(|| {
                let name = process::comm(roots, pid);
                let forwarder = name
                    .as_deref()
                    .filter(|n| matches!(*n, "conmon" | "docker-proxy"))
                    .map(str::to_owned);
                let workload = workload_of(roots, pid);
                Listener {
                    pid,
                    argv: process::argv_of(roots, pid),
                    name,
                    ports: Vec::new(),
                    addresses: Vec::new(),
                    namespace: ns.inode,
                    scanner_namespace: ns.own,
                    forwarder,
                    gpu_devices: Vec::new(),
                    workload: (!workload.is_host() || !workload.gaps.is_empty()).then_some(workload),
                }
            });
            if !listener.ports.contains(&socket.port) {
                listener.ports.push(socket.port);
            }
            let shown = socket.shown();
            if !listener.addresses.contains(&shown) {
                listener.addresses.push(shown);
            }
        }
    }
    if ownerless > 0 {
        blind_spots.push(format!(
            "{ownerless} listening sockets whose process could not be seen ({PERMISSION_HINT})"
        ));
    }
    for (&holder, devices) in &survey.devices {
        let mut at = holder;
        for _ in 0..MAX_DEPTH {
            if let Some(listener) = by_pid.get_mut(&at) {
                listener.gpu_devices.extend(devices.iter().cloned());
                break;
            }
            match process::parent_of(roots, at) {
                Some(parent) if parent > 0 && parent != at => at = parent,
                _ => break,
            }
        }
    }
    let processes = by_pid
        .into_values()
        .map(|mut l| {
            l.ports.sort_unstable();
            l.addresses.sort();
            l.gpu_devices.sort();
            l.gpu_devices.dedup();
            l
        })
        .collect();
    Listeners { processes, blind_spots }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_tree::FakeTree;

    const HOST_NS: u64 = 4_026_531_840;
    const POD_NS: u64 = 4_026_532_301;

    fn process(tree: &FakeTree, pid: u32, ppid: u32, comm: &str, argv: &[&str], ns: u64, fds: &[&str]) {
        tree.write(
            &format!("proc/{pid}/stat"),
            &format!("{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0"),
        );
        tree.write(&format!("proc/{pid}/comm"), &format!("{comm}\n"));
        tree.write(&format!("proc/{pid}/cmdline"), &argv.join("\0"));
        tree.link(&format!("proc/{pid}/ns/net"), &format!("net:[{ns}]"));
        for (i, target) in fds.iter().enumerate() {
            tree.link(&format!("proc/{pid}/fd/{}", i + 3), target);
        }
    }

    fn table(tree: &FakeTree, pid: u32, rows: &[(u16, u64)]) {
        let mut text = String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        );
        for (i, (port, inode)) in rows.iter().enumerate() {
            text.push_str(&format!(
                "   {i}: 00000000:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0\n"
            ));
        }
        tree.write(&format!("proc/{pid}/net/tcp"), &text);
    }

    #[test]
    fn every_listener_with_its_ports_and_the_gpus_its_workers_hold() {
        let tree = FakeTree::new();
        tree.link("proc/self/ns/net", &format!("net:[{HOST_NS}]"));
        process(&tree, 1, 0, "init", &["/sbin/init"], HOST_NS, &[]);
        // sshd on the host; a forwarder; a server in a pod whose worker child holds GPU 1.
        process(&tree, 10, 1, "sshd", &["sshd"], HOST_NS, &["socket:[1]"]);
        process(&tree, 20, 1, "conmon", &["conmon"], HOST_NS, &["socket:[2]"]);
        process(
            &tree,
            30,
            20,
            "python3",
            &["vllm", "serve", "m"],
            POD_NS,
            &["socket:[3]", "socket:[4]", "/dev/nvidiactl"],
        );
        process(
            &tree,
            31,
            30,
            "python3",
            &["worker"],
            POD_NS,
            &["/dev/nvidia1", "/dev/nvidia-uvm", "/dev/nvidia1"],
        );
        // A GPU job that listens nowhere.
        process(&tree, 40, 1, "train", &["train"], HOST_NS, &["/dev/nvidia0"]);
        table(&tree, 1, &[(22, 1), (18000, 2)]);
        table(&tree, 30, &[(8000, 3), (8000, 3), (9000, 4)]);
        let found = listeners_with(&tree.roots());
        assert!(found.blind_spots.is_empty(), "{:?}", found.blind_spots);
        let rows: Vec<String> = found
            .processes
            .iter()
            .map(|l| {
                format!(
                    "{} {:?} {:?} {:?} own:{}",
                    l.pid, l.ports, l.forwarder, l.gpu_devices, l.scanner_namespace
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                "10 [22] None [] own:true",
                "20 [18000] Some(\"conmon\") [] own:true",
                "30 [8000, 9000] None [\"/dev/nvidia1\"] own:false",
            ]
        );
        assert_eq!(found.processes[2].argv.value().map(Vec::len), Some(3));
    }

    #[test]
    fn sockets_nobody_visible_holds_are_a_blind_spot() {
        let tree = FakeTree::new();
        tree.link("proc/self/ns/net", &format!("net:[{HOST_NS}]"));
        process(&tree, 1, 0, "init", &["/sbin/init"], HOST_NS, &[]);
        table(&tree, 1, &[(8000, 77)]);
        let found = listeners_with(&tree.roots());
        assert!(found.processes.is_empty());
        assert!(
            found.blind_spots.iter().any(|s| s.contains("1 listening sockets")),
            "{:?}",
            found.blind_spots
        );
    }

    #[test]
    fn no_proc_is_a_blind_spot_not_a_panic() {
        let tree = FakeTree::new();
        let found = listeners_with(&tree.roots());
        assert!(found.processes.is_empty());
        assert_eq!(found.blind_spots.len(), 1);
    }
}
