//! Governance domain: a model that must not see personal data must not have its requests or
//! prompts written to logs.

use super::engine::{EngineView, Unseen};
use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::spec::ModelSpec;

/// With `pii.allowed: false`, the engine does not log requests or prompts.
pub const PII_REQUEST_LOGGING: Check = Check {
    code: "pii-request-logging",
    domain: Domain::Governance,
    summary: "no request or prompt logging while PII is not allowed",
    explanation: "With governance.compliance.pii.allowed: false, the engine must not log requests or prompts. Sources: vLLM --enable-log-requests (off by default), SGLang /server_info log_requests.",
    pointers: &["/spec/governance/compliance/pii/allowed"],
};

pub(crate) fn check(spec: &ModelSpec, view: &Result<EngineView, Unseen>, out: &mut Vec<Finding>) {
    let pii_allowed = spec
        .spec
        .governance
        .as_ref()
        .and_then(|g| g.compliance.as_ref())
        .and_then(|c| c.pii.as_ref())
        .and_then(|p| p.allowed);
    if pii_allowed == Some(false) {
        out.push(request_logging(view));
    }
}

fn request_logging(view: &Result<EngineView, Unseen>) -> Finding {
    let b = FindingBuilder::new(&PII_REQUEST_LOGGING, "/spec/governance/compliance/pii/allowed").declared(false);
    let view = match view {
        Ok(v) => v,
        Err(unseen) => return unseen.finding(b),
    };
    let Some(fact) = &view.facts.request_logging else {
        return b.status(
            Status::Unknown,
            view.missing("request_logging", "whether the engine logs requests"),
        );
    };
    let b = b.observed(fact.value).evidence(
        "http+host",
        view.evidence(fact),
        "with personal data not allowed, the engine must not log requests or prompts",
    );
    if fact.value {
        b.remediation("turn request logging off (vLLM: drop --enable-log-requests; SGLang: drop --log-requests)")
            .status(
                Status::Fail,
                format!(
                    "the engine logs requests ({}) while PII is not allowed",
                    fact.source.describe()
                ),
            )
    } else {
        b.status(
            Status::Pass,
            format!("the engine does not log requests ({})", fact.source.describe()),
        )
    }
}
