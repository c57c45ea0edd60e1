//! GPU probe: what NVIDIA's NVML says about this node's GPUs, as a plain snapshot.
//!
//! `modelspec` compares a deployment's contract with what is really on the node. This crate
//! is the "really" for GPUs: it loads `libnvidia-ml` at run time (through nvml-wrapper, so a
//! node without a driver still runs the binary), asks each question separately, and returns a
//! [`GpuSnapshot`] of owned, serializable data that can be saved and replayed. It knows nothing
//! of ModelSpec and judges nothing; it never guesses either.
//!
//! Failure is data here, not control flow:
//!
//! * NVML that cannot be used at all (no library, no driver, no permission) gives
//!   [`NvmlState::Unavailable`] with an [`UnavailableReason`] and a message saying what to do.
//! * Each fact is an [`Observed`]: a value, `Unsupported` (the GPU or driver cannot answer:
//!   `NVML_ERROR_NOT_SUPPORTED`, or a library too old to have the function) or `Error`, so one
//!   failing question never hides the others.
//! * A GPU that fell off the bus still appears, with [`DeviceFacts::lost`] set.
//! * Nothing panics out of [`probe`], including nvml-wrapper's drop of a library that lacks
//!   `nvmlShutdown` (see the `probe` module).
//!
//! ```no_run
//! use modelspec_probe_gpu::{GpuProbeOptions, NvmlState, probe};
//!
//! let snapshot = probe(&GpuProbeOptions::default());
//! if let NvmlState::Available { devices, .. } = &snapshot.nvml {
//!     for device in devices {
//!         println!("{}: {:?}", device.index, device.name.value());
//!     }
//! }
//! ```

mod observed;
mod probe;
mod raw;

mod snapshot;
mod xid;

pub use modelspec_probe_support::format_rfc3339_utc;
pub use observed::Observed;
pub use probe::{DEFAULT_LIBRARY, GpuProbeOptions, LIBRARY_ENV, SOURCE, probe};
pub use snapshot::{
    ClockEventReasons, ComputeCapability, ComputeMode, ComputeProcess, CudaDriverVersion, DeviceFacts, EccFacts,
    EccMode, FabricFacts, FabricState, GpuSnapshot, LibraryChoice, LibraryChosenBy, MemoryMib, MigFacts, MigInstance,
    MigMode, NvmlState, PciIdentity, PcieLink, Power, PowerLimits, RemappedRows, SystemFacts, UnavailableReason,
    Utilization, XID_EVENTS_KEPT, XidEvent, XidFacts,
};
pub use xid::{XidWatch, XidWatcher};
