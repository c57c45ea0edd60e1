//! The container harness itself: two real containers (podman + runc), each with the vLLM
//! imitation on port 8000 in its own network namespace, one also published on 127.0.0.1.
//! Traffic goes only to 127.0.0.1 and to the two containers' own addresses.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Instant;

use modelspec::runtime::EngineId;
use modelspec::runtime::argv::engine_from_argv;
use serde_json::Value as Json;

mod support;
use support::containers;

use containers::{Engine, http_get};

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_get(addr, path).unwrap_or_else(|e| panic!("GET {addr}{path}: {e}"))
}

fn models(addr: SocketAddr) -> Json {
    let (status, body) = get(addr, "/v1/models");
    assert_eq!(status, 200, "{addr}/v1/models: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{addr}/v1/models is not JSON ({e}): {body}"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Whether a /proc/…/net/tcp table has a listener on `ip:port` (the kernel writes the address
/// as the hex of its bytes in memory order, the port in plain hex).
fn listens(table: &str, ip: Ipv4Addr, port: u16) -> bool {
    let want = format!("{:08X}:{port:04X}", u32::from_le_bytes(ip.octets()));
    table.lines().skip(1).any(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        cols.get(1) == Some(&want.as_str()) && cols.get(3) == Some(&"0A")
    })
}

#[test]
fn two_containers_on_the_same_port_each_answer_their_own_model() {
    if !containers::require("the container smoke test") {
        return;
    }
    let began = Instant::now();
    let port = containers::free_port();
    let published = Engine::new("org/alpha-7b")
        .publish(port)
        .env("HF_HOME", "/tmp/hf")
        .start();
    let private = Engine::new("org/beta-1b")
        .max_model_len(2048)
        .arg("--max-num-seqs")
        .arg("64")
        .arg("--dtype")
        .arg("bfloat16")
        .start();
    let started = began.elapsed();

    // Two containers, two namespaces, neither the host's.
    assert_ne!(published.ip, private.ip);
    assert_ne!(published.pid, private.pid);
    let netns = |pid: u32| std::fs::read_link(format!("/proc/{pid}/ns/net")).expect("netns link");
    let host = std::fs::read_link("/proc/self/ns/net").expect("own netns link");
    assert_ne!(netns(published.pid), host);
    assert_ne!(netns(private.pid), host);
    assert_ne!(netns(published.pid), netns(private.pid));

    // Each answers its own model at its own address, port 8000.
    for (c, len) in [(&published, 4096), (&private, 2048)] {
        let doc = models(c.addr());
        assert_eq!(doc["data"][0]["id"], c.model.as_str(), "{doc}");
        assert_eq!(doc["data"][0]["root"], c.model.as_str(), "{doc}");
        assert_eq!(doc["data"][0]["owned_by"], "vllm", "{doc}");
        assert_eq!(doc["data"][0]["max_model_len"], len, "{doc}");
        assert_eq!(get(c.addr(), "/version"), (200, r#"{"version":"0.32.0"}"#.to_owned()));
        assert_eq!(get(c.addr(), "/health"), (200, String::new()));
        let (status, metrics) = get(c.addr(), "/metrics");
        assert_eq!(status, 200);
        let running = format!("vllm:num_requests_running{{model_name=\"{}\"}} 0", c.model);
        assert!(metrics.contains(&running), "{metrics}");

        // What a host scanner sees: the process, its cgroup, its own listener.
        let argv: Vec<String> = read(&format!("/proc/{}/cmdline", c.pid))
            .split_terminator('\0')
            .map(str::to_owned)
            .collect();
        assert_eq!(
            argv[..4],
            ["/usr/bin/python3", "/srv/vllm", "serve", c.model.as_str()],
            "{argv:?}"
        );
        assert_eq!(engine_from_argv(&argv).map(|e| e.0), Some(EngineId::Vllm), "{argv:?}");
        assert_eq!(read(&format!("/proc/{}/comm", c.pid)).trim(), "vllm");
        let cgroup = read(&format!("/proc/{}/cgroup", c.pid));
        assert!(cgroup.contains(&format!("libpod-{}", c.id)), "{cgroup}");
        let tcp = read(&format!("/proc/{}/net/tcp", c.pid));
        assert!(listens(&tcp, Ipv4Addr::UNSPECIFIED, 8000), "{tcp}");
    }
    let argv = read(&format!("/proc/{}/cmdline", private.pid));
    assert!(argv.contains("--max-num-seqs\x0064"), "{argv:?}");

    // The published port: on the host, in the host's namespace, leading to the first container.
    let addr = published.published.expect("published address");
    assert!(listens(&read("/proc/net/tcp"), Ipv4Addr::LOCALHOST, port));
    assert_eq!(models(addr)["data"][0]["id"], "org/alpha-7b");

    let (name, image) = (
        published.name.clone(),
        format!("localhost/modelspec-test-engine:{}", std::process::id()),
    );
    drop(published);
    drop(private);
    containers::cleanup();
    containers::cleanup(); // idempotent

    let ps = Command::new("podman")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .output()
        .expect("podman ps");
    assert!(
        !String::from_utf8_lossy(&ps.stdout).contains(&name),
        "container {name} is left"
    );
    let images = Command::new("podman")
        .args(["images", "-q", &image])
        .output()
        .expect("podman images");
    assert!(
        String::from_utf8_lossy(&images.stdout).trim().is_empty(),
        "image {image} is left"
    );
    eprintln!(
        "two containers answered in {started:?}; all done and cleaned up in {:?}",
        began.elapsed()
    );
}
