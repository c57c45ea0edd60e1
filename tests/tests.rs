//! The end-to-end tests that can share a process, in one test binary (as ripgrep does): one
//! link of the library and its dependencies instead of one per file. The tests that need
//! root, real containers or network namespaces, or that signal or time their child
//! processes closely, stay binaries of their own (Cargo.toml).
//!
//! insta names a snapshot `<module path>__<name>`, and the module path here is
//! `integration::<file>`: the snapshots are asserted with `prepend_module_to_snapshot => false`
//! and their old names (`scan__demo_table`), so the files under `tests/snapshots/` are the same.

mod support;

mod audit;
mod bad_files;
mod cli;
mod compat;
mod deploy;
mod engines;
mod fixtures;
mod fleet;
mod html;
mod init;
mod scan;
mod scan_endpoint;
mod scan_host;
mod schema;
mod signature;
