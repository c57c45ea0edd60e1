//! Values for people: how the table and the Markdown report write a declared or observed JSON
//! value. It only formats; the JSON report keeps the raw values.

use serde_json::Value as Json;

/// A value as a person reads it: strings bare, lists comma-separated, numbers without a
/// trailing `.0`, booleans as yes/no, a latency as `32 ms`, other objects as `key: value, …`,
/// nothing for null.
pub fn value(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::Bool(true) => "yes".to_string(),
        Json::Bool(false) => "no".to_string(),
        Json::Number(_) => number(v),
        Json::String(s) => s.clone(),
        Json::Array(items) if items.is_empty() => "none".to_string(),
        Json::Array(items) => items.iter().map(value).collect::<Vec<_>>().join(", "),
        Json::Object(map) if map.is_empty() => "none".to_string(),
        Json::Object(map) => map
            .iter()
            .map(|(key, v)| match key.as_str() {
                // Milliseconds read as whole milliseconds; an HTTP status needs no name.
                "latency_ms" => format!("{} ms", milliseconds(v)),
                "status" => value(v),
                _ => match key.strip_suffix("_ms") {
                    Some(name) => format!("{name}: {} ms", milliseconds(v)),
                    None => format!("{key}: {}", value(v)),
                },
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// [`value`] cut to at most `max` characters, the cut marked with `…`.
pub fn short(v: &Json, max: usize) -> String {
    cut(&value(v), max)
}

/// `text` cut to at most `max` characters, the cut marked with `…`.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{head}…")
}

/// A number without a trailing `.0`.
fn number(v: &Json) -> String {
    match v.as_f64() {
        Some(f) if v.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => v.to_string(),
    }
}

/// Milliseconds by [`crate::check::milliseconds`], the rule findings' messages follow.
fn milliseconds(v: &Json) -> String {
    match v.as_f64() {
        Some(f) if f.abs() < 1e15 => crate::check::milliseconds(f),
        _ => value(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_people_write_them() {
        assert_eq!(value(&json!(null)), "");
        assert_eq!(value(&json!("vllm")), "vllm");
        assert_eq!(value(&json!(["mistralai/Mistral", "x"])), "mistralai/Mistral, x");
        assert_eq!(value(&json!({"latency_ms": 32.054, "status": 200})), "32 ms, 200");
        assert_eq!(value(&json!({"latency_ms": 1.26})), "1.3 ms");
        assert_eq!(value(&json!(2.0)), "2");
        assert_eq!(value(&json!(32.5)), "32.5");
        assert_eq!(value(&json!(256)), "256");
        assert_eq!(value(&json!(true)), "yes");
        assert_eq!(value(&json!(false)), "no");
        assert_eq!(value(&json!([])), "none");
        assert_eq!(value(&json!({"off": [1, 2]})), "off: 1, 2");
        assert_eq!(value(&json!({"lost": []})), "lost: none");
        assert_eq!(value(&json!({"ttft_ms": 120.4})), "ttft: 120 ms");
        assert_eq!(value(&json!(["8.9", "8.9"])), "8.9, 8.9");
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis() {
        assert_eq!(short(&json!("abcdef"), 4), "abc…");
        assert_eq!(short(&json!("abcd"), 4), "abcd");
        assert_eq!(cut("ab", 0), "…");
    }
}
