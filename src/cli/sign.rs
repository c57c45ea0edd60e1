//! Signing the report files a command writes: a detached SSH signature, `FILE.sig`, written
//! beside each, atomically and after the file itself (see [`crate::signature`] for the format
//! and why). `scan --sign-key` uses it, and so can any command that files reports.

use std::path::{Path, PathBuf};

use super::error::CliError;
use super::output::write_atomically;
use crate::signature::{SigningKey, signature_path};

/// Loads the signing key named with `--sign-key`: checked (mode, passphrase, type) before the
/// command does any work, so a key that cannot sign fails fast.
pub fn load_key(path: &Path) -> Result<SigningKey, CliError> {
    SigningKey::load(path).map_err(|e| CliError::Input(e.to_string()))
}

/// Signs `bytes`, the content just written to `path`, and writes the signature to `PATH.sig`
/// atomically; answers the signature's path.
pub fn sign_beside(key: &SigningKey, path: &Path, bytes: &[u8]) -> Result<PathBuf, CliError> {
    let text = key.sign(bytes).map_err(|e| CliError::Internal(e.to_string()))?;
    let signature = signature_path(path);
    write_atomically(&signature, text.as_bytes()).map_err(CliError::Io)?;
    tracing::info!(path = %signature.display(), signer = %key.fingerprint(), "signature written");
    Ok(signature)
}
