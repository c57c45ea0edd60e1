//! Hashing, as every file this tool writes records it: SHA-256 in lowercase hex.
//!
//! A leaf on purpose: the report hashes observations and spec files, the waiver loader hashes
//! its file, and neither should import the other to do so (`report` imports `waivers`).

/// SHA-256 of `bytes`, lowercase hex, as reports write every hash.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of what is written into it, without holding the text (a large JSON document
/// serialized straight into the hash).
#[derive(Default)]
pub struct Sha256Writer(sha2::Sha256);

impl Sha256Writer {
    /// The hash so far, lowercase hex.
    pub fn hex(self) -> String {
        use sha2::Digest;
        hex(&self.0.finalize())
    }
}

impl std::io::Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_writer_hashes_what_the_function_does() {
        use std::io::Write;
        let mut w = super::Sha256Writer::default();
        w.write_all(b"ab").and_then(|()| w.write_all(b"c")).expect("writes");
        assert_eq!(w.hex(), super::sha256_hex(b"abc"));
    }

    #[test]
    fn hex_of_the_empty_input() {
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
