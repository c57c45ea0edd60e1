//! The CPU and memory a process may really use: its cgroup's limits.
//!
//! A node with 64 cores and 512 GiB runs a container limited to 8 cores and 32 GiB; the
//! contract is about the latter. The kernel enforces the tightest limit on the way from the
//! process's cgroup up to the root, so this walks that path and keeps the smallest:
//!
//! * cgroup v2 (one `0::/path` line in `/proc/<pid>/cgroup`): `cpu.max` (`"<quota> <period>"`
//!   or `"max <period>"`) and `memory.max` (bytes or `"max"`) under `/sys/fs/cgroup/<path>`;
//! * cgroup v1 (`N:cpu,cpuacct:/path` and `N:memory:/path` lines): `cpu.cfs_quota_us` (-1 is
//!   unlimited) over `cpu.cfs_period_us`, and `memory.limit_in_bytes` (values near 2^63 are
//!   the kernel's "unlimited"), under `/sys/fs/cgroup/<controllers>/<path>`.
//!
//! Inside a container with its own cgroup namespace the path is `/` and the container's
//! cgroup is mounted at `/sys/fs/cgroup`, so the same walk finds the container's limits. Levels
//! missing under the mount are skipped, so a container that sees the host's path
//! (`/docker/<id>`) but has only its own cgroup mounted still gets its limits from the mount root.

use crate::Roots;
use crate::observed::{Observed, describe_io_error};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// v1 memory limits at or above this are "no limit" (the kernel writes `PAGE_COUNTER_MAX`
/// pages, 9223372036854771712 on 4 KiB pages).
const V1_UNLIMITED_MEMORY: u64 = 1 << 62;

/// Whose limits these are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsOf {
    /// The serving process that was found.
    ServingProcess,
    /// This probe itself (no serving process was found); usually the same container.
    Probe,
}

/// Which cgroup hierarchy the limits came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupVersion {
    V1,
    V2,
}

/// A CPU limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CpuLimit {
    /// No quota anywhere on the path (`max`, or -1 in v1).
    Unlimited,
    /// `quota_us / period_us` cores, set on the cgroup `cgroup`.
    Cores {
        cores: f64,
        quota_us: u64,
        period_us: u64,
        cgroup: String,
    },
}

/// A memory limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MemoryLimit {
    /// No limit anywhere on the path.
    Unlimited,
    /// At most `bytes`, set on the cgroup `cgroup`.
    Bytes { bytes: u64, cgroup: String },
}

/// The cgroup limits that apply to one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveLimits {
    /// The process whose limits these are.
    pub pid: u32,
    /// Whether that is the serving process or the probe.
    pub of: LimitsOf,
    /// The hierarchy read.
    pub cgroup_version: Observed<CgroupVersion>,
    /// The process's cgroup path as `/proc/<pid>/cgroup` gives it (v2, or v1's cpu controller).
    pub cgroup_path: Observed<String>,
    /// The tightest CPU limit on the path.
    pub cpu: Observed<CpuLimit>,
    /// The tightest memory limit on the path.
    pub memory: Observed<MemoryLimit>,
}

/// Reads the limits of `pid`.
pub(crate) fn effective_limits(roots: &Roots, pid: u32, of: LimitsOf) -> EffectiveLimits {
    let what = format!("/proc/{pid}/cgroup");
    let text = match fs::read_to_string(roots.proc.join(pid.to_string()).join("cgroup")) {
        Ok(text) => text,
        Err(error) => {
            let reason = describe_io_error(&error, &what);
            return EffectiveLimits {
                pid,
                of,
                cgroup_version: Observed::unknown(reason.clone()),
                cgroup_path: Observed::unknown(reason.clone()),
                cpu: Observed::unknown(reason.clone()),
                memory: Observed::unknown(reason),
            };
        }
    };
    let lines = parse_proc_cgroup(&text);
    let v2 = lines
        .iter()
        .find(|line| line.hierarchy == "0" && line.controllers.is_empty());
    let v1_cpu = lines.iter().find(|line| line.has("cpu"));
    let v1_memory = lines.iter().find(|line| line.has("memory"));
    match (v1_cpu, v1_memory, v2) {
        (None, None, Some(v2)) => EffectiveLimits {
            pid,
            of,
            cgroup_version: Observed::Ok {
                value: CgroupVersion::V2,
            },
            cgroup_path: Observed::Ok { value: v2.path.clone() },
            cpu: cpu_limit_v2(&roots.cgroup, &v2.path),
            memory: memory_limit_v2(&roots.cgroup, &v2.path),
        },
        (None, None, None) => {
            let reason = format!("{what} names no cgroup v2 path and no v1 cpu or memory controller");
            EffectiveLimits {
                pid,
                of,
                cgroup_version: Observed::unknown(reason.clone()),
                cgroup_path: Observed::unknown(reason.clone()),
                cpu: Observed::unknown(reason.clone()),
                memory: Observed::unknown(reason),
            }
        }
        (cpu, memory, _) => {
            let missing = |controller: &str| format!("{what} has no v1 {controller} controller");
            EffectiveLimits {
                pid,
                of,
                cgroup_version: Observed::Ok {
                    value: CgroupVersion::V1,
                },
                cgroup_path: match cpu.or(memory) {
                    Some(line) => Observed::Ok {
                        value: line.path.clone(),
                    },
                    None => Observed::unknown(missing("cpu")),
                },
                cpu: match cpu {
                    Some(line) => cpu_limit_v1(&v1_mount(&roots.cgroup, line, "cpu"), &line.path),
                    None => Observed::unknown(missing("cpu")),
                },
                memory: match memory {
                    Some(line) => memory_limit_v1(&v1_mount(&roots.cgroup, line, "memory"), &line.path),
                    None => Observed::unknown(missing("memory")),
                },
            }
        }
    }
}

/// One line of `/proc/<pid>/cgroup`: `hierarchy-ID:controller-list:cgroup-path`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CgroupLine {
    hierarchy: String,
    controllers: Vec<String>,
    path: String,
}

impl CgroupLine {
    fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

fn parse_proc_cgroup(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let hierarchy = parts.next()?.to_owned();
            let controllers = parts.next()?;
            let path = parts.next()?.to_owned();
            Some(CgroupLine {
                hierarchy,
                controllers: controllers
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
                path,
            })
        })
        .collect()
}

/// The v1 mount of a controller: `cpu,cpuacct` as listed, else the controller's own name.
fn v1_mount(root: &Path, line: &CgroupLine, controller: &str) -> PathBuf {
    let joined = root.join(line.controllers.join(","));
    if joined.is_dir() { joined } else { root.join(controller) }
}

/// The directories from the process's cgroup up to the hierarchy root, innermost first.
fn ancestors(mount: &Path, cgroup_path: &str) -> Vec<(PathBuf, String)> {
    let mut chain = Vec::new();
    let mut current = cgroup_path.trim_end_matches('/').to_owned();
    loop {
        let relative = current.trim_start_matches('/');
        let shown = if current.is_empty() {
            "/".to_owned()
        } else {
            current.clone()
        };
        chain.push((mount.join(relative), shown));
        match current.rfind('/') {
            Some(index) if !current.is_empty() => current.truncate(index),
            _ => break,
        }
    }
    chain
}

/// Reads one limit file along the chain; `parse` gives `None` for "unlimited". Files missing
/// at a level are skipped (the root cgroup has no `cpu.max`); at least one must be read.
fn tightest<T: Clone>(
    chain: &[(PathBuf, String)],
    file: &str,
    mut parse: impl FnMut(&str) -> Result<Option<T>, String>,
    smaller: impl Fn(&T, &T) -> bool,
) -> Result<Option<(T, String)>, String> {
    let mut best: Option<(T, String)> = None;
    let mut read_any = false;
    for (dir, shown) in chain {
        let path = dir.join(file);
        match fs::read_to_string(&path) {
            Ok(text) => {
                read_any = true;
                let parsed = parse(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
                if let Some(limit) = parsed {
                    let replace = match &best {
                        Some((current, _)) => smaller(&limit, current),
                        None => true,
                    };
                    if replace {
                        best = Some((limit, shown.clone()));
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(describe_io_error(&error, &path.display().to_string())),
        }
    }
    if read_any {
        Ok(best)
    } else {
        Err(format!(
            "no {file} found for this cgroup under {}",
            chain
                .first()
                .map(|(dir, _)| dir.display().to_string())
                .unwrap_or_default()
        ))
    }
}

fn cores(quota: u64, period: u64) -> f64 {
    quota as f64 / period as f64
}

/// A quota and period in microseconds, and the cgroup that set them.
type FoundQuota = Option<((u64, u64), String)>;

fn cpu_from(result: Result<FoundQuota, String>) -> Observed<CpuLimit> {
    match result {
        Ok(Some(((quota_us, period_us), cgroup))) => Observed::Ok {
            value: CpuLimit::Cores {
                cores: cores(quota_us, period_us),
                quota_us,
                period_us,
                cgroup,
            },
        },
        Ok(None) => Observed::Ok {
            value: CpuLimit::Unlimited,
        },
        Err(reason) => Observed::unknown(reason),
    }
}

fn memory_from(result: Result<Option<(u64, String)>, String>) -> Observed<MemoryLimit> {
    match result {
        Ok(Some((bytes, cgroup))) => Observed::Ok {
            value: MemoryLimit::Bytes { bytes, cgroup },
        },
        Ok(None) => Observed::Ok {
            value: MemoryLimit::Unlimited,
        },
        Err(reason) => Observed::unknown(reason),
    }
}

fn fewer_cores(a: &(u64, u64), b: &(u64, u64)) -> bool {
    cores(a.0, a.1) < cores(b.0, b.1)
}

fn parse_u64(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("expected a number, found {text:?}"))
}

fn parse_cpu_max(text: &str) -> Result<Option<(u64, u64)>, String> {
    let mut parts = text.split_whitespace();
    let quota = parts.next().ok_or_else(|| "empty cpu.max".to_owned())?;
    let period = parts.next().map(parse_u64).transpose()?.unwrap_or(100_000);
    if quota == "max" {
        return Ok(None);
    }
    let quota = parse_u64(quota)?;
    if period == 0 {
        return Err("cpu period is 0".to_owned());
    }
    Ok(Some((quota, period)))
}

fn parse_memory_max(text: &str) -> Result<Option<u64>, String> {
    if text == "max" {
        Ok(None)
    } else {
        parse_u64(text).map(Some)
    }
}

fn cpu_limit_v2(root: &Path, cgroup_path: &str) -> Observed<CpuLimit> {
    cpu_from(tightest(
        &ancestors(root, cgroup_path),
        "cpu.max",
        parse_cpu_max,
        fewer_cores,
    ))
}

fn memory_limit_v2(root: &Path, cgroup_path: &str) -> Observed<MemoryLimit> {
    memory_from(tightest(
        &ancestors(root, cgroup_path),
        "memory.max",
        parse_memory_max,
        |a, b| a < b,
    ))
}

fn cpu_limit_v1(mount: &Path, cgroup_path: &str) -> Observed<CpuLimit> {
    let chain = ancestors(mount, cgroup_path);
    // The quota file decides; its period sits beside it.
    let result = tightest(
        &chain,
        "cpu.cfs_quota_us",
        |text| {
            let quota: i64 = text.parse().map_err(|_| format!("expected a number, found {text:?}"))?;
            Ok(u64::try_from(quota).ok())
        },
        |a, b| a < b,
    );
    let with_period = result.and_then(|found| match found {
        None => Ok(None),
        Some((quota, cgroup)) => {
            let dir = mount.join(cgroup.trim_start_matches('/'));
            let path = dir.join("cpu.cfs_period_us");
            let text = fs::read_to_string(&path).map_err(|e| describe_io_error(&e, &path.display().to_string()))?;
            let period = parse_u64(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
            if period == 0 {
                return Err(format!("{}: cpu period is 0", path.display()));
            }
            Ok(Some(((quota, period), cgroup)))
        }
    });
    cpu_from(with_period)
}

fn memory_limit_v1(mount: &Path, cgroup_path: &str) -> Observed<MemoryLimit> {
    memory_from(tightest(
        &ancestors(mount, cgroup_path),
        "memory.limit_in_bytes",
        |text| parse_u64(text).map(|bytes| (bytes < V1_UNLIMITED_MEMORY).then_some(bytes)),
        |a, b| a < b,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_tree::FakeTree;

    #[test]
    fn v2_reads_quota_and_keeps_the_tightest_on_the_path() {
        let tree = FakeTree::new();
        tree.write("proc/42/cgroup", "0::/kubepods/pod1/ctr\n");
        tree.write("cgroup/cpu.max", "max 100000\n");
        tree.write("cgroup/kubepods/cpu.max", "800000 100000\n");
        tree.write("cgroup/kubepods/pod1/cpu.max", "250000 100000\n");
        tree.write("cgroup/kubepods/pod1/ctr/cpu.max", "max 100000\n");
        tree.write("cgroup/kubepods/memory.max", "max\n");
        tree.write("cgroup/kubepods/pod1/memory.max", "34359738368\n");
        tree.write("cgroup/kubepods/pod1/ctr/memory.max", "68719476736\n");
        let limits = effective_limits(&tree.roots(), 42, LimitsOf::ServingProcess);
        assert_eq!(
            limits.cgroup_version,
            Observed::Ok {
                value: CgroupVersion::V2
            }
        );
        assert_eq!(
            limits.cgroup_path.value().map(String::as_str),
            Some("/kubepods/pod1/ctr")
        );
        assert_eq!(
            limits.cpu,
            Observed::Ok {
                value: CpuLimit::Cores {
                    cores: 2.5,
                    quota_us: 250_000,
                    period_us: 100_000,
                    cgroup: "/kubepods/pod1".into()
                }
            }
        );
        assert_eq!(
            limits.memory,
            Observed::Ok {
                value: MemoryLimit::Bytes {
                    bytes: 34_359_738_368,
                    cgroup: "/kubepods/pod1".into()
                }
            }
        );
    }

    #[test]
    fn v2_max_everywhere_is_unlimited() {
        let tree = FakeTree::new();
        tree.write("proc/7/cgroup", "0::/\n");
        tree.write("cgroup/cpu.max", "max 100000\n");
        tree.write("cgroup/memory.max", "max\n");
        let limits = effective_limits(&tree.roots(), 7, LimitsOf::Probe);
        assert_eq!(
            limits.cpu,
            Observed::Ok {
                value: CpuLimit::Unlimited
            }
        );
        assert_eq!(
            limits.memory,
            Observed::Ok {
                value: MemoryLimit::Unlimited
            }
        );
    }

    #[test]
    fn v2_missing_or_garbled_files_are_unknown() {
        let tree = FakeTree::new();
        tree.write("proc/7/cgroup", "0::/a\n");
        tree.write("cgroup/a/cpu.max", "lots 100000\n");
        let limits = effective_limits(&tree.roots(), 7, LimitsOf::Probe);
        assert!(limits.cpu.is_unknown(), "{:?}", limits.cpu);
        assert!(limits.cpu.reason().unwrap_or_default().contains("lots"));
        assert!(limits.memory.is_unknown(), "{:?}", limits.memory);
    }

    #[test]
    fn v1_reads_cfs_quota_and_memory_limit() {
        let tree = FakeTree::new();
        tree.write(
            "proc/9/cgroup",
            "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n",
        );
        tree.write("cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
        tree.write("cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
        tree.write("cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
        tree.write("cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
        tree.write("cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n");
        let limits = effective_limits(&tree.roots(), 9, LimitsOf::ServingProcess);
        assert_eq!(
            limits.cgroup_version,
            Observed::Ok {
                value: CgroupVersion::V1
            }
        );
        assert_eq!(
            limits.cpu,
            Observed::Ok {
                value: CpuLimit::Cores {
                    cores: 1.5,
                    quota_us: 150_000,
                    period_us: 100_000,
                    cgroup: "/docker/abc".into()
                }
            }
        );
        assert_eq!(
            limits.memory,
            Observed::Ok {
                value: MemoryLimit::Bytes {
                    bytes: 1_073_741_824,
                    cgroup: "/docker/abc".into()
                }
            }
        );
    }

    #[test]
    fn v1_unlimited_values_and_separate_cpu_mount() {
        let tree = FakeTree::new();
        tree.write("proc/9/cgroup", "3:cpu:/\n5:memory:/\n");
        tree.write("cgroup/cpu/cpu.cfs_quota_us", "-1\n");
        tree.write("cgroup/cpu/cpu.cfs_period_us", "100000\n");
        tree.write("cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
        let limits = effective_limits(&tree.roots(), 9, LimitsOf::Probe);
        assert_eq!(
            limits.cpu,
            Observed::Ok {
                value: CpuLimit::Unlimited
            }
        );
        assert_eq!(
            limits.memory,
            Observed::Ok {
                value: MemoryLimit::Unlimited
            }
        );
    }

    #[test]
    fn unreadable_proc_cgroup_is_unknown_everywhere() {
        let tree = FakeTree::new();
        let limits = effective_limits(&tree.roots(), 1234, LimitsOf::Probe);
        assert!(limits.cgroup_version.is_unknown());
        assert!(limits.cpu.is_unknown());
        assert!(limits.memory.is_unknown());
    }
}
