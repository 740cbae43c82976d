from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from reclaim.errors import FileUnreadable, MediaError
from reclaim.hashing.exact import exact_hashes
from reclaim.hashing.files import FingerprintOptions, fingerprint_file, iter_media_paths
from reclaim.hashing.keypoints import features_from_bytes
from reclaim.hashing.media import MediaLimits
from reclaim.hashing.video import sniff_video
from tests.hashing.videos import encode_video, pan_frames


def test_fingerprint_of_a_photo_has_every_signal(photos: list[Path]) -> None:
    path = photos[0]
    result = fingerprint_file(path, FingerprintOptions())
    assert result.ok and result.kind == "image"
    assert result.md5 == exact_hashes(path.read_bytes()).md5
    assert result.sha256 == exact_hashes(path.read_bytes()).sha256
    assert result.width and result.height
    assert result.quality == 100 and result.low_quality is False
    record = result.to_record()
    assert set(record) == {
        "path", "kind", "pdq", "quality", "low_quality", "md5", "sha256", "width", "height",
        "error",
    }  # fmt: skip


def test_dihedral_option_adds_eight_hashes_led_by_the_plain_one(photos: list[Path]) -> None:
    result = fingerprint_file(photos[0], FingerprintOptions(dihedral=True))
    assert result.dihedral is not None and len(result.dihedral) == 8
    assert result.dihedral[0] == result.pdq
    assert len(set(result.dihedral)) == 8
    assert result.to_record()["pdq_dihedral"] == list(result.dihedral)


def test_a_bad_file_gives_an_error_record_with_its_exact_hashes(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"this is not a picture")
    result = fingerprint_file(path, FingerprintOptions())
    assert not result.ok and result.error is not None
    assert result.error["code"] == "unsupported_format"
    assert str(path) in result.error["message"]
    assert result.pdq is None and result.md5 == exact_hashes(b"this is not a picture").md5


def test_a_missing_file_gives_an_error_record(tmp_path: Path) -> None:
    result = fingerprint_file(tmp_path / "gone.png", FingerprintOptions())
    assert result.error is not None and result.error["code"] == "unreadable"
    assert result.md5 is None


def test_limits_are_applied(photos: list[Path]) -> None:
    options = FingerprintOptions(limits=MediaLimits(max_image_pixels=1000))
    result = fingerprint_file(photos[0], options)
    assert result.error is not None and result.error["code"] == "image_too_large"


def test_low_quality_is_flagged_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "flat.png"
    Image.new("RGB", (200, 150), (90, 120, 200)).save(path)
    result = fingerprint_file(path, FingerprintOptions())
    assert result.ok and result.quality == 0 and result.low_quality is True
    assert result.pdq is not None and len(result.pdq) == 64


def test_folders_are_walked_recursively_taking_image_names(
    tmp_path: Path, photos: list[Path]
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(photos[0], tmp_path / "a" / "one.JPG")
    shutil.copy(photos[1], tmp_path / "a" / "b" / "two.jpeg")
    (tmp_path / "a" / "readme.txt").write_text("not an image")
    items = list(iter_media_paths([tmp_path]))
    assert items == [tmp_path / "a" / "one.JPG", tmp_path / "a" / "b" / "two.jpeg"]


def test_named_files_are_always_tried(tmp_path: Path) -> None:
    named = tmp_path / "readme.txt"
    named.write_text("x")
    assert list(iter_media_paths([named])) == [named]


def test_a_symlink_loop_is_reported_once_not_followed_forever(
    tmp_path: Path, photos: list[Path]
) -> None:
    (tmp_path / "album").mkdir()
    shutil.copy(photos[0], tmp_path / "album" / "p.jpg")
    os.symlink(tmp_path / "album", tmp_path / "album" / "loop")
    items = list(iter_media_paths([tmp_path]))
    paths = [i for i in items if isinstance(i, Path)]
    errors = [i for i in items if isinstance(i, MediaError)]
    assert paths == [tmp_path / "album" / "p.jpg"]
    assert len(errors) == 1 and isinstance(errors[0], FileUnreadable)
    assert "loop" in errors[0].message and "loop" in errors[0].source


def test_dangling_and_self_links_become_unreadable_errors(tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "dangling.jpg")
    os.symlink(tmp_path / "self.jpg", tmp_path / "self.jpg")
    results = [fingerprint_file(p, FingerprintOptions()) for p in iter_media_paths([tmp_path])]
    assert [r.error["code"] if r.error else None for r in results] == ["unreadable"] * 2


def test_an_unreadable_folder_is_reported_and_the_walk_goes_on(
    tmp_path: Path, photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, whom file modes do not stop, so the refusal is simulated.
    (tmp_path / "locked").mkdir()
    (tmp_path / "open").mkdir()
    shutil.copy(photos[0], tmp_path / "open" / "p.jpg")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(iter_media_paths([tmp_path]))
    errors = [i for i in items if isinstance(i, FileUnreadable)]
    assert [e.source for e in errors] == [str(tmp_path / "locked")]
    assert "Permission denied" in errors[0].message
    assert tmp_path / "open" / "p.jpg" in items


def test_query_signals_carry_the_dihedral_hashes_and_respect_quality(photos: list[Path]) -> None:
    result = fingerprint_file(photos[0], FingerprintOptions(dihedral=True))
    assert result.pdq is not None and result.dihedral is not None
    pairs = result.query_signals(min_quality=50)
    assert ("md5", result.md5) in pairs and ("sha256", result.sha256) in pairs
    pdqs = [value for kind, value in pairs if kind == "pdq"]
    assert pdqs[0] == result.pdq and set(pdqs) == set(result.dihedral)
    assert len(pdqs) == len(set(pdqs))
    assert [kind for kind, _ in result.query_signals(min_quality=101)] == ["md5", "sha256"]


def test_features_are_computed_only_when_asked_for(photos: list[Path]) -> None:
    plain = fingerprint_file(photos[0], FingerprintOptions())
    assert plain.keypoints is None and plain.views is None and "keypoints" not in plain.to_record()
    robust = fingerprint_file(photos[0], FingerprintOptions(keypoints=True, query_features=True))
    assert robust.keypoints is not None and robust.views is not None
    assert len(robust.views) == 2 and len(robust.views[0]) > len(
        features_from_bytes(robust.keypoints)
    )
    assert isinstance(robust.to_record()["keypoints"], str)


def test_a_video_gives_its_vpdq_frames_and_stream_facts(tmp_path: Path, photos: list[Path]) -> None:
    data = encode_video(pan_frames(photos[0], 30), fps=10)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    result = fingerprint_file(path, FingerprintOptions(dihedral=True, keypoints=True))
    assert result.ok and result.kind == "video"
    assert (result.duration, result.frame_count, result.codec) == (3.0, 30, "h264")
    assert (result.width, result.height) == (320, 240)
    assert result.md5 == exact_hashes(data).md5 and result.pdq is None
    assert result.vpdq is not None
    assert [frame.timestamp for frame in result.vpdq] == [0.0, 1.0, 2.0]
    record = result.to_record()
    assert record["vpdq"] == [frame.to_text() for frame in result.vpdq]
    assert record["frame_count"] == 30
    sparse = fingerprint_file(path, FingerprintOptions(seconds_per_hash=2.0))
    assert sparse.vpdq is not None and len(sparse.vpdq) == 2


def test_a_corrupt_video_gives_an_error_record_with_its_exact_hashes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x13" * 400
    path.write_bytes(data)
    result = fingerprint_file(path, FingerprintOptions())
    assert result.error is not None and result.error["code"] == "corrupt"
    assert "clip.mp4" in result.error["message"]
    assert result.md5 == exact_hashes(data).md5


@pytest.mark.parametrize(
    ("head", "container"),
    [
        (b"\x00\x00\x00\x18ftypisom", "MP4"),
        (b"\x00\x00\x00\x14ftypqt  ", "MP4"),
        (b"\x00\x00\x00\x18ftypheic", None),  # a HEIF photo
        (b"\x00\x00\x00\x18ftypavif", None),
        (b"\x1a\x45\xdf\xa3\x01\x00", "Matroska"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "AVI"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None),
        (b"FLV\x01\x05", "FLV"),
        (b"\x00\x00\x01\xba\x44", "MPEG-PS"),
        ((b"\x47" + b"\x00" * 187) * 4 + b"\x47", "MPEG-TS"),
        (b"GIF89a" + b"\x00" * 182 + (b"\x47" + b"\x00" * 187) * 3, None),  # a GIF
        (b"\xff\xd8\xff\xe0", None),
        (b"", None),
    ],
)
def test_videos_are_known_by_their_leading_bytes(head: bytes, container: str | None) -> None:
    assert sniff_video(head) == container


def test_folder_walks_take_video_names_too(tmp_path: Path) -> None:
    for name in ("a.mp4", "b.MOV", "c.webm", "d.txt", "e.mkv"):
        (tmp_path / name).write_bytes(b"x")
    names = [p.name for p in iter_media_paths([tmp_path]) if isinstance(p, Path)]
    assert names == ["a.mp4", "b.MOV", "c.webm", "e.mkv"]
