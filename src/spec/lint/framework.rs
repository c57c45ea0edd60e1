//! Rules about the serving framework.

use super::{Context, LintInfo};
use crate::spec::diagnostic::{Diagnostic, Severity};

/// `framework: vllm` without `runtime.batch.maxSequenceLengthTokens`: the standard's own
/// validator rejects it, because vLLM sizes its KV cache from the maximum length.
pub const VLLM_MAX_SEQUENCE_LENGTH: &str = "vllm-max-sequence-length";

pub(super) const VLLM_MAX_SEQUENCE_LENGTH_INFO: LintInfo = LintInfo {
    code: VLLM_MAX_SEQUENCE_LENGTH,
    severity: Severity::Error,
    summary: "framework vllm requires runtime.batch.maxSequenceLengthTokens",
};

pub(super) fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let model = &cx.spec.spec.identity.model;
    let has_max_len = cx
        .spec
        .spec
        .runtime
        .batch
        .as_ref()
        .is_some_and(|b| b.max_sequence_length_tokens.is_some());
    // The reference validator compares the exact string; we also catch `vLLM` and ` vllm `.
    if model.framework.trim().eq_ignore_ascii_case("vllm") && !has_max_len {
        out.push(
            cx.at(
                VLLM_MAX_SEQUENCE_LENGTH,
                Severity::Error,
                &["spec", "identity", "model", "framework"],
                "framework vllm requires runtime.batch.maxSequenceLengthTokens",
            )
            .with_help("declare the longest sequence the deployment serves, e.g. `runtime: {batch: {maxSequenceLengthTokens: 8192}}` (vLLM's --max-model-len)"),
        );
    }
}
