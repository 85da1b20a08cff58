"""The decision log through the journal: batched, and nothing lost when the process is killed."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from port2port.access import journal as journal_module

# A gate process: its own SQLite database, one gate, one badge; it answers decisions as fast as it
# can and prints the uid of each decision once answered (so once in its journal).
GATE_PROCESS = textwrap.dedent(
    """
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "port2port.settings"
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from port2port.access import journal, services
    from port2port.access.models import Badge, AccessRight
    from port2port.core.models import Organisation, Person, Port
    from port2port.core.visibility import SYSTEM
    from port2port.sites.models import Gate, Zone
    point = {"type": "Point", "coordinates": [4.3, 51.28]}
    port = Port.objects.create(locode="BEANR", name="Antwerp")
    org = Organisation.objects.create(name="Terminal", kind="company")
    person = Person.objects.create(organisation=org, given_name="A", family_name="B")
    zone = Zone.objects.create(port=port, code="Y", name="Y", geometry=point)
    gate = Gate.objects.create(port=port, code="G1", name="G1", geometry=point)
    gate.leads_into.set([zone])
    Badge.objects.create(person=person, number="AP-1")
    AccessRight.objects.create(person=person, zone=zone)
    journal.FLUSH_SECONDS = float(os.environ.get("FLUSH_SECONDS", "0.05"))
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        value = "AP-1" if n % 3 else "AP-404"
        services.gate_decide(actor=SYSTEM, gate_code="G1", kind="badge", value=value)
        print(f"{journal.journal().segment}-{journal.journal()._seq}", flush=True)
    """
)


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'gate.sqlite3'}",
            "PORT2PORT_VAR": str(tmp_path / "var"),
            "ACCESS_DECISION_LOG": "journal",
            "ACCESS_JOURNAL_DIR": str(tmp_path / "journal"),
            "SECRET_KEY": "test-journal",
        }
    )
    return env


def _stored_uids(tmp_path: Path) -> set:
    import sqlite3

    with sqlite3.connect(tmp_path / "gate.sqlite3") as db:
        return {row[0] for row in db.execute("SELECT uid FROM access_gatedecision")}


@pytest.mark.parametrize("answered", [400])
def test_a_killed_process_loses_no_decision(tmp_path, answered):
    env = _env(tmp_path)
    child = subprocess.Popen(  # noqa: S603 - our own script, our own interpreter
        [sys.executable, "-c", GATE_PROCESS], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        uids = [child.stdout.readline().strip() for _ in range(answered)]
        child.send_signal(signal.SIGKILL)  # mid-stream: no atexit, no final flush
        child.wait(timeout=10)
        uids += [line.strip() for line in child.stdout if line.strip()]
    finally:
        if child.poll() is None:
            child.kill()
    assert len(uids) >= answered and all(uids)
    assert list((tmp_path / "journal").glob("decisions-*.jsonl"))  # the journal outlived the kill
    replay = subprocess.run(
        [sys.executable, "-m", "port2port.cli", "access", "replay-journal"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0, replay.stderr
    stored = _stored_uids(tmp_path)
    assert set(uids) <= stored, f"{len(set(uids) - stored)} answered decisions were lost"
    assert not list((tmp_path / "journal").glob("decisions-*.jsonl"))
    # replaying again stores nothing twice
    subprocess.run(
        [sys.executable, "-m", "port2port.cli", "access", "replay-journal"], env=env, timeout=120
    )
    assert _stored_uids(tmp_path) == stored


def test_journal_lines_are_stored_once_and_partial_lines_wait(tmp_path, db):
    from datetime import datetime

    from django.utils import timezone

    from port2port.access.models import GateDecision

    journal = journal_module.Journal(tmp_path)
    journal._thread = object()  # flushed by hand here, inside the test's transaction
    entry = {
        "gate_id": None,
        "gate_code": "G1",
        "kind": "badge",
        "credential": "AP-1",
        "person_id": None,
        "direction": "in",
        "at": timezone.make_aware(datetime(2026, 11, 21, 7, 42)).isoformat(),
        "granted": False,
        "reasons": ["UNKNOWN_CREDENTIAL"],
    }
    first = journal.append(entry)
    with journal.path.open("ab") as handle:  # a line cut off by a crash mid-write
        handle.write(b'{"uid": "cut')
    assert journal.flush() == 1
    assert list(GateDecision.objects.values_list("uid", flat=True)) == [first]
    journal._stored = 0  # as after a crash between the insert and the bookkeeping
    journal.flush()
    assert GateDecision.objects.count() == 1


def test_desk_reads_its_latest_decisions_through_the_journal(settings, tmp_path, db):
    """In journal mode, reading the decision log first stores what this process answered."""
    from port2port.access import selectors, services
    from port2port.access.models import GateDecision
    from port2port.core.visibility import SYSTEM
    from port2port.sites.models import Gate, Zone

    from ..core.factories import PortFactory

    settings.ACCESS_DECISION_LOG = "journal"
    settings.ACCESS_JOURNAL_DIR = tmp_path / "journal"
    journal_module._journal = journal_module.Journal(tmp_path / "journal")
    journal_module._journal._thread = object()  # no background writer inside the test transaction
    try:
        port = PortFactory()
        point = {"type": "Point", "coordinates": [4.3, 51.28]}
        zone = Zone.objects.create(port=port, code="Y", name="Y", geometry=point)
        gate = Gate.objects.create(port=port, code="G9", name="G9", geometry=point)
        gate.leads_into.set([zone])
        services.gate_decide(actor=SYSTEM, gate_code="G9", kind="badge", value="AP-9")
        assert GateDecision.objects.count() == 0  # answered, journaled, not yet batched
        [decision] = selectors.decisions_visible_to(SYSTEM)
        assert decision.reasons == ["UNKNOWN_CREDENTIAL"]
    finally:
        journal_module._journal = None
