//! What dockhard never keeps of an Engine API answer: values that commonly
//! hold secrets and that no rule needs. Applied to every answer before it
//! enters the snapshot, so neither a report nor `collect -o` can hold them.
//!
//! - containers and images: the values of `Config.Env` (and an image's
//!   `ContainerConfig.Env`): `NAME=VALUE` becomes `NAME=<redacted>`;
//! - a container's `/top`: each command line is cut to its program (the
//!   rules only look at the program's name);
//! - `/info`: user and password in `HttpProxy`, `HttpsProxy`.

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
