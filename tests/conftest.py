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
    # The rules' night scenes happen last night; tests of late events set their own window.
    settings.DETECTION_LATE_SECONDS = 3 * 24 * 3600
    settings.DETECTION_WEBHOOK_PRIVATE = True  # test webhooks live on 127.0.0.1
    from port2port.detection.ingest import pipeline

    pipeline.reset()
    yield
    pipeline.reset()


@pytest.fixture
def database_on_file(django_db_blocker, tmp_path):
    """For tests whose code runs in other threads or processes: SQLite's test database lives in
    this process's memory (shared cache, where a reader and a writer lock each other out), so it
    is copied into a file (WAL, as in production) that every new connection of the test opens.
    Yields the file's path; PostgreSQL's test database is used as it is (None)."""
    import sqlite3

    from django.db import connections

    connection = connections["default"]
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield None
        return
    path = tmp_path / "test.sqlite3"
    with django_db_blocker.unblock():
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)  # the migrated schema, in one step
        target.close()
    # New dictionaries, not the in-memory connection's own: with a file's name that connection
    # would believe itself closable, and the threads sharing it (a live server's) would crash.
    saved = connections.settings["default"]
    on_file_settings = {**connection.settings_dict, "NAME": str(path)}
    connections.settings["default"] = on_file_settings  # what other threads' connections open
    on_file = connection.__class__(on_file_settings, "default")
    connections["default"] = on_file
    try:
        yield path
    finally:
        on_file.close()
        connections.settings["default"] = saved
        connections["default"] = connection
