//! Whether this probe runs inside a container, and the evidence.
//!
//! There is no single reliable test, so the probe collects evidence and reports each piece:
//! `/.dockerenv` (Docker), `/run/.containerenv` (Podman), `KUBERNETES_SERVICE_HOST` in the
//! environment (a Kubernetes pod), and its own cgroup path when it is not `/` (it then usually
//! names the runtime: `docker-<id>.scope`, `kubepods`, `libpod`, `crio`, `containerd`). No
//! evidence means "no sign of a container", not proof: a private cgroup namespace shows `/`.

use crate::Roots;
use serde::{Deserialize, Serialize};
use std::fs;

/// Container evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerFacts {
    /// Whether any evidence was found.
    pub in_container: bool,
    /// The runtime the evidence points to: `kubernetes`, `podman`, `docker`, `cri-o`,
    /// `containerd` or `lxc`; `None` when unknown or not in a container.
    pub runtime: Option<String>,
    /// Each piece of evidence, in words.
    pub evidence: Vec<String>,
}

pub(crate) fn container_facts(roots: &Roots, env: &dyn Fn(&str) -> Option<String>) -> ContainerFacts {
    let mut evidence = Vec::new();
    let mut hints: Vec<&str> = Vec::new();
    if roots.fs_root.join(".dockerenv").exists() {
        evidence.push("/.dockerenv exists".to_owned());
        hints.push("docker");
    }
    if roots.fs_root.join("run/.containerenv").exists() {
        evidence.push("/run/.containerenv exists".to_owned());
        hints.push("podman");
    }
    if let Some(host) = env("KUBERNETES_SERVICE_HOST") {
        evidence.push(format!("KUBERNETES_SERVICE_HOST is set ({host})"));
        hints.push("kubernetes");
    }
    if let Ok(text) = fs::read_to_string(roots.proc.join("self/cgroup")) {
        for line in text.lines() {
            let path = line.splitn(3, ':').nth(2).unwrap_or("/");
            if path == "/" || path.is_empty() || path.starts_with("/init.scope") || path.starts_with("/user.slice") {
                continue;
            }
            let lower = path.to_ascii_lowercase();
            let runtime = [
                ("kubepods", "kubernetes"),
                ("libpod", "podman"),
                ("crio", "cri-o"),
                ("docker", "docker"),
                ("containerd", "containerd"),
                ("lxc", "lxc"),
            ]
            .into_iter()
            .find(|(needle, _)| lower.contains(needle))
            .map(|(_, runtime)| runtime);
            // A plain systemd service cgroup is not a container.
            if runtime.is_none() && lower.starts_with("/system.slice") {
                continue;
            }
            evidence.push(format!("cgroup path is {path}"));
            hints.extend(runtime);
            break;
        }
    }
    let runtime = ["kubernetes", "podman", "cri-o", "docker", "containerd", "lxc"]
        .into_iter()
        .find(|runtime| hints.contains(runtime))
        .map(str::to_owned);
    ContainerFacts {
        in_container: !evidence.is_empty(),
        runtime,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_tree::FakeTree;

    #[test]
    fn bare_host_has_no_evidence() {
        let tree = FakeTree::new();
        tree.write("proc/self/cgroup", "0::/user.slice/user-1000.slice/session-2.scope\n");
        let facts = container_facts(&tree.roots(), &|_| None);
        assert!(!facts.in_container, "{facts:?}");
        assert_eq!(facts.runtime, None);
    }

    #[test]
    fn docker_and_kubernetes_evidence() {
        let tree = FakeTree::new();
        tree.write("root/.dockerenv", "");
        tree.write("proc/self/cgroup", "0::/system.slice/docker-abc.scope\n");
        let facts = container_facts(&tree.roots(), &|_| None);
        assert!(facts.in_container);
        assert_eq!(facts.runtime.as_deref(), Some("docker"));
        assert_eq!(facts.evidence.len(), 2, "{facts:?}");

        let env = |name: &str| (name == "KUBERNETES_SERVICE_HOST").then(|| "10.0.0.1".to_owned());
        tree.write("proc/self/cgroup", "0::/kubepods.slice/pod1/cri-containerd-x.scope\n");
        let facts = container_facts(&tree.roots(), &env);
        assert_eq!(facts.runtime.as_deref(), Some("kubernetes"));
        assert!(facts.evidence.iter().any(|e| e.contains("KUBERNETES_SERVICE_HOST")));
    }
}
