//! The command line: argument parsing, dispatch, and exit codes.
//!
//! Commands return an [`std::process::ExitCode`]-like integer computed once from their results; nothing
//! below this module calls `process::exit` or prints outside its renderer. The one exception is
//! `interrupt`: on SIGINT/SIGTERM it removes temporary output files and ends the process with
//! 128 + the signal number (130, 143), because probe threads cannot be cancelled.

mod connect;
mod diff;
mod facts;
mod interrupt;
mod metrics;
mod output;
mod progress;
mod scan;
mod style;
mod validate;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit codes shared by every command.
pub mod exit {
    /// Everything checked is valid.
    pub const OK: i32 = 0;
    /// Something checked is invalid (or, under `--strict`, has warnings).
    pub const INVALID: i32 = 1;
    /// Usage error, or something could not be read.
    pub const ERROR: i32 = 2;
    /// `verify`: the report no longer holds; `diff`: something fails that did not before.
    pub const CHANGED: i32 = 1;
}

/// Checks AI model deployments against their declared ModelSpec contract.
#[derive(Debug, Parser)]
#[command(name = "modelspec", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print nothing on standard error but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Log what the probes do to standard error (-v: steps, -vv: details, -vvv: everything).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check this node against a ModelSpec: probe, compare, report drift.
    // Boxed: its many options make it far larger than the other commands' arguments.
    Scan(Box<ScanArgs>),
    /// Capture what the probes see on this node, with no spec (to save and replay).
    Facts(FactsArgs),
    /// Validate ModelSpec files against the v0.1 schema and lint rules.
    Validate(ValidateArgs),
    /// Print a JSON Schema this tool publishes.
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        which: SchemaName,
    },
    /// Inspect a Prometheus/OpenMetrics exposition (URL or file): families, engine, errors.
    Metrics(MetricsArgs),
    /// List every diagnostic and check code with what it checks.
    Codes,
    /// Check a filed report: recompute its hashes and derive its findings again.
    Verify(VerifyArgs),
    /// Drift between two reports: new failures, resolved findings, values that moved.
    Diff(DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (or write one page per command into a folder).
    Man {
        /// Write modelspec.1 and modelspec-COMMAND.1 here instead of printing modelspec.1.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Explain a code: what a check compares, equality or bound, and where the facts come from.
    Explain {
        /// A code from `modelspec codes` (e.g. batch-max-size).
        code: String,
    },
}

#[derive(Debug, clap::Args)]
struct ScanArgs {
    /// ModelSpec files (or folders of them) to check the node against; several make one report
    /// with a section per spec.
    #[arg(value_name = "SPEC", required_unless_present = "demo", conflicts_with = "demo")]
    specs: Vec<PathBuf>,
    /// Scan a recorded demo node with its spec (compiled in; needs no GPU).
    #[arg(long)]
    demo: bool,
    /// Replay a saved observation (`modelspec facts -o FILE`) instead of probing.
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    facts: Option<PathBuf>,
    /// The NVML library to load (else $MODELSPEC_NVML_LIB, else libnvidia-ml.so.1).
    #[arg(long, value_name = "PATH")]
    nvml_lib: Option<PathBuf>,
    /// Deadline for all probes together (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    timeout: std::time::Duration,
    /// Report format.
    #[arg(long, value_enum, default_value_t = scan::ReportFormat::Table)]
    format: scan::ReportFormat,
    /// Leave the observation out of the JSON report.
    #[arg(long)]
    no_facts: bool,
    /// The lowest status that makes the scan fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailOnArg::Fail)]
    fail_on: FailOnArg,
    /// When to use colors in the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Also write a report file, atomically: FORMAT=PATH (repeatable, e.g. -o json=last.json
    /// -o prom=/var/lib/node_exporter/textfile/modelspec.prom); a bare PATH takes --format's
    /// report instead of standard output.
    #[arg(short, long = "output", value_name = "[FORMAT=]PATH")]
    output: Vec<scan::OutputTarget>,
    /// Drift accepted for a time: a YAML file of waivers (code, pointer, reason, owner, expires).
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// List skipped findings too (table, prom).
    #[arg(long)]
    show_skipped: bool,
    /// The serving process's pid (else it is found by the spec's serving port).
    #[arg(long, value_name = "PID", conflicts_with = "workload")]
    pid: Option<u32>,
    /// The workload the spec means when several serve its port: pid:PID, container:NAME-OR-ID
    /// (an id prefix or a name), or NAMESPACE/POD[/CONTAINER] (`*` matches any run of
    /// characters); else the spec's modelspec.piqc.ai/workload annotation, the port and the
    /// served model id, or the port alone.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_selector)]
    workload: Option<crate::check::target::Selector>,
    /// A spec whose workload does not run on this node fails the scan (else it is a note and
    /// its checks are skipped): for a node that must run every scanned model.
    #[arg(long)]
    require_deployed: bool,
    /// The filesystem to measure for ephemeralStorageGb (else a local modelUri, if any).
    #[arg(long, value_name = "PATH")]
    storage_path: Option<PathBuf>,
    #[command(flatten)]
    connect: connect::ConnectArgs,
    /// Also read latency, request rate and peak batch from this Prometheus server (PromQL).
    #[arg(long, value_name = "URL")]
    prometheus: Option<String>,
    /// The time range of the Prometheus queries (e.g. 1h, 30m).
    #[arg(long, value_name = "RANGE", default_value = "1h", requires = "prometheus")]
    range: String,
    /// Label matchers for every Prometheus query, e.g. '{namespace="prod",pod=~"llama-.*"}'.
    #[arg(long, value_name = "MATCHERS", default_value = "", requires = "prometheus")]
    selector: String,
    /// Measure the engine's metrics over a window (e.g. 30s): rates, windowed p95, peak batch.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    window: Option<std::time::Duration>,
    /// Scrape metrics from this URL instead of the engine's own endpoint.
    #[arg(long, value_name = "URL")]
    metrics_url: Option<String>,
    /// Price of one GPU hour in USD, for the cost per 1k tokens (with --window or --prometheus).
    #[arg(long, value_name = "USD")]
    gpu_hourly_usd: Option<f64>,
    /// How often gauges (running requests) are sampled during the window.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, requires = "window")]
    sample_interval: std::time::Duration,
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The earlier report (`scan --format json`).
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The later report.
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = diff::DiffFormat::Human)]
    format: diff::DiffFormat,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// A report written by `scan --format json` (or `-o json=PATH`).
    #[arg(value_name = "REPORT")]
    report: PathBuf,
    /// The spec file to judge with (repeatable; else the paths the report records).
    #[arg(long = "spec", value_name = "FILE")]
    specs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = verify::VerifyFormat::Human)]
    format: verify::VerifyFormat,
}

#[derive(Debug, clap::Args)]
struct MetricsArgs {
    /// An http(s) URL to scrape, or a file holding an exposition.
    #[arg(value_name = "URL|FILE")]
    source: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = metrics::MetricsFormat::Table)]
    format: metrics::MetricsFormat,
    /// Deadline for the scrape.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    timeout: std::time::Duration,
    /// Write the output to FILE (atomically).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    connect: connect::ConnectArgs,
}

#[derive(Debug, clap::Args)]
struct FactsArgs {
    /// Write the observation to FILE (atomically) and print a summary.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print JSON even on a terminal.
    #[arg(long)]
    json: bool,
    /// The NVML library to load (else $MODELSPEC_NVML_LIB, else libnvidia-ml.so.1).
    #[arg(long, value_name = "PATH")]
    nvml_lib: Option<PathBuf>,
    /// Deadline for all probes together (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    timeout: std::time::Duration,
    /// Also describe the process listening on this TCP port (repeat for several models).
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,
    /// Also describe this process (with one --port, the port is checked against it).
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// Also measure the filesystem holding this path (repeatable).
    #[arg(long, value_name = "PATH")]
    storage_path: Vec<PathBuf>,
    #[command(flatten)]
    connect: connect::ConnectArgs,
}

/// `--fail-on` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOnArg {
    /// Only drift fails.
    Fail,
    /// Drift or warnings fail.
    Warn,
    /// Drift, warnings or anything not observed fail.
    Unknown,
}

fn parse_selector(text: &str) -> Result<crate::check::target::Selector, String> {
    text.parse()
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration; use e.g. 10s, 500ms or 2m"))?;
    let seconds = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}; use ms, s or m")),
    };
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 3600.0 {
        return Err(format!("{s:?} is out of range: between 1ms and 1h"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaName {
    /// The ModelSpec v0.1 document schema.
    Modelspec,
    /// The shape of `validate --format json` output.
    ValidateOutput,
    /// The shape of `scan --format json` reports.
    Report,
    /// The shape of `facts` observations.
    Observation,
    /// `scan --waivers` files.
    Waivers,
}

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics with source excerpts, for people.
    Human,
    /// One JSON object, for programs (shape documented in the README).
    Json,
}

/// When to color human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// Files or directories (searched recursively for *.yaml, *.yml, *.json; hidden entries
    /// skipped). `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Schema only: no lint rules, no specRef resolution (the standard's own verdict).
    #[arg(long)]
    no_lint: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    strict: bool,
    /// Largest file accepted, in bytes (suffixes KiB, MiB accepted).
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_size)]
    max_file_size: u64,
    /// When to use colors in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, ""), |i| (&t[..i], t[i..].trim()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size; use e.g. 4194304, 512KiB or 4MiB"))?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return Err(format!("unknown size unit {unit:?}; use KiB, MiB or GiB")),
    };
    n.checked_mul(factor).ok_or_else(|| format!("{s:?} is too large"))
}

/// The command-line definition, for completions, man pages and tests that check command
/// lines (in docs and deployment examples) against it.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Logs to standard error at the `-v` level: nothing by default (the report and the warnings
/// say what matters), steps with `-v`, requests with `-vv`, everything with `-vvv`.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // Our own events up to -vv; the HTTP stack's (connections, pools) only with -vvv.
    let filter = if verbose > 2 {
        tracing_subscriber::filter::Targets::new().with_default(level)
    } else {
        tracing_subscriber::filter::Targets::new().with_target("modelspec", level)
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(verbose > 2);
    let _ = tracing_subscriber::registry().with(layer).with(filter).try_init();
}

/// `modelspec man`.
fn man(out_dir: Option<&std::path::Path>) -> i32 {
    let render = |cmd: clap::Command| -> std::io::Result<Vec<u8>> {
        let mut buffer = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buffer)?;
        Ok(buffer)
    };
    let root = command();
    let Some(dir) = out_dir else {
        return match render(root) {
            Ok(page) => {
                use std::io::Write;
                let _ = std::io::stdout().write_all(&page);
                exit::OK
            }
            Err(e) => {
                eprintln!("error: cannot render the man page: {e}");
                exit::ERROR
            }
        };
    };
    let mut pages = vec![("modelspec.1".to_string(), root.clone())];
    for sub in root.get_subcommands() {
        let name = format!("modelspec-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name)));
    }
    for (file, cmd) in pages {
        let path = dir.join(&file);
        let written = render(cmd)
            .map_err(|e| e.to_string())
            .and_then(|page| output::write_atomically(&path, &page));
        if let Err(e) = written {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    }
    exit::OK
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::ERROR } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    init_logging(cli.verbose);
    interrupt::install();
    match cli.command {
        Command::Scan(args) => scan::run(&{
            let args = *args;
            scan::Request {
                specs: args.specs,
                demo: args.demo,
                facts: args.facts,
                nvml_lib: args.nvml_lib,
                timeout: args.timeout,
                format: args.format,
                no_facts: args.no_facts,
                fail_on: match args.fail_on {
                    FailOnArg::Fail => crate::report::FailOn::Fail,
                    FailOnArg::Warn => crate::report::FailOn::Warn,
                    FailOnArg::Unknown => crate::report::FailOn::Unknown,
                },
                color: args.color,
                outputs: args.output,
                waivers: args.waivers,
                quiet: cli.quiet,
                verbose: cli.verbose,
                command_line: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
                show_skipped: args.show_skipped,
                // A pid selector asks for that process directly, as --pid does.
                pid: args.pid.or(match &args.workload {
                    Some(crate::check::target::Selector::Pid { pid }) => Some(*pid),
                    _ => None,
                }),
                workload: args
                    .workload
                    .filter(|w| !matches!(w, crate::check::target::Selector::Pid { .. })),
                require_deployed: args.require_deployed,
                storage_path: args.storage_path,
                connect: args.connect,
                metrics_url: args.metrics_url,
                gpu_hourly_usd: args.gpu_hourly_usd,
                window: args
                    .window
                    .map(|w| (w, args.sample_interval.max(std::time::Duration::from_millis(100)))),
                prometheus: args.prometheus.map(|url| scan::PrometheusArgs {
                    url,
                    range: args.range,
                    selector: args.selector,
                }),
            }
        }),
        Command::Facts(args) => facts::run(&facts::Request {
            output: args.output,
            json: args.json,
            nvml_lib: args.nvml_lib,
            timeout: args.timeout,
            port: args.port,
            pid: args.pid,
            storage_path: args.storage_path,
            connect: args.connect,
        }),
        Command::Validate(args) => validate::run(&validate::Request {
            paths: args.paths,
            format: args.format,
            lint: !args.no_lint,
            strict: args.strict,
            max_file_bytes: args.max_file_size,
            color: args.color,
        }),
        Command::Schema { which } => {
            print!(
                "{}",
                match which {
                    SchemaName::Modelspec => crate::schemas::MODELSPEC,
                    SchemaName::ValidateOutput => crate::schemas::VALIDATE_OUTPUT,
                    SchemaName::Report => crate::schemas::REPORT,
                    SchemaName::Observation => crate::schemas::OBSERVATION,
                    SchemaName::Waivers => crate::schemas::WAIVERS,
                }
            );
            exit::OK
        }
        Command::Diff(args) => diff::run(&diff::Request {
            old: args.old,
            new: args.new,
            format: args.format,
        }),
        Command::Verify(args) => verify::run(&verify::Request {
            report: args.report,
            specs: args.specs,
            format: args.format,
        }),
        Command::Completions { shell } => {
            // Into a buffer first: the generator panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "modelspec", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            exit::OK
        }
        Command::Man { out_dir } => man(out_dir.as_deref()),
        Command::Codes => {
            validate::print_codes();
            exit::OK
        }
        Command::Explain { code } => explain(&code),
        Command::Metrics(args) => metrics::run(&metrics::Request {
            source: args.source,
            format: args.format,
            timeout: args.timeout,
            connect: args.connect,
            output: args.output,
        }),
    }
}

/// `modelspec explain CODE`.
fn explain(code: &str) -> i32 {
    let codes = validate::all_codes();
    let Some((code, severity, summary)) = codes.iter().find(|(c, _, _)| *c == code) else {
        let hint = crate::suggest::closest(code, codes.iter().map(|(c, _, _)| *c))
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        eprintln!("error: unknown code `{code}`{hint}; `modelspec codes` lists them all");
        return exit::ERROR;
    };
    let kind = match *severity {
        "check" => "scan check",
        "warning" => "validate warning",
        _ => "validate error",
    };
    println!("{code} ({kind})\n\n  {summary}");
    if let Some(long) = crate::check::explain::explain(code) {
        println!();
        for line in wrap(long, 96) {
            println!("  {line}");
        }
    }
    exit::OK
}

/// Greedy word wrap for terminal prose.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().map_or(0, |l| l.len());
        if last > 0 && last + 1 + word.len() > width {
            lines.push(String::new());
        }
        if let Some(line) = lines.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4MiB"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(std::time::Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(std::time::Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(std::time::Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
