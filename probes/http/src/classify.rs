//! Turning the error chains of reqwest, hyper, rustls and the OS into a [`FailureKind`] and a
//! sentence a person can act on.
//!
//! reqwest's own message ("error sending request for url ...") says neither what failed nor
//! what to do, and it carries the URL unsanitized. So the chain is walked by type (hyper,
//! rustls and io errors are downcast, never guessed from text, except hyper-util's private
//! connect error, known only by its "dns error" message), and the reason is rebuilt from the
//! kind, the sanitized URL and the inner messages, which name no URL and no header value.

use crate::exchange::{Failure, FailureKind};
use std::error::Error as StdError;
use std::io;
use std::time::Duration;

/// What the caller knew when the error happened, to say "where" and "what to do".
pub(crate) struct Context<'a> {
    /// The sanitized URL.
    pub url: &'a str,
    /// host:port, for "nothing listens on ...".
    pub authority: &'a str,
    pub connect_timeout: Duration,
    /// The time this request was allowed, all phases together.
    pub budget: Duration,
    /// Whether the budget was cut short by the caller's overall deadline.
    pub capped_by_deadline: bool,
}

/// What the chain says, gathered in one walk.
#[derive(Default)]
struct Signals {
    timeout: bool,
    connect: bool,
    refused: bool,
    dns: bool,
    tls: bool,
    closed: bool,
    parse: bool,
    decode: bool,
    builder: bool,
    /// Inner messages, outermost first, without reqwest's URL-bearing top line.
    details: Vec<String>,
}

/// The failure for a request that produced no response.
pub(crate) fn request_failure(error: &reqwest::Error, context: &Context<'_>) -> Failure {
    let signals = walk(error);
    let detail = signals.details.join(": ");
    let url = context.url;
    let (kind, reason) = if signals.builder {
        (
            FailureKind::InvalidUrl,
            format!("the request to {url} could not be built ({detail}); check the URL and headers"),
        )
    } else if signals.refused {
        (
            FailureKind::ConnectionRefused,
            format!(
                "connection refused at {url}: nothing accepts connections on {}; check that the server is running and \
                 that --host/--port or --endpoint point at it",
                context.authority
            ),
        )
    } else if signals.dns {
        (
            FailureKind::Dns,
            format!("cannot resolve the host of {url} ({detail}); check the host name in --host or --endpoint"),
        )
    } else if signals.connect && signals.timeout {
        (
            FailureKind::ConnectTimeout,
            format!(
                "no answer to the TCP connect to {} within {} for {url}; the host may be down or a firewall may drop \
                 the traffic: check the address and that the port is open",
                context.authority,
                human(context.connect_timeout.min(context.budget)),
            ),
        )
    } else if signals.tls {
        (
            FailureKind::Tls,
            format!(
                "the TLS handshake with {} failed for {url} ({detail}); if the server speaks plain HTTP use http://, \
                 if its certificate comes from a private CA pass that CA with --ca-file",
                context.authority
            ),
        )
    } else if signals.timeout {
        (FailureKind::Timeout, timeout_reason(Phase::Headers, context))
    } else if signals.closed {
        (
            FailureKind::ConnectionClosed,
            format!(
                "{} closed the connection before sending complete response headers for {url} ({detail}); the server \
                 may have crashed or rejected the request: check its logs",
                context.authority
            ),
        )
    } else if signals.parse {
        (
            FailureKind::Protocol,
            format!(
                "the answer from {} to {url} is not valid HTTP/1.1 ({detail}); check that this port serves HTTP, \
                 not gRPC, TLS or another protocol",
                context.authority
            ),
        )
    } else if signals.connect {
        (
            FailureKind::Io,
            format!(
                "cannot connect to {} for {url} ({detail}); check the address and the network",
                context.authority
            ),
        )
    } else {
        (FailureKind::Other, format!("the request to {url} failed ({detail})"))
    };
    Failure { kind, reason }
}

/// The failure that cut a body short after the headers arrived.
pub(crate) fn body_failure(error: &io::Error, context: &Context<'_>, bytes_read: u64) -> Failure {
    let signals = walk(error);
    let detail = signals.details.join(": ");
    let url = context.url;
    if signals.timeout {
        return Failure {
            kind: FailureKind::Timeout,
            reason: timeout_reason(Phase::Body(bytes_read), context),
        };
    }
    let (kind, what) = if signals.decode && !signals.closed {
        (
            FailureKind::Protocol,
            "the body could not be decoded (bad gzip or chunked encoding)",
        )
    } else if signals.closed {
        (
            FailureKind::ConnectionClosed,
            "the server closed the connection before the end of the body",
        )
    } else {
        (FailureKind::Io, "reading the body failed")
    };
    Failure {
        kind,
        reason: format!(
            "{what} for {url} after {bytes_read} bytes ({detail}); the body recorded is the part received: check \
             the server's logs"
        ),
    }
}

/// Which part of the response the time ran out on.
pub(crate) enum Phase {
    Headers,
    /// The body, after this many bytes.
    Body(u64),
}

/// Which budget ran out, on what, and what to change.
pub(crate) fn timeout_reason(phase: Phase, context: &Context<'_>) -> String {
    let url = context.url;
    let limit = human(context.budget);
    let what = match phase {
        Phase::Headers => format!("no response headers from {url}"),
        Phase::Body(read) => {
            format!("the body from {url} was still arriving after {read} bytes (the part received is kept)")
        }
    };
    if context.capped_by_deadline {
        format!(
            "{what} when the scan's overall deadline ran out ({limit} for this request); the server may be overloaded \
             or hung: check it, or allow the scan more time"
        )
    } else {
        format!(
            "{what} within the request timeout of {limit}; the server may be overloaded or hung: check it, or raise \
             the timeout"
        )
    }
}

/// "2s", "1.5s", "250ms".
pub(crate) fn human(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

fn walk(top: &(dyn StdError + 'static)) -> Signals {
    let mut signals = Signals::default();
    let mut current: Option<&(dyn StdError + 'static)> = Some(top);
    // Chains are short; the bound only guards against a cycle in some error's `source`.
    let mut steps = 0;
    while let Some(error) = current
        && steps < 32
    {
        steps += 1;
        let mut own_message = true;
        if let Some(reqwest_error) = error.downcast_ref::<reqwest::Error>() {
            // Its Display carries the unsanitized URL and says little; the sources say more.
            own_message = false;
            signals.timeout |= reqwest_error.is_timeout();
            signals.connect |= reqwest_error.is_connect();
            signals.decode |= reqwest_error.is_decode() || reqwest_error.is_body();
            signals.builder |= reqwest_error.is_builder();
        } else if let Some(hyper_error) = error.downcast_ref::<hyper::Error>() {
            signals.timeout |= hyper_error.is_timeout();
            signals.parse |= hyper_error.is_parse() || hyper_error.is_parse_status();
            signals.closed |=
                hyper_error.is_incomplete_message() || hyper_error.is_closed() || hyper_error.is_canceled();
        } else if error.downcast_ref::<rustls::Error>().is_some() {
            signals.tls = true;
        } else if let Some(io_error) = error.downcast_ref::<io::Error>() {
            match io_error.kind() {
                io::ErrorKind::ConnectionRefused => signals.refused = true,
                io::ErrorKind::TimedOut => signals.timeout = true,
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => signals.closed = true,
                _ => {}
            }
            // An io::Error's `source` skips the error it wraps, and its message is that error's:
            // the wrapped error's own walk covers the rest of the chain.
            if let Some(inner) = io_error.get_ref() {
                let nested = walk(inner);
                signals.merge(nested);
                break;
            }
        } else if error.to_string() == "dns error" {
            signals.dns = true;
        }
        if own_message && let Some(message) = first_line(&error.to_string()) {
            let duplicate = signals.details.last().is_some_and(|last| last.contains(&message));
            if !duplicate {
                signals.details.push(message);
            }
        }
        current = error.source();
    }
    // hyper-util's "client error (Connect)" only repeats what the kind already says.
    if signals.details.len() > 1 {
        signals.details.retain(|detail| !detail.starts_with("client error ("));
    }
    if signals.details.is_empty() {
        signals.details.push("no further detail".to_string());
    }
    signals
}

impl Signals {
    fn merge(&mut self, other: Signals) {
        self.timeout |= other.timeout;
        self.connect |= other.connect;
        self.refused |= other.refused;
        self.dns |= other.dns;
        self.tls |= other.tls;
        self.closed |= other.closed;
        self.parse |= other.parse;
        self.decode |= other.decode;
        self.builder |= other.builder;
        self.details.extend(other.details);
    }
}

/// One line of an error message, bounded: a hostile peer's bytes can end up in messages.
fn first_line(message: &str) -> Option<String> {
    let line = message.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return None;
    }
    let mut end = line.len().min(300);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    Some(line[..end].to_string())
}

/// The walk recognises hyper's and rustls's errors by type, and the types are those of the
/// `hyper` and `rustls` this crate names. reqwest wraps its own: should a reqwest release move
/// to another major version of either, the downcasts would compile and silently stop matching,
/// and every protocol or TLS failure would read as a generic one. These tests provoke each
/// error for real, against a loopback listener they start, and assert both that the error type
/// is found in the chain and that the specific kind comes out, not the fallback.
#[cfg(test)]
mod downcasts {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Whether an error of type `T` is in the chain, looking inside `io::Error`s as the walk
    /// does.
    fn holds<T: StdError + 'static>(top: &(dyn StdError + 'static)) -> bool {
        let mut current = Some(top);
        let mut steps = 0;
        while let Some(error) = current
            && steps < 32
        {
            steps += 1;
            if error.is::<T>() {
                return true;
            }
            if let Some(inner) = error.downcast_ref::<io::Error>().and_then(io::Error::get_ref)
                && holds::<T>(inner)
            {
                return true;
            }
            current = error.source();
        }
        false
    }

    /// A listener on a free loopback port that answers one connection with `answer` after
    /// reading what the client sends first.
    fn answering(answer: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut first = [0u8; 1024];
                let _ = stream.read(&mut first);
                let _ = stream.write_all(answer);
            }
        });
        port
    }

    /// The error reqwest gives for a GET of `url`, and its classification.
    fn fail(url: &str, port: u16) -> (reqwest::Error, FailureKind) {
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a plain client builds");
        let error = client.get(url).send().expect_err("the request must fail");
        let authority = format!("127.0.0.1:{port}");
        let context = Context {
            url,
            authority: &authority,
            connect_timeout: Duration::from_secs(2),
            budget: Duration::from_secs(5),
            capped_by_deadline: false,
        };
        let kind = request_failure(&error, &context).kind;
        (error, kind)
    }

    #[test]
    fn hyper_errors_are_still_the_hyper_we_name() {
        let port = answering(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
        let (error, kind) = fail(&format!("http://127.0.0.1:{port}/"), port);
        assert!(holds::<hyper::Error>(&error), "no hyper::Error in: {error:?}");
        assert_eq!(kind, FailureKind::Protocol, "{error:?}");

        let port = answering(b"HTTP/1.1 200 OK\r\nContent-Ty");
        let (error, kind) = fail(&format!("http://127.0.0.1:{port}/"), port);
        assert!(holds::<hyper::Error>(&error), "no hyper::Error in: {error:?}");
        assert_eq!(kind, FailureKind::ConnectionClosed, "{error:?}");
    }

    #[test]
    fn rustls_errors_are_still_the_rustls_we_name() {
        let port = answering(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        let (error, kind) = fail(&format!("https://127.0.0.1:{port}/"), port);
        assert!(holds::<rustls::Error>(&error), "no rustls::Error in: {error:?}");
        assert_eq!(kind, FailureKind::Tls, "{error:?}");
    }

    #[test]
    fn connection_refused_is_still_an_io_error_in_the_chain() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
            listener.local_addr().expect("local address").port()
        };
        let (error, kind) = fail(&format!("http://127.0.0.1:{port}/"), port);
        assert!(holds::<io::Error>(&error), "no io::Error in: {error:?}");
        assert_eq!(kind, FailureKind::ConnectionRefused, "{error:?}");
    }
}
