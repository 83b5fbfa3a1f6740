"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production).

Transactions on SQLite. SQLite allows one writer at a time. A transaction that starts with a
plain (deferred) ``BEGIN``, reads, and then writes must upgrade its read snapshot to the write
lock; when another connection committed in between, SQLite refuses at once with "database is
locked" (waiting cannot help: the snapshot is stale), which concurrent clients saw as 500s. So
every session from :meth:`Database.session` starts with ``BEGIN IMMEDIATE``: it takes the write
lock before its first read and waits for it (busy timeout) instead of failing half-way.
Sessions that promise not to write (:meth:`Database.read_session`) keep a deferred ``BEGIN``, so
readers never wait for writers (WAL), and the database refuses their writes
(``PRAGMA query_only``; ``SET TRANSACTION READ ONLY`` on PostgreSQL).

Logs. Engines are built with ``hide_parameters=True``: an error's text names the SQL statement
but never its bound values (names, blind-index digests, tokens). PostgreSQL adds ``DETAIL``
lines that quote row values (``Key (id_index)=(...) already exists``); :func:`_redact_error`
keeps only the first line of the driver's message, so no log or error page can show them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

#: How long a SQLite connection waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
#: Execution option marking a read-only engine (see :meth:`Database.read_session`).
READ_ONLY_OPTION = "safezone_read_only"
#: PostgreSQL SQLSTATEs after which the whole transaction can simply run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says why, without credentials."""


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs (a RELEASE would commit everything);
    # turn it off and let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it consistent
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
    cursor.close()


class _WriterQueue:
    """The writers of one process queue here before ``BEGIN IMMEDIATE``.

    SQLite's busy handler polls the write lock with sleeps of up to 100 ms, and unfairly: under
    many threads some waited seconds. Waiting on a lock instead wakes the next writer as soon as
    the current one ends. Other processes still meet at SQLite's own lock (busy timeout).
    A plain Lock, because a transaction may end in another thread than the one that began it
    (FastAPI runs dependencies and routes in a thread pool).
    """

    HELD = "safezone_writer_lock"

    def __init__(self, timeout: float) -> None:
        self.lock = threading.Lock()
        self.timeout = timeout

    def begin(self, connection: Connection) -> None:
        read_only = bool(connection.get_execution_options().get(READ_ONLY_OPTION))
        # query_only belongs to the pooled DBAPI connection: set it only when the mode changes.
        if connection.info.get("query_only") is not read_only:
            connection.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            connection.info["query_only"] = read_only
        if read_only:
            connection.exec_driver_sql("BEGIN")
            return
        if not self.lock.acquire(timeout=self.timeout):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        connection.info[self.HELD] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(connection)
            raise

    def end(self, connection: Connection) -> None:
        # Runs just before the COMMIT/ROLLBACK itself: the next writer may meet SQLite's lock
        # for that instant, which the busy handler's first 1 ms sleep covers.
        self._release(connection.info)

    def returned(self, _dbapi_connection: Any, record: Any, *_: Any) -> None:
        # A connection that comes back to the pool (or is thrown away) with its transaction
        # never ended, e.g. a session garbage-collected without close: the pool rolls it back,
        # and the next writer must not wait for it.
        self._release(record.info)

    def _release(self, info: dict[str, Any]) -> None:
        if info.pop(self.HELD, False):
            self.lock.release()


def _redact_error(context: ExceptionContext) -> None:
    original = context.original_exception
    message = str(original)
    first_line = message.split("\n", 1)[0].rstrip()
    if first_line == message:
        return
    # The driver's exception is chained as __cause__ and printed in tracebacks: redact it too.
    original.args = (first_line,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        kind = type(original)
        wrapped.args = (f"({kind.__module__}.{kind.__name__}) {first_line}",)


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL, or None (not SQLite, or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if not name or name == ":memory:" or name.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(name)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and readable only by its owner, unless it exists.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions, so creating
    the database 0600 keeps all three private whatever the process umask.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def build_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None and path.parent.is_dir():
            create_private_file(path)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        writers = _WriterQueue(SQLITE_BUSY_TIMEOUT_SECONDS)
        event.listen(engine, "handle_error", _redact_error)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "commit", writers.end)
        event.listen(engine, "rollback", writers.end)
        event.listen(engine, "checkin", writers.returned)
        event.listen(engine, "invalidate", writers.returned)
        return engine
    engine = create_engine(
        url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=10
    )
    event.listen(engine, "handle_error", _redact_error)
    return engine


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` rolled back a whole transaction that may simply run again.

    SQLite: the write lock stayed busy past the timeout. PostgreSQL: a serialization failure or
    a deadlock (the server already rolled the transaction back).
    """
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        return "locked" in str(original) or "busy" in str(original)
    return getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES


class Database:
    """One engine and its session factories."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = build_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if self.is_postgresql:
            options["postgresql_readonly"] = True
        self.read_engine = self.engine.execution_options(**options)
        self.read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        """Whether this is a PostgreSQL database (row locks with SKIP LOCKED are available)."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-write session, committed on success and rolled back on any error.

        On SQLite its transaction holds the database's write lock from its first statement to
        its end: keep it short, and never open a second one in the same thread meanwhile (the
        second would wait for the first).
        """
        with self._scope(self.sessionmaker) as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only: one consistent snapshot that never waits for writers.

        Any write in it fails (the database refuses it), so use it only where nothing is
        written, audit records included.
        """
        with self._scope(self.read_sessionmaker) as session:
            yield session

    @staticmethod
    @contextmanager
    def _scope(factory: sessionmaker[Session]) -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[[Session], T], *, attempts: int = 3) -> T:
        """Run ``work(session)`` as one transaction; run it again (up to ``attempts`` times in
        all) when the database rolled it back for a reason that retrying cures
        (:func:`is_retryable`).

        Nothing ``work`` did is visible before the commit succeeds, so a retry repeats no side
        effect, as long as ``work`` only touches the database (jobs are rows, so they qualify).
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return work(session)
            except DBAPIError as error:
                if attempt == attempts or not is_retryable(error):
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def ping(self) -> None:
        """Check connectivity; raises DatabaseUnavailable with a credential-free message."""
        try:
            with self.read_engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else "unknown error"
            raise DatabaseUnavailable(
                f"{self.engine.url.render_as_string(hide_password=True)}: {reason}"
            ) from None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
