//! The loaded document: a tree of resolved values, each carrying where it was written.
//!
//! Validation works on this tree rather than on `serde_json::Value` for two reasons. Every
//! diagnostic must point into the user's file, so each node keeps its span. And the values
//! must be the ones the reference validator sees after `yaml.safe_load`: YAML 1.1 integers
//! of any size, non-finite floats, and values JSON has no type for (dates, binary). A JSON
//! value can hold none of these faithfully.

use std::borrow::Cow;
use std::fmt;

/// A position in a source file. Line and column are 1-based; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Byte offset into the source text.
    pub offset: usize,
}

/// A region of a source file: where a node starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First character.
    pub start: Pos,
    /// One past the last character.
    pub end: Pos,
}

/// One node of a loaded document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The resolved value.
    pub value: Value,
    /// Where the node was written (for an alias, where the alias was written).
    pub span: Span,
}

/// An integer as YAML 1.1 reads it: unbounded in the reference implementation.
///
/// Values beyond `i128` only ever need comparing against small schema bounds, so their sign is
/// all we keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Int {
    /// Fits in an `i128`.
    Small(i128),
    /// Too large to hold; `negative` says on which side.
    Huge {
        /// Whether the value is below `i128::MIN`.
        negative: bool,
    },
}

impl Int {
    /// The value as `f64` (huge values become infinities), for comparisons with bounds.
    pub fn as_f64(self) -> f64 {
        match self {
            Int::Small(v) => v as f64,
            Int::Huge { negative: true } => f64::NEG_INFINITY,
            Int::Huge { negative: false } => f64::INFINITY,
        }
    }

    /// The value as `u64`, saturating at both ends.
    pub fn saturating_u64(self) -> u64 {
        match self {
            Int::Small(v) => u64::try_from(v.max(0)).unwrap_or(u64::MAX),
            Int::Huge { negative } => {
                if negative {
                    0
                } else {
                    u64::MAX
                }
            }
        }
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Int::Small(v) => write!(f, "{v}"),
            Int::Huge { negative: false } => f.write_str("a very large integer"),
            Int::Huge { negative: true } => f.write_str("a very large negative integer"),
        }
    }
}

/// Values PyYAML builds that have no JSON type; every JSON Schema `type` rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    /// A date or date-time (`2024-01-01`), YAML 1.1 `!!timestamp`.
    Timestamp,
    /// Bytes from `!!binary`.
    Binary,
    /// A `!!set`.
    Set,
    /// One pair of an `!!omap` or `!!pairs` sequence.
    Pair,
}

impl Foreign {
    /// A noun phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Foreign::Timestamp => "a date (YAML 1.1 timestamp)",
            Foreign::Binary => "binary data (!!binary)",
            Foreign::Set => "a set (!!set)",
            Foreign::Pair => "a key/value pair (!!omap or !!pairs)",
        }
    }
}

/// A resolved value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true`/`false`, and in YAML 1.1 also `yes`/`no`/`on`/`off`.
    Bool(bool),
    /// An integer.
    Int(Int),
    /// A float, possibly infinite or NaN.
    Float(f64),
    /// A string.
    Str(String),
    /// A value JSON has no type for.
    Foreign(Foreign),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order, without duplicate keys.
    Map(Vec<Entry>),
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key node (usually a string).
    pub key: Node,
    /// The value node.
    pub value: Node,
}

impl Value {
    /// A short noun phrase naming the JSON type, with the value where that helps.
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("a boolean ({b})"),
            Value::Int(i) => format!("an integer ({i})"),
            Value::Float(f) => format!("a number ({})", format_float(*f)),
            Value::Str(s) => format!("a string ({})", quote_short(s)),
            Value::Foreign(f) => f.describe().to_string(),
            Value::Seq(_) => "a list".to_string(),
            Value::Map(_) => "a mapping".to_string(),
        }
    }

    /// Whether this is a mapping or a sequence.
    pub fn is_collection(&self) -> bool {
        matches!(self, Value::Seq(_) | Value::Map(_))
    }
}

/// Formats a float the way YAML writes it (`.inf`, `.nan`, `1.5`).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else {
        format!("{f:?}")
    }
}

/// Quotes a string for a message, shortening long ones.
pub fn quote_short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

impl Node {
    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry whose key is the string `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key.as_str() == Some(name))
    }

    /// The value under the string key `name`.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entry(name).map(|e| &e.value)
    }

    /// How this node reads as one JSON-pointer token when it is a mapping key.
    pub fn key_token(&self) -> Cow<'_, str> {
        match &self.value {
            Value::Str(s) => Cow::Borrowed(s),
            Value::Null => Cow::Borrowed("null"),
            Value::Bool(b) => Cow::Owned(b.to_string()),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Float(f) => Cow::Owned(format_float(*f)),
            Value::Foreign(_) | Value::Seq(_) | Value::Map(_) => Cow::Borrowed("?"),
        }
    }

    /// Where a diagnostic about this node's value should point.
    ///
    /// A scalar is pointed at directly. A mapping or list starts at its first inner key, which
    /// reads as if the diagnostic were about that key, so it is pointed at through the key
    /// that holds it (`owner_key`) when there is one.
    pub fn anchor(&self, owner_key: Option<&Node>) -> Span {
        match owner_key {
            Some(key) if self.value.is_collection() => key.span,
            _ => self.span,
        }
    }
}

/// Appends one token to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn push_pointer(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// A JSON pointer built from tokens.
pub fn pointer_of<'a>(tokens: impl IntoIterator<Item = &'a str>) -> String {
    let mut p = String::new();
    for t in tokens {
        push_pointer(&mut p, t);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_of(["a/b", "c~d", "0"]), "/a~1b/c~0d/0");
        assert_eq!(pointer_of([]), "");
    }

    #[test]
    fn huge_integers_saturate() {
        assert_eq!(Int::Huge { negative: false }.saturating_u64(), u64::MAX);
        assert_eq!(Int::Small(-5).saturating_u64(), 0);
        assert_eq!(Int::Small(7).saturating_u64(), 7);
        assert!(Int::Huge { negative: true }.as_f64() < -1e300);
    }

    #[test]
    fn long_strings_are_shortened_in_messages() {
        let s = "x".repeat(100);
        assert!(quote_short(&s).ends_with('…'));
        assert_eq!(quote_short("ab"), "\"ab\"");
    }
}
