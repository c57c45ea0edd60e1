//! The JSON Schemas `modelspec` publishes (`schema/`), embedded so the binary can print them
//! (`modelspec schema NAME`) and validate with them.

/// ModelSpec v0.1 documents.
pub const MODELSPEC: &str = include_str!("../schema/modelspec.v0.1.json");
/// `modelspec validate --format json` output.
pub const VALIDATE_OUTPUT: &str = include_str!("../schema/validate-output.v1.json");
/// `modelspec scan --format json` reports.
pub const REPORT: &str = include_str!("../schema/report.v1.json");
/// `modelspec facts` observations.
pub const OBSERVATION: &str = include_str!("../schema/observation.v1.json");
/// `scan --waivers` files.
pub const WAIVERS: &str = include_str!("../schema/waivers.v1.json");
/// `modelspec fleet --format json` reports.
pub const FLEET: &str = include_str!("../schema/fleet.v1.json");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::schema::Schema;

    #[test]
    fn every_published_schema_compiles() {
        for (name, text) in [
            ("modelspec", MODELSPEC),
            ("validate-output", VALIDATE_OUTPUT),
            ("report", REPORT),
            ("observation", OBSERVATION),
            ("waivers", WAIVERS),
            ("fleet", FLEET),
        ] {
            if let Err(e) = Schema::compile(text) {
                panic!("{name}: {e}");
            }
        }
    }
}
