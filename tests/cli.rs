//! End-to-end tests of the `modelspec` binary: exit codes, formats, and the edges of input.

use std::path::Path;
use std::process::Output;

use crate::support::{Cmd, report, stderr, stdout};

fn modelspec(args: &[&str]) -> Output {
    Cmd::new().args(args).output()
}

fn run_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let cmd = Cmd::new().args(args);
    match stdin {
        Some(input) => cmd.stdin(input),
        None => cmd,
    }
    .output()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

const MINIMAL: &str = "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: stdin-spec
spec:
  identity:
    model: {id: m, family: f, task: t, framework: tgi}
  runtime:
    accelerator: {vendor: nvidia, type: l4, count: 1}
";

#[test]
fn examples_validate_with_exit_zero() {
    // The whole folder: examples/deploy/ holds Kubernetes manifests and alert rules, YAML that
    // is clearly not a ModelSpec, listed as skipped with what it is (tests/deploy.rs checks them).
    let o = modelspec(&["validate", "examples"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("ok: 14 files, 14 documents valid (0 errors, 0 warnings)"),
        "{out}"
    );
    assert!(
        out.contains("skipped examples/deploy/kubernetes/daemonset.yaml: not a ModelSpec: `kind: Namespace` (v1), `kind: DaemonSet` (apps/v1)"),
        "{out}"
    );
    assert!(
        out.contains(
            "skipped examples/deploy/prometheus/modelspec.rules.yml: not a ModelSpec: a Prometheus rules file"
        ),
        "{out}"
    );
    let o = modelspec(&["validate", "--format", "json", "examples"]);
    assert_matches_output_schema(&o);
    let v = json(&o);
    let skipped = v["skipped"].as_array().map_or(0, Vec::len);
    assert!(skipped >= 4, "{v:#}");
    // A manifest named explicitly is still validated, and is not a valid ModelSpec.
    let o = modelspec(&["validate", "examples/deploy/kubernetes/daemonset.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn an_invalid_file_exits_one_and_shows_the_source_line() {
    let o = modelspec(&["validate", "fixtures/specs/invalid/schema-type-count-string.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    // The snapshot keeps the name it had when this file was its own test binary (tests/tests.rs).
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("cli__an_invalid_file_exits_one_and_shows_the_source_line", stdout(&o));
    });
}

#[test]
fn human_output_for_lints_warnings_and_help() {
    let o = modelspec(&[
        "validate",
        "fixtures/specs/invalid/lint-multiple-findings.yaml",
        "fixtures/specs/invalid/load-multi-document-second-invalid.yaml",
        "fixtures/specs/invalid/load-tab-separator.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("cli__human_output_for_lints_warnings_and_help", stdout(&o));
    });
}

#[test]
fn json_output_has_the_documented_shape() {
    let o = modelspec(&[
        "validate",
        "--format",
        "json",
        "fixtures/specs/invalid/lint-warm-pool-exceeds-max.yaml",
        "fixtures/specs/invalid/load-multi-document-second-invalid.yaml",
        "examples/00-minimal.modelspec.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_matches_output_schema(&o);
    let v = json(&o);
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("cli__json_output_has_the_documented_shape", v);
    });
    for entry in v["files"].as_array().expect("files") {
        for key in ["path", "document", "valid", "errors", "warnings"] {
            assert!(entry.get(key).is_some(), "missing {key} in {entry}");
        }
        for item in entry["errors"]
            .as_array()
            .into_iter()
            .chain(entry["warnings"].as_array())
            .flatten()
        {
            for key in ["code", "pointer", "line", "column", "message"] {
                assert!(item.get(key).is_some(), "missing {key} in {item}");
            }
        }
    }
}

/// Checks output against `schema/validate-output.v1.json` with the tool's own schema engine.
use report::assert_matches_schema;

fn assert_matches_output_schema(o: &Output) {
    assert_matches_schema(modelspec::schemas::VALIDATE_OUTPUT, &stdout(o));
}

#[test]
fn reports_and_observations_match_their_schemas() {
    let o = modelspec(&["scan", "--demo", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_matches_schema(modelspec::schemas::REPORT, &stdout(&o));
    let recorded =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/observation.json"))
            .expect("demo observation");
    assert_matches_schema(modelspec::schemas::OBSERVATION, &recorded);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    assert_matches_schema(modelspec::schemas::OBSERVATION, &report["observation"].to_string());
    let o = modelspec(&["facts", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_matches_schema(modelspec::schemas::OBSERVATION, &stdout(&o));
    assert!(stdout(&o).contains("\"no_library\""), "{}", stdout(&o));
}

#[test]
fn every_kind_of_entry_matches_the_output_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("dangling.yaml");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).expect("symlink");
    let o = modelspec(&[
        "validate",
        "--format",
        "json",
        "fixtures/specs/invalid",
        "examples",
        link.to_str().expect("utf8"),
    ]);
    assert_matches_output_schema(&o);
    let v = json(&o);
    assert!(
        v["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f["errors"][0]["line"].is_null())
    );
}

#[test]
fn missing_paths_exit_two_but_the_rest_is_still_validated() {
    let o = modelspec(&[
        "validate",
        "--format",
        "json",
        "does-not-exist.yaml",
        "examples/00-minimal.modelspec.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert_eq!(v["summary"]["valid"], 1);
    let missing = &v["files"][1];
    assert_eq!(missing["path"], "does-not-exist.yaml");
    assert_eq!(missing["errors"][0]["code"], "io");
    assert!(
        missing["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no such file or directory")),
        "{missing}"
    );
    let human = modelspec(&["validate", "does-not-exist.yaml"]);
    assert_eq!(human.status.code(), Some(2));
    assert!(
        stdout(&human).contains("error[io]: does-not-exist.yaml: no such file or directory"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn an_unreadable_file_exits_two() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("dangling.yaml");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).expect("symlink");
    let fifo_free_dir = dir.path().join("dir.yaml");
    std::fs::create_dir(&fifo_free_dir).expect("mkdir");
    let o = modelspec(&["validate", link.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A directory named like a spec is walked, not read: here it is empty.
    let o = modelspec(&["validate", fifo_free_dir.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no *.yaml"), "{}", stderr(&o));
}

#[test]
fn lints_can_be_turned_off_and_warnings_made_fatal() {
    let lint = "fixtures/specs/invalid/lint-replicas-range.yaml";
    assert_eq!(modelspec(&["validate", lint]).status.code(), Some(1));
    assert_eq!(modelspec(&["validate", "--no-lint", lint]).status.code(), Some(0));
    let warning = "fixtures/specs/invalid/lint-warm-pool-exceeds-max.yaml";
    assert_eq!(modelspec(&["validate", warning]).status.code(), Some(0));
    let strict = modelspec(&["validate", "--strict", warning]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(stdout(&strict).contains("warning[warm-pool-exceeds-max]"));
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let o = run_with_stdin(&["validate", "--format", "json", "-"], Some(MINIMAL));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(json(&o)["files"][0]["path"], "-");
    let o = run_with_stdin(&["validate", "-"], Some("apiVersion: 1\n"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn each_document_of_a_stream_is_reported() {
    let two = format!("{MINIMAL}---\n{}", MINIMAL.replace("count: 1", "count: 0"));
    let o = run_with_stdin(&["validate", "--format", "json", "-"], Some(&two));
    let v = json(&o);
    assert_eq!(v["files"][0]["document"], 1);
    assert_eq!(v["files"][0]["valid"], true);
    assert_eq!(v["files"][1]["document"], 2);
    assert_eq!(v["files"][1]["errors"][0]["code"], "schema-minimum");
    assert_eq!(v["files"][1]["errors"][0]["line"], 19);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn oversized_files_are_refused_without_reading_them_whole() {
    let o = modelspec(&[
        "validate",
        "--max-file-size",
        "100",
        "examples/00-minimal.modelspec.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("file-too-large"), "{}", stdout(&o));
    let bad = modelspec(&["validate", "--max-file-size", "lots", "examples"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn directories_are_walked_skipping_hidden_entries_and_other_extensions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write("a.yaml", MINIMAL);
    write("nested/b.YML", MINIMAL);
    write("nested/c.json", r#"{"apiVersion": "piqc.ai/v1alpha1"}"#);
    write(".hidden/d.yaml", "not: valid");
    write("notes.txt", "not a spec");
    let o = modelspec(&["validate", "--format", "json", dir.path().to_str().expect("utf8")]);
    let v = json(&o);
    let paths: Vec<String> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            Path::new(f["path"].as_str().expect("path"))
                .strip_prefix(dir.path())
                .expect("under dir")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(paths, ["a.yaml", "nested/b.YML", "nested/c.json"]);
    assert_eq!(o.status.code(), Some(1), "c.json misses required fields");
}

#[test]
fn referenced_specs_are_validated_and_reported() {
    let o = modelspec(&[
        "validate",
        "--format",
        "json",
        "fixtures/specs/invalid/lint-dependency-spec-invalid.yaml",
    ]);
    let v = json(&o);
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 2, "{v}");
    assert_eq!(files[0]["errors"][0]["code"], "dependency-spec-invalid");
    assert_eq!(files[1]["origin"], "reference");
    assert_eq!(files[1]["valid"], false);
}

#[test]
fn a_spec_reached_by_several_spellings_is_validated_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let with_deps = MINIMAL.replace(
        "  runtime:",
        "  pipeline:\n    dependencies:\n      - {id: one, role: input, specRef: ./b.yaml}\n      - {id: two, role: input, specRef: sub/../b.yaml}\n  runtime:",
    );
    std::fs::write(dir.path().join("a.yaml"), with_deps).expect("write a");
    std::fs::write(dir.path().join("b.yaml"), MINIMAL).expect("write b");
    std::os::unix::fs::symlink(dir.path().join("b.yaml"), dir.path().join("sub/link.yaml")).expect("symlink");
    let a = dir.path().join("a.yaml");
    let o = modelspec(&["validate", "--format", "json", a.to_str().expect("utf8")]);
    let v = json(&o);
    assert_eq!(v["summary"]["files"], 2, "{v}");
    assert_eq!(o.status.code(), Some(0));
    // Walking the folder finds a.yaml, b.yaml and the symlink to b.yaml (named, so reported),
    // and the references add nothing new.
    let o = modelspec(&["validate", "--format", "json", dir.path().to_str().expect("utf8")]);
    assert_eq!(json(&o)["summary"]["files"], 3, "{}", stdout(&o));
}

#[test]
fn schema_command_prints_the_embedded_schema() {
    let o = modelspec(&["schema", "modelspec"]);
    assert_eq!(o.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).expect("schema is JSON");
    let file = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/modelspec.v0.1.json"))
        .expect("schema file");
    assert_eq!(
        printed,
        serde_json::from_str::<serde_json::Value>(&file).expect("file is JSON")
    );
}

#[test]
fn version_and_usage_errors() {
    let o = modelspec(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("modelspec "));
    assert_eq!(modelspec(&["validate"]).status.code(), Some(2));
    assert_eq!(
        modelspec(&["validate", "--format", "xml", "examples"]).status.code(),
        Some(2)
    );
    assert_eq!(modelspec(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn codes_command_lists_every_lint() {
    let o = modelspec(&["codes"]);
    let text = stdout(&o);
    for lint in modelspec::spec::lint::LINTS {
        assert!(text.contains(lint.code), "{} missing from `modelspec codes`", lint.code);
    }
    for check in modelspec::check::CHECKS {
        let code = check.code;
        assert!(text.contains(code), "{code} missing from `modelspec codes`");
    }
}

#[test]
fn explain_says_what_a_check_compares_and_suggests_a_near_code() {
    let o = modelspec(&["explain", "batch-max-size"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("batch-max-size (scan check)"), "{text}");
    assert!(text.contains("Bound:") && text.contains("--max-num-seqs"), "{text}");
    let o = modelspec(&["explain", "schema-required"]);
    assert!(stdout(&o).contains("validate error"), "{}", stdout(&o));
    let o = modelspec(&["explain", "batch-max-sise"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `batch-max-size`"));
}

#[test]
fn metrics_inspects_a_real_vllm_page_and_reports_errors_with_positions() {
    let o = modelspec(&[
        "metrics",
        "fixtures/engines/vllm-0.32/default/metrics/saturated.prom",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["engine"], "vllm");
    assert_eq!(v["error_count"], 0);
    let families = v["families"].as_array().expect("families");
    let running = families
        .iter()
        .find(|f| f["name"] == "vllm:num_requests_running")
        .expect("the colon-named gauge is there");
    assert_eq!(running["type"], "gauge");
    let latency = families
        .iter()
        .find(|f| f["name"] == "vllm:e2e_request_latency_seconds")
        .expect("latency histogram");
    assert_eq!(latency["type"], "histogram");

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.prom");
    std::fs::write(&bad, "# TYPE a counter\na_total{x=\"1} 3\nb 1 2 3 4\n").expect("write");
    let o = modelspec(&["metrics", bad.to_str().expect("UTF-8 path")]);
    assert_eq!(o.status.code(), Some(1), "a page with errors exits 1");
    let text = stdout(&o);
    assert!(text.contains("bad.prom:2:11: label value is not closed"), "{text}");
    assert!(text.contains("bad.prom:3:"), "{text}");
    let o = modelspec(&["metrics", "/nonexistent/metrics.prom"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn metrics_reads_standard_input_with_a_dash() {
    let page = std::fs::read_to_string("fixtures/engines/vllm-0.32/default/metrics/saturated.prom").expect("fixture");
    let o = run_with_stdin(&["metrics", "-", "--format", "json"], Some(&page));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["source"], "-");
    assert_eq!(j["engine"], "vllm", "{j}");
    assert_eq!(j["bytes"].as_u64(), Some(page.len() as u64));
    // A malformed page on standard input is judged the same way, with positions.
    let o = run_with_stdin(&["metrics", "-"], Some("# TYPE x counter\nx{ 1\n"));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("-:2:"), "{}", stdout(&o));
}

#[test]
fn codes_as_json_have_a_stable_shape() {
    let o = modelspec(&["codes", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = json(&o);
    let codes = j["codes"].as_array().expect("a codes array");
    for entry in codes {
        let keys: Vec<&str> = entry.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "command", "severity", "summary"], "{entry}");
        let command = entry["command"].as_str().expect("command");
        let severity = entry["severity"].as_str().expect("severity");
        match command {
            "scan" => assert_eq!(severity, "check", "{entry}"),
            "validate" => assert!(severity == "error" || severity == "warning", "{entry}"),
            other => panic!("unexpected command {other}"),
        }
        assert!(!entry["summary"].as_str().expect("summary").is_empty());
    }
    let has = |code: &str, command: &str| codes.iter().any(|e| e["code"] == code && e["command"] == command);
    for check in modelspec::check::CHECKS {
        let code = check.code;
        assert!(has(code, "scan"), "{code} missing");
    }
    for lint in modelspec::spec::lint::LINTS {
        assert!(has(lint.code, "validate"), "{} missing", lint.code);
    }
}

#[test]
fn version_shows_the_git_commit() {
    let o = modelspec(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    match option_env!("MODELSPEC_GIT_COMMIT").filter(|c| !c.is_empty()) {
        Some(commit) => assert!(text.contains(&format!("(commit {commit})")), "{text}"),
        None => assert!(text.contains("commit unknown"), "{text}"),
    }
    // Subcommands show the same.
    assert_eq!(
        stdout(&modelspec(&["scan", "--version"])),
        text.replacen("modelspec", "modelspec-scan", 1)
    );
}

#[test]
fn only_and_skip_select_checks_and_the_report_still_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("only.json");
    let path_arg = format!("json={}", path.display());
    let o = modelspec(&["scan", "--demo", "--only", "model-id", "-o", &path_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("report")).expect("json");
    let codes: Vec<&str> = report["specs"]
        .as_array()
        .expect("specs")
        .iter()
        .flat_map(|s| s["findings"].as_array().into_iter().flatten())
        .chain(report["node"].as_array().into_iter().flatten())
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(!codes.is_empty() && codes.iter().all(|c| *c == "model-id"), "{codes:?}");
    let counted: u64 = ["pass", "fail", "warn", "unknown", "skip", "waived"]
        .iter()
        .filter_map(|k| report["summary"][k].as_u64())
        .sum();
    assert_eq!(counted, codes.len() as u64, "the summary counts what is kept");
    assert_eq!(report["provenance"]["inputs"]["only"], serde_json::json!(["model-id"]));
    // The table shows only that check too.
    let table = stdout(&modelspec(&[
        "scan", "--demo", "--only", "model-id", "--color", "never",
    ]));
    assert!(
        table.contains("model-id") && !table.contains("accelerator-count"),
        "{table}"
    );

    let path_str = path.to_string_lossy().into_owned();
    let o = modelspec(&["verify", &path_str]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // The selection is part of what verify derives from: dropping it from the report shows.
    let mut doctored = report.clone();
    if let Some(inputs) = doctored["provenance"]["inputs"].as_object_mut() {
        inputs.remove("only");
    }
    assert_matches_schema(modelspec::schemas::REPORT, &report.to_string());
    std::fs::write(&path, doctored.to_string()).expect("write doctored");
    assert_eq!(modelspec(&["verify", &path_str]).status.code(), Some(1));

    // --skip leaves a check out, and is recorded.
    let o = modelspec(&["scan", "--demo", "--skip", "model-id", "--format", "json"]);
    assert_matches_schema(modelspec::schemas::REPORT, &stdout(&o));
    let j = json(&o);
    assert!(!j.to_string().contains("\"code\":\"model-id\""));
    assert_eq!(j["provenance"]["inputs"]["skip"], serde_json::json!(["model-id"]));
    assert!(j.to_string().contains("\"code\":\"accelerator-count\""));

    // An unknown code is a usage error naming the closest one.
    let o = modelspec(&["scan", "--demo", "--only", "modle-id"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean `model-id`"), "{}", stderr(&o));
}

#[test]
fn report_files_are_0644_even_under_a_private_umask() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("modelspec.prom");
    let mut command = Cmd::new()
        .args(["scan", "--demo", "-q", "-o"])
        .arg(format!("prom={}", path.display()));
    // SAFETY: umask is async-signal-safe and touches only the child about to exec.
    unsafe {
        command.command().pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
    let o = command.output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mode = std::fs::metadata(&path).expect("report written").permissions().mode() & 0o7777;
    assert_eq!(mode, 0o644, "node_exporter, another user, must read it: {mode:o}");
}
