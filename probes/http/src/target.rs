//! Where the probe talks to, and how a path becomes a URL without leaving it.
//!
//! A deployment is reached either as `--host` (default `127.0.0.1`) plus a port, or through an
//! explicit `--endpoint URL` that wins over both (a gateway, a path prefix, https). Paths come
//! from engine knowledge ("/v1/models", "/metrics") and sometimes from a spec file, so they are
//! treated as untrusted: `Url::join` would let `//evil.com/x` or `http://evil.com/` replace the
//! host, and a bearer token would follow. Here a path is validated, appended to the base as
//! text, and the result is checked to still be on the base's origin and under its prefix.
//!
//! Credentials inside an endpoint URL (`http://user:pass@host`) are refused rather than used:
//! they end up in shell history, process lists and CI logs. The token has its own channel.

use reqwest::Url;
use std::fmt;

/// The host probed when neither `--host` nor `--endpoint` says otherwise.
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// A base URL: scheme, host, port and an optional path prefix, without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    base: Url,
}

/// Why a target or a path was refused: says what, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    reason: String,
}

impl TargetError {
    fn new(reason: String) -> Self {
        TargetError { reason }
    }

    /// The human explanation.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// `http://host:port`; `host` is a name, an IPv4 or an IPv6 address (brackets optional).
    pub fn host_port(host: &str, port: u16) -> Result<Target, TargetError> {
        let bad_host = |why: &str| {
            TargetError::new(format!(
                "--host {:?} is not a host name or IP address ({why}); give only the host, e.g. 127.0.0.1 or \
                 gpu-node-3, and the port separately, or use --endpoint for a full URL",
                mask_userinfo(host)
            ))
        };
        if host.is_empty() {
            return Err(bad_host("it is empty"));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/?#@\\".contains(c))
        {
            return Err(bad_host("it holds a character that cannot be in a host"));
        }
        let bracketed = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let url = Url::parse(&format!("http://{bracketed}:{port}/")).map_err(|error| bad_host(&error.to_string()))?;
        Target::checked(url)
    }

    /// An explicit base URL (`--endpoint`): http or https, a host, an optional port and path
    /// prefix; no credentials, query or fragment.
    pub fn endpoint(endpoint: &str) -> Result<Target, TargetError> {
        let shown = mask_userinfo(endpoint);
        let url = Url::parse(endpoint.trim()).map_err(|error| {
            TargetError::new(format!(
                "--endpoint {shown:?} is not a URL ({error}); write it in full, e.g. http://10.0.0.5:8000 or \
                 https://llm.example.com/v1-gateway"
            ))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::new(format!(
                "--endpoint {shown} carries credentials (user:password@); they are not sent, to keep them out of \
                 logs and process lists: remove them and pass a bearer token with MODELSPEC_TOKEN or --token-file"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(TargetError::new(format!(
                "--endpoint {shown} has a query or fragment; it must be a base URL to which paths such as \
                 /v1/models are added: remove everything from '?' or '#'"
            )));
        }
        Target::checked(url)
    }

    /// The target the command line asks for: the endpoint when given, else host (default
    /// [`DEFAULT_HOST`]) and port.
    pub fn from_args(host: Option<&str>, port: u16, endpoint: Option<&str>) -> Result<Target, TargetError> {
        match endpoint {
            Some(endpoint) => Target::endpoint(endpoint),
            None => Target::host_port(host.unwrap_or(DEFAULT_HOST), port),
        }
    }

    /// Splits a full URL into its origin (the target) and the path with query (the request),
    /// for tools that are handed one URL.
    pub fn split_url(url: &str) -> Result<(Target, String), TargetError> {
        let shown = mask_userinfo(url);
        let parsed = Url::parse(url.trim())
            .map_err(|error| TargetError::new(format!("{shown:?} is not a URL ({error}); write it in full")))?;
        let mut path = parsed.path().to_string();
        if let Some(query) = parsed.query() {
            path.push('?');
            path.push_str(query);
        }
        let mut origin = parsed;
        origin.set_path("/");
        origin.set_query(None);
        origin.set_fragment(None);
        let target = Target::endpoint(origin.as_str()).map_err(|error| TargetError::new(error.reason))?;
        Ok((target, path))
    }

    fn checked(mut url: Url) -> Result<Target, TargetError> {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(TargetError::new(format!(
                "{} uses the scheme {:?}; only http and https are probed",
                sanitize_url(&url),
                url.scheme()
            )));
        }
        if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
            return Err(TargetError::new(format!(
                "{} has no host; write it like http://127.0.0.1:8000",
                sanitize_url(&url)
            )));
        }
        // One canonical prefix: "" for the root, "/gateway" otherwise, so joining is "prefix + path".
        let prefix = url.path().trim_end_matches('/').to_string();
        url.set_path(if prefix.is_empty() { "/" } else { &prefix });
        Ok(Target { base: url })
    }

    /// The URL of `path` (`/v1/models`, `/metrics?name=x`) under this target.
    ///
    /// Refused: a path that does not start with a single `/`, holds `\`, whitespace, control
    /// characters or a fragment, has `.` or `..` segments, or would land on another origin.
    pub fn url(&self, path: &str) -> Result<Url, TargetError> {
        let refuse = |why: &str| {
            TargetError::new(format!(
                "the path {path:?} for {self} is refused: {why}; paths must look like /v1/models (an absolute path \
                 on the same server, optionally with a ?query)"
            ))
        };
        if !path.starts_with('/') {
            return Err(refuse("it does not start with '/'"));
        }
        if path.starts_with("//") {
            return Err(refuse("'//' would name another host"));
        }
        if path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '#')
        {
            return Err(refuse("it holds whitespace, a control character, '\\' or '#'"));
        }
        let path_part = path.split('?').next().unwrap_or_default();
        if path_part.split('/').any(|segment| {
            let lowered = segment.to_ascii_lowercase();
            matches!(lowered.as_str(), "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e.")
        }) {
            return Err(refuse("'.' and '..' segments could climb out of the endpoint's prefix"));
        }
        let prefix = self.prefix();
        let joined = format!("{}{prefix}{path}", self.base.origin().ascii_serialization());
        let url = Url::parse(&joined).map_err(|error| refuse(&error.to_string()))?;
        let stays = self.same_origin(&url)
            && url.username().is_empty()
            && url.password().is_none()
            && url.path().starts_with(prefix);
        if !stays {
            return Err(refuse("it would leave the target"));
        }
        Ok(url)
    }

    /// Whether `url` has this target's scheme, host and port: the only place the token goes.
    pub fn same_origin(&self, url: &Url) -> bool {
        same_origin(&self.base, url)
    }

    /// The host, as in a URL (IPv6 in brackets).
    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or_default()
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.base.port_or_known_default().unwrap_or_default()
    }

    /// Whether requests go over TLS.
    pub fn is_https(&self) -> bool {
        self.base.scheme() == "https"
    }

    /// The base URL (no credentials: they are refused on the way in).
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn prefix(&self) -> &str {
        self.base.path().trim_end_matches('/')
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base.as_str().trim_end_matches('/'))
    }
}

/// Scheme, host and port equal: the web's notion of one origin.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port_or_known_default() == b.port_or_known_default()
}

/// The URL as it may be recorded: any `user:password@` removed.
pub fn sanitize_url(url: &Url) -> String {
    let mut clean = url.clone();
    // Both fail only for URLs that cannot have credentials, which then have none to remove.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

/// A URL-ish string as it may be recorded, parsed or not: whatever sits between `://` and an
/// `@` before the next `/` is replaced, so a Location header or a mistyped `--endpoint` cannot
/// carry a password into a snapshot or a message.
pub(crate) fn mask_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = &text[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}{}", &text[..authority_start], crate::token::REDACTED, &rest[at..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_builds_http_urls() {
        let target = Target::host_port("127.0.0.1", 8000).expect("target");
        assert_eq!(
            target.url("/v1/models").expect("url").as_str(),
            "http://127.0.0.1:8000/v1/models"
        );
        let v6 = Target::host_port("::1", 9000).expect("v6");
        assert_eq!(v6.url("/metrics").expect("url").as_str(), "http://[::1]:9000/metrics");
        assert!(Target::host_port("evil.com/x", 1).is_err());
        assert!(Target::host_port("a@b", 1).is_err());
        assert!(Target::host_port("", 1).is_err());
    }

    #[test]
    fn endpoint_wins_and_keeps_its_prefix() {
        let target = Target::from_args(Some("10.0.0.1"), 1, Some("https://gw.example:8443/llm/")).expect("target");
        assert!(target.is_https());
        assert_eq!(target.port(), 8443);
        assert_eq!(
            target.url("/v1/models?x=1").expect("url").as_str(),
            "https://gw.example:8443/llm/v1/models?x=1"
        );
        assert_eq!(target.to_string(), "https://gw.example:8443/llm");
    }

    #[test]
    fn endpoint_refuses_credentials_without_echoing_them() {
        let error = Target::endpoint("http://user:hunter2@host:8000").expect_err("credentials");
        assert!(!error.reason().contains("hunter2"), "{error}");
        assert!(error.reason().contains("MODELSPEC_TOKEN"));
        let unparsable = Target::endpoint("http://user:hunter2@[bad").expect_err("bad url");
        assert!(!unparsable.reason().contains("hunter2"), "{unparsable}");
        assert!(Target::endpoint("ftp://host/").is_err());
        assert!(Target::endpoint("http://host/?q=1").is_err());
        assert!(Target::endpoint("not a url").is_err());
    }

    #[test]
    fn paths_cannot_escape() {
        let target = Target::endpoint("http://127.0.0.1:8000/base").expect("target");
        for path in [
            "//evil.com/x",
            "http://evil.com/",
            "evil.com",
            "",
            "/\\evil.com",
            "/a/../../x",
            "/%2e%2e/x",
            "/a b",
            "/x#frag",
            "/\u{7f}",
        ] {
            assert!(target.url(path).is_err(), "{path:?} was accepted");
        }
        let url = target.url("/@evil.com/x").expect("an @ in the path stays in the path");
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(target.url("/").expect("root").as_str(), "http://127.0.0.1:8000/base/");
    }

    #[test]
    fn masks_userinfo_in_strings() {
        assert_eq!(mask_userinfo("http://u:p@h/x@y"), "http://<redacted>@h/x@y");
        assert_eq!(mask_userinfo("/relative@x"), "/relative@x");
        let url = Url::parse("http://u:p@h:1/a").expect("url");
        assert_eq!(sanitize_url(&url), "http://h:1/a");
    }
}
