"""Where the c=8 download's time goes.

    pip install py-spy
    python benchmarks/profile_download.py [--orders 8000] [--concurrency 8] [--php-json] [--gzip]
    python benchmarks/profile_download.py --timeline [--orders 8000] [--php-json] [--gzip] [--engine sync]

Default: py-spy samples the SDK worker and this sums the samples by stage (py-spy counts only samples where
the process is on the CPU). A stage is "inclusive": its function and everything it calls.

``--timeline`` (no py-spy needed): the download runs in a worker that times, for every request of the keyset
listing, when its flow was started, when it went on the wire and came back, when its parse began and ended,
and when the slice's next request was started; then prints the round trips the run took against the fewest
possible, and where each slice's time between two pages went. The timing wraps the driver's flows and the
HTTP client's ``send`` from the outside (nothing in the package changes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HERE, PY, FakeStore, _last_json, bound, keyset_floor, warm

# (label, a substring of the frame that marks the stage); first match from the top of this list wins, so a
# frame inside commit_page counts for the ledger and not for the download loop that called it.
STAGES = (
    ("fingerprint", "fingerprint ("),
    ("ledger: snapshot", "snapshot_json ("),
    ("ledger: SQLite and rest", "commit_page ("),
    ("ledger: seen()", "seen ("),
    ("map (dict -> Order)", "map_order ("),
    ("parse (JSON decode)", "decode_row ("),
    ("parse (JSON decode)", "decode_order ("),
    ("parse (page envelope)", "read_envelope ("),
    ("parse (page envelope)", "decode_list_envelope ("),
    ("rules", "decide ("),
    ("HTTP: gzip", "httpx/_decoders"),
    ("HTTP (httpx/httpcore/h11)", "httpcore"),
    ("engine: other", "ecc_connectors"),
)


def summarize(raw: Path) -> list[tuple[str, int, float]]:
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        samples = int(n)
        total += samples
        for label, marker in STAGES:
            if marker in stack:
                counts[label] += samples
                break
        else:
            counts["other (asyncio, interpreter)"] += samples
    return [(label, n, n / total * 100) for label, n in counts.most_common()]


# ---------------------------------------------------------------------------------------------------------
# --timeline: the worker side (runs the download with its flows timed)


def trace_worker(url: str, token: str, concurrency: int, engine: str) -> dict[str, Any]:
    import asyncio

    import httpx
    from _sdk import driver, policy

    from ecc_connectors import AsyncConnector, Connector
    from ecc_connectors.drivers.magento2 import Magento2Driver
    from ecc_connectors.ledger import SQLiteLedger

    clock = time.perf_counter
    flows: list[dict[str, Any]] = []
    wire: dict[int, tuple[float, float]] = {}

    def traced(kind: str, make: Any) -> Any:
        def flow(*args: Any) -> Any:
            rec: dict[str, Any] = {"kind": kind, "created": clock()}
            if kind == "page":
                seek = args[2]  # (driver, query, seek, size)
                rec["after"] = repr(seek.after)
                rec["through"] = repr(seek.through)
            inner = make(*args)
            try:
                request = next(inner)
            except StopIteration as stop:
                return stop.value
            rec["request"] = request  # kept alive to the end, so no other request gets its id()
            while True:
                try:
                    response = yield request
                except BaseException as exc:
                    request = inner.throw(exc)
                    continue
                rec["parse_start"] = clock()
                try:
                    request = inner.send(response)
                except StopIteration as stop:
                    rec["parse_end"] = clock()
                    keys = getattr(stop.value, "keys", None) or ()
                    rec["last"] = repr(keys[-1]) if keys else None
                    rec["rows"] = len(keys)
                    flows.append(rec)
                    return stop.value
        return flow

    original_seek = Magento2Driver.seek_page
    original_probe = Magento2Driver.probe
    Magento2Driver.seek_page = traced("page", original_seek)  # type: ignore[method-assign]
    Magento2Driver.probe = traced("probe", original_probe)  # type: ignore[method-assign]
    original_numbered = getattr(Magento2Driver, "listing_page", None)
    if original_numbered is not None:
        Magento2Driver.listing_page = traced("numbered", original_numbered)  # type: ignore[method-assign]

    def timed_send(original: Any) -> Any:
        if asyncio.iscoroutinefunction(original):
            async def send_async(self: Any, request: Any, **kwargs: Any) -> Any:
                t0 = clock()
                response = await original(self, request, **kwargs)
                wire[id(request)] = (t0, clock())
                return response
            return send_async

        def send(self: Any, request: Any, **kwargs: Any) -> Any:
            t0 = clock()
            response = original(self, request, **kwargs)
            wire[id(request)] = (t0, clock())
            return response
        return send

    httpx.AsyncClient.send = timed_send(httpx.AsyncClient.send)  # type: ignore[method-assign]
    httpx.Client.send = timed_send(httpx.Client.send)  # type: ignore[method-assign]

    # The core's side of each page: deciding it (and how long it first waits for the previous page's write),
    # and the write itself on the ledger thread.
    decided: list[dict[str, float]] = []
    writes: list[tuple[float, float]] = []
    from ecc_connectors import _download

    original_decide = _download.Downloads._decide_page

    def timed_decide(self: Any, orders: Any, tally: Any, run: Any) -> Any:
        rec = {"start": clock()}
        inner = original_decide(self, orders, tally, run)
        value: Any = None
        first = True
        while True:
            try:
                effect = inner.send(value)
            except StopIteration as stop:
                rec["end"] = clock()
                decided.append(rec)
                return stop.value
            if first:
                rec["flush_asked"] = clock()
            value = yield effect
            if first:
                rec["flush_done"] = clock()
                first = False

    _download.Downloads._decide_page = timed_decide  # type: ignore[method-assign]
    original_commit = SQLiteLedger.commit_page

    def timed_commit(self: Any, batch: Any) -> Any:
        t0 = clock()
        try:
            return original_commit(self, batch)
        finally:
            writes.append((t0, clock()))

    SQLiteLedger.commit_page = timed_commit  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory() as tmp:
        ledger = SQLiteLedger(Path(tmp) / "ledger.sqlite3")
        drv = driver(url, token, concurrency)
        start = clock()
        if engine == "async":
            async def go() -> Any:
                async with AsyncConnector(drv, policy(), ledger) as connector:
                    return await connector.download()
            report = asyncio.run(go())
        else:
            with Connector(drv, policy(), ledger) as connector:
                report = connector.download()
        end = clock()
        ledger.close()
    for rec in flows:
        sent = wire.get(id(rec.pop("request")))
        if sent is not None:
            rec["sent"], rec["received"] = sent
        for key in ("created", "sent", "received", "parse_start", "parse_end"):
            if key in rec:
                rec[key] -= start
    return {"seconds": end - start, "seen": report.seen, "flows": flows,
            "decided": [{k: v - start for k, v in d.items()} for d in decided],
            "writes": [(a - start, b - start) for a, b in writes]}


# ---------------------------------------------------------------------------------------------------------
# --timeline: the report


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values) * 1000:.0f} ms, mean {statistics.fmean(values) * 1000:.0f} ms"


def explain(data: dict[str, Any], latency: float, pages: int, concurrency: int) -> list[str]:
    flows = [f for f in data["flows"] if "sent" in f]
    page_flows = [f for f in flows if f["kind"] == "page"]
    probes = [f for f in flows if f["kind"] == "probe"]
    numbered = [f for f in flows if f["kind"] == "numbered"]
    by_after = {f["after"]: f for f in page_flows}
    # A slice's pages chain: the next page of a slice asks for the keys after the last key of the one before.
    gaps, queue, parse, start_to_wire, wire_extra = [], [], [], [], []
    for f in page_flows:
        parse.append(f["parse_end"] - f["parse_start"])
        queue.append(f["parse_start"] - f["received"])
        start_to_wire.append(f["sent"] - f["created"])
        wire_extra.append(f["received"] - f["sent"] - latency)
        following = by_after.get(f["last"]) if f["last"] else None
        # (a page ending on a cut key is the end of its slice: the page after that key is the next slice's first)
        if following is not None and following["created"] >= f["parse_end"]:
            gaps.append(following["created"] - f["parse_end"])
    seconds = data["seconds"]
    lines = [
        f"{data['seen']} orders in {seconds:.2f} s = {seconds / latency:.1f} round trips of {latency * 1000:.0f} ms; "
        f"bound {bound(pages, concurrency) / latency:.0f} round trips (offset pages), keyset floor "
        f"{keyset_floor(pages, concurrency) / latency:.0f} (probed cuts), "
        f"{bound(pages, concurrency) / latency:.0f} with pages by number",
        f"requests: {len(page_flows)} pages, {len(numbered)} pages by number, {len(probes)} probes",
    ]
    if numbered:
        lines.append(
            f"pages by number sent {min(p['sent'] for p in numbered):.2f}-{max(p['sent'] for p in numbered):.2f} s,"
            f" back {min(p['received'] for p in numbered):.2f}-{max(p['received'] for p in numbered):.2f} s"
        )
    if probes:
        first = min(page_flows, key=lambda f: f["sent"])
        lines.append(
            f"first page back at {first['received']:.2f} s, parsed at {first['parse_end']:.2f} s; probes sent "
            f"{min(p['sent'] for p in probes):.2f}-{max(p['sent'] for p in probes):.2f} s, all back by "
            f"{max(p['parse_end'] for p in probes):.2f} s"
        )
    lines.append(f"last page sent at {max(f['sent'] for f in page_flows):.2f} s, back at "
                 f"{max(f['received'] for f in page_flows):.2f} s; the run ended at {seconds:.2f} s")
    lines += [
        "per page, on the wire beyond the store's latency (transfer, server, loop): " + _ms(wire_extra),
        "per page, answer received -> its parse starts (waiting for the CPU worker): " + _ms(queue),
        "per page, parse (JSON decode + keys, on the CPU worker): " + _ms(parse),
        "per page, parsed -> the slice's next request started (in-order await, decide, ledger wait): " + _ms(gaps),
        "per page, request started -> on the wire (slot, event loop): " + _ms(start_to_wire),
    ]
    decided = data.get("decided", [])
    if decided:
        lines.append("per page, deciding it (ledger look-up, rules) on the core: "
                     + _ms([d["end"] - d.get("flush_done", d["start"]) for d in decided]))
        lines.append("per page, the core waiting for the previous page's write first: "
                     + _ms([d["flush_done"] - d["flush_asked"] for d in decided if "flush_done" in d]))
    writes = data.get("writes", [])
    if writes:
        lines.append("per page, the write (fingerprint, snapshot, SQLite) on the ledger thread: "
                     + _ms([b - a for a, b in writes]))
        lines.append(f"the ledger thread wrote (one page after the other) for {sum(b - a for a, b in writes):.2f} s "
                     f"of the run's {seconds:.2f} s; the core parsed for {sum(parse):.2f} s")
    cycle = [latency + a + b + c + d for a, b, c, d in zip(wire_extra, queue, parse, start_to_wire, strict=True)]
    if gaps:
        lines.append(
            f"a slice's cycle: {latency * 1000:.0f} ms latency + the above = about "
            f"{(statistics.fmean(cycle) + statistics.fmean(gaps)) * 1000:.0f} ms per page instead of "
            f"{latency * 1000:.0f} ms"
        )
    return lines


def timeline(args: argparse.Namespace) -> int:
    flags = [f for f, on in (("--php-json", args.php_json), ("--gzip", args.gzip)) if on]
    store = FakeStore(args.orders, args.latency, "--max-page-size", "0", "--default-page-size", "0", *flags).ready()
    try:
        warm(store)
        done = subprocess.run(
            [PY, __file__, "--trace-worker", store.url, store.token, str(args.concurrency), args.engine],
            capture_output=True, text=True, cwd=HERE,
        )
        if done.returncode != 0:
            print(done.stderr[-2000:])
            return 1
        data = _last_json(done.stdout)
    finally:
        store.stop()
    pages = -(-args.orders // 100)
    print(f"{args.engine}, c={args.concurrency}, {' '.join(flags) or 'plain JSON'}:")
    for line in explain(data, args.latency, pages, args.concurrency):
        print("  " + line)
    if args.dump:
        Path(args.dump).write_text(json.dumps(data))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--php-json", action="store_true")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--timeline", action="store_true", help="time each request's life instead of sampling")
    parser.add_argument("--engine", choices=("async", "sync"), default="async")
    parser.add_argument("--dump", help="--timeline: also write the raw timings to this JSON file")
    parser.add_argument("--trace-worker", nargs=4, metavar=("URL", "TOKEN", "C", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.trace_worker:
        url, token, concurrency, engine = args.trace_worker
        print(json.dumps(trace_worker(url, token, int(concurrency), engine)))
        return 0
    if args.timeline:
        return timeline(args)
    spy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed: pip install py-spy")
        return 2
    flags = [f for f, on in (("--php-json", args.php_json), ("--gzip", args.gzip)) if on]
    store = FakeStore(args.orders, args.latency, "--max-page-size", "0", "--default-page-size", "0", *flags).ready()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "samples.txt"
            done = subprocess.run(
                [spy, "record", "--format", "raw", "--rate", "250", "--output", str(raw), "--",
                 PY, "_sdk.py", "network", "--url", store.url, "--token", store.token,
                 "--concurrency", str(args.concurrency), "--engine", args.engine],
                capture_output=True, text=True, cwd=HERE,
            )
            result = _last_json(done.stdout)["result"]
            print(f"{args.orders} orders, c={args.concurrency}, {' '.join(flags) or 'plain JSON'}: "
                  f"{result['seconds']:.2f} s wall, {result['cpu_seconds']:.2f} s CPU")
            for label, n, share in summarize(raw):
                print(f"  {label:32s} {share:5.1f} %  ({n} samples)")
    finally:
        store.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
