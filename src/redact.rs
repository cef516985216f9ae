//! Secrets dockhard never keeps or shows. Pure.
//!
//! [`api_body`]: what is dropped from an Engine API answer (values that
//! commonly hold secrets and that no rule needs), applied to every answer
//! before it enters the snapshot, so neither a report nor `collect -o` can
//! hold them:
//!
//! - containers and images: the values of `Config.Env` (and an image's
//!   `ContainerConfig.Env`): `NAME=VALUE` becomes `NAME=<redacted>`;
//! - a container's `/top`: each command line is cut to its program (the
//!   rules only look at the program's name);
//! - `/info`: user and password in `HttpProxy`, `HttpsProxy`.
//!
//! [`mask_secrets`]: what `fix` shows of the lines it changes.

use serde_json::Value;

/// What replaces a secret value.
pub const REDACTED: &str = "<redacted>";

/// Redact the answer to `GET path` in place.
pub fn api_body(path: &str, body: &mut Value) {
    let object = |kind: &str| {
        path.strip_prefix(kind)
            .and_then(|rest| rest.strip_suffix("/json"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    if object("/containers/") || object("/images/") {
        for p in ["/Config/Env", "/ContainerConfig/Env"] {
            if let Some(Value::Array(env)) = body.pointer_mut(p) {
                for e in env.iter_mut() {
                    if let Value::String(s) = e {
                        let name = s.split_once('=').map_or(s.as_str(), |(n, _)| n);
                        *s = format!("{name}={REDACTED}");
                    }
                }
            }
        }
    } else if path.starts_with("/containers/") && path.contains("/top") {
        redact_top(body);
    } else if path == "/info" {
        for k in ["HttpProxy", "HttpsProxy"] {
            if let Some(Value::String(s)) = body.get_mut(k) {
                *s = mask_url_password(s);
            }
        }
    }
}

fn redact_top(body: &mut Value) {
    let col = body.get("Titles").and_then(Value::as_array).and_then(|t| {
        t.iter()
            .position(|t| matches!(t.as_str(), Some("CMD" | "COMMAND")))
    });
    let Some(rows) = body.get_mut("Processes").and_then(Value::as_array_mut) else {
        return;
    };
    for row in rows {
        let Some(row) = row.as_array_mut() else {
            continue;
        };
        match col {
            Some(c) => {
                if let Some(Value::String(s)) = row.get_mut(c) {
                    let program = s.split_whitespace().next().unwrap_or_default();
                    if program.len() < s.trim().len() {
                        *s = format!("{program} {REDACTED}");
                    }
                }
            }
            // No CMD column: nothing tells which field is the command.
            None => row.clear(),
        }
    }
}

/// `scheme://user:password@host` -> `scheme://user:<redacted>@host`
/// (a URL without a password is unchanged).
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{REDACTED}@{host}{tail}"),
        None => url.to_string(),
    }
}

/// Words that mark a key or flag value as a secret (lower case):
/// `splunk-token`, `*-password`, `gelf-...-secret`, `api-key`, ...
const SECRET_WORDS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "apikey",
    "api-key",
    "credential",
];

/// The diff as printed: the values of secret-named keys (`"splunk-token":
/// "..."`, `--log-opt splunk-token=...`) and URL passwords
/// (`https://user:...@host`) replaced by `<redacted>`. What is written is
/// the real text; only what is shown is masked.
pub fn mask_secrets(text: &str) -> String {
    text.split_inclusive('\n').map(mask_line).collect()
}

fn mask_line(line: &str) -> String {
    // URL passwords first, then secret-named values (also inside a URL's
    // query: `?token=...`).
    mask_words(&mask_urls(line))
}

/// Each `scheme://...` token, masked by [`mask_url_password`].
fn mask_urls(line: &str) -> String {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut from = 0;
    while let Some(i) = line.get(from..).and_then(|s| s.find("://")) {
        // After the last character that cannot be in a scheme (which may be
        // several bytes long).
        let scheme_start = line[..from + i]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(k, c)| k + c.len_utf8());
        let end = from
            + i
            + line[from + i..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\''))
                .unwrap_or(line.len() - from - i);
        from = from + i + 3;
        let url = &line[scheme_start..end];
        let masked = mask_url_password(url);
        if masked != url {
            edits.push((scheme_start, end, masked));
        }
    }
    apply_edits(line, edits)
}

/// The values of keys and flags named like secrets ([`SECRET_WORDS`]).
fn mask_words(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for w in SECRET_WORDS {
        let mut from = 0;
        while let Some(i) = lower.get(from..).and_then(|s| s.find(w)) {
            let at = from + i + w.len();
            from = at;
            // The rest of the key: letters, digits, `-`, `_`, `.`.
            let key_end = at
                + line[at..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                    .unwrap_or(line.len() - at);
            let rest = &line[key_end..];
            let value = if let Some(r) = rest.strip_prefix('=') {
                let len = r
                    .find([' ', '\t', '"', '\'', '\n', '\r', '\\', '&'])
                    .unwrap_or(r.len());
                Some((key_end + 1, len))
            } else {
                rest.strip_prefix('"')
                    .map(|r| r.trim_start_matches([' ', '\t']))
                    .and_then(|r| r.strip_prefix(':'))
                    .map(|r| r.trim_start_matches([' ', '\t']))
                    .and_then(|r| r.strip_prefix('"'))
                    .map(|v| (line.len() - v.len(), json_string_len(v)))
            };
            if let Some((start, len)) = value {
                edits.push((start, start + len, REDACTED.to_string()));
            }
        }
    }
    apply_edits(line, edits)
}

/// `line` with each byte range replaced (overlapping ranges after the
/// first are skipped).
fn apply_edits(line: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    if edits.is_empty() {
        return line.to_string();
    }
    edits.sort_unstable();
    let mut out = String::with_capacity(line.len());
    let mut pos = 0;
    for (s, e, with) in edits {
        if s < pos || e <= s {
            continue;
        }
        out.push_str(&line[pos..s]);
        out.push_str(&with);
        pos = e;
    }
    out.push_str(&line[pos..]);
    out
}

/// Bytes of a JSON string body up to (not including) its closing quote.
fn json_string_len(s: &str) -> usize {
    let mut esc = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if esc => esc = false,
            '\\' => esc = true,
            '"' => return i,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn container_and_image_env_values_are_redacted() {
        let mut c = json!({"Config": {"Env": ["PATH=/bin", "POSTGRES_PASSWORD=hunter2", "NOEQ"], "User": "1000"}});
        api_body("/containers/0123abcd/json", &mut c);
        assert_eq!(
            c,
            json!({"Config": {"Env": ["PATH=<redacted>", "POSTGRES_PASSWORD=<redacted>", "NOEQ=<redacted>"], "User": "1000"}})
        );
        let mut i =
            json!({"Config": {"Env": ["TOKEN=abc"]}, "ContainerConfig": {"Env": ["K=v=w"]}});
        api_body("/images/sha256:0123/json", &mut i);
        assert_eq!(i["Config"]["Env"][0], "TOKEN=<redacted>");
        assert_eq!(i["ContainerConfig"]["Env"][0], "K=<redacted>");
        // Not an inspect: unchanged.
        let mut l = json!([{"Config": {"Env": ["A=b"]}}]);
        api_body("/containers/json", &mut l);
        assert_eq!(l[0]["Config"]["Env"][0], "A=b");
    }

    #[test]
    fn top_keeps_only_the_program() {
        let mut t = json!({"Titles": ["UID", "PID", "CMD"], "Processes": [
            ["root", "1", "/usr/sbin/sshd -D"], ["app", "7", "mysqld --password=hunter2"], ["x", "8", "sleep"]]});
        api_body("/containers/0123/top", &mut t);
        assert_eq!(t["Processes"][0][2], "/usr/sbin/sshd <redacted>");
        assert_eq!(t["Processes"][1][2], "mysqld <redacted>");
        assert_eq!(t["Processes"][2][2], "sleep");
        let mut odd = json!({"Titles": ["A"], "Processes": [["secret args"]]});
        api_body("/containers/0123/top", &mut odd);
        assert_eq!(odd["Processes"][0], json!([]));
    }

    #[test]
    fn proxy_passwords_are_masked() {
        let mut i = json!({"HttpProxy": "http://bob:pw@proxy:3128/", "HttpsProxy": "http://proxy:3128", "Name": "h"});
        api_body("/info", &mut i);
        assert_eq!(i["HttpProxy"], "http://bob:<redacted>@proxy:3128/");
        assert_eq!(i["HttpsProxy"], "http://proxy:3128");
        assert_eq!(
            mask_url_password("https://a:b:c@h@x/p?q"),
            "https://a:<redacted>@x/p?q"
        );
        assert_eq!(mask_url_password("not a url"), "not a url");
    }

    proptest! {
        #[test]
        fn never_panics_and_never_keeps_an_env_value(
            name in "[A-Z_]{1,8}", secret in "[a-z0-9]{6,12}", path in prop::sample::select(vec![
                "/containers/ab/json", "/images/sha256:ab/json", "/containers/ab/top", "/info"]),
            junk in any::<String>(),
        ) {
            let mut v = json!({"Config": {"Env": [format!("{name}={secret}"), junk.clone()]},
                "Titles": ["CMD"], "Processes": [[format!("prog {secret}")], [junk.clone()]],
                "HttpProxy": format!("http://u:{secret}@h")});
            api_body(path, &mut v);
            if path != "/info" && !name.contains(&secret) {
                let text = v.to_string();
                if path.ends_with("/json") {
                    prop_assert!(!v["Config"]["Env"][0].as_str().unwrap_or("").contains(&secret), "{}", text);
                } else {
                    prop_assert!(!v["Processes"][0][0].as_str().unwrap_or("").contains(&secret), "{}", text);
                }
            }
            let _ = mask_url_password(&junk);
        }
    }
}

#[cfg(test)]
mod mask_tests {
    use super::*;
    use proptest::prelude::*;

    /// Found by `never_panics_and_keeps_lines`: a multi-byte character just
    /// before a scheme.
    #[test]
    fn a_wide_character_before_a_scheme() {
        let line = "ꖝ.NV୍ࢎ៣://⬿ઉ%᧰j𐄺Ⱥ9\"𜳓$\\U";
        assert_eq!(mask_secrets(line), line);
        assert_eq!(
            mask_secrets("៣https://u:pw@h/"),
            format!("៣https://u:{REDACTED}@h/")
        );
    }

    #[test]
    fn secret_values_are_masked_in_what_is_shown() {
        let d = "-{\"log-opts\": {\"splunk-token\": \"SECRET\\\"X\", \"splunk-url\": \"https://u:PW@h:8088/x\"}}\n\
                 +ExecStart=/usr/bin/dockerd --log-opt splunk-token=SECRET2 --log-opt tag=web\n \"registry-mirrors\": [\"https://bob@m\"]\n";
        let m = mask_secrets(d);
        assert_eq!(
            m,
            "-{\"log-opts\": {\"splunk-token\": \"<redacted>\", \"splunk-url\": \"https://u:<redacted>@h:8088/x\"}}\n\
             +ExecStart=/usr/bin/dockerd --log-opt splunk-token=<redacted> --log-opt tag=web\n \"registry-mirrors\": [\"https://bob@m\"]\n"
        );
        assert_eq!(mask_secrets("+{\"icc\": false}\n"), "+{\"icc\": false}\n");
        assert_eq!(
            mask_secrets("\"https://u:pw@h/hook?token=abc&x=1\"\n"),
            "\"https://u:<redacted>@h/hook?token=<redacted>&x=1\"\n"
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_lines(t in any::<String>()) {
            let m = mask_secrets(&t);
            prop_assert_eq!(m.matches('\n').count(), t.matches('\n').count());
        }

        #[test]
        fn a_token_never_shows(secret in "[A-Za-z0-9]{8,16}", key in prop::sample::select(vec!["splunk-token", "gelf-password", "X-Api-Key", "awslogs-credentials"])) {
            for line in [format!(" \"{key}\": \"{secret}\",\n"), format!("+ExecStart=/d --log-opt {key}={secret}\n"), format!("\"url\": \"tcp://a:{secret}@h\"\n")] {
                let m = mask_secrets(&line);
                prop_assert!(!m.contains(&secret), "{}", m);
            }
        }
    }
}
