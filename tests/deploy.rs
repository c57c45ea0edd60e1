//! The deployment examples (`examples/deploy/`, the `Dockerfile`) checked against the real tool.
//!
//! Deployment files rot quietly: a flag is renamed, a report is written to a folder that is not
//! mounted, someone "tidies" a securityContext, an alert queries a metric the scan stopped
//! writing. None of that fails at `kubectl apply`; it fails on a node, later, silently. So
//! every `modelspec` command line in the manifests, unit files, Quadlet files, Dockerfile and
//! READMEs is parsed with the real clap definition ([`modelspec::cli::command`]), every path it writes must lie on
//! a writable volume, the scanner pods must keep the privileges they document (and no more),
//! the fleet pod must need none, the lines that can run without a GPU are run, and the alert
//! rules go through `promtool`. The Kubernetes CronJobs run end to end as far as a test can
//! without a cluster: `$(VAR)` expanded as the kubelet does, each pod's volumes laid out as the
//! kubelet would (a claim shared between pods, ConfigMaps and Secrets with the kubelet's modes),
//! the README's own key commands run against a recording `kubectl`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The formats `-o FORMAT=PATH` names, with the file extensions a reader expects of each (the
/// textfile collector reads only `*.prom`).
const OUTPUT_FORMATS: &[(&str, &[&str])] = &[
    ("table", &["txt"]),
    ("json", &["json"]),
    ("markdown", &["md"]),
    ("html", &["html"]),
    ("junit", &["xml"]),
    ("sarif", &["sarif", "json"]),
    ("prom", &["prom"]),
    ("ctrf", &["json"]),
];

/// The capabilities the scanner is documented to need, and the only ones it may have.
const SCANNER_CAPABILITIES: &[&str] = &["DAC_READ_SEARCH", "SYS_PTRACE"];

use crate::support::{Cmd, root};

fn deploy() -> PathBuf {
    root().join("examples/deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir` (recursively) whose name ends with one of `suffixes`, sorted.
fn files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if suffixes.iter().any(|s| path.to_string_lossy().ends_with(s)) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

// ---------------------------------------------------------------------------------------------
// Reading the files: YAML, shell, Markdown, systemd units, Dockerfile.

/// Every YAML document of every manifest under examples/deploy/, with the file it came from.
fn manifests() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for path in files(&deploy(), &[".yaml", ".yml"]) {
        let docs: Vec<Value> = serde_saphyr::from_multiple(&read(&path))
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", relative(&path)));
        assert!(!docs.is_empty(), "{} holds no document", relative(&path));
        for doc in docs {
            if !doc.is_null() {
                out.push((relative(&path), doc));
            }
        }
    }
    out
}

/// The Kubernetes objects (documents with `apiVersion` and `kind`; not the ModelSpecs that sit
/// beside the podman example).
fn kubernetes_objects() -> Vec<(String, Value)> {
    let objects: Vec<_> = manifests()
        .into_iter()
        .filter(|(_, d)| d.get("apiVersion").is_some() && d.get("kind").is_some() && d["kind"] != "ModelSpec")
        .collect();
    assert!(
        objects.len() >= 5,
        "expected the CronJob and DaemonSet files, found {objects:#?}"
    );
    objects
}

/// Splits a shell script (or a systemd command line, whose quoting is close enough) into simple
/// commands: words after quote removal, split at newlines, `;`, `|` and `&`; comments dropped;
/// reserved words (`do`, `then`, ...) that start a command are dropped too.
fn shell_commands(script: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    fn end_word(words: &mut Vec<String>, word: &mut String, in_word: &mut bool) {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    }
    fn end_command(commands: &mut Vec<Vec<String>>, words: &mut Vec<String>) {
        let reserved = ["do", "then", "else", "elif", "{", "!"];
        let start = words.iter().take_while(|w| reserved.contains(&w.as_str())).count();
        if words.len() > start {
            commands.push(words.split_off(start));
        }
        words.clear();
    }
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(n) => {
                    word.push(n);
                    in_word = true;
                }
            },
            '\'' => {
                in_word = true;
                for n in chars.by_ref() {
                    if n == '\'' {
                        break;
                    }
                    word.push(n);
                }
            }
            '"' => {
                in_word = true;
                while let Some(n) = chars.next() {
                    match n {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(m @ ('"' | '\\' | '$' | '`')) => word.push(m),
                            Some('\n') | None => {}
                            Some(m) => {
                                word.push('\\');
                                word.push(m);
                            }
                        },
                        _ => word.push(n),
                    }
                }
            }
            '#' if !in_word => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            ' ' | '\t' => end_word(&mut words, &mut word, &mut in_word),
            '\n' | ';' | '|' | '&' => {
                end_word(&mut words, &mut word, &mut in_word);
                end_command(&mut commands, &mut words);
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    end_command(&mut commands, &mut words);
    commands
}

/// The fenced shell code blocks (`sh`, `bash`, `shell`) of a Markdown file.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    // Inside a fence: whether it is a shell block, and its text so far.
    let mut fence: Option<(bool, String)> = None;
    for line in markdown.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            match fence.take() {
                Some((true, text)) => blocks.push(text),
                Some((false, _)) => {}
                None => fence = Some((["sh", "bash", "shell"].contains(&info.trim()), String::new())),
            }
            continue;
        }
        if let Some((true, text)) = fence.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    blocks
}

/// A parsed systemd unit: `(section, key)` to its values in order.
type Unit = BTreeMap<(String, String), Vec<String>>;

/// A systemd unit: `(section, key)` to its values in order; continuation lines joined.
fn unit_file(text: &str) -> Unit {
    let mut out: Unit = BTreeMap::new();
    let mut section = String::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        if full.starts_with('[') && full.ends_with(']') {
            section = full[1..full.len() - 1].to_string();
            continue;
        }
        let (key, value) = full.split_once('=').unwrap_or_else(|| panic!("not key=value: {full}"));
        out.entry((section.clone(), key.trim().to_string()))
            .or_default()
            .push(value.trim().to_string());
    }
    out
}

fn unit_values<'a>(unit: &'a Unit, section: &str, key: &str) -> Vec<&'a str> {
    unit.get(&(section.to_string(), key.to_string()))
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The Dockerfile's instructions, continuation lines joined, as (INSTRUCTION, rest).
fn dockerfile() -> Vec<(String, String)> {
    let text = read(&root().join("Dockerfile"));
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(cont) = trimmed.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + trimmed;
        let (instruction, rest) = full.split_once(char::is_whitespace).unwrap_or((&full, ""));
        out.push((instruction.to_ascii_uppercase(), rest.trim().to_string()));
    }
    assert!(!out.is_empty(), "the Dockerfile has no instruction");
    out
}

/// A JSON-form (exec form) instruction argument: `["a", "b"]`.
fn exec_form(rest: &str) -> Vec<String> {
    serde_json::from_str(rest).unwrap_or_else(|e| panic!("not exec form ({e}): {rest}"))
}

/// The image's ENTRYPOINT and CMD (of its last stage).
fn image_entrypoint_and_cmd() -> (Vec<String>, Vec<String>) {
    let instructions = dockerfile();
    let last_from = instructions.iter().rposition(|(i, _)| i == "FROM").expect("a FROM");
    let find = |name: &str| {
        instructions[last_from..]
            .iter()
            .rfind(|(i, _)| i == name)
            .map(|(_, rest)| exec_form(rest))
            .unwrap_or_else(|| panic!("the runtime stage has no {name}"))
    };
    (find("ENTRYPOINT"), find("CMD"))
}

/// The image name the deployment README builds (`docker build -t IMAGE .`).
fn documented_image() -> String {
    let readme = deploy().join("README.md");
    for block in shell_blocks(&read(&readme)) {
        for words in shell_commands(&block) {
            if words.first().map(String::as_str) == Some("docker")
                && words.get(1).map(String::as_str) == Some("build")
                && let Some(i) = words.iter().position(|w| w == "-t" || w == "--tag")
            {
                return words.get(i + 1).cloned().expect("an image after -t");
            }
        }
    }
    panic!("{} shows no `docker build -t IMAGE`", relative(&readme))
}

// ---------------------------------------------------------------------------------------------
// Command lines and what they touch.

/// One `modelspec` command line found in the examples.
#[derive(Debug, Clone)]
struct Invocation {
    /// Where it was found, for messages.
    origin: String,
    /// The arguments, `modelspec` first.
    args: Vec<String>,
}

/// What a parsed command line reads and writes.
#[derive(Debug, Default)]
struct Touches {
    /// Paths written: (`-o` format if named, path).
    writes: Vec<(Option<String>, String)>,
    /// Paths read: specs, `--facts`, `--token-file`, `--ca-file`.
    reads: Vec<String>,
}

/// The `-o`/`--output` values of a command line, as (position of the value, value).
fn output_values(args: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        if a == "-o" || a == "--output" {
            if let Some(v) = args.get(i + 1) {
                out.push((i + 1, v.clone()));
            }
            i += 2;
            continue;
        }
        if let Some(v) = a
            .strip_prefix("--output=")
            .or_else(|| a.strip_prefix("-o").filter(|v| !v.is_empty() && !a.starts_with("--")))
        {
            out.push((i, v.to_string()));
        }
        i += 1;
    }
    out
}

/// `FORMAT=PATH` split, when the value names a format; a bare path otherwise.
fn split_output(value: &str) -> (Option<String>, String) {
    match value.split_once('=') {
        Some((format, path)) if !format.is_empty() && format.chars().all(|c| c.is_ascii_lowercase()) => {
            assert!(
                OUTPUT_FORMATS.iter().any(|(f, _)| *f == format),
                "-o {value}: {format} is not one of the formats {OUTPUT_FORMATS:?}"
            );
            (Some(format.to_string()), path.to_string())
        }
        _ => (None, value.to_string()),
    }
}

/// Parses a command line with the real definition; panics with clap's message unless it is
/// valid. Returns what it reads and writes.
fn check(inv: &Invocation) -> Touches {
    assert!(
        !inv.args.iter().any(|a| a.contains('$') || a.contains('`')),
        "{}: `{}` hides arguments in shell expansions, which this test cannot check",
        inv.origin,
        inv.args.join(" ")
    );
    let matches = modelspec::cli::command()
        .try_get_matches_from(&inv.args)
        .unwrap_or_else(|e| panic!("{}: `{}` does not parse:\n{e}", inv.origin, inv.args.join(" ")));
    let mut touches = Touches::default();
    let Some((sub, sub_matches)) = matches.subcommand() else {
        return touches;
    };
    // The spec folder first: the tests that replay a scan take it from there.
    for id in [
        "specs",
        "paths",
        "facts",
        "token_file",
        "ca_file",
        "inputs",
        "require_signature",
        "sign_key",
    ] {
        if let Ok(Some(values)) = sub_matches.try_get_raw(id) {
            touches.reads.extend(values.map(|v| v.to_string_lossy().into_owned()));
        }
    }
    let format = sub_matches
        .try_get_raw("format")
        .ok()
        .flatten()
        .and_then(|mut v| v.next())
        .map(|v| v.to_string_lossy().into_owned());
    for (_, value) in output_values(&inv.args) {
        let (named, path) = split_output(&value);
        // A bare `-o PATH` holds the --format output; `scan`'s default format is the table.
        let effective = named
            .clone()
            .or_else(|| format.clone())
            .unwrap_or_else(|| "table".into());
        if sub == "scan" || sub == "fleet" {
            let extensions = OUTPUT_FORMATS
                .iter()
                .find(|(f, _)| *f == effective)
                .map(|(_, e)| *e)
                .unwrap_or_else(|| panic!("{}: unknown format {effective}", inv.origin));
            assert!(
                extensions.iter().any(|e| path.ends_with(&format!(".{e}"))),
                "{}: {path} holds {effective} output; name it *.{}",
                inv.origin,
                extensions[0]
            );
        }
        touches.writes.push((named, path));
    }
    touches
}

/// The `modelspec` command lines of a shell script (argv[0] named `modelspec` or `.../modelspec`).
fn modelspec_lines(script: &str, origin: &str) -> Vec<Invocation> {
    shell_commands(script)
        .into_iter()
        .filter_map(|words| {
            let start = words.iter().position(|w| !w.contains('=') || w.starts_with('-'))?;
            let words = &words[start..];
            let is_modelspec = Path::new(&words[0]).file_name().is_some_and(|n| n == "modelspec");
            is_modelspec.then(|| Invocation {
                origin: origin.to_string(),
                args: words.to_vec(),
            })
        })
        .collect()
}

/// A container of a pod, with the pod around it.
struct Container {
    origin: String,
    /// The workload's `metadata.name` (the CronJob's, the DaemonSet's).
    workload: String,
    pod: Value,
    container: Value,
}

/// Every container of every workload (CronJob, Job, DaemonSet, Deployment).
fn containers() -> Vec<Container> {
    let mut out = Vec::new();
    for (file, doc) in kubernetes_objects() {
        let pod = match doc["kind"].as_str() {
            Some("CronJob") => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            Some("DaemonSet" | "Deployment" | "Job" | "StatefulSet") => &doc["spec"]["template"]["spec"],
            _ => continue,
        };
        for c in pod["containers"].as_array().expect("containers") {
            out.push(Container {
                origin: format!(
                    "{file}: {} {}, container {}",
                    doc["kind"].as_str().unwrap_or("?"),
                    doc["metadata"]["name"].as_str().unwrap_or("?"),
                    c["name"].as_str().unwrap_or("?")
                ),
                workload: doc["metadata"]["name"].as_str().unwrap_or("?").to_string(),
                pod: pod.clone(),
                container: c.clone(),
            });
        }
    }
    assert!(out.len() >= 2, "expected the CronJob's and DaemonSet's containers");
    out
}

/// The containers of the workload named `name` (a CronJob's, a DaemonSet's).
fn workload(name: &str) -> Vec<Container> {
    let of: Vec<Container> = containers().into_iter().filter(|c| c.workload == name).collect();
    assert!(!of.is_empty(), "no workload {name} in examples/deploy/kubernetes/");
    of
}

/// The init containers of a container's pod, each with the pod around it.
fn init_containers(c: &Container) -> Vec<Container> {
    c.pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| Container {
            origin: format!(
                "{}, init container {}",
                c.origin
                    .rsplit_once(", container ")
                    .map_or(c.origin.as_str(), |(w, _)| w),
                i["name"].as_str().unwrap_or("?")
            ),
            workload: c.workload.clone(),
            pod: c.pod.clone(),
            container: i.clone(),
        })
        .collect()
}

/// What a pod's container does: scan its node (and then needs the node's privileges), or merge
/// the nodes' reports (and needs none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Scanner,
    /// `modelspec serve`: scans on a schedule and answers Prometheus; a scanner's privileges.
    Exporter,
    Fleet,
}

fn role(c: &Container) -> Role {
    let commands: BTreeSet<String> = container_invocations(c)
        .iter()
        .filter_map(|inv| inv.args.get(1).cloned())
        .collect();
    match commands.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["scan"] => Role::Scanner,
        ["serve"] => Role::Exporter,
        ["fleet"] => Role::Fleet,
        _ => panic!(
            "{} runs modelspec {commands:?}: a pod either scans its node (scan, serve) or builds the fleet report",
            c.origin
        ),
    }
}

/// The node the pods' `spec.nodeName` stands for where a test does not name one.
const TEST_NODE: &str = "gpu-node-1";

/// Expands `$(NAME)` references in a container's command, args or env value the way the kubelet
/// does (Kubernetes' `third_party/forked/golang/expansion`): `$$` is a literal `$`, a name not
/// in `env` stays as written (`$(NAME)`), an unclosed `$(` and a `$` before anything else are
/// kept. No shell is involved.
fn expand(input: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some((name, r)) = after.strip_prefix('(').and_then(|r| r.split_once(')')) {
            match env.get(name) {
                Some(value) => out.push_str(value),
                None => out.push_str(&format!("$({name})")),
            }
            rest = r;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A container's environment as the kubelet builds it on `node`: in order, each `value`
/// expanded over the variables before it; `fieldRef`s resolved to the pod's fields.
fn container_env(c: &Container, node: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for var in c.container["env"].as_array().into_iter().flatten() {
        let name = var["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: env without a name", c.origin));
        let value = if let Some(value) = var["value"].as_str() {
            expand(value, &env)
        } else if let Some(field) = var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            match field {
                "spec.nodeName" => node.to_string(),
                "metadata.namespace" => "modelspec".to_string(),
                "metadata.name" => format!("{}-28950000-abcde", c.workload),
                _ => panic!(
                    "{}: env {name} from fieldRef {field}, which this test does not emulate",
                    c.origin
                ),
            }
        } else if var.get("value").is_none() && var.get("valueFrom").is_none() {
            String::new()
        } else {
            panic!(
                "{}: env {name} comes from {var}, which this test does not emulate",
                c.origin
            )
        };
        env.insert(name.to_string(), value);
    }
    env
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The command lines a container runs: its command and args over the image's ENTRYPOINT and
/// CMD, as Kubernetes combines them; a `sh -c SCRIPT` contributes the script's `modelspec` lines.
fn container_invocations(c: &Container) -> Vec<Invocation> {
    container_invocations_on(c, TEST_NODE)
}

/// [`container_invocations`] on the node named `node`: `$(VAR)` in the command and args
/// expanded from the container's env (not in the image's ENTRYPOINT and CMD: Kubernetes does not).
fn container_invocations_on(c: &Container, node: &str) -> Vec<Invocation> {
    let (entrypoint, cmd) = image_entrypoint_and_cmd();
    let env = container_env(c, node);
    let expanded = |v: &Value| strings(v).iter().map(|a| expand(a, &env)).collect::<Vec<_>>();
    let command = c.container.get("command").map(expanded);
    let args = c.container.get("args").map(expanded);
    let argv: Vec<String> = match (command, args) {
        (Some(command), args) => command.into_iter().chain(args.unwrap_or_default()).collect(),
        (None, Some(args)) => entrypoint.into_iter().chain(args).collect(),
        (None, None) => entrypoint.into_iter().chain(cmd).collect(),
    };
    let shell = argv
        .first()
        .is_some_and(|a| a.ends_with("/sh") || a.ends_with("/bash") || a == "sh" || a == "bash");
    if shell && argv.get(1).map(String::as_str) == Some("-c") {
        modelspec_lines(argv.get(2).map(String::as_str).unwrap_or(""), &c.origin)
    } else {
        assert!(
            argv.first()
                .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "modelspec")),
            "{} runs {argv:?}, not modelspec",
            c.origin
        );
        vec![Invocation {
            origin: c.origin.clone(),
            args: argv,
        }]
    }
}

/// The volume mounted at the deepest mount point holding `path`, with the mount.
fn mount_for<'a>(c: &'a Container, path: &str) -> Option<(&'a Value, &'a Value)> {
    let mounts = c.container["volumeMounts"].as_array()?;
    let mount = mounts
        .iter()
        .filter(|m| m["mountPath"].as_str().is_some_and(|p| Path::new(path).starts_with(p)))
        .max_by_key(|m| m["mountPath"].as_str().map_or(0, str::len))?;
    let volume = c.pod["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == mount["name"])?;
    Some((mount, volume))
}

/// The folders holding a scanner service and its timer (`modelspec-scan.service`,
/// `modelspec-scan.timer`).
const SCAN_UNIT_FOLDERS: &[&str] = &["systemd", "podman"];

/// Every scanner service's ExecStart command lines.
fn systemd_invocations() -> Vec<(Unit, Vec<Invocation>)> {
    SCAN_UNIT_FOLDERS
        .iter()
        .map(|folder| service_invocations(&deploy().join(folder).join("modelspec-scan.service")))
        .collect()
}

/// A service's ExecStart command lines.
fn service_invocations(path: &Path) -> (Unit, Vec<Invocation>) {
    let unit = unit_file(&read(path));
    let mut invocations = Vec::new();
    for exec in unit_values(&unit, "Service", "ExecStart") {
        let line = exec.trim_start_matches(['-', '@', ':', '+', '!']);
        invocations.extend(modelspec_lines(line, &relative(path)));
    }
    assert!(!invocations.is_empty(), "{} runs no modelspec", relative(path));
    (unit, invocations)
}

/// The Quadlet `.container` files under examples/deploy/, parsed as the INI they are (they are
/// not systemd units: Quadlet's generator makes services of them at `daemon-reload`).
fn quadlet_containers() -> Vec<(PathBuf, Unit)> {
    files(&deploy(), &[".container"])
        .into_iter()
        .map(|path| {
            let unit = unit_file(&read(&path));
            (path, unit)
        })
        .collect()
}

/// The `modelspec` command lines a Quadlet container runs: `Exec=` after the documented image's
/// entry point (`modelspec`), or an `Exec=` that runs `modelspec` itself.
fn quadlet_invocations(path: &Path, unit: &Unit) -> Vec<Invocation> {
    let origin = relative(path);
    let exec = unit_values(unit, "Container", "Exec").join(" ");
    let image = documented_image();
    if unit_values(unit, "Container", "Image").contains(&image.as_str()) {
        let (entrypoint, cmd) = image_entrypoint_and_cmd();
        let words: Vec<String> = shell_commands(&exec).into_iter().flatten().collect();
        let args = if words.is_empty() { cmd } else { words };
        return vec![Invocation {
            origin,
            args: entrypoint.into_iter().chain(args).collect(),
        }];
    }
    modelspec_lines(&exec, &origin)
}

/// The `modelspec` command lines in the READMEs' shell blocks, `docker run IMAGE ARGS` included
/// (the image's entry point is `modelspec`).
fn readme_invocations() -> Vec<Invocation> {
    let image = documented_image();
    let mut out = Vec::new();
    for path in files(&deploy(), &["README.md"]) {
        for block in shell_blocks(&read(&path)) {
            out.extend(modelspec_lines(&block, &relative(&path)));
            for words in shell_commands(&block) {
                if words.first().map(String::as_str) == Some("docker")
                    && words.get(1).map(String::as_str) == Some("run")
                {
                    let at = words.iter().position(|w| *w == image).unwrap_or_else(|| {
                        panic!(
                            "{}: `{}` runs another image than {image}",
                            relative(&path),
                            words.join(" ")
                        )
                    });
                    let rest = &words[at + 1..];
                    let (entrypoint, cmd) = image_entrypoint_and_cmd();
                    let args = if rest.is_empty() { cmd } else { rest.to_vec() };
                    out.push(Invocation {
                        origin: format!("{} (docker run)", relative(&path)),
                        args: entrypoint.into_iter().chain(args).collect(),
                    });
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Running command lines here.

/// Runs a command line with the built binary in `tmp`: absolute paths are moved under `tmp`
/// (their folders created), relative ones are read from the repository. Returns the output and the files that must now exist.
/// Runs an example's own command line here, replaying the demo node's observation instead of
/// probing, and checks it ran as written; answers the outputs it was expected to write.
fn replay_on_the_demo_node(inv: &Invocation, tmp: &Path) -> (Output, Vec<(Option<String>, PathBuf)>) {
    replay_mapped(inv, tmp, &|p: &str| tmp.join(p.trim_start_matches('/')))
}

/// [`replay_on_the_demo_node`] with each absolute path mapped by `map`.
fn replay_mapped(
    inv: &Invocation,
    tmp: &Path,
    map: &dyn Fn(&str) -> PathBuf,
) -> (Output, Vec<(Option<String>, PathBuf)>) {
    let mut args = inv.args.clone();
    args.extend(["--facts".to_string(), "fixtures/demo/observation.json".to_string()]);
    let replay = Invocation {
        origin: inv.origin.clone(),
        args,
    };
    let (output, expected) = run_mapped(&replay, tmp, map);
    assert_ran(&replay, &output, &expected, format_of(&replay.args));
    (output, expected)
}

fn run_here(inv: &Invocation, tmp: &Path) -> (Output, Vec<(Option<String>, PathBuf)>) {
    run_mapped(inv, tmp, &|p: &str| tmp.join(p.trim_start_matches('/')))
}

/// Runs a command line in `tmp` with each absolute path mapped by `map` (paths into the
/// repository read from it; relative outputs written in `tmp`), the folders of its outputs created.
fn run_mapped(inv: &Invocation, tmp: &Path, map: &dyn Fn(&str) -> PathBuf) -> (Output, Vec<(Option<String>, PathBuf)>) {
    let args = inv.args.clone();
    let outputs: BTreeSet<usize> = output_values(&args).into_iter().map(|(i, _)| i).collect();
    let mut expected = Vec::new();
    let moved = |p: &str| -> PathBuf { if p.starts_with('/') { map(p) } else { root().join(p) } };
    let mut rewritten = Vec::new();
    for (i, a) in args.iter().enumerate().skip(1) {
        if outputs.contains(&i) {
            let (named, path) = split_output(a);
            let target = if path.starts_with('/') {
                map(&path)
            } else {
                tmp.join(&path)
            };
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("create output folder");
            rewritten.push(match &named {
                Some(f) => format!("{f}={}", target.display()),
                None => target.display().to_string(),
            });
            expected.push((named, target));
        } else if a.starts_with('/') || a.starts_with("fixtures/") || a.starts_with("examples/") {
            rewritten.push(moved(a).display().to_string());
        } else {
            rewritten.push(a.clone());
        }
    }
    let output = Cmd::new().args(&rewritten).current_dir(tmp).output();
    (output, expected)
}

/// Whether a command line can run without a GPU node: it scans the demo or a saved observation.
fn runnable(inv: &Invocation) -> bool {
    inv.args.get(1).map(String::as_str) == Some("scan") && inv.args.iter().any(|a| a == "--demo" || a == "--facts")
}

/// Asserts a run ended as a scan does (0 or 1) and wrote what it was asked to.
fn assert_ran(inv: &Invocation, output: &Output, expected: &[(Option<String>, PathBuf)], format: Option<&str>) {
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{}: `{}` exited {code:?}:\n{}{}",
        inv.origin,
        inv.args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for (named, path) in expected {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "{}: `{}` did not write {}: {e}",
                inv.origin,
                inv.args.join(" "),
                path.display()
            )
        });
        match named.as_deref().or(format) {
            Some("json") => {
                let v: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
                assert!(v["specs"].is_array(), "{}: not a report: {v}", path.display());
            }
            Some("prom") => assert!(text.contains("\nmodelspec_scan_success "), "{}: {text}", path.display()),
            _ => assert!(!text.is_empty(), "{} is empty", path.display()),
        }
    }
}

fn format_of(args: &[String]) -> Option<&str> {
    args.iter()
        .position(|a| a == "--format")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Lays out a ConfigMap the way the kubelet mounts it: the keys in a hidden, timestamped folder,
/// `..data` a symlink to it, and each key a symlink through `..data`.
fn mount_config_map(config_map: &Value, at: &Path) -> usize {
    let data: BTreeMap<String, Vec<u8>> = config_map["data"]
        .as_object()
        .expect("ConfigMap data")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string data").as_bytes().to_vec()))
        .collect();
    mount_keys(&data, at, 0o644)
}

/// Lays out a ConfigMap's or Secret's keys as the kubelet's atomic writer does, each file of
/// `mode`; answers how many.
fn mount_keys(data: &BTreeMap<String, Vec<u8>>, at: &Path, mode: u32) -> usize {
    use std::os::unix::fs::PermissionsExt;
    let stamped = at.join("..2026_11_26_00_00_00.000000001");
    std::fs::create_dir_all(&stamped).expect("create ConfigMap folder");
    for (key, value) in data {
        let file = stamped.join(key);
        std::fs::write(&file, value).expect("write key");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod key");
        std::os::unix::fs::symlink(Path::new("..data").join(key), at.join(key)).expect("key symlink");
    }
    std::os::unix::fs::symlink(stamped.file_name().expect("name"), at.join("..data")).expect("..data symlink");
    data.len()
}

fn config_map(name: &str) -> Value {
    kubernetes_objects()
        .into_iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no ConfigMap {name} in examples/deploy/kubernetes/"))
}

/// Where a pod mounts its specs from: the ConfigMap volume holding the folder `scan` reads.
/// The spec folder an invocation reads, with its container's ConfigMap laid out in a temporary
/// folder as the kubelet would: the temporary folder (removed on drop), the folder as the
/// invocation names it, where it is on disk, and how many keys were mounted.
fn mounted_spec_folder(c: &Container, inv: &Invocation) -> (tempfile::TempDir, String, PathBuf, usize) {
    let folder = check(inv)
        .reads
        .first()
        .unwrap_or_else(|| panic!("{}: no spec folder", inv.origin))
        .clone();
    let tmp = tempfile::tempdir().expect("tempdir");
    let specs_dir = tmp.path().join(folder.trim_start_matches('/'));
    std::fs::create_dir_all(&specs_dir).expect("create spec folder");
    let keys = mount_config_map(&spec_config_map(c, &folder), &specs_dir);
    (tmp, folder, specs_dir, keys)
}

fn spec_config_map(c: &Container, spec_folder: &str) -> Value {
    let (_, volume) = mount_for(c, spec_folder).unwrap_or_else(|| panic!("{}: {spec_folder} is not mounted", c.origin));
    let name = volume["configMap"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {spec_folder} is not a ConfigMap volume: {volume}", c.origin));
    config_map(name)
}

fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// The top README's and the reference's command lines, as users copy them.
#[test]
fn the_readme_and_the_reference_show_command_lines_that_parse() {
    let mut seen = 0;
    for path in [root().join("README.md"), root().join("docs/reference.md")] {
        for block in shell_blocks(&read(&path)) {
            for inv in modelspec_lines(&block, &relative(&path)) {
                check(&inv);
                seen += 1;
            }
        }
    }
    assert!(
        seen >= 4,
        "only {seen} command lines found in the README and docs/reference.md"
    );
}

/// Every scan check is described in the reference, so a new check cannot ship undocumented.
#[test]
fn the_reference_names_every_check() {
    let reference = read(&root().join("docs/reference.md"));
    let missing: Vec<&str> = modelspec::check::CHECKS
        .iter()
        .map(|check| check.code)
        .filter(|code| !reference.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/reference.md does not name the checks {missing:?}"
    );
}

/// `probes/README.md` has a row for every probe crate in the workspace.
#[test]
fn the_probes_readme_lists_every_probe_crate() {
    let manifest = read(&root().join("Cargo.toml"));
    let readme = read(&root().join("probes/README.md"));
    let crates: Vec<&str> = manifest
        .split('"')
        .filter_map(|member| member.strip_prefix("probes/"))
        .collect();
    assert!(
        crates.len() >= 5,
        "probe crates not found in the workspace members: {crates:?}"
    );
    let missing: Vec<&&str> = crates
        .iter()
        .filter(|name| !readme.contains(&format!("| `{name}`")))
        .collect();
    assert!(missing.is_empty(), "probes/README.md has no row for {missing:?}");
}

#[test]
fn every_manifest_parses_as_yaml() {
    let docs = manifests();
    let kinds: BTreeSet<String> = docs
        .iter()
        .filter_map(|(_, d)| d["kind"].as_str().map(str::to_string))
        .collect();
    for kind in [
        "ConfigMap",
        "CronJob",
        "DaemonSet",
        "Namespace",
        "PersistentVolumeClaim",
    ] {
        assert!(kinds.contains(kind), "no {kind} among {kinds:?}");
    }
    // The alert rules and their tests are YAML too.
    assert!(
        docs.iter()
            .any(|(f, d)| f.ends_with("modelspec.rules.yml") && d["groups"].is_array())
    );
    assert!(
        docs.iter()
            .any(|(f, d)| f.ends_with("modelspec.rules.test.yml") && d["tests"].is_array())
    );
}

#[test]
fn pod_command_lines_parse_and_write_to_writable_volumes() {
    let image = documented_image();
    let mut checked = 0;
    for c in containers() {
        assert_eq!(
            c.container["image"].as_str(),
            Some(image.as_str()),
            "{}: not the documented image",
            c.origin
        );
        let invocations = container_invocations(&c);
        assert!(!invocations.is_empty(), "{} runs no modelspec", c.origin);
        for inv in invocations {
            let touches = check(&inv);
            // `serve` answers over HTTP and writes nothing; everything else writes its report.
            assert!(
                !touches.writes.is_empty() || inv.args.get(1).is_some_and(|c| c == "serve"),
                "{}: `{}` writes no file",
                c.origin,
                inv.args.join(" ")
            );
            for (_, path) in &touches.writes {
                assert!(
                    path.starts_with('/'),
                    "{}: {path} is relative to an unknown folder",
                    c.origin
                );
                let (mount, volume) = mount_for(&c, path).unwrap_or_else(|| {
                    panic!(
                        "{}: {path} is on the read-only root file system, not on a volume",
                        c.origin
                    )
                });
                assert_ne!(mount["readOnly"], true, "{}: {path} is on a read-only mount", c.origin);
                assert!(
                    volume.get("configMap").is_none() && volume.get("secret").is_none(),
                    "{}: {path} is on a ConfigMap or Secret volume, which are read-only",
                    c.origin
                );
            }
            for path in &touches.reads {
                assert!(
                    mount_for(&c, path).is_some(),
                    "{}: reads {path}, which is not mounted",
                    c.origin
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 2);
}

#[test]
fn scanner_pods_keep_their_documented_privileges_and_no_more() {
    let scanners: Vec<Container> = containers()
        .into_iter()
        .filter(|c| matches!(role(c), Role::Scanner | Role::Exporter))
        .collect();
    assert!(
        scanners.len() >= 3,
        "expected the CronJob's, the textfile DaemonSet's and the exporter DaemonSet's scanners"
    );
    for c in scanners {
        let (pod, sc) = (&c.pod, &c.container["securityContext"]);
        let o = &c.origin;
        assert_eq!(
            pod["hostPID"], true,
            "{o}: hostPID, or the serving process is invisible"
        );
        assert_eq!(
            pod["automountServiceAccountToken"], false,
            "{o}: no API calls, so no token"
        );
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{o}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{o}");
        assert_ne!(sc["privileged"], true, "{o}");
        assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"], "{o}");
        let mut added = strings(&sc["capabilities"]["add"]);
        added.sort();
        assert_eq!(
            added, SCANNER_CAPABILITIES,
            "{o}: exactly the capabilities that read /proc"
        );
        let seccomp = sc["seccompProfile"]["type"]
            .as_str()
            .or(pod["securityContext"]["seccompProfile"]["type"].as_str());
        assert_eq!(seccomp, Some("RuntimeDefault"), "{o}");
        // GPUs reached through the NVIDIA runtime, never claimed from the workload.
        let env: BTreeMap<String, String> = c.container["env"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|v| {
                        (
                            v["name"].as_str().unwrap_or("").to_string(),
                            v["value"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            env.get("NVIDIA_VISIBLE_DEVICES").is_some_and(|v| v == "all") || pod["runtimeClassName"] == "nvidia",
            "{o}: NVIDIA_VISIBLE_DEVICES=all or runtimeClassName: nvidia"
        );
        let resources = &c.container["resources"];
        for kind in ["requests", "limits"] {
            for what in ["cpu", "memory"] {
                assert!(resources[kind][what].is_string(), "{o}: resources.{kind}.{what}");
            }
            assert!(
                resources[kind].get("nvidia.com/gpu").is_none(),
                "{o}: the scanner must not take a GPU"
            );
        }
        // A writable scratch /tmp under the read-only root.
        let (_, tmp) = mount_for(&c, "/tmp/x").unwrap_or_else(|| panic!("{o}: no /tmp volume"));
        assert!(tmp["emptyDir"].is_object(), "{o}: /tmp is not an emptyDir");
    }
}

#[test]
fn the_daemonset_writes_the_textfile_to_the_host_on_an_interval() {
    let ds: Vec<Container> = containers()
        .into_iter()
        .filter(|c| c.origin.contains(": DaemonSet ") && role(c) == Role::Scanner)
        .collect();
    assert_eq!(ds.len(), 1, "one textfile DaemonSet container");
    let c = &ds[0];
    let script = strings(&c.container["args"]).join("\n");
    assert!(
        script.contains("while true") && script.contains("sleep"),
        "{}: not a loop: {script}",
        c.origin
    );
    for inv in container_invocations(c) {
        assert_eq!(format_of(&inv.args), Some("prom"), "{}", inv.origin);
        for (_, path) in check(&inv).writes {
            let (_, volume) = mount_for(c, &path).expect("mounted");
            assert_eq!(
                volume["hostPath"]["path"].as_str(),
                Some("/var/lib/node_exporter/textfile"),
                "{}: {path} is not in node_exporter's textfile folder",
                c.origin
            );
        }
    }
}

#[test]
fn systemd_units_are_hardened_and_write_only_where_allowed() {
    for folder in SCAN_UNIT_FOLDERS {
        scan_units_are_hardened_and_write_only_where_allowed(&deploy().join(folder));
    }
}

fn scan_units_are_hardened_and_write_only_where_allowed(folder: &Path) {
    let (unit, invocations) = service_invocations(&folder.join("modelspec-scan.service"));
    let one = |key: &str| unit_values(&unit, "Service", key).last().copied();
    assert_eq!(one("Type"), Some("oneshot"));
    assert_eq!(one("ProtectSystem"), Some("strict"));
    assert_eq!(one("NoNewPrivileges"), Some("yes"));
    assert!(
        one("SuccessExitStatus").is_some_and(|s| s.split_whitespace().any(|c| c == "1")),
        "drift is not a unit failure"
    );
    let caps = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = unit_values(&unit, "Service", key)
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(|s| s.trim_start_matches("CAP_").to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(caps("CapabilityBoundingSet"), SCANNER_CAPABILITIES);
    if one("User").is_some_and(|u| u != "root" && u != "0") {
        assert_eq!(
            caps("AmbientCapabilities"),
            SCANNER_CAPABILITIES,
            "a system user needs the capabilities as ambient ones"
        );
    }
    // Settings that would hide what the scan reads.
    for (key, breaking) in [
        ("ProtectProc", "invisible"),
        ("PrivateDevices", "yes"),
        ("PrivateUsers", "yes"),
        ("PrivateNetwork", "yes"),
    ] {
        assert_ne!(one(key), Some(breaking), "{key}={breaking} hides what the scan reads");
    }
    if let Some(families) = one("RestrictAddressFamilies") {
        assert!(families.contains("AF_NETLINK"), "sock_diag needs AF_NETLINK");
    }
    let mut writable: Vec<PathBuf> = unit_values(&unit, "Service", "ReadWritePaths")
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(|p| PathBuf::from(p.trim_start_matches(['-', '+'])))
        .collect();
    writable.extend(
        unit_values(&unit, "Service", "StateDirectory")
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(|d| Path::new("/var/lib").join(d)),
    );
    for inv in &invocations {
        let touches = check(inv);
        assert!(!touches.writes.is_empty(), "{}: writes nothing", inv.origin);
        for (_, path) in &touches.writes {
            assert!(
                writable.iter().any(|w| Path::new(path).starts_with(w)),
                "{}: {path} is read-only under ProtectSystem=strict (writable: {writable:?})",
                inv.origin
            );
        }
    }

    let timer = unit_file(&read(&folder.join("modelspec-scan.timer")));
    let t = |key: &str| unit_values(&timer, "Timer", key).last().copied();
    assert!(
        t("OnCalendar").is_some() || t("OnUnitActiveSec").is_some(),
        "the timer has no schedule"
    );
    assert_eq!(t("Persistent"), Some("true"));
    assert!(t("RandomizedDelaySec").is_some());
    assert_eq!(t("Unit").unwrap_or("modelspec-scan.service"), "modelspec-scan.service");
    assert_eq!(unit_values(&timer, "Install", "WantedBy"), ["timers.target"]);
}

#[test]
fn systemd_analyze_verifies_the_units() {
    let Some(analyze) = tool("systemd-analyze") else {
        println!("skipped: systemd-analyze is not installed");
        return;
    };
    for folder in SCAN_UNIT_FOLDERS {
        // verify checks that ExecStart's program exists: point it at the binary just built.
        let tmp = tempfile::tempdir().expect("tempdir");
        for name in ["modelspec-scan.service", "modelspec-scan.timer"] {
            let text = read(&deploy().join(folder).join(name)).replace("/usr/local/bin/modelspec", crate::support::BIN);
            std::fs::write(tmp.path().join(name), text).expect("write unit");
        }
        let o = Command::new(&analyze)
            .args(["verify", "--man=no"])
            .arg(tmp.path().join("modelspec-scan.service"))
            .arg(tmp.path().join("modelspec-scan.timer"))
            .output()
            .expect("run systemd-analyze");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success() && !stderr.contains("modelspec-scan"),
            "systemd-analyze verify ({folder}/):\n{stderr}"
        );
    }
}

#[test]
fn dockerfile_builds_locked_and_runs_non_root() {
    let instructions = dockerfile();
    let froms: Vec<&str> = instructions
        .iter()
        .filter(|(i, _)| i == "FROM")
        .map(|(_, r)| r.as_str())
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    // The builder's Rust is the one rust-toolchain.toml pins.
    let toolchain = read(&root().join("rust-toolchain.toml"));
    let channel = toolchain
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel = "))
        .expect("a channel")
        .trim_matches('"');
    let minor: String = channel.split('.').take(2).collect::<Vec<_>>().join(".");
    assert!(
        froms[0].starts_with(&format!("rust:{minor}")),
        "builder {} is not Rust {minor}",
        froms[0]
    );
    assert!(
        instructions
            .iter()
            .any(|(i, r)| i == "RUN" && r.contains("cargo build --release --locked"))
    );
    let runtime = froms
        .last()
        .expect("a runtime stage")
        .split_whitespace()
        .next()
        .expect("an image");
    assert!(
        runtime.starts_with("debian:trixie-slim") || runtime.starts_with("gcr.io/distroless/cc"),
        "runtime image {runtime}"
    );

    let last_from = instructions.iter().rposition(|(i, _)| i == "FROM").expect("FROM");
    let user = instructions[last_from..]
        .iter()
        .rfind(|(i, _)| i == "USER")
        .map(|(_, r)| r.as_str())
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap_or("");
    assert!(uid != "0" && uid != "root" && !uid.is_empty(), "USER {user} is root");
    let (entrypoint, cmd) = image_entrypoint_and_cmd();
    assert_eq!(entrypoint, ["modelspec"]);
    // The binary is copied to a folder on the default PATH, so the bare name resolves.
    assert!(
        instructions[last_from..]
            .iter()
            .any(|(i, r)| i == "COPY" && r.ends_with("/usr/local/bin/modelspec"))
    );
    let default = Invocation {
        origin: "Dockerfile CMD".into(),
        args: entrypoint.into_iter().chain(cmd).collect(),
    };
    check(&default);
    assert!(
        runnable(&default),
        "the default command should run anywhere: {:?}",
        default.args
    );

    // The image name in the Dockerfile's header is the documented one.
    assert!(read(&root().join("Dockerfile")).contains(&documented_image()));

    let ignore = read(&root().join(".dockerignore"));
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for excluded in ["target", "fuzz"] {
        assert!(
            patterns.iter().any(|p| p.trim_matches('/') == excluded),
            ".dockerignore keeps {excluded}/ in the context"
        );
    }
    // ...but not what the build reads (sources, lock file, the schemas and demo it embeds).
    for needed in [
        "src",
        "probes",
        "Cargo.lock",
        "Cargo.toml",
        "schema",
        "fixtures",
        "rust-toolchain.toml",
    ] {
        assert!(
            !patterns.iter().any(|p| p.trim_matches('/') == needed || *p == "*"),
            ".dockerignore drops {needed}"
        );
    }
}

#[test]
fn readme_command_lines_parse_and_use_the_documented_image() {
    let invocations = readme_invocations();
    assert!(invocations.len() >= 5, "{invocations:#?}");
    for inv in &invocations {
        check(inv);
    }
    // Paths into the repository that the READMEs tell people to use exist.
    for path in files(&deploy(), &["README.md"]) {
        for block in shell_blocks(&read(&path)) {
            for word in shell_commands(&block).into_iter().flatten() {
                if word.starts_with("examples/") {
                    assert!(
                        root().join(&word).exists(),
                        "{}: {word} does not exist",
                        relative(&path)
                    );
                }
            }
        }
    }
}

#[test]
fn runnable_example_lines_run_here() {
    let mut all = readme_invocations();
    for (_, systemd) in systemd_invocations() {
        all.extend(systemd);
    }
    let runnable: Vec<_> = all.into_iter().filter(runnable).collect();
    assert!(runnable.len() >= 3, "{runnable:#?}");
    for inv in runnable {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (output, expected) = run_here(&inv, tmp.path());
        assert_ran(&inv, &output, &expected, format_of(&inv.args));
    }
}

#[test]
fn the_pods_scans_run_on_their_config_map_against_a_recorded_node() {
    for c in containers().into_iter().filter(|c| role(c) == Role::Scanner) {
        for inv in container_invocations(&c) {
            let touches = check(&inv);
            let (tmp, folder, specs_dir, keys) = mounted_spec_folder(&c, &inv);

            // The ConfigMap's specs are valid, with no warnings, as the kubelet lays them out.
            let o = Cmd::new()
                .args(["validate", "--strict", "--format", "json"])
                .arg(&specs_dir)
                .output();
            let v: Value = serde_json::from_slice(&o.stdout).expect("validate JSON");
            assert_eq!(o.status.code(), Some(0), "{}: the ConfigMap's specs: {v:#}", c.origin);
            assert_eq!(
                v["summary"]["files"], keys,
                "{}: a key was not found through ..data: {v:#}",
                c.origin
            );

            // The pod's own command line, replaying the demo node's observation instead of
            // probing; without its signing key, which the_node_scans_feed_a_signed_fleet_report_
            // on_the_shared_claim lays out from README.md's commands and runs with.
            let mut inv = inv;
            if let Some(at) = inv.args.iter().position(|a| a == "--sign-key") {
                inv.args.drain(at..(at + 2).min(inv.args.len()));
            }
            let (output, expected) = replay_on_the_demo_node(&inv, tmp.path());
            assert_eq!(
                expected.len(),
                touches.writes.len(),
                "{}: every output written",
                inv.origin
            );
            let names: Vec<String> = config_map_spec_names(&spec_config_map(&c, &folder));
            let all_output = String::from_utf8_lossy(&output.stdout).into_owned()
                + &expected
                    .iter()
                    .map(|(_, p)| std::fs::read_to_string(p).unwrap_or_default())
                    .collect::<String>();
            for name in names {
                assert!(
                    all_output.contains(&name),
                    "{}: the report does not mention spec {name}",
                    c.origin
                );
            }
        }
    }
}

/// The `metadata.name` of each spec in a ConfigMap.
fn config_map_spec_names(config_map: &Value) -> Vec<String> {
    config_map["data"]
        .as_object()
        .expect("data")
        .values()
        .filter_map(|text| serde_saphyr::from_str::<Value>(text.as_str()?).ok())
        .filter_map(|spec| spec["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

/// The alert rules, as (alert, expr).
fn alert_rules() -> Vec<(String, String)> {
    alert_rules_in("modelspec.rules.yml")
}

/// The alerting rules of one rules file of examples/deploy/prometheus.
fn alert_rules_in(file: &str) -> Vec<(String, String)> {
    let path = deploy().join("prometheus").join(file);
    let doc: Value = serde_saphyr::from_str(&read(&path)).expect("rules YAML");
    let rules: Vec<(String, String)> = doc["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            let alert = r["alert"].as_str().expect("an alerting rule").to_string();
            for key in ["summary", "description"] {
                assert!(r["annotations"][key].is_string(), "{alert}: annotation {key}");
            }
            assert!(r["labels"]["severity"].is_string(), "{alert}: severity label");
            assert!(r["for"].is_string(), "{alert}: no `for`");
            (alert, r["expr"].as_str().expect("expr").to_string())
        })
        .collect();
    rules
}

#[test]
fn alert_rules_cover_drift_staleness_and_failure_with_metrics_the_scan_writes() {
    let rules = alert_rules();
    let exprs: String = rules.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>().join("\n");
    assert!(
        exprs.contains("modelspec_check{status=\"fail\"}") || exprs.contains("modelspec_findings"),
        "no drift alert"
    );
    assert!(
        exprs.contains("time() - modelspec_scan_timestamp_seconds"),
        "no staleness alert"
    );
    assert!(exprs.contains("modelspec_scan_success == 0"), "no scan-success alert");

    let o = Cmd::new().args(["scan", "--demo", "--format", "prom"]).output();
    assert_eq!(o.status.code(), Some(0));
    let prom = String::from_utf8_lossy(&o.stdout);
    let written: BTreeSet<&str> = prom
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let mut used = BTreeSet::new();
    for (start, _) in exprs.match_indices("modelspec_") {
        let name: String = exprs[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        used.insert(name);
    }
    assert!(used.len() >= 3, "{used:?}");
    for name in &used {
        assert!(
            written.contains(name.as_str()),
            "the rules query {name}, which `scan --format prom` does not write: {written:?}"
        );
    }
    // The status label values the rules match on are ones the scan writes.
    assert!(prom.contains("status=\"fail\""));
}

#[test]
fn promtool_checks_and_tests_the_rules() {
    let promtool = Path::new("/usr/bin/promtool");
    let promtool = if promtool.is_file() {
        Some(promtool.to_path_buf())
    } else {
        tool("promtool")
    };
    let Some(promtool) = promtool else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "promtool is not installed (apt-get install prometheus), and CI=true"
        );
        println!("skipped: promtool is not installed (apt-get install prometheus)");
        return;
    };
    let dir = deploy().join("prometheus");
    for (rules, tests) in [
        ("modelspec.rules.yml", "modelspec.rules.test.yml"),
        ("modelspec-serve.rules.yml", "modelspec-serve.rules.test.yml"),
    ] {
        promtool_passes(&promtool, &dir, rules, tests);
    }
}

/// `promtool check rules` and `test rules` pass, and each alert has a test where it fires and
/// one where it stays quiet.
fn promtool_passes(promtool: &Path, dir: &Path, rules: &str, tests: &str) {
    for args in [["check", "rules", rules], ["test", "rules", tests]] {
        let o = Command::new(promtool)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run promtool");
        assert!(
            o.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Each alert has a test that expects it to fire and one that expects it not to.
    let tests: Value = serde_saphyr::from_str(&read(&dir.join(tests))).expect("tests YAML");
    let cases: Vec<&Value> = tests["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().into_iter().flatten())
        .collect();
    for (alert, _) in alert_rules_in(rules) {
        let of: Vec<&&Value> = cases.iter().filter(|c| c["alertname"] == alert.as_str()).collect();
        assert!(
            of.iter()
                .any(|c| c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty())),
            "{alert}: no test where it fires"
        );
        assert!(
            of.iter().any(|c| c["exp_alerts"].as_array().is_some_and(Vec::is_empty)),
            "{alert}: no test where it stays quiet"
        );
    }
}

#[test]
fn quadlet_containers_parse_and_their_scanner_lines_check() {
    let containers = quadlet_containers();
    assert!(!containers.is_empty(), "no .container file under examples/deploy/");
    for (path, unit) in &containers {
        let origin = relative(path);
        // Quadlet's sections; a typo in one is silently ignored by the generator.
        for (section, key) in unit.keys() {
            assert!(
                ["Unit", "Container", "Service", "Install", "Quadlet"].contains(&section.as_str()),
                "{origin}: [{section}] {key}"
            );
        }
        assert_eq!(unit_values(unit, "Container", "Image").len(), 1, "{origin}: one Image=");
        for inv in quadlet_invocations(path, unit) {
            check(&inv);
        }
    }
}

/// `Environment=` values as NAME -> value (several pairs on one line, quoted or not).
fn quadlet_environment(unit: &Unit) -> BTreeMap<String, String> {
    unit_values(unit, "Container", "Environment")
        .iter()
        .flat_map(|line| shell_commands(line).into_iter().flatten())
        .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

#[test]
fn the_podman_container_serves_what_its_spec_declares() {
    let dir = deploy().join("podman");
    let unit = unit_file(&read(&dir.join("vllm.container")));
    let c = |key: &str| unit_values(&unit, "Container", key);
    let spec_path = dir.join("chat-llama.modelspec.yaml");
    let spec: Value = serde_saphyr::from_str(&read(&spec_path)).expect("spec YAML");

    // The spec is valid, with no warnings (its annotation is a selector).
    let o = Cmd::new().args(["validate", "--strict"]).arg(&spec_path).output();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}:\n{}",
        relative(&spec_path),
        String::from_utf8_lossy(&o.stdout)
    );

    // The annotation names this container.
    let name = *c("ContainerName").last().expect("ContainerName=");
    assert_eq!(
        spec["metadata"]["annotations"]["modelspec.piqc.ai/workload"].as_str(),
        Some(format!("container:{name}").as_str())
    );
    // GPUs through NVIDIA's CDI spec.
    assert!(
        c("AddDevice").iter().any(|d| d.starts_with("nvidia.com/gpu=")),
        "no CDI GPU: {:?}",
        c("AddDevice")
    );
    // Published on the host's loopback only, to the declared serving port.
    let port = spec["spec"]["operations"]["serving"]["port"]
        .as_u64()
        .expect("serving port");
    assert!(
        c("PublishPort").iter().any(|p| {
            let parts: Vec<&str> = p.split(':').collect();
            parts.len() == 3 && parts[0] == "127.0.0.1" && parts[2].parse::<u64>().ok() == Some(port)
        }),
        "PublishPort= does not publish 127.0.0.1:HOST:{port}: {:?}",
        c("PublishPort")
    );
    // The engine serves the declared model on the declared port.
    let exec: Vec<String> = shell_commands(&c("Exec").join(" ")).into_iter().flatten().collect();
    let after = |flag: &str| {
        exec.iter()
            .position(|w| w == flag)
            .and_then(|i| exec.get(i + 1))
            .cloned()
    };
    assert_eq!(
        after("--model").as_deref(),
        spec["spec"]["identity"]["model"]["id"].as_str()
    );
    assert_eq!(after("--port").and_then(|p| p.parse::<u64>().ok()), Some(port));
    // Every declared variable is set as declared.
    let env = quadlet_environment(&unit);
    let declared = spec["spec"]["runtime"]["environment"]["variables"]
        .as_object()
        .expect("declared variables");
    for (k, v) in declared {
        assert_eq!(env.get(k).map(String::as_str), v.as_str(), "Environment={k}");
    }
    // The README installs it where Quadlet looks, and the spec where the scan reads.
    let readme = read(&dir.join("README.md"));
    assert!(readme.contains("/etc/containers/systemd/"));
    let (_, invocations) = service_invocations(&dir.join("modelspec-scan.service"));
    for inv in &invocations {
        let folder = check(inv).reads.first().cloned().expect("a spec folder");
        assert!(
            readme.contains(&format!("chat-llama.modelspec.yaml {folder}")),
            "the README does not install the spec in {folder}"
        );
    }
}

#[test]
fn the_podman_hosts_scan_requires_its_model_and_runs_against_a_recorded_node() {
    let dir = deploy().join("podman");
    let (_, invocations) = service_invocations(&dir.join("modelspec-scan.service"));
    for inv in invocations {
        assert!(
            inv.args.iter().any(|a| a == "--require-deployed"),
            "{}: a host that must run its model scans with --require-deployed",
            inv.origin
        );
        let touches = check(&inv);
        let folder = touches.reads.first().expect("a spec folder").clone();
        let tmp = tempfile::tempdir().expect("tempdir");
        let specs_dir = tmp.path().join(folder.trim_start_matches('/'));
        std::fs::create_dir_all(&specs_dir).expect("create spec folder");
        std::fs::copy(
            dir.join("chat-llama.modelspec.yaml"),
            specs_dir.join("chat-llama.modelspec.yaml"),
        )
        .expect("copy spec");
        let (_, expected) = replay_on_the_demo_node(&inv, tmp.path());
        assert_eq!(
            expected.len(),
            touches.writes.len(),
            "{}: every output written",
            inv.origin
        );
        let prom = expected
            .iter()
            .map(|(_, p)| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<String>();
        assert!(prom.contains("chat-llama"), "{}: {prom}", inv.origin);
    }
    // The systemd host's scan must run its models too.
    for (_, invocations) in systemd_invocations() {
        for inv in invocations {
            assert!(inv.args.iter().any(|a| a == "--require-deployed"), "{}", inv.origin);
        }
    }
}

#[test]
fn quadlet_generates_services_from_the_container_files() {
    let Some(quadlet) = ["/usr/libexec/podman/quadlet", "/usr/lib/podman/quadlet"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        println!("skipped: Quadlet (podman 4.4 or later) is not installed");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let containers = quadlet_containers();
    for (path, _) in &containers {
        std::fs::copy(path, tmp.path().join(path.file_name().expect("a name"))).expect("copy");
    }
    let o = Command::new(quadlet)
        .arg("-dryrun")
        .env("QUADLET_UNIT_DIRS", tmp.path())
        .output()
        .expect("run quadlet");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "quadlet -dryrun:\n{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (path, unit) in &containers {
        let service = path.file_stem().expect("a stem").to_string_lossy().into_owned() + ".service";
        assert!(stdout.contains(&service), "no {service} generated:\n{stdout}");
        for device in unit_values(unit, "Container", "AddDevice") {
            assert!(stdout.contains(device), "{device} not passed to podman:\n{stdout}");
        }
    }
}

#[test]
fn the_shell_splitter_reads_what_the_manifests_write() {
    let cmds = shell_commands("while true; do\n  modelspec scan 'a b' \"c\\\"d\" e\\\n f # comment\n  rc=$?\ndone");
    assert_eq!(cmds.len(), 4, "{cmds:?}");
    assert_eq!(cmds[1], ["modelspec", "scan", "a b", "c\"d", "e", "f"]);
    assert_eq!(
        split_output("prom=/t/m.prom"),
        (Some("prom".into()), "/t/m.prom".into())
    );
    assert_eq!(split_output("/t/m=1.json"), (None, "/t/m=1.json".into()));
}

// ---------------------------------------------------------------------------------------------
// The fleet step: each node's scan writes nodes/<node>.json on a shared claim, and one pod
// merges them into a signed fleet report.

/// The volume types the "restricted" Pod Security Standard allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The kind of a pod volume (`configMap`, `hostPath`, ...).
fn volume_kind(volume: &Value) -> String {
    volume
        .as_object()
        .and_then(|m| m.keys().find(|k| *k != "name").cloned())
        .unwrap_or_default()
}

/// The mode the kubelet gives a ConfigMap's or Secret's files: the volume's `defaultMode` (0644
/// unless set), made group-readable (`| 0440`) when the pod sets `fsGroup`.
fn projected_mode(pod: &Value, source: &Value) -> u32 {
    let mode = source["defaultMode"]
        .as_u64()
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(0o644);
    if pod["securityContext"]["fsGroup"].is_number() {
        mode | 0o440
    } else {
        mode
    }
}

/// Where a pod's `path` lies in the test's stand-in for the cluster: a path on a
/// PersistentVolumeClaim under `tmp/pvc/CLAIM/SUBPATH/`, so pods that share a claim share its
/// files as they would; any other absolute path under `tmp/fs/`, the pod's own file system
/// ([`lay_out_pod`] lays it out afresh for each pod, so a path one pod wrote is not there for the
/// next unless the next mounts it too).
fn pod_path(c: &Container, tmp: &Path, path: &str) -> PathBuf {
    if let Some((mount, volume)) = mount_for(c, path)
        && let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str()
    {
        let mount_path = mount["mountPath"].as_str().expect("mountPath");
        let rest = Path::new(path).strip_prefix(mount_path).expect("under its mount");
        let mut at = tmp.join("pvc").join(claim);
        if let Some(sub) = mount["subPath"].as_str().filter(|s| !s.is_empty()) {
            at.push(sub);
        }
        if !rest.as_os_str().is_empty() {
            at.push(rest);
        }
        return at;
    }
    tmp.join("fs").join(path.trim_start_matches('/'))
}

/// [`pod_path`] for `c`, as a mapping for [`run_mapped`].
fn pod_mapper<'a>(c: &'a Container, tmp: &'a Path) -> impl Fn(&str) -> PathBuf + 'a {
    move |p| pod_path(c, tmp, p)
}

/// ConfigMaps and Secrets a pod can mount, (kind, name) to key to content.
type Objects = BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>;

/// Lays out the volumes a pod's containers mount under `tmp/fs` as the kubelet would, after
/// clearing what the previous pod left there: ConfigMaps and Secrets from `objects` with the
/// kubelet's modes, emptyDirs and hostPaths as empty folders; a claim's folder is created (the
/// kubelet creates a missing `subPath`).
fn lay_out_pod(containers: &[&Container], tmp: &Path, objects: &Objects) {
    let fs = tmp.join("fs");
    if fs.exists() {
        std::fs::remove_dir_all(&fs).expect("clear the previous pod's file system");
    }
    for c in containers {
        for m in c.container["volumeMounts"].as_array().into_iter().flatten() {
            let mount_path = m["mountPath"].as_str().expect("mountPath");
            let volume = c.pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == m["name"])
                .unwrap_or_else(|| panic!("{}: mounts an undeclared volume {}", c.origin, m["name"]));
            let at = pod_path(c, tmp, mount_path);
            let (kind, source, name) = match volume_kind(volume).as_str() {
                "configMap" => ("ConfigMap", &volume["configMap"], volume["configMap"]["name"].as_str()),
                "secret" => ("Secret", &volume["secret"], volume["secret"]["secretName"].as_str()),
                _ => {
                    std::fs::create_dir_all(&at).expect("create a volume's folder");
                    continue;
                }
            };
            if at.exists() {
                continue; // another container of the pod mounts it there too
            }
            assert!(
                source.get("items").is_none() && m.get("subPath").is_none(),
                "{}: {kind} volume {} picks items or a subPath, which this test does not lay out",
                c.origin,
                m["name"]
            );
            let name = name.unwrap_or_else(|| panic!("{}: {kind} volume without a name", c.origin));
            let data = objects.get(&(kind.to_string(), name.to_string())).unwrap_or_else(|| {
                panic!(
                    "{}: mounts {kind} {name}, which neither the manifests nor the commands of \
                         examples/deploy/kubernetes/README.md create",
                    c.origin
                )
            });
            std::fs::create_dir_all(&at).expect("create a volume's folder");
            mount_keys(data, &at, projected_mode(&c.pod, source));
        }
    }
}

/// The shell block of the Kubernetes README that holds `needle`.
fn kubernetes_readme_block(needle: &str) -> String {
    let path = deploy().join("kubernetes/README.md");
    shell_blocks(&read(&path))
        .into_iter()
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("{} has no shell block with `{needle}`", relative(&path)))
}

/// A `kubectl` that records what `kubectl [-n NS] create secret generic NAME --from-file=...`
/// and `create configmap NAME --from-file=...` would create, as files under `$OBJECTS/NS/KIND/
/// NAME/KEY`; `apply` does nothing; anything else fails.
const FAKE_KUBECTL: &str = r#"#!/bin/sh
set -eu
ns=default
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--namespace) ns=$2; shift 2 ;;
    --namespace=*) ns=${1#--namespace=}; shift ;;
    *) break ;;
  esac
done
case "$*" in
  apply\ *) exit 0 ;;
  create\ secret\ generic\ *) kind=Secret; name=$4; shift 4 ;;
  create\ configmap\ *) kind=ConfigMap; name=$3; shift 3 ;;
  *) echo "fake kubectl: cannot $*" >&2; exit 3 ;;
esac
dir="$OBJECTS/$ns/$kind/$name"
mkdir -p "$dir"
for a in "$@"; do
  case "$a" in
    --from-file=*=*) f=${a#--from-file=}; cp "${f#*=}" "$dir/${f%%=*}" ;;
    --from-file=*) f=${a#--from-file=}; cp "$f" "$dir/$(basename "$f")" ;;
    *) echo "fake kubectl: unknown argument $a" >&2; exit 3 ;;
  esac
done
"#;

/// Runs a shell block of the README with `sh -eu` in `dir`, the fake `kubectl` on PATH
/// recording objects under `objects`.
fn run_readme_block(block: &str, dir: &Path, bin: &Path, objects: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).expect("create bin");
    let kubectl = bin.join("kubectl");
    std::fs::write(&kubectl, FAKE_KUBECTL).expect("write kubectl");
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).expect("chmod kubectl");
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    let o = Command::new("sh")
        .args(["-eu", "-c", block])
        .current_dir(dir)
        .env("PATH", path)
        .env("OBJECTS", objects)
        .output()
        .expect("run sh");
    assert!(
        o.status.success(),
        "examples/deploy/kubernetes/README.md:\n{block}\nfailed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The objects the README's commands created in namespace `ns`, with the manifests' ConfigMaps.
fn objects(recorded: &Path, ns: &str) -> Objects {
    let mut out = Objects::new();
    for (_, doc) in kubernetes_objects() {
        if doc["kind"] == "ConfigMap" {
            let name = doc["metadata"]["name"].as_str().expect("a name").to_string();
            let data = doc["data"]
                .as_object()
                .expect("data")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string data").as_bytes().to_vec()))
                .collect();
            out.insert(("ConfigMap".into(), name), data);
        }
    }
    for kind in ["Secret", "ConfigMap"] {
        let dir = recorded.join(ns).join(kind);
        for object in std::fs::read_dir(&dir).into_iter().flatten() {
            let object = object.expect("entry").path();
            let name = object.file_name().expect("name").to_string_lossy().into_owned();
            let data = std::fs::read_dir(&object)
                .expect("object folder")
                .map(|k| {
                    let k = k.expect("entry").path();
                    let key = k.file_name().expect("name").to_string_lossy().into_owned();
                    (key, std::fs::read(&k).expect("read key"))
                })
                .collect();
            out.insert((kind.to_string(), name), data);
        }
    }
    out
}

/// A cron schedule's minutes, for the forms the manifests use: `*/N`, `M,M,...` or `M`, every hour.
fn cron_minutes(schedule: &str) -> Vec<u32> {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    assert_eq!(fields[1..], ["*", "*", "*", "*"], "{schedule}: every hour, every day");
    if let Some(step) = fields[0].strip_prefix("*/") {
        let step: u32 = step.parse().expect("a step");
        return (0..60).step_by(step as usize).collect();
    }
    fields[0]
        .split(',')
        .map(|m| m.parse().unwrap_or_else(|_| panic!("{schedule}: minute {m}")))
        .collect()
}

fn cron_schedule(workload: &str) -> String {
    kubernetes_objects()
        .into_iter()
        .find(|(_, d)| d["kind"] == "CronJob" && d["metadata"]["name"] == workload)
        .and_then(|(_, d)| d["spec"]["schedule"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no CronJob {workload} with a schedule"))
}

/// `30m`, `1h`, `90s` in minutes (rounded down).
fn minutes_of(duration: &str) -> u32 {
    let (n, unit) = duration.split_at(duration.len() - 1);
    let n: u32 = n.parse().unwrap_or_else(|_| panic!("duration {duration}"));
    match unit {
        "s" => n / 60,
        "m" => n,
        "h" => n * 60,
        _ => panic!("duration {duration}"),
    }
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[test]
fn kubernetes_expands_variables_in_args_as_the_kubelet_does() {
    let env: BTreeMap<String, String> = [("NODE_NAME".to_string(), "gpu-node-1".to_string())].into();
    for (input, expected) in [
        (
            "json=/reports/nodes/$(NODE_NAME).json",
            "json=/reports/nodes/gpu-node-1.json",
        ),
        ("$(NODE_NAME)$(NODE_NAME)", "gpu-node-1gpu-node-1"),
        ("$$(NODE_NAME)", "$(NODE_NAME)"),
        ("$$$(NODE_NAME)", "$gpu-node-1"),
        ("$(UNKNOWN)/x", "$(UNKNOWN)/x"),
        ("$(NODE_NAME", "$(NODE_NAME"),
        ("a$b $ c$", "a$b $ c$"),
        ("no variable", "no variable"),
    ] {
        assert_eq!(expand(input, &env), expected, "{input}");
    }
    // The scanner's arguments name the node they run on, on any node.
    let scan = &workload("modelspec-scan")[0];
    for node in ["gpu-node-1", "gpu-node-7"] {
        for inv in container_invocations_on(scan, node) {
            assert_eq!(flag_value(&inv.args, "--node"), Some(node), "{}", inv.origin);
            let touches = check(&inv);
            for (_, path) in &touches.writes {
                assert!(
                    Path::new(path).starts_with("/reports/nodes")
                        && Path::new(path).file_stem().is_some_and(|s| s == node),
                    "{}: {path} is not the node's own file in nodes/",
                    inv.origin
                );
            }
        }
    }
}

#[test]
fn signing_keys_reach_modelspec_with_mode_600_or_stricter() {
    for c in containers() {
        for inv in container_invocations(&c) {
            let Some(key) = flag_value(&inv.args, "--sign-key") else {
                continue;
            };
            let (_, volume) = mount_for(&c, key).unwrap_or_else(|| panic!("{}: {key} is not mounted", c.origin));
            if volume.get("secret").is_some() {
                let mode = projected_mode(&c.pod, &volume["secret"]);
                assert!(
                    mode & 0o077 == 0,
                    "{}: the kubelet gives {key} mode {mode:o} (defaultMode, and 0440 with the pod's \
                     fsGroup), which --sign-key refuses",
                    c.origin
                );
            } else {
                // Copied there by an init container, from a Secret, mode 600.
                assert!(
                    volume["emptyDir"]["medium"] == "Memory",
                    "{}: {key} is on {volume}, not a Secret or a memory-backed emptyDir",
                    c.origin
                );
                let copied = init_containers(&c).into_iter().any(|i| {
                    let argv = strings(&i.container["command"]);
                    argv.first().is_some_and(|p| p == "install")
                        && argv.windows(2).any(|w| w == ["-m", "600"])
                        && argv.last().is_some_and(|d| d == key)
                });
                assert!(copied, "{}: no init container installs {key} with -m 600", c.origin);
            }
        }
    }
}

#[test]
fn the_fleet_pod_runs_without_privileges() {
    let image = documented_image();
    let fleet: Vec<Container> = containers().into_iter().filter(|c| role(c) == Role::Fleet).collect();
    assert!(!fleet.is_empty(), "no pod runs `modelspec fleet`");
    for c in &fleet {
        let (pod, o) = (&c.pod, &c.origin);
        for host in ["hostPID", "hostNetwork", "hostIPC"] {
            assert_ne!(pod[host], true, "{o}: {host}; the fleet reads files only");
        }
        assert_eq!(
            pod["automountServiceAccountToken"], false,
            "{o}: no API calls, so no token"
        );
        assert!(pod.get("runtimeClassName").is_none(), "{o}: no GPU, so no GPU runtime");
        for v in pod["volumes"].as_array().into_iter().flatten() {
            let kind = volume_kind(v);
            assert!(
                RESTRICTED_VOLUMES.contains(&kind.as_str()),
                "{o}: volume {} is a {kind}, which the restricted Pod Security Standard refuses",
                v["name"]
            );
        }
        let pod_sc = &pod["securityContext"];
        let inits = init_containers(c);
        for x in std::iter::once(c).chain(inits.iter()) {
            let (sc, o) = (&x.container["securityContext"], &x.origin);
            let either = |key: &str| if sc.get(key).is_some() { &sc[key] } else { &pod_sc[key] };
            assert_eq!(either("runAsNonRoot"), true, "{o}: runAsNonRoot");
            assert!(
                either("runAsUser").as_u64().is_some_and(|u| u != 0),
                "{o}: runAsUser, not root"
            );
            assert_eq!(
                either("seccompProfile")["type"],
                "RuntimeDefault",
                "{o}: seccompProfile RuntimeDefault"
            );
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{o}");
            assert_ne!(sc["privileged"], true, "{o}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{o}");
            assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"], "{o}");
            assert!(strings(&sc["capabilities"]["add"]).is_empty(), "{o}: no capability");
            assert_eq!(
                x.container["image"].as_str(),
                Some(image.as_str()),
                "{o}: not the documented image"
            );
            let resources = &x.container["resources"];
            for kind in ["requests", "limits"] {
                for what in ["cpu", "memory"] {
                    assert!(resources[kind][what].is_string(), "{o}: resources.{kind}.{what}");
                }
                assert!(resources[kind].get("nvidia.com/gpu").is_none(), "{o}: no GPU");
            }
            assert!(
                !x.container["env"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e["name"].as_str().is_some_and(|n| n.starts_with("NVIDIA_"))),
                "{o}: no GPU"
            );
        }
        // Init containers run something else than modelspec: they may write to memory only.
        for i in &inits {
            for m in i.container["volumeMounts"].as_array().into_iter().flatten() {
                let (_, v) = mount_for(i, m["mountPath"].as_str().expect("mountPath")).expect("declared");
                assert!(
                    m["readOnly"] == true || v.get("emptyDir").is_some(),
                    "{}: writes to volume {}",
                    i.origin,
                    m["name"]
                );
            }
        }
        let (_, tmp) = mount_for(c, "/tmp/x").unwrap_or_else(|| panic!("{o}: no /tmp volume"));
        assert!(tmp["emptyDir"].is_object(), "{o}: /tmp is not an emptyDir");
    }
}

#[test]
fn the_fleet_job_reads_what_the_scans_write_after_they_write_it() {
    let scan = &workload("modelspec-scan")[0];
    let fleet = &workload("modelspec-fleet")[0];
    let scan_inv = &container_invocations(scan)[0];
    let fleet_inv = &container_invocations(fleet)[0];
    let here = Path::new("/");

    // The specs, where the scans read them: the reports record those paths.
    let folder = check(scan_inv).reads.first().cloned().expect("a spec folder");
    let (mount, volume) = mount_for(fleet, &folder).unwrap_or_else(|| {
        panic!(
            "{}: the specs are not mounted at {folder}, where the scans record them",
            fleet.origin
        )
    });
    assert_eq!(mount["mountPath"].as_str(), Some(folder.as_str()), "{}", fleet.origin);
    assert_eq!(
        volume["configMap"]["name"],
        spec_config_map(scan, &folder)["metadata"]["name"],
        "{}: another ConfigMap than the scans'",
        fleet.origin
    );

    // The scans' JSON reports land in the folder the fleet reads, on the same claim.
    let inputs: Vec<PathBuf> = check(fleet_inv)
        .reads
        .iter()
        .filter(|p| Some(p.as_str()) != flag_value(&fleet_inv.args, "--require-signature"))
        .filter(|p| Some(p.as_str()) != flag_value(&fleet_inv.args, "--sign-key"))
        .map(|p| pod_path(fleet, here, p))
        .collect();
    for (named, path) in check(scan_inv).writes {
        if named.as_deref() == Some("json") {
            let on_claim = pod_path(scan, here, &path);
            assert!(
                on_claim.starts_with(here.join("pvc")),
                "{}: {path} is not on a claim",
                scan.origin
            );
            assert!(
                inputs.iter().any(|i| on_claim.parent() == Some(i.as_path())),
                "{}: the fleet reads {inputs:?}, not {}",
                fleet.origin,
                on_claim.display()
            );
        }
    }

    // The fleet runs a few minutes after each scan, and a node is stale after two missed scans.
    let scans = cron_minutes(&cron_schedule("modelspec-scan"));
    let interval = 60 / u32::try_from(scans.len()).expect("a few");
    let fleets = cron_minutes(&cron_schedule("modelspec-fleet"));
    for m in &fleets {
        assert!(
            scans.iter().any(|s| m > s && m - s < interval.min(10)),
            "the fleet's minute {m} is not a few minutes after a scan ({scans:?})"
        );
    }
    let stale = flag_value(&fleet_inv.args, "--stale-after").expect("--stale-after");
    assert!(
        (2 * interval..=4 * interval).contains(&minutes_of(stale)),
        "--stale-after {stale}: two or three scan intervals of {interval} minutes"
    );
    assert!(flag_value(&fleet_inv.args, "--require-signature").is_some());
    assert!(flag_value(&fleet_inv.args, "--sign-key").is_some());
}

/// The CronJobs end to end: the README's keys and Secrets made (with the real `ssh-keygen`, a
/// recording `kubectl`), the scan pod's own command run for three nodes (replaying the demo
/// node's observation), then the fleet pod's init container and command, each pod with its
/// volumes laid out as the kubelet would; the fleet report names the three nodes, excludes
/// nothing, and the README's `ssh-keygen -Y verify` accepts its signature.
#[test]
fn the_node_scans_feed_a_signed_fleet_report_on_the_shared_claim() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp = tmp.path();
    let admin = tmp.join("admin");
    std::fs::create_dir_all(&admin).expect("create admin");
    run_readme_block(
        &kubernetes_readme_block("create secret generic"),
        &admin,
        &tmp.join("bin"),
        &tmp.join("objects"),
    );
    let objects = objects(&tmp.join("objects"), "modelspec");

    let nodes = ["gpu-node-1", "gpu-node-2", "gpu-node-3"];
    let scan = &workload("modelspec-scan")[0];
    for node in nodes {
        lay_out_pod(&[scan], tmp, &objects);
        for inv in container_invocations_on(scan, node) {
            let (_, written) = replay_mapped(&inv, tmp, &pod_mapper(scan, tmp));
            for (_, path) in written {
                let sig = PathBuf::from(format!("{}.sig", path.display()));
                assert!(
                    sig.is_file(),
                    "{}: no {} beside {}",
                    inv.origin,
                    sig.display(),
                    path.display()
                );
            }
        }
    }

    let fleet = &workload("modelspec-fleet")[0];
    let inits = init_containers(fleet);
    let pod: Vec<&Container> = std::iter::once(fleet).chain(inits.iter()).collect();
    lay_out_pod(&pod, tmp, &objects);
    for init in &inits {
        let argv: Vec<String> = strings(&init.container["command"])
            .into_iter()
            .chain(strings(&init.container["args"]))
            .map(|a| {
                if a.starts_with('/') {
                    pod_path(init, tmp, &a).display().to_string()
                } else {
                    a
                }
            })
            .collect();
        let o = Command::new(&argv[0])
            .args(&argv[1..])
            .output()
            .expect("run the init container");
        assert!(
            o.status.success(),
            "{}: {argv:?}: {}",
            init.origin,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let mut written = Vec::new();
    for inv in container_invocations(fleet) {
        let (output, expected) = run_mapped(&inv, tmp, &pod_mapper(fleet, tmp));
        assert_ran(&inv, &output, &expected, format_of(&inv.args));
        written.extend(expected);
    }
    let json = written
        .iter()
        .find(|(f, _)| f.as_deref() == Some("json"))
        .map(|(_, p)| p.clone())
        .expect("the fleet writes JSON");
    let html = written
        .iter()
        .find(|(f, _)| f.as_deref() == Some("html"))
        .map(|(_, p)| p.clone())
        .expect("the fleet writes HTML");
    let report: Value = serde_json::from_str(&read(&json)).expect("fleet JSON");
    assert_eq!(report["excluded"], serde_json::json!([]), "{report:#}");
    let named: Vec<&str> = report["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(named, nodes, "{report:#}");
    assert!(
        report["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .all(|n| n["stale"] == false),
        "{report:#}"
    );
    for path in [&json, &html] {
        let sig = PathBuf::from(format!("{}.sig", path.display()));
        assert!(sig.is_file(), "{}: not signed", path.display());
    }

    // A reviewer checks the fleet report's signature with ssh-keygen alone, as the README says.
    let review = tmp.join("review");
    std::fs::create_dir_all(&review).expect("create review");
    for path in [json.clone(), PathBuf::from(format!("{}.sig", json.display()))] {
        std::fs::copy(&path, review.join(path.file_name().expect("name"))).expect("copy the fleet report");
    }
    for pub_key in std::fs::read_dir(&admin)
        .expect("admin")
        .map(|e| e.expect("entry").path())
    {
        if pub_key.extension().is_some_and(|e| e == "pub") {
            std::fs::copy(&pub_key, review.join(pub_key.file_name().expect("name"))).expect("copy key");
        }
    }
    run_readme_block(
        &kubernetes_readme_block("-Y verify"),
        &review,
        &tmp.join("bin"),
        &tmp.join("objects"),
    );
    // ...and refuses it once the report is changed.
    let changed = read(&review.join("fleet.json")).replacen("gpu-node-2", "gpu-node-9", 1);
    std::fs::write(review.join("fleet.json"), changed).expect("edit the report");
    let o = Command::new("sh")
        .args(["-eu", "-c", &kubernetes_readme_block("-Y verify")])
        .current_dir(&review)
        .output()
        .expect("run sh");
    assert!(!o.status.success(), "ssh-keygen accepted an edited fleet report");
}

/// The exporter DaemonSet's own command line, replaying the demo node's observation on its
/// ConfigMap's specs: it listens, its probes' paths are the ones serve answers, and its
/// /metrics names every spec of the ConfigMap.
#[test]
fn the_exporter_pod_serves_its_config_map_specs_on_its_probe_paths() {
    use std::io::{BufRead, Read, Write};
    let exporters: Vec<Container> = containers().into_iter().filter(|c| role(c) == Role::Exporter).collect();
    assert!(!exporters.is_empty(), "no pod runs `modelspec serve`");
    for c in exporters {
        let port = &c.container["ports"][0];
        assert_eq!(port["name"], "metrics", "{}", c.origin);
        for probe in ["readinessProbe", "livenessProbe"] {
            assert_eq!(
                c.container[probe]["httpGet"]["port"], "metrics",
                "{}: {probe}",
                c.origin
            );
        }
        assert_eq!(
            c.container["readinessProbe"]["httpGet"]["path"], "/readyz",
            "{}",
            c.origin
        );
        assert_eq!(
            c.container["livenessProbe"]["httpGet"]["path"], "/healthz",
            "{}",
            c.origin
        );
        for inv in container_invocations(&c) {
            let (_tmp, folder, specs_dir, _) = mounted_spec_folder(&c, &inv);
            // Its command line, on a free loopback port, replaying the demo node.
            let mut args: Vec<String> = inv.args[1..].to_vec();
            let at = args.iter().position(|a| a == "--listen").expect("--listen");
            assert_eq!(
                args[at + 1].rsplit(':').next(),
                port["containerPort"].as_u64().map(|p| p.to_string()).as_deref(),
                "{}: --listen and containerPort",
                inv.origin
            );
            args[at + 1] = "127.0.0.1:0".into();
            let spec_at = args.iter().position(|a| *a == folder).expect("the spec folder");
            args[spec_at] = specs_dir.display().to_string();
            args.extend([
                "--facts".to_string(),
                root().join("fixtures/demo/observation.json").display().to_string(),
            ]);
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_modelspec"))
                .args(&args)
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("serve");
            let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
            let mut line = String::new();
            let _ = stderr.read_line(&mut line);
            let addr = line
                .split("://")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or_default()
                .to_string();
            let get = |path: &str| {
                let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
                let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                answer
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !get("/readyz").starts_with("HTTP/1.0 200") {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{}: never ready: {line}",
                    inv.origin
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let metrics = get("/metrics");
            let _ = child.kill();
            let _ = child.wait();
            for name in config_map_spec_names(&spec_config_map(&c, &folder)) {
                assert!(
                    metrics.contains(&format!("spec=\"{name}\"")),
                    "{}: /metrics does not name spec {name}",
                    inv.origin
                );
            }
        }
    }
}
