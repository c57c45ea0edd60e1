//! `modelspec facts`: capture what the probes see, with no spec. JSON to a file or a pipe; a
//! readable summary on a terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use modelspec_probe_gpu::{GpuProbeOptions, NvmlState, Observed};
use modelspec_probe_host::{HostProbeOptions, Observed as HostObserved, ServerQuery};

use super::error::CliError;
use super::exit;
use super::output::write_atomically;
use crate::observe::endpoint::{EndpointPlan, TargetPlan};
use crate::observe::{Observation, Plan, ProbeOutcome, collect};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Write the observation here (atomically).
    pub output: Option<PathBuf>,
    /// Force JSON on stdout even on a terminal.
    pub json: bool,
    /// NVML library.
    pub nvml_lib: Option<PathBuf>,
    /// AMD SMI library.
    pub amdsmi_lib: Option<PathBuf>,
    /// Probe deadline.
    pub timeout: Duration,
    /// Also find the processes listening on these ports.
    pub port: Vec<u16>,
    /// Also describe this process.
    pub pid: Option<u32>,
    /// Also measure the filesystems holding these paths.
    pub storage_path: Vec<PathBuf>,
    /// How to reach the endpoints on those ports.
    pub connect: super::connect::ConnectArgs,
    /// Whether to ask the cloud's metadata service.
    pub cloud: super::connect::CloudArgs,
    /// Measure the metrics pages over this window, sampling gauges at this interval.
    pub window: Option<(Duration, Duration)>,
}

/// Probes the node as asked: the GPUs, the host, and each port's process and endpoint (`init`
/// drafts from the same observation).
pub fn observe(req: &Request) -> Result<Observation, CliError> {
    let client = req.connect.client_options(req.timeout).map_err(CliError::Input)?;
    if req.connect.endpoint.is_some() && req.port.len() != 1 {
        return Err(CliError::Usage(
            "--endpoint replaces the address of one port: give exactly one --port with it".into(),
        ));
    }
    // Every port asked is also asked over HTTP, so a saved observation replays the engine too.
    let endpoint = (!req.port.is_empty()).then(|| EndpointPlan {
        host: req.connect.host.clone(),
        targets: req
            .port
            .iter()
            .map(|&port| TargetPlan {
                port,
                endpoint: req.connect.endpoint.clone(),
                ..TargetPlan::default()
            })
            .collect(),
        client,
        window: req
            .window
            .map(|(duration, interval)| crate::observe::window::WindowPlan {
                duration,
                interval,
                progress: None,
            }),
        metrics_url: None,
    });
    Ok(collect(&Plan {
        gpu: Some(GpuProbeOptions {
            library: req.nvml_lib.clone(),
            // XIDs that arrive while the node is read, and through the window.
            xid: modelspec_probe_gpu::XidWatch::During(req.window.map_or(Duration::ZERO, |(duration, _)| duration)),
        }),
        amd: Some(modelspec_probe_amd::AmdProbeOptions {
            library: req.amdsmi_lib.clone(),
        }),
        host: Some(HostProbeOptions {
            servers: server_queries(&req.port, req.pid),
            storage_paths: req.storage_path.clone(),
        }),
        endpoint,
        prometheus: None,
        cloud: req.cloud.plan(),
        // The window is measured, not waited out: the deadline covers it plus the usual budget.
        timeout: req.timeout + req.window.map_or(Duration::ZERO, |(duration, _)| duration),
    }))
}

/// Runs the command; returns the exit code.
pub fn run(req: &Request) -> Result<i32, CliError> {
    let observation = observe(req)?;
    let json = serde_json::to_string_pretty(&observation)
        .map_err(|e| CliError::Internal(format!("cannot serialize the observation: {e}")))?
        + "\n";
    let mut stdout = std::io::stdout().lock();
    if let Some(path) = &req.output {
        write_atomically(path, json.as_bytes()).map_err(CliError::Io)?;
        let _ = summary(&mut stdout, &observation);
        let _ = writeln!(stdout, "\nwrote {}", path.display());
    } else if req.json || !std::io::stdout().is_terminal() {
        let _ = stdout.write_all(json.as_bytes());
    } else {
        let _ = summary(&mut stdout, &observation);
    }
    Ok(exit::OK)
}

/// One query per port; a pid joins the only port when there is one (its holder is then
/// checked against the pid), and stands alone otherwise.
fn server_queries(ports: &[u16], pid: Option<u32>) -> Vec<ServerQuery> {
    let query = |port: Option<u16>, pid: Option<u32>| ServerQuery {
        port,
        pid,
        declared_env: Vec::new(),
    };
    match (ports, pid) {
        ([port], Some(pid)) => vec![query(Some(*port), Some(pid))],
        (ports, pid) => ports
            .iter()
            .map(|&port| query(Some(port), None))
            .chain(pid.map(|pid| query(None, Some(pid))))
            .collect(),
    }
}

fn show<T: std::fmt::Display>(o: &Observed<T>) -> String {
    match (o.value(), o.reason()) {
        (Some(v), _) => v.to_string(),
        (None, Some(r)) => format!("? ({r})"),
        (None, None) => "?".into(),
    }
}

/// A few lines per GPU and per serving process, for people.
pub fn summary(out: &mut impl Write, obs: &Observation) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({}), modelspec {}, {}",
        obs.meta.hostname, obs.meta.collected_at, obs.meta.tool_version, obs.schema
    )?;
    gpu_summary(out, obs)?;
    amd_summary(out, obs)?;
    host_summary(out, obs)?;
    cloud_summary(out, obs)
}

fn amd_summary(out: &mut impl Write, obs: &Observation) -> std::io::Result<()> {
    use modelspec_probe_amd::{AmdSmiState, UnavailableReason};
    let snapshot = match &obs.amd {
        ProbeOutcome::NotRun { .. } => return Ok(()),
        ProbeOutcome::TimedOut { budget_ms, .. } => return writeln!(out, "AMD SMI: no answer within {budget_ms} ms"),
        ProbeOutcome::Observed { snapshot, .. } => snapshot,
    };
    let amd_show = |o: &modelspec_probe_amd::Observed<String>| o.value().cloned().unwrap_or_else(|| "?".into());
    match &snapshot.amdsmi {
        // The usual case on an NVIDIA node: one short line, not the advice.
        AmdSmiState::Unavailable {
            reason: UnavailableReason::NoLibrary,
            ..
        } => writeln!(out, "AMD SMI: not installed ({} not found)", snapshot.library.path),
        AmdSmiState::Unavailable { message, .. } => writeln!(out, "AMD SMI: unavailable: {message}"),
        AmdSmiState::Available {
            library_version,
            driver_version,
            devices,
        } => {
            writeln!(
                out,
                "AMD SMI {}, driver {}, read in {} ms",
                library_version
                    .value()
                    .map_or_else(|| "?".into(), |v| format!("{} ({})", v.version, v.layouts)),
                amd_show(driver_version),
                snapshot.duration_ms
            )?;
            for d in devices {
                let vram = d
                    .vram
                    .value()
                    .map_or_else(|| "?".into(), |v| format!("{} / {} MiB", v.used_mib, v.total_mib));
                let partitions = match (d.compute_partition.value(), d.memory_partition.value()) {
                    (Some(c), Some(m)) => format!(", {c}/{m}"),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "  GPU {}: {} ({}), {vram}, {} °C{partitions}, {}",
                    d.index,
                    amd_show(&d.market_name),
                    amd_show(&d.gfx_target),
                    d.temperature.hotspot.value().map_or_else(|| "?".into(), i64::to_string),
                    amd_show(&d.uuid)
                )?;
            }
            Ok(())
        }
    }
}

fn cloud_summary(out: &mut impl Write, obs: &Observation) -> std::io::Result<()> {
    match &obs.cloud {
        ProbeOutcome::NotRun { .. } => Ok(()),
        ProbeOutcome::TimedOut { budget_ms, .. } => writeln!(out, "cloud: no answer within {budget_ms} ms"),
        ProbeOutcome::Observed { snapshot, .. } => match snapshot.answered() {
            Some((provider, instance)) => writeln!(
                out,
                "cloud: {provider}, {}{}{}",
                instance.instance_type.as_deref().unwrap_or("instance type ?"),
                instance
                    .region
                    .as_deref()
                    .map(|r| format!(" in {r}"))
                    .unwrap_or_default(),
                match instance.spot {
                    Some(true) => ", spot",
                    Some(false) => ", not spot",
                    None => "",
                }
            ),
            None => writeln!(out, "cloud: no metadata service described this instance"),
        },
    }
}

fn host_summary(out: &mut impl Write, obs: &Observation) -> std::io::Result<()> {
    let host = match &obs.host {
        ProbeOutcome::NotRun { reason } => return writeln!(out, "host: not probed ({reason})"),
        ProbeOutcome::TimedOut { budget_ms, .. } => return writeln!(out, "host: no answer within {budget_ms} ms"),
        ProbeOutcome::Observed { snapshot, .. } => snapshot,
    };
    let gib = |bytes: &u64| format!("{:.1} GiB", *bytes as f64 / (1u64 << 30) as f64);
    writeln!(
        out,
        "host: {} cores, {} memory, kernel {}{}",
        host_show(&host.system.logical_cores),
        host.system.total_memory_bytes.value().map_or_else(|| "?".into(), gib),
        host_show(&host.system.kernel),
        if host.container.in_container {
            format!(
                ", in a container ({})",
                host.container.runtime.as_deref().unwrap_or("unknown runtime")
            )
        } else {
            String::new()
        }
    )?;
    for server in &host.servers {
        let asked = match (server.port, server.pid) {
            (Some(port), Some(pid)) => format!("pid {pid} on port {port}"),
            (Some(port), None) => format!("port {port}"),
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => "?".into(),
        };
        match &server.candidates {
            HostObserved::Ok { value } => {
                for candidate in value {
                    let process = &candidate.process;
                    let argv = process.argv.value().map(|a| a.join(" ")).unwrap_or_default();
                    let argv: String = argv.chars().take(100).collect();
                    let children = process.children.value().map_or(0, Vec::len);
                    writeln!(
                        out,
                        "  {asked}: {}, {children} child process(es): {argv}",
                        candidate.route()
                    )?;
                }
            }
            other => writeln!(out, "  {asked}: {}", other.reason().unwrap_or("?"))?,
        }
        for spot in &server.blind_spots {
            writeln!(out, "    not seen: {spot}")?;
        }
    }
    if let Some(dmi) = host.dmi.value() {
        let named: Vec<&str> = [&dmi.sys_vendor, &dmi.product_name]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .collect();
        writeln!(out, "  machine: {}", named.join(" "))?;
    }
    for storage in &host.storage {
        match &storage.facts {
            HostObserved::Ok { value } => writeln!(
                out,
                "  storage {}: {} total, {} available",
                storage.path,
                gib(&value.total_bytes),
                gib(&value.available_bytes)
            )?,
            other => writeln!(out, "  storage {}: {}", storage.path, other.reason().unwrap_or("?"))?,
        }
    }
    Ok(())
}

fn host_show<T: std::fmt::Display>(o: &HostObserved<T>) -> String {
    match (o.value(), o.reason()) {
        (Some(v), _) => v.to_string(),
        (None, Some(r)) => format!("? ({r})"),
        (None, None) => "?".into(),
    }
}

fn gpu_summary(out: &mut impl Write, obs: &Observation) -> std::io::Result<()> {
    match &obs.gpu {
        ProbeOutcome::NotRun { reason } => writeln!(out, "GPU: not probed ({reason})"),
        ProbeOutcome::TimedOut { budget_ms, .. } => writeln!(out, "GPU: no answer within {budget_ms} ms"),
        ProbeOutcome::Observed { snapshot, provenance } => match &snapshot.nvml {
            NvmlState::Unavailable { message, .. } => writeln!(out, "GPU: unavailable: {message}"),
            NvmlState::Available { system, devices, .. } => {
                writeln!(
                    out,
                    "NVML {} ({}), driver {}, CUDA {}, read in {} ms",
                    show(&system.nvml_version),
                    provenance.method,
                    show(&system.driver_version),
                    system
                        .cuda_driver_version
                        .value()
                        .map_or_else(|| "?".to_string(), |v| v.version.clone()),
                    provenance.duration_ms
                )?;
                for d in devices {
                    if d.lost {
                        writeln!(out, "  GPU {}: LOST (NVML can no longer reach it)", d.index)?;
                        continue;
                    }
                    let memory = d
                        .memory
                        .value()
                        .map_or_else(|| "?".into(), |m| format!("{} / {} MiB", m.used_mib, m.total_mib));
                    let mig = match d.mig.mode.value() {
                        Some(m) if m.current_enabled => ", MIG on",
                        _ => "",
                    };
                    writeln!(
                        out,
                        "  GPU {}: {} (cc {}), {memory}, {} °C, {}{mig}",
                        d.index,
                        show(&d.name),
                        show(&d.compute_capability),
                        show(&d.temperature_c),
                        show(&d.uuid)
                    )?;
                    if let Some(xid) = d.xid.value().filter(|x| !x.events.is_empty()) {
                        let seen: Vec<String> = xid
                            .events
                            .iter()
                            .map(|e| e.xid.map_or_else(|| "unknown".into(), |n| n.to_string()))
                            .collect();
                        writeln!(out, "    XID {} (watched since {})", seen.join(", "), xid.since)?;
                    }
                }
                Ok(())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_every_gpu_and_what_could_not_be_read() {
        let text = include_str!("../../fixtures/demo/observation.json");
        let obs = Observation::from_json(text, "demo").expect("demo observation");
        let mut out = Vec::new();
        summary(&mut out, &obs).expect("render");
        let out = String::from_utf8(out).expect("utf8");
        assert!(out.starts_with("demo-node ("), "{out}");
        assert!(out.contains("driver 550.54.15, CUDA 12.4"), "{out}");
        assert!(out.contains("GPU 0: NVIDIA L40S (cc 8.9), 41671 / 46068 MiB"), "{out}");
        assert!(out.contains("GPU 1: NVIDIA L40S"), "{out}");
        assert!(out.contains("  machine: Supermicro SYS-421GE-TNRT"), "{out}");
        let unavailable = Observation {
            gpu: ProbeOutcome::TimedOut {
                source: "nvml".into(),
                budget_ms: 250,
            },
            ..obs
        };
        let mut out = Vec::new();
        summary(&mut out, &unavailable).expect("render");
        assert!(String::from_utf8_lossy(&out).contains("GPU: no answer within 250 ms"));
    }
}
