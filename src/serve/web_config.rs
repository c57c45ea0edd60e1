//! `--web-config FILE`: TLS and basic auth for `serve`, in the file format of the Prometheus
//! exporter toolkit, so the file an operator already has for node_exporter works here:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt      # PEM; relative paths are relative to this file
//!   key_file: server.key
//! basic_auth_users:
//!   prometheus: $2y$10$...     # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! Keys the toolkit has and this server does not implement (client certificates, cipher
//! choices, HTTP/2, extra headers) are refused by name rather than ignored: a file that asks for
//! client certificates must not silently serve without them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use serde::Deserialize;
use std::str::FromStr as _;

/// A loaded web config.
#[derive(Debug, Clone)]
pub struct WebConfig {
    tls: Option<Tls>,
    users: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Tls {
    cert_file: PathBuf,
    key_file: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: String,
    key_file: String,
}

/// The most a web config may be: it is a few lines.
const MAX_BYTES: u64 = 64 * 1024;

impl WebConfig {
    /// Reads and checks `path` (certificates included, so a broken one fails at the start).
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let shown = path.display();
        let bytes =
            crate::spec::validate::read_capped(path, MAX_BYTES)?.map_err(|d| format!("{shown}: {}", d.message))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8 text"))?;
        let documents = crate::spec::yaml::load(&text, crate::spec::Syntax::Yaml, &crate::spec::Limits::default());
        let node = match documents.first() {
            Some(Ok(node)) => node,
            Some(Err(e)) => {
                return Err(format!(
                    "{shown}:{}:{}: {}",
                    e.span.start.line, e.span.start.column, e.message
                ));
            }
            None => return Err(format!("{shown}: empty; give tls_server_config or basic_auth_users")),
        };
        let file: File = crate::spec::de::from_node(node).map_err(|e| {
            format!(
                "{shown}: {e} (modelspec serve reads tls_server_config.cert_file, tls_server_config.key_file and basic_auth_users of the exporter toolkit's format)"
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let users = file.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if bcrypt::HashParts::from_str(hash).is_err() {
                return Err(format!(
                    "{shown}: the password of basic_auth_users.{user} is not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                ));
            }
        }
        let config = WebConfig {
            tls: file.tls_server_config.map(|t| Tls {
                cert_file: base.join(t.cert_file),
                key_file: base.join(t.key_file),
            }),
            users,
        };
        config.tls_acceptor()?;
        Ok(config)
    }

    /// The basic-auth check, when users are configured.
    pub fn auth(&self) -> Arc<Auth> {
        Arc::new(Auth {
            users: self.users.clone(),
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// Whether TLS is configured.
    pub fn has_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether any user is configured.
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    /// The TLS acceptor, when TLS is configured.
    pub fn tls_acceptor(&self) -> Result<Option<tokio_rustls::TlsAcceptor>, String> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let Some(tls) = &self.tls else {
            return Ok(None);
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|e| format!("{}: no PEM certificate: {e}", tls.cert_file.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no PEM certificate in it", tls.cert_file.display()));
        }
        let key = PrivateKeyDer::from_pem_file(&tls.key_file)
            .map_err(|e| format!("{}: no PEM private key: {e}", tls.key_file.display()))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                format!(
                    "{} and {} do not make a TLS identity: {e}",
                    tls.cert_file.display(),
                    tls.key_file.display()
                )
            })?;
        Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }
}

/// Basic auth against bcrypt hashes. A bcrypt check costs tens of milliseconds by design, so
/// credentials once verified are remembered (as a SHA-256 of user and password, never the
/// password itself) and a scraper pays it once; wrong ones are never remembered.
#[derive(Debug)]
pub struct Auth {
    users: BTreeMap<String, String>,
    verified: Mutex<HashSet<String>>,
}

/// Credentials remembered at most (a handful of scrapers use a handful).
const REMEMBERED: usize = 64;

impl Auth {
    /// Whether the request's `Authorization: Basic` names a user and its password; anything
    /// else (no header, another scheme, bad base64, an unknown user) is no.
    pub async fn allows(&self, headers: &HeaderMap) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials)
        else {
            return false;
        };
        let Some(hash) = self.users.get(&user).cloned() else {
            return false;
        };
        let key = crate::digest::sha256_hex(format!("{user}\0{password}").as_bytes());
        if self.remembered().contains(&key) {
            return true;
        }
        // Off the runtime's threads: bcrypt is slow on purpose.
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false);
        if ok {
            let mut remembered = self.remembered();
            if remembered.len() >= REMEMBERED {
                remembered.clear();
            }
            remembered.insert(key);
        }
        ok
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `Basic dXNlcjpwYXNz` as (user, password).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_in_every_shape() {
        assert_eq!(
            basic_credentials("Basic dXNlcjpwYXNz"),
            Some(("user".into(), "pass".into()))
        );
        assert_eq!(basic_credentials("basic YTpiOmM="), Some(("a".into(), "b:c".into())));
        for bad in [
            "Bearer dXNlcjpwYXNz",
            "Basic",
            "Basic !!!!",
            "Basic dXNlcg==",
            "Basic dXNlcjpwYXN",
        ] {
            assert_eq!(basic_credentials(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_web_config_refuses_what_it_does_not_implement() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("web.yml");
        std::fs::write(
            &path,
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let error = WebConfig::load(&path).err().unwrap_or_default();
        assert!(error.contains("client_auth_type"), "{error}");
        std::fs::write(&path, "basic_auth_users:\n  prometheus: plain-text\n").unwrap_or_else(|e| panic!("{e}"));
        let error = WebConfig::load(&path).err().unwrap_or_default();
        assert!(error.contains("not a bcrypt hash"), "{error}");
        std::fs::write(
            &path,
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let error = WebConfig::load(&path).err().unwrap_or_default();
        assert!(error.contains("missing.crt"), "{error}");
    }
}
