"""The one SQLite file every part of Vigil shares, and the schema each part registers.

Each module that keeps rows (store: analyses; alerts: outbox; labels) declares its tables with
``register_schema(name, sql)`` at import time; ``Database`` creates them on first connect.
Connections are short-lived, one per operation, WAL mode, so several threads and sessions can
read while one writes.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.config import data_dir
from core.errors import StorageError

_SCHEMAS: dict[str, str] = {}
_COLUMNS: dict[str, tuple[str, str, str]] = {}  # name -> (table, column, declaration)
_BACKFILLS: dict[str, Callable[[sqlite3.Connection], None]] = {}  # name -> fills the rows older than the column
_lock = threading.Lock()


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def storage_error(err: BaseException, where: Path) -> StorageError | None:
    """The one-line StorageError for a failed write under ``where`` (disk full, read-only, missing folder),
    or None when ``err`` is not about storage (a bug must keep its traceback)."""
    msg = str(err).lower()
    code = getattr(err, "errno", None)
    if code in _FULL_ERRNOS or "disk is full" in msg or "no space left" in msg:
        return StorageError(f"The disk holding {where} is full: free some space and try again. Nothing was saved.")
    if code in _READONLY_ERRNOS or "readonly" in msg or "read-only" in msg:
        return StorageError(
            f"{where} is read-only: Vigil must be able to write there (or set VIGIL_DATA_DIR to a writable folder)."
        )
    if code in (errno.ENOENT, errno.ENOTDIR) or "unable to open database" in msg:
        return StorageError(f"Cannot open {where}: its folder is missing or cannot be created.")
    if (code == errno.EIO or "disk i/o error" in msg) and _free_bytes(where) < 1_000_000:
        return StorageError(f"The disk holding {where} is full: free some space and try again. Nothing was saved.")
    if code == errno.EIO or "disk i/o error" in msg:
        return StorageError(f"Cannot write to {where}: {getattr(err, 'strerror', None) or err}.")
    return None


def _free_bytes(where: Path) -> int:
    # SQLite reports a full disk as an I/O error when the WAL index cannot grow: look at the disk itself.
    for p in (where, *where.parents):
        if p.exists():
            return shutil.disk_usage(p).free
    return 0


def register_schema(name: str, sql: str) -> None:
    """Declare tables (``CREATE TABLE IF NOT EXISTS ...``) owned by module ``name``."""
    _SCHEMAS[name] = sql


def register_column(
    table: str, column: str, declaration: str, backfill: Callable[[sqlite3.Connection], None] | None = None
) -> None:
    """Declare a column added after ``table`` was first shipped, e.g. ``("analyses", "owner", "TEXT NOT NULL
    DEFAULT ''")``: new and existing databases get it on first connect (``ALTER TABLE ... ADD COLUMN``).
    ``backfill(con)``, when given, fills the rows that existed before, once, in the transaction that adds it."""
    _COLUMNS[f"{table}.{column}"] = (table, column, declaration)
    if backfill is not None:
        _BACKFILLS[f"{table}.{column}"] = backfill


def _add_column(con: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    backfill = _BACKFILLS.get(f"{table}.{column}")
    if column in _columns(con, table):
        return
    if backfill is None:
        try:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except sqlite3.OperationalError as err:  # another process added it between our check and ALTER
            if "duplicate column" not in str(err):
                raise
        return
    # one transaction: another process sees the column only with its old rows filled, and a kill between the two
    # leaves neither (so the next connect does both)
    con.execute("BEGIN IMMEDIATE")
    try:
        if column not in _columns(con, table):  # another process added (and filled) it before our lock
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            backfill(con)
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}


class Database:
    """A SQLite file at ``path`` (default ``$VIGIL_DATA_DIR/vigil.sqlite``)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else data_dir() / "vigil.sqlite"
        self._ready: set[str] = set()

    @property
    def root(self) -> Path:
        """Folder beside the SQLite file for images, videos and exports."""
        return self.path.parent

    def _ensure(self, con: sqlite3.Connection) -> None:
        missing = [n for n in _SCHEMAS if n not in self._ready]
        if missing:
            with _lock:
                for name in missing:
                    con.executescript(_SCHEMAS[name])
                    self._ready.add(name)
        self._ensure_columns(con)

    def _ensure_columns(self, con: sqlite3.Connection) -> None:
        # After the tables: a column whose table is not registered (yet) waits for a later connect.
        if all(key in self._ready for key in _COLUMNS):
            return
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for key, (table, column, declaration) in _COLUMNS.items():
            if key in self._ready or table not in tables:
                continue
            with _lock:
                _add_column(con, table, column, declaration)
                self._ready.add(key)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction: committed on success, rolled back on any exception.

        A store that cannot be written (read-only, full disk, missing folder) raises StorageError.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise (storage_error(err, self.path) or err) from err
        con.row_factory = sqlite3.Row
        try:
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA foreign_keys=ON")
                self._ensure(con)
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise (storage_error(err, self.path) or err) from err
            try:
                yield con
            except BaseException as err:
                _rollback(con)
                translated = storage_error(err, self.path) if isinstance(err, sqlite3.Error) else None
                if translated is not None:
                    raise translated from err
                raise
            try:
                con.execute("COMMIT")
            except sqlite3.Error as err:
                _rollback(con)
                raise (storage_error(err, self.path) or err) from err
        finally:
            con.close()


def _rollback(con: sqlite3.Connection) -> None:
    # After a failed write SQLite may already have rolled back, or be unable to: the file stays consistent.
    try:
        if con.in_transaction:
            con.execute("ROLLBACK")
    except sqlite3.Error:
        pass
