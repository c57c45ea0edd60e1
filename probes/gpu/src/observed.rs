//! One observed fact that may be missing, and why.
//!
//! NVML answers each question separately: a T4 has no remapped rows, an old driver lacks
//! `nvmlDeviceGetMemoryInfo_v2`, a GPU that fell off the bus answers nothing at all. Losing the
//! whole device (or the whole node) because one question failed would hide everything else we
//! did see, so every field of a snapshot is an [`Observed`]: the value, or "unsupported" (the
//! hardware or driver cannot answer, which is a fact in itself), or "error" (it should have
//! answered and did not), each with a reason in plain words that a person on call can act on.

use nvml_wrapper::error::NvmlError;
use serde::Serialize;

/// A value read from NVML, or the plain-words reason it could not be read.
///
/// Serialized with a `status` tag: `{"status": "ok", "value": ...}`,
/// `{"status": "unsupported", "reason": "..."}` or `{"status": "error", "reason": "..."}`,
/// and read without buffering (`modelspec_probe_support::tagged`): a snapshot holds hundreds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Observed<T> {
    /// NVML answered.
    Ok { value: T },
    /// This GPU or driver cannot answer this question (`NVML_ERROR_NOT_SUPPORTED`, or a driver
    /// library too old to have the function at all).
    Unsupported { reason: String },
    /// NVML should have answered and failed (lost GPU, permission, driver error...).
    Error { reason: String },
}

modelspec_probe_support::value_or_reason!(
    Observed,
    Status,
    "a GPU fact: an object with `status` ok, unsupported or error",
    Unsupported,
    Error
);

impl<T> Observed<T> {
    /// Turns an nvml-wrapper result into an observation, classifying the error.
    pub fn from_nvml(result: Result<T, NvmlError>) -> Self {
        match result {
            Ok(value) => Observed::Ok { value },
            Err(error) => Failure::from_nvml(&error).into_observed(),
        }
    }

    /// Whether the GPU or driver said it cannot answer this question.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Observed::Unsupported { .. })
    }

    /// Whether the question should have been answered and failed.
    pub fn is_error(&self) -> bool {
        matches!(self, Observed::Error { .. })
    }
}

/// Whether a failure means "cannot be asked here" or "went wrong".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    Unsupported,
    Error,
}

/// A classified failure that can become an [`Observed`] of any type; used where one failure
/// (a lost GPU, an unreadable MIG mode) stands for several fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    pub(crate) reason: String,
    /// NVML said `NVML_ERROR_GPU_IS_LOST`.
    pub(crate) gpu_lost: bool,
}

impl Failure {
    pub(crate) fn unsupported(reason: impl Into<String>) -> Self {
        Failure {
            kind: FailureKind::Unsupported,
            reason: reason.into(),
            gpu_lost: false,
        }
    }

    pub(crate) fn error(reason: impl Into<String>) -> Self {
        Failure {
            kind: FailureKind::Error,
            reason: reason.into(),
            gpu_lost: false,
        }
    }

    pub(crate) fn from_nvml(error: &NvmlError) -> Self {
        match error {
            NvmlError::NotSupported => {
                Failure::unsupported("this GPU or driver does not support this query (NVML_ERROR_NOT_SUPPORTED)")
            }
            NvmlError::FailedToLoadSymbol(detail) => Failure::unsupported(format!(
                "the NVML library has no such function, the driver is probably too old: {detail}"
            )),
            NvmlError::GpuLost => Failure {
                kind: FailureKind::Error,
                reason: describe_nvml_error(error),
                gpu_lost: true,
            },
            _ => Failure::error(describe_nvml_error(error)),
        }
    }

    pub(crate) fn into_observed<T>(self) -> Observed<T> {
        match self.kind {
            FailureKind::Unsupported => Observed::Unsupported { reason: self.reason },
            FailureKind::Error => Observed::Error { reason: self.reason },
        }
    }

    pub(crate) fn to_observed<T>(&self) -> Observed<T> {
        self.clone().into_observed()
    }

    /// Adds context in front of the reason ("MIG mode could not be read: ...").
    pub(crate) fn context(mut self, context: &str) -> Self {
        self.reason = format!("{context}: {}", self.reason);
        self
    }
}

/// Plain words for an NVML error, with the NVML constant for searching the docs.
pub(crate) fn describe_nvml_error(error: &NvmlError) -> String {
    #[allow(deprecated)]
    let words: &str = match error {
        NvmlError::GpuLost => "the GPU has fallen off the bus (NVML_ERROR_GPU_IS_LOST)",
        NvmlError::NotSupported => "this GPU or driver does not support this query (NVML_ERROR_NOT_SUPPORTED)",
        NvmlError::NoPermission => {
            "permission denied: this user may not ask the NVIDIA driver this (NVML_ERROR_NO_PERMISSION)"
        }
        NvmlError::DriverNotLoaded => "the NVIDIA kernel driver is not loaded (NVML_ERROR_DRIVER_NOT_LOADED)",
        NvmlError::Uninitialized => "NVML is not initialized (NVML_ERROR_UNINITIALIZED)",
        NvmlError::InvalidArg => "NVML rejected the request as invalid (NVML_ERROR_INVALID_ARGUMENT)",
        NvmlError::AlreadyInitialized => "NVML was already initialized (NVML_ERROR_ALREADY_INITIALIZED)",
        NvmlError::NotFound => "NVML found no such object (NVML_ERROR_NOT_FOUND)",
        NvmlError::InsufficientSize(_) => "NVML needed a larger buffer (NVML_ERROR_INSUFFICIENT_SIZE)",
        NvmlError::InsufficientPower => {
            "the GPU's external power cables are not properly attached (NVML_ERROR_INSUFFICIENT_POWER)"
        }
        NvmlError::Timeout => "the NVIDIA driver timed out (NVML_ERROR_TIMEOUT)",
        NvmlError::IrqIssue => "the NVIDIA driver detected an interrupt problem with the GPU (NVML_ERROR_IRQ_ISSUE)",
        NvmlError::LibraryNotFound => "NVML could not find a library it needs (NVML_ERROR_LIBRARY_NOT_FOUND)",
        NvmlError::FunctionNotFound => "NVML could not find a function it needs (NVML_ERROR_FUNCTION_NOT_FOUND)",
        NvmlError::CorruptedInfoROM => "the GPU's infoROM is corrupted (NVML_ERROR_CORRUPTED_INFOROM)",
        NvmlError::ResetRequired => "the GPU needs a reset before it can be used again (NVML_ERROR_RESET_REQUIRED)",
        NvmlError::OperatingSystem => {
            "the operating system or a cgroup blocked access to the GPU (NVML_ERROR_OPERATING_SYSTEM)"
        }
        NvmlError::LibRmVersionMismatch => {
            "the NVML library and the loaded kernel driver are different versions; reload the driver or reboot (NVML_ERROR_LIB_RM_VERSION_MISMATCH)"
        }
        NvmlError::InUse => "the GPU is in use (NVML_ERROR_IN_USE)",
        NvmlError::InsufficientMemory => "the NVIDIA driver ran out of memory (NVML_ERROR_MEMORY)",
        NvmlError::NoData => "NVML has no data for this yet (NVML_ERROR_NO_DATA)",
        NvmlError::VgpuEccNotSupported => "not available while ECC is on (NVML_ERROR_VGPU_ECC_NOT_SUPPORTED)",
        NvmlError::Unknown => "the NVIDIA driver reported an internal error (NVML_ERROR_UNKNOWN)",
        NvmlError::UnexpectedVariant(code) => {
            return format!("NVML returned a code this probe does not know: {code}");
        }
        NvmlError::FailedToLoadSymbol(detail) => {
            return format!("the NVML library has no such function, the driver is probably too old: {detail}");
        }
        NvmlError::LibloadingError(detail) => return format!("the NVML library could not be loaded: {detail}"),
        NvmlError::Utf8Error(_) => "NVML returned text that is not UTF-8",
        NvmlError::NulError(_) => "a string sent to NVML contained a NUL byte",
        NvmlError::StringTooLong { .. } => "NVML returned a string longer than its documented limit",
        NvmlError::IncorrectBits(_) => "NVML returned a bitmask with bits this probe does not know",
        NvmlError::SetReleaseFailed | NvmlError::GetPciInfoFailed | NvmlError::PciInfoToCFailed => {
            return format!("NVML call failed: {error}");
        }
    };
    words.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_becomes_ok() {
        assert_eq!(Observed::from_nvml(Ok(7u32)), Observed::Ok { value: 7 });
    }

    #[test]
    fn not_supported_becomes_unsupported() {
        let observed: Observed<u32> = Observed::from_nvml(Err(NvmlError::NotSupported));
        assert!(observed.is_unsupported(), "{observed:?}");
        assert!(
            observed
                .reason()
                .is_some_and(|r| r.contains("NVML_ERROR_NOT_SUPPORTED"))
        );
    }

    #[test]
    fn missing_symbol_becomes_unsupported_naming_it() {
        let observed: Observed<u32> = Observed::from_nvml(Err(NvmlError::FailedToLoadSymbol(
            "undefined symbol: nvmlDeviceGetRemappedRows".into(),
        )));
        assert!(observed.is_unsupported(), "{observed:?}");
        assert!(
            observed
                .reason()
                .is_some_and(|r| r.contains("nvmlDeviceGetRemappedRows"))
        );
    }

    #[test]
    fn lost_gpu_becomes_error_in_plain_words() {
        let observed: Observed<u32> = Observed::from_nvml(Err(NvmlError::GpuLost));
        assert_eq!(
            observed,
            Observed::Error {
                reason: "the GPU has fallen off the bus (NVML_ERROR_GPU_IS_LOST)".into()
            }
        );
        assert!(Failure::from_nvml(&NvmlError::GpuLost).gpu_lost);
        assert!(!Failure::from_nvml(&NvmlError::Unknown).gpu_lost);
    }

    #[test]
    fn other_errors_become_errors() {
        for error in [
            NvmlError::NoPermission,
            NvmlError::Unknown,
            NvmlError::UnexpectedVariant(999),
            NvmlError::InvalidArg,
        ] {
            let observed: Observed<u32> = Observed::from_nvml(Err(error));
            assert!(observed.is_error(), "{observed:?}");
        }
    }

    #[test]
    fn map_keeps_reason() {
        let observed: Observed<u32> = Observed::Unsupported { reason: "no".into() };
        assert_eq!(observed.map(|v| v * 2), Observed::Unsupported { reason: "no".into() });
        assert_eq!(Observed::Ok { value: 2 }.map(|v| v * 2), Observed::Ok { value: 4 });
    }

    #[test]
    fn serializes_with_status_tag() {
        let ok: Observed<u32> = Observed::Ok { value: 3 };
        assert_eq!(
            serde_json::to_string(&ok).ok().as_deref(),
            Some(r#"{"status":"ok","value":3}"#)
        );
        let unsupported: Observed<u32> = Observed::Unsupported { reason: "r".into() };
        assert_eq!(
            serde_json::to_string(&unsupported).ok().as_deref(),
            Some(r#"{"status":"unsupported","reason":"r"}"#)
        );
    }
}
