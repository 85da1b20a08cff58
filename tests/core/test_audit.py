"""The audit chain detects any edit, deletion or reordering (DESIGN.md §4)."""

import pytest
from django.db import connection

from port2port.cli import main as cli
from port2port.core import audit
from port2port.core.models import AuditHead, AuditRecord, Organisation
from port2port.core.roles import Role
from port2port.core.services import person_create

from .factories import OrganisationFactory, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    org = OrganisationFactory()
    for n in range(5):
        audit.record(None, "test.event", org, details={"n": n, "text": "é ü"})
    return org


def _raw_update(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_intact_chain_verifies(chain):
    result = audit.verify()
    assert result.ok
    assert result.checked == 5


def test_every_service_write_leaves_a_record():
    org = OrganisationFactory()
    officer = user_in(org, Role.PORT_SECURITY_OFFICER)
    person = person_create(actor=officer, organisation=org, given_name="Ann", family_name="Claes")
    entry = AuditRecord.objects.get(action="core.person.created")
    assert entry.object_id == str(person.pk)
    assert entry.actor_id == officer.pk
    assert entry.organisation_id == org.pk
    assert audit.verify().ok


def test_edited_record_is_detected(chain):
    _raw_update(
        f"UPDATE {AuditRecord._meta.db_table} SET action = %s WHERE seq = %s", ["test.forged", 3]
    )
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq == 3


def test_edited_details_are_detected(chain):
    record = AuditRecord.objects.get(seq=2)
    AuditRecord.objects.filter(seq=2).update(details={**record.details, "n": 99})
    result = audit.verify()
    assert (result.ok, result.broken_seq) == (False, 2)


def test_edit_with_recomputed_hash_is_detected_by_the_next_record(chain):
    record = AuditRecord.objects.get(seq=2)
    record.action = "test.forged"
    AuditRecord.objects.filter(seq=2).update(action="test.forged", hash=audit._digest(record))
    result = audit.verify()
    assert (result.ok, result.broken_seq) == (False, 3)


def test_deleted_record_is_detected(chain):
    AuditRecord.objects.filter(seq=3).delete()
    result = audit.verify()
    assert (result.ok, result.broken_seq) == (False, 3)
    assert "missing" in result.problem


def test_deleted_last_record_is_detected(chain):
    AuditRecord.objects.filter(seq=5).delete()
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq == 5


def test_reordered_records_are_detected(chain):
    table = AuditRecord._meta.db_table
    # Swap the contents of records 2 and 4 while keeping their sequence numbers in place.
    _raw_update(f"UPDATE {table} SET seq = -2 WHERE seq = 2", [])
    _raw_update(f"UPDATE {table} SET seq = 2 WHERE seq = 4", [])
    _raw_update(f"UPDATE {table} SET seq = 4 WHERE seq = -2", [])
    result = audit.verify()
    assert (result.ok, result.broken_seq) == (False, 2)


def test_removed_head_is_detected(chain):
    AuditHead.objects.all().delete()
    assert not audit.verify().ok


def test_cli_verify_exit_codes(chain, capsys):
    assert cli(["audit", "verify"]) == 0
    assert "5 records checked" in capsys.readouterr().out
    AuditRecord.objects.filter(seq=4).update(object_repr="someone else")
    assert cli(["audit", "verify"]) == 1
    assert "#4" in capsys.readouterr().err


def test_audit_records_cannot_be_attached_to_a_missing_organisation_silently():
    """A record keeps the organisation id even if the organisation row is later removed."""
    org = OrganisationFactory()
    entry = audit.record(None, "test.event", org)
    org_id = org.pk
    org.ports.clear()
    Organisation.objects.filter(pk=org_id).delete()
    assert AuditRecord.objects.get(seq=entry.seq).organisation_id == org_id
    assert audit.verify().ok
