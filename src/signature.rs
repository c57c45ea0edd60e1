//! Signed reports: a detached SSH signature (`ssh-keygen -Y sign`, the SSHSIG format) beside
//! each report file, and its check against trusted public keys.
//!
//! Why SSH signatures and not minisign, GPG or a JWS: `ssh-keygen` is on every Linux and macOS
//! machine a reviewer already has (minisign needs an install, GPG a keyring), operators and
//! reviewers already hold SSH keys and `allowed_signers` files (git signs commits with the same
//! format), and the signature is a plain armored text file, `REPORT.sig`, that sits beside the
//! report and verifies with one standard command:
//!
//! ```text
//! ssh-keygen -Y verify -f allowed_signers -I auditor@example.com -n modelspec -s r.json.sig < r.json
//! ```
//!
//! The signature namespace is [`NAMESPACE`] (`-n modelspec`), so a signature made for git or
//! for a file in general is not taken for a report's, and the reverse.
//!
//! What is signed is the report file's bytes exactly as written: no canonical form, so any
//! changed byte (a finding edited, a space added) makes the signature fail.
//!
//! Key handling. The signing key is read once, before the scan probes anything, and refused
//! when group or others may read or write it (as `ssh` refuses such identity files) or when it
//! is encrypted: modelspec signs unattended, from a timer, and asks for no passphrase. The key
//! never appears in any message or `Debug` output ([`SigningKey`]'s `Debug` names its path and
//! fingerprint only), and the file's text is zeroed once parsed. A signer is named by its
//! public key's fingerprint (`SHA256:...`, as `ssh-keygen -l` prints it), never by key material.
//!
//! Key types: Ed25519 (ssh-keygen's default), ECDSA P-256 and P-384, for signing and
//! verifying. RSA is left out: the `rsa` crate has an open timing advisory (RUSTSEC-2023-0071)
//! for private-key operations, and a report-signing key can be made for the purpose
//! (`ssh-keygen -t ed25519`).
//!
//! Trusted keys come from a file of OpenSSH public key lines (`ssh-ed25519 AAAA... comment`, a
//! `.pub` file) or `allowed_signers` lines (`principals [options] keytype base64`), mixed
//! freely. Of the `allowed_signers` options, `namespaces=` is honoured; a key marked
//! `cert-authority`, or limited in time (`valid-after=`, `valid-before=`, which would need a
//! clock this check does not read), is not trusted here: the error says so and points to
//! `ssh-keygen -Y verify`, which evaluates them.

use std::io::Read;
use std::path::{Path, PathBuf};

use ssh_key::{Algorithm, EcdsaCurve, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};
use zeroize::Zeroizing;

/// The SSHSIG namespace of report signatures: `ssh-keygen -Y sign|verify -n modelspec`.
pub const NAMESPACE: &str = "modelspec";

/// Largest key, trusted-keys or signature file read: far above any real one (an Ed25519
/// private key is about 400 bytes, a signature about 300), so a wrong path to a large file is
/// an error rather than a long read.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Where the signature of the report at `report` goes: `REPORT.sig`, the name
/// `ssh-keygen -Y sign` writes.
pub fn signature_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// A public key's SHA-256 fingerprint as `ssh-keygen -l` prints it: `SHA256:` and unpadded
/// base64.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    fn of(key: &ssh_key::public::KeyData) -> Fingerprint {
        Fingerprint(key.fingerprint(HashAlg::Sha256).to_string())
    }

    /// `SHA256:...`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a key could not be loaded, a report could not be signed, or a signature does not hold.
/// Every message says what, where (the file) and what to do; none holds key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The private key file may be read or written by group or others.
    KeyPermissions { path: PathBuf, mode: u32 },
    /// The private key file cannot be read.
    KeyUnreadable { path: PathBuf, message: String },
    /// The file is not an OpenSSH private key.
    KeyMalformed { path: PathBuf, message: String },
    /// The private key is protected by a passphrase.
    KeyEncrypted { path: PathBuf },
    /// The private key's type is not one modelspec signs with.
    KeyUnsupported { path: PathBuf, algorithm: String },
    /// Signing failed (the crypto library refused).
    Sign { path: PathBuf, message: String },
    /// The trusted-keys file cannot be read.
    TrustedUnreadable { path: PathBuf, message: String },
    /// A line of the trusted-keys file is not a public key or allowed_signers line.
    TrustedMalformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// The trusted-keys file holds no key.
    NoTrustedKeys { path: PathBuf },
    /// No signature file where one was expected.
    Missing { signature: PathBuf },
    /// The signature file exists but cannot be read.
    SignatureUnreadable { signature: PathBuf, message: String },
    /// The signature file is not an SSH signature.
    Malformed { signature: PathBuf, message: String },
    /// An SSH signature, but made for another namespace (`-n`).
    WrongNamespace { signature: PathBuf, found: String },
    /// Made with a key that is not among the trusted ones.
    Untrusted {
        signature: PathBuf,
        fingerprint: Fingerprint,
        trusted: PathBuf,
    },
    /// The signer's key is listed, but with an option that does not let it sign reports here.
    NotAllowed {
        signature: PathBuf,
        fingerprint: Fingerprint,
        trusted: PathBuf,
        line: usize,
        reason: String,
    },
    /// Made with a key type this build does not verify.
    UnsupportedAlgorithm { signature: PathBuf, algorithm: String },
    /// A trusted key signed it, but not these bytes: the report changed since it was signed.
    Tampered {
        signature: PathBuf,
        fingerprint: Fingerprint,
    },
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use SignatureError as E;
        match self {
            E::KeyPermissions { path, mode } => write!(
                f,
                "{p}: the signing key is mode {mode:04o}, readable or writable by others; \
                 a private key must be yours alone: chmod 600 {p}",
                p = path.display()
            ),
            E::KeyUnreadable { path, message } => {
                write!(f, "{}: cannot read the signing key: {message}", path.display())
            }
            E::KeyMalformed { path, message } => write!(f, "{}: {message}", path.display()),
            E::KeyEncrypted { path } => write!(
                f,
                "{p}: the signing key is protected by a passphrase, and modelspec signs unattended \
                 (no prompt); use a key made for signing reports, without a passphrase and mode 600 \
                 (ssh-keygen -t ed25519 -N '' -f FILE), or remove this one's with ssh-keygen -p -f {p}",
                p = path.display()
            ),
            E::KeyUnsupported { path, algorithm } => write!(
                f,
                "{}: the key is {algorithm}; modelspec signs with ed25519 or ECDSA P-256/P-384 keys: \
                 make one with ssh-keygen -t ed25519 -N '' -f FILE",
                path.display()
            ),
            E::Sign { path, message } => {
                write!(f, "cannot sign with the key {}: {message}", path.display())
            }
            E::TrustedUnreadable { path, message } => {
                write!(f, "{}: cannot read the trusted keys: {message}", path.display())
            }
            E::TrustedMalformed { path, line, message } => write!(
                f,
                "{}:{line}: {message}; a trusted-keys file holds OpenSSH public key lines \
                 (`ssh-ed25519 AAAA... comment`) or allowed_signers lines \
                 (`principals [options] ssh-ed25519 AAAA...`)",
                path.display()
            ),
            E::NoTrustedKeys { path } => write!(
                f,
                "{}: no public key in the file; name a .pub file or an allowed_signers file",
                path.display()
            ),
            E::Missing { signature } => write!(
                f,
                "no signature: {} does not exist; sign the report with `scan --sign-key KEY` \
                 or `ssh-keygen -Y sign -f KEY -n {NAMESPACE} REPORT`, or name the signature with --signature",
                signature.display()
            ),
            E::SignatureUnreadable { signature, message } => {
                write!(f, "{}: cannot read the signature: {message}", signature.display())
            }
            E::Malformed { signature, message } => write!(
                f,
                "{}: not an SSH signature ({message}); it should be the armored text \
                 `ssh-keygen -Y sign` writes, starting -----BEGIN SSH SIGNATURE-----",
                signature.display()
            ),
            E::WrongNamespace { signature, found } => write!(
                f,
                "{}: the signature is for namespace {found:?}, not {NAMESPACE:?}: it was not made \
                 for a modelspec report; sign with -n {NAMESPACE}",
                signature.display()
            ),
            E::Untrusted {
                signature,
                fingerprint,
                trusted,
            } => write!(
                f,
                "{}: signed by {fingerprint}, a key not among the trusted keys in {}; if that \
                 key is trusted, add its public key line there",
                signature.display(),
                trusted.display()
            ),
            E::NotAllowed {
                signature,
                fingerprint,
                trusted,
                line,
                reason,
            } => write!(
                f,
                "{}: signed by {fingerprint}, which {}:{line} lists {reason}; \
                 check it with ssh-keygen -Y verify, which evaluates these options",
                signature.display(),
                trusted.display()
            ),
            E::UnsupportedAlgorithm { signature, algorithm } => write!(
                f,
                "{}: signed with a {algorithm} key, which modelspec does not verify \
                 (ed25519, ECDSA P-256/P-384); check it with ssh-keygen -Y verify",
                signature.display()
            ),
            E::Tampered { signature, fingerprint } => write!(
                f,
                "{}: the signature by {fingerprint} does not match the report's content: the report \
                 changed since it was signed (or the signature belongs to another file)",
                signature.display()
            ),
        }
    }
}

impl std::error::Error for SignatureError {}

/// Whether this build signs and verifies with keys of `algorithm`.
fn supported(algorithm: &Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Ed25519
            | Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256 | EcdsaCurve::NistP384
            }
    )
}

/// Reads at most [`MAX_FILE_BYTES`] of an opened file.
fn read_capped(file: std::fs::File, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    let mut limited = file.take(MAX_FILE_BYTES + 1);
    limited.read_to_end(buffer)?;
    if buffer.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} KiB, far more than any key or signature",
            MAX_FILE_BYTES / 1024
        )));
    }
    Ok(())
}

/// A private key loaded for signing reports. Its `Debug` names the file and the public key's
/// fingerprint, never the key.
pub struct SigningKey {
    key: PrivateKey,
    path: PathBuf,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint().as_str())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads the OpenSSH private key at `path`, refusing one that group or others may read or
    /// write (checked on the opened file, before the key is parsed), an encrypted one, and a
    /// type modelspec does not sign with.
    pub fn load(path: &Path) -> Result<SigningKey, SignatureError> {
        use std::os::unix::fs::PermissionsExt;
        let unreadable = |e: std::io::Error| SignatureError::KeyUnreadable {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let metadata = file.metadata().map_err(unreadable)?;
        if !metadata.is_file() {
            return Err(SignatureError::KeyUnreadable {
                path: path.to_path_buf(),
                message: "not a file".into(),
            });
        }
        let mut bytes = Zeroizing::new(Vec::new());
        read_capped(file, &mut bytes).map_err(unreadable)?;
        // A public key named by mistake is said as such, not met with a chmod hint.
        if looks_public(&bytes) {
            return Err(Self::parse(path, &bytes).err().unwrap_or(SignatureError::KeyMalformed {
                path: path.to_path_buf(),
                message: "a public key".into(),
            }));
        }
        // Before the key is used: one others may read may be known to them, as ssh reasons.
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(SignatureError::KeyPermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let key = Self::parse(path, &bytes)?;
        Ok(SigningKey {
            key,
            path: path.to_path_buf(),
        })
    }

    /// The key in `bytes` (the file at `path`), or why it cannot sign.
    fn parse(path: &Path, bytes: &[u8]) -> Result<PrivateKey, SignatureError> {
        let malformed = |message: String| SignatureError::KeyMalformed {
            path: path.to_path_buf(),
            message,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| malformed("not an OpenSSH private key (not text)".into()))?
            .trim();
        if looks_public(text.as_bytes()) {
            return Err(malformed(
                "a public key; --sign-key takes the private key (the same name without .pub)".into(),
            ));
        }
        if !text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
            let hint = if text.starts_with("-----BEGIN ") {
                "a PEM private key, not the OpenSSH format; convert it in place with ssh-keygen -p -f FILE"
            } else {
                "not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----); make one with \
                 ssh-keygen -t ed25519 -N '' -f FILE"
            };
            return Err(malformed(hint.into()));
        }
        let key = PrivateKey::from_openssh(text).map_err(|e| match e {
            ssh_key::Error::Encrypted => SignatureError::KeyEncrypted {
                path: path.to_path_buf(),
            },
            other => malformed(format!("the OpenSSH private key does not load: {other}")),
        })?;
        if key.is_encrypted() {
            return Err(SignatureError::KeyEncrypted {
                path: path.to_path_buf(),
            });
        }
        if !supported(&key.algorithm()) {
            return Err(SignatureError::KeyUnsupported {
                path: path.to_path_buf(),
                algorithm: key.algorithm().to_string(),
            });
        }
        Ok(key)
    }

    /// The public key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.key.public_key().key_data())
    }

    /// Where the key was read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The armored detached signature of `bytes` (SHA-512, namespace [`NAMESPACE`]), as
    /// `ssh-keygen -Y sign` writes it, ending in a newline.
    pub fn sign(&self, bytes: &[u8]) -> Result<String, SignatureError> {
        let failed = |e: ssh_key::Error| SignatureError::Sign {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let signature = self.key.sign(NAMESPACE, HashAlg::Sha512, bytes).map_err(failed)?;
        let mut text = signature.to_pem(LineEnding::LF).map_err(failed)?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}

/// One trusted key, and where it was listed.
#[derive(Debug, Clone)]
struct Trusted {
    key: PublicKey,
    line: usize,
    /// Why an `allowed_signers` option keeps this key from signing reports here.
    refused: Option<String>,
}

/// The public keys a signature may be made with, from one file.
#[derive(Debug, Clone)]
pub struct TrustedKeys {
    path: PathBuf,
    keys: Vec<Trusted>,
}

impl TrustedKeys {
    /// Reads the trusted keys in the file at `path`: OpenSSH public key lines or
    /// `allowed_signers` lines; blank lines and `#` comments are skipped. At least one key.
    pub fn load(path: &Path) -> Result<TrustedKeys, SignatureError> {
        let unreadable = |e: std::io::Error| SignatureError::TrustedUnreadable {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let mut bytes = Vec::new();
        read_capped(file, &mut bytes).map_err(unreadable)?;
        let text = String::from_utf8(bytes).map_err(|_| SignatureError::TrustedUnreadable {
            path: path.to_path_buf(),
            message: "not text (UTF-8)".into(),
        })?;
        Self::parse(&text, path)
    }

    /// The trusted keys in `text`, read from `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<TrustedKeys, SignatureError> {
        let mut keys = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let malformed = |message: String| SignatureError::TrustedMalformed {
                path: path.to_path_buf(),
                line: index + 1,
                message,
            };
            let fields = split_fields(line).map_err(|m| malformed(m.into()))?;
            let at = fields
                .windows(2)
                .position(|w| is_key_type(&w[0]) && w[1].starts_with("AAAA"))
                .ok_or_else(|| malformed("no public key (a key type such as ssh-ed25519, then base64)".into()))?;
            if at > 2 {
                return Err(malformed(
                    "more than principals and options before the key; quote option values that hold spaces".into(),
                ));
            }
            let key = PublicKey::from_openssh(&format!("{} {}", fields[at], fields[at + 1]))
                .map_err(|e| malformed(format!("the {} key does not load: {e}", fields[at])))?;
            let refused = match at {
                2 => refusal(&fields[1]).map_err(malformed)?,
                _ => None,
            };
            keys.push(Trusted {
                key,
                line: index + 1,
                refused,
            });
        }
        if keys.is_empty() {
            return Err(SignatureError::NoTrustedKeys {
                path: path.to_path_buf(),
            });
        }
        Ok(TrustedKeys {
            path: path.to_path_buf(),
            keys,
        })
    }

    /// Where the keys were read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many keys the file lists.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the file lists no key (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `signature_text` (read from `signature`, named in errors) over `bytes`: an SSH
    /// signature, in namespace [`NAMESPACE`], by a trusted key, of exactly these bytes.
    /// Answers the signer's fingerprint.
    pub fn verify(&self, bytes: &[u8], signature_text: &str, signature: &Path) -> Result<Fingerprint, SignatureError> {
        let text = signature_text.trim();
        if !text.starts_with("-----BEGIN SSH SIGNATURE-----") {
            return Err(SignatureError::Malformed {
                signature: signature.to_path_buf(),
                message: "no -----BEGIN SSH SIGNATURE----- line".into(),
            });
        }
        let sig = SshSig::from_pem(text).map_err(|e| SignatureError::Malformed {
            signature: signature.to_path_buf(),
            message: e.to_string(),
        })?;
        if sig.namespace() != NAMESPACE {
            return Err(SignatureError::WrongNamespace {
                signature: signature.to_path_buf(),
                found: sig.namespace().to_string(),
            });
        }
        let fingerprint = Fingerprint::of(sig.public_key());
        let listed: Vec<&Trusted> = self
            .keys
            .iter()
            .filter(|t| t.key.key_data() == sig.public_key())
            .collect();
        // The same key may be listed more than once (for several principals): any line that
        // lets it sign will do.
        let Some(trusted) = listed.iter().find(|t| t.refused.is_none()).or(listed.first()) else {
            return Err(SignatureError::Untrusted {
                signature: signature.to_path_buf(),
                fingerprint,
                trusted: self.path.clone(),
            });
        };
        if let Some(reason) = &trusted.refused {
            return Err(SignatureError::NotAllowed {
                signature: signature.to_path_buf(),
                fingerprint,
                trusted: self.path.clone(),
                line: trusted.line,
                reason: reason.clone(),
            });
        }
        if !supported(&sig.algorithm()) {
            return Err(SignatureError::UnsupportedAlgorithm {
                signature: signature.to_path_buf(),
                algorithm: sig.algorithm().to_string(),
            });
        }
        trusted
            .key
            .verify(NAMESPACE, bytes, &sig)
            .map_err(|_| SignatureError::Tampered {
                signature: signature.to_path_buf(),
                fingerprint: fingerprint.clone(),
            })?;
        Ok(fingerprint)
    }
}

/// Checks the signature file at `signature` over `report_bytes` with the `trusted` keys;
/// answers the signer's fingerprint. A missing file is [`SignatureError::Missing`].
pub fn check(trusted: &TrustedKeys, report_bytes: &[u8], signature: &Path) -> Result<Fingerprint, SignatureError> {
    let file = std::fs::File::open(signature).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SignatureError::Missing {
            signature: signature.to_path_buf(),
        },
        _ => SignatureError::SignatureUnreadable {
            signature: signature.to_path_buf(),
            message: e.to_string(),
        },
    })?;
    let mut bytes = Vec::new();
    read_capped(file, &mut bytes).map_err(|e| SignatureError::SignatureUnreadable {
        signature: signature.to_path_buf(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SignatureError::Malformed {
        signature: signature.to_path_buf(),
        message: "not text".into(),
    })?;
    trusted.verify(report_bytes, &text, signature)
}

/// Checks the signature beside the report at `report_path` ([`signature_path`]: `REPORT.sig`)
/// over `report_bytes`, the report's content; answers the signer's fingerprint.
pub fn check_beside(
    trusted: &TrustedKeys,
    report_path: &Path,
    report_bytes: &[u8],
) -> Result<Fingerprint, SignatureError> {
    check(trusted, report_bytes, &signature_path(report_path))
}

/// Whether a key file's content is a public key line (`ssh-ed25519 AAAA...`), not a private key.
fn looks_public(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    text.starts_with(b"ssh-") || text.starts_with(b"ecdsa-") || text.starts_with(b"sk-")
}

/// Whether `field` names an SSH public key type (`ssh-ed25519`, `ecdsa-sha2-nistp256`,
/// `sk-ssh-ed25519@openssh.com`, `ssh-rsa`, ...).
fn is_key_type(field: &str) -> bool {
    field.starts_with("ssh-") || field.starts_with("ecdsa-sha2-") || field.starts_with("sk-")
}

/// A line split at whitespace outside double quotes (`allowed_signers` option values may hold
/// spaces: `namespaces="git, modelspec"`), quotes kept.
fn split_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    fields.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed");
    }
    if !current.is_empty() {
        fields.push(current);
    }
    Ok(fields)
}

/// Why an `allowed_signers` options field keeps its key from signing reports here, if it does:
/// `namespaces=` without [`NAMESPACE`], `cert-authority`, a validity period. Unknown options
/// are errors, as in `ssh-keygen`.
fn refusal(options: &str) -> Result<Option<String>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in options.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    let mut refused = None;
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => {
                if !value.split(',').any(|n| n.trim() == NAMESPACE) {
                    refused.get_or_insert(format!("for namespaces {value:?} only, not {NAMESPACE:?}"));
                }
            }
            "cert-authority" => {
                refused.get_or_insert("as a certificate authority (modelspec verifies plain keys)".to_string());
            }
            "valid-after" | "valid-before" => {
                refused.get_or_insert(format!("as valid only in a period ({name}={value})"));
            }
            other => return Err(format!("unknown allowed_signers option {other:?}")),
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::private::Ed25519Keypair;

    fn key(seed: u8) -> PrivateKey {
        PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
    }

    fn signer(seed: u8) -> SigningKey {
        SigningKey {
            key: key(seed),
            path: PathBuf::from("/keys/report-signing"),
        }
    }

    fn public_line(seed: u8) -> String {
        key(seed).public_key().to_openssh().expect("encode")
    }

    fn trusted(text: &str) -> TrustedKeys {
        TrustedKeys::parse(text, Path::new("/keys/allowed")).expect("trusted keys")
    }

    const SIG: &str = "/r/r.json.sig";

    #[test]
    fn a_signature_verifies_and_names_the_signer() {
        let s = signer(1);
        let text = s.sign(b"report").expect("sign");
        assert!(text.starts_with("-----BEGIN SSH SIGNATURE-----\n") && text.ends_with("-----END SSH SIGNATURE-----\n"));
        let keys = trusted(&format!("{}\n", public_line(1)));
        let who = keys.verify(b"report", &text, Path::new(SIG)).expect("verifies");
        assert_eq!(who, s.fingerprint());
        assert!(who.as_str().starts_with("SHA256:"), "{who}");
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let text = signer(1).sign(b"report").expect("sign");
        let keys = trusted(&public_line(1));
        let sig = Path::new(SIG);
        assert!(matches!(
            keys.verify(b"report!", &text, sig),
            Err(SignatureError::Tampered { .. })
        ));
        let other = trusted(&public_line(2));
        let err = other.verify(b"report", &text, sig).expect_err("untrusted");
        assert!(matches!(err, SignatureError::Untrusted { .. }), "{err}");
        assert!(err.to_string().contains(signer(1).fingerprint().as_str()), "{err}");
        assert!(matches!(
            keys.verify(b"report", "hello", sig),
            Err(SignatureError::Malformed { .. })
        ));
        let cut = text.replace("\n-----END", "x\n-----END");
        assert!(matches!(
            keys.verify(b"report", &cut, sig),
            Err(SignatureError::Malformed { .. })
        ));
        let git = signer(1)
            .key
            .sign("git", HashAlg::Sha512, b"report")
            .and_then(|s| s.to_pem(LineEnding::LF))
            .expect("sign for git");
        let err = keys.verify(b"report", &git, sig).expect_err("namespace");
        assert_eq!(
            err,
            SignatureError::WrongNamespace {
                signature: sig.into(),
                found: "git".into()
            }
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("r.json");
        assert_eq!(
            check_beside(&keys, &missing, b"report"),
            Err(SignatureError::Missing {
                signature: dir.path().join("r.json.sig")
            })
        );
    }

    #[test]
    fn allowed_signers_lines_and_their_options() {
        let text = signer(1).sign(b"r").expect("sign");
        let sig = Path::new(SIG);
        let line = public_line(1);
        for ok in [
            format!("auditor@example.com {line}"),
            format!("a@x,b@x namespaces=\"git,modelspec\" {line}"),
            format!("# comment\n\n{}\n* {line}", public_line(3)),
            // The same key twice: one line that allows it is enough.
            format!("a@x namespaces=\"git\" {line}\nb@x {line}"),
        ] {
            assert!(trusted(&ok).verify(b"r", &text, sig).is_ok(), "{ok}");
        }
        for (refused, says) in [
            (format!("a@x namespaces=\"git\" {line}"), "namespaces"),
            (format!("a@x cert-authority {line}"), "certificate authority"),
            (format!("a@x valid-before=\"20300101\" {line}"), "valid-before"),
        ] {
            let err = trusted(&refused).verify(b"r", &text, sig).expect_err(&refused);
            assert!(matches!(err, SignatureError::NotAllowed { line: 1, .. }), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
        let path = Path::new("/keys/allowed");
        for bad in [
            "a@x",
            "a@x bogus-option ssh-ed25519 AAAAxx",
            "a@x \"open ssh-ed25519 AAAA",
        ] {
            assert!(
                matches!(
                    TrustedKeys::parse(bad, path),
                    Err(SignatureError::TrustedMalformed { line: 1, .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            TrustedKeys::parse(&format!("a@x frobnicate {line}"), path),
            Err(SignatureError::TrustedMalformed { .. })
        ));
        assert_eq!(
            TrustedKeys::parse("# nothing\n", path).map(|k| k.len()),
            Err(SignatureError::NoTrustedKeys { path: path.into() })
        );
    }

    #[test]
    fn a_key_others_may_read_is_refused_with_the_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        let pem = key(1).to_openssh(LineEnding::LF).expect("encode");
        std::fs::write(&path, pem.as_bytes()).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = SigningKey::load(&path).expect_err("0644");
        assert_eq!(
            err,
            SignatureError::KeyPermissions {
                path: path.clone(),
                mode: 0o644
            }
        );
        assert!(
            err.to_string().contains(&format!("chmod 600 {}", path.display())),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let loaded = SigningKey::load(&path).expect("0600 loads");
        assert_eq!(loaded.fingerprint(), signer(1).fingerprint());
        // Debug names the file and the fingerprint, never the key.
        let debug = format!("{loaded:?}");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(debug.contains("SHA256:") && !debug.contains(&body[..40]), "{debug}");
        for l in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!debug.contains(l), "{debug}");
        }
    }

    #[test]
    fn what_is_not_a_signing_key_says_what_it_is() {
        let path = Path::new("/keys/k");
        let public = public_line(1);
        let err = SigningKey::parse(path, public.as_bytes()).expect_err("public");
        assert!(err.to_string().contains("a public key"), "{err}");
        let err = SigningKey::parse(path, b"-----BEGIN RSA PRIVATE KEY-----\nxx\n").expect_err("pem");
        assert!(err.to_string().contains("ssh-keygen -p"), "{err}");
        let err = SigningKey::parse(path, b"hello").expect_err("text");
        assert!(matches!(err, SignatureError::KeyMalformed { .. }), "{err}");
        let err = SigningKey::parse(path, &[0xff, 0xfe]).expect_err("binary");
        assert!(matches!(err, SignatureError::KeyMalformed { .. }), "{err}");
    }

    #[test]
    fn the_signature_goes_beside_the_report() {
        assert_eq!(
            signature_path(Path::new("/r/last.json")),
            PathBuf::from("/r/last.json.sig")
        );
        assert_eq!(signature_path(Path::new("r")), PathBuf::from("r.sig"));
    }
}
