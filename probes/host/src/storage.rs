//! Capacity and free space of the filesystem holding the model's storage path.
//!
//! `statvfs(2)` on the path itself answers exactly for the filesystem the path lives on,
//! bind mounts and overlays included, which matching sysinfo's disk list by longest mount
//! prefix would only approximate (and that list needs sysinfo's `disk` feature).

use crate::observed::{Observed, describe_io_error};
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Space on one filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageFacts {
    /// The path asked about.
    pub path: String,
    pub total_bytes: u64,
    /// Free for everyone, root's reserve included.
    pub free_bytes: u64,
    /// Free for an unprivileged user.
    pub available_bytes: u64,
}

pub(crate) fn storage_facts(path: &Path) -> Observed<StorageFacts> {
    let shown = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Observed::absent(format!("{shown} does not exist"));
        }
        Err(error) => return Observed::unknown(describe_io_error(&error, &shown)),
    }
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return Observed::unknown(format!("{shown} contains a NUL byte"));
    };
    // SAFETY: statvfs writes only into the zeroed struct we own; c_path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 {
        return Observed::unknown(describe_io_error(&io::Error::last_os_error(), &shown));
    }
    let fragment = widen(stat.f_frsize);
    Observed::Ok {
        value: StorageFacts {
            path: shown,
            total_bytes: widen(stat.f_blocks).saturating_mul(fragment),
            free_bytes: widen(stat.f_bfree).saturating_mul(fragment),
            available_bytes: widen(stat.f_bavail).saturating_mul(fragment),
        },
    }
}

/// `statvfs` field widths differ between platforms (`c_ulong`, `fsblkcnt_t`).
fn widen<T: TryInto<u64>>(value: T) -> u64 {
    value.try_into().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dir_has_space() {
        let observed = storage_facts(&std::env::temp_dir());
        let Some(facts) = observed.value() else {
            panic!("{observed:?}");
        };
        assert!(facts.total_bytes > 0);
        assert!(facts.free_bytes >= facts.available_bytes);
        assert!(facts.total_bytes >= facts.free_bytes);
    }

    #[test]
    fn missing_path_is_absent() {
        assert!(storage_facts(Path::new("/definitely/not/here")).is_absent());
    }
}
