//! Network namespaces made by a test, each holding what a container would: its own loopback,
//! optionally a veth link to the host with an address on a private test subnet, and processes
//! started inside it (`ip netns exec`). Everything is removed when the guard drops: the
//! processes (their whole process group), the namespace and, with it, the veth pair.
//!
//! Traffic only ever goes to loopback or to the namespace's own address, which exists only while
//! the test runs.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Whether namespaces can be made here: root and `ip`. Under `CI=true` a missing prerequisite
/// fails the test; elsewhere it is skipped with the reason.
pub fn available() -> bool {
    // SAFETY: geteuid only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    let ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let missing: Vec<&str> = [
        (!root).then_some("root"),
        (!ip).then_some("the `ip` command (iproute2)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "network namespace tests need {} (.ci/run runs as root and installs iproute2)",
        missing.join(" and ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    false
}

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace of this test, removed on drop with all it holds.
pub struct Netns {
    pub name: String,
    /// The namespace's own address on its veth link, when it has one.
    pub address: Option<String>,
    host_link: Option<String>,
    children: Vec<Child>,
}

impl Netns {
    /// A namespace with only a loopback link, up.
    pub fn isolated() -> Netns {
        Netns::make(false)
    }

    /// A namespace linked to the host by a veth pair on its own /30 of 10.213.0.0/16 (the host
    /// side .1, the namespace .2), as a container bridge would give it.
    pub fn linked() -> Netns {
        Netns::make(true)
    }

    fn make(linked: bool) -> Netns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let id = std::process::id() % 10_000;
        let name = format!("mstest-{id}-{n}");
        run(&["ip", "netns", "add", &name]).unwrap_or_else(|e| panic!("{e}"));
        let mut ns = Netns {
            name,
            address: None,
            host_link: None,
            children: Vec::new(),
        };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        if linked {
            // Distinct per process and namespace: (pid, n) -> a /30 in 10.213.0.0/16.
            let block = (id * 16 + n) % 16_384;
            let (hi, lo) = (block / 64, (block % 64) * 4);
            let host_side = format!("10.213.{hi}.{}", lo + 1);
            let ns_side = format!("10.213.{hi}.{}", lo + 2);
            let host_link = format!("msh{id}x{n}");
            let peer = format!("msn{id}x{n}");
            run(&[
                "ip", "link", "add", &host_link, "type", "veth", "peer", "name", &peer, "netns", &ns.name,
            ])
            .unwrap_or_else(|e| panic!("{e}"));
            ns.host_link = Some(host_link.clone());
            run(&["ip", "addr", "add", &format!("{host_side}/30"), "dev", &host_link])
                .unwrap_or_else(|e| panic!("{e}"));
            run(&["ip", "link", "set", &host_link, "up"]).unwrap_or_else(|e| panic!("{e}"));
            ns.exec_ok(&["ip", "addr", "add", &format!("{ns_side}/30"), "dev", &peer]);
            ns.exec_ok(&["ip", "link", "set", &peer, "up"]);
            ns.address = Some(ns_side);
        }
        ns
    }

    fn exec_ok(&self, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", &self.name];
        all.extend_from_slice(args);
        run(&all).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts `args` inside the namespace, in its own process group, with `env` added.
    pub fn spawn(&mut self, args: &[&str], env: &[(&str, &str)]) -> u32 {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.name])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("ip netns exec {}: {e}", self.name));
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Starts the engine imitation (`tests/support/engine.py`, which reads as `vllm serve`)
    /// serving `model` on `host:port` inside the namespace; waits until it listens there.
    pub fn engine(&mut self, model: &str, host: &str, port: u16, env: &[(&str, &str)]) -> u32 {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/engine.py");
        let port_s = port.to_string();
        let pid = self.spawn(
            &[
                "python3",
                script,
                "serve",
                model,
                "--host",
                host,
                "--port",
                &port_s,
                "--max-num-seqs",
                "16",
            ],
            env,
        );
        self.wait_listening(pid, port);
        pid
    }

    /// Waits until a LISTEN socket on `port` shows in the namespace's table (read through `pid`).
    pub fn wait_listening(&self, pid: u32, port: u16) {
        let needle = format!(":{port:04X} ");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listening = ["tcp", "tcp6"].iter().any(|file| {
                std::fs::read_to_string(format!("/proc/{pid}/net/{file}")).is_ok_and(|t| {
                    t.lines()
                        .any(|l| l.contains(&needle) && l.split_whitespace().nth(3) == Some("0A"))
                })
            });
            if listening {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nothing listens on {port} in {} after 20 s",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pid of the process serving in the namespace: `ip netns exec` execs its command, so
    /// the spawned pid is the server itself.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for child in &mut self.children {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: signals only the process group this guard started.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = child.wait();
        }
        // Deleting the namespace deletes its end of the veth pair, and so the host's end.
        let _ = run(&["ip", "netns", "del", &self.name]);
        if let Some(link) = &self.host_link {
            let _ = Command::new("ip")
                .args(["link", "del", link])
                .stderr(Stdio::null())
                .status();
        }
    }
}
