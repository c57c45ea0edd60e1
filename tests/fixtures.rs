//! Every invalid fixture yields exactly the diagnostics its `# expect:` lines name, at the
//! named pointer and line:column; every example (ours and, when present, the published ones)
//! is valid. See `fixtures/specs/README.md` for the format.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use modelspec::spec::validate::{FileReport, Input, Options, validate_inputs};

type Expectation = (String, String, u32, u32);

use crate::support::root;

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"))
        .collect();
    out.sort();
    out
}

/// The `# expect:` lines of a case; a JSON case, which cannot hold comments, keeps them in
/// `<name>.json.expect` beside it. A pointer of `-` means the whole document (empty pointer).
fn expectations(path: &Path) -> BTreeSet<Expectation> {
    let source = if path.extension().is_some_and(|e| e == "json") {
        let mut p = path.as_os_str().to_owned();
        p.push(".expect");
        PathBuf::from(p)
    } else {
        path.to_path_buf()
    };
    // Lossy: the encoding case holds a Latin-1 byte below its (ASCII) header.
    let bytes = std::fs::read(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("# expect:"))
        .map(|rest| {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(parts.len(), 3, "{}: bad expect line {rest:?}", path.display());
            let (line, col) = parts[2].split_once(':').expect("line:column");
            let pointer = if parts[1] == "-" { "" } else { parts[1] };
            (
                parts[0].to_string(),
                pointer.to_string(),
                line.parse().expect("line"),
                col.parse().expect("column"),
            )
        })
        .collect()
}

fn observed(report: &FileReport) -> BTreeSet<Expectation> {
    report
        .documents
        .iter()
        .flat_map(|d| &d.diagnostics)
        .map(|d| {
            (
                d.code.to_string(),
                d.pointer.clone(),
                d.span.start.line,
                d.span.start.column,
            )
        })
        .collect()
}

#[test]
fn invalid_fixtures_report_exactly_their_expectations() {
    let dir = root().join("fixtures/specs/invalid");
    let files = yaml_files(&dir);
    assert!(
        files.len() >= 45,
        "expected the fixture corpus, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let expected = expectations(path);
        assert!(!expected.is_empty(), "{} has no `# expect:` lines", path.display());
        let reports = validate_inputs(&[Input::File(path.clone())], &Options::default());
        let got = observed(&reports[0]);
        if got != expected {
            failures.push(format!(
                "{}:\n  missing:    {:?}\n  unexpected: {:?}",
                path.display(),
                expected.difference(&got).collect::<Vec<_>>(),
                got.difference(&expected).collect::<Vec<_>>()
            ));
        }
        // Warning-only cases pass normally and fail under --strict.
        assert!(
            !reports[0].is_valid(true),
            "{} should fail under --strict",
            path.display()
        );
    }
    assert!(
        failures.is_empty(),
        "{} fixtures disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_code_is_covered_by_a_fixture() {
    let dir = root().join("fixtures/specs/invalid");
    let covered: BTreeSet<String> = yaml_files(&dir)
        .iter()
        .flat_map(|p| expectations(p))
        .map(|e| e.0)
        .collect();
    let mut codes: Vec<&str> = modelspec::spec::lint::LINTS.iter().map(|l| l.code).collect();
    codes.extend([
        "schema-type",
        "schema-required",
        "schema-unknown-field",
        "schema-enum",
        "schema-const",
        "foreign-apiversion",
        "schema-minimum",
        "schema-maximum",
        "yaml-syntax",
        "yaml-duplicate-key",
        "yaml-limit",
        "yaml-tag",
        "yaml-value",
        "empty-document",
        "encoding",
        "json-syntax",
    ]);
    let missing: Vec<&&str> = codes.iter().filter(|c| !covered.contains(**c)).collect();
    assert!(missing.is_empty(), "no fixture exercises {missing:?}");
}

fn assert_all_clean(dir: &Path, allow_warnings: bool) {
    let inputs: Vec<Input> = yaml_files(dir).into_iter().map(Input::File).collect();
    assert!(!inputs.is_empty(), "no specs in {}", dir.display());
    for report in validate_inputs(&inputs, &Options::default()) {
        let diags: Vec<_> = report.documents.iter().flat_map(|d| &d.diagnostics).collect();
        assert!(report.is_valid(false), "{} is invalid: {diags:#?}", report.path);
        if !allow_warnings {
            assert!(diags.is_empty(), "{} has findings: {diags:#?}", report.path);
        }
    }
}

#[test]
fn our_examples_are_valid_without_warnings() {
    assert_all_clean(&root().join("examples"), false);
    assert_all_clean(&root().join("examples/deps"), false);
}

#[test]
fn published_examples_are_valid() {
    let dir = root().join("../shared/reference/modelspec-v0.1/examples");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    // The published examples name specRef files they do not ship: warnings, not errors.
    assert_all_clean(&dir, true);
}
