//! Which serving process and which filesystem a spec is judged against.
//!
//! A node may serve several models, and one observation holds them all: one server entry per
//! port the scan looked at (or per `--pid`), one storage entry per model path. A spec's
//! checks read only its own entries, matched here and nowhere else, so the scan plan
//! (`cli::scan`) and the checks agree on one rule: a spec's server is the one found by its
//! `operations.serving.port`; its storage is its local `modelUri`, or the only path measured.

use modelspec_probe_host::{HostSnapshot, ServerObservation, StorageObservation};

use crate::observe::{Observation, ProbeOutcome};
use crate::spec::ModelSpec;

/// The declared serving port, when it is a valid TCP port.
pub fn serving_port(spec: &ModelSpec) -> Option<u16> {
    spec.spec
        .operations
        .as_ref()
        .and_then(|o| o.serving.as_ref())
        .and_then(|s| s.port)
        .and_then(|p| u16::try_from(p).ok())
}

/// The model's local path, from a `file://` or absolute `modelUri`.
pub fn local_model_path(spec: &ModelSpec) -> Option<String> {
    let uri = spec.spec.identity.model.artifacts.as_ref()?.model_uri.as_deref()?;
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    path.starts_with('/').then(|| path.to_string())
}

/// The host snapshot, or why there is none.
pub(crate) fn host(observation: &Observation) -> Result<&HostSnapshot, String> {
    match &observation.host {
        ProbeOutcome::Observed { snapshot, .. } => Ok(snapshot),
        ProbeOutcome::TimedOut { budget_ms, .. } => Err(format!("the host probe did not answer within {budget_ms} ms")),
        ProbeOutcome::NotRun { reason } => Err(format!("the host probe did not run: {reason}")),
    }
}

/// The server entry the scan made for this spec: the one asked about its serving port (or,
/// for a spec without a port, the one asked about by pid alone).
pub(crate) fn server<'a>(spec: &ModelSpec, snapshot: &'a HostSnapshot) -> Option<&'a ServerObservation> {
    let port = serving_port(spec);
    snapshot.servers.iter().find(|s| s.port == port)
}

/// Why a spec has no server entry, for `unknown` findings.
pub(crate) fn no_server_reason(spec: &ModelSpec) -> String {
    match serving_port(spec) {
        Some(port) => format!("this observation has no serving process looked up on port {port}"),
        None => "the spec declares no serving port, and no --pid was given".into(),
    }
}

/// The storage entry for this spec: its local model path when measured, else the only one.
pub(crate) fn storage<'a>(spec: &ModelSpec, snapshot: &'a HostSnapshot) -> Option<&'a StorageObservation> {
    if let Some(path) = local_model_path(spec)
        && let Some(found) = snapshot.storage.iter().find(|s| s.path == path)
    {
        return Some(found);
    }
    match snapshot.storage.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}
