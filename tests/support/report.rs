//! Looking findings up in a JSON report, shared by the end-to-end tests (each uses part of it).

#![allow(dead_code)]

use serde_json::Value as Json;

/// The finding of the report's first spec section whose `key` (`code` or `pointer`) is `value`.
pub fn first_section_finding<'a>(report: &'a Json, key: &str, value: &str) -> &'a Json {
    in_findings(&report["specs"][0]["findings"], key, value)
}

/// The finding in a findings array whose `key` is `value`; panics naming what is missing.
pub fn in_findings<'a>(findings: &'a Json, key: &str, value: &str) -> &'a Json {
    findings
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f[key] == value))
        .unwrap_or_else(|| panic!("no finding with {key} {value} in {findings:#}"))
}
