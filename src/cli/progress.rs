//! A spinner on standard error while the probes run, so a person at a terminal sees that the
//! scan is working (a hung endpoint takes the whole `--timeout`). Only on a terminal, never
//! under `--quiet` or `-v` (log lines and a redrawn line do not mix), never in a pipe or a job
//! log, where the carriage returns would be noise. The `--window` progress bar follows the
//! same rule ([`allowed`]); `observe` draws nothing itself, it calls the [`window_bar`] it is
//! given.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running spinner; [`Spinner::finish`] clears its line.
pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Whether a spinner or a progress bar may draw: a terminal on standard error that is not
/// `dumb`, and neither `--quiet` nor `-v`.
pub fn allowed(quiet: bool, verbose: u8) -> bool {
    may_draw(
        quiet,
        verbose,
        std::io::stderr().is_terminal(),
        std::env::var("TERM").ok().as_deref(),
    )
}

/// [`allowed`], given what it reads from the process: whether standard error is a terminal,
/// and `$TERM`.
fn may_draw(quiet: bool, verbose: u8, stderr_is_terminal: bool, term: Option<&str>) -> bool {
    !quiet && verbose == 0 && stderr_is_terminal && term != Some("dumb")
}

impl Spinner {
    /// Starts drawing `message` with the elapsed time, when `enabled`.
    pub fn start(message: &str, enabled: bool) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = enabled.then(|| {
            let stop = Arc::clone(&stop);
            let message = message.to_string();
            std::thread::spawn(move || {
                const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
                let started = Instant::now();
                let mut frame = 0usize;
                // Quick scans finish before the first frame and draw nothing at all.
                std::thread::sleep(Duration::from_millis(150));
                while !stop.load(Ordering::Relaxed) {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(
                        err,
                        "\r{} {message} {:.1}s",
                        FRAMES.get(frame % FRAMES.len()).copied().unwrap_or('.'),
                        started.elapsed().as_secs_f64()
                    );
                    let _ = err.flush();
                    drop(err);
                    frame += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            })
        });
        Spinner { stop, thread }
    }

    /// Stops and clears the line.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The `--window` progress bar: `measuring PATH: [###   ] 12/30 s`, redrawn on each gauge
/// sample, and a line break when the window ends. The caller checks [`allowed`] first.
pub fn window_bar() -> crate::observe::window::Progress {
    use crate::observe::window::{Progress, Tick};
    Progress(Arc::new(|tick: Tick<'_>| match tick {
        Tick::Sampled { path, elapsed, total } => {
            let done = elapsed.as_secs();
            let total = total.as_secs();
            let width = 30usize;
            let filled = (done as usize * width / total.max(1) as usize).min(width);
            let _ = write!(
                std::io::stderr(),
                "\rmeasuring {path}: [{}{}] {done}/{total} s",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
        }
        Tick::Finished { .. } => {
            let _ = writeln!(std::io::stderr());
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::may_draw;

    #[test]
    fn draws_only_on_a_quiet_free_terminal_that_is_not_dumb() {
        assert!(may_draw(false, 0, true, Some("xterm-256color")));
        assert!(may_draw(false, 0, true, None));
        assert!(!may_draw(false, 1, true, Some("xterm")), "never under -v");
        assert!(!may_draw(false, 3, true, Some("xterm")), "never under -vvv");
        assert!(!may_draw(true, 0, true, Some("xterm")), "never under -q");
        assert!(!may_draw(false, 0, true, Some("dumb")), "never on a dumb terminal");
        assert!(!may_draw(false, 0, false, Some("xterm")), "never in a pipe");
    }
}
