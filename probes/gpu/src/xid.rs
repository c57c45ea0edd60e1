//! XID errors, through NVML events.
//!
//! An XID is the driver's own report of a GPU fault (79: fallen off the bus; 48: a double-bit
//! ECC error; 119: the GSP firmware stopped answering). NVML delivers one only to an event set
//! that was registered before it happened (`nvmlEventSetCreate`, `nvmlDeviceRegisterEvents`
//! with `nvmlEventTypeXidCriticalError`, `nvmlEventSetWait_v2`): there is no history to ask
//! for. So what a probe can say depends on how long it watched, and every record says so:
//!
//! * a one-shot probe ([`XidWatch::During`]) registers before it reads the node, keeps what
//!   arrives while it reads, and waits on for as long as it was told;
//! * a long-running process (`serve`) starts one [`XidWatcher`], which watches on its own
//!   thread for the process's whole life, and hands its record to every probe
//!   ([`XidWatch::From`]).
//!
//! Registration is per GPU and may fail on its own (NOT_SUPPORTED on GPUs without event
//! support, NO_PERMISSION): that GPU's record is the failure, the others are watched.
//! Registration goes through the raw symbol, because nvml-wrapper's `register_events` frees
//! the whole set when one GPU refuses.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use nvml_wrapper::enums::event::XidError;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{EventSet, Nvml};

use crate::observed::{Failure, Observed};
use crate::raw;
use crate::snapshot::{XID_EVENTS_KEPT, XidEvent, XidFacts};
use modelspec_probe_support::format_rfc3339_utc;

/// How a probe learns of XID errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XidWatch {
    /// Watch from before the node is read until it has been read, and at least this long.
    During(Duration),
    /// Take the record of a watcher that has been running longer.
    From(XidWatcher),
}

impl Default for XidWatch {
    fn default() -> Self {
        XidWatch::During(Duration::ZERO)
    }
}

/// A watcher on its own thread, from [`XidWatcher::start`] until the last clone is dropped.
/// Clones share one watch.
#[derive(Clone)]
pub struct XidWatcher {
    inner: Arc<Watcher>,
}

struct Watcher {
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self
            .thread
            .get_mut()
            .map(Option::take)
            .unwrap_or_else(|p| p.into_inner().take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for XidWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XidWatcher").finish_non_exhaustive()
    }
}

impl PartialEq for XidWatcher {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for XidWatcher {}

/// How long one wait lasts before the watcher looks at its stop flag.
const WAIT_SLICE_MS: u32 = 200;

impl XidWatcher {
    /// Starts watching every GPU of the NVML library at `library` (the loader search when
    /// `None`). Never fails: a library that cannot be used is the record.
    pub fn start(library: Option<PathBuf>) -> XidWatcher {
        let log = Arc::new(Mutex::new(Log::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (Arc::clone(&log), Arc::clone(&stop));
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("xid-watch".into()).spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                watch_until_stopped(library, &thread_log, &thread_stop, &started_tx)
            }));
            if outcome.is_err() {
                lock(&thread_log).failure = Some(Failure::error(
                    "the XID watcher failed unexpectedly (a panic; see stderr)",
                ));
            }
        });
        let thread = match thread {
            Ok(thread) => {
                // Registered (or failed) before the first probe asks: a short wait, bounded.
                let _ = started_rx.recv_timeout(Duration::from_secs(10));
                Some(thread)
            }
            Err(e) => {
                lock(&log).failure = Some(Failure::error(format!("cannot start the XID watcher thread: {e}")));
                None
            }
        };
        XidWatcher {
            inner: Arc::new(Watcher {
                log,
                stop,
                thread: Mutex::new(thread),
            }),
        }
    }

    /// What the watcher has seen so far, for the GPU at `index`.
    pub(crate) fn facts(&self, index: u32) -> Observed<XidFacts> {
        lock(&self.inner.log).facts(index)
    }
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn watch_until_stopped(
    library: Option<PathBuf>,
    log: &Mutex<Log>,
    stop: &AtomicBool,
    started: &std::sync::mpsc::Sender<()>,
) {
    let (path, _) = crate::GpuProbeOptions {
        library,
        xid: XidWatch::default(),
    }
    .library_to_load();
    let nvml = match Nvml::builder().lib_path(&path).init() {
        Ok(nvml) => nvml,
        Err(error) => {
            lock(log).failure = Some(Failure::from_nvml(&error).context("NVML could not be started to watch for XIDs"));
            let _ = started.send(());
            return;
        }
    };
    let session = crate::probe::NvmlSession { nvml: Some(nvml) };
    if let Some(nvml) = &session.nvml {
        let set = Registration::begin(nvml);
        set.write_to(&mut lock(log));
        let _ = started.send(());
        if let Some(events) = &set.set {
            while !stop.load(Ordering::Relaxed) {
                match next(events, WAIT_SLICE_MS) {
                    Waited::Event(index, event) => lock(log).record(index, event),
                    // Waiting works (again).
                    Waited::Nothing => lock(log).wait_failure = None,
                    Waited::Failed(failure) => {
                        // A lost GPU or a driver in trouble: say so, and keep listening.
                        lock(log).wait_failure = Some(failure);
                        std::thread::sleep(Duration::from_millis(u64::from(WAIT_SLICE_MS)));
                    }
                }
            }
        }
    }
}

/// An event set with every GPU registered that would be, and each GPU's answer.
pub(crate) struct Registration<'nvml> {
    set: Option<EventSet<'nvml>>,
    failure: Option<Failure>,
    registered: BTreeMap<u32, Result<(), Failure>>,
    since: SystemTime,
    started: Instant,
}

impl<'nvml> Registration<'nvml> {
    /// Creates the set and registers every GPU for XID events.
    pub(crate) fn begin(nvml: &'nvml Nvml) -> Self {
        let since = SystemTime::now();
        let started = Instant::now();
        let mut registered = BTreeMap::new();
        let set = match nvml.create_event_set() {
            Ok(set) => set,
            Err(error) => {
                return Registration {
                    set: None,
                    failure: Some(Failure::from_nvml(&error).context("no NVML event set for XIDs")),
                    registered,
                    since,
                    started,
                };
            }
        };
        let count = nvml.device_count().unwrap_or(0);
        for index in 0..count {
            let answer = nvml
                .device_by_index(index)
                .and_then(|device| raw::register_xid_events(nvml, &device, &set))
                .map_err(|error| Failure::from_nvml(&error).context("XID events could not be registered"));
            registered.insert(index, answer);
        }
        Registration {
            set: Some(set),
            failure: None,
            registered,
            since,
            started,
        }
    }

    /// Takes what has arrived, waiting until `at_least` has passed since `begin`.
    pub(crate) fn collect(self, at_least: Duration) -> Log {
        let mut log = Log::new();
        self.write_to(&mut log);
        if let Some(set) = &self.set {
            loop {
                let left = at_least.saturating_sub(self.started.elapsed());
                let slice = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).min(WAIT_SLICE_MS);
                match next(set, slice) {
                    Waited::Event(index, event) => log.record(index, event),
                    Waited::Failed(failure) => {
                        log.wait_failure = Some(failure);
                        break;
                    }
                    Waited::Nothing if left.is_zero() => break,
                    Waited::Nothing => {}
                }
            }
        }
        log
    }

    fn write_to(&self, log: &mut Log) {
        log.since = self.since;
        log.started = self.started;
        log.failure.clone_from(&self.failure);
        log.registered.clone_from(&self.registered);
    }
}

enum Waited {
    Event(u32, XidEvent),
    Nothing,
    Failed(Failure),
}

/// One wait on the set. Events of other kinds (none are registered) are nothing.
fn next(set: &EventSet<'_>, timeout_ms: u32) -> Waited {
    match set.wait(timeout_ms) {
        Ok(data) => {
            let Some(xid) = data.event_data else {
                return Waited::Nothing;
            };
            let Ok(index) = data.device.index() else {
                return Waited::Failed(Failure::error("an XID arrived for a GPU NVML could not name"));
            };
            Waited::Event(
                index,
                XidEvent {
                    xid: match xid {
                        XidError::Value(v) => Some(v),
                        XidError::Unknown => None,
                    },
                    at: format_rfc3339_utc(SystemTime::now()),
                },
            )
        }
        Err(NvmlError::Timeout) => Waited::Nothing,
        Err(error) => Waited::Failed(Failure::from_nvml(&error).context("waiting for XID events failed")),
    }
}

/// What a watch saw: per GPU, its registration and its events.
pub(crate) struct Log {
    since: SystemTime,
    started: Instant,
    failure: Option<Failure>,
    registered: BTreeMap<u32, Result<(), Failure>>,
    events: BTreeMap<u32, (Vec<XidEvent>, u64)>,
    /// The last wait that failed (other than timing out), said on every GPU's record.
    wait_failure: Option<Failure>,
}

impl Log {
    fn new() -> Self {
        Log {
            since: SystemTime::now(),
            started: Instant::now(),
            failure: None,
            registered: BTreeMap::new(),
            events: BTreeMap::new(),
            wait_failure: None,
        }
    }

    fn record(&mut self, index: u32, event: XidEvent) {
        let (kept, dropped) = self.events.entry(index).or_default();
        if kept.len() < XID_EVENTS_KEPT {
            kept.push(event);
        } else {
            *dropped = dropped.saturating_add(1);
        }
    }

    /// The record for the GPU at `index`.
    pub(crate) fn facts(&self, index: u32) -> Observed<XidFacts> {
        if let Some(failure) = &self.failure {
            return failure.to_observed();
        }
        match self.registered.get(&index) {
            None => Observed::Error {
                reason: "this GPU was not there when the XID watch began".into(),
            },
            Some(Err(failure)) => failure.to_observed(),
            Some(Ok(())) => {
                let (events, dropped) = self.events.get(&index).cloned().unwrap_or_default();
                // Events that did arrive are facts even when a later wait failed; a quiet GPU
                // whose waits failed was not watched.
                if let (Some(failure), true) = (&self.wait_failure, events.is_empty()) {
                    return failure.to_observed();
                }
                Observed::Ok {
                    value: XidFacts {
                        since: format_rfc3339_utc(self.since),
                        watched_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        events,
                        dropped,
                    },
                }
            }
        }
    }
}
