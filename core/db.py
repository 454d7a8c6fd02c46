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
_COLUMNS: dict[str, list[tuple[str, str, str]]] = {}  # schema name -> (table, column, declaration)
_lock = threading.Lock()


def register_schema(name: str, sql: str) -> None:
    """Declare tables (``CREATE TABLE IF NOT EXISTS ...``) owned by module ``name``."""
    _SCHEMAS[name] = sql


def register_column(name: str, table: str, column: str, declaration: str) -> None:
    """A column added after ``table`` first shipped: databases made before it get it by ``ALTER TABLE``
    (``declaration`` needs a DEFAULT for the existing rows, e.g. ``TEXT NOT NULL DEFAULT ''``)."""
    _COLUMNS.setdefault(name, []).append((table, column, declaration))


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
        if not missing:
            return
        with _lock:
            for name in missing:
                con.executescript(_SCHEMAS[name])
                for table, column, declaration in _COLUMNS.get(name, []):
                    have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
                    if column not in have:  # a database from before this column existed
                        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                self._ready.add(name)

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
