//! Rules about the serving endpoint.

use super::{Context, LintInfo};
use crate::spec::diagnostic::{Diagnostic, Severity};

/// A probe allowed to wait longer than the request timeout: it would report a hung server as
/// healthy for longer than any client waits.
pub const PROBE_TIMEOUT_EXCEEDS_SERVING: &str = "probe-timeout-exceeds-serving";

pub(super) const PROBE_TIMEOUT_INFO: LintInfo = LintInfo {
    code: PROBE_TIMEOUT_EXCEEDS_SERVING,
    severity: Severity::Warning,
    summary: "a probe's timeoutSeconds should not exceed operations.serving.timeoutSeconds",
};

pub(super) fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(serving) = cx.spec.spec.operations.as_ref().and_then(|o| o.serving.as_ref()) else {
        return;
    };
    let Some(limit) = serving.timeout_seconds else {
        return;
    };
    for (field, probe) in [
        ("readinessProbe", &serving.readiness_probe),
        ("livenessProbe", &serving.liveness_probe),
    ] {
        if let Some(timeout) = probe.as_ref().and_then(|p| p.timeout_seconds)
            && timeout > limit
        {
            out.push(
                cx.at(
                    PROBE_TIMEOUT_EXCEEDS_SERVING,
                    Severity::Warning,
                    &["spec", "operations", "serving", field, "timeoutSeconds"],
                    format!("{field}.timeoutSeconds ({timeout}) is longer than serving.timeoutSeconds ({limit})"),
                )
                .with_help("a probe should give up no later than a request would"),
            );
        }
    }
}
