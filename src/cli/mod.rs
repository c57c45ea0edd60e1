//! The command line: argument parsing, dispatch, and exit codes.
//!
//! Each command's arguments are parsed once, by clap, and turned into the request the command
//! runs (`scan::Request::from_args`, after ripgrep's low-level arguments and `HiArgs`).
//! Commands return `Ok` with an exit code computed once from their results, or a typed
//! [`CliError`], which [`main`] alone prints and maps to [`exit::ERROR`]; nothing below this
//! module calls `process::exit` or prints an error itself. The one exception is
//! `interrupt`: on SIGINT/SIGTERM it removes temporary output files and ends the process with
//! 128 + the signal number (130, 143), because probe threads cannot be cancelled.

mod connect;
mod diff;
mod error;
mod facts;
mod fleet;
mod init;
mod interrupt;
mod metrics;
mod output;
mod progress;
mod scan;
mod serve;
mod sign;
mod style;
mod validate;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use error::CliError;

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

/// `--version`: the package version and the git commit it was built from (build.rs records it).
static VERSION: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| version_text(env!("CARGO_PKG_VERSION"), option_env!("MODELSPEC_GIT_COMMIT")));

fn version_text(version: &str, commit: Option<&str>) -> String {
    match commit.filter(|c| !c.is_empty()) {
        Some(commit) => format!("{version} (commit {commit})"),
        None => format!("{version} (commit unknown: built outside a git checkout)"),
    }
}

/// Checks AI model deployments against their declared ModelSpec contract.
#[derive(Debug, Parser)]
#[command(name = "modelspec", version = VERSION.as_str(), about, long_about = None, propagate_version = true)]
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
    Scan(Box<scan::ScanArgs>),
    /// Capture what the probes see on this node, with no spec (to save and replay).
    // `facts` has ports, not specs: the shared endpoint flags say so in its own words.
    #[command(
        mut_arg("host", |a| a.help("Host of the serving endpoints on the --port ports (default 127.0.0.1)")),
        mut_arg("endpoint", |a| a.help("Base URL of the serving endpoint, replacing http://HOST:PORT (with exactly one --port)"))
    )]
    Facts(FactsArgs),
    /// Draft a ModelSpec from what runs: one serving port, a saved observation, or the demo.
    #[command(
        mut_arg("host", |a| a.help("Host of the serving endpoint on --port (default 127.0.0.1)")),
        mut_arg("endpoint", |a| a.help("Base URL of the serving endpoint, replacing http://HOST:PORT"))
    )]
    Init(InitArgs),
    /// Scan on a schedule and serve the last report to Prometheus (/metrics), and as JSON and
    /// HTML; SIGHUP reloads the specs.
    Serve(serve::ServeArgs),
    /// Validate ModelSpec files against the v0.1 schema and lint rules.
    Validate(ValidateArgs),
    /// Print a JSON Schema this tool publishes.
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        which: SchemaName,
    },
    /// Inspect a Prometheus/OpenMetrics exposition (URL or file): families, engine, errors.
    // The argument is the URL: the endpoint flags `scan` and `facts` share have no place here
    // (refused when given).
    #[command(mut_arg("host", |a| a.hide(true)), mut_arg("endpoint", |a| a.hide(true)))]
    Metrics(MetricsArgs),
    /// List every diagnostic and check code with what it checks.
    Codes {
        /// Output format.
        #[arg(long, value_enum, default_value_t = CodesFormat::Table)]
        format: CodesFormat,
    },
    /// Check a filed report: recompute its hashes and derive its findings again.
    Verify(VerifyArgs),
    /// Drift between two reports: new failures, resolved findings, values that moved.
    Diff(DiffArgs),
    /// Merge many nodes' reports into one fleet audit report (each verified first).
    Fleet(FleetArgs),
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
struct FleetArgs {
    /// Node reports (`scan --format json`), or folders of them (`nodes/<node>.json`).
    #[arg(value_name = "REPORT.json|DIR", required = true)]
    inputs: Vec<PathBuf>,
    /// A spec file to verify the reports with (repeatable; matched by content, then path;
    /// else each report's recorded path).
    #[arg(long = "spec", value_name = "FILE")]
    specs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = fleet::FleetFormat::Table)]
    format: fleet::FleetFormat,
    /// Also write the fleet report, atomically: FORMAT=PATH (repeatable, e.g. -o html=fleet.html
    /// -o json=fleet.json); a bare PATH takes --format's instead of standard output.
    #[arg(short, long = "output", value_name = "[FORMAT=]PATH")]
    output: Vec<scan::OutputTarget<fleet::FleetFormat>>,
    /// A node whose latest scan is older than this is stale (e.g. 1h, 30m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    stale_after: Option<std::time::Duration>,
    /// Judge the fleet as of this instant (RFC 3339 UTC; else now): a reproducible report.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// The lowest status on a node that makes the fleet fail (exit 1).
    #[arg(long, value_enum, default_value_t = FleetFailOn::Fail)]
    fail_on: FleetFailOn,
    /// Reports read at once (default: one per CPU).
    #[arg(long, value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// When to use colors in the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Count only reports with a valid signature (`REPORT.sig`) by a key in PUB (an OpenSSH
    /// public key or allowed_signers file); the others are excluded, with the reason.
    #[arg(long, value_name = "PUB")]
    require_signature: Option<PathBuf>,
    /// Sign each fleet report written with -o: a detached SSH signature, PATH.sig (the key
    /// file must be mode 600 or stricter).
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
}

/// `fleet --fail-on` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FleetFailOn {
    /// Only drift fails.
    Fail,
    /// Drift or warnings fail.
    Warn,
    /// Drift, warnings or anything not observed fail.
    Unknown,
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
    /// Also check the report's SSH signature with these trusted keys: a .pub file or an
    /// allowed_signers file (one key or several).
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    /// The signature to check (default: REPORT.sig).
    #[arg(long, value_name = "FILE", requires = "key")]
    signature: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct MetricsArgs {
    /// An http(s) URL to scrape, a file holding an exposition, or `-` for standard input.
    #[arg(value_name = "URL|FILE|-")]
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
    /// The AMD SMI library to load (else $MODELSPEC_AMDSMI_LIB, else libamd_smi.so).
    #[arg(long, value_name = "PATH")]
    amdsmi_lib: Option<PathBuf>,
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
    #[command(flatten)]
    cloud: connect::CloudArgs,
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// The serving process's TCP port (with --facts: which of its ports to draft).
    #[arg(long, value_name = "PORT", conflicts_with = "all")]
    port: Option<u16>,
    /// The serving process (or one of its children), found on whichever port it listens on.
    #[arg(long, value_name = "PID", conflicts_with = "workload")]
    pid: Option<u32>,
    /// The workload to draft, when several serve or no port is given: pid:PID,
    /// container:NAME-OR-ID or NAMESPACE/POD[/CONTAINER] (`*` matches any run of characters).
    #[arg(long, value_name = "SEL", value_parser = parse_selector)]
    workload: Option<crate::check::target::Selector>,
    /// Draft every model server on the node: one spec each, named after its model and its pod
    /// or container, in -o DIR/ (or one YAML stream on standard output).
    #[arg(long, conflicts_with_all = ["name", "pid"])]
    all: bool,
    /// Draft from a saved observation (`modelspec facts -o FILE`) instead of probing.
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    facts: Option<PathBuf>,
    /// Draft from the built-in demo node.
    #[arg(long)]
    demo: bool,
    /// Measure the metrics over a window (e.g. 30s) to propose a targetRps from the request
    /// rate in it (else the average since the server started).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with_all = ["facts", "demo"])]
    window: Option<std::time::Duration>,
    /// metadata.name (else made from the served model's id).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Write the draft to FILE (atomically) instead of standard output; with --all, a directory
    /// (made if missing) to write NAME.yaml in for each server.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite what exists.
    #[arg(long, requires = "output")]
    force: bool,
    /// Write only what was observed with certainty (no engine defaults, no GPU count guessed
    /// from the node, no tracing read as off from its absence).
    #[arg(long)]
    minimal: bool,
    /// The NVML library to load (else $MODELSPEC_NVML_LIB, else libnvidia-ml.so.1).
    #[arg(long, value_name = "PATH")]
    nvml_lib: Option<PathBuf>,
    /// The AMD SMI library to load (else $MODELSPEC_AMDSMI_LIB, else libamd_smi.so).
    #[arg(long, value_name = "PATH")]
    amdsmi_lib: Option<PathBuf>,
    /// Deadline for all probes together (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    timeout: std::time::Duration,
    #[command(flatten)]
    connect: connect::ConnectArgs,
}

/// A scan check code, or a usage error naming the closest one.
fn parse_check_code(text: &str) -> Result<String, String> {
    let codes = crate::check::CHECKS.iter().map(|check| check.code);
    if codes.clone().any(|c| c == text) {
        return Ok(text.to_string());
    }
    let hint = crate::suggest::closest(text, codes)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    Err(format!(
        "unknown check code `{text}`{hint}; `modelspec codes` lists them under \"scan checks\""
    ))
}

fn parse_selector(text: &str) -> Result<crate::check::target::Selector, String> {
    text.parse()
}

/// A duration: a number with a unit (`ms`, `s`, `m`, `min`, `h`), or several added up
/// (`1m30s`, `1h15m`); a bare number is seconds. Between 1ms and 1h.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let usage = "use e.g. 10s, 500ms, 2m, 1m30s or 1h";
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("an empty duration; {usage}"));
    }
    let mut rest = t;
    let mut seconds = 0.0_f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(split);
        let n: f64 = number
            .parse()
            .map_err(|_| format!("{s:?} is not a duration; {usage}"))?;
        let tail = tail.trim_start();
        let unit_len = tail.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(tail.len());
        let (unit, after) = tail.split_at(unit_len);
        let factor = match unit {
            // A bare number is seconds, but only alone: `1m30` is a typo, not 90 seconds.
            "" if split == t.len() => 1.0,
            "" => return Err(format!("{s:?}: {number} has no unit; {usage}")),
            "s" => 1.0,
            "ms" => 0.001,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => {
                return Err(format!(
                    "unknown unit {unit:?} in {s:?}; use ms, s, m or h (e.g. 1m30s)"
                ));
            }
        };
        seconds += n * factor;
        rest = after.trim_start();
    }
    if !seconds.is_finite() || !(0.001..=3600.0).contains(&seconds) {
        return Err(format!("{s:?} is out of range: between 1ms and 1h"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CodesFormat {
    /// One line per code, for people.
    Table,
    /// A JSON array of `{"code", "kind", "severity", "summary"}`, for programs.
    Json,
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
    /// The shape of `fleet --format json` reports.
    Fleet,
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
    /// Largest file accepted: bytes, or Kubernetes units (k, M, G: powers of 1000; Ki, Mi, Gi:
    /// powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "4Mi", value_parser = parse_size)]
    max_file_size: u64,
    /// When to use colors in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// A size in bytes, in Kubernetes quantity units: decimal `k`, `M`, `G`, `T` (10^3 .. 10^12)
/// and binary `Ki`, `Mi`, `Gi`, `Ti` (2^10 .. 2^40), a trailing `B` allowed (`MiB`, `MB`).
/// Case matters, as in Kubernetes: `m` would be milli, so it is refused with a hint.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, ""), |i| (&t[..i], t[i..].trim()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size; use e.g. 4194304, 512Ki, 4Mi or 4M"))?;
    let factor: u64 = match unit.strip_suffix('B').unwrap_or(unit) {
        "" => 1,
        "k" | "K" => 1000,
        "M" => 1000 * 1000,
        "G" => 1000 * 1000 * 1000,
        "T" => 1000 * 1000 * 1000 * 1000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown size unit {unit:?} in {s:?}; use Kubernetes units: k, M, G, T (powers of 1000) \
                 or Ki, Mi, Gi, Ti (powers of 1024), e.g. 4Mi"
            ));
        }
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

/// The man page's EXIT STATUS section (roff).
const MAN_EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success: nothing at or above \fB\-\-fail\-on\fR (scan), every document valid (validate), the report holds (verify), nothing newly failing (diff), a clean page (metrics).
.TP
\fB1\fR
Drift or invalid input found: a finding at or above \fB\-\-fail\-on\fR, or a spec not deployed under \fB\-\-require\-deployed\fR (scan); an invalid document, or warnings under \fB\-\-strict\fR (validate); a report that no longer holds (verify); something failing that did not before (diff); a page with errors (metrics).
.TP
\fB2\fR
Usage error, a file that cannot be read, an invalid spec or waiver file, or an internal error. \fBscan \-\-demo\fR always exits 0 and says which code a real scan would give.
.TP
\fB130\fR, \fB143\fR
Interrupted by SIGINT or SIGTERM; a report being written is the previous file or the new one, never half of one.
"#;

/// The man page's ENVIRONMENT section (roff): every variable the tool reads.
const MAN_ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBMODELSPEC_NVML_LIB\fR
The NVML library to load when \fB\-\-nvml\-lib\fR is not given (else libnvidia\-ml.so.1).
.TP
\fBMODELSPEC_TOKEN\fR
The bearer token for serving endpoints and metrics URLs when \fB\-\-token\-file\fR is not given; sent to the target host only, never printed.
.TP
\fBNO_COLOR\fR
When set and not empty, no colour under \fB\-\-color auto\fR.
.TP
\fBTERM\fR
\fBdumb\fR turns off colour under \fB\-\-color auto\fR, the spinner and the \fB\-\-window\fR progress bar.
"#;

/// A man page: clap_mangen's sections, then EXIT STATUS and ENVIRONMENT, then the version.
fn man_page(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    let has_subcommands = cmd.has_subcommands();
    let has_version = cmd.get_version().is_some();
    let man = clap_mangen::Man::new(cmd);
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    if has_subcommands {
        man.render_subcommands_section(&mut page)?;
    }
    page.extend_from_slice(MAN_EXIT_STATUS.as_bytes());
    page.extend_from_slice(MAN_ENVIRONMENT.as_bytes());
    if has_version {
        man.render_version_section(&mut page)?;
    }
    Ok(page)
}

/// `modelspec man`.
fn man(out_dir: Option<&std::path::Path>) -> Result<i32, CliError> {
    let render = |cmd: clap::Command| -> std::io::Result<Vec<u8>> { man_page(cmd) };
    let root = command();
    let Some(dir) = out_dir else {
        let page = render(root).map_err(|e| CliError::Io(format!("cannot render the man page: {e}")))?;
        use std::io::Write;
        let _ = std::io::stdout().write_all(&page);
        return Ok(exit::OK);
    };
    let mut pages = vec![("modelspec.1".to_string(), root.clone())];
    for sub in root.get_subcommands() {
        let name = format!("modelspec-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name)));
    }
    for (file, cmd) in pages {
        let path = dir.join(&file);
        render(cmd)
            .map_err(|e| e.to_string())
            .and_then(|page| output::write_atomically(&path, &page))
            .map_err(CliError::Io)?;
    }
    Ok(exit::OK)
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
    // `serve` handles SIGTERM itself: it drains its requests and exits 0.
    if !matches!(cli.command, Command::Serve(_)) {
        interrupt::install();
    }
    let globals = Globals {
        quiet: cli.quiet,
        verbose: cli.verbose,
        command_line: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
    };
    // The one place a command's error is printed and becomes the exit code.
    match dispatch(cli.command, &globals) {
        Ok(code) => code,
        Err(error) => {
            error.print();
            error.exit_code()
        }
    }
}

/// The flags every command shares, and the command line as given (a report records it).
struct Globals {
    quiet: bool,
    verbose: u8,
    command_line: Vec<String>,
}

/// Runs one command; its exit code, or the error that stopped it.
fn dispatch(cmd: Command, globals: &Globals) -> Result<i32, CliError> {
    match cmd {
        Command::Scan(args) => scan::Request::from_args(*args, globals).and_then(|req| scan::run(&req)),
        Command::Facts(args) => facts::run(&facts::Request {
            output: args.output,
            json: args.json,
            nvml_lib: args.nvml_lib,
            amdsmi_lib: args.amdsmi_lib,
            timeout: args.timeout,
            port: args.port,
            pid: args.pid,
            storage_path: args.storage_path,
            connect: args.connect,
            cloud: args.cloud,
            window: None,
        }),
        Command::Serve(args) => serve::run(args, globals),
        Command::Init(args) => init::run(&init::Request {
            demo: args.demo,
            facts: args.facts,
            probe: facts::Request {
                output: None,
                json: false,
                nvml_lib: args.nvml_lib,
                amdsmi_lib: args.amdsmi_lib,
                timeout: args.timeout,
                port: args.port.into_iter().collect(),
                pid: None,
                storage_path: Vec::new(),
                connect: args.connect,
                cloud: connect::CloudArgs::default(),
                window: init::window(args.window),
            },
            workload: args
                .workload
                .or(args.pid.map(|pid| crate::check::target::Selector::Pid { pid })),
            all: args.all,
            name: args.name,
            output: args.output,
            force: args.force,
            minimal: args.minimal,
            quiet: globals.quiet,
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
                    SchemaName::Fleet => crate::schemas::FLEET,
                }
            );
            Ok(exit::OK)
        }
        Command::Diff(args) => diff::run(&diff::Request {
            old: args.old,
            new: args.new,
            format: args.format,
        }),
        Command::Fleet(args) => fleet::run(&fleet::Request {
            inputs: args.inputs,
            specs: args.specs,
            format: args.format,
            outputs: args.output,
            stale_after: args.stale_after,
            now: args.now,
            fail_on: match args.fail_on {
                FleetFailOn::Fail => crate::report::FailOn::Fail,
                FleetFailOn::Warn => crate::report::FailOn::Warn,
                FleetFailOn::Unknown => crate::report::FailOn::Unknown,
            },
            jobs: args.jobs,
            color: style::Style::new(args.color).enabled(),
            require_signature: args.require_signature,
            sign_key: args.sign_key,
        }),
        Command::Verify(args) => verify::run(&verify::Request {
            report: args.report,
            specs: args.specs,
            format: args.format,
            key: args.key,
            signature: args.signature,
        }),
        Command::Completions { shell } => {
            // Into a buffer first: the generator panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "modelspec", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(exit::OK)
        }
        Command::Man { out_dir } => man(out_dir.as_deref()),
        Command::Codes { format } => match format {
            CodesFormat::Table => {
                validate::print_codes();
                Ok(exit::OK)
            }
            CodesFormat::Json => codes_json(),
        },
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

/// `modelspec codes --format json`: `{"codes": [{"code", "command", "severity", "summary"}]}`,
/// `command` being `validate` or `scan`, `severity` `error` or `warning` for validate's
/// diagnostics and `check` for scan checks.
fn codes_json() -> Result<i32, CliError> {
    let codes: Vec<serde_json::Value> = validate::all_codes()
        .into_iter()
        .map(|(code, severity, summary)| {
            serde_json::json!({
                "code": code,
                "command": if severity == "check" { "scan" } else { "validate" },
                "severity": severity,
                "summary": summary,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&serde_json::json!({ "codes": codes })).unwrap_or_default();
    text.push('\n');
    output::write_stdout(text.as_bytes()).map_err(CliError::Io)?;
    Ok(exit::OK)
}

/// `modelspec explain CODE`.
fn explain(code: &str) -> Result<i32, CliError> {
    let codes = validate::all_codes();
    let Some((code, severity, summary)) = codes.iter().find(|(c, _, _)| *c == code) else {
        let hint = crate::suggest::closest(code, codes.iter().map(|(c, _, _)| *c))
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(CliError::Usage(format!(
            "unknown code `{code}`{hint}; `modelspec codes` lists them all"
        )));
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
    Ok(exit::OK)
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
    fn sizes_follow_kubernetes_units() {
        assert_eq!(parse_size("4M"), Ok(4_000_000), "M is 10^6");
        assert_eq!(parse_size("4Mi"), Ok(4 << 20), "Mi is 2^20");
        assert_eq!(parse_size("4MB"), Ok(4_000_000));
        assert_eq!(parse_size("512k"), Ok(512_000));
        assert_eq!(parse_size("512Ki"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1_000_000_000));
        assert_eq!(parse_size("1Gi"), Ok(1 << 30));
        assert_eq!(parse_size("1Ti"), Ok(1 << 40));
        let err = parse_size("4m").expect_err("m is milli in Kubernetes");
        assert!(err.contains("Mi") && err.contains("\"m\""), "{err}");
        assert!(parse_size("4mi").is_err());
    }

    #[test]
    fn durations_add_up_parts_and_take_hours() {
        use std::time::Duration;
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.5h"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("30min"), Ok(Duration::from_secs(1800)));
        let err = parse_duration("1m30").expect_err("a trailing number needs a unit");
        assert!(err.contains("no unit"), "{err}");
        assert!(parse_duration("1h1s").is_err(), "over an hour");
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("1..2s").is_err());
    }

    #[test]
    fn version_names_the_commit() {
        assert_eq!(
            version_text("0.1.0", Some("0123456789abcdef0123456789abcdef01234567")),
            "0.1.0 (commit 0123456789abcdef0123456789abcdef01234567)"
        );
        assert!(version_text("0.1.0", None).contains("commit unknown"));
        assert!(version_text("0.1.0", Some("")).contains("commit unknown"));
        let shown = command().render_version();
        assert!(shown.contains("commit"), "{shown}");
    }

    #[test]
    fn check_codes_are_checked_with_a_suggestion() {
        assert_eq!(parse_check_code("model-id"), Ok("model-id".to_string()));
        let err = parse_check_code("modle-id").expect_err("typo");
        assert!(
            err.contains("`modle-id`") && err.contains("did you mean `model-id`"),
            "{err}"
        );
        // A validate diagnostic is not a scan check.
        assert!(parse_check_code("schema-type").is_err());
    }

    #[test]
    fn man_pages_have_exit_status_and_environment() {
        let root = String::from_utf8(man_page(command()).expect("render")).expect("utf-8");
        for wanted in [
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            "MODELSPEC_NVML_LIB",
            "MODELSPEC_TOKEN",
            "NO_COLOR",
            ".SH SUBCOMMANDS",
            ".SH OPTIONS",
            ".SH VERSION",
        ] {
            assert!(root.contains(wanted), "{wanted} missing from the man page");
        }
        let exit_at = root.find("EXIT STATUS").unwrap_or(usize::MAX);
        let version_at = root.find(".SH VERSION").unwrap_or(0);
        assert!(exit_at < version_at, "EXIT STATUS before VERSION");
        let scan = command().find_subcommand("scan").cloned().expect("scan");
        let page = String::from_utf8(man_page(scan).expect("render")).expect("utf-8");
        assert!(page.contains("EXIT STATUS") && page.contains("ENVIRONMENT"));
        assert!(!page.contains(".SH SUBCOMMANDS"));
    }

    #[test]
    fn facts_help_speaks_of_ports_not_specs() {
        let mut cmd = command();
        let facts = cmd.find_subcommand_mut("facts").expect("facts");
        let help = facts.render_long_help().to_string();
        for spoken in ["the specs", "one spec"] {
            assert!(!help.contains(spoken), "{spoken:?} in: {help}");
        }
        assert!(help.contains("--port"), "{help}");
        // scan keeps its wording.
        let scan = cmd
            .find_subcommand_mut("scan")
            .expect("scan")
            .render_long_help()
            .to_string();
        assert!(scan.contains("ports come from the specs"), "{scan}");
    }

    /// `metrics` takes the URL as its argument: its help offers no endpoint flags, and says
    /// nothing of specs.
    #[test]
    fn metrics_help_offers_no_endpoint_flags() {
        let mut cmd = command();
        let metrics = cmd.find_subcommand_mut("metrics").expect("metrics");
        let help = metrics.render_long_help().to_string();
        for unwanted in ["--host", "--endpoint", "the specs", "one spec"] {
            assert!(!help.contains(unwanted), "{unwanted:?} in: {help}");
        }
        assert!(help.contains("--token-file"), "{help}");
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

    /// What `Request::from_args` settles: a `pid:` selector is `--pid`, the sample interval
    /// has a floor of 100 ms, the Prometheus flags go together.
    #[test]
    fn scan_arguments_become_one_request() {
        use std::time::Duration;
        let cli = Cli::try_parse_from([
            "modelspec",
            "scan",
            "a.yaml",
            "--workload",
            "pid:42",
            "--window",
            "5s",
            "--sample-interval",
            "10ms",
            "--prometheus",
            "http://prom:9090",
        ])
        .expect("parses");
        let Command::Scan(args) = cli.command else {
            panic!("not scan");
        };
        let globals = Globals {
            quiet: true,
            verbose: 0,
            command_line: vec!["modelspec".into()],
        };
        let req = scan::Request::from_args(*args, &globals).expect("a request");
        assert_eq!(req.pid, Some(42));
        assert!(req.workload.is_none(), "a pid selector is not a workload selector");
        assert_eq!(req.window, Some((Duration::from_secs(5), Duration::from_millis(100))));
        let prometheus = req.prometheus.expect("grouped");
        assert_eq!(
            (prometheus.url.as_str(), prometheus.range.as_str()),
            ("http://prom:9090", "1h")
        );
        assert!(req.quiet && req.command_line == ["modelspec"]);
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
