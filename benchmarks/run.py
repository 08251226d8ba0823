"""Run every benchmark scenario, print one table, write the figures to ``benchmarks/results/latest.json`` and the
table to ``docs/performance.md``.

    python benchmarks/run.py [--install-peers] [--quick] [--no-docs]

``--quick`` writes ``results/quick.json`` instead and leaves the docs alone. ``nox -s bench`` runs it with
``--install-peers``: the published Magento clients compared against (``pymagento``,
``my-magento``) both install a top-level package named ``magento``, so each goes into its own directory under
``benchmarks/results/peers/`` and runs in its own process with that directory on ``PYTHONPATH``. A peer that
cannot be installed is skipped with a printed note; the rest of the run goes on.

Scenarios and why they are built the way they are: see ``docs/performance.md``. Each measurement runs in a
fresh process (``_sdk.py``, ``_peers.py``), against fake stores served by separate processes
(``_fake_server.py``), so no scenario shares an interpreter, a heap or a GIL with another.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PEERS_DIR = RESULTS / "peers"
DOC = ROOT / "docs" / "performance.md"
PY = sys.executable

LATENCY = 0.25
PAGE = 100
ROUNDS = 3  # runs of each c=8 scenario, in turns; the median is reported
RATE = 10.0
ORDERS_TAB_STATUSES = ("pending", "processing", "complete")  # the download rows of _sdk.policy()

# name -> (pip requirement, what the table calls it)
PEER_PACKAGES = {"pymagento": "pymagento", "my-magento": "my-magento"}


# ---------------------------------------------------------------------------------------------------------
# Plumbing


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return {
        "load_average_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _env(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _last_json(text: str) -> Any:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON in output: {text[-500:]!r}")


def run_json(args: Sequence[str], *, extra_path: Path | None = None, timeout: float = 300) -> dict[str, Any]:
    """Run a worker process and return the JSON it printed last (``{"error": ...}`` when it failed)."""
    done = subprocess.run([PY, *args], capture_output=True, text=True, env=_env(extra_path), timeout=timeout,
                          cwd=HERE)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        return {"error": tail[0][:300]}
    data = _last_json(done.stdout)
    return data.get("result", data) if isinstance(data, dict) else {"error": "unexpected output"}


class Background:
    """A worker started now and collected later (memory runs, which only need RSS, overlap the scenarios
    that mostly wait on latency). Niced, so the foreground scenario gets the CPU when it wants it."""

    def __init__(self, args: Sequence[str]) -> None:
        self.process = subprocess.Popen([PY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        cwd=HERE, preexec_fn=lambda: os.nice(15))
        LIVE.append(self.process)

    def result(self) -> dict[str, Any]:
        out, err = self.process.communicate(timeout=600)
        if self.process.returncode != 0:
            return {"error": (err or out).strip().splitlines()[-1][:300]}
        data = _last_json(out)
        return data.get("result", data) if isinstance(data, dict) else {"error": "unexpected output"}


class FakeStore:
    """``_fake_server.py`` in a child process, driven over its stdin/stdout control channel."""

    def __init__(self, orders: int, latency: float, *extra: str, nice: int = 0) -> None:
        self.process = subprocess.Popen(
            [PY, "_fake_server.py", "--orders", str(orders), "--latency", str(latency), *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )
        LIVE.append(self.process)
        self.info: dict[str, Any] = {}

    def ready(self) -> FakeStore:
        if not self.info:
            assert self.process.stdout is not None
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the fake store process ended before serving")
            self.info = json.loads(line)
        return self

    @property
    def url(self) -> str:
        return str(self.ready().info["api_url"])

    @property
    def token(self) -> str:
        return str(self.ready().info["token"])

    def command(self, text: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def stats(self) -> dict[str, Any]:
        return self.command("stats")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (every process, every core) since boot."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


LIVE: list[subprocess.Popen[str]] = []  # long-lived children (stores, background jobs) not yet waited for


def own_cpu() -> float:
    """CPU seconds of this process, of the workers it has waited for, and of the stores and background jobs
    still running (read from ``/proc``: a waited child's time is in ``os.times`` instead)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    tick = os.sysconf("SC_CLK_TCK")
    for process in LIVE:
        if process.returncode is not None:
            continue
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def measured(store: FakeStore, args: Sequence[str], **kwargs: Any) -> dict[str, Any]:
    """Run a worker against ``store``, adding what the store saw: requests, 429s and its own CPU seconds; and the
    CPU that processes outside the benchmark used meanwhile (``foreign_cpu_seconds``: the machine's busy time
    less that of the benchmark's own processes), since that moves network-bound figures on two cores."""
    busy0, own0 = machine_busy(), own_cpu()
    before = store.command("stats reset")
    result = run_json(args, **kwargs)
    after = store.stats()
    busy1, own1 = machine_busy(), own_cpu()
    result.update(store_delta(before, after))
    result["foreign_cpu_seconds"] = round(max(0.0, (busy1 - busy0) - (own1 - own0)), 2)
    return result


def medians(jobs: dict[str, Callable[[], dict[str, Any]]], rounds: int) -> dict[str, dict[str, Any]]:
    """Each job run ``rounds`` times in turns (a, b, a, b, ...), so that all see the same moments of the
    machine; each answer is the job's run with the median wall time, every run's time in ``runs_seconds``."""
    done: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            done[name].append(job())
    out: dict[str, dict[str, Any]] = {}
    for name, results in done.items():
        good = sorted((r for r in results if "error" not in r), key=lambda r: float(r["seconds"]))
        if not good:
            out[name] = results[0]
            continue
        chosen = dict(good[(len(good) - 1) // 2])
        chosen["runs_seconds"] = [round(float(r["seconds"]), 3) for r in good]
        out[name] = chosen
    return out


def warm(store: FakeStore, *, bare: bool = True) -> None:
    """One untimed SDK download and one untimed bare loop: the test store builds its search index for each
    filter set on the first request that uses it (after a change of encoding too), which a real store's
    database has built long before; neither side's timed run should pay for it."""
    run_json(["_sdk.py", "network", "--url", store.url, "--token", store.token, "--concurrency", "8"])
    if bare:
        run_json(["_peers.py", "bare-async", store.url, store.token, str(PAGE)])


def store_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the store saw between two ``stats`` calls (the first one a ``stats reset``)."""
    return {
        "store_requests": after["requests"] - before["requests"],
        "store_429s": after["rate_limited"] - before["rate_limited"],
        "store_cpu_seconds": round(after["cpu_seconds"] - before["cpu_seconds"], 2),
        "store_kinds": after.get("kinds", {}),
        "store_spans": after.get("spans", {}),
        "rows_served": after.get("rows_served"),
        "rows_distinct": after.get("rows_distinct"),
        "rows_repeated": after.get("rows_repeated"),
        "repeated_ids": after.get("repeated_ids", []),
    }


# ---------------------------------------------------------------------------------------------------------
# Peers


def peer_path(name: str) -> Path:
    return PEERS_DIR / name


def peer_version(name: str) -> str | None:
    dist = PEER_PACKAGES[name].replace("-", "_")
    found = sorted(peer_path(name).glob(f"{dist}-*.dist-info"))
    return found[-1].name[len(dist) + 1 : -len(".dist-info")] if found else None


def install_peers() -> dict[str, str]:
    """pip-install each peer into its own directory; returns name -> problem for those that failed."""
    problems: dict[str, str] = {}
    for name, requirement in PEER_PACKAGES.items():
        if peer_version(name):
            continue
        done = subprocess.run(
            [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target",
             str(peer_path(name)), requirement],
            capture_output=True, text=True,
        )
        if done.returncode != 0 or not peer_version(name):
            problems[name] = (done.stderr.strip().splitlines() or ["pip failed"])[-1][:200]
    return problems


# ---------------------------------------------------------------------------------------------------------
# Scenarios


def bound(pages: int, concurrency: int, latency: float = LATENCY) -> float:
    """The first request learns ``total_count``; the other ``pages - 1`` go ``concurrency`` at a time. The same
    bound for the keyset listing: its cut-point probes are extra requests, not extra pages, so they are the
    SDK's cost, not the store's."""
    return latency + math.ceil((pages - 1) / concurrency) * latency


def keyset_floor(pages: int, concurrency: int, latency: float = LATENCY) -> float:
    """The fewest round trips the keyset listing with probed cuts can take: after the first page, the probes and
    the head slice's next page go out together, and the other slices start one round trip later; with every
    slice reading full pages, ``k`` round trips hold ``(k - 1) + (c - 1)(k - 2)`` pages after the first."""
    rest = pages - 1
    if concurrency <= 1 or rest <= 0:
        return latency * pages
    k = 2
    while (k - 1) + (concurrency - 1) * (k - 2) < rest:
        k += 1
    return k * latency


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    n_net = 2_000 if quick else 8_000
    n_rate = 1_000 if quick else 4_000
    n_cpu = 5_000 if quick else 20_000
    n_engine = 5_000 if quick else 20_000
    n_mem = (2_000, 20_000) if quick else (10_000, 100_000)
    n_recheck = 4_000 if quick else 20_000
    notes: list[str] = []
    out: dict[str, Any] = {"machine": machine(), "quick": quick, "notes": notes}
    started = time.perf_counter()
    busy0, own0 = machine_busy(), own_cpu()

    peer_problems = install_peers() if args.install_peers else {}
    for name in PEER_PACKAGES:
        if name not in peer_problems and not peer_version(name):
            peer_problems[name] = "not installed (run with --install-peers, or `nox -s bench`)"
    for name, problem in peer_problems.items():
        print(f"note: peer {name} skipped: {problem}", flush=True)
        notes.append(f"{name} skipped: {problem}")

    # Stores: a default-configured Magento (input limits off, as shipped), the same behind a 10 req/s limit
    # with input limits on (max page size 300, default 20), and a larger one without latency for re-checks.
    net = FakeStore(n_net, LATENCY, "--max-page-size", "0", "--default-page-size", "0")
    limited = FakeStore(n_rate, LATENCY, "--rate", str(RATE))
    stores = [net, limited]
    try:
        for store in stores:
            store.ready()
        out["setup_seconds"] = round(time.perf_counter() - started, 1)
        pages = math.ceil(n_net / PAGE)

        # -- 1. network-bound, CPU-sensitive runs first, with nothing in the background ---------------------
        # The c=8 runs and their references go in turns, three rounds (one for --quick), each reported as its
        # median run: a single run on two shared cores moves by a tenth either way.
        warm(net)
        rounds = 1 if quick else ROUNDS

        def sdk(engine: str, concurrency: int) -> Callable[[], dict[str, Any]]:
            return lambda: measured(net, ["_sdk.py", "network", "--url", net.url, "--token", net.token,
                                          "--concurrency", str(concurrency), "--engine", engine])

        turns = medians({
            "async8": sdk("async", 8),
            "bare": lambda: measured(net, ["_peers.py", "bare-async", net.url, net.token, str(PAGE)]),
            "sync8": sdk("sync", 8),
            "transport": lambda: measured(net, ["_peers.py", "transport-async", net.url, net.token, str(PAGE)]),
        }, rounds)
        network: list[dict[str, Any]] = []
        for engine, concurrency in (("async", 8), ("async", 4), ("sync", 8)):
            r = turns[f"{engine}{concurrency}"] if concurrency == 8 else sdk(engine, concurrency)()
            r.update(engine=engine, concurrency=concurrency, orders_expected=n_net, pages_expected=pages,
                     bound_seconds=bound(pages, concurrency))
            network.append(r)
        bare = turns["bare"]
        bare.update(bound_seconds=bound(pages, 8))
        transport = turns["transport"]
        transport.update(bound_seconds=bound(pages, 8))
        rate_pages = math.ceil(n_rate / PAGE)
        warm(limited, bare=False)
        time.sleep(1.1)  # let the rate window of the limited store empty
        rated = measured(limited, ["_sdk.py", "network", "--url", limited.url, "--token", limited.token,
                                   "--concurrency", "8", "--rate", str(RATE)])
        rated.update(orders_expected=n_rate, pages_expected=rate_pages, bound_seconds=rate_pages / RATE)

        # -- 2. latency-bound runs (SDK c=1, peers), with the memory runs in the background -----------------
        # Memory runs only report peak RSS, so they can share this phase: the foreground mostly waits on
        # latency and outranks the niced background jobs when it does want the CPU. The CPU run does not: on
        # two shared cores, contention inflates CPU time itself (caches, hyper-threads), so it runs alone below.
        memory_jobs = [Background(["_sdk.py", "memory", "--orders", str(n)]) for n in n_mem[:1]]
        # The re-check store (20,000 orders, half a minute of one core to generate) is built meanwhile, niced: it is
        # used alone later, when nothing competes with it, so its niceness does not matter then.
        recheck_store = FakeStore(n_recheck, 0.0, "--max-page-size", "0", "--default-page-size", "0", nice=10)
        stores.append(recheck_store)
        c1 = measured(net, ["_sdk.py", "network", "--url", net.url, "--token", net.token, "--concurrency", "1"])
        c1.update(engine="async", concurrency=1, orders_expected=n_net, pages_expected=pages,
                  bound_seconds=bound(pages, 1))
        network.insert(0, c1)
        memory = [memory_jobs[0].result()]
        memory_jobs = [Background(["_sdk.py", "memory", "--orders", str(n_mem[1])])]

        peers: list[dict[str, Any]] = []
        peer_runs: list[tuple[str, str, Path | None]] = [("httpx-loop", str(PAGE), None)]
        for name in PEER_PACKAGES:
            if name in peer_problems:
                continue
            if name == "pymagento":
                peer_runs.append((name, str(PAGE), peer_path(name)))
            peer_runs.append((name, "default", peer_path(name)))
        for name, size, path in peer_runs:
            r = measured(net, ["_peers.py", name, net.url, net.token, size], extra_path=path)
            r.update(peer=name, requested_page_size=size, version=peer_version(name) if path else None)
            peers.append(r)
        # What the peers' defaults do on a store with Magento's input limits switched on (max 300, default 20).
        limits_on: list[dict[str, Any]] = []
        for name in PEER_PACKAGES:
            if name in peer_problems:
                continue
            time.sleep(1.1)  # let the rate window of the limited store empty
            r = measured(limited, ["_peers.py", name, limited.url, limited.token, "default"],
                         extra_path=peer_path(name))
            r.update(peer=name, orders_expected=n_rate)
            limits_on.append(r)
        memory += [job.result() for job in memory_jobs]

        # -- 3. the answers as Magento sends them (gzip, PHP's escaping), then edits during a download ---------
        # The same store, its knobs turned between runs (it re-renders what it keeps): gzip alone, PHP's
        # escaping alone, both; the bare loop reads the PHP-escaped pages too. Nothing runs in the background.
        wire, bares = run_wire_variants(net, pages, rounds)
        churn = run_churn(net, n_net, pages)

        # -- 4. CPU per order, 5. re-check and 6. reconcile (CPU-bound or sequential: each alone) ------------
        # CPU time is what other processes on the machine inflate (shared caches, a busy sibling thread), never
        # deflate: the least of three runs is the estimate, all three are shown.
        cpu_runs = [run_json(["_sdk.py", "cpu", "--orders", str(n_cpu), "--engine-orders", str(n_engine)])
                    for _ in range(1 if quick else ROUNDS)]
        good = [r for r in cpu_runs if "error" not in r]
        cpu = max(good, key=lambda r: float(r["engine_orders_per_cpu_s"])) if good else cpu_runs[0]
        if len(good) > 1:
            cpu["engine_runs"] = [round(float(r["engine_orders_per_cpu_s"])) for r in good]
        with tempfile.TemporaryDirectory() as tmp:
            # The reconcile starts from the re-check's ledger: every order known, the ledger up to date.
            shared = Path(tmp) / "ledger.sqlite3"
            recheck = run_recheck(recheck_store, n_recheck, shared)
            reconcile = run_reconcile(recheck_store, n_recheck, shared)

    finally:
        for store in stores:
            store.stop()

    out.update(network=network, bare_async=bare, transport_async=transport, rate_limited=rated, peers=peers,
               limits_on=limits_on, cpu=cpu, memory=memory, recheck=recheck, wire=wire, bare_wire=bares, churn=churn,
               reconcile=reconcile)
    out["machine"]["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out["total_seconds"] = round(time.perf_counter() - started, 1)
    out["foreign_cpu_seconds"] = round(max(0.0, machine_busy() - busy0 - (own_cpu() - own0)), 1)
    return out


WIRE_VARIANTS = (  # (name, knobs to set before the run, whether the bare loop also reads these pages)
    ("gzip", {"gzip": "1"}, False),
    ("php_json", {"gzip": "0", "php_json": "1"}, False),
    ("php_json+gzip", {"gzip": "1"}, True),
)


def run_wire_variants(
    store: FakeStore, pages: int, rounds: int
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The c=8 download (and the bare loop) on the answers as Magento sends them, each the median of ``rounds``
    runs in turns; leaves the store in the last variant's encoding (PHP's escaping and gzip), which the edit
    scenario then uses."""
    runs: list[dict[str, Any]] = []
    bares: dict[str, dict[str, Any]] = {}
    for name, knobs, with_bare in WIRE_VARIANTS:
        for knob, value in knobs.items():
            store.command(f"set {knob} {value}")
        warm(store)
        jobs: dict[str, Callable[[], dict[str, Any]]] = {
            "sdk": lambda: measured(store, ["_sdk.py", "network", "--url", store.url, "--token", store.token,
                                            "--concurrency", "8"]),
        }
        if with_bare:
            jobs["bare"] = lambda: measured(store, ["_peers.py", "bare-async", store.url, store.token, str(PAGE)])
        turns = medians(jobs, rounds)
        r = turns["sdk"]
        r.update(variant=name, engine="async", concurrency=8, pages_expected=pages, bound_seconds=bound(pages, 8),
                 floor_seconds=keyset_floor(pages, 8))
        runs.append(r)
        if with_bare:
            b = turns["bare"]
            b.update(bound_seconds=bound(pages, 8))
            bares[name] = b
    return runs, bares


def run_churn(store: FakeStore, total: int, pages: int) -> dict[str, Any]:
    """A c=8 download while the store edits 2 % of its orders and creates 0.25 % more (an ``on_request`` hook in
    the store's process, spread over the listing), then the next scheduled run; every order the store holds at
    the end must be in the ledger with the store's own ``updated_at``."""
    edit, create = total * 2 // 100, max(1, total // 400)
    worker = subprocess.Popen(
        [PY, "_sdk.py", "churn", "--url", store.url, "--token", store.token, "--concurrency", "8"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
    )
    assert worker.stdin is not None
    assert worker.stdout is not None
    busy0, own0 = machine_busy(), own_cpu()
    before = store.command("stats reset")
    store.command(f"churn {edit} {create} {pages - 1} 17")
    result: dict[str, Any] = {"error": "the churn worker ended early"}
    changes: dict[str, Any] = {}
    first_store: dict[str, Any] = {}
    for line in worker.stdout:
        message = json.loads(line)
        if "first" in message:
            changes = store.command("churn-stop")
            middle = store.command("stats")  # served rows stay counted: repeats across both runs show at the end
            first_store = store_delta(before, middle)
            worker.stdin.write("{}\n")
            worker.stdin.flush()
        elif "result" in message:
            result = message["result"]
    worker.wait(timeout=60)
    if worker.returncode != 0 and worker.stderr is not None:
        return {"error": (worker.stderr.read().strip().splitlines() or ["?"])[-1][:300]}
    after = store.stats()
    foreign = (machine_busy() - busy0) - (own_cpu() - own0)
    keys: dict[str, str] = store.command("keys")["keys"]
    ledger: dict[str, str] = result.pop("ledger_keys")
    result["first"].update(first_store)
    result["both"] = store_delta(before, after)
    result["both"]["store_requests"] -= first_store["store_requests"]  # the follow-up run's own requests
    stale = sorted(k for k, v in keys.items() if k in ledger and ledger[k] < v)
    # An order served twice in the first run must be one the store edited during it whose new copy is stamped
    # inside the run's window (the window ends at the store's clock, to the second): read before and after.
    edited_ids = {str(i) for i in changes.get("edited", [])}
    window_end = result["first"].get("updated_to", "")
    twice = [str(i) for i in first_store.get("repeated_ids", [])]
    explained = [i for i in twice if i in edited_ids and keys.get(i, "9999") <= window_end]
    result["first"].update(read_twice=len(twice), read_twice_explained=len(explained))
    ignore_tab = set(result.pop("ignore_tab", []))
    result.update(
        edited=len(changes.get("edited", [])), created=len(changes.get("created", [])),
        churn_listings=changes.get("listings"), store_orders=len(keys),
        lost=sum(1 for k in keys if k not in ledger),
        stale=len(stale), stale_ids=stale, stale_in_ignore_tab=sum(1 for k in stale if k in ignore_tab),
        bound_seconds=bound(pages, 8), floor_seconds=keyset_floor(pages, 8),
        foreign_cpu_seconds=round(max(0.0, foreign), 2),
    )
    return result


def run_reconcile(store: FakeStore, total: int, ledger: Path) -> dict[str, Any]:
    """The reconcile worker opens the re-check's ledger (every order known); at the usual latency, the store
    changes 1 % of the orders behind the high-water mark (new content, ``updated_at`` one second later) for
    ``reconcile()``, and another 1 % without touching ``updated_at`` for ``reconcile(compare_content=True)``."""
    changed = max(1, total // 100)
    worker = subprocess.Popen([PY, "_sdk.py", "reconcile", "--url", store.url, "--token", store.token,
                               "--ledger", str(ledger)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=HERE)
    assert worker.stdin is not None
    assert worker.stdout is not None
    result: dict[str, Any] = {"error": "the reconcile worker ended early"}
    seen: dict[str, dict[str, Any]] = {}
    before: dict[str, Any] = {}
    running = ""
    statuses = ",".join(ORDERS_TAB_STATUSES)
    busy0, own0 = machine_busy(), own_cpu()
    try:
        for line in worker.stdout:
            message = json.loads(line)
            if running and ("ready" in message or "done" in message):
                seen[running] = store_delta(before, store.stats())
            if "ready" in message:
                running = message["ready"]
                if running == "keys":
                    store.command(f"set latency {LATENCY}")
                    edited = store.command(f"edit-behind {changed} 23 {statuses}")["edited"]
                else:
                    edited = store.command(f"edit-content {changed} 29 {statuses}")["edited"]
                before = store.command("stats reset")
                worker.stdin.write(json.dumps({"edited": edited}) + "\n")
                worker.stdin.flush()
            elif "result" in message:
                result = message["result"]
        worker.wait(timeout=120)
    finally:
        store.command("set latency 0")
    if worker.returncode != 0 and worker.stderr is not None:
        return {"error": (worker.stderr.read().strip().splitlines() or ["?"])[-1][:300]}
    for name, delta in seen.items():
        result[name].update(delta)
    result["known"] = total
    foreign = (machine_busy() - busy0) - (own_cpu() - own0)
    result["foreign_cpu_seconds"] = round(max(0.0, foreign), 2)
    return result


def run_recheck(store: FakeStore, total: int, ledger: Path) -> dict[str, Any]:
    """The re-check worker downloads, then asks (one JSON line) for the store to change 1% of the orders."""
    worker = subprocess.Popen([PY, "_sdk.py", "recheck", "--url", store.url, "--token", store.token,
                               "--ledger", str(ledger)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=HERE)
    assert worker.stdin is not None
    assert worker.stdout is not None
    edited: list[int] = []
    result: dict[str, Any] = {"error": "the re-check worker ended early"}
    for line in worker.stdout:
        message = json.loads(line)
        if "edit" in message:
            # Orders the policy downloads into the Orders tab: Ignore-tab orders are not watched for changes.
            edited = store.command(f"edit {max(1, total // 100)} 11 {','.join(ORDERS_TAB_STATUSES)}")["edited"]
            worker.stdin.write(json.dumps({"edited": edited}) + "\n")
            worker.stdin.flush()
        elif "result" in message:
            result = message["result"]
    worker.wait(timeout=60)
    if worker.returncode != 0 and worker.stderr is not None:
        result = {"error": worker.stderr.read().strip().splitlines()[-1][:300]}
    result["known"] = total
    return result


# ---------------------------------------------------------------------------------------------------------
# The table


def _n(value: float) -> str:
    return f"{value:,.0f}"


def build_table(res: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Rows of (scenario, result, target, met) and the notes under the table."""
    rows: list[list[str]] = []
    notes: list[str] = list(res.get("notes", []))

    def ok(flag: bool | None) -> str:
        return "-" if flag is None else ("yes" if flag else "NO")

    def spread(r: dict[str, Any]) -> str:
        times = r.get("runs_seconds") or []
        return f" (median of {len(times)}: {min(times):.2f}-{max(times):.2f})" if len(times) > 1 else ""

    def requests_text(r: dict[str, Any]) -> str:
        kinds = r.get("store_kinds") or {}
        if not kinds:
            return f"{r['store_requests']} requests"
        split = f"{kinds.get('listing', 0)} pages" + (f" + {kinds['probes']} probes" if kinds.get("probes") else "")
        return f"{r['store_requests']} requests ({split})"

    def client_cpu(r: dict[str, Any]) -> str:
        # Runs recorded before the references timed their CPU have no figure.
        return f"; client CPU {r['cpu_seconds']:.1f} s" if "cpu_seconds" in r else ""

    def download_text(r: dict[str, Any]) -> str:
        ratio = r["bound_seconds"] / r["seconds"]
        return (f"{r['seconds']:.2f} s{spread(r)}, {_n(r['orders'] / r['seconds'])} orders/s, {ratio:.2f} of bound "
                f"({r['bound_seconds']:.2f} s); {requests_text(r)}; client CPU {r['cpu_seconds']:.1f} s, store "
                f"CPU {r['store_cpu_seconds']:.1f} s")

    sdk8 = None
    for r in res["network"]:
        label = f"SDK download, c={r['concurrency']}" + (" (sync Connector)" if r["engine"] == "sync" else "")
        if "error" in r:
            rows.append([label, f"failed: {r['error']}", "", "NO"])
            continue
        ratio = r["bound_seconds"] / r["seconds"]
        target, met = "", None
        if r["concurrency"] == 8 and r["engine"] == "async":
            sdk8 = r
            label += ", payloads as today"
            target, met = ">= 0.85 of bound", ratio >= 0.85
        rows.append([label, download_text(r), target, ok(met)])
    wire_names = {"gzip": "gzip", "php_json": "PHP-escaped JSON", "php_json+gzip": "PHP-escaped JSON + gzip"}
    sdk_by_variant: dict[str, dict[str, Any]] = {"plain": sdk8} if sdk8 else {}
    for r in res.get("wire", []):
        label = f"SDK download, c=8, {wire_names[r['variant']]}"
        if "error" in r:
            rows.append([label, f"failed: {r['error']}", ">= 0.85 of bound", "NO"])
            continue
        sdk_by_variant[r["variant"]] = r
        ratio = r["bound_seconds"] / r["seconds"]
        rows.append([label, download_text(r), ">= 0.85 of bound", ok(ratio >= 0.85)])
    bares = {"plain": res["bare_async"], **res.get("bare_wire", {})}
    for variant, bare in bares.items():
        label = "Reference: bare httpx.AsyncClient + json.loads, c=8" + (
            f", {wire_names[variant]}" if variant in wire_names else "")
        if "error" in bare:
            rows.append([label, f"failed: {bare['error']}", "", "-"])
            continue
        sdk = sdk_by_variant.get(variant)
        versus = ""
        target, met = "", None
        if sdk is not None and "error" not in sdk:
            versus = f"; SDK / bare wall time {sdk['seconds'] / bare['seconds']:.2f}"
            target, met = "SDK / bare <= 1.00", sdk["seconds"] <= bare["seconds"]
        rows.append([
            label,
            f"{bare['seconds']:.2f} s{spread(bare)}, {bare['bound_seconds'] / bare['seconds']:.2f} of bound, "
            f"{bare['store_requests']} requests (offset pages; no mapping, rules or ledger){client_cpu(bare)}"
            f"{versus}",
            target, ok(met),
        ])
    transport = res.get("transport_async")
    if transport is not None and "error" not in transport:
        rows.append([
            "Reference: bare httpx.AsyncClient, answers read but not parsed, c=8",
            f"{transport['seconds']:.2f} s{spread(transport)}, "
            f"{transport['bound_seconds'] / transport['seconds']:.2f} of bound, "
            f"{transport['store_requests']} requests (offset pages): httpx and the test store alone"
            f"{client_cpu(transport)}",
            "", "-",
        ])
    if sdk8 is not None:
        floor = res.get("wire", [{}])[0].get("floor_seconds") if res.get("wire") else None
        if floor:
            notes.append(
                f"Keyset listing at c=8: the bound above is the offset listing's ({sdk8['bound_seconds']:.2f} s: "
                f"1 + ceil({sdk8['pages_expected'] - 1} / 8) round trips of {LATENCY * 1000:.0f} ms). The Magento "
                f"driver's pages read by number (listing_page) cut the window without a probe, so the keyset "
                f"listing can take as few round trips; with cuts found by one-row probes (drivers without "
                f"listing_page) the other slices start one round trip later: {floor / LATENCY:.0f} round trips "
                f"({floor:.2f} s, {sdk8['bound_seconds'] / floor:.2f} of the bound) at the least."
            )
    rl = res["rate_limited"]
    if "error" in rl:
        rows.append(["Rate limit 10 req/s", f"failed: {rl['error']}", "", "NO"])
    else:
        ratio = rl["bound_seconds"] / rl["seconds"]
        rows.append([
            f"Rate limit {RATE:g} req/s, {_n(rl['orders_expected'])} orders, c=8, Limits.rate={RATE:g}",
            f"{rl['seconds']:.2f} s, {ratio:.2f} of P/R ({rl['bound_seconds']:.1f} s), {requests_text(rl)} "
            f"(requests / R = {rl['store_requests'] / RATE:.1f} s), {rl['store_429s']} x 429 provoked",
            ">= 0.9 of P/R, <= 5 x 429", ok(ratio >= 0.9 and rl["store_429s"] <= 5),
        ])
    for p in res["peers"]:
        name = p["peer"] + (f" {p['version']}" if p.get("version") else "")
        size = p["requested_page_size"]
        label = f"Peer: {name}, page size {p.get('page_size') or 'all'}" + (
            " (its default)" if size == "default" else "")
        if "error" in p:
            rows.append([label, f"failed: {p['error']}", "", "-"])
            continue
        speedup = p["seconds"] / sdk8["seconds"] if sdk8 else float("nan")
        target, met = "", None
        if size == str(PAGE):
            target, met = ">= 5x", speedup >= 5
        plural = "s" if p["requests"] != 1 else ""
        rows.append([label, f"{p['seconds']:.2f} s ({p['requests']} request{plural}); SDK c=8 speed-up {speedup:.1f}x",
                     target, ok(met)])
    for p in res.get("limits_on", []):
        if p["peer"] == "pymagento":
            what = ("refused: " + p["error"]) if "error" in p else f"{p['orders']} orders"
            notes.append(
                f"pymagento defaults to pageSize 1000; on a store with Magento's web API input limits on "
                f"(max page size 300) its download fails ({what[:120]}). The SDK never asks for more than 300."
            )
        elif p["peer"] == "my-magento":
            got = p.get("orders", 0)
            notes.append(
                f"my-magento sends no pageSize and does not page: on a store with input limits on (default page "
                f"size 20) it returned {got} of {p['orders_expected']} orders without an error; with limits off "
                f"it fetches every order in one response (held in memory at once)."
            )
    cpu = res["cpu"]
    if "error" in cpu:
        rows.append(["CPU per order", f"failed: {cpu['error']}", "", "NO"])
    else:
        us = cpu["stages_us_per_order"]
        names = {"fingerprint": "snapshot+fingerprint"}  # one encoding since the ledger does both at once
        split = ", ".join(f"{names.get(k, k)} {v:.0f}" for k, v in us.items())
        rows.append([
            f"CPU, {_n(cpu['orders'])} orders, stages timed alone (µs/order)",
            f"{_n(cpu['harness_orders_per_s'])} orders/s; {split}", "", "-",
        ])
        rows.append([
            f"CPU, whole engine, {_n(cpu['engine_orders'])} orders in memory, one core",
            f"{_n(cpu['engine_orders_per_cpu_s'])} orders per CPU-second"
            + (f" (best of {len(cpu['engine_runs'])}: {_n(min(cpu['engine_runs']))}-{_n(max(cpu['engine_runs']))})"
               if cpu.get("engine_runs") else ""),
            ">= 5,000 orders/s",
            ok(cpu["engine_orders_per_cpu_s"] >= 5000),
        ])
    mem = res["memory"]
    if any("error" in m for m in mem):
        rows.append(["Memory", "failed: " + "; ".join(m.get("error", "") for m in mem), "", "NO"])
    else:
        small, large = mem
        diff = round(large["peak_rss_mb"] - small["peak_rss_mb"]) + 0  # + 0: no "-0"
        rows.append([
            f"Memory, peak RSS, {_n(small['orders'])} vs {_n(large['orders'])} orders",
            f"{small['peak_rss_mb']:.0f} MB vs {large['peak_rss_mb']:.0f} MB ({diff:+.0f} MB)",
            "<= +50 MB", ok(diff <= 50),
        ])
    ch = res.get("churn")
    if ch is not None:
        label = "Edits during the download"
        if "error" in ch:
            rows.append([label, f"failed: {ch['error']}", "", "NO"])
        else:
            first, second, both = ch["first"], ch["second"], ch["both"]
            ignored_stale = ch.get("stale_in_ignore_tab", 0)
            quiet = sdk_by_variant.get("php_json+gzip")
            versus = ""
            if quiet is not None and "error" not in quiet:
                versus = (f" (quiet run on the same store {quiet['seconds']:.2f} s, {quiet['store_requests']} "
                          f"requests)")
            within = first.get("rows_repeated", 0)
            explained = first.get("read_twice_explained", 0)
            why = (f": {explained} of them edited during the run and stamped inside its window, which ends at the "
                   f"store's clock to the second" if within else "")
            rows.append([
                f"Edits during the download: {ch['edited']} orders edited (2 %) and {ch['created']} created while "
                f"listing, c=8, PHP-escaped JSON + gzip",
                f"{first['seconds']:.2f} s, {ch['bound_seconds'] / first['seconds']:.2f} of bound, "
                f"{first['store_requests']} requests{versus}; read {_n(first['seen'])} orders, the store served "
                f"{_n(first['rows_served'])} rows for {_n(first['rows_distinct'])} orders ({within} served twice"
                f"{why})",
                "read twice only if changed inside the window", ok(within == explained),
            ])
            rows.append([
                "Edits during the download: the next scheduled run",
                f"{second['seconds']:.2f} s, {both['store_requests']} requests; read {_n(second['seen'])} "
                f"({second['downloaded']} new, {second['updates']} updates, {second['unchanged']} unchanged, "
                f"{second['ignored']} ignore tab); over both runs {both['rows_repeated']} orders served twice; "
                f"ledger == store at the end: {ch['store_orders'] - ch['lost'] - ch['stale']:,} of "
                f"{ch['store_orders']:,} ({ch['lost']} missing, {ch['stale'] - ignored_stale} stale in Orders/Updates"
                f", {ignored_stale} Ignore-tab orders keep their first updated_at)",
                "0 missing, 0 stale", ok(ch["lost"] == 0 and ch["stale"] == ignored_stale),
            ])
            if ignored_stale:
                notes.append(
                    f"Edits during the download: {ignored_stale} of the edited orders sit in the Ignore tab, which "
                    f"is not watched; the next run read them again (Unchanged) but the ledger keeps their first "
                    f"updated_at, so reconcile()'s key comparison will call them changed and read them again "
                    f"on every run."
                )
    rec = res.get("reconcile")
    if rec is not None:
        if "error" in rec:
            rows.append(["Reconcile", f"failed: {rec['error']}", "", "NO"])
        else:
            for key, what in (("keys", "changed behind the mark: reconcile()"),
                              ("content", "changed, stamp untouched: reconcile(compare_content=True)")):
                r = rec[key]
                kinds = r.get("store_kinds", {})
                spans = r.get("store_spans", {})
                parts = [f"{kinds[k]} {name}" for k, name in (("listing", "order pages"), ("keys", "key pages"),
                                                              ("probes", "probes"), ("order", "single-order reads"))
                         if kinds.get(k)]
                timing = ""
                if kinds.get("order") and "order" in spans:
                    timing = f"; the single-order reads span {spans['order'] + LATENCY:.1f} s"
                rows.append([
                    f"Reconcile {_n(rec['known'])} known orders, {r['changed_in_store']} {what}, c=8, "
                    f"{LATENCY * 1000:.0f} ms",
                    f"{r['seconds']:.2f} s, {r['store_requests']} requests ({' + '.join(parts)}){timing}; "
                    f"client CPU {r['cpu_seconds']:.1f} s; {r['found']} to Updates; Updates == changed set: "
                    f"{'yes' if r['exact'] else 'NO'}",
                    "exactly the changed orders", ok(r["exact"]),
                ])
    rc = res["recheck"]
    if "error" in rc:
        rows.append(["Re-check", f"failed: {rc['error']}", "", "NO"])
    else:
        for key, label in (("incremental", "incremental run"), ("full", "full pass over every known order")):
            r = rc[key]
            rows.append([
                f"Re-check {_n(rc['known'])} known orders, {rc['edited']} edited: {label}",
                f"{r['seconds']:.2f} s, {_n(r['orders'])} read, {r['updates']} to Updates; Updates == edited "
                f"set: {'yes' if r['exact'] else 'NO'}",
                "exactly the edited orders", ok(r["exact"] and r["pending"] == rc["edited"]),
            ])
    disturbed = [
        f"{label} ({r['foreign_cpu_seconds']:.1f} s)"
        for label, r in [
            *((f"c={r.get('concurrency')} {r.get('engine')}", r) for r in res["network"]),
            *((f"c=8 {r['variant']}", r) for r in res.get("wire", [])),
            *((f"bare {k}", r) for k, r in {"plain": res["bare_async"], **res.get("bare_wire", {})}.items()),
        ]
        if r.get("foreign_cpu_seconds", 0) >= 0.5
    ]
    if disturbed:
        notes.append("Other processes on the machine used CPU during these network-bound runs (CPU-seconds, "
                     "outside the benchmark's own processes): " + ", ".join(disturbed) + ".")
    return rows, notes


def render_table(rows: list[list[str]]) -> str:
    header = ["Scenario", "Result", "Target", "Met"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "+".join("-" * (w + 2) for w in widths)

    def fmt(r: list[str]) -> str:
        return "|".join(f" {c:<{w}} " for c, w in zip(r, widths, strict=True))

    return "\n".join([fmt(header), line, *(fmt(r) for r in rows)])


def render_markdown(rows: list[list[str]]) -> str:
    out = ["| Scenario | Result | Target | Met |", "| --- | --- | --- | --- |"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


MARK_BEGIN = "<!-- bench:begin -->"
MARK_END = "<!-- bench:end -->"


def write_doc(res: dict[str, Any], rows: list[list[str]], notes: list[str]) -> None:
    m = res["machine"]
    block = "\n".join([
        MARK_BEGIN,
        f"Measured {m['date']} on {m['nproc']} cores ({m['cpu']}, {m['memory']} RAM), "
        f"{m['implementation']} {m['python']}, {m['platform']}; whole run {res['total_seconds']:.0f} s; load "
        f"average {m.get('load_average_before', '?')} before, {m.get('load_average_after', '?')} after; other "
        f"processes used {res.get('foreign_cpu_seconds', float('nan')):.0f} CPU-seconds during the run.",
        "",
        render_markdown(rows),
        "",
        *(f"- {n}" for n in notes),
        MARK_END,
    ])
    if DOC.exists():
        text = DOC.read_text()
        if MARK_BEGIN in text and MARK_END in text:
            head, _, rest = text.partition(MARK_BEGIN)
            _, _, tail = rest.partition(MARK_END)
            DOC.write_text(head + block + tail)
            return
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("# Performance\n\n" + block + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install-peers", action="store_true", help="pip-install the PyPI peers first")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, to check the harness itself")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only print (and write to the docs) the table of an earlier run's JSON")
    args = parser.parse_args(argv)
    res = json.loads(args.render.read_text()) if args.render else run_all(args)
    rows, notes = build_table(res)
    m = res["machine"]
    print()
    print(f"ecc-connectors benchmarks{' (quick sizes)' if res['quick'] else ''}: {m['nproc']} cores, "
          f"{m['cpu']}, {m['implementation']} {m['python']}; {res['total_seconds']:.0f} s; {m['date']}; load "
          f"{m.get('load_average_before', '?')} before, {m.get('load_average_after', '?')} after; other processes "
          f"used {res.get('foreign_cpu_seconds', float('nan')):.0f} CPU-seconds")
    print(render_table(rows))
    for note in notes:
        print(f"note: {note}")
    res["table"] = rows
    res["table_notes"] = notes
    if not args.render:
        # A quick run checks the harness; it must not stand in for the published figures.
        target = RESULTS / ("quick.json" if res["quick"] else "latest.json")
        RESULTS.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(res, indent=2, default=str))
        print(f"\nfigures: {target}")
    if not args.no_docs and not res["quick"]:
        write_doc(res, rows, notes)
        print(f"table: {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
