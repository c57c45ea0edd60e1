//! SIGINT and SIGTERM: exit promptly with 128 + the signal number, leaving no temporary output
//! file behind.
//!
//! A scan can wait a long time (a hanging driver, a stalled endpoint, a `--window`), and the
//! probes run on threads that cannot be cancelled from outside; waiting for them to notice a flag
//! would make Ctrl-C as slow as the slowest probe. So a watcher thread waits for the signal
//! (`signal-hook`'s self-pipe: the handler itself only writes a byte), removes the temporary files
//! `output::write_atomically` has in flight, and ends the process with `_exit`, which stops every
//! probe thread at once. `_exit` rather than `exit`: atexit handlers (a vendor library's among
//! them) must not run while other threads are still inside that library. Output files themselves
//! are only ever renamed into place whole, so an interrupt leaves either the previous file or the
//! new one.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Installs the handlers and starts the watcher. Without handlers (registration failed), the
/// signals keep their default action, which also ends the process, so this only logs.
pub fn install() {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "cannot install signal handlers");
            return;
        }
    };
    let spawned = std::thread::Builder::new().name("signals".to_owned()).spawn(move || {
        if let Some(signo) = signals.forever().next() {
            // Held until the process ends: no new temporary file can appear.
            let _temps = super::output::remove_in_flight();
            let name = if signo == SIGINT { "SIGINT" } else { "SIGTERM" };
            eprintln!("modelspec: interrupted by {name}; stopping");
            signal_hook::low_level::exit(128 + signo);
        }
    });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "cannot start the signal watcher");
    }
}
