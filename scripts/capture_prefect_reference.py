#!/usr/bin/env python3
"""Replay tests/data/prefect-scenario/scenario.json against a live Prefect server
and record every exchange in tests/data/prefect-scenario/captured.jsonl.

Usage (from the repository root, with httpx importable):

    python scripts/capture_prefect_reference.py --api http://127.0.0.1:4202/api

The scenario assumes an empty database, so run it against a freshly started
server.  The script refuses to run unless GET {api}/admin/version answers
"3.9.1".

Scenario steps are JSON objects:

    {"case": "unique_name", "method": "POST", "path": "/api/...",
     "body": <JSON value or null>,
     "raw_body": "<sent verbatim instead of body>"          (optional),
     "headers": {"extra": "request headers"}                 (optional),
     "bind": {"var": "dotted.path.in.response"}              (optional),
     "generate": {"dotted.path.in.body": {"repeat": "x", "times": 600000}}  (optional)}

Placeholders "{var}" in the path and in body strings are replaced by values
bound by earlier steps; a body string that is exactly "{var}" takes the bound
value with its JSON type.  "generate" replaces the value at a dotted path of the
(already substituted) body by a generated string, so that very large request
bodies need not be stored in the scenario file.

Bodies are serialised compactly (separators "," and ":", UTF-8, no ASCII
escaping) and sent with content-type: application/json; requests without a body
carry no content-type.  Redirects are not followed, responses are not
decompressed (no Accept-Encoding is sent), and response bodies are recorded
byte-for-byte (decoded as UTF-8).

A 503 {"exception_message":"Service Unavailable"} is the server's answer to a
transient SQLite lock (its scheduler services share the database); like the
Prefect client, the script retries such a request (a few times, with a short
pause) and records only the final answer.  Retries are reported on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx

EXPECTED_VERSION = "3.9.1"
KEPT_HEADERS = ("allow", "location", "content-type")
RETRYABLE_BODY = '{"exception_message":"Service Unavailable"}'
MAX_ATTEMPTS = 6
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "tests" / "data" / "prefect-scenario"


class ScenarioError(Exception):
    pass


def substitute_string(text: str, variables: dict[str, Any], where: str) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ScenarioError(f"{where}: placeholder {{{name}}} is not bound")
        return str(variables[name])

    return PLACEHOLDER.sub(repl, text)


def substitute(value: Any, variables: dict[str, Any], where: str) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            name = whole.group(1)
            if name not in variables:
                raise ScenarioError(f"{where}: placeholder {value} is not bound")
            return variables[name]
        return substitute_string(value, variables, where)
    if isinstance(value, list):
        return [substitute(item, variables, where) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, variables, where) for key, item in value.items()}
    return value


def split_path(dotted: str) -> list[str]:
    return [part for part in dotted.split(".") if part != ""]


def lookup(document: Any, dotted: str) -> Any:
    current = document
    for part in split_path(dotted):
        if isinstance(current, list):
            current = current[int(part)]
        elif isinstance(current, dict):
            current = current[part]
        else:
            raise KeyError(part)
    return current


def assign(document: Any, dotted: str, value: Any) -> None:
    parts = split_path(dotted)
    if not parts:
        raise ScenarioError("generate: empty path")
    target = lookup(document, ".".join(parts[:-1])) if len(parts) > 1 else document
    last = parts[-1]
    if isinstance(target, list):
        target[int(last)] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise ScenarioError(f"generate: cannot assign into {type(target).__name__}")


def generated_value(spec: dict[str, Any]) -> str:
    return str(spec["repeat"]) * int(spec["times"])


def encode_body(step: dict[str, Any], variables: dict[str, Any], where: str) -> str | None:
    if step.get("raw_body") is not None:
        return substitute_string(step["raw_body"], variables, where)
    body = step.get("body")
    if body is None:
        return None
    body = substitute(body, variables, where)
    for dotted, spec in (step.get("generate") or {}).items():
        assign(body, dotted, generated_value(spec))
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def check_version(client: httpx.Client, api: str) -> None:
    response = client.get(f"{api}/admin/version")
    try:
        version = response.json()
    except ValueError:
        version = response.text
    if response.status_code != 200 or version != EXPECTED_VERSION:
        raise ScenarioError(
            f"refusing to capture: {api}/admin/version answered {response.status_code} "
            f"{response.text!r}, expected {json.dumps(EXPECTED_VERSION)}"
        )


def run(api: str, scenario_path: Path, output_path: Path, timeout: float) -> int:
    api = api.rstrip("/")
    base = httpx.URL(api)
    origin = f"{base.scheme}://{base.netloc.decode('ascii')}"
    steps = json.loads(scenario_path.read_text(encoding="utf-8"))
    seen: set[str] = set()
    for step in steps:
        if step["case"] in seen:
            raise ScenarioError(f"duplicate case name {step['case']!r}")
        seen.add(step["case"])

    variables: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    # No Accept-Encoding (so no gzip), no redirects followed, plain HTTP/1.1.
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        client.headers.pop("accept-encoding", None)
        check_version(client, api)
        for index, step in enumerate(steps, start=1):
            case = step["case"]
            where = f"step {index} ({case})"
            path = substitute_string(step["path"], variables, where)
            if not path.startswith("/"):
                raise ScenarioError(f"{where}: path must start with '/'")
            text = encode_body(step, variables, where)
            headers = {
                key.lower(): substitute_string(str(value), variables, where)
                for key, value in (step.get("headers") or {}).items()
            }
            if text is not None:
                headers.setdefault("content-type", "application/json")
            # httpx would otherwise add "accept-encoding: gzip, deflate[, br, zstd]".
            for attempt in range(1, MAX_ATTEMPTS + 1):
                request = client.build_request(
                    step["method"],
                    origin + path,
                    content=text.encode("utf-8") if text is not None else None,
                    headers=headers,
                )
                if "accept-encoding" in request.headers:
                    del request.headers["accept-encoding"]
                response = client.send(request)
                body_text = response.read().decode("utf-8")
                if (
                    response.status_code == 503
                    and body_text == RETRYABLE_BODY
                    and attempt < MAX_ATTEMPTS
                ):
                    print(
                        f"warning: {where}: 503 Service Unavailable, retrying (attempt {attempt})",
                        file=sys.stderr,
                        flush=True,
                    )
                    time.sleep(0.5 * attempt)
                    continue
                break
            record = {
                "case": case,
                "method": step["method"],
                "path": path,
                "request": text,
                "status": response.status_code,
                "headers": {
                    name: response.headers[name]
                    for name in KEPT_HEADERS
                    if name in response.headers
                },
                "response": body_text,
            }
            records.append(record)
            print(
                f"{index:4d} {response.status_code} {step['method']:6s} {path[:90]}  [{case}]",
                flush=True,
            )
            for name, dotted in (step.get("bind") or {}).items():
                try:
                    variables[name] = lookup(json.loads(body_text), dotted)
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise ScenarioError(
                        f"{where}: cannot bind {name} from {dotted!r} "
                        f"(status {response.status_code}, body {body_text[:300]!r}): {exc!r}"
                    ) from exc

    output_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = output_path.with_name(output_path.name + ".tmp")
    with temporary.open("w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(temporary, output_path)
    print(f"wrote {len(records)} exchanges to {output_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="API base URL, e.g. http://127.0.0.1:4202/api")
    parser.add_argument("--scenario", type=Path, default=DATA_DIR / "scenario.json")
    parser.add_argument("--output", type=Path, default=DATA_DIR / "captured.jsonl")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    try:
        return run(args.api, args.scenario, args.output, args.timeout)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"error: HTTP failure talking to {args.api}: {exc!r}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
