"""The ``reclaim`` command's contract: output formats, exit codes, help and version."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim import __version__
from reclaim.cli import app
from reclaim.cli import hash as cli
from tests.hashing.reference import reference_hash_file
from tests.hashing.videos import encode_video, pan_frames

runner = CliRunner()
FIELDS = {"path", "kind", "pdq", "quality", "low_quality", "md5", "sha256", "width", "height"}


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_hash_prints_one_json_object_per_file(photos: list[Path]) -> None:
    result = runner.invoke(app, ["hash", str(photos[0]), str(photos[1])])
    assert result.exit_code == 0, result.output
    records = _lines(result.stdout)
    assert [r["path"] for r in records] == [str(photos[0]), str(photos[1])]
    for record, path in zip(records, photos, strict=False):
        assert FIELDS | {"error"} <= set(record)
        assert record["error"] is None and record["kind"] == "image"
        reference = reference_hash_file(path)
        assert isinstance(record["pdq"], str)
        assert reference.distance(type(reference)(record["pdq"], 100)) <= 10


def test_failures_are_reported_per_file_and_exit_1(tmp_path: Path, photos: list[Path]) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    empty = tmp_path / "empty.jpg"
    empty.touch()
    result = runner.invoke(app, ["hash", str(broken), str(photos[0]), str(empty)])
    assert result.exit_code == 1
    records = _lines(result.stdout)
    assert [r["error"]["code"] if r["error"] else None for r in records] == [  # type: ignore[index]
        "corrupt",
        None,
        "empty_file",
    ]
    assert str(broken) in records[0]["error"]["message"]  # type: ignore[index]
    assert "2 of 3 files could not be hashed" in result.stderr


def test_folders_are_hashed_recursively_in_parallel(tmp_path: Path, photos: list[Path]) -> None:
    for index, photo in enumerate(photos):
        folder = tmp_path / f"set{index % 3}"
        folder.mkdir(exist_ok=True)
        shutil.copy(photo, folder / photo.name)
    serial = runner.invoke(app, ["hash", "--jobs", "1", str(tmp_path)])
    parallel = runner.invoke(app, ["hash", "--jobs", "2", str(tmp_path)])
    assert serial.exit_code == parallel.exit_code == 0
    assert len(_lines(serial.stdout)) == len(photos)
    assert _lines(serial.stdout) == _lines(parallel.stdout)


def test_csv_format_has_a_header_and_the_same_values(photos: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "x.gif"
    bad.write_text("GIF89a nonsense")
    as_json = _lines(runner.invoke(app, ["hash", str(photos[0]), str(bad)]).stdout)
    result = runner.invoke(app, ["hash", "--format", "csv", str(photos[0]), str(bad)])
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["pdq"] == as_json[0]["pdq"] and rows[0]["md5"] == as_json[0]["md5"]
    assert rows[0]["error_code"] == ""
    assert rows[1]["error_code"] == as_json[1]["error"]["code"]  # type: ignore[index]
    assert rows[1]["error_message"].startswith(str(bad))


def test_table_format_is_for_people(photos: list[Path]) -> None:
    result = runner.invoke(app, ["hash", "--format", "table", str(photos[0])])
    assert result.exit_code == 0
    assert photos[0].name in result.stdout and "quality" in result.stdout


def test_dihedral_flag_adds_the_eight_hashes(photos: list[Path]) -> None:
    record = _lines(runner.invoke(app, ["hash", "--dihedral", str(photos[0])]).stdout)[0]
    variants = record["pdq_dihedral"]
    assert isinstance(variants, list) and len(variants) == 8 and variants[0] == record["pdq"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["hash"],
        ["hash", "--format", "xml", "x.jpg"],
        ["hash", "--jobs", "0", "x.jpg"],
        ["hash", "--keypoints", "--format", "csv", "x.jpg"],
        ["nope"],
    ],
)
def test_usage_errors_exit_2(arguments: list[str]) -> None:
    assert runner.invoke(app, arguments).exit_code == 2


def test_version_and_help() -> None:
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.strip() == f"reclaim {__version__}"
    help_text = runner.invoke(app, ["hash", "--help"]).stdout
    for option in ("--format", "--jobs", "--dihedral"):
        assert option in help_text


def test_the_installed_console_script_runs(photos: list[Path]) -> None:
    script = Path(sys.executable).parent / "reclaim"
    completed = subprocess.run(
        [str(script), "hash", str(photos[0])], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["path"] == str(photos[0])


def test_the_progress_bar_is_shown_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: False)
    assert isinstance(cli._progress(3), cli._NoProgress)
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True)
    assert isinstance(cli._progress(3), cli._BarProgress)


def test_the_progress_bar_advances_per_file_without_touching_stdout(
    photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[int] = []

    class Bar(cli._BarProgress):
        def __call__(self) -> None:
            shown.append(1)
            super().__call__()

    monkeypatch.setattr(cli, "_progress", Bar)
    result = runner.invoke(app, ["hash", "--jobs", "1", *map(str, photos[:3])])
    assert result.exit_code == 0
    assert len(shown) == 3
    assert len(_lines(result.stdout)) == 3


def test_a_video_is_hashed_and_the_video_limits_are_settings(
    tmp_path: Path, photos: list[Path]
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(encode_video(pan_frames(photos[0], 30), fps=10))
    result = runner.invoke(app, ["hash", "--seconds-per-hash", "0.5", str(clip)])
    assert result.exit_code == 0, result.output
    [record] = _lines(result.stdout)
    assert record["kind"] == "video" and record["pdq"] is None
    assert isinstance(record["vpdq"], list) and len(record["vpdq"]) == 6
    assert (record["duration"], record["frame_count"], record["codec"]) == (3.0, 30, "h264")
    refused = runner.invoke(app, ["hash", str(clip)], env={"RECLAIM_MAX_VIDEO_SECONDS": "2"})
    assert refused.exit_code == 1
    [error] = _lines(refused.stdout)
    assert error["error"]["code"] == "video_too_long"
    assert "longer than the limit of 2 s" in error["error"]["message"]
