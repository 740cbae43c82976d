from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from reclaim.errors import ConfigurationError
from reclaim.store import BankRepository, NewSignal, SignalRepository, Store, payload_digest
from reclaim.store.database import normalise_url
from reclaim.store.models import Base


def test_postgres_urls_get_the_psycopg_driver() -> None:
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize("url", ["mysql://h/db", "not a url"])
def test_unsupported_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="database URL"):
        normalise_url(url)


def test_opening_creates_the_schema_and_a_stable_identity(store_url: str) -> None:
    first = Store.open(store_url)
    tables = set(inspect(first.engine).get_table_names())
    assert {"banks", "signals", "sequence_counters", "store_info", "alembic_version"} <= tables
    identity = first.store_id
    first.close()
    again = Store.open(store_url)  # migrating twice is harmless
    assert again.store_id == identity
    again.close()


def test_the_migrations_build_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_an_unreachable_store_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot open the store"):
        Store.open(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")


def _open(url: str) -> str:
    store = Store.open(url)
    identity = store.store_id
    store.close()
    return identity


def test_processes_opening_a_new_store_at_once_agree(store_url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        identities = pool.map(_open, [store_url] * 4)
    assert len(set(identities)) == 1


def test_a_url_with_a_bad_port_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not valid"):
        normalise_url("postgresql://127.0.0.1:abc/test")


def test_a_file_that_is_not_a_database_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "x.db").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(ConfigurationError, match="cannot open the store"):
        Store.open(f"sqlite:///{tmp_path / 'x.db'}")


def test_a_store_from_a_newer_version_is_refused(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    with store.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    with pytest.raises(ConfigurationError, match="newer version"):
        Store.open(sqlite_url)


def test_upgrading_a_store_that_holds_signals_keeps_them(store_url: str) -> None:
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    from reclaim.store.database import MIGRATIONS  # noqa: PLC0415

    old = Store(store_url)  # not opened: brought only to the first schema below
    with old.engine.connect() as connection:
        old._set_sqlite_foreign_keys(connection, on=True)
        with connection.begin():
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(
                text(
                    "INSERT INTO banks (id, name, description, kind, enabled, created_at, "
                    "updated_at) VALUES (1, 'B', '', 'verified', true, '2026-01-01', '2026-01-01')"
                )
            )
            for number in (1, 2):
                connection.execute(text(
                    "INSERT INTO signals (bank_id, type, value, status, seq, created_at, "
                    f"updated_at) VALUES (1, 'md5', '{number:032x}', 'active', {number}, "
                    "'2026-01-01', '2026-01-01')"
                ))  # fmt: skip
    old.close()
    upgraded = Store.open(store_url)
    with upgraded.read() as session:
        assert session.execute(text("SELECT count(*) FROM signals")).scalar() == 2
        assert session.execute(text("SELECT owner_id FROM banks")).scalar() is None
        assert session.execute(text("SELECT count(*) FROM signal_payloads")).scalar() == 0
    upgraded.close()


def test_the_payload_table_comes_and_goes_with_its_migration(store: Store) -> None:
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    from reclaim.store.database import MIGRATIONS  # noqa: PLC0415

    def to(revision: str) -> set[str]:
        with store.engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            if revision == "head":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
        return set(inspect(store.engine).get_table_names())

    assert "signal_payloads" not in to("0002")
    assert "signal_payloads" in to("head")


def test_upgrading_deletes_the_payloads_of_signals_withdrawn_before(store: Store) -> None:
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    from reclaim.store.database import MIGRATIONS  # noqa: PLC0415

    kept, gone = (NewSignal("keypoints", payload_digest(p), payload=p) for p in (b"a", b"b"))
    with store.write() as session:
        bank = BankRepository(session).bank_create("S", "survivor")
        signals = SignalRepository(session)
        signals.signal_add_many(bank.id, [kept, gone])
        ids = signals.signal_ids(bank.id, [kept, gone])
        # Withdrawn as an earlier version did: the status changed, the payload left alone.
        session.execute(
            text("UPDATE signals SET status = 'withdrawn' WHERE id = :id"),
            {"id": ids[("keypoints", gone.value)]},
        )
    for step in (command.downgrade, command.upgrade):
        with store.engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            step(config, "0004" if step is command.downgrade else "head")
    with store.read() as session:
        payloads = SignalRepository(session).signal_payloads(list(ids.values()))
    assert payloads == {ids[("keypoints", kept.value)]: b"a"}
