"""The matcher: an in-memory index per signal type, kept in step with the store.

It follows the store's change sequence: each ``sync`` reads the signals changed since
the last sequence number it applied and adds active ones to, or drops the others from,
its indexes — no rebuild, and changes made by other processes arrive the same way.
``match`` syncs first when the last sync is older than ``max_lag`` seconds.

A snapshot (the PDQ index file, the exact hashes and the sequence number they reflect)
lets a new process start from disk plus the changes since, instead of from scratch.

Rules: only active signals of enabled banks match; PDQ matches within ``threshold``
bits, MD5 and SHA-256 exactly, local features by ``FeatureIndex``, a video's frames by
vPDQ's rules (``VideoIndex``); a match in an enabled negative bank suppresses every
match in the other banks (the content is known benign). Given a ``viewer`` (an
organisation), only the banks it owns or that are shared with it count; admin
organisations see every bank. A negative bank suppresses matches only for its owner and
when the operators (admin organisations, or the command line) keep it: another
organisation cannot hide matches from a viewer by sharing a negative bank with it.

One matcher may serve many threads. ``follow`` keeps it in step from a background
thread, so searches never wait on the store; the store is read outside the matcher's
lock, which is held only to apply each page of changes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from reclaim.errors import HashFormatError, UnknownBankError
from reclaim.hashing.base import SignalType, normalise_signal
from reclaim.hashing.keypoints import Features, features_from_bytes, features_to_bytes
from reclaim.hashing.regions import VideoRegions, regions_from_payload
from reclaim.hashing.video import (
    CONTAINED_FRAMES,
    CONTAINED_PERCENT,
    NEAR_QUERY_PERCENT,
    QUERY_MATCH_PERCENT,
    FrameHash,
    Sampling,
    VideoQuery,
    frames_from_payload,
)
from reclaim.index import HammingIndex
from reclaim.index.features import FeatureIndex, FeatureMatch
from reclaim.index.videos import VideoIndex, VideoMatch, merge_video_matches
from reclaim.store import (
    BankKind,
    SignalChange,
    SignalRepository,
    SignalStatus,
    Store,
    holds_live_payload,
)
from reclaim.store.models import Bank, OrganisationKind
from reclaim.store.organisations import OrganisationRepository

logger = logging.getLogger(__name__)

# 2: local features (keypoints.npz); 3: videos (videos.npz); 4: their regions (regions.npz)
_SNAPSHOT_VERSION: Final = 4
_PAGE: Final = 10_000
DEFAULT_THRESHOLD: Final = 31


@dataclass(frozen=True, slots=True)
class Match:
    """One matching signal. ``distance`` is PDQ bits apart (0 for exact hashes, local
    features and videos); a ``keypoints`` match gives ``inliers``, the corners one
    plausible transform explains (at least ``keypoints.MIN_INLIERS``); a ``vpdq`` match
    gives ``query_percent`` and ``target_percent``, the shares of the query's and of the
    registered video's frames that match the other's. ``bank_kind`` is the bank's kind:
    ``minor`` asks for child-protection handling."""

    bank: str
    signal_id: int
    type: str
    distance: int
    bank_id: int = 0
    inliers: int | None = None
    query_percent: float | None = None
    target_percent: float | None = None
    bank_kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        record = {"bank": self.bank, "bank_kind": self.bank_kind, "signal_id": self.signal_id,
                  "type": self.type, "distance": self.distance}  # fmt: skip
        if self.inliers is not None:
            record["inliers"] = self.inliers
        if self.query_percent is not None:
            record["query_percent"] = round(self.query_percent, 2)
            record["target_percent"] = round(self.target_percent or 0.0, 2)
        return record


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Matches sorted by distance; ``suppressed_by`` names negative-bank matches that hid
    the others."""

    matches: list[Match]
    suppressed_by: list[Match] = field(default_factory=list)


class Viewer(Protocol):
    """Whose view of the banks a match takes (an API caller's ``Principal``)."""

    @property
    def organisation_id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class _BankState:
    name: str
    kind: str
    enabled: bool
    owner_id: int | None = None
    shared_with: frozenset[int] = frozenset()
    kept_by_operators: bool = True  # no owner, or owned by an admin organisation

    def visible_to(self, viewer: Viewer | None) -> bool:
        if viewer is None or viewer.is_admin:
            return True
        ident = viewer.organisation_id
        return self.owner_id == ident or ident in self.shared_with

    def suppresses_for(self, viewer: Viewer | None) -> bool:
        """Whether this bank, if negative, may hide the viewer's other matches."""
        if self.kind != BankKind.NEGATIVE.value or not self.enabled:
            return False
        if viewer is None or viewer.is_admin or self.kept_by_operators:
            return True
        return self.owner_id == viewer.organisation_id


class _Found(NamedTuple):
    signal_id: int
    type: str
    distance: int
    inliers: int | None = None
    query_percent: float | None = None
    target_percent: float | None = None


def _holds(match: VideoMatch) -> bool:
    """Whether a query sampled as densely as registrations holds most of a registered
    video: enough of its frames, and enough of them for that to mean something."""
    return match.target_percent >= CONTAINED_PERCENT and match.target_frames >= CONTAINED_FRAMES


def _wanted_payloads(changes: Sequence[SignalChange]) -> list[int]:
    """The keypoints, vpdq and video_regions signals among ``changes`` that will be held
    (so need their payloads)."""
    return [c.id for c in changes if holds_live_payload(c.type, c.status)]


@dataclass(frozen=True, slots=True)
class _Parsed:
    """Payloads read into what the indexes take (outside the matcher's lock)."""

    features: dict[int, Features] = field(default_factory=dict)
    videos: dict[int, list[FrameHash]] = field(default_factory=dict)
    regions: dict[int, VideoRegions] = field(default_factory=dict)

    def holds(self, change: SignalChange) -> bool:
        if change.type == _VPDQ:
            return change.id in self.videos
        if change.type == _REGIONS:
            return change.id in self.regions
        return change.id in self.features


_KEYPOINTS: Final = SignalType.KEYPOINTS.value
_VPDQ: Final = SignalType.VPDQ.value
_REGIONS: Final = SignalType.VIDEO_REGIONS.value


def _usable(change: SignalChange, parsed: _Parsed) -> bool:
    """Whether the matcher holds this signal: active, and well-formed."""
    if change.status != SignalStatus.ACTIVE.value:
        return False
    try:
        normalise_signal(change.type, change.value)
    except HashFormatError as exc:
        # A value written past the store's checks: leave it out, say which one.
        logger.warning("signal %d skipped: %s", change.id, exc.message)
        return False
    if change.type in (_KEYPOINTS, _VPDQ, _REGIONS) and not parsed.holds(change):
        logger.warning("signal %d skipped: its payload is missing or malformed", change.id)
        return False
    return True


def _parse_payloads(changes: Sequence[SignalChange], payloads: dict[int, bytes]) -> _Parsed:
    """Payloads parsed (outside the matcher's lock); malformed ones are left out and
    reported when applied."""
    parsed = _Parsed()
    for change in changes:
        payload = payloads.get(change.id)
        if payload is None:
            continue
        try:
            if change.type == _VPDQ:
                parsed.videos[change.id] = frames_from_payload(payload, f"signal {change.id}")
            elif change.type == _REGIONS:
                parsed.regions[change.id] = regions_from_payload(payload, f"signal {change.id}")
            else:
                parsed.features[change.id] = features_from_bytes(payload, f"signal {change.id}")
        except HashFormatError:
            continue
    return parsed


class Matcher:
    """Matches fingerprints against the banks of one store."""

    def __init__(self, store: Store, snapshot_dir: Path | None = None, max_lag: float = 0.2):
        self.store = store
        self.snapshot_dir = snapshot_dir
        self.max_lag = max_lag
        self._pdq = HammingIndex()
        self._exact: dict[str, dict[str, set[int]]] = {"md5": {}, "sha256": {}}
        self._features = FeatureIndex()
        self._videos = VideoIndex()
        self._bank_of: dict[int, int] = {}
        self._banks: dict[int, _BankState] = {}
        self._seq = 0
        self._last: tuple[int, str] | None = None  # id and value of the last change applied
        self._synced_at = 0.0
        self._lock = threading.RLock()  # guards the indexes and bank states
        # Guard the feature and video indexes alone, so their searches (tens of
        # milliseconds, or more for a long video) do not hold PDQ and exact matches up.
        # Taken inside ``_lock`` by syncs, never the other way round.
        self._features_lock = threading.Lock()
        self._videos_lock = threading.Lock()
        self._sync_lock = threading.Lock()  # one sync at a time
        self._follower: threading.Thread | None = None
        self._stop = threading.Event()
        if snapshot_dir is not None:
            self._load_snapshot(snapshot_dir)
        #: The sequence number the matcher started from (0 without a usable snapshot).
        self.started_from = self._seq
        self.sync()

    @property
    def seq(self) -> int:
        """The last change sequence number applied."""
        return self._seq

    def sync(self) -> int:
        """Apply every change since the last sync; returns how many signals changed."""
        with self._sync_lock:
            banks = self._read_banks()
            with self._lock:
                self._banks = banks
            applied = 0
            while True:
                with self.store.read() as session:
                    repository = SignalRepository(session)
                    changes = repository.signals_since(self._seq, _PAGE)
                    payloads = repository.signal_payloads(_wanted_payloads(changes))
                if not changes:
                    break
                self._make_room(changes)
                parsed = _parse_payloads(changes, payloads)
                with self._lock:
                    self._apply(changes, parsed)
                    self._seq = changes[-1].seq
                    self._last = (changes[-1].id, changes[-1].value)
                applied += len(changes)
            self._synced_at = time.monotonic()
            return applied

    def _read_banks(self) -> dict[int, _BankState]:
        with self.store.read() as session:
            organisations = OrganisationRepository(session)
            shares: dict[int, set[int]] = {}
            for bank_id, organisation_id in organisations.share_all():
                shares.setdefault(bank_id, set()).add(organisation_id)
            admins = organisations.organisation_ids_of_kind(OrganisationKind.ADMIN)
            return {
                b.id: _BankState(
                    b.name,
                    b.kind,
                    b.enabled,
                    b.owner_id,
                    frozenset(shares.get(b.id, ())),
                    b.owner_id is None or b.owner_id in admins,
                )
                for b in session.query(Bank).all()
            }

    def follow(self, interval: float = 0.1) -> None:
        """Keep in step from a background thread, every ``interval`` seconds; searches then
        never read the store themselves. A store that cannot be reached is retried."""
        if self._follower is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.sync()
                except Exception:
                    logger.exception("the matcher could not follow the store; retrying")

        self._follower = threading.Thread(target=run, name="reclaim-matcher-follow", daemon=True)
        self._follower.start()

    def stop(self) -> None:
        """Stop following the store."""
        self._stop.set()
        if self._follower is not None:
            self._follower.join()
            self._follower = None

    def _make_room(self, changes: Sequence[SignalChange]) -> None:
        """Grow the PDQ index ahead of ``changes`` if they might not fit. The copy is made
        outside the lock, so searches go on meanwhile (growing a 1M index in place held
        them for a second); only syncs, one at a time, change the index, so the copy
        cannot miss a change."""
        adds = sum(change.type == SignalType.PDQ.value for change in changes)
        if adds > self._pdq.headroom:
            grown = self._pdq.resized(len(self._pdq) + adds)
            with self._lock:
                self._pdq = grown

    def _apply(self, changes: Sequence[SignalChange], parsed: _Parsed) -> None:
        pdq_add: dict[int, str] = {}
        features_add: list[tuple[int, Features]] = []
        videos_add: list[tuple[int, list[FrameHash]]] = []
        regions_add: list[tuple[int, VideoRegions]] = []
        drop: dict[str, list[int]] = {
            SignalType.PDQ.value: [], _KEYPOINTS: [], _VPDQ: [], _REGIONS: []
        }  # fmt: skip
        for change in changes:
            active = _usable(change, parsed)
            if change.type in self._exact:
                holders = self._exact[change.type].setdefault(change.value, set())
                if active:
                    holders.add(change.id)
                else:
                    holders.discard(change.id)
            elif not active:
                drop.get(change.type, []).append(change.id)
            elif change.type == SignalType.PDQ.value:
                pdq_add[change.id] = change.value
            elif change.type == _KEYPOINTS:
                features_add.append((change.id, parsed.features[change.id]))
            elif change.type == _VPDQ:
                videos_add.append((change.id, parsed.videos[change.id]))
            elif change.type == _REGIONS:
                regions_add.append((change.id, parsed.regions[change.id]))
            if active:
                self._bank_of[change.id] = change.bank_id
            else:
                self._bank_of.pop(change.id, None)
        self._update_pdq(pdq_add, drop[SignalType.PDQ.value])
        with self._videos_lock:
            self._videos.remove([*drop[_VPDQ], *drop[_REGIONS]])
            self._videos.add(videos_add, {ident: self._bank_of[ident] for ident, _ in videos_add})
            self._videos.add_regions(
                regions_add, {ident: self._bank_of[ident] for ident, _ in regions_add}
            )
        banks = {ident: self._bank_of[ident] for ident, _ in features_add}
        with self._features_lock:
            self._features.remove(drop[_KEYPOINTS])
            self._features.add(features_add, banks)

    def _update_pdq(self, add: dict[int, str], drop: list[int]) -> None:
        if drop:
            ids = np.array(drop, dtype=np.int64)
            self._pdq.remove(ids[self._pdq.holds(ids)])
        if add:
            ids = np.fromiter(add, dtype=np.int64, count=len(add))
            fresh = ~self._pdq.holds(ids)
            codes = np.frombuffer(bytes.fromhex("".join(add.values())), dtype=np.uint8)
            self._pdq.add(ids[fresh], codes.reshape(-1, 32)[fresh])

    @property
    def video_sampling(self) -> Sampling:
        """How a query video is best sampled against the videos held: at its key frames
        (several times faster) when every registration is dense enough, else as vPDQ.
        Read without a lock (a flag's read is atomic): a request's event loop asks."""
        return Sampling.KEYS if self._videos.dense else Sampling.EVERY

    def match(
        self,
        signals: Sequence[tuple[str, str]],
        banks: Sequence[str] | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        viewer: Viewer | None = None,
        *,
        views: Sequence[Features] = (),
        video: VideoQuery | None = None,
        video_again: Callable[[bool], VideoQuery | None] | None = None,
    ) -> MatchResult:
        """Matches for the signals of one piece of content, for its local features
        (``views``: ``keypoints.query_views`` of the image) and for a video's frames
        (``video``, matched by vPDQ's rules, each frame also by its picture inside black
        bars) where given. A video sampled at its key frames that comes near a registered
        video without matching it (``NEAR_QUERY_PERCENT``) is looked at again as
        ``video_again(True)`` samples it, as densely as registrations: the matches of both
        looks count, and at that look a query that holds most of a registered video
        (``CONTAINED_PERCENT`` of its frames, ``CONTAINED_FRAMES`` at least) matches it
        too. One that meets registrations too sparse for key frames (a list that came
        since it was sampled) is looked at again as ``video_again(False)`` samples it, as
        vPDQ does. ``video_again`` is called without any lock held, and gives ``None`` if
        that failed."""
        if self._follower is None:
            if time.monotonic() - self._synced_at > self.max_lag:
                self.sync()
            with self._lock:
                unknown = self._unknown_banks(banks, viewer)
            if unknown:
                self.sync()  # a bank made since the last sync
        feature_matches: list[FeatureMatch] = []
        video_matches: list[VideoMatch] = []
        if views or (video is not None and video.frames):
            with self._lock:
                eligible = self._searchable_banks(banks, viewer)
            if views:
                with self._features_lock:
                    feature_matches = self._features.search(views, groups=eligible)
            if video is not None and video.frames:
                video_matches = self._video_matches(video, video_again, eligible)
        with self._lock:
            return self._match(
                signals,
                banks,
                threshold,
                viewer,
                feature_matches=feature_matches,
                video_matches=video_matches,
            )

    def _video_matches(
        self,
        video: VideoQuery,
        again: Callable[[bool], VideoQuery | None] | None,
        eligible: set[int],
    ) -> list[VideoMatch]:
        keyed = bool(video.spans)
        with self._videos_lock:
            found = self._videos.search_query(
                video, NEAR_QUERY_PERCENT if keyed else QUERY_MATCH_PERCENT, eligible
            )
            sparse = keyed and not self._videos.dense  # a sparse list came since sampling
        matches = [m for m in found if m.query_percent >= QUERY_MATCH_PERCENT]
        if not keyed or again is None or (len(matches) == len(found) and not sparse):
            return matches
        # Against a one-a-second list, vPDQ's own sampling; else as dense as registrations.
        dense = not sparse
        try:
            second = again(dense)  # a full decode: no lock held
        except Exception:  # whatever went wrong, the first look's outcome stands
            logger.warning("a video's second look failed; its first look stands", exc_info=True)
            return matches
        if second is None or not second.frames:
            return matches
        with self._videos_lock:
            more = self._videos.search_query(second, NEAR_QUERY_PERCENT, eligible)
        held = [m for m in more if m.query_percent >= QUERY_MATCH_PERCENT or (dense and _holds(m))]
        return merge_video_matches(matches, held)

    def _searchable_banks(self, names: Sequence[str] | None, viewer: Viewer | None) -> set[int]:
        """The banks whose images (or videos) a feature search may consider: enabled, seen
        by the viewer, and asked for (or negative banks that would hide the matches), so
        other banks' images never take a candidate's place."""
        wanted = set(names) if names else None
        return {
            ident
            for ident, bank in self._banks.items()
            if bank.enabled
            and bank.visible_to(viewer)
            and (wanted is None or bank.name in wanted or bank.suppresses_for(viewer))
        }

    @property
    def holds_features(self) -> bool:
        """Whether any local features are held (if not, a query need not compute its own)."""
        return len(self._features) > 0

    @property
    def holds_regions(self) -> bool:
        """Whether any video's region hashes are held (if not, a query video need not
        hash its frames' regions)."""
        return self._videos.holds_regions

    def _match(
        self,
        signals: Sequence[tuple[str, str]],
        banks: Sequence[str] | None,
        threshold: int,
        viewer: Viewer | None,
        *,
        feature_matches: Sequence[FeatureMatch] = (),
        video_matches: Sequence[VideoMatch] = (),
    ) -> MatchResult:
        unknown = self._unknown_banks(banks, viewer)
        if unknown:
            raise UnknownBankError(f"no bank named {unknown[0]!r}")
        wanted = set(banks) if banks else None
        found: list[_Found] = []
        pdq_values = []
        for signal_type, value in signals:
            kind, canonical = normalise_signal(signal_type, value)
            if kind is SignalType.PDQ:
                pdq_values.append(canonical)
            elif kind is SignalType.KEYPOINTS:
                raise HashFormatError("keypoints are matched from the image, not by their digest")
            elif kind in (SignalType.VPDQ, SignalType.VIDEO_REGIONS):
                raise HashFormatError(
                    f"{kind.value} is matched from the video's frames, not by its digest"
                )
            else:
                holders = self._exact[kind.value].get(canonical, ())
                found.extend(_Found(i, kind.value, 0) for i in holders)
        if pdq_values:
            codes = np.frombuffer(bytes.fromhex("".join(pdq_values)), dtype=np.uint8)
            for hits in self._pdq.search(codes.reshape(-1, 32), threshold):
                found.extend(_Found(i, SignalType.PDQ.value, d) for i, d in hits)
        found.extend(_Found(m.ident, _KEYPOINTS, 0, m.inliers) for m in feature_matches)
        found.extend(
            _Found(
                m.ident,
                _REGIONS if m.by_regions else _VPDQ,
                0,
                None,
                m.query_percent,
                m.target_percent,
            )
            for m in video_matches
        )
        return self._decide(found, wanted, viewer)

    def _unknown_banks(self, names: Sequence[str] | None, viewer: Viewer | None) -> list[str]:
        """The requested bank names that do not exist or that the viewer does not see."""
        if not names:
            return []
        known = {s.name for s in self._banks.values() if s.visible_to(viewer)}
        return [n for n in names if n not in known]

    def _decide(
        self, found: list[_Found], wanted: set[str] | None, viewer: Viewer | None
    ) -> MatchResult:
        best: dict[int, Match] = {}
        for signal_id, signal_type, distance, inliers, query_percent, target_percent in found:
            bank_id = self._bank_of.get(signal_id, -1)
            bank = self._banks.get(bank_id)
            if bank is None or not bank.enabled or not bank.visible_to(viewer):
                continue
            match = Match(
                bank.name, signal_id, signal_type, distance, bank_id, inliers,
                query_percent, target_percent, bank.kind,
            )  # fmt: skip
            if signal_id not in best or distance < best[signal_id].distance:
                best[signal_id] = match
        matches = sorted(
            best.values(),
            key=lambda m: (m.distance, -(m.inliers or 0), -(m.query_percent or 0.0), m.bank,
                           m.signal_id),
        )  # fmt: skip
        hiding = [m for m in matches if self._banks[m.bank_id].suppresses_for(viewer)]
        if hiding:
            return MatchResult(matches=[], suppressed_by=hiding)
        if wanted is not None:
            matches = [m for m in matches if m.bank in wanted]
        return MatchResult(matches=matches)

    # --- snapshots -------------------------------------------------------------------

    @property
    def synced_ago(self) -> float:
        """Seconds since the matcher last finished catching up with the store."""
        return time.monotonic() - self._synced_at

    @property
    def size(self) -> int:
        """How many active signals the matcher holds."""
        return len(self._bank_of)

    def save_snapshot(self) -> bool:
        """Write the indexes and the sequence number they reflect. The snapshot is only a
        head start, so a folder that cannot be written is reported, not fatal."""
        if self.snapshot_dir is None:
            return False
        try:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
            with self._lock, _locked(self.snapshot_dir, fcntl.LOCK_EX):
                self._write_snapshot(self.snapshot_dir)
        except OSError as exc:
            logger.warning("index snapshot not saved in %s: %s", self.snapshot_dir, exc)
            return False
        return True

    def _write_snapshot(self, directory: Path) -> None:
        self._pdq.save(directory / "pdq.idx")
        ids, types, values = self._exact_arrays()
        banks = np.array(sorted(self._bank_of.items()), dtype=np.int64).reshape(-1, 2)
        partial = directory / "exact.partial.npz"
        np.savez(partial, ids=ids, types=types, values=values, banks=banks)
        partial.replace(directory / "exact.npz")
        features = ((i, features_to_bytes(f)) for i, f in self._features.items())
        _write_blobs(directory / "keypoints.npz", features)
        _write_blobs(directory / "videos.npz", self._videos.payloads())
        _write_blobs(directory / "regions.npz", self._videos.region_payloads())
        meta = {
            "version": _SNAPSHOT_VERSION,
            "store_id": self.store.store_id,
            "seq": self._seq,
            "last": list(self._last) if self._last else None,
        }
        temporary = directory / "meta.json.partial"
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, directory / "meta.json")

    def _exact_arrays(self) -> tuple[NDArray[np.int64], NDArray[np.uint8], NDArray[np.bytes_]]:
        ids: list[int] = []
        types: list[int] = []
        values: list[bytes] = []
        for code, name in enumerate(("md5", "sha256")):
            for value, holders in self._exact[name].items():
                for ident in holders:
                    ids.append(ident)
                    types.append(code)
                    values.append(bytes.fromhex(value))
        return (np.array(ids, dtype=np.int64), np.array(types, dtype=np.uint8),
                np.array(values, dtype="S32"))  # fmt: skip

    def _load_snapshot(self, directory: Path) -> None:
        if not (directory / "meta.json").exists():
            return
        try:
            with _locked(directory, fcntl.LOCK_SH):
                self._read_snapshot(directory)
        except Exception as exc:  # a snapshot is a cache: any fault means a rebuild
            logger.warning("index snapshot in %s not used: %s", directory, exc)
            self._pdq, self._seq = HammingIndex(), 0
            self._exact = {"md5": {}, "sha256": {}}
            self._features = FeatureIndex()
            self._videos = VideoIndex()
            self._bank_of = {}

    def _read_snapshot(self, directory: Path) -> None:
        meta = json.loads((directory / "meta.json").read_text())
        if meta.get("version") != _SNAPSHOT_VERSION or meta.get("store_id") != self.store.store_id:
            return  # another store's or an older format's snapshot: start from scratch
        if not self._still_in_store(int(meta["seq"]), meta.get("last")):
            return  # the store went back in time (a restored backup): start from scratch
        pdq = HammingIndex.load(directory / "pdq.idx")
        with (
            (directory / "exact.npz").open("rb") as handle,
            np.load(handle, allow_pickle=False) as arrays,
        ):
            self._restore_exact(arrays["ids"], arrays["types"], arrays["values"])
            self._bank_of = {int(i): int(b) for i, b in arrays["banks"]}
        features = FeatureIndex()
        features.add(
            (
                (ident, features_from_bytes(blob, f"snapshot signal {ident}"))
                for ident, blob in _read_blobs(directory / "keypoints.npz")
            ),
            self._bank_of,
        )
        videos = VideoIndex()
        videos.add(
            (
                (ident, frames_from_payload(blob, f"snapshot signal {ident}"))
                for ident, blob in _read_blobs(directory / "videos.npz")
            ),
            self._bank_of,
        )
        videos.add_regions(
            (
                (ident, regions_from_payload(blob, f"snapshot signal {ident}"))
                for ident, blob in _read_blobs(directory / "regions.npz")
            ),
            self._bank_of,
        )
        self._pdq = pdq
        self._features = features
        self._videos = videos
        self._seq = int(meta["seq"])
        self._last = (int(meta["last"][0]), str(meta["last"][1])) if meta["last"] else None

    def _still_in_store(self, seq: int, last: object) -> bool:
        """Whether the last change the snapshot saw is still in the store, unchanged or
        changed later (so the store has not been rolled back past it)."""
        if seq == 0:
            return True
        if not isinstance(last, list) or len(last) != 2:
            return False
        with self.store.read() as session:
            repository = SignalRepository(session)
            if seq > repository.signal_latest_seq():
                return False
            signal = repository.signal_get(int(last[0]))
        return signal is not None and signal.value == last[1] and signal.seq >= seq

    def _restore_exact(self, ids: Any, types: Any, values: Any) -> None:
        lengths = {0: 16, 1: 32}
        for ident, code, raw in zip(ids.tolist(), types.tolist(), values.tolist(), strict=True):
            name = "md5" if code == 0 else "sha256"
            value = raw.ljust(lengths[code], b"\0")[: lengths[code]].hex()
            self._exact[name].setdefault(value, set()).add(ident)


def _write_blobs(path: Path, items: Iterable[tuple[int, bytes]]) -> None:
    """Payloads by signal id in one file (written aside, then moved into place)."""
    ids, blobs = [], []
    for ident, blob in items:
        ids.append(ident)
        blobs.append(blob)
    partial = path.with_suffix(".partial.npz")
    np.savez(
        partial,
        ids=np.array(ids, dtype=np.int64),
        lengths=np.array([len(b) for b in blobs], dtype=np.int64),
        blob=np.frombuffer(b"".join(blobs), dtype=np.uint8),
    )
    partial.replace(path)


def _read_blobs(path: Path) -> Iterator[tuple[int, bytes]]:
    """What ``_write_blobs`` wrote."""
    with path.open("rb") as handle, np.load(handle, allow_pickle=False) as arrays:
        ids, lengths, blob = arrays["ids"], arrays["lengths"], arrays["blob"].tobytes()
    ends = np.cumsum(lengths).tolist()
    for ident, start, end in zip(ids.tolist(), [0, *ends][:-1], ends, strict=True):
        yield int(ident), blob[start:end]


@contextmanager
def _locked(directory: Path, mode: int) -> Iterator[None]:
    """Hold a lock on the snapshot folder, so saves and loads never interleave."""
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
