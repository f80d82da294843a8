"""Compares a scimulator report.json against the findings pinned for scim2-server.

    python3 tests/scim2_server.py REPORT_JSON EXPECTED_FILE [--update]

The pinned file lists, per scenario, its outcome and the distinct finding behaviours (one line
each, sorted). A harness regression shows either way: a scenario that starts failing, or one
that stops failing, or a finding that appears or disappears.
"""
import json
import sys


def summarise(report):
    lines = []
    for s in sorted(report["scenarios"], key=lambda s: s["name"]):
        lines.append(f"{s['name']}: {s['outcome']}")
        for b in sorted({f["behaviour"] for f in s["findings"]}):
            lines.append(f"  {b}")
    return lines


def main():
    report_path, expected_path = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv[3:]
    with open(report_path) as f:
        got = summarise(json.load(f))
    if update:
        with open(expected_path, "w") as f:
            f.write("\n".join(got) + "\n")
        print(f"wrote {expected_path}")
        return 0
    with open(expected_path) as f:
        want = f.read().splitlines()
    if got == want:
        print(f"scim2-server: {len(got)} pinned lines match")
        print(f"{sum(1 for l in got if not l.startswith(' '))} passed, 0 failed")
        return 0
    import difflib
    print("scim2-server results differ from the pinned ones (tests/scim2-server-expected.txt):")
    for line in difflib.unified_diff(want, got, "pinned", "this run", lineterm=""):
        print(line)
    print("0 passed, 1 failed")
    return 1


if __name__ == "__main__":
    sys.exit(main())
