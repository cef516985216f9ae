use super::*;
use proptest::prelude::*;
use serde_json::json;

fn set(t: &str, k: &str, v: Value) -> String {
    set_key(t, k, &v).unwrap_or_else(|e| panic!("{t:?}: {e}"))
}

#[test]
fn empty_and_missing_files_become_a_document() {
    for t in ["", "  \n", "\r\n"] {
        let out = set(t, "icc", json!(false));
        let nl = if t.contains('\r') { "\r\n" } else { "\n" };
        assert_eq!(out, format!("{{{nl}  \"icc\": false{nl}}}{nl}"));
    }
    assert_eq!(
        set_nested("", "log-opts", "max-size", &json!("10m")).ok(),
        Some("{\n  \"log-opts\": {\n    \"max-size\": \"10m\"\n  }\n}\n".to_string())
    );
}

#[test]
fn empty_object_gets_a_block() {
    assert_eq!(set("{}", "icc", json!(false)), "{\n  \"icc\": false\n}");
    assert_eq!(set("{}\n", "icc", json!(false)), "{\n  \"icc\": false\n}\n");
    assert_eq!(
        set("{\n}\n", "icc", json!(false)),
        "{\n  \"icc\": false\n}\n"
    );
    assert_eq!(set("{ }", "icc", json!(false)), "{ \"icc\": false }");
}

#[test]
fn replaces_in_place_and_keeps_the_rest() {
    let t = "{\n    \"debug\": true,\n    \"icc\":true ,\n    \"live-restore\": false\n}\n";
    assert_eq!(
        set(t, "icc", json!(false)),
        "{\n    \"debug\": true,\n    \"icc\":false ,\n    \"live-restore\": false\n}\n"
    );
    // Already the value: nothing changes, not even the spelling.
    let t = "{\"a\": 1.0}";
    assert_eq!(set(t, "a", json!(1.0)), t);
}

#[test]
fn inserts_last_with_the_file_style() {
    let t = "{\n\t\"debug\": true,\n\t\"icc\": true\n}\n";
    assert_eq!(
        set(t, "live-restore", json!(true)),
        "{\n\t\"debug\": true,\n\t\"icc\": true,\n\t\"live-restore\": true\n}\n"
    );
    let t = "{\"debug\":true}";
    assert_eq!(
        set(t, "icc", json!(false)),
        "{\"debug\":true,\"icc\":false}"
    );
    let t = "{ \"debug\" : true }";
    assert_eq!(
        set(t, "icc", json!(false)),
        "{ \"debug\" : true, \"icc\" : false }"
    );
    let t = "{\r\n  \"debug\": true\r\n}\r\n";
    assert_eq!(
        set(t, "log-opts", json!({"max-size": "10m", "max-file": "3"})),
        "{\r\n  \"debug\": true,\r\n  \"log-opts\": {\r\n    \"max-file\": \"3\",\r\n    \"max-size\": \"10m\"\r\n  }\r\n}\r\n"
    );
}

#[test]
fn duplicates_last_replaced_earlier_removed() {
    let t = "{\n  \"icc\": true,\n  \"debug\": true,\n  \"icc\": true\n}\n";
    assert_eq!(
        set(t, "icc", json!(false)),
        "{\n  \"debug\": true,\n  \"icc\": false\n}\n"
    );
    assert_eq!(
        remove_key(t, "icc").ok(),
        Some("{\n  \"debug\": true\n}\n".to_string())
    );
    let t = "{\"icc\": true, \"icc\": false}";
    assert_eq!(set(t, "icc", json!(false)), "{\"icc\": false}");
}

#[test]
fn remove_fixes_commas() {
    let t = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}\n";
    let r = |k: &str| remove_key(t, k).unwrap_or_default();
    assert_eq!(r("a"), "{\n  \"b\": 2,\n  \"c\": 3\n}\n");
    assert_eq!(r("b"), "{\n  \"a\": 1,\n  \"c\": 3\n}\n");
    assert_eq!(r("c"), "{\n  \"a\": 1,\n  \"b\": 2\n}\n");
    assert_eq!(r("zz"), t);
    assert_eq!(remove_key("{\"a\": 1}\n", "a").ok(), Some("{}\n".into()));
}

#[test]
fn nested_set_and_remove() {
    let t = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hosts/debian/etc/docker/daemon.json"
    ))
    .unwrap_or_default();
    let out = set_nested(
        &t,
        "log-opts",
        "syslog-address",
        &json!("udp://10.0.0.1:514"),
    )
    .unwrap_or_default();
    assert_eq!(
        out,
        "{\n  \"log-driver\": \"json-file\",\n  \"log-opts\": {\n    \"max-size\": \"10m\",\n    \"syslog-address\": \"udp://10.0.0.1:514\"\n  }\n}\n"
    );
    assert_eq!(
        remove_nested(&out, "log-opts", "syslog-address").ok(),
        Some(t.clone())
    );
    // The outer key is created when absent.
    let out = set_nested(
        "{\n  \"icc\": false\n}\n",
        "log-opts",
        "max-file",
        &json!("3"),
    )
    .unwrap_or_default();
    assert_eq!(
        out,
        "{\n  \"icc\": false,\n  \"log-opts\": {\n    \"max-file\": \"3\"\n  }\n}\n"
    );
    // An empty nested object gets the right depth.
    let out =
        set_nested("{\n  \"log-opts\": {}\n}\n", "log-opts", "a", &json!("b")).unwrap_or_default();
    assert_eq!(out, "{\n  \"log-opts\": {\n    \"a\": \"b\"\n  }\n}\n");
    let e = set_nested("{\n  \"log-opts\": \"x\"\n}", "log-opts", "a", &json!("b"));
    assert_eq!(
        e.err().map(|e| e.to_string()),
        Some("line 2, column 15: \"log-opts\" is a string, not an object".to_string())
    );
}

#[test]
fn list_removal() {
    let t =
        "{\n  \"hosts\": [\n    \"unix:///run/docker.sock\",\n    \"tcp://0.0.0.0:2375\"\n  ]\n}\n";
    let out = remove_from_list(t, "hosts", &json!("tcp://0.0.0.0:2375")).unwrap_or_default();
    assert_eq!(
        out,
        "{\n  \"hosts\": [\n    \"unix:///run/docker.sock\"\n  ]\n}\n"
    );
    let out2 = remove_from_list(&out, "hosts", &json!("tcp://0.0.0.0:2375")).unwrap_or_default();
    assert_eq!(out2, out);
    let t = "{\"hosts\": [\"a\", \"b\", \"a\"]}";
    assert_eq!(
        remove_from_list(t, "hosts", &json!("a")).ok(),
        Some("{\"hosts\": [\"b\"]}".into())
    );
    assert_eq!(
        remove_from_list("{\"hosts\": [\"a\"]}", "hosts", &json!("a")).ok(),
        Some("{\"hosts\": []}".into())
    );
    assert!(remove_from_list("{\"hosts\": 1}", "hosts", &json!("a")).is_err());
}

#[test]
fn errors_name_line_and_column() {
    let e = |t: &str| set_key(t, "a", &json!(1)).err().map(|e| e.to_string());
    assert_eq!(
        e("{\n  \"a\": 1,\n}"),
        Some(
            "line 3, column 1: invalid character '}' looking for beginning of object key string"
                .into()
        )
    );
    assert_eq!(
        e("\n[1]"),
        Some("line 2, column 1: the configuration is an array, not a JSON object".into())
    );
    assert!(remove_key("{\"a\":1} x", "a").is_err());
    assert!(remove_nested("nope", "a", "b").is_err());
}

// ---- properties ----

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z0-9 :/.\"\\\\é-]{0,12}".prop_map(Value::String),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z-]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("icc".to_string()),
        Just("log-opts".to_string()),
        Just("debug".to_string()),
        Just("a\"é".to_string()),
        "[a-z-]{1,8}",
    ]
}

#[derive(Debug, Clone)]
struct Style {
    unit: &'static str,
    nl: &'static str,
    colon: &'static str,
    compact: bool,
    trailing_nl: bool,
}

fn arb_style() -> impl Strategy<Value = Style> {
    (
        prop::sample::select(vec!["", " ", "  ", "    ", "\t"]),
        prop::sample::select(vec!["\n", "\r\n"]),
        prop::sample::select(vec![":", ": ", " : "]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(unit, nl, colon, compact, trailing_nl)| Style {
            unit,
            nl,
            colon,
            compact,
            trailing_nl,
        })
}

fn render(members: &[(String, Value)], s: &Style) -> String {
    let mut out = String::from("{");
    let parts: Vec<String> = members
        .iter()
        .map(|(k, v)| {
            format!(
                "{}{}{}",
                serde_json::to_string(k).unwrap_or_default(),
                s.colon,
                serde_json::to_string(v).unwrap_or_default()
            )
        })
        .collect();
    if !parts.is_empty() {
        if s.compact {
            out.push_str(&parts.join(", "));
        } else {
            out.push_str(s.nl);
            out.push_str(s.unit);
            out.push_str(&parts.join(&format!(",{}{}", s.nl, s.unit)));
            out.push_str(s.nl);
        }
    }
    out.push('}');
    if s.trailing_nl {
        out.push_str(s.nl);
    }
    out
}

/// The texts of the members whose key is not `key`, in order.
fn others(text: &str, key: &str) -> Vec<String> {
    let Ok(root) = json::parse(text) else {
        return vec!["<invalid>".into()];
    };
    members(&root)
        .iter()
        .filter(|m| m.key != key)
        .map(|m| {
            text.get(m.key_pos.offset..m.value.end)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn count(text: &str, key: &str) -> usize {
    json::parse(text)
        .map(|r| members(&r).iter().filter(|m| m.key == key).count())
        .unwrap_or(usize::MAX)
}

proptest! {
    #[test]
    fn set_reads_back_keeps_others_and_is_idempotent(
        ms in prop::collection::vec((arb_key(), arb_value()), 0..6),
        style in arb_style(),
        k in arb_key(),
        v in arb_value(),
    ) {
        let t = render(&ms, &style);
        let out = set_key(&t, &k, &v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(get_key(&out, &k), Some(v.clone()), "{}", out);
        prop_assert_eq!(count(&out, &k), 1);
        prop_assert_eq!(others(&out, &k), others(&t, &k));
        let again = set_key(&out, &k, &v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&again, &out);
        // Without the key, set then remove gives the text back.
        if count(&t, &k) == 0 {
            prop_assert_eq!(remove_key(&out, &k).ok(), Some(t.clone()));
        }
    }

    #[test]
    fn remove_then_set_round_trips(
        ms in prop::collection::vec((arb_key(), arb_value()), 0..6),
        style in arb_style(),
        k in arb_key(),
        v in arb_value(),
    ) {
        let t = render(&ms, &style);
        let removed = remove_key(&t, &k).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(count(&removed, &k), 0);
        prop_assert_eq!(others(&removed, &k), others(&t, &k));
        prop_assert_eq!(remove_key(&removed, &k).ok(), Some(removed.clone()));
        let set_again = set_key(&removed, &k, &v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(get_key(&set_again, &k), Some(v.clone()));
        prop_assert_eq!(remove_key(&set_again, &k).ok(), Some(removed));
    }

    #[test]
    fn nested_set_reads_back(
        ms in prop::collection::vec((arb_key(), arb_value()), 0..5),
        style in arb_style(),
        inner in "[a-z-]{1,6}",
        v in arb_value(),
    ) {
        let t = render(&ms, &style);
        match set_nested(&t, "log-opts", &inner, &v) {
            Ok(out) => {
                let got = get_key(&out, "log-opts").and_then(|o| o.get(&inner).cloned());
                prop_assert_eq!(got, Some(v.clone()), "{}", out);
                prop_assert_eq!(others(&out, "log-opts"), others(&t, "log-opts"));
                prop_assert_eq!(set_nested(&out, "log-opts", &inner, &v).ok(), Some(out.clone()));
                let removed = remove_nested(&out, "log-opts", &inner)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let gone = get_key(&removed, "log-opts").and_then(|o| o.get(&inner).cloned());
                prop_assert_eq!(gone, None);
            }
            Err(e) => {
                // Only when log-opts is not an object.
                prop_assert!(!matches!(get_key(&t, "log-opts"), Some(Value::Object(_)) | None), "{}", e);
            }
        }
    }

    #[test]
    fn list_removal_removes_only_that_item(
        items in prop::collection::vec(arb_leaf(), 0..6),
        style in arb_style(),
        pick in any::<prop::sample::Index>(),
    ) {
        let t = render(&[("debug".into(), json!(true)), ("hosts".into(), Value::Array(items.clone()))], &style);
        let item = if items.is_empty() { json!("x") } else { items[pick.index(items.len())].clone() };
        let out = remove_from_list(&t, "hosts", &item).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want: Vec<Value> = items.iter().filter(|i| **i != item).cloned().collect();
        prop_assert_eq!(get_key(&out, "hosts"), Some(Value::Array(want)));
        prop_assert_eq!(others(&out, "hosts"), others(&t, "hosts"));
    }

    #[test]
    fn never_panics(t in any::<String>(), k in arb_key(), v in arb_value()) {
        let _ = set_key(&t, &k, &v);
        let _ = remove_key(&t, &k);
        let _ = set_nested(&t, &k, "x", &v);
        let _ = remove_nested(&t, &k, "x");
        let _ = remove_from_list(&t, &k, &v);
    }

    #[test]
    fn never_panics_on_json_like(t in "[\\[\\]{}\",: \n0-9a-z]{0,40}", k in "[a-z]{1,2}") {
        let _ = set_key(&t, &k, &json!([1, {"a": 2}]));
        let _ = remove_key(&t, &k);
        let _ = set_nested(&t, &k, "a", &json!(1));
        let _ = remove_nested(&t, &k, "a");
        let _ = remove_from_list(&t, &k, &json!(1));
    }
}

/// One edit of [`edit_sequences_agree_with_a_map`].
#[derive(Debug, Clone)]
enum Edit {
    Set(String, Value),
    Remove(String),
    SetNested(String, Value),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (arb_key(), arb_value()).prop_map(|(k, v)| Edit::Set(k, v)),
        arb_key().prop_map(Edit::Remove),
        ("[a-z-]{1,6}", arb_value()).prop_map(|(k, v)| Edit::SetNested(k, v)),
    ]
}

/// What dockerd reads of a document: the members, the last duplicate
/// winning (the strict parser's view, as a map).
fn as_map(text: &str) -> Option<serde_json::Map<String, Value>> {
    let root = json::parse(text).ok()?;
    let mut m = serde_json::Map::new();
    for mem in members(&root) {
        m.insert(mem.key.clone(), mem.value.value.to_serde());
    }
    Some(m)
}

proptest! {
    /// parse(render(x)) == x through any sequence of edits: after every
    /// edit the strict parser reads exactly the map the same edits give
    /// applied to a plain map, and the document has no duplicate key left
    /// among the keys edited.
    #[test]
    fn edit_sequences_agree_with_a_map(
        ms in prop::collection::vec((arb_key(), arb_value()), 0..5),
        style in arb_style(),
        edits in prop::collection::vec(arb_edit(), 1..8),
    ) {
        let mut text = render(&ms, &style);
        let mut model = as_map(&text).expect("a rendered document parses");
        for e in &edits {
            let out = match e {
                Edit::Set(k, v) => {
                    model.insert(k.clone(), v.clone());
                    set_key(&text, k, v)
                }
                Edit::Remove(k) => {
                    model.remove(k);
                    remove_key(&text, k)
                }
                Edit::SetNested(inner, v) => {
                    match model.get_mut("log-opts") {
                        Some(Value::Object(o)) => { o.insert(inner.clone(), v.clone()); }
                        Some(_) => {
                            prop_assert!(set_nested(&text, "log-opts", inner, v).is_err());
                            continue;
                        }
                        None => {
                            let mut o = serde_json::Map::new();
                            o.insert(inner.clone(), v.clone());
                            model.insert("log-opts".into(), Value::Object(o));
                        }
                    }
                    set_nested(&text, "log-opts", inner, v)
                }
            };
            text = out.map_err(|e| TestCaseError::fail(format!("{e:?} on {text:?}")))?;
            let got = as_map(&text);
            prop_assert_eq!(got.as_ref(), Some(&model), "after {:?}: {}", e, text);
            if let Edit::Set(k, _) | Edit::Remove(k) = e {
                prop_assert!(count(&text, k) <= 1, "{}", text);
            }
        }
    }
}
