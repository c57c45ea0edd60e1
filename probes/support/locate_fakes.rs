// Finds (after building it) a fake driver library of this workspace, for tests in any of its
// crates: `build_and_locate()` the fake `libnvidia_ml.so` (probes/fake-nvml),
// `build_and_locate_amdsmi()` the fake `libamd_smi.so` (probes/fake-amdsmi).
//
//     include!("../../support/locate_fakes.rs"); // path relative to the including file
//     let lib = build_and_locate();
//     let nvml = nvml_wrapper::Nvml::builder().lib_path(lib.as_os_str()).init()?;
//
// It runs `cargo build -p PACKAGE` with the profile, target directory and target triple the
// running test binary was built with (a test's `cargo test` does not build another crate's
// cdylib), so the library is always fresh, then answers `<target dir>/[<triple>/]<profile
// dir>/<file>`. Building runs once per library per test process. Panics if the build fails.

/// Builds the fake NVML library (once per process) and answers its path.
#[allow(dead_code)]
pub fn build_and_locate() -> std::path::PathBuf {
    static LIB: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    LIB.get_or_init(|| build_fake("fake-nvml", "libnvidia_ml.so")).clone()
}

/// Builds the fake AMD SMI library (once per process) and answers its path.
#[allow(dead_code)]
pub fn build_and_locate_amdsmi() -> std::path::PathBuf {
    static LIB: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    LIB.get_or_init(|| build_fake("fake-amdsmi", "libamd_smi.so")).clone()
}

/// `cargo build -p PACKAGE` as the running test binary was built; the path of its `file`.
#[allow(dead_code)]
fn build_fake(package: &str, file: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("fake library: cannot find the running test binary");
    // <target dir>/[<triple>/]<profile dir>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("fake library: the test binary is not in <target>/<profile>/deps")
        .to_path_buf();
    let profile_dir_name = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned();
    let profile = match profile_dir_name.as_str() {
        "debug" => "dev",
        other => other,
    };
    let above = profile_dir
        .parent()
        .expect("fake library: no target directory")
        .to_path_buf();
    // The target directory holds CACHEDIR.TAG; otherwise `above` is a <triple> directory.
    let (target_dir, triple) = if above.join("CACHEDIR.TAG").exists() {
        (above, None)
    } else {
        let triple = above.file_name().and_then(|n| n.to_str()).map(str::to_owned);
        (
            above.parent().expect("fake library: no target directory").to_path_buf(),
            triple,
        )
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--profile",
            profile,
            "--target-dir",
        ])
        .arg(&target_dir);
    if let Some(triple) = &triple {
        cmd.args(["--target", triple]);
    }
    let status = cmd.status().expect("fake library: cannot run cargo");
    assert!(status.success(), "`cargo build -p {package}` failed: {status}");
    let lib = profile_dir.join(file);
    assert!(lib.exists(), "{package}: built, but {} does not exist", lib.display());
    lib
}
