"""Benchmark: appending to and verifying the hash-chained audit log.

Baseline: a raw bulk insert of the same number of audit rows with no chaining, no locking and no
hashing, measured in the same run. Prints records per second and the ratio to the baseline.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

N = int(os.environ.get("BENCH_AUDIT_RECORDS", "2000"))


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="p2p-bench-"))
    os.environ.setdefault("PORT2PORT_VAR", str(home))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "port2port.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from port2port.core import audit
    from port2port.core.models import AuditRecord

    started = time.perf_counter()
    with transaction.atomic():
        AuditRecord.objects.bulk_create(
            AuditRecord(
                seq=10_000_000 + i,
                at=timezone.now(),
                actor_label="bench",
                action="bench.raw",
                prev_hash="",
                hash="",
            )
            for i in range(N)
        )
    raw = time.perf_counter() - started
    AuditRecord.objects.filter(action="bench.raw").delete()

    started = time.perf_counter()
    for i in range(N):
        audit.record(None, "bench.event", details={"n": i})
    chained = time.perf_counter() - started

    started = time.perf_counter()
    result = audit.verify()
    verify = time.perf_counter() - started
    assert result.ok and result.checked == N

    print(f"audit records: {N}, database: {django.db.connection.vendor}")
    print(f"baseline raw bulk insert : {N / raw:10.0f} records/s")
    print(
        f"audit.record (chained)   : {N / chained:10.0f} records/s  ({chained / raw:.1f}x the baseline's time)"
    )
    print(f"audit verify             : {N / verify:10.0f} records/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
