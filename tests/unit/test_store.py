"""haneul.store: transactions, savepoints, migrations, reset, WAL and threads."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from haneul.store import Store


@pytest.fixture
def store():
    s = Store(None)
    s.migrate("t", ["CREATE TABLE item (k TEXT PRIMARY KEY, v INTEGER)"])
    yield s
    s.close()


@pytest.fixture
def disk(tmp_path):
    s = Store(str(tmp_path / "data"))
    s.migrate("t", ["CREATE TABLE item (k TEXT PRIMARY KEY, v INTEGER)"])
    yield s
    s.close()


def keys(store) -> list[str]:
    with store.lock:
        return sorted(r[0] for r in store.conn.execute("SELECT k FROM item"))


def tables(store) -> set[str]:
    with store.lock:
        return {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


class Boom(Exception):
    pass


# -- transactions ---------------------------------------------------------------------------
def test_commit_makes_rows_visible(store):
    with store.transaction() as db:
        db.execute("INSERT INTO item VALUES ('a', 1)")
    assert keys(store) == ["a"]


def test_commit_is_durable_for_another_connection(disk):
    with disk.transaction() as db:
        db.execute("INSERT INTO item VALUES ('a', 1)")
    other = sqlite3.connect(f"{disk.data_dir}/haneul.db")
    try:
        assert other.execute("SELECT k, v FROM item").fetchall() == [("a", 1)]
    finally:
        other.close()


def test_uncommitted_rows_are_invisible_to_another_connection(disk):
    other = sqlite3.connect(f"{disk.data_dir}/haneul.db")
    try:
        with disk.transaction() as db:
            db.execute("INSERT INTO item VALUES ('a', 1)")
            assert other.execute("SELECT count(*) FROM item").fetchone()[0] == 0
        assert other.execute("SELECT count(*) FROM item").fetchone()[0] == 1
    finally:
        other.close()


def test_exception_rolls_back_and_propagates(store):
    with store.transaction() as db:
        db.execute("INSERT INTO item VALUES ('kept', 1)")
    with pytest.raises(Boom):
        with store.transaction() as db:
            db.execute("INSERT INTO item VALUES ('a', 1)")
            db.execute("UPDATE item SET v = 99 WHERE k = 'kept'")
            raise Boom()
    assert keys(store) == ["kept"]
    with store.lock:
        assert store.conn.execute("SELECT v FROM item WHERE k='kept'").fetchone()[0] == 1


def test_store_is_usable_after_a_rollback(store):
    with pytest.raises(Boom):
        with store.transaction():
            raise Boom()
    with store.transaction() as db:
        db.execute("INSERT INTO item VALUES ('b', 2)")
    assert keys(store) == ["b"]
    assert not store.conn.in_transaction


def test_sql_error_rolls_back_the_whole_transaction(store):
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as db:
            db.execute("INSERT INTO item VALUES ('a', 1)")
            db.execute("INSERT INTO item VALUES ('a', 2)")     # duplicate primary key
    assert keys(store) == []


def test_run_returns_the_function_result_and_commits(store):
    def fn(db):
        db.execute("INSERT INTO item VALUES ('r', 5)")
        return db.execute("SELECT v FROM item WHERE k='r'").fetchone()[0] * 2

    assert store.run(fn) == 10
    assert keys(store) == ["r"]


def test_run_rolls_back_when_the_function_raises(store):
    def fn(db):
        db.execute("INSERT INTO item VALUES ('r', 5)")
        raise Boom()

    with pytest.raises(Boom):
        store.run(fn)
    assert keys(store) == []


# -- savepoints -------------------------------------------------------------------------------
def test_failed_inner_transaction_rolls_back_only_the_inner_part(store):
    with store.transaction() as db:
        db.execute("INSERT INTO item VALUES ('outer-before', 1)")
        with pytest.raises(Boom):
            with store.transaction() as inner:
                inner.execute("INSERT INTO item VALUES ('inner', 2)")
                raise Boom()
        db.execute("INSERT INTO item VALUES ('outer-after', 3)")
    assert keys(store) == ["outer-after", "outer-before"]


def test_successful_inner_transaction_is_undone_by_outer_rollback(store):
    with pytest.raises(Boom):
        with store.transaction() as db:
            db.execute("INSERT INTO item VALUES ('outer', 1)")
            with store.transaction() as inner:
                inner.execute("INSERT INTO item VALUES ('inner', 2)")
            raise Boom()
    assert keys(store) == []


def test_three_levels_roll_back_independently(store):
    with store.transaction() as db:
        db.execute("INSERT INTO item VALUES ('l1', 1)")
        with store.transaction() as d2:
            d2.execute("INSERT INTO item VALUES ('l2', 2)")
            with pytest.raises(Boom):
                with store.transaction() as d3:
                    d3.execute("INSERT INTO item VALUES ('l3', 3)")
                    raise Boom()
            d2.execute("INSERT INTO item VALUES ('l2b', 4)")
        with pytest.raises(Boom):
            with store.transaction() as d2:
                d2.execute("INSERT INTO item VALUES ('gone', 5)")
                with store.transaction() as d3:
                    d3.execute("INSERT INTO item VALUES ('gone-too', 6)")
                raise Boom()
    assert keys(store) == ["l1", "l2", "l2b"]


def test_sibling_savepoints_after_a_failed_one_still_work(store):
    with store.transaction() as db:
        for i in range(3):
            try:
                with store.transaction() as sp:
                    sp.execute("INSERT INTO item VALUES (?, ?)", (f"k{i}", i))
                    if i == 1:
                        raise Boom()
            except Boom:
                pass
        db.execute("INSERT INTO item VALUES ('end', 9)")
    assert keys(store) == ["end", "k0", "k2"]


# -- migrations -------------------------------------------------------------------------------
def versions(store) -> dict[str, int]:
    with store.lock:
        return {r[0]: r[1] for r in store.conn.execute("SELECT namespace, version FROM _schema")}


def test_migrate_applies_all_steps_and_records_the_version(tmp_path):
    s = Store(str(tmp_path))
    steps = ["CREATE TABLE a (x INTEGER)",
             "CREATE TABLE b (y INTEGER);\nCREATE TABLE c (z INTEGER)"]   # one step, two statements
    s.migrate("ns", steps)
    assert {"a", "b", "c"} <= tables(s)
    assert versions(s)["ns"] == 2
    s.close()


def test_migrate_on_reopen_applies_only_the_new_steps(tmp_path):
    data = str(tmp_path / "d")
    steps = ["CREATE TABLE log (step INTEGER)", "INSERT INTO log VALUES (1)"]
    s = Store(data)
    s.migrate("ns", steps)
    s.close()

    # Same steps again after a restart: nothing re-runs (CREATE TABLE would fail, the
    # INSERT would duplicate).
    s = Store(data)
    s.migrate("ns", steps)
    with s.lock:
        assert [r[0] for r in s.conn.execute("SELECT step FROM log")] == [1]
    s.close()

    # One step appended: only it runs.
    s = Store(data)
    s.migrate("ns", steps + ["INSERT INTO log VALUES (2)"])
    with s.lock:
        assert [r[0] for r in s.conn.execute("SELECT step FROM log ORDER BY step")] == [1, 2]
    assert versions(s)["ns"] == 3
    s.close()


def test_migrate_twice_in_one_process_is_a_no_op(store):
    store.migrate("t", ["CREATE TABLE item (k TEXT PRIMARY KEY, v INTEGER)"])
    assert versions(store)["t"] == 1


def test_namespaces_are_versioned_independently(store):
    store.migrate("other", ["CREATE TABLE o1 (x)", "CREATE TABLE o2 (x)"])
    assert versions(store) == {"t": 1, "other": 2}


def test_a_failing_step_applies_nothing_of_the_migration(tmp_path):
    s = Store(str(tmp_path))
    with pytest.raises(sqlite3.OperationalError):
        s.migrate("ns", ["CREATE TABLE good (x)", "THIS IS NOT SQL"])
    assert "good" not in tables(s)
    assert "ns" not in versions(s)
    # a corrected list can then be applied from scratch
    s.migrate("ns", ["CREATE TABLE good (x)", "CREATE TABLE fixed (y)"])
    assert {"good", "fixed"} <= tables(s)
    s.close()


def test_data_survives_reopen(tmp_path):
    data = str(tmp_path / "d")
    s = Store(data)
    s.migrate("t", ["CREATE TABLE item (k TEXT PRIMARY KEY, v INTEGER)"])
    with s.transaction() as db:
        db.execute("INSERT INTO item VALUES ('persist', 1)")
    s.close()
    s = Store(data)
    s.migrate("t", ["CREATE TABLE item (k TEXT PRIMARY KEY, v INTEGER)"])
    assert keys(s) == ["persist"]
    s.close()


# -- reset ------------------------------------------------------------------------------------
def test_reset_deletes_rows_but_keeps_tables_and_schema_versions(disk):
    disk.migrate("fk", ["CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
                        "CREATE TABLE child (pid INTEGER REFERENCES parent(id))"])
    with disk.transaction() as db:
        db.execute("INSERT INTO item VALUES ('a', 1)")
        db.execute("INSERT INTO parent VALUES (1)")
        db.execute("INSERT INTO child VALUES (1)")
    blob = disk.blobs.write(b"data")
    before = versions(disk)
    disk.reset()
    assert keys(disk) == []
    with disk.lock:
        assert disk.conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
        assert disk.conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 0
    assert {"item", "parent", "child", "_schema"} <= tables(disk)
    assert versions(disk) == before
    with pytest.raises(FileNotFoundError):
        disk.blobs.read(blob)
    # the tables still take rows, and blobs can still be written
    with disk.transaction() as db:
        db.execute("INSERT INTO item VALUES ('b', 2)")
    assert disk.blobs.read(disk.blobs.write(b"x")) == b"x"


def test_reset_then_reopen_does_not_rerun_migrations(tmp_path):
    data = str(tmp_path / "d")
    steps = ["CREATE TABLE item (k TEXT PRIMARY KEY, v INTEGER)"]
    s = Store(data)
    s.migrate("t", steps)
    s.reset()
    s.close()
    s = Store(data)
    s.migrate("t", steps)      # would raise "table item already exists" if re-run
    assert "item" in tables(s)
    s.close()


# -- durability settings ----------------------------------------------------------------------
def test_on_disk_store_uses_wal(disk):
    with disk.lock:
        assert disk.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    other = sqlite3.connect(f"{disk.data_dir}/haneul.db")
    try:    # WAL is a property of the database file, seen by any connection
        assert other.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        other.close()


def test_foreign_keys_are_enforced(store):
    store.migrate("fk", ["CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
                         "CREATE TABLE child (pid INTEGER REFERENCES parent(id))"])
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as db:
            db.execute("INSERT INTO child VALUES (42)")


def test_ephemeral_store_writes_nothing_to_the_data_dir_and_cleans_up():
    s = Store(None)
    import os
    folder = s.data_dir
    assert s.ephemeral and os.path.isdir(folder)
    assert not os.path.exists(os.path.join(folder, "haneul.db"))
    s.close()
    assert not os.path.exists(folder)


# -- threads ----------------------------------------------------------------------------------
def test_concurrent_read_modify_write_transactions_lose_no_update(store):
    with store.transaction() as db:
        db.execute("INSERT INTO item VALUES ('counter', 0)")
    errors: list[BaseException] = []
    n_threads, n_each = 6, 100

    def worker(i):
        try:
            for j in range(n_each):
                with store.transaction() as db:
                    v = db.execute("SELECT v FROM item WHERE k='counter'").fetchone()[0]
                    db.execute("INSERT INTO item VALUES (?, ?)", (f"t{i}-{j}", v))
                    db.execute("UPDATE item SET v=? WHERE k='counter'", (v + 1,))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with store.lock:
        assert store.conn.execute("SELECT v FROM item WHERE k='counter'").fetchone()[0] == n_threads * n_each
        assert store.conn.execute("SELECT count(*) FROM item").fetchone()[0] == n_threads * n_each + 1


def test_another_threads_write_is_not_swept_into_a_rolled_back_transaction(store):
    """While thread A holds a transaction, thread B's transaction waits; when A rolls
    back, B's row must survive (it must not have run inside A's transaction)."""
    a_inside = threading.Event()
    b_started = threading.Event()
    b_done = threading.Event()
    errors = []

    def a():
        try:
            with store.transaction() as db:
                db.execute("INSERT INTO item VALUES ('a', 1)")
                a_inside.set()
                b_started.wait(5)
                # give B the chance to (wrongly) run now
                b_done.wait(0.2)
                raise Boom()
        except Boom:
            pass
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def b():
        a_inside.wait(5)
        b_started.set()
        try:
            with store.transaction() as db:
                db.execute("INSERT INTO item VALUES ('b', 2)")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        b_done.set()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    ta.join(10)
    tb.join(10)
    assert errors == []
    assert keys(store) == ["b"]


def test_threads_writing_to_an_on_disk_store(disk):
    def worker(i):
        for j in range(25):
            with disk.transaction() as db:
                db.execute("INSERT INTO item VALUES (?, ?)", (f"{i}-{j}", j))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(keys(disk)) == 100


def test_a_failed_commit_rolls_back_and_leaves_the_store_usable(store):
    store.migrate("deferred", [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"])
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as db:
            db.execute("INSERT INTO child VALUES (42)")     # checked only at COMMIT
    with store.transaction() as db:
        db.execute("INSERT INTO item VALUES ('after', 1)")
    with store.lock:
        assert store.conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
    assert keys(store) == ["after"]
