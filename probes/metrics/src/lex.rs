//! One line at a time: the syntax of both text formats.
//!
//! Only what a single line can tell is decided here: names, labels, escapes, numbers,
//! whitespace, metadata shapes. Everything that needs the lines around it (which family a
//! sample belongs to, ordering, duplicates) is the driver's.
//!
//! The two formats share one lexer because they share almost all their grammar; where they
//! differ, OpenMetrics is the strict one:
//!
//! | | Prometheus 0.0.4 | OpenMetrics 1.0 |
//! |---|---|---|
//! | separators | runs of spaces and tabs, also inside `{}`; leading and trailing ones ignored | exactly one space, nowhere else |
//! | `\r` before `\n` | ignored (trailing whitespace) | error |
//! | blank line | ignored | error |
//! | `# other text` | comment, ignored | error (only HELP, TYPE, UNIT, EOF) |
//! | trailing comma in `{}` | allowed | error |
//! | HELP escapes | `\\`, `\n`; any other backslash kept as written | `\\`, `\"`, `\n`; others are errors |
//! | timestamp | integer milliseconds | float seconds |
//! | exemplar after ` # ` | error | parsed |
//!
//! In both, label values accept exactly the escapes `\\`, `\"` and `\n` (anything else after a
//! backslash is an error, as in the Go reference parser), and numbers are decimal floats or,
//! ignoring case, `NaN`, `Inf` and `Infinity`, the latter two with an optional sign.
//! Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*` (colons included: vLLM's `vllm:` and SGLang's
//! `sglang:` prefixes) and label names `[a-zA-Z_][a-zA-Z0-9_]*`.

use crate::format::Format;
use crate::limits::{Cap, Limits};
use crate::model::{Exemplar, Label, MetricType, Sample, Timestamp};
use std::borrow::Cow;

/// What a line holds, before it is tied to a family.
#[derive(Debug)]
pub(crate) enum Line<'a> {
    /// A blank line or a 0.0.4 comment.
    Ignored,
    /// OpenMetrics' `# EOF`.
    Eof,
    Metadata {
        name: &'a str,
        /// Byte offset of `name` in the line, for errors the driver finds.
        name_at: usize,
        item: MetadataItem<'a>,
    },
    /// A sample, written into the caller's [`Sample`].
    Sample(SampleSpans),
}

#[derive(Debug)]
pub(crate) enum MetadataItem<'a> {
    Help(Cow<'a, str>),
    Type(MetricType),
    Unit(&'a str),
}

/// Where the parts of a sample line start, for errors the driver finds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampleSpans {
    pub(crate) name_at: usize,
    pub(crate) exemplar_at: Option<usize>,
    /// The label block `{...}` as written, when it is already in canonical form (labels sorted
    /// by name, no blanks, no trailing comma; escapes are canonical by the grammar): the
    /// series key can then hash it whole. Empty for no labels; `None` when not canonical.
    pub(crate) canonical_labels: Option<(usize, usize)>,
}

/// Why a line was rejected: a byte offset into it and a message.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) at: usize,
    pub(crate) message: String,
    /// Set when the reason is a [`Limits`] cap rather than bad syntax.
    pub(crate) cap: Option<Cap>,
}

fn fail<T>(at: usize, message: impl Into<String>) -> Result<T, LexError> {
    Err(LexError {
        at,
        message: message.into(),
        cap: None,
    })
}

/// Character classes of the name grammars, one table lookup per byte in the hot loop.
const NAME_START: u8 = 1;
const NAME_CHAR: u8 = 2;
const LABEL_START: u8 = 4;
const LABEL_CHAR: u8 = 8;

static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut byte = 0usize;
    while byte < 256 {
        let b = byte as u8;
        let letter = b.is_ascii_alphabetic() || b == b'_';
        let mut class = 0;
        if letter || b == b':' {
            class |= NAME_START | NAME_CHAR;
        }
        if letter {
            class |= LABEL_START | LABEL_CHAR;
        }
        if b.is_ascii_digit() {
            class |= NAME_CHAR | LABEL_CHAR;
        }
        table[byte] = class;
        byte += 1;
    }
    table
}

fn is(byte: u8, class: u8) -> bool {
    // A u8 always indexes a 256-entry table: this cannot panic.
    CLASSES[byte as usize] & class != 0
}

/// A position in one line. Every slice it hands out starts and ends next to an ASCII byte, so
/// the `get`s below never miss a character boundary; they are `get`s anyway.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        if matched {
            self.pos += 1;
        }
        matched
    }

    fn eat_str(&mut self, text: &str) -> bool {
        let matched = self.rest().starts_with(text);
        if matched {
            self.pos += text.len();
        }
        matched
    }

    /// Skips spaces and tabs; says whether there were any.
    fn skip_blanks(&mut self) -> bool {
        let bytes = self.rest_bytes();
        let skipped = bytes
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(bytes.len());
        self.pos += skipped;
        skipped > 0
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    /// The rest of the line as bytes.
    fn rest_bytes(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
    }

    /// A name of the grammar `[first][rest]*`, or `None` (cursor unmoved) if none starts here.
    fn name(&mut self, first: u8, rest: u8) -> Option<&'a str> {
        let bytes = self.rest_bytes();
        if !bytes.first().is_some_and(|&b| is(b, first)) {
            return None;
        }
        // Scanning a local slice lets the loop keep its index in a register.
        let length = bytes
            .iter()
            .skip(1)
            .position(|&b| !is(b, rest))
            .map_or(bytes.len(), |at| at + 1);
        let start = self.pos;
        self.pos += length;
        Some(self.slice(start, self.pos))
    }

    /// A metric name, checked byte by byte unless it is `previous` again (consecutive samples
    /// mostly share a name: a histogram's buckets), which a single compare confirms.
    fn metric_name(&mut self, previous: &str) -> Option<&'a str> {
        let bytes = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        if !previous.is_empty()
            && bytes.starts_with(previous.as_bytes())
            && !bytes.get(previous.len()).is_some_and(|&b| is(b, NAME_CHAR))
        {
            let start = self.pos;
            self.pos += previous.len();
            return Some(self.slice(start, self.pos));
        }
        self.name(NAME_START, NAME_CHAR)
    }

    /// The bytes up to the next separator (or the end), for numbers and keywords.
    fn token(&mut self, format: Format) -> &'a str {
        let bytes = self.rest_bytes();
        let length = match format {
            Format::Prometheus => bytes.iter().position(|&b| b == b' ' || b == b'\t'),
            Format::OpenMetrics => bytes.iter().position(|&b| b == b' '),
        }
        .unwrap_or(bytes.len());
        let start = self.pos;
        self.pos += length;
        self.slice(start, self.pos)
    }
}

/// Lexes one line (without its `\n`). A sample is written into `sample`, whose label vectors
/// are reused from line to line; `spare` holds the exemplar's label vector between uses.
pub(crate) fn line<'a>(
    text: &'a str,
    format: Format,
    limits: &Limits,
    sample: &mut Sample<'a>,
    spare: &mut Vec<Label<'a>>,
) -> Result<Line<'a>, LexError> {
    match format {
        Format::Prometheus => prometheus_line(text, limits, sample, spare),
        Format::OpenMetrics => openmetrics_line(text, limits, sample, spare),
    }
}

fn prometheus_line<'a>(
    text: &'a str,
    limits: &Limits,
    sample: &mut Sample<'a>,
    spare: &mut Vec<Label<'a>>,
) -> Result<Line<'a>, LexError> {
    // A CR before the LF is tolerated as trailing whitespace: 0.0.4 ignores trailing blanks,
    // and a fixture saved on Windows is still the same exposition.
    let text = text.strip_suffix('\r').unwrap_or(text);
    let mut cursor = Cursor { text, pos: 0 };
    cursor.skip_blanks();
    match cursor.peek() {
        None => Ok(Line::Ignored),
        Some(b'#') => prometheus_comment(cursor),
        Some(_) => {
            let spans = prometheus_sample(cursor, limits, sample, spare)?;
            Ok(Line::Sample(spans))
        }
    }
}

fn prometheus_comment(mut cursor: Cursor<'_>) -> Result<Line<'_>, LexError> {
    cursor.pos += 1;
    cursor.skip_blanks();
    let keyword_at = cursor.pos;
    let keyword = cursor.token(Format::Prometheus);
    if keyword != "HELP" && keyword != "TYPE" {
        return Ok(Line::Ignored);
    }
    if !cursor.skip_blanks() || cursor.at_end() {
        return fail(keyword_at, format!("# {keyword} without a metric name"));
    }
    let name_at = cursor.pos;
    let Some(name) = cursor.name(NAME_START, NAME_CHAR) else {
        return fail(name_at, "invalid metric name");
    };
    if !cursor.at_end() && !cursor.skip_blanks() {
        return fail(cursor.pos, "invalid character in metric name");
    }
    if keyword == "HELP" {
        let text = cursor.rest().trim_end_matches([' ', '\t']);
        return Ok(Line::Metadata {
            name,
            name_at,
            item: MetadataItem::Help(unescape_prometheus_help(text)),
        });
    }
    let type_at = cursor.pos;
    let kind = cursor.token(Format::Prometheus);
    cursor.skip_blanks();
    if !cursor.at_end() {
        return fail(cursor.pos, "unexpected text after the type");
    }
    let kind = match kind {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" => MetricType::Unknown,
        "" => return fail(type_at, "# TYPE without a type"),
        other => {
            return fail(
                type_at,
                format!("unknown type `{other}`: expected counter, gauge, histogram, summary or untyped"),
            );
        }
    };
    Ok(Line::Metadata {
        name,
        name_at,
        item: MetadataItem::Type(kind),
    })
}

/// 0.0.4 HELP escapes: `\\` and `\n`. Another backslash stays as written, as Prometheus
/// itself and the Python client read it.
fn unescape_prometheus_help(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            _ => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

fn prometheus_sample<'a>(
    mut cursor: Cursor<'a>,
    limits: &Limits,
    sample: &mut Sample<'a>,
    spare: &mut Vec<Label<'a>>,
) -> Result<SampleSpans, LexError> {
    sample.labels.clear();
    let name_at = cursor.pos;
    // `sample.name` is the name lexed last (or empty): always a valid metric name.
    let Some(name) = cursor.metric_name(sample.name) else {
        return fail(name_at, "expected a metric name");
    };
    let separated = cursor.skip_blanks();
    let mut canonical_labels = Some((0, 0));
    if cursor.peek() == Some(b'{') {
        let open = cursor.pos;
        let canonical = labels(&mut cursor, Format::Prometheus, limits, &mut sample.labels)?;
        canonical_labels = canonical_block(canonical, open, cursor.pos, &sample.labels);
        cursor.skip_blanks();
    } else if !separated && !cursor.at_end() {
        return fail(cursor.pos, "invalid character in metric name");
    }
    sample.name = name;
    let value_at = cursor.pos;
    sample.value = value(&mut cursor, Format::Prometheus, value_at)?;
    cursor.skip_blanks();
    sample.timestamp = None;
    if !cursor.at_end() {
        let timestamp_at = cursor.pos;
        let token = cursor.token(Format::Prometheus);
        if token.starts_with('#') {
            return fail(timestamp_at, "exemplars exist only in OpenMetrics");
        }
        let Ok(millis) = token.parse::<i64>() else {
            return fail(
                timestamp_at,
                format!("invalid timestamp `{token}`: expected integer milliseconds"),
            );
        };
        sample.timestamp = Some(Timestamp::Millis(millis));
        cursor.skip_blanks();
        if !cursor.at_end() {
            return fail(cursor.pos, "unexpected text after the timestamp");
        }
    }
    recycle_exemplar(sample, spare);
    Ok(SampleSpans {
        name_at,
        exemplar_at: None,
        canonical_labels,
    })
}

fn canonical_block(canonical: bool, open: usize, end: usize, labels: &[Label<'_>]) -> Option<(usize, usize)> {
    match (canonical, labels.is_empty()) {
        (_, true) => Some((0, 0)),
        (true, false) => Some((open, end)),
        (false, false) => None,
    }
}

fn openmetrics_line<'a>(
    text: &'a str,
    limits: &Limits,
    sample: &mut Sample<'a>,
    spare: &mut Vec<Label<'a>>,
) -> Result<Line<'a>, LexError> {
    if let Some(cr) = text.find('\r') {
        return fail(cr, "carriage return: OpenMetrics lines end with \\n alone");
    }
    let cursor = Cursor { text, pos: 0 };
    match cursor.peek() {
        None => fail(0, "blank line: OpenMetrics allows none"),
        Some(b'#') => openmetrics_comment(cursor),
        Some(b' ' | b'\t') => fail(0, "leading whitespace: OpenMetrics allows none"),
        Some(_) => {
            let spans = openmetrics_sample(cursor, limits, sample, spare)?;
            Ok(Line::Sample(spans))
        }
    }
}

fn openmetrics_comment(mut cursor: Cursor<'_>) -> Result<Line<'_>, LexError> {
    if cursor.text == "# EOF" {
        return Ok(Line::Eof);
    }
    let keyword = if cursor.eat_str("# HELP ") {
        MetadataKeyword::Help
    } else if cursor.eat_str("# TYPE ") {
        MetadataKeyword::Type
    } else if cursor.eat_str("# UNIT ") {
        MetadataKeyword::Unit
    } else {
        return fail(
            0,
            "OpenMetrics has no comments: a # line must be # HELP, # TYPE or # UNIT with one space, or # EOF",
        );
    };
    let name_at = cursor.pos;
    let Some(name) = cursor.name(NAME_START, NAME_CHAR) else {
        return fail(name_at, "invalid metric name");
    };
    // `# HELP name` and `# UNIT name` without the space before an empty value are accepted:
    // the value is empty either way.
    let item = match keyword {
        MetadataKeyword::Help => {
            if !cursor.at_end() && !cursor.eat(b' ') {
                return fail(cursor.pos, "invalid character in metric name");
            }
            let text_at = cursor.pos;
            MetadataItem::Help(unescape_openmetrics(cursor.rest(), text_at)?)
        }
        MetadataKeyword::Type => {
            if !cursor.eat(b' ') {
                return fail(cursor.pos, "expected one space and a type after the metric name");
            }
            let type_at = cursor.pos;
            let kind = match cursor.rest() {
                "counter" => MetricType::Counter,
                "gauge" => MetricType::Gauge,
                "histogram" => MetricType::Histogram,
                "gaugehistogram" => MetricType::GaugeHistogram,
                "summary" => MetricType::Summary,
                "info" => MetricType::Info,
                "stateset" => MetricType::StateSet,
                "unknown" => MetricType::Unknown,
                other => {
                    return fail(
                        type_at,
                        format!(
                            "unknown type `{other}`: expected counter, gauge, histogram, gaugehistogram, \
                             summary, info, stateset or unknown"
                        ),
                    );
                }
            };
            MetadataItem::Type(kind)
        }
        MetadataKeyword::Unit => {
            if !cursor.at_end() && !cursor.eat(b' ') {
                return fail(cursor.pos, "invalid character in metric name");
            }
            let unit_at = cursor.pos;
            let unit = cursor.name(NAME_CHAR, NAME_CHAR).unwrap_or_default();
            if !cursor.at_end() {
                return fail(cursor.pos.max(unit_at), "invalid character in unit");
            }
            MetadataItem::Unit(unit)
        }
    };
    Ok(Line::Metadata { name, name_at, item })
}

enum MetadataKeyword {
    Help,
    Type,
    Unit,
}

/// OpenMetrics' escaped-string: `\\`, `\"` and `\n`, nothing else. `base` is the byte offset
/// of `text` in its line, for the error position.
fn unescape_openmetrics(text: &str, base: usize) -> Result<Cow<'_, str>, LexError> {
    let Some(first) = text.find('\\') else {
        return Ok(Cow::Borrowed(text));
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(text.get(..first).unwrap_or_default());
    let mut chars = text.char_indices().skip_while(|&(at, _)| at < first);
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '\\')) => out.push('\\'),
            Some((_, '"')) => out.push('"'),
            Some((_, 'n')) => out.push('\n'),
            _ => return fail(base + at, "invalid escape: only \\\\, \\\" and \\n are allowed"),
        }
    }
    Ok(Cow::Owned(out))
}

fn openmetrics_sample<'a>(
    mut cursor: Cursor<'a>,
    limits: &Limits,
    sample: &mut Sample<'a>,
    spare: &mut Vec<Label<'a>>,
) -> Result<SampleSpans, LexError> {
    sample.labels.clear();
    let name_at = cursor.pos;
    // `sample.name` is the name lexed last (or empty): always a valid metric name.
    let Some(name) = cursor.metric_name(sample.name) else {
        return fail(name_at, "expected a metric name");
    };
    let has_labels = cursor.peek() == Some(b'{');
    let mut canonical_labels = Some((0, 0));
    if has_labels {
        let open = cursor.pos;
        let canonical = labels(&mut cursor, Format::OpenMetrics, limits, &mut sample.labels)?;
        canonical_labels = canonical_block(canonical, open, cursor.pos, &sample.labels);
    }
    if !cursor.eat(b' ') {
        let message = match cursor.peek() {
            None => "expected one space and a value",
            Some(b'\t') => "tab: OpenMetrics separates with one space",
            Some(_) if !has_labels => "invalid character in metric name",
            Some(_) => "expected one space before the value",
        };
        return fail(cursor.pos, message);
    }
    sample.name = name;
    let value_at = cursor.pos;
    if matches!(cursor.peek(), Some(b' ' | b'\t')) {
        return fail(value_at, "more than one space: OpenMetrics separates with one");
    }
    sample.value = value(&mut cursor, Format::OpenMetrics, value_at)?;
    sample.timestamp = None;
    recycle_exemplar(sample, spare);
    let mut exemplar_at = None;
    if !cursor.at_end() {
        space_then_more(&mut cursor)?;
        if cursor.peek() != Some(b'#') {
            let timestamp_at = cursor.pos;
            sample.timestamp = Some(Timestamp::Seconds(openmetrics_timestamp(&mut cursor, timestamp_at)?));
            if !cursor.at_end() {
                space_then_more(&mut cursor)?;
            }
        }
        if !cursor.at_end() {
            exemplar_at = Some(cursor.pos);
            sample.exemplar = Some(Box::new(exemplar(&mut cursor, limits, spare)?));
        }
    }
    Ok(SampleSpans {
        name_at,
        exemplar_at,
        canonical_labels,
    })
}

/// Eats the one space OpenMetrics puts between parts, which must be followed by another part.
fn space_then_more(cursor: &mut Cursor<'_>) -> Result<(), LexError> {
    let at = cursor.pos;
    if cursor.rest().trim_start_matches([' ', '\t']).is_empty() {
        return fail(at, "trailing whitespace: OpenMetrics allows none");
    }
    if !cursor.eat(b' ') {
        return fail(at, "expected one space");
    }
    match cursor.peek() {
        None => fail(at, "trailing whitespace: OpenMetrics allows none"),
        Some(b' ' | b'\t') => fail(cursor.pos, "more than one space: OpenMetrics separates with one"),
        Some(_) => Ok(()),
    }
}

fn openmetrics_timestamp(cursor: &mut Cursor<'_>, at: usize) -> Result<f64, LexError> {
    let token = cursor.token(Format::OpenMetrics);
    match number(token) {
        Some(seconds) if seconds.is_finite() => Ok(seconds),
        _ => fail(at, format!("invalid timestamp `{token}`: expected seconds")),
    }
}

fn exemplar<'a>(
    cursor: &mut Cursor<'a>,
    limits: &Limits,
    spare: &mut Vec<Label<'a>>,
) -> Result<Exemplar<'a>, LexError> {
    let at = cursor.pos;
    if !cursor.eat_str("# {") {
        return fail(at, "expected a timestamp or an exemplar (` # {labels} value`)");
    }
    cursor.pos -= 1;
    let mut labels_of_exemplar = std::mem::take(spare);
    labels_of_exemplar.clear();
    if let Err(error) = labels(cursor, Format::OpenMetrics, limits, &mut labels_of_exemplar).map(|_| ()) {
        *spare = labels_of_exemplar;
        return Err(error);
    }
    // OpenMetrics caps an exemplar's label set at 128 characters of names and values together.
    let length: usize = labels_of_exemplar
        .iter()
        .map(|label| label.name.chars().count() + label.value.chars().count())
        .sum();
    if length > 128 {
        *spare = labels_of_exemplar;
        return fail(
            at + 2,
            format!("exemplar labels are {length} characters, over the 128 allowed"),
        );
    }
    let result = (|| {
        if !cursor.eat(b' ') {
            return fail(cursor.pos, "expected one space and the exemplar's value");
        }
        let value_at = cursor.pos;
        let value = value(cursor, Format::OpenMetrics, value_at)?;
        let mut timestamp = None;
        if !cursor.at_end() {
            space_then_more(cursor)?;
            let timestamp_at = cursor.pos;
            timestamp = Some(openmetrics_timestamp(cursor, timestamp_at)?);
            if !cursor.at_end() {
                return fail(cursor.pos, "unexpected text after the exemplar");
            }
        }
        Ok((value, timestamp))
    })();
    match result {
        Ok((value, timestamp)) => Ok(Exemplar {
            labels: labels_of_exemplar,
            value,
            timestamp,
        }),
        Err(error) => {
            *spare = labels_of_exemplar;
            Err(error)
        }
    }
}

/// Takes last line's exemplar back so its label vector is reused, leaving `exemplar` `None`.
fn recycle_exemplar<'a>(sample: &mut Sample<'a>, spare: &mut Vec<Label<'a>>) {
    if let Some(exemplar) = sample.exemplar.take() {
        *spare = exemplar.labels;
        spare.clear();
    }
}

/// Parses `{...}` at the cursor into `out` (cleared first). Says whether the block was written
/// canonically: sorted by name, no blanks, no trailing comma.
fn labels<'a>(
    cursor: &mut Cursor<'a>,
    format: Format,
    limits: &Limits,
    out: &mut Vec<Label<'a>>,
) -> Result<bool, LexError> {
    out.clear();
    let lenient = format == Format::Prometheus;
    let mut canonical = true;
    cursor.pos += 1; // the `{`
    loop {
        if lenient && cursor.skip_blanks() {
            canonical = false;
        }
        if cursor.eat(b'}') {
            // Reached at once for `{}` (both formats) or after a trailing comma (0.0.4 only:
            // OpenMetrics' is refused below, right after the comma).
            return Ok(canonical && out.is_empty());
        }
        let name_at = cursor.pos;
        let Some(name) = cursor.name(LABEL_START, LABEL_CHAR) else {
            return fail(
                name_at,
                match cursor.peek() {
                    None => "label set is not closed",
                    Some(_) => "expected a label name",
                },
            );
        };
        if lenient && cursor.skip_blanks() {
            canonical = false;
        }
        if !cursor.eat(b'=') {
            return fail(cursor.pos, "expected = after the label name");
        }
        if lenient && cursor.skip_blanks() {
            canonical = false;
        }
        if !cursor.eat(b'"') {
            return fail(cursor.pos, "expected \" to open the label value");
        }
        let value = label_value(cursor)?;
        if out.len() >= limits.max_labels_per_sample {
            return Err(LexError {
                at: name_at,
                message: format!("more than {} labels", limits.max_labels_per_sample),
                cap: Some(Cap::LabelsPerSample),
            });
        }
        if out.iter().any(|label| label.name == name) {
            return fail(name_at, format!("label `{name}` appears twice"));
        }
        if out.last().is_some_and(|last| last.name >= name) {
            canonical = false;
        }
        out.push(Label { name, value });
        if lenient && cursor.skip_blanks() {
            canonical = false;
        }
        if cursor.eat(b',') {
            if !lenient && cursor.peek() == Some(b'}') {
                return fail(cursor.pos - 1, "trailing comma: OpenMetrics allows none");
            }
            continue;
        }
        if cursor.eat(b'}') {
            return Ok(canonical);
        }
        return fail(
            cursor.pos,
            match cursor.peek() {
                None => "label set is not closed",
                Some(_) => "expected , or } after the label value",
            },
        );
    }
}

/// The rest of a label value after its opening quote, up to and including the closing one.
/// Borrowed unless an escape had to be decoded.
fn label_value<'a>(cursor: &mut Cursor<'a>) -> Result<Cow<'a, str>, LexError> {
    let open = cursor.pos - 1;
    let start = cursor.pos;
    let bytes = cursor.text.as_bytes();
    let Some(stop) = find_quote_or_backslash(bytes.get(start..).unwrap_or_default()).map(|i| start + i) else {
        return fail(open, "label value is not closed");
    };
    if bytes.get(stop) == Some(&b'"') {
        cursor.pos = stop + 1;
        return Ok(Cow::Borrowed(cursor.slice(start, stop)));
    }
    let mut out = String::with_capacity(stop - start + 16);
    out.push_str(cursor.slice(start, stop));
    let mut at = stop;
    loop {
        // `at` is on a backslash.
        match bytes.get(at + 1) {
            Some(b'\\') => out.push('\\'),
            Some(b'"') => out.push('"'),
            Some(b'n') => out.push('\n'),
            None => return fail(open, "label value is not closed"),
            Some(_) => return fail(at, "invalid escape in label value: only \\\\, \\\" and \\n are allowed"),
        }
        let from = at + 2;
        let Some(next) = memchr::memchr2(b'"', b'\\', bytes.get(from..).unwrap_or_default()).map(|i| from + i) else {
            return fail(open, "label value is not closed");
        };
        out.push_str(cursor.slice(from, next));
        if bytes.get(next) == Some(&b'"') {
            cursor.pos = next + 1;
            return Ok(Cow::Owned(out));
        }
        at = next;
    }
}

/// Where the next `"` or `\\` is. Label values are mostly short (`0`, `0.3`, `+Inf`) or a model
/// name, for which eight bytes at a time in a plain register (SWAR) beat setting up memchr's
/// vector search.
fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut buffer = [0u8; 8];
        buffer.copy_from_slice(chunk);
        let word = u64::from_le_bytes(buffer);
        // A zero byte in `word ^ QUOTES` is a quote: the classic has-zero-byte test, exact for
        // the lowest match, which is the one wanted.
        let quote = word ^ QUOTES;
        let backslash = word ^ BACKSLASHES;
        let found = (quote.wrapping_sub(ONES) & !quote | backslash.wrapping_sub(ONES) & !backslash) & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|offset| at + offset)
}

fn value(cursor: &mut Cursor<'_>, format: Format, at: usize) -> Result<f64, LexError> {
    let token = cursor.token(format);
    if token.is_empty() {
        return fail(at, "expected a value");
    }
    match number(token) {
        Some(value) => Ok(value),
        None => fail(at, format!("invalid value `{token}`")),
    }
}

/// A sample value: a decimal float, or `NaN`, `Inf`, `Infinity` in any case, the latter two
/// with an optional sign (Go's `ParseFloat`, which both reference parsers use, minus hex and
/// underscores, which no exporter writes). A signed NaN is refused as Go refuses it.
pub(crate) fn number(token: &str) -> Option<f64> {
    if let Some(value) = plain_decimal(token.as_bytes()) {
        return Some(value);
    }
    let first = *token.as_bytes().first()?;
    // Rust's parser accepts what is listed above, plus `+nan`/`-nan`.
    if matches!(first, b'+' | b'-') && token.get(1..).is_some_and(|rest| rest.eq_ignore_ascii_case("nan")) {
        return None;
    }
    token.parse::<f64>().ok()
}

/// Powers of ten that f64 holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// The common case of a value, `[+-]digits[.digits][e[+-]digits]` with at most 15 significant
/// digits and a small exponent, without the general parser: exporters write `0.0`, `3.0`,
/// `1.7643264019e+09` millions of times. Exact: both the digits and the power of ten are exact
/// f64s and one IEEE multiplication or division rounds correctly (Clinger's fast path).
/// `None` sends anything else to the general parser.
fn plain_decimal(token: &[u8]) -> Option<f64> {
    let (negative, digits) = match token.first()? {
        b'-' => (true, token.get(1..)?),
        b'+' => (false, token.get(1..)?),
        _ => (false, token),
    };
    let mut mantissa: u64 = 0;
    let mut significant = 0u32;
    let mut fraction_digits = 0i32;
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut rest = digits;
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'0'..=b'9' => {
                seen_digit = true;
                if mantissa != 0 || byte != b'0' {
                    significant += 1;
                }
                if significant > 15 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                if seen_point {
                    fraction_digits += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' => break,
            _ => return None,
        }
        rest = tail;
    }
    if !seen_digit {
        return None;
    }
    let mut exponent = 0i32;
    if let Some((_, tail)) = rest.split_first() {
        let (exponent_negative, exponent_digits) = match tail.first()? {
            b'-' => (true, tail.get(1..)?),
            b'+' => (false, tail.get(1..)?),
            _ => (false, tail),
        };
        if exponent_digits.is_empty() || exponent_digits.len() > 3 {
            return None;
        }
        for &byte in exponent_digits {
            if !byte.is_ascii_digit() {
                return None;
            }
            exponent = exponent * 10 + i32::from(byte - b'0');
        }
        if exponent_negative {
            exponent = -exponent;
        }
    }
    let power = exponent - fraction_digits;
    let value = mantissa as f64;
    let scaled = if power >= 0 {
        value * EXACT_POWERS_OF_TEN.get(usize::try_from(power).ok()?)?
    } else {
        value / EXACT_POWERS_OF_TEN.get(usize::try_from(-power).ok()?)?
    };
    Some(if negative { -scaled } else { scaled })
}

#[cfg(test)]
mod tests {
    use super::{find_quote_or_backslash, number, plain_decimal};

    #[test]
    fn the_word_scan_finds_the_first_quote_or_backslash() {
        // Neighbours of both bytes and the values that trip has-zero-byte tricks (0x00, 0x01,
        // 0x80, 0xff), at every position of lines of up to three words.
        let fillers = [b'a', 0x00, 0x01, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff];
        for length in 0..24 {
            for &filler in &fillers {
                for target in [b'"', b'\\'] {
                    for at in 0..=length {
                        let mut bytes = vec![filler; length];
                        if at < length {
                            bytes[at] = target;
                            // A second match later must not win.
                            if at + 1 < length {
                                bytes[at + 1] = b'"';
                            }
                        }
                        let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\');
                        assert_eq!(find_quote_or_backslash(&bytes), naive, "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        let tokens = [
            "0",
            "0.0",
            "-0.0",
            "+1",
            "3.0",
            "1234.0",
            "0.001",
            "1.7643264019e+09",
            "1e22",
            "1e-22",
            "123456789012345",
            "1234567890123456",
            "0.1",
            "-2.5E-3",
            "7680.0",
            ".5",
            "5.",
            "000000000000000000001.5",
            "9007199254740993",
            "1e23",
            "1e308",
            "1.5e-300",
        ];
        for token in tokens {
            let general: Result<f64, _> = token.parse();
            let fast = plain_decimal(token.as_bytes());
            if let Some(fast) = fast {
                assert_eq!(Ok(fast.to_bits()), general.clone().map(f64::to_bits), "{token}");
            }
            assert_eq!(
                number(token).map(f64::to_bits),
                general.ok().map(f64::to_bits),
                "{token}"
            );
        }
        for refused in [
            "", "-", ".", "e5", "1e", "1e+", "1..2", "1.2.3", "--1", "1e5x", "0x10", "1_0",
        ] {
            assert_eq!(plain_decimal(refused.as_bytes()), None, "{refused}");
            assert_eq!(number(refused), None, "{refused}");
        }
    }
}
