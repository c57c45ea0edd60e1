//! Reading and judging ModelSpec documents: load, schema-validate, type, lint.
//!
//! The pipeline for one document is `yaml::load` (text to a spanned tree, typed the way
//! the standard's PyYAML-based validator types it) → `schema::validate` (the embedded JSON
//! Schema) → `de::from_node` (the typed [`model::ModelSpec`]) → `lint::run` (rules beyond the
//! schema). [`validate`] runs it over files and follows `specRef`s between them. Everything
//! that can go wrong comes out as a [`diagnostic::Diagnostic`] with a code and a location.

pub mod de;
pub mod diagnostic;
pub mod discover;
pub mod lint;
pub mod model;
pub mod node;
pub mod regions;
pub mod schema;
pub mod selector;
pub mod validate;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use model::ModelSpec;
pub use validate::{DocumentReport, FileReport, Input, Options, validate_inputs, validate_text};
pub use yaml::{Limits, Syntax};
