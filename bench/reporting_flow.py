"""Benchmark: anonymous reporting (issue 4) — receipt login, submission end to end, the triage
queue with 100,000 reports. Each beside a raw baseline measured in the same run:
- receipt login (Argon2id with the chosen cost, then the look-up) beside a plain SHA-256 look-up;
- submission (proof-of-work check, questionnaire, encryption, receipt, rate limit, insert, audit)
  beside a raw insert of an unencrypted report row;
- the first queue page of a team (visibility rule, filters, count) beside the same page read with
  no visibility rule.
Runs on SQLite in a temporary directory, or on DATABASE_URL when set.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPORTS = int(os.environ.get("BENCH_REPORTS", "100000"))


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:8.2f} ms  p95 {statistics.quantiles(values, n=20)[18] * 1000:8.2f} ms"


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="p2p-bench-reporting-"))
    os.environ.setdefault("PORT2PORT_VAR", str(home))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "port2port.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from port2port.core.models import Membership, Organisation, Port, User
    from port2port.core.visibility import SYSTEM
    from port2port.reporting import crypto, pow, selectors, services
    from port2port.reporting.models import Report, ReportAccess

    settings.REPORTING_POW_BITS = 16
    port = Port.objects.create(locode="BEANR", name="Antwerp")
    teams = []
    for n in range(5):
        org = Organisation.objects.create(name=f"Team org {n}", kind="police")
        org.ports.add(port)
        teams.append(services.team_create(actor=SYSTEM, organisation=org, name=f"Team {n}"))
    channel = services.channel_save(
        actor=SYSTEM,
        team=teams[0],
        slug="portwatch",
        name="Portwatch",
        questions=[],
        reports_per_minute=10000,
    )
    user = User.objects.create(username="triage")
    Membership.objects.create(
        user=user, organisation=teams[0].organisation, roles=["police_liaison"]
    )

    # receipt login ---------------------------------------------------------------------------
    receipt = crypto.new_receipt()
    login = timed(lambda: crypto.receipt_keys(receipt), 20)
    baseline_login = timed(lambda: hashlib.sha256(receipt.encode()).hexdigest(), 20)
    print(
        f"receipt login, Argon2id opslimit {crypto.RECEIPT_OPSLIMIT}, memory "
        f"{crypto.RECEIPT_MEMLIMIT // 2**20} MiB:  {ms(login)}   (plain SHA-256: {ms(baseline_login)}; "
        f"ratio {statistics.median(login) / statistics.median(baseline_login):,.0f}x)"
    )

    # submission --------------------------------------------------------------------------------
    solved = []
    for _ in range(30):
        challenge = pow.challenge_issue(channel.slug)
        solved.append((challenge, pow.solve(challenge, 16)))
    data = {"category": "drone", "what": "A drone above the quay at 02:10, no lights." * 3}

    def submit():
        challenge, nonce = solved.pop()
        services.report_submit(channel=channel, data=data, challenge=challenge, nonce=nonce)

    submission = timed(submit, 30)
    now = timezone.now()

    def raw_insert():
        with transaction.atomic():
            Report.objects.create(
                channel=channel,
                team=teams[0],
                category="drone",
                language="en",
                submitted_hour=now,
                receipt_lookup=os.urandom(16).hex(),
                reporter_key_box=b"",
                content=data["what"].encode(),
            )

    raw = timed(raw_insert, 30)
    print(
        f"submission end to end (proof of work 16 bits checked):  {ms(submission)}   "
        f"(raw insert: {ms(raw)}; ratio {statistics.median(submission) / statistics.median(raw):.0f}x)"
    )

    # the queue with 100,000 reports ------------------------------------------------------------
    started = time.perf_counter()
    batch = []
    for n in range(REPORTS):
        team = teams[n % len(teams)]
        batch.append(
            Report(
                channel=channel,
                team=team,
                category="drone",
                language="en",
                status=("new", "triage", "closed")[n % 3],
                submitted_hour=now,
                receipt_lookup=f"bench{n:010d}",
                reporter_key_box=b"x",
                content=b"x",
            )
        )
    Report.objects.bulk_create(batch, batch_size=2000)
    ids = Report.objects.filter(receipt_lookup__startswith="bench").values_list("pk", "team_id")
    ReportAccess.objects.bulk_create(
        (ReportAccess(report_id=pk, team_id=team, sealed_key=b"x") for pk, team in ids),
        batch_size=2000,
    )
    print(
        f"{REPORTS} reports generated in {time.perf_counter() - started:.1f} s, database {connection.vendor}"
    )

    def queue():
        qs = selectors.reports_visible_to(user, selectors.QueueFilter(status="new"))
        list(qs[:50])
        qs.count()

    def queue_raw():
        qs = Report.objects.filter(status="new").select_related(
            "channel", "team", "port", "assigned_to"
        )
        list(qs[:50])
        qs.count()

    queue()
    page = timed(queue, 30)
    baseline = timed(queue_raw, 30)
    ratio = statistics.median(page) / statistics.median(baseline)
    print(
        f"triage queue, first page of 50 + count:  {ms(page)}   (no visibility rule: {ms(baseline)}; ratio {ratio:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
