//! The streaming parser: splits lines, ties samples to families and enforces the rules that
//! span lines, then hands each accepted line to a [`Visitor`].
//!
//! Its memory is the family table (bounded by [`Limits::max_families`]), the sample-name cache
//! (a few names per family) and, when duplicate detection is on, one hash per series (bounded
//! by [`Limits::max_series`]). Nothing else grows with the input: one [`Sample`] is reused for
//! every line, so a visitor that keeps only aggregates parses any size in constant memory.
//!
//! Rules across lines:
//!
//! * A sample belongs to the family whose name it equals, if that family's type has bare
//!   samples, else to the family whose name plus one of the type's suffixes it equals
//!   (see [`allowed_suffixes`]), else to a new family of unknown type named after the sample
//!   (0.0.4's "untyped" and OpenMetrics' "unknown").
//! * `# TYPE` must come before the family's first sample and only once; so must `# HELP`
//!   (0.0.4 allows it after samples) and `# UNIT` (OpenMetrics only).
//! * OpenMetrics forbids interleaving: once a family's lines are followed by another family's,
//!   more lines for it are errors. 0.0.4 merges them, as Prometheus does.
//! * The same series (sample name and label set, labels in any order) twice is an error.
//! * OpenMetrics must end with `# EOF` and have nothing after it.

use crate::Visitor;
use crate::format::Format;
use crate::lex::{self, Line, MetadataItem, SampleSpans};
use crate::limits::{Cap, Limits};
use crate::model::{FamilyInfo, Label, MetadataKind, MetricType, Sample, Suffix};
use crate::report::{EXCERPT_CHARS, Outcome, ParseError};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// The suffixes a family of `kind` gives its sample names, in `format`. [`Suffix::None`] means
/// samples named exactly like the family.
///
/// 0.0.4 counters accept a bare name (TGI's `tgi_request_count`) as well as `_total` and
/// `_created`; OpenMetrics counters have only the latter two. 0.0.4 cannot declare the
/// OpenMetrics-only types, so their rows only matter there.
pub(crate) fn allowed_suffixes(format: Format, kind: MetricType) -> &'static [Suffix] {
    use Suffix::*;
    match (kind, format) {
        (MetricType::Counter, Format::Prometheus) => &[None, Total, Created],
        (MetricType::Counter, Format::OpenMetrics) => &[Total, Created],
        (MetricType::Histogram, _) => &[Bucket, Count, Sum, Created],
        (MetricType::GaugeHistogram, _) => &[Bucket, GCount, GSum],
        (MetricType::Summary, _) => &[None, Count, Sum, Created],
        (MetricType::Info, _) => &[Info],
        (MetricType::Gauge | MetricType::StateSet | MetricType::Unknown, _) => &[None],
    }
}

/// The suffixes tried when a sample name is not a family name, longest first so that no
/// suffix shadows a longer one ending the same way.
const SUFFIXES: [Suffix; 8] = [
    Suffix::Created,
    Suffix::Bucket,
    Suffix::GCount,
    Suffix::Count,
    Suffix::Total,
    Suffix::GSum,
    Suffix::Info,
    Suffix::Sum,
];

struct FamilyState<'a> {
    info: FamilyInfo<'a>,
    help_line: Option<usize>,
    type_line: Option<usize>,
    unit_line: Option<usize>,
    first_sample_line: Option<usize>,
    /// Whether any line was accepted for it: OpenMetrics' interleaving rule needs to know.
    touched: bool,
}

/// Control after one line.
enum Flow {
    Continue,
    Stop,
}

/// Where the input's lines come from: a `&str` (already valid UTF-8) or bytes checked line by
/// line, so that invalid UTF-8 is an error with a position instead of a refusal of the whole.
pub(crate) trait Source<'a> {
    fn bytes(&self) -> &'a [u8];
    /// The line at `start..end`, or the byte offset within it where UTF-8 breaks.
    fn line(&self, start: usize, end: usize) -> Result<&'a str, usize>;
}

pub(crate) struct StrSource<'a>(pub(crate) &'a str);

impl<'a> Source<'a> for StrSource<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.0.as_bytes()
    }

    fn line(&self, start: usize, end: usize) -> Result<&'a str, usize> {
        // Both ends are next to a `\n` or at an end of the input: always character boundaries.
        self.0.get(start..end).ok_or(0)
    }
}

pub(crate) struct BytesSource<'a>(pub(crate) &'a [u8]);

impl<'a> Source<'a> for BytesSource<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.0
    }

    fn line(&self, start: usize, end: usize) -> Result<&'a str, usize> {
        let bytes = self.0.get(start..end).unwrap_or_default();
        std::str::from_utf8(bytes).map_err(|error| error.valid_up_to())
    }
}

pub(crate) struct Driver<'a, 'l> {
    format: Format,
    limits: &'l Limits,
    families: Vec<FamilyState<'a>>,
    by_name: HashMap<&'a str, usize>,
    /// Sample name to its family and suffix, so that each distinct name is resolved once.
    resolved: HashMap<&'a str, (usize, Suffix)>,
    /// The last resolution: consecutive samples usually share a name (a histogram's buckets).
    last: Option<(&'a str, usize, Suffix)>,
    /// The family of the last accepted line.
    current: Option<usize>,
    series: Option<SeriesKeys>,
    sample: Sample<'a>,
    spare_labels: Vec<Label<'a>>,
    outcome: Outcome,
}

impl<'a, 'l> Driver<'a, 'l> {
    pub(crate) fn new(format: Format, limits: &'l Limits) -> Self {
        Driver {
            format,
            limits,
            families: Vec::new(),
            by_name: HashMap::new(),
            resolved: HashMap::new(),
            last: None,
            current: None,
            series: None,
            sample: Sample::empty(),
            spare_labels: Vec::new(),
            outcome: Outcome::new(format),
        }
    }

    pub(crate) fn run<S: Source<'a>, V: Visitor<'a>>(mut self, source: S, visitor: &mut V) -> Outcome {
        let bytes = source.bytes();
        if self.limits.detect_duplicate_series {
            // Sized for one series per 128 bytes of input (real scrapes run 100 to 150), capped
            // by the series limit: growing the map step by step rehashes it a dozen times.
            self.series = Some(SeriesKeys::with_capacity(
                (bytes.len() / 128).min(self.limits.max_series),
            ));
        }
        let mut start = 0;
        let mut line_no = 0;
        let mut eof_line = None;
        let mut stopped = false;
        while start < bytes.len() {
            line_no += 1;
            let rest = bytes.get(start..).unwrap_or_default();
            let end = memchr::memchr(b'\n', rest).map_or(bytes.len(), |i| start + i);
            let next = (end + 1).min(bytes.len());
            if let Some(eof) = eof_line {
                let message = format!("content after # EOF (line {eof})");
                let raw = bytes.get(start..end).unwrap_or_default();
                let head = String::from_utf8_lossy(raw.get(..4 * EXCERPT_CHARS).unwrap_or(raw));
                self.error(visitor, ParseError::at(line_no, &head, 0, message), None);
                start = bytes.len();
                break;
            }
            let length = end - start;
            if length > self.limits.max_line_bytes {
                self.too_long(visitor, line_no, bytes.get(start..end).unwrap_or_default());
                start = next;
                continue;
            }
            match source.line(start, end) {
                Ok(text) => {
                    if let Flow::Stop = self.line(visitor, line_no, text, &mut eof_line) {
                        stopped = true;
                        start = next;
                        break;
                    }
                }
                Err(valid_up_to) => {
                    let raw = bytes.get(start..end).unwrap_or_default();
                    let valid = std::str::from_utf8(raw.get(..valid_up_to).unwrap_or_default()).unwrap_or_default();
                    let lossy = String::from_utf8_lossy(raw);
                    let mut error = ParseError::at(line_no, &lossy, 0, "invalid UTF-8".to_owned());
                    error.column = valid.chars().count() + 1;
                    self.error(visitor, error, None);
                }
            }
            start = next;
        }
        self.outcome.counts.bytes = start;
        self.outcome.counts.lines = line_no;
        if self.format == Format::OpenMetrics && eof_line.is_none() && !stopped {
            let message = "missing # EOF: an OpenMetrics exposition must end with it".to_owned();
            self.error(visitor, ParseError::at(line_no + 1, "", 0, message), None);
        }
        self.outcome.counts.families = self.families.iter().filter(|family| family.touched).count();
        self.outcome
    }

    fn too_long<V: Visitor<'a>>(&mut self, visitor: &mut V, line_no: usize, raw: &[u8]) {
        let limit = self.limits.max_line_bytes;
        // Look at no more of the line than the limit allows.
        let head = raw.get(..limit).unwrap_or(raw);
        let head = String::from_utf8_lossy(head);
        let message = format!("line is {} bytes, over the {limit}-byte limit", raw.len());
        let error = ParseError::at(line_no, &head, head.len(), message);
        self.error(visitor, error, Some((Cap::LineBytes, limit)));
    }

    fn error<V: Visitor<'a>>(&mut self, visitor: &mut V, error: ParseError, cap: Option<(Cap, usize)>) {
        if let Some((cap, limit)) = cap {
            self.outcome.record_cap(cap, limit, error.line, false);
        }
        visitor.error(&error);
        self.outcome.error_count += 1;
        if self.outcome.errors.len() < self.limits.max_errors {
            self.outcome.errors.push(error);
        } else {
            self.outcome
                .record_cap(Cap::Errors, self.limits.max_errors, error.line, false);
        }
    }

    fn reject<V: Visitor<'a>>(&mut self, visitor: &mut V, line_no: usize, text: &str, at: usize, message: String) {
        self.error(visitor, ParseError::at(line_no, text, at, message), None);
    }

    fn line<V: Visitor<'a>>(
        &mut self,
        visitor: &mut V,
        line_no: usize,
        text: &'a str,
        eof_line: &mut Option<usize>,
    ) -> Flow {
        match lex::line(text, self.format, self.limits, &mut self.sample, &mut self.spare_labels) {
            Err(error) => {
                let cap = error.cap.map(|cap| (cap, self.limits.max_labels_per_sample));
                self.error(visitor, ParseError::at(line_no, text, error.at, error.message), cap);
                Flow::Continue
            }
            Ok(Line::Ignored) => {
                self.outcome.counts.ignored += 1;
                Flow::Continue
            }
            Ok(Line::Eof) => {
                *eof_line = Some(line_no);
                Flow::Continue
            }
            Ok(Line::Metadata { name, name_at, item }) => {
                self.metadata(visitor, line_no, text, name, name_at, item);
                Flow::Continue
            }
            Ok(Line::Sample(spans)) => self.sample(visitor, line_no, text, spans),
        }
    }

    fn metadata<V: Visitor<'a>>(
        &mut self,
        visitor: &mut V,
        line_no: usize,
        text: &str,
        name: &'a str,
        name_at: usize,
        item: MetadataItem<'a>,
    ) {
        let index = match self.by_name.get(name) {
            Some(&index) => index,
            None => {
                if let Some(&(owner, suffix)) = self.resolved.get(name)
                    && suffix != Suffix::None
                {
                    let owner = self.families.get(owner).map_or("", |family| family.info.name);
                    let message = format!("`{name}` already names samples of family `{owner}`");
                    return self.reject(visitor, line_no, text, name_at, message);
                }
                match self.new_family(name) {
                    Some(index) => index,
                    None => return self.families_full(visitor, line_no, text, name_at),
                }
            }
        };
        let openmetrics = self.format == Format::OpenMetrics;
        let current = self.current;
        let Some(family) = self.families.get(index) else {
            return;
        };
        if openmetrics && family.touched && current != Some(index) {
            let message =
                format!("metadata for `{name}` after another family's lines: OpenMetrics families must not interleave");
            return self.reject(visitor, line_no, text, 0, message);
        }
        let (kind_of_line, earlier, after_samples_is_error) = match &item {
            MetadataItem::Help(_) => (MetadataKind::Help, family.help_line, openmetrics),
            MetadataItem::Type(_) => (MetadataKind::Type, family.type_line, true),
            MetadataItem::Unit(_) => (MetadataKind::Unit, family.unit_line, true),
        };
        let keyword = match kind_of_line {
            MetadataKind::Help => "HELP",
            MetadataKind::Type => "TYPE",
            MetadataKind::Unit => "UNIT",
        };
        if let Some(first) = earlier {
            let message = format!("second # {keyword} for `{name}` (first on line {first})");
            return self.reject(visitor, line_no, text, 0, message);
        }
        if after_samples_is_error && let Some(first) = family.first_sample_line {
            let message = format!("# {keyword} for `{name}` after its samples (first on line {first})");
            return self.reject(visitor, line_no, text, 0, message);
        }
        match &item {
            MetadataItem::Type(kind) => {
                // A sample already read as its own family (`x_total` before `# TYPE x counter`)
                // would now belong to this one: the TYPE came too late for it.
                for &suffix in allowed_suffixes(self.format, *kind) {
                    if suffix == Suffix::None {
                        continue;
                    }
                    let sample_name = format!("{name}{}", suffix.as_str());
                    if let Some(&(other, _)) = self.resolved.get(sample_name.as_str()) {
                        let first = self
                            .families
                            .get(other)
                            .and_then(|family| family.first_sample_line)
                            .unwrap_or(0);
                        let message = format!("# TYPE for `{name}` after its sample `{sample_name}` (line {first})");
                        return self.reject(visitor, line_no, text, 0, message);
                    }
                }
            }
            MetadataItem::Unit(unit) => {
                if !unit.is_empty() && !name.strip_suffix(unit).is_some_and(|base| base.ends_with('_')) {
                    let message = format!("unit `{unit}` is not the suffix of the family name (`..._{unit}`)");
                    return self.reject(visitor, line_no, text, name_at, message);
                }
            }
            MetadataItem::Help(_) => {}
        }
        let Some(family) = self.families.get_mut(index) else {
            return;
        };
        match item {
            MetadataItem::Help(help) => {
                family.help_line = Some(line_no);
                family.info.help = Some(help);
            }
            MetadataItem::Type(kind) => {
                family.type_line = Some(line_no);
                family.info.kind = kind;
            }
            MetadataItem::Unit(unit) => {
                family.unit_line = Some(line_no);
                family.info.unit = Some(unit);
            }
        }
        family.touched = true;
        self.current = Some(index);
        self.outcome.counts.metadata += 1;
        visitor.metadata(&family.info, kind_of_line);
    }

    fn families_full<V: Visitor<'a>>(&mut self, visitor: &mut V, line_no: usize, text: &str, at: usize) {
        let limit = self.limits.max_families;
        let error = ParseError::at(line_no, text, at, format!("more than {limit} families"));
        self.error(visitor, error, Some((Cap::Families, limit)));
    }

    fn new_family(&mut self, name: &'a str) -> Option<usize> {
        if self.families.len() >= self.limits.max_families {
            return None;
        }
        let index = self.families.len();
        self.families.push(FamilyState {
            info: FamilyInfo {
                index,
                name,
                kind: MetricType::Unknown,
                help: None,
                unit: None,
            },
            help_line: None,
            type_line: None,
            unit_line: None,
            first_sample_line: None,
            touched: false,
        });
        self.by_name.insert(name, index);
        Some(index)
    }

    /// The family and suffix of a sample name; `Err` with a message when the name can only be a
    /// family that does not take it (`x` for `# TYPE x histogram`), `Ok(None)` when the family
    /// table is full.
    fn resolve(&mut self, name: &'a str) -> Result<Option<(usize, Suffix)>, String> {
        if let Some((last, index, suffix)) = self.last
            && last == name
        {
            return Ok(Some((index, suffix)));
        }
        if let Some(&(index, suffix)) = self.resolved.get(name) {
            self.last = Some((name, index, suffix));
            return Ok(Some((index, suffix)));
        }
        let exact = self.by_name.get(name).copied();
        let found = self.match_family(name, exact);
        let (index, suffix) = match (found, exact) {
            (Some(found), _) => found,
            (None, Some(index)) => {
                let Some(family) = self.families.get(index) else {
                    return Ok(None);
                };
                let expected: Vec<String> = allowed_suffixes(self.format, family.info.kind)
                    .iter()
                    .map(|suffix| format!("{name}{}", suffix.as_str()))
                    .collect();
                return Err(format!(
                    "`{name}` is not a sample name of {} `{name}`: expected {}",
                    family.info.kind,
                    expected.join(", ")
                ));
            }
            (None, None) => match self.new_family(name) {
                Some(index) => (index, Suffix::None),
                None => return Ok(None),
            },
        };
        self.resolved.insert(name, (index, suffix));
        self.last = Some((name, index, suffix));
        Ok(Some((index, suffix)))
    }

    fn match_family(&self, name: &str, exact: Option<usize>) -> Option<(usize, Suffix)> {
        if let Some(index) = exact
            && let Some(family) = self.families.get(index)
            && allowed_suffixes(self.format, family.info.kind).contains(&Suffix::None)
        {
            return Some((index, Suffix::None));
        }
        SUFFIXES.iter().find_map(|&suffix| {
            let base = name.strip_suffix(suffix.as_str())?;
            let index = *self.by_name.get(base)?;
            let family = self.families.get(index)?;
            allowed_suffixes(self.format, family.info.kind)
                .contains(&suffix)
                .then_some((index, suffix))
        })
    }

    fn sample<V: Visitor<'a>>(&mut self, visitor: &mut V, line_no: usize, text: &str, spans: SampleSpans) -> Flow {
        let name = self.sample.name;
        let (index, suffix) = match self.resolve(name) {
            Ok(Some(found)) => found,
            Ok(None) => {
                self.families_full(visitor, line_no, text, spans.name_at);
                return Flow::Continue;
            }
            Err(message) => {
                self.reject(visitor, line_no, text, spans.name_at, message);
                return Flow::Continue;
            }
        };
        let Some(family) = self.families.get(index) else {
            return Flow::Continue;
        };
        if self.format == Format::OpenMetrics {
            if let Some(at) = spans.exemplar_at {
                let allowed = matches!(
                    (family.info.kind, suffix),
                    (MetricType::Counter, Suffix::Total)
                        | (MetricType::Histogram | MetricType::GaugeHistogram, Suffix::Bucket)
                );
                if !allowed {
                    let message = format!(
                        "exemplar on a {} sample: only counters' _total and histograms' _bucket take one",
                        family.info.kind
                    );
                    self.reject(visitor, line_no, text, at, message);
                    return Flow::Continue;
                }
            }
            if family.touched && self.current != Some(index) {
                let message = format!(
                    "sample of `{}` after another family's lines: OpenMetrics families must not interleave",
                    family.info.name
                );
                self.reject(visitor, line_no, text, spans.name_at, message);
                return Flow::Continue;
            }
        }
        if self.outcome.counts.samples >= self.limits.max_series {
            self.outcome
                .record_cap(Cap::Series, self.limits.max_series, line_no, true);
            return Flow::Stop;
        }
        let block = spans
            .canonical_labels
            .map(|(start, end)| text.get(start..end).unwrap_or_default());
        if let Some(series) = &mut self.series
            && let Some(first) = series.insert(&self.sample, block, line_no)
        {
            let message = format!("duplicate series: same name and labels as line {first}");
            self.reject(visitor, line_no, text, spans.name_at, message);
            return Flow::Continue;
        }
        let Some(family) = self.families.get_mut(index) else {
            return Flow::Continue;
        };
        family.touched = true;
        family.first_sample_line.get_or_insert(line_no);
        self.current = Some(index);
        self.outcome.counts.samples += 1;
        self.sample.suffix = suffix;
        self.sample.line = line_no;
        visitor.sample(&family.info, &self.sample);
        Flow::Continue
    }
}

/// Seen series, by a 64-bit hash of name and label set, with the line of their first sample.
///
/// The hash is keyed with a random seed per parse, so an input cannot be written to collide
/// without knowing the seed; an accidental collision among 2 million series has odds near 1 in
/// 10^7 and would show as a false "duplicate series" error, never as silently lost data.
///
/// What is hashed is the sample name and the label block in canonical form: labels sorted by
/// name, `name="value"` joined by commas, values escaped. The formats' escapes are canonical
/// (each character has exactly one spelling), so a block written sorted and without blanks,
/// as every client library writes it, already is that form and is hashed straight from the
/// input; any other block is rebuilt sorted in a scratch buffer first. Either way
/// `{a="1",b="2"}` and `{ b="2", a="1", }` are the same series.
///
/// The hash is our own multiply-fold over 16-byte blocks rather than std's SipHash: this runs
/// for every sample, and SipHash was a quarter of a full parse's time.
struct SeriesKeys {
    seed: u64,
    first_line: HashMap<u64, u32, BuildHasherDefault<AlreadyHashed>>,
    scratch: String,
    order: Vec<usize>,
}

impl SeriesKeys {
    fn with_capacity(series: usize) -> Self {
        SeriesKeys {
            // std's per-process random keys, turned into one random word.
            seed: RandomState::new().hash_one(0u64),
            first_line: HashMap::with_capacity_and_hasher(series, BuildHasherDefault::default()),
            scratch: String::new(),
            order: Vec::new(),
        }
    }

    /// Records the sample's series; returns the first line if it was already seen. `block` is
    /// the label block as written when the lexer found it canonical.
    fn insert(&mut self, sample: &Sample<'_>, block: Option<&str>, line_no: usize) -> Option<usize> {
        let block = match block {
            Some(block) => block,
            None => {
                self.canonical_block(sample);
                self.scratch.as_str()
            }
        };
        let key = keyed_hash(keyed_hash(self.seed, sample.name.as_bytes()), block.as_bytes());
        match self.first_line.entry(key) {
            std::collections::hash_map::Entry::Occupied(entry) => Some(*entry.get() as usize),
            std::collections::hash_map::Entry::Vacant(entry) => {
                // u32 halves the map; a line past 4 billion reports itself as the last one.
                entry.insert(u32::try_from(line_no).unwrap_or(u32::MAX));
                None
            }
        }
    }

    /// Writes the sample's label block in canonical form into `scratch`.
    fn canonical_block(&mut self, sample: &Sample<'_>) {
        self.order.clear();
        self.order.extend(0..sample.labels.len());
        self.order
            .sort_unstable_by_key(|&index| sample.labels.get(index).map(|label| label.name));
        self.scratch.clear();
        if sample.labels.is_empty() {
            return;
        }
        self.scratch.push('{');
        for (position, label) in self
            .order
            .iter()
            .filter_map(|&index| sample.labels.get(index))
            .enumerate()
        {
            if position > 0 {
                self.scratch.push(',');
            }
            self.scratch.push_str(label.name);
            self.scratch.push_str("=\"");
            for c in label.value.chars() {
                match c {
                    '\\' => self.scratch.push_str("\\\\"),
                    '"' => self.scratch.push_str("\\\""),
                    '\n' => self.scratch.push_str("\\n"),
                    c => self.scratch.push(c),
                }
            }
            self.scratch.push('"');
        }
        self.scratch.push('}');
    }
}

/// The full 128-bit product of two words folded to 64 bits: the mixing step of the hash.
fn fold_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Little-endian word at `at`, from up to `N` bytes (missing ones read as zero).
fn word<const N: usize>(bytes: &[u8], at: usize) -> u64 {
    let mut buffer = [0u8; 8];
    if let Some(part) = bytes.get(at..at + N) {
        for (slot, byte) in buffer.iter_mut().zip(part) {
            *slot = *byte;
        }
    }
    u64::from_le_bytes(buffer)
}

/// Hashes `bytes` under `seed`, 16 bytes per step. Inputs up to 16 bytes (most names and label
/// values) take two overlapping reads and one multiply; the length is mixed in, so reads that
/// overlap or pad cannot make two inputs alike.
fn keyed_hash(seed: u64, bytes: &[u8]) -> u64 {
    const K0: u64 = 0x243f_6a88_85a3_08d3;
    const K1: u64 = 0x1319_8a2e_0370_7344;
    const K2: u64 = 0xa409_3822_299f_31d1;
    let length = bytes.len();
    let mut state = seed ^ (length as u64).wrapping_mul(K2);
    let (a, b) = match length {
        0 => (0, 0),
        1..=3 => {
            let first = u64::from(bytes.first().copied().unwrap_or(0));
            let middle = u64::from(bytes.get(length / 2).copied().unwrap_or(0));
            let last = u64::from(bytes.last().copied().unwrap_or(0));
            ((first << 16) | (middle << 8) | last, 0)
        }
        4..=7 => (word::<4>(bytes, 0), word::<4>(bytes, length - 4)),
        8..=16 => (word::<8>(bytes, 0), word::<8>(bytes, length - 8)),
        _ => {
            let mut at = 0;
            while length - at > 16 {
                state = fold_multiply(word::<8>(bytes, at) ^ K0, word::<8>(bytes, at + 8) ^ state);
                at += 16;
            }
            (word::<8>(bytes, length - 16), word::<8>(bytes, length - 8))
        }
    };
    let mixed = fold_multiply(a ^ K1 ^ seed, b ^ K0 ^ state);
    fold_multiply(mixed ^ K2, (length as u64) ^ K1 ^ seed)
}

/// A hasher for keys that are already keyed hashes: passes them through.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this; fold anything else in rather than panic.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::{SeriesKeys, keyed_hash};
    use crate::model::{Label, Sample};
    use std::borrow::Cow;

    #[test]
    fn rebuilt_blocks_match_canonical_input() {
        let mut keys = SeriesKeys::with_capacity(4);
        let mut sample = Sample::empty();
        sample.name = "m";
        sample.labels = [
            Label {
                name: "z",
                value: Cow::Owned("q\"\\\n".to_owned()),
            },
            Label {
                name: "a",
                value: Cow::Borrowed("x,y}"),
            },
        ]
        .into_iter()
        .collect();
        keys.canonical_block(&sample);
        assert_eq!(keys.scratch, r#"{a="x,y}",z="q\"\\\n"}"#);
        let written = keys.scratch.clone();
        assert_eq!(keys.insert(&sample, None, 1), None);
        assert_eq!(keys.insert(&sample, Some(&written), 2), Some(1));
        sample.labels.clear();
        keys.canonical_block(&sample);
        assert_eq!(keys.scratch, "");
    }

    #[test]
    fn keyed_hash_separates_lengths_seeds_and_bytes() {
        let inputs: [&[u8]; 12] = [
            b"",
            b"\0",
            b"\0\0",
            b"a",
            b"ab",
            b"abcd",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefghijklmnop",
            b"abcdefghijklmnopq",
            b"abcdefghijklmnopqrstuvwxyz0123456789",
            b"abcdefghijklmnopqrstuvwxyz0123456788",
        ];
        let mut seen = std::collections::HashSet::new();
        for seed in [0u64, 1, u64::MAX] {
            for input in inputs {
                assert!(seen.insert(keyed_hash(seed, input)), "{seed} {input:?}");
            }
        }
    }
}
