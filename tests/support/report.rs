//! Looking findings up in a JSON report, shared by the end-to-end tests (each uses part of it).

#![allow(dead_code)]

use serde_json::Value as Json;

/// The finding of the report's first spec section whose `key` (`code` or `pointer`) is `value`.
pub fn first_section_finding<'a>(report: &'a Json, key: &str, value: &str) -> &'a Json {
    in_findings(&report["specs"][0]["findings"], key, value)
}

/// The first spec section's finding with this code.
pub fn finding<'a>(report: &'a Json, code: &str) -> &'a Json {
    first_section_finding(report, "code", code)
}

/// The finding in a findings array whose `key` is `value`; panics naming what is missing.
pub fn in_findings<'a>(findings: &'a Json, key: &str, value: &str) -> &'a Json {
    findings
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f[key] == value))
        .unwrap_or_else(|| panic!("no finding with {key} {value} in {findings:#}"))
}

/// The report's section of the spec named `name`.
pub fn section<'a>(report: &'a Json, name: &str) -> &'a Json {
    report["specs"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["spec"]["name"] == name))
        .unwrap_or_else(|| panic!("no section {name} in {:#}", report["specs"]))
}

/// A section's finding with this code.
pub fn code_in<'a>(section: &'a Json, code: &str) -> &'a Json {
    in_findings(&section["findings"], "code", code)
}

/// A section's finding at this pointer.
pub fn pointer_in<'a>(section: &'a Json, pointer: &str) -> &'a Json {
    in_findings(&section["findings"], "pointer", pointer)
}

/// A vLLM spec served on `port`, declaring `ENGINE_ROLE=name` (each test server's own value),
/// with the workload annotation when given.
pub fn served_spec(name: &str, model: &str, port: u16, annotation: Option<&str>) -> String {
    let annotations = annotation
        .map(|a| format!("  annotations:\n    modelspec.piqc.ai/workload: \"{a}\"\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: {name}
{annotations}spec:
  identity:
    model: {{id: {model}, family: f, task: chat, framework: vllm}}
  runtime:
    accelerator: {{vendor: nvidia, type: a100, count: 1}}
    batch: {{maxBatchSize: 16, maxSequenceLengthTokens: 4096}}
    environment:
      variables:
        ENGINE_ROLE: {name}
  operations:
    serving: {{protocol: http, port: {port}}}
"
    )
}

/// A finished `modelspec` run: its exit code, its JSON report, and everything it printed (for
/// failure messages and for asserting a secret appears nowhere).
pub fn report_of(o: &std::process::Output) -> (Option<i32>, Json, String) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let report = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("report JSON ({e}): {text}"));
    (o.status.code(), report, text)
}

/// Checks JSON text against one of our published schemas, with the tool's own schema engine.
pub fn assert_matches_schema(schema_text: &str, text: &str) {
    use modelspec::spec::schema::Schema;
    use modelspec::spec::yaml::{Limits, Syntax, load};
    let schema = Schema::compile(schema_text).expect("schema compiles");
    let limits = Limits {
        max_nodes: usize::MAX,
        ..Limits::default()
    };
    let docs = load(text, Syntax::Json, &limits);
    let Some(Ok(root)) = docs.first() else {
        panic!("output does not load: {docs:?}")
    };
    let problems = schema.validate(root);
    assert!(problems.is_empty(), "output violates its schema: {problems:#?}");
}

/// `code pointer status` of each fail or warn among `findings` on a field a draft filled
/// (`modelspec::draft::filled`) or below one.
pub fn drift_on(findings: &[Json], filled: &[String]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "warn")
        .filter(|f| {
            let pointer = f["pointer"].as_str().unwrap_or_default();
            filled
                .iter()
                .any(|p| pointer == p || pointer.starts_with(&format!("{p}/")))
        })
        .map(|f| format!("{} {} {}", f["code"], f["pointer"], f["status"]))
        .collect()
}
