//! `modelspec` checks a running AI model deployment against its declared ModelSpec.
//!
//! A ModelSpec (YAML, `apiVersion: piqc.ai/v1alpha1`, `kind: ModelSpec`) declares what a model
//! needs and how it must behave. This crate reads that intent ([`spec`]), knows what the
//! hardware it names can do ([`catalogue`]), and drives the command line ([`cli`]). The binary
//! is a thin wrapper around [`cli::main`].

pub mod catalogue;
pub mod cli;
pub mod spec;
pub mod suggest;
