"""The campaign's example database, and the two views of it we hand to
Hypothesis.

One database holds what every worker, every campaign and `pytest` find: a
directory (Hypothesis's own default, `.hypothesis/examples`, so nothing needs
starting) or a Redis server (`redis://HOST:PORT/N`) for campaigns on several
machines. Under a machine's key it holds that machine's failures, each
shrunk; a stored failure is named by `entry_id`, the name the directory
database gives its file.

Rules the views keep:

1. A worker replays each stored entry at most once (`WorkerView`): what others
   find is replayed at the worker's next run, and a known failure never stops
   the worker from searching for new ones.
2. Only shrunk failures are kept: when Hypothesis demotes a failure to its
   secondary corpus while shrinking, the worker's view deletes it instead, so
   the database does not grow with every rediscovery.
3. Otherwise an entry is deleted only when Hypothesis replays it and it no
   longer fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

__all__ = [
    "DatabaseError",
    "OneEntry",
    "WorkerView",
    "check",
    "entry_id",
    "open_database",
]


class DatabaseError(RuntimeError):
    """The database cannot be opened or reached."""


def entry_id(value: bytes) -> str:
    """A stored entry's name: its file name in a directory database."""
    return hashlib.sha384(value).hexdigest()[:16]


def open_database(where: str) -> ExampleDatabase:
    """`redis://HOST:PORT/N` (needs the `redis` package) or a directory."""
    if where.startswith(("redis://", "rediss://", "unix://")):
        try:
            from hypothesis.extra.redis import RedisExampleDatabase
            from redis import Redis
        except ImportError as err:
            raise DatabaseError(
                f"--db {where} needs the redis package: pip install 'refloop[fuzz]'"
            ) from err
        return RedisExampleDatabase(Redis.from_url(where))
    return DirectoryBasedExampleDatabase(Path(where))


def check(db: ExampleDatabase, key: bytes, where: str) -> None:
    """Fail now, with a clear message, if the database cannot be read."""
    try:
        list(db.fetch(key))
    except Exception as err:
        raise DatabaseError(f"cannot read the database {where}: {err}") from err


class WorkerView(ExampleDatabase):
    """The shared database as one worker's runs see it (rules 1 and 2), and
    what the current run saved: the failures it found, each (once shrinking
    is over) the smallest of its kind."""

    def __init__(self, db: ExampleDatabase, key: bytes) -> None:
        super().__init__()
        self.db = db
        self.key = key
        self._secondary = key + b".secondary"
        self._seen: set[tuple[bytes, bytes]] = set()
        # Entries under `key` that the current run replayed.
        self.replayed: set[bytes] = set()
        # Entries this run saved under `key` and has not moved since,
        # oldest first: the last is the smallest failure found so far.
        self.saved: list[bytes] = []

    def begin_run(self) -> None:
        self.saved = []
        self.replayed = set()

    @property
    def failing(self) -> bool:
        """Has the current run found a failure?"""
        return bool(self.saved)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        fresh = [v for v in self.db.fetch(key) if (key, v) not in self._seen]
        self._seen.update((key, v) for v in fresh)
        if key == self.key:
            self.replayed.update(fresh)
        return fresh

    def save(self, key: bytes, value: bytes) -> None:
        self._seen.add((key, value))
        if key == self.key:
            if value in self.saved:
                self.saved.remove(value)
            self.saved.append(value)
        self.db.save(key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self._forget(key, value)
        self.db.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._forget(src, value)
        if src == self.key and dest == self._secondary:
            self.db.delete(src, value)
        else:
            self._seen.add((dest, value))
            self.db.move(src, dest, value)

    def _forget(self, key: bytes, value: bytes) -> None:
        if key == self.key and value in self.saved:
            self.saved.remove(value)


class OneEntry(ExampleDatabase):
    """The database reduced to one stored entry, for replaying it alone.
    Deleting it (Hypothesis does, if it no longer fails) reaches the real
    database; nothing else is written."""

    def __init__(self, db: ExampleDatabase, key: bytes, value: bytes) -> None:
        super().__init__()
        self.db = db
        self.key = key
        self.value = value

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return [self.value] if key == self.key else []

    def save(self, key: bytes, value: bytes) -> None:
        pass

    def delete(self, key: bytes, value: bytes) -> None:
        if key == self.key:
            self.db.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        pass
