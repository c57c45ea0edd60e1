//! The catalogue: the one documented table of GPU products and precisions
//! that the rest of `modelspec` consults.
//!
//! Spec lints ("is `a100-80gbb` a GPU type?", "can a T4 serve bf16?") and the
//! GPU checks run against a live node ("is `NVIDIA A100 80GB PCIe` with
//! 81920 MiB an `a100-80gb`?") must give the same answers, or a spec could
//! pass the lint and fail the check for reasons nobody can explain. So the
//! question "what is an a100-80gb" is answered here, once: [`gpu::GPUS`]
//! lists every supported product with its NVML names, memory, form factor and
//! compute capability, [`gpu::parse_declared_type`] says what a spec's `type`
//! declares and how it matches an observed GPU, and [`precision`] says which
//! compute capability each precision needs.
//!
//! Everything here is plain data and pure functions over user-controlled
//! strings: nothing panics, nothing does I/O.

pub mod amd;
pub mod gpu;
pub mod precision;
pub mod xid;

pub use gpu::{
    DeclaredGpuType, FormFactor, GPUS, GpuMatch, GpuModel, UnknownGpuType, by_nvml_name, by_type, families,
    known_type_spellings, parse_declared_type,
};
pub use precision::{ComputeCapability, Precision, PrecisionSpelling};
