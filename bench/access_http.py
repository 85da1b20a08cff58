"""Benchmark: gate decisions over HTTP (issue 5): p99 latency at 500 requests per second.

Starts `port2port serve` (uvicorn, BENCH_WORKERS processes, default 2 = the cores of the bench
machine) on loopback with a fresh demo database, registers a gate device, then sends
POST /api/v1/access/decide with the device token at a fixed rate from 8 client threads for
BENCH_SECONDS and reports p50/p99. Decisions are logged through the journal (batched), as in
production. Also measured: the same with an organisation API token (a database look-up per
request). Baseline in the same run: GET /static/css/port2port.css (no database, no engine).
Traffic goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RATE = int(os.environ.get("BENCH_RATE", "500"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
THREADS = 8
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PORT = int(os.environ.get("BENCH_PORT", "8799"))
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "port2port"


def run(*args: str, env: dict) -> str:
    return subprocess.run(
        [str(BIN), *args], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout


def load(method: str, path: str, body, headers: dict) -> list[float]:
    """`body` is bytes, or a list of bodies sent in turn (a person going in, then out)."""
    bodies = body if isinstance(body, list) else [body]
    latencies: list[float] = []
    lock = threading.Lock()
    interval = THREADS / RATE
    stop_at = time.perf_counter() + SECONDS

    def worker(offset: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        next_at = time.perf_counter() + offset
        mine = []
        while next_at < stop_at:
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            started = time.perf_counter()
            connection.request(method, path, body=bodies[len(mine) % len(bodies)], headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            next_at += interval
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=worker, args=(n * interval / THREADS,)) for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def report(name: str, latencies: list[float]) -> None:
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<34} {len(latencies) / SECONDS:6.0f} req/s  p50 {quantiles[49] * 1000:6.2f} ms  p99 {quantiles[98] * 1000:6.2f} ms"
    )


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="p2p-bench-http-"))
    env = {**os.environ, "PORT2PORT_VAR": str(home), "DJANGO_SETTINGS_MODULE": "port2port.settings"}
    run("migrate", env=env)
    run("seed-demo", env=env)
    secret = (
        run(
            "token",
            "create",
            "--organisation",
            "Scheldt Container Terminal",
            "--name",
            "bench gate",
            "--scope",
            "access:gate:decide",
            env=env,
        )
        .strip()
        .splitlines()[-1]
    )
    device = run("access", "device", "--gate", "BEANR-0869-G1", "--name", "bench", env=env)
    device_secret = device.strip().splitlines()[-1]
    server = subprocess.Popen(
        [str(BIN), "serve", "--port", str(PORT), "--workers", str(WORKERS)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/login/")
                break
            except OSError:
                time.sleep(0.2)
        body = [  # in, then out: anti-passback is on in this area
            json.dumps({"gate": "BEANR-0869-G1", "badge": "AP-100015", "direction": d}).encode()
            for d in ("in", "out")
        ]
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        device_headers = {
            "Authorization": f"Bearer {device_secret}",
            "Content-Type": "application/json",
        }
        for _ in range(2):  # warm up every worker: snapshot built, connections open
            load("POST", "/api/v1/access/decide", body, device_headers)
        print(
            f"target rate {RATE} req/s for {SECONDS} s from {THREADS} threads, "
            f"uvicorn on 127.0.0.1 ({WORKERS} worker processes), decisions logged via the journal"
        )
        report("baseline: GET a static file", load("GET", "/static/css/port2port.css", None, {}))
        report(
            "decide, gate device token",
            load("POST", "/api/v1/access/decide", body, device_headers),
        )
        report(
            "decide, organisation API token", load("POST", "/api/v1/access/decide", body, headers)
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
