"""Import speed of hash lists and how soon a change to a bank is matched.

1. Import: a JSON-lines hash list of N PDQ hashes (default 1,000,000, as ``reclaim hash``
   writes them) is imported into an empty bank with ``reclaim.banks.import_hash_list``
   — parsing, checking and storing in one transaction — into SQLite and, when it is
   reachable, PostgreSQL. Printed: seconds and hashes per second.
2. Change to match: a matcher (default 0.2 s lag) follows the store while another
   process adds a signal; the time from that process's commit to the first ``match``
   that finds it, and from a withdrawal's commit to the first ``match`` that no longer
   finds it, over several rounds (median and max).

Run with ``.venv/bin/python benchmarks/store.py [--count N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from common import machine_info, print_table
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from reclaim.banks import import_hash_list
from reclaim.matching import Matcher
from reclaim.store import BankRepository, Store

POSTGRES = "postgresql+psycopg://127.0.0.1/test"

_WRITER = """
import sys, time
from reclaim.store import BankRepository, NewSignal, SignalRepository, SignalStatus, Store
store = Store.open(sys.argv[1])
for line in sys.stdin:
    action, value = line.split()
    with store.write() as session:
        bank = BankRepository(session).bank_get("LIVE")
        signals = SignalRepository(session)
        if action == "add":
            signals.signal_add_many(bank.id, [NewSignal("pdq", value)])
        else:
            ident = signals.signal_ids(bank.id, [NewSignal("pdq", value)])[("pdq", value)]
            signals.signal_set_status(bank.id, [ident], SignalStatus.WITHDRAWN)
    print(time.time(), flush=True)
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="hashes to import")
    parser.add_argument("--rounds", type=int, default=20, help="change-to-match rounds")
    return parser.parse_args(argv)


def write_hash_list(path: Path, count: int) -> None:
    with path.open("w") as handle:
        for index in range(count):
            record = {"path": f"file{index}.jpg", "pdq": secrets.token_hex(32), "quality": 100}
            handle.write(json.dumps(record) + "\n")


def postgres_schema() -> str | None:
    """A fresh schema in the local PostgreSQL, or None when it is not reachable."""
    engine = create_engine(POSTGRES)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError:
        return None
    finally:
        engine.dispose()
    return schema


def drop_schema(schema: str) -> None:
    engine = create_engine(POSTGRES)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def time_import(url: str, hash_list: Path) -> tuple[float, int]:
    store = Store.open(url)
    with store.write() as session:
        BankRepository(session).bank_create("BULK", "partner")
    started = time.perf_counter()
    with hash_list.open() as stream:
        report = import_hash_list(store, "BULK", stream, str(hash_list), 50)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, report.added


def time_change_to_match(url: str, rounds: int) -> tuple[list[float], list[float]]:
    store = Store.open(url)
    with store.write() as session:
        BankRepository(session).bank_create("LIVE", "survivor")
    matcher = Matcher(store)
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert writer.stdin is not None and writer.stdout is not None
    to_match, to_unmatch = [], []
    for _ in range(rounds):
        value = secrets.token_hex(32)
        for action, wanted, sink in (("add", True, to_match), ("withdraw", False, to_unmatch)):
            writer.stdin.write(f"{action} {value}\n")
            writer.stdin.flush()
            committed = float(writer.stdout.readline())
            while bool(matcher.match([("pdq", value)]).matches) != wanted:
                time.sleep(0.001)
            sink.append(time.time() - committed)
    writer.stdin.close()
    writer.wait(30)
    writer.stdout.close()
    store.close()
    return to_match, to_unmatch


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print("Machine")
    for key, value in machine_info(("numpy", "sqlalchemy", "psycopg")).items():
        print(f"  {key + ':':12s} {value}")
    with tempfile.TemporaryDirectory() as folder:
        hash_list = Path(folder) / "hashes.jsonl"
        write_hash_list(hash_list, args.count)
        megabytes = hash_list.stat().st_size / 1e6
        print(f"\nImport of {args.count:,} PDQ hashes (JSON lines, {megabytes:.0f} MB)")
        backends = [("SQLite", f"sqlite:///{folder}/bench.db", None)]
        schema = postgres_schema()
        if schema is None:
            print("  PostgreSQL not reachable at 127.0.0.1:5432: skipped")
        else:
            backends.append(("PostgreSQL", f"{POSTGRES}?options=-csearch_path%3D{schema}", schema))
        import_rows, latency_rows = [], []
        for name, url, owned in backends:
            try:
                seconds, added = time_import(url, hash_list)
                import_rows.append(
                    [name, f"{seconds:.1f}", f"{added / seconds:,.0f}", f"{added:,}"]
                )
                to_match, to_unmatch = time_change_to_match(url, args.rounds)
                for label, values in (
                    ("add -> matched", to_match),
                    ("withdraw -> unmatched", to_unmatch),
                ):
                    latency_rows.append([
                        name, label, f"{statistics.median(values) * 1000:.0f}",
                        f"{max(values) * 1000:.0f}",
                    ])  # fmt: skip
            finally:
                if owned:
                    drop_schema(owned)
        print_table(["store", "seconds", "hashes/s", "stored"], import_rows)
        print(f"\nFrom a commit in another process to the matcher's answer ({args.rounds} rounds, "
              "default 0.2 s sync lag)")  # fmt: skip
        print_table(["store", "change", "median ms", "max ms"], latency_rows, right=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
