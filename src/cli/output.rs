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

/// How many temporary names [`write_atomically`] tries before giving up: another writer of the
/// same target in this process takes the next one, and whatever else sits at a name (a file
/// left by a killed run, a planted symlink) is left alone and skipped.
const TEMP_ATTEMPTS: u32 = 16;

/// The mode of every file written: readable by a collector running as another user
/// (node_exporter's textfile collector, a web server), whatever the umask.
const FILE_MODE: u32 = 0o644;

/// The temporary name beside the target for the `attempt`-th try: `.NAME.tmp-PID`, then
/// `.NAME.tmp-PID-N`.
fn temp_path(dir: &Path, name: &str, attempt: u32) -> PathBuf {
    let pid = std::process::id();
    if attempt == 0 {
        dir.join(format!(".{name}.tmp-{pid}"))
    } else {
        dir.join(format!(".{name}.tmp-{pid}-{attempt}"))
    }
}

/// Creates a new temporary file beside the target and registers it. `create_new` (O_EXCL,
/// which never follows a symlink at the name) means a file or link already there is never
/// opened, truncated or written through; the next name is tried instead.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    for attempt in 0..TEMP_ATTEMPTS {
        let temp = temp_path(dir, name, attempt);
        let mut temps = in_flight();
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&temp)
        {
            Ok(f) => {
                temps.push(temp.clone());
                return Ok((temp, f));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "{} temporary names beside it are taken ({} and the next ones); remove them if no \
             other modelspec is writing there",
            TEMP_ATTEMPTS,
            temp_path(dir, name, 0).display()
        ),
    ))
}

/// Flushes a folder's entries (a rename) to disk, so that after a crash the target is the new
/// file, not the old one or none.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically, mode 0644, and durably (the file and then its folder
/// are synced); the error says which file and what went wrong.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: not a file path", path.display()))?;
    let (temp, mut f) = create_temp(dir, &name).map_err(|e| describe(path, &e))?;
    let result = (|| -> std::io::Result<()> {
        // The umask may have narrowed the mode given at creation.
        f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    drop(f);
    let failed = result.is_err();
    {
        let mut temps = in_flight();
        if failed {
            let _ = std::fs::remove_file(&temp);
        }
        temps.retain(|t| t != &temp);
    }
    result.map_err(|e| describe(path, &e))?;
    sync_dir(dir).map_err(|e| {
        format!(
            "wrote {} but cannot sync its folder {} ({e}); the new file may not survive a crash",
            path.display(),
            dir.display()
        )
    })
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

    /// The interrupt test empties the whole registry, which would pull a temporary file from
    /// under a write in another test thread: the tests that touch the registry take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn writes_whole_files_and_leaves_no_temp_behind() {
        let _serial = serial();
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
    fn a_symlink_planted_at_the_temp_name_is_not_followed() {
        let _serial = serial();
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("write victim");
        let planted = temp_path(dir.path(), "out.json", 0);
        std::os::unix::fs::symlink(&victim, &planted).expect("plant symlink");
        let target = dir.path().join("out.json");
        write_atomically(&target, b"{}").expect("write beside the planted link");
        assert_eq!(
            std::fs::read(&victim).expect("read victim"),
            b"precious",
            "not written through"
        );
        assert_eq!(std::fs::read(&target).expect("read target"), b"{}");
        assert!(
            std::fs::symlink_metadata(&planted)
                .expect("link")
                .file_type()
                .is_symlink(),
            "what was planted is left alone"
        );
        assert!(
            !std::fs::symlink_metadata(&target)
                .expect("target")
                .file_type()
                .is_symlink(),
            "the target is the new file"
        );
    }

    #[test]
    fn every_temp_name_taken_is_an_error_that_says_so() {
        let _serial = serial();
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("write victim");
        for attempt in 0..TEMP_ATTEMPTS {
            std::os::unix::fs::symlink(&victim, temp_path(dir.path(), "out.json", attempt)).expect("plant");
        }
        let target = dir.path().join("out.json");
        let err = write_atomically(&target, b"{}").expect_err("no free name");
        assert!(err.contains("out.json") && err.contains("temporary names"), "{err}");
        assert_eq!(std::fs::read(&victim).expect("read victim"), b"precious");
        assert!(!target.exists());
    }

    #[test]
    fn files_get_mode_0644_and_the_folder_is_synced() {
        let _serial = serial();
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("modelspec.prom");
        std::fs::write(&target, b"old").expect("old file");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        write_atomically(&target, b"new").expect("write");
        let mode = std::fs::metadata(&target).expect("stat").permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644, "{mode:o}");
        sync_dir(dir.path()).expect("a folder syncs");
        assert!(sync_dir(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn the_interrupt_clean_up_removes_registered_temp_files() {
        let _serial = serial();
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
