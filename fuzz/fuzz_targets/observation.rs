//! Fuzzes the saved-observation loader (`scan --facts FILE`) and, for whatever loads, the
//! checks over it: a replayed file is untrusted input, and the demo spec is judged against it.
//! Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelspec::observe::Observation;
use modelspec::spec::validate::typed_documents;
use modelspec::spec::{Limits, Syntax};

const SPEC: &str = include_str!("../../fixtures/demo/demo.modelspec.yaml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(observation) = Observation::from_json(text, "<fuzz>") {
        let _ = observation.unanswered();
        for (_, spec) in typed_documents(SPEC, Syntax::Yaml, &Limits::default()) {
            let _ = modelspec::check::compare(&spec, &observation);
        }
    }
});
