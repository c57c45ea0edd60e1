//! The one harness for the end-to-end tests: every test that runs the `modelspec` binary builds
//! the command here, modelled on ripgrep's `tests/util.rs` (`Dir` + `TestCommand`).
//!
//! Why one builder: a test's result must not depend on the shell it was started from. Each of
//! the tests used to spawn the binary its own way, each removing a different subset of the
//! variables the tool reads (`NO_COLOR`, `COLUMNS`, `CLICOLOR_FORCE`, `MODELSPEC_NVML_LIB`,
//! `MODELSPEC_TOKEN`, `FAKE_NVML_PROFILE`, `KUBERNETES_SERVICE_HOST`, ...), so a developer's
//! exported `COLUMNS` or token could change what a test saw. [`Cmd`] starts from an empty
//! environment instead, keeps only what locating programs and temporary files needs, and sets
//! `NO_COLOR=1`; a test adds exactly the variables it is about.
//!
//! Include with `mod support;` (it is a folder module, not a test target of its own); the
//! container and namespace harnesses are its submodules, used only by the tests that need root.

#![allow(dead_code)]

pub mod containers;
pub mod netns;
pub mod report;

use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value as Json;

// `build_and_locate()`: builds `fake-nvml` with this test binary's profile and target directory,
// and answers the path of `libnvidia_ml.so` (once per process).
include!("../../probes/support/locate_fakes.rs");

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_modelspec");

/// An NVML library path that does not exist: a scan without any GPU library.
pub const NO_NVML: &str = "/nonexistent/libnvidia-ml.so.1";

/// The variable the fake NVML library reads its GPU profile from.
pub const FAKE_NVML_PROFILE: &str = "FAKE_NVML_PROFILE";

/// The variables a scrubbed environment keeps from the test's own: where programs and
/// temporary files are, and where coverage data goes. The tool reads none of them.
const KEPT: [&str; 4] = ["PATH", "HOME", "TMPDIR", "LLVM_PROFILE_FILE"];

/// The repository root (the package's manifest folder).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fake `libnvidia_ml.so`, built on first use (`probes/fake-nvml`).
pub fn fake_nvml() -> PathBuf {
    build_and_locate()
}

/// The fake `libamd_smi.so`, built on first use (`probes/fake-amdsmi`).
pub fn fake_amdsmi() -> PathBuf {
    build_and_locate_amdsmi()
}

/// The fake NVML library's path as text, for a `--nvml-lib` argument.
pub fn fake_nvml_arg() -> String {
    fake_nvml().to_str().expect("UTF-8 path").to_owned()
}

/// A GPU profile of the fake NVML library: `fixtures/gpus/<name>.json`.
pub fn gpu_profile(name: &str) -> PathBuf {
    let path = root().join("fixtures/gpus").join(format!("{name}.json"));
    assert!(path.is_file(), "GPU profile {} does not exist", path.display());
    path
}

/// A `modelspec` command line being built: a scrubbed environment, `NO_COLOR=1`, the
/// A finished command's standard output, lossily as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A finished command's standard error, lossily as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// repository root as working folder, stdin closed, stdout and stderr captured.
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Default for Cmd {
    fn default() -> Self {
        Cmd::new()
    }
}

impl Cmd {
    /// `modelspec`, the binary this test target was built with.
    pub fn new() -> Cmd {
        Cmd::wrapped(BIN, &[])
    }

    /// `modelspec` run through another program: `program ARGS... modelspec`, e.g. `setpriv`.
    pub fn via(program: &str, args: &[&str]) -> Cmd {
        let mut cmd = Cmd::wrapped(program, args);
        cmd.cmd.arg(BIN);
        cmd
    }

    /// `program ARGS...` with the harness's environment, where `ARGS` name the binary
    /// themselves (a copy of it, say, behind `setpriv`).
    pub fn wrapped(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Cmd {
        let mut cmd = Command::new(program);
        cmd.args(args).env_clear();
        for name in KEPT {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        cmd.env("NO_COLOR", "1")
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Cmd { cmd, stdin: None }
    }

    /// The same as `ripgrep`'s `TestCommand::args`.
    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.cmd.arg(arg);
        self
    }

    /// The working folder (the repository root unless set).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.cmd.env(name, value);
        self
    }

    /// Removes a variable the harness set (`NO_COLOR`, for a test of colour).
    pub fn env_remove(mut self, name: &str) -> Cmd {
        self.cmd.env_remove(name);
        self
    }

    /// The fake NVML library answers from this GPU profile (a file), when a test also passes
    /// `--nvml-lib` with [`fake_nvml`].
    pub fn fake_nvml_profile(self, profile: impl AsRef<Path>) -> Cmd {
        self.env(FAKE_NVML_PROFILE, profile.as_ref())
    }

    /// [`Cmd::fake_nvml_profile`] with `fixtures/gpus/<name>.json`.
    pub fn nvml_profile(self, name: &str) -> Cmd {
        let path = gpu_profile(name);
        self.fake_nvml_profile(path)
    }

    /// The fake AMD SMI (`probes/fake-amdsmi`) as `--amdsmi-lib`'s default, answering from
    /// `fixtures/amd-gpus/<name>.json`.
    pub fn amd_profile(self, name: &str) -> Cmd {
        let path = root().join("fixtures/amd-gpus").join(format!("{name}.json"));
        assert!(path.is_file(), "AMD GPU profile {} does not exist", path.display());
        self.fake_amdsmi_profile(path)
    }

    /// The fake AMD SMI answering from the profile at `path`.
    pub fn fake_amdsmi_profile(self, path: impl AsRef<Path>) -> Cmd {
        self.env("MODELSPEC_AMDSMI_LIB", fake_amdsmi())
            .env("FAKE_AMDSMI_PROFILE", path.as_ref())
    }

    /// Text written to the child's stdin (which is otherwise closed).
    pub fn stdin(mut self, text: &str) -> Cmd {
        self.stdin = Some(text.as_bytes().to_vec());
        self
    }

    /// The underlying command, for what the builder does not cover (`pre_exec`).
    pub fn command(&mut self) -> &mut Command {
        &mut self.cmd
    }

    /// Starts the child (stdin closed, or piped and written when [`Cmd::stdin`] was given).
    pub fn spawn(mut self) -> Child {
        self.try_spawn().expect("start modelspec")
    }

    fn try_spawn(&mut self) -> std::io::Result<Child> {
        if self.stdin.is_some() {
            self.cmd.stdin(Stdio::piped());
        }
        let mut child = self.cmd.spawn()?;
        if let Some(input) = self.stdin.take()
            && let Some(mut pipe) = child.stdin.take()
        {
            pipe.write_all(&input).expect("write stdin");
        }
        drop(child.stdin.take());
        Ok(child)
    }

    /// Runs it to the end; `Err` when the program could not be started (a missing wrapper).
    pub fn try_run(mut self) -> std::io::Result<Run> {
        let child = self.try_spawn()?;
        child.wait_with_output().map(Run)
    }

    /// Runs it to the end. Panics when it cannot be started.
    pub fn run(self) -> Run {
        self.try_run().expect("run modelspec")
    }

    /// [`Cmd::run`]'s plain [`Output`].
    pub fn output(self) -> Output {
        self.run().0
    }
}

/// A finished run: the [`Output`] (through `Deref`) and readers of what it printed.
pub struct Run(pub Output);

impl Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.0
    }
}

impl Run {
    /// The exit code; `None` when a signal ended it.
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// stdout then stderr, for failure messages.
    pub fn text(&self) -> String {
        self.stdout() + &self.stderr()
    }

    /// stdout read as the JSON report; panics with everything printed when it is not JSON.
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.0.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            )
        })
    }

    /// The exit code, the JSON report and everything printed ([`report::report_of`]).
    pub fn report(&self) -> (Option<i32>, Json, String) {
        report::report_of(&self.0)
    }
}

/// A scratch folder, removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Default for Dir {
    fn default() -> Self {
        Dir::new()
    }
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// A file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// Writes a file in the folder and answers its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.file(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Copies a repository file (a path under [`root`]) into the folder as `name`.
    pub fn copy_from_root(&self, from: &str, name: &str) -> PathBuf {
        let to = self.file(name);
        std::fs::copy(root().join(from), &to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
        to
    }

    /// `modelspec` run in this folder.
    pub fn command(&self) -> Cmd {
        Cmd::new().current_dir(self.path())
    }
}

/// Runs one of `scripts/validate_*.py` (Python's jsonschema against a published schema) on
/// `files` in `dir`: it must pass. Outside CI a missing Python or schema package skips it (exit
/// 2, or no python3); in CI (`CI=true`) that is a failure, since `.ci/run` installs them.
pub fn assert_valid_with(script: &str, dir: &Path, files: &[&str]) {
    let o = Command::new("python3")
        .arg(root().join("scripts").join(script))
        .args(files)
        .current_dir(dir)
        .output();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match o {
        Ok(o) if o.status.code() == Some(0) => {}
        Ok(o) if o.status.code() == Some(2) || o.status.code().is_none() => {
            assert!(!ci, "CI must have what {script} needs: {}", stderr(&o));
            eprintln!("skipped: {}", stderr(&o));
        }
        Ok(o) => panic!("{script} {files:?}: {}{}", stdout(&o), stderr(&o)),
        Err(e) => {
            assert!(!ci, "python3 is needed in CI: {e}");
            eprintln!("skipped: python3: {e}");
        }
    }
}

/// The engine imitation (`support/engine.py`, answering as vLLM) on a loopback port, stopped
/// on drop.
pub struct LoopbackEngine(Child);

impl LoopbackEngine {
    /// Its process id.
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for LoopbackEngine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Starts the engine imitation serving `model` on `port` with the extra engine flags
/// (`--max-model-len 4096`, `--max-num-seqs 48`), once it listens.
pub fn start_engine(model: &str, port: u16, flags: &[&str]) -> LoopbackEngine {
    spawn_engine(&root().join("tests/support/engine.py"), model, port, flags)
}

/// As [`start_engine`], through a link named `vllm`, so that its command line reads as
/// `vllm serve` (`python3 …/vllm serve MODEL`), as a real vLLM's does.
#[allow(dead_code)]
pub fn start_engine_as_vllm(model: &str, port: u16, flags: &[&str]) -> LoopbackEngine {
    let dir = std::env::temp_dir().join(format!("modelspec-engine-{}", std::process::id()));
    let link = dir.join("vllm");
    if !link.exists() {
        std::fs::create_dir_all(&dir).expect("a folder for the link");
        // Another test may make it at the same moment: either link will do.
        let _ = std::os::unix::fs::symlink(root().join("tests/support/engine.py"), &link);
    }
    spawn_engine(&link, model, port, flags)
}

fn spawn_engine(script: &Path, model: &str, port: u16, flags: &[&str]) -> LoopbackEngine {
    let child = Command::new("python3")
        .arg(script)
        .args(["serve", model, "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the engine imitation");
    let engine = LoopbackEngine(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the engine imitation did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    engine
}
