//! The machine's own description of itself (SMBIOS/DMI, `/sys/class/dmi/id`): who made it and
//! what it is. Clouds fill these in: an EC2 instance says `Amazon EC2` and, on Nitro, its
//! instance type as the product name; a Compute Engine VM says `Google`; an Azure VM says
//! `Microsoft Corporation` with Azure's chassis asset tag. Only the files every user may read
//! are read: serial numbers and the product UUID (root only) identify one machine and are left
//! alone.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::observed::{Observed, describe_io_error};

/// The DMI strings, as the firmware gave them (trimmed); `None` where a file is missing or
/// empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmiFacts {
    pub sys_vendor: Option<String>,
    pub product_name: Option<String>,
    pub product_version: Option<String>,
    pub board_vendor: Option<String>,
    pub bios_vendor: Option<String>,
    pub chassis_vendor: Option<String>,
    pub chassis_asset_tag: Option<String>,
}

/// Longer values are cut: firmware strings are short, and a file here is not ours to trust.
const MAX_VALUE_CHARS: usize = 256;

/// Reads the DMI strings under `dir` (normally `/sys/class/dmi/id`).
pub(crate) fn dmi_facts(dir: &Path) -> Observed<DmiFacts> {
    let shown = dir.display().to_string();
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Observed::absent(format!("{shown} is not a folder: this machine shows no DMI table")),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Observed::absent(format!(
                "{shown} does not exist: this machine (or this container's /sys) shows no DMI table"
            ));
        }
        Err(error) => return Observed::unknown(describe_io_error(&error, &shown)),
    }
    let mut refused = None;
    let mut read = |name: &str| -> Option<String> {
        let path = dir.join(name);
        match read_capped(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let value: String = text.trim().chars().take(MAX_VALUE_CHARS).collect();
                (!value.is_empty()).then_some(value)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => {
                refused.get_or_insert_with(|| describe_io_error(&error, &path.display().to_string()));
                None
            }
        }
    };
    let facts = DmiFacts {
        sys_vendor: read("sys_vendor"),
        product_name: read("product_name"),
        product_version: read("product_version"),
        board_vendor: read("board_vendor"),
        bios_vendor: read("bios_vendor"),
        chassis_vendor: read("chassis_vendor"),
        chassis_asset_tag: read("chassis_asset_tag"),
    };
    match (facts == DmiFacts::default(), refused) {
        (true, Some(why)) => Observed::unknown(why),
        (true, None) => Observed::absent(format!("{shown} holds no DMI strings")),
        (false, _) => Observed::Ok { value: facts },
    }
}

/// A DMI file's first 4 KiB (sysfs attributes are at most a page).
fn read_capped(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    modelspec_probe_support::open_regular_file(path)?
        .take(4096)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_strings_trimmed_and_says_when_there_are_none() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let write =
            |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
        write("sys_vendor", "Amazon EC2\n");
        write("product_name", "p5.48xlarge\n");
        write("chassis_asset_tag", "\n");
        let facts = dmi_facts(dir.path());
        let value = facts.value().cloned().unwrap_or_default();
        assert_eq!(value.sys_vendor.as_deref(), Some("Amazon EC2"));
        assert_eq!(value.product_name.as_deref(), Some("p5.48xlarge"));
        assert_eq!(value.chassis_asset_tag, None, "an empty string is no value");

        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(dmi_facts(empty.path()), Observed::Absent { .. }));
        assert!(matches!(dmi_facts(&empty.path().join("nope")), Observed::Absent { .. }));
    }
}
