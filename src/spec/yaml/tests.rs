use super::scalar::{Scalar, resolve_plain};
use super::*;

fn load_one(text: &str) -> Result<Node, LoadError> {
    let mut docs = load(text, Syntax::Yaml, &Limits::default());
    assert_eq!(docs.len(), 1, "{text:?} gave {docs:?}");
    docs.remove(0)
}

fn value(text: &str) -> Value {
    match load_one(text) {
        Ok(node) => node.value,
        Err(e) => panic!("{text:?}: {e:?}"),
    }
}

fn error(text: &str) -> LoadError {
    match load_one(text) {
        Ok(node) => panic!("{text:?} loaded as {node:?}"),
        Err(e) => e,
    }
}

fn map_of(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(entries) => entries
            .iter()
            .map(|e| (e.key.key_token().into_owned(), e.value.value.clone()))
            .collect(),
        other => panic!("not a map: {other:?}"),
    }
}

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}

fn i(x: i128) -> Value {
    Value::Int(Int::Small(x))
}

/// The oracle table generated from PyYAML (see scripts/yaml11/gen_plain_scalars.py).
#[test]
fn plain_scalars_are_typed_exactly_as_pyyaml_types_them() {
    let table = include_str!("../../../fixtures/yaml11/plain-scalars.tsv");
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let Some((raw, verdict)) = line.split_once('\t') else {
            continue;
        };
        let text = raw.replace("\\t", "\t").replace("\\\\", "\\");
        rows += 1;
        let got = resolve_plain(&text);
        let ok = match (verdict.split_once(' ').unwrap_or((verdict, "")), &got) {
            (("error", _), Err(_)) => true,
            (("str", _), Ok(Scalar::Value(Value::Str(v)))) => *v == text,
            // `<<` and `=` resolve to markers; as values PyYAML fails on `=` and `<<` alike.
            (("str", _), Ok(Scalar::ValueKey | Scalar::MergeKey)) => false,
            (("error", _), Ok(Scalar::ValueKey | Scalar::MergeKey)) => true,
            (("null", _), Ok(Scalar::Value(Value::Null))) => true,
            (("bool", b), Ok(Scalar::Value(Value::Bool(v)))) => (b == "true") == *v,
            (("timestamp", _), Ok(Scalar::Value(Value::Foreign(Foreign::Timestamp)))) => true,
            (("int", n), Ok(Scalar::Value(Value::Int(v)))) => match n.parse::<i128>() {
                Ok(n) => *v == Int::Small(n),
                Err(_) => {
                    *v == Int::Huge {
                        negative: n.starts_with('-'),
                    }
                }
            },
            (("float", f), Ok(Scalar::Value(Value::Float(v)))) => match f.parse::<f64>() {
                Ok(f) if f.is_nan() => v.is_nan(),
                Ok(f) => f == *v,
                Err(_) => false,
            },
            _ => false,
        };
        if !ok {
            failures.push(format!("{text:?}: PyYAML says {verdict}, we say {got:?}"));
        }
    }
    assert!(rows > 20_000, "table too small: {rows}");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn quoted_and_block_scalars_are_strings() {
    let m = map_of(&value("a: '123'\nb: \"yes\"\nc: |\n  017\nd: >\n  on\n"));
    assert_eq!(m[0].1, s("123"));
    assert_eq!(m[1].1, s("yes"));
    assert_eq!(m[2].1, s("017\n"));
    assert_eq!(m[3].1, s("on\n"));
}

#[test]
fn keys_are_typed_too() {
    let m = map_of(&value("yes: 1\n2: 2\n~: 3\n"));
    assert_eq!(m[0].0, "true");
    assert_eq!(m[1].0, "2");
    assert_eq!(m[2].0, "null");
}

#[test]
fn non_specific_tag_resolves_like_plain_even_when_quoted() {
    // PyYAML's quirk: `! "123"` is the integer 123.
    assert_eq!(map_of(&value("a: ! \"123\"\n"))[0].1, i(123));
    assert_eq!(map_of(&value("a: ! 12\n"))[0].1, i(12));
}

#[test]
fn explicit_core_tags_construct_their_type() {
    let m = map_of(&value(
        "a: !!str 123\nb: !!int \"42\"\nc: !!float 3\nd: !!null x\ne: !!bool YES\n",
    ));
    assert_eq!(m[0].1, s("123"));
    assert_eq!(m[1].1, i(42));
    assert_eq!(m[2].1, Value::Float(3.0));
    assert_eq!(m[3].1, Value::Null);
    assert_eq!(m[4].1, Value::Bool(true));
    assert_eq!(
        map_of(&value("a: !!binary aGVsbG8=\n"))[0].1,
        Value::Foreign(Foreign::Binary)
    );
    assert_eq!(map_of(&value("a: !!set {x, y}\n"))[0].1, Value::Foreign(Foreign::Set));
    match &map_of(&value("a: !!omap [b: 1, c: 2]\n"))[0].1 {
        Value::Seq(items) => assert!(items.iter().all(|n| n.value == Value::Foreign(Foreign::Pair))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tags_the_safe_loader_refuses_are_errors() {
    assert_eq!(error("a: !custom x\n").code, codes::TAG);
    assert_eq!(error("a: !!python/object:os.system x\n").code, codes::TAG);
    assert_eq!(error("a: !!bool y\n").code, codes::TAG);
    assert_eq!(error("a: !!int abc\n").code, codes::TAG);
    assert_eq!(error("a: !!str [1]\n").code, codes::TAG);
    assert_eq!(error("a: !!map [1]\n").code, codes::TAG);
    assert_eq!(error("a: !!omap [1]\n").code, codes::TAG);
    let e = error("a: !custom x\n");
    assert_eq!((e.span.start.line, e.span.start.column), (1, 4), "points at the tag");
}

#[test]
fn merge_keys_follow_pyyaml() {
    let m = map_of(&value("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n"));
    assert_eq!(map_of(&m[1].1), vec![("x".into(), i(1)), ("y".into(), i(3))]);
    // Earlier sources win over later ones; own keys win over all.
    let m = map_of(&value("a: &a {k: 1}\nb: &b {k: 2, j: 2}\nm:\n  <<: [*a, *b]\n"));
    let merged = map_of(&m[2].1);
    assert!(merged.contains(&("k".into(), i(1))), "{merged:?}");
    assert!(merged.contains(&("j".into(), i(2))), "{merged:?}");
    // A quoted `<<` is an ordinary key.
    assert_eq!(map_of(&value("'<<': 5\n"))[0].0, "<<");
    assert_eq!(error("m:\n  <<: 5\n").code, codes::VALUE);
    assert_eq!(error("m:\n  <<: [5]\n").code, codes::VALUE);
}

#[test]
fn value_key_is_a_string_key_and_an_error_elsewhere() {
    assert_eq!(map_of(&value("=: 1\n"))[0].0, "=");
    assert_eq!(error("a: =\n").code, codes::TAG);
    assert_eq!(error("a: [=]\n").code, codes::TAG);
}

#[test]
fn aliases_copy_their_anchor_and_point_at_the_alias() {
    let m = map_of(&value("a: &x {k: v}\nb: *x\n"));
    assert_eq!(m[0].1, m[1].1);
    let root = load_one("a: &x 1\nb: *x\n").unwrap_or_else(|e| panic!("{e:?}"));
    let b = root.get("b").unwrap_or_else(|| panic!("no b"));
    assert_eq!((b.span.start.line, b.span.start.column), (2, 4));
}

#[test]
fn duplicate_keys_are_errors_with_both_places() {
    let e = error("a: 1\nb: 2\na: 3\n");
    assert_eq!(e.code, codes::DUPLICATE_KEY);
    assert_eq!((e.span.start.line, e.span.start.column), (3, 1));
    assert!(e.message.contains("line 1"), "{}", e.message);
    // Python dict semantics: 1, 1.0 and true are the same key.
    assert_eq!(error("1: a\n1.0: b\n").code, codes::DUPLICATE_KEY);
    assert_eq!(error("{1: a, true: b}\n").code, codes::DUPLICATE_KEY);
    // Overriding a merged key is not a duplicate.
    assert!(load_one("b: &b {k: 1}\nm:\n  <<: *b\n  k: 2\n").is_ok());
}

#[test]
fn collections_cannot_be_keys() {
    assert_eq!(error("? [a]\n: b\n").code, codes::SYNTAX);
    assert_eq!(error("? {a: 1}\n: b\n").code, codes::SYNTAX);
}

#[test]
fn tabs_are_rejected_where_pyyaml_rejects_them() {
    for bad in [
        "a:\tb\n",
        "a: b\t\n",
        "a: 'b'\t\n",
        "a:\n\t- b\n",
        "a: [b,\tc]\n",
        "a: |\n\tx\n",
    ] {
        let docs = load(bad, Syntax::Yaml, &Limits::default());
        assert!(
            matches!(docs.as_slice(), [Err(e)] if e.code == codes::SYNTAX),
            "{bad:?} gave {docs:?}"
        );
    }
    for good in [
        "a: 'b\tc'\n",
        "a: \"b\\tc\"\n",
        "a: b # x\t\n",
        "a: |\n  x\ty\n",
        "a: 'multi\n\tline'\n",
    ] {
        assert!(load_one(good).is_ok(), "{good:?}");
    }
}

#[test]
fn tab_error_is_reported_only_if_it_comes_first() {
    let first = |t: &str| match load(t, Syntax::Yaml, &Limits::default()).as_slice() {
        [.., Err(e)] => (e.span.start.line, e.message.contains("tab")),
        other => panic!("{t:?} gave {other:?}"),
    };
    assert_eq!(first("a: 1\nb: \t2\nc: ]\n"), (2, true));
    assert_eq!(first("a: ]\nb: 1\nc: \t2\n"), (1, false));
}

#[test]
fn unprintable_characters_are_rejected() {
    let e = error("a: b\u{7}c\n");
    assert_eq!(e.code, codes::SYNTAX);
    assert_eq!((e.span.start.line, e.span.start.column), (1, 5));
    assert!(load_one("a: \"\u{e9}\u{1F600}\"\n").is_ok());
}

#[test]
fn documents_are_loaded_separately() {
    let docs = load("a: 1\n---\nb: 2\n---\n", Syntax::Yaml, &Limits::default());
    assert_eq!(docs.len(), 3);
    assert!(matches!(&docs[2], Ok(n) if n.value == Value::Null));
    assert!(load("# only a comment\n", Syntax::Yaml, &Limits::default()).is_empty());
    // A syntax error ends the stream but keeps what came before.
    let docs = load("a: 1\n---\nb: [\n", Syntax::Yaml, &Limits::default());
    assert!(matches!(docs.as_slice(), [Ok(_), Err(_)]), "{docs:?}");
}

#[test]
fn limits_are_enforced() {
    let tight = Limits {
        max_depth: 3,
        max_nodes: 50,
        max_aliases: 2,
        max_documents: 2,
        ..Limits::default()
    };
    let one = |t: &str| load(t, Syntax::Yaml, &tight);
    assert!(matches!(one("a: [[[1]]]\n").as_slice(), [Err(e)] if e.code == codes::LIMIT));
    assert!(matches!(one("a: [[1]]\n").as_slice(), [Ok(_)]));
    let many: String = (0..60).map(|i| format!("k{i}: v\n")).collect();
    assert!(matches!(one(&many).as_slice(), [Err(e)] if e.code == codes::LIMIT));
    assert!(matches!(one("a: &x 1\nb: *x\nc: *x\nd: *x\n").as_slice(), [Err(e)] if e.code == codes::LIMIT));
    assert!(matches!(one("a: 1\n---\nb: 1\n---\nc: 1\n").last(), Some(Err(e)) if e.code == codes::LIMIT));
}

#[test]
fn alias_bombs_are_stopped_by_the_node_budget() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for n in 1..10 {
        let p = n - 1;
        text.push_str(&format!(
            "a{n}: &a{n} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    let docs = load(&text, Syntax::Yaml, &Limits::default());
    assert!(
        matches!(docs.as_slice(), [Err(e)] if e.code == codes::LIMIT),
        "{docs:?}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn json_syntax_types_only_bare_literals() {
    let docs = load("{\"a\": 1e3, \"b\": \"yes\"}", Syntax::Json, &Limits::default());
    let [Ok(root)] = docs.as_slice() else {
        panic!("{docs:?}")
    };
    let m = map_of(&root.value);
    assert_eq!(m[0].1, Value::Float(1000.0));
    assert_eq!(m[1].1, s("yes"));
}

#[test]
fn spans_are_one_based_character_columns() {
    let root = load_one("é: 'ü'\nkey: value\n").unwrap_or_else(|e| panic!("{e:?}"));
    let entries = root.as_map().unwrap_or_default();
    assert_eq!(
        (entries[0].value.span.start.line, entries[0].value.span.start.column),
        (1, 4)
    );
    assert_eq!(
        (entries[1].value.span.start.line, entries[1].value.span.start.column),
        (2, 6)
    );
}

// Regressions found by the compatibility corpus (scripts/compat/compat.py).

#[test]
fn merge_key_as_a_value_is_an_error() {
    assert_eq!(error("a: <<\n").code, codes::TAG);
    assert_eq!(error("a: [<<]\n").code, codes::TAG);
}

#[test]
fn verbatim_core_tags_are_core_tags() {
    assert_eq!(map_of(&value("a: !<tag:yaml.org,2002:str> 12\n"))[0].1, s("12"));
    assert_eq!(map_of(&value("a: !<tag:yaml.org,2002:int> '7'\n"))[0].1, i(7));
    assert_eq!(error("a: !<tag:example.com,2000:x> 1\n").code, codes::TAG);
}

#[test]
fn yaml11_line_separators_break_lines() {
    let m = map_of(&value("kind: ModelSpec\u{2028}other: 1\u{85}"));
    assert_eq!(m[0].1, s("ModelSpec"));
    assert_eq!(m[1].0, "other");
    // JSON keeps them as characters.
    let docs = load("{\"a\": \"x\u{2028}\"}", Syntax::Json, &Limits::default());
    let [Ok(root)] = docs.as_slice() else {
        panic!("{docs:?}")
    };
    assert_eq!(map_of(&root.value)[0].1, s("x\u{2028}"));
}

#[test]
fn anchor_names_follow_yaml11() {
    assert_eq!(error("a: &a.b 1\nb: *a.b\n").code, codes::SYNTAX);
    assert!(load_one("a: &a-b_1 1\nb: *a-b_1\n").is_ok());
}

#[test]
fn implicit_empty_keys_are_errors_explicit_ones_are_null() {
    for bad in ["{: b}\n", ": b\n", "[: b]\n", "- : b\n", "a:\n  : b\n", "{a: 1, : b}\n"] {
        let docs = load(bad, Syntax::Yaml, &Limits::default());
        assert!(
            matches!(docs.as_slice(), [Err(e)] if e.code == codes::SYNTAX),
            "{bad:?} gave {docs:?}"
        );
    }
    assert_eq!(map_of(&value("? \n: b\n"))[0].0, "null");
    assert_eq!(map_of(&value("{? : b}\n"))[0].0, "null");
    assert_eq!(map_of(&value("{a: }\n"))[0].1, Value::Null);
}

#[test]
fn lone_surrogate_escapes_are_strings_as_in_python() {
    for text in [
        "a: \"\\ud800\"\n",
        "a: \"\\udc80x\"\n",
        "a: \"\\ud800\\u0041\"\n",
        "a: \"\\U0000D800\"\n",
    ] {
        assert!(matches!(map_of(&value(text))[0].1, Value::Str(_)), "{text:?}");
    }
    // A real pair is still one character.
    assert_eq!(map_of(&value("a: \"\\ud83d\\ude00\"\n"))[0].1, s("\u{1F600}"));
    // An escaped backslash is not an escape.
    assert_eq!(map_of(&value("a: \"\\\\ud800\"\n"))[0].1, s("\\ud800"));
    let docs = load("{\"a\": \"\\ud800\"}", Syntax::Json, &Limits::default());
    assert!(matches!(docs.as_slice(), [Ok(_)]), "{docs:?}");
}

#[test]
fn a_comment_glued_to_a_quote_or_bracket_is_a_comment() {
    let m = map_of(&value("a: \"x\"# c\nb: 'y'#c\nc: [1]#c\nd: {e: 1}#c\n"));
    assert_eq!(m[0].1, s("x"));
    assert_eq!(m[1].1, s("y"));
    assert_eq!(m.len(), 4);
    // In a plain scalar `#` without a space before it is content.
    assert_eq!(map_of(&value("a: x#c\n"))[0].1, s("x#c"));
    // Columns after the rewrite still point into the original line.
    let e = error("a: \"x\"#c\nb: [\n");
    assert_eq!(e.code, codes::SYNTAX);
}

#[test]
fn json_accepts_python_float_literals() {
    let docs = load(
        "{\"a\": NaN, \"b\": Infinity, \"c\": -Infinity, \"d\": \"NaN\"}",
        Syntax::Json,
        &Limits::default(),
    );
    let [Ok(root)] = docs.as_slice() else {
        panic!("{docs:?}")
    };
    let m = map_of(&root.value);
    assert!(matches!(m[0].1, Value::Float(f) if f.is_nan()));
    assert_eq!(m[1].1, Value::Float(f64::INFINITY));
    assert_eq!(m[2].1, Value::Float(f64::NEG_INFINITY));
    assert_eq!(m[3].1, s("NaN"));
    let docs = load("{\"a\": nan}", Syntax::Json, &Limits::default());
    assert!(
        matches!(docs.as_slice(), [Err(e)] if e.code == codes::JSON_SYNTAX),
        "{docs:?}"
    );
}

#[test]
fn a_thousand_small_aliases_are_fine() {
    let mut text = String::from("k0: &v val\n");
    for n in 1..=1500 {
        text.push_str(&format!("k{n}: *v\n"));
    }
    assert!(load_one(&text).is_ok());
}

#[test]
fn a_document_after_an_end_marker_needs_a_start_marker() {
    let docs = load("a: 1\n...\nb: 2\n", Syntax::Yaml, &Limits::default());
    assert!(
        matches!(docs.as_slice(), [Ok(_), Err(e)] if e.code == codes::SYNTAX),
        "{docs:?}"
    );
    let docs = load("a: 1\n...\n---\nb: 2\n", Syntax::Yaml, &Limits::default());
    assert!(matches!(docs.as_slice(), [Ok(_), Ok(_)]), "{docs:?}");
    assert!(load_one("a: 1\n...\n# trailing comment\n").is_ok());
}
