#!/usr/bin/env python3
"""Run the independent RFC 7643/7644 compliance checker `scim2-tester` against a SCIM server.

Usage:
    python3 tests/scim2_tester.py --url http://127.0.0.1:PORT/scim/v2 --token TOKEN

Every check of scim2-tester is enabled (no tag or resource-type filtering).
One line is printed per check result:

    STATUS    title [ResourceType]: reason

followed by a plain summary line `N passed, N failed` (failed = ERROR or
CRITICAL results) that CI parses. The exit status is 1 when any result is
ERROR or CRITICAL, 0 otherwise.

Needs the pinned packages of tests/scim2-tester-requirements.txt
(scim2-tester, scim2-client with its httpx2 engine); tests/scim2_tester.sh
installs them in a venv.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

# This file is named like the `scim2_tester` package it drives: drop its own
# directory from the import path so `import scim2_tester` finds the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

FAILING = ("ERROR", "CRITICAL")


def _one_line(text: object, limit: int = 0) -> str:
    line = " | ".join(part.strip() for part in str(text).splitlines() if part.strip())
    if limit and len(line) > limit:
        line = line[: limit - 3] + "..."
    return line


def _describe_data(data: object) -> str:
    """Render the debugging data a result carries (responses, exceptions, payloads)."""
    status_code = getattr(data, "status_code", None)
    text = getattr(data, "text", None)
    if status_code is not None and isinstance(text, str):
        method = url = ""
        request = getattr(data, "request", None)
        if request is not None:
            method, url = request.method, request.url
        return f"HTTP {status_code} {method} {url} {text}"
    return repr(data)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run scim2-tester (check_server) with all checks against a SCIM server."
    )
    parser.add_argument(
        "--url", required=True, help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2"
    )
    parser.add_argument("--token", required=True, help="Bearer token sent in every request")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="HTTP timeout in seconds (default 30)"
    )
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="Also print the debugging data (response, payload) of failing results",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="Log every HTTP exchange (method, URL, query, body, status, response) to stderr",
    )
    return parser.parse_args(argv)


def _trace_hooks() -> dict[str, list]:
    def on_response(response) -> None:  # type: ignore[no-untyped-def]
        response.read()
        request = response.request
        body = request.content.decode("utf-8", "replace") if request.content else ""
        print(
            f">>> {request.method} {request.url} {body}\n"
            f"<<< {response.status_code} {response.headers.get('content-type', '')} "
            f"{response.text}",
            file=sys.stderr,
        )

    return {"response": [on_response]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    try:
        import httpx2
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import check_server
    except ImportError as exc:
        print(f"cannot import scim2-tester and its httpx2 engine: {exc}", file=sys.stderr)
        print("install them with: pip install -r tests/scim2-tester-requirements.txt", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1

    http = httpx2.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=args.timeout,
        # The server is local; never route it through a proxy from the environment.
        trust_env=False,
        event_hooks=_trace_hooks() if args.trace else None,
    )
    # No provider is given: check_server discovers /ServiceProviderConfig,
    # /ResourceTypes and /Schemas itself and builds the resource models from them.
    scim = SyncSCIMClient(http)

    passed = failed = skipped = 0
    try:
        results = check_server(scim, raise_exceptions=False)
    except Exception:  # scim2-tester normally turns every failure into a result
        traceback.print_exc()
        print("check_server crashed before returning results")
        print("0 passed, 1 failed")
        return 1
    finally:
        http.close()

    for result in results:
        status = result.status.name
        if status in FAILING:
            failed += 1
        elif status == "SKIPPED":
            skipped += 1
        else:  # SUCCESS, COMPLIANT, ACCEPTABLE, DEVIATION
            passed += 1

        title = result.title or "?"
        if result.resource_type:
            title = f"{title} [{result.resource_type}]"
        reason = _one_line(result.reason or "", limit=2000)
        print(f"{status:<9} {title}: {reason}")
        if args.verbose and status in FAILING and result.data is not None:
            print(f"          data: {_one_line(_describe_data(result.data), limit=4000)}")

    if skipped:
        print(f"({skipped} skipped)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
