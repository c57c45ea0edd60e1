//! The bearer token, a secret that cannot be printed by accident.
//!
//! Model servers are often started with `--api-key`, and probing them needs the same key. The
//! key must reach the target and nothing else: not a snapshot saved for replay, not an error
//! shown in CI logs, not a `{:?}` in a panic message. So the only way to see the secret is
//! [`Token::expose`], which is crate-private; every formatting path prints `<redacted>`.

use serde::{Serialize, Serializer};
use std::fmt;
use std::io::Read;
use std::path::Path;

/// The environment variable [`Token::from_env`] reads.
pub const TOKEN_ENV: &str = "MODELSPEC_TOKEN";

/// What every formatting of a secret shows instead of it.
pub const REDACTED: &str = "<redacted>";

/// A token file larger than this is not a token file (a key, a log, a model file named by
/// mistake); reading it whole would only put more secrets in memory.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// A bearer token, sent as `Authorization: Bearer ...` to the target only.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// Why a token could not be had: says what, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    reason: String,
}

impl TokenError {
    fn new(reason: String) -> Self {
        TokenError { reason }
    }

    /// The human explanation.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TokenError {}

impl Token {
    /// A token from a string the caller already holds; `source` names where it came from, for
    /// the error ("MODELSPEC_TOKEN", "token file /run/secrets/key").
    ///
    /// Trailing line breaks are dropped (`echo key > file` adds one); an empty token, or one
    /// with a control character left inside, is refused: it could not go in a header, and
    /// sending no token would only turn into a confusing 401 later.
    pub fn new(secret: impl Into<String>, source: &str) -> Result<Token, TokenError> {
        let mut secret = secret.into();
        let kept = secret.trim_end_matches(['\n', '\r']).len();
        secret.truncate(kept);
        if secret.trim().is_empty() {
            return Err(TokenError::new(format!(
                "the token from {source} is empty; put the API key the server was started with there, or leave it \
                 unset to probe without a token"
            )));
        }
        if secret.chars().any(char::is_control) {
            return Err(TokenError::new(format!(
                "the token from {source} contains a line break or another control character inside it, which cannot \
                 be sent in an HTTP header; it must hold the API key alone, on one line"
            )));
        }
        Ok(Token(secret))
    }

    /// The token in `MODELSPEC_TOKEN`, `None` when the variable is not set.
    pub fn from_env() -> Result<Option<Token>, TokenError> {
        match std::env::var(TOKEN_ENV) {
            Ok(value) => Token::new(value, TOKEN_ENV).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(TokenError::new(format!(
                "{TOKEN_ENV} is not valid UTF-8, so it cannot be a bearer token; set it to the server's API key"
            ))),
        }
    }

    /// The token in a file (`--token-file`), without its trailing newline.
    pub fn from_file(path: &Path) -> Result<Token, TokenError> {
        let shown = path.display();
        let file = modelspec_probe_support::open_regular_file(path).map_err(|error| {
            let hint = match error.kind() {
                std::io::ErrorKind::NotFound => "check the --token-file path, or pass the token in MODELSPEC_TOKEN",
                std::io::ErrorKind::PermissionDenied => "make it readable by the user running modelspec",
                _ => "check the --token-file path",
            };
            TokenError::new(format!("cannot read the token file {shown}: {error}; {hint}"))
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_TOKEN_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| TokenError::new(format!("cannot read the token file {shown}: {error}")))?;
        if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
            return Err(TokenError::new(format!(
                "the token file {shown} is larger than {MAX_TOKEN_FILE_BYTES} bytes, so it is not a token file; \
                 --token-file must name a file holding only the API key"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            TokenError::new(format!(
                "the token file {shown} is not UTF-8 text; --token-file must name a file holding only the API key"
            ))
        })?;
        Token::new(text, &format!("token file {shown}"))
    }

    /// The secret itself, for the one place that sends it and the one place that scrubs it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({REDACTED})")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Token {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let token = Token::new("s3cret-value\n", "test").expect("valid token");
        assert_eq!(token.expose(), "s3cret-value");
        assert_eq!(format!("{token}"), REDACTED);
        assert!(!format!("{token:?}").contains("s3cret"));
        assert_eq!(serde_json::to_string(&token).expect("serializes"), "\"<redacted>\"");
    }

    #[test]
    fn refuses_empty_and_multi_line_tokens() {
        assert!(Token::new("\n", "test").is_err());
        assert!(Token::new("", "test").is_err());
        let error = Token::new("a\nb", "test").expect_err("line break inside");
        assert!(!error.reason().contains("a\nb"));
    }

    #[test]
    fn reads_a_file_and_strips_its_newline() {
        let dir = std::env::temp_dir().join(format!("modelspec-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("token");
        std::fs::write(&path, "abc123\r\n").expect("write");
        assert_eq!(Token::from_file(&path).expect("token").expose(), "abc123");
        std::fs::write(&path, "\n").expect("write");
        let error = Token::from_file(&path).expect_err("empty");
        assert!(error.reason().contains("empty") && error.reason().contains("token"));
        let missing = Token::from_file(&dir.join("nope")).expect_err("missing");
        assert!(missing.reason().contains("nope") && missing.reason().contains("--token-file"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
