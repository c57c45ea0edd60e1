use super::*;
use crate::check::{Status, compare};
use crate::spec::validate::{Options, typed_documents, validate_text};
use crate::spec::yaml::Syntax;

fn demo_observation() -> Observation {
    serde_json::from_str(include_str!("../../fixtures/demo/observation.json")).unwrap_or_else(|e| panic!("demo: {e}"))
}

fn demo_draft() -> Draft {
    draft(&demo_observation(), &Request::default()).unwrap_or_else(|e| panic!("draft: {e}"))
}

#[test]
fn the_demo_draft_with_its_evidence() {
    let d = demo_draft();
    assert_eq!(d.name, "mistral-small-24b-instruct-2501");
    insta::assert_snapshot!("draft_demo", d.yaml);
}

#[test]
fn a_draft_validates_with_no_error_and_flags_nothing_it_filled() {
    let d = demo_draft();
    let reports = validate_text(&d.yaml, Syntax::Yaml, &Options::default());
    assert_eq!(reports.len(), 1);
    let errors: Vec<_> = reports[0]
        .diagnostics
        .iter()
        .filter(|x| x.severity == crate::spec::diagnostic::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{}", d.yaml);
    // What the node could not tell is flagged until a person writes it.
    let placeholders: Vec<&str> = reports[0]
        .diagnostics
        .iter()
        .filter(|x| x.code == crate::spec::lint::metadata::PLACEHOLDER)
        .map(|x| x.pointer.as_str())
        .collect();
    assert_eq!(
        placeholders,
        ["/spec/identity/model/family", "/spec/identity/model/task"]
    );
    let reviewed = d
        .yaml
        .replace(&format!("family: \"{TODO}\""), "family: mistral")
        .replace(&format!("task: \"{TODO}\""), "task: chat-completion");
    let reports = validate_text(&reviewed, Syntax::Yaml, &Options::default());
    assert!(reports[0].diagnostics.is_empty(), "{:#?}", reports[0].diagnostics);
}

#[test]
fn scanning_the_node_with_its_draft_finds_no_drift_in_what_it_filled() {
    let observation = demo_observation();
    let d = demo_draft();
    let specs = typed_documents(&d.yaml, Syntax::Yaml, &crate::spec::Limits::default());
    let [(_, spec)] = specs.as_slice() else {
        panic!("one spec: {}", d.yaml)
    };
    let filled = filled(&d.yaml);
    assert!(
        filled.contains(&"/spec/runtime/accelerator/count".to_string()),
        "{filled:?}"
    );
    assert!(filled.contains(&"/spec/identity/model/id".to_string()), "{filled:?}");
    assert!(
        !filled.iter().any(|p| p.ends_with("/task") || p.ends_with("/family")),
        "{filled:?}"
    );
    let findings = compare(spec, &observation);
    let drifted: Vec<_> = findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Warn))
        .filter(|f| {
            filled
                .iter()
                .any(|p| f.pointer == *p || f.pointer.starts_with(&format!("{p}/")))
        })
        .map(|f| format!("{} {} {:?}: {}", f.code, f.pointer, f.status, f.message))
        .collect();
    assert!(drifted.is_empty(), "{drifted:#?}\n{}", d.yaml);
}

#[test]
fn scalars_read_back_as_written() {
    // An id that YAML would otherwise read as something else, or that breaks a line.
    for id in ["yes", "1e3", "null", "a: b # c", "tab\there", "quote\"d", "ünï"] {
        let text = format!("id: {}\n", json(id));
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap_or_default();
        assert_eq!(doc["id"], serde_json::Value::from(id), "{text}");
    }
}

#[test]
fn names_come_from_the_model_id() {
    assert_eq!(name_from("meta-llama/Llama-3.1-8B-Instruct"), "llama-3-1-8b-instruct");
    assert_eq!(name_from("/models/tiny-llama/"), "tiny-llama");
    assert_eq!(name_from("___"), "model");
}

#[test]
fn without_an_endpoint_or_with_several_it_says_what_to_give() {
    let mut observation = demo_observation();
    let ProbeOutcome::Observed { snapshot, .. } = &mut observation.endpoint else {
        panic!("the demo asked its endpoint")
    };
    let mut second = snapshot.targets[0].clone();
    second.port += 1;
    snapshot.targets.push(second);
    let why = draft(&observation, &Request::default()).err().unwrap_or_default();
    assert!(why.contains("--port"), "{why}");
    assert!(
        draft(
            &observation,
            &Request {
                port: Some(8000),
                name: None
            }
        )
        .is_ok()
    );
    let why = draft(
        &observation,
        &Request {
            port: Some(9),
            name: None,
        },
    )
    .err()
    .unwrap_or_default();
    assert!(why.contains("did not ask port 9"), "{why}");
    observation.endpoint = ProbeOutcome::NotRun {
        reason: "no port".into(),
    };
    let why = draft(&observation, &Request::default()).err().unwrap_or_default();
    assert!(why.contains("--port"), "{why}");
}

/// The demo node with its serving process in a cgroup of 2.5 cores and 8 GiB and a bit.
fn limited_demo() -> Observation {
    let mut tree: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/demo/observation.json")).unwrap_or_default();
    let limits = &mut tree["host"]["snapshot"]["servers"][0]["candidates"]["value"][0]["limits"];
    assert!(limits.is_object(), "the demo's serving process has limits");
    limits["cpu"] = serde_json::json!({"status": "ok", "value": {"kind": "cores", "cores": 2.5, "quota_us": 250000, "period_us": 100000, "cgroup": "/kubepods/pod1"}});
    limits["memory"] = serde_json::json!({"status": "ok", "value": {"kind": "bytes", "bytes": 8u64 * (1 << 30) + 1000, "cgroup": "/kubepods/pod1"}});
    serde_json::from_value(tree).unwrap_or_else(|e| panic!("limited demo: {e}"))
}

#[test]
fn cgroup_limits_become_resources_that_fit_in_them() {
    let observation = limited_demo();
    let d = draft(&observation, &Request::default()).unwrap_or_else(|e| panic!("draft: {e}"));
    assert!(
        d.yaml
            .contains("cpuCores: 2  # cgroup /kubepods/pod1 limit: 2.5 cores, rounded down"),
        "{}",
        d.yaml
    );
    assert!(
        d.yaml.contains("memoryGb: 8.0  # cgroup /kubepods/pod1 limit"),
        "{}",
        d.yaml
    );
    let specs = typed_documents(&d.yaml, Syntax::Yaml, &crate::spec::Limits::default());
    let [(_, spec)] = specs.as_slice() else {
        panic!("one spec: {}", d.yaml)
    };
    let resources: Vec<(String, Status)> = compare(spec, &observation)
        .into_iter()
        .filter(|f| f.code.starts_with("resources-"))
        .map(|f| (f.code, f.status))
        .collect();
    let pass = |code: &str| (code.to_string(), Status::Pass);
    assert_eq!(resources, [pass("resources-cpu"), pass("resources-memory")]);
}
