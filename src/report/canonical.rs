//! The canonical JSON of a typed value, written without building a JSON tree.
//!
//! A report records the SHA-256 of its observation's canonical JSON: what
//! `serde_json::to_value(x)?.to_string()` gives (object keys sorted bytewise, as the tree's
//! `BTreeMap` keeps them; compact; numbers, strings and escapes as serde_json writes them).
//! Building that tree for every report is most of what hashing costs when `fleet` verifies
//! thousands; this serializer writes the same bytes directly: each object's members are
//! serialized into buffers, sorted by key, and written. Hand-written because no crate writes
//! serde_json's own canonical form (RFC 8785 canonicalizers format numbers differently); the
//! tests hold it to byte equality with the tree's text.

use std::borrow::Cow;
use std::fmt::Display;

use serde::Serialize;
use serde::ser;

/// Why a value has no canonical JSON (as `serde_json::to_value` would refuse it).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// The canonical JSON of `value`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(4096);
    value.serialize(Canonical { out: &mut out })?;
    Ok(out)
}

/// SHA-256 (hex) of the canonical JSON of `value`, written into a buffer each thread keeps.
pub fn sha256<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    thread_local! {
        static OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    OUT.with(|out| {
        let mut out = out
            .try_borrow_mut()
            .map_err(|_| Error("the canonical writer is busy".into()))?;
        out.clear();
        value.serialize(Canonical { out: &mut out })?;
        Ok(crate::digest::sha256_hex(&out))
    })
}

/// Serializes `Some(value)` as its canonical JSON, verbatim (for a field's `serialize_with`):
/// a report embeds its observation this way, so the text its hash covers is the text in the
/// file, and [`embedded`] finds and hashes it without reading it into types first. A value with
/// no canonical JSON is serialized as usual.
pub fn embed<T: Serialize, S: ser::Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
    let Some(value) = value else {
        return serializer.serialize_none();
    };
    let raw = to_vec(value)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| serde_json::value::RawValue::from_string(text).ok());
    match raw {
        Some(raw) => raw.serialize(serializer),
        None => value.serialize(serializer),
    }
}

/// The text of a report's top-level `observation` member as [`embed`] wrote it into a
/// pretty-printed report: the rest of the line after `\n  "observation": `, when that line is
/// the top-level member; `None` otherwise (an older report, a report edited or re-indented),
/// and the caller reads the observation the slow way.
///
/// Found by its line, not by parsing: a JSON string holds no raw newline, so a line that opens
/// with two spaces and `"observation": ` is a member key at some depth, and its one-line value
/// ends the line. That it is the top-level member is checked from what follows: the members
/// after it close exactly one object and end the document, which (the document being valid
/// JSON, as the caller's parse establishes) only the top-level object can do. Its hash is
/// then the hash of the observation the report's types hold: equal texts read to equal values.
pub fn embedded(report: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\n  \"observation\": ";
    let at = memchr::memmem::rfind(report, KEY)? + KEY.len();
    let line = report.get(at..)?;
    let end = memchr::memchr(b'\n', line)?;
    let (value, rest) = line.split_at(end);
    let value = value.strip_suffix(b",").unwrap_or(value);
    if !(value.starts_with(b"{") && value.ends_with(b"}")) {
        return None;
    }
    closes_one_object(rest).then_some(value)
}

/// Whether `text` (JSON tokens after a member's value) closes exactly one more container than
/// it opens, with that `}` its last token.
fn closes_one_object(text: &[u8]) -> bool {
    let mut depth: i64 = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut closed_at = None;
    for (i, &b) in text.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth < 0 {
                    closed_at = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    match closed_at {
        Some(i) => text[i] == b'}' && text[i + 1..].iter().all(u8::is_ascii_whitespace),
        None => false,
    }
}

/// A JSON string literal, escaped as serde_json escapes it.
fn string(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn float(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let _ = serde_json::to_writer(&mut *out, &v);
    } else {
        out.extend_from_slice(b"null");
    }
}

fn display(out: &mut Vec<u8>, v: impl Display) {
    use std::io::Write;
    let _ = write!(out, "{v}");
}

struct Canonical<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> ser::Serializer for Canonical<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        display(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        if i64::try_from(v).is_ok() || u64::try_from(v).is_ok() {
            display(self.out, v);
            Ok(())
        } else {
            Err(Error("number out of range".into()))
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        display(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(v) => self.serialize_u64(v),
            Err(_) => Err(Error("number out of range".into())),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        float(self.out, f64::from(v));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        float(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        string(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        string(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.out.push(b'[');
        for (i, b) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            display(self.out, b);
        }
        self.out.push(b']');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        string(self.out, variant);
        self.out.push(b':');
        value.serialize(Canonical { out: &mut *self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Error> {
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Error> {
        self.out.push(b'{');
        string(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Seq {
            out: self.out,
            first: true,
            variant: true,
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, Some(variant)))
    }
}

struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// A tuple variant: `{"variant":[...]}`.
    variant: bool,
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canonical { out: &mut *self.out })
    }

    fn finish(self) -> Result<(), Error> {
        self.out.push(b']');
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

/// The four sequence traits are one: each element, then the closing bracket.
macro_rules! sequence {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

sequence!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// An object being written. Members go straight into the output as they come, each
/// `"key":value` with its span recorded; at the end, when the keys are not already in order (or
/// one repeats), the members are copied out and written again sorted. An object whose fields
/// come sorted is never copied.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    /// A struct variant: `{"variant":{...}}`.
    variant: Option<&'static str>,
    /// Where the first member starts.
    start: usize,
    /// Each member's key and where its `"key":value` lies in `out` (a struct's field names
    /// are borrowed: most of an observation's keys).
    members: Vec<(Cow<'static, str>, usize, usize)>,
    key: Option<String>,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>, variant: Option<&'static str>) -> Object<'a> {
        if let Some(variant) = variant {
            out.push(b'{');
            string(out, variant);
            out.push(b':');
        }
        out.push(b'{');
        let start = out.len();
        Object {
            out,
            variant,
            start,
            members: Vec::new(),
            key: None,
        }
    }

    fn member<T: Serialize + ?Sized>(&mut self, key: Cow<'static, str>, value: &T) -> Result<(), Error> {
        if !self.members.is_empty() {
            self.out.push(b',');
        }
        let from = self.out.len();
        string(self.out, &key);
        self.out.push(b':');
        value.serialize(Canonical { out: &mut *self.out })?;
        let to = self.out.len();
        self.members.push((key, from, to));
        Ok(())
    }

    fn finish(mut self) -> Result<(), Error> {
        let in_order = self.members.windows(2).all(|w| w[0].0 < w[1].0);
        if !in_order {
            SCRATCH.with(|scratch| self.reorder(&mut scratch.borrow_mut()));
        }
        self.out.push(b'}');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        Ok(())
    }

    /// Writes the members again, sorted, through `written` (a buffer kept per thread).
    fn reorder(&mut self, written: &mut Vec<u8>) {
        written.clear();
        written.extend_from_slice(&self.out[self.start..]);
        self.out.truncate(self.start);
        // Stable, so of two members with one key the later one stays last: it wins, as in a
        // map.
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut first = true;
        for (i, (key, from, to)) in self.members.iter().enumerate() {
            if self.members.get(i + 1).is_some_and(|next| &next.0 == key) {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            self.out.extend_from_slice(&written[from - self.start..to - self.start]);
        }
    }
}

thread_local! {
    /// The members of an object being reordered, copied out of the output.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // A map key as serde_json's tree makes it: a string, or a number or bool as text.
        let text = match serde_json::to_value(key).map_err(|e| Error(e.to_string()))? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        self.key = Some(text);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without its key".into()))?;
        self.member(Cow::Owned(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// A struct and a struct variant are one: named fields, sorted at the end.
macro_rules! structure {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Object<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
                self.member(Cow::Borrowed(key), value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

structure!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    fn tree_text<T: Serialize>(v: &T) -> String {
        serde_json::to_value(v).expect("to_value").to_string()
    }

    #[test]
    fn the_hash_is_of_the_canonical_text() {
        let v = json!({"b": 1, "a": [true, null]});
        assert_eq!(
            sha256(&v).expect("hash"),
            crate::digest::sha256_hex(v.to_string().as_bytes())
        );
    }

    #[test]
    fn the_demo_observation_writes_as_its_tree_does() {
        let observation: crate::observe::Observation =
            serde_json::from_str(include_str!("../../fixtures/demo/observation.json")).expect("demo observation");
        let ours = String::from_utf8(to_vec(&observation).expect("canonical")).expect("UTF-8");
        assert_eq!(ours, tree_text(&observation));
    }

    /// A report with the demo observation, as `--format json` writes it.
    fn demo_report_text() -> (crate::observe::Observation, String) {
        let observation: crate::observe::Observation =
            serde_json::from_str(include_str!("../../fixtures/demo/observation.json")).expect("demo observation");
        let mut report = crate::report::Report::new(
            "node-1".into(),
            "2026-12-07T00:00:00Z".into(),
            "2026-12-07T00:00:01Z".into(),
            Vec::new(),
            Vec::new(),
            Some(observation.clone()),
        );
        report.unanswered_probes = vec!["gpu".into()];
        let mut out = Vec::new();
        crate::report::json::render(&mut out, &report).expect("render");
        (observation, String::from_utf8(out).expect("UTF-8"))
    }

    #[test]
    fn a_report_embeds_the_observation_as_the_text_its_hash_covers() {
        let (observation, text) = demo_report_text();
        let line = embedded(text.as_bytes()).expect("found");
        assert!(line == to_vec(&observation).expect("canonical").as_slice());
        assert_eq!(
            crate::digest::sha256_hex(line),
            crate::report::derive::observation_sha256(&serde_json::to_value(&observation).expect("tree"))
        );
        // The report reads back to the same observation.
        let back: crate::report::Report = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back.observation.as_ref(), Some(&observation));
        // The last member of the report too (no comma after it).
        let (_, text) = demo_report_text();
        let cut = text.find(",\n  \"unanswered_probes\"").expect("a member follows");
        let last = format!("{}\n}}\n", &text[..cut]);
        assert!(embedded(last.as_bytes()) == Some(line));
    }

    #[test]
    fn only_the_top_level_observation_line_is_taken() {
        let (observation, text) = demo_report_text();
        let line = String::from_utf8(to_vec(&observation).expect("canonical")).expect("UTF-8");
        // Re-indented, or compact: not found (the caller hashes from the types).
        let tree: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert!(embedded(serde_json::to_string(&tree).expect("compact").as_bytes()).is_none());
        assert!(embedded(text.replace("\n  \"", "\n    \"").as_bytes()).is_none());
        // The observation's line copied into a nested object after the real one: refused, as
        // what follows it closes that object, not the report.
        let nested = text.replacen(
            "\n  \"unanswered_probes\"",
            &format!("\n  \"x\": {{\n  \"observation\": {line}\n}},\n  \"unanswered_probes\""),
            1,
        );
        assert!(serde_json::from_str::<serde_json::Value>(&nested).is_ok());
        assert!(embedded(nested.as_bytes()).is_none());
        // Cut short: not found.
        assert!(embedded(&text.as_bytes()[..text.len() - 3]).is_none());
        // A string that holds braces after it does not confuse the count.
        let braces = text.replacen("    \"gpu\"", "    \"g}}\\\"{pu\"", 1);
        assert_ne!(braces, text);
        assert!(embedded(braces.as_bytes()) == Some(line.as_bytes()));
    }

    #[test]
    fn every_shape_writes_as_the_tree_does() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, String),
            Struct { z: u8, a: Option<u8> },
        }
        #[derive(Serialize)]
        struct S {
            zeta: f64,
            alpha: Vec<E>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            map: std::collections::BTreeMap<u32, &'static str>,
            text: &'static str,
            nan: f32,
            bytes: &'static [u8],
            neg: i64,
        }
        let s = S {
            zeta: 2.0,
            alpha: vec![E::Unit, E::New(1), E::Tuple(2, "t".into()), E::Struct { z: 1, a: None }],
            skipped: None,
            map: [(10, "ten"), (9, "nine")].into_iter().collect(),
            text: "quote \" slash \\ nl \n ctl \u{1} é",
            nan: f32::NAN,
            bytes: b"ab",
            neg: -5,
        };
        assert_eq!(
            String::from_utf8(to_vec(&s).expect("canonical")).expect("UTF-8"),
            tree_text(&s)
        );
        let v = json!({"b": [1, 2.5, -3, 1e300, null, true], "a": {"y": "x", "x": {}}, "": []});
        assert_eq!(
            String::from_utf8(to_vec(&v).expect("canonical")).expect("UTF-8"),
            v.to_string()
        );
    }
}
