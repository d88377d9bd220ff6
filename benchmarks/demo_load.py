"""The web demo under load: concurrent requests through gradio_client on loopback.

    python benchmarks/demo_load.py [--requests 50] [--concurrency 1 2] [--form 七言绝句] [--json]

For each queue concurrency the demo (``python -m poetry_rnn.demo``, shipped model) is started as
a user starts it (the seconds until it answers are its start-up time); one request alone gives
the unloaded latency, then ``--requests`` requests are sent at once
(续写 床前, one poem each, seeds differing). Every answer must be a poem; throughput and the
p50/p95 latency of the burst are the figures.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client

START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_demo(concurrency: int, log: Path) -> tuple[subprocess.Popen, Client]:
    """The demo in its own process, and a client connected to it."""
    port = free_port()
    with log.open("w") as output:
        command = ["-m", "poetry_rnn.demo", "--port", str(port), "--concurrency", str(concurrency)]
        process = subprocess.Popen([sys.executable, *command], stdout=output, stderr=output)
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            return process, Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception:  # not listening yet
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"the demo did not start:\n{log.read_text()}") from None
            time.sleep(0.5)


def request(client: Client, form: str, seed: int) -> tuple[float, bool]:
    """Seconds for one poem, and whether a poem (not an error) came back."""
    started = time.perf_counter()
    page, *_ = client.predict(
        "续写", "床前", form, True, True, 0.8, 0.9, seed, 1, "简体", "平水韵", api_name="/write"
    )
    return time.perf_counter() - started, 'class="poem"' in page


def measure(concurrency: int, requests: int, form: str) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        process, client = start_demo(concurrency, Path(scratch) / "demo.log")
        startup = time.perf_counter() - started
        try:
            alone, ok = request(client, form, seed=0)
            assert ok, "the demo answered with an error"
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=requests) as pool:
                results = list(pool.map(lambda seed: request(client, form, seed), range(requests)))
            wall = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=30)
    latencies = sorted(seconds for seconds, _ in results)
    return {
        "concurrency": concurrency,
        "requests": requests,
        "succeeded": sum(ok for _, ok in results),
        "startup_s": round(startup, 1),
        "alone_s": round(alone, 3),
        "wall_s": round(wall, 2),
        "poems_per_s": round(requests / wall, 2),
        "p50_s": round(statistics.median(latencies), 2),
        "p95_s": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--form", default="七言绝句")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(c, args.requests, args.form) for c in args.concurrency]
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{args.requests} concurrent requests, 续写 床前 → one {args.form} each")
    print("| queue concurrency | start-up | succeeded | alone | poems/s | p50 | p95 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['concurrency']} | {row['startup_s']} s | {row['succeeded']}/{row['requests']} "
            f"| {row['alone_s']} s "
            f"| {row['poems_per_s']} | {row['p50_s']} s | {row['p95_s']} s |"
        )


if __name__ == "__main__":
    main()
