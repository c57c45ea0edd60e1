//! Prints one exchange as JSON, for debugging a server by hand:
//! `fetch URL [--timeout 2s] [--max-bytes N] [--accept TYPE] [--token-file PATH] [--ca-file PATH] [--insecure]`.
//!
//! The token comes from MODELSPEC_TOKEN or --token-file, as in modelspec itself. Exits 0 when a
//! response arrived (whatever its status), 1 when none did, 2 on bad arguments.

use modelspec_probe_http::{ClientOptions, HttpClient, Request, Target, Token};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: fetch URL [--timeout 2s] [--max-bytes N] [--accept TYPE] [--token-file PATH] \
                     [--ca-file PATH] [--insecure]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let mut url = None;
    let mut timeout = Duration::from_secs(10);
    let mut max_bytes = None;
    let mut accept = None;
    let mut options = ClientOptions::default();
    let mut token_file: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--timeout" => timeout = parse_duration(&value("--timeout")?)?,
            "--max-bytes" => {
                let text = value("--max-bytes")?;
                max_bytes = Some(
                    text.parse()
                        .map_err(|_| format!("--max-bytes {text:?} is not a byte count"))?,
                );
            }
            "--accept" => accept = Some(value("--accept")?),
            "--token-file" => token_file = Some(value("--token-file")?.into()),
            "--ca-file" => options.ca_file = Some(value("--ca-file")?.into()),
            "--insecure" => options.insecure = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}\n{USAGE}")),
            other if url.is_none() => url = Some(other.to_string()),
            _ => return Err(USAGE.to_string()),
        }
    }
    let url = url.ok_or_else(|| USAGE.to_string())?;
    options.token = match token_file {
        Some(path) => Some(Token::from_file(&path).map_err(|error| error.to_string())?),
        None => Token::from_env().map_err(|error| error.to_string())?,
    };
    options.request_timeout = timeout;
    let (target, path) = Target::split_url(&url).map_err(|error| error.to_string())?;
    let client = HttpClient::new(target, options).map_err(|error| error.to_string())?;
    let mut request = Request::get(path);
    request.accept = accept;
    request.max_body_bytes = max_bytes;
    // A second past the request's own timeout: the request's timeout is what should fire.
    let now = Instant::now();
    let deadline = now
        .checked_add(timeout.saturating_add(Duration::from_secs(1)))
        .unwrap_or(now + Duration::from_secs(86_400));
    let exchange = client.fetch(&request, deadline);
    let json =
        serde_json::to_string_pretty(&exchange).map_err(|error| format!("cannot print the exchange: {error}"))?;
    println!("{json}");
    Ok(if exchange.response().is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// "2s", "500ms", "1.5s", "1m", or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("--timeout {text:?} is not a duration; write e.g. 2s, 500ms or 1m");
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}
