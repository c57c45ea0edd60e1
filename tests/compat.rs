//! Runs the compatibility corpus: thousands of mutated variants of the published examples,
//! judged by the standard's own stack (`yaml.safe_load` + `jsonschema` Draft 2020-12) and by
//! `modelspec validate --no-lint`. Every verdict must agree. The script lives in
//! `scripts/compat/compat.py`; it exits 77 when Python, its packages or `../shared` are absent,
//! which this test reports as a skip (CI installs them; see `.ci/run`).

use std::process::Command;

#[test]
fn verdicts_agree_with_the_reference_validator() {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = match Command::new("python3")
        .arg("scripts/compat/compat.py")
        .arg("--bin")
        .arg(crate::support::BIN)
        .current_dir(root)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: python3 is not available ({e})");
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    match output.status.code() {
        Some(0) => {
            let summary = text.lines().rfind(|l| l.contains(" agree, ")).unwrap_or_default();
            eprintln!("{summary}");
        }
        Some(77) => eprintln!("skipped: {}", text.trim()),
        other => panic!("compatibility corpus failed (exit {other:?}):\n{text}"),
    }
}
