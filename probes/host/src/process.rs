//! The serving process: who it is, how it was started, what it was given.
//!
//! Everything is read from `/proc/<pid>` directly rather than through sysinfo, because sysinfo
//! turns "not allowed" into "empty" (another user's environment comes back as no variables,
//! with no error). Here each file is its own [`Observed`]: `comm` and `cmdline` are readable
//! by anyone, while `exe`, `cwd` and `environ` need the same user, root, or
//! `CAP_SYS_PTRACE`, and say so ([`crate::PERMISSION_HINT`]) when refused.
//!
//! Command lines (the process's and its children's) pass through [`crate::env::redact_argv`]:
//! `vllm serve --api-key ...` must not carry its key into a snapshot.
//!
//! The children are the whole tree below the process, found through `PPid` in each
//! `/proc/<pid>/stat`; their names come from `comm` and `cmdline` because vLLM's workers
//! rename themselves (`VLLM::EngineCore`, `VLLM::Worker`).

use crate::Roots;
use crate::env::{EnvironmentFacts, environment_facts, redact_argv};
use crate::observed::{Observed, describe_io_error};
use modelspec_probe_support::format_rfc3339_utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, UNIX_EPOCH};

/// How the serving process was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum FoundBy {
    /// The caller named the pid.
    Pid,
    /// The process holds the listening socket of `port`.
    Port {
        port: u16,
        /// Bound addresses (`0.0.0.0:8000`, `[::1]:8000`...).
        addresses: Vec<String>,
        /// Every process holding the socket (forked workers share it); the serving process
        /// is the topmost of them.
        holders: Vec<u32>,
    },
}

/// A process's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessUser {
    /// Real uid.
    pub uid: u32,
    /// Name from `/etc/passwd`, when listed there.
    pub name: Option<String>,
}

/// One process below the serving process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildProcess {
    pub pid: u32,
    pub parent_pid: u32,
    /// `comm` (what the process calls itself, e.g. `VLLM::Worker`).
    pub name: String,
    /// `cmdline`, split and redacted; empty for a zombie.
    pub argv: Vec<String>,
    /// The pid in every PID namespace from the outermost the kernel shows (`NSpid` of
    /// `/proc/<pid>/status`); more than one inside a container. Empty when unreadable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ns_pids: Vec<u32>,
}

/// The process serving the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServingProcess {
    pub pid: u32,
    pub found_by: FoundBy,
    /// `comm`.
    pub name: Observed<String>,
    /// Target of `/proc/<pid>/exe`.
    pub exe: Observed<String>,
    /// `cmdline`, split, credentials redacted.
    pub argv: Observed<Vec<String>>,
    /// RFC 3339 UTC.
    pub started_at: Observed<String>,
    pub user: Observed<ProcessUser>,
    pub cwd: Observed<String>,
    pub parent_pid: Observed<u32>,
    /// The whole tree below the process, depth first.
    pub children: Observed<Vec<ChildProcess>>,
    pub environment: Observed<EnvironmentFacts>,
    /// The pid in every PID namespace the kernel shows (`NSpid`): inside a container NVML
    /// reports the outer (host) one, so GPU attribution matches on all of them.
    #[serde(default = "ns_pids_not_recorded")]
    pub ns_pids: Observed<Vec<u32>>,
    /// The CPUs it may run on (`Cpus_allowed_list` of `/proc/<pid>/status`: its cpuset cgroup
    /// and any affinity it was started with), ascending.
    #[serde(default = "ns_pids_not_recorded")]
    pub cpus_allowed: Observed<Vec<u32>>,
}

fn ns_pids_not_recorded<T>() -> Observed<T> {
    Observed::unknown("not recorded")
}

/// A Linux cpulist (`0-3,8,10-11`) as CPU ids; `None` when it is not one.
pub fn parse_cpulist(list: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        let (low, high): (u32, u32) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
        if high < low || high - low > 65_536 {
            return None;
        }
        out.extend(low..=high);
    }
    Some(out)
}

/// `Cpus_allowed_list` of `/proc/<pid>/status`.
fn cpus_allowed(status: &Observed<String>, pid: u32) -> Observed<Vec<u32>> {
    match status {
        Observed::Ok { value } => match value
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .and_then(parse_cpulist)
        {
            Some(cpus) => Observed::Ok { value: cpus },
            None => Observed::unknown(format!("/proc/{pid}/status has no readable Cpus_allowed_list")),
        },
        other => other.clone().map(|_| Vec::new()),
    }
}

/// The `NSpid` line of `/proc/<pid>/status`: the pid in each PID namespace, outermost first.
fn ns_pids(roots: &Roots, pid: u32) -> Observed<Vec<u32>> {
    read_text(roots, pid, "status").map(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("NSpid:"))
            .map(|rest| rest.split_whitespace().filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_else(|| vec![pid])
    })
}

fn read_text(roots: &Roots, pid: u32, file: &str) -> Observed<String> {
    let path = roots.proc.join(pid.to_string()).join(file);
    Observed::from_io(fs::read_to_string(path), &format!("/proc/{pid}/{file}"))
}

fn read_link(roots: &Roots, pid: u32, file: &str) -> Observed<String> {
    let path = roots.proc.join(pid.to_string()).join(file);
    Observed::from_io(
        fs::read_link(path).map(|target| target.to_string_lossy().into_owned()),
        &format!("/proc/{pid}/{file}"),
    )
}

fn split_cmdline(raw: &[u8]) -> Vec<String> {
    raw.split(|&b| b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The command line, with credentials redacted ([`crate::env::redact_argv`]).
pub(crate) fn argv_of(roots: &Roots, pid: u32) -> Observed<Vec<String>> {
    let path = roots.proc.join(pid.to_string()).join("cmdline");
    Observed::from_io(
        fs::read(path).map(|raw| redact_argv(&split_cmdline(&raw))),
        &format!("/proc/{pid}/cmdline"),
    )
}

/// The fields of `/proc/<pid>/stat` after the `(comm)`, which may itself hold spaces and parens.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let after = stat.get(stat.rfind(')')? + 1..)?;
    Some(after.split_whitespace().collect())
}

/// Parent pid from `/proc/<pid>/stat` (field 4).
fn parent_from_stat(stat: &str) -> Option<u32> {
    stat_fields(stat)?.get(1)?.parse().ok()
}

/// Start time in clock ticks after boot (field 22).
fn start_ticks_from_stat(stat: &str) -> Option<u64> {
    stat_fields(stat)?.get(19)?.parse().ok()
}

fn boot_time(roots: &Roots) -> Result<u64, String> {
    let text = fs::read_to_string(roots.proc.join("stat")).map_err(|e| describe_io_error(&e, "/proc/stat"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| "/proc/stat has no btime line".to_owned())
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

fn started_at(roots: &Roots, pid: u32, stat: &Observed<String>) -> Observed<String> {
    let stat = match stat {
        Observed::Ok { value } => value,
        Observed::Absent { reason } => return Observed::absent(reason.clone()),
        Observed::Unknown { reason } => return Observed::unknown(reason.clone()),
    };
    let Some(ticks) = start_ticks_from_stat(stat) else {
        return Observed::unknown(format!("/proc/{pid}/stat has no start time"));
    };
    match boot_time(roots) {
        Ok(boot) => {
            let hz = clock_ticks_per_second();
            let millis = ticks.saturating_mul(1000) / hz;
            let at = UNIX_EPOCH + Duration::from_secs(boot) + Duration::from_millis(millis);
            Observed::Ok {
                value: format_rfc3339_utc(at),
            }
        }
        Err(reason) => Observed::unknown(reason),
    }
}

fn user_name(roots: &Roots, uid: u32) -> Option<String> {
    let passwd = fs::read_to_string(&roots.passwd).ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        (fields.next()?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

fn user_of(roots: &Roots, pid: u32) -> Observed<ProcessUser> {
    let status = read_text(roots, pid, "status");
    let Observed::Ok { value: status } = status else {
        return status.map(|_| ProcessUser { uid: 0, name: None });
    };
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|uid| uid.parse::<u32>().ok());
    match uid {
        Some(uid) => Observed::Ok {
            value: ProcessUser {
                uid,
                name: user_name(roots, uid),
            },
        },
        None => Observed::unknown(format!("/proc/{pid}/status has no Uid line")),
    }
}

/// Parent of every visible process, from `/proc/*/stat`.
fn parents(roots: &Roots) -> Result<BTreeMap<u32, u32>, String> {
    let entries = fs::read_dir(&roots.proc).map_err(|e| format!("could not list {}: {e}", roots.proc.display()))?;
    let mut parents = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(parent) = fs::read_to_string(entry.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(parent_from_stat)
        {
            parents.insert(pid, parent);
        }
    }
    Ok(parents)
}

/// The parent of one process, from its `stat`.
pub(crate) fn parent_of(roots: &Roots, pid: u32) -> Option<u32> {
    fs::read_to_string(roots.proc.join(pid.to_string()).join("stat"))
        .ok()
        .as_deref()
        .and_then(parent_from_stat)
}

/// A process's `comm`, when readable.
pub(crate) fn comm(roots: &Roots, pid: u32) -> Option<String> {
    read_text(roots, pid, "comm")
        .value()
        .map(|name| name.trim_end().to_owned())
}

/// Of the processes holding a socket, the one whose parent does not also hold it. Reads only
/// the holders' own `stat` files, not every process's.
pub(crate) fn topmost(roots: &Roots, holders: &[u32]) -> Option<u32> {
    holders
        .iter()
        .copied()
        .find(|&pid| parent_of(roots, pid).is_none_or(|parent| !holders.contains(&parent)))
        .or_else(|| holders.first().copied())
}

/// Children by parent, from the kernel's `/proc/<pid>/task/<tid>/children` lists when it keeps
/// them (reading a few small files instead of every process's `stat`), else from a full scan.
fn children_by_parent(roots: &Roots, pid: u32) -> Result<BTreeMap<u32, Vec<u32>>, String> {
    let mut by_parent: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut pending = vec![pid];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(parent) = pending.pop() {
        if !seen.insert(parent) {
            continue;
        }
        let Ok(tasks) = fs::read_dir(roots.proc.join(parent.to_string()).join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(text) = fs::read_to_string(task.path().join("children")) else {
                // No `children` files (kernel without CONFIG_PROC_CHILDREN): scan everything.
                return parents(roots).map(|parents| {
                    let mut all: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
                    for (&child, &parent) in &parents {
                        all.entry(parent).or_default().push(child);
                    }
                    all
                });
            };
            for child in text.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
                by_parent.entry(parent).or_default().push(child);
                pending.push(child);
            }
        }
    }
    for kids in by_parent.values_mut() {
        kids.sort_unstable();
        kids.dedup();
    }
    Ok(by_parent)
}

fn children_of(roots: &Roots, pid: u32) -> Observed<Vec<ChildProcess>> {
    let by_parent = match children_by_parent(roots, pid) {
        Ok(by_parent) => by_parent,
        Err(reason) => return Observed::unknown(reason),
    };
    let mut tree = Vec::new();
    let mut stack: Vec<(u32, u32)> = by_parent
        .get(&pid)
        .map(|kids| kids.iter().rev().map(|&kid| (kid, pid)).collect())
        .unwrap_or_default();
    while let Some((child, parent)) = stack.pop() {
        // A pid cycle cannot happen in a consistent /proc, but a racy read must not loop forever.
        if tree.iter().any(|known: &ChildProcess| known.pid == child) || child == pid {
            continue;
        }
        let name = comm(roots, child).unwrap_or_default();
        let argv = argv_of(roots, child).value().cloned().unwrap_or_default();
        tree.push(ChildProcess {
            pid: child,
            parent_pid: parent,
            name,
            argv,
            ns_pids: ns_pids(roots, child).value().cloned().unwrap_or_default(),
        });
        if let Some(kids) = by_parent.get(&child) {
            stack.extend(kids.iter().rev().map(|&kid| (kid, child)));
        }
    }
    Observed::Ok { value: tree }
}

/// The direct children of `pid`, in pid order (the kernel's `children` lists, else a full scan).
pub(crate) fn child_pids(roots: &Roots, pid: u32) -> Vec<u32> {
    let mut kids: Vec<u32> = match children_by_parent(roots, pid) {
        Ok(by_parent) => by_parent.get(&pid).cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    kids.sort_unstable();
    kids
}

/// A forwarder's command line as it is, for reading its flags (a container id there looks like
/// a token to the redaction); never stored in a snapshot.
pub(crate) fn raw_argv(roots: &Roots, pid: u32) -> Option<Vec<String>> {
    fs::read(roots.proc.join(pid.to_string()).join("cmdline"))
        .ok()
        .map(|raw| split_cmdline(&raw))
}

impl ServingProcess {
    /// What a survey knew of a listener that exited before its facts could be read.
    pub(crate) fn vanished(pid: u32, holders: Vec<u32>, port: u16, addresses: Vec<String>) -> ServingProcess {
        let gone = || format!("process {pid} exited while it was being read");
        ServingProcess {
            pid,
            found_by: FoundBy::Port {
                port,
                addresses,
                holders,
            },
            name: Observed::unknown(gone()),
            exe: Observed::unknown(gone()),
            argv: Observed::unknown(gone()),
            started_at: Observed::unknown(gone()),
            user: Observed::unknown(gone()),
            cwd: Observed::unknown(gone()),
            parent_pid: Observed::unknown(gone()),
            children: Observed::unknown(gone()),
            environment: Observed::unknown(gone()),
            ns_pids: Observed::unknown(gone()),
            cpus_allowed: Observed::unknown(gone()),
        }
    }
}

/// Reads the facts of `pid`; `Absent` when there is no such process.
pub(crate) fn serving_process(
    roots: &Roots,
    pid: u32,
    found_by: FoundBy,
    declared_env: &[String],
) -> Observed<ServingProcess> {
    let stat = read_text(roots, pid, "stat");
    if let Observed::Unknown { .. } = stat
        && !roots.proc.join(pid.to_string()).exists()
    {
        return Observed::absent(format!("no process with pid {pid}"));
    }
    let environment = {
        let path = roots.proc.join(pid.to_string()).join("environ");
        Observed::from_io(
            fs::read(path).map(|raw| environment_facts(&raw, declared_env)),
            &format!("/proc/{pid}/environ"),
        )
    };
    Observed::Ok {
        value: ServingProcess {
            pid,
            found_by,
            name: read_text(roots, pid, "comm").map(|name| name.trim_end().to_owned()),
            exe: read_link(roots, pid, "exe"),
            argv: argv_of(roots, pid),
            started_at: started_at(roots, pid, &stat),
            user: user_of(roots, pid),
            cwd: read_link(roots, pid, "cwd"),
            parent_pid: match &stat {
                Observed::Ok { value } => match parent_from_stat(value) {
                    Some(parent) => Observed::Ok { value: parent },
                    None => Observed::unknown(format!("/proc/{pid}/stat has no parent pid")),
                },
                other => other.clone().map(|_| 0),
            },
            children: children_of(roots, pid),
            environment,
            ns_pids: ns_pids(roots, pid),
            cpus_allowed: cpus_allowed(&read_text(roots, pid, "status"), pid),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_survives_odd_names() {
        let stat = "1234 (VLLM::Worker (x) y) S 77 1234 1234 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        assert_eq!(parent_from_stat(stat), Some(77));
        assert_eq!(start_ticks_from_stat(stat), Some(987_654));
        assert_eq!(parent_from_stat("garbage"), None);
    }

    #[test]
    fn cmdline_splits_on_nul() {
        assert_eq!(split_cmdline(b"python3\0-m\0vllm\0\0"), ["python3", "-m", "vllm"]);
        assert!(split_cmdline(b"").is_empty());
    }

    #[test]
    fn own_process_is_readable() {
        let roots = Roots::default();
        let me = std::process::id();
        let Observed::Ok { value } = serving_process(&roots, me, FoundBy::Pid, &[]) else {
            panic!("own process unreadable");
        };
        assert!(value.argv.is_ok());
        assert!(value.started_at.value().is_some_and(|s| s.ends_with('Z')));
        assert!(value.environment.is_ok());
        assert!(value.user.is_ok());
    }

    #[test]
    fn missing_pid_is_absent() {
        let roots = Roots::default();
        let observed = serving_process(&roots, u32::MAX - 1, FoundBy::Pid, &[]);
        assert!(observed.is_absent(), "{observed:?}");
    }
}
