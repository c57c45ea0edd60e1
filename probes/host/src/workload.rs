//! Which container and Kubernetes pod a process runs in, read from the node's own files.
//!
//! A node can serve several models, each in its own container or pod, and a finding about "the
//! serving process" is only useful when it says which workload that process is. This module
//! answers that without any daemon or API (no Docker socket, no CRI, no kube-apiserver): the
//! kernel and the runtimes already leave the answer in plain files, and reading files needs no
//! credentials, cannot hang on a socket and works the same on every runtime.
//!
//! Each source is optional and fails on its own; the answer is whatever the readable ones say,
//! with the file (or variable) each field came from in [`Workload::sources`] and every source
//! that exists but could not be read in [`Workload::gaps`]. A missing file is not a gap: a
//! Docker node has no `/run/containerd` task state, and that says nothing.
//!
//! - `/proc/<pid>/cgroup` (readable by anyone) gives the container id, the runtime and the pod
//!   UID: every runtime names the container's cgroup after its id (`libpod-<id>.scope`,
//!   `docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, `/docker/<id>`,
//!   `/kubepods/<qos>/pod<uid>/<id>`), under both the systemd and the cgroupfs drivers. The
//!   cgroup v2 line is preferred. Conmon's own cgroup (`libpod-conmon-<id>.scope`,
//!   `crio-conmon-<id>.scope`) names the container it supervises, but conmon is not that
//!   container, so it is not taken. An id counts only when it is exactly 64 lowercase hex.
//! - `/var/log/containers/<pod>_<namespace>_<container>-<id>.log` and
//!   `/var/log/pods/<namespace>_<pod>_<uid>/` (the kubelet's log links; listing them needs no
//!   privilege on a default node) give the pod, namespace and container names of a Kubernetes
//!   container. Only the names in the folders are read, never a log.
//! - The runtimes' state: containerd's OCI bundle
//!   `/run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json` and CRI-O's
//!   `/run/containers/storage/overlay-containers/<id>/userdata/config.json` carry the pod's
//!   names as annotations; podman's `/var/lib/containers/storage/overlay-containers/containers.json`
//!   and Docker's `/var/lib/docker/containers/<id>/config.v2.json` carry the container's name.
//!   These need root or `CAP_DAC_READ_SEARCH`; each read is capped at 4 MiB.
//! - `HOSTNAME` in `/proc/<pid>/environ`, the pod's hostname, stands in for the pod name of a
//!   Kubernetes container when nothing else gave it (and not when the process shares the node's
//!   UTS namespace: a `hostNetwork` pod's `HOSTNAME` is the node's). Reading it needs the same
//!   user, root or `CAP_SYS_PTRACE`. Only that one variable is looked at; no other value of the
//!   environment is kept or returned.
//!
//! Nothing here panics on what it reads: junk in a cgroup file, a truncated id or a config that
//! is not JSON give fewer fields (and a gap for the unparsable file), never a wrong id.

use crate::Roots;
use crate::observed::describe_io_error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// The most bytes read from any one file: a runtime's JSON state and an environment are far
/// smaller, and a probe must not be made to read a huge file.
const MAX_FILE_BYTES: usize = 4 << 20;

/// Length of a full container id (a SHA-256 in lowercase hex).
const CONTAINER_ID_LEN: usize = 64;

/// Length of the short id shown in [`Workload::describe`].
const SHORT_ID_LEN: usize = 12;

/// Which container and Kubernetes pod a process runs in, as the node itself shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Workload {
    /// `podman`, `docker`, `containerd`, `cri-o`; `kubernetes` for a Kubernetes container whose
    /// cgroup (cgroupfs driver) does not name the runtime and whose runtime state was not found;
    /// `None` when the process is in no container we recognise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Full container id (64 lowercase hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Container name (podman/docker name without leading '/', or the Kubernetes container name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Kubernetes pod UID (with dashes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// The cgroup path the container id was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// For each field set above (by field name: "runtime", "container_id", "container_name",
    /// "pod_uid", "pod_namespace", "pod_name"), where it came from, in words, e.g.
    /// "cgroup /machine.slice/libpod-3f2a….scope", "/var/log/pods/prod_vllm-0_<uid>",
    /// "/var/lib/containers/storage/overlay-containers/containers.json", "environment HOSTNAME".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
    /// Sources that exist but could not be read, with the reason (permission etc.). Missing
    /// files are not gaps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}

impl Workload {
    /// True when no container was recognised (a process on the bare host).
    pub fn is_host(&self) -> bool {
        self.runtime.is_none() && self.container_id.is_none() && self.pod_uid.is_none()
    }

    /// A short human label: "container 3f2a9c1b7e4d (podman, name vllm-a)",
    /// "pod prod/vllm-0 container vllm (containerd 3f2a9c1b7e4d)", or "host".
    pub fn describe(&self) -> String {
        if self.is_host() {
            return "host".to_owned();
        }
        let short = self
            .container_id
            .as_deref()
            .map(|id| id.get(..SHORT_ID_LEN).unwrap_or(id));
        let runtime = self.runtime.as_deref().unwrap_or("unknown runtime");
        let in_runtime = match short {
            Some(short) => format!("{runtime} {short}"),
            None => runtime.to_owned(),
        };
        if self.pod_uid.is_some() || self.pod_name.is_some() {
            let pod = match (&self.pod_namespace, &self.pod_name, &self.pod_uid) {
                (Some(namespace), Some(name), _) => format!("pod {namespace}/{name}"),
                (None, Some(name), _) => format!("pod {name}"),
                (_, None, Some(uid)) => format!("pod uid {uid}"),
                (_, None, None) => "pod".to_owned(),
            };
            match &self.container_name {
                Some(container) => format!("{pod} container {container} ({in_runtime})"),
                None => format!("{pod} ({in_runtime})"),
            }
        } else {
            let container = format!("container {}", short.unwrap_or("of unknown id"));
            match &self.container_name {
                Some(name) => format!("{container} ({runtime}, name {name})"),
                None => format!("{container} ({runtime})"),
            }
        }
    }

    /// Sets `field` to `value` unless it is already set or `value` is no plausible name, and
    /// records where it came from.
    fn fill(&mut self, field: &str, value: &str, source: &str) {
        let slot = match field {
            "runtime" => &mut self.runtime,
            "container_id" => &mut self.container_id,
            "container_name" => &mut self.container_name,
            "pod_uid" => &mut self.pod_uid,
            "pod_namespace" => &mut self.pod_namespace,
            "pod_name" => &mut self.pod_name,
            _ => return,
        };
        if slot.is_none() && plausible_name(value) {
            *slot = Some(value.to_owned());
            self.sources.insert(field.to_owned(), source.to_owned());
        }
    }

    fn names_missing(&self) -> bool {
        self.container_name.is_none() || self.pod_name.is_none() || self.pod_namespace.is_none()
    }
}

/// Reads the workload identity of `pid`. `roots.proc` is /proc, `roots.fs_root` is the node's
/// root filesystem (tests point both at a fake tree, see fake_tree.rs).
pub(crate) fn workload_of(roots: &Roots, pid: u32) -> Workload {
    let mut workload = Workload::default();
    let shown = format!("/proc/{pid}/cgroup");
    let Some(raw) = read_capped(
        &roots.proc.join(pid.to_string()).join("cgroup"),
        &shown,
        &mut workload.gaps,
    ) else {
        return workload;
    };
    let Some((path, found)) = container_cgroup(&String::from_utf8_lossy(&raw)) else {
        return workload;
    };
    drop(raw);
    let from_cgroup = format!("cgroup {path}");
    workload.cgroup = Some(path.clone());
    if let Some(uid) = &found.pod_uid {
        workload.fill("pod_uid", uid, &from_cgroup);
    }
    let runtime = match (&found.id, found.runtime) {
        (Some(_), Some(runtime)) => {
            workload.fill("runtime", runtime, &from_cgroup);
            runtime
        }
        (Some(id), None) => {
            let (runtime, source) = match runtime_from_state(roots, id, &mut workload.gaps) {
                Some((runtime, state)) => (runtime, format!("{from_cgroup}, and {state} exists")),
                None => (
                    "kubernetes",
                    format!("{from_cgroup} (cgroupfs names no runtime, and no runtime state has this id)"),
                ),
            };
            workload.fill("runtime", runtime, &source);
            runtime
        }
        (None, _) => {
            workload.fill("runtime", "kubernetes", &from_cgroup);
            "kubernetes"
        }
    };
    if let Some(id) = &found.id {
        workload.fill("container_id", id, &from_cgroup);
        match runtime {
            "containerd" if found.kubernetes => annotations(roots, &mut workload, id, &CONTAINERD),
            "cri-o" => annotations(roots, &mut workload, id, &CRIO),
            "docker" => docker_name(roots, &mut workload, id, found.kubernetes),
            "podman" => podman_name(roots, &mut workload, id),
            _ => {}
        }
        if found.kubernetes && workload.names_missing() {
            names_from_container_logs(roots, &mut workload, id);
        }
    }
    if found.kubernetes {
        if let Some(uid) = workload.pod_uid.clone()
            && (workload.pod_name.is_none() || workload.pod_namespace.is_none())
        {
            names_from_pod_logs(roots, &mut workload, &uid);
        }
        if workload.pod_name.is_none() {
            pod_name_from_hostname(roots, &mut workload, pid);
        }
    }
    workload
}

/// A recognised container cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CgroupMatch {
    /// The runtime the path names; `None` for a cgroupfs kubepods path, which names none.
    runtime: Option<&'static str>,
    /// The container id; `None` for a process in a pod's cgroup but in no container's.
    id: Option<String>,
    /// The pod UID, with dashes.
    pod_uid: Option<String>,
    /// Whether the path is under a kubepods slice.
    kubernetes: bool,
}

/// The first line of a `/proc/<pid>/cgroup` file that names a container: the cgroup v2 line
/// (`0::/path`) when it does, else the first cgroup v1 line (`N:controllers:/path`) that does.
fn container_cgroup(text: &str) -> Option<(String, CgroupMatch)> {
    let lines: Vec<(bool, &str)> = text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let hierarchy = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some((hierarchy == "0" && controllers.is_empty(), path))
        })
        .collect();
    let v2 = lines.iter().filter(|(v2, _)| *v2);
    let v1 = lines.iter().filter(|(v2, _)| !*v2);
    v2.chain(v1).find_map(|(_, path)| {
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        classify(path).map(|found| (path.to_owned(), found))
    })
}

/// What a cgroup path says about its container, or `None` for a host path (`/`, `/init.scope`,
/// `/user.slice/...`, `/system.slice/foo.service`) or conmon's.
fn classify(path: &str) -> Option<CgroupMatch> {
    let mut kubernetes = false;
    let mut pod_uid = None;
    let mut found: Option<(Option<&'static str>, &str)> = None;
    let mut previous = "";
    for component in path.split('/').filter(|c| !c.is_empty()) {
        if is_conmon(component) {
            return None;
        }
        if component.contains("kubepods") {
            kubernetes = true;
            if let Some(uid) = systemd_pod_uid(component) {
                pod_uid = Some(uid);
            }
        } else if kubernetes && let Some(uid) = component.strip_prefix("pod").and_then(normalise_uid) {
            pod_uid = Some(uid);
        }
        if let Some(named) = named_container(component) {
            found = Some(named);
        } else if is_container_id(component) {
            if previous == "docker" {
                found = Some((Some("docker"), component));
            } else if kubernetes && pod_uid.is_some() {
                found = Some((None, component));
            }
        }
        previous = component;
    }
    match found {
        Some((runtime, id)) => Some(CgroupMatch {
            runtime,
            id: Some(id.to_owned()),
            pod_uid,
            kubernetes,
        }),
        None => pod_uid.map(|uid| CgroupMatch {
            runtime: None,
            id: None,
            pod_uid: Some(uid),
            kubernetes,
        }),
    }
}

/// Conmon's cgroup: it supervises a container but is not in it.
fn is_conmon(component: &str) -> bool {
    component == "conmon" || component.starts_with("libpod-conmon-") || component.starts_with("crio-conmon-")
}

/// `<prefix><id>` or `<prefix><id>.scope`, the systemd driver's (and podman cgroupfs's) names.
fn named_container(component: &str) -> Option<(Option<&'static str>, &str)> {
    let stem = component.strip_suffix(".scope").unwrap_or(component);
    [
        ("libpod-", "podman"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("docker-", "docker"),
    ]
    .into_iter()
    .find_map(|(prefix, runtime)| {
        stem.strip_prefix(prefix)
            .filter(|id| is_container_id(id))
            .map(|id| (Some(runtime), id))
    })
}

fn is_container_id(text: &str) -> bool {
    text.len() == CONTAINER_ID_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The pod UID in a systemd slice name: `kubepods-burstable-pod<uid>.slice`, with `_` for `-`.
fn systemd_pod_uid(component: &str) -> Option<String> {
    let stem = component.strip_suffix(".slice")?;
    let at = stem.rfind("-pod")?;
    normalise_uid(stem.get(at + "-pod".len()..)?)
}

/// A pod UID with dashes: a UUID (`8-4-4-4-12` lowercase hex) or, for a static pod, 32 hex.
fn normalise_uid(raw: &str) -> Option<String> {
    let uid = raw.replace('_', "-");
    let hex = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    let uuid = uid.len() == 36
        && uid.bytes().enumerate().all(|(at, b)| {
            if matches!(at, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                hex(b)
            }
        });
    let static_pod = uid.len() == 32 && uid.bytes().all(hex);
    (uuid || static_pod).then_some(uid)
}

/// A name worth reporting: not empty, not absurdly long, no control characters or slashes.
fn plausible_name(value: &str) -> bool {
    !value.is_empty() && value.len() <= 253 && !value.chars().any(|c| c.is_control() || c == '/')
}

/// The runtime whose state holds container `id`, for a cgroup path that does not name it, with
/// the state's path.
fn runtime_from_state(roots: &Roots, id: &str, gaps: &mut Vec<String>) -> Option<(&'static str, String)> {
    [
        (
            "containerd",
            format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}"),
        ),
        ("cri-o", format!("run/containers/storage/overlay-containers/{id}")),
        ("docker", format!("var/lib/docker/containers/{id}")),
    ]
    .into_iter()
    .find_map(|(runtime, relative)| {
        let shown = format!("/{relative}");
        match fs::metadata(roots.fs_root.join(&relative)) {
            Ok(_) => Some((runtime, shown)),
            Err(error) if is_missing(&error) => None,
            Err(error) => {
                gaps.push(describe_io_error(&error, &shown));
                None
            }
        }
    })
}

/// Where a runtime keeps a container's OCI spec, and the annotations naming its pod.
struct AnnotationSource {
    /// Relative to the root, with `{id}` for the container id.
    path: &'static str,
    namespace: &'static str,
    pod: &'static str,
    container: &'static str,
    uid: &'static str,
}

const CONTAINERD: AnnotationSource = AnnotationSource {
    path: "run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json",
    namespace: "io.kubernetes.cri.sandbox-namespace",
    pod: "io.kubernetes.cri.sandbox-name",
    container: "io.kubernetes.cri.container-name",
    uid: "io.kubernetes.cri.sandbox-uid",
};

const CRIO: AnnotationSource = AnnotationSource {
    path: "run/containers/storage/overlay-containers/{id}/userdata/config.json",
    namespace: "io.kubernetes.pod.namespace",
    pod: "io.kubernetes.pod.name",
    container: "io.kubernetes.container.name",
    uid: "io.kubernetes.pod.uid",
};

fn annotations(roots: &Roots, workload: &mut Workload, id: &str, source: &AnnotationSource) {
    let relative = source.path.replace("{id}", id);
    let shown = format!("/{relative}");
    let Some(spec) = read_json(&roots.fs_root.join(&relative), &shown, &mut workload.gaps) else {
        return;
    };
    let Some(annotations) = spec.get("annotations").and_then(serde_json::Value::as_object) else {
        return;
    };
    let annotation = |key: &str| annotations.get(key).and_then(serde_json::Value::as_str);
    for (field, key) in [
        ("pod_namespace", source.namespace),
        ("pod_name", source.pod),
        ("container_name", source.container),
    ] {
        if let Some(value) = annotation(key) {
            workload.fill(field, value, &format!("{shown} annotation {key}"));
        }
    }
    if let Some(uid) = annotation(source.uid).and_then(normalise_uid) {
        workload.fill("pod_uid", &uid, &format!("{shown} annotation {}", source.uid));
    }
}

/// Docker's name for the container (`Name` in `config.v2.json`, with a leading `/`). Under
/// Kubernetes (cri-dockerd) the name is `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`.
fn docker_name(roots: &Roots, workload: &mut Workload, id: &str, kubernetes: bool) {
    let relative = format!("var/lib/docker/containers/{id}/config.v2.json");
    let shown = format!("/{relative}");
    let Some(config) = read_json(&roots.fs_root.join(&relative), &shown, &mut workload.gaps) else {
        return;
    };
    let Some(name) = config.get("Name").and_then(serde_json::Value::as_str) else {
        return;
    };
    let name = name.strip_prefix('/').unwrap_or(name);
    let source = format!("{shown} Name");
    if !kubernetes {
        workload.fill("container_name", name, &source);
        return;
    }
    let parts: Vec<&str> = name.split('_').collect();
    if let ["k8s", container, pod, namespace, _uid, _attempt] = parts.as_slice() {
        workload.fill("container_name", container, &source);
        workload.fill("pod_name", pod, &source);
        workload.fill("pod_namespace", namespace, &source);
    }
}

/// Podman's name for the container, from its storage's `containers.json`.
fn podman_name(roots: &Roots, workload: &mut Workload, id: &str) {
    let relative = "var/lib/containers/storage/overlay-containers/containers.json";
    let shown = format!("/{relative}");
    let Some(containers) = read_json(&roots.fs_root.join(relative), &shown, &mut workload.gaps) else {
        return;
    };
    let name = containers
        .as_array()
        .into_iter()
        .flatten()
        .find(|container| container.get("id").and_then(serde_json::Value::as_str) == Some(id))
        .and_then(|container| container.get("names")?.as_array()?.first()?.as_str());
    if let Some(name) = name {
        workload.fill("container_name", name, &shown);
    }
}

/// Pod, namespace and container names from the kubelet's
/// `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`.
fn names_from_container_logs(roots: &Roots, workload: &mut Workload, id: &str) {
    let suffix = format!("-{id}.log");
    let names = list_dir(
        &roots.fs_root.join("var/log/containers"),
        "/var/log/containers",
        &mut workload.gaps,
    );
    for name in names {
        let Some(prefix) = name.strip_suffix(&suffix) else {
            continue;
        };
        let parts: Vec<&str> = prefix.split('_').collect();
        if let [pod, namespace, container] = parts.as_slice() {
            let source = format!("/var/log/containers/{name}");
            workload.fill("pod_name", pod, &source);
            workload.fill("pod_namespace", namespace, &source);
            workload.fill("container_name", container, &source);
            return;
        }
    }
}

/// Namespace and pod names from the kubelet's `/var/log/pods/<namespace>_<pod>_<uid>/`.
fn names_from_pod_logs(roots: &Roots, workload: &mut Workload, uid: &str) {
    let suffix = format!("_{uid}");
    let names = list_dir(&roots.fs_root.join("var/log/pods"), "/var/log/pods", &mut workload.gaps);
    for name in names {
        let Some(prefix) = name.strip_suffix(&suffix) else {
            continue;
        };
        let parts: Vec<&str> = prefix.split('_').collect();
        if let [namespace, pod] = parts.as_slice() {
            let source = format!("/var/log/pods/{name}");
            workload.fill("pod_namespace", namespace, &source);
            workload.fill("pod_name", pod, &source);
            return;
        }
    }
}

/// The pod name from `HOSTNAME` in the process's environment, the only variable read. Skipped
/// when the process shares the node's UTS namespace (a `hostNetwork` pod): its `HOSTNAME` is
/// then the node's name.
fn pod_name_from_hostname(roots: &Roots, workload: &mut Workload, pid: u32) {
    let uts = |pid: &str| fs::read_link(roots.proc.join(pid).join("ns/uts")).ok();
    if let (Some(own), Some(node)) = (uts(&pid.to_string()), uts("1"))
        && own == node
    {
        return;
    }
    let shown = format!("/proc/{pid}/environ");
    let Some(hostname) = hostname_in_environ(&roots.proc.join(pid.to_string()).join("environ"), &shown, workload)
    else {
        return;
    };
    let dns_label = hostname
        .bytes()
        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.'));
    if !dns_label {
        return;
    }
    // The kernel keeps at most 64 bytes of hostname, and the kubelet cuts longer pod names to 63.
    let source = if hostname.len() >= 63 {
        "environment HOSTNAME (the pod's hostname; it may be cut short of a longer pod name)"
    } else {
        "environment HOSTNAME (the pod's hostname)"
    };
    workload.fill("pod_name", &hostname, source);
}

/// The value of `HOSTNAME` alone; the rest of the environment is dropped unread.
fn hostname_in_environ(path: &Path, shown: &str, workload: &mut Workload) -> Option<String> {
    let environ = read_capped(path, shown, &mut workload.gaps)?;
    environ
        .split(|&b| b == 0)
        .find_map(|entry| entry.strip_prefix(b"HOSTNAME="))
        .and_then(|value| std::str::from_utf8(value).ok())
        .map(str::to_owned)
}

/// A file's bytes, up to [`MAX_FILE_BYTES`]. `None` when it is missing (silently), or when it
/// exists but cannot be read or is too large (with a gap saying why).
fn read_capped(path: &Path, shown: &str, gaps: &mut Vec<String>) -> Option<Vec<u8>> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if is_missing(&error) => return None,
        Err(error) => {
            gaps.push(describe_io_error(&error, shown));
            return None;
        }
    };
    let mut bytes = Vec::new();
    if let Err(error) = file.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes) {
        gaps.push(describe_io_error(&error, shown));
        return None;
    }
    if bytes.len() > MAX_FILE_BYTES {
        gaps.push(format!("{shown} is larger than {} MiB; not read", MAX_FILE_BYTES >> 20));
        return None;
    }
    Some(bytes)
}

/// A JSON file, with a gap when it exists but cannot be read or parsed.
fn read_json(path: &Path, shown: &str, gaps: &mut Vec<String>) -> Option<serde_json::Value> {
    let bytes = read_capped(path, shown, gaps)?;
    match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(error) => {
            gaps.push(format!("could not parse {shown}: {error}"));
            None
        }
    }
}

/// The names in a folder; empty when it is missing (silently) or unreadable (with a gap).
fn list_dir(path: &Path, shown: &str, gaps: &mut Vec<String>) -> Vec<String> {
    match fs::read_dir(path) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect(),
        Err(error) if is_missing(&error) => Vec::new(),
        Err(error) => {
            gaps.push(describe_io_error(&error, shown));
            Vec::new()
        }
    }
}

fn is_missing(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_tree::FakeTree;

    const PID: u32 = 1190;
    const UID: &str = "0c4d1f5a-7b9e-4c2d-9a1e-3f5b6c7d8e9f";
    const UID_UNDERSCORED: &str = "0c4d1f5a_7b9e_4c2d_9a1e_3f5b6c7d8e9f";

    /// A 64-hex container id starting with `prefix`.
    fn cid(prefix: &str) -> String {
        format!("{prefix:0<64}")
    }

    fn with_cgroup(text: &str) -> FakeTree {
        let tree = FakeTree::new();
        tree.write(&format!("proc/{PID}/cgroup"), text);
        tree
    }

    fn source(workload: &Workload, field: &str) -> String {
        workload.sources.get(field).cloned().unwrap_or_default()
    }

    #[test]
    fn podman_systemd_and_cgroupfs_shapes() {
        let id = cid("3f2a9c1b7e4d");
        for path in [
            format!("/machine.slice/libpod-{id}.scope"),
            format!("/libpod_parent/libpod-{id}"),
            format!("/machine.slice/libpod-{id}.scope/container"),
            format!(
                "/machine.slice/machine-libpod_pod_{}.slice/libpod-{id}.scope",
                cid("ab")
            ),
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{id}.scope/container"),
        ] {
            let tree = with_cgroup(&format!("0::{path}\n"));
            let workload = workload_of(&tree.roots(), PID);
            assert_eq!(workload.runtime.as_deref(), Some("podman"), "{path}");
            assert_eq!(workload.container_id.as_deref(), Some(id.as_str()), "{path}");
            assert_eq!(workload.cgroup.as_deref(), Some(path.as_str()));
            assert_eq!(source(&workload, "container_id"), format!("cgroup {path}"));
            assert!(workload.pod_uid.is_none() && !workload.is_host() && workload.gaps.is_empty());
        }
    }

    #[test]
    fn conmon_is_not_the_container() {
        let id = cid("3f2a9c1b7e4d");
        for path in [
            format!("/machine.slice/libpod-conmon-{id}.scope"),
            "/libpod_parent/conmon".to_owned(),
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_UNDERSCORED}.slice/crio-conmon-{id}.scope"
            ),
        ] {
            let workload = workload_of(&with_cgroup(&format!("0::{path}\n")).roots(), PID);
            assert!(workload.is_host(), "{path}: {workload:?}");
            assert_eq!(workload.container_id, None);
            assert_eq!(workload.describe(), "host");
        }
    }

    #[test]
    fn docker_systemd_and_cgroupfs_shapes() {
        let id = cid("d0c4e7");
        for path in [format!("/system.slice/docker-{id}.scope"), format!("/docker/{id}")] {
            let workload = workload_of(&with_cgroup(&format!("0::{path}\n")).roots(), PID);
            assert_eq!(workload.runtime.as_deref(), Some("docker"), "{path}");
            assert_eq!(workload.container_id.as_deref(), Some(id.as_str()), "{path}");
        }
    }

    #[test]
    fn kubernetes_systemd_shapes_normalise_the_pod_uid() {
        let id = cid("c0ffee");
        for (slice, runtime) in [
            (
                format!(
                    "kubepods-burstable.slice/kubepods-burstable-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope"
                ),
                "containerd",
            ),
            (
                format!("kubepods-besteffort.slice/kubepods-besteffort-pod{UID_UNDERSCORED}.slice/crio-{id}.scope"),
                "cri-o",
            ),
            (
                format!("kubepods-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope"),
                "containerd",
            ),
            (
                format!("kubepods-pod{UID_UNDERSCORED}.slice/docker-{id}.scope"),
                "docker",
            ),
            (
                format!("kubepods-pod{UID_UNDERSCORED}.slice/crio-{id}.scope/container"),
                "cri-o",
            ),
        ] {
            let path = format!("/kubepods.slice/{slice}");
            let workload = workload_of(&with_cgroup(&format!("0::{path}\n")).roots(), PID);
            assert_eq!(workload.runtime.as_deref(), Some(runtime), "{path}");
            assert_eq!(workload.container_id.as_deref(), Some(id.as_str()), "{path}");
            assert_eq!(workload.pod_uid.as_deref(), Some(UID), "{path}");
            assert_eq!(source(&workload, "pod_uid"), format!("cgroup {path}"));
        }
        // A kind node: the pod's cgroup below the node container's; the innermost container wins.
        let path = format!(
            "/system.slice/docker-{}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope",
            cid("ee")
        );
        let workload = workload_of(&with_cgroup(&format!("0::{path}\n")).roots(), PID);
        assert_eq!(workload.container_id.as_deref(), Some(id.as_str()));
        assert_eq!(workload.runtime.as_deref(), Some("containerd"));
        assert_eq!(workload.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn static_pod_uid_is_32_hex() {
        let uid = "5b8ad4b1e4d4f5d76d5bbf4ec7f7b8c1";
        let id = cid("ab");
        let path = format!("/kubepods.slice/kubepods-pod{uid}.slice/cri-containerd-{id}.scope");
        let workload = workload_of(&with_cgroup(&format!("0::{path}\n")).roots(), PID);
        assert_eq!(workload.pod_uid.as_deref(), Some(uid));
    }

    #[test]
    fn kubernetes_cgroupfs_runtime_comes_from_state_or_stays_kubernetes() {
        let id = cid("cafe");
        for path in [
            format!("/kubepods/burstable/pod{UID}/{id}"),
            format!("/kubepods/pod{UID}/{id}"),
        ] {
            let tree = with_cgroup(&format!("0::{path}\n"));
            let workload = workload_of(&tree.roots(), PID);
            assert_eq!(workload.runtime.as_deref(), Some("kubernetes"), "{path}");
            assert!(source(&workload, "runtime").contains("names no runtime"));
            assert_eq!(workload.container_id.as_deref(), Some(id.as_str()));
            assert_eq!(workload.pod_uid.as_deref(), Some(UID));
            assert!(!workload.is_host());

            tree.write(
                &format!("root/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json"),
                r#"{"annotations": {"io.kubernetes.cri.container-name": "vllm"}}"#,
            );
            let workload = workload_of(&tree.roots(), PID);
            assert_eq!(workload.runtime.as_deref(), Some("containerd"), "{path}");
            assert!(source(&workload, "runtime").contains("/run/containerd/io.containerd.runtime.v2.task/k8s.io/"));
            assert_eq!(workload.container_name.as_deref(), Some("vllm"));
        }
        let tree = with_cgroup(&format!("0::/kubepods/pod{UID}/{id}\n"));
        tree.write(
            &format!("root/run/containers/storage/overlay-containers/{id}/userdata/x"),
            "",
        );
        assert_eq!(workload_of(&tree.roots(), PID).runtime.as_deref(), Some("cri-o"));
    }

    #[test]
    fn names_from_containerd_annotations() {
        let id = cid("c0ffee");
        let tree = with_cgroup(&format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope\n"
        ));
        tree.write(
            &format!("root/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json"),
            &format!(
                r#"{{"ociVersion": "1.1.0", "annotations": {{
                    "io.kubernetes.cri.sandbox-namespace": "prod",
                    "io.kubernetes.cri.sandbox-name": "vllm-0",
                    "io.kubernetes.cri.container-name": "vllm",
                    "io.kubernetes.cri.sandbox-uid": "{UID}"}}}}"#
            ),
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.pod_namespace.as_deref(), Some("prod"));
        assert_eq!(workload.pod_name.as_deref(), Some("vllm-0"));
        assert_eq!(workload.container_name.as_deref(), Some("vllm"));
        assert!(source(&workload, "pod_name").ends_with("config.json annotation io.kubernetes.cri.sandbox-name"));
        assert_eq!(
            workload.describe(),
            "pod prod/vllm-0 container vllm (containerd c0ffee000000)"
        );
        assert!(workload.gaps.is_empty(), "{:?}", workload.gaps);
    }

    #[test]
    fn names_from_crio_annotations() {
        let id = cid("c410");
        let tree = with_cgroup(&format!(
            "0::/kubepods.slice/kubepods-pod{UID_UNDERSCORED}.slice/crio-{id}.scope\n"
        ));
        tree.write(
            &format!("root/run/containers/storage/overlay-containers/{id}/userdata/config.json"),
            r#"{"annotations": {"io.kubernetes.pod.namespace": "ml", "io.kubernetes.pod.name": "tgi-7f9c",
                "io.kubernetes.container.name": "tgi", "io.kubernetes.pod.uid": "not-a-uid"}}"#,
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.runtime.as_deref(), Some("cri-o"));
        assert_eq!(workload.pod_namespace.as_deref(), Some("ml"));
        assert_eq!(workload.pod_name.as_deref(), Some("tgi-7f9c"));
        assert_eq!(workload.container_name.as_deref(), Some("tgi"));
        assert_eq!(workload.pod_uid.as_deref(), Some(UID), "the cgroup's uid is kept");
    }

    #[test]
    fn names_from_var_log_containers_and_pods() {
        let id = cid("c0ffee");
        let tree = with_cgroup(&format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope\n"
        ));
        let other = cid("ff");
        tree.write(&format!("root/var/log/containers/other-1_prod_sidecar-{other}.log"), "");
        tree.write(&format!("root/var/log/containers/vllm-0_prod_vllm-{id}.log"), "");
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.pod_name.as_deref(), Some("vllm-0"));
        assert_eq!(workload.pod_namespace.as_deref(), Some("prod"));
        assert_eq!(workload.container_name.as_deref(), Some("vllm"));
        assert_eq!(
            source(&workload, "container_name"),
            format!("/var/log/containers/vllm-0_prod_vllm-{id}.log")
        );

        let tree = with_cgroup(&format!("0::/kubepods/burstable/pod{UID}/{id}\n"));
        tree.write(&format!("root/var/log/pods/prod_other_{}/x/0.log", "1".repeat(32)), "");
        tree.write(&format!("root/var/log/pods/prod_vllm-0_{UID}/vllm/0.log"), "");
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.pod_name.as_deref(), Some("vllm-0"));
        assert_eq!(workload.pod_namespace.as_deref(), Some("prod"));
        assert_eq!(workload.container_name, None);
        assert_eq!(
            source(&workload, "pod_name"),
            format!("/var/log/pods/prod_vllm-0_{UID}")
        );
        assert_eq!(workload.describe(), "pod prod/vllm-0 (kubernetes c0ffee000000)");
    }

    #[test]
    fn hostname_is_the_pod_name_only_when_nothing_else_gave_it() {
        let id = cid("c0ffee");
        let tree = with_cgroup(&format!(
            "0::/kubepods.slice/kubepods-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope\n"
        ));
        tree.write(
            &format!("proc/{PID}/environ"),
            "HF_TOKEN=hf_secret\0HOSTNAME=vllm-0\0PATH=/usr/bin\0",
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.pod_name.as_deref(), Some("vllm-0"));
        assert!(source(&workload, "pod_name").starts_with("environment HOSTNAME"));
        let json = serde_json::to_string(&workload).unwrap_or_default();
        assert!(!json.contains("hf_secret") && !json.contains("/usr/bin"), "{json}");
        assert!(!format!("{workload:?}").contains("hf_secret"));

        // A hostNetwork pod shares the node's UTS namespace: its HOSTNAME is the node's.
        for pid in [PID.to_string(), "1".to_owned()] {
            let dir = tree.path().join("proc").join(pid).join("ns");
            assert!(fs::create_dir_all(&dir).is_ok());
            assert!(std::os::unix::fs::symlink("uts:[4026531838]", dir.join("uts")).is_ok());
        }
        assert_eq!(workload_of(&tree.roots(), PID).pod_name, None);

        // A name from the kubelet's logs wins over HOSTNAME.
        let tree = with_cgroup(&format!(
            "0::/kubepods.slice/kubepods-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope\n"
        ));
        tree.write(&format!("proc/{PID}/environ"), "HOSTNAME=custom-host\0");
        tree.write(&format!("root/var/log/pods/prod_vllm-0_{UID}/vllm/0.log"), "");
        assert_eq!(workload_of(&tree.roots(), PID).pod_name.as_deref(), Some("vllm-0"));

        // Not a pod: HOSTNAME is never read.
        let tree = with_cgroup(&format!("0::/system.slice/docker-{id}.scope\n"));
        tree.write(&format!("proc/{PID}/environ"), "HOSTNAME=abc\0");
        assert_eq!(workload_of(&tree.roots(), PID).pod_name, None);
    }

    #[test]
    fn podman_name_from_containers_json() {
        let id = cid("3f2a9c1b7e4d");
        let tree = with_cgroup(&format!("0::/machine.slice/libpod-{id}.scope/container\n"));
        tree.write(
            "root/var/lib/containers/storage/overlay-containers/containers.json",
            &format!(
                r#"[{{"id": "{}", "names": ["other"]}}, {{"id": 7}}, {{"id": "{id}", "names": ["vllm-a"], "layer": "x"}}]"#,
                cid("aa")
            ),
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.container_name.as_deref(), Some("vllm-a"));
        assert_eq!(
            source(&workload, "container_name"),
            "/var/lib/containers/storage/overlay-containers/containers.json"
        );
        assert_eq!(workload.describe(), "container 3f2a9c1b7e4d (podman, name vllm-a)");
    }

    #[test]
    fn docker_name_from_config_v2() {
        let id = cid("d0c4e7");
        let tree = with_cgroup(&format!("0::/docker/{id}\n"));
        tree.write(
            &format!("root/var/lib/docker/containers/{id}/config.v2.json"),
            r#"{"Name": "/tgi", "ID": "x"}"#,
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.container_name.as_deref(), Some("tgi"));
        assert_eq!(workload.describe(), "container d0c4e7000000 (docker, name tgi)");

        // cri-dockerd names the container after its pod.
        let tree = with_cgroup(&format!("0::/kubepods/pod{UID}/{id}\n"));
        tree.write(
            &format!("root/var/lib/docker/containers/{id}/config.v2.json"),
            &format!(r#"{{"Name": "/k8s_vllm_vllm-0_prod_{UID}_0"}}"#),
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.runtime.as_deref(), Some("docker"));
        assert_eq!(workload.container_name.as_deref(), Some("vllm"));
        assert_eq!(workload.pod_name.as_deref(), Some("vllm-0"));
        assert_eq!(workload.pod_namespace.as_deref(), Some("prod"));
    }

    #[test]
    fn cgroup_v2_line_is_preferred_then_first_recognisable_v1_line() {
        let (a, b) = (cid("aa"), cid("bb"));
        let text = format!("12:pids:/docker/{a}\n1:name=systemd:/docker/{a}\n0::/system.slice/docker-{b}.scope\n");
        let workload = workload_of(&with_cgroup(&text).roots(), PID);
        assert_eq!(workload.container_id.as_deref(), Some(b.as_str()));

        let text = format!("12:pids:/\n11:memory:/docker/{a}\n1:name=systemd:/docker/{b}\n0::/\n");
        let workload = workload_of(&with_cgroup(&text).roots(), PID);
        assert_eq!(workload.container_id.as_deref(), Some(a.as_str()));
        assert_eq!(workload.cgroup, Some(format!("/docker/{a}")));
    }

    #[test]
    fn bare_host_processes() {
        for text in [
            "0::/\n",
            "0::/init.scope\n",
            "0::/user.slice/user-1000.slice/session-2.scope\n",
            "0::/system.slice/sshd.service\n",
            "0::/system.slice/docker.service\n",
            "0::/kubepods.slice/kubepods-burstable.slice\n",
            "12:cpu,cpuacct:/\n1:name=systemd:/init.scope\n0::/init.scope\n",
            "",
        ] {
            let workload = workload_of(&with_cgroup(text).roots(), PID);
            assert!(workload.is_host(), "{text}: {workload:?}");
            assert_eq!(workload, Workload::default());
            assert_eq!(serde_json::to_string(&workload).unwrap_or_default(), "{}");
        }
        // No such process: nothing, and no gap.
        let workload = workload_of(&FakeTree::new().roots(), PID);
        assert_eq!(workload, Workload::default());
    }

    #[test]
    fn garbage_gives_no_panic_and_no_wrong_id() {
        let id = cid("3f2a9c1b7e4d");
        let truncated = &id[..63];
        let upper = id.to_uppercase();
        for text in [
            format!("0::/machine.slice/libpod-{truncated}.scope\n"),
            format!("0::/machine.slice/libpod-{id}0.scope\n"),
            format!("0::/machine.slice/libpod-{upper}.scope\n"),
            format!("0::/docker/{truncated}\n"),
            format!("0::/kubepods/burstable/pod{}/{id}\n", &UID[..35]),
            format!(
                "0::/kubepods.slice/kubepods-pod{}.slice/zzz-{id}.scope\n",
                &UID_UNDERSCORED[..30]
            ),
            format!("0::/elsewhere/{id}\n"),
            "::::\n:\n0:\n\u{0}\u{7f}\n".to_owned(),
        ] {
            let workload = workload_of(&with_cgroup(&text).roots(), PID);
            assert_eq!(workload.container_id, None, "{text:?}");
            assert!(workload.is_host(), "{text:?}: {workload:?}");
        }
        // In a pod's cgroup, below it something that is no container id: the pod, and no id.
        let text = format!("0::/kubepods/burstable/pod{UID}/{truncated}\n");
        let workload = workload_of(&with_cgroup(&text).roots(), PID);
        assert_eq!(workload.container_id, None);
        assert_eq!(workload.pod_uid.as_deref(), Some(UID));
        assert_eq!(workload.describe(), format!("pod uid {UID} (kubernetes)"));

        let tree = FakeTree::new();
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let path = tree.path().join(format!("proc/{PID}/cgroup"));
        assert!(path.parent().is_some_and(|dir| fs::create_dir_all(dir).is_ok()));
        assert!(fs::write(&path, &junk).is_ok());
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.container_id, None);

        // Every prefix of a real cgroup line parses without panic, and never to a shorter id.
        let line = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope"
        );
        for end in 0..line.len() {
            if let Some((_, found)) = container_cgroup(&line[..end]) {
                assert!(found.id.is_none_or(|found| found == id), "{}", &line[..end]);
            }
        }
    }

    #[test]
    fn unparsable_state_is_a_gap_not_a_panic() {
        let id = cid("c0ffee");
        let tree = with_cgroup(&format!(
            "0::/kubepods.slice/kubepods-pod{UID_UNDERSCORED}.slice/cri-containerd-{id}.scope\n"
        ));
        tree.write(
            &format!("root/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json"),
            "{not json",
        );
        tree.write(
            "root/var/lib/containers/storage/overlay-containers/containers.json",
            "[1, 2",
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.container_id.as_deref(), Some(id.as_str()));
        assert_eq!(workload.container_name, None);
        assert_eq!(workload.gaps.len(), 1, "{:?}", workload.gaps);
        assert!(
            workload.gaps[0].starts_with("could not parse /run/containerd/"),
            "{:?}",
            workload.gaps
        );

        // Valid JSON of the wrong shape is no gap and no name.
        tree.write(
            &format!("root/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json"),
            r#"{"annotations": ["io.kubernetes.cri.container-name"]}"#,
        );
        let workload = workload_of(&tree.roots(), PID);
        assert!(
            workload.gaps.is_empty() && workload.container_name.is_none(),
            "{workload:?}"
        );

        // Podman's list, not JSON.
        let podman = cid("3f2a");
        let tree = with_cgroup(&format!("0::/machine.slice/libpod-{podman}.scope\n"));
        tree.write(
            "root/var/lib/containers/storage/overlay-containers/containers.json",
            "\u{0}\u{1}garbage",
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.container_id.as_deref(), Some(podman.as_str()));
        assert!(
            workload.gaps.iter().any(|gap| gap.contains("containers.json")),
            "{workload:?}"
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_is_a_gap() {
        let id = cid("d0c4e7");
        let tree = with_cgroup(&format!("0::/system.slice/docker-{id}.scope\n"));
        // A folder where the file should be: it exists, and reading it fails.
        assert!(
            fs::create_dir_all(
                tree.path()
                    .join(format!("root/var/lib/docker/containers/{id}/config.v2.json"))
            )
            .is_ok()
        );
        let workload = workload_of(&tree.roots(), PID);
        assert_eq!(workload.container_id.as_deref(), Some(id.as_str()));
        assert!(
            workload
                .gaps
                .iter()
                .any(|gap| gap.contains("/var/lib/docker/containers/")),
            "{:?}",
            workload.gaps
        );

        // Permission: only testable when not root (root reads everything).
        // SAFETY: geteuid only reads the calling process's effective uid.
        if unsafe { libc::geteuid() } != 0 {
            use std::os::unix::fs::PermissionsExt;
            let tree = with_cgroup(&format!("0::/system.slice/docker-{id}.scope\n"));
            tree.write(
                &format!("root/var/lib/docker/containers/{id}/config.v2.json"),
                r#"{"Name": "/x"}"#,
            );
            let path = tree
                .path()
                .join(format!("root/var/lib/docker/containers/{id}/config.v2.json"));
            assert!(fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).is_ok());
            let workload = workload_of(&tree.roots(), PID);
            assert!(
                workload.gaps.iter().any(|gap| gap.contains("insufficient permission")),
                "{workload:?}"
            );
        }
    }

    #[test]
    fn oversized_state_is_not_read() {
        let id = cid("3f2a");
        let tree = with_cgroup(&format!("0::/machine.slice/libpod-{id}.scope\n"));
        let path = tree
            .path()
            .join("root/var/lib/containers/storage/overlay-containers/containers.json");
        assert!(path.parent().is_some_and(|dir| fs::create_dir_all(dir).is_ok()));
        assert!(fs::write(&path, vec![b' '; MAX_FILE_BYTES + 1]).is_ok());
        let workload = workload_of(&tree.roots(), PID);
        assert!(
            workload.gaps.iter().any(|gap| gap.contains("larger than 4 MiB")),
            "{workload:?}"
        );
    }

    #[test]
    fn serde_round_trip_and_describe() {
        let workload = Workload {
            runtime: Some("containerd".into()),
            container_id: Some(cid("3f2a9c1b7e4d")),
            pod_uid: Some(UID.into()),
            ..Workload::default()
        };
        assert_eq!(workload.describe(), format!("pod uid {UID} (containerd 3f2a9c1b7e4d)"));
        let json = serde_json::to_string(&workload).unwrap_or_default();
        assert!(
            !json.contains("sources") && !json.contains("gaps") && !json.contains("pod_name"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Workload>(&json).ok(), Some(workload));
        assert_eq!(serde_json::from_str::<Workload>("{}").ok(), Some(Workload::default()));
    }
}
