//! Lints: semantic rules beyond what the JSON Schema can say.
//!
//! Each rule lives in the module named for the part of the spec it reads, with its stable
//! code as a `pub const` there ([`LINTS`] lists them all). Lints run only on documents that
//! passed the schema, read the typed [`ModelSpec`], and point back into the file through the
//! raw tree. They are pure: the one lint that needs other files (a dependency's `specRef`)
//! gets what it needs from the caller as [`SpecRef`]s and is finished by
//! [`super::validate`], which owns the file system.

mod accelerator;
mod dependencies;
mod framework;
pub(crate) mod metadata;
mod scaling;
mod serving;

pub use dependencies::{
    CYCLE as DEPENDENCY_CYCLE, SPEC_INVALID as DEPENDENCY_SPEC_INVALID, SPEC_MISSING as DEPENDENCY_SPEC_MISSING,
};

use super::diagnostic::{Diagnostic, Severity};
use super::model::ModelSpec;
use super::node::{Node, Span, pointer_of};

/// A lint's code, severity and one-line summary, for documentation and `--list-codes`.
#[derive(Debug, Clone, Copy)]
pub struct LintInfo {
    /// Stable code.
    pub code: &'static str,
    /// Severity it is reported at.
    pub severity: Severity,
    /// What it checks.
    pub summary: &'static str,
}

/// Every lint, in the order they run.
pub const LINTS: &[LintInfo] = &[
    framework::VLLM_MAX_SEQUENCE_LENGTH_INFO,
    scaling::REPLICAS_RANGE_INFO,
    scaling::WARM_POOL_INFO,
    serving::PROBE_TIMEOUT_INFO,
    accelerator::PRECISION_UNSUPPORTED_INFO,
    accelerator::PRECISION_UNKNOWN_INFO,
    accelerator::UNKNOWN_TYPE_INFO,
    dependencies::DUPLICATE_ID_INFO,
    dependencies::SPEC_MISSING_INFO,
    dependencies::SPEC_INVALID_INFO,
    dependencies::CYCLE_INFO,
    metadata::NAME_INFO,
    metadata::WORKLOAD_SELECTOR_INFO,
    metadata::PLACEHOLDER_INFO,
];

/// A `specRef` found in a document, for the caller to resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecRef {
    /// The path as written.
    pub target: String,
    /// Pointer of the `specRef` value.
    pub pointer: String,
    /// Where it was written.
    pub span: Span,
}

/// What lints read: the typed spec and the tree it came from.
pub struct Context<'a> {
    /// The typed document.
    pub spec: &'a ModelSpec,
    /// The raw tree, for locations.
    pub root: &'a Node,
}

impl Context<'_> {
    /// Pointer and span of the value at `path`, or of the nearest existing ancestor.
    pub fn locate(&self, path: &[&str]) -> (String, Span) {
        let mut node = self.root;
        let mut key: Option<&Node> = None;
        for token in path {
            let next = match &node.value {
                super::node::Value::Map(entries) => entries
                    .iter()
                    .find(|e| e.key.as_str() == Some(token))
                    .map(|e| (Some(&e.key), &e.value)),
                super::node::Value::Seq(items) => token
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|n| (None, n)),
                _ => None,
            };
            match next {
                Some((k, n)) => {
                    key = k;
                    node = n;
                }
                None => break,
            }
        }
        (pointer_of(path.iter().copied()), node.anchor(key))
    }

    /// A diagnostic at the value at `path`.
    pub fn at(&self, code: &'static str, severity: Severity, path: &[&str], message: impl Into<String>) -> Diagnostic {
        let (pointer, span) = self.locate(path);
        Diagnostic::new(code, severity, pointer, span, message)
    }
}

/// Runs every lint on a schema-valid document; returns its diagnostics and the `specRef`s
/// left for the caller to resolve.
pub fn run(spec: &ModelSpec, root: &Node) -> (Vec<Diagnostic>, Vec<SpecRef>) {
    let cx = Context { spec, root };
    let mut out = Vec::new();
    framework::check(&cx, &mut out);
    scaling::check(&cx, &mut out);
    serving::check(&cx, &mut out);
    accelerator::check(&cx, &mut out);
    dependencies::check(&cx, &mut out);
    metadata::check(&cx, &mut out);
    let refs = dependencies::spec_refs(&cx);
    (out, refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for l in LINTS {
            assert!(seen.insert(l.code), "duplicate {}", l.code);
            assert!(
                l.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                l.code
            );
        }
    }
}
