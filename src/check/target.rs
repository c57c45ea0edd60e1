//! Which workload a spec means: the serving process, container and endpoint it is judged
//! against, and how that was decided.
//!
//! A node may serve several models, often in containers that all listen on `:8000` inside their
//! own network namespaces, so the port alone rarely names a workload. The host probe records
//! every candidate for each port it asked about; this module picks a spec's own, in order:
//!
//! 1. an explicit `--workload` selector (container id or name, `namespace/pod`; a pid becomes
//!    `--pid` and is asked about directly);
//! 2. the selector in the spec's own annotation [`WORKLOAD_ANNOTATION`];
//! 3. the port together with the model id the engine says it serves;
//! 4. the port alone, when exactly one process serves it and no other spec claimed it.
//!
//! Several candidates and none chosen is `unknown`, listing them. Nothing of the spec running
//! here is "not deployed on this node": its checks are skipped and the node gets one note
//! (a failure under `--require-deployed`), never drift. Every spec is resolved in one pass,
//! because rule 4 must know what the others claimed; `scan` and `verify` call the same
//! function, so a report is derived again the same way.

use modelspec_probe_host::{
    Candidate, HostSnapshot, Observed, ServerObservation, ServingProcess, StorageObservation, Workload,
};
use serde_json::{Value as Json, json};

use super::Status;
use crate::observe::{Observation, ProbeOutcome};
use crate::spec::ModelSpec;

pub use crate::spec::selector::{Selector, WORKLOAD_ANNOTATION};

/// The host snapshot, or why there is none.
pub(crate) fn host(observation: &Observation) -> Result<&HostSnapshot, String> {
    match &observation.host {
        ProbeOutcome::Observed { snapshot, .. } => Ok(snapshot),
        ProbeOutcome::TimedOut { budget_ms, .. } => Err(format!("the host probe did not answer within {budget_ms} ms")),
        ProbeOutcome::NotRun { reason } => Err(format!("the host probe did not run: {reason}")),
    }
}

/// The storage entry for this spec: its local model path when measured, else the only one.
pub(crate) fn storage<'a>(spec: &ModelSpec, snapshot: &'a HostSnapshot) -> Option<&'a StorageObservation> {
    if let Some(path) = spec.local_model_path()
        && let Some(found) = snapshot.storage.iter().find(|s| s.path == path)
    {
        return Some(found);
    }
    match snapshot.storage.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut tail) = text.strip_prefix(head) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('*').collect();
    let Some((last, middle)) = parts.split_last() else {
        return true;
    };
    for part in middle {
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

/// Whether a candidate is the workload a selector names.
pub fn matches(selector: &Selector, candidate: &Candidate) -> bool {
    match selector {
        Selector::Pid { pid } => {
            candidate.process.pid == *pid
                || candidate
                    .process
                    .children
                    .value()
                    .is_some_and(|kids| kids.iter().any(|k| k.pid == *pid))
        }
        other => workload_matches(other, candidate.workload.as_ref()),
    }
}

/// Whether a container or pod selector names this workload (a pid selector names none).
pub fn workload_matches(selector: &Selector, workload: Option<&Workload>) -> bool {
    match selector {
        Selector::Pid { .. } => false,
        Selector::Container { name } => workload.is_some_and(|w| {
            let by_id = name.len() >= 4
                && name.bytes().all(|b| b.is_ascii_hexdigit())
                && w.container_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with(&name.to_ascii_lowercase()));
            by_id || w.container_name.as_deref().is_some_and(|n| glob(name, n))
        }),
        Selector::Pod {
            namespace,
            pod,
            container,
        } => workload.is_some_and(|w| {
            w.pod_namespace.as_deref().is_some_and(|n| glob(namespace, n))
                && w.pod_name.as_deref().is_some_and(|p| glob(pod, p))
                && container
                    .as_deref()
                    .is_none_or(|c| w.container_name.as_deref().is_some_and(|n| glob(c, n)))
        }),
    }
}

/// The selector a spec names in its annotation, or why it names none usable.
pub fn spec_selector(spec: &ModelSpec) -> Option<Result<Selector, String>> {
    spec.metadata
        .annotations
        .get(WORKLOAD_ANNOTATION)
        .map(|text| text.parse::<Selector>())
}

/// How a spec's workload was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchedBy {
    /// `--pid`.
    Pid,
    /// `--workload`.
    Workload,
    /// The spec's annotation.
    Annotation,
    /// The port and the served model id.
    PortAndModel,
    /// The port alone.
    Port,
}

impl MatchedBy {
    fn words(self) -> &'static str {
        match self {
            MatchedBy::Pid => "the process named by --pid",
            MatchedBy::Workload => "the --workload selector",
            MatchedBy::Annotation => "the spec's modelspec.piqc.ai/workload annotation",
            MatchedBy::PortAndModel => "the serving port and the model id its engine serves",
            MatchedBy::Port => "the serving port alone (the only process serving it)",
        }
    }
}

/// A spec's workload on this node, or why there is none to judge.
#[derive(Debug, Clone)]
pub(crate) enum Resolution<'a> {
    /// The workload this spec is judged against.
    Found {
        server: &'a ServerObservation,
        candidate: &'a Candidate,
        by: MatchedBy,
    },
    /// Nothing of this spec runs on this node.
    NotDeployed { reason: String },
    /// Could not be told: `unknown` (could not look, or several candidates), or `fail` (the
    /// process named by `--pid` does not exist).
    Unresolved { status: Status, reason: String },
}

impl<'a> Resolution<'a> {
    /// The serving process, when found.
    pub(crate) fn process(&self) -> Option<&'a ServingProcess> {
        match self {
            Resolution::Found { candidate, .. } => Some(&candidate.process),
            _ => None,
        }
    }

    /// The candidate, when found.
    pub(crate) fn candidate(&self) -> Option<&'a Candidate> {
        match self {
            Resolution::Found { candidate, .. } => Some(candidate),
            _ => None,
        }
    }

    /// The server entry, when found.
    pub(crate) fn server(&self) -> Option<&'a ServerObservation> {
        match self {
            Resolution::Found { server, .. } => Some(server),
            _ => None,
        }
    }

    /// Why there is no process, with the status that gives a finding about it.
    pub(crate) fn missing(&self) -> Option<(Status, String)> {
        match self {
            Resolution::Found { .. } => None,
            Resolution::NotDeployed { reason } => Some((Status::Skip, not_deployed(reason))),
            Resolution::Unresolved { status, reason } => Some((*status, reason.clone())),
        }
    }

    /// Whether the spec runs nowhere on this node.
    pub(crate) fn not_deployed(&self) -> Option<&str> {
        match self {
            Resolution::NotDeployed { reason } => Some(reason),
            _ => None,
        }
    }

    /// The evidence of the choice.
    pub(crate) fn evidence(&self) -> Json {
        match self {
            Resolution::Found { server, candidate, by } => json!({
                "matched_by": by.words(),
                "route": candidate.route(),
                "workload": candidate.workload,
                "reach": candidate.network.as_ref().map(|n| &n.reach),
                "candidates": server.candidates().iter().map(Candidate::route).collect::<Vec<_>>(),
                "blind_spots": server.blind_spots,
            }),
            Resolution::NotDeployed { reason } => json!({"not_deployed": reason}),
            Resolution::Unresolved { reason, .. } => json!({"unresolved": reason}),
        }
    }

    /// One sentence: what was chosen and how.
    pub(crate) fn describe(&self) -> String {
        match self {
            Resolution::Found { candidate, by, .. } => format!("{} (chosen by {})", candidate.route(), by.words()),
            Resolution::NotDeployed { reason } => not_deployed(reason),
            Resolution::Unresolved { reason, .. } => reason.clone(),
        }
    }
}

fn not_deployed(reason: &str) -> String {
    format!("not deployed on this node: {reason}")
}

/// What the checks need of one spec to resolve it: the spec, and which models each candidate's
/// engine serves (`None`: could not be told), computed by the engine view.
pub(crate) struct Claim<'s, 'a> {
    pub spec: &'s ModelSpec,
    /// Whether candidate `pid` serves the spec's model: `Some(true)`, `Some(false)`, or `None`.
    pub serves_model: &'s dyn Fn(&'a Candidate) -> Option<bool>,
}

/// Resolves every spec against the observation, in one pass (see the module doc).
pub(crate) fn resolve_all<'a>(
    claims: &[Claim<'_, 'a>],
    observation: &'a Observation,
    workload: Option<&Selector>,
) -> Vec<Resolution<'a>> {
    let node = host(observation);
    // First the strong matches: pid, selectors, port and model.
    let mut resolved: Vec<Option<Resolution<'a>>> = claims
        .iter()
        .map(|c| match &node {
            Ok(node) => strong(c, node, workload),
            Err(reason) => Some(Resolution::Unresolved {
                status: Status::Unknown,
                reason: reason.clone(),
            }),
        })
        .collect();
    let claimed: Vec<u32> = resolved
        .iter()
        .flatten()
        .filter_map(|r| r.candidate().map(Candidate::pid))
        .collect();
    for (slot, claim) in resolved.iter_mut().zip(claims) {
        if slot.is_none()
            && let Ok(node) = &node
        {
            *slot = Some(weak(claim, node, &claimed));
        }
    }
    resolved
        .into_iter()
        .map(|r| {
            r.unwrap_or(Resolution::Unresolved {
                status: Status::Unknown,
                reason: "internal: no resolution".into(),
            })
        })
        .collect()
}

/// The server entry asked about for this spec: its serving port's (or, without a port, the
/// `--pid` one).
fn server_of<'a>(spec: &ModelSpec, node: &'a HostSnapshot) -> Option<&'a ServerObservation> {
    let port = spec.serving_port();
    node.servers.iter().find(|s| s.port == port)
}

/// A spec with nothing to look a workload up by: no port, no pid.
fn nothing_to_look_for(spec: &ModelSpec) -> Option<Resolution<'static>> {
    (spec.serving_port().is_none()).then(|| Resolution::Unresolved {
        status: Status::Skip,
        reason: "the spec declares no serving port, and no --pid was given: there is no workload to look for".into(),
    })
}

fn no_server(spec: &ModelSpec) -> String {
    match spec.serving_port() {
        Some(port) => format!("this observation has no serving process looked up on port {port}"),
        None => "the spec declares no serving port, and no --pid was given".into(),
    }
}

fn list(candidates: &[&Candidate]) -> String {
    candidates.iter().map(|c| c.route()).collect::<Vec<_>>().join("; ")
}

/// A match by pid, selector, or port and model; `None` leaves the spec to [`weak`].
fn strong<'a>(claim: &Claim<'_, 'a>, node: &'a HostSnapshot, workload: Option<&Selector>) -> Option<Resolution<'a>> {
    let spec = claim.spec;
    let Some(server) = server_of(spec, node) else {
        if let Some(nothing) = nothing_to_look_for(spec) {
            return Some(nothing);
        }
        return Some(Resolution::Unresolved {
            status: Status::Unknown,
            reason: no_server(spec),
        });
    };
    let candidates = match &server.candidates {
        Observed::Ok { value } => value,
        Observed::Absent { reason } if server.pid.is_some() => {
            return Some(Resolution::Unresolved {
                status: Status::Fail,
                reason: reason.clone(),
            });
        }
        Observed::Absent { reason } => return Some(Resolution::NotDeployed { reason: reason.clone() }),
        Observed::Unknown { reason } => {
            return Some(Resolution::Unresolved {
                status: Status::Unknown,
                reason: reason.clone(),
            });
        }
    };
    if server.pid.is_some() {
        return candidates.first().map(|candidate| Resolution::Found {
            server,
            candidate,
            by: MatchedBy::Pid,
        });
    }
    let port = server.port.map_or_else(|| "?".to_string(), |p| p.to_string());
    let selector = match (workload, spec_selector(spec)) {
        (Some(s), _) => Some((s.clone(), MatchedBy::Workload)),
        (None, Some(Ok(s))) => Some((s, MatchedBy::Annotation)),
        (None, Some(Err(why))) => {
            return Some(Resolution::Unresolved {
                status: Status::Unknown,
                reason: format!("the annotation {WORKLOAD_ANNOTATION} is not a selector: {why}"),
            });
        }
        (None, None) => None,
    };
    if let Some((selector, by)) = selector {
        let hits: Vec<&Candidate> = candidates.iter().filter(|c| matches(&selector, c)).collect();
        return Some(match hits.as_slice() {
            [one] => Resolution::Found {
                server,
                candidate: one,
                by,
            },
            [] => Resolution::NotDeployed {
                reason: format!(
                    "no workload matching {selector} serves port {port} (serving it: {})",
                    list(&candidates.iter().collect::<Vec<_>>())
                ),
            },
            several => Resolution::Unresolved {
                status: Status::Unknown,
                reason: format!(
                    "{} workloads match {selector} on port {port}: {}; name one (a container id or pod name)",
                    several.len(),
                    list(several)
                ),
            },
        });
    }
    let serving: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| (claim.serves_model)(c) == Some(true))
        .collect();
    match serving.as_slice() {
        [one] => Some(Resolution::Found {
            server,
            candidate: one,
            by: MatchedBy::PortAndModel,
        }),
        [] => None,
        several => Some(Resolution::Unresolved {
            status: Status::Unknown,
            reason: format!(
                "{} workloads on port {port} serve {}: {}; choose one with --workload or the {WORKLOAD_ANNOTATION} \
                 annotation",
                several.len(),
                spec.spec.identity.model.id,
                list(several)
            ),
        }),
    }
}

/// The port alone, when one process serves it and no other spec claimed it; else not deployed
/// (every candidate serves another model) or unknown.
fn weak<'a>(claim: &Claim<'_, 'a>, node: &'a HostSnapshot, claimed: &[u32]) -> Resolution<'a> {
    let Some(server) = server_of(claim.spec, node) else {
        return Resolution::Unresolved {
            status: Status::Unknown,
            reason: no_server(claim.spec),
        };
    };
    let candidates: Vec<&Candidate> = server.candidates().iter().collect();
    let port = server.port.map_or_else(|| "?".to_string(), |p| p.to_string());
    let model = &claim.spec.spec.identity.model.id;
    if let [only] = candidates.as_slice()
        && !claimed.contains(&only.pid())
    {
        return Resolution::Found {
            server,
            candidate: only,
            by: MatchedBy::Port,
        };
    }
    let unknown: Vec<&Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| !claimed.contains(&c.pid()) && (claim.serves_model)(c).is_none())
        .collect();
    if unknown.is_empty() {
        return Resolution::NotDeployed {
            reason: format!(
                "no workload on port {port} serves {model} (serving it: {})",
                list(&candidates)
            ),
        };
    }
    Resolution::Unresolved {
        status: Status::Unknown,
        reason: format!(
            "{} workloads serve port {port} and which model {} could not be told: {}; choose one with --workload or \
             the {WORKLOAD_ANNOTATION} annotation",
            candidates.len(),
            if unknown.len() == 1 {
                "one of them serves"
            } else {
                "some of them serve"
            },
            list(&candidates)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::spec::validate::typed_documents;
    use crate::spec::{Limits, Syntax};

    fn unknown() -> Json {
        json!({"status": "unknown", "reason": "not in this test"})
    }

    /// A candidate serving on `port`, in a container named `container` when given.
    fn candidate(pid: u32, container: Option<&str>) -> Json {
        let u = unknown();
        json!({
            "process": {
                "pid": pid, "found_by": {"by": "pid"}, "name": {"status": "ok", "value": "vllm"},
                "exe": u, "argv": u, "started_at": u, "user": u, "cwd": u, "parent_pid": u,
                "children": {"status": "ok", "value": []}, "environment": u,
            },
            "workload": container.map(|name| json!({
                "runtime": "podman", "container_id": format!("{pid:0>64}"), "container_name": name,
            })),
        })
    }

    /// An observation whose host probe saw `candidates` on port 8000.
    fn observed(candidates: Json) -> Observation {
        let u = unknown();
        let doc = json!({
            "schema": crate::observe::SCHEMA,
            "meta": {"hostname": "n", "machine_id": null, "tool_version": "0", "collected_at": "t", "duration_ms": 1},
            "gpu": {"outcome": "not_run", "reason": "test"},
            "host": {"outcome": "observed",
                "provenance": {"source": "host", "method": "test", "observed_at": "t", "duration_ms": 1},
                "snapshot": {
                    "observed_at": "t", "duration_ms": 1,
                    "system": {"hostname": u, "os_name": u, "os_version": u, "kernel": u, "logical_cores": u,
                        "physical_cores": u, "total_memory_bytes": u, "available_memory_bytes": u},
                    "container": {"in_container": false, "runtime": null, "evidence": []},
                    "limits": {"pid": 1, "of": "probe", "cgroup_version": u, "cgroup_path": u, "cpu": u, "memory": u},
                    "servers": [{"port": 8000, "pid": null, "candidates": candidates}],
                }},
        });
        match serde_json::from_value(doc) {
            Ok(o) => o,
            Err(e) => panic!("test observation: {e}"),
        }
    }

    fn spec(model: &str, annotation: Option<&str>) -> ModelSpec {
        let annotations = annotation
            .map(|a| format!("  annotations: {{modelspec.piqc.ai/workload: \"{a}\"}}\n"))
            .unwrap_or_default();
        let text = format!(
            "apiVersion: piqc.ai/v1alpha1\nkind: ModelSpec\nmetadata:\n  name: t\n{annotations}spec:\n  identity:\n    \
             model: {{id: {model}, family: f, task: t, framework: tgi}}\n  runtime:\n    accelerator: {{vendor: nvidia, \
             type: l4, count: 1}}\n  operations:\n    serving: {{port: 8000}}\n"
        );
        match typed_documents(&text, Syntax::Yaml, &Limits::default())
            .into_iter()
            .next()
        {
            Some((_, spec)) => spec,
            None => panic!("invalid test spec:\n{text}"),
        }
    }

    /// Whether a candidate serves a spec's model, as the engine view answers it.
    type Serves<'a> = Box<dyn Fn(&Candidate) -> Option<bool> + 'a>;

    /// Resolves `specs` (model, annotation) where each pid serves the model in `serving`
    /// (`None`: its engine did not say).
    fn resolve(
        observation: &Observation,
        specs: &[(&str, Option<&str>)],
        serving: &[(u32, Option<&str>)],
        workload: Option<&Selector>,
    ) -> Vec<String> {
        let specs: Vec<ModelSpec> = specs.iter().map(|(m, a)| spec(m, *a)).collect();
        let serves: Vec<Serves<'_>> = specs
            .iter()
            .map(|s| {
                let model = s.spec.identity.model.id.clone();
                let serving = serving.to_vec();
                Box::new(move |c: &Candidate| {
                    serving
                        .iter()
                        .find(|(pid, _)| *pid == c.pid())
                        .and_then(|(_, m)| m.map(|m| m == model))
                }) as Serves<'_>
            })
            .collect();
        let claims: Vec<Claim> = specs
            .iter()
            .zip(&serves)
            .map(|(spec, serves_model)| Claim {
                spec,
                serves_model: serves_model.as_ref(),
            })
            .collect();
        resolve_all(&claims, observation, workload)
            .iter()
            .map(|r| match r {
                Resolution::Found { candidate, by, .. } => format!("found {} by {by:?}", candidate.pid()),
                Resolution::NotDeployed { reason } => format!("not deployed: {reason}"),
                Resolution::Unresolved { status, reason } => format!("{}: {reason}", status.as_str()),
            })
            .collect()
    }

    #[test]
    fn specs_find_their_workloads_in_order() {
        let two = observed(json!({"status": "ok", "value": [candidate(10, Some("a")), candidate(20, Some("b"))]}));
        let serving = [(10, Some("org/a")), (20, Some("org/b"))];
        // By model id, each its own; a third spec whose model neither serves: not deployed.
        let r = resolve(
            &two,
            &[("org/a", None), ("org/b", None), ("org/c", None)],
            &serving,
            None,
        );
        assert_eq!(r[0], "found 10 by PortAndModel");
        assert_eq!(r[1], "found 20 by PortAndModel");
        assert!(
            r[2].starts_with("not deployed: no workload on port 8000 serves org/c"),
            "{}",
            r[2]
        );
        // The annotation wins over the model; --workload wins over the annotation.
        let r = resolve(&two, &[("org/a", Some("container:b"))], &serving, None);
        assert_eq!(r[0], "found 20 by Annotation");
        let by_flag = Selector::Container { name: "a".into() };
        let r = resolve(&two, &[("org/b", Some("container:b"))], &serving, Some(&by_flag));
        assert_eq!(r[0], "found 10 by Workload");
        // A selector that matches nothing here: not deployed, naming what serves the port.
        let r = resolve(&two, &[("org/a", Some("container:zz"))], &serving, None);
        assert!(
            r[0].starts_with("not deployed: no workload matching container:zz"),
            "{}",
            r[0]
        );
        // A glob matching both: unknown, listing them.
        let r = resolve(&two, &[("org/a", Some("container:*"))], &serving, None);
        assert!(r[0].starts_with("unknown: 2 workloads match container:*"), "{}", r[0]);
        // Engines that do not say what they serve: the port alone is ambiguous with two.
        let r = resolve(&two, &[("org/a", None)], &[(10, None), (20, Some("org/b"))], None);
        assert!(r[0].starts_with("unknown: 2 workloads serve port 8000"), "{}", r[0]);
        // Two serving the same model (replicas): unknown, never the first one found.
        let r = resolve(
            &two,
            &[("org/a", None)],
            &[(10, Some("org/a")), (20, Some("org/a"))],
            None,
        );
        assert!(
            r[0].starts_with("unknown: 2 workloads on port 8000 serve org/a"),
            "{}",
            r[0]
        );
    }

    #[test]
    fn the_port_alone_needs_one_unclaimed_process() {
        let one = observed(json!({"status": "ok", "value": [candidate(10, None)]}));
        // It serves another model, and no other spec claims it: drift, judged against it.
        let r = resolve(&one, &[("org/x", None)], &[(10, Some("org/a"))], None);
        assert_eq!(r[0], "found 10 by Port");
        // Claimed by the spec whose model it serves: the other is not deployed here.
        let r = resolve(&one, &[("org/a", None), ("org/x", None)], &[(10, Some("org/a"))], None);
        assert_eq!(r[0], "found 10 by PortAndModel");
        assert!(r[1].starts_with("not deployed"), "{}", r[1]);
        // Nothing on the port anywhere: not deployed; could not look: unknown, never absent.
        let none = observed(json!({"status": "absent", "reason": "nothing listens on port 8000 in any namespace"}));
        assert!(resolve(&none, &[("org/a", None)], &[], None)[0].starts_with("not deployed: nothing listens"));
        let blind = observed(json!({"status": "unknown", "reason": "insufficient permission"}));
        assert_eq!(
            resolve(&blind, &[("org/a", None)], &[], None)[0],
            "unknown: insufficient permission"
        );
    }

    #[test]
    fn globs() {
        assert!(glob("vllm-*", "vllm-7d9f8c-abcde"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(!glob("vllm", "vllm-0"));
        assert!(glob("*-0", "vllm-0"));
        assert!(!glob("ab*ba", "aba"));
    }
}
