use super::*;
use proptest::prelude::*;

fn err(text: &str) -> String {
    parse(text).err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn accepts_valid_documents() {
    for (text, expected) in [
        ("null", serde_json::json!(null)),
        (" true ", serde_json::json!(true)),
        ("-0.5e+3", serde_json::json!(-500.0)),
        ("0", serde_json::json!(0)),
        ("[1, [2, {}], \"x\"]", serde_json::json!([1, [2, {}], "x"])),
        (
            "{\"a\": {\"b\": [true, false, null]}}",
            serde_json::json!({"a": {"b": [true, false, null]}}),
        ),
        ("\"\\u00e9\\n\\/\"", serde_json::json!("é\n/")),
        ("\"\\ud83d\\ude00\"", serde_json::json!("😀")),
    ] {
        let node = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(node.value.to_serde(), expected, "{text}");
    }
}

#[test]
fn lone_surrogates_become_replacement_chars() {
    let v = parse("\"\\ud800x\"").map(|n| n.value);
    assert_eq!(v, Ok(JsonValue::String("\u{FFFD}x".into())));
    let v = parse("\"\\ud800\\u0041\"").map(|n| n.value);
    assert_eq!(v, Ok(JsonValue::String("\u{FFFD}A".into())));
    let v = parse("\"\\udc00\"").map(|n| n.value);
    assert_eq!(v, Ok(JsonValue::String("\u{FFFD}".into())));
}

#[test]
fn rejects_what_go_rejects_with_positions() {
    let cases = [
        ("", "line 1, column 1: EOF"),
        ("   \n ", "line 2, column 2: EOF"),
        (
            "{\"a\": 1,}",
            "line 1, column 9: invalid character '}' looking for beginning of object key string",
        ),
        (
            "[1,]",
            "line 1, column 4: invalid character ']' looking for beginning of value",
        ),
        (
            "{\n  // c\n}",
            "line 2, column 3: invalid character '/' looking for beginning of object key string",
        ),
        (
            "[NaN]",
            "line 1, column 2: invalid character 'N' looking for beginning of value",
        ),
        (
            "[01]",
            "line 1, column 3: invalid character '1' after array element",
        ),
        (
            "\"a\nb\"",
            "line 1, column 3: invalid character '\\n' in string literal",
        ),
        (
            "\"\\x\"",
            "line 1, column 3: invalid character 'x' in string escape code",
        ),
        (
            "{\"a\" 1}",
            "line 1, column 6: invalid character '1' after object key",
        ),
        (
            "{\"a\":1 \"b\":2}",
            "line 1, column 8: invalid character '\"' after object key:value pair",
        ),
        ("[1, 2", "line 1, column 6: unexpected EOF"),
        ("tru", "line 1, column 4: unexpected EOF"),
        (
            "trUe",
            "line 1, column 3: invalid character 'U' in literal true (expecting 'u')",
        ),
        (
            "\u{feff}{}",
            "line 1, column 1: invalid character 'ï' looking for beginning of value",
        ),
        (
            "{} x",
            "line 1, column 4: invalid character 'x' after top-level value",
        ),
        ("1.", "line 1, column 3: unexpected EOF"),
        (
            "1.x",
            "line 1, column 3: invalid character 'x' after decimal point in numeric literal",
        ),
        (
            "-x",
            "line 1, column 2: invalid character 'x' in numeric literal",
        ),
        (
            "1ex",
            "line 1, column 3: invalid character 'x' in exponent of numeric literal",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(err(text), expected, "{text:?}");
    }
}

#[test]
fn first_value_end_allows_trailing_data() {
    let (node, end) = parse_first("{\"a\":1} trailing {").expect("first value");
    assert_eq!(end, 7);
    assert_eq!(node.value.to_serde(), serde_json::json!({"a": 1}));
    // A number ends at the first non-number byte (Go's Decoder).
    let (_, end) = parse_first("01").expect("0");
    assert_eq!(end, 1);
}

#[test]
fn keeps_duplicates_positions_and_spans() {
    let text = "{\n  \"icc\": false,\n  \"icc\": true\n}";
    let node = parse(text).expect("valid");
    let JsonValue::Object(members) = node.value else {
        panic!("object")
    };
    assert_eq!(members.len(), 2);
    assert_eq!((members[0].key_pos.line, members[0].key_pos.column), (2, 3));
    assert_eq!((members[1].key_pos.line, members[1].key_pos.column), (3, 3));
    assert_eq!(members[1].value.value, JsonValue::Bool(true));
    assert_eq!(
        text.get(members[1].value.start.offset..members[1].value.end),
        Some("true")
    );
    assert_eq!(members[1].value.start.column, 10);
}

#[test]
fn columns_count_characters() {
    let e = parse("[\"é\", x]").expect_err("error");
    assert_eq!((e.line, e.column), (1, 7));
}

#[test]
fn depth_limit_is_an_error_not_a_crash() {
    let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(parse(&deep).is_ok());
    let deeper = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert!(err(&deeper).ends_with("exceeded max depth"));
    let huge = "{\"a\":".repeat(100_000);
    assert!(err(&huge).ends_with("exceeded max depth"));
}

#[test]
fn go_format_matches_fmt_v() {
    let v = parse("[1, 2.5, 1e21, 0.00001, \"s\", true, null, {\"b\":1,\"a\":[]}]")
        .expect("valid")
        .value;
    assert_eq!(
        v.go_format(),
        "[1 2.5 1e+21 1e-05 s true <nil> map[a:[] b:1]]"
    );
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        (-1e300f64..1e300).prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn never_panics(s in any::<String>()) {
        let _ = parse(&s);
        let _ = parse_first(&s);
    }

    #[test]
    fn never_panics_on_json_like(s in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,64}") {
        let r = parse(&s);
        // agrees with serde_json on acceptance (serde_json has the same grammar)
        match serde_json::from_str::<serde_json::Value>(&s) {
            Ok(_) => prop_assert!(r.is_ok(), "{:?}", s),
            Err(e) => {
                // serde_json rejects lone surrogates and huge numbers, Go does not
                let m = e.to_string();
                if !m.contains("surrogate") && !m.contains("out of range") {
                    prop_assert!(r.is_err(), "{:?}", s);
                }
            }
        }
    }

    #[test]
    fn round_trips_serde_values(v in arb_json(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&v)
        } else {
            serde_json::to_string(&v)
        }.expect("serialize");
        let node = parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(node.value.to_serde(), v);
        prop_assert_eq!(node.end, text.len());
    }
}
