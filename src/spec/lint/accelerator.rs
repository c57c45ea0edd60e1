//! Rules about the accelerator and the precision it must run.

use super::{Context, LintInfo};
use crate::catalogue::{Precision, PrecisionSpelling, parse_declared_type};
use crate::spec::diagnostic::{Diagnostic, Severity};

/// A precision the declared GPU cannot run natively (bf16 on a T4, fp8 on an A100).
pub const PRECISION_UNSUPPORTED: &str = "precision-unsupported";
/// A precision spelling we do not recognise, so nothing can be checked against it.
pub const PRECISION_UNKNOWN: &str = "precision-unknown";
/// An NVIDIA accelerator type that is not in the GPU catalogue.
pub const UNKNOWN_TYPE: &str = "accelerator-unknown-type";

pub(super) const PRECISION_UNSUPPORTED_INFO: LintInfo = LintInfo {
    code: PRECISION_UNSUPPORTED,
    severity: Severity::Error,
    summary: "identity.model.precision must run natively on the declared GPU",
};

pub(super) const PRECISION_UNKNOWN_INFO: LintInfo = LintInfo {
    code: PRECISION_UNKNOWN,
    severity: Severity::Warning,
    summary: "identity.model.precision should be a known precision (fp32, fp16, bf16, fp8, fp4, int8, int4)",
};

pub(super) const UNKNOWN_TYPE_INFO: LintInfo = LintInfo {
    code: UNKNOWN_TYPE,
    severity: Severity::Warning,
    summary: "runtime.accelerator.type should be a known NVIDIA or AMD GPU type",
};

const PRECISION_PATH: &[&str] = &["spec", "identity", "model", "precision"];

pub(super) fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let accelerator = &cx.spec.spec.runtime.accelerator;
    let precision = match cx.spec.spec.identity.model.precision.as_deref().map(Precision::parse) {
        Some(PrecisionSpelling::Known(p)) => Some(p),
        Some(PrecisionSpelling::Unknown) => {
            let written = cx.spec.spec.identity.model.precision.as_deref().unwrap_or_default();
            let names: Vec<&str> = Precision::ALL.iter().map(|p| p.as_str()).collect();
            let help = match crate::suggest::closest(written, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known precisions: {}, or auto", names.join(", ")),
            };
            out.push(
                cx.at(
                    PRECISION_UNKNOWN,
                    Severity::Warning,
                    PRECISION_PATH,
                    format!("unknown precision {}", crate::spec::node::quote_short(written)),
                )
                .with_help(help),
            );
            None
        }
        Some(PrecisionSpelling::Auto) | None => None,
    };
    if accelerator.vendor.trim().eq_ignore_ascii_case("amd") {
        amd(cx, &accelerator.kind, precision, out);
        return;
    }
    if !accelerator.vendor.trim().eq_ignore_ascii_case("nvidia") {
        // Only NVIDIA and AMD GPUs are catalogued; other vendors are checked at scan time.
        return;
    }
    let declared = match parse_declared_type(&accelerator.kind) {
        Ok(d) => d,
        Err(unknown) => {
            let help = match unknown.suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => {
                    "use a catalogued type such as a10g, l4, l40s, a100-80gb, h100 or h200 (see src/catalogue/gpu.rs)"
                        .to_string()
                }
            };
            out.push(
                cx.at(
                    UNKNOWN_TYPE,
                    Severity::Warning,
                    &["spec", "runtime", "accelerator", "type"],
                    format!(
                        "unknown NVIDIA accelerator type {}",
                        crate::spec::node::quote_short(&accelerator.kind)
                    ),
                )
                .with_help(help),
            );
            return;
        }
    };
    let Some(precision) = precision else {
        return;
    };
    // A family-level type (`a100`) may be any of several products; complain only when none
    // of them can run the precision.
    let best = declared.candidates().map(|m| m.compute_capability).max();
    if let Some(cc) = best
        && !declared.candidates().any(|m| m.supports(precision))
    {
        let needs = precision.min_compute_capability();
        out.push(unsupported(
            cx,
            precision,
            &accelerator.kind,
            &format!("it needs compute capability {needs}, the GPU has {cc}"),
            |p| p.min_compute_capability() <= cc,
        ));
    }
}

/// `vendor: amd`: the type against the AMD Instinct catalogue, the precision against its
/// architecture.
fn amd(cx: &Context, kind: &str, precision: Option<Precision>, out: &mut Vec<Diagnostic>) {
    use crate::catalogue::amd::{Gfx, known_amd_types, parse_declared_amd_type};
    let Some(declared) = parse_declared_amd_type(kind) else {
        let known: Vec<&str> = known_amd_types().collect();
        let help = match crate::suggest::closest(kind.trim(), known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "use a catalogued AMD Instinct type ({}), optionally with its memory (mi300x-192gb) or partition modes (mi300x-cpx-nps4)",
                known.join(", ")
            ),
        };
        out.push(
            cx.at(
                UNKNOWN_TYPE,
                Severity::Warning,
                &["spec", "runtime", "accelerator", "type"],
                format!("unknown AMD accelerator type {}", crate::spec::node::quote_short(kind)),
            )
            .with_help(help),
        );
        return;
    };
    let Some(precision) = precision else {
        return;
    };
    if let Some(model) = declared.candidates().next()
        && !declared.candidates().any(|m| m.supports(precision))
    {
        out.push(unsupported(
            cx,
            precision,
            kind,
            &format!(
                "it needs {}, the GPU is {} ({})",
                Gfx::first_supporting(precision),
                model.gfx.architecture(),
                model.gfx.target()
            ),
            |p| model.gfx.supports(p),
        ));
    }
}

/// `precision-unsupported`: `precision` on the declared `kind`, why not, and what the GPU runs.
fn unsupported(
    cx: &Context,
    precision: Precision,
    kind: &str,
    why: &str,
    runs: impl Fn(Precision) -> bool,
) -> Diagnostic {
    let ok: Vec<&str> = Precision::ALL
        .iter()
        .filter(|p| runs(**p))
        .map(|p| p.as_str())
        .collect();
    cx.at(
        PRECISION_UNSUPPORTED,
        Severity::Error,
        PRECISION_PATH,
        format!(
            "{} is not supported natively by {}: {why}",
            precision.as_str(),
            kind.trim()
        ),
    )
    .with_help(format!("this GPU runs {}; or declare a newer GPU", ok.join(", ")))
}
