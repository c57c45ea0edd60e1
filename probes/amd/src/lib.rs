//! AMD GPU probe: what AMD SMI (`libamd_smi.so`) says about this node's AMD Instinct GPUs, as a
//! plain snapshot.
//!
//! The counterpart of the NVIDIA probe for `vendor: amd`: it loads AMD SMI at run time (so
//! neither building nor running needs ROCm), asks each question separately and returns an
//! [`AmdSnapshot`] of owned, serializable data. It knows nothing of ModelSpec and judges
//! nothing. Failure is data: a library that cannot be loaded or initialized gives
//! [`AmdSmiState::Unavailable`] with an [`UnavailableReason`] and what to do; each fact is an
//! [`Observed`] (value, unsupported or error) on its own.
//!
//! AMD SMI's struct layouts change between ROCm releases; the binding reads the library's
//! version and the layouts of that generation (see `ffi`).

mod ffi;
mod observed;
mod probe;
mod snapshot;

pub use modelspec_probe_support::format_rfc3339_utc;
pub use observed::Observed;
pub use probe::{AmdProbeOptions, DEFAULT_LIBRARY, LIBRARY_ENV, SOURCE, probe};
pub use snapshot::{
    Activity, AmdDevice, AmdProcess, AmdSmiState, AmdSnapshot, AsicIds, EccCounts, LibraryChoice, LibraryChosenBy,
    LibraryVersion, PowerCap, Temperatures, Throttle, UnavailableReason, Vram,
};
