//! Running `modelspec scan` against a hostile server and checking what every case must hold:
//! the scan ends within `--timeout` plus a second, its peak memory stays under
//! [`MAX_PEAK_RSS_BYTES`], the GPU findings are what they are with a well-behaved endpoint, and
//! no endpoint or engine finding passes on data the server did not really give.
//!
//! The scan runs as a child process, as a user runs it, so its wall time and peak RSS are the
//! real ones: the time is measured around the child, the peak is the kernel's own accounting
//! (`ru_maxrss` from `wait4`), not a sample that could miss a spike.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::server::{Behaviour, Server, serve};
use crate::support::{Cmd, fake_nvml};

/// The `--timeout` every case scans with: long enough for a loaded two-core machine to start
/// the binary and probe NVML, short enough that a dozen cases fit the suite's minute.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// What the scan may take beyond `--timeout`: the README's promise.
pub const GRACE: Duration = Duration::from_secs(1);

/// The most a scan may use at its peak, whatever the server sends. A well-behaved scan of a
/// debug build peaks around 20 MiB; what a hostile server can add is bounded by the caps:
/// 8 MiB per JSON answer (8 requests in flight), one 64 MiB metrics page and what parsing it
/// keeps. 256 MiB leaves room for that and for the allocator, and is still far below what an
/// unbounded read (a 2 GB body, a gzip bomb inflating to gigabytes) would take.
pub const MAX_PEAK_RSS_BYTES: u64 = 256 << 20;

/// If a scan has not ended by then it is killed, so a hang fails the case instead of the suite.
const KILL_AFTER: Duration = Duration::from_secs(20);

/// The GPU profile of every case: one L4, as the spec declares.
const GPU_PROFILE: &str = "l4-x1";

/// Findings whose data comes from NVML, not from the endpoint.
pub const GPU_DOMAINS: &[&str] = &["accelerator", "health"];

/// The spec of every case: a vLLM serving `tiny-llama` on one L4 with a readiness probe and
/// metrics on, so identity, batch, serving and metrics findings all depend on the endpoint.
pub fn spec(port: u16, framework: &str) -> String {
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: hostile
spec:
  identity:
    model: {{id: tiny-llama, family: llama, task: text-generation, framework: {framework}}}
  runtime:
    accelerator: {{vendor: nvidia, type: l4, count: 1}}
    batch: {{maxSequenceLengthTokens: 1024}}
  operations:
    serving:
      protocol: http
      port: {port}
      readinessProbe: {{path: /health, timeoutSeconds: 1}}
    observability: {{metrics: {{enabled: true}}}}
"
    )
}

/// What one scan did.
pub struct Scan {
    pub report: Json,
    pub wall: Duration,
    pub peak_rss_bytes: u64,
    pub exit: Option<i32>,
    pub stderr: String,
}

impl Scan {
    /// The finding with this code (the first, when a code repeats).
    pub fn finding(&self, code: &str) -> &Json {
        self.findings()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("no finding {code} in {:#}", self.report["specs"][0]["findings"]))
    }

    pub fn findings(&self) -> &[Json] {
        self.report["specs"][0]["findings"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Asserts the finding is `unknown` or `fail` and its message names the cause (any of
    /// `causes`, case-insensitive).
    pub fn refused(&self, code: &str, causes: &[&str]) {
        let finding = self.finding(code);
        let status = finding["status"].as_str().unwrap_or_default();
        assert!(
            status == "unknown" || status == "fail",
            "{code} must be unknown or fail, not {status}: {finding:#}"
        );
        let message = finding["message"].as_str().unwrap_or_default().to_lowercase();
        // Printed so a run shows what a user would read (`--nocapture`).
        eprintln!(
            "[hostile]   {code}: {status}: {}",
            message.chars().take(300).collect::<String>()
        );
        assert!(
            causes.iter().any(|cause| message.contains(&cause.to_lowercase())),
            "{code}'s message must name the cause ({causes:?}): {message}"
        );
    }
}

/// Scans `spec_text` with the extra arguments (`--endpoint URL`, ...) and checks the invariants
/// every case shares: the wall time, the peak RSS, the exit code, the GPU findings.
pub fn scan(case: &str, spec_text: &str, extra: &[&str]) -> Scan {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let scan = run(dir.path(), spec_text, extra);
    eprintln!(
        "[hostile] {case}: wall {:.2} s, peak RSS {:.1} MiB, exit {:?}",
        scan.wall.as_secs_f64(),
        scan.peak_rss_bytes as f64 / (1 << 20) as f64,
        scan.exit
    );
    assert!(
        scan.wall < TIMEOUT + GRACE,
        "{case}: the scan took {:?} with --timeout {:?}",
        scan.wall,
        TIMEOUT
    );
    assert!(
        scan.peak_rss_bytes < MAX_PEAK_RSS_BYTES,
        "{case}: peak RSS {} bytes, over the bound of {MAX_PEAK_RSS_BYTES}",
        scan.peak_rss_bytes
    );
    // 0 or 1 (drift); 2 would be an internal error, none a crash or the watchdog's kill.
    assert!(
        matches!(scan.exit, Some(0 | 1)),
        "{case}: exit {:?}; stderr: {}",
        scan.exit,
        scan.stderr
    );
    gpu_findings_unaffected(case, &scan);
    scan
}

/// Asserts that no finding outside the GPU domains passes, except the codes named: the cases
/// serve nothing that could honestly make them pass.
pub fn nothing_passes_but(scan: &Scan, allowed: &[&str]) {
    for finding in scan.findings() {
        let domain = finding["domain"].as_str().unwrap_or_default();
        let code = finding["code"].as_str().unwrap_or_default();
        // Which process serves the port is read from /proc, not from what the server says.
        if GPU_DOMAINS.contains(&domain) || allowed.contains(&code) || code == "workload-match" {
            continue;
        }
        assert_ne!(
            finding["status"], "pass",
            "{code} passed on data the server did not give: {finding:#}"
        );
    }
}

/// The GPU findings with a well-behaved endpoint (computed once): every case must leave them as
/// they are.
fn baseline() -> &'static Vec<(String, String)> {
    static BASELINE: OnceLock<Vec<(String, String)>> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let server = well_behaved();
        let dir = tempfile::tempdir().expect("a scratch directory");
        let scan = run(dir.path(), &spec(server.port(), "vllm"), &[]);
        let gpu = gpu_statuses(&scan);
        assert!(
            gpu.iter()
                .any(|(code, status)| code.starts_with("accelerator-type/") && status == "pass"),
            "the baseline must see the L4: {gpu:?}"
        );
        assert_eq!(
            scan.finding("model-id")["status"],
            "pass",
            "the well-behaved server must pass"
        );
        gpu
    })
}

fn gpu_findings_unaffected(case: &str, scan: &Scan) {
    assert_eq!(
        &gpu_statuses(scan),
        baseline(),
        "{case}: the GPU findings changed with a hostile endpoint"
    );
}

fn gpu_statuses(scan: &Scan) -> Vec<(String, String)> {
    scan.findings()
        .iter()
        .filter(|f| GPU_DOMAINS.contains(&f["domain"].as_str().unwrap_or_default()))
        .map(|f| {
            (
                format!(
                    "{}{}",
                    f["code"].as_str().unwrap_or_default(),
                    f["pointer"].as_str().unwrap_or_default()
                ),
                f["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A vLLM that answers like the real one: the baseline's endpoint.
pub fn well_behaved() -> Server {
    serve(|path| match path {
        "/v1/models" => Behaviour::json(
            200,
            r#"{"object":"list","data":[{"id":"tiny-llama","object":"model","owned_by":"vllm","root":"tiny-llama","max_model_len":1024}]}"#,
        ),
        "/health" => Behaviour::json(200, ""),
        "/version" => Behaviour::json(200, r#"{"version":"0.32.0"}"#),
        "/metrics" => Behaviour::with_type(
            200,
            "text/plain; version=0.0.4",
            "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"tiny-llama\"} 0\n",
        ),
        _ => Behaviour::not_found(),
    })
}

fn run(dir: &Path, spec_text: &str, extra: &[&str]) -> Scan {
    let spec_path = dir.join("spec.modelspec.yaml");
    std::fs::write(&spec_path, spec_text).expect("write the spec");
    let lib: PathBuf = fake_nvml();
    let profile = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/gpus")
        .join(format!("{GPU_PROFILE}.json"));
    let timeout = format!("{}s", TIMEOUT.as_secs());
    let started = Instant::now();
    let mut child = Cmd::new()
        .arg("scan")
        .arg(&spec_path)
        .args(["--format", "json", "--no-facts", "--timeout", &timeout, "--nvml-lib"])
        .arg(&lib)
        .args(extra)
        .current_dir(dir)
        .fake_nvml_profile(&profile)
        .spawn();
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = err.read_to_end(&mut bytes);
        bytes
    });
    // The watchdog kills a hung scan; `done` tells it the child was reaped (so it never signals
    // a recycled pid).
    let (done, reaped) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if reaped.recv_timeout(KILL_AFTER).is_err() {
            // SAFETY: plain syscall; the child has not been reaped yet (no message came).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value to be overwritten by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers to locals.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    let _ = done.send(());
    let _ = watchdog.join();
    assert_eq!(rc, pid, "wait4 failed: {}", std::io::Error::last_os_error());
    // The child is reaped; std's handle must not wait on it again.
    std::mem::forget(child);
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned();
    let exit = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let report = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "the report is not JSON ({e}); exit {exit:?}, wall {wall:?}; stderr: {stderr}; stdout begins: {}",
            String::from_utf8_lossy(&stdout[..stdout.len().min(2000)])
        )
    });
    Scan {
        report,
        wall,
        // ru_maxrss is in KiB on Linux.
        peak_rss_bytes: (usage.ru_maxrss as u64) * 1024,
        exit,
        stderr,
    }
}
