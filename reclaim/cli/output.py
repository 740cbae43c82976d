"""How commands print: JSON lines by default, CSV or a table for people; errors to stderr."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from functools import wraps
from typing import Any, ParamSpec, TextIO, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from reclaim.errors import ImportFileError, ReclaimError, UsageError

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2

P = ParamSpec("P")
R = TypeVar("R")


class OutputFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    TABLE = "table"


class RecordWriter:
    """Writes records (flat dicts) as they come, in the chosen format."""

    def __init__(
        self, output_format: OutputFormat, columns: Sequence[str], stream: TextIO | None = None
    ) -> None:
        self.format = output_format
        self.columns = list(columns)
        self.stream = stream or sys.stdout
        self.rows: list[dict[str, Any]] = []
        self.csv: csv.DictWriter[str] | None = None
        if output_format is OutputFormat.CSV:
            self.csv = csv.DictWriter(
                self.stream, fieldnames=self.columns, lineterminator="\n", extrasaction="ignore"
            )
            self.csv.writeheader()

    def send(self, record: dict[str, Any]) -> None:
        if self.format is OutputFormat.JSON:
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.csv is not None:
            self.csv.writerow({k: _cell(record.get(k)) for k in self.columns})
        else:
            self.rows.append(record)

    def close(self) -> None:
        if self.format is OutputFormat.TABLE:
            table = Table(*self.columns)
            for row in self.rows:
                table.add_row(*(_cell(row.get(c)) for c in self.columns))
            Console(file=self.stream, width=200).print(table)
        self.stream.flush()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@contextmanager
def writer(output_format: OutputFormat, columns: Sequence[str]) -> Iterator[RecordWriter]:
    out = RecordWriter(output_format, columns)
    try:
        yield out
    finally:
        out.close()


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Reclaim's errors into a message on stderr and the right exit status."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ImportFileError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(EXIT_SOME_FAILED) from None
        except UsageError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except ReclaimError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(EXIT_SOME_FAILED) from None

    return run
