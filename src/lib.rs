//! `modelspec` checks a running AI model deployment against its declared ModelSpec.
//!
//! A ModelSpec (YAML, `apiVersion: piqc.ai/v1alpha1`, `kind: ModelSpec`) declares what a model
//! needs and how it must behave. The data flows one way: [`spec`] reads the intent,
//! [`observe`] runs the probes into one serializable observation, [`check`] compares the two
//! into findings, and [`report`] renders them; [`catalogue`] knows what the hardware a spec
//! names can do, [`runtime`] how each serving engine reveals what it serves, and [`cli`]
//! drives it all. The binary is a thin wrapper around [`cli::main`].

pub mod alloc;
pub mod catalogue;
pub mod check;
pub mod cli;
pub mod digest;
pub mod draft;
pub mod observe;
pub mod report;
pub mod runtime;
pub mod schemas;
pub mod serve;
pub mod signature;
pub mod spec;
pub mod suggest;
pub mod waivers;
