//! Rules about `pipeline.dependencies`.
//!
//! Duplicate ids are checked here. The `specRef` rules need the file system and the whole set
//! of files being validated, so this module only names them and hands the references out;
//! [`crate::spec::validate`] resolves them.

use super::{Context, LintInfo, SpecRef};
use crate::spec::diagnostic::{Diagnostic, Severity};

/// Two dependencies with the same id: references to the id become ambiguous.
pub const DUPLICATE_ID: &str = "dependency-duplicate-id";
/// A `specRef` that names no file (the published examples do this, so it is a warning).
pub const SPEC_MISSING: &str = "dependency-spec-missing";
/// A `specRef` to a file that is not a valid ModelSpec.
pub const SPEC_INVALID: &str = "dependency-spec-invalid";
/// `specRef`s that lead back to where they started.
pub const CYCLE: &str = "dependency-cycle";

pub(super) const DUPLICATE_ID_INFO: LintInfo = LintInfo {
    code: DUPLICATE_ID,
    severity: Severity::Error,
    summary: "pipeline.dependencies[].id must be unique",
};
pub(super) const SPEC_MISSING_INFO: LintInfo = LintInfo {
    code: SPEC_MISSING,
    severity: Severity::Warning,
    summary: "pipeline.dependencies[].specRef should name an existing file (relative to the spec)",
};
pub(super) const SPEC_INVALID_INFO: LintInfo = LintInfo {
    code: SPEC_INVALID,
    severity: Severity::Error,
    summary: "pipeline.dependencies[].specRef must name a valid ModelSpec",
};
pub(super) const CYCLE_INFO: LintInfo = LintInfo {
    code: CYCLE,
    severity: Severity::Error,
    summary: "pipeline.dependencies[].specRef must not form a cycle",
};

pub(super) fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(pipeline) = &cx.spec.spec.pipeline else {
        return;
    };
    for (i, dep) in pipeline.dependencies.iter().enumerate() {
        if let Some(first) = pipeline.dependencies[..i].iter().position(|d| d.id == dep.id) {
            let index = i.to_string();
            out.push(
                cx.at(
                    DUPLICATE_ID,
                    Severity::Error,
                    &["spec", "pipeline", "dependencies", &index, "id"],
                    format!("dependency id `{}` is already used by dependencies[{first}]", dep.id),
                )
                .with_help("give each dependency its own id"),
            );
        }
    }
}

/// Whether a reference names something other than a local file (`s3://`, `https://`).
fn is_remote(target: &str) -> bool {
    match target.split_once("://") {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// The local `specRef`s of the document, in order.
pub(super) fn spec_refs(cx: &Context) -> Vec<SpecRef> {
    let Some(pipeline) = &cx.spec.spec.pipeline else {
        return Vec::new();
    };
    pipeline
        .dependencies
        .iter()
        .enumerate()
        .filter_map(|(i, dep)| {
            let target = dep.spec_ref.as_deref()?.trim();
            if target.is_empty() || is_remote(target) {
                return None;
            }
            let index = i.to_string();
            let (pointer, span) = cx.locate(&["spec", "pipeline", "dependencies", &index, "specRef"]);
            Some(SpecRef {
                target: target.to_string(),
                pointer,
                span,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_references_are_recognised() {
        assert!(is_remote("s3://bucket/spec.yaml"));
        assert!(is_remote("https://example.com/x.yaml"));
        assert!(!is_remote("./deps/x.yaml"));
        assert!(!is_remote("C://x"));
        assert!(!is_remote("deps/a://b"));
    }
}
