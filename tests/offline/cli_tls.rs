//! `dockhard tls init`: files, modes, refusal without `--force`, and no key
//! material on the terminal.

use assert_cmd::Command;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const FILES: [(&str, u32); 6] = [
    ("ca.pem", 0o444),
    ("ca-key.pem", 0o400),
    ("server-cert.pem", 0o444),
    ("server-key.pem", 0o400),
    ("cert.pem", 0o444),
    ("key.pem", 0o400),
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn tls_init(dir: &Path, extra: &[&str]) -> Run {
    let out = Command::cargo_bin("dockhard")
        .unwrap()
        .args(["tls", "init"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The base64 body lines of every PEM block in `text`.
fn pem_body_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn assert_no_key_material(run: &Run, dir: &Path) {
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("PRIVATE KEY"), "{all}");
    assert!(!all.contains("-----BEGIN"), "{all}");
    for (name, mode) in FILES {
        if mode == 0o400 {
            let key = fs::read_to_string(dir.join(name)).unwrap();
            for line in pem_body_lines(&key) {
                assert!(!all.contains(&line), "{name} leaked: {all}");
            }
        }
    }
}

#[test]
fn init_writes_the_set_with_modes_and_prints_the_setup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("docker-tls");
    let run = tls_init(
        &dir,
        &[
            "--san",
            "localhost",
            "--san",
            "127.0.0.1",
            "--san",
            "node1.example",
            "--days",
            "90",
        ],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o7777, 0o700);
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for (name, mode) in FILES {
        let m = fs::symlink_metadata(dir.join(name)).unwrap();
        assert!(m.file_type().is_file(), "{name}");
        assert_eq!(m.mode() & 0o7777, mode, "{name}");
        assert_eq!(m.uid(), me, "{name}");
        assert!(
            run.stdout.contains(name),
            "{name} not reported: {}",
            run.stdout
        );
    }
    assert_eq!(fs::read_dir(&dir).unwrap().count(), FILES.len());
    // Leaf validity: 90 days (+ the one-hour backdating).
    let certs =
        dockhard::model::certs::parse_pem_certs(&fs::read_to_string(dir.join("cert.pem")).unwrap())
            .unwrap();
    assert_eq!(certs[0].not_after - certs[0].not_before, 90 * 86_400 + 3600);
    let abs = fs::canonicalize(&dir).unwrap();
    let abs = abs.display();
    for want in [
        "\"tlsverify\": true".to_string(),
        format!("\"tlscacert\": \"{abs}/ca.pem\""),
        format!("\"tlscert\": \"{abs}/server-cert.pem\""),
        format!("\"tlskey\": \"{abs}/server-key.pem\""),
        "tcp://0.0.0.0:2376".to_string(),
        format!("export DOCKER_CERT_PATH={abs}\n"),
        "export DOCKER_TLS_VERIFY=1\n".to_string(),
        "export DOCKER_HOST=tcp://node1.example:2376\n".to_string(),
    ] {
        assert!(run.stdout.contains(&want), "missing {want}: {}", run.stdout);
    }
    assert_no_key_material(&run, &dir);
}

#[test]
fn existing_files_are_refused_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("key.pem"), "mine").unwrap();
    let run = tls_init(dir, &["--san", "localhost"]);
    assert_eq!(run.code, 2, "stdout: {}", run.stdout);
    assert!(
        run.stderr.contains(&format!("{}/key.pem", dir.display()))
            && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    // Nothing written, the existing file untouched.
    assert_eq!(fs::read_to_string(dir.join("key.pem")).unwrap(), "mine");
    assert_eq!(fs::read_dir(dir).unwrap().count(), 1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    let run = tls_init(dir, &["--san", "localhost", "--force"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(
        fs::read_to_string(dir.join("key.pem"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(
        fs::metadata(dir.join("key.pem")).unwrap().mode() & 0o7777,
        0o400
    );
    assert_no_key_material(&run, dir);
}

#[test]
fn usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    // --san is required.
    let run = tls_init(&dir, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--san"), "{}", run.stderr);
    // A bad SAN is named.
    let run = tls_init(&dir, &["--san", "bad name"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`bad name`"), "{}", run.stderr);
    // --days out of range.
    for d in ["0", "36501", "-1", "many"] {
        let run = tls_init(&dir, &["--san", "a.b", &format!("--days={d}")]);
        assert_eq!(run.code, 2, "--days {d}");
        assert!(run.stderr.contains("--days"), "{}", run.stderr);
    }
    assert!(!dir.exists(), "nothing is created on a usage error");
}
