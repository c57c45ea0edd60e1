//! The deployment examples (`examples/deploy/`, the `Dockerfile`) checked against the real tool.
//!
//! Deployment files rot quietly: a flag is renamed, a report is written to a folder that is not
//! mounted, someone "tidies" a securityContext, an alert queries a metric the scan stopped
//! writing. None of that fails at `kubectl apply`; it fails on a node, later, silently. So
//! every `modelspec` command line in the manifests, unit files, Quadlet files, Dockerfile and
//! READMEs is parsed with the real clap definition ([`modelspec::cli::command`]), every path it writes must lie on
//! a writable volume, the scanner pods must keep the privileges they document (and no more),
//! the lines that can run without a GPU are run, and the alert rules go through `promtool`.

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
    for id in ["specs", "paths", "facts", "token_file", "ca_file"] {
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
        if sub == "scan" {
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
                pod: pod.clone(),
                container: c.clone(),
            });
        }
    }
    assert!(out.len() >= 2, "expected the CronJob's and DaemonSet's containers");
    out
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
    let (entrypoint, cmd) = image_entrypoint_and_cmd();
    let command = c.container.get("command").map(strings);
    let args = c.container.get("args").map(strings);
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
    let mut args = inv.args.clone();
    args.extend(["--facts".to_string(), "fixtures/demo/observation.json".to_string()]);
    let replay = Invocation {
        origin: inv.origin.clone(),
        args,
    };
    let (output, expected) = run_here(&replay, tmp);
    assert_ran(&replay, &output, &expected, format_of(&replay.args));
    (output, expected)
}

fn run_here(inv: &Invocation, tmp: &Path) -> (Output, Vec<(Option<String>, PathBuf)>) {
    let args = inv.args.clone();
    let outputs: BTreeSet<usize> = output_values(&args).into_iter().map(|(i, _)| i).collect();
    let mut expected = Vec::new();
    let moved = |p: &str| -> PathBuf {
        match p.strip_prefix('/') {
            Some(rel) => tmp.join(rel),
            None => root().join(p),
        }
    };
    let mut rewritten = Vec::new();
    for (i, a) in args.iter().enumerate().skip(1) {
        if outputs.contains(&i) {
            let (named, path) = split_output(a);
            let target = tmp.join(path.strip_prefix('/').unwrap_or(&path));
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
    let data = config_map["data"].as_object().expect("ConfigMap data");
    let stamped = at.join("..2026_11_26_00_00_00.000000001");
    std::fs::create_dir_all(&stamped).expect("create ConfigMap folder");
    for (key, value) in data {
        std::fs::write(stamped.join(key), value.as_str().expect("string data")).expect("write key");
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
            assert!(
                !touches.writes.is_empty(),
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
    for c in containers() {
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
        .filter(|c| c.origin.contains(": DaemonSet "))
        .collect();
    assert_eq!(ds.len(), 1, "one DaemonSet container");
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
    for c in containers() {
        for inv in container_invocations(&c) {
            let touches = check(&inv);
            let folder = touches
                .reads
                .first()
                .unwrap_or_else(|| panic!("{}: no spec folder", inv.origin))
                .clone();
            let tmp = tempfile::tempdir().expect("tempdir");
            let specs_dir = tmp.path().join(folder.trim_start_matches('/'));
            std::fs::create_dir_all(&specs_dir).expect("create spec folder");
            let keys = mount_config_map(&spec_config_map(&c, &folder), &specs_dir);

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

            // The pod's own command line, replaying the demo node's observation instead of probing.
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
    let path = deploy().join("prometheus/modelspec.rules.yml");
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
    for args in [
        ["check", "rules", "modelspec.rules.yml"],
        ["test", "rules", "modelspec.rules.test.yml"],
    ] {
        let o = Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
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
    let tests: Value = serde_saphyr::from_str(&read(&dir.join("modelspec.rules.test.yml"))).expect("tests YAML");
    let cases: Vec<&Value> = tests["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().into_iter().flatten())
        .collect();
    for (alert, _) in alert_rules() {
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
