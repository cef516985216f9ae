//! A small reference model of flags and daemon.json, checked by proptest
//! against the real computation.

use super::*;

/// A small reference model: booleans placed on the command line, in the
/// file, nested in the file, or nowhere.
#[derive(Debug, Clone, Copy)]
enum Place {
    Nowhere,
    Flag(bool),
    File(bool),
    Nested(bool),
    Both(bool, bool),
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        Just(Place::Nowhere),
        any::<bool>().prop_map(Place::Flag),
        any::<bool>().prop_map(Place::File),
        any::<bool>().prop_map(Place::Nested),
        (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Place::Both(a, b)),
    ]
}

const BOOLS: [(&str, bool); 4] = [
    ("live-restore", false),
    ("userland-proxy", true),
    ("experimental", false),
    ("no-new-privileges", false),
];

proptest! {
    #[test]
    fn reference_model_for_booleans(places in prop::collection::vec(place(), 4)) {
        let mut args = Vec::new();
        let mut top = Vec::new();
        let mut nested = Vec::new();
        for ((key, _), p) in BOOLS.iter().zip(&places) {
            match p {
                Place::Nowhere => {}
                Place::Flag(b) => args.push(format!("--{key}={b}")),
                Place::File(b) => top.push(format!("\"{key}\": {b}")),
                Place::Nested(b) => nested.push(format!("\"{key}\": {b}")),
                Place::Both(a, b) => {
                    args.push(format!("--{key}={a}"));
                    top.push(format!("\"{key}\": {b}"));
                }
            }
        }
        if !nested.is_empty() {
            top.push(format!("\"meta\": {{{}}}", nested.join(", ")));
        }
        let text = format!("{{{}}}", top.join(", "));
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = eff(&arg_refs, Some(&text));
        let conflicts = places.iter().filter(|p| matches!(p, Place::Both(..))).count();
        let fatals = fatal_messages(&e);
        prop_assert_eq!(fatals.len(), conflicts, "{:?}", fatals);
        for ((key, default), p) in BOOLS.iter().zip(&places) {
            let (v, ev) = e.bool(self::key(key));
            match p {
                Place::Nowhere => {
                    prop_assert_eq!(v, *default);
                    prop_assert_eq!(ev.source, Source::Default);
                }
                Place::Flag(b) | Place::Both(b, _) => {
                    prop_assert_eq!(v, *b);
                    prop_assert_eq!(ev.source, Source::Argv);
                }
                Place::File(b) | Place::Nested(b) => {
                    prop_assert_eq!(v, *b);
                    prop_assert_eq!(ev.source, Source::DaemonJson);
                }
            }
        }
    }

    #[test]
    fn compute_never_panics(
        args in prop::collection::vec("(-{1,2}[a-zH=:/.0-9-]{0,14})|([a-z:/.0-9]{0,8})", 0..6),
        text in ".{0,80}",
        version in prop::option::of("[0-9]{1,2}\\.[0-9]{1,2}"),
        rootless in any::<bool>(),
    ) {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = Case::new(&refs, Some(&text));
        c.rootless = rootless;
        let v = version.clone();
        let e = compute(&ConfigInput {
            argv: &c.argv,
            config_file: c.file.as_ref(),
            env: &c.env,
            rootless: c.rootless,
            engine: engine_of(v.as_deref()),
        });
        let _ = (e.listeners(), e.tls(), e.bool(keys::ICC), e.string(keys::LOG_DRIVER), e.list(keys::HOSTS), e.map(keys::LOG_OPTS));
        c.file = Some(file("{}"));
        let _ = reload(&e, &ConfigInput {
            argv: &c.argv,
            config_file: c.file.as_ref(),
            env: &c.env,
            rootless,
            engine: Engine::default(),
        }, &file(&text));
    }

    #[test]
    fn compute_never_panics_on_json_like_files(
        text in "[{}\\[\\]\",: a-z0-9\\-]{0,80}",
        keys in prop::collection::vec(prop::sample::select(vec!["icc", "hosts", "log-opts", "tls", "tlsverify", "labels", "debug", "runtimes", "m", "default-shm-size", "ip", "mtu"]), 0..4),
        vals in prop::collection::vec(prop::sample::select(vec!["true", "null", "1", "\"x\"", "[\"a=b\"]", "{\"live-restore\": true}", "{}", "[]", "1.5"]), 4),
    ) {
        let _ = eff(&[], Some(&text));
        let body: Vec<String> = keys.iter().zip(vals.iter()).map(|(k, v)| format!("\"{k}\": {v}")).collect();
        let e = eff(&["--debug"], Some(&format!("{{{}}}", body.join(", "))));
        let _ = (e.listeners(), e.tls());
    }
}

/// The options of the reference model below, with dockerd's default.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Opt {
    Bool(&'static str, bool),
    Str(&'static str, Option<&'static str>),
    /// daemon.json key, flag name.
    List(&'static str, &'static str),
    Map(&'static str, &'static str),
}

const OPTS: [Opt; 8] = [
    Opt::Bool("icc", true),
    Opt::Bool("userland-proxy", true),
    Opt::Bool("live-restore", false),
    Opt::Bool("experimental", false),
    Opt::Str("log-driver", Some("json-file")),
    Opt::Str("userns-remap", None),
    Opt::List("authorization-plugins", "authorization-plugin"),
    Opt::Map("log-opts", "log-opt"),
];

/// One occurrence of an option on the command line or in the file: which
/// option (index into [`OPTS`]), a value index, and a spelling.
#[derive(Debug, Clone)]
struct Use {
    opt: usize,
    val: usize,
    form: usize,
}

fn uses(max: usize) -> impl Strategy<Value = Vec<Use>> {
    prop::collection::vec(
        (0..OPTS.len(), 0..4usize, 0..4usize).prop_map(|(opt, val, form)| Use { opt, val, form }),
        0..max,
    )
}

const TRUE_SPELLINGS: [&str; 4] = ["true", "1", "T", "TRUE"];
const FALSE_SPELLINGS: [&str; 4] = ["false", "0", "f", "False"];
const STR_VALUES: [&str; 4] = ["syslog", "journald", "json-file", "default"];
const LIST_VALUES: [&str; 4] = ["authz-a", "authz-b", "authz-c", "authz-a"];
const MAP_VALUES: [(&str, &str); 4] = [("tag", "a"), ("labels", "l"), ("tag", "b"), ("env", "E")];

/// What the reference model expects of one option.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    Bool(bool),
    Str(Option<String>),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

/// The command line words of one flag use, and the value it stands for.
fn flag_words(u: &Use) -> (Vec<String>, Want) {
    match OPTS[u.opt] {
        Opt::Bool(k, _) => {
            let b = u.val % 2 == 0;
            let sp = if b { TRUE_SPELLINGS } else { FALSE_SPELLINGS };
            // A bare `--icc` means true; the other forms spell the value.
            if b && u.form == 0 {
                (vec![format!("--{k}")], Want::Bool(true))
            } else {
                (vec![format!("--{k}={}", sp[u.form])], Want::Bool(b))
            }
        }
        Opt::Str(k, _) => {
            let v = if k == "userns-remap" {
                ["default", "dockremap", "default", "dockremap"][u.val]
            } else {
                STR_VALUES[u.val % 3]
            };
            let w = if u.form % 2 == 0 {
                vec![format!("--{k}={v}")]
            } else {
                vec![format!("--{k}"), v.to_string()]
            };
            (w, Want::Str(Some(v.to_string())))
        }
        Opt::List(_, f) => {
            let v = LIST_VALUES[u.val];
            (vec![format!("--{f}={v}")], Want::List(vec![v.to_string()]))
        }
        Opt::Map(_, f) => {
            let (k, v) = MAP_VALUES[u.val];
            (
                vec![format!("--{f}"), format!("{k}={v}")],
                Want::Map(BTreeMap::from([(k.to_string(), v.to_string())])),
            )
        }
    }
}

/// The JSON text of one file use, and its value: `None` for `null` (unset,
/// but the key counts for conflicts), `Err` for a value of the wrong type (a
/// start failure).
fn file_member(u: &Use) -> (String, Result<Option<Want>, ()>) {
    let (key, json, want) = match OPTS[u.opt] {
        Opt::Bool(k, _) => match u.form {
            0 | 1 => (
                k,
                (u.val % 2 == 0).to_string(),
                Ok(Some(Want::Bool(u.val % 2 == 0))),
            ),
            2 => (k, "null".into(), Ok(None)),
            _ => (k, "\"false\"".into(), Err(())),
        },
        Opt::Str(k, _) => {
            let v = if k == "userns-remap" {
                "default"
            } else {
                STR_VALUES[u.val % 3]
            };
            match u.form {
                0 | 1 => (
                    k,
                    format!("{v:?}"),
                    Ok(Some(Want::Str(Some(v.to_string())))),
                ),
                2 => (k, "null".into(), Ok(None)),
                _ => (k, "1".into(), Err(())),
            }
        }
        Opt::List(k, _) => match u.form {
            0 | 1 => {
                let v = LIST_VALUES[u.val];
                (
                    k,
                    format!("[{v:?}]"),
                    Ok(Some(Want::List(vec![v.to_string()]))),
                )
            }
            2 => (k, "null".into(), Ok(None)),
            _ => (k, "\"authz-a\"".into(), Err(())),
        },
        Opt::Map(k, _) => {
            let (mk, mv) = MAP_VALUES[u.val];
            match u.form {
                0 | 1 => (
                    k,
                    format!("{{{mk:?}: {mv:?}}}"),
                    Ok(Some(Want::Map(BTreeMap::from([(
                        mk.to_string(),
                        mv.to_string(),
                    )])))),
                ),
                2 => (k, "null".into(), Ok(None)),
                _ => (k, "[\"tag=a\"]".into(), Err(())),
            }
        }
    };
    (format!("{key:?}: {json}"), want)
}

fn default_of(o: Opt) -> Want {
    match o {
        Opt::Bool(_, d) => Want::Bool(d),
        Opt::Str(_, d) => Want::Str(d.map(str::to_string)),
        Opt::List(..) => Want::List(Vec::new()),
        Opt::Map(..) => Want::Map(BTreeMap::new()),
    }
}

fn observed(e: &Effective, o: Opt) -> (Want, Source) {
    match o {
        Opt::Bool(k, _) => {
            let (v, ev) = e.bool(key(k));
            (Want::Bool(v), ev.source)
        }
        Opt::Str(k, _) => {
            let (v, ev) = e.string(key(k));
            (Want::Str(v.filter(|s| !s.is_empty())), ev.source)
        }
        Opt::List(k, _) => {
            let l = e.list(key(k));
            let src = l.first().map_or(Source::Default, |(_, ev)| ev.source);
            (Want::List(l.into_iter().map(|(v, _)| v).collect()), src)
        }
        Opt::Map(k, _) => {
            let m = e.map(key(k));
            let src = m
                .values()
                .next()
                .map_or(Source::Default, |(_, ev)| ev.source);
            (
                Want::Map(m.into_iter().map(|(k, (v, _))| (k, v)).collect()),
                src,
            )
        }
    }
}

proptest! {
    /// dockerd's merging rules as a reference model, on random command
    /// lines and daemon.json files over eight options of every kind:
    /// scalar flags given twice: the last wins; list flags add up; map flags
    /// merge by key (last wins); duplicate file keys are decoded in order as
    /// Go's encoding/json does, then completed from the flags by mergo (a
    /// later `null` leaves a string or a `true` as it was, gives a `false`
    /// its default, empties a list or map; a later map adds to the earlier
    /// one: all verified on dockerd 20.10); a key given both as a flag and in the file
    /// (even as `null`) is a start failure, and so is a value of the wrong
    /// type in any occurrence.
    #[test]
    fn merging_agrees_with_the_reference_model(flags in uses(7), members in uses(6)) {
        let mut args = Vec::new();
        let mut from_flags: Vec<Option<Want>> = vec![None; OPTS.len()];
        for u in &flags {
            let (w, v) = flag_words(u);
            args.extend(w);
            let slot = &mut from_flags[u.opt];
            *slot = Some(match (slot.take(), v) {
                (Some(Want::List(mut a)), Want::List(b)) => { a.extend(b); Want::List(a) }
                (Some(Want::Map(mut a)), Want::Map(b)) => { a.extend(b); Want::Map(a) }
                (_, v) => v,
            });
        }
        let mut body = Vec::new();
        let mut in_file = vec![false; OPTS.len()];
        let mut from_file: Vec<Option<Want>> = vec![None; OPTS.len()];
        let mut bad_type = false;
        for u in &members {
            let (text, v) = file_member(u);
            body.push(text);
            in_file[u.opt] = true;
            let slot = &mut from_file[u.opt];
            match (OPTS[u.opt], v) {
                // Go's decoder saves the first type error and goes on.
                (_, Err(())) => bad_type = true,
                // null into a Go bool or string is a no-op, and mergo then
                // fills a zero value (false) from the flag, whose default
                // stays (`flag.Set("<nil>")` fails): an earlier `true` or
                // string stays, an earlier `false` gives the default.
                (Opt::Bool(..), Ok(None)) => {
                    if *slot != Some(Want::Bool(true)) {
                        *slot = None;
                    }
                }
                (Opt::Str(..), Ok(None)) => {}
                // null into a slice or map sets it to nil.
                (Opt::List(..) | Opt::Map(..), Ok(None)) => *slot = None,
                // An object decoded into an existing map keeps its entries.
                (Opt::Map(..), Ok(Some(Want::Map(b)))) => {
                    *slot = Some(match slot.take() {
                        Some(Want::Map(mut a)) => { a.extend(b); Want::Map(a) }
                        _ => Want::Map(b),
                    });
                }
                (_, Ok(v)) => *slot = v,
            }
        }
        let conflict = (0..OPTS.len()).any(|i| from_flags[i].is_some() && in_file[i]);
        let text = format!("{{{}}}", body.join(", "));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = eff(&refs, Some(&text));
        let fatals = fatal_messages(&e);
        prop_assert_eq!(!fatals.is_empty(), conflict || bad_type,
            "argv {:?} file {} fatals {:?}", args, text, fatals);
        if conflict || bad_type {
            return Ok(());
        }
        for (i, o) in OPTS.iter().enumerate() {
            let (got, src) = observed(&e, *o);
            let (want, want_src) = match (&from_flags[i], &from_file[i]) {
                (Some(v), _) => (v.clone(), Source::Argv),
                (None, Some(v)) => (v.clone(), Source::DaemonJson),
                (None, None) => (default_of(*o), Source::Default),
            };
            prop_assert_eq!(&got, &want, "{:?}: argv {:?} file {}", o, args, text);
            if !matches!(want, Want::List(ref l) if l.is_empty()) && !matches!(want, Want::Map(ref m) if m.is_empty()) {
                prop_assert_eq!(src, want_src, "{:?}: argv {:?} file {}", o, args, text);
            }
        }
    }
}
