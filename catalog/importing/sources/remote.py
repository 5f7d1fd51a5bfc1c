"""Reading a live Prefect server (or this catalog) over HTTP, for `import_deployments
--from-api`: flows, deployments, global concurrency limits, work pools with their queues,
and variables, page by page."""

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from catalog.importing.records import Bundle, ImportFailed, Record

PAGE_SIZE = 200


class PrefectApi:
    """A minimal client of Prefect's REST API, speaking the headers its own client sends."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        basic_auth: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {
            "Content-Type": "application/json",
            "X-Prefect-Api-Version": "0.8.4",
            "Accept": "application/json",
            "User-Agent": "prefect-catalog-import",
        }
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        elif basic_auth:
            token = base64.b64encode(basic_auth.encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def post(self, path: str, body: dict) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise ImportFailed([f"{self.url}{path}: HTTP {exc.code}: {detail}"]) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ImportFailed([f"{self.url}{path}: cannot read: {reason}"]) from None

    def pages(self, path: str, page_size: int = PAGE_SIZE) -> Iterator[tuple[int, list]]:
        """`/…/paginate` pages, from the first to the last."""
        page = 1
        while True:
            answer = self.post(path, {"page": page, "limit": page_size})
            yield page, answer["results"]
            if page >= answer["pages"]:
                return
            page += 1

    def offsets(
        self, path: str, body: dict | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[tuple[int, list]]:
        """`/…/filter` results, `page_size` at a time."""
        offset = 0
        while True:
            items = self.post(path, {**(body or {}), "limit": page_size, "offset": offset})
            yield offset, items
            if len(items) < page_size:
                return
            offset += page_size


def fetch_bundle(
    url: str,
    *,
    api_key: str | None = None,
    basic_auth: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Bundle:
    api = PrefectApi(url, api_key=api_key, basic_auth=basic_auth)
    bundle = Bundle()
    for page, flows in api.pages("/flows/paginate", page_size):
        bundle.flows += records(url, f"flows page {page}", flows)
    for page, deployments in api.pages("/deployments/paginate", page_size):
        bundle.deployments += records(url, f"deployments page {page}", deployments)
    for offset, limits in api.offsets("/v2/concurrency_limits/filter", page_size=page_size):
        bundle.concurrency_limits += records(url, f"concurrency limits from {offset}", limits)
    for offset, pools in api.offsets("/work_pools/filter", page_size=page_size):
        for pool in pools:
            pool["queues"] = [
                queue
                for _, queues in api.offsets(
                    f"/work_pools/{urllib.request.quote(pool['name'], safe='')}/queues/filter",
                    page_size=page_size,
                )
                for queue in queues
            ]
        bundle.work_pools += records(url, f"work pools from {offset}", pools)
    for offset, variables in api.offsets("/variables/filter", page_size=page_size):
        bundle.variables += records(url, f"variables from {offset}", variables)
    return bundle


def records(source: str, label: str, items: list) -> list[Record]:
    return [Record(source, f"{label}[{n}]", item) for n, item in enumerate(items)]
