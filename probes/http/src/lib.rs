//! HTTP probe: a small, careful client that turns HTTP exchanges with a model server into
//! plain, serializable snapshots.
//!
//! `modelspec` checks a running deployment against its contract, and much of what it checks is
//! asked over HTTP: which models are served, whether the server is healthy, what its metrics
//! say. This crate is the asking. It knows nothing of ModelSpec or of engines: it takes a
//! [`Target`] and paths, and gives back [`Exchange`]s, records of what was asked and what came
//! back, which checks judge and which a scan can save and replay.
//!
//! The servers asked may be hung, overloaded or hostile, and the scan must still finish and
//! must not leak the API key. So:
//! - every request is bounded by a connect timeout, its own timeout and the caller's overall
//!   deadline, and every body by a size cap ([`HttpClient::fetch`], [`fetch_all`]);
//! - failures are data with a stable [`FailureKind`] and a reason saying what, where and what
//!   to do; nothing here panics on a server's input;
//! - the bearer [`Token`] never prints, goes to the target's origin only (redirects elsewhere
//!   are reported, not followed), and is scrubbed from everything recorded, URLs lose
//!   credentials, and paths cannot move a request to another host ([`Target::url`]).
//!
//! ```no_run
//! use modelspec_probe_http::{ClientOptions, HttpClient, Request, Target, Token};
//! use std::time::{Duration, Instant};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let target = Target::from_args(None, 8000, None)?;
//! let options = ClientOptions { token: Token::from_env()?, ..ClientOptions::default() };
//! let client = HttpClient::new(target, options)?;
//! let deadline = Instant::now() + Duration::from_secs(30);
//! let exchange = client.fetch(&Request::get("/v1/models").accept("application/json"), deadline);
//! match exchange.json() {
//!     Ok(models) => println!("{models}"),
//!     Err(problem) => eprintln!("{problem}"),
//! }
//! # Ok(())
//! # }
//! ```

mod batch;
mod classify;
mod client;
mod exchange;
mod json;
mod target;
mod token;

pub use batch::{MAX_CONCURRENT, fetch_all};
pub use client::{
    CUT_BODY_KEPT_BYTES, ClientError, ClientOptions, DEFAULT_HEADERS, DEFAULT_MAX_BODY_BYTES, HttpClient, Request,
    RequestBody,
};
pub use exchange::{Exchange, Failure, FailureKind, Method, Outcome, RedirectNotFollowed, Response};
pub use json::{JsonProblem, JsonProblemKind};
pub use target::{DEFAULT_HOST, Target, TargetError, sanitize_url};
pub use token::{REDACTED, TOKEN_ENV, Token, TokenError};
