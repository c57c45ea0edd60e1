//! Many requests at once, in order, by a deadline.
//!
//! A scan asks one server a dozen things (models, health, metrics, version); asked one after
//! the other, a server that hangs on each would cost a dozen timeouts. Here they run on scoped
//! threads, at most [`MAX_CONCURRENT`] at a time so a probe never floods the server it is
//! checking, and each is capped by the same absolute deadline: the call returns by then, plus
//! scheduling noise, with one exchange per request in the order given.

use crate::client::{HttpClient, Request};
use crate::exchange::{Exchange, Failure, FailureKind, Outcome};
use crate::target::mask_userinfo;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Requests in flight at once, at most.
pub const MAX_CONCURRENT: usize = 8;

/// Makes every request against the client's target, concurrently, each bounded by `deadline`
/// (and by its own timeout); the result has one exchange per request, in request order.
pub fn fetch_all(client: &HttpClient, requests: &[Request], deadline: Instant) -> Vec<Exchange> {
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(request) = requests.get(index) else {
                break;
            };
            done.push((index, client.fetch(request, deadline)));
        }
        done
    };
    let mut slots: Vec<Option<Exchange>> = requests.iter().map(|_| None).collect();
    let workers = requests.len().min(MAX_CONCURRENT);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .filter_map(|n| {
                std::thread::Builder::new()
                    .name(format!("http-probe-{n}"))
                    .spawn_scoped(scope, worker)
                    .ok()
            })
            .collect();
        // No thread could be started (resource limits): do the work here rather than lose it.
        let mut finished = if handles.is_empty() { worker() } else { Vec::new() };
        for handle in handles {
            // A worker that panicked loses its own exchanges only; they are filled in below.
            if let Ok(done) = handle.join() {
                finished.extend(done);
            }
        }
        for (index, exchange) in finished {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(exchange);
            }
        }
    });
    slots
        .into_iter()
        .zip(requests)
        .map(|(slot, request)| slot.unwrap_or_else(|| lost(client, request)))
        .collect()
}

fn lost(client: &HttpClient, request: &Request) -> Exchange {
    let url = mask_userinfo(&format!("{}{}", client.target(), request.path));
    let reason = format!(
        "the probe thread making the request to {url} stopped unexpectedly (a bug in modelspec); please report it"
    );
    Exchange {
        method: request.method,
        url,
        accept: request.accept.clone(),
        outcome: Outcome::Failure(Failure {
            kind: FailureKind::Other,
            reason,
        }),
    }
}
