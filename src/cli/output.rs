//! Writing output files atomically: a temporary file beside the target, then a rename, so a
//! reader (a scheduled job picking up reports) never sees half a file.
//!
//! The temporary files being written are kept in a process-wide registry so that an interrupt
//! (SIGINT, SIGTERM: see `super::interrupt`) can remove them before the process exits: otherwise
//! a Ctrl-C in the middle of a write would leave `.NAME.tmp-PID` litter beside the target. The
//! registry's lock is held while a temporary file is created and registered, and the interrupt
//! path takes the same lock and never gives it back, so no temporary file can appear after the
//! clean-up has run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporary files created and not yet renamed or removed.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn in_flight() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves a list that is still a list.
    IN_FLIGHT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes every temporary file being written and answers the lock, which the caller keeps for
/// as long as no new temporary file may appear (the interrupt path: until the process exits).
pub fn remove_in_flight() -> MutexGuard<'static, Vec<PathBuf>> {
    let mut temps = in_flight();
    for temp in temps.drain(..) {
        let _ = std::fs::remove_file(&temp);
    }
    temps
}

/// Writes `bytes` to `path` atomically; the error says which file and what went wrong.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: not a file path", path.display()))?;
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = {
            let mut temps = in_flight();
            let f = std::fs::File::create(&temp)?;
            temps.push(temp.clone());
            f
        };
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    let failed = result.is_err();
    {
        let mut temps = in_flight();
        if failed {
            let _ = std::fs::remove_file(&temp);
        }
        temps.retain(|t| t != &temp);
    }
    result.map_err(|e| describe(path, &e))
}

/// `cannot write PATH: ...`, saying in words what ENOSPC and EDQUOT mean for the user.
fn describe(path: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => format!(
            "cannot write {}: the disk is full ({e}); free some space or write elsewhere; \
             the previous file, if any, is unchanged",
            path.display()
        ),
        _ => format!("cannot write {}: {e}", path.display()),
    }
}

/// Writes `bytes` to standard output. A closed pipe (`modelspec scan ... | head`) is not an
/// error: the reader has what it wanted.
pub fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("cannot write output: {e}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("out.json");
        write_atomically(&target, b"{}").expect("write");
        write_atomically(&target, b"[1]").expect("overwrite");
        assert_eq!(std::fs::read(&target).expect("read"), b"[1]");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
        let err = write_atomically(&dir.path().join("missing/out.json"), b"x").expect_err("no dir");
        assert!(err.contains("missing/out.json"), "{err}");
        assert!(
            in_flight().iter().all(|t| !t.starts_with(dir.path())),
            "registry emptied"
        );
    }

    #[test]
    fn the_interrupt_clean_up_removes_registered_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let temp = dir.path().join(".out.json.tmp-1");
        std::fs::write(&temp, b"half a rep").expect("write temp");
        in_flight().push(temp.clone());
        drop(remove_in_flight());
        assert!(!temp.exists(), "the temp file in flight is removed");
        assert!(!in_flight().contains(&temp), "and unregistered");
    }

    #[test]
    fn a_full_disk_is_said_in_words() {
        let e = std::io::Error::from_raw_os_error(28);
        let msg = describe(Path::new("/reports/out.json"), &e);
        assert!(
            msg.contains("/reports/out.json") && msg.contains("disk is full"),
            "{msg}"
        );
    }
}
