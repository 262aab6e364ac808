"""State: one SQLite database (WAL) and a folder of blob files.

Single writer, Datasette style: every access goes through one connection guarded by a
re-entrant lock, so the event loop thread and worker threads never interleave inside a
transaction.  SQLite point reads and writes take microseconds, so holding the lock for a
request's transaction costs less than handing work to a writer thread would.

Durability: WAL with synchronous=NORMAL.  A commit reaches the OS before the request is
answered, so an acknowledged write survives a crash of the process (SIGKILL); only a
power loss could roll back the last transactions.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from typing import Callable, TypeVar

from haneul.store.blobs import BlobStore

T = TypeVar("T")


class Store:
    def __init__(self, data_dir: str | None):
        """`data_dir=None` keeps everything in memory and a temporary folder."""
        self.ephemeral = data_dir is None
        if self.ephemeral:
            self._tmp = tempfile.TemporaryDirectory(prefix="haneul-")
            data_dir = self._tmp.name
            db_path = ":memory:"
        else:
            os.makedirs(data_dir, exist_ok=True)
            db_path = os.path.join(data_dir, "haneul.db")
        self.data_dir = os.path.realpath(data_dir)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        if not self.ephemeral:
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS _schema (namespace TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        self._depth = 0
        self._migrated: set[str] = set()
        self.blobs = BlobStore(os.path.join(self.data_dir, "blobs"))

    # -- transactions -------------------------------------------------------------------
    def transaction(self) -> "_Transaction":
        """One atomic unit (`with store.transaction() as conn:`).  Nested calls become
        savepoints of the outer transaction, so an inner failure undoes only its part."""
        return _Transaction(self)

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`transaction(fn)`: run fn(conn) atomically and return its result."""
        with self.transaction() as conn:
            return fn(conn)

    # -- schema -----------------------------------------------------------------------
    def migrate(self, namespace: str, steps: list[str]) -> None:
        """Apply the steps of `namespace` not applied yet.  Steps are only ever appended."""
        if namespace in self._migrated:
            return
        with self.transaction() as conn:
            row = conn.execute("SELECT version FROM _schema WHERE namespace=?", (namespace,)).fetchone()
            done = row[0] if row else 0
            for step in steps[done:]:
                for statement in step.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
            if len(steps) != done:
                conn.execute(
                    "INSERT INTO _schema(namespace, version) VALUES(?, ?) "
                    "ON CONFLICT(namespace) DO UPDATE SET version=excluded.version",
                    (namespace, len(steps)),
                )
        self._migrated.add(namespace)

    def reset(self) -> None:
        """Delete every row of every table (POST /_haneul/reset); schemas stay."""
        with self.transaction() as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name != '_schema'")]
            conn.execute("PRAGMA defer_foreign_keys=ON")
            for table in tables:
                conn.execute(f'DELETE FROM "{table}"')
        self.blobs.clear()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
        if self.ephemeral:
            self._tmp.cleanup()


class _Transaction:
    """A class rather than @contextmanager: this runs on every request."""

    __slots__ = ("store", "savepoint")

    def __init__(self, store: Store):
        self.store = store
        self.savepoint = None

    def __enter__(self) -> sqlite3.Connection:
        store = self.store
        store.lock.acquire()
        try:
            if store._depth:
                self.savepoint = f"sp{store._depth}"
                store.conn.execute(f"SAVEPOINT {self.savepoint}")
            else:
                store.conn.execute("BEGIN IMMEDIATE")
            store._depth += 1
        except BaseException:
            store.lock.release()
            raise
        return store.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        store = self.store
        conn = store.conn
        try:
            store._depth -= 1
            if self.savepoint is not None:
                if exc_type is not None:
                    conn.execute(f"ROLLBACK TO {self.savepoint}")
                conn.execute(f"RELEASE {self.savepoint}")
            elif exc_type is not None:
                conn.execute("ROLLBACK")
            else:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    # e.g. a deferred constraint: leave no half-open transaction behind
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        finally:
            store.lock.release()
