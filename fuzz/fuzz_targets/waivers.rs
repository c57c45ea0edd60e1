//! Fuzzes the waiver-file reader: any text, as YAML and as JSON. It must never panic, and a
//! file it accepts must hold only well-formed waivers (real dates, known codes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelspec::spec::Syntax;
use modelspec::waivers::{is_date, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for syntax in [Syntax::Yaml, Syntax::Json] {
        match parse(text, syntax) {
            Ok(waivers) => {
                for w in &waivers {
                    assert!(is_date(&w.expires), "{w:?}");
                    assert!(modelspec::check::CHECKS.iter().any(|c| c.code == w.code), "{w:?}");
                }
            }
            Err(diagnostics) => assert!(!diagnostics.is_empty()),
        }
    }
});
