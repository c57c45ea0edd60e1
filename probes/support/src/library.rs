//! Which driver library a probe loads (NVML, AMD SMI), and who chose it: one rule for both.

use std::ffi::OsString;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Where a library's path came from, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LibraryChosenBy {
    /// An explicit option (`--nvml-lib PATH`, `--amdsmi-lib PATH`).
    Option,
    /// The probe's environment variable (`MODELSPEC_NVML_LIB`, `MODELSPEC_AMDSMI_LIB`).
    Environment,
    /// The default name, found through the normal loader search.
    LoaderSearch,
}

/// The library to load: the explicit path, else the environment variable `env` when it is set
/// and not empty, else `default` for the loader to find.
pub fn library_to_load(explicit: Option<&Path>, env: &str, default: &str) -> (OsString, LibraryChosenBy) {
    if let Some(path) = explicit {
        return (path.as_os_str().to_os_string(), LibraryChosenBy::Option);
    }
    match std::env::var_os(env) {
        Some(path) if !path.is_empty() => (path, LibraryChosenBy::Environment),
        _ => (OsString::from(default), LibraryChosenBy::LoaderSearch),
    }
}
