//! The serving-process probe against real processes: listeners on every kind of address, a
//! process tree, a port nobody listens on, and an unprivileged probe that must say "insufficient
//! permission" rather than "not listening".
//!
//! The listeners are small `python3` programs (skipped with a message when there is none); each
//! runs in its own process group, killed when its guard drops.

use modelspec_probe_host::{FoundBy, HostProbeOptions, HostSnapshot, Observed, ServerQuery, ServingProcess, probe};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "hf_abcdefghijklmnopqrstuvwxyz123456";

/// Kills the child's whole process group on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: signals only the process group this test created.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.0.wait();
    }
}

fn has_python() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("skipped: python3 is not installed");
    }
    found
}

/// Starts a python listener on `host` (family `AF_INET` or `AF_INET6`), running `extra` after
/// listening and before printing the port, with MODEL_NAME, HF_TOKEN and CUDA_VISIBLE_DEVICES set.
fn listener(family: &str, host: &str, extra: &str) -> Option<(Guard, u16)> {
    if !has_python() {
        return None;
    }
    let bracketed = if host.contains(':') {
        format!("[{host}]:0")
    } else {
        format!("{host}:0")
    };
    if std::net::TcpListener::bind(bracketed.as_str()).is_err() {
        eprintln!("skipped: this host cannot listen on {host}");
        return None;
    }
    let script = format!(
        "import socket,time,subprocess\n\
         s=socket.socket(socket.{family}, socket.SOCK_STREAM)\n\
         s.bind(('{host}', 0))\n\
         s.listen()\n\
         {extra}\n\
         print(s.getsockname()[1], flush=True)\n\
         time.sleep(60)\n"
    );
    let child = Command::new("python3")
        .args([
            "-c",
            &script,
            "--served-model-name",
            "test-model",
            "--api-key",
            "plain-key",
        ])
        .env("MODEL_NAME", "x")
        .env("HF_TOKEN", TOKEN)
        .env("CUDA_VISIBLE_DEVICES", "0,1")
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => panic!("could not start python3: {error}"),
    };
    let stdout = child.stdout.take();
    let guard = Guard(child);
    let mut line = String::new();
    if let Some(stdout) = stdout {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    match line.trim().parse::<u16>() {
        Ok(port) => Some((guard, port)),
        Err(_) => panic!("the listener printed {line:?} instead of its port"),
    }
}

/// The one server the test asked about.
fn first(snapshot: &HostSnapshot) -> Observed<ServingProcess> {
    match snapshot.servers.as_slice() {
        [server] => server.candidates.clone().map(|mut c| match c.len() {
            1 => c.remove(0).process,
            n => panic!("expected one candidate, got {n}: {c:?}"),
        }),
        other => panic!("expected one server, got {other:?}"),
    }
}

fn serving(snapshot: &HostSnapshot) -> ServingProcess {
    match first(snapshot) {
        Observed::Ok { value } => value,
        other => panic!("no serving process: {other:?}"),
    }
}

fn by_port(port: u16) -> HostProbeOptions {
    HostProbeOptions {
        servers: vec![ServerQuery {
            port: Some(port),
            declared_env: vec!["MODEL_NAME".into(), "HF_TOKEN".into()],
            ..ServerQuery::default()
        }],
        ..HostProbeOptions::default()
    }
}

#[test]
fn finds_loopback_listener_with_argv_and_safe_environment() {
    let Some((guard, port)) = listener("AF_INET", "127.0.0.1", "") else {
        return;
    };
    let snapshot = probe(&by_port(port));
    let json = match serde_json::to_string(&snapshot) {
        Ok(json) => json,
        Err(error) => panic!("serialize: {error}"),
    };
    assert!(!json.contains(TOKEN), "the token leaked: {json}");
    assert!(!json.contains("hf_abc"), "the token leaked: {json}");

    let process = serving(&snapshot);
    assert_eq!(process.pid, guard.0.id());
    assert_eq!(
        process.found_by,
        FoundBy::Port {
            port,
            addresses: vec![format!("127.0.0.1:{port}")],
            holders: vec![guard.0.id()],
        }
    );
    let argv = process.argv.value().cloned().unwrap_or_default();
    assert!(argv.first().is_some_and(|a| a.contains("python")), "{argv:?}");
    assert_eq!(argv.get(1).map(String::as_str), Some("-c"));
    assert_eq!(
        argv.get(3..).unwrap_or_default(),
        ["--served-model-name", "test-model", "--api-key", "<redacted>"]
    );
    assert!(!json.contains("plain-key"), "the api key leaked: {json}");
    assert!(process.name.value().is_some_and(|name| name.starts_with("python")));
    assert!(process.exe.is_ok() && process.cwd.is_ok() && process.started_at.is_ok());
    assert_eq!(process.parent_pid.value().copied(), Some(std::process::id()));

    let Some(environment) = process.environment.value() else {
        panic!("environment: {:?}", process.environment);
    };
    assert_eq!(environment.cuda_visible_devices.as_deref(), Some("0,1"));
    for name in ["MODEL_NAME", "HF_TOKEN", "CUDA_VISIBLE_DEVICES"] {
        assert!(environment.names.iter().any(|n| n == name), "{name} missing");
    }
    assert_eq!(environment.values.get("MODEL_NAME").map(String::as_str), Some("x"));
    assert_eq!(
        environment.values.get("HF_TOKEN").map(String::as_str),
        Some("<redacted>")
    );
    let limits = snapshot
        .servers
        .first()
        .and_then(|s| s.candidates().first())
        .and_then(|c| c.limits.as_ref());
    assert_eq!(limits.map(|l| l.pid), Some(guard.0.id()));
    assert_eq!(
        snapshot.limits.pid,
        std::process::id(),
        "the node-level limits are the probe's own"
    );
}

#[test]
fn finds_listeners_on_every_address_kind() {
    for (family, host, shown) in [
        ("AF_INET", "0.0.0.0", "0.0.0.0"),
        ("AF_INET6", "::1", "[::1]"),
        ("AF_INET6", "::", "[::]"),
    ] {
        let Some((guard, port)) = listener(family, host, "") else {
            continue;
        };
        let process = serving(&probe(&by_port(port)));
        assert_eq!(process.pid, guard.0.id(), "{host}");
        let FoundBy::Port { addresses, .. } = &process.found_by else {
            panic!("{:?}", process.found_by);
        };
        assert_eq!(addresses, &[format!("{shown}:{port}")], "{host}");
    }
}

#[test]
fn lists_the_process_tree() {
    // The listener starts `sh`, which starts `sleep` (`; true` keeps sh from exec'ing it).
    let Some((guard, port)) = listener(
        "AF_INET",
        "127.0.0.1",
        "subprocess.Popen(['sh', '-c', 'sleep 60; true'])",
    ) else {
        return;
    };
    let parent = guard.0.id();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let process = serving(&probe(&by_port(port)));
        let children = process.children.value().cloned().unwrap_or_default();
        let shell = children.iter().find(|c| c.parent_pid == parent && c.name == "sh");
        let sleeper = shell.and_then(|shell| children.iter().find(|c| c.parent_pid == shell.pid && c.name == "sleep"));
        // A process caught mid-exec has its new `comm` but no command line yet: poll again.
        if let (Some(shell), Some(sleeper)) = (shell, sleeper)
            && !sleeper.argv.is_empty()
            && shell.argv.len() == 3
        {
            assert_eq!(shell.argv, ["sh", "-c", "sleep 60; true"]);
            assert_eq!(sleeper.argv, ["sleep", "60"]);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tree never showed sh and sleep: {children:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP socket bound to a free loopback port but not listening: it keeps the kernel from
/// handing the port to a listener of a concurrent test, so "nothing listens" stays true.
struct BoundNotListening {
    fd: i32,
    port: u16,
}

impl BoundNotListening {
    fn new() -> BoundNotListening {
        // SAFETY: plain socket calls on a zeroed sockaddr_in we own; the fd is closed on drop.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let mut address: libc::sockaddr_in = std::mem::zeroed();
            address.sin_family = libc::AF_INET as libc::sa_family_t;
            address.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let rc = libc::bind(fd, (&raw const address).cast(), size);
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            let mut length = size;
            let rc = libc::getsockname(fd, (&raw mut address).cast(), &mut length);
            assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
            BoundNotListening {
                fd,
                port: u16::from_be(address.sin_port),
            }
        }
    }
}

impl Drop for BoundNotListening {
    fn drop(&mut self) {
        // SAFETY: closes the fd this guard opened.
        unsafe {
            libc::close(self.fd);
        }
    }
}

#[test]
fn a_port_nobody_listens_on_is_absent() {
    let bound = BoundNotListening::new();
    let port = bound.port;
    let snapshot = probe(&by_port(port));
    let found = first(&snapshot);
    assert!(found.is_absent(), "{found:?}");
    let reason = found.reason().unwrap_or_default();
    assert!(
        reason.starts_with(&format!("nothing listens on port {port} in any of the node's ")),
        "{reason}"
    );
    drop(bound);
}

#[test]
fn by_pid_and_missing_pid() {
    let me = std::process::id();
    let snapshot = probe(&HostProbeOptions {
        servers: vec![ServerQuery {
            pid: Some(me),
            ..ServerQuery::default()
        }],
        storage_paths: vec![std::env::temp_dir(), std::env::temp_dir()],
    });
    assert_eq!(serving(&snapshot).found_by, FoundBy::Pid);
    assert_eq!(snapshot.storage.len(), 1, "the same path is measured once");
    assert!(snapshot.storage.iter().all(|s| s.facts.is_ok()));
    let snapshot = probe(&HostProbeOptions {
        servers: vec![ServerQuery {
            pid: Some(u32::MAX - 7),
            ..ServerQuery::default()
        }],
        ..HostProbeOptions::default()
    });
    assert!(first(&snapshot).is_absent());
    assert_eq!(snapshot.servers.first().map(|s| s.candidates().is_empty()), Some(true));
    assert_eq!(snapshot.limits.pid, me);
}

#[test]
fn a_named_pid_is_checked_against_who_holds_the_port() {
    let Some((guard, port)) = listener("AF_INET", "127.0.0.1", "") else {
        return;
    };
    let snapshot = probe(&HostProbeOptions {
        servers: vec![ServerQuery {
            pid: Some(std::process::id()),
            port: Some(port),
            ..ServerQuery::default()
        }],
        ..HostProbeOptions::default()
    });
    // The named process is described, and the port's real holder is reported beside it.
    assert_eq!(serving(&snapshot).pid, std::process::id());
    let listener = snapshot.servers.first().and_then(|s| s.port_listener.clone());
    let Some(Observed::Ok { value }) = listener else {
        panic!("port listener: {listener:?}");
    };
    assert_eq!(value.pid, Some(guard.0.id()));
    assert_eq!(value.holders, [guard.0.id()]);
    assert!(value.name.is_some_and(|n| n.starts_with("python")));
}
