"""Benchmark: from a device event received to the alarm pushed to a connected control room.

A real server (`port2port serve`, uvicorn, one worker, SQLite) receives ANPR reads over HTTP at
a steady 5,000 events per second (batches of 250 every 50 ms, with the device's token); one read
in each batch is a plate on a hotlist, which raises a new alarm. A control-room client stays
connected to the live stream (server-sent events, signed in as an operator). Latency = from the
moment the batch is sent to the moment the client has the alarm. Baseline in the same run: the
round trip of an empty batch (HTTP alone).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RATE = int(os.environ.get("BENCH_RATE", "5000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "30"))
BATCH = 250


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="p2p-bench-live-"))
    os.environ["PORT2PORT_VAR"] = str(home)
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from detection_ingest import build_world, setup_django

    setup_django(home)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from port2port.core.models import Membership, Organisation, User
    from port2port.core.visibility import SYSTEM
    from port2port.sites.models import Device
    from port2port.sites.services import device_token_issue

    devices, _zones, plates, regulars = build_world()
    owner = Organisation.objects.get(name="Port authority")
    user = User.objects.create(username="operator")
    Membership.objects.create(user=user, organisation=owner, roles=["control_room_operator"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    camera = Device.objects.get(code=devices["anpr"][0])
    token = device_token_issue(actor=SYSTEM, device=camera)
    port = free_port()
    env = {**os.environ, "PORT2PORT_VAR": str(home)}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "port2port"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import requests

    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/", timeout=5)
                break
            except requests.RequestException:  # not listening yet, or still starting
                time.sleep(0.2)
        arrivals: dict[str, float] = {}
        connected = threading.Event()
        stop = threading.Event()

        def listen() -> None:
            try:
                receive()
            except requests.RequestException:  # the server stopped at the end of the run
                if not stop.is_set():
                    raise

        def receive() -> None:
            cookies = {settings.SESSION_COOKIE_NAME: session.session_key}
            with requests.get(
                base + "/detection/stream/", cookies=cookies, stream=True, timeout=60
            ) as response:
                connected.set()
                event = ""
                for raw in response.iter_lines(decode_unicode=True):
                    if stop.is_set():
                        return
                    if raw.startswith("event:"):
                        event = raw[6:].strip()
                    elif raw.startswith("data:") and event == "alarm":
                        now = time.perf_counter()
                        data = json.loads(raw[5:])
                        for plate in pending_plates:
                            if plate in data.get("html", "") and plate not in arrivals:
                                arrivals[plate] = now

        pending_plates: set[str] = set()
        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        connected.wait(10)
        time.sleep(0.5)
        http = requests.Session()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        url = base + "/api/v1/detection/ingest?format=openalpr"

        def batch(n: int, hot: str | None) -> str:
            lines = []
            now_ms = int(time.time() * 1000)
            for i in range(BATCH):
                plate = hot if (hot and i == 0) else regulars[(n * BATCH + i) % len(regulars)]
                lines.append(
                    json.dumps(
                        {
                            "data_type": "alpr_group",
                            "camera_id": camera.code,
                            "epoch_start": now_ms,
                            "best_plate_number": plate,
                            "best_confidence": 90.0,
                            "best_uuid": f"live-{n}-{i}",
                        }
                    )
                )
            return "\n".join(lines)

        # Baseline: an empty batch's round trip.
        empty = []
        for _ in range(50):
            started = time.perf_counter()
            http.post(url, data="", headers=headers, timeout=10)
            empty.append(time.perf_counter() - started)
        sent: dict[str, float] = {}
        interval = BATCH / RATE
        started_all = time.perf_counter()
        n = 0
        posted = 0
        while time.perf_counter() - started_all < SECONDS:
            hot = plates[n % len(plates)]
            pending_plates.add(hot)
            body = batch(n, hot)
            sent[hot] = time.perf_counter()
            answer = http.post(url, data=body, headers=headers, timeout=10)
            answer.raise_for_status()
            posted += BATCH
            n += 1
            delay = started_all + n * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        elapsed = time.perf_counter() - started_all
        time.sleep(1.0)
        stop.set()
        latencies = [arrivals[p] - sent[p] for p in sent if p in arrivals]
        lost = len(sent) - len(latencies)
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [0] * 99
        print(
            f"live: {posted / elapsed:,.0f} events/s sent for {elapsed:.0f} s; alarm pushed to the "
            f"control room p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, "
            f"p99 {q[98] * 1000:.1f} ms (goal <= 100 ms); {len(latencies)} alarms, {lost} not seen"
        )
        print(
            f"baseline: empty batch round trip p50 {statistics.median(empty) * 1000:.1f} ms; "
            f"ratio p99 / baseline p50 {q[98] / statistics.median(empty):.1f}x"
        )
        return 0 if lost == 0 else 1
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    raise SystemExit(main())
