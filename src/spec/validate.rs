//! Validating files: read, decode, load, schema, lint, then resolve `specRef`s across files.
//!
//! Files are independent until their `specRef`s are followed, so validation runs in two
//! phases. The first validates every input file on its own, in parallel. The second follows
//! `specRef`s, loading referenced files that were not among the inputs, and judges each
//! reference with the whole graph in view: a reference inside a cycle is a cycle (not an
//! invalid target), and any other reference to an invalid file is `dependency-spec-invalid`.
//! Strongly connected components give both answers in one linear pass.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::diagnostic::{Diagnostic, Severity};
use super::lint::{self, SpecRef};
use super::model::ModelSpec;
use super::node::{Pos, Span};
use super::regions::{Regions, regions};
use super::yaml::{self, Limits, Syntax};
use super::{de, schema};

/// How to validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Run lints (and follow `specRef`s). Off means schema only, the reference's verdict.
    pub lint: bool,
    /// Warnings make a document invalid.
    pub strict: bool,
    /// Resource caps for loading.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lint: true,
            strict: false,
            limits: Limits::default(),
        }
    }
}

/// Stable codes of file-level problems.
pub mod codes {
    /// The file could not be read.
    pub const IO: &str = "io";
    /// The file is not UTF-8.
    pub const ENCODING: &str = "encoding";
    /// The file holds no YAML document.
    pub const EMPTY: &str = super::yaml::codes::EMPTY;
    /// The file is larger than `--max-file-size`.
    pub const TOO_LARGE: &str = "file-too-large";
    /// The JSON file is not well-formed JSON.
    pub const JSON_SYNTAX: &str = super::yaml::codes::JSON_SYNTAX;
}

/// The findings for one document of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentReport {
    /// 1-based index of the document in its file.
    pub index: usize,
    /// Everything found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl DocumentReport {
    /// Whether the document passes: no errors, and no warnings under `strict`.
    pub fn is_valid(&self, strict: bool) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error || (strict && d.severity == Severity::Warning))
    }
}

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Named on the command line or found in a named directory.
    Input,
    /// Reached only through a `specRef`.
    Referenced,
}

/// Everything found in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The path as the user would write it (`-` is standard input).
    pub path: String,
    /// Input or referenced.
    pub origin: Origin,
    /// Set when the file could not be read at all (exit code 2).
    pub io_error: Option<String>,
    /// One report per document; a file-level problem is reported as document 1.
    pub documents: Vec<DocumentReport>,
    /// The text, kept when there is something to show from it.
    pub text: Option<String>,
}

impl FileReport {
    /// Whether every document passes.
    pub fn is_valid(&self, strict: bool) -> bool {
        self.io_error.is_none() && self.documents.iter().all(|d| d.is_valid(strict))
    }
}

/// One file to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file on disk.
    File(PathBuf),
    /// Standard input, read as YAML.
    Stdin,
}

/// Validates one text on its own: load, schema and lints, no `specRef` resolution. Pure.
pub fn validate_text(text: &str, syntax: Syntax, options: &Options) -> Vec<DocumentReport> {
    validate_text_with_refs(text, syntax, options)
        .into_iter()
        .map(|(d, _)| d)
        .collect()
}

fn validate_text_with_refs(text: &str, syntax: Syntax, options: &Options) -> Vec<(DocumentReport, Vec<SpecRef>)> {
    let docs = yaml::load(text, syntax, &options.limits);
    if docs.is_empty() {
        let pos = Pos {
            line: 1,
            column: 1,
            offset: 0,
        };
        let d = Diagnostic::new(
            codes::EMPTY,
            Severity::Error,
            String::new(),
            Span { start: pos, end: pos },
            "the file holds no YAML document",
        )
        .with_help("a ModelSpec starts with `apiVersion: piqc.ai/v1alpha1` and `kind: ModelSpec`");
        return vec![(
            DocumentReport {
                index: 1,
                diagnostics: vec![d],
            },
            Vec::new(),
        )];
    }
    docs.into_iter()
        .enumerate()
        .map(|(i, doc)| {
            let mut refs = Vec::new();
            let diagnostics = match doc {
                Err(e) => vec![Diagnostic {
                    code: e.code,
                    severity: Severity::Error,
                    pointer: e.pointer,
                    span: e.span,
                    message: e.message,
                    help: e.help,
                }],
                Ok(root) => {
                    let mut diags = schema::validate(&root);
                    if diags.is_empty() && options.lint {
                        match de::from_node::<ModelSpec>(&root) {
                            Ok(spec) => {
                                let (lints, found) = lint::run(&spec, &root);
                                diags = lints;
                                refs = found;
                            }
                            Err(e) => diags.push(Diagnostic::new(
                                "internal",
                                Severity::Error,
                                String::new(),
                                root.span,
                                format!(
                                    "a schema-valid document could not be read into the model: {e}; please report this"
                                ),
                            )),
                        }
                    }
                    diags
                }
            };
            (
                DocumentReport {
                    index: i + 1,
                    diagnostics,
                },
                refs,
            )
        })
        .collect()
}

/// Reads a file under the size cap and decodes it; a problem becomes a diagnostic.
/// Which file a path is, independent of how it was spelled: the device and inode where there
/// are inodes (one `fstat`, much cheaper than resolving a path), else the canonical path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileKey {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

impl FileKey {
    #[cfg(unix)]
    fn of(_path: &Path, meta: &std::fs::Metadata) -> Option<FileKey> {
        use std::os::unix::fs::MetadataExt;
        Some(FileKey::Inode(meta.dev(), meta.ino()))
    }

    #[cfg(not(unix))]
    fn of(path: &Path, _meta: &std::fs::Metadata) -> Option<FileKey> {
        std::fs::canonicalize(path).ok().map(FileKey::Path)
    }

    /// The key of the file at `path`, if it is an existing regular file (symlinks followed).
    fn of_path(path: &Path) -> Option<FileKey> {
        let meta = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
        FileKey::of(path, &meta)
    }
}

/// A file's text (or why it is unusable), and which file it was.
type ReadResult = Result<(Result<String, Box<Diagnostic>>, Option<FileKey>), String>;

fn read_text(input: &Input, syntax: Syntax, limits: &Limits) -> ReadResult {
    let cap = limits.max_file_bytes;
    let mut bytes = Vec::new();
    let mut key = None;
    match input {
        Input::Stdin => {
            std::io::stdin()
                .lock()
                .take(cap.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
        }
        Input::File(path) => {
            let file = modelspec_probe_support::open_regular_file(path).map_err(|e| io_message(path, &e))?;
            let meta = file.metadata().map_err(|e| io_message(path, &e))?;
            if meta.is_dir() {
                return Err(format!("{}: is a directory", path.display()));
            }
            key = FileKey::of(path, &meta);
            // Sized up front: one read for the content and one to see the end.
            bytes.reserve(usize::try_from(meta.len().min(cap)).unwrap_or(0).saturating_add(1));
            file.take(cap.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| io_message(path, &e))?;
        }
    }
    let start = Pos {
        line: 1,
        column: 1,
        offset: 0,
    };
    let here = Span { start, end: start };
    if bytes.len() as u64 > cap {
        return Ok((
            Err(Box::new(
                Diagnostic::new(
                    codes::TOO_LARGE,
                    Severity::Error,
                    String::new(),
                    here,
                    format!("the file is larger than the {} byte limit", cap),
                )
                .with_help(
                    "a ModelSpec is a few KiB; raise the limit with --max-file-size if this one really is that large",
                ),
            )),
            key,
        ));
    }
    Ok((decode(bytes, syntax), key))
}

/// The bytes of the file at `path`, at most `cap` of them: the diagnostic `read_text` gives a
/// spec when it is larger, an error string when it cannot be read. For the other files a scan
/// reads from the user (waivers), so that a 100 MB file is refused after `cap + 1` bytes instead
/// of being read whole.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Result<Vec<u8>, Box<Diagnostic>>, String> {
    let file = modelspec_probe_support::open_regular_file(path).map_err(|e| io_message(path, &e))?;
    let meta = file.metadata().map_err(|e| io_message(path, &e))?;
    if meta.is_dir() {
        return Err(format!("{}: is a directory", path.display()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(cap)).unwrap_or(0).saturating_add(1));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_message(path, &e))?;
    if bytes.len() as u64 > cap {
        let start = Pos {
            line: 1,
            column: 1,
            offset: 0,
        };
        return Ok(Err(Box::new(Diagnostic::new(
            codes::TOO_LARGE,
            Severity::Error,
            String::new(),
            Span { start, end: start },
            format!("the file is larger than the {cap} byte limit"),
        ))));
    }
    Ok(Ok(bytes))
}

fn io_message(path: &Path, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    format!("{}: {what}", path.display())
}

/// UTF-8 (an optional BOM is dropped); anything else is a diagnostic at the first bad byte.
///
/// JSON is the exception for the BOM: RFC 8259 forbids writing one and Python's `json.loads`,
/// the standard's reader for `.json` files, rejects it, so we do too.
pub(crate) fn decode(mut bytes: Vec<u8>, syntax: Syntax) -> Result<String, Box<Diagnostic>> {
    let start = Pos {
        line: 1,
        column: 1,
        offset: 0,
    };
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        if syntax == Syntax::Json {
            return Err(Box::new(
                Diagnostic::new(
                    codes::JSON_SYNTAX,
                    Severity::Error,
                    String::new(),
                    Span { start, end: start },
                    "a JSON file must not start with a byte order mark",
                )
                .with_help("save the file as UTF-8 without BOM"),
            ));
        }
        bytes.drain(..3);
    }
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    if utf16 {
        return Err(Box::new(
            Diagnostic::new(
                codes::ENCODING,
                Severity::Error,
                String::new(),
                Span { start, end: start },
                "the file is UTF-16 encoded",
            )
            .with_help("save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let pos = Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            offset: valid,
        };
        let byte = e.as_bytes().get(valid).copied().unwrap_or(0);
        Box::new(
            Diagnostic::new(
                codes::ENCODING,
                Severity::Error,
                String::new(),
                Span { start: pos, end: pos },
                format!("the file is not valid UTF-8 (byte 0x{byte:02X} at byte offset {valid})"),
            )
            .with_help("ModelSpec files must be UTF-8; convert it, e.g. `iconv -f LATIN1 -t UTF-8`"),
        )
    })
}

/// The typed documents of a text that validated cleanly (see [`validate_text`]); documents
/// that do not load or fail the schema are left out.
pub fn typed_documents(text: &str, syntax: Syntax, limits: &Limits) -> Vec<(usize, ModelSpec)> {
    typed_with(text, syntax, limits, |document, spec, _| (document, spec))
}

/// Each document that loads, passes the schema and deserializes, as `make(number, spec, root)`
/// makes it (`number` 1-based).
fn typed_with<T>(
    text: &str,
    syntax: Syntax,
    limits: &Limits,
    make: impl Fn(usize, ModelSpec, &super::node::Node) -> T,
) -> Vec<T> {
    yaml::load(text, syntax, limits)
        .into_iter()
        .enumerate()
        .filter_map(|(i, doc)| {
            let root = doc.ok()?;
            if !schema::validate(&root).is_empty() {
                return None;
            }
            let spec = de::from_node::<ModelSpec>(&root).ok()?;
            Some(make(i + 1, spec, &root))
        })
        .collect()
}

/// A typed document of a spec file, with where each of its values starts.
#[derive(Debug, Clone)]
pub struct LocatedSpec {
    /// 1-based document number in the file.
    pub document: usize,
    /// The typed spec.
    pub spec: ModelSpec,
    /// Where each JSON pointer's value starts, for renderers that point into the file.
    pub regions: Regions,
}

/// [`typed_documents`] and each one's [`Regions`], from one load of the text.
pub fn located_documents(text: &str, syntax: Syntax, limits: &Limits) -> Vec<LocatedSpec> {
    typed_with(text, syntax, limits, |document, spec, root| LocatedSpec {
        document,
        spec,
        regions: regions(root),
    })
}

/// `.json` files are JSON; everything else is YAML.
pub fn syntax_for(path: &Path) -> Syntax {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => Syntax::Json,
        _ => Syntax::Yaml,
    }
}

/// A file after phase one.
struct Processed {
    report: FileReport,
    /// `specRef`s per document index (0-based).
    refs: Vec<(usize, SpecRef)>,
    /// Which file it was, to recognise it when a `specRef` names it again.
    key: Option<FileKey>,
}

fn process(input: &Input, display: String, origin: Origin, options: &Options) -> Processed {
    let mut report = FileReport {
        path: display,
        origin,
        io_error: None,
        documents: Vec::new(),
        text: None,
    };
    let mut refs = Vec::new();
    let syntax = match input {
        Input::File(p) => syntax_for(p),
        Input::Stdin => Syntax::Yaml,
    };
    let mut key = None;
    match read_text(input, syntax, &options.limits) {
        Err(io) => report.io_error = Some(io),
        Ok((Err(diag), k)) => {
            key = k;
            report.documents.push(DocumentReport {
                index: 1,
                diagnostics: vec![*diag],
            });
        }
        Ok((Ok(text), k)) => {
            key = k;
            for (doc, doc_refs) in validate_text_with_refs(&text, syntax, options) {
                refs.extend(doc_refs.into_iter().map(|r| (doc.index - 1, r)));
                report.documents.push(doc);
            }
            report.text = Some(text);
        }
    }
    Processed { report, refs, key }
}

/// Validates files: every input, plus every file their `specRef`s reach (when linting).
pub fn validate_inputs(inputs: &[Input], options: &Options) -> Vec<FileReport> {
    let mut processed = process_parallel(inputs, options);
    if options.lint {
        resolve_references(&mut processed, inputs, options);
    }
    processed
        .into_iter()
        .map(|mut p| {
            if p.report.documents.iter().all(|d| d.diagnostics.is_empty()) {
                p.report.text = None;
            }
            for doc in &mut p.report.documents {
                doc.diagnostics
                    .sort_by_key(|d| (d.span.start.line, d.span.start.column));
            }
            p.report
        })
        .collect()
}

fn display_of(input: &Input) -> String {
    match input {
        Input::File(p) => p.display().to_string(),
        Input::Stdin => "-".to_string(),
    }
}

fn process_parallel(inputs: &[Input], options: &Options) -> Vec<Processed> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(inputs.len())
        .max(1);
    if workers == 1 {
        return inputs
            .iter()
            .map(|i| process(i, display_of(i), Origin::Input, options))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Processed>> = std::iter::repeat_with(|| None).take(inputs.len()).collect();
    let results: Vec<Vec<(usize, Processed)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else { break };
                        done.push((i, process(input, display_of(input), Origin::Input, options)));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    for (i, p) in results.into_iter().flatten() {
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(p);
        }
    }
    // A worker that panicked leaves its slots empty; validate those again here so that the
    // panic surfaces rather than silently dropping files.
    slots
        .into_iter()
        .zip(inputs)
        .map(|(slot, input)| slot.unwrap_or_else(|| process(input, display_of(input), Origin::Input, options)))
        .collect()
}

/// Removes `.` and folds `..` without touching the file system, for display.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let at_parent = matches!(out.components().next_back(), None | Some(Component::ParentDir));
                if at_parent {
                    out.push("..");
                } else {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// An edge of the reference graph: document `doc` of file `from` refers to file `to`.
struct Edge {
    from: usize,
    doc: usize,
    reference: SpecRef,
    to: usize,
}

fn resolve_references(files: &mut Vec<Processed>, inputs: &[Input], options: &Options) {
    if files.iter().all(|f| f.refs.is_empty()) {
        return;
    }
    // Files by identity, so a file reached twice (or by two spellings) is validated once.
    let mut by_key: HashMap<FileKey, usize> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        if let Some(key) = &f.key {
            by_key.entry(key.clone()).or_insert(i);
        }
    }
    let mut location: Vec<Option<PathBuf>> = inputs
        .iter()
        .map(|input| match input {
            Input::File(p) => Some(p.clone()),
            Input::Stdin => None,
        })
        .collect();
    let mut edges: Vec<Edge> = Vec::new();
    let mut cursor = 0;
    while cursor < files.len() {
        let refs = std::mem::take(&mut files[cursor].refs);
        let base = location
            .get(cursor)
            .and_then(|p| p.as_ref())
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        for (doc, reference) in refs {
            let target = base.join(&reference.target);
            let Some(key) = FileKey::of_path(&target) else {
                let d = Diagnostic::new(
                    lint::DEPENDENCY_SPEC_MISSING,
                    Severity::Warning,
                    reference.pointer.clone(),
                    reference.span,
                    format!(
                        "specRef `{}` names no file (looked for {})",
                        reference.target,
                        normalize(&target).display()
                    ),
                )
                .with_help("specRef is resolved relative to the folder of the spec that contains it");
                push_diag(files, cursor, doc, d);
                continue;
            };
            let to = match by_key.get(&key) {
                Some(&i) => i,
                None => {
                    let shown = normalize(&target);
                    let p = process(
                        &Input::File(shown.clone()),
                        shown.display().to_string(),
                        Origin::Referenced,
                        options,
                    );
                    files.push(p);
                    location.push(Some(shown));
                    let i = files.len() - 1;
                    by_key.insert(key, i);
                    i
                }
            };
            edges.push(Edge {
                from: cursor,
                doc,
                reference,
                to,
            });
        }
        cursor += 1;
    }
    judge_references(files, &edges, options.strict);
}

/// Decides, component by component from the leaves up, which references are cycles and which
/// point at invalid files.
fn judge_references(files: &mut [Processed], edges: &[Edge], strict: bool) {
    let n = files.len();
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, e) in edges.iter().enumerate() {
        out_edges[e.from].push(i);
    }
    let targets: Vec<Vec<usize>> = out_edges
        .iter()
        .map(|es| es.iter().map(|&e| edges[e].to).collect())
        .collect();
    let components = strongly_connected(&targets);
    let mut component_of = vec![0usize; n];
    for (c, members) in components.iter().enumerate() {
        for &m in members {
            component_of[m] = c;
        }
    }
    let mut valid = vec![true; n];
    // Tarjan's algorithm emits components leaves first, so every target outside a component
    // is judged before the files that refer to it.
    for members in &components {
        for &file in members {
            for &e in &out_edges[file] {
                let edge = &edges[e];
                let d = if component_of[edge.to] == component_of[file] {
                    let path = cycle_path(&targets, &component_of, edge.to, file)
                        .into_iter()
                        .map(|i| files[i].report.path.clone())
                        .collect::<Vec<_>>();
                    Diagnostic::new(
                        lint::DEPENDENCY_CYCLE,
                        Severity::Error,
                        edge.reference.pointer.clone(),
                        edge.reference.span,
                        format!(
                            "specRef `{}` leads back to this spec: {} -> {}",
                            edge.reference.target,
                            files[file].report.path,
                            path.join(" -> ")
                        ),
                    )
                    .with_help("dependencies must form a tree; remove one of the references")
                } else if !valid[edge.to] {
                    let target = &files[edge.to].report;
                    Diagnostic::new(
                        lint::DEPENDENCY_SPEC_INVALID,
                        Severity::Error,
                        edge.reference.pointer.clone(),
                        edge.reference.span,
                        format!(
                            "specRef `{}` names an invalid spec: {}",
                            edge.reference.target,
                            first_problem(target, strict)
                        ),
                    )
                    .with_help(format!("fix {} (its findings are listed with it)", target.path))
                } else {
                    continue;
                };
                push_diag(files, file, edge.doc, d);
            }
        }
        for &file in members {
            valid[file] = files[file].report.is_valid(strict);
        }
    }
}

fn first_problem(report: &FileReport, strict: bool) -> String {
    if let Some(io) = &report.io_error {
        return io.clone();
    }
    report
        .documents
        .iter()
        .flat_map(|d| &d.diagnostics)
        .find(|d| d.severity == Severity::Error || strict)
        .map(|d| format!("{} at line {} ({})", d.message, d.span.start.line, d.code))
        .unwrap_or_else(|| "it has errors".to_string())
}

fn push_diag(files: &mut [Processed], file: usize, doc: usize, d: Diagnostic) {
    if let Some(report) = files.get_mut(file).and_then(|f| f.report.documents.get_mut(doc)) {
        report.diagnostics.push(d);
    }
}

/// Shortest path from `from` to `to` inside one component, both ends included.
fn cycle_path(targets: &[Vec<usize>], component_of: &[usize], from: usize, to: usize) -> Vec<usize> {
    let mut previous: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = std::collections::HashSet::from([from]);
    while let Some(at) = queue.pop_front() {
        if at == to {
            let mut path = vec![to];
            let mut cur = to;
            while let Some(&p) = previous.get(&cur) {
                path.push(p);
                cur = p;
            }
            path.reverse();
            return path;
        }
        for &next in &targets[at] {
            if component_of[next] == component_of[from] && seen.insert(next) {
                previous.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    vec![from]
}

/// Tarjan's strongly connected components, iteratively (no recursion on input-sized graphs).
/// Components come out in reverse topological order: leaves first.
fn strongly_connected(targets: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = targets.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // Each frame: node and the position of the next edge to explore.
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut edge)) = work.last_mut() {
            if let Some(&w) = targets[v].get(*edge) {
                *edge += 1;
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_come_leaves_first() {
        // 0 -> 1 -> 2 -> 1, 2 -> 3
        let g = vec![vec![1], vec![2], vec![1, 3], vec![]];
        let c = strongly_connected(&g);
        let pos = |n: usize| c.iter().position(|m| m.contains(&n)).unwrap();
        assert_eq!(c.len(), 3);
        assert!(pos(3) < pos(1));
        assert!(pos(1) < pos(0));
        assert_eq!(pos(1), pos(2));
    }

    #[test]
    fn deep_chains_do_not_recurse() {
        let n = 200_000;
        let g: Vec<Vec<usize>> = (0..n).map(|i| if i + 1 < n { vec![i + 1] } else { vec![] }).collect();
        assert_eq!(strongly_connected(&g).len(), n);
    }

    #[test]
    fn paths_are_normalized_for_display() {
        assert_eq!(normalize(Path::new("a/./b/../c.yaml")), PathBuf::from("a/c.yaml"));
        assert_eq!(normalize(Path::new("./x.yaml")), PathBuf::from("x.yaml"));
        assert_eq!(normalize(Path::new("../x.yaml")), PathBuf::from("../x.yaml"));
        assert_eq!(normalize(Path::new("../../x.yaml")), PathBuf::from("../../x.yaml"));
        assert_eq!(normalize(Path::new("a/../x.yaml")), PathBuf::from("x.yaml"));
    }

    #[test]
    fn non_utf8_is_located() {
        let err = decode(b"a: 1\nb: \xff\n".to_vec(), Syntax::Yaml).unwrap_err();
        assert_eq!((err.span.start.line, err.span.start.column), (2, 4));
        assert_eq!(err.code, codes::ENCODING);
        assert!(decode(b"\xEF\xBB\xBFa: 1".to_vec(), Syntax::Yaml).is_ok_and(|t| t == "a: 1"));
        assert!(decode(b"\xFF\xFEa\0".to_vec(), Syntax::Yaml).is_err());
        let json_bom = decode(b"\xEF\xBB\xBF{}".to_vec(), Syntax::Json).unwrap_err();
        assert_eq!(json_bom.code, codes::JSON_SYNTAX);
    }
}
