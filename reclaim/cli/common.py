"""What several commands share: the store, the matcher and hashing options."""

from __future__ import annotations

import typer

from reclaim.matching import Matcher
from reclaim.settings import Settings, snapshot_dir
from reclaim.store import Store


def settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def open_store(ctx: typer.Context) -> Store:
    """The store of ``--db``, closed when the command ends."""
    store = Store.open(settings_of(ctx).database_url)
    ctx.call_on_close(store.close)
    return store


def open_matcher(ctx: typer.Context, store: Store) -> Matcher:
    return Matcher(store, snapshot_dir(settings_of(ctx)))
