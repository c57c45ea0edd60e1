//! Fuzzes the spec loader end to end: any bytes, as YAML and as JSON, through load, schema,
//! typed model and lints. The loader must never panic, and every diagnostic must point at a
//! real position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelspec::spec::{Options, Syntax, validate_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for syntax in [Syntax::Yaml, Syntax::Json] {
        for report in validate_text(text, syntax, &Options::default()) {
            for d in &report.diagnostics {
                assert!(d.span.start.line >= 1 && d.span.start.column >= 1, "{d:?}");
            }
        }
    }
});
