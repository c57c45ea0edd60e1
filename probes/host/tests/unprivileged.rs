//! An unprivileged probe must say "insufficient permission", never "not listening" or "no
//! variables", when the serving process belongs to someone else.
//!
//! The test (as root) listens on a port itself, then runs the `probe_port` example as uid 65534
//! through `setpriv`. It skips with a message when not root or without `setpriv` (util-linux).

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const HINT: &str = "insufficient permission: run as root or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH";

fn skip(why: &str) {
    eprintln!("skipped: {why}");
}

/// Builds the example (a no-op after `cargo test`, which builds examples) and returns its path
/// next to this test binary's profile directory: `target/<profile>/examples/probe_port`.
fn example_binary() -> Option<PathBuf> {
    let built = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "modelspec-probe-host", "--example", "probe_port"])
        .stdout(Stdio::null())
        .status();
    if !built.is_ok_and(|status| status.success()) {
        eprintln!("cargo build of the example failed; using what is already built");
    }
    let test_exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/unprivileged-<hash>
    let profile_dir = test_exe.parent()?.parent()?;
    let binary = profile_dir.join("examples").join("probe_port");
    binary.is_file().then_some(binary)
}

fn run_as_nobody(binary: &PathBuf, args: &[String]) -> Value {
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(binary)
        .args(args)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => panic!("setpriv: {error}"),
    };
    assert!(
        output.status.success(),
        "probe as nobody failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout) {
        Ok(value) => value,
        Err(error) => panic!("not JSON ({error}): {}", String::from_utf8_lossy(&output.stdout)),
    }
}

#[test]
fn unprivileged_probe_reports_permission_not_absence() {
    // SAFETY: geteuid only reads this process's credentials.
    if unsafe { libc::geteuid() } != 0 {
        return skip("needs root to run the probe as another user");
    }
    if !Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
    {
        return skip("setpriv (util-linux) is not installed");
    }
    let Some(built) = example_binary() else {
        return skip("the probe_port example binary could not be found");
    };
    // The target directory may not be reachable by uid 65534: copy the binary somewhere it is.
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("tempdir: {error}"),
    };
    let binary = dir.path().join("probe_port");
    assert!(std::fs::copy(&built, &binary).is_ok());
    assert!(std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).is_ok());
    assert!(std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).is_ok());

    let reachable = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "test", "-x"])
        .arg(&binary)
        .status()
        .is_ok_and(|status| status.success());
    if !reachable {
        return skip("uid 65534 cannot run the copied probe (no CAP_SETUID, or the temp dir is closed to it)");
    }

    // A root-owned listener: this test process.
    let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener,
        Err(error) => panic!("bind: {error}"),
    };
    let port = match listener.local_addr() {
        Ok(address) => address.port(),
        Err(error) => panic!("local_addr: {error}"),
    };

    let by_port = run_as_nobody(&binary, &["--port".into(), port.to_string()]);
    let serving = &by_port["servers"][0]["candidates"];
    assert_eq!(serving["status"], "unknown", "{serving}");
    let reason = serving["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(HINT), "{reason}");
    assert!(!reason.contains("nothing listens"), "{reason}");

    // Named by pid, the process is visible but its environment is not.
    let by_pid = run_as_nobody(&binary, &["--pid".into(), std::process::id().to_string()]);
    let candidates = &by_pid["servers"][0]["candidates"];
    assert_eq!(candidates["status"], "ok", "{candidates}");
    let process = &candidates["value"][0]["process"];
    let environment = &process["environment"];
    assert_eq!(environment["status"], "unknown", "{environment}");
    assert!(
        environment["reason"].as_str().unwrap_or_default().contains(HINT),
        "{environment}"
    );
    assert_eq!(process["argv"]["status"], "ok", "{process}");
    drop(listener);
}
