import os

import pytest

os.environ.setdefault("PORT2PORT_VAR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    """Cheaper password hashing in most tests (argon2 itself is tested in test_login)."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Decisions go straight into the test's transaction; tests/access/test_journal.py tests the
    # journal itself.
    settings.ACCESS_DECISION_LOG = "direct"
    settings.ACCESS_JOURNAL_DIR = tmp_path / "journal"
    from django.core.cache import cache

    cache.clear()


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    return f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database.get('NAME', '')}"


@pytest.fixture(autouse=True)
def _fresh_access_snapshot(monkeypatch):
    """Every test starts with an empty decision snapshot that follows the change feed at once."""
    from port2port.access import snapshot

    monkeypatch.setattr(snapshot, "POLL_SECONDS", 0.0)
    snapshot.store.reset()
    yield
    snapshot.store.reset()


@pytest.fixture(autouse=True)
def _fresh_detection(settings):
    """Every test starts with a detection pipeline that loads its rules afresh, and sends
    notifications only when the test asks (notify.send_pending)."""
    settings.DETECTION_NOTIFY_THREAD = False
    settings.DETECTION_WEBHOOK_PRIVATE = True  # test webhooks live on 127.0.0.1
    from port2port.detection.ingest import pipeline

    pipeline.reset()
    yield
    pipeline.reset()
