//! Our schema against the published one, and the typed model against our schema.

use std::path::Path;

use modelspec::spec::model::ModelSpec;
use modelspec::spec::node::{Node, Value};
use modelspec::spec::yaml::{Limits, Syntax, load};
use serde_json::Value as Json;

const ANNOTATIONS: &[&str] = &["description", "title", "$id", "$schema", "$defs", "default", "$comment"];

/// The schema with annotations dropped and local `$ref`s inlined: what it accepts, nothing else.
fn constraints(schema: &Json, root: &Json) -> Json {
    match schema {
        Json::Object(map) => {
            if let Some(Json::String(r)) = map.get("$ref") {
                let name = r.trim_start_matches("#/$defs/");
                return constraints(&root["$defs"][name], root);
            }
            Json::Object(
                map.iter()
                    .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), constraints(v, root)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(|v| constraints(v, root)).collect()),
        other => other.clone(),
    }
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn our_schema_constrains_exactly_what_the_published_one_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let published = root.join("../shared/reference/modelspec-v0.1/modelspec.v0.1.json");
    if !published.is_file() {
        eprintln!("skipped: {} is absent", published.display());
        return;
    }
    let ours = read_json(&root.join("schema/modelspec.v0.1.json"));
    let theirs = read_json(&published);
    assert_eq!(constraints(&ours, &ours), constraints(&theirs, &theirs));
}

#[test]
fn every_property_has_a_description() {
    fn walk(schema: &Json, path: &str, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Json::as_object) {
            for (name, sub) in props {
                let here = format!("{path}/{name}");
                if sub.get("description").is_none() {
                    missing.push(here.clone());
                }
                walk(sub, &here, missing);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(sub) = schema.get(key).filter(|s| s.is_object()) {
                walk(sub, path, missing);
            }
        }
        if let Some(defs) = schema.get("$defs").and_then(Json::as_object) {
            for (name, sub) in defs {
                walk(sub, &format!("#/$defs/{name}"), missing);
            }
        }
    }
    let schema = read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/modelspec.v0.1.json"));
    let mut missing = Vec::new();
    walk(&schema, "", &mut missing);
    assert!(missing.is_empty(), "properties without a description: {missing:?}");
}

fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(i.as_f64()),
        Value::Float(f) => Json::from(*f),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|e| (e.key.key_token().into_owned(), to_json(&e.value)))
                .collect(),
        ),
        Value::Foreign(_) => Json::Null,
    }
}

/// Every leaf of `written` appears, with the same value, in `typed` (numbers compared as f64).
fn leaves_match(written: &Json, typed: &Json, path: &str, problems: &mut Vec<String>) {
    match (written, typed) {
        (Json::Object(w), Json::Object(t)) => {
            for (k, v) in w {
                match t.get(k) {
                    Some(tv) => leaves_match(v, tv, &format!("{path}/{k}"), problems),
                    None => problems.push(format!("{path}/{k} is lost by the typed model")),
                }
            }
        }
        (Json::Array(w), Json::Array(t)) if w.len() == t.len() => {
            for (i, (a, b)) in w.iter().zip(t).enumerate() {
                leaves_match(a, b, &format!("{path}/{i}"), problems);
            }
        }
        (Json::Number(a), Json::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => problems.push(format!("{path}: wrote {a}, typed model has {b}")),
    }
}

#[test]
fn the_typed_model_keeps_every_field_of_the_full_example() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/08-full-production.modelspec.yaml");
    let text = std::fs::read_to_string(&path).expect("example 08");
    let docs = load(&text, Syntax::Yaml, &Limits::default());
    let Some(Ok(root)) = docs.first() else {
        panic!("{docs:?}")
    };
    let spec: ModelSpec = modelspec::spec::de::from_node(root).expect("typed model");
    let typed = serde_json::to_value(&spec).expect("serialize");
    let mut problems = Vec::new();
    leaves_match(&to_json(root), &typed, "", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn integral_floats_and_huge_integers_fit_the_typed_model() {
    let text = "apiVersion: piqc.ai/v1alpha1\nkind: ModelSpec\nmetadata: {name: x, labels: {1: a}}\nspec:\n  identity: {model: {id: m, family: f, task: t, framework: tgi}}\n  runtime:\n    accelerator: {vendor: nvidia, type: l4, count: 2.0}\n    resources: {cpuCores: 100000000000000000000000000000, memoryGb: .inf}\n";
    let docs = load(text, Syntax::Yaml, &Limits::default());
    let Some(Ok(root)) = docs.first() else {
        panic!("{docs:?}")
    };
    assert!(modelspec::spec::schema::validate(root).is_empty());
    let spec: ModelSpec = modelspec::spec::de::from_node(root).expect("typed model");
    assert_eq!(spec.spec.runtime.accelerator.count, 2);
    let resources = spec.spec.runtime.resources.expect("resources");
    assert_eq!(resources.cpu_cores, Some(u64::MAX));
    assert_eq!(resources.memory_gb, Some(f64::INFINITY));
    assert_eq!(spec.metadata.labels.get("1").map(String::as_str), Some("a"));
}

/// Paths of every property the schema defines (`[]` for array items), `$ref`s followed.
fn schema_paths(schema: &Json, root: &Json, path: &str, out: &mut Vec<String>) {
    if let Some(Json::String(r)) = schema.get("$ref") {
        let name = r.trim_start_matches("#/$defs/");
        return schema_paths(&root["$defs"][name], root, path, out);
    }
    if let Some(props) = schema.get("properties").and_then(Json::as_object) {
        for (name, sub) in props {
            let here = format!("{path}/{name}");
            out.push(here.clone());
            schema_paths(sub, root, &here, out);
        }
    }
    if let Some(items) = schema.get("items") {
        schema_paths(items, root, &format!("{path}/[]"), out);
    }
}

fn document_paths(node: &Json, path: &str, out: &mut std::collections::BTreeSet<String>) {
    match node {
        Json::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}/{k}");
                out.insert(here.clone());
                document_paths(v, &here, out);
            }
        }
        Json::Array(items) => {
            for v in items {
                document_paths(v, &format!("{path}/[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_examples_together_use_every_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = read_json(&root.join("schema/modelspec.v0.1.json"));
    let mut wanted = Vec::new();
    schema_paths(&schema, &schema, "", &mut wanted);
    let mut used = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(root.join("examples")).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            for doc in load(&text, Syntax::Yaml, &Limits::default()).iter().flatten() {
                document_paths(&to_json(doc), "", &mut used);
            }
        }
    }
    let unused: Vec<&String> = wanted
        .iter()
        .filter(|p| {
            !used.contains(*p) && !p.starts_with("/metadata/labels/") && !p.starts_with("/metadata/annotations/")
        })
        .collect();
    assert!(unused.is_empty(), "no example uses {unused:?}");
}
