//! One fact AMD SMI may not give, and why: the same three cases, and the same JSON, as the
//! NVIDIA probe's (`status` ok, unsupported or error), so a report reads both alike.

use serde::Serialize;

/// A value read from AMD SMI, or the plain-words reason it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Observed<T> {
    /// AMD SMI answered.
    Ok { value: T },
    /// This GPU, driver or library cannot answer (`AMDSMI_STATUS_NOT_SUPPORTED`, a function the
    /// library does not have, a struct layout this version does not know).
    Unsupported { reason: String },
    /// AMD SMI should have answered and did not (permission, driver error...).
    Error { reason: String },
}

modelspec_probe_support::value_or_reason!(
    Observed,
    ObservedStatus,
    "an AMD GPU fact: an object with `status` ok, unsupported or error",
    Unsupported,
    Error
);

impl<T> Observed<T> {
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Observed::Unsupported { .. })
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Observed::Error { .. })
    }
}

/// A failed call, classified: what could not be read, and why, in words to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) unsupported: bool,
    pub(crate) reason: String,
}

impl Failure {
    pub(crate) fn unsupported(reason: impl Into<String>) -> Self {
        Failure {
            unsupported: true,
            reason: reason.into(),
        }
    }

    pub(crate) fn error(reason: impl Into<String>) -> Self {
        Failure {
            unsupported: false,
            reason: reason.into(),
        }
    }

    pub(crate) fn to_observed<T>(&self) -> Observed<T> {
        if self.unsupported {
            Observed::Unsupported {
                reason: self.reason.clone(),
            }
        } else {
            Observed::Error {
                reason: self.reason.clone(),
            }
        }
    }
}

impl<T> From<Result<T, Failure>> for Observed<T> {
    fn from(result: Result<T, Failure>) -> Self {
        match result {
            Ok(value) => Observed::Ok { value },
            Err(failure) => failure.to_observed(),
        }
    }
}
