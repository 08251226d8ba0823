"""What developers use today to download Magento orders, each run in its own process against the same fake store.

Run as ``python _peers.py PEER BASE_URL TOKEN PAGE_SIZE`` (``PAGE_SIZE`` may be ``default``); prints one JSON line
``{"orders": n, "requests": r, "seconds": s, "cpu_seconds": c, "page_size": p}``. ``BASE_URL`` is the store's REST
root including the store code, e.g. ``http://127.0.0.1:8080/rest/default``.

* ``httpx-loop``: the loop a developer writes by hand: ``GET /V1/orders`` page after page with searchCriteria until
  ``total_count`` orders are in, ``response.json()`` on each page. httpx has no default page size; 100 is the
  common hand-written choice.
* ``pymagento`` (PyPI ``pymagento``, ``Magento.get_orders()``): sequential ``requests`` pages; default page size
  ``Magento.PAGE_SIZE = 1000``, which a store with web API input limits enabled (max 300) refuses.
* ``my-magento`` (PyPI ``my-magento``, ``client.orders.since(date).execute()``): no paging at all; one request without
  ``pageSize`` that returns every order (a store with input limits enabled answers with its default page size,
  20, so the download silently stops at 20 orders) and wraps each in its ``Order`` model. It has no page-size knob,
  so it only runs at its own default.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from _lazy_imports import import_first_use


def _split(base_url: str) -> tuple[str, str]:
    """``http://host:port/rest/<code>`` -> (``http://host:port``, ``<code>``)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    code = path.rsplit("/", 1)[-1] if path.count("/") >= 2 else "default"
    return f"{parts.scheme}://{parts.netloc}", code


_STARTED: list[float] = []
_CPU_STARTED: list[float] = []


def _start() -> None:
    """Start the clocks: each peer calls it once its imports are done, httpx's first-use imports included, so
    the times compare work with work (the SDK's own runs are timed after their imports too)."""
    import_first_use()
    _CPU_STARTED.append(time.process_time())
    _STARTED.append(time.perf_counter())


def httpx_loop(base_url: str, token: str, page_size: int | None) -> dict[str, Any]:
    import httpx

    _start()

    size = page_size or 100
    seen = requests = 0
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        page = 1
        while True:
            response = client.get("/V1/orders", params={
                "searchCriteria[pageSize]": size, "searchCriteria[currentPage]": page,
                "searchCriteria[sortOrders][0][field]": "entity_id",
                "searchCriteria[sortOrders][0][direction]": "ASC",
            })
            requests += 1
            response.raise_for_status()
            body = response.json()
            seen += len(body["items"])
            if seen >= body["total_count"] or not body["items"]:
                break
            page += 1
    return {"orders": seen, "requests": requests, "page_size": size}


def pymagento(base_url: str, token: str, page_size: int | None) -> dict[str, Any]:
    from magento import Magento  # type: ignore[import-not-found]

    _start()

    root, code = _split(base_url)
    counted: dict[str, int] = {"requests": 0}
    client = Magento(token=token, base_url=root, scope=code, batch_page_size=page_size)
    original = client.request_api

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted["requests"] += 1
        return original(*args, **kwargs)

    client.request_api = counting
    seen = sum(1 for _ in client.get_orders())
    return {"orders": seen, "requests": counted["requests"], "page_size": client.PAGE_SIZE}


def my_magento(base_url: str, token: str, page_size: int | None) -> dict[str, Any]:
    if page_size is not None:
        raise SystemExit("my-magento has no page-size setting")
    import os
    import tempfile

    # It writes log files into the working directory (from import on): keep them out of the repository.
    os.chdir(tempfile.mkdtemp(prefix="my-magento-"))
    from magento import Client  # type: ignore[import-not-found]

    _start()

    root, code = _split(base_url)
    # Without a user_agent it fetches one from the internet on construction.
    client = Client(root, "bench", "unused", scope=code, token=token, login=False, local=True, user_agent="bench",
                    log_level="ERROR")
    # Its domain parser drops the port (``127.0.0.1:8080`` -> ``127.0.0.1``), so point it at the store directly.
    client.BASE_URL = f"{root}/rest/V1/"
    # Its get_all() filters on created_at >= "None" (the missing date written as text); a developer gives the
    # download range instead, as its README does.
    search = client.orders.since("2000-01-01")
    # It writes ".../V1/orders/?searchCriteria..."; Magento trims the trailing slash, the testing kit's fake
    # does not (yet), so the same request is sent without it.
    search.query = search.query.replace("/?", "?")
    result = search.execute()
    seen = 0 if result is None else (len(result) if isinstance(result, list) else 1)
    return {"orders": seen, "requests": 1, "page_size": None}


def transport_async(base_url: str, token: str, page_size: int | None) -> dict[str, Any]:
    """Not a peer: the bare loop without even ``json.loads`` (each answer read whole, then dropped): what httpx
    and the test store alone take for the offset listing on this machine."""
    return bare_async(base_url, token, page_size, parse=False)


def bare_async(base_url: str, token: str, page_size: int | None, parse: bool = True) -> dict[str, Any]:
    """Not a peer: the floor of what Python + httpx can do here. Eight pages in flight on one asyncio loop,
    ``json.loads`` on each and nothing else (no mapping, no rules, no storage)."""
    import asyncio
    import json as json_module

    import httpx

    _start()
    size = page_size or 100

    async def run() -> dict[str, Any]:
        params = {"searchCriteria[pageSize]": size, "searchCriteria[currentPage]": 1}
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=60) as client:
            first = json_module.loads((await client.get("/V1/orders", params=params)).content)
            total = first["total_count"]
            pages = -(-total // size)
            queue = list(range(2, pages + 1))
            seen = [len(first["items"])]

            async def worker() -> None:
                while queue:
                    page = queue.pop(0)
                    response = await client.get("/V1/orders", params={**params, "searchCriteria[currentPage]": page})
                    seen.append(len(json_module.loads(response.content)["items"]) if parse else size)

            await asyncio.gather(*(worker() for _ in range(8)))
            return {"orders": sum(seen), "requests": pages, "page_size": size}

    return asyncio.run(run())


PEERS = {"bare-async": bare_async, "transport-async": transport_async, "httpx-loop": httpx_loop,
         "pymagento": pymagento, "my-magento": my_magento}


def main(argv: list[str]) -> int:
    name, base_url, token, size_text = argv
    page_size = None if size_text == "default" else int(size_text)
    result = PEERS[name](base_url, token, page_size)
    result["seconds"] = time.perf_counter() - _STARTED[0]
    result["cpu_seconds"] = time.process_time() - _CPU_STARTED[0]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
