use std::sync::atomic::AtomicUsize;

use super::*;

/// A scanner whose scans take `scan_time` and whose reloads fail while `broken` is set.
struct Fake {
    scan_time: Duration,
    scans: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
    changed: Arc<AtomicBool>,
}

impl Scanner for Fake {
    fn reload(&mut self) -> Result<usize, String> {
        if self.broken.load(Ordering::SeqCst) {
            Err("error: spec.yaml:3:1: broken\n".into())
        } else {
            Ok(2)
        }
    }

    fn changed(&mut self) -> bool {
        self.changed.swap(false, Ordering::SeqCst)
    }

    fn scan(&mut self) -> Result<Pages, String> {
        std::thread::sleep(self.scan_time);
        let n = self.scans.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Pages {
            prom: format!("# TYPE modelspec_fake gauge\nmodelspec_fake {n}\n").into_bytes(),
            ..Pages::default()
        })
    }
}

fn fake(scan_time: Duration) -> (Fake, Arc<AtomicUsize>, Arc<AtomicBool>, Arc<AtomicBool>) {
    let scans = Arc::new(AtomicUsize::new(0));
    let broken = Arc::new(AtomicBool::new(false));
    let changed = Arc::new(AtomicBool::new(false));
    (
        Fake {
            scan_time,
            scans: scans.clone(),
            broken: broken.clone(),
            changed: changed.clone(),
        },
        scans,
        broken,
        changed,
    )
}

fn shared() -> Arc<Shared> {
    let shared = Arc::new(Shared::default());
    {
        let mut state = shared.lock();
        state.duration_buckets = vec![0; DURATION_BUCKETS.len() + 1];
        state.last_reload_ok = true;
        state.documents = 1;
    }
    shared
}

/// Runs the schedule for `run_for`, then stops it.
fn run_schedule(scanner: Fake, shared: &Arc<Shared>, interval: Duration, flags: &Flags, run_for: Duration) {
    let (s, f) = (shared.clone(), flags.clone());
    let thread = std::thread::spawn(move || schedule(scanner, &s, interval, &f));
    std::thread::sleep(run_for);
    flags.stop.store(true, Ordering::SeqCst);
    let _ = thread.join();
}

fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_scan_that_overruns_skips_the_next_tick_and_counts_it() {
    // Scans of 250 ms every 100 ms: never two at once, and each skips two ticks.
    let (scanner, scans, _, _) = fake(Duration::from_millis(250));
    let shared = shared();
    run_schedule(
        scanner,
        &shared,
        Duration::from_millis(100),
        &Flags::default(),
        Duration::from_millis(1_100),
    );
    let state = shared.lock();
    let page = String::from_utf8_lossy(&metrics_page(&state)).to_string();
    let done = scans.load(Ordering::SeqCst) as f64;
    assert!((3.0..=5.0).contains(&done), "{done} scans in 1.1 s of 250 ms scans");
    let skipped = value(&page, "modelspec_serve_skipped_ticks_total").unwrap_or(-1.0);
    assert!(
        skipped >= 2.0 * (done - 1.0),
        "{skipped} skipped after {done} scans\n{page}"
    );
    assert_eq!(
        value(&page, "modelspec_serve_scans_total{result=\"success\"}"),
        Some(done)
    );
    assert_eq!(value(&page, "modelspec_serve_scan_duration_seconds_count"), Some(done));
    assert_eq!(
        value(&page, "modelspec_serve_scan_duration_seconds_bucket{le=\"0.1\"}"),
        Some(0.0)
    );
    assert_eq!(
        value(&page, "modelspec_serve_scan_duration_seconds_bucket{le=\"0.5\"}"),
        Some(done)
    );
    // The report's own series come first, from the last scan.
    assert!(
        page.starts_with("# TYPE modelspec_fake gauge\nmodelspec_fake "),
        "{page}"
    );
}

#[test]
fn a_broken_reload_keeps_the_last_good_specs_and_says_so() {
    let (scanner, scans, broken, changed) = fake(Duration::ZERO);
    let shared = shared();
    let flags = Flags::default();
    broken.store(true, Ordering::SeqCst);
    flags.reload.store(true, Ordering::SeqCst);
    let (s, f) = (shared.clone(), flags.clone());
    let thread = std::thread::spawn(move || schedule(scanner, &s, Duration::from_millis(50), &f));
    std::thread::sleep(Duration::from_millis(400));
    {
        let page = String::from_utf8_lossy(&metrics_page(&shared.lock())).to_string();
        assert_eq!(value(&page, "modelspec_serve_last_reload_success"), Some(0.0), "{page}");
        assert_eq!(
            value(&page, "modelspec_serve_reloads_total{result=\"error\"}"),
            Some(1.0)
        );
        // Still scanning the last good set.
        assert_eq!(value(&page, "modelspec_serve_spec_documents"), Some(1.0));
        assert!(scans.load(Ordering::SeqCst) >= 3);
    }
    // Fixed, and the change noticed (within a second): the new set is scanned.
    broken.store(false, Ordering::SeqCst);
    changed.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1_300));
    flags.stop.store(true, Ordering::SeqCst);
    let _ = thread.join();
    let page = String::from_utf8_lossy(&metrics_page(&shared.lock())).to_string();
    assert_eq!(value(&page, "modelspec_serve_last_reload_success"), Some(1.0), "{page}");
    assert_eq!(
        value(&page, "modelspec_serve_reloads_total{result=\"success\"}"),
        Some(1.0)
    );
    assert_eq!(value(&page, "modelspec_serve_spec_documents"), Some(2.0));
}

#[test]
fn the_metrics_page_is_valid_exposition_before_and_after_a_scan() {
    use modelspec_probe_metrics::{Format, Limits, MetricType, parse};
    let shared = shared();
    let before = String::from_utf8_lossy(&metrics_page(&shared.lock())).to_string();
    let (scanner, _, _, _) = fake(Duration::ZERO);
    run_schedule(
        scanner,
        &shared,
        Duration::from_millis(50),
        &Flags::default(),
        Duration::from_millis(200),
    );
    let after = String::from_utf8_lossy(&metrics_page(&shared.lock())).to_string();
    for page in [&before, &after] {
        let exposition = parse(page, Format::Prometheus, &Limits::default());
        assert!(
            exposition.outcome.errors.is_empty(),
            "{:?}\n{page}",
            exposition.outcome.errors
        );
        let histogram = exposition
            .families
            .iter()
            .find(|f| f.name == "modelspec_serve_scan_duration_seconds")
            .unwrap_or_else(|| panic!("no histogram\n{page}"));
        assert_eq!(histogram.kind, MetricType::Histogram);
        let info = exposition.families.iter().find(|f| f.name == "modelspec_build_info");
        assert!(info.is_some_and(|f| f.samples.len() == 1), "{page}");
    }
    assert!(!before.contains("modelspec_fake"), "no report before the first scan");
    assert_eq!(value(&before, "modelspec_serve_last_scan_success"), Some(0.0));
    assert_eq!(value(&after, "modelspec_serve_last_scan_success"), Some(1.0));
}
