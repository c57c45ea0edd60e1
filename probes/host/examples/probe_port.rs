//! Prints the host snapshot as JSON: `probe_port [--port N] [--pid N] [--storage PATH] [--env NAME]...`.
//!
//! Also the unprivileged half of the permission test: run as `nobody` against a root-owned
//! listener, it must say "insufficient permission", not "nothing listens".

use modelspec_probe_host::{HostProbeOptions, ServerQuery, probe};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut query = ServerQuery::default();
    let mut options = HostProbeOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        let parsed = match (flag.as_str(), value) {
            ("--port", Some(v)) => v.parse().map(|port| query.port = Some(port)).is_ok(),
            ("--pid", Some(v)) => v.parse().map(|pid| query.pid = Some(pid)).is_ok(),
            ("--storage", Some(v)) => {
                options.storage_paths.push(v.into());
                true
            }
            ("--env", Some(v)) => {
                query.declared_env.push(v);
                true
            }
            _ => false,
        };
        if !parsed {
            eprintln!("usage: probe_port [--port N] [--pid N] [--storage PATH] [--env NAME]...");
            return ExitCode::from(2);
        }
    }
    if query.port.is_some() || query.pid.is_some() {
        options.servers.push(query);
    }
    match serde_json::to_string_pretty(&probe(&options)) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("could not serialize the snapshot: {error}");
            ExitCode::FAILURE
        }
    }
}
