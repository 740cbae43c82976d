"""The ``reclaim`` command.

Commands print one JSON object per line to stdout (``--format`` offers CSV and a table
for people); progress and messages go to stderr. Exit status: 0 success, 1 some items
failed (the rest were done), 2 usage error.
"""

from reclaim.cli import api_docs, audit, bank, case, hash, keys, match, serve  # noqa: F401  (registers the commands)
from reclaim.cli.app import app, main

__all__ = ["app", "main"]
