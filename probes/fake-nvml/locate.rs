// Finds (after building it) the fake `libnvidia_ml.so`, for tests in any crate of this workspace:
//
//     include!("../../fake-nvml/locate.rs"); // path relative to the including file
//     let lib = build_and_locate();
//     let nvml = nvml_wrapper::Nvml::builder().lib_path(lib.as_os_str()).init()?;
//
// It runs `cargo build -p fake-nvml` with the profile, target directory and target triple the
// running test binary was built with (a test's `cargo test` does not build another crate's
// cdylib), so the library is always fresh, then answers `<target dir>/[<triple>/]<profile
// dir>/libnvidia_ml.so`. Building runs once per test process. Panics if the build fails.

/// Builds the fake NVML library (once per process) and answers its path.
#[allow(dead_code)]
pub fn build_and_locate() -> std::path::PathBuf {
    static LIB: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    LIB.get_or_init(|| {
        let exe = std::env::current_exe().expect("fake-nvml: cannot find the running test binary");
        // <target dir>/[<triple>/]<profile dir>/deps/<test binary>
        let profile_dir = exe
            .parent()
            .and_then(std::path::Path::parent)
            .expect("fake-nvml: the test binary is not in <target>/<profile>/deps")
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
            .expect("fake-nvml: no target directory")
            .to_path_buf();
        // The target directory holds CACHEDIR.TAG; otherwise `above` is a <triple> directory.
        let (target_dir, triple) = if above.join("CACHEDIR.TAG").exists() {
            (above, None)
        } else {
            let triple = above.file_name().and_then(|n| n.to_str()).map(str::to_owned);
            (
                above.parent().expect("fake-nvml: no target directory").to_path_buf(),
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
                "fake-nvml",
                "--profile",
                profile,
                "--target-dir",
            ])
            .arg(&target_dir);
        if let Some(triple) = &triple {
            cmd.args(["--target", triple]);
        }
        let status = cmd.status().expect("fake-nvml: cannot run cargo");
        assert!(
            status.success(),
            "fake-nvml: `cargo build -p fake-nvml` failed: {status}"
        );
        let lib = profile_dir.join("libnvidia_ml.so");
        assert!(lib.exists(), "fake-nvml: built, but {} does not exist", lib.display());
        lib
    })
    .clone()
}
