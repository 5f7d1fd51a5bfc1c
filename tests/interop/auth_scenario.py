"""The real `prefect` client's credentials against a catalog: how far it gets.

Run with the interop venv's python, with PREFECT_API_URL and the credentials to try
(PREFECT_API_KEY or PREFECT_API_AUTH_STRING) in the environment:

    PREFECT_API_URL=http://127.0.0.1:8000/api PREFECT_API_KEY=pcat_… \
        .venv-interop/bin/python tests/interop/auth_scenario.py

It takes the steps below in order until the server refuses one, and prints one JSON
line: `{"done": [steps], "refused": null}`, or with `"refused": {"step", "status",
"body"}` for the refusal. tests/test_interop_auth.py reads it.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import httpx
from prefect.client.orchestration import PrefectClient, get_client

RUN = os.environ.get("INTEROP_RUN") or uuid.uuid4().hex[:8]
FLOW_NAME = f"interop-auth-{RUN}"


def http_error(exc: BaseException | None) -> httpx.HTTPStatusError | None:
    """The HTTP error behind an exception, if there is one."""
    while exc is not None and not isinstance(exc, httpx.HTTPStatusError):
        exc = exc.__cause__ or exc.__context__
    return exc


def refusal(exc: httpx.HTTPStatusError, step: str) -> dict:
    try:
        body = exc.response.json()
    except ValueError:
        body = exc.response.text
    return {"step": step, "status": exc.response.status_code, "body": body}


async def scenario(client: PrefectClient, begun: list[str]) -> None:
    """The steps, each named in `begun` as it starts: after a refusal the last is refused."""
    begun.append("read_deployments")
    await client.read_deployments(limit=1)
    begun.append("create_flow")
    flow_id = await client.create_flow_from_name(FLOW_NAME)
    begun.append("create_deployment")
    deployment_id = await client.create_deployment(flow_id=flow_id, name="keyed")
    begun.append("read_deployment")
    deployment = await client.read_deployment(deployment_id)
    if deployment.name != "keyed":
        raise AssertionError(f"read back {deployment!r}")
    begun.append("delete_flow")
    await client.delete_flow(flow_id)


async def main() -> None:
    begun: list[str] = []
    async with get_client() as client:
        try:
            await scenario(client, begun)
        except Exception as exc:
            error = http_error(exc)
            if error is None:
                raise
            outcome = {"done": begun[:-1], "refused": refusal(error, begun[-1])}
        else:
            outcome = {"done": begun, "refused": None}
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
