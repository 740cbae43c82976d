"""Opening the store: the engine, its connection settings, migrations, transactions.

SQLite (the default) runs in WAL mode, so readers never wait for the writer; writes take
the write lock up front (``BEGIN IMMEDIATE``), so two writing processes queue instead
of failing. PostgreSQL URLs get the psycopg driver. Opening a store brings its schema to
the newest migration, under a lock, so two processes opening a new store do not race.
"""

from __future__ import annotations

import fcntl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from reclaim.errors import ConfigurationError
from reclaim.store.models import StoreInfo

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK = 7_271_001  # PostgreSQL advisory lock key for migrations


def normalise_url(url: str) -> str:
    """Give PostgreSQL URLs the psycopg driver; refuse URLs SQLAlchemy cannot parse."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a non-numeric port only fails when read
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(f"database URL {url!r} is not valid: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"database URL {url!r}: only SQLite and PostgreSQL are supported")
    return parsed.render_as_string(hide_password=False)


class Store:
    """A connection to Reclaim's database; repositories take one."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = _create_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = self.engine.execution_options(sqlite_immediate=True)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Store:
        """Open a store, creating or upgrading its schema first."""
        store = cls(url)
        store.migrate()
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to run from many processes)."""
        try:
            with self._migration_lock(), self.engine.connect() as connection:
                # SQLite rebuilds a table to alter it (copy, drop, rename); with foreign keys
                # on, dropping the old table would cascade-delete the rows that refer to it.
                # The pragma only takes effect outside a transaction, so it is set first.
                self._set_sqlite_foreign_keys(connection, on=False)
                try:
                    with connection.begin():
                        self._upgrade(connection)
                finally:
                    self._set_sqlite_foreign_keys(connection, on=True)
        except DBAPIError as exc:
            raise ConfigurationError(
                f"cannot open the store at {self.safe_url}: {exc.orig}"
            ) from exc
        except CommandError as exc:
            raise ConfigurationError(
                f"the store at {self.safe_url} has a schema this Reclaim does not know "
                f"(written by a newer version?): {exc}"
            ) from exc
        except OSError as exc:
            raise ConfigurationError(
                f"cannot open the store at {self.safe_url}: {exc.strerror or exc}"
            ) from exc

    @staticmethod
    def _upgrade(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise ConfigurationError(
                    f"a migration left rows with dangling references: {broken[:5]}"
                )
        if connection.execute(select(StoreInfo.id)).first() is None:
            connection.execute(insert(StoreInfo).values(id=1, store_id=str(uuid.uuid4())))

    def _set_sqlite_foreign_keys(self, connection: Connection, *, on: bool) -> None:
        if self.is_sqlite:
            driver: Any = connection.connection.driver_connection
            driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.is_sqlite:
            database = make_url(self.url).database
            if not database or database == ":memory:":
                yield
                return
            lock_path = Path(database).with_name(Path(database).name + ".lock")
            with lock_path.open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK}
                )
                connection.commit()

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def store_id(self) -> str:
        with self.read() as session:
            value = session.scalar(select(StoreInfo.store_id))
        if value is None:
            raise ConfigurationError(f"the store at {self.safe_url} has no identity row")
        return str(value)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: committed whole when the block ends, rolled back on an error."""
        with self._write_sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
