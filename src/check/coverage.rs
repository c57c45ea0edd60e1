//! Every declared field gets a finding. Fields no check judged become `skip`, with the reason:
//! descriptive (nothing on a node to compare), not observable on one node, or not checked yet.
//!
//! Granularity follows what an operator reads: one finding per scalar field, per declared
//! environment variable, per dependency and per pipeline step; label and annotation maps are
//! one finding each.

use serde_json::Value as Json;

use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::spec::ModelSpec;
use crate::spec::node::push_pointer;

/// A declared field no check judged.
pub const NOT_CHECKED: Check = Check {
    code: "not-checked",
    domain: Domain::Identity,
    summary: "a declared field no check judges (yet), with the reason",
    explanation: "Every declared field that no check judges gets a skip finding with the reason (descriptive metadata, not observable on a node, or not checked yet), so a report accounts for the whole spec.",
    pointers: &[],
};

/// Adds a `skip` finding for every declared field that no finding judges yet.
pub(crate) fn fill(spec: &ModelSpec, findings: &mut Vec<Finding>) {
    fill_with(spec, findings, None);
}

/// [`fill`], every field skipped for one reason (a spec not deployed on the node).
pub(crate) fn fill_as(spec: &ModelSpec, findings: &mut Vec<Finding>, reason: &str) {
    fill_with(spec, findings, Some(reason));
}

fn fill_with(spec: &ModelSpec, findings: &mut Vec<Finding>, reason_for_all: Option<&str>) {
    let Ok(tree) = serde_json::to_value(spec) else {
        return;
    };
    let mut fields = Vec::new();
    collect(&tree, &mut String::new(), &mut fields);
    for (pointer, value) in fields {
        let judged = findings.iter().any(|f| {
            f.pointer == pointer
                || (f.domain != Domain::Health
                    && pointer
                        .strip_prefix(f.pointer.as_str())
                        .is_some_and(|below| below.starts_with('/')))
        });
        if judged {
            continue;
        }
        let (domain, reason) = classify(&pointer);
        findings.push(
            FindingBuilder::in_domain(&NOT_CHECKED, domain, &pointer)
                .declared(value)
                .status(Status::Skip, reason_for_all.map_or(reason, str::to_string)),
        );
    }
}

/// Whether the field at `pointer` is reported whole rather than leaf by leaf.
fn whole(pointer: &str) -> bool {
    pointer == "/metadata/labels"
        || pointer == "/metadata/annotations"
        || is_item_of(pointer, "/spec/pipeline/dependencies")
        || is_item_of(pointer, "/spec/pipeline/preprocess/steps")
        || is_item_of(pointer, "/spec/pipeline/postprocess/steps")
}

fn is_item_of(pointer: &str, list: &str) -> bool {
    pointer
        .strip_prefix(list)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
}

fn collect(value: &Json, pointer: &mut String, out: &mut Vec<(String, Json)>) {
    let recurse = |value: &Json, token: &str, pointer: &mut String, out: &mut Vec<(String, Json)>| {
        let len = pointer.len();
        push_pointer(pointer, token);
        collect(value, pointer, out);
        pointer.truncate(len);
    };
    match value {
        Json::Null => {}
        v if !pointer.is_empty() && whole(pointer) => out.push((pointer.clone(), v.clone())),
        Json::Object(map) => {
            if map.is_empty() && !pointer.is_empty() {
                out.push((pointer.clone(), value.clone()));
            }
            for (k, v) in map {
                recurse(v, k, pointer, out);
            }
        }
        Json::Array(items) => {
            if items.is_empty() {
                out.push((pointer.clone(), value.clone()));
            }
            for (i, v) in items.iter().enumerate() {
                recurse(v, &i.to_string(), pointer, out);
            }
        }
        scalar => out.push((pointer.clone(), scalar.clone())),
    }
}

/// The domain a field belongs to, and why it is not judged (yet).
fn classify(pointer: &str) -> (Domain, String) {
    let table: &[(&str, Domain, &str)] = &[
        ("/apiVersion", Domain::Identity, "describes the document, not the node"),
        ("/kind", Domain::Identity, "describes the document, not the node"),
        (
            "/metadata",
            Domain::Identity,
            "descriptive: nothing on a node to compare it with",
        ),
        (
            "/spec/identity/model/artifacts",
            Domain::Identity,
            "not comparable on a node: the engine names its local copy, not the artifact's checksum or store",
        ),
        (
            "/spec/identity",
            Domain::Identity,
            "descriptive: no engine says which family or task a model belongs to",
        ),
        ("/spec/runtime/batch", Domain::Batch, "not judged by any batch rule"),
        ("/spec/runtime/resources", Domain::Host, "not checked by any host rule"),
        (
            "/spec/runtime/environment",
            Domain::Host,
            "not checked by any host rule",
        ),
        (
            "/spec/runtime/accelerator",
            Domain::Accelerator,
            "not checked by any accelerator rule",
        ),
        (
            "/spec/operations/serving",
            Domain::Serving,
            "not judged by any serving rule",
        ),
        (
            "/spec/operations/scaling",
            Domain::Scaling,
            "not observable on one node: replica counts and targets belong to the orchestrator",
        ),
        (
            "/spec/operations/observability",
            Domain::Observability,
            "not judged by any observability rule",
        ),
        (
            "/spec/pipeline",
            Domain::Pipeline,
            "not checked yet: dependencies are resolved against their endpoints in a later release",
        ),
        (
            "/spec/governance",
            Domain::Governance,
            "declarative: reported for audit, not observable on a node",
        ),
    ];
    for (prefix, domain, reason) in table {
        if pointer == *prefix || pointer.starts_with(&format!("{prefix}/")) {
            return (*domain, (*reason).to_string());
        }
    }
    (Domain::Identity, "not checked".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_and_label_maps_are_reported_whole() {
        assert!(whole("/spec/pipeline/dependencies/0"));
        assert!(!whole("/spec/pipeline/dependencies/0/id"));
        assert!(!whole("/spec/pipeline/dependencies"));
        assert!(whole("/metadata/labels"));
        assert!(!whole("/metadata/name"));
    }

    #[test]
    fn every_leaf_becomes_a_field() {
        let v = serde_json::json!({"a": {"b": 1, "c": null, "d": []}, "e": "x"});
        let mut out = Vec::new();
        collect(&v, &mut String::new(), &mut out);
        let pointers: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pointers, ["/a/b", "/a/d", "/e"]);
    }

    #[test]
    fn fields_are_classified_by_their_section() {
        assert_eq!(classify("/spec/runtime/resources/cpuCores").0, Domain::Host);
        assert_eq!(classify("/spec/runtime/environment/variables/HF_HOME").0, Domain::Host);
        assert_eq!(classify("/metadata/labels").0, Domain::Identity);
        assert_eq!(
            classify("/spec/governance/cost/targetCostPer1kTokensUsd").0,
            Domain::Governance
        );
    }
}
