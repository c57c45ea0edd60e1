//! Hashing, as every file this tool writes records it: SHA-256 in lowercase hex.
//!
//! A leaf on purpose: the report hashes observations and spec files, the waiver loader hashes
//! its file, and neither should import the other to do so (`report` imports `waivers`).

/// SHA-256 of `bytes`, lowercase hex, as reports write every hash.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_of_the_empty_input() {
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
