#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into OUT/NAME/ (OUT: the first
argument, default fuzz/work, the fuzzer's working corpus) from the fixture
trees and a few hand-written cases. fuzz/run.sh runs it; libFuzzer adds what
it finds next to them (then `cargo fuzz cmin`, then fuzz/select.py)."""
import glob, hashlib, os, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(root, "fuzz", "work")
os.chdir(root)
hosts = "tests/fixtures/hosts"

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def read(p):
    with open(p, "rb") as f:
        return f.read()

for p in glob.glob(f"{hosts}/*/etc/docker/daemon.json"):
    put("daemon_json", read(p))
for s in ['{"icc":false,"icc":true}', '{"log-opts":{"max-size":"10m"},"hosts":["tcp://0.0.0.0:2375"]}',
          '{"a":[1,2,{"b":null}],"c":1e400,"d":"\\ud800"}', '\ufeff{}', '{"x":1} {"y":2}', '[' * 64 + ']' * 64,
          '{"tlsverify":true,"tlscacert":"/etc/docker/ca.pem","userns-remap":"default"}']:
    put("daemon_json", s)

for h in sorted(glob.glob(f"{hosts}/*")):
    units = glob.glob(f"{h}/**/docker.service", recursive=True)
    dropins = glob.glob(f"{h}/**/docker.service.d/*.conf", recursive=True)
    envs = [p for p in glob.glob(f"{h}/etc/default/*") + glob.glob(f"{h}/etc/sysconfig/*") + glob.glob(f"{h}/etc/docker/*.env")]
    for u in units:
        put("unit", read(u) + b"\0" + (read(dropins[0]) if dropins else b"") + b"\0" + (read(envs[0]) if envs else b""))
    for e in envs:
        put("envfile", read(e))
put("unit", "[Service]\nExecStart=/usr/bin/dockerd \\\n  -H fd:// \\\n  $OPTIONS ${EXTRA}\n\0[Service]\nExecStart=\nExecStart=-/usr/bin/dockerd \"--icc=false\" 'a b'\n\0OPTIONS=\"--userland-proxy=false --live-restore\"\n")
put("envfile", "# c\nOPTIONS='--selinux-enabled --log-driver=journald'\nexport A=\"b\\\nc\"\nB=1 \\\n 2\n")

for a in [["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"],
          ["dockerd", "-H", "tcp://0.0.0.0:2375", "-H=unix:///var/run/docker.sock", "--icc=false", "--tlsverify",
           "--default-ulimit", "nofile=1024:2048", "--storage-opt", "dm.basesize=20G", "{\"icc\":true}"],
          ["dockerd", "--host", "[::1]:2376", "-Htcp://:2375", "--config-file=/etc/docker/daemon.json", "--userns-remap=default"],
          ["dockerd", "-D", "--log-level", "debug", "--bip", "10.0.0.1/24", "--mtu", "0x5dc", "--max-concurrent-downloads=3"]]:
    put("argv", "\0".join(a))

for p in ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/unix"]:
    try:
        put("procnet", read(p))
    except OSError:
        pass
put("procnet", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
               "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n"
               "   1: 00000000000000000000000001000000:0929 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n")
for p in ["/proc/self/stat", "/proc/self/status", "/proc/self/cgroup", "/proc/stat", "/proc/self/mountinfo"]:
    put("procfs", read(p))
put("procfs", "0::/system.slice/docker.service\n")
put("procfs", b"PATH=/usr/bin\0HOME=/root\0DOCKER_CERT_PATH=/etc/docker\0=x\0NOEQ\0")
put("procfs", "-w /usr/bin/dockerd -k docker\n-a always,exit -F path=/usr/bin/containerd -F perm=wa -k docker\n-w /var/lib/docker -p wa\n")
put("procfs", "123 (docker d) S 1 123 123 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 10 0 4242 0 0\n")

body = '{"ServerVersion":"20.10.24","Driver":"vfs"}'
put("http_response", f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}")
put("http_response", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n5\r\n{\"a\":\r\n2;x=y\r\n1}\r\n0\r\nTrailer: t\r\n\r\n")
put("http_response", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"page not found\"}")
put("http_response", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
put("http_response", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n")

put("pem", read("src/collect/testdata/probe-cert.pem"))
for p in glob.glob(f"{hosts}/*/etc/docker/tls/c*.pem"):
    put("pem", read(p))
put("pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")

put("policy", 'profile = "cis"\nfail_on = "high"\n[rules]\nenable = ["cis"]\ndisable = ["daemon.icc"]\n[severity]\n"daemon.log-level" = "low"\n'
              '[[waiver]]\nrule = "daemon.userns-remap"\nreason = "legacy volumes"\nowner = "ops@example.com"\nexpires = "2027-01-31"\n'
              '[exclude]\ncontainers = ["ci-*"]\nlabels = ["dockhard.exclude=true"]\n')
put("policy", read("docs/policy.example.toml"))
put("policy", "[rules]\nenable = [\"seed\"]\n[[waiver]]\nrule = \"x\"\n")

put("snapshot", read("tests/fixtures/snapshots/sample.json"))
# Snapshots of every fixture host and their (seed profile) reports, with a
# dockhard binary: DOCKHARD_BIN=target/release/dockhard fuzz/seeds/make.py
if os.environ.get("DOCKHARD_BIN"):
    import tempfile
    b = os.environ["DOCKHARD_BIN"]
    for h in sorted(glob.glob(f"{hosts}/*/")):
        with tempfile.TemporaryDirectory() as t:
            snap = os.path.join(t, "snap.json")
            r = subprocess.run([b, "collect", "--root", h, "--profile", "all", "--no-policy", "-o", snap],
                               capture_output=True)
            if r.returncode != 0:
                continue
            put("snapshot", read(snap))
            rep = subprocess.run([b, "check", "--snapshot", snap, "--no-policy", "--format", "json"],
                                 capture_output=True)
            if rep.stdout:
                put("report", rep.stdout)
