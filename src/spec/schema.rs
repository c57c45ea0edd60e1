//! JSON Schema validation of a loaded document against the embedded ModelSpec schema.
//!
//! `schema/modelspec.v0.1.json` is the single source of truth: it is embedded in the binary,
//! printed by `modelspec schema modelspec`, and interpreted here. We interpret it ourselves
//! rather than through a general JSON Schema crate because the verdicts must match the
//! reference validator (Python `jsonschema` over `yaml.safe_load` output) on values JSON
//! cannot hold: `1.0` is an integer there, booleans are never numbers, NaN passes every
//! bound, huge integers and dates exist. And because every error must come out with its
//! span, which a validator over `serde_json::Value` cannot give. Only the keywords the schema
//! uses are supported; an unknown keyword fails schema compilation, which a test exercises.

use std::sync::LazyLock;

use serde_json::Value as Json;

use super::diagnostic::{Diagnostic, Severity};
use super::node::{Int, Node, Value, push_pointer};

pub use crate::schemas::{MODELSPEC as MODELSPEC_SCHEMA, VALIDATE_OUTPUT as VALIDATE_OUTPUT_SCHEMA};

/// Stable codes of schema diagnostics, one per JSON Schema keyword.
pub mod codes {
    /// `type`: the value has the wrong JSON type.
    pub const TYPE: &str = "schema-type";
    /// `required`: a required field is missing.
    pub const REQUIRED: &str = "schema-required";
    /// `additionalProperties: false`: a field the schema does not define.
    pub const UNKNOWN_FIELD: &str = "schema-unknown-field";
    /// `enum`: not one of the allowed values.
    pub const ENUM: &str = "schema-enum";
    /// `const`: not the one allowed value.
    pub const CONST: &str = "schema-const";
    /// `minimum`: below the lower bound.
    pub const MINIMUM: &str = "schema-minimum";
    /// `maximum`: above the upper bound.
    pub const MAXIMUM: &str = "schema-maximum";
    /// A `kind: ModelSpec` document of another format: its `apiVersion` names another group
    /// (`modelspec.paralleliq.ai/v1`), written by other tools under the same name. Replaces the
    /// `const` error and the errors that follow from reading another format with this schema.
    pub const FOREIGN_API_VERSION: &str = "foreign-apiversion";
}

/// The API group of the ModelSpec this schema describes (`piqc.ai/v1alpha1`).
const API_GROUP: &str = "piqc.ai";

/// A JSON Schema type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonType {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
    Null,
}

impl JsonType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "object" => JsonType::Object,
            "array" => JsonType::Array,
            "string" => JsonType::String,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "boolean" => JsonType::Boolean,
            "null" => JsonType::Null,
            _ => return None,
        })
    }

    fn noun(self) -> &'static str {
        match self {
            JsonType::Object => "a mapping",
            JsonType::Array => "a list",
            JsonType::String => "a string",
            JsonType::Integer => "an integer",
            JsonType::Number => "a number",
            JsonType::Boolean => "a boolean",
            JsonType::Null => "null",
        }
    }

    /// Python `jsonschema`'s type checks, over PyYAML values.
    fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (JsonType::Object, Value::Map(_))
            | (JsonType::Array, Value::Seq(_))
            | (JsonType::String, Value::Str(_))
            | (JsonType::Boolean, Value::Bool(_))
            | (JsonType::Null, Value::Null)
            | (JsonType::Integer | JsonType::Number, Value::Int(_))
            | (JsonType::Number, Value::Float(_)) => true,
            (JsonType::Integer, Value::Float(f)) => f.is_finite() && f.fract() == 0.0,
            _ => false,
        }
    }
}

/// What `additionalProperties` says.
#[derive(Debug)]
enum Additional {
    Allowed,
    Forbidden,
    Schema(Box<Compiled>),
}

/// One compiled schema object.
#[derive(Debug)]
struct Compiled {
    types: Vec<JsonType>,
    constant: Option<Json>,
    choices: Option<Vec<Json>>,
    required: Vec<String>,
    properties: Vec<(String, Compiled)>,
    additional: Additional,
    items: Option<Box<Compiled>>,
    minimum: Option<f64>,
    maximum: Option<f64>,
}

/// Keywords that only annotate.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
];

fn compile(schema: &Json, root: &Json, depth: usize) -> Result<Compiled, String> {
    if depth > 32 {
        return Err("schema nests too deeply (a $ref cycle?)".into());
    }
    let obj = schema.as_object().ok_or("a schema must be an object")?;
    if let Some(reference) = obj.get("$ref") {
        let target = reference
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|name| root.get("$defs")?.get(name))
            .ok_or_else(|| format!("unresolvable $ref {reference}"))?;
        return compile(target, root, depth + 1);
    }
    let mut out = Compiled {
        types: Vec::new(),
        constant: None,
        choices: None,
        required: Vec::new(),
        properties: Vec::new(),
        additional: Additional::Allowed,
        items: None,
        minimum: None,
        maximum: None,
    };
    for (key, value) in obj {
        match key.as_str() {
            "type" => {
                let names: Vec<&Json> = match value {
                    Json::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for n in names {
                    let t = n
                        .as_str()
                        .and_then(JsonType::parse)
                        .ok_or_else(|| format!("bad type {n}"))?;
                    out.types.push(t);
                }
            }
            "const" => out.constant = Some(value.clone()),
            "enum" => out.choices = Some(value.as_array().ok_or("enum must be an array")?.clone()),
            "required" => {
                for r in value.as_array().ok_or("required must be an array")? {
                    out.required
                        .push(r.as_str().ok_or("required entries must be strings")?.to_string());
                }
            }
            "properties" => {
                for (name, sub) in value.as_object().ok_or("properties must be an object")? {
                    out.properties.push((name.clone(), compile(sub, root, depth + 1)?));
                }
            }
            "additionalProperties" => {
                out.additional = match value {
                    Json::Bool(true) => Additional::Allowed,
                    Json::Bool(false) => Additional::Forbidden,
                    sub => Additional::Schema(Box::new(compile(sub, root, depth + 1)?)),
                }
            }
            "items" => out.items = Some(Box::new(compile(value, root, depth + 1)?)),
            "minimum" => out.minimum = Some(value.as_f64().ok_or("minimum must be a number")?),
            "maximum" => out.maximum = Some(value.as_f64().ok_or("maximum must be a number")?),
            k if ANNOTATIONS.contains(&k) => {}
            other => return Err(format!("unsupported schema keyword {other:?}")),
        }
    }
    Ok(out)
}

/// A compiled JSON Schema (the subset of keywords our schemas use).
#[derive(Debug)]
pub struct Schema {
    root: Compiled,
}

impl Schema {
    /// Compiles schema text; unknown keywords and unresolvable `$ref`s are errors.
    pub fn compile(text: &str) -> Result<Schema, String> {
        let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(Schema {
            root: compile(&json, &json, 0)?,
        })
    }

    /// Every violation in `root`, in file order.
    pub fn validate(&self, root: &Node) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut pointer = String::new();
        check(&self.root, root, None, &mut pointer, &mut out);
        out.sort_by_key(|d| (d.span.start.offset, d.span.start.line, d.span.start.column));
        out
    }
}

/// `kind: ModelSpec` with an `apiVersion` of another group (`group/version`): another format
/// under the same name, whose other errors against this schema would only be noise.
fn foreign(root: &Node) -> Option<Diagnostic> {
    if root.get("kind")?.as_str()? != "ModelSpec" {
        return None;
    }
    let entry = root.entry("apiVersion")?;
    let api_version = entry.value.as_str()?;
    let (group, _) = api_version.split_once('/')?;
    if group == API_GROUP || group.is_empty() {
        return None;
    }
    let mut d = Diagnostic::new(
        codes::FOREIGN_API_VERSION,
        Severity::Error,
        "/apiVersion".to_string(),
        entry.value.anchor(Some(&entry.key)),
        format!(
            "apiVersion {api_version:?} is another format that is also called ModelSpec (API group {group:?}); this tool reads {API_GROUP}/v1alpha1 ModelSpecs"
        ),
    );
    d.help = Some(format!(
        "validate this file with the tool that wrote it, or write a {API_GROUP}/v1alpha1 ModelSpec (`modelspec schema modelspec` prints its schema)"
    ));
    Some(d)
}

static MODELSPEC: LazyLock<Result<Schema, String>> = LazyLock::new(|| Schema::compile(MODELSPEC_SCHEMA));

/// Validates `root` against the ModelSpec schema; returns every violation, in file order. A
/// document of another format called ModelSpec gets one diagnostic saying so ([`foreign`]).
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    match &*MODELSPEC {
        Ok(schema) => {
            let diagnostics = schema.validate(root);
            let wrong_api_version = diagnostics
                .iter()
                .any(|d| d.code == codes::CONST && d.pointer == "/apiVersion");
            match wrong_api_version.then(|| foreign(root)).flatten() {
                Some(d) => vec![d],
                None => diagnostics,
            }
        }
        Err(e) => vec![Diagnostic::new(
            "internal",
            Severity::Error,
            String::new(),
            root.span,
            format!("the embedded schema does not compile: {e}"),
        )],
    }
}

/// Python `jsonschema`'s `equal`: strings by text, numbers by value, booleans apart from numbers.
fn equals(v: &Value, j: &Json) -> bool {
    match (v, j) {
        (Value::Str(a), Json::String(b)) => a == b,
        (Value::Null, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Int(Int::Small(a)), Json::Number(b)) => b.as_f64().is_some_and(|b| *a as f64 == b),
        (Value::Float(a), Json::Number(b)) => b.as_f64() == Some(*a),
        _ => false,
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(i.as_f64()),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn json_list(values: &[Json]) -> String {
    values
        .iter()
        .map(|v| match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Help for a value whose YAML 1.1 typing likely surprised its author.
fn type_help(expected: &[JsonType], node: &Node) -> Option<String> {
    let wants_string = expected.contains(&JsonType::String);
    let wants_number = expected
        .iter()
        .any(|t| matches!(t, JsonType::Integer | JsonType::Number));
    match &node.value {
        Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Null | Value::Foreign(_) if wants_string => Some(
            "quote the value to make it a string (YAML reads yes/no/on/off as booleans and 2024-01-01 as a date)"
                .into(),
        ),
        Value::Str(s) if wants_number && s.trim().parse::<f64>().is_ok() => {
            Some("remove the quotes: a quoted number is a string".into())
        }
        Value::Str(s) if wants_number && s.to_ascii_lowercase().contains('e') => {
            Some("YAML 1.1 reads 1e3 as a string; write 1000 or 1.0e+3".into())
        }
        _ => None,
    }
}

fn check(schema: &Compiled, node: &Node, owner_key: Option<&Node>, pointer: &mut String, out: &mut Vec<Diagnostic>) {
    let at = node.anchor(owner_key);
    if !schema.types.is_empty() && !schema.types.iter().any(|t| t.accepts(&node.value)) {
        let expected = schema.types.iter().map(|t| t.noun()).collect::<Vec<_>>().join(" or ");
        let mut d = Diagnostic::new(
            codes::TYPE,
            Severity::Error,
            pointer.clone(),
            at,
            format!("expected {expected}, found {}", node.value.describe()),
        );
        d.help = type_help(&schema.types, node);
        out.push(d);
    }
    if let Some(c) = &schema.constant
        && !equals(&node.value, c)
    {
        out.push(Diagnostic::new(
            codes::CONST,
            Severity::Error,
            pointer.clone(),
            at,
            format!(
                "must be {}, found {}",
                json_list(std::slice::from_ref(c)),
                node.value.describe()
            ),
        ));
    }
    if let Some(choices) = &schema.choices
        && !choices.iter().any(|c| equals(&node.value, c))
    {
        out.push(Diagnostic::new(
            codes::ENUM,
            Severity::Error,
            pointer.clone(),
            at,
            format!(
                "must be one of: {}; found {}",
                json_list(choices),
                node.value.describe()
            ),
        ));
    }
    if let Some(n) = as_number(&node.value) {
        // Comparisons with NaN are false, so NaN passes both bounds, as in Python.
        if let Some(min) = schema.minimum
            && n < min
        {
            out.push(Diagnostic::new(
                codes::MINIMUM,
                Severity::Error,
                pointer.clone(),
                at,
                format!("must be at least {min}, found {}", node.value.describe()),
            ));
        }
        if let Some(max) = schema.maximum
            && n > max
        {
            out.push(Diagnostic::new(
                codes::MAXIMUM,
                Severity::Error,
                pointer.clone(),
                at,
                format!("must be at most {max}, found {}", node.value.describe()),
            ));
        }
    }
    match &node.value {
        Value::Map(entries) => {
            for name in &schema.required {
                if !entries.iter().any(|e| e.key.as_str() == Some(name)) {
                    let len = pointer.len();
                    push_pointer(pointer, name);
                    let mut d = Diagnostic::new(
                        codes::REQUIRED,
                        Severity::Error,
                        pointer.clone(),
                        at,
                        format!("missing required field `{name}`"),
                    );
                    if let Some(known) = entries
                        .iter()
                        .filter_map(|e| e.key.as_str())
                        .find(|k| k.eq_ignore_ascii_case(name))
                    {
                        d.help = Some(format!("field names are case-sensitive: `{known}` should be `{name}`"));
                    }
                    out.push(d);
                    pointer.truncate(len);
                }
            }
            for entry in entries {
                let len = pointer.len();
                push_pointer(pointer, &entry.key.key_token());
                let declared = entry
                    .key
                    .as_str()
                    .and_then(|k| schema.properties.iter().find(|(name, _)| name == k));
                match (declared, &schema.additional) {
                    (Some((_, sub)), _) => check(sub, &entry.value, Some(&entry.key), pointer, out),
                    (None, Additional::Forbidden) => {
                        let mut d = Diagnostic::new(
                            codes::UNKNOWN_FIELD,
                            Severity::Error,
                            pointer.clone(),
                            entry.key.span,
                            format!("unknown field `{}`", entry.key.key_token()),
                        );
                        d.help = unknown_field_help(&entry.key, schema);
                        out.push(d);
                    }
                    (None, Additional::Schema(sub)) => check(sub, &entry.value, Some(&entry.key), pointer, out),
                    (None, Additional::Allowed) => {}
                }
                pointer.truncate(len);
            }
        }
        Value::Seq(items) => {
            if let Some(sub) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    push_pointer(pointer, &i.to_string());
                    check(sub, item, None, pointer, out);
                    pointer.truncate(len);
                }
            }
        }
        _ => {}
    }
}

fn unknown_field_help(key: &Node, schema: &Compiled) -> Option<String> {
    let known: Vec<&str> = schema.properties.iter().map(|(n, _)| n.as_str()).collect();
    let given = key.key_token();
    let suggestion = crate::suggest::closest(&given, known.iter().copied());
    Some(match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None if known.is_empty() => "this mapping takes no fields".to_string(),
        None => format!("expected one of: {}", known.join(", ")),
    })
}

/// Whether the embedded schema compiles (used by tests and `modelspec schema`).
pub fn compiles() -> Result<(), String> {
    MODELSPEC.as_ref().map(|_| ()).map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_compiles() {
        assert_eq!(compiles(), Ok(()));
    }

    /// The group a foreign document is told apart by is the schema's own.
    #[test]
    fn the_api_group_is_the_schemas() {
        let schema: Json = serde_json::from_str(MODELSPEC_SCHEMA).expect("the schema is JSON");
        let api_version = schema["properties"]["apiVersion"]["const"].as_str().unwrap_or_default();
        assert_eq!(api_version.split_once('/').map(|(g, _)| g), Some(API_GROUP));
    }

    #[test]
    fn output_schema_compiles_and_rejects_a_broken_output() {
        use crate::spec::yaml::{Limits, Syntax, load};
        let schema = Schema::compile(VALIDATE_OUTPUT_SCHEMA).expect("compiles");
        let docs = load(
            r#"{"files": [{"path": "a", "document": 0, "valid": true, "errors": [], "warnings": [{}]}]}"#,
            Syntax::Json,
            &Limits::default(),
        );
        let Some(Ok(root)) = docs.first() else {
            panic!("{docs:?}")
        };
        let codes: Vec<&str> = schema.validate(root).iter().map(|d| d.code).collect();
        assert!(codes.contains(&codes::REQUIRED), "{codes:?}");
        assert!(codes.contains(&codes::MINIMUM), "{codes:?}");
    }

    #[test]
    fn unknown_keywords_are_refused() {
        let s: Json = serde_json::json!({"type": "string", "pattern": "^a"});
        assert!(compile(&s, &s, 0).unwrap_err().contains("pattern"));
    }

    #[test]
    fn integer_accepts_integral_floats_like_python_jsonschema() {
        assert!(JsonType::Integer.accepts(&Value::Float(2.0)));
        assert!(!JsonType::Integer.accepts(&Value::Float(2.5)));
        assert!(!JsonType::Integer.accepts(&Value::Float(f64::INFINITY)));
        assert!(!JsonType::Integer.accepts(&Value::Float(f64::NAN)));
        assert!(!JsonType::Integer.accepts(&Value::Bool(true)));
        assert!(!JsonType::Number.accepts(&Value::Bool(false)));
    }

    #[test]
    fn ref_cycles_are_caught() {
        let s: Json = serde_json::json!({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"});
        assert!(compile(&s, &s, 0).is_err());
    }
}
