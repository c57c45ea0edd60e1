//! Reading YAML (and JSON) text into [`Node`] trees, one per document, with limits.
//!
//! The syntax is parsed by `granit-parser`, the event parser underneath `serde-saphyr`, on
//! which we depend directly: nothing here deserializes through serde, so serde-saphyr is only
//! a dev-dependency (tests read YAML into serde values with it). We build the tree ourselves instead of
//! deserializing through serde because the tree must keep spans and scalar styles, and
//! because scalar typing must follow PyYAML's YAML 1.1 rules (see [`scalar`]) rather than
//! YAML 1.2's. The builder is iterative, so hostile nesting cannot overflow the stack, and
//! every resource an input can make us spend is capped by [`Limits`].
//!
//! Where PyYAML rejects input that a YAML 1.2 parser accepts (tabs outside quoted text,
//! non-printable characters, a bare `=`), we reject it too: the standard's validator would.

pub mod scalar;

use std::collections::HashMap;

use granit_parser::{ErrorKind, Event, Marker, Parser, ScalarStyle, Span as ParserSpan, Tag};

use self::scalar::Scalar;
use super::node::{Entry, Foreign, Int, Node, Pos, Span, Value, push_pointer};

/// Caps on what one input may make the loader spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: u64,
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes in one file, counting every copy an alias makes.
    pub max_nodes: usize,
    /// Most aliases (`*name`) in one file.
    pub max_aliases: usize,
    /// Most documents in one file.
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_nodes: 250_000,
            max_aliases: 10_000,
            max_documents: 1_000,
        }
    }
}

/// Which rules turn plain scalars into values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// YAML, typed as PyYAML's `SafeLoader` types it.
    Yaml,
    /// JSON: only `true`, `false`, `null` and numbers are unquoted.
    Json,
}

/// Why a document could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    /// Stable diagnostic code (`yaml-syntax`, `yaml-duplicate-key`, ...).
    pub code: &'static str,
    /// What went wrong, in words.
    pub message: String,
    /// Where.
    pub span: Span,
    /// JSON pointer of the node concerned, when the error is inside the document.
    pub pointer: String,
    /// What to do about it, when we know.
    pub help: Option<String>,
}

impl LoadError {
    fn new(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        LoadError {
            code,
            message: message.into(),
            span,
            pointer: String::new(),
            help: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Stable codes of load errors.
pub mod codes {
    /// The text is not well-formed YAML (or JSON), or uses syntax PyYAML rejects.
    pub const SYNTAX: &str = "yaml-syntax";
    /// A mapping repeats a key.
    pub const DUPLICATE_KEY: &str = "yaml-duplicate-key";
    /// An input exceeded a [`super::Limits`] cap.
    pub const LIMIT: &str = "yaml-limit";
    /// A tag the safe loader does not construct, or a tag on the wrong kind of node.
    pub const TAG: &str = "yaml-tag";
    /// A value recognised as typed that cannot be built (`2024-02-30`, `0x_`, `<<: 5`).
    pub const VALUE: &str = "yaml-value";
    /// A document with no content.
    pub const EMPTY: &str = "empty-document";
    /// A `.json` file that is not well-formed JSON.
    pub const JSON_SYNTAX: &str = "json-syntax";
}

/// One document of a stream: its root, or why it could not be loaded.
pub type DocumentResult = Result<Node, LoadError>;

/// Loads every document of `text`. Documents before a syntax error are kept; the error ends
/// the stream, since nothing after it can be trusted.
pub fn load(text: &str, syntax: Syntax, limits: &Limits) -> Vec<DocumentResult> {
    if let Some(err) = find_unprintable(text) {
        return vec![Err(err)];
    }
    // The rewrites below keep every character's position, so spans still point into the
    // user's text; they only run when the text needs them.
    let mut text = std::borrow::Cow::Borrowed(text);
    if syntax == Syntax::Yaml && text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        text = std::borrow::Cow::Owned(normalize_line_breaks(&text));
    }
    if let Some(rewritten) = neutralize_lone_surrogates(&text) {
        text = std::borrow::Cow::Owned(rewritten);
    }
    if syntax == Syntax::Json
        && let Err(err) = check_json(&text)
    {
        return vec![Err(err)];
    }
    // PyYAML reads `"x"#c` and `[x]#c` as a value and a comment; YAML 1.2 wants a space first.
    // Each such comment is blanked out and the text parsed again (a few times at most).
    for _ in 0..MAX_REPARSES {
        match parse(&text, syntax, limits) {
            Parsed::Done(docs) => return docs,
            Parsed::UnseparatedComment(offset) => match blank_comment(&text, offset) {
                Some(fixed) => text = std::borrow::Cow::Owned(fixed),
                None => break,
            },
        }
    }
    match parse(&text, syntax, limits) {
        Parsed::Done(docs) => docs,
        Parsed::UnseparatedComment(offset) => {
            let pos = offset_pos(&text, offset);
            vec![Err(LoadError::new(
                codes::SYNTAX,
                "comments must be separated from other tokens by whitespace",
                Span { start: pos, end: pos },
            ))]
        }
    }
}

/// JSON is read by the YAML parser (for spans) with JSON's typing, but only once it is known
/// to be JSON: the strict syntax check comes from `serde_json`. Like Python's `json.loads`
/// (the standard's reader for `.json`), we accept `NaN`, `Infinity` and `-Infinity`.
fn check_json(text: &str) -> Result<(), LoadError> {
    let standard = replace_json_extensions(text);
    let checked = standard.as_deref().unwrap_or(text);
    serde_json::from_str::<serde::de::IgnoredAny>(checked)
        .map(drop)
        .map_err(|e| {
            let offset = checked
                .split_inclusive('\n')
                .take(e.line().saturating_sub(1))
                .map(str::len)
                .sum::<usize>();
            let pos = Pos {
                line: u32::try_from(e.line().max(1)).unwrap_or(u32::MAX),
                column: u32::try_from(e.column().max(1)).unwrap_or(u32::MAX),
                offset,
            };
            let full = e.to_string();
            let message = full.rsplit_once(" at line ").map_or(full.as_str(), |(m, _)| m);
            LoadError::new(codes::JSON_SYNTAX, message, Span { start: pos, end: pos })
                .with_help("JSON allows no comments, trailing commas or unquoted keys; or save the file as .yaml")
        })
}

/// `NaN`, `Infinity`, `-Infinity` outside strings, swapped for same-length standard numbers so
/// that serde_json checks the rest; `None` when there are none.
fn replace_json_extensions(text: &str) -> Option<String> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    let mut changed = false;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some((word, number)) = [("NaN", "0.0"), ("Infinity", "1.0e+300")]
            .into_iter()
            .find(|(w, _)| rest.starts_with(w))
        {
            out.push_str(number);
            rest = &rest[word.len()..];
            changed = true;
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    changed.then_some(out)
}

/// How many unseparated comments one file may have before we stop rewriting it.
const MAX_REPARSES: usize = 16;

enum Parsed {
    Done(Vec<DocumentResult>),
    /// The parser stopped at a `#` glued to the previous token, at this byte offset.
    UnseparatedComment(usize),
}

fn parse(text: &str, syntax: Syntax, limits: &Limits) -> Parsed {
    let mut builder = Builder::new(text, syntax, limits);
    let mut docs = Vec::new();
    let options = granit_parser::options! { emit_anchor_events: syntax == Syntax::Yaml };
    let parser = Parser::new_from_str_with_options(text, options);
    for next in parser {
        match next {
            Ok((event, span)) => match builder.event(event, span).map_err(|e| builder.locate(e)) {
                Ok(Some(doc)) => {
                    docs.push(Ok(doc));
                    if docs.len() > limits.max_documents {
                        docs.push(Err(LoadError::new(
                            codes::LIMIT,
                            format!("more than {} documents in one file", limits.max_documents),
                            convert_span(&span),
                        )));
                        break;
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    docs.push(Err(err));
                    break;
                }
            },
            Err(err) => {
                let pos = marker_pos(err.marker());
                if matches!(err.kind(), ErrorKind::CommentNotSeparated) && syntax == Syntax::Yaml {
                    return Parsed::UnseparatedComment(pos.offset);
                }
                docs.push(Err(LoadError::new(
                    codes::SYNTAX,
                    syntax_message(&err.to_string()),
                    Span { start: pos, end: pos },
                )));
                break;
            }
        }
    }
    if syntax == Syntax::Yaml
        && let Some(tab) = first_misplaced_tab(text, &builder.scalar_spans)
    {
        // PyYAML stops at whichever problem comes first in the text.
        let first_error = docs.iter().find_map(|d| d.as_ref().err()).map(|e| e.span.start.offset);
        if first_error.is_none_or(|offset| tab.span.start.offset < offset) {
            return Parsed::Done(vec![Err(tab)]);
        }
    }
    Parsed::Done(docs)
}

/// Replaces the comment starting at `offset` (a `#` right after a quote or a closing bracket)
/// with spaces up to the end of its line, or says it cannot.
fn blank_comment(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let before = text.get(..offset)?.chars().next_back()?;
    if !rest.starts_with('#') || !matches!(before, '"' | '\'' | ']' | '}') {
        return None;
    }
    let end = rest.find(['\n', '\r']).map_or(text.len(), |i| offset + i);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..offset]);
    out.extend(text[offset..end].chars().map(|_| ' '));
    out.push_str(&text[end..]);
    Some(out)
}

fn offset_pos(text: &str, offset: usize) -> Pos {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        offset,
    }
}

/// Python strings may hold lone UTF-16 surrogates, so PyYAML and `json.loads` accept
/// `"\ud800"`; Rust strings cannot. Each `\uD800`-style escape that is not half of a pair is
/// rewritten to `\uFFFD` (same length), which keeps the verdict: it is a string either way.
fn neutralize_lone_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let hex_at = |at: usize, len: usize| -> Option<u32> {
        let digits = text.get(at..at + len)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    };
    let is_high = |v: u32| (0xD800..=0xDBFF).contains(&v);
    let is_surrogate = |v: u32| (0xD800..=0xDFFF).contains(&v);
    let mut edits: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'u' => match hex_at(i + 2, 4) {
                Some(v) if is_high(v) && bytes.get(i + 6) == Some(&b'\\') && bytes.get(i + 7) == Some(&b'u') => {
                    match hex_at(i + 8, 4) {
                        Some(low) if (0xDC00..=0xDFFF).contains(&low) => i += 12,
                        _ => {
                            edits.push((i + 2, 4));
                            i += 6;
                        }
                    }
                }
                Some(v) if is_surrogate(v) => {
                    edits.push((i + 2, 4));
                    i += 6;
                }
                _ => i += 2,
            },
            b'U' => match hex_at(i + 2, 8) {
                Some(v) if is_surrogate(v) => {
                    edits.push((i + 2, 8));
                    i += 10;
                }
                _ => i += 2,
            },
            _ => i += 2,
        }
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = text.to_string();
    for (at, len) in edits {
        let replacement = if len == 4 { "FFFD" } else { "0000FFFD" };
        out.replace_range(at..at + len, replacement);
    }
    Some(out)
}

/// YAML 1.1 (and so PyYAML) also breaks lines at NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR,
/// which YAML 1.2 reads as ordinary characters. `kind: ModelSpec<LS>` is `ModelSpec` to the
/// reference validator, so it must be to us. The replacement keeps one character per character,
/// so line and column numbers match what PyYAML reports.
fn normalize_line_breaks(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') {
                '\n'
            } else {
                c
            }
        })
        .collect()
}

/// PyYAML's anchor and alias names: ASCII letters, digits, `-` and `_` only.
fn valid_anchor_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The scanner's message without its own "at char N line L column C" suffix: we print the
/// position ourselves.
fn syntax_message(full: &str) -> String {
    match full.rfind(" at char ") {
        Some(i) => full[..i].to_string(),
        None => full.to_string(),
    }
}

fn marker_pos(m: &Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        offset: m.byte_offset().unwrap_or(0),
    }
}

fn convert_span(s: &ParserSpan) -> Span {
    Span {
        start: marker_pos(&s.start),
        end: marker_pos(&s.end),
    }
}

/// PyYAML refuses the whole stream if any character is outside its printable set, even in a
/// comment or a quoted string.
fn find_unprintable(text: &str) -> Option<LoadError> {
    let printable = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}');
    if text.chars().all(printable) {
        return None;
    }
    let (mut line, mut column) = (1u32, 1u32);
    for (offset, c) in text.char_indices() {
        if !printable(c) {
            let pos = Pos { line, column, offset };
            return Some(
                LoadError::new(
                    codes::SYNTAX,
                    format!("unacceptable character U+{:04X}", u32::from(c)),
                    Span { start: pos, end: pos },
                )
                .with_help("remove the control character; YAML allows only printable characters"),
            );
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    None
}

/// Tabs: YAML 1.1 as PyYAML reads it allows a tab only inside quoted or block scalars and in
/// comments; anywhere else it stops with "found character '\t' that cannot start any token".
fn first_misplaced_tab(text: &str, scalars: &[(usize, usize, ScalarStyle)]) -> Option<LoadError> {
    if !text.contains('\t') {
        return None;
    }
    let mut sorted: Vec<(usize, usize, ScalarStyle)> = scalars.to_vec();
    sorted.sort_by_key(|s| s.0);
    let inside = |offset: usize| -> Option<(usize, usize, ScalarStyle)> {
        let idx = sorted.partition_point(|s| s.0 <= offset);
        let s = *sorted.get(idx.checked_sub(1)?)?;
        (offset >= s.0 && offset < s.1).then_some(s)
    };
    let mut line_start = 0usize;
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        let mut in_comment = false;
        for (column, (i, c)) in (1u32..).zip(line.char_indices()) {
            let offset = line_start + i;
            if c == '#' && !in_comment && inside(offset).is_none() {
                in_comment = true;
            }
            if c == '\t' && !in_comment {
                let allowed = match inside(offset) {
                    Some((_, _, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)) => true,
                    // In a block scalar a tab is content, unless it sits in the indentation.
                    Some((_, _, ScalarStyle::Literal | ScalarStyle::Folded)) => !line[..i].chars().all(|ch| ch == ' '),
                    _ => false,
                };
                if !allowed {
                    let pos = Pos {
                        line: line_no,
                        column,
                        offset,
                    };
                    return Some(
                        LoadError::new(codes::SYNTAX, "tab character outside a quoted string", Span { start: pos, end: pos })
                            .with_help("use spaces: YAML 1.1 (and the ModelSpec reference validator) accepts tabs only inside quoted strings, block scalars and comments"),
                    );
                }
            }
        }
        line_start += line.len();
    }
    None
}

/// A collection being built.
enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
        tag: CollectionTag,
    },
    Map {
        entries: Vec<Entry>,
        pending_key: Option<Node>,
        start: Span,
        anchor: usize,
        tag: CollectionTag,
        /// Keys that were merge keys (`<<`), by entry index; expanded when the mapping closes.
        merges: Vec<usize>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CollectionTag {
    Default,
    Set,
    Pairs,
}

struct Builder<'a> {
    text: &'a str,
    syntax: Syntax,
    limits: &'a Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    aliases: usize,
    root: Option<Node>,
    /// Documents started so far.
    documents: usize,
    /// Byte ranges and styles of every scalar, for the tab rule.
    scalar_spans: Vec<(usize, usize, ScalarStyle)>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, syntax: Syntax, limits: &'a Limits) -> Self {
        Builder {
            text,
            syntax,
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            aliases: 0,
            root: None,
            documents: 0,
            scalar_spans: Vec::new(),
        }
    }

    /// Fills in the pointer of an error raised while building, from the open collections.
    fn locate(&self, mut err: LoadError) -> LoadError {
        if err.pointer.is_empty() {
            err.pointer = self.pointer();
        }
        err
    }

    /// The pointer of the node being built: the open collections, and the pending key.
    fn pointer(&self) -> String {
        let mut p = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => push_pointer(&mut p, &items.len().to_string()),
                Frame::Map {
                    pending_key: Some(k), ..
                } => push_pointer(&mut p, &k.key_token()),
                Frame::Map { .. } => {}
            }
        }
        p
    }

    fn count_nodes(&mut self, n: usize, span: Span) -> Result<(), LoadError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(LoadError::new(
                codes::LIMIT,
                format!(
                    "more than {} nodes (aliases count every copy they make)",
                    self.limits.max_nodes
                ),
                span,
            )
            .with_help("a ModelSpec is small; this input looks generated or hostile"));
        }
        Ok(())
    }

    /// Feeds one event; returns a finished document root when one completes.
    fn event(&mut self, event: Event<'_>, pspan: ParserSpan) -> Result<Option<Node>, LoadError> {
        let span = convert_span(&pspan);
        match event {
            Event::StreamStart | Event::StreamEnd => Ok(None),
            Event::Anchor(_, name) => {
                if valid_anchor_name(&name) {
                    Ok(None)
                } else {
                    Err(LoadError::new(
                        codes::SYNTAX,
                        format!("anchor name `{name}` has characters YAML 1.1 does not allow"),
                        span,
                    )
                    .with_help("use only ASCII letters, digits, '-' and '_' in anchor names"))
                }
            }
            Event::DocumentStart(explicit, _) => {
                self.documents += 1;
                if !explicit && self.documents > 1 {
                    // YAML 1.2 allows a bare document after `...`; YAML 1.1 wants `---` first.
                    return Err(
                        LoadError::new(codes::SYNTAX, "a document after `...` must start with `---`", span)
                            .with_help("add a `---` line before this document"),
                    );
                }
                self.root = None;
                self.anchors.clear();
                Ok(None)
            }
            Event::DocumentEnd => Ok(Some(match self.root.take() {
                Some(root) => root,
                None => {
                    return Err(LoadError::new(codes::EMPTY, "the document is empty", span));
                }
            })),
            Event::Alias(id) => {
                self.aliases += 1;
                if self.aliases > self.limits.max_aliases {
                    return Err(LoadError::new(
                        codes::LIMIT,
                        format!("more than {} aliases", self.limits.max_aliases),
                        span,
                    ));
                }
                let Some(size) = self.anchors.get(&id).map(count_tree) else {
                    return Err(LoadError::new(
                        codes::SYNTAX,
                        "alias refers to an anchor that is not complete yet (a recursive alias)",
                        span,
                    ));
                };
                // Charge the copy against the node budget before making it: alias bombs stop here.
                self.count_nodes(size, span)?;
                let Some(mut copy) = self.anchors.get(&id).cloned() else {
                    return Ok(None);
                };
                copy.span = span;
                self.place(copy, false).map(|()| None)
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(range) = pspan.byte_range() {
                    self.scalar_spans.push((range.start, range.end, style));
                }
                self.count_nodes(1, span)?;
                // granit reports an empty plain scalar as "~" with an empty span.
                let empty = style == ScalarStyle::Plain && pspan.is_empty();
                if empty && self.expecting_key() && !self.after_explicit_key_indicator(span.start.offset) {
                    // YAML 1.2 allows `{: v}`; PyYAML wants a key before `:` unless `?` says it is empty.
                    return Err(
                        LoadError::new(codes::SYNTAX, "a mapping key is missing before `:`", span)
                            .with_help("write the key, or quote an empty one: '': value"),
                    );
                }
                let text: &str = if empty { "" } else { &text };
                let tag_at = pspan.tag_span().map_or(span, |t| convert_span(&t));
                let resolved = self.resolve_scalar(text, style, tag.as_deref(), span, tag_at)?;
                let (value, is_merge_key) = match resolved {
                    Scalar::Value(value) => (value, false),
                    special @ (Scalar::MergeKey | Scalar::ValueKey) => {
                        // PyYAML has no constructor for these two tags: they work as keys only.
                        let (spelled, what) = match special {
                            Scalar::MergeKey => ("<<", "merge key"),
                            _ => ("=", "value key"),
                        };
                        if !self.expecting_key() {
                            return Err(LoadError::new(
                                codes::TAG,
                                format!(
                                    "a bare `{spelled}` is the YAML 1.1 {what}, which the safe loader cannot construct as a value"
                                ),
                                span,
                            )
                            .with_help(format!("quote it: '{spelled}'")));
                        }
                        (Value::Str(spelled.into()), special == Scalar::MergeKey)
                    }
                };
                let node = Node { value, span };
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.place(node, is_merge_key).map(|()| None)
            }
            Event::SequenceStart(_, anchor, tag) => {
                let tag_at = pspan.tag_span().map_or(span, |t| convert_span(&t));
                let tag = self.collection_tag(tag.as_deref(), "sequence", tag_at)?;
                self.open(
                    Frame::Seq {
                        items: Vec::new(),
                        start: span,
                        anchor,
                        tag,
                    },
                    span,
                )
            }
            Event::MappingStart(_, anchor, tag) => {
                let tag_at = pspan.tag_span().map_or(span, |t| convert_span(&t));
                let tag = self.collection_tag(tag.as_deref(), "mapping", tag_at)?;
                self.open(
                    Frame::Map {
                        entries: Vec::new(),
                        pending_key: None,
                        start: span,
                        anchor,
                        tag,
                        merges: Vec::new(),
                    },
                    span,
                )
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(None);
                };
                let (node, anchor) = self.close(frame, span)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.place(node, false).map(|()| None)
            }
            #[allow(unreachable_patterns)]
            _ => Ok(None),
        }
    }

    /// Whether the text before `offset` ends with the explicit-key indicator `?`.
    fn after_explicit_key_indicator(&self, offset: usize) -> bool {
        self.text
            .get(..offset)
            .is_some_and(|before| before.trim_end().ends_with('?'))
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending_key: None, .. }))
    }

    fn open(&mut self, frame: Frame, span: Span) -> Result<Option<Node>, LoadError> {
        self.count_nodes(1, span)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(LoadError::new(
                codes::LIMIT,
                format!("nesting deeper than {} levels", self.limits.max_depth),
                span,
            ));
        }
        self.stack.push(frame);
        Ok(None)
    }

    fn resolve_scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
        tag_at: Span,
    ) -> Result<Scalar, LoadError> {
        let value_error = |msg: String| LoadError::new(codes::VALUE, msg, span);
        match tag {
            None if style == ScalarStyle::Plain => match self.syntax {
                Syntax::Yaml => scalar::resolve_plain(text)
                    .map_err(|m| value_error(m).with_help("quote the value to make it a string")),
                Syntax::Json => Ok(Scalar::Value(scalar::resolve_json(text))),
            },
            None => Ok(Scalar::Value(Value::Str(text.to_string()))),
            // PyYAML resolves a node tagged with the non-specific `!` as if it were plain,
            // whatever its style (so `! "123"` is the integer 123).
            Some(t) if t.handle().is_empty() && t.suffix() == "!" => scalar::resolve_plain(text).map_err(value_error),
            Some(t) if core_suffix(t).is_some() => {
                let suffix = core_suffix(t).unwrap_or_default();
                scalar::construct_tagged(suffix, text).map_err(|m| LoadError::new(codes::TAG, m, tag_at))
            }
            Some(t) => Err(unsupported_tag(t, tag_at)),
        }
    }

    fn collection_tag(&self, tag: Option<&Tag>, kind: &str, span: Span) -> Result<CollectionTag, LoadError> {
        let Some(t) = tag else {
            return Ok(CollectionTag::Default);
        };
        if t.handle().is_empty() && t.suffix() == "!" {
            return Ok(CollectionTag::Default);
        }
        let Some(suffix) = core_suffix(t) else {
            return Err(unsupported_tag(t, span));
        };
        match (kind, suffix) {
            ("sequence", "seq") | ("mapping", "map") => Ok(CollectionTag::Default),
            ("sequence", "omap" | "pairs") => Ok(CollectionTag::Pairs),
            ("mapping", "set") => Ok(CollectionTag::Set),
            (_, suffix) => Err(LoadError::new(
                codes::TAG,
                format!("the tag !!{suffix} cannot be used on a {kind}"),
                span,
            )),
        }
    }

    /// Finishes a collection.
    fn close(&mut self, frame: Frame, end: Span) -> Result<(Node, usize), LoadError> {
        match frame {
            Frame::Seq {
                items,
                start,
                anchor,
                tag,
            } => {
                let span = Span {
                    start: start.start,
                    end: end.end,
                };
                let value = match tag {
                    CollectionTag::Pairs => {
                        for item in &items {
                            if !matches!(&item.value, Value::Map(e) if e.len() == 1) {
                                return Err(LoadError::new(
                                    codes::TAG,
                                    "every item of an !!omap or !!pairs must be a one-key mapping",
                                    item.span,
                                ));
                            }
                        }
                        Value::Seq(
                            items
                                .into_iter()
                                .map(|item| Node {
                                    value: Value::Foreign(Foreign::Pair),
                                    span: item.span,
                                })
                                .collect(),
                        )
                    }
                    _ => Value::Seq(items),
                };
                Ok((Node { value, span }, anchor))
            }
            Frame::Map {
                entries,
                pending_key,
                start,
                anchor,
                tag,
                merges,
            } => {
                let span = Span {
                    start: start.start,
                    end: end.end,
                };
                // A well-formed event stream never closes a mapping between a key and its value.
                debug_assert!(pending_key.is_none());
                let entries = expand_merges(entries, &merges)?;
                let value = if tag == CollectionTag::Set {
                    Value::Foreign(Foreign::Set)
                } else {
                    Value::Map(entries)
                };
                Ok((Node { value, span }, anchor))
            }
        }
    }

    /// Puts a finished node into its parent (or makes it the document root).
    fn place(&mut self, node: Node, is_merge_key: bool) -> Result<(), LoadError> {
        self.check_duplicate()?;
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                pending_key,
                merges,
                ..
            }) => match pending_key.take() {
                None => {
                    if node.value.is_collection() || matches!(node.value, Value::Foreign(Foreign::Set | Foreign::Pair))
                    {
                        return Err(LoadError::new(
                            codes::SYNTAX,
                            "a mapping or list cannot be a mapping key",
                            node.span,
                        )
                        .with_help("keys must be scalars (strings, numbers, booleans)"));
                    }
                    if is_merge_key {
                        merges.push(entries.len());
                    }
                    *pending_key = Some(node);
                    Ok(())
                }
                Some(key) => {
                    entries.push(Entry { key, value: node });
                    Ok(())
                }
            },
        }
    }
}

impl Builder<'_> {
    /// Rejects a value whose key already appears in the open mapping. Merged entries are not
    /// duplicates: overriding them is what merge keys are for.
    fn check_duplicate(&self) -> Result<(), LoadError> {
        let Some(Frame::Map {
            entries,
            pending_key: Some(key),
            merges,
            ..
        }) = self.stack.last()
        else {
            return Ok(());
        };
        if merges.last() == Some(&entries.len()) {
            return Ok(());
        }
        let Some(first) = entries
            .iter()
            .enumerate()
            .find(|(i, e)| !merges.contains(i) && same_key(&e.key.value, &key.value))
            .map(|(_, e)| e.key.span)
        else {
            return Ok(());
        };
        let mut err = LoadError::new(
            codes::DUPLICATE_KEY,
            format!(
                "duplicate key `{}` (first written at line {}, column {})",
                key.key_token(),
                first.start.line,
                first.start.column
            ),
            key.span,
        )
        .with_help("remove one of them: YAML keys must be unique");
        err.pointer = self.pointer();
        Err(err)
    }
}

/// The part after `tag:yaml.org,2002:` of a core tag, written `!!int` or `!<tag:yaml.org,2002:int>`.
fn core_suffix(t: &Tag) -> Option<&str> {
    const CORE: &str = "tag:yaml.org,2002:";
    if t.handle() == CORE {
        Some(t.suffix())
    } else if t.handle().is_empty() {
        t.suffix().strip_prefix(CORE)
    } else {
        None
    }
}

fn unsupported_tag(t: &Tag, span: Span) -> LoadError {
    LoadError::new(codes::TAG, format!("unsupported tag `{}`", t.original()), span)
        .with_help("ModelSpec files are plain data: remove the tag")
}

fn count_tree(node: &Node) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => stack.extend(items.iter()),
            Value::Map(entries) => {
                for e in entries {
                    count += 1;
                    stack.push(&e.value);
                }
            }
            _ => {}
        }
    }
    count
}

/// Whether two keys are the same Python dictionary key (`1`, `1.0` and `true` are).
fn same_key(a: &Value, b: &Value) -> bool {
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Int(Int::Small(i)) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Int(x), Value::Int(y)) => x == y,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Expands YAML 1.1 merge keys the way PyYAML's `flatten_mapping` does: merged entries come
/// first, earlier sources win over later ones, and the mapping's own entries win over all.
fn expand_merges(entries: Vec<Entry>, merges: &[usize]) -> Result<Vec<Entry>, LoadError> {
    if merges.is_empty() {
        return Ok(entries);
    }
    let mut merged: Vec<Entry> = Vec::new();
    let mut own: Vec<Entry> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        if !merges.contains(&i) {
            own.push(entry);
            continue;
        }
        match entry.value.value {
            Value::Map(src) => merged.extend(src),
            Value::Seq(items) => {
                let mut sources = Vec::new();
                for item in items {
                    match item.value {
                        Value::Map(src) => sources.push(src),
                        _ => {
                            return Err(LoadError::new(
                                codes::VALUE,
                                "a merge key (<<) list may only hold mappings",
                                item.span,
                            ));
                        }
                    }
                }
                for src in sources.into_iter().rev() {
                    merged.extend(src);
                }
            }
            _ => {
                return Err(LoadError::new(
                    codes::VALUE,
                    "a merge key (<<) needs a mapping or a list of mappings",
                    entry.value.span,
                )
                .with_help("quote the key ('<<') if you meant a literal key"));
            }
        }
    }
    // Python's dict keeps the first position of a key and the last value written to it.
    let mut out: Vec<Entry> = Vec::with_capacity(merged.len() + own.len());
    for entry in merged.into_iter().chain(own) {
        match out.iter_mut().find(|e| same_key(&e.key.value, &entry.key.value)) {
            Some(existing) => existing.value = entry.value,
            None => out.push(entry),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
