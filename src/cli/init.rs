//! `modelspec init`: draft a ModelSpec from what runs (see [`crate::draft`]), from a live probe
//! of one serving port, a saved observation (`--facts`) or the demo's. The draft goes to
//! stdout, or to `-o FILE`, which is never overwritten without `--force` (and written
//! atomically: a reader never sees half a spec).

use std::io::Write;
use std::path::PathBuf;

use super::error::CliError;
use super::exit;
use super::output::write_atomically;
use crate::draft::{Request as DraftRequest, draft};
use crate::observe::Observation;

/// The demo node, as `scan --demo` replays it.
const DEMO_OBSERVATION: &str = include_str!("../../fixtures/demo/observation.json");

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// Draft from the demo node.
    pub demo: bool,
    /// Draft from this saved observation.
    pub facts: Option<PathBuf>,
    /// Probe the node live: the serving port (with `--facts`, which of its ports).
    pub probe: super::facts::Request,
    /// `metadata.name`.
    pub name: Option<String>,
    /// Write here instead of stdout.
    pub output: Option<PathBuf>,
    /// Overwrite `output` if it exists.
    pub force: bool,
    /// Only what was observed with certainty.
    pub minimal: bool,
    /// Say nothing on standard error but errors.
    pub quiet: bool,
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    if let Some(path) = &req.output
        && !req.force
        && std::fs::symlink_metadata(path).is_ok()
    {
        return Err(CliError::Usage(format!(
            "{} exists; init never overwrites a spec: choose another -o, or add --force",
            path.display()
        )));
    }
    let observation = observe(req)?;
    let port = match req.probe.port.as_slice() {
        [] => None,
        [port] => Some(*port),
        _ => return Err(CliError::Usage("init drafts one server: give one --port".into())),
    };
    let drafted = draft(
        &observation,
        &DraftRequest {
            port,
            name: req.name.clone(),
            minimal: req.minimal,
        },
    )
    .map_err(CliError::Input)?;
    match &req.output {
        Some(path) => {
            write_atomically(path, drafted.yaml.as_bytes()).map_err(CliError::Io)?;
            if req.quiet {
                return Ok(exit::OK);
            }
            eprintln!(
                "wrote {} ({}): review the TODO lines, then `modelspec validate` and `modelspec scan` it",
                path.display(),
                drafted.name
            );
        }
        None => {
            let _ = std::io::stdout().lock().write_all(drafted.yaml.as_bytes());
        }
    }
    Ok(exit::OK)
}

fn observe(req: &Request) -> Result<Observation, CliError> {
    if req.demo {
        return Observation::from_json(DEMO_OBSERVATION, "<demo>")
            .map_err(|e| CliError::Internal(format!("the embedded demo observation does not load: {e}")));
    }
    if let Some(path) = &req.facts {
        return Observation::read_file(path).map_err(|e| CliError::Input(e.to_string()));
    }
    if req.probe.port.is_empty() {
        return Err(CliError::Usage(
            "init drafts from a serving process: give its --port (or --facts FILE, or --demo)".into(),
        ));
    }
    super::facts::observe(&req.probe)
}
