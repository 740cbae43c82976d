"""``reclaim match``: one line per file, sorted matches, banks and thresholds."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw
from typer.testing import CliRunner

from reclaim.cli import app
from reclaim.hashing.keypoints import MIN_INLIERS
from tests.hashing.videos import encode_video, marked, pan_frames, spliced_copy

runner = CliRunner()


def _lines(url: str, *arguments: str) -> tuple[int, list[dict]]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["--db", url, *arguments])
    return result.exit_code, [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def test_a_re_encoded_copy_matches_by_pdq(
    sqlite_url: str, photos: list[Path], tmp_path: Path
) -> None:
    _lines(sqlite_url, "bank", "create", "S", "--kind", "survivor")
    _lines(sqlite_url, "bank", "add", "S", str(photos[2]))
    copy = tmp_path / "copy.jpg"
    with Image.open(photos[2]) as image:
        image.convert("RGB").resize((image.width // 2, image.height // 2)).save(copy, quality=60)
    code, [result, unrelated] = _lines(sqlite_url, "match", "--plain", str(copy), str(photos[5]))
    assert code == 0 and unrelated["matches"] == []
    assert [(m["bank"], m["type"]) for m in result["matches"]] == [("S", "pdq")]
    assert 0 < result["matches"][0]["distance"] <= 31
    code, results = _lines(
        sqlite_url, "match", "--plain", str(copy), str(photos[5]), "--threshold", "0"
    )
    assert results[0]["matches"] == [] and results[1]["matches"] == []
    _, [both] = _lines(sqlite_url, "match", str(copy))
    assert [m["type"] for m in both["matches"]] == ["keypoints", "pdq"]


def test_a_cropped_captioned_copy_matches_by_local_features_only(
    sqlite_url: str, photos: list[Path], tmp_path: Path
) -> None:
    _lines(sqlite_url, "bank", "create", "S", "--kind", "survivor")
    _lines(sqlite_url, "bank", "add", "S", str(photos[0]))
    copy = tmp_path / "copy.jpg"
    with Image.open(photos[0]) as image:
        edited = image.convert("RGB").crop((image.width // 4, 0, image.width, image.height))
        ImageDraw.Draw(edited).rectangle((0, 0, edited.width, edited.height // 6), fill="white")
        edited.rotate(7, expand=True).save(copy, quality=80)
    _, [result] = _lines(sqlite_url, "match", str(copy))
    [match] = result["matches"]
    assert match["type"] == "keypoints" and match["inliers"] >= MIN_INLIERS
    _, [plain] = _lines(sqlite_url, "match", "--plain", str(copy))
    assert plain["matches"] == []


def test_matches_are_sorted_and_filtered_by_bank(sqlite_url: str, photos: list[Path]) -> None:
    for bank in ("A", "B"):
        _lines(sqlite_url, "bank", "create", bank)
        _lines(sqlite_url, "bank", "add", bank, str(photos[0]))
    _, [everything] = _lines(sqlite_url, "match", str(photos[0]))
    assert len(everything["matches"]) == 8  # pdq, md5, sha256 and keypoints in each bank
    distances = [m["distance"] for m in everything["matches"]]
    assert distances == sorted(distances)
    _, [only_b] = _lines(sqlite_url, "match", str(photos[0]), "--bank", "B")
    assert {m["bank"] for m in only_b["matches"]} == {"B"}
    result = runner.invoke(app, ["--db", sqlite_url, "match", str(photos[0]), "--bank", "Z"])
    assert result.exit_code == 1 and "no bank named 'Z'" in result.stderr


def test_unreadable_files_give_exit_1_and_the_rest_are_checked(
    sqlite_url: str, photos: list[Path], tmp_path: Path
) -> None:
    _lines(sqlite_url, "bank", "create", "S")
    code, results = _lines(sqlite_url, "match", str(tmp_path / "gone.jpg"), str(photos[0]))
    assert code == 1
    assert results[0]["error"]["code"] == "unreadable" and results[1]["error"] is None


def test_a_negative_bank_suppresses_and_says_so(sqlite_url: str, photos: list[Path]) -> None:
    _lines(sqlite_url, "bank", "create", "S")
    _lines(sqlite_url, "bank", "create", "OK", "--kind", "negative")
    _lines(sqlite_url, "bank", "add", "S", str(photos[0]))
    _lines(sqlite_url, "bank", "add", "OK", str(photos[0]))
    _, [result] = _lines(sqlite_url, "match", str(photos[0]))
    assert result["matches"] == []
    assert {m["bank"] for m in result["suppressed_by"]} == {"OK"}


def test_match_keeps_a_snapshot_next_to_the_store(sqlite_url: str, photos: list[Path]) -> None:
    _lines(sqlite_url, "bank", "create", "S")
    _lines(sqlite_url, "bank", "add", "S", str(photos[0]))
    _lines(sqlite_url, "match", str(photos[0]))
    snapshot = Path(sqlite_url.removeprefix("sqlite:///") + ".index")
    assert json.loads((snapshot / "meta.json").read_text())["seq"] == 4


def test_a_re_encoded_video_matches_its_registered_original_by_vpdq(
    sqlite_url: str, photos: list[Path], tmp_path: Path
) -> None:
    frames = pan_frames(photos[0], 40)
    original, copy = tmp_path / "original.mp4", tmp_path / "copy.webm"
    original.write_bytes(encode_video(frames, fps=10))
    copy.write_bytes(encode_video(frames[:20], fps=10, codec="libvpx-vp9", container="webm"))
    _lines(sqlite_url, "bank", "create", "S", "--kind", "survivor")
    code, [added] = _lines(sqlite_url, "bank", "add", "S", str(original))
    assert code == 0
    assert sorted(s["type"] for s in added["signals"]) == ["md5", "sha256", "video_regions", "vpdq"]
    # Registered a frame every 0.25 s (every 2nd frame at 10 a second: 20 frames). The
    # copy is the first 2 s of it: by default sampled at its key frames (one, at 0 s: at
    # least 1 of the 20 registered frames matched), with --plain as vPDQ samples (0 and
    # 1 s: at least 2 of the 20); at most the half it covers. Its frames' region hashes
    # (the whole frame's among them) match it too.
    for plain, least in (([], 5.0), (["--plain"], 10.0)):
        code, [result, unrelated] = _lines(sqlite_url, "match", *plain, str(copy), str(photos[3]))
        assert code == 0 and unrelated["matches"] == []
        by_type = {match["type"]: match for match in result["matches"]}
        assert sorted(by_type) == ["video_regions", "vpdq"]
        for match in by_type.values():
            assert match["bank"] == "S" and match["query_percent"] == 100.0
            assert least <= match["target_percent"] <= 50.0


def test_a_spliced_copy_near_by_its_key_frames_is_matched_at_a_second_look(
    sqlite_url: str, photos: list[Path], tmp_path: Path
) -> None:
    frames = pan_frames(photos[0], 60)
    original, copy = tmp_path / "original.mp4", tmp_path / "copy.mp4"
    original.write_bytes(encode_video(frames))
    copy.write_bytes(spliced_copy(frames, pan_frames(photos[3], 5)))
    _lines(sqlite_url, "bank", "create", "S", "--kind", "survivor")
    _lines(sqlite_url, "bank", "add", "S", str(original))
    # By its key frames half the copy's time matches (short of 80%); looked at again a
    # frame every 0.25 s (as registrations are), nine frames in ten: reported so.
    code, [result] = _lines(sqlite_url, "match", str(copy))
    assert code == 0
    by_type = {match["type"]: match for match in result["matches"]}
    assert by_type["vpdq"]["query_percent"] == 90.0
    assert by_type["video_regions"]["query_percent"] >= by_type["vpdq"]["query_percent"]


def test_a_marked_copy_matches_the_region_hashes_reclaim_hash_gave(
    sqlite_url: str, photos: list[Path], tmp_path: Path
) -> None:
    frames = pan_frames(photos[1], 60, (480, 270))
    original, copy = tmp_path / "original.mp4", tmp_path / "copy.mp4"
    original.write_bytes(encode_video(frames))
    copy.write_bytes(encode_video(marked(frames)))
    _lines(sqlite_url, "bank", "create", "S", "--kind", "survivor")
    result = runner.invoke(
        app, ["hash", "--keypoints", "--seconds-per-hash", "0.25", str(original)]
    )
    assert result.exit_code == 0, result.output
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert isinstance(record["video_regions"], str)
    hash_list = tmp_path / "list.jsonl"
    hash_list.write_text(result.stdout)
    code, [imported] = _lines(sqlite_url, "bank", "import", "S", str(hash_list))
    assert code == 0 and imported["added"] == 4, imported  # md5, sha256, vpdq, video_regions
    code, [found] = _lines(sqlite_url, "match", str(copy))
    assert code == 0
    [match] = found["matches"]  # the logo moves too many frames' whole hashes for vPDQ
    assert match["type"] == "video_regions" and match["query_percent"] >= 80.0
    # --plain matches by whole frames: the registered regions' quadrants are not asked.
    code, [plain] = _lines(sqlite_url, "match", "--plain", str(copy))
    assert code == 0 and plain["matches"] == []


def test_a_copy_holding_a_registered_video_is_found_at_a_second_look_not_with_plain(
    sqlite_url: str, photos: list[Path], tmp_path: Path
) -> None:
    frames, other = pan_frames(photos[0], 60), pan_frames(photos[3], 20)
    original, copy = tmp_path / "original.mp4", tmp_path / "copy.mp4"
    original.write_bytes(encode_video(frames))
    copy.write_bytes(encode_video([*frames, *other]))  # a quarter of it another video's
    _lines(sqlite_url, "bank", "create", "S", "--kind", "survivor")
    _lines(sqlite_url, "bank", "add", "S", str(original))
    code, [found] = _lines(sqlite_url, "match", str(copy))
    assert code == 0 and {m["type"] for m in found["matches"]} == {"vpdq", "video_regions"}
    assert all(m["target_percent"] >= 80.0 > m["query_percent"] for m in found["matches"])
    code, [plain] = _lines(sqlite_url, "match", "--plain", str(copy))
    assert code == 0 and plain["matches"] == []  # vPDQ's rules: 6 of its 8 seconds
