//! One observed fact that may be missing, and why.
//!
//! A host probe meets three different answers and must never blur them: "here it is", "we
//! looked and there is none" (nothing listens on the port: a real finding the checker can act
//! on) and "we could not look" (another user's process, an unreadable file). Reporting the
//! third as the second is the dangerous mistake, "no `HF_TOKEN` set" or "not listening" when
//! the truth is "not allowed to see", so the two are separate variants with a reason each.

use serde::Serialize;
use std::io;

/// What a probe says when the kernel refuses to show another user's process.
pub const PERMISSION_HINT: &str = "insufficient permission: run as root or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH";

/// A value read from the host, a checked absence, or the reason it could not be read.
///
/// Serialized with a `status` tag: `{"status": "ok", "value": ...}`,
/// `{"status": "absent", "reason": "..."}` or `{"status": "unknown", "reason": "..."}`, and
/// read without buffering (`modelspec_probe_support::tagged`): a snapshot holds hundreds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Observed<T> {
    /// The host answered.
    Ok { value: T },
    /// We looked and it is not there (nothing listens on the port, no such pid).
    Absent { reason: String },
    /// We could not look (permission, unreadable or unparsable file); says nothing either way.
    Unknown { reason: String },
}

modelspec_probe_support::value_or_reason!(
    Observed,
    Status,
    "a host fact: an object with `status` ok, absent or unknown",
    Absent,
    Unknown
);

impl<T> Observed<T> {
    /// Whether we looked and found nothing.
    pub fn is_absent(&self) -> bool {
        matches!(self, Observed::Absent { .. })
    }

    /// Whether we could not look.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Observed::Unknown { .. })
    }

    pub(crate) fn unknown(reason: impl Into<String>) -> Self {
        Observed::Unknown { reason: reason.into() }
    }

    pub(crate) fn absent(reason: impl Into<String>) -> Self {
        Observed::Absent { reason: reason.into() }
    }

    /// Turns an I/O result into an observation; `what` names the thing read ("/proc/42/environ").
    pub(crate) fn from_io(result: io::Result<T>, what: &str) -> Self {
        match result {
            Ok(value) => Observed::Ok { value },
            Err(error) => Observed::Unknown {
                reason: describe_io_error(&error, what),
            },
        }
    }
}

/// ESRCH: what Linux answers for `/proc/<pid>/environ` (and friends) of a process that has
/// exited but not been reaped yet.
const NO_SUCH_PROCESS: i32 = 3;

/// Plain words for an I/O error; permission errors always carry [`PERMISSION_HINT`]. A process
/// that exited while it was being read is said so: "No such process" alone reads like a wrong pid.
pub(crate) fn describe_io_error(error: &io::Error, what: &str) -> String {
    if error.kind() == io::ErrorKind::PermissionDenied {
        format!("{PERMISSION_HINT} (reading {what}: {error})")
    } else if error.raw_os_error() == Some(NO_SUCH_PROCESS) {
        format!("could not read {what}: the process has exited ({error})")
    } else {
        format!("could not read {what}: {error}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_names_the_fix() {
        let observed: Observed<u32> =
            Observed::from_io(Err(io::Error::from(io::ErrorKind::PermissionDenied)), "/proc/1/environ");
        assert!(observed.is_unknown());
        let reason = observed.reason().unwrap_or_default();
        assert!(reason.starts_with(PERMISSION_HINT), "{reason}");
        assert!(reason.contains("/proc/1/environ"), "{reason}");
    }

    #[test]
    fn a_process_that_exited_is_said_to_have_exited() {
        let observed: Observed<u32> = Observed::from_io(Err(io::Error::from_raw_os_error(3)), "/proc/7/environ");
        let reason = observed.reason().unwrap_or_default();
        assert!(
            reason.contains("/proc/7/environ") && reason.contains("has exited"),
            "{reason}"
        );
    }

    #[test]
    fn other_errors_are_unknown_without_permission_hint() {
        let observed: Observed<u32> = Observed::from_io(Err(io::Error::from(io::ErrorKind::NotFound)), "x");
        assert!(observed.is_unknown());
        assert!(!observed.reason().unwrap_or_default().contains("insufficient"));
    }

    #[test]
    fn map_keeps_reason_and_serializes_with_tag() {
        let absent: Observed<u32> = Observed::absent("nothing listens on port 1");
        assert_eq!(absent.clone().map(|v| v + 1), absent);
        assert_eq!(
            serde_json::to_string(&absent).ok().as_deref(),
            Some(r#"{"status":"absent","reason":"nothing listens on port 1"}"#)
        );
        assert_eq!(Observed::Ok { value: 2 }.map(|v| v * 2), Observed::Ok { value: 4 });
    }
}
