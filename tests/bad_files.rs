//! Malformed inputs, generated at test time (nothing large is committed): alias bombs, a
//! 100 MB sparse file, binary junk, invalid UTF-8, BOMs, deep nesting, empty files, and every
//! leaf of every `examples/*.yaml` replaced by a value of the wrong type.
//!
//! Each goes through the four ways a user hands modelspec a file:
//!
//! * `modelspec validate FILE`: exit 1 (invalid) or 2 (unreadable), as README's exit code table
//!   says;
//! * `modelspec scan FILE --facts OBS` (a bad spec);
//! * `modelspec scan --facts FILE SPEC` (a bad observation);
//! * `modelspec scan --facts OBS SPEC --waivers FILE` (a bad waiver file);
//!
//! the last three exit 2. Every run must name the file (with `:line:column` where the format
//! has lines), never panic, and finish within a time bound.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

const OBS: &str = "fixtures/demo/observation.json";
const SPEC: &str = "fixtures/demo/demo.modelspec.yaml";
/// Generous for a debug build on a loaded machine; a runaway parse takes far longer.
const TIME_BOUND: Duration = Duration::from_secs(20);

use crate::support::{Cmd, root};

/// A deterministic xorshift stream: "random" bytes that are the same on every run.
fn junk(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn billion_laughs() -> String {
    let mut text = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        .windows(2)
        .map(|w| (w[0], w[1]))
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    text
}

/// Whether the file's content has lines a location can point at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Located {
    /// `NAME:line:column` must appear.
    Yes,
    /// Only the name must appear (a size cap, a directory: there is no line to point at).
    NameOnly,
}

/// The corpus: (file name, bytes, whether every reader can locate the problem).
fn corpus(dir: &Path) -> Vec<(PathBuf, Located)> {
    let mut files: Vec<(&str, Vec<u8>, Located)> = vec![
        ("empty.yaml", Vec::new(), Located::Yes),
        ("bom-only.yaml", vec![0xEF, 0xBB, 0xBF], Located::Yes),
        (
            "bom-then-junk.yaml",
            [&[0xEF, 0xBB, 0xBF][..], b"{[: ,\n"].concat(),
            Located::Yes,
        ),
        ("bom.json", [&[0xEF, 0xBB, 0xBF][..], b"{}"].concat(), Located::Yes),
        ("utf16.yaml", [&[0xFF, 0xFE][..], b"a\0p\0i\0"].concat(), Located::Yes),
        ("nuls.yaml", vec![0; 4096], Located::Yes),
        ("random.yaml", junk(64 * 1024, 0x9E37_79B9_7F4A_7C15), Located::Yes),
        (
            "invalid-utf8.yaml",
            b"apiVersion: piqc.ai/v1alpha1\nkind: Model\xC3\x28Spec\n".to_vec(),
            Located::Yes,
        ),
        ("billion-laughs.yaml", billion_laughs().into_bytes(), Located::Yes),
        ("deep-flow.yaml", "[".repeat(100_000).into_bytes(), Located::Yes),
        (
            "deep-block.yaml",
            (0..400)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>()
                .into_bytes(),
            Located::Yes,
        ),
        ("deep.json", "{\"a\":".repeat(100_000).into_bytes(), Located::Yes),
        ("scalar.yaml", b"just a string\n".to_vec(), Located::Yes),
        ("list.json", b"[1, 2, 3]\n".to_vec(), Located::Yes),
    ];
    let mut out: Vec<(PathBuf, Located)> = files
        .drain(..)
        .map(|(name, bytes, located)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).expect("write corpus file");
            (path, located)
        })
        .collect();
    // 100 MB, sparse: costs no disk, and reading it whole would cost 100 MB of memory.
    let huge = dir.join("huge.yaml");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(100 * 1024 * 1024))
        .expect("sparse file");
    out.push((huge, Located::NameOnly));
    out
}

fn run(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let o = Cmd::new().args(args).output();
    (o, started.elapsed())
}

/// Whether `text` holds `name:LINE:COLUMN` with both numbers.
fn has_location(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let rest = &text[at + name.len()..];
        let mut parts = rest.splitn(3, ':');
        parts.next() == Some("")
            && parts
                .next()
                .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
            && parts
                .next()
                .is_some_and(|c| c.chars().next().is_some_and(|c| c.is_ascii_digit()))
    })
}

/// Runs `args` and checks the contract; answers a line describing the violation, if any.
fn check(args: &[&str], file: &Path, located: Located, expected: &[i32]) -> Option<String> {
    let (o, took) = run(args);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let problem = if out.contains("panicked") {
        Some("panicked".to_owned())
    } else if !o.status.code().is_some_and(|c| expected.contains(&c)) {
        Some(format!("exited {:?}, expected one of {expected:?}", o.status))
    } else if took > TIME_BOUND {
        Some(format!("took {took:?}"))
    } else if !out.contains(name) {
        Some("the output does not name the file".to_owned())
    } else if located == Located::Yes && !has_location(&out, name) {
        Some("no NAME:line:column location".to_owned())
    } else {
        None
    };
    let excerpt: String = out.chars().take(600).collect();
    problem.map(|p| format!("`modelspec {}`: {p}\n{excerpt}", args.join(" ")))
}

fn assert_none(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn the_corpus_through_every_reader_exits_cleanly_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for (file, located) in corpus(dir.path()) {
        let f = file.to_str().expect("UTF-8 path");
        // validate: every corpus file is readable, so invalid (1), never unreadable (2).
        problems.extend(check(&["validate", f], &file, located, &[1]));
        problems.extend(check(&["scan", f, "--facts", OBS], &file, located, &[2]));
        // An observation is JSON: a YAML file is a JSON syntax error at its first byte.
        problems.extend(check(&["scan", "--facts", f, SPEC], &file, located, &[2]));
        problems.extend(check(
            &["scan", "--facts", OBS, SPEC, "--waivers", f],
            &file,
            located,
            &[2],
        ));
    }
    assert_none(problems);
}

#[test]
fn a_missing_file_is_unreadable_for_validate_and_an_error_for_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.yaml");
    let m = missing.to_str().expect("UTF-8 path");
    let mut problems = Vec::new();
    problems.extend(check(&["validate", m], &missing, Located::NameOnly, &[2]));
    problems.extend(check(&["scan", m, "--facts", OBS], &missing, Located::NameOnly, &[2]));
    problems.extend(check(&["scan", "--facts", m, SPEC], &missing, Located::NameOnly, &[2]));
    problems.extend(check(
        &["scan", "--facts", OBS, SPEC, "--waivers", m],
        &missing,
        Located::NameOnly,
        &[2],
    ));
    assert_none(problems);
}

/// JSON pointers of every scalar in `value`.
fn leaves(value: &Json, pointer: String, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                leaves(v, format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Json::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{pointer}/{i}"), out);
            }
        }
        _ => out.push(pointer),
    }
}

/// Every leaf of every example spec, replaced by a mapping (a type no scalar field takes),
/// and every number or boolean by a word: each variant is invalid for `validate` (exit 1) and
/// refused by `scan` (exit 2), with the location of the wrong value.
#[test]
fn every_leaf_of_every_example_with_the_wrong_type_is_refused_where_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 5, "examples: {examples:?}");
    let mut variants: Vec<(PathBuf, String)> = Vec::new();
    for example in &examples {
        let text = std::fs::read_to_string(example).expect("read example");
        let spec: Json = serde_saphyr::from_str(&text).expect("examples parse");
        let mut pointers = Vec::new();
        leaves(&spec, String::new(), &mut pointers);
        let stem = example.file_stem().and_then(|s| s.to_str()).unwrap_or("example");
        for (i, pointer) in pointers.iter().enumerate() {
            let original = spec.pointer(pointer).cloned().unwrap_or(Json::Null);
            let mut wrong = vec![serde_json::json!({"wrong": "type"})];
            if original.is_number() || original.is_boolean() {
                wrong.push(Json::from("not-a-number-or-bool"));
            }
            for (j, value) in wrong.into_iter().enumerate() {
                let mut edited = spec.clone();
                if let Some(slot) = edited.pointer_mut(pointer) {
                    *slot = value;
                }
                // Pretty JSON is YAML too, with one value per line to point at.
                let path = dir.path().join(format!("{stem}-{i}-{j}.modelspec.yaml"));
                std::fs::write(&path, serde_json::to_string_pretty(&edited).expect("JSON")).expect("write");
                variants.push((path, pointer.clone()));
            }
        }
    }
    assert!(variants.len() > 100, "only {} variants", variants.len());
    // Two workers: the machine has few cores and other tests run beside this one.
    let problems: Vec<String> = std::thread::scope(|scope| {
        let halves: Vec<_> = variants
            .chunks(variants.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    let mut problems = Vec::new();
                    for (file, pointer) in chunk {
                        let f = file.to_str().expect("UTF-8 path");
                        for (args, expected) in [(vec!["validate", f], 1), (vec!["scan", f, "--facts", OBS], 2)] {
                            if let Some(p) = check(&args, file, Located::Yes, &[expected]) {
                                problems.push(format!("{pointer}: {p}"));
                            }
                        }
                    }
                    problems
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    });
    assert_none(problems);
}

/// Regression: `--facts` and `--waivers` read the whole file before looking at it, so a 100 MB
/// file cost 100 MB of memory and `/dev/zero` never ended. Both now stop after a cap and say so.
#[test]
fn endless_and_huge_inputs_are_refused_by_a_size_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let huge = dir.path().join("huge.json");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(100 * 1024 * 1024))
        .expect("sparse file");
    let h = huge.to_str().expect("UTF-8 path");
    // A device never ends: it is refused before any byte is read.
    for args in [
        vec!["scan", "--facts", "/dev/zero", SPEC],
        vec!["scan", "--facts", OBS, SPEC, "--waivers", "/dev/zero"],
        vec!["validate", "/dev/zero"],
    ] {
        let (o, took) = run(&args);
        let err = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(took < TIME_BOUND, "{args:?} took {took:?}");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("/dev/zero: is a device, not a file"), "{args:?}: {err}");
    }
    for args in [
        vec!["scan", "--facts", h, SPEC],
        vec!["scan", "--facts", OBS, SPEC, "--waivers", h],
    ] {
        let (o, took) = run(&args);
        let err = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(took < TIME_BOUND, "{args:?} took {took:?}");
        assert!(!err.contains("panicked"), "{err}");
        let expected = if args[0] == "validate" { 1 } else { 2 };
        assert_eq!(o.status.code(), Some(expected), "{args:?}: {err}");
        assert!(err.contains("larger than"), "{args:?} does not say why: {err}");
    }
}

/// Regression: a waiver file's invalid UTF-8 was replaced with U+FFFD and the file accepted;
/// now it is refused at the line and column of the bad byte, as a spec is.
#[test]
fn invalid_utf8_in_a_waiver_file_is_refused_where_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let waivers = dir.path().join("waivers.yaml");
    let text = b"waivers:\n  # owner: J\xE9r\xF4me (Latin-1)\n  - code: accelerator-count\n    \
                 pointer: /spec/runtime/accelerator/count\n    reason: capacity order\n    \
                 owner: ml-platform\n    expires: 2999-12-31\n";
    std::fs::write(&waivers, text).expect("write");
    let w = waivers.to_str().expect("UTF-8 path");
    let (o, _) = run(&["scan", "--facts", OBS, SPEC, "--waivers", w]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("waivers.yaml:2:13"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    // The same file in UTF-8 is accepted: the refusal is about the encoding.
    std::fs::write(&waivers, String::from_utf8_lossy(text).replace('\u{FFFD}', "e")).expect("write");
    let (o, _) = run(&["scan", "--facts", OBS, SPEC, "--waivers", w]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A named pipe nobody writes to would block `open` forever and hang a scheduled scan; every
/// reader of a user-named file refuses it up front, saying what it is.
#[test]
fn a_named_pipe_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "mkfifo is needed in CI");
        eprintln!("skipped: mkfifo failed");
        return;
    }
    let f = fifo.to_str().expect("UTF-8 path");
    let spec = root().join(SPEC);
    let spec = spec.to_str().expect("UTF-8 path");
    let obs = root().join(OBS);
    let obs = obs.to_str().expect("UTF-8 path");
    let cases: [&[&str]; 5] = [
        &["validate", f],
        &["scan", "--facts", f, spec],
        &["scan", "--facts", obs, spec, "--waivers", f],
        // The token is read for live probing only, so this scan probes (nothing is there).
        &[
            "scan",
            spec,
            "--token-file",
            f,
            "--nvml-lib",
            "/nonexistent/libnvidia-ml.so.1",
        ],
        &["metrics", f],
    ];
    for args in cases {
        let (o, took) = run(args);
        let err = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(took < Duration::from_secs(5), "{args:?} waited {took:?} on a pipe");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("named pipe"), "{args:?}: {err}");
        assert!(err.contains("pipe.yaml"), "{args:?} names the file: {err}");
    }
}
