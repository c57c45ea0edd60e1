//! Real containers for end-to-end tests: rootful podman + runc, no image registry.
//!
//! Follows the verified recipe in `../shared/containers/` (its README): a rootfs with Debian's
//! python3 (`build-rootfs.sh`) is imported as an image, `localhost/modelspec-test-engine:<pid>`,
//! with the vLLM imitation `tests/support/engine.py` installed as `/srv/vllm`. Each [`Engine`]
//! starts one container running `/srv/vllm serve MODEL --port 8000 ...` in its own network
//! namespace and cgroup, optionally published on `127.0.0.1:<host port>`.
//!
//! Everything is removed again: a container when its [`Container`] is dropped; the image,
//! netavark's leftover iptables chains and `net.ipv4.ip_forward` (back to its value before the
//! first container) when the last container of the process is gone, or on [`cleanup`]. A later
//! container in the same process builds the image again. Chains and `ip_forward` stay while any
//! other container (someone else's) exists: it needs them.
//!
//! Test traffic goes only to 127.0.0.1 and to the containers' own addresses; the engine sends
//! nothing.
//!
//! Reach it as `support::containers` (with `mod support;`) and gate each test on [`require`].
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The port the engine listens on inside every container.
pub const ENGINE_PORT: u16 = 8000;
/// The engine's path inside the image.
pub const ENGINE_PATH: &str = "/srv/vllm";
/// The max-model-len an [`Engine`] passes unless told otherwise (the imitation's default too).
pub const DEFAULT_MAX_MODEL_LEN: u32 = 4096;

const IMAGE_REPO: &str = "localhost/modelspec-test-engine";
/// Container names are `modelspec-test-<pid>-<n>`, so leftovers of a killed run can be told apart.
const NAME_PREFIX: &str = "modelspec-test-";
/// Rootfs folders under the temp dir are `modelspec-test-rootfs-<pid>-<random>`.
const ROOTFS_PREFIX: &str = "modelspec-test-rootfs-";
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
const READY_WITHIN: Duration = Duration::from_secs(30);

/// `../shared/containers`, next to the repository.
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/containers")
}

fn engine_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/engine.py")
}

/// A program on PATH, or in the sbin folders a non-login PATH may lack.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// What the harness needs and this machine lacks.
fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    // /proc/self belongs to the effective uid.
    if !std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        missing.push("root (rootful podman, iptables, ip_forward)".to_owned());
    }
    for program in ["podman", "runc", "ip", "iptables", "tar"] {
        if tool(program).is_none() {
            missing.push(program.to_owned());
        }
    }
    // build-rootfs.sh copies this exact interpreter into the image.
    if !Path::new("/usr/bin/python3.11").is_file() {
        missing.push("/usr/bin/python3.11 (Debian's python3)".to_owned());
    }
    for file in ["build-rootfs.sh", "containers.conf"] {
        if !shared().join(file).is_file() {
            missing.push(format!("{}", shared().join(file).display()));
        }
    }
    missing
}

/// Whether real containers can run here. When something is missing: under `CI=true` panics
/// saying what (a skip would hide a lost test); elsewhere prints `skipped: <why>` to stderr and
/// returns false. `what` names the test for the message.
pub fn require(what: &str) -> bool {
    let missing = missing();
    if missing.is_empty() {
        return true;
    }
    let why = format!("{what} needs real containers; missing: {}", missing.join(", "));
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{why}. .ci/run installs podman, runc (--no-install-recommends) and iproute2 in its \
             \"podman + runc\" step; run it as root, next to ../shared/containers"
        );
    }
    eprintln!("skipped: {why}");
    false
}

/// A free TCP port on 127.0.0.1 for a published host port (free when asked; podman binds it).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// `podman`, with the recipe's containers.conf (runc, low ulimits) and no stdin.
fn podman() -> Command {
    let mut cmd = Command::new("podman");
    cmd.env("CONTAINERS_CONF", shared().join("containers.conf"))
        .stdin(Stdio::null());
    cmd
}

/// Runs a command to its end: its trimmed stdout, or what failed with its stderr.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?} did not start: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a command for its effect, silently, whatever happens (cleanup of what may be gone).
fn quietly(cmd: &mut Command) {
    let _ = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// What the process holds: the image, how many containers live, `ip_forward` before the first.
struct State {
    image: Option<String>,
    live: usize,
    ip_forward_before: Option<String>,
}

static STATE: Mutex<State> = Mutex::new(State {
    image: None,
    live: 0,
    ip_forward_before: None,
});
static SERIAL: AtomicUsize = AtomicUsize::new(0);

/// The state, also after a test panicked while holding it.
fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Builds the rootfs, installs the engine as `/srv/vllm` and imports it as `tag`.
fn build_image(tag: &str) -> Result<(), String> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{ROOTFS_PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| format!("tempdir: {e}"))?;
    let rootfs = dir.path().join("rootfs");
    run(Command::new("sh")
        .arg(shared().join("build-rootfs.sh"))
        .arg(&rootfs)
        .stdin(Stdio::null()))?;
    let engine = rootfs.join(ENGINE_PATH.trim_start_matches('/'));
    std::fs::copy(engine_source(), &engine).map_err(|e| format!("copy engine.py: {e}"))?;
    std::fs::set_permissions(&engine, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", engine.display()))?;
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("tar: {e}"))?;
    let stream = tar.stdout.take().ok_or("tar has no stdout")?;
    let imported = run(podman()
        .args(["import", "--change", "WORKDIR /srv", "-", tag])
        .stdin(stream));
    let tarred = tar.wait().map_err(|e| format!("tar: {e}"))?;
    imported?;
    if !tarred.success() {
        return Err(format!("tar -C {} failed ({tarred})", rootfs.display()));
    }
    Ok(())
}

/// Whether a name or tag carries the pid of a test process that is gone.
fn of_dead_process(pid: &str) -> bool {
    pid.parse::<u32>()
        .is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes containers, images and rootfs folders left by test processes that were killed before
/// cleaning up.
fn prune_stale() {
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix(ROOTFS_PREFIX)?.split('-').next());
            if pid.is_some_and(of_dead_process) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    if let Ok(names) = run(podman().args(["ps", "-a", "--format", "{{.Names}}"])) {
        for name in names.lines() {
            let pid = name.strip_prefix(NAME_PREFIX).and_then(|rest| rest.split('-').next());
            if pid.is_some_and(of_dead_process) {
                quietly(podman().args(["rm", "-f", "-t", "0", name]));
            }
        }
    }
    if let Ok(images) = run(podman().args(["images", "--format", "{{.Repository}}:{{.Tag}}"])) {
        for image in images.lines() {
            let pid = image.strip_prefix(IMAGE_REPO).and_then(|t| t.strip_prefix(':'));
            if pid.is_some_and(of_dead_process) {
                quietly(podman().args(["rmi", "-f", image]));
            }
        }
    }
}

/// One live container's share in the image and the host's network setup: the last one to go
/// cleans up.
#[derive(Debug)]
struct Ticket {
    image: String,
}

impl Ticket {
    fn take() -> Ticket {
        let mut st = state();
        if st.live == 0 && st.ip_forward_before.is_none() {
            st.ip_forward_before = std::fs::read_to_string(IP_FORWARD).ok().map(|v| v.trim().to_owned());
        }
        let image = match &st.image {
            Some(image) => image.clone(),
            None => {
                prune_stale();
                let tag = format!("{IMAGE_REPO}:{}", std::process::id());
                if let Err(e) = build_image(&tag) {
                    quietly(podman().args(["rmi", "-f", &tag]));
                    panic!("building the test image {tag}: {e}");
                }
                st.image = Some(tag.clone());
                tag
            }
        };
        st.live += 1;
        Ticket { image }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut st = state();
        st.live = st.live.saturating_sub(1);
        if st.live == 0 {
            clean(&mut st);
        }
    }
}

/// Removes this process's containers and image and netavark's leftovers; idempotent and quiet.
/// Containers still held are removed too (their drop then finds them gone).
pub fn cleanup() {
    let mut st = state();
    let mine = format!("{NAME_PREFIX}{}-", std::process::id());
    if let Ok(names) = run(podman().args(["ps", "-a", "--format", "{{.Names}}"])) {
        for name in names.lines().filter(|n| n.starts_with(&mine)) {
            quietly(podman().args(["rm", "-f", "-t", "0", name]));
        }
    }
    clean(&mut st);
}

fn clean(st: &mut State) {
    if let Some(image) = st.image.take() {
        quietly(podman().args(["rmi", "-f", &image]));
    }
    // Another container (not ours) still needs the chains and forwarding.
    if !matches!(run(podman().args(["ps", "-a", "-q"])).as_deref(), Ok("")) {
        return;
    }
    netavark_leftovers();
    if let Some(before) = st.ip_forward_before.take() {
        let now = std::fs::read_to_string(IP_FORWARD).ok().map(|v| v.trim().to_owned());
        if now.as_deref() != Some(before.as_str()) {
            let _ = std::fs::write(IP_FORWARD, format!("{before}\n"));
        }
    }
}

/// What ../shared/containers/cleanup.sh does, for every chain netavark made: netavark leaves
/// its base chains behind (`NETAVARK-HOSTPORT-*`, `NETAVARK_FORWARD`) and at times a network's
/// `NETAVARK-DN-<hash>` (seen after two containers, one published). Jumps into them from the
/// built-in chains go first (by rule number, from the last), then the chains.
fn netavark_leftovers() {
    let iptables = |table: &str, args: &[&str]| run(Command::new("iptables").args(["-w", "-t", table]).args(args));
    for table in ["nat", "filter"] {
        let Ok(rules) = iptables(table, &["-S"]) else {
            continue;
        };
        let builtin = rules
            .lines()
            .filter_map(|l| l.strip_prefix("-P ")?.split_whitespace().next());
        for chain in builtin {
            let Ok(listed) = iptables(table, &["-S", chain]) else {
                continue;
            };
            let jumps: Vec<usize> = (1..)
                .zip(listed.lines().filter(|l| l.starts_with("-A ")))
                .filter(|(_, rule)| rule.contains(" -j NETAVARK"))
                .map(|(n, _)| n)
                .collect();
            for n in jumps.iter().rev() {
                let _ = iptables(table, &["-D", chain, &n.to_string()]);
            }
        }
        let chains: Vec<&str> = rules
            .lines()
            .filter_map(|l| l.strip_prefix("-N "))
            .filter(|c| c.starts_with("NETAVARK"))
            .collect();
        for flag in ["-F", "-X"] {
            for chain in &chains {
                let _ = iptables(table, &[flag, chain]);
            }
        }
    }
}

/// A container to start: the vLLM imitation serving `model` on port 8000.
#[derive(Clone, Debug)]
pub struct Engine {
    model: String,
    max_model_len: u32,
    publish: Option<u16>,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

impl Engine {
    pub fn new(model: &str) -> Engine {
        Engine {
            model: model.to_owned(),
            max_model_len: DEFAULT_MAX_MODEL_LEN,
            publish: None,
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// `--max-model-len` on the command line (and in `/v1/models`).
    pub fn max_model_len(mut self, n: u32) -> Engine {
        self.max_model_len = n;
        self
    }

    /// Publishes the engine as `127.0.0.1:<host_port>` (`-p 127.0.0.1:<host_port>:8000`).
    pub fn publish(mut self, host_port: u16) -> Engine {
        self.publish = Some(host_port);
        self
    }

    /// An environment variable of the container (`-e KEY=VALUE`).
    pub fn env(mut self, key: &str, value: &str) -> Engine {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// More arguments after `serve MODEL --port 8000 --max-model-len N`, e.g.
    /// `--max-num-seqs`, `64`; vLLM flags the imitation does not know are accepted and ignored.
    pub fn arg(mut self, arg: &str) -> Engine {
        self.args.push(arg.to_owned());
        self
    }

    /// The container's command line after the image name.
    pub fn command(&self) -> Vec<String> {
        let mut argv: Vec<String> = [ENGINE_PATH, "serve", &self.model, "--port"]
            .map(str::to_owned)
            .to_vec();
        argv.push(ENGINE_PORT.to_string());
        argv.push("--max-model-len".to_owned());
        argv.push(self.max_model_len.to_string());
        argv.extend(self.args.iter().cloned());
        argv
    }

    /// Starts the container and waits (bounded) until the engine answers on its address.
    /// Panics saying what failed, after removing what it started.
    pub fn start(self) -> Container {
        let ticket = Ticket::take();
        let name = format!(
            "{NAME_PREFIX}{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let mut cmd = podman();
        cmd.args(["run", "-d", "--runtime", "runc"])
            .args(["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"])
            .args(["--name", &name]);
        if let Some(port) = self.publish {
            cmd.arg("-p").arg(format!("127.0.0.1:{port}:{ENGINE_PORT}"));
        }
        for (key, value) in &self.env {
            cmd.arg("-e").arg(format!("{key}={value}"));
        }
        cmd.arg(&ticket.image).args(self.command());
        let started = run(&mut cmd);
        // From here on a panic removes the container (by name) and gives the ticket back.
        let mut container = Container {
            name,
            id: String::new(),
            pid: 0,
            ip: Ipv4Addr::UNSPECIFIED,
            published: self.publish.map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p))),
            model: self.model,
            _ticket: ticket,
        };
        if let Err(e) = started {
            panic!("starting container {}: {e}", container.name);
        }
        let format = "{{.Id}} {{.State.Pid}} {{.NetworkSettings.IPAddress}}";
        let inspected = run(podman().args(["inspect", "--format", format, &container.name]))
            .unwrap_or_else(|e| panic!("inspecting {}: {e}", container.name));
        let fields: Vec<&str> = inspected.split_whitespace().collect();
        let [id, pid, ip] = fields[..] else {
            panic!("podman inspect {} gave {inspected:?}, not `id pid ip`", container.name);
        };
        assert!(
            id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "container id {id:?} is not 64 hex digits"
        );
        container.id = id.to_owned();
        container.pid = pid
            .parse()
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or_else(|| panic!("container {} has pid {pid:?}", container.name));
        container.ip = ip
            .parse()
            .unwrap_or_else(|_| panic!("container {} has address {ip:?}", container.name));
        container.wait_ready();
        container
    }
}

/// A running container with the engine imitation; removed on drop.
#[derive(Debug)]
pub struct Container {
    /// `modelspec-test-<pid>-<n>`.
    pub name: String,
    /// 64 hex digits, as in the cgroup path `/libpod_parent/libpod-<id>`.
    pub id: String,
    /// Host pid of the container's process (the engine; `podman inspect {{.State.Pid}}`).
    pub pid: u32,
    /// The container's address in podman's network (10.88.0.x).
    pub ip: Ipv4Addr,
    /// `127.0.0.1:<host port>` when published.
    pub published: Option<SocketAddr>,
    /// The model it serves.
    pub model: String,
    _ticket: Ticket,
}

impl Container {
    /// The engine at the container's own address, `ip:8000`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, ENGINE_PORT))
    }

    /// What the container printed (`podman logs`), for failure messages.
    pub fn logs(&self) -> String {
        run(podman().args(["logs", &self.name])).unwrap_or_else(|e| e)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + READY_WITHIN;
        let mut last = String::from("not asked yet");
        while Instant::now() < deadline {
            if !Path::new(&format!("/proc/{}", self.pid)).exists() {
                panic!("container {} exited before serving; logs:\n{}", self.name, self.logs());
            }
            match http_get(self.addr(), "/v1/models") {
                Ok((200, body)) if body.contains(&self.model) => return,
                Ok((status, body)) => last = format!("HTTP {status}: {body}"),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "container {} did not answer on {} within {READY_WITHIN:?} (last: {last}); logs:\n{}",
            self.name,
            self.addr(),
            self.logs()
        );
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        quietly(podman().args(["rm", "-f", "-t", "0", &self.name]));
        // The ticket goes after this: the last one cleans up.
    }
}

/// A plain HTTP/1.1 GET (`Connection: close`): the status and the body. Only for 127.0.0.1 and
/// the test's own containers.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let timeout = Duration::from_secs(5);
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("timeouts: {e}"))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{addr}{path}: no end of headers in {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{addr}{path}: no status in {head:?}"))?;
    Ok((status, body.to_owned()))
}
