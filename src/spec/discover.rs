//! Finding spec files under the paths the user named.
//!
//! A named file is always validated, whatever its extension: the user asked for it. Inside a
//! named directory we take `*.yaml`, `*.yml` and `*.json`, skip hidden entries (`.git`,
//! `.venv`, editor backups), and do not follow symlinked directories, which could loop.
//! Order is deterministic (sorted by name) so reports diff cleanly between runs.
//!
//! A folder often holds YAML that is not a ModelSpec at all: Kubernetes manifests, Prometheus
//! rules, promtool tests (this project's own `examples/` does). Found while walking a folder, a
//! file whose every document is clearly something else (a `kind` other than `ModelSpec`, or a
//! Prometheus rules, configuration or test file) is listed as skipped, with the reason, rather
//! than reported as an invalid spec. Anything that could be a ModelSpec, or that does not parse,
//! is validated as usual; a file named explicitly is always validated.

use std::path::{Path, PathBuf};

use super::validate::Input;

/// A path the user named that does not exist or cannot be listed.
#[derive(Debug)]
pub struct DiscoverError {
    /// The path.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// A file found in a folder and left out, because it is clearly not a ModelSpec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The path.
    pub path: PathBuf,
    /// What it is instead.
    pub reason: String,
}

/// What the named paths expand to.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Files to validate (or `-`).
    pub inputs: Vec<Input>,
    /// Paths that could not be found or listed.
    pub missing: Vec<DiscoverError>,
    /// Files in named folders that are not ModelSpecs.
    pub skipped: Vec<Skipped>,
}

/// Largest file looked into to tell whether it is a ModelSpec; a larger one is validated (and
/// its size reported there).
const PEEK_MAX_BYTES: u64 = 1 << 20;

/// What a file is, when every document in it is clearly not a ModelSpec; `None` when it may be
/// one (or cannot be read or parsed: validation says why).
pub fn not_a_modelspec(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(PEEK_MAX_BYTES + 1).read_to_string(&mut text).ok()?;
    if text.len() as u64 > PEEK_MAX_BYTES {
        return None;
    }
    let syntax = super::validate::syntax_for(path);
    // The common case costs no parse: a YAML file with a top-level `apiVersion: piqc…` or
    // `kind: ModelSpec` line tries to be a ModelSpec (an embedded one, in a ConfigMap's data, is
    // indented and does not count). Parsing every file twice made a folder of 1,000 specs 2.7x
    // slower to validate than the same files named one by one.
    if syntax == super::Syntax::Yaml && text.lines().any(top_level_modelspec_line) {
        return None;
    }
    let docs = super::yaml::load(text.trim_start_matches('\u{feff}'), syntax, &super::Limits::default());
    let mut reasons: Vec<String> = Vec::new();
    for doc in &docs {
        let root = doc.as_ref().ok()?;
        let reason = other_kind(root)?;
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    (!reasons.is_empty()).then(|| format!("not a ModelSpec: {}", reasons.join(", ")))
}

/// `apiVersion: piqc…` or `kind: ModelSpec` at the start of a line.
fn top_level_modelspec_line(line: &str) -> bool {
    let value = |key: &str| {
        line.strip_prefix(key)
            .map(|rest| rest.trim().trim_matches(['"', '\'']).to_string())
    };
    value("apiVersion:").is_some_and(|v| v.starts_with("piqc")) || value("kind:").is_some_and(|v| v == "ModelSpec")
}

/// What a document is when it is clearly not a ModelSpec.
fn other_kind(root: &super::node::Node) -> Option<String> {
    let super::node::Value::Map(entries) = &root.value else {
        return None;
    };
    let get = |key: &str| entries.iter().find(|e| e.key.as_str() == Some(key)).map(|e| &e.value);
    let text = |key: &str| get(key).and_then(|v| v.as_str());
    // Anything that tries to be a ModelSpec is validated, however broken (a misspelt kind, a
    // mangled line): its apiVersion's group, a kind that reads as ModelSpec, or a spec body.
    let letters = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let attempt = text("apiVersion").is_some_and(|a| a.contains("piqc"))
        || text("kind").is_some_and(|k| letters(k).contains("modelspe"))
        || get("spec").is_some_and(|s| s.entry("identity").is_some() || s.entry("runtime").is_some());
    if attempt {
        return None;
    }
    if let Some(kind) = text("kind") {
        return Some(match text("apiVersion") {
            Some(api) => format!("`kind: {kind}` ({api})"),
            None => format!("`kind: {kind}`"),
        });
    }
    if get("apiVersion").is_some() || get("spec").is_some() || get("metadata").is_some() {
        return None;
    }
    if get("groups").is_some() {
        return Some("a Prometheus rules file (`groups:`)".into());
    }
    if get("rule_files").is_some() && get("tests").is_some() {
        return Some("a promtool rule test file (`rule_files:`, `tests:`)".into());
    }
    if get("scrape_configs").is_some() || get("global").is_some() {
        return Some("a Prometheus configuration (`scrape_configs:`)".into());
    }
    None
}

/// Whether a file name has a spec extension.
pub fn is_spec_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["yaml", "yml", "json"].iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Expands the named paths into files to validate. `-` is standard input.
pub fn discover(paths: &[PathBuf]) -> Discovered {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut inputs, &mut errors, &mut skipped),
            Ok(_) => inputs.push(Input::File(path.clone())),
            Err(e) => errors.push(DiscoverError {
                path: path.clone(),
                message: match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                    std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                    _ => e.to_string(),
                },
            }),
        }
    }
    Discovered {
        inputs,
        missing: errors,
        skipped,
    }
}

fn walk(root: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<DiscoverError>, skipped: &mut Vec<Skipped>) {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                errors.push(DiscoverError {
                    path: dir.clone(),
                    message: format!("cannot list directory: {e}"),
                });
                continue;
            }
        };
        // The entry's own type needs no extra system call on common file systems; only
        // symlinks are followed (to files, never to directories).
        let mut found: Vec<(PathBuf, Option<std::fs::FileType>)> = entries
            .filter_map(|e| e.ok().map(|e| (e.path(), e.file_type().ok())))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let mut subdirs = Vec::new();
        for (path, kind) in found {
            if is_hidden(&path) {
                continue;
            }
            let Some(kind) = kind else { continue };
            if kind.is_dir() {
                subdirs.push(path);
            } else if is_spec_file(&path)
                && (kind.is_file() || kind.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_file()))
            {
                match not_a_modelspec(&path) {
                    Some(reason) => skipped.push(Skipped { path, reason }),
                    None => inputs.push(Input::File(path)),
                }
            }
        }
        // Depth-first in name order: push subdirectories reversed so the first pops first.
        pending.extend(subdirs.into_iter().rev());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        assert!(std::fs::write(&path, text).is_ok(), "write {name}");
        path
    }

    #[test]
    fn top_level_lines_tell_a_modelspec_without_a_parse() {
        assert!(top_level_modelspec_line("apiVersion: piqc.ai/v1alpha1"));
        assert!(top_level_modelspec_line("apiVersion: \"piqc.ai/v1alpha1\""));
        assert!(top_level_modelspec_line("kind: ModelSpec"));
        assert!(top_level_modelspec_line("kind: 'ModelSpec'  "));
        // Embedded in a ConfigMap's data: indented, not this file's own.
        assert!(!top_level_modelspec_line("    apiVersion: piqc.ai/v1alpha1"));
        assert!(!top_level_modelspec_line("kind: ConfigMap"));
        assert!(!top_level_modelspec_line("apiVersion: v1"));
    }

    /// Regression: `modelspec validate examples` reported the Kubernetes manifests and
    /// Prometheus rules under examples/deploy as invalid specs.
    #[test]
    fn other_yaml_in_a_folder_is_skipped_with_what_it_is() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let d = dir.path();
        write(
            d,
            "a-spec.yaml",
            "apiVersion: piqc.ai/v1alpha1\nkind: ModelSpec\nmetadata: {name: x}\n",
        );
        write(
            d,
            "b-broken-spec.yaml",
            "apiVersion: piqc.ai/v1alpha1\nmetadata: {name: x}\n",
        );
        write(
            d,
            "c-daemonset.yaml",
            "apiVersion: v1\nkind: Namespace\n---\napiVersion: apps/v1\nkind: DaemonSet\n",
        );
        write(d, "d-rules.yml", "groups:\n  - name: g\n    rules: []\n");
        write(
            d,
            "e-mixed.yaml",
            "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: piqc.ai/v1alpha1\nkind: ModelSpec\n",
        );
        write(d, "f-garbage.yaml", "{ not yaml");
        // Broken ModelSpecs stay the validator's (the standard's corpus mutates exactly these).
        write(
            d,
            "g-kind-typo.yaml",
            "apiVersion: piqc.ai/v1alpha1\nkind: Deployment\nmetadata: {name: x}\n",
        );
        write(d, "h-kind-mangled.yaml", "apiVersion: v9\nkind: Mod  elSpec\n");
        write(d, "i-body.yaml", "apiVersion: v1\nkind: '8'\nspec:\n  identity: {}\n");
        let found = discover(&[d.to_path_buf()]);
        let names = |inputs: &[Input]| -> Vec<String> {
            inputs
                .iter()
                .filter_map(|i| match i {
                    Input::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
                    Input::Stdin => None,
                })
                .collect()
        };
        // A spec, a broken spec, a file with one ModelSpec among others, and junk are validated.
        assert_eq!(
            names(&found.inputs),
            [
                "a-spec.yaml",
                "b-broken-spec.yaml",
                "e-mixed.yaml",
                "f-garbage.yaml",
                "g-kind-typo.yaml",
                "h-kind-mangled.yaml",
                "i-body.yaml"
            ]
        );
        let skipped: Vec<(String, &str)> = found
            .skipped
            .iter()
            .map(|s| {
                (
                    s.path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    s.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            skipped,
            [
                (
                    "c-daemonset.yaml".to_string(),
                    "not a ModelSpec: `kind: Namespace` (v1), `kind: DaemonSet` (apps/v1)"
                ),
                (
                    "d-rules.yml".to_string(),
                    "not a ModelSpec: a Prometheus rules file (`groups:`)"
                ),
            ]
        );
        // Named explicitly, the same manifest is validated (and fails there, with its reason).
        let named = discover(&[d.join("c-daemonset.yaml")]);
        assert_eq!(names(&named.inputs), ["c-daemonset.yaml"]);
        assert!(named.skipped.is_empty());
    }
}
