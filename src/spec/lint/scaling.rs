//! Rules about replica scaling.

use super::{Context, LintInfo};
use crate::spec::diagnostic::{Diagnostic, Severity};

/// `maxReplicas` below `minReplicas`: no replica count satisfies both.
pub const REPLICAS_RANGE: &str = "replicas-range";
/// `warmPool.size` above `maxReplicas`: the pool can never be that large.
pub const WARM_POOL_EXCEEDS_MAX: &str = "warm-pool-exceeds-max";

pub(super) const REPLICAS_RANGE_INFO: LintInfo = LintInfo {
    code: REPLICAS_RANGE,
    severity: Severity::Error,
    summary: "operations.scaling.maxReplicas must be at least minReplicas",
};

pub(super) const WARM_POOL_INFO: LintInfo = LintInfo {
    code: WARM_POOL_EXCEEDS_MAX,
    severity: Severity::Warning,
    summary: "operations.scaling.warmPool.size should not exceed maxReplicas",
};

pub(super) fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(scaling) = cx.spec.spec.operations.as_ref().and_then(|o| o.scaling.as_ref()) else {
        return;
    };
    if let (Some(min), Some(max)) = (scaling.min_replicas, scaling.max_replicas)
        && max < min
    {
        out.push(
            cx.at(
                REPLICAS_RANGE,
                Severity::Error,
                &["spec", "operations", "scaling", "maxReplicas"],
                format!("maxReplicas ({max}) is less than minReplicas ({min})"),
            )
            .with_help("raise maxReplicas or lower minReplicas"),
        );
    }
    if let (Some(size), Some(max)) = (scaling.warm_pool.as_ref().and_then(|w| w.size), scaling.max_replicas)
        && size > max
    {
        out.push(
            cx.at(
                WARM_POOL_EXCEEDS_MAX,
                Severity::Warning,
                &["spec", "operations", "scaling", "warmPool", "size"],
                format!("warmPool.size ({size}) is larger than maxReplicas ({max})"),
            )
            .with_help("a warm pool larger than the replica ceiling can never be filled"),
        );
    }
}
