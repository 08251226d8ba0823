"""Where the client's CPU goes in the c=8 download: py-spy samples the SDK worker, this sums them by stage.

    pip install py-spy
    python benchmarks/profile_download.py [--orders 8000] [--concurrency 8]

Prints each stage's share of the samples (py-spy counts only samples where the process is on the CPU). A
stage is "inclusive": its function and everything it calls.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HERE, PY, FakeStore, _last_json

# (label, a substring of the frame that marks the stage); first match from the top of this list wins, so a
# frame inside commit_page counts for the ledger and not for the download loop that called it.
STAGES = (
    ("fingerprint", "fingerprint ("),
    ("ledger: snapshot", "snapshot_json ("),
    ("ledger: SQLite and rest", "commit_page ("),
    ("ledger: seen()", "seen ("),
    ("map (dict -> Order)", "map_order ("),
    ("parse (JSON decode)", "decode_order ("),
    ("parse (page envelope)", "decode_list_envelope ("),
    ("rules", "decide ("),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed: pip install py-spy")
        return 2
    store = FakeStore(args.orders, args.latency, "--max-page-size", "0", "--default-page-size", "0").ready()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "samples.txt"
            done = subprocess.run(
                [spy, "record", "--format", "raw", "--rate", "250", "--output", str(raw), "--",
                 PY, "_sdk.py", "network", "--url", store.url, "--token", store.token,
                 "--concurrency", str(args.concurrency)],
                capture_output=True, text=True, cwd=HERE,
            )
            result = _last_json(done.stdout)["result"]
            print(f"{args.orders} orders, c={args.concurrency}: {result['seconds']:.2f} s wall, "
                  f"{result['cpu_seconds']:.2f} s CPU")
            for label, n, share in summarize(raw):
                print(f"  {label:32s} {share:5.1f} %  ({n} samples)")
    finally:
        store.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
