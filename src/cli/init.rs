//! `modelspec init`: draft a ModelSpec from what runs (see [`crate::draft`]), from a live probe,
//! a saved observation (`--facts`) or the demo's. One server (`--port`, `--pid`, `--workload`)
//! gives one draft, to stdout or `-o FILE`; `--all` drafts every model server on the node, one
//! file each in `-o DIR/` (or one YAML stream on stdout). No file is ever overwritten without
//! `--force`, and each is written atomically: a reader never sees half a spec.
//!
//! A live draft starts with a survey of every listener on the node, in every network namespace
//! (`modelspec_probe_host::listeners`), so that a server can be found without its port and so
//! that a server's other ports (a metrics port) are asked too. For `--all`, a listener is
//! asked when its command line names a known engine, its process tree holds a GPU, or it
//! listens on an engine's default port; it is drafted when it answers like a model server.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use modelspec_probe_host::{Candidate, Listener, Listeners};

use super::error::CliError;
use super::exit;
use super::output::write_atomically;
use crate::check::target::{Selector, matches, workload_matches};
use crate::draft::{Draft, Request as DraftRequest, Server, draft, servers};
use crate::observe::{Observation, ProbeOutcome};

/// The demo node, as `scan --demo` replays it.
const DEMO_OBSERVATION: &str = include_str!("../../fixtures/demo/observation.json");

/// Ports asked of one process at most (a server with more is asked its lowest ones).
const PORTS_PER_PROCESS: usize = 16;

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// Draft from the demo node.
    pub demo: bool,
    /// Draft from this saved observation.
    pub facts: Option<PathBuf>,
    /// Probe the node live: the serving port, if given.
    pub probe: super::facts::Request,
    /// Which workload, when several serve (`--pid` arrives here as `pid:PID`).
    pub workload: Option<Selector>,
    /// Every model server on the node.
    pub all: bool,
    /// `metadata.name`.
    pub name: Option<String>,
    /// Write here instead of stdout (a directory with `all`).
    pub output: Option<PathBuf>,
    /// Overwrite what exists.
    pub force: bool,
    /// Only what was observed with certainty.
    pub minimal: bool,
    /// Say nothing on standard error but errors.
    pub quiet: bool,
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    let port = match req.probe.port.as_slice() {
        [] => None,
        [port] => Some(*port),
        _ => return Err(CliError::Usage("init drafts one server a port: give one --port".into())),
    };
    if !req.all
        && let Some(path) = &req.output
    {
        refuse_to_overwrite(path, req.force)?;
    }
    let (observation, survey) = observe(req, port)?;
    let chosen = choose(req, port, &observation)?;
    let mut drafted: Vec<(Draft, Server)> = Vec::with_capacity(chosen.len());
    for server in chosen {
        let result = draft(
            &observation,
            &DraftRequest {
                port: Some(server.port),
                pid: server.pid,
                name: req.name.clone(),
                name_after_workload: req.all,
                minimal: req.minimal,
                ..DraftRequest::default()
            },
        );
        match result {
            Ok(d) => drafted.push((d, server)),
            // One server that cannot be drafted (it stopped while asked) leaves the others.
            Err(why) if req.all => {
                if !req.quiet {
                    eprintln!(
                        "left out {}: {why}",
                        describe(&observation, std::slice::from_ref(&server))
                    );
                }
            }
            Err(why) => return Err(CliError::Input(why)),
        }
    }
    if req.all && !req.quiet {
        say_what_was_left(&observation, survey.as_ref());
    }
    if drafted.is_empty() {
        return Err(CliError::Input("no model server could be drafted".into()));
    }
    let drafts: Vec<(Draft, String)> = distinct_names(drafted, &observation, req)?;
    write(req, &drafts)
}

/// Refuses an existing path unless `--force`.
fn refuse_to_overwrite(path: &Path, force: bool) -> Result<(), CliError> {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(CliError::Usage(format!(
            "{} exists; init never overwrites a spec: choose another -o, or add --force",
            path.display()
        )));
    }
    Ok(())
}

/// The observation to draft from, and the survey of listeners when the node was probed live.
fn observe(req: &Request, port: Option<u16>) -> Result<(Observation, Option<Listeners>), CliError> {
    if req.demo {
        let observation = Observation::from_json(DEMO_OBSERVATION, "<demo>")
            .map_err(|e| CliError::Internal(format!("the embedded demo observation does not load: {e}")))?;
        return Ok((observation, None));
    }
    if let Some(path) = &req.facts {
        let observation = Observation::read_file(path).map_err(|e| CliError::Input(e.to_string()))?;
        return Ok((observation, None));
    }
    let survey = modelspec_probe_host::listeners();
    let ports = ports_to_ask(req, port, &survey)?;
    let probe = super::facts::Request {
        port: ports,
        pid: None,
        ..req.probe.clone()
    };
    Ok((super::facts::observe(&probe)?, Some(survey)))
}

/// The ports a live draft asks: the serving port and the other ports of the processes that
/// hold it; without a port, every port of the processes the selector names, or (with `--all`,
/// or when the selector names no listener) of every listener that may be a model server.
fn ports_to_ask(req: &Request, port: Option<u16>, survey: &Listeners) -> Result<Vec<u16>, CliError> {
    let serving = |l: &&Listener| l.forwarder.is_none();
    let chosen: Vec<&Listener> = match (port, &req.workload) {
        (Some(port), _) => survey
            .processes
            .iter()
            .filter(serving)
            .filter(|l| l.ports.contains(&port))
            .collect(),
        (None, Some(selector)) if !req.all => {
            let named: Vec<&Listener> = survey
                .processes
                .iter()
                .filter(serving)
                .filter(|l| match selector {
                    Selector::Pid { pid } => l.pid == *pid,
                    other => workload_matches(other, l.workload.as_ref()),
                })
                .collect();
            if named.is_empty() {
                survey
                    .processes
                    .iter()
                    .filter(serving)
                    .filter(|l| may_serve(l))
                    .collect()
            } else {
                named
            }
        }
        (None, _) if req.all => survey
            .processes
            .iter()
            .filter(serving)
            .filter(|l| may_serve(l))
            .collect(),
        (None, _) => {
            return Err(CliError::Usage(
                "init drafts from a serving process: give its --port, --pid or --workload, or --all for every \
                 model server on the node (or --facts FILE, or --demo)"
                    .into(),
            ));
        }
    };
    let mut ports: BTreeSet<u16> = port.into_iter().collect();
    for listener in &chosen {
        ports.extend(listener.ports.iter().take(PORTS_PER_PROCESS));
    }
    if ports.is_empty() {
        let none = "no process on this node looks like a model server (none names a known engine on its command \
                    line, holds a GPU, or listens on an engine's default port)";
        let mut why = match (&req.workload, req.all) {
            (Some(selector), false) => format!("{selector} names no process listening on TCP, and {none}"),
            _ => none.to_string(),
        };
        if !survey.blind_spots.is_empty() {
            why.push_str(&format!("; but {}", survey.blind_spots.join("; ")));
        }
        return Err(CliError::Input(format!("{why}; give the server's --port")));
    }
    Ok(ports.into_iter().collect())
}

/// Whether a listener may be a model server, before asking it: its command line names an
/// engine, its process tree holds a GPU, or it listens on an engine's default port.
fn may_serve(listener: &Listener) -> bool {
    let engine = listener
        .argv
        .value()
        .is_some_and(|argv| crate::runtime::argv::engine_from_argv(argv).is_some());
    let default_port = listener
        .ports
        .iter()
        .any(|p| crate::runtime::EngineId::ALL.iter().any(|e| e.default_port() == *p));
    engine || !listener.gpu_devices.is_empty() || default_port
}

/// The servers to draft.
fn choose(req: &Request, port: Option<u16>, observation: &Observation) -> Result<Vec<Server>, CliError> {
    let (found, _) = servers(observation).map_err(CliError::Input)?;
    let candidate = |pid: Option<u32>| pid.and_then(|pid| candidate_of(observation, pid));
    let named = |s: &Server| {
        req.workload
            .as_ref()
            .is_none_or(|sel| candidate(s.pid).is_some_and(|c| matches(sel, c)))
    };
    if req.all {
        let all: Vec<Server> = found.into_iter().filter(|s| named(s)).collect();
        if all.is_empty() {
            return Err(CliError::Input(
                "no model server answered on this node; give the server's --port to draft it anyway".into(),
            ));
        }
        return Ok(all);
    }
    let Some(port) = port else {
        // A server named by --pid or --workload: the one it names.
        let mut named: Vec<Server> = found.into_iter().filter(|s| named(s)).collect();
        return match named.len() {
            1 => Ok(named.swap_remove(0)).map(|s| vec![s]),
            0 => Err(CliError::Input(format!(
                "{} names no model server that answered on this node; give its --port",
                req.workload.as_ref().map_or_else(String::new, Selector::to_string)
            ))),
            _ => Err(CliError::Input(format!(
                "{} names several model servers: {}; name one",
                req.workload.as_ref().map_or_else(String::new, Selector::to_string),
                describe(observation, &named)
            ))),
        };
    };
    // The port given: the process on it the selector names, or the only one.
    let on_port: Vec<Option<u32>> = match &observation.endpoint {
        ProbeOutcome::Observed { snapshot, .. } => {
            let mut pids: Vec<Option<u32>> = snapshot
                .targets
                .iter()
                .filter(|t| t.port == port)
                .map(|t| t.pid)
                .collect();
            pids.sort_unstable();
            pids.dedup();
            pids
        }
        _ => vec![None],
    };
    let pid = match (&req.workload, on_port.as_slice()) {
        (Some(selector), pids) => {
            let named: Vec<u32> = pids
                .iter()
                .flatten()
                .copied()
                .filter(|pid| candidate(Some(*pid)).is_some_and(|c| matches(selector, c)))
                .collect();
            match named.as_slice() {
                [one] => Some(*one),
                [] => {
                    return Err(CliError::Input(format!(
                        "{selector} names none of the processes serving port {port}"
                    )));
                }
                _ => {
                    return Err(CliError::Input(format!(
                        "{selector} names several processes serving port {port}: {named:?}"
                    )));
                }
            }
        }
        (None, [] | [_]) => on_port.first().copied().flatten(),
        (None, several) => {
            let listed: Vec<Server> = several
                .iter()
                .map(|pid| Server {
                    port,
                    pid: *pid,
                    other_ports: Vec::new(),
                })
                .collect();
            return Err(CliError::Usage(format!(
                "several processes serve port {port}: {}; name one with --workload (or --pid), or draft them all with --all",
                describe(observation, &listed)
            )));
        }
    };
    Ok(vec![Server {
        port,
        pid,
        other_ports: Vec::new(),
    }])
}

/// The host probe's candidate for a pid.
fn candidate_of(observation: &Observation, pid: u32) -> Option<&Candidate> {
    let ProbeOutcome::Observed { snapshot, .. } = &observation.host else {
        return None;
    };
    snapshot
        .servers
        .iter()
        .flat_map(|s| s.candidates())
        .find(|c| c.pid() == pid)
}

/// Servers in words, for a message: `pid 1190 on port 8000 (in container 3f2a… (podman, name a))`.
fn describe(observation: &Observation, servers: &[Server]) -> String {
    servers
        .iter()
        .map(|s| match s.pid.and_then(|pid| candidate_of(observation, pid)) {
            Some(c) => format!("{} on port {}", c.route(), s.port),
            None => format!("port {}", s.port),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The drafts with names that differ (two servers of one model on the host, or in two
/// containers of one name): a repeated name gets its port, then its pid. Each comes back with
/// its server in words.
fn distinct_names(
    drafts: Vec<(Draft, Server)>,
    observation: &Observation,
    req: &Request,
) -> Result<Vec<(Draft, String)>, CliError> {
    let mut out: Vec<(Draft, String)> = Vec::with_capacity(drafts.len());
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (drafted, server) in drafts {
        let repeated = |name: &str| taken.contains(name) || out.iter().any(|(d, _)| d.name == name);
        let fixed = if !repeated(&drafted.name) {
            drafted
        } else {
            let suffixes = [Some(server.port.to_string()), server.pid.map(|p| format!("pid-{p}"))];
            let mut fixed = None;
            for suffix in suffixes.into_iter().flatten() {
                let again = draft(
                    observation,
                    &DraftRequest {
                        port: Some(server.port),
                        pid: server.pid,
                        name_after_workload: req.all,
                        minimal: req.minimal,
                        suffix: Some(suffix),
                        ..DraftRequest::default()
                    },
                )
                .map_err(CliError::Input)?;
                if !repeated(&again.name) {
                    fixed = Some(again);
                    break;
                }
            }
            fixed.ok_or_else(|| CliError::Internal(format!("two servers draft as {}", drafted.name)))?
        };
        taken.insert(fixed.name.clone());
        out.push((fixed, describe(observation, std::slice::from_ref(&server))));
    }
    Ok(out)
}

/// Says on standard error which listeners `--all` asked and left out, and what it could not see.
fn say_what_was_left(observation: &Observation, survey: Option<&Listeners>) {
    let Ok((_, skipped)) = servers(observation) else {
        return;
    };
    for left in skipped {
        let who = left
            .pid
            .and_then(|pid| candidate_of(observation, pid))
            .map_or_else(|| "a process".to_string(), Candidate::route);
        let ports: Vec<String> = left.ports.iter().map(u16::to_string).collect();
        eprintln!("left out {who} (ports {}): {}", ports.join(", "), left.why);
    }
    if let Some(survey) = survey {
        for spot in &survey.blind_spots {
            eprintln!("not seen: {spot}");
        }
    }
}

/// Writes the drafts: one to stdout or its file; several to a directory (one file each,
/// `NAME.yaml`, none written if any exists without `--force`) or to stdout as one YAML stream.
fn write(req: &Request, drafts: &[(Draft, String)]) -> Result<i32, CliError> {
    let Some(output) = &req.output else {
        let mut stdout = std::io::stdout().lock();
        for (i, (d, _)) in drafts.iter().enumerate() {
            if i > 0 || req.all {
                let _ = stdout.write_all(b"---\n");
            }
            let _ = stdout.write_all(d.yaml.as_bytes());
        }
        return Ok(exit::OK);
    };
    let files: Vec<(PathBuf, &(Draft, String))> = if req.all {
        std::fs::create_dir_all(output)
            .map_err(|e| CliError::Io(format!("cannot create the directory {}: {e}", output.display())))?;
        drafts
            .iter()
            .map(|d| (output.join(format!("{}.yaml", d.0.name)), d))
            .collect()
    } else {
        drafts.iter().map(|d| (output.clone(), d)).collect()
    };
    for (path, _) in &files {
        refuse_to_overwrite(path, req.force)?;
    }
    for (path, (drafted, server)) in &files {
        write_atomically(path, drafted.yaml.as_bytes()).map_err(CliError::Io)?;
        if !req.quiet {
            eprintln!("wrote {} ({}): {server}", path.display(), drafted.name);
        }
    }
    if !req.quiet {
        eprintln!("review the TODO lines, then `modelspec validate` and `modelspec scan` each spec");
    }
    Ok(exit::OK)
}

/// The window the live probe measures metrics over, for the `targetRps` proposal.
pub fn window(duration: Option<Duration>) -> Option<(Duration, Duration)> {
    duration.map(|d| (d, Duration::from_secs(1).min(d)))
}
