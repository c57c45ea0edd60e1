//! Records the git commit `modelspec` is built from, for reports' provenance.
//!
//! `MODELSPEC_GIT_COMMIT` in the build environment wins (a container build has no `.git`);
//! otherwise `git rev-parse` is asked, and a build outside a checkout records nothing rather
//! than failing.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MODELSPEC_GIT_COMMIT");
    // A new commit moves HEAD or the branch it names; both live under .git (a file in a
    // worktree, which then points elsewhere: rebuilding a little too rarely there is harmless).
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("MODELSPEC_GIT_COMMIT").ok().or_else(|| {
        let out = Command::new("git").args(["rev-parse", "HEAD"]).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        let text = text.trim();
        (out.status.success() && text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| text.to_string())
    });
    // No "-dirty" marker: the script reruns only when HEAD moves, so it could not tell.
    if let Some(commit) = commit {
        println!("cargo:rustc-env=MODELSPEC_GIT_COMMIT={commit}");
    }
}
