"""The decision log without slowing the gate: a local append-only journal, batched into the database.

A decision is answered once its line is in the journal file (one `os.write` of a whole line: the
kernel keeps it if the process is killed). A background thread copies new lines into `GateDecision`
in batches. Each line carries a unique id (`uid`), so lines copied twice (after a crash between
the insert and the bookkeeping) are stored once. A process that starts replays the journals that
no living process holds (each writer holds an exclusive lock on its own file).

A power cut can lose what the OS had not yet written to disk (at most one flush interval, as each
flush also syncs the file); a killed process loses nothing.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection, transaction

from .models import GateDecision

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
BATCH = 2000
SEGMENT_BYTES = 16 * 1024 * 1024


def journal_dir() -> Path:
    return Path(getattr(settings, "ACCESS_JOURNAL_DIR", settings.VAR_DIR / "journal"))


def _row(line: bytes) -> GateDecision | None:
    try:
        data = json.loads(line)
        return GateDecision(
            uid=data["uid"],
            gate_id=data["gate_id"],
            gate_code=data["gate_code"],
            credential_kind=data["kind"],
            credential=data["credential"],
            person_id=data["person_id"],
            direction=data["direction"],
            at=datetime.fromisoformat(data["at"]),
            granted=data["granted"],
            reasons=data["reasons"],
        )
    except (ValueError, KeyError, TypeError):
        log.error("decision journal: unreadable line skipped: %r", line[:200])
        return None


_COLUMNS = (
    "uid",
    "gate_id",
    "gate_code",
    "credential_kind",
    "credential",
    "person_id",
    "direction",
    "at",
    "granted",
    "reasons",
)


def _insert_sql() -> str:
    """One prepared INSERT for the whole batch (executemany): the gate's writer thread holds the
    interpreter for far less time than building model instances would take."""
    quote = connection.ops.quote_name
    table = quote(GateDecision._meta.db_table)
    columns = ", ".join(quote(c) for c in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT ({quote('uid')}) DO NOTHING"  # noqa: S608 - names from our model, values as parameters
    )


def _params(row: GateDecision) -> tuple:
    fields = GateDecision._meta
    return tuple(
        fields.get_field(name).get_db_prep_save(getattr(row, name), connection) for name in _COLUMNS
    )


def _store(lines: list[bytes]) -> int:
    """Insert a batch; if the database refuses it, line by line, so that one bad line (logged and
    set aside) never holds back the others. A database that is away raises: retried later."""
    rows = [row for row in map(_row, lines) if row is not None]
    if not rows:
        return 0
    sql, params = _insert_sql(), [_params(row) for row in rows]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, params)
        return len(rows)
    except (DataError, IntegrityError):
        pass
    stored = 0
    for row, values in zip(rows, params, strict=True):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, values)
            stored += 1
        except (DataError, IntegrityError):
            log.error("decision journal: line refused by the database, set aside: %s", row.uid)
    return stored


def _complete_lines(path: Path, offset: int) -> tuple[list[bytes], int]:
    """Whole lines from `offset` on, and the offset after the last whole line."""
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    return [line for line in data[: end + 1].split(b"\n") if line.strip()], offset + end + 1


class Journal:
    """One process's journal file and its batch writer."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory or journal_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._open_segment()

    def _open_segment(self) -> None:
        """A new file, locked before it gets the name `replay()` looks for."""
        self.segment = secrets.token_hex(6)
        self.path = self.directory / f"decisions-{self.segment}.jsonl"
        fresh = self.directory / f".fresh-{self.segment}"
        self._fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(fresh, self.path)
        self._seq = 0
        self._written = 0
        self._stored = 0

    def append(self, entry: dict) -> str:
        """Write one decision; durable against a kill once this returns. Returns its uid."""
        with self._lock:
            self._seq += 1
            uid = f"{self.segment}-{self._seq}"
            line = json.dumps({"uid": uid, **entry}, default=str, separators=(",", ":")) + "\n"
            data = line.encode()
            os.write(self._fd, data)
            self._written += len(data)
        self._start()
        return uid

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="decision-journal", daemon=True
                    )
                    self._thread.start()
                    atexit.register(self.close)

    def _run(self) -> None:
        try:  # what earlier processes left: here, not in a gate's request
            replayed = replay()
            if replayed:
                log.warning("decision journal: %s decisions replayed from earlier runs", replayed)
        except Exception:
            log.exception("decision journal: replay failed; retried at the next start")
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            if self._stopped:
                return
            try:
                self.flush()
            except Exception:  # the database may be away for a while: keep the lines, retry
                log.exception("decision journal: flush failed; retrying")
            finally:
                close_old_connections()

    def flush(self) -> int:
        """Copy every whole line not yet stored into the database; returns how many."""
        with self._flush_lock:
            os.fsync(self._fd)  # on disk, whether or not the database answers
            total = 0
            while True:
                lines, offset = _complete_lines(self.path, self._stored)
                if not lines:
                    break
                for start in range(0, len(lines), BATCH):
                    total += _store(lines[start : start + BATCH])
                self._stored = offset
            if self._stored >= SEGMENT_BYTES:
                self._rotate()
            return total

    def _rotate(self) -> None:
        with self._lock:
            if self._stored != self._written:
                return
            old_fd, old_path = self._fd, self.path
            self._open_segment()
        os.close(old_fd)
        old_path.unlink(missing_ok=True)

    def close(self) -> None:
        """At exit: store what is left and remove the file; if the database is away, the file
        stays and the next process replays it."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:
            log.exception("decision journal: final flush failed; replayed at next start")
            return
        with self._lock:
            if self._stored == self._written:
                os.close(self._fd)
                self.path.unlink(missing_ok=True)


def replay(directory: Path | None = None) -> int:
    """Store the lines of journals no living process holds, then remove those files."""
    directory = directory or journal_dir()
    if not directory.exists():
        return 0
    total = 0
    for path in sorted(directory.glob("decisions-*.jsonl")):
        fd = os.open(path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a living process writes it
            lines, _offset = _complete_lines(path, 0)
            for start in range(0, len(lines), BATCH):
                total += _store(lines[start : start + BATCH])
            path.unlink()  # every line is stored, or set aside and logged
        finally:
            os.close(fd)
    return total


_journal: Journal | None = None
_journal_lock = threading.Lock()


def journal() -> Journal:
    """This process's journal; its writer thread first replays what earlier processes left."""
    global _journal
    if _journal is None:
        with _journal_lock:
            if _journal is None:
                _journal = Journal()
    return _journal


def own_segment() -> str:
    """The id prefix of this process's journal lines ("" before its first decision)."""
    return _journal.segment if _journal is not None else ""


def flush() -> None:
    """Make every decision answered so far readable in the log (the desk before it reads)."""
    if _journal is not None:
        _journal.flush()
