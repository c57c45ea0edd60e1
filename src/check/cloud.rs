//! Where the deployment is priced (`governance.cost.pricingHints`) against where it runs: the
//! cloud provider, the instance type and spot capacity. A cost target priced for an on-demand
//! p5.48xlarge means nothing on a spot p4d.24xlarge in another cloud.
//!
//! Two sources, the stronger first: the cloud's instance metadata service (asked only with
//! `--cloud-metadata`; the only source of the spot question and, outside AWS, of the instance
//! type), then the machine's DMI strings (always read; they name the provider, and on EC2 the
//! instance type).

use modelspec_probe_host::{DmiFacts, Observed};
use serde_json::{Value as Json, json};

use super::{Check, Domain, Finding, FindingBuilder, Status};
use crate::observe::cloud::{CloudSnapshot, Instance};
use crate::observe::{Observation, ProbeOutcome};
use crate::spec::ModelSpec;
use crate::spec::model::PricingHints;

/// The node is the cloud, instance type and capacity the cost is priced for.
pub const PRICING_HINTS: Check = Check {
    code: "pricing-hints",
    domain: Domain::Governance,
    summary: "the node is the cloud provider, instance type and capacity the cost is priced for",
    explanation: "governance.cost.pricingHints against the node, one finding per declared field. cloudProvider (aws, gcp, azure, oci; their usual spellings too): the provider the instance metadata service answered for, else the one the DMI strings name (/sys/class/dmi/id: sys_vendor Amazon EC2, Google Compute Engine, Microsoft Corporation with Azure's chassis asset tag, OracleCloud.com); DMI that names another maker fails, unreadable DMI is unknown. instanceType: the metadata service's instance type (AWS instance-type, Google machine-type, Azure vmSize), else on EC2 the DMI product name; compared without case; unknown without a source (scan with --cloud-metadata). spotAllowed: false fails on spot capacity (AWS instance-life-cycle spot, Google scheduling/preemptible TRUE, Azure priority Spot or Low); the metadata service is the only source, so it is unknown without --cloud-metadata. The metadata service is asked only with --cloud-metadata (--cloud-metadata-endpoint URL to ask another base URL).",
    pointers: &["/spec/governance/cost/pricingHints"],
};

const POINTER: &str = "/spec/governance/cost/pricingHints";

/// Azure's chassis asset tag on every Azure VM.
const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

/// The providers this version recognises, with the spellings a spec may use.
const PROVIDERS: &[(&str, &str, &[&str])] = &[
    (
        "aws",
        "AWS",
        &["aws", "amazon", "amazon web services", "ec2", "amazon ec2"],
    ),
    (
        "gcp",
        "Google Cloud",
        &["gcp", "google", "google cloud", "gce", "google compute engine"],
    ),
    ("azure", "Azure", &["azure", "microsoft", "microsoft azure"]),
    ("oci", "Oracle Cloud", &["oci", "oracle", "oracle cloud"]),
];

pub(crate) fn check(spec: &ModelSpec, observation: &Observation, out: &mut Vec<Finding>) {
    let Some(hints) = spec
        .spec
        .governance
        .as_ref()
        .and_then(|g| g.cost.as_ref())
        .and_then(|c| c.pricing_hints.as_ref())
    else {
        return;
    };
    let node = Node::of(observation);
    provider(hints, &node, out);
    instance_type(hints, &node, out);
    spot(hints, &node, out);
}

/// What the node says of itself.
struct Node<'a> {
    dmi: Result<&'a DmiFacts, String>,
    /// The metadata service's answer, or why there is none.
    imds: Result<(&'a str, &'a Instance), String>,
    raw: Json,
}

impl<'a> Node<'a> {
    fn of(observation: &'a Observation) -> Node<'a> {
        let dmi = match &observation.host {
            ProbeOutcome::Observed { snapshot, .. } => match &snapshot.dmi {
                Observed::Ok { value } => Ok(value),
                Observed::Absent { reason } | Observed::Unknown { reason } => Err(reason.clone()),
            },
            ProbeOutcome::TimedOut { .. } => Err("the host probe did not answer in time".into()),
            ProbeOutcome::NotRun { reason } => Err(reason.clone()),
        };
        let imds = match &observation.cloud {
            ProbeOutcome::Observed { snapshot, .. } => snapshot.answered().ok_or_else(|| silent(snapshot)),
            ProbeOutcome::TimedOut { .. } => Err("the cloud's metadata service did not answer in time".into()),
            ProbeOutcome::NotRun { .. } => {
                Err("the cloud's metadata service was not asked (scan with --cloud-metadata)".into())
            }
        };
        let raw = json!({
            "dmi": dmi.as_ref().map_or_else(|why| json!({"unseen": why}), |d| json!(d)),
            "metadata_service": match &observation.cloud {
                ProbeOutcome::Observed { snapshot, .. } => json!(snapshot.providers),
                _ => json!({"unseen": imds.as_ref().err()}),
            },
        });
        Node { dmi, imds, raw }
    }

    /// The provider, how it is known, and the evidence's probe (`imds`, `dmi`).
    fn provider(&self) -> Result<(&'static str, String, &'static str), String> {
        if let Ok((provider, _)) = &self.imds
            && let Some(id) = PROVIDERS.iter().map(|p| p.0).find(|id| id == provider)
        {
            return Ok((id, format!("{} instance metadata service", name_of(id)), "imds"));
        }
        let dmi = self.dmi.as_ref().map_err(Clone::clone)?;
        match dmi_provider(dmi) {
            Some(id) => Ok((id, format!("DMI: {}", describe(dmi)), "dmi")),
            None => Err(format!("DMI names no cloud: {}", describe(dmi))),
        }
    }
}

fn silent(snapshot: &CloudSnapshot) -> String {
    let reasons: Vec<String> = snapshot
        .providers
        .iter()
        .map(|p| format!("{}: {}", p.provider, p.instance.reason().unwrap_or("no answer")))
        .collect();
    format!("no metadata service described the instance ({})", reasons.join("; "))
}

fn name_of(id: &str) -> &'static str {
    PROVIDERS.iter().find(|p| p.0 == id).map_or("", |p| p.1)
}

/// The provider a spec's spelling means.
fn declared_provider(text: &str) -> Option<&'static str> {
    let text = text.trim().to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|(_, _, spellings)| spellings.contains(&text.as_str()))
        .map(|p| p.0)
}

/// The provider the DMI strings name.
fn dmi_provider(dmi: &DmiFacts) -> Option<&'static str> {
    let is = |value: &Option<String>, want: &str| value.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want));
    if is(&dmi.sys_vendor, "Amazon EC2") || is(&dmi.bios_vendor, "Amazon EC2") {
        Some("aws")
    } else if is(&dmi.product_name, "Google Compute Engine") || is(&dmi.sys_vendor, "Google") {
        Some("gcp")
    } else if is(&dmi.chassis_asset_tag, AZURE_ASSET_TAG) {
        Some("azure")
    } else if is(&dmi.chassis_asset_tag, "OracleCloud.com") {
        Some("oci")
    } else {
        None
    }
}

/// `Dell Inc. PowerEdge XE9680`: the maker and the product.
fn describe(dmi: &DmiFacts) -> String {
    let parts: Vec<&str> = [&dmi.sys_vendor, &dmi.product_name]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .collect();
    if parts.is_empty() {
        "no maker or product".into()
    } else {
        parts.join(" ")
    }
}

/// An EC2 instance type as the DMI product name carries it (`p5.48xlarge`).
fn ec2_instance_type(dmi: &DmiFacts) -> Option<&str> {
    let name = dmi.product_name.as_deref()?;
    let (family, size) = name.split_once('.')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (ok(family) && ok(size)).then_some(name)
}

fn b(field: &str) -> FindingBuilder {
    FindingBuilder::new(&PRICING_HINTS, &format!("{POINTER}/{field}"))
}

fn provider(hints: &PricingHints, node: &Node<'_>, out: &mut Vec<Finding>) {
    let Some(declared) = &hints.cloud_provider else {
        return;
    };
    let f = b("cloudProvider").declared(declared.as_str());
    let Some(want) = declared_provider(declared) else {
        out.push(f.status(
            Status::Unknown,
            format!(
                "{declared:?} is not a provider this version recognises ({}); nothing on the node can confirm it",
                PROVIDERS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
            ),
        ));
        return;
    };
    match node.provider() {
        Ok((seen, source, probe)) => {
            let f = f
                .observed(seen)
                .evidence(probe, node.raw.clone(), "the node runs on the declared provider");
            out.push(if seen == want {
                f.status(Status::Pass, format!("the node runs on {} ({source})", name_of(seen)))
            } else {
                f.remediation("run the deployment where it is priced, or correct cloudProvider")
                    .status(
                        Status::Fail,
                        format!(
                            "priced for {}, but the node runs on {} ({source})",
                            name_of(want),
                            name_of(seen)
                        ),
                    )
            });
        }
        // DMI that names a maker and no cloud: the node is not on the declared provider.
        Err(why) if node.dmi.is_ok() => out.push(
            f.observed(Json::Null)
                .evidence("dmi", node.raw.clone(), "the node runs on the declared provider")
                .remediation("run the deployment where it is priced, or correct cloudProvider")
                .status(Status::Fail, format!("priced for {}, but {why}", name_of(want))),
        ),
        Err(why) => out.push(
            f.evidence("dmi", node.raw.clone(), "the node runs on the declared provider")
                .status(Status::Unknown, format!("the node's provider is not known: {why}")),
        ),
    }
}

fn instance_type(hints: &PricingHints, node: &Node<'_>, out: &mut Vec<Finding>) {
    let Some(declared) = &hints.instance_type else {
        return;
    };
    let f = b("instanceType").declared(declared.as_str());
    let rule = "the node is the declared instance type";
    let seen = match &node.imds {
        Ok((provider, instance)) if instance.instance_type.is_some() => instance
            .instance_type
            .as_deref()
            .map(|t| (t, format!("{} instance metadata service", name_of(provider)), "imds")),
        _ => node
            .dmi
            .as_ref()
            .ok()
            .filter(|d| dmi_provider(d) == Some("aws"))
            .and_then(|d| ec2_instance_type(d))
            .map(|t| (t, "DMI product name on EC2".to_string(), "dmi")),
    };
    let Some((seen, source, probe)) = seen else {
        let why = node
            .imds
            .as_ref()
            .err()
            .cloned()
            .unwrap_or_else(|| "it named no instance type".into());
        out.push(
            f.evidence("dmi", node.raw.clone(), rule)
                .status(Status::Unknown, format!("the instance type is not known: {why}")),
        );
        return;
    };
    let f = f.evidence(probe, node.raw.clone(), rule).observed(seen);
    out.push(if seen.eq_ignore_ascii_case(declared.trim()) {
        f.status(Status::Pass, format!("the node is a {seen} ({source})"))
    } else {
        f.remediation("run the deployment on the instance type it is priced for, or correct instanceType")
            .status(
                Status::Fail,
                format!("priced for {declared}, but the node is a {seen} ({source})"),
            )
    });
}

fn spot(hints: &PricingHints, node: &Node<'_>, out: &mut Vec<Finding>) {
    let Some(allowed) = hints.spot_allowed else {
        return;
    };
    let f = b("spotAllowed").declared(allowed);
    let instance = match &node.imds {
        Ok((provider, instance)) => instance.spot.map(|spot| (spot, *provider, instance.lifecycle.clone())),
        Err(_) => None,
    };
    let Some((spot, provider, lifecycle)) = instance else {
        let why = node
            .imds
            .as_ref()
            .err()
            .cloned()
            .unwrap_or_else(|| "it did not say whether the instance is spot".into());
        out.push(
            f.evidence("imds", node.raw.clone(), "no spot capacity unless spotAllowed")
                .status(
                    Status::Unknown,
                    format!("whether the node is spot capacity is not known: {why}"),
                ),
        );
        return;
    };
    let said = format!(
        "{} says {}",
        name_of(provider),
        lifecycle.as_deref().unwrap_or(if spot { "spot" } else { "not spot" })
    );
    let f = f
        .observed(spot)
        .evidence("imds", node.raw.clone(), "no spot capacity unless spotAllowed");
    out.push(match (spot, allowed) {
        (true, false) => f
            .remediation("move the deployment to on-demand (or reserved) capacity, or allow spot in pricingHints")
            .status(
                Status::Fail,
                format!("spot capacity, which the pricing does not allow ({said})"),
            ),
        (true, true) => f.status(
            Status::Pass,
            format!("spot capacity, which the pricing allows ({said})"),
        ),
        (false, _) => f.status(Status::Pass, format!("not spot capacity ({said})")),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_read_from_their_spellings_and_dmi() {
        assert_eq!(declared_provider(" AWS "), Some("aws"));
        assert_eq!(declared_provider("Google Cloud"), Some("gcp"));
        assert_eq!(declared_provider("coreweave"), None);
        let dmi = |vendor: &str, product: &str, tag: &str| DmiFacts {
            sys_vendor: Some(vendor.into()),
            product_name: Some(product.into()),
            chassis_asset_tag: Some(tag.into()),
            ..DmiFacts::default()
        };
        assert_eq!(dmi_provider(&dmi("Amazon EC2", "p5.48xlarge", "")), Some("aws"));
        assert_eq!(dmi_provider(&dmi("Google", "Google Compute Engine", "")), Some("gcp"));
        assert_eq!(
            dmi_provider(&dmi("Microsoft Corporation", "Virtual Machine", AZURE_ASSET_TAG)),
            Some("azure")
        );
        assert_eq!(dmi_provider(&dmi("Dell Inc.", "PowerEdge XE9680", "")), None);
        assert_eq!(
            ec2_instance_type(&dmi("Amazon EC2", "p5.48xlarge", "")),
            Some("p5.48xlarge")
        );
        assert_eq!(ec2_instance_type(&dmi("Amazon EC2", "Not Specified", "")), None);
    }
}
