//! How a scalar's text becomes a value, exactly as PyYAML's `SafeLoader` does it.
//!
//! The published standard validates with `yaml.safe_load`, which reads YAML 1.1: `yes` is a
//! boolean, `017` is octal, `1_000` is an integer, `1e3` is a string (a YAML 1.1 float needs a
//! dot), `2024-01-01` is a date. A YAML 1.2 reader disagrees on each of these, and every
//! disagreement would turn into a verdict the standard does not give. So the rules below are
//! PyYAML's implicit resolvers and constructors, rewritten as small hand-made matchers (no
//! regex engine at run time: this runs for every plain scalar of every file).

use super::super::node::{Foreign, Int, Value};

/// What a plain scalar, or one with an explicit tag, turns into.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// An ordinary value.
    Value(Value),
    /// The YAML 1.1 merge key `<<`.
    MergeKey,
    /// The YAML 1.1 "value key" `=`: a string when used as a key, an error elsewhere.
    ValueKey,
}

/// Resolves the text of a plain (unquoted, untagged) scalar the way PyYAML does.
///
/// The error is a message for a value PyYAML recognises but then fails to construct, such as
/// the date `2024-02-30` or the integer `0x_`.
pub fn resolve_plain(text: &str) -> Result<Scalar, String> {
    let Some(first) = text.bytes().next() else {
        return Ok(Scalar::Value(Value::Null));
    };
    // PyYAML tries the resolvers registered for the first character, in registration order:
    // bool, float, int, merge, null, timestamp, value.
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' => {
            if let Some(b) = yaml11_bool(text) {
                return Ok(Scalar::Value(Value::Bool(b)));
            }
            if is_null_word(text) {
                return Ok(Scalar::Value(Value::Null));
            }
        }
        b'~' if text == "~" => return Ok(Scalar::Value(Value::Null)),
        b'<' if text == "<<" => return Ok(Scalar::MergeKey),
        b'=' if text == "=" => return Ok(Scalar::ValueKey),
        b'-' | b'+' | b'.' | b'0'..=b'9' => {
            if is_float(text) {
                return construct_float(text).map(|f| Scalar::Value(Value::Float(f)));
            }
            if first != b'.' && is_int(text) {
                return construct_int(text).map(|i| Scalar::Value(Value::Int(i)));
            }
            if first.is_ascii_digit() && is_implicit_timestamp(text) {
                return check_timestamp(text).map(|()| Scalar::Value(Value::Foreign(Foreign::Timestamp)));
            }
        }
        _ => {}
    }
    Ok(Scalar::Value(Value::Str(text.to_string())))
}

/// Resolves a plain scalar of a JSON file: only `true`, `false`, `null` and numbers are plain.
pub fn resolve_json(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => {
            let integral = text.bytes().all(|b| b.is_ascii_digit() || b == b'-');
            if integral && let Ok(i) = construct_int(text) {
                return Value::Int(i);
            }
            match text.parse::<f64>() {
                Ok(f) => Value::Float(f),
                Err(_) => Value::Str(text.to_string()),
            }
        }
    }
}

/// Constructs a scalar carrying an explicit core tag (`!!int "42"`), as PyYAML's constructors do.
///
/// `suffix` is the part after `tag:yaml.org,2002:`. Unknown suffixes are the caller's problem.
pub fn construct_tagged(suffix: &str, text: &str) -> Result<Scalar, String> {
    let value = match suffix {
        "str" => Value::Str(text.to_string()),
        "null" => Value::Null,
        "bool" => match yaml11_bool(&text.to_ascii_lowercase()) {
            Some(b) => Value::Bool(b),
            None => return Err(format!("{text:?} is not a YAML boolean")),
        },
        "int" => Value::Int(construct_int(text.trim())?),
        "float" => Value::Float(construct_float(text.trim())?),
        "timestamp" => {
            check_timestamp(text)?;
            Value::Foreign(Foreign::Timestamp)
        }
        "binary" => Value::Foreign(Foreign::Binary),
        "merge" if text == "<<" => return Ok(Scalar::MergeKey),
        "value" if text == "=" => return Ok(Scalar::ValueKey),
        "seq" | "map" | "set" | "omap" | "pairs" => {
            return Err(format!("the tag !!{suffix} cannot be used on a scalar"));
        }
        other => return Err(format!("unsupported tag !!{other}")),
    };
    Ok(Scalar::Value(value))
}

fn yaml11_bool(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn is_null_word(text: &str) -> bool {
    matches!(text, "~" | "null" | "Null" | "NULL" | "")
}

/// A cursor over ASCII bytes, for writing the resolver patterns as code.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(b) if f(b) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    /// Consumes bytes while `f` holds; returns how many.
    fn eat_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.eat_if(&f) {}
        self.at - start
    }

    fn eat_sign(&mut self) {
        let _ = self.eat(b'-') || self.eat(b'+');
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.bytes[self.at..].starts_with(s.as_bytes()) {
            self.at += s.len();
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn rest_is(&self, options: &[&str]) -> bool {
        let rest = &self.bytes[self.at..];
        options.iter().any(|o| rest == o.as_bytes())
    }
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// `(?:[eE][-+][0-9]+)?` then end of text.
fn optional_exponent_then_end(c: &mut Cursor) -> bool {
    if c.eat_if(|b| b == b'e' || b == b'E') {
        if !c.eat_if(|b| b == b'-' || b == b'+') {
            return false;
        }
        if c.eat_while(|b| b.is_ascii_digit()) == 0 {
            return false;
        }
    }
    c.done()
}

/// `(?::[0-5]?[0-9])+`: at least one sexagesimal group.
fn sexagesimal_groups(c: &mut Cursor) -> bool {
    let mut groups = 0;
    while c.peek() == Some(b':') {
        let save = c.at;
        c.at += 1;
        // `[0-5]?[0-9]`: one or two digits, the first of two at most 5.
        let d1 = c.peek();
        let d2 = c.bytes.get(c.at + 1).copied();
        match (d1, d2) {
            (Some(a @ b'0'..=b'5'), Some(b'0'..=b'9')) => {
                let _ = a;
                c.at += 2;
            }
            (Some(b'0'..=b'9'), _) => c.at += 1,
            _ => {
                c.at = save;
                break;
            }
        }
        groups += 1;
    }
    groups > 0
}

/// PyYAML's implicit float pattern.
fn is_float(text: &str) -> bool {
    // [-+]?\.(?:inf|Inf|INF) and \.(?:nan|NaN|NAN)
    {
        let mut c = Cursor::new(text);
        c.eat_sign();
        if c.eat(b'.') && c.rest_is(&["inf", "Inf", "INF"]) {
            return true;
        }
        if matches!(text, ".nan" | ".NaN" | ".NAN") {
            return true;
        }
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    {
        let mut c = Cursor::new(text);
        if c.eat(b'.') && c.eat_if(|b| b.is_ascii_digit()) {
            c.eat_while(digit_or_underscore);
            if optional_exponent_then_end(&mut c) {
                return true;
            }
        }
    }
    // [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    let mut c = Cursor::new(text);
    c.eat_sign();
    if !c.eat_if(|b| b.is_ascii_digit()) {
        return false;
    }
    // `[0-9_]*` is greedy but may give back nothing useful: the next byte must be `.` or `:`,
    // neither of which it consumes, so greedy consumption is exact here.
    c.eat_while(digit_or_underscore);
    if c.eat(b'.') {
        c.eat_while(digit_or_underscore);
        return optional_exponent_then_end(&mut c);
    }
    if sexagesimal_groups(&mut c) && c.eat(b'.') {
        c.eat_while(digit_or_underscore);
        return c.done();
    }
    false
}

/// PyYAML's implicit int pattern.
fn is_int(text: &str) -> bool {
    let mut c = Cursor::new(text);
    c.eat_sign();
    let body = Cursor {
        bytes: c.bytes,
        at: c.at,
    };
    // [-+]?0b[0-1_]+
    let mut b = Cursor { ..body };
    if b.eat_str("0b") && b.eat_while(|x| matches!(x, b'0' | b'1' | b'_')) > 0 && b.done() {
        return true;
    }
    // [-+]?0x[0-9a-fA-F_]+
    let mut b = Cursor { ..body };
    if b.eat_str("0x") && b.eat_while(|x| x.is_ascii_hexdigit() || x == b'_') > 0 && b.done() {
        return true;
    }
    // [-+]?0[0-7_]+
    let mut b = Cursor { ..body };
    if b.eat(b'0') && b.eat_while(|x| matches!(x, b'0'..=b'7' | b'_')) > 0 && b.done() {
        return true;
    }
    // [-+]?(?:0|[1-9][0-9_]*)
    let mut b = Cursor { ..body };
    if b.eat(b'0') && b.done() {
        return true;
    }
    let mut b = Cursor { ..body };
    if b.eat_if(|x| matches!(x, b'1'..=b'9')) {
        b.eat_while(digit_or_underscore);
        if b.done() {
            return true;
        }
        // [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        if sexagesimal_groups(&mut b) && b.done() {
            return true;
        }
    }
    false
}

/// PyYAML's implicit timestamp pattern (stricter than the one its constructor uses).
fn is_implicit_timestamp(text: &str) -> bool {
    let mut c = Cursor::new(text);
    if !four_digits(&mut c) || !c.eat(b'-') {
        return false;
    }
    // Date only: exactly two-digit month and day.
    {
        let mut d = Cursor { ..c };
        if d.eat_while(|b| b.is_ascii_digit()) == 2
            && d.eat(b'-')
            && d.eat_while(|b| b.is_ascii_digit()) == 2
            && d.done()
        {
            return true;
        }
    }
    timestamp_rest(&mut c, true)
}

fn four_digits(c: &mut Cursor) -> bool {
    (0..4).all(|_| c.eat_if(|b| b.is_ascii_digit()))
}

fn one_or_two_digits(c: &mut Cursor) -> Option<u32> {
    let mut v = 0u32;
    let mut n = 0;
    while n < 2 {
        match c.peek() {
            Some(b @ b'0'..=b'9') => {
                v = v * 10 + u32::from(b - b'0');
                c.at += 1;
                n += 1;
            }
            _ => break,
        }
    }
    (n > 0).then_some(v)
}

fn exactly_two_digits(c: &mut Cursor) -> Option<u32> {
    let a = c.peek().filter(u8::is_ascii_digit)?;
    let b = c.bytes.get(c.at + 1).copied().filter(u8::is_ascii_digit)?;
    c.at += 2;
    Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
}

/// Parsed fields of a timestamp, for the constructor's range checks.
struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    time: Option<(u32, u32, u32)>,
    /// Offset in minutes, absolute.
    offset_minutes: u32,
}

/// After `YYYY-`: `M(M)-D(D)` then (when `time_required`) the time part; returns whether the
/// whole text matched.
fn timestamp_rest(c: &mut Cursor, time_required: bool) -> bool {
    parse_timestamp_from(c, time_required).is_some()
}

fn parse_timestamp_from(c: &mut Cursor, time_required: bool) -> Option<Timestamp> {
    let year_text = std::str::from_utf8(c.bytes.get(..4)?).ok()?;
    let year: u32 = year_text.parse().ok()?;
    let month = one_or_two_digits(c)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = one_or_two_digits(c)?;
    if c.done() {
        return (!time_required).then_some(Timestamp {
            year,
            month,
            day,
            time: None,
            offset_minutes: 0,
        });
    }
    // (?:[Tt]|[ \t]+)
    if !(c.eat(b'T') || c.eat(b't') || c.eat_while(|b| b == b' ' || b == b'\t') > 0) {
        return None;
    }
    let hour = one_or_two_digits(c)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = exactly_two_digits(c)?;
    if !c.eat(b':') {
        return None;
    }
    let second = exactly_two_digits(c)?;
    if c.eat(b'.') {
        c.eat_while(|b| b.is_ascii_digit());
    }
    let mut offset_minutes = 0;
    if !c.done() {
        c.eat_while(|b| b == b' ' || b == b'\t');
        if !c.eat(b'Z') {
            if !c.eat_if(|b| b == b'-' || b == b'+') {
                return None;
            }
            let h = one_or_two_digits(c)?;
            let m = if c.eat(b':') { exactly_two_digits(c)? } else { 0 };
            offset_minutes = h * 60 + m;
        }
    }
    c.done().then_some(Timestamp {
        year,
        month,
        day,
        time: Some((hour, minute, second)),
        offset_minutes,
    })
}

/// PyYAML's timestamp constructor: the (looser) constructor pattern, then Python's
/// `datetime` range checks, whose failures make `safe_load` raise.
fn check_timestamp(text: &str) -> Result<(), String> {
    let mut c = Cursor::new(text);
    let parsed = if four_digits(&mut c) && c.eat(b'-') {
        parse_timestamp_from(&mut c, false)
    } else {
        None
    };
    let Some(ts) = parsed else {
        return Err(format!("{text:?} is not a YAML timestamp"));
    };
    if ts.year == 0 {
        return Err(format!("{text:?} is not a valid date: year 0 is out of range"));
    }
    if !(1..=12).contains(&ts.month) {
        return Err(format!("{text:?} is not a valid date: month must be in 1..12"));
    }
    if ts.day == 0 || ts.day > days_in_month(ts.year, ts.month) {
        return Err(format!("{text:?} is not a valid date: day is out of range for month"));
    }
    if let Some((h, m, s)) = ts.time
        && (h > 23 || m > 59 || s > 59)
    {
        return Err(format!("{text:?} is not a valid time of day"));
    }
    if ts.offset_minutes >= 24 * 60 {
        return Err(format!("{text:?} has a time zone offset of 24 hours or more"));
    }
    Ok(())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Digits in `radix` to an integer, saturating into [`Int::Huge`]; `None` if empty or invalid.
fn parse_radix(digits: &str, radix: u32, negative: bool) -> Option<Int> {
    if digits.is_empty() {
        return None;
    }
    let mut acc: i128 = 0;
    let mut huge = false;
    for ch in digits.chars() {
        let d = ch.to_digit(radix)?;
        if !huge {
            match acc
                .checked_mul(i128::from(radix))
                .and_then(|v| v.checked_add(i128::from(d)))
            {
                Some(v) => acc = v,
                None => huge = true,
            }
        }
    }
    Some(if huge {
        Int::Huge { negative }
    } else if negative {
        Int::Small(-acc)
    } else {
        Int::Small(acc)
    })
}

/// PyYAML's `construct_yaml_int`.
fn construct_int(text: &str) -> Result<Int, String> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let bad = || format!("{text:?} is not a valid YAML integer");
    let (negative, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        Some(_) => (false, cleaned.as_str()),
        None => return Err(bad()),
    };
    if body == "0" {
        return Ok(Int::Small(0));
    }
    let parsed = if let Some(bin) = body.strip_prefix("0b") {
        parse_radix(bin, 2, negative)
    } else if let Some(hex) = body.strip_prefix("0x") {
        parse_radix(hex, 16, negative)
    } else if body.starts_with('0') {
        // Python's int(value, 8) also takes an `0o` prefix.
        let oct = body.strip_prefix("0o").unwrap_or(body);
        parse_radix(oct, 8, negative)
    } else if body.contains(':') {
        sexagesimal_int(body, negative)
    } else {
        parse_radix(body, 10, negative)
    };
    parsed.ok_or_else(bad)
}

fn sexagesimal_int(body: &str, negative: bool) -> Option<Int> {
    let mut acc: i128 = 0;
    for part in body.split(':') {
        let Int::Small(v) = parse_radix(part, 10, false)? else {
            return Some(Int::Huge { negative });
        };
        acc = match acc.checked_mul(60).and_then(|a| a.checked_add(v)) {
            Some(a) => a,
            None => return Some(Int::Huge { negative }),
        };
    }
    Some(Int::Small(if negative { -acc } else { acc }))
}

/// PyYAML's `construct_yaml_float`.
fn construct_float(text: &str) -> Result<f64, String> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect::<String>().to_lowercase();
    let bad = || format!("{text:?} is not a valid YAML float");
    let (sign, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        Some(_) => (1.0, cleaned.as_str()),
        None => return Err(bad()),
    };
    if body == ".inf" {
        return Ok(sign * f64::INFINITY);
    }
    if body == ".nan" {
        return Ok(f64::NAN);
    }
    if body.contains(':') {
        let mut acc = 0.0;
        for part in body.split(':') {
            acc = acc * 60.0 + python_float(part).ok_or_else(bad)?;
        }
        return Ok(sign * acc);
    }
    python_float(body).map(|f| sign * f).ok_or_else(bad)
}

/// Python's `float(str)` for the texts that reach it here.
fn python_float(s: &str) -> Option<f64> {
    let s = s.trim();
    // Rust accepts "inf"/"nan"/"infinity" like Python; it rejects a bare sign or dot like Python.
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Value {
        match resolve_plain(s) {
            Ok(Scalar::Value(v)) => v,
            other => panic!("{s:?} resolved to {other:?}"),
        }
    }

    fn int(v: i128) -> Value {
        Value::Int(Int::Small(v))
    }

    #[test]
    fn yaml11_booleans_and_nulls() {
        for t in ["yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"] {
            assert_eq!(plain(t), Value::Bool(true), "{t}");
        }
        for t in ["no", "NO", "off", "Off", "false", "FALSE"] {
            assert_eq!(plain(t), Value::Bool(false), "{t}");
        }
        for t in ["y", "n", "yES", "oN", "tRUE"] {
            assert_eq!(plain(t), Value::Str(t.into()), "{t}");
        }
        for t in ["~", "null", "Null", "NULL", ""] {
            assert_eq!(plain(t), Value::Null, "{t}");
        }
        assert_eq!(plain("nULL"), Value::Str("nULL".into()));
    }

    #[test]
    fn yaml11_integers() {
        assert_eq!(plain("0"), int(0));
        assert_eq!(plain("-0"), int(0));
        assert_eq!(plain("017"), int(15));
        assert_eq!(plain("0_"), int(0));
        assert_eq!(plain("1_000"), int(1000));
        assert_eq!(plain("0x1F"), int(31));
        assert_eq!(plain("-0x1_f"), int(-31));
        assert_eq!(plain("0b101"), int(5));
        assert_eq!(plain("+12"), int(12));
        assert_eq!(plain("1:30"), int(90));
        assert_eq!(plain("1:5"), int(65));
        assert_eq!(plain("-1:30"), int(-90));
        assert_eq!(
            plain("1000000000000000000000000000000000000000000"),
            Value::Int(Int::Huge { negative: false })
        );
        for s in [
            "08", "09", "0o17", "1:70", "0:30", "12:60", "1e3", "1E3", "0x", "+", "-",
        ] {
            assert_eq!(plain(s), Value::Str(s.into()), "{s}");
        }
    }

    #[test]
    fn integers_that_match_but_fail_to_construct_are_errors() {
        assert!(resolve_plain("0b_").is_err());
        assert!(resolve_plain("0x_").is_err());
        assert!(resolve_plain("-0x__").is_err());
    }

    #[test]
    fn yaml11_floats() {
        assert_eq!(plain("1.5"), Value::Float(1.5));
        assert_eq!(plain("1."), Value::Float(1.0));
        assert_eq!(plain("1._"), Value::Float(1.0));
        assert_eq!(plain(".5"), Value::Float(0.5));
        assert_eq!(plain("1.e+3"), Value::Float(1000.0));
        assert_eq!(plain("1.0e+3"), Value::Float(1000.0));
        assert_eq!(plain("1:2:3.5"), Value::Float(3723.5));
        assert_eq!(plain("190:20:30.15"), Value::Float(685230.15));
        assert_eq!(plain(".inf"), Value::Float(f64::INFINITY));
        assert_eq!(plain("-.Inf"), Value::Float(f64::NEG_INFINITY));
        assert!(matches!(plain(".NaN"), Value::Float(f) if f.is_nan()));
        for s in [
            "1.0e3", "1.5e3", "-.5", "+.5", ".e3", "._", ".", "+.nan", "-.nan", ".Nan", "1e+3",
        ] {
            assert_eq!(plain(s), Value::Str(s.into()), "{s}");
        }
    }

    #[test]
    fn yaml11_timestamps() {
        assert_eq!(plain("2024-01-01"), Value::Foreign(Foreign::Timestamp));
        assert_eq!(
            plain("2001-12-14t21:59:43.10-05:00"),
            Value::Foreign(Foreign::Timestamp)
        );
        assert_eq!(plain("2001-12-14 21:59:43.10 Z"), Value::Foreign(Foreign::Timestamp));
        assert_eq!(plain("2024-1-1"), Value::Str("2024-1-1".into()));
        assert_eq!(plain("2025-01"), Value::Str("2025-01".into()));
        assert!(resolve_plain("2024-02-30").is_err());
        assert!(resolve_plain("2024-13-01").is_err());
        assert!(resolve_plain("0000-01-01").is_err());
        assert!(resolve_plain("2001-12-14 24:59:43").is_err());
        assert!(resolve_plain("2001-12-14 21:59:43.10 +25:00").is_err());
        assert_eq!(plain("2024-02-29"), Value::Foreign(Foreign::Timestamp));
        assert!(resolve_plain("2023-02-29").is_err());
    }

    #[test]
    fn merge_and_value_keys() {
        assert_eq!(resolve_plain("<<"), Ok(Scalar::MergeKey));
        assert_eq!(resolve_plain("="), Ok(Scalar::ValueKey));
        assert_eq!(plain("<<<"), Value::Str("<<<".into()));
    }

    #[test]
    fn explicit_tags() {
        let v = |t: &str, s: &str| match construct_tagged(t, s) {
            Ok(Scalar::Value(v)) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(v("int", "42"), int(42));
        assert_eq!(v("int", " 42"), int(42));
        assert_eq!(v("float", "3"), Value::Float(3.0));
        assert_eq!(v("bool", "YES"), Value::Bool(true));
        assert_eq!(v("str", "123"), Value::Str("123".into()));
        assert_eq!(v("null", "x"), Value::Null);
        assert_eq!(v("timestamp", "2024-1-1"), Value::Foreign(Foreign::Timestamp));
        assert!(construct_tagged("bool", "y").is_err());
        assert!(construct_tagged("int", "abc").is_err());
        assert!(construct_tagged("int", "").is_err());
        assert!(construct_tagged("timestamp", "garbage").is_err());
    }

    #[test]
    fn json_scalars() {
        assert_eq!(resolve_json("1"), int(1));
        assert_eq!(resolve_json("-3"), int(-3));
        assert_eq!(resolve_json("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_json("true"), Value::Bool(true));
        assert_eq!(resolve_json("null"), Value::Null);
    }
}
