//! The hostile endpoint suite: `modelspec scan` against loopback servers that misbehave on
//! purpose, one way per test.
//!
//! A scan runs on a production node against whatever answers on the serving port, which may be
//! hung, overloaded, misconfigured or malicious. The README promises that such an endpoint gives
//! `unknown` (or `fail`) with the reason, within `--timeout` plus a second, and this suite holds
//! the scan to it on the worst inputs we could think of: bytes dribbled a second apart, bodies
//! that never end or claim 2 GB, a gzip bomb, redirect loops and redirects off the host, invalid
//! UTF-8 and absurd nesting, a metrics page of ten million series or a megabyte label, a reset
//! connection, an untrusted certificate, and a server that pretends to be an engine it is not.
//!
//! Every case checks, beyond its own findings ([`harness::scan`]): the wall time of the child
//! process, its peak RSS (printed, so it can be recorded), the GPU findings from the fake NVML
//! unchanged from a well-behaved endpoint's, and no endpoint finding passing on data the server
//! did not give. Servers bind 127.0.0.x only and stop when the test ends ([`server`]).

mod endpoints;
mod harness;
mod metrics;
mod server;
#[path = "../support/mod.rs"]
mod support;
mod transport;
