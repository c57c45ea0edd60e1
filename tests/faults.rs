//! Hardware, host, signal and disk faults, end to end: `modelspec scan` as a child process
//! against the fake NVML (`probes/fake-nvml`, profiles edited from `fixtures/gpus/`) and real
//! test processes (listeners, zombies, processes of another user).
//!
//! Every test asserts the same two things besides its own: the scan survives (exit 0 or 1, never
//! a panic or a signal) and nothing the fault hid is reported as `pass`; the findings it hid are
//! `unknown` or `fail` with a message naming the cause.
//!
//! Tests that need root (another uid, a tmpfs) skip with a message without it; under `CI=true`
//! as root a missing tool is a failure, not a skip, so CI cannot silently stop testing them.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

mod support;
use support::{Cmd, NO_NVML, fake_nvml, root, stderr};

const SPEC: &str = "spec.modelspec.yaml";

fn is_root() -> bool {
    // /proc/self belongs to the effective uid.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Skips with a message, except under CI=true as root, where the skip would hide a lost test.
fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") && is_root() {
        panic!("CI=true and running as root, yet: {why}");
    }
    eprintln!("skipped: {why}");
}

/// A spec declaring 8 NVIDIA H100s with bf16 and, optionally, a serving port and environment.
fn spec_yaml(port: Option<u16>) -> String {
    let serving = port
        .map(|p| {
            format!(
                "    environment:
      variables:
        FAULTS_KNOB: \"on\"
  operations:
    serving: {{protocol: http, port: {p}}}
"
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: faults
spec:
  identity:
    model: {{id: m, family: f, task: chat-completion, framework: tgi, precision: bf16}}
  runtime:
    accelerator: {{vendor: nvidia, type: h100, count: 8}}
{serving}"
    )
}

/// A scratch directory with `spec.modelspec.yaml` in it.
fn scratch(port: Option<u16>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(SPEC), spec_yaml(port)).expect("write spec");
    dir
}

/// Writes `fixtures/gpus/BASE.json` after `edit` into `dir` and answers its path.
fn edited_profile(dir: &Path, base: &str, edit: impl FnOnce(&mut Json)) -> PathBuf {
    let text = std::fs::read_to_string(root().join("fixtures/gpus").join(format!("{base}.json"))).expect("profile");
    let mut profile: Json = serde_json::from_str(&text).expect("profile JSON");
    edit(&mut profile);
    let path = dir.join("profile.json");
    std::fs::write(&path, profile.to_string()).expect("write profile");
    path
}

fn lib() -> String {
    fake_nvml().to_str().expect("UTF-8 path").to_owned()
}

/// `modelspec ARGS` in `cwd`, with the fake answering from `profile` when given.
fn modelspec(cwd: &Path, profile: Option<&Path>, args: &[&str]) -> Cmd {
    let cmd = Cmd::new().args(args).current_dir(cwd);
    match profile {
        Some(p) => cmd.fake_nvml_profile(p),
        None => cmd,
    }
}

/// Asserts the scan neither crashed nor errored and answers its JSON report.
fn survived(o: &Output) -> Json {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "modelspec panicked:\n{err}");
    let code = o.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "modelspec exited {:?} (a signal if None):\n{err}",
        o.status
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n{err}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// `modelspec scan SPEC --format json --nvml-lib LIB EXTRA` in `dir`.
fn scan(dir: &Path, nvml_lib: &str, profile: Option<&Path>, extra: &[&str]) -> Json {
    let mut args = vec![
        "scan",
        SPEC,
        "--nvml-lib",
        nvml_lib,
        "--format",
        "json",
        "--timeout",
        "5s",
    ];
    args.extend_from_slice(extra);
    survived(&modelspec(dir, profile, &args).output())
}

fn findings(report: &Json) -> Vec<&Json> {
    report["specs"][0]["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .collect()
}

fn finding<'a>(report: &'a Json, code: &str) -> &'a Json {
    findings(report)
        .into_iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {:#}", report["specs"]))
}

fn message(f: &Json) -> &str {
    f["message"].as_str().unwrap_or_default()
}

/// Every accelerator and health finding is `unknown` with a reason containing `needle`.
fn gpu_findings_unknown(report: &Json, needle: &str) {
    let gpu: Vec<&Json> = findings(report)
        .into_iter()
        .filter(|f| f["domain"] == "accelerator" || f["domain"] == "health")
        .collect();
    assert!(gpu.len() >= 8, "accelerator and health findings: {:#}", report["specs"]);
    for f in gpu {
        assert_eq!(f["status"], "unknown", "{f:#}");
        assert!(
            message(f).to_lowercase().contains(&needle.to_lowercase()),
            "{needle:?} not in {:?}",
            message(f)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// NVML
// ---------------------------------------------------------------------------------------------

#[test]
fn nvml_missing_or_not_a_library_makes_every_gpu_finding_unknown() {
    let dir = scratch(None);
    let text = dir.path().join("libnvidia-ml.so.1");
    std::fs::write(&text, "this is not a shared object\n").expect("write");
    let cases: [(&str, &str); 4] = [
        (NO_NVML, NO_NVML),
        (text.to_str().expect("UTF-8"), "libnvidia-ml.so.1"),
        ("/dev/null", "/dev/null"),
        // A folder: dlopen answers EISDIR-ish errors.
        (dir.path().to_str().expect("UTF-8"), "library"),
    ];
    for (lib, needle) in cases {
        let report = scan(dir.path(), lib, None, &[]);
        gpu_findings_unknown(&report, needle);
    }
}

#[test]
fn every_init_error_makes_every_gpu_finding_unknown_naming_it() {
    let lib = lib();
    // (profile `init`, words the reason must contain)
    let cases = [
        ("driver_not_loaded", "driver"),
        ("no_permission", "permission"),
        ("lib_rm_version_mismatch", "mismatch"),
        ("library_not_found", "library"),
        ("insufficient_size", "NVML"),
        ("gpu_is_lost", "lost"),
        ("unknown", "NVML"),
    ];
    for (init, needle) in cases {
        let dir = scratch(None);
        let profile = edited_profile(dir.path(), "h100-sxm-x8", |p| p["init"] = Json::from(init));
        let report = scan(dir.path(), &lib, Some(&profile), &[]);
        gpu_findings_unknown(&report, needle);
        assert_eq!(report["summary"]["pass"], 0, "init {init}");
    }
}

/// The GPU falls off the bus after N of its calls: early (during identification), in the
/// middle (memory, processes) and late (health counters). Whichever call first answers
/// GPU_IS_LOST, the GPU is lost: `gpu-lost` fails naming it and it is not counted, so nothing it
/// had not answered yet can pass on its behalf (the other checks judge the GPUs that answer).
/// With a limit it never reaches, everything passes: the assertions can tell.
#[test]
fn a_gpu_lost_in_the_middle_of_the_scan_passes_nothing_it_hid() {
    let lib = lib();
    for after in [0_u32, 1, 3, 6, 10, 15, 20] {
        let dir = scratch(None);
        let profile = edited_profile(dir.path(), "h100-sxm-x8", |p| {
            p["devices"][3]["lost_after_calls"] = Json::from(after);
        });
        let report = scan(dir.path(), &lib, Some(&profile), &[]);
        let lost = finding(&report, "gpu-lost");
        assert_eq!(lost["status"], "fail", "lost after {after} calls: {lost:#}");
        assert_eq!(lost["observed"], serde_json::json!({"lost": [3]}), "{lost:#}");
        let count = finding(&report, "accelerator-count");
        assert_eq!(count["status"], "fail", "lost after {after} calls: {count:#}");
        assert!(message(count).contains("1 lost"), "{count:#}");
        assert_eq!(
            report["observation"]["gpu"]["snapshot"]["nvml"]["devices"][3]["lost"],
            true
        );
    }
    let dir = scratch(None);
    let profile = edited_profile(dir.path(), "h100-sxm-x8", |p| {
        p["devices"][3]["lost_after_calls"] = Json::from(100_000);
    });
    let report = scan(dir.path(), &lib, Some(&profile), &[]);
    assert_eq!(finding(&report, "gpu-lost")["status"], "pass");
    assert_eq!(finding(&report, "accelerator-count")["status"], "pass");
}

#[test]
fn functions_nvml_does_not_support_make_their_findings_unknown() {
    let lib = lib();
    // (functions answering NOT_SUPPORTED on every GPU, findings that depend on them)
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &[
                "nvmlDeviceGetTotalEccErrors",
                "nvmlDeviceGetEccMode",
                "nvmlDeviceGetRetiredPagesPendingStatus",
                "nvmlDeviceGetRemappedRows",
            ],
            &["gpu-memory-errors"],
        ),
        (&["nvmlDeviceGetComputeRunningProcesses"], &["gpu-shared"]),
        (
            &[
                "nvmlDeviceGetPowerUsage",
                "nvmlDeviceGetEnforcedPowerLimit",
                "nvmlDeviceGetPowerManagementLimit",
                "nvmlDeviceGetPowerManagementDefaultLimit",
                "nvmlDeviceGetCurrentClocksThrottleReasons",
            ],
            &["gpu-throttling"],
        ),
    ];
    let me = std::process::id().to_string();
    // Supported, each of these findings is judged: the assertions below can tell.
    let dir = scratch(None);
    // GPU 0 runs this test's process, as a serving process would.
    let mine = serde_json::json!([{"pid": std::process::id(), "used_mib": 1024}]);
    let profile = edited_profile(dir.path(), "h100-sxm-x8", |p| {
        p["devices"][0]["processes"] = mine.clone()
    });
    let all = scan(dir.path(), &lib, Some(&profile), &["--pid", &me]);
    for code in ["gpu-memory-errors", "gpu-throttling"] {
        assert_eq!(finding(&all, code)["status"], "pass", "{:#}", finding(&all, code));
    }
    assert_eq!(
        finding(&all, "gpu-shared")["status"],
        "pass",
        "{:#}",
        finding(&all, "gpu-shared")
    );
    for (functions, codes) in cases {
        let dir = scratch(None);
        let profile = edited_profile(dir.path(), "h100-sxm-x8", |p| {
            p["unsupported"] = serde_json::json!(functions);
            p["devices"][0]["processes"] = mine.clone();
        });
        // A serving process (this test) so that `gpu-shared` has someone to attribute GPUs to.
        let report = scan(dir.path(), &lib, Some(&profile), &["--pid", &me]);
        for code in codes {
            let f = finding(&report, code);
            assert_eq!(f["status"], "unknown", "{functions:?}: {f:#}");
            assert!(message(f).contains("report"), "{functions:?}: {f:#}");
        }
        // What the missing functions do not feed still passes: the fault is contained.
        assert_eq!(finding(&report, "accelerator-type")["status"], "pass");
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and /proc
// ---------------------------------------------------------------------------------------------

/// Kills and reaps the child on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A python3 listener on an ephemeral loopback port, started through `prefix` (e.g. setpriv).
fn listener(prefix: &[&str]) -> Option<(Guard, u16)> {
    let script = "import socket,time;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();\
                  print(s.getsockname()[1],flush=True);time.sleep(60)";
    let (program, args) = match prefix.split_first() {
        Some((first, rest)) => (*first, [rest, &["/usr/bin/python3", "-c", script]].concat()),
        None => ("python3", vec!["-c", script]),
    };
    let mut child = Command::new(program)
        .args(&args)
        .env("FAULTS_KNOB", "on")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let out = child.stdout.take()?;
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).ok()?;
    Some((guard, line.trim().parse().ok()?))
}

fn env_finding(report: &Json) -> &Json {
    findings(report)
        .into_iter()
        .find(|f| f["pointer"] == "/spec/runtime/environment/variables/FAULTS_KNOB")
        .unwrap_or_else(|| panic!("no FAULTS_KNOB finding: {:#}", report["specs"]))
}

fn port_finding(report: &Json) -> &Json {
    findings(report)
        .into_iter()
        .find(|f| f["pointer"] == "/spec/operations/serving/port")
        .unwrap_or_else(|| panic!("no port finding: {:#}", report["specs"]))
}

/// A process that exited between discovery and reading: `--pid` of a child that has exited
/// but not been reaped (a zombie: `/proc/PID` is still there, its environment and executable are
/// gone), and of one that has been reaped (no `/proc/PID` at all).
#[test]
fn a_process_that_exited_before_it_was_read_passes_nothing() {
    let dir = scratch(Some(9));
    let mut child = Command::new("sleep").arg("60").spawn().expect("spawn sleep");
    let pid = child.id().to_string();
    child.kill().expect("kill");
    // Until `wait`, the child is a zombie. Give the kernel a moment to mark it.
    let stat = format!("/proc/{pid}/stat");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&stat).is_ok_and(|s| s.contains(") Z ")) {
        assert!(Instant::now() < deadline, "the child did not become a zombie");
        std::thread::sleep(Duration::from_millis(10));
    }
    let zombie = scan(dir.path(), NO_NVML, None, &["--pid", &pid]);
    let env = env_finding(&zombie);
    assert_eq!(
        env["status"], "unknown",
        "a zombie's environment is gone, not empty: {env:#}"
    );
    assert!(message(env).contains("exited"), "{env:#}");
    assert_ne!(port_finding(&zombie)["status"], "pass");

    child.wait().expect("reap");
    let gone = scan(dir.path(), NO_NVML, None, &["--pid", &pid]);
    for f in [env_finding(&gone), port_finding(&gone)] {
        assert_ne!(f["status"], "pass", "{f:#}");
        assert!(message(f).contains(&pid) || message(f).contains("process"), "{f:#}");
    }
}

/// Runs `modelspec` as uid 65534 through setpriv; `None` (after skipping) when that is not
/// possible here.
fn as_nobody(dir: &Path, args: &[&str]) -> Option<Output> {
    if !is_root() {
        skip("needs root to run a process as another user");
        return None;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        skip("setpriv (util-linux) is not installed");
        return None;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let output = Cmd::via("setpriv", &["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(args)
        .current_dir(dir)
        .try_run()
        .expect("run setpriv");
    Some(output.0)
}

/// /proc entries that cannot be read: the scan runs as `nobody` and the serving process is
/// root's, so its fds (who holds the port) and its environ are closed to the scan.
#[test]
fn unreadable_proc_entries_are_unknown_with_the_permission_hint() {
    let Some((_server, port)) = listener(&[]) else {
        return skip("python3 could not start a listener");
    };
    let dir = scratch(Some(port));
    let port_s = port.to_string();
    let pid = _server.0.id().to_string();
    for by in [["--timeout", "5s"], ["--pid", pid.as_str()]] {
        let mut args = vec!["scan", SPEC, "--nvml-lib", NO_NVML, "--format", "json"];
        args.extend_from_slice(&by);
        let Some(o) = as_nobody(dir.path(), &args) else { return };
        let report = survived(&o);
        let env = env_finding(&report);
        assert_eq!(env["status"], "unknown", "{by:?}: {env:#}");
        assert!(message(env).contains("permission"), "{by:?}: {env:#}");
        assert_ne!(
            port_finding(&report)["status"],
            "fail",
            "{by:?}: the port is listening ({port_s})"
        );
    }
}

/// A port held by a process of another user, scanned as root: found, and judged on what was
/// really read.
#[test]
fn a_port_held_by_another_user_is_found_and_judged() {
    if !is_root() {
        return skip("needs root to start a listener as another user");
    }
    let prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    let Some((_server, port)) = listener(&prefix) else {
        return skip("setpriv or /usr/bin/python3 could not start a listener as nobody");
    };
    let dir = scratch(Some(port));
    let report = scan(dir.path(), NO_NVML, None, &[]);
    let found = port_finding(&report);
    assert_eq!(found["status"], "pass", "{found:#}");
    let server = &report["observation"]["host"]["snapshot"]["servers"][0]["candidates"]["value"][0]["process"];
    assert_eq!(server["user"]["value"]["uid"], 65534, "{server:#}");
    assert_eq!(env_finding(&report)["status"], "pass");
}

// ---------------------------------------------------------------------------------------------
// Signals and files
// ---------------------------------------------------------------------------------------------

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// SIGINT or SIGTERM while NVML hangs in init: exit 128 + signo within a second or two, the
/// previous report untouched, no temporary file beside it.
#[test]
fn sigint_and_sigterm_stop_a_scan_promptly_and_leave_no_temp_file() {
    let lib = lib();
    for (signal, expected) in [("INT", 130), ("TERM", 143)] {
        let dir = scratch(None);
        let profile = edited_profile(dir.path(), "h100-sxm-x8", |p| p["init_delay_ms"] = Json::from(60_000));
        let report = dir.path().join("report.json");
        std::fs::write(&report, b"previous report").expect("write");
        let args = [
            "scan",
            SPEC,
            "--nvml-lib",
            &lib,
            "--timeout",
            "120s",
            "-o",
            "json=report.json",
        ];
        let mut child = modelspec(dir.path(), Some(&profile), &args).spawn();
        // Let it reach the probe (the library loaded, init sleeping).
        std::thread::sleep(Duration::from_millis(800));
        let sent = Instant::now();
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if sent.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
                panic!("SIG{signal}: still running 5 s after the signal");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let o = child.wait_with_output().expect("output");
        assert_eq!(status.code(), Some(expected), "SIG{signal}: {status:?}\n{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("SIG{signal}")), "{}", stderr(&o));
        assert_eq!(std::fs::read(&report).expect("read"), b"previous report");
        assert!(temp_files(dir.path()).is_empty(), "{:?}", temp_files(dir.path()));
    }
}

/// Unmounts on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// `-o` on a full disk: exit 2, a message naming the path and saying the disk is full, the
/// previous report byte for byte, no temporary file.
#[test]
fn a_full_disk_keeps_the_previous_report_and_says_so() {
    if !is_root() {
        return skip("needs root to mount a tiny tmpfs");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        return skip(&format!("mount -t tmpfs is not permitted here: {mounted:?}"));
    }
    let _mount = Mount(dir.path().to_path_buf());
    let report = dir.path().join("report.json");
    let previous = b"{\"previous\": true}\n".repeat(10);
    std::fs::write(&report, &previous).expect("write the previous report");
    // Fill the rest of the filesystem.
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(dir.path().join("filler")).expect("filler");
        let block = [0_u8; 4096];
        while filler.write_all(&block).is_ok() {}
        while filler.write_all(&block[..1]).is_ok() {}
    }
    let out = format!("json={}", report.display());
    let o = modelspec(
        root(),
        None,
        &[
            "scan",
            "--facts",
            "fixtures/demo/observation.json",
            "fixtures/demo/demo.modelspec.yaml",
            "-o",
            &out,
        ],
    )
    .output();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(&report.display().to_string()),
        "the message names the path: {err}"
    );
    assert!(err.contains("disk is full"), "{err}");
    assert_eq!(
        std::fs::read(&report).expect("read"),
        previous,
        "the previous report is intact"
    );
    assert!(temp_files(dir.path()).is_empty(), "{:?}", temp_files(dir.path()));
}
