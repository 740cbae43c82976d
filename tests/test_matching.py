"""The matcher follows the store: adds, withdrawals, bank switches, other processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from reclaim.banks import set_signal_status
from reclaim.errors import HashFormatError, UnknownBankError
from reclaim.hashing.keypoints import MIN_INLIERS, Features, query_views
from reclaim.hashing.regions import VideoRegions, regions_payload
from reclaim.hashing.video import (
    FrameHash,
    Sampling,
    VideoFingerprint,
    VideoQuery,
    fingerprint_video,
    frames_payload,
)
from reclaim.index import HammingIndex
from reclaim.index.features import CANDIDATES
from reclaim.matching import Matcher
from reclaim.store import (
    BankRepository,
    NewSignal,
    SignalRepository,
    SignalStatus,
    Store,
    payload_digest,
)
from tests.conftest import photo_features, photo_paths
from tests.hashing.videos import encode_video, pan_frames, spliced_copy, zoomed

rng = np.random.default_rng(5)


def _pdq() -> str:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def _near(value: str, bits: int) -> str:
    number = int(value, 16)
    for bit in rng.choice(256, bits, replace=False):
        number ^= 1 << int(bit)
    return f"{number:064x}"


def _fill(store: Store, bank: str, kind: str, signals: list[NewSignal]) -> dict[str, int]:
    with store.write() as session:
        repository = BankRepository(session)
        try:
            bank_id = repository.bank_get(bank).id
        except UnknownBankError:
            bank_id = repository.bank_create(bank, kind).id
        signal_repository = SignalRepository(session)
        signal_repository.signal_add_many(bank_id, signals)
        ids = signal_repository.signal_ids(bank_id, signals)
    return {value: ident for (_, value), ident in ids.items()}


def test_pdq_matches_within_the_threshold_and_exact_hashes_exactly(store: Store) -> None:
    stored = _pdq()
    ids = _fill(store, "S", "survivor", [NewSignal("pdq", stored), NewSignal("md5", "a" * 32)])
    matcher = Matcher(store)
    found = matcher.match([("pdq", _near(stored, 20)), ("md5", "A" * 32)]).matches
    assert [(m.bank, m.signal_id, m.type, m.distance) for m in found] == [
        ("S", ids["a" * 32], "md5", 0),
        ("S", ids[stored], "pdq", 20),
    ]
    assert matcher.match([("pdq", _near(stored, 32))]).matches == []
    assert len(matcher.match([("pdq", _near(stored, 32))], threshold=40).matches) == 1


def test_the_index_grows_outside_the_lock_searches_take(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store, "S", "survivor", [NewSignal("pdq", _pdq())])
    matcher = Matcher(store)
    room = matcher._pdq.headroom
    free_while_growing: list[bool] = []
    real = HammingIndex.resized

    def lock_is_free() -> bool:
        if matcher._lock.acquire(timeout=1):
            matcher._lock.release()
            return True
        return False

    def watched(index: HammingIndex, needed: int) -> HammingIndex:
        searcher = threading.Thread(target=lambda: free_while_growing.append(lock_is_free()))
        searcher.start()
        searcher.join()
        return real(index, needed)

    monkeypatch.setattr(HammingIndex, "resized", watched)
    added = [_pdq() for _ in range(room + 5)]
    ids = _fill(store, "S", "survivor", [NewSignal("pdq", value) for value in added])
    matcher.sync()
    assert free_while_growing == [True]  # grown once, while another thread could search
    assert matcher.match([("pdq", added[-1])]).matches[0].signal_id == ids[added[-1]]
    assert matcher.size == room + 6


def test_withdrawn_signals_stop_matching_and_disabled_banks_are_silent(store: Store) -> None:
    stored = _pdq()
    ids = _fill(store, "S", "survivor", [NewSignal("pdq", stored)])
    matcher = Matcher(store, max_lag=0)
    assert matcher.match([("pdq", stored)]).matches
    with store.write() as session:
        BankRepository(session).bank_set_enabled("S", False)
    assert matcher.match([("pdq", stored)]).matches == []
    with store.write() as session:
        BankRepository(session).bank_set_enabled("S", True)
    assert matcher.match([("pdq", stored)]).matches
    set_signal_status(store, "S", [ids[stored]], SignalStatus.WITHDRAWN)
    assert matcher.match([("pdq", stored)]).matches == []
    set_signal_status(store, "S", [ids[stored]], SignalStatus.ACTIVE)
    assert matcher.match([("pdq", stored)]).matches  # re-enabled signals match again


@pytest.mark.parametrize("status", [SignalStatus.QUARANTINED, SignalStatus.DISPUTED])
def test_quarantined_and_disputed_signals_never_match(store: Store, status: SignalStatus) -> None:
    stored = "b" * 32
    ids = _fill(store, "S", "survivor", [NewSignal("md5", stored)])
    set_signal_status(store, "S", [ids[stored]], status)
    assert Matcher(store).match([("md5", stored)]).matches == []


def test_a_negative_bank_match_suppresses_the_others(store: Store) -> None:
    benign = _pdq()
    _fill(store, "S", "survivor", [NewSignal("pdq", benign)])
    _fill(store, "BENIGN", "negative", [NewSignal("pdq", _near(benign, 3))])
    result = Matcher(store).match([("pdq", benign)])
    assert result.matches == []
    assert [m.bank for m in result.suppressed_by] == ["BENIGN"]


def test_bank_filter_and_unknown_banks(store: Store) -> None:
    value = _pdq()
    _fill(store, "ONE", "partner", [NewSignal("pdq", value)])
    _fill(store, "TWO", "partner", [NewSignal("pdq", value)])
    matcher = Matcher(store)
    assert {m.bank for m in matcher.match([("pdq", value)]).matches} == {"ONE", "TWO"}
    assert {m.bank for m in matcher.match([("pdq", value)], ["TWO"]).matches} == {"TWO"}
    with pytest.raises(UnknownBankError, match="THREE"):
        matcher.match([("pdq", value)], ["THREE"])


_WRITER = """
import sys, time
from reclaim.store import BankRepository, NewSignal, SignalRepository, Store
store = Store.open(sys.argv[1])
with store.write() as session:
    bank = BankRepository(session).bank_get("S")
    SignalRepository(session).signal_add_many(bank.id, [NewSignal("pdq", sys.argv[2])])
print(time.time(), flush=True)
"""


def test_a_change_from_another_process_is_matched_within_a_second(store_url: str) -> None:
    store = Store.open(store_url)
    _fill(store, "S", "survivor", [])
    matcher = Matcher(store)  # default lag: syncs when older than 0.2 s
    value = _pdq()
    assert matcher.match([("pdq", value)]).matches == []
    written = subprocess.run(
        [sys.executable, "-c", _WRITER, store_url, value],
        capture_output=True,
        text=True,
        check=True,
    )
    committed = float(written.stdout.strip())
    while not matcher.match([("pdq", value)]).matches:
        assert time.time() - committed < 1.0, "not matched within 1 s of the commit"
        time.sleep(0.01)
    assert time.time() - committed < 1.0
    store.close()


def test_a_snapshot_restarts_from_its_sequence_number(store: Store, tmp_path: Path) -> None:
    first = [NewSignal("pdq", _pdq()) for _ in range(50)] + [NewSignal("sha256", "c" * 64)]
    _fill(store, "S", "survivor", first)
    original = Matcher(store, tmp_path / "snap")
    original.save_snapshot()
    later = NewSignal("pdq", _pdq())
    _fill(store, "S", "survivor", [later])
    restarted = Matcher(store, tmp_path / "snap")
    assert restarted.started_from == original.seq > 0
    assert restarted.seq > original.seq
    for signal in (first[0], first[-1], later):
        assert restarted.match([(signal.type, signal.value)]).matches


def test_a_snapshot_of_another_store_is_ignored(
    store: Store, sqlite_url: str, tmp_path: Path
) -> None:
    _fill(store, "S", "survivor", [NewSignal("md5", "d" * 32)])
    Matcher(store, tmp_path / "snap").save_snapshot()
    other = Store.open(sqlite_url.replace("reclaim.db", "other.db"))
    matcher = Matcher(other, tmp_path / "snap")
    assert matcher.started_from == 0
    assert matcher.match([("md5", "d" * 32)]).matches == []
    other.close()


def test_a_damaged_snapshot_means_a_rebuild(store: Store, tmp_path: Path) -> None:
    _fill(store, "S", "survivor", [NewSignal("md5", "e" * 32)])
    Matcher(store, tmp_path / "snap").save_snapshot()
    (tmp_path / "snap" / "pdq.idx").write_bytes(b"garbage")
    matcher = Matcher(store, tmp_path / "snap")
    assert matcher.started_from == 0
    assert matcher.match([("md5", "e" * 32)]).matches


def test_a_snapshot_newer_than_the_store_is_ignored(sqlite_url: str, tmp_path: Path) -> None:
    # A database restored from an older backup: same identity, lower sequence numbers.
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    store = Store.open(sqlite_url)
    _fill(store, "S", "survivor", [NewSignal("md5", "1" * 32)])
    store.close()
    backup = database.read_bytes()
    store = Store.open(sqlite_url)
    _fill(store, "S", "survivor", [NewSignal("md5", "2" * 32)])
    Matcher(store, tmp_path / "snap").save_snapshot()
    store.close()
    database.write_bytes(backup)
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    restored = Store.open(sqlite_url)
    _fill(restored, "S", "survivor", [NewSignal("md5", "3" * 32)])
    matcher = Matcher(restored, tmp_path / "snap")
    assert matcher.started_from == 0
    assert matcher.match([("md5", "3" * 32)]).matches
    assert matcher.match([("md5", "2" * 32)]).matches == []
    restored.close()


@pytest.mark.parametrize("damage", ["exact.npz", "meta.json"])
def test_any_damaged_snapshot_file_means_a_rebuild(
    store: Store, tmp_path: Path, damage: str
) -> None:
    _fill(store, "S", "survivor", [NewSignal("md5", "4" * 32)])
    Matcher(store, tmp_path / "snap").save_snapshot()
    target = tmp_path / "snap" / damage
    target.write_bytes(target.read_bytes()[:20] if damage.endswith("npz") else b"[1, 2]")
    matcher = Matcher(store, tmp_path / "snap")
    assert matcher.started_from == 0 and matcher.match([("md5", "4" * 32)]).matches


def test_a_snapshot_folder_that_cannot_be_written_is_not_fatal(
    store: Store, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert Matcher(store, blocker).save_snapshot() is False


def test_a_malformed_value_written_behind_the_store_is_skipped(store: Store) -> None:
    good = _pdq()
    _fill(store, "S", "survivor", [NewSignal("pdq", good), NewSignal("pdq", _pdq())])
    with store.write() as session:
        session.execute(text("UPDATE signals SET value = 'zz' WHERE value != :v"), {"v": good})
    matcher = Matcher(store)
    assert [m.type for m in matcher.match([("pdq", good)]).matches] == ["pdq"]


_SAVER = """
import sys
from pathlib import Path
from reclaim.matching import Matcher
from reclaim.store import Store
store = Store.open(sys.argv[1])
matcher = Matcher(store, Path(sys.argv[2]))
for _ in range(15):
    assert matcher.save_snapshot()
store.close()
"""


def test_processes_saving_snapshots_at_once_leave_a_consistent_one(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = Store.open(sqlite_url)
    values = [_pdq() for _ in range(300)]
    _fill(store, "S", "survivor", [NewSignal("pdq", v) for v in values])
    savers = [
        subprocess.Popen([sys.executable, "-c", _SAVER, sqlite_url, str(tmp_path / "snap")])
        for _ in range(3)
    ]
    assert [p.wait(120) for p in savers] == [0, 0, 0]
    matcher = Matcher(store, tmp_path / "snap")
    assert matcher.started_from > 0
    assert all(matcher.match([("pdq", v)], threshold=0).matches for v in values)
    store.close()


# --- local features ----------------------------------------------------------------------


def _keypoints_signal(payload: bytes) -> NewSignal:
    return NewSignal("keypoints", payload_digest(payload), payload=payload)


def _edited_views(index: int) -> tuple[Features, Features]:
    """Query views of a sample photo cropped off-centre and turned by 10 degrees."""
    image = Image.open(photo_paths()[index]).convert("L")
    edited = image.crop((image.width // 6, 0, image.width, image.height * 4 // 5)).rotate(
        10, resample=Image.Resampling.BILINEAR, expand=True
    )
    return query_views(np.asarray(edited, dtype=np.uint8))


def test_local_features_find_an_edited_copy_and_stop_when_withdrawn(store: Store) -> None:
    signal = _keypoints_signal(photo_features(0))
    ids = _fill(store, "S", "survivor", [signal, _keypoints_signal(photo_features(2))])
    matcher = Matcher(store)
    found = matcher.match([], views=_edited_views(0)).matches
    assert [(m.bank, m.signal_id, m.type) for m in found] == [("S", ids[signal.value], "keypoints")]
    assert found[0].inliers is not None and found[0].inliers >= MIN_INLIERS
    assert found[0].to_dict()["inliers"] == found[0].inliers
    assert matcher.match([], views=_edited_views(4)).matches == []  # a photo not registered
    set_signal_status(store, "S", [ids[signal.value]], SignalStatus.WITHDRAWN)
    matcher.sync()
    assert matcher.match([], views=_edited_views(0)).matches == []


def test_a_keypoints_digest_alone_is_not_a_query(store: Store) -> None:
    with pytest.raises(HashFormatError, match="from the image"):
        Matcher(store).match([("keypoints", "0" * 64)])


def test_a_snapshot_keeps_local_features(store: Store, tmp_path: Path) -> None:
    signal = _keypoints_signal(photo_features(0))
    _fill(store, "S", "survivor", [signal])
    Matcher(store, tmp_path / "snap").save_snapshot()
    restarted = Matcher(store, tmp_path / "snap")
    assert restarted.started_from > 0
    assert [m.type for m in restarted.match([], views=_edited_views(0)).matches] == ["keypoints"]
    (tmp_path / "snap" / "keypoints.npz").write_bytes(b"garbage")
    rebuilt = Matcher(store, tmp_path / "snap")
    assert rebuilt.started_from == 0
    assert [m.type for m in rebuilt.match([], views=_edited_views(0)).matches] == ["keypoints"]


def test_malformed_features_written_behind_the_store_are_skipped(store: Store) -> None:
    good, bad = _keypoints_signal(photo_features(0)), _keypoints_signal(photo_features(2))
    ids = _fill(store, "S", "survivor", [good, bad])
    with store.write() as session:
        session.execute(
            text("UPDATE signal_payloads SET data = :junk WHERE signal_id = :id"),
            {"junk": b"RKF\x01junk", "id": ids[bad.value]},
        )
    matcher = Matcher(store)
    assert matcher.size == 1
    assert [m.signal_id for m in matcher.match([], views=_edited_views(0)).matches] == [
        ids[good.value]
    ]


def test_other_banks_images_do_not_take_the_candidates_places(store: Store) -> None:
    """Copies of one photo in eleven banks the viewer cannot see, or did not ask for,
    would fill every candidate place; the viewer's own bank is still found."""
    payload = photo_features(0)
    for number in range(11):
        _fill(store, f"OTHER{number}", "partner", [_keypoints_signal(payload)])
    mine = _fill(store, "MINE", "survivor", [_keypoints_signal(payload)])
    matcher = Matcher(store)
    found = matcher.match([], banks=["MINE"], views=_edited_views(0)).matches
    assert [(m.bank, m.signal_id) for m in found] == [("MINE", mine[payload_digest(payload)])]
    # Unfiltered, at most CANDIDATES images are verified per view: a photo held in more
    # banks than that is reported in that many (the others by PDQ where it survives).
    assert len(matcher.match([], views=_edited_views(0)).matches) == CANDIDATES


# --- videos ---------------------------------------------------------------------------


def _video(
    photo: int, count: int = 60, codec: str = "libx264", container: str = "mp4"
) -> list[FrameHash]:
    """The vPDQ frames of a pan across a sample photo (10 frames a second)."""
    frames = pan_frames(photo_paths()[photo], count)
    data = encode_video(frames, codec=codec, container=container)
    return list(fingerprint_video(data, f"pan of photo {photo}").frames)


def _query(frames: list[FrameHash]) -> VideoQuery:
    return VideoQuery(tuple(frames))


def _vpdq_signal(frames: list[FrameHash]) -> NewSignal:
    payload = frames_payload(frames)
    return NewSignal("vpdq", payload_digest(payload), payload=payload)


def test_a_video_matches_its_reencoding_and_clips_by_vpdqs_rules(store: Store) -> None:
    registered = _video(0)
    signal = _vpdq_signal(registered)
    ids = _fill(store, "S", "survivor", [signal, _vpdq_signal(_video(2))])
    matcher = Matcher(store)
    reencoded = _video(0, codec="libvpx-vp9", container="webm")
    found = matcher.match([], video=_query(reencoded)).matches
    assert [(m.bank, m.signal_id, m.type) for m in found] == [("S", ids[signal.value], "vpdq")]
    assert found[0].query_percent == 100.0 and found[0].target_percent == 100.0
    assert found[0].to_dict()["query_percent"] == 100.0
    # The first two seconds alone: every query frame matches, a third of the video's.
    clip = matcher.match([], video=_query(registered[:2])).matches
    assert [m.signal_id for m in clip] == [ids[signal.value]]
    assert clip[0].query_percent == 100.0 and clip[0].target_percent == pytest.approx(100 / 3)
    assert matcher.match([], video=_query(_video(4))).matches == []  # a video not registered
    set_signal_status(store, "S", [ids[signal.value]], SignalStatus.WITHDRAWN)
    matcher.sync()
    assert matcher.match([], video=_query(reencoded)).matches == []


def test_queries_are_sampled_at_key_frames_only_against_dense_registrations(
    store: Store,
) -> None:
    frames = _video(0, count=30)  # one frame a second, as vPDQ samples
    dense = [FrameHash(f.pdq, f.timestamp / 2) for f in frames]  # two a second
    ids = _fill(store, "S", "survivor", [_vpdq_signal(dense)])
    matcher = Matcher(store)
    assert matcher.video_sampling is Sampling.KEYS
    sparse = _vpdq_signal(frames[:-1])
    ids |= _fill(store, "S", "survivor", [sparse])
    matcher.sync()
    assert matcher.video_sampling is Sampling.EVERY
    set_signal_status(store, "S", [ids[sparse.value]], SignalStatus.WITHDRAWN)
    matcher.sync()
    assert matcher.video_sampling is Sampling.KEYS


def _registered(
    store: Store, frames: list[np.ndarray], seconds_per_hash: float = 0.25
) -> tuple[dict[str, int], Matcher, VideoFingerprint]:
    """A pan registered as one vpdq list (a frame every ``seconds_per_hash``: 0.25 s as
    reclaim bank add samples), the signal ids, and a matcher over the store."""
    registered = fingerprint_video(
        encode_video(frames), "original", seconds_per_hash=seconds_per_hash
    )
    ids = _fill(store, "S", "survivor", [_vpdq_signal(list(registered.frames))])
    return ids, Matcher(store), registered


class _SecondLooks:
    """A video's second look as reclaim match gives it (a frame every 0.25 s, or one a
    second as vPDQ samples), keeping which of the two each call asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.asked: list[bool] = []

    def __call__(self, dense: bool) -> VideoQuery:
        self.asked.append(dense)
        every = 0.25 if dense else 1.0
        return fingerprint_video(self.data, "copy", seconds_per_hash=every).query


def test_a_key_frame_query_near_a_video_is_looked_at_again_as_densely_as_registrations(
    store: Store,
) -> None:
    photo = photo_paths()
    frames, insert = pan_frames(photo[0], 60), pan_frames(photo[3], 5)
    ids, matcher, _ = _registered(store, frames)
    copy = spliced_copy(frames, insert)
    keys = fingerprint_video(copy, "copy", sampling=Sampling.KEYS).query
    assert keys.spans == (3.0, 3.0)  # the key frames: the copy's start, and the insert
    again = _SecondLooks(copy)
    looks = again.asked

    assert matcher.match([], video=keys).matches == []  # half its time: short of 80%
    [match] = matcher.match([], video=keys, video_again=again).matches
    assert looks == [True] and match.signal_id == ids[next(iter(ids))]  # as registrations
    assert match.query_percent == pytest.approx(90.0)  # 27 of its 30 frames
    # Far from every video, or matched at the first look: no second look.
    unrelated = fingerprint_video(encode_video(insert), "other", sampling=Sampling.KEYS).query
    whole = fingerprint_video(encode_video(frames, options={"g": "20"}), "whole",
                              sampling=Sampling.KEYS).query  # fmt: skip
    assert matcher.match([], video=whole).matches  # found by its key frames alone
    for query in (unrelated, whole):
        looks.clear()
        matcher.match([], video=query, video_again=again)
        assert looks == []
    # The copy itself registered too: the first look matches it and comes near the
    # original; the second look adds the original, and one that fails keeps the first.
    copy_id = _fill(store, "S", "survivor", [_vpdq_signal(list(keys.frames))])
    matcher.sync()
    both = matcher.match([], video=keys, video_again=again).matches
    assert sorted(m.signal_id for m in both) == sorted([*ids.values(), *copy_id.values()])

    def broken(dense: bool) -> VideoQuery | None:
        raise RuntimeError("decoder gave out")

    for failing in (broken, lambda dense: None):
        kept = matcher.match([], video=keys, video_again=failing).matches
        assert [m.signal_id for m in kept] == list(copy_id.values())
    # A one-a-second list registered after the query was sampled at its key frames.
    looks.clear()
    _fill(store, "S", "survivor", [_vpdq_signal(_video(2))])
    matcher.sync()
    matcher.match([], video=whole, video_again=again)
    assert looks == [False]  # as vPDQ samples, as that list was


def test_a_vpdq_digest_alone_is_not_a_query(store: Store) -> None:
    with pytest.raises(HashFormatError, match="from the video's frames"):
        Matcher(store).match([("vpdq", "0" * 64)])


def test_a_snapshot_keeps_videos_and_malformed_frames_are_skipped(
    store: Store, tmp_path: Path
) -> None:
    good, bad = _vpdq_signal(_video(0)), _vpdq_signal(_video(2))
    ids = _fill(store, "S", "survivor", [good, bad])
    with store.write() as session:
        session.execute(
            text("UPDATE signal_payloads SET data = :junk WHERE signal_id = :id"),
            {"junk": b'["not a frame"]', "id": ids[bad.value]},
        )
    Matcher(store, tmp_path / "snap").save_snapshot()
    restarted = Matcher(store, tmp_path / "snap")
    assert restarted.started_from > 0 and restarted.size == 1
    found = restarted.match([], video=_query(_video(0))).matches
    assert [(m.signal_id, m.type) for m in found] == [(ids[good.value], "vpdq")]
    (tmp_path / "snap" / "videos.npz").write_bytes(b"garbage")
    rebuilt = Matcher(store, tmp_path / "snap")
    assert rebuilt.started_from == 0
    assert [m.type for m in rebuilt.match([], video=_query(_video(0))).matches] == ["vpdq"]


def test_a_negative_bank_video_suppresses_and_other_banks_videos_are_filtered(
    store: Store,
) -> None:
    frames = _video(0, count=30)
    _fill(store, "S", "survivor", [_vpdq_signal(frames)])
    matcher = Matcher(store)
    assert [m.bank for m in matcher.match([], banks=["S"], video=_query(frames)).matches] == ["S"]
    _fill(store, "OTHER", "survivor", [NewSignal("md5", "5" * 32)])
    matcher.sync()
    assert matcher.match([], banks=["OTHER"], video=_query(frames)).matches == []
    _fill(store, "BENIGN", "negative", [_vpdq_signal(frames)])
    matcher.sync()
    result = matcher.match([], video=_query(frames))
    assert result.matches == [] and [m.bank for m in result.suppressed_by] == ["BENIGN"]


def test_a_letterboxed_copy_matches_by_the_picture_inside_its_bars(store: Store) -> None:
    frames = pan_frames(photo_paths()[0], 40)
    boxed = []
    for frame in frames:
        canvas = np.zeros((frame.shape[0] + 60, frame.shape[1], 3), np.uint8)
        canvas[30:-30] = frame
        boxed.append(canvas)
    original = fingerprint_video(encode_video(frames), "original.mp4")
    copy = fingerprint_video(encode_video(boxed), "boxed.mp4")
    _fill(store, "S", "survivor", [_vpdq_signal(list(original.frames))])
    matcher = Matcher(store)
    assert matcher.match([], video=VideoQuery(copy.frames)).matches == []  # plain vPDQ misses it
    found = matcher.match([], video=copy.query).matches
    assert [m.type for m in found] == ["vpdq"] and found[0].query_percent == 100.0


def _regions_signal(regions: VideoRegions) -> NewSignal:
    payload = regions_payload(regions)
    return NewSignal("video_regions", payload_digest(payload), payload=payload)


def test_a_cropped_copy_matches_by_region_hashes_until_they_are_withdrawn(
    store: Store, tmp_path: Path
) -> None:
    frames = pan_frames(photo_paths()[0], 60, (480, 270))
    registered = fingerprint_video(
        encode_video(frames), "original", seconds_per_hash=0.25, register=True
    )
    regions = _regions_signal(registered.regions)
    ids = _fill(store, "S", "survivor", [_vpdq_signal(list(registered.frames)), regions])
    matcher = Matcher(store, tmp_path / "snap")
    for sampling in Sampling:
        copy = fingerprint_video(encode_video(zoomed(frames)), "copy", sampling=sampling).query
        found = matcher.match([], video=copy).matches
        # vPDQ's frames miss the copy; the registered centres find every frame of it.
        assert [(m.signal_id, m.type) for m in found] == [(ids[regions.value], "video_regions")]
        assert found[0].query_percent == 100.0 and found[0].to_dict()["query_percent"] == 100.0
    unrelated = fingerprint_video(encode_video(pan_frames(photo_paths()[3], 60, (480, 270))), "x")
    assert matcher.match([], video=unrelated.query).matches == []
    matcher.save_snapshot()
    restarted = Matcher(store, tmp_path / "snap")
    assert restarted.started_from > 0
    assert [m.type for m in restarted.match([], video=copy).matches] == ["video_regions"]
    set_signal_status(store, "S", [ids[regions.value]], SignalStatus.WITHDRAWN)
    matcher.sync()
    assert matcher.match([], video=copy).matches == []


def test_a_video_regions_digest_alone_is_not_a_query(store: Store) -> None:
    with pytest.raises(HashFormatError, match="video_regions is matched from the video's frames"):
        Matcher(store).match([("video_regions", "0" * 64)])


def test_malformed_regions_written_behind_the_store_are_skipped(store: Store) -> None:
    frames = pan_frames(photo_paths()[0], 30)
    registered = fingerprint_video(
        encode_video(frames), "original", seconds_per_hash=0.25, register=True
    )
    signal = _regions_signal(registered.regions)
    ids = _fill(store, "S", "survivor", [signal])
    with store.write() as session:
        session.execute(
            text("UPDATE signal_payloads SET data = :junk WHERE signal_id = :id"),
            {"junk": b"RVR\x01junk", "id": ids[signal.value]},
        )
    matcher = Matcher(store)
    assert matcher.match([], video=registered.query).matches == []


def test_a_second_look_matches_a_copy_that_holds_most_of_a_registered_video(
    store: Store,
) -> None:
    photo = photo_paths()
    frames, other = pan_frames(photo[0], 60), pan_frames(photo[3], 60)
    ids, matcher, _ = _registered(store, frames)

    def looks(data: bytes) -> tuple[VideoQuery, _SecondLooks]:
        return fingerprint_video(data, "copy", sampling=Sampling.KEYS).query, _SecondLooks(data)

    # The whole video and 2 s of another: a quarter of the copy is foreign (short of
    # vPDQ's 80%), and every registered frame is in it.
    first, again = looks(encode_video([*frames, *other[:20]]))
    assert matcher.match([], video=first).matches == []
    [match] = matcher.match([], video=first, video_again=again).matches
    assert match.signal_id == next(iter(ids.values()))
    assert match.query_percent == pytest.approx(75.0, abs=5) and match.target_percent >= 80
    # Half of it and as much of another: near, but holding only half of the video.
    first, again = looks(encode_video([*frames[:30], *other[:30]]))
    assert matcher.match([], video=first, video_again=again).matches == []


def test_a_registered_video_of_a_few_frames_is_not_held_by_a_query_that_shows_them(
    store: Store,
) -> None:
    photo = photo_paths()
    frames, other = pan_frames(photo[0], 12), pan_frames(photo[3], 12)
    _, matcher, registered = _registered(store, frames)
    assert len(registered.frames) == 6  # fewer than CONTAINED_FRAMES
    data = encode_video([*frames, *other], key_frames={0, 12})
    first = fingerprint_video(data, "copy", sampling=Sampling.KEYS).query
    again = _SecondLooks(data)
    looks = again.asked

    # Half the copy is the whole registered video: near, held, but by 6 frames only.
    assert matcher.match([], video=first, video_again=again).matches == []
    assert looks == [True]


def test_only_a_dense_second_look_holds_and_only_key_frame_queries_look_twice(
    store: Store,
) -> None:
    photo = photo_paths()
    frames, other = pan_frames(photo[0], 120), pan_frames(photo[3], 40)
    # A one-a-second list of 12 s: the index is sparse (queries sampled as vPDQ does).
    _, matcher, _ = _registered(store, frames, seconds_per_hash=1.0)
    assert matcher.video_sampling is Sampling.EVERY
    data = encode_video([*frames, *other], key_frames={0, 40, 80, 120})
    again = _SecondLooks(data)
    looks = again.asked

    # Sampled as vPDQ does: 12 of its 16 frames (75%), all 12 registered: a near miss
    # that holds the video, but vPDQ's own sampling looks once.
    plain = fingerprint_video(data, "copy").query
    assert matcher.match([], video=plain, video_again=again).matches == []
    assert looks == []
    # Sampled at its key frames (as before the list came): looked at again as vPDQ
    # samples, where holding the video does not count.
    keys = fingerprint_video(data, "copy", sampling=Sampling.KEYS).query
    assert matcher.match([], video=keys, video_again=again).matches == []
    assert looks == [False]
