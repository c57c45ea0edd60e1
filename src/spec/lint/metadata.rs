//! Rules about the spec's own metadata.

use super::{Context, LintInfo};
use crate::spec::diagnostic::{Diagnostic, Severity};
use crate::spec::selector::{Selector, WORKLOAD_ANNOTATION};

/// `metadata.name` that is not a DNS-1123 label: it cannot name the Kubernetes objects,
/// metrics labels and files a deployment derives from it.
pub const NAME_NOT_DNS_LABEL: &str = "metadata-name-not-dns-label";

pub(super) const NAME_INFO: LintInfo = LintInfo {
    code: NAME_NOT_DNS_LABEL,
    severity: Severity::Warning,
    summary: "metadata.name should be a DNS-1123 label",
};

/// Lowercase letters, digits and `-`, starting and ending with a letter or digit, 1 to 63
/// characters (RFC 1123, as Kubernetes applies it).
pub fn is_dns_label(s: &str) -> bool {
    let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= 63 && ok_char(first) && ok_char(last) && bytes.iter().all(|&b| ok_char(b) || b == b'-')
        }
        _ => false,
    }
}

/// A DNS-1123 spelling of `s` (to suggest, or to name a drafted spec); empty when `s` has no
/// letter or digit.
pub fn dns_spelling(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut collapsed = String::with_capacity(mapped.len());
    for c in mapped.chars() {
        if !(c == '-' && collapsed.ends_with('-')) {
            collapsed.push(c);
        }
    }
    collapsed
        .trim_matches('-')
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// A `modelspec.piqc.ai/workload` annotation that is not a workload selector: the scan could
/// not use it to find the spec's workload.
pub const WORKLOAD_SELECTOR: &str = "metadata-workload-selector-invalid";

pub(super) const WORKLOAD_SELECTOR_INFO: LintInfo = LintInfo {
    code: WORKLOAD_SELECTOR,
    severity: Severity::Error,
    summary: "the modelspec.piqc.ai/workload annotation is a workload selector (pid:PID, container:NAME, NAMESPACE/POD)",
};

/// A field still holding the placeholder `modelspec init` writes where the node could not
/// tell the value: the draft has not been reviewed.
pub const PLACEHOLDER: &str = "draft-placeholder";

pub(super) const PLACEHOLDER_INFO: LintInfo = LintInfo {
    code: PLACEHOLDER,
    severity: Severity::Warning,
    summary: "no field still holds the TODO placeholder of a draft (`modelspec init`)",
};

/// The placeholder.
pub const TODO: &str = "TODO";

fn placeholders(cx: &Context, out: &mut Vec<Diagnostic>) {
    let model = &cx.spec.spec.identity.model;
    let accelerator = &cx.spec.spec.runtime.accelerator;
    let fields: [(&[&str], &str); 6] = [
        (&["spec", "identity", "model", "id"], &model.id),
        (&["spec", "identity", "model", "family"], &model.family),
        (&["spec", "identity", "model", "task"], &model.task),
        (&["spec", "identity", "model", "framework"], &model.framework),
        (&["spec", "runtime", "accelerator", "vendor"], &accelerator.vendor),
        (&["spec", "runtime", "accelerator", "type"], &accelerator.kind),
    ];
    for (path, value) in fields {
        if value.trim() == TODO {
            out.push(
                cx.at(
                    PLACEHOLDER,
                    Severity::Warning,
                    path,
                    format!("{} is still the draft's placeholder {TODO:?}", path[1..].join(".")),
                )
                .with_help("write what the deployment is: the node could not tell it (see the comment beside it)"),
            );
        }
    }
}

pub(super) fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    placeholders(cx, out);
    if let Some(text) = cx.spec.metadata.annotations.get(WORKLOAD_ANNOTATION)
        && let Err(why) = text.parse::<Selector>()
    {
        out.push(
            cx.at(
                WORKLOAD_SELECTOR,
                Severity::Error,
                &["metadata", "annotations", WORKLOAD_ANNOTATION],
                format!("the {WORKLOAD_ANNOTATION} annotation is not a workload selector: {why}"),
            )
            .with_help("write container:NAME-OR-ID or NAMESPACE/POD[/CONTAINER] (`*` matches any run of characters)"),
        );
    }
    name(cx, out);
}

fn name(cx: &Context, out: &mut Vec<Diagnostic>) {
    let name = &cx.spec.metadata.name;
    if is_dns_label(name) {
        return;
    }
    let why = if name.len() > 63 {
        format!("is {} characters long; at most 63 are allowed", name.len())
    } else {
        "must be lowercase letters, digits and '-', starting and ending with a letter or digit".to_string()
    };
    let mut d = cx.at(
        NAME_NOT_DNS_LABEL,
        Severity::Warning,
        &["metadata", "name"],
        format!(
            "metadata.name {} is not a DNS-1123 label: it {why}",
            crate::spec::node::quote_short(name)
        ),
    );
    let suggestion = dns_spelling(name);
    if !suggestion.is_empty() {
        d = d.with_help(format!("use `{suggestion}`"));
    }
    out.push(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "llama-3-70b", "x1", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "My_Model", "a.b", "ä", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn suggestions_are_dns_labels() {
        assert_eq!(dns_spelling("My_Model"), "my-model");
        assert_eq!(dns_spelling("--A..b--"), "a-b");
        assert!(is_dns_label(&dns_spelling(&"Ab_".repeat(40))));
    }
}
