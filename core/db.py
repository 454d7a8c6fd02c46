"""The one SQLite file every part of Vigil shares, and the schema each part registers.

Each module that keeps rows (store: analyses; alerts: outbox; labels) declares its tables with
``register_schema(name, sql)`` at import time; ``Database`` creates them on first connect.
Connections are short-lived, one per operation, WAL mode, so several threads and sessions can
read while one writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.config import data_dir

_SCHEMAS: dict[str, str] = {}
_COLUMNS: dict[str, tuple[str, str, str]] = {}  # name -> (table, column, declaration)
_lock = threading.Lock()


def register_schema(name: str, sql: str) -> None:
    """Declare tables (``CREATE TABLE IF NOT EXISTS ...``) owned by module ``name``."""
    _SCHEMAS[name] = sql


def register_column(table: str, column: str, declaration: str) -> None:
    """Declare a column added after ``table`` was first shipped, e.g. ``("analyses", "owner", "TEXT NOT NULL
    DEFAULT ''")``: new and existing databases get it on first connect (``ALTER TABLE ... ADD COLUMN``)."""
    _COLUMNS[f"{table}.{column}"] = (table, column, declaration)


def _add_column(con: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
    if column in have:
        return
    try:
        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    except sqlite3.OperationalError as err:  # another process added it between our check and ALTER
        if "duplicate column" not in str(err):
            raise


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
        """A connection inside one transaction: committed on success, rolled back on any exception."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA foreign_keys=ON")
            self._ensure(con)
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()
