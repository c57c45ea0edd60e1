//! Fuzzes reading a filed report as `verify` and `fleet` do: load it (simd-json, serde_json on
//! failure, the observation's line as embedded or its canonical hash), derive its findings
//! again against the demo spec, and reduce it to what a fleet counts. A report handed to `fleet` is untrusted input; nothing
//! may panic, and what cannot be read is an error, never a crash.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use modelspec::report::SpecInfo;
use modelspec::report::verify::{SpecFile, SpecSource, load, verify_loaded};

const SPEC: &str = include_str!("../../fixtures/demo/demo.modelspec.yaml");

fuzz_target!(|data: &[u8]| {
    // The embedded observation's line is looked for in any bytes, JSON or not.
    let _ = modelspec::report::canonical::embedded(data);
    let Ok(loaded) = load(data, "<fuzz>") else { return };
    let demo = Arc::new(SpecFile::read(SpecSource {
        path: "<demo>".into(),
        bytes: SPEC.as_bytes().to_vec(),
    }));
    let mut lookup = |_: &SpecInfo| Ok(demo.clone());
    let _ = verify_loaded(&loaded, "<fuzz>", &mut lookup);
    let _ = modelspec::report::canonical::to_vec(&loaded.report);
});
