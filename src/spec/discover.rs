//! Finding spec files under the paths the user named.
//!
//! A named file is always validated, whatever its extension: the user asked for it. Inside a
//! named directory we take `*.yaml`, `*.yml` and `*.json`, skip hidden entries (`.git`,
//! `.venv`, editor backups), and do not follow symlinked directories, which could loop.
//! Order is deterministic (sorted by name) so reports diff cleanly between runs.

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
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<DiscoverError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut inputs, &mut errors),
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
    (inputs, errors)
}

fn walk(root: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<DiscoverError>) {
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
                inputs.push(Input::File(path));
            }
        }
        // Depth-first in name order: push subdirectories reversed so the first pops first.
        pending.extend(subdirs.into_iter().rev());
    }
}
