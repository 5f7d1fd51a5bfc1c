"""Reading a live Prefect server (or this catalog) over HTTP, for `import_deployments
--from-api`: flows, deployments, global concurrency limits, work pools with their queues,
and variables, page by page, within the budgets of `bounded_http.RemoteLimits`."""

import base64
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

from catalog.importing.records import Bundle, Record
from catalog.importing.sources.bounded_http import (
    BoundedClient,
    RemoteLimits,
    origin_of,
    printable,
    refuse,
)

PAGE_SIZE = 200


def check_url(url: str) -> None:
    """Refuses, before any request, a URL that is not a plain http(s) URL."""
    origin_of(url)


class PrefectApi:
    """A minimal client of Prefect's REST API, speaking the headers its own client sends."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        basic_auth: str | None = None,
        limits: RemoteLimits | None = None,
        address: str | None = None,
    ) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Prefect-Api-Version": "0.8.4",
            "Accept": "application/json",
            "User-Agent": "prefect-catalog-import",
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        elif basic_auth:
            token = base64.b64encode(basic_auth.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.url = url.rstrip("/")
        self.client = BoundedClient(
            url, headers=headers, limits=limits or RemoteLimits.from_settings(), address=address
        )

    def post(self, path: str, body: dict) -> Any:
        content = self.client.post(path, json.dumps(body).encode())
        try:
            return json.loads(content)
        except ValueError:
            raise refuse(f"{self.url}{path}: the answer is not JSON") from None

    def pages(self, path: str, page_size: int = PAGE_SIZE) -> Iterator[tuple[int, list]]:
        """`/…/paginate` pages, from the first to the last."""
        listing = Listing(f"{self.url}{path}", page_size)
        page = 1
        while True:
            answer = self.post(path, {"page": page, "limit": page_size})
            results, pages = listing.paginate_page(answer, page)
            yield page, results
            if page >= pages or not results:
                return
            page += 1

    def offsets(
        self, path: str, body: dict | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[tuple[int, list]]:
        """`/…/filter` results, `page_size` at a time."""
        listing = Listing(f"{self.url}{path}", page_size)
        offset = 0
        while True:
            items = self.post(path, {**(body or {}), "limit": page_size, "offset": offset})
            listing.check_results(items, f"from offset {offset}")
            yield offset, items
            if len(items) < page_size:
                return
            offset += page_size


class Listing:
    """The pages of one listing: each the shape asked for, none a repeat of earlier ones."""

    def __init__(self, url: str, page_size: int) -> None:
        self.url = url
        self.page_size = page_size
        self.seen: set[str] = set()

    def paginate_page(self, answer: Any, page: int) -> tuple[list, int]:
        if not isinstance(answer, dict):
            raise refuse(f"{self.url}: page {page} is not a paginate answer")
        results, pages = answer.get("results"), answer.get("pages")
        if not isinstance(pages, int) or isinstance(pages, bool):
            raise refuse(f"{self.url}: page {page} has no whole number of pages")
        self.check_results(results, f"page {page}")
        return results, pages

    def check_results(self, results: Any, label: str) -> None:
        if not isinstance(results, list):
            raise refuse(f"{self.url}: {label} is not a list of results")
        if len(results) > self.page_size:
            raise refuse(
                f"{self.url}: {label} has {len(results):,} results, more than the "
                f"{self.page_size} asked for"
            )
        keys = {record_key(item) for item in results}
        if results and keys <= self.seen:
            raise refuse(f"{self.url}: {label} repeats an earlier page; the server pages in a loop")
        self.seen |= keys


def record_key(item: Any) -> str:
    """What tells records apart: the id, else the whole record."""
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return item["id"]
    return json.dumps(item, sort_keys=True)


def fetch_bundle(
    url: str,
    *,
    api_key: str | None = None,
    basic_auth: str | None = None,
    page_size: int = PAGE_SIZE,
    limits: RemoteLimits | None = None,
    address: str | None = None,
) -> Bundle:
    """`address`: the address to connect to, checked by the caller (`host_policy`)."""
    api = PrefectApi(url, api_key=api_key, basic_auth=basic_auth, limits=limits, address=address)
    bundle = Bundle()
    for page, flows in api.pages("/flows/paginate", page_size):
        bundle.flows += records(url, f"flows page {page}", flows)
    for page, deployments in api.pages("/deployments/paginate", page_size):
        bundle.deployments += records(url, f"deployments page {page}", deployments)
    for offset, limits_read in api.offsets("/v2/concurrency_limits/filter", page_size=page_size):
        bundle.concurrency_limits += records(url, f"concurrency limits from {offset}", limits_read)
    for offset, pools in api.offsets("/work_pools/filter", page_size=page_size):
        for pool in pools:
            pool["queues"] = pool_queues(api, url, pool, page_size)
        bundle.work_pools += records(url, f"work pools from {offset}", pools)
    for offset, variables in api.offsets("/variables/filter", page_size=page_size):
        bundle.variables += records(url, f"variables from {offset}", variables)
    return bundle


def pool_queues(api: PrefectApi, url: str, pool: Any, page_size: int) -> list:
    if not isinstance(pool, dict) or not isinstance(pool.get("name"), str):
        raise refuse(f"{url}/work_pools/filter: a work pool without a name: {printable(str(pool))}")
    path = f"/work_pools/{urllib.parse.quote(pool['name'], safe='')}/queues/filter"
    return [queue for _, queues in api.offsets(path, page_size=page_size) for queue in queues]


def records(source: str, label: str, items: list) -> list[Record]:
    return [Record(source, f"{label}[{n}]", item) for n, item in enumerate(items)]
