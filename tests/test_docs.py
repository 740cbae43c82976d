"""The docs must not drift from the command's --help."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from reclaim.cli import app
from reclaim.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands() -> dict[str, typer.core.TyperCommand | TyperGroup]:
    """Every command by its full name, those of each group (``bank create``) included."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    found: dict[str, typer.core.TyperCommand | TyperGroup] = {"": root}
    for name, command in root.commands.items():
        found[name] = command  # type: ignore[assignment]
        if isinstance(command, TyperGroup):
            for sub, inner in command.commands.items():
                found[f"{name} {sub}"] = inner  # type: ignore[assignment]
    return found


def test_every_command_and_option_is_in_the_quick_start() -> None:
    text = (DOCS / "quickstart.md").read_text()
    for name, command in _commands().items():
        if name:
            assert f"reclaim {name}" in text, name
        for param in command.params:
            for option in param.opts:
                if option.startswith("-"):
                    assert f"`{option}" in text or f"{option} " in text, (name, option)


def test_every_setting_is_in_the_quick_start() -> None:
    text = (DOCS / "quickstart.md").read_text()
    for name in Settings.model_fields:
        assert f"RECLAIM_{name.upper()}" in text, name
